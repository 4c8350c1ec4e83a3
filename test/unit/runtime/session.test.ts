// Session logic of the controller runtime against emulated switches over real sockets.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, afterEach, describe, it } from 'node:test';
import {
  type Datapath,
  DatapathGoneError,
  OpenFlowError,
  type SwitchDownEvent,
} from '../../../src/api/types.ts';
import { encodeMessage, flowMod, matchOf, packetOut } from '../../../src/openflow/index.ts';
import { Controller, type ControllerOptions } from '../../../src/runtime/controller.ts';
import { delay, FakeSwitch, type FakeSwitchOptions, memoryLogger, port, until } from './fake-switch.ts';

const controllers: Controller[] = [];
const switches: FakeSwitch[] = [];

async function startController(opts: ControllerOptions = {}) {
  const { log, lines } = memoryLogger();
  const ctl = new Controller({ listen: [{ kind: 'tcp', host: '127.0.0.1', port: 0 }], log, ...opts });
  await ctl.start();
  controllers.push(ctl);
  const events: { type: string; dpid: bigint; reason?: string }[] = [];
  ctl.on('switchUp', ({ dp }) => {
    events.push({ type: 'up', dpid: dp.id });
  });
  ctl.on('switchDown', ({ dp, reason }) => {
    events.push({ type: 'down', dpid: dp.id, reason });
  });
  return { ctl, lines, events, addr: ctl.addresses()[0]! };
}

async function startSwitch(
  ctl: Controller,
  opts: FakeSwitchOptions,
): Promise<{ sw: FakeSwitch; dp: Datapath }> {
  const sw = new FakeSwitch(opts);
  switches.push(sw);
  const up = new Promise<Datapath>((resolve) => {
    const off = ctl.on('switchUp', ({ dp }) => {
      if (dp.id === opts.dpid) {
        off();
        resolve(dp);
      }
    });
  });
  await sw.connect(ctl.addresses()[0]!);
  const dp = await up;
  return { sw, dp };
}

afterEach(async () => {
  for (const sw of switches.splice(0)) sw.close();
  for (const c of controllers.splice(0)) await c.stop();
});
after(() => {
  // nothing is left running: sockets and timers belong to the closed controllers
});

describe('handshake', () => {
  it('completes hello/features/port-desc/set-config/barrier and reports the switch up with ports', async () => {
    const { ctl, lines } = await startController();
    const { sw, dp } = await startSwitch(ctl, { dpid: 0x1234n, ports: [1, 2, 3] });
    assert.equal(dp.id, 0x1234n);
    assert.equal(dp.idText, '0x0000000000001234');
    assert.deepEqual([...dp.ports.keys()].sort(), [1, 2, 3]); // LOCAL excluded
    assert.equal(dp.nTables, 254);
    assert.equal(dp.connected, true);
    const types = sw.received.map((m) => m.type);
    assert.deepEqual(types.slice(0, 5), [
      'hello',
      'featuresRequest',
      'setConfig',
      'multipartRequest',
      'barrierRequest',
    ]);
    const hello = sw.received[0]!;
    assert.equal(
      hello.type === 'hello' && hello.elements[0]?.type === 'versionBitmap' && hello.elements[0].bitmaps[0],
      16,
    );
    const setConfig = sw.received.find((m) => m.type === 'setConfig');
    assert.equal(setConfig?.type === 'setConfig' && setConfig.missSendLen, 0xffff);
    assert.deepEqual(
      ctl.datapaths().map((d) => d.id),
      [0x1234n],
    );
    assert.equal(ctl.datapath(0x1234n), dp);
    await until(() => lines.some((l) => l.msg === 'switch connected' && l.dpid === '0x0000000000001234'));
  });

  it('accepts a 1.3 hello without a bitmap (header version 4)', async () => {
    const { ctl } = await startController();
    const { dp } = await startSwitch(ctl, { dpid: 7n, bitmap: null, helloVersion: 4 });
    assert.equal(dp.connected, true);
  });

  it('refuses a peer that offers no 1.3: HELLO_FAILED/INCOMPATIBLE, close, log why', async () => {
    const { ctl, lines, events } = await startController();
    for (const variant of [
      { helloVersion: 1, bitmap: null }, // OpenFlow 1.0 only
      { helloVersion: 5, bitmap: [(1 << 5) | (1 << 1)] }, // 1.4 and 1.0 by bitmap
    ]) {
      const sw = new FakeSwitch({ dpid: 9n, ...variant });
      switches.push(sw);
      await sw.connect(ctl.addresses()[0]!);
      const err = await sw.waitFor((m) => m.type === 'error');
      assert.equal(err.type === 'error' && err.errorType, 0);
      assert.equal(err.type === 'error' && err.code, 0);
      assert.match(Buffer.from(err.type === 'error' ? err.data : []).toString('ascii'), /OpenFlow 1\.3/);
      await sw.waitClosed();
    }
    await until(
      () => lines.filter((l) => String(l.reason ?? l.msg).includes('version negotiation failed')).length >= 2,
    );
    assert.equal(events.length, 0);
    assert.equal(ctl.sessionList().length, 0);
  });

  it('closes a connection whose first message is not HELLO', async () => {
    const { ctl, lines } = await startController();
    const sw = new FakeSwitch({ dpid: 3n, silent: true });
    switches.push(sw);
    await sw.connect(ctl.addresses()[0]!);
    sw.send({ type: 'featuresRequest', xid: 5 });
    await sw.waitClosed();
    await until(() =>
      lines.some(
        (l) => typeof l.msg === 'string' && /expected HELLO first|not an OpenFlow HELLO/.test(l.msg),
      ),
    );
  });

  it('times out a handshake that stalls', async () => {
    const { ctl, lines } = await startController({ handshakeTimeoutMs: 100 });
    const sw = new FakeSwitch({ dpid: 3n, silent: true });
    switches.push(sw);
    await sw.connect(ctl.addresses()[0]!);
    await sw.waitClosed();
    await until(() => lines.some((l) => String(l.reason).includes('handshake timed out')));
  });
});

