// From what a run captured (absolute times: phase marks, blackout windows, traffic timelines, flow-mod
// counts) to the results JSON (times in seconds from the start of traffic). Pure: unit-tested with
// synthetic timelines.
import {
  type BlackoutWindow,
  type DnsTimeline,
  dnsPhaseStats,
  type IperfTimeline,
  iperfPhaseStats,
  type Phase,
  type PingTimeline,
  pingPhaseStats,
  rttStats,
  splitDnsLoss,
  splitPingLoss,
  totalBlackoutMs,
} from '../measure/index.ts';
import type { AlgorithmName, Scenario, Traffic } from './scenario.ts';

/** A phase as the runner recorded it (absolute ms). Transitions are the migration actions. */
export interface PhaseMark {
  name: string;
  kind: 'steady' | 'transition';
  start: number;
  end: number;
  /** Host step (1-based) the phase belongs to (moves and the steady phase after them). */
  step?: number;
  hosts?: string[];
}

export interface TrafficCapture {
  spec: Traffic;
  ping?: PingTimeline;
  iperf?: IperfTimeline;
  dns?: DnsTimeline;
  error?: string;
}

export interface MoveCapture {
  hosts: string[];
  start: number;
  end: number;
}

/** Everything one run recorded, with absolute times (ms since the epoch). */
export interface RunCapture {
  algorithm: AlgorithmName;
  /** Traffic round (1-based): each round is a separate pass of the timeline on a fresh test bed. */
  round: number;
  /** Start of traffic = start of phase `before`. */
  t0: number;
  /** Traffic stopped. */
  end: number;
  phases: PhaseMark[];
  blackouts: BlackoutWindow[];
  /** True when blackout windows were taken as the whole host step (the driver gave no exact times). */
  blackoutsApproximate: boolean;
  moves: MoveCapture[];
  traffic: TrafficCapture[];
  /** Flow-mods (and group-mods) sent to switches, total and per phase name (during the timeline). */
  flowMods: { setup: number; total: number; byPhase: Record<string, number> };
  groupMods: { setup: number; total: number; byPhase: Record<string, number> };
  timings: { buildMs: number; convergeMs: number; teardownMs: number };
  /** Why the run failed (it may still hold partial measurements). */
  error?: string;
  /** Migration status reported by the driver at the end, if any. */
  migrationStatus?: unknown;
  notes: string[];
}

// ---------------------------------------------------------------------------------------------------
// JSON shapes

export interface PhaseResult {
  name: string;
  kind: 'steady' | 'transition';
  start_s: number;
  end_s: number;
  /** Absolute times (ms since the epoch). */
  start_ms: number;
  end_ms: number;
  step?: number;
  hosts?: string[];
  /** Sum over the TCP streams (receiver side), Mbit/s; null when no TCP traffic. */
  tcp_mbps: number | null;
  udp_mbps: number | null;
  /** Over every answered ping probe sent in the phase (all ping flows pooled); null when none. */
  rtt_ms_avg: number | null;
  rtt_ms_sd: number | null;
  rtt_ms_min: number | null;
  rtt_ms_max: number | null;
  /** Answered probes the RTT figures are over. */
  rtt_n: number;
  ping_sent: number;
  ping_lost: number;
  dns_sent: number;
  dns_completed: number;
  dns_lost: number;
  dns_loss_pct: number | null;
  flow_mods: number;
  group_mods: number;
}

export interface FlowResult {
  id: string;
  kind: Traffic['kind'];
  from: string;
  to: string;
  error?: string;
  warnings?: string[];
  /** ping */
  sent?: number;
  answered?: number;
  lost?: number;
  lost_inside_blackout?: number;
  lost_outside_blackout?: number;
  lost_outside_ids?: number[];
  rtt_ms_avg?: number | null;
  rtt_ms_sd?: number | null;
  /** tcp/udp */
  mbps_avg?: number;
  retransmits?: number;
  /** dns */
  completed?: number;
  loss_pct?: number;
  qps?: number;
  per_phase?: Record<string, Record<string, number | null>>;
}

