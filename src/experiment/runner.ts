// The experiment runner: for each algorithm, on a fresh test bed, build it, start the controller in this
// process (runtime + apps; for asap/alap with the migration shim in between), wait for the network to
// converge, start traffic, run the timeline (before -> prepare -> host steps -> finalize -> after) while
// recording phase boundaries and blackout windows, stop traffic, tear everything down (always: also on
// errors and on Ctrl-C, through the AbortSignal).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { AppHost, loadApp } from '../api/app-host.ts';
import type { App, ControllerApi } from '../api/types.ts';
import { type BlackoutWindow, DnsRunner, IperfRunner, PingRunner, type Runner } from '../measure/index.ts';
import { Controller } from '../runtime/controller.ts';
import { type Testbed, upTestbed } from '../testbed/testbed.ts';
import { type Logger, logger } from '../util/log.ts';
import { countingApi, type ModCounter } from './counting.ts';
import {
  blackoutsFromStatus,
  type ExperimentDriver,
  loadMigrationFactory,
  type MigrationFactory,
  type MigrationSession,
} from './migration.ts';
import { type ProgressSink, silentProgress } from './progress.ts';
import type { PhaseMark, RunCapture, TrafficCapture } from './results.ts';
import {
  type AlgorithmName,
  effectiveTopology,
  type Scenario,
  type Traffic,
  trafficRounds,
} from './scenario.ts';
import { estimateActionMs, planTimeline } from './timeline.ts';

export interface RunOptions {
  progress?: ProgressSink;
  /** Aborts the run (Ctrl-C): the current step stops, traffic stops, everything is torn down. */
  signal?: AbortSignal;
  log?: Logger;
  /** Directory of the built-in apps (default src/apps). */
  appsDir?: string;
}

export class AbortedError extends Error {
  override readonly name = 'AbortedError';
  constructor() {
    super('interrupted');
  }
}

export const BUILTIN_APPS_DIR = fileURLToPath(new URL('../apps/', import.meta.url));

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(new AbortedError());
    const t = setTimeout(
      () => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      },
      Math.max(0, ms),
    );
    const onAbort = () => {
      clearTimeout(t);
      reject(new AbortedError());
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

function check(signal?: AbortSignal): void {
  if (signal?.aborted) throw new AbortedError();
}

/** Races a promise against the abort signal (the promise keeps running; its result is ignored). */
function abortable<T>(p: Promise<T>, signal?: AbortSignal): Promise<T> {
  if (!signal) return p;
  return new Promise<T>((resolve, reject) => {
    if (signal.aborted) return reject(new AbortedError());
    const onAbort = () => reject(new AbortedError());
    signal.addEventListener('abort', onAbort, { once: true });
    p.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (e) => {
        signal.removeEventListener('abort', onAbort);
        reject(e);
      },
    );
  });
}

function errText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** Stops a traffic runner gracefully (the tools print what they measured); kills it if that hangs. */
async function stopRunner<R>(r: Runner<R>, graceMs = 8000): Promise<R> {
  let timer: NodeJS.Timeout | undefined;
  const hung = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, graceMs);
  });
  const stopped = r.stop();
  const first = await Promise.race([
    stopped.then(() => 'stopped' as const),
    hung.then(() => 'hung' as const),
  ]);
  clearTimeout(timer);
  if (first === 'hung') {
    r.kill();
    return r.wait();
  }
  return stopped;
}

/** A test bed name unique to this process and run. */
export function bedNameFor(algorithm: AlgorithmName): string {
  return `x${process.pid}${algorithm}`;
}

interface TrafficHandle {
  spec: Traffic;
  runner: Runner<unknown>;
  kind: 'ping' | 'iperf' | 'dns';
}

