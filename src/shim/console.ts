// The migration console: a local control API for a running shim, and its client.
//
// HTTP/1.1 over a unix socket in the run directory (default) or on loopback TCP. Every request must carry
// `Authorization: Bearer TOKEN`; the token is random, written to `console.token` (mode 0600) in the run
// directory, so only users who can read the run directory can drive the migration. Without it: 401.
// `console.json` in the run directory says where the console listens (and the controller's pid).
//
//   GET  /v1/status                      -> { ok, status }
//   POST /v1/prepare                     -> { ok, status } once prepared
//   POST /v1/hosts   { hosts, blackoutMs? } -> { ok, status } once every host moved
//   POST /v1/finalize                    -> { ok, status }
//   POST /v1/abort                       -> { ok, status }
//   GET  /v1/events                      -> a stream of JSON lines (ProgressEvent), until the client leaves
//
// Errors: { ok: false, error: { kind, message } } with 400 (bad request), 401 (no or wrong token), 404,
// 409 (not allowed now: wrong phase, or another operation running), 500.
//
// The server is written against MigrationDriver, which the ShimController implements; tests use a fake.

import { randomBytes, timingSafeEqual } from 'node:crypto';
import { chmodSync, existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import {
  createServer,
  request as httpRequest,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import { join } from 'node:path';
import type { Logger } from '../util/log.ts';
import type { Algorithm, HostLocation } from './model.ts';

export const CONSOLE_SOCKET = 'console.sock';
export const CONSOLE_TOKEN = 'console.token';
export const CONSOLE_INFO = 'console.json';
/** Where `vnm controller --migration` and `vnm migrate` meet unless told otherwise. */
export const DEFAULT_MIGRATION_RUN_DIR = join(process.env.VNM_RUN_DIR ?? '/run/vnm', 'migration');

// ---------------------------------------------------------------- what the console shows

/** idle: nothing prepared; prepared: tunnels up, no host moved; migrating: some hosts moved or moving. */
export type ConsolePhase = 'idle' | 'prepared' | 'migrating' | 'finalized';

export interface HostStatus {
  name: string;
  switch: string;
  port: number;
  location: HostLocation;
  /** The last move of this host (wall-clock ms). */
  lastMove?: {
    to: 'old' | 'new';
    startedAt: number;
    blackoutStart?: number;
    blackoutEnd?: number;
    doneAt?: number;
    error?: string;
  };
}

export interface StepStatus {
  id: number;
  kind: string;
  host?: string;
  status: 'intent' | 'done' | 'failed';
  startedAt: number;
  doneAt?: number;
  /** Physical messages the step sent (transitions). */
  messages?: number;
  flowMods?: number;
  error?: string;
}

export interface SwitchStatus {
  /** "s1/old", "s1/new", "T". */
  name: string;
  role: 'old' | 'new' | 'tunnel';
  dpid: string;
  connected: boolean;
  /** Rules and groups the shim says the switch holds now. */
  rules: number;
  appRules: number;
  groups: number;
  /** The largest number of rules it held at once (install before remove counts both). */
  maxRules: number;
}

/** Messages sent and time spent, per phase of the migration. */
export interface PhaseFigures {
  flowMods: number;
  groupMods: number;
  /** Port-mods, packet-outs and other messages. */
  otherMessages: number;
  barriers: number;
  /** Wall time spent in the phase's operations (ms). */
  ms: number;
}

export interface MigrationStatus {
  runDir: string;
  journal?: string;
  plan: { file?: string; hash: string };
  algorithm: Algorithm;
  phase: ConsolePhase;
  /** The operation running now (prepare, hosts, finalize, abort, resume), if any. */
  busy?: string;
  /** When the controller started, when the migration was prepared (ms since the epoch). */
  startedAt: number;
  preparedAt?: number;
  /** ms since prepare (or since start, before it). */
  elapsedMs: number;
  hosts: HostStatus[];
  steps: StepStatus[];
  switches: SwitchStatus[];
  /** prepare, moves, finalize, abort, reconcile (switches put back), app (the app's own commands). */
  phases: Record<string, PhaseFigures>;
  errors: { at: number; message: string }[];
}

export type ProgressEvent =
  | { type: 'operation'; op: string; status: 'start' | 'done' | 'failed'; at: number; error?: string }
  | { type: 'phase'; phase: ConsolePhase; at: number }
  | {
      type: 'step';
      kind: string;
      host?: string;
      status: 'start' | 'done' | 'failed';
      at: number;
      messages?: number;
      ms?: number;
      error?: string;
    }
  | {
      type: 'host';
      host: string;
      /** 1-based position in the current request, and its length. */
      index: number;
      total: number;
      state: 'moving' | 'moved' | 'failed';
      to: 'old' | 'new';
      at: number;
      error?: string;
    }
  | { type: 'rules'; installed: number; maxPerSwitch: number; at: number }
  | { type: 'log'; level: 'info' | 'warn' | 'error'; message: string; at: number };

export interface MoveHostsOptions {
  blackoutMs?: number;
}

/** What the console drives (the ShimController implements it). Methods resolve once the phase is done. */
export interface MigrationDriver {
  prepare(): Promise<MigrationStatus>;
  moveHosts(hosts: string[], opts?: MoveHostsOptions): Promise<MigrationStatus>;
  finalize(): Promise<MigrationStatus>;
  abort(): Promise<MigrationStatus>;
  status(): MigrationStatus;
  /** Progress events; returns an unsubscribe function. */
  subscribe(listener: (e: ProgressEvent) => void): () => void;
}

/** An operation refused in the current state: the console answers 409. */
export class ConflictError extends Error {
  override readonly name = 'ConflictError';
}

/** A malformed request: 400. */
export class BadRequestError extends Error {
  override readonly name = 'BadRequestError';
}

// ---------------------------------------------------------------- server

export type ConsoleListen = { kind: 'unix'; path: string } | { kind: 'tcp'; host: string; port: number };

export interface ConsoleInfo {
  pid: number;
  listen: ConsoleListen;
  tokenFile: string;
  startedAt: number;
}

export interface ConsoleServerOptions {
  runDir: string;
  driver: MigrationDriver;
  /** Default: unix socket console.sock in the run directory. */
  listen?: ConsoleListen;
  log?: Logger;
  /** A fixed token (tests); default 32 random bytes, hex. */
  token?: string;
  /** Seconds between keep-alive lines on event streams (default 15). */
  heartbeatS?: number;
}

function statusCodeOf(err: unknown): number {
  const name = err instanceof Error ? err.name : '';
  if (name === 'BadRequestError') return 400;
  if (name === 'ConflictError' || name === 'MigrationStateError') return 409;
  return 500;
}

function sendJson(res: ServerResponse, code: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(code, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

function readBody(req: IncomingMessage, limit = 1 << 20): Promise<unknown> {
  return new Promise((resolve, reject) => {
    let size = 0;
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > limit) {
        reject(new BadRequestError('request body too large'));
        req.destroy();
      } else chunks.push(c);
    });
    req.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8').trim();
      if (text === '') return resolve({});
      try {
        resolve(JSON.parse(text));
      } catch {
        reject(new BadRequestError('request body is not JSON'));
      }
    });
    req.on('error', reject);
  });
}

