// Builders. buildFrame(spec) takes a structure shaped like parsePacket's result (so a parsed packet can be
// re-encoded as is, after editing); the convenience builders below it cover what a controller sends.
// Lengths and checksums are always computed. Frames come back as fresh Buffers (typed Uint8Array).
import { type MacLike, writeIpv4, writeIpv6, writeMac } from './address.ts';
import { put16, put32 } from './bytes.ts';
import { internetChecksum, ipv4PseudoHeaderSum, ipv6PseudoHeaderSum } from './checksum.ts';
import {
  ARP_OP,
  BROADCAST_MAC,
  ETH_MIN_FRAME,
  ETH_TYPE,
  ICMP_TYPE,
  ICMPV6_TYPE,
  IP_PROTO,
  LLDP_MULTICAST_MAC,
  LLDP_TLV,
  TCP_FLAGS,
  type TcpFlagName,
  ZERO_MAC,
} from './constants.ts';
import { PacketBuildError } from './errors.ts';
import type { IcmpEcho, Ipv6Extension } from './types.ts';

// ---------------------------------------------------------------- specs

/** A VLAN tag: a bare number is a VLAN id with priority 0 and TPID 0x8100. */
export type VlanLike = number | VlanSpec;

export interface VlanSpec {
  vid: number;
  /** 0..7, default 0. */
  pcp?: number;
  dei?: boolean;
  /** 0x8100 (default) or 0x88a8. */
  tpid?: number;
}

export interface EthernetSpec {
  dst: MacLike;
  src: MacLike;
  /** One tag or a list, outermost first. */
  vlan?: VlanLike | readonly VlanLike[];
  ethType: number;
  payload?: Uint8Array;
  /** Zero-pad the frame to the 60-byte Ethernet minimum. Default false. */
  pad?: boolean;
}

export interface ArpSpec {
  kind: 'arp';
  /** 1 request, 2 reply, 3/4 RARP (see ARP_OP). */
  operation: number;
  senderMac: MacLike;
  senderIp: string;
  /** Default 00:00:00:00:00:00. */
  targetMac?: MacLike;
  targetIp: string;
}

export interface Ipv4Spec {
  kind: 'ipv4';
  src: string;
  dst: string;
  /** Inferred from l4 when omitted; required without l4. */
  protocol?: number;
  /** Default 64. */
  ttl?: number;
  dscp?: number;
  ecn?: number;
  identification?: number;
  dontFragment?: boolean;
  moreFragments?: boolean;
  /** In 8-byte units. */
  fragmentOffset?: number;
  /** Raw option bytes, zero-padded to a multiple of 4 (at most 40). */
  options?: Uint8Array;
}

export interface Ipv6Spec {
  kind: 'ipv6';
  src: string;
  dst: string;
  /** The upper-layer protocol after any extension headers; inferred from l4 when omitted. */
  protocol?: number;
  /** Default 64. */
  hopLimit?: number;
  trafficClass?: number;
  flowLabel?: number;
  /** Emitted in order, each preceded by the right next-header octet (data as in Ipv6Extension). */
  extensionHeaders?: readonly Ipv6Extension[];
}

export interface LldpIdSpec {
  subtype: number;
  /** Bytes, or text encoded as UTF-8. 1..255 bytes. */
  value: Uint8Array | string;
}

export interface LldpTlvSpec {
  /** 1..127 (End, type 0, is added automatically). */
  type: number;
  /** At most 511 bytes. */
  value: Uint8Array | string;
}

export interface LldpSpec {
  kind: 'lldp';
  chassisId: LldpIdSpec;
  portId: LldpIdSpec;
  /** Seconds, 0..65535. */
  ttl: number;
  /** Optional TLVs written after TTL, in order. */
  tlvs?: readonly LldpTlvSpec[];
}

export interface UdpSpec {
  kind: 'udp';
  srcPort: number;
  dstPort: number;
}

