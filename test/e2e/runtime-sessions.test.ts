// The controller runtime against real Open vSwitch (userspace datapath, private daemons in a lab
// namespace, built by src/testbed): reconnection, echo-based dead-switch detection, and malformed
// clients that are closed while a real switch keeps forwarding.
//
// The controller runs in this process on a unix socket (switches in the lab namespace cannot reach the
// root namespace's 127.0.0.1). The app is a hub: every packet goes through the controller (packet-in ->
// packet-out FLOOD, no flows), so a ping between the two hosts proves the controller is serving the switch.

import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Datapath } from '../../src/api/types.ts';
import { encodeMessage, Port } from '../../src/openflow/index.ts';
import { Controller } from '../../src/runtime/controller.ts';
import { parseDpid, parseTopology, type Testbed, upTestbed } from '../../src/testbed/index.ts';
import { logger } from '../../src/util/log.ts';

const isRoot = process.getuid?.() === 0;
const hasOvs = existsSync('/usr/sbin/ovs-vswitchd') || existsSync('/usr/bin/ovs-vswitchd');
const skip = !isRoot ? 'needs root' : !hasOvs ? 'needs Open vSwitch' : false;
const TOPOLOGY = `
name: rtsess
switches: [s1]
hosts:
  h1: { switch: s1, ip: 10.0.0.1/24 }
  h2: { switch: s1, ip: 10.0.0.2/24 }
controller: none
`;

interface Ev {
  type: 'up' | 'down';
  dpid: bigint;
  reason?: string;
  at: number;
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

async function until(cond: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(20);
  }
}

function pingStats(out: string): { sent: number; received: number } {
  const m = /(\d+) packets transmitted, (\d+) received/.exec(out);
  if (!m) throw new Error(`cannot read ping output: ${out}`);
  return { sent: Number(m[1]), received: Number(m[2]) };
}

