import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import {
  buildPingTimeline,
  type PingEvent,
  type PingTimeline,
  parsePingLine,
  parsePingOutput,
  pingArgs,
  rttStats,
  unwrapSeq,
} from '../../../src/measure/ping.ts';

const fixture = (name: string) => readFileSync(join(import.meta.dirname, 'fixtures', name), 'utf8');

/** -D timestamp of the first and last timestamped line of a capture, in ms. */
function span(text: string): { first: number; last: number } {
  const ts = [...text.matchAll(/^\[(\d+\.\d+)\]/gm)].map((m) => Number(m[1]) * 1000);
  return { first: ts[0]!, last: ts[ts.length - 1]! };
}

function assertMonotonic(tl: PingTimeline): void {
  for (let i = 1; i < tl.probes.length; i++) {
    assert.ok(
      tl.probes[i]!.sentAt >= tl.probes[i - 1]!.sentAt - 0.01,
      `send times go back at seq ${tl.probes[i]!.seq}: ${tl.probes[i - 1]!.sentAt} -> ${tl.probes[i]!.sentAt}`,
    );
  }
}

describe('parsePingLine', () => {
  test('reply with -D timestamp', () => {
    const e = parsePingLine('[1795618745.809226] 64 bytes from 10.254.77.2: icmp_seq=1 ttl=64 time=0.163 ms');
    assert.deepEqual(e, {
      type: 'reply',
      at: 1795618745.809226 * 1000,
      from: '10.254.77.2',
      seq: 1,
      rttMs: 0.163,
      ttl: 64,
      dup: false,
    });
  });

  test('duplicate reply, no timestamp: the arrival time is used', () => {
    const e = parsePingLine('64 bytes from 10.0.0.2: icmp_seq=7 ttl=64 time=1010 ms (DUP!)', 1234);
    assert.equal(e?.type, 'reply');
    if (e?.type !== 'reply') return;
    assert.equal(e.dup, true);
    assert.equal(e.at, 1234);
    assert.equal(e.rttMs, 1010);
  });

  test('no answer, ICMP error, header, summary, rtt, other', () => {
    assert.deepEqual(parsePingLine('[1795619222.633921] no answer yet for icmp_seq=1'), {
      type: 'no-answer',
      at: 1795619222.633921 * 1000,
      seq: 1,
    });
    const err = parsePingLine('[1795619225.493924] From 10.254.77.1 icmp_seq=1 Destination Host Unreachable');
    assert.equal(err?.type, 'error');
    if (err?.type === 'error') {
      assert.equal(err.seq, 1);
      assert.equal(err.from, '10.254.77.1');
      assert.equal(err.message, 'Destination Host Unreachable');
    }
    assert.deepEqual(parsePingLine('PING 10.254.77.2 (10.254.77.2) 56(84) bytes of data.'), {
      type: 'header',
      target: '10.254.77.2',
      address: '10.254.77.2',
    });
    assert.deepEqual(
      parsePingLine(
        '18 packets transmitted, 0 received, +3 duplicates, +12 errors, 100% packet loss, time 4270ms',
      ),
      {
        type: 'summary',
        transmitted: 18,
        received: 0,
        duplicates: 3,
        errors: 12,
        lossPct: 100,
        timeMs: 4270,
      },
    );
    assert.deepEqual(parsePingLine('47 packets transmitted, 38 received, 19.1489% packet loss, time 761ms'), {
      type: 'summary',
      transmitted: 47,
      received: 38,
      duplicates: 0,
      errors: 0,
      lossPct: 19.1489,
      timeMs: 761,
    });
    assert.deepEqual(parsePingLine('rtt min/avg/max/mdev = 0.014/102.703/1009.754/290.899 ms, pipe 12'), {
      type: 'rtt',
      minMs: 0.014,
      avgMs: 102.703,
      maxMs: 1009.754,
      mdevMs: 290.899,
    });
    assert.deepEqual(parsePingLine('pipe 12'), { type: 'other', text: 'pipe 12' });
    assert.equal(parsePingLine('   '), null);
  });
});

describe('unwrapSeq', () => {
  test('follows the 16-bit wrap, both ways', () => {
    assert.equal(unwrapSeq(1, 0), 1);
    assert.equal(unwrapSeq(65535, 65534), 65535);
    assert.equal(unwrapSeq(0, 65535), 65536);
    assert.equal(unwrapSeq(1, 65536), 65537);
    assert.equal(unwrapSeq(65535, 65538), 65535, 'a late reply from before the wrap');
    assert.equal(unwrapSeq(5, 3 * 65536 + 2), 3 * 65536 + 5);
  });
});

