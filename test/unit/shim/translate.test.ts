// Unit tests of the app <-> physical translations, on the paper diamond (s1: h1 on port 1, s2 on port 2,
// s3 on port 3; old ports = virtual ports, new ports = virtual + 10, tunnel port 100).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { AppCommand } from '../../../src/api/types.ts';
import {
  FlowModCommand,
  FlowModFlags,
  GroupModCommand,
  GroupType,
  NO_BUFFER,
  Port,
} from '../../../src/openflow/constants.ts';
import type { Action, FlowMod, Instruction, Match, Outgoing, PacketIn } from '../../../src/openflow/types.ts';
import { ShimCommandError } from '../../../src/shim/model.ts';
import {
  APP_COPY_COOKIE,
  egressGroup,
  FROM_TUNNEL,
  LOGICAL_MASK,
  physicalAppGroup,
} from '../../../src/shim/pipeline.ts';
import { translatePacketIn } from '../../../src/shim/translate.ts';
import { DIAMOND, Harness, hostMac } from './harness.ts';

const S1 = 1n;
const O1 = 0x101n;
const N1 = 0x201n;
const H2 = hostMac(DIAMOND, 'h2');
const out = (port: number): Action => ({ type: 'output', port, maxLen: 0xffff });

function add(match: Match, actions: Action[], extra: Partial<Outgoing<FlowMod>> = {}): Outgoing<FlowMod> {
  return {
    type: 'flowMod',
    cookie: 0xabcn,
    cookieMask: 0n,
    tableId: 0,
    command: FlowModCommand.ADD,
    idleTimeout: 0,
    hardTimeout: 0,
    priority: 5,
    bufferId: NO_BUFFER,
    outPort: Port.ANY,
    outGroup: 0xffffffff,
    flags: 0,
    match,
    instructions: [{ type: 'applyActions', actions }],
    ...extra,
  };
}

function quiet(algorithm: 'asap' | 'alap' = 'asap'): Harness {
  const h = new Harness(DIAMOND, algorithm);
  h.checking = false;
  return h;
}

function flowMods(h: Harness, cmd: AppCommand, sw = 's1') {
  return h.command(sw, cmd).map((m) => ({ dpid: m.dpid, msg: m.msg as Outgoing<FlowMod> }));
}

function applyActions(instructions: Instruction[]): Action[] {
  const i = instructions.find((x) => x.type === 'applyActions');
  return i && i.type === 'applyActions' ? i.actions : [];
}

function meta(match: Match) {
  const f = match.fields.find((x) => x.field === 'metadata');
  return f && f.field === 'metadata' ? { value: f.value, mask: f.mask } : undefined;
}

