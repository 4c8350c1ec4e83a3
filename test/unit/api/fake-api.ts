// An in-memory ControllerApi for unit tests: switches with real flow-table semantics, links, hosts.
//
// The fake is a small OpenFlow 1.3 data plane (in the spirit of Faucet's valve tests): flow-mods are
// applied to per-switch flow tables (add / modify / delete, strict or not, cookies, out_port, timeouts,
// buffers, groups), frames are matched against OXM matches field by field and forwarded along links, to
// hosts or to the controller (packet-in). Everything an app sends is also logged per switch, so a test can
// assert on the exact commands as well as on where the packets went.
//
// Processing model: commands take effect when sent (in order). Events for the app (packet-in, port-status,
// switch up/down, flow-removed, error) and frames in flight on links go through one FIFO queue that
// `settle()` drains, awaiting every listener. Time is a fake clock, moved by `advance(ms)` (flow timeouts).
//
// Typical use:
//   const net = new FakeNetwork();
//   net.addSwitch(1, [1, 2]); net.addSwitch(2, [1, 2]); net.link(1, 2, 2, 1);
//   const h1 = net.addHost('h1', { dpid: 1, port: 1 }); const h2 = net.addHost('h2', { dpid: 2, port: 2 });
//   await net.startApp(app, {});
//   assert.equal(await net.ping('h1', 'h2'), true);

import type {
  App,
  AppCommand,
  AppRequest,
  ControllerApi,
  ControllerEventName,
  ControllerEvents,
  Datapath,
  Listener,
  ReplyTo,
} from '../../../src/api/types.ts';
import { OpenFlowError } from '../../../src/api/types.ts';
import {
  BadRequestCode,
  CONTROLLER_MAX_LEN_NO_BUFFER,
  ErrorType,
  FlowModCommand,
  FlowModFlags,
  FlowRemovedReason,
  GroupModCommand,
  GroupType,
  NO_BUFFER,
  Group as OFPG,
  Port as OFPP,
  PacketInReason,
  PortConfig,
  PortReason,
  PortState,
  Table,
} from '../../../src/openflow/constants.ts';
import type {
  Action,
  Bucket,
  ErrorMsg,
  FlowMod,
  FlowStats,
  Instruction,
  Match,
  MultipartReplyBody,
  MultipartRequestBody,
  OfMessage,
  OxmField,
  PacketIn,
  PacketOut,
  Port,
  PortStats,
} from '../../../src/openflow/types.ts';
import { ipv4ToNumber, ipv6ToBytes, macToBigInt, macToBytes } from '../../../src/packet/address.ts';
import { parsePacket } from '../../../src/packet/parse.ts';
import { type Logger, rootLogger } from '../../../src/util/log.ts';
import { setL4Fields } from '../../helpers/flow-table.ts';

export type DpidLike = bigint | number;
const toDpid = (d: DpidLike): bigint => (typeof d === 'bigint' ? d : BigInt(d));

// ---------------------------------------------------------------- match arithmetic

/** Value width in bits of each basic OXM field (masks default to all ones of this width). */
const FIELD_BITS: Record<string, number> = {
  in_port: 32,
  in_phy_port: 32,
  metadata: 64,
  eth_dst: 48,
  eth_src: 48,
  eth_type: 16,
  vlan_vid: 13,
  vlan_pcp: 3,
  ip_dscp: 6,
  ip_ecn: 2,
  ip_proto: 8,
  ipv4_src: 32,
  ipv4_dst: 32,
  tcp_src: 16,
  tcp_dst: 16,
  udp_src: 16,
  udp_dst: 16,
  sctp_src: 16,
  sctp_dst: 16,
  icmpv4_type: 8,
  icmpv4_code: 8,
  arp_op: 16,
  arp_spa: 32,
  arp_tpa: 32,
  arp_sha: 48,
  arp_tha: 48,
  ipv6_src: 128,
  ipv6_dst: 128,
  ipv6_flabel: 20,
  icmpv6_type: 8,
  icmpv6_code: 8,
  ipv6_nd_target: 128,
  ipv6_nd_sll: 48,
  ipv6_nd_tll: 48,
  mpls_label: 20,
  mpls_tc: 3,
  mpls_bos: 1,
  pbb_isid: 24,
  tunnel_id: 64,
  ipv6_exthdr: 9,
};

function bytesToBig(b: Uint8Array): bigint {
  let v = 0n;
  for (const x of b) v = (v << 8n) | BigInt(x);
  return v;
}

function valueBits(field: OxmField['field'], value: unknown): bigint {
  if (typeof value === 'bigint') return value;
  if (typeof value === 'number') return BigInt(value);
  const s = value as string;
  switch (field) {
    case 'eth_dst':
    case 'eth_src':
    case 'arp_sha':
    case 'arp_tha':
    case 'ipv6_nd_sll':
    case 'ipv6_nd_tll':
      return macToBigInt(s);
    case 'ipv4_src':
    case 'ipv4_dst':
    case 'arp_spa':
    case 'arp_tpa':
      return BigInt(ipv4ToNumber(s));
    default:
      return bytesToBig(ipv6ToBytes(s));
  }
}

interface Bits {
  value: bigint;
  mask: bigint;
}

function fieldBits(f: OxmField): [string, Bits] | undefined {
  if (f.field === 'unknown') return undefined;
  const width = BigInt(FIELD_BITS[f.field] ?? 64);
  const full = (1n << width) - 1n;
  const mask = f.mask === undefined ? full : valueBits(f.field, f.mask) & full;
  return [f.field, { value: valueBits(f.field, f.value) & mask, mask }];
}

function matchBits(m: Match): Map<string, Bits> {
  const out = new Map<string, Bits>();
  for (const f of m.fields) {
    const e = fieldBits(f);
    if (e) out.set(e[0], e[1]);
  }
  return out;
}

/** Same set of fields with the same values and masks (strict identity). */
function sameMatch(a: Map<string, Bits>, b: Map<string, Bits>): boolean {
  if (a.size !== b.size) return false;
  for (const [k, x] of a) {
    const y = b.get(k);
    if (!y || y.value !== x.value || y.mask !== x.mask) return false;
  }
  return true;
}

/** `req` covers `flow`: every packet matching `flow` matches `req` (non-strict modify/delete, stats). */
function covers(req: Map<string, Bits>, flow: Map<string, Bits>): boolean {
  for (const [k, r] of req) {
    const f = flow.get(k);
    if (!f) return false;
    if ((r.mask & ~f.mask) !== 0n) return false;
    if ((f.value & r.mask) !== r.value) return false;
  }
  return true;
}

// ---------------------------------------------------------------- packet fields

type PacketFields = Map<string, bigint>;