/** Ports for iperf3 and DNS servers, so that several flows to one host do not collide. */
export function assignPorts(traffic: readonly Traffic[]): Map<string, number> {
  const out = new Map<string, number>();
  let iperf = 5201;
  const dnsPerServer = new Map<string, number>();
  for (const t of traffic) {
    if (t.kind === 'tcp' || t.kind === 'udp') out.set(t.id, t.port ?? iperf++);
    else if (t.kind === 'dns') {
      if (t.port !== undefined) out.set(t.id, t.port);
      else {
        const n = dnsPerServer.get(t.to) ?? 0;
        dnsPerServer.set(t.to, n + 1);
        out.set(t.id, n === 0 ? 53 : 5300 + n);
      }
    }
  }
  return out;
}

function makeRunners(tb: Testbed, traffic: readonly Traffic[]): TrafficHandle[] {
  const ports = assignPorts(traffic);
  return traffic.map((t): TrafficHandle => {
    const from = tb.host(t.from);
    const to = tb.host(t.to);
    const dur = t.durationMs !== undefined ? { durationMs: t.durationMs } : {};
    if (t.kind === 'ping') {
      const r = new PingRunner({
        netns: from.namespace,
        target: to.ip,
        intervalMs: t.intervalMs,
        ...(t.sizeBytes !== undefined ? { sizeBytes: t.sizeBytes } : {}),
        ...dur,
      });
      return { spec: t, runner: r, kind: 'ping' };
    }
    if (t.kind === 'dns') {
      const r = new DnsRunner({
        clientNetns: from.namespace,
        serverNetns: to.namespace,
        serverIp: to.ip,
        port: ports.get(t.id)!,
        qps: t.qps,
        timeoutMs: t.timeoutMs,
        ...dur,
      });
      return { spec: t, runner: r, kind: 'dns' };
    }
    const r = new IperfRunner({
      clientNetns: from.namespace,
      serverNetns: to.namespace,
      serverIp: to.ip,
      port: ports.get(t.id)!,
      protocol: t.kind,
      intervalMs: t.intervalMs,
      reverse: t.reverse,
      parallel: t.parallel,
      ...(t.rateBps !== undefined ? { rate: String(t.rateBps) } : {}),
      ...dur,
    });
    return { spec: t, runner: r, kind: 'iperf' };
  });
}

/** Distinct (from, to) pairs of the traffic, for the convergence check. */
export function trafficPairs(traffic: readonly Traffic[]): [string, string][] {
  const seen = new Set<string>();
  const out: [string, string][] = [];
  for (const t of traffic) {
    const k = `${t.from}\u0000${t.to}`;
    if (seen.has(k)) continue;
    seen.add(k);
    out.push([t.from, t.to]);
  }
  return out;
}

async function converge(
  tb: Testbed,
  runtime: Controller,
  s: Scenario,
  traffic: readonly Traffic[],
  progress: ProgressSink,
  signal?: AbortSignal,
): Promise<void> {
  const deadline = Date.now() + s.timing.convergeTimeoutMs;
  const want = tb.state.switches.length;
  progress.stage(`waiting for ${want} switches to connect`);
  while (runtime.datapaths().length < want) {
    if (Date.now() > deadline)
      throw new Error(
        `only ${runtime.datapaths().length} of ${want} switches connected after ${s.timing.convergeTimeoutMs} ms`,
      );
    await sleep(50, signal);
  }
  await abortable(Promise.all(runtime.datapaths().map((dp) => dp.barrier().catch(() => {}))), signal);
  const pairs = trafficPairs(traffic);
  for (const [a, b] of pairs) {
    progress.stage(`converging: ping ${a} -> ${b}`);
    const ip = tb.host(b).ip;
    for (;;) {
      const r = await abortable(
        tb.exec(a, ['ping', '-c', '1', '-W', '1', '-n', '-q', ip], { check: false }),
        signal,
      );
      if (r.code === 0) break;
      if (Date.now() > deadline)
        throw new Error(
          `network did not converge: ${a} cannot ping ${b} after ${s.timing.convergeTimeoutMs} ms`,
        );
      await sleep(200, signal);
    }
  }
  // Both directions once more, to be sure every rule is in (path flips, learning).
  for (const [a, b] of pairs) {
    await abortable(
      tb.exec(b, ['ping', '-c', '1', '-W', '1', '-n', '-q', tb.host(a).ip], { check: false }),
      signal,
    );
  }
}

