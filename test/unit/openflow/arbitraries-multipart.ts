// fast-check arbitraries for multipart request/reply bodies and messages, shaped so that
// decode(encode(v)) deep-equals v (strings without NUL in latin1, unknown types the codec does not know).

import fc from 'fast-check';
import type {
  FlowStats,
  FlowStatsRequestBody,
  GroupDesc,
  GroupStats,
  MeterConfig,
  MeterStats,
  MultipartReply,
  MultipartReplyBody,
  MultipartRequest,
  MultipartRequestBody,
  OfMessage,
  PortStats,
  QueueStats,
  TableFeatureProperty,
  TableFeatures,
  TableStats,
} from '../../../src/openflow/types.ts';
import * as A from './arbitraries.ts';

const { rec, u8, u16, u32, u64, xid, bytes } = A;

/** Fixed-width NUL-padded strings: printable latin1 without NUL, up to `max` characters. */
export function fixedString(max: number): fc.Arbitrary<string> {
  return fc
    .array(fc.oneof(fc.integer({ min: 0x20, max: 0x7e }), fc.integer({ min: 0xa0, max: 0xff })), {
      maxLength: max,
    })
    .map((cs) => String.fromCharCode(...cs));
}

const KNOWN_MP_TYPES = new Set([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 0xffff]);
const unknownMpType = u16.filter((t) => !KNOWN_MP_TYPES.has(t));

// ---------------------------------------------------------------- table features

const KNOWN_PROP_TYPES = new Set([0, 1, 2, 3, 4, 5, 6, 7, 8, 10, 12, 13, 14, 15, 0xfffe, 0xffff]);

export const tableFeatureProperty: fc.Arbitrary<TableFeatureProperty> = fc.oneof(
  rec({
    type: fc.constantFrom('instructions' as const, 'instructionsMiss' as const),
    ids: fc.array(A.instructionId, { maxLength: 6 }),
  }),
  rec({
    type: fc.constantFrom('nextTables' as const, 'nextTablesMiss' as const),
    tableIds: fc.array(u8, { maxLength: 12 }),
  }),
  rec({
    type: fc.constantFrom(
      'writeActions' as const,
      'writeActionsMiss' as const,
      'applyActions' as const,
      'applyActionsMiss' as const,
    ),
    ids: fc.array(A.actionId, { maxLength: 6 }),
  }),
  rec({
    type: fc.constantFrom(
      'match' as const,
      'wildcards' as const,
      'writeSetfield' as const,
      'writeSetfieldMiss' as const,
      'applySetfield' as const,
      'applySetfieldMiss' as const,
    ),
    oxmIds: fc.array(A.oxmId, { maxLength: 8 }),
  }),
  rec({
    type: fc.constantFrom('experimenter' as const, 'experimenterMiss' as const),
    experimenter: u32,
    expType: u32,
    data: bytes(13),
  }),
  rec({
    type: fc.constant('unknown' as const),
    propertyType: u16.filter((t) => !KNOWN_PROP_TYPES.has(t)),
    data: bytes(13),
  }),
);

export const tableFeatures: fc.Arbitrary<TableFeatures> = rec({
  tableId: u8,
  name: fixedString(32),
  metadataMatch: u64,
  metadataWrite: u64,
  config: u32,
  maxEntries: u32,
  properties: fc.array(tableFeatureProperty, { maxLength: 6 }),
});

// ---------------------------------------------------------------- requests

const flowRequest: fc.Arbitrary<FlowStatsRequestBody> = rec({
  tableId: u8,
  outPort: u32,
  outGroup: u32,
  cookie: u64,
  cookieMask: u64,
  match: A.match,
});

const kindOnly = <K extends string>(kind: K) => fc.constant({ kind });

export const multipartRequestBody: fc.Arbitrary<MultipartRequestBody> = fc.oneof(
  kindOnly('desc' as const),
  flowRequest.map((b) => ({ kind: 'flow' as const, ...b })),
  flowRequest.map((b) => ({ kind: 'aggregate' as const, ...b })),
  kindOnly('table' as const),
  rec({ kind: fc.constant('portStats' as const), portNo: u32 }),
  rec({ kind: fc.constant('queue' as const), portNo: u32, queueId: u32 }),
  rec({ kind: fc.constant('group' as const), groupId: u32 }),
  kindOnly('groupDesc' as const),
  kindOnly('groupFeatures' as const),
  rec({ kind: fc.constant('meter' as const), meterId: u32 }),
  rec({ kind: fc.constant('meterConfig' as const), meterId: u32 }),
  kindOnly('meterFeatures' as const),
  rec({ kind: fc.constant('tableFeatures' as const), features: fc.array(tableFeatures, { maxLength: 3 }) }),
  kindOnly('portDesc' as const),
  rec({ kind: fc.constant('experimenter' as const), experimenter: u32, expType: u32, data: bytes(24) }),
  rec({ kind: fc.constant('unknown' as const), multipartType: unknownMpType, data: bytes(24) }),
);

// ---------------------------------------------------------------- replies

