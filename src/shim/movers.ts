// Host movers: what actually moves a host from the old network to the new one (or back) while the shim
// keeps both places delivered (make-before-break). Pluggable, chosen by the plan's `mover`:
//
//   testbed   the test bed moves the host (its programmatic moveHost, injected by the CLI layer so the
//             shim does not import the test bed)
//   command   runs an operator's command template (e.g. a hypervisor's migrate) with {host}, {to}, {mac},
//             {ip}, {switch}, {port}, {from}, {fromDpid}, {toDpid} filled in (shell-quoted), a timeout,
//             and its output captured in the logs
//   external  moves nothing: waits until the shim sees the host at its new location (its gratuitous ARP
//             or first packet, reported by the shim's table-0 notification) or times out
//
// Every mover returns wall-clock timestamps (ms since the epoch): when it started, the blackout window
// when it knows it, and when the host was at its destination.

import { spawn } from 'node:child_process';
import type { Logger } from '../util/log.ts';
import type { Side } from './model.ts';
import { formatDpid, type MOVER_PLACEHOLDERS, type MoverPlan, type PlanHost } from './plan.ts';

export interface MoveRequest {
  host: PlanHost;
  from: Side;
  to: Side;
  /** Blackout the mover should apply (testbed) or expect. */
  blackoutMs: number;
  fromDpid: bigint;
  toDpid: bigint;
}

export interface MoveTimes {
  startedAt: number;
  /** The host's link went down / came back (when the mover knows). */
  blackoutStart?: number;
  blackoutEnd?: number;
  /** The host is at its destination (mover finished, or the host was seen there). */
  doneAt: number;
  /** The host was seen at its destination by the shim (external mover). */
  arrivedAt?: number;
  /** The command's output (command mover), truncated. */
  output?: string;
}

export interface MoveOptions {
  signal?: AbortSignal;
}

export interface HostMover {
  readonly kind: MoverPlan['kind'];
  move(req: MoveRequest, opts?: MoveOptions): Promise<MoveTimes>;
  /** Where the host is now, when the mover can tell (used to resume an interrupted move). */
  locate?(host: string): Promise<Side | undefined>;
}

export class MoverError extends Error {
  override readonly name = 'MoverError';
  constructor(
    message: string,
    readonly output?: string,
  ) {
    super(message);
  }
}

// ---------------------------------------------------------------- testbed

/** What the test bed's moveHost returns (the fields the mover uses). */
export interface TestbedMoveResult {
  blackoutStart?: number;
  blackoutEnd?: number;
  moveStartedAt: number;
  movedAt: number;
  announcedAt?: number;
}

export interface TestbedMoverDeps {
  /** The test bed's programmatic move (Testbed.moveHost), injected by the caller. */
  move(host: string, to: Side, opts: { blackoutMs: number }): Promise<TestbedMoveResult>;
  /** The host's current network according to the test bed. */
  locate?(host: string): Promise<Side | undefined> | Side | undefined;
  now?: () => number;
}

export function createTestbedMover(deps: TestbedMoverDeps): HostMover {
  const now = deps.now ?? Date.now;
  const mover: HostMover = {
    kind: 'testbed',
    async move(req) {
      const startedAt = now();
      const r = await deps.move(req.host.name, req.to, { blackoutMs: req.blackoutMs });
      const t: MoveTimes = { startedAt, doneAt: r.announcedAt ?? r.movedAt };
      if (r.blackoutStart !== undefined) t.blackoutStart = r.blackoutStart;
      if (r.blackoutEnd !== undefined) t.blackoutEnd = r.blackoutEnd;
      if (t.blackoutStart === undefined) {
        // Without a blackout the host is unreachable only while its port is re-plugged.
        t.blackoutStart = r.moveStartedAt;
        t.blackoutEnd = r.movedAt;
      }
      t.doneAt = Math.max(t.doneAt, now());
      return t;
    },
  };
  if (deps.locate) {
    const locate = deps.locate;
    mover.locate = async (host) => locate(host);
  }
  return mover;
}

// ---------------------------------------------------------------- command

/** POSIX shell single-quoting. */
export function shellQuote(s: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(s) ? s : `'${s.replaceAll("'", `'"'"'`)}'`;
}