export interface RunResult {
  algorithm: AlgorithmName;
  ok: boolean;
  error?: string;
  started_at: string;
  t0_ms: number;
  duration_s: number;
  phases: PhaseResult[];
  ping: {
    sent: number;
    answered: number;
    lost: number;
    lost_inside_blackout: number;
    lost_outside_blackout: number;
    rtt_ms_avg: number | null;
    rtt_ms_sd: number | null;
  };
  dns: {
    sent: number;
    completed: number;
    lost: number;
    loss_pct: number;
    lost_inside_blackout: number;
    lost_outside_blackout: number;
    loss_outside_blackout_pct: number;
    sent_outside_blackout: number;
  };
  tcp: { mbps_avg: number | null };
  /** The paper's Table 1: RTT before any migration action, during (prepare .. finalize), after. */
  rtt_summary: Record<'before' | 'during' | 'after', { avg_ms: number; sd_ms: number; n: number } | null>;
  blackout_ms_total: number;
  blackouts: { host: string; start_s: number; end_s: number; start_ms: number; end_ms: number }[];
  blackouts_approximate: boolean;
  flow_mods: number;
  flow_mods_setup: number;
  group_mods: number;
  events: { name: string; at_s: number }[];
  flows: FlowResult[];
  series: {
    /** Per TCP/UDP flow: [start_s, end_s, Mbit/s] of each report interval (receiver side). */
    throughput: { id: string; kind: string; round: number; points: [number, number, number][] }[];
    /** Per ping flow, 100 ms bins: [bin start_s, avg RTT ms or null, max RTT ms or null, lost]. */
    rtt: {
      id: string;
      round: number;
      bin_s: number;
      points: [number, number | null, number | null, number][];
    }[];
    /** Per DNS flow, 1 s bins: [bin start_s, sent, lost]. */
    dns: { id: string; round: number; bin_s: number; points: [number, number, number][] }[];
  };
  /**
   * The traffic rounds this run is made of (one pass of the timeline each, on a fresh test bed), with their
   * own phase boundaries and blackouts (times from each round's own traffic start). Phases, blackouts and
   * events above are the first round's; per-phase figures combine the rounds (see mergeRounds).
   */
  rounds: RoundInfo[];
  timings: { build_s: number; converge_s: number; teardown_s: number };
  migration_status?: unknown;
  notes: string[];
}

export interface RoundInfo {
  round: number;
  traffic: string[];
  ok: boolean;
  error?: string;
  t0_ms: number;
  duration_s: number;
  phases: { name: string; kind: 'steady' | 'transition'; start_s: number; end_s: number }[];
  blackouts: { host: string; start_s: number; end_s: number }[];
  flow_mods: number;
}

export interface Results {
  scenario: string;
  description?: string;
  scenario_file?: string;
  reference?: 'paper';
  generated_at: string;
  vnm_version: string;
  settings: {
    algorithms: AlgorithmName[];
    short: boolean;
    blackout_ms: number;
    migration_order: string[][];
    timing_s: Record<string, number>;
    apps: { name: string; options: Record<string, unknown> }[];
    traffic: Traffic[];
  };
  link_model: { switch: string; tunnel: string; shaper: string; note: string };
  environment: Record<string, string | number>;
  runs: RunResult[];
  goals?: GoalCheck[];
}

// ---------------------------------------------------------------------------------------------------

const r3 = (x: number) => Math.round(x * 1000) / 1000;
const r1 = (x: number) => Math.round(x * 10) / 10;
const orNull = (x: number | undefined | null, f: (v: number) => number = r3) =>
  x === undefined || x === null || !Number.isFinite(x) ? null : f(x);

function pathHosts(t: Traffic): string[] {
  return [t.from, t.to];
}

/** Phases that are reported: steady ones always, transitions only when they took time. */
export function reportedPhases(marks: readonly PhaseMark[]): PhaseMark[] {
  return marks.filter((m) => m.kind === 'steady' || m.end > m.start);
}

function countsByPhase(c: { byPhase: Record<string, number> }, name: string): number {
  return c.byPhase[name] ?? 0;
}

