// The JSON form of OpenFlow messages: what `vnm decode --json` prints and `vnm encode` reads.
//
// It is the typed value of types.ts written as plain JSON, with the same keys:
// - bigint: identifiers and masks (cookie, cookieMask, datapathId, metadata, metadataMask, metadataMatch,
//   metadataWrite, generationId and the value/mask of the metadata and tunnel_id OXM fields) print as
//   "0x..." hex strings, counters as decimal strings. Input accepts either form (and plain JSON
//   numbers up to 2^53) anywhere a bigint is expected.
// - Uint8Array: a hex string ("" when empty).
// - everything else: plain JSON numbers, strings, booleans, arrays and objects.
//
// One schema describes every type and drives both directions, so the two cannot drift apart. Input is
// strict: an unknown key, a missing key, a wrong type or an out-of-range number is a JsonFormatError that
// names the JSON path (e.g. `$.instructions[0].actions[1].port`).

import { ipv4ToBytes, ipv6ToBytes, macToBytes } from './buffer.ts';
import { OXM_FIELDS, oxmFieldInfo } from './oxm.ts';
import type { OfMessage } from './types.ts';

export class JsonFormatError extends Error {
  override readonly name = 'JsonFormatError';
  constructor(
    /** Where in the JSON input, e.g. '$.match.fields[0].value'. */
    readonly path: string,
    readonly detail: string,
  ) {
    super(`${path}: ${detail}`);
  }
}

// ---------------------------------------------------------------- schema machinery

interface Schema {
  /** A short description for error messages ("an unsigned 16-bit integer"). */
  readonly desc: string;
  toJson(v: unknown): unknown;
  fromJson(j: unknown, path: string): unknown;
}

function fail(path: string, detail: string): never {
  throw new JsonFormatError(path, detail);
}

function show(j: unknown): string {
  if (j === undefined) return 'nothing';
  if (typeof j === 'string') return JSON.stringify(j.length > 40 ? `${j.slice(0, 40)}...` : j);
  if (Array.isArray(j)) return 'an array';
  if (j === null) return 'null';
  if (typeof j === 'object') return 'an object';
  return `${typeof j} ${String(j)}`;
}

function uint(bits: number): Schema {
  const max = 2 ** bits - 1;
  const desc = `an unsigned ${bits}-bit integer (0..${max})`;
  return {
    desc,
    toJson: (v) => v,
    fromJson(j, path) {
      if (typeof j !== 'number' || !Number.isInteger(j) || j < 0 || j > max)
        fail(path, `expected ${desc}, got ${show(j)}`);
      return j;
    },
  };
}

const U64_MAX = 0xffffffffffffffffn;

function parseBig(j: unknown, path: string, desc: string): bigint {
  let v: bigint | undefined;
  if (typeof j === 'string') {
    if (/^0[xX][0-9a-fA-F]{1,32}$/.test(j)) v = BigInt(j);
    else if (/^\d{1,20}$/.test(j)) v = BigInt(j);
  } else if (typeof j === 'number' && Number.isSafeInteger(j) && j >= 0) {
    v = BigInt(j);
  }
  if (v === undefined || v > U64_MAX) fail(path, `expected ${desc}, got ${show(j)}`);
  return v;
}

/** A 64-bit counter: printed as a decimal string. */
const bigDec: Schema = {
  desc: 'an unsigned 64-bit integer as a decimal or "0x" hex string',
  toJson: (v) => (v as bigint).toString(10),
  fromJson(j, path) {
    return parseBig(j, path, this.desc);
  },
};

/** A 64-bit identifier or mask: printed as a "0x" hex string. */
const bigHex: Schema = {
  desc: 'an unsigned 64-bit integer as a "0x" hex or decimal string',
  toJson: (v) => `0x${(v as bigint).toString(16)}`,
  fromJson(j, path) {
    return parseBig(j, path, this.desc);
  },
};

const str: Schema = {
  desc: 'a string',
  toJson: (v) => v,
  fromJson(j, path) {
    if (typeof j !== 'string') fail(path, `expected a string, got ${show(j)}`);
    return j;
  },
};

const bool: Schema = {
  desc: 'a boolean',
  toJson: (v) => v,
  fromJson(j, path) {
    if (typeof j !== 'boolean') fail(path, `expected true or false, got ${show(j)}`);
    return j;
  },
};

