// fast-check arbitraries for OpenFlow 1.3 values, shaped so that decode(encode(v)) deep-equals v:
// addresses in the text form the decoder produces, unknown TLVs with type numbers the codec does not
// know, no empty optional `data`. Shared with the multipart tests.

import fc from 'fast-check';
import { ipv6ToText } from '../../../src/openflow/buffer.ts';
import { OXM_FIELDS } from '../../../src/openflow/oxm.ts';
import type {
  Action,
  ActionId,
  Bucket,
  HelloElement,
  Instruction,
  InstructionId,
  Match,
  MeterBand,
  OfMessage,
  OxmField,
  OxmId,
  PacketQueue,
  Port,
  QueueProperty,
} from '../../../src/openflow/types.ts';

/** fc.record, but producing plain objects (fast-check's have a null prototype, which deepEqual rejects). */
export function rec<T>(model: { [K in keyof T]: fc.Arbitrary<T[K]> }): fc.Arbitrary<T> {
  return fc.record(model).map((o) => ({ ...o }) as T);
}

export const u8 = fc.integer({ min: 0, max: 0xff });
export const u16 = fc.integer({ min: 0, max: 0xffff });
export const u32 = fc.integer({ min: 0, max: 0xffffffff });
export const u64 = fc.bigInt({ min: 0n, max: 0xffffffffffffffffn });
export const xid = u32;

/** Small byte payloads (the codec copies them; content is irrelevant). */
export function bytes(maxLength = 24, minLength = 0): fc.Arbitrary<Uint8Array> {
  return fc.uint8Array({ minLength, maxLength });
}

export const mac = fc
  .uint8Array({ minLength: 6, maxLength: 6 })
  .map((b) => Array.from(b, (x) => x.toString(16).padStart(2, '0')).join(':'));
export const ipv4 = fc.uint8Array({ minLength: 4, maxLength: 4 }).map((b) => b.join('.'));
/** IPv6 text as the decoder prints it (RFC 5952); biased towards zero runs. */
export const ipv6 = fc
  .array(fc.oneof(fc.constant(0), fc.constant(0), u16), { minLength: 8, maxLength: 8 })
  .map((groups) => {
    const b = new Uint8Array(16);
    groups.forEach((g, i) => {
      b[2 * i] = g >> 8;
      b[2 * i + 1] = g & 0xff;
    });
    return ipv6ToText(b);
  });

function valueArb(kind: string, width: number): fc.Arbitrary<number | bigint | string> {
  switch (kind) {
    case 'num':
      return fc.integer({ min: 0, max: 2 ** (8 * width) - 1 });
    case 'big':
      return u64;
    case 'mac':
      return mac;
    case 'ipv4':
      return ipv4;
    default:
      return ipv6;
  }
}

/** A basic-class OXM field of any of the 40 OF1.3 types, masked or not. */
export const basicOxmField: fc.Arbitrary<OxmField> = fc.constantFrom(...OXM_FIELDS).chain((info) =>
  fc
    .record(
      { value: valueArb(info.kind, info.width), mask: valueArb(info.kind, info.width) },
      { requiredKeys: ['value'] },
    )
    .map((r) => {
      const f: Record<string, unknown> = { field: info.name, value: r.value };
      if (r.mask !== undefined) f.mask = r.mask;
      return f as OxmField;
    }),
);

/** An OXM TLV the codec keeps raw: another class, an unknown basic field or a basic field of bad length. */
export const unknownOxmField: fc.Arbitrary<OxmField> = fc
  .record({
    oxmClass: fc.oneof(fc.constantFrom(0x0000, 0x0001, 0xffff, 0x8000), u16),
    oxmField: fc.integer({ min: 0, max: 0x7f }),
    hasMask: fc.boolean(),
    data: bytes(20),
  })
  .filter((f) => {
    if (f.oxmClass !== 0x8000 || f.oxmField >= OXM_FIELDS.length) return true;
    const w = OXM_FIELDS[f.oxmField]!.width;
    return f.data.length !== (f.hasMask ? 2 * w : w);
  })
  .map((f) => ({ field: 'unknown' as const, ...f }));

