// The emulated (buffering) OpenFlow 1.3 switch of test/helpers/emulated-switch.ts against the real
// controller runtime over sockets: buffered packet-ins acted on by flow-mods and packet-outs naming the
// buffer, buffer errors with the app's xid, per-switch buffer ids, and the pipeline a learning switch and
// the migration shim rely on.

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, it } from 'node:test';
import type { Datapath, ErrorEvent, PacketInEvent } from '../../../src/api/types.ts';
import { createApp } from '../../../src/apps/l2-learning.ts';
import {
  type Action,
  applyActions,
  BadRequestCode,
  ErrorType,
  FlowModCommand,
  FlowModFlags,
  FlowRemovedReason,
  flowMod,
  GroupModCommand,
  GroupType,
  matchOf,
  NO_BUFFER,
  output,
  PacketInReason,
  Port,
  packetOut,
  Table,
  VID_PRESENT,
} from '../../../src/openflow/index.ts';
import { buildIpv4Udp, ethernetHeaderOf, parsePacket } from '../../../src/packet/index.ts';
import { Controller, type ControllerOptions } from '../../../src/runtime/controller.ts';
import { EmulatedSwitch, type EmulatedSwitchOptions } from '../../helpers/emulated-switch.ts';
import { memoryLogger, until } from './fake-switch.ts';

const H1 = '02:00:00:00:01:01';
const H2 = '02:00:00:00:01:02';
const H3 = '02:00:00:00:01:03';

/** An IPv4/UDP frame of exactly `size` bytes whose payload bytes carry `tag` (so two frames differ). */
function frame(size: number, tag = 0, src = H1, dst = H2): Uint8Array {
  const payload = new Uint8Array(size - 14 - 20 - 8);
  for (let i = 0; i < payload.length; i++) payload[i] = (i + tag * 7) & 0xff;
  const f = buildIpv4Udp({
    srcMac: src,
    dstMac: dst,
    srcIp: '10.0.0.1',
    dstIp: '10.0.0.2',
    srcPort: 1000 + tag,
    dstPort: 2000,
    payload,
  });
  assert.equal(f.length, size);
  return f;
}

/** Byte-for-byte equality (Buffer and Uint8Array alike), shown as hex on failure. */
function sameBytes(actual: Uint8Array | undefined, expected: Uint8Array): void {
  assert.ok(actual, 'no bytes');
  assert.equal(Buffer.from(actual).toString('hex'), Buffer.from(expected).toString('hex'));
}

const cleanups: (() => void | Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function startController(opts: ControllerOptions = {}) {
  const { log } = memoryLogger('warn');
  const ctl = new Controller({ listen: [{ kind: 'tcp', host: '127.0.0.1', port: 0 }], log, ...opts });
  await ctl.start();
  cleanups.push(() => ctl.stop());
  return ctl;
}

async function startSwitch(
  ctl: Controller,
  opts: EmulatedSwitchOptions,
  target?: string,
): Promise<{ sw: EmulatedSwitch; dp: Datapath }> {
  const sw = new EmulatedSwitch(opts);
  cleanups.push(() => {
    sw.close();
    assert.deepEqual(sw.internalErrors, []);
  });
  const up = new Promise<Datapath>((resolve) => {
    const off = ctl.on('switchUp', ({ dp }) => {
      if (dp.id !== opts.dpid) return;
      off();
      resolve(dp);
    });
  });
  await sw.connect(target ?? ctl.addresses()[0]!);
  const dp = await up;
  await sw.waitForHandshake();
  return { sw, dp };
}

function nextEvent<T>(subscribe: (fn: (ev: T) => void) => () => void, timeoutMs = 2000): Promise<T> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => {
      off();
      reject(new Error('timed out waiting for an event'));
    }, timeoutMs);
    const off = subscribe((ev) => {
      clearTimeout(t);
      off();
      resolve(ev);
    });
  });
}

