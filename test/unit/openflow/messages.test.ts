// Hand-made round trips for every non-multipart message type, exact wire layouts checked against
// Open vSwitch's ofp-print, and decode errors that name the message, the field and the offset.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { OfDecodeError } from '../../../src/openflow/buffer.ts';
import { FlowModCommand, NO_BUFFER, Port } from '../../../src/openflow/constants.ts';
import {
  applyActions,
  flowMod,
  matchField,
  matchGet,
  matchOf,
  output,
  packetOut,
} from '../../../src/openflow/index.ts';
import { decodeMessage, encodeMessage } from '../../../src/openflow/messages.ts';
import type { OfMessage, Outgoing } from '../../../src/openflow/types.ts';

const hex = (s: string) => Buffer.from(s.replace(/\s+/g, ''), 'hex');
const toHex = (b: Uint8Array) => Buffer.from(b).toString('hex');
/** Plain Uint8Array from hex (decoded payloads are plain Uint8Array, not Buffer). */
const u8 = (s: string) => new Uint8Array(hex(s));

function roundTrip(m: OfMessage): Buffer {
  const wire = encodeMessage(m);
  assert.equal(wire.readUInt16BE(2), wire.length, 'header length = message length');
  assert.deepEqual(decodeMessage(wire), m);
  return wire;
}

function decodeError(bytes: Uint8Array): OfDecodeError {
  try {
    decodeMessage(bytes);
  } catch (e) {
    assert.ok(e instanceof OfDecodeError, `expected OfDecodeError, got ${String(e)}`);
    return e;
  }
  assert.fail('expected a decode error');
}

const port1 = {
  portNo: 1,
  hwAddr: '02:00:00:00:00:01',
  name: 'veth-a',
  config: 0,
  state: 4,
  curr: 0x802,
  advertised: 0,
  supported: 0,
  peer: 0,
  currSpeed: 10_000_000,
  maxSpeed: 0,
};