/** The OXM view of a frame as a switch would classify it. */
export function packetFields(frame: Uint8Array, inPort: number, metadata = 0n): PacketFields {
  const m: PacketFields = new Map();
  m.set('in_port', BigInt(inPort));
  m.set('in_phy_port', BigInt(inPort));
  m.set('metadata', metadata);
  let p: ReturnType<typeof parsePacket>;
  try {
    p = parsePacket(frame);
  } catch {
    return m;
  }
  m.set('eth_dst', macToBigInt(p.eth.dst));
  m.set('eth_src', macToBigInt(p.eth.src));
  m.set('eth_type', BigInt(p.eth.ethType));
  const tag = p.eth.vlans[0];
  if (tag) {
    m.set('vlan_vid', BigInt(0x1000 | tag.vid));
    m.set('vlan_pcp', BigInt(tag.pcp));
    // A switch classifies on the outer tag; the EtherType is the one after all tags.
  } else {
    m.set('vlan_vid', 0n);
  }
  const l3 = p.l3;
  if (l3?.kind === 'arp') {
    m.set('arp_op', BigInt(l3.operation));
    m.set('arp_spa', BigInt(ipv4ToNumber(l3.senderIp)));
    m.set('arp_tpa', BigInt(ipv4ToNumber(l3.targetIp)));
    m.set('arp_sha', macToBigInt(l3.senderMac));
    m.set('arp_tha', macToBigInt(l3.targetMac));
  } else if (l3?.kind === 'ipv4' || l3?.kind === 'ipv6') {
    if (l3.kind === 'ipv4') {
      m.set('ipv4_src', BigInt(ipv4ToNumber(l3.src)));
      m.set('ipv4_dst', BigInt(ipv4ToNumber(l3.dst)));
      m.set('ip_dscp', BigInt(l3.dscp));
      m.set('ip_ecn', BigInt(l3.ecn));
    } else {
      m.set('ipv6_src', bytesToBig(ipv6ToBytes(l3.src)));
      m.set('ipv6_dst', bytesToBig(ipv6ToBytes(l3.dst)));
    }
    m.set('ip_proto', BigInt(l3.protocol));
    setL4Fields(m, p.l4);
  }
  return m;
}

function packetMatches(match: Map<string, Bits>, pkt: PacketFields): boolean {
  for (const [k, b] of match) {
    const v = pkt.get(k);
    if (v === undefined) return false;
    if ((v & b.mask) !== b.value) return false;
  }
  return true;
}

// ---------------------------------------------------------------- frame edits (actions)

function isTagged(frame: Uint8Array): boolean {
  if (frame.length < 18) return false;
  const t = (frame[12]! << 8) | frame[13]!;
  return t === 0x8100 || t === 0x88a8;
}

function pushVlan(frame: Uint8Array, tpid: number): Uint8Array {
  const tci = isTagged(frame) ? (frame[14]! << 8) | frame[15]! : 0;
  const out = new Uint8Array(frame.length + 4);
  out.set(frame.subarray(0, 12), 0);
  out[12] = tpid >>> 8;
  out[13] = tpid & 0xff;
  out[14] = tci >>> 8;
  out[15] = tci & 0xff;
  out.set(frame.subarray(12), 16);
  return out;
}

function popVlan(frame: Uint8Array): Uint8Array {
  if (!isTagged(frame)) return frame;
  const out = new Uint8Array(frame.length - 4);
  out.set(frame.subarray(0, 12), 0);
  out.set(frame.subarray(16), 12);
  return out;
}

function setField(frame: Uint8Array, f: OxmField): Uint8Array {
  const out = frame.slice();
  switch (f.field) {
    case 'eth_dst':
      out.set(macToBytes(f.value), 0);
      break;
    case 'eth_src':
      out.set(macToBytes(f.value), 6);
      break;
    case 'vlan_vid':
      if (isTagged(out)) {
        const tci = ((out[14]! << 8) | out[15]!) & 0xf000;
        const v = tci | (f.value & 0x0fff);
        out[14] = v >>> 8;
        out[15] = v & 0xff;
      }
      break;
    case 'vlan_pcp':
      if (isTagged(out)) out[14] = (out[14]! & 0x1f) | ((f.value & 7) << 5);
      break;
    default:
      // Other set-fields are accepted and ignored by the fake (recorded in the command log anyway).
      break;
  }
  return out;
}

// ---------------------------------------------------------------- switches

export interface FakeFlow {
  tableId: number;
  priority: number;
  match: Match;
  instructions: Instruction[];
  idleTimeout: number;
  hardTimeout: number;
  cookie: bigint;
  flags: number;
  packetCount: bigint;
  byteCount: bigint;
  /** Fake-clock ms. */
  installedAt: number;
  lastUsedAt: number;
  /** Insertion order, to break priority ties deterministically. */
  seq: number;
  /** Cached match arithmetic. */
  bits: Map<string, Bits>;
}

export interface PortCounters {
  rxPackets: bigint;
  txPackets: bigint;
  rxBytes: bigint;
  txBytes: bigint;
}

export interface SwitchOptions {
  /** Buffers for packet-ins (0 = no buffering, like Open vSwitch). Default 0. */
  nBuffers?: number;
  nTables?: number;
  /** Connect at once (switchUp queued). Default true. */
  connect?: boolean;
}

interface Pending {
  frame: Uint8Array;
  inPort: number;
}

export class FakeSwitch implements Datapath {
  readonly id: bigint;
  readonly idText: string;
  readonly ports = new Map<number, Port>();
  readonly nTables: number;
  readonly nBuffers: number;
  readonly capabilities = 0x4f;
  connected = false;
  /** Every command and request the app sent, in order (also those sent while disconnected). */
  readonly sent: OfMessage[] = [];
  flows: FakeFlow[] = [];
  readonly groups = new Map<number, { groupType: number; buckets: Bucket[] }>();
  readonly counters = new Map<number, PortCounters>();
  readonly buffers = new Map<number, Pending>();
  private nextBufferId = 1;
  private nextXid = 1;

  constructor(
    readonly net: FakeNetwork,
    dpid: bigint,
    opts: SwitchOptions,
  ) {
    this.id = dpid;
    this.idText = `0x${dpid.toString(16).padStart(16, '0')}`;
    this.nBuffers = opts.nBuffers ?? 0;
    this.nTables = opts.nTables ?? 254;
  }

  // ------------------------------------------------------------ Datapath

  send(command: AppCommand): number {
    const xid = command.xid ?? this.nextXid++;
    const msg = { ...command, xid } as OfMessage;
    this.sent.push(msg);
    this.net.journal.push({ dpid: this.id, msg });
    if (!this.connected) return xid;
    this.net.commandCount++;
    try {
      switch (msg.type) {
        case 'flowMod':
          this.flowMod(msg);
          break;
        case 'packetOut':
          this.packetOut(msg);
          break;
        case 'groupMod':
          this.groupMod(msg.command, msg.groupId, msg.groupType, msg.buckets, msg);
          break;
        case 'portMod':
          this.net.setPortConfig(this.id, msg.portNo, msg.config, msg.mask);
          break;
        default:
          break;
      }
    } catch (err) {
      if (err instanceof FakeOfError) this.net.queueError(this, err.errorType, err.code, msg);
      else throw err;
    }
    return xid;
  }

  request<R extends AppRequest>(req: R, _opts?: { timeoutMs?: number }): Promise<ReplyTo<R['type']>> {
    const xid = req.xid ?? this.nextXid++;
    const msg = { ...req, xid } as OfMessage;
    this.sent.push(msg);
    this.net.journal.push({ dpid: this.id, msg });
    if (!this.connected) return Promise.reject(new Error(`${this.idText} is not connected`));
    if (msg.type === 'multipartRequest') {
      try {
        const body = this.multipart(msg.body);
        return Promise.resolve({ type: 'multipartReply', xid, flags: 0, body } as unknown as ReplyTo<
          R['type']
        >);
      } catch (err) {
        if (err instanceof FakeOfError) return Promise.reject(this.ofError(err, xid));
        return Promise.reject(err);
      }
    }
    if (msg.type === 'echoRequest') {
      return Promise.resolve({ type: 'echoReply', xid, data: msg.data } as unknown as ReplyTo<R['type']>);
    }
    if (msg.type === 'featuresRequest') {
      return Promise.resolve({
        type: 'featuresReply',
        xid,
        datapathId: this.id,
        nBuffers: this.nBuffers,
        nTables: this.nTables,
        auxiliaryId: 0,
        capabilities: this.capabilities,
        reserved: 0,
      } as unknown as ReplyTo<R['type']>);
    }
    return Promise.reject(this.ofError(new FakeOfError(ErrorType.BAD_REQUEST, BadRequestCode.BAD_TYPE), xid));
  }