export function placeholderValues(req: MoveRequest): Record<(typeof MOVER_PLACEHOLDERS)[number], string> {
  return {
    host: req.host.name,
    mac: req.host.mac,
    ip: (req.host.ip ?? '').replace(/\/\d+$/, ''),
    switch: req.host.switch,
    port: String(req.host.port),
    from: req.from,
    to: req.to,
    fromDpid: formatDpid(req.fromDpid),
    toDpid: formatDpid(req.toDpid),
  };
}

/** Fill a command template's {placeholders} with shell-quoted values; unknown ones are an error. */
export function renderCommand(template: string, req: MoveRequest): string {
  const values = placeholderValues(req) as Record<string, string>;
  return template.replace(/\{(\w+)\}/g, (_m, name: string) => {
    const v = values[name];
    if (v === undefined) throw new MoverError(`unknown placeholder {${name}} in mover command`);
    return shellQuote(v);
  });
}

export interface CommandMoverOptions {
  command: string;
  timeoutMs: number;
  log?: Logger;
  /** Shell to run the command with (default /bin/sh). */
  shell?: string;
  /** Bytes of output kept (default 64 KiB). */
  maxOutput?: number;
  now?: () => number;
}

export function createCommandMover(opts: CommandMoverOptions): HostMover {
  const now = opts.now ?? Date.now;
  const maxOutput = opts.maxOutput ?? 64 * 1024;
  return {
    kind: 'command',
    move(req, mopts = {}) {
      const cmd = renderCommand(opts.command, req);
      const startedAt = now();
      const env = { ...process.env };
      for (const [k, v] of Object.entries(placeholderValues(req))) env[`VNM_${k.toUpperCase()}`] = v;
      env.VNM_BLACKOUT_MS = String(req.blackoutMs);
      opts.log?.info({ host: req.host.name, to: req.to, command: cmd }, 'mover command started');
      return new Promise<MoveTimes>((resolve, reject) => {
        const child = spawn(opts.shell ?? '/bin/sh', ['-c', cmd], {
          env,
          stdio: ['ignore', 'pipe', 'pipe'],
          detached: true,
        });
        let output = '';
        let settled = false;
        const take = (stream: 'stdout' | 'stderr') => (b: Buffer) => {
          const text = b.toString();
          if (output.length < maxOutput) output += text.slice(0, maxOutput - output.length);
          for (const line of text.split('\n')) {
            if (line.trim() !== '') opts.log?.info({ host: req.host.name, stream }, line);
          }
        };
        child.stdout.on('data', take('stdout'));
        child.stderr.on('data', take('stderr'));
        const kill = () => {
          try {
            if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
          } catch {}
        };
        const finish = (err: MoverError | undefined) => {
          if (settled) return;
          settled = true;
          clearTimeout(timer);
          mopts.signal?.removeEventListener('abort', onAbort);
          if (err) {
            opts.log?.warn({ host: req.host.name, err: err.message }, 'mover command failed');
            reject(err);
          } else {
            const doneAt = now();
            opts.log?.info({ host: req.host.name, ms: doneAt - startedAt }, 'mover command done');
            resolve({ startedAt, doneAt, output });
          }
        };
        const timer = setTimeout(() => {
          kill();
          finish(new MoverError(`mover command timed out after ${opts.timeoutMs} ms: ${cmd}`, output));
        }, opts.timeoutMs);
        const onAbort = () => {
          kill();
          finish(new MoverError(`mover command cancelled: ${cmd}`, output));
        };
        if (mopts.signal?.aborted) onAbort();
        else mopts.signal?.addEventListener('abort', onAbort, { once: true });
        child.on('error', (e) => finish(new MoverError(`mover command could not run: ${e.message}`, output)));
        child.on('close', (code, signal) => {
          if (code === 0) finish(undefined);
          else
            finish(
              new MoverError(
                `mover command ${signal ? `killed by ${signal}` : `exited with status ${code}`}: ${cmd}${
                  output.trim() ? `\n${output.trim().split('\n').slice(-5).join('\n')}` : ''
                }`,
                output,
              ),
            );
        });
      });
    },
  };
}

// ---------------------------------------------------------------- external

/** The shim's side: resolves with the time the host was seen at `side` (its first packet there). */
export interface ArrivalSource {
  waitForArrival(
    host: string,
    side: Side,
    opts: { timeoutMs: number; signal?: AbortSignal },
  ): Promise<number>;
}

