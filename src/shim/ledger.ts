// The shim's state ledger: the app's virtual flow and group tables (OpenFlow semantics applied to the
// app's commands), the physical copies of each virtual rule with their counters, flow-removed owed,
// virtual buffer ids, the xid map for errors, port/table counter offsets and the last virtual port view.
//
// Pure data and bookkeeping (no I/O, time passed in). Serialisable with toJSON()/Ledger.fromJSON() for
// the journal. Decisions that combine the ledger with the plan and the state live in translate.ts.

import {
  ErrorType,
  FlowModCommand,
  FlowModFlags,
  GroupModCommand,
  Port,
  Table,
} from '../openflow/constants.ts';
import type {
  Action,
  FlowMod,
  GroupMod,
  Instruction,
  Match,
  OfMessage,
  Outgoing,
  Port as PortDesc,
} from '../openflow/types.ts';
import { bigField, fieldKey, getField, matchCovers, matchesOverlap, matchKey } from './match.ts';
import type { MigrationState, VirtualGroup, VirtualRule } from './model.ts';
import { getOrCreate, ShimCommandError } from './model.ts';
import { FROM_TUNNEL, MAX_APP_TABLE, ruleIdOfCookie } from './pipeline.ts';
import type { MigrationPlan } from './plan.ts';
import { targetState as computeTargetState, type NetworkState } from './target.ts';

export interface Counters {
  packets: bigint;
  bytes: bigint;
}
const ZERO: Counters = Object.freeze({ packets: 0n, bytes: 0n });

function add(a: Counters, b: Counters): Counters {
  return { packets: a.packets + b.packets, bytes: a.bytes + b.bytes };
}

/** Per-element maximum: counters shown to the app never go down. */
function atLeast(a: Counters, floor: Counters): Counters {
  return { packets: maxBig(a.packets, floor.packets), bytes: maxBig(a.bytes, floor.bytes) };
}

function maxBig(a: bigint, b: bigint): bigint {
  return a > b ? a : b;
}

/**
 * One physical copy of a virtual rule. `variant` is the canonical metadata field of its match, which is
 * what distinguishes the copies of one rule on one switch (base vs FROM_TUNNEL variants).
 */
export interface CopyRecord {
  ruleId: number;
  dpid: bigint;
  variant: string;
  tableId: number;
  priority: number;
  match: Match;
  installedAt: number;
  /** live: installed; retiring: the shim deleted it and waits for its flow-removed (final counters). */
  state: 'live' | 'retiring';
  /** Last idle expiry of this copy (it was re-installed because another copy was still busy). */
  idleExpiredAt?: number;
  /** Counters of earlier incarnations (re-installs, counter resets) plus the last seen now. */
  base: Counters;
  seen: Counters;
}

export interface RuleRecord extends VirtualRule {
  /** Counters of copies that are gone for good. */
  retired: Counters;
  /** Last counters shown to the app (the floor for the next answer). */
  reported: Counters;
  /** Set once the virtual rule is gone (deleted or expired) while copies still owe their final counters. */
  removal?: { reason: number; at: number };
}

export interface BufferEntry {
  dpid: bigint;
  bufferId: number;
  /** Physical in_port of the buffered packet. */
  inPort: number;
  /** Logical (virtual) in_port. */
  logicalInPort: number;
  /** It came in through the tunnel (ASAP first hop). */
  fromTunnel: boolean;
}

export interface XidEntry {
  vdpid: bigint;
  appXid: number;
  request: OfMessage | Outgoing<OfMessage>;
  /** An error was already passed to the app for this app xid (copies fail alike: report once). */
  reported: boolean;
}

/** Counters of one physical port (restart: its next reading is the baseline of a new series). */
interface PortSeries {
  base: bigint[];
  seen: bigint[];
  restart?: boolean;
}

/** A counter series of one physical object (port, table) that can reset when its switch restarts. */
interface Series {
  base: Counters[];
  seen: Counters[];
}

export interface FlowModEffect {
  /** New rules, and rules replaced by an identical ADD (same id, new install time). */
  added: RuleRecord[];
  modified: RuleRecord[];
  /** Rules removed (their copies must be deleted); `removal` is set on each. */
  removed: RuleRecord[];
}