/** Runs one algorithm on a fresh test bed. Never throws for a failed run: the capture carries the error. */
export async function runOne(
  s: Scenario,
  algorithm: AlgorithmName,
  opts: RunOptions & { round?: number } = {},
): Promise<RunCapture> {
  const round = opts.round ?? 1;
  const traffic = s.traffic.filter((t) => t.round === round);
  const progress = opts.progress ?? silentProgress;
  const log = opts.log ?? logger('experiment');
  const signal = opts.signal;
  const notes: string[] = [];
  const counter: ModCounter = { flowMods: 0, groupMods: 0 };
  const cap: RunCapture = {
    algorithm,
    round,
    t0: 0,
    end: 0,
    phases: [],
    blackouts: [],
    blackoutsApproximate: false,
    moves: [],
    traffic: [],
    flowMods: { setup: 0, total: 0, byPhase: {} },
    groupMods: { setup: 0, total: 0, byPhase: {} },
    timings: { buildMs: 0, convergeMs: 0, teardownMs: 0 },
    notes,
  };

  let factory: MigrationFactory | undefined;
  if (algorithm !== 'none') {
    try {
      factory = await loadMigrationFactory();
    } catch (err) {
      cap.error = errText(err);
      return cap;
    }
  }

  const dir = mkdtempSync(join(tmpdir(), 'vnm-exp-'));
  const sock = join(dir, 'ctl.sock');
  let tb: Testbed | undefined;
  let runtime: Controller | undefined;
  let appHost: AppHost | undefined;
  let session: MigrationSession | undefined;
  let handles: TrafficHandle[] = [];
  let trafficStarted = false;
  const tBuild = Date.now();
  try {
    // 1. Apps first: a typo fails before anything is built.
    const apps: { app: App; options: Record<string, unknown> }[] = [];
    for (const a of s.apps)
      apps.push({ app: await loadApp(a.name, opts.appsDir ?? BUILTIN_APPS_DIR), options: a.options });
    check(signal);

    // 2. The test bed.
    progress.stage('building the test bed');
    const topo = effectiveTopology(s, bedNameFor(algorithm));
    tb = await upTestbed(topo, { controller: `unix:${sock}` });
    if (tb.state.shaper) notes.push(`link shaping: ${tb.state.shaper}`);
    check(signal);

    // 3. The controller: runtime <- flow-mod counter <- (shim) <- apps.
    runtime = new Controller({ listen: [{ kind: 'unix', path: sock }], log: logger('experiment-runtime') });
    const below: ControllerApi = countingApi(runtime, counter);
    let api: ControllerApi = below;
    if (factory) {
      session = await factory({
        below,
        runtime,
        testbed: tb,
        algorithm: algorithm as 'asap' | 'alap',
        blackoutMs: s.migration.blackoutMs,
        runDir: dir,
        log,
      });
      api = session.api;
    }
    appHost = new AppHost(api, log);
    for (const { app, options } of apps) await appHost.start(app, options);
    await runtime.start();
    cap.timings.buildMs = Date.now() - tBuild;

    // 4. Convergence.
    const tConv = Date.now();
    await converge(tb, runtime, s, traffic, progress, signal);
    cap.timings.convergeMs = Date.now() - tConv;
    progress.stage('settling');
    await sleep(s.timing.settleMs, signal);

    // 5. Traffic.
    progress.stage('starting traffic');
    handles = makeRunners(tb, traffic);
    trafficStarted = true;
    await abortable(Promise.all(handles.map((h) => h.runner.start())), signal);
    cap.t0 = Date.now();
    cap.flowMods.setup = counter.flowMods;
    cap.groupMods.setup = counter.groupMods;

    // 6. The timeline.
    await runTimeline(s, algorithm, cap, counter, session?.driver, progress, signal, tb);
  } catch (err) {
    if (err instanceof AbortedError) cap.error = 'interrupted (Ctrl-C)';
    else cap.error = errText(err);
    log.error({ algorithm, err: errText(err) }, 'run failed');
    if (cap.phases.length > 0) {
      const last = cap.phases[cap.phases.length - 1]!;
      if (last.end === 0) last.end = Date.now();
    }
  } finally {
    // 7. Stop traffic (collect what was measured), then tear down.
    if (trafficStarted) {
      progress.stage('stopping traffic');
      const results = await Promise.allSettled(handles.map((h) => stopRunner(h.runner)));
      cap.end = Date.now();
      if (cap.t0 === 0) cap.t0 = cap.end;
      results.forEach((r, i) => {
        const h = handles[i]!;
        const tc: TrafficCapture = { spec: h.spec };
        if (r.status === 'fulfilled') {
          const v = r.value as never;
          if (h.kind === 'ping') tc.ping = v;
          else if (h.kind === 'iperf') tc.iperf = v;
          else tc.dns = v;
        } else tc.error = errText(r.reason);
        cap.traffic.push(tc);
      });
    }
    cap.flowMods.total = counter.flowMods - cap.flowMods.setup;
    cap.groupMods.total = counter.groupMods - cap.groupMods.setup;
    if (session) {
      try {
        cap.migrationStatus = session.driver.status();
      } catch {}
    }
    progress.stage('tearing down');
    const tDown = Date.now();
    await teardown(log, { appHost, session, runtime, tb }).then(
      (problems) => {
        for (const p of problems) notes.push(`teardown: ${p}`);
      },
      (err: unknown) => notes.push(`teardown: ${errText(err)}`),
    );
    rmSync(dir, { recursive: true, force: true });
    cap.timings.teardownMs = Date.now() - tDown;
  }
  return cap;
}

