// Multipart (OFPT_MULTIPART_REQUEST / OFPT_MULTIPART_REPLY) bodies.
//
// messages.ts reads and writes the 8-byte multipart header (type, flags, 4 pad) and hands us a Reader
// over the body (everything after that header) or the Writer to append the body to. Every list entry
// with its own length field (flow stats, group stats, meter stats, table features, ...) is decoded in
// a bounded sub-reader, so a bad inner length can never make a decoder read past its entry.
//
// Bodies of a fixed size must have exactly that size: trailing bytes would not survive a re-encode,
// so they are reported as a decode error instead of being dropped silently.

import { decodeActionIds, encodeActionIds } from './actions.ts';
import { decodeBuckets, decodeMeterBands, encodeBuckets, encodeMeterBands } from './buckets.ts';
import type { Reader, Writer } from './buffer.ts';
import { MultipartType } from './constants.ts';
import {
  decodeInstructionIds,
  decodeInstructions,
  encodeInstructionIds,
  encodeInstructions,
} from './instructions.ts';
import { decodeMatch, decodeOxmIds, encodeMatch, encodeOxmIds } from './oxm.ts';
import { decodePort, encodePort } from './ports.ts';
import type {
  FlowStats,
  FlowStatsRequestBody,
  GroupDesc,
  GroupStats,
  MeterConfig,
  MeterStats,
  MultipartKind,
  MultipartReplyBody,
  MultipartRequestBody,
  PortStats,
  QueueStats,
  TableFeatureProperty,
  TableFeatures,
  TableStats,
} from './types.ts';

// ---------------------------------------------------------------- kinds and wire numbers

/** Wire multipart type of each body kind (except `unknown`, which carries its own number). */
export const MULTIPART_TYPE_OF_KIND: Record<Exclude<MultipartKind, 'unknown'>, number> = {
  desc: MultipartType.DESC,
  flow: MultipartType.FLOW,
  aggregate: MultipartType.AGGREGATE,
  table: MultipartType.TABLE,
  portStats: MultipartType.PORT_STATS,
  queue: MultipartType.QUEUE,
  group: MultipartType.GROUP,
  groupDesc: MultipartType.GROUP_DESC,
  groupFeatures: MultipartType.GROUP_FEATURES,
  meter: MultipartType.METER,
  meterConfig: MultipartType.METER_CONFIG,
  meterFeatures: MultipartType.METER_FEATURES,
  tableFeatures: MultipartType.TABLE_FEATURES,
  portDesc: MultipartType.PORT_DESC,
  experimenter: MultipartType.EXPERIMENTER,
};

/** Body kind for a wire multipart type (undefined for types this codec does not know). */
export function multipartKindOf(mpType: number): Exclude<MultipartKind, 'unknown'> | undefined {
  for (const [kind, t] of Object.entries(MULTIPART_TYPE_OF_KIND)) {
    if (t === mpType) return kind as Exclude<MultipartKind, 'unknown'>;
  }
  return undefined;
}

/** The list field of each reply body kind that is a list of entries. */
const LIST_FIELD = {
  flow: 'stats',
  table: 'stats',
  portStats: 'stats',
  queue: 'stats',
  group: 'stats',
  groupDesc: 'groups',
  meter: 'stats',
  meterConfig: 'configs',
  tableFeatures: 'features',
  portDesc: 'ports',
} as const satisfies Partial<Record<MultipartKind, string>>;

type ListKind = keyof typeof LIST_FIELD;

/**
 * True when the reply body of this kind is a list of entries that a switch may split over several
 * replies with the MORE flag (flow, table, portStats, queue, group, groupDesc, meter, meterConfig,
 * tableFeatures, portDesc).
 */
export function isMultipartList(kind: MultipartKind): boolean {
  return Object.hasOwn(LIST_FIELD, kind);
}

// ---------------------------------------------------------------- helpers

const DESC_STR_LEN = 256;
const SERIAL_NUM_LEN = 32;
const MAX_TABLE_NAME_LEN = 32;
/** Size of one pair of u64 counters (group bucket stats, meter band stats). */
const COUNTER_PAIR = 16;

function expectEnd(r: Reader, field: string): void {
  if (!r.atEnd()) r.fail(field, `${r.remaining} unexpected trailing byte(s) after a fixed-size body`);
}