function parseHosts(body: unknown): { hosts: string[]; opts: MoveHostsOptions } {
  const b = body as { hosts?: unknown; blackoutMs?: unknown };
  if (!b || !Array.isArray(b.hosts) || b.hosts.length === 0 || !b.hosts.every((h) => typeof h === 'string'))
    throw new BadRequestError('body must be {"hosts": ["h1", ...]} with at least one host name');
  const opts: MoveHostsOptions = {};
  if (b.blackoutMs !== undefined) {
    if (typeof b.blackoutMs !== 'number' || !Number.isInteger(b.blackoutMs) || b.blackoutMs < 0)
      throw new BadRequestError('blackoutMs must be a non-negative integer');
    opts.blackoutMs = b.blackoutMs;
  }
  return { hosts: b.hosts as string[], opts };
}

export class ConsoleServer {
  readonly runDir: string;
  readonly tokenFile: string;
  readonly infoFile: string;
  private readonly token: Buffer;
  private readonly driver: MigrationDriver;
  private readonly log: Logger | undefined;
  private readonly heartbeatMs: number;
  private server: Server | undefined;
  private bound: ConsoleListen | undefined;
  private readonly streams = new Set<ServerResponse>();

  constructor(private readonly opts: ConsoleServerOptions) {
    this.runDir = opts.runDir;
    this.driver = opts.driver;
    this.log = opts.log;
    this.tokenFile = join(opts.runDir, CONSOLE_TOKEN);
    this.infoFile = join(opts.runDir, CONSOLE_INFO);
    this.token = Buffer.from(opts.token ?? randomBytes(32).toString('hex'));
    this.heartbeatMs = (opts.heartbeatS ?? 15) * 1000;
  }

