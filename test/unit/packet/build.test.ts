import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import {
  AddressError,
  ARP_OP,
  buildArp,
  buildEthernet,
  buildFrame,
  buildGratuitousArp,
  buildIcmpEcho,
  buildIpv4Tcp,
  buildIpv4Udp,
  buildRarpAnnounce,
  buildTcp,
  buildUdp,
  ETH_TYPE,
  type FrameSpec,
  isGratuitousArp,
  PacketBuildError,
  parsePacket,
  TCP_FLAGS,
  tcpFlagNames,
  tcpFlagsOf,
} from '../../../src/packet/index.ts';
import { assertSubset, frameSpec } from './arbitraries.ts';

const A = '02:00:00:00:00:0a';
const B = '02:00:00:00:00:0b';
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

describe('round trip build -> parse (property, every protocol)', () => {
  it('parse(buildFrame(spec)) carries every field of spec, with valid checksums, and re-encodes identically', () => {
    const seen = new Set<string>();
    fc.assert(
      fc.property(frameSpec, (spec) => {
        const bytes = buildFrame(spec);
        const p = parsePacket(bytes, { verifyChecksums: true });
        seen.add(`${p.l3?.kind}/${p.l4?.kind}`);
        assert.equal(p.truncated, false);
        assertSubset(p, spec);
        if (p.l3?.kind === 'ipv4') assert.equal(p.l3.checksumValid, true);
        if (p.l4) assert.equal(p.l4.checksumValid, true);
        if (spec.l4) assert.equal(p.l4?.kind, spec.l4.kind);
        if (spec.l3) assert.equal(p.l3?.kind, spec.l3.kind);
        assert.equal(hex(buildFrame(p)), hex(bytes));
      }),
      { numRuns: 3000 },
    );
    for (const combo of [
      'ipv4/udp',
      'ipv4/tcp',
      'ipv4/icmp',
      'ipv6/udp',
      'ipv6/tcp',
      'ipv6/icmpv6',
      'ipv4/undefined',
      'ipv6/undefined',
      'arp/undefined',
      'lldp/undefined',
      'undefined/undefined',
    ]) {
      assert.ok(seen.has(combo), `generator never produced ${combo}`);
    }
  });

  it('pads to 60 bytes without changing what is parsed', () => {
    fc.assert(
      fc.property(frameSpec, (spec) => {
        const plain = buildFrame(spec);
        const padded = buildFrame({ ...spec, pad: true });
        assert.equal(padded.length, Math.max(60, plain.length));
        assert.equal(hex(padded.subarray(0, plain.length)), hex(plain));
        const p = parsePacket(padded, { verifyChecksums: true });
        if (spec.l3) assertSubset(p, spec); // unknown EtherTypes keep the padding in payload
        if (p.l4) assert.equal(p.l4.checksumValid, true);
      }),
      { numRuns: 500 },
    );
  });
});

describe('buildEthernet', () => {
  it('writes header, tags and payload', () => {
    const f = buildEthernet({
      dst: 'ff:ff:ff:ff:ff:ff',
      src: 0x020000000001n,
      vlan: 42,
      ethType: 0x88b5,
      payload: Uint8Array.of(9),
    });
    assert.equal(hex(f), 'ffffffffffff020000000001' + '8100002a' + '88b5' + '09');
    const g = buildEthernet({
      dst: Uint8Array.of(1, 2, 3, 4, 5, 6),
      src: 'AA-BB-CC-DD-EE-FF',
      vlan: [
        { vid: 1, tpid: 0x88a8, pcp: 3 },
        { vid: 2, dei: true },
      ],
      ethType: 0x0800,
    });
    assert.equal(hex(g), '010203040506aabbccddeeff' + '88a86001' + '81001002' + '0800');
  });
});