function address(desc: string, check: (s: string) => unknown): Schema {
  return {
    desc,
    toJson: (v) => v,
    fromJson(j, path) {
      if (typeof j !== 'string') fail(path, `expected ${desc}, got ${show(j)}`);
      try {
        check(j);
      } catch {
        fail(path, `expected ${desc}, got ${show(j)}`);
      }
      return j;
    },
  };
}

const mac = address('a MAC address "aa:bb:cc:dd:ee:ff"', macToBytes);
const ipv4 = address('an IPv4 address "10.0.0.1"', ipv4ToBytes);
const ipv6 = address('an IPv6 address "fe80::1"', ipv6ToBytes);

const bytes: Schema = {
  desc: 'a hex string of bytes',
  toJson: (v) =>
    Buffer.from((v as Uint8Array).buffer, (v as Uint8Array).byteOffset, (v as Uint8Array).length).toString(
      'hex',
    ),
  fromJson(j, path) {
    if (typeof j !== 'string') fail(path, `expected a hex string of bytes, got ${show(j)}`);
    if (!/^(?:[0-9a-fA-F]{2})*$/.test(j)) fail(path, `expected an even number of hex digits, got ${show(j)}`);
    return new Uint8Array(Buffer.from(j, 'hex'));
  },
};

function literal(value: string): Schema {
  return {
    desc: JSON.stringify(value),
    toJson: () => value,
    fromJson(j, path) {
      if (j !== value) fail(path, `expected ${JSON.stringify(value)}, got ${show(j)}`);
      return value;
    },
  };
}

function arr(item: Schema): Schema {
  return {
    desc: `an array of ${item.desc}`,
    toJson: (v) => (v as unknown[]).map((x) => item.toJson(x)),
    fromJson(j, path) {
      if (!Array.isArray(j)) fail(path, `expected an array, got ${show(j)}`);
      return j.map((x, i) => item.fromJson(x, `${path}[${i}]`));
    },
  };
}

function tuple(item: Schema, n: number): Schema {
  return {
    desc: `an array of ${n} ${item.desc}`,
    toJson: (v) => (v as unknown[]).map((x) => item.toJson(x)),
    fromJson(j, path) {
      if (!Array.isArray(j) || j.length !== n)
        fail(path, `expected an array of exactly ${n} items, got ${show(j)}`);
      return j.map((x, i) => item.fromJson(x, `${path}[${i}]`));
    },
  };
}

/** An optional key of an object. */
interface Opt {
  readonly optional: Schema;
}
const opt = (s: Schema): Opt => ({ optional: s });
type Fields = Record<string, Schema | Opt>;

function isOpt(f: Schema | Opt): f is Opt {
  return 'optional' in f;
}

function isPlainObject(j: unknown): j is Record<string, unknown> {
  return typeof j === 'object' && j !== null && !Array.isArray(j);
}

function obj(fields: Fields): Schema {
  const keys = Object.keys(fields);
  return {
    desc: 'an object',
    toJson(v) {
      const o = v as Record<string, unknown>;
      const out: Record<string, unknown> = {};
      for (const k of keys) {
        const f = fields[k]!;
        if (isOpt(f)) {
          if (o[k] !== undefined) out[k] = f.optional.toJson(o[k]);
        } else {
          out[k] = f.toJson(o[k]);
        }
      }
      return out;
    },
    fromJson(j, path) {
      if (!isPlainObject(j)) fail(path, `expected an object, got ${show(j)}`);
      for (const k of Object.keys(j)) {
        if (!Object.hasOwn(fields, k)) fail(`${path}.${k}`, `unknown key (expected ${keys.join(', ')})`);
      }
      const out: Record<string, unknown> = {};
      for (const k of keys) {
        const f = fields[k]!;
        if (isOpt(f)) {
          if (j[k] !== undefined) out[k] = f.optional.fromJson(j[k], `${path}.${k}`);
        } else {
          if (!Object.hasOwn(j, k)) fail(`${path}.${k}`, `missing (${f.desc})`);
          out[k] = f.fromJson(j[k], `${path}.${k}`);
        }
      }
      return out;
    },
  };
}

/** A union discriminated by the string in `tag`; each variant lists its other keys. */
function tagged(tag: string, variants: Record<string, Fields>): Schema {
  const names = Object.keys(variants);
  const schemas = new Map(names.map((n) => [n, obj({ [tag]: literal(n), ...variants[n]! })]));
  return {
    desc: `an object with "${tag}"`,
    toJson(v) {
      const t = (v as Record<string, unknown>)[tag];
      const s = typeof t === 'string' ? schemas.get(t) : undefined;
      if (!s) throw new TypeError(`messageToJson: unknown ${tag} ${String(t)}`);
      return s.toJson(v);
    },
    fromJson(j, path) {
      if (!isPlainObject(j)) fail(path, `expected an object, got ${show(j)}`);
      const t = j[tag];
      if (t === undefined) fail(`${path}.${tag}`, `missing (one of: ${names.join(', ')})`);
      const s = typeof t === 'string' ? schemas.get(t) : undefined;
      if (!s) fail(`${path}.${tag}`, `expected one of: ${names.join(', ')}; got ${show(t)}`);
      return s.fromJson(j, path);
    },
  };
}

