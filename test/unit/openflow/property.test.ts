// Property tests: decode(encode(v)) deep-equals v for generated OXM fields, matches, actions,
// instructions, ids, buckets, bands, queues, ports and every non-multipart message.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import {
  decodeActionIds,
  decodeActions,
  encodeActionIds,
  encodeActions,
} from '../../../src/openflow/actions.ts';
import {
  decodeBuckets,
  decodeMeterBands,
  decodePacketQueues,
  encodeBuckets,
  encodeMeterBands,
  encodePacketQueues,
} from '../../../src/openflow/buckets.ts';
import { Reader, Writer } from '../../../src/openflow/buffer.ts';
import {
  decodeInstructionIds,
  decodeInstructions,
  encodeInstructionIds,
  encodeInstructions,
} from '../../../src/openflow/instructions.ts';
import { decodeMessage, encodeMessage } from '../../../src/openflow/messages.ts';
import {
  decodeMatch,
  decodeOxmField,
  decodeOxmIds,
  encodeMatch,
  encodeOxmField,
  encodeOxmIds,
} from '../../../src/openflow/oxm.ts';
import { decodePort, encodePort } from '../../../src/openflow/ports.ts';
import * as A from './arbitraries.ts';

/** Number of runs, scaled by VNM_PROPERTY_SCALE (e.g. 10 for a longer local run). */
const runs = (n: number) => Math.round(n * Number(process.env.VNM_PROPERTY_SCALE ?? 1));

function viaWriter<T>(v: T, enc: (w: Writer, v: T) => void, dec: (r: Reader) => T): T {
  const w = new Writer(16);
  enc(w, v);
  const bytes = new Uint8Array(w.finish());
  const r = new Reader(bytes, 'test');
  const out = dec(r);
  assert.ok(r.atEnd(), 'decoder consumed exactly what the encoder wrote');
  return out;
}

function roundTrips<T>(
  name: string,
  arb: fc.Arbitrary<T>,
  enc: (w: Writer, v: T) => void,
  dec: (r: Reader) => T,
  n: number,
) {
  test(`${name}: decode(encode(v)) = v (${runs(n)} cases)`, () => {
    fc.assert(
      fc.property(arb, (v) => {
        assert.deepEqual(viaWriter(v, enc, dec), v);
      }),
      { numRuns: runs(n) },
    );
  });
}

describe('structures', () => {
  roundTrips('OXM field', A.oxmField, encodeOxmField, (r) => decodeOxmField(r, 'oxm'), 15_000);
  roundTrips('match', A.match, encodeMatch, (r) => decodeMatch(r, 'match'), 8_000);
  roundTrips(
    'OXM ids',
    fc.array(A.oxmId, { maxLength: 8 }),
    encodeOxmIds,
    (r) => decodeOxmIds(r, 'ids'),
    2_000,
  );
  roundTrips('actions', A.actions, encodeActions, (r) => decodeActions(r, 'actions'), 8_000);
  roundTrips(
    'action ids',
    fc.array(A.actionId, { maxLength: 8 }),
    encodeActionIds,
    (r) => decodeActionIds(r, 'ids'),
    2_000,
  );
  roundTrips('instructions', A.instructions, encodeInstructions, (r) => decodeInstructions(r, 'ins'), 6_000);
  roundTrips(
    'instruction ids',
    fc.array(A.instructionId, { maxLength: 8 }),
    encodeInstructionIds,
    (r) => decodeInstructionIds(r, 'ids'),
    2_000,
  );
  roundTrips(
    'buckets',
    fc.array(A.bucket, { maxLength: 4 }),
    encodeBuckets,
    (r) => decodeBuckets(r, 'b'),
    2_000,
  );
  roundTrips(
    'meter bands',
    fc.array(A.meterBand, { maxLength: 4 }),
    encodeMeterBands,
    (r) => decodeMeterBands(r, 'b'),
    2_000,
  );
  roundTrips(
    'packet queues',
    fc.array(A.packetQueue, { maxLength: 4 }),
    encodePacketQueues,
    (r) => decodePacketQueues(r, 'q'),
    2_000,
  );
  roundTrips('port', A.port, encodePort, (r) => decodePort(r, 'port'), 2_000);
});

describe('messages', () => {
  test(`every non-multipart message: decode(encode(m)) = m (${runs(25_000)} cases)`, () => {
    fc.assert(
      fc.property(A.nonMultipartMessage, (m) => {
        const wire = encodeMessage(m);
        assert.equal(wire.readUInt16BE(2), wire.length);
        assert.deepEqual(decodeMessage(wire), m);
      }),
      { numRuns: runs(25_000) },
    );
  });

  test('the arbitrary reaches every message type', () => {
    const seen = new Set(fc.sample(A.nonMultipartMessage, 5_000).map((m) => m.type));
    assert.equal(seen.size, 30, [...seen].sort().join(','));
  });
});