describe('buildPingTimeline on captured output', () => {
  test('blackhole: 9 probes lost by sequence number, send times estimated in order', () => {
    const text = fixture('ping-blackhole.txt');
    const { first, last } = span(text);
    const tl = parsePingOutput(text, { intervalMs: 10, startedAt: first - 20, endedAt: last + 5 });
    assert.equal(tl.transmitted, 47);
    assert.equal(tl.received, 38);
    assert.equal(tl.lost, 9);
    assert.equal(tl.pending, 0);
    assert.deepEqual(
      tl.probes.filter((p) => p.status === 'lost').map((p) => p.seq),
      [19, 20, 21, 22, 23, 24, 25, 26, 27],
    );
    assert.ok(tl.probes.filter((p) => p.status === 'lost').every((p) => p.sentAtEstimated));
    assert.ok(tl.probes.filter((p) => p.status === 'ok').every((p) => !p.sentAtEstimated));
    const p1 = tl.probes[0]!;
    assert.ok(Math.abs(p1.sentAt - (1795619227.11285 * 1000 - 0.051)) < 0.01);
    // seq 19's hint: "no answer yet for 19" minus one interval, kept between seq 18 and seq 28.
    const s19 = tl.probes[18]!;
    assert.ok(s19.sentAt >= tl.probes[17]!.sentAt && s19.sentAt <= tl.probes[27]!.sentAt);
    assert.ok(Math.abs(s19.sentAt - (1795619227.433749 * 1000 - 10)) < 0.01);
    assertMonotonic(tl);
    assert.equal(tl.reported?.transmitted, 47);
    assert.equal(tl.reported?.received, 38);
    assert.ok(Math.abs(tl.lossPct - 19.1489) < 0.01);
    assert.ok(tl.rtt && tl.rtt.n === 38 && tl.rtt.minMs === 0.051);
  });

  test('link down: late replies (RTT ~1 s, out of order) count as answered', () => {
    const text = fixture('ping-linkdown-late.txt');
    const { first, last } = span(text);
    const tl = parsePingOutput(text, { intervalMs: 10, startedAt: first - 20, endedAt: last + 5 });
    assert.equal(tl.transmitted, 108);
    assert.equal(tl.received, 108);
    assert.equal(tl.lost, 0);
    const s20 = tl.probes[19]!;
    assert.equal(s20.rttMs, 1010);
    assert.ok(Math.abs(s20.sentAt - (1795618759.510199 * 1000 - 1010)) < 0.01);
    assert.ok(tl.rtt!.maxMs >= 1000);
    assertMonotonic(tl);
  });

  test('stopped early while the link was down: the unanswered tail is pending, or lost with no grace', () => {
    const text = fixture('ping-stopped-early.txt');
    const { first, last } = span(text);
    const opts = { intervalMs: 10, startedAt: first - 20, endedAt: last };
    const tl = parsePingOutput(text, opts);
    assert.equal(tl.transmitted, 32);
    assert.equal(tl.received, 20);
    assert.equal(tl.pending, 12);
    assert.equal(tl.lost, 0);
    assert.equal(tl.lossPct, 0);
    const strict = parsePingOutput(text, { ...opts, tailGraceMs: 0 });
    assert.equal(strict.pending, 0);
    assert.equal(strict.lost, 12);
    assertMonotonic(strict);
  });

  test('unreachable: ICMP errors are lost probes with a reason', () => {
    const text = fixture('ping-unreachable.txt');
    const { first, last } = span(text);
    const tl = parsePingOutput(text, {
      intervalMs: 200,
      startedAt: first - 200,
      endedAt: last + 100,
      tailGraceMs: 0,
    });
    assert.equal(tl.transmitted, 18);
    assert.equal(tl.received, 0);
    assert.equal(tl.errors, 12);
    assert.equal(tl.lost, 18);
    assert.equal(tl.probes[0]!.status, 'error');
    assert.equal(tl.probes[0]!.error, 'Destination Host Unreachable');
    assert.equal(tl.probes[12]!.status, 'lost');
    assert.equal(tl.reported?.errors, 12);
    assert.equal(tl.rtt, null);
    assertMonotonic(tl);
  });
});

