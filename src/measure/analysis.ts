// Pure analysis of measured timelines: loss inside vs outside host blackouts, and per-phase figures
// (RTT, throughput, DNS loss).
//
// THE BLACKOUT RULE. A probe (ping echo, DNS query) has a flight span [send, reply], where reply is the
// time its reply arrived (answered) or would have arrived (lost or errored: send + the typical round trip,
// the median over answered probes, or 0 when none was answered). The probe is INSIDE a blackout when its
// flight span overlaps a blackout window of a host on its path, each window widened by `guardMs` on both
// sides: send <= window.end + guard AND reply >= window.start - guard. In words: it was sent during the
// blackout, or its reply was due during it, or the blackout fell between the two. Windows apply to a
// probe when their host is one of the probe's path hosts (`pathHosts`; a window with host `*` applies to
// every path; with no `pathHosts` given, every window applies). Loss inside a blackout is the host's own
// downtime; loss outside is what the migration must answer for.
//
// Phases are half-open [start, end). A probe belongs to the phase in which it was sent.
import type { DnsTimeline } from './dns.ts';
import type { IperfTimeline, ThroughputPoint } from './iperf.ts';
import { type PingTimeline, type RttStats, rttStats } from './ping.ts';
import type { BlackoutWindow, EpochMs, Phase, TimeWindow } from './types.ts';

export interface BlackoutOptions {
  /** Widen every window by this much on both sides (ms). Default 0. */
  guardMs?: number;
  /** Hosts on the measured path (e.g. ['h1', 'h2']); windows of other hosts are ignored. */
  pathHosts?: readonly string[];
  /** Round trip assumed for unanswered probes; default the median over answered probes (or 0). */
  expectedRttMs?: number;
}

/** Windows that apply to a path (see the rule above). */
export function windowsForPath(
  windows: readonly BlackoutWindow[],
  pathHosts?: readonly string[],
): BlackoutWindow[] {
  if (!pathHosts) return [...windows];
  return windows.filter((w) => w.host === '*' || pathHosts.includes(w.host));
}

/** True when the flight span [sentAt, replyAt] overlaps one of the windows widened by guardMs. */
export function inBlackout(
  sentAt: EpochMs,
  replyAt: EpochMs,
  windows: readonly TimeWindow[],
  guardMs = 0,
): boolean {
  const lo = Math.min(sentAt, replyAt);
  const hi = Math.max(sentAt, replyAt);
  for (const w of windows) if (lo <= w.end + guardMs && hi >= w.start - guardMs) return true;
  return false;
}