  /** Where it listens (after start). */
  get address(): ConsoleListen {
    if (!this.bound) throw new Error('console not started');
    return this.bound;
  }

  async start(): Promise<ConsoleListen> {
    const listen = this.opts.listen ?? { kind: 'unix', path: join(this.runDir, CONSOLE_SOCKET) };
    if (listen.kind === 'unix') await removeStaleSocket(listen.path);
    // The token first, readable by the owner only (never world-readable, not even for a moment).
    rmSync(this.tokenFile, { force: true });
    writeFileSync(this.tokenFile, `${this.token.toString()}\n`, { mode: 0o600, flag: 'wx' });
    chmodSync(this.tokenFile, 0o600);
    const server = createServer((req, res) => {
      this.handle(req, res).catch((err: unknown) => {
        this.log?.error({ err: String(err) }, 'console request failed');
        if (!res.headersSent)
          sendJson(res, 500, { ok: false, error: { kind: 'Error', message: String(err) } });
        else res.end();
      });
    });
    server.headersTimeout = 10_000;
    server.requestTimeout = 0; // operations can take long; the client waits for them
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      const done = () => {
        server.off('error', reject);
        resolve();
      };
      if (listen.kind === 'unix') server.listen(listen.path, done);
      else server.listen(listen.port, listen.host, done);
    });
    this.server = server;
    if (listen.kind === 'unix') {
      chmodSync(listen.path, 0o600);
      this.bound = listen;
    } else {
      const a = server.address();
      this.bound = {
        kind: 'tcp',
        host: listen.host,
        port: a && typeof a === 'object' ? a.port : listen.port,
      };
    }
    const info: ConsoleInfo = {
      pid: process.pid,
      listen: this.bound,
      tokenFile: this.tokenFile,
      startedAt: Date.now(),
    };
    writeFileSync(this.infoFile, `${JSON.stringify(info, null, 2)}\n`, { mode: 0o600 });
    this.log?.info({ listen: this.bound, tokenFile: this.tokenFile }, 'migration console listening');
    return this.bound;
  }

  async stop(): Promise<void> {
    for (const s of this.streams) s.end();
    this.streams.clear();
    const server = this.server;
    this.server = undefined;
    if (server) {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
    rmSync(this.tokenFile, { force: true });
    rmSync(this.infoFile, { force: true });
  }

  private authorised(req: IncomingMessage): boolean {
    const h = req.headers.authorization ?? '';
    const m = /^Bearer\s+(\S+)$/i.exec(h);
    if (!m) return false;
    const given = Buffer.from(m[1]!);
    return given.length === this.token.length && timingSafeEqual(given, this.token);
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (!this.authorised(req)) {
      res.setHeader('www-authenticate', 'Bearer');
      return sendJson(res, 401, {
        ok: false,
        error: { kind: 'Unauthorized', message: `missing or wrong token (see ${this.tokenFile})` },
      });
    }
    const url = new URL(req.url ?? '/', 'http://console');
    const route = `${req.method} ${url.pathname.replace(/\/+$/, '')}`;
    const run = async (op: () => Promise<unknown>) => {
      try {
        const status = await op();
        sendJson(res, 200, { ok: true, status });
      } catch (err) {
        const e = err instanceof Error ? err : new Error(String(err));
        sendJson(res, statusCodeOf(e), { ok: false, error: { kind: e.name, message: e.message } });
      }
    };
    switch (route) {
      case 'GET /v1/status':
        return run(async () => this.driver.status());
      case 'POST /v1/prepare':
        return run(() => this.driver.prepare());
      case 'POST /v1/hosts':
        return run(async () => {
          const { hosts, opts } = parseHosts(await readBody(req));
          return this.driver.moveHosts(hosts, opts);
        });
      case 'POST /v1/finalize':
        return run(() => this.driver.finalize());
      case 'POST /v1/abort':
        return run(() => this.driver.abort());
      case 'GET /v1/events':
        return this.stream(req, res);
      default:
        return sendJson(res, 404, { ok: false, error: { kind: 'NotFound', message: `no route ${route}` } });
    }
  }

  private stream(req: IncomingMessage, res: ServerResponse): void {
    res.writeHead(200, { 'content-type': 'application/x-ndjson', 'cache-control': 'no-cache' });
    res.flushHeaders();
    this.streams.add(res);
    const write = (e: unknown) => {
      if (!res.writableEnded) res.write(`${JSON.stringify(e)}\n`);
    };
    const off = this.driver.subscribe(write);
    const beat = setInterval(() => write({ type: 'ping', at: Date.now() }), this.heartbeatMs);
    beat.unref();
    const close = () => {
      clearInterval(beat);
      off();
      this.streams.delete(res);
    };
    req.on('close', close);
    res.on('close', close);
  }
}

