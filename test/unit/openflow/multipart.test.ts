// Multipart bodies: round trips (hand-written and property-based), wire details (per-entry lengths,
// table-feature property padding), typed decode errors, reply reassembly.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { OfDecodeError, Reader, Writer } from '../../../src/openflow/buffer.ts';
import { MultipartType } from '../../../src/openflow/constants.ts';
import { decodeMessage, encodeMessage } from '../../../src/openflow/messages.ts';
import {
  decodeMultipartReplyBody,
  decodeMultipartRequestBody,
  encodeMultipartReplyBody,
  encodeMultipartRequestBody,
  isMultipartList,
  mergeMultipartReplies,
  multipartKindOf,
} from '../../../src/openflow/multipart.ts';
import type {
  FlowStats,
  MultipartKind,
  MultipartReplyBody,
  MultipartRequestBody,
  OfMessage,
  TableFeatures,
} from '../../../src/openflow/types.ts';
import * as M from './arbitraries-multipart.ts';

const runs = (n: number) => Math.round(n * Number(process.env.VNM_PROPERTY_SCALE ?? 1));
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

function encReq(b: MultipartRequestBody): { type: number; bytes: Uint8Array } {
  const w = new Writer(8);
  const type = encodeMultipartRequestBody(w, b);
  return { type, bytes: new Uint8Array(w.finish()) };
}
function encRep(b: MultipartReplyBody): { type: number; bytes: Uint8Array } {
  const w = new Writer(8);
  const type = encodeMultipartReplyBody(w, b);
  return { type, bytes: new Uint8Array(w.finish()) };
}
const decReq = (type: number, bytes: Uint8Array) =>
  decodeMultipartRequestBody(new Reader(bytes, 'multipartRequest'), type);
const decRep = (type: number, bytes: Uint8Array) =>
  decodeMultipartReplyBody(new Reader(bytes, 'multipartReply'), type);

function throwsDecode(fn: () => unknown, field: RegExp | string, offset?: number): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof OfDecodeError, `expected OfDecodeError, got ${String(e)}`);
    if (typeof field === 'string') assert.equal(e.field, field);
    else assert.match(e.field, field);
    if (offset !== undefined) assert.equal(e.offset, offset);
    return true;
  });
}

const ALL_KINDS: MultipartKind[] = [
  'desc',
  'flow',
  'aggregate',
  'table',
  'portStats',
  'queue',
  'group',
  'groupDesc',
  'groupFeatures',
  'meter',
  'meterConfig',
  'meterFeatures',
  'tableFeatures',
  'portDesc',
  'experimenter',
  'unknown',
];

const emptyMatch = { fields: [] };

const sampleFlowStats: FlowStats = {
  tableId: 1,
  durationSec: 10,
  durationNsec: 500,
  priority: 100,
  idleTimeout: 30,
  hardTimeout: 0,
  flags: 1,
  cookie: 0xfedcba9876543210n,
  packetCount: 12n,
  byteCount: 1200n,
  match: { fields: [{ field: 'in_port', value: 3 }] },
  instructions: [{ type: 'applyActions', actions: [{ type: 'output', port: 2, maxLen: 0 }] }],
};

const sampleTable: TableFeatures = {
  tableId: 0,
  name: 'classifier',
  metadataMatch: 0xffffffffffffffffn,
  metadataWrite: 0xffffffffffffffffn,
  config: 3,
  maxEntries: 1_000_000,
  properties: [
    { type: 'instructions', ids: [{ instructionType: 1 }, { instructionType: 4 }] },
    { type: 'nextTables', tableIds: [1, 2, 3] },
    { type: 'applyActions', ids: [{ actionType: 0 }, { actionType: 0xffff, experimenter: 0x2320 }] },
    {
      type: 'match',
      oxmIds: [
        { oxmClass: 0x8000, oxmField: 0, hasMask: false, length: 4 },
        { oxmClass: 0xffff, oxmField: 1, hasMask: true, length: 8, experimenter: 0x4f4e4600 },
      ],
    },
    { type: 'experimenterMiss', experimenter: 101, expType: 7, data: new Uint8Array([1, 2, 3]) },
    { type: 'unknown', propertyType: 9, data: new Uint8Array([9, 9]) },
  ],
};