describe('echo keepalive', () => {
  it('answers the switch echo requests with the same xid and data', async () => {
    const { ctl } = await startController();
    const { sw } = await startSwitch(ctl, { dpid: 1n });
    sw.send({ type: 'echoRequest', xid: 777, data: Buffer.from('ping') });
    const reply = await sw.waitFor((m) => m.type === 'echoReply' && m.xid === 777);
    assert.equal(Buffer.from(reply.type === 'echoReply' ? reply.data : []).toString(), 'ping');
  });

  it('keeps a switch that answers echoes and drops one that stops (switchDown with reason)', async () => {
    const { ctl, events } = await startController({ echoIntervalMs: 40, echoMisses: 3 });
    let answering = true;
    const { sw } = await startSwitch(ctl, {
      dpid: 5n,
      onMessage: (m) => m.type === 'echoRequest' && !answering,
    });
    await delay(300);
    assert.ok(sw.received.filter((m) => m.type === 'echoRequest').length >= 4);
    assert.deepEqual(
      events.map((e) => e.type),
      ['up'],
    );
    answering = false;
    const t0 = Date.now();
    await until(() => events.length === 2, 2000, 'switchDown');
    const waited = Date.now() - t0;
    assert.equal(events[1]!.type, 'down');
    assert.match(events[1]!.reason!, /echo timeout/);
    assert.ok(waited >= 80 && waited < 1000, `dropped after ${waited} ms`);
    await sw.waitClosed();
    assert.equal(ctl.datapaths().length, 0);
  });
});

