// Topology discovery (LLDP) as a service that any app can start on the ControllerApi it was given:
//
//   const topo = startTopologyDiscovery(api, { intervalMs: 1000 });
//   topo.on('linkUp', ({ link }) => ...);  topo.on('hostMoved', ({ host, from }) => ...);
//   topo.path(srcDpid, dstDpid);            // shortest path (hops) over discovered links
//
// How it works:
// - On switch-up it installs one rule (table 0, priority 65535, eth_type 0x88cc -> CONTROLLER, whole packet)
//   and sends an LLDP frame out of every port that is up; then again every `intervalMs` on every switch.
//   The frames carry (dpid, port) in Ryu's encoding (src/packet/lldp.ts).
// - An LLDP packet-in at (dpid B, port q) carrying (A, p) means a link A:p <-> B:q. Links are undirected
//   (either direction refreshes them) and expire when no LLDP crossed them for `timeoutMs`.
//   A port-status saying a port is down (or deleted), and a switch going down, take links down at once;
//   a port coming up is probed at once.
// - Hosts are learnt from packet-ins on ports that are not switch ports (a port where LLDP from another
//   switch arrives is a switch port): source MAC -> (dpid, port), with IPs from ARP/RARP (gratuitous ARP
//   included) and IPv4 sources. A host seen on another edge port has moved (hostMoved). When a port turns
//   out to be a switch port, hosts learnt there (packets flooded before discovery) go back to where they
//   were before, or are forgotten.
//
// One instance per ControllerApi is shared by every app that starts it (reference counted: each
// startTopologyDiscovery() is matched by one stop()); the first caller's options win.

import { CONTROLLER_MAX_LEN_NO_BUFFER, Port as OFPP, PortReason } from '../openflow/constants.ts';
import type { Port } from '../openflow/types.ts';
import { ETH_TYPE } from '../packet/constants.ts';
import { buildLldpDiscovery, parseLldpDiscovery } from '../packet/lldp.ts';
import { ethernetHeaderOf, parsePacket } from '../packet/parse.ts';
import type { Logger } from '../util/log.ts';
import { addFlow, dpidText, outputTo, portIsUp, sendPacketOut } from './helpers.ts';
import type { ControllerApi, Datapath, PacketInEvent } from './types.ts';

/** One end of a link, or a host's attachment point. */
export interface PortRef {
  dpid: bigint;
  port: number;
}

/** An undirected link between two switch ports; `a` is the end with the smaller (dpid, port). */
export interface Link {
  readonly a: PortRef;
  readonly b: PortRef;
  /** When it was first discovered (ms since epoch, the service's clock). */
  readonly since: number;
  /** Last LLDP seen across it. */
  lastSeen: number;
}

export interface Host {
  /** Canonical lower-case MAC. */
  readonly mac: string;
  dpid: bigint;
  port: number;
  /** IPv4 addresses seen for this MAC (ARP, IPv4 source), oldest first. */
  ips: string[];
  firstSeen: number;
  lastSeen: number;
}

export interface TopologyEvents {
  linkUp: { link: Link };
  linkDown: { link: Link; reason: string };
  hostSeen: { host: Host };
  hostMoved: { host: Host; from: PortRef };
  /** A host forgotten: learnt on a port that turned out to be a switch port. */
  hostRemoved: { host: Host; reason: string };
}
export type TopologyEventName = keyof TopologyEvents;
type TopoListener<K extends TopologyEventName> = (event: TopologyEvents[K]) => void;

/** One hop of a path: the switch, the port the traffic enters by (absent at the first switch of a
 *  switch-to-switch path) and the port it leaves by (absent at the last). */
export interface PathHop {
  dpid: bigint;
  inPort?: number;
  outPort?: number;
}

export interface PathOptions {
  /** Switches the path must not cross (the source and destination themselves are allowed). */
  avoid?: ReadonlySet<bigint>;
  /** Links the path must not use. */
  avoidLinks?: readonly Link[];
}

