// `vnm traffic ping|tcp|udp|dns`: run one kind of traffic between two hosts and report what was measured.
// A host argument is resolved by a HostResolver: by default it names a network namespace (`ip netns list`)
// and its first global IPv4 address; the test bed can resolve its own host names (see DEFAULT_RESOLVER).
import { type Command, InvalidArgumentError, Option } from 'commander';
import { longestOutage } from '../../measure/analysis.ts';
import { DnsRunner, type DnsTimeline } from '../../measure/dns.ts';
import {
  chainResolvers,
  type HostResolver,
  netnsHostResolver,
  type ResolvedHost,
  resolveTargetIp,
} from '../../measure/hosts.ts';
import { IperfRunner, type IperfTimeline } from '../../measure/iperf.ts';
import { isIpv4 } from '../../measure/netns.ts';
import { PingRunner, type PingTimeline } from '../../measure/ping.ts';
import type { Runner } from '../../measure/types.ts';
import { testbedHostResolver } from '../../testbed/index.ts';

// Host names resolve as test-bed hosts first (h1 or BED/h1), then as plain network namespaces.
const DEFAULT_RESOLVER: HostResolver = chainResolvers(testbedHostResolver, netnsHostResolver);

export interface TrafficCommandOptions {
  /** Overrides DEFAULT_RESOLVER (tests, embedding). */
  resolveHost?: HostResolver;
  /** Where output goes (default process.stdout). */
  out?: (text: string) => void;
}

function positiveNumber(what: string, allowZero = false) {
  return (v: string): number => {
    const n = Number(v);
    if (!Number.isFinite(n) || n < 0 || (!allowZero && n === 0)) {
      throw new InvalidArgumentError(`${what} must be a ${allowZero ? 'non-negative' : 'positive'} number`);
    }
    return n;
  };
}

function port(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1 || n > 65535) throw new InvalidArgumentError('port must be 1..65535');
  return n;
}

function rate(v: string): string {
  if (!/^\d+(\.\d+)?[KMGkmg]?$/.test(v)) throw new InvalidArgumentError('rate looks like 100M, 1G or 500K');
  return v;
}

const f = (x: number, d = 2) => x.toFixed(d);

/**
 * Runs a runner to its end; Ctrl-C (or SIGTERM) stops it gracefully and still reports; a second Ctrl-C
 * kills everything at once.
 */
