// `vnm controller`: run the OpenFlow 1.3 controller runtime with apps.
//
//   vnm controller --app l2-learning
//   vnm controller --app l2-learning:idleTimeout=30 --listen unix:/tmp/vnm.sock --listen tcp:127.0.0.1:6653
//   vnm controller --app ./my-app.ts --app-option my-app:verbose=true --app-option priority=10
//
// Ctrl-C (SIGINT) or SIGTERM: stop the apps, close every session and listener, exit 0.
//
// Extension point: `layers` (see ApiLayer) wrap the runtime's ControllerApi before the apps get it.
// The migration shim (`--migration PLAN`, later) is one such layer: it takes the runtime as the API
// "below" (physical switches) and returns its own API (virtual switches) for the apps.

import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Command, InvalidArgumentError } from 'commander';
import { AppHost, type AppSpec, applyAppOptions, loadApp, parseAppSpec } from '../../api/app-host.ts';
import type { App, ControllerApi } from '../../api/types.ts';
import { DEFAULT_LISTEN, formatListenAddress, parseListenAddress } from '../../runtime/address.ts';
import { Controller, type ControllerOptions, type RoleName } from '../../runtime/controller.ts';
import { logger, setLogLevel } from '../../util/log.ts';
import { addMigrationOptions, type MigrationCliOptions, migrationLayers } from './migrate.ts';

/** Directory of the built-in apps (src/apps). */
export const BUILTIN_APPS_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'apps');

/**
 * A layer between the runtime and the apps. It receives the API below (the runtime's, or the previous
 * layer's) and returns the API the apps (or the next layer) see, plus how to stop it.
 */
export type ApiLayer = (
  below: ControllerApi,
  runtime: Controller,
) => Promise<{ api: ControllerApi; stop?: () => Promise<void> }>;

export interface RunControllerOptions {
  apps: AppSpec[];
  controller: ControllerOptions;
  /** Layers wrapping the runtime's API, innermost first (e.g. the migration shim). */
  layers?: ApiLayer[];
  appsDir?: string;
}

export interface RunningController {
  runtime: Controller;
  /** The API the apps were given. */
  api: ControllerApi;
  apps: App[];
  stop(reason?: string): Promise<void>;
}

