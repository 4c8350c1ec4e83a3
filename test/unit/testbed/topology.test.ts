// Topology files: parsing, defaults, port numbering and every validation error (with line and field).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import {
  deriveMac,
  parseControllerSpec,
  parseDuration,
  parseLoss,
  parseRate,
  parseTopology,
  TopologyError,
  type TopologyIssue,
} from '../../../src/testbed/topology.ts';

const GOOD = `name: t
switches: [s1, s2]
links:
  - [s1, s2]
hosts:
  h1: { switch: s1, ip: 10.0.0.1/24 }
  h2: { switch: s2, ip: 10.0.0.2/24 }
`;

/** Parses `text` expecting failure; returns the issues. */
function issuesOf(text: string, file = 'bad.yaml'): TopologyIssue[] {
  try {
    parseTopology(text, file);
  } catch (err) {
    assert.ok(err instanceof TopologyError, `expected a TopologyError, got ${err}`);
    return err.issues;
  }
  assert.fail('expected the topology to be rejected');
}

/** Asserts one issue at `line` for field `path` whose message matches `re`. */
function expectIssue(issues: TopologyIssue[], line: number, path: string, re: RegExp): void {
  const hit = issues.find((i) => i.line === line && i.path === path && re.test(i.message));
  assert.ok(
    hit,
    `no issue at line ${line}, field ${path}, matching ${re}; got:\n${issues.map((i) => `${i.line} ${i.path}: ${i.message}`).join('\n')}`,
  );
}

