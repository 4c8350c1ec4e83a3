// RFC 1071 Internet checksum and the IPv4/IPv6 pseudo-headers used by TCP, UDP and ICMPv6.

/** Adds the 16-bit big-endian words of bytes[start, end) to `sum` (an odd last byte is padded with zero). Unfolded. */
export function onesComplementSum(bytes: Uint8Array, start: number, end: number, sum = 0): number {
  let i = start;
  const last = end - 1;
  for (; i < last; i += 2) sum += (bytes[i]! << 8) | bytes[i + 1]!;
  if (i === last) sum += bytes[i]! << 8;
  return sum;
}

/** Folds carries and complements: the value to store in a checksum field. */
export function finishChecksum(sum: number): number {
  while (sum > 0xffff) sum = (sum & 0xffff) + Math.floor(sum / 0x10000);
  return ~sum & 0xffff;
}

/**
 * The Internet checksum of bytes[start, end), optionally continuing a pseudo-header sum.
 * Computed over data that already holds a correct checksum, it yields 0.
 */
export function internetChecksum(bytes: Uint8Array, start = 0, end = bytes.length, initialSum = 0): number {
  return finishChecksum(onesComplementSum(bytes, start, end, initialSum));
}

/** Sum of the IPv4 pseudo-header: addresses at srcOffset/dstOffset of `bytes` (4 bytes each), protocol, L4 length. */
export function ipv4PseudoHeaderSum(
  bytes: Uint8Array,
  srcOffset: number,
  dstOffset: number,
  protocol: number,
  length: number,
): number {
  let sum = onesComplementSum(bytes, srcOffset, srcOffset + 4);
  sum = onesComplementSum(bytes, dstOffset, dstOffset + 4, sum);
  return sum + protocol + (length & 0xffff) + Math.floor(length / 0x10000);
}

/** Sum of the IPv6 pseudo-header: addresses at srcOffset/dstOffset (16 bytes each), upper-layer length, next header. */
export function ipv6PseudoHeaderSum(
  bytes: Uint8Array,
  srcOffset: number,
  dstOffset: number,
  nextHeader: number,
  length: number,
): number {
  let sum = onesComplementSum(bytes, srcOffset, srcOffset + 16);
  sum = onesComplementSum(bytes, dstOffset, dstOffset + 16, sum);
  return sum + nextHeader + (length & 0xffff) + Math.floor(length / 0x10000);
}
