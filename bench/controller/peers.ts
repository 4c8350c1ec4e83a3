// Idle emulated OpenFlow 1.3 switches for the shim benchmark (`npm run bench:controller -- --shim`): the
// plan's new switches, the tunnel switch, and the old switches the load generator does not emulate itself.
// Each connects, does the handshake, and answers echo, barrier, role, get-config/async, and multipart
// desc, port-desc, flow and group-desc (both empty: the switch holds nothing); flow-mods, group-mods and
// port-mods are counted and otherwise ignored. No packet-ins.
//
//   node --import tsx bench/controller/peers.ts --target tcp:127.0.0.1:6653 --switches 20001:5,20002:5,30001:32
//     (hex dpid : number of ports)
// Prints `{"event":"connected","switches":N}` once every switch got its features request, and on SIGTERM
// or SIGINT a last line `{"event":"stats",...}` (messages received by type), then exits.

import { connect, type Socket } from 'node:net';
import { parseArgs } from 'node:util';
import { encodeMessage } from '../../src/openflow/index.ts';
import type { OfMessage, Port } from '../../src/openflow/types.ts';
import { type ListenAddress, parseListenAddress } from '../../src/runtime/address.ts';

const { values: args } = parseArgs({
  options: {
    target: { type: 'string', default: 'tcp:127.0.0.1:6653' },
    switches: { type: 'string', default: '' },
    'connect-timeout-s': { type: 'string', default: '20' },
  },
});

const target: ListenAddress = parseListenAddress(args.target!);
const specs = args
  .switches!.split(',')
  .filter(Boolean)
  .map((s) => {
    const [d, p] = s.split(':');
    return { dpid: BigInt(`0x${d}`), ports: Number(p ?? 0) };
  });

const counts: Record<string, number> = {};
const TYPE_NAMES: Record<number, string> = { 13: 'packetOut', 14: 'flowMod', 15: 'groupMod', 16: 'portMod' };

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

function portDesc(no: number, dpid: bigint): Port {
  const d = Number(dpid & 0xffffn);
  return {
    portNo: no,
    hwAddr: `02:fe:${((d >> 8) & 0xff).toString(16).padStart(2, '0')}:${(d & 0xff).toString(16).padStart(2, '0')}:${((no >> 8) & 0xff).toString(16).padStart(2, '0')}:${(no & 0xff).toString(16).padStart(2, '0')}`,
    name: `p${d.toString(16)}-${no}`.slice(0, 15),
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

class IdleSwitch {
  socket!: Socket;
  featured = false;
  private rest: Buffer | null = null;

  constructor(
    readonly dpid: bigint,
    readonly ports: number,
  ) {}

  connect(): Promise<void> {
    return new Promise((resolve, reject) => {
      const s = target.kind === 'unix' ? connect(target.path) : connect(target.port, target.host);
      this.socket = s;
      s.setNoDelay(true);
      s.once('connect', () => {
        s.off('error', reject);
        s.on('error', () => {});
        this.reply({
          type: 'hello',
          version: 4,
          xid: 1,
          elements: [{ type: 'versionBitmap', bitmaps: [16] }],
        });
        resolve();
      });
      s.once('error', reject);
      s.on('data', (chunk: Buffer) => this.onData(chunk));
    });
  }

  private reply(m: OfMessage): void {
    if (!this.socket.destroyed) this.socket.write(encodeMessage(m));
  }

  private onData(chunk: Buffer): void {
    let buf = chunk;
    if (this.rest) {
      buf = Buffer.concat([this.rest, chunk]);
      this.rest = null;
    }
    let pos = 0;
    while (buf.length - pos >= 8) {
      const len = buf.readUInt16BE(pos + 2);
      if (len < 8) {
        this.socket.destroy();
        return;
      }
      if (buf.length - pos < len) break;
      this.control(buf[pos + 1]!, buf, pos, len);
      pos += len;
    }
    if (pos < buf.length) this.rest = buf.subarray(pos);
  }

  private control(type: number, buf: Buffer, pos: number, len: number): void {
    const name = TYPE_NAMES[type];
    if (name) {
      counts[name] = (counts[name] ?? 0) + 1;
      return;
    }
    const xid = buf.readUInt32BE(pos + 4);
    switch (type) {
      case 2:
        this.reply({ type: 'echoReply', xid, data: buf.subarray(pos + 8, pos + len) });
        return;
      case 5:
        this.reply({
          type: 'featuresReply',
          xid,
          datapathId: this.dpid,
          nBuffers: 0,
          nTables: 254,
          auxiliaryId: 0,
          capabilities: 0x4f,
          reserved: 0,
        });
        this.featured = true;
        return;
      case 7:
        this.reply({ type: 'getConfigReply', xid, flags: 0, missSendLen: 0xffff });
        return;
      case 18: {
        const mp = buf.readUInt16BE(pos + 8);
        counts[`multipart${mp}`] = (counts[`multipart${mp}`] ?? 0) + 1;
        if (mp === 13) {
          const ports: Port[] = [];
          for (let p = 1; p <= this.ports; p++) ports.push(portDesc(p, this.dpid));
          this.reply({ type: 'multipartReply', xid, flags: 0, body: { kind: 'portDesc', ports } });
        } else if (mp === 0) {
          this.reply({
            type: 'multipartReply',
            xid,
            flags: 0,
            body: {
              kind: 'desc',
              mfrDesc: 'vnm',
              hwDesc: 'bench peer',
              swDesc: 'peers.ts',
              serialNum: '0',
              dpDesc: this.dpid.toString(16),
            },
          });
        } else if (mp === 1) {
          this.reply({ type: 'multipartReply', xid, flags: 0, body: { kind: 'flow', stats: [] } });
        } else if (mp === 7) {
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
      case 20:
        counts.barrier = (counts.barrier ?? 0) + 1;
        this.reply({ type: 'barrierReply', xid });
        return;
      case 24:
        this.reply({
          type: 'roleReply',
          xid,
          role: buf.readUInt32BE(pos + 8),
          generationId: buf.readBigUInt64BE(pos + 16),
        });
        return;
      case 26:
        this.reply({
          type: 'getAsyncReply',
          xid,
          packetInMask: [3, 0],
          portStatusMask: [7, 7],
          flowRemovedMask: [15, 0],
        });
        return;
      default:
        return;
    }
  }
}

async function main(): Promise<void> {
  const switches = specs.map((s) => new IdleSwitch(s.dpid, s.ports));
  const deadline = Date.now() + Number(args['connect-timeout-s']) * 1000;
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
    if (Date.now() > deadline)
      throw new Error(`handshake: ${switches.filter((s) => s.featured).length}/${switches.length} switches`);
    await sleep(20);
  }
  process.stdout.write(`${JSON.stringify({ event: 'connected', switches: switches.length })}\n`);
  const stop = () => {
    process.stdout.write(`${JSON.stringify({ event: 'stats', counts })}\n`);
    for (const s of switches) s.socket.destroy();
    process.exit(0);
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

main().catch((err: unknown) => {
  process.stderr.write(`peers: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
