// parsePacket: Ethernet -> VLAN tags -> L3 -> L4, never reading out of bounds.
//
// Error policy (see README.md in this folder):
//  - The Ethernet header and its VLAN tags must be complete, else PacketParseError(kind 'truncated').
//  - Above L2, a frame that ends early is a *partial parse*: `truncated: true`, `truncation` says where.
//    A header that is cut is left out (l3/l4 undefined) and `payload` starts where it began; a header
//    that is whole but whose payload was cut (packet-in at miss_send_len) is kept, with the captured payload.
//  - A field that holds a value the protocol forbids throws PacketParseError(kind 'malformed').
//  - Nothing else is ever thrown.
import { ipv4At, ipv6At, macAt } from './address.ts';
import { EMPTY_BYTES, u16, u32 } from './bytes.ts';
import { internetChecksum, ipv4PseudoHeaderSum, ipv6PseudoHeaderSum } from './checksum.ts';
import { ARP_OP, ETH_TYPE, ICMP_TYPE, ICMPV6_TYPE, IP_PROTO, LLDP_TLV } from './constants.ts';
import { type PacketLayer, PacketParseError } from './errors.ts';
import type {
  ArpPacket,
  EthernetHeader,
  EthernetSummary,
  IcmpHeader,
  Icmpv6Header,
  Ipv4Header,
  Ipv6Extension,
  Ipv6Header,
  L4Header,
  LldpId,
  LldpPacket,
  LldpTlv,
  ParsedPacket,
  TcpHeader,
  TruncationInfo,
  UdpHeader,
  VlanTag,
} from './types.ts';

export interface ParseOptions {
  /** Verify the IPv4 header checksum and the TCP/UDP/ICMP/ICMPv6 checksums (fills `checksumValid`). Default false. */
  verifyChecksums?: boolean;
}

const NO_VLANS: readonly VlanTag[] = Object.freeze([]);
const NO_VLAN_IDS: readonly number[] = Object.freeze([]);
const NO_EXTENSIONS: readonly Ipv6Extension[] = Object.freeze([]);

function isVlanTpid(t: number): boolean {
  return t === ETH_TYPE.VLAN || t === ETH_TYPE.QINQ;
}

function l2Truncated(b: Uint8Array): never {
  const n = b.length;
  const field = n < 6 ? 'dst' : n < 12 ? 'src' : 'ethType';
  throw new PacketParseError(
    'ethernet',
    field,
    n < 6 ? 0 : n < 12 ? 6 : 12,
    'truncated',
    `frame is ${n} bytes`,
  );
}

/**
 * Offset of the EtherType after the VLAN tags (12 for an untagged frame). Throws PacketParseError when
 * the Ethernet header or a VLAN tag is cut.
 */
function innerEthTypeOffset(bytes: Uint8Array): number {
  if (bytes.length < 14) l2Truncated(bytes);
  let off = 12;
  while (isVlanTpid(u16(bytes, off))) {
    if (off + 6 > bytes.length) {
      throw new PacketParseError('vlan', off + 4 > bytes.length ? 'tci' : 'ethType', off + 2, 'truncated');
    }
    off += 4;
  }
  return off;
}

/**
 * The hot path for packet-in: destination, source, EtherType (after tags) and VLAN ids, without a full parse.
 * MAC strings come from a small cache keyed by the 48-bit value, so known MACs cost no allocation.
 * Throws PacketParseError when the Ethernet header or a VLAN tag is cut.
 */
export function ethernetHeaderOf(bytes: Uint8Array): EthernetSummary {
  const off = innerEthTypeOffset(bytes);
  let vlanIds = NO_VLAN_IDS;
  if (off > 12) {
    const ids: number[] = [];
    for (let at = 12; at < off; at += 4) ids.push(u16(bytes, at + 2) & 0x0fff);
    vlanIds = ids;
  }
  return { dst: macAt(bytes, 0), src: macAt(bytes, 6), ethType: u16(bytes, off), vlanIds };
}

