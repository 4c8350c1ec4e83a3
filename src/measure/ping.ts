// ping (iputils) in a namespace: one probe per interval, a per-probe timeline with absolute times.
//
// Command: `ping -i INTERVAL -D -n -O TARGET`. -D prefixes each line with the wall-clock time at which it
// was printed ([seconds.micros]); -O prints "no answer yet for icmp_seq=N" when probe N is still unanswered
// as the next one goes out. Loss is counted by icmp_seq, never by elapsed time (ping runs slower than the
// asked interval on a busy machine). icmp_seq is 16 bits: it wraps after 65535 to 0 and is unwrapped here.
//
// Send times: for an answered probe, send = (time the reply was printed) - RTT (exact to the microsecond
// that ping reports). For an unanswered probe it is estimated: from the "no answer yet" line (printed
// about one interval after the send), clamped between the exact send times of its neighbours, otherwise
// interpolated by sequence number between the nearest known neighbours (`sentAtEstimated: true`).
import { ManagedProcess } from './proc.ts';
import type { EpochMs, Runner } from './types.ts';

export type PingEvent =
  | { type: 'header'; target: string; address: string }
  | {
      type: 'reply';
      at: EpochMs | null;
      seq: number;
      rttMs: number | null;
      ttl?: number;
      dup: boolean;
      from: string;
    }
  | { type: 'no-answer'; at: EpochMs | null; seq: number }
  | { type: 'error'; at: EpochMs | null; seq: number; from: string; message: string }
  | {
      type: 'summary';
      transmitted: number;
      received: number;
      duplicates: number;
      errors: number;
      lossPct: number;
      timeMs: number | null;
    }
  | { type: 'rtt'; minMs: number; avgMs: number; maxMs: number; mdevMs: number }
  | { type: 'other'; text: string };

export type PingStatus = 'ok' | 'lost' | 'error' | 'pending';

export interface PingProbe {
  /** icmp_seq, unwrapped (1, 2, ... 65535, 65536, ...). */
  seq: number;
  sentAt: EpochMs;
  /** false when the send time comes from a reply (exact); true when it is an estimate. */
  sentAtEstimated: boolean;
  receivedAt: EpochMs | null;
  rttMs: number | null;
  /**
   * ok: answered; error: an ICMP error came back (e.g. Destination Host Unreachable) — counts as lost;
   * lost: never answered; pending: unanswered but sent so close to the end of the run that its reply
   * could still have been on its way (excluded from loss; see PingBuildOptions.tailGraceMs).
   */
  status: PingStatus;
  /** Extra replies for the same probe, e.g. `(DUP!)`. */
  dups: number;
  error?: string;
}

export interface RttStats {
  n: number;
  avgMs: number;
  sdMs: number;
  minMs: number;
  maxMs: number;
}

export interface PingTimeline {
  kind: 'ping';
  netns: string;
  target: string;
  intervalMs: number;
  /** When ping was started and when it stopped sending (stop signal or its own exit). */
  startedAt: EpochMs;
  endedAt: EpochMs;
  transmitted: number;
  received: number;
  /** Unanswered probes counted as lost, ICMP errors included. */
  lost: number;
  errors: number;
  pending: number;
  duplicates: number;
  /** Loss in % of (transmitted - pending). */
  lossPct: number;
  rtt: RttStats | null;
  probes: PingProbe[];
  /** What ping itself printed at the end, when it did. */
  reported?: {
    transmitted: number;
    received: number;
    duplicates: number;
    errors: number;
    lossPct: number;
    rtt?: { minMs: number; avgMs: number; maxMs: number; mdevMs: number };
  };
  warnings: string[];
}

const TS = String.raw`(?:\[(\d+(?:\.\d+)?)\]\s*)?`;
const RE_HEADER = /^PING\s+(\S+)\s+\(([^)]+)\)/;
const RE_REPLY = new RegExp(`^${TS}\\d+ bytes from (.+?): icmp_seq=(\\d+)(.*)$`);
const RE_NO_ANSWER = new RegExp(`^${TS}no answer yet for icmp_seq=(\\d+)`);
const RE_ERROR = new RegExp(`^${TS}From (\\S+)(?: \\([^)]*\\))?:? icmp_seq=(\\d+)\\s+(.*)$`);
const RE_SUMMARY = /^(\d+) packets transmitted, (\d+) (?:packets )?received(.*)$/;
const RE_RTT =
  /^(?:rtt|round-trip) min\/avg\/max\/(?:mdev|stddev) = ([\d.]+)\/([\d.]+)\/([\d.]+)\/([\d.]+) ms/;

