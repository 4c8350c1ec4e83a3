// End to end: two namespaces joined by a plain veth pair (no Open vSwitch), real ping, iperf3 and
// dnsmasq + dnsperf between them, and the blackout analysis on a real outage (a blackhole route).
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { after, before, describe, test } from 'node:test';
import { longestOutage, splitPingLoss } from '../../src/measure/analysis.ts';
import { DnsRunner } from '../../src/measure/dns.ts';
import { netnsHostResolver } from '../../src/measure/hosts.ts';
import { IperfRunner } from '../../src/measure/iperf.ts';
import { PingRunner } from '../../src/measure/ping.ts';
import { killAllMeasureProcesses, liveMeasureProcessCount } from '../../src/measure/proc.ts';

const A = `vnm-mt-${process.pid}-a`;
const B = `vnm-mt-${process.pid}-b`;
const VA = `vmt${process.pid}a`; // interface names: at most 15 characters
const VB = `vmt${process.pid}b`;
const NET = `10.254.${(process.pid % 250) + 1}`;
const IP_A = `${NET}.1`;
const IP_B = `${NET}.2`;

function sh(...argv: string[]): string {
  return execFileSync(argv[0]!, argv.slice(1), { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

function tryRun(...argv: string[]): void {
  try {
    sh(...argv);
  } catch {
    // best effort (clean-up)
  }
}

function missingTools(): string[] {
  const missing: string[] = [];
  for (const t of ['ip', 'ping', 'iperf3', 'dnsmasq', 'dnsperf', 'ethtool', 'setpriv', 'stdbuf', 'ss']) {
    try {
      sh('sh', '-c', `command -v ${t}`);
    } catch {
      missing.push(t);
    }
  }
  return missing;
}

const skip =
  process.getuid?.() !== 0
    ? 'needs root (network namespaces)'
    : missingTools().length > 0
      ? `missing: ${missingTools().join(' ')}`
      : false;

function nsPids(ns: string): string[] {
  try {
    return sh('ip', 'netns', 'pids', ns)
      .split('\n')
      .filter((l) => l.trim());
  } catch {
    return [];
  }
}

function teardown(): void {
  killAllMeasureProcesses();
  for (const ns of [A, B]) {
    for (const pid of nsPids(ns)) tryRun('kill', '-KILL', pid);
    tryRun('ip', 'netns', 'del', ns);
  }
  tryRun('ip', 'link', 'del', VA); // only if it was left in the root namespace
}

describe('measure on a bare veth pair', { skip }, () => {
  before(() => {
    teardown();
    try {
      sh('ip', 'netns', 'add', A);
      sh('ip', 'netns', 'add', B);
      sh('ip', 'link', 'add', VA, 'type', 'veth', 'peer', 'name', VB);
      sh('ip', 'link', 'set', VA, 'netns', A);
      sh('ip', 'link', 'set', VB, 'netns', B);
      for (const [ns, dev, ip] of [
        [A, VA, IP_A],
        [B, VB, IP_B],
      ] as const) {
        sh('ip', '-n', ns, 'link', 'set', 'lo', 'up');
        sh('ip', '-n', ns, 'addr', 'add', `${ip}/24`, 'dev', dev);
        sh('ip', '-n', ns, 'link', 'set', dev, 'up');
        sh('ip', 'netns', 'exec', ns, 'ethtool', '-K', dev, 'tx', 'off');
      }
    } catch (err) {
      teardown();
      throw err;
    }
  });

  after(() => {
    const leftA = nsPids(A);
    const leftB = nsPids(B);
    teardown();
    assert.deepEqual([...leftA, ...leftB], [], 'no process left in the namespaces');
    assert.equal(liveMeasureProcessCount(), 0);
    assert.ok(!sh('ip', 'netns', 'list').includes(`vnm-mt-${process.pid}-`), 'namespaces removed');
  });

  test('the default host resolver finds the namespace and its address', async () => {
    assert.deepEqual(await netnsHostResolver(B), { name: B, netns: B, ip: IP_B });
    await assert.rejects(netnsHostResolver(`${B}-nope`), /no network namespace/);
  });

  test('ping at 10 ms for 1.5 s: replies, RTT, absolute times', async (t) => {
    const t0 = Date.now();
    const r = new PingRunner({ netns: A, target: IP_B, intervalMs: 10, durationMs: 1500 });
    await r.start();
    const tl = await r.wait();
    const t1 = Date.now();
    assert.ok(tl.transmitted >= 20, `sent ${tl.transmitted}`);
    assert.ok(tl.received >= tl.transmitted - 2, `answered ${tl.received} of ${tl.transmitted}`);
    assert.ok(tl.rtt && tl.rtt.avgMs > 0 && tl.rtt.avgMs < 50);
    assert.ok(tl.probes[0]!.sentAt >= t0 && tl.probes.at(-1)!.sentAt <= t1);
    assert.equal(r.running, false);
    t.diagnostic(
      `ping: ${tl.received}/${tl.transmitted}, rtt avg ${tl.rtt.avgMs.toFixed(3)} ms sd ${tl.rtt.sdMs.toFixed(3)}`,
    );
  });

  test('iperf3 TCP for 2 s: a throughput series on both sides', async (t) => {
    const r = new IperfRunner({
      clientNetns: A,
      serverNetns: B,
      serverIp: IP_B,
      durationMs: 2000,
      intervalMs: 200,
    });
    const t0 = Date.now();
    await r.start();
    const tl = await r.wait();
    assert.equal(tl.error, undefined, tl.error);
    assert.ok(tl.sender.length >= 8, `sender intervals ${tl.sender.length}`);
    assert.ok(tl.receiver.length >= 8, `receiver intervals ${tl.receiver.length}`);
    assert.ok(tl.summary.receiverMbps > 0 && tl.summary.senderMbps > 0);
    assert.ok(tl.startedAt >= t0 - 5 && tl.startedAt < t0 + 2000, 'anchored near the start');
    assert.equal(tl.stoppedEarly, false);
    t.diagnostic(
      `tcp: sender ${tl.summary.senderMbps.toFixed(0)} Mbit/s, receiver ${tl.summary.receiverMbps.toFixed(0)} Mbit/s`,
    );
  });

  test('iperf3 UDP stopped early: the series so far, no error', async () => {
    const r = new IperfRunner({
      clientNetns: A,
      serverNetns: B,
      serverIp: IP_B,
      protocol: 'udp',
      rate: '50M',
      port: 5202,
    });
    await r.start();
    await new Promise((res) => setTimeout(res, 900));
    const tl = await r.stop();
    assert.equal(tl.error, undefined, tl.error);
    assert.equal(tl.stoppedEarly, true);
    assert.ok(tl.sender.length >= 3, `sender intervals ${tl.sender.length}`);
    assert.ok(tl.summary.senderMbps > 10);
    assert.ok((tl.summary.packets ?? 0) > 0);
  });

  test('dnsmasq + dnsperf at 500 q/s for 2 s: queries answered, one record per query', async (t) => {
    const r = new DnsRunner({ clientNetns: A, serverNetns: B, serverIp: IP_B, qps: 500, durationMs: 2000 });
    await r.start();
    const tl = await r.wait();
    assert.equal(tl.error, undefined, tl.error);
    assert.ok(tl.completed > 0, `completed ${tl.completed}`);
    assert.ok(tl.sent >= 800 && tl.sent <= 1100, `sent ${tl.sent}`);
    assert.equal(tl.queries.length, tl.sent);
    assert.ok(tl.latency && tl.latency.avgMs > 0);
    assert.equal(tl.endReason, 'time limit');
    t.diagnostic(
      `dns: ${tl.completed}/${tl.sent} answered, ${tl.stats?.qps?.toFixed(0)} q/s, latency avg ${tl.latency.avgMs.toFixed(3)} ms`,
    );
  });

  test('a real outage: ping loss falls inside the blackout window, none outside', async () => {
    const r = new PingRunner({ netns: A, target: IP_B, intervalMs: 10 });
    await r.start();
    await new Promise((res) => setTimeout(res, 400));
    const start = Date.now();
    sh('ip', '-n', B, 'route', 'add', 'blackhole', `${IP_A}/32`);
    await new Promise((res) => setTimeout(res, 200));
    sh('ip', '-n', B, 'route', 'del', 'blackhole', `${IP_A}/32`);
    const end = Date.now();
    await new Promise((res) => setTimeout(res, 400));
    const tl = await r.stop();
    const split = splitPingLoss(tl, [{ host: B, start, end }], { pathHosts: [A, B], guardMs: 20 });
    assert.ok(split.lostInside > 0, 'probes lost in the outage');
    assert.equal(split.lostOutside, 0, `lost outside: seqs ${split.lostOutsideIds.join(',')}`);
    const o = longestOutage(tl)!;
    assert.ok(o.gapMs >= 100 && o.gapMs < 600, `gap ${o.gapMs}`);
    assert.equal(
      splitPingLoss(tl, []).lostOutside,
      split.lostInside,
      'without the window, all loss is outside',
    );
  });
});
