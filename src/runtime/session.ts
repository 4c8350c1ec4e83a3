// One OpenFlow 1.3 session with one switch over one stream socket.
//
// State machine:
//   hello     we sent HELLO on connect; waiting for the peer's HELLO (version negotiation by bitmap)
//   features  FEATURES_REQUEST sent; the reply gives the datapath id (the controller may replace an
//             older session with the same id here)
//   config    SET_CONFIG + PORT_DESC multipart (+ ROLE_REQUEST when configured) + BARRIER pipelined;
//             the barrier reply ends the handshake
//   up        the apps see the switch (switchUp); events flow; echo keepalive runs
//   closed    socket gone; pending requests rejected with DatapathGoneError; switchDown if it was up
//
// Hot path (packet-in -> app -> flow-mod/packet-out): a socket chunk is framed, each message decoded and
// dispatched synchronously to the listeners; whatever the apps send while we handle that chunk is
// queued and written with ONE socket write after the chunk. No promise is involved. Sends from
// elsewhere (timers, promise continuations) are batched per tick the same way.
//
// Back-pressure: when more than writeHighWaterBytes wait in the socket, reading from that switch
// pauses (no new packet-ins, so no new work) until 'drain'; beyond writeHardLimitBytes the session is
// closed. A peer's bytes can never throw out of this class: framing and decode errors close the
// session with a log line naming peer, datapath, message type, field and offset.

import type { Socket } from 'node:net';
import type { AppCommand, AppRequest, Datapath, ReplyTo } from '../api/types.ts';
import { DatapathGoneError, OpenFlowError } from '../api/types.ts';
import { OfDecodeError } from '../openflow/buffer.ts';
import {
  BadRequestCode,
  ErrorType,
  errorName,
  HelloFailedCode,
  MsgType,
  MultipartFlags,
  Port as PortNo,
} from '../openflow/constants.ts';
import { FramingError, MessageFramer } from '../openflow/framer.ts';
import { decodeMessage, encodeMessage } from '../openflow/messages.ts';
import { mergeMultipartReplies } from '../openflow/multipart.ts';
import type {
  ErrorExperimenterMsg,
  ErrorMsg,
  FeaturesReply,
  Hello,
  MessageType,
  MultipartReply,
  MultipartReplyBody,
  MultipartRequestBody,
  OfMessage,
  Outgoing,
  PacketIn,
  Port,
} from '../openflow/types.ts';
import { OFP_VERSION } from '../openflow/types.ts';
import type { Logger } from '../util/log.ts';
import type { RuntimeConfig } from './config.ts';

export type SessionState = 'hello' | 'features' | 'config' | 'up' | 'closed';

/** What a session needs from the controller that owns it. */
export interface SessionHost {
  readonly config: RuntimeConfig;
  readonly log: Logger;
  /** The features reply named the datapath: replace any older session with this id. */
  claim(session: Session): void;
  /** A role request to make during the handshake (master/slave runs), or undefined. */
  handshakeRole(): { role: number; generationId: bigint } | undefined;
  /** Handshake done: tell the apps. */
  up(session: Session): void;
  /** The session is closed (wasUp: the apps had seen it). */
  down(session: Session, reason: string, wasUp: boolean): void;
  packetIn(dp: Datapath, msg: PacketIn, inPort: number): void;
  flowRemoved(dp: Datapath, msg: MessageOfType<'flowRemoved'>): void;
  portStatus(dp: Datapath, msg: MessageOfType<'portStatus'>): void;
  error(dp: Datapath, msg: ErrorMsg | ErrorExperimenterMsg, request: OfMessage | undefined): void;
}

type MessageOfType<T extends MessageType> = Extract<OfMessage, { type: T }>;

/** Which reply type answers which request type. */
const REPLY_OF: Partial<Record<MessageType, MessageType>> = {
  featuresRequest: 'featuresReply',
  multipartRequest: 'multipartReply',
  echoRequest: 'echoReply',
  getConfigRequest: 'getConfigReply',
  queueGetConfigRequest: 'queueGetConfigReply',
  roleRequest: 'roleReply',
  getAsyncRequest: 'getAsyncReply',
  barrierRequest: 'barrierReply',
};

