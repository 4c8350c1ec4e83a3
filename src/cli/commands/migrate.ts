// `vnm migrate`: drive a migration through the console of a running `vnm controller --migration PLAN`.
//
//   vnm migrate prepare                       tunnels up (ALAP: app rules copied to the new network)
//   vnm migrate host h1 [h2 ...]              move hosts, one after the other (make-before-break)
//   vnm migrate finalize                      old network and tunnel switch cleared (ASAP: rules copied)
//   vnm migrate abort                         hosts back to the old network, everything removed
//   vnm migrate status [--json]
//   vnm migrate run [--hosts h1,h2] [--blackout-ms N]   every remaining phase in one go, with progress
//
// The console is found through the run directory (--run-dir, default $VNM_RUN_DIR/migration, i.e.
// /run/vnm/migration, or the one the controller printed): console.json and the token file there.

import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { InvalidArgumentError } from 'commander';
import {
  ConsoleClient,
  type ConsoleListen,
  type ConsoleRequestError,
  DEFAULT_MIGRATION_RUN_DIR,
  type MigrationStatus,
  type ProgressEvent,
} from '../../shim/console.ts';
import { ShimController, type ShimControllerOptions } from '../../shim/controller/index.ts';
import type { Algorithm } from '../../shim/model.ts';
import type { MoverDeps } from '../../shim/movers.ts';
import { formatDpid, type MigrationPlan, parsePlan } from '../../shim/plan.ts';
import { listTestbeds, loadTestbed, type Testbed } from '../../testbed/index.ts';
import { logger } from '../../util/log.ts';
import type { ApiLayer } from './controller.ts';

interface CommonOptions {
  runDir: string;
}

function nonNegativeInt(name: string) {
  return (v: string): number => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < 0)
      throw new InvalidArgumentError(`${name} must be a non-negative integer`);
    return n;
  };
}

function client(o: CommonOptions): ConsoleClient {
  return ConsoleClient.fromRunDir(o.runDir);
}

function secs(ms: number): string {
  return `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)} s`;
}

function pad(s: string, n: number): string {
  return s.length >= n ? s : s + ' '.repeat(n - s.length);
}

function rulesSummary(st: MigrationStatus): { installed: number; max: number } {
  return {
    installed: st.switches.reduce((n, s) => n + s.rules, 0),
    max: st.switches.reduce((n, s) => Math.max(n, s.maxRules), 0),
  };
}

