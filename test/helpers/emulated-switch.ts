// An emulated OpenFlow 1.3 switch that BUFFERS packets, for tests that need what Open vSwitch no longer does
// (packet-ins with a buffer_id, flow-mods and packet-outs naming a buffer). It connects to a controller
// (tcp:HOST:PORT or unix:PATH) as a real switch does and runs a small but spec-faithful pipeline on real
// frame bytes:
//
// - handshake: hello (1.3), features (dpid, n_buffers, n_tables), port-desc, get/set-config, barrier, echo,
//   role (generation ids, STALE, slave restrictions), get/set-async, queue-get-config (empty).
// - set-config miss_send_len is honoured for table misses without a rule (and an output:CONTROLLER action's
//   max_len for rules): below 0xffff a larger packet is buffered and a truncated packet-in carries its
//   buffer_id; 0xffff sends the whole packet with NO_BUFFER. When every buffer is taken, the whole packet
//   goes with NO_BUFFER (as the spec allows).
// - flow-mod: add (CHECK_OVERLAP, RESET_COUNTS, replace keeps counters), modify/modify-strict (instructions
//   only; no add when nothing matches, as in 1.3), delete/delete-strict (out_port/out_group, cookie mask),
//   idle/hard timeouts, flow-removed. With a buffer_id the buffered packet goes through the whole pipeline
//   from table 0 after the rule is in (OpenFlow 1.3.x 6.4: "equivalent to a flow mod followed by a
//   packet-out to OFPP_TABLE"), so the new rule's actions apply to it.
// - packet-out: with a buffer_id the buffered packet (its data field ignored), else the data; OFPP_TABLE runs
//   the pipeline. An unknown buffer id gets BAD_REQUEST/BUFFER_UNKNOWN, a buffer already released (or
//   expired) BAD_REQUEST/BUFFER_EMPTY, both with the request's xid. A flow-mod naming a bad buffer is still
//   applied (as Open vSwitch does) and the error is sent.
// - pipeline: masked matches on in_port, in_phy_port, metadata, tunnel_id, eth, vlan, IPv4/IPv6, TCP/UDP,
//   ICMP, ARP fields; apply/clear/write actions, write-metadata, goto-table; output (port, IN_PORT, FLOOD,
//   ALL, CONTROLLER, TABLE in packet-out, LOCAL when configured); push/pop VLAN, set_field (L2 in place,
//   L3/L4 through the packet library, checksums recomputed), dec/set nw_ttl; groups ALL, INDIRECT, SELECT
//   (first bucket with weight), FF (first live bucket). Output to the ingress port is dropped (use
//   IN_PORT), as on real switches.
// - multipart: desc, flow, aggregate, table, port stats, port desc, group, group desc, group features.
//
// Test API: inject(port, frame), transmitted (every frame sent out of a port), buffers(), flows(),
// groups(), events (on(...)), waitFor* helpers, port changes (port-status), link() between two emulated
// switches. See the class.

import { connect, type Socket } from 'node:net';
import type {
  Action,
  AsyncConfig,
  Bucket,
  ErrorMsg,
  FlowMod,
  FlowRemoved,
  FlowStats,
  FlowStatsRequestBody,
  GroupDesc,
  GroupMod,
  Instruction,
  Match,
  MultipartReplyBody,
  MultipartRequestBody,
  OfMessage,
  OxmField,
  OxmName,
  PacketIn,
  PacketOut,
  Port as PortDesc,
  PortMod,
  PortStats,
} from '../../src/openflow/index.ts';
import {
  BadRequestCode,
  CONTROLLER_MAX_LEN_NO_BUFFER,
  ControllerRole,
  decodeMessage,
  ErrorType,
  encodeMessage,
  FlowModCommand,
  FlowModFlags,
  FlowRemovedReason,
  Group,
  GroupModCommand,
  GroupType,
  MessageFramer,
  NO_BUFFER,
  PacketInReason,
  Port,
  PortConfig,
  PortReason,
  PortState,
  Table,
  VID_PRESENT,
} from '../../src/openflow/index.ts';
import { buildFrame, type FrameSpec, macToBigInt, parsePacket } from '../../src/packet/index.ts';
import { type ListenAddress, parseListenAddress } from '../../src/runtime/address.ts';
import { fieldAccepts, fieldBits, matchCovers, matchesOverlap, matchKey } from '../../src/shim/match.ts';
import { makePort } from './fake-switch.ts';
import { inActionSetOrder, inInstructionOrder, setL4Fields } from './flow-table.ts';

// ---------------------------------------------------------------- public types

/** A port as configured: a number (name "pN", MAC 02:00:00:00:00:NN) or a partial ofp_port. */
export type PortSpec = number | (Partial<PortDesc> & { portNo: number });

export interface EmulatedSwitchOptions {
  dpid: bigint;
  /** Default [1, 2, 3, 4]. */
  ports?: PortSpec[];
  /** n_buffers in the features reply and the number of packets held at once. Default 256. */
  nBuffers?: number;
  /** Default 254. */
  nTables?: number;
  /** Default FLOW_STATS | TABLE_STATS | PORT_STATS | GROUP_STATS. */
  capabilities?: number;
  /** The first buffer id handed out; ids then count up (skipping held ones and NO_BUFFER). Default 1. */
  firstBufferId?: number;
  /** Buffer even a packet that fits in max_len (the packet-in then carries all of it and a buffer id). */
  bufferAlways?: boolean;
  /** A held buffer is dropped after this long (ms); 0 = kept until used. Default 0. */
  bufferTimeoutMs?: number;
  /**
   * What a table miss without a table-miss rule does. 'controller' (default, what OpenFlow 1.0 switches
   * do): a packet-in with reason NO_MATCH cut at miss_send_len. 'drop': OpenFlow 1.3's default.
   */
  tableMiss?: 'controller' | 'drop';
  /** Milliseconds clock (default Date.now); with a fake clock call sweep() to run timeouts. */
  clock?: () => number;
  /** How often timeouts are checked (ms); 0 = only when sweep() is called. Default 100. */
  sweepIntervalMs?: number;
  /** Text for desc stats' dp_desc and for logs. Default "emulated-<dpid hex>". */
  name?: string;
}

export type TransmitCause = 'inject' | 'packetOut' | 'flowMod';

/** A frame the switch sent out of one of its ports. */
export interface Transmission {
  port: number;
  bytes: Uint8Array;
  /** clock() at the time. */
  at: number;
  /** What made the switch send it: a packet arriving (inject/link), a packet-out, a flow-mod's buffer. */
  cause: TransmitCause;
  /** The controller message (packet-out or flow-mod) that caused it. */
  xid?: number;
  /** Set when the frame is a buffered packet released by a packet-out or a flow-mod naming that buffer. */
  bufferId?: number;
}

export interface HeldBuffer {
  bufferId: number;
  inPort: number;
  bytes: Uint8Array;
  at: number;
}

export interface InjectResult {
  transmitted: Transmission[];
  packetIns: PacketIn[];
  drops: string[];
}

export interface EmulatedSwitchEvents {
  connected: undefined;
  disconnected: { reason: string };
  /** The controller finished its handshake (first barrier reply after the features reply). */
  handshake: undefined;
  /** A message from the controller (decoded). */
  received: OfMessage;
  /** A message we sent to the controller. */
  sent: OfMessage;
  transmit: Transmission;
  packetIn: PacketIn;
  flowRemoved: FlowRemoved;
  /** An OFPT_ERROR we sent. */
  errorSent: ErrorMsg;
  drop: string;
}
type EventName = keyof EmulatedSwitchEvents;
type Handler<K extends EventName> = (payload: EmulatedSwitchEvents[K]) => void;

// ---------------------------------------------------------------- internals

interface Rule {
  tableId: number;
  priority: number;
  match: Match;
  key: string;
  instructions: Instruction[];
  cookie: bigint;
  flags: number;
  idleTimeout: number;
  hardTimeout: number;
  packets: bigint;
  bytes: bigint;
  installedAt: number;
  lastUsed: number;
}

interface GroupEntry {
  groupType: number;
  buckets: Bucket[];
  packets: bigint;
  bytes: bigint;
  bucketCounts: { packets: bigint; bytes: bigint }[];
  installedAt: number;
}

interface PortEntry {
  desc: PortDesc;
  stats: PortStats;
}

/** A packet on its way through the pipeline (bytes are never mutated in place: every edit makes a copy). */
interface Pkt {
  bytes: Uint8Array;
  inPort: number;
  metadata: bigint;
  tunnelId: bigint;
  fields: Map<string, bigint> | undefined;
}

interface Cause {
  kind: TransmitCause;
  xid?: number;
  bufferId?: number;
  hops: number;
}

interface ExecCtx {
  cause: Cause;
  tableId: number;
  cookie: bigint;
  /** The rule is a table-miss rule (priority 0, empty match): its packet-ins say NO_MATCH. */
  missRule: boolean;
  packetOut: boolean;
}

/** An OpenFlow error to send back for the message being handled. */
class Reject extends Error {
  constructor(
    readonly errorType: number,
    readonly code: number,
    why: string,
  ) {
    super(why);
  }
}