export interface GroupModEffect {
  added?: VirtualGroup;
  modified?: VirtualGroup;
  removed: VirtualGroup[];
  /** Rules that forwarded to a deleted group (OpenFlow removes them with reason GROUP_DELETE). */
  removedRules: RuleRecord[];
}

const BAD_COMMAND = 6; // OFPFMFC_BAD_COMMAND
const OVERLAP = 3; // OFPFMFC_OVERLAP
const BAD_TABLE_ID = 2; // OFPFMFC_BAD_TABLE_ID
const GROUP_EXISTS = 0;
const INVALID_GROUP = 1;
const UNKNOWN_GROUP = 8;
const GROUP_BAD_COMMAND = 11;
const MAX_BUFFERS_PER_SWITCH = 4096;
const MAX_XIDS = 65536;

function actionsOf(instructions: readonly Instruction[]): Action[] {
  return instructions.flatMap((i) =>
    i.type === 'applyActions' || i.type === 'writeActions' ? i.actions : [],
  );
}

/** OpenFlow out_port / out_group filter of a delete or a stats request. */
export function ruleForwardsTo(rule: VirtualRule, outPort: number, outGroup: number): boolean {
  const actions = actionsOf(rule.instructions);
  if (outPort !== Port.ANY && !actions.some((a) => a.type === 'output' && a.port === outPort)) return false;
  if (
    outGroup !== 0xffffffff &&
    outGroup !== 0xfffffffc &&
    !actions.some((a) => a.type === 'group' && a.groupId === outGroup)
  )
    return false;
  return true;
}

function cookieSelects(rule: VirtualRule, cookie: bigint, mask: bigint): boolean {
  return (rule.cookie & mask) === (cookie & mask);
}

/** Strict identity of a rule in a virtual table (OpenFlow: table, priority and exact match). */
function strictKeyOf(tableId: number, priority: number, match: Match): string {
  return `${tableId}/${priority}/${matchKey(match)}`;
}

/** The copy-variant key of a physical match (its metadata field). */
export function variantKey(match: Match): string {
  const m = getField(match, 'metadata');
  return m ? fieldKey(m) : '';
}

export class Ledger {
  private nextRuleId = 1;
  private readonly ruleById = new Map<number, RuleRecord>();
  /** vdpid -> ids of live virtual rules. */
  private readonly tables = new Map<bigint, Set<number>>();
  /** vdpid -> strict identity (table, priority, canonical match) -> id of the live rule: ADD finds its twin in O(1). */
  private readonly strictIndex = new Map<bigint, Map<string, number>>();
  private readonly groupTables = new Map<bigint, Map<number, VirtualGroup>>();
  /** `${dpid}/${ruleId}/${variant}` -> copy. */
  private readonly copies = new Map<string, CopyRecord>();
  private readonly buffers = new Map<bigint, { next: number; entries: Map<number, BufferEntry> }>();
  private readonly xids = new Map<string, XidEntry>();
  /** `${dpid}/${port}` -> port counter series (8 counters: rx/tx packets/bytes/dropped/errors). */
  private readonly portSeries = new Map<string, PortSeries>();
  private readonly tableSeries = new Map<string, Series>();
  /** `${vdpid}` -> last virtual port-stats / table-stats shown (floors). */
  private readonly portFloors = new Map<string, bigint[]>();
  private readonly tableFloors = new Map<string, Counters>();
  /** vdpid -> last virtual port view reported to the app. */
  private readonly portViews = new Map<bigint, Map<number, PortDesc>>();

  // ------------------------------------------------------------ virtual flow table

  rules(vdpid: bigint): RuleRecord[] {
    const ids = this.tables.get(vdpid);
    return ids ? [...ids].map((id) => this.ruleById.get(id)!) : [];
  }

  /** A rule by id, including removed rules whose copies are still being collected. */
  rule(id: number): RuleRecord | undefined {
    return this.ruleById.get(id);
  }

  /** Tables the app ever used on a switch (for table-stats). */
  usedTables(vdpid: bigint): number[] {
    return [...new Set(this.rules(vdpid).map((r) => r.tableId))].sort((a, b) => a - b);
  }

  private table(vdpid: bigint): Set<number> {
    const t = getOrCreate(this.tables, vdpid, () => new Set());
    return t;
  }

