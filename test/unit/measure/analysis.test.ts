import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import {
  dnsPhaseStats,
  dnsSeries,
  type FlightProbe,
  inBlackout,
  iperfPhaseStats,
  longestOutage,
  median,
  phasesFromBoundaries,
  pingPhaseStats,
  splitDnsLoss,
  splitLoss,
  splitPingLoss,
  throughputPhaseStats,
  totalBlackoutMs,
  windowsForPath,
} from '../../../src/measure/analysis.ts';
import { buildDnsTimeline } from '../../../src/measure/dns.ts';
import type { IperfTimeline, ThroughputPoint } from '../../../src/measure/iperf.ts';
import { buildPingTimeline, type PingEvent, parsePingOutput } from '../../../src/measure/ping.ts';
import type { BlackoutWindow } from '../../../src/measure/types.ts';

const T0 = 1_800_000_000_000;

/** A ping timeline: one probe per 10 ms, `lost` seqs unanswered, rtt(seq) for the others. */
function pingTl(n: number, lost: number[], rtt: (seq: number) => number = () => 0.2) {
  const events: PingEvent[] = [];
  for (let seq = 1; seq <= n; seq++) {
    if (lost.includes(seq)) continue;
    const r = rtt(seq);
    events.push({ type: 'reply', at: T0 + (seq - 1) * 10 + r, seq, rttMs: r, dup: false, from: 'x' });
  }
  events.push({
    type: 'summary',
    transmitted: n,
    received: n - lost.length,
    duplicates: 0,
    errors: 0,
    lossPct: 0,
    timeMs: null,
  });
  return buildPingTimeline(events, { intervalMs: 10, startedAt: T0, endedAt: T0 + n * 10 + 5000 });
}

describe('inBlackout and windows', () => {
  const w = [{ start: 100, end: 200 }];
  test('a flight overlapping the window, boundaries included', () => {
    assert.equal(inBlackout(150, 150.2, w), true, 'sent inside');
    assert.equal(inBlackout(90, 110, w), true, 'reply due inside');
    assert.equal(inBlackout(90, 250, w), true, 'window between send and reply');
    assert.equal(inBlackout(200, 201, w), true, 'sent at the end');
    assert.equal(inBlackout(99, 99.9, w), false);
    assert.equal(inBlackout(200.1, 201, w), false);
  });
  test('the guard widens both sides', () => {
    assert.equal(inBlackout(95, 95.2, w, 5), true);
    assert.equal(inBlackout(205, 205.2, w, 5), true);
    assert.equal(inBlackout(205.1, 205.2, w, 5), false);
  });
  test('windows of other hosts do not apply; * applies everywhere; no path: all', () => {
    const ws: BlackoutWindow[] = [
      { host: 'h1', start: 0, end: 1 },
      { host: 'h3', start: 2, end: 3 },
      { host: '*', start: 4, end: 5 },
    ];
    assert.deepEqual(
      windowsForPath(ws, ['h1', 'h2']).map((x) => x.host),
      ['h1', '*'],
    );
    assert.equal(windowsForPath(ws).length, 3);
  });
  test('total blackout time counts overlaps once', () => {
    assert.equal(
      totalBlackoutMs([
        { start: 0, end: 10 },
        { start: 5, end: 15 },
        { start: 20, end: 30 },
        { start: 40, end: 40 },
      ]),
      25,
    );
    assert.equal(totalBlackoutMs([]), 0);
  });
  test('median', () => {
    assert.equal(median([3, 1, 2]), 2);
    assert.equal(median([4, 1, 2, 3]), 2.5);
    assert.equal(median([]), null);
  });
});

