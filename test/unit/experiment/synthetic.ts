// Synthetic captures for the experiment layer's unit tests: a run of known phases with ping, iperf3 and
// DNS timelines whose per-phase figures are easy to compute by hand.

import type { PhaseMark, RunCapture } from '../../../src/experiment/results.ts';
import type {
  AlgorithmName,
  DnsTraffic,
  IperfTraffic,
  PingTraffic,
} from '../../../src/experiment/scenario.ts';
import type { DnsQuery, DnsTimeline } from '../../../src/measure/dns.ts';
import type { IperfTimeline, ThroughputPoint } from '../../../src/measure/iperf.ts';
import type { PingProbe, PingTimeline } from '../../../src/measure/ping.ts';

export const T0 = 1_800_000_000_000;

export function pingTimeline(probes: { at: number; rtt: number | null; pending?: boolean }[]): PingTimeline {
  const ps: PingProbe[] = probes.map((p, i) => ({
    seq: i + 1,
    sentAt: T0 + p.at,
    sentAtEstimated: p.rtt === null,
    receivedAt: p.rtt === null ? null : T0 + p.at + p.rtt,
    rttMs: p.rtt,
    status: p.pending ? 'pending' : p.rtt === null ? 'lost' : 'ok',
    dups: 0,
  }));
  const received = ps.filter((p) => p.status === 'ok').length;
  const lost = ps.filter((p) => p.status === 'lost').length;
  return {
    kind: 'ping',
    netns: 'h1',
    target: '10.0.0.2',
    intervalMs: 10,
    startedAt: T0,
    endedAt: T0 + (probes.at(-1)?.at ?? 0),
    transmitted: ps.length,
    received,
    lost,
    errors: 0,
    pending: ps.length - received - lost,
    duplicates: 0,
    lossPct: 0,
    rtt: null,
    probes: ps,
    warnings: [],
  };
}

/** Intervals of `stepMs` from `fromMs` to `toMs`, at mbps(t) Mbit/s. */
export function iperfTimeline(
  fromMs: number,
  toMs: number,
  stepMs: number,
  mbps: (t: number) => number,
): IperfTimeline {
  const pts: ThroughputPoint[] = [];
  for (let t = fromMs; t < toMs; t += stepMs) {
    const m = mbps(t);
    pts.push({
      start: T0 + t,
      end: T0 + t + stepMs,
      bytes: (m * 1e6 * stepMs) / 1000 / 8,
      bitsPerSecond: m * 1e6,
    });
  }
  const bytes = pts.reduce((a, p) => a + p.bytes, 0);
  const secs = (toMs - fromMs) / 1000;
  return {
    kind: 'iperf',
    protocol: 'tcp',
    clientNetns: 'h1',
    serverNetns: 'h2',
    serverIp: '10.0.0.2',
    port: 5201,
    reverse: false,
    intervalMs: stepMs,
    startedAt: T0 + fromMs,
    endedAt: T0 + toMs,
    anchor: 'end',
    sender: pts,
    receiver: pts,
    summary: {
      seconds: secs,
      senderBytes: bytes,
      receiverBytes: bytes,
      senderMbps: (bytes * 8) / secs / 1e6,
      receiverMbps: (bytes * 8) / secs / 1e6,
    },
    stoppedEarly: true,
    warnings: [],
  };
}

export function dnsTimeline(queries: { at: number; ok: boolean }[]): DnsTimeline {
  const qs: DnsQuery[] = queries.map((q) =>
    q.ok
      ? { sentAt: T0 + q.at, doneAt: T0 + q.at + 1, status: 'ok', rcode: 'NOERROR', latencyMs: 1 }
      : { sentAt: T0 + q.at, doneAt: T0 + q.at + 1000, status: 'timeout' },
  );
  const completed = qs.filter((q) => q.status === 'ok').length;
  return {
    kind: 'dns',
    clientNetns: 'h1',
    serverNetns: 'h2',
    serverIp: '10.0.0.2',
    port: 53,
    qname: 'www.example.test',
    qps: 100,
    timeoutMs: 1000,
    startedAt: T0,
    endedAt: T0 + 10_000,
    sent: qs.length,
    completed,
    lost: qs.length - completed,
    lossPct: qs.length > 0 ? (100 * (qs.length - completed)) / qs.length : 0,
    latency: null,
    stats: null,
    queries: qs,
    reportedQps: [],
    endReason: null,
    stoppedEarly: true,
    warnings: [],
  };
}

