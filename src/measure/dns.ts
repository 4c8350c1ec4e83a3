// DNS: dnsmasq as the server in one namespace, dnsperf as the client in another at a set rate (the seed
// paper's test: ~1,000 queries/s for 25 s).
//
// dnsperf runs with -v (one line per query: `> NOERROR name A 0.000187` when answered, `> T name A` when
// it timed out) under `stdbuf -oL`, so each line arrives as it happens and is stamped on arrival. A query's
// send time is then (arrival - its latency) when answered and (arrival - timeout) when lost: good to a few
// ms, enough to place each query in a phase or a blackout window. -S prints dnsperf's own per-interval
// rate (`<epoch>.<us>: <qps>`), kept as `reportedQps` (seen to print 0 for a first interval while
// answering: use the per-query series). The final statistics block gives sent/completed/lost/latency.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { waitForListen } from './netns.ts';
import { ManagedProcess } from './proc.ts';
import type { EpochMs, Runner } from './types.ts';

export interface DnsperfStats {
  sent: number;
  completed: number;
  lost: number;
  /** Present in some dnsperf versions when interrupted. */
  interrupted?: number;
  lossPct: number;
  responseCodes: Record<string, number>;
  runTimeS: number | null;
  qps: number | null;
  latency: { avgMs: number; minMs: number; maxMs: number; sdMs: number } | null;
}

export type DnsperfLine =
  | { type: 'query'; rcode: string; name: string; qtype: string; latencyMs: number | null }
  | { type: 'timeout'; name: string; qtype: string }
  | { type: 'interval'; at: EpochMs; qps: number }
  | { type: 'status'; text: string }
  | { type: 'stat'; key: string; value: string }
  | { type: 'warning'; text: string }
  | { type: 'other'; text: string };

/** Parses one line of dnsperf output (verbose per-query lines included). Null for blank lines. */
export function parseDnsperfLine(line: string): DnsperfLine | null {
  const l = line.trim();
  if (!l) return null;
  let m = /^>\s+(\S+)\s+(\S+)\s+(\S+)(?:\s+([\d.]+))?\s*$/.exec(l);
  if (m) {
    if (m[1] === 'T') return { type: 'timeout', name: m[2]!, qtype: m[3]! };
    return {
      type: 'query',
      rcode: m[1]!,
      name: m[2]!,
      qtype: m[3]!,
      latencyMs: m[4] ? Number(m[4]) * 1000 : null,
    };
  }
  m = /^(\d+)\.(\d+):\s+([\d.]+)$/.exec(l);
  if (m) return { type: 'interval', at: Number(m[1]) * 1000 + Number(`0.${m[2]}`) * 1000, qps: Number(m[3]) };
  m = /^\[Status\]\s*(.*)$/.exec(l);
  if (m) return { type: 'status', text: m[1]!.trim() };
  m = /^(Warning|Error):?\s*(.*)$/i.exec(l);
  if (m) return { type: 'warning', text: l };
  m = /^([A-Za-z][A-Za-z ()/]*?):\s+(.*)$/.exec(l);
  if (m) return { type: 'stat', key: m[1]!.trim(), value: m[2]!.trim() };
  return { type: 'other', text: l };
}

/** Builds the statistics block from its `key: value` lines; null when the block is absent. */
export function parseDnsperfStats(stats: ReadonlyMap<string, string>): DnsperfStats | null {
  const int = (k: string) => {
    const v = stats.get(k);
    const m = v ? /^(\d+)/.exec(v) : null;
    return m ? Number(m[1]) : null;
  };
  const sent = int('Queries sent');
  const completed = int('Queries completed');
  if (sent === null || completed === null) return null;
  const lost = int('Queries lost') ?? sent - completed;
  const out: DnsperfStats = {
    sent,
    completed,
    lost,
    lossPct: sent > 0 ? (100 * lost) / sent : 0,
    responseCodes: {},
    runTimeS: null,
    qps: null,
    latency: null,
  };
  const interrupted = int('Queries interrupted');
  if (interrupted !== null) out.interrupted = interrupted;
  const codes = stats.get('Response codes');
  if (codes)
    for (const m of codes.matchAll(/([A-Z][A-Z0-9]*)\s+(\d+)/g)) out.responseCodes[m[1]!] = Number(m[2]);
  const rt = stats.get('Run time (s)');
  if (rt) out.runTimeS = Number.parseFloat(rt);
  const qps = stats.get('Queries per second');
  if (qps) out.qps = Number.parseFloat(qps);
  const lat = stats.get('Average Latency (s)');
  const lm = lat ? /([\d.]+)\s*\(min\s+([\d.]+),\s*max\s+([\d.]+)\)/.exec(lat) : null;
  if (lm) {
    const sd = stats.get('Latency StdDev (s)');
    out.latency = {
      avgMs: Number(lm[1]) * 1000,
      minMs: Number(lm[2]) * 1000,
      maxMs: Number(lm[3]) * 1000,
      sdMs: sd ? Number.parseFloat(sd) * 1000 : 0,
    };
  }
  return out;
}