describe('splitLoss', () => {
  const windows: BlackoutWindow[] = [{ host: 'h1', start: T0 + 100, end: T0 + 150 }];

  test('ping: losses inside the host window apart from those outside', () => {
    // seq k is sent at (k-1)*10 ms: 11..16 fall in [100, 150]; 30 is outside.
    const tl = pingTl(40, [11, 12, 13, 14, 15, 16, 30]);
    const s = splitPingLoss(tl, windows, { pathHosts: ['h1', 'h2'] });
    assert.equal(s.sent, 40);
    assert.equal(s.lost, 7);
    assert.equal(s.lostInside, 6);
    assert.equal(s.lostOutside, 1);
    assert.deepEqual(s.lostOutsideIds, [30]);
    assert.deepEqual(s.lostInsideIds, [11, 12, 13, 14, 15, 16]);
    assert.equal(s.sentInside, 6);
    assert.ok(Math.abs(s.lossOutsidePct - 100 / 34) < 1e-9);
    assert.ok(Math.abs(s.expectedRttMs - 0.2) < 1e-3);
  });

  test('a window of a host off the path does not excuse loss', () => {
    const tl = pingTl(40, [11, 12]);
    const s = splitPingLoss(tl, windows, { pathHosts: ['h2', 'h3'] });
    assert.equal(s.lostInside, 0);
    assert.equal(s.lostOutside, 2);
  });

  test('a lost probe sent just before the window counts inside when its reply was due inside', () => {
    const probes: FlightProbe[] = [
      { id: 1, sentAt: T0 + 95, replyAt: null, answered: false, lost: true },
      { id: 2, sentAt: T0 + 50, replyAt: T0 + 60, answered: true, lost: false },
    ];
    assert.equal(splitLoss(probes, windows).lostInside, 1, 'median RTT 10 ms: reply due at 105');
    assert.equal(splitLoss(probes, windows, { expectedRttMs: 1 }).lostInside, 0);
    assert.equal(splitLoss(probes, windows, { expectedRttMs: 1, guardMs: 5 }).lostInside, 1);
  });

  test('pending probes are left out; errors count as lost', () => {
    const probes: FlightProbe[] = [
      { id: 1, sentAt: T0, replyAt: null, answered: false, lost: false },
      { id: 2, sentAt: T0 + 200, replyAt: null, answered: false, lost: true },
    ];
    const s = splitLoss(probes, windows);
    assert.equal(s.sent, 1);
    assert.equal(s.lostOutside, 1);
  });

  test('on a captured blackhole run: all 9 losses inside a window around them, none without it', () => {
    const text = readFileSync(join(import.meta.dirname, 'fixtures', 'ping-blackhole.txt'), 'utf8');
    const ts = [...text.matchAll(/^\[(\d+\.\d+)\]/gm)].map((m) => Number(m[1]) * 1000);
    const tl = parsePingOutput(text, { intervalMs: 10, startedAt: ts[0]! - 20, endedAt: ts.at(-1)! + 5 });
    const lost = tl.probes.filter((p) => p.status === 'lost');
    const w: BlackoutWindow = { host: 'h2', start: lost[0]!.sentAt - 2, end: lost.at(-1)!.sentAt + 2 };
    const s = splitPingLoss(tl, [w], { pathHosts: ['h1', 'h2'] });
    assert.equal(s.lostInside, 9);
    assert.equal(s.lostOutside, 0);
    assert.equal(splitPingLoss(tl, []).lostOutside, 9);
  });

  test('DNS: timeouts split by estimated send time', () => {
    const dns = buildDnsTimeline(
      [
        { line: '> NOERROR www.example.test A 0.001', at: T0 + 50 },
        { line: '> T www.example.test A', at: T0 + 1120 },
        { line: '> T www.example.test A', at: T0 + 1300 },
      ],
      { timeoutMs: 1000, startedAt: T0, endedAt: T0 + 2000 },
    );
    const s = splitDnsLoss(dns, windows);
    assert.equal(s.sent, 3);
    assert.equal(s.lostInside, 1, 'sent at 120: inside');
    assert.equal(s.lostOutside, 1, 'sent at 300: outside');
    assert.deepEqual(s.lostOutsideIds, [2]);
  });
});

