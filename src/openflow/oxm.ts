// OXM (OpenFlow Extensible Match): ofp_match, single OXM TLVs and OXM ids (table features).
//
// Wire form of one TLV: a 32-bit header  class(16) | field(7) | hasmask(1) | length(8)  then `length`
// bytes of value (and, when hasmask is set, a mask of the same width: length is doubled).
// A basic-class (0x8000) TLV whose length does not fit its field, and every TLV of another class
// (Nicira 0x0000/0x0001, experimenter 0xffff with its 4-byte experimenter id inside the payload), decodes
// to an `unknown` field that keeps its raw payload and re-encodes byte for byte.

import { OfDecodeError, type Reader, type Writer } from './buffer.ts';
import type { Match, OxmField, OxmId, OxmName } from './types.ts';

export const OXM_CLASS_NXM_0 = 0x0000;
export const OXM_CLASS_NXM_1 = 0x0001;
export const OXM_CLASS_OPENFLOW_BASIC = 0x8000;
export const OXM_CLASS_EXPERIMENTER = 0xffff;
/** ofp_match_type OFPMT_OXM */
export const MATCH_TYPE_OXM = 1;

/** How a field's value is represented in an OxmField. */
export type OxmKind = 'num' | 'big' | 'mac' | 'ipv4' | 'ipv6';

export interface OxmFieldInfo {
  name: OxmName;
  oxmClass: number;
  /** OXM field number within the class. */
  field: number;
  /** Value width on the wire in bytes (the mask, when present, has the same width). */
  width: number;
  /** Whether the spec allows a mask (the decoder accepts one on any field; this is informative). */
  maskable: boolean;
  kind: OxmKind;
}

function f(name: OxmName, field: number, width: number, maskable: boolean, kind: OxmKind): OxmFieldInfo {
  return { name, oxmClass: OXM_CLASS_OPENFLOW_BASIC, field, width, maskable, kind };
}

/** The OpenFlow 1.3 basic-class OXM fields, indexed by field number (OFPXMT_OFB_*). */
export const OXM_FIELDS: readonly OxmFieldInfo[] = Object.freeze([
  f('in_port', 0, 4, false, 'num'),
  f('in_phy_port', 1, 4, false, 'num'),
  f('metadata', 2, 8, true, 'big'),
  f('eth_dst', 3, 6, true, 'mac'),
  f('eth_src', 4, 6, true, 'mac'),
  f('eth_type', 5, 2, false, 'num'),
  f('vlan_vid', 6, 2, true, 'num'),
  f('vlan_pcp', 7, 1, false, 'num'),
  f('ip_dscp', 8, 1, false, 'num'),
  f('ip_ecn', 9, 1, false, 'num'),
  f('ip_proto', 10, 1, false, 'num'),
  f('ipv4_src', 11, 4, true, 'ipv4'),
  f('ipv4_dst', 12, 4, true, 'ipv4'),
  f('tcp_src', 13, 2, false, 'num'),
  f('tcp_dst', 14, 2, false, 'num'),
  f('udp_src', 15, 2, false, 'num'),
  f('udp_dst', 16, 2, false, 'num'),
  f('sctp_src', 17, 2, false, 'num'),
  f('sctp_dst', 18, 2, false, 'num'),
  f('icmpv4_type', 19, 1, false, 'num'),
  f('icmpv4_code', 20, 1, false, 'num'),
  f('arp_op', 21, 2, false, 'num'),
  f('arp_spa', 22, 4, true, 'ipv4'),
  f('arp_tpa', 23, 4, true, 'ipv4'),
  f('arp_sha', 24, 6, true, 'mac'),
  f('arp_tha', 25, 6, true, 'mac'),
  f('ipv6_src', 26, 16, true, 'ipv6'),
  f('ipv6_dst', 27, 16, true, 'ipv6'),
  f('ipv6_flabel', 28, 4, true, 'num'),
  f('icmpv6_type', 29, 1, false, 'num'),
  f('icmpv6_code', 30, 1, false, 'num'),
  f('ipv6_nd_target', 31, 16, false, 'ipv6'),
  f('ipv6_nd_sll', 32, 6, false, 'mac'),
  f('ipv6_nd_tll', 33, 6, false, 'mac'),
  f('mpls_label', 34, 4, false, 'num'),
  f('mpls_tc', 35, 1, false, 'num'),
  f('mpls_bos', 36, 1, false, 'num'),
  f('pbb_isid', 37, 3, true, 'num'),
  f('tunnel_id', 38, 8, true, 'big'),
  f('ipv6_exthdr', 39, 2, true, 'num'),
]);