  /** Apply an app flow-mod to the virtual table with OpenFlow 1.3 semantics; throws ShimCommandError. */
  applyFlowMod(vdpid: bigint, mod: Outgoing<FlowMod>, now: number): FlowModEffect {
    const effect: FlowModEffect = { added: [], modified: [], removed: [] };
    const inTable = (r: RuleRecord) => mod.tableId === Table.ALL || r.tableId === mod.tableId;
    const strictSame = (r: RuleRecord) =>
      r.tableId === mod.tableId && r.priority === mod.priority && matchKey(r.match) === matchKey(mod.match);
    switch (mod.command) {
      case FlowModCommand.ADD: {
        if (mod.tableId > MAX_APP_TABLE)
          throw new ShimCommandError(ErrorType.FLOW_MOD_FAILED, BAD_TABLE_ID, `table ${mod.tableId}`);
        const index = getOrCreate(this.strictIndex, vdpid, () => new Map<string, number>());
        const key = strictKeyOf(mod.tableId, mod.priority, mod.match);
        const sameId = index.get(key);
        const same = sameId !== undefined ? this.ruleById.get(sameId) : undefined;
        if (
          mod.flags & FlowModFlags.CHECK_OVERLAP &&
          this.rules(vdpid).some(
            (r) =>
              r !== same &&
              r.tableId === mod.tableId &&
              r.priority === mod.priority &&
              matchesOverlap(r.match, mod.match),
          )
        )
          throw new ShimCommandError(
            ErrorType.FLOW_MOD_FAILED,
            OVERLAP,
            'overlapping rule at the same priority',
          );
        const rule: RuleRecord = {
          id: same?.id ?? this.nextRuleId++,
          vdpid,
          tableId: mod.tableId,
          priority: mod.priority,
          match: mod.match,
          instructions: mod.instructions,
          cookie: mod.cookie,
          idleTimeout: mod.idleTimeout,
          hardTimeout: mod.hardTimeout,
          flags: mod.flags,
          installedAt: now,
          // An identical ADD keeps the counters unless RESET_COUNTS (OpenFlow 1.3.1, 6.4).
          retired: same && !(mod.flags & FlowModFlags.RESET_COUNTS) ? same.retired : { ...ZERO },
          reported: same && !(mod.flags & FlowModFlags.RESET_COUNTS) ? same.reported : { ...ZERO },
        };
        if (same && mod.flags & FlowModFlags.RESET_COUNTS) this.resetCopyCounters(same.id);
        this.ruleById.set(rule.id, rule);
        this.table(vdpid).add(rule.id);
        index.set(key, rule.id);
        effect.added.push(rule);
        return effect;
      }
      case FlowModCommand.MODIFY:
      case FlowModCommand.MODIFY_STRICT: {
        const strict = mod.command === FlowModCommand.MODIFY_STRICT;
        for (const r of this.rules(vdpid)) {
          if (!inTable(r) || !cookieSelects(r, mod.cookie, mod.cookieMask)) continue;
          if (strict ? !strictSame(r) : !matchCovers(mod.match, r.match)) continue;
          r.instructions = mod.instructions;
          if (mod.flags & FlowModFlags.RESET_COUNTS) {
            r.retired = { ...ZERO };
            r.reported = { ...ZERO };
            this.resetCopyCounters(r.id);
          }
          effect.modified.push(r);
        }
        return effect;
      }
      case FlowModCommand.DELETE:
      case FlowModCommand.DELETE_STRICT: {
        const strict = mod.command === FlowModCommand.DELETE_STRICT;
        for (const r of this.rules(vdpid)) {
          if (!inTable(r) || !cookieSelects(r, mod.cookie, mod.cookieMask)) continue;
          if (strict ? !strictSame(r) : !matchCovers(mod.match, r.match)) continue;
          if (!ruleForwardsTo(r, mod.outPort, mod.outGroup)) continue;
          this.markRemoved(r, 2 /* OFPRR_DELETE */, now);
          effect.removed.push(r);
        }
        return effect;
      }
      default:
        throw new ShimCommandError(ErrorType.FLOW_MOD_FAILED, BAD_COMMAND, `flow-mod command ${mod.command}`);
    }
  }

  /** Take a rule out of its virtual table (it stays known until its copies reported). */
  markRemoved(r: RuleRecord, reason: number, now: number): void {
    this.tables.get(r.vdpid)?.delete(r.id);
    const index = this.strictIndex.get(r.vdpid);
    const key = strictKeyOf(r.tableId, r.priority, r.match);
    if (index?.get(key) === r.id) index.delete(key);
    r.removal ??= { reason, at: now };
  }

