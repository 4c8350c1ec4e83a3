// `vnm experiment paper --short` end to end on real Open vSwitch: every algorithm on a fresh test bed, the
// results JSON has the documented shape and real measurements (ping answered, TCP throughput, DNS answers),
// and the report files are written. Runs the CLI as a user would (a child process), ~1 minute.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import type { Results } from '../../src/experiment/results.ts';

const isRoot = process.getuid?.() === 0;
const VNM = join(import.meta.dirname, '..', '..', 'bin', 'vnm.js');

function runVnm(
  args: string[],
  timeoutMs: number,
): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [VNM, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (b: Buffer) => {
      out += b.toString();
    });
    child.stderr.on('data', (b: Buffer) => {
      err += b.toString();
    });
    // SIGINT first: the runner tears the test bed down; SIGKILL if it does not.
    const t1 = setTimeout(() => child.kill('SIGINT'), timeoutMs);
    const t2 = setTimeout(() => child.kill('SIGKILL'), timeoutMs + 20_000);
    child.on('close', (code) => {
      clearTimeout(t1);
      clearTimeout(t2);
      resolve({ code, out, err });
    });
  });
}

describe('vnm experiment', { skip: isRoot ? false : 'needs root' }, () => {
  it('paper --short: none, asap and alap measured, JSON and report written', {
    timeout: 240_000,
  }, async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'vnm-exp-e2e-'));
    try {
      const json = join(dir, 'r.json');
      const out = join(dir, 'report');
      const started = Date.now();
      const r = await runVnm(
        ['experiment', 'paper', '--short', '--json', json, '--out', out, '--no-progress'],
        180_000,
      );
      t.diagnostic(`took ${((Date.now() - started) / 1000).toFixed(1)} s`);
      for (const line of r.out.split('\n')) if (line.trim() && !line.startsWith('[')) t.diagnostic(line);
      assert.ok(existsSync(json), `no results file (exit ${r.code}):\n${r.out}\n${r.err}`);
      const res = JSON.parse(readFileSync(json, 'utf8')) as Results;
      assert.equal(res.scenario, 'paper');
      assert.equal(res.settings.short, true);
      assert.deepEqual(
        res.runs.map((x) => x.algorithm),
        ['none', 'asap', 'alap'],
      );
      for (const run of res.runs) {
        const what = `${run.algorithm}: ${run.error ?? 'ok'}`;
        assert.equal(run.ok, true, what);
        const names = run.phases.filter((p) => p.kind === 'steady').map((p) => p.name);
        assert.deepEqual(names, ['before', 'one-migrated', 'all-migrated', 'after-finalize'], what);
        for (const p of run.phases) {
          assert.equal(typeof p.start_s, 'number');
          assert.ok(p.end_s >= p.start_s, `${what}: ${p.name} ends before it starts`);
        }
        // Traffic was measured in every steady phase.
        for (const p of run.phases.filter((x) => x.kind === 'steady')) {
          assert.ok((p.tcp_mbps ?? 0) > 0, `${what}: no TCP throughput in ${p.name}`);
          assert.ok(p.ping_sent > 0, `${what}: no ping sent in ${p.name}`);
          assert.ok(p.dns_sent > 0, `${what}: no DNS query in ${p.name}`);
        }
        assert.ok(
          run.ping.sent > 0 && run.ping.answered > 0,
          `${what}: ping ${run.ping.answered}/${run.ping.sent}`,
        );
        assert.ok(run.rtt_summary.before !== null && run.rtt_summary.before.avg_ms > 0, what);
        assert.ok(
          run.dns.sent > 0 && run.dns.completed > 0,
          `${what}: DNS ${run.dns.completed}/${run.dns.sent}`,
        );
        assert.ok((run.tcp.mbps_avg ?? 0) > 0, what);
        assert.equal(typeof run.blackout_ms_total, 'number');
        assert.equal(typeof run.flow_mods, 'number');
        assert.ok(run.series.throughput[0]!.points.length > 5, what);
        if (run.algorithm === 'none') {
          assert.equal(run.blackout_ms_total, 0);
          assert.equal(run.phases.length, 4, 'no migration actions in the none run');
        } else {
          // The migration happened: actions took time, hosts were dark, the shim sent rules.
          const actions = run.phases.filter((p) => p.kind === 'transition').map((p) => p.name);
          assert.deepEqual(actions, ['prepare', 'move-h1', 'move-h2', 'finalize'], what);
          assert.ok(run.blackout_ms_total >= 2 * 100, `${what}: blackout ${run.blackout_ms_total} ms`);
          assert.equal(run.blackouts.length, 2, what);
          assert.ok(run.flow_mods > 0, what);
        }
      }
      for (const f of ['report.md', 'report.html', 'throughput.svg', 'rtt.svg', 'dns.svg', 'results.json'])
        assert.ok(existsSync(join(out, f)), `missing ${f}`);
      const md = readFileSync(join(out, 'report.md'), 'utf8');
      assert.match(md, /## Summary/);
      assert.match(md, /paper ALAP/);
      assert.match(r.out, /none \(no migration\): ok/);
      assert.equal(r.code, 0, r.err.slice(-2000));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