/** Peek an entry's u16 length at `relative`, check it against `min`, return a reader over the entry. */
function entry(r: Reader, lengthAt: number, min: number, field: string, lengthName = 'length'): Reader {
  const f = `${field}.${lengthName}`;
  const len = r.peekU16(lengthAt, f);
  const at = r.offset + lengthAt;
  if (len < min) r.fail(f, `length ${len} is below the minimum ${min}`, at);
  if (len > r.remaining) r.fail(f, `length ${len} exceeds the ${r.remaining} byte(s) left`, at);
  return r.sub(len, field);
}

function checkU16Length(len: number, what: string): number {
  if (len > 0xffff) throw new RangeError(`${what} is ${len} bytes long, more than a 16-bit length allows`);
  return len;
}

/** Write an entry that starts with its own u16 length: reserve it, write the rest, patch it in. */
function withU16Length(w: Writer, what: string, body: () => void): void {
  const start = w.length;
  const lenAt = w.reserveU16();
  body();
  w.patchU16(lenAt, checkU16Length(w.length - start, what));
}

/** Check an entry's u16 length `len` (just read) is `fixed` + a whole number of counter pairs. */
function checkCounterPairs(e: Reader, len: number, fixed: number, field: string): void {
  if ((len - fixed) % COUNTER_PAIR !== 0) {
    e.fail(field, `length ${len} is not ${fixed} + a multiple of 16`, e.offset - 2);
  }
}

/** Decode the rest of an entry as 16-byte pairs of u64 counters named `a` and `b`. */
function counterPairs<A extends string, B extends string>(
  e: Reader,
  field: string,
  a: A,
  b: B,
): Array<Record<A | B, bigint>> {
  const out: Array<Record<A | B, bigint>> = [];
  for (let i = 0; !e.atEnd(); i++) {
    const f = `${field}[${i}]`;
    out.push({ [a]: e.u64(`${f}.${a}`), [b]: e.u64(`${f}.${b}`) } as Record<A | B, bigint>);
  }
  return out;
}

interface ExperimenterBody {
  experimenter: number;
  expType: number;
  data: Uint8Array;
}

/** Experimenter id, experimenter type and the rest as data (request, reply and table-feature bodies). */
function decodeExperimenterBody(r: Reader, field: string): ExperimenterBody {
  const experimenter = r.u32(`${field}.experimenter`);
  const expType = r.u32(`${field}.expType`);
  return { experimenter, expType, data: r.rest() };
}

function encodeExperimenterBody(w: Writer, b: ExperimenterBody): void {
  w.u32(b.experimenter).u32(b.expType).bytes(b.data);
}

/** A request or reply body that is an experimenter's or of a type this codec does not know. */
type ExtensionBody =
  | ({ kind: 'experimenter' } & ExperimenterBody)
  | { kind: 'unknown'; multipartType: number; data: Uint8Array };

function decodeExtensionBody(r: Reader, mpType: number, field: string): ExtensionBody {
  if (mpType === MultipartType.EXPERIMENTER)
    return { kind: 'experimenter', ...decodeExperimenterBody(r, field) };
  return { kind: 'unknown', multipartType: mpType, data: r.rest() };
}

/** Appends an extension body; returns its wire multipart type. */
function encodeExtensionBody(w: Writer, body: ExtensionBody): number {
  if (body.kind === 'unknown') {
    w.bytes(body.data);
    return body.multipartType;
  }
  encodeExperimenterBody(w, body);
  return MultipartType.EXPERIMENTER;
}

/** A u32 followed by 4 bytes of padding and nothing else (port stats, group and meter requests). */
function decodeU32Padded(r: Reader, field: string, name: string): number {
  const v = r.u32(`${field}.${name}`);
  r.skip(4, `${field}.pad`);
  expectEnd(r, field);
  return v;
}

function list<T>(r: Reader, field: string, one: (r: Reader, field: string) => T): T[] {
  const out: T[] = [];
  for (let i = 0; !r.atEnd(); i++) out.push(one(r, `${field}[${i}]`));
  return out;
}

// ---------------------------------------------------------------- requests

function decodeFlowStatsRequest(r: Reader, field: string): FlowStatsRequestBody {
  const tableId = r.u8(`${field}.tableId`);
  r.skip(3, `${field}.pad`);
  const outPort = r.u32(`${field}.outPort`);
  const outGroup = r.u32(`${field}.outGroup`);
  r.skip(4, `${field}.pad2`);
  const cookie = r.u64(`${field}.cookie`);
  const cookieMask = r.u64(`${field}.cookieMask`);
  const match = decodeMatch(r, `${field}.match`);
  expectEnd(r, field);
  return { tableId, outPort, outGroup, cookie, cookieMask, match };
}

