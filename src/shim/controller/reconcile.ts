// Reconciliation of one physical switch with what the shim says it should hold (a switch that connects or
// reconnects, or every switch after a controller restart): dump its flows and groups, diff them against
// the target state (the pure core's targetState/reconcileSwitch: install before remove), and bring the
// ledger's record of physical copies in line with what the switch really holds.

import { FlowRemovedReason, Group, Port, Table } from '../../openflow/constants.ts';
import type { FlowRemoved, FlowStats, GroupDesc, MultipartRequestBody } from '../../openflow/types.ts';
import type { CopyRecord, Counters, Ledger } from '../ledger.ts';
import { variantKey } from '../ledger.ts';
import type { Step } from '../model.ts';
import { appCopyCookie, type PhysRule, ruleIdOfCookie } from '../pipeline.ts';
import { emptySwitchState, reconcileSwitch, type SwitchState, switchStateFromDump } from '../target.ts';

/** A flow-stats request for every flow of every table. */
export const DUMP_ALL_FLOWS: MultipartRequestBody = {
  kind: 'flow',
  tableId: Table.ALL,
  outPort: Port.ANY,
  outGroup: Group.ANY,
  cookie: 0n,
  cookieMask: 0n,
  match: { fields: [] },
};

export const DUMP_ALL_GROUPS: MultipartRequestBody = { kind: 'groupDesc' };

export interface ReconcileResult {
  /** What the switch holds (from the dump). */
  actual: SwitchState;
  /** Ordered steps that bring it to its target. */
  steps: Step[];
  /** Counters of copies found on the switch, for the ledger. */
  observed: { copy: CopyRecord; counters: Counters }[];
  /** Target app copies found on the switch that the ledger has no record of (e.g. after a restart). */
  adopted: PhysRule[];
  /**
   * Ledger copies that are not on the switch and do not belong there: `drop` (the rule lives on; fold the
   * counters) or `removed` (the rule is gone: the copy's flow-removed completes it; see lostCopyRemoved).
   */
  lost: { copy: CopyRecord; rule: 'drop' | 'removed' }[];
}

function copyKey(ruleId: number, variant: string): string {
  return `${ruleId}/${variant}`;
}

/** The app copies (ruleId/variant) a switch state holds. */
function appCopies(s: SwitchState): Map<string, PhysRule> {
  const out = new Map<string, PhysRule>();
  for (const r of s.rules.values()) {
    if (r.owner.kind !== 'app') continue;
    const id = ruleIdOfCookie(r.cookie);
    if (id !== undefined) out.set(copyKey(id, variantKey(r.match)), r);
  }
  return out;
}

/** Compare a dump with the switch's target; pure. */
export function planReconcile(
  ledger: Ledger,
  dpid: bigint,
  flows: readonly FlowStats[],
  groups: readonly GroupDesc[],
  target: SwitchState = emptySwitchState(),
): ReconcileResult {
  const actual = switchStateFromDump(flows, groups);
  const steps = reconcileSwitch(dpid, actual, target);
  const onSwitch = appCopies(actual);
  const wanted = appCopies(target);
  const observed: ReconcileResult['observed'] = [];
  const adopted: PhysRule[] = [];
  const lost: ReconcileResult['lost'] = [];
  const known = new Set<string>();
  for (const c of ledger.copiesOn(dpid)) {
    const key = copyKey(c.ruleId, c.variant);
    known.add(key);
    if (onSwitch.has(key)) continue;
    if (wanted.has(key)) continue; // re-added by the steps (recordPhysical revives it)
    const rule = ledger.rule(c.ruleId);
    lost.push({ copy: c, rule: rule?.removal ? 'removed' : 'drop' });
  }
  for (const f of flows) {
    const id = ruleIdOfCookie(f.cookie);
    if (id === undefined) continue;
    const c = ledger.copy(dpid, id, variantKey(f.match));
    if (c) observed.push({ copy: c, counters: { packets: f.packetCount, bytes: f.byteCount } });
  }
  for (const [key, r] of wanted) if (onSwitch.has(key) && !known.has(key)) adopted.push(r);
  return { actual, steps, observed, adopted, lost };
}

/** The flow-removed a lost copy of a removed rule stands for (feed it to translateFlowRemoved). */
export function lostCopyRemoved(c: CopyRecord): FlowRemoved {
  return {
    type: 'flowRemoved',
    xid: 0,
    cookie: appCopyCookie(c.ruleId),
    priority: c.priority,
    reason: FlowRemovedReason.DELETE,
    tableId: c.tableId,
    durationSec: 0,
    durationNsec: 0,
    idleTimeout: 0,
    hardTimeout: 0,
    packetCount: c.seen.packets,
    byteCount: c.seen.bytes,
    match: c.match,
  };
}