function tsToMs(s: string | undefined, fallback: EpochMs | null): EpochMs | null {
  if (s === undefined) return fallback;
  return Number.parseFloat(s) * 1000;
}

/**
 * Parses one line of iputils ping output. `arrivedAt` is used as the time when the line carries no -D
 * timestamp. Returns null for blank lines.
 */
export function parsePingLine(line: string, arrivedAt: EpochMs | null = null): PingEvent | null {
  const l = line.trim();
  if (l.length === 0) return null;
  let m = RE_REPLY.exec(l);
  if (m) {
    const rest = m[4] ?? '';
    const ttl = /\bttl=(\d+)/.exec(rest);
    const time = /\btime[=<]\s*([\d.]+)\s*ms/.exec(rest);
    return {
      type: 'reply',
      at: tsToMs(m[1], arrivedAt),
      from: m[2]!,
      seq: Number(m[3]),
      rttMs: time ? Number(time[1]) : null,
      ...(ttl ? { ttl: Number(ttl[1]) } : {}),
      dup: rest.includes('(DUP!)'),
    };
  }
  m = RE_NO_ANSWER.exec(l);
  if (m) return { type: 'no-answer', at: tsToMs(m[1], arrivedAt), seq: Number(m[2]) };
  m = RE_ERROR.exec(l);
  if (m)
    return {
      type: 'error',
      at: tsToMs(m[1], arrivedAt),
      from: m[2]!,
      seq: Number(m[3]),
      message: m[4]!.trim(),
    };
  m = RE_HEADER.exec(l);
  if (m) return { type: 'header', target: m[1]!, address: m[2]! };
  m = RE_SUMMARY.exec(l);
  if (m) {
    const rest = m[3] ?? '';
    const num = (re: RegExp) => {
      const x = re.exec(rest);
      return x ? Number(x[1]) : 0;
    };
    const time = /time (\d+)\s*ms/.exec(rest);
    return {
      type: 'summary',
      transmitted: Number(m[1]),
      received: Number(m[2]),
      duplicates: num(/\+(\d+) duplicates/),
      errors: num(/\+(\d+) errors/),
      lossPct: num(/([\d.]+)% packet loss/),
      timeMs: time ? Number(time[1]) : null,
    };
  }
  m = RE_RTT.exec(l);
  if (m) {
    return {
      type: 'rtt',
      minMs: Number(m[1]),
      avgMs: Number(m[2]),
      maxMs: Number(m[3]),
      mdevMs: Number(m[4]),
    };
  }
  return { type: 'other', text: l };
}

/** Turns a 16-bit icmp_seq into a running sequence number, given the highest one seen so far. */
export function unwrapSeq(raw: number, ref: number): number {
  const k = Math.round((ref - raw) / 65536);
  let u = raw + 65536 * k;
  while (u < 1) u += 65536;
  return u;
}

export interface PingBuildOptions {
  netns?: string;
  target?: string;
  intervalMs: number;
  startedAt: EpochMs;
  endedAt: EpochMs;
  /**
   * An unanswered probe is `pending` (not lost) when it was sent less than this long before the end of the
   * run and no probe sent after it was answered. Default 1000 ms.
   */
  tailGraceMs?: number;
}

interface SeqInfo {
  replyAt: EpochMs | null;
  rttMs: number | null;
  replies: number;
  noAnswerAt: EpochMs | null;
  error: { at: EpochMs | null; message: string } | null;
}

