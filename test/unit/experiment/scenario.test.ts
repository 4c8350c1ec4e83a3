import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  applyLinkOverride,
  applyOverrides,
  effectiveTopology,
  loadScenarioFile,
  parseScenario,
  ScenarioError,
  trafficRounds,
} from '../../../src/experiment/scenario.ts';
import { estimateRunMs, planTimeline, steadyPhaseName } from '../../../src/experiment/timeline.ts';
import { parseTopology, type Topology } from '../../../src/testbed/topology.ts';

const TOPO = parseTopology(`
name: t
switches: [s1, s2, s3, s4]
links: [[s1, s2], [s2, s4], [s1, s3], [s3, s4]]
hosts:
  h1: { switch: s1, ip: 10.0.0.1/24 }
  h2: { switch: s4, ip: 10.0.0.2/24 }
  h3: { switch: s2, ip: 10.0.0.3/24 }
tunnel: { encap: vlan, link: { kind: veth, delay: 1ms, rate: 100mbit } }
`);

const loadTopology = (p: string): { topology: Topology; file: string } => {
  if (p !== 'net.yaml') throw new Error(`cannot read topology file ${p}: ENOENT`);
  return { topology: TOPO, file: '/x/net.yaml' };
};

const GOOD = `name: demo
topology: net.yaml
apps:
  - path-flipper
  - name: l2-learning
    options: { idleTimeout: 30 }
algorithms: [none, alap]
migration:
  order: [h1, [h2, h3]]
  blackout: 150ms
links:
  tunnel: { delay: 2ms }
traffic:
  - { kind: ping, from: h1, to: h2, interval: 20ms }
  - { kind: tcp, from: h1, to: h2, rate: 50mbit, round: 2 }
  - { kind: dns, from: h3, to: h2, qps: 500, duration: 10s }
timing: { before: 3s, between: 4s, beforeFinalize: 5s, after: 6s }
`;

function parse(text: string) {
  return parseScenario(text, 'demo.yaml', {
    loadTopology,
    knownApps: ['l2-learning', 'path-flipper', 'shortest-path'],
  });
}

function issues(text: string): string[] {
  try {
    parse(text);
  } catch (err) {
    assert.ok(err instanceof ScenarioError, String(err));
    return err.issues.map((i) => `${i.file}:${i.line}:${i.column}: ${i.path}: ${i.message}`);
  }
  assert.fail('expected a ScenarioError');
}

