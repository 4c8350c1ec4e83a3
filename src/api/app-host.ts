// Loading and running controller apps against any ControllerApi (the runtime's or the shim's).
//
// An app is a module whose default export (or named export `app`) is an App, or a function returning
// one (a factory, called with no arguments). Built-in apps are found by name in the apps directory
// (`l2-learning` -> src/apps/l2-learning.ts or src/apps/l2-learning/index.ts); anything that looks like
// a path (contains '/', or ends in .ts/.js/.mjs) is a user's module.
//
// Options: `NAME:key=value,key2=value2` in the app spec, and/or `--app-option [APP:]key=value` lines
// (without `APP:` they go to every app). Values are parsed as JSON when they parse (numbers, booleans,
// null, quoted strings, arrays), otherwise kept as text: `idleTimeout=10` is the number 10,
// `mode=fast` the string "fast".
//
// Each app gets its own view of the ControllerApi: its subscriptions are removed when it stops, and
// switches that are already up when it starts are announced to it (switchUp) right after start().

import { existsSync, readdirSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Logger } from '../util/log.ts';
import type { App, ControllerApi, ControllerEventName, Datapath, Listener, SwitchUpEvent } from './types.ts';

export interface AppSpec {
  /** Built-in app name or module path, as given. */
  ref: string;
  options: Record<string, unknown>;
}

export class AppLoadError extends Error {
  override readonly name = 'AppLoadError';
}

/** "value" text -> JSON value when it parses, else the text itself. */
export function parseOptionValue(text: string): unknown {
  const t = text.trim();
  if (t === '') return '';
  try {
    return JSON.parse(t);
  } catch {
    return t;
  }
}

/** "key=value" -> [key, parsed value]. */
export function parseKeyValue(text: string): [string, unknown] {
  const eq = text.indexOf('=');
  if (eq <= 0) throw new AppLoadError(`app option "${text}" must look like key=value`);
  return [text.slice(0, eq).trim(), parseOptionValue(text.slice(eq + 1))];
}

/** "NAME", "PATH", "NAME:k=v,k2=v2" -> AppSpec. */
export function parseAppSpec(text: string): AppSpec {
  const m = /^(.+?):([^:=,/]+=.*)$/.exec(text);
  if (!m) return { ref: text.trim(), options: {} };
  const options: Record<string, unknown> = {};
  for (const part of m[2]!.split(',')) {
    if (part.trim() === '') continue;
    const [k, v] = parseKeyValue(part);
    options[k] = v;
  }
  return { ref: m[1]!.trim(), options };
}

/**
 * Apply `--app-option` lines to specs: "key=value" goes to every app, "APP:key=value" only to the app
 * whose ref (or loaded name) is APP. Options in the spec itself win over global ones.
 */
export function applyAppOptions(specs: AppSpec[], lines: string[]): AppSpec[] {
  const global: Record<string, unknown> = {};
  const perApp = new Map<string, Record<string, unknown>>();
  for (const line of lines) {
    const m = /^([^=:]+):(.+)$/.exec(line);
    if (m && m[2]!.includes('=')) {
      const [k, v] = parseKeyValue(m[2]!);
      const o = perApp.get(m[1]!.trim()) ?? {};
      o[k] = v;
      perApp.set(m[1]!.trim(), o);
    } else {
      const [k, v] = parseKeyValue(line);
      global[k] = v;
    }
  }
  for (const name of perApp.keys()) {
    if (!specs.some((s) => s.ref === name)) {
      throw new AppLoadError(`--app-option for "${name}", but no --app ${name} was given`);
    }
  }
  return specs.map((s) => ({ ref: s.ref, options: { ...global, ...perApp.get(s.ref), ...s.options } }));
}

export function looksLikePath(ref: string): boolean {
  return ref.includes('/') || /\.(ts|js|mjs|cjs|mts)$/.test(ref);
}

/** Names of the built-in apps found in `appsDir`. */
export function builtinAppNames(appsDir: string): string[] {
  if (!existsSync(appsDir)) return [];
  const names: string[] = [];
  for (const e of readdirSync(appsDir, { withFileTypes: true })) {
    if (e.isFile() && /\.ts$/.test(e.name) && !e.name.endsWith('.d.ts') && !e.name.startsWith('_')) {
      names.push(e.name.replace(/\.ts$/, ''));
    } else if (e.isDirectory() && existsSync(join(appsDir, e.name, 'index.ts'))) {
      names.push(e.name);
    }
  }
  return names.sort();
}