/** Builds the JSON result of one run. */
export function assembleRun(cap: RunCapture): RunResult {
  const t0 = cap.t0;
  const rel = (t: number) => r3((t - t0) / 1000);
  const marks = reportedPhases(cap.phases);
  const phases: Phase[] = marks.map((m) => ({ name: m.name, start: m.start, end: m.end }));

  const pings = cap.traffic.filter((t) => t.ping);
  const tcps = cap.traffic.filter((t) => t.iperf && t.spec.kind === 'tcp');
  const udps = cap.traffic.filter((t) => t.iperf && t.spec.kind === 'udp');
  const dnss = cap.traffic.filter((t) => t.dns);

  const tcpStats = tcps.map((t) => iperfPhaseStats(t.iperf!, phases));
  const udpStats = udps.map((t) => iperfPhaseStats(t.iperf!, phases));
  const pingStats = pings.map((t) => pingPhaseStats(t.ping!, phases));
  const dnsStats = dnss.map((t) => dnsPhaseStats(t.dns!, phases));

  const phaseResults: PhaseResult[] = marks.map((m, i) => {
    const rtts: number[] = [];
    for (const t of pings)
      for (const p of t.ping!.probes)
        if (p.status === 'ok' && p.rttMs !== null && p.sentAt >= m.start && p.sentAt < m.end)
          rtts.push(p.rttMs);
    const rs = rttStats(rtts);
    const sumMbps = (stats: ReturnType<typeof iperfPhaseStats>[]) =>
      stats.length === 0 ? null : r3(stats.reduce((a, s) => a + (s[i]?.mbps ?? 0), 0));
    const dnsSent = dnsStats.reduce((a, s) => a + (s[i]?.sent ?? 0), 0);
    const dnsDone = dnsStats.reduce((a, s) => a + (s[i]?.completed ?? 0), 0);
    const pr: PhaseResult = {
      name: m.name,
      kind: m.kind,
      start_s: rel(m.start),
      end_s: rel(m.end),
      start_ms: m.start,
      end_ms: m.end,
      tcp_mbps: sumMbps(tcpStats),
      udp_mbps: sumMbps(udpStats),
      rtt_ms_avg: orNull(rs?.avgMs),
      rtt_ms_sd: orNull(rs?.sdMs),
      rtt_ms_min: orNull(rs?.minMs),
      rtt_ms_max: orNull(rs?.maxMs),
      rtt_n: rs?.n ?? 0,
      ping_sent: pingStats.reduce((a, s) => a + (s[i]?.sent ?? 0), 0),
      ping_lost: pingStats.reduce((a, s) => a + (s[i]?.lost ?? 0), 0),
      dns_sent: dnsSent,
      dns_completed: dnsDone,
      dns_lost: dnsSent - dnsDone,
      dns_loss_pct: dnss.length === 0 ? null : dnsSent > 0 ? r3((100 * (dnsSent - dnsDone)) / dnsSent) : 0,
      flow_mods: countsByPhase(cap.flowMods, m.name),
      group_mods: countsByPhase(cap.groupMods, m.name),
    };
    if (m.step !== undefined) pr.step = m.step;
    if (m.hosts) pr.hosts = [...m.hosts];
    return pr;
  });

  // Loss split by blackout windows, per flow.
  const flows: FlowResult[] = [];
  const ping = {
    sent: 0,
    answered: 0,
    lost: 0,
    lost_inside_blackout: 0,
    lost_outside_blackout: 0,
    rtt_ms_avg: null as number | null,
    rtt_ms_sd: null as number | null,
  };
  const allRtts: number[] = [];
  const dns = {
    sent: 0,
    completed: 0,
    lost: 0,
    loss_pct: 0,
    lost_inside_blackout: 0,
    lost_outside_blackout: 0,
    loss_outside_blackout_pct: 0,
    sent_outside_blackout: 0,
  };
  let dnsOutsideSent = 0;
  for (const t of cap.traffic) {
    const f: FlowResult = { id: t.spec.id, kind: t.spec.kind, from: t.spec.from, to: t.spec.to };
    if (t.error) f.error = t.error;
    const perPhase: Record<string, Record<string, number | null>> = {};
    if (t.ping) {
      const split = splitPingLoss(t.ping, cap.blackouts, { pathHosts: pathHosts(t.spec) });
      const rtts = t.ping.probes.filter((p) => p.status === 'ok' && p.rttMs !== null).map((p) => p.rttMs!);
      allRtts.push(...rtts);
      const rs = rttStats(rtts);
      Object.assign(f, {
        sent: split.sent,
        answered: split.answered,
        lost: split.lost,
        lost_inside_blackout: split.lostInside,
        lost_outside_blackout: split.lostOutside,
        lost_outside_ids: split.lostOutsideIds.slice(0, 200),
        rtt_ms_avg: orNull(rs?.avgMs),
        rtt_ms_sd: orNull(rs?.sdMs),
      });
      ping.sent += split.sent;
      ping.answered += split.answered;
      ping.lost += split.lost;
      ping.lost_inside_blackout += split.lostInside;
      ping.lost_outside_blackout += split.lostOutside;
      for (const s of pingPhaseStats(t.ping, phases))
        perPhase[s.name] = {
          sent: s.sent,
          lost: s.lost,
          rtt_ms_avg: orNull(s.rtt?.avgMs),
          rtt_ms_sd: orNull(s.rtt?.sdMs),
        };
      if (t.ping.warnings.length > 0) f.warnings = t.ping.warnings.slice(0, 10);
    }
    if (t.iperf) {
      f.mbps_avg = r3(t.iperf.summary.receiverMbps || t.iperf.summary.senderMbps);
      if (t.iperf.summary.retransmits !== undefined) f.retransmits = t.iperf.summary.retransmits;
      for (const s of iperfPhaseStats(t.iperf, phases)) perPhase[s.name] = { mbps: r3(s.mbps) };
      const w = [...t.iperf.warnings];
      if (t.iperf.error) w.push(`iperf3: ${t.iperf.error}`);
      if (w.length > 0) f.warnings = w.slice(0, 10);
    }
    if (t.dns) {
      const split = splitDnsLoss(t.dns, cap.blackouts, { pathHosts: pathHosts(t.spec) });
      Object.assign(f, {
        sent: t.dns.sent,
        completed: t.dns.completed,
        lost: t.dns.lost,
        loss_pct: r3(t.dns.lossPct),
        lost_inside_blackout: split.lostInside,
        lost_outside_blackout: split.lostOutside,
        qps: t.dns.stats?.qps ?? null,
      });
      dns.sent += t.dns.sent;
      dns.completed += t.dns.completed;
      dns.lost += t.dns.lost;
      dns.lost_inside_blackout += split.lostInside;
      dns.lost_outside_blackout += split.lostOutside;
      dnsOutsideSent += split.sent - split.sentInside;
      for (const s of dnsPhaseStats(t.dns, phases))
        perPhase[s.name] = { sent: s.sent, lost: s.lost, loss_pct: r3(s.lossPct) };
      if (t.dns.warnings.length > 0) f.warnings = t.dns.warnings.slice(0, 10);
    }
    f.per_phase = perPhase;
    flows.push(f);
  }
  const prs = rttStats(allRtts);
  ping.rtt_ms_avg = orNull(prs?.avgMs);
  ping.rtt_ms_sd = orNull(prs?.sdMs);
  dns.loss_pct = dns.sent > 0 ? r3((100 * dns.lost) / dns.sent) : 0;
  dns.sent_outside_blackout = dnsOutsideSent;
  dns.loss_outside_blackout_pct =
    dnsOutsideSent > 0 ? r3((100 * dns.lost_outside_blackout) / dnsOutsideSent) : 0;

  // RTT before / during / after (Table 1).
  const firstAction = marks.find((m) => m.name !== 'before');
  const afterMark = marks.find((m) => m.name === 'after-finalize');
  const beforeMark = marks.find((m) => m.name === 'before');
  const window = (a: number | undefined, b: number | undefined) => {
    if (a === undefined || b === undefined || !(b > a)) return null;
    const xs: number[] = [];
    for (const t of pings)
      for (const p of t.ping!.probes)
        if (p.status === 'ok' && p.rttMs !== null && p.sentAt >= a && p.sentAt < b) xs.push(p.rttMs);
    const s = rttStats(xs);
    return s ? { avg_ms: r3(s.avgMs), sd_ms: r3(s.sdMs), n: s.n } : null;
  };
  const rtt_summary = {
    before: window(beforeMark?.start, beforeMark?.end),
    during: window(firstAction?.start, afterMark?.start),
    after: window(afterMark?.start, afterMark?.end),
  };

  // Series for charts.
  const throughput = [...tcps, ...udps].map((t) => {
    const s = t.iperf!.receiver.length > 0 ? t.iperf!.receiver : t.iperf!.sender;
    return {
      id: t.spec.id,
      kind: t.spec.kind,
      round: cap.round,
      points: s.map((p) => [rel(p.start), rel(p.end), r3(p.bitsPerSecond / 1e6)] as [number, number, number]),
    };
  });
  const rtt = pings.map((t) => ({
    id: t.spec.id,
    round: cap.round,
    bin_s: 0.1,
    points: rttBins(t.ping!, t0, cap.end, 100),
  }));
  const dnsSeries = dnss.map((t) => ({
    id: t.spec.id,
    round: cap.round,
    bin_s: 1,
    points: dnsBins(t.dns!, t0, 1000),
  }));

  const tcpTotal =
    tcps.length === 0
      ? null
      : r3(tcps.reduce((a, t) => a + (t.iperf!.summary.receiverMbps || t.iperf!.summary.senderMbps), 0));

  const events = cap.phases.map((m) => ({ name: m.name, at_s: rel(m.start) }));
  events.push({ name: 'end', at_s: rel(cap.end) });

  const out: RunResult = {
    algorithm: cap.algorithm,
    ok: cap.error === undefined,
    started_at: new Date(t0).toISOString(),
    t0_ms: t0,
    duration_s: rel(cap.end),
    phases: phaseResults,
    ping,
    dns,
    tcp: { mbps_avg: tcpTotal },
    rtt_summary,
    blackout_ms_total: r1(totalBlackoutMs(cap.blackouts)),
    blackouts: cap.blackouts.map((b) => ({
      host: b.host,
      start_s: rel(b.start),
      end_s: rel(b.end),
      start_ms: b.start,
      end_ms: b.end,
    })),
    blackouts_approximate: cap.blackoutsApproximate,
    flow_mods: cap.flowMods.total,
    flow_mods_setup: cap.flowMods.setup,
    group_mods: cap.groupMods.total,
    events,
    flows,
    series: { throughput, rtt, dns: dnsSeries },
    timings: {
      build_s: r3(cap.timings.buildMs / 1000),
      converge_s: r3(cap.timings.convergeMs / 1000),
      teardown_s: r3(cap.timings.teardownMs / 1000),
    },
    notes: [...cap.notes],
    rounds: [],
  };
  const round: RoundInfo = {
    round: cap.round,
    traffic: cap.traffic.map((t) => t.spec.id),
    ok: cap.error === undefined,
    t0_ms: t0,
    duration_s: rel(cap.end),
    phases: phaseResults.map((p) => ({ name: p.name, kind: p.kind, start_s: p.start_s, end_s: p.end_s })),
    blackouts: out.blackouts.map((b) => ({ host: b.host, start_s: b.start_s, end_s: b.end_s })),
    flow_mods: cap.flowMods.total,
  };
  if (cap.error !== undefined) round.error = cap.error;
  out.rounds.push(round);
  if (cap.error !== undefined) out.error = cap.error;
  if (cap.migrationStatus !== undefined) out.migration_status = cap.migrationStatus;
  return out;
}