  barrier(_opts?: { timeoutMs?: number }): Promise<void> {
    const msg: OfMessage = { type: 'barrierRequest', xid: this.nextXid++ };
    this.sent.push(msg);
    this.net.journal.push({ dpid: this.id, msg });
    if (!this.connected) return Promise.reject(new Error(`${this.idText} is not connected`));
    this.net.barrierCount++;
    return Promise.resolve();
  }

  async stats<B extends MultipartRequestBody>(
    body: B,
    opts?: { timeoutMs?: number },
  ): Promise<Extract<MultipartReplyBody, { kind: B['kind'] }>> {
    const reply = await this.request({ type: 'multipartRequest', flags: 0, body }, opts);
    return reply.body as Extract<MultipartReplyBody, { kind: B['kind'] }>;
  }

  private ofError(err: FakeOfError, xid: number): OpenFlowError {
    const msg: ErrorMsg = {
      type: 'error',
      xid,
      errorType: err.errorType,
      code: err.code,
      data: new Uint8Array(),
    };
    return new OpenFlowError(this.id, msg, `${this.idText}: error ${err.errorType}/${err.code}`);
  }

  // ------------------------------------------------------------ inspection helpers

  /** Flow-mods sent (in order), optionally only since index `from` of `sent`. */
  flowMods(): FlowMod[] {
    return this.sent.filter((m): m is FlowMod => m.type === 'flowMod');
  }
  packetOuts(): PacketOut[] {
    return this.sent.filter((m): m is PacketOut => m.type === 'packetOut');
  }
  clearLog(): void {
    this.sent.length = 0;
  }
  /** Current flow entries of a table (default 0), highest priority first. */
  table(tableId = 0): FakeFlow[] {
    return this.flows
      .filter((f) => f.tableId === tableId)
      .sort((a, b) => b.priority - a.priority || a.seq - b.seq);
  }
  /** The flow a frame would hit in table 0 (for assertions), or undefined. */
  lookup(frame: Uint8Array, inPort: number, tableId = 0, metadata = 0n): FakeFlow | undefined {
    return this.findFlow(tableId, packetFields(frame, inPort, metadata));
  }
  /** Link up and not administratively down. */
  portUp(portNo: number): boolean {
    const p = this.ports.get(portNo);
    return !!p && (p.config & PortConfig.PORT_DOWN) === 0 && (p.state & PortState.LINK_DOWN) === 0;
  }
  /** The port accepts frames from its link (up, no OFPPC_NO_RECV). */
  canReceive(portNo: number): boolean {
    return this.portUp(portNo) && (this.ports.get(portNo)!.config & PortConfig.NO_RECV) === 0;
  }
  /** Frames may be output to it (up, no OFPPC_NO_FWD). */
  canForward(portNo: number): boolean {
    return this.portUp(portNo) && (this.ports.get(portNo)!.config & PortConfig.NO_FWD) === 0;
  }
  countersOf(portNo: number): PortCounters {
    let c = this.counters.get(portNo);
    if (!c) {
      c = { rxPackets: 0n, txPackets: 0n, rxBytes: 0n, txBytes: 0n };
      this.counters.set(portNo, c);
    }
    return c;
  }

  // ------------------------------------------------------------ flow table

  private flowMod(fm: FlowMod): void {
    const now = this.net.now;
    const bits = matchBits(fm.match);
    const cmd = fm.command;
    if (cmd === FlowModCommand.ADD) {
      if (fm.tableId >= this.nTables) throw new FakeOfError(ErrorType.FLOW_MOD_FAILED, 2);
      const existing = this.flows.find(
        (f) => f.tableId === fm.tableId && f.priority === fm.priority && sameMatch(f.bits, bits),
      );
      const keep = existing && (fm.flags & FlowModFlags.RESET_COUNTS) === 0;
      if (existing) this.flows = this.flows.filter((f) => f !== existing);
      this.flows.push({
        tableId: fm.tableId,
        priority: fm.priority,
        match: fm.match,
        instructions: fm.instructions,
        idleTimeout: fm.idleTimeout,
        hardTimeout: fm.hardTimeout,
        cookie: fm.cookie,
        flags: fm.flags,
        packetCount: keep ? existing.packetCount : 0n,
        byteCount: keep ? existing.byteCount : 0n,
        installedAt: now,
        lastUsedAt: now,
        seq: this.net.nextSeq++,
        bits,
      });
      if (fm.bufferId !== NO_BUFFER) this.releaseBuffer(fm.bufferId, undefined);
      return;
    }
    const strict = cmd === FlowModCommand.MODIFY_STRICT || cmd === FlowModCommand.DELETE_STRICT;
    const inTable = (f: FakeFlow) => fm.tableId === Table.ALL || f.tableId === fm.tableId;
    const cookieOk = (f: FakeFlow) => (f.cookie & fm.cookieMask) === (fm.cookie & fm.cookieMask);
    const selected = (f: FakeFlow) =>
      inTable(f) &&
      cookieOk(f) &&
      (strict ? f.priority === fm.priority && sameMatch(f.bits, bits) : covers(bits, f.bits));
    if (cmd === FlowModCommand.MODIFY || cmd === FlowModCommand.MODIFY_STRICT) {
      for (const f of this.flows) {
        if (!selected(f)) continue;
        f.instructions = fm.instructions;
        if (fm.flags & FlowModFlags.RESET_COUNTS) {
          f.packetCount = 0n;
          f.byteCount = 0n;
        }
      }
      if (fm.bufferId !== NO_BUFFER) this.releaseBuffer(fm.bufferId, undefined);
      return;
    }
    if (cmd === FlowModCommand.DELETE || cmd === FlowModCommand.DELETE_STRICT) {
      const victims = this.flows.filter(
        (f) => selected(f) && outputsTo(f.instructions, fm.outPort, fm.outGroup),
      );
      if (victims.length === 0) return;
      const set = new Set(victims);
      this.flows = this.flows.filter((f) => !set.has(f));
      for (const v of victims) this.removed(v, FlowRemovedReason.DELETE);
      return;
    }
    throw new FakeOfError(ErrorType.FLOW_MOD_FAILED, 6);
  }

  /** Called by the network when a flow leaves the table: flow-removed if the flow asked for it. */
  removed(f: FakeFlow, reason: number): void {
    if ((f.flags & FlowModFlags.SEND_FLOW_REM) === 0 || !this.connected) return;
    const ms = this.net.now - f.installedAt;
    this.net.queueEvent('flowRemoved', {
      dp: this,
      msg: {
        type: 'flowRemoved',
        xid: 0,
        cookie: f.cookie,
        priority: f.priority,
        reason,
        tableId: f.tableId,
        durationSec: Math.floor(ms / 1000),
        durationNsec: (ms % 1000) * 1e6,
        idleTimeout: f.idleTimeout,
        hardTimeout: f.hardTimeout,
        packetCount: f.packetCount,
        byteCount: f.byteCount,
        match: f.match,
      },
    });
  }

  expire(now: number): void {
    const gone: [FakeFlow, number][] = [];
    for (const f of this.flows) {
      if (f.hardTimeout > 0 && now - f.installedAt >= f.hardTimeout * 1000)
        gone.push([f, FlowRemovedReason.HARD_TIMEOUT]);
      else if (f.idleTimeout > 0 && now - f.lastUsedAt >= f.idleTimeout * 1000)
        gone.push([f, FlowRemovedReason.IDLE_TIMEOUT]);
    }
    if (gone.length === 0) return;
    const set = new Set(gone.map((g) => g[0]));
    this.flows = this.flows.filter((f) => !set.has(f));
    for (const [f, reason] of gone) this.removed(f, reason);
  }