describe('emulated switch: handshake', () => {
  it('answers the runtime handshake with its dpid, buffers, tables and named ports (tcp: string)', async () => {
    const ctl = await startController({ missSendLen: 128 });
    const addr = ctl.addresses()[0]!;
    const { sw, dp } = await startSwitch(
      ctl,
      {
        dpid: 0xabcn,
        nBuffers: 64,
        nTables: 8,
        ports: [{ portNo: 1, name: 'veth-h1', hwAddr: '0a:00:00:00:00:01' }, 2, 3],
      },
      addr.kind === 'tcp' ? `tcp:${addr.host}:${addr.port}` : undefined,
    );
    assert.equal(dp.id, 0xabcn);
    assert.equal(dp.nBuffers, 64);
    assert.equal(dp.nTables, 8);
    assert.deepEqual(
      [...dp.ports.values()].map((p) => [p.portNo, p.name, p.hwAddr]),
      [
        [1, 'veth-h1', '0a:00:00:00:00:01'],
        [2, 'p2', '02:00:00:00:00:02'],
        [3, 'p3', '02:00:00:00:00:03'],
      ],
    );
    assert.equal(sw.missSendLen, 128);
    const cfg = await dp.request({ type: 'getConfigRequest' });
    assert.equal(cfg.missSendLen, 128);
    const desc = await dp.stats({ kind: 'desc' });
    assert.equal(desc.hwDesc, 'emulated switch');
    await dp.request({ type: 'echoRequest', data: new Uint8Array([1, 2, 3]) });
  });

  it('connects over a unix socket too', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'vnm-emu-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const path = join(dir, 'ctl.sock');
    const ctl = await startController({ listen: [{ kind: 'unix', path }] });
    const { sw, dp } = await startSwitch(ctl, { dpid: 7n }, `unix:${path}`);
    assert.equal(dp.id, 7n);
    assert.equal(sw.missSendLen, 0xffff); // the runtime's default: no buffering
  });
});

/**
 * A tiny app on the runtime: every packet-in is recorded and answered according to `mode`, naming the
 * packet-in's buffer. Returns the packet-ins seen and the xids the app used.
 */
function bufferApp(ctl: Controller, mode: 'flowMod' | 'packetOut' | 'none', outPort = 2) {
  const seen: PacketInEvent[] = [];
  const xids: number[] = [];
  ctl.on('packetIn', (ev) => {
    seen.push(ev);
    const { dp, msg, inPort } = ev;
    if (mode === 'flowMod') {
      xids.push(
        dp.send(
          flowMod({
            priority: 10,
            match: matchOf({ in_port: inPort, eth_dst: ethernetHeaderOf(msg.data).dst }),
            instructions: [applyActions(output(outPort))],
            bufferId: msg.bufferId,
          }),
        ),
      );
    } else if (mode === 'packetOut') {
      xids.push(dp.send(packetOut({ bufferId: msg.bufferId, inPort, actions: [output(outPort)] })));
    }
  });
  return { seen, xids };
}