/** Parses the Ethernet header and VLAN tags (throws PacketParseError if they are cut). */
export function parseEthernet(bytes: Uint8Array): EthernetHeader {
  const off = innerEthTypeOffset(bytes);
  let vlans = NO_VLANS;
  if (off > 12) {
    const tags: VlanTag[] = [];
    for (let at = 12; at < off; at += 4) {
      const tci = u16(bytes, at + 2);
      tags.push({ tpid: u16(bytes, at), pcp: tci >>> 13, dei: (tci & 0x1000) !== 0, vid: tci & 0x0fff });
    }
    vlans = tags;
  }
  return {
    dst: macAt(bytes, 0),
    src: macAt(bytes, 6),
    vlans,
    ethType: u16(bytes, off),
    headerLength: off + 2,
  };
}

/** Mutable state threaded through one parse. */
interface Ctx {
  b: Uint8Array;
  verify: boolean;
  truncation: TruncationInfo | undefined;
  payloadStart: number;
  payloadEnd: number;
}

function cut(ctx: Ctx, layer: PacketLayer, field: string, offset: number): void {
  // Layers are parsed outside-in, so the last report is the innermost: the header or payload that is incomplete.
  ctx.truncation = { layer, field, offset };
}

/**
 * Parses a frame into eth -> l3 -> l4 -> payload. Throws only PacketParseError (see the policy at the top of
 * this file). The result's byte fields are views into `bytes`.
 */
export function parsePacket(bytes: Uint8Array, options?: ParseOptions): ParsedPacket {
  const eth = parseEthernet(bytes);
  const ctx: Ctx = {
    b: bytes,
    verify: options?.verifyChecksums === true,
    truncation: undefined,
    payloadStart: eth.headerLength,
    payloadEnd: bytes.length,
  };
  const off = eth.headerLength;
  let l3: ParsedPacket['l3'];
  let l4: L4Header | undefined;
  switch (eth.ethType) {
    case ETH_TYPE.IPV4: {
      const r = parseIpv4(ctx, off);
      l3 = r?.ip;
      l4 = r?.l4;
      break;
    }
    case ETH_TYPE.IPV6: {
      const r = parseIpv6(ctx, off);
      l3 = r?.ip;
      l4 = r?.l4;
      break;
    }
    case ETH_TYPE.ARP:
    case ETH_TYPE.RARP:
      l3 = parseArp(ctx, off);
      break;
    case ETH_TYPE.LLDP:
      l3 = parseLldp(ctx, off);
      break;
  }
  const payload =
    ctx.payloadStart >= ctx.payloadEnd ? EMPTY_BYTES : bytes.subarray(ctx.payloadStart, ctx.payloadEnd);
  const out: ParsedPacket = { eth, payload, truncated: ctx.truncation !== undefined };
  if (l3 !== undefined) out.l3 = l3;
  if (l4 !== undefined) out.l4 = l4;
  if (ctx.truncation !== undefined) out.truncation = ctx.truncation;
  return out;
}

// ---------------------------------------------------------------- ARP

function parseArp(ctx: Ctx, off: number): ArpPacket | undefined {
  const b = ctx.b;
  if (b.length - off < 8) {
    cut(ctx, 'arp', 'header', off);
    return undefined;
  }
  // Only Ethernet/IPv4 ARP is decoded; anything else stays in `payload`.
  if (u16(b, off) !== 1 || u16(b, off + 2) !== ETH_TYPE.IPV4 || b[off + 4] !== 6 || b[off + 5] !== 4)
    return undefined;
  if (b.length - off < 28) {
    cut(ctx, 'arp', 'addresses', off + 8);
    return undefined;
  }
  ctx.payloadStart = ctx.payloadEnd = off + 28;
  return {
    kind: 'arp',
    offset: off,
    operation: u16(b, off + 6),
    senderMac: macAt(b, off + 8),
    senderIp: ipv4At(b, off + 14),
    targetMac: macAt(b, off + 18),
    targetIp: ipv4At(b, off + 24),
  };
}

