// `npm run bench:controller`: our cbench-like load generator against several controllers, side by side.
//
//   npm run bench:controller
//   npm run bench:controller -- --only vnm,osken --loops 3
//   npm run bench:controller -- --target tcp:127.0.0.1:6653 --label shim     (an already-running controller)
//   npm run bench:controller -- --shim          (the migration shim's own cost, see below)
//
// Targets (--only, comma-separated; default all of them):
//   responder  a trivial canned responder: the load generator's own ceiling (must be far above the rest)
//   vnm        `vnm controller --app l2-learning`
//   osken      os-ken with bench/controller/osken_l2.py (same learning switch), /usr/bin/python3
//   ovs        ovs-testcontroller -O OpenFlow13 (C learning switch, exact-match flows)
// plus `--target ADDR --label NAME` for a controller started elsewhere (not started or stopped here).
//
// For each target: start it on a free port, run the generator (a separate process) in throughput mode
// (N switches, a window of outstanding packet-ins each) and in latency mode (one packet-in outstanding),
// then stop it. Controllers started here are always killed (process group), also on Ctrl-C.
//
// --shim: `vnm controller --app l2-learning` on the runtime directly, on the migration shim idle (plan
// loaded, nothing prepared), and on the shim with a migration prepared (Tunnel ASAP and Tunnel ALAP), side
// by side. The plan comes from shim-plan.ts: the generator's switches are the plan's old switches; the new
// switches, the tunnel switch (and in latency mode the old switches the generator does not emulate) are
// idle emulated switches (peers.ts). Each measurement starts a fresh controller; the generator holds after
// the handshake until the shim has reconciled every switch (and prepared, for the prepared modes), then
// learns and measures. Rounds interleave the modes (direct, idle, asap, alap, direct, ...) so that the
// machine's load drifts over all of them alike; figures are medians over rounds, ratios are paired per round.
// The generator counts a flow-mod as an answer only if it is not a FROM_TUNNEL variant (ASAP prepared
// sends two copies of each rule to the old switch), in every mode.

import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { formatListenAddress, type ListenAddress, parseListenAddress } from '../../src/runtime/address.ts';

const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = join(HERE, '..', '..');

const { values: opt } = parseArgs({
  options: {
    switches: { type: 'string', default: '16' },
    macs: { type: 'string', default: '100' },
    ports: { type: 'string', default: '4' },
    window: { type: 'string', default: '100' },
    loops: { type: 'string', default: '5' },
    'duration-s': { type: 'string', default: '2' },
    'warmup-s': { type: 'string', default: '1' },
    'latency-switches': { type: 'string', default: '1' },
    modes: { type: 'string', default: 'throughput,latency' },
    only: { type: 'string', default: 'responder,vnm,osken,ovs' },
    target: { type: 'string' },
    label: { type: 'string' },
    pin: { type: 'boolean', default: false },
    shim: { type: 'boolean', default: false },
    'shim-modes': { type: 'string', default: 'direct,idle,asap,alap' },
    rounds: { type: 'string', default: '3' },
    'cpu-prof-dir': { type: 'string' },
    json: { type: 'boolean', default: false },
    help: { type: 'boolean', short: 'h', default: false },
  },
});

if (opt.help) {
  process.stdout.write(`usage: npm run bench:controller -- [options]
  --only LIST             targets: responder,vnm,osken,ovs (default all)
  --target ADDR --label NAME   also measure an already-running controller (tcp:HOST:PORT or unix:PATH)
  --switches N            emulated switches in throughput mode (default 16)
  --macs M                hosts per switch (default 100)
  --ports P               ports per switch (default 4)
  --window W              outstanding packet-ins per switch in throughput mode (default 100; 0 = keep the socket full)
  --latency-switches N    switches in latency mode, one packet-in outstanding each (default 1)
  --loops L --duration-s D --warmup-s W   measurement: median of L loops of D s after W s (default 5, 2, 1)
  --modes LIST            throughput,latency (default both)
  --shim                  the shim's own cost: direct vs shim idle vs shim prepared (ASAP, ALAP), one table
  --shim-modes LIST       with --shim: direct,idle,asap,alap (default all)
  --rounds R              with --shim: interleaved rounds, medians over them (default 3)
  --cpu-prof-dir DIR      with --shim: profile every controller (node --cpu-prof) into DIR/<mode>-<phase>/
  --pin                   pin the controller to CPU 1 and the generator to CPU 0 (taskset)
  --json                  print the results as JSON too
`);
  process.exit(0);
}