describe('round trips, one per message type', () => {
  const data = new Uint8Array([1, 2, 3, 4, 5]);
  const cases: [OfMessage, number][] = [
    [{ type: 'hello', version: 4, xid: 1, elements: [{ type: 'versionBitmap', bitmaps: [0x10] }] }, 16],
    [{ type: 'hello', version: 1, xid: 2, elements: [] }, 8],
    [
      {
        type: 'hello',
        version: 6,
        xid: 3,
        elements: [
          { type: 'unknown', elementType: 9, data: new Uint8Array([7]) },
          { type: 'versionBitmap', bitmaps: [0x52, 1] },
        ],
      },
      32,
    ],
    [{ type: 'error', xid: 4, errorType: 1, code: 6, data }, 17],
    [{ type: 'errorExperimenter', xid: 5, expType: 3, experimenter: 0x2320, data }, 21],
    [{ type: 'echoRequest', xid: 6, data }, 13],
    [{ type: 'echoReply', xid: 7, data: new Uint8Array(0) }, 8],
    [{ type: 'experimenter', xid: 8, experimenter: 0x2320, expType: 17, data }, 21],
    [{ type: 'featuresRequest', xid: 9 }, 8],
    [
      {
        type: 'featuresReply',
        xid: 10,
        datapathId: 0xfedcba9876543210n,
        nBuffers: 256,
        nTables: 254,
        auxiliaryId: 0,
        capabilities: 0x4f,
        reserved: 0,
      },
      32,
    ],
    [{ type: 'getConfigRequest', xid: 11 }, 8],
    [{ type: 'getConfigReply', xid: 12, flags: 0, missSendLen: 128 }, 12],
    [{ type: 'setConfig', xid: 13, flags: 1, missSendLen: 0xffff }, 12],
    [
      {
        type: 'packetIn',
        xid: 14,
        bufferId: NO_BUFFER,
        totalLen: 5,
        reason: 1,
        tableId: 3,
        cookie: 0x1234n,
        match: matchOf({ in_port: 7 }),
        data,
      },
      8 + 16 + 16 + 2 + 5,
    ],
    [
      {
        type: 'flowRemoved',
        xid: 15,
        cookie: 1n,
        priority: 100,
        reason: 2,
        tableId: 0,
        durationSec: 10,
        durationNsec: 5,
        idleTimeout: 10,
        hardTimeout: 20,
        packetCount: 3n,
        byteCount: 300n,
        match: matchOf({ in_port: 2, eth_dst: '00:11:22:33:44:55' }),
      },
      48 + 24,
    ],
    [{ type: 'portStatus', xid: 16, reason: 2, port: port1 }, 80],
    [
      {
        type: 'packetOut',
        xid: 17,
        bufferId: NO_BUFFER,
        inPort: Port.CONTROLLER,
        actions: [output(1)],
        data,
      },
      24 + 16 + 5,
    ],
    [
      {
        type: 'flowMod',
        xid: 18,
        cookie: 0xffffffffffffffffn,
        cookieMask: 0n,
        tableId: 1,
        command: FlowModCommand.MODIFY_STRICT,
        idleTimeout: 0,
        hardTimeout: 0,
        priority: 0x8000,
        bufferId: NO_BUFFER,
        outPort: Port.ANY,
        outGroup: 0xffffffff,
        flags: 1,
        match: matchOf({ eth_type: 0x0800, ipv4_dst: { value: '10.0.0.0', mask: '255.0.0.0' } }),
        instructions: [
          { type: 'gotoTable', tableId: 2 },
          { type: 'writeMetadata', metadata: 1n, metadataMask: 0xffn },
          { type: 'clearActions' },
          { type: 'meter', meterId: 3 },
          { type: 'writeActions', actions: [{ type: 'group', groupId: 1 }] },
          applyActions(output(2)),
          { type: 'experimenter', experimenter: 0x2320, data: new Uint8Array(8) },
          { type: 'unknown', instructionType: 77, data: new Uint8Array(4) },
        ],
      },
      56 + 16 + 8 + 24 + 8 + 8 + 16 + 24 + 16 + 8,
    ],
    [
      {
        type: 'groupMod',
        xid: 19,
        command: 0,
        groupType: 1,
        groupId: 7,
        buckets: [
          { weight: 1, watchPort: Port.ANY, watchGroup: 0xffffffff, actions: [output(1)] },
          { weight: 2, watchPort: 3, watchGroup: 0xffffffff, actions: [] },
        ],
      },
      16 + 32 + 16,
    ],
    [
      {
        type: 'portMod',
        xid: 20,
        portNo: 3,
        hwAddr: '00:11:22:33:44:55',
        config: 1,
        mask: 1,
        advertise: 0x20,
      },
      40,
    ],
    [{ type: 'tableMod', xid: 21, tableId: 0xff, config: 3 }, 16],
    [{ type: 'barrierRequest', xid: 22 }, 8],
    [{ type: 'barrierReply', xid: 23 }, 8],
    [{ type: 'queueGetConfigRequest', xid: 24, port: Port.ANY }, 16],
    [
      {
        type: 'queueGetConfigReply',
        xid: 25,
        port: 1,
        queues: [
          {
            queueId: 1,
            port: 1,
            properties: [
              { type: 'minRate', rate: 100 },
              { type: 'maxRate', rate: 900 },
              { type: 'experimenter', experimenter: 9, data: new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8]) },
              { type: 'unknown', propertyType: 5, data: new Uint8Array(8) },
            ],
          },
          { queueId: 2, port: 1, properties: [] },
        ],
      },
      16 + 16 + 16 + 16 + 24 + 16 + 16,
    ],
    [{ type: 'roleRequest', xid: 26, role: 2, generationId: 0x8000000000000001n }, 24],
    [{ type: 'roleReply', xid: 27, role: 3, generationId: 0n }, 24],
    [{ type: 'getAsyncRequest', xid: 28 }, 8],
    [
      {
        type: 'getAsyncReply',
        xid: 29,
        packetInMask: [3, 1],
        portStatusMask: [7, 7],
        flowRemovedMask: [15, 0],
      },
      32,
    ],
    [
      {
        type: 'setAsync',
        xid: 30,
        packetInMask: [0xffffffff, 0],
        portStatusMask: [1, 2],
        flowRemovedMask: [3, 4],
      },
      32,
    ],
    [
      {
        type: 'meterMod',
        xid: 31,
        command: 0,
        flags: 5,
        meterId: 5,
        bands: [
          { type: 'drop', rate: 1000, burstSize: 100 },
          { type: 'dscpRemark', rate: 2000, burstSize: 10, precLevel: 1 },
          { type: 'experimenter', rate: 1, burstSize: 2, experimenter: 3, data: new Uint8Array(8) },
          { type: 'unknown', bandType: 9, rate: 1, burstSize: 2, data: new Uint8Array(4) },
        ],
      },
      16 + 16 + 16 + 24 + 16,
    ],
    [{ type: 'unknown', version: 4, msgType: 30, xid: 32, body: data }, 13],
    [{ type: 'unknown', version: 1, msgType: 14, xid: 33, body: new Uint8Array(64) }, 72],
  ];
  for (const [m, len] of cases) {
    test(`${m.type} (xid ${m.xid})`, () => {
      const wire = roundTrip(m);
      assert.equal(wire.length, len);
      assert.equal(wire.readUInt32BE(4), m.xid);
      const version = m.type === 'hello' || m.type === 'unknown' ? m.version : 4;
      assert.equal(wire[0], version);
    });
  }
});