export interface ExternalMoverOptions {
  timeoutMs: number;
  arrivals: ArrivalSource;
  log?: Logger;
  now?: () => number;
}

export function createExternalMover(opts: ExternalMoverOptions): HostMover {
  const now = opts.now ?? Date.now;
  return {
    kind: 'external',
    async move(req, mopts = {}) {
      const startedAt = now();
      opts.log?.info(
        { host: req.host.name, to: req.to, timeoutMs: opts.timeoutMs },
        'waiting for the host to show up at its new location',
      );
      const w: { timeoutMs: number; signal?: AbortSignal } = { timeoutMs: opts.timeoutMs };
      if (mopts.signal) w.signal = mopts.signal;
      const arrivedAt = await opts.arrivals.waitForArrival(req.host.name, req.to, w);
      return { startedAt, arrivedAt, doneAt: Math.max(arrivedAt, startedAt) };
    },
  };
}

/**
 * A simple ArrivalSource: the shim calls `arrived(host, side, at)` when it sees a host; waiters resolve,
 * or reject after their timeout. An arrival seen before anyone waits is remembered (the host may announce
 * itself before the mover starts waiting).
 */
export class ArrivalBoard implements ArrivalSource {
  private readonly waiters = new Map<string, { side: Side; resolve: (at: number) => void }[]>();
  private readonly seen = new Map<string, { side: Side; at: number }>();

  arrived(host: string, side: Side, at: number): void {
    const list = this.waiters.get(host) ?? [];
    const match = list.filter((w) => w.side === side);
    if (match.length === 0) {
      this.seen.set(host, { side, at });
      return;
    }
    this.waiters.set(
      host,
      list.filter((w) => w.side !== side),
    );
    for (const w of match) w.resolve(at);
  }

  /** Forget what was seen of a host (call when a new move of it starts). */
  reset(host: string): void {
    this.seen.delete(host);
  }

  waitForArrival(
    host: string,
    side: Side,
    opts: { timeoutMs: number; signal?: AbortSignal },
  ): Promise<number> {
    const s = this.seen.get(host);
    if (s && s.side === side) {
      this.seen.delete(host);
      return Promise.resolve(s.at);
    }
    return new Promise<number>((resolve, reject) => {
      const entry = {
        side,
        resolve: (at: number) => {
          clearTimeout(timer);
          opts.signal?.removeEventListener('abort', onAbort);
          resolve(at);
        },
      };
      const drop = () => {
        const list = this.waiters.get(host) ?? [];
        this.waiters.set(
          host,
          list.filter((w) => w !== entry),
        );
      };
      const timer = setTimeout(() => {
        drop();
        reject(
          new MoverError(`host ${host} was not seen in the ${side} network within ${opts.timeoutMs} ms`),
        );
      }, opts.timeoutMs);
      const onAbort = () => {
        clearTimeout(timer);
        drop();
        reject(new MoverError(`waiting for host ${host} cancelled`));
      };
      if (opts.signal?.aborted) return onAbort();
      opts.signal?.addEventListener('abort', onAbort, { once: true });
      const list = this.waiters.get(host) ?? [];
      list.push(entry);
      this.waiters.set(host, list);
    });
  }
}

// ---------------------------------------------------------------- factory

export interface MoverDeps {
  testbed?: TestbedMoverDeps;
  arrivals?: ArrivalSource;
  log?: Logger;
}

/** The mover a plan asks for, built from what the caller provides. */
export function createMover(plan: MoverPlan, deps: MoverDeps = {}): HostMover {
  switch (plan.kind) {
    case 'testbed':
      if (!deps.testbed)
        throw new MoverError(
          "the plan's mover is 'testbed' but no test bed was given (run the controller on a test bed, or use mover 'command' or 'external')",
        );
      return createTestbedMover(deps.testbed);
    case 'command': {
      const o: CommandMoverOptions = { command: plan.command, timeoutMs: plan.timeoutMs };
      if (deps.log) o.log = deps.log;
      return createCommandMover(o);
    }
    case 'external': {
      if (!deps.arrivals) throw new MoverError("the plan's mover is 'external' but nothing reports arrivals");
      const o: ExternalMoverOptions = { timeoutMs: plan.timeoutMs, arrivals: deps.arrivals };
      if (deps.log) o.log = deps.log;
      return createExternalMover(o);
    }
  }
}
