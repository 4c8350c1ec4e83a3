// vnm packet library: parse and build Ethernet, 802.1Q/802.1ad, ARP/RARP, IPv4, IPv6, ICMP, ICMPv6, UDP,
// TCP and LLDP frames for packet-in and packet-out data. Knows nothing about OpenFlow. See README.md.
export {
  bigIntToMac,
  bytesToIpv4,
  bytesToIpv6,
  bytesToMac,
  canonicalIpv6,
  ipv4ToBytes,
  ipv4ToNumber,
  ipv6ToBytes,
  isBroadcast,
  isIpv4,
  isIpv6,
  isLocallyAdministered,
  isMulticast,
  isUnicast,
  type MacLike,
  macToBigInt,
  macToBytes,
  macToString,
  numberToIpv4,
} from './address.ts';
export * from './build.ts';
export * from './checksum.ts';
export * from './constants.ts';
export * from './errors.ts';
export * from './lldp.ts';
export * from './parse.ts';
export type * from './types.ts';
