import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  ARP_OP,
  buildFrame,
  buildIcmpEcho,
  buildTcp,
  buildUdp,
  ETH_TYPE,
  ethernetHeaderOf,
  IP_PROTO,
  isGratuitousArp,
  PacketParseError,
  parseEthernet,
  parsePacket,
  TCP_FLAGS,
  tcpFlagNames,
} from '../../../src/packet/index.ts';
import { CAPTURED_FRAMES, captured } from './captured-frames.ts';

const A = '02:99:00:00:00:01';
const B = '02:99:00:00:00:02';

function parseError(fn: () => unknown): PacketParseError {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof PacketParseError, `expected PacketParseError, got ${String(e)}`);
    return e;
  }
  assert.fail('expected a PacketParseError');
}

describe('parsePacket on kernel-captured frames', () => {
  it('decodes an ICMP echo request (ping -s 24 -p 766e6d21)', () => {
    const p = parsePacket(captured('ipv4 10.99.0.1 -> 10.99.0.2 icmp type 8'));
    assert.deepEqual(p.eth, { dst: B, src: A, vlans: [], ethType: ETH_TYPE.IPV4, headerLength: 14 });
    assert.ok(p.l3?.kind === 'ipv4');
    assert.equal(p.l3.src, '10.99.0.1');
    assert.equal(p.l3.dst, '10.99.0.2');
    assert.equal(p.l3.ttl, 64);
    assert.equal(p.l3.dontFragment, true);
    assert.equal(p.l3.totalLength, 52);
    assert.equal(p.l3.headerLength, 20);
    assert.equal(p.l3.protocol, IP_PROTO.ICMP);
    assert.ok(p.l4?.kind === 'icmp');
    assert.equal(p.l4.type, 8);
    assert.equal(p.l4.code, 0);
    assert.deepEqual(p.l4.echo, { identifier: 0x32a0, sequence: 1 });
    assert.equal(p.payload.length, 24);
    assert.equal(Buffer.from(p.payload.subarray(16)).toString('hex'), '766e6d21766e6d21');
    assert.equal(p.truncated, false);
    assert.equal(p.truncation, undefined);
  });

  it('decodes ARP request and reply', () => {
    const req = parsePacket(captured('arp request'));
    assert.deepEqual(req.l3, {
      kind: 'arp',
      offset: 14,
      operation: ARP_OP.REQUEST,
      senderMac: A,
      senderIp: '10.99.0.1',
      targetMac: '00:00:00:00:00:00',
      targetIp: '10.99.0.2',
    });
    assert.equal(req.eth.dst, 'ff:ff:ff:ff:ff:ff');
    assert.equal(req.payload.length, 0);
    const rep = parsePacket(captured('arp reply'));
    assert.ok(rep.l3?.kind === 'arp');
    assert.equal(rep.l3.operation, ARP_OP.REPLY);
    assert.equal(rep.l3.senderMac, B);
    assert.equal(rep.l3.targetMac, A);
    assert.ok(!isGratuitousArp(rep.l3));
  });

  it('decodes a TCP SYN with options and the data segment', () => {
    const syn = parsePacket(captured('ipv4 10.99.0.1 -> 10.99.0.2 tcp SYN'));
    assert.ok(syn.l4?.kind === 'tcp');
    assert.equal(syn.l4.dstPort, 8080);
    assert.equal(syn.l4.flags, TCP_FLAGS.SYN);
    assert.equal(syn.l4.ack, 0);
    assert.equal(syn.l4.headerLength, 40);
    assert.equal(syn.l4.options.length, 20);
    assert.equal(syn.l4.options[0], 2); // MSS option first
    assert.deepEqual(tcpFlagNames(syn.l4.flags), ['SYN']);
    const data = parsePacket(captured('ipv4 10.99.0.1 -> 10.99.0.2 tcp PSH+ACK'));
    assert.ok(data.l4?.kind === 'tcp');
    assert.deepEqual(tcpFlagNames(data.l4.flags), ['PSH', 'ACK']);
    assert.equal(Buffer.from(data.payload).toString(), 'ping');
    const reply = parsePacket(captured('ipv4 10.99.0.2 -> 10.99.0.1 tcp PSH+ACK'));
    assert.equal(Buffer.from(reply.payload).toString(), 'pong:ping');
  });

  it('decodes UDP over IPv4 and IPv6', () => {
    const v4 = parsePacket(captured('ipv4 10.99.0.1 -> 10.99.0.2 udp'));
    assert.ok(v4.l4?.kind === 'udp');
    assert.equal(v4.l4.dstPort, 5353);
    assert.equal(v4.l4.length, 8 + 13);
    assert.equal(Buffer.from(v4.payload).toString(), 'vnm-udp-probe');
    const v6 = parsePacket(captured('ipv6 fd99::1 -> fd99::2 udp'));
    assert.ok(v6.l3?.kind === 'ipv6' && v6.l4?.kind === 'udp');
    assert.equal(v6.l3.src, 'fd99::1');
    assert.equal(v6.l3.hopLimit, 64);
    assert.equal(v6.l3.nextHeader, IP_PROTO.UDP);
    assert.equal(v6.l4.dstPort, 9999);
    assert.equal(Buffer.from(v6.payload).toString(), 'v6-udp');
  });

  it('decodes ICMPv6 echo and neighbour discovery (generic types)', () => {
    const echo = parsePacket(captured('ipv6 fd99::1 -> fd99::2 icmpv6 type 128'));
    assert.ok(echo.l3?.kind === 'ipv6' && echo.l4?.kind === 'icmpv6');
    assert.equal(echo.l3.flowLabel, 0x53d2a);
    assert.equal(echo.l3.payloadLength, 64);
    assert.deepEqual(echo.l4.echo, { identifier: 0x32a4, sequence: 1 });
    assert.equal(echo.payload.length, 56);
    const ns = parsePacket(captured('ipv6 fd99::1 -> ff02::1:ff00:2 icmpv6 type 135'));
    assert.ok(ns.l4?.kind === 'icmpv6');
    assert.equal(ns.l4.type, 135);
    assert.equal(ns.l4.echo, undefined);
    assert.equal(ns.l4.rest, 0);
    assert.equal(ns.eth.dst, '33:33:ff:00:00:02');
  });

  it('walks the hop-by-hop header of an MLDv2 report', () => {
    const p = parsePacket(captured('ipv6 :: -> ff02::16 icmpv6 type 143'));
    assert.ok(p.l3?.kind === 'ipv6' && p.l4?.kind === 'icmpv6');
    assert.equal(p.l3.nextHeader, IP_PROTO.HOPOPT);
    assert.equal(p.l3.protocol, IP_PROTO.ICMPV6);
    assert.equal(p.l3.extensionHeaders.length, 1);
    assert.equal(p.l3.extensionHeaders[0]!.type, 0);
    assert.equal(p.l3.extensionHeaders[0]!.data.length, 7);
    assert.equal(p.l4.type, 143);
    assert.equal(p.l3.src, '::');
  });

  it('re-encodes every captured frame byte for byte: buildFrame(parsePacket(x)) = x', () => {
    for (const f of CAPTURED_FRAMES) {
      assert.equal(
        Buffer.from(buildFrame(parsePacket(Buffer.from(f.hex, 'hex')))).toString('hex'),
        f.hex,
        f.label,
      );
    }
  });

  it('ethernetHeaderOf agrees with the full parse on every captured frame', () => {
    for (const f of CAPTURED_FRAMES) {
      const b = Buffer.from(f.hex, 'hex');
      const eth = parseEthernet(b);
      assert.deepEqual(ethernetHeaderOf(b), {
        dst: eth.dst,
        src: eth.src,
        ethType: eth.ethType,
        vlanIds: [],
      });
    }
  });
});