describe('exact wire layouts', () => {
  test('L2 flow-mod (in_port + eth_dst, apply-actions output) as Open vSwitch prints it', () => {
    const m = flowMod({
      match: matchOf({ eth_dst: '00:11:22:33:44:55', in_port: 1 }),
      instructions: [applyActions(output(2))],
    });
    // ovs-ofctl -O OpenFlow13 ofp-print: "ADD in_port=1,dl_dst=00:11:22:33:44:55 actions=output:2"
    const expected = hex(`
      040e 0060 0000 0000  0000000000000000 0000000000000000  00 00 0000 0000 8000 ffffffff
      ffffffff ffffffff 0000 0000
      0001 0016 80000004 00000001 80000606 001122334455 0000
      0004 0018 00000000 0000 0010 00000002 0000 000000000000`);
    assert.equal(toHex(encodeMessage(m)), toHex(expected));
  });

  test('packet-in: match, 2 pad bytes, then the frame', () => {
    const wire = encodeMessage({
      type: 'packetIn',
      xid: 0x01020304,
      bufferId: 0x100,
      totalLen: 60,
      reason: 0,
      tableId: 0,
      cookie: 0n,
      match: matchOf({ in_port: 2 }),
      data: new Uint8Array([0xaa, 0xbb]),
    });
    assert.equal(
      toHex(wire),
      '040a002c01020304' +
        '00000100003c0000' +
        '0000000000000000' +
        '0001000c800000040000000200000000' +
        '0000aabb',
    );
  });

  test('OXM widths: vlan_vid 2 bytes, ipv6_flabel/mpls_label 4, pbb_isid 3, ipv6_exthdr 2; masks double', () => {
    const cases: [Parameters<typeof matchOf>[0], string][] = [
      [{ vlan_vid: 0x1005 }, '80000c021005'],
      [{ vlan_vid: { value: 0x1000, mask: 0x1000 } }, '80000d0410001000'],
      [{ ipv6_flabel: 0xfffff }, '80003804000fffff'],
      [{ mpls_label: 0x12345 }, '8000440400012345'],
      [{ pbb_isid: 0xabcdef }, '80004a03abcdef'],
      [{ pbb_isid: { value: 0x123400, mask: 0xffff00 } }, '80004b06123400ffff00'],
      [{ ipv6_exthdr: { value: 4, mask: 0x1ff } }, '80004f04000401ff'],
      [{ metadata: { value: 5n, mask: 0xffn } }, '80000510' + '0000000000000005' + '00000000000000ff'],
      [{ ipv6_dst: 'fe80::1' }, '80003610fe800000000000000000000000000001'],
      [{ arp_tpa: { value: '10.0.0.0', mask: '255.255.255.0' } }, '80002f080a000000ffffff00'],
      [
        { eth_src: { value: '02:00:00:00:00:00', mask: '02:00:00:00:00:00' } },
        '8000090c020000000000020000000000',
      ],
      [{ tunnel_id: 77n }, '80004c08000000000000004d'],
    ];
    for (const [spec, oxm] of cases) {
      const m = flowMod({ match: matchOf(spec) });
      const wire = encodeMessage(m);
      const mlen = wire.readUInt16BE(50);
      assert.equal(
        mlen,
        4 + oxm.length / 2,
        JSON.stringify(spec, (_k, v) => (typeof v === 'bigint' ? `${v}` : v)),
      );
      assert.equal(toHex(wire.subarray(52, 52 + oxm.length / 2)), oxm);
      assert.equal(wire.length % 8, 0, 'match padded to 8');
      assert.deepEqual(decodeMessage(wire), { ...m, xid: 0 });
    }
  });

  test('set-field action carries one OXM padded to 8', () => {
    const wire = encodeMessage(
      flowMod({
        instructions: [
          applyActions({ type: 'setField', field: { field: 'eth_dst', value: 'aa:bb:cc:dd:ee:ff' } }),
        ],
      }),
    );
    // instruction header (8) then the action: type 25, len 16, OXM eth_dst, 2 pad bytes.
    assert.equal(toHex(wire.subarray(56)), '0004001800000000' + '00190010' + '80000606aabbccddeeff' + '0000');
  });

  test('port-mod and port-status pad layouts', () => {
    const pm = encodeMessage({
      type: 'portMod',
      xid: 0,
      portNo: 3,
      hwAddr: '00:11:22:33:44:55',
      config: 1,
      mask: 1,
      advertise: 0x20,
    });
    assert.equal(
      toHex(pm),
      '0410002800000000' + '0000000300000000' + '0011223344550000' + '000000010000000100000020' + '00000000',
    );
    const ps = encodeMessage({ type: 'portStatus', xid: 0, reason: 0, port: port1 });
    assert.equal(ps.length, 80);
    assert.equal(toHex(ps.subarray(8, 16)), '0000000000000000');
    assert.equal(toHex(ps.subarray(16, 24)), '0000000100000000');
    assert.equal(toHex(ps.subarray(24, 32)), '0200000000010000');
    assert.equal(ps.subarray(32, 48).toString('latin1').replace(/\0+$/, ''), 'veth-a');
  });

  test('hello: version bitmap element padded to 8, as OVS sends it', () => {
    const m = decodeMessage(hex('04000010 00000000 00010008 00000010'));
    assert.deepEqual(m, {
      type: 'hello',
      version: 4,
      xid: 0,
      elements: [{ type: 'versionBitmap', bitmaps: [0x10] }],
    });
    const odd = encodeMessage({
      type: 'hello',
      version: 4,
      xid: 0,
      elements: [{ type: 'versionBitmap', bitmaps: [0x10, 0] }],
    });
    assert.equal(toHex(odd), '0400001800000000' + '0001000c0000001000000000' + '00000000');
  });

  test('errorExperimenter uses error type 0xffff on the wire', () => {
    const wire = encodeMessage({
      type: 'errorExperimenter',
      xid: 0,
      expType: 2,
      experimenter: 0x2320,
      data: new Uint8Array(),
    });
    assert.equal(toHex(wire), '0401001000000000' + 'ffff000200002320');
  });

  test('experimenter actions and unknown actions keep their bytes', () => {
    const raw = hex(
      '040d0038 00000000 ffffffff fffffffd 0020 000000000000' +
        'ffff0018 00002320 0011 2233 4455 6677 8899aabb ccddeeff' +
        '0063 0008 01020304',
    );
    const m = decodeMessage(raw);
    assert.deepEqual(m, {
      type: 'packetOut',
      xid: 0,
      bufferId: NO_BUFFER,
      inPort: Port.CONTROLLER,
      actions: [
        { type: 'experimenter', experimenter: 0x2320, data: u8('0011223344556677 8899aabbccddeeff') },
        { type: 'unknown', actionType: 0x63, data: u8('01020304') },
      ],
      data: new Uint8Array(0),
    });
    assert.equal(toHex(encodeMessage(m)), toHex(raw));
  });

  test('Nicira and experimenter OXM classes stay raw', () => {
    const m = flowMod({
      match: {
        fields: [
          { field: 'unknown', oxmClass: 0x0001, oxmField: 0, hasMask: false, data: u8('0000002a') },
          { field: 'unknown', oxmClass: 0xffff, oxmField: 0, hasMask: false, data: u8('4f4e4600 0a0001') },
        ],
      },
    });
    const wire = encodeMessage(m);
    assert.equal(
      toHex(wire.subarray(48, 48 + 4 + 8 + 11)),
      '00010017' + '000100040000002a' + 'ffff00074f4e46000a0001',
    );
    assert.deepEqual(decodeMessage(wire), { ...m, xid: 0 });
  });
});