const BadAction = {
  BAD_TYPE: 0,
  BAD_EXPERIMENTER: 2,
  BAD_OUT_PORT: 4,
  BAD_ARGUMENT: 5,
  BAD_OUT_GROUP: 9,
  BAD_SET_TYPE: 13,
} as const;
const BadInstruction = { UNKNOWN_INST: 0, UNSUP_INST: 1, BAD_TABLE_ID: 2 } as const;
const FlowModFailed = { BAD_TABLE_ID: 2, OVERLAP: 3, BAD_COMMAND: 6 } as const;
const GroupModFailed = {
  GROUP_EXISTS: 0,
  INVALID_GROUP: 1,
  UNKNOWN_GROUP: 8,
  BAD_TYPE: 10,
  BAD_COMMAND: 11,
  BAD_BUCKET: 12,
} as const;
const PortModFailed = { BAD_PORT: 0, BAD_HW_ADDR: 1 } as const;
const BAD_MATCH_BAD_FIELD = 6;
const HELLO_FAILED_INCOMPATIBLE = 0;
const ROLE_STALE = 0;
const NO_FLOOD = 1 << 4; // OFPPC_NO_FLOOD (OpenFlow 1.0; Open vSwitch keeps honouring it)
const ALL_ONES_COOKIE = 0xffff_ffff_ffff_ffffn;
const MAX_MSG = 0xffff;
const MAX_HOPS = 64;

const SETTABLE = new Set<string>([
  'eth_dst',
  'eth_src',
  'vlan_vid',
  'vlan_pcp',
  'ip_dscp',
  'ip_ecn',
  'ipv4_src',
  'ipv4_dst',
  'ipv6_src',
  'ipv6_dst',
  'tcp_src',
  'tcp_dst',
  'udp_src',
  'udp_dst',
  'arp_op',
  'arp_spa',
  'arp_tpa',
  'arp_sha',
  'arp_tha',
  'tunnel_id',
]);

const DEFAULT_ASYNC: AsyncConfig = {
  packetInMask: [0x7, 0],
  portStatusMask: [0x7, 0x7],
  flowRemovedMask: [0xf, 0],
};

function big(bytes: Uint8Array): bigint {
  let v = 0n;
  for (const b of bytes) v = (v << 8n) | BigInt(b);
  return v;
}

function ipv4Big(text: string): bigint {
  return BigInt(text.split('.').reduce((acc, part) => (acc << 8) | Number(part), 0) >>> 0);
}

/** The OXM values of a frame (what a match compares against), computed once per version of the bytes. */
function frameFields(bytes: Uint8Array): Map<string, bigint> {
  const f = new Map<string, bigint>();
  let p: ReturnType<typeof parsePacket>;
  try {
    p = parsePacket(bytes);
  } catch {
    // Malformed above L2 (or a runt): match on what the Ethernet header says.
    if (bytes.length >= 14) {
      f.set('eth_dst', big(bytes.subarray(0, 6)));
      f.set('eth_src', big(bytes.subarray(6, 12)));
      const t = (bytes[12]! << 8) | bytes[13]!;
      if (t === 0x8100 || t === 0x88a8) {
        if (bytes.length >= 18) {
          const tci = (bytes[14]! << 8) | bytes[15]!;
          f.set('vlan_vid', BigInt(VID_PRESENT | (tci & 0xfff)));
          f.set('vlan_pcp', BigInt(tci >>> 13));
          f.set('eth_type', BigInt((bytes[16]! << 8) | bytes[17]!));
        }
      } else {
        f.set('vlan_vid', 0n);
        f.set('eth_type', BigInt(t));
      }
    }
    return f;
  }
  f.set('eth_dst', macToBigInt(p.eth.dst));
  f.set('eth_src', macToBigInt(p.eth.src));
  f.set('eth_type', BigInt(p.eth.ethType));
  const outer = p.eth.vlans[0];
  if (outer) {
    f.set('vlan_vid', BigInt(VID_PRESENT | outer.vid));
    f.set('vlan_pcp', BigInt(outer.pcp));
  } else f.set('vlan_vid', 0n);
  const l3 = p.l3;
  if (l3?.kind === 'ipv4') {
    f.set('ip_dscp', BigInt(l3.dscp));
    f.set('ip_ecn', BigInt(l3.ecn));
    f.set('ip_proto', BigInt(l3.protocol));
    f.set('ipv4_src', ipv4Big(l3.src));
    f.set('ipv4_dst', ipv4Big(l3.dst));
  } else if (l3?.kind === 'ipv6') {
    f.set('ip_dscp', BigInt(l3.trafficClass >>> 2));
    f.set('ip_ecn', BigInt(l3.trafficClass & 3));
    f.set('ip_proto', BigInt(l3.protocol));
    f.set('ipv6_flabel', BigInt(l3.flowLabel));
    const off = l3.offset;
    f.set('ipv6_src', big(bytes.subarray(off + 8, off + 24)));
    f.set('ipv6_dst', big(bytes.subarray(off + 24, off + 40)));
  } else if (l3?.kind === 'arp') {
    f.set('arp_op', BigInt(l3.operation));
    f.set('arp_spa', ipv4Big(l3.senderIp));
    f.set('arp_tpa', ipv4Big(l3.targetIp));
    f.set('arp_sha', macToBigInt(l3.senderMac));
    f.set('arp_tha', macToBigInt(l3.targetMac));
  }
  setL4Fields(f, p.l4);
  return f;
}

function fieldOf(pkt: Pkt, name: OxmName): bigint | undefined {
  switch (name) {
    case 'in_port':
    case 'in_phy_port':
      return BigInt(pkt.inPort >>> 0);
    case 'metadata':
      return pkt.metadata;
    case 'tunnel_id':
      return pkt.tunnelId;
    default:
      pkt.fields ??= frameFields(pkt.bytes);
      return pkt.fields.get(name);
  }
}

function matches(rule: Rule, pkt: Pkt): boolean {
  for (const f of rule.match.fields) {
    if (f.field === 'unknown') return false;
    const v = fieldOf(pkt, f.field);
    if (v === undefined) return false;
    if (!fieldAccepts(f, v)) return false;
  }
  return true;
}

function actionsOf(instructions: readonly Instruction[]): Action[] {
  return instructions.flatMap((i) =>
    i.type === 'applyActions' || i.type === 'writeActions' ? i.actions : [],
  );
}

function copyPkt(p: Pkt): Pkt {
  return { bytes: p.bytes, inPort: p.inPort, metadata: p.metadata, tunnelId: p.tunnelId, fields: p.fields };
}

function setBytes(p: Pkt, bytes: Uint8Array): void {
  p.bytes = bytes;
  p.fields = undefined;
}

function isTagged(b: Uint8Array): boolean {
  if (b.length < 18) return false;
  const t = (b[12]! << 8) | b[13]!;
  return t === 0x8100 || t === 0x88a8;
}

function durations(since: number, now: number): { durationSec: number; durationNsec: number } {
  const ms = Math.max(0, now - since);
  return { durationSec: Math.floor(ms / 1000), durationNsec: (ms % 1000) * 1_000_000 };
}

function hex(n: number | bigint): string {
  return `0x${n.toString(16)}`;
}

// ---------------------------------------------------------------- the switch

interface Conn {
  socket: Socket;
  framer: MessageFramer;
  role: number;
  generationId: bigint;
  generationDefined: boolean;
  missSendLen: number;
  configFlags: number;
  async: AsyncConfig;
  sawFeatures: boolean;
  handshakeDone: boolean;
}

export class EmulatedSwitch {
  readonly dpid: bigint;
  readonly name: string;
  readonly nBuffers: number;
  readonly nTables: number;
  /** Every frame sent out of a port, oldest first. */
  readonly transmitted: Transmission[] = [];
  /** Every packet-in sent, oldest first. */
  readonly packetIns: PacketIn[] = [];
  /** Messages from the controller, in order. */
  readonly received: OfMessage[] = [];
  /** Messages to the controller, in order. */
  readonly sent: OfMessage[] = [];
  /** Why packets were dropped (table miss with tableMiss 'drop', port down, output to ingress...). */
  readonly drops: string[] = [];
  /** One line per notable thing, for debugging a failing test. */
  readonly log: string[] = [];
  /** Exceptions the emulation itself threw while handling a controller message (should stay empty). */
  readonly internalErrors: string[] = [];

  private readonly opts: EmulatedSwitchOptions;
  private readonly clock: () => number;
  private readonly portMap = new Map<number, PortEntry>();
  private readonly tables = new Map<number, Rule[]>();
  private readonly groupMap = new Map<number, GroupEntry>();
  private readonly held = new Map<number, HeldBuffer>();
  /** Buffer ids released or expired (for BUFFER_EMPTY), newest last, bounded. */
  private readonly spent = new Set<number>();
  private nextBufferId: number;
  private readonly lookups: bigint[];
  private readonly matched: bigint[];
  private conn: Conn | undefined;
  private timer: ReturnType<typeof setInterval> | undefined;
  private readonly handlers = new Map<EventName, Set<Handler<EventName>>>();
  private readonly links = new Map<number, { peer: EmulatedSwitch; port: number }>();
  private closed = false;