function encodeFlowStatsRequest(w: Writer, b: FlowStatsRequestBody): void {
  w.u8(b.tableId).zeros(3).u32(b.outPort).u32(b.outGroup).zeros(4).u64(b.cookie).u64(b.cookieMask);
  encodeMatch(w, b.match);
}

/** Decode a multipart request body (the bytes after the 8-byte multipart header). */
export function decodeMultipartRequestBody(r: Reader, mpType: number): MultipartRequestBody {
  const f = 'body';
  switch (mpType) {
    case MultipartType.DESC:
      expectEnd(r, f);
      return { kind: 'desc' };
    case MultipartType.FLOW:
      return { kind: 'flow', ...decodeFlowStatsRequest(r, f) };
    case MultipartType.AGGREGATE:
      return { kind: 'aggregate', ...decodeFlowStatsRequest(r, f) };
    case MultipartType.TABLE:
      expectEnd(r, f);
      return { kind: 'table' };
    case MultipartType.PORT_STATS:
      return { kind: 'portStats', portNo: decodeU32Padded(r, f, 'portNo') };
    case MultipartType.QUEUE: {
      const portNo = r.u32(`${f}.portNo`);
      const queueId = r.u32(`${f}.queueId`);
      expectEnd(r, f);
      return { kind: 'queue', portNo, queueId };
    }
    case MultipartType.GROUP:
      return { kind: 'group', groupId: decodeU32Padded(r, f, 'groupId') };
    case MultipartType.GROUP_DESC:
      expectEnd(r, f);
      return { kind: 'groupDesc' };
    case MultipartType.GROUP_FEATURES:
      expectEnd(r, f);
      return { kind: 'groupFeatures' };
    case MultipartType.METER:
    case MultipartType.METER_CONFIG: {
      const meterId = decodeU32Padded(r, f, 'meterId');
      return { kind: mpType === MultipartType.METER ? 'meter' : 'meterConfig', meterId };
    }
    case MultipartType.METER_FEATURES:
      expectEnd(r, f);
      return { kind: 'meterFeatures' };
    case MultipartType.TABLE_FEATURES:
      return { kind: 'tableFeatures', features: list(r, `${f}.features`, decodeTableFeatures) };
    case MultipartType.PORT_DESC:
      expectEnd(r, f);
      return { kind: 'portDesc' };
    default:
      return decodeExtensionBody(r, mpType, f);
  }
}

/** Append a multipart request body; returns the wire multipart type for the header. */
export function encodeMultipartRequestBody(w: Writer, body: MultipartRequestBody): number {
  switch (body.kind) {
    case 'desc':
    case 'table':
    case 'groupDesc':
    case 'groupFeatures':
    case 'meterFeatures':
    case 'portDesc':
      return MULTIPART_TYPE_OF_KIND[body.kind];
    case 'flow':
    case 'aggregate':
      encodeFlowStatsRequest(w, body);
      return MULTIPART_TYPE_OF_KIND[body.kind];
    case 'portStats':
      w.u32(body.portNo).zeros(4);
      return MultipartType.PORT_STATS;
    case 'queue':
      w.u32(body.portNo).u32(body.queueId);
      return MultipartType.QUEUE;
    case 'group':
      w.u32(body.groupId).zeros(4);
      return MultipartType.GROUP;
    case 'meter':
    case 'meterConfig':
      w.u32(body.meterId).zeros(4);
      return MULTIPART_TYPE_OF_KIND[body.kind];
    case 'tableFeatures':
      for (const t of body.features) encodeTableFeatures(w, t);
      return MultipartType.TABLE_FEATURES;
    case 'experimenter':
    case 'unknown':
      return encodeExtensionBody(w, body);
  }
}

// ---------------------------------------------------------------- replies

const FLOW_STATS_FIXED = 48;

