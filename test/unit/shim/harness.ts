// Test harness: a virtual topology -> a migration plan (through parsePlan), the matching fake physical
// network (old copies, new copies with renumbered ports, tunnel switch, hosts on old), a small app's rules
// installed through the shim, and a driver that applies every transition message by message while
// checking that packets between all hosts are delivered exactly once, never loop and never arrive tagged.

import assert from 'node:assert/strict';
import { stringify } from 'yaml';
import type { AppCommand } from '../../../src/api/types.ts';
import {
  FlowModCommand,
  FlowModFlags,
  GroupModCommand,
  GroupType,
  NO_BUFFER,
  Port,
} from '../../../src/openflow/constants.ts';
import type { Action, FlowMod, Instruction, Match, Outgoing, PacketIn } from '../../../src/openflow/types.ts';
import { Ledger } from '../../../src/shim/ledger.ts';
import { fieldKey, getField, matchKey } from '../../../src/shim/match.ts';
import type { Algorithm, MigrationState, PhysicalMessage, Step } from '../../../src/shim/model.ts';
import { type MigrationPlan, parsePlan, physicalPort, planIndex } from '../../../src/shim/plan.ts';
import { initialState, policyFor, type Transition, type TransitionKind } from '../../../src/shim/policy.ts';
import { diffStates, targetState } from '../../../src/shim/target.ts';
import {
  type AppNotice,
  type ShimContext,
  translateAppCommand,
  translateFlowRemoved,
  translatePacketIn,
} from '../../../src/shim/translate.ts';
import { FakeNetwork, type Trace } from './fake-network.ts';

export interface Topo {
  switches: string[];
  links: [string, string][];
  /** host -> switch */
  hosts: Record<string, string>;
}

/** The seed paper's diamond: s1-s2-s4, s1-s3-s4, h1 on s1, h2 on s4. */
export const DIAMOND: Topo = {
  switches: ['s1', 's2', 's3', 's4'],
  links: [
    ['s1', 's2'],
    ['s1', 's3'],
    ['s2', 's4'],
    ['s3', 's4'],
  ],
  hosts: { h1: 's1', h2: 's4' },
};

export const BROADCAST = 'ff:ff:ff:ff:ff:ff';
export const UNKNOWN_MAC = '02:ff:00:00:00:99';
export const TUNNEL_PORT = 100;
export const NEW_PORT_OFFSET = 10;

export function hostMac(topo: Topo, host: string): string {
  const i = Object.keys(topo.hosts).sort().indexOf(host) + 1;
  return `02:00:00:00:00:${i.toString(16).padStart(2, '0')}`;
}

interface VPorts {
  /** host -> virtual port on its switch */
  hostPort: Map<string, number>;
  /** switch -> (neighbour switch -> virtual port) */
  linkPort: Map<string, Map<string, number>>;
  /** switch -> ports */
  ports: Map<string, { port: number; kind: 'host' | 'link'; peer?: { switch: string; port: number } }[]>;
}

export function virtualPorts(topo: Topo): VPorts {
  const hostPort = new Map<string, number>();
  const linkPort = new Map<string, Map<string, number>>();
  const ports = new Map<
    string,
    { port: number; kind: 'host' | 'link'; peer?: { switch: string; port: number } }[]
  >();
  const next = new Map<string, number>(topo.switches.map((s) => [s, 1]));
  const take = (s: string) => {
    const n = next.get(s)!;
    next.set(s, n + 1);
    return n;
  };
  for (const s of topo.switches) {
    ports.set(s, []);
    linkPort.set(s, new Map());
  }
  for (const h of Object.keys(topo.hosts).sort()) {
    const s = topo.hosts[h]!;
    const p = take(s);
    hostPort.set(h, p);
    ports.get(s)!.push({ port: p, kind: 'host' });
  }
  for (const [a, b] of topo.links) {
    const pa = take(a);
    const pb = take(b);
    linkPort.get(a)!.set(b, pa);
    linkPort.get(b)!.set(a, pb);
    ports.get(a)!.push({ port: pa, kind: 'link', peer: { switch: b, port: pb } });
    ports.get(b)!.push({ port: pb, kind: 'link', peer: { switch: a, port: pa } });
  }
  return { hostPort, linkPort, ports };
}