describe('VLAN tags', () => {
  it('parses stacked 802.1ad + 802.1Q tags with pcp and dei', () => {
    const f = buildUdp({
      srcMac: A,
      dstMac: B,
      srcIp: '10.0.0.1',
      dstIp: '10.0.0.2',
      srcPort: 1,
      dstPort: 2,
      vlan: [{ vid: 100, tpid: 0x88a8, pcp: 5, dei: true }, 4095, { vid: 0, pcp: 7 }],
    });
    const p = parsePacket(f);
    assert.deepEqual(p.eth.vlans, [
      { tpid: 0x88a8, pcp: 5, dei: true, vid: 100 },
      { tpid: 0x8100, pcp: 0, dei: false, vid: 4095 },
      { tpid: 0x8100, pcp: 7, dei: false, vid: 0 },
    ]);
    assert.equal(p.eth.headerLength, 26);
    assert.equal(p.eth.ethType, ETH_TYPE.IPV4);
    assert.equal(p.l3?.offset, 26);
    assert.deepEqual(ethernetHeaderOf(f), {
      dst: B,
      src: A,
      ethType: ETH_TYPE.IPV4,
      vlanIds: [100, 4095, 0],
    });
  });

  it('throws a truncated vlan error when a tag is cut', () => {
    const f = buildFrame({ eth: { dst: B, src: A, vlans: [10], ethType: 0x0800 } });
    for (const n of [15, 16, 17]) {
      const e = parseError(() => parsePacket(f.subarray(0, n)));
      assert.equal(e.layer, 'vlan');
      assert.equal(e.kind, 'truncated');
      assert.equal(parseError(() => ethernetHeaderOf(f.subarray(0, n))).layer, 'vlan');
    }
    assert.equal(parsePacket(f.subarray(0, 18)).eth.vlans[0]?.vid, 10);
  });
});