function rttBins(
  tl: PingTimeline,
  t0: number,
  end: number,
  binMs: number,
): [number, number | null, number | null, number][] {
  const n = Math.max(0, Math.ceil((end - t0) / binMs));
  const sum = new Float64Array(n);
  const cnt = new Uint32Array(n);
  const max = new Float64Array(n);
  const lost = new Uint32Array(n);
  for (const p of tl.probes) {
    const i = Math.floor((p.sentAt - t0) / binMs);
    if (i < 0 || i >= n) continue;
    if (p.status === 'ok' && p.rttMs !== null) {
      sum[i]! += p.rttMs;
      cnt[i]! += 1;
      if (p.rttMs > max[i]!) max[i] = p.rttMs;
    } else if (p.status === 'lost' || p.status === 'error') lost[i]! += 1;
  }
  const out: [number, number | null, number | null, number][] = [];
  for (let i = 0; i < n; i++) {
    if (cnt[i] === 0 && lost[i] === 0) continue;
    out.push([
      r3((i * binMs) / 1000),
      cnt[i]! > 0 ? r3(sum[i]! / cnt[i]!) : null,
      cnt[i]! > 0 ? r3(max[i]!) : null,
      lost[i]!,
    ]);
  }
  return out;
}

function dnsBins(tl: DnsTimeline, t0: number, binMs: number): [number, number, number][] {
  const bins = new Map<number, [number, number]>();
  for (const q of tl.queries) {
    const i = Math.floor((q.sentAt - t0) / binMs);
    const b = bins.get(i) ?? [0, 0];
    b[0]++;
    if (q.status !== 'ok') b[1]++;
    bins.set(i, b);
  }
  return [...bins.entries()]
    .sort((a, b) => a[0] - b[0])
    .map(([i, [s, l]]) => [r3((i * binMs) / 1000), s, l] as [number, number, number]);
}