describe('flow-mod translation', () => {
  it('in_port -> metadata, output to a link port -> physical port, table shifted, shim cookie and flags', () => {
    const h = quiet();
    const [m, ...rest] = flowMods(
      h,
      add(
        {
          fields: [
            { field: 'in_port', value: 1 },
            { field: 'eth_dst', value: H2 },
          ],
        },
        [out(2)],
      ),
    );
    assert.equal(rest.length, 0);
    assert.equal(m!.dpid, O1);
    assert.equal(m!.msg.tableId, 1);
    assert.equal(m!.msg.cookie, APP_COPY_COOKIE | 1n);
    assert.equal(m!.msg.flags & FlowModFlags.SEND_FLOW_REM, FlowModFlags.SEND_FLOW_REM);
    assert.deepEqual(meta(m!.msg.match), { value: 1n << 32n, mask: LOGICAL_MASK | FROM_TUNNEL });
    assert.ok(!m!.msg.match.fields.some((f) => f.field === 'in_port'));
    assert.deepEqual(applyActions(m!.msg.instructions), [out(2)]);
  });

  it('output to a host port goes through its egress group; FLOOD expands; IN_PORT stays', () => {
    const h = quiet();
    const [m] = flowMods(
      h,
      add({ fields: [] }, [out(1), out(Port.FLOOD), out(Port.IN_PORT), out(Port.CONTROLLER)]),
    );
    assert.deepEqual(applyActions(m!.msg.instructions), [
      { type: 'group', groupId: egressGroup(1, false) },
      { type: 'group', groupId: egressGroup(1, false) },
      out(2),
      out(3),
      out(Port.IN_PORT),
      out(Port.CONTROLLER),
    ]);
  });

  it('goto_table shifts; write_metadata keeps to the app bits; app metadata matches too', () => {
    const h = quiet();
    const [m] = flowMods(h, {
      ...add({ fields: [{ field: 'metadata', value: 0xffff_0000_0000_0007n }] }, []),
      tableId: 2,
      instructions: [
        { type: 'writeMetadata', metadata: 0xffff_0000_0000_abcdn, metadataMask: (1n << 64n) - 1n },
        { type: 'gotoTable', tableId: 3 },
      ],
    });
    assert.equal(m!.msg.tableId, 3);
    assert.deepEqual(m!.msg.instructions, [
      { type: 'writeMetadata', metadata: 0xabcdn, metadataMask: 0xffff_ffffn },
      { type: 'gotoTable', tableId: 4 },
    ]);
    assert.deepEqual(meta(m!.msg.match), { value: 7n, mask: 0xffff_ffffn | FROM_TUNNEL });
  });

  it('refuses bad ports and tables without touching the virtual table', () => {
    const h = quiet();
    assert.throws(
      () => h.command('s1', add({ fields: [] }, [out(7)])),
      (e: unknown) => e instanceof ShimCommandError && e.errorType === 2,
    );
    assert.throws(() => h.command('s1', { ...add({ fields: [] }, []), tableId: 0xfe }), ShimCommandError);
    assert.throws(
      () => h.command('s1', add({ fields: [] }, [{ type: 'group', groupId: 0x1000000 }])),
      ShimCommandError,
    );
    assert.equal(h.ledger.rules(S1).length, 0);
  });

  it('ASAP once prepared: FROM_TUNNEL variants per tunnelled ingress, hairpin via IN_PORT, no output back to the sender', () => {
    const h = quiet('asap');
    h.run('prepare');
    const msgs = flowMods(
      h,
      add({ fields: [{ field: 'eth_dst', value: hostMac(DIAMOND, 'h1') }] }, [out(1)]),
    );
    assert.equal(msgs.length, 2);
    const [base, ft] = msgs;
    assert.deepEqual(meta(base!.msg.match), { value: 0n, mask: FROM_TUNNEL });
    assert.deepEqual(meta(ft!.msg.match), {
      value: (1n << 32n) | FROM_TUNNEL,
      mask: LOGICAL_MASK | FROM_TUNNEL,
    });
    // The FROM_TUNNEL variant for ingress 1 must not send back out of port 1.
    assert.deepEqual(applyActions(ft!.msg.instructions), []);
    const [, ft2] = flowMods(
      h,
      add({ fields: [{ field: 'eth_dst', value: H2 }] }, [out(Port.IN_PORT), out(Port.FLOOD)], {
        priority: 6,
      }),
    );
    assert.deepEqual(applyActions(ft2!.msg.instructions), [
      { type: 'pushVlan', ethertype: 0x8100 },
      { type: 'setField', field: { field: 'vlan_vid', value: 0x1001 } },
      out(Port.IN_PORT),
      { type: 'popVlan' },
      out(2),
      out(3),
    ]);
    // A rule pinned to a link port never sees tunnelled packets: no variant.
    assert.equal(
      flowMods(h, add({ fields: [{ field: 'in_port', value: 2 }] }, [out(3)], { priority: 7 })).length,
      1,
    );
  });

  it('ALAP once prepared: the same rule on old and new (new ports renumbered)', () => {
    const h = quiet('alap');
    h.run('prepare');
    const msgs = flowMods(h, add({ fields: [{ field: 'in_port', value: 2 }] }, [out(3)]));
    assert.deepEqual(
      msgs.map((m) => [m.dpid, applyActions(m.msg.instructions)]),
      [
        [O1, [out(3)]],
        [N1, [out(13)]],
      ],
    );
  });

  it('non-strict delete with an out_port filter removes only matching rules, each copy strictly', () => {
    const h = quiet('alap');
    h.run('prepare');
    h.command(
      's1',
      add({ fields: [{ field: 'eth_dst', value: H2 }] }, [out(2)], { flags: FlowModFlags.SEND_FLOW_REM }),
    );
    h.command(
      's1',
      add({ fields: [{ field: 'eth_src', value: H2 }] }, [out(3)], { flags: FlowModFlags.SEND_FLOW_REM }),
    );
    const msgs = flowMods(h, {
      ...add({ fields: [] }, []),
      command: FlowModCommand.DELETE,
      tableId: 0xff,
      outPort: 2,
    });
    assert.deepEqual(
      msgs.map((m) => [m.dpid, m.msg.command]),
      [
        [O1, FlowModCommand.DELETE_STRICT],
        [N1, FlowModCommand.DELETE_STRICT],
      ],
    );
    assert.equal(h.ledger.rules(S1).length, 1);
    assert.equal(h.notices.filter((n) => n.kind === 'flowRemoved').length, 1);
    const fr = h.notices.find((n) => n.kind === 'flowRemoved')!;
    assert.equal(fr.kind === 'flowRemoved' && fr.msg.reason, 2);
    assert.equal(fr.vdpid, S1);
  });

  it('modify (non-strict) rewrites every copy in place; identical add keeps the rule id', () => {
    const h = quiet('alap');
    h.run('prepare');
    h.command('s1', add({ fields: [{ field: 'eth_dst', value: H2 }] }, [out(2)]));
    const msgs = flowMods(h, { ...add({ fields: [] }, [out(3)]), command: FlowModCommand.MODIFY });
    assert.deepEqual(
      msgs.map((m) => [m.dpid, m.msg.command, applyActions(m.msg.instructions)]),
      [
        [O1, FlowModCommand.MODIFY_STRICT, [out(3)]],
        [N1, FlowModCommand.MODIFY_STRICT, [out(13)]],
      ],
    );
    h.command('s1', add({ fields: [{ field: 'eth_dst', value: H2 }] }, [out(2)]));
    assert.deepEqual(
      h.ledger.rules(S1).map((r) => r.id),
      [1],
    );
    assert.throws(
      () =>
        h.command(
          's1',
          add({ fields: [{ field: 'eth_dst', value: H2, mask: 'ff:00:00:00:00:00' }] }, [], {
            flags: FlowModFlags.CHECK_OVERLAP,
          }),
        ),
      (e: unknown) => e instanceof ShimCommandError && e.code === 3,
    );
  });
});

