import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import {
  buildLldp,
  buildLldpDiscovery,
  buildUdp,
  ETH_TYPE,
  LLDP_TLV,
  PacketBuildError,
  PacketParseError,
  parseLldpDiscovery,
  parsePacket,
} from '../../../src/packet/index.ts';
import { vlanTag } from './arbitraries.ts';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

// An LLDPDU as lldpd sends it: chassis id = MAC, port id = interface name, TTL, system name,
// an IEEE 802.3 org-specific TLV (maximum frame size 1518), End, then Ethernet padding.
const LLDPD_FRAME = Buffer.from(
  [
    '0180c200000e 525400aabbcc 88cc',
    '0207 04 525400aabbcc',
    '0405 05 65746830',
    '0602 0078',
    '0a03 737731',
    'fe06 00120f 04 05ee',
    '0000',
    '00'.repeat(11),
  ]
    .join('')
    .replace(/ /g, ''),
  'hex',
);

describe('LLDP', () => {
  it('parses an lldpd frame: mandatory TLVs decoded, other TLVs kept in order, padding ignored', () => {
    const p = parsePacket(LLDPD_FRAME);
    assert.equal(LLDPD_FRAME.length, 60);
    assert.equal(p.eth.ethType, ETH_TYPE.LLDP);
    assert.equal(p.truncated, false);
    assert.ok(p.l3?.kind === 'lldp');
    assert.equal(p.l3.chassisId.subtype, 4);
    assert.equal(hex(p.l3.chassisId.value), '525400aabbcc');
    assert.equal(p.l3.portId.subtype, 5);
    assert.equal(Buffer.from(p.l3.portId.value).toString(), 'eth0');
    assert.equal(p.l3.ttl, 120);
    assert.deepEqual(
      p.l3.tlvs.map((t) => [t.type, hex(t.value)]),
      [
        [LLDP_TLV.SYSTEM_NAME, '737731'],
        [LLDP_TLV.ORGANIZATION_SPECIFIC, '00120f0405ee'],
      ],
    );
    assert.equal(p.payload.length, 0);
    assert.equal(parseLldpDiscovery(LLDPD_FRAME), undefined); // not one of ours
  });

  it('builds the same bytes with buildLldp', () => {
    const f = buildLldp({
      src: '52:54:00:aa:bb:cc',
      chassisId: { subtype: 4, value: Uint8Array.of(0x52, 0x54, 0, 0xaa, 0xbb, 0xcc) },
      portId: { subtype: 5, value: 'eth0' },
      tlvs: [
        { type: LLDP_TLV.SYSTEM_NAME, value: 'sw1' },
        { type: LLDP_TLV.ORGANIZATION_SPECIFIC, value: Uint8Array.of(0, 0x12, 0x0f, 4, 5, 0xee) },
      ],
      pad: true,
    });
    assert.equal(hex(f), hex(LLDPD_FRAME));
  });

  it('reports truncation: cut inside a TLV, or no End TLV', () => {
    const noEnd = LLDPD_FRAME.subarray(0, 14 + 9 + 7 + 4 + 5);
    const a = parsePacket(noEnd);
    assert.equal(a.truncated, true);
    assert.deepEqual(a.truncation, { layer: 'lldp', field: 'end', offset: noEnd.length });
    assert.ok(a.l3?.kind === 'lldp'); // mandatory TLVs were whole
    assert.equal(a.l3.tlvs.length, 1);
    const midTtl = parsePacket(LLDPD_FRAME.subarray(0, 14 + 9 + 7 + 3));
    assert.equal(midTtl.l3, undefined);
    assert.deepEqual(midTtl.truncation, { layer: 'lldp', field: 'ttl', offset: 30 });
    assert.equal(midTtl.payload.length, 19);
    const oneByte = parsePacket(LLDPD_FRAME.subarray(0, 15));
    assert.deepEqual(oneByte.truncation, { layer: 'lldp', field: 'tlvHeader', offset: 14 });
  });

  it('rejects mandatory TLVs out of order or too short', () => {
    const swapped = Buffer.from(LLDPD_FRAME);
    swapped[14] = 0x04; // first TLV claims to be a port id
    assert.throws(
      () => parsePacket(swapped),
      (e: unknown) =>
        e instanceof PacketParseError &&
        e.layer === 'lldp' &&
        e.field === 'chassisId' &&
        e.offset === 14 &&
        e.kind === 'malformed',
    );
    const empty = Buffer.from(
      '0180c200000e525400aabbcc88cc' + '020104' + '04050565746830' + '06020078' + '0000',
      'hex',
    );
    assert.throws(
      () => parsePacket(empty),
      (e: unknown) => e instanceof PacketParseError && e.field === 'chassisId',
    );
  });
});

