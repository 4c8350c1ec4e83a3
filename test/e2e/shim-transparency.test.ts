// Transparency of the migration shim on real Open vSwitch (ARCHITECTURE "What must hold", rules 1-7), for
// Tunnel ASAP and Tunnel ALAP, on the paper's diamond (link s3-s4 blocked) built by the test bed.
//
// One migration per algorithm runs in this process (runtime Controller -> ShimController -> a recording
// ControllerApi -> apps): l2-learning (ARP and anything else), stats-monitor (polls every second) and the
// test's own "probe" app, which installs counting ICMP rules along h1 <-> h2 (s1 - s2 - s4), rules with
// hard timeouts, rules that ask for flow-removed, batches of rules followed by a barrier, and rules the
// switches reject. Counted pings run between phases: before prepare, after prepare, after each host
// move, after finalize. Everything the apps saw is recorded; each property is then its own test:
//
// 1. the app never sees a physical dpid, a tunnel port, a tunnel tag, a shim table, metadata or cookie;
// 2. stats-monitor's flow and port counters never decrease, and equal the pings sent;
// 3. a hard timeout (8 s) fires at the same time (within 1 s) whether or not the rule was copied;
// 4. exactly one flow-removed per rule that asked for it, counters summed over copies, duration since
//    the app installed it;
// 6. when the app's barrier resolves, every physical switch that carries the rules holds them;
// 7. a port taken down (and up) in either network reaches the app once; tunnel ports never do;
// 8. a flow-mod the switches reject reaches the app once, with the app's xid and command.
// (5, buffers, needs a switch that buffers: test/unit/shim/transparency-emulated.test.ts.)

import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it, type TestContext } from 'node:test';
import { AppHost } from '../../src/api/app-host.ts';
import type { App, ControllerApi, Datapath, FlowRemovedEvent } from '../../src/api/types.ts';
import { createApp as createL2 } from '../../src/apps/l2-learning.ts';
import {
  createApp as createStats,
  type StatsMonitor,
  type SwitchSample,
} from '../../src/apps/stats-monitor.ts';
import {
  applyActions,
  ErrorType,
  FlowModCommand,
  FlowModFlags,
  FlowRemovedReason,
  flowMod,
  matchOf,
  output,
  PortConfig,
  PortReason,
  PortState,
  Table,
} from '../../src/openflow/index.ts';
import type { FlowMod, Match, Outgoing, Port as PortDesc } from '../../src/openflow/types.ts';
import { Controller } from '../../src/runtime/controller.ts';
import { ShimController } from '../../src/shim/controller/index.ts';
import type { Algorithm, Side } from '../../src/shim/model.ts';
import {
  type MigrationPlan,
  type PlanSwitch,
  parsePlan,
  physicalPort,
  planIndex,
  virtualPortOf,
} from '../../src/shim/plan.ts';
import { loadTopologyFile, type Testbed, type Topology, upTestbed } from '../../src/testbed/index.ts';
import { migrationPlanFor } from '../../src/testbed/migration-plan.ts';
import { logger } from '../../src/util/log.ts';
import { matchText, RecordingApi, show, transparencyProblems } from '../helpers/recording-api.ts';

const isRoot = process.getuid?.() === 0;
const haveOvs = existsSync('/usr/sbin/ovs-vswitchd');
const ROOT = join(import.meta.dirname, '..', '..');
const log = logger('trn-e2e');
log.level = process.env.VNM_LOG_LEVEL ?? 'warn';

const HARD_S = 8;
const K = 24;
const SLACK = 25; // ARP, gratuitous ARPs of moves, IPv6 noise a host port sees besides the pings

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

async function until<T>(what: string, probe: () => Promise<T | undefined> | T | undefined, ms = 15_000) {
  const t0 = Date.now();
  for (;;) {
    const v = await probe();
    if (v !== undefined && v !== false) return v as T;
    if (Date.now() - t0 > ms) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await sleep(50);
  }
}

function paperTopology(name: string): Topology {
  const topo = loadTopologyFile(join(ROOT, 'examples', 'topologies', 'paper.yaml'));
  topo.name = name;
  const l = topo.links.find((x) => [x.a, x.b].sort().join('-') === 's3-s4');
  assert.ok(l, 'paper.yaml has a link s3-s4');
  l.blocked = true;
  // Every link is a veth pair, not a patch port: with patch ports a packet crosses all the bridges of its path
  // in one datapath pass, and every rule on the way counts its bytes as it entered the first bridge (a
  // tunnel tag included). Veth links also let a test take a link down (ip link set ... down) as a failure.
  for (const x of topo.links) x.link = { kind: 'veth' };
  return topo;
}

/** The probe app: it only keeps the API; the scenario sends its commands. */
function probeApp(): App & { api?: ControllerApi } {
  const app: App & { api?: ControllerApi } = {
    name: 'probe',
    start(api) {
      app.api = api;
    },
  };
  return app;
}

// ---------------------------------------------------------------- what the scenario records

interface PingBatch {
  label: string;
  tos: number;
  transmitted: number;
  received: number;
  duplicates: number;
  output: string;
}

interface Checkpoint {
  label: string;
  /** Pings sent so far without a TOS (only the counting rules see them) and their replies. */
  plain: { requests: number; replies: number };
  /** Pings with a TOS (the flow-removed rules take them; the replies come back on the counting rules). */
  dscp: number;
  dscpReplies: number;
  /** The stats-monitor sample per virtual switch taken once the counters caught up (or the last one). */
  samples: Map<bigint, SwitchSample>;
}

interface BarrierCheck {
  label: string;
  /** Physical bridge -> copies of each of the K rules found right after the barrier resolved. */
  counts: Record<string, number[]>;
  /** Bridge -> how many copies of each rule it should hold. */
  expected: Record<string, number>;
}

interface PortStep {
  label: string;
  /** Port-status events the app got in the window after the step, as "vdpid/port down|up [live]". */
  events: string[];
  /**
   * What the app is owed, from the physical port-status messages of the window on the copies that carry the
   * virtual port now (down if any copy is down, live if all are): one event per change of that combined state.
   */
  model: string[];
  /** Physical port-status messages in the window (any switch). */
  physical: string[];
  /** How each watched virtual port must end up. */
  finals: Record<string, string>;
}