describe('group-mod translation', () => {
  it('app groups: buckets translated, FROM_TUNNEL variants in ASAP, delete ALL spares egress groups', () => {
    const h = quiet('asap');
    h.run('prepare');
    const g: AppCommand = {
      type: 'groupMod',
      command: GroupModCommand.ADD,
      groupType: GroupType.ALL,
      groupId: 5,
      buckets: [{ weight: 0, watchPort: Port.ANY, watchGroup: 0xffffffff, actions: [out(1), out(2)] }],
    };
    const msgs = h.command('s1', g);
    assert.deepEqual(
      msgs.map((m) => m.msg.type === 'groupMod' && [m.msg.groupId, m.msg.buckets.map((b) => b.actions)]),
      [
        // Two outputs in one bucket: split (a bucket is an action set in Open vSwitch).
        [5, [[{ type: 'group', groupId: egressGroup(1, false) }], [out(2)]]],
        // The variant for packets from h1 through the tunnel: not back to h1.
        [physicalAppGroup(5, 1), [[out(2)]]],
      ],
    );
    h.command(
      's1',
      add({ fields: [] }, [{ type: 'group', groupId: 5 }], { flags: FlowModFlags.SEND_FLOW_REM }),
    );
    const del = h.command('s1', { ...g, command: GroupModCommand.DELETE, groupId: 0xfffffffc, buckets: [] });
    // The rule using the group goes first (both variants), then the group (both variants).
    assert.deepEqual(
      del.map((m) => m.msg.type),
      ['flowMod', 'flowMod', 'groupMod', 'groupMod'],
    );
    assert.ok(h.net.sw(O1).groups.has(egressGroup(1, false)));
    assert.equal(h.ledger.rules(S1).length, 0);
    const fr = h.notices.filter((n) => n.kind === 'flowRemoved');
    assert.equal(fr.length, 1);
    assert.equal(fr[0]!.kind === 'flowRemoved' && fr[0]!.msg.reason, 3 /* GROUP_DELETE */);
  });
});

