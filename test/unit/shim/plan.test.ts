import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parse, stringify } from 'yaml';
import type { Match, OxmField } from '../../../src/openflow/types.ts';
import { matchCovers, matchesOverlap, matchKey } from '../../../src/shim/match.ts';
import {
  formatDpid,
  PlanError,
  parseDpid,
  parsePlan,
  physicalPort,
  planIndex,
  stringifyPlan,
  tunnelledPorts,
} from '../../../src/shim/plan.ts';
import { allocateTags, vlanEncoding } from '../../../src/shim/tunnel.ts';
import { DIAMOND, planText } from './harness.ts';

function problems(text: string): string[] {
  try {
    parsePlan(text, 'p.yaml');
  } catch (e) {
    assert.ok(e instanceof PlanError);
    assert.match(e.message, /^p\.yaml: invalid migration plan/);
    return e.problems;
  }
  assert.fail('plan accepted');
}

// biome-ignore lint/suspicious/noExplicitAny: tests edit the raw YAML document freely
function edit(fn: (doc: any) => void): string {
  const doc = parse(planText(DIAMOND, 'asap'));
  fn(doc);
  return stringify(doc);
}

describe('migration plan', () => {
  it('parses the test plan: dpids, identity and explicit port maps, tags, defaults', () => {
    const plan = parsePlan(planText(DIAMOND, 'alap'), 'p.yaml');
    assert.equal(plan.algorithm, 'alap');
    assert.deepEqual(plan.mover, { kind: 'testbed' });
    assert.equal(plan.tunnel.managePorts, true);
    const s1 = planIndex(plan).byName.get('s1')!;
    assert.equal(s1.dpid, 1n);
    assert.equal(s1.old.dpid, 0x101n);
    assert.equal(physicalPort(s1, 'old', 1), 1);
    assert.equal(physicalPort(s1, 'new', 1), 11);
    assert.deepEqual(tunnelledPorts(plan, s1), [1]);
    assert.equal(s1.tags.get(1), 1);
    assert.equal(planIndex(plan).byPhysical.get(0x204n)?.side, 'new');
  });

  it('round-trips through stringifyPlan', () => {
    const plan = parsePlan(planText(DIAMOND, 'asap'));
    const again = parsePlan(stringifyPlan(plan));
    assert.deepEqual(again, plan);
  });

  it('accepts datapath ids as integers, hex with or without 0x, and colon form', () => {
    assert.equal(parseDpid(5), 5n);
    assert.equal(parseDpid('0x10'), 16n);
    assert.equal(parseDpid('0000000000010003'), 0x10003n);
    assert.equal(parseDpid('00:00:00:00:00:01:00:03'), 0x10003n);
    assert.equal(parseDpid('xyz'), undefined);
    assert.equal(parseDpid(-1), undefined);
    assert.equal(formatDpid(0x10003n), '0000000000010003');
  });

  it('names the field path of structural errors', () => {
    const p = problems(
      edit((d) => {
        d.switches[1].ports[0].port = 'two';
        d.hosts[0].mac = 5;
        delete d.tunnelSwitch.dpid;
        d.bogus = 1;
      }),
    );
    assert.ok(
      p.some((x) => x.startsWith('switches[1].ports[0].port:')),
      p.join('\n'),
    );
    assert.ok(
      p.some((x) => x.startsWith('hosts[0].mac:')),
      p.join('\n'),
    );
    assert.ok(
      p.some((x) => x.startsWith('tunnelSwitch.dpid:')),
      p.join('\n'),
    );
    assert.ok(
      p.some((x) => x.includes('bogus')),
      p.join('\n'),
    );
  });

  it('reports every consistency error with its path', () => {
    const p = problems(
      edit((d) => {
        d.switches[1].old.dpid = d.switches[0].old.dpid; // duplicate physical dpid
        d.switches[0].new.ports['9'] = 5; // no virtual port 9
        d.switches[0].old.tunnelPort = 1; // collides with a mapped port
        d.hosts[1].port = 3; // s4 port 3 is a link port
        d.hosts.push({ name: 'h1', mac: 'zz', switch: 's9', port: 1 });
        d.tunnelSwitch.ports.s2 = undefined;
        d.switches[0].ports[1].peer = { switch: 's3', port: 1 };
        d.mover = { kind: 'command', command: 'migrate {host} {nope}' };
        d.tunnel.tags = { s1: { 1: 5000 } };
      }),
    );
    const expect = [
      'switches[1].old.dpid: datapath id 0000000000000101 already used at switches[0].old.dpid',
      'switches[0].new.ports.9: no virtual port 9 on s1',
      "switches[0].old.tunnelPort: tunnel port 1 is also virtual port 1's",
      'hosts[1].port: s4 port 3 is a link port',
      'hosts[2].name: duplicate host "h1"',
      'hosts[2].mac: bad MAC address "zz"',
      'hosts[2].switch: no switch "s9"',
      'tunnelSwitch.ports: no ports for switch "s2"',
      'mover.command: unknown placeholder {nope}',
      'tunnel.tags.s1: tunnel tag 5000 out of range 1..4094',
    ];
    for (const e of expect)
      assert.ok(
        p.some((x) => x.startsWith(e)),
        `missing "${e}" in\n${p.join('\n')}`,
      );
    assert.ok(
      p.some((x) => x.startsWith('switches[0].ports[1].peer:')),
      p.join('\n'),
    );
  });

  it('rejects text that is not YAML', () => {
    assert.match(problems('version: [1')[0]!, /not YAML/);
  });
});

