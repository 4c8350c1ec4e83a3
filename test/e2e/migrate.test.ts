// Live migration end to end on real Open vSwitch: `vnm controller --app l2-learning --migration PLAN`
// (a child process, so it can be SIGKILLed) drives the paper's diamond (link s3-s4 blocked: l2-learning
// floods) built by the test bed, with the plan the test bed writes (migrationPlanFor, `vnm testbed plan`):
// - Tunnel ASAP (through the console API, phase by phase) and Tunnel ALAP (`vnm migrate run`): prepare,
//   move h1, move h2 (then h3, h4), finalize while a 10 ms ping runs between h1 and h2; no ping lost outside
//   the hosts' blackout windows; afterwards the old switches and the tunnel switch hold no rule or group,
//   and every pair of hosts pings over the new network.
// - Crash: the controller is SIGKILLed in the middle of a host move (during its blackout), started again:
//   it resumes from the journal, the remaining hosts move, `vnm migrate finalize` works, and the shim's
//   rules and groups on every switch equal a clean run's.
// - Abort (`vnm migrate abort`) after two moves: hosts back in the old network, new network and T clean.
// Figures (flow-mods per phase, time per phase, max rules per switch) are printed as diagnostics.

import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import { splitPingLoss } from '../../src/measure/analysis.ts';
import { PingRunner } from '../../src/measure/ping.ts';
import type { BlackoutWindow } from '../../src/measure/types.ts';
import { ConsoleClient, type MigrationStatus, type ProgressEvent } from '../../src/shim/console.ts';
import type { Algorithm } from '../../src/shim/model.ts';
import { parsePlan } from '../../src/shim/plan.ts';
import { loadTopologyFile, type Testbed, type Topology, upTestbed } from '../../src/testbed/index.ts';
import { migrationPlanFor } from '../../src/testbed/migration-plan.ts';

const isRoot = process.getuid?.() === 0;
const haveOvs = existsSync('/usr/sbin/ovs-vswitchd');
const ROOT = join(import.meta.dirname, '..', '..');
const VNM = join(ROOT, 'bin', 'vnm.js');
const BLACKOUT_MS = 300;

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

async function until<T>(
  what: string,
  probe: () => Promise<T | undefined> | T | undefined,
  ms = 20_000,
): Promise<T> {
  const t0 = Date.now();
  let last: unknown;
  for (;;) {
    try {
      const v = await probe();
      if (v !== undefined && v !== false) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() - t0 > ms)
      throw new Error(
        `timed out after ${ms} ms waiting for ${what}${last ? ` (${(last as Error).message})` : ''}`,
      );
    await sleep(50);
  }
}

/** The paper's diamond with s3-s4 blocked (a learning switch floods; the diamond is a loop). */
function paperTopology(name: string): Topology {
  const topo = loadTopologyFile(join(ROOT, 'examples', 'topologies', 'paper.yaml'));
  topo.name = name;
  const l = topo.links.find((x) => [x.a, x.b].sort().join('-') === 's3-s4');
  assert.ok(l, 'paper.yaml has a link s3-s4');
  l.blocked = true;
  return topo;
}

/** The migration plan the test bed writes for its bed (what `vnm testbed plan` prints). */
function planFor(tb: Testbed, algorithm: Algorithm): string {
  return JSON.stringify(migrationPlanFor(tb.state, { algorithm, blackoutMs: BLACKOUT_MS }));
}

interface Rig {
  tb: Testbed;
  dir: string;
  sock: string;
  runDir: string;
  planFile: string;
  logFile: string;
  algorithm: Algorithm;
  child?: ChildProcess;
}

function startController(r: Rig): ChildProcess {
  const fd = openSync(r.logFile, 'a');
  const child = spawn(
    process.execPath,
    [
      VNM,
      'controller',
      '--app',
      'l2-learning',
      '--listen',
      `unix:${r.sock}`,
      '--migration',
      r.planFile,
      '--algorithm',
      r.algorithm,
      '--run-dir',
      r.runDir,
      '--testbed',
      r.tb.name,
      '--echo-interval-s',
      '1',
    ],
    { stdio: ['ignore', fd, fd], env: { ...process.env, VNM_LOG_LEVEL: 'info' } },
  );
  closeSync(fd);
  r.child = child;
  return child;
}