describe('scenario files', () => {
  test('a complete scenario parses with every field', () => {
    const s = parse(GOOD);
    assert.equal(s.name, 'demo');
    assert.equal(s.topologyFile, '/x/net.yaml');
    assert.deepEqual(
      s.apps.map((a) => a.name),
      ['path-flipper', 'l2-learning'],
    );
    assert.deepEqual(s.apps[1]!.options, { idleTimeout: 30 });
    assert.deepEqual(s.algorithms, ['none', 'alap']);
    assert.deepEqual(s.migration, { order: [['h1'], ['h2', 'h3']], blackoutMs: 150 });
    assert.deepEqual(s.links.tunnel, { delayUs: 2000 });
    assert.equal(s.traffic.length, 3);
    assert.deepEqual(s.traffic[0], {
      id: 'ping-h1-h2',
      kind: 'ping',
      from: 'h1',
      to: 'h2',
      round: 1,
      intervalMs: 20,
    });
    assert.equal(s.traffic[1]!.kind === 'tcp' && s.traffic[1]!.rateBps, 50_000_000);
    assert.equal(s.traffic[1]!.round, 2);
    assert.equal(s.traffic[2]!.kind === 'dns' && s.traffic[2]!.qps, 500);
    assert.equal(s.traffic[2]!.durationMs, 10_000);
    assert.equal(s.timing.beforeMs, 3000);
    assert.equal(s.timing.afterMs, 6000);
    assert.equal(s.timing.settleMs, 1000, 'default');
    assert.deepEqual(trafficRounds(s), [1, 2]);
  });

  test('errors carry file:line:column, the field path and what is wrong — all of them at once', () => {
    const text = `name: demo
topology: net.yaml
apps: [path-flipper, nosuchapp]
algorithms: [none, fast]
migration:
  order: [h1, h1, h9]
  blackout: soon
traffic:
  - { kind: ping, from: h1, to: h7 }
  - { kind: tcp, from: h1, to: h1, rate: lots }
  - { kind: smoke, from: h1, to: h2 }
  - { kind: dns, from: h1, to: h2, colour: red }
timing: { before: 3 }
extra: 1
`;
    const got = issues(text);
    const expect = [
      'demo.yaml:3:22: apps[1].name: unknown app',
      "demo.yaml:4:20: algorithms[1]: expected one of none, asap, alap, got 'fast'",
      "demo.yaml:6:15: migration.order[1]: host 'h1' moves twice (first at line 6)",
      "demo.yaml:6:19: migration.order[2]: unknown host 'h9' (hosts: h1, h2, h3)",
      "demo.yaml:7:13: migration.blackout: bad duration 'soon'",
      "demo.yaml:9:33: traffic[0].to: unknown host 'h7'",
      "demo.yaml:10:32: traffic[1].to: same host as 'from' (h1)",
      "demo.yaml:10:42: traffic[1].rate: bad rate 'lots'",
      "demo.yaml:11:13: traffic[2].kind: expected ping, tcp, udp or dns, got 'smoke'",
      "demo.yaml:12:36: traffic[3].colour: unknown key 'colour'",
      'demo.yaml:13:19: timing.before: bad duration number 3',
      "demo.yaml:14:1: extra: unknown key 'extra'",
    ];
    for (const e of expect)
      assert.ok(
        got.some((g) => g.startsWith(e)),
        `missing: ${e}\ngot:\n${got.join('\n')}`,
      );
  });

  test('every host must move before finalize when a migration is compared', () => {
    const got = issues(GOOD.replace('order: [h1, [h2, h3]]', 'order: [h1, h2]'));
    assert.ok(
      got.some((g) => g.includes('migration.order: every host must move before finalize; missing: h3')),
      got.join('\n'),
    );
    // ... but a `none`-only scenario needs no migration at all.
    const s = parse(
      GOOD.replace('algorithms: [none, alap]', 'algorithms: [none]').replace(/migration:\n.*\n.*\n/, ''),
    );
    assert.deepEqual(s.migration.order, []);
  });

  test('missing sections and YAML syntax errors', () => {
    const got = issues('name: x\n');
    for (const f of ['topology: missing', 'apps: missing', 'migration: missing', 'traffic: missing'])
      assert.ok(
        got.some((g) => g.includes(f)),
        `${f}: ${got.join('\n')}`,
      );
    const syn = issues('name: [x\n');
    assert.match(syn[0]!, /^demo\.yaml:\d+:\d+: : YAML syntax/);
  });

  test("a broken topology file is reported with the topology's own positions", () => {
    const got = (() => {
      try {
        parseScenario(
          'name: x\ntopology: net.yaml\napps: [a]\ntraffic: [{ kind: ping, from: h1, to: h2 }]\n',
          's.yaml',
          {
            loadTopology: () => ({
              topology: parseTopology('name: t\nswitches: [s1]\nlinks: [[s1, s9]]\n', 't.yaml'),
              file: 't.yaml',
            }),
          },
        );
      } catch (err) {
        return (err as ScenarioError).issues.map((i) => `${i.file}:${i.line}: ${i.path}: ${i.message}`);
      }
      return [];
    })();
    assert.ok(
      got.some((g) => g.startsWith('s.yaml:2: topology: the topology file is invalid')),
      got.join('\n'),
    );
    assert.ok(
      got.some((g) => g.startsWith("t.yaml:3: links[0][1]: unknown switch 's9'")),
      got.join('\n'),
    );
  });

  test('the shipped scenarios are valid', () => {
    for (const f of ['examples/scenarios/paper.yaml', 'examples/scenarios/loop8.yaml']) {
      const s = loadScenarioFile(f, {
        knownApps: ['l2-learning', 'path-flipper', 'shortest-path', 'stats-monitor'],
      });
      assert.ok(s.traffic.length > 0);
      assert.deepEqual(s.algorithms, ['none', 'asap', 'alap']);
      assert.deepEqual(s.migration.order.flat().sort(), s.topology.hosts.map((h) => h.name).sort());
    }
    const paper = loadScenarioFile('examples/scenarios/paper.yaml');
    assert.equal(paper.reference, 'paper');
    assert.equal(paper.topology.switches.length, 4);
    const loop = loadScenarioFile('examples/scenarios/loop8.yaml');
    assert.ok(loop.topology.switches.length >= 8 && loop.topology.hosts.length >= 6);
    assert.deepEqual(
      loop.apps.map((a) => a.name),
      ['shortest-path'],
    );
  });
});

