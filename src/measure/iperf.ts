// iperf3 TCP/UDP between two namespaces: a throughput series with absolute times.
//
// The server (`iperf3 -s -1 -J`) runs in the peer namespace, the client (`iperf3 -c ... -i 0.2 -J`) in the
// other. With -J iperf3 prints one JSON document at the end. Stopped early with SIGINT, it still prints
// it, intervals included (the last one partial) and `"error": "interrupt - the client has terminated"`,
// so stop() yields a series. Where iperf3 >= 3.17 offers `--json-stream`, each interval arrives as its own
// line as it happens (used automatically when `iperf3 --help` lists it).
//
// Absolute time. iperf3's intervals are relative to its test start, and its JSON carries only a
// whole-second timestamp (`start.timestamp.timesecs`, taken at connect). The test start is therefore
// anchored at (time the run was seen to end) - (end of its last interval): the moment we sent SIGINT when
// we stopped it, the moment it exited otherwise (late by the result exchange, a few ms on a local test bed),
// clamped to [spawn time, timesecs + 1.5 s]. With --json-stream the anchor is the earliest
// (arrival - interval end) over all intervals. The server's series is placed on the client's anchor
// (both start their clocks at the same TEST_START exchange; they differ by a round trip).

import { waitForListen } from './netns.ts';
import { ManagedProcess, runCommand, sleep } from './proc.ts';
import type { EpochMs, Runner } from './types.ts';

export interface IperfInterval {
  startS: number;
  endS: number;
  bytes: number;
  bitsPerSecond: number;
  retransmits?: number;
  packets?: number;
  lostPackets?: number;
  jitterMs?: number;
  omitted?: boolean;
}

export interface IperfSum {
  seconds: number;
  bytes: number;
  bitsPerSecond: number;
  retransmits?: number;
  packets?: number;
  lostPackets?: number;
  lostPercent?: number;
  jitterMs?: number;
}

/** What one iperf3 process reported (client or server), times relative to its test start. */
export interface IperfReport {
  timesecs: number | null;
  protocol: 'tcp' | 'udp' | null;
  reverse: boolean;
  intervals: IperfInterval[];
  sumSent: IperfSum | null;
  sumReceived: IperfSum | null;
  error: string | null;
  /** json-stream only: the earliest (arrival - interval end), a precise test-start anchor. */
  streamAnchor?: EpochMs;
}

export interface ThroughputPoint {
  start: EpochMs;
  end: EpochMs;
  bytes: number;
  bitsPerSecond: number;
  retransmits?: number;
  packets?: number;
  lostPackets?: number;
  jitterMs?: number;
}

export interface IperfTimeline {
  kind: 'iperf';
  protocol: 'tcp' | 'udp';
  clientNetns: string;
  serverNetns: string;
  serverIp: string;
  port: number;
  reverse: boolean;
  intervalMs: number;
  /** Anchored test start (absolute) and the end of the last interval. */
  startedAt: EpochMs;
  endedAt: EpochMs;
  anchor: 'stream' | 'end' | 'spawn';
  /** Series of the sending side (client unless reverse) and of the receiving side (goodput). */
  sender: ThroughputPoint[];
  receiver: ThroughputPoint[];
  summary: {
    seconds: number;
    senderBytes: number;
    receiverBytes: number;
    senderMbps: number;
    receiverMbps: number;
    retransmits?: number;
    packets?: number;
    lostPackets?: number;
    lostPct?: number;
    jitterMs?: number;
  };
  /** The client was ended by a signal (stop() or a sub-second duration) rather than by its own -t. */
  stoppedEarly: boolean;
  error?: string;
  serverError?: string;
  warnings: string[];
}

type Json = Record<string, unknown>;

function obj(x: unknown): Json | null {
  return typeof x === 'object' && x !== null && !Array.isArray(x) ? (x as Json) : null;
}

function num(x: unknown): number | undefined {
  return typeof x === 'number' && Number.isFinite(x) ? x : undefined;
}

