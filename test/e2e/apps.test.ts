// The sample apps on real Open vSwitch (userspace datapath, private daemons in a lab namespace built by
// src/testbed), each on the runtime in this process (switches reach it over a unix socket):
// - l2-learning on a line of four switches: every pair pings, an iperf3 TCP stream runs;
// - shortest-path on the paper's diamond and on loop6 (loops): every pair pings; a link on a path is cut
//   and traffic flows again over another path (re-route time measured from a 10 ms ping);
// - path-flipper on the paper's diamond: a 10 ms ping between h1 and h2 loses nothing while the path flips
//   every second.
// Every test bed also has the new network's switches and the tunnel switch connected to the controller
// (no hosts there): the apps must cope with those extra datapaths.
//
// Figures are printed as `# ...` diagnostic lines (and logged at info level).

import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { AppHost } from '../../src/api/app-host.ts';
import type { App } from '../../src/api/types.ts';
import { createApp as createL2 } from '../../src/apps/l2-learning.ts';
import { createApp as createFlipper } from '../../src/apps/path-flipper.ts';
import { createApp as createShortest } from '../../src/apps/shortest-path.ts';
import { createApp as createStats } from '../../src/apps/stats-monitor.ts';
import { Controller } from '../../src/runtime/controller.ts';
import {
  loadTopologyFile,
  parseDpid,
  parseTopology,
  type Testbed,
  type Topology,
  upTestbed,
} from '../../src/testbed/index.ts';
import { logger } from '../../src/util/log.ts';

const isRoot = process.getuid?.() === 0;
const log = logger('apps-e2e');
const TOPOLOGIES = join(import.meta.dirname, '..', '..', 'examples', 'topologies');

/** A topology file of examples/topologies, or the same network inline while the file does not exist yet. */
function topology(file: string, inline: string, name: string): Topology {
  const path = join(TOPOLOGIES, file);
  const topo = existsSync(path) ? loadTopologyFile(path) : parseTopology(inline);
  topo.name = name;
  return topo;
}

// line4.yaml as it was first written, in case the file is missing.
const LINE4 = `
name: line4
switches: [s1, s2, s3, s4]
links:
  - [s1, s2]
  - [s2, s3]
  - [s3, s4]
hosts:
  h1: { switch: s1, ip: 10.0.0.1/24 }
  h2: { switch: s2, ip: 10.0.0.2/24 }
  h3: { switch: s3, ip: 10.0.0.3/24 }
  h4: { switch: s4, ip: 10.0.0.4/24 }
link: { kind: patch }
controller: none
`;

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

async function until(cond: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(20);
  }
}

function note(text: string): void {
  // Diagnostics for the test report (node's spec reporter shows console output).
  console.log(`# ${text}`);
  log.info(text);
}

interface PingResult {
  sent: number;
  received: number;
  /** Receive time (s since epoch, from ping -D) per answered icmp_seq. */
  replies: Map<number, number>;
}

function parsePing(out: string): PingResult {
  const m = /(\d+) packets transmitted, (\d+) received/.exec(out);
  if (!m) throw new Error(`cannot read ping output: ${out.slice(-400)}`);
  const replies = new Map<number, number>();
  for (const line of out.split('\n')) {
    const r = /^\[(\d+\.\d+)\] \d+ bytes from .*icmp_seq=(\d+)/.exec(line);
    if (r) replies.set(Number(r[2]), Number(r[1]));
  }
  return { sent: Number(m[1]), received: Number(m[2]), replies };
}

async function ping(tb: Testbed, from: string, to: string, args: string[] = ['-c', '3', '-i', '0.2']) {
  const r = await tb.exec(from, ['ping', '-D', '-W', '1', ...args, tb.host(to).ip], { check: false });
  return parsePing(r.stdout);
}

/** Every ordered pair pings (`count` pings 0.1 s apart); returns the pairs that got no answer, and totals. */
async function pingAll(
  tb: Testbed,
  count = 2,
): Promise<{ failed: string[]; sent: number; received: number }> {
  const hosts = tb.state.hosts.map((h) => h.name);
  const failed: string[] = [];
  let sent = 0;
  let received = 0;
  for (const a of hosts) {
    for (const b of hosts) {
      if (a === b) continue;
      const r = await ping(tb, a, b, ['-c', String(count), '-i', '0.1']);
      sent += r.sent;
      received += r.received;
      if (r.received < 1) failed.push(`${a}->${b} (${r.received}/${r.sent})`);
    }
  }
  return { failed, sent, received };
}

/** Links between old switches in the topology (what discovery should find in the old network). */
function oldLinks(tb: Testbed): { a: string; aPort: number; b: string; bPort: number; aBridge: string }[] {
  return tb.state.links
    .filter((l) => l.network === 'old' && !l.blocked)
    .map((l) => ({ a: l.a.switch, aPort: l.a.port, b: l.b.switch, bPort: l.b.port, aBridge: l.a.bridge }));
}

/**
 * Runs the controller with `apps` in this process, builds the test bed, waits for every switch, runs fn,
 * and always tears everything down.
 */