interface Pending {
  xid: number;
  request: OfMessage;
  expect: MessageType;
  resolve: (m: OfMessage) => void;
  reject: (e: Error) => void;
  timer: NodeJS.Timeout | undefined;
  parts: MultipartReplyBody[] | undefined;
  partBytes: number;
}

const UNKNOWN_DPID = '(unknown)';

export function dpidText(id: bigint): string {
  return `0x${id.toString(16).padStart(16, '0')}`;
}

/** The Datapath handle that apps hold: a thin facade over the session. */
export class RuntimeDatapath implements Datapath {
  id = 0n;
  idText = UNKNOWN_DPID;
  ports = new Map<number, Port>();
  nTables = 0;
  nBuffers = 0;
  capabilities = 0;

  constructor(private readonly session: Session) {}

  get connected(): boolean {
    return this.session.state === 'up';
  }
  /** Remote address of the switch ("127.0.0.1:40000" or "unix#3"). */
  get peer(): string {
    return this.session.peer;
  }
  /** The role last confirmed by a role reply ('equal' until one arrives). */
  get role(): 'equal' | 'master' | 'slave' {
    return this.session.role;
  }

  send(command: AppCommand): number {
    return this.session.send(command);
  }
  request<R extends AppRequest>(req: R, opts?: { timeoutMs?: number }): Promise<ReplyTo<R['type']>> {
    return this.session.request(req as Outgoing, opts?.timeoutMs) as Promise<ReplyTo<R['type']>>;
  }
  barrier(opts?: { timeoutMs?: number }): Promise<void> {
    return this.session.request({ type: 'barrierRequest' }, opts?.timeoutMs).then(() => undefined);
  }
  stats<B extends MultipartRequestBody>(
    body: B,
    opts?: { timeoutMs?: number },
  ): Promise<Extract<MultipartReplyBody, { kind: B['kind'] }>> {
    return this.session
      .request({ type: 'multipartRequest', flags: 0, body }, opts?.timeoutMs)
      .then((m) => (m as MultipartReply).body as Extract<MultipartReplyBody, { kind: B['kind'] }>);
  }
}

const ROLE_NAMES = ['nochange', 'equal', 'master', 'slave'] as const;

export class Session {
  state: SessionState = 'hello';
  readonly dp: RuntimeDatapath;
  role: 'equal' | 'master' | 'slave' = 'equal';
  /** Counters for logs and tests. */
  readonly counters = { rxMessages: 0, txMessages: 0, packetIns: 0, droppedBeforeUp: 0, pauses: 0 };
  /** Why the session closed (set once). */
  closeReason: string | undefined;

  private readonly cfg: RuntimeConfig;
  private readonly framer: MessageFramer;
  private readonly log: Logger;
  private xidCounter = 0;

  // send batching
  private outChunks: Buffer[] = [];
  private outBytes = 0;
  private inData = false;
  private flushScheduled = false;
  private readPaused = false;
  private sawBytes = false;

  // requests
  private readonly pending = new Map<number, Pending>();
  // fire-and-forget commands by xid, for error reports: a ring indexed by xid & mask
  private readonly ringXid: Uint32Array;
  private readonly ringMsg: (Outgoing | undefined)[];
  private readonly ringMask: number;
  private ringConfirmedTo = 0;

  // keepalive
  private echoTimer: NodeJS.Timeout | undefined;
  private handshakeTimer: NodeJS.Timeout | undefined;
  private rxSinceTick = false;
  private missedTicks = 0;

  constructor(
    readonly socket: Socket,
    readonly peer: string,
    private readonly host: SessionHost,
  ) {
    this.cfg = host.config;
    this.log = host.log;
    this.dp = new RuntimeDatapath(this);
    this.framer = new MessageFramer({ maxMessageSize: this.cfg.maxMessageSize });
    this.ringMask = this.cfg.errorMemory - 1;
    this.ringXid = new Uint32Array(this.cfg.errorMemory);
    this.ringMsg = new Array(this.cfg.errorMemory);

    if (typeof socket.setNoDelay === 'function') socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('drain', () => this.onDrain());
    socket.on('error', (err: NodeJS.ErrnoException) =>
      this.close(`socket error: ${err.code ?? err.message}`, 'info'),
    );
    socket.on('end', () => this.close('the switch closed the connection', 'info'));
    socket.on('close', () => this.close('connection closed', 'info'));

    this.handshakeTimer = setTimeout(
      () => this.close(`handshake timed out in state "${this.state}"`, 'warn'),
      this.cfg.handshakeTimeoutMs,
    );
    this.handshakeTimer.unref?.();
    this.startHandshake();
  }

