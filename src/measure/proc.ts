// Child processes of the measurement layer: started inside a network namespace, read line by line with
// arrival times, stopped with a signal ladder, and never leaked.
//
// Three guards against leaks:
//  1. every process is started through `setpriv --pdeathsig TERM`, so the kernel signals it when this
//     Node process dies, even by SIGKILL;
//  2. a process.on('exit') hook SIGKILLs whatever is still registered (normal exit, process.exit());
//  3. processes run in their own process group (detached), so a terminal's Ctrl-C reaches only vnm, which
//     stops them in the right order (client before server) and still prints what was measured.
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { logger } from '../util/log.ts';
import type { EpochMs, ExitInfo } from './types.ts';

const log = logger('measure');

export type LineListener = (line: string, at: EpochMs) => void;

export interface SpawnOptions {
  /** Network namespace to run in (`ip netns exec NS`); null/undefined: the current one. */
  netns?: string | null;
  /** Force line-buffered stdout with `stdbuf -oL` (for tools that use stdio and would buffer a pipe). */
  lineBuffered?: boolean;
  /** Keep the whole stdout/stderr text (for tools whose output is parsed at the end, e.g. JSON). */
  keepOutput?: boolean;
  /** Short name for logs. */
  name?: string;
}

export interface StopOptions {
  /** First signal (default SIGINT: the tools print their statistics on it). */
  signal?: NodeJS.Signals;
  /** How long to wait after the first signal before SIGTERM (default 3000 ms). */
  graceMs?: number;
  /** How long to wait after SIGTERM before SIGKILL (default 1000 ms). */
  termMs?: number;
}

const live = new Set<ManagedProcess>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => killAllMeasureProcesses());
}

/** SIGKILLs every process the measurement layer still runs (synchronous; safe in exit and signal handlers). */
export function killAllMeasureProcesses(): number {
  let n = 0;
  for (const p of live) {
    p.kill();
    n++;
  }
  return n;
}

/** Number of processes the measurement layer currently runs (for tests and leak checks). */
export function liveMeasureProcessCount(): number {
  return live.size;
}

/** The full command line used to run `argv` with the options (exported for tests and logs). */
export function wrapCommand(argv: readonly string[], opts: SpawnOptions = {}): string[] {
  const out: string[] = [];
  if (opts.netns) out.push('ip', 'netns', 'exec', opts.netns);
  out.push('setpriv', '--pdeathsig', 'TERM', '--');
  if (opts.lineBuffered) out.push('stdbuf', '-oL');
  out.push(...argv);
  return out;
}

const MAX_KEPT = 64 * 1024 * 1024;

export class ManagedProcess {
  readonly argv: string[];
  readonly name: string;
  readonly startedAt: EpochMs;
  readonly exited: Promise<ExitInfo>;
  private readonly child: ChildProcess;
  private readonly listeners: Record<'out' | 'err', LineListener[]> = { out: [], err: [] };
  private readonly partial: Record<'out' | 'err', string> = { out: '', err: '' };
  private readonly keep: boolean;
  private stdoutChunks: string[] = [];
  private stderrChunks: string[] = [];
  private kept = 0;
  private exitInfo: ExitInfo | null = null;
  private signalled: NodeJS.Signals | null = null;