  /** Forget a removed rule once nothing is owed for it. */
  forgetRule(id: number): void {
    const r = this.ruleById.get(id);
    if (r?.removal && this.copiesOf(id).length === 0) this.ruleById.delete(id);
  }

  // ------------------------------------------------------------ virtual group table

  groups(vdpid: bigint): VirtualGroup[] {
    return [...(this.groupTables.get(vdpid)?.values() ?? [])];
  }

  group(vdpid: bigint, groupId: number): VirtualGroup | undefined {
    return this.groupTables.get(vdpid)?.get(groupId);
  }

  applyGroupMod(vdpid: bigint, mod: Outgoing<GroupMod>, now: number): GroupModEffect {
    const t = getOrCreate(this.groupTables, vdpid, () => new Map());
    const g: VirtualGroup = { vdpid, groupId: mod.groupId, groupType: mod.groupType, buckets: mod.buckets };
    const effect: GroupModEffect = { removed: [], removedRules: [] };
    switch (mod.command) {
      case GroupModCommand.ADD:
        if (mod.groupId > 0x00ff_ffff)
          throw new ShimCommandError(ErrorType.GROUP_MOD_FAILED, INVALID_GROUP, `group ${mod.groupId}`);
        if (t.has(mod.groupId))
          throw new ShimCommandError(ErrorType.GROUP_MOD_FAILED, GROUP_EXISTS, `group ${mod.groupId} exists`);
        t.set(g.groupId, g);
        effect.added = g;
        return effect;
      case GroupModCommand.MODIFY:
        if (!t.has(mod.groupId))
          throw new ShimCommandError(ErrorType.GROUP_MOD_FAILED, UNKNOWN_GROUP, `no group ${mod.groupId}`);
        t.set(g.groupId, g);
        effect.modified = g;
        return effect;
      case GroupModCommand.DELETE: {
        const ids = mod.groupId === 0xfffffffc ? [...t.keys()] : t.has(mod.groupId) ? [mod.groupId] : [];
        for (const id of ids) {
          effect.removed.push(t.get(id)!);
          t.delete(id);
          for (const r of this.rules(vdpid)) {
            if (ruleForwardsTo(r, Port.ANY, id)) {
              this.markRemoved(r, 3 /* OFPRR_GROUP_DELETE */, now);
              effect.removedRules.push(r);
            }
          }
        }
        return effect;
      }
      default:
        throw new ShimCommandError(
          ErrorType.GROUP_MOD_FAILED,
          GROUP_BAD_COMMAND,
          `group-mod command ${mod.command}`,
        );
    }
  }

  // ------------------------------------------------------------ physical copies

  private copyKey(dpid: bigint, ruleId: number, variant: string): string {
    return `${dpid}/${ruleId}/${variant}`;
  }

  copiesOf(ruleId: number): CopyRecord[] {
    return [...this.copies.values()].filter((c) => c.ruleId === ruleId);
  }

  copiesOn(dpid: bigint): CopyRecord[] {
    return [...this.copies.values()].filter((c) => c.dpid === dpid);
  }

  copy(dpid: bigint, ruleId: number, variant: string): CopyRecord | undefined {
    return this.copies.get(this.copyKey(dpid, ruleId, variant));
  }

  private resetCopyCounters(ruleId: number): void {
    for (const c of this.copiesOf(ruleId)) {
      c.base = { ...ZERO };
      c.seen = { ...ZERO };
    }
  }

  /**
   * Note a physical message the shim sends (call for every flow-mod that goes out): an ADD of an app copy
   * makes the copy live, a DELETE_STRICT makes it retiring (its flow-removed brings the final counters).
   */
  recordPhysical(dpid: bigint, msg: Outgoing<OfMessage>, now: number): void {
    if (msg.type !== 'flowMod') return;
    const ruleId = ruleIdOfCookie(msg.cookie);
    if (ruleId === undefined) return;
    const variant = variantKey(msg.match);
    const key = this.copyKey(dpid, ruleId, variant);
    const existing = this.copies.get(key);
    if (msg.command === FlowModCommand.ADD) {
      if (existing) {
        existing.state = 'live';
        existing.installedAt = now;
      } else {
        this.copies.set(key, {
          ruleId,
          dpid,
          variant,
          tableId: msg.tableId,
          priority: msg.priority,
          match: msg.match,
          installedAt: now,
          state: 'live',
          base: { ...ZERO },
          seen: { ...ZERO },
        });
      }
    } else if (msg.command === FlowModCommand.DELETE_STRICT && existing) {
      existing.state = 'retiring';
    }
  }