export function oldDpid(i: number): bigint {
  return 0x100n + BigInt(i + 1);
}
export function newDpid(i: number): bigint {
  return 0x200n + BigInt(i + 1);
}
export const T_DPID = 0x300n;

/** The plan file text for a topology (old ports = virtual ports, new ports = virtual + 10). */
export function planText(
  topo: Topo,
  algorithm: Algorithm,
  mover: Record<string, unknown> = { kind: 'testbed' },
): string {
  const vp = virtualPorts(topo);
  const doc = {
    version: 1,
    algorithm,
    blackoutMs: 0,
    mover,
    tunnel: { encoding: 'vlan' },
    tunnelSwitch: {
      dpid: T_DPID.toString(16),
      ports: Object.fromEntries(topo.switches.map((s, i) => [s, { old: i + 1, new: 51 + i }])),
    },
    switches: topo.switches.map((s, i) => ({
      name: s,
      dpid: i + 1,
      ports: vp.ports.get(s),
      old: { dpid: `0x${oldDpid(i).toString(16)}`, tunnelPort: TUNNEL_PORT },
      new: {
        dpid: `0x${newDpid(i).toString(16)}`,
        tunnelPort: TUNNEL_PORT,
        ports: Object.fromEntries(vp.ports.get(s)!.map((p) => [String(p.port), p.port + NEW_PORT_OFFSET])),
      },
    })),
    hosts: Object.keys(topo.hosts)
      .sort()
      .map((h) => ({ name: h, mac: hostMac(topo, h), switch: topo.hosts[h], port: vp.hostPort.get(h) })),
  };
  return stringify(doc);
}

/** The physical network of a plan: old and new copies wired alike, the tunnel switch, hosts on old. */
export function buildNetwork(plan: MigrationPlan): FakeNetwork {
  const net = new FakeNetwork();
  const ix = planIndex(plan);
  const t = net.addSwitch(plan.tunnelSwitch.dpid);
  const DOWN = 0x1 | 0x4 | 0x20;
  for (const vs of plan.switches) {
    for (const side of ['old', 'new'] as const) {
      const sw = net.addSwitch(vs[side].dpid);
      sw.portConfig.set(vs[side].tunnelPort, DOWN);
      const tp = plan.tunnelSwitch.ports.get(vs.name)![side];
      t.portConfig.set(tp, DOWN);
      net.link(vs[side].dpid, vs[side].tunnelPort, plan.tunnelSwitch.dpid, tp);
    }
  }
  for (const vs of plan.switches) {
    for (const p of vs.ports) {
      if (p.kind !== 'link' || !p.peer) continue;
      const peer = ix.byName.get(p.peer.switch)!;
      for (const side of ['old', 'new'] as const) {
        net.link(
          vs[side].dpid,
          physicalPort(vs, side, p.port),
          peer[side].dpid,
          physicalPort(peer, side, p.peer.port),
        );
      }
    }
  }
  for (const h of plan.hosts) {
    net.addHost(h.name, h.mac);
    const vs = ix.byName.get(h.switch)!;
    net.attach(h.name, vs.old.dpid, physicalPort(vs, 'old', h.port));
  }
  return net;
}

// ---------------------------------------------------------------- a small app

export type AppFlavour = 'l2' | 'flood' | 'pipeline';

function bfsParents(topo: Topo, root: string): Map<string, string> {
  const adj = new Map<string, string[]>(topo.switches.map((s) => [s, []]));
  for (const [a, b] of topo.links) {
    adj.get(a)!.push(b);
    adj.get(b)!.push(a);
  }
  for (const l of adj.values()) l.sort();
  const parent = new Map<string, string>();
  const seen = new Set([root]);
  const queue = [root];
  while (queue.length > 0) {
    const s = queue.shift()!;
    for (const n of adj.get(s)!) {
      if (seen.has(n)) continue;
      seen.add(n);
      parent.set(n, s);
      queue.push(n);
    }
  }
  return parent;
}