export interface TopologyOptions {
  /** LLDP period; default 1000 ms. */
  intervalMs?: number;
  /** A link expires when no LLDP crossed it for this long; default 3 * intervalMs + 500. */
  timeoutMs?: number;
  /** Priority of the LLDP-to-controller rule (default 65535). */
  priority?: number;
  /** Cookie of the LLDP rule (default 0x4c4c4450 "LLDP"). */
  cookie?: bigint;
  /** Learn hosts from packet-ins (default true). */
  learnHosts?: boolean;
  /** Start the periodic timer (default true; tests can drive probe() and expire() themselves). */
  timers?: boolean;
  /** Clock (default Date.now). */
  now?: () => number;
}

export const LLDP_RULE_COOKIE = 0x4c4c4450n;

interface Shared {
  topo: Topology;
  refs: number;
}
const running = new WeakMap<ControllerApi, Shared>();

/** Starts (or joins) the topology discovery service on `api`. Call stop() on the result when done. */
export function startTopologyDiscovery(api: ControllerApi, options: TopologyOptions = {}): Topology {
  const shared = running.get(api);
  if (shared && !shared.topo.stopped) {
    shared.refs++;
    return shared.topo;
  }
  const topo = new Topology(api, options, () => {
    const s = running.get(api);
    if (!s) return true;
    s.refs--;
    if (s.refs > 0) return false;
    running.delete(api);
    return true;
  });
  running.set(api, { topo, refs: 1 });
  topo.start();
  return topo;
}

function linkKey(x: PortRef, y: PortRef): [string, PortRef, PortRef] {
  const xFirst = x.dpid < y.dpid || (x.dpid === y.dpid && x.port <= y.port);
  const a = xFirst ? x : y;
  const b = xFirst ? y : x;
  return [`${a.dpid}:${a.port}-${b.dpid}:${b.port}`, a, b];
}

const portKey = (dpid: bigint, port: number): string => `${dpid}:${port}`;

export class Topology {
  readonly intervalMs: number;
  readonly timeoutMs: number;
  /** Bumped on every link change: cache path computations on it. */
  version = 0;
  stopped = false;

  private readonly log: Logger;
  private readonly now: () => number;
  private readonly priority: number;
  private readonly cookie: bigint;
  private readonly learn: boolean;
  private readonly useTimers: boolean;
  private readonly linksByKey = new Map<string, Link>();
  /** "dpid:port" -> the link at that port. */
  private readonly linkAtPort = new Map<string, Link>();
  private readonly hostsByMac = new Map<string, Host>();
  /** Where a host was before its latest move (to undo moves seen on ports that turn out to be switch ports). */
  private readonly previous = new Map<string, PortRef>();
  private readonly listeners: { [K in TopologyEventName]: TopoListener<K>[] } = {
    linkUp: [],
    linkDown: [],
    hostSeen: [],
    hostMoved: [],
    hostRemoved: [],
  };
  private readonly unsubscribe: (() => void)[] = [];
  /** Switches whose LLDP rule is installed, with the handle they came up with. */
  private readonly initialised = new Map<bigint, Datapath>();
  private readonly recentBroadcasts = new Map<string, { from: string; at: number }>();
  private timer: NodeJS.Timeout | undefined;
  private treeCache: { version: number; trees: Map<bigint, Map<bigint, { outPort: number; dist: number }>> } =
    {
      version: -1,
      trees: new Map(),
    };

  constructor(
    private readonly api: ControllerApi,
    options: TopologyOptions,
    private readonly release: () => boolean,
  ) {
    this.intervalMs = options.intervalMs ?? 1000;
    this.timeoutMs = options.timeoutMs ?? 3 * this.intervalMs + 500;
    this.priority = options.priority ?? 0xffff;
    this.cookie = options.cookie ?? LLDP_RULE_COOKIE;
    this.learn = options.learnHosts ?? true;
    this.useTimers = options.timers ?? true;
    this.now = options.now ?? Date.now;
    this.log = api.logger('topology');
  }

