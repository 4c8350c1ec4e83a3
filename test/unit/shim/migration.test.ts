// End to end in memory: a small app's rules on the paper's diamond through the shim, then prepare, move
// h1, move h2, finalize (and abort) under Tunnel ASAP and Tunnel ALAP, with the delivery invariant checked
// after every single physical message.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DIAMOND, Harness, type Topo } from './harness.ts';

const TREE: Topo = {
  switches: ['s1', 's2', 's3'],
  links: [
    ['s1', 's2'],
    ['s2', 's3'],
  ],
  hosts: { h1: 's1', h2: 's3', h3: 's3', h4: 's2' },
};

function cleanOldAndTunnel(h: Harness): void {
  for (const vs of h.plan.switches) {
    assert.deepEqual(h.net.sw(vs.old.dpid).rules, [], `${vs.name} old still has rules`);
    assert.equal(h.net.sw(vs.old.dpid).groups.size, 0, `${vs.name} old still has groups`);
  }
  assert.deepEqual(h.net.sw(h.plan.tunnelSwitch.dpid).rules, [], 'tunnel switch still has rules');
}

for (const algorithm of ['asap', 'alap'] as const) {
  describe(`Tunnel ${algorithm.toUpperCase()} on the paper diamond`, () => {
    for (const flavour of ['l2', 'pipeline'] as const) {
      it(`${flavour} app: prepare, move h1, move h2, finalize`, () => {
        const h = new Harness(DIAMOND, algorithm, flavour);
        h.installApp();
        h.checkAll('installed', { unknown: true });
        h.run('prepare', undefined, { unknown: true });
        h.move('h1', { unknown: true });
        h.move('h2', { unknown: true });
        h.run('finalize', undefined, { unknown: true });
        cleanOldAndTunnel(h);
        assert.ok(h.checks > 100);
      });
    }

    it('moves back and aborts: the new network and the tunnel switch end clean', () => {
      const h = new Harness(DIAMOND, algorithm);
      h.installApp();
      const before = h.plan.switches.map((vs) => h.net.sw(vs.old.dpid).rules.length);
      h.run('prepare');
      h.move('h1');
      h.move('h2');
      h.move('h1'); // back
      h.move('h2');
      h.run('abort');
      for (const vs of h.plan.switches) assert.deepEqual(h.net.sw(vs.new.dpid).rules, [], `${vs.name} new`);
      assert.deepEqual(h.net.sw(h.plan.tunnelSwitch.dpid).rules, []);
      assert.deepEqual(
        h.plan.switches.map((vs) => h.net.sw(vs.old.dpid).rules.length),
        before,
      );
    });

    it('a move that failed is cancelled: the host stays reachable where it was', () => {
      const h = new Harness(DIAMOND, algorithm);
      h.installApp();
      h.run('prepare');
      h.run('startMove', 'h1', { unknown: true });
      h.run('cancelMove', 'h1', { unknown: true });
      h.move('h1');
      h.run('startMove', 'h1');
      h.run('cancelMove', 'h1', { unknown: true });
      assert.equal(h.state.hosts.h1, 'new');
      h.move('h2');
      h.run('finalize');
      cleanOldAndTunnel(h);
    });

    it('app rules added mid-migration reach every switch that must carry them', () => {
      const h = new Harness(TREE, algorithm, 'flood');
      // Half the rules before prepare, the rest after h1 moved.
      h.installApp((i) => i % 2 === 0);
      h.checking = false;
      h.run('prepare');
      h.move('h1');
      h.installApp((i) => i % 2 === 1);
      h.checking = true;
      h.checkAll('all rules installed', { unknown: true });
      h.checkTarget('all rules installed');
      for (const host of ['h2', 'h3', 'h4']) h.move(host, { unknown: true });
      h.run('finalize', undefined, { unknown: true });
      cleanOldAndTunnel(h);
    });

    it('FLOOD on a tree, several hosts per switch, hosts moved in an odd order', () => {
      const h = new Harness(TREE, algorithm, 'flood');
      h.installApp();
      h.run('prepare', undefined, { unknown: true });
      for (const host of ['h3', 'h1', 'h4', 'h2']) h.move(host, { unknown: true });
      h.run('finalize', undefined, { unknown: true });
      cleanOldAndTunnel(h);
    });
  });
}
