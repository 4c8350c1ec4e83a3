// A fake multi-switch OpenFlow 1.3 datapath, for testing the shim's physical messages end to end in memory.
//
// Each FakeSwitch applies flow-mods (add/modify/delete, strict or not, cookie masks), group-mods and
// port-mods to its tables; FakeNetwork wires switches and hosts with links and forwards a packet
// (eth_src/eth_dst/eth_type, a VLAN stack, in_port) through them: table lookup by priority with masked
// matches incl. metadata, apply-actions, write-actions (action set), write-metadata, goto-table, ALL /
// INDIRECT / SELECT / FF groups, push/pop VLAN, set_field, output (dropped when it names the ingress port),
// IN_PORT, CONTROLLER (packet-in), TABLE (packet-out). Group buckets run as action sets, as in Open vSwitch
// (a bucket with two forwarding actions is an error). Protocol mistakes throw SimError: a rule naming a
// missing group, two rules matching at the same top priority, deleting a group still in use, popping a
// missing tag, a reserved port the shim should never emit (FLOOD/ALL/NORMAL).

import {
  FlowModCommand,
  FlowModFlags,
  GroupModCommand,
  GroupType,
  Port,
  VID_PRESENT,
} from '../../../src/openflow/constants.ts';
import type {
  Action,
  Bucket,
  FlowRemoved,
  FlowStats,
  GroupDesc,
  Instruction,
  Match,
  OxmField,
  PacketOut,
} from '../../../src/openflow/types.ts';
import { fieldAccepts, matchCovers, matchKey } from '../../../src/shim/match.ts';
import type { PhysicalCommand, Step } from '../../../src/shim/model.ts';
import { inActionSetOrder, inInstructionOrder } from '../../helpers/flow-table.ts';

export class SimError extends Error {
  override readonly name = 'SimError';
}

export interface SimPacket {
  ethSrc: string;
  ethDst: string;
  ethType: number;
  /** VLAN VIDs, outermost first. */
  vlans: number[];
  bytes: number;
}

export interface SimRule {
  tableId: number;
  priority: number;
  match: Match;
  instructions: Instruction[];
  cookie: bigint;
  flags: number;
  idleTimeout: number;
  hardTimeout: number;
  packets: bigint;
  bytes: bigint;
}

export interface SimGroup {
  groupType: number;
  buckets: Bucket[];
  packets: bigint;
}

export interface Delivery {
  host: string;
  packet: SimPacket;
  /** dpid:port hops the packet took. */
  path: string[];
}

export interface SimPacketIn {
  dpid: bigint;
  tableId: number;
  cookie: bigint;
  inPort: number;
  metadata: bigint;
  packet: SimPacket;
}

export interface Trace {
  deliveries: Delivery[];
  packetIns: SimPacketIn[];
  /** Copies that went round more than MAX_HOPS switches. */
  loops: number;
  drops: string[];
}

const MAX_HOPS = 40;
const MAC_RE = /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/;

function macBig(mac: string): bigint {
  if (!MAC_RE.test(mac)) throw new SimError(`bad mac ${mac}`);
  return BigInt(`0x${mac.replaceAll(':', '')}`);
}

function actionsOf(instructions: readonly Instruction[]): Action[] {
  return instructions.flatMap((i) =>
    i.type === 'applyActions' || i.type === 'writeActions' ? i.actions : [],
  );
}

function groupRefs(actions: readonly Action[]): number[] {
  return actions.flatMap((a) => (a.type === 'group' ? [a.groupId] : []));
}

export class FakeSwitch {
  rules: SimRule[] = [];
  readonly groups = new Map<number, SimGroup>();
  /** Port config bits (OFPPC_*) by port. */
  readonly portConfig = new Map<number, number>();
  /** Flow-removed messages the switch would send (rules with SEND_FLOW_REM), oldest first. */
  readonly flowRemoved: FlowRemoved[] = [];
  /** Every message applied, for counting. */
  applied = 0;

  constructor(readonly dpid: bigint) {}

  private removeRule(r: SimRule, reason: number): void {
    this.rules = this.rules.filter((x) => x !== r);
    if (r.flags & FlowModFlags.SEND_FLOW_REM) {
      this.flowRemoved.push({
        type: 'flowRemoved',
        xid: 0,
        cookie: r.cookie,
        priority: r.priority,
        reason,
        tableId: r.tableId,
        durationSec: 0,
        durationNsec: 0,
        idleTimeout: r.idleTimeout,
        hardTimeout: r.hardTimeout,
        packetCount: r.packets,
        byteCount: r.bytes,
        match: r.match,
      });
    }
  }

