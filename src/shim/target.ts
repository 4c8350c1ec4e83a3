// The physical state each switch should hold, as a pure function of (plan, virtual tables, migration
// state, clock), and the ordered steps that carry a network from one such state to another.
//
// Transitions, reconciliation of a reconnecting switch and recovery of a restarted controller all reduce
// to `diffStates(actual, target)`: install before remove, with barriers between
//   1 egress group adds  2 app group adds (may chain to egress groups)  3 rule adds
//   4 group and rule modifies  5 rule deletes  6 app group deletes  7 egress group deletes.

import { isDeepStrictEqual } from 'node:util';
import { FlowModCommand, GroupModCommand, NO_BUFFER, Port } from '../openflow/constants.ts';
import type { FlowMod, FlowStats, GroupDesc, GroupMod, Outgoing } from '../openflow/types.ts';
import { matchKey } from './match.ts';
import {
  getOrCreate,
  type MigrationState,
  type PhysicalMessage,
  type Side,
  type Step,
  type VirtualGroup,
  type VirtualRule,
} from './model.ts';
import {
  APP_COPY_COOKIE,
  appGroupCopies,
  appRuleCopies,
  appSides,
  COOKIE_OWNER_MASK,
  classifierRule,
  controllerClassifierRule,
  deliveryRule,
  egressGroups,
  firstHopRule,
  fromTunnelIngresses,
  isEgressGroup,
  isShimCookie,
  missRule,
  type PhysGroup,
  type PhysRule,
  ruleIdOfCookie,
  tunnelForwardRules,
  tunnelIngressRule,
} from './pipeline.ts';
import { hostOnPort, type MigrationPlan, type PlanSwitch, tunnelledPorts } from './plan.ts';

export interface SwitchState {
  /** By ruleKey(). */
  rules: Map<string, PhysRule>;
  groups: Map<number, PhysGroup>;
}

/** Physical dpid -> what it holds. Every switch of the plan (old, new, tunnel) has an entry. */
export type NetworkState = Map<bigint, SwitchState>;

/** What the target computation needs from the ledger. */
export interface VirtualTables {
  rules(vdpid: bigint): Iterable<VirtualRule>;
  groups(vdpid: bigint): Iterable<VirtualGroup>;
}

export function ruleKey(r: { tableId: number; priority: number; match: PhysRule['match'] }): string {
  return `${r.tableId}/${r.priority}/${matchKey(r.match)}`;
}

export function emptySwitchState(): SwitchState {
  return { rules: new Map(), groups: new Map() };
}

function put(sw: SwitchState, r: PhysRule): void {
  sw.rules.set(ruleKey(r), r);
}

/** A moving host whose arrival the shim must detect itself (mover 'external'): the side it goes to. */
function arrivalSide(
  plan: MigrationPlan,
  state: MigrationState,
  vs: PlanSwitch,
  v: number,
): Side | undefined {
  if (plan.mover.kind !== 'external') return undefined;
  const host = hostOnPort(plan, vs, v);
  const loc = host ? state.hosts[host.name] : undefined;
  return loc === 'toNew' ? 'new' : loc === 'toOld' ? 'old' : undefined;
}

