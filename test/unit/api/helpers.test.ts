import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  addFlow,
  booleanOption,
  COOKIE_ALL_BITS,
  deleteFlows,
  FlowModCommand,
  listOption,
  modifyFlows,
  NO_BUFFER,
  numberOption,
  outputTo,
  type PacketInEvent,
  Port,
  physicalPorts,
  portIsUp,
  replyPacketOut,
  sendPacketOut,
  Table,
  tableMissToController,
  toMatch,
} from '../../../src/api/index.ts';
import { FakeNetwork, frameBetween } from './fake-api.ts';

function oneSwitch() {
  const net = new FakeNetwork();
  const sw = net.addSwitch(1, [1, 2, 3]);
  return { net, sw };
}

describe('api helpers', () => {
  it('addFlow builds an OFPFC_ADD with apply-actions, goto-table and the given fields', () => {
    const { sw } = oneSwitch();
    const xid = addFlow(sw, {
      priority: 5,
      match: { in_port: 1, eth_dst: '02:00:00:00:00:02' },
      actions: [outputTo(2)],
      gotoTable: 1,
      idleTimeout: 10,
      hardTimeout: 20,
      cookie: 7n,
      tableId: 0,
      sendFlowRemoved: true,
    });
    const fm = sw.flowMods()[0]!;
    assert.equal(fm.xid, xid);
    assert.equal(fm.command, FlowModCommand.ADD);
    assert.equal(fm.priority, 5);
    assert.equal(fm.idleTimeout, 10);
    assert.equal(fm.hardTimeout, 20);
    assert.equal(fm.cookie, 7n);
    assert.equal(fm.flags, 1);
    assert.equal(fm.bufferId, NO_BUFFER);
    assert.equal(fm.outPort, Port.ANY);
    assert.deepEqual(fm.match.fields, [
      { field: 'in_port', value: 1 },
      { field: 'eth_dst', value: '02:00:00:00:00:02' },
    ]);
    assert.deepEqual(fm.instructions, [
      { type: 'applyActions', actions: [{ type: 'output', port: 2, maxLen: 0 }] },
      { type: 'gotoTable', tableId: 1 },
    ]);
    assert.equal(sw.table().length, 1);
  });

  it('toMatch keeps a Match and converts the object form', () => {
    const m = { fields: [{ field: 'in_port' as const, value: 3 }] };
    assert.equal(toMatch(m), m);
    assert.deepEqual(toMatch(undefined), { fields: [] });
    assert.deepEqual(toMatch({ eth_type: 0x800, in_port: 1 }).fields, [
      { field: 'in_port', value: 1 },
      { field: 'eth_type', value: 0x800 },
    ]);
  });

  it('modifyFlows (strict or not) changes actions and keeps counters', async () => {
    const { net, sw } = oneSwitch();
    net.addHost('a', { dpid: 1, port: 1 });
    net.addHost('b', { dpid: 1, port: 2 });
    addFlow(sw, { priority: 9, match: { in_port: 1 }, actions: [outputTo(2)] });
    addFlow(sw, { priority: 8, match: { in_port: 1, eth_type: 0x800 }, actions: [outputTo(2)] });
    net.send('a', frameBetween(net.host('a'), net.host('b')));
    await net.settle();
    modifyFlows(sw, { strict: true, priority: 9, match: { in_port: 1 }, actions: [outputTo(3)] });
    const t = sw.table();
    assert.equal(sw.flowMods().at(-1)!.command, FlowModCommand.MODIFY_STRICT);
    assert.deepEqual(t[0]!.instructions, [{ type: 'applyActions', actions: [outputTo(3)] }]);
    assert.equal(t[0]!.packetCount, 1n);
    assert.deepEqual(
      t[1]!.instructions,
      [{ type: 'applyActions', actions: [outputTo(2)] }],
      'strict: only one',
    );
    modifyFlows(sw, { match: { in_port: 1 }, actions: [] });
    assert.deepEqual(
      sw.table().map((f) => f.instructions),
      [[], []],
      'non-strict: every rule the match covers',
    );
  });

  it('deleteFlows defaults to every table, any cookie; a cookie selects exactly that cookie', () => {
    const { sw } = oneSwitch();
    addFlow(sw, { priority: 1, cookie: 1n, match: { in_port: 1 } });
    addFlow(sw, { priority: 1, cookie: 2n, match: { in_port: 2 } });
    addFlow(sw, { priority: 1, cookie: 2n, tableId: 3, match: { in_port: 2 } });
    deleteFlows(sw, { cookie: 2n });
    const fm = sw.flowMods().at(-1)!;
    assert.equal(fm.tableId, Table.ALL);
    assert.equal(fm.cookieMask, COOKIE_ALL_BITS);
    assert.deepEqual(
      sw.flows.map((f) => f.cookie),
      [1n],
    );
    addFlow(sw, { priority: 4, match: { in_port: 1, eth_type: 0x800 } });
    deleteFlows(sw, { strict: true, priority: 4, match: { in_port: 1 } });
    assert.equal(sw.flows.length, 2, 'strict: a different match is kept');
    deleteFlows(sw);
    assert.equal(sw.flows.length, 0);
  });

  it('sendPacketOut sends data, or a buffer id without data', () => {
    const { sw } = oneSwitch();
    const data = new Uint8Array(60);
    sendPacketOut(sw, { actions: [outputTo(Port.FLOOD)], data });
    sendPacketOut(sw, { inPort: 2, actions: [outputTo(1)], bufferId: 42, data });
    const [a, b] = sw.packetOuts();
    assert.equal(a!.inPort, Port.CONTROLLER);
    assert.equal(a!.bufferId, NO_BUFFER);
    assert.equal(a!.data, data);
    assert.equal(b!.inPort, 2);
    assert.equal(b!.bufferId, 42);
    assert.equal(b!.data.length, 0);
  });

  it('replyPacketOut uses the packet-in buffer when there is one', () => {
    const { sw } = oneSwitch();
    const data = new Uint8Array(60);
    const ev = (bufferId: number): PacketInEvent => ({
      dp: sw,
      inPort: 3,
      msg: {
        type: 'packetIn',
        xid: 0,
        bufferId,
        totalLen: 60,
        reason: 0,
        tableId: 0,
        cookie: 0n,
        match: { fields: [] },
        data,
      },
    });
    replyPacketOut(ev(NO_BUFFER), [outputTo(1)]);
    replyPacketOut(ev(7), [outputTo(1)]);
    const [a, b] = sw.packetOuts();
    assert.equal(a!.data, data);
    assert.equal(a!.inPort, 3);
    assert.equal(b!.bufferId, 7);
    assert.equal(b!.data.length, 0);
  });

  it('tableMissToController installs priority 0, match all, whole packets to the controller', () => {
    const { sw } = oneSwitch();
    tableMissToController(sw);
    const fm = sw.flowMods()[0]!;
    assert.equal(fm.priority, 0);
    assert.deepEqual(fm.match.fields, []);
    assert.deepEqual(fm.instructions, [
      { type: 'applyActions', actions: [{ type: 'output', port: Port.CONTROLLER, maxLen: 0xffff }] },
    ]);
  });

  it('ports: up means usable (not down, not NO_RECV / NO_FWD); physical ports only', () => {
    const { net, sw } = oneSwitch();
    assert.deepEqual(physicalPorts(sw), [1, 2, 3]);
    net.setPortConfig(1, 2, 0x24, 0x24);
    net.setPortUp(1, 3, false);
    assert.equal(portIsUp(sw.ports.get(2)!), false);
    assert.equal(portIsUp(sw.ports.get(3)!), false);
    assert.deepEqual(physicalPorts(sw), [1]);
    assert.deepEqual(physicalPorts(sw, { all: true }), [1, 2, 3]);
  });

  it('reads options from numbers, strings, lists', () => {
    assert.equal(numberOption({ a: '12' }, 'a', 1), 12);
    assert.equal(numberOption({}, 'a', 1), 1);
    assert.throws(() => numberOption({ a: 'x' }, 'a', 1), /not a number/);
    assert.deepEqual(listOption({ h: 'a, b' }, 'h'), ['a', 'b']);
    assert.deepEqual(listOption({ h: '10.0.0.1+10.0.0.2' }, 'h'), ['10.0.0.1', '10.0.0.2']);
    assert.deepEqual(listOption({ h: ['x', 'y'] }, 'h'), ['x', 'y']);
    assert.deepEqual(listOption({}, 'h'), []);
    assert.equal(booleanOption({ b: 'no' }, 'b', true), false);
    assert.equal(booleanOption({ b: true }, 'b', false), true);
    assert.throws(() => booleanOption({ b: 'maybe' }, 'b', false), /not a boolean/);
  });
});