interface HardRule {
  label: string;
  copied: boolean;
  installedAt: number;
  match: Match;
  removed?: FlowRemovedEvent & { at: number };
  count: number;
}

interface ErrorCheck {
  label: string;
  xid: number;
  command: Outgoing<FlowMod>;
  errors: { xid: number; errorType: number; code: number; request?: unknown }[];
  /** Whether the rule shows in the app's flow stats afterwards (it must not: the switch refused it). */
  listed: boolean;
}

interface RemovalCheck {
  label: string;
  cookie: bigint;
  rules: { sw: string; match: Match; installedAt: number }[];
  deletedAt: number;
  expectedPackets: number;
  events: { sw: string; at: number; msg: FlowRemovedEvent['msg'] }[];
}

interface Scenario {
  algorithm: Algorithm;
  plan: MigrationPlan;
  rec: RecordingApi;
  tunnelPortNames: string[];
  batches: PingBatch[];
  checkpoints: Checkpoint[];
  /** Every stats-monitor sample, in order. */
  samples: { at: number; vdpid: bigint; sample: SwitchSample }[];
  barriers: BarrierCheck[];
  portSteps: PortStep[];
  hard: HardRule[];
  errors: ErrorCheck[];
  removals: RemovalCheck[];
  /** When each host's move began. */
  moved: Record<string, number>;
  notes: string[];
}

// ---------------------------------------------------------------- the rig

interface PhysicalPortStatus {
  at: number;
  dpid: bigint;
  port: PortDesc;
}

interface Rig {
  physPorts: PhysicalPortStatus[];
  tb: Testbed;
  dir: string;
  runtime: Controller;
  shim: ShimController;
  host: AppHost;
  rec: RecordingApi;
  stats: StatsMonitor;
  probe: ControllerApi;
  plan: MigrationPlan;
}

async function upRig(algorithm: Algorithm, partial: { tb?: Testbed; dir?: string; rig?: Rig }): Promise<Rig> {
  const dir = mkdtempSync(join(tmpdir(), 'vnm-trn-'));
  partial.dir = dir;
  const sock = join(dir, 'ctl.sock');
  const tb = await upTestbed(paperTopology(`trn_${algorithm}`), { controller: `unix:${sock}` });
  partial.tb = tb;
  const plan = parsePlan(JSON.stringify(migrationPlanFor(tb.state, { algorithm, blackoutMs: 100 })), 'plan');
  const runtime = new Controller({ listen: [{ kind: 'unix', path: sock }], echoIntervalMs: 2000, log });
  const shim = await ShimController.create({
    plan,
    below: runtime,
    runDir: join(dir, 'run'),
    console: false,
    log,
    moverDeps: {
      testbed: {
        move: (h, to, o) => tb.reload().moveHost(h, to, o),
        locate: (h) => tb.reload().host(h).network,
      },
    },
  });
  const rec = new RecordingApi(shim);
  const host = new AppHost(rec, log);
  const stats = createStats();
  const probe = probeApp();
  await host.start(createL2(), { idleTimeout: 0 });
  await host.start(stats, { intervalS: 1, file: join(dir, 'stats.jsonl') });
  await host.start(probe, {});
  await runtime.start();
  const physPorts: PhysicalPortStatus[] = [];
  runtime.on('portStatus', ({ dp, msg }) => {
    physPorts.push({ at: Date.now(), dpid: dp.id, port: msg.port });
  });
  const rig: Rig = { tb, dir, runtime, shim, host, rec, stats, probe: probe.api!, plan, physPorts };
  partial.rig = rig; // torn down by downRig() even if the switches never come up
  await until(
    'every switch connected and reconciled',
    () => {
      const st = shim.status();
      return st.switches.every((s) => s.connected) && !st.busy && rec.datapaths().length === 4;
    },
    30_000,
  );
  return rig;
}

async function downRig(r: { tb?: Testbed; dir?: string; rig?: Rig }): Promise<void> {
  try {
    if (r.rig) {
      await r.rig.host.stopAll();
      r.rig.rec.close();
      await r.rig.shim.stop();
      await r.rig.runtime.stop();
    }
  } finally {
    try {
      await r.tb?.down();
    } finally {
      if (r.dir) rmSync(r.dir, { recursive: true, force: true });
    }
  }
}

// ---------------------------------------------------------------- helpers on the rig

function vsw(plan: MigrationPlan, name: string): PlanSwitch {
  const vs = plan.switches.find((s) => s.name === name);
  assert.ok(vs, `no switch ${name} in the plan`);
  return vs;
}

/** The port of switch `a` that links to switch `b`. */
function linkPort(plan: MigrationPlan, a: string, b: string): number {
  const p = vsw(plan, a).ports.find((x) => x.kind === 'link' && x.peer?.switch === b);
  assert.ok(p, `no link ${a}-${b}`);
  return p.port;
}

function hostPort(plan: MigrationPlan, h: string): number {
  return plan.hosts.find((x) => x.name === h)!.port;
}

/** Per switch on h1 -> s1 - s2 - s4 -> h2: the ports a packet from `src` to `dst` enters and leaves by. */
function hops(plan: MigrationPlan, src: 'h1' | 'h2'): { sw: string; inPort: number; outPort: number }[] {
  const fwd = [
    { sw: 's1', inPort: hostPort(plan, 'h1'), outPort: linkPort(plan, 's1', 's2') },
    { sw: 's2', inPort: linkPort(plan, 's2', 's1'), outPort: linkPort(plan, 's2', 's4') },
    { sw: 's4', inPort: linkPort(plan, 's4', 's2'), outPort: hostPort(plan, 'h2') },
  ];
  if (src === 'h1') return fwd;
  return fwd.reverse().map((h) => ({ sw: h.sw, inPort: h.outPort, outPort: h.inPort }));
}

function dpOf(r: Rig, name: string): Datapath {
  const dp = r.probe.datapath(vsw(r.plan, name).dpid);
  assert.ok(dp, `the app has no datapath for ${name}`);
  return dp;
}