/** Builds the per-probe timeline from parsed events (in output order). */
export function buildPingTimeline(events: readonly PingEvent[], opts: PingBuildOptions): PingTimeline {
  const warnings: string[] = [];
  const info = new Map<number, SeqInfo>();
  let ref = 0;
  let target = opts.target ?? '';
  let summary: Extract<PingEvent, { type: 'summary' }> | null = null;
  let rttLine: Extract<PingEvent, { type: 'rtt' }> | null = null;
  const get = (seq: number): SeqInfo => {
    let s = info.get(seq);
    if (!s) {
      s = { replyAt: null, rttMs: null, replies: 0, noAnswerAt: null, error: null };
      info.set(seq, s);
    }
    return s;
  };
  for (const e of events) {
    switch (e.type) {
      case 'header':
        if (!target) target = e.address;
        break;
      case 'reply': {
        const seq = unwrapSeq(e.seq, ref);
        ref = Math.max(ref, seq);
        const s = get(seq);
        s.replies++;
        if (s.replies === 1) {
          s.replyAt = e.at;
          s.rttMs = e.rttMs;
        }
        break;
      }
      case 'no-answer': {
        const seq = unwrapSeq(e.seq, ref);
        ref = Math.max(ref, seq);
        const s = get(seq);
        if (s.noAnswerAt === null) s.noAnswerAt = e.at;
        break;
      }
      case 'error': {
        const seq = unwrapSeq(e.seq, ref);
        ref = Math.max(ref, seq);
        const s = get(seq);
        s.error ??= { at: e.at, message: e.message };
        break;
      }
      case 'summary':
        summary = e;
        break;
      case 'rtt':
        rttLine = e;
        break;
      case 'other':
        if (/^(ping|connect|sendmsg|From)\b|unreachable|error/i.test(e.text)) warnings.push(e.text);
        break;
    }
  }

  let transmitted = ref;
  if (summary) {
    if (summary.transmitted < ref)
      warnings.push(`ping reported ${summary.transmitted} sent but seq ${ref} was seen`);
    transmitted = Math.max(summary.transmitted, ref);
  }

  // Send times: exact from replies, hints from "no answer yet", interpolation for the rest.
  const sent = new Array<number | undefined>(transmitted + 1);
  const exact = new Array<boolean>(transmitted + 1).fill(false);
  for (let seq = 1; seq <= transmitted; seq++) {
    const s = info.get(seq);
    if (s && s.replyAt !== null && s.rttMs !== null) {
      sent[seq] = s.replyAt - s.rttMs;
      exact[seq] = true;
    }
  }
  const prevExact = new Array<number>(transmitted + 2).fill(0);
  for (let seq = 1, last = 0; seq <= transmitted; seq++) {
    prevExact[seq] = last;
    if (exact[seq]) last = seq;
  }
  const nextExact = new Array<number>(transmitted + 2).fill(0);
  for (let seq = transmitted, next = 0; seq >= 1; seq--) {
    nextExact[seq] = next;
    if (exact[seq]) next = seq;
  }
  for (let seq = 1; seq <= transmitted; seq++) {
    if (exact[seq]) continue;
    const s = info.get(seq);
    if (s?.noAnswerAt == null) continue;
    let t = s.noAnswerAt - opts.intervalMs;
    const p = prevExact[seq]!;
    const n = nextExact[seq]!;
    if (p > 0) t = Math.max(t, sent[p]!);
    if (n > 0) t = Math.min(t, sent[n]!);
    sent[seq] = t;
  }
  // Interpolate the remaining holes between known anchors.
  let prevKnown = 0;
  for (let seq = 1; seq <= transmitted; seq++) {
    if (sent[seq] !== undefined) {
      prevKnown = seq;
      continue;
    }
    let next = seq + 1;
    while (next <= transmitted && sent[next] === undefined) next++;
    const hasNext = next <= transmitted;
    for (let k = seq; k < next; k++) {
      let t: number;
      if (prevKnown > 0 && hasNext) {
        t = sent[prevKnown]! + ((sent[next]! - sent[prevKnown]!) * (k - prevKnown)) / (next - prevKnown);
      } else if (prevKnown > 0) {
        t = Math.min(
          sent[prevKnown]! + (k - prevKnown) * opts.intervalMs,
          Math.max(opts.endedAt, sent[prevKnown]!),
        );
      } else if (hasNext) {
        t = Math.max(sent[next]! - (next - k) * opts.intervalMs, Math.min(opts.startedAt, sent[next]!));
      } else {
        t = Math.min(opts.startedAt + (k - 1) * opts.intervalMs, Math.max(opts.endedAt, opts.startedAt));
      }
      sent[k] = t;
    }
    seq = next - 1;
  }

  const tailGrace = opts.tailGraceMs ?? 1000;
  // Latest send time of an answered probe: an unanswered probe sent before it is not "pending".
  let lastAnsweredSent = Number.NEGATIVE_INFINITY;
  for (let seq = 1; seq <= transmitted; seq++)
    if (exact[seq]) lastAnsweredSent = Math.max(lastAnsweredSent, sent[seq]!);

  const probes: PingProbe[] = [];
  let received = 0;
  let lost = 0;
  let errors = 0;
  let pending = 0;
  let duplicates = 0;
  const rtts: number[] = [];
  for (let seq = 1; seq <= transmitted; seq++) {
    const s = info.get(seq);
    const sentAt = sent[seq]!;
    const base = { seq, sentAt, sentAtEstimated: !exact[seq], dups: s ? Math.max(0, s.replies - 1) : 0 };
    duplicates += base.dups;
    if (s && s.replies > 0) {
      received++;
      if (s.rttMs !== null) rtts.push(s.rttMs);
      probes.push({ ...base, receivedAt: s.replyAt, rttMs: s.rttMs, status: 'ok' });
    } else if (s?.error) {
      errors++;
      lost++;
      probes.push({ ...base, receivedAt: null, rttMs: null, status: 'error', error: s.error.message });
    } else if (opts.endedAt - sentAt < tailGrace && sentAt >= lastAnsweredSent) {
      pending++;
      probes.push({ ...base, receivedAt: null, rttMs: null, status: 'pending' });
    } else {
      lost++;
      probes.push({ ...base, receivedAt: null, rttMs: null, status: 'lost' });
    }
  }
  const counted = transmitted - pending;
  const timeline: PingTimeline = {
    kind: 'ping',
    netns: opts.netns ?? '',
    target,
    intervalMs: opts.intervalMs,
    startedAt: opts.startedAt,
    endedAt: opts.endedAt,
    transmitted,
    received,
    lost,
    errors,
    pending,
    duplicates,
    lossPct: counted > 0 ? (100 * lost) / counted : 0,
    rtt: rttStats(rtts),
    probes,
    warnings,
  };
  if (summary) {
    const sm: Extract<PingEvent, { type: 'summary' }> = summary;
    const rl = rttLine as Extract<PingEvent, { type: 'rtt' }> | null;
    timeline.reported = {
      transmitted: sm.transmitted,
      received: sm.received,
      duplicates: sm.duplicates,
      errors: sm.errors,
      lossPct: sm.lossPct,
      ...(rl ? { rtt: { minMs: rl.minMs, avgMs: rl.avgMs, maxMs: rl.maxMs, mdevMs: rl.mdevMs } } : {}),
    };
  }
  return timeline;
}

