// Address helpers: MAC (text <-> bytes <-> 48-bit bigint), IPv4 and IPv6 (text <-> bytes).
// Text produced here is canonical: MACs lower-case "aa:bb:cc:dd:ee:ff", IPv4 dotted quad,
// IPv6 in RFC 5952 form ("2001:db8::1", "::ffff:192.0.2.1"), so it can be compared and used as a key.
import { AddressError } from './errors.ts';

/** Anything a builder accepts as a MAC: text ("aa:bb:cc:dd:ee:ff", "aa-bb-..", "aabbccddeeff"), 6 bytes, or a 48-bit bigint. */
export type MacLike = string | bigint | Uint8Array;

const HEX2: readonly string[] = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

// MAC text cache, keyed by the MAC as a 48-bit number (exact in a double). A learning switch sees
// the same few MACs over and over: a hit costs one Map lookup and no allocation.
const MAC_CACHE_LIMIT = 65536;
const macCache = new Map<number, string>();

/** The canonical text of the 6 bytes at `offset`. Caller guarantees offset + 6 <= bytes.length. */
export function macAt(bytes: Uint8Array, offset: number): string {
  const hi = (bytes[offset]! << 8) | bytes[offset + 1]!;
  const lo =
    ((bytes[offset + 2]! << 24) |
      (bytes[offset + 3]! << 16) |
      (bytes[offset + 4]! << 8) |
      bytes[offset + 5]!) >>>
    0;
  const key = hi * 0x100000000 + lo;
  let s = macCache.get(key);
  if (s === undefined) {
    s = `${HEX2[hi >>> 8]}:${HEX2[hi & 0xff]}:${HEX2[lo >>> 24]}:${HEX2[(lo >>> 16) & 0xff]}:${HEX2[(lo >>> 8) & 0xff]}:${HEX2[lo & 0xff]}`;
    if (macCache.size >= MAC_CACHE_LIMIT) macCache.clear();
    macCache.set(key, s);
  }
  return s;
}

/** The MAC at `offset` as a 48-bit number (exact; cheapest possible key). */
export function macNumberAt(bytes: Uint8Array, offset: number): number {
  return (
    ((bytes[offset]! << 8) | bytes[offset + 1]!) * 0x100000000 +
    (((bytes[offset + 2]! << 24) |
      (bytes[offset + 3]! << 16) |
      (bytes[offset + 4]! << 8) |
      bytes[offset + 5]!) >>>
      0)
  );
}

function hexValue(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  const l = c | 0x20;
  return l >= 97 && l <= 102 ? l - 87 : -1;
}

/**
 * Parses "aa:bb:cc:dd:ee:ff", "aa-bb-cc-dd-ee-ff" (one separator throughout) or "aabbccddeeff", any case,
 * into out[offset..offset+6). Returns false (out possibly half-written) when the text is not a MAC.
 */
function parseMacText(text: string, out: Uint8Array, offset: number): boolean {
  const n = text.length;
  let stride: number;
  let sep = -1;
  if (n === 17) {
    stride = 3;
    sep = text.charCodeAt(2);
    if (sep !== 58 && sep !== 45) return false;
  } else if (n === 12) {
    stride = 2;
  } else {
    return false;
  }
  for (let i = 0; i < 6; i++) {
    const p = i * stride;
    if (i > 0 && sep !== -1 && text.charCodeAt(p - 1) !== sep) return false;
    const hi = hexValue(text.charCodeAt(p));
    const lo = hexValue(text.charCodeAt(p + 1));
    if (hi < 0 || lo < 0) return false;
    out[offset + i] = (hi << 4) | lo;
  }
  return true;
}

function macTextToBytes(text: string, out: Uint8Array, offset: number): void {
  if (typeof text !== 'string' || !parseMacText(text, out, offset))
    throw new AddressError('MAC', String(text));
}

const SCRATCH = new Uint8Array(16);

/** Writes a MAC into `out` at `offset` (6 bytes). */
export function writeMac(mac: MacLike, out: Uint8Array, offset: number): void {
  if (typeof mac === 'string') {
    macTextToBytes(mac, out, offset);
  } else if (typeof mac === 'bigint') {
    if (mac < 0n || mac > 0xffffffffffffn)
      throw new AddressError('MAC', mac.toString(), 'not a 48-bit value');
    const n = Number(mac);
    const hi = Math.floor(n / 0x100000000);
    const lo = n >>> 0;
    out[offset] = hi >>> 8;
    out[offset + 1] = hi & 0xff;
    out[offset + 2] = lo >>> 24;
    out[offset + 3] = (lo >>> 16) & 0xff;
    out[offset + 4] = (lo >>> 8) & 0xff;
    out[offset + 5] = lo & 0xff;
  } else {
    if (mac.length !== 6) throw new AddressError('MAC', Buffer.from(mac).toString('hex'), 'not 6 bytes');
    out.set(mac, offset);
  }
}

