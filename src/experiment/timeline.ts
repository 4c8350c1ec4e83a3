// The timeline of one run, planned from a scenario (pure): waits (steady phases with traffic only) and
// migration actions (prepare, host steps, finalize) in order, with the phase each one spans.
//
//   before | prepare | (prepared) | move h1 | one-migrated | move h2 | all-migrated | finalize | after-finalize
//
// Steady phases after host step k of K: `one-migrated` (k = 1 < K), `migrated-k` (1 < k < K), `all-migrated`
// (k = K). The `none` run follows the same timeline without the actions (their phases then have no length).
import type { AlgorithmName, Scenario } from './scenario.ts';

export type ActionName = 'prepare' | 'move' | 'finalize';

export type TimelineItem =
  | { type: 'wait'; phase: string; ms: number; step?: number }
  | { type: 'action'; phase: string; action: ActionName; hosts?: string[]; step?: number };

/** Name of the steady phase after host step k (1-based) of K. */
export function steadyPhaseName(k: number, steps: number): string {
  if (k >= steps) return 'all-migrated';
  if (k === 1) return 'one-migrated';
  return `migrated-${k}`;
}

/** Name of the transition phase of host step k. */
export function movePhaseName(hosts: readonly string[]): string {
  return `move-${hosts.join('+')}`;
}

export function planTimeline(s: Scenario): TimelineItem[] {
  const t = s.timing;
  const items: TimelineItem[] = [{ type: 'wait', phase: 'before', ms: t.beforeMs }];
  items.push({ type: 'action', phase: 'prepare', action: 'prepare' });
  if (t.preparedMs > 0) items.push({ type: 'wait', phase: 'prepared', ms: t.preparedMs });
  const steps = s.migration.order;
  steps.forEach((hosts, i) => {
    const k = i + 1;
    items.push({ type: 'action', phase: movePhaseName(hosts), action: 'move', hosts: [...hosts], step: k });
    items.push({
      type: 'wait',
      phase: steadyPhaseName(k, steps.length),
      ms: k === steps.length ? t.beforeFinalizeMs : t.betweenMs,
      step: k,
    });
  });
  items.push({ type: 'action', phase: 'finalize', action: 'finalize' });
  items.push({ type: 'wait', phase: 'after-finalize', ms: t.afterMs });
  return items;
}

/** Rough time an action takes (for the progress display's "time left"). */
export function estimateActionMs(item: TimelineItem, algorithm: AlgorithmName, blackoutMs: number): number {
  if (item.type === 'wait') return item.ms;
  if (algorithm === 'none') return 0;
  // Host steps: the shim's make-before-break transitions (with barriers) around the test bed's move.
  if (item.action === 'move') return blackoutMs + 1200;
  return 300;
}

/** Expected length of the traffic part of a run (ms). */
export function estimateTimelineMs(s: Scenario, algorithm: AlgorithmName): number {
  return planTimeline(s).reduce((a, it) => a + estimateActionMs(it, algorithm, s.migration.blackoutMs), 0);
}

/** Expected length of a whole run: build, convergence, settle, timeline, teardown (ms). */
export function estimateRunMs(s: Scenario, algorithm: AlgorithmName): number {
  const setup = 2500 + s.topology.switches.length * 150 + 3000;
  return setup + s.timing.settleMs + estimateTimelineMs(s, algorithm) + 1500;
}
