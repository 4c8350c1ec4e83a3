import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { matchGet, Port } from '../../../src/api/index.ts';
import { createApp, SHORTEST_PATH_COOKIE } from '../../../src/apps/shortest-path.ts';
import {
  diamondNetwork,
  type FakeNetwork,
  frameBetween,
  gratuitousArp,
  ringNetwork,
} from '../api/fake-api.ts';

async function started(net: FakeNetwork, options: Record<string, unknown> = {}) {
  const app = createApp();
  await net.startApp(app, { intervalMs: 60_000, ...options });
  return app;
}

/** The port the rule for `mac` on switch `dpid` outputs to (undefined: no rule). */
function ruleFor(net: FakeNetwork, dpid: number, mac: string): number | undefined {
  const f = net
    .sw(dpid)
    .table()
    .find((r) => r.cookie === SHORTEST_PATH_COOKIE && matchGet(r.match, 'eth_dst') === mac);
  const ins = f?.instructions[0];
  if (ins?.type !== 'applyActions') return undefined;
  const a = ins.actions[0];
  return a?.type === 'output' ? a.port : undefined;
}

describe('shortest-path', () => {
  it('on a ring of six (a loop) every pair reaches every other, without a storm', async () => {
    const net = ringNetwork(6);
    const app = await started(net);
    assert.equal(app.topology!.links().length, 6);
    assert.deepEqual(await net.pingAll(), []);
    // Second round: all from rules, no packet-in.
    const before = net.packetInCount;
    net.clearArpCaches();
    assert.deepEqual(await net.pingAll(), []);
    assert.ok(net.packetInCount - before <= 30, 'only the ARP broadcasts reach the controller');
  });

  it('installs per-destination rules along the shortest path, destination first', async () => {
    const net = ringNetwork(6);
    await started(net);
    const h1 = net.host('h1');
    const h3 = net.host('h3');
    // Make both hosts known (gratuitous ARPs), then h1 -> h3.
    net.send('h1', gratuitousArp(h1.mac, h1.ip));
    net.send('h3', gratuitousArp(h3.mac, h3.ip));
    await net.settle();
    for (const sw of net.switches.values()) sw.clearLog();
    net.send('h1', frameBetween(h1, h3));
    await net.settle();
    // s1 -> s2 -> s3 (port 3 towards the next switch), deliver on s3 port 1.
    assert.equal(ruleFor(net, 1, h3.mac), 3);
    assert.equal(ruleFor(net, 2, h3.mac), 3);
    assert.equal(ruleFor(net, 3, h3.mac), 1);
    assert.equal(ruleFor(net, 6, h3.mac), undefined);
    // Rules went out nearest the destination first: s3's flow-mod was sent before s1's.
    const order = [3, 2, 1].map((d) => net.sw(d).sent.findIndex((m) => m.type === 'flowMod'));
    assert.ok(order.every((i) => i >= 0));
    assert.ok(net.host('h3').received.length >= 1, 'the first packet was delivered');
  });

  it('broadcasts only to edge ports (never into a switch link)', async () => {
    const net = ringNetwork(6);
    await started(net);
    for (const sw of net.switches.values()) sw.clearLog();
    for (const h of net.hosts.values()) h.received.length = 0; // LLDP probes reached the hosts too
    const h1 = net.host('h1');
    net.send('h1', gratuitousArp(h1.mac, h1.ip));
    await net.settle();
    for (const sw of net.switches.values()) {
      for (const po of sw.packetOuts()) {
        // LLDP packet-outs aside (there are none: the interval is long), every output is port 1 (hosts).
        assert.deepEqual(
          po.actions.map((a) => (a.type === 'output' ? a.port : -1)),
          sw.id === 1n ? [] : [1],
        );
      }
    }
    for (let i = 2; i <= 6; i++) assert.equal(net.host(`h${i}`).received.length, 1, `h${i} got it once`);
    assert.equal(h1.received.length, 0, 'not back to the sender');
  });

  it('re-routes at once when a link on the path goes down, and traffic flows again', async () => {
    const net = diamondNetwork();
    const app = await started(net);
    assert.equal(await net.ping('h1', 'h2'), true);
    const h1 = net.host('h1');
    const h2 = net.host('h2');
    assert.equal(ruleFor(net, 1, h2.mac), 2, 'via s2 first');
    assert.equal(ruleFor(net, 2, h2.mac), 2);
    // Cut s2-s4.
    net.setLinkUp(2, 2, false);
    await net.settle();
    assert.equal(ruleFor(net, 1, h2.mac), 3, 's1 now sends to s3');
    assert.equal(ruleFor(net, 3, h2.mac), 2);
    assert.equal(ruleFor(net, 4, h1.mac), 2, 's4 answers via s3 too');
    assert.equal(ruleFor(net, 2, h2.mac), 1, 's2 (cut off from s4) sends back towards s1');
    assert.ok(app.counters.reroutes >= 1);
    const before = net.packetInCount;
    assert.equal(await net.ping('h1', 'h2'), true);
    assert.equal(net.packetInCount, before, 'no controller involvement after the re-route');
  });

  it('re-routes after an LLDP timeout (a link that fails silently)', async () => {
    const net = diamondNetwork();
    const app = await started(net, { intervalMs: 60_000, timeoutMs: 100 });
    assert.equal(await net.ping('h1', 'h2'), true);
    net.breakLinkSilently(1, 2);
    assert.equal(await net.ping('h1', 'h2'), false, 'black hole until the link expires');
    await new Promise((r) => setTimeout(r, 150));
    // Refresh the surviving links, then expire the dead one.
    app.topology!.probe();
    await net.settle();
    app.topology!.expire();
    await net.settle();
    assert.equal(app.topology!.links().length, 3);
    assert.equal(ruleFor(net, 1, net.host('h2').mac), 3);
    assert.equal(await net.ping('h1', 'h2'), true);
  });

  it('follows a host that moves', async () => {
    const net = diamondNetwork();
    await started(net);
    assert.equal(await net.ping('h1', 'h2'), true);
    const h2 = net.host('h2');
    net.addPort(2, 3);
    net.moveHost('h2', 2, 3);
    net.send('h2', gratuitousArp(h2.mac, h2.ip));
    await net.settle();
    assert.equal(ruleFor(net, 1, h2.mac), 2);
    assert.equal(ruleFor(net, 2, h2.mac), 3);
    assert.equal(ruleFor(net, 4, h2.mac), 1, 's4 sends towards s2 now');
    assert.equal(await net.ping('h1', 'h2'), true);
  });

  it("drops a switch's old rules when it reconnects and routes again", async () => {
    const net = diamondNetwork();
    const app = await started(net);
    assert.equal(await net.ping('h1', 'h2'), true);
    net.disconnect(4);
    await net.settle();
    net.connect(4);
    await net.settle();
    const s4 = net.sw(4);
    assert.equal(s4.table().filter((f) => f.cookie === SHORTEST_PATH_COOKIE).length, 0);
    const del = s4.flowMods().find((m) => m.command === 3 && m.cookie === SHORTEST_PATH_COOKIE);
    assert.ok(del, 'a delete by cookie was sent');
    assert.ok(
      s4.table().some((f) => f.priority === 0),
      'table-miss back',
    );
    assert.equal(await net.ping('h1', 'h2'), true);
    assert.ok(app.installed.get(net.host('h2').mac)?.has(4n));
  });

  it('with an idle timeout, rules ask for flow-removed and expired ones are forgotten', async () => {
    const net = diamondNetwork();
    const app = await started(net, { idleTimeout: 5 });
    assert.equal(await net.ping('h1', 'h2'), true);
    const h2 = net.host('h2');
    const fm = net
      .sw(1)
      .flowMods()
      .find((m) => matchGet(m.match, 'eth_dst') === h2.mac)!;
    assert.equal(fm.idleTimeout, 5);
    assert.equal(fm.flags & 1, 1);
    net.advance(6000);
    await net.settle();
    assert.equal(app.installed.size, 0);
    assert.equal(await net.ping('h1', 'h2'), true, 'learnt again');
  });

  it('sends unknown unicast to edge ports like a broadcast', async () => {
    const net = diamondNetwork();
    await started(net);
    const h1 = net.host('h1');
    const h2 = net.host('h2');
    net.send('h1', frameBetween(h1, h2));
    await net.settle();
    assert.equal(net.sw(4).packetOuts().at(-1)?.actions[0]?.type, 'output');
    assert.ok(h2.received.length >= 1);
    // The reply is routed (h1 is known): rules towards h1.
    assert.equal(ruleFor(net, 4, h1.mac), 1);
    void Port;
  });

  it('unsubscribes and stops the topology service on stop', async () => {
    const net = diamondNetwork();
    const app = await started(net);
    await net.stopApps();
    assert.equal(net.listenerCount(), 0);
    assert.equal(app.topology, undefined);
  });
});
