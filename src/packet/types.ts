// The layered structure that parsePacket returns. Every header is a plain object with a `kind`
// discriminant (except Ethernet, which is always there). Byte fields (payload, options, LLDP values)
// are views into the parsed buffer, not copies: copy them if the buffer is reused.
import type { PacketLayer } from './errors.ts';

/** One 802.1Q / 802.1ad tag. */
export interface VlanTag {
  /** 0x8100 (C-tag) or 0x88a8 (S-tag). */
  tpid: number;
  /** Priority code point, 0..7. */
  pcp: number;
  /** Drop eligible indicator (formerly CFI). */
  dei: boolean;
  /** VLAN id, 0..4095. */
  vid: number;
}

export interface EthernetHeader {
  /** Canonical lower-case "aa:bb:cc:dd:ee:ff". */
  dst: string;
  src: string;
  /** Outermost tag first; empty when untagged. */
  vlans: readonly VlanTag[];
  /** The EtherType after the tags (values below 0x0600 are 802.3 length fields and are not decoded). */
  ethType: number;
  /** 14 + 4 per tag: where the L3 packet starts. */
  headerLength: number;
}

/** ARP or RARP for Ethernet/IPv4 (hardware type 1, protocol type 0x0800); other ARP flavours are not decoded. */
export interface ArpPacket {
  kind: 'arp';
  offset: number;
  /** 1 request, 2 reply, 3 RARP request, 4 RARP reply (see ARP_OP). */
  operation: number;
  senderMac: string;
  senderIp: string;
  targetMac: string;
  targetIp: string;
}

export interface Ipv4Header {
  kind: 'ipv4';
  offset: number;
  /** IHL * 4: 20 + options. */
  headerLength: number;
  dscp: number;
  ecn: number;
  /** As written in the header (may exceed what was captured: see ParsedPacket.truncated). */
  totalLength: number;
  identification: number;
  dontFragment: boolean;
  moreFragments: boolean;
  /** In 8-byte units, as on the wire. L4 is decoded only when this is 0. */
  fragmentOffset: number;
  ttl: number;
  protocol: number;
  checksum: number;
  /** Present when parsed with { verifyChecksums: true }. */
  checksumValid?: boolean;
  src: string;
  dst: string;
  /** Raw option bytes (headerLength - 20 of them). */
  options: Uint8Array;
}

/** An IPv6 extension header: its type (the next-header value that named it) and its bytes after the next-header octet. */
export interface Ipv6Extension {
  type: number;
  data: Uint8Array;
}

export interface Ipv6Header {
  kind: 'ipv6';
  offset: number;
  trafficClass: number;
  flowLabel: number;
  /** As written in the header. */
  payloadLength: number;
  /** The next-header field of the fixed header. */
  nextHeader: number;
  hopLimit: number;
  /** RFC 5952 text. */
  src: string;
  dst: string;
  /** Hop-by-hop (0), routing (43), fragment (44), AH (51) and destination options (60) headers walked in order. */
  extensionHeaders: readonly Ipv6Extension[];
  /** The next-header value after the last extension header: what `l4` (or the payload) is. */
  protocol: number;
}

export interface LldpId {
  subtype: number;
  value: Uint8Array;
}

export interface LldpTlv {
  type: number;
  value: Uint8Array;
}

export interface LldpPacket {
  kind: 'lldp';
  offset: number;
  chassisId: LldpId;
  portId: LldpId;
  /** Seconds. */
  ttl: number;
  /** Every TLV after TTL and before End, in order, undecoded (port description, system name, org-specific...). */
  tlvs: readonly LldpTlv[];
}

export interface UdpHeader {
  kind: 'udp';
  offset: number;
  srcPort: number;
  dstPort: number;
  /** Header + data, as written. */
  length: number;
  checksum: number;
  /** With { verifyChecksums: true }, when the whole datagram was captured and is not a fragment. 0 over IPv4 counts as valid. */
  checksumValid?: boolean;
}

export interface TcpHeader {
  kind: 'tcp';
  offset: number;
  /** Data offset * 4: 20 + options. */
  headerLength: number;
  srcPort: number;
  dstPort: number;
  seq: number;
  ack: number;
  /** 9 flag bits (see TCP_FLAGS, tcpFlagNames). */
  flags: number;
  window: number;
  checksum: number;
  urgentPointer: number;
  options: Uint8Array;
  checksumValid?: boolean;
}

export interface IcmpEcho {
  identifier: number;
  sequence: number;
}

interface IcmpCommon {
  offset: number;
  type: number;
  code: number;
  checksum: number;
  /** The 4 "rest of header" bytes as an unsigned 32-bit number. */
  rest: number;
  /** Present for echo request/reply: `rest` split into identifier and sequence. */
  echo?: IcmpEcho;
  checksumValid?: boolean;
}

export interface IcmpHeader extends IcmpCommon {
  kind: 'icmp';
}

export interface Icmpv6Header extends IcmpCommon {
  kind: 'icmpv6';
}

export type L3Packet = ArpPacket | Ipv4Header | Ipv6Header | LldpPacket;
export type L4Header = UdpHeader | TcpHeader | IcmpHeader | Icmpv6Header;

/** Where a truncated frame ran out: the innermost header or payload that is incomplete. */
export interface TruncationInfo {
  layer: PacketLayer;
  field: string;
  /** Frame offset of the field (or header) that is incomplete. */
  offset: number;
}

export interface ParsedPacket {
  eth: EthernetHeader;
  /** Absent for EtherTypes that are not decoded, non-Ethernet/IPv4 ARP, or a truncated L3 header. */
  l3?: L3Packet;
  /** Absent when l3 is not IP, the protocol is not decoded, a non-first fragment, or the L4 header is truncated. */
  l4?: L4Header;
  /**
   * The bytes after the innermost decoded header, bounded by the enclosing length fields (UDP length,
   * IP total/payload length), so Ethernet padding is not included. Empty after ARP and LLDP.
   * When a header could not be decoded because it was cut, this starts at that header.
   */
  payload: Uint8Array;
  /** The frame ended before the lengths in its headers said it would (e.g. a packet-in cut at miss_send_len). */
  truncated: boolean;
  truncation?: TruncationInfo;
}

/** What ethernetHeaderOf returns: the L2 facts a learning switch needs, without a full parse. */
export interface EthernetSummary {
  dst: string;
  src: string;
  /** EtherType after the VLAN tags. */
  ethType: number;
  /** VLAN ids, outermost first (a shared empty array when untagged: do not mutate). */
  vlanIds: readonly number[];
}