// ---------------------------------------------------------------------------------------------------
// Rounds

interface Moments {
  n: number;
  avg: number;
  sd: number;
  min: number;
  max: number;
}

/** Pools (n, mean, sd, min, max) groups into one (population sd). Null when no group has samples. */
export function poolMoments(groups: readonly (Moments | null)[]): Moments | null {
  const gs = groups.filter((g): g is Moments => g !== null && g.n > 0);
  if (gs.length === 0) return null;
  const n = gs.reduce((a, g) => a + g.n, 0);
  const avg = gs.reduce((a, g) => a + g.n * g.avg, 0) / n;
  const ex2 = gs.reduce((a, g) => a + g.n * (g.sd * g.sd + g.avg * g.avg), 0) / n;
  return {
    n,
    avg,
    sd: Math.sqrt(Math.max(0, ex2 - avg * avg)),
    min: Math.min(...gs.map((g) => g.min)),
    max: Math.max(...gs.map((g) => g.max)),
  };
}

function mean(xs: readonly (number | null | undefined)[]): number | null {
  const v = xs.filter((x): x is number => typeof x === 'number' && Number.isFinite(x));
  return v.length === 0 ? null : v.reduce((a, b) => a + b, 0) / v.length;
}

/**
 * Combines the rounds of one algorithm into one run result. Phase boundaries, blackouts and events are the
 * first round's; per phase, throughput is averaged over the rounds that measured it, RTT pooled over every
 * probe, probe and query counts summed; flow-mods and blackout totals averaged (they belong to a pass of
 * the timeline, not to traffic).
 */
