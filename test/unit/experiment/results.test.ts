import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { buildResults } from '../../../src/experiment/build.ts';
import {
  assembleRun,
  evaluateGoals,
  mergeRounds,
  poolMoments,
  reportedPhases,
  tunnelCrossings,
} from '../../../src/experiment/results.ts';
import { parseScenario } from '../../../src/experiment/scenario.ts';
import { parseTopology } from '../../../src/testbed/topology.ts';
import { DNS, PING, syntheticCapture, T0 } from './synthetic.ts';

const close = (a: number | null | undefined, b: number, eps = 1e-6) =>
  assert.ok(a !== null && a !== undefined && Math.abs(a - b) <= eps, `${a} != ${b}`);

describe('results from a synthetic timeline', () => {
  const run = assembleRun(syntheticCapture('alap'));

  test('phases in order, with times relative to the start of traffic and absolute', () => {
    assert.deepEqual(
      run.phases.map((p) => [p.name, p.kind, p.start_s, p.end_s]),
      [
        ['before', 'steady', 0, 2],
        ['prepare', 'transition', 2, 2.2],
        ['move-h1', 'transition', 2.2, 2.6],
        ['one-migrated', 'steady', 2.6, 5],
        ['move-h2', 'transition', 5, 5.4],
        ['all-migrated', 'steady', 5.4, 8],
        ['finalize', 'transition', 8, 8.2],
        ['after-finalize', 'steady', 8.2, 10],
      ],
    );
    assert.equal(run.phases[0]!.start_ms, T0);
    assert.equal(run.phases[3]!.step, 1);
    assert.deepEqual(run.phases[2]!.hosts, ['h1']);
    assert.equal(run.duration_s, 10);
  });

  test('per-phase TCP throughput, RTT, ping and DNS counts, flow-mods', () => {
    const p = Object.fromEntries(run.phases.map((x) => [x.name, x]));
    close(p.before!.tcp_mbps, 100);
    close(p['one-migrated']!.tcp_mbps, 50);
    close(p['all-migrated']!.tcp_mbps, 25);
    close(p['after-finalize']!.tcp_mbps, 100);
    close(p.before!.rtt_ms_avg, 1);
    close(p.before!.rtt_ms_sd, 0);
    assert.equal(p.before!.rtt_n, 20);
    close(p['one-migrated']!.rtt_ms_avg, 2);
    assert.equal(p['move-h1']!.ping_lost, 1);
    assert.equal(p['all-migrated']!.ping_lost, 1);
    assert.equal(p['all-migrated']!.dns_lost, 2);
    assert.equal(p['move-h2']!.dns_lost, 1);
    close(p['all-migrated']!.dns_loss_pct, (100 * 2) / 52, 1e-3);
    assert.equal(p.prepare!.flow_mods, 10);
    assert.equal(p.finalize!.group_mods, 4);
    assert.equal(p.before!.flow_mods, 0);
    assert.equal(p.before!.udp_mbps, null);
  });

  test('loss is split by the blackout windows of the hosts on the path', () => {
    assert.deepEqual(run.ping, {
      sent: 100,
      answered: 98,
      lost: 2,
      lost_inside_blackout: 1,
      lost_outside_blackout: 1,
      rtt_ms_avg: run.ping.rtt_ms_avg,
      rtt_ms_sd: run.ping.rtt_ms_sd,
    });
    assert.equal(run.dns.sent, 200);
    assert.equal(run.dns.lost, 3);
    assert.equal(run.dns.lost_inside_blackout, 1);
    assert.equal(run.dns.lost_outside_blackout, 2);
    close(run.dns.loss_pct, 1.5);
    assert.equal(run.blackout_ms_total, 400);
    assert.deepEqual(
      run.blackouts.map((b) => [b.host, b.start_s, b.end_s]),
      [
        ['h1', 2.3, 2.5],
        ['h2', 5.1, 5.3],
      ],
    );
    const f = run.flows.find((x) => x.id === PING.id)!;
    assert.deepEqual(f.lost_outside_ids, [61]);
  });

  test('Table 1: RTT before, during (prepare .. finalize) and after', () => {
    close(run.rtt_summary.before!.avg_ms, 1);
    close(run.rtt_summary.during!.avg_ms, 2);
    close(run.rtt_summary.after!.avg_ms, 1);
    assert.equal(run.rtt_summary.before!.n, 20);
  });

  test('series for the charts, events, totals', () => {
    assert.equal(run.series.throughput[0]!.points.length, 50);
    assert.deepEqual(run.series.throughput[0]!.points[0], [0, 0.2, 100]);
    assert.ok(run.series.rtt[0]!.points.some((p) => p[3] === 1));
    assert.deepEqual(run.series.dns[0]!.points[7], [7, 20, 2]);
    assert.equal(run.flow_mods, 30);
    assert.equal(run.flow_mods_setup, 5);
    assert.equal(run.events.at(-1)!.name, 'end');
    assert.equal(run.ok, true);
    assert.equal(run.rounds.length, 1);
    assert.equal(run.rounds[0]!.phases.length, 8);
  });

  test('the none run: actions take no time and are left out', () => {
    const none = assembleRun(syntheticCapture('none'));
    assert.deepEqual(
      none.phases.map((p) => p.name),
      ['before', 'one-migrated', 'all-migrated', 'after-finalize'],
    );
    assert.equal(reportedPhases(syntheticCapture('none').phases).length, 4);
    assert.equal(none.blackout_ms_total, 0);
    assert.equal(none.ping.lost_outside_blackout, 1);
  });

  test('a failed run keeps its error and what it measured', () => {
    const cap = syntheticCapture('asap');
    cap.error = 'migration shim not available';
    const r = assembleRun(cap);
    assert.equal(r.ok, false);
    assert.equal(r.error, 'migration shim not available');
    assert.equal(r.ping.sent, 100);
  });
});