  apply(msg: PhysicalCommand): void {
    this.applied++;
    switch (msg.type) {
      case 'flowMod':
        this.flowMod(msg);
        return;
      case 'groupMod':
        this.groupMod(msg);
        return;
      case 'portMod': {
        const old = this.portConfig.get(msg.portNo) ?? 0;
        this.portConfig.set(msg.portNo, (old & ~msg.mask) | (msg.config & msg.mask));
        return;
      }
      default:
        throw new SimError(`FakeSwitch cannot apply ${msg.type}`);
    }
  }

  private flowMod(m: Extract<PhysicalCommand, { type: 'flowMod' }>): void {
    const key = matchKey(m.match);
    const cookieOk = (r: SimRule) => (r.cookie & m.cookieMask) === (m.cookie & m.cookieMask);
    const strictSame = (r: SimRule) =>
      r.tableId === m.tableId && r.priority === m.priority && matchKey(r.match) === key;
    const selects = (r: SimRule, strict: boolean) =>
      (m.tableId === 0xff || r.tableId === m.tableId) &&
      cookieOk(r) &&
      (strict ? strictSame(r) : matchCovers(m.match, r.match));
    switch (m.command) {
      case FlowModCommand.ADD: {
        for (const g of groupRefs(actionsOf(m.instructions)))
          if (!this.groups.has(g))
            throw new SimError(`${this.dpid}: flow refers to missing group ${g.toString(16)}`);
        for (const i of m.instructions)
          if (i.type === 'gotoTable' && i.tableId <= m.tableId)
            throw new SimError('goto_table must go forward');
        const old = this.rules.find(strictSame);
        if (old) this.rules = this.rules.filter((x) => x !== old);
        const keep = old && !(m.flags & FlowModFlags.RESET_COUNTS);
        this.rules.push({
          tableId: m.tableId,
          priority: m.priority,
          match: m.match,
          instructions: m.instructions,
          cookie: m.cookie,
          flags: m.flags,
          idleTimeout: m.idleTimeout,
          hardTimeout: m.hardTimeout,
          packets: keep ? old.packets : 0n,
          bytes: keep ? old.bytes : 0n,
        });
        return;
      }
      case FlowModCommand.MODIFY:
      case FlowModCommand.MODIFY_STRICT: {
        for (const g of groupRefs(actionsOf(m.instructions)))
          if (!this.groups.has(g))
            throw new SimError(`${this.dpid}: flow refers to missing group ${g.toString(16)}`);
        for (const r of this.rules.filter((r) => selects(r, m.command === FlowModCommand.MODIFY_STRICT))) {
          r.instructions = m.instructions;
        }
        return;
      }
      case FlowModCommand.DELETE:
      case FlowModCommand.DELETE_STRICT:
        for (const r of this.rules.filter((r) => selects(r, m.command === FlowModCommand.DELETE_STRICT))) {
          this.removeRule(r, 2);
        }
        return;
      default:
        throw new SimError(`bad flow-mod command ${m.command}`);
    }
  }

  private groupMod(m: Extract<PhysicalCommand, { type: 'groupMod' }>): void {
    const refsIn = (buckets: Bucket[]) => buckets.flatMap((b) => groupRefs(b.actions));
    switch (m.command) {
      case GroupModCommand.ADD:
      case GroupModCommand.MODIFY: {
        if (m.command === GroupModCommand.ADD && this.groups.has(m.groupId))
          throw new SimError(`${this.dpid}: group ${m.groupId.toString(16)} exists`);
        if (m.command === GroupModCommand.MODIFY && !this.groups.has(m.groupId))
          throw new SimError(`${this.dpid}: no group ${m.groupId.toString(16)} to modify`);
        for (const g of refsIn(m.buckets))
          if (!this.groups.has(g))
            throw new SimError(`${this.dpid}: group chains to missing group ${g.toString(16)}`);
        const packets = this.groups.get(m.groupId)?.packets ?? 0n;
        this.groups.set(m.groupId, { groupType: m.groupType, buckets: m.buckets, packets });
        return;
      }
      case GroupModCommand.DELETE: {
        const ids = m.groupId === 0xfffffffc ? [...this.groups.keys()] : [m.groupId];
        for (const id of ids) {
          if (this.rules.some((r) => groupRefs(actionsOf(r.instructions)).includes(id)))
            throw new SimError(`${this.dpid}: group ${id.toString(16)} deleted while rules use it`);
          for (const [other, g] of this.groups)
            if (other !== id && !ids.includes(other) && refsIn(g.buckets).includes(id))
              throw new SimError(
                `${this.dpid}: group ${id.toString(16)} deleted while group ${other.toString(16)} uses it`,
              );
          this.groups.delete(id);
        }
        return;
      }
      default:
        throw new SimError(`bad group-mod command ${m.command}`);
    }
  }