/** Human-readable status. */
export function formatStatus(st: MigrationStatus): string {
  const lines: string[] = [];
  const r = rulesSummary(st);
  lines.push(
    `migration  ${st.algorithm.toUpperCase()}  phase ${st.phase}${st.busy ? ` (busy: ${st.busy})` : ''}  ` +
      `elapsed ${secs(st.elapsedMs)}  rules installed ${r.installed} (max ${r.max} on one switch)`,
  );
  lines.push(`plan       ${st.plan.file ?? '(no file)'}  hash ${st.plan.hash}`);
  lines.push(`run dir    ${st.runDir}${st.journal ? `  journal ${st.journal}` : ''}`);
  lines.push('');
  lines.push('hosts');
  for (const h of st.hosts) {
    const m = h.lastMove;
    let move = '';
    if (m) {
      const bo =
        m.blackoutStart !== undefined && m.blackoutEnd !== undefined
          ? `, blackout ${m.blackoutEnd - m.blackoutStart} ms`
          : '';
      move = m.error
        ? `  last move to ${m.to} failed: ${m.error}`
        : m.doneAt
          ? `  moved to ${m.to} in ${m.doneAt - m.startedAt} ms${bo}`
          : `  moving to ${m.to}`;
    }
    lines.push(`  ${pad(h.name, 8)} ${pad(`${h.switch}:${h.port}`, 8)} ${pad(h.location, 6)}${move}`);
  }
  lines.push('');
  lines.push(`switches   ${pad('name', 8)} ${pad('dpid', 17)} ${pad('conn', 5)} rules  app  groups  max`);
  for (const s of st.switches) {
    lines.push(
      `           ${pad(s.name, 8)} ${pad(s.dpid, 17)} ${pad(s.connected ? 'up' : 'DOWN', 5)} ` +
        `${pad(String(s.rules), 6)} ${pad(String(s.appRules), 4)} ${pad(String(s.groups), 7)} ${s.maxRules}`,
    );
  }
  const phases = Object.entries(st.phases);
  if (phases.length > 0) {
    lines.push('');
    lines.push('phases     flow-mods  group-mods  other  barriers  time');
    for (const [name, f] of phases) {
      lines.push(
        `  ${pad(name, 9)} ${pad(String(f.flowMods), 10)} ${pad(String(f.groupMods), 11)} ` +
          `${pad(String(f.otherMessages), 6)} ${pad(String(f.barriers), 9)} ${f.ms} ms`,
      );
    }
  }
  const steps = st.steps.slice(-8);
  if (steps.length > 0) {
    lines.push('');
    lines.push('recent steps');
    for (const s of steps) {
      const took = s.doneAt !== undefined ? ` ${s.doneAt - s.startedAt} ms` : '';
      const msgs = s.messages !== undefined ? ` ${s.messages} messages` : '';
      lines.push(
        `  #${s.id} ${s.kind}${s.host ? ` ${s.host}` : ''}: ${s.status}${took}${msgs}${s.error ? ` (${s.error})` : ''}`,
      );
    }
  }
  if (st.errors.length > 0) {
    lines.push('');
    lines.push('errors');
    for (const e of st.errors.slice(-5)) lines.push(`  ${new Date(e.at).toISOString()} ${e.message}`);
  }
  return `${lines.join('\n')}\n`;
}

/** One progress line for an event (undefined: not shown). */
export function formatEvent(e: ProgressEvent, t0: number): string | undefined {
  const at = `[${secs(Math.max(0, e.at - t0)).padStart(8)}]`;
  switch (e.type) {
    case 'operation':
      return `${at} ${e.op}: ${e.status}${e.error ? ` (${e.error})` : ''}`;
    case 'phase':
      return `${at} phase ${e.phase}`;
    case 'step':
      if (e.status === 'start') return undefined;
      return `${at}   ${e.kind}${e.host ? ` ${e.host}` : ''}: ${e.status}${
        e.messages !== undefined ? `, ${e.messages} messages` : ''
      }${e.ms !== undefined ? `, ${e.ms} ms` : ''}${e.error ? ` (${e.error})` : ''}`;
    case 'host':
      return `${at} host ${e.index} of ${e.total}: ${e.host} ${e.state}${e.state === 'moving' ? ` to ${e.to}` : ''}${
        e.error ? ` (${e.error})` : ''
      }`;
    case 'rules':
      return `${at}   rules installed ${e.installed} (max ${e.maxPerSwitch} on one switch)`;
    case 'log':
      return `${at} ${e.level}: ${e.message}`;
  }
}

async function withProgress<T>(c: ConsoleClient, quiet: boolean, fn: () => Promise<T>): Promise<T> {
  if (quiet) return fn();
  const t0 = Date.now();
  const stream = await c.events((e) => {
    const line = formatEvent(e, t0);
    if (line) process.stdout.write(`${line}\n`);
  });
  try {
    return await fn();
  } finally {
    // Let the last events arrive before closing the stream.
    await new Promise((r) => setTimeout(r, 50));
    stream.close();
  }
}

function explain(err: unknown): Error {
  const e = err as ConsoleRequestError;
  if (e?.name === 'ConsoleRequestError' && e.statusCode === 409) return new Error(`refused: ${e.message}`);
  return err instanceof Error ? err : new Error(String(err));
}

export interface RunOptions extends CommonOptions {
  hosts?: string;
  blackoutMs?: number;
  finalize: boolean;
  quiet?: boolean;
}

