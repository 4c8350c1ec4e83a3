// shortest-path: routes between hosts over the links that topology discovery finds, and re-routes when
// links fail. Safe on topologies with loops.
//
// - Rules are per destination: (eth_dst = host) -> output(next hop), priority `priority`, on the switches of
//   the shortest path from where the packet entered to the host. All switches use one shortest-path tree
//   rooted at the destination's switch (Topology.treeTowards), so the rules of different sources agree and
//   can never loop. Rules are installed from the destination backwards, then the packet is sent on.
// - Broadcast and unknown unicast (ARP requests, ...) are never flooded hop by hop: the controller delivers
//   them itself with one packet-out per switch to its edge ports (ports with no switch behind them), except
//   the port the packet came in by. Frames that enter by a switch port are not broadcast again, and a
//   frame seen twice within `dedupMs` is dropped: even before discovery has found every link, a broadcast
//   cannot circulate.
// - A link going down (port-status, switch down or LLDP timeout), a link coming up, or a host moving
//   recomputes the tree of every destination that has rules and rewrites only the rules whose next hop
//   changed (nearest the destination first); rules on switches that can no longer reach it are deleted.
//
// Options: priority (default 10), idleTimeout (s, default 0: rules stay until the topology changes; when
// set, rules ask for flow-removed so the app's view stays exact), hardTimeout (s, default 0),
// intervalMs / timeoutMs for topology discovery (default 1000 / 3500), dedupMs (default 250).

import {
  type App,
  addFlow,
  COOKIE_ALL_BITS,
  type ControllerApi,
  type Datapath,
  deleteFlows,
  dpidText,
  FlowModFlags,
  type FlowRemovedEvent,
  type Host,
  type Logger,
  matchGet,
  numberOption,
  outputTo,
  type PacketInEvent,
  packetInEthernet,
  sendPacketOut,
  startTopologyDiscovery,
  type Topology,
  tableMissToController,
} from '../api/index.ts';

/** Cookie of every rule this app installs ("SP" in the top bytes). */
export const SHORTEST_PATH_COOKIE = 0x5350_0000_0000_0000n;

export interface ShortestPathOptions {
  priority: number;
  idleTimeout: number;
  hardTimeout: number;
  intervalMs: number;
  timeoutMs: number;
  dedupMs: number;
}

export class ShortestPath implements App {
  readonly name = 'shortest-path';
  topology: Topology | undefined;
  options: ShortestPathOptions = {
    priority: 10,
    idleTimeout: 0,
    hardTimeout: 0,
    intervalMs: 1000,
    timeoutMs: 3500,
    dedupMs: 250,
  };
  /** Rules in force: destination MAC -> (dpid -> output port). */
  readonly installed = new Map<string, Map<bigint, number>>();
  /** Counters for tests and logs. */
  readonly counters = { routed: 0, broadcast: 0, dropped: 0, reroutes: 0, rulesSent: 0, rulesDeleted: 0 };
  private api!: ControllerApi;
  private log!: Logger;
  private unsubscribe: (() => void)[] = [];

  start(api: ControllerApi, options: Record<string, unknown>): void {
    this.api = api;
    this.log = api.logger(this.name);
    const intervalMs = numberOption(options, 'intervalMs', 1000);
    this.options = {
      priority: numberOption(options, 'priority', 10),
      idleTimeout: numberOption(options, 'idleTimeout', 0),
      hardTimeout: numberOption(options, 'hardTimeout', 0),
      intervalMs,
      timeoutMs: numberOption(options, 'timeoutMs', 3 * intervalMs + 500),
      dedupMs: numberOption(options, 'dedupMs', 250),
    };
    this.installed.clear();
    this.log.info(this.options, 'shortest-path started');
    // The topology service subscribes first, so it has learnt from a packet-in before this app sees it.
    const topo = startTopologyDiscovery(api, { intervalMs, timeoutMs: this.options.timeoutMs });
    this.topology = topo;
    this.unsubscribe = [
      api.on('switchUp', ({ dp }) => this.onSwitchUp(dp)),
      api.on('switchDown', ({ dp }) => this.forgetSwitch(dp.id)),
      api.on('packetIn', (ev) => this.onPacketIn(ev)),
      api.on('flowRemoved', (ev) => this.onFlowRemoved(ev)),
      topo.on('linkDown', () => this.reconcileAll('link down')),
      topo.on('linkUp', () => this.reconcileAll('link up')),
      topo.on('hostMoved', ({ host }) => this.reconcile(host.mac, 'host moved')),
      topo.on('hostRemoved', ({ host }) => this.reconcile(host.mac, 'host removed')),
      () => topo.stop(),
    ];
  }

  stop(): void {
    for (const u of this.unsubscribe.splice(0)) u();
    this.topology = undefined;
  }

  private onSwitchUp(dp: Datapath): void {
    // Whatever this app left on the switch in an earlier session is unknown now: start clean.
    deleteFlows(dp, { cookie: SHORTEST_PATH_COOKIE, cookieMask: COOKIE_ALL_BITS });
    this.forgetSwitch(dp.id);
    tableMissToController(dp);
  }

  private forgetSwitch(dpid: bigint): void {
    for (const rules of this.installed.values()) rules.delete(dpid);
  }

  private onPacketIn(ev: PacketInEvent): void {
    const topo = this.topology;
    if (!topo) return;
    const eth = packetInEthernet(ev);
    if (!eth) return;
    const group = (ev.msg.data[0]! & 1) === 1;
    const dst = group ? undefined : topo.host(eth.dst);
    if (!dst) {
      this.broadcast(ev);
      return;
    }
    this.route(ev, dst);
  }