/** A union whose variants share one set of keys, listed once for several tag values. */
function variants(names: readonly string[], fields: Fields): Record<string, Fields> {
  return Object.fromEntries(names.map((n) => [n, fields]));
}

const u8 = uint(8);
const u16 = uint(16);
const u32 = uint(32);

// ---------------------------------------------------------------- OXM

const OXM_NAMES = OXM_FIELDS.map((i) => i.name);

function oxmValueSchema(name: string): Schema {
  const info = oxmFieldInfo(name);
  if (!info) throw new Error(`json.ts: no OXM info for ${name}`);
  switch (info.kind) {
    case 'num':
      return uint(8 * info.width);
    case 'big':
      return bigHex;
    case 'mac':
      return mac;
    case 'ipv4':
      return ipv4;
    default:
      return ipv6;
  }
}

const oxmField = tagged('field', {
  ...Object.fromEntries(
    OXM_NAMES.map((n) => {
      const v = oxmValueSchema(n);
      return [n, { value: v, mask: opt(v) }];
    }),
  ),
  unknown: { oxmClass: u16, oxmField: uint(7), hasMask: bool, data: bytes },
});

const match = obj({ fields: arr(oxmField) });

const oxmId = obj({ oxmClass: u16, oxmField: uint(7), hasMask: bool, length: u8, experimenter: opt(u32) });

// ---------------------------------------------------------------- actions and instructions

const action = tagged('type', {
  output: { port: u32, maxLen: u16 },
  copyTtlOut: {},
  copyTtlIn: {},
  setMplsTtl: { ttl: u8 },
  decMplsTtl: {},
  pushVlan: { ethertype: u16 },
  popVlan: {},
  pushMpls: { ethertype: u16 },
  popMpls: { ethertype: u16 },
  setQueue: { queueId: u32 },
  group: { groupId: u32 },
  setNwTtl: { ttl: u8 },
  decNwTtl: {},
  setField: { field: oxmField },
  pushPbb: { ethertype: u16 },
  popPbb: {},
  experimenter: { experimenter: u32, data: bytes },
  unknown: { actionType: u16, data: bytes },
});
const actions = arr(action);

const actionId = obj({ actionType: u16, experimenter: opt(u32), data: opt(bytes) });

const instruction = tagged('type', {
  gotoTable: { tableId: u8 },
  writeMetadata: { metadata: bigHex, metadataMask: bigHex },
  writeActions: { actions },
  applyActions: { actions },
  clearActions: {},
  meter: { meterId: u32 },
  experimenter: { experimenter: u32, data: bytes },
  unknown: { instructionType: u16, data: bytes },
});

const instructionId = obj({ instructionType: u16, experimenter: opt(u32), data: opt(bytes) });

// ---------------------------------------------------------------- common structures

const port = obj({
  portNo: u32,
  hwAddr: mac,
  name: str,
  config: u32,
  state: u32,
  curr: u32,
  advertised: u32,
  supported: u32,
  peer: u32,
  currSpeed: u32,
  maxSpeed: u32,
});

const bucket = obj({ weight: u16, watchPort: u32, watchGroup: u32, actions });

const meterBand = tagged('type', {
  drop: { rate: u32, burstSize: u32 },
  dscpRemark: { rate: u32, burstSize: u32, precLevel: u8 },
  experimenter: { rate: u32, burstSize: u32, experimenter: u32, data: bytes },
  unknown: { bandType: u16, rate: u32, burstSize: u32, data: bytes },
});

const queueProperty = tagged('type', {
  minRate: { rate: u16 },
  maxRate: { rate: u16 },
  experimenter: { experimenter: u32, data: bytes },
  unknown: { propertyType: u16, data: bytes },
});

const packetQueue = obj({ queueId: u32, port: u32, properties: arr(queueProperty) });

const helloElement = tagged('type', {
  versionBitmap: { bitmaps: arr(u32) },
  unknown: { elementType: u16, data: bytes },
});

