// path-flipper: the seed paper's test app. For one pair of hosts on a diamond (s1-s2-s4 and s1-s3-s4) it
// installs the pair's rules on one path and every `periodMs` moves the traffic to the other path by
// modifying the rules on the two switches the hosts are attached to.
//
// Everything comes from topology discovery, nothing is hard-coded:
// - the pair: option `hosts` (two MACs or IPv4 addresses, "02:..:01,02:..:02" or "10.0.0.1,10.0.0.2"),
//   resolved through the hosts that discovery learnt; without the option, the first two hosts seen;
// - the paths: the shortest path between the hosts' switches, and the shortest one that avoids its
//   intermediate switches (node-disjoint). With no second path the app routes the pair without flipping.
//
// Rules (cookie PATH_FLIPPER_COOKIE, priority `priority`), per direction, matching (eth_src, eth_dst):
// - every intermediate switch of BOTH paths: forward and reverse rules, installed once (before anything
//   else, confirmed by barriers), so in-flight packets of either path are always delivered;
// - the edge switches: delivery to the local host (static) and the rule that sends the pair's traffic into
//   the current path. A flip is one MODIFY_STRICT on each edge switch (source side first): it is loss-free
//   because both middles are always ready.
//
// Traffic that is not the pair's (and the pair's until its rules are in): ARP and other broadcasts are
// delivered by the controller to the edge ports of every switch (never flooded over links: no loops);
// unicast to a known host is delivered by a packet-out on that host's port.
//
// Options: hosts, periodMs (default 1000), priority (default 100), intervalMs / timeoutMs for discovery.
// Each flip logs one line ("path flipped", with the count and the middle switch now used); `flips` counts.

import {
  type App,
  addFlow,
  COOKIE_ALL_BITS,
  type ControllerApi,
  type Datapath,
  deleteFlows,
  dpidText,
  type Host,
  type Link,
  type Logger,
  listOption,
  macToString,
  modifyFlows,
  numberOption,
  outputTo,
  type PacketInEvent,
  type PathHop,
  packetInEthernet,
  sendPacketOut,
  startTopologyDiscovery,
  type Topology,
  tableMissToController,
} from '../api/index.ts';

/** Cookie of every rule this app installs ("PF" in the top bytes). */
export const PATH_FLIPPER_COOKIE = 0x5046_0000_0000_0000n;

export interface PathFlipperOptions {
  hosts: string[];
  periodMs: number;
  priority: number;
  intervalMs: number;
  timeoutMs: number;
}

interface Plan {
  a: Host;
  b: Host;
  /** One or two host-to-host paths (route() hops: first inPort = a's port, last outPort = b's port). */
  paths: PathHop[][];
  current: number;
  ready: boolean;
  generation: number;
}

export interface FlipEvent {
  flips: number;
  path: number;
  /** The switches of the path now in use. */
  via: bigint[];
}

export class PathFlipper implements App {
  readonly name = 'path-flipper';
  topology: Topology | undefined;
  options: PathFlipperOptions = {
    hosts: [],
    periodMs: 1000,
    priority: 100,
    intervalMs: 1000,
    timeoutMs: 3500,
  };
  /** Number of flips done since start. */
  flips = 0;
  private plan: Plan | undefined;
  private generation = 0;
  private api!: ControllerApi;
  private log!: Logger;
  private timer: NodeJS.Timeout | undefined;
  private unsubscribe: (() => void)[] = [];
  private readonly flipListeners: ((ev: FlipEvent) => void)[] = [];