export interface DnsQuery {
  /** Estimated send time: arrival of its line minus its latency (answered) or the timeout (lost). */
  sentAt: EpochMs;
  /** When dnsperf reported it (answer received, or timeout declared). */
  doneAt: EpochMs;
  status: 'ok' | 'timeout';
  rcode?: string;
  latencyMs?: number;
}

export interface DnsTimeline {
  kind: 'dns';
  clientNetns: string;
  serverNetns: string;
  serverIp: string;
  port: number;
  qname: string;
  qps: number;
  timeoutMs: number;
  startedAt: EpochMs;
  endedAt: EpochMs;
  /** From dnsperf's statistics when printed, else counted from the per-query lines. */
  sent: number;
  completed: number;
  lost: number;
  lossPct: number;
  latency: { avgMs: number; minMs: number; maxMs: number; sdMs: number } | null;
  stats: DnsperfStats | null;
  /** One entry per query reported with -v, in report order. */
  queries: DnsQuery[];
  reportedQps: { at: EpochMs; qps: number }[];
  /** dnsperf's reason for ending: "time limit", "interruption", ... */
  endReason: string | null;
  stoppedEarly: boolean;
  error?: string;
  warnings: string[];
}

export interface DnsBuildOptions {
  clientNetns?: string;
  serverNetns?: string;
  serverIp?: string;
  port?: number;
  qname?: string;
  qps?: number;
  timeoutMs: number;
  startedAt: EpochMs;
  endedAt: EpochMs;
  stoppedEarly?: boolean;
}

/**
 * Builds the DNS timeline from dnsperf's output lines, each with the time it arrived (for captured text
 * without arrival times, pass the same time for all: the per-query times are then meaningless but the
 * statistics are not).
 */
export function buildDnsTimeline(
  lines: readonly { line: string; at: EpochMs }[],
  opts: DnsBuildOptions,
): DnsTimeline {
  const queries: DnsQuery[] = [];
  const reportedQps: { at: EpochMs; qps: number }[] = [];
  const statLines = new Map<string, string>();
  const warnings: string[] = [];
  let endReason: string | null = null;
  for (const { line, at } of lines) {
    const p = parseDnsperfLine(line);
    if (!p) continue;
    switch (p.type) {
      case 'query':
        queries.push({
          sentAt: at - (p.latencyMs ?? 0),
          doneAt: at,
          status: 'ok',
          rcode: p.rcode,
          ...(p.latencyMs !== null ? { latencyMs: p.latencyMs } : {}),
        });
        break;
      case 'timeout':
        queries.push({ sentAt: at - opts.timeoutMs, doneAt: at, status: 'timeout' });
        break;
      case 'interval':
        reportedQps.push({ at: p.at, qps: p.qps });
        break;
      case 'status': {
        const m = /^Testing complete \((.*)\)/.exec(p.text);
        if (m) endReason = m[1]!;
        break;
      }
      case 'stat':
        statLines.set(p.key, p.value);
        break;
      case 'warning':
        warnings.push(p.text);
        break;
      case 'other':
        break;
    }
  }
  const stats = parseDnsperfStats(statLines);
  const okCount = queries.filter((q) => q.status === 'ok').length;
  const sent = stats?.sent ?? queries.length;
  const completed = stats?.completed ?? okCount;
  const lost = stats?.lost ?? queries.length - okCount;
  if (stats && queries.length > 0 && queries.length !== stats.sent) {
    warnings.push(`dnsperf reported ${stats.sent} sent but ${queries.length} per-query lines`);
  }
  let latency = stats?.latency ?? null;
  if (!latency) {
    const ls = queries.filter((q) => q.latencyMs !== undefined).map((q) => q.latencyMs!);
    if (ls.length > 0) {
      const avg = ls.reduce((a, b) => a + b, 0) / ls.length;
      const sd = Math.sqrt(ls.reduce((a, b) => a + (b - avg) * (b - avg), 0) / ls.length);
      latency = { avgMs: avg, minMs: Math.min(...ls), maxMs: Math.max(...ls), sdMs: sd };
    }
  }
  return {
    kind: 'dns',
    clientNetns: opts.clientNetns ?? '',
    serverNetns: opts.serverNetns ?? '',
    serverIp: opts.serverIp ?? '',
    port: opts.port ?? 53,
    qname: opts.qname ?? '',
    qps: opts.qps ?? 0,
    timeoutMs: opts.timeoutMs,
    startedAt: opts.startedAt,
    endedAt: opts.endedAt,
    sent,
    completed,
    lost,
    lossPct: sent > 0 ? (100 * lost) / sent : 0,
    latency,
    stats,
    queries,
    reportedQps,
    endReason,
    stoppedEarly: opts.stoppedEarly ?? false,
    warnings,
  };
}