export interface TcpSpec {
  kind: 'tcp';
  srcPort: number;
  dstPort: number;
  seq?: number;
  ack?: number;
  /** Flag bits (TCP_FLAGS) or names, e.g. ['SYN', 'ACK']. */
  flags?: number | readonly TcpFlagName[];
  /** Default 65535. */
  window?: number;
  urgentPointer?: number;
  /** Raw option bytes, zero-padded to a multiple of 4 (at most 40). */
  options?: Uint8Array;
}

export interface IcmpSpec {
  kind: 'icmp' | 'icmpv6';
  type: number;
  code?: number;
  /** The 4 rest-of-header bytes; ignored when `echo` is given. */
  rest?: number;
  echo?: IcmpEcho;
}

export type L3Spec = ArpSpec | Ipv4Spec | Ipv6Spec | LldpSpec;
export type L4Spec = UdpSpec | TcpSpec | IcmpSpec;

export interface FrameSpec {
  eth: {
    dst: MacLike;
    src: MacLike;
    vlans?: readonly VlanLike[];
    /** Inferred from l3 when omitted (ARP operations 3/4 give RARP 0x8035); required without l3. */
    ethType?: number;
  };
  l3?: L3Spec;
  /** Needs an IP l3 (icmp with IPv4, icmpv6 with IPv6). */
  l4?: L4Spec;
  /** Data after the innermost header (appended verbatim after ARP/LLDP too). */
  payload?: Uint8Array;
  /** Zero-pad to 60 bytes. Default false. */
  pad?: boolean;
}

// ---------------------------------------------------------------- validation

function uint(field: string, v: number | undefined, max: number, dflt = 0): number {
  if (v === undefined) return dflt;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > max) {
    throw new PacketBuildError(field, `${String(v)} is not an integer in 0..${max}`);
  }
  return v;
}

const TEXT = new TextEncoder();

function bytesOf(v: Uint8Array | string): Uint8Array {
  return typeof v === 'string' ? TEXT.encode(v) : v;
}

function paddedLength(field: string, options: Uint8Array | undefined): number {
  const n = options?.length ?? 0;
  const padded = (n + 3) & ~3;
  if (padded > 40) throw new PacketBuildError(field, `${n} option bytes (at most 40)`);
  return padded;
}

interface Tag {
  tci: number;
  tpid: number;
}

function normaliseVlans(v: VlanLike | readonly VlanLike[] | undefined): Tag[] {
  if (v === undefined) return [];
  const list: readonly VlanLike[] = Array.isArray(v) ? v : [v as VlanLike];
  return list.map((t, i) => {
    const s: VlanSpec = typeof t === 'number' ? { vid: t } : t;
    const vid = uint(`vlan[${i}].vid`, s.vid, 0xfff);
    const pcp = uint(`vlan[${i}].pcp`, s.pcp, 7);
    const tpid = s.tpid ?? ETH_TYPE.VLAN;
    if (tpid !== ETH_TYPE.VLAN && tpid !== ETH_TYPE.QINQ) {
      throw new PacketBuildError(`vlan[${i}].tpid`, `0x${tpid.toString(16)} is not 0x8100 or 0x88a8`);
    }
    return { tci: (pcp << 13) | (s.dei ? 0x1000 : 0) | vid, tpid };
  });
}

export function tcpFlagsOf(flags: number | readonly TcpFlagName[] | undefined): number {
  if (flags === undefined) return 0;
  if (typeof flags === 'number') return uint('tcp.flags', flags, 0x1ff);
  let v = 0;
  for (const name of flags) {
    const bit = TCP_FLAGS[name];
    if (bit === undefined) throw new PacketBuildError('tcp.flags', `unknown flag ${String(name)}`);
    v |= bit;
  }
  return v;
}