async function removeStaleSocket(path: string): Promise<void> {
  if (!existsSync(path)) return;
  const alive = await new Promise<boolean>((resolve) => {
    const r = httpRequest({ socketPath: path, path: '/v1/status', method: 'GET', timeout: 1000 }, (res) => {
      res.resume();
      resolve(true);
    });
    r.on('error', () => resolve(false));
    r.on('timeout', () => {
      r.destroy();
      resolve(true);
    });
    r.end();
  });
  if (alive) throw new Error(`a migration console is already running at ${path}`);
  rmSync(path, { force: true });
}

// ---------------------------------------------------------------- client

export class ConsoleUnavailableError extends Error {
  override readonly name = 'ConsoleUnavailableError';
}

/** An error the console answered with (kind: ConflictError, BadRequestError, Unauthorized, ...). */
export class ConsoleRequestError extends Error {
  override readonly name = 'ConsoleRequestError';
  constructor(
    readonly statusCode: number,
    readonly kind: string,
    message: string,
  ) {
    super(message);
  }
}

export interface EventStream {
  close(): void;
  /** Resolves when the stream ends (controller gone or closed). */
  ended: Promise<void>;
}

export class ConsoleClient {
  constructor(
    readonly listen: ConsoleListen,
    private readonly token: string,
    readonly runDir?: string,
  ) {}

  /** Find the console of the controller using `runDir` (console.json, token file), with clear errors. */
  static fromRunDir(runDir: string): ConsoleClient {
    const infoFile = join(runDir, CONSOLE_INFO);
    const hint = `is \`vnm controller --migration PLAN --run-dir ${runDir}\` running? (or pass --run-dir)`;
    if (!existsSync(runDir))
      throw new ConsoleUnavailableError(`no migration run directory ${runDir}: ${hint}`);
    let listen: ConsoleListen = { kind: 'unix', path: join(runDir, CONSOLE_SOCKET) };
    let tokenFile = join(runDir, CONSOLE_TOKEN);
    if (existsSync(infoFile)) {
      try {
        const info = JSON.parse(readFileSync(infoFile, 'utf8')) as ConsoleInfo;
        listen = info.listen;
        tokenFile = info.tokenFile;
        if (!pidAlive(info.pid))
          throw new ConsoleUnavailableError(
            `the controller that served ${runDir} (pid ${info.pid}) is not running: ${hint}`,
          );
      } catch (err) {
        if (err instanceof ConsoleUnavailableError) throw err;
        throw new ConsoleUnavailableError(`cannot read ${infoFile}: ${(err as Error).message}`);
      }
    } else if (!existsSync(listen.kind === 'unix' ? listen.path : '')) {
      throw new ConsoleUnavailableError(`no migration console in ${runDir}: ${hint}`);
    }
    let token: string;
    try {
      token = readFileSync(tokenFile, 'utf8').trim();
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      throw new ConsoleUnavailableError(
        code === 'EACCES'
          ? `cannot read the console token ${tokenFile}: permission denied (run as the controller's user)`
          : `cannot read the console token ${tokenFile} (${code}): ${hint}`,
      );
    }
    return new ConsoleClient(listen, token, runDir);
  }