async function stopController(r: Rig): Promise<void> {
  const child = r.child;
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const done = new Promise((res) => child.once('exit', res));
  child.kill('SIGTERM');
  await Promise.race([done, sleep(5000)]);
  if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
}

/** The console, once the controller runs and every switch is connected and reconciled. */
async function consoleReady(r: Rig): Promise<ConsoleClient> {
  return until(
    'the controller and every switch',
    async () => {
      if (r.child && r.child.exitCode !== null)
        throw new Error(
          `controller exited (${r.child.exitCode}):\n${readFileSync(r.logFile, 'utf8').slice(-3000)}`,
        );
      const c = ConsoleClient.fromRunDir(r.runDir);
      const st = await c.status();
      return st.switches.every((s) => s.connected) && !st.busy ? c : undefined;
    },
    30_000,
  );
}

async function withRig(t: TestContext, name: string, algorithm: Algorithm, fn: (r: Rig) => Promise<void>) {
  const dir = mkdtempSync(join(tmpdir(), 'vnm-mig-'));
  const sock = join(dir, 'ctl.sock');
  let tb: Testbed | undefined;
  const r = {
    dir,
    sock,
    runDir: join(dir, 'run'),
    planFile: join(dir, 'plan.json'),
    logFile: join(dir, 'ctl.log'),
    algorithm,
  } as Rig;
  try {
    tb = await upTestbed(paperTopology(name), { controller: `unix:${sock}` });
    r.tb = tb;
    writeFileSync(r.planFile, planFor(tb, algorithm));
    parsePlan(readFileSync(r.planFile, 'utf8'), r.planFile); // fails early on a bad plan
    startController(r);
    await fn(r);
  } catch (err) {
    if (existsSync(r.logFile))
      t.diagnostic(`controller log tail:\n${readFileSync(r.logFile, 'utf8').slice(-4000)}`);
    throw err;
  } finally {
    await stopController(r);
    try {
      await tb?.down();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
}

async function pingOk(tb: Testbed, from: string, to: string, tries = 10): Promise<boolean> {
  for (let i = 0; i < tries; i++) {
    const res = await tb.exec(from, ['ping', '-c', '2', '-i', '0.1', '-W', '1', tb.host(to).ip], {
      check: false,
    });
    if (res.code === 0) return true;
  }
  return false;
}

async function pingAllPairs(tb: Testbed): Promise<string[]> {
  const failed: string[] = [];
  const hosts = tb.state.hosts.map((h) => h.name);
  for (const a of hosts)
    for (const b of hosts) if (a !== b && !(await pingOk(tb, a, b, 3))) failed.push(`${a}->${b}`);
  return failed;
}

/** Flows and groups of a bridge, without counters and durations; `shimOnly`: only the shim's own rules. */
async function tables(
  tb: Testbed,
  bridge: string,
  shimOnly = false,
): Promise<{ flows: string[]; groups: string[] }> {
  const flows = (await tb.ofctl('dump-flows', bridge))
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('OFPST_FLOW') && !l.startsWith('OFPST_'))
    .filter((l) => !shimOnly || l.startsWith('cookie=0x5e4d'))
    .map((l) =>
      l
        .replace(/duration=[^,]*, ?/, '')
        .replace(/n_packets=\d+, ?/, '')
        .replace(/n_bytes=\d+, ?/, '')
        .replace(/idle_age=\d+, ?/, '')
        .replace(/hard_age=\d+, ?/, ''),
    )
    .sort();
  const groups = (await tb.ofctl('dump-groups', bridge))
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('OFPST_'))
    .sort();
  return { flows, groups };
}

/** Run the vnm command line; resolves with its stdout (rejects with its stderr when it fails). */
function vnm(args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [VNM, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (b: Buffer) => {
      out += b.toString();
    });
    child.stderr.on('data', (b: Buffer) => {
      err += b.toString();
    });
    child.on('close', (code) =>
      code === 0 ? resolve(out) : reject(new Error(`vnm ${args.join(' ')}: exit ${code}\n${err}${out}`)),
    );
  });
}