describe('tunnel encoding', () => {
  it('VLAN push / match / pop', () => {
    assert.deepEqual(vlanEncoding.push(7), [
      { type: 'pushVlan', ethertype: 0x8100 },
      { type: 'setField', field: { field: 'vlan_vid', value: 0x1007 } },
    ]);
    assert.deepEqual(vlanEncoding.match(7), [{ field: 'vlan_vid', value: 0x1007 }]);
    assert.deepEqual(vlanEncoding.pop(), [{ type: 'popVlan' }]);
    assert.throws(() => vlanEncoding.push(0), RangeError);
    assert.throws(() => vlanEncoding.push(4095), RangeError);
  });

  it('allocates tags: explicit first, own port number when free, else the lowest free', () => {
    const tags = allocateTags([1, 2, 3, 5000], new Map([[1, 3]]));
    assert.deepEqual(
      [...tags].sort((a, b) => a[0] - b[0]),
      [
        [1, 3],
        [2, 2],
        [3, 1],
        [5000, 4],
      ],
    );
    assert.throws(
      () =>
        allocateTags(
          [1, 2],
          new Map([
            [1, 9],
            [2, 9],
          ]),
        ),
      /more than one/,
    );
  });
});

describe('match arithmetic', () => {
  const m = (fields: OxmField[]): Match => ({ fields });
  it('keys ignore field order and bits outside the mask', () => {
    assert.equal(
      matchKey(
        m([
          { field: 'eth_dst', value: '02:00:00:00:00:01' },
          { field: 'in_port', value: 3 },
        ]),
      ),
      matchKey(
        m([
          { field: 'in_port', value: 3 },
          { field: 'eth_dst', value: '02:00:00:00:00:01' },
        ]),
      ),
    );
    assert.equal(
      matchKey(m([{ field: 'metadata', value: 0x1ffn, mask: 0xffn }])),
      matchKey(m([{ field: 'metadata', value: 0xffn, mask: 0xffn }])),
    );
  });
  it('covers (non-strict) and overlap', () => {
    const general = m([{ field: 'ipv4_dst', value: '10.0.0.0', mask: '255.255.255.0' }]);
    const specific = m([
      { field: 'ipv4_dst', value: '10.0.0.7' },
      { field: 'in_port', value: 1 },
    ]);
    assert.ok(matchCovers(general, specific));
    assert.ok(!matchCovers(specific, general));
    assert.ok(matchCovers(m([]), specific));
    assert.ok(matchesOverlap(general, specific));
    assert.ok(!matchesOverlap(m([{ field: 'in_port', value: 2 }]), specific));
  });
});