describe('requests', () => {
  it('correlates replies by xid even out of order', async () => {
    const { ctl } = await startController();
    const held: number[] = [];
    const { sw, dp } = await startSwitch(ctl, {
      dpid: 1n,
      onMessage: (m) => {
        if (m.type !== 'getConfigRequest') return false;
        held.push(m.xid);
        return true;
      },
    });
    const a = dp.request({ type: 'getConfigRequest' });
    const b = dp.request({ type: 'getConfigRequest' });
    await until(() => held.length === 2);
    sw.send({ type: 'getConfigReply', xid: held[1]!, flags: 0, missSendLen: 222 });
    sw.send({ type: 'getConfigReply', xid: held[0]!, flags: 0, missSendLen: 111 });
    assert.equal((await a).missSendLen, 111);
    assert.equal((await b).missSendLen, 222);
  });

  it('reassembles multipart replies sent with the MORE flag', async () => {
    const { ctl } = await startController();
    const { dp } = await startSwitch(ctl, {
      dpid: 1n,
      onMessage: (m, sw) => {
        if (m.type !== 'multipartRequest' || m.body.kind !== 'portStats') return false;
        const stat = (portNo: number) => ({
          portNo,
          rxPackets: BigInt(portNo),
          txPackets: 0n,
          rxBytes: 0n,
          txBytes: 0n,
          rxDropped: 0n,
          txDropped: 0n,
          rxErrors: 0n,
          txErrors: 0n,
          rxFrameErr: 0n,
          rxOverErr: 0n,
          rxCrcErr: 0n,
          collisions: 0n,
          durationSec: 1,
          durationNsec: 0,
        });
        sw.send({
          type: 'multipartReply',
          xid: m.xid,
          flags: 1,
          body: { kind: 'portStats', stats: [stat(1), stat(2)] },
        });
        sw.send({
          type: 'multipartReply',
          xid: m.xid,
          flags: 1,
          body: { kind: 'portStats', stats: [stat(3)] },
        });
        sw.send({
          type: 'multipartReply',
          xid: m.xid,
          flags: 0,
          body: { kind: 'portStats', stats: [stat(4)] },
        });
        return true;
      },
    });
    const body = await dp.stats({ kind: 'portStats', portNo: 0xffffffff });
    assert.equal(body.kind, 'portStats');
    assert.deepEqual(
      body.stats.map((s) => s.portNo),
      [1, 2, 3, 4],
    );
  });

  it('barrier resolves after the commands sent before it, in order on the wire', async () => {
    const { ctl } = await startController();
    const { sw, dp } = await startSwitch(ctl, { dpid: 1n });
    const x1 = dp.send(flowMod({ priority: 1 }));
    const x2 = dp.send(flowMod({ priority: 2 }));
    await dp.barrier();
    const afterHandshake = sw.received.slice(sw.received.findIndex((m) => m.type === 'barrierRequest') + 1);
    const seen = afterHandshake.filter((m) => m.type === 'flowMod' || m.type === 'barrierRequest');
    assert.deepEqual(
      seen.map((m) => m.type),
      ['flowMod', 'flowMod', 'barrierRequest'],
    );
    assert.deepEqual(
      seen.slice(0, 2).map((m) => m.xid),
      [x1, x2],
    );
    assert.ok(x2 > x1 && x1 > 0);
  });

  it('rejects a request answered by an error with OpenFlowError', async () => {
    const { ctl } = await startController();
    const { dp } = await startSwitch(ctl, {
      dpid: 2n,
      onMessage: (m, sw) => {
        if (m.type !== 'multipartRequest' || m.body.kind !== 'flow') return false;
        sw.send({ type: 'error', xid: m.xid, errorType: 1, code: 2, data: encodeMessage(m).subarray(0, 64) });
        return true;
      },
    });
    await assert.rejects(
      dp.stats({
        kind: 'flow',
        tableId: 0xff,
        outPort: 0xffffffff,
        outGroup: 0xffffffff,
        cookie: 0n,
        cookieMask: 0n,
        match: { fields: [] },
      }),
      (err: unknown) => {
        assert.ok(err instanceof OpenFlowError);
        assert.equal(err.datapathId, 2n);
        assert.equal(err.error.type === 'error' && err.error.errorType, 1);
        assert.match(err.message, /BAD_REQUEST\/BAD_MULTIPART/);
        return true;
      },
    );
  });

  it('reports errors for fire-and-forget commands as error events with the original command', async () => {
    const { ctl } = await startController();
    const { sw, dp } = await startSwitch(ctl, {
      dpid: 2n,
      onMessage: (m, s) => {
        if (m.type !== 'flowMod' || m.priority !== 66) return false;
        s.send({ type: 'error', xid: m.xid, errorType: 5, code: 1, data: new Uint8Array(0) });
        return true;
      },
    });
    const errors: { xid: number; request?: unknown }[] = [];
    ctl.on('error', ({ msg, request }) => {
      errors.push({ xid: msg.xid, request });
    });
    dp.send(flowMod({ priority: 1 }));
    const cmd = flowMod({ priority: 66, match: matchOf({ in_port: 3 }) });
    const xid = dp.send(cmd);
    await until(() => errors.length === 1);
    assert.equal(errors[0]!.xid, xid);
    assert.deepEqual(errors[0]!.request, { ...cmd, xid });
    // An error with an unknown xid still reaches the apps (without a request).
    sw.send({ type: 'error', xid: 0xdead, errorType: 1, code: 1, data: new Uint8Array(0) });
    await until(() => errors.length === 2);
    assert.equal(errors[1]!.request, undefined);
  });

  it('forgets commands confirmed by a barrier (an error for them has no request)', async () => {
    const { ctl } = await startController();
    const { sw, dp } = await startSwitch(ctl, { dpid: 2n });
    const errors: unknown[] = [];
    ctl.on('error', ({ request }) => {
      errors.push(request);
    });
    const xid = dp.send(flowMod({ priority: 5 }));
    await dp.barrier();
    sw.send({ type: 'error', xid, errorType: 5, code: 1, data: new Uint8Array(0) });
    await until(() => errors.length === 1);
    assert.equal(errors[0], undefined);
  });

  it('times out a request with DatapathGoneError and rejects pending ones when the switch goes', async () => {
    const { ctl } = await startController();
    const { sw, dp } = await startSwitch(ctl, {
      dpid: 4n,
      onMessage: (m) => m.type === 'getConfigRequest' || m.type === 'getAsyncRequest',
    });
    await assert.rejects(dp.request({ type: 'getConfigRequest' }, { timeoutMs: 50 }), DatapathGoneError);
    const pending = dp.request({ type: 'getAsyncRequest' });
    await delay(20);
    sw.close();
    await assert.rejects(pending, DatapathGoneError);
    await until(() => !dp.connected);
    assert.equal(dp.send(flowMod({})), 0);
    await assert.rejects(dp.barrier(), DatapathGoneError);
  });

  it('answers an unknown message type with BAD_REQUEST/BAD_TYPE and stays up', async () => {
    const { ctl } = await startController();
    const { sw, dp } = await startSwitch(ctl, { dpid: 8n });
    sw.sendRaw(Buffer.from([4, 99, 0, 8, 0, 0, 0, 42]));
    const err = await sw.waitFor((m) => m.type === 'error' && m.xid === 42);
    assert.equal(err.type === 'error' && err.errorType, 1);
    assert.equal(err.type === 'error' && err.code, 1);
    await dp.barrier();
    assert.equal(dp.connected, true);
  });
});