function decodeFlowStats(r: Reader, field: string): FlowStats {
  const e = entry(r, 0, FLOW_STATS_FIXED + 8, field);
  e.skip(2, `${field}.length`);
  const tableId = e.u8(`${field}.tableId`);
  e.skip(1, `${field}.pad`);
  const durationSec = e.u32(`${field}.durationSec`);
  const durationNsec = e.u32(`${field}.durationNsec`);
  const priority = e.u16(`${field}.priority`);
  const idleTimeout = e.u16(`${field}.idleTimeout`);
  const hardTimeout = e.u16(`${field}.hardTimeout`);
  const flags = e.u16(`${field}.flags`);
  e.skip(4, `${field}.pad2`);
  const cookie = e.u64(`${field}.cookie`);
  const packetCount = e.u64(`${field}.packetCount`);
  const byteCount = e.u64(`${field}.byteCount`);
  const match = decodeMatch(e, `${field}.match`);
  const instructions = decodeInstructions(e, `${field}.instructions`);
  return {
    tableId,
    durationSec,
    durationNsec,
    priority,
    idleTimeout,
    hardTimeout,
    flags,
    cookie,
    packetCount,
    byteCount,
    match,
    instructions,
  };
}

function encodeFlowStats(w: Writer, s: FlowStats): void {
  withU16Length(w, 'a flow stats entry', () => {
    w.u8(s.tableId).zeros(1).u32(s.durationSec).u32(s.durationNsec);
    w.u16(s.priority).u16(s.idleTimeout).u16(s.hardTimeout).u16(s.flags).zeros(4);
    w.u64(s.cookie).u64(s.packetCount).u64(s.byteCount);
    encodeMatch(w, s.match);
    encodeInstructions(w, s.instructions);
  });
}

function decodeTableStats(r: Reader, field: string): TableStats {
  const tableId = r.u8(`${field}.tableId`);
  r.skip(3, `${field}.pad`);
  const activeCount = r.u32(`${field}.activeCount`);
  const lookupCount = r.u64(`${field}.lookupCount`);
  const matchedCount = r.u64(`${field}.matchedCount`);
  return { tableId, activeCount, lookupCount, matchedCount };
}

const PORT_STATS_COUNTERS = [
  'rxPackets',
  'txPackets',
  'rxBytes',
  'txBytes',
  'rxDropped',
  'txDropped',
  'rxErrors',
  'txErrors',
  'rxFrameErr',
  'rxOverErr',
  'rxCrcErr',
  'collisions',
] as const;

function decodePortStats(r: Reader, field: string): PortStats {
  const portNo = r.u32(`${field}.portNo`);
  r.skip(4, `${field}.pad`);
  const c: Partial<Record<(typeof PORT_STATS_COUNTERS)[number], bigint>> = {};
  for (const k of PORT_STATS_COUNTERS) c[k] = r.u64(`${field}.${k}`);
  const durationSec = r.u32(`${field}.durationSec`);
  const durationNsec = r.u32(`${field}.durationNsec`);
  return {
    portNo,
    ...(c as Record<(typeof PORT_STATS_COUNTERS)[number], bigint>),
    durationSec,
    durationNsec,
  };
}

function encodePortStats(w: Writer, s: PortStats): void {
  w.u32(s.portNo).zeros(4);
  for (const k of PORT_STATS_COUNTERS) w.u64(s[k]);
  w.u32(s.durationSec).u32(s.durationNsec);
}

function decodeQueueStats(r: Reader, field: string): QueueStats {
  return {
    portNo: r.u32(`${field}.portNo`),
    queueId: r.u32(`${field}.queueId`),
    txBytes: r.u64(`${field}.txBytes`),
    txPackets: r.u64(`${field}.txPackets`),
    txErrors: r.u64(`${field}.txErrors`),
    durationSec: r.u32(`${field}.durationSec`),
    durationNsec: r.u32(`${field}.durationNsec`),
  };
}

const GROUP_STATS_FIXED = 40;

function decodeGroupStats(r: Reader, field: string): GroupStats {
  const e = entry(r, 0, GROUP_STATS_FIXED, field);
  checkCounterPairs(e, e.u16(`${field}.length`), GROUP_STATS_FIXED, `${field}.length`);
  e.skip(2, `${field}.pad`);
  const groupId = e.u32(`${field}.groupId`);
  const refCount = e.u32(`${field}.refCount`);
  e.skip(4, `${field}.pad2`);
  const packetCount = e.u64(`${field}.packetCount`);
  const byteCount = e.u64(`${field}.byteCount`);
  const durationSec = e.u32(`${field}.durationSec`);
  const durationNsec = e.u32(`${field}.durationNsec`);
  const bucketStats = counterPairs(e, `${field}.bucketStats`, 'packetCount', 'byteCount');
  return { groupId, refCount, packetCount, byteCount, durationSec, durationNsec, bucketStats };
}

