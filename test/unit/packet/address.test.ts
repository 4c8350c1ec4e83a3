import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import {
  AddressError,
  bigIntToMac,
  bytesToIpv4,
  bytesToIpv6,
  bytesToMac,
  canonicalIpv6,
  ipv4ToBytes,
  ipv4ToNumber,
  ipv6ToBytes,
  isBroadcast,
  isIpv4,
  isIpv6,
  isLocallyAdministered,
  isMulticast,
  isUnicast,
  macToBigInt,
  macToBytes,
  macToString,
  numberToIpv4,
} from '../../../src/packet/index.ts';

describe('MAC addresses', () => {
  it('converts text <-> bytes <-> bigint', () => {
    const text = 'aa:bb:cc:dd:ee:0f';
    const bytes = macToBytes(text);
    assert.deepEqual([...bytes], [0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0x0f]);
    assert.equal(bytesToMac(bytes), text);
    assert.equal(macToBigInt(text), 0xaabbccddee0fn);
    assert.equal(bigIntToMac(0xaabbccddee0fn), text);
    assert.equal(macToString(bytes), text);
  });

  it('accepts upper case, dashes and bare hex, and canonicalises', () => {
    for (const t of ['AA:BB:CC:DD:EE:0F', 'aa-bb-cc-dd-ee-0f', 'AABBCCDDEE0F', 'aabbccddee0f']) {
      assert.equal(macToString(t), 'aa:bb:cc:dd:ee:0f');
    }
  });

  it('rejects bad text, out-of-range bigints and wrong byte counts with AddressError', () => {
    for (const t of [
      '',
      'aa:bb:cc:dd:ee',
      'aa:bb:cc:dd:ee:ff:00',
      'aa:bb-cc:dd:ee:ff',
      'a:b:c:d:e:f',
      'gg:bb:cc:dd:ee:ff',
    ]) {
      assert.throws(() => macToBytes(t), AddressError, t);
    }
    assert.throws(() => macToBytes(-1n), AddressError);
    assert.throws(() => macToBytes(1n << 48n), AddressError);
    assert.throws(() => macToBytes(new Uint8Array(5)), AddressError);
    assert.throws(() => bytesToMac(new Uint8Array(6), 1), AddressError);
  });

  it('classifies broadcast, multicast, unicast and locally administered', () => {
    assert.ok(isBroadcast('ff:ff:ff:ff:ff:ff'));
    assert.ok(isBroadcast('FF-FF-FF-FF-FF-FF'));
    assert.ok(isBroadcast(0xffffffffffffn));
    assert.ok(!isBroadcast('ff:ff:ff:ff:ff:fe'));
    assert.ok(isMulticast('ff:ff:ff:ff:ff:ff'));
    assert.ok(isMulticast('01:80:c2:00:00:0e'));
    assert.ok(isMulticast('33:33:00:00:00:01'));
    assert.ok(!isMulticast('02:00:00:00:00:01'));
    assert.ok(isUnicast('02:00:00:00:00:01'));
    assert.ok(isLocallyAdministered('02:00:00:00:00:01'));
    assert.ok(!isLocallyAdministered('00:1b:21:00:00:01'));
    assert.throws(() => isMulticast('zz'), AddressError);
  });

  it('round-trips every 48-bit value (property)', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: 0xffffffffffffn }), (n) => {
        const text = bigIntToMac(n);
        assert.match(text, /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/);
        assert.equal(macToBigInt(text), n);
        assert.equal(bytesToMac(macToBytes(n)), text);
        assert.equal(isMulticast(n), (n & (1n << 40n)) !== 0n);
      }),
      { numRuns: 2000 },
    );
  });
});

describe('IPv4 addresses', () => {
  it('converts text <-> bytes <-> number', () => {
    assert.deepEqual([...ipv4ToBytes('192.168.0.199')], [192, 168, 0, 199]);
    assert.equal(bytesToIpv4(Uint8Array.of(0, 10, 0, 0, 1), 1), '10.0.0.1');
    assert.equal(ipv4ToNumber('255.255.255.255'), 0xffffffff);
    assert.equal(numberToIpv4(0x0a000001), '10.0.0.1');
  });

  it('rejects bad text', () => {
    for (const t of ['', '1.2.3', '1.2.3.4.5', '256.1.1.1', '01.2.3.4', '1.2.3.-4', ' 1.2.3.4', 'a.b.c.d']) {
      assert.throws(() => ipv4ToBytes(t), AddressError, t);
      assert.equal(isIpv4(t), false, t);
    }
    assert.throws(() => numberToIpv4(2 ** 32), AddressError);
  });

  it('round-trips every 32-bit value (property)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 0xffffffff }), (n) => {
        const t = numberToIpv4(n);
        assert.ok(isIpv4(t));
        assert.equal(ipv4ToNumber(t), n);
      }),
      { numRuns: 2000 },
    );
  });
});

describe('IPv6 addresses', () => {
  it('writes RFC 5952 canonical text', () => {
    const cases: [string, string][] = [
      ['2001:0db8:0000:0000:0000:0000:0000:0001', '2001:db8::1'],
      ['2001:db8:0:0:1:0:0:1', '2001:db8::1:0:0:1'], // first of two equal runs
      ['2001:db8:0:1:1:1:1:1', '2001:db8:0:1:1:1:1:1'], // a single zero group is not shortened
      ['2001:DB8::AAAA', '2001:db8::aaaa'],
      ['0:0:0:0:0:0:0:0', '::'],
      ['0:0:0:0:0:0:0:1', '::1'],
      ['fe80:0:0:0:0:0:0:0', 'fe80::'],
      ['1:0:0:2:0:0:0:3', '1:0:0:2::3'], // the longest run wins
      ['::ffff:192.0.2.1', '::ffff:192.0.2.1'],
      ['::ffff:c000:0201', '::ffff:192.0.2.1'],
      ['64:ff9b::192.0.2.33', '64:ff9b::c000:221'],
    ];
    for (const [input, canonical] of cases) assert.equal(canonicalIpv6(input), canonical, input);
  });

  it('converts bytes', () => {
    const b = ipv6ToBytes('fd99::2');
    assert.equal(b.length, 16);
    assert.equal(b[0], 0xfd);
    assert.equal(b[15], 2);
    assert.equal(bytesToIpv6(b), 'fd99::2');
  });

  it('rejects bad text', () => {
    for (const t of [
      '',
      ':',
      '1::2::3',
      '1:2:3:4:5:6:7',
      '1:2:3:4:5:6:7:8:9',
      '12345::',
      'g::',
      '::1.2.3',
      '1.2.3.4::',
      ':1::',
      '1:2:3:4:5:6:7:8::',
    ]) {
      assert.throws(() => ipv6ToBytes(t), AddressError, t);
      assert.equal(isIpv6(t), false, t);
    }
  });

  it('round-trips random addresses through canonical text (property)', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 16, maxLength: 16 }),
        fc.integer({ min: 0, max: 7 }),
        fc.integer({ min: 0, max: 8 }),
        (bytes, zeroFrom, zeroLen) => {
          // Force zero runs of various lengths so "::" placement is exercised.
          for (let i = zeroFrom; i < Math.min(8, zeroFrom + zeroLen); i++) bytes.fill(0, i * 2, i * 2 + 2);
          const text = bytesToIpv6(bytes);
          assert.deepEqual(ipv6ToBytes(text), bytes);
          assert.equal(canonicalIpv6(text), text);
          assert.equal(text, text.toLowerCase());
          assert.ok(!text.includes(':::'));
        },
      ),
      { numRuns: 3000 },
    );
  });
});