function icmpMatch(r: Rig, inPort: number, src: string, dst: string, dscp?: number): Match {
  const spec: Parameters<typeof matchOf>[0] = {
    in_port: inPort,
    eth_type: 0x0800,
    ip_proto: 1,
    ipv4_src: r.tb.host(src).ip,
    ipv4_dst: r.tb.host(dst).ip,
  };
  if (dscp !== undefined) spec.ip_dscp = dscp;
  return matchOf(spec);
}

async function ping(r: Rig, n: number, tos = 0): Promise<PingBatch> {
  const argv = ['ping', '-n', '-q', '-c', String(n), '-i', '0.02', '-W', '1'];
  if (tos) argv.push('-Q', String(tos));
  argv.push(r.tb.host('h2').ip);
  const res = await r.tb.exec('h1', argv, { check: false });
  const m = /(\d+) packets transmitted, (\d+) received(?:, \+(\d+) duplicates)?/.exec(res.stdout);
  assert.ok(m, `ping output: ${res.stdout}${res.stderr}`);
  return {
    label: '',
    tos,
    transmitted: Number(m[1]),
    received: Number(m[2]),
    duplicates: Number(m[3] ?? 0),
    output: res.stdout.trim().split('\n').slice(-2).join(' | '),
  };
}

/** Flows of a bridge as dump-flows lines. */
async function dumpFlows(r: Rig, bridge: string): Promise<string[]> {
  return (await r.tb.ofctl('dump-flows', bridge))
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l.startsWith('cookie='));
}

function bridgeOf(r: Rig, name: string, side: 'old' | 'new'): string {
  return r.tb.bridge(name, side);
}

// ---------------------------------------------------------------- the scenario

const COOKIE_STATS = 0x1100n;
const COOKIE_REM_A = 0x1200n;
const COOKIE_REM_B = 0x1300n;
const COOKIE_HARD = 0x1400n;
const COOKIE_BARRIER = 0xba00n;
const COOKIE_BAD = 0xbad0n;
const DSCP_A = 16; // ping -Q 64
const DSCP_B = 8; // ping -Q 32

