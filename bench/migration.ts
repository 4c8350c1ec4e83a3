// `npm run bench:migration`: the migration figures of the shim on a real Open vSwitch test bed.
//
//   npm run bench:migration
//   npm run bench:migration -- --topology examples/topologies/grid20.yaml --algorithms asap,alap \
//     --app l2-learning --blackout-ms 200
//
// For each algorithm, on a fresh test bed built from the topology:
//   1. `vnm controller --app APP --migration PLAN --algorithm ALG` (a child process; the plan is the one the
//      test bed writes, migrationPlanFor), waits until every switch is connected and reconciled;
//   2. traffic so that the app installs rules: every host pings every other host once (all pairs);
//   3. prepare, move every host (one console request per host, blackout --blackout-ms), finalize;
//   4. every pair pings again (over the new network), and the old switches and T must end empty.
// Printed per algorithm: flow-mods, group-mods and port-mods sent per phase and time per phase (the
// shim's own figures, from the console status), the transitions' share of the host moves, the largest
// number of rules held at once per switch as the shim computes it AND as measured on the bridges (each
// bridge polled every --poll-ms over its management socket: OFPMP_AGGREGATE flow_count and the group
// count, as `ovs-ofctl dump-aggregate` / `dump-groups` would; cross-checked with `ovs-ofctl dump-flows`
// at the end), and the total time.
//
// A learning switch (l2-learning) floods forever around a loop: by default the links outside a
// breadth-first spanning tree from the first switch are marked `blocked` (ports start down), as the e2e
// tests do with the paper's diamond (s3-s4). --keep-loops leaves the topology as it is.
//
// Needs root and Open vSwitch (the test bed). Everything started here is stopped on exit and on Ctrl-C.