/** The names of the flag bits set in `flags`, in bit order (FIN first). */
export function tcpFlagNames(flags: number): TcpFlagName[] {
  return (Object.keys(TCP_FLAGS) as TcpFlagName[]).filter((n) => (flags & TCP_FLAGS[n]) !== 0);
}

function ethTypeFor(l3: L3Spec): number {
  switch (l3.kind) {
    case 'ipv4':
      return ETH_TYPE.IPV4;
    case 'ipv6':
      return ETH_TYPE.IPV6;
    case 'arp':
      return l3.operation === ARP_OP.RARP_REQUEST || l3.operation === ARP_OP.RARP_REPLY
        ? ETH_TYPE.RARP
        : ETH_TYPE.ARP;
    case 'lldp':
      return ETH_TYPE.LLDP;
  }
}

function l4Protocol(l4: L4Spec): number {
  switch (l4.kind) {
    case 'udp':
      return IP_PROTO.UDP;
    case 'tcp':
      return IP_PROTO.TCP;
    case 'icmp':
      return IP_PROTO.ICMP;
    case 'icmpv6':
      return IP_PROTO.ICMPV6;
  }
}

function l4HeaderLength(l4: L4Spec): number {
  switch (l4.kind) {
    case 'udp':
      return 8;
    case 'tcp':
      return 20 + paddedLength('tcp.options', l4.options);
    default:
      return 8;
  }
}

function extensionLength(ext: Ipv6Extension, i: number): number {
  const field = `ipv6.extensionHeaders[${i}]`;
  uint(`${field}.type`, ext.type, 255);
  const n = ext.data.length + 1;
  let expected: number;
  if (ext.type === IP_PROTO.IPV6_FRAG) expected = 8;
  else if (ext.type === IP_PROTO.AH) expected = ((ext.data[0] ?? 0) + 2) * 4;
  else if (
    ext.type === IP_PROTO.HOPOPT ||
    ext.type === IP_PROTO.IPV6_ROUTE ||
    ext.type === IP_PROTO.IPV6_OPTS
  ) {
    expected = ((ext.data[0] ?? 0) + 1) * 8;
  } else {
    throw new PacketBuildError(`${field}.type`, `${ext.type} is not an extension header this library walks`);
  }
  if (n !== expected)
    throw new PacketBuildError(
      `${field}.data`,
      `${n} bytes with the next-header octet, expected ${expected}`,
    );
  return n;
}

interface LldpLayout {
  chassis: Uint8Array;
  port: Uint8Array;
  tlvs: { type: number; value: Uint8Array }[];
  length: number;
}

function layoutLldp(l: LldpSpec): LldpLayout {
  const chassis = bytesOf(l.chassisId.value);
  const port = bytesOf(l.portId.value);
  uint('lldp.chassisId.subtype', l.chassisId.subtype, 255);
  uint('lldp.portId.subtype', l.portId.subtype, 255);
  if (chassis.length < 1 || chassis.length > 255)
    throw new PacketBuildError('lldp.chassisId.value', `${chassis.length} bytes (1..255)`);
  if (port.length < 1 || port.length > 255)
    throw new PacketBuildError('lldp.portId.value', `${port.length} bytes (1..255)`);
  uint('lldp.ttl', l.ttl, 0xffff);
  let length = 2 + 1 + chassis.length + 2 + 1 + port.length + 4 + 2;
  const tlvs = (l.tlvs ?? []).map((t, i) => {
    const type = uint(`lldp.tlvs[${i}].type`, t.type, 127);
    if (type === LLDP_TLV.END)
      throw new PacketBuildError(`lldp.tlvs[${i}].type`, 'End (0) is added automatically');
    const value = bytesOf(t.value);
    if (value.length > 511)
      throw new PacketBuildError(`lldp.tlvs[${i}].value`, `${value.length} bytes (at most 511)`);
    length += 2 + value.length;
    return { type, value };
  });
  return { chassis, port, tlvs, length };
}