async function runScenario(r: Rig, s: Scenario): Promise<void> {
  const { plan } = r;
  const pathSwitches = ['s1', 's2', 's4'];
  const traffic = { requests: 0, replies: 0, dscpA: 0, dscpB: 0, dscpReplies: 0 };

  const send = (sw: string, m: Outgoing<FlowMod>) => dpOf(r, sw).send(m);

  const batch = async (label: string, plainN: number, dscpA: number, dscpB: number) => {
    if (plainN > 0) {
      const b = await ping(r, plainN);
      b.label = label;
      s.batches.push(b);
      traffic.requests += b.transmitted;
      traffic.replies += b.received;
    }
    if (dscpA > 0) {
      const b = await ping(r, dscpA, DSCP_A << 2);
      b.label = `${label} dscp${DSCP_A}`;
      s.batches.push(b);
      traffic.dscpA += b.transmitted;
      traffic.dscpReplies += b.received;
    }
    if (dscpB > 0) {
      const b = await ping(r, dscpB, DSCP_B << 2);
      b.label = `${label} dscp${DSCP_B}`;
      s.batches.push(b);
      traffic.dscpB += b.transmitted;
      traffic.dscpReplies += b.received;
    }
  };

  /** Poll stats-monitor until the counting rules show the pings sent so far (stats lag in the datapath). */
  const checkpoint = async (label: string) => {
    const h1 = r.tb.host('h1').ip;
    const base = s.checkpoints[0];
    const want = (vdpid: bigint, fwd: boolean) => {
      const b = base ? (countingRule(base.samples.get(vdpid), h1, fwd)?.packets ?? 0) : 0;
      return b + (fwd ? traffic.requests : traffic.replies + traffic.dscpReplies);
    };
    const caught = async () => {
      await r.stats.pollNow();
      for (const name of pathSwitches) {
        const vdpid = vsw(plan, name).dpid;
        for (const fwd of [true, false]) {
          const f = countingRule(r.stats.last(vdpid), h1, fwd);
          if (!f || f.packets < want(vdpid, fwd)) return undefined;
        }
      }
      return true;
    };
    try {
      await until(`stats of ${label}`, caught, 8000);
    } catch {
      s.notes.push(`${label}: the counters did not reach the pings sent within 8 s`);
    }
    await sleep(300);
    await r.stats.pollNow();
    s.checkpoints.push({
      label,
      plain: { requests: traffic.requests, replies: traffic.replies },
      dscp: traffic.dscpA + traffic.dscpB,
      dscpReplies: traffic.dscpReplies,
      samples: r.stats.last(),
    });
    // The app also asks for the other views it could use (recorded for property 1).
    for (const vs of plan.switches) {
      const dp = r.probe.datapath(vs.dpid)!;
      await dp.request({ type: 'featuresRequest' });
      await dp.stats({ kind: 'portDesc' });
      await dp.stats({ kind: 'table' });
      await dp.stats({
        kind: 'aggregate',
        tableId: Table.ALL,
        outPort: 0xffffffff,
        outGroup: 0xffffffff,
        cookie: 0n,
        cookieMask: 0n,
        match: { fields: [] },
      });
    }
  };

  /** K rules + barrier on s2; right after the barrier, count their copies on every physical s2. */
  const barrierCheck = async (
    label: string,
    expected: Record<'old' | 'new', number>,
    during?: Promise<unknown>,
  ) => {
    const dp = dpOf(r, 's2');
    for (let i = 0; i < K; i++)
      dp.send(
        flowMod({
          cookie: COOKIE_BARRIER,
          priority: 20,
          match: matchOf({ eth_type: 0x0800, ip_proto: 17, udp_dst: 6000 + i }),
        }),
      );
    await dp.barrier();
    const count = async () => {
      const counts: Record<string, number[]> = {};
      for (const side of ['old', 'new'] as const) {
        const lines = await dumpFlows(r, bridgeOf(r, 's2', side));
        counts[side] = Array.from(
          { length: K },
          (_, i) => lines.filter((l) => l.includes(`tp_dst=${6000 + i} `) && l.includes('table=1')).length,
        );
      }
      return counts;
    };
    s.barriers.push({ label, counts: await count(), expected });
    await during;
    // And the delete (non-strict, by cookie) before a barrier: gone everywhere when it resolves.
    dp.send(
      flowMod({
        command: FlowModCommand.DELETE,
        tableId: Table.ALL,
        cookie: COOKIE_BARRIER,
        cookieMask: 0xffffffffffffffffn,
      }),
    );
    await dp.barrier();
    s.barriers.push({ label: `${label}, delete`, counts: await count(), expected: { old: 0, new: 0 } });
  };

  /** A port step: run it, then collect the app's and the switches' port-status messages for a while. */
  const watched = [
    { sw: 's1', port: linkPort(plan, 's1', 's3') },
    { sw: 's3', port: linkPort(plan, 's3', 's1') },
  ];
  const portStep = async (
    label: string,
    sides: Side[],
    step: () => Promise<unknown>,
    finals: Record<string, 'up' | 'down'>,
  ) => {
    // Each watched virtual port's copies as the runtime shows them now.
    const copies = new Map<string, Map<Side, PortDesc>>();
    for (const w of watched) {
      const vs = vsw(plan, w.sw);
      const m = new Map<Side, PortDesc>();
      for (const side of sides) {
        const p = r.runtime.datapath(vs[side].dpid)?.ports.get(physicalPort(vs, side, w.port));
        if (p) m.set(side, p);
      }
      copies.set(`${vs.dpid}/${w.port}`, m);
    }
    const combined = (k: string) => summary([...copies.get(k)!.values()]);
    const last = new Map([...copies.keys()].map((k) => [k, combined(k)]));
    const t0 = Date.now();
    await step();
    await sleep(800);
    const model: string[] = [];
    const physical: string[] = [];
    for (const e of r.physPorts.filter((x) => x.at >= t0)) {
      const c = planIndex(plan).byPhysical.get(e.dpid);
      physical.push(
        `${c ? `${c.vs.name}/${c.side}` : e.dpid.toString(16)}:${e.port.portNo} ${summary([e.port])}`,
      );
      if (!c || !sides.includes(c.side)) continue;
      const v = virtualPortOf(c.vs, c.side, e.port.portNo);
      const k = `${c.vs.dpid}/${v}`;
      if (v === undefined || !copies.has(k)) continue;
      copies.get(k)!.set(c.side, e.port);
      const now = combined(k);
      if (now !== last.get(k)) model.push(`${k} ${now}`);
      last.set(k, now);
    }
    const events = r.rec
      .eventsOf('portStatus', t0)
      .map((e) => `${e.dpid}/${e.event.msg.port.portNo} ${summary([e.event.msg.port])}`);
    const f: Record<string, string> = {};
    for (const [name, want] of Object.entries(finals)) f[name] = want;
    s.portSteps.push({ label, events, model, physical, finals: f });
  };
  const ifname = (sw: string, side: 'old' | 'new', port: number) =>
    r.tb.switch(sw, side).ports.find((p) => p.no === port)!.name;
  const link = (sw: string, side: 'old' | 'new', port: number, how: 'up' | 'down') =>
    r.tb.execLab(['ip', 'link', 'set', ifname(sw, side, port), how]);

  const installHard = (label: string, copied: boolean, udp: number) => {
    const match = matchOf({ eth_type: 0x0800, ip_proto: 17, udp_dst: udp });
    const rule: HardRule = { label, copied, installedAt: Date.now(), match, count: 0 };
    send(
      's1',
      flowMod({
        cookie: COOKIE_HARD + BigInt(udp),
        priority: 50,
        hardTimeout: HARD_S,
        flags: FlowModFlags.SEND_FLOW_REM,
        match,
      }),
    );
    s.hard.push(rule);
  };

  const removalRules = (label: string, cookie: bigint, dscp: number): RemovalCheck => {
    const rc: RemovalCheck = { label, cookie, rules: [], deletedAt: 0, expectedPackets: 0, events: [] };
    for (const h of hops(plan, 'h1')) {
      const match = icmpMatch(r, h.inPort, 'h1', 'h2', dscp);
      rc.rules.push({ sw: h.sw, match, installedAt: Date.now() });
      send(
        h.sw,
        flowMod({
          cookie,
          priority: 110,
          flags: FlowModFlags.SEND_FLOW_REM,
          match,
          instructions: [applyActions(output(h.outPort))],
        }),
      );
    }
    s.removals.push(rc);
    return rc;
  };
  const deleteRemoval = async (rc: RemovalCheck, expectedPackets: number) => {
    rc.expectedPackets = expectedPackets;
    rc.deletedAt = Date.now();
    for (const rule of rc.rules)
      send(rule.sw, flowMod({ command: FlowModCommand.DELETE_STRICT, priority: 110, match: rule.match }));
    for (const sw of pathSwitches) await dpOf(r, sw).barrier();
  };

  const errorCheck = async (label: string, sw: string, command: Outgoing<FlowMod>) => {
    const t0 = Date.now();
    const xid = dpOf(r, sw).send(command);
    await dpOf(r, sw).barrier();
    await sleep(500);
    const errors = r.rec
      .eventsOf('error', t0)
      .filter((e) => e.dpid === vsw(plan, sw).dpid)
      .map((e) => {
        const m = e.event.msg;
        return {
          xid: m.xid,
          errorType: m.type === 'error' ? m.errorType : -1,
          code: m.type === 'error' ? m.code : -1,
          request: e.event.request,
        };
      });
    const flows = await dpOf(r, sw).stats({
      kind: 'flow',
      tableId: Table.ALL,
      outPort: 0xffffffff,
      outGroup: 0xffffffff,
      cookie: COOKIE_BAD,
      cookieMask: 0xffffffffffffffffn,
      match: { fields: [] },
    });
    s.errors.push({ label, xid, command, errors, listed: flows.stats.length > 0 });
  };

  // ---- idle: the app's counting rules along h1 <-> h2 (a first checkpoint is the baseline).
  assert.ok(await pingWarm(r), 'h1 reaches h2 before the migration');
  for (const src of ['h1', 'h2'] as const) {
    const dst = src === 'h1' ? 'h2' : 'h1';
    for (const h of hops(plan, src))
      send(
        h.sw,
        flowMod({
          cookie: COOKIE_STATS,
          priority: 100,
          match: icmpMatch(r, h.inPort, src, dst),
          instructions: [applyActions(output(h.outPort))],
        }),
      );
  }
  const remA = removalRules('deleted while prepared, after h1 moved', COOKIE_REM_A, DSCP_A);
  const remB = removalRules('deleted after finalize', COOKIE_REM_B, DSCP_B);
  for (const sw of pathSwitches) await dpOf(r, sw).barrier();
  if (s.algorithm === 'alap') installHard('installed before prepare: copied to N by prepare', true, 7001);
  await sleep(500);
  await checkpoint('installed');
  await batch('idle', 20, 10, 10);
  await checkpoint('idle');

  // ---- prepare
  await r.shim.prepare();
  if (s.algorithm === 'alap') installHard('installed while prepared: on O and N at once', false, 7002);
  await batch('prepared', 20, 0, 0);
  await checkpoint('prepared');

  // Barrier: ALAP carries app rules on O and N; ASAP on O only, one copy per tunnelled ingress too.
  const s2HostPorts = vsw(plan, 's2').ports.filter((p) => p.kind === 'host').length;
  await barrierCheck(
    'prepared',
    s.algorithm === 'alap' ? { old: 1, new: 1 } : { old: 1 + s2HostPorts, new: 0 },
  );

  // Port status: the link s1-s3 fails (its veth on s1 goes down) and comes back, on O, on N, overlapping;
  // the tunnel ports go down and up (never shown).
  const p3 = linkPort(plan, 's1', 's3');
  const v1 = vsw(plan, 's1').dpid;
  const v3 = vsw(plan, 's3').dpid;
  const p32 = linkPort(plan, 's3', 's1');
  const both = (x: 'up' | 'down') => ({ [`${v1}/${p3}`]: x, [`${v3}/${p32}`]: x });
  const prepSides: Side[] = s.algorithm === 'alap' ? ['old', 'new'] : ['old'];
  await portStep('O: s1-s3 down', prepSides, () => link('s1', 'old', p3, 'down'), both('down'));
  await portStep('O: s1-s3 up', prepSides, () => link('s1', 'old', p3, 'up'), both('up'));
  if (s.algorithm === 'alap') {
    await portStep('N: s1-s3 down', prepSides, () => link('s1', 'new', p3, 'down'), both('down'));
    await portStep('N: s1-s3 up', prepSides, () => link('s1', 'new', p3, 'up'), both('up'));
    await portStep('O down (overlap)', prepSides, () => link('s1', 'old', p3, 'down'), both('down'));
    await portStep(
      'N down (overlap: already down)',
      prepSides,
      () => link('s1', 'new', p3, 'down'),
      both('down'),
    );
    await portStep(
      'O up (overlap: N still down)',
      prepSides,
      () => link('s1', 'old', p3, 'up'),
      both('down'),
    );
    await portStep('N up (overlap)', prepSides, () => link('s1', 'new', p3, 'up'), both('up'));
  } else {
    // ASAP: N's link ports carry no virtual traffic before finalize: nothing to report.
    await portStep(
      'N: s1-s3 down (ASAP, prepared)',
      prepSides,
      () => link('s1', 'new', p3, 'down'),
      both('up'),
    );
    await portStep('N: s1-s3 up (ASAP, prepared)', prepSides, () => link('s1', 'new', p3, 'up'), both('up'));
  }
  const tun = vsw(plan, 's1').old.tunnelPort;
  await portStep('tunnel port of s1/old down', prepSides, () => link('s1', 'old', tun, 'down'), both('up'));
  await portStep('tunnel port of s1/old up', prepSides, () => link('s1', 'old', tun, 'up'), both('up'));
  await portStep('tunnel port of s1/new down', prepSides, () => link('s1', 'new', tun, 'down'), both('up'));
  await portStep('tunnel port of s1/new up', prepSides, () => link('s1', 'new', tun, 'up'), both('up'));

  // Errors: a bad group (every copy is refused), a goto_table backwards with the app's own xid.
  await errorCheck(
    'output to a group that does not exist',
    's2',
    flowMod({
      cookie: COOKIE_BAD,
      priority: 30,
      match: matchOf({ eth_type: 0x0800, ip_proto: 17, udp_dst: 5001 }),
      instructions: [applyActions({ type: 'group', groupId: 77 })],
    }),
  );
  await errorCheck(
    'goto_table backwards (table 1 -> 0), explicit xid',
    's2',
    flowMod({
      xid: 0x7777,
      cookie: COOKIE_BAD,
      tableId: 1,
      priority: 30,
      match: matchOf({ eth_type: 0x0800, ip_proto: 17, udp_dst: 5002 }),
      instructions: [{ type: 'gotoTable', tableId: 0 }],
    }),
  );

  // ---- move h1 (a barrier check runs while the move is under way)
  s.moved.h1 = Date.now();
  const move1 = r.shim.moveHosts(['h1']);
  await until('the move of h1 to start', () => r.shim.status().busy !== undefined || undefined, 5000).catch(
    () => {},
  );
  await barrierCheck(
    'during the move of h1',
    s.algorithm === 'alap' ? { old: 1, new: 1 } : { old: 1 + s2HostPorts, new: 0 },
    move1,
  );
  await move1;
  await sleep(300);
  await batch('h1 moved', 20, 10, 10);
  await checkpoint('h1 moved');
  // The rules deleted now have counted on both copies (ALAP: O then N; ASAP: O's base copy, then the copy
  // for packets that come through the tunnel from h1).
  await deleteRemoval(remA, traffic.dscpA);

  // ---- the other hosts
  s.moved.h2 = Date.now();
  await r.shim.moveHosts(['h2']);
  await sleep(300);
  await batch('h1, h2 moved', 20, 0, 10);
  await checkpoint('h1, h2 moved');
  await r.shim.moveHosts(['h3', 'h4']);
  if (s.algorithm === 'asap') installHard('installed before finalize: copied to N by finalize', true, 7001);
  await sleep(1000);

  // ---- finalize
  await r.shim.finalize();
  if (s.algorithm === 'asap') installHard('installed after finalize: on N only', false, 7002);
  await sleep(300);
  await batch('finalized', 20, 0, 10);
  await checkpoint('finalized');
  await barrierCheck('finalized', { old: 0, new: 1 });
  if (s.algorithm === 'asap') {
    await portStep(
      'N: s1-s3 down (ASAP, finalized)',
      ['new'],
      () => link('s1', 'new', p3, 'down'),
      both('down'),
    );
    await portStep('N: s1-s3 up (ASAP, finalized)', ['new'], () => link('s1', 'new', p3, 'up'), both('up'));
  }
  await deleteRemoval(remB, traffic.dscpB);

  // ---- wait for the hard timeouts and the flow-removed of the deleted rules
  await until(
    'the hard-timeout rules to expire',
    () =>
      s.hard.every((h) =>
        r.rec.eventsOf('flowRemoved').some((e) => matchText(e.event.msg.match) === matchText(h.match)),
      ) || undefined,
    (HARD_S + 6) * 1000,
  ).catch(() => s.notes.push('not every hard-timeout rule reported its removal'));
  await sleep(1500); // a second (wrong) flow-removed would come now
  const removed = r.rec.eventsOf('flowRemoved');
  for (const h of s.hard) {
    const mine = removed.filter((e) => matchText(e.event.msg.match) === matchText(h.match));
    h.count = mine.length;
    if (mine[0]) h.removed = { ...mine[0].event, at: mine[0].at };
  }
  for (const rc of s.removals) {
    for (const e of removed) {
      const rule = rc.rules.find(
        (x) => matchText(x.match) === matchText(e.event.msg.match) && vsw(plan, x.sw).dpid === e.dpid,
      );
      if (rule) rc.events.push({ sw: rule.sw, at: e.at, msg: e.event.msg });
    }
  }
  await r.stats.pollNow();
}