describe('multipart request bodies', () => {
  const cases: MultipartRequestBody[] = [
    { kind: 'desc' },
    {
      kind: 'flow',
      tableId: 0xff,
      outPort: 0xffffffff,
      outGroup: 0xffffffff,
      cookie: 1n,
      cookieMask: 0xffn,
      match: emptyMatch,
    },
    {
      kind: 'aggregate',
      tableId: 2,
      outPort: 5,
      outGroup: 6,
      cookie: 0n,
      cookieMask: 0n,
      match: { fields: [{ field: 'eth_dst', value: 'aa:bb:cc:dd:ee:ff', mask: 'ff:ff:ff:00:00:00' }] },
    },
    { kind: 'table' },
    { kind: 'portStats', portNo: 0xffffffff },
    { kind: 'queue', portNo: 1, queueId: 0xffffffff },
    { kind: 'group', groupId: 0xfffffffc },
    { kind: 'groupDesc' },
    { kind: 'groupFeatures' },
    { kind: 'meter', meterId: 0xffffffff },
    { kind: 'meterConfig', meterId: 7 },
    { kind: 'meterFeatures' },
    { kind: 'tableFeatures', features: [] },
    { kind: 'tableFeatures', features: [sampleTable] },
    { kind: 'portDesc' },
    { kind: 'experimenter', experimenter: 0x2320, expType: 2, data: new Uint8Array([1, 2, 3]) },
    { kind: 'unknown', multipartType: 99, data: new Uint8Array([4, 5]) },
  ];
  for (const body of cases) {
    test(`${body.kind} round trip (body and whole message)`, () => {
      const { type, bytes } = encReq(body);
      if (body.kind === 'unknown') assert.equal(type, body.multipartType);
      else assert.equal(multipartKindOf(type), body.kind);
      assert.deepEqual(decReq(type, bytes), body);
      const msg: OfMessage = { type: 'multipartRequest', xid: 42, flags: 1, body };
      const wire = encodeMessage(msg);
      assert.equal(wire.readUInt16BE(8), type);
      assert.deepEqual(decodeMessage(wire), msg);
    });
  }

  test('fixed request sizes on the wire', () => {
    assert.equal(encReq({ kind: 'desc' }).bytes.length, 0);
    assert.equal(encReq({ kind: 'portStats', portNo: 1 }).bytes.length, 8);
    assert.equal(encReq({ kind: 'queue', portNo: 1, queueId: 2 }).bytes.length, 8);
    assert.equal(encReq({ kind: 'group', groupId: 1 }).bytes.length, 8);
    assert.equal(encReq({ kind: 'meter', meterId: 1 }).bytes.length, 8);
    assert.equal(
      hex(encReq(cases[1]!).bytes),
      'ff000000ffffffffffffffff00000000' + '0000000000000001' + '00000000000000ff' + '0001000400000000',
    );
  });

  test('trailing bytes after a fixed-size request body are a typed error', () => {
    throwsDecode(() => decReq(MultipartType.DESC, new Uint8Array(4)), 'body', 0);
    throwsDecode(() => decReq(MultipartType.PORT_STATS, new Uint8Array(12)), 'body', 8);
    throwsDecode(() => decReq(MultipartType.PORT_STATS, new Uint8Array(6)), 'body.pad', 4);
  });
});