// ---------------------------------------------------------------- buildFrame

/**
 * Encodes a whole frame: Ethernet (+ tags), then l3, l4 and payload, with lengths and checksums computed.
 * Throws PacketBuildError for values that do not fit, AddressError for bad addresses.
 */
export function buildFrame(spec: FrameSpec): Uint8Array {
  const { eth, l3, l4 } = spec;
  const payload = spec.payload ?? new Uint8Array(0);
  if (l4 !== undefined) {
    const ok = (l3?.kind === 'ipv4' && l4.kind !== 'icmpv6') || (l3?.kind === 'ipv6' && l4.kind !== 'icmp');
    if (!ok) throw new PacketBuildError('l4', `${l4.kind} cannot follow ${l3?.kind ?? 'Ethernet'}`);
  }
  const tags = normaliseVlans(eth.vlans);
  const l2len = 14 + 4 * tags.length;
  let ethType: number;
  if (eth.ethType !== undefined) ethType = uint('eth.ethType', eth.ethType, 0xffff);
  else if (l3 !== undefined) ethType = ethTypeFor(l3);
  else throw new PacketBuildError('eth.ethType', 'required when there is no l3');

  // Sizes first, so the frame is allocated once.
  let l3len = 0;
  let lldp: LldpLayout | undefined;
  let ipOptLen = 0;
  let extLen = 0;
  if (l3 !== undefined) {
    switch (l3.kind) {
      case 'arp':
        l3len = 28;
        break;
      case 'ipv4':
        ipOptLen = paddedLength('ipv4.options', l3.options);
        l3len = 20 + ipOptLen;
        break;
      case 'ipv6':
        extLen = (l3.extensionHeaders ?? []).reduce((n, e, i) => n + extensionLength(e, i), 0);
        l3len = 40 + extLen;
        break;
      case 'lldp':
        lldp = layoutLldp(l3);
        l3len = lldp.length;
        break;
    }
  }
  const l4len = l4 === undefined ? 0 : l4HeaderLength(l4);
  const dataLen = l3len + l4len + payload.length;
  if (l3?.kind === 'ipv4' && dataLen > 0xffff)
    throw new PacketBuildError('ipv4.totalLength', `${dataLen} > 65535`);
  if (l3?.kind === 'ipv6' && dataLen - 40 > 0xffff)
    throw new PacketBuildError('ipv6.payloadLength', `${dataLen - 40} > 65535`);
  if (l4?.kind === 'udp' && l4len + payload.length > 0xffff)
    throw new PacketBuildError('udp.length', 'over 65535');
  let total = l2len + dataLen;
  if (spec.pad && total < ETH_MIN_FRAME) total = ETH_MIN_FRAME;
  const b: Uint8Array = Buffer.alloc(total);

  // Ethernet
  writeMac(eth.dst, b, 0);
  writeMac(eth.src, b, 6);
  let o = 12;
  for (const t of tags) {
    put16(b, o, t.tpid);
    put16(b, o + 2, t.tci);
    o += 4;
  }
  put16(b, o, ethType);
  o += 2;

  // L3
  const l3off = o;
  let protocol = -1;
  if (l3 !== undefined) {
    switch (l3.kind) {
      case 'arp':
        put16(b, o, 1);
        put16(b, o + 2, ETH_TYPE.IPV4);
        b[o + 4] = 6;
        b[o + 5] = 4;
        put16(b, o + 6, uint('arp.operation', l3.operation, 0xffff));
        writeMac(l3.senderMac, b, o + 8);
        writeIpv4(l3.senderIp, b, o + 14);
        writeMac(l3.targetMac ?? ZERO_MAC, b, o + 18);
        writeIpv4(l3.targetIp, b, o + 24);
        break;
      case 'ipv4': {
        protocol = resolveProtocol('ipv4.protocol', l3.protocol, l4);
        b[o] = 0x40 | ((20 + ipOptLen) >>> 2);
        b[o + 1] = (uint('ipv4.dscp', l3.dscp, 63) << 2) | uint('ipv4.ecn', l3.ecn, 3);
        put16(b, o + 2, dataLen);
        put16(b, o + 4, uint('ipv4.identification', l3.identification, 0xffff));
        put16(
          b,
          o + 6,
          (l3.dontFragment ? 0x4000 : 0) |
            (l3.moreFragments ? 0x2000 : 0) |
            uint('ipv4.fragmentOffset', l3.fragmentOffset, 0x1fff),
        );
        b[o + 8] = uint('ipv4.ttl', l3.ttl, 255, 64);
        b[o + 9] = protocol;
        writeIpv4(l3.src, b, o + 12);
        writeIpv4(l3.dst, b, o + 16);
        if (l3.options) b.set(l3.options, o + 20);
        break;
      }
      case 'ipv6': {
        protocol = resolveProtocol('ipv6.protocol', l3.protocol, l4);
        const exts = l3.extensionHeaders ?? [];
        const tc = uint('ipv6.trafficClass', l3.trafficClass, 255);
        const fl = uint('ipv6.flowLabel', l3.flowLabel, 0xfffff);
        put32(b, o, ((6 << 28) | (tc << 20) | fl) >>> 0);
        put16(b, o + 4, dataLen - 40);
        b[o + 6] = exts.length > 0 ? exts[0]!.type : protocol;
        b[o + 7] = uint('ipv6.hopLimit', l3.hopLimit, 255, 64);
        writeIpv6(l3.src, b, o + 8);
        writeIpv6(l3.dst, b, o + 24);
        let p = o + 40;
        for (let i = 0; i < exts.length; i++) {
          const e = exts[i]!;
          b[p] = i + 1 < exts.length ? exts[i + 1]!.type : protocol;
          b.set(e.data, p + 1);
          p += e.data.length + 1;
        }
        break;
      }
      case 'lldp': {
        const lay = lldp!;
        let p = o;
        const tlv = (type: number, len: number) => {
          put16(b, p, (type << 9) | len);
          p += 2;
        };
        tlv(LLDP_TLV.CHASSIS_ID, lay.chassis.length + 1);
        b[p++] = l3.chassisId.subtype;
        b.set(lay.chassis, p);
        p += lay.chassis.length;
        tlv(LLDP_TLV.PORT_ID, lay.port.length + 1);
        b[p++] = l3.portId.subtype;
        b.set(lay.port, p);
        p += lay.port.length;
        tlv(LLDP_TLV.TTL, 2);
        put16(b, p, l3.ttl);
        p += 2;
        for (const t of lay.tlvs) {
          tlv(t.type, t.value.length);
          b.set(t.value, p);
          p += t.value.length;
        }
        tlv(LLDP_TLV.END, 0);
        break;
      }
    }
  }
  o = l3off + l3len;

  // L4
  const l4off = o;
  if (l4 !== undefined) {
    switch (l4.kind) {
      case 'udp':
        put16(b, o, uint('udp.srcPort', l4.srcPort, 0xffff));
        put16(b, o + 2, uint('udp.dstPort', l4.dstPort, 0xffff));
        put16(b, o + 4, 8 + payload.length);
        break;
      case 'tcp':
        put16(b, o, uint('tcp.srcPort', l4.srcPort, 0xffff));
        put16(b, o + 2, uint('tcp.dstPort', l4.dstPort, 0xffff));
        put32(b, o + 4, uint('tcp.seq', l4.seq, 0xffffffff));
        put32(b, o + 8, uint('tcp.ack', l4.ack, 0xffffffff));
        put16(b, o + 12, ((l4len >>> 2) << 12) | tcpFlagsOf(l4.flags));
        put16(b, o + 14, uint('tcp.window', l4.window, 0xffff, 0xffff));
        put16(b, o + 18, uint('tcp.urgentPointer', l4.urgentPointer, 0xffff));
        if (l4.options) b.set(l4.options, o + 20);
        break;
      case 'icmp':
      case 'icmpv6': {
        b[o] = uint(`${l4.kind}.type`, l4.type, 255);
        b[o + 1] = uint(`${l4.kind}.code`, l4.code, 255);
        const rest = l4.echo
          ? uint(`${l4.kind}.echo.identifier`, l4.echo.identifier, 0xffff) * 0x10000 +
            uint(`${l4.kind}.echo.sequence`, l4.echo.sequence, 0xffff)
          : uint(`${l4.kind}.rest`, l4.rest, 0xffffffff);
        put32(b, o + 4, rest);
        break;
      }
    }
  }
  o = l4off + l4len;
  b.set(payload, o);
  const dataEnd = o + payload.length;

  // Checksums, innermost first.
  if (l4 !== undefined) {
    const len = dataEnd - l4off;
    let sum = 0;
    if (l4.kind !== 'icmp') {
      sum =
        l3!.kind === 'ipv4'
          ? ipv4PseudoHeaderSum(b, l3off + 12, l3off + 16, protocol, len)
          : ipv6PseudoHeaderSum(b, l3off + 8, l3off + 24, protocol, len);
    }
    let c = internetChecksum(b, l4off, dataEnd, sum);
    if (l4.kind === 'udp' && c === 0) c = 0xffff; // 0 means "no checksum" in UDP
    put16(b, l4off + (l4.kind === 'udp' ? 6 : l4.kind === 'tcp' ? 16 : 2), c);
  }
  if (l3?.kind === 'ipv4') put16(b, l3off + 10, internetChecksum(b, l3off, l3off + 20 + ipOptLen));
  return b;
}

