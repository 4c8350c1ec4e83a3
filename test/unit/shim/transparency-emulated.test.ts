// Transparency of the migration shim on emulated OpenFlow switches that BUFFER packets (what Open vSwitch no
// longer does), with the real controller runtime (sockets, xids, barriers) and the real ShimController:
// one virtual switch s1 (hosts h1..h4 on ports 1..4) whose old copy O numbers its ports 1..4 and whose new
// copy N numbers them 11..14, both with the tunnel on port 100, joined by a tunnel switch T.
//
// - Buffers (ARCHITECTURE rule 3): the runtime sets miss_send_len 128 (`missSendLen`), the app's table-miss
//   rule sends 128 bytes, so every packet-in carries a buffer id, and O and N hand out the same ids. The
//   app answers each packet-in with a flow-mod or a packet-out naming the (virtual) buffer id; the switch
//   that buffered the packet must send that exact packet out (its buffer released) and the other must not.
//   Tunnel ALAP: one packet buffered on O (old host), one on N (migrated host), both with buffer id 1.
//   Tunnel ASAP: one on O from an old host, one on O that came through the tunnel from a migrated host
//   (re-tagged and released through table 0), and after finalize one on N with the id O used before.
// - Errors (rule 7): a flow-mod every copy refuses (ASAP: each ingress variant on O; ALAP: O and N) reaches
//   the app once, with the app's xid (its own, when it chose one) and command; as on a real switch the
//   refused rule is not in the app's table afterwards, and the migration still finalizes.
// - Counters (rule 5): a host interface that moves with its counters (as the test bed's veth does) adds
//   nothing of its own to the virtual port's counters.
// Every test also checks the recording of everything the app saw (no physical dpid, port, tag, table).

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, it } from 'node:test';
import type { ControllerApi, Datapath, ErrorEvent, PacketInEvent } from '../../../src/api/types.ts';
import {
  applyActions,
  ErrorType,
  flowMod,
  matchOf,
  NO_BUFFER,
  output,
  Port,
  packetOut,
} from '../../../src/openflow/index.ts';
import { buildIpv4Udp } from '../../../src/packet/index.ts';
import { Controller } from '../../../src/runtime/controller.ts';
import { ShimController } from '../../../src/shim/controller/index.ts';
import type { Algorithm } from '../../../src/shim/model.ts';
import type { HostMover, MoveRequest } from '../../../src/shim/movers.ts';
import { type MigrationPlan, parsePlan } from '../../../src/shim/plan.ts';
import { EmulatedSwitch } from '../../helpers/emulated-switch.ts';
import { RecordingApi, show, transparencyProblems } from '../../helpers/recording-api.ts';
import { memoryLogger, until } from '../runtime/fake-switch.ts';

const O_DPID = 0x10001n;
const N_DPID = 0x20001n;
const T_DPID = 0x30001n;
const VDPID = 1n;
const TUNNEL = 100;
/** Virtual port v is v on O and 10+v on N. */
const nPort = (v: number) => 10 + v;
const mac = (i: number) => `02:00:00:00:01:0${i}`;

function planFor(algorithm: Algorithm): MigrationPlan {
  const doc = {
    version: 1,
    algorithm,
    blackoutMs: 0,
    mover: { kind: 'external', timeoutMs: 1000 },
    tunnel: { encoding: 'vlan', managePorts: true },
    tunnelSwitch: { dpid: T_DPID.toString(16).padStart(16, '0'), ports: { s1: { old: 1, new: 2 } } },
    switches: [
      {
        name: 's1',
        dpid: Number(VDPID),
        ports: [1, 2, 3, 4].map((port) => ({ port, kind: 'host' })),
        old: { dpid: O_DPID.toString(16).padStart(16, '0'), tunnelPort: TUNNEL },
        new: {
          dpid: N_DPID.toString(16).padStart(16, '0'),
          tunnelPort: TUNNEL,
          ports: { 1: nPort(1), 2: nPort(2), 3: nPort(3), 4: nPort(4) },
        },
      },
    ],
    hosts: [1, 2, 3, 4].map((i) => ({
      name: `h${i}`,
      mac: mac(i),
      ip: `10.0.0.${i}`,
      switch: 's1',
      port: i,
    })),
  };
  return parsePlan(JSON.stringify(doc), 'plan.json');
}