function toInterval(sum: Json): IperfInterval | null {
  const startS = num(sum.start);
  const endS = num(sum.end);
  if (startS === undefined || endS === undefined) return null;
  const iv: IperfInterval = {
    startS,
    endS,
    bytes: num(sum.bytes) ?? 0,
    bitsPerSecond: num(sum.bits_per_second) ?? 0,
  };
  const opt: [keyof IperfInterval, unknown][] = [
    ['retransmits', sum.retransmits],
    ['packets', sum.packets],
    ['lostPackets', sum.lost_packets],
    ['jitterMs', sum.jitter_ms],
  ];
  for (const [k, v] of opt) {
    const n = num(v);
    if (n !== undefined) (iv as unknown as Record<string, number>)[k] = n;
  }
  if (sum.omitted === true) iv.omitted = true;
  return iv;
}

function toSum(x: unknown): IperfSum | null {
  const s = obj(x);
  if (!s) return null;
  const seconds = num(s.seconds) ?? (num(s.end) ?? 0) - (num(s.start) ?? 0);
  const out: IperfSum = { seconds, bytes: num(s.bytes) ?? 0, bitsPerSecond: num(s.bits_per_second) ?? 0 };
  const r = num(s.retransmits);
  if (r !== undefined) out.retransmits = r;
  const p = num(s.packets);
  if (p !== undefined) out.packets = p;
  const l = num(s.lost_packets);
  if (l !== undefined) out.lostPackets = l;
  const lp = num(s.lost_percent);
  if (lp !== undefined) out.lostPercent = lp;
  const j = num(s.jitter_ms);
  if (j !== undefined) out.jitterMs = j;
  return out;
}

function emptyReport(error: string | null): IperfReport {
  return {
    timesecs: null,
    protocol: null,
    reverse: false,
    intervals: [],
    sumSent: null,
    sumReceived: null,
    error,
  };
}

function readStart(start: Json | null, rep: IperfReport): void {
  if (!start) return;
  const ts = obj(start.timestamp);
  rep.timesecs = num(ts?.timesecs) ?? rep.timesecs;
  const ts2 = obj(start.test_start);
  const proto = ts2?.protocol;
  if (proto === 'TCP') rep.protocol = 'tcp';
  else if (proto === 'UDP') rep.protocol = 'udp';
  if (ts2 && num(ts2.reverse)) rep.reverse = true;
}

function pushInterval(rep: IperfReport, x: unknown): IperfInterval | null {
  const sum = obj(obj(x)?.sum);
  if (!sum) return null;
  const iv = toInterval(sum);
  if (!iv) return null;
  const last = rep.intervals[rep.intervals.length - 1];
  // iperf3's server repeats its last interval when the client terminates: drop exact repeats.
  if (last && last.startS === iv.startS && last.endS === iv.endS) return null;
  rep.intervals.push(iv);
  return iv;
}

/** Parses the JSON document printed by `iperf3 -J` (client or server). Never throws. */
export function parseIperfJson(text: string): IperfReport {
  const first = text.indexOf('{');
  const last = text.lastIndexOf('}');
  if (first < 0 || last < first)
    return emptyReport(
      text.trim() ? `no JSON from iperf3: ${text.trim().slice(0, 200)}` : 'no output from iperf3',
    );
  let doc: Json | null;
  try {
    doc = obj(JSON.parse(text.slice(first, last + 1)));
  } catch (err) {
    return emptyReport(`bad JSON from iperf3: ${err instanceof Error ? err.message : String(err)}`);
  }
  if (!doc) return emptyReport('bad JSON from iperf3');
  const rep = emptyReport(typeof doc.error === 'string' ? doc.error : null);
  readStart(obj(doc.start), rep);
  if (Array.isArray(doc.intervals)) for (const x of doc.intervals) pushInterval(rep, x);
  const end = obj(doc.end);
  if (end) {
    rep.sumSent = toSum(end.sum_sent) ?? null;
    rep.sumReceived = toSum(end.sum_received) ?? null;
    // UDP reports its totals in `sum`.
    if (!rep.sumSent && !rep.sumReceived) rep.sumSent = toSum(end.sum);
  }
  return rep;
}