const maskPair = tuple(u32, 2);
const asyncFields: Fields = { packetInMask: maskPair, portStatusMask: maskPair, flowRemovedMask: maskPair };

// ---------------------------------------------------------------- multipart

const flowStatsRequest: Fields = {
  tableId: u8,
  outPort: u32,
  outGroup: u32,
  cookie: bigHex,
  cookieMask: bigHex,
  match,
};

const tableFeatureProperty = tagged('type', {
  ...variants(['instructions', 'instructionsMiss'], { ids: arr(instructionId) }),
  ...variants(['nextTables', 'nextTablesMiss'], { tableIds: arr(u8) }),
  ...variants(['writeActions', 'writeActionsMiss', 'applyActions', 'applyActionsMiss'], {
    ids: arr(actionId),
  }),
  ...variants(
    ['match', 'wildcards', 'writeSetfield', 'writeSetfieldMiss', 'applySetfield', 'applySetfieldMiss'],
    { oxmIds: arr(oxmId) },
  ),
  ...variants(['experimenter', 'experimenterMiss'], { experimenter: u32, expType: u32, data: bytes }),
  unknown: { propertyType: u16, data: bytes },
});

const tableFeatures = obj({
  tableId: u8,
  name: str,
  metadataMatch: bigHex,
  metadataWrite: bigHex,
  config: u32,
  maxEntries: u32,
  properties: arr(tableFeatureProperty),
});

const experimenterBody: Fields = { experimenter: u32, expType: u32, data: bytes };
const unknownBody: Fields = { multipartType: u16, data: bytes };

const multipartRequestBody = tagged('kind', {
  desc: {},
  flow: flowStatsRequest,
  aggregate: flowStatsRequest,
  table: {},
  portStats: { portNo: u32 },
  queue: { portNo: u32, queueId: u32 },
  group: { groupId: u32 },
  groupDesc: {},
  groupFeatures: {},
  meter: { meterId: u32 },
  meterConfig: { meterId: u32 },
  meterFeatures: {},
  tableFeatures: { features: arr(tableFeatures) },
  portDesc: {},
  experimenter: experimenterBody,
  unknown: unknownBody,
});

const flowStats = obj({
  tableId: u8,
  durationSec: u32,
  durationNsec: u32,
  priority: u16,
  idleTimeout: u16,
  hardTimeout: u16,
  flags: u16,
  cookie: bigHex,
  packetCount: bigDec,
  byteCount: bigDec,
  match,
  instructions: arr(instruction),
});

const tableStats = obj({ tableId: u8, activeCount: u32, lookupCount: bigDec, matchedCount: bigDec });

const portStats = obj({
  portNo: u32,
  rxPackets: bigDec,
  txPackets: bigDec,
  rxBytes: bigDec,
  txBytes: bigDec,
  rxDropped: bigDec,
  txDropped: bigDec,
  rxErrors: bigDec,
  txErrors: bigDec,
  rxFrameErr: bigDec,
  rxOverErr: bigDec,
  rxCrcErr: bigDec,
  collisions: bigDec,
  durationSec: u32,
  durationNsec: u32,
});

const queueStats = obj({
  portNo: u32,
  queueId: u32,
  txBytes: bigDec,
  txPackets: bigDec,
  txErrors: bigDec,
  durationSec: u32,
  durationNsec: u32,
});

const groupStats = obj({
  groupId: u32,
  refCount: u32,
  packetCount: bigDec,
  byteCount: bigDec,
  durationSec: u32,
  durationNsec: u32,
  bucketStats: arr(obj({ packetCount: bigDec, byteCount: bigDec })),
});

const groupDesc = obj({ groupType: u8, groupId: u32, buckets: arr(bucket) });

const meterStats = obj({
  meterId: u32,
  flowCount: u32,
  packetInCount: bigDec,
  byteInCount: bigDec,
  durationSec: u32,
  durationNsec: u32,
  bandStats: arr(obj({ packetBandCount: bigDec, byteBandCount: bigDec })),
});

const meterConfig = obj({ flags: u16, meterId: u32, bands: arr(meterBand) });