describe('multipart reply bodies', () => {
  const cases: MultipartReplyBody[] = [
    {
      kind: 'desc',
      mfrDesc: 'Nicira, Inc.',
      hwDesc: 'Open vSwitch',
      swDesc: '3.1.0',
      serialNum: 'None',
      dpDesc: 'br0',
    },
    { kind: 'flow', stats: [] },
    { kind: 'flow', stats: [sampleFlowStats, { ...sampleFlowStats, instructions: [], match: emptyMatch }] },
    { kind: 'aggregate', packetCount: 7n, byteCount: 574n, flowCount: 6 },
    { kind: 'table', stats: [{ tableId: 0, activeCount: 4, lookupCount: 2n ** 63n, matchedCount: 4n }] },
    {
      kind: 'portStats',
      stats: [
        {
          portNo: 1,
          rxPackets: 1n,
          txPackets: 2n,
          rxBytes: 3n,
          txBytes: 4n,
          rxDropped: 5n,
          txDropped: 6n,
          rxErrors: 7n,
          txErrors: 8n,
          rxFrameErr: 9n,
          rxOverErr: 10n,
          rxCrcErr: 11n,
          collisions: 12n,
          durationSec: 13,
          durationNsec: 14,
        },
      ],
    },
    {
      kind: 'queue',
      stats: [
        { portNo: 1, queueId: 2, txBytes: 3n, txPackets: 4n, txErrors: 5n, durationSec: 6, durationNsec: 7 },
      ],
    },
    {
      kind: 'group',
      stats: [
        {
          groupId: 1,
          refCount: 2,
          packetCount: 3n,
          byteCount: 4n,
          durationSec: 5,
          durationNsec: 6,
          bucketStats: [
            { packetCount: 7n, byteCount: 8n },
            { packetCount: 9n, byteCount: 10n },
          ],
        },
      ],
    },
    {
      kind: 'groupDesc',
      groups: [
        {
          groupType: 1,
          groupId: 5,
          buckets: [
            {
              weight: 1,
              watchPort: 0xffffffff,
              watchGroup: 0xffffffff,
              actions: [{ type: 'output', port: 1, maxLen: 0 }],
            },
          ],
        },
      ],
    },
    { kind: 'groupFeatures', types: 15, capabilities: 5, maxGroups: [1, 2, 3, 4], actions: [5, 6, 7, 8] },
    {
      kind: 'meter',
      stats: [
        {
          meterId: 100,
          flowCount: 1,
          packetInCount: 2n,
          byteInCount: 3n,
          durationSec: 4,
          durationNsec: 5,
          bandStats: [{ packetBandCount: 6n, byteBandCount: 7n }],
        },
      ],
    },
    {
      kind: 'meterConfig',
      configs: [{ flags: 14, meterId: 100, bands: [{ type: 'drop', rate: 1000, burstSize: 10 }] }],
    },
    { kind: 'meterFeatures', maxMeter: 1 << 24, bandTypes: 6, capabilities: 15, maxBands: 255, maxColor: 0 },
    { kind: 'tableFeatures', features: [sampleTable, { ...sampleTable, tableId: 1, properties: [] }] },
    {
      kind: 'portDesc',
      ports: [
        {
          portNo: 1,
          hwAddr: '02:00:00:00:00:01',
          name: 'eth1',
          config: 0,
          state: 4,
          curr: 0x2808,
          advertised: 0,
          supported: 0,
          peer: 0,
          currSpeed: 10_000_000,
          maxSpeed: 0,
        },
      ],
    },
    { kind: 'experimenter', experimenter: 0x2320, expType: 1, data: new Uint8Array(0) },
    { kind: 'unknown', multipartType: 0x1234, data: new Uint8Array([1]) },
  ];
  for (const body of cases) {
    test(`${body.kind} round trip (body and whole message)`, () => {
      const { type, bytes } = encRep(body);
      assert.deepEqual(decRep(type, bytes), body);
      const msg: OfMessage = { type: 'multipartReply', xid: 7, flags: 0, body };
      assert.deepEqual(decodeMessage(encodeMessage(msg)), msg);
    });
  }

  test('fixed reply sizes on the wire', () => {
    assert.equal(encRep(cases[0]!).bytes.length, 1056);
    assert.equal(encRep(cases[3]!).bytes.length, 24);
    assert.equal(encRep(cases[4]!).bytes.length, 24);
    assert.equal(encRep(cases[5]!).bytes.length, 112);
    assert.equal(encRep(cases[6]!).bytes.length, 40);
    assert.equal(encRep(cases[7]!).bytes.length, 40 + 32);
    assert.equal(encRep(cases[9]!).bytes.length, 40);
    assert.equal(encRep(cases[10]!).bytes.length, 56);
    assert.equal(encRep(cases[12]!).bytes.length, 16);
  });

  test('flow stats entries carry their own length (match padded to 8)', () => {
    const { bytes } = encRep({ kind: 'flow', stats: [sampleFlowStats, sampleFlowStats] });
    // 48 fixed + match (4 + 8 = 12, padded to 16) + apply-actions with one output (8 + 16 = 24) = 88
    assert.equal(bytes.length, 2 * 88);
    const v = new DataView(bytes.buffer);
    assert.equal(v.getUint16(0), 88);
    assert.equal(v.getUint16(88), 88);
    // Padding of the match is zero.
    assert.equal(hex(bytes.subarray(48 + 12, 48 + 16)), '00000000');
  });

  test('table-feature properties: length excludes padding, every property is padded to 8', () => {
    const { bytes } = encRep({ kind: 'tableFeatures', features: [sampleTable] });
    const v = new DataView(bytes.buffer);
    assert.equal(v.getUint16(0), bytes.length);
    let at = 64;
    const lengths: number[] = [];
    while (at < bytes.length) {
      const len = v.getUint16(at + 2);
      lengths.push(len);
      at += (len + 7) & ~7;
    }
    assert.equal(at, bytes.length);
    // instructions: 4 + 2*4; nextTables: 4 + 3; applyActions: 4 + 4 + 8; match: 4 + 4 + 8;
    // experimenterMiss: 12 + 3; unknown: 4 + 2.
    assert.deepEqual(lengths, [12, 7, 16, 16, 15, 6]);
    assert.equal(v.getUint16(64 + 16), 2); // second property type: nextTables
  });

  test('a table-features entry with no properties is 64 bytes', () => {
    const { bytes } = encRep({ kind: 'tableFeatures', features: [{ ...sampleTable, properties: [] }] });
    assert.equal(bytes.length, 64);
    assert.equal(Buffer.from(bytes.subarray(8, 8 + 10)).toString('latin1'), 'classifier');
  });
});