/**
 * Parses `iperf3 --json-stream` output: one `{"event": ..., "data": ...}` per line, each with the time it
 * arrived. The anchor is the earliest (arrival - interval end).
 */
export function parseIperfJsonStream(lines: readonly { line: string; at: EpochMs }[]): IperfReport {
  const rep = emptyReport(null);
  let anchor = Number.POSITIVE_INFINITY;
  for (const { line, at } of lines) {
    const t = line.trim();
    if (!t.startsWith('{')) continue;
    let ev: Json | null;
    try {
      ev = obj(JSON.parse(t));
    } catch {
      continue;
    }
    if (!ev) continue;
    switch (ev.event) {
      case 'start':
        readStart(obj(ev.data), rep);
        break;
      case 'interval': {
        const iv = pushInterval(rep, ev.data);
        if (iv) anchor = Math.min(anchor, at - iv.endS * 1000);
        break;
      }
      case 'end': {
        const end = obj(ev.data);
        if (end) {
          rep.sumSent = toSum(end.sum_sent) ?? toSum(end.sum);
          rep.sumReceived = toSum(end.sum_received);
        }
        break;
      }
      case 'error':
        rep.error = typeof ev.data === 'string' ? ev.data : JSON.stringify(ev.data);
        break;
    }
  }
  if (Number.isFinite(anchor)) rep.streamAnchor = anchor;
  return rep;
}

/** The absolute test start of a -J run (see the header comment). */
export function iperfAnchor(p: {
  spawnedAt: EpochMs;
  endObservedAt: EpochMs;
  lastIntervalEndS: number | null;
  timesecs: number | null;
}): { at: EpochMs; source: 'end' | 'spawn' } {
  let lo = p.spawnedAt;
  let hi = Number.POSITIVE_INFINITY;
  if (p.timesecs !== null) {
    lo = Math.max(lo, p.timesecs * 1000);
    hi = Math.max(lo, p.timesecs * 1000 + 1500);
  }
  if (p.lastIntervalEndS === null) return { at: lo, source: 'spawn' };
  const at = p.endObservedAt - p.lastIntervalEndS * 1000;
  return { at: Math.min(hi, Math.max(lo, at)), source: 'end' };
}

/** Places relative intervals on the absolute time line. */
export function toThroughputSeries(intervals: readonly IperfInterval[], anchor: EpochMs): ThroughputPoint[] {
  return intervals
    .filter((iv) => !iv.omitted)
    .map((iv) => {
      const p: ThroughputPoint = {
        start: anchor + iv.startS * 1000,
        end: anchor + iv.endS * 1000,
        bytes: iv.bytes,
        bitsPerSecond: iv.bitsPerSecond,
      };
      if (iv.retransmits !== undefined) p.retransmits = iv.retransmits;
      if (iv.packets !== undefined) p.packets = iv.packets;
      if (iv.lostPackets !== undefined) p.lostPackets = iv.lostPackets;
      if (iv.jitterMs !== undefined) p.jitterMs = iv.jitterMs;
      return p;
    });
}

function seriesSpanS(s: readonly ThroughputPoint[]): number {
  if (s.length === 0) return 0;
  return (s[s.length - 1]!.end - s[0]!.start) / 1000;
}

function sumOf(
  s: readonly ThroughputPoint[],
  k: 'bytes' | 'retransmits' | 'packets' | 'lostPackets',
): number {
  let t = 0;
  for (const p of s) t += p[k] ?? 0;
  return t;
}