// ------------------------------------------------------------------ child processes (always killed)

const children = new Set<ChildProcess>();

function killTree(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    try {
      child.kill(signal);
    } catch {
      // already gone
    }
  }
}

function killAllNow(): void {
  for (const c of children) killTree(c, 'SIGKILL');
}
process.on('exit', killAllNow);
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
  process.on(sig, () => {
    process.stderr.write(`\nbench: ${sig}: stopping controllers\n`);
    killAllNow();
    process.exit(130);
  });
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) {
    children.delete(child);
    return;
  }
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  killTree(child, 'SIGTERM');
  const t = setTimeout(() => killTree(child, 'SIGKILL'), 3000);
  await exited;
  clearTimeout(t);
  children.delete(child);
}

const hasTaskset = spawnSync('taskset', ['--version']).status === 0;

function startProcess(cmd: string, args: string[], logFile: string, cpu?: number): ChildProcess {
  const fd = openSync(logFile, 'a');
  const [c, a] =
    opt.pin && hasTaskset && cpu !== undefined ? ['taskset', ['-c', String(cpu), cmd, ...args]] : [cmd, args];
  const child = spawn(c, a as string[], { cwd: ROOT, detached: true, stdio: ['ignore', fd, fd] });
  children.add(child);
  child.once('exit', () => children.delete(child));
  return child;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      const port = a && typeof a === 'object' ? a.port : 0;
      s.close(() => resolve(port));
    });
  });
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

