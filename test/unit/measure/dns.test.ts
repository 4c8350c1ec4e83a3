import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import {
  buildDnsTimeline,
  dnsmasqArgs,
  dnsperfArgs,
  parseDnsperfLine,
  parseDnsperfOutput,
} from '../../../src/measure/dns.ts';

const fixture = (name: string) => readFileSync(join(import.meta.dirname, 'fixtures', name), 'utf8');

describe('parseDnsperfLine', () => {
  test('per-query lines, interval lines, status, statistics', () => {
    assert.deepEqual(parseDnsperfLine('> NOERROR www.example.test A 0.000187'), {
      type: 'query',
      rcode: 'NOERROR',
      name: 'www.example.test',
      qtype: 'A',
      latencyMs: 0.187,
    });
    assert.deepEqual(parseDnsperfLine('> T www.example.test A'), {
      type: 'timeout',
      name: 'www.example.test',
      qtype: 'A',
    });
    const iv = parseDnsperfLine('1795618792.274120: 500.341051');
    assert.equal(iv?.type, 'interval');
    if (iv?.type === 'interval') {
      assert.ok(Math.abs(iv.at - 1795618792274.12) < 1e-3);
      assert.equal(iv.qps, 500.341051);
    }
    assert.deepEqual(parseDnsperfLine('[Status] Testing complete (time limit)'), {
      type: 'status',
      text: 'Testing complete (time limit)',
    });
    assert.deepEqual(parseDnsperfLine('  Queries completed:    1500 (100.00%)'), {
      type: 'stat',
      key: 'Queries completed',
      value: '1500 (100.00%)',
    });
    assert.deepEqual(parseDnsperfLine('  Average Latency (s):  0.000187 (min 0.000035, max 0.000779)'), {
      type: 'stat',
      key: 'Average Latency (s)',
      value: '0.000187 (min 0.000035, max 0.000779)',
    });
    assert.equal(parseDnsperfLine('Statistics:')?.type, 'other');
    assert.equal(parseDnsperfLine('Warning: something odd')?.type, 'warning');
    assert.equal(parseDnsperfLine(''), null);
  });
});

describe('parseDnsperfOutput on captured output', () => {
  test('a run to its time limit', () => {
    const tl = parseDnsperfOutput(fixture('dnsperf-time-limit.txt'));
    assert.equal(tl.sent, 1500);
    assert.equal(tl.completed, 1500);
    assert.equal(tl.lost, 0);
    assert.equal(tl.lossPct, 0);
    assert.equal(tl.endReason, 'time limit');
    assert.deepEqual(tl.stats?.responseCodes, { NOERROR: 1500 });
    assert.equal(tl.stats?.runTimeS, 3.00062);
    assert.equal(tl.stats?.qps, 499.896688);
    assert.ok(Math.abs(tl.latency!.avgMs - 0.187) < 1e-9);
    assert.ok(Math.abs(tl.latency!.minMs - 0.035) < 1e-9);
    assert.ok(Math.abs(tl.latency!.maxMs - 0.779) < 1e-9);
    assert.ok(Math.abs(tl.latency!.sdMs - 0.096) < 1e-9);
    assert.equal(tl.reportedQps.length, 2);
    assert.equal(tl.queries.length, 0);
  });

  test('verbose with loss: one entry per query, timeouts included, matching the statistics', () => {
    const tl = parseDnsperfOutput(fixture('dnsperf-verbose-loss.txt'), { timeoutMs: 500 });
    assert.equal(tl.sent, 400);
    assert.equal(tl.completed, 377);
    assert.equal(tl.lost, 23);
    assert.equal(tl.queries.length, 400);
    assert.equal(tl.queries.filter((q) => q.status === 'timeout').length, 23);
    assert.ok(Math.abs(tl.lossPct - 5.75) < 1e-9);
    assert.deepEqual(tl.warnings, []);
  });

  test('interrupted with SIGINT', () => {
    const tl = parseDnsperfOutput(fixture('dnsperf-interrupted.txt'));
    assert.equal(tl.endReason, 'interruption');
    assert.equal(tl.sent, 735);
    assert.equal(tl.completed, 735);
    assert.deepEqual(
      tl.reportedQps.map((r) => r.qps),
      [0],
    );
  });

  test('no statistics block (killed): counts come from the per-query lines', () => {
    const tl = parseDnsperfOutput(
      [
        '> NOERROR www.example.test A 0.001',
        '> T www.example.test A',
        '> SERVFAIL www.example.test A 0.002',
      ].join('\n'),
    );
    assert.equal(tl.stats, null);
    assert.equal(tl.sent, 3);
    assert.equal(tl.completed, 2);
    assert.equal(tl.lost, 1);
    assert.ok(Math.abs(tl.latency!.avgMs - 1.5) < 1e-9);
  });
});

test('buildDnsTimeline: send times from arrival minus latency or timeout', () => {
  const T = 1_800_000_000_000;
  const tl = buildDnsTimeline(
    [
      { line: '[Status] Sending queries (to 10.0.0.2:53)', at: T },
      { line: '> NOERROR www.example.test A 0.002', at: T + 10 },
      { line: '> T www.example.test A', at: T + 1500 },
    ],
    { timeoutMs: 1000, startedAt: T, endedAt: T + 2000 },
  );
  assert.deepEqual(
    tl.queries.map((q) => [q.status, q.sentAt - T, q.doneAt - T]),
    [
      ['ok', 8, 10],
      ['timeout', 500, 1500],
    ],
  );
});

test('dnsmasq and dnsperf arguments', () => {
  const o = { clientNetns: 'a', serverNetns: 'b', serverIp: '10.0.0.2', qps: 1000, durationMs: 25_000 };
  assert.deepEqual(dnsmasqArgs(o, '/tmp/x/dnsmasq.pid'), [
    'dnsmasq',
    '--keep-in-foreground',
    '--user=root',
    '--group=root',
    '--conf-file=/dev/null',
    '--no-resolv',
    '--no-hosts',
    '--bind-interfaces',
    '--listen-address=10.0.0.2',
    '--port=53',
    '--address=/example.test/10.9.9.9',
    '--pid-file=/tmp/x/dnsmasq.pid',
  ]);
  const a = dnsperfArgs(o, '/tmp/x/q.txt');
  assert.deepEqual(a.slice(0, 17), [
    'dnsperf',
    '-s',
    '10.0.0.2',
    '-p',
    '53',
    '-d',
    '/tmp/x/q.txt',
    '-Q',
    '1000',
    '-l',
    '25',
    '-c',
    '1',
    '-t',
    '1',
    '-q',
    '2000',
  ]);
  assert.ok(a.includes('-v'));
  assert.deepEqual(a.slice(-2), ['-S', '1']);
  assert.equal(dnsperfArgs({ ...o, qps: 10, durationMs: undefined }, 'q')[16], '100');
});