export interface IperfBuildInput {
  client: IperfReport;
  server: IperfReport | null;
  anchor: EpochMs;
  anchorSource: IperfTimeline['anchor'];
  protocol: 'tcp' | 'udp';
  reverse: boolean;
  clientNetns: string;
  serverNetns: string;
  serverIp: string;
  port: number;
  intervalMs: number;
  stoppedEarly: boolean;
}

const INTERRUPT = /^interrupt\b|the client has terminated|the server has terminated/i;

/** Combines the client's and server's reports into one timeline. */
export function buildIperfTimeline(inp: IperfBuildInput): IperfTimeline {
  const clientSeries = toThroughputSeries(inp.client.intervals, inp.anchor);
  const serverSeries = inp.server ? toThroughputSeries(inp.server.intervals, inp.anchor) : [];
  const sender = inp.reverse ? serverSeries : clientSeries;
  const receiver = inp.reverse ? clientSeries : serverSeries;
  const warnings: string[] = [];
  const senderBytes = sumOf(sender, 'bytes');
  let receiverBytes = sumOf(receiver, 'bytes');
  let receiverSpan = seriesSpanS(receiver);
  if (receiver.length === 0 && inp.client.sumReceived && inp.client.sumReceived.bytes > 0) {
    // No receiver series (server output missing): fall back on the totals the client was sent.
    receiverBytes = inp.client.sumReceived.bytes;
    receiverSpan = inp.client.sumReceived.seconds;
    warnings.push('no receiver series; receiver totals from the client report');
  }
  const senderSpan = seriesSpanS(sender);
  const mbps = (bytes: number, s: number) => (s > 0 ? (bytes * 8) / s / 1e6 : 0);
  const summary: IperfTimeline['summary'] = {
    seconds: Math.max(senderSpan, receiverSpan),
    senderBytes,
    receiverBytes,
    senderMbps: mbps(senderBytes, senderSpan),
    receiverMbps: mbps(receiverBytes, receiverSpan),
  };
  if (inp.protocol === 'tcp') {
    if (sender.some((p) => p.retransmits !== undefined)) summary.retransmits = sumOf(sender, 'retransmits');
  } else if (receiver.length > 0) {
    const packets = sumOf(receiver, 'packets');
    const lost = sumOf(receiver, 'lostPackets');
    summary.packets = packets;
    summary.lostPackets = lost;
    summary.lostPct = packets > 0 ? (100 * lost) / packets : 0;
    const withJitter = receiver.filter((p) => p.jitterMs !== undefined);
    if (withJitter.length > 0) summary.jitterMs = withJitter[withJitter.length - 1]!.jitterMs!;
  } else if (sender.length > 0) {
    summary.packets = sumOf(sender, 'packets');
  }
  const all = [...sender, ...receiver];
  const tl: IperfTimeline = {
    kind: 'iperf',
    protocol: inp.protocol,
    clientNetns: inp.clientNetns,
    serverNetns: inp.serverNetns,
    serverIp: inp.serverIp,
    port: inp.port,
    reverse: inp.reverse,
    intervalMs: inp.intervalMs,
    startedAt: inp.anchor,
    endedAt: all.length > 0 ? Math.max(...all.map((p) => p.end)) : inp.anchor,
    anchor: inp.anchorSource,
    sender,
    receiver,
    summary,
    stoppedEarly: inp.stoppedEarly,
    warnings,
  };
  const cErr = inp.client.error;
  if (cErr && !(inp.stoppedEarly && INTERRUPT.test(cErr))) tl.error = cErr;
  const sErr = inp.server?.error;
  if (sErr && !INTERRUPT.test(sErr) && !/unexpectedly closed/i.test(sErr)) tl.serverError = sErr;
  return tl;
}

let jsonStreamSupport: Promise<boolean> | null = null;

/** Whether the installed iperf3 offers --json-stream (3.17+). Cached. */
export function iperfSupportsJsonStream(): Promise<boolean> {
  jsonStreamSupport ??= runCommand(['iperf3', '--help']).then((r) =>
    `${r.stdout}${r.stderr}`.includes('--json-stream'),
  );
  return jsonStreamSupport;
}

