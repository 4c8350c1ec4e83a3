// OXM match arithmetic for the shim: canonical identity keys, value/mask as bigints, the non-strict
// "covers" relation of flow-mods and stats requests, overlap (CHECK_OVERLAP) and field edits.

import { ipv4ToBytes, ipv6ToBytes, macToBytes } from '../openflow/buffer.ts';
import { OXM_FIELD_BY_NAME } from '../openflow/oxm.ts';
import type { Match, OxmField, OxmName } from '../openflow/types.ts';

/** A field's value and mask as unsigned integers of `bits` width (mask all-ones when unmasked). */
export interface FieldBits {
  value: bigint;
  mask: bigint;
  bits: number;
}

function bytesToBig(b: Uint8Array): bigint {
  let v = 0n;
  for (const x of b) v = (v << 8n) | BigInt(x);
  return v;
}

function textToBig(field: OxmName, text: string): bigint {
  const kind = OXM_FIELD_BY_NAME[field].kind;
  if (kind === 'mac') return bytesToBig(macToBytes(text));
  if (kind === 'ipv4') return bytesToBig(ipv4ToBytes(text));
  return bytesToBig(ipv6ToBytes(text));
}

function toBig(field: OxmName, v: number | bigint | string): bigint {
  if (typeof v === 'bigint') return v;
  if (typeof v === 'number') return BigInt(v >>> 0);
  return textToBig(field, v);
}

/** Value/mask of a basic-class field, normalised (value &= mask); undefined for unknown/experimenter TLVs. */
export function fieldBits(f: OxmField): FieldBits | undefined {
  if (f.field === 'unknown') return undefined;
  const bits = OXM_FIELD_BY_NAME[f.field].width * 8;
  const full = (1n << BigInt(bits)) - 1n;
  const mask = f.mask === undefined ? full : toBig(f.field, f.mask) & full;
  const value = toBig(f.field, f.value) & mask;
  return { value, mask, bits };
}

function hex(b: Uint8Array): string {
  return Buffer.from(b).toString('hex');
}

/** Canonical text of one field: name=value[/mask] in hex, mask omitted when full. */
export function fieldKey(f: OxmField): string {
  if (f.field === 'unknown')
    return `x${f.oxmClass.toString(16)}.${f.oxmField}${f.hasMask ? 'm' : ''}=${hex(f.data)}`;
  const b = fieldBits(f)!;
  const full = (1n << BigInt(b.bits)) - 1n;
  return b.mask === full
    ? `${f.field}=${b.value.toString(16)}`
    : `${f.field}=${b.value.toString(16)}/${b.mask.toString(16)}`;
}

/** Identity of a match independent of field order and of value bits outside the mask. */
export function matchKey(m: Match): string {
  return m.fields
    .filter((f) => !isWildcard(f))
    .map(fieldKey)
    .sort()
    .join(',');
}

/** A field with an all-zero mask matches everything. */
function isWildcard(f: OxmField): boolean {
  const b = fieldBits(f);
  return b !== undefined && b.mask === 0n;
}

export function sameMatch(a: Match, b: Match): boolean {
  return matchKey(a) === matchKey(b);
}

export function getField(m: Match, name: OxmName): OxmField | undefined {
  return m.fields.find((f) => f.field === name);
}

export function withoutFields(m: Match, names: readonly OxmName[]): Match {
  return { fields: m.fields.filter((f) => f.field === 'unknown' || !names.includes(f.field)) };
}

/**
 * Non-strict flow-mod/stats semantics: does `general` select a rule whose match is `specific`? True when
 * every field of `general` is constrained at least as tightly, and compatibly, by `specific`.
 */
export function matchCovers(general: Match, specific: Match): boolean {
  for (const g of general.fields) {
    if (isWildcard(g)) continue;
    if (g.field === 'unknown') {
      if (!specific.fields.some((s) => s.field === 'unknown' && fieldKey(s) === fieldKey(g))) return false;
      continue;
    }
    const s = specific.fields.find((x) => x.field === g.field);
    if (!s) return false;
    const gb = fieldBits(g)!;
    const sb = fieldBits(s)!;
    if ((sb.mask & gb.mask) !== gb.mask) return false;
    if ((sb.value & gb.mask) !== gb.value) return false;
  }
  return true;
}

/** Can one packet match both? (fields present in only one of them never exclude a packet). */
export function matchesOverlap(a: Match, b: Match): boolean {
  for (const fa of a.fields) {
    if (fa.field === 'unknown') continue;
    const fb = b.fields.find((x) => x.field === fa.field);
    if (!fb) continue;
    const x = fieldBits(fa)!;
    const y = fieldBits(fb)!;
    const common = x.mask & y.mask;
    if ((x.value & common) !== (y.value & common)) return false;
  }
  return true;
}

/** Does a concrete value (a packet's field) satisfy a match field? */
export function fieldAccepts(f: OxmField, packetValue: bigint): boolean {
  const b = fieldBits(f);
  if (!b) return false;
  return (packetValue & b.mask) === b.value;
}

/** The value of a numeric field (in_port, vlan_vid, ...), if present. */
export function numericField(m: Match, name: OxmName): number | undefined {
  const f = m.fields.find((x) => x.field === name);
  return f && f.field !== 'unknown' && typeof f.value === 'number' ? f.value >>> 0 : undefined;
}

/** Value and mask of a 64-bit field (metadata, tunnel_id), if present. */
export function bigField(
  m: Match,
  name: 'metadata' | 'tunnel_id',
): { value: bigint; mask?: bigint } | undefined {
  const f = m.fields.find((x) => x.field === name);
  if (!f || f.field === 'unknown' || typeof f.value !== 'bigint') return undefined;
  return typeof f.mask === 'bigint' ? { value: f.value, mask: f.mask } : { value: f.value };
}