describe('packet-in and packet-out', () => {
  function physicalPacketIn(fields: Match['fields'], extra: Partial<PacketIn> = {}): PacketIn {
    return {
      type: 'packetIn',
      xid: 0,
      bufferId: NO_BUFFER,
      totalLen: 60,
      reason: 1,
      tableId: 2,
      cookie: APP_COPY_COOKIE | 1n,
      match: { fields },
      data: new Uint8Array([1, 2, 3]),
      ...extra,
    };
  }

  it('reverse-maps a tunnelled packet-in: logical in_port, table - 1, shim fields stripped, app cookie, virtual buffer', () => {
    const h = quiet('asap');
    h.command('s1', { ...add({ fields: [] }, [out(Port.CONTROLLER)]), tableId: 1, cookie: 0x77n });
    h.run('prepare');
    const r = translatePacketIn(
      h.ctx(),
      O1,
      physicalPacketIn(
        [
          { field: 'in_port', value: 100 },
          { field: 'metadata', value: (1n << 32n) | FROM_TUNNEL | 0x42n },
          { field: 'tunnel_id', value: 9n },
        ],
        { bufferId: 77 },
      ),
    );
    assert.equal(r.kind, 'packetIn');
    if (r.kind !== 'packetIn') return;
    assert.equal(r.vdpid, S1);
    assert.equal(r.inPort, 1);
    assert.equal(r.msg.tableId, 1);
    assert.equal(r.msg.cookie, 0x77n);
    assert.deepEqual(r.msg.match.fields, [
      { field: 'in_port', value: 1 },
      { field: 'metadata', value: 0x42n },
      { field: 'tunnel_id', value: 9n },
    ]);
    assert.equal(r.msg.bufferId, 1);
    assert.deepEqual(r.msg.data, new Uint8Array([1, 2, 3]));

    // The app answers with a packet-out on that buffer: it runs where the packet waits, as it arrived.
    const po = h.command('s1', {
      type: 'packetOut',
      bufferId: 1,
      inPort: 1,
      actions: [out(Port.FLOOD)],
      data: new Uint8Array(0),
    });
    assert.deepEqual(po, [
      {
        dpid: O1,
        msg: {
          type: 'packetOut',
          bufferId: 77,
          inPort: 100,
          actions: [out(2), out(3)],
          data: new Uint8Array(0),
        },
      },
    ]);
    assert.throws(
      () =>
        h.command('s1', { type: 'packetOut', bufferId: 1, inPort: 1, actions: [], data: new Uint8Array(0) }),
      (e: unknown) => e instanceof ShimCommandError && e.code === 8 /* BUFFER_UNKNOWN */,
    );
  });

  it('a flow-mod naming a buffer releases it on the switch that holds it', () => {
    const h = quiet('asap');
    h.run('prepare');
    const local = translatePacketIn(
      h.ctx(),
      O1,
      physicalPacketIn(
        [
          { field: 'in_port', value: 1 },
          { field: 'metadata', value: 1n << 32n },
        ],
        { bufferId: 5 },
      ),
    );
    const tunnelled = translatePacketIn(
      h.ctx(),
      O1,
      physicalPacketIn(
        [
          { field: 'in_port', value: 100 },
          { field: 'metadata', value: (1n << 32n) | FROM_TUNNEL },
        ],
        { bufferId: 6 },
      ),
    );
    assert.ok(local.kind === 'packetIn' && tunnelled.kind === 'packetIn');
    const a = flowMods(
      h,
      add({ fields: [{ field: 'eth_dst', value: H2 }] }, [out(2)], { bufferId: local.msg.bufferId }),
    );
    assert.deepEqual(
      a.map((m) => [m.dpid, m.msg.type, m.msg.bufferId]),
      [
        [O1, 'flowMod', 5],
        [O1, 'flowMod', NO_BUFFER],
      ],
    );
    // A tunnelled packet is re-tagged and sent through table 0 again, after the rule is in.
    const b = h.command(
      's1',
      add({ fields: [{ field: 'eth_dst', value: H2 }] }, [out(3)], {
        bufferId: tunnelled.msg.bufferId,
        priority: 9,
      }),
    );
    const last = b[b.length - 1]!;
    assert.deepEqual(last, {
      dpid: O1,
      msg: {
        type: 'packetOut',
        bufferId: 6,
        inPort: 100,
        actions: [
          { type: 'pushVlan', ethertype: 0x8100 },
          { type: 'setField', field: { field: 'vlan_vid', value: 0x1001 } },
          { type: 'output', port: Port.TABLE, maxLen: 0 },
        ],
        data: new Uint8Array(0),
      },
    });
  });

  it('an unbuffered packet-out runs where its in_port host is; FLOOD skips the in_port; IN_PORT reaches it', () => {
    const h = quiet('alap');
    h.run('prepare');
    h.move('h1');
    const [m] = h.command('s1', {
      type: 'packetOut',
      bufferId: NO_BUFFER,
      inPort: 1,
      actions: [out(Port.FLOOD), out(1), out(Port.IN_PORT)],
      data: new Uint8Array(0),
    });
    assert.deepEqual(m, {
      dpid: N1,
      msg: {
        type: 'packetOut',
        bufferId: NO_BUFFER,
        inPort: Port.CONTROLLER,
        actions: [out(12), out(13), { type: 'group', groupId: egressGroup(1, false) }],
        data: new Uint8Array(0),
      },
    });
  });

  it('OFPP_TABLE for a migrated host under ASAP poses as the tunnelled packet, and is delivered once', () => {
    const h = new Harness(DIAMOND, 'asap');
    h.installApp();
    h.run('prepare');
    h.move('h1');
    const msgs = h.command('s1', {
      type: 'packetOut',
      bufferId: NO_BUFFER,
      inPort: 1,
      actions: [out(Port.TABLE)],
      data: new Uint8Array(0),
    });
    const m = msgs[0]!;
    assert.equal(m.dpid, O1);
    assert.ok(m.msg.type === 'packetOut');
    if (m.msg.type !== 'packetOut') return;
    assert.equal(m.msg.inPort, 100);
    const trace = h.net.packetOut(O1, m.msg, {
      ethSrc: hostMac(DIAMOND, 'h1'),
      ethDst: H2,
      ethType: 0x800,
      vlans: [],
      bytes: 60,
    });
    assert.deepEqual(
      trace.deliveries.map((d) => [d.host, d.packet.vlans]),
      [['h2', []]],
    );
  });

  it('a table-0 packet-in from a moving host at its destination is its arrival (mover: external)', async () => {
    const { parsePlan } = await import('../../../src/shim/plan.ts');
    const { planText } = await import('./harness.ts');
    const h = quiet('asap');
    Object.assign(h, { plan: parsePlan(planText(DIAMOND, 'asap', { kind: 'external', timeoutMs: 1000 })) });
    h.run('prepare');
    const t = h.transition('startMove', 'h1');
    for (const s of t.steps) h.net.applyStep(s);
    h.state = t.to;
    h.net.attach('h1', N1, 11);
    const trace = h.net.send('h1', H2);
    assert.equal(trace.packetIns.length, 1);
    const pi = trace.packetIns[0]!;
    const r = translatePacketIn(
      h.ctx(),
      pi.dpid,
      physicalPacketIn([{ field: 'in_port', value: pi.inPort }], { tableId: 0, cookie: pi.cookie }),
    );
    assert.deepEqual(r, { kind: 'arrival', host: 'h1', side: 'new' });
    h.run('hostArrived', 'h1');
    assert.equal(h.net.send('h1', H2).packetIns.length, 0);
  });

  it('port-mod reaches both copies of the virtual port, with each physical port number', () => {
    const h = quiet();
    const msgs = h.command('s1', {
      type: 'portMod',
      portNo: 2,
      hwAddr: '02:00:00:00:aa:bb',
      config: 1,
      mask: 1,
      advertise: 0,
    });
    assert.deepEqual(
      msgs.map((m) => [m.dpid, m.msg.type === 'portMod' && m.msg.portNo]),
      [
        [O1, 2],
        [N1, 12],
      ],
    );
  });
});