  get closed(): boolean {
    return this.state === 'closed';
  }

  /** Bindings for log lines: peer and (once known) datapath id. */
  private where(): { peer: string; dpid?: string } {
    return this.dp.idText === UNKNOWN_DPID ? { peer: this.peer } : { peer: this.peer, dpid: this.dp.idText };
  }

  // ------------------------------------------------------------------ handshake

  // The handshake runs on callbacks, not promises: each step happens synchronously when its reply is
  // read, so a packet-in that follows the final barrier reply in the same socket chunk already finds
  // the switch up (and reaches the apps).

  private startHandshake(): void {
    this.enqueue(
      encodeMessage({
        type: 'hello',
        version: OFP_VERSION,
        xid: this.nextXid(),
        elements: [{ type: 'versionBitmap', bitmaps: [1 << OFP_VERSION] }],
      }),
    );
  }

  private onHello(hello: Hello): void {
    if (!peerSpeaks13(hello)) {
      this.refuseVersion(hello);
      return;
    }
    this.state = 'features';
    this.call(
      { type: 'featuresRequest' },
      undefined,
      (m) => this.onFeatures(m as FeaturesReply),
      this.failHandshake,
    );
  }

  private readonly failHandshake = (err: Error): void => {
    if (this.state === 'closed') return; // a close already explained itself
    this.close(`handshake failed: ${err.message}`, 'warn');
  };

  private onFeatures(features: FeaturesReply): void {
    if (this.state !== 'features') return;
    if (features.auxiliaryId !== 0) {
      this.close(`auxiliary connection (id ${features.auxiliaryId}) refused: not supported`, 'warn');
      return;
    }
    const dp = this.dp;
    dp.id = features.datapathId;
    dp.idText = dpidText(features.datapathId);
    dp.nBuffers = features.nBuffers;
    dp.nTables = features.nTables;
    dp.capabilities = features.capabilities;
    this.state = 'config';
    this.host.claim(this);
    if (this.state !== 'config') return;

    // Pipelined: set-config, port description, (role), barrier. The switch answers in order, so the
    // barrier reply comes last and ends the handshake.
    this.send({ type: 'setConfig', flags: 0, missSendLen: this.cfg.missSendLen }, true);
    this.call(
      { type: 'multipartRequest', flags: 0, body: { kind: 'portDesc' } },
      undefined,
      (m) => {
        const body = (m as MultipartReply).body;
        if (body.kind !== 'portDesc') return;
        for (const p of body.ports) if (p.portNo <= PortNo.MAX) dp.ports.set(p.portNo, p);
      },
      this.failHandshake,
    );
    const role = this.host.handshakeRole();
    if (role) {
      this.call(
        { type: 'roleRequest', role: role.role, generationId: role.generationId },
        undefined,
        (m) => this.noteRole(m as MessageOfType<'roleReply'>),
        (err) =>
          this.log.warn(
            { ...this.where(), err: err.message },
            'role request during the handshake failed; the switch keeps our previous role',
          ),
      );
    }
    this.call({ type: 'barrierRequest' }, undefined, () => this.onHandshakeDone(), this.failHandshake);
  }

  private onHandshakeDone(): void {
    if (this.state !== 'config') return;
    clearTimeout(this.handshakeTimer);
    this.handshakeTimer = undefined;
    this.state = 'up';
    this.startEcho();
    this.host.up(this);
  }

