import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AddressError, formatListenAddress, parseListenAddress } from '../../../src/runtime/address.ts';
import { resolveRuntimeConfig } from '../../../src/runtime/config.ts';

describe('listen addresses', () => {
  it('parses every accepted form', () => {
    assert.deepEqual(parseListenAddress('tcp:127.0.0.1:6653'), {
      kind: 'tcp',
      host: '127.0.0.1',
      port: 6653,
    });
    assert.deepEqual(parseListenAddress('0.0.0.0:6633'), { kind: 'tcp', host: '0.0.0.0', port: 6633 });
    assert.deepEqual(parseListenAddress('tcp:6653'), { kind: 'tcp', host: '127.0.0.1', port: 6653 });
    assert.deepEqual(parseListenAddress('6654'), { kind: 'tcp', host: '127.0.0.1', port: 6654 });
    assert.deepEqual(parseListenAddress('tcp:[::1]:6653'), { kind: 'tcp', host: '::1', port: 6653 });
    assert.deepEqual(parseListenAddress('ptcp:6654:127.0.0.1'), {
      kind: 'tcp',
      host: '127.0.0.1',
      port: 6654,
    });
    assert.deepEqual(parseListenAddress('unix:/tmp/x.sock'), { kind: 'unix', path: '/tmp/x.sock' });
    assert.deepEqual(parseListenAddress('punix:/tmp/x.sock'), { kind: 'unix', path: '/tmp/x.sock' });
    assert.deepEqual(parseListenAddress('/run/vnm/ctl'), { kind: 'unix', path: '/run/vnm/ctl' });
    assert.deepEqual(parseListenAddress('ctl.sock'), { kind: 'unix', path: 'ctl.sock' });
  });

  it('rejects bad ones with a clear message', () => {
    assert.throws(() => parseListenAddress(''), AddressError);
    assert.throws(() => parseListenAddress('tcp:host'), /HOST:PORT/);
    assert.throws(() => parseListenAddress('tcp:h:99999'), /out of range/);
    assert.throws(() => parseListenAddress('tcp:h:abc'), /bad port/);
    assert.throws(() => parseListenAddress('unix:'), /empty path/);
  });

  it('formats back', () => {
    for (const s of ['tcp:127.0.0.1:6653', 'unix:/tmp/a.sock', 'tcp:[::1]:1']) {
      assert.equal(formatListenAddress(parseListenAddress(s)), s);
    }
  });
});

describe('runtime config', () => {
  it('has documented defaults and validates', () => {
    const c = resolveRuntimeConfig();
    assert.equal(c.echoIntervalMs, 5000);
    assert.equal(c.echoMisses, 3);
    assert.equal(c.missSendLen, 0xffff);
    assert.equal(resolveRuntimeConfig({ errorMemory: 1000 }).errorMemory, 1024);
    assert.throws(() => resolveRuntimeConfig({ echoIntervalMs: 0 }), RangeError);
    assert.throws(() => resolveRuntimeConfig({ missSendLen: 70000 }), RangeError);
    assert.throws(
      () => resolveRuntimeConfig({ writeHighWaterBytes: 10, writeHardLimitBytes: 5 }),
      RangeError,
    );
  });
});