describe('typed decode errors', () => {
  test('flow stats: entry length below the minimum, beyond the body, truncated body', () => {
    const { bytes } = encRep({ kind: 'flow', stats: [sampleFlowStats] });
    const short = bytes.slice();
    new DataView(short.buffer).setUint16(0, 40);
    throwsDecode(() => decRep(MultipartType.FLOW, short), 'body.stats[0].length', 0);
    const long = bytes.slice();
    new DataView(long.buffer).setUint16(0, 200);
    throwsDecode(() => decRep(MultipartType.FLOW, long), 'body.stats[0].length', 0);
    // A second entry cut after 10 bytes.
    const two = encRep({ kind: 'flow', stats: [sampleFlowStats, sampleFlowStats] }).bytes.slice(0, 88 + 10);
    throwsDecode(() => decRep(MultipartType.FLOW, two), 'body.stats[1].length', 88);
  });

  test('flow stats: a bad match inside an entry names the entry', () => {
    const { bytes } = encRep({ kind: 'flow', stats: [sampleFlowStats] });
    const bad = bytes.slice();
    new DataView(bad.buffer).setUint16(48, 7); // match type 7
    throwsDecode(() => decRep(MultipartType.FLOW, bad), /^body\.stats\[0\]\.match\./, 48);
  });

  test('group and meter stats lengths must be 40 + 16n', () => {
    const g = encRep(cases().group).bytes.slice();
    new DataView(g.buffer).setUint16(0, 48);
    throwsDecode(() => decRep(MultipartType.GROUP, g), 'body.stats[0].length', 0);
    const m = encRep(cases().meter).bytes.slice();
    new DataView(m.buffer).setUint16(4, 44);
    throwsDecode(() => decRep(MultipartType.METER, m), 'body.stats[0].len', 4);
  });

  test('table features: property length below 4, past the entry, missing padding', () => {
    const { bytes } = encRep({ kind: 'tableFeatures', features: [sampleTable] });
    const a = bytes.slice();
    new DataView(a.buffer).setUint16(64 + 2, 3);
    throwsDecode(() => decRep(MultipartType.TABLE_FEATURES, a), 'body.features[0].properties[0].length', 66);
    const b = bytes.slice();
    new DataView(b.buffer).setUint16(64 + 2, 4000);
    throwsDecode(() => decRep(MultipartType.TABLE_FEATURES, b), 'body.features[0].properties[0].length', 66);
    // The last property (unknown, length 6) loses its 2 padding bytes: shorten the entry by 2.
    const c = bytes.slice(0, bytes.length - 2);
    new DataView(c.buffer).setUint16(0, c.length);
    throwsDecode(() => decRep(MultipartType.TABLE_FEATURES, c), 'body.features[0].properties[5].padding');
    // An entry shorter than 64 bytes.
    const d = bytes.slice();
    new DataView(d.buffer).setUint16(0, 60);
    throwsDecode(() => decRep(MultipartType.TABLE_FEATURES, d), 'body.features[0].length', 0);
  });

  test('fixed-size replies: short and long bodies', () => {
    throwsDecode(() => decRep(MultipartType.DESC, new Uint8Array(1000)), 'body.dpDesc');
    throwsDecode(() => decRep(MultipartType.AGGREGATE, new Uint8Array(32)), 'body', 24);
    throwsDecode(() => decRep(MultipartType.TABLE, new Uint8Array(30)), 'body.stats[1].activeCount', 28);
    throwsDecode(() => decRep(MultipartType.PORT_DESC, new Uint8Array(70)), /^body\.ports\[1\]/);
    throwsDecode(() => decRep(MultipartType.EXPERIMENTER, new Uint8Array(6)), 'body.expType', 4);
  });

  test('errors through decodeMessage name the message type and absolute offsets', () => {
    const wire = encodeMessage({
      type: 'multipartReply',
      xid: 1,
      flags: 0,
      body: { kind: 'flow', stats: [sampleFlowStats] },
    });
    const bad = Buffer.from(wire);
    bad.writeUInt16BE(300, 16); // entry length
    assert.throws(
      () => decodeMessage(bad),
      (e: unknown) =>
        e instanceof OfDecodeError &&
        e.messageType === 'multipartReply' &&
        e.field === 'body.stats[0].length' &&
        e.offset === 16,
    );
  });

  test(`random bodies of every multipart type never throw anything but OfDecodeError (${runs(20_000)} cases)`, () => {
    const types = [...Array(14).keys(), 0xffff, 14, 0x1234];
    fc.assert(
      fc.property(
        fc.constantFrom(...types),
        fc.boolean(),
        fc.uint8Array({ maxLength: 300 }),
        (type, reply, body) => {
          try {
            if (reply) decRep(type, body);
            else decReq(type, body);
          } catch (e) {
            if (!(e instanceof OfDecodeError)) throw e;
          }
        },
      ),
      { numRuns: runs(20_000) },
    );
  });

  test(`mutated valid bodies never throw anything but OfDecodeError (${runs(20_000)} cases)`, () => {
    fc.assert(
      fc.property(
        M.multipartReplyBody,
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 4 }),
        fc.nat(),
        (body, flips, cut) => {
          const { type, bytes } = encRep(body);
          const b = bytes.slice();
          for (const [at, v] of flips) if (b.length) b[at % b.length] = v;
          const view = b.length ? b.subarray(0, b.length - (cut % (b.length + 1))) : b;
          try {
            decRep(type, view);
          } catch (e) {
            if (!(e instanceof OfDecodeError)) throw e;
          }
        },
      ),
      { numRuns: runs(20_000) },
    );
  });
});