  private refuseVersion(hello: Hello): void {
    const offered = describeOffer(hello);
    const text = `vnm speaks OpenFlow 1.3 (0x04) only; peer offered ${offered}`;
    this.enqueue(
      encodeMessage({
        type: 'error',
        xid: hello.xid,
        errorType: ErrorType.HELLO_FAILED,
        code: HelloFailedCode.INCOMPATIBLE,
        data: Buffer.from(text, 'ascii'),
      }),
    );
    this.flush();
    this.close(`version negotiation failed: ${text}`, 'warn', true);
  }

  /** Send a role request and track the confirmed role. */
  requestRole(role: number, generationId: bigint): Promise<MessageOfType<'roleReply'>> {
    return this.request({ type: 'roleRequest', role, generationId }).then((m) => {
      this.noteRole(m as MessageOfType<'roleReply'>);
      return m as MessageOfType<'roleReply'>;
    });
  }

  private noteRole(reply: MessageOfType<'roleReply'>): void {
    const name = ROLE_NAMES[reply.role];
    if (name && name !== 'nochange') this.role = name;
  }

  // ------------------------------------------------------------------ receive

  private onData(chunk: Buffer): void {
    if (this.state === 'closed') return;
    this.rxSinceTick = true;
    if (!this.sawBytes) {
      this.sawBytes = true;
      // The first header must announce a HELLO: reject anything else at once instead of waiting for
      // the (possibly huge) length that a stray protocol's bytes happen to spell.
      if (chunk.length >= 2 && (chunk[1] !== MsgType.HELLO || chunk[0] === 0)) {
        this.malformed(
          new Error(
            `not an OpenFlow HELLO: first bytes ${chunk.subarray(0, 8).toString('hex')} (version ${chunk[0]}, type ${chunk[1]})`,
          ),
          undefined,
          {
            field: chunk[1] !== MsgType.HELLO ? 'header.type' : 'header.version',
            offset: chunk[1] !== MsgType.HELLO ? 1 : 0,
          },
        );
        return;
      }
    }
    let frames: Uint8Array[];
    try {
      frames = this.framer.push(chunk);
    } catch (err) {
      this.malformed(err);
      return;
    }
    this.inData = true;
    let i = 0;
    try {
      for (; i < frames.length; i++) {
        if (this.closed) return;
        this.onFrame(frames[i]!);
      }
    } catch (err) {
      // Not the peer's fault as far as we can tell, but never let it take the process down.
      const frame = frames[i];
      this.log.error(
        {
          ...this.where(),
          msgType: frame && frame.length > 1 ? msgTypeName(frame[1]!) : undefined,
          err: err instanceof Error ? { message: err.message, stack: err.stack } : String(err),
        },
        'internal error while handling a message: closing the session',
      );
      this.close(`internal error: ${err instanceof Error ? err.message : String(err)}`, 'silent');
    } finally {
      this.inData = false;
      if (!this.closed) this.flush();
    }
  }

  private onFrame(frame: Uint8Array): void {
    this.counters.rxMessages++;
    let msg: OfMessage;
    try {
      msg = decodeMessage(frame);
    } catch (err) {
      this.malformed(err, frame);
      return;
    }
    if (this.state === 'hello') {
      if (msg.type !== 'hello') {
        this.malformed(new Error(`expected HELLO first, got ${msg.type}`), frame);
        return;
      }
      this.onHello(msg);
      return;
    }
    if (frame[0] !== OFP_VERSION) {
      this.malformed(
        new Error(`message with version 0x${frame[0]!.toString(16)} after negotiating 1.3`),
        frame,
      );
      return;
    }
    switch (msg.type) {
      case 'packetIn':
        this.onPacketIn(msg);
        return;
      case 'echoRequest':
        this.enqueue(encodeMessage({ type: 'echoReply', xid: msg.xid, data: msg.data }));
        return;
      case 'echoReply':
        if (this.pending.has(msg.xid)) this.settle(msg);
        return;
      case 'flowRemoved':
        if (this.state === 'up') this.host.flowRemoved(this.dp, msg);
        return;
      case 'portStatus':
        this.onPortStatus(msg);
        return;
      case 'error':
      case 'errorExperimenter':
        this.onError(msg);
        return;
      case 'barrierReply':
        this.confirmUpTo(msg.xid);
        this.settle(msg);
        return;
      case 'multipartReply':
        this.onMultipart(msg, frame.length);
        return;
      case 'featuresReply':
      case 'getConfigReply':
      case 'queueGetConfigReply':
      case 'roleReply':
      case 'getAsyncReply':
        this.settle(msg);
        return;
      case 'hello':
        this.log.debug(this.where(), 'ignoring a second HELLO');
        return;
      case 'unknown':
        this.log.debug({ ...this.where(), msgType: msg.msgType }, 'unknown message type; answered BAD_TYPE');
        this.sendError(ErrorType.BAD_REQUEST, BadRequestCode.BAD_TYPE, msg.xid, frame);
        return;
      default:
        // A message a switch should not send (a request type, experimenter we did not ask for).
        this.log.debug({ ...this.where(), type: msg.type }, 'ignoring unexpected message from switch');
        return;
    }
  }