function encodeGroupStats(w: Writer, s: GroupStats): void {
  const len = checkU16Length(GROUP_STATS_FIXED + COUNTER_PAIR * s.bucketStats.length, 'a group stats entry');
  w.u16(len).zeros(2).u32(s.groupId).u32(s.refCount).zeros(4);
  w.u64(s.packetCount).u64(s.byteCount).u32(s.durationSec).u32(s.durationNsec);
  for (const b of s.bucketStats) w.u64(b.packetCount).u64(b.byteCount);
}

const GROUP_DESC_FIXED = 8;

function decodeGroupDesc(r: Reader, field: string): GroupDesc {
  const e = entry(r, 0, GROUP_DESC_FIXED, field);
  e.skip(2, `${field}.length`);
  const groupType = e.u8(`${field}.groupType`);
  e.skip(1, `${field}.pad`);
  const groupId = e.u32(`${field}.groupId`);
  const buckets = decodeBuckets(e, `${field}.buckets`);
  return { groupType, groupId, buckets };
}

function encodeGroupDesc(w: Writer, g: GroupDesc): void {
  withU16Length(w, 'a group desc entry', () => {
    w.u8(g.groupType).zeros(1).u32(g.groupId);
    encodeBuckets(w, g.buckets);
  });
}

const METER_STATS_FIXED = 40;

function decodeMeterStats(r: Reader, field: string): MeterStats {
  // ofp_meter_stats has its length after the 4-byte meter id.
  const e = entry(r, 4, METER_STATS_FIXED, field, 'len');
  const meterId = e.u32(`${field}.meterId`);
  checkCounterPairs(e, e.u16(`${field}.len`), METER_STATS_FIXED, `${field}.len`);
  e.skip(6, `${field}.pad`);
  const flowCount = e.u32(`${field}.flowCount`);
  const packetInCount = e.u64(`${field}.packetInCount`);
  const byteInCount = e.u64(`${field}.byteInCount`);
  const durationSec = e.u32(`${field}.durationSec`);
  const durationNsec = e.u32(`${field}.durationNsec`);
  const bandStats = counterPairs(e, `${field}.bandStats`, 'packetBandCount', 'byteBandCount');
  return { meterId, flowCount, packetInCount, byteInCount, durationSec, durationNsec, bandStats };
}

function encodeMeterStats(w: Writer, s: MeterStats): void {
  const len = checkU16Length(METER_STATS_FIXED + COUNTER_PAIR * s.bandStats.length, 'a meter stats entry');
  w.u32(s.meterId).u16(len).zeros(6).u32(s.flowCount);
  w.u64(s.packetInCount).u64(s.byteInCount).u32(s.durationSec).u32(s.durationNsec);
  for (const b of s.bandStats) w.u64(b.packetBandCount).u64(b.byteBandCount);
}

const METER_CONFIG_FIXED = 8;

function decodeMeterConfig(r: Reader, field: string): MeterConfig {
  const e = entry(r, 0, METER_CONFIG_FIXED, field);
  e.skip(2, `${field}.length`);
  const flags = e.u16(`${field}.flags`);
  const meterId = e.u32(`${field}.meterId`);
  const bands = decodeMeterBands(e, `${field}.bands`);
  return { flags, meterId, bands };
}

function encodeMeterConfig(w: Writer, c: MeterConfig): void {
  withU16Length(w, 'a meter config entry', () => {
    w.u16(c.flags).u32(c.meterId);
    encodeMeterBands(w, c.bands);
  });
}

// ---------------------------------------------------------------- table features

const TABLE_FEATURES_FIXED = 64;

/** Table-feature property types (ofp_table_feature_prop_type). */
export const TableFeaturePropType = {
  instructions: 0,
  instructionsMiss: 1,
  nextTables: 2,
  nextTablesMiss: 3,
  writeActions: 4,
  writeActionsMiss: 5,
  applyActions: 6,
  applyActionsMiss: 7,
  match: 8,
  wildcards: 10,
  writeSetfield: 12,
  writeSetfieldMiss: 13,
  applySetfield: 14,
  applySetfieldMiss: 15,
  experimenter: 0xfffe,
  experimenterMiss: 0xffff,
} as const;

type KnownPropName = keyof typeof TableFeaturePropType;
const PROP_NAME_OF_TYPE = new Map<number, KnownPropName>(
  Object.entries(TableFeaturePropType).map(([k, v]) => [v, k as KnownPropName]),
);