// ---------------------------------------------------------------- IPv4

interface IpResult<T> {
  ip: T;
  l4: L4Header | undefined;
}

function parseIpv4(ctx: Ctx, off: number): IpResult<Ipv4Header> | undefined {
  const b = ctx.b;
  const end = b.length;
  if (end - off < 20) {
    cut(ctx, 'ipv4', 'header', off);
    return undefined;
  }
  const vihl = b[off]!;
  if (vihl >>> 4 !== 4)
    throw new PacketParseError('ipv4', 'version', off, 'malformed', `version ${vihl >>> 4}`);
  const ihl = (vihl & 0x0f) * 4;
  if (ihl < 20) throw new PacketParseError('ipv4', 'ihl', off, 'malformed', `header length ${ihl}`);
  const totalLength = u16(b, off + 2);
  if (totalLength < ihl) {
    throw new PacketParseError('ipv4', 'totalLength', off + 2, 'malformed', `${totalLength} < header ${ihl}`);
  }
  if (end - off < ihl) {
    cut(ctx, 'ipv4', 'options', off + 20);
    return undefined;
  }
  const declaredEnd = off + totalLength;
  const whole = declaredEnd <= end;
  if (!whole) cut(ctx, 'ipv4', 'payload', off + ihl);
  const l3End = whole ? declaredEnd : end;
  const frag = u16(b, off + 6);
  const fragmentOffset = frag & 0x1fff;
  const protocol = b[off + 9]!;
  const ip: Ipv4Header = {
    kind: 'ipv4',
    offset: off,
    headerLength: ihl,
    dscp: b[off + 1]! >>> 2,
    ecn: b[off + 1]! & 3,
    totalLength,
    identification: u16(b, off + 4),
    dontFragment: (frag & 0x4000) !== 0,
    moreFragments: (frag & 0x2000) !== 0,
    fragmentOffset,
    ttl: b[off + 8]!,
    protocol,
    checksum: u16(b, off + 10),
    src: ipv4At(b, off + 12),
    dst: ipv4At(b, off + 16),
    options: ihl > 20 ? b.subarray(off + 20, off + ihl) : EMPTY_BYTES,
  };
  if (ctx.verify) ip.checksumValid = internetChecksum(b, off, off + ihl) === 0;
  const p = off + ihl;
  ctx.payloadStart = p;
  ctx.payloadEnd = l3End;
  if (fragmentOffset !== 0) return { ip, l4: undefined };
  // Checksums can be checked only over a whole, unfragmented packet.
  const fragmented = ip.moreFragments;
  const checkable = ctx.verify && whole && !fragmented;
  const pseudo = checkable ? ipv4PseudoHeaderSum(b, off + 12, off + 16, protocol, 0) : 0;
  return { ip, l4: parseL4(ctx, protocol, p, declaredEnd, l3End, fragmented, checkable, pseudo, 4) };
}

// ---------------------------------------------------------------- IPv6