  private onPacketIn(msg: PacketIn): void {
    if (this.state !== 'up') {
      this.counters.droppedBeforeUp++;
      return;
    }
    this.counters.packetIns++;
    let inPort = 0;
    const fields = msg.match.fields;
    for (let i = 0; i < fields.length; i++) {
      const f = fields[i]!;
      if (f.field === 'in_port') {
        inPort = f.value;
        break;
      }
    }
    this.host.packetIn(this.dp, msg, inPort);
  }

  private onPortStatus(msg: MessageOfType<'portStatus'>): void {
    const p = msg.port;
    if (p.portNo <= PortNo.MAX) {
      if (msg.reason === 1 /* DELETE */) this.dp.ports.delete(p.portNo);
      else this.dp.ports.set(p.portNo, p);
    }
    if (this.state === 'up') this.host.portStatus(this.dp, msg);
  }

  private onError(msg: ErrorMsg | ErrorExperimenterMsg): void {
    const p = this.pending.get(msg.xid);
    if (p) {
      this.finish(p);
      p.reject(new OpenFlowError(this.dp.id, msg, this.describeError(msg, p.request)));
      return;
    }
    const slot = msg.xid & this.ringMask;
    let request: OfMessage | undefined;
    const cmd = this.ringMsg[slot];
    if (cmd !== undefined && this.ringXid[slot] === msg.xid) {
      request = { ...cmd, xid: msg.xid } as OfMessage;
      this.ringMsg[slot] = undefined;
    }
    if (this.state !== 'up') {
      this.log.warn(
        { ...this.where(), error: this.describeError(msg, request) },
        'switch reported an error during the handshake',
      );
      return;
    }
    this.log.debug({ ...this.where(), error: this.describeError(msg, request) }, 'switch error');
    this.host.error(this.dp, msg, request);
  }

  private describeError(msg: ErrorMsg | ErrorExperimenterMsg, request: OfMessage | undefined): string {
    const what =
      msg.type === 'error'
        ? errorName(msg.errorType, msg.code)
        : `experimenter error 0x${msg.experimenter.toString(16)}/${msg.expType}`;
    const about = request ? ` for ${request.type} xid ${msg.xid}` : ` (xid ${msg.xid})`;
    return `${what} from ${this.dp.idText}${about}`;
  }

  private onMultipart(msg: MultipartReply, bytes: number): void {
    const p = this.pending.get(msg.xid);
    if (p?.expect !== 'multipartReply') {
      this.log.debug({ ...this.where(), xid: msg.xid }, 'unsolicited multipart reply dropped');
      return;
    }
    if (msg.flags & MultipartFlags.MORE) {
      if (!p.parts) p.parts = [];
      p.parts.push(msg.body);
      p.partBytes += bytes;
      if (p.partBytes > this.cfg.multipartMaxBytes) {
        this.finish(p);
        p.reject(
          new Error(`multipart reply from ${this.dp.idText} exceeds ${this.cfg.multipartMaxBytes} bytes`),
        );
      }
      return;
    }
    if (p.parts) {
      p.parts.push(msg.body);
      let body: MultipartReplyBody;
      try {
        body = mergeMultipartReplies(p.parts);
      } catch (err) {
        this.finish(p);
        p.reject(err instanceof Error ? err : new Error(String(err)));
        return;
      }
      this.finish(p);
      p.resolve({ type: 'multipartReply', xid: msg.xid, flags: 0, body });
      return;
    }
    this.finish(p);
    p.resolve(msg);
  }