function decodeTableFeatureProperty(r: Reader, field: string): TableFeatureProperty {
  const type = r.peekU16(0, `${field}.type`);
  const p = entry(r, 2, 4, field);
  const padding = (8 - (p.remaining % 8)) % 8;
  // The last property of a table may omit its padding only if the table's length says so: be strict.
  r.skip(padding, `${field}.padding`);
  p.skip(4, `${field}.header`);
  const name = PROP_NAME_OF_TYPE.get(type);
  switch (name) {
    case 'instructions':
    case 'instructionsMiss':
      return { type: name, ids: decodeInstructionIds(p, `${field}.ids`) };
    case 'nextTables':
    case 'nextTablesMiss': {
      const tableIds: number[] = [];
      for (let i = 0; !p.atEnd(); i++) tableIds.push(p.u8(`${field}.tableIds[${i}]`));
      return { type: name, tableIds };
    }
    case 'writeActions':
    case 'writeActionsMiss':
    case 'applyActions':
    case 'applyActionsMiss':
      return { type: name, ids: decodeActionIds(p, `${field}.ids`) };
    case 'match':
    case 'wildcards':
    case 'writeSetfield':
    case 'writeSetfieldMiss':
    case 'applySetfield':
    case 'applySetfieldMiss':
      return { type: name, oxmIds: decodeOxmIds(p, `${field}.oxmIds`) };
    case 'experimenter':
    case 'experimenterMiss':
      return { type: name, ...decodeExperimenterBody(p, field) };
    default:
      return { type: 'unknown', propertyType: type, data: p.rest() };
  }
}

function encodeTableFeatureProperty(w: Writer, p: TableFeatureProperty): void {
  const start = w.length;
  w.u16(p.type === 'unknown' ? p.propertyType : TableFeaturePropType[p.type]);
  const lenAt = w.reserveU16();
  switch (p.type) {
    case 'instructions':
    case 'instructionsMiss':
      encodeInstructionIds(w, p.ids);
      break;
    case 'nextTables':
    case 'nextTablesMiss':
      for (const t of p.tableIds) w.u8(t);
      break;
    case 'writeActions':
    case 'writeActionsMiss':
    case 'applyActions':
    case 'applyActionsMiss':
      encodeActionIds(w, p.ids);
      break;
    case 'match':
    case 'wildcards':
    case 'writeSetfield':
    case 'writeSetfieldMiss':
    case 'applySetfield':
    case 'applySetfieldMiss':
      encodeOxmIds(w, p.oxmIds);
      break;
    case 'experimenter':
    case 'experimenterMiss':
      encodeExperimenterBody(w, p);
      break;
    case 'unknown':
      w.bytes(p.data);
      break;
  }
  const len = checkU16Length(w.length - start, 'a table feature property');
  w.patchU16(lenAt, len);
  w.zeros((8 - (len % 8)) % 8);
}

function decodeTableFeatures(r: Reader, field: string): TableFeatures {
  const e = entry(r, 0, TABLE_FEATURES_FIXED, field);
  e.skip(2, `${field}.length`);
  const tableId = e.u8(`${field}.tableId`);
  e.skip(5, `${field}.pad`);
  const name = e.fixedString(MAX_TABLE_NAME_LEN, `${field}.name`);
  const metadataMatch = e.u64(`${field}.metadataMatch`);
  const metadataWrite = e.u64(`${field}.metadataWrite`);
  const config = e.u32(`${field}.config`);
  const maxEntries = e.u32(`${field}.maxEntries`);
  const properties: TableFeatureProperty[] = [];
  for (let i = 0; !e.atEnd(); i++)
    properties.push(decodeTableFeatureProperty(e, `${field}.properties[${i}]`));
  return { tableId, name, metadataMatch, metadataWrite, config, maxEntries, properties };
}

function encodeTableFeatures(w: Writer, t: TableFeatures): void {
  withU16Length(w, 'a table features entry', () => {
    w.u8(t.tableId).zeros(5).fixedString(t.name, MAX_TABLE_NAME_LEN);
    w.u64(t.metadataMatch).u64(t.metadataWrite).u32(t.config).u32(t.maxEntries);
    for (const p of t.properties) encodeTableFeatureProperty(w, p);
  });
}

// ---------------------------------------------------------------- reply bodies