describe('rounds', () => {
  test('pooled moments equal the moments of the union', () => {
    const xs = [1, 2, 3];
    const ys = [4, 6];
    const m = (v: number[]) => {
      const avg = v.reduce((a, b) => a + b, 0) / v.length;
      return {
        n: v.length,
        avg,
        sd: Math.sqrt(v.reduce((a, b) => a + (b - avg) ** 2, 0) / v.length),
        min: Math.min(...v),
        max: Math.max(...v),
      };
    };
    const p = poolMoments([m(xs), m(ys), null])!;
    const u = m([...xs, ...ys]);
    close(p.avg, u.avg);
    close(p.sd, u.sd);
    assert.equal(p.n, 5);
    assert.equal(p.max, 6);
    assert.equal(poolMoments([null]), null);
  });

  test('rounds merge into one run: throughput from the TCP round, probes summed, RTT pooled', () => {
    const a = syntheticCapture('alap', 1);
    a.traffic = a.traffic.filter((t) => t.iperf);
    const b = syntheticCapture('alap', 2);
    b.traffic = b.traffic.filter((t) => !t.iperf);
    b.t0 += 60_000; // a later pass, its own clock
    b.end += 60_000;
    for (const p of b.phases) {
      p.start += 60_000;
      p.end += 60_000;
    }
    for (const w of b.blackouts) {
      w.start += 60_000;
      w.end += 60_000;
    }
    for (const t of b.traffic) {
      for (const p of t.ping?.probes ?? []) {
        p.sentAt += 60_000;
        if (p.receivedAt !== null) p.receivedAt += 60_000;
      }
      for (const q of t.dns?.queries ?? []) {
        q.sentAt += 60_000;
        q.doneAt += 60_000;
      }
    }
    const m = mergeRounds([assembleRun(a), assembleRun(b)]);
    const p = Object.fromEntries(m.phases.map((x) => [x.name, x]));
    close(p['one-migrated']!.tcp_mbps, 50);
    close(p.before!.rtt_ms_avg, 1);
    assert.equal(m.ping.lost_outside_blackout, 1);
    assert.equal(m.dns.lost_outside_blackout, 2);
    assert.equal(m.flows.length, 3);
    assert.deepEqual(
      m.rounds.map((r) => [r.round, r.traffic]),
      [
        [1, ['tcp-h1-h2']],
        [2, [PING.id, DNS.id]],
      ],
    );
    assert.deepEqual(
      m.series.rtt.map((s) => s.round),
      [2],
    );
    assert.equal(m.flow_mods, 30);
    assert.equal(m.ok, true);
  });
});