  /** Rules in a table whose match accepts the packet; throws when the top priority is ambiguous. */
  lookup(tableId: number, inPort: number, metadata: bigint, p: SimPacket): SimRule | undefined {
    const hits = this.rules.filter(
      (r) => r.tableId === tableId && r.match.fields.every((f) => accepts(f, inPort, metadata, p)),
    );
    if (hits.length === 0) return undefined;
    const top = Math.max(...hits.map((r) => r.priority));
    const best = hits.filter((r) => r.priority === top);
    if (best.length > 1)
      throw new SimError(`${this.dpid} table ${tableId}: ${best.length} rules match at priority ${top}`);
    return best[0];
  }

  /** Expire rules (as a timeout would), logging their flow-removed. */
  expire(pred: (r: SimRule) => boolean, reason: number): number {
    const hit = this.rules.filter(pred);
    for (const r of hit) this.removeRule(r, reason);
    return hit.length;
  }

  flowStats(): FlowStats[] {
    return this.rules.map((r) => ({
      tableId: r.tableId,
      durationSec: 0,
      durationNsec: 0,
      priority: r.priority,
      idleTimeout: r.idleTimeout,
      hardTimeout: r.hardTimeout,
      flags: r.flags,
      cookie: r.cookie,
      packetCount: r.packets,
      byteCount: r.bytes,
      match: r.match,
      instructions: r.instructions,
    }));
  }

  groupDescs(): GroupDesc[] {
    return [...this.groups].map(([groupId, g]) => ({ groupId, groupType: g.groupType, buckets: g.buckets }));
  }

  portUsable(port: number, bits: number): boolean {
    return ((this.portConfig.get(port) ?? 0) & bits) === 0;
  }
}

function accepts(f: OxmField, inPort: number, metadata: bigint, p: SimPacket): boolean {
  switch (f.field) {
    case 'in_port':
      return fieldAccepts(f, BigInt(inPort));
    case 'metadata':
      return fieldAccepts(f, metadata);
    case 'eth_src':
      return fieldAccepts(f, macBig(p.ethSrc));
    case 'eth_dst':
      return fieldAccepts(f, macBig(p.ethDst));
    case 'eth_type':
      return fieldAccepts(f, BigInt(p.ethType));
    case 'vlan_vid':
      return fieldAccepts(f, BigInt(p.vlans.length > 0 ? VID_PRESENT | p.vlans[0]! : 0));
    default:
      throw new SimError(`FakeSwitch cannot match on ${f.field}`);
  }
}

const PORT_DOWN = 1;
const NO_RECV = 4;
const NO_FWD = 0x20;

export class FakeNetwork {
  readonly switches = new Map<bigint, FakeSwitch>();
  private readonly links = new Map<string, { dpid: bigint; port: number }>();
  private readonly attached = new Map<string, string>();
  readonly hosts = new Map<string, { mac: string; at?: { dpid: bigint; port: number } }>();

  addSwitch(dpid: bigint): FakeSwitch {
    const sw = new FakeSwitch(dpid);
    this.switches.set(dpid, sw);
    return sw;
  }

  sw(dpid: bigint): FakeSwitch {
    const s = this.switches.get(dpid);
    if (!s) throw new SimError(`no switch ${dpid.toString(16)}`);
    return s;
  }

  link(a: bigint, pa: number, b: bigint, pb: number): void {
    this.links.set(`${a}:${pa}`, { dpid: b, port: pb });
    this.links.set(`${b}:${pb}`, { dpid: a, port: pa });
  }

  addHost(name: string, mac: string): void {
    this.hosts.set(name, { mac });
  }

  attach(host: string, dpid: bigint, port: number): void {
    this.detach(host);
    const h = this.hosts.get(host)!;
    h.at = { dpid, port };
    this.attached.set(`${dpid}:${port}`, host);
  }

  detach(host: string): void {
    const h = this.hosts.get(host)!;
    if (h.at) this.attached.delete(`${h.at.dpid}:${h.at.port}`);
    h.at = undefined;
  }