  private settle(msg: OfMessage): void {
    const p = this.pending.get(msg.xid);
    if (!p) {
      this.log.debug({ ...this.where(), type: msg.type, xid: msg.xid }, 'reply matches no request; dropped');
      return;
    }
    if (p.expect !== msg.type) {
      this.log.debug(
        { ...this.where(), type: msg.type, xid: msg.xid, expected: p.expect },
        'reply of an unexpected type; dropped',
      );
      return;
    }
    this.finish(p);
    p.resolve(msg);
  }

  private finish(p: Pending): void {
    this.pending.delete(p.xid);
    if (p.timer) clearTimeout(p.timer);
  }

  /** A barrier reply confirms every command sent before it: forget them. */
  private confirmUpTo(xid: number): void {
    let from = this.ringConfirmedTo;
    const span = (xid - from) >>> 0;
    if (span > 0x7fffffff) return; // a barrier older than the last one (or an app's own xid)
    if (span > this.ringMsg.length) from = (xid - this.ringMsg.length) >>> 0;
    for (let x = from; x !== xid; x = (x + 1) >>> 0) {
      const slot = x & this.ringMask;
      if (this.ringXid[slot] === x) this.ringMsg[slot] = undefined;
    }
    this.ringConfirmedTo = xid;
  }

  private malformed(err: unknown, frame?: Uint8Array, extra?: Record<string, unknown>): void {
    const info: Record<string, unknown> = { ...this.where(), ...extra };
    if (err instanceof OfDecodeError) {
      info.msgType = err.messageType;
      info.field = err.field;
      info.offset = err.offset;
      info.detail = err.detail;
    } else if (err instanceof FramingError) {
      Object.assign(info, framingInfo(err));
    } else {
      info.detail = err instanceof Error ? err.message : String(err);
    }
    if (frame && frame.length >= 8 && info.msgType === undefined) {
      info.msgType = msgTypeName(frame[1]!);
    }
    if (frame) info.length = frame.length;
    const text =
      err instanceof Error ? err.message : typeof info.detail === 'string' ? info.detail : 'bad input';
    this.log.warn(info, `malformed input from ${this.peer}${info.dpid ? ` (${info.dpid})` : ''}: ${text}`);
    this.close(`malformed input: ${text}`, 'silent');
  }

  // ------------------------------------------------------------------ send

  nextXid(): number {
    this.xidCounter = (this.xidCounter + 1) >>> 0;
    if (this.xidCounter === 0) this.xidCounter = 1;
    return this.xidCounter;
  }

  /**
   * Fire-and-forget command. Returns its xid (0 when dropped because the session is not up).
   * `handshake` lets the session itself send before the apps see the switch.
   */
  send(command: Outgoing, handshake = false): number {
    if (this.state !== 'up' && !(handshake && this.state !== 'closed')) {
      this.log.debug({ ...this.where(), type: command.type }, 'switch is not connected: command dropped');
      return 0;
    }
    const given = command.xid;
    const xid = given === undefined ? this.nextXid() : given;
    let buf: Buffer;
    try {
      buf = encodeMessage(command as OfMessage);
    } catch (err) {
      throw new TypeError(
        `cannot encode ${command.type} for ${this.dp.idText}: ${err instanceof Error ? err.message : String(err)}`,
      );
    }
    if (given === undefined) buf.writeUInt32BE(xid, 4);
    const slot = xid & this.ringMask;
    this.ringXid[slot] = xid;
    this.ringMsg[slot] = command;
    this.enqueue(buf);
    return xid;
  }

  /** A request that gets one (reassembled) reply or an OpenFlowError / DatapathGoneError. */
  request(req: Outgoing, timeoutMs?: number): Promise<OfMessage> {
    return new Promise<OfMessage>((resolve, reject) => this.call(req, timeoutMs, resolve, reject));
  }