function flowMod(
  tableId: number,
  priority: number,
  match: Match,
  instructions: Instruction[],
  extra: Partial<FlowMod> = {},
) {
  const m: Outgoing<FlowMod> = {
    type: 'flowMod',
    cookie: BigInt(0xa000 + priority),
    cookieMask: 0n,
    tableId,
    command: FlowModCommand.ADD,
    idleTimeout: 0,
    hardTimeout: 0,
    priority,
    bufferId: NO_BUFFER,
    outPort: Port.ANY,
    outGroup: 0xffffffff,
    flags: 0,
    match,
    instructions,
    ...extra,
  };
  return m;
}

const out = (port: number): Action => ({ type: 'output', port, maxLen: 0xffff });
const apply = (actions: Action[]): Instruction[] =>
  actions.length > 0 ? [{ type: 'applyActions', actions }] : [];

/** The rules (and groups) a routing app would have installed: per-host unicast, broadcast on a spanning tree. */
export function appCommands(topo: Topo, flavour: AppFlavour): { sw: string; cmd: AppCommand }[] {
  const vp = virtualPorts(topo);
  const cmds: { sw: string; cmd: AppCommand }[] = [];
  const tree = bfsParents(topo, topo.switches[0]!);
  const treePorts = (s: string) =>
    vp.ports.get(s)!.filter((p) => {
      if (p.kind === 'host') return true;
      const peer = p.peer!.switch;
      return tree.get(s) === peer || tree.get(peer) === s;
    });
  const unicastPort = (s: string, h: string) => {
    const dest = topo.hosts[h]!;
    if (dest === s) return vp.hostPort.get(h)!;
    return vp.linkPort.get(s)!.get(bfsParents(topo, dest).get(s)!)!;
  };
  for (const s of topo.switches) {
    const hostsBySwitch = Object.keys(topo.hosts).sort();
    if (flavour === 'pipeline') {
      for (const p of vp.ports.get(s)!) {
        cmds.push({
          sw: s,
          cmd: {
            type: 'groupMod',
            command: GroupModCommand.ADD,
            groupType: GroupType.INDIRECT,
            groupId: p.port,
            buckets: [{ weight: 0, watchPort: Port.ANY, watchGroup: 0xffffffff, actions: [out(p.port)] }],
          },
        });
      }
      // Table 0 tags every packet with app metadata; the high bits it tries to write are the shim's.
      cmds.push({
        sw: s,
        cmd: flowMod(0, 1, { fields: [] }, [
          { type: 'writeMetadata', metadata: 0xffff_0000_0000_0042n, metadataMask: (1n << 64n) - 1n },
          { type: 'gotoTable', tableId: 1 },
        ]),
      });
      for (const h of hostsBySwitch) {
        cmds.push({
          sw: s,
          cmd: flowMod(
            1,
            10,
            {
              fields: [
                { field: 'metadata', value: 0x42n, mask: 0xffn },
                { field: 'eth_dst', value: hostMac(topo, h) },
              ],
            },
            apply([{ type: 'group', groupId: unicastPort(s, h) }]),
          ),
        });
      }
      for (const u of vp.ports.get(s)!) {
        const isTree = treePorts(s).includes(u);
        const outs = isTree ? treePorts(s).filter((p) => p.port !== u.port) : [];
        const gid = 100 + u.port;
        cmds.push({
          sw: s,
          cmd: {
            type: 'groupMod',
            command: GroupModCommand.ADD,
            groupType: GroupType.ALL,
            groupId: gid,
            buckets: outs.map((p) => ({
              weight: 0,
              watchPort: Port.ANY,
              watchGroup: 0xffffffff,
              actions: [out(p.port)],
            })),
          },
        });
        cmds.push({
          sw: s,
          cmd: flowMod(
            1,
            20,
            {
              fields: [
                { field: 'in_port', value: u.port },
                { field: 'eth_dst', value: BROADCAST },
              ],
            },
            apply([{ type: 'group', groupId: gid }]),
          ),
        });
      }
      cmds.push({ sw: s, cmd: flowMod(1, 0, { fields: [] }, apply([out(Port.CONTROLLER)])) });
      continue;
    }
    for (const h of hostsBySwitch) {
      cmds.push({
        sw: s,
        cmd: flowMod(
          0,
          10,
          { fields: [{ field: 'eth_dst', value: hostMac(topo, h) }] },
          apply([out(unicastPort(s, h))]),
        ),
      });
    }
    if (flavour === 'flood') {
      cmds.push({
        sw: s,
        cmd: flowMod(0, 20, { fields: [{ field: 'eth_dst', value: BROADCAST }] }, apply([out(Port.FLOOD)])),
      });
    } else {
      for (const u of vp.ports.get(s)!) {
        const outs = treePorts(s).includes(u) ? treePorts(s).filter((p) => p.port !== u.port) : [];
        cmds.push({
          sw: s,
          cmd: flowMod(
            0,
            20,
            {
              fields: [
                { field: 'in_port', value: u.port },
                { field: 'eth_dst', value: BROADCAST },
              ],
            },
            apply(outs.map((p) => out(p.port))),
          ),
        });
      }
    }
    cmds.push({
      sw: s,
      cmd: flowMod(0, 0, { fields: [] }, apply([out(Port.CONTROLLER)]), {
        flags: FlowModFlags.SEND_FLOW_REM,
      }),
    });
  }
  return cmds;
}

