// fast-check arbitraries for frame specs, shared by the packet tests.
import fc from 'fast-check';
import {
  bigIntToMac,
  bytesToIpv6,
  type FrameSpec,
  type IcmpSpec,
  type Ipv6Extension,
  type L3Spec,
  type L4Spec,
  numberToIpv4,
  type VlanTag,
} from '../../../src/packet/index.ts';

export const mac = fc.bigInt({ min: 0n, max: 0xffffffffffffn }).map(bigIntToMac);
export const ipv4 = fc.integer({ min: 0, max: 0xffffffff }).map(numberToIpv4);
export const ipv6 = fc.uint8Array({ minLength: 16, maxLength: 16 }).map((b) => bytesToIpv6(b));
const u8 = fc.integer({ min: 0, max: 0xff });
const u16 = fc.integer({ min: 0, max: 0xffff });
const u32 = fc.integer({ min: 0, max: 0xffffffff });
const bytes = (maxLength: number, minLength = 0) => fc.uint8Array({ minLength, maxLength });
const words = (maxWords: number) =>
  fc.integer({ min: 0, max: maxWords }).chain((n) => fc.uint8Array({ minLength: n * 4, maxLength: n * 4 }));

export const vlanTag: fc.Arbitrary<VlanTag> = fc.record({
  tpid: fc.constantFrom(0x8100, 0x88a8),
  pcp: fc.integer({ min: 0, max: 7 }),
  dei: fc.boolean(),
  vid: fc.integer({ min: 0, max: 4095 }),
});

export const payload = bytes(120);

const udp: fc.Arbitrary<L4Spec> = fc.record({
  kind: fc.constant('udp' as const),
  srcPort: u16,
  dstPort: u16,
});
const tcp: fc.Arbitrary<L4Spec> = fc.record({
  kind: fc.constant('tcp' as const),
  srcPort: u16,
  dstPort: u16,
  seq: u32,
  ack: u32,
  flags: fc.integer({ min: 0, max: 0x1ff }),
  window: u16,
  urgentPointer: u16,
  options: words(10),
});
const icmp = (kind: 'icmp' | 'icmpv6', echoTypes: [number, number]): fc.Arbitrary<IcmpSpec> =>
  fc.oneof(
    fc.record({ kind: fc.constant(kind), type: u8, code: u8, rest: u32 }),
    fc.record({
      kind: fc.constant(kind),
      type: fc.constantFrom(...echoTypes),
      code: fc.constant(0),
      echo: fc.record({ identifier: u16, sequence: u16 }),
    }),
  );

// Extension headers whose length fields agree with their size; a fragment header is always a first fragment.
const extension: fc.Arbitrary<Ipv6Extension> = fc.oneof(
  fc
    .tuple(fc.constantFrom(0, 43, 60), fc.integer({ min: 0, max: 3 }))
    .chain(([type, n]) =>
      bytes((n + 1) * 8 - 2, (n + 1) * 8 - 2).map((rest) => ({ type, data: Uint8Array.of(n, ...rest) })),
    ),
  u32.map((id) => ({
    type: 44,
    data: Uint8Array.of(0, 0, 0, id >>> 24, (id >>> 16) & 255, (id >>> 8) & 255, id & 255),
  })),
  fc
    .integer({ min: 1, max: 4 })
    .chain((n) =>
      bytes((n + 2) * 4 - 2, (n + 2) * 4 - 2).map((rest) => ({ type: 51, data: Uint8Array.of(n, ...rest) })),
    ),
);

const ipv4Spec = (protocol?: number) =>
  fc.record({
    kind: fc.constant('ipv4' as const),
    src: ipv4,
    dst: ipv4,
    ttl: u8,
    dscp: fc.integer({ min: 0, max: 63 }),
    ecn: fc.integer({ min: 0, max: 3 }),
    identification: u16,
    dontFragment: fc.boolean(),
    moreFragments: fc.constant(false),
    fragmentOffset: fc.constant(0),
    options: words(10),
    ...(protocol === undefined ? {} : { protocol: fc.constant(protocol) }),
  });