function resolveProtocol(field: string, given: number | undefined, l4: L4Spec | undefined): number {
  if (l4 === undefined) {
    if (given === undefined) throw new PacketBuildError(field, 'required when there is no l4');
    return uint(field, given, 255);
  }
  const p = l4Protocol(l4);
  if (given !== undefined && given !== p)
    throw new PacketBuildError(field, `${given} contradicts l4 ${l4.kind}`);
  return p;
}

// ---------------------------------------------------------------- convenience builders

/** An Ethernet frame around raw payload bytes. */
export function buildEthernet(spec: EthernetSpec): Uint8Array {
  return buildFrame({
    eth: { dst: spec.dst, src: spec.src, vlans: normaliseVlanList(spec.vlan), ethType: spec.ethType },
    payload: spec.payload,
    pad: spec.pad,
  });
}

function normaliseVlanList(v: VlanLike | readonly VlanLike[] | undefined): readonly VlanLike[] | undefined {
  if (v === undefined) return undefined;
  return Array.isArray(v) ? v : [v as VlanLike];
}

/** Options shared by the convenience builders. */
export interface L2Options {
  vlan?: VlanLike | readonly VlanLike[];
  /** Zero-pad to 60 bytes. Default false. */
  pad?: boolean;
}

export interface ArpFrameSpec extends L2Options {
  /** Default 'request'. Numbers 3/4 (RARP) produce EtherType 0x8035. */
  operation?: 'request' | 'reply' | number;
  senderMac: MacLike;
  senderIp: string;
  /** Default 00:00:00:00:00:00. */
  targetMac?: MacLike;
  targetIp: string;
  /** Ethernet destination; default broadcast, or targetMac for a reply. */
  dst?: MacLike;
  /** Ethernet source; default senderMac. */
  src?: MacLike;
}