/** Is the topology a tree (FLOOD is safe on it)? */
export function isTree(topo: Topo): boolean {
  return topo.links.length === topo.switches.length - 1;
}

// ---------------------------------------------------------------- the driver

export interface CheckOptions {
  /** Also check an unknown destination (one packet-in, reverse-mapped). */
  unknown?: boolean;
}

export class Harness {
  readonly plan: MigrationPlan;
  readonly ledger = new Ledger();
  state: MigrationState;
  readonly net: FakeNetwork;
  now = 0;
  readonly notices: AppNotice[] = [];
  /** Checks run so far (for reporting). */
  checks = 0;
  /** Delivery checks on (off while the app's rules are incomplete). */
  checking = true;
  /** Message order within a step (tests may shuffle). */
  order: (n: number) => number[] = (n) => [...Array(n).keys()];

  constructor(
    readonly topo: Topo,
    algorithm: Algorithm,
    readonly flavour: AppFlavour = 'l2',
  ) {
    this.plan = parsePlan(planText(topo, algorithm), 'test-plan.yaml');
    this.state = initialState(this.plan);
    this.net = buildNetwork(this.plan);
    // Switches connect: the shim puts each to its target (the idle pipeline on old, nothing elsewhere).
    for (const step of diffStates(new Map(), targetState(this.plan, this.ledger, this.state, this.now))) {
      this.net.applyStep(step);
    }
  }

  ctx(): ShimContext {
    return { plan: this.plan, state: this.state, ledger: this.ledger, now: this.now };
  }

  vdpid(sw: string): bigint {
    return planIndex(this.plan).byName.get(sw)!.dpid;
  }

  /** An app command through the shim, applied to the fake network. */
  command(sw: string, cmd: AppCommand): PhysicalMessage[] {
    const outp = translateAppCommand(this.ctx(), this.vdpid(sw), cmd);
    for (const m of outp.physical) {
      if (m.msg.type === 'packetOut') this.net.packetOut(m.dpid, m.msg);
      else this.net.apply(m.dpid, m.msg);
    }
    this.notices.push(...outp.app);
    this.drainFlowRemoved();
    return outp.physical;
  }