const ipv6Spec = (protocol?: number) =>
  fc.record({
    kind: fc.constant('ipv6' as const),
    src: ipv6,
    dst: ipv6,
    hopLimit: u8,
    trafficClass: u8,
    flowLabel: fc.integer({ min: 0, max: 0xfffff }),
    extensionHeaders: fc.array(extension, { maxLength: 3 }),
    ...(protocol === undefined ? {} : { protocol: fc.constant(protocol) }),
  });

const lldpId = fc.record({ subtype: u8, value: bytes(255, 1) });
const lldpSpec: fc.Arbitrary<L3Spec> = fc.record({
  kind: fc.constant('lldp' as const),
  chassisId: lldpId,
  portId: lldpId,
  ttl: u16,
  tlvs: fc.array(fc.record({ type: fc.integer({ min: 1, max: 127 }), value: bytes(80) }), { maxLength: 5 }),
});
const arpSpec: fc.Arbitrary<L3Spec> = fc.record({
  kind: fc.constant('arp' as const),
  operation: fc.oneof(fc.integer({ min: 1, max: 4 }), u16),
  senderMac: mac,
  senderIp: ipv4,
  targetMac: mac,
  targetIp: ipv4,
});

/** IP protocols that the parser does not decode further (so random payload stays payload). */
const OPAQUE_PROTOCOLS = [2, 4, 41, 47, 50, 59, 89, 103, 112, 132, 253];
const DECODED_ETHTYPES = [0x0800, 0x86dd, 0x0806, 0x8035, 0x88cc, 0x8100, 0x88a8];

const eth = fc.record({ dst: mac, src: mac, vlans: fc.array(vlanTag, { maxLength: 3 }) });

/** Any frame the builders can make (without padding). Every layer fully specified, so parse output can be compared. */
export const frameSpec: fc.Arbitrary<FrameSpec> = fc.oneof(
  fc.record({ eth, l3: ipv4Spec(), l4: fc.oneof(udp, tcp, icmp('icmp', [0, 8])), payload }),
  fc.record({ eth, l3: ipv6Spec(), l4: fc.oneof(udp, tcp, icmp('icmpv6', [128, 129])), payload }),
  fc.record({ eth, l3: fc.constantFrom(...OPAQUE_PROTOCOLS).chain((p) => ipv4Spec(p)), payload }),
  fc.record({ eth, l3: fc.constantFrom(...OPAQUE_PROTOCOLS).chain((p) => ipv6Spec(p)), payload }),
  fc.record({ eth, l3: fc.oneof(arpSpec, lldpSpec) }),
  fc.record({
    eth: fc.record({
      dst: mac,
      src: mac,
      vlans: fc.array(vlanTag, { maxLength: 3 }),
      ethType: u16.filter((t) => !DECODED_ETHTYPES.includes(t)),
    }),
    payload,
  }),
);

const hex = (b: Uint8Array) => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');

/** Asserts that every defined field of `expected` (recursively) equals the same field of `actual`. */
export function assertSubset(actual: unknown, expected: unknown, path = '$'): void {
  if (expected instanceof Uint8Array) {
    if (!(actual instanceof Uint8Array)) throw new Error(`${path}: expected bytes, got ${String(actual)}`);
    if (hex(actual) !== hex(expected)) throw new Error(`${path}: ${hex(actual)} !== ${hex(expected)}`);
    return;
  }
  if (Array.isArray(expected)) {
    if (!Array.isArray(actual) || actual.length !== expected.length) {
      throw new Error(`${path}: expected array of ${expected.length}, got ${JSON.stringify(actual)}`);
    }
    for (let i = 0; i < expected.length; i++) assertSubset(actual[i], expected[i], `${path}[${i}]`);
    return;
  }
  if (expected !== null && typeof expected === 'object') {
    if (actual === null || typeof actual !== 'object')
      throw new Error(`${path}: expected object, got ${String(actual)}`);
    for (const [k, v] of Object.entries(expected)) {
      if (v !== undefined) assertSubset((actual as Record<string, unknown>)[k], v, `${path}.${k}`);
    }
    return;
  }
  if (actual !== expected) throw new Error(`${path}: ${String(actual)} !== ${String(expected)}`);
}