async function waitListening(
  addr: ListenAddress,
  child: ChildProcess | undefined,
  timeoutMs: number,
): Promise<void> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    if (child && (child.exitCode !== null || child.signalCode !== null))
      throw new Error('controller exited at start-up');
    const ok = await new Promise<boolean>((resolve) => {
      const s = addr.kind === 'unix' ? connect(addr.path) : connect(addr.port, addr.host);
      s.once('connect', () => {
        s.destroy();
        resolve(true);
      });
      s.once('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > end)
      throw new Error(`nothing listens on ${formatListenAddress(addr)} after ${timeoutMs} ms`);
    await sleep(100);
  }
}

// ------------------------------------------------------------------ targets

interface Target {
  key: string;
  label: string;
  note?: string;
  start?: (port: number, logFile: string, dir: string) => ChildProcess;
  address?: ListenAddress;
}

const builtinL2 = existsSync(join(ROOT, 'src', 'apps', 'l2-learning.ts'));
const vnmApp = builtinL2 ? 'l2-learning' : './bench/controller/l2-local.ts';

const TARGETS: Record<string, Target> = {
  responder: {
    key: 'responder',
    label: 'trivial responder',
    note: 'generator ceiling: canned flow-mod + packet-out per packet-in',
    start: (port, log) =>
      startProcess(
        process.execPath,
        ['--import', 'tsx', join(HERE, 'responder.ts'), '--listen', `tcp:127.0.0.1:${port}`],
        log,
        1,
      ),
  },
  vnm: {
    key: 'vnm',
    label: 'vnm',
    note: `vnm controller --app ${vnmApp}${builtinL2 ? '' : ' (stand-in: src/apps/l2-learning.ts missing)'}`,
    start: (port, log) =>
      startProcess(
        process.execPath,
        [
          join(ROOT, 'bin', 'vnm.js'),
          'controller',
          '--app',
          vnmApp,
          '--listen',
          `tcp:127.0.0.1:${port}`,
          '--log-level',
          'warn',
        ],
        log,
        1,
      ),
  },
  osken: {
    key: 'osken',
    label: 'os-ken',
    note: 'osken-manager + bench/controller/osken_l2.py',
    start: (port, log) =>
      startProcess(
        '/usr/bin/python3',
        [
          '/usr/bin/osken-manager',
          '--ofp-listen-host',
          '127.0.0.1',
          '--ofp-tcp-listen-port',
          String(port),
          join(HERE, 'osken_l2.py'),
        ],
        log,
        1,
      ),
  },
  ovs: {
    key: 'ovs',
    label: 'ovs-testcontroller',
    note: 'ovs-testcontroller -O OpenFlow13 (exact-match flows)',
    start: (port, log, dir) =>
      startProcess(
        'ovs-testcontroller',
        [
          '-O',
          'OpenFlow13',
          `ptcp:${port}:127.0.0.1`,
          `--unixctl=${join(dir, `otc-${port}.ctl`)}`,
          '-vconsole:warn',
          '-vsyslog:off',
        ],
        log,
        1,
      ),
  },
};

// ------------------------------------------------------------------ generator

interface GenResult {
  mode: string;
  flowsPerSec: number;
  loops: { rate: number }[];
  latencyMs?: { p50: number; p99: number; samples: number };
  stalls: number;
  learnt: number;
  generatorCpu: number;
}

interface GeneratorHold {
  /** Extra loadgen arguments. */
  args: string[];
  /** With --hold: called once every switch is connected; the generator goes on when it resolves. */
  onConnected: () => Promise<void>;
}

function runGenerator(
  addr: ListenAddress,
  mode: 'throughput' | 'latency',
  hold?: GeneratorHold,
): Promise<GenResult> {
  const args = [
    '--import',
    'tsx',
    join(HERE, 'loadgen.ts'),
    '--target',
    formatListenAddress(addr),
    '--mode',
    mode,
    '--switches',
    mode === 'latency' ? opt['latency-switches']! : opt.switches!,
    '--macs',
    opt.macs!,
    '--ports',
    opt.ports!,
    '--window',
    opt.window!,
    '--loops',
    opt.loops!,
    '--duration-s',
    opt['duration-s']!,
    '--warmup-s',
    opt['warmup-s']!,
    ...(hold ? ['--hold', ...hold.args] : []),
  ];
  const [cmd, a] =
    opt.pin && hasTaskset ? ['taskset', ['-c', '0', process.execPath, ...args]] : [process.execPath, args];
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, a as string[], {
      cwd: ROOT,
      stdio: [hold ? 'pipe' : 'ignore', 'pipe', 'pipe'],
      detached: true,
    });
    children.add(child);
    let out = '';
    let err = '';
    let held = false;
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      if (hold && !held && out.includes('"event":"connected"')) {
        held = true;
        hold.onConnected().then(
          () => child.stdin!.write('go\n'),
          (e: unknown) => {
            err += `hold: ${e instanceof Error ? e.message : String(e)}`;
            killTree(child, 'SIGKILL');
          },
        );
      }
    });
    child.stderr!.on('data', (d: Buffer) => {
      err += d.toString();
    });
    child.once('exit', (code) => {
      children.delete(child);
      if (code !== 0) {
        reject(new Error(`load generator failed (${code}): ${err.trim()}`));
        return;
      }
      try {
        resolve(JSON.parse(out.trim().split('\n').pop()!) as GenResult);
      } catch {
        reject(new Error(`load generator printed no result: ${out} ${err}`));
      }
    });
  });
}

// ------------------------------------------------------------------ main

interface Row {
  target: Target;
  throughput?: GenResult;
  latency?: GenResult;
  error?: string;
}

async function measure(target: Target, dir: string): Promise<Row> {
  const row: Row = { target };
  let child: ChildProcess | undefined;
  const logFile = join(dir, `${target.key}.log`);
  try {
    let addr = target.address;
    if (target.start) {
      const port = await freePort();
      addr = { kind: 'tcp', host: '127.0.0.1', port };
      child = target.start(port, logFile, dir);
      await waitListening(addr, child, 30000);
      await sleep(300);
    }
    const modes = opt.modes!.split(',');
    process.stderr.write(`bench: ${target.label} on ${formatListenAddress(addr!)} ...`);
    if (modes.includes('throughput')) row.throughput = await runGenerator(addr!, 'throughput');
    if (modes.includes('latency')) row.latency = await runGenerator(addr!, 'latency');
    process.stderr.write(' done\n');
  } catch (err) {
    row.error = err instanceof Error ? err.message : String(err);
    process.stderr.write(` failed: ${row.error}\n`);
    if (existsSync(logFile)) {
      const tail = readFileSync(logFile, 'utf8').trim().split('\n').slice(-5).join('\n  ');
      if (tail) process.stderr.write(`  ${tail}\n`);
    }
  } finally {
    if (child) await stopChild(child);
  }
  return row;
}