  private groupMod(
    command: number,
    groupId: number,
    groupType: number,
    buckets: Bucket[],
    msg: OfMessage,
  ): void {
    if (command === GroupModCommand.ADD) {
      if (this.groups.has(groupId)) throw new FakeOfError(ErrorType.GROUP_MOD_FAILED, 0);
      this.groups.set(groupId, { groupType, buckets });
    } else if (command === GroupModCommand.MODIFY) {
      if (!this.groups.has(groupId)) throw new FakeOfError(ErrorType.GROUP_MOD_FAILED, 8);
      this.groups.set(groupId, { groupType, buckets });
    } else if (command === GroupModCommand.DELETE) {
      if (groupId === OFPG.ALL) this.groups.clear();
      else this.groups.delete(groupId);
    }
    void msg;
  }

  private findFlow(tableId: number, pkt: PacketFields): FakeFlow | undefined {
    let best: FakeFlow | undefined;
    for (const f of this.flows) {
      if (f.tableId !== tableId) continue;
      if (best && (f.priority < best.priority || (f.priority === best.priority && f.seq > best.seq)))
        continue;
      if (packetMatches(f.bits, pkt)) best = f;
    }
    return best;
  }

  // ------------------------------------------------------------ data plane

  /** A frame arrives on a port (from a host or a link). */
  receive(frame: Uint8Array, inPort: number): void {
    if (!this.canReceive(inPort)) return;
    const c = this.countersOf(inPort);
    c.rxPackets++;
    c.rxBytes += BigInt(frame.length);
    this.pipeline(frame, inPort, 0);
  }

  /** Runs the OpenFlow pipeline from `tableId`. */
  private pipeline(frame: Uint8Array, inPort: number, tableId: number, metadata = 0n): void {
    let table = tableId;
    let meta = metadata;
    let pkt = frame;
    const actionSet = new Map<string, Action>();
    for (let hops = 0; hops < 256; hops++) {
      const f = this.findFlow(table, packetFields(pkt, inPort, meta));
      if (!f) break; // table miss without a table-miss entry: drop
      f.packetCount++;
      f.byteCount += BigInt(pkt.length);
      f.lastUsedAt = this.net.now;
      const missEntry = f.priority === 0 && f.match.fields.length === 0;
      let next: number | undefined;
      for (const ins of f.instructions) {
        switch (ins.type) {
          case 'applyActions':
            pkt = this.apply(
              pkt,
              inPort,
              ins.actions,
              missEntry ? PacketInReason.NO_MATCH : PacketInReason.ACTION,
              f,
            );
            break;
          case 'clearActions':
            actionSet.clear();
            break;
          case 'writeActions':
            for (const a of ins.actions)
              actionSet.set(a.type === 'setField' ? `setField:${a.field.field}` : a.type, a);
            break;
          case 'writeMetadata':
            meta = (meta & ~ins.metadataMask) | (ins.metadata & ins.metadataMask);
            break;
          case 'gotoTable':
            next = ins.tableId;
            break;
          default:
            break;
        }
      }
      if (next === undefined) {
        if (actionSet.size > 0) {
          const order = ['popVlan', 'pushVlan'];
          const acts: Action[] = [];
          for (const k of order) if (actionSet.has(k)) acts.push(actionSet.get(k)!);
          for (const [k, a] of actionSet) if (k.startsWith('setField:')) acts.push(a);
          const grp = actionSet.get('group');
          const out = actionSet.get('output');
          if (grp) acts.push(grp);
          else if (out) acts.push(out);
          this.apply(pkt, inPort, acts, PacketInReason.ACTION, f);
        }
        return;
      }
      table = next;
    }
  }

  /** Applies an action list to a frame, emitting copies on outputs; returns the (possibly modified) frame. */
  apply(
    frame: Uint8Array,
    inPort: number,
    actions: readonly Action[],
    reason: number,
    flow?: FakeFlow,
  ): Uint8Array {
    let pkt = frame;
    for (const a of actions) {
      switch (a.type) {
        case 'output':
          this.output(pkt, inPort, a.port, a.maxLen, reason, flow);
          break;
        case 'pushVlan':
          pkt = pushVlan(pkt, a.ethertype);
          break;
        case 'popVlan':
          pkt = popVlan(pkt);
          break;
        case 'setField':
          pkt = setField(pkt, a.field);
          break;
        case 'group': {
          const g = this.groups.get(a.groupId);
          if (!g) break;
          if (g.groupType === GroupType.ALL) {
            for (const b of g.buckets) this.apply(pkt, inPort, b.actions, reason, flow);
          } else if (g.groupType === GroupType.FF) {
            const live = g.buckets.find((b) => b.watchPort === OFPP.ANY || this.portUp(b.watchPort));
            if (live) this.apply(pkt, inPort, live.actions, reason, flow);
          } else if (g.buckets[0]) {
            this.apply(pkt, inPort, g.buckets[0].actions, reason, flow);
          }
          break;
        }
        default:
          break;
      }
    }
    return pkt;
  }

  private output(
    frame: Uint8Array,
    inPort: number,
    port: number,
    maxLen: number,
    reason: number,
    flow?: FakeFlow,
  ): void {
    if (port === OFPP.CONTROLLER) {
      this.toController(frame, inPort, maxLen, reason, flow);
      return;
    }
    if (port === OFPP.TABLE) {
      this.pipeline(frame, inPort, 0);
      return;
    }
    if (port === OFPP.FLOOD || port === OFPP.ALL) {
      for (const p of [...this.ports.keys()].sort((a, b) => a - b)) {
        if (p !== inPort) this.transmit(frame, p);
      }
      return;
    }
    if (port === OFPP.IN_PORT) {
      this.transmit(frame, inPort);
      return;
    }
    if (port === OFPP.LOCAL || port === OFPP.NORMAL || port === OFPP.ANY) return;
    if (port === inPort) return; // OpenFlow: output to the ingress port needs OFPP_IN_PORT
    this.transmit(frame, port);
  }

  private transmit(frame: Uint8Array, port: number): void {
    if (!this.canForward(port)) return;
    const c = this.countersOf(port);
    c.txPackets++;
    c.txBytes += BigInt(frame.length);
    this.net.wire(this, port, frame);
  }

  private toController(
    frame: Uint8Array,
    inPort: number,
    maxLen: number,
    reason: number,
    flow?: FakeFlow,
  ): void {
    if (!this.connected) return;
    let bufferId = NO_BUFFER;
    let data = frame;
    if (this.nBuffers > 0 && maxLen !== CONTROLLER_MAX_LEN_NO_BUFFER) {
      bufferId = this.nextBufferId++;
      this.buffers.set(bufferId, { frame, inPort });
      if (this.buffers.size > this.nBuffers) this.buffers.delete(this.buffers.keys().next().value!);
      data = frame.subarray(0, Math.min(maxLen, frame.length)).slice();
    } else if (maxLen !== CONTROLLER_MAX_LEN_NO_BUFFER && maxLen < frame.length) {
      data = frame.slice(0, maxLen);
    } else {
      data = frame.slice();
    }
    const msg: PacketIn = {
      type: 'packetIn',
      xid: 0,
      bufferId,
      totalLen: frame.length,
      reason,
      tableId: flow?.tableId ?? 0,
      cookie: flow?.cookie ?? 0xffffffffffffffffn,
      match: { fields: [{ field: 'in_port', value: inPort }] },
      data,
    };
    this.net.packetInCount++;
    this.net.queueEvent('packetIn', { dp: this, msg, inPort });
  }