describe('emulated switch: buffered packet-ins', () => {
  it('buffers a table miss larger than miss_send_len; a flow-mod naming the buffer releases that packet', async () => {
    const ctl = await startController({ missSendLen: 128 });
    const app = bufferApp(ctl, 'flowMod', 2);
    const { sw } = await startSwitch(ctl, { dpid: 1n, nBuffers: 256 });
    const pkt = frame(1000, 1);
    const r = sw.inject(1, pkt);
    assert.equal(r.packetIns.length, 1);
    assert.equal(r.transmitted.length, 0);
    assert.deepEqual(sw.buffers(), [r.packetIns[0]!.bufferId]); // held until the controller answers
    await until(() => app.seen.length === 1, 2000, 'the packet-in at the app');
    const pin = app.seen[0]!.msg;
    assert.notEqual(pin.bufferId, NO_BUFFER);
    assert.equal(pin.totalLen, 1000);
    assert.equal(pin.data.length, 128);
    sameBytes(pin.data, pkt.subarray(0, 128));
    assert.equal(pin.reason, PacketInReason.NO_MATCH);
    assert.equal(app.seen[0]!.inPort, 1);

    const t = await sw.waitForTransmit((x) => x.cause === 'flowMod');
    assert.equal(t.port, 2);
    assert.equal(t.bufferId, pin.bufferId);
    assert.equal(t.xid, app.xids[0]);
    sameBytes(t.bytes, pkt); // the whole 1000-byte packet, not the 128 bytes the controller saw
    assert.deepEqual(sw.buffers(), []);
    assert.equal(sw.transmitted.length, 1);
    // The rule is in and counted the released packet; the next such packet needs no controller.
    const [rule] = sw.flows();
    assert.equal(rule?.priority, 10);
    assert.equal(rule?.packetCount, 1n);
    const again = sw.inject(1, frame(1000, 2));
    assert.equal(again.packetIns.length, 0);
    assert.deepEqual(
      again.transmitted.map((x) => x.port),
      [2],
    );
  });

  it('a packet-out naming the buffer releases that packet with its actions; reusing it gets BUFFER_EMPTY', async () => {
    const ctl = await startController({ missSendLen: 128 });
    const app = bufferApp(ctl, 'packetOut', 3);
    const { sw, dp } = await startSwitch(ctl, { dpid: 2n });
    const pkt = frame(1000, 3);
    sw.inject(1, pkt);
    const t = await sw.waitForTransmit((x) => x.cause === 'packetOut');
    const pin = app.seen[0]!.msg;
    assert.equal(t.port, 3);
    assert.equal(t.bufferId, pin.bufferId);
    assert.equal(t.xid, app.xids[0]);
    sameBytes(t.bytes, pkt);
    assert.deepEqual(sw.buffers(), []);
    assert.deepEqual(sw.flows(), []); // a packet-out installs nothing

    const err = nextEvent<ErrorEvent>((fn) => ctl.on('error', fn));
    const xid = dp.send(packetOut({ bufferId: pin.bufferId, inPort: 1, actions: [output(2)] }));
    const ev = await err;
    assert.equal(ev.msg.xid, xid);
    assert.equal(ev.msg.type === 'error' && ev.msg.errorType, ErrorType.BAD_REQUEST);
    assert.equal(ev.msg.type === 'error' && ev.msg.code, BadRequestCode.BUFFER_EMPTY);
    assert.equal(ev.request?.xid, xid);
    assert.equal(sw.transmitted.length, 1);
  });

  it('a bogus buffer id gets BAD_REQUEST/BUFFER_UNKNOWN back to the app with its own xid', async () => {
    const ctl = await startController({ missSendLen: 128 });
    const { sw, dp } = await startSwitch(ctl, { dpid: 3n });
    const errors: ErrorEvent[] = [];
    ctl.on('error', (ev) => {
      errors.push(ev);
    });
    const poXid = dp.send(packetOut({ bufferId: 0xbad, inPort: 1, actions: [output(2)] }));
    const fmXid = dp.send(
      flowMod({
        priority: 5,
        match: matchOf({ eth_dst: H3 }),
        instructions: [applyActions(output(2))],
        bufferId: 0xbad,
      }),
    );
    await dp.barrier();
    await until(() => errors.length === 2, 2000, 'two errors');
    for (const [ev, xid, type] of [
      [errors[0]!, poXid, 'packetOut'],
      [errors[1]!, fmXid, 'flowMod'],
    ] as const) {
      assert.equal(ev.msg.xid, xid);
      assert.equal(ev.msg.type === 'error' && ev.msg.errorType, ErrorType.BAD_REQUEST);
      assert.equal(ev.msg.type === 'error' && ev.msg.code, BadRequestCode.BUFFER_UNKNOWN);
      assert.equal(ev.request?.type, type);
      assert.equal(ev.request?.xid, xid);
    }
    // As on Open vSwitch, the flow-mod itself is applied; only its buffer is refused.
    assert.equal(sw.flows().length, 1);
    assert.equal(sw.transmitted.length, 0);
  });

  it('miss_send_len 0xffff (the runtime default) sends whole packets with NO_BUFFER', async () => {
    const ctl = await startController();
    const app = bufferApp(ctl, 'none');
    const { sw } = await startSwitch(ctl, { dpid: 4n });
    const pkt = frame(1000, 4);
    sw.inject(1, pkt);
    await until(() => app.seen.length === 1, 2000, 'the packet-in');
    const pin = app.seen[0]!.msg;
    assert.equal(pin.bufferId, NO_BUFFER);
    assert.equal(pin.totalLen, 1000);
    sameBytes(pin.data, pkt);
    assert.deepEqual(sw.buffers(), []);
  });

  it('a packet that fits is sent whole and unbuffered; with every buffer taken, big ones go whole too', async () => {
    const ctl = await startController({ missSendLen: 128 });
    const app = bufferApp(ctl, 'none');
    const { sw } = await startSwitch(ctl, { dpid: 5n, nBuffers: 2, firstBufferId: 100 });
    sw.inject(1, frame(100, 1));
    sw.inject(1, frame(1000, 2));
    sw.inject(1, frame(1000, 3));
    sw.inject(1, frame(1000, 4));
    await until(() => app.seen.length === 4, 2000, 'four packet-ins');
    const pins = app.seen.map((e) => e.msg);
    assert.deepEqual(
      pins.map((p) => [p.bufferId, p.data.length, p.totalLen]),
      [
        [NO_BUFFER, 100, 100],
        [100, 128, 1000],
        [101, 128, 1000],
        [NO_BUFFER, 1000, 1000],
      ],
    );
    assert.deepEqual(sw.buffers(), [100, 101]);
    sameBytes(sw.buffer(101)?.bytes, frame(1000, 3));
    assert.equal(sw.buffer(101)?.inPort, 1);
  });

  it('a table-miss rule with output:CONTROLLER max_len 64 buffers; its packet-in says NO_MATCH', async () => {
    const ctl = await startController();
    const app = bufferApp(ctl, 'flowMod', 4);
    const { sw, dp } = await startSwitch(ctl, { dpid: 6n });
    dp.send(flowMod({ priority: 0, instructions: [applyActions(output(Port.CONTROLLER, 64))] }));
    dp.send(
      flowMod({
        priority: 1,
        match: matchOf({ eth_src: H3 }),
        cookie: 0x77n,
        instructions: [applyActions(output(Port.CONTROLLER, 64))],
      }),
    );
    await dp.barrier();
    const pkt = frame(600, 5);
    sw.inject(1, pkt);
    const t = await sw.waitForTransmit();
    assert.equal(t.port, 4);
    sameBytes(t.bytes, pkt);
    const pin = app.seen[0]!.msg;
    assert.equal(pin.data.length, 64);
    assert.equal(pin.reason, PacketInReason.NO_MATCH);
    assert.equal(pin.cookie, 0n);
    // A rule that is not the table-miss rule sends reason ACTION with its cookie.
    sw.inject(2, frame(600, 6, H3, H1));
    await until(() => app.seen.length === 2, 2000, 'the second packet-in');
    assert.equal(app.seen[1]!.msg.reason, PacketInReason.ACTION);
    assert.equal(app.seen[1]!.msg.cookie, 0x77n);
    await sw.waitForTransmit((t) => t.bufferId === app.seen[1]!.msg.bufferId);
    assert.deepEqual(sw.buffers(), []);
  });

  it('two switches with overlapping buffer ids: a packet-out naming buffer 7 of A releases A’s packet', async () => {
    const ctl = await startController({ missSendLen: 128 });
    const app = bufferApp(ctl, 'none');
    const a = await startSwitch(ctl, { dpid: 0xan, firstBufferId: 7 });
    const b = await startSwitch(ctl, { dpid: 0xbn, firstBufferId: 7 });
    const pa = frame(1000, 10);
    const pb = frame(1000, 11);
    b.sw.inject(1, pb);
    a.sw.inject(1, pa);
    await until(() => app.seen.length === 2, 2000, 'both packet-ins');
    assert.deepEqual(
      app.seen.map((e) => [e.dp.id, e.msg.bufferId]),
      [
        [0xbn, 7],
        [0xan, 7],
      ],
    );
    a.dp.send(packetOut({ bufferId: 7, inPort: 1, actions: [output(3)] }));
    const t = await a.sw.waitForTransmit();
    assert.equal(t.port, 3);
    assert.equal(t.bufferId, 7);
    sameBytes(t.bytes, pa);
    await a.dp.barrier();
    await b.dp.barrier();
    assert.equal(b.sw.transmitted.length, 0);
    assert.deepEqual(a.sw.buffers(), []);
    assert.deepEqual(b.sw.buffers(), [7]);
    // B's buffer 7 is still B's packet.
    b.dp.send(
      flowMod({
        priority: 9,
        match: matchOf({ in_port: 1 }),
        instructions: [applyActions(output(2))],
        bufferId: 7,
      }),
    );
    const tb = await b.sw.waitForTransmit();
    assert.equal(tb.port, 2);
    sameBytes(tb.bytes, pb);
    assert.equal(a.sw.transmitted.length, 1);
  });

  it('buffers expire after bufferTimeoutMs (then BUFFER_EMPTY)', async () => {
    let now = 1_000_000;
    const ctl = await startController({ missSendLen: 128 });
    const app = bufferApp(ctl, 'none');
    const { sw, dp } = await startSwitch(ctl, {
      dpid: 8n,
      bufferTimeoutMs: 5000,
      clock: () => now,
      sweepIntervalMs: 0,
    });
    sw.inject(1, frame(1000));
    await until(() => app.seen.length === 1, 2000, 'the packet-in');
    now += 5000;
    sw.sweep();
    assert.deepEqual(sw.buffers(), []);
    const err = nextEvent<ErrorEvent>((fn) => ctl.on('error', fn));
    dp.send(packetOut({ bufferId: app.seen[0]!.msg.bufferId, inPort: 1, actions: [output(2)] }));
    const ev = await err;
    assert.equal(ev.msg.type === 'error' && ev.msg.code, BadRequestCode.BUFFER_EMPTY);
  });
});