export const oxmField: fc.Arbitrary<OxmField> = fc.oneof(
  { arbitrary: basicOxmField, weight: 5 },
  { arbitrary: unknownOxmField, weight: 1 },
);

export const match: fc.Arbitrary<Match> = fc.array(oxmField, { maxLength: 8 }).map((fields) => ({ fields }));

export const oxmId: fc.Arbitrary<OxmId> = fc
  .record({
    oxmClass: fc.oneof(fc.constant(0x8000), fc.constant(0xffff), u16),
    oxmField: fc.integer({ min: 0, max: 0x7f }),
    hasMask: fc.boolean(),
    length: u8,
    experimenter: u32,
  })
  .map(({ experimenter, ...id }) => (id.oxmClass === 0xffff ? { ...id, experimenter } : id));

// ---------------------------------------------------------------- actions

const KNOWN_ACTION_TYPES = new Set([0, 11, 12, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 0xffff]);

export const action: fc.Arbitrary<Action> = fc.oneof(
  rec({ type: fc.constant('output' as const), port: u32, maxLen: u16 }),
  fc.constant({ type: 'copyTtlOut' as const }),
  fc.constant({ type: 'copyTtlIn' as const }),
  rec({ type: fc.constant('setMplsTtl' as const), ttl: u8 }),
  fc.constant({ type: 'decMplsTtl' as const }),
  rec({ type: fc.constant('pushVlan' as const), ethertype: u16 }),
  fc.constant({ type: 'popVlan' as const }),
  rec({ type: fc.constant('pushMpls' as const), ethertype: u16 }),
  rec({ type: fc.constant('popMpls' as const), ethertype: u16 }),
  rec({ type: fc.constant('setQueue' as const), queueId: u32 }),
  rec({ type: fc.constant('group' as const), groupId: u32 }),
  rec({ type: fc.constant('setNwTtl' as const), ttl: u8 }),
  fc.constant({ type: 'decNwTtl' as const }),
  rec({ type: fc.constant('setField' as const), field: oxmField }),
  rec({ type: fc.constant('pushPbb' as const), ethertype: u16 }),
  fc.constant({ type: 'popPbb' as const }),
  rec({ type: fc.constant('experimenter' as const), experimenter: u32, data: bytes(24) }),
  rec({
    type: fc.constant('unknown' as const),
    actionType: u16.filter((t) => !KNOWN_ACTION_TYPES.has(t)),
    data: bytes(20),
  }),
);
export const actions: fc.Arbitrary<Action[]> = fc.array(action, { maxLength: 6 });

export const actionId: fc.Arbitrary<ActionId> = fc
  .record({ actionType: u16, experimenter: u32, data: bytes(8, 1), withData: fc.boolean() })
  .map(({ actionType, experimenter, data, withData }) => {
    const id: ActionId = { actionType };
    if (actionType === 0xffff) id.experimenter = experimenter;
    if (withData) id.data = data;
    return id;
  });

// ---------------------------------------------------------------- instructions

const KNOWN_INSTRUCTION_TYPES = new Set([1, 2, 3, 4, 5, 6, 0xffff]);

export const instruction: fc.Arbitrary<Instruction> = fc.oneof(
  rec({ type: fc.constant('gotoTable' as const), tableId: u8 }),
  rec({ type: fc.constant('writeMetadata' as const), metadata: u64, metadataMask: u64 }),
  rec({ type: fc.constant('writeActions' as const), actions }),
  rec({ type: fc.constant('applyActions' as const), actions }),
  fc.constant({ type: 'clearActions' as const }),
  rec({ type: fc.constant('meter' as const), meterId: u32 }),
  rec({ type: fc.constant('experimenter' as const), experimenter: u32, data: bytes(16) }),
  rec({
    type: fc.constant('unknown' as const),
    instructionType: u16.filter((t) => !KNOWN_INSTRUCTION_TYPES.has(t)),
    data: bytes(16),
  }),
);
export const instructions: fc.Arbitrary<Instruction[]> = fc.array(instruction, { maxLength: 5 });