describe('ARP builders', () => {
  it('builds a request (broadcast) and a reply (unicast to the asker)', () => {
    const req = buildArp({ senderMac: A, senderIp: '10.0.0.1', targetIp: '10.0.0.2' });
    assert.equal(
      hex(req),
      'ffffffffffff' +
        '02000000000a' +
        '0806' +
        '0001 0800 06 04 0001'.replace(/ /g, '') +
        '02000000000a0a000001' +
        '0000000000000a000002',
    );
    const rep = parsePacket(
      buildArp({
        operation: 'reply',
        senderMac: B,
        senderIp: '10.0.0.2',
        targetMac: A,
        targetIp: '10.0.0.1',
      }),
    );
    assert.equal(rep.eth.dst, A);
    assert.equal(rep.eth.src, B);
    assert.ok(rep.l3?.kind === 'arp');
    assert.equal(rep.l3.operation, ARP_OP.REPLY);
  });

  it('builds gratuitous ARP requests and replies', () => {
    const g = parsePacket(buildGratuitousArp(A, '10.0.0.7', { vlan: 5 }));
    assert.equal(g.eth.dst, 'ff:ff:ff:ff:ff:ff');
    assert.equal(g.eth.ethType, ETH_TYPE.ARP);
    assert.equal(g.eth.vlans[0]?.vid, 5);
    assert.ok(g.l3?.kind === 'arp' && isGratuitousArp(g.l3));
    assert.deepEqual(
      [g.l3.operation, g.l3.senderMac, g.l3.senderIp, g.l3.targetMac, g.l3.targetIp],
      [1, A, '10.0.0.7', '00:00:00:00:00:00', '10.0.0.7'],
    );
    const r = parsePacket(buildGratuitousArp(A, '10.0.0.7', { operation: 'reply' }));
    assert.ok(r.l3?.kind === 'arp' && isGratuitousArp(r.l3));
    assert.equal(r.l3.operation, 2);
    assert.equal(r.l3.targetMac, A);
    assert.equal(r.eth.dst, 'ff:ff:ff:ff:ff:ff');
  });

  it('builds the RARP announcement QEMU sends after migration, byte for byte', () => {
    const f = buildRarpAnnounce('52:54:00:12:34:56');
    const expected =
      'ffffffffffff' +
      '525400123456' +
      '8035' +
      '0001' + // Ethernet
      '0800' + // IPv4
      '06' +
      '04' +
      '0003' + // request reverse
      '525400123456' +
      '00000000' +
      '525400123456' +
      '00000000' +
      '00'.repeat(18);
    assert.equal(hex(f), expected);
    const p = parsePacket(f);
    assert.ok(p.l3?.kind === 'arp');
    assert.equal(p.eth.ethType, ETH_TYPE.RARP);
    assert.equal(p.l3.operation, ARP_OP.RARP_REQUEST);
    assert.equal(buildRarpAnnounce('52:54:00:12:34:56', { pad: false }).length, 42);
  });
});

