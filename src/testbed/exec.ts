// Running commands: in the root namespace, in a network namespace, with captured output and a timeout.
// Used by the test bed itself and by the layers that drive traffic in its hosts (src/measure).
import { type ChildProcess, type SpawnOptions, spawn } from 'node:child_process';

export interface RunOptions {
  /** Written to the command's stdin (then closed). */
  input?: string;
  /** Kill the command (SIGKILL) after this long; default 30 s. 0 = no limit. */
  timeoutMs?: number;
  /** Extra environment variables (merged over process.env). */
  env?: Record<string, string | undefined>;
  /** Throw a CommandError when the command does not exit with status 0 (default true). */
  check?: boolean;
  cwd?: string;
  /** Stop the command (SIGTERM) when this signal aborts. */
  signal?: AbortSignal;
}

export interface RunResult {
  argv: string[];
  /** Exit status, or null when killed by a signal. */
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
  /** Wall-clock start and end, ms since the epoch. */
  startedAt: number;
  endedAt: number;
}

export function shellQuote(arg: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replace(/'/g, `'\\''`)}'`;
}

export function formatArgv(argv: readonly string[]): string {
  return argv.map(shellQuote).join(' ');
}

/** A command failed (non-zero exit, signal, timeout, or could not be started). */
export class CommandError extends Error {
  readonly result: RunResult;
  constructor(result: RunResult, cause?: unknown) {
    const how = result.timedOut
      ? 'timed out'
      : result.signal
        ? `was killed by ${result.signal}`
        : result.code === null
          ? 'could not be started'
          : `exited with status ${result.code}`;
    const detail = (result.stderr.trim() || result.stdout.trim()).split('\n').slice(-6).join('\n');
    super(
      `command ${how}: ${formatArgv(result.argv)}${detail ? `\n${detail}` : ''}`,
      cause ? { cause } : undefined,
    );
    this.name = 'CommandError';
    this.result = result;
  }
}

/** Runs argv (no shell) and collects its output. */
export function run(argv: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
  const { input, timeoutMs = 30_000, env, check = true, cwd } = opts;
  const startedAt = Date.now();
  return new Promise((resolve, reject) => {
    const result: RunResult = {
      argv: [...argv],
      code: null,
      signal: null,
      stdout: '',
      stderr: '',
      timedOut: false,
      startedAt,
      endedAt: startedAt,
    };
    let child: ChildProcess;
    try {
      child = spawn(argv[0]!, argv.slice(1), {
        stdio: [input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
        env: env ? { ...process.env, ...env } : process.env,
        cwd,
      });
    } catch (err) {
      result.endedAt = Date.now();
      reject(new CommandError(result, err));
      return;
    }
    const out: Buffer[] = [];
    const errOut: Buffer[] = [];
    child.stdout?.on('data', (b: Buffer) => out.push(b));
    child.stderr?.on('data', (b: Buffer) => errOut.push(b));
    let timer: NodeJS.Timeout | undefined;
    if (timeoutMs > 0) {
      timer = setTimeout(() => {
        result.timedOut = true;
        child.kill('SIGKILL');
      }, timeoutMs);
    }
    const onAbort = () => child.kill('SIGTERM');
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    let spawnError: Error | undefined;
    child.on('error', (err) => {
      spawnError = err;
    });
    if (input !== undefined) {
      child.stdin?.on('error', () => {});
      child.stdin?.end(input);
    }
    child.on('close', (code, signal) => {
      if (timer) clearTimeout(timer);
      opts.signal?.removeEventListener('abort', onAbort);
      result.code = code;
      result.signal = signal;
      result.stdout = Buffer.concat(out).toString('utf8');
      result.stderr = Buffer.concat(errOut).toString('utf8');
      result.endedAt = Date.now();
      if (spawnError) {
        if (!result.stderr) result.stderr = spawnError.message;
        reject(new CommandError(result, spawnError));
      } else if (check && (code !== 0 || result.timedOut)) reject(new CommandError(result));
      else resolve(result);
    });
  });
}

/** argv that runs `argv` inside network namespace `ns` (`ip netns exec NS ...`). */
export function inNamespace(ns: string, argv: readonly string[]): string[] {
  return ['ip', 'netns', 'exec', ns, ...argv];
}

/** Runs argv inside network namespace `ns` and collects its output (see run()). */
export function execInNamespace(
  ns: string,
  argv: readonly string[],
  opts: RunOptions = {},
): Promise<RunResult> {
  return run(inNamespace(ns, argv), opts);
}

/**
 * Starts a long-running process inside network namespace `ns`. `ip netns exec` replaces itself with the
 * command, so `child.pid` is the command's own pid. The test bed kills whatever still runs in its
 * namespaces when it is torn down.
 */
export function spawnInNamespace(ns: string, argv: readonly string[], opts: SpawnOptions = {}): ChildProcess {
  const full = inNamespace(ns, argv);
  return spawn(full[0]!, full.slice(1), { stdio: ['ignore', 'pipe', 'pipe'], ...opts });
}

/** Runs fn over items with at most `limit` in flight; resolves to the results in order. */
export async function mapLimit<T, R>(
  items: readonly T[],
  limit: number,
  fn: (item: T, i: number) => Promise<R>,
): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let nextIndex = 0;
  let failed: unknown;
  const worker = async () => {
    while (failed === undefined && nextIndex < items.length) {
      const i = nextIndex++;
      try {
        results[i] = await fn(items[i]!, i);
      } catch (err) {
        failed ??= err;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
  if (failed !== undefined) throw failed;
  return results;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