/** Six bytes of a MAC. */
export function macToBytes(mac: MacLike): Uint8Array {
  const out = new Uint8Array(6);
  writeMac(mac, out, 0);
  return out;
}

/** Canonical text ("aa:bb:cc:dd:ee:ff") of a MAC given in any accepted form. */
export function macToString(mac: MacLike): string {
  writeMac(mac, SCRATCH, 0);
  return macAt(SCRATCH, 0);
}

/** Canonical text of the 6 bytes at `offset` of `bytes`. */
export function bytesToMac(bytes: Uint8Array, offset = 0): string {
  if (offset < 0 || offset + 6 > bytes.length)
    throw new AddressError('MAC', `<${bytes.length} bytes @${offset}>`, 'out of range');
  return macAt(bytes, offset);
}

/** A MAC as a 48-bit bigint (first octet most significant). */
export function macToBigInt(mac: MacLike): bigint {
  if (typeof mac === 'bigint') {
    if (mac < 0n || mac > 0xffffffffffffn)
      throw new AddressError('MAC', mac.toString(), 'not a 48-bit value');
    return mac;
  }
  return BigInt(macNumberAt(macToBytes(mac), 0));
}

/** Canonical text of a 48-bit bigint MAC. */
export function bigIntToMac(value: bigint): string {
  return macToString(value);
}

function firstOctet(mac: MacLike): number {
  writeMac(mac, SCRATCH, 0);
  return SCRATCH[0]!;
}

/** ff:ff:ff:ff:ff:ff */
export function isBroadcast(mac: MacLike): boolean {
  if (mac === 'ff:ff:ff:ff:ff:ff') return true;
  writeMac(mac, SCRATCH, 0);
  return macNumberAt(SCRATCH, 0) === 0xffffffffffff;
}

/** Group (I/G) bit set: multicast or broadcast. */
export function isMulticast(mac: MacLike): boolean {
  return (firstOctet(mac) & 1) === 1;
}

/** Not a group address. */
export function isUnicast(mac: MacLike): boolean {
  return (firstOctet(mac) & 1) === 0;
}

/** Locally administered (U/L bit set), as generated for virtual interfaces. */
export function isLocallyAdministered(mac: MacLike): boolean {
  return (firstOctet(mac) & 2) === 2;
}

// ---------------------------------------------------------------- IPv4

/** Parses a dotted quad into out[offset..offset+4); false when it is not one. Leading zeros are refused (ambiguous). */
function parseIpv4Text(text: string, out: Uint8Array, offset: number): boolean {
  if (typeof text !== 'string' || text.length > 15) return false;
  let octet = 0;
  let digits = 0;
  let part = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 46) {
      if (digits === 0 || part === 3) return false;
      out[offset + part++] = octet;
      octet = 0;
      digits = 0;
    } else if (c >= 48 && c <= 57) {
      if (digits > 0 && octet === 0) return false;
      octet = octet * 10 + (c - 48);
      if (++digits > 3 || octet > 255) return false;
    } else {
      return false;
    }
  }
  if (digits === 0 || part !== 3) return false;
  out[offset + 3] = octet;
  return true;
}

/** Writes a dotted-quad IPv4 address into `out` at `offset` (4 bytes). */
export function writeIpv4(text: string, out: Uint8Array, offset: number): void {
  if (!parseIpv4Text(text, out, offset)) throw new AddressError('IPv4', String(text));
}

export function ipv4ToBytes(text: string): Uint8Array {
  const out = new Uint8Array(4);
  writeIpv4(text, out, 0);
  return out;
}

/** Dotted quad of the 4 bytes at `offset`. */
export function bytesToIpv4(bytes: Uint8Array, offset = 0): string {
  if (offset < 0 || offset + 4 > bytes.length)
    throw new AddressError('IPv4', `<${bytes.length} bytes @${offset}>`, 'out of range');
  return ipv4At(bytes, offset);
}

/** Internal: no bounds check. */
export function ipv4At(b: Uint8Array, o: number): string {
  return `${b[o]}.${b[o + 1]}.${b[o + 2]}.${b[o + 3]}`;
}