export interface IperfOptions {
  clientNetns: string;
  serverNetns: string;
  /** Address the server binds to and the client connects to. */
  serverIp: string;
  /** Default 5201. */
  port?: number;
  /** Default tcp. */
  protocol?: 'tcp' | 'udp';
  /** Target bitrate (`-b`, e.g. "100M"); UDP defaults to 10M, TCP to unlimited. */
  rate?: string;
  /** Run length; without it the client runs until stop(). */
  durationMs?: number;
  /** Report interval, 100..60000 ms (iperf3's minimum is 0.1 s). Default 200. */
  intervalMs?: number;
  /** Server sends, client receives (`-R`). */
  reverse?: boolean;
  /** Parallel streams (`-P`). */
  parallel?: number;
  /** Client connect timeout, default 3000 ms. */
  connectTimeoutMs?: number;
  /** 'auto' (default): use --json-stream when the installed iperf3 has it. */
  jsonStream?: boolean | 'auto';
}

/** Argument vectors for server and client (exported for tests). */
export function iperfArgs(opts: IperfOptions, jsonStream: boolean): { server: string[]; client: string[] } {
  const port = String(opts.port ?? 5201);
  const iv = String((opts.intervalMs ?? 200) / 1000);
  const server = ['iperf3', '-s', '-1', '-p', port, '-B', opts.serverIp, '-i', iv, '-J'];
  const durS = opts.durationMs !== undefined && opts.durationMs > 0 ? Math.ceil(opts.durationMs / 1000) : 0;
  const client = ['iperf3', '-c', opts.serverIp, '-p', port, '-i', iv, '-t', String(durS)];
  client.push(jsonStream ? '--json-stream' : '-J');
  client.push('--connect-timeout', String(opts.connectTimeoutMs ?? 3000));
  if ((opts.protocol ?? 'tcp') === 'udp') client.push('-u', '-b', opts.rate ?? '10M');
  else if (opts.rate) client.push('-b', opts.rate);
  if (opts.reverse) client.push('-R');
  if (opts.parallel && opts.parallel > 1) client.push('-P', String(opts.parallel));
  return { server, client };
}

export class IperfRunner implements Runner<IperfTimeline> {
  private server: ManagedProcess | null = null;
  private client: ManagedProcess | null = null;
  private stream = false;
  private readonly streamLines: { line: string; at: EpochMs }[] = [];
  private stopAt: EpochMs | null = null;
  private timer: NodeJS.Timeout | undefined;
  private result: Promise<IperfTimeline> | null = null;

  constructor(readonly opts: IperfOptions) {
    const iv = opts.intervalMs ?? 200;
    if (!(iv >= 100 && iv <= 60_000)) throw new Error(`iperf3 interval must be 100..60000 ms (got ${iv})`);
  }

  get running(): boolean {
    return (this.client?.running ?? false) || (this.server?.running ?? false);
  }

