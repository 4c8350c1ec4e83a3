// The JSON form (vnm decode --json / vnm encode) and the text form (vnm decode --text).

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import {
  JsonFormatError,
  messageFromJson,
  messagesFromJson,
  messageToJson,
} from '../../../src/openflow/json.ts';
import { decodeMessage, encodeMessage } from '../../../src/openflow/messages.ts';
import { messageToText } from '../../../src/openflow/text.ts';
import type { FlowMod, OfMessage } from '../../../src/openflow/types.ts';
import { anyMessage } from './arbitraries-multipart.ts';

const runs = (n: number) => Math.round(n * Number(process.env.VNM_PROPERTY_SCALE ?? 1));

const flowMod: FlowMod = {
  type: 'flowMod',
  xid: 5,
  cookie: 0x1234n,
  cookieMask: 0n,
  tableId: 0,
  command: 0,
  idleTimeout: 0,
  hardTimeout: 0,
  priority: 100,
  bufferId: 0xffffffff,
  outPort: 0xffffffff,
  outGroup: 0xffffffff,
  flags: 0,
  match: {
    fields: [
      { field: 'in_port', value: 1 },
      { field: 'eth_dst', value: 'aa:bb:cc:dd:ee:ff' },
      { field: 'metadata', value: 0xfedcba9876543210n, mask: 0xff00n },
    ],
  },
  instructions: [{ type: 'applyActions', actions: [{ type: 'output', port: 2, maxLen: 0 }] }],
};

function jsonFailure(j: unknown, path: string, detail?: RegExp): void {
  assert.throws(
    () => messageFromJson(j),
    (e: unknown) => {
      assert.ok(e instanceof JsonFormatError, String(e));
      assert.equal(e.path, path);
      if (detail) assert.match(e.detail, detail);
      assert.ok(e.message.startsWith(`${path}: `));
      return true;
    },
  );
}

