// Robustness: parsing arbitrary bytes throws nothing but PacketParseError, never reads out of bounds,
// and what it returns is self-consistent. Well over 20,000 generated cases in total.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import {
  buildFrame,
  ethernetHeaderOf,
  PacketParseError,
  type ParsedPacket,
  parseEthernet,
  parseLldpDiscovery,
  parsePacket,
} from '../../../src/packet/index.ts';
import { frameSpec } from './arbitraries.ts';
import { CAPTURED_FRAMES } from './captured-frames.ts';

let cases = 0;

/** Parses, allowing only PacketParseError; checks invariants of a successful parse. */
function parseChecked(bytes: Uint8Array, verifyChecksums: boolean): ParsedPacket | undefined {
  cases++;
  let p: ParsedPacket;
  try {
    p = parsePacket(bytes, { verifyChecksums });
  } catch (e) {
    if (e instanceof PacketParseError) {
      assert.ok(e.offset >= 0 && e.offset <= bytes.length, `error offset ${e.offset} outside frame`);
      assert.ok(e.field.length > 0);
      return undefined;
    }
    throw e;
  }
  assert.equal(p.truncated, p.truncation !== undefined);
  if (p.payload.length > 0) {
    assert.equal(p.payload.buffer, bytes.buffer, 'payload is a view of the input');
    assert.ok(p.payload.byteOffset >= bytes.byteOffset);
    assert.ok(p.payload.byteOffset + p.payload.length <= bytes.byteOffset + bytes.length);
  }
  if (p.l3) assert.ok(p.l3.offset === p.eth.headerLength);
  if (p.l4) {
    assert.ok(p.l3?.kind === 'ipv4' || p.l3?.kind === 'ipv6');
    assert.ok(p.l4.offset > p.l3.offset && p.l4.offset < bytes.length);
  }
  if (!p.truncated) {
    // Whatever parses whole can be re-encoded, and the re-encoding parses to the same layers.
    const q = parsePacket(buildFrame(p), { verifyChecksums: true });
    assert.equal(q.l3?.kind, p.l3?.kind);
    assert.equal(q.l4?.kind, p.l4?.kind);
    assert.deepEqual(q.eth, p.eth);
    assert.equal(Buffer.from(q.payload).toString('hex'), Buffer.from(p.payload).toString('hex'));
    if (q.l4) assert.equal(q.l4.checksumValid, true);
  }
  return p;
}

const DECODED = [0x0800, 0x86dd, 0x0806, 0x8035, 0x88cc];
const TPIDS = [0x8100, 0x88a8];

/** Random bytes after a real Ethernet header (optionally tagged) naming a decoded EtherType. */
const typedGarbage = fc
  .tuple(
    fc.uint8Array({ minLength: 12, maxLength: 12 }),
    fc.array(fc.tuple(fc.constantFrom(...TPIDS), fc.integer({ min: 0, max: 0xffff })), { maxLength: 2 }),
    fc.constantFrom(...DECODED),
    fc.uint8Array({ maxLength: 120 }),
    fc.boolean(),
  )
  .map(([macs, tags, type, rest, plausible]) => {
    const head: number[] = [...macs];
    for (const [tpid, tci] of tags) head.push(tpid >> 8, tpid & 255, tci >> 8, tci & 255);
    head.push(type >> 8, type & 255);
    const body = Uint8Array.from(rest);
    // Half the time make the first byte a plausible version/IHL so deeper layers are reached.
    if (plausible && body.length > 0) {
      if (type === 0x0800) body[0] = 0x45;
      if (type === 0x86dd) body[0] = 0x60;
    }
    return Uint8Array.from([...head, ...body]);
  });

const validFrame = fc.oneof(
  { weight: 3, arbitrary: frameSpec.map((s) => buildFrame(s)) },
  {
    weight: 1,
    arbitrary: fc.constantFrom(...CAPTURED_FRAMES).map((f) => Uint8Array.from(Buffer.from(f.hex, 'hex'))),
  },
);

/** A valid frame with some bytes overwritten, maybe cut short or extended. */
const mutatedFrame = fc
  .tuple(
    validFrame,
    fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 6 }),
    fc.option(fc.nat(), { nil: undefined }),
    fc.uint8Array({ maxLength: 8 }),
  )
  .map(([frame, edits, cutAt, extra]) => {
    const b = Uint8Array.from([...frame, ...extra]);
    for (const [at, v] of edits) if (b.length > 0) b[at % b.length] = v;
    return cutAt === undefined ? b : b.subarray(0, cutAt % (b.length + 1));
  });