describe('truncation policy', () => {
  const udp = buildUdp({
    srcMac: A,
    dstMac: B,
    srcIp: '10.0.0.1',
    dstIp: '10.0.0.2',
    srcPort: 1000,
    dstPort: 53,
    payload: new Uint8Array(100).fill(7),
  });

  it('throws for a cut Ethernet header, naming the field', () => {
    assert.deepEqual(
      [0, 5, 6, 11, 12, 13].map((n) => {
        const e = parseError(() => parsePacket(udp.subarray(0, n)));
        return [e.layer, e.field, e.offset, e.kind];
      }),
      [
        ['ethernet', 'dst', 0, 'truncated'],
        ['ethernet', 'dst', 0, 'truncated'],
        ['ethernet', 'src', 6, 'truncated'],
        ['ethernet', 'src', 6, 'truncated'],
        ['ethernet', 'ethType', 12, 'truncated'],
        ['ethernet', 'ethType', 12, 'truncated'],
      ],
    );
  });

  it('keeps whole headers and the captured payload when only the payload is cut (miss_send_len)', () => {
    const p = parsePacket(udp.subarray(0, 64), { verifyChecksums: true });
    assert.equal(p.truncated, true);
    assert.deepEqual(p.truncation, { layer: 'udp', field: 'payload', offset: 42 });
    assert.ok(p.l3?.kind === 'ipv4' && p.l4?.kind === 'udp');
    assert.equal(p.l3.totalLength, 128);
    assert.equal(p.l3.checksumValid, true); // the IP header itself is whole
    assert.equal(p.l4.length, 108);
    assert.equal(p.l4.checksumValid, undefined); // cannot be verified
    assert.equal(p.payload.length, 64 - 42);
  });

  it('leaves a cut header out and puts its bytes in payload', () => {
    const p = parsePacket(udp.subarray(0, 38));
    assert.equal(p.truncated, true);
    assert.equal(p.l3?.kind, 'ipv4');
    assert.equal(p.l4, undefined);
    assert.deepEqual(p.truncation, { layer: 'udp', field: 'header', offset: 34 });
    assert.equal(p.payload.length, 4);
    const q = parsePacket(udp.subarray(0, 30));
    assert.equal(q.l3, undefined);
    assert.deepEqual(q.truncation, { layer: 'ipv4', field: 'header', offset: 14 });
    assert.equal(q.payload.length, 16);
  });

  it('reports truncated TCP options, ARP addresses and ICMP headers', () => {
    const tcp = buildTcp({
      srcMac: A,
      dstMac: B,
      srcIp: '10.0.0.1',
      dstIp: '10.0.0.2',
      srcPort: 1,
      dstPort: 2,
      options: Uint8Array.of(2, 4, 5, 0xb4),
    });
    const t = parsePacket(tcp.subarray(0, 14 + 20 + 22));
    assert.equal(t.l4, undefined);
    assert.equal(t.truncated, true);
    assert.deepEqual(t.truncation, { layer: 'tcp', field: 'options', offset: 54 });
    assert.equal(t.payload.length, 22);
    const tp = parsePacket(Buffer.concat([tcp, Buffer.from('data')]).subarray(0, tcp.length), {
      verifyChecksums: true,
    });
    assert.equal(tp.truncated, false); // whole: the concatenated bytes lie beyond the IP total length
    const icmp = buildIcmpEcho({
      srcMac: A,
      dstMac: B,
      srcIp: '10.0.0.1',
      dstIp: '10.0.0.2',
      identifier: 1,
      sequence: 2,
    });
    const i = parsePacket(icmp.subarray(0, 40));
    assert.equal(i.l4, undefined);
    assert.deepEqual(i.truncation, { layer: 'icmp', field: 'header', offset: 34 });
    const withData = buildIcmpEcho({
      srcMac: A,
      dstMac: B,
      srcIp: 'fd00::1',
      dstIp: 'fd00::2',
      identifier: 1,
      sequence: 2,
      payload: new Uint8Array(20),
    });
    const j = parsePacket(withData.subarray(0, withData.length - 1), { verifyChecksums: true });
    assert.ok(j.l4?.kind === 'icmpv6');
    assert.equal(j.l4.checksumValid, undefined);
    assert.deepEqual(j.truncation, { layer: 'icmpv6', field: 'payload', offset: 62 });
    const arp = captured('arp request');
    const a = parsePacket(arp.subarray(0, 30));
    assert.equal(a.l3, undefined);
    assert.deepEqual(a.truncation, { layer: 'arp', field: 'addresses', offset: 22 });
  });

  it('excludes Ethernet padding from the payload', () => {
    const padded = buildIcmpEcho({
      srcMac: A,
      dstMac: B,
      srcIp: '10.0.0.1',
      dstIp: '10.0.0.2',
      identifier: 1,
      sequence: 2,
      pad: true,
    });
    assert.equal(padded.length, 60);
    const p = parsePacket(padded, { verifyChecksums: true });
    assert.equal(p.payload.length, 0);
    assert.equal(p.truncated, false);
    assert.equal(p.l4?.checksumValid, true);
  });
});