/** The complete set of rules and groups each physical switch should hold in `state`. */
export function targetState(
  plan: MigrationPlan,
  tables: VirtualTables,
  state: MigrationState,
  now: number,
): NetworkState {
  const net: NetworkState = new Map();
  const sw = (dpid: bigint): SwitchState => getOrCreate(net, dpid, emptySwitchState);
  sw(plan.tunnelSwitch.dpid);
  const sides = appSides(state);
  const prepared = state.phase === 'prepared';

  for (const vs of plan.switches) {
    sw(vs.old.dpid);
    sw(vs.new.dpid);
    const tunnelled = tunnelledPorts(plan, vs);
    for (const side of sides) {
      const s = sw(vs[side].dpid);
      for (const p of vs.ports)
        put(s, classifierRule(vs, side, p.port, arrivalSide(plan, state, vs, p.port) === side));
      put(s, controllerClassifierRule());
      put(s, missRule());
      if (fromTunnelIngresses(plan, state, vs, side).length > 0) {
        for (const v of tunnelled) put(s, tunnelIngressRule(plan, vs, v));
      }
      for (const g of egressGroups(plan, state, vs, side)) s.groups.set(g.groupId, g);
      for (const vg of tables.groups(vs.dpid)) {
        for (const g of appGroupCopies(plan, state, vs, vg, side)) s.groups.set(g.groupId, g);
      }
      for (const rule of tables.rules(vs.dpid)) {
        for (const r of appRuleCopies(plan, state, vs, rule, side, now)) put(s, r);
      }
    }
    if (!prepared) continue;
    if (state.algorithm === 'asap') {
      const n = sw(vs.new.dpid);
      put(n, missRule());
      for (const v of tunnelled) {
        put(n, firstHopRule(plan, vs, v, arrivalSide(plan, state, vs, v) === 'new'));
        put(n, deliveryRule(plan, vs, 'new', v));
      }
    } else {
      for (const side of ['old', 'new'] as const) {
        for (const v of tunnelled) put(sw(vs[side].dpid), deliveryRule(plan, vs, side, v));
      }
    }
  }
  if (prepared) {
    const t = sw(plan.tunnelSwitch.dpid);
    put(t, missRule());
    for (const vs of plan.switches) for (const r of tunnelForwardRules(plan, vs)) put(t, r);
  }
  return net;
}

// ---------------------------------------------------------------- messages

export function addFlow(r: PhysRule, bufferId = NO_BUFFER): Outgoing<FlowMod> {
  return {
    type: 'flowMod',
    cookie: r.cookie,
    cookieMask: 0n,
    tableId: r.tableId,
    command: FlowModCommand.ADD,
    idleTimeout: r.idleTimeout,
    hardTimeout: r.hardTimeout,
    priority: r.priority,
    bufferId,
    outPort: Port.ANY,
    outGroup: 0xffffffff,
    flags: r.flags,
    match: r.match,
    instructions: r.instructions,
  };
}

export function modifyFlow(r: PhysRule): Outgoing<FlowMod> {
  return { ...addFlow(r), command: FlowModCommand.MODIFY_STRICT, idleTimeout: 0, hardTimeout: 0 };
}

/** Strict delete; app copies are selected by their exact cookie, shim rules by the shim prefix. */
export function deleteFlow(r: PhysRule): Outgoing<FlowMod> {
  const cookieMask =
    r.owner.kind === 'app' ? (1n << 64n) - 1n : r.owner.kind === 'shim' ? COOKIE_OWNER_MASK : 0n;
  return {
    ...addFlow(r),
    command: FlowModCommand.DELETE_STRICT,
    cookieMask,
    idleTimeout: 0,
    hardTimeout: 0,
    flags: 0,
    instructions: [],
  };
}

export function groupMod(command: number, g: PhysGroup): Outgoing<GroupMod> {
  return {
    type: 'groupMod',
    command,
    groupType: g.groupType,
    groupId: g.groupId,
    buckets: command === GroupModCommand.DELETE ? [] : g.buckets,
  };
}

// ---------------------------------------------------------------- diff

function sameRuleContent(a: PhysRule, b: PhysRule): boolean {
  return isDeepStrictEqual(a.instructions, b.instructions);
}

function sameGroupContent(a: PhysGroup, b: PhysGroup): boolean {
  return a.groupType === b.groupType && isDeepStrictEqual(a.buckets, b.buckets);
}

/**
 * Ordered steps from `from` to `to` (switches missing on one side count as empty). Rules are identified by
 * (table, priority, match): a changed rule is modified in place (keeps its counters); timeouts and cookies
 * of a rule that stays are left alone (they cannot be modified, and a copy keeps its own remaining timeout).
 */