/** The counting rule (cookie COOKIE_STATS) of a sample: h1 -> h2 (`fwd`) or h2 -> h1. */
function countingRule(sample: SwitchSample | undefined, h1: string, fwd: boolean) {
  return sample?.flows?.find(
    (f) =>
      f.cookie === `0x${COOKIE_STATS.toString(16)}` &&
      (fwd ? f.match.ipv4_src === h1 : f.match.ipv4_dst === h1),
  );
}

/** A port's (or several copies' combined) state as the app reads it: down if any is down, live if all are. */
function summary(ports: PortDesc[]): string {
  if (ports.length === 0) return 'absent';
  const down = ports.some((p) => p.config & PortConfig.PORT_DOWN || p.state & PortState.LINK_DOWN);
  const live = ports.every((p) => p.state & PortState.LIVE);
  return `${down ? 'down' : 'up'}${live ? ' live' : ''}`;
}

async function pingWarm(r: Rig): Promise<boolean> {
  for (let i = 0; i < 10; i++) {
    const res = await r.tb.exec('h1', ['ping', '-c', '2', '-i', '0.1', '-W', '1', r.tb.host('h2').ip], {
      check: false,
    });
    if (res.code === 0) return true;
  }
  return false;
}

// ---------------------------------------------------------------- the tests