/** Mean, population standard deviation (as ping's mdev), min and max; null for no samples. */
export function rttStats(xs: readonly number[]): RttStats | null {
  if (xs.length === 0) return null;
  let sum = 0;
  let min = Number.POSITIVE_INFINITY;
  let max = Number.NEGATIVE_INFINITY;
  for (const x of xs) {
    sum += x;
    if (x < min) min = x;
    if (x > max) max = x;
  }
  const avg = sum / xs.length;
  let sq = 0;
  for (const x of xs) sq += (x - avg) * (x - avg);
  return { n: xs.length, avgMs: avg, sdMs: Math.sqrt(sq / xs.length), minMs: min, maxMs: max };
}

/** Parses a whole captured ping output (e.g. from a file) into a timeline. */
export function parsePingOutput(text: string, opts: PingBuildOptions): PingTimeline {
  const events: PingEvent[] = [];
  for (const line of text.split('\n')) {
    const e = parsePingLine(line);
    if (e) events.push(e);
  }
  return buildPingTimeline(events, opts);
}

export interface PingOptions {
  /** Namespace to ping from. */
  netns: string;
  /** IPv4 address to ping. */
  target: string;
  /** Default 10 ms (iputils needs root below 2 ms). */
  intervalMs?: number;
  /** Stop after this long; otherwise run until stop(). */
  durationMs?: number;
  /** Stop after this many probes (`-c`). */
  count?: number;
  /** ICMP payload size (`-s`). */
  sizeBytes?: number;
  tailGraceMs?: number;
  /** Called for every parsed line, as it arrives (live progress). */
  onEvent?: (e: PingEvent) => void;
}