describe('buildPingTimeline on hand-made events', () => {
  const T0 = 1_800_000_000_000;
  const reply = (seq: number, sentMs: number, rtt: number, dup = false): PingEvent => ({
    type: 'reply',
    at: T0 + sentMs + rtt,
    seq,
    rttMs: rtt,
    dup,
    from: '10.0.0.2',
  });

  test('duplicates are counted once as replies and apart as dups', () => {
    const tl = buildPingTimeline(
      [reply(1, 0, 1), reply(1, 0, 1.5, true), reply(2, 10, 1), reply(3, 20, 1), reply(3, 20, 2, true)],
      { intervalMs: 10, startedAt: T0, endedAt: T0 + 5000 },
    );
    assert.equal(tl.transmitted, 3);
    assert.equal(tl.received, 3);
    assert.equal(tl.duplicates, 2);
    assert.equal(tl.probes[0]!.dups, 1);
    assert.equal(tl.probes[0]!.rttMs, 1, 'the first reply gives the RTT');
  });

  test('a late reply printed after later probes is matched to its own sequence number', () => {
    const tl = buildPingTimeline([reply(1, 0, 0.2), reply(3, 20, 0.2), reply(2, 10, 25)], {
      intervalMs: 10,
      startedAt: T0,
      endedAt: T0 + 5000,
    });
    assert.deepEqual(
      tl.probes.map((p) => [p.seq, p.status, p.rttMs]),
      [
        [1, 'ok', 0.2],
        [2, 'ok', 25],
        [3, 'ok', 0.2],
      ],
    );
    assert.equal(tl.probes[1]!.sentAt, T0 + 10);
  });

  test('holes are interpolated by sequence number between known sends', () => {
    const tl = buildPingTimeline(
      [
        reply(1, 0, 0.1),
        reply(5, 100, 0.1),
        { type: 'summary', transmitted: 7, received: 2, duplicates: 0, errors: 0, lossPct: 71, timeMs: 120 },
      ],
      { intervalMs: 10, startedAt: T0, endedAt: T0 + 5000 },
    );
    assert.equal(tl.transmitted, 7);
    assert.deepEqual(
      tl.probes.map((p) => Math.round(p.sentAt - T0)),
      [0, 25, 50, 75, 100, 110, 120],
    );
    assert.equal(tl.lost, 5);
  });

  test('an unanswered probe followed by an answered one is lost even near the end', () => {
    const tl = buildPingTimeline([reply(1, 0, 0.1), reply(3, 20, 0.1)], {
      intervalMs: 10,
      startedAt: T0,
      endedAt: T0 + 30,
    });
    assert.equal(tl.probes[1]!.status, 'lost');
    assert.equal(tl.pending, 0);
  });

  test('sequence numbers wrap at 65536', () => {
    const n = 65538;
    const events: PingEvent[] = [];
    for (const raw of [65534, 65535, 0, 1, 2]) {
      const seq = raw < 100 ? raw + 65536 : raw;
      events.push(reply(raw, (seq - 1) * 10, 0.3));
    }
    events.push(reply(65533, 65532 * 10, 40), {
      type: 'summary',
      transmitted: n,
      received: 6,
      duplicates: 0,
      errors: 0,
      lossPct: 99.99,
      timeMs: null,
    });
    const tl = buildPingTimeline(events, { intervalMs: 10, startedAt: T0, endedAt: T0 + n * 10 + 5000 });
    assert.equal(tl.transmitted, n);
    assert.equal(tl.received, 6);
    assert.deepEqual(
      tl.probes.filter((p) => p.status === 'ok').map((p) => p.seq),
      [65533, 65534, 65535, 65536, 65537, 65538],
    );
    assert.equal(tl.probes[65535]!.sentAt, T0 + 65535 * 10);
    assert.equal(tl.lost, n - 6);
  });

  test('no output at all: an empty timeline', () => {
    const tl = buildPingTimeline([], { intervalMs: 10, startedAt: T0, endedAt: T0 + 100 });
    assert.equal(tl.transmitted, 0);
    assert.equal(tl.lossPct, 0);
    assert.equal(tl.rtt, null);
  });
});

test('rttStats: population sd like ping mdev', () => {
  const s = rttStats([1, 2, 3, 4])!;
  assert.equal(s.avgMs, 2.5);
  assert.ok(Math.abs(s.sdMs - Math.sqrt(1.25)) < 1e-12);
  assert.equal(s.minMs, 1);
  assert.equal(s.maxMs, 4);
  assert.equal(rttStats([]), null);
});

test('pingArgs', () => {
  assert.deepEqual(pingArgs({ netns: 'h1', target: '10.0.0.2' }), [
    'ping',
    '-i',
    '0.01',
    '-D',
    '-n',
    '-O',
    '10.0.0.2',
  ]);
  assert.deepEqual(
    pingArgs({ netns: 'h1', target: '10.0.0.2', intervalMs: 200, count: 5, sizeBytes: 1000 }),
    ['ping', '-i', '0.2', '-D', '-n', '-O', '-c', '5', '-s', '1000', '10.0.0.2'],
  );
});
