// cbench-like load generator: N emulated OpenFlow 1.3 switches that connect to a controller, answer its
// handshake, teach it M hosts each, then send packet-ins between learnt hosts and count the flow-mods
// that come back. Runs in its own process (bench/controller/run.ts starts it); prints one JSON result.
//
//   node --import tsx bench/controller/loadgen.ts --target tcp:127.0.0.1:6653 --mode throughput
//
// Modes:
//   throughput  each switch keeps `window` packet-ins outstanding (one more is sent per flow-mod
//               received); window 0 = cbench's default behaviour: keep the socket full
//   latency     each switch has one packet-in outstanding; time from send to its flow-mod
// For the migration shim (run.ts --shim): --hold waits for a line on stdin after the handshake (the bench
// prepares a migration then); --count-base-only counts a flow-mod as an answer only if it is not one of
// the shim's FROM_TUNNEL variants (Tunnel ASAP, prepared, sends two copies of each rule to an old switch:
// the base one and the variant for its in_port); --tunnel-port N advertises one more port (the plan's
// tunnel port); --shim-pipeline sends packet-ins as an old switch running the shim's pipeline does: from
// physical table 1 (the app's table 0), with the logical in_port in the metadata, and the cookie of the
// table-miss rule's copy (taken from the first priority-0 flow-mod with the shim's app-copy cookie).
// Flow and group-desc dumps are answered empty (the shim reconciles every switch it meets).
// The hot path does no encoding: every packet-in is pre-built at start-up and written from a pool;
// incoming messages are only framed (type and length read from the header).