describe('overrides, link model, timeline', () => {
  test('--short caps phases and DNS rate; --tunnel-delay/--tunnel-rate change the tunnel link', () => {
    const s = parse(GOOD);
    const o = applyOverrides(s, {
      short: true,
      tunnelDelayUs: 500,
      tunnelRateBps: 10_000_000,
      algorithms: ['alap'],
    });
    assert.equal(o.timing.beforeMs, 2000);
    assert.equal(o.timing.afterMs, 2000);
    assert.equal(o.traffic[2]!.kind === 'dns' && o.traffic[2]!.qps, 200);
    assert.equal(o.traffic[2]!.durationMs, undefined);
    assert.deepEqual(trafficRounds(o), [1], '--short runs all traffic in one pass');
    assert.deepEqual(o.algorithms, ['alap']);
    assert.deepEqual(effectiveTopology(o).tunnel.link, { kind: 'veth', delayUs: 500, rateBps: 10_000_000 });
    assert.equal(s.timing.beforeMs, 3000, 'the original is unchanged');
    // delay 0 removes the delay (no link emulator then), rate none removes the rate.
    const z = applyOverrides(s, { tunnelDelayUs: 0, tunnelRateBps: 0 });
    assert.deepEqual(effectiveTopology(z).tunnel.link, { kind: 'veth' });
  });

  test('link overrides: shaping implies veth, zero removes a field, patch drops shaping', () => {
    assert.deepEqual(applyLinkOverride({ kind: 'patch' }, { rateBps: 1e8 }), { kind: 'veth', rateBps: 1e8 });
    assert.deepEqual(applyLinkOverride({ kind: 'veth', delayUs: 1000, jitterUs: 100 }, { delayUs: 0 }), {
      kind: 'veth',
    });
    assert.deepEqual(applyLinkOverride({ kind: 'veth', delayUs: 1000 }, { kind: 'patch' }), {
      kind: 'patch',
    });
    const s = parse(GOOD);
    assert.deepEqual(effectiveTopology(s, 'bed1').tunnel.link, {
      kind: 'veth',
      delayUs: 2000,
      rateBps: 100_000_000,
    });
    assert.equal(effectiveTopology(s, 'bed1').name, 'bed1');
  });

  test('the timeline: before, prepare, a move and a steady phase per host step, finalize, after', () => {
    const s = parse(GOOD);
    const items = planTimeline(s);
    assert.deepEqual(
      items.map((i) => (i.type === 'wait' ? `${i.phase}:${i.ms}` : `[${i.phase}]`)),
      [
        'before:3000',
        '[prepare]',
        '[move-h1]',
        'one-migrated:4000',
        '[move-h2+h3]',
        'all-migrated:5000',
        '[finalize]',
        'after-finalize:6000',
      ],
    );
    assert.deepEqual(
      [1, 2, 3, 4].map((k) => steadyPhaseName(k, 4)),
      ['one-migrated', 'migrated-2', 'migrated-3', 'all-migrated'],
    );
    assert.equal(steadyPhaseName(1, 1), 'all-migrated');
    assert.ok(estimateRunMs(s, 'alap') > estimateRunMs(s, 'none'));
  });
});