describe('events', () => {
  it('dispatches packet-in with in_port, flow-removed, port-status (updating dp.ports)', async () => {
    const { ctl } = await startController();
    const { sw, dp } = await startSwitch(ctl, { dpid: 1n, ports: [1, 2] });
    const got: string[] = [];
    ctl.on('packetIn', ({ inPort, msg }) => {
      got.push(`pi:${inPort}:${msg.data.length}`);
    });
    ctl.on('flowRemoved', ({ msg }) => {
      got.push(`fr:${msg.priority}`);
    });
    ctl.on('portStatus', ({ msg }) => {
      got.push(`ps:${msg.reason}:${msg.port.portNo}`);
    });
    sw.send({
      type: 'packetIn',
      xid: 0,
      bufferId: 0xffffffff,
      totalLen: 60,
      reason: 0,
      tableId: 0,
      cookie: 0n,
      match: matchOf({ in_port: 2 }),
      data: new Uint8Array(60),
    });
    sw.send({
      type: 'flowRemoved',
      xid: 0,
      cookie: 0n,
      priority: 9,
      reason: 0,
      tableId: 0,
      durationSec: 1,
      durationNsec: 0,
      idleTimeout: 5,
      hardTimeout: 0,
      packetCount: 0n,
      byteCount: 0n,
      match: { fields: [] },
    });
    sw.send({ type: 'portStatus', xid: 0, reason: 0, port: port(7) });
    sw.send({ type: 'portStatus', xid: 0, reason: 1, port: port(1) });
    await until(() => got.length === 4);
    assert.deepEqual(got, ['pi:2:60', 'fr:9', 'ps:0:7', 'ps:1:1']);
    assert.deepEqual([...dp.ports.keys()].sort(), [2, 7]);
  });

  it('delivers a packet-in that follows the handshake barrier reply in the same chunk', async () => {
    const { ctl } = await startController();
    const got: number[] = [];
    ctl.on('packetIn', ({ inPort }) => {
      got.push(inPort);
    });
    const sw = new FakeSwitch({
      dpid: 0x55n,
      onMessage: (m, s) => {
        if (m.type !== 'barrierRequest') return false;
        const pi = encodeMessage({
          type: 'packetIn',
          xid: 0,
          bufferId: 0xffffffff,
          totalLen: 14,
          reason: 0,
          tableId: 0,
          cookie: 0n,
          match: matchOf({ in_port: 4 }),
          data: new Uint8Array(14),
        });
        s.sendRaw(Buffer.concat([encodeMessage({ type: 'barrierReply', xid: m.xid }), pi]));
        return true;
      },
    });
    switches.push(sw);
    await sw.connect(ctl.addresses()[0]!);
    await until(() => got.length === 1);
    assert.deepEqual(got, [4]);
  });

  it('keeps dispatching when an app listener throws or rejects', async () => {
    const { ctl } = await startController();
    const { sw } = await startSwitch(ctl, { dpid: 1n });
    let n = 0;
    ctl.on('packetIn', () => {
      throw new Error('app bug');
    });
    ctl.on('packetIn', async () => {
      throw new Error('async app bug');
    });
    ctl.on('packetIn', () => {
      n++;
    });
    const pi = {
      type: 'packetIn' as const,
      xid: 0,
      bufferId: 0xffffffff,
      totalLen: 14,
      reason: 0,
      tableId: 0,
      cookie: 0n,
      match: matchOf({ in_port: 1 }),
      data: new Uint8Array(14),
    };
    sw.send(pi);
    sw.send(pi);
    await until(() => n === 2);
  });

  it('lets an app reply to a packet-in with flow-mod + packet-out in one write', async () => {
    const { ctl } = await startController();
    const { sw } = await startSwitch(ctl, { dpid: 1n });
    ctl.on('packetIn', ({ dp, msg, inPort }) => {
      dp.send(flowMod({ match: matchOf({ in_port: inPort }), priority: 10 }));
      dp.send(
        packetOut({ inPort, data: msg.data, actions: [{ type: 'output', port: 0xfffffffb, maxLen: 0 }] }),
      );
    });
    sw.send({
      type: 'packetIn',
      xid: 0,
      bufferId: 0xffffffff,
      totalLen: 14,
      reason: 0,
      tableId: 0,
      cookie: 0n,
      match: matchOf({ in_port: 2 }),
      data: new Uint8Array(14),
    });
    const po = await sw.waitFor((m) => m.type === 'packetOut');
    assert.equal(po.type === 'packetOut' && po.inPort, 2);
    assert.ok(sw.received.some((m) => m.type === 'flowMod' && m.priority === 10));
  });
});