describe('IP builders', () => {
  it('builds UDP over IPv4 and IPv6 by address family', () => {
    const common = { srcMac: A, dstMac: B, srcPort: 5000, dstPort: 53, payload: Buffer.from('q') };
    const v4 = parsePacket(buildUdp({ ...common, srcIp: '10.0.0.1', dstIp: '10.0.0.2', ttl: 3, dscp: 46 }), {
      verifyChecksums: true,
    });
    assert.ok(v4.l3?.kind === 'ipv4' && v4.l4?.kind === 'udp');
    assert.deepEqual([v4.l3.ttl, v4.l3.dscp, v4.l4.length, v4.l4.checksumValid], [3, 46, 9, true]);
    const v6 = parsePacket(buildUdp({ ...common, srcIp: 'fd00::1', dstIp: 'fd00::2', ttl: 3, dscp: 46 }), {
      verifyChecksums: true,
    });
    assert.ok(v6.l3?.kind === 'ipv6' && v6.l4?.kind === 'udp');
    assert.deepEqual([v6.l3.hopLimit, v6.l3.trafficClass >> 2, v6.l4.checksumValid], [3, 46, true]);
    assert.deepEqual(
      buildIpv4Udp({ ...common, srcIp: '10.0.0.1', dstIp: '10.0.0.2' }),
      buildUdp({ ...common, srcIp: '10.0.0.1', dstIp: '10.0.0.2' }),
    );
    assert.throws(() => buildIpv4Udp({ ...common, srcIp: 'fd00::1', dstIp: 'fd00::2' }), PacketBuildError);
    assert.throws(() => buildUdp({ ...common, srcIp: '10.0.0.1', dstIp: 'fd00::2' }), PacketBuildError);
  });

  it('never writes a zero UDP checksum (0 means none)', () => {
    // Find a payload whose UDP checksum would come out as 0, then check it is sent as 0xffff.
    const base = { srcMac: A, dstMac: B, srcIp: '10.0.0.1', dstIp: '10.0.0.2', srcPort: 1, dstPort: 2 };
    const probe = parsePacket(buildUdp({ ...base, payload: Uint8Array.of(0, 0) }));
    assert.ok(probe.l4?.kind === 'udp');
    const c = probe.l4.checksum; // checksum with a zero word; adding ~c... makes the sum 0xffff
    const word = c; // adding this word turns the complemented sum into 0
    const f = buildUdp({ ...base, payload: Uint8Array.of(word >>> 8, word & 0xff) });
    const p = parsePacket(f, { verifyChecksums: true });
    assert.ok(p.l4?.kind === 'udp');
    assert.equal(p.l4.checksum, 0xffff);
    assert.equal(p.l4.checksumValid, true);
  });

  it('builds TCP with flags by name or bits', () => {
    const base = { srcMac: A, dstMac: B, srcIp: '10.0.0.1', dstIp: '10.0.0.2', srcPort: 40000, dstPort: 80 };
    const f = buildIpv4Tcp({
      ...base,
      flags: ['SYN', 'ACK'],
      seq: 0xffffffff,
      ack: 1,
      window: 1024,
      options: Uint8Array.of(1, 1, 1),
    });
    const p = parsePacket(f, { verifyChecksums: true });
    assert.ok(p.l4?.kind === 'tcp');
    assert.equal(p.l4.flags, TCP_FLAGS.SYN | TCP_FLAGS.ACK);
    assert.deepEqual(tcpFlagNames(p.l4.flags), ['SYN', 'ACK']);
    assert.equal(p.l4.seq, 0xffffffff);
    assert.equal(p.l4.headerLength, 24);
    assert.equal(hex(p.l4.options), '01010100');
    assert.equal(p.l4.checksumValid, true);
    assert.equal(tcpFlagsOf(['FIN', 'NS']), 0x101);
    assert.equal(tcpFlagsOf(undefined), 0);
    assert.ok(parsePacket(buildTcp({ ...base, srcIp: '::1', dstIp: '::2' })).l3?.kind === 'ipv6');
  });

  it('builds ICMP and ICMPv6 echo request and reply', () => {
    const base = { srcMac: A, dstMac: B, identifier: 7, sequence: 9, payload: Buffer.from('abc') };
    const cases = [
      [{ srcIp: '10.0.0.1', dstIp: '10.0.0.2' }, undefined, 'icmp', 8],
      [{ srcIp: '10.0.0.1', dstIp: '10.0.0.2' }, 'reply', 'icmp', 0],
      [{ srcIp: 'fd00::1', dstIp: 'fd00::2' }, undefined, 'icmpv6', 128],
      [{ srcIp: 'fd00::1', dstIp: 'fd00::2' }, 'reply', 'icmpv6', 129],
    ] as const;
    for (const [ips, type, kind, wireType] of cases) {
      const p = parsePacket(buildIcmpEcho({ ...base, ...ips, type }), { verifyChecksums: true });
      assert.ok(p.l4?.kind === kind);
      assert.equal(p.l4.type, wireType);
      assert.deepEqual(p.l4.echo, { identifier: 7, sequence: 9 });
      assert.equal(p.l4.checksumValid, true);
      assert.equal(Buffer.from(p.payload).toString(), 'abc');
    }
  });
});