  /** Subscribes to the switch events; called once by startTopologyDiscovery. */
  start(): void {
    const api = this.api;
    this.unsubscribe.push(
      api.on('switchUp', ({ dp }) => this.onSwitchUp(dp)),
      api.on('switchDown', ({ dp }) => this.onSwitchDown(dp)),
      api.on('portStatus', ({ dp, msg }) => this.onPortStatus(dp, msg.reason, msg.port)),
      api.on('packetIn', (ev) => this.onPacketIn(ev)),
    );
    // Switches that are already up: the runtime also replays switchUp to an app after its start(), but
    // the service may be started later than that.
    for (const dp of api.datapaths()) this.onSwitchUp(dp);
    if (this.useTimers) {
      this.timer = setInterval(() => this.tick(), this.intervalMs);
      this.timer.unref();
    }
  }

  /** Leaves the service; the last user stops it (timers, subscriptions). */
  stop(): void {
    if (this.stopped) return;
    if (!this.release()) return;
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    for (const u of this.unsubscribe.splice(0)) u();
  }

  on<K extends TopologyEventName>(event: K, listener: TopoListener<K>): () => void {
    const list = this.listeners[event] as TopoListener<K>[];
    list.push(listener);
    return () => {
      const i = list.indexOf(listener);
      if (i >= 0) list.splice(i, 1);
    };
  }

  private emit<K extends TopologyEventName>(event: K, payload: TopologyEvents[K]): void {
    for (const l of [...(this.listeners[event] as TopoListener<K>[])]) {
      try {
        l(payload);
      } catch (err) {
        this.log.error({ event, err: (err as Error).message }, 'topology listener failed');
      }
    }
  }

  // ------------------------------------------------------------ queries

  /** Connected switches, by dpid. */
  switches(): bigint[] {
    return this.api
      .datapaths()
      .map((d) => d.id)
      .sort((x, y) => (x < y ? -1 : x > y ? 1 : 0));
  }

  /** Links currently up, sorted. */
  links(): Link[] {
    return [...this.linksByKey.values()].sort((x, y) =>
      x.a.dpid !== y.a.dpid ? (x.a.dpid < y.a.dpid ? -1 : 1) : x.a.port - y.a.port,
    );
  }

  /** The link at a switch port, if that port is a switch port. */
  linkAt(dpid: bigint, port: number): Link | undefined {
    return this.linkAtPort.get(portKey(dpid, port));
  }

  /** The far end of the link at a port. */
  peerOf(dpid: bigint, port: number): PortRef | undefined {
    const l = this.linkAt(dpid, port);
    if (!l) return undefined;
    return l.a.dpid === dpid && l.a.port === port ? l.b : l.a;
  }

  isSwitchPort(dpid: bigint, port: number): boolean {
    return this.linkAtPort.has(portKey(dpid, port));
  }

  /** Ports of a switch that are up and not switch ports (where hosts can be). */
  edgePorts(dpid: bigint): number[] {
    const dp = this.api.datapath(dpid);
    if (!dp) return [];
    const out: number[] = [];
    for (const [no, p] of dp.ports) {
      if (no > OFPP.MAX || !portIsUp(p) || this.isSwitchPort(dpid, no)) continue;
      out.push(no);
    }
    return out.sort((x, y) => x - y);
  }

  hosts(): Host[] {
    return [...this.hostsByMac.values()];
  }

  host(mac: string): Host | undefined {
    return this.hostsByMac.get(mac.toLowerCase());
  }

  /** The host that most recently claimed this IPv4 address. */
  hostByIp(ip: string): Host | undefined {
    let best: Host | undefined;
    for (const h of this.hostsByMac.values()) {
      if (h.ips.includes(ip) && (!best || h.lastSeen > best.lastSeen)) best = h;
    }
    return best;
  }

  /** Hosts attached to a switch port. */
  hostsAt(dpid: bigint, port: number): Host[] {
    return this.hosts().filter((h) => h.dpid === dpid && h.port === port);
  }