describe('goals', () => {
  test('tunnel crossings per direction by algorithm', () => {
    assert.equal(tunnelCrossings('alap', 'new', 'old', false), 1);
    assert.equal(tunnelCrossings('alap', 'new', 'new', false), 0);
    assert.equal(tunnelCrossings('asap', 'new', 'new', false), 2);
    assert.equal(tunnelCrossings('asap', 'old', 'new', false), 1);
    assert.equal(tunnelCrossings('asap', 'new', 'new', true), 0);
    assert.equal(tunnelCrossings('none', 'new', 'old', false), 0);
  });

  test('loss outside blackouts, ALAP throughput against none, RTT bound', () => {
    const runs = [assembleRun(syntheticCapture('none')), assembleRun(syntheticCapture('alap'))];
    const g = evaluateGoals(runs, { order: [['h1'], ['h2']], tunnelDelayUs: 250, pingPairs: [['h1', 'h2']] });
    const by = Object.fromEntries(g.map((x) => [x.goal, x]));
    assert.equal(by['no ping lost outside host blackouts']!.met, false);
    assert.equal(by['no DNS query lost outside host blackouts']!.met, false);
    // ALAP all-migrated 25 Mbit/s vs none's 25 in the same slot: met.
    assert.equal(by["ALAP all-migrated TCP >= 98 % of the 'none' run"]!.met, true);
    // RTT 2 ms vs 1.1 x 1 ms + (one crossing: 2 links x 0.25 ms x 2 ways = 1 ms) = 2.1 in one-migrated,
    // but all-migrated (no crossing for ALAP) allows only 1.1 ms.
    const rtt = by['RTT during migration within 1.1x before + tunnel delay']!;
    assert.equal(rtt.met, false);
    assert.match(rtt.detail, /all-migrated 2\.000 <= 1\.100 ms \(0 crossing/);
    assert.doesNotMatch(rtt.detail, /one-migrated/);
  });

  test('buildResults: settings, link model, runs per algorithm, goals', () => {
    const topo = parseTopology(
      'name: t\nswitches: [s1, s2]\nlinks: [[s1, s2]]\nhosts:\n  h1: { switch: s1, ip: 10.0.0.1/24 }\n  h2: { switch: s2, ip: 10.0.0.2/24 }\ntunnel: { encap: vlan, link: { kind: veth, rate: 100mbit } }\n',
    );
    const s = parseScenario(
      'name: demo\nreference: paper\ntopology: t.yaml\napps: [path-flipper]\nmigration: { order: [h1, h2] }\ntraffic: [{ kind: ping, from: h1, to: h2 }]\n',
      'demo.yaml',
      { loadTopology: () => ({ topology: topo, file: 't.yaml' }) },
    );
    const res = buildResults(
      s,
      [syntheticCapture('none'), syntheticCapture('asap'), syntheticCapture('alap')],
      {
        environment: { vnm: '0.1.0', node: 'v20' },
        generatedAt: new Date(T0),
      },
    );
    assert.equal(res.scenario, 'demo');
    assert.equal(res.reference, 'paper');
    assert.deepEqual(
      res.runs.map((r) => r.algorithm),
      ['none', 'asap', 'alap'],
    );
    assert.equal(res.link_model.tunnel, 'veth rate 100mbit');
    assert.equal(res.link_model.switch, 'patch');
    assert.equal(res.vnm_version, '0.1.0');
    assert.ok(res.goals!.length >= 7);
    const json = JSON.parse(JSON.stringify(res)) as typeof res;
    // The minimal shape.
    for (const r of json.runs) {
      for (const k of ['algorithm', 'phases', 'ping', 'dns', 'blackout_ms_total', 'flow_mods'])
        assert.ok(k in r, k);
      for (const k of ['name', 'start_s', 'end_s', 'tcp_mbps', 'rtt_ms_avg', 'rtt_ms_sd'])
        assert.ok(k in r.phases[0]!, k);
      for (const k of ['sent', 'lost', 'lost_outside_blackout']) assert.ok(k in r.ping, k);
      for (const k of ['sent', 'completed', 'lost', 'loss_pct']) assert.ok(k in r.dns, k);
    }
  });
});
