// The test bed on real Open vSwitch: build, reach, move hosts under traffic, tear down without leftovers.
// Needs root, Open vSwitch, iperf3, ping, arping, ovs-testcontroller (scripts/install-system-deps.sh).
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it, type TestContext } from 'node:test';
import {
  downTestbed,
  findLeftovers,
  listTestbeds,
  loadTestbed,
  type MoveResult,
  namespaceExists,
  parseTopology,
  readState,
  sleep,
  type Testbed,
  type TestbedState,
  type Topology,
  TopologyError,
  upTestbed,
  withTestbed,
} from '../../src/testbed/index.ts';

const PAPER = 'examples/topologies/paper.yaml';
const canRun = process.getuid?.() === 0 && existsSync('/usr/bin/ovs-vsctl');
const tmp = mkdtempSync(join(tmpdir(), 'vnm-tb-e2e-'));
// Beds of this file run under their own run base, so they never meet a developer's beds.
process.env.VNM_RUN_DIR = join(tmp, 'run');

after(() => rmSync(tmp, { recursive: true, force: true }));

function paper(): Topology {
  return parseTopology(readFileSync(PAPER, 'utf8'), PAPER);
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.listen(0, '127.0.0.1', () => {
      const a = srv.address();
      srv.close(() => (typeof a === 'object' && a ? resolve(a.port) : reject(new Error('no port'))));
    });
  });
}

function waitExit(child: ChildProcess, timeoutMs = 20_000): Promise<number | null> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve(child.exitCode);
    const t = setTimeout(() => {
      child.kill('SIGKILL');
    }, timeoutMs);
    child.on('close', (code) => {
      clearTimeout(t);
      resolve(code);
    });
  });
}

function collect(child: ChildProcess): { out: () => string; err: () => string } {
  let out = '';
  let err = '';
  child.stdout?.on('data', (b: Buffer) => {
    out += b.toString();
  });
  child.stderr?.on('data', (b: Buffer) => {
    err += b.toString();
  });
  return { out: () => out, err: () => err };
}

function assertGone(state: TestbedState): void {
  assert.deepEqual(findLeftovers(state), [], `leftovers of test bed ${state.name}`);
}

/** rx packet counts per port of a bridge, from `ovs-ofctl dump-ports`. */
async function rxPackets(tb: Testbed, bridge: string): Promise<Map<string, number>> {
  const text = await tb.ofctl('dump-ports', bridge);
  const m = new Map<string, number>();
  for (const x of text.matchAll(/port\s+(\S+): rx pkts=(\d+)/g)) m.set(x[1]!, Number(x[2]));
  return m;
}