  /** Neighbouring switches of `dpid` over links that are up: [local port, far end], sorted. */
  neighbours(dpid: bigint): { port: number; peer: PortRef }[] {
    const out: { port: number; peer: PortRef }[] = [];
    for (const l of this.linksByKey.values()) {
      if (l.a.dpid === dpid) out.push({ port: l.a.port, peer: l.b });
      if (l.b.dpid === dpid) out.push({ port: l.b.port, peer: l.a });
    }
    return out.sort((x, y) =>
      x.peer.dpid !== y.peer.dpid ? (x.peer.dpid < y.peer.dpid ? -1 : 1) : x.port - y.port,
    );
  }

  private connected(dpid: bigint): boolean {
    return this.api.datapath(dpid) !== undefined;
  }

  /**
   * A shortest path (fewest links) from switch `src` to switch `dst`, or undefined when there is none.
   * Hops carry the ports between them; the first hop has no inPort and the last no outPort.
   * Ties are broken deterministically (lowest dpid, then lowest port).
   */
  path(src: bigint, dst: bigint, opts: PathOptions = {}): PathHop[] | undefined {
    if (!this.connected(src) || !this.connected(dst)) return undefined;
    if (src === dst) return [{ dpid: src }];
    const prev = new Map<bigint, { from: bigint; outPort: number; inPort: number }>();
    const seen = new Set<bigint>([src]);
    let frontier = [src];
    while (frontier.length > 0 && !seen.has(dst)) {
      const next: bigint[] = [];
      for (const u of frontier) {
        for (const { port, peer } of this.neighbours(u)) {
          const v = peer.dpid;
          if (seen.has(v) || !this.connected(v)) continue;
          if (opts.avoid?.has(v) && v !== dst) continue;
          if (opts.avoidLinks?.includes(this.linkAt(u, port)!)) continue;
          seen.add(v);
          prev.set(v, { from: u, outPort: port, inPort: peer.port });
          next.push(v);
        }
      }
      frontier = next;
    }
    if (!seen.has(dst)) return undefined;
    const hops: PathHop[] = [{ dpid: dst }];
    let cur = dst;
    while (cur !== src) {
      const p = prev.get(cur)!;
      hops[0]!.inPort = p.inPort;
      hops.unshift({ dpid: p.from, outPort: p.outPort });
      cur = p.from;
    }
    return hops;
  }

  /**
   * A path between two host attachment points (or host MACs): like path(), with the first hop's inPort
   * and the last hop's outPort set to the host ports.
   */
  route(from: PortRef | string, to: PortRef | string, opts: PathOptions = {}): PathHop[] | undefined {
    const a = typeof from === 'string' ? this.host(from) : from;
    const b = typeof to === 'string' ? this.host(to) : to;
    if (!a || !b) return undefined;
    const hops = this.path(a.dpid, b.dpid, opts);
    if (!hops) return undefined;
    hops[0]!.inPort = a.port;
    hops[hops.length - 1]!.outPort = b.port;
    return hops;
  }

  /**
   * The shortest-path tree towards `dst`: for every switch that can reach it, the port to send by and the
   * distance in links (dst itself: distance 0, no port -> outPort -1). Cached per topology version.
   */
  treeTowards(dst: bigint): Map<bigint, { outPort: number; dist: number }> {
    if (this.treeCache.version !== this.version) this.treeCache = { version: this.version, trees: new Map() };
    const cached = this.treeCache.trees.get(dst);
    if (cached) return cached;
    const tree = new Map<bigint, { outPort: number; dist: number }>();
    if (this.connected(dst)) {
      tree.set(dst, { outPort: -1, dist: 0 });
      let frontier = [dst];
      for (let d = 1; frontier.length > 0; d++) {
        const next: bigint[] = [];
        for (const u of frontier) {
          for (const { peer } of this.neighbours(u)) {
            const v = peer.dpid;
            if (tree.has(v) || !this.connected(v)) continue;
            // v reaches u by the far end of this link (peer.port on v).
            tree.set(v, { outPort: peer.port, dist: d });
            next.push(v);
          }
        }
        frontier = next;
      }
    }
    this.treeCache.trees.set(dst, tree);
    return tree;
  }

