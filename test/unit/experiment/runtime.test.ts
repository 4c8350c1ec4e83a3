// The runner's pure helpers, the flow-mod counter and the progress display.
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { describe, test } from 'node:test';
import type { AppCommand, ControllerApi, Datapath } from '../../../src/api/types.ts';
import { countingApi } from '../../../src/experiment/counting.ts';
import {
  blackoutsFromStatus,
  loadMigrationFactory,
  setMigrationFactory,
} from '../../../src/experiment/migration.ts';
import { Progress } from '../../../src/experiment/progress.ts';
import { assignPorts, trafficPairs } from '../../../src/experiment/runner.ts';
import type { Traffic } from '../../../src/experiment/scenario.ts';

describe('runner helpers', () => {
  test('ports: one iperf3 port per stream, DNS servers on one host apart', () => {
    const t: Traffic[] = [
      { id: 'a', kind: 'tcp', from: 'h1', to: 'h2', round: 1, parallel: 1, reverse: false, intervalMs: 200 },
      { id: 'b', kind: 'udp', from: 'h1', to: 'h2', round: 1, parallel: 1, reverse: false, intervalMs: 200 },
      { id: 'c', kind: 'dns', from: 'h1', to: 'h2', round: 1, qps: 1, timeoutMs: 1000 },
      { id: 'd', kind: 'dns', from: 'h3', to: 'h2', round: 1, qps: 1, timeoutMs: 1000 },
      { id: 'e', kind: 'dns', from: 'h3', to: 'h1', round: 1, qps: 1, timeoutMs: 1000 },
      { id: 'f', kind: 'ping', from: 'h1', to: 'h2', round: 1, intervalMs: 10 },
    ];
    assert.deepEqual(Object.fromEntries(assignPorts(t)), { a: 5201, b: 5202, c: 53, d: 5301, e: 53 });
    assert.deepEqual(trafficPairs(t), [
      ['h1', 'h2'],
      ['h3', 'h2'],
      ['h3', 'h1'],
    ]);
  });

  test("blackout windows from the shim's status (hosts[].lastMove)", () => {
    const status = {
      hosts: [
        { name: 'h1', lastMove: { blackoutStart: 1000, blackoutEnd: 1200, startedAt: 990 } },
        { name: 'h2', lastMove: { blackoutStart: 10, blackoutEnd: 20 } },
        { name: 'h3' },
      ],
    };
    assert.deepEqual(blackoutsFromStatus(status, ['h1', 'h3'], 900), [
      { host: 'h1', start: 1000, end: 1200 },
    ]);
    assert.deepEqual(blackoutsFromStatus(status, ['h2'], 900), [], 'an older move is not this step');
    assert.deepEqual(blackoutsFromStatus(undefined, ['h1'], 0), []);
  });

  test('the migration factory can be replaced (and is found)', async () => {
    const f = async () => {
      throw new Error('x');
    };
    setMigrationFactory(f);
    assert.equal(await loadMigrationFactory(), f);
    setMigrationFactory(undefined);
    assert.equal(typeof (await loadMigrationFactory()), 'function');
  });
});

describe('flow-mod counter', () => {
  test('counts flow-mods and group-mods sent through datapaths from any path', () => {
    const sent: AppCommand[] = [];
    const dp = {
      id: 1n,
      idText: '0x1',
      ports: new Map(),
      nTables: 1,
      nBuffers: 0,
      capabilities: 0,
      connected: true,
      send: (c: AppCommand) => {
        sent.push(c);
        return 7;
      },
      request: () => Promise.reject(new Error('no')),
      barrier: () => Promise.resolve(),
      stats: () => Promise.reject(new Error('no')),
    } as unknown as Datapath;
    const listeners: ((e: unknown) => void)[] = [];
    const below = {
      datapaths: () => [dp],
      datapath: (id: bigint) => (id === 1n ? dp : undefined),
      on: (_e: string, l: (e: unknown) => void) => {
        listeners.push(l);
        return () => {};
      },
      logger: () => ({}) as never,
    } as unknown as ControllerApi;
    const counter = { flowMods: 0, groupMods: 0 };
    const api = countingApi(below, counter);
    const fm = { type: 'flowMod' } as unknown as AppCommand;
    const gm = { type: 'groupMod' } as unknown as AppCommand;
    const po = { type: 'packetOut' } as unknown as AppCommand;
    assert.equal(api.datapaths()[0]!.send(fm), 7);
    api.datapath(1n)!.send(gm);
    api.on('switchUp', ({ dp: d }) => {
      d.send(fm);
      d.send(po);
    });
    listeners[0]!({ dp });
    assert.deepEqual(counter, { flowMods: 2, groupMods: 1 });
    assert.equal(sent.length, 4);
    assert.equal(api.datapaths()[0]!.idText, '0x1');
    assert.equal(api.datapaths()[0], api.datapath(1n), 'one wrapper per datapath');
  });
});

describe('progress', () => {
  test('plain lines when the output is not a terminal', () => {
    const out = new PassThrough();
    let text = '';
    out.on('data', (b: Buffer) => {
      text += b.toString();
    });
    let now = 0;
    const p = new Progress({ out, tty: false, runEstimatesMs: [30_000, 30_000], now: () => now });
    p.runStart('none', 1, 2);
    p.stage('building the test bed');
    now = 5000;
    p.phase('before', 5000, 25_000);
    p.runEnd('none', true, 'ping 100/100');
    p.close();
    const lines = text.trim().split('\n');
    assert.deepEqual(lines, [
      '[none 1/2] run 1 of 2: algorithm none',
      '[none 1/2] building the test bed',
      '[none 1/2] phase before (5.0 s) | run left ~27 s, all left ~57 s',
      '[none 1/2] done: ping 100/100',
    ]);
    assert.doesNotMatch(text, /\x1b\[/, 'no terminal escapes');
  });
});