  private packetOut(po: PacketOut): void {
    if (po.bufferId !== NO_BUFFER) {
      this.releaseBuffer(po.bufferId, po.actions);
      return;
    }
    this.apply(po.data, po.inPort, po.actions, PacketInReason.ACTION);
  }

  /** Processes a buffered packet: with `actions` (packet-out) or through the pipeline (flow-mod). */
  private releaseBuffer(bufferId: number, actions: Action[] | undefined): void {
    const b = this.buffers.get(bufferId);
    if (!b) throw new FakeOfError(ErrorType.BAD_REQUEST, BadRequestCode.BUFFER_UNKNOWN);
    this.buffers.delete(bufferId);
    this.net.bufferReleases.push({ dpid: this.id, bufferId, via: actions ? 'packetOut' : 'flowMod' });
    if (actions) this.apply(b.frame, b.inPort, actions, PacketInReason.ACTION);
    else this.pipeline(b.frame, b.inPort, 0);
  }

  // ------------------------------------------------------------ stats

  private multipart(body: MultipartRequestBody): MultipartReplyBody {
    const now = this.net.now;
    switch (body.kind) {
      case 'desc':
        return {
          kind: 'desc',
          mfrDesc: 'vnm',
          hwDesc: 'fake switch',
          swDesc: 'fake-api',
          serialNum: '0',
          dpDesc: this.idText,
        };
      case 'flow':
      case 'aggregate': {
        const bits = matchBits(body.match);
        const sel = this.flows.filter(
          (f) =>
            (body.tableId === Table.ALL || f.tableId === body.tableId) &&
            (f.cookie & body.cookieMask) === (body.cookie & body.cookieMask) &&
            covers(bits, f.bits) &&
            outputsTo(f.instructions, body.outPort, body.outGroup),
        );
        if (body.kind === 'aggregate') {
          return {
            kind: 'aggregate',
            packetCount: sel.reduce((s, f) => s + f.packetCount, 0n),
            byteCount: sel.reduce((s, f) => s + f.byteCount, 0n),
            flowCount: sel.length,
          };
        }
        const stats: FlowStats[] = sel
          .sort((a, b) => a.tableId - b.tableId || b.priority - a.priority || a.seq - b.seq)
          .map((f) => {
            const ms = now - f.installedAt;
            return {
              tableId: f.tableId,
              durationSec: Math.floor(ms / 1000),
              durationNsec: (ms % 1000) * 1e6,
              priority: f.priority,
              idleTimeout: f.idleTimeout,
              hardTimeout: f.hardTimeout,
              flags: f.flags,
              cookie: f.cookie,
              packetCount: f.packetCount,
              byteCount: f.byteCount,
              match: f.match,
              instructions: f.instructions,
            };
          });
        return { kind: 'flow', stats };
      }
      case 'portStats': {
        const nos = body.portNo === OFPP.ANY ? [...this.ports.keys()].sort((a, b) => a - b) : [body.portNo];
        const stats: PortStats[] = [];
        for (const no of nos) {
          if (!this.ports.has(no)) throw new FakeOfError(ErrorType.BAD_REQUEST, BadRequestCode.BAD_PORT);
          const c = this.countersOf(no);
          stats.push({
            portNo: no,
            rxPackets: c.rxPackets,
            txPackets: c.txPackets,
            rxBytes: c.rxBytes,
            txBytes: c.txBytes,
            rxDropped: 0n,
            txDropped: 0n,
            rxErrors: 0n,
            txErrors: 0n,
            rxFrameErr: 0n,
            rxOverErr: 0n,
            rxCrcErr: 0n,
            collisions: 0n,
            durationSec: Math.floor(now / 1000),
            durationNsec: 0,
          });
        }
        return { kind: 'portStats', stats };
      }
      case 'portDesc':
        return { kind: 'portDesc', ports: [...this.ports.values()].map((p) => ({ ...p })) };
      case 'table': {
        const stats = [];
        for (let t = 0; t < Math.min(this.nTables, 254); t++) {
          stats.push({
            tableId: t,
            activeCount: this.flows.filter((f) => f.tableId === t).length,
            lookupCount: 0n,
            matchedCount: 0n,
          });
        }
        return { kind: 'table', stats };
      }
      case 'groupDesc':
        return {
          kind: 'groupDesc',
          groups: [...this.groups].map(([groupId, g]) => ({
            groupId,
            groupType: g.groupType,
            buckets: g.buckets,
          })),
        };
      default:
        throw new FakeOfError(ErrorType.BAD_REQUEST, BadRequestCode.BAD_MULTIPART);
    }
  }
}

class FakeOfError extends Error {
  constructor(
    readonly errorType: number,
    readonly code: number,
  ) {
    super(`openflow error ${errorType}/${code}`);
  }
}

function outputsTo(instructions: readonly Instruction[], outPort: number, outGroup: number): boolean {
  if (outPort === OFPP.ANY && outGroup === OFPG.ANY) return true;
  for (const ins of instructions) {
    if (ins.type !== 'applyActions' && ins.type !== 'writeActions') continue;
    for (const a of ins.actions) {
      if (outPort !== OFPP.ANY && a.type === 'output' && a.port === outPort) return true;
      if (outGroup !== OFPG.ANY && a.type === 'group' && a.groupId === outGroup) return true;
    }
  }
  return false;
}

// ---------------------------------------------------------------- hosts

export interface FakeHost {
  readonly name: string;
  readonly mac: string;
  readonly ip: string;
  dpid: bigint;
  port: number;
  /** Frames delivered to this host, in order. */
  readonly received: Uint8Array[];
  /** Answer ARP requests for `ip` and ICMP echo requests (default true). */
  autoReply: boolean;
}

type Endpoint = { kind: 'switch'; dpid: bigint; port: number } | { kind: 'host'; host: FakeHost };

type QueueItem =
  | { kind: 'event'; name: ControllerEventName; event: unknown }
  | { kind: 'frame'; dpid: bigint; port: number; frame: Uint8Array }
  | { kind: 'host'; host: FakeHost; frame: Uint8Array };

// ---------------------------------------------------------------- the network

export class FakeNetwork implements ControllerApi {
  readonly switches = new Map<bigint, FakeSwitch>();
  readonly hosts = new Map<string, FakeHost>();
  /** Fake clock (ms); moved by advance(). */
  now = 0;
  nextSeq = 1;
  commandCount = 0;
  barrierCount = 0;
  packetInCount = 0;
  /** Frames that crossed a link or reached a host since the start (loop detector). */
  transits = 0;
  /** Largest number of link/host transits allowed in one settle() before it throws (a forwarding loop). */
  maxTransits = 20000;
  /** Every command, request and barrier sent to any switch, in the order sent. */
  readonly journal: { dpid: bigint; msg: OfMessage }[] = [];
  readonly bufferReleases: { dpid: bigint; bufferId: number; via: 'packetOut' | 'flowMod' }[] = [];
  /** Errors thrown by app listeners (settle() rethrows the first). */
  readonly listenerErrors: unknown[] = [];
  private readonly peers = new Map<string, Endpoint>();
  private readonly listeners = new Map<ControllerEventName, Listener<ControllerEventName>[]>();
  private queue: QueueItem[] = [];
  private readonly apps: App[] = [];
  private readonly log: Logger;