  installApp(filter: (i: number) => boolean = () => true): void {
    appCommands(this.topo, this.flavour).forEach((c, i) => {
      if (filter(i)) this.command(c.sw, c.cmd);
    });
  }

  /** Feed the switches' flow-removed messages back to the shim (as the runtime would). */
  drainFlowRemoved(): void {
    for (let busy = true; busy; ) {
      busy = false;
      for (const sw of this.net.switches.values()) {
        while (sw.flowRemoved.length > 0) {
          busy = true;
          const msg = sw.flowRemoved.shift()!;
          const outp = translateFlowRemoved(this.ctx(), sw.dpid, msg);
          for (const m of outp.physical) this.net.apply(m.dpid, m.msg);
          this.notices.push(...outp.app);
        }
      }
    }
  }

  transition(kind: TransitionKind, host?: string): Transition {
    const policy = policyFor(this.state.algorithm);
    const ctx = { plan: this.plan, ledger: this.ledger, state: this.state, now: this.now };
    switch (kind) {
      case 'prepare':
        return policy.prepare(ctx);
      case 'startMove':
        return policy.startMove(ctx, host!);
      case 'hostArrived':
        return policy.hostArrived(ctx, host!);
      case 'cancelMove':
        return policy.cancelMove(ctx, host!);
      case 'finalize':
        return policy.finalize(ctx);
      case 'abort':
        return policy.abort(ctx);
    }
  }

  /** Run a transition: every message applied, the delivery invariant checked after each one. */
  run(kind: TransitionKind, host?: string, opts: CheckOptions = {}): Transition {
    const t = this.transition(kind, host);
    for (const step of t.steps) {
      this.applyStep(step, `${kind}${host ? ` ${host}` : ''}: ${step.label}`, opts);
    }
    this.state = t.to;
    this.drainFlowRemoved();
    this.checkAll(`after ${kind}${host ? ` ${host}` : ''}`, opts);
    this.checkTarget(`after ${kind}`);
    return t;
  }

  private applyStep(step: Step, label: string, opts: CheckOptions): void {
    let i = 0;
    this.net.applyStep(step, this.order, () => {
      i++;
      this.checkAll(`${label} (message ${i}/${step.messages.length})`, opts);
    });
  }

  /** A whole host move: make-before-break, the host moved physically inside the 'both' window. */
  move(host: string, opts: CheckOptions = {}): void {
    const h = planIndex(this.plan).host.get(host)!;
    const vs = planIndex(this.plan).byName.get(h.switch)!;
    const to = this.state.hosts[host] === 'old' ? 'new' : 'old';
    this.run('startMove', host, opts);
    this.checkAll(`${host} moving, still at ${to === 'new' ? 'old' : 'new'}`, opts);
    this.net.detach(host);
    this.checkAll(`${host} in transit (blackout)`, { ...opts, allowMissing: host });
    this.net.attach(host, vs[to].dpid, physicalPort(vs, to, h.port));
    this.checkAll(`${host} moving, arrived at ${to}`, opts);
    this.run('hostArrived', host, opts);
  }

  /** Every ordered pair of hosts, broadcast from every host, and optionally an unknown destination. */
  checkAll(label: string, opts: CheckOptions & { allowMissing?: string } = {}): void {
    if (!this.checking) return;
    const hosts = [...this.net.hosts.keys()].sort();
    for (const src of hosts) {
      if (!this.net.hosts.get(src)!.at) continue;
      for (const dst of hosts) {
        if (dst === src) continue;
        const trace = this.net.send(src, this.net.hosts.get(dst)!.mac);
        this.expectDeliveries(trace, dst === opts.allowMissing ? [] : [dst], `${label}: ${src} -> ${dst}`);
      }
      const others = hosts.filter((h) => h !== src && h !== opts.allowMissing && this.net.hosts.get(h)!.at);
      this.expectDeliveries(this.net.send(src, BROADCAST), others, `${label}: ${src} -> broadcast`);
      if (opts.unknown) this.expectUnknown(src, label);
    }
  }