function fmtInt(n: number | undefined): string {
  return n === undefined || Number.isNaN(n) ? '-' : Math.round(n).toLocaleString('en-US');
}
function fmtMs(n: number | undefined): string {
  return n === undefined || Number.isNaN(n) ? '-' : `${n.toFixed(3)}`;
}

function printTable(rows: Row[]): void {
  const header = ['controller', 'flows/s (median)', 'loops min..max', 'lat p50 ms', 'lat p99 ms', 'notes'];
  const lines = rows.map((r) => {
    const rates = r.throughput?.loops.map((l) => l.rate) ?? [];
    const notes: string[] = [];
    if (r.error) notes.push(`FAILED: ${r.error}`);
    if (r.throughput?.stalls) notes.push(`${r.throughput.stalls} stalls`);
    if (r.throughput && r.throughput.generatorCpu !== undefined) {
      notes.push(`gen cpu ${(r.throughput.generatorCpu * 100).toFixed(0)}%`);
    }
    if (r.target.note) notes.push(r.target.note);
    return [
      r.target.label,
      fmtInt(r.throughput?.flowsPerSec),
      rates.length > 0 ? `${fmtInt(Math.min(...rates))}..${fmtInt(Math.max(...rates))}` : '-',
      fmtMs(r.latency?.latencyMs?.p50),
      fmtMs(r.latency?.latencyMs?.p99),
      notes.join('; '),
    ];
  });
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i]!.length)));
  const fmt = (cols: string[]) =>
    `| ${cols.map((c, i) => (i === 0 || i === cols.length - 1 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join(' | ')} |`;
  process.stdout.write(`${fmt(header)}\n`);
  process.stdout.write(
    `|${widths.map((w, i) => (i === 0 || i === widths.length - 1 ? `:${'-'.repeat(w + 1)}` : `${'-'.repeat(w + 1)}:`)).join('|')}|\n`,
  );
  for (const l of lines) process.stdout.write(`${fmt(l)}\n`);

  const by = (k: string) => rows.find((r) => r.target.key === k && !r.error);
  const vnm = by('vnm') ?? (opt.target ? by('external') : undefined);
  const ratio = (a?: number, b?: number) => (a && b ? a / b : undefined);
  const out: string[] = [];
  const osken = by('osken');
  const ovs = by('ovs');
  if (vnm && osken) {
    const r = ratio(vnm.throughput?.flowsPerSec, osken.throughput?.flowsPerSec);
    if (r)
      out.push(`${vnm.target.label}/os-ken = ${r.toFixed(2)}x (goal >= 2x: ${r >= 2 ? 'met' : 'NOT met'})`);
  }
  if (vnm && ovs) {
    const r = ratio(vnm.throughput?.flowsPerSec, ovs.throughput?.flowsPerSec);
    if (r)
      out.push(
        `${vnm.target.label}/ovs-testcontroller = ${r.toFixed(2)}x (goal >= 0.5x: ${r >= 0.5 ? 'met' : 'NOT met'})`,
      );
  }
  if (vnm && osken) {
    const r = ratio(osken.latency?.latencyMs?.p50, vnm.latency?.latencyMs?.p50);
    if (r) out.push(`latency p50: os-ken/${vnm.target.label} = ${r.toFixed(2)}x`);
  }
  if (vnm && ovs) {
    const r = ratio(ovs.latency?.latencyMs?.p50, vnm.latency?.latencyMs?.p50);
    if (r) out.push(`latency p50: ovs-testcontroller/${vnm.target.label} = ${r.toFixed(2)}x`);
  }
  const ceiling = by('responder');
  if (ceiling && vnm) {
    const r = ratio(ceiling.throughput?.flowsPerSec, vnm.throughput?.flowsPerSec);
    if (r) out.push(`generator ceiling / ${vnm.target.label} = ${r.toFixed(1)}x`);
  }
  if (out.length > 0) process.stdout.write(`\n${out.join('\n')}\n`);
}