describe('app group buckets (Open vSwitch runs them as action sets)', () => {
  const bucket = (actions: Action[]) => ({ weight: 0, watchPort: Port.ANY, watchGroup: 0xffffffff, actions });
  it('FLOOD in an ALL group splits into one bucket per port; elsewhere it is refused', () => {
    const h = quiet('asap');
    const set: Action = { type: 'setField', field: { field: 'eth_dst', value: H2 } };
    const msgs = h.command('s1', {
      type: 'groupMod',
      command: GroupModCommand.ADD,
      groupType: GroupType.ALL,
      groupId: 9,
      buckets: [bucket([set, out(Port.FLOOD)])],
    });
    const g = msgs[0]!.msg;
    assert.ok(g.type === 'groupMod');
    assert.deepEqual(g.type === 'groupMod' && g.buckets.map((b) => b.actions), [
      [set, { type: 'group', groupId: egressGroup(1, false) }],
      [set, out(2)],
      [set, out(3)],
    ]);
    assert.throws(
      () =>
        h.command('s1', {
          type: 'groupMod',
          command: GroupModCommand.ADD,
          groupType: GroupType.INDIRECT,
          groupId: 10,
          buckets: [bucket([out(Port.FLOOD)])],
        }),
      (e: unknown) => e instanceof ShimCommandError && e.errorType === 6,
    );
    assert.equal(h.ledger.group(S1, 10), undefined);
  });

  it('the hairpin in a FROM_TUNNEL bucket tags and returns without a trailing pop', () => {
    const h = quiet('asap');
    h.run('prepare');
    const msgs = h.command('s1', {
      type: 'groupMod',
      command: GroupModCommand.ADD,
      groupType: GroupType.INDIRECT,
      groupId: 11,
      buckets: [bucket([out(Port.IN_PORT)])],
    });
    const ft = msgs[1]!.msg;
    assert.deepEqual(ft.type === 'groupMod' && ft.buckets[0]!.actions, [
      { type: 'pushVlan', ethertype: 0x8100 },
      { type: 'setField', field: { field: 'vlan_vid', value: 0x1001 } },
      out(Port.IN_PORT),
    ]);
  });

  it('explicit output to the ingress is dropped in a FROM_TUNNEL variant, as the switch would', () => {
    const h = quiet('asap');
    h.run('prepare');
    const msgs = h.command('s1', add({ fields: [] }, [out(1), out(2)]));
    assert.deepEqual(applyActions(msgs[1]!.msg.type === 'flowMod' ? msgs[1]!.msg.instructions : []), [
      out(2),
    ]);
  });
});
