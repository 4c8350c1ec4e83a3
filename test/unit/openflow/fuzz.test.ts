// Random and mutated bytes never make the decoder throw anything but OfDecodeError, never hang it,
// and whatever it accepts re-encodes to a message that decodes to the same value.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { checkInput, mutate, randomMessage, seedCorpus, xorshift } from './fuzz-lib.ts';

const runs = (n: number) => Math.round(n * Number(process.env.VNM_PROPERTY_SCALE ?? 1));
const corpus = seedCorpus(300);

test(`random bytes (${runs(15_000)} fast-check cases)`, { timeout: 60_000 }, () => {
  fc.assert(
    fc.property(
      fc.uint8Array({ minLength: 0, maxLength: 120 }),
      fc.nat(0xff),
      fc.nat(40),
      (body, version, type) => {
        const b = new Uint8Array(body.length + 8);
        b.set(body, 8);
        b[0] = version % 3 === 0 ? version : 4;
        b[1] = type;
        b[2] = b.length >> 8;
        b[3] = b.length & 0xff;
        checkInput(b);
      },
    ),
    { numRuns: runs(15_000) },
  );
});

test(`mutated valid messages (${runs(40_000)} fast-check cases)`, { timeout: 60_000 }, () => {
  let decoded = 0;
  fc.assert(
    fc.property(fc.nat(corpus.length - 1), fc.integer(), (i, seed) => {
      if (checkInput(mutate(corpus[i]!, xorshift(seed))) === null) decoded++;
    }),
    { numRuns: runs(40_000) },
  );
  // The mutations must not be so destructive that nothing decodes (then the body decoders go untested).
  assert.ok(decoded > runs(40_000) / 20, `only ${decoded} mutated messages decoded`);
});

test(`seeded random messages and mutations with a per-case time bound (${runs(30_000)} cases)`, {
  timeout: 60_000,
}, () => {
  const rnd = xorshift(0xc0ffee);
  let worst = 0;
  for (let i = 0; i < runs(30_000); i++) {
    const input = i % 3 === 0 ? randomMessage(rnd) : mutate(corpus[rnd() % corpus.length]!, rnd);
    const t = performance.now();
    checkInput(input);
    worst = Math.max(worst, performance.now() - t);
  }
  assert.ok(worst < 1_000, `a single input took ${worst.toFixed(1)} ms`);
});