describe('parseTopology: accepted files', () => {
  it('parses a minimal file with defaults', () => {
    const t = parseTopology(GOOD, 'good.yaml');
    assert.equal(t.name, 't');
    assert.deepEqual(
      t.switches.map((s) => [s.name, s.index]),
      [
        ['s1', 1],
        ['s2', 2],
      ],
    );
    assert.deepEqual(t.link, { kind: 'patch' });
    assert.deepEqual(t.tunnel, { encap: 'vlan', link: { kind: 'patch' }, port: 100 });
    assert.deepEqual(t.controller, { kind: 'none' });
    assert.equal(t.dpidPrefix, 0);
    assert.equal(t.blackoutMs, 0);
    // hosts first (port 1), then links (port 2)
    assert.equal(t.hosts[0]!.port, 1);
    assert.deepEqual([t.links[0]!.aPort, t.links[0]!.bPort], [2, 2]);
    assert.equal(t.hosts[0]!.mac, deriveMac('h1'));
  });

  it('parses every example topology', () => {
    for (const f of ['paper', 'line4', 'loop6', 'big40']) {
      const path = `examples/topologies/${f}.yaml`;
      const t = parseTopology(readFileSync(path, 'utf8'), path);
      assert.equal(t.name, f);
    }
    const big = parseTopology(readFileSync('examples/topologies/big40.yaml', 'utf8'));
    assert.equal(big.switches.length, 40);
    const loop = parseTopology(readFileSync('examples/topologies/loop6.yaml', 'utf8'));
    assert.ok(loop.switches.length >= 8 && loop.hosts.length >= 6);
  });

  it('reads the paper example as the issue shows it', () => {
    const t = parseTopology(readFileSync('examples/topologies/paper.yaml', 'utf8'));
    assert.deepEqual(t.tunnel.link, { kind: 'veth', delayUs: 1000, rateBps: 100e6 });
    assert.deepEqual(t.controller, { kind: 'tcp', host: '127.0.0.1', port: 6653 });
    assert.equal(t.links.length, 4);
  });

  it('accepts link overrides, blocked links, explicit ports and MACs, and all optional fields', () => {
    const t = parseTopology(`name: x_1
description: all options
switches: [a, b, c]
links:
  - [a, b, { kind: veth, delay: 2ms, jitter: 500us, rate: 10mbit, loss: 0.5% }]
  - { between: [b, c], blocked: true }
  - [a, c, { rate: 1gbit }]
hosts:
  h1: { switch: a, ip: 10.1.2.3/16, mac: 02:AA:00:00:00:01, port: 7 }
  h2: { switch: a, ip: 10.1.2.4/16 }
link: { kind: veth, delay: 1ms }
tunnel: { encap: vlan, link: { kind: veth, rate: 50mbit }, port: 200 }
controller: unix:/tmp/ctl.sock
dpidPrefix: 0x10
blackout: 250ms
`);
    assert.equal(t.description, 'all options');
    assert.deepEqual(t.links[0]!.link, {
      kind: 'veth',
      delayUs: 2000,
      jitterUs: 500,
      rateBps: 10e6,
      lossPct: 0.5,
    });
    // inherits the default's delay; blocked
    assert.deepEqual(t.links[1]!.link, { kind: 'veth', delayUs: 1000 });
    assert.equal(t.links[1]!.blocked, true);
    assert.deepEqual(t.links[2]!.link, { kind: 'veth', delayUs: 1000, rateBps: 1e9 });
    assert.equal(t.hosts[0]!.mac, '02:aa:00:00:00:01');
    assert.equal(t.hosts[0]!.port, 7);
    assert.equal(t.hosts[1]!.port, 1);
    assert.equal(t.hosts[0]!.prefixLen, 16);
    // a: hosts on 7 and 1, links get 2 and 3; the tunnel port is 200
    assert.deepEqual(
      t.links.map((l) => [l.aPort, l.bPort]),
      [
        [2, 1],
        [2, 1],
        [3, 2],
      ],
    );
    assert.equal(t.tunnel.port, 200);
    assert.deepEqual(t.controller, { kind: 'unix', path: '/tmp/ctl.sock' });
    assert.equal(t.dpidPrefix, 16);
    assert.equal(t.blackoutMs, 250);
  });

  it('a link override of another kind does not inherit the default shaping', () => {
    const t = parseTopology(`name: x
switches: [a, b]
links: [[a, b, { kind: patch }]]
link: { kind: veth, delay: 1ms }
`);
    assert.deepEqual(t.links[0]!.link, { kind: 'patch' });
  });

  it('skips the tunnel port when numbering', () => {
    const hosts = Array.from({ length: 5 }, (_, i) => `  h${i}: { switch: a, ip: 10.0.0.${i + 1}/24 }`).join(
      '\n',
    );
    const t = parseTopology(
      `name: x\nswitches: [a, b]\nlinks: [[a, b]]\ntunnel: { port: 3 }\nhosts:\n${hosts}\n`,
    );
    assert.deepEqual(
      t.hosts.map((h) => h.port),
      [1, 2, 4, 5, 6],
    );
    assert.equal(t.links[0]!.aPort, 7);
  });
});

