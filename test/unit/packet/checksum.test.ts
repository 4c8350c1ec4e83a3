import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import {
  buildFrame,
  buildIcmpEcho,
  finishChecksum,
  internetChecksum,
  onesComplementSum,
  parsePacket,
} from '../../../src/packet/index.ts';
import { CAPTURED_FRAMES, captured } from './captured-frames.ts';

const hex = (s: string) => Buffer.from(s.replace(/\s+/g, ''), 'hex');

describe('Internet checksum', () => {
  it('matches the RFC 1071 section 3 example', () => {
    const data = hex('0001 f203 f4f5 f6f7');
    assert.equal(onesComplementSum(data, 0, data.length), 0x2ddf0);
    assert.equal(finishChecksum(0x2ddf0), 0x220d); // folded sum ddf2, complemented
    assert.equal(internetChecksum(data), 0x220d);
  });

  it('matches a textbook IPv4 header (192.168.0.1 -> 192.168.0.199, checksum b861)', () => {
    const header = hex('4500 0073 0000 4000 4011 0000 c0a8 0001 c0a8 00c7');
    assert.equal(internetChecksum(header), 0xb861);
    header[10] = 0xb8;
    header[11] = 0x61;
    assert.equal(internetChecksum(header), 0);
  });

  it('pads an odd trailing byte with zero', () => {
    assert.equal(internetChecksum(Uint8Array.of(0x12)), ~0x1200 & 0xffff);
    assert.equal(internetChecksum(Uint8Array.of(0x12, 0x34, 0x56)), ~(0x1234 + 0x5600) & 0xffff);
  });

  it('yields 0 over data that embeds its own checksum (property)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 2, maxLength: 300 }), fc.nat(), (data, pos) => {
        const at = (pos % Math.floor(data.length / 2)) * 2;
        data[at] = 0;
        data[at + 1] = 0;
        const c = internetChecksum(data);
        data[at] = c >>> 8;
        data[at + 1] = c & 0xff;
        assert.equal(internetChecksum(data), 0);
      }),
      { numRuns: 1000 },
    );
  });
});

describe('checksums of kernel-captured frames', () => {
  for (const f of CAPTURED_FRAMES) {
    it(`verifies ${f.label}`, () => {
      const p = parsePacket(Buffer.from(f.hex, 'hex'), { verifyChecksums: true });
      if (p.l3?.kind === 'ipv4') assert.equal(p.l3.checksumValid, true);
      if (p.l4) assert.equal(p.l4.checksumValid, true);
    });
  }

  it('detects a flipped bit in every checksummed layer', () => {
    for (const f of CAPTURED_FRAMES) {
      const bytes = Buffer.from(f.hex, 'hex');
      const p = parsePacket(bytes);
      if (!p.l4) continue;
      const copy = Buffer.from(bytes);
      copy[copy.length - 1]! ^= 0x01; // last byte is inside the L4 segment
      const q = parsePacket(copy, { verifyChecksums: true });
      assert.equal(q.l4?.checksumValid, false, f.label);
      if (p.l3?.kind === 'ipv4') {
        const c2 = Buffer.from(bytes);
        c2[p.l3.offset + 8]! ^= 0x10; // TTL
        assert.equal(
          (parsePacket(c2, { verifyChecksums: true }).l3 as { checksumValid?: boolean }).checksumValid,
          false,
        );
      }
    }
  });

  it('builds the same bytes as the kernel for an ICMP echo request', () => {
    const kernel = captured('ipv4 10.99.0.1 -> 10.99.0.2 icmp type 8');
    const p = parsePacket(kernel);
    assert.ok(p.l3?.kind === 'ipv4' && p.l4?.kind === 'icmp' && p.l4.echo);
    const built = buildIcmpEcho({
      srcMac: '02:99:00:00:00:01',
      dstMac: '02:99:00:00:00:02',
      srcIp: '10.99.0.1',
      dstIp: '10.99.0.2',
      identification: p.l3.identification,
      dontFragment: true,
      identifier: p.l4.echo.identifier,
      sequence: p.l4.echo.sequence,
      payload: p.payload,
    });
    assert.equal(Buffer.from(built).toString('hex'), kernel.toString('hex'));
  });

  it('builds the same bytes as the kernel for ICMPv6 echo, UDP over IPv6, and a TCP SYN with options', () => {
    for (const label of [
      'ipv6 fd99::1 -> fd99::2 icmpv6 type 128',
      'ipv6 fd99::1 -> fd99::2 udp',
      'ipv4 10.99.0.1 -> 10.99.0.2 tcp SYN',
      'ipv6 :: -> ff02::16 icmpv6 type 143 (hop-by-hop)',
    ]) {
      const kernel = captured(label);
      const p = parsePacket(kernel);
      // Zero the checksums in the parsed view's source so the builder must compute them itself.
      const blank = Buffer.from(kernel);
      const p2 = parsePacket(blank);
      if (p2.l3?.kind === 'ipv4') blank.fill(0, p2.l3.offset + 10, p2.l3.offset + 12);
      const l4 = p2.l4!;
      const at = l4.kind === 'udp' ? 6 : l4.kind === 'tcp' ? 16 : 2;
      blank.fill(0, l4.offset + at, l4.offset + at + 2);
      assert.equal(
        Buffer.from(buildFrame(parsePacket(blank))).toString('hex'),
        kernel.toString('hex'),
        label,
      );
      assert.ok(p.l4);
    }
  });
});
