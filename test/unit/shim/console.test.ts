// The migration console against a fake driver: token (401 without it), routes, status codes, the token
// file's mode, event streaming, TCP on loopback, and clear errors when no controller runs.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import {
  ConflictError,
  ConsoleClient,
  ConsoleRequestError,
  ConsoleServer,
  ConsoleUnavailableError,
  type MigrationDriver,
  type MigrationStatus,
  type ProgressEvent,
} from '../../../src/shim/console.ts';
import { MigrationStateError } from '../../../src/shim/model.ts';

const dirs: string[] = [];
function tmp(): string {
  const d = mkdtempSync(join(tmpdir(), 'vnm-console-'));
  dirs.push(d);
  return d;
}
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

class FakeDriver implements MigrationDriver {
  calls: unknown[] = [];
  phase: MigrationStatus['phase'] = 'idle';
  listeners = new Set<(e: ProgressEvent) => void>();
  busy = false;

  status(): MigrationStatus {
    return {
      runDir: '/x',
      plan: { hash: 'abc' },
      algorithm: 'asap',
      phase: this.phase,
      startedAt: 1,
      elapsedMs: 2,
      hosts: [{ name: 'h1', switch: 's1', port: 1, location: this.phase === 'idle' ? 'old' : 'new' }],
      steps: [],
      switches: [],
      phases: {},
      errors: [],
    };
  }
  emit(e: ProgressEvent) {
    for (const l of this.listeners) l(e);
  }
  async prepare() {
    this.calls.push('prepare');
    if (this.phase !== 'idle') throw new MigrationStateError(`prepare: already ${this.phase}`);
    this.emit({ type: 'operation', op: 'prepare', status: 'start', at: 1 });
    this.phase = 'prepared';
    this.emit({ type: 'phase', phase: 'prepared', at: 2 });
    this.emit({ type: 'operation', op: 'prepare', status: 'done', at: 3 });
    return this.status();
  }
  async moveHosts(hosts: string[], opts?: { blackoutMs?: number }) {
    this.calls.push(['hosts', hosts, opts]);
    if (this.busy) throw new ConflictError('busy: hosts');
    for (const [i, h] of hosts.entries())
      this.emit({
        type: 'host',
        host: h,
        index: i + 1,
        total: hosts.length,
        state: 'moved',
        to: 'new',
        at: 4,
      });
    this.phase = 'migrating';
    return this.status();
  }
  async finalize(): Promise<MigrationStatus> {
    this.calls.push('finalize');
    throw new Error('switch 0x1 went away');
  }
  async abort() {
    this.calls.push('abort');
    this.phase = 'idle';
    return this.status();
  }
  subscribe(l: (e: ProgressEvent) => void) {
    this.listeners.add(l);
    return () => this.listeners.delete(l);
  }
}

function raw(
  socketPath: string,
  method: string,
  path: string,
  headers: Record<string, string> = {},
  body?: string,
) {
  return new Promise<{ code: number; body: string }>((resolve, reject) => {
    const r = request({ socketPath, method, path, headers }, (res) => {
      let b = '';
      res.on('data', (c) => {
        b += c;
      });
      res.on('end', () => resolve({ code: res.statusCode!, body: b }));
    });
    r.on('error', reject);
    r.end(body);
  });
}