describe('emulated switch: pipeline', () => {
  it('runs l2-learning: flood, learn, then forward by rule', async () => {
    const ctl = await startController();
    const app = createApp();
    await app.start(ctl, { idleTimeout: 0 });
    cleanups.push(() => app.stop?.());
    const { sw, dp } = await startSwitch(ctl, { dpid: 0x11n, ports: [1, 2, 3] });
    await dp.barrier();
    assert.equal(sw.flows().length, 1); // the table-miss rule
    sw.inject(1, frame(200, 1, H1, H2)); // unknown destination: flooded by packet-out
    await until(() => sw.transmitted.length === 2, 2000, 'the flood');
    assert.deepEqual(
      sw.transmitted.map((t) => t.port),
      [2, 3],
    );
    sw.inject(2, frame(200, 2, H2, H1)); // H1 is known: rule + packet-out to port 1
    await until(() => sw.transmitted.length === 3, 2000, 'the reply');
    assert.equal(sw.transmitted[2]!.port, 1);
    await dp.barrier();
    const r = sw.inject(2, frame(200, 3, H2, H1)); // now by rule, no controller
    assert.deepEqual(
      r.transmitted.map((t) => t.port),
      [1],
    );
    assert.equal(r.packetIns.length, 0);
  });

  it('goto_table, metadata, write-actions, push/set/pop VLAN, groups ALL and INDIRECT, FLOOD and IN_PORT', async () => {
    const ctl = await startController();
    const { sw, dp } = await startSwitch(ctl, { dpid: 0x12n, ports: [1, 2, 3, 4] });
    const send = (m: Parameters<Datapath['send']>[0]) => dp.send(m);
    // Group 1 (INDIRECT): tag 42 and out 3. Group 2 (ALL): out 2 and out 4.
    send({
      type: 'groupMod',
      command: GroupModCommand.ADD,
      groupType: GroupType.INDIRECT,
      groupId: 1,
      buckets: [
        {
          weight: 0,
          watchPort: Port.ANY,
          watchGroup: 0xffffffff,
          actions: [
            { type: 'pushVlan', ethertype: 0x8100 },
            { type: 'setField', field: { field: 'vlan_vid', value: VID_PRESENT | 42 } },
            output(3),
          ],
        },
      ],
    });
    send({
      type: 'groupMod',
      command: GroupModCommand.ADD,
      groupType: GroupType.ALL,
      groupId: 2,
      buckets: [2, 4].map((p) => ({
        weight: 0,
        watchPort: Port.ANY,
        watchGroup: 0xffffffff,
        actions: [output(p)],
      })),
    });
    // Table 0: classify in_port into metadata, go to table 1 (as the shim's classifier does).
    send(
      flowMod({
        tableId: 0,
        priority: 10,
        match: matchOf({ in_port: 1 }),
        instructions: [
          { type: 'writeMetadata', metadata: 1n << 32n, metadataMask: 0xffffn << 32n },
          { type: 'gotoTable', tableId: 1 },
        ],
      }),
    );
    send(
      flowMod({
        tableId: 0,
        priority: 10,
        match: matchOf({ in_port: 3, vlan_vid: VID_PRESENT | 42 }),
        instructions: [
          applyActions({ type: 'popVlan' }),
          { type: 'writeMetadata', metadata: 3n << 32n, metadataMask: 0xffffn << 32n },
          { type: 'gotoTable', tableId: 1 },
        ],
      }),
    );
    // Table 1: by metadata (masked) and eth_dst.
    send(
      flowMod({
        tableId: 1,
        priority: 20,
        match: matchOf({ metadata: { value: 1n << 32n, mask: 0xffffn << 32n }, eth_dst: H2 }),
        instructions: [{ type: 'writeActions', actions: [{ type: 'group', groupId: 1 }, output(4)] }],
      }),
    );
    send(
      flowMod({
        tableId: 1,
        priority: 20,
        match: matchOf({ metadata: { value: 1n << 32n, mask: 0xffffn << 32n }, eth_dst: H3 }),
        instructions: [applyActions({ type: 'group', groupId: 2 })],
      }),
    );
    send(
      flowMod({
        tableId: 1,
        priority: 20,
        match: matchOf({ metadata: { value: 3n << 32n, mask: 0xffffn << 32n }, ipv4_dst: '10.0.0.2' }),
        instructions: [applyActions(output(Port.FLOOD))],
      }),
    );
    send(
      flowMod({
        tableId: 1,
        priority: 5,
        match: matchOf({ eth_type: 0x0800, ipv4_dst: { value: '10.0.0.0', mask: '255.255.255.0' } }),
        instructions: [
          applyActions(
            { type: 'setField', field: { field: 'eth_dst', value: H3 } },
            { type: 'setField', field: { field: 'ipv4_dst', value: '10.0.0.9' } },
            output(Port.IN_PORT),
          ),
        ],
      }),
    );
    await dp.barrier();
    assert.equal(sw.flows().length, 6);
    assert.equal(sw.groups().length, 2);

    // H1 -> H2 on port 1: group 1 wins over the output in the action set; tagged 42 out of port 3.
    const a = sw.inject(1, frame(120, 1, H1, H2));
    assert.deepEqual(
      a.transmitted.map((t) => t.port),
      [3],
    );
    const tagged = parsePacket(a.transmitted[0]!.bytes);
    assert.deepEqual(
      tagged.eth.vlans.map((v) => v.vid),
      [42],
    );
    assert.equal(tagged.eth.dst, H2);

    // H1 -> H3: group ALL to ports 2 and 4.
    const b = sw.inject(1, frame(120, 2, H1, H3));
    assert.deepEqual(
      b.transmitted.map((t) => t.port),
      [2, 4],
    );

    // The tagged packet back in on port 3: popped, metadata 3, ipv4_dst 10.0.0.2 -> FLOOD (not port 3).
    const c = sw.inject(3, a.transmitted[0]!.bytes);
    assert.deepEqual(
      c.transmitted.map((t) => t.port),
      [1, 2, 4],
    );
    sameBytes(c.transmitted[0]!.bytes, frame(120, 1, H1, H2));

    // No metadata rule for port 2 ingress: table 0 misses -> packet-in (tableMiss 'controller').
    const d = sw.inject(2, frame(120, 3, H1, H2));
    assert.equal(d.packetIns.length, 1);
    assert.equal(d.packetIns[0]!.tableId, 0);

    // Rewrite L2 + L3 and send back out of the ingress port (IN_PORT), checksums recomputed.
    send(flowMod({ tableId: 0, priority: 1, instructions: [{ type: 'gotoTable', tableId: 1 }] }));
    await dp.barrier();
    const e = sw.inject(2, frame(120, 4, H1, H2));
    assert.deepEqual(
      e.transmitted.map((t) => t.port),
      [2],
    );
    const rewritten = parsePacket(e.transmitted[0]!.bytes, { verifyChecksums: true });
    assert.equal(rewritten.eth.dst, H3);
    assert.equal(rewritten.l3?.kind === 'ipv4' && rewritten.l3.dst, '10.0.0.9');
    assert.equal(rewritten.l3?.kind === 'ipv4' && rewritten.l3.checksumValid, true);
    assert.equal(rewritten.l4?.kind === 'udp' && rewritten.l4.checksumValid, true);
  });

  it('answers flow, aggregate, table, port and group stats', async () => {
    const ctl = await startController();
    const { sw, dp } = await startSwitch(ctl, { dpid: 0x13n, nTables: 4 });
    dp.send(
      flowMod({ priority: 10, match: matchOf({ in_port: 1 }), instructions: [applyActions(output(2))] }),
    );
    dp.send(
      flowMod({
        priority: 10,
        match: matchOf({ in_port: 2 }),
        cookie: 5n,
        instructions: [applyActions(output(1))],
      }),
    );
    await dp.barrier();
    sw.inject(1, frame(100));
    sw.inject(1, frame(100));
    sw.inject(2, frame(200));
    const flows = await dp.stats({
      kind: 'flow',
      tableId: Table.ALL,
      outPort: Port.ANY,
      outGroup: 0xffffffff,
      cookie: 0n,
      cookieMask: 0n,
      match: { fields: [] },
    });
    assert.deepEqual(
      flows.stats.map((f) => [f.cookie, f.packetCount, f.byteCount]),
      [
        [0n, 2n, 200n],
        [5n, 1n, 200n],
      ],
    );
    const byCookie = await dp.stats({
      kind: 'aggregate',
      tableId: Table.ALL,
      outPort: Port.ANY,
      outGroup: 0xffffffff,
      cookie: 5n,
      cookieMask: 0xffn,
      match: { fields: [] },
    });
    assert.deepEqual([byCookie.flowCount, byCookie.packetCount, byCookie.byteCount], [1, 1n, 200n]);
    const byOutPort = await dp.stats({
      kind: 'aggregate',
      tableId: 0,
      outPort: 2,
      outGroup: 0xffffffff,
      cookie: 0n,
      cookieMask: 0n,
      match: { fields: [] },
    });
    assert.equal(byOutPort.flowCount, 1);
    const tables = await dp.stats({ kind: 'table' });
    assert.equal(tables.stats.length, 4);
    assert.deepEqual(
      [tables.stats[0]!.activeCount, tables.stats[0]!.lookupCount, tables.stats[0]!.matchedCount],
      [2, 3n, 3n],
    );
    const ports = await dp.stats({ kind: 'portStats', portNo: Port.ANY });
    const p1 = ports.stats.find((p) => p.portNo === 1)!;
    const p2 = ports.stats.find((p) => p.portNo === 2)!;
    assert.deepEqual([p1.rxPackets, p1.rxBytes, p1.txPackets], [2n, 200n, 1n]);
    assert.deepEqual([p2.rxPackets, p2.txPackets, p2.txBytes], [1n, 2n, 200n]);
    const groups = await dp.stats({ kind: 'groupDesc' });
    assert.deepEqual(groups.groups, []);

    // A flow table too big for one message comes back in several multipart replies (MORE), merged.
    for (let i = 0; i < 1500; i++)
      dp.send(
        flowMod({ tableId: 1, priority: 100, match: matchOf({ tcp_dst: i, ip_proto: 6, eth_type: 0x800 }) }),
      );
    await dp.barrier();
    const big = await dp.stats({
      kind: 'flow',
      tableId: 1,
      outPort: Port.ANY,
      outGroup: 0xffffffff,
      cookie: 0n,
      cookieMask: 0n,
      match: { fields: [] },
    });
    assert.equal(big.stats.length, 1500);
    assert.ok(sw.sent.filter((m) => m.type === 'multipartReply' && m.flags === 1).length >= 1);
  });

  it('modify/delete strict and not, flow-removed on delete and on a hard timeout', async () => {
    let now = 5_000_000;
    const ctl = await startController();
    const { sw, dp } = await startSwitch(ctl, { dpid: 0x14n, clock: () => now, sweepIntervalMs: 0 });
    const removed: number[] = [];
    ctl.on('flowRemoved', ({ msg }) => {
      removed.push(msg.reason);
    });
    const add = (
      priority: number,
      match: ReturnType<typeof matchOf>,
      extra: Partial<Parameters<typeof flowMod>[0]> = {},
    ) =>
      dp.send(
        flowMod({
          priority,
          match,
          flags: FlowModFlags.SEND_FLOW_REM,
          instructions: [applyActions(output(2))],
          ...extra,
        }),
      );
    add(10, matchOf({ in_port: 1, eth_dst: H2 }));
    add(20, matchOf({ in_port: 1, eth_dst: H2 }));
    add(10, matchOf({ in_port: 1, eth_dst: H3 }));
    add(10, matchOf({ in_port: 3 }), { hardTimeout: 2 });
    await dp.barrier();
    assert.equal(sw.flows().length, 4);

    // modify-strict touches only priority 10 (in_port 1, eth_dst H2).
    const to3: Action[] = [output(3)];
    dp.send(
      flowMod({
        command: FlowModCommand.MODIFY_STRICT,
        priority: 10,
        match: matchOf({ in_port: 1, eth_dst: H2 }),
        instructions: [applyActions(...to3)],
      }),
    );
    await dp.barrier();
    const outs = sw
      .flows()
      .map((f) => [f.priority, f.instructions[0]?.type === 'applyActions' && f.instructions[0].actions[0]]);
    assert.deepEqual(
      outs.filter(([, a]) => (a as Action).type === 'output' && (a as { port: number }).port === 3).length,
      1,
    );

    // delete-strict of priority 20; then non-strict delete of everything with in_port 1.
    dp.send(
      flowMod({
        command: FlowModCommand.DELETE_STRICT,
        priority: 20,
        match: matchOf({ in_port: 1, eth_dst: H2 }),
      }),
    );
    await dp.barrier();
    assert.equal(sw.flows().length, 3);
    dp.send(flowMod({ command: FlowModCommand.DELETE, tableId: Table.ALL, match: matchOf({ in_port: 1 }) }));
    await dp.barrier();
    assert.equal(sw.flows().length, 1);
    await until(() => removed.length === 3, 2000, 'three flow-removed');
    assert.deepEqual(removed, [FlowRemovedReason.DELETE, FlowRemovedReason.DELETE, FlowRemovedReason.DELETE]);

    // The hard timeout: 2 s on the switch's clock.
    now += 1999;
    sw.sweep();
    assert.equal(sw.flows().length, 1);
    now += 1;
    sw.sweep();
    assert.equal(sw.flows().length, 0);
    await until(() => removed.length === 4, 2000, 'the hard-timeout flow-removed');
    assert.equal(removed[3], FlowRemovedReason.HARD_TIMEOUT);
  });

  it('refuses what a real switch refuses: missing group, backward goto, overlap', async () => {
    const ctl = await startController();
    const { sw, dp } = await startSwitch(ctl, { dpid: 0x15n });
    const errors: ErrorEvent[] = [];
    ctl.on('error', (ev) => {
      errors.push(ev);
    });
    const x1 = dp.send(flowMod({ instructions: [applyActions({ type: 'group', groupId: 99 })] }));
    const x2 = dp.send(flowMod({ tableId: 2, instructions: [{ type: 'gotoTable', tableId: 1 }] }));
    dp.send(flowMod({ priority: 7, match: matchOf({ in_port: 1 }) }));
    const x3 = dp.send(
      flowMod({ priority: 7, match: matchOf({ eth_dst: H2 }), flags: FlowModFlags.CHECK_OVERLAP }),
    );
    await dp.barrier();
    await until(() => errors.length === 3, 2000, 'three errors');
    assert.deepEqual(
      errors.map((e) => [e.msg.xid, e.msg.type === 'error' ? [e.msg.errorType, e.msg.code] : []]),
      [
        [x1, [ErrorType.BAD_ACTION, 9]],
        [x2, [ErrorType.BAD_INSTRUCTION, 2]],
        [x3, [ErrorType.FLOW_MOD_FAILED, 3]],
      ],
    );
    assert.equal(sw.flows().length, 1);
  });

  it('link(): a frame out of a linked port arrives at the peer switch', async () => {
    const ctl = await startController();
    const a = await startSwitch(ctl, { dpid: 0x21n });
    const b = await startSwitch(ctl, { dpid: 0x22n });
    EmulatedSwitch.link(a.sw, 4, b.sw, 4);
    a.dp.send(flowMod({ match: matchOf({ in_port: 1 }), instructions: [applyActions(output(4))] }));
    b.dp.send(flowMod({ match: matchOf({ in_port: 4 }), instructions: [applyActions(output(2))] }));
    await a.dp.barrier();
    await b.dp.barrier();
    const pkt = frame(300, 9);
    a.sw.inject(1, pkt);
    const t = await b.sw.waitForTransmit();
    assert.equal(t.port, 2);
    sameBytes(t.bytes, pkt);
  });

  it('port changes reach the app as port-status', async () => {
    const ctl = await startController();
    const { sw, dp } = await startSwitch(ctl, { dpid: 0x23n });
    const seen: [number, number, number][] = [];
    ctl.on('portStatus', ({ msg }) => {
      seen.push([msg.reason, msg.port.portNo, msg.port.state]);
    });
    sw.setLinkDown(2, true);
    sw.addPort(9);
    await until(() => seen.length === 2, 2000, 'two port-status');
    assert.equal(seen[0]![1], 2);
    assert.equal(seen[0]![2] & 1, 1);
    assert.deepEqual(seen[1]!.slice(0, 2), [0, 9]);
    await until(() => dp.ports.has(9), 2000, 'port 9 at the app');
    // A down port forwards nothing.
    dp.send(flowMod({ match: matchOf({ in_port: 1 }), instructions: [applyActions(output(2))] }));
    await dp.barrier();
    assert.equal(sw.inject(1, frame(100)).transmitted.length, 0);
  });
});