/** Field info by OXM name. */
export const OXM_FIELD_BY_NAME: Readonly<Record<OxmName, OxmFieldInfo>> = Object.freeze(
  Object.fromEntries(OXM_FIELDS.map((i) => [i.name, i])) as Record<OxmName, OxmFieldInfo>,
);

const INFO_BY_NAME = new Map<string, OxmFieldInfo>(OXM_FIELDS.map((i) => [i.name, i]));

/** Info for a basic-class field name, or undefined for anything else (e.g. 'unknown'). */
export function oxmFieldInfo(name: string): OxmFieldInfo | undefined {
  return INFO_BY_NAME.get(name);
}

// ---------------------------------------------------------------- errors

/** Re-throw an OfDecodeError with `prefix` prepended to its field path (anything else unchanged). */
export function rethrowWithPrefix(e: unknown, prefix: string): never {
  if (e instanceof OfDecodeError)
    throw new OfDecodeError(e.messageType, prefix + e.field, e.offset, e.detail);
  throw e;
}

// ---------------------------------------------------------------- fast writers

/** Write n zero bytes (cheaper than Writer.zeros for the small paddings of OpenFlow structures). */
export function pad(w: Writer, n: number): void {
  switch (n) {
    case 0:
      return;
    case 1:
      w.u8(0);
      return;
    case 2:
      w.u16(0);
      return;
    case 3:
      w.u16(0).u8(0);
      return;
    case 4:
      w.u32(0);
      return;
    case 6:
      w.u32(0).u16(0);
      return;
    default:
      w.zeros(n);
  }
}

function nib(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  const l = c | 0x20;
  if (l >= 97 && l <= 102) return l - 87;
  return -1;
}

/** Write "aa:bb:cc:dd:ee:ff" (or with '-') as 6 bytes; throws TypeError on malformed text. */
export function writeMac(w: Writer, s: string): void {
  if (typeof s === 'string' && s.length === 17) {
    let ok = true;
    for (let i = 0; i < 5; i++) {
      const sep = s.charCodeAt(i * 3 + 2);
      if (sep !== 58 && sep !== 45) ok = false;
    }
    if (ok) {
      for (let i = 0; i < 6; i++) {
        const hi = nib(s.charCodeAt(i * 3));
        const lo = nib(s.charCodeAt(i * 3 + 1));
        if (hi < 0 || lo < 0) throw new TypeError(`bad MAC address "${s}"`);
        w.u8((hi << 4) | lo);
      }
      return;
    }
  }
  if (typeof s !== 'string') throw new TypeError(`bad MAC address ${String(s)}`);
  w.mac(s);
}

/** Write dotted-quad IPv4 text as 4 bytes; throws TypeError on malformed text. */
export function writeIpv4(w: Writer, s: string): void {
  if (typeof s !== 'string') throw new TypeError(`bad IPv4 address ${String(s)}`);
  let v = 0;
  let acc = -1;
  let digits = 0;
  let parts = 0;
  for (let i = 0; i <= s.length; i++) {
    const c = i < s.length ? s.charCodeAt(i) : 46;
    if (c === 46) {
      if (acc < 0 || acc > 255 || parts >= 4) throw new TypeError(`bad IPv4 address "${s}"`);
      v = v * 256 + acc;
      parts++;
      acc = -1;
      digits = 0;
    } else if (c >= 48 && c <= 57 && digits < 3) {
      acc = (acc < 0 ? 0 : acc * 10) + (c - 48);
      digits++;
    } else {
      throw new TypeError(`bad IPv4 address "${s}"`);
    }
  }
  if (parts !== 4) throw new TypeError(`bad IPv4 address "${s}"`);
  w.u32(v);
}