async function withApps(
  topo: Topology,
  apps: [App, Record<string, unknown>][],
  fn: (tb: Testbed, ctl: Controller) => Promise<void>,
): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'vnm-apps-'));
  const sock = join(dir, 'ctl.sock');
  const ctl = new Controller({ listen: [{ kind: 'unix', path: sock }], log: logger('runtime-e2e') });
  const host = new AppHost(ctl, log);
  let tb: Testbed | undefined;
  try {
    for (const [app, options] of apps) await host.start(app, options);
    await ctl.start();
    tb = await upTestbed(topo, { controller: `unix:${sock}` });
    const bed = tb;
    await until(
      () => ctl.datapaths().length === bed.state.switches.length,
      20_000,
      'every bridge to connect',
    );
    for (const dp of ctl.datapaths()) await dp.barrier();
    await fn(tb, ctl);
  } finally {
    try {
      await tb?.down();
    } finally {
      await host.stopAll();
      await ctl.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  }
}

describe('controller apps on real Open vSwitch', { skip: isRoot ? false : 'needs root' }, () => {
  it('l2-learning on a line of four: all pairs ping, an iperf3 TCP stream runs (stats-monitor watching)', async () => {
    const app = createL2();
    const mon = createStats();
    const statsDir = mkdtempSync(join(tmpdir(), 'vnm-stats-'));
    const apps: [App, Record<string, unknown>][] = [
      [app, {}],
      [mon, { intervalS: 3600, file: join(statsDir, 'stats.jsonl') }],
    ];
    await withApps(topology('line4.yaml', LINE4, 'appsl2'), apps, async (tb) => {
      assert.equal(tb.state.switches.filter((s) => s.network === 'old').length, 4);
      assert.ok(tb.state.switches.length > 4, 'the new network and the tunnel switch are connected too');
      const all = await pingAll(tb, 3);
      assert.deepEqual(all.failed, []);
      note(
        `l2-learning line4: 12/12 pairs ping, ${all.received}/${all.sent} answered; ${macsLearnt(app)} MAC entries`,
      );
      const first = tb.state.hosts[0]!.name;
      const last = tb.state.hosts.at(-1)!.name;
      const server = tb.spawn(last, ['iperf3', '-s', '-1'], { stdio: 'ignore' });
      try {
        await sleep(500);
        const r = await tb.exec(first, ['iperf3', '-c', tb.host(last).ip, '-t', '3', '-J'], {
          check: false,
          timeoutMs: 30_000,
        });
        assert.equal(r.code, 0, `iperf3 failed: ${r.stderr || r.stdout.slice(-400)}`);
        const j = JSON.parse(r.stdout) as {
          end: { sum_received: { bits_per_second: number; bytes: number } };
        };
        const mbps = j.end.sum_received.bits_per_second / 1e6;
        note(`l2-learning line4: iperf3 ${first}->${last} ${mbps.toFixed(0)} Mbit/s over 3 s`);
        assert.ok(mbps > 1, `TCP stream too slow: ${mbps} Mbit/s`);
      } finally {
        server.kill();
      }
      // stats-monitor: counters of the real switches (multipart flow and port stats).
      await mon.pollNow();
      const h1 = tb.host(first);
      const s1 = mon.last(parseDpid(tb.switch(h1.switch, 'old').dpid))!;
      const hostPort = s1.ports!.find((p) => p.port === h1.port)!;
      const learnt = s1.flows!.filter((f) => f.priority === 1);
      note(
        `stats-monitor: ${mon.last().size} switches sampled; ${h1.switch} port ${h1.port}: rx ${hostPort.rxPackets} pkts ` +
          `${hostPort.rxBytes} B; ${learnt.length} learnt rules, ${learnt.reduce((n, f) => n + f.packets, 0)} pkts on them`,
      );
      assert.equal(mon.last().size, tb.state.switches.length);
      assert.ok(hostPort.rxBytes > 1_000_000, 'the iperf3 stream shows in the port counters');
      assert.ok(
        learnt.some((f) => f.packets > 1000),
        'and in the learnt rules',
      );
    }).finally(() => rmSync(statsDir, { recursive: true, force: true }));
  });

  for (const c of [
    { file: 'paper.yaml', bed: 'appssp', from: 'h1', to: 'h2' },
    { file: 'loop6.yaml', bed: 'appssp6', from: 'h1', to: 'h3' },
  ]) {
    it(`shortest-path on ${c.file} (a loop): all pairs ping; after a link is cut, traffic flows again`, async () => {
      const app = createShortest();
      const topo = loadTopologyFile(join(TOPOLOGIES, c.file));
      topo.name = c.bed;
      await withApps(topo, [[app, { intervalMs: 500 }]], async (tb) => {
        const links = oldLinks(tb);
        const oldDpids = new Set(
          tb.state.switches.filter((s) => s.network === 'old').map((s) => parseDpid(s.dpid)),
        );
        const discovered = () =>
          app.topology!.links().filter((l) => oldDpids.has(l.a.dpid) && oldDpids.has(l.b.dpid)).length;
        await until(() => discovered() === links.length, 10_000, `discovery of ${links.length} links`);
        const n = tb.state.hosts.length;
        const all = await pingAll(tb);
        assert.deepEqual(all.failed, []);
        note(`shortest-path ${c.file}: ${n * (n - 1)} pairs ping, ${all.received}/${all.sent} answered`);

        // Cut the first link of the route from -> to on the source's switch while a 10 ms ping runs.
        const src = tb.host(c.from);
        const dstMac = tb.host(c.to).mac;
        const srcDpid = parseDpid(tb.switch(src.switch, 'old').dpid);
        await ping(tb, c.from, c.to, ['-c', '1']);
        const viaPort = app.installed.get(dstMac)?.get(srcDpid);
        assert.ok(viaPort !== undefined, `a rule towards ${c.to} on ${src.switch}`);
        const cut = links.find(
          (l) => (l.a === src.switch && l.aPort === viaPort) || (l.b === src.switch && l.bPort === viaPort),
        )!;
        assert.ok(cut, `the link on ${src.switch} port ${viaPort}`);
        let linkDownAt: number | undefined;
        const off = app.topology!.on('linkDown', () => {
          linkDownAt ??= Date.now();
        });
        const pinging = ping(tb, c.from, c.to, ['-i', '0.01', '-c', '300']);
        await sleep(1000);
        const cutAt = Date.now() / 1000;
        await tb.closePorts(tb.bridge(src.switch, 'old'), [viaPort]);
        const r = await pinging;
        off();
        assert.ok(linkDownAt !== undefined, 'the app saw the link go down');
        const detectMs = linkDownAt - cutAt * 1000;
        const after = [...r.replies.entries()].filter(([, t]) => t > cutAt).map(([seq]) => seq);
        assert.ok(after.length > 50, `traffic flows again after the cut (${after.length} replies after it)`);
        // Re-route time, bounded by the longest gap between consecutive replies.
        const times = [...r.replies.values()].sort((x, y) => x - y);
        let gap = 0;
        for (let i = 1; i < times.length; i++) gap = Math.max(gap, times[i]! - times[i - 1]!);
        note(
          `shortest-path ${c.file}: cut ${cut.a}-${cut.b}: link down seen after ${detectMs.toFixed(0)} ms ` +
            `(port-status), ${r.sent - r.received}/${r.sent} pings lost, longest gap between replies ` +
            `${(gap * 1000).toFixed(0)} ms`,
        );
        assert.notEqual(app.installed.get(dstMac)?.get(srcDpid), viaPort, 're-routed away from the cut link');
        const again = await pingAll(tb);
        assert.deepEqual(again.failed, [], 'every pair still reaches every other');
      });
    });
  }

  it('path-flipper on the diamond: a 10 ms ping loses nothing while the path flips every second', async () => {
    const app = createFlipper();
    const topo = loadTopologyFile(join(TOPOLOGIES, 'paper.yaml'));
    topo.name = 'appspf';
    const hostsOpt = `${topo.hosts.find((h) => h.name === 'h1')!.ip},${topo.hosts.find((h) => h.name === 'h2')!.ip}`;
    await withApps(topo, [[app, { hosts: hostsOpt, periodMs: 1000, intervalMs: 500 }]], async (tb) => {
      const links = oldLinks(tb);
      const oldDpids = new Set(
        tb.state.switches.filter((s) => s.network === 'old').map((s) => parseDpid(s.dpid)),
      );
      await until(
        () =>
          app.topology!.links().filter((l) => oldDpids.has(l.a.dpid) && oldDpids.has(l.b.dpid)).length ===
          links.length,
        10_000,
        'link discovery',
      );
      const warm = await ping(tb, 'h1', 'h2');
      assert.ok(warm.received >= 2, `warm-up ping ${warm.received}/${warm.sent}`);
      await until(() => app.state()?.ready === true, 10_000, 'the pair rules');
      const st = app.state()!;
      assert.equal(st.paths.length, 2, 'two paths');
      const dp = (s: string) => parseDpid(tb.switch(s, 'old').dpid);
      assert.deepEqual(
        st.paths.map((p) => p.map((d) => d)),
        [
          [dp('s1'), dp('s2'), dp('s4')],
          [dp('s1'), dp('s3'), dp('s4')],
        ],
      );
      const flips0 = app.flips;
      const t0 = Date.now();
      const r = await ping(tb, 'h1', 'h2', ['-i', '0.01', '-c', '1000']);
      const seconds = (Date.now() - t0) / 1000;
      const flips = app.flips - flips0;
      const lost = r.sent - r.received;
      note(`path-flipper diamond: ${r.sent} pings in ${seconds.toFixed(1)} s, ${lost} lost, ${flips} flips`);
      assert.equal(lost, 0, `no ping lost (${r.received}/${r.sent})`);
      assert.ok(flips >= Math.floor(seconds) - 1, `${flips} flips in ${seconds.toFixed(1)} s`);
    });
  });
});

function macsLearnt(app: ReturnType<typeof createL2>): number {
  return [...app.macTables.values()].reduce((n, t) => n + t.size, 0);
}
