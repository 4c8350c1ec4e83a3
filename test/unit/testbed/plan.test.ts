// The naming, datapath-id and port-numbering scheme of a planned test bed (pure: no network).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { dpidFor, findSwitch, planTestbed } from '../../../src/testbed/plan.ts';
import { parseDpid } from '../../../src/testbed/state.ts';
import { IFNAMSIZ_MAX, parseTopology } from '../../../src/testbed/topology.ts';

const paper = parseTopology(readFileSync('examples/topologies/paper.yaml', 'utf8'));
const st = planTestbed(paper, { runDir: '/run/vnm/testbeds/paper', topologyFile: 'paper.yaml' });

describe('planTestbed', () => {
  it('datapath ids: old 0001, new 0002, tunnel 0003, index in the low 16 bits', () => {
    assert.equal(findSwitch(st, 's1', 'old')!.dpid, '0000000000010001');
    assert.equal(findSwitch(st, 's4', 'new')!.dpid, '0000000000020004');
    assert.equal(findSwitch(st, 'T', 'tunnel')!.dpid, '0000000000030001');
    assert.equal(st.tunnel.dpid, '0000000000030001');
    assert.equal(parseDpid('0000000000020004'), 0x20004n);
    assert.equal(dpidFor(0xabcd, 'new', 40), '0000abcd00020028');
    const all = st.switches.map((s) => s.dpid);
    assert.equal(new Set(all).size, all.length);
  });

  it('two bridges per switch plus the tunnel switch, with readable names', () => {
    assert.equal(st.switches.length, 2 * 4 + 1);
    assert.deepEqual(
      st.switches.map((s) => s.bridge),
      ['o-s1', 'o-s2', 'o-s3', 'o-s4', 'n-s1', 'n-s2', 'n-s3', 'n-s4', 'tun'],
    );
  });

  it('an old switch and its new counterpart have the same port numbers', () => {
    for (const s of paper.switches) {
      const o = findSwitch(st, s.name, 'old')!;
      const n = findSwitch(st, s.name, 'new')!;
      assert.deepEqual(
        o.ports.map((p) => [p.no, p.kind, p.host ?? p.peer?.switch]),
        n.ports.map((p) => [p.no, p.kind, p.host ?? p.peer?.switch]),
      );
    }
    const s1 = findSwitch(st, 's1', 'old')!;
    assert.deepEqual(
      s1.ports.map((p) => `${p.no}:${p.name}`),
      ['1:h-h1', '2:o-s1-s2', '3:o-s1-s3', '100:o-s1-t'],
    );
    assert.deepEqual(
      findSwitch(st, 's1', 'new')!.ports.map((p) => `${p.no}:${p.name}`),
      ['1:h-h1', '2:n-s1-s2', '3:n-s1-s3', '100:n-s1-t'],
    );
  });

  it('link ports point at each other', () => {
    for (const sw of st.switches) {
      for (const p of sw.ports) {
        if (p.kind !== 'link' && p.kind !== 'tunnel') continue;
        const peer = st.switches.find((x) => x.bridge === p.peer!.bridge)!;
        const back = peer.ports.find((x) => x.no === p.peer!.port)!;
        assert.equal(back.peer!.bridge, sw.bridge, `${sw.bridge}:${p.no}`);
        assert.equal(back.peer!.port, p.no);
      }
    }
  });

  it('the tunnel switch has one port to every old and every new switch; those ports start down', () => {
    const t = findSwitch(st, 'T', 'tunnel')!;
    assert.deepEqual(
      t.ports.map((p) => `${p.no}:${p.name}`),
      [
        '1:t-o-s1',
        '2:t-o-s2',
        '3:t-o-s3',
        '4:t-o-s4',
        '1001:t-n-s1',
        '1002:t-n-s2',
        '1003:t-n-s3',
        '1004:t-n-s4',
      ],
    );
    for (const sw of st.switches.filter((s) => s.network !== 'tunnel')) {
      const tp = sw.ports.find((p) => p.kind === 'tunnel')!;
      assert.equal(tp.no, 100);
      assert.equal(tp.startsDown, true);
      assert.ok(sw.ports.filter((p) => p.kind !== 'tunnel').every((p) => !p.startsDown));
    }
    const tunnelLinks = st.links.filter((l) => l.network === 'tunnel');
    assert.equal(tunnelLinks.length, 8);
    assert.ok(
      tunnelLinks.every((l) => l.kind === 'veth' && l.spec.delayUs === 1000 && l.spec.rateBps === 100e6),
    );
  });

  it('hosts: namespaces per bed, start on the old network, eth0 inside, h-<host> on the switch', () => {
    assert.equal(st.labNamespace, 'vnm-paper');
    assert.deepEqual(st.namespaces, [
      'vnm-paper',
      'vnm-paper-h1',
      'vnm-paper-h2',
      'vnm-paper-h3',
      'vnm-paper-h4',
    ]);
    const h1 = st.hosts[0]!;
    assert.deepEqual(
      { ns: h1.namespace, ifname: h1.ifname, sw: h1.switchIfname, net: h1.network, port: h1.port },
      { ns: 'vnm-paper-h1', ifname: 'eth0', sw: 'h-h1', net: 'old', port: 1 },
    );
  });

  it('blocked links start down on both ends, in both networks', () => {
    const t = parseTopology('name: b\nswitches: [a, b]\nlinks: [[a, b, { blocked: true }]]\n');
    const s = planTestbed(t, { runDir: '/tmp/x' });
    for (const sw of s.switches.filter((x) => x.network !== 'tunnel')) {
      assert.equal(sw.ports.find((p) => p.kind === 'link')!.startsDown, true);
    }
  });

  it('every interface name of the big example fits in 15 characters, and none repeats', () => {
    const big = parseTopology(readFileSync('examples/topologies/big40.yaml', 'utf8'));
    const s = planTestbed(big, { runDir: '/tmp/x' });
    const names = [
      ...s.switches.map((x) => x.bridge),
      ...s.links.flatMap((l) => [l.a.ifname, l.b.ifname]),
      ...s.hosts.map((h) => h.switchIfname),
    ];
    assert.ok(names.every((n) => n.length <= IFNAMSIZ_MAX));
    assert.equal(new Set(names).size, names.length);
    assert.equal(s.switches.length, 81);
  });
});