describe('datapath replacement', () => {
  it('a second connection with the same dpid replaces the first: down then up', async () => {
    const { ctl, events } = await startController();
    const first = await startSwitch(ctl, { dpid: 0xabn });
    const second = await startSwitch(ctl, { dpid: 0xabn });
    await first.sw.waitClosed();
    assert.deepEqual(
      events.map((e) => e.type),
      ['up', 'down', 'up'],
    );
    assert.match(events[1]!.reason!, /replaced by a new connection/);
    assert.equal(first.dp.connected, false);
    assert.equal(second.dp.connected, true);
    assert.notEqual(first.dp, second.dp);
    assert.equal(ctl.datapath(0xabn), second.dp);
    assert.equal(ctl.datapaths().length, 1);
    await second.dp.barrier();
  });
});

describe('roles', () => {
  it('requests master at connect with increasing generation ids; setRole changes it', async () => {
    const { ctl } = await startController({ role: 'master', generationId: 100n });
    const { sw, dp } = await startSwitch(ctl, { dpid: 1n });
    const rr = sw.received.find((m) => m.type === 'roleRequest');
    assert.ok(rr && rr.type === 'roleRequest');
    assert.equal(rr.role, 2);
    assert.equal(rr.generationId, 101n);
    assert.equal((dp as unknown as { role: string }).role, 'master');
    const reply = await ctl.setRole(1n, 'slave');
    assert.equal(reply.role, 3);
    assert.equal(sw.generationId, 102n);
    assert.equal((dp as unknown as { role: string }).role, 'slave');
  });

  it('handles a STALE role error: setRole rejects, the session stays up', async () => {
    const { ctl, lines } = await startController();
    const { dp } = await startSwitch(ctl, {
      dpid: 1n,
      onMessage: (m, sw) => {
        if (m.type !== 'roleRequest') return false;
        sw.send({ type: 'error', xid: m.xid, errorType: 11, code: 0, data: new Uint8Array(0) });
        return true;
      },
    });
    await assert.rejects(ctl.setRole(1n, 'master'), OpenFlowError);
    await until(() => lines.some((l) => String(l.msg).includes('STALE')));
    assert.equal(dp.connected, true);
    await dp.barrier();
  });
});