function arpOp(op: ArpFrameSpec['operation']): number {
  if (op === undefined || op === 'request') return ARP_OP.REQUEST;
  if (op === 'reply') return ARP_OP.REPLY;
  return op;
}

/** An ARP (or RARP, operations 3/4) frame for Ethernet/IPv4. */
export function buildArp(spec: ArpFrameSpec): Uint8Array {
  const operation = arpOp(spec.operation);
  const targetMac = spec.targetMac ?? ZERO_MAC;
  const dst =
    spec.dst ?? (operation === ARP_OP.REPLY && spec.targetMac !== undefined ? targetMac : BROADCAST_MAC);
  return buildFrame({
    eth: { dst, src: spec.src ?? spec.senderMac, vlans: normaliseVlanList(spec.vlan) },
    l3: {
      kind: 'arp',
      operation,
      senderMac: spec.senderMac,
      senderIp: spec.senderIp,
      targetMac,
      targetIp: spec.targetIp,
    },
    pad: spec.pad,
  });
}

export interface GratuitousArpOptions extends L2Options {
  /** 'request' (default, RFC 5227 announcement: target MAC zero) or 'reply' (target MAC = own MAC). */
  operation?: 'request' | 'reply';
}

/** A broadcast gratuitous ARP announcing that `ip` is at `mac` (sender IP = target IP). */
export function buildGratuitousArp(mac: MacLike, ip: string, options: GratuitousArpOptions = {}): Uint8Array {
  const reply = options.operation === 'reply';
  return buildArp({
    operation: reply ? 'reply' : 'request',
    senderMac: mac,
    senderIp: ip,
    targetMac: reply ? mac : ZERO_MAC,
    targetIp: ip,
    dst: BROADCAST_MAC,
    vlan: options.vlan,
    pad: options.pad,
  });
}