describe('JSON form', () => {
  test(`property: messageFromJson(messageToJson(m)) = m for every message type (${runs(10_000)} cases)`, () => {
    fc.assert(
      fc.property(anyMessage, (m) => {
        const text = JSON.stringify(messageToJson(m));
        assert.deepEqual(messageFromJson(JSON.parse(text)), m);
      }),
      { numRuns: runs(10_000) },
    );
  });

  test(`property: decode --json then encode reproduces the bytes (${runs(3_000)} cases)`, () => {
    fc.assert(
      fc.property(anyMessage, (m) => {
        const wire = encodeMessage(m);
        const j = JSON.parse(JSON.stringify(messageToJson(decodeMessage(wire))));
        assert.equal(encodeMessage(messageFromJson(j)).toString('hex'), wire.toString('hex'));
      }),
      { numRuns: runs(3_000) },
    );
  });

  test('bigints: identifiers and masks as 0x hex, counters as decimal strings', () => {
    const j = messageToJson(flowMod) as Record<string, unknown>;
    assert.equal(j.cookie, '0x1234');
    assert.equal(j.cookieMask, '0x0');
    assert.deepEqual((j.match as { fields: unknown[] }).fields[2], {
      field: 'metadata',
      value: '0xfedcba9876543210',
      mask: '0xff00',
    });
    const fr = messageToJson({
      type: 'flowRemoved',
      xid: 1,
      cookie: 1n,
      priority: 0,
      reason: 0,
      tableId: 0,
      durationSec: 0,
      durationNsec: 0,
      idleTimeout: 0,
      hardTimeout: 0,
      packetCount: 18446744073709551615n,
      byteCount: 10n,
      match: { fields: [] },
    }) as Record<string, unknown>;
    assert.equal(fr.packetCount, '18446744073709551615');
    assert.equal(fr.byteCount, '10');
    const fr2 = messageToJson({
      type: 'featuresReply',
      xid: 0,
      datapathId: 1n,
      nBuffers: 0,
      nTables: 254,
      auxiliaryId: 0,
      capabilities: 0,
      reserved: 0,
    }) as Record<string, unknown>;
    assert.equal(fr2.datapathId, '0x1');
  });

  test('bigints accept hex strings, decimal strings and safe JSON numbers', () => {
    const base = messageToJson({ type: 'roleRequest', xid: 1, role: 2, generationId: 0n }) as Record<
      string,
      unknown
    >;
    for (const [input, want] of [
      ['0xFFFFFFFFFFFFFFFF', 0xffffffffffffffffn],
      ['18446744073709551615', 0xffffffffffffffffn],
      [42, 42n],
      ['0x0', 0n],
    ] as const) {
      const m = messageFromJson({ ...base, generationId: input });
      assert.equal(m.type === 'roleRequest' && m.generationId, want);
    }
    jsonFailure({ ...base, generationId: '18446744073709551616' }, '$.generationId', /64-bit/);
    jsonFailure({ ...base, generationId: 2 ** 60 }, '$.generationId');
    jsonFailure({ ...base, generationId: -1 }, '$.generationId');
    jsonFailure({ ...base, generationId: '0x' }, '$.generationId');
  });

  test('byte payloads are hex strings', () => {
    const j = messageToJson({ type: 'echoRequest', xid: 3, data: new Uint8Array([0xca, 0xfe]) });
    assert.deepEqual(j, { type: 'echoRequest', xid: 3, data: 'cafe' });
    const m = messageFromJson({ type: 'echoRequest', xid: 3, data: 'CAFE' });
    assert.deepEqual(m, { type: 'echoRequest', xid: 3, data: new Uint8Array([0xca, 0xfe]) });
    jsonFailure({ type: 'echoRequest', xid: 3, data: 'caf' }, '$.data', /even number/);
    jsonFailure({ type: 'echoRequest', xid: 3, data: 'zz' }, '$.data');
  });

  test('strict input: unknown keys, missing keys, wrong types and ranges name the JSON path', () => {
    const j = JSON.parse(JSON.stringify(messageToJson(flowMod)));
    jsonFailure({ ...j, colour: 'red' }, '$.colour', /unknown key/);
    const { priority: _p, ...noPriority } = j;
    jsonFailure(noPriority, '$.priority', /missing/);
    jsonFailure({ ...j, priority: 70000 }, '$.priority', /16-bit/);
    jsonFailure({ ...j, priority: '100' }, '$.priority');
    jsonFailure({ ...j, xid: 1.5 }, '$.xid');
    jsonFailure({ ...j, type: 'flowmod' }, '$.type', /one of/);
    const { type: _t, ...noType } = j;
    jsonFailure(noType, '$.type', /missing/);
    const bad = structuredClone(j);
    bad.instructions[0].actions[0].port = -1;
    jsonFailure(bad, '$.instructions[0].actions[0].port');
    const bad2 = structuredClone(j);
    bad2.instructions[0].actions[0].type = 'teleport';
    jsonFailure(bad2, '$.instructions[0].actions[0].type');
    const bad3 = structuredClone(j);
    bad3.match.fields[1].value = 'aa:bb:cc';
    jsonFailure(bad3, '$.match.fields[1].value', /MAC/);
    const bad4 = structuredClone(j);
    bad4.match.fields[0].field = 'in_prot';
    jsonFailure(bad4, '$.match.fields[0].field');
    const bad5 = structuredClone(j);
    bad5.match.fields[0].mask = 'x';
    jsonFailure(bad5, '$.match.fields[0].mask');
    jsonFailure([], '$', /object/);
    jsonFailure(null, '$', /object/);
  });

  test('multipart bodies are strict too', () => {
    const j = messageToJson({
      type: 'multipartRequest',
      xid: 1,
      flags: 0,
      body: { kind: 'portStats', portNo: 1 },
    });
    assert.deepEqual(j, {
      type: 'multipartRequest',
      xid: 1,
      flags: 0,
      body: { kind: 'portStats', portNo: 1 },
    });
    jsonFailure(
      { type: 'multipartRequest', xid: 1, flags: 0, body: { kind: 'portStats', portNo: 1, queueId: 2 } },
      '$.body.queueId',
    );
    jsonFailure({ type: 'multipartRequest', xid: 1, flags: 0, body: { kind: 'nope' } }, '$.body.kind');
    jsonFailure(
      {
        type: 'multipartReply',
        xid: 1,
        flags: 0,
        body: {
          kind: 'groupFeatures',
          types: 0,
          capabilities: 0,
          maxGroups: [1, 2, 3],
          actions: [1, 2, 3, 4],
        },
      },
      '$.body.maxGroups',
      /exactly 4/,
    );
  });

  test('messagesFromJson: one message or an array (paths carry the index)', () => {
    assert.equal(messagesFromJson({ type: 'barrierRequest', xid: 1 }).length, 1);
    const two = messagesFromJson([
      { type: 'barrierRequest', xid: 1 },
      { type: 'featuresRequest', xid: 2 },
    ]);
    assert.deepEqual(
      two.map((m) => m.type),
      ['barrierRequest', 'featuresRequest'],
    );
    assert.throws(
      () => messagesFromJson([{ type: 'barrierRequest', xid: 1 }, { type: 'barrierRequest' }]),
      (e: unknown) => e instanceof JsonFormatError && e.path === '$[1].xid',
    );
  });
});