  /**
   * A spanning tree of every connected component (BFS from its lowest dpid): for each switch, the switch
   * ports that are on the tree. Broadcast along tree ports plus edge ports never loops.
   */
  spanningTree(): Map<bigint, Set<number>> {
    const tree = new Map<bigint, Set<number>>();
    for (const root of this.switches()) {
      if (tree.has(root)) continue;
      tree.set(root, new Set());
      let frontier = [root];
      while (frontier.length > 0) {
        const next: bigint[] = [];
        for (const u of frontier) {
          for (const { port, peer } of this.neighbours(u)) {
            if (tree.has(peer.dpid) || !this.connected(peer.dpid)) continue;
            tree.get(u)!.add(port);
            tree.set(peer.dpid, new Set([peer.port]));
            next.push(peer.dpid);
          }
        }
        frontier = next;
      }
    }
    return tree;
  }

  /** Ports to broadcast to at `dpid` (edge ports and spanning-tree ports), without `inPort`. */
  floodPorts(dpid: bigint, inPort?: number): number[] {
    const tree = this.spanningTree().get(dpid) ?? new Set<number>();
    const out = new Set<number>([...this.edgePorts(dpid), ...tree]);
    if (inPort !== undefined) out.delete(inPort);
    return [...out].sort((x, y) => x - y);
  }

  // ------------------------------------------------------------ controller-driven broadcast

  /**
   * Delivers the frame of a packet-in to every edge port of every switch (one packet-out per switch),
   * except the port it came in by: a broadcast that never crosses a switch link, so it cannot loop.
   * Returns false (and sends nothing) when the frame came in by a switch port (a copy of something
   * already delivered), or when it is a copy of a frame broadcast from another port less than `dedupMs`
   * ago (a loop that discovery has not found yet). The same frame again from the same port (a
   * retransmission) is delivered.
   */
  broadcastToEdges(ev: PacketInEvent, opts: { dedupMs?: number } = {}): boolean {
    const { dp, inPort, msg } = ev;
    if (this.isSwitchPort(dp.id, inPort)) return false;
    const window = opts.dedupMs ?? 250;
    const now = this.now();
    const key = frameKey(msg.data);
    const here = portKey(dp.id, inPort);
    const last = this.recentBroadcasts.get(key);
    if (last !== undefined && last.from !== here && now - last.at < window) {
      last.at = now;
      return false;
    }
    this.recentBroadcasts.set(key, { from: here, at: now });
    if (this.recentBroadcasts.size > 4096) {
      for (const [k, v] of this.recentBroadcasts) if (now - v.at >= window) this.recentBroadcasts.delete(k);
    }
    for (const sw of this.api.datapaths()) {
      const ports = this.edgePorts(sw.id);
      const actions = [];
      for (const p of ports) if (!(sw.id === dp.id && p === inPort)) actions.push(outputTo(p));
      if (actions.length > 0) sendPacketOut(sw, { actions, data: msg.data });
    }
    return true;
  }

  // ------------------------------------------------------------ probing

  /** Sends LLDP now: on every up port of every switch (or of one switch, or one port). */
  probe(dpid?: bigint, port?: number): void {
    const dps =
      dpid === undefined ? this.api.datapaths() : [this.api.datapath(dpid)].filter((d) => d !== undefined);
    for (const dp of dps) {
      for (const [no, p] of dp.ports) {
        if (no > OFPP.MAX || !portIsUp(p)) continue;
        if (port !== undefined && no !== port) continue;
        this.sendLldp(dp, p);
      }
    }
  }

  private sendLldp(dp: Datapath, p: Port): void {
    let data: Uint8Array;
    try {
      data = buildLldpDiscovery({ dpid: dp.id, port: p.portNo, src: p.hwAddr, ttl: 120 });
    } catch {
      data = buildLldpDiscovery({ dpid: dp.id, port: p.portNo, ttl: 120 });
    }
    sendPacketOut(dp, { actions: [outputTo(p.portNo)], data });
  }