/** `vnm migrate run`: whatever phases remain, in order, with progress. Returns the final status. */
export async function runMigration(c: ConsoleClient, o: RunOptions): Promise<MigrationStatus> {
  const t0 = Date.now();
  let st = await c.status();
  if (st.busy) throw new Error(`the controller is busy (${st.busy}): wait for it, or see vnm migrate status`);
  if (st.phase === 'finalized') {
    if (!o.quiet) process.stdout.write('already finalized: nothing to do\n');
    return st;
  }
  const order = o.hosts
    ? o.hosts
        .split(',')
        .map((h) => h.trim())
        .filter((h) => h !== '')
    : st.hosts.map((h) => h.name);
  const known = new Set(st.hosts.map((h) => h.name));
  const unknown = order.filter((h) => !known.has(h));
  if (unknown.length > 0)
    throw new Error(`no host ${unknown.join(', ')} in the plan (hosts: ${[...known].join(', ')})`);
  await withProgress(c, o.quiet ?? false, async () => {
    if (st.phase === 'idle') st = await c.prepare();
    const where = new Map(st.hosts.map((h) => [h.name, h.location]));
    const todo = order.filter((h) => where.get(h) !== 'new');
    if (todo.length > 0)
      st = await c.moveHosts(todo, o.blackoutMs !== undefined ? { blackoutMs: o.blackoutMs } : {});
    if (o.finalize) {
      const left = st.hosts.filter((h) => h.location !== 'new').map((h) => h.name);
      if (left.length > 0)
        throw new Error(
          `not finalizing: hosts not in the new network: ${left.join(', ')} (add them to --hosts)`,
        );
      st = await c.finalize();
    }
  });
  if (!o.quiet) {
    const r = rulesSummary(st);
    process.stdout.write(
      `done in ${secs(Date.now() - t0)}: phase ${st.phase}, rules installed ${r.installed} (max ${r.max} on one switch)\n`,
    );
    for (const [name, f] of Object.entries(st.phases))
      process.stdout.write(
        `  ${pad(name, 9)} ${f.flowMods} flow-mods, ${f.groupMods} group-mods, ${f.otherMessages} other, ${f.ms} ms\n`,
      );
  }
  return st;
}

