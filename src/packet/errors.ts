// Typed errors of the packet library. Parsing throws only PacketParseError; building throws only
// PacketBuildError (bad field values) or AddressError (bad address text).

/** The protocol layer an error or a truncation refers to. */
export type PacketLayer =
  | 'ethernet'
  | 'vlan'
  | 'arp'
  | 'ipv4'
  | 'ipv6'
  | 'icmp'
  | 'icmpv6'
  | 'udp'
  | 'tcp'
  | 'lldp';

/**
 * Why parsing failed: `truncated` = the bytes end inside a header that must be complete
 * (only the Ethernet header and its VLAN tags; upper layers report truncation in the result);
 * `malformed` = a field holds a value the protocol forbids (e.g. IPv4 IHL < 5).
 */
export type PacketParseErrorKind = 'truncated' | 'malformed';

export class PacketParseError extends Error {
  override readonly name = 'PacketParseError';
  readonly layer: PacketLayer;
  readonly field: string;
  /** Byte offset in the frame of the offending field. */
  readonly offset: number;
  readonly kind: PacketParseErrorKind;

  constructor(
    layer: PacketLayer,
    field: string,
    offset: number,
    kind: PacketParseErrorKind,
    detail?: string,
  ) {
    super(`${layer}: ${kind} ${field} at offset ${offset}${detail ? ` (${detail})` : ''}`);
    this.layer = layer;
    this.field = field;
    this.offset = offset;
    this.kind = kind;
  }
}

/** A builder was given a field value that cannot be encoded (out of range, too long, inconsistent). */
export class PacketBuildError extends RangeError {
  override readonly name = 'PacketBuildError';
  readonly field: string;

  constructor(field: string, detail: string) {
    super(`${field}: ${detail}`);
    this.field = field;
  }
}

/** An address in text form (MAC, IPv4, IPv6) could not be understood. */
export class AddressError extends RangeError {
  override readonly name = 'AddressError';
  readonly input: string;

  constructor(kind: 'MAC' | 'IPv4' | 'IPv6', input: string, detail?: string) {
    super(`invalid ${kind} address ${JSON.stringify(input)}${detail ? `: ${detail}` : ''}`);
    this.input = input;
  }
}