describe('build errors', () => {
  const eth = { dst: A, src: B };
  const v4 = { kind: 'ipv4', src: '10.0.0.1', dst: '10.0.0.2' } as const;
  const cases: [string, FrameSpec, string][] = [
    ['vid', { eth: { ...eth, vlans: [4096], ethType: 1536 } }, 'vlan[0].vid'],
    ['pcp', { eth: { ...eth, vlans: [{ vid: 1, pcp: 8 }], ethType: 1536 } }, 'vlan[0].pcp'],
    ['tpid', { eth: { ...eth, vlans: [{ vid: 1, tpid: 0x9100 }], ethType: 1536 } }, 'vlan[0].tpid'],
    ['ethType', { eth }, 'eth.ethType'],
    ['ethType range', { eth: { ...eth, ethType: 0x10000 } }, 'eth.ethType'],
    ['port', { eth, l3: v4, l4: { kind: 'udp', srcPort: 65536, dstPort: 1 } }, 'udp.srcPort'],
    ['non-integer', { eth, l3: v4, l4: { kind: 'udp', srcPort: 1.5, dstPort: 1 } }, 'udp.srcPort'],
    ['ttl', { eth, l3: { ...v4, ttl: 256 }, l4: { kind: 'udp', srcPort: 1, dstPort: 1 } }, 'ipv4.ttl'],
    [
      'ip options',
      { eth, l3: { ...v4, options: new Uint8Array(41) }, l4: { kind: 'udp', srcPort: 1, dstPort: 1 } },
      'ipv4.options',
    ],
    [
      'tcp options',
      { eth, l3: v4, l4: { kind: 'tcp', srcPort: 1, dstPort: 1, options: new Uint8Array(44) } },
      'tcp.options',
    ],
    ['l4 without l3', { eth, l4: { kind: 'udp', srcPort: 1, dstPort: 1 } }, 'l4'],
    ['icmpv6 over ipv4', { eth, l3: v4, l4: { kind: 'icmpv6', type: 128 } }, 'l4'],
    [
      'protocol contradicts l4',
      { eth, l3: { ...v4, protocol: 6 }, l4: { kind: 'udp', srcPort: 1, dstPort: 1 } },
      'ipv4.protocol',
    ],
    ['protocol missing', { eth, l3: v4 }, 'ipv4.protocol'],
    ['too big', { eth, l3: { ...v4, protocol: 99 }, payload: new Uint8Array(65516) }, 'ipv4.totalLength'],
    [
      'lldp value',
      {
        eth,
        l3: {
          kind: 'lldp',
          chassisId: { subtype: 7, value: '' },
          portId: { subtype: 1, value: 'x' },
          ttl: 1,
        },
      },
      'lldp.chassisId.value',
    ],
    [
      'lldp end tlv',
      {
        eth,
        l3: {
          kind: 'lldp',
          chassisId: { subtype: 7, value: 'a' },
          portId: { subtype: 1, value: 'x' },
          ttl: 1,
          tlvs: [{ type: 0, value: '' }],
        },
      },
      'lldp.tlvs[0].type',
    ],
    [
      'lldp long tlv',
      {
        eth,
        l3: {
          kind: 'lldp',
          chassisId: { subtype: 7, value: 'a' },
          portId: { subtype: 1, value: 'x' },
          ttl: 1,
          tlvs: [{ type: 5, value: new Uint8Array(512) }],
        },
      },
      'lldp.tlvs[0].value',
    ],
    [
      'ext header length',
      {
        eth,
        l3: {
          kind: 'ipv6',
          src: '::1',
          dst: '::2',
          protocol: 59,
          extensionHeaders: [{ type: 0, data: new Uint8Array(6) }],
        },
      },
      'ipv6.extensionHeaders[0].data',
    ],
    [
      'ext header type',
      {
        eth,
        l3: {
          kind: 'ipv6',
          src: '::1',
          dst: '::2',
          protocol: 59,
          extensionHeaders: [{ type: 6, data: new Uint8Array(7) }],
        },
      },
      'ipv6.extensionHeaders[0].type',
    ],
  ];
  for (const [name, spec, field] of cases) {
    it(`rejects ${name} with PacketBuildError naming ${field}`, () => {
      assert.throws(
        () => buildFrame(spec),
        (e: unknown) => e instanceof PacketBuildError && e.field === field,
      );
    });
  }

  it('rejects bad addresses with AddressError', () => {
    assert.throws(() => buildFrame({ eth: { dst: 'nope', src: B, ethType: 1536 } }), AddressError);
    assert.throws(
      () => buildArp({ senderMac: A, senderIp: '10.0.0.256', targetIp: '10.0.0.1' }),
      AddressError,
    );
    assert.throws(
      () => buildUdp({ srcMac: A, dstMac: B, srcIp: 'fd00::1::2', dstIp: 'fd00::2', srcPort: 1, dstPort: 2 }),
      AddressError,
    );
  });
});