function figures(st: MigrationStatus): string {
  const lines = Object.entries(st.phases).map(
    ([k, f]) =>
      `  ${k}: ${f.flowMods} flow-mods, ${f.groupMods} group-mods, ${f.otherMessages} other, ${f.barriers} barriers, ${f.ms} ms`,
  );
  const max = st.switches.map((s) => `${s.name}=${s.maxRules}`).join(' ');
  return `${st.algorithm.toUpperCase()} figures:\n${lines.join('\n')}\n  max rules per switch: ${max}`;
}

/** The shim's rules and groups per switch at the end of a clean run, by algorithm (for the crash test). */
const cleanEnd = new Map<Algorithm, Record<string, { flows: string[]; groups: string[] }>>();

async function shimTables(tb: Testbed): Promise<Record<string, { flows: string[]; groups: string[] }>> {
  const out: Record<string, { flows: string[]; groups: string[] }> = {};
  for (const s of tb.state.switches) out[`${s.name}/${s.network}`] = await tables(tb, s.bridge, true);
  return out;
}

async function checkEndState(tb: Testbed): Promise<void> {
  for (const s of tb.state.switches) {
    if (s.network === 'new') continue;
    const t = await tables(tb, s.bridge);
    assert.deepEqual(t.flows, [], `${s.name}/${s.network} still holds flows`);
    assert.deepEqual(t.groups, [], `${s.name}/${s.network} still holds groups`);
  }
  assert.deepEqual(await pingAllPairs(tb), [], 'every pair pings over the new network');
}

const HOST_ORDER = ['h1', 'h2', 'h3', 'h4'];