describe('LLDP topology discovery', () => {
  it('encodes dpid and port like Ryu (chassis "dpid:%016x", port id 4 bytes)', () => {
    const f = buildLldpDiscovery({ dpid: 1n, port: 2, src: '02:00:00:00:00:01' });
    assert.equal(
      hex(f),
      [
        '0180c200000e',
        '020000000001',
        '88cc',
        '0216',
        '07',
        Buffer.from('dpid:0000000000000001').toString('hex'),
        '0405',
        '02',
        '00000002',
        '0602',
        '0078',
        '0000',
      ].join(''),
    );
    assert.deepEqual(parseLldpDiscovery(f), { dpid: 1n, port: 2 });
  });

  it('round-trips any 64-bit dpid and 32-bit port, tagged or not (property)', () => {
    fc.assert(
      fc.property(
        fc.bigInt({ min: 0n, max: 0xffffffffffffffffn }),
        fc.integer({ min: 0, max: 0xffffffff }),
        fc.array(vlanTag, { maxLength: 2 }),
        fc.integer({ min: 0, max: 0xffff }),
        fc.boolean(),
        (dpid, port, vlan, ttl, pad) => {
          const f = buildLldpDiscovery({ dpid, port, vlan, ttl, pad });
          assert.deepEqual(parseLldpDiscovery(f), { dpid, port });
          const parsed = parsePacket(f);
          assert.deepEqual(parseLldpDiscovery(parsed), { dpid, port });
          assert.ok(parsed.l3?.kind === 'lldp');
          assert.equal(parsed.l3.ttl, ttl);
          assert.deepEqual(parseLldpDiscovery(parsed.l3), { dpid, port });
          assert.equal(parsed.eth.dst, '01:80:c2:00:00:0e');
          assert.equal(
            parsed.eth.src,
            `02:${(dpid & 0xffffffffffn).toString(16).padStart(10, '0').match(/../g)!.join(':')}`,
          );
        },
      ),
      { numRuns: 1000 },
    );
  });

  it('accepts 16-bit port ids (OpenFlow 1.0 style)', () => {
    const f = buildLldp({
      src: '02:00:00:00:00:01',
      chassisId: { subtype: 7, value: 'dpid:00000000000000ab' },
      portId: { subtype: 2, value: Uint8Array.of(0xff, 0xfe) },
    });
    assert.deepEqual(parseLldpDiscovery(f), { dpid: 0xabn, port: 0xfffe });
  });

  it('returns undefined (never throws) for anything else', () => {
    const other = [
      buildLldp({
        src: '02:00:00:00:00:01',
        chassisId: { subtype: 7, value: 'host-1' },
        portId: { subtype: 2, value: Uint8Array.of(0, 0, 0, 1) },
      }),
      buildLldp({
        src: '02:00:00:00:00:01',
        chassisId: { subtype: 7, value: 'dpid:1' },
        portId: { subtype: 5, value: 'eth0' },
      }),
      buildLldp({
        src: '02:00:00:00:00:01',
        chassisId: { subtype: 4, value: 'dpid:1' },
        portId: { subtype: 2, value: Uint8Array.of(0, 0, 0, 1) },
      }),
      buildLldp({
        src: '02:00:00:00:00:01',
        chassisId: { subtype: 7, value: 'dpid:00000000000000001' },
        portId: { subtype: 2, value: Uint8Array.of(0, 0, 0, 1) },
      }),
      buildLldp({
        src: '02:00:00:00:00:01',
        chassisId: { subtype: 7, value: 'dpid:1' },
        portId: { subtype: 2, value: Uint8Array.of(0, 1, 2) },
      }),
      buildUdp({
        srcMac: '02:00:00:00:00:01',
        dstMac: '02:00:00:00:00:02',
        srcIp: '10.0.0.1',
        dstIp: '10.0.0.2',
        srcPort: 1,
        dstPort: 2,
      }),
      new Uint8Array(0),
      Buffer.from('0180c200000e02000000000188cc0201', 'hex'), // garbage LLDP
      Buffer.from('0180c200000e02000000000188cc0401', 'hex'), // malformed LLDP
    ];
    for (const f of other) assert.equal(parseLldpDiscovery(f), undefined, hex(f));
    assert.equal(parseLldpDiscovery(parsePacket(other[5]!)), undefined);
  });

  it('validates dpid and port', () => {
    assert.throws(() => buildLldpDiscovery({ dpid: 1n << 64n, port: 1 }), PacketBuildError);
    assert.throws(() => buildLldpDiscovery({ dpid: -1n, port: 1 }), PacketBuildError);
    assert.throws(() => buildLldpDiscovery({ dpid: 1n, port: 2 ** 32 }), PacketBuildError);
    assert.throws(() => buildLldpDiscovery({ dpid: 1 as unknown as bigint, port: 1 }), PacketBuildError);
  });
});