describe('text form', () => {
  test('flow-mod in the ofp-print style', () => {
    assert.equal(
      messageToText(flowMod),
      'OFPT_FLOW_MOD (xid=0x5): ADD table:0 priority=100 cookie=0x1234 ' +
        'in_port=1,eth_dst=aa:bb:cc:dd:ee:ff,metadata=0xfedcba9876543210/0xff00 actions=output:2',
    );
  });

  test('reserved port names, error names, instructions', () => {
    const po: OfMessage = {
      type: 'packetOut',
      xid: 1,
      bufferId: 0xffffffff,
      inPort: 0xfffffffd,
      actions: [
        { type: 'output', port: 0xfffffffb, maxLen: 0 },
        { type: 'output', port: 0xfffffffd, maxLen: 128 },
        { type: 'pushVlan', ethertype: 0x8100 },
        { type: 'setField', field: { field: 'vlan_vid', value: 0x1005 } },
      ],
      data: new Uint8Array(64),
    };
    assert.equal(
      messageToText(po),
      'OFPT_PACKET_OUT (xid=0x1): in_port=CONTROLLER actions=FLOOD,CONTROLLER:128,push_vlan:0x8100,' +
        'set_field:4101->vlan_vid data_len=64',
    );
    assert.equal(
      messageToText({ type: 'error', xid: 2, errorType: 1, code: 1, data: new Uint8Array() }),
      'OFPT_ERROR (xid=0x2): BAD_REQUEST/BAD_TYPE',
    );
    const fm: OfMessage = {
      ...flowMod,
      command: 3,
      match: { fields: [{ field: 'vlan_vid', value: 0x1005 }] },
      instructions: [
        { type: 'meter', meterId: 3 },
        { type: 'clearActions' },
        { type: 'writeActions', actions: [{ type: 'group', groupId: 4 }] },
        { type: 'writeMetadata', metadata: 1n, metadataMask: 0xffn },
        { type: 'gotoTable', tableId: 2 },
      ],
    };
    assert.match(
      messageToText(fm),
      /DELETE table:0 priority=100 .*vlan_vid=5 actions=meter:3,clear_actions,write_actions\(group:4\),write_metadata:0x1\/0xff,goto_table:2$/,
    );
    assert.equal(
      messageToText({
        type: 'multipartRequest',
        xid: 9,
        flags: 0,
        body: { kind: 'portStats', portNo: 0xffffffff },
      }),
      'OFPST_PORT request (xid=0x9): port_no=ANY',
    );
    assert.equal(messageToText({ type: 'barrierRequest', xid: 10 }), 'OFPT_BARRIER_REQUEST (xid=0xa):');
  });

  test(`never throws, always starts with the message name (${runs(3_000)} cases)`, () => {
    fc.assert(
      fc.property(anyMessage, (m) => {
        assert.match(messageToText(m), /^OFP(T|ST)_[A-Z_]+ (request |reply )?\(xid=0x[0-9a-f]+\):/);
      }),
      { numRuns: runs(3_000) },
    );
  });
});