export function mergeRounds(rs: readonly RunResult[]): RunResult {
  if (rs.length === 0) throw new Error('no rounds to merge');
  if (rs.length === 1) return rs[0]!;
  const base = rs[0]!;
  const avgInt = (xs: number[]) => Math.round(xs.reduce((a, b) => a + b, 0) / xs.length);
  const phases: PhaseResult[] = base.phases.map((p) => {
    const same = rs.map((r) => r.phases.find((q) => q.name === p.name)).filter((q): q is PhaseResult => !!q);
    const rtt = poolMoments(
      same.map((q) =>
        q.rtt_ms_avg === null
          ? null
          : {
              n: q.rtt_n,
              avg: q.rtt_ms_avg,
              sd: q.rtt_ms_sd ?? 0,
              min: q.rtt_ms_min ?? 0,
              max: q.rtt_ms_max ?? 0,
            },
      ),
    );
    const dnsSent = same.reduce((a, q) => a + q.dns_sent, 0);
    const dnsDone = same.reduce((a, q) => a + q.dns_completed, 0);
    const anyDns = same.some((q) => q.dns_loss_pct !== null);
    const tcp = mean(same.map((q) => q.tcp_mbps));
    const udp = mean(same.map((q) => q.udp_mbps));
    return {
      ...p,
      tcp_mbps: tcp === null ? null : r3(tcp),
      udp_mbps: udp === null ? null : r3(udp),
      rtt_ms_avg: orNull(rtt?.avg),
      rtt_ms_sd: orNull(rtt?.sd),
      rtt_ms_min: orNull(rtt?.min),
      rtt_ms_max: orNull(rtt?.max),
      rtt_n: rtt?.n ?? 0,
      ping_sent: same.reduce((a, q) => a + q.ping_sent, 0),
      ping_lost: same.reduce((a, q) => a + q.ping_lost, 0),
      dns_sent: dnsSent,
      dns_completed: dnsDone,
      dns_lost: dnsSent - dnsDone,
      dns_loss_pct: !anyDns ? null : dnsSent > 0 ? r3((100 * (dnsSent - dnsDone)) / dnsSent) : 0,
      flow_mods: avgInt(same.map((q) => q.flow_mods)),
      group_mods: avgInt(same.map((q) => q.group_mods)),
    };
  });
  const sum = <K extends string>(get: (r: RunResult) => Record<K, number>, k: K) =>
    rs.reduce((a, r) => a + get(r)[k], 0);
  const pingRtt = poolMoments(
    rs.map((r) =>
      r.ping.rtt_ms_avg === null
        ? null
        : { n: r.ping.answered, avg: r.ping.rtt_ms_avg, sd: r.ping.rtt_ms_sd ?? 0, min: 0, max: 0 },
    ),
  );
  const dnsSent = sum((r) => r.dns, 'sent');
  const dnsLost = sum((r) => r.dns, 'lost');
  const outSent = sum((r) => r.dns, 'sent_outside_blackout');
  const outLost = sum((r) => r.dns, 'lost_outside_blackout');
  const summary = (w: 'before' | 'during' | 'after') => {
    const m = poolMoments(
      rs.map((r) => {
        const x = r.rtt_summary[w];
        return x ? { n: x.n, avg: x.avg_ms, sd: x.sd_ms, min: 0, max: 0 } : null;
      }),
    );
    return m ? { avg_ms: r3(m.avg), sd_ms: r3(m.sd), n: m.n } : null;
  };
  const tcp = mean(rs.map((r) => r.tcp.mbps_avg));
  const errors = rs
    .filter((r) => r.error !== undefined)
    .map((r) => `round ${r.rounds[0]?.round ?? '?'}: ${r.error}`);
  const out: RunResult = {
    ...base,
    ok: rs.every((r) => r.ok),
    phases,
    ping: {
      sent: sum((r) => r.ping, 'sent'),
      answered: sum((r) => r.ping, 'answered'),
      lost: sum((r) => r.ping, 'lost'),
      lost_inside_blackout: sum((r) => r.ping, 'lost_inside_blackout'),
      lost_outside_blackout: sum((r) => r.ping, 'lost_outside_blackout'),
      rtt_ms_avg: orNull(pingRtt?.avg),
      rtt_ms_sd: orNull(pingRtt?.sd),
    },
    dns: {
      sent: dnsSent,
      completed: sum((r) => r.dns, 'completed'),
      lost: dnsLost,
      loss_pct: dnsSent > 0 ? r3((100 * dnsLost) / dnsSent) : 0,
      lost_inside_blackout: sum((r) => r.dns, 'lost_inside_blackout'),
      lost_outside_blackout: outLost,
      loss_outside_blackout_pct: outSent > 0 ? r3((100 * outLost) / outSent) : 0,
      sent_outside_blackout: outSent,
    },
    tcp: { mbps_avg: tcp === null ? null : r3(tcp) },
    rtt_summary: { before: summary('before'), during: summary('during'), after: summary('after') },
    blackout_ms_total: r1(rs.reduce((a, r) => a + r.blackout_ms_total, 0) / rs.length),
    blackouts_approximate: rs.some((r) => r.blackouts_approximate),
    flow_mods: avgInt(rs.map((r) => r.flow_mods)),
    flow_mods_setup: avgInt(rs.map((r) => r.flow_mods_setup)),
    group_mods: avgInt(rs.map((r) => r.group_mods)),
    flows: rs.flatMap((r) => r.flows),
    series: {
      throughput: rs.flatMap((r) => r.series.throughput),
      rtt: rs.flatMap((r) => r.series.rtt),
      dns: rs.flatMap((r) => r.series.dns),
    },
    timings: {
      build_s: r3(rs.reduce((a, r) => a + r.timings.build_s, 0)),
      converge_s: r3(rs.reduce((a, r) => a + r.timings.converge_s, 0)),
      teardown_s: r3(rs.reduce((a, r) => a + r.timings.teardown_s, 0)),
    },
    notes: rs.flatMap((r) => r.notes.map((x) => `round ${r.rounds[0]?.round ?? '?'}: ${x}`)),
    rounds: rs.flatMap((r) => r.rounds),
  };
  if (errors.length > 0) out.error = errors.join('; ');
  else delete out.error;
  const status = rs.map((r) => r.migration_status).filter((x) => x !== undefined);
  if (status.length > 0) out.migration_status = status.length === 1 ? status[0] : status;
  return out;
}