export function diffStates(from: NetworkState, to: NetworkState): Step[] {
  const buckets = {
    addEgress: [] as PhysicalMessage[],
    addAppGroups: [] as PhysicalMessage[],
    addRules: [] as PhysicalMessage[],
    modify: [] as PhysicalMessage[],
    delRules: [] as PhysicalMessage[],
    delAppGroups: [] as PhysicalMessage[],
    delEgress: [] as PhysicalMessage[],
  };
  const dpids = new Set([...from.keys(), ...to.keys()]);
  for (const dpid of dpids) {
    const a = from.get(dpid) ?? emptySwitchState();
    const b = to.get(dpid) ?? emptySwitchState();
    for (const [id, g] of b.groups) {
      const old = a.groups.get(id);
      if (!old)
        (g.owner === 'egress' ? buckets.addEgress : buckets.addAppGroups).push({
          dpid,
          msg: groupMod(GroupModCommand.ADD, g),
        });
      else if (!sameGroupContent(old, g))
        buckets.modify.push({ dpid, msg: groupMod(GroupModCommand.MODIFY, g) });
    }
    for (const [k, r] of b.rules) {
      const old = a.rules.get(k);
      if (!old) buckets.addRules.push({ dpid, msg: addFlow(r) });
      else if (!sameRuleContent(old, r)) buckets.modify.push({ dpid, msg: modifyFlow(r) });
    }
    for (const [k, r] of a.rules) if (!b.rules.has(k)) buckets.delRules.push({ dpid, msg: deleteFlow(r) });
    for (const [id, g] of a.groups) {
      if (b.groups.has(id)) continue;
      const egress = g.owner === 'egress' || (g.owner === 'stray' && isEgressGroup(id));
      (egress ? buckets.delEgress : buckets.delAppGroups).push({
        dpid,
        msg: groupMod(GroupModCommand.DELETE, g),
      });
    }
  }
  const labels: [keyof typeof buckets, string][] = [
    ['addEgress', 'add egress groups'],
    ['addAppGroups', 'add app groups'],
    ['addRules', 'add rules'],
    ['modify', 'modify groups and rules'],
    ['delRules', 'delete rules'],
    ['delAppGroups', 'delete app groups'],
    ['delEgress', 'delete egress groups'],
  ];
  const steps: Step[] = [];
  for (const [k, label] of labels) {
    const messages = buckets[k];
    if (messages.length === 0) continue;
    steps.push({ label, messages, barrierOn: [...new Set(messages.map((m) => m.dpid))] });
  }
  return steps;
}

// ---------------------------------------------------------------- reconciliation

/** What a switch actually holds, from a flow dump and a group-desc dump. */
export function switchStateFromDump(flows: readonly FlowStats[], groups: readonly GroupDesc[]): SwitchState {
  const s = emptySwitchState();
  for (const f of flows) {
    const ruleId = ruleIdOfCookie(f.cookie);
    const owner: PhysRule['owner'] =
      ruleId !== undefined
        ? { kind: 'app', ruleId, variant: 0 }
        : isShimCookie(f.cookie)
          ? { kind: 'shim', role: 'classifier' }
          : { kind: 'stray' };
    put(s, {
      tableId: f.tableId,
      priority: f.priority,
      match: f.match,
      instructions: f.instructions,
      cookie: f.cookie,
      idleTimeout: f.idleTimeout,
      hardTimeout: f.hardTimeout,
      flags: f.flags,
      owner,
    });
  }
  for (const g of groups) {
    s.groups.set(g.groupId, {
      groupId: g.groupId,
      groupType: g.groupType,
      buckets: g.buckets,
      owner: isEgressGroup(g.groupId) ? 'egress' : 'app',
    });
  }
  return s;
}

/** Steps that put one switch back to its target (a reconnecting switch, or after a controller restart). */
export function reconcileSwitch(dpid: bigint, actual: SwitchState, target: SwitchState): Step[] {
  return diffStates(new Map([[dpid, actual]]), new Map([[dpid, target]]));
}

/** Count of rules per switch (for the rule-table overhead figures). */
export function ruleCounts(
  net: NetworkState,
): Map<bigint, { rules: number; appRules: number; groups: number }> {
  const out = new Map<bigint, { rules: number; appRules: number; groups: number }>();
  for (const [dpid, s] of net) {
    let app = 0;
    for (const r of s.rules.values()) if ((r.cookie & COOKIE_OWNER_MASK) === APP_COPY_COOKIE) app++;
    out.set(dpid, { rules: s.rules.size, appRules: app, groups: s.groups.size });
  }
  return out;
}