describe('version and type handling', () => {
  test('a non-1.3 message other than hello decodes to unknown and re-encodes', () => {
    const raw = hex('010e0010 00000005 0102030405060708');
    const m = decodeMessage(raw);
    assert.deepEqual(m, { type: 'unknown', version: 1, msgType: 14, xid: 5, body: u8('0102030405060708') });
    assert.equal(toHex(encodeMessage(m)), toHex(raw));
  });
  test('an OF1.0 hello decodes as hello with its version', () => {
    assert.deepEqual(decodeMessage(hex('01000008 00000007')), {
      type: 'hello',
      version: 1,
      xid: 7,
      elements: [],
    });
  });
  test('an unknown message type decodes to unknown', () => {
    assert.deepEqual(decodeMessage(hex('04630009 00000001 ff')), {
      type: 'unknown',
      version: 4,
      msgType: 0x63,
      xid: 1,
      body: u8('ff'),
    });
  });
  test('decoded payloads are copies, never views of the input', () => {
    const raw = Buffer.from(encodeMessage({ type: 'echoRequest', xid: 1, data: new Uint8Array([1, 2, 3]) }));
    const m = decodeMessage(raw);
    raw.fill(0);
    assert.deepEqual(m, { type: 'echoRequest', xid: 1, data: new Uint8Array([1, 2, 3]) });
    assert.equal(Object.getPrototypeOf((m as { data: Uint8Array }).data), Uint8Array.prototype);
  });
});

