// An emulated OpenFlow 1.3 switch for the runtime's unit tests: connects to the controller over a real
// socket, answers the handshake (hello, features, port-desc, barrier, echo, role) by default, records
// everything it receives, and lets a test override any answer or send raw bytes.

import { connect, type Socket } from 'node:net';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { decodeMessage, encodeMessage, MessageFramer } from '../../../src/openflow/index.ts';
import type { OfMessage, Outgoing, Port } from '../../../src/openflow/types.ts';
import type { ListenAddress } from '../../../src/runtime/address.ts';

export interface FakeSwitchOptions {
  dpid: bigint;
  ports?: number[];
  /** Header version of our hello (default 4). */
  helloVersion?: number;
  /** Version bitmap words of our hello (default [1 << 4]); null = no bitmap element. */
  bitmap?: number[] | null;
  /** Answer echo requests (default true). */
  answerEcho?: boolean;
  /** Answer barrier requests (default true). */
  answerBarrier?: boolean;
  /** Don't answer the handshake at all (default false). */
  silent?: boolean;
  /** Custom handler; return true when it handled the message (skips the default answer). */
  onMessage?: (msg: OfMessage, sw: FakeSwitch) => boolean | undefined;
}

export function port(no: number): Port {
  return {
    portNo: no,
    hwAddr: `02:00:00:00:00:${no.toString(16).padStart(2, '0')}`,
    name: `p${no}`,
    config: 0,
    state: 4,
    curr: 0,
    advertised: 0,
    supported: 0,
    peer: 0,
    currSpeed: 10_000_000,
    maxSpeed: 10_000_000,
  };
}

export class FakeSwitch {
  socket!: Socket;
  readonly received: OfMessage[] = [];
  closed = false;
  private readonly framer = new MessageFramer();
  private waiters: { pred: (m: OfMessage) => boolean; resolve: (m: OfMessage) => void }[] = [];
  private closeWaiters: (() => void)[] = [];
  role = 0;
  generationId = 0n;

  constructor(readonly opts: FakeSwitchOptions) {}

  connect(addr: ListenAddress): Promise<void> {
    return new Promise((resolve, reject) => {
      this.socket = addr.kind === 'unix' ? connect(addr.path) : connect(addr.port, addr.host);
      this.socket.once('connect', () => {
        this.socket.off('error', reject);
        this.socket.on('error', () => {});
        resolve();
      });
      this.socket.once('error', reject);
      this.socket.on('data', (chunk: Buffer) => this.onData(chunk));
      this.socket.on('close', () => {
        this.closed = true;
        for (const w of this.closeWaiters.splice(0)) w();
      });
    });
  }

  private onData(chunk: Buffer): void {
    for (const frame of this.framer.push(chunk)) {
      const msg = decodeMessage(frame);
      this.received.push(msg);
      this.waiters = this.waiters.filter((w) => {
        if (!w.pred(msg)) return true;
        w.resolve(msg);
        return false;
      });
      if (this.opts.onMessage?.(msg, this)) continue;
      this.answer(msg);
    }
  }

  private answer(msg: OfMessage): void {
    if (this.opts.silent) return;
    switch (msg.type) {
      case 'hello': {
        const elements =
          this.opts.bitmap === null
            ? []
            : [{ type: 'versionBitmap' as const, bitmaps: this.opts.bitmap ?? [16] }];
        this.send({ type: 'hello', version: this.opts.helloVersion ?? 4, xid: 1, elements });
        return;
      }
      case 'featuresRequest':
        this.send({
          type: 'featuresReply',
          xid: msg.xid,
          datapathId: this.opts.dpid,
          nBuffers: 0,
          nTables: 254,
          auxiliaryId: 0,
          capabilities: 0x4f,
          reserved: 0,
        });
        return;
      case 'multipartRequest':
        if (msg.body.kind === 'portDesc') {
          const ports = (this.opts.ports ?? [1, 2]).map(port);
          ports.push({ ...port(0xfffffffe), hwAddr: '02:00:00:00:00:fe', name: 'LOCAL' });
          this.send({ type: 'multipartReply', xid: msg.xid, flags: 0, body: { kind: 'portDesc', ports } });
        }
        return;
      case 'barrierRequest':
        if (this.opts.answerBarrier !== false) this.send({ type: 'barrierReply', xid: msg.xid });
        return;
      case 'echoRequest':
        if (this.opts.answerEcho !== false) this.send({ type: 'echoReply', xid: msg.xid, data: msg.data });
        return;
      case 'roleRequest':
        if (msg.role !== 0) this.role = msg.role;
        if (msg.role === 2 || msg.role === 3) this.generationId = msg.generationId;
        this.send({ type: 'roleReply', xid: msg.xid, role: this.role, generationId: this.generationId });
        return;
      default:
        return;
    }
  }

  send(msg: Outgoing | OfMessage): void {
    if (!this.socket.destroyed) this.socket.write(encodeMessage(msg));
  }

  sendRaw(bytes: Uint8Array): void {
    if (!this.socket.destroyed) this.socket.write(bytes);
  }

  /** Resolves with the first message (already received or future) that matches. */
  waitFor(pred: (m: OfMessage) => boolean, timeoutMs = 2000): Promise<OfMessage> {
    const seen = this.received.find(pred);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error('FakeSwitch.waitFor timed out')), timeoutMs);
      this.waiters.push({
        pred,
        resolve: (m) => {
          clearTimeout(t);
          resolve(m);
        },
      });
    });
  }

  /** Resolves when the controller (or we) closed the connection. */
  waitClosed(timeoutMs = 2000): Promise<void> {
    if (this.closed) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error('FakeSwitch.waitClosed timed out')), timeoutMs);
      this.closeWaiters.push(() => {
        clearTimeout(t);
        resolve();
      });
    });
  }

  close(): void {
    this.socket.destroy();
  }
}

/** A pino logger that keeps its JSON lines in memory (for asserting on log lines). */
export function memoryLogger(level = 'debug'): { log: pino.Logger; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const line of chunk.toString('utf8').split('\n')) if (line.trim()) lines.push(JSON.parse(line));
      cb();
    },
  });
  return { log: pino({ level }, sink), lines };
}

export function delay(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Poll until `cond()` is true. */
export async function until(cond: () => boolean, timeoutMs = 2000, what = 'condition'): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await delay(5);
  }
}
