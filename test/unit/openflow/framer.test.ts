// The framer yields the same messages whatever the read boundaries, in linear time, and refuses
// header lengths below 8 or above the maximum.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { OfDecodeError } from '../../../src/openflow/buffer.ts';
import { FramingError, MessageFramer, peekHeader } from '../../../src/openflow/framer.ts';
import { decodeMessage, encodeMessage } from '../../../src/openflow/messages.ts';
import { anyMessage } from './arbitraries-multipart.ts';

const runs = (n: number) => Math.round(n * Number(process.env.VNM_PROPERTY_SCALE ?? 1));

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/** Split `stream` at the given cut points (any values; they are reduced modulo the length and sorted). */
function split(stream: Uint8Array, cuts: number[]): Uint8Array[] {
  const points = [...new Set(cuts.map((c) => (stream.length === 0 ? 0 : c % (stream.length + 1))))].sort(
    (a, b) => a - b,
  );
  const chunks: Uint8Array[] = [];
  let prev = 0;
  for (const p of [...points, stream.length]) {
    chunks.push(stream.slice(prev, p)); // copies: like socket reads, each chunk is its own buffer
    prev = p;
  }
  return chunks;
}

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

describe('MessageFramer', () => {
  test(`same messages whatever the read boundaries (${runs(3_000)} cases)`, () => {
    fc.assert(
      fc.property(
        fc.array(anyMessage, { minLength: 0, maxLength: 8 }),
        fc.array(fc.nat(), { maxLength: 20 }),
        (msgs, cuts) => {
          const wires = msgs.map((m) => encodeMessage(m));
          const framer = new MessageFramer();
          const got: Uint8Array[] = [];
          for (const chunk of split(concat(wires), cuts)) got.push(...framer.push(chunk));
          assert.deepEqual(got.map(hex), wires.map(hex));
          assert.equal(framer.buffered, 0);
          // The framed messages decode back to the originals (and are still intact afterwards).
          assert.deepEqual(
            got.map((g) => decodeMessage(g)),
            msgs,
          );
        },
      ),
      { numRuns: runs(3_000) },
    );
  });

  test('one byte at a time', () => {
    const wires = [
      encodeMessage({
        type: 'hello',
        version: 4,
        xid: 1,
        elements: [{ type: 'versionBitmap', bitmaps: [16] }],
      }),
      encodeMessage({ type: 'barrierRequest', xid: 2 }),
      encodeMessage({ type: 'echoRequest', xid: 3, data: new Uint8Array(100).fill(7) }),
    ];
    const stream = concat(wires);
    const framer = new MessageFramer();
    const got: Uint8Array[] = [];
    for (let i = 0; i < stream.length; i++) {
      got.push(...framer.push(stream.subarray(i, i + 1).slice()));
    }
    assert.equal(framer.buffered, 0);
    assert.deepEqual(got.map(hex), wires.map(hex));
  });

  test('messages kept by the caller are not changed by later pushes', () => {
    const framer = new MessageFramer();
    const a = encodeMessage({ type: 'echoRequest', xid: 1, data: new Uint8Array([1, 2, 3, 4]) });
    const b = encodeMessage({ type: 'echoRequest', xid: 2, data: new Uint8Array([5, 6, 7, 8]) });
    const stream = concat([a, b]);
    const first = framer.push(stream.slice(0, 15));
    const second = framer.push(stream.slice(15));
    assert.equal(first.length, 1);
    assert.equal(second.length, 1);
    assert.equal(hex(first[0]!), hex(a));
    assert.equal(hex(second[0]!), hex(b));
  });

  test('many small coalesced messages are framed in linear time', () => {
    const one = encodeMessage({ type: 'barrierReply', xid: 0 });
    const n = 200_000;
    const stream = new Uint8Array(one.length * n);
    for (let i = 0; i < n; i++) stream.set(one, i * one.length);
    const framer = new MessageFramer();
    let t = performance.now();
    assert.equal(framer.push(stream).length, n);
    const coalesced = performance.now() - t;
    // And the same stream in odd-sized reads (3 bytes, then 1021 bytes...).
    t = performance.now();
    let count = 0;
    for (let o = 0, k = 0; o < stream.length; k++) {
      const size = k % 2 === 0 ? 3 : 1021;
      count += framer.push(stream.subarray(o, o + size)).length;
      o += size;
    }
    const split = performance.now() - t;
    assert.equal(count, n);
    assert.ok(
      coalesced < 1_000 && split < 2_000,
      `too slow: ${coalesced.toFixed(0)} ms / ${split.toFixed(0)} ms`,
    );
  });

  test('a large message arriving in many reads is assembled once', () => {
    const big = encodeMessage({ type: 'echoRequest', xid: 9, data: new Uint8Array(65_000).fill(1) });
    const framer = new MessageFramer();
    const got: Uint8Array[] = [];
    for (let o = 0; o < big.length; o += 100) got.push(...framer.push(big.subarray(o, o + 100)));
    assert.equal(got.length, 1);
    assert.equal(hex(got[0]!), hex(big));
  });

  test('header length below 8 is a FramingError with the stream offset', () => {
    const framer = new MessageFramer();
    const good = encodeMessage({ type: 'barrierRequest', xid: 1 });
    const bad = Uint8Array.from([4, 0, 0, 4, 0, 0, 0, 0]);
    assert.throws(
      () => framer.push(concat([good, bad])),
      (e: unknown) => e instanceof FramingError && e.offset === 8 && /below 8/.test(e.reason),
    );
    assert.equal(framer.broken, true);
    assert.throws(() => framer.push(good), FramingError, 'a broken stream stays broken');
    framer.reset();
    assert.equal(framer.push(good).length, 1);
  });

  test('header length 0 split across reads is refused as soon as the header is complete', () => {
    const framer = new MessageFramer();
    assert.deepEqual(framer.push(Uint8Array.from([4, 0, 0])), []);
    assert.throws(
      () => framer.push(Uint8Array.from([0, 0, 0, 0, 0])),
      (e: unknown) => e instanceof FramingError && e.offset === 0,
    );
  });

  test('header length above the maximum is a FramingError', () => {
    const framer = new MessageFramer({ maxMessageSize: 1024 });
    const big = encodeMessage({ type: 'echoRequest', xid: 1, data: new Uint8Array(2000) });
    assert.throws(
      () => framer.push(big.subarray(0, 10)),
      (e: unknown) => e instanceof FramingError && e.offset === 0 && /exceeds/.test(e.reason),
    );
    assert.throws(() => new MessageFramer({ maxMessageSize: 4 }), RangeError);
  });

  test('peekHeader', () => {
    assert.deepEqual(
      peekHeader(encodeMessage({ type: 'echoReply', xid: 0xdeadbeef, data: new Uint8Array(2) })),
      {
        version: 4,
        type: 3,
        length: 10,
        xid: 0xdeadbeef,
      },
    );
    assert.throws(() => peekHeader(new Uint8Array(3)), OfDecodeError);
  });
});