import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { loadavg, tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { decodeMessage, encodeMessage, Group, MessageFramer, Port, Table } from '../src/openflow/index.ts';
import { ConsoleClient, type MigrationStatus, type ProgressEvent } from '../src/shim/console.ts';
import type { Algorithm } from '../src/shim/model.ts';
import { loadTopologyFile, mapLimit, type Testbed, type Topology, upTestbed } from '../src/testbed/index.ts';
import { migrationPlanFor } from '../src/testbed/migration-plan.ts';

const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = join(HERE, '..');
const VNM = join(ROOT, 'bin', 'vnm.js');

const { values: opt } = parseArgs({
  options: {
    topology: { type: 'string', default: join(ROOT, 'examples', 'topologies', 'paper.yaml') },
    algorithms: { type: 'string', default: 'asap,alap' },
    app: { type: 'string', default: 'l2-learning' },
    'app-option': { type: 'string', multiple: true, default: [] },
    'blackout-ms': { type: 'string', default: '200' },
    'poll-ms': { type: 'string', default: '100' },
    'pause-ms': { type: 'string', default: '300' },
    'keep-loops': { type: 'boolean', default: false },
    repeat: { type: 'string', default: '1' },
    'no-verify': { type: 'boolean', default: false },
    name: { type: 'string' },
    json: { type: 'string' },
    help: { type: 'boolean', short: 'h', default: false },
  },
});

if (opt.help) {
  process.stdout.write(`usage: npm run bench:migration -- [options]
  --topology FILE        test bed topology (default examples/topologies/paper.yaml)
  --algorithms LIST      asap,alap (default both; one fresh test bed each)
  --app SPEC             app for vnm controller --app (default l2-learning)
  --app-option K=V       passed on as --app-option (repeatable). Default for l2-learning: idleTimeout=0,
                         so that no learnt rule idles out during the run and the counts do not depend on timing
  --blackout-ms N        blackout of each host move (default 200)
  --poll-ms N            how often every bridge's rule and group count is read (default 100)
  --pause-ms N           pause between phases and host moves (default 300)
  --repeat N             runs per algorithm (fresh test bed each); figures are medians (default 1)
  --keep-loops           do not block the links outside a spanning tree (default: blocked for l2-learning)
  --no-verify            skip the all-pairs ping after the migration
  --name PREFIX          test bed name prefix (default bm_<topology>)
  --json FILE            also write every figure as JSON
`);
  process.exit(0);
}

const BLACKOUT_MS = Number(opt['blackout-ms']);
const POLL_MS = Number(opt['poll-ms']);
const PAUSE_MS = Number(opt['pause-ms']);
const REPEAT = Math.max(1, Number(opt.repeat));
const ALGORITHMS = opt
  .algorithms!.split(',')
  .map((s) => s.trim())
  .filter(Boolean) as Algorithm[];
for (const a of ALGORITHMS) if (a !== 'asap' && a !== 'alap') throw new Error(`unknown algorithm "${a}"`);
const APP = opt.app!;
const APP_OPTIONS =
  (opt['app-option'] ?? []).length > 0
    ? opt['app-option']!
    : APP.split(':')[0] === 'l2-learning'
      ? ['idleTimeout=0']
      : [];
const LEARNING_SWITCH = APP.split(':')[0] === 'l2-learning';

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

function log(text: string): void {
  process.stderr.write(`bench: ${text}\n`);
}

async function until<T>(what: string, probe: () => Promise<T | undefined>, ms = 30_000): Promise<T> {
  const t0 = Date.now();
  let last: unknown;
  for (;;) {
    try {
      const v = await probe();
      if (v !== undefined) return v;
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

// ------------------------------------------------------------------ topology

/** Block every link outside a breadth-first spanning tree from the first switch; returns them. */
function breakLoops(topo: Topology): string[] {
  const seen = new Set<string>([topo.switches[0]!.name]);
  const queue = [topo.switches[0]!.name];
  const inTree = new Set<number>();
  while (queue.length > 0) {
    const s = queue.shift()!;
    topo.links.forEach((l, i) => {
      if (l.blocked) return;
      const other = l.a === s ? l.b : l.b === s ? l.a : undefined;
      if (other === undefined || seen.has(other)) return;
      seen.add(other);
      inTree.add(i);
      queue.push(other);
    });
  }
  const blocked: string[] = [];
  topo.links.forEach((l, i) => {
    if (!l.blocked && !inTree.has(i)) {
      l.blocked = true;
      blocked.push(`${l.a}-${l.b}`);
    }
  });
  return blocked;
}

// ------------------------------------------------------------------ rule counts on the bridges

const REPLY_MORE = 1;

/** One OpenFlow 1.3 session on a bridge's management socket: polls its flow and group counts. */
class BridgePoller {
  flows = -1;
  groups = -1;
  maxFlows = 0;
  maxGroups = 0;
  maxFlowsAt = 0;
  samples = 0;
  missed = 0;
  private sock: Socket | undefined;
  private readonly framer = new MessageFramer();
  private xid = 100;
  private pendingFlows = 0;
  private pendingGroups = 0;
  private groupAcc = 0;
  /** Only samples taken while recording count towards the maxima. */
  recording = false;

  constructor(
    readonly label: string,
    readonly bridge: string,
    private readonly path: string,
  ) {}

  connect(): Promise<void> {
    return new Promise((resolve, reject) => {
      const s = connect(this.path);
      this.sock = s;
      s.once('connect', () => {
        s.off('error', reject);
        s.on('error', () => {});
        s.write(
          encodeMessage({
            type: 'hello',
            version: 4,
            xid: 1,
            elements: [{ type: 'versionBitmap', bitmaps: [16] }],
          }),
        );
        resolve();
      });
      s.once('error', reject);
      s.on('data', (chunk: Buffer) => {
        for (const raw of this.framer.push(chunk)) this.onMessage(raw);
      });
    });
  }

  private onMessage(raw: Uint8Array): void {
    const type = raw[1];
    if (type === 2) {
      // echo request
      const xid = (raw[4]! << 24) | (raw[5]! << 16) | (raw[6]! << 8) | raw[7]!;
      this.sock?.write(encodeMessage({ type: 'echoReply', xid: xid >>> 0, data: raw.subarray(8) }));
      return;
    }
    if (type !== 19) return; // multipart reply
    const m = decodeMessage(raw);
    if (m.type !== 'multipartReply') return;
    if (m.body.kind === 'aggregate' && m.xid === this.pendingFlows) {
      this.pendingFlows = 0;
      this.flows = m.body.flowCount;
      this.samples++;
      if (this.recording && this.flows > this.maxFlows) {
        this.maxFlows = this.flows;
        this.maxFlowsAt = Date.now();
      }
    } else if (m.body.kind === 'groupDesc' && m.xid === this.pendingGroups) {
      this.groupAcc += m.body.groups.length;
      if (!(m.flags & REPLY_MORE)) {
        this.pendingGroups = 0;
        this.groups = this.groupAcc;
        this.groupAcc = 0;
        if (this.recording) this.maxGroups = Math.max(this.maxGroups, this.groups);
      }
    }
  }

  poll(): void {
    if (!this.sock || this.sock.destroyed) return;
    if (this.pendingFlows || this.pendingGroups) {
      this.missed++;
      return;
    }
    this.pendingFlows = ++this.xid;
    this.pendingGroups = ++this.xid;
    this.sock.cork();
    this.sock.write(
      encodeMessage({
        type: 'multipartRequest',
        xid: this.pendingFlows,
        flags: 0,
        body: {
          kind: 'aggregate',
          tableId: Table.ALL,
          outPort: Port.ANY,
          outGroup: Group.ANY,
          cookie: 0n,
          cookieMask: 0n,
          match: { fields: [] },
        },
      }),
    );
    this.sock.write(
      encodeMessage({
        type: 'multipartRequest',
        xid: this.pendingGroups,
        flags: 0,
        body: { kind: 'groupDesc' },
      }),
    );
    this.sock.uncork();
  }

  /** Resolves once the last poll was answered (or after timeoutMs). */
  async settle(timeoutMs = 3000): Promise<void> {
    const end = Date.now() + timeoutMs;
    while ((this.pendingFlows || this.pendingGroups) && Date.now() < end) await sleep(10);
  }

  close(): void {
    this.sock?.destroy();
  }
}

class Poller {
  readonly bridges: BridgePoller[];
  private timer: NodeJS.Timeout | undefined;
  ticks = 0;

  constructor(tb: Testbed) {
    this.bridges = tb.state.switches.map(
      (s) =>
        new BridgePoller(
          s.network === 'tunnel' ? 'T' : `${s.name}/${s.network}`,
          s.bridge,
          join(tb.state.ovs.dir, `${s.bridge}.mgmt`),
        ),
    );
  }

  async start(): Promise<void> {
    await Promise.all(this.bridges.map((b) => b.connect()));
    this.timer = setInterval(() => {
      this.ticks++;
      for (const b of this.bridges) b.poll();
    }, POLL_MS);
  }

  record(on: boolean): void {
    for (const b of this.bridges) b.recording = on;
  }

  /** One more sample of every bridge, waited for. */
  async sampleNow(): Promise<void> {
    await Promise.all(this.bridges.map((b) => b.settle()));
    for (const b of this.bridges) b.poll();
    await Promise.all(this.bridges.map((b) => b.settle()));
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    for (const b of this.bridges) b.close();
  }
}

// ------------------------------------------------------------------ processes (always stopped)

const cleanups: (() => Promise<void>)[] = [];
let stopping = false;
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
  process.on(sig, () => {
    if (stopping) process.exit(130);
    stopping = true;
    log(`${sig}: stopping the controller and tearing the test bed down`);
    void (async () => {
      for (const c of cleanups.splice(0).reverse()) await c().catch(() => {});
      process.exit(130);
    })();
  });
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const done = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  await Promise.race([done, sleep(5000)]);
  if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
}

// ------------------------------------------------------------------ traffic

async function pingOnce(tb: Testbed, from: string, to: string, tries: number): Promise<boolean> {
  for (let i = 0; i < tries; i++) {
    const r = await tb.exec(from, ['ping', '-c', '1', '-W', '1', tb.host(to).ip], { check: false });
    if (r.code === 0) return true;
  }
  return false;
}

/** Every host pings every other host once (sources in parallel); the failed pairs. */
async function pingAllPairs(tb: Testbed, tries = 5): Promise<string[]> {
  const hosts = tb.state.hosts.map((h) => h.name);
  const failed: string[] = [];
  await mapLimit(hosts, hosts.length, async (a) => {
    for (const b of hosts) if (a !== b && !(await pingOnce(tb, a, b, tries))) failed.push(`${a}->${b}`);
  });
  return failed;
}

/** `ovs-ofctl dump-flows` line count of a bridge (the cross-check of the polled counts). */
async function dumpFlowsCount(tb: Testbed, bridge: string): Promise<number> {
  const out = await tb.ofctl('dump-flows', bridge);
  return out.split('\n').filter((l) => l.trim() !== '' && !l.trim().startsWith('OFPST_')).length;
}

// ------------------------------------------------------------------ one run

interface StepFigure {
  kind: string;
  host?: string;
  messages?: number;
  ms?: number;
}

interface SwitchFigure {
  name: string;
  bridge: string;
  shimMaxRules: number;
  measuredMaxRules: number;
  measuredMaxGroups: number;
  rulesBefore: number;
  rulesAfter: number;
  groupsAfter: number;
  samples: number;
  missed: number;
}

interface RunFigures {
  algorithm: Algorithm;
  topology: string;
  bed: string;
  blocked: string[];
  hosts: number;
  switches: number;
  appRulesBefore: number;
  pingsBefore: { pairs: number; failed: string[] };
  pingsAfter?: { pairs: number; failed: string[] };
  phases: Record<
    string,
    { flowMods: number; groupMods: number; portMods: number; barriers: number; ms: number }
  >;
  wallMs: { prepare: number; moves: number; finalize: number; total: number };
  moves: { transitionsMs: number; moverMs: number; perHostMs: Record<string, number> };
  steps: StepFigure[];
  switchFigures: SwitchFigure[];
  crossCheck: { ok: boolean; mismatches: string[] };
  pollTicks: number;
  errors: string[];
  endClean: boolean;
  /** 1-minute load average at the start and at the end of the run. */
  load: number[];
}

async function runOne(algorithm: Algorithm): Promise<RunFigures> {
  const topo = loadTopologyFile(opt.topology!);
  const topoName = topo.name;
  const prefix = (opt.name ?? `bm_${topoName}`).replace(/[^A-Za-z0-9_]/g, '_');
  topo.name = `${prefix}_${algorithm}`.slice(0, 32);
  const blocked = LEARNING_SWITCH && !opt['keep-loops'] ? breakLoops(topo) : [];
  if (blocked.length > 0)
    log(`${topo.name}: blocked ${blocked.length} link(s) for ${APP}: ${blocked.join(' ')}`);

  const load0 = loadavg()[0]!;
  const dir = mkdtempSync(join(tmpdir(), 'vnm-bm-'));
  const sock = join(dir, 'ctl.sock');
  const runDir = join(dir, 'run');
  const planFile = join(dir, 'plan.json');
  const logFile = join(dir, 'ctl.log');
  let tb: Testbed | undefined;
  let child: ChildProcess | undefined;
  let poller: Poller | undefined;
  const cleanup = async () => {
    poller?.stop();
    if (child) await stopChild(child);
    await tb?.down();
    rmSync(dir, { recursive: true, force: true });
  };
  cleanups.push(cleanup);
  try {
    const tUp = Date.now();
    tb = await upTestbed(topo, { controller: `unix:${sock}` });
    log(`${tb.name}: test bed up in ${Date.now() - tUp} ms (${tb.state.switches.length} bridges)`);
    writeFileSync(
      planFile,
      JSON.stringify(migrationPlanFor(tb.state, { algorithm, blackoutMs: BLACKOUT_MS }), null, 2),
    );
    const fd = openSync(logFile, 'a');
    child = spawn(
      process.execPath,
      [
        VNM,
        'controller',
        '--app',
        APP,
        ...APP_OPTIONS.flatMap((o) => ['--app-option', o]),
        '--listen',
        `unix:${sock}`,
        '--migration',
        planFile,
        '--algorithm',
        algorithm,
        '--run-dir',
        runDir,
        '--testbed',
        tb.name,
        '--log-level',
        'warn',
      ],
      { stdio: ['ignore', fd, fd] },
    );
    closeSync(fd);
    const ctl = child;
    const c = await until('the controller and every switch', async () => {
      if (ctl.exitCode !== null)
        throw new Error(`controller exited:\n${readFileSync(logFile, 'utf8').slice(-2000)}`);
      const cc = ConsoleClient.fromRunDir(runDir);
      const st = await cc.status();
      return st.switches.every((s) => s.connected) && !st.busy ? cc : undefined;
    });
    poller = new Poller(tb);
    await poller.start();

    // Traffic: the app learns and installs its rules.
    const hosts = tb.state.hosts.map((h) => h.name);
    const pairs = hosts.length * (hosts.length - 1);
    const failedBefore = await pingAllPairs(tb);
    log(`${tb.name}: all-pairs ping before: ${pairs - failedBefore.length}/${pairs} pairs`);
    await sleep(PAUSE_MS);
    const st0 = await c.status();
    const appRulesBefore = st0.switches.reduce((n, s) => n + s.appRules, 0);
    await poller.sampleNow();
    const rulesBefore = new Map(poller.bridges.map((b) => [b.label, b.flows]));

    const steps: StepFigure[] = [];
    const moverMs: Record<string, number> = {};
    const stream = await c.events((e: ProgressEvent) => {
      if (e.type !== 'step' || e.status === 'start') return;
      const f: StepFigure = { kind: e.kind };
      if (e.host !== undefined) f.host = e.host;
      if (e.messages !== undefined) f.messages = e.messages;
      if (e.ms !== undefined) f.ms = e.ms;
      steps.push(f);
      if (e.kind === 'move' && e.host && e.ms !== undefined) moverMs[e.host] = e.ms;
    });

    poller.record(true);
    const t0 = Date.now();
    await c.prepare();
    const t1 = Date.now();
    const perHostMs: Record<string, number> = {};
    let movesWall = 0;
    for (const h of hosts) {
      await sleep(PAUSE_MS);
      const m0 = Date.now();
      await c.moveHosts([h], { blackoutMs: BLACKOUT_MS });
      perHostMs[h] = Date.now() - m0;
      movesWall += perHostMs[h];
    }
    await sleep(PAUSE_MS);
    const t2 = Date.now();
    const st = await c.finalize();
    const t3 = Date.now();
    await sleep(PAUSE_MS);
    await poller.sampleNow();
    poller.record(false);
    stream.close();
    log(`${tb.name}: migration done in ${t3 - t0} ms (phase ${st.phase})`);

    let pingsAfter: RunFigures['pingsAfter'];
    if (!opt['no-verify']) {
      const failed = await pingAllPairs(tb);
      pingsAfter = { pairs, failed };
      log(`${tb.name}: all-pairs ping after: ${pairs - failed.length}/${pairs} pairs`);
    }
    await poller.sampleNow();

    // Cross-check of the polled counts with ovs-ofctl dump-flows.
    const mismatches: string[] = [];
    for (const b of poller.bridges) {
      const n = await dumpFlowsCount(tb, b.bridge);
      if (n !== b.flows) mismatches.push(`${b.label}: polled ${b.flows}, dump-flows ${n}`);
    }
    const endClean = poller.bridges
      .filter((b) => !b.label.endsWith('/new'))
      .every((b) => b.flows === 0 && b.groups === 0);

    const stEnd = await c.status();
    const shimMax = new Map(stEnd.switches.map((s) => [s.name, s.maxRules]));
    const switchFigures: SwitchFigure[] = poller.bridges.map((b) => ({
      name: b.label,
      bridge: b.bridge,
      shimMaxRules: shimMax.get(b.label) ?? -1,
      measuredMaxRules: b.maxFlows,
      measuredMaxGroups: b.maxGroups,
      rulesBefore: rulesBefore.get(b.label) ?? -1,
      rulesAfter: b.flows,
      groupsAfter: b.groups,
      samples: b.samples,
      missed: b.missed,
    }));
    const phases: RunFigures['phases'] = {};
    for (const [k, f] of Object.entries(stEnd.phases as MigrationStatus['phases'])) {
      // Transitions send flow-mods, group-mods and port-mods only (tunnel ports): "other" = port-mods there.
      phases[k] = {
        flowMods: f.flowMods,
        groupMods: f.groupMods,
        portMods: f.otherMessages,
        barriers: f.barriers,
        ms: f.ms,
      };
    }
    const transitionsMs = steps
      .filter((s) => s.kind === 'startMove' || s.kind === 'hostArrived')
      .reduce((n, s) => n + (s.ms ?? 0), 0);
    return {
      algorithm,
      topology: basename(opt.topology!),
      bed: tb.name,
      blocked,
      hosts: hosts.length,
      switches: topo.switches.length,
      appRulesBefore,
      pingsBefore: { pairs, failed: failedBefore },
      ...(pingsAfter ? { pingsAfter } : {}),
      phases,
      wallMs: { prepare: t1 - t0, moves: movesWall, finalize: t3 - t2, total: t3 - t0 },
      moves: {
        transitionsMs,
        moverMs: Object.values(moverMs).reduce((a, b) => a + b, 0),
        perHostMs,
      },
      steps,
      switchFigures,
      crossCheck: { ok: mismatches.length === 0, mismatches },
      pollTicks: poller.ticks,
      errors: stEnd.errors.map((e) => e.message),
      endClean,
      load: [load0, loadavg()[0]!],
    };
  } catch (err) {
    if (existsSync(logFile)) log(`controller log tail:\n${readFileSync(logFile, 'utf8').slice(-3000)}`);
    throw err;
  } finally {
    cleanups.splice(cleanups.indexOf(cleanup), 1);
    await cleanup();
  }
}

// ------------------------------------------------------------------ output

function table(header: string[], rows: string[][], leftCols = 1): string {
  const w = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cols: string[]) =>
    `| ${cols.map((c, i) => (i < leftCols ? c.padEnd(w[i]!) : c.padStart(w[i]!))).join(' | ')} |`;
  const sep = `|${w.map((x, i) => (i < leftCols ? `:${'-'.repeat(x + 1)}` : `${'-'.repeat(x + 1)}:`)).join('|')}|`;
  return [line(header), sep, ...rows.map(line)].join('\n');
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : Math.round((s[m - 1]! + s[m]!) / 2);
}

/** One figure over the repeats: the median, with the range when the runs differ. */
function fig(xs: number[]): string {
  if (xs.length === 0) return '-';
  const lo = Math.min(...xs);
  const hi = Math.max(...xs);
  return lo === hi ? String(lo) : `${median(xs)} (${lo}..${hi})`;
}

type PhaseKey = 'flowMods' | 'groupMods' | 'portMods' | 'barriers' | 'ms';
const PHASES = ['prepare', 'moves', 'finalize'] as const;

function phaseOf(r: RunFigures, k: string) {
  return r.phases[k] ?? { flowMods: 0, groupMods: 0, portMods: 0, barriers: 0, ms: 0 };
}

function report(runs: RunFigures[]): string {
  const out: string[] = [];
  const byAlg = ALGORITHMS.map((a) => ({ a, rs: runs.filter((r) => r.algorithm === a) })).filter(
    (g) => g.rs.length > 0,
  );
  const first = runs[0]!;
  out.push(
    `### ${first.topology}: ${first.switches} switches, ${first.hosts} hosts; app ${APP}` +
      `${APP_OPTIONS.length ? ` (${APP_OPTIONS.join(',')})` : ''}; blackout ${BLACKOUT_MS} ms; ` +
      `${REPEAT} run(s) per algorithm (figures: median, range in brackets when runs differ)`,
  );
  out.push('');
  if (first.blocked.length)
    out.push(`Links blocked for the learning switch (spanning tree): ${first.blocked.join(' ')}.`);
  out.push('');
  // Messages and time per phase.
  const rows: string[][] = [];
  for (const { a, rs } of byAlg) {
    const wallOf = (r: RunFigures, k: string) =>
      k === 'prepare' ? r.wallMs.prepare : k === 'moves' ? r.wallMs.moves : r.wallMs.finalize;
    for (const k of PHASES) {
      const v = (key: PhaseKey) => fig(rs.map((r) => phaseOf(r, k)[key]));
      rows.push([
        `${a.toUpperCase()} ${k}`,
        v('flowMods'),
        v('groupMods'),
        v('portMods'),
        v('barriers'),
        v('ms'),
        fig(rs.map((r) => wallOf(r, k))),
      ]);
    }
    const sum = (key: PhaseKey) => fig(rs.map((r) => PHASES.reduce((n, k) => n + phaseOf(r, k)[key], 0)));
    rows.push([
      `${a.toUpperCase()} **total**`,
      sum('flowMods'),
      sum('groupMods'),
      sum('portMods'),
      sum('barriers'),
      sum('ms'),
      fig(rs.map((r) => r.wallMs.total)),
    ]);
  }
  out.push(
    table(
      ['algorithm, phase', 'flow-mods', 'group-mods', 'port-mods', 'barriers', 'shim ms', 'wall ms'],
      rows,
    ),
  );
  out.push('');
  out.push(
    '"shim ms": time the shim spent in the phase\'s console operations (its own figure); "wall ms": time the ' +
      'console request took, seen by the bench (prepare start to finalize end for the total, pauses between ' +
      'moves excluded). The moves phase includes the mover (test bed: blackout, port move, gratuitous ARP):',
  );
  out.push('');
  for (const { a, rs } of byAlg) {
    out.push(
      `- ${a.toUpperCase()}: ${first.hosts} host moves; shim transitions (startMove + hostArrived, ` +
        `${2 * first.hosts} transitions) ${fig(rs.map((r) => r.moves.transitionsMs))} ms in all, ` +
        `mover ${fig(rs.map((r) => r.moves.moverMs))} ms; app commands during the run (not above): ` +
        `${fig(rs.map((r) => r.phases.app?.flowMods ?? 0))} flow-mods.`,
    );
  }
  out.push('');
  // Rules per switch.
  const header = ['switch', 'rules before'];
  for (const { a } of byAlg)
    header.push(
      `${a.toUpperCase()} max (shim)`,
      `${a.toUpperCase()} max (measured)`,
      `${a.toUpperCase()} max groups`,
    );
  header.push('rules after');
  const names = first.switchFigures.map((s) => s.name);
  const swOf = (r: RunFigures, n: string) => r.switchFigures.find((s) => s.name === n)!;
  const swRow = (label: string, pick: (r: RunFigures) => SwitchFigure[]) => {
    const sum = (r: RunFigures, f: (s: SwitchFigure) => number) => pick(r).reduce((n, s) => n + f(s), 0);
    const row = [label, fig(runs.map((r) => sum(r, (s) => s.rulesBefore)))];
    for (const { rs } of byAlg)
      row.push(
        fig(rs.map((r) => sum(r, (s) => s.shimMaxRules))),
        fig(rs.map((r) => sum(r, (s) => s.measuredMaxRules))),
        fig(rs.map((r) => sum(r, (s) => s.measuredMaxGroups))),
      );
    row.push(fig(runs.map((r) => sum(r, (s) => s.rulesAfter))));
    return row;
  };
  const swRows = names.map((n) => swRow(n, (r) => [swOf(r, n)]));
  for (const part of ['old', 'new'] as const)
    swRows.push(swRow(`**sum ${part}**`, (r) => r.switchFigures.filter((s) => s.name.endsWith(`/${part}`))));
  swRows.push(swRow('**sum all**', (r) => r.switchFigures));
  out.push(table(header, swRows));
  out.push('');
  out.push(
    '"rules before": rules on the switch after the all-pairs ping, before prepare (shim table 0 + app copies). ' +
      '"max (shim)": the largest number of rules the shim computed for the switch at once (install before ' +
      `remove counts both); "max (measured)": the largest flow count read from the bridge (every ${POLL_MS} ms, ` +
      'prepare to finalize, OFPMP_AGGREGATE on its management socket); "max groups": likewise for groups.',
  );
  out.push('');
  // Checks.
  for (const { a, rs } of byAlg) {
    const checks = rs.map((r, i) => {
      const samples = r.switchFigures.map((s) => s.samples);
      const bits = [
        `all-pairs ping before ${r.pingsBefore.pairs - r.pingsBefore.failed.length}/${r.pingsBefore.pairs}` +
          (r.pingsBefore.failed.length ? ` (failed ${r.pingsBefore.failed.join(' ')})` : ''),
      ];
      if (r.pingsAfter)
        bits.push(
          `after ${r.pingsAfter.pairs - r.pingsAfter.failed.length}/${r.pingsAfter.pairs}` +
            (r.pingsAfter.failed.length ? ` (failed ${r.pingsAfter.failed.join(' ')})` : ''),
        );
      bits.push(`old switches and T empty at the end: ${r.endClean ? 'yes' : 'NO'}`);
      bits.push(
        `polled counts = ovs-ofctl dump-flows at the end: ${r.crossCheck.ok ? 'yes' : r.crossCheck.mismatches.join('; ')}`,
      );
      bits.push(
        `${Math.min(...samples)}..${Math.max(...samples)} samples per bridge, ` +
          `${r.switchFigures.reduce((n, s) => n + s.missed, 0)} polls skipped (previous one unanswered)`,
      );
      bits.push(`load average ${r.load.map((l) => l.toFixed(1)).join(' -> ')}`);
      if (r.errors.length) bits.push(`shim errors: ${r.errors.join('; ')}`);
      return `  - run ${i + 1}: ${bits.join('; ')}`;
    });
    out.push(`- ${a.toUpperCase()} checks:`);
    out.push(...checks);
  }
  out.push('');
  return out.join('\n');
}

async function main(): Promise<void> {
  if (process.getuid?.() !== 0 || !existsSync('/usr/sbin/ovs-vswitchd'))
    throw new Error('needs root and Open vSwitch (it builds a test bed)');
  const runs: RunFigures[] = [];
  const started = new Date().toISOString();
  for (let i = 1; i <= REPEAT; i++) {
    for (const a of ALGORITHMS) {
      log(`Tunnel ${a.toUpperCase()} on ${opt.topology} (run ${i} of ${REPEAT})`);
      runs.push(await runOne(a));
    }
  }
  const text = report(runs);
  process.stdout.write(`\n${text}`);
  if (opt.json) {
    writeFileSync(
      opt.json,
      `${JSON.stringify({ started, topology: opt.topology, app: APP, appOptions: APP_OPTIONS, blackoutMs: BLACKOUT_MS, pollMs: POLL_MS, runs }, null, 2)}\n`,
    );
    log(`figures written to ${opt.json}`);
  }
  const bad = runs.filter((r) => !r.endClean || r.errors.length > 0);
  if (bad.length > 0) process.exitCode = 1;
}

main().catch((err: unknown) => {
  log(err instanceof Error ? (err.stack ?? err.message) : String(err));
  process.exit(1);
});