function parseIpv6(ctx: Ctx, off: number): IpResult<Ipv6Header> | undefined {
  const b = ctx.b;
  const end = b.length;
  if (end - off < 40) {
    cut(ctx, 'ipv6', 'header', off);
    return undefined;
  }
  const w0 = u32(b, off);
  if (w0 >>> 28 !== 6)
    throw new PacketParseError('ipv6', 'version', off, 'malformed', `version ${w0 >>> 28}`);
  const payloadLength = u16(b, off + 4);
  const nextHeader = b[off + 6]!;
  const declaredEnd = off + 40 + payloadLength;
  const whole = declaredEnd <= end;
  if (!whole) cut(ctx, 'ipv6', 'payload', off + 40);
  const l3End = whole ? declaredEnd : end;

  let p = off + 40;
  let proto = nextHeader;
  let extensions = NO_EXTENSIONS;
  let decodeL4 = true;
  let fragmented = false;
  let extensionCut = false;
  while (
    proto === IP_PROTO.HOPOPT ||
    proto === IP_PROTO.IPV6_ROUTE ||
    proto === IP_PROTO.IPV6_OPTS ||
    proto === IP_PROTO.IPV6_FRAG ||
    proto === IP_PROTO.AH
  ) {
    if (p + 2 > declaredEnd)
      throw new PacketParseError('ipv6', 'extensionHeader', p, 'malformed', 'beyond payload length');
    if (p + 2 > end) {
      cut(ctx, 'ipv6', 'extensionHeader', p);
      extensionCut = true;
      break;
    }
    const len =
      proto === IP_PROTO.IPV6_FRAG ? 8 : proto === IP_PROTO.AH ? (b[p + 1]! + 2) * 4 : (b[p + 1]! + 1) * 8;
    if (p + len > declaredEnd)
      throw new PacketParseError('ipv6', 'extensionHeader', p, 'malformed', 'beyond payload length');
    if (p + len > end) {
      cut(ctx, 'ipv6', 'extensionHeader', p);
      extensionCut = true;
      break;
    }
    if (extensions === NO_EXTENSIONS) extensions = [];
    (extensions as Ipv6Extension[]).push({ type: proto, data: b.subarray(p + 1, p + len) });
    const next = b[p]!;
    // A non-first fragment carries no L4 header.
    if (proto === IP_PROTO.IPV6_FRAG) {
      const fo = u16(b, p + 2);
      if (fo >>> 3 !== 0) decodeL4 = false;
      if ((fo & 1) !== 0) fragmented = true;
    }
    proto = next;
    p += len;
    if (!decodeL4) break;
  }
  const w1 = u16(b, off);
  const ip: Ipv6Header = {
    kind: 'ipv6',
    offset: off,
    trafficClass: (w1 >>> 4) & 0xff,
    flowLabel: w0 & 0xfffff,
    payloadLength,
    nextHeader,
    hopLimit: b[off + 7]!,
    src: ipv6At(b, off + 8),
    dst: ipv6At(b, off + 24),
    extensionHeaders: extensions,
    protocol: proto,
  };
  ctx.payloadStart = p;
  ctx.payloadEnd = l3End;
  if (!decodeL4 || extensionCut) return { ip, l4: undefined };
  const checkable = ctx.verify && whole && !fragmented;
  const pseudo = checkable ? ipv6PseudoHeaderSum(b, off + 8, off + 24, proto, 0) : 0;
  return { ip, l4: parseL4(ctx, proto, p, declaredEnd, l3End, fragmented, checkable, pseudo, 6) };
}

// ---------------------------------------------------------------- L4
// `declaredEnd` is where the IP header says the packet ends, `l3End` where the captured bytes end
// (the smaller of the two). `pseudo` is the pseudo-header sum without the length, which each L4 adds.
// In the first fragment of a fragmented datagram, UDP's length may exceed the IP payload.

function parseL4(
  ctx: Ctx,
  protocol: number,
  p: number,
  declaredEnd: number,
  l3End: number,
  fragmented: boolean,
  checkable: boolean,
  pseudo: number,
  family: 4 | 6,
): L4Header | undefined {
  switch (protocol) {
    case IP_PROTO.UDP:
      return parseUdp(ctx, p, declaredEnd, l3End, fragmented, checkable, pseudo, family);
    case IP_PROTO.TCP:
      return parseTcp(ctx, p, declaredEnd, l3End, checkable, pseudo);
    case IP_PROTO.ICMP:
      return family === 4 ? parseIcmp(ctx, 'icmp', p, declaredEnd, l3End, checkable, 0) : undefined;
    case IP_PROTO.ICMPV6:
      return family === 6 ? parseIcmp(ctx, 'icmpv6', p, declaredEnd, l3End, checkable, pseudo) : undefined;
    default:
      return undefined;
  }
}