function cases() {
  return {
    group: {
      kind: 'group',
      stats: [
        {
          groupId: 1,
          refCount: 2,
          packetCount: 3n,
          byteCount: 4n,
          durationSec: 5,
          durationNsec: 6,
          bucketStats: [{ packetCount: 7n, byteCount: 8n }],
        },
      ],
    } satisfies MultipartReplyBody,
    meter: {
      kind: 'meter',
      stats: [
        {
          meterId: 1,
          flowCount: 2,
          packetInCount: 3n,
          byteInCount: 4n,
          durationSec: 5,
          durationNsec: 6,
          bandStats: [],
        },
      ],
    } satisfies MultipartReplyBody,
  };
}

describe('property: decode(encode(body)) = body', () => {
  test(`request bodies (${runs(10_000)} cases)`, () => {
    fc.assert(
      fc.property(M.multipartRequestBody, (body) => {
        const { type, bytes } = encReq(body);
        const r = new Reader(bytes, 'multipartRequest');
        assert.deepEqual(decodeMultipartRequestBody(r, type), body);
        assert.ok(r.atEnd());
      }),
      { numRuns: runs(10_000) },
    );
  });

  test(`reply bodies (${runs(10_000)} cases)`, () => {
    fc.assert(
      fc.property(M.multipartReplyBody, (body) => {
        const { type, bytes } = encRep(body);
        const r = new Reader(bytes, 'multipartReply');
        assert.deepEqual(decodeMultipartReplyBody(r, type), body);
        assert.ok(r.atEnd());
      }),
      { numRuns: runs(10_000) },
    );
  });

  test(`whole multipart messages, and re-encoding is byte-exact (${runs(5_000)} cases)`, () => {
    fc.assert(
      fc.property(fc.oneof(M.multipartRequest, M.multipartReply), (m) => {
        const wire = encodeMessage(m);
        assert.equal(wire.readUInt16BE(2), wire.length);
        const back = decodeMessage(wire);
        assert.deepEqual(back, m);
        assert.equal(encodeMessage(back).toString('hex'), wire.toString('hex'));
      }),
      { numRuns: runs(5_000) },
    );
  });

  test('the arbitraries reach every body kind', () => {
    const req = new Set(fc.sample(M.multipartRequestBody, 3_000).map((b) => b.kind));
    const rep = new Set(fc.sample(M.multipartReplyBody, 3_000).map((b) => b.kind));
    assert.deepEqual([...req].sort(), [...ALL_KINDS].sort());
    assert.deepEqual([...rep].sort(), [...ALL_KINDS].sort());
    const props = new Set(fc.sample(M.tableFeatureProperty, 3_000).map((p) => p.type));
    assert.equal(props.size, 17);
  });
});