  async start(): Promise<void> {
    if (this.server) throw new Error('iperf3 already started');
    const o = this.opts;
    const port = o.port ?? 5201;
    this.stream =
      o.jsonStream === 'auto' || o.jsonStream === undefined ? await iperfSupportsJsonStream() : o.jsonStream;
    const { server: sArgs, client: cArgs } = iperfArgs(o, this.stream);
    const server = new ManagedProcess(sArgs, {
      netns: o.serverNetns,
      keepOutput: true,
      name: 'iperf3-server',
    });
    this.server = server;
    try {
      await waitForListen(o.serverNetns, 'tcp', port, { timeoutMs: 5000, alive: () => server.running });
    } catch (err) {
      await server.stop({ signal: 'SIGTERM', graceMs: 1000 });
      const why = parseIperfJson(server.stdout).error ?? (server.stderr.trim() || server.stdout.trim());
      throw new Error(
        `iperf3 server in ${o.serverNetns}: ${err instanceof Error ? err.message : err}${why ? ` (${why.slice(0, 300)})` : ''}`,
      );
    }
    const client = new ManagedProcess(cArgs, {
      netns: o.clientNetns,
      keepOutput: !this.stream,
      name: 'iperf3-client',
    });
    this.client = client;
    if (this.stream) client.onStdoutLine((line, at) => this.streamLines.push({ line, at }));
    this.result = this.collect(client, server);
    // A -t of whole seconds: stop a fractional duration ourselves.
    if (o.durationMs !== undefined && o.durationMs > 0 && o.durationMs % 1000 !== 0) {
      this.timer = setTimeout(() => void this.stop(), o.durationMs);
    }
    // Traffic flows once the client holds a connection to the server (or the client gave up).
    const deadline = Date.now() + (o.connectTimeoutMs ?? 3000) + 1000;
    while (client.running && Date.now() < deadline) {
      const r = await runCommand([
        'ip',
        'netns',
        'exec',
        o.clientNetns,
        'ss',
        '-Htn',
        'state',
        'established',
        `dst ${o.serverIp}:${port}`,
      ]);
      if (r.stdout.trim()) return;
      await sleep(20);
    }
    if (!client.running) {
      const tl = await this.result;
      throw new Error(`iperf3 client in ${o.clientNetns}: ${tl.error ?? 'exited at once'}`);
    }
  }

  private async collect(client: ManagedProcess, server: ManagedProcess): Promise<IperfTimeline> {
    const cExit = await client.exited;
    clearTimeout(this.timer);
    // The server (-1) ends by itself once the client is done; give it a moment, then make it end.
    if (!(await server.waitFor(3000))) await server.stop({ signal: 'SIGINT', graceMs: 2000 });
    const o = this.opts;
    const clientRep = this.stream ? parseIperfJsonStream(this.streamLines) : parseIperfJson(client.stdout);
    if (clientRep.error === 'no output from iperf3' && client.stderr.trim())
      clientRep.error = client.stderr.trim();
    const serverRep = parseIperfJson(server.stdout);
    const lastEnd =
      clientRep.intervals.length > 0 ? clientRep.intervals[clientRep.intervals.length - 1]!.endS : null;
    let anchor: { at: EpochMs; source: IperfTimeline['anchor'] };
    if (clientRep.streamAnchor !== undefined) anchor = { at: clientRep.streamAnchor, source: 'stream' };
    else
      anchor = iperfAnchor({
        spawnedAt: client.startedAt,
        endObservedAt: this.stopAt ?? cExit.at,
        lastIntervalEndS: lastEnd,
        timesecs: clientRep.timesecs,
      });
    return buildIperfTimeline({
      client: clientRep,
      server: serverRep,
      anchor: anchor.at,
      anchorSource: anchor.source,
      protocol: o.protocol ?? 'tcp',
      reverse: o.reverse ?? false,
      clientNetns: o.clientNetns,
      serverNetns: o.serverNetns,
      serverIp: o.serverIp,
      port: o.port ?? 5201,
      intervalMs: o.intervalMs ?? 200,
      stoppedEarly: client.stoppedWith !== null,
    });
  }

  wait(): Promise<IperfTimeline> {
    if (!this.result) return Promise.reject(new Error('iperf3 not started'));
    return this.result;
  }

  async stop(): Promise<IperfTimeline> {
    if (!this.client || !this.result) {
      this.server?.kill();
      throw new Error('iperf3 not started');
    }
    clearTimeout(this.timer);
    if (this.client.running) {
      this.stopAt ??= Date.now();
      await this.client.stop({ signal: 'SIGINT', graceMs: 3000 });
    }
    return this.result;
  }

  kill(): void {
    clearTimeout(this.timer);
    this.stopAt ??= Date.now();
    this.client?.kill();
    this.server?.kill();
  }
}

export async function startIperf(opts: IperfOptions): Promise<IperfRunner> {
  const r = new IperfRunner(opts);
  await r.start();
  return r;
}