  /**
   * Bytes a tunnel tag adds to a packet (set from the plan's encoding). Copies keep the switch's counters as
   * they are; what the app is shown of a FROM_TUNNEL variant (it only matches packets that came through the
   * tunnel) leaves the tags out, as the switch counted each packet's bytes as it arrived, tag included, although
   * table 0 pops it before any app rule sees the packet.
   */
  tunnelOverheadBytes = 0;

  private appCounters(c: CopyRecord, raw: Counters): Counters {
    if (this.tunnelOverheadBytes === 0) return raw;
    const meta = bigField(c.match, 'metadata');
    if (!meta || (meta.value & FROM_TUNNEL) === 0n) return raw;
    const tags = raw.packets * BigInt(this.tunnelOverheadBytes);
    return { packets: raw.packets, bytes: raw.bytes > tags ? raw.bytes - tags : 0n };
  }

  /** A copy is gone (flow-removed or switch lost): fold its counters into the rule and drop the record. */
  dropCopy(c: CopyRecord, final?: Counters): void {
    const r = this.ruleById.get(c.ruleId);
    const last = final ?? c.seen;
    if (r) r.retired = add(r.retired, this.appCounters(c, add(c.base, last)));
    this.copies.delete(this.copyKey(c.dpid, c.ruleId, c.variant));
  }

  /** The copy was idle-expired on its switch and is being put back: keep its counters as a base. */
  reincarnateCopy(c: CopyRecord, final: Counters, now: number): void {
    c.base = add(c.base, final);
    c.seen = { ...ZERO };
    c.idleExpiredAt = now;
    c.installedAt = now;
    c.state = 'live';
  }

  /** Counters of one copy from a stats reply (a drop below the last seen means the switch reset it). */
  observeCopyCounters(c: CopyRecord, current: Counters): void {
    if (current.packets < c.seen.packets || current.bytes < c.seen.bytes) c.base = add(c.base, c.seen);
    c.seen = current;
  }

  /** Sum over retired and current copies, never below what the app was last shown; records the answer. */
  reportRuleCounters(r: RuleRecord): Counters {
    let total = r.retired;
    for (const c of this.copiesOf(r.id)) total = add(total, this.appCounters(c, add(c.base, c.seen)));
    r.reported = atLeast(total, r.reported);
    return r.reported;
  }

  // ------------------------------------------------------------ buffers

  /** A virtual buffer id for a buffered physical packet-in (ids are per physical switch, not unique). */
  allocBuffer(vdpid: bigint, entry: BufferEntry): number {
    const b = getOrCreate(this.buffers, vdpid, () => ({ next: 1, entries: new Map<number, BufferEntry>() }));
    const id = b.next;
    b.next = b.next >= 0xfffffffe ? 1 : b.next + 1;
    b.entries.set(id, entry);
    if (b.entries.size > MAX_BUFFERS_PER_SWITCH) b.entries.delete(b.entries.keys().next().value!);
    return id;
  }

  peekBuffer(vdpid: bigint, virtualBufferId: number): BufferEntry | undefined {
    return this.buffers.get(vdpid)?.entries.get(virtualBufferId);
  }

  /** Resolve (and consume: a buffer is used once) a virtual buffer id. */
  takeBuffer(vdpid: bigint, virtualBufferId: number): BufferEntry | undefined {
    const b = this.buffers.get(vdpid);
    const e = b?.entries.get(virtualBufferId);
    if (e) b!.entries.delete(virtualBufferId);
    return e;
  }

  // ------------------------------------------------------------ xids