describe('per-phase figures', () => {
  const phases = phasesFromBoundaries(['before', 'during', 'after'], [T0, T0 + 100, T0 + 200, T0 + 300]);

  test('phasesFromBoundaries checks its input', () => {
    assert.equal(phases.length, 3);
    assert.deepEqual(phases[1], { name: 'during', start: T0 + 100, end: T0 + 200 });
    assert.throws(() => phasesFromBoundaries(['a'], [1]));
  });

  test('ping RTT average and sd per phase, probes by send time, half-open phases', () => {
    // seqs 1..10 in before (0..90 ms), 11..20 in during, 21..30 in after.
    const tl = pingTl(30, [15], (seq) => (seq <= 10 ? 0.2 : seq <= 20 ? (seq % 2 ? 0.4 : 0.6) : 0.25));
    const [b, d, a] = pingPhaseStats(tl, phases);
    assert.equal(b!.sent, 10);
    assert.ok(Math.abs(b!.rtt!.avgMs - 0.2) < 1e-12);
    assert.ok(b!.rtt!.sdMs < 1e-12);
    assert.equal(d!.sent, 10);
    assert.equal(d!.lost, 1);
    assert.equal(d!.lossPct, 10);
    assert.equal(d!.rtt!.n, 9);
    assert.ok(Math.abs(d!.rtt!.avgMs - (5 * 0.6 + 4 * 0.4) / 9) < 1e-9);
    assert.ok(d!.rtt!.sdMs > 0.09 && d!.rtt!.sdMs < 0.11);
    assert.equal(a!.sent, 10);
    assert.ok(Math.abs(a!.rtt!.avgMs - 0.25) < 1e-12);
  });

  test('a phase without probes has no RTT', () => {
    const [x] = pingPhaseStats(pingTl(3, []), [{ name: 'later', start: T0 + 1e6, end: T0 + 2e6 }]);
    assert.equal(x!.sent, 0);
    assert.equal(x!.rtt, null);
    assert.equal(x!.lossPct, 0);
  });

  test('throughput: intervals split pro rata across phase boundaries', () => {
    const series: ThroughputPoint[] = [
      { start: T0, end: T0 + 150, bytes: 1500, bitsPerSecond: 0 },
      { start: T0 + 150, end: T0 + 250, bytes: 2000, bitsPerSecond: 0 },
    ];
    const [b, d, a] = throughputPhaseStats(series, phases);
    assert.equal(b!.bytes, 1000);
    assert.equal(b!.coveredMs, 100);
    assert.ok(Math.abs(b!.mbps - (1000 * 8) / 0.1 / 1e6) < 1e-12);
    assert.equal(d!.bytes, 500 + 1000);
    assert.equal(d!.coveredMs, 100);
    assert.equal(a!.bytes, 1000);
    assert.equal(a!.coveredMs, 50, 'the measurement stopped half way: not diluted');
    assert.ok(Math.abs(a!.mbps - (1000 * 8) / 0.05 / 1e6) < 1e-12);
    const [none] = throughputPhaseStats(series, [{ name: 'x', start: T0 + 1000, end: T0 + 2000 }]);
    assert.equal(none!.mbps, 0);
    assert.equal(none!.coveredMs, 0);
  });

  test('iperf: receiver series by default, sender on request or when no receiver', () => {
    const tl = {
      sender: [{ start: T0, end: T0 + 300, bytes: 3000, bitsPerSecond: 0 }],
      receiver: [{ start: T0, end: T0 + 300, bytes: 300, bitsPerSecond: 0 }],
    } as unknown as IperfTimeline;
    assert.equal(iperfPhaseStats(tl, phases)[0]!.bytes, 100);
    assert.equal(iperfPhaseStats(tl, phases, 'sender')[0]!.bytes, 1000);
    assert.equal(iperfPhaseStats({ ...tl, receiver: [] }, phases)[0]!.bytes, 1000);
  });

  test('DNS per phase and per-second series', () => {
    const lines = [];
    for (let i = 0; i < 30; i++) {
      const sent = T0 + i * 10;
      lines.push(
        i === 12 || i === 13
          ? { line: '> T www.example.test A', at: sent + 1000 }
          : { line: '> NOERROR www.example.test A 0.000500', at: sent + 0.5 },
      );
    }
    const tl = buildDnsTimeline(lines, { timeoutMs: 1000, startedAt: T0, endedAt: T0 + 2000 });
    const [b, d, a] = dnsPhaseStats(tl, phases);
    assert.deepEqual([b!.sent, b!.lost, d!.sent, d!.lost, a!.sent, a!.lost], [10, 0, 10, 2, 10, 0]);
    assert.equal(d!.lossPct, 20);
    assert.ok(Math.abs(b!.latencyAvgMs! - 0.5) < 1e-9);
    const bins = dnsSeries(tl, 100);
    assert.deepEqual(
      bins.map((x) => [x.sent, x.completed, x.lost]),
      [
        [10, 10, 0],
        [10, 8, 2],
        [10, 10, 0],
      ],
    );
    assert.deepEqual(dnsSeries({ ...tl, queries: [] }), []);
  });
});

test('longestOutage: the longest run of lost probes and the gap around it', () => {
  const tl = pingTl(40, [5, 11, 12, 13, 30]);
  assert.deepEqual(longestOutage(tl), { fromSeq: 11, toSeq: 13, probes: 3, gapMs: 40 });
  assert.equal(longestOutage(pingTl(5, [])), null);
});