describe('malformed headers', () => {
  const base = buildTcp({
    srcMac: A,
    dstMac: B,
    srcIp: '10.0.0.1',
    dstIp: '10.0.0.2',
    srcPort: 1,
    dstPort: 2,
  });
  const mutate = (frame: Uint8Array, at: number, value: number) => {
    const c = Buffer.from(frame);
    c[at] = value;
    return c;
  };

  it('names layer, field and offset', () => {
    const cases: [Uint8Array, string, string, number][] = [
      [mutate(base, 14, 0x55), 'ipv4', 'version', 14],
      [mutate(base, 14, 0x44), 'ipv4', 'ihl', 14],
      [mutate(base, 17, 10), 'ipv4', 'totalLength', 16],
      [mutate(base, 46, 0x40), 'tcp', 'dataOffset', 46],
      [mutate(base, 46, 0xf0), 'tcp', 'dataOffset', 46],
    ];
    for (const [frame, layer, field, offset] of cases) {
      const e = parseError(() => parsePacket(frame));
      assert.deepEqual([e.layer, e.field, e.offset, e.kind], [layer, field, offset, 'malformed']);
      assert.match(e.message, new RegExp(`^${layer}: malformed ${field} at offset ${offset}`));
    }
  });

  it('rejects a UDP length below 8 or beyond the IP payload', () => {
    const u = buildUdp({
      srcMac: A,
      dstMac: B,
      srcIp: '10.0.0.1',
      dstIp: '10.0.0.2',
      srcPort: 1,
      dstPort: 2,
    });
    assert.equal(parseError(() => parsePacket(mutate(u, 39, 4))).field, 'length');
    assert.equal(parseError(() => parsePacket(mutate(u, 39, 9))).field, 'length');
  });

  it('rejects a wrong IPv6 version', () => {
    const f = buildUdp({ srcMac: A, dstMac: B, srcIp: '::1', dstIp: '::2', srcPort: 1, dstPort: 2 });
    const e = parseError(() => parsePacket(mutate(f, 14, 0x40)));
    assert.deepEqual([e.layer, e.field], ['ipv6', 'version']);
  });
});

