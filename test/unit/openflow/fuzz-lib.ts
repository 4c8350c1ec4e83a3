// Shared by the CI fuzz test and scripts/fuzz-codec.ts: a seed corpus of valid messages, byte-level
// mutations, and the contract every input must satisfy:
//   - decodeMessage returns or throws an OfDecodeError (never anything else, never '(internal)');
//   - whatever it returns re-encodes, and decoding that again gives the same value.

import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { OfDecodeError } from '../../../src/openflow/buffer.ts';
import { decodeMessage, encodeMessage } from '../../../src/openflow/messages.ts';
import { anyMessage } from './arbitraries-multipart.ts';

export const VECTOR_DIR = join(
  import.meta.dirname,
  '../../../../shared/conformance/openflow/ryu-packet-data/packet_data/of13',
);

/** Valid messages to mutate: the of13 vectors and generated messages of every type (multipart included). */
export function seedCorpus(generated = 500, seed = 42): Uint8Array[] {
  const out: Uint8Array[] = [];
  try {
    for (const f of readdirSync(VECTOR_DIR).sort()) {
      if (f.endsWith('.packet')) out.push(new Uint8Array(readFileSync(join(VECTOR_DIR, f))));
    }
  } catch {
    // corpus absent: generated messages only
  }
  for (const m of fc.sample(anyMessage, { numRuns: generated, seed })) out.push(encodeMessage(m));
  return out;
}

/** xorshift32: a small deterministic PRNG returning uint32. */
export function xorshift(seed: number): () => number {
  let s = seed >>> 0 || 0x9e3779b9;
  return () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s;
  };
}

const INTERESTING_U16 = [0, 1, 2, 3, 4, 7, 8, 9, 15, 16, 17, 0x7fff, 0x8000, 0xfffe, 0xffff];

/** Apply 1-4 random mutations; usually keeps the header length equal to the byte count. */
export function mutate(src: Uint8Array, rnd: () => number): Uint8Array {
  let b = src.slice();
  const n = 1 + (rnd() % 4);
  for (let i = 0; i < n; i++) {
    const op = rnd() % 8;
    if (b.length === 0) break;
    switch (op) {
      case 0: {
        // bit flip
        const at = rnd() % b.length;
        b[at] = b[at]! ^ (1 << (rnd() % 8));
        break;
      }
      case 1: // random byte
        b[rnd() % b.length] = rnd() & 0xff;
        break;
      case 2: {
        // a 16-bit field (most TLV lengths) set to an interesting or random value
        if (b.length < 2) break;
        const at = (rnd() % (b.length - 1)) & ~1;
        const v = rnd() % 2 === 0 ? INTERESTING_U16[rnd() % INTERESTING_U16.length]! : rnd() & 0xffff;
        b[at] = v >> 8;
        b[at + 1] = v & 0xff;
        break;
      }
      case 3: {
        // the same at an odd offset (lengths inside unaligned payloads)
        if (b.length < 3) break;
        const at = 1 + (rnd() % (b.length - 2));
        const v = INTERESTING_U16[rnd() % INTERESTING_U16.length]!;
        b[at] = v >> 8;
        b[at + 1] = v & 0xff;
        break;
      }
      case 4: // truncation
        b = b.slice(0, rnd() % (b.length + 1));
        break;
      case 5: {
        // extension with random bytes
        const extra = new Uint8Array(1 + (rnd() % 24));
        for (let k = 0; k < extra.length; k++) extra[k] = rnd() & 0xff;
        const nb = new Uint8Array(b.length + extra.length);
        nb.set(b);
        nb.set(extra, b.length);
        b = nb;
        break;
      }
      case 6: {
        // remove a slice from the middle
        const at = rnd() % b.length;
        const len = Math.min(1 + (rnd() % 8), b.length - at);
        const nb = new Uint8Array(b.length - len);
        nb.set(b.subarray(0, at));
        nb.set(b.subarray(at + len), at);
        b = nb;
        break;
      }
      default: // change the message type
        if (b.length > 1) b[1] = rnd() % 2 === 0 ? rnd() % 32 : rnd() & 0xff;
    }
  }
  // Mostly keep the header consistent so that decoding reaches the body.
  if (b.length >= 4 && rnd() % 8 !== 0 && b.length <= 0xffff) {
    b[2] = b.length >> 8;
    b[3] = b.length & 0xff;
  }
  return b;
}

/** Random bytes behind a plausible header (version 4 mostly, any type, consistent length). */
export function randomMessage(rnd: () => number, maxBody = 96): Uint8Array {
  const len = 8 + (rnd() % (maxBody + 1));
  const b = new Uint8Array(len);
  for (let i = 0; i < len; i++) b[i] = rnd() & 0xff;
  b[0] = rnd() % 8 === 0 ? b[0]! : 4;
  b[1] = rnd() % 4 === 0 ? b[1]! : rnd() % 32;
  b[2] = len >> 8;
  b[3] = len & 0xff;
  return b;
}

/**
 * Check the decoder contract on one input; throws an AssertionError describing any violation.
 * Returns null when the input decoded, or the OfDecodeError that rejected it.
 */
export function checkInput(bytes: Uint8Array): OfDecodeError | null {
  let m: ReturnType<typeof decodeMessage>;
  try {
    m = decodeMessage(bytes);
  } catch (e) {
    if (!(e instanceof OfDecodeError)) {
      assert.fail(
        `decodeMessage threw ${String(e)} (not an OfDecodeError) on ${Buffer.from(bytes).toString('hex')}`,
      );
    }
    if (e.field.includes('(internal)')) {
      assert.fail(`decoder bug: ${e.message} on ${Buffer.from(bytes).toString('hex')}`);
    }
    return e;
  }
  let again: Buffer;
  try {
    again = encodeMessage(m);
  } catch (e) {
    assert.fail(
      `a decoded message does not re-encode: ${String(e)} on ${Buffer.from(bytes).toString('hex')}`,
    );
  }
  assert.deepEqual(decodeMessage(again), m, `re-decode differs for ${Buffer.from(bytes).toString('hex')}`);
  return null;
}