export const instructionId: fc.Arbitrary<InstructionId> = fc
  .record({ instructionType: u16, experimenter: u32, data: bytes(8, 1), withData: fc.boolean() })
  .map(({ instructionType, experimenter, data, withData }) => {
    const id: InstructionId = { instructionType };
    if (instructionType === 0xffff) id.experimenter = experimenter;
    if (withData) id.data = data;
    return id;
  });

// ---------------------------------------------------------------- common structures

/** Port names: printable ASCII without NUL, up to 16 characters (the wire width). */
export const portName = fc
  .array(fc.integer({ min: 0x20, max: 0x7e }), { maxLength: 16 })
  .map((cs) => String.fromCharCode(...cs));

export const port: fc.Arbitrary<Port> = rec({
  portNo: u32,
  hwAddr: mac,
  name: portName,
  config: u32,
  state: u32,
  curr: u32,
  advertised: u32,
  supported: u32,
  peer: u32,
  currSpeed: u32,
  maxSpeed: u32,
});

export const bucket: fc.Arbitrary<Bucket> = rec({
  weight: u16,
  watchPort: u32,
  watchGroup: u32,
  actions,
});

export const meterBand: fc.Arbitrary<MeterBand> = fc.oneof(
  rec({ type: fc.constant('drop' as const), rate: u32, burstSize: u32 }),
  rec({ type: fc.constant('dscpRemark' as const), rate: u32, burstSize: u32, precLevel: u8 }),
  rec({
    type: fc.constant('experimenter' as const),
    rate: u32,
    burstSize: u32,
    experimenter: u32,
    data: bytes(16),
  }),
  rec({
    type: fc.constant('unknown' as const),
    bandType: u16.filter((t) => t !== 1 && t !== 2 && t !== 0xffff),
    rate: u32,
    burstSize: u32,
    data: bytes(16),
  }),
);

export const queueProperty: fc.Arbitrary<QueueProperty> = fc.oneof(
  rec({ type: fc.constant('minRate' as const), rate: u16 }),
  rec({ type: fc.constant('maxRate' as const), rate: u16 }),
  rec({ type: fc.constant('experimenter' as const), experimenter: u32, data: bytes(16) }),
  rec({
    type: fc.constant('unknown' as const),
    propertyType: u16.filter((t) => t !== 1 && t !== 2 && t !== 0xffff),
    data: bytes(16),
  }),
);

export const packetQueue: fc.Arbitrary<PacketQueue> = rec({
  queueId: u32,
  port: u32,
  properties: fc.array(queueProperty, { maxLength: 3 }),
});

export const helloElement: fc.Arbitrary<HelloElement> = fc.oneof(
  rec({ type: fc.constant('versionBitmap' as const), bitmaps: fc.array(u32, { maxLength: 3 }) }),
  rec({
    type: fc.constant('unknown' as const),
    elementType: u16.filter((t) => t !== 1),
    data: bytes(12),
  }),
);

const mask2 = fc.tuple(u32, u32);

// ---------------------------------------------------------------- messages