  constructor(argv: readonly string[], opts: SpawnOptions = {}) {
    installExitHook();
    this.argv = wrapCommand(argv, opts);
    this.name = opts.name ?? argv[0] ?? 'process';
    this.keep = opts.keepOutput ?? false;
    this.startedAt = Date.now();
    const [cmd, ...args] = this.argv;
    this.child = spawn(cmd!, args, { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    live.add(this);
    log.debug({ name: this.name, argv: this.argv, pid: this.child.pid }, 'spawned');
    this.exited = new Promise<ExitInfo>((resolve) => {
      let spawnError: string | undefined;
      this.child.on('error', (err) => {
        spawnError = err.message;
        // 'close' may not follow an 'error' from spawn itself; make sure we resolve.
        if (this.child.pid === undefined) finish(null, null);
      });
      const finish = (code: number | null, signal: NodeJS.Signals | null) => {
        if (this.exitInfo) return;
        this.flushPartial();
        this.exitInfo = { code, signal, at: Date.now(), ...(spawnError ? { spawnError } : {}) };
        live.delete(this);
        log.debug({ name: this.name, pid: this.child.pid, code, signal }, 'exited');
        resolve(this.exitInfo);
      };
      this.child.on('close', (code, signal) => finish(code, signal));
    });
    this.attach(this.child.stdout!, 'out');
    this.attach(this.child.stderr!, 'err');
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  get running(): boolean {
    return this.exitInfo === null;
  }

  /** The signal we sent first, if any (to tell "stopped by us" from "ended by itself"). */
  get stoppedWith(): NodeJS.Signals | null {
    return this.signalled;
  }

  get stdout(): string {
    return this.stdoutChunks.join('');
  }

  get stderr(): string {
    return this.stderrChunks.join('');
  }

  onStdoutLine(cb: LineListener): void {
    this.listeners.out.push(cb);
  }

  onStderrLine(cb: LineListener): void {
    this.listeners.err.push(cb);
  }

  /** Sends a signal to the process group; false when already gone. */
  signal(sig: NodeJS.Signals): boolean {
    if (!this.running || this.child.pid === undefined) return false;
    this.signalled ??= sig;
    try {
      process.kill(-this.child.pid, sig);
      return true;
    } catch {
      try {
        process.kill(this.child.pid, sig);
        return true;
      } catch {
        return false;
      }
    }
  }

  /** Signal ladder: `signal` (SIGINT), then SIGTERM, then SIGKILL; resolves when the process is gone. */
  async stop(opts: StopOptions = {}): Promise<ExitInfo> {
    if (!this.running) return this.exited;
    const first = opts.signal ?? 'SIGINT';
    this.signal(first);
    if (await this.waitFor(opts.graceMs ?? 3000)) return this.exited;
    log.warn({ name: this.name, pid: this.pid }, `no exit after ${first}; sending SIGTERM`);
    this.signal('SIGTERM');
    if (await this.waitFor(opts.termMs ?? 1000)) return this.exited;
    log.warn({ name: this.name, pid: this.pid }, 'no exit after SIGTERM; sending SIGKILL');
    this.kill();
    return this.exited;
  }

  /** SIGKILL, synchronous. */
  kill(): void {
    this.signal('SIGKILL');
  }

  /** True if the process ended within `ms`. */
  async waitFor(ms: number): Promise<boolean> {
    if (!this.running) return true;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<false>((resolve) => {
      timer = setTimeout(() => resolve(false), ms);
    });
    const done = await Promise.race([this.exited.then(() => true as const), timeout]);
    clearTimeout(timer);
    return done;
  }

  private attach(stream: NodeJS.ReadableStream, which: 'out' | 'err'): void {
    stream.setEncoding('utf8');
    stream.on('data', (chunk: string) => {
      const at = Date.now();
      if (this.keep && this.kept < MAX_KEPT) {
        (which === 'out' ? this.stdoutChunks : this.stderrChunks).push(chunk);
        this.kept += chunk.length;
      }
      const text = this.partial[which] + chunk;
      const lines = text.split('\n');
      this.partial[which] = lines.pop() ?? '';
      for (const line of lines) this.emit(which, line, at);
    });
  }

  private emit(which: 'out' | 'err', line: string, at: EpochMs): void {
    const l = line.endsWith('\r') ? line.slice(0, -1) : line;
    for (const cb of this.listeners[which]) {
      try {
        cb(l, at);
      } catch (err) {
        log.error({ err, name: this.name }, 'line listener failed');
      }
    }
  }

  private flushPartial(): void {
    const at = Date.now();
    for (const which of ['out', 'err'] as const) {
      if (this.partial[which]) {
        const line = this.partial[which];
        this.partial[which] = '';
        this.emit(which, line, at);
      }
    }
  }
}

/** Starts `argv` (optionally inside a namespace) as a managed process. */
export function spawnManaged(argv: readonly string[], opts: SpawnOptions = {}): ManagedProcess {
  return new ManagedProcess(argv, opts);
}

export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a short command to completion (no namespace wrapping, no registry). */
export function runCommand(argv: readonly string[], timeoutMs = 10_000): Promise<RunResult> {
  const [cmd, ...args] = argv;
  return new Promise((resolve) => {
    execFile(cmd!, args, { timeout: timeoutMs, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
      resolve({
        code,
        stdout: String(stdout),
        stderr: String(stderr || (err && !stderr ? err.message : '')),
      });
    });
  });
}

/** Resolves after `ms`. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** The first non-empty line of a tool's stderr (for error messages). */
export function firstLine(text: string): string {
  return (
    text
      .split('\n')
      .map((l) => l.trim())
      .find((l) => l.length > 0) ?? ''
  );
}
