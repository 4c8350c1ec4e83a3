import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { matchGet, NO_BUFFER, Port } from '../../../src/api/index.ts';
import { createApp } from '../../../src/apps/l2-learning.ts';
import { buildLldpDiscovery } from '../../../src/packet/lldp.ts';
import { frameBetween, lineNetwork } from '../api/fake-api.ts';

/** s1 -- s2 -- s3 -- s4 in a line, one host per switch on port 1 (like examples/topologies/line4.yaml). */
const line4 = (opts: { nBuffers?: number } = {}) => lineNetwork(4, opts);

describe('l2-learning', () => {
  it('installs the table-miss rule on switch-up', async () => {
    const net = line4();
    await net.startApp(createApp());
    for (const sw of net.switches.values()) {
      const t = sw.table();
      assert.equal(t.length, 1);
      assert.equal(t[0]!.priority, 0);
      assert.equal(t[0]!.match.fields.length, 0);
      const ins = t[0]!.instructions[0];
      assert.equal(ins?.type, 'applyActions');
      assert.deepEqual(ins?.type === 'applyActions' && ins.actions, [
        { type: 'output', port: Port.CONTROLLER, maxLen: 0xffff },
      ]);
    }
  });

  it('floods an unknown destination, then installs (in_port, eth_dst, eth_src) rules', async () => {
    const net = line4();
    const app = createApp();
    await net.startApp(app);
    const h1 = net.host('h1');
    const h2 = net.host('h2');
    // h1 -> h2: unknown everywhere, flooded along the line.
    net.send('h1', frameBetween(h1, h2));
    await net.settle();
    const s1 = net.sw(1);
    // table-miss, then the rule for h2's echo reply (h2 -> h1 arrives on port 3).
    assert.equal(s1.flowMods().length, 2);
    assert.equal(matchGet(s1.flowMods()[1]!.match, 'in_port'), 3);
    const po = s1.packetOuts()[0]!;
    assert.equal(po.inPort, 1);
    assert.deepEqual(po.actions, [{ type: 'output', port: Port.FLOOD, maxLen: 0 }]);
    assert.equal(app.macTables.get(1n)?.get(h1.mac), 1);
    assert.equal(app.macTables.get(4n)?.get(h1.mac), 2);
    // Every host got the flood (h2 answered with an echo reply, which went straight to h1 via rules + packet-outs).
    assert.ok(net.host('h4').received.length >= 1);
    assert.ok(
      h1.received.some((f) => f[34] === 0),
      'h1 got the echo reply',
    );
    // The reply h2 -> h1 installed rules on s2 and s1.
    const fm = net.sw(2).flowMods().at(-1)!;
    assert.equal(fm.priority, 1);
    assert.equal(fm.idleTimeout, 10);
    assert.equal(fm.hardTimeout, 0);
    assert.equal(matchGet(fm.match, 'in_port'), 1);
    assert.equal(matchGet(fm.match, 'eth_dst'), h1.mac);
    assert.equal(matchGet(fm.match, 'eth_src'), h2.mac);
    assert.deepEqual(fm.instructions, [
      { type: 'applyActions', actions: [{ type: 'output', port: 2, maxLen: 0 }] },
    ]);
  });

  it('all pairs ping; a second round goes without the controller', async () => {
    const net = line4();
    await net.startApp(createApp());
    assert.deepEqual(await net.pingAll(), []);
    const before = net.packetInCount;
    assert.deepEqual(await net.pingAll(), []);
    assert.equal(net.packetInCount, before, 'no packet-in once every pair is learnt');
  });

  it('honours its options', async () => {
    const net = line4();
    await net.startApp(createApp(), { idleTimeout: '0', hardTimeout: 30, priority: 7, matchSrc: 'false' });
    assert.equal(await net.ping('h1', 'h2'), true);
    const fm = net.sw(1).flowMods().at(-1)!;
    assert.equal(fm.idleTimeout, 0);
    assert.equal(fm.hardTimeout, 30);
    assert.equal(fm.priority, 7);
    assert.equal(matchGet(fm.match, 'eth_src'), undefined);
  });

  it('uses the switch buffer when the packet was buffered', async () => {
    const net = line4({ nBuffers: 16 });
    await net.startApp(createApp());
    // A table-miss rule that buffers (max_len 128) instead of the app's NO_BUFFER one.
    for (const sw of net.switches.values()) {
      sw.send({
        type: 'flowMod',
        cookie: 0n,
        cookieMask: 0n,
        tableId: 0,
        command: 0,
        idleTimeout: 0,
        hardTimeout: 0,
        priority: 0,
        bufferId: NO_BUFFER,
        outPort: Port.ANY,
        outGroup: 0xffffffff,
        flags: 0,
        match: { fields: [] },
        instructions: [
          { type: 'applyActions', actions: [{ type: 'output', port: Port.CONTROLLER, maxLen: 128 }] },
        ],
      });
    }
    assert.equal(await net.ping('h1', 'h3'), true);
    const s1 = net.sw(1);
    const fm = s1.flowMods().filter((m) => m.priority === 1);
    assert.ok(fm.length >= 1);
    assert.ok(
      fm.every((m) => m.bufferId !== NO_BUFFER),
      'flow-mods carry the buffer id',
    );
    assert.ok(
      s1.packetOuts().every((p) => p.data.length === 0),
      'packet-outs never carry data',
    );
    assert.ok(net.bufferReleases.some((r) => r.via === 'flowMod'));
    assert.ok(net.bufferReleases.some((r) => r.via === 'packetOut'));
  });

  it('ignores LLDP and forgets a switch that goes down', async () => {
    const net = line4();
    const app = createApp();
    await net.startApp(app);
    net.inject(1, 3, buildLldpDiscovery({ dpid: 2n, port: 2 }));
    await net.settle();
    assert.equal(net.sw(1).packetOuts().length, 0);
    assert.equal(await net.ping('h1', 'h2'), true);
    assert.ok(app.macTables.get(1n)!.size > 0);
    net.disconnect(1);
    await net.settle();
    assert.equal(app.macTables.has(1n), false);
    net.connect(1);
    await net.settle();
    assert.equal(app.macTables.get(1n)!.size, 0);
  });

  it('unsubscribes on stop', async () => {
    const net = line4();
    const app = createApp();
    await net.startApp(app);
    assert.ok(net.listenerCount() > 0);
    await net.stopApps();
    assert.equal(net.listenerCount(), 0);
  });
});