/** A 200-byte IPv4/UDP frame (longer than miss_send_len, so it is buffered); `tag` makes it unique. */
function frame(src: number, dst: number, tag: number): Uint8Array {
  const payload = new Uint8Array(200 - 14 - 20 - 8);
  for (let i = 0; i < payload.length; i++) payload[i] = (i * 3 + tag * 11) & 0xff;
  return buildIpv4Udp({
    srcMac: mac(src),
    dstMac: mac(dst),
    srcIp: `10.0.0.${src}`,
    dstIp: `10.0.0.${dst}`,
    srcPort: 1000 + tag,
    dstPort: 2000,
    payload,
  });
}

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

/**
 * The mover: by default nothing moves (the test injects frames where the host now is); a test can set
 * `onMove` to re-plug the host's port like a hypervisor or the test bed does.
 */
class TestMover implements HostMover {
  readonly kind = 'external' as const;
  onMove: ((req: MoveRequest) => void) | undefined;
  async move(req: MoveRequest) {
    const t = Date.now();
    this.onMove?.(req);
    return { startedAt: t, doneAt: Date.now() };
  }
}

interface Rig {
  plan: MigrationPlan;
  ctl: Controller;
  shim: ShimController;
  rec: RecordingApi;
  /** The app's view of s1. */
  dp: Datapath;
  o: EmulatedSwitch;
  n: EmulatedSwitch;
  t: EmulatedSwitch;
  packetIns: PacketInEvent[];
  errors: ErrorEvent[];
  mover: TestMover;
}