async function runToEnd<R>(runner: Runner<R>): Promise<R> {
  let stopping = false;
  const onSignal = (sig: NodeJS.Signals) => {
    if (stopping) {
      runner.kill();
      process.exit(sig === 'SIGINT' ? 130 : 143);
    }
    stopping = true;
    process.stderr.write('vnm: stopping (again to kill)\n');
    void runner.stop().catch(() => runner.kill());
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    await runner.start();
    return await runner.wait();
  } catch (err) {
    runner.kill();
    throw err;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

function durationMs(s: number | undefined): number | undefined {
  return s === undefined || s === 0 ? undefined : Math.round(s * 1000);
}

export function pingSummary(from: string, tl: PingTimeline): string {
  const lines = [
    `ping ${from} -> ${tl.target}: ${tl.transmitted} sent, ${tl.received} answered, ${tl.lost} lost (${f(tl.lossPct)} %)` +
      `${tl.errors ? `, ${tl.errors} ICMP errors` : ''}${tl.pending ? `, ${tl.pending} unanswered at stop` : ''}` +
      `${tl.duplicates ? `, ${tl.duplicates} duplicates` : ''}`,
  ];
  if (tl.rtt) {
    lines.push(
      `  rtt avg ${f(tl.rtt.avgMs, 3)} ms, sd ${f(tl.rtt.sdMs, 3)}, min ${f(tl.rtt.minMs, 3)}, max ${f(tl.rtt.maxMs, 3)}`,
    );
  }
  const o = longestOutage(tl);
  if (o)
    lines.push(`  longest outage: ${o.probes} probes (seq ${o.fromSeq}-${o.toSeq}), gap ${f(o.gapMs, 1)} ms`);
  const span = tl.probes.length > 1 ? tl.probes[tl.probes.length - 1]!.sentAt - tl.probes[0]!.sentAt : 0;
  if (span > 0)
    lines.push(
      `  ${f((1000 * (tl.probes.length - 1)) / span, 1)} probes/s (asked ${f(1000 / tl.intervalMs, 1)})`,
    );
  for (const w of tl.warnings.slice(0, 5)) lines.push(`  warning: ${w}`);
  return `${lines.join('\n')}\n`;
}

export function iperfSummary(client: string, server: string, tl: IperfTimeline): string {
  const s = tl.summary;
  const lines = [
    `${tl.protocol} ${client} -> ${server} (${tl.serverIp}:${tl.port})${tl.reverse ? ' reverse' : ''}: ${f(s.seconds, 2)} s, ` +
      `sender ${f(s.senderMbps, 1)} Mbit/s, receiver ${f(s.receiverMbps, 1)} Mbit/s` +
      `${s.retransmits !== undefined ? `, ${s.retransmits} retransmits` : ''}`,
  ];
  if (tl.protocol === 'udp' && s.packets !== undefined) {
    lines.push(
      `  ${s.packets} datagrams, ${s.lostPackets ?? 0} lost (${f(s.lostPct ?? 0)} %)` +
        `${s.jitterMs !== undefined ? `, jitter ${f(s.jitterMs, 3)} ms` : ''}`,
    );
  }
  const series = tl.receiver.length > 0 ? tl.receiver : tl.sender;
  if (series.length > 0) {
    const mb = series.map((p) => p.bitsPerSecond / 1e6);
    lines.push(
      `  ${series.length} intervals of ${tl.intervalMs} ms (${tl.receiver.length > 0 ? 'receiver' : 'sender'}): ` +
        `min ${f(Math.min(...mb), 1)}, max ${f(Math.max(...mb), 1)} Mbit/s`,
    );
  }
  if (tl.error) lines.push(`  error: ${tl.error}`);
  if (tl.serverError) lines.push(`  server error: ${tl.serverError}`);
  for (const w of tl.warnings) lines.push(`  warning: ${w}`);
  return `${lines.join('\n')}\n`;
}

export function dnsSummary(client: string, server: string, tl: DnsTimeline): string {
  const lines = [
    `dns ${client} -> ${server} (${tl.serverIp}:${tl.port}) at ${tl.qps} q/s: ${tl.sent} sent, ${tl.completed} completed, ` +
      `${tl.lost} lost (${f(tl.lossPct)} %)`,
  ];
  if (tl.latency) {
    lines.push(
      `  latency avg ${f(tl.latency.avgMs, 3)} ms, sd ${f(tl.latency.sdMs, 3)}, min ${f(tl.latency.minMs, 3)}, max ${f(tl.latency.maxMs, 3)}`,
    );
  }
  if (tl.stats?.qps != null)
    lines.push(`  ${f(tl.stats.qps, 1)} q/s answered over ${f(tl.stats.runTimeS ?? 0, 2)} s`);
  if (tl.endReason) lines.push(`  ended: ${tl.endReason}`);
  if (tl.error) lines.push(`  error: ${tl.error}`);
  for (const w of tl.warnings.slice(0, 5)) lines.push(`  warning: ${w}`);
  return `${lines.join('\n')}\n`;
}

async function serverAddress(
  server: ResolvedHost,
  given: string | undefined,
  resolve: HostResolver,
): Promise<string> {
  if (given) return isIpv4(given) ? given : resolveTargetIp(given, resolve);
  if (!server.ip) throw new Error(`host '${server.name}' has no IPv4 address; give --server-ip`);
  return server.ip;
}

export function registerTrafficCommands(program: Command, opts: TrafficCommandOptions = {}): void {
  const resolve = opts.resolveHost ?? DEFAULT_RESOLVER;
  const out = opts.out ?? ((t: string) => void process.stdout.write(t));
  const json = (x: unknown) => out(`${JSON.stringify(x, null, 2)}\n`);

  const traffic = program
    .command('traffic')
    .description('Run traffic between hosts (network namespaces) and report what was measured');

  traffic
    .command('ping')
    .description('Ping at a set interval; loss counted by icmp_seq, per-probe RTT')
    .requiredOption('--from <host>', 'host (namespace) to ping from')
    .requiredOption('--to <host|ip>', 'address, or host whose address to ping')
    .option('--interval-ms <ms>', 'interval between probes', positiveNumber('interval'), 10)
    .option('--duration-s <s>', 'run time (0: until Ctrl-C)', positiveNumber('duration', true), 5)
    .option('--count <n>', 'stop after n probes', positiveNumber('count'))
    .option('--size <bytes>', 'ICMP payload size', positiveNumber('size', true))
    .option('--json', 'print the full timeline as JSON')
    .action(
      async (o: {
        from: string;
        to: string;
        intervalMs: number;
        durationS: number;
        count?: number;
        size?: number;
        json?: boolean;
      }) => {
        const from = await resolve(o.from);
        const target = await resolveTargetIp(o.to, resolve);
        const runner = new PingRunner({
          netns: from.netns,
          target,
          intervalMs: o.intervalMs,
          ...(durationMs(o.durationS) !== undefined && o.count === undefined
            ? { durationMs: durationMs(o.durationS)! }
            : {}),
          ...(o.count !== undefined ? { count: Math.round(o.count) } : {}),
          ...(o.size !== undefined ? { sizeBytes: Math.round(o.size) } : {}),
        });
        const tl = await runToEnd(runner);
        if (o.json) json(tl);
        else out(pingSummary(o.from, tl));
        if (tl.received === 0) process.exitCode = 1;
      },
    );

  const iperfCommand = (name: 'tcp' | 'udp') => {
    const cmd = traffic
      .command(name)
      .description(
        `iperf3 ${name.toUpperCase()} stream with a throughput series (server with -1 in the peer host)`,
      )
      .requiredOption('--client <host>', 'host (namespace) of the iperf3 client')
      .requiredOption('--server <host>', 'host (namespace) of the iperf3 server')
      .option('--server-ip <ip>', "server address (default: the server host's address)")
      .option('--port <port>', 'server port', port, 5201)
      .option('--duration-s <s>', 'run time (0: until Ctrl-C)', positiveNumber('duration', true), 10)
      .option('--interval-s <s>', 'report interval, 0.1..60', positiveNumber('interval'), 0.2)
      .option('--reverse', 'the server sends, the client receives')
      .option('--parallel <n>', 'parallel streams', positiveNumber('parallel'))
      .addOption(
        new Option(
          '--rate <bitrate>',
          `target bitrate, e.g. 100M${name === 'udp' ? ' (default 10M)' : ''}`,
        ).argParser(rate),
      )
      .option('--json', 'print the full timeline as JSON');
    if (name === 'tcp') cmd.option('--udp', 'UDP instead of TCP (same as `vnm traffic udp`)');
    cmd.action(
      async (o: {
        client: string;
        server: string;
        serverIp?: string;
        port: number;
        durationS: number;
        intervalS: number;
        reverse?: boolean;
        parallel?: number;
        rate?: string;
        udp?: boolean;
        json?: boolean;
      }) => {
        const client = await resolve(o.client);
        const server = await resolve(o.server);
        const ip = await serverAddress(server, o.serverIp, resolve);
        const runner = new IperfRunner({
          clientNetns: client.netns,
          serverNetns: server.netns,
          serverIp: ip,
          port: o.port,
          protocol: name === 'udp' || o.udp ? 'udp' : 'tcp',
          intervalMs: Math.round(o.intervalS * 1000),
          ...(durationMs(o.durationS) !== undefined ? { durationMs: durationMs(o.durationS)! } : {}),
          ...(o.rate ? { rate: o.rate } : {}),
          ...(o.reverse ? { reverse: true } : {}),
          ...(o.parallel ? { parallel: Math.round(o.parallel) } : {}),
        });
        const tl = await runToEnd(runner);
        if (o.json) json(tl);
        else out(iperfSummary(o.client, o.server, tl));
        if (tl.error) process.exitCode = 1;
      },
    );
  };
  iperfCommand('tcp');
  iperfCommand('udp');

  traffic
    .command('dns')
    .description('dnsmasq in the server host, dnsperf in the client host at a set rate')
    .requiredOption('--client <host>', 'host (namespace) of dnsperf')
    .requiredOption('--server <host>', 'host (namespace) of dnsmasq')
    .option('--server-ip <ip>', "address dnsmasq listens on (default: the server host's address)")
    .option('--port <port>', 'DNS port', port, 53)
    .option('--qps <n>', 'queries per second', positiveNumber('qps'), 1000)
    .option('--duration-s <s>', 'run time (0: until Ctrl-C)', positiveNumber('duration', true), 25)
    .option('--timeout-ms <ms>', 'a query unanswered this long is lost', positiveNumber('timeout'), 1000)
    .option('--domain <zone>', 'zone dnsmasq answers for', 'example.test')
    .option('--json', 'print the full timeline (one entry per query) as JSON')
    .action(
      async (o: {
        client: string;
        server: string;
        serverIp?: string;
        port: number;
        qps: number;
        durationS: number;
        timeoutMs: number;
        domain: string;
        json?: boolean;
      }) => {
        const client = await resolve(o.client);
        const server = await resolve(o.server);
        const ip = await serverAddress(server, o.serverIp, resolve);
        const runner = new DnsRunner({
          clientNetns: client.netns,
          serverNetns: server.netns,
          serverIp: ip,
          port: o.port,
          qps: o.qps,
          timeoutMs: o.timeoutMs,
          domain: o.domain,
          ...(durationMs(o.durationS) !== undefined ? { durationMs: durationMs(o.durationS)! } : {}),
        });
        const tl = await runToEnd(runner);
        if (o.json) json(tl);
        else out(dnsSummary(o.client, o.server, tl));
        if (tl.error || tl.completed === 0) process.exitCode = 1;
      },
    );
}