/** The address as an unsigned 32-bit number. */
export function ipv4ToNumber(text: string): number {
  const b = ipv4ToBytes(text);
  return b[0]! * 0x1000000 + ((b[1]! << 16) | (b[2]! << 8) | b[3]!);
}

export function numberToIpv4(value: number): string {
  if (!Number.isInteger(value) || value < 0 || value > 0xffffffff) {
    throw new AddressError('IPv4', String(value), 'not an unsigned 32-bit integer');
  }
  return `${value >>> 24}.${(value >>> 16) & 0xff}.${(value >>> 8) & 0xff}.${value & 0xff}`;
}

export function isIpv4(text: string): boolean {
  return parseIpv4Text(text, SCRATCH, 0);
}

// ---------------------------------------------------------------- IPv6

const HEXGROUP_RE = /^[0-9a-fA-F]{1,4}$/;

function parseGroups(part: string, text: string, allowV4Tail: boolean): number[] {
  if (part === '') return [];
  const items = part.split(':');
  const groups: number[] = [];
  for (let i = 0; i < items.length; i++) {
    const item = items[i]!;
    if (i === items.length - 1 && allowV4Tail && item.includes('.')) {
      if (!isIpv4(item)) throw new AddressError('IPv6', text, 'bad embedded IPv4');
      const v4 = ipv4ToBytes(item);
      groups.push((v4[0]! << 8) | v4[1]!, (v4[2]! << 8) | v4[3]!);
    } else {
      if (!HEXGROUP_RE.test(item)) throw new AddressError('IPv6', text);
      groups.push(Number.parseInt(item, 16));
    }
  }
  return groups;
}

/** Writes an IPv6 address (any RFC 4291 text form, incl. "::" and an embedded IPv4 tail) at `offset` (16 bytes). */
export function writeIpv6(text: string, out: Uint8Array, offset: number): void {
  if (typeof text !== 'string' || text.length > 45) throw new AddressError('IPv6', String(text));
  const dbl = text.indexOf('::');
  let groups: number[];
  if (dbl === -1) {
    groups = parseGroups(text, text, true);
    if (groups.length !== 8) throw new AddressError('IPv6', text, 'needs 8 groups');
  } else {
    if (text.indexOf('::', dbl + 1) !== -1) throw new AddressError('IPv6', text, 'more than one "::"');
    const head = parseGroups(text.slice(0, dbl), text, false);
    const tail = parseGroups(text.slice(dbl + 2), text, true);
    const missing = 8 - head.length - tail.length;
    if (missing < 1) throw new AddressError('IPv6', text, 'too many groups');
    groups = [...head, ...new Array<number>(missing).fill(0), ...tail];
  }
  for (let i = 0; i < 8; i++) {
    out[offset + i * 2] = groups[i]! >>> 8;
    out[offset + i * 2 + 1] = groups[i]! & 0xff;
  }
}

export function ipv6ToBytes(text: string): Uint8Array {
  const out = new Uint8Array(16);
  writeIpv6(text, out, 0);
  return out;
}

/** RFC 5952 canonical text of the 16 bytes at `offset`. */
export function bytesToIpv6(bytes: Uint8Array, offset = 0): string {
  if (offset < 0 || offset + 16 > bytes.length)
    throw new AddressError('IPv6', `<${bytes.length} bytes @${offset}>`, 'out of range');
  return ipv6At(bytes, offset);
}

/** Internal: no bounds check. */
export function ipv6At(b: Uint8Array, o: number): string {
  const g: number[] = new Array(8);
  for (let i = 0; i < 8; i++) g[i] = (b[o + i * 2]! << 8) | b[o + i * 2 + 1]!;
  // IPv4-mapped (::ffff:a.b.c.d), written with the dotted tail as RFC 5952 section 5 recommends.
  if (g[0] === 0 && g[1] === 0 && g[2] === 0 && g[3] === 0 && g[4] === 0 && g[5] === 0xffff) {
    return `::ffff:${ipv4At(b, o + 12)}`;
  }
  // Longest run of two or more zero groups (the first one on a tie) becomes "::".
  let bestStart = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (g[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = (from: number, to: number) =>
    g
      .slice(from, to)
      .map((x) => x.toString(16))
      .join(':');
  if (bestStart < 0) return hex(0, 8);
  return `${hex(0, bestStart)}::${hex(bestStart + bestLen, 8)}`;
}

export function isIpv6(text: string): boolean {
  try {
    ipv6ToBytes(text);
    return true;
  } catch {
    return false;
  }
}

/** Canonical text of an IPv6 address given in any accepted text form. */
export function canonicalIpv6(text: string): string {
  return ipv6At(ipv6ToBytes(text), 0);
}