describe('parseTopology: rejected files name the line and the field', () => {
  it('unknown switch in a link', () => {
    const issues = issuesOf(`name: t
switches: [s1, s2]
links:
  - [s1, s2]
  - [s1, s9]
`);
    expectIssue(issues, 5, 'links[1][1]', /unknown switch 's9'/);
    assert.match(issues[0]!.message, /switches: s1, s2/);
  });

  it('unknown switch in a between link', () => {
    expectIssue(
      issuesOf(`name: t
switches: [s1, s2]
links:
  - { between: [x, s2] }
`),
      4,
      'links[0].between[0]',
      /unknown switch 'x'/,
    );
  });

  it('duplicate IP', () => {
    const issues = issuesOf(`name: t
switches: [s1]
hosts:
  h1: { switch: s1, ip: 10.0.0.1/24 }
  h2: { switch: s1, ip: 10.0.0.1/8 }
`);
    expectIssue(issues, 5, 'hosts.h2.ip', /duplicate IP 10\.0\.0\.1 \(also host 'h1'\)/);
  });

  it('duplicate MAC', () => {
    expectIssue(
      issuesOf(`name: t
switches: [s1]
hosts:
  h1: { switch: s1, ip: 10.0.0.1/24, mac: "02:00:00:00:00:01" }
  h2: { switch: s1, ip: 10.0.0.2/24, mac: "02:00:00:00:00:01" }
`),
      5,
      'hosts.h2.mac',
      /duplicate MAC 02:00:00:00:00:01/,
    );
  });

  it('duplicate host', () => {
    expectIssue(
      issuesOf(`name: t
switches: [s1]
hosts:
  h1: { switch: s1, ip: 10.0.0.1/24 }
  h1: { switch: s1, ip: 10.0.0.2/24 }
`),
      5,
      'hosts.h1',
      /duplicate host 'h1' \(first at line 4\)/,
    );
  });

  it('duplicate switch and duplicate link', () => {
    const issues = issuesOf(`name: t
switches: [s1, s2, s1]
links:
  - [s1, s2]
  - [s2, s1]
`);
    expectIssue(issues, 2, 'switches[2]', /duplicate switch 's1'/);
    expectIssue(issues, 5, 'links[1]', /duplicate link s2-s1 \(first at line 4\)/);
  });

  it('host on a missing switch', () => {
    expectIssue(
      issuesOf(`name: t
switches: [s1]
hosts:
  h1: { switch: s7, ip: 10.0.0.1/24 }
`),
      4,
      'hosts.h1.switch',
      /unknown switch 's7'/,
    );
  });

  it('missing host fields', () => {
    const issues = issuesOf(`name: t
switches: [s1]
hosts:
  h1: { ip: 10.0.0.1/24 }
  h2: { switch: s1 }
`);
    expectIssue(issues, 4, 'hosts.h1.switch', /missing/);
    expectIssue(issues, 5, 'hosts.h2.ip', /missing/);
  });

  it('bad duration, rate, loss and jitter', () => {
    const issues = issuesOf(`name: t
switches: [s1, s2]
links:
  - [s1, s2, { kind: veth, delay: 5 }]
link: { kind: veth, rate: fast }
tunnel:
  link: { kind: veth, delay: 1 minute, loss: 120% }
blackout: soon
`);
    expectIssue(issues, 4, 'links[0][2].delay', /bad duration number 5/);
    expectIssue(issues, 5, 'link.rate', /bad rate 'fast'/);
    expectIssue(issues, 7, 'tunnel.link.delay', /bad duration '1 minute'/);
    expectIssue(issues, 7, 'tunnel.link.loss', /bad loss '120%'/);
    expectIssue(issues, 8, 'blackout', /bad duration 'soon'/);
  });

  it('shaping a patch link, and jitter without delay', () => {
    const issues = issuesOf(`name: t
switches: [s1, s2]
links:
  - [s1, s2, { delay: 1ms }]
tunnel:
  link: { kind: veth, jitter: 1ms }
`);
    expectIssue(issues, 4, 'links[0]', /patch link cannot be shaped/);
    expectIssue(issues, 6, 'tunnel.link', /jitter needs a delay/);
  });

  it('bad IP / CIDR', () => {
    const issues = issuesOf(`name: t
switches: [s1]
hosts:
  a: { switch: s1, ip: 10.0.0.300/24 }
  b: { switch: s1, ip: 10.0.0.2 }
  c: { switch: s1, ip: 10.0.0.0/24 }
  d: { switch: s1, ip: 10.0.0.255/24 }
  e: { switch: s1, ip: 10.0.0.5/33 }
  f: { switch: s1, ip: 224.0.0.1/24 }
`);
    expectIssue(issues, 4, 'hosts.a.ip', /bad IPv4 address\/prefix '10\.0\.0\.300\/24'/);
    expectIssue(issues, 5, 'hosts.b.ip', /bad IPv4 address\/prefix/);
    expectIssue(issues, 6, 'hosts.c.ip', /network address/);
    expectIssue(issues, 7, 'hosts.d.ip', /broadcast address/);
    expectIssue(issues, 8, 'hosts.e.ip', /bad IPv4/);
    expectIssue(issues, 9, 'hosts.f.ip', /not a unicast/);
  });

  it('bad MAC', () => {
    const issues = issuesOf(`name: t
switches: [s1]
hosts:
  a: { switch: s1, ip: 10.0.0.1/24, mac: "01:00:5e:00:00:01" }
  b: { switch: s1, ip: 10.0.0.2/24, mac: zz }
`);
    expectIssue(issues, 4, 'hosts.a.mac', /multicast/);
    expectIssue(issues, 5, 'hosts.b.mac', /bad MAC/);
  });

  it('names too long for interface names (prefixes counted)', () => {
    const issues = issuesOf(`name: t
switches: [abcdefghijkl, s2, sevenchar, sixchr]
links:
  - [sevenchar, sixchr]
hosts:
  averyveryverylonghost: { switch: s2, ip: 10.0.0.1/24 }
`);
    // o-abcdefghijkl-t is 16 characters
    expectIssue(issues, 2, 'switches[0]', /too long: interface 'o-abcdefghijkl-t' would have 16 characters/);
    // o-sevenchar-sixchr is 18 characters
    expectIssue(issues, 4, 'links[0]', /interface 'o-sevenchar-sixchr'/);
    expectIssue(issues, 6, 'hosts.averyveryverylonghost', /host name .* too long/);
  });

  it('an 11-character switch and a 13-character host still fit', () => {
    parseTopology(`name: t
switches: [abcdefghijk, s2]
hosts:
  abcdefghijklm: { switch: s2, ip: 10.0.0.1/24 }
`);
  });

  it('self-link', () => {
    expectIssue(
      issuesOf(`name: t
switches: [s1]
links:
  - [s1, s1]
`),
      4,
      'links[0]',
      /self-link/,
    );
  });

  it('unknown keys at every level', () => {
    const issues = issuesOf(`name: t
colour: blue
switches: [s1, s2]
links:
  - { between: [s1, s2], speed: 1 }
  - [s1, s2, { latency: 1ms }]
hosts:
  h1: { switch: s1, ip: 10.0.0.1/24, vlan: 3 }
link: { kind: veth, mtu: 9000 }
tunnel: { encap: vlan, lnk: {} }
`);
    expectIssue(issues, 2, 'colour', /unknown key 'colour'/);
    expectIssue(issues, 5, 'links[0].speed', /unknown key 'speed'/);
    expectIssue(issues, 6, 'links[1][2].latency', /unknown key 'latency'/);
    expectIssue(issues, 8, 'hosts.h1.vlan', /unknown key 'vlan'/);
    expectIssue(issues, 9, 'link.mtu', /unknown key 'mtu'/);
    expectIssue(issues, 10, 'tunnel.lnk', /unknown key 'lnk'/);
  });

  it('bad controller, encap, names, ports, dpidPrefix', () => {
    const issues = issuesOf(`name: bad-name
switches: [s1, 2x]
hosts:
  h1: { switch: s1, ip: 10.0.0.1/24, port: 100 }
  h2: { switch: s1, ip: 10.0.0.2/24, port: 0 }
tunnel: { encap: gre }
controller: http://example
dpidPrefix: -1
`);
    expectIssue(issues, 1, 'name', /bad name 'bad-name'/);
    expectIssue(issues, 2, 'switches[1]', /bad switch name/);
    expectIssue(issues, 4, 'hosts.h1.port', /port 100 is the tunnel port/);
    expectIssue(issues, 5, 'hosts.h2.port', /bad port number/);
    expectIssue(issues, 6, 'tunnel.encap', /unsupported encapsulation 'gre'/);
    expectIssue(issues, 7, 'controller', /expected 'tcp:HOST:PORT'/);
    expectIssue(issues, 8, 'dpidPrefix', /expected an integer/);
  });

  it('two hosts asking for the same port', () => {
    expectIssue(
      issuesOf(`name: t
switches: [s1]
hosts:
  h1: { switch: s1, ip: 10.0.0.1/24, port: 5 }
  h2: { switch: s1, ip: 10.0.0.2/24, port: 5 }
`),
      5,
      'hosts.h2.port',
      /port 5 of 's1' is also host 'h1'/,
    );
  });

  it('missing name and switches; wrong shapes', () => {
    const issues = issuesOf(`links: 3
hosts: [h1]
`);
    assert.ok(issues.some((i) => i.path === 'name' && /missing/.test(i.message)));
    assert.ok(issues.some((i) => i.path === 'switches' && /missing/.test(i.message)));
    expectIssue(issues, 1, 'links', /expected a list of links/);
    expectIssue(issues, 2, 'hosts', /expected a mapping of hosts/);
  });

  it('YAML syntax errors have a position', () => {
    const issues = issuesOf('name: t\nswitches: [s1, s2\nlinks: []\n');
    assert.ok(issues.length > 0);
    assert.match(issues[0]!.message, /^YAML syntax/);
    assert.ok(issues[0]!.line >= 2);
  });

  it('a top level that is not a mapping', () => {
    expectIssue(issuesOf('- a\n- b\n'), 1, '', /expected a mapping at the top/);
  });

  it('reports every problem at once, in line order, formatted FILE:LINE:COL: field: message', () => {
    try {
      parseTopology(
        `name: t
switches: [s1]
links:
  - [s1, s2]
hosts:
  h1: { switch: s3, ip: 1.2.3.4/24 }
`,
        'dir/topo.yaml',
      );
      assert.fail('expected rejection');
    } catch (err) {
      assert.ok(err instanceof TopologyError);
      assert.equal(err.issues.length, 2);
      assert.deepEqual(
        err.issues.map((i) => i.line),
        [4, 6],
      );
      assert.match(err.message, /dir\/topo\.yaml:4:10: links\[0\]\[1\]: unknown switch 's2'/);
      assert.match(err.message, /dir\/topo\.yaml:6:17: hosts\.h1\.switch: unknown switch 's3'/);
    }
  });
});