/** Decode a multipart reply body (the bytes after the 8-byte multipart header). */
export function decodeMultipartReplyBody(r: Reader, mpType: number): MultipartReplyBody {
  const f = 'body';
  switch (mpType) {
    case MultipartType.DESC: {
      const body: MultipartReplyBody = {
        kind: 'desc',
        mfrDesc: r.fixedString(DESC_STR_LEN, `${f}.mfrDesc`),
        hwDesc: r.fixedString(DESC_STR_LEN, `${f}.hwDesc`),
        swDesc: r.fixedString(DESC_STR_LEN, `${f}.swDesc`),
        serialNum: r.fixedString(SERIAL_NUM_LEN, `${f}.serialNum`),
        dpDesc: r.fixedString(DESC_STR_LEN, `${f}.dpDesc`),
      };
      expectEnd(r, f);
      return body;
    }
    case MultipartType.FLOW:
      return { kind: 'flow', stats: list(r, `${f}.stats`, decodeFlowStats) };
    case MultipartType.AGGREGATE: {
      const packetCount = r.u64(`${f}.packetCount`);
      const byteCount = r.u64(`${f}.byteCount`);
      const flowCount = r.u32(`${f}.flowCount`);
      r.skip(4, `${f}.pad`);
      expectEnd(r, f);
      return { kind: 'aggregate', packetCount, byteCount, flowCount };
    }
    case MultipartType.TABLE:
      return { kind: 'table', stats: list(r, `${f}.stats`, decodeTableStats) };
    case MultipartType.PORT_STATS:
      return { kind: 'portStats', stats: list(r, `${f}.stats`, decodePortStats) };
    case MultipartType.QUEUE:
      return { kind: 'queue', stats: list(r, `${f}.stats`, decodeQueueStats) };
    case MultipartType.GROUP:
      return { kind: 'group', stats: list(r, `${f}.stats`, decodeGroupStats) };
    case MultipartType.GROUP_DESC:
      return { kind: 'groupDesc', groups: list(r, `${f}.groups`, decodeGroupDesc) };
    case MultipartType.GROUP_FEATURES: {
      const types = r.u32(`${f}.types`);
      const capabilities = r.u32(`${f}.capabilities`);
      const four = (name: string): [number, number, number, number] => [
        r.u32(`${f}.${name}[0]`),
        r.u32(`${f}.${name}[1]`),
        r.u32(`${f}.${name}[2]`),
        r.u32(`${f}.${name}[3]`),
      ];
      const maxGroups = four('maxGroups');
      const actions = four('actions');
      expectEnd(r, f);
      return { kind: 'groupFeatures', types, capabilities, maxGroups, actions };
    }
    case MultipartType.METER:
      return { kind: 'meter', stats: list(r, `${f}.stats`, decodeMeterStats) };
    case MultipartType.METER_CONFIG:
      return { kind: 'meterConfig', configs: list(r, `${f}.configs`, decodeMeterConfig) };
    case MultipartType.METER_FEATURES: {
      const maxMeter = r.u32(`${f}.maxMeter`);
      const bandTypes = r.u32(`${f}.bandTypes`);
      const capabilities = r.u32(`${f}.capabilities`);
      const maxBands = r.u8(`${f}.maxBands`);
      const maxColor = r.u8(`${f}.maxColor`);
      r.skip(2, `${f}.pad`);
      expectEnd(r, f);
      return { kind: 'meterFeatures', maxMeter, bandTypes, capabilities, maxBands, maxColor };
    }
    case MultipartType.TABLE_FEATURES:
      return { kind: 'tableFeatures', features: list(r, `${f}.features`, decodeTableFeatures) };
    case MultipartType.PORT_DESC:
      return { kind: 'portDesc', ports: list(r, `${f}.ports`, decodePort) };
    default:
      return decodeExtensionBody(r, mpType, f);
  }
}