/** Resolve a ref to a module file. */
export function resolveAppModule(ref: string, appsDir: string, cwd = process.cwd()): string {
  if (looksLikePath(ref)) {
    const p = isAbsolute(ref) ? ref : resolve(cwd, ref);
    if (!existsSync(p)) throw new AppLoadError(`app module ${p} does not exist`);
    return p;
  }
  if (!/^[A-Za-z0-9][A-Za-z0-9_-]*$/.test(ref)) throw new AppLoadError(`bad app name "${ref}"`);
  for (const candidate of [join(appsDir, `${ref}.ts`), join(appsDir, ref, 'index.ts')]) {
    if (existsSync(candidate)) return candidate;
  }
  const known = builtinAppNames(appsDir);
  throw new AppLoadError(
    `no built-in app "${ref}" (built-in apps: ${known.length > 0 ? known.join(', ') : 'none found'} in ${appsDir})`,
  );
}

function isApp(x: unknown): x is App {
  return (
    typeof x === 'object' &&
    x !== null &&
    typeof (x as App).name === 'string' &&
    typeof (x as App).start === 'function'
  );
}

/** Import an app module and return its App. */
export async function loadApp(ref: string, appsDir: string): Promise<App> {
  const file = resolveAppModule(ref, appsDir);
  let mod: Record<string, unknown>;
  try {
    mod = (await import(pathToFileURL(file).href)) as Record<string, unknown>;
  } catch (err) {
    throw new AppLoadError(
      `cannot load app ${ref} (${file}): ${err instanceof Error ? err.message : String(err)}`,
    );
  }
  for (const candidate of [mod.default, mod.app]) {
    if (isApp(candidate)) return candidate;
    if (typeof candidate === 'function') {
      const made = (candidate as () => unknown)();
      if (isApp(made)) return made;
    }
  }
  throw new AppLoadError(
    `${file} does not export an app: expected a default export (or export "app") with name and start()`,
  );
}

/** A per-app view of a ControllerApi: tracks subscriptions and replays switchUp for switches already up. */
class ScopedApi implements ControllerApi {
  private readonly offs: (() => void)[] = [];
  private readonly upListeners: Listener<'switchUp'>[] = [];
  /** Datapaths this app has been told about (live or replayed). */
  private readonly announced = new WeakSet<Datapath>();

  constructor(private readonly below: ControllerApi) {
    // Track announcements even if the app subscribes to switchUp late.
    this.offs.push(
      below.on('switchUp', ({ dp }) => {
        this.announced.add(dp);
      }),
    );
  }

  datapaths(): Datapath[] {
    return this.below.datapaths();
  }
  datapath(id: bigint): Datapath | undefined {
    return this.below.datapath(id);
  }
  on<K extends ControllerEventName>(event: K, listener: Listener<K>): () => void {
    const off = this.below.on(event, listener);
    if (event === 'switchUp') this.upListeners.push(listener as Listener<'switchUp'>);
    this.offs.push(off);
    return off;
  }
  logger(component: string): Logger {
    return this.below.logger(component);
  }

  /** Announce switches that came up before the app subscribed (each once). */
  replaySwitchUp(): Promise<unknown>[] {
    const out: Promise<unknown>[] = [];
    for (const dp of this.below.datapaths()) {
      if (this.announced.has(dp) || !dp.connected) continue;
      this.announced.add(dp);
      const ev: SwitchUpEvent = { dp };
      for (const l of this.upListeners) out.push(Promise.resolve().then(() => l(ev)));
    }
    return out;
  }

  dispose(): void {
    for (const off of this.offs.splice(0)) off();
  }
}

interface Running {
  app: App;
  scope: ScopedApi;
}

/** Starts apps on one ControllerApi and stops them in reverse order. */
export class AppHost {
  private readonly running: Running[] = [];

  constructor(
    private readonly api: ControllerApi,
    private readonly log: Logger,
  ) {}

  async start(app: App, options: Record<string, unknown> = {}): Promise<void> {
    const scope = new ScopedApi(this.api);
    try {
      await app.start(scope, options);
    } catch (err) {
      scope.dispose();
      throw new AppLoadError(
        `app ${app.name} failed to start: ${err instanceof Error ? err.message : String(err)}`,
      );
    }
    this.running.push({ app, scope });
    this.log.info({ app: app.name, options }, 'app started');
    const replays = await Promise.allSettled(scope.replaySwitchUp());
    for (const r of replays) {
      if (r.status === 'rejected') {
        this.log.error({ app: app.name, err: String(r.reason) }, 'app switchUp listener failed');
      }
    }
  }

  get apps(): App[] {
    return this.running.map((r) => r.app);
  }

  /** Stop every app (last started first); errors are logged, not thrown. */
  async stopAll(): Promise<void> {
    for (const { app, scope } of this.running.splice(0).reverse()) {
      try {
        await app.stop?.();
        this.log.info({ app: app.name }, 'app stopped');
      } catch (err) {
        this.log.error(
          { app: app.name, err: err instanceof Error ? err.message : String(err) },
          'app stop failed',
        );
      } finally {
        scope.dispose();
      }
    }
  }
}
