import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FlowModCommand, matchGet } from '../../../src/api/index.ts';
import { createApp, PATH_FLIPPER_COOKIE, type PathFlipper } from '../../../src/apps/path-flipper.ts';
import { diamondNetwork, type FakeNetwork } from '../api/fake-api.ts';

async function started(net: FakeNetwork, options: Record<string, unknown> = {}): Promise<PathFlipper> {
  const app = createApp();
  await net.startApp(app, { intervalMs: 60_000, periodMs: 3_600_000, ...options });
  return app;
}

/** Output port of the pair rule (src -> dst) on a switch, or undefined. */
function pairRule(net: FakeNetwork, dpid: number, src: string, dst: string): number | undefined {
  const f = net
    .sw(dpid)
    .table()
    .find(
      (r) =>
        r.cookie === PATH_FLIPPER_COOKIE &&
        matchGet(r.match, 'eth_src') === src &&
        matchGet(r.match, 'eth_dst') === dst,
    );
  const ins = f?.instructions[0];
  const a = ins?.type === 'applyActions' ? ins.actions[0] : undefined;
  return a?.type === 'output' ? a.port : undefined;
}

describe('path-flipper', () => {
  it('plans both paths of the diamond from discovery and installs middles before edges', async () => {
    const net = diamondNetwork();
    const app = await started(net);
    assert.equal(app.state(), undefined);
    const mark = net.journal.length;
    assert.equal(await net.ping('h1', 'h2'), true, 'ARP and the first ping go through the controller');
    const st = app.state()!;
    const h1 = net.host('h1').mac;
    const h2 = net.host('h2').mac;
    assert.equal(st.a, h1);
    assert.equal(st.b, h2);
    assert.deepEqual(st.paths, [
      [1n, 2n, 4n],
      [1n, 3n, 4n],
    ]);
    assert.equal(st.ready, true);
    assert.equal(pairRule(net, 2, h1, h2), 2);
    assert.equal(pairRule(net, 2, h2, h1), 1);
    assert.equal(pairRule(net, 3, h1, h2), 2);
    assert.equal(pairRule(net, 3, h2, h1), 1);
    assert.equal(pairRule(net, 1, h1, h2), 2, 'current path via s2');
    assert.equal(pairRule(net, 1, h2, h1), 1);
    assert.equal(pairRule(net, 4, h1, h2), 3);
    assert.equal(pairRule(net, 4, h2, h1), 1);
    // Order: every middle flow-mod and its barrier come before the first edge flow-mod.
    const seq = net.journal
      .slice(mark)
      .filter((j) => j.msg.type === 'flowMod' || j.msg.type === 'barrierRequest');
    const pairMods = seq.filter((j) => j.msg.type !== 'flowMod' || j.msg.cookie === PATH_FLIPPER_COOKIE);
    const firstEdge = pairMods.findIndex((j) => j.msg.type === 'flowMod' && (j.dpid === 1n || j.dpid === 4n));
    const middleIdx = pairMods
      .map((j, i) => [j, i] as const)
      .filter(([j]) => j.dpid === 2n || j.dpid === 3n)
      .map(([, i]) => i);
    assert.ok(middleIdx.length === 6, 'two rules and a barrier on each middle');
    assert.ok(Math.max(...middleIdx) < firstEdge);
  });

  it('flips with one MODIFY_STRICT per edge switch, source side first, keeping counters', async () => {
    const net = diamondNetwork();
    const app = await started(net);
    assert.equal(await net.ping('h1', 'h2'), true);
    assert.equal(await net.ping('h1', 'h2'), true);
    const h1 = net.host('h1').mac;
    const h2 = net.host('h2').mac;
    const rule = () =>
      net
        .sw(1)
        .table()
        .find((r) => matchGet(r.match, 'eth_src') === h1 && r.cookie === PATH_FLIPPER_COOKIE)!;
    const packetsBefore = rule().packetCount;
    assert.ok(packetsBefore >= 1n);
    const mark = net.journal.length;
    assert.equal(app.flip(), true);
    const mods = net.journal.slice(mark);
    assert.deepEqual(
      mods.map((j) => [j.dpid, j.msg.type === 'flowMod' && j.msg.command]),
      [
        [1n, FlowModCommand.MODIFY_STRICT],
        [4n, FlowModCommand.MODIFY_STRICT],
      ],
    );
    assert.equal(pairRule(net, 1, h1, h2), 3);
    assert.equal(pairRule(net, 4, h2, h1), 2);
    assert.equal(rule().packetCount, packetsBefore, 'counters kept');
    assert.equal(app.flips, 1);
    assert.equal(app.state()!.current, 1);
  });

  it('keeps the pair talking across many flips without the controller', async () => {
    const net = diamondNetwork();
    const app = await started(net);
    assert.equal(await net.ping('h1', 'h2'), true);
    assert.equal(await net.ping('h2', 'h1'), true, 'h2 resolves h1 (its ARP request goes to the controller)');
    const before = net.packetInCount;
    const vias: bigint[][] = [];
    app.onFlip((ev) => vias.push(ev.via));
    for (let i = 0; i < 10; i++) {
      assert.equal(app.flip(), true);
      assert.equal(await net.ping('h1', 'h2'), true, `ping after flip ${i + 1}`);
      assert.equal(await net.ping('h2', 'h1'), true);
    }
    assert.equal(net.packetInCount, before);
    assert.equal(app.flips, 10);
    assert.deepEqual(vias[0], [1n, 3n, 4n]);
    assert.deepEqual(vias[1], [1n, 2n, 4n]);
    // Traffic really alternated between the middles.
    const s2 = net
      .sw(2)
      .table()
      .filter((r) => r.cookie === PATH_FLIPPER_COOKIE);
    const s3 = net
      .sw(3)
      .table()
      .filter((r) => r.cookie === PATH_FLIPPER_COOKIE);
    assert.ok(s2.every((r) => r.packetCount >= 5n));
    assert.ok(s3.every((r) => r.packetCount >= 5n));
  });

  it('flips every periodMs on its own timer', async (t) => {
    t.mock.timers.enable({ apis: ['setInterval'] });
    const net = diamondNetwork();
    const app = await started(net, { periodMs: 1000 });
    assert.equal(await net.ping('h1', 'h2'), true);
    t.mock.timers.tick(3000);
    assert.equal(app.flips, 3);
    await net.stopApps();
    t.mock.timers.tick(3000);
    assert.equal(app.flips, 3, 'stopped');
  });

  it('takes its pair from the hosts option, by IP or MAC, among more hosts', async () => {
    for (const by of ['ip', 'mac'] as const) {
      const net = diamondNetwork();
      net.addHost('h3', { dpid: 2, port: 3 });
      const h3 = net.host('h3');
      const h2 = net.host('h2');
      const hosts = by === 'ip' ? `${h3.ip},${h2.ip}` : `${h3.mac.toUpperCase()},${h2.mac}`;
      const app = await started(net, { hosts });
      assert.equal(await net.ping('h1', 'h2'), true);
      assert.equal(app.state(), undefined, 'h1 is not in the pair');
      assert.equal(await net.ping('h3', 'h2'), true);
      const st = app.state()!;
      assert.equal(st.a, h3.mac);
      assert.equal(st.b, h2.mac);
      // s2 - s4 directly, or s2 - s1 - s3 - s4.
      assert.deepEqual(st.paths, [
        [2n, 4n],
        [2n, 1n, 3n, 4n],
      ]);
      assert.equal(app.flip(), true);
      assert.equal(await net.ping('h3', 'h2'), true);
    }
  });

  it('re-plans on a link failure on its paths and keeps the pair connected', async () => {
    const net = diamondNetwork();
    const app = await started(net);
    assert.equal(await net.ping('h1', 'h2'), true);
    net.setLinkUp(2, 2, false);
    await net.settle();
    const st = app.state()!;
    assert.deepEqual(st.paths, [[1n, 3n, 4n]]);
    assert.equal(app.flip(), false, 'nothing to flip to');
    assert.equal(await net.ping('h1', 'h2'), true);
    assert.equal(
      net
        .sw(2)
        .table()
        .filter((r) => r.cookie === PATH_FLIPPER_COOKIE).length,
      0,
      'old rules gone',
    );
    net.setLinkUp(2, 2, true);
    await net.settle();
    assert.equal(app.state()!.paths.length, 2, 'the second path is back');
    assert.equal(app.flip(), true);
    assert.equal(await net.ping('h1', 'h2'), true);
  });

  it("copes with extra datapaths (the test bed's new network) that have no hosts", async () => {
    const net = diamondNetwork();
    for (let i = 11; i <= 14; i++) net.addSwitch(i, [1, 2, 3]);
    net.link(11, 2, 12, 1);
    net.link(11, 3, 13, 1);
    net.link(12, 2, 14, 1);
    net.link(13, 2, 14, 2);
    const app = await started(net);
    assert.equal(await net.ping('h1', 'h2'), true);
    assert.deepEqual(app.state()!.paths, [
      [1n, 2n, 4n],
      [1n, 3n, 4n],
    ]);
    assert.equal(app.flip(), true);
    assert.equal(await net.ping('h2', 'h1'), true);
  });

  it('re-installs after an edge switch reconnects', async () => {
    const net = diamondNetwork();
    const app = await started(net);
    assert.equal(await net.ping('h1', 'h2'), true);
    net.disconnect(1);
    await net.settle();
    net.connect(1);
    await net.settle();
    assert.equal(await net.ping('h1', 'h2'), true);
    const st = app.state()!;
    assert.equal(st.ready, true);
    assert.equal(st.paths.length, 2);
    assert.equal(app.flip(), true);
    assert.equal(await net.ping('h1', 'h2'), true);
  });
});