  /** request() with callbacks: `onReply`/`onError` run synchronously when the answer is read. */
  call(
    req: Outgoing,
    timeoutMs: number | undefined,
    onReply: (m: OfMessage) => void,
    onError: (e: Error) => void,
  ): void {
    const expect = REPLY_OF[req.type];
    if (!expect) {
      onError(new TypeError(`${req.type} is not a request with a reply`));
      return;
    }
    if (this.state === 'closed') {
      onError(new DatapathGoneError(`${this.dp.idText} is gone (${this.closeReason ?? 'closed'})`));
      return;
    }
    const xid = req.xid ?? this.nextXid();
    const message = { ...req, xid } as OfMessage;
    let buf: Buffer;
    try {
      buf = encodeMessage(message);
    } catch (err) {
      onError(err instanceof Error ? err : new Error(String(err)));
      return;
    }
    const p: Pending = {
      xid,
      request: message,
      expect,
      resolve: onReply,
      reject: onError,
      timer: undefined,
      parts: undefined,
      partBytes: 0,
    };
    const ms = timeoutMs ?? this.cfg.requestTimeoutMs;
    p.timer = setTimeout(() => {
      if (this.pending.get(xid) !== p) return;
      this.pending.delete(xid);
      onError(new DatapathGoneError(`${req.type} xid ${xid} to ${this.dp.idText} timed out after ${ms} ms`));
    }, ms);
    p.timer.unref?.();
    const clash = this.pending.get(xid);
    if (clash) {
      this.finish(clash);
      clash.reject(new Error(`xid ${xid} reused by a new ${req.type} before the reply arrived`));
    }
    this.pending.set(xid, p);
    this.enqueue(buf);
  }

  private sendError(errorType: number, code: number, xid: number, offending: Uint8Array): void {
    this.enqueue(
      encodeMessage({ type: 'error', xid, errorType, code, data: offending.subarray(0, 64).slice() }),
    );
  }

  private enqueue(buf: Buffer): void {
    this.outChunks.push(buf);
    this.outBytes += buf.length;
    this.counters.txMessages++;
    if (this.outBytes + this.socket.writableLength > this.cfg.writeHardLimitBytes) {
      this.overflow();
      return;
    }
    if (!this.inData && !this.flushScheduled) {
      this.flushScheduled = true;
      process.nextTick(flushTick, this);
    }
  }

  /** Write everything queued with one socket write. */
  flush(): void {
    this.flushScheduled = false;
    const n = this.outChunks.length;
    if (n === 0) return;
    const data = n === 1 ? this.outChunks[0]! : Buffer.concat(this.outChunks, this.outBytes);
    this.outChunks = [];
    this.outBytes = 0;
    if (this.socket.destroyed || !this.socket.writable) return;
    this.socket.write(data);
    const queued = this.socket.writableLength;
    if (queued > this.cfg.writeHardLimitBytes) {
      this.overflow();
    } else if (queued > this.cfg.writeHighWaterBytes && !this.readPaused && this.state !== 'closed') {
      this.readPaused = true;
      this.counters.pauses++;
      this.socket.pause();
      this.log.debug({ ...this.where(), queued }, 'switch reads slowly: pausing input until it drains');
    }
  }

  private onDrain(): void {
    if (this.readPaused && this.state !== 'closed') {
      this.readPaused = false;
      this.socket.resume();
      this.log.debug(this.where(), 'switch drained: resuming input');
    }
  }

  /** True while input is paused because the switch does not read fast enough. */
  get paused(): boolean {
    return this.readPaused;
  }

  private overflow(): void {
    const queued = this.outBytes + this.socket.writableLength;
    this.outChunks = [];
    this.outBytes = 0;
    this.log.warn(
      { ...this.where(), queued, limit: this.cfg.writeHardLimitBytes },
      `closing ${this.dp.idText === UNKNOWN_DPID ? this.peer : this.dp.idText}: it does not read what we send`,
    );
    this.close(`send queue exceeded ${this.cfg.writeHardLimitBytes} bytes (switch not reading)`, 'silent');
  }

  // ------------------------------------------------------------------ keepalive

  private startEcho(): void {
    this.rxSinceTick = false;
    this.missedTicks = 0;
    this.echoTimer = setInterval(() => this.echoTick(), this.cfg.echoIntervalMs);
    this.echoTimer.unref?.();
  }