/** Parses a whole captured dnsperf output (no arrival times: per-query send times all equal `at`). */
export function parseDnsperfOutput(text: string, opts: Partial<DnsBuildOptions> = {}): DnsTimeline {
  const at = opts.startedAt ?? 0;
  const lines = text.split('\n').map((line) => ({ line, at }));
  return buildDnsTimeline(lines, { timeoutMs: 5000, startedAt: at, endedAt: at, ...opts });
}

export interface DnsOptions {
  clientNetns: string;
  serverNetns: string;
  /** Address dnsmasq listens on and dnsperf queries. */
  serverIp: string;
  /** Default 53. */
  port?: number;
  /** Queries per second (`-Q`), default 1000. */
  qps?: number;
  /** Run length (`-l`); without it dnsperf runs until stop(). */
  durationMs?: number;
  /** A query unanswered after this long is lost (`-t`), default 1000 ms. */
  timeoutMs?: number;
  /** Zone dnsmasq answers for, default example.test; queried name default www.<domain>. */
  domain?: string;
  qname?: string;
  /** Address in the answers, default 10.9.9.9. */
  answer?: string;
  /**
   * Most queries in flight (`-q`). Default max(100, 2 x qps x timeout): dnsperf stops sending when the
   * limit is reached, which would hide loss in a blackout as "not sent".
   */
  maxOutstanding?: number;
  /** dnsperf's own rate report interval in s (`-S`), default 1; 0 disables. */
  statsIntervalS?: number;
}

export function dnsmasqArgs(opts: DnsOptions, pidFile: string): string[] {
  const domain = opts.domain ?? 'example.test';
  return [
    'dnsmasq',
    '--keep-in-foreground',
    // Stay root: a change of user or group clears the parent-death signal (see proc.ts), and dnsmasq would
    // then outlive a vnm killed with SIGKILL.
    '--user=root',
    '--group=root',
    '--conf-file=/dev/null',
    '--no-resolv',
    '--no-hosts',
    '--bind-interfaces',
    `--listen-address=${opts.serverIp}`,
    `--port=${opts.port ?? 53}`,
    `--address=/${domain}/${opts.answer ?? '10.9.9.9'}`,
    `--pid-file=${pidFile}`,
  ];
}

export function dnsperfArgs(opts: DnsOptions, queryFile: string): string[] {
  const qps = opts.qps ?? 1000;
  const timeoutMs = opts.timeoutMs ?? 1000;
  const outstanding = opts.maxOutstanding ?? Math.max(100, Math.ceil((2 * qps * timeoutMs) / 1000));
  const lengthS = opts.durationMs !== undefined && opts.durationMs > 0 ? opts.durationMs / 1000 : 86_400;
  const args = [
    'dnsperf',
    '-s',
    opts.serverIp,
    '-p',
    String(opts.port ?? 53),
    '-d',
    queryFile,
    '-Q',
    String(qps),
    '-l',
    String(lengthS),
    '-c',
    '1',
    '-t',
    String(timeoutMs / 1000),
    '-q',
    String(outstanding),
    '-v',
  ];
  const si = opts.statsIntervalS ?? 1;
  if (si > 0) args.push('-S', String(si));
  return args;
}

export class DnsRunner implements Runner<DnsTimeline> {
  private server: ManagedProcess | null = null;
  private client: ManagedProcess | null = null;
  private dir: string | null = null;
  private readonly lines: { line: string; at: EpochMs }[] = [];
  private stopAt: EpochMs | null = null;
  private result: Promise<DnsTimeline> | null = null;

  constructor(readonly opts: DnsOptions) {
    const qps = opts.qps ?? 1000;
    if (!(qps > 0)) throw new Error(`DNS rate must be > 0 queries/s (got ${qps})`);
  }