export const PING: PingTraffic = {
  id: 'ping-h1-h2',
  kind: 'ping',
  from: 'h1',
  to: 'h2',
  round: 1,
  intervalMs: 10,
};
export const TCP: IperfTraffic = {
  id: 'tcp-h1-h2',
  kind: 'tcp',
  from: 'h1',
  to: 'h2',
  round: 1,
  parallel: 1,
  reverse: false,
  intervalMs: 200,
};
export const DNS: DnsTraffic = {
  id: 'dns-h1-h2',
  kind: 'dns',
  from: 'h1',
  to: 'h2',
  round: 1,
  qps: 100,
  timeoutMs: 1000,
};

function mark(
  name: string,
  kind: PhaseMark['kind'],
  start: number,
  end: number,
  extra: Partial<PhaseMark> = {},
): PhaseMark {
  return { name, kind, start: T0 + start, end: T0 + end, ...extra };
}

/**
 * A two-host migration of 10 s: before [0,2), prepare [2,2.2), move-h1 [2.2,2.6) with h1 dark [2.3,2.5),
 * one-migrated [2.6,5), move-h2 [5,5.4) with h2 dark [5.1,5.3), all-migrated [5.4,8), finalize [8,8.2),
 * after-finalize [8.2,10). TCP: 100 Mbit/s, 50 during one-migrated, 25 during all-migrated. Ping every
 * 100 ms: RTT 1 ms before, 2 ms from prepare to finalize, 1 ms after; lost: one probe inside h1's blackout
 * and one at 6.0 s (outside). DNS every 50 ms; lost: one inside h2's blackout, two at 7.0 and 7.05 s.
 */
export function syntheticCapture(algorithm: AlgorithmName = 'alap', round = 1): RunCapture {
  const migrating = algorithm !== 'none';
  const phases: PhaseMark[] = [
    mark('before', 'steady', 0, 2000),
    mark('prepare', 'transition', 2000, migrating ? 2200 : 2000),
    mark('move-h1', 'transition', 2200, migrating ? 2600 : 2200, { step: 1, hosts: ['h1'] }),
    mark('one-migrated', 'steady', 2600, 5000, { step: 1 }),
    mark('move-h2', 'transition', 5000, migrating ? 5400 : 5000, { step: 2, hosts: ['h2'] }),
    mark('all-migrated', 'steady', 5400, 8000, { step: 2 }),
    mark('finalize', 'transition', 8000, migrating ? 8200 : 8000),
    mark('after-finalize', 'steady', 8200, 10_000),
  ];
  const probes: { at: number; rtt: number | null }[] = [];
  for (let t = 0; t < 10_000; t += 100) {
    const lost = (migrating && t === 2400) || t === 6000;
    probes.push({ at: t, rtt: lost ? null : t >= 2000 && t < 8200 ? 2 : 1 });
  }
  const queries: { at: number; ok: boolean }[] = [];
  for (let t = 0; t < 10_000; t += 50)
    queries.push({ at: t, ok: !((migrating && t === 5200) || t === 7000 || t === 7050) });
  const tcp = iperfTimeline(0, 10_000, 200, (t) =>
    t >= 2600 && t < 5000 ? 50 : t >= 5400 && t < 8000 ? 25 : 100,
  );
  return {
    algorithm,
    round,
    t0: T0,
    end: T0 + 10_000,
    phases,
    blackouts: migrating
      ? [
          { host: 'h1', start: T0 + 2300, end: T0 + 2500 },
          { host: 'h2', start: T0 + 5100, end: T0 + 5300 },
        ]
      : [],
    blackoutsApproximate: false,
    moves: [],
    traffic: [
      { spec: TCP, iperf: tcp },
      { spec: PING, ping: pingTimeline(probes) },
      { spec: DNS, dns: dnsTimeline(queries) },
    ],
    flowMods: { setup: 5, total: 30, byPhase: { prepare: 10, 'move-h1': 4, 'move-h2': 4, finalize: 12 } },
    groupMods: { setup: 0, total: 8, byPhase: { prepare: 4, finalize: 4 } },
    timings: { buildMs: 1000, convergeMs: 2000, teardownMs: 500 },
    notes: [],
  };
}