  private echoTick(): void {
    if (this.state === 'closed') return;
    if (this.rxSinceTick) this.missedTicks = 0;
    else this.missedTicks++;
    this.rxSinceTick = false;
    if (this.missedTicks >= this.cfg.echoMisses) {
      const s = (this.missedTicks * this.cfg.echoIntervalMs) / 1000;
      this.close(`echo timeout: no reply to ${this.missedTicks} echo requests (silent for ${s} s)`, 'warn');
      return;
    }
    this.enqueue(encodeMessage({ type: 'echoRequest', xid: this.nextXid(), data: new Uint8Array(0) }));
  }

  // ------------------------------------------------------------------ close

  /**
   * Close the session (idempotent). `graceful` ends the socket after flushing (used after sending an
   * error the peer should read); otherwise the socket is destroyed at once.
   */
  close(reason: string, level: 'info' | 'warn' | 'silent' = 'info', graceful = false): void {
    if (this.state === 'closed') return;
    const wasUp = this.state === 'up';
    const where = this.where();
    this.state = 'closed';
    this.closeReason = reason;
    if (this.echoTimer) clearInterval(this.echoTimer);
    if (this.handshakeTimer) clearTimeout(this.handshakeTimer);
    this.echoTimer = undefined;
    this.handshakeTimer = undefined;
    if (graceful && !this.socket.destroyed) {
      this.flush();
      this.socket.end();
      const t = setTimeout(() => this.socket.destroy(), 1000);
      t.unref?.();
    } else {
      this.outChunks = [];
      this.outBytes = 0;
      this.socket.destroy();
    }
    for (const p of this.pending.values()) {
      if (p.timer) clearTimeout(p.timer);
      p.reject(new DatapathGoneError(`${where.dpid ?? this.peer} is gone: ${reason}`));
    }
    this.pending.clear();
    this.ringMsg.fill(undefined);
    if (!wasUp && level !== 'silent') {
      this.log[level]({ ...where, reason }, 'connection closed before the handshake completed');
    }
    this.host.down(this, reason, wasUp);
  }
}

function flushTick(s: Session): void {
  s.flush();
}

function peerSpeaks13(hello: Hello): boolean {
  const bitmap = hello.elements.find((e) => e.type === 'versionBitmap');
  if (bitmap && bitmap.type === 'versionBitmap') {
    const word = bitmap.bitmaps[OFP_VERSION >> 5] ?? 0;
    return ((word >>> (OFP_VERSION & 31)) & 1) === 1;
  }
  return hello.version >= OFP_VERSION;
}

function describeOffer(hello: Hello): string {
  const bitmap = hello.elements.find((e) => e.type === 'versionBitmap');
  const versions: string[] = [];
  if (bitmap && bitmap.type === 'versionBitmap') {
    bitmap.bitmaps.forEach((word, i) => {
      for (let b = 0; b < 32; b++) if ((word >>> b) & 1) versions.push(wireVersionName(i * 32 + b));
    });
    return `versions ${versions.join(', ') || 'none'} (bitmap)`;
  }
  return `version ${wireVersionName(hello.version)} (no bitmap)`;
}

function wireVersionName(v: number): string {
  const names: Record<number, string> = { 1: '1.0', 2: '1.1', 3: '1.2', 4: '1.3', 5: '1.4', 6: '1.5' };
  return `${names[v] ?? '?'} (0x${v.toString(16).padStart(2, '0')})`;
}

const MSG_TYPE_NAMES: string[] = [];
for (const [name, n] of Object.entries(MsgType)) MSG_TYPE_NAMES[n] = name;

export function msgTypeName(n: number): string {
  return MSG_TYPE_NAMES[n] ?? `type ${n}`;
}

function framingInfo(err: FramingError): Record<string, unknown> {
  const e = err as unknown as Record<string, unknown>;
  const out: Record<string, unknown> = { detail: err.message };
  for (const k of ['msgType', 'field', 'offset', 'length', 'version', 'type'] as const) {
    if (e[k] !== undefined) out[k === 'type' ? 'msgType' : k] = e[k];
  }
  if (typeof out.msgType === 'number') out.msgType = msgTypeName(out.msgType);
  return out;
}