  start(api: ControllerApi, options: Record<string, unknown>): void {
    this.api = api;
    this.log = api.logger(this.name);
    const intervalMs = numberOption(options, 'intervalMs', 1000);
    this.options = {
      hosts: listOption(options, 'hosts'),
      periodMs: numberOption(options, 'periodMs', 1000),
      priority: numberOption(options, 'priority', 100),
      intervalMs,
      timeoutMs: numberOption(options, 'timeoutMs', 3 * intervalMs + 500),
    };
    if (this.options.hosts.length !== 0 && this.options.hosts.length !== 2) {
      throw new TypeError(
        `path-flipper: option hosts needs two MACs or IPs, got ${this.options.hosts.join(',')}`,
      );
    }
    this.flips = 0;
    this.plan = undefined;
    this.log.info(this.options, 'path-flipper started');
    const topo = startTopologyDiscovery(api, { intervalMs, timeoutMs: this.options.timeoutMs });
    this.topology = topo;
    this.unsubscribe = [
      api.on('switchUp', ({ dp }) => this.onSwitchUp(dp)),
      api.on('switchDown', ({ dp }) => {
        if (this.plan && this.planSwitches(this.plan).has(dp.id)) this.replan('switch down');
      }),
      api.on('packetIn', (ev) => this.onPacketIn(ev)),
      topo.on('linkDown', ({ link }) => {
        if (this.plan && this.planUsesLink(this.plan, link)) this.replan('link down');
      }),
      topo.on('linkUp', () => {
        if (!this.plan || this.plan.paths.length < 2) this.replan('link up');
      }),
      topo.on('hostSeen', () => {
        if (!this.plan) this.tryPlan();
      }),
      topo.on('hostMoved', ({ host }) => {
        if (this.plan && (host.mac === this.plan.a.mac || host.mac === this.plan.b.mac))
          this.replan('host moved');
      }),
      () => topo.stop(),
    ];
    this.timer = setInterval(() => this.flip(), this.options.periodMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    this.generation++;
    for (const u of this.unsubscribe.splice(0)) u();
    this.topology = undefined;
    this.plan = undefined;
  }

  /** Called after every flip (tests, measurements). */
  onFlip(listener: (ev: FlipEvent) => void): () => void {
    this.flipListeners.push(listener);
    return () => {
      const i = this.flipListeners.indexOf(listener);
      if (i >= 0) this.flipListeners.splice(i, 1);
    };
  }

  /** The pair, the paths (as dpid lists) and which one carries the traffic; undefined before planning. */
  state(): { a: string; b: string; paths: bigint[][]; current: number; ready: boolean } | undefined {
    const p = this.plan;
    if (!p) return undefined;
    return {
      a: p.a.mac,
      b: p.b.mac,
      paths: p.paths.map((h) => h.map((x) => x.dpid)),
      current: p.current,
      ready: p.ready,
    };
  }

  // ------------------------------------------------------------ events

  private onSwitchUp(dp: Datapath): void {
    deleteFlows(dp, { cookie: PATH_FLIPPER_COOKIE, cookieMask: COOKIE_ALL_BITS });
    tableMissToController(dp);
    if (this.plan && this.planSwitches(this.plan).has(dp.id)) this.replan('switch up');
  }

  private onPacketIn(ev: PacketInEvent): void {
    const topo = this.topology;
    if (!topo) return;
    const eth = packetInEthernet(ev);
    if (!eth) return;
    if (!this.plan) this.tryPlan();
    const group = (ev.msg.data[0]! & 1) === 1;
    const dst = group ? undefined : topo.host(eth.dst);
    if (dst) {
      // Deliver it ourselves (the pair's rules may still be on their way).
      const sw = this.api.datapath(dst.dpid);
      if (sw && !(sw.id === ev.dp.id && dst.port === ev.inPort)) {
        sendPacketOut(sw, { actions: [outputTo(dst.port)], data: ev.msg.data });
      }
      return;
    }
    this.broadcast(ev);
  }

  /** ARP and other broadcasts: to every edge port of every switch, except where it came from. */
  private broadcast(ev: PacketInEvent): void {
    this.topology!.broadcastToEdges(ev);
  }

  // ------------------------------------------------------------ planning

  /** The two hosts, from the option or the first two seen. */
  private pair(): [Host, Host] | undefined {
    const topo = this.topology!;
    if (this.options.hosts.length === 2) {
      const found = this.options.hosts.map((h) =>
        h.includes(':') ? topo.host(macToString(h)) : topo.hostByIp(h),
      );
      if (!found[0] || !found[1] || found[0] === found[1]) return undefined;
      return [found[0], found[1]];
    }
    const hosts = topo.hosts().sort((x, y) => x.firstSeen - y.firstSeen);
    if (hosts.length < 2) return undefined;
    return [hosts[0]!, hosts[1]!];
  }

  private computePaths(a: Host, b: Host): PathHop[][] | undefined {
    const topo = this.topology!;
    const first = topo.route(a.mac, b.mac);
    if (!first) return undefined;
    if (first.length === 1) return [first];
    // Node-disjoint (apart from the two edge switches) and link-disjoint from the first path.
    const middle = new Set(first.slice(1, -1).map((h) => h.dpid));
    const used = first.slice(0, -1).map((h) => topo.linkAt(h.dpid, h.outPort!)!);
    const second = topo.route(a.mac, b.mac, { avoid: middle, avoidLinks: used });
    return second ? [first, second] : [first];
  }

  private tryPlan(): void {
    if (this.plan || !this.topology) return;
    const pair = this.pair();
    if (!pair) return;
    const [a, b] = pair;
    const paths = this.computePaths(a, b);
    if (!paths) return;
    const plan: Plan = { a, b, paths, current: 0, ready: false, generation: ++this.generation };
    this.plan = plan;
    this.log.info(
      {
        a: a.mac,
        b: b.mac,
        paths: paths.map((p) => p.map((h) => dpidText(h.dpid)).join(' > ')),
        flipping: paths.length === 2,
      },
      'path-flipper plan',
    );
    void this.install(plan).catch((err: unknown) => {
      this.log.warn({ err: (err as Error).message }, 'installing the plan failed; will retry');
      if (this.plan === plan) this.replan('install failed');
    });
  }

  /** Drops the current plan (and its rules) and plans again. */
  private replan(reason: string): void {
    const old = this.plan;
    this.plan = undefined;
    this.generation++;
    if (old) {
      this.log.info({ reason }, 'path-flipper re-planning');
      for (const dpid of this.planSwitches(old)) {
        const sw = this.api.datapath(dpid);
        if (sw) deleteFlows(sw, { cookie: PATH_FLIPPER_COOKIE, cookieMask: COOKIE_ALL_BITS, tableId: 0 });
      }
    }
    this.tryPlan();
  }

  private planSwitches(plan: Plan): Set<bigint> {
    const out = new Set<bigint>();
    for (const p of plan.paths) for (const h of p) out.add(h.dpid);
    return out;
  }

  private planUsesLink(plan: Plan, link: Link): boolean {
    for (const p of plan.paths) {
      for (const h of p) {
        for (const end of [link.a, link.b]) {
          if (end.dpid === h.dpid && (end.port === h.inPort || end.port === h.outPort)) return true;
        }
      }
    }
    return false;
  }

  private rule(dpid: bigint, src: string, dst: string, port: number): void {
    const sw = this.api.datapath(dpid);
    if (!sw) throw new Error(`switch ${dpidText(dpid)} is not connected`);
    addFlow(sw, {
      priority: this.options.priority,
      cookie: PATH_FLIPPER_COOKIE,
      match: {
        fields: [
          { field: 'eth_dst', value: dst },
          { field: 'eth_src', value: src },
        ],
      },
      actions: [outputTo(port)],
    });
  }

  private async barriers(dpids: Iterable<bigint>): Promise<void> {
    const waits: Promise<void>[] = [];
    for (const d of new Set(dpids)) {
      const sw = this.api.datapath(d);
      if (sw) waits.push(sw.barrier());
    }
    await Promise.all(waits);
  }

  /** Middles first (both paths), confirmed; then the edges. */
  private async install(plan: Plan): Promise<void> {
    const { a, b, paths } = plan;
    const middles: bigint[] = [];
    for (const p of paths) {
      for (const h of p.slice(1, -1)) {
        this.rule(h.dpid, a.mac, b.mac, h.outPort!);
        this.rule(h.dpid, b.mac, a.mac, h.inPort!);
        middles.push(h.dpid);
      }
    }
    await this.barriers(middles);
    if (this.plan !== plan || plan.generation !== this.generation) return;
    const path = paths[plan.current]!;
    const first = path[0]!;
    const last = path[path.length - 1]!;
    if (first.dpid === last.dpid) {
      this.rule(first.dpid, a.mac, b.mac, last.outPort!);
      this.rule(first.dpid, b.mac, a.mac, first.inPort!);
    } else {
      // Deliveries to the local hosts, then the rules into the current path.
      this.rule(first.dpid, b.mac, a.mac, first.inPort!);
      this.rule(last.dpid, a.mac, b.mac, last.outPort!);
      this.rule(first.dpid, a.mac, b.mac, first.outPort!);
      this.rule(last.dpid, b.mac, a.mac, last.inPort!);
    }
    await this.barriers([first.dpid, last.dpid]);
    if (this.plan !== plan || plan.generation !== this.generation) return;
    plan.ready = true;
    this.log.info(
      { a: a.mac, b: b.mac, path: path.map((h) => dpidText(h.dpid)).join(' > ') },
      'pair rules in place',
    );
  }

  // ------------------------------------------------------------ flipping

  /** Moves the pair's traffic to the other path (one MODIFY_STRICT per edge switch). */
  flip(): boolean {
    const plan = this.plan;
    if (!plan?.ready || plan.paths.length < 2) return false;
    const next = 1 - plan.current;
    const path = plan.paths[next]!;
    const first = path[0]!;
    const last = path[path.length - 1]!;
    const s = this.api.datapath(first.dpid);
    const d = this.api.datapath(last.dpid);
    if (!s || !d) return false;
    const modify = (sw: Datapath, src: string, dst: string, port: number) =>
      modifyFlows(sw, {
        strict: true,
        priority: this.options.priority,
        cookie: PATH_FLIPPER_COOKIE,
        cookieMask: COOKIE_ALL_BITS,
        match: {
          fields: [
            { field: 'eth_dst', value: dst },
            { field: 'eth_src', value: src },
          ],
        },
        actions: [outputTo(port)],
      });
    modify(s, plan.a.mac, plan.b.mac, first.outPort!);
    modify(d, plan.b.mac, plan.a.mac, last.inPort!);
    plan.current = next;
    this.flips++;
    const via = path.map((h) => h.dpid);
    this.log.info(
      { flips: this.flips, path: next, via: via.map((x) => dpidText(x)).join(' > ') },
      'path flipped',
    );
    for (const l of [...this.flipListeners]) l({ flips: this.flips, path: next, via });
    return true;
  }
}

export function createApp(): PathFlipper {
  return new PathFlipper();
}

const app: App = createApp();
export default app;