  constructor(opts: EmulatedSwitchOptions) {
    this.opts = opts;
    this.dpid = opts.dpid;
    this.name = opts.name ?? `emulated-${opts.dpid.toString(16)}`;
    this.nBuffers = opts.nBuffers ?? 256;
    this.nTables = opts.nTables ?? 254;
    this.clock = opts.clock ?? Date.now;
    this.nextBufferId = (opts.firstBufferId ?? 1) >>> 0;
    this.lookups = Array.from({ length: this.nTables }, () => 0n);
    this.matched = Array.from({ length: this.nTables }, () => 0n);
    for (const spec of opts.ports ?? [1, 2, 3, 4]) this.putPort(spec);
    const every = opts.sweepIntervalMs ?? 100;
    if (every > 0) {
      this.timer = setInterval(() => this.sweep(), every);
      this.timer.unref();
    }
  }

  // ------------------------------------------------------------ connection

  /** Connect to a controller: "tcp:HOST:PORT", "unix:PATH" (any form parseListenAddress takes) or an address. */
  connect(target: string | ListenAddress): Promise<void> {
    if (this.closed) return Promise.reject(new Error(`${this.name} is closed`));
    if (this.conn) return Promise.reject(new Error(`${this.name} is already connected`));
    const addr = typeof target === 'string' ? parseListenAddress(target) : target;
    return new Promise((resolve, reject) => {
      const socket = addr.kind === 'unix' ? connect(addr.path) : connect(addr.port, addr.host);
      const conn: Conn = {
        socket,
        framer: new MessageFramer(),
        role: ControllerRole.EQUAL,
        generationId: 0n,
        generationDefined: false,
        missSendLen: 128,
        configFlags: 0,
        async: structuredClone(DEFAULT_ASYNC),
        sawFeatures: false,
        handshakeDone: false,
      };
      this.conn = conn;
      socket.setNoDelay(true);
      const onError = (err: Error) => {
        if (this.conn === conn) this.conn = undefined;
        reject(err);
      };
      socket.once('error', onError);
      socket.once('connect', () => {
        socket.off('error', onError);
        socket.on('error', () => {});
        this.note(`connected to ${addr.kind === 'unix' ? addr.path : `${addr.host}:${addr.port}`}`);
        this.send({
          type: 'hello',
          version: 4,
          xid: 0,
          elements: [{ type: 'versionBitmap', bitmaps: [1 << 4] }],
        });
        this.emit('connected', undefined);
        resolve();
      });
      socket.on('data', (chunk: Buffer) => this.onData(conn, chunk));
      socket.on('close', () => this.lost(conn, 'connection closed'));
    });
  }

  private lost(conn: Conn, reason: string): void {
    if (this.conn !== conn) return;
    this.conn = undefined;
    this.note(`disconnected: ${reason}`);
    this.emit('disconnected', { reason });
  }

  /** True while a controller connection is open. */
  get connected(): boolean {
    return this.conn !== undefined;
  }

  /** miss_send_len of the current connection (128, OpenFlow's default, until a set-config says otherwise). */
  get missSendLen(): number | undefined {
    return this.conn?.missSendLen;
  }

  /** The role (ControllerRole) of the current connection. */
  get role(): number | undefined {
    return this.conn?.role;
  }

  /** Drop the controller connection; flow tables, groups and buffers stay (fail-secure). */
  disconnect(): void {
    const c = this.conn;
    if (!c) return;
    c.socket.destroy();
    this.lost(c, 'disconnected by the test');
  }

  /** Disconnect and stop the timeout timer. */
  close(): void {
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    this.disconnect();
  }

  // ------------------------------------------------------------ events

  on<K extends EventName>(event: K, handler: Handler<K>): () => void {
    let set = this.handlers.get(event);
    if (!set) {
      set = new Set();
      this.handlers.set(event, set);
    }
    set.add(handler as Handler<EventName>);
    return () => set.delete(handler as Handler<EventName>);
  }

  private emit<K extends EventName>(event: K, payload: EmulatedSwitchEvents[K]): void {
    const set = this.handlers.get(event);
    if (!set) return;
    for (const h of [...set]) (h as Handler<K>)(payload);
  }