  constructor(opts: { logLevel?: string } = {}) {
    this.log = rootLogger.child(
      { c: 'fake' },
      { level: opts.logLevel ?? process.env.FAKE_LOG_LEVEL ?? 'silent' },
    );
  }

  // ------------------------------------------------------------ ControllerApi

  datapaths(): Datapath[] {
    return [...this.switches.values()].filter((s) => s.connected);
  }
  datapath(id: bigint): Datapath | undefined {
    const s = this.switches.get(id);
    return s?.connected ? s : undefined;
  }
  on<K extends ControllerEventName>(event: K, listener: Listener<K>): () => void {
    let list = this.listeners.get(event);
    if (!list) {
      list = [];
      this.listeners.set(event, list);
    }
    list.push(listener as unknown as Listener<ControllerEventName>);
    return () => {
      const l = this.listeners.get(event);
      if (!l) return;
      const i = l.indexOf(listener as unknown as Listener<ControllerEventName>);
      if (i >= 0) l.splice(i, 1);
    };
  }
  logger(component: string): Logger {
    return this.log.child({ app: component });
  }

  /** Number of listeners currently subscribed (to check that apps unsubscribe on stop). */
  listenerCount(event?: ControllerEventName): number {
    if (event) return this.listeners.get(event)?.length ?? 0;
    let n = 0;
    for (const l of this.listeners.values()) n += l.length;
    return n;
  }

  // ------------------------------------------------------------ building the network

  addSwitch(dpid: DpidLike, ports: number | number[] = [], opts: SwitchOptions = {}): FakeSwitch {
    const id = toDpid(dpid);
    if (this.switches.has(id)) throw new Error(`switch ${id} exists`);
    const sw = new FakeSwitch(this, id, opts);
    this.switches.set(id, sw);
    const list = typeof ports === 'number' ? Array.from({ length: ports }, (_, i) => i + 1) : ports;
    for (const p of list) this.addPortQuiet(sw, p);
    if (opts.connect !== false) this.connect(id);
    return sw;
  }

  sw(dpid: DpidLike): FakeSwitch {
    const s = this.switches.get(toDpid(dpid));
    if (!s) throw new Error(`no switch ${dpid}`);
    return s;
  }

  private addPortQuiet(sw: FakeSwitch, portNo: number): Port {
    const existing = sw.ports.get(portNo);
    if (existing) return existing;
    const port: Port = {
      portNo,
      hwAddr: fakeMac(0x0a, sw.id, portNo),
      name: `s${sw.id}-eth${portNo}`,
      config: 0,
      state: PortState.LIVE,
      curr: 0,
      advertised: 0,
      supported: 0,
      peer: 0,
      currSpeed: 10_000_000,
      maxSpeed: 10_000_000,
    };
    sw.ports.set(portNo, port);
    return port;
  }

  /** Adds a port (port-status ADD when connected). */
  addPort(dpid: DpidLike, portNo: number): void {
    const sw = this.sw(dpid);
    const port = this.addPortQuiet(sw, portNo);
    if (sw.connected) this.queuePortStatus(sw, PortReason.ADD, port);
  }

  /** Removes a port (port-status DELETE); its link or host is detached. */
  deletePort(dpid: DpidLike, portNo: number): void {
    const sw = this.sw(dpid);
    const port = sw.ports.get(portNo);
    if (!port) return;
    sw.ports.delete(portNo);
    const key = epKey(sw.id, portNo);
    const peer = this.peers.get(key);
    this.peers.delete(key);
    if (peer?.kind === 'switch') this.peers.delete(epKey(peer.dpid, peer.port));
    if (sw.connected)
      this.queuePortStatus(sw, PortReason.DELETE, { ...port, state: port.state | PortState.LINK_DOWN });
  }

  /** A link between two switch ports (ports are created when missing). */
  link(a: DpidLike, pa: number, b: DpidLike, pb: number): void {
    const sa = this.sw(a);
    const sb = this.sw(b);
    this.addPortQuiet(sa, pa);
    this.addPortQuiet(sb, pb);
    this.peers.set(epKey(sa.id, pa), { kind: 'switch', dpid: sb.id, port: pb });
    this.peers.set(epKey(sb.id, pb), { kind: 'switch', dpid: sa.id, port: pa });
  }

  /** Sets a port's link state (port-status MODIFY, as when a cable is pulled). */
  setPortUp(dpid: DpidLike, portNo: number, up: boolean): void {
    const sw = this.sw(dpid);
    const port = sw.ports.get(portNo);
    if (!port) throw new Error(`no port ${portNo} on ${dpid}`);
    const state = up
      ? (port.state & ~PortState.LINK_DOWN) | PortState.LIVE
      : (port.state | PortState.LINK_DOWN) & ~PortState.LIVE;
    if (state === port.state) return;
    const np = { ...port, state };
    sw.ports.set(portNo, np);
    if (sw.connected) this.queuePortStatus(sw, PortReason.MODIFY, np);
  }

  /**
   * Changes a port's config bits under `mask` (like a port-mod: PORT_DOWN, NO_RECV, NO_FWD, ...) and sends
   * port-status MODIFY when something changed.
   */
  setPortConfig(dpid: DpidLike, portNo: number, config: number, mask = 0xffffffff): void {
    const sw = this.sw(dpid);
    const port = sw.ports.get(portNo);
    if (!port) throw new Error(`no port ${portNo} on ${dpid}`);
    const next = (port.config & ~mask) | (config & mask);
    if (next === port.config) return;
    const np = { ...port, config: next };
    sw.ports.set(portNo, np);
    if (sw.connected) this.queuePortStatus(sw, PortReason.MODIFY, np);
  }

  /** Cuts (or restores) the link at a switch port: both ends change state. */
  setLinkUp(dpid: DpidLike, portNo: number, up: boolean): void {
    this.setPortUp(dpid, portNo, up);
    const peer = this.peers.get(epKey(toDpid(dpid), portNo));
    if (peer?.kind === 'switch') this.setPortUp(peer.dpid, peer.port, up);
  }

  /** Cuts a link silently: frames are lost but no port-status is sent (only LLDP timeouts can tell). */
  breakLinkSilently(dpid: DpidLike, portNo: number): void {
    const key = epKey(toDpid(dpid), portNo);
    const peer = this.peers.get(key);
    this.peers.delete(key);
    if (peer?.kind === 'switch') this.peers.delete(epKey(peer.dpid, peer.port));
  }

  addHost(
    name: string,
    opts: { dpid: DpidLike; port: number; mac?: string; ip?: string; autoReply?: boolean },
  ): FakeHost {
    const n = this.hosts.size + 1;
    const host: FakeHost = {
      name,
      mac: opts.mac ?? `02:00:00:00:00:${n.toString(16).padStart(2, '0')}`,
      ip: opts.ip ?? `10.0.0.${n}`,
      dpid: toDpid(opts.dpid),
      port: opts.port,
      received: [],
      autoReply: opts.autoReply ?? true,
    };
    this.hosts.set(name, host);
    this.addPortQuiet(this.sw(host.dpid), host.port);
    this.peers.set(epKey(host.dpid, host.port), { kind: 'host', host });
    return host;
  }

  host(name: string): FakeHost {
    const h = this.hosts.get(name);
    if (!h) throw new Error(`no host ${name}`);
    return h;
  }

  /** Moves a host to another switch port (like the test bed's host move); nothing is announced. */
  moveHost(name: string, dpid: DpidLike, port: number): void {
    const h = this.host(name);
    this.peers.delete(epKey(h.dpid, h.port));
    h.dpid = toDpid(dpid);
    h.port = port;
    this.addPortQuiet(this.sw(h.dpid), port);
    this.peers.set(epKey(h.dpid, h.port), { kind: 'host', host: h });
  }