async function teardown(
  log: Logger,
  parts: { appHost?: AppHost; session?: MigrationSession; runtime?: Controller; tb?: Testbed },
): Promise<string[]> {
  const problems: string[] = [];
  const step = async (what: string, f: () => Promise<unknown>) => {
    try {
      await f();
    } catch (err) {
      problems.push(`${what}: ${errText(err)}`);
      log.warn({ what, err: errText(err) }, 'teardown step failed');
    }
  };
  if (parts.appHost) await step('stop apps', () => parts.appHost!.stopAll());
  if (parts.session) await step('stop shim', () => parts.session!.stop());
  if (parts.runtime) await step('stop controller', () => parts.runtime!.stop('experiment over'));
  if (parts.tb) await step(`test bed ${parts.tb.name} down`, () => parts.tb!.down());
  return problems;
}

async function runTimeline(
  s: Scenario,
  algorithm: AlgorithmName,
  cap: RunCapture,
  counter: ModCounter,
  driver: ExperimentDriver | undefined,
  progress: ProgressSink,
  signal: AbortSignal | undefined,
  tb: Testbed,
): Promise<void> {
  const items = planTimeline(s);
  let lastFlow = counter.flowMods;
  let lastGroup = counter.groupMods;
  const close = (m: PhaseMark) => {
    m.end = Date.now();
    cap.flowMods.byPhase[m.name] = (cap.flowMods.byPhase[m.name] ?? 0) + counter.flowMods - lastFlow;
    cap.groupMods.byPhase[m.name] = (cap.groupMods.byPhase[m.name] ?? 0) + counter.groupMods - lastGroup;
    lastFlow = counter.flowMods;
    lastGroup = counter.groupMods;
  };
  for (let i = 0; i < items.length; i++) {
    const it = items[i]!;
    check(signal);
    const left = items
      .slice(i)
      .reduce((a, x) => a + estimateActionMs(x, algorithm, s.migration.blackoutMs), 0);
    const mark: PhaseMark = {
      name: it.phase,
      kind: it.type === 'wait' ? 'steady' : 'transition',
      start: i === 0 ? cap.t0 : Date.now(),
      end: 0,
    };
    if (it.step !== undefined) mark.step = it.step;
    if (it.type === 'action' && it.hosts) mark.hosts = [...it.hosts];
    cap.phases.push(mark);
    if (it.type === 'wait') {
      progress.phase(it.phase, it.ms, left);
      // Waits are measured from the phase start, so that slow actions do not shorten later phases.
      await sleep(mark.start + it.ms - Date.now(), signal);
      close(mark);
      continue;
    }
    if (!driver) {
      close(mark); // `none`: the same timeline, no migration action
      continue;
    }
    progress.phase(it.phase, 0, left);
    if (it.action === 'prepare') await abortable(driver.prepare(), signal);
    else if (it.action === 'finalize') await abortable(driver.finalize(), signal);
    else {
      const hosts = it.hosts ?? [];
      const start = Date.now();
      const status = await abortable(driver.moveHosts(hosts, { blackoutMs: s.migration.blackoutMs }), signal);
      const end = Date.now();
      cap.moves.push({ hosts, start, end });
      const exact = blackoutsFromStatus(status, hosts, start);
      if (exact.length > 0) cap.blackouts.push(...exact);
      else if (s.migration.blackoutMs > 0) {
        // No exact times from the driver: the whole step counts as the hosts' blackout.
        cap.blackoutsApproximate = true;
        for (const h of hosts) cap.blackouts.push({ host: h, start, end } satisfies BlackoutWindow);
      }
      // Keep the test bed's view in step (the shim moved the hosts through it).
      try {
        tb.reload();
      } catch {}
    }
    close(mark);
  }
}