describe('reassembly of replies split with the MORE flag', () => {
  test('list kinds are concatenated in order', () => {
    const a: MultipartReplyBody = { kind: 'flow', stats: [sampleFlowStats] };
    const b: MultipartReplyBody = {
      kind: 'flow',
      stats: [
        { ...sampleFlowStats, priority: 1 },
        { ...sampleFlowStats, priority: 2 },
      ],
    };
    const merged = mergeMultipartReplies([a, b]);
    assert.equal(merged.kind, 'flow');
    assert.deepEqual(merged.kind === 'flow' ? merged.stats.map((s) => s.priority) : [], [100, 1, 2]);
    const ports = mergeMultipartReplies([{ kind: 'portDesc', ports: [] }, cases0().portDesc!]);
    assert.equal(ports.kind === 'portDesc' ? ports.ports.length : -1, 1);
    const tf = mergeMultipartReplies([
      { kind: 'tableFeatures', features: [sampleTable] },
      { kind: 'tableFeatures', features: [{ ...sampleTable, tableId: 1 }] },
    ]);
    assert.deepEqual(tf.kind === 'tableFeatures' ? tf.features.map((t) => t.tableId) : [], [0, 1]);
  });

  test('every list kind merges', () => {
    fc.assert(
      fc.property(M.multipartReplyBody, M.multipartReplyBody, (x, y) => {
        if (!isMultipartList(x.kind) || x.kind !== y.kind) return;
        const merged = mergeMultipartReplies([x, y]) as unknown as Record<string, unknown[]>;
        const key = Object.keys(merged).find((k) => k !== 'kind')!;
        const xs = (x as unknown as Record<string, unknown[]>)[key]!;
        const ys = (y as unknown as Record<string, unknown[]>)[key]!;
        assert.deepEqual(merged[key], [...xs, ...ys]);
      }),
      { numRuns: runs(2_000) },
    );
  });

  test('experimenter and unknown bodies have their data concatenated', () => {
    const merged = mergeMultipartReplies([
      { kind: 'experimenter', experimenter: 1, expType: 2, data: new Uint8Array([1, 2]) },
      { kind: 'experimenter', experimenter: 1, expType: 2, data: new Uint8Array([3]) },
    ]);
    assert.deepEqual(merged, {
      kind: 'experimenter',
      experimenter: 1,
      expType: 2,
      data: new Uint8Array([1, 2, 3]),
    });
    assert.throws(
      () =>
        mergeMultipartReplies([
          { kind: 'experimenter', experimenter: 1, expType: 2, data: new Uint8Array() },
          { kind: 'experimenter', experimenter: 9, expType: 2, data: new Uint8Array() },
        ]),
      TypeError,
    );
    const u = mergeMultipartReplies([
      { kind: 'unknown', multipartType: 77, data: new Uint8Array([1]) },
      { kind: 'unknown', multipartType: 77, data: new Uint8Array([2]) },
    ]);
    assert.deepEqual(u, { kind: 'unknown', multipartType: 77, data: new Uint8Array([1, 2]) });
  });

  test('one part is returned as is; no parts, mixed kinds and split single bodies are errors', () => {
    const one: MultipartReplyBody = { kind: 'aggregate', packetCount: 1n, byteCount: 2n, flowCount: 3 };
    assert.equal(mergeMultipartReplies([one]), one);
    assert.throws(() => mergeMultipartReplies([]), TypeError);
    assert.throws(
      () =>
        mergeMultipartReplies([
          { kind: 'flow', stats: [] },
          { kind: 'table', stats: [] },
        ]),
      TypeError,
    );
    assert.throws(() => mergeMultipartReplies([one, one]), TypeError);
  });

  test('isMultipartList', () => {
    const lists = ALL_KINDS.filter(isMultipartList).sort();
    assert.deepEqual(lists, [
      'flow',
      'group',
      'groupDesc',
      'meter',
      'meterConfig',
      'portDesc',
      'portStats',
      'queue',
      'table',
      'tableFeatures',
    ]);
  });
});

function cases0(): Record<string, MultipartReplyBody> {
  return {
    portDesc: {
      kind: 'portDesc',
      ports: [
        {
          portNo: 2,
          hwAddr: '02:00:00:00:00:02',
          name: 'p2',
          config: 0,
          state: 0,
          curr: 0,
          advertised: 0,
          supported: 0,
          peer: 0,
          currSpeed: 0,
          maxSpeed: 0,
        },
      ],
    },
  };
}