export const flowStats: fc.Arbitrary<FlowStats> = rec({
  tableId: u8,
  durationSec: u32,
  durationNsec: u32,
  priority: u16,
  idleTimeout: u16,
  hardTimeout: u16,
  flags: u16,
  cookie: u64,
  packetCount: u64,
  byteCount: u64,
  match: A.match,
  instructions: A.instructions,
});

const tableStats: fc.Arbitrary<TableStats> = rec({
  tableId: u8,
  activeCount: u32,
  lookupCount: u64,
  matchedCount: u64,
});

const portStats: fc.Arbitrary<PortStats> = rec({
  portNo: u32,
  rxPackets: u64,
  txPackets: u64,
  rxBytes: u64,
  txBytes: u64,
  rxDropped: u64,
  txDropped: u64,
  rxErrors: u64,
  txErrors: u64,
  rxFrameErr: u64,
  rxOverErr: u64,
  rxCrcErr: u64,
  collisions: u64,
  durationSec: u32,
  durationNsec: u32,
});

const queueStats: fc.Arbitrary<QueueStats> = rec({
  portNo: u32,
  queueId: u32,
  txBytes: u64,
  txPackets: u64,
  txErrors: u64,
  durationSec: u32,
  durationNsec: u32,
});

const groupStats: fc.Arbitrary<GroupStats> = rec({
  groupId: u32,
  refCount: u32,
  packetCount: u64,
  byteCount: u64,
  durationSec: u32,
  durationNsec: u32,
  bucketStats: fc.array(rec({ packetCount: u64, byteCount: u64 }), { maxLength: 4 }),
});

const groupDesc: fc.Arbitrary<GroupDesc> = rec({
  groupType: u8,
  groupId: u32,
  buckets: fc.array(A.bucket, { maxLength: 3 }),
});

const meterStats: fc.Arbitrary<MeterStats> = rec({
  meterId: u32,
  flowCount: u32,
  packetInCount: u64,
  byteInCount: u64,
  durationSec: u32,
  durationNsec: u32,
  bandStats: fc.array(rec({ packetBandCount: u64, byteBandCount: u64 }), { maxLength: 4 }),
});

const meterConfig: fc.Arbitrary<MeterConfig> = rec({
  flags: u16,
  meterId: u32,
  bands: fc.array(A.meterBand, { maxLength: 3 }),
});

const four = fc.tuple(u32, u32, u32, u32);
const list = <T>(arb: fc.Arbitrary<T>, max = 4) => fc.array(arb, { maxLength: max });

export const multipartReplyBody: fc.Arbitrary<MultipartReplyBody> = fc.oneof(
  rec({
    kind: fc.constant('desc' as const),
    mfrDesc: fixedString(256),
    hwDesc: fixedString(256),
    swDesc: fixedString(256),
    serialNum: fixedString(32),
    dpDesc: fixedString(256),
  }),
  rec({ kind: fc.constant('flow' as const), stats: list(flowStats) }),
  rec({ kind: fc.constant('aggregate' as const), packetCount: u64, byteCount: u64, flowCount: u32 }),
  rec({ kind: fc.constant('table' as const), stats: list(tableStats) }),
  rec({ kind: fc.constant('portStats' as const), stats: list(portStats) }),
  rec({ kind: fc.constant('queue' as const), stats: list(queueStats) }),
  rec({ kind: fc.constant('group' as const), stats: list(groupStats) }),
  rec({ kind: fc.constant('groupDesc' as const), groups: list(groupDesc, 3) }),
  rec({
    kind: fc.constant('groupFeatures' as const),
    types: u32,
    capabilities: u32,
    maxGroups: four,
    actions: four,
  }),
  rec({ kind: fc.constant('meter' as const), stats: list(meterStats) }),
  rec({ kind: fc.constant('meterConfig' as const), configs: list(meterConfig) }),
  rec({
    kind: fc.constant('meterFeatures' as const),
    maxMeter: u32,
    bandTypes: u32,
    capabilities: u32,
    maxBands: u8,
    maxColor: u8,
  }),
  rec({ kind: fc.constant('tableFeatures' as const), features: list(tableFeatures, 3) }),
  rec({ kind: fc.constant('portDesc' as const), ports: list(A.port) }),
  rec({ kind: fc.constant('experimenter' as const), experimenter: u32, expType: u32, data: bytes(24) }),
  rec({ kind: fc.constant('unknown' as const), multipartType: unknownMpType, data: bytes(24) }),
);

// ---------------------------------------------------------------- messages

export const multipartRequest: fc.Arbitrary<MultipartRequest> = rec({
  type: fc.constant('multipartRequest' as const),
  xid,
  flags: u16,
  body: multipartRequestBody,
});

export const multipartReply: fc.Arbitrary<MultipartReply> = rec({
  type: fc.constant('multipartReply' as const),
  xid,
  flags: u16,
  body: multipartReplyBody,
});

/** Every message type, multipart included. */
export const anyMessage: fc.Arbitrary<OfMessage> = fc.oneof(
  { arbitrary: A.nonMultipartMessage, weight: 4 },
  { arbitrary: multipartRequest, weight: 1 },
  { arbitrary: multipartReply, weight: 1 },
);