const cleanups: (() => void | Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/**
 * Runtime (miss_send_len 128) + ShimController + recording API + an app that installs a table-miss rule
 * sending 128 bytes to the controller; O, N and T connected and reconciled.
 */
async function rig(algorithm: Algorithm, nHostPorts = [1, 2, 3, 4]): Promise<Rig> {
  const { log } = memoryLogger('warn');
  const plan = planFor(algorithm);
  const runDir = mkdtempSync(join(tmpdir(), 'vnm-trn-emu-'));
  cleanups.push(() => rmSync(runDir, { recursive: true, force: true }));
  const ctl = new Controller({
    listen: [{ kind: 'tcp', host: '127.0.0.1', port: 0 }],
    missSendLen: 128,
    log,
  });
  const mover = new TestMover();
  const shim = await ShimController.create({ plan, below: ctl, runDir, mover, console: false, log });
  cleanups.push(() => shim.stop());
  const rec = new RecordingApi(shim);
  const api: ControllerApi = rec;
  const packetIns: PacketInEvent[] = [];
  const errors: ErrorEvent[] = [];
  api.on('switchUp', ({ dp }) => {
    dp.send(flowMod({ priority: 0, instructions: [applyActions(output(Port.CONTROLLER, 128))] }));
  });
  api.on('packetIn', (ev) => {
    packetIns.push(ev);
  });
  api.on('error', (ev) => {
    errors.push(ev);
  });
  await ctl.start();
  cleanups.push(() => ctl.stop());
  const o = new EmulatedSwitch({ dpid: O_DPID, ports: [1, 2, 3, 4, TUNNEL], name: 'O' });
  const n = new EmulatedSwitch({
    dpid: N_DPID,
    ports: [...nHostPorts.map(nPort), TUNNEL],
    name: 'N',
  });
  const t = new EmulatedSwitch({ dpid: T_DPID, ports: [1, 2], name: 'T' });
  EmulatedSwitch.link(o, TUNNEL, t, 1);
  EmulatedSwitch.link(n, TUNNEL, t, 2);
  for (const sw of [o, n, t]) {
    cleanups.push(() => {
      sw.close();
      assert.deepEqual(sw.internalErrors, [], `${sw.name}: the emulation failed`);
    });
    await sw.connect(ctl.addresses()[0]!);
  }
  await until(() => rec.datapaths().length === 1, 5000, 'the virtual switch up');
  await until(
    () => shim.status().switches.every((s) => s.connected) && !shim.status().busy,
    5000,
    'reconciled',
  );
  const dp = rec.datapath(VDPID)!;
  await dp.barrier();
  assert.equal(o.missSendLen, 128);
  assert.equal(n.missSendLen, 128);
  return { plan, ctl, shim, rec, dp, o, n, t, packetIns, errors, mover };
}

function checkTransparent(r: Rig): void {
  const problems = transparencyProblems(r.rec, { plan: r.plan, appTables: [0] });
  assert.deepEqual(problems, [], problems.join('\n'));
}

/** Inject a frame and wait for the app's packet-in of it (matched by its first 128 bytes). */
async function packetInOf(
  r: Rig,
  sw: EmulatedSwitch,
  port: number,
  bytes: Uint8Array,
): Promise<PacketInEvent> {
  const head = hex(bytes.subarray(0, 128));
  sw.inject(port, bytes);
  await until(
    () => r.packetIns.some((e) => hex(e.msg.data) === head),
    3000,
    `the packet-in of a frame on ${sw.name}`,
  );
  return r.packetIns.find((e) => hex(e.msg.data) === head)!;
}

/** The frame's unique bytes (UDP ports and the start of the payload), found in it even when it is tagged. */
const signature = (bytes: Uint8Array) => hex(bytes.subarray(34, 100));

/** The physical packet-in `sw` sent for that frame. */
function physicalPacketIn(sw: EmulatedSwitch, bytes: Uint8Array) {
  const p = sw.packetIns.find((m) => hex(m.data).includes(signature(bytes)));
  assert.ok(p, `${sw.name} sent no packet-in for the frame`);
  return p;
}

/** `sw` transmitted exactly these bytes out of `port`, released from its buffer `bufferId`. */
async function assertReleased(
  sw: EmulatedSwitch,
  port: number,
  bytes: Uint8Array,
  bufferId: number,
  cause: 'packetOut' | 'flowMod',
): Promise<void> {
  const t = await sw.waitForTransmit((x) => hex(x.bytes) === hex(bytes) && x.bufferId !== undefined, 3000);
  assert.equal(t.port, port, `${sw.name} sent the buffered packet out of port ${t.port}`);
  assert.equal(t.bufferId, bufferId, `${sw.name} released buffer ${t.bufferId}, not ${bufferId}`);
  assert.equal(t.cause, cause);
  assert.equal(sw.buffer(bufferId), undefined, `${sw.name} still holds buffer ${bufferId}`);
}

function neverSent(sw: EmulatedSwitch, bytes: Uint8Array, what: string): void {
  const hits = sw.transmitted.filter((x) => hex(x.bytes).includes(signature(bytes)));
  assert.deepEqual(
    hits.map((x) => `port ${x.port} ${x.cause}`),
    [],
    `${sw.name} must not send ${what}`,
  );
}

function noSwitchErrors(...sws: EmulatedSwitch[]): void {
  for (const sw of sws) {
    const errs = sw.sent.filter((m) => m.type === 'error');
    assert.deepEqual(errs.map(show), [], `${sw.name} sent errors: ${sw.log.slice(-10).join('\n')}`);
  }
}

describe('shim transparency on buffering emulated switches', () => {
  it('ALAP: buffered packet-ins on O and N with the same buffer id are each released by the switch that holds them', async () => {
    const r = await rig('alap');
    await r.shim.prepare();
    await r.shim.moveHosts(['h1', 'h4']);
    // A: h2 (old) -> h3 (old), buffered on O. B: h1 (new) -> h4 (new), buffered on N.
    const a = frame(2, 3, 1);
    const b = frame(1, 4, 2);
    const pa = await packetInOf(r, r.o, 2, a);
    const pb = await packetInOf(r, r.n, nPort(1), b);
    const physA = physicalPacketIn(r.o, a);
    const physB = physicalPacketIn(r.n, b);
    assert.notEqual(physA.bufferId, NO_BUFFER);
    assert.equal(physA.bufferId, physB.bufferId, 'O and N use the same buffer id (the case under test)');
    assert.notEqual(pa.msg.bufferId, NO_BUFFER);
    assert.notEqual(pb.msg.bufferId, NO_BUFFER);
    assert.notEqual(pa.msg.bufferId, pb.msg.bufferId, 'the app sees two different buffer ids');
    assert.equal(pa.inPort, 2);
    assert.equal(pb.inPort, 1);
    // The app: a packet-out for A, a flow-mod for B, each naming its buffer.
    const t0 = { o: r.o.transmitted.length, n: r.n.transmitted.length };
    r.dp.send(packetOut({ bufferId: pa.msg.bufferId, inPort: pa.inPort, actions: [output(3)] }));
    r.dp.send(
      flowMod({
        priority: 10,
        bufferId: pb.msg.bufferId,
        match: matchOf({ in_port: 1, eth_dst: mac(4) }),
        instructions: [applyActions(output(4))],
      }),
    );
    await r.dp.barrier();
    await assertReleased(r.o, 3, a, physA.bufferId, 'packetOut');
    await assertReleased(r.n, nPort(4), b, physB.bufferId, 'flowMod');
    neverSent(r.n, a, 'the packet O buffered');
    neverSent(r.o, b, 'the packet N buffered');
    assert.equal(r.t.transmitted.length, 0, 'nothing went through the tunnel');
    assert.deepEqual(
      r.o.transmitted.slice(t0.o).map((x) => x.port),
      [3],
      'O sent exactly one packet (A, to h3)',
    );
    assert.deepEqual(
      r.n.transmitted.slice(t0.n).map((x) => x.port),
      [nPort(4)],
      'N sent exactly one packet',
    );
    noSwitchErrors(r.o, r.n, r.t);
    assert.deepEqual(r.errors, []);
    checkTransparent(r);
  });

  it('ASAP: buffers on O (from an old host, and through the tunnel from a migrated one), then on N after finalize', async () => {
    const r = await rig('asap');
    await r.shim.prepare();
    await r.shim.moveHosts(['h1']);
    // A: h2 (old) -> h3 (old) on O. B: h1 (migrated) -> h3: N's first hop tunnels it to O, which buffers it.
    const a = frame(2, 3, 3);
    const b = frame(1, 3, 4);
    const pa = await packetInOf(r, r.o, 2, a);
    const pb = await packetInOf(r, r.n, nPort(1), b);
    assert.equal(r.n.packetIns.length, 0, 'N has no app rules in ASAP before finalize');
    const physA = physicalPacketIn(r.o, a);
    const physB = physicalPacketIn(r.o, b);
    assert.notEqual(physA.bufferId, NO_BUFFER);
    assert.notEqual(physB.bufferId, NO_BUFFER);
    assert.equal(pa.inPort, 2);
    assert.equal(pb.inPort, 1, 'the tunnelled packet shows the migrated host port');
    assert.notEqual(pa.msg.bufferId, pb.msg.bufferId);
    // A by a flow-mod naming its buffer (the buffer rides on O's copy), B by a packet-out naming its buffer.
    r.dp.send(
      flowMod({
        priority: 10,
        bufferId: pa.msg.bufferId,
        match: matchOf({ eth_dst: mac(3) }),
        instructions: [applyActions(output(3))],
      }),
    );
    r.dp.send(packetOut({ bufferId: pb.msg.bufferId, inPort: pb.inPort, actions: [output(3)] }));
    await r.dp.barrier();
    await assertReleased(r.o, 3, a, physA.bufferId, 'flowMod');
    // B is re-tagged and run through table 0 by a packet-out; it leaves O on h3's port.
    const tb = await r.o.waitForTransmit((x) => hex(x.bytes) === hex(b) && x.port === 3, 3000);
    assert.equal(tb.bufferId, physB.bufferId);
    assert.equal(r.o.buffer(physB.bufferId), undefined);
    neverSent(r.n, a, 'the packet O buffered');
    assert.equal(r.o.transmittedOn(3).filter((x) => hex(x.bytes) === hex(b)).length, 1, 'B went out once');

    // After finalize N carries the app's rules and buffers with the ids O used before.
    await r.shim.moveHosts(['h2', 'h3', 'h4']);
    await r.shim.finalize();
    const c = frame(2, 4, 5);
    const pc = await packetInOf(r, r.n, nPort(2), c);
    const physC = physicalPacketIn(r.n, c);
    assert.equal(physC.bufferId, physA.bufferId, 'N hands out the buffer id O used (the case under test)');
    r.dp.send(packetOut({ bufferId: pc.msg.bufferId, inPort: pc.inPort, actions: [output(4)] }));
    await r.dp.barrier();
    await assertReleased(r.n, nPort(4), c, physC.bufferId, 'packetOut');
    neverSent(r.o, c, 'the packet N buffered');
    noSwitchErrors(r.o, r.n, r.t);
    assert.deepEqual(r.errors, []);
    checkTransparent(r);
  });

  for (const algorithm of ['asap', 'alap'] as const) {
    it(`${algorithm.toUpperCase()}: a flow-mod every copy refuses reaches the app once, with its xid; the rule is not in the table`, async () => {
      const r = await rig(algorithm);
      await r.shim.prepare();
      // ASAP: O holds each rule once per ingress variant; ALAP: O and N hold it. Every copy is refused.
      const bad = flowMod({
        cookie: 0xbadn,
        priority: 30,
        match: matchOf({ eth_type: 0x0800, ip_proto: 17, udp_dst: 5001 }),
        instructions: [applyActions({ type: 'group', groupId: 77 })],
      });
      const xid = r.dp.send(bad);
      const mine = r.dp.send(
        flowMod({
          xid: 0x4242,
          cookie: 0xbadn,
          tableId: 2,
          priority: 30,
          match: matchOf({ eth_type: 0x0800, ip_proto: 17, udp_dst: 5002 }),
          instructions: [{ type: 'gotoTable', tableId: 1 }],
        }),
      );
      assert.equal(mine, 0x4242);
      await r.dp.barrier();
      await until(() => r.errors.length >= 2, 3000, 'the errors');
      await new Promise((res) => setTimeout(res, 200)); // a duplicate would come now
      const refusedBy = [r.o, r.n].map((sw) => sw.sent.filter((m) => m.type === 'error').length);
      assert.ok(
        refusedBy.reduce((a, b) => a + b) > 2,
        `the copies were refused more than twice (${refusedBy}): the test covers "once per app command"`,
      );
      assert.deepEqual(
        r.errors.map((e) => [e.msg.xid, e.msg.type === 'error' ? [e.msg.errorType, e.msg.code] : []]),
        [
          [xid, [ErrorType.BAD_ACTION, 9 /* BAD_OUT_GROUP */]],
          [0x4242, [ErrorType.BAD_INSTRUCTION, 2 /* BAD_TABLE_ID */]],
        ],
      );
      assert.equal(r.errors[0]!.request?.type, 'flowMod');
      assert.equal(show(r.errors[0]!.request), show({ ...bad, xid }));
      // As on a real switch, the refused rules are not in the app's table, and nothing is left of them.
      const flows = await r.dp.stats({
        kind: 'flow',
        tableId: 0xff,
        outPort: Port.ANY,
        outGroup: 0xffffffff,
        cookie: 0n,
        cookieMask: 0n,
        match: { fields: [] },
      });
      assert.deepEqual(
        flows.stats.map((f) => f.priority),
        [0],
        'only the table-miss rule is listed',
      );
      for (const sw of [r.o, r.n])
        assert.deepEqual(
          sw.flows().filter((f) => f.priority === 30),
          [],
          `${sw.name} holds a copy of a refused rule`,
        );
      // And the migration goes on (a refused rule that stayed in the virtual table was copied at finalize,
      // refused again, and failed it).
      await r.shim.moveHosts(['h1', 'h2', 'h3', 'h4']);
      await r.shim.finalize();
      assert.deepEqual(r.shim.status().errors, []);
      assert.equal(r.errors.length, 2);
      checkTransparent(r);
    });
  }

  it('ALAP: a host port re-attached with the counters of its interface: the virtual port counts on, once', async () => {
    const r = await rig('alap', [2, 3, 4]);
    const frames = (n: number, sw: EmulatedSwitch, port: number) => {
      for (let i = 0; i < n; i++) sw.inject(port, frame(1, 2, 100 + i));
    };
    const rx = async () => {
      const body = await r.dp.stats({ kind: 'portStats', portNo: 1 });
      return Number(body.stats.find((p) => p.portNo === 1)?.rxPackets);
    };
    frames(7, r.o, 1);
    assert.equal(await rx(), 7);
    await r.shim.prepare();
    // The host's interface moves from O's port 1 to N's port 11 and keeps its counters (what a veth moved
    // between bridges does; a new VM interface would start at 0).
    r.mover.onMove = (req) => {
      if (req.host.name !== 'h1') return;
      const carried = r.o.portStats(1)!;
      r.o.removePort(1);
      r.n.addPort(nPort(1));
      Object.assign(r.n.portStats(nPort(1))!, { rxPackets: carried.rxPackets, rxBytes: carried.rxBytes });
    };
    await r.shim.moveHosts(['h1']);
    await new Promise((res) => setTimeout(res, 100));
    const after = await rx();
    assert.equal(after, 7, 'the re-attached interface brings no packets of its own');
    frames(5, r.n, nPort(1));
    assert.equal(await rx(), 12, 'the virtual port counts the 7 packets before the move and the 5 after');
    await r.shim.moveHosts(['h2', 'h3', 'h4']);
    await r.shim.finalize();
    assert.equal(await rx(), 12);
    checkTransparent(r);
  });
});