async function main(): Promise<void> {
  if (opt.shim) return shimMain();
  const dir = mkdtempSync(join(tmpdir(), 'vnm-bench-'));
  const wanted = opt
    .only!.split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  const targets: Target[] = [];
  for (const k of wanted) {
    const t = TARGETS[k];
    if (!t) throw new Error(`unknown target "${k}" (known: ${Object.keys(TARGETS).join(', ')})`);
    targets.push(t);
  }
  if (opt.target) {
    targets.push({
      key: 'external',
      label: opt.label ?? opt.target,
      note: `already running at ${opt.target}`,
      address: parseListenAddress(opt.target),
    });
  }
  process.stdout.write(
    `controller benchmark: ${opt.switches} switches x ${opt.macs} hosts, window ${opt.window}, ` +
      `${opt.loops} x ${opt['duration-s']} s after ${opt['warmup-s']} s warm-up; latency: ${opt['latency-switches']} switch(es), 1 outstanding` +
      `${opt.pin ? '; pinned (controller cpu1, generator cpu0)' : ''}\n\n`,
  );
  const rows: Row[] = [];
  try {
    for (const t of targets) rows.push(await measure(t, dir));
  } finally {
    for (const c of [...children]) await stopChild(c);
  }
  printTable(rows);
  if (opt.json)
    process.stdout.write(
      `\n${JSON.stringify(rows.map((r) => ({ target: r.target.key, label: r.target.label, throughput: r.throughput, latency: r.latency, error: r.error })))}\n`,
    );
  rmSync(dir, { recursive: true, force: true });
}

// ------------------------------------------------------------------ --shim: the migration shim's own cost

type ShimKind = 'direct' | 'idle' | 'asap' | 'alap';

const SHIM_KINDS: Record<ShimKind, { label: string; note: string }> = {
  direct: { label: 'direct', note: 'vnm controller --app l2-learning (the runtime directly)' },
  idle: { label: 'shim idle', note: '--migration PLAN, nothing prepared' },
  asap: {
    label: 'shim prepared, ASAP',
    note: 'Tunnel ASAP prepared: each rule twice on the old switch (base + FROM_TUNNEL variant)',
  },
  alap: {
    label: 'shim prepared, ALAP',
    note: 'Tunnel ALAP prepared: each rule on the old and on the new switch',
  },
};

interface ShimSample {
  gen: GenResult & { variantFlowMods?: number };
  /** Messages the idle peers received during the run, by type. */
  peers: Record<string, number>;
  /** Controller CPU (fraction of one core) from "go" to the generator's end. */
  ctlCpu: number;
}

/** utime + stime of a process, seconds. */
function procCpuSeconds(pid: number): number {
  try {
    const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return (Number(f[11]) + Number(f[12])) / 100;
  } catch {
    return Number.NaN;
  }
}

/** Resolves with the first JSON line of a child's stdout that passes `want`. */
function jsonLine(
  child: ChildProcess,
  want: (o: Record<string, unknown>) => boolean,
  timeoutMs: number,
): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    let buf = '';
    const timer = setTimeout(() => reject(new Error(`no expected line after ${timeoutMs} ms`)), timeoutMs);
    const onData = (d: Buffer) => {
      buf += d.toString();
      for (let i = buf.indexOf('\n'); i >= 0; i = buf.indexOf('\n')) {
        const line = buf.slice(0, i);
        buf = buf.slice(i + 1);
        try {
          const o = JSON.parse(line) as Record<string, unknown>;
          if (want(o)) {
            clearTimeout(timer);
            child.stdout!.off('data', onData);
            resolve(o);
            return;
          }
        } catch {}
      }
    };
    child.stdout!.on('data', onData);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`exited (${code}) before the expected line`));
    });
  });
}

async function untilReady<T>(what: string, probe: () => Promise<T | undefined>, ms: number): Promise<T> {
  const end = Date.now() + ms;
  let last: unknown;
  for (;;) {
    try {
      const v = await probe();
      if (v !== undefined) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > end)
      throw new Error(`timed out waiting for ${what}${last ? ` (${(last as Error).message})` : ''}`);
    await sleep(50);
  }
}