  /** Remember which app command a physical message (dpid, xid) was sent for. */
  recordXid(dpid: bigint, physicalXid: number, entry: Omit<XidEntry, 'reported'>): void {
    this.xids.set(`${dpid}/${physicalXid}`, { ...entry, reported: false });
    // Forget the oldest quarter in one pass: deleting one entry per insert made every insert walk the
    // deleted slots at the front of the Map (keys().next()), O(MAX_XIDS) per app command.
    if (this.xids.size > MAX_XIDS) {
      let drop = this.xids.size - (MAX_XIDS * 3) / 4;
      for (const k of this.xids.keys()) {
        if (drop-- <= 0) break;
        this.xids.delete(k);
      }
    }
  }

  lookupXid(dpid: bigint, physicalXid: number): XidEntry | undefined {
    return this.xids.get(`${dpid}/${physicalXid}`);
  }

  /** Mark every physical xid of the same app command as reported (the app gets one error per command). */
  markXidReported(entry: XidEntry): void {
    for (const e of this.xids.values())
      if (e.vdpid === entry.vdpid && e.appXid === entry.appXid) e.reported = true;
  }

  // ------------------------------------------------------------ port and table counters

  /**
   * Counters of one physical port, reset-safe: a value below the last seen means the port was re-created
   * (e.g. a host port that moved away and back) and the old total is kept as a base.
   * `values`: rxPackets, txPackets, rxBytes, txBytes, rxDropped, txDropped, rxErrors, txErrors.
   */
  observePortCounters(
    dpid: bigint,
    port: number,
    values: readonly bigint[] | undefined,
    width: number,
  ): bigint[] {
    const s = getOrCreate(
      this.portSeries,
      `${dpid}/${port}`,
      (): PortSeries => ({
        base: new Array<bigint>(width).fill(0n),
        seen: new Array<bigint>(width).fill(0n),
      }),
    );
    if (values) {
      if (s.restart) {
        // The first reading of a re-attached port is its baseline (see restartPortSeries).
        s.base = s.base.map((b, i) => b - (values[i] ?? 0n));
        s.restart = false;
      } else if (values.some((v, i) => v < (s.seen[i] ?? 0n)))
        s.base = s.base.map((b, i) => b + (s.seen[i] ?? 0n));
      s.seen = [...values];
    }
    return s.base.map((b, i) => b + (s.seen[i] ?? 0n));
  }

  /**
   * A physical port was attached (port-status ADD): what its interface counted before belongs to no virtual
   * port (an interface can be re-used: a host's veth moved from one bridge to another keeps its counters), so
   * the next reading starts a new series on top of the total so far.
   */
  restartPortSeries(dpid: bigint, port: number, width: number): void {
    const s = getOrCreate(
      this.portSeries,
      `${dpid}/${port}`,
      (): PortSeries => ({
        base: new Array<bigint>(width).fill(0n),
        seen: new Array<bigint>(width).fill(0n),
      }),
    );
    s.base = s.base.map((b, i) => b + (s.seen[i] ?? 0n));
    s.seen = new Array<bigint>(width).fill(0n);
    s.restart = true;
  }

  /** Per-element floor for what a virtual port shows. */
  portFloor(vdpid: bigint, port: number, values: bigint[]): bigint[] {
    const key = `${vdpid}/${port}`;
    const floor = this.portFloors.get(key) ?? [];
    const out = values.map((v, i) => (floor[i] !== undefined && floor[i]! > v ? floor[i]! : v));
    this.portFloors.set(key, out);
    return out;
  }

  observeTableCounters(dpid: bigint, tableId: number, lookup: bigint, matched: bigint): Counters {
    const key = `${dpid}/${tableId}`;
    const s = getOrCreate(this.tableSeries, key, () => ({ base: [{ ...ZERO }], seen: [{ ...ZERO }] }));
    const cur = { packets: lookup, bytes: matched };
    if (cur.packets < s.seen[0]!.packets || cur.bytes < s.seen[0]!.bytes)
      s.base[0] = add(s.base[0]!, s.seen[0]!);
    s.seen[0] = cur;
    return add(s.base[0]!, cur);
  }

  /** Table counters (lookup, matched) are kept in a Counters pair: packets=lookup, bytes=matched. */
  tableFloor(vdpid: bigint, tableId: number, c: Counters): Counters {
    const key = `${vdpid}/${tableId}`;
    const out = atLeast(c, this.tableFloors.get(key) ?? ZERO);
    this.tableFloors.set(key, out);
    return out;
  }

  // ------------------------------------------------------------ virtual port view

  portView(vdpid: bigint): Map<number, PortDesc> | undefined {
    return this.portViews.get(vdpid);
  }