  private expectDeliveries(trace: Trace, expected: string[], label: string): void {
    this.checks++;
    assert.equal(trace.loops, 0, `${label}: loop`);
    assert.deepEqual(trace.packetIns, [], `${label}: unexpected packet-in`);
    for (const d of trace.deliveries)
      assert.deepEqual(d.packet.vlans, [], `${label}: ${d.host} got a tagged frame`);
    const got = trace.deliveries.map((d) => d.host).sort();
    assert.deepEqual(got, [...expected].sort(), `${label}: delivered to ${JSON.stringify(got)}`);
  }

  private expectUnknown(src: string, label: string): void {
    const trace = this.net.send(src, UNKNOWN_MAC);
    assert.equal(trace.deliveries.length, 0, `${label}: unknown destination delivered`);
    assert.equal(
      trace.packetIns.length,
      1,
      `${label}: ${src} -> unknown: ${trace.packetIns.length} packet-ins`,
    );
    const pi = trace.packetIns[0]!;
    const msg: PacketIn = {
      type: 'packetIn',
      xid: 0,
      bufferId: NO_BUFFER,
      totalLen: 100,
      reason: 1,
      tableId: pi.tableId,
      cookie: pi.cookie,
      match: {
        fields: [
          { field: 'in_port', value: pi.inPort },
          ...(pi.metadata !== 0n ? [{ field: 'metadata' as const, value: pi.metadata }] : []),
        ],
      },
      data: new Uint8Array(0),
    };
    const r = translatePacketIn(this.ctx(), pi.dpid, msg);
    assert.equal(r.kind, 'packetIn', `${label}: packet-in not for the app`);
    if (r.kind !== 'packetIn') return;
    const h = planIndex(this.plan).host.get(src)!;
    assert.equal(r.vdpid, this.vdpid(h.switch), `${label}: packet-in on the wrong virtual switch`);
    assert.equal(r.inPort, h.port, `${label}: packet-in in_port`);
    assert.equal(r.msg.tableId, this.flavour === 'pipeline' ? 1 : 0, `${label}: packet-in table`);
    assert.equal(r.msg.reason, 0, `${label}: a table-miss rule's packet-in is NO_MATCH`);
  }

  /** The fake switches hold exactly what targetState says (rules by key and instructions, group ids). */
  checkTarget(label: string): void {
    const target = targetState(this.plan, this.ledger, this.state, this.now);
    for (const [dpid, want] of target) {
      const sw = this.net.sw(dpid);
      const have = new Map(sw.rules.map((r) => [`${r.tableId}/${r.priority}/${matchKeyOf(r.match)}`, r]));
      assert.deepEqual(
        [...have.keys()].sort(),
        [...want.rules.keys()].sort(),
        `${label}: rules of ${dpid.toString(16)}`,
      );
      for (const [k, r] of want.rules)
        assert.deepEqual(have.get(k)!.instructions, r.instructions, `${label}: ${k}`);
      assert.deepEqual(
        [...sw.groups.keys()].sort(),
        [...want.groups.keys()].sort(),
        `${label}: groups of ${dpid.toString(16)}`,
      );
    }
    // Ledger copies = app copies on the switches.
    const ledgerCopies = [...this.net.switches.keys()]
      .flatMap((d) => this.ledger.copiesOn(d).map((c) => `${d}/${c.ruleId}/${c.variant}`))
      .sort();
    const switchCopies = [...this.net.switches.values()]
      .flatMap((s) =>
        s.rules
          .filter((r) => r.cookie >> 48n === 0x5e4en)
          .map((r) => `${s.dpid}/${Number(r.cookie & 0xffff_ffff_ffffn)}/${variantOf(r.match)}`),
      )
      .sort();
    assert.deepEqual(ledgerCopies, switchCopies, `${label}: ledger copies`);
  }
}

function matchKeyOf(m: Match): string {
  return matchKey(m);
}
function variantOf(m: Match): string {
  const f = getField(m, 'metadata');
  return f ? fieldKey(f) : '';
}