describe('migration console', () => {
  it('refuses requests without the token, serves them with it', async () => {
    const dir = tmp();
    const driver = new FakeDriver();
    const server = new ConsoleServer({ runDir: dir, driver });
    const addr = await server.start();
    try {
      assert.equal(addr.kind, 'unix');
      const sock = (addr as { path: string }).path;
      assert.equal(statSync(join(dir, 'console.token')).mode & 0o777, 0o600);
      assert.equal(statSync(sock).mode & 0o777, 0o600);
      const token = readFileSync(join(dir, 'console.token'), 'utf8').trim();
      assert.match(token, /^[0-9a-f]{64}$/);

      assert.equal((await raw(sock, 'GET', '/v1/status')).code, 401);
      assert.equal((await raw(sock, 'GET', '/v1/status', { authorization: 'Bearer nope' })).code, 401);
      assert.equal((await raw(sock, 'POST', '/v1/prepare', { authorization: `Bearer ${token}x` })).code, 401);
      assert.deepEqual(driver.calls, [], 'nothing reached the driver without the token');
      const ok = await raw(sock, 'GET', '/v1/status', { authorization: `Bearer ${token}` });
      assert.equal(ok.code, 200);
      assert.equal(JSON.parse(ok.body).status.phase, 'idle');
      assert.equal((await raw(sock, 'GET', '/v1/nothing', { authorization: `Bearer ${token}` })).code, 404);
      const bad = await raw(sock, 'POST', '/v1/hosts', { authorization: `Bearer ${token}` }, '{"hosts": []}');
      assert.equal(bad.code, 400);
      const notJson = await raw(sock, 'POST', '/v1/hosts', { authorization: `Bearer ${token}` }, 'h1');
      assert.equal(notJson.code, 400);
    } finally {
      await server.stop();
    }
  });

  it('drives the phases through the client, with status codes for refusals and failures', async () => {
    const dir = tmp();
    const driver = new FakeDriver();
    const server = new ConsoleServer({ runDir: dir, driver });
    await server.start();
    try {
      const c = ConsoleClient.fromRunDir(dir);
      const events: ProgressEvent[] = [];
      const stream = await c.events((e) => events.push(e));
      assert.equal((await c.prepare()).phase, 'prepared');
      await assert.rejects(c.prepare(), (e: unknown) => {
        assert.ok(e instanceof ConsoleRequestError);
        assert.equal(e.statusCode, 409);
        assert.match(e.message, /already prepared/);
        return true;
      });
      assert.equal((await c.moveHosts(['h1', 'h2'], { blackoutMs: 100 })).phase, 'migrating');
      driver.busy = true;
      await assert.rejects(
        c.moveHosts(['h1']),
        (e: unknown) => (e as ConsoleRequestError).statusCode === 409,
      );
      await assert.rejects(c.finalize(), (e: unknown) => {
        assert.equal((e as ConsoleRequestError).statusCode, 500);
        assert.match((e as Error).message, /went away/);
        return true;
      });
      assert.equal((await c.abort()).phase, 'idle');
      assert.equal((await c.status()).plan.hash, 'abc');
      assert.deepEqual(driver.calls, [
        'prepare',
        'prepare',
        ['hosts', ['h1', 'h2'], { blackoutMs: 100 }],
        ['hosts', ['h1'], {}],
        'finalize',
        'abort',
      ]);
      await new Promise((r) => setTimeout(r, 50));
      assert.deepEqual(
        events.map((e) => e.type),
        ['operation', 'phase', 'operation', 'host', 'host'],
      );
      stream.close();
      await stream.ended;
      await new Promise((r) => setTimeout(r, 20));
      assert.equal(driver.listeners.size, 0, 'a closed stream unsubscribes');
    } finally {
      await server.stop();
    }
  });

  it('listens on loopback TCP when asked', async () => {
    const dir = tmp();
    const server = new ConsoleServer({
      runDir: dir,
      driver: new FakeDriver(),
      listen: { kind: 'tcp', host: '127.0.0.1', port: 0 },
    });
    const addr = await server.start();
    try {
      assert.equal(addr.kind, 'tcp');
      assert.ok((addr as { port: number }).port > 0);
      const c = ConsoleClient.fromRunDir(dir);
      assert.equal((await c.status()).algorithm, 'asap');
      const wrong = new ConsoleClient(addr, 'wrong');
      await assert.rejects(wrong.status(), (e: unknown) => (e as ConsoleRequestError).statusCode === 401);
    } finally {
      await server.stop();
    }
  });

  it('says clearly when no controller is running', async () => {
    const missing = join(tmp(), 'nope');
    assert.throws(
      () => ConsoleClient.fromRunDir(missing),
      (e: unknown) => {
        assert.ok(e instanceof ConsoleUnavailableError);
        assert.match(e.message, /no migration run directory .*vnm controller --migration/);
        return true;
      },
    );
    const empty = tmp();
    assert.throws(() => ConsoleClient.fromRunDir(empty), /no migration console in/);
    // A console.json left by a controller that died.
    const dead = tmp();
    writeFileSync(
      join(dead, 'console.json'),
      JSON.stringify({
        pid: 2 ** 22 + 12345,
        listen: { kind: 'unix', path: join(dead, 'console.sock') },
        tokenFile: join(dead, 'console.token'),
        startedAt: 0,
      }),
    );
    assert.throws(() => ConsoleClient.fromRunDir(dead), /is not running/);
    // A server that stopped: the files are gone.
    const dir = tmp();
    const server = new ConsoleServer({ runDir: dir, driver: new FakeDriver() });
    await server.start();
    const c = ConsoleClient.fromRunDir(dir);
    await server.stop();
    await assert.rejects(c.status(), (e: unknown) => {
      assert.ok(e instanceof ConsoleUnavailableError);
      assert.match(e.message, /not running/);
      return true;
    });
    assert.throws(() => ConsoleClient.fromRunDir(dir), /no migration console/);
  });

  it('refuses to start beside a live console, replaces a stale socket', async () => {
    const dir = tmp();
    const a = new ConsoleServer({ runDir: dir, driver: new FakeDriver() });
    await a.start();
    const b = new ConsoleServer({ runDir: dir, driver: new FakeDriver() });
    await assert.rejects(b.start(), /already running/);
    assert.equal(
      (await ConsoleClient.fromRunDir(dir).status()).phase,
      'idle',
      'the first console still works',
    );
    await a.stop();
    writeFileSync(join(dir, 'console.sock'), ''); // stale file, nobody listens
    const c = new ConsoleServer({ runDir: dir, driver: new FakeDriver() });
    await c.start();
    assert.equal((await ConsoleClient.fromRunDir(dir).status()).phase, 'idle');
    await c.stop();
  });
});