  /** Takes down links that no LLDP crossed for timeoutMs. */
  expire(): void {
    const now = this.now();
    for (const l of [...this.linksByKey.values()]) {
      if (now - l.lastSeen > this.timeoutMs) this.removeLink(l, 'timeout');
    }
  }

  private tick(): void {
    this.expire();
    this.probe();
  }

  // ------------------------------------------------------------ events from the switches

  private onSwitchUp(dp: Datapath): void {
    // The runtime replays switch-up for switches already up when an app starts: set up each switch once
    // per connection.
    if (this.initialised.get(dp.id) === dp) return;
    this.initialised.set(dp.id, dp);
    addFlow(dp, {
      priority: this.priority,
      cookie: this.cookie,
      match: { fields: [{ field: 'eth_type', value: ETH_TYPE.LLDP }] },
      actions: [{ type: 'output', port: OFPP.CONTROLLER, maxLen: CONTROLLER_MAX_LEN_NO_BUFFER }],
    });
    this.probe(dp.id);
  }

  private onSwitchDown(dp: Datapath): void {
    if (this.initialised.get(dp.id) === dp) this.initialised.delete(dp.id);
    for (const l of [...this.linksByKey.values()]) {
      if (l.a.dpid === dp.id || l.b.dpid === dp.id) this.removeLink(l, 'switch down');
    }
  }

  private onPortStatus(dp: Datapath, reason: number, port: Port): void {
    const down = reason === PortReason.DELETE || !portIsUp(port);
    if (down) {
      const l = this.linkAt(dp.id, port.portNo);
      if (l) this.removeLink(l, reason === PortReason.DELETE ? 'port deleted' : 'port down');
      return;
    }
    // Up (added or modified): look for a neighbour at once.
    const live = this.api.datapath(dp.id);
    if (live) this.sendLldp(live, port);
  }

  private onPacketIn(ev: PacketInEvent): void {
    const data = ev.msg.data;
    if (data.length < 14) return;
    const type = (data[12]! << 8) | data[13]!;
    if (
      type === ETH_TYPE.LLDP ||
      ((type === ETH_TYPE.VLAN || type === ETH_TYPE.QINQ) && isTaggedLldp(data))
    ) {
      this.onLldp(ev);
      return;
    }
    if (this.learn) this.learnHost(ev, type);
  }

  private onLldp(ev: PacketInEvent): void {
    const d = parseLldpDiscovery(ev.msg.data);
    if (!d) return;
    const here: PortRef = { dpid: ev.dp.id, port: ev.inPort };
    if (d.dpid === here.dpid && d.port === here.port) return;
    if (!this.connected(d.dpid)) return; // a switch we do not control
    const [key, a, b] = linkKey({ dpid: d.dpid, port: d.port }, here);
    const now = this.now();
    const existing = this.linksByKey.get(key);
    if (existing) {
      existing.lastSeen = now;
      return;
    }
    // Either port may have been cabled elsewhere before: that link is gone.
    for (const end of [a, b]) {
      const old = this.linkAt(end.dpid, end.port);
      if (old) this.removeLink(old, 'replaced');
    }
    const link: Link = { a, b, since: now, lastSeen: now };
    this.linksByKey.set(key, link);
    this.linkAtPort.set(portKey(a.dpid, a.port), link);
    this.linkAtPort.set(portKey(b.dpid, b.port), link);
    this.version++;
    this.log.info({ a: `${dpidText(a.dpid)}:${a.port}`, b: `${dpidText(b.dpid)}:${b.port}` }, 'link up');
    this.emit('linkUp', { link });
    for (const end of [a, b]) this.evictHostsAt(end);
  }

  private removeLink(link: Link, reason: string): void {
    const [key] = linkKey(link.a, link.b);
    if (this.linksByKey.get(key) !== link) return;
    this.linksByKey.delete(key);
    this.linkAtPort.delete(portKey(link.a.dpid, link.a.port));
    this.linkAtPort.delete(portKey(link.b.dpid, link.b.port));
    this.version++;
    this.log.info(
      { a: `${dpidText(link.a.dpid)}:${link.a.port}`, b: `${dpidText(link.b.dpid)}:${link.b.port}`, reason },
      'link down',
    );
    this.emit('linkDown', { link, reason });
  }

