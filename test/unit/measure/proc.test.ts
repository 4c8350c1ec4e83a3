import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { chainResolvers, type HostResolver, resolveTargetIp } from '../../../src/measure/hosts.ts';
import { isIpv4, parseIpv4Addresses, parseNetnsList } from '../../../src/measure/netns.ts';
import { liveMeasureProcessCount, ManagedProcess, wrapCommand } from '../../../src/measure/proc.ts';

describe('namespace helpers', () => {
  test('parseNetnsList', () => {
    assert.deepEqual(parseNetnsList('vnm-mt-1-b (id: 4)\nvnm-mt-1-a (id: 3)\nh1\n\n'), [
      'vnm-mt-1-b',
      'vnm-mt-1-a',
      'h1',
    ]);
    assert.deepEqual(parseNetnsList(''), []);
  });
  test('parseIpv4Addresses', () => {
    const text =
      '2: eth0    inet 10.254.1.1/24 scope global eth0\\       valid_lft forever preferred_lft forever\n' +
      '3: eth1    inet 192.168.0.5/16 brd 192.168.255.255 scope global eth1\n';
    assert.deepEqual(parseIpv4Addresses(text), ['10.254.1.1', '192.168.0.5']);
  });
  test('isIpv4', () => {
    assert.equal(isIpv4('10.0.0.1'), true);
    assert.equal(isIpv4('10.0.0.256'), false);
    assert.equal(isIpv4('h1'), false);
    assert.equal(isIpv4('10.0.0'), false);
  });
});

describe('host resolvers', () => {
  const testbed: HostResolver = async (name) => {
    if (name === 'h1') return { name, netns: 'tb-x-h1', ip: '10.0.0.1' };
    throw new Error(`no host ${name} in the test bed`);
  };
  const plain: HostResolver = async (name) => {
    if (name === 'ns9') return { name, netns: 'ns9' };
    throw new Error(`no namespace ${name}`);
  };
  test('the first resolver that knows the name wins; all errors when none does', async () => {
    const r = chainResolvers(testbed, plain);
    assert.deepEqual(await r('h1'), { name: 'h1', netns: 'tb-x-h1', ip: '10.0.0.1' });
    assert.deepEqual(await r('ns9'), { name: 'ns9', netns: 'ns9' });
    await assert.rejects(r('zz'), /no host zz in the test bed; no namespace zz/);
  });
  test('resolveTargetIp keeps addresses and resolves names', async () => {
    const r = chainResolvers(testbed, plain);
    assert.equal(await resolveTargetIp('10.9.8.7', r), '10.9.8.7');
    assert.equal(await resolveTargetIp('h1', r), '10.0.0.1');
    await assert.rejects(resolveTargetIp('ns9', r), /no IPv4 address/);
  });
});

describe('ManagedProcess', () => {
  test('wrapCommand: namespace, parent-death signal, line buffering', () => {
    assert.deepEqual(wrapCommand(['ping', 'x'], { netns: 'h1', lineBuffered: true }), [
      'ip',
      'netns',
      'exec',
      'h1',
      'setpriv',
      '--pdeathsig',
      'TERM',
      '--',
      'stdbuf',
      '-oL',
      'ping',
      'x',
    ]);
    assert.deepEqual(wrapCommand(['true']), ['setpriv', '--pdeathsig', 'TERM', '--', 'true']);
  });

  test('lines arrive with times; the process is unregistered when it ends', async () => {
    const lines: string[] = [];
    const p = new ManagedProcess(['sh', '-c', 'echo one; echo two >&2; printf three'], { keepOutput: true });
    p.onStdoutLine((l, at) => {
      assert.ok(at >= p.startedAt);
      lines.push(l);
    });
    const exit = await p.exited;
    assert.equal(exit.code, 0);
    assert.deepEqual(lines, ['one', 'three']);
    assert.equal(p.stderr, 'two\n');
    assert.equal(p.running, false);
    assert.equal(liveMeasureProcessCount(), 0);
  });

  test('stop() climbs the signal ladder and kills the whole group', async () => {
    // The shell ignores SIGINT and so does its child; SIGTERM to the group ends both.
    const p = new ManagedProcess(['sh', '-c', 'trap "" INT; sleep 30 & wait'], {});
    await new Promise((r) => setTimeout(r, 200));
    const t = Date.now();
    const exit = await p.stop({ signal: 'SIGINT', graceMs: 200, termMs: 2000 });
    assert.equal(exit.signal, 'SIGTERM');
    assert.ok(Date.now() - t < 2000);
    assert.equal(p.stoppedWith, 'SIGINT');
    assert.equal(liveMeasureProcessCount(), 0);
  });

  test('kill() is immediate', async () => {
    const p = new ManagedProcess(['sleep', '30'], {});
    p.kill();
    const exit = await p.exited;
    assert.equal(exit.signal, 'SIGKILL');
  });
});