import { connect, type Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { encodeMessage, matchOf } from '../../src/openflow/index.ts';
import type { OfMessage, Port } from '../../src/openflow/types.ts';
import { type ListenAddress, parseListenAddress } from '../../src/runtime/address.ts';

const { values: args } = parseArgs({
  options: {
    target: { type: 'string', default: 'tcp:127.0.0.1:6653' },
    mode: { type: 'string', default: 'throughput' },
    switches: { type: 'string', default: '16' },
    macs: { type: 'string', default: '100' },
    ports: { type: 'string', default: '4' },
    window: { type: 'string', default: '100' },
    'warmup-s': { type: 'string', default: '1' },
    'duration-s': { type: 'string', default: '2' },
    loops: { type: 'string', default: '5' },
    'settle-ms': { type: 'string', default: '1000' },
    'connect-timeout-s': { type: 'string', default: '20' },
    hold: { type: 'boolean', default: false },
    'count-base-only': { type: 'boolean', default: false },
    'tunnel-port': { type: 'string', default: '0' },
    'shim-pipeline': { type: 'boolean', default: false },
  },
});

const target: ListenAddress = parseListenAddress(args.target!);
const MODE = args.mode === 'latency' ? 'latency' : 'throughput';
const N = Number(args.switches);
const M = Number(args.macs);
const P = Number(args.ports);
const WINDOW = MODE === 'latency' ? 1 : Number(args.window);
const WARMUP_MS = Number(args['warmup-s']) * 1000;
const DURATION_MS = Number(args['duration-s']) * 1000;
const LOOPS = Number(args.loops);
const SETTLE_MS = Number(args['settle-ms']);
const HOLD = args.hold === true;
const COUNT_BASE_ONLY = args['count-base-only'] === true;
const TUNNEL_PORT = Number(args['tunnel-port']);
const SHIM_PIPELINE = args['shim-pipeline'] === true;
/** src/shim/pipeline.ts: APP_COPY_COOKIE (top 16 bits of the cookie of an app rule's copy). */
const APP_COPY_COOKIE_TOP = 0x5e4e;
/** Offset of the cookie in an OpenFlow 1.3 packet-in. */
const PACKET_IN_COOKIE_AT = 16;
const POOL = 1024;
const STALL_MS = 2000;
/** window 0: keep this many bytes queued in the socket at most (cbench: "keep the socket full"). */
const FULL_SOCKET_BYTES = 256 * 1024;

const MSG_FLOW_MOD = 14;
const MSG_PACKET_OUT = 13;

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

function macBytes(sw: number, i: number): number[] {
  return [0x02, 0x00, (sw >> 8) & 0xff, sw & 0xff, (i >> 8) & 0xff, i & 0xff];
}

/**
 * Is this flow-mod (at buf[pos..pos+len)) one of the shim's FROM_TUNNEL variants? Its match carries the
 * metadata field (OXM class 0x8000, field 2) with bit 48 set (src/shim/pipeline.ts FROM_TUNNEL).
 */
function fromTunnelVariant(buf: Buffer, pos: number, len: number): boolean {
  if (len < 56) return false;
  const matchLen = (buf[pos + 50]! << 8) | buf[pos + 51]!;
  const end = Math.min(pos + 48 + matchLen, pos + len);
  let at = pos + 52;
  while (at + 4 <= end) {
    const cls = (buf[at]! << 8) | buf[at + 1]!;
    const field = buf[at + 2]! >> 1;
    const l = buf[at + 3]!;
    if (cls === 0x8000 && field === 2 && at + 12 <= end) return (buf[at + 5]! & 1) === 1;
    at += 4 + l;
  }
  return false;
}

function portOf(i: number): number {
  return (i % P) + 1;
}

/** A 60-byte IPv4/UDP frame from host a to host b (or broadcast). */
function frame(sw: number, a: number, b: number | 'broadcast'): Uint8Array {
  const f = new Uint8Array(60);
  f.set(b === 'broadcast' ? [0xff, 0xff, 0xff, 0xff, 0xff, 0xff] : macBytes(sw, b), 0);
  f.set(macBytes(sw, a), 6);
  f.set([0x08, 0x00], 12);
  // IPv4 header: version/IHL, tos, total length 46, id, flags, ttl 64, proto UDP
  f.set([0x45, 0, 0, 46, 0, 0, 0, 0, 64, 17, 0, 0], 14);
  f.set([10, (sw >> 8) & 0xff, sw & 0xff, a & 0xff], 26);
  f.set(b === 'broadcast' ? [255, 255, 255, 255] : [10, (sw >> 8) & 0xff, sw & 0xff, b & 0xff], 30);
  f.set([0x30, 0x39, 0x30, 0x39, 0, 26, 0, 0], 34); // UDP 12345 -> 12345, length 26
  return f;
}

function packetIn(inPort: number, data: Uint8Array): Buffer {
  return encodeMessage({
    type: 'packetIn',
    xid: 0,
    bufferId: 0xffffffff,
    totalLen: data.length,
    reason: 0,
    tableId: SHIM_PIPELINE ? 1 : 0,
    cookie: 0n,
    // The shim's table 0 writes the logical in_port to metadata bits 32..47 (host ports: identity here).
    match: SHIM_PIPELINE
      ? matchOf({ in_port: inPort, metadata: BigInt(inPort) << 32n })
      : matchOf({ in_port: inPort }),
    data,
  });
}

function portDesc(no: number, sw: number): Port {
  return {
    portNo: no,
    hwAddr: `02:ff:${((sw >> 8) & 0xff).toString(16).padStart(2, '0')}:${(sw & 0xff).toString(16).padStart(2, '0')}:00:${no.toString(16).padStart(2, '0')}`,
    name: `s${sw}-p${no}`,
    config: 0,
    state: 4,
    curr: 0x840,
    advertised: 0,
    supported: 0,
    peer: 0,
    currSpeed: 10_000_000,
    maxSpeed: 10_000_000,
  };
}

class EmuSwitch {
  socket!: Socket;
  featured = false;
  flowMods = 0;
  /** Flow-mods not counted as answers (FROM_TUNNEL variants, --count-base-only). */
  variantFlowMods = 0;
  packetOuts = 0;
  /** Packet-ins sent and not yet answered by a flow-mod (throughput mode). */
  outstanding = 0;
  lastAnswerAt = 0;
  sentAt = 0;
  stalls = 0;
  running = false;
  private rest: Buffer | null = null;
  private readonly pool: Buffer[] = [];
  private poolAt = 0;
  private readonly learn: Buffer[] = [];
  private cookieLearnt = !SHIM_PIPELINE;

  constructor(
    readonly index: number,
    private readonly rtts: number[],
    private readonly recording: { on: boolean },
  ) {
    const sw = index + 1;
    for (let i = 0; i < M; i++) this.learn.push(packetIn(portOf(i), frame(sw, i, 'broadcast')));
    let seed = sw * 7919;
    const rnd = () => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed;
    };
    while (this.pool.length < POOL) {
      const a = rnd() % M;
      const b = rnd() % M;
      if (portOf(a) === portOf(b)) continue;
      this.pool.push(packetIn(portOf(a), frame(sw, a, b)));
    }
  }

  connect(): Promise<void> {
    return new Promise((resolve, reject) => {
      const s = target.kind === 'unix' ? connect(target.path) : connect(target.port, target.host);
      this.socket = s;
      s.setNoDelay(true);
      s.once('connect', () => {
        s.off('error', reject);
        s.on('error', (err) => {
          if (this.running) process.stderr.write(`loadgen: switch ${this.index + 1}: ${err.message}\n`);
        });
        this.send(
          encodeMessage({
            type: 'hello',
            version: 4,
            xid: 1,
            elements: [{ type: 'versionBitmap', bitmaps: [16] }],
          }),
        );
        resolve();
      });
      s.once('error', reject);
      s.on('data', (chunk: Buffer) => this.onData(chunk));
      s.on('close', () => {
        if (this.running) process.stderr.write(`loadgen: switch ${this.index + 1} was disconnected\n`);
        this.running = false;
      });
    });
  }

  private send(b: Uint8Array): void {
    this.socket.write(b);
  }

  private reply(m: OfMessage): void {
    this.send(encodeMessage(m));
  }

  private onData(chunk: Buffer): void {
    let buf = chunk;
    if (this.rest) {
      buf = Buffer.concat([this.rest, chunk]);
      this.rest = null;
    }
    let pos = 0;
    let answered = 0;
    const n = buf.length;
    while (n - pos >= 8) {
      const len = (buf[pos + 2]! << 8) | buf[pos + 3]!;
      if (len < 8) {
        process.stderr.write(`loadgen: bad length ${len} from controller\n`);
        this.socket.destroy();
        return;
      }
      if (n - pos < len) break;
      const type = buf[pos + 1]!;
      if (type === MSG_FLOW_MOD) {
        if (!this.cookieLearnt) this.learnCookie(buf, pos);
        if (COUNT_BASE_ONLY && fromTunnelVariant(buf, pos, len)) this.variantFlowMods++;
        else {
          this.flowMods++;
          answered++;
        }
      } else if (type === MSG_PACKET_OUT) {
        this.packetOuts++;
      } else {
        this.control(type, buf, pos, len);
      }
      pos += len;
    }
    if (pos < n) this.rest = buf.subarray(pos);
    if (answered > 0 && this.running) this.answered(answered);
  }

  /** --shim-pipeline: the table-miss copy's cookie goes into every packet-in (as its rule would set it). */
  private learnCookie(buf: Buffer, pos: number): void {
    const top = (buf[pos + 8]! << 8) | buf[pos + 9]!;
    const priority = (buf[pos + 30]! << 8) | buf[pos + 31]!;
    if (top !== APP_COPY_COOKIE_TOP || priority !== 0 || buf[pos + 25] !== 0 /* ADD */) return;
    const cookie = buf.subarray(pos + 8, pos + 16);
    for (const b of this.pool) b.set(cookie, PACKET_IN_COOKIE_AT);
    for (const b of this.learn) b.set(cookie, PACKET_IN_COOKIE_AT);
    this.cookieLearnt = true;
  }

  /** Flow-mods came back: record latency / refill the window. */
  private answered(k: number): void {
    const now = performance.now();
    this.lastAnswerAt = now;
    if (MODE === 'latency') {
      if (this.recording.on) this.rtts.push(now - this.sentAt);
      this.sendPacketIns(1);
      return;
    }
    if (WINDOW === 0) {
      this.fillSocket();
      return;
    }
    this.outstanding = Math.max(0, this.outstanding - k);
    this.sendPacketIns(k);
  }

  sendPacketIns(k: number): void {
    if (k <= 0 || this.socket.destroyed) return;
    this.socket.cork();
    for (let i = 0; i < k; i++) {
      this.socket.write(this.pool[this.poolAt]!);
      this.poolAt = (this.poolAt + 1) & (POOL - 1);
    }
    this.socket.uncork();
    this.outstanding += k;
    this.sentAt = performance.now();
  }

  fillSocket(): void {
    const room = FULL_SOCKET_BYTES - this.socket.writableLength;
    if (room <= 0) return;
    this.sendPacketIns(Math.max(1, Math.floor(room / this.pool[0]!.length)));
  }

  start(): void {
    this.running = true;
    this.lastAnswerAt = performance.now();
    if (MODE === 'latency') this.sendPacketIns(1);
    else if (WINDOW === 0) {
      this.socket.on('drain', () => this.running && this.fillSocket());
      this.fillSocket();
    } else this.sendPacketIns(WINDOW);
  }

  /**
   * A controller that dropped packet-ins would starve the window: restart it after STALL_MS without an
   * answer (counted as a stall; a healthy controller never triggers it).
   */
  watchdog(now: number): void {
    if (!this.running || now - this.lastAnswerAt < STALL_MS) return;
    this.stalls++;
    this.lastAnswerAt = now;
    this.outstanding = 0;
    if (MODE === 'latency') this.sendPacketIns(1);
    else if (WINDOW === 0) this.fillSocket();
    else this.sendPacketIns(WINDOW);
  }

  sendLearning(): void {
    this.socket.cork();
    for (const b of this.learn) this.socket.write(b);
    this.socket.uncork();
  }

  private control(type: number, buf: Buffer, pos: number, len: number): void {
    const xid = buf.readUInt32BE(pos + 4);
    switch (type) {
      case 2: // echo request
        this.reply({ type: 'echoReply', xid, data: buf.subarray(pos + 8, pos + len) });
        return;
      case 5: // features request
        this.reply({
          type: 'featuresReply',
          xid,
          datapathId: BigInt(this.index + 1),
          nBuffers: 256,
          nTables: 254,
          auxiliaryId: 0,
          capabilities: 0x4f,
          reserved: 0,
        });
        this.featured = true;
        return;
      case 7: // get config request
        this.reply({ type: 'getConfigReply', xid, flags: 0, missSendLen: 0xffff });
        return;
      case 18: {
        // multipart request
        const mpType = buf.readUInt16BE(pos + 8);
        if (mpType === 13) {
          const ports: Port[] = [];
          for (let p = 1; p <= P; p++) ports.push(portDesc(p, this.index + 1));
          if (TUNNEL_PORT > 0) ports.push(portDesc(TUNNEL_PORT, this.index + 1));
          this.reply({ type: 'multipartReply', xid, flags: 0, body: { kind: 'portDesc', ports } });
        } else if (mpType === 0) {
          this.reply({
            type: 'multipartReply',
            xid,
            flags: 0,
            body: {
              kind: 'desc',
              mfrDesc: 'vnm',
              hwDesc: 'loadgen',
              swDesc: 'loadgen',
              serialNum: '0',
              dpDesc: `sw${this.index + 1}`,
            },
          });
        } else if (mpType === 1) {
          this.reply({ type: 'multipartReply', xid, flags: 0, body: { kind: 'flow', stats: [] } });
        } else if (mpType === 7) {
          this.reply({ type: 'multipartReply', xid, flags: 0, body: { kind: 'groupDesc', groups: [] } });
        } else {
          this.reply({
            type: 'error',
            xid,
            errorType: 1,
            code: 2,
            data: buf.subarray(pos, pos + Math.min(len, 64)),
          });
        }
        return;
      }
      case 20: // barrier
        this.reply({ type: 'barrierReply', xid });
        return;
      case 24: // role request
        this.reply({
          type: 'roleReply',
          xid,
          role: buf.readUInt32BE(pos + 8),
          generationId: buf.readBigUInt64BE(pos + 16),
        });
        return;
      case 26: // get async
        this.reply({
          type: 'getAsyncReply',
          xid,
          packetInMask: [3, 0],
          portStatusMask: [7, 7],
          flowRemovedMask: [15, 0],
        });
        return;
      default:
        return; // hello, set-config, set-async, ...: nothing to answer
    }
  }
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i]!;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  if (s.length === 0) return Number.NaN;
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