/**
 * The RARP "request reverse" broadcast that hypervisors (QEMU's announce-self) send after a live migration:
 * EtherType 0x8035, operation 3, sender = target = mac, IPs 0.0.0.0. Padded to 60 bytes unless pad is false.
 */
export function buildRarpAnnounce(mac: MacLike, options: L2Options = {}): Uint8Array {
  return buildArp({
    operation: ARP_OP.RARP_REQUEST,
    senderMac: mac,
    senderIp: '0.0.0.0',
    targetMac: mac,
    targetIp: '0.0.0.0',
    dst: BROADCAST_MAC,
    vlan: options.vlan,
    pad: options.pad ?? true,
  });
}

/** Fields shared by the IP convenience builders. IPv4 or IPv6 is chosen from the address text. */
export interface IpFrameCommon extends L2Options {
  srcMac: MacLike;
  dstMac: MacLike;
  srcIp: string;
  dstIp: string;
  /** IPv4 TTL or IPv6 hop limit; default 64. */
  ttl?: number;
  dscp?: number;
  /** IPv4 only. */
  identification?: number;
  /** IPv4 only. */
  dontFragment?: boolean;
  payload?: Uint8Array;
}

function ipLayer(spec: IpFrameCommon): Ipv4Spec | Ipv6Spec {
  const v6 = spec.srcIp.includes(':');
  if (v6 !== spec.dstIp.includes(':'))
    throw new PacketBuildError('dstIp', 'srcIp and dstIp are of different families');
  if (v6) {
    return {
      kind: 'ipv6',
      src: spec.srcIp,
      dst: spec.dstIp,
      hopLimit: spec.ttl,
      trafficClass: spec.dscp === undefined ? undefined : uint('dscp', spec.dscp, 63) << 2,
    };
  }
  return {
    kind: 'ipv4',
    src: spec.srcIp,
    dst: spec.dstIp,
    ttl: spec.ttl,
    dscp: spec.dscp,
    identification: spec.identification,
    dontFragment: spec.dontFragment,
  };
}

function ipFrame(spec: IpFrameCommon, l3: Ipv4Spec | Ipv6Spec, l4: L4Spec): Uint8Array {
  return buildFrame({
    eth: { dst: spec.dstMac, src: spec.srcMac, vlans: normaliseVlanList(spec.vlan) },
    l3,
    l4,
    payload: spec.payload,
    pad: spec.pad,
  });
}