describe('test bed on Open vSwitch', { skip: canRun ? false : 'needs root and Open vSwitch' }, () => {
  before(async () => {
    // A leftover from an earlier, killed run of this file would make `up` refuse (names taken).
    for (const b of listTestbeds()) await downTestbed(b.runDir).catch(() => {});
  });

  it('paper topology with a learning switch over the TCP relay: all hosts reach each other, the tunnel and the new network stay silent, tear-down leaves nothing', async (t: TestContext) => {
    const port = await freePort();
    const ctlDir = mkdtempSync(join(tmp, 'ctl-'));
    const ctl = spawn(
      'ovs-testcontroller',
      ['-O', 'OpenFlow13', `ptcp:${port}:127.0.0.1`, `--unixctl=${join(ctlDir, 'ctl')}`, '-vconsole:off'],
      { stdio: 'ignore' },
    );
    // The diamond is a loop and ovs-testcontroller has no spanning tree: block one link (both networks).
    // ovs-testcontroller ignores packet-ins with reason "action", which Open vSwitch gives to packets that a
    // packet-out pushed through a patch port into the next bridge: use veth links for it.
    const topo = paper();
    topo.name = 'tbe2e_learn';
    for (const l of topo.links) {
      l.link = { kind: 'veth' };
      if (l.a === 's3' && l.b === 's4') l.blocked = true;
    }
    let state: TestbedState | undefined;
    try {
      const t0 = Date.now();
      await withTestbed(
        topo,
        async (tb) => {
          state = tb.state;
          t.diagnostic(`built in ${Date.now() - t0} ms`);
          assert.equal(tb.state.controller.relay !== undefined, true);
          await tb.waitForController(15_000);
          const hosts = tb.state.hosts.map((h) => h.name);
          const pairs = hosts.flatMap((a) => hosts.filter((b) => b !== a).map((b) => [a, b] as const));
          const results = await Promise.all(
            pairs.map(([a, b]) =>
              tb.exec(a, ['ping', '-c', '3', '-i', '0.2', '-W', '2', tb.host(b).ip], {
                check: false,
                timeoutMs: 15_000,
              }),
            ),
          );
          const failed = pairs.filter((_, i) => !/ [1-3] received/.test(results[i]!.stdout));
          assert.deepEqual(failed, [], 'pairs that could not ping');
          // Nothing went into the tunnel switch or the new network (counters lag the datapath by ~0.5 s).
          await sleep(1200);
          const tun = await rxPackets(tb, 'tun');
          assert.ok(
            [...tun.values()].every((n) => n === 0),
            `tunnel switch received packets: ${[...tun]}`,
          );
          for (const s of tb.state.switches.filter((x) => x.network === 'new')) {
            const rx = await rxPackets(tb, s.bridge);
            assert.ok(
              [...rx.values()].every((n) => n === 0),
              `${s.bridge} received packets: ${[...rx]}`,
            );
          }
          // The tunnel ports and the blocked link start OpenFlow-down.
          const desc = await tb.portDescs('o-s1');
          assert.equal(desc.find((p) => p.port === 100)!.config & 0x1, 0x1);
          const s3 = await tb.portDescs('o-s3');
          assert.equal(s3.find((p) => p.name === 'o-s3-s4')!.config & 0x1, 0x1);
        },
        { controller: `tcp:127.0.0.1:${port}` },
      );
      t.diagnostic(`up + test + down in ${Date.now() - t0} ms`);
      assert.ok(state);
      assertGone(state);
    } finally {
      ctl.kill('SIGTERM');
      await waitExit(ctl, 5000);
      if (state) await downTestbed(state.runDir).catch(() => {});
    }
  });

  it('moves a host to the new network and back while a 10 ms ping and an iperf3 stream run', async (t: TestContext) => {
    // Static flows make h1 <-> h2 a wire: old path s1-s2-s4; when h1 is on the new s1 its traffic goes
    // n-s1 -> tunnel (VLAN 2) -> T -> o-s1, and o-s1 sends h1's traffic both to port 1 and into the
    // tunnel (VLAN 1) -> T -> n-s1 port 1, so it arrives wherever h1 is (no rule changes during the moves).
    const topo = paper();
    topo.name = 'tbe2e_move';
    topo.controller = { kind: 'none' };
    const tb = await upTestbed(topo);
    try {
      const TUN = tb.state.tunnel.switchPort; // 100
      const push = (vid: number) => `push_vlan:0x8100,set_field:${4096 + vid}->vlan_vid`;
      const garp = 'arp,in_port=1,arp_op=1,arp_spa=10.0.0.1,arp_tpa=10.0.0.1';
      await tb.addFlows('o-s1', [
        `priority=300,${garp} actions=output:2`,
        'priority=100,in_port=1 actions=output:2',
        `priority=100,in_port=2 actions=output:1,${push(1)},output:${TUN}`,
        `priority=100,in_port=${TUN},dl_vlan=2 actions=pop_vlan,output:2`,
      ]);
      await tb.addFlows('o-s2', ['in_port=2 actions=output:3', 'in_port=3 actions=output:2']);
      await tb.addFlows('o-s4', ['in_port=2 actions=output:1', 'in_port=1 actions=output:2']);
      await tb.addFlows('tun', ['in_port=1 actions=output:1001', 'in_port=1001 actions=output:1']);
      await tb.addFlows('n-s1', [
        `priority=300,${garp} actions=${push(2)},output:${TUN}`,
        `priority=100,in_port=${TUN},dl_vlan=1 actions=pop_vlan,output:1`,
        `priority=100,in_port=1 actions=${push(2)},output:${TUN}`,
      ]);
      // The tunnel carries nothing until a controller opens its ports (what a migration shim does).
      await tb.openPorts('o-s1', [TUN]);
      await tb.openPorts('n-s1', [TUN]);
      const h1 = tb.host('h1');
      const h2 = tb.host('h2');
      const warm = await tb.exec('h2', ['ping', '-c', '3', '-i', '0.2', '-W', '2', h1.ip], { check: false });
      assert.match(warm.stdout, / [1-3] received/, 'h2 reaches h1 before the moves');

      const server = tb.spawn('h2', ['iperf3', '-s', '-1', '-p', '5201']);
      collect(server);
      await sleep(300);
      const pinger = tb.spawn('h2', ['ping', '-D', '-i', '0.01', '-W', '1', h1.ip]);
      const pingOut = collect(pinger);
      const client = tb.spawn('h1', [
        'iperf3',
        '-c',
        h2.ip,
        '-p',
        '5201',
        '-t',
        '7',
        '-i',
        '0.5',
        '-b',
        '20M',
        '-J',
      ]);
      const clientOut = collect(client);

      await sleep(1500);
      const there: MoveResult = await tb.moveHost('h1', 'new', { blackoutMs: 300 });
      assert.equal(loadTestbed(tb.runDir).host('h1').network, 'new', 'state file follows the move');
      assert.match(await tb.ofctl('show', 'n-s1'), / 1\(h-h1\)/, 'same port number on the new switch');
      assert.doesNotMatch(await tb.ofctl('show', 'o-s1'), /\(h-h1\)/);
      await sleep(2000);
      const back: MoveResult = await tb.moveHost('h1', 'old', { blackoutMs: 200 });
      const clientCode = await waitExit(client, 20_000);
      pinger.kill('SIGINT');
      await waitExit(pinger);
      await waitExit(server, 5000);

      for (const m of [there, back]) {
        assert.ok(m.blackoutStart! <= m.moveStartedAt && m.moveStartedAt <= m.movedAt);
        assert.ok(m.movedAt <= m.blackoutEnd! && m.blackoutEnd! <= m.announcedAt!);
        assert.ok(m.blackoutEnd! - m.blackoutStart! >= m.blackoutMs);
      }
      // The gratuitous ARPs went out on the new switch, then on the old one.
      const garpCount = async (br: string) => {
        const f = await tb.ofctl('dump-flows', br, 'arp,arp_op=1,arp_spa=10.0.0.1,arp_tpa=10.0.0.1');
        return Number(/n_packets=(\d+)/.exec(f)?.[1] ?? 0);
      };
      const deadline = Date.now() + 2000; // flow counters lag the datapath by up to ~0.5 s
      while ((await garpCount('o-s1')) === 0 && Date.now() < deadline) await sleep(100);
      assert.ok((await garpCount('n-s1')) >= 1, 'gratuitous ARP seen on n-s1');
      assert.ok((await garpCount('o-s1')) >= 1, 'gratuitous ARP seen on o-s1');

      // iperf3: the stream survived both moves.
      assert.equal(clientCode, 0, `iperf3 client failed: ${clientOut.err()}`);
      const report = JSON.parse(clientOut.out()) as {
        error?: string;
        start: { timestamp: { timesecs: number } };
        intervals: { sum: { start: number; end: number; bytes: number; bits_per_second: number } }[];
        end: { sum_received: { bytes: number; bits_per_second: number } };
      };
      assert.equal(report.error, undefined);
      const ivs = report.intervals.map((i) => i.sum);
      assert.ok(ivs.length >= 12, `only ${ivs.length} intervals`);
      const tail = ivs.slice(-3);
      assert.ok(
        tail.every((i) => i.bytes > 0),
        `no data in the last intervals: ${tail.map((i) => i.bits_per_second)}`,
      );
      t.diagnostic(
        `iperf3: ${(report.end.sum_received.bits_per_second / 1e6).toFixed(1)} Mbit/s average; per 0.5 s: ${ivs
          .map((i) => (i.bits_per_second / 1e6).toFixed(0))
          .join(' ')}`,
      );

      // ping: loss by sequence number, inside vs outside the blackout windows.
      const lines = [
        ...pingOut
          .out()
          .matchAll(/^\[(\d+\.\d+)\] \d+ bytes from [\d.]+: icmp_seq=(\d+) .*time=([\d.]+) ms/gm),
      ];
      const recv = new Map<number, number>(); // seq -> send time (ms since the epoch)
      for (const m of lines) recv.set(Number(m[2]), Number(m[1]) * 1000 - Number(m[3]));
      const sent = Number(/(\d+) packets transmitted/.exec(pingOut.out())?.[1] ?? 0);
      assert.ok(sent > 100, `ping sent only ${sent}`);
      const seqs = [...recv.keys()].sort((a, b) => a - b);
      const sendTime = (seq: number): number => {
        // interpolate between the nearest answered neighbours
        let lo = seqs[0]!;
        let hi = seqs[seqs.length - 1]!;
        for (const s of seqs) {
          if (s < seq) lo = s;
          if (s > seq) {
            hi = s;
            break;
          }
        }
        if (lo === hi) return recv.get(lo)!;
        return recv.get(lo)! + ((recv.get(hi)! - recv.get(lo)!) * (seq - lo)) / (hi - lo);
      };
      const windows = [there, back].map((m) => [m.blackoutStart! - 20, m.blackoutEnd!] as const);
      let inside = 0;
      const outside: number[] = [];
      for (let seq = 1; seq <= sent; seq++) {
        if (recv.has(seq)) continue;
        const ts = sendTime(seq);
        if (windows.some(([a, b]) => ts >= a && ts <= b)) inside++;
        else outside.push(seq);
      }
      t.diagnostic(
        `ping: ${sent} sent, ${recv.size} answered, lost ${inside} inside the blackouts, ${outside.length} outside (seq ${outside.join(',')})`,
      );
      assert.ok(recv.size > sent * 0.6, 'most pings answered');
      // On a quiet machine 0-2; a busy shared 2-core machine drops a few pings at random.
      assert.ok(
        outside.length <= Math.max(10, sent * 0.02),
        `lost ${outside.length} pings outside the blackouts`,
      );
    } finally {
      const state = tb.state;
      await tb.down();
      assertGone(state);
    }
  });

  it('rejects a bad topology file before building anything', async () => {
    const file = join(tmp, 'bad.yaml');
    writeFileSync(
      file,
      `name: tbe2e_bad
switches: [s1, s2]
links:
  - [s1, s3]
hosts:
  h1: { switch: s1, ip: 10.0.0.1/24 }
  h2: { switch: s2, ip: 10.0.0.1/24 }
link: { kind: veth, delay: fast }
`,
    );
    await assert.rejects(upTestbed(file), (err: unknown) => {
      assert.ok(err instanceof TopologyError);
      assert.equal(err.issues.length, 3);
      assert.match(err.message, /bad\.yaml:4:\d+: links\[0\]\[1\]: unknown switch 's3'/);
      assert.match(err.message, /bad\.yaml:7:\d+: hosts\.h2\.ip: duplicate IP 10\.0\.0\.1/);
      assert.match(err.message, /bad\.yaml:8:\d+: link\.delay: bad duration 'fast'/);
      return true;
    });
    assert.equal(namespaceExists('vnm-tbe2e_bad'), false);
    assert.equal(namespaceExists('vnm-tbe2e_bad-h1'), false);
    assert.equal(existsSync(join(process.env.VNM_RUN_DIR!, 'testbeds', 'tbe2e_bad')), false);
    // The CLI says the same and exits 1.
    const cli = spawn(process.execPath, ['bin/vnm.js', 'testbed', 'up', file], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const o = collect(cli);
    assert.equal(await waitExit(cli), 1);
    assert.match(o.err(), /bad\.yaml:4:\d+: links\[0\]\[1\]: unknown switch 's3'/);
    assert.equal(namespaceExists('vnm-tbe2e_bad'), false);
  });

  it('runs two test beds side by side (same host addresses) and tears both down', async () => {
    // Bed a: a learning switch on a unix socket (ovs-testcontroller punix; veth link, see above).
    // Bed b: no controller, NORMAL flows. Both have patch tunnel links.
    const small = (name: string, link: 'patch' | 'veth'): Topology =>
      parseTopology(`name: ${name}
switches: [s1, s2]
links: [[s1, s2]]
link: { kind: ${link} }
hosts:
  h1: { switch: s1, ip: 10.0.0.1/24 }
  h2: { switch: s2, ip: 10.0.0.2/24 }
`);
    const sock = join(mkdtempSync(join(tmp, 'ctl-')), 'ctl.sock');
    const ctl = spawn(
      'ovs-testcontroller',
      ['-O', 'OpenFlow13', `punix:${sock}`, `--unixctl=${sock}.ctl`, '-vconsole:off'],
      {
        stdio: 'ignore',
      },
    );
    const beds: Testbed[] = [];
    try {
      beds.push(
        ...(await Promise.all([
          upTestbed(small('tbe2e_a', 'veth'), { controller: `unix:${sock}` }),
          upTestbed(small('tbe2e_b', 'patch')),
        ])),
      );
      assert.deepEqual(
        listTestbeds()
          .map((b) => b.name)
          .filter((n) => n.startsWith('tbe2e_'))
          .sort(),
        ['tbe2e_a', 'tbe2e_b'],
      );
      await beds[0]!.waitForController(15_000);
      for (const br of ['o-s1', 'o-s2']) await beds[1]!.addFlows(br, ['actions=NORMAL']);
      const pings = await Promise.all(
        beds.map((tb) =>
          tb.exec('h1', ['ping', '-c', '3', '-i', '0.2', '-W', '2', '10.0.0.2'], { check: false }),
        ),
      );
      for (const p of pings) assert.match(p.stdout, / 3 received/);
      // The tunnel links are patch ports here: floods (ARP) reached every port but the tunnel ones.
      const a = beds[1];
      const tunRx = async () => [...(await rxPackets(a!, 'tun')).values()].reduce((x, y) => x + y, 0);
      await sleep(1200);
      assert.equal(await tunRx(), 0, 'nothing crossed a closed patch tunnel port');
      // Opened with a port-mod (as a shim would), the next flood does reach the tunnel switch.
      await a!.openPorts('o-s1', [a!.state.tunnel.switchPort]);
      await a!.exec('h1', ['ip', 'neigh', 'flush', 'all']);
      await a!.exec('h1', ['ping', '-c', '1', '-W', '2', '10.0.0.2'], { check: false });
      // (port counters of patch ports follow the datapath flow stats, pulled every ~0.5 s)
      const deadline = Date.now() + 3000;
      while ((await tunRx()) === 0 && Date.now() < deadline) await sleep(100);
      assert.ok((await tunRx()) > 0, 'an opened patch tunnel port forwards');
      // Reattach by name from the state file.
      assert.equal(loadTestbed('tbe2e_b').state.ovs.dir, beds[1]!.state.ovs.dir);
    } finally {
      const states = beds.map((b) => b.state);
      await Promise.all(beds.map((b) => b.down()));
      ctl.kill('SIGTERM');
      await waitExit(ctl, 5000);
      for (const s of states) assertGone(s);
    }
  });

  it('an interrupted build leaves nothing: Ctrl-C rolls back; after SIGKILL, down cleans the half-built bed', async (t: TestContext) => {
    const runBed = async (
      name: string,
      sig: NodeJS.Signals,
    ): Promise<{ code: number | null; signal: string | null; state?: TestbedState }> => {
      const cli = spawn(
        process.execPath,
        [
          'bin/vnm.js',
          'testbed',
          'up',
          'examples/topologies/big40.yaml',
          '--name',
          name,
          '--controller',
          'none',
        ],
        {
          stdio: ['ignore', 'pipe', 'pipe'],
        },
      );
      const o = collect(cli);
      // Signal once the daemons run (the hosts, links and bridges are still to come).
      const pidFile = join(process.env.VNM_RUN_DIR!, 'testbeds', name, 'ovs', 'ovs-vswitchd.pid');
      const deadline = Date.now() + 20_000;
      while (!existsSync(pidFile) && Date.now() < deadline && cli.exitCode === null) await sleep(5);
      let state: TestbedState | undefined;
      try {
        state = readState(join(process.env.VNM_RUN_DIR!, 'testbeds', name));
      } catch {}
      cli.kill(sig);
      await waitExit(cli, 30_000);
      if (o.out().includes('up in')) t.diagnostic(`${name}: the build finished before the signal`);
      const r: { code: number | null; signal: string | null; state?: TestbedState } = {
        code: cli.exitCode,
        signal: cli.signalCode,
      };
      if (state) r.state = state;
      return r;
    };

    const a = await runBed('tbe2e_int', 'SIGINT');
    assert.ok(a.state, 'the build had started');
    assert.equal(a.signal, 'SIGINT', 'the CLI dies by the signal it got, after rolling back');
    assertGone(a.state);

    const b = await runBed('tbe2e_kill', 'SIGKILL');
    assert.ok(b.state);
    const half = readState(b.state.runDir);
    assert.equal(half.phase, 'building');
    assert.ok(namespaceExists(half.labNamespace), 'half-built bed left behind');
    const problems = await downTestbed('tbe2e_kill');
    assert.deepEqual(problems, []);
    assertGone(half);
    // and down again is harmless
    await assert.rejects(downTestbed('tbe2e_kill'), /no test bed/);
  });
});