describe('live migration on real Open vSwitch', {
  skip: !isRoot || !haveOvs ? 'needs root and Open vSwitch' : false,
  timeout: 600_000,
}, () => {
  it('abort after two host moves (ASAP): the hosts go back, the new network and T end clean', async (t) => {
    await withRig(t, 'miga_asap', 'asap', async (r) => {
      const c = await consoleReady(r);
      assert.ok(await pingOk(r.tb, 'h1', 'h2'));
      const before = await shimTables(r.tb);
      await c.prepare();
      await c.moveHosts(['h1', 'h2'], { blackoutMs: 100 });
      assert.ok(await pingOk(r.tb, 'h1', 'h2'), 'h1 reaches h2 with both in the new network');
      const out = await vnm(['migrate', '--run-dir', r.runDir, 'abort']);
      for (const line of out.trim().split('\n')) t.diagnostic(`vnm migrate abort | ${line}`);
      const st = await c.status();
      assert.equal(st.phase, 'idle');
      assert.ok(st.hosts.every((h) => h.location === 'old'));
      assert.ok(
        r.tb.reload().state.hosts.every((h) => h.network === 'old'),
        'the test bed has every host in old',
      );
      for (const s of r.tb.state.switches) {
        if (s.network === 'old') continue;
        const tt = await tables(r.tb, s.bridge);
        assert.deepEqual(tt.flows, [], `${s.name}/${s.network} still holds flows`);
        assert.deepEqual(tt.groups, [], `${s.name}/${s.network} still holds groups`);
      }
      assert.deepEqual(await shimTables(r.tb), before, "the old network's shim rules are as before");
      assert.deepEqual(await pingAllPairs(r.tb), [], 'every pair pings over the old network');
    });
  });

  it('a switch wiped while disconnected mid-migration is put back when it reconnects (ALAP)', async (t) => {
    await withRig(t, 'migr_alap', 'alap', async (r) => {
      const c = await consoleReady(r);
      assert.ok(await pingOk(r.tb, 'h1', 'h2'));
      await c.prepare();
      await c.moveHosts(['h1'], { blackoutMs: 100 });
      const br = r.tb.bridge('s1', 'new');
      const want = await tables(r.tb, br, true);
      assert.ok(want.flows.length > 0 && want.groups.length > 0);
      const target = (await r.tb.vsctl('get-controller', br)).trim();
      const sent0 = (await c.status()).phases.reconcile!;
      await r.tb.vsctl('del-controller', br);
      await until('s1/new to disconnect', async () =>
        (await c.status()).switches.some((s) => s.name === 's1/new' && !s.connected),
      );
      await r.tb.ofctl('del-flows', br);
      await r.tb.ofctl('del-groups', br);
      assert.deepEqual((await tables(r.tb, br)).flows, []);
      await r.tb.vsctl('set-controller', br, target);
      await until('s1/new to reconnect', async () => {
        const st = await c.status();
        return st.switches.every((s) => s.connected) && !st.busy;
      });
      await until(
        's1/new reconciled',
        async () => (await tables(r.tb, br, true)).flows.length === want.flows.length,
      );
      assert.deepEqual(await tables(r.tb, br, true), want, "s1/new holds the shim's rules and groups again");
      const sent = (await c.status()).phases.reconcile!;
      t.diagnostic(
        `reconcile of s1/new: ${sent.flowMods - sent0.flowMods} flow-mods, ${sent.groupMods - sent0.groupMods} group-mods`,
      );
      assert.ok(await pingOk(r.tb, 'h1', 'h2'), 'h1 (new network) reaches h2 (old network) again');
      await c.moveHosts(['h2', 'h3', 'h4'], { blackoutMs: 100 });
      await c.finalize();
      await checkEndState(r.tb);
    });
  });

  for (const algorithm of ['asap', 'alap'] as const) {
    it(`Tunnel ${algorithm.toUpperCase()}: a 10 ms ping h1<->h2 loses nothing outside the blackouts`, async (t) => {
      await withRig(t, `mig_${algorithm}`, algorithm, async (r) => {
        const c = await consoleReady(r);
        assert.ok(await pingOk(r.tb, 'h1', 'h2'), 'h1 reaches h2 before the migration');
        const ping = new PingRunner({
          netns: r.tb.hostNamespace('h1'),
          target: r.tb.host('h2').ip,
          intervalMs: 10,
        });
        await ping.start();
        await sleep(300);
        const events: ProgressEvent[] = [];
        const stream = await c.events((e) => events.push(e));
        let st: MigrationStatus;
        try {
          if (algorithm === 'asap') {
            // Through the console API, one phase at a time.
            st = await c.prepare();
            assert.equal(st.phase, 'prepared');
            await sleep(300);
            for (const h of HOST_ORDER) {
              st = await c.moveHosts([h], { blackoutMs: BLACKOUT_MS });
              assert.equal(st.hosts.find((x) => x.name === h)!.location, 'new');
              await sleep(300);
            }
            st = await c.finalize();
          } else {
            // Through the command line: `vnm migrate run` does every phase with a progress display.
            const out = await vnm([
              'migrate',
              '--run-dir',
              r.runDir,
              'run',
              '--hosts',
              HOST_ORDER.join(','),
              '--blackout-ms',
              String(BLACKOUT_MS),
            ]);
            for (const line of out.trim().split('\n')) t.diagnostic(`vnm migrate run | ${line}`);
            assert.match(out, /host 4 of 4: h4 moved/);
            assert.match(out, /phase finalized/);
            st = await c.status();
            const text = await vnm(['migrate', '--run-dir', r.runDir, 'status']);
            assert.match(text, /phase finalized/);
          }
          assert.equal(st.phase, 'finalized');
          await sleep(500);
        } finally {
          stream.close();
        }
        const tl = await ping.stop();
        const windows: BlackoutWindow[] = st.hosts
          .filter((h) => h.lastMove?.blackoutStart !== undefined)
          .map((h) => ({ host: h.name, start: h.lastMove!.blackoutStart!, end: h.lastMove!.blackoutEnd! }));
        assert.equal(windows.length, 4);
        // Windows of every host count: moving a port reconfigures the userspace datapath that every bridge
        // shares, which can cost any path a packet or two while some host is in its blackout.
        const loss = splitPingLoss(tl, windows, { guardMs: 20 });
        const strict = splitPingLoss(tl, windows, { pathHosts: ['h1', 'h2'], guardMs: 20 });
        const t0 = tl.probes[0]?.sentAt ?? 0;
        const rel = (x: number) => Math.round(x - t0);
        t.diagnostic(
          `windows ${windows.map((w) => `${w.host} [${rel(w.start)}, ${rel(w.end)}]`).join(' ')}; ` +
            `steps ${events
              .filter((e) => e.type === 'step' && e.status !== 'start')
              .map(
                (e) => `${(e as { kind: string }).kind}${(e as { host?: string }).host ?? ''}@${rel(e.at)}`,
              )
              .join(' ')}; ` +
            `lost outside h1/h2 windows: ${strict.lostOutsideIds
              .map((id) => `#${id}@${rel(tl.probes.find((p) => p.seq === id)!.sentAt)}`)
              .join(' ')}`,
        );
        t.diagnostic(
          `${algorithm}: ${loss.sent} pings, ${loss.lost} lost: ${loss.lostInside} inside the blackouts ` +
            `(${windows.map((w) => `${w.host} ${Math.round(w.end - w.start)} ms`).join(', ')}), ${loss.lostOutside} outside ${JSON.stringify(loss.lostOutsideIds)}`,
        );
        for (const line of figures(st).split('\n')) t.diagnostic(line);
        assert.ok(loss.sent > 200, `only ${loss.sent} pings`);
        assert.equal(
          loss.lostOutside,
          0,
          `pings lost outside the blackouts: ${loss.lostOutsideIds.join(', ')}`,
        );
        assert.ok(events.some((e) => e.type === 'host' && e.state === 'moved'));
        await checkEndState(r.tb);
        // The shim's rules: on new switches only (the app's rules too), none left on old ones or on T.
        cleanEnd.set(algorithm, await shimTables(r.tb));
        assert.ok(st.phases.prepare!.flowMods > 0 && st.phases.finalize!.flowMods > 0);
        assert.deepEqual(st.errors, []);
      });
    });

    it(`Tunnel ${algorithm.toUpperCase()}: SIGKILL during a host move, restart, resume from the journal`, async (t) => {
      await withRig(t, `migk_${algorithm}`, algorithm, async (r) => {
        let c = await consoleReady(r);
        assert.ok(await pingOk(r.tb, 'h1', 'h2'));
        await c.prepare();
        // Kill the controller while h2 is in its blackout (the mover sleeps between link down and up).
        let killedAt = 0;
        const stream = await c.events((e) => {
          // The mover started on h2: its link goes down, then the test bed sleeps out the blackout.
          if (
            e.type === 'step' &&
            e.kind === 'move' &&
            e.host === 'h2' &&
            e.status === 'start' &&
            !killedAt
          ) {
            killedAt = Date.now();
            setTimeout(() => r.child!.kill('SIGKILL'), 100);
          }
        });
        const op = c.moveHosts(HOST_ORDER, { blackoutMs: BLACKOUT_MS }).then(
          () => 'completed',
          (e: Error) => e.message,
        );
        const outcome = await op;
        stream.close();
        assert.ok(killedAt > 0, `the controller was not killed (${outcome})`);
        await until('the controller to die', () => r.child!.signalCode === 'SIGKILL' || undefined, 5000);
        t.diagnostic(`controller killed during h2's move: ${outcome}`);
        // Restart with the same arguments: the journal shows an unfinished host move.
        startController(r);
        c = await until(
          'the resumed host moves',
          async () => {
            const cc = ConsoleClient.fromRunDir(r.runDir);
            const st = await cc.status();
            return !st.busy && st.hosts.every((h) => h.location === 'new') ? cc : undefined;
          },
          60_000,
        );
        const st0 = await c.status();
        t.diagnostic(
          `after restart: ${st0.hosts.map((h) => `${h.name}=${h.location}`).join(' ')}; steps ${st0.steps.map((s) => `${s.kind}${s.host ? ` ${s.host}` : ''}:${s.status}`).join(', ')}`,
        );
        assert.ok(
          st0.steps.some(
            (s) =>
              s.kind === 'move' &&
              s.host === 'h2' &&
              s.status === 'failed' &&
              /interrupted/.test(s.error ?? ''),
          ),
          'the interrupted move is in the journal',
        );
        const json = JSON.parse(
          await vnm(['migrate', '--run-dir', r.runDir, 'status', '--json']),
        ) as MigrationStatus;
        assert.equal(json.phase, 'migrating');
        await vnm(['migrate', '--run-dir', r.runDir, 'finalize', '--quiet']);
        const st = await c.status();
        assert.equal(st.phase, 'finalized');
        await checkEndState(r.tb);
        const want = cleanEnd.get(algorithm);
        if (want)
          assert.deepEqual(await shimTables(r.tb), want, 'the same shim rules and groups as a clean run');
        else t.diagnostic('no clean run to compare with (it failed or did not run)');
      });
    });
  }
});