describe('decode errors name message, field and offset', () => {
  test('shorter than a header', () => {
    const e = decodeError(hex('0400'));
    assert.equal(e.field, 'header');
  });
  test('header length disagrees with the byte count', () => {
    const e = decodeError(hex('04020010 00000000'));
    assert.equal(e.messageType, 'echoRequest');
    assert.equal(e.field, 'header.length');
    assert.equal(e.offset, 2);
  });
  test('match length beyond the message', () => {
    const wire = Buffer.from(encodeMessage(flowMod({ match: matchOf({ in_port: 1 }) })));
    wire.writeUInt16BE(0x80, 50);
    const e = decodeError(wire);
    assert.equal(e.messageType, 'flowMod');
    assert.equal(e.field, 'match.oxm_fields');
    assert.equal(e.offset, 52);
  });
  test('OXM TLV running past the match', () => {
    const wire = Buffer.from(encodeMessage(flowMod({ match: matchOf({ in_port: 1, eth_type: 0x800 }) })));
    wire[63] = 0x20; // length byte of the second OXM (eth_type), whose header is at 60..63
    const e = decodeError(wire);
    assert.equal(e.field, 'match.oxm[1].payload');
    assert.equal(e.offset, 64);
  });
  test('zero-length action is an error, not an endless loop', () => {
    const wire = Buffer.from(encodeMessage(flowMod({ instructions: [applyActions(output(1))] })));
    wire.writeUInt16BE(0, 66); // action len at 64+8+2
    const e = decodeError(wire);
    assert.equal(e.field, 'instructions[0].actions[0].len');
    assert.equal(e.offset, 66);
  });
  test('zero-length instruction, bucket, band, queue and hello element', () => {
    const ins = Buffer.from(encodeMessage(flowMod({ instructions: [{ type: 'clearActions' }] })));
    ins.writeUInt16BE(0, 58);
    assert.equal(decodeError(ins).field, 'instructions[0].len');
    const gm = Buffer.from(
      encodeMessage({
        type: 'groupMod',
        xid: 0,
        command: 0,
        groupType: 0,
        groupId: 1,
        buckets: [{ weight: 0, watchPort: 0, watchGroup: 0, actions: [] }],
      }),
    );
    gm.writeUInt16BE(0, 16);
    assert.equal(decodeError(gm).field, 'buckets[0].len');
    const mm = Buffer.from(
      encodeMessage({
        type: 'meterMod',
        xid: 0,
        command: 0,
        flags: 0,
        meterId: 1,
        bands: [{ type: 'drop', rate: 1, burstSize: 1 }],
      }),
    );
    mm.writeUInt16BE(0, 18);
    assert.equal(decodeError(mm).field, 'bands[0].len');
    const q = Buffer.from(
      encodeMessage({
        type: 'queueGetConfigReply',
        xid: 0,
        port: 1,
        queues: [{ queueId: 1, port: 1, properties: [] }],
      }),
    );
    q.writeUInt16BE(0, 24);
    assert.equal(decodeError(q).field, 'queues[0].len');
    const h = Buffer.from(
      encodeMessage({
        type: 'hello',
        version: 4,
        xid: 0,
        elements: [{ type: 'versionBitmap', bitmaps: [16] }],
      }),
    );
    h.writeUInt16BE(0, 10);
    assert.equal(decodeError(h).field, 'elements[0].length');
  });
  test('packet-out actions_len beyond the message', () => {
    const wire = Buffer.from(encodeMessage(packetOut({ actions: [output(1)] })));
    wire.writeUInt16BE(0x40, 16);
    const e = decodeError(wire);
    assert.equal(e.messageType, 'packetOut');
    assert.equal(e.field, 'actions');
    assert.equal(e.offset, 24);
  });
  test('trailing bytes after a fixed-size body', () => {
    const e = decodeError(hex('04140009 00000000 00'));
    assert.equal(e.messageType, 'barrierRequest');
    assert.equal(e.field, 'length');
    assert.equal(e.offset, 8);
  });
  test('known action with a wrong length', () => {
    const raw = hex(
      '040d0028 00000000 ffffffff fffffffd 0010 000000000000 0000 0010 00000001 ffff 000000000000',
    );
    raw.writeUInt16BE(8, 26);
    const e = decodeError(raw);
    assert.equal(e.field, 'actions[0].len');
  });
  test('unsupported match type', () => {
    const wire = Buffer.from(encodeMessage(flowMod({})));
    wire.writeUInt16BE(0, 48);
    const e = decodeError(wire);
    assert.equal(e.field, 'match.type');
    assert.equal(e.offset, 48);
  });
});