export interface UdpFrameSpec extends IpFrameCommon {
  srcPort: number;
  dstPort: number;
}

/** A UDP datagram over IPv4 or IPv6 (chosen from the address text). */
export function buildUdp(spec: UdpFrameSpec): Uint8Array {
  return ipFrame(spec, ipLayer(spec), { kind: 'udp', srcPort: spec.srcPort, dstPort: spec.dstPort });
}

/** A UDP datagram over IPv4 (throws PacketBuildError for IPv6 addresses). */
export function buildIpv4Udp(spec: UdpFrameSpec): Uint8Array {
  if (spec.srcIp.includes(':')) throw new PacketBuildError('srcIp', 'buildIpv4Udp needs IPv4 addresses');
  return buildUdp(spec);
}

export interface TcpFrameSpec extends IpFrameCommon {
  srcPort: number;
  dstPort: number;
  seq?: number;
  ack?: number;
  flags?: number | readonly TcpFlagName[];
  window?: number;
  options?: Uint8Array;
}

/** A TCP segment over IPv4 or IPv6 (chosen from the address text). */
export function buildTcp(spec: TcpFrameSpec): Uint8Array {
  return ipFrame(spec, ipLayer(spec), {
    kind: 'tcp',
    srcPort: spec.srcPort,
    dstPort: spec.dstPort,
    seq: spec.seq,
    ack: spec.ack,
    flags: spec.flags,
    window: spec.window,
    options: spec.options,
  });
}

/** A TCP segment over IPv4 (throws PacketBuildError for IPv6 addresses). */
export function buildIpv4Tcp(spec: TcpFrameSpec): Uint8Array {
  if (spec.srcIp.includes(':')) throw new PacketBuildError('srcIp', 'buildIpv4Tcp needs IPv4 addresses');
  return buildTcp(spec);
}

export interface IcmpEchoFrameSpec extends IpFrameCommon {
  /** Default 'request'. */
  type?: 'request' | 'reply';
  identifier: number;
  sequence: number;
}

/** An ICMP echo request/reply, or ICMPv6 echo (types 128/129) when the addresses are IPv6. */
export function buildIcmpEcho(spec: IcmpEchoFrameSpec): Uint8Array {
  const l3 = ipLayer(spec);
  const reply = spec.type === 'reply';
  const v6 = l3.kind === 'ipv6';
  const type = v6
    ? reply
      ? ICMPV6_TYPE.ECHO_REPLY
      : ICMPV6_TYPE.ECHO_REQUEST
    : reply
      ? ICMP_TYPE.ECHO_REPLY
      : ICMP_TYPE.ECHO_REQUEST;
  return ipFrame(spec, l3, {
    kind: v6 ? 'icmpv6' : 'icmp',
    type,
    code: 0,
    echo: { identifier: spec.identifier, sequence: spec.sequence },
  });
}

export interface LldpFrameSpec extends L2Options {
  /** Ethernet source: the sending port's MAC. */
  src: MacLike;
  /** Default 01:80:c2:00:00:0e (nearest bridge). */
  dst?: MacLike;
  chassisId: LldpIdSpec;
  portId: LldpIdSpec;
  /** Default 120 seconds. */
  ttl?: number;
  tlvs?: readonly LldpTlvSpec[];
}

/** An LLDP frame: chassis id, port id, TTL, the given TLVs, End. */
export function buildLldp(spec: LldpFrameSpec): Uint8Array {
  return buildFrame({
    eth: { dst: spec.dst ?? LLDP_MULTICAST_MAC, src: spec.src, vlans: normaliseVlanList(spec.vlan) },
    l3: {
      kind: 'lldp',
      chassisId: spec.chassisId,
      portId: spec.portId,
      ttl: spec.ttl ?? 120,
      tlvs: spec.tlvs,
    },
    pad: spec.pad,
  });
}