  /** Hosts learnt on a port that is now known to be a switch port were seen through a flood. */
  private evictHostsAt(end: PortRef): void {
    for (const h of [...this.hostsByMac.values()]) {
      if (h.dpid !== end.dpid || h.port !== end.port) continue;
      const prev = this.previous.get(h.mac);
      this.previous.delete(h.mac);
      if (prev && !this.isSwitchPort(prev.dpid, prev.port)) {
        const from = { dpid: h.dpid, port: h.port };
        h.dpid = prev.dpid;
        h.port = prev.port;
        this.emit('hostMoved', { host: h, from });
      } else {
        this.hostsByMac.delete(h.mac);
        this.emit('hostRemoved', { host: h, reason: 'port is a switch port' });
      }
    }
  }

  private learnHost(ev: PacketInEvent, outerType: number): void {
    const dpid = ev.dp.id;
    const port = ev.inPort;
    if (port > OFPP.MAX || this.isSwitchPort(dpid, port)) return;
    const data = ev.msg.data;
    if ((data[6]! & 1) === 1) return; // a multicast source is not a host
    let eth: ReturnType<typeof ethernetHeaderOf>;
    try {
      eth = ethernetHeaderOf(data);
    } catch {
      return;
    }
    let mac = eth.src;
    let ip: string | undefined;
    const type = eth.ethType;
    if (type === ETH_TYPE.ARP || type === ETH_TYPE.RARP) {
      try {
        const l3 = parsePacket(data).l3;
        if (l3?.kind === 'arp') {
          // RARP announcements (hypervisors after a live migration) name the MAC in the sender field.
          if (type === ETH_TYPE.RARP) mac = l3.senderMac;
          if (l3.senderIp !== '0.0.0.0') ip = l3.senderIp;
        }
      } catch {
        // not an Ethernet/IPv4 ARP: learn the MAC only
      }
    } else if (type === ETH_TYPE.IPV4) {
      const off = data.length >= 18 && outerType !== type ? 18 : 14;
      if (data.length >= off + 20 && data[off]! >> 4 === 4) {
        ip = `${data[off + 12]}.${data[off + 13]}.${data[off + 14]}.${data[off + 15]}`;
        if (ip === '0.0.0.0') ip = undefined;
      }
    }
    const now = this.now();
    const h = this.hostsByMac.get(mac);
    if (!h) {
      const host: Host = { mac, dpid, port, ips: ip ? [ip] : [], firstSeen: now, lastSeen: now };
      this.hostsByMac.set(mac, host);
      this.log.info({ mac, dpid: dpidText(dpid), port, ip }, 'host seen');
      this.emit('hostSeen', { host });
      return;
    }
    h.lastSeen = now;
    if (ip && !h.ips.includes(ip)) {
      h.ips.push(ip);
      if (h.ips.length > 8) h.ips.shift();
    }
    if (h.dpid === dpid && h.port === port) return;
    const from = { dpid: h.dpid, port: h.port };
    this.previous.set(mac, from);
    h.dpid = dpid;
    h.port = port;
    this.log.info(
      { mac, from: `${dpidText(from.dpid)}:${from.port}`, to: `${dpidText(dpid)}:${port}` },
      'host moved',
    );
    this.emit('hostMoved', { host: h, from });
  }
}

/** A cheap identity for a frame: its length and an FNV-1a hash of its bytes. */
export function frameKey(data: Uint8Array): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < data.length; i++) {
    h ^= data[i]!;
    h = Math.imul(h, 0x01000193);
  }
  return `${data.length}:${(h >>> 0).toString(16)}`;
}

function isTaggedLldp(data: Uint8Array): boolean {
  try {
    return ethernetHeaderOf(data).ethType === ETH_TYPE.LLDP;
  } catch {
    return false;
  }
}