const UINT_LIMIT = [1, 0x100, 0x10000, 0x1000000, 0x100000000];

function writeUint(w: Writer, v: number, width: number, name: string): void {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v >= UINT_LIMIT[width]!) {
    throw new RangeError(`OXM ${name}: value ${String(v)} does not fit in ${width} byte(s)`);
  }
  switch (width) {
    case 1:
      w.u8(v);
      break;
    case 2:
      w.u16(v);
      break;
    case 3:
      w.u8(v >>> 16);
      w.u16(v & 0xffff);
      break;
    default:
      w.u32(v);
  }
}

function writeBig(w: Writer, v: bigint, name: string): void {
  if (typeof v !== 'bigint' || v < 0n || v > 0xffffffffffffffffn) {
    throw new RangeError(`OXM ${name}: value ${String(v)} is not a 64-bit unsigned bigint`);
  }
  w.u64(v);
}

// ---------------------------------------------------------------- one OXM TLV

function readUint(r: Reader, width: number, field: string): number {
  switch (width) {
    case 1:
      return r.u8(field);
    case 2:
      return r.u16(field);
    case 3:
      return r.u8(field) * 65536 + r.u16(field);
    default:
      return r.u32(field);
  }
}

function readValue(r: Reader, info: OxmFieldInfo, field: string): number | bigint | string {
  switch (info.kind) {
    case 'num':
      return readUint(r, info.width, field);
    case 'big':
      return r.u64(field);
    case 'mac':
      return r.mac(field);
    case 'ipv4':
      return r.ipv4(field);
    default:
      return r.ipv6(field);
  }
}

/** Decode one OXM TLV (no field path prefix: internal). */
function readOxm(r: Reader): OxmField {
  const header = r.u32('header');
  const cls = header >>> 16;
  const fieldNo = (header >>> 9) & 0x7f;
  const hasMask = (header & 0x100) !== 0;
  const len = header & 0xff;
  if (cls === OXM_CLASS_OPENFLOW_BASIC && fieldNo < OXM_FIELDS.length) {
    const info = OXM_FIELDS[fieldNo]!;
    if (len === (hasMask ? 2 * info.width : info.width)) {
      const value = readValue(r, info, 'value');
      if (!hasMask) return { field: info.name, value } as OxmField;
      const mask = readValue(r, info, 'mask');
      return { field: info.name, value, mask } as OxmField;
    }
  }
  return { field: 'unknown', oxmClass: cls, oxmField: fieldNo, hasMask, data: r.bytesN(len, 'payload') };
}

/** Decode one OXM TLV at the reader's position. */
export function decodeOxmField(r: Reader, field: string): OxmField {
  try {
    return readOxm(r);
  } catch (e) {
    rethrowWithPrefix(e, `${field}.`);
  }
}

/** Encoded size (header included) of one OXM TLV. */
export function oxmFieldLength(f: OxmField): number {
  if (f.field === 'unknown') return 4 + f.data.length;
  const info = oxmFieldInfo(f.field);
  if (!info) throw new TypeError(`unknown OXM field name "${String(f.field)}"`);
  return 4 + (f.mask !== undefined ? 2 * info.width : info.width);
}

/** Encode one OXM TLV. Throws TypeError/RangeError on values that do not fit the field. */
export function encodeOxmField(w: Writer, f: OxmField): void {
  if (f.field === 'unknown') {
    const len = f.data.length;
    if (len > 255)
      throw new RangeError(`OXM class ${f.oxmClass} field ${f.oxmField}: payload longer than 255`);
    w.u16(f.oxmClass);
    w.u8(((f.oxmField & 0x7f) << 1) | (f.hasMask ? 1 : 0));
    w.u8(len);
    w.bytes(f.data);
    return;
  }
  const info = oxmFieldInfo(f.field);
  if (!info) throw new TypeError(`unknown OXM field name "${String(f.field)}"`);
  const masked = f.mask !== undefined;
  w.u16(OXM_CLASS_OPENFLOW_BASIC);
  w.u8((info.field << 1) | (masked ? 1 : 0));
  w.u8(masked ? 2 * info.width : info.width);
  writeValue(w, info, f.value);
  if (masked) writeValue(w, info, f.mask!);
}