function parseUdp(
  ctx: Ctx,
  p: number,
  declaredEnd: number,
  l3End: number,
  fragmented: boolean,
  checkable: boolean,
  pseudo: number,
  family: 4 | 6,
): UdpHeader | undefined {
  const b = ctx.b;
  if (p + 8 > declaredEnd)
    throw new PacketParseError('udp', 'header', p, 'malformed', 'longer than the IP payload');
  if (p + 8 > l3End) {
    cut(ctx, 'udp', 'header', p);
    return undefined;
  }
  const length = u16(b, p + 4);
  if (length < 8) throw new PacketParseError('udp', 'length', p + 4, 'malformed', `length ${length}`);
  if (p + length > declaredEnd && !fragmented) {
    throw new PacketParseError(
      'udp',
      'length',
      p + 4,
      'malformed',
      `length ${length} exceeds the IP payload`,
    );
  }
  const checksum = u16(b, p + 6);
  const h: UdpHeader = {
    kind: 'udp',
    offset: p,
    srcPort: u16(b, p),
    dstPort: u16(b, p + 2),
    length,
    checksum,
  };
  if (checkable) {
    h.checksumValid =
      checksum === 0 ? family === 4 : internetChecksum(b, p, p + length, pseudo + length) === 0;
  }
  ctx.payloadStart = p + 8;
  ctx.payloadEnd = Math.min(p + length, l3End);
  if (p + length > l3End && l3End < declaredEnd) cut(ctx, 'udp', 'payload', p + 8);
  return h;
}

function parseTcp(
  ctx: Ctx,
  p: number,
  declaredEnd: number,
  l3End: number,
  checkable: boolean,
  pseudo: number,
): TcpHeader | undefined {
  const b = ctx.b;
  if (p + 20 > declaredEnd)
    throw new PacketParseError('tcp', 'header', p, 'malformed', 'longer than the IP payload');
  if (p + 20 > l3End) {
    cut(ctx, 'tcp', 'header', p);
    return undefined;
  }
  const hl = (b[p + 12]! >>> 4) * 4;
  if (hl < 20) throw new PacketParseError('tcp', 'dataOffset', p + 12, 'malformed', `header length ${hl}`);
  if (p + hl > declaredEnd) {
    throw new PacketParseError(
      'tcp',
      'dataOffset',
      p + 12,
      'malformed',
      `header length ${hl} exceeds the IP payload`,
    );
  }
  if (p + hl > l3End) {
    cut(ctx, 'tcp', 'options', p + 20);
    return undefined;
  }
  const h: TcpHeader = {
    kind: 'tcp',
    offset: p,
    headerLength: hl,
    srcPort: u16(b, p),
    dstPort: u16(b, p + 2),
    seq: u32(b, p + 4),
    ack: u32(b, p + 8),
    flags: u16(b, p + 12) & 0x1ff,
    window: u16(b, p + 14),
    checksum: u16(b, p + 16),
    urgentPointer: u16(b, p + 18),
    options: hl > 20 ? b.subarray(p + 20, p + hl) : EMPTY_BYTES,
  };
  if (checkable) h.checksumValid = internetChecksum(b, p, declaredEnd, pseudo + (declaredEnd - p)) === 0;
  ctx.payloadStart = p + hl;
  ctx.payloadEnd = l3End;
  if (l3End < declaredEnd) cut(ctx, 'tcp', 'payload', p + hl);
  return h;
}