describe('runtime sessions on real Open vSwitch', { skip }, () => {
  let tb: Testbed;
  let ctl: Controller;
  let dir: string;
  let sock: string;
  const events: Ev[] = [];
  let s1: bigint;
  let packetIns = 0;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'vnm-rt-'));
    sock = join(dir, 'ctl.sock');
    ctl = new Controller({
      listen: [{ kind: 'unix', path: sock }],
      echoIntervalMs: 300,
      echoMisses: 3,
      handshakeTimeoutMs: 2000,
      log: logger('runtime-e2e'),
    });
    ctl.on('switchUp', ({ dp }) => {
      events.push({ type: 'up', dpid: dp.id, at: Date.now() });
      // table-miss: everything to the controller, whole packets
      dp.send({
        type: 'flowMod',
        cookie: 0n,
        cookieMask: 0n,
        tableId: 0,
        command: 0,
        idleTimeout: 0,
        hardTimeout: 0,
        priority: 0,
        bufferId: 0xffffffff,
        outPort: Port.ANY,
        outGroup: 0xffffffff,
        flags: 0,
        match: { fields: [] },
        instructions: [
          { type: 'applyActions', actions: [{ type: 'output', port: Port.CONTROLLER, maxLen: 0xffff }] },
        ],
      });
    });
    ctl.on('switchDown', ({ dp, reason }) => {
      events.push({ type: 'down', dpid: dp.id, reason, at: Date.now() });
    });
    ctl.on('packetIn', ({ dp, msg, inPort }) => {
      packetIns++;
      dp.send({
        type: 'packetOut',
        bufferId: 0xffffffff,
        inPort,
        actions: [{ type: 'output', port: Port.FLOOD, maxLen: 0 }],
        data: msg.data,
      });
    });
    await ctl.start();
    tb = await upTestbed(parseTopology(TOPOLOGY), { controller: `unix:${sock}` });
    s1 = parseDpid(tb.switch('s1', 'old').dpid);
    await until(() => ctl.datapath(s1) !== undefined, 15000, 'old s1 to connect');
    await until(() => ctl.datapaths().length === tb.state.switches.length, 15000, 'every bridge to connect');
  });

  after(async () => {
    await tb?.down();
    await ctl?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  async function ping(count = 5, interval = '0.05'): Promise<{ sent: number; received: number }> {
    const r = await tb.exec(
      'h1',
      ['ping', '-c', String(count), '-i', interval, '-W', '1', tb.host('h2').ip],
      {
        check: false,
      },
    );
    return pingStats(r.stdout);
  }

  it('forwards through the controller (hub app): h1 pings h2', async () => {
    const before = packetIns;
    const r = await ping(5);
    assert.ok(r.received >= 4, `received ${r.received}/${r.sent}`);
    assert.ok(packetIns - before >= 8, 'the packets went through the controller');
  });

  it('a switch reconnected with del-controller / set-controller comes back: apps see down then up', async () => {
    const bridge = tb.bridge('s1', 'old');
    const dpBefore = ctl.datapath(s1)!;
    const mark = events.length;
    await tb.vsctl('del-controller', bridge);
    await until(
      () => events.slice(mark).some((e) => e.type === 'down' && e.dpid === s1),
      10000,
      'switchDown',
    );
    assert.equal(ctl.datapath(s1), undefined);
    assert.equal(dpBefore.connected, false);
    await tb.vsctl('set-controller', bridge, tb.state.controller.target!);
    await until(() => events.slice(mark).some((e) => e.type === 'up' && e.dpid === s1), 15000, 'switchUp');
    const mine = events.slice(mark).filter((e) => e.dpid === s1);
    assert.deepEqual(
      mine.map((e) => e.type),
      ['down', 'up'],
    );
    const dp = ctl.datapath(s1)!;
    assert.notEqual(dp, dpBefore);
    assert.ok(
      dp.ports.has(tb.host('h1').port) && dp.ports.has(tb.host('h2').port),
      'ports known after reconnect',
    );
    await dp.barrier();
    const r = await ping(5);
    assert.ok(r.received >= 4, `after reconnect: received ${r.received}/${r.sent}`);
  });

  it('a switch that stops answering echoes (ovs-vswitchd stopped) is dropped, and comes back after', async () => {
    const pid = tb.state.ovs.vswitchdPid;
    assert.ok(pid, 'ovs-vswitchd pid known');
    const mark = events.length;
    const n = ctl.datapaths().length;
    process.kill(pid, 'SIGSTOP');
    const t0 = Date.now();
    try {
      await until(
        () => events.slice(mark).filter((e) => e.type === 'down').length === n,
        5000,
        'all switches dropped',
      );
    } finally {
      process.kill(pid, 'SIGCONT');
    }
    const downs = events.slice(mark).filter((e) => e.type === 'down');
    for (const d of downs) assert.match(d.reason!, /echo timeout/);
    const detectMs = Math.max(...downs.map((d) => d.at)) - t0;
    assert.ok(detectMs >= 600 && detectMs < 3000, `dropped after ${detectMs} ms (interval 300 ms x 3)`);
    await until(() => ctl.datapaths().length === n, 20000, 'switches to reconnect after SIGCONT');
    await ctl.datapath(s1)!.barrier();
    const r = await ping(5);
    assert.ok(r.received >= 4, `after SIGCONT: received ${r.received}/${r.sent}`);
  });

  it('clients sending garbage, bad lengths or truncated messages are closed; the real switch keeps forwarding', async () => {
    const dp: Datapath = ctl.datapath(s1)!;
    const mark = events.length;
    // A ping of ~3 s runs through the controller while bad clients come and go.
    const pinging = ping(60, '0.05');
    const closedAfter: number[] = [];
    const client = (bytes: Uint8Array[], gapMs = 0): Promise<void> =>
      new Promise((resolve, reject) => {
        const s: Socket = connect(sock);
        const t0 = Date.now();
        const timer = setTimeout(() => {
          s.destroy();
          reject(new Error('bad client was not closed by the controller'));
        }, 5000);
        s.on('error', () => {});
        s.resume(); // read (and drop) what the controller sends, or its close would go unnoticed
        s.on('close', () => {
          clearTimeout(timer);
          closedAfter.push(Date.now() - t0);
          resolve();
        });
        s.on('connect', async () => {
          for (const b of bytes) {
            s.write(b);
            if (gapMs) await sleep(gapMs);
          }
        });
      });
    const hello = encodeMessage({
      type: 'hello',
      version: 4,
      xid: 1,
      elements: [{ type: 'versionBitmap', bitmaps: [16] }],
    });
    const truncatedPacketIn = Buffer.from([
      4, 10, 0, 20, 0, 0, 0, 9, 0xff, 0xff, 0xff, 0xff, 0, 60, 0, 0, 0, 0, 0, 0,
    ]);
    const badLength = Buffer.from([4, 2, 0, 3, 0, 0, 0, 1]);
    const half = encodeMessage({ type: 'hello', version: 4, xid: 1, elements: [] }).subarray(0, 5);
    const jobs = [
      client([Buffer.from('\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03garbage that looks like TLS')]),
      client([hello, truncatedPacketIn], 50),
      client([hello, badLength], 50),
      client([half]), // a truncated header, then silence: the handshake timeout (2 s) closes it
      client([Buffer.alloc(64, 0xff)]),
    ];
    await Promise.all(jobs);
    const r = await pinging;
    assert.equal(closedAfter.length, 5);
    assert.ok(r.received >= r.sent - 2, `ping during bad clients: received ${r.received}/${r.sent}`);
    assert.equal(dp.connected, true);
    assert.equal(
      events.slice(mark).filter((e) => e.dpid === s1).length,
      0,
      'the real switch never went down',
    );
    await dp.barrier();
  });
});