function writeValue(w: Writer, info: OxmFieldInfo, v: number | bigint | string): void {
  switch (info.kind) {
    case 'num':
      writeUint(w, v as number, info.width, info.name);
      break;
    case 'big':
      writeBig(w, v as bigint, info.name);
      break;
    case 'mac':
      writeMac(w, v as string);
      break;
    case 'ipv4':
      writeIpv4(w, v as string);
      break;
    default:
      if (typeof v !== 'string') throw new TypeError(`bad IPv6 address ${String(v)}`);
      w.ipv6(v);
  }
}

// ---------------------------------------------------------------- ofp_match

/**
 * Decode an ofp_match (type OXM) including the padding that rounds it up to a multiple of 8 bytes.
 * `field` names the match in error messages (e.g. 'match' or 'stats[2].match').
 */
export function decodeMatch(r: Reader, field: string): Match {
  try {
    const start = r.offset;
    const type = r.u16('type');
    if (type !== MATCH_TYPE_OXM) r.fail('type', `unsupported match type ${type} (only OFPMT_OXM=1)`, start);
    const length = r.u16('length');
    if (length < 4) r.fail('length', `match length ${length} < 4`, start + 2);
    const body = r.sub(length - 4, 'oxm_fields');
    const fields: OxmField[] = [];
    while (!body.atEnd()) {
      try {
        fields.push(readOxm(body));
      } catch (e) {
        rethrowWithPrefix(e, `oxm[${fields.length}].`);
      }
    }
    const padLen = ((length + 7) & ~7) - length;
    if (padLen > 0) r.skip(padLen, 'pad');
    return { fields };
  } catch (e) {
    rethrowWithPrefix(e, `${field}.`);
  }
}

/** Encode an ofp_match (type OXM) and its padding to a multiple of 8 bytes. */
export function encodeMatch(w: Writer, m: Match): void {
  const start = w.length;
  w.u16(MATCH_TYPE_OXM);
  const lenAt = w.reserveU16();
  const fields = m.fields;
  for (let i = 0; i < fields.length; i++) encodeOxmField(w, fields[i]!);
  const length = w.length - start;
  if (length > 0xffff) throw new RangeError(`match too long (${length} bytes)`);
  w.patchU16(lenAt, length);
  pad(w, ((length + 7) & ~7) - length);
}

/** Encoded size of an ofp_match including padding. */
export function matchLength(m: Match): number {
  let n = 4;
  for (const f of m.fields) n += oxmFieldLength(f);
  return (n + 7) & ~7;
}

// ---------------------------------------------------------------- OXM ids (table features)

/** Decode a list of OXM headers (ofp_oxm_header, 8 bytes for experimenter class) until the reader's end. */
export function decodeOxmIds(r: Reader, field: string): OxmId[] {
  const ids: OxmId[] = [];
  while (!r.atEnd()) {
    try {
      const header = r.u32('header');
      const oxmClass = header >>> 16;
      const id: OxmId = {
        oxmClass,
        oxmField: (header >>> 9) & 0x7f,
        hasMask: (header & 0x100) !== 0,
        length: header & 0xff,
      };
      if (oxmClass === OXM_CLASS_EXPERIMENTER) id.experimenter = r.u32('experimenter');
      ids.push(id);
    } catch (e) {
      rethrowWithPrefix(e, `${field}[${ids.length}].`);
    }
  }
  return ids;
}

/** Encode a list of OXM headers. */
export function encodeOxmIds(w: Writer, ids: readonly OxmId[]): void {
  for (const id of ids) {
    w.u16(id.oxmClass);
    w.u8(((id.oxmField & 0x7f) << 1) | (id.hasMask ? 1 : 0));
    w.u8(id.length);
    if (id.oxmClass === OXM_CLASS_EXPERIMENTER) w.u32(id.experimenter ?? 0);
  }
}