  apply(dpid: bigint, msg: PhysicalCommand): void {
    this.sw(dpid).apply(msg);
  }

  /** Apply a whole step; `order` reorders messages within it (a switch may reorder before a barrier). */
  applyStep(
    step: Step,
    order: (n: number) => number[] = (n) => [...Array(n).keys()],
    after?: () => void,
  ): void {
    for (const i of order(step.messages.length)) {
      const m = step.messages[i]!;
      if (m.msg.type === 'packetOut') this.packetOut(m.dpid, m.msg);
      else this.apply(m.dpid, m.msg);
      after?.();
    }
  }

  /** A host sends a frame (untagged). */
  send(host: string, ethDst: string, ethType = 0x0800): Trace {
    const h = this.hosts.get(host);
    if (!h) throw new SimError(`no host ${host}`);
    const trace: Trace = { deliveries: [], packetIns: [], loops: 0, drops: [] };
    if (!h.at) {
      trace.drops.push(`${host} is not attached`);
      return trace;
    }
    this.receive(
      h.at.dpid,
      h.at.port,
      { ethSrc: h.mac, ethDst, ethType, vlans: [], bytes: 100 },
      trace,
      [],
      0,
    );
    return trace;
  }

  /** A packet-out (data given as a SimPacket), as the switch would execute it. */
  packetOut(dpid: bigint, po: Omit<PacketOut, 'xid'> & { xid?: number }, packet?: SimPacket): Trace {
    const trace: Trace = { deliveries: [], packetIns: [], loops: 0, drops: [] };
    const p = packet ?? {
      ethSrc: '02:00:00:00:00:fe',
      ethDst: 'ff:ff:ff:ff:ff:ff',
      ethType: 0x0800,
      vlans: [],
      bytes: 60,
    };
    const ctx = {
      sw: this.sw(dpid),
      inPort: po.inPort,
      metadata: 0n,
      tableId: 0,
      cookie: 0n,
      trace,
      path: [] as string[],
      depth: 0,
    };
    this.execActions(ctx, po.actions, { ...p, vlans: [...p.vlans] }, true);
    return trace;
  }

  private receive(
    dpid: bigint,
    inPort: number,
    p: SimPacket,
    trace: Trace,
    path: string[],
    depth: number,
  ): void {
    const sw = this.sw(dpid);
    if (depth > MAX_HOPS) {
      trace.loops++;
      return;
    }
    if (!sw.portUsable(inPort, PORT_DOWN | NO_RECV)) {
      trace.drops.push(`${dpid}:${inPort} does not receive`);
      return;
    }
    this.pipeline(
      {
        sw,
        inPort,
        metadata: 0n,
        tableId: 0,
        cookie: 0n,
        trace,
        path: [...path, `${dpid}:${inPort}`],
        depth,
      },
      p,
    );
  }

  private pipeline(ctx: ExecCtx, packet: SimPacket): void {
    const p = { ...packet, vlans: [...packet.vlans] };
    const actionSet = new Map<string, Action>();
    for (;;) {
      const rule = ctx.sw.lookup(ctx.tableId, ctx.inPort, ctx.metadata, p);
      if (!rule) {
        ctx.trace.drops.push(`${ctx.sw.dpid} table ${ctx.tableId} miss`);
        return;
      }
      rule.packets++;
      rule.bytes += BigInt(p.bytes);
      ctx.cookie = rule.cookie;
      let next: number | undefined;
      const instructions = inInstructionOrder(rule.instructions);
      for (const i of instructions) {
        if (i.type === 'applyActions') this.execActions(ctx, i.actions, p, false);
        else if (i.type === 'clearActions') actionSet.clear();
        else if (i.type === 'writeActions') {
          for (const a of i.actions)
            actionSet.set(a.type === 'setField' ? `setField:${a.field.field}` : a.type, a);
        } else if (i.type === 'writeMetadata') {
          ctx.metadata = (ctx.metadata & ~i.metadataMask) | (i.metadata & i.metadataMask);
        } else if (i.type === 'gotoTable') next = i.tableId;
      }
      if (next === undefined) break;
      ctx.tableId = next;
    }
    const set = inActionSetOrder(actionSet.values());
    const hasGroup = set.some((a) => a.type === 'group');
    this.execActions(
      ctx,
      set.filter((a) => !(hasGroup && a.type === 'output')),
      p,
      false,
    );
  }