  connect(dpid: DpidLike): void {
    const sw = this.sw(dpid);
    if (sw.connected) return;
    sw.connected = true;
    this.queueEvent('switchUp', { dp: sw });
  }

  disconnect(dpid: DpidLike, reason = 'disconnected'): void {
    const sw = this.sw(dpid);
    if (!sw.connected) return;
    sw.connected = false;
    sw.buffers.clear();
    this.queueEvent('switchDown', { dp: sw, reason });
  }

  /** Starts an app the way the runtime does: start(), then switchUp for every connected switch. */
  async startApp(app: App, options: Record<string, unknown> = {}): Promise<void> {
    // Events queued before the app existed (switchUp of addSwitch) are dropped: the app gets its own.
    this.queue = this.queue.filter((q) => q.kind !== 'event');
    await app.start(this, options);
    this.apps.push(app);
    for (const s of this.switches.values()) if (s.connected) this.queueEvent('switchUp', { dp: s });
    await this.settle();
  }

  async stopApps(): Promise<void> {
    for (const app of this.apps.splice(0).reverse()) await app.stop?.();
  }

  // ------------------------------------------------------------ traffic

  /** A host sends a frame (it enters its switch's port). */
  send(hostName: string, frame: Uint8Array): void {
    const h = this.host(hostName);
    this.queue.push({ kind: 'frame', dpid: h.dpid, port: h.port, frame });
  }

  /** Frames arrive at a switch port as if from a cable. */
  inject(dpid: DpidLike, port: number, frame: Uint8Array): void {
    this.queue.push({ kind: 'frame', dpid: toDpid(dpid), port, frame });
  }

  /** Called by switches: a frame leaves `port`. */
  wire(sw: FakeSwitch, port: number, frame: Uint8Array): void {
    const peer = this.peers.get(epKey(sw.id, port));
    if (!peer) return;
    if (peer.kind === 'host') this.queue.push({ kind: 'host', host: peer.host, frame });
    else this.queue.push({ kind: 'frame', dpid: peer.dpid, port: peer.port, frame });
  }

  queueEvent<K extends ControllerEventName>(name: K, event: ControllerEvents[K]): void {
    this.queue.push({ kind: 'event', name, event });
  }

  queueError(sw: FakeSwitch, errorType: number, code: number, request: OfMessage): void {
    this.queueEvent('error', {
      dp: sw,
      msg: { type: 'error', xid: request.xid, errorType, code, data: new Uint8Array() },
      request,
    });
  }

  private queuePortStatus(sw: FakeSwitch, reason: number, port: Port): void {
    this.queueEvent('portStatus', { dp: sw, msg: { type: 'portStatus', xid: 0, reason, port: { ...port } } });
  }

  /**
   * Drains the queue: delivers events to listeners and frames to switches and hosts. Like the runtime,
   * listeners are called synchronously in subscription order and are not awaited one by one; the promises
   * they return are awaited before settle() decides that the network is quiet.
   */
  async settle(): Promise<void> {
    let transits = 0;
    for (;;) {
      while (this.queue.length > 0) {
        const item = this.queue.shift()!;
        if (item.kind === 'event') {
          for (const l of [...(this.listeners.get(item.name) ?? [])]) {
            try {
              const r = l(item.event as never);
              if (r && typeof (r as Promise<void>).then === 'function') {
                const p: Promise<void> = (r as Promise<void>).then(
                  () => void this.pending.delete(p),
                  (err: unknown) => {
                    this.pending.delete(p);
                    this.listenerErrors.push(err);
                  },
                );
                this.pending.add(p);
              }
            } catch (err) {
              this.listenerErrors.push(err);
            }
          }
          continue;
        }
        if (++transits > this.maxTransits) {
          this.queue = [];
          throw new Error(`forwarding loop: more than ${this.maxTransits} frame transits in one settle()`);
        }
        this.transits++;
        if (item.kind === 'frame') {
          this.switches.get(item.dpid)?.receive(item.frame, item.port);
        } else {
          item.host.received.push(item.frame);
          if (item.host.autoReply) this.autoReply(item.host, item.frame);
        }
      }
      // Let promise chains started by listeners (e.g. after a barrier) run, then look again.
      if (this.pending.size > 0) await Promise.all([...this.pending]);
      await new Promise((r) => setImmediate(r));
      if (this.queue.length === 0 && this.pending.size === 0) break;
    }
    if (this.listenerErrors.length > 0) {
      const err = this.listenerErrors.shift();
      this.listenerErrors.length = 0;
      throw err;
    }
  }
  private readonly pending = new Set<Promise<void>>();

  /** Moves the fake clock and expires flows (flow-removed events are delivered by the next settle()). */
  advance(ms: number): void {
    this.now += ms;
    for (const s of this.switches.values()) s.expire(this.now);
  }

  private autoReply(host: FakeHost, frame: Uint8Array): void {
    let p: ReturnType<typeof parsePacket>;
    try {
      p = parsePacket(frame);
    } catch {
      return;
    }
    if (p.eth.dst !== host.mac && p.eth.dst !== 'ff:ff:ff:ff:ff:ff') return;
    const l3 = p.l3;
    if (l3?.kind === 'arp' && l3.operation === 1 && l3.targetIp === host.ip) {
      this.send(host.name, arpFrame(2, host.mac, host.ip, l3.senderMac, l3.senderIp, l3.senderMac));
    } else if (l3?.kind === 'ipv4' && l3.dst === host.ip && p.l4?.kind === 'icmp' && p.l4.type === 8) {
      const echo = p.l4.echo ?? { identifier: 0, sequence: 0 };
      this.send(
        host.name,
        icmpEchoFrame(0, host.mac, p.eth.src, host.ip, l3.src, echo.identifier, echo.sequence),
      );
    }
  }

  // ------------------------------------------------------------ conversations

  /** Frames delivered to a host, parsed, that satisfy `pred`. */
  receivedBy(name: string, pred: (p: ReturnType<typeof parsePacket>) => boolean = () => true) {
    return this.host(name)
      .received.map((f) => parsePacket(f))
      .filter(pred);
  }

  /**
   * `from` pings `to` once, ARPing first when it has not resolved `to` yet (hosts keep a small ARP cache).
   * Resolves true when the echo reply came back.
   */
  async ping(from: string, to: string, opts: { sequence?: number } = {}): Promise<boolean> {
    const a = this.host(from);
    const b = this.host(to);
    const cache = (this.arpCache.get(from) ?? new Map<string, string>()) as Map<string, string>;
    this.arpCache.set(from, cache);
    if (!cache.has(b.ip)) {
      const mark = a.received.length;
      this.send(from, arpFrame(1, a.mac, a.ip, 'ff:ff:ff:ff:ff:ff', b.ip, '00:00:00:00:00:00'));
      await this.settle();
      const reply = a.received
        .slice(mark)
        .map((f) => parsePacket(f))
        .find((p) => p.l3?.kind === 'arp' && p.l3.operation === 2 && p.l3.senderIp === b.ip);
      if (reply?.l3?.kind !== 'arp') return false;
      cache.set(b.ip, reply.l3.senderMac);
    }
    const seq = opts.sequence ?? this.nextPingSeq++;
    const mark = a.received.length;
    this.send(from, icmpEchoFrame(8, a.mac, cache.get(b.ip)!, a.ip, b.ip, 0x77, seq));
    await this.settle();
    return a.received
      .slice(mark)
      .map((f) => parsePacket(f))
      .some(
        (p) =>
          p.l3?.kind === 'ipv4' &&
          p.l3.src === b.ip &&
          p.l4?.kind === 'icmp' &&
          p.l4.type === 0 &&
          p.l4.echo?.sequence === seq,
      );
  }
  private readonly arpCache = new Map<string, Map<string, string>>();
  private nextPingSeq = 1;

