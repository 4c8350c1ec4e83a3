import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  type App,
  type ControllerApi,
  matchGet,
  Port,
  startTopologyDiscovery,
  type Topology,
  type TopologyEvents,
  type TopologyOptions,
  tableMissToController,
} from '../../../src/api/index.ts';
import { buildRarpAnnounce } from '../../../src/packet/build.ts';
import { diamondNetwork as diamond, frameBetween, gratuitousArp } from './fake-api.ts';

/** A test app: topology discovery plus a table-miss rule (so that hosts' packets reach the controller). */
class TopoApp implements App {
  readonly name = 'topo-test';
  topo!: Topology;
  events: { name: keyof TopologyEvents; ev: unknown }[] = [];
  clock = 1000;
  constructor(private readonly opts: TopologyOptions = {}) {}
  start(api: ControllerApi): void {
    api.on('switchUp', ({ dp }) => void tableMissToController(dp));
    this.topo = startTopologyDiscovery(api, { timers: false, now: () => this.clock, ...this.opts });
    for (const name of ['linkUp', 'linkDown', 'hostSeen', 'hostMoved', 'hostRemoved'] as const) {
      this.topo.on(name, (ev) => this.events.push({ name, ev }));
    }
  }
  stop(): void {
    this.topo.stop();
  }
  named(name: keyof TopologyEvents) {
    return this.events.filter((e) => e.name === name).map((e) => e.ev as TopologyEvents[typeof name]);
  }
}

const linkText = (t: Topology) => t.links().map((l) => `${l.a.dpid}:${l.a.port}-${l.b.dpid}:${l.b.port}`);