async function shimMeasure(
  kind: ShimKind,
  mode: 'throughput' | 'latency',
  dir: string,
  tag: string,
): Promise<ShimSample> {
  const { shimBenchNetwork } = await import('./shim-plan.ts');
  const { ConsoleClient } = await import('../../src/shim/console.ts');
  const n = Number(opt.switches);
  const ports = Number(opt.ports);
  const nGen = mode === 'latency' ? Number(opt['latency-switches']) : n;
  const net = shimBenchNetwork(n, ports, kind === 'alap' ? 'alap' : 'asap');
  const port = await freePort();
  const addr: ListenAddress = { kind: 'tcp', host: '127.0.0.1', port };
  const runDir = join(dir, `run-${tag}`);
  const logFile = join(dir, `ctl-${tag}.log`);
  const vnmArgs = [
    join(ROOT, 'bin', 'vnm.js'),
    'controller',
    '--app',
    vnmApp,
    '--listen',
    `tcp:127.0.0.1:${port}`,
    '--log-level',
    'warn',
  ];
  if (kind !== 'direct') {
    const planFile = join(dir, `plan-${tag}.json`);
    writeFileSync(planFile, JSON.stringify(net.plan));
    vnmArgs.push(
      '--migration',
      planFile,
      '--algorithm',
      kind === 'alap' ? 'alap' : 'asap',
      '--run-dir',
      runDir,
    );
  }
  const profDir = opt['cpu-prof-dir'];
  const nodeArgs = profDir ? ['--cpu-prof', '--cpu-prof-dir', join(profDir, `${kind}-${mode}`)] : [];
  const ctl = startProcess(process.execPath, [...nodeArgs, ...vnmArgs], logFile, 1);
  let peers: ChildProcess | undefined;
  try {
    await waitListening(addr, ctl, 30000);
    // The new switches, the tunnel switch, and the old switches the generator does not emulate.
    const idle = [...net.new, net.tunnel, ...net.old.slice(nGen)]
      .map((sw) => `${sw.dpid.toString(16)}:${sw.ports}`)
      .join(',');
    peers = spawn(
      process.execPath,
      ['--import', 'tsx', join(HERE, 'peers.ts'), '--target', formatListenAddress(addr), '--switches', idle],
      { cwd: ROOT, detached: true, stdio: ['ignore', 'pipe', 'inherit'] },
    );
    children.add(peers);
    await jsonLine(peers, (o) => o.event === 'connected', 30000);
    let cpu0 = 0;
    let t0 = 0;
    const gen = (await runGenerator(addr, mode, {
      args: [
        '--count-base-only',
        '--tunnel-port',
        String(ports + 1),
        ...(kind === 'direct' ? [] : ['--shim-pipeline']),
      ],
      onConnected: async () => {
        if (kind !== 'direct') {
          const c = await untilReady(
            'every switch connected and reconciled',
            async () => {
              const cc = ConsoleClient.fromRunDir(runDir);
              const st = await cc.status();
              return st.switches.every((x) => x.connected) && !st.busy ? cc : undefined;
            },
            30000,
          );
          if (kind === 'asap' || kind === 'alap') {
            const st = await c.prepare();
            if (st.phase !== 'prepared') throw new Error(`prepare: phase ${st.phase}`);
            if (st.errors.length > 0)
              throw new Error(`prepare: ${st.errors.map((e) => e.message).join('; ')}`);
          }
        }
        cpu0 = procCpuSeconds(ctl.pid!);
        t0 = Date.now();
      },
    })) as ShimSample['gen'];
    const ctlCpu = (procCpuSeconds(ctl.pid!) - cpu0) / ((Date.now() - t0) / 1000);
    const stats = jsonLine(peers, (o) => o.event === 'stats', 5000).catch(() => ({ counts: {} }));
    killTree(peers, 'SIGTERM');
    const peerCounts = ((await stats) as { counts?: Record<string, number> }).counts ?? {};
    return { gen, peers: peerCounts, ctlCpu };
  } catch (err) {
    const tail = existsSync(logFile)
      ? readFileSync(logFile, 'utf8').trim().split('\n').slice(-3).join(' | ')
      : '';
    throw new Error(
      `${err instanceof Error ? err.message : String(err)}${tail ? ` [controller log: ${tail}]` : ''}`,
    );
  } finally {
    if (peers) await stopChild(peers);
    await stopChild(ctl);
  }
}