  setPortView(vdpid: bigint, view: Map<number, PortDesc>): void {
    this.portViews.set(vdpid, view);
  }

  // ------------------------------------------------------------ JSON

  toJSON(): LedgerJson {
    return toJsonValue({
      version: 1,
      nextRuleId: this.nextRuleId,
      rules: [...this.ruleById.values()],
      live: [...this.tables].map(([vdpid, ids]) => [vdpid, [...ids]]),
      groups: [...this.groupTables.values()].flatMap((t) => [...t.values()]),
      copies: [...this.copies.values()],
      buffers: [...this.buffers].map(([vdpid, b]) => [vdpid, b.next, [...b.entries]]),
      portSeries: [...this.portSeries],
      tableSeries: [...this.tableSeries],
      portFloors: [...this.portFloors],
      tableFloors: [...this.tableFloors],
      portViews: [...this.portViews].map(([vdpid, v]) => [vdpid, [...v.values()]]),
    }) as LedgerJson;
  }

  static fromJSON(json: LedgerJson): Ledger {
    // biome-ignore lint/suspicious/noExplicitAny: the revived document is checked field by field below
    const d = fromJsonValue(json) as any;
    if (d?.version !== 1) throw new TypeError('ledger JSON: unknown version');
    const l = new Ledger();
    l.nextRuleId = d.nextRuleId;
    for (const r of d.rules as RuleRecord[]) l.ruleById.set(r.id, r);
    for (const [vdpid, ids] of d.live as [bigint, number[]][]) {
      l.tables.set(vdpid, new Set(ids));
      const index = getOrCreate(l.strictIndex, vdpid, () => new Map<string, number>());
      for (const id of ids) {
        const r = l.ruleById.get(id);
        if (r) index.set(strictKeyOf(r.tableId, r.priority, r.match), id);
      }
    }
    for (const g of d.groups as VirtualGroup[]) {
      const t = getOrCreate(l.groupTables, g.vdpid, () => new Map());
      t.set(g.groupId, g);
    }
    for (const c of d.copies as CopyRecord[]) l.copies.set(l.copyKey(c.dpid, c.ruleId, c.variant), c);
    for (const [vdpid, next, entries] of d.buffers as [bigint, number, [number, BufferEntry][]][])
      l.buffers.set(vdpid, { next, entries: new Map(entries) });
    for (const [k, v] of d.portSeries) l.portSeries.set(k, v);
    for (const [k, v] of d.tableSeries) l.tableSeries.set(k, v);
    for (const [k, v] of d.portFloors) l.portFloors.set(k, v);
    for (const [k, v] of d.tableFloors) l.tableFloors.set(k, v);
    for (const [vdpid, ports] of d.portViews as [bigint, PortDesc[]][])
      l.portViews.set(vdpid, new Map(ports.map((p) => [p.portNo, p])));
    return l;
  }
}

/** JSON form of a ledger: bigints as {"$big": "..."} and byte arrays as {"$hex": "..."}. */
export type LedgerJson = { version: 1 } & Record<string, unknown>;

export function toJsonValue(v: unknown): unknown {
  if (typeof v === 'bigint') return { $big: v.toString() };
  if (v instanceof Uint8Array) return { $hex: Buffer.from(v).toString('hex') };
  if (Array.isArray(v)) return v.map(toJsonValue);
  if (v && typeof v === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) if (x !== undefined) out[k] = toJsonValue(x);
    return out;
  }
  return v;
}

export function fromJsonValue(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(fromJsonValue);
  if (v && typeof v === 'object') {
    const o = v as Record<string, unknown>;
    if (typeof o.$big === 'string' && Object.keys(o).length === 1) return BigInt(o.$big);
    if (typeof o.$hex === 'string' && Object.keys(o).length === 1)
      return new Uint8Array(Buffer.from(o.$hex, 'hex'));
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(o)) out[k] = fromJsonValue(x);
    return out;
  }
  return v;
}

/**
 * The complete set of rules and groups each physical switch should hold, for reconciling a reconnecting
 * switch or a restarted controller (see target.ts for the pipeline it encodes).
 */
export function targetState(
  plan: MigrationPlan,
  ledger: Ledger,
  state: MigrationState,
  now: number,
): NetworkState {
  return computeTargetState(plan, ledger, state, now);
}
