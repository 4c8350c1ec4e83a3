import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import {
  buildIperfTimeline,
  type IperfBuildInput,
  iperfAnchor,
  iperfArgs,
  parseIperfJson,
  parseIperfJsonStream,
  toThroughputSeries,
} from '../../../src/measure/iperf.ts';

const fixture = (name: string) => readFileSync(join(import.meta.dirname, 'fixtures', name), 'utf8');

describe('parseIperfJson', () => {
  test('TCP client stopped with SIGINT: intervals so far, the last one partial', () => {
    const r = parseIperfJson(fixture('iperf-tcp-client-interrupted.json.txt'));
    assert.equal(r.protocol, 'tcp');
    assert.equal(r.reverse, false);
    assert.equal(r.timesecs, 1795618769);
    assert.equal(r.error, 'interrupt - the client has terminated');
    assert.equal(r.intervals.length, 6);
    assert.deepEqual(
      r.intervals.map((i) => [i.startS, i.endS]),
      [
        [0, 0.20086],
        [0.20086, 0.401067],
        [0.401067, 0.600208],
        [0.600208, 0.801374],
        [0.801374, 1.00058],
        [1.00058, 1.091984],
      ],
    );
    assert.equal(r.intervals[0]!.bytes, 169082880);
    assert.equal(r.intervals[0]!.retransmits, 438);
  });

  test('server output: its repeated last interval is dropped', () => {
    const r = parseIperfJson(fixture('iperf-tcp-server-dup-last.json.txt'));
    assert.equal(r.intervals.length, 2);
    assert.equal(r.error, 'the client has terminated');
  });

  test('UDP client and server: packets, loss, jitter', () => {
    const c = parseIperfJson(fixture('iperf-udp-client-interrupted.json.txt'));
    assert.equal(c.protocol, 'udp');
    assert.equal(c.intervals[0]!.packets, 1723);
    const s = parseIperfJson(fixture('iperf-udp-server.json.txt'));
    assert.equal(s.intervals.length, 1);
    assert.equal(s.intervals[0]!.lostPackets, 0);
    assert.ok(s.intervals[0]!.jitterMs! > 0);
    assert.equal(s.sumReceived?.packets, 9377);
  });

  test('no output, garbage, bad JSON: an error, never a throw', () => {
    assert.equal(parseIperfJson('').error, 'no output from iperf3');
    assert.match(parseIperfJson('iperf3: error - unable to connect').error!, /no JSON/);
    assert.match(parseIperfJson('{"start": ').error!, /no JSON|bad JSON/);
    const r = parseIperfJson(
      '{"start":{},"intervals":[],"end":{},"error":"unable to connect to server: Connection refused"}',
    );
    assert.equal(r.error, 'unable to connect to server: Connection refused');
    assert.equal(r.intervals.length, 0);
  });
});

describe('parseIperfJsonStream', () => {
  test('intervals as lines; the anchor is the earliest arrival minus interval end', () => {
    const T = 1_800_000_000_000;
    const iv = (s: number, e: number, bytes: number) =>
      JSON.stringify({
        event: 'interval',
        data: {
          streams: [],
          sum: { start: s, end: e, seconds: e - s, bytes, bits_per_second: (bytes * 8) / (e - s) },
        },
      });
    const lines = [
      {
        line: JSON.stringify({
          event: 'start',
          data: { timestamp: { timesecs: T / 1000 }, test_start: { protocol: 'TCP', reverse: 0 } },
        }),
        at: T,
      },
      { line: iv(0, 0.2, 1000), at: T + 210 },
      { line: iv(0.2, 0.4, 2000), at: T + 403 },
      { line: iv(0.4, 0.6, 3000), at: T + 650 },
      { line: 'not json', at: T + 700 },
      {
        line: JSON.stringify({ event: 'error', data: 'interrupt - the client has terminated' }),
        at: T + 700,
      },
    ];
    const r = parseIperfJsonStream(lines);
    assert.equal(r.intervals.length, 3);
    assert.equal(r.streamAnchor, T + 3);
    assert.equal(r.protocol, 'tcp');
    assert.equal(r.error, 'interrupt - the client has terminated');
  });
});

describe('iperfAnchor', () => {
  const spawnedAt = 1_795_618_768_900;
  test('end observed minus last interval end', () => {
    const a = iperfAnchor({
      spawnedAt,
      endObservedAt: spawnedAt + 1200,
      lastIntervalEndS: 1.091984,
      timesecs: 1795618769,
    });
    assert.equal(a.source, 'end');
    assert.ok(Math.abs(a.at - (spawnedAt + 1200 - 1091.984)) < 1e-6);
  });
  test('never before the spawn or the connect second, never long after it', () => {
    const early = iperfAnchor({
      spawnedAt,
      endObservedAt: spawnedAt + 500,
      lastIntervalEndS: 1,
      timesecs: 1795618769,
    });
    assert.equal(early.at, 1795618769000);
    const late = iperfAnchor({
      spawnedAt,
      endObservedAt: spawnedAt + 9000,
      lastIntervalEndS: 1,
      timesecs: 1795618769,
    });
    assert.equal(late.at, 1795618769000 + 1500);
    const none = iperfAnchor({
      spawnedAt,
      endObservedAt: spawnedAt + 9000,
      lastIntervalEndS: null,
      timesecs: null,
    });
    assert.deepEqual(none, { at: spawnedAt, source: 'spawn' });
  });
});