export function median(xs: readonly number[]): number | null {
  if (xs.length === 0) return null;
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

/** Total time covered by the windows (overlaps counted once), in ms. */
export function totalBlackoutMs(windows: readonly TimeWindow[]): number {
  const s = [...windows].filter((w) => w.end > w.start).sort((a, b) => a.start - b.start);
  let total = 0;
  let curS = Number.NEGATIVE_INFINITY;
  let curE = Number.NEGATIVE_INFINITY;
  for (const w of s) {
    if (w.start > curE) {
      if (curE > curS) total += curE - curS;
      curS = w.start;
      curE = w.end;
    } else curE = Math.max(curE, w.end);
  }
  if (curE > curS) total += curE - curS;
  return total;
}

/** A probe reduced to what the blackout split needs. */
export interface FlightProbe {
  id: number;
  sentAt: EpochMs;
  /** Actual reply time, or null when unanswered. */
  replyAt: EpochMs | null;
  /** Counted as lost (unanswered, error, timeout). Probes neither lost nor answered are ignored (pending). */
  lost: boolean;
  answered: boolean;
}

export interface LossSplit {
  /** Probes considered (answered + lost; pending ones are left out). */
  sent: number;
  answered: number;
  lost: number;
  /** Probes whose flight overlapped a blackout, and how many of those were lost. */
  sentInside: number;
  lostInside: number;
  lostOutside: number;
  /** Loss in % of the probes outside blackouts. */
  lossOutsidePct: number;
  /** Ids (ping: icmp_seq) of the probes lost outside / inside blackouts. */
  lostOutsideIds: number[];
  lostInsideIds: number[];
  guardMs: number;
  expectedRttMs: number;
}

/** Splits loss into inside and outside blackout windows (generic over probes). */
export function splitLoss(
  probes: readonly FlightProbe[],
  windows: readonly BlackoutWindow[],
  opts: BlackoutOptions = {},
): LossSplit {
  const guard = opts.guardMs ?? 0;
  const ws = windowsForPath(windows, opts.pathHosts);
  const rtts: number[] = [];
  for (const p of probes) if (p.answered && p.replyAt !== null) rtts.push(p.replyAt - p.sentAt);
  const expected = opts.expectedRttMs ?? median(rtts) ?? 0;
  const out: LossSplit = {
    sent: 0,
    answered: 0,
    lost: 0,
    sentInside: 0,
    lostInside: 0,
    lostOutside: 0,
    lossOutsidePct: 0,
    lostOutsideIds: [],
    lostInsideIds: [],
    guardMs: guard,
    expectedRttMs: expected,
  };
  for (const p of probes) {
    if (!p.answered && !p.lost) continue;
    out.sent++;
    if (p.answered) out.answered++;
    else out.lost++;
    const reply = p.answered && p.replyAt !== null ? p.replyAt : p.sentAt + expected;
    const inside = inBlackout(p.sentAt, reply, ws, guard);
    if (inside) out.sentInside++;
    if (p.lost) {
      if (inside) {
        out.lostInside++;
        out.lostInsideIds.push(p.id);
      } else {
        out.lostOutside++;
        out.lostOutsideIds.push(p.id);
      }
    }
  }
  const outside = out.sent - out.sentInside;
  out.lossOutsidePct = outside > 0 ? (100 * out.lostOutside) / outside : 0;
  return out;
}

export function pingFlightProbes(tl: PingTimeline): FlightProbe[] {
  return tl.probes.map((p) => ({
    id: p.seq,
    sentAt: p.sentAt,
    replyAt: p.receivedAt,
    answered: p.status === 'ok',
    lost: p.status === 'lost' || p.status === 'error',
  }));
}

export function dnsFlightProbes(tl: DnsTimeline): FlightProbe[] {
  return tl.queries.map((q, i) => ({
    id: i,
    sentAt: q.sentAt,
    replyAt: q.status === 'ok' ? q.doneAt : null,
    answered: q.status === 'ok',
    lost: q.status === 'timeout',
  }));
}

/** Ping loss inside vs outside blackouts (ids are icmp_seq). */
export function splitPingLoss(
  tl: PingTimeline,
  windows: readonly BlackoutWindow[],
  opts: BlackoutOptions = {},
): LossSplit {
  return splitLoss(pingFlightProbes(tl), windows, opts);
}

/** DNS loss inside vs outside blackouts (ids are the index in tl.queries). */
export function splitDnsLoss(
  tl: DnsTimeline,
  windows: readonly BlackoutWindow[],
  opts: BlackoutOptions = {},
): LossSplit {
  return splitLoss(dnsFlightProbes(tl), windows, opts);
}

function inPhase(t: EpochMs, ph: TimeWindow): boolean {
  return t >= ph.start && t < ph.end;
}

export interface PingPhaseStats {
  name: string;
  start: EpochMs;
  end: EpochMs;
  sent: number;
  answered: number;
  lost: number;
  pending: number;
  lossPct: number;
  /** RTT over answered probes sent in the phase; null when none. */
  rtt: RttStats | null;
}

/** Per-phase ping figures (probes by send time). */
export function pingPhaseStats(tl: PingTimeline, phases: readonly Phase[]): PingPhaseStats[] {
  return phases.map((ph) => {
    let sent = 0;
    let answered = 0;
    let lost = 0;
    let pending = 0;
    const rtts: number[] = [];
    for (const p of tl.probes) {
      if (!inPhase(p.sentAt, ph)) continue;
      if (p.status === 'pending') {
        pending++;
        continue;
      }
      sent++;
      if (p.status === 'ok') {
        answered++;
        if (p.rttMs !== null) rtts.push(p.rttMs);
      } else lost++;
    }
    return {
      name: ph.name,
      start: ph.start,
      end: ph.end,
      sent,
      answered,
      lost,
      pending,
      lossPct: sent > 0 ? (100 * lost) / sent : 0,
      rtt: rttStats(rtts),
    };
  });
}

export interface ThroughputPhaseStats {
  name: string;
  start: EpochMs;
  end: EpochMs;
  /** Bytes attributed to the phase (each interval's bytes pro rata to its overlap with the phase). */
  bytes: number;
  /** Time of the phase covered by measured intervals (ms). */
  coveredMs: number;
  /** bytes x 8 / covered time, in Mbit/s (0 when not covered). */
  mbps: number;
}

/**
 * Average throughput per phase from an interval series: every interval contributes its bytes in
 * proportion to the part of it that lies inside the phase; the average is over the covered time, so a
 * phase that runs past the end of the measurement is not diluted (see coveredMs).
 */
export function throughputPhaseStats(
  series: readonly ThroughputPoint[],
  phases: readonly Phase[],
): ThroughputPhaseStats[] {
  return phases.map((ph) => {
    let bytes = 0;
    let covered = 0;
    for (const p of series) {
      const len = p.end - p.start;
      if (len <= 0) continue;
      const ov = Math.min(p.end, ph.end) - Math.max(p.start, ph.start);
      if (ov <= 0) continue;
      bytes += (p.bytes * ov) / len;
      covered += ov;
    }
    return {
      name: ph.name,
      start: ph.start,
      end: ph.end,
      bytes,
      coveredMs: covered,
      mbps: covered > 0 ? (bytes * 8) / (covered / 1000) / 1e6 : 0,
    };
  });
}

/**
 * Per-phase throughput of an iperf3 run. `side` 'receiver' (goodput, default when a receiver series
 * exists) or 'sender'.
 */
export function iperfPhaseStats(
  tl: IperfTimeline,
  phases: readonly Phase[],
  side: 'receiver' | 'sender' | 'auto' = 'auto',
): ThroughputPhaseStats[] {
  const s = side === 'sender' || (side === 'auto' && tl.receiver.length === 0) ? tl.sender : tl.receiver;
  return throughputPhaseStats(s, phases);
}

export interface DnsPhaseStats {
  name: string;
  start: EpochMs;
  end: EpochMs;
  sent: number;
  completed: number;
  lost: number;
  lossPct: number;
  latencyAvgMs: number | null;
}

/** Per-phase DNS figures (queries by estimated send time; needs the per-query series). */
export function dnsPhaseStats(tl: DnsTimeline, phases: readonly Phase[]): DnsPhaseStats[] {
  return phases.map((ph) => {
    let sent = 0;
    let completed = 0;
    let latSum = 0;
    let latN = 0;
    for (const q of tl.queries) {
      if (!inPhase(q.sentAt, ph)) continue;
      sent++;
      if (q.status === 'ok') {
        completed++;
        if (q.latencyMs !== undefined) {
          latSum += q.latencyMs;
          latN++;
        }
      }
    }
    const lost = sent - completed;
    return {
      name: ph.name,
      start: ph.start,
      end: ph.end,
      sent,
      completed,
      lost,
      lossPct: sent > 0 ? (100 * lost) / sent : 0,
      latencyAvgMs: latN > 0 ? latSum / latN : null,
    };
  });
}

export interface DnsBin {
  start: EpochMs;
  end: EpochMs;
  sent: number;
  completed: number;
  lost: number;
}

/** DNS per-interval series (by send time), e.g. per second for a chart. */
export function dnsSeries(tl: DnsTimeline, binMs = 1000): DnsBin[] {
  if (tl.queries.length === 0 || !(binMs > 0)) return [];
  const t0 = Math.min(...tl.queries.map((q) => q.sentAt));
  const bins: DnsBin[] = [];
  for (const q of tl.queries) {
    const i = Math.floor((q.sentAt - t0) / binMs);
    while (bins.length <= i) {
      const s = t0 + bins.length * binMs;
      bins.push({ start: s, end: s + binMs, sent: 0, completed: 0, lost: 0 });
    }
    const b = bins[i]!;
    b.sent++;
    if (q.status === 'ok') b.completed++;
    else b.lost++;
  }
  return bins;
}

/** Phases from consecutive boundaries: names[i] spans [bounds[i], bounds[i+1]). */
export function phasesFromBoundaries(names: readonly string[], bounds: readonly EpochMs[]): Phase[] {
  if (bounds.length !== names.length + 1) throw new Error('need one more boundary than phase names');
  return names.map((name, i) => ({ name, start: bounds[i]!, end: bounds[i + 1]! }));
}

export interface Outage {
  /** First and last icmp_seq of the longest run of unanswered probes. */
  fromSeq: number;
  toSeq: number;
  probes: number;
  /** From the send of the last answered probe before the run to the send of the first answered one after. */
  gapMs: number;
}

/** The longest run of consecutive lost (or errored) probes; null when none was lost. */
export function longestOutage(tl: PingTimeline): Outage | null {
  let best: Outage | null = null;
  let i = 0;
  const ps = tl.probes;
  while (i < ps.length) {
    if (ps[i]!.status !== 'lost' && ps[i]!.status !== 'error') {
      i++;
      continue;
    }
    let j = i;
    while (j + 1 < ps.length && (ps[j + 1]!.status === 'lost' || ps[j + 1]!.status === 'error')) j++;
    const before = i > 0 ? ps[i - 1]!.sentAt : ps[i]!.sentAt;
    const after = j + 1 < ps.length ? ps[j + 1]!.sentAt : ps[j]!.sentAt;
    const o: Outage = { fromSeq: ps[i]!.seq, toSeq: ps[j]!.seq, probes: j - i + 1, gapMs: after - before };
    if (!best || o.probes > best.probes) best = o;
    i = j + 1;
  }
  return best;
}