export function registerMigrateCommands(program: Command): void {
  const migrate = program
    .command('migrate')
    .description('Drive a live migration through the console of `vnm controller --migration PLAN`')
    .option(
      '--run-dir <DIR>',
      "the controller's migration run directory (where console.json and console.token are)",
      process.env.VNM_MIGRATION_RUN_DIR ?? DEFAULT_MIGRATION_RUN_DIR,
    );
  const common = (cmd: Command): CommonOptions => cmd.optsWithGlobals() as CommonOptions;

  migrate
    .command('prepare')
    .description('set up the tunnels (ALAP: copy the app rules to the new network)')
    .option('-q, --quiet', 'no progress lines')
    .action(async (o: { quiet?: boolean }, cmd: Command) => {
      const c = client(common(cmd));
      const st = await withProgress(c, o.quiet ?? false, () => c.prepare()).catch((e) => {
        throw explain(e);
      });
      process.stdout.write(`phase ${st.phase}\n`);
    });

  migrate
    .command('host')
    .description('move hosts to the new network (or back, for a host already there), one after the other')
    .argument('<HOST...>', 'host names, in order')
    .option('--blackout-ms <N>', "the hosts' blackout (default: the plan's)", nonNegativeInt('--blackout-ms'))
    .option('-q, --quiet', 'no progress lines')
    .action(async (hosts: string[], o: { blackoutMs?: number; quiet?: boolean }, cmd: Command) => {
      const c = client(common(cmd));
      const st = await withProgress(c, o.quiet ?? false, () =>
        c.moveHosts(hosts, o.blackoutMs !== undefined ? { blackoutMs: o.blackoutMs } : {}),
      ).catch((e) => {
        throw explain(e);
      });
      process.stdout.write(
        `phase ${st.phase}: ${st.hosts.map((h) => `${h.name} ${h.location}`).join(', ')}\n`,
      );
    });

  migrate
    .command('finalize')
    .description('clear the old network and the tunnel switch (ASAP: copy every rule to the new network)')
    .option('-q, --quiet', 'no progress lines')
    .action(async (o: { quiet?: boolean }, cmd: Command) => {
      const c = client(common(cmd));
      const st = await withProgress(c, o.quiet ?? false, () => c.finalize()).catch((e) => {
        throw explain(e);
      });
      process.stdout.write(`phase ${st.phase}\n`);
    });

  migrate
    .command('abort')
    .description('move every host back to the old network and remove what the migration installed')
    .option('-q, --quiet', 'no progress lines')
    .action(async (o: { quiet?: boolean }, cmd: Command) => {
      const c = client(common(cmd));
      const st = await withProgress(c, o.quiet ?? false, () => c.abort()).catch((e) => {
        throw explain(e);
      });
      process.stdout.write(`phase ${st.phase}\n`);
    });

  migrate
    .command('status')
    .description('phase, hosts, switches (rules installed), flow-mods and time per phase, errors')
    .option('--json', 'machine-readable')
    .action(async (o: { json?: boolean }, cmd: Command) => {
      const st = await client(common(cmd)).status();
      process.stdout.write(o.json ? `${JSON.stringify(st, null, 2)}\n` : formatStatus(st));
    });

  migrate
    .command('run')
    .description('every remaining phase in one go: prepare, each host, finalize, with a progress display')
    .option('--hosts <H1,H2,...>', 'hosts to move, in this order (default: every plan host, in plan order)')
    .option('--blackout-ms <N>', "the hosts' blackout (default: the plan's)", nonNegativeInt('--blackout-ms'))
    .option('--no-finalize', 'stop after the host moves')
    .option('-q, --quiet', 'no progress lines')
    .action(
      async (
        o: { hosts?: string; blackoutMs?: number; finalize: boolean; quiet?: boolean },
        cmd: Command,
      ) => {
        const c = client(common(cmd));
        const ro: RunOptions = { ...common(cmd), finalize: o.finalize };
        if (o.hosts !== undefined) ro.hosts = o.hosts;
        if (o.blackoutMs !== undefined) ro.blackoutMs = o.blackoutMs;
        if (o.quiet) ro.quiet = true;
        await runMigration(c, ro).catch((e) => {
          throw explain(e);
        });
      },
    );
}

// ---------------------------------------------------------------- `vnm controller --migration PLAN`

/** The options `vnm controller` gets for the migration shim (see addMigrationOptions). */
export interface MigrationCliOptions {
  migration?: string;
  algorithm?: string;
  runDir?: string;
  abortOnStart?: boolean;
  resume?: boolean;
  testbed?: string;
  console?: string;
}

/** Add --migration, --algorithm, --run-dir, --resume/--abort-on-start, --testbed, --console to a command. */
export function addMigrationOptions(cmd: Command): Command {
  return cmd
    .option(
      '--migration <PLAN>',
      'run the apps on the migration shim with this plan (vnm testbed plan FILE writes one)',
    )
    .option('--algorithm <asap|alap>', "Tunnel ASAP or Tunnel ALAP (overrides the plan's algorithm)")
    .option(
      '--run-dir <DIR>',
      `migration run directory: journal, console socket and token (default ${DEFAULT_MIGRATION_RUN_DIR})`,
    )
    .option('--resume', 'resume a migration the journal shows unfinished (the default)')
    .option('--abort-on-start', 'abort a migration the journal shows unfinished instead of resuming it')
    .option(
      '--testbed <NAME>',
      "the test bed the plan's 'testbed' mover moves hosts in (default: found by datapath ids)",
    )
    .option(
      '--console <ADDR>',
      'console address: unix:PATH or tcp:127.0.0.1:PORT (default: unix socket in the run dir)',
    );
}