  /** Resolves with the first logged item (past or future) that satisfies `pred`. */
  private waitIn<T>(
    log: readonly T[],
    event: 'transmit' | 'sent' | 'received',
    pred: (x: T) => boolean,
    timeoutMs: number,
    what: string,
  ): Promise<T> {
    const seen = log.find(pred);
    if (seen !== undefined) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const off = this.on(event, (x) => {
        if (!pred(x as T)) return;
        clearTimeout(t);
        off();
        resolve(x as T);
      });
      const t = setTimeout(() => {
        off();
        reject(new Error(`${this.name}: timed out after ${timeoutMs} ms waiting for ${what}`));
      }, timeoutMs);
    });
  }

  /** The first frame sent out of a port (already or later) that satisfies `pred`. */
  waitForTransmit(pred: (t: Transmission) => boolean = () => true, timeoutMs = 2000): Promise<Transmission> {
    return this.waitIn(this.transmitted, 'transmit', pred, timeoutMs, 'a transmission');
  }

  /** The first message sent to the controller (already or later) of that type that satisfies `pred`. */
  waitForSent<T extends OfMessage['type']>(
    type: T,
    pred: (m: Extract<OfMessage, { type: T }>) => boolean = () => true,
    timeoutMs = 2000,
  ): Promise<Extract<OfMessage, { type: T }>> {
    return this.waitIn(
      this.sent,
      'sent',
      (m) => m.type === type && pred(m as Extract<OfMessage, { type: T }>),
      timeoutMs,
      `a ${type} to the controller`,
    ) as Promise<Extract<OfMessage, { type: T }>>;
  }

  /** The first message from the controller (already or later) of that type that satisfies `pred`. */
  waitForReceived<T extends OfMessage['type']>(
    type: T,
    pred: (m: Extract<OfMessage, { type: T }>) => boolean = () => true,
    timeoutMs = 2000,
  ): Promise<Extract<OfMessage, { type: T }>> {
    return this.waitIn(
      this.received,
      'received',
      (m) => m.type === type && pred(m as Extract<OfMessage, { type: T }>),
      timeoutMs,
      `a ${type} from the controller`,
    ) as Promise<Extract<OfMessage, { type: T }>>;
  }

  /** Resolves once the controller's handshake on the current connection is done (its first barrier). */
  waitForHandshake(timeoutMs = 5000): Promise<void> {
    if (this.conn?.handshakeDone) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const off = this.on('handshake', () => {
        clearTimeout(t);
        off();
        resolve();
      });
      const t = setTimeout(() => {
        off();
        reject(new Error(`${this.name}: no handshake within ${timeoutMs} ms`));
      }, timeoutMs);
    });
  }

  // ------------------------------------------------------------ test API: state

  /** Ids of the buffers held, in allocation order. */
  buffers(): number[] {
    return [...this.held.keys()];
  }

  /** A held buffer (undefined once released or expired). */
  buffer(bufferId: number): HeldBuffer | undefined {
    return this.held.get(bufferId >>> 0);
  }

  /** The flow tables as flow stats (table, then priority high to low). */
  flows(tableId?: number): FlowStats[] {
    const now = this.clock();
    return this.allRules()
      .filter((r) => tableId === undefined || r.tableId === tableId)
      .map((r) => this.flowStats(r, now));
  }

  groups(): GroupDesc[] {
    return [...this.groupMap].map(([groupId, g]) => ({
      groupId,
      groupType: g.groupType,
      buckets: g.buckets,
    }));
  }

  ports(): PortDesc[] {
    return [...this.portMap.values()].map((p) => p.desc);
  }

  portStats(portNo: number): PortStats | undefined {
    return this.portMap.get(portNo)?.stats;
  }

  /** Transmissions out of one port, optionally only those since index `from` of `transmitted`. */
  transmittedOn(port: number, from = 0): Transmission[] {
    return this.transmitted.slice(from).filter((t) => t.port === port);
  }

  // ------------------------------------------------------------ test API: traffic

  /**
   * A frame arrives on `port`: table lookup from table 0, actions, table-miss -> packet-in (see
   * `tableMiss`). Runs synchronously; returns what this packet caused (frames out, packet-ins, drops).
   * Frames sent out of a linked port reach the peer switch asynchronously (not in the result).
   */
  inject(port: number, frame: Uint8Array): InjectResult {
    return this.arrive(port, new Uint8Array(frame), 0);
  }

  /** Wire two emulated switches: a frame out of a's port pa arrives on b's port pb, and back. */
  static link(a: EmulatedSwitch, pa: number, b: EmulatedSwitch, pb: number): void {
    a.links.set(pa, { peer: b, port: pb });
    b.links.set(pb, { peer: a, port: pa });
  }

  private arrive(port: number, frame: Uint8Array, hops: number): InjectResult {
    const p = this.portMap.get(port);
    if (!p) throw new Error(`${this.name} has no port ${port}`);
    const t0 = this.transmitted.length;
    const i0 = this.packetIns.length;
    const d0 = this.drops.length;
    p.stats.rxPackets++;
    p.stats.rxBytes += BigInt(frame.length);
    if (p.desc.config & (PortConfig.PORT_DOWN | PortConfig.NO_RECV) || p.desc.state & PortState.LINK_DOWN) {
      p.stats.rxDropped++;
      this.drop(`port ${port} does not receive`);
    } else {
      const pkt: Pkt = { bytes: frame, inPort: port, metadata: 0n, tunnelId: 0n, fields: undefined };
      this.pipeline(pkt, { kind: 'inject', hops });
    }
    return {
      transmitted: this.transmitted.slice(t0),
      packetIns: this.packetIns.slice(i0),
      drops: this.drops.slice(d0),
    };
  }

  /** Run timeouts now: expired rules go (flow-removed when asked for), expired buffers are dropped. */
  sweep(): void {
    const now = this.clock();
    for (const r of this.allRules()) {
      if (r.hardTimeout > 0 && now - r.installedAt >= r.hardTimeout * 1000)
        this.removeRule(r, FlowRemovedReason.HARD_TIMEOUT);
      else if (r.idleTimeout > 0 && now - r.lastUsed >= r.idleTimeout * 1000)
        this.removeRule(r, FlowRemovedReason.IDLE_TIMEOUT);
    }
    const ttl = this.opts.bufferTimeoutMs ?? 0;
    if (ttl > 0) {
      for (const b of [...this.held.values()]) {
        if (now - b.at >= ttl) {
          this.held.delete(b.bufferId);
          this.markSpent(b.bufferId);
          this.note(`buffer ${b.bufferId} expired`);
        }
      }
    }
  }

  // ------------------------------------------------------------ test API: ports

  /** Add a port (port-status ADD). */
  addPort(spec: PortSpec): PortDesc {
    const desc = this.putPort(spec);
    this.sendPortStatus(PortReason.ADD, desc);
    return desc;
  }

  /** Remove a port (port-status DELETE). */
  removePort(portNo: number): void {
    const p = this.portMap.get(portNo);
    if (!p) throw new Error(`${this.name} has no port ${portNo}`);
    this.portMap.delete(portNo);
    this.sendPortStatus(PortReason.DELETE, p.desc);
  }

  /** Change a port's config and/or state bits (port-status MODIFY), e.g. { state: PortState.LINK_DOWN }. */
  modifyPort(portNo: number, change: { config?: number; state?: number }): PortDesc {
    const p = this.portMap.get(portNo);
    if (!p) throw new Error(`${this.name} has no port ${portNo}`);
    p.desc = { ...p.desc, ...change };
    this.sendPortStatus(PortReason.MODIFY, p.desc);
    return p.desc;
  }

  /** Link down/up: sets or clears LINK_DOWN (and LIVE) in the port state, with a port-status. */
  setLinkDown(portNo: number, down: boolean): PortDesc {
    const p = this.portMap.get(portNo);
    if (!p) throw new Error(`${this.name} has no port ${portNo}`);
    const state = down
      ? (p.desc.state | PortState.LINK_DOWN) & ~PortState.LIVE
      : (p.desc.state & ~PortState.LINK_DOWN) | PortState.LIVE;
    return this.modifyPort(portNo, { state });
  }

  private putPort(spec: PortSpec): PortDesc {
    const base = typeof spec === 'number' ? { portNo: spec } : spec;
    const desc: PortDesc = { ...makePort(base.portNo, `p${base.portNo}`), ...base };
    const stats: PortStats = {
      portNo: desc.portNo,
      rxPackets: 0n,
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
      durationSec: 0,
      durationNsec: 0,
    };
    this.portMap.set(desc.portNo, { desc, stats });
    return desc;
  }

  private sendPortStatus(reason: number, port: PortDesc): void {
    const c = this.conn;
    if (!c) return;
    const slave = c.role === ControllerRole.SLAVE ? 1 : 0;
    if (!(c.async.portStatusMask[slave] & (1 << reason))) return;
    this.send({ type: 'portStatus', xid: 0, reason, port });
  }

  // ------------------------------------------------------------ wire

  private note(line: string): void {
    this.log.push(`${this.name}: ${line}`);
  }

  private drop(why: string): void {
    this.drops.push(why);
    this.note(`drop: ${why}`);
    this.emit('drop', why);
  }

  private send(m: OfMessage): void {
    const c = this.conn;
    if (!c || c.socket.destroyed) return;
    c.socket.write(encodeMessage(m));
    this.sent.push(m);
    this.emit('sent', m);
    if (m.type === 'error') this.emit('errorSent', m);
  }

  private sendError(xid: number, errorType: number, code: number, request: Uint8Array, why: string): void {
    this.note(`error ${errorType}/${code} for xid ${xid}: ${why}`);
    this.send({ type: 'error', xid, errorType, code, data: new Uint8Array(request.subarray(0, 64)) });
  }

  private onData(conn: Conn, chunk: Buffer): void {
    if (this.conn !== conn) return;
    let frames: Uint8Array[];
    try {
      frames = conn.framer.push(chunk);
    } catch (e) {
      this.note(`framing error: ${(e as Error).message}`);
      conn.socket.destroy();
      return;
    }
    for (const bytes of frames) {
      if (this.conn !== conn) return;
      let m: OfMessage;
      try {
        m = decodeMessage(bytes);
      } catch (e) {
        const xid =
          bytes.length >= 8
            ? ((bytes[4]! << 24) | (bytes[5]! << 16) | (bytes[6]! << 8) | bytes[7]!) >>> 0
            : 0;
        this.sendError(xid, ErrorType.BAD_REQUEST, BadRequestCode.BAD_LEN, bytes, (e as Error).message);
        continue;
      }
      this.received.push(m);
      this.emit('received', m);
      try {
        this.handle(conn, m, bytes);
      } catch (e) {
        if (e instanceof Reject) this.sendError(m.xid, e.errorType, e.code, bytes, e.message);
        else {
          // A bug in the emulation (not the controller's fault): keep it visible, answer EPERM, carry on.
          const text = `${m.type} xid ${m.xid}: ${(e as Error).stack ?? String(e)}`;
          this.internalErrors.push(text);
          this.sendError(m.xid, ErrorType.BAD_REQUEST, BadRequestCode.EPERM, bytes, `internal: ${text}`);
        }
      }
    }
  }

  private requireWritable(conn: Conn): void {
    if (conn.role === ControllerRole.SLAVE)
      throw new Reject(ErrorType.BAD_REQUEST, BadRequestCode.IS_SLAVE, 'the controller is a slave');
  }

  private handle(conn: Conn, m: OfMessage, bytes: Uint8Array): void {
    switch (m.type) {
      case 'hello': {
        const bitmap = m.elements.find((e) => e.type === 'versionBitmap');
        const ok = bitmap ? ((bitmap.bitmaps[0] ?? 0) & (1 << 4)) !== 0 : m.version >= 4;
        if (!ok) {
          this.sendError(m.xid, ErrorType.HELLO_FAILED, HELLO_FAILED_INCOMPATIBLE, bytes, 'no OpenFlow 1.3');
          conn.socket.end();
        }
        return;
      }
      case 'echoRequest':
        this.send({ type: 'echoReply', xid: m.xid, data: m.data });
        return;
      case 'echoReply':
      case 'error':
      case 'errorExperimenter':
        return;
      case 'featuresRequest':
        conn.sawFeatures = true;
        this.send({
          type: 'featuresReply',
          xid: m.xid,
          datapathId: this.dpid,
          nBuffers: this.nBuffers,
          nTables: this.nTables,
          auxiliaryId: 0,
          capabilities: this.opts.capabilities ?? 0x0f,
          reserved: 0,
        });
        return;
      case 'getConfigRequest':
        this.send({
          type: 'getConfigReply',
          xid: m.xid,
          flags: conn.configFlags,
          missSendLen: conn.missSendLen,
        });
        return;
      case 'setConfig':
        conn.configFlags = m.flags;
        conn.missSendLen = m.missSendLen;
        this.note(`set-config miss_send_len ${m.missSendLen}`);
        return;
      case 'barrierRequest':
        // Everything before it has been handled synchronously: the reply is due now.
        this.send({ type: 'barrierReply', xid: m.xid });
        if (conn.sawFeatures && !conn.handshakeDone) {
          conn.handshakeDone = true;
          this.emit('handshake', undefined);
        }
        return;
      case 'roleRequest':
        this.roleRequest(conn, m.xid, m.role, m.generationId);
        return;
      case 'getAsyncRequest':
        this.send({ type: 'getAsyncReply', xid: m.xid, ...structuredClone(conn.async) });
        return;
      case 'setAsync':
        conn.async = {
          packetInMask: [m.packetInMask[0], m.packetInMask[1]],
          portStatusMask: [m.portStatusMask[0], m.portStatusMask[1]],
          flowRemovedMask: [m.flowRemovedMask[0], m.flowRemovedMask[1]],
        };
        return;
      case 'queueGetConfigRequest':
        this.send({ type: 'queueGetConfigReply', xid: m.xid, port: m.port, queues: [] });
        return;
      case 'multipartRequest':
        this.multipart(m.xid, m.body);
        return;
      case 'flowMod':
        this.requireWritable(conn);
        this.flowMod(m, bytes);
        return;
      case 'groupMod':
        this.requireWritable(conn);
        this.groupMod(m);
        return;
      case 'portMod':
        this.requireWritable(conn);
        this.portMod(m);
        return;
      case 'tableMod':
        this.requireWritable(conn);
        return;
      case 'packetOut':
        this.requireWritable(conn);
        this.packetOut(m);
        return;
      case 'experimenter':
        throw new Reject(ErrorType.BAD_REQUEST, BadRequestCode.BAD_EXPERIMENTER, 'no experimenter messages');
      default:
        throw new Reject(ErrorType.BAD_REQUEST, BadRequestCode.BAD_TYPE, `cannot handle ${m.type}`);
    }
  }

  private roleRequest(conn: Conn, xid: number, role: number, generationId: bigint): void {
    if (role === ControllerRole.MASTER || role === ControllerRole.SLAVE) {
      if (conn.generationDefined && BigInt.asIntN(64, generationId - conn.generationId) < 0n)
        throw new Reject(ErrorType.ROLE_REQUEST_FAILED, ROLE_STALE, 'stale generation id');
      conn.generationId = generationId;
      conn.generationDefined = true;
    }
    if (role !== ControllerRole.NOCHANGE) conn.role = role;
    this.send({ type: 'roleReply', xid, role: conn.role, generationId: conn.generationId });
  }

  // ------------------------------------------------------------ validation

  private checkActions(actions: readonly Action[], packetOut: boolean): void {
    for (const a of actions) {
      switch (a.type) {
        case 'output': {
          const p = a.port >>> 0;
          const okReserved =
            p === Port.IN_PORT ||
            p === Port.FLOOD ||
            p === Port.ALL ||
            p === Port.CONTROLLER ||
            p === Port.LOCAL ||
            p === Port.NORMAL ||
            (p === Port.TABLE && packetOut);
          if (p === 0 || (p >= Port.MAX && !okReserved))
            throw new Reject(ErrorType.BAD_ACTION, BadAction.BAD_OUT_PORT, `bad output port ${hex(p)}`);
          break;
        }
        case 'group':
          if (!this.groupMap.has(a.groupId >>> 0))
            throw new Reject(ErrorType.BAD_ACTION, BadAction.BAD_OUT_GROUP, `no group ${hex(a.groupId)}`);
          break;
        case 'pushVlan':
          if (a.ethertype !== 0x8100 && a.ethertype !== 0x88a8)
            throw new Reject(ErrorType.BAD_ACTION, BadAction.BAD_ARGUMENT, `push_vlan ${hex(a.ethertype)}`);
          break;
        case 'setField':
          if (a.field.field === 'unknown' || !SETTABLE.has(a.field.field) || a.field.mask !== undefined)
            throw new Reject(ErrorType.BAD_ACTION, BadAction.BAD_SET_TYPE, `cannot set ${a.field.field}`);
          break;
        case 'popVlan':
        case 'setQueue':
        case 'decNwTtl':
        case 'setNwTtl':
          break;
        case 'experimenter':
          throw new Reject(ErrorType.BAD_ACTION, BadAction.BAD_EXPERIMENTER, 'experimenter action');
        default:
          throw new Reject(ErrorType.BAD_ACTION, BadAction.BAD_TYPE, `unsupported action ${a.type}`);
      }
    }
  }

  private checkInstructions(tableId: number, instructions: readonly Instruction[]): void {
    for (const i of instructions) {
      switch (i.type) {
        case 'gotoTable':
          if (i.tableId <= tableId || i.tableId >= this.nTables)
            throw new Reject(
              ErrorType.BAD_INSTRUCTION,
              BadInstruction.BAD_TABLE_ID,
              `goto_table ${i.tableId} from ${tableId}`,
            );
          break;
        case 'applyActions':
        case 'writeActions':
          this.checkActions(i.actions, false);
          break;
        case 'clearActions':
        case 'writeMetadata':
        case 'meter':
          break;
        case 'experimenter':
          throw new Reject(ErrorType.BAD_INSTRUCTION, BadInstruction.UNSUP_INST, 'experimenter instruction');
        default:
          throw new Reject(ErrorType.BAD_INSTRUCTION, BadInstruction.UNKNOWN_INST, `instruction ${i.type}`);
      }
    }
  }

  private checkMatch(match: Match): void {
    for (const f of match.fields)
      if (f.field === 'unknown')
        throw new Reject(ErrorType.BAD_MATCH, BAD_MATCH_BAD_FIELD, `unknown OXM ${f.oxmClass}/${f.oxmField}`);
  }

  // ------------------------------------------------------------ flow table

  private allRules(): Rule[] {
    return [...this.tables.keys()].sort((a, b) => a - b).flatMap((t) => this.tables.get(t) ?? []);
  }

  private insertRule(r: Rule): void {
    const list = this.tables.get(r.tableId) ?? [];
    let at = list.findIndex((x) => x.priority < r.priority);
    if (at < 0) at = list.length;
    list.splice(at, 0, r);
    this.tables.set(r.tableId, list);
  }

  private removeRule(r: Rule, reason: number): void {
    const list = this.tables.get(r.tableId);
    if (!list) return;
    const at = list.indexOf(r);
    if (at < 0) return;
    list.splice(at, 1);
    if (list.length === 0) this.tables.delete(r.tableId);
    this.note(`rule removed (reason ${reason}) table ${r.tableId} prio ${r.priority} ${r.key}`);
    if (!(r.flags & FlowModFlags.SEND_FLOW_REM)) return;
    const now = this.clock();
    const fr: FlowRemoved = {
      type: 'flowRemoved',
      xid: 0,
      cookie: r.cookie,
      priority: r.priority,
      reason,
      tableId: r.tableId,
      ...durations(r.installedAt, now),
      idleTimeout: r.idleTimeout,
      hardTimeout: r.hardTimeout,
      packetCount: r.packets,
      byteCount: r.bytes,
      match: r.match,
    };
    this.emit('flowRemoved', fr);
    const c = this.conn;
    if (!c) return;
    const slave = c.role === ControllerRole.SLAVE ? 1 : 0;
    if (c.async.flowRemovedMask[slave] & (1 << reason)) this.send(fr);
  }

  private flowStats(r: Rule, now: number): FlowStats {
    return {
      tableId: r.tableId,
      ...durations(r.installedAt, now),
      priority: r.priority,
      idleTimeout: r.idleTimeout,
      hardTimeout: r.hardTimeout,
      flags: r.flags,
      cookie: r.cookie,
      packetCount: r.packets,
      byteCount: r.bytes,
      match: r.match,
      instructions: r.instructions,
    };
  }

  /** Rules a non-strict/strict request selects (flow-mod modify/delete, flow/aggregate stats). */
  private select(
    q: {
      tableId: number;
      cookie: bigint;
      cookieMask: bigint;
      match: Match;
      outPort?: number;
      outGroup?: number;
      priority?: number;
    },
    strict: boolean,
  ): Rule[] {
    const key = strict ? matchKey(q.match) : '';
    return this.allRules().filter((r) => {
      if (q.tableId !== Table.ALL && r.tableId !== q.tableId) return false;
      if ((r.cookie & q.cookieMask) !== (q.cookie & q.cookieMask)) return false;
      if (strict ? r.priority !== q.priority || r.key !== key : !matchCovers(q.match, r.match)) return false;
      const outPort = (q.outPort ?? Port.ANY) >>> 0;
      const outGroup = (q.outGroup ?? Group.ANY) >>> 0;
      const acts = actionsOf(r.instructions);
      if (outPort !== Port.ANY && !acts.some((a) => a.type === 'output' && a.port >>> 0 === outPort))
        return false;
      if (outGroup !== Group.ANY && !acts.some((a) => a.type === 'group' && a.groupId >>> 0 === outGroup))
        return false;
      return true;
    });
  }

  private flowMod(m: FlowMod, bytes: Uint8Array): void {
    const cmd = m.command;
    if (cmd > FlowModCommand.DELETE_STRICT)
      throw new Reject(ErrorType.FLOW_MOD_FAILED, FlowModFailed.BAD_COMMAND, `command ${cmd}`);
    const isDelete = cmd === FlowModCommand.DELETE || cmd === FlowModCommand.DELETE_STRICT;
    if (m.tableId >= this.nTables && !(isDelete && m.tableId === Table.ALL))
      throw new Reject(ErrorType.FLOW_MOD_FAILED, FlowModFailed.BAD_TABLE_ID, `table ${m.tableId}`);
    this.checkMatch(m.match);
    if (!isDelete) this.checkInstructions(m.tableId, m.instructions);
    const now = this.clock();
    switch (cmd) {
      case FlowModCommand.ADD: {
        const key = matchKey(m.match);
        const list = this.tables.get(m.tableId) ?? [];
        if (m.flags & FlowModFlags.CHECK_OVERLAP) {
          const clash = list.some((r) => r.priority === m.priority && matchesOverlap(r.match, m.match));
          if (clash) throw new Reject(ErrorType.FLOW_MOD_FAILED, FlowModFailed.OVERLAP, 'overlapping rule');
        }
        const old = list.find((r) => r.priority === m.priority && r.key === key);
        if (old) this.removeSilently(old);
        const keep = old !== undefined && !(m.flags & FlowModFlags.RESET_COUNTS);
        this.insertRule({
          tableId: m.tableId,
          priority: m.priority,
          match: m.match,
          key,
          instructions: m.instructions,
          cookie: m.cookie,
          flags: m.flags,
          idleTimeout: m.idleTimeout,
          hardTimeout: m.hardTimeout,
          packets: keep ? old.packets : 0n,
          bytes: keep ? old.bytes : 0n,
          installedAt: now,
          lastUsed: now,
        });
        this.note(`rule added table ${m.tableId} prio ${m.priority} ${key}`);
        break;
      }
      case FlowModCommand.MODIFY:
      case FlowModCommand.MODIFY_STRICT:
        // out_port/out_group do not filter modifies (6.4).
        for (const r of this.select(
          { ...m, outPort: Port.ANY, outGroup: Group.ANY },
          cmd === FlowModCommand.MODIFY_STRICT,
        )) {
          r.instructions = m.instructions;
          if (m.flags & FlowModFlags.RESET_COUNTS) {
            r.packets = 0n;
            r.bytes = 0n;
          }
        }
        break;
      default:
        for (const r of this.select(m, cmd === FlowModCommand.DELETE_STRICT))
          this.removeRule(r, FlowRemovedReason.DELETE);
    }
    if (m.bufferId >>> 0 !== NO_BUFFER) {
      // The rule is in; now the buffered packet goes through the pipeline from table 0 (spec 6.4).
      const b = this.takeBuffer(m.bufferId >>> 0);
      if (b instanceof Reject) {
        this.sendError(m.xid, b.errorType, b.code, bytes, b.message);
        return;
      }
      this.note(`buffer ${b.bufferId} released by flow-mod xid ${m.xid}`);
      const pkt: Pkt = { bytes: b.bytes, inPort: b.inPort, metadata: 0n, tunnelId: 0n, fields: undefined };
      this.pipeline(pkt, { kind: 'flowMod', xid: m.xid, bufferId: b.bufferId, hops: 0 });
    }
  }

  /** Replace without a flow-removed (an ADD over an identical rule). */
  private removeSilently(r: Rule): void {
    const list = this.tables.get(r.tableId);
    if (!list) return;
    const at = list.indexOf(r);
    if (at >= 0) list.splice(at, 1);
  }

  private groupMod(m: GroupMod): void {
    const id = m.groupId >>> 0;
    switch (m.command) {
      case GroupModCommand.ADD:
      case GroupModCommand.MODIFY: {
        if (m.command === GroupModCommand.ADD && id > Group.MAX)
          throw new Reject(ErrorType.GROUP_MOD_FAILED, GroupModFailed.INVALID_GROUP, `group id ${hex(id)}`);
        if (m.command === GroupModCommand.ADD && this.groupMap.has(id))
          throw new Reject(
            ErrorType.GROUP_MOD_FAILED,
            GroupModFailed.GROUP_EXISTS,
            `group ${hex(id)} exists`,
          );
        const old = this.groupMap.get(id);
        if (m.command === GroupModCommand.MODIFY && !old)
          throw new Reject(ErrorType.GROUP_MOD_FAILED, GroupModFailed.UNKNOWN_GROUP, `no group ${hex(id)}`);
        if (m.groupType > GroupType.FF)
          throw new Reject(ErrorType.GROUP_MOD_FAILED, GroupModFailed.BAD_TYPE, `group type ${m.groupType}`);
        if (m.groupType === GroupType.INDIRECT && m.buckets.length !== 1)
          throw new Reject(
            ErrorType.GROUP_MOD_FAILED,
            GroupModFailed.BAD_BUCKET,
            'indirect needs one bucket',
          );
        for (const b of m.buckets) this.checkActions(b.actions, false);
        this.groupMap.set(id, {
          groupType: m.groupType,
          buckets: m.buckets,
          packets: old?.packets ?? 0n,
          bytes: old?.bytes ?? 0n,
          bucketCounts: m.buckets.map(() => ({ packets: 0n, bytes: 0n })),
          installedAt: old?.installedAt ?? this.clock(),
        });
        return;
      }
      case GroupModCommand.DELETE: {
        const ids = id === Group.ALL ? [...this.groupMap.keys()] : [id];
        for (const g of ids) {
          if (!this.groupMap.delete(g)) continue;
          // Rules that forward to a deleted group go with it (spec 6.5).
          for (const r of this.allRules())
            if (actionsOf(r.instructions).some((a) => a.type === 'group' && a.groupId >>> 0 === g))
              this.removeRule(r, FlowRemovedReason.GROUP_DELETE);
        }
        return;
      }
      default:
        throw new Reject(ErrorType.GROUP_MOD_FAILED, GroupModFailed.BAD_COMMAND, `command ${m.command}`);
    }
  }

  private portMod(m: PortMod): void {
    const p = this.portMap.get(m.portNo >>> 0);
    if (!p) throw new Reject(ErrorType.PORT_MOD_FAILED, PortModFailed.BAD_PORT, `no port ${m.portNo}`);
    if (m.hwAddr.toLowerCase() !== p.desc.hwAddr.toLowerCase())
      throw new Reject(ErrorType.PORT_MOD_FAILED, PortModFailed.BAD_HW_ADDR, `hw_addr ${m.hwAddr}`);
    const config = (p.desc.config & ~m.mask) | (m.config & m.mask);
    if (config === p.desc.config) return;
    p.desc = { ...p.desc, config };
    this.sendPortStatus(PortReason.MODIFY, p.desc);
  }

  // ------------------------------------------------------------ buffers

  private allocBuffer(inPort: number, bytes: Uint8Array): number {
    if (this.held.size >= this.nBuffers) return NO_BUFFER;
    let id = this.nextBufferId;
    while (id === NO_BUFFER || this.held.has(id)) id = (id + 1) >>> 0;
    this.nextBufferId = (id + 1) >>> 0;
    this.spent.delete(id);
    this.held.set(id, { bufferId: id, inPort, bytes: new Uint8Array(bytes), at: this.clock() });
    return id;
  }

  private markSpent(id: number): void {
    this.spent.add(id);
    if (this.spent.size > 4096) this.spent.delete(this.spent.values().next().value as number);
  }

  private takeBuffer(id: number): HeldBuffer | Reject {
    const b = this.held.get(id);
    if (b) {
      this.held.delete(id);
      this.markSpent(id);
      return b;
    }
    if (this.spent.has(id))
      return new Reject(ErrorType.BAD_REQUEST, BadRequestCode.BUFFER_EMPTY, `buffer ${id} already used`);
    return new Reject(ErrorType.BAD_REQUEST, BadRequestCode.BUFFER_UNKNOWN, `no buffer ${id}`);
  }

  // ------------------------------------------------------------ packet-out

  private packetOut(m: PacketOut): void {
    this.checkActions(m.actions, true);
    let pkt: Pkt;
    let bufferId: number | undefined;
    if (m.bufferId >>> 0 !== NO_BUFFER) {
      const b = this.takeBuffer(m.bufferId >>> 0);
      if (b instanceof Reject) throw b;
      bufferId = b.bufferId;
      this.note(`buffer ${b.bufferId} released by packet-out xid ${m.xid}`);
      pkt = { bytes: b.bytes, inPort: m.inPort >>> 0, metadata: 0n, tunnelId: 0n, fields: undefined };
    } else {
      pkt = {
        bytes: new Uint8Array(m.data),
        inPort: m.inPort >>> 0,
        metadata: 0n,
        tunnelId: 0n,
        fields: undefined,
      };
    }
    const cause: Cause = { kind: 'packetOut', xid: m.xid, hops: 0 };
    if (bufferId !== undefined) cause.bufferId = bufferId;
    this.exec(pkt, m.actions, {
      cause,
      tableId: Table.ALL,
      cookie: ALL_ONES_COOKIE,
      missRule: false,
      packetOut: true,
    });
  }

  // ------------------------------------------------------------ pipeline

  private pipeline(pkt: Pkt, cause: Cause): void {
    const actionSet = new Map<string, Action>();
    let tableId = 0;
    let ctx: ExecCtx | undefined;
    for (;;) {
      if (tableId < this.nTables) this.lookups[tableId]! += 1n;
      const rule = (this.tables.get(tableId) ?? []).find((r) => matches(r, pkt));
      if (!rule) {
        // No rule (not even a table-miss rule): the action set is discarded.
        if ((this.opts.tableMiss ?? 'controller') === 'controller') {
          const c = this.conn;
          this.packetIn(pkt, PacketInReason.NO_MATCH, c ? c.missSendLen : 128, tableId, ALL_ONES_COOKIE);
        } else this.drop(`table ${tableId} miss`);
        return;
      }
      this.matched[tableId]! += 1n;
      rule.packets++;
      rule.bytes += BigInt(pkt.bytes.length);
      rule.lastUsed = this.clock();
      ctx = {
        cause,
        tableId,
        cookie: rule.cookie,
        missRule: rule.priority === 0 && rule.match.fields.length === 0,
        packetOut: false,
      };
      let next: number | undefined;
      const ordered = inInstructionOrder(rule.instructions);
      for (const i of ordered) {
        if (i.type === 'applyActions') this.exec(pkt, i.actions, ctx);
        else if (i.type === 'clearActions') actionSet.clear();
        else if (i.type === 'writeActions') {
          for (const a of i.actions)
            actionSet.set(a.type === 'setField' ? `setField:${a.field.field}` : a.type, a);
        } else if (i.type === 'writeMetadata')
          pkt.metadata = (pkt.metadata & ~i.metadataMask) | (i.metadata & i.metadataMask);
        else if (i.type === 'gotoTable') next = i.tableId;
      }
      if (next === undefined) break;
      tableId = next;
    }
    if (actionSet.size === 0) return;
    const set = inActionSetOrder(actionSet.values());
    // A group in the action set takes the place of an output (5.10).
    const hasGroup = set.some((a) => a.type === 'group');
    this.exec(
      pkt,
      set.filter((a) => !(hasGroup && a.type === 'output')),
      ctx!,
    );
  }

  /** Execute an action list on `pkt` (edits apply to the rest of the list). */
  private exec(pkt: Pkt, actions: readonly Action[], ctx: ExecCtx): void {
    for (const a of actions) {
      switch (a.type) {
        case 'output':
          this.output(pkt, a.port >>> 0, a.maxLen, ctx);
          break;
        case 'group':
          this.group(pkt, a.groupId >>> 0, ctx);
          break;
        case 'pushVlan': {
          const b = pkt.bytes;
          const tci = isTagged(b) ? (b[14]! << 8) | b[15]! : 0;
          const out = new Uint8Array(b.length + 4);
          out.set(b.subarray(0, 12), 0);
          out[12] = a.ethertype >>> 8;
          out[13] = a.ethertype & 0xff;
          out[14] = tci >>> 8;
          out[15] = tci & 0xff;
          out.set(b.subarray(12), 16);
          setBytes(pkt, out);
          break;
        }
        case 'popVlan': {
          const b = pkt.bytes;
          if (!isTagged(b)) {
            this.drop('pop_vlan on an untagged packet (action ignored)');
            break;
          }
          const out = new Uint8Array(b.length - 4);
          out.set(b.subarray(0, 12), 0);
          out.set(b.subarray(16), 12);
          setBytes(pkt, out);
          break;
        }
        case 'setField':
          this.setField(pkt, a.field);
          break;
        case 'decNwTtl':
        case 'setNwTtl':
          this.editL3(pkt, (p) => {
            if (p.l3?.kind === 'ipv4') p.l3.ttl = a.type === 'setNwTtl' ? a.ttl : Math.max(0, p.l3.ttl - 1);
            else if (p.l3?.kind === 'ipv6')
              p.l3.hopLimit = a.type === 'setNwTtl' ? a.ttl : Math.max(0, p.l3.hopLimit - 1);
          });
          break;
        default:
          // setQueue and the like: nothing to do in an emulation.
          break;
      }
    }
  }

  private setField(pkt: Pkt, f: OxmField): void {
    if (f.field === 'unknown') return;
    const b = pkt.bytes;
    switch (f.field) {
      case 'eth_dst':
      case 'eth_src': {
        const out = new Uint8Array(b);
        const v = fieldBits(f)!.value;
        const at = f.field === 'eth_dst' ? 0 : 6;
        for (let i = 0; i < 6; i++) out[at + i] = Number((v >> BigInt(8 * (5 - i))) & 0xffn);
        setBytes(pkt, out);
        return;
      }
      case 'vlan_vid':
      case 'vlan_pcp': {
        if (!isTagged(b)) {
          this.drop(`set ${f.field} on an untagged packet (action ignored)`);
          return;
        }
        const out = new Uint8Array(b);
        let tci = (b[14]! << 8) | b[15]!;
        const v = (f.value as number) >>> 0;
        tci = f.field === 'vlan_vid' ? (tci & 0xf000) | (v & 0xfff) : (tci & 0x1fff) | ((v & 7) << 13);
        out[14] = tci >>> 8;
        out[15] = tci & 0xff;
        setBytes(pkt, out);
        return;
      }
      case 'tunnel_id':
        pkt.tunnelId = f.value as bigint;
        return;
      default:
        this.editL3(pkt, (p) => {
          const v = f.value;
          const l3 = p.l3;
          const l4 = p.l4;
          switch (f.field) {
            case 'ip_dscp':
              if (l3?.kind === 'ipv4') l3.dscp = v as number;
              else if (l3?.kind === 'ipv6') l3.trafficClass = ((v as number) << 2) | (l3.trafficClass & 3);
              return;
            case 'ip_ecn':
              if (l3?.kind === 'ipv4') l3.ecn = v as number;
              else if (l3?.kind === 'ipv6') l3.trafficClass = (l3.trafficClass & ~3) | ((v as number) & 3);
              return;
            case 'ipv4_src':
            case 'ipv6_src':
              if (l3?.kind === 'ipv4' || l3?.kind === 'ipv6') l3.src = v as string;
              return;
            case 'ipv4_dst':
            case 'ipv6_dst':
              if (l3?.kind === 'ipv4' || l3?.kind === 'ipv6') l3.dst = v as string;
              return;
            case 'tcp_src':
            case 'udp_src':
              if (l4?.kind === 'tcp' || l4?.kind === 'udp') l4.srcPort = v as number;
              return;
            case 'tcp_dst':
            case 'udp_dst':
              if (l4?.kind === 'tcp' || l4?.kind === 'udp') l4.dstPort = v as number;
              return;
            case 'arp_op':
              if (l3?.kind === 'arp') l3.operation = v as number;
              return;
            case 'arp_spa':
              if (l3?.kind === 'arp') l3.senderIp = v as string;
              return;
            case 'arp_tpa':
              if (l3?.kind === 'arp') l3.targetIp = v as string;
              return;
            case 'arp_sha':
              if (l3?.kind === 'arp') l3.senderMac = v as string;
              return;
            case 'arp_tha':
              if (l3?.kind === 'arp') l3.targetMac = v as string;
              return;
          }
        });
    }
  }

  /** Edit L3/L4 header fields through the packet library (lengths and checksums are recomputed). */
  private editL3(pkt: Pkt, edit: (p: Mutable<ReturnType<typeof parsePacket>>) => void): void {
    let p: Mutable<ReturnType<typeof parsePacket>>;
    try {
      p = parsePacket(pkt.bytes) as Mutable<ReturnType<typeof parsePacket>>;
    } catch (e) {
      this.drop(`cannot edit an unparsable packet: ${(e as Error).message}`);
      return;
    }
    if (p.truncated) {
      this.drop('cannot edit a truncated packet');
      return;
    }
    const l3 = p.l3 ? { ...p.l3 } : undefined;
    const l4 = p.l4 ? { ...p.l4 } : undefined;
    const copy = { ...p, l3, l4 } as Mutable<ReturnType<typeof parsePacket>>;
    edit(copy);
    const spec: FrameSpec = {
      eth: { dst: p.eth.dst, src: p.eth.src, vlans: p.eth.vlans, ethType: p.eth.ethType },
      payload: p.payload,
    };
    if (copy.l3) spec.l3 = copy.l3 as FrameSpec['l3'];
    if (copy.l4) spec.l4 = copy.l4 as FrameSpec['l4'];
    setBytes(pkt, buildFrame(spec));
  }

  private group(pkt: Pkt, groupId: number, ctx: ExecCtx): void {
    const g = this.groupMap.get(groupId);
    if (!g) {
      this.drop(`group ${hex(groupId)} does not exist`);
      return;
    }
    g.packets++;
    g.bytes += BigInt(pkt.bytes.length);
    const run = (i: number) => {
      const b = g.buckets[i]!;
      const counts = g.bucketCounts[i]!;
      counts.packets++;
      counts.bytes += BigInt(pkt.bytes.length);
      // A bucket's actions are an action set: applied in the set's order, on a copy of the packet.
      const set = inActionSetOrder(b.actions);
      this.exec(copyPkt(pkt), set, ctx);
    };
    switch (g.groupType) {
      case GroupType.ALL:
        for (let i = 0; i < g.buckets.length; i++) run(i);
        return;
      case GroupType.INDIRECT:
        if (g.buckets.length > 0) run(0);
        return;
      case GroupType.SELECT: {
        const i = g.buckets.findIndex((b) => b.weight > 0);
        if (i >= 0) run(i);
        return;
      }
      case GroupType.FF: {
        const i = g.buckets.findIndex((b) => this.live(b.watchPort >>> 0));
        if (i >= 0) run(i);
        else this.drop(`group ${hex(groupId)}: no live bucket`);
        return;
      }
    }
  }

  private live(port: number): boolean {
    if (port === Port.ANY) return true;
    const p = this.portMap.get(port);
    return (
      p !== undefined && !(p.desc.config & PortConfig.PORT_DOWN) && !(p.desc.state & PortState.LINK_DOWN)
    );
  }

  private output(pkt: Pkt, port: number, maxLen: number, ctx: ExecCtx): void {
    switch (port) {
      case Port.CONTROLLER:
        this.packetIn(
          pkt,
          ctx.missRule ? PacketInReason.NO_MATCH : PacketInReason.ACTION,
          maxLen,
          ctx.tableId,
          ctx.cookie,
        );
        return;
      case Port.TABLE:
        if (!ctx.packetOut) {
          this.drop('output:TABLE outside a packet-out');
          return;
        }
        this.pipeline(copyPkt({ ...pkt, metadata: 0n }), ctx.cause);
        return;
      case Port.IN_PORT:
        this.transmit(pkt.inPort, pkt.bytes, ctx.cause);
        return;
      case Port.FLOOD:
      case Port.ALL:
        for (const p of this.portMap.values()) {
          if (p.desc.portNo === pkt.inPort) continue;
          if (port === Port.FLOOD && p.desc.config & NO_FLOOD) continue;
          this.transmit(p.desc.portNo, pkt.bytes, ctx.cause);
        }
        return;
      case Port.NORMAL:
        this.drop('output:NORMAL is not emulated');
        return;
      default:
        if (port === pkt.inPort) {
          this.drop(`output to the ingress port ${port} (use IN_PORT)`);
          return;
        }
        this.transmit(port, pkt.bytes, ctx.cause);
    }
  }

  private transmit(port: number, bytes: Uint8Array, cause: Cause): void {
    const p = this.portMap.get(port);
    if (!p) {
      this.drop(`output to missing port ${port}`);
      return;
    }
    if (p.desc.config & (PortConfig.PORT_DOWN | PortConfig.NO_FWD) || p.desc.state & PortState.LINK_DOWN) {
      p.stats.txDropped++;
      this.drop(`port ${port} does not forward`);
      return;
    }
    p.stats.txPackets++;
    p.stats.txBytes += BigInt(bytes.length);
    const t: Transmission = { port, bytes, at: this.clock(), cause: cause.kind };
    if (cause.xid !== undefined) t.xid = cause.xid;
    if (cause.bufferId !== undefined) t.bufferId = cause.bufferId;
    this.transmitted.push(t);
    this.note(
      `tx port ${port} ${bytes.length} bytes (${cause.kind}${cause.bufferId !== undefined ? ` buffer ${cause.bufferId}` : ''})`,
    );
    this.emit('transmit', t);
    const link = this.links.get(port);
    if (link) {
      if (cause.hops >= MAX_HOPS) {
        this.drop(`hop limit on port ${port}`);
        return;
      }
      setImmediate(() => {
        if (!link.peer.closed) link.peer.arrive(link.port, bytes, cause.hops + 1);
      });
    }
  }

  private packetIn(pkt: Pkt, reason: number, maxLen: number, tableId: number, cookie: bigint): void {
    const c = this.conn;
    if (!c) {
      this.drop('packet-in with no controller connected');
      return;
    }
    const ingress = this.portMap.get(pkt.inPort);
    if (ingress && ingress.desc.config & PortConfig.NO_PACKET_IN) {
      this.drop(`port ${pkt.inPort} has NO_PACKET_IN`);
      return;
    }
    const slave = c.role === ControllerRole.SLAVE ? 1 : 0;
    if (!(c.async.packetInMask[slave] & (1 << reason))) {
      this.drop(`packet-in reason ${reason} masked`);
      return;
    }
    const len = pkt.bytes.length;
    let bufferId = NO_BUFFER;
    let data = pkt.bytes;
    if (maxLen !== CONTROLLER_MAX_LEN_NO_BUFFER && (len > maxLen || this.opts.bufferAlways)) {
      bufferId = this.allocBuffer(pkt.inPort, pkt.bytes);
      // With no buffer free the whole packet goes up unbuffered.
      if (bufferId !== NO_BUFFER) data = pkt.bytes.subarray(0, Math.min(maxLen, len));
    }
    const fields: OxmField[] = [{ field: 'in_port', value: pkt.inPort }];
    if (pkt.metadata !== 0n) fields.push({ field: 'metadata', value: pkt.metadata });
    if (pkt.tunnelId !== 0n) fields.push({ field: 'tunnel_id', value: pkt.tunnelId });
    const msg: PacketIn = {
      type: 'packetIn',
      xid: 0,
      bufferId,
      totalLen: len,
      reason,
      tableId: tableId & 0xff,
      cookie,
      match: { fields },
      data: new Uint8Array(data),
    };
    this.note(
      `packet-in port ${pkt.inPort} ${len} bytes, buffer ${bufferId === NO_BUFFER ? 'none' : bufferId}`,
    );
    this.packetIns.push(msg);
    this.send(msg);
    this.emit('packetIn', msg);
  }

  // ------------------------------------------------------------ multipart

  private multipart(xid: number, body: MultipartRequestBody): void {
    const now = this.clock();
    let reply: MultipartReplyBody;
    switch (body.kind) {
      case 'desc':
        reply = {
          kind: 'desc',
          mfrDesc: 'vnm',
          hwDesc: 'emulated switch',
          swDesc: 'vnm test/helpers/emulated-switch.ts',
          serialNum: this.dpid.toString(16),
          dpDesc: this.name,
        };
        break;
      case 'flow':
        reply = {
          kind: 'flow',
          stats: this.select(statsQuery(body), false).map((r) => this.flowStats(r, now)),
        };
        break;
      case 'aggregate': {
        const rules = this.select(statsQuery(body), false);
        reply = {
          kind: 'aggregate',
          packetCount: rules.reduce((s, r) => s + r.packets, 0n),
          byteCount: rules.reduce((s, r) => s + r.bytes, 0n),
          flowCount: rules.length,
        };
        break;
      }
      case 'table':
        reply = {
          kind: 'table',
          stats: Array.from({ length: this.nTables }, (_, tableId) => ({
            tableId,
            activeCount: this.tables.get(tableId)?.length ?? 0,
            lookupCount: this.lookups[tableId]!,
            matchedCount: this.matched[tableId]!,
          })),
        };
        break;
      case 'portStats': {
        const all = body.portNo >>> 0 === Port.ANY;
        const p = all ? [...this.portMap.values()] : [this.portMap.get(body.portNo >>> 0)];
        if (p.some((x) => x === undefined))
          throw new Reject(ErrorType.BAD_REQUEST, BadRequestCode.BAD_PORT, `no port ${body.portNo}`);
        reply = { kind: 'portStats', stats: p.map((x) => ({ ...x!.stats })) };
        break;
      }
      case 'portDesc':
        reply = { kind: 'portDesc', ports: this.ports() };
        break;
      case 'group': {
        const ids = body.groupId >>> 0 === Group.ALL ? [...this.groupMap.keys()] : [body.groupId >>> 0];
        reply = {
          kind: 'group',
          stats: ids.flatMap((groupId) => {
            const g = this.groupMap.get(groupId);
            if (!g) return [];
            const refCount = this.allRules().filter((r) =>
              actionsOf(r.instructions).some((a) => a.type === 'group' && a.groupId >>> 0 === groupId),
            ).length;
            return [
              {
                groupId,
                refCount,
                packetCount: g.packets,
                byteCount: g.bytes,
                ...durations(g.installedAt, now),
                bucketStats: g.bucketCounts.map((c) => ({ packetCount: c.packets, byteCount: c.bytes })),
              },
            ];
          }),
        };
        break;
      }
      case 'groupDesc':
        reply = { kind: 'groupDesc', groups: this.groups() };
        break;
      case 'groupFeatures':
        reply = {
          kind: 'groupFeatures',
          types: 0xf,
          capabilities: 0,
          maxGroups: [0xffffff00, 0xffffff00, 0xffffff00, 0xffffff00],
          actions: [0, 0, 0, 0],
        };
        break;
      default:
        throw new Reject(ErrorType.BAD_REQUEST, BadRequestCode.BAD_MULTIPART, `multipart ${body.kind}`);
    }
    const parts = splitReply(reply);
    for (let i = 0; i < parts.length; i++)
      this.send({ type: 'multipartReply', xid, flags: i < parts.length - 1 ? 1 : 0, body: parts[i]! });
  }
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