/** Append a multipart reply body; returns the wire multipart type for the header. */
export function encodeMultipartReplyBody(w: Writer, body: MultipartReplyBody): number {
  switch (body.kind) {
    case 'desc':
      w.fixedString(body.mfrDesc, DESC_STR_LEN).fixedString(body.hwDesc, DESC_STR_LEN);
      w.fixedString(body.swDesc, DESC_STR_LEN).fixedString(body.serialNum, SERIAL_NUM_LEN);
      w.fixedString(body.dpDesc, DESC_STR_LEN);
      return MultipartType.DESC;
    case 'flow':
      for (const s of body.stats) encodeFlowStats(w, s);
      return MultipartType.FLOW;
    case 'aggregate':
      w.u64(body.packetCount).u64(body.byteCount).u32(body.flowCount).zeros(4);
      return MultipartType.AGGREGATE;
    case 'table':
      for (const s of body.stats) {
        w.u8(s.tableId).zeros(3).u32(s.activeCount).u64(s.lookupCount).u64(s.matchedCount);
      }
      return MultipartType.TABLE;
    case 'portStats':
      for (const s of body.stats) encodePortStats(w, s);
      return MultipartType.PORT_STATS;
    case 'queue':
      for (const s of body.stats) {
        w.u32(s.portNo).u32(s.queueId).u64(s.txBytes).u64(s.txPackets).u64(s.txErrors);
        w.u32(s.durationSec).u32(s.durationNsec);
      }
      return MultipartType.QUEUE;
    case 'group':
      for (const s of body.stats) encodeGroupStats(w, s);
      return MultipartType.GROUP;
    case 'groupDesc':
      for (const g of body.groups) encodeGroupDesc(w, g);
      return MultipartType.GROUP_DESC;
    case 'groupFeatures':
      w.u32(body.types).u32(body.capabilities);
      for (const v of body.maxGroups) w.u32(v);
      for (const v of body.actions) w.u32(v);
      return MultipartType.GROUP_FEATURES;
    case 'meter':
      for (const s of body.stats) encodeMeterStats(w, s);
      return MultipartType.METER;
    case 'meterConfig':
      for (const c of body.configs) encodeMeterConfig(w, c);
      return MultipartType.METER_CONFIG;
    case 'meterFeatures':
      w.u32(body.maxMeter).u32(body.bandTypes).u32(body.capabilities);
      w.u8(body.maxBands).u8(body.maxColor).zeros(2);
      return MultipartType.METER_FEATURES;
    case 'tableFeatures':
      for (const t of body.features) encodeTableFeatures(w, t);
      return MultipartType.TABLE_FEATURES;
    case 'portDesc':
      for (const p of body.ports) encodePort(w, p);
      return MultipartType.PORT_DESC;
    case 'experimenter':
    case 'unknown':
      return encodeExtensionBody(w, body);
  }
}

// ---------------------------------------------------------------- reassembly

function concatBytes(chunks: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}

/**
 * Join the bodies of one multipart reply that the switch split over several messages (all but the last
 * carry the MORE flag). List bodies are concatenated in order; experimenter and unknown bodies have
 * their data concatenated (their experimenter/type must agree). A body that is not a list (desc,
 * aggregate, groupFeatures, meterFeatures) cannot be split: more than one part is an error.
 * Throws a TypeError on an empty input or parts of different kinds.
 */
export function mergeMultipartReplies(parts: MultipartReplyBody[]): MultipartReplyBody {
  const first = parts[0];
  if (!first) throw new TypeError('mergeMultipartReplies: no parts');
  if (parts.length === 1) return first;
  for (const p of parts) {
    if (p.kind !== first.kind) {
      throw new TypeError(`mergeMultipartReplies: parts of different kinds (${first.kind}, ${p.kind})`);
    }
  }
  const all = <K extends MultipartReplyBody['kind']>(_k: K) =>
    parts as Extract<MultipartReplyBody, { kind: K }>[];
  if (isMultipartList(first.kind)) {
    const field = LIST_FIELD[first.kind as ListKind];
    const entries = (parts as unknown as Record<string, unknown[]>[]).flatMap((p) => p[field]!);
    return { kind: first.kind, [field]: entries } as MultipartReplyBody;
  }
  switch (first.kind) {
    case 'experimenter': {
      const ps = all('experimenter');
      for (const p of ps) {
        if (p.experimenter !== first.experimenter || p.expType !== first.expType) {
          throw new TypeError(
            'mergeMultipartReplies: experimenter parts with different experimenter/expType',
          );
        }
      }
      return { ...first, data: concatBytes(ps.map((p) => p.data)) };
    }
    case 'unknown': {
      const ps = all('unknown');
      for (const p of ps) {
        if (p.multipartType !== first.multipartType) {
          throw new TypeError('mergeMultipartReplies: unknown parts with different multipart types');
        }
      }
      return { ...first, data: concatBytes(ps.map((p) => p.data)) };
    }
    default:
      throw new TypeError(
        `mergeMultipartReplies: a ${first.kind} reply cannot be split over ${parts.length} parts`,
      );
  }
}