describe('migration shim transparency on real Open vSwitch', {
  skip: !isRoot || !haveOvs ? 'needs root and Open vSwitch' : false,
  timeout: 400_000,
}, () => {
  for (const algorithm of ['asap', 'alap'] as const) {
    describe(`Tunnel ${algorithm.toUpperCase()}`, () => {
      const holder: { tb?: Testbed; dir?: string; rig?: Rig } = {};
      let scenario: Scenario | undefined;
      let failure: unknown;
      let started = 0;

      before(async () => {
        started = Date.now();
        try {
          const r = await upRig(algorithm, holder);
          scenario = {
            algorithm,
            plan: r.plan,
            rec: r.rec,
            tunnelPortNames: r.tb.state.switches.flatMap((sw) =>
              sw.ports.filter((p) => p.kind === 'tunnel').map((p) => p.name),
            ),
            batches: [],
            checkpoints: [],
            samples: [],
            barriers: [],
            portSteps: [],
            hard: [],
            errors: [],
            removals: [],
            moved: {},
            notes: [],
          };
          const s = scenario;
          r.stats.onSample((vdpid, sample) => s.samples.push({ at: Date.now(), vdpid, sample }));
          await runScenario(r, s);
        } catch (err) {
          failure = err;
        }
      });

      after(async () => {
        await downRig(holder);
      });

      /** The scenario's record; a scenario that broke off fails every test that needs what it did not get. */
      const need = <T>(t: TestContext, pick: (s: Scenario) => T, has: (v: T) => boolean = () => true): T => {
        if (scenario) for (const n of scenario.notes) t.diagnostic(n);
        if (!scenario) throw failure ?? new Error('no scenario');
        const v = pick(scenario);
        if (!has(v)) throw failure ?? new Error('the scenario did not record this');
        if (failure) t.diagnostic(`the scenario broke off: ${(failure as Error).stack ?? String(failure)}`);
        return v;
      };

      it('1. the app never sees a physical dpid, tunnel port or tag, shim table, metadata or cookie', (t) => {
        const s = need(
          t,
          (x) => x,
          (x) => x.checkpoints.length > 0,
        );
        const rec = s.rec;
        t.diagnostic(
          `recorded ${rec.events.length} events (${[
            'switchUp',
            'packetIn',
            'flowRemoved',
            'portStatus',
            'error',
          ]
            .map((n) => `${rec.eventsOf(n as 'packetIn').length} ${n}`)
            .join(
              ', ',
            )}), ${rec.replies.length} replies, ${rec.sent.length} commands; ${Math.round((Date.now() - started) / 1000)} s`,
        );
        const problems = transparencyProblems(rec, {
          plan: s.plan,
          appTables: [0, 1],
          tunnelPortNames: s.tunnelPortNames,
        });
        assert.deepEqual(problems.slice(0, 20), [], `${problems.length} problems`);
        // Packet-ins did flow across the migration (learning after every host move), so the check above saw them.
        assert.ok(rec.eventsOf('packetIn').length > 0, 'the app got packet-ins');
        const vdpids = new Set(s.plan.switches.map((v) => v.dpid));
        assert.deepEqual(new Set(rec.datapaths().map((d) => d.id)), vdpids);
        for (const dp of rec.datapaths()) {
          const vs = s.plan.switches.find((v) => v.dpid === dp.id)!;
          assert.deepEqual(
            [...dp.ports.keys()].sort((a, b) => a - b),
            vs.ports.map((p) => p.port).sort((a, b) => a - b),
            `${vs.name}: the app's port table`,
          );
        }
        // Packets of migrated hosts reached the app too (ASAP: through the tunnel to the old switch; ALAP:
        // from the new switch), so the checks above covered them: h1's gratuitous ARPs after its move.
        const h1 = s.plan.hosts.find((h) => h.name === 'h1')!;
        const v1 = s.plan.switches.find((v) => v.name === 's1')!.dpid;
        const fromMoved = rec
          .eventsOf('packetIn', s.moved.h1 ?? Number.POSITIVE_INFINITY)
          .filter((e) => e.dpid === v1 && e.event.inPort === h1.port);
        assert.ok(fromMoved.length > 0, "no packet-in from h1's port after its move");
        for (const e of fromMoved) assert.equal(e.event.msg.data[12], 0x08, 'an untagged IPv4/ARP frame');
        // Host moves show no port-status for the host port (its MAC and number stay).
        for (const e of rec.eventsOf('portStatus'))
          assert.notEqual(e.event.msg.reason, PortReason.DELETE, `a port vanished: ${show(e.event.msg)}`);
      });

      it('2. stats-monitor flow and port counters never decrease and equal the pings sent', (t) => {
        const s = need(
          t,
          (x) => x,
          (x) => x.checkpoints.length >= 4,
        );
        // Never decrease: every (switch, rule) and (switch, port, counter) across every sample.
        const last = new Map<string, number>();
        let compared = 0;
        for (const { vdpid, sample } of s.samples) {
          for (const f of sample.flows ?? []) {
            for (const [k, v] of [
              [`${vdpid} flow ${f.cookie} ${f.priority} ${JSON.stringify(f.match)} packets`, f.packets],
              [`${vdpid} flow ${f.cookie} ${f.priority} ${JSON.stringify(f.match)} bytes`, f.bytes],
            ] as const) {
              const prev = last.get(k);
              if (prev !== undefined) {
                compared++;
                assert.ok(v >= prev, `${k} went down from ${prev} to ${v} at ${sample.ts}`);
              }
              last.set(k, v);
            }
          }
          for (const p of sample.ports ?? []) {
            for (const [name, v] of Object.entries(p)) {
              if (name === 'port') continue;
              const k = `${vdpid} port ${p.port} ${name}`;
              const prev = last.get(k);
              if (prev !== undefined) {
                compared++;
                assert.ok((v as number) >= prev, `${k} went down from ${prev} to ${v} at ${sample.ts}`);
              }
              last.set(k, v as number);
            }
          }
        }
        t.diagnostic(`${s.samples.length} samples, ${compared} comparisons`);
        // Equal to the traffic: the counting rules along the path and h1's port, at every checkpoint.
        for (const b of s.batches) t.diagnostic(`ping ${b.label}: ${b.output}`);
        for (const b of s.batches) assert.equal(b.duplicates, 0, `ping ${b.label}: duplicate replies`);
        const s1 = s.plan.switches.find((v) => v.name === 's1')!;
        const h1 = s.plan.hosts.find((h) => h.name === 'h1')!;
        const h1ip = h1.ip!;
        const rows: string[] = [];
        const wrong: string[] = [];
        const check = (ok: boolean, what: string) => {
          if (!ok) wrong.push(what);
        };
        const base = s.checkpoints[0]!;
        assert.equal(base.label, 'installed');
        const basePort = base.samples.get(s1.dpid)?.ports?.find((p) => p.port === h1.port);
        for (const c of s.checkpoints) {
          for (const vs of s.plan.switches.filter((v) => ['s1', 's2', 's4'].includes(v.name))) {
            const b = base.samples.get(vs.dpid);
            const fwd0 = countingRule(b, h1ip, true);
            const back0 = countingRule(b, h1ip, false);
            const fwd = countingRule(c.samples.get(vs.dpid), h1ip, true);
            const back = countingRule(c.samples.get(vs.dpid), h1ip, false);
            const replies = c.plain.replies + c.dscpReplies;
            rows.push(
              `${c.label} ${vs.name}: requests ${fwd?.packets}/${c.plain.requests} (${fwd?.bytes} bytes) replies ${back?.packets}/${replies} (${back?.bytes} bytes)${
                fwd0?.packets || back0?.packets ? ` baseline ${fwd0?.packets}/${back0?.packets}` : ''
              }`,
            );
            const dp = (x: number | undefined, y: number | undefined) => (x ?? Number.NaN) - (y ?? 0);
            check(
              dp(fwd?.packets, fwd0?.packets) === c.plain.requests,
              `${c.label}: ${vs.name}'s h1->h2 rule counts the pings`,
            );
            check(
              dp(back?.packets, back0?.packets) === replies,
              `${c.label}: ${vs.name}'s h2->h1 rule counts the replies`,
            );
            check(
              dp(fwd?.bytes, fwd0?.bytes) === c.plain.requests * 98,
              `${c.label}: ${vs.name}'s h1->h2 bytes`,
            );
            check(dp(back?.bytes, back0?.bytes) === replies * 98, `${c.label}: ${vs.name}'s h2->h1 bytes`);
          }
          const port = c.samples.get(s1.dpid)?.ports?.find((p) => p.port === h1.port);
          const requests = c.plain.requests + c.dscp;
          const replies = c.plain.replies + c.dscpReplies;
          const rx = (port?.rxPackets ?? Number.NaN) - (basePort?.rxPackets ?? 0);
          const tx = (port?.txPackets ?? Number.NaN) - (basePort?.txPackets ?? 0);
          rows.push(
            `${c.label} s1 port ${h1.port}: rx +${rx} (${requests} pings) tx +${tx} (${replies} replies)`,
          );
          check(
            rx >= requests && rx <= requests + SLACK,
            `${c.label}: h1's port received ${rx} packets, ${requests} pings were sent`,
          );
          check(
            tx >= replies && tx <= replies + SLACK,
            `${c.label}: h1's port sent ${tx} packets, ${replies} replies came back`,
          );
        }
        for (const row of rows) t.diagnostic(row);
        assert.deepEqual(wrong, []);
      });

      it(`3. a ${HARD_S} s hard timeout fires at the same time (within 1 s) whether or not the rule was copied`, (t) => {
        const s = need(
          t,
          (x) => x.hard,
          (h) => h.length === 2,
        );
        const lives: number[] = [];
        for (const h of s) {
          assert.ok(h.removed, `${h.label}: no flow-removed`);
          const life = h.removed.at - h.installedAt;
          lives.push(life);
          t.diagnostic(
            `${h.label}: flow-removed after ${life} ms (duration ${h.removed.msg.durationSec}.${String(h.removed.msg.durationNsec).padStart(9, '0').slice(0, 3)} s)`,
          );
          assert.equal(h.count, 1, `${h.label}: ${h.count} flow-removed`);
          assert.equal(h.removed.msg.reason, FlowRemovedReason.HARD_TIMEOUT);
          assert.equal(h.removed.msg.hardTimeout, HARD_S, 'the app sees its own hard timeout');
          assert.ok(life >= HARD_S * 1000 - 50, `${h.label}: expired early (${life} ms)`);
          assert.ok(life <= HARD_S * 1000 + 1500, `${h.label}: expired late (${life} ms)`);
          const duration = h.removed.msg.durationSec * 1000 + h.removed.msg.durationNsec / 1e6;
          assert.ok(Math.abs(duration - life) < 600, `${h.label}: duration ${duration} ms, lived ${life} ms`);
        }
        assert.ok(
          Math.abs(lives[0]! - lives[1]!) <= 1000,
          `copied and not copied rules expire ${Math.abs(lives[0]! - lives[1]!)} ms apart`,
        );
      });

      it('4. exactly one flow-removed per rule, counters summed over copies, duration since the app installed it', (t) => {
        const s = need(
          t,
          (x) => x.removals,
          (x) => x.every((rc) => rc.deletedAt > 0),
        );
        for (const rc of s) {
          for (const rule of rc.rules) {
            const evs = rc.events.filter((e) => e.sw === rule.sw);
            assert.equal(evs.length, 1, `${rc.label}, ${rule.sw}: ${evs.length} flow-removed`);
            const e = evs[0]!;
            t.diagnostic(
              `${rc.label}, ${rule.sw}: ${e.msg.packetCount} packets (${rc.expectedPackets} sent), duration ${e.msg.durationSec} s, ${e.at - rc.deletedAt} ms after the delete`,
            );
            assert.equal(e.msg.reason, FlowRemovedReason.DELETE);
            assert.equal(e.msg.cookie, rc.cookie);
            assert.equal(e.msg.priority, 110);
            assert.equal(e.msg.tableId, 0);
            assert.equal(e.msg.packetCount, BigInt(rc.expectedPackets), `${rc.label}, ${rule.sw}: packets`);
            assert.equal(e.msg.byteCount, BigInt(rc.expectedPackets * 98), `${rc.label}, ${rule.sw}: bytes`);
            const duration = e.msg.durationSec * 1000 + e.msg.durationNsec / 1e6;
            const life = e.at - rule.installedAt;
            assert.ok(
              duration <= life + 50 && duration >= rc.deletedAt - rule.installedAt - 50,
              `${rc.label}, ${rule.sw}: duration ${duration} ms, installed ${life} ms before the event`,
            );
          }
        }
        // The hard-timeout rules (also SEND_FLOW_REM) reported once each too (see 3).
      });

      it("6. when the app's barrier resolves, every physical switch that carries the rules holds them", (t) => {
        const s = need(
          t,
          (x) => x.barriers,
          (b) => b.length >= 6,
        );
        for (const b of s) {
          t.diagnostic(
            `${b.label}: ${JSON.stringify(b.counts)} (expected ${JSON.stringify(b.expected)} each)`,
          );
          for (const side of ['old', 'new'] as const) {
            assert.deepEqual(
              b.counts[side],
              new Array(K).fill(b.expected[side as 'old' | 'new']),
              `${b.label}: copies of the ${K} rules on s2/${side}`,
            );
          }
        }
      });

      it('7. a port down (and up) in either network reaches the app once; tunnel ports never', (t) => {
        const s = need(
          t,
          (x) => x.portSteps,
          (p) => p.length >= 6,
        );
        for (const p of s) {
          t.diagnostic(`${p.label}: app ${JSON.stringify(p.events)}; switches ${JSON.stringify(p.physical)}`);
          assert.ok(
            p.physical.length > 0,
            `${p.label}: the switches reported nothing (the step did not happen)`,
          );
          assert.deepEqual(p.events, p.model, `${p.label}: the app's port-status events`);
          for (const [k, want] of Object.entries(p.finals)) {
            const mine = p.events.filter((e) => e.startsWith(`${k} `));
            const lastSeen = mine.at(-1);
            if (lastSeen) assert.ok(lastSeen.startsWith(`${k} ${want}`), `${p.label}: ${k} ends ${lastSeen}`);
          }
        }
        // Every failure and recovery was seen: each down step made the watched ports go down for the app.
        const downs = s.filter((p) => Object.values(p.finals).includes('down') && p.model.length > 0);
        assert.ok(downs.length >= 1, 'no step took a virtual port down');
        for (const p of downs)
          assert.ok(
            p.events.some((e) => e.includes(' down')),
            `${p.label}: the app did not see the port go down`,
          );
      });

      it("8. a flow-mod the switches reject reaches the app once, with the app's xid and command", (t) => {
        const s = need(
          t,
          (x) => x.errors,
          (e) => e.length === 2,
        );
        for (const e of s) {
          t.diagnostic(
            `${e.label}: xid ${e.xid}: ${JSON.stringify(e.errors.map((x) => [x.xid, x.errorType, x.code]))}`,
          );
          assert.equal(e.errors.length, 1, `${e.label}: ${e.errors.length} error events`);
          const err = e.errors[0]!;
          assert.equal(err.xid, e.xid, `${e.label}: the error carries the app's xid`);
          if (e.command.xid !== undefined) assert.equal(e.xid, e.command.xid);
          assert.deepEqual(
            show(err.request),
            show({ ...e.command, xid: e.xid }),
            `${e.label}: the error names the app's own command`,
          );
          assert.ok(
            err.errorType === ErrorType.BAD_ACTION || err.errorType === ErrorType.BAD_INSTRUCTION,
            `${e.label}: error type ${err.errorType}`,
          );
          assert.equal(e.listed, false, `${e.label}: the refused rule shows in the app's flow stats`);
        }
      });
    });
  }
});