function statsQuery(b: FlowStatsRequestBody) {
  return {
    tableId: b.tableId,
    cookie: b.cookie,
    cookieMask: b.cookieMask,
    match: b.match,
    outPort: b.outPort,
    outGroup: b.outGroup,
  };
}

const LIST_OF: Partial<Record<MultipartReplyBody['kind'], string>> = {
  flow: 'stats',
  table: 'stats',
  portStats: 'stats',
  group: 'stats',
  groupDesc: 'groups',
  portDesc: 'ports',
};

/** Does the reply encode within OpenFlow's 64 KiB message limit? (the encoder throws RangeError beyond) */
function fits(body: MultipartReplyBody): boolean {
  try {
    return encodeMessage({ type: 'multipartReply', xid: 0, flags: 0, body }).length <= MAX_MSG;
  } catch (e) {
    if (e instanceof RangeError) return false;
    throw e;
  }
}

/** Split a reply body whose message would exceed 64 KiB into several (sent with the MORE flag). */
function splitReply(body: MultipartReplyBody): MultipartReplyBody[] {
  const key = LIST_OF[body.kind];
  if (key === undefined || fits(body)) return [body];
  const list = (body as unknown as Record<string, unknown[]>)[key]!;
  if (list.length <= 1) return [body];
  const half = Math.ceil(list.length / 2);
  return [
    ...splitReply({ ...body, [key]: list.slice(0, half) } as MultipartReplyBody),
    ...splitReply({ ...body, [key]: list.slice(half) } as MultipartReplyBody),
  ];
}