  /** Forgets the hosts' ARP caches (ping() will ARP again). */
  clearArpCaches(): void {
    this.arpCache.clear();
  }

  /** All-pairs ping; returns the pairs that failed as "a->b". */
  async pingAll(names = [...this.hosts.keys()]): Promise<string[]> {
    const failed: string[] = [];
    for (const a of names)
      for (const b of names) if (a !== b && !(await this.ping(a, b))) failed.push(`${a}->${b}`);
    return failed;
  }

  debug(msg: string): void {
    this.log.debug(msg);
  }
}

function epKey(dpid: bigint, port: number): string {
  return `${dpid}:${port}`;
}

function fakeMac(prefix: number, dpid: bigint, port: number): string {
  const b = [
    prefix,
    Number((dpid >> 16n) & 0xffn),
    Number((dpid >> 8n) & 0xffn),
    Number(dpid & 0xffn),
    (port >> 8) & 0xff,
    port & 0xff,
  ];
  return b.map((x) => x.toString(16).padStart(2, '0')).join(':');
}

// ---------------------------------------------------------------- frame builders (self-contained)

function put16(b: Uint8Array, o: number, v: number): void {
  b[o] = (v >>> 8) & 0xff;
  b[o + 1] = v & 0xff;
}

function ipBytes(ip: string): Uint8Array {
  const n = ipv4ToNumber(ip);
  return Uint8Array.of(n >>> 24, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff);
}

function checksum(b: Uint8Array, start: number, end: number): number {
  let s = 0;
  for (let i = start; i < end; i += 2) s += (b[i]! << 8) | (i + 1 < end ? b[i + 1]! : 0);
  while (s > 0xffff) s = (s & 0xffff) + (s >>> 16);
  return ~s & 0xffff;
}

/** An Ethernet frame (padded to 60 bytes). */
export function ethFrame(dst: string, src: string, ethType: number, payload: Uint8Array): Uint8Array {
  const out = new Uint8Array(Math.max(60, 14 + payload.length));
  out.set(macToBytes(dst), 0);
  out.set(macToBytes(src), 6);
  put16(out, 12, ethType);
  out.set(payload, 14);
  return out;
}

/** ARP (op 1 request, 2 reply) or RARP (op 3, EtherType 0x8035) for Ethernet/IPv4. */
export function arpFrame(
  op: number,
  senderMac: string,
  senderIp: string,
  dstMac: string,
  targetIp: string,
  targetMac = '00:00:00:00:00:00',
): Uint8Array {
  const p = new Uint8Array(28);
  put16(p, 0, 1);
  put16(p, 2, 0x0800);
  p[4] = 6;
  p[5] = 4;
  put16(p, 6, op);
  p.set(macToBytes(senderMac), 8);
  p.set(ipBytes(senderIp), 14);
  p.set(macToBytes(targetMac), 18);
  p.set(ipBytes(targetIp), 24);
  return ethFrame(dstMac, senderMac, op >= 3 ? 0x8035 : 0x0806, p);
}

/** Gratuitous ARP (request with sender = target IP, to broadcast), as a host announces itself. */
export function gratuitousArp(mac: string, ip: string): Uint8Array {
  return arpFrame(1, mac, ip, 'ff:ff:ff:ff:ff:ff', ip);
}

/** An IPv4 packet (no options) with a valid header checksum. */
export function ipv4Frame(
  srcMac: string,
  dstMac: string,
  src: string,
  dst: string,
  proto: number,
  l4: Uint8Array,
): Uint8Array {
  const ip = new Uint8Array(20 + l4.length);
  ip[0] = 0x45;
  put16(ip, 2, ip.length);
  ip[8] = 64;
  ip[9] = proto;
  ip.set(ipBytes(src), 12);
  ip.set(ipBytes(dst), 16);
  put16(ip, 10, checksum(ip, 0, 20));
  ip.set(l4, 20);
  return ethFrame(dstMac, srcMac, 0x0800, ip);
}

/** ICMP echo request (type 8) or reply (type 0). */
export function icmpEchoFrame(
  type: number,
  srcMac: string,
  dstMac: string,
  src: string,
  dst: string,
  id: number,
  seq: number,
): Uint8Array {
  const icmp = new Uint8Array(16);
  icmp[0] = type;
  put16(icmp, 4, id);
  put16(icmp, 6, seq);
  put16(icmp, 2, checksum(icmp, 0, icmp.length));
  return ipv4Frame(srcMac, dstMac, src, dst, 1, icmp);
}

/** A UDP datagram (checksum 0). */
export function udpFrame(
  srcMac: string,
  dstMac: string,
  src: string,
  dst: string,
  sport: number,
  dport: number,
  data = new Uint8Array(8),
): Uint8Array {
  const udp = new Uint8Array(8 + data.length);
  put16(udp, 0, sport);
  put16(udp, 2, dport);
  put16(udp, 4, udp.length);
  udp.set(data, 8);
  return ipv4Frame(srcMac, dstMac, src, dst, 17, udp);
}

/** A frame from one host to another (ICMP echo request) without ARP. */
export function frameBetween(a: FakeHost, b: FakeHost, seq = 1): Uint8Array {
  return icmpEchoFrame(8, a.mac, b.mac, a.ip, b.ip, 0x42, seq);
}

// ---------------------------------------------------------------- ready-made topologies

/**
 * The seed paper's diamond (examples/topologies/paper.yaml): h1 on s1 port 1, s1:2-s2:1, s1:3-s3:1,
 * s2:2-s4:1, s3:2-s4:2, h2 on s4 port 3.
 */
export function diamondNetwork(opts: SwitchOptions = {}): FakeNetwork {
  const net = new FakeNetwork();
  net.addSwitch(1, [1, 2, 3], opts);
  net.addSwitch(2, [1, 2], opts);
  net.addSwitch(3, [1, 2], opts);
  net.addSwitch(4, [1, 2, 3], opts);
  net.link(1, 2, 2, 1);
  net.link(1, 3, 3, 1);
  net.link(2, 2, 4, 1);
  net.link(3, 2, 4, 2);
  net.addHost('h1', { dpid: 1, port: 1 });
  net.addHost('h2', { dpid: 4, port: 3 });
  return net;
}

/** s1 - s2 - ... - sN in a line; host hI on sI port 1; sI:3 - s(I+1):2. */
export function lineNetwork(n: number, opts: SwitchOptions = {}): FakeNetwork {
  const net = new FakeNetwork();
  for (let i = 1; i <= n; i++) net.addSwitch(i, [1, 2, 3], opts);
  for (let i = 1; i < n; i++) net.link(i, 3, i + 1, 2);
  for (let i = 1; i <= n; i++) net.addHost(`h${i}`, { dpid: i, port: 1 });
  return net;
}

/** A ring of N switches (a loop); host hI on sI port 1; sI:3 - s(I%N+1):2. */
export function ringNetwork(n: number, opts: SwitchOptions = {}): FakeNetwork {
  const net = new FakeNetwork();
  for (let i = 1; i <= n; i++) net.addSwitch(i, [1, 2, 3], opts);
  for (let i = 1; i <= n; i++) net.link(i, 3, (i % n) + 1, 2);
  for (let i = 1; i <= n; i++) net.addHost(`h${i}`, { dpid: i, port: 1 });
  return net;
}