describe('value parsers', () => {
  it('durations', () => {
    assert.equal(parseDuration('1ms'), 1000);
    assert.equal(parseDuration('250us'), 250);
    assert.equal(parseDuration('1.5s'), 1_500_000);
    assert.equal(parseDuration('0.5ms'), 500);
    assert.equal(parseDuration('0'), 0);
    assert.equal(parseDuration('5'), undefined);
    assert.equal(parseDuration('1 minute'), undefined);
    assert.equal(parseDuration('-1ms'), undefined);
  });

  it('rates (bits per second, case-insensitive)', () => {
    assert.equal(parseRate('100mbit'), 100e6);
    assert.equal(parseRate('1Gbit'), 1e9);
    assert.equal(parseRate('500kbit'), 500e3);
    assert.equal(parseRate('9600bit'), 9600);
    assert.equal(parseRate('100mbps'), undefined);
    assert.equal(parseRate('0mbit'), undefined);
  });

  it('loss', () => {
    assert.equal(parseLoss('0.5%'), 0.5);
    assert.equal(parseLoss(2), 2);
    assert.equal(parseLoss('101%'), undefined);
  });

  it('controller specs', () => {
    assert.deepEqual(parseControllerSpec('tcp:127.0.0.1:6653'), {
      kind: 'tcp',
      host: '127.0.0.1',
      port: 6653,
    });
    assert.deepEqual(parseControllerSpec('unix:/run/x.sock'), { kind: 'unix', path: '/run/x.sock' });
    assert.deepEqual(parseControllerSpec('none'), { kind: 'none' });
    assert.equal(typeof parseControllerSpec('unix:rel.sock'), 'string');
    assert.equal(typeof parseControllerSpec('tcp:host:99999'), 'string');
  });

  it('derived MACs are stable, unicast and locally administered', () => {
    const m = deriveMac('h1');
    assert.equal(m, deriveMac('h1'));
    assert.notEqual(m, deriveMac('h2'));
    assert.match(m, /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/);
    const first = Number.parseInt(m.slice(0, 2), 16);
    assert.equal(first & 1, 0);
    assert.equal(first & 2, 2);
  });
});