/** --hold: resolves on the first line on stdin ("go"). */
function waitForGo(): Promise<void> {
  return new Promise((resolve) => {
    let text = '';
    const onData = (d: Buffer) => {
      text += d.toString();
      if (text.includes('\n')) {
        process.stdin.off('data', onData);
        process.stdin.pause();
        resolve();
      }
    };
    process.stdin.on('data', onData);
    process.stdin.once('end', () => resolve());
  });
}

async function main(): Promise<void> {
  const rtts: number[] = [];
  const recording = { on: false };
  const switches = Array.from({ length: N }, (_, i) => new EmuSwitch(i, rtts, recording));
  const deadline = Date.now() + Number(args['connect-timeout-s']) * 1000;
  // Connect (retry while the controller is still starting).
  for (const sw of switches) {
    for (;;) {
      try {
        await sw.connect();
        break;
      } catch (err) {
        if (Date.now() > deadline)
          throw new Error(`cannot connect to ${args.target}: ${(err as Error).message}`);
        await sleep(100);
      }
    }
  }
  while (!switches.every((s) => s.featured)) {
    if (Date.now() > deadline) {
      throw new Error(
        `handshake: ${switches.filter((s) => s.featured).length}/${N} switches got a features request`,
      );
    }
    await sleep(20);
  }
  await sleep(SETTLE_MS);
  if (HOLD) {
    process.stdout.write(`${JSON.stringify({ event: 'connected', switches: N })}\n`);
    await waitForGo();
  }

  // Teach the controller every host (broadcast frames: it learns the source and floods).
  for (const sw of switches) sw.sendLearning();
  const learnDeadline = Date.now() + 5000;
  while (switches.some((s) => s.packetOuts < M) && Date.now() < learnDeadline) await sleep(20);
  const learnt = switches.reduce((a, s) => a + Math.min(s.packetOuts, M), 0);
  await sleep(200);
  for (const s of switches) {
    s.flowMods = 0;
    s.variantFlowMods = 0;
    s.packetOuts = 0;
  }

  const total = () => switches.reduce((a, s) => a + s.flowMods, 0);
  const wd = setInterval(() => {
    const now = performance.now();
    for (const s of switches) s.watchdog(now);
  }, 100);
  for (const s of switches) s.start();
  await sleep(WARMUP_MS);

  const loops: { flows: number; seconds: number; rate: number }[] = [];
  const cpu0 = process.cpuUsage();
  const wall0 = performance.now();
  recording.on = true;
  for (let l = 0; l < LOOPS; l++) {
    const f0 = total();
    const t0 = performance.now();
    await sleep(DURATION_MS);
    const f1 = total();
    const seconds = (performance.now() - t0) / 1000;
    loops.push({ flows: f1 - f0, seconds, rate: (f1 - f0) / seconds });
  }
  recording.on = false;
  const cpu = process.cpuUsage(cpu0);
  const wall = (performance.now() - wall0) / 1000;
  clearInterval(wd);
  for (const s of switches) {
    s.running = false;
    s.socket.destroy();
  }
  const sorted = rtts.sort((a, b) => a - b);
  const result = {
    target: args.target,
    mode: MODE,
    switches: N,
    macs: M,
    window: WINDOW,
    learnt,
    loops,
    flowsPerSec: median(loops.map((l) => l.rate)),
    latencyMs:
      MODE === 'latency'
        ? { p50: percentile(sorted, 50), p99: percentile(sorted, 99), samples: sorted.length }
        : undefined,
    stalls: switches.reduce((a, s) => a + s.stalls, 0),
    variantFlowMods: switches.reduce((a, s) => a + s.variantFlowMods, 0),
    disconnected: switches.filter((s) => s.socket.destroyed && s.running).length,
    generatorCpu: (cpu.user + cpu.system) / 1e6 / wall,
  };
  process.stdout.write(`${JSON.stringify(result)}\n`);
  process.exit(0);
}

main().catch((err: unknown) => {
  process.stderr.write(`loadgen: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