describe('malformed input', () => {
  async function twoSwitches() {
    const env = await startController();
    const good = await startSwitch(env.ctl, { dpid: 0x900n });
    return { ...env, good };
  }

  async function stillWorks(good: { dp: Datapath }) {
    await good.dp.barrier();
    assert.equal(good.dp.connected, true);
  }

  it('closes a client sending garbage bytes (bad length) before the hello; others carry on', async () => {
    const { ctl, lines, good } = await twoSwitches();
    const bad = new FakeSwitch({ dpid: 1n, silent: true });
    switches.push(bad);
    await bad.connect(ctl.addresses()[0]!);
    bad.sendRaw(Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n'));
    await bad.waitClosed();
    await until(() => lines.some((l) => String(l.msg).startsWith('malformed input')));
    const line = lines.find((l) => String(l.msg).startsWith('malformed input'))!;
    assert.ok(String(line.peer).startsWith('127.0.0.1:'));
    assert.equal(line.field, 'header.type');
    assert.equal(line.offset, 1);
    await stillWorks(good);
  });

  it('closes an up switch that sends a message with a bad length; names dpid and offset', async () => {
    const { ctl, lines, events, good } = await twoSwitches();
    const { sw } = await startSwitch(ctl, { dpid: 0x77n });
    sw.sendRaw(Buffer.from([4, 10, 0, 4, 0, 0, 0, 0])); // header length 4 < 8
    await sw.waitClosed();
    await until(() => events.some((e) => e.type === 'down' && e.dpid === 0x77n));
    const line = lines.find((l) => String(l.msg).startsWith('malformed input'))!;
    assert.equal(line.dpid, '0x0000000000000077');
    assert.match(String(line.msg), /below 8/);
    await stillWorks(good);
  });

  it('closes a switch whose message does not decode (truncated packet-in); logs type, field, offset', async () => {
    const { ctl, lines, good } = await twoSwitches();
    const { sw } = await startSwitch(ctl, { dpid: 0x78n });
    // A packet-in of 20 bytes: header + buffer_id + total_len + reason + table_id + 4 bytes of cookie.
    const bytes = Buffer.alloc(20);
    bytes.writeUInt8(4, 0);
    bytes.writeUInt8(10, 1);
    bytes.writeUInt16BE(20, 2);
    sw.sendRaw(bytes);
    await sw.waitClosed();
    await until(() => lines.some((l) => String(l.msg).startsWith('malformed input')));
    const line = lines.find((l) => String(l.msg).startsWith('malformed input'))!;
    assert.equal(line.dpid, '0x0000000000000078');
    assert.equal(line.msgType, 'packetIn');
    assert.equal(typeof line.field, 'string');
    assert.equal(typeof line.offset, 'number');
    await stillWorks(good);
  });

  it('closes a switch that switches OpenFlow version mid-session', async () => {
    const { ctl, good } = await twoSwitches();
    const { sw } = await startSwitch(ctl, { dpid: 0x79n });
    sw.sendRaw(Buffer.from([1, 2, 0, 8, 0, 0, 0, 1])); // OF1.0 echo request
    await sw.waitClosed();
    await stillWorks(good);
  });

  it('survives random garbage on many connections (never crashes)', async () => {
    const { ctl, good } = await twoSwitches();
    for (let i = 0; i < 20; i++) {
      const bad = new FakeSwitch({ dpid: 1n, silent: i % 2 === 0 });
      switches.push(bad);
      await bad.connect(ctl.addresses()[0]!);
      const junk = Buffer.alloc(64 + i * 13);
      for (let j = 0; j < junk.length; j++) junk[j] = (j * 131 + i * 17) & 0xff;
      junk[0] = 4;
      bad.sendRaw(junk);
      bad.socket.end();
    }
    await delay(100);
    await stillWorks(good);
  });
});

describe('back-pressure', () => {
  it('pauses reading from a switch that does not read, resumes on drain', async () => {
    const { ctl } = await startController({ writeHighWaterBytes: 64 * 1024, writeHardLimitBytes: 256 << 20 });
    const { sw, dp } = await startSwitch(ctl, { dpid: 1n });
    sw.socket.pause();
    const session = ctl.sessionList()[0]!;
    const data = new Uint8Array(60000);
    for (let i = 0; i < 400 && !session.paused; i++) {
      dp.send(packetOut({ data, actions: [] }));
      await delay(1);
    }
    assert.equal(session.paused, true);
    assert.equal(dp.connected, true);
    sw.socket.resume();
    await until(() => !session.paused, 5000, 'resume');
    await dp.barrier();
  });

  it('closes a switch that never reads once the hard limit is reached; memory stays bounded', async () => {
    const hard = 2 << 20;
    const { ctl, events } = await startController({
      writeHighWaterBytes: 256 * 1024,
      writeHardLimitBytes: hard,
    });
    const other = await startSwitch(ctl, { dpid: 2n });
    const { sw, dp } = await startSwitch(ctl, { dpid: 1n });
    sw.socket.pause();
    const session = ctl.sessionList().find((s) => s.dp.id === 1n)!;
    const data = new Uint8Array(60000);
    let maxQueued = 0;
    for (let i = 0; i < 5000 && dp.connected; i++) {
      dp.send(packetOut({ data, actions: [] }));
      maxQueued = Math.max(maxQueued, session.socket.writableLength);
      if (i % 20 === 0) await delay(1);
    }
    assert.equal(dp.connected, false);
    assert.ok(maxQueued <= hard, `queued ${maxQueued}`);
    const down = events.find((e) => e.type === 'down' && e.dpid === 1n);
    assert.match(down!.reason!, /send queue exceeded/);
    await other.dp.barrier();
    assert.equal(other.dp.connected, true);
  });
});

describe('lifecycle', () => {
  it('listens on a unix socket, replacing a stale socket file but never a live one', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'vnm-sock-'));
    const path = join(dir, 'ctl.sock');
    try {
      // A controller that died without cleaning up leaves its socket file behind.
      const child = spawn(process.execPath, [
        '-e',
        `require('net').createServer().listen(${JSON.stringify(path)})`,
      ]);
      await until(() => existsSync(path), 5000, 'socket file');
      child.kill('SIGKILL');
      await new Promise((r) => child.once('exit', r));
      assert.ok(existsSync(path));
      const { log } = memoryLogger('silent');
      const ctl = new Controller({ listen: [{ kind: 'unix', path }], log });
      await ctl.start();
      controllers.push(ctl);
      const sw = new FakeSwitch({ dpid: 1n });
      switches.push(sw);
      const up = new Promise<void>((r) => ctl.on('switchUp', () => r()));
      await sw.connect({ kind: 'unix', path });
      await up;
      // A second controller on the same (live) path refuses to start.
      const other = new Controller({ listen: [{ kind: 'unix', path }], log });
      await assert.rejects(other.start(), /cannot listen on unix:.*EADDRINUSE/);
      await ctl.stop();
      assert.equal(existsSync(path), false, 'socket file removed on stop');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('stop() closes sessions (switchDown) and listeners', async () => {
    const { ctl, events } = await startController();
    const { sw } = await startSwitch(ctl, { dpid: 1n });
    await ctl.stop();
    await sw.waitClosed();
    assert.deepEqual(
      events.map((e) => e.type),
      ['up', 'down'],
    );
    const down = events[1] as { reason?: string } & Partial<SwitchDownEvent>;
    assert.match(down.reason!, /shutting down/);
  });
});