/** Argument vector for ping (exported for tests). */
export function pingArgs(opts: PingOptions): string[] {
  const interval = opts.intervalMs ?? 10;
  const args = ['ping', '-i', String(interval / 1000), '-D', '-n', '-O'];
  if (opts.count !== undefined) args.push('-c', String(opts.count));
  if (opts.sizeBytes !== undefined) args.push('-s', String(opts.sizeBytes));
  args.push(opts.target);
  return args;
}

export class PingRunner implements Runner<PingTimeline> {
  private proc: ManagedProcess | null = null;
  private readonly events: PingEvent[] = [];
  private stopAt: EpochMs | null = null;
  private timer: NodeJS.Timeout | undefined;
  private result: Promise<PingTimeline> | null = null;

  constructor(readonly opts: PingOptions) {
    const iv = opts.intervalMs ?? 10;
    if (!(iv > 0)) throw new Error(`ping interval must be > 0 ms (got ${iv})`);
  }

  get running(): boolean {
    return this.proc?.running ?? false;
  }

  async start(): Promise<void> {
    if (this.proc) throw new Error('ping already started');
    const proc = new ManagedProcess(pingArgs(this.opts), {
      netns: this.opts.netns,
      keepOutput: false,
      name: 'ping',
    });
    this.proc = proc;
    const stderr: string[] = [];
    let header: (() => void) | null = null;
    const gotHeader = new Promise<void>((resolve) => {
      header = resolve;
    });
    proc.onStdoutLine((line, at) => {
      const e = parsePingLine(line, at);
      if (!e) return;
      this.events.push(e);
      if (e.type === 'header') header?.();
      this.opts.onEvent?.(e);
    });
    proc.onStderrLine((line) => {
      if (line.trim()) stderr.push(line.trim());
    });
    this.result = proc.exited.then((exit) => {
      clearTimeout(this.timer);
      const tl = buildPingTimeline(this.events, {
        netns: this.opts.netns,
        target: this.opts.target,
        intervalMs: this.opts.intervalMs ?? 10,
        startedAt: proc.startedAt,
        endedAt: this.stopAt ?? exit.at,
        ...(this.opts.tailGraceMs !== undefined ? { tailGraceMs: this.opts.tailGraceMs } : {}),
      });
      tl.warnings.push(...stderr);
      if (exit.spawnError) tl.warnings.push(exit.spawnError);
      return tl;
    });
    const started = await Promise.race([
      gotHeader.then(() => true),
      proc.exited.then(() => false),
      new Promise<boolean>((resolve) => setTimeout(() => resolve(true), 2000)),
    ]);
    if (!started) {
      throw new Error(`ping in ${this.opts.netns} failed: ${stderr[0] ?? 'exited at once'}`);
    }
    if (this.opts.durationMs !== undefined && this.opts.durationMs > 0) {
      this.timer = setTimeout(() => void this.stop(), this.opts.durationMs);
    }
  }

  wait(): Promise<PingTimeline> {
    if (!this.result) return Promise.reject(new Error('ping not started'));
    return this.result;
  }

  async stop(): Promise<PingTimeline> {
    if (!this.proc || !this.result) throw new Error('ping not started');
    clearTimeout(this.timer);
    if (this.proc.running) {
      this.stopAt ??= Date.now();
      await this.proc.stop({ signal: 'SIGINT', graceMs: 2000 });
    }
    return this.result;
  }

  kill(): void {
    clearTimeout(this.timer);
    this.stopAt ??= Date.now();
    this.proc?.kill();
  }
}

/** Starts a ping runner (resolves once ping runs). */
export async function startPing(opts: PingOptions): Promise<PingRunner> {
  const r = new PingRunner(opts);
  await r.start();
  return r;
}