function medianOf(xs: number[]): number {
  const s = xs.filter((x) => !Number.isNaN(x)).sort((a, b) => a - b);
  if (s.length === 0) return Number.NaN;
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

async function shimMain(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'vnm-bench-shim-'));
  const kinds = opt['shim-modes']!.split(',').map((k) => k.trim()) as ShimKind[];
  for (const k of kinds)
    if (!SHIM_KINDS[k]) throw new Error(`unknown --shim-modes entry "${k}" (direct, idle, asap, alap)`);
  const modes = opt.modes!.split(',').filter((m) => m === 'throughput' || m === 'latency') as (
    | 'throughput'
    | 'latency'
  )[];
  const rounds = Math.max(1, Number(opt.rounds));
  const load0 = loadavg();
  const started = Date.now();
  process.stdout.write(
    `shim overhead: l2-learning, ${opt.switches} old switches x ${opt.ports} host ports (+ ${opt.switches} new, ` +
      `1 tunnel switch idle), ${opt.macs} hosts per switch, window ${opt.window}; ${opt.loops} x ${opt['duration-s']} s ` +
      `after ${opt['warmup-s']} s warm-up per measurement; latency: ${opt['latency-switches']} switch(es), 1 outstanding; ` +
      `${rounds} interleaved round(s); load average at start ${load0.map((l) => l.toFixed(2)).join(' ')}` +
      `${opt.pin ? '; pinned (controller cpu1, generator cpu0)' : ''}\n\n`,
  );
  const samples = new Map<string, ShimSample[]>();
  const key = (k: ShimKind, m: string) => `${k}/${m}`;
  const failures: string[] = [];
  try {
    for (let r = 1; r <= rounds; r++) {
      for (const k of kinds) {
        for (const m of modes) {
          process.stderr.write(`bench: round ${r}/${rounds}: ${SHIM_KINDS[k].label}, ${m} ...`);
          try {
            const smp = await shimMeasure(k, m, dir, `${k}-${m}-${r}`).catch((err: unknown) => {
              // One retry: on this shared machine a start-up can time out once in a while.
              process.stderr.write(
                ` failed (${err instanceof Error ? err.message : String(err)}), again ...`,
              );
              return shimMeasure(k, m, dir, `${k}-${m}-${r}b`);
            });
            const list = samples.get(key(k, m)) ?? [];
            list.push(smp);
            samples.set(key(k, m), list);
            process.stderr.write(
              m === 'throughput'
                ? ` ${Math.round(smp.gen.flowsPerSec)} flows/s (ctl cpu ${(smp.ctlCpu * 100).toFixed(0)}%)\n`
                : ` p50 ${smp.gen.latencyMs?.p50?.toFixed(3)} ms\n`,
            );
          } catch (err) {
            const msg = err instanceof Error ? err.message : String(err);
            failures.push(`round ${r} ${k} ${m}: ${msg}`);
            process.stderr.write(` failed: ${msg}\n`);
          }
        }
      }
    }
  } finally {
    for (const c of [...children]) await stopChild(c);
  }
  const load1 = loadavg();

  // Table.
  const fmtRange = (xs: number[], f: (x: number) => string) =>
    xs.length === 0 ? '-' : `${f(Math.min(...xs))}..${f(Math.max(...xs))}`;
  const tp = (k: ShimKind) => (samples.get(key(k, 'throughput')) ?? []).map((x) => x.gen.flowsPerSec);
  const lat = (k: ShimKind, p: 'p50' | 'p99') =>
    (samples.get(key(k, 'latency')) ?? []).map((x) => x.gen.latencyMs?.[p] ?? Number.NaN);
  /** Per-round ratio to direct (same round: adjacent in time). */
  const paired = (k: ShimKind, values: (k: ShimKind) => number[], invert = false) => {
    const a = values(k);
    const d = values('direct');
    const out: number[] = [];
    for (let i = 0; i < Math.min(a.length, d.length); i++)
      if (a[i] && d[i]) out.push(invert ? d[i]! / a[i]! : a[i]! / d[i]!);
    return out;
  };
  const header = [
    'controller',
    'flows/s',
    'rounds min..max',
    'vs direct',
    'lat p50 ms',
    'lat p99 ms',
    'p50 vs direct',
    'ctl cpu',
    'notes',
  ];
  const rows = kinds.map((k) => {
    const t = tp(k);
    const ratio = paired(k, tp);
    const latRatio = paired(k, (kk) => lat(kk, 'p50'));
    const cpu = (samples.get(key(k, 'throughput')) ?? []).map((x) => x.ctlCpu);
    const notes = [SHIM_KINDS[k].note];
    const tps = samples.get(key(k, 'throughput')) ?? [];
    const stalls = tps.reduce((n, x) => n + (x.gen.stalls ?? 0), 0);
    if (stalls) notes.push(`${stalls} stalls`);
    const variants = tps.map((x) => x.gen.variantFlowMods ?? 0);
    const answered = tps.map((x) => x.gen.loops.reduce((n, l) => n + (l as { flows?: number }).flows!, 0));
    if (variants.some((v) => v > 0))
      notes.push(
        `+${Math.round(medianOf(variants.map((v, i) => v / answered[i]!)) * 100)}% variant flow-mods`,
      );
    const peerFlowMods = tps.map((x) => x.peers.flowMod ?? 0);
    if (peerFlowMods.some((v) => v > 0))
      notes.push(`new switches got ${Math.round(medianOf(peerFlowMods))} flow-mods per run`);
    return [
      SHIM_KINDS[k].label,
      fmtInt(medianOf(t)),
      fmtRange(t, fmtInt),
      k === 'direct' || ratio.length === 0
        ? '-'
        : `${(medianOf(ratio) * 100).toFixed(0)}% (${fmtRange(ratio, (x) => `${(x * 100).toFixed(0)}`)})`,
      fmtMs(medianOf(lat(k, 'p50'))),
      fmtMs(medianOf(lat(k, 'p99'))),
      k === 'direct' || latRatio.length === 0 ? '-' : `${medianOf(latRatio).toFixed(2)}x`,
      cpu.length ? `${(medianOf(cpu) * 100).toFixed(0)}%` : '-',
      notes.join('; '),
    ];
  });
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((l) => l[i]!.length)));
  const line = (cols: string[]) =>
    `| ${cols.map((c, i) => (i === 0 || i === cols.length - 1 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join(' | ')} |`;
  process.stdout.write(`${line(header)}\n`);
  process.stdout.write(
    `|${widths.map((w, i) => (i === 0 || i === widths.length - 1 ? `:${'-'.repeat(w + 1)}` : `${'-'.repeat(w + 1)}:`)).join('|')}|\n`,
  );
  for (const l of rows) process.stdout.write(`${line(l)}\n`);
  process.stdout.write(
    `\nflows/s: median over rounds of each run's median loop; "vs direct": median of the per-round ratios ` +
      `(range); latency: median over rounds. ctl cpu: the controller's CPU (share of one core) during the run. ` +
      `Load average ${load0.map((l) => l.toFixed(2)).join(' ')} -> ${load1.map((l) => l.toFixed(2)).join(' ')} ` +
      `(2 cores, shared); ${Math.round((Date.now() - started) / 1000)} s in all.\n`,
  );
  if (kinds.includes('direct') && kinds.includes('idle')) {
    const r = medianOf(paired('idle', tp));
    if (!Number.isNaN(r))
      process.stdout.write(
        `\nshim idle / direct = ${(r * 100).toFixed(0)}% (goal >= 90%: ${r >= 0.9 ? 'met' : 'NOT met'})\n`,
      );
  }
  if (failures.length > 0) process.stdout.write(`\nfailed measurements:\n  ${failures.join('\n  ')}\n`);
  if (opt.json)
    process.stdout.write(
      `\n${JSON.stringify({ load: [load0, load1], samples: Object.fromEntries(samples) }, (_k, v) => (typeof v === 'bigint' ? v.toString() : v))}\n`,
    );
  if (profDirNote()) process.stdout.write(`\n${profDirNote()}\n`);
  rmSync(dir, { recursive: true, force: true });
}

function profDirNote(): string | undefined {
  const d = opt['cpu-prof-dir'];
  return d ? `CPU profiles of every controller: ${d}/<mode>-<throughput|latency>/*.cpuprofile` : undefined;
}

main().catch((err: unknown) => {
  process.stderr.write(`bench: ${err instanceof Error ? err.message : String(err)}\n`);
  killAllNow();
  process.exit(1);
});