/** Load the apps, start them, then listen. Throws (with nothing left running) if any step fails. */
export async function runController(opts: RunControllerOptions): Promise<RunningController> {
  const log = logger('controller');
  // Load every app first: a typo in a name should fail before we accept switches.
  const loaded: { app: App; options: Record<string, unknown> }[] = [];
  for (const spec of opts.apps) {
    loaded.push({ app: await loadApp(spec.ref, opts.appsDir ?? BUILTIN_APPS_DIR), options: spec.options });
  }
  const runtime = new Controller(opts.controller);
  let api: ControllerApi = runtime;
  const layerStops: (() => Promise<void>)[] = [];
  const host = { current: undefined as AppHost | undefined };
  const stop = async (reason = 'controller shutting down') => {
    await host.current?.stopAll();
    for (const s of layerStops.reverse()) await s().catch(() => {});
    await runtime.stop(reason);
  };
  try {
    for (const layer of opts.layers ?? []) {
      const made = await layer(api, runtime);
      api = made.api;
      if (made.stop) layerStops.push(made.stop);
    }
    host.current = new AppHost(api, log);
    for (const { app, options } of loaded) await host.current.start(app, options);
    await runtime.start();
  } catch (err) {
    await stop('start-up failed');
    throw err;
  }
  return { runtime, api, apps: loaded.map((l) => l.app), stop };
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

function positiveNumber(name: string) {
  return (v: string): number => {
    const n = Number(v);
    if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError(`${name} must be a positive number`);
    return n;
  };
}

function positiveInt(name: string) {
  return (v: string): number => {
    const n = Number(v);
    if (!Number.isInteger(n) || n <= 0) throw new InvalidArgumentError(`${name} must be a positive integer`);
    return n;
  };
}

interface CliOptions {
  app: string[];
  appOption: string[];
  listen: string[];
  logLevel: string;
  echoIntervalS: number;
  echoMisses: number;
  role?: RoleName;
  generationId?: string;
  missSendLen?: number;
}

export function registerControllerCommands(program: Command): void {
  addMigrationOptions(program.command('controller'))
    .description('Run the OpenFlow 1.3 controller runtime with apps (Ctrl-C stops it cleanly)')
    .option(
      '--app <NAME|PATH[:key=value,...]>',
      'app to run: a built-in name (l2-learning, ...) or a module path; repeatable',
      collect,
      [],
    )
    .option(
      '--app-option <[APP:]key=value>',
      'option for every app, or for APP only; values parse as JSON when they can; repeatable',
      collect,
      [],
    )
    .option(
      '--listen <ADDR>',
      `listen address: tcp:HOST:PORT, HOST:PORT, unix:PATH or a path; repeatable (default ${formatListenAddress(DEFAULT_LISTEN)})`,
      collect,
      [],
    )
    .option(
      '--log-level <LEVEL>',
      'trace, debug, info, warn, error or silent',
      process.env.VNM_LOG_LEVEL ?? 'info',
    )
    .option(
      '--echo-interval-s <N>',
      'seconds between echo requests to each switch',
      positiveNumber('--echo-interval-s'),
      5,
    )
    .option(
      '--echo-misses <N>',
      'drop a switch silent for this many echo intervals',
      positiveInt('--echo-misses'),
      3,
    )
    .option('--role <ROLE>', 'role to request from every switch: equal, master or slave')
    .option(
      '--generation-id <N>',
      'first generation id for master/slave role requests (default: clock-based)',
    )
    .option(
      '--miss-send-len <N>',
      'miss_send_len in SET_CONFIG (default 65535: whole packets, no switch buffers)',
      (v: string) => {
        const n = Number(v);
        if (!Number.isInteger(n) || n < 0 || n > 0xffff) throw new InvalidArgumentError('0..65535');
        return n;
      },
    )
    .addHelpText(
      'after',
      `
Apps and their options:
  --app l2-learning                      a built-in app (src/apps/<name>.ts)
  --app ./apps/mine.ts                   a module whose default export (or export "app") is an App
  --app l2-learning:idleTimeout=30,priority=2
  --app-option idleTimeout=30            for every app
  --app-option l2-learning:idleTimeout=30  for one app
Values are JSON when they parse (30 -> number, true -> boolean), text otherwise.`,
    )
    .action(async (o: CliOptions & MigrationCliOptions) => {
      setLogLevel(o.logLevel);
      const log = logger('controller');
      if (o.role !== undefined && !['equal', 'master', 'slave'].includes(o.role)) {
        throw new Error(`--role must be equal, master or slave (got "${o.role}")`);
      }
      let generationId: bigint | undefined;
      if (o.generationId !== undefined) {
        if (!/^\d+$/.test(o.generationId)) throw new Error('--generation-id must be a non-negative integer');
        generationId = BigInt(o.generationId);
      }
      const apps = applyAppOptions(o.app.map(parseAppSpec), o.appOption);
      if (apps.length === 0) log.warn('no --app given: switches will connect but nothing will program them');
      const controllerOptions: ControllerOptions = {
        listen: o.listen.length > 0 ? o.listen.map(parseListenAddress) : [DEFAULT_LISTEN],
        echoIntervalMs: o.echoIntervalS * 1000,
        echoMisses: o.echoMisses,
      };
      if (o.role) controllerOptions.role = o.role;
      if (generationId !== undefined) controllerOptions.generationId = generationId;
      if (o.missSendLen !== undefined) controllerOptions.missSendLen = o.missSendLen;

      // Extension point: `--migration PLAN` adds the migration shim as a layer here.
      const layers: ApiLayer[] = migrationLayers(o);
      const running = await runController({ apps, controller: controllerOptions, layers });
      log.info(
        {
          apps: running.apps.map((a) => a.name),
          listen: running.runtime.addresses().map(formatListenAddress),
        },
        'controller running (Ctrl-C to stop)',
      );
      await waitForSignal(async (signal) => {
        log.info({ signal }, 'shutting down');
        await running.stop('controller shutting down');
      });
      log.info('controller stopped');
      process.exit(0);
    });
}

/** Resolve after the first SIGINT/SIGTERM and its cleanup; a second signal exits at once (status 1). */
function waitForSignal(cleanup: (signal: string) => Promise<void>): Promise<void> {
  return new Promise((resolve) => {
    let stopping = false;
    const handler = (signal: NodeJS.Signals) => {
      if (stopping) {
        process.stderr.write(`vnm: second ${signal}: exiting without cleanup\n`);
        process.exit(1);
      }
      stopping = true;
      cleanup(signal).then(resolve, (err: unknown) => {
        process.stderr.write(`vnm: shutdown failed: ${err instanceof Error ? err.message : String(err)}\n`);
        process.exit(1);
      });
    };
    process.on('SIGINT', handler);
    process.on('SIGTERM', handler);
  });
}
