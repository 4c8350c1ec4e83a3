import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { createApp as createL2 } from '../../../src/apps/l2-learning.ts';
import { createApp, matchToJson } from '../../../src/apps/stats-monitor.ts';
import { lineNetwork } from '../api/fake-api.ts';

describe('stats-monitor', () => {
  it('polls flows and ports of every switch and writes JSON lines', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'vnm-stats-'));
    try {
      const file = join(dir, 'stats.jsonl');
      const net = lineNetwork(2);
      const mon = createApp();
      await net.startApp(createL2());
      await net.startApp(mon, { intervalS: 3600, file });
      for (let i = 0; i < 3; i++) assert.equal(await net.ping('h1', 'h2'), true);
      await mon.pollNow();
      assert.equal(mon.rounds, 1);
      const lines = readFileSync(file, 'utf8')
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l));
      assert.equal(lines.length, 4, 'flows and ports for two switches');
      const s1flows = lines.find((l) => l.dpid === '0x0000000000000001' && l.kind === 'flows');
      assert.ok(s1flows.ts);
      const toH2 = s1flows.flows.find(
        (f: { match: Record<string, unknown> }) => f.match.eth_dst === net.host('h2').mac,
      );
      assert.equal(toH2.priority, 1);
      assert.equal(toH2.match.in_port, 1);
      assert.equal(toH2.packets, 2, 'the 2nd and 3rd echo requests went through the rule');
      assert.ok(toH2.bytes > 0);
      assert.equal(toH2.idleTimeout, 10);
      assert.equal(typeof toH2.duration, 'number');
      const miss = s1flows.flows.find((f: { priority: number }) => f.priority === 0);
      assert.deepEqual(miss.match, {});
      const s1ports = lines.find((l) => l.dpid === '0x0000000000000001' && l.kind === 'ports');
      assert.deepEqual(
        s1ports.ports.map((p: { port: number }) => p.port),
        [1, 2, 3],
      );
      const p1 = s1ports.ports[0];
      assert.ok(p1.rxPackets >= 4 && p1.txPackets >= 4, 'ARP + 3 pings each way');
      // The kept sample matches what was written.
      const last = mon.last(1n)!;
      assert.deepEqual(last.ports, s1ports.ports);
      assert.equal(mon.last().size, 2);
      await net.stopApps();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('counters grow between samples, and listeners see every sample', async () => {
    const net = lineNetwork(2);
    const mon = createApp();
    await net.startApp(createL2());
    await net.startApp(mon, { intervalS: 3600, file: '/dev/null' });
    const seen: bigint[] = [];
    mon.onSample((dpid) => seen.push(dpid));
    assert.equal(await net.ping('h1', 'h2'), true);
    await mon.pollNow();
    const before = mon.last(1n)!.ports!.find((p) => p.port === 1)!.rxPackets;
    for (let i = 0; i < 5; i++) assert.equal(await net.ping('h1', 'h2'), true);
    await mon.pollNow();
    const after = mon.last(1n)!.ports!.find((p) => p.port === 1)!.rxPackets;
    assert.equal(after - before, 5);
    assert.deepEqual(seen.sort(), [1n, 1n, 2n, 2n]);
    net.disconnect(2);
    await net.settle();
    assert.equal(mon.last(2n), undefined);
    await mon.pollNow();
    assert.equal(seen.length, 5, 'only the connected switch is polled');
  });

  it('polls on its own timer, one round at a time', async (t) => {
    t.mock.timers.enable({ apis: ['setInterval'] });
    const net = lineNetwork(2);
    const mon = createApp();
    await net.startApp(mon, { intervalS: 2, file: '/dev/null', flows: 'false' });
    t.mock.timers.tick(2000);
    await new Promise((r) => setImmediate(r));
    assert.equal(mon.rounds, 1);
    assert.equal(mon.last(1n)!.flows, undefined, 'flows not polled');
    assert.ok(mon.last(1n)!.ports);
    const a = mon.pollNow();
    const b = mon.pollNow();
    assert.equal(a, b);
    await a;
    await mon.stop();
    t.mock.timers.tick(10_000);
    await new Promise((r) => setImmediate(r));
    assert.equal(mon.rounds, 2);
  });

  it('writes masked and 64-bit match fields readably', () => {
    assert.deepEqual(
      matchToJson({
        fields: [
          { field: 'in_port', value: 3 },
          { field: 'metadata', value: 5n, mask: 0xffn },
          { field: 'ipv4_dst', value: '10.0.0.0', mask: '255.255.255.0' },
        ],
      }),
      { in_port: 3, metadata: '0x5/0xff', ipv4_dst: '10.0.0.0/255.255.255.0' },
    );
  });
});