function parseIcmp(
  ctx: Ctx,
  kind: 'icmp' | 'icmpv6',
  p: number,
  declaredEnd: number,
  l3End: number,
  checkable: boolean,
  pseudo: number,
): IcmpHeader | Icmpv6Header | undefined {
  const b = ctx.b;
  if (p + 8 > declaredEnd)
    throw new PacketParseError(kind, 'header', p, 'malformed', 'longer than the IP payload');
  if (p + 8 > l3End) {
    cut(ctx, kind, 'header', p);
    return undefined;
  }
  const type = b[p]!;
  const rest = u32(b, p + 4);
  const h: IcmpHeader | Icmpv6Header = {
    kind,
    offset: p,
    type,
    code: b[p + 1]!,
    checksum: u16(b, p + 2),
    rest,
  };
  const isEcho =
    kind === 'icmp'
      ? type === ICMP_TYPE.ECHO_REQUEST || type === ICMP_TYPE.ECHO_REPLY
      : type === ICMPV6_TYPE.ECHO_REQUEST || type === ICMPV6_TYPE.ECHO_REPLY;
  if (isEcho) h.echo = { identifier: rest >>> 16, sequence: rest & 0xffff };
  if (checkable) {
    const sum = kind === 'icmpv6' ? pseudo + (declaredEnd - p) : 0;
    h.checksumValid = internetChecksum(b, p, declaredEnd, sum) === 0;
  }
  ctx.payloadStart = p + 8;
  ctx.payloadEnd = l3End;
  if (l3End < declaredEnd) cut(ctx, kind, 'payload', p + 8);
  return h;
}

// ---------------------------------------------------------------- LLDP

const MANDATORY: readonly { type: number; field: string }[] = [
  { type: LLDP_TLV.CHASSIS_ID, field: 'chassisId' },
  { type: LLDP_TLV.PORT_ID, field: 'portId' },
  { type: LLDP_TLV.TTL, field: 'ttl' },
];

function parseLldp(ctx: Ctx, off: number): LldpPacket | undefined {
  const b = ctx.b;
  const end = b.length;
  let p = off;
  let index = 0;
  let chassisId: LldpId | undefined;
  let portId: LldpId | undefined;
  let ttl = 0;
  const tlvs: LldpTlv[] = [];
  let ended = false;
  while (p < end) {
    if (p + 2 > end) {
      cut(ctx, 'lldp', 'tlvHeader', p);
      break;
    }
    const h = u16(b, p);
    const type = h >>> 9;
    const len = h & 0x1ff;
    if (p + 2 + len > end) {
      cut(ctx, 'lldp', index < 3 ? MANDATORY[index]!.field : 'tlv', p);
      break;
    }
    const v = p + 2;
    if (type === LLDP_TLV.END) {
      p = v + len;
      ended = true;
      break;
    }
    if (index < 3) {
      const m = MANDATORY[index]!;
      if (type !== m.type) {
        throw new PacketParseError(
          'lldp',
          m.field,
          p,
          'malformed',
          `expected TLV type ${m.type}, got ${type}`,
        );
      }
      if (len < 2) throw new PacketParseError('lldp', m.field, p, 'malformed', `TLV length ${len}`);
      if (index === 0) chassisId = { subtype: b[v]!, value: b.subarray(v + 1, v + len) };
      else if (index === 1) portId = { subtype: b[v]!, value: b.subarray(v + 1, v + len) };
      else ttl = u16(b, v);
    } else {
      tlvs.push({ type, value: b.subarray(v, v + len) });
    }
    index++;
    p = v + len;
  }
  if (!ended && ctx.truncation?.layer !== 'lldp')
    cut(ctx, 'lldp', index < 3 ? MANDATORY[index]!.field : 'end', p);
  if (chassisId === undefined || portId === undefined || index < 3) {
    // Mandatory TLVs missing because the frame ended: leave the LLDPDU in `payload`.
    return undefined;
  }
  ctx.payloadStart = ctx.payloadEnd = p;
  return { kind: 'lldp', offset: off, chassisId, portId, ttl, tlvs };
}

/** True for a gratuitous ARP (sender and target IP equal), request or reply. */
export function isGratuitousArp(arp: ArpPacket): boolean {
  return (
    (arp.operation === ARP_OP.REQUEST || arp.operation === ARP_OP.REPLY) && arp.senderIp === arp.targetIp
  );
}