describe('encode errors', () => {
  test('values that do not fit their OXM field are refused', () => {
    assert.throws(() => encodeMessage(flowMod({ match: matchOf({ vlan_pcp: 256 }) })), RangeError);
    assert.throws(
      () => encodeMessage(flowMod({ match: matchOf({ eth_dst: 'zz:00:00:00:00:00' }) })),
      TypeError,
    );
    assert.throws(() => encodeMessage(flowMod({ match: matchOf({ ipv4_src: '10.0.0.256' }) })), TypeError);
    assert.throws(() => encodeMessage(flowMod({ match: matchOf({ ipv6_src: '1::2::3' }) })), TypeError);
  });
  test('a message longer than 65535 bytes is refused', () => {
    assert.throws(
      () => encodeMessage({ type: 'echoRequest', xid: 0, data: new Uint8Array(70000) }),
      (e: unknown) => e instanceof RangeError && /too long/.test(e.message),
    );
  });
});

describe('builders', () => {
  test('flowMod fills OpenFlow defaults', () => {
    const m = flowMod();
    assert.deepEqual(m, {
      type: 'flowMod',
      cookie: 0n,
      cookieMask: 0n,
      tableId: 0,
      command: 0,
      idleTimeout: 0,
      hardTimeout: 0,
      priority: 32768,
      bufferId: NO_BUFFER,
      outPort: Port.ANY,
      outGroup: 0xffffffff,
      flags: 0,
      match: { fields: [] },
      instructions: [],
    });
    assert.equal(flowMod({ xid: 9 }).xid, 9);
  });
  test('packetOut defaults', () => {
    assert.deepEqual(packetOut(), {
      type: 'packetOut',
      bufferId: NO_BUFFER,
      inPort: Port.CONTROLLER,
      actions: [],
      data: new Uint8Array(0),
    });
  });
  test('matchOf orders fields canonically and accepts masks; matchGet reads them back', () => {
    const m = matchOf({
      tcp_dst: 80,
      ip_proto: 6,
      eth_type: 0x800,
      in_port: 3,
      metadata: 7,
      ipv4_src: { value: '10.0.0.0', mask: '255.0.0.0' },
    });
    assert.deepEqual(
      m.fields.map((f) => f.field),
      ['in_port', 'metadata', 'eth_type', 'ip_proto', 'ipv4_src', 'tcp_dst'],
    );
    assert.equal(matchGet(m, 'in_port'), 3);
    assert.equal(matchGet(m, 'metadata'), 7n);
    assert.equal(matchGet(m, 'ipv4_src'), '10.0.0.0');
    assert.equal(matchField(m, 'ipv4_src')?.mask, '255.0.0.0');
    assert.equal(matchGet(m, 'eth_dst'), undefined);
    assert.throws(() => matchOf({ nope: 1 } as never), TypeError);
  });
  test('output defaults maxLen to NO_BUFFER for the controller only', () => {
    assert.deepEqual(output(Port.CONTROLLER), { type: 'output', port: Port.CONTROLLER, maxLen: 0xffff });
    assert.deepEqual(output(1), { type: 'output', port: 1, maxLen: 0 });
    assert.deepEqual(output(1, 128), { type: 'output', port: 1, maxLen: 128 });
  });
  test('encodeMessage accepts a message without xid (xid 0)', () => {
    const m: Outgoing = { type: 'barrierRequest' };
    assert.equal(toHex(encodeMessage(m)), '0414000800000000');
  });
});