  get running(): boolean {
    return (this.client?.running ?? false) || (this.server?.running ?? false);
  }

  get qname(): string {
    return this.opts.qname ?? `www.${this.opts.domain ?? 'example.test'}`;
  }

  async start(): Promise<void> {
    if (this.server) throw new Error('DNS test already started');
    const o = this.opts;
    this.dir = mkdtempSync(join(tmpdir(), 'vnm-dns-'));
    const queryFile = join(this.dir, 'queries.txt');
    writeFileSync(queryFile, `${this.qname} A\n`);
    const server = new ManagedProcess(dnsmasqArgs(o, join(this.dir, 'dnsmasq.pid')), {
      netns: o.serverNetns,
      keepOutput: true,
      name: 'dnsmasq',
    });
    this.server = server;
    try {
      await waitForListen(o.serverNetns, 'udp', o.port ?? 53, {
        timeoutMs: 5000,
        alive: () => server.running,
      });
    } catch (err) {
      await server.stop({ signal: 'SIGTERM', graceMs: 1000 });
      this.cleanupDir();
      const why = server.stderr.trim();
      throw new Error(
        `dnsmasq in ${o.serverNetns}: ${err instanceof Error ? err.message : err}${why ? ` (${why.slice(0, 300)})` : ''}`,
      );
    }
    const client = new ManagedProcess(dnsperfArgs(o, queryFile), {
      netns: o.clientNetns,
      lineBuffered: true,
      keepOutput: false,
      name: 'dnsperf',
    });
    this.client = client;
    const stderr: string[] = [];
    let sending: (() => void) | null = null;
    const isSending = new Promise<void>((resolve) => {
      sending = resolve;
    });
    const onLine = (line: string, at: EpochMs) => {
      this.lines.push({ line, at });
      if (line.startsWith('[Status] Sending queries')) sending?.();
    };
    client.onStdoutLine(onLine);
    client.onStderrLine((line, at) => {
      if (line.trim()) stderr.push(line.trim());
      onLine(line, at);
    });
    this.result = this.collect(client, server, stderr);
    const ok = await Promise.race([
      isSending.then(() => true),
      client.exited.then(() => false),
      new Promise<boolean>((resolve) => setTimeout(() => resolve(true), 3000)),
    ]);
    if (!ok) {
      const tl = await this.result;
      throw new Error(`dnsperf in ${o.clientNetns}: ${tl.error ?? stderr[0] ?? 'exited at once'}`);
    }
  }

  private async collect(
    client: ManagedProcess,
    server: ManagedProcess,
    stderr: string[],
  ): Promise<DnsTimeline> {
    const exit = await client.exited;
    await server.stop({ signal: 'SIGTERM', graceMs: 2000 });
    this.cleanupDir();
    const o = this.opts;
    const tl = buildDnsTimeline(this.lines, {
      clientNetns: o.clientNetns,
      serverNetns: o.serverNetns,
      serverIp: o.serverIp,
      port: o.port ?? 53,
      qname: this.qname,
      qps: o.qps ?? 1000,
      timeoutMs: o.timeoutMs ?? 1000,
      startedAt: client.startedAt,
      endedAt: this.stopAt ?? exit.at,
      stoppedEarly: client.stoppedWith !== null,
    });
    if (!tl.stats && tl.queries.length === 0) {
      tl.error =
        stderr.find((l) => /error|fail|cannot|invalid/i.test(l)) ?? stderr[0] ?? 'dnsperf printed no results';
    }
    if (exit.spawnError) tl.warnings.push(exit.spawnError);
    return tl;
  }

  private cleanupDir(): void {
    if (this.dir) {
      rmSync(this.dir, { recursive: true, force: true });
      this.dir = null;
    }
  }

  wait(): Promise<DnsTimeline> {
    if (!this.result) return Promise.reject(new Error('DNS test not started'));
    return this.result;
  }

  async stop(): Promise<DnsTimeline> {
    if (!this.client || !this.result) {
      this.server?.kill();
      this.cleanupDir();
      throw new Error('DNS test not started');
    }
    if (this.client.running) {
      this.stopAt ??= Date.now();
      await this.client.stop({ signal: 'SIGINT', graceMs: (this.opts.timeoutMs ?? 1000) + 3000 });
    }
    return this.result;
  }

  kill(): void {
    this.stopAt ??= Date.now();
    this.client?.kill();
    this.server?.kill();
    this.cleanupDir();
  }
}

export async function startDns(opts: DnsOptions): Promise<DnsRunner> {
  const r = new DnsRunner(opts);
  await r.start();
  return r;
}