// ---------------------------------------------------------------------------------------------------
// Goals (issue "vnm experiment", must show 2)

export interface GoalCheck {
  goal: string;
  algorithm: AlgorithmName;
  met: boolean | null;
  detail: string;
}

/**
 * Number of tunnel crossings per direction for a pair of hosts, given where each is ('old' | 'new'), by
 * algorithm. ASAP: a packet from a migrated host jumps to the old network at its first hop, a packet to a
 * migrated host goes back at its last hop. ALAP: a packet crosses once at the last switch when the two
 * hosts are in different networks.
 */
export function tunnelCrossings(
  algorithm: AlgorithmName,
  a: 'old' | 'new',
  b: 'old' | 'new',
  finalized: boolean,
): number {
  if (algorithm === 'none' || finalized) return 0;
  if (algorithm === 'alap') return a === b ? 0 : 1;
  return (a === 'new' ? 1 : 0) + (b === 'new' ? 1 : 0);
}

/**
 * Where each host is during each reported phase (a host counts as moved from the start of its move).
 */
export function hostLocations(
  run: RunResult,
  order: readonly (readonly string[])[],
): Map<string, { moved: Set<string>; finalized: boolean }> {
  const out = new Map<string, { moved: Set<string>; finalized: boolean }>();
  const moved = new Set<string>();
  let finalized = false;
  for (const p of run.phases) {
    if (p.kind === 'transition' && p.step !== undefined)
      for (const h of order[p.step - 1] ?? []) moved.add(h);
    if (p.name === 'finalize') finalized = true;
    out.set(p.name, {
      moved: new Set(run.algorithm === 'none' ? [] : moved),
      finalized: finalized && p.name !== 'finalize',
    });
  }
  return out;
}