describe('topology discovery', () => {
  it('installs the LLDP rule and discovers every link of the diamond', async () => {
    const net = diamond();
    const app = new TopoApp();
    await net.startApp(app);
    for (const sw of net.switches.values()) {
      const rule = sw.table().find((f) => f.priority === 0xffff)!;
      assert.ok(rule, `LLDP rule on ${sw.id}`);
      assert.equal(matchGet(rule.match, 'eth_type'), 0x88cc);
      assert.deepEqual(rule.instructions, [
        { type: 'applyActions', actions: [{ type: 'output', port: Port.CONTROLLER, maxLen: 0xffff }] },
      ]);
    }
    assert.deepEqual(linkText(app.topo), ['1:2-2:1', '1:3-3:1', '2:2-4:1', '3:2-4:2']);
    assert.equal(app.named('linkUp').length, 4);
    assert.equal(app.topo.isSwitchPort(1n, 2), true);
    assert.equal(app.topo.isSwitchPort(1n, 1), false);
    assert.deepEqual(app.topo.edgePorts(1n), [1]);
    assert.deepEqual(app.topo.edgePorts(2n), []);
    assert.deepEqual(app.topo.peerOf(4n, 2), { dpid: 3n, port: 2 });
  });

  it('computes shortest paths, with avoidance and between hosts', async () => {
    const net = diamond();
    const app = new TopoApp();
    await net.startApp(app);
    assert.deepEqual(app.topo.path(1n, 4n), [
      { dpid: 1n, outPort: 2 },
      { dpid: 2n, inPort: 1, outPort: 2 },
      { dpid: 4n, inPort: 1 },
    ]);
    assert.deepEqual(app.topo.path(1n, 4n, { avoid: new Set([2n]) }), [
      { dpid: 1n, outPort: 3 },
      { dpid: 3n, inPort: 1, outPort: 2 },
      { dpid: 4n, inPort: 2 },
    ]);
    assert.equal(app.topo.path(1n, 4n, { avoid: new Set([2n, 3n]) }), undefined);
    assert.deepEqual(app.topo.path(2n, 2n), [{ dpid: 2n }]);
    const tree = app.topo.treeTowards(4n);
    assert.deepEqual(tree.get(1n), { outPort: 2, dist: 2 });
    assert.deepEqual(tree.get(3n), { outPort: 2, dist: 1 });
    const h1 = net.host('h1');
    const h2 = net.host('h2');
    net.send('h1', frameBetween(h1, h2));
    net.send('h2', frameBetween(h2, h1));
    await net.settle();
    assert.deepEqual(app.topo.route(h1.mac, h2.mac), [
      { dpid: 1n, inPort: 1, outPort: 2 },
      { dpid: 2n, inPort: 1, outPort: 2 },
      { dpid: 4n, inPort: 1, outPort: 3 },
    ]);
  });

  it('builds a spanning tree without loops and broadcast ports from it', async () => {
    const net = diamond();
    const app = new TopoApp();
    await net.startApp(app);
    const st = app.topo.spanningTree();
    const treeLinks = [...st.values()].reduce((n, s) => n + s.size, 0) / 2;
    assert.equal(treeLinks, 3, 'four switches, three tree links');
    assert.deepEqual([...st.get(1n)!].sort(), [2, 3]);
    assert.deepEqual(app.topo.floodPorts(1n, 1), [2, 3]);
    assert.deepEqual(app.topo.floodPorts(4n), [1, 3], 's4 reaches s3 through s1, not directly');
  });

  it('learns hosts from packet-ins on edge ports only, with their IPs from ARP', async () => {
    const net = diamond();
    const app = new TopoApp();
    await net.startApp(app);
    const h1 = net.host('h1');
    net.send('h1', gratuitousArp(h1.mac, h1.ip));
    await net.settle();
    const host = app.topo.host(h1.mac)!;
    assert.equal(host.dpid, 1n);
    assert.equal(host.port, 1);
    assert.deepEqual(host.ips, [h1.ip]);
    assert.equal(app.topo.hostByIp(h1.ip)?.mac, h1.mac);
    assert.equal(app.named('hostSeen').length, 1);
    // A frame from a switch port (e.g. flooded by some app) does not make a host.
    net.inject(2, 1, frameBetween(net.host('h2'), h1));
    await net.settle();
    assert.equal(app.topo.host(net.host('h2').mac), undefined);
    assert.equal(app.topo.hosts().length, 1);
  });

  it('reports a host that moves (gratuitous ARP, RARP announce)', async () => {
    const net = diamond();
    const app = new TopoApp();
    await net.startApp(app);
    const h1 = net.host('h1');
    net.send('h1', gratuitousArp(h1.mac, h1.ip));
    await net.settle();
    net.addPort(4, 4);
    net.moveHost('h1', 4, 4);
    net.send('h1', gratuitousArp(h1.mac, h1.ip));
    await net.settle();
    const moved = app.named('hostMoved') as TopologyEvents['hostMoved'][];
    assert.equal(moved.length, 1);
    assert.deepEqual(moved[0]!.from, { dpid: 1n, port: 1 });
    assert.equal(moved[0]!.host.dpid, 4n);
    assert.equal(moved[0]!.host.port, 4);
    net.moveHost('h1', 1, 1);
    net.send('h1', buildRarpAnnounce(h1.mac));
    await net.settle();
    assert.equal(app.named('hostMoved').length, 2);
    assert.equal(app.topo.host(h1.mac)!.dpid, 1n);
  });

  it('takes a link down at once on port-status and back up on port up', async () => {
    const net = diamond();
    const app = new TopoApp();
    await net.startApp(app);
    net.setPortUp(1, 2, false);
    await net.settle();
    const down = app.named('linkDown') as TopologyEvents['linkDown'][];
    assert.equal(down.length, 1);
    assert.equal(down[0]!.reason, 'port down');
    assert.deepEqual(linkText(app.topo), ['1:3-3:1', '2:2-4:1', '3:2-4:2']);
    assert.equal(app.topo.path(1n, 4n)?.[1]?.dpid, 3n, 'reroutes via s3');
    net.setPortUp(1, 2, true);
    await net.settle();
    assert.equal(app.topo.links().length, 4, 'the port coming up is probed at once');
  });

  it('treats a port closed by a port-mod (NO_RECV|NO_FWD, as Open vSwitch shows a closed patch port) as down', async () => {
    const net = diamond();
    const app = new TopoApp();
    await net.startApp(app);
    net.setPortConfig(1, 2, 0x24, 0x25);
    await net.settle();
    const down = app.named('linkDown') as TopologyEvents['linkDown'][];
    assert.equal(down.length, 1);
    assert.equal(down[0]!.reason, 'port down');
    assert.deepEqual(app.topo.edgePorts(1n), [1], 'a closed port is no edge port either');
    app.topo.probe();
    await net.settle();
    assert.equal(app.topo.links().length, 3, 'no LLDP through a closed port');
    net.setPortConfig(1, 2, 0, 0x25);
    await net.settle();
    assert.equal(app.topo.links().length, 4, 'opened again: probed at once');
  });

  it('expires a link that no longer carries LLDP', async () => {
    const net = diamond();
    const app = new TopoApp({ intervalMs: 1000, timeoutMs: 3000 });
    await net.startApp(app);
    net.breakLinkSilently(3, 2);
    for (let i = 0; i < 3; i++) {
      app.clock += 1000;
      app.topo.expire();
      app.topo.probe();
      await net.settle();
    }
    assert.equal(app.topo.links().length, 4, 'not yet: 3000 ms is the limit');
    app.clock += 1000;
    app.topo.expire();
    await net.settle();
    const down = app.named('linkDown') as TopologyEvents['linkDown'][];
    assert.equal(down.length, 1);
    assert.equal(down[0]!.reason, 'timeout');
    assert.deepEqual(linkText(app.topo), ['1:2-2:1', '1:3-3:1', '2:2-4:1']);
  });

  it('takes every link of a switch down when it disconnects, and rediscovers them', async () => {
    const net = diamond();
    const app = new TopoApp();
    await net.startApp(app);
    net.disconnect(2);
    await net.settle();
    assert.deepEqual(linkText(app.topo), ['1:3-3:1', '3:2-4:2']);
    assert.equal(app.topo.path(1n, 2n), undefined);
    net.connect(2);
    await net.settle();
    assert.equal(app.topo.links().length, 4);
  });

  it('undoes a host location learnt on a port that turns out to be a switch port', async () => {
    const net = diamond();
    // s2 joins late: its links are unknown while h1's broadcast arrives there.
    net.disconnect(2);
    const app = new TopoApp();
    await net.startApp(app);
    const h1 = net.host('h1');
    net.send('h1', gratuitousArp(h1.mac, h1.ip));
    await net.settle();
    assert.equal(app.topo.host(h1.mac)!.dpid, 1n);
    // Pretend a flood carried h1's frame to s4 over the s3 link before s4-s3 was known: simulate by
    // removing that link from the topology's view (port down + up without LLDP getting through).
    net.breakLinkSilently(3, 2);
    net.setPortUp(4, 2, false);
    await net.settle();
    net.setPortUp(4, 2, true);
    await net.settle();
    assert.equal(app.topo.isSwitchPort(4n, 2), false);
    net.inject(4, 2, gratuitousArp(h1.mac, h1.ip));
    await net.settle();
    assert.equal(app.topo.host(h1.mac)!.dpid, 4n, 'misattributed');
    net.link(3, 2, 4, 2);
    app.topo.probe(3n);
    await net.settle();
    assert.equal(app.topo.isSwitchPort(4n, 2), true);
    assert.equal(app.topo.host(h1.mac)!.dpid, 1n, 'back where it was');
    assert.equal(app.topo.host(h1.mac)!.port, 1);
  });

  it('is shared by the apps of one api and stops with its last user', async () => {
    const net = diamond();
    const a = startTopologyDiscovery(net, { timers: false });
    const b = startTopologyDiscovery(net, { timers: false });
    assert.equal(a, b);
    await net.settle();
    a.stop();
    assert.equal(a.stopped, false);
    assert.ok(net.listenerCount('packetIn') > 0);
    b.stop();
    assert.equal(a.stopped, true);
    assert.equal(net.listenerCount(), 0);
    const c = startTopologyDiscovery(net, { timers: false });
    assert.notEqual(c, a);
    c.stop();
  });

  it('probes periodically with its own timer', async (t) => {
    t.mock.timers.enable({ apis: ['setInterval'] });
    const net = diamond();
    const topo = startTopologyDiscovery(net, { intervalMs: 500 });
    await net.settle();
    const sent = () => net.sw(2).packetOuts().length;
    const first = sent();
    assert.equal(first, 2, 'one LLDP per port at start');
    t.mock.timers.tick(500);
    await net.settle();
    assert.equal(sent(), 4);
    topo.stop();
    t.mock.timers.tick(5000);
    assert.equal(sent(), 4);
  });
});