export interface ExperimentOutcome {
  captures: RunCapture[];
  interrupted: boolean;
}

/** The passes of an experiment, in order: every round of every algorithm. */
export function experimentPasses(s: Scenario): { algorithm: AlgorithmName; round: number }[] {
  const rounds = trafficRounds(s);
  return s.algorithms.flatMap((algorithm) => rounds.map((round) => ({ algorithm, round })));
}

/** Runs every algorithm of the scenario in turn (each traffic round of it), each on a fresh test bed. */
export async function runExperiment(s: Scenario, opts: RunOptions = {}): Promise<ExperimentOutcome> {
  const progress = opts.progress ?? silentProgress;
  const captures: RunCapture[] = [];
  const passes = experimentPasses(s);
  const multi = trafficRounds(s).length > 1;
  for (let i = 0; i < passes.length; i++) {
    const { algorithm, round } = passes[i]!;
    if (opts.signal?.aborted) break;
    const name = multi ? `${algorithm} round ${round}` : algorithm;
    progress.runStart(name, i + 1, passes.length);
    const cap = await runOne(s, algorithm, { ...opts, round });
    captures.push(cap);
    progress.runEnd(name, cap.error === undefined, cap.error ?? summaryLine(cap));
  }
  return { captures, interrupted: !!opts.signal?.aborted };
}

function summaryLine(cap: RunCapture): string {
  const parts: string[] = [];
  for (const t of cap.traffic) {
    if (t.ping) parts.push(`${t.spec.id} ${t.ping.received}/${t.ping.transmitted} answered`);
    if (t.iperf) parts.push(`${t.spec.id} ${t.iperf.summary.receiverMbps.toFixed(1)} Mbit/s`);
    if (t.dns) parts.push(`${t.spec.id} ${t.dns.completed}/${t.dns.sent} answered`);
    if (t.error) parts.push(`${t.spec.id} failed: ${t.error}`);
  }
  return parts.join(', ');
}