describe('what is deliberately not decoded', () => {
  it('stops at a non-first IPv4 fragment', () => {
    const f = buildFrame({
      eth: { dst: B, src: A },
      l3: { kind: 'ipv4', src: '10.0.0.1', dst: '10.0.0.2', protocol: IP_PROTO.UDP, fragmentOffset: 185 },
      payload: Uint8Array.of(1, 2, 3, 4, 5, 6, 7, 8, 9),
    });
    const p = parsePacket(f);
    assert.ok(p.l3?.kind === 'ipv4');
    assert.equal(p.l3.fragmentOffset, 185);
    assert.equal(p.l4, undefined);
    assert.equal(p.payload.length, 9);
  });

  it('accepts a first fragment whose UDP length covers the whole datagram', () => {
    const f = buildFrame({
      eth: { dst: B, src: A },
      l3: { kind: 'ipv4', src: '10.0.0.1', dst: '10.0.0.2', protocol: IP_PROTO.UDP, moreFragments: true },
      payload: Uint8Array.of(0, 1, 0, 2, 0x10, 0, 0, 0, 9, 9),
    });
    const p = parsePacket(f, { verifyChecksums: true });
    assert.ok(p.l4?.kind === 'udp');
    assert.equal(p.l4.length, 4096);
    assert.equal(p.l4.checksumValid, undefined);
    assert.equal(p.payload.length, 2);
    assert.equal(p.truncated, false);
  });

  it('stops at a non-first IPv6 fragment', () => {
    const frag = Uint8Array.of(0, 0x00, 0x09, 0x12, 0x34, 0x56, 0x78); // offset 1, M=0
    const f = buildFrame({
      eth: { dst: B, src: A },
      l3: {
        kind: 'ipv6',
        src: 'fd00::1',
        dst: 'fd00::2',
        protocol: IP_PROTO.UDP,
        extensionHeaders: [{ type: 44, data: frag }],
      },
      payload: Uint8Array.of(1, 2, 3),
    });
    const p = parsePacket(f);
    assert.ok(p.l3?.kind === 'ipv6');
    assert.equal(p.l3.protocol, IP_PROTO.UDP);
    assert.equal(p.l4, undefined);
    assert.equal(p.payload.length, 3);
    assert.equal(Buffer.from(buildFrame(p)).toString('hex'), Buffer.from(f).toString('hex'));
  });

  it('leaves unknown EtherTypes, 802.3 length frames and non-IPv4 ARP in payload', () => {
    for (const ethType of [0x88b5, 0x002e]) {
      const p = parsePacket(
        buildFrame({ eth: { dst: B, src: A, ethType }, payload: Uint8Array.of(1, 2, 3) }),
      );
      assert.equal(p.l3, undefined);
      assert.equal(p.eth.ethType, ethType);
      assert.deepEqual([...p.payload], [1, 2, 3]);
    }
    const arp6 = Buffer.from(captured('arp request'));
    arp6[16] = 0x86; // protocol type 0x86dd
    const p = parsePacket(arp6);
    assert.equal(p.l3, undefined);
    assert.equal(p.payload.length, 28);
  });

  it('does not decode ICMP inside IPv6 or ICMPv6 inside IPv4', () => {
    const f = buildFrame({
      eth: { dst: B, src: A },
      l3: { kind: 'ipv4', src: '10.0.0.1', dst: '10.0.0.2', protocol: IP_PROTO.ICMPV6 },
      payload: new Uint8Array(8),
    });
    assert.equal(parsePacket(f).l4, undefined);
  });
});