/** Every message type except multipart request/reply (see the multipart tests for those). */
export const nonMultipartMessage: fc.Arbitrary<OfMessage> = fc.oneof(
  rec({
    type: fc.constant('hello' as const),
    version: fc.oneof(fc.constant(4), fc.integer({ min: 1, max: 0xff })),
    xid,
    elements: fc.array(helloElement, { maxLength: 3 }),
  }),
  rec({
    type: fc.constant('error' as const),
    xid,
    errorType: u16.filter((t) => t !== 0xffff),
    code: u16,
    data: bytes(64),
  }),
  rec({
    type: fc.constant('errorExperimenter' as const),
    xid,
    expType: u16,
    experimenter: u32,
    data: bytes(32),
  }),
  rec({ type: fc.constant('echoRequest' as const), xid, data: bytes(32) }),
  rec({ type: fc.constant('echoReply' as const), xid, data: bytes(32) }),
  rec({ type: fc.constant('experimenter' as const), xid, experimenter: u32, expType: u32, data: bytes(32) }),
  rec({ type: fc.constant('featuresRequest' as const), xid }),
  rec({
    type: fc.constant('featuresReply' as const),
    xid,
    datapathId: u64,
    nBuffers: u32,
    nTables: u8,
    auxiliaryId: u8,
    capabilities: u32,
    reserved: u32,
  }),
  rec({ type: fc.constant('getConfigRequest' as const), xid }),
  rec({ type: fc.constant('getConfigReply' as const), xid, flags: u16, missSendLen: u16 }),
  rec({ type: fc.constant('setConfig' as const), xid, flags: u16, missSendLen: u16 }),
  rec({
    type: fc.constant('packetIn' as const),
    xid,
    bufferId: u32,
    totalLen: u16,
    reason: u8,
    tableId: u8,
    cookie: u64,
    match,
    data: bytes(80),
  }),
  rec({
    type: fc.constant('flowRemoved' as const),
    xid,
    cookie: u64,
    priority: u16,
    reason: u8,
    tableId: u8,
    durationSec: u32,
    durationNsec: u32,
    idleTimeout: u16,
    hardTimeout: u16,
    packetCount: u64,
    byteCount: u64,
    match,
  }),
  rec({ type: fc.constant('portStatus' as const), xid, reason: u8, port }),
  rec({ type: fc.constant('packetOut' as const), xid, bufferId: u32, inPort: u32, actions, data: bytes(80) }),
  rec({
    type: fc.constant('flowMod' as const),
    xid,
    cookie: u64,
    cookieMask: u64,
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
    instructions,
  }),
  rec({
    type: fc.constant('groupMod' as const),
    xid,
    command: u16,
    groupType: u8,
    groupId: u32,
    buckets: fc.array(bucket, { maxLength: 4 }),
  }),
  rec({
    type: fc.constant('portMod' as const),
    xid,
    portNo: u32,
    hwAddr: mac,
    config: u32,
    mask: u32,
    advertise: u32,
  }),
  rec({ type: fc.constant('tableMod' as const), xid, tableId: u8, config: u32 }),
  rec({ type: fc.constant('barrierRequest' as const), xid }),
  rec({ type: fc.constant('barrierReply' as const), xid }),
  rec({ type: fc.constant('queueGetConfigRequest' as const), xid, port: u32 }),
  rec({
    type: fc.constant('queueGetConfigReply' as const),
    xid,
    port: u32,
    queues: fc.array(packetQueue, { maxLength: 3 }),
  }),
  rec({ type: fc.constant('roleRequest' as const), xid, role: u32, generationId: u64 }),
  rec({ type: fc.constant('roleReply' as const), xid, role: u32, generationId: u64 }),
  rec({ type: fc.constant('getAsyncRequest' as const), xid }),
  rec({
    type: fc.constant('getAsyncReply' as const),
    xid,
    packetInMask: mask2,
    portStatusMask: mask2,
    flowRemovedMask: mask2,
  }),
  rec({
    type: fc.constant('setAsync' as const),
    xid,
    packetInMask: mask2,
    portStatusMask: mask2,
    flowRemovedMask: mask2,
  }),
  rec({
    type: fc.constant('meterMod' as const),
    xid,
    command: u16,
    flags: u16,
    meterId: u32,
    bands: fc.array(meterBand, { maxLength: 4 }),
  }),
  // Unknown: a type number above METER_MOD, or any non-hello type under another version.
  fc
    .record({
      version: fc.integer({ min: 0, max: 0xff }),
      msgType: fc.integer({ min: 1, max: 0xff }),
      xid,
      body: bytes(32),
    })
    .filter((m) => m.version !== 4 || m.msgType > 29)
    .map((m) => ({ type: 'unknown' as const, ...m })),
);