  /** Execute an action list on `p` (mutated in place, as the list runs). */
  private execActions(ctx: ExecCtx, actions: readonly Action[], p: SimPacket, packetOut: boolean): void {
    for (const a of actions) {
      switch (a.type) {
        case 'output':
          this.output(ctx, a.port, p, packetOut);
          break;
        case 'group':
          this.group(ctx, a.groupId, p);
          break;
        case 'pushVlan':
          p.vlans.unshift(p.vlans[0] ?? 0);
          break;
        case 'popVlan':
          if (p.vlans.length === 0) throw new SimError(`${ctx.sw.dpid}: pop_vlan on an untagged packet`);
          p.vlans.shift();
          break;
        case 'setField': {
          const f = a.field;
          if (f.field === 'vlan_vid') {
            if (p.vlans.length === 0) throw new SimError('set vlan_vid on an untagged packet');
            p.vlans[0] = (f.value as number) & 0xfff;
          } else if (f.field === 'eth_src') p.ethSrc = f.value as string;
          else if (f.field === 'eth_dst') p.ethDst = f.value as string;
          else throw new SimError(`FakeSwitch cannot set ${f.field}`);
          break;
        }
        default:
          throw new SimError(`FakeSwitch cannot execute ${a.type}`);
      }
    }
  }

  private group(ctx: ExecCtx, groupId: number, p: SimPacket): void {
    const g = ctx.sw.groups.get(groupId);
    if (!g) throw new SimError(`${ctx.sw.dpid}: missing group ${groupId.toString(16)}`);
    g.packets++;
    // Open vSwitch executes a bucket as an action set (ovs-actions(7)): reordered, one forwarding action.
    const run = (b: Bucket) => {
      if (b.actions.filter((a) => a.type === 'output' || a.type === 'group').length > 1)
        throw new SimError(`${ctx.sw.dpid}: bucket of group ${groupId.toString(16)} forwards more than once`);
      const set = inActionSetOrder(b.actions);
      this.execActions(ctx, set, { ...p, vlans: [...p.vlans] }, false);
    };
    if (g.groupType === GroupType.ALL) for (const b of g.buckets) run(b);
    else if (g.groupType === GroupType.FF) {
      const live = g.buckets.find(
        (b) => b.watchPort === Port.ANY || ctx.sw.portUsable(b.watchPort, PORT_DOWN),
      );
      if (live) run(live);
    } else if (g.buckets[0]) run(g.buckets[0]);
  }

  private output(ctx: ExecCtx, port: number, p: SimPacket, packetOut: boolean): void {
    const copy = (): SimPacket => ({ ...p, vlans: [...p.vlans] });
    let out = port;
    if (port === Port.IN_PORT) out = ctx.inPort;
    else if (port === ctx.inPort) {
      ctx.trace.drops.push(`${ctx.sw.dpid}: output to ingress port ${port}`);
      return;
    }
    if (out === Port.CONTROLLER) {
      ctx.trace.packetIns.push({
        dpid: ctx.sw.dpid,
        tableId: ctx.tableId,
        cookie: ctx.cookie,
        inPort: ctx.inPort,
        metadata: ctx.metadata,
        packet: copy(),
      });
      return;
    }
    if (out === Port.TABLE) {
      if (!packetOut) throw new SimError('OFPP_TABLE outside a packet-out');
      this.pipeline({ ...ctx, metadata: 0n, tableId: 0 }, copy());
      return;
    }
    if (out >= Port.MAX) throw new SimError(`${ctx.sw.dpid}: output to reserved port ${out.toString(16)}`);
    if (!ctx.sw.portUsable(out, PORT_DOWN | NO_FWD)) {
      ctx.trace.drops.push(`${ctx.sw.dpid}:${out} is down`);
      return;
    }
    const here = `${ctx.sw.dpid}:${out}`;
    const host = this.attached.get(here);
    if (host) {
      ctx.trace.deliveries.push({ host, packet: copy(), path: [...ctx.path, here] });
      return;
    }
    const peer = this.links.get(here);
    if (!peer) {
      ctx.trace.drops.push(`${here} leads nowhere`);
      return;
    }
    this.receive(peer.dpid, peer.port, copy(), ctx.trace, [...ctx.path, here], ctx.depth + 1);
  }
}

interface ExecCtx {
  sw: FakeSwitch;
  inPort: number;
  metadata: bigint;
  tableId: number;
  cookie: bigint;
  trace: Trace;
  path: string[];
  depth: number;
}