const multipartReplyBody = tagged('kind', {
  desc: { mfrDesc: str, hwDesc: str, swDesc: str, serialNum: str, dpDesc: str },
  flow: { stats: arr(flowStats) },
  aggregate: { packetCount: bigDec, byteCount: bigDec, flowCount: u32 },
  table: { stats: arr(tableStats) },
  portStats: { stats: arr(portStats) },
  queue: { stats: arr(queueStats) },
  group: { stats: arr(groupStats) },
  groupDesc: { groups: arr(groupDesc) },
  groupFeatures: { types: u32, capabilities: u32, maxGroups: tuple(u32, 4), actions: tuple(u32, 4) },
  meter: { stats: arr(meterStats) },
  meterConfig: { configs: arr(meterConfig) },
  meterFeatures: { maxMeter: u32, bandTypes: u32, capabilities: u32, maxBands: u8, maxColor: u8 },
  tableFeatures: { features: arr(tableFeatures) },
  portDesc: { ports: arr(port) },
  experimenter: experimenterBody,
  unknown: unknownBody,
});

// ---------------------------------------------------------------- messages

const xid = u32;
const flowRemovedFields: Fields = {
  xid,
  cookie: bigHex,
  priority: u16,
  reason: u8,
  tableId: u8,
  durationSec: u32,
  durationNsec: u32,
  idleTimeout: u16,
  hardTimeout: u16,
  packetCount: bigDec,
  byteCount: bigDec,
  match,
};

const message = tagged('type', {
  hello: { version: u8, xid, elements: arr(helloElement) },
  error: { xid, errorType: u16, code: u16, data: bytes },
  errorExperimenter: { xid, expType: u16, experimenter: u32, data: bytes },
  echoRequest: { xid, data: bytes },
  echoReply: { xid, data: bytes },
  experimenter: { xid, experimenter: u32, expType: u32, data: bytes },
  featuresRequest: { xid },
  featuresReply: {
    xid,
    datapathId: bigHex,
    nBuffers: u32,
    nTables: u8,
    auxiliaryId: u8,
    capabilities: u32,
    reserved: u32,
  },
  getConfigRequest: { xid },
  getConfigReply: { xid, flags: u16, missSendLen: u16 },
  setConfig: { xid, flags: u16, missSendLen: u16 },
  packetIn: {
    xid,
    bufferId: u32,
    totalLen: u16,
    reason: u8,
    tableId: u8,
    cookie: bigHex,
    match,
    data: bytes,
  },
  flowRemoved: flowRemovedFields,
  portStatus: { xid, reason: u8, port },
  packetOut: { xid, bufferId: u32, inPort: u32, actions, data: bytes },
  flowMod: {
    xid,
    cookie: bigHex,
    cookieMask: bigHex,
    tableId: u8,
    command: u8,
    idleTimeout: u16,
    hardTimeout: u16,
    priority: u16,
    bufferId: u32,
    outPort: u32,
    outGroup: u32,
    flags: u16,
    match,
    instructions: arr(instruction),
  },
  groupMod: { xid, command: u16, groupType: u8, groupId: u32, buckets: arr(bucket) },
  portMod: { xid, portNo: u32, hwAddr: mac, config: u32, mask: u32, advertise: u32 },
  tableMod: { xid, tableId: u8, config: u32 },
  multipartRequest: { xid, flags: u16, body: multipartRequestBody },
  multipartReply: { xid, flags: u16, body: multipartReplyBody },
  barrierRequest: { xid },
  barrierReply: { xid },
  queueGetConfigRequest: { xid, port: u32 },
  queueGetConfigReply: { xid, port: u32, queues: arr(packetQueue) },
  roleRequest: { xid, role: u32, generationId: bigHex },
  roleReply: { xid, role: u32, generationId: bigHex },
  getAsyncRequest: { xid },
  getAsyncReply: { xid, ...asyncFields },
  setAsync: { xid, ...asyncFields },
  meterMod: { xid, command: u16, flags: u16, meterId: u32, bands: arr(meterBand) },
  unknown: { version: u8, msgType: u8, xid, body: bytes },
});

// ---------------------------------------------------------------- API

/** The JSON form of a message (a plain value for JSON.stringify). */
export function messageToJson(m: OfMessage): unknown {
  return message.toJson(m);
}

/**
 * A message from its JSON form (as parsed by JSON.parse). Throws JsonFormatError naming the JSON path
 * on an unknown key, a missing key, a wrong type or an out-of-range value. `path` prefixes error paths
 * (e.g. '$[2]' for the third message of an array).
 */
export function messageFromJson(j: unknown, path = '$'): OfMessage {
  return message.fromJson(j, path) as OfMessage;
}

/** Messages from a JSON value that is one message or an array of messages. */
export function messagesFromJson(j: unknown): OfMessage[] {
  if (Array.isArray(j)) return j.map((x, i) => messageFromJson(x, `$[${i}]`));
  return [messageFromJson(j)];
}
