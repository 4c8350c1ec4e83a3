// `npm run bench:controller`: our cbench-like load generator against several controllers, side by side.
//
//   npm run bench:controller
//   npm run bench:controller -- --only vnm,osken --loops 3
//   npm run bench:controller -- --target tcp:127.0.0.1:6653 --label shim     (an already-running controller)
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

import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
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

function runGenerator(addr: ListenAddress, mode: 'throughput' | 'latency'): Promise<GenResult> {
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
  ];
  const [cmd, a] =
    opt.pin && hasTaskset ? ['taskset', ['-c', '0', process.execPath, ...args]] : [process.execPath, args];
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, a as string[], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    children.add(child);
    let out = '';
    let err = '';
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
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

main().catch((err: unknown) => {
  process.stderr.write(`bench: ${err instanceof Error ? err.message : String(err)}\n`);
  killAllNow();
  process.exit(1);
});
