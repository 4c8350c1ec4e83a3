// Loading apps (built-in by name, a user's module by path), their options, and the `vnm controller` CLI.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import {
  AppHost,
  AppLoadError,
  applyAppOptions,
  builtinAppNames,
  loadApp,
  parseAppSpec,
} from '../../../src/api/app-host.ts';
import { BUILTIN_APPS_DIR } from '../../../src/cli/commands/controller.ts';
import { Controller } from '../../../src/runtime/controller.ts';
import { FakeSwitch, memoryLogger, until } from './fake-switch.ts';
import { seen } from './fixtures/counting-app.ts';

const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = join(HERE, '..', '..', '..');
const FIXTURE = join(HERE, 'fixtures', 'counting-app.ts');

describe('app specs and options', () => {
  it('parses NAME, PATH and NAME:k=v,k2=v2 with JSON values', () => {
    assert.deepEqual(parseAppSpec('l2-learning'), { ref: 'l2-learning', options: {} });
    assert.deepEqual(parseAppSpec('./apps/x.ts'), { ref: './apps/x.ts', options: {} });
    assert.deepEqual(parseAppSpec('l2-learning:idleTimeout=30,matchSrc=false,mode=fast'), {
      ref: 'l2-learning',
      options: { idleTimeout: 30, matchSrc: false, mode: 'fast' },
    });
    assert.deepEqual(parseAppSpec('/x/y.ts:a=1'), { ref: '/x/y.ts', options: { a: 1 } });
    assert.deepEqual(parseAppSpec('/x/y.ts:a="q"'), { ref: '/x/y.ts', options: { a: 'q' } });
  });

  it('applies --app-option lines globally or per app; the spec wins', () => {
    const specs = [parseAppSpec('a:x=1'), parseAppSpec('b')];
    const out = applyAppOptions(specs, ['x=5', 'y=true', 'b:z=hello']);
    assert.deepEqual(out, [
      { ref: 'a', options: { x: 1, y: true } },
      { ref: 'b', options: { x: 5, y: true, z: 'hello' } },
    ]);
    assert.throws(() => applyAppOptions(specs, ['c:x=1']), /no --app c/);
    assert.throws(() => applyAppOptions(specs, ['novalue']), AppLoadError);
  });
});

describe('loading apps', () => {
  it('finds built-in apps by name and user modules by path', async () => {
    const names = builtinAppNames(BUILTIN_APPS_DIR);
    assert.ok(names.includes('l2-learning'), `built-ins: ${names.join(', ')}`);
    const l2 = await loadApp('l2-learning', BUILTIN_APPS_DIR);
    assert.equal(l2.name, 'l2-learning');
    const user = await loadApp(FIXTURE, BUILTIN_APPS_DIR);
    assert.equal(user.name, 'counting');
  });

  it('explains what is wrong with a bad name or module', async () => {
    await assert.rejects(
      loadApp('no-such-app', BUILTIN_APPS_DIR),
      /no built-in app "no-such-app" \(built-in apps: .*l2-learning/,
    );
    await assert.rejects(loadApp('./nope/missing.ts', BUILTIN_APPS_DIR), /does not exist/);
    await assert.rejects(loadApp(join(HERE, 'fake-switch.ts'), BUILTIN_APPS_DIR), /does not export an app/);
  });

  it('announces switches already up to an app started later, once; stopAll unsubscribes', async () => {
    const { log } = memoryLogger('silent');
    const ctl = new Controller({ listen: [{ kind: 'tcp', host: '127.0.0.1', port: 0 }], log });
    await ctl.start();
    const sw = new FakeSwitch({ dpid: 42n });
    try {
      await sw.connect(ctl.addresses()[0]!);
      await until(() => ctl.datapaths().length === 1);
      const host = new AppHost(ctl, log);
      const app = await loadApp(FIXTURE, BUILTIN_APPS_DIR);
      const before = seen.up;
      await host.start(app, { k: 1 });
      assert.equal(seen.up - before, 1);
      assert.deepEqual(seen.options, { k: 1 });
      await host.stopAll();
      assert.equal(seen.stopped, 1);
      const downs = seen.down;
      sw.close();
      await until(() => ctl.datapaths().length === 0);
      assert.equal(seen.down, downs, 'no events after stop');
    } finally {
      sw.close();
      await ctl.stop();
    }
  });
});

describe('vnm controller (CLI)', () => {
  function runCli(args: string[]) {
    const child = spawn(process.execPath, [join(ROOT, 'bin', 'vnm.js'), 'controller', ...args], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    return { child, exited, stderr: () => stderr };
  }

  it('runs an app on a unix socket, logs the switch, and exits 0 on SIGINT closing the session', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'vnm-cli-'));
    const sock = join(dir, 'ctl.sock');
    const cli = runCli([
      '--app',
      `${FIXTURE}:flag=true`,
      '--listen',
      `unix:${sock}`,
      '--echo-interval-s',
      '1',
    ]);
    try {
      await until(() => cli.stderr().includes('controller running'), 20000, 'controller start');
      const sw = new FakeSwitch({ dpid: 0x77n });
      await sw.connect({ kind: 'unix', path: sock });
      await until(() => cli.stderr().includes('counting app saw switch up'), 5000, 'app switch up');
      assert.match(cli.stderr(), /"msg":"switch connected"/);
      assert.match(cli.stderr(), /"dpid":"0x0000000000000077"/);
      cli.child.kill('SIGINT');
      assert.equal(await cli.exited, 0);
      await sw.waitClosed();
      assert.match(cli.stderr(), /"msg":"switch disconnected"/);
      assert.match(cli.stderr(), /"msg":"controller stopped"/);
    } finally {
      cli.child.kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('fails with status 1 and a clear message for an unknown app', async () => {
    const cli = runCli(['--app', 'no-such-app', '--listen', 'tcp:127.0.0.1:0']);
    assert.equal(await cli.exited, 1);
    assert.match(cli.stderr(), /no built-in app "no-such-app"/);
  });
});