  /** Broadcast / unknown destination: delivered by the controller to every edge port (never looped). */
  private broadcast(ev: PacketInEvent): void {
    if (this.topology!.broadcastToEdges(ev, { dedupMs: this.options.dedupMs })) this.counters.broadcast++;
    else this.counters.dropped++;
  }

  /** Installs the rules from where the packet is to the destination host, then sends the packet on. */
  private route(ev: PacketInEvent, dst: Host): void {
    const topo = this.topology!;
    const { dp, inPort, msg } = ev;
    const tree = topo.treeTowards(dst.dpid);
    if (!tree.has(dp.id)) {
      this.counters.dropped++;
      this.log.debug({ dst: dst.mac, from: dp.idText }, 'no path to the destination');
      return;
    }
    const hops = this.walk(tree, dp.id, dst);
    this.installAlong(dst.mac, hops);
    this.counters.routed++;
    const first = hops[0]!;
    if (first.outPort === inPort) return; // would go back where it came from: the rules are in place anyway
    sendPacketOut(dp, { inPort, actions: [outputTo(first.outPort)], data: msg.data });
  }

  /** The switches from `from` to the destination's switch along the tree, with their output ports. */
  private walk(tree: Map<bigint, { outPort: number; dist: number }>, from: bigint, dst: Host) {
    const hops: { dpid: bigint; outPort: number; dist: number }[] = [];
    let cur = from;
    for (let guard = 0; guard < 1024; guard++) {
      const t = tree.get(cur);
      if (!t) break;
      if (cur === dst.dpid) {
        hops.push({ dpid: cur, outPort: dst.port, dist: 0 });
        break;
      }
      hops.push({ dpid: cur, outPort: t.outPort, dist: t.dist });
      const peer = this.topology!.peerOf(cur, t.outPort);
      if (!peer) break;
      cur = peer.dpid;
    }
    return hops;
  }

  /** Sends the rules that differ from what is installed, nearest the destination first. */
  private installAlong(mac: string, hops: { dpid: bigint; outPort: number; dist: number }[]): void {
    let rules = this.installed.get(mac);
    if (!rules) {
      rules = new Map();
      this.installed.set(mac, rules);
    }
    const o = this.options;
    for (const h of [...hops].sort((x, y) => x.dist - y.dist)) {
      if (rules.get(h.dpid) === h.outPort) continue;
      const sw = this.api.datapath(h.dpid);
      if (!sw) continue;
      addFlow(sw, {
        priority: o.priority,
        cookie: SHORTEST_PATH_COOKIE,
        match: { fields: [{ field: 'eth_dst', value: mac }] },
        actions: [outputTo(h.outPort)],
        idleTimeout: o.idleTimeout,
        hardTimeout: o.hardTimeout,
        flags: o.idleTimeout > 0 || o.hardTimeout > 0 ? FlowModFlags.SEND_FLOW_REM : 0,
      });
      rules.set(h.dpid, h.outPort);
      this.counters.rulesSent++;
    }
  }

  private deleteRule(mac: string, dpid: bigint): void {
    const rules = this.installed.get(mac);
    rules?.delete(dpid);
    if (rules && rules.size === 0) this.installed.delete(mac);
    const sw = this.api.datapath(dpid);
    if (!sw) return;
    deleteFlows(sw, {
      tableId: 0,
      strict: true,
      priority: this.options.priority,
      match: { fields: [{ field: 'eth_dst', value: mac }] },
      cookie: SHORTEST_PATH_COOKIE,
    });
    this.counters.rulesDeleted++;
  }

  private reconcileAll(reason: string): void {
    if (this.installed.size === 0) return;
    this.counters.reroutes++;
    this.log.info({ reason, destinations: this.installed.size }, 'recomputing routes');
    for (const mac of [...this.installed.keys()]) this.reconcile(mac, reason);
  }

  /** Brings the rules towards one destination in line with the current topology. */
  reconcile(mac: string, reason: string): void {
    const rules = this.installed.get(mac);
    if (!rules || rules.size === 0) return;
    const topo = this.topology;
    if (!topo) return;
    const host = topo.host(mac);
    if (!host) {
      for (const dpid of [...rules.keys()]) this.deleteRule(mac, dpid);
      return;
    }
    const tree = topo.treeTowards(host.dpid);
    const wanted = new Map<bigint, { dpid: bigint; outPort: number; dist: number }>();
    for (const dpid of rules.keys()) {
      if (!tree.has(dpid)) continue;
      for (const h of this.walk(tree, dpid, host)) wanted.set(h.dpid, h);
    }
    for (const dpid of [...rules.keys()]) if (!wanted.has(dpid)) this.deleteRule(mac, dpid);
    const before = this.counters.rulesSent;
    this.installAlong(mac, [...wanted.values()]);
    if (this.counters.rulesSent > before) {
      this.log.info({ mac, reason, rules: this.counters.rulesSent - before }, 'route updated');
    }
  }

  private onFlowRemoved(ev: FlowRemovedEvent): void {
    if (ev.msg.cookie !== SHORTEST_PATH_COOKIE) return;
    const mac = matchGet(ev.msg.match, 'eth_dst');
    if (mac === undefined) return;
    const rules = this.installed.get(mac);
    rules?.delete(ev.dp.id);
    if (rules && rules.size === 0) this.installed.delete(mac);
  }

  /** For logs and tests: the rules in force as "dpid -> port" per destination. */
  routes(): Record<string, Record<string, number>> {
    const out: Record<string, Record<string, number>> = {};
    for (const [mac, rules] of this.installed) {
      out[mac] = Object.fromEntries([...rules].map(([d, p]) => [dpidText(d), p]));
    }
    return out;
  }
}

export function createApp(): ShortestPath {
  return new ShortestPath();
}

const app: App = createApp();
export default app;