/** Wraps bytes in a Proxy that records any element read outside [0, length). */
function instrumented(bytes: Uint8Array, violations: string[]): Uint8Array {
  return new Proxy(bytes, {
    get(target, key) {
      if (typeof key === 'string' && /^-?\d+$/.test(key)) {
        const i = Number(key);
        if (i < 0 || i >= target.length) violations.push(key);
        return target[i];
      }
      const v = Reflect.get(target, key, target);
      return typeof v === 'function' ? v.bind(target) : v;
    },
  });
}

/** A comparable summary of a call: the JSON of its result (byte views as hex) or the error's fields. */
function outcome(fn: () => unknown): string {
  try {
    return JSON.stringify(fn(), (_k, v) => (v instanceof Uint8Array ? Buffer.from(v).toString('hex') : v));
  } catch (e) {
    if (!(e instanceof PacketParseError)) throw e;
    return `error ${e.layer} ${e.field} ${e.offset} ${e.kind}`;
  }
}

describe('parse robustness (fuzz)', () => {
  it('the out-of-bounds detector detects', () => {
    const violations: string[] = [];
    const b = instrumented(Uint8Array.of(1, 2), violations);
    assert.equal(b[1], 2);
    assert.equal(b[2], undefined);
    assert.equal(b.subarray(1).length, 1);
    assert.deepEqual(violations, ['2']);
  });

  it('random bytes: only PacketParseError', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 160 }), fc.boolean(), (b, v) => {
        parseChecked(b, v);
      }),
      { numRuns: 5000 },
    );
  });

  it('random bytes behind a decoded EtherType: only PacketParseError', () => {
    fc.assert(
      fc.property(typedGarbage, fc.boolean(), (b, v) => {
        parseChecked(b, v);
      }),
      { numRuns: 8000 },
    );
  });

  it('mutated and truncated valid frames: only PacketParseError', () => {
    fc.assert(
      fc.property(mutatedFrame, (b) => {
        parseChecked(b, true);
      }),
      { numRuns: 8000 },
    );
  });

  it('every prefix of every captured frame parses or fails with PacketParseError', () => {
    for (const f of CAPTURED_FRAMES) {
      const b = Buffer.from(f.hex, 'hex');
      for (let n = 0; n <= b.length; n++) {
        const p = parseChecked(b.subarray(0, n), true);
        if (n >= 14) assert.ok(p, `${f.label} cut at ${n} should give a partial parse`);
        if (p && n < b.length) assert.equal(p.truncated, true, `${f.label} cut at ${n}`);
      }
    }
  });

  it('never reads outside the frame (instrumented bytes)', () => {
    fc.assert(
      fc.property(fc.oneof(mutatedFrame, typedGarbage), (b) => {
        const violations: string[] = [];
        const proxied = instrumented(b, violations);
        for (const fn of [
          (x: Uint8Array) => parsePacket(x, { verifyChecksums: true }),
          (x: Uint8Array) => ethernetHeaderOf(x),
        ]) {
          cases++;
          // The instrumented run must behave exactly like the plain one (else the check proves nothing).
          assert.deepEqual(
            outcome(() => fn(proxied)),
            outcome(() => fn(b)),
          );
        }
        assert.deepEqual(violations, [], `out-of-bounds reads on ${Buffer.from(b).toString('hex')}`);
      }),
      { numRuns: 1500 },
    );
  });

  it('ethernetHeaderOf agrees with parseEthernet, and fails the same way', () => {
    fc.assert(
      fc.property(fc.oneof(typedGarbage, fc.uint8Array({ maxLength: 40 }), validFrame), (b) => {
        cases++;
        let full: ReturnType<typeof parseEthernet> | PacketParseError;
        try {
          full = parseEthernet(b);
        } catch (e) {
          assert.ok(e instanceof PacketParseError);
          full = e;
        }
        if (full instanceof PacketParseError) {
          assert.throws(
            () => ethernetHeaderOf(b),
            (e: unknown) => e instanceof PacketParseError && e.layer === full.layer && e.field === full.field,
          );
        } else {
          assert.deepEqual(ethernetHeaderOf(b), {
            dst: full.dst,
            src: full.src,
            ethType: full.ethType,
            vlanIds: full.vlans.map((t) => t.vid),
          });
        }
      }),
      { numRuns: 3000 },
    );
  });

  it('parseLldpDiscovery never throws', () => {
    const lldpGarbage = fc
      .tuple(fc.uint8Array({ minLength: 12, maxLength: 12 }), fc.uint8Array({ maxLength: 80 }))
      .map(([m, r]) => Uint8Array.from([...m, 0x88, 0xcc, ...r]));
    fc.assert(
      fc.property(fc.oneof(lldpGarbage, mutatedFrame), (b) => {
        cases++;
        parseLldpDiscovery(b);
      }),
      { numRuns: 2000 },
    );
  });

  it('ran at least 20,000 cases', () => {
    assert.ok(cases >= 20000, `only ${cases} cases`);
  });
});
