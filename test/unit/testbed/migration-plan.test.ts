import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { parsePlan } from '../../../src/shim/plan.ts';
import { migrationPlanYaml } from '../../../src/testbed/migration-plan.ts';
import { planTestbed } from '../../../src/testbed/plan.ts';
import { parseTopology } from '../../../src/testbed/topology.ts';

const dir = 'examples/topologies';

for (const file of readdirSync(dir).filter((f) => f.endsWith('.yaml'))) {
  test(`the migration plan written for ${file} is a valid shim plan that matches the bed`, () => {
    const topo = parseTopology(readFileSync(join(dir, file), 'utf8'), file);
    const state = planTestbed(topo, { runDir: '/nonexistent' });
    const plan = parsePlan(migrationPlanYaml(state, { algorithm: 'asap', blackoutMs: 150 }), `${file} plan`);

    assert.equal(plan.algorithm, 'asap');
    assert.equal(plan.blackoutMs, 150);
    assert.equal(plan.switches.length, topo.switches.length);
    assert.equal(plan.hosts.length, state.hosts.length);

    const physical = new Set(state.switches.map((s) => BigInt(`0x${s.dpid}`)));
    for (const sw of plan.switches) {
      // The app must never see a physical datapath id.
      assert.ok(!physical.has(sw.dpid), `virtual dpid ${sw.dpid} of ${sw.name} collides with a bridge`);
      const oldSw = state.switches.find((s) => s.name === sw.name && s.network === 'old')!;
      const newSw = state.switches.find((s) => s.name === sw.name && s.network === 'new')!;
      assert.equal(sw.old.dpid, BigInt(`0x${oldSw.dpid}`));
      assert.equal(sw.new.dpid, BigInt(`0x${newSw.dpid}`));
      // Every host and link port of the old switch is a virtual port; the tunnel port is not.
      const visible = oldSw.ports.filter((p) => p.kind !== 'tunnel').map((p) => p.no);
      assert.deepEqual(
        sw.ports.map((p) => p.port).sort((a, b) => a - b),
        visible.sort((a, b) => a - b),
      );
      assert.ok(!sw.ports.some((p) => p.port === sw.old.tunnelPort));
    }
    for (const h of state.hosts) {
      const ph = plan.hosts.find((x) => x.name === h.name)!;
      assert.equal(ph.mac, h.mac);
      assert.equal(ph.port, h.port);
      assert.equal(ph.switch, h.switch);
    }
  });
}