/**
 * The goals of issue 6: no ping and no DNS query lost outside host blackouts (asap, alap); ALAP with all
 * hosts migrated at >= 98 % of the `none` run's throughput; RTT during migration within 1.1x of before plus
 * the tunnel's added delay where the path crosses it (per steady phase).
 */
export function evaluateGoals(
  runs: readonly RunResult[],
  opts: {
    order: readonly (readonly string[])[];
    tunnelDelayUs: number;
    pingPairs: readonly [string, string][];
  },
): GoalCheck[] {
  const out: GoalCheck[] = [];
  const none = runs.find((r) => r.algorithm === 'none' && r.ok);
  for (const r of runs) {
    if (r.algorithm === 'none') continue;
    const pl = r.ping.lost_outside_blackout;
    out.push({
      goal: 'no ping lost outside host blackouts',
      algorithm: r.algorithm,
      met: r.ping.sent > 0 ? pl === 0 : null,
      detail: `${pl} of ${r.ping.sent} lost outside blackouts (${r.ping.lost_inside_blackout} inside)`,
    });
    const dl = r.dns.lost_outside_blackout;
    out.push({
      goal: 'no DNS query lost outside host blackouts',
      algorithm: r.algorithm,
      met: r.dns.sent > 0 ? dl === 0 : null,
      detail: `${dl} of ${r.dns.sent} lost outside blackouts (${r.dns.loss_outside_blackout_pct} %; ${r.dns.lost_inside_blackout} inside)`,
    });
    if (r.algorithm === 'alap') {
      const a = r.phases.find((p) => p.name === 'all-migrated')?.tcp_mbps ?? null;
      const n = none?.phases.find((p) => p.name === 'all-migrated')?.tcp_mbps ?? null;
      const own = r.phases.find((p) => p.name === 'before')?.tcp_mbps ?? null;
      out.push({
        goal: "ALAP all-migrated TCP >= 98 % of the 'none' run",
        algorithm: r.algorithm,
        met: a !== null && n !== null && n > 0 ? a >= 0.98 * n : null,
        detail:
          a !== null && n !== null && n > 0
            ? `${a.toFixed(1)} vs ${n.toFixed(1)} Mbit/s (${((100 * a) / n).toFixed(1)} %)` +
              (own !== null && own > 0 ? `; ${((100 * a) / own).toFixed(1)} % of its own 'before'` : '')
            : 'no TCP measurement in both runs',
      });
    }
    // RTT: per steady migration phase, against before.
    const before = r.phases.find((p) => p.name === 'before')?.rtt_ms_avg ?? null;
    const locs = hostLocations(r, opts.order);
    const where = (h: string, moved: Set<string>) => (moved.has(h) ? 'new' : 'old') as 'old' | 'new';
    const bad: string[] = [];
    const ok: string[] = [];
    for (const p of r.phases) {
      if (p.kind !== 'steady' || p.name === 'before' || p.name === 'after-finalize' || p.rtt_ms_avg === null)
        continue;
      const loc = locs.get(p.name);
      if (!loc || before === null) continue;
      let crossings = 0;
      for (const [a, b] of opts.pingPairs)
        crossings = Math.max(
          crossings,
          tunnelCrossings(r.algorithm, where(a, loc.moved), where(b, loc.moved), loc.finalized),
        );
      // A crossing goes old switch -> tunnel switch -> new switch: two tunnel links, each with the delay.
      const extra = (2 * crossings * 2 * opts.tunnelDelayUs) / 1000;
      const limit = 1.1 * before + extra;
      const txt = `${p.name} ${p.rtt_ms_avg.toFixed(3)} <= ${limit.toFixed(3)} ms (${crossings} crossing(s))`;
      (p.rtt_ms_avg <= limit ? ok : bad).push(txt);
    }
    out.push({
      goal: 'RTT during migration within 1.1x before + tunnel delay',
      algorithm: r.algorithm,
      met: before === null || ok.length + bad.length === 0 ? null : bad.length === 0,
      detail: bad.length > 0 ? `exceeded: ${bad.join('; ')}` : ok.join('; ') || 'no RTT measured',
    });
  }
  return out;
}

/** Ping pairs of a scenario (for the RTT goal). */
export function pingPairs(s: Scenario): [string, string][] {
  return s.traffic.filter((t) => t.kind === 'ping').map((t) => [t.from, t.to] as [string, string]);
}