describe('buildIperfTimeline', () => {
  const base = (over: Partial<IperfBuildInput>): IperfBuildInput => ({
    client: parseIperfJson(fixture('iperf-tcp-client-t0-interrupted.json.txt')),
    server: parseIperfJson(fixture('iperf-tcp-server-dup-last.json.txt')),
    anchor: 1_795_618_900_000,
    anchorSource: 'end',
    protocol: 'tcp',
    reverse: false,
    clientNetns: 'a',
    serverNetns: 'b',
    serverIp: '10.254.77.2',
    port: 5299,
    intervalMs: 500,
    stoppedEarly: true,
    ...over,
  });

  test('TCP stopped early: sender from the client, receiver from the server, no error', () => {
    const tl = buildIperfTimeline(base({}));
    assert.equal(tl.error, undefined);
    assert.equal(tl.serverError, undefined);
    assert.equal(tl.sender.length, 3);
    assert.equal(tl.receiver.length, 2);
    assert.equal(tl.sender[0]!.start, 1_795_618_900_000);
    assert.ok(Math.abs(tl.sender[2]!.end - (1_795_618_900_000 + 1290.195)) < 1e-3);
    assert.ok(tl.summary.senderMbps > 1000);
    assert.ok(tl.summary.receiverMbps > 1000);
    assert.ok(tl.summary.retransmits !== undefined);
    assert.equal(tl.stoppedEarly, true);
  });

  test('the interrupt message is an error when we did not stop it', () => {
    assert.equal(
      buildIperfTimeline(base({ stoppedEarly: false })).error,
      'interrupt - the client has terminated',
    );
  });

  test('reverse: the client is the receiver', () => {
    const tl = buildIperfTimeline(base({ reverse: true }));
    assert.equal(tl.receiver.length, 3);
    assert.equal(tl.sender.length, 2);
  });

  test('UDP: receiver loss and jitter in the summary', () => {
    const tl = buildIperfTimeline(
      base({
        client: parseIperfJson(fixture('iperf-udp-client-interrupted.json.txt')),
        server: parseIperfJson(fixture('iperf-udp-server.json.txt')),
        protocol: 'udp',
        intervalMs: 200,
      }),
    );
    assert.equal(tl.summary.packets, 8626);
    assert.equal(tl.summary.lostPackets, 0);
    assert.equal(tl.summary.lostPct, 0);
    assert.ok(tl.summary.jitterMs! > 0);
    assert.ok(Math.abs(tl.summary.senderMbps - 99.8) < 1);
  });

  test('no server output: totals fall back on the client report', () => {
    const tl = buildIperfTimeline(
      base({
        client: parseIperfJson(
          JSON.stringify({
            start: { test_start: { protocol: 'TCP' } },
            intervals: [{ sum: { start: 0, end: 1, seconds: 1, bytes: 1e6, bits_per_second: 8e6 } }],
            end: { sum_received: { start: 0, end: 1, seconds: 1, bytes: 9e5, bits_per_second: 7.2e6 } },
          }),
        ),
        server: null,
        stoppedEarly: false,
      }),
    );
    assert.equal(tl.receiver.length, 0);
    assert.equal(tl.summary.receiverBytes, 9e5);
    assert.ok(Math.abs(tl.summary.receiverMbps - 7.2) < 1e-9);
    assert.equal(tl.warnings.length, 1);
  });
});

test('toThroughputSeries skips omitted intervals', () => {
  const s = toThroughputSeries(
    [
      { startS: 0, endS: 1, bytes: 1, bitsPerSecond: 8, omitted: true },
      { startS: 1, endS: 2, bytes: 2, bitsPerSecond: 16 },
    ],
    1000,
  );
  assert.deepEqual(s, [{ start: 2000, end: 3000, bytes: 2, bitsPerSecond: 16 }]);
});

test('iperfArgs', () => {
  const a = iperfArgs(
    { clientNetns: 'a', serverNetns: 'b', serverIp: '10.0.0.2', durationMs: 2500, intervalMs: 200 },
    false,
  );
  assert.deepEqual(a.server, ['iperf3', '-s', '-1', '-p', '5201', '-B', '10.0.0.2', '-i', '0.2', '-J']);
  assert.deepEqual(a.client, [
    'iperf3',
    '-c',
    '10.0.0.2',
    '-p',
    '5201',
    '-i',
    '0.2',
    '-t',
    '3',
    '-J',
    '--connect-timeout',
    '3000',
  ]);
  const u = iperfArgs(
    {
      clientNetns: 'a',
      serverNetns: 'b',
      serverIp: '10.0.0.2',
      protocol: 'udp',
      rate: '100M',
      reverse: true,
      port: 6000,
    },
    true,
  );
  assert.deepEqual(u.client, [
    'iperf3',
    '-c',
    '10.0.0.2',
    '-p',
    '6000',
    '-i',
    '0.2',
    '-t',
    '0',
    '--json-stream',
    '--connect-timeout',
    '3000',
    '-u',
    '-b',
    '100M',
    '-R',
  ]);
});