function parseConsoleAddress(text: string): ConsoleListen {
  const unix = /^unix:(.+)$/.exec(text);
  if (unix) return { kind: 'unix', path: resolve(unix[1]!) };
  const tcp = /^(?:tcp:)?([^:]+):(\d+)$/.exec(text);
  if (tcp) {
    const host = tcp[1]!;
    if (!['127.0.0.1', 'localhost', '::1'].includes(host))
      throw new Error(`--console must listen on loopback (127.0.0.1 or ::1), not ${host}`);
    return { kind: 'tcp', host: host === 'localhost' ? '127.0.0.1' : host, port: Number(tcp[2]) };
  }
  throw new Error(`--console: expected unix:PATH or tcp:127.0.0.1:PORT, got "${text}"`);
}

/** The test bed whose switches are the plan's (by datapath id), or the one named. */
export function findTestbedForPlan(plan: MigrationPlan, name?: string): Testbed {
  if (name) return loadTestbed(name);
  const want = new Set(plan.switches.flatMap((vs) => [formatDpid(vs.old.dpid), formatDpid(vs.new.dpid)]));
  const hits: Testbed[] = [];
  for (const b of listTestbeds()) {
    if (b.error) continue;
    try {
      const tb = loadTestbed(b.runDir);
      if (tb.state.switches.some((s) => want.has(s.dpid))) hits.push(tb);
    } catch {}
  }
  if (hits.length === 1) return hits[0]!;
  if (hits.length === 0)
    throw new Error(
      "the plan's mover is 'testbed' but no test bed that is up has the plan's switches (vnm testbed up FILE, or --testbed NAME)",
    );
  throw new Error(
    `several test beds have the plan's switches, name one with --testbed: ${hits.map((t) => t.name).join(', ')}`,
  );
}

/** How the shim moves hosts with a 'testbed' mover: through the test bed's programmatic API. */
export function testbedMoverDeps(tb: Testbed): NonNullable<MoverDeps['testbed']> {
  return {
    move: (host, to, opts) => tb.reload().moveHost(host, to, opts),
    locate: (host) => tb.reload().host(host).network,
  };
}

/** The ApiLayers `vnm controller` adds for --migration (none without it). */
export function migrationLayers(o: MigrationCliOptions): ApiLayer[] {
  if (!o.migration) {
    for (const flag of ['algorithm', 'runDir', 'abortOnStart', 'testbed', 'console'] as const)
      if (o[flag] !== undefined)
        throw new Error(`--${flag.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)} needs --migration PLAN`);
    return [];
  }
  if (o.abortOnStart && o.resume) throw new Error('--resume and --abort-on-start exclude each other');
  if (o.algorithm !== undefined && o.algorithm !== 'asap' && o.algorithm !== 'alap')
    throw new Error(`--algorithm must be asap or alap (got "${o.algorithm}")`);
  const planFile = resolve(o.migration);
  let text: string;
  try {
    text = readFileSync(planFile, 'utf8');
  } catch (err) {
    throw new Error(`cannot read migration plan ${planFile}: ${(err as NodeJS.ErrnoException).code ?? err}`);
  }
  const plan = parsePlan(text, planFile);
  const runDir = resolve(o.runDir ?? process.env.VNM_MIGRATION_RUN_DIR ?? DEFAULT_MIGRATION_RUN_DIR);
  const log = logger('shim');
  const moverDeps: MoverDeps = {};
  if (plan.mover.kind === 'testbed')
    moverDeps.testbed = testbedMoverDeps(findTestbedForPlan(plan, o.testbed));
  const layer: ApiLayer = async (below) => {
    const opts: ShimControllerOptions = {
      plan,
      planFile,
      below,
      runDir,
      moverDeps,
      onStart: o.abortOnStart ? 'abort' : 'resume',
      log,
    };
    if (o.algorithm) opts.algorithm = o.algorithm as Algorithm;
    if (o.console) opts.console = parseConsoleAddress(o.console);
    const shim = await ShimController.create(opts);
    log.info(
      {
        plan: planFile,
        algorithm: shim.state.algorithm,
        phase: shim.state.phase,
        runDir,
        console: shim.consoleAddress,
      },
      `migration shim running: drive it with \`vnm migrate --run-dir ${runDir} prepare | host H... | finalize | abort | status | run\``,
    );
    return { api: shim, stop: () => shim.stop() };
  };
  return [layer];
}