  private describe(): string {
    return this.listen.kind === 'unix' ? this.listen.path : `${this.listen.host}:${this.listen.port}`;
  }

  private options(method: string, path: string) {
    const base = {
      method,
      path,
      headers: { authorization: `Bearer ${this.token}`, 'content-type': 'application/json' },
    };
    return this.listen.kind === 'unix'
      ? { ...base, socketPath: this.listen.path }
      : { ...base, host: this.listen.host, port: this.listen.port };
  }

  private unavailable(err: NodeJS.ErrnoException): ConsoleUnavailableError {
    const why =
      err.code === 'ECONNREFUSED' || err.code === 'ENOENT'
        ? 'nothing listens there (the controller is not running)'
        : err.code === 'EACCES'
          ? 'permission denied'
          : err.message;
    return new ConsoleUnavailableError(`cannot reach the migration console at ${this.describe()}: ${why}`);
  }

  /** One request; resolves with the `status` of a successful answer. */
  request<T = MigrationStatus>(method: 'GET' | 'POST', path: string, body?: unknown): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const req = httpRequest(this.options(method, path), (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          let doc: { ok?: boolean; status?: T; error?: { kind: string; message: string } };
          try {
            doc = JSON.parse(Buffer.concat(chunks).toString('utf8'));
          } catch {
            return reject(
              new ConsoleRequestError(res.statusCode ?? 0, 'BadResponse', 'console answered non-JSON'),
            );
          }
          if (res.statusCode === 200 && doc.ok) resolve(doc.status as T);
          else
            reject(
              new ConsoleRequestError(
                res.statusCode ?? 0,
                doc.error?.kind ?? 'Error',
                doc.error?.message ?? `HTTP ${res.statusCode}`,
              ),
            );
        });
        res.on('error', reject);
      });
      req.on('error', (err: NodeJS.ErrnoException) => reject(this.unavailable(err)));
      req.end(body === undefined ? undefined : JSON.stringify(body));
    });
  }

  status(): Promise<MigrationStatus> {
    return this.request('GET', '/v1/status');
  }
  prepare(): Promise<MigrationStatus> {
    return this.request('POST', '/v1/prepare');
  }
  moveHosts(hosts: string[], opts: MoveHostsOptions = {}): Promise<MigrationStatus> {
    return this.request('POST', '/v1/hosts', { hosts, ...opts });
  }
  finalize(): Promise<MigrationStatus> {
    return this.request('POST', '/v1/finalize');
  }
  abort(): Promise<MigrationStatus> {
    return this.request('POST', '/v1/abort');
  }

  /** Subscribe to progress events. Resolves once the stream is open. */
  events(onEvent: (e: ProgressEvent) => void): Promise<EventStream> {
    return new Promise<EventStream>((resolve, reject) => {
      let endResolve!: () => void;
      const ended = new Promise<void>((r) => {
        endResolve = r;
      });
      const req = httpRequest(this.options('GET', '/v1/events'), (res) => {
        if (res.statusCode !== 200) {
          res.resume();
          reject(new ConsoleRequestError(res.statusCode ?? 0, 'Error', `events: HTTP ${res.statusCode}`));
          return;
        }
        let buf = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          buf += chunk;
          for (let i = buf.indexOf('\n'); i >= 0; i = buf.indexOf('\n')) {
            const line = buf.slice(0, i).trim();
            buf = buf.slice(i + 1);
            if (line === '') continue;
            try {
              const e = JSON.parse(line) as ProgressEvent | { type: 'ping' };
              if (e.type !== 'ping') onEvent(e);
            } catch {}
          }
        });
        res.on('end', endResolve);
        res.on('close', endResolve);
        res.on('error', endResolve);
        resolve({ close: () => req.destroy(), ended });
      });
      req.on('error', (err: NodeJS.ErrnoException) => {
        endResolve();
        reject(this.unavailable(err));
      });
      req.end();
    });
  }
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
