// Building, using and tearing down a test bed on a private Open vSwitch (userspace datapath).
//
// Layout of one bed named B (see docs/testbed.md):
//   namespace vnm-B          ovsdb-server + ovs-vswitchd (run dir <runDir>/ovs), every bridge, every
//                            switch-side interface (veth links, host veth switch ends)
//   namespace vnm-B-<host>   one per host, with eth0 (the host end of its veth)
//   bridges o-<sw> / n-<sw>  old and new copy of each topology switch; `tun` is the tunnel switch T
//   <runDir>/state.json      everything built (TestbedState), for separate CLI invocations
import { type ChildProcess, type SpawnOptions, spawn } from 'node:child_process';
import {
  closeSync,
  existsSync,
  lstatSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  symlinkSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { logger } from '../util/log.ts';
import {
  CommandError,
  execInNamespace,
  mapLimit,
  type RunOptions,
  type RunResult,
  run,
  sleep,
  spawnInNamespace,
} from './exec.ts';
import { type OfPortDesc, ofPortSession } from './ofport.ts';
import { findSwitch, planTestbed } from './plan.ts';
import { cmdline, isAlive, namespaceExists, pidsInNamespaces, pidsWithCmdline, terminate } from './procs.ts';
import { startRelay, stopRelay } from './relay.ts';
import {
  defaultRunDir,
  type HostInfo,
  type HostNetwork,
  type LinkInfo,
  type NetworkName,
  readState,
  resolveRunDir,
  type SwitchInfo,
  type TestbedState,
  testbedsDir,
  writeState,
} from './state.ts';
import {
  formatControllerSpec,
  type LinkSpec,
  names,
  parseControllerSpec,
  parseTopology,
  type Topology,
} from './topology.ts';

const log = logger('testbed');
const OVS_SCHEMA = '/usr/share/openvswitch/vswitch.ovsschema';
/** Longest unix socket path (sun_path) minus room for the longest file name we put in the run dir. */
const MAX_RUN_DIR = 107 - '/ovs/ovs-vswitchd.ctl'.length - 16;

/** OFPPC bits the test bed sets on ports that start down; a port-mod with config=0 and this mask undoes it. */
export const START_DOWN_MASK = 0x1 | 0x4 | 0x20; // OFPPC_PORT_DOWN | OFPPC_NO_RECV | OFPPC_NO_FWD

export interface UpOptions {
  /** Use this bed name instead of the topology's `name` (e.g. to run one example twice side by side). */
  name?: string;
  /** Run directory (default: $VNM_RUN_DIR/testbeds/<name>, VNM_RUN_DIR defaulting to /run/vnm). */
  runDir?: string;
  /** Override the topology's controller: 'none', 'tcp:HOST:PORT' or 'unix:/path'. */
  controller?: string;
  /** Roll back and re-raise on SIGINT/SIGTERM during the build (default true). */
  handleSignals?: boolean;
}

export interface MoveOptions {
  /** Take the host's link down this long before the move (stands for a VM's stop-and-copy); default: topology `blackout`. */
  blackoutMs?: number;
  /** Send a gratuitous ARP from the host after the move (default true). */
  announce?: boolean;
}

/** What a host move did, with wall-clock timestamps (ms since the epoch). */
export interface MoveResult {
  host: string;
  from: HostNetwork;
  to: HostNetwork;
  /** Bridge the host is now plugged into, and its port there (unchanged by the move). */
  bridge: string;
  port: number;
  blackoutMs: number;
  /** Host link taken down (only with a blackout). */
  blackoutStart?: number;
  /** Host link up again (only with a blackout). */
  blackoutEnd?: number;
  /** The ovs-vsctl transaction that moves the port started / returned. */
  moveStartedAt: number;
  movedAt: number;
  /** Gratuitous ARP sent (only when announce). */
  announcedAt?: number;
}

// ---------------------------------------------------------------------------------------------------

function ovsEnv(state: TestbedState): Record<string, string> {
  return { OVS_RUNDIR: state.ovs.dir, OVS_LOGDIR: state.ovs.dir, OVS_DBDIR: state.ovs.dir };
}

async function vsctlRaw(state: TestbedState, args: string[], opts: RunOptions = {}): Promise<string> {
  const r = await run(['ovs-vsctl', `--db=unix:${state.ovs.dbSock}`, '--timeout=60', ...args], {
    timeoutMs: 70_000,
    env: ovsEnv(state),
    ...opts,
  });
  return r.stdout;
}

async function ofctlRaw(state: TestbedState, args: string[], opts: RunOptions = {}): Promise<string> {
  const r = await run(['ovs-ofctl', '-O', 'OpenFlow13', ...args], { env: ovsEnv(state), ...opts });
  return r.stdout;
}

function readPidFile(path: string): number | undefined {
  try {
    const n = Number(readFileSync(path, 'utf8').trim());
    return Number.isInteger(n) && n > 0 ? n : undefined;
  } catch {
    return undefined;
  }
}

function tcCommands(ifname: string, spec: LinkSpec): string[] {
  const netem: string[] = [];
  if (spec.delayUs) netem.push(`delay ${spec.delayUs}us${spec.jitterUs ? ` ${spec.jitterUs}us` : ''}`);
  if (spec.lossPct) netem.push(`loss ${spec.lossPct}%`);
  const cmds: string[] = [];
  if (netem.length > 0) {
    cmds.push(`qdisc add dev ${ifname} root handle 1: netem ${netem.join(' ')} limit 10000`);
  }
  if (spec.rateBps) {
    // burst: at least 4 ms worth of bytes (timer granularity) and a few full frames.
    const burst = Math.max(Math.ceil(spec.rateBps / 8 / 250), 4 * 1514);
    const parent = netem.length > 0 ? 'parent 1:1 handle 10:' : 'root handle 1:';
    cmds.push(`qdisc add dev ${ifname} ${parent} tbf rate ${spec.rateBps}bit burst ${burst} latency 50ms`);
  }
  return cmds;
}

function needsDelayOrLoss(spec: LinkSpec): boolean {
  return !!(spec.delayUs || spec.jitterUs || spec.lossPct);
}

/** 'netem' when the kernel has tc netem (unless VNM_SHAPER=emulator), else 'emulator'. */
async function chooseShaper(lab: string): Promise<'netem' | 'emulator'> {
  const want = process.env.VNM_SHAPER;
  if (want === 'emulator' || want === 'netem') return want;
  const probe = await run(
    ['tc', '-n', lab, 'qdisc', 'add', 'dev', 'lo', 'root', 'handle', '1:', 'netem', 'delay', '1us'],
    {
      check: false,
    },
  );
  if (probe.code !== 0) return 'emulator';
  await run(['tc', '-n', lab, 'qdisc', 'del', 'dev', 'lo', 'root'], { check: false });
  return 'netem';
}

export const LINK_EMULATOR = fileURLToPath(new URL('./linkemu.py', import.meta.url));

async function startEmulator(st: TestbedState, links: LinkInfo[]): Promise<{ pid: number; config: string }> {
  const config = join(st.runDir, 'linkemu.json');
  const ready = join(st.runDir, 'linkemu.ready');
  const logFile = join(st.runDir, 'linkemu.log');
  writeFileSync(
    config,
    JSON.stringify({
      ready,
      links: links.map((l) => ({
        a: l.emulated!.aIf,
        b: l.emulated!.bIf,
        peer_a: l.a.ifname,
        peer_b: l.b.ifname,
        delay_us: l.spec.delayUs ?? 0,
        jitter_us: l.spec.jitterUs ?? 0,
        loss_pct: l.spec.lossPct ?? 0,
      })),
    }),
  );
  const python = process.env.VNM_PYTHON ?? (existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3');
  const fd = openSync(logFile, 'a');
  let pid: number | undefined;
  try {
    const child = spawn('ip', ['netns', 'exec', st.labNamespace, python, LINK_EMULATOR, config], {
      detached: true,
      stdio: ['ignore', fd, fd],
    });
    child.on('error', () => {});
    child.unref();
    pid = child.pid;
  } finally {
    closeSync(fd);
  }
  if (pid === undefined) throw new Error('could not start the link emulator');
  const deadline = Date.now() + 10_000;
  while (!existsSync(ready)) {
    if (!isAlive(pid))
      throw new Error(`link emulator exited at start:\n${readFileSync(logFile, 'utf8').trim()}`);
    if (Date.now() > deadline) throw new Error(`link emulator not ready after 10 s; see ${logFile}`);
    await sleep(10);
  }
  return { pid, config };
}

function ipBatch(ns: string | null, lines: string[]): Promise<RunResult> {
  const argv = ns ? ['ip', '-n', ns, '-batch', '-'] : ['ip', '-batch', '-'];
  return run(argv, { input: `${lines.join('\n')}\n` });
}

// ---------------------------------------------------------------------------------------------------
// Build

class Interrupted extends Error {
  constructor(readonly sig: NodeJS.Signals) {
    super(`interrupted by ${sig}`);
  }
}

interface BuildCtx {
  state: TestbedState;
  controller: ReturnType<typeof parseControllerSpec>;
  abort: AbortSignal;
  interrupted: () => NodeJS.Signals | undefined;
}

function checkpoint(ctx: BuildCtx): void {
  const sig = ctx.interrupted();
  if (sig) throw new Interrupted(sig);
}

async function build(ctx: BuildCtx): Promise<void> {
  const st = ctx.state;
  const lab = st.labNamespace;
  const r = (argv: string[], opts: RunOptions = {}) => run(argv, { signal: ctx.abort, ...opts });
  const t0 = Date.now();
  const step = (what: string) => log.debug({ bed: st.name, ms: Date.now() - t0 }, what);

  // 1. The lab namespace (no IPv6: the kernel would send ND/MLD out of every switch-side veth).
  step('lab namespace');
  await r(['ip', 'netns', 'add', lab]);
  await r([
    'ip',
    'netns',
    'exec',
    lab,
    'sysctl',
    '-q',
    '-w',
    'net.ipv6.conf.all.disable_ipv6=1',
    'net.ipv6.conf.default.disable_ipv6=1',
  ]);
  await r(['ip', '-n', lab, 'link', 'set', 'lo', 'up']);
  checkpoint(ctx);

  // 2. A private ovsdb-server and ovs-vswitchd inside it.
  step('ovs daemons');
  const o = st.ovs;
  mkdirSync(o.dir, { recursive: true });
  const env = ovsEnv(st);
  await r(['ovsdb-tool', 'create', join(o.dir, 'conf.db'), OVS_SCHEMA]);
  await r(
    execArgv(lab, [
      'ovsdb-server',
      join(o.dir, 'conf.db'),
      `--remote=punix:${o.dbSock}`,
      `--unixctl=${o.ovsdbCtl}`,
      `--pidfile=${join(o.dir, 'ovsdb-server.pid')}`,
      `--log-file=${join(o.dir, 'ovsdb-server.log')}`,
      '--detach',
      '--no-chdir',
      '-vconsole:off',
    ]),
    { env },
  );
  const ovsdbPid = readPidFile(join(o.dir, 'ovsdb-server.pid'));
  if (ovsdbPid !== undefined) o.ovsdbPid = ovsdbPid;
  writeState(st);
  await vsctlRaw(st, ['--no-wait', 'init']);
  await r(
    execArgv(lab, [
      'ovs-vswitchd',
      `unix:${o.dbSock}`,
      `--unixctl=${o.vswitchdCtl}`,
      `--pidfile=${join(o.dir, 'ovs-vswitchd.pid')}`,
      `--log-file=${join(o.dir, 'ovs-vswitchd.log')}`,
      '--detach',
      '--no-chdir',
      '-vconsole:off',
    ]),
    { env },
  );
  const vsPid = readPidFile(join(o.dir, 'ovs-vswitchd.pid'));
  if (vsPid !== undefined) o.vswitchdPid = vsPid;
  writeState(st);
  checkpoint(ctx);

  // 3. Hosts: a namespace each, a veth whose switch end lives in the lab namespace. Processes are slow to
  // start on a busy machine, so this uses few: the host end is created in the lab namespace, gets TX
  // checksum offload turned off there (the setting moves with it), moves to the host namespace and is
  // configured there with one `ip -batch` per host. `addrgenmode none`: no IPv6 link-local address, so
  // the host sends no IPv6 neighbour discovery or MLD into the switches.
  step('hosts');
  if (st.hosts.length > 0) {
    const tmpName = (h: HostInfo) => `v-${h.name}`;
    await ipBatch(
      null,
      st.hosts.map((h) => `netns add ${h.namespace}`),
    );
    await ipBatch(
      lab,
      st.hosts.flatMap((h) => [
        `link add ${h.switchIfname} type veth peer name ${tmpName(h)} address ${h.mac}`,
        `link set ${h.switchIfname} up`,
      ]),
    );
    checkpoint(ctx);
    step('host interfaces');
    // The userspace datapath does not fill in checksums: the host must send complete ones.
    const ethtool = st.hosts.map((h) => `ethtool -K ${tmpName(h)} tx off >/dev/null`).join(' && ');
    await r(execArgv(lab, ['sh', '-c', ethtool]));
    step('host interfaces: moved');
    await ipBatch(
      lab,
      st.hosts.map((h) => `link set ${tmpName(h)} netns ${h.namespace}`),
    );
    checkpoint(ctx);
    step('host interfaces: addresses');
    await mapLimit(st.hosts, 4, (h) =>
      ipBatch(h.namespace, [
        `link set ${tmpName(h)} name ${h.ifname}`,
        `link set ${h.ifname} addrgenmode none`,
        'link set lo up',
        `addr add ${h.ip}/${h.prefixLen} dev ${h.ifname}`,
        `link set ${h.ifname} up`,
      ]),
    );
  }
  checkpoint(ctx);

  // 4. veth links (switch-switch and tunnel) inside the lab namespace. A link with delay, jitter or loss
  // and no tc netem in the kernel gets two veth pairs with the link emulator (linkemu.py) between them.
  step('veth links');
  const veths = st.links.filter((l) => l.kind === 'veth');
  if (veths.some((l) => needsDelayOrLoss(l.spec))) {
    st.shaper = await chooseShaper(lab);
    writeState(st);
  }
  st.links.forEach((l, i) => {
    if (l.kind === 'veth' && st.shaper === 'emulator' && needsDelayOrLoss(l.spec)) {
      l.emulated = { aIf: `e${i}a`, bIf: `e${i}b` };
    }
  });
  if (veths.length > 0) {
    await ipBatch(
      lab,
      veths.flatMap((l) => {
        const ends = l.emulated
          ? [
              [l.a.ifname, l.emulated.aIf],
              [l.b.ifname, l.emulated.bIf],
            ]
          : [[l.a.ifname, l.b.ifname]];
        return ends.flatMap(([x, y]) => [
          `link add ${x} type veth peer name ${y}`,
          `link set ${x} up`,
          `link set ${y} up`,
        ]);
      }),
    );
  }
  checkpoint(ctx);

  // 5. Bridges and ports, in one ovs-vsctl transaction.
  step('bridges');
  const args: string[] = [];
  for (const sw of st.switches) {
    args.push(
      '--',
      'add-br',
      sw.bridge,
      '--',
      'set',
      'bridge',
      sw.bridge,
      'datapath_type=netdev',
      'protocols=OpenFlow13',
      'fail_mode=secure',
      'other_config:disable-in-band=true',
      `other_config:datapath-id=${sw.dpid}`,
    );
  }
  const shapedPorts: string[] = [];
  for (const l of st.links) {
    for (const [end, other] of [
      [l.a, l.b],
      [l.b, l.a],
    ] as const) {
      args.push(
        '--',
        'add-port',
        end.bridge,
        end.ifname,
        '--',
        'set',
        'interface',
        end.ifname,
        `ofport_request=${end.port}`,
      );
      if (l.kind === 'patch') args.push('type=patch', `options:peer=${other.ifname}`);
      else if (tcCommands(end.ifname, l.spec).length > 0) shapedPorts.push(end.ifname);
    }
  }
  for (const h of st.hosts) {
    const br = names.bridge(h.network, h.switch);
    args.push(
      '--',
      'add-port',
      br,
      h.switchIfname,
      '--',
      'set',
      'interface',
      h.switchIfname,
      `ofport_request=${h.port}`,
    );
  }
  if (shapedPorts.length > 0) {
    // linux-noop: Open vSwitch leaves these ports' qdiscs (our tc netem/tbf) alone.
    args.push('--', '--id=@noop', 'create', 'qos', 'type=linux-noop');
    for (const p of shapedPorts) args.push('--', 'set', 'port', p, 'qos=@noop');
  }
  await vsctlRaw(st, args, { signal: ctx.abort });
  checkpoint(ctx);

  // 6. Every interface got the port number we asked for?
  step('verify ports');
  await verifyPorts(st);

  // 7. Shaping on veth links, each direction: tc tbf (rate) and tc netem (delay, jitter, loss) on both
  // switch-side ends, or tbf there and the link emulator for delay, jitter and loss.
  step('shaping');
  const tc = veths.flatMap((l) => {
    const spec = l.emulated ? { ...l.spec, delayUs: 0, jitterUs: 0, lossPct: 0 } : l.spec;
    return [...tcCommands(l.a.ifname, spec), ...tcCommands(l.b.ifname, spec)];
  });
  if (tc.length > 0) await r(['tc', '-n', lab, '-batch', '-'], { input: `${tc.join('\n')}\n` });
  const emulated = st.links.filter((l) => l.emulated);
  if (emulated.length > 0) {
    st.emulator = await startEmulator(st, emulated);
    writeState(st);
  }
  checkpoint(ctx);

  // 8. Ports that start down (tunnel ports of old and new switches, blocked links): one OpenFlow
  // session per bridge, in parallel.
  step('ports down');
  const downs = st.switches
    .filter((sw) => sw.network !== 'tunnel')
    .map((sw) => ({ bridge: sw.bridge, ports: sw.ports.filter((p) => p.startsDown).map((p) => p.no) }))
    .filter((d) => d.ports.length > 0);
  await mapLimit(downs, 8, (d) =>
    ofPortSession(
      mgmtSocket(st, d.bridge),
      d.ports.map((port) => ({ port, config: START_DOWN_MASK, mask: START_DOWN_MASK })),
    ),
  );
  checkpoint(ctx);

  // 9. Controller: straight to a unix socket, or through a relay for TCP.
  step('controller');
  const c = ctx.controller;
  if (typeof c === 'string') throw new Error(c);
  if (c.kind !== 'none') {
    // ovs-vswitchd only connects to unix sockets inside its run dir (OVS_RUNDIR): the switches get
    // <ovs dir>/controller.sock, a symlink to the controller's socket or the relay's own socket.
    const sock = join(o.dir, 'controller.sock');
    if (c.kind === 'unix') symlinkSync(c.path, sock);
    else {
      st.controller.relay = await startRelay(sock, c.host, c.port, join(st.runDir, 'relay.log'));
      writeState(st);
    }
    const target = `unix:${sock}`;
    st.controller.target = target;
    const cargs: string[] = [];
    st.switches.forEach((sw, i) => {
      cargs.push(
        '--',
        `--id=@c${i}`,
        'create',
        'controller',
        `target="${target}"`,
        'max_backoff=1000',
        '--',
        'set',
        'bridge',
        sw.bridge,
        `controller=@c${i}`,
      );
    });
    await vsctlRaw(st, cargs, { signal: ctx.abort });
  }
  step('done');
}

function execArgv(ns: string, argv: string[]): string[] {
  return ['ip', 'netns', 'exec', ns, ...argv];
}

/** The OpenFlow management socket of a bridge (what `ovs-ofctl BRIDGE` connects to). */
function mgmtSocket(st: TestbedState, bridge: string): string {
  return join(st.ovs.dir, `${bridge}.mgmt`);
}

interface OvsdbTable {
  headings: string[];
  data: unknown[][];
}

async function verifyPorts(st: TestbedState): Promise<void> {
  const out = await vsctlRaw(st, ['--format=json', '--columns=name,ofport,error', 'list', 'Interface']);
  const t = JSON.parse(out) as OvsdbTable;
  const got = new Map<string, { ofport: unknown; error: unknown }>();
  for (const row of t.data) got.set(String(row[0]), { ofport: row[1], error: row[2] });
  const want = new Map<string, number>();
  for (const l of st.links) {
    want.set(l.a.ifname, l.a.port);
    want.set(l.b.ifname, l.b.port);
  }
  for (const h of st.hosts) want.set(h.switchIfname, h.port);
  const problems: string[] = [];
  for (const [name, port] of want) {
    const g = got.get(name);
    if (!g) problems.push(`${name}: missing`);
    else if (g.ofport !== port) {
      const err = typeof g.error === 'string' ? g.error : '';
      problems.push(
        `${name}: ofport ${JSON.stringify(g.ofport)} instead of ${port}${err ? ` (${err})` : ''}`,
      );
    }
  }
  if (problems.length > 0)
    throw new Error(`Open vSwitch did not create every port as asked:\n  ${problems.join('\n  ')}`);
}

// ---------------------------------------------------------------------------------------------------
// Teardown

/**
 * Removes everything a state describes: relay, processes in the bed's namespaces (daemons, traffic
 * tools), namespaces (and with them every veth, tap and qdisc), the run dir. Idempotent; works on a
 * half-built bed. Returns problems it could not fix (empty when clean).
 */
export async function teardownState(state: TestbedState): Promise<string[]> {
  const problems: string[] = [];
  const t0 = Date.now();
  if (existsSync(state.runDir)) {
    try {
      state.phase = 'tearing-down';
      writeState(state);
    } catch {}
  }
  if (state.controller.relay) await stopRelay(state.controller.relay);

  // Processes: everything in the host namespaces and the lab namespace (ovs-vswitchd, ovsdb-server),
  // plus the daemons by pid in case they are not in the namespace (e.g. it was deleted by hand).
  const existing = state.namespaces.filter(namespaceExists);
  const byNs = pidsInNamespaces(existing);
  const pids = new Set<number>();
  for (const list of byNs.values()) for (const p of list) pids.add(p);
  for (const p of [state.ovs.vswitchdPid, state.ovs.ovsdbPid]) {
    if (p !== undefined && isAlive(p) && cmdline(p)?.includes(state.ovs.dir)) pids.add(p);
  }
  const hard = await terminate([...pids]);
  if (hard.length > 0) log.debug({ bed: state.name, pids: hard }, 'killed with SIGKILL');
  const left = [...pids].filter(isAlive);
  if (left.length > 0) problems.push(`processes still running: ${left.join(', ')}`);

  if (existing.length > 0) {
    try {
      await run(['ip', '-force', '-batch', '-'], {
        input: `${existing.map((n) => `netns del ${n}`).join('\n')}\n`,
        check: false,
      });
    } catch {}
    const still = existing.filter(namespaceExists);
    if (still.length > 0) problems.push(`namespaces still present: ${still.join(', ')}`);
  }

  try {
    rmSync(state.runDir, { recursive: true, force: true });
  } catch (err) {
    problems.push(`could not remove ${state.runDir}: ${(err as Error).message}`);
  }
  unregister(state.name, state.runDir);
  log.debug({ bed: state.name, ms: Date.now() - t0, problems }, 'torn down');
  return problems;
}

/**
 * What of a bed is still there after teardown: namespaces, processes whose command line names the run
 * dir (ovsdb-server, ovs-vswitchd, relay, link emulator) or that the state names, interfaces of the bed
 * in the root namespace, the run dir and its registration. Empty when the bed is gone. For tests.
 */
export function findLeftovers(state: TestbedState): string[] {
  const left: string[] = [];
  for (const ns of state.namespaces) if (namespaceExists(ns)) left.push(`namespace ${ns}`);
  const pids = new Set(pidsWithCmdline(state.runDir));
  for (const p of [
    state.ovs.ovsdbPid,
    state.ovs.vswitchdPid,
    state.controller.relay?.pid,
    state.emulator?.pid,
  ]) {
    if (p !== undefined && isAlive(p) && cmdline(p)?.includes(state.runDir)) pids.add(p);
  }
  for (const p of pids) left.push(`process ${p}: ${cmdline(p) ?? '?'}`);
  const ifnames = [
    ...state.switches.map((s) => s.bridge),
    ...state.links.flatMap((l) => [
      l.a.ifname,
      l.b.ifname,
      ...(l.emulated ? [l.emulated.aIf, l.emulated.bIf] : []),
    ]),
    ...state.hosts.map((h) => h.switchIfname),
  ];
  for (const n of ifnames)
    if (existsSync(`/sys/class/net/${n}`)) left.push(`interface ${n} (root namespace)`);
  if (existsSync(state.runDir)) left.push(`run dir ${state.runDir}`);
  const reg = defaultRunDir(state.name);
  try {
    lstatSync(reg);
    left.push(`registration ${reg}`);
  } catch {}
  return left;
}

function unregister(name: string, runDir: string): void {
  const link = defaultRunDir(name);
  if (link === runDir) return;
  try {
    if (lstatSync(link).isSymbolicLink() && resolve(dirname(link), readlinkSync(link)) === runDir)
      unlinkSync(link);
  } catch {}
}

// ---------------------------------------------------------------------------------------------------
// The Testbed handle

/** A built test bed. Get one from upTestbed() or loadTestbed(). */
export class Testbed {
  state: TestbedState;

  constructor(state: TestbedState) {
    this.state = state;
  }

  get name(): string {
    return this.state.name;
  }

  get runDir(): string {
    return this.state.runDir;
  }

  get labNamespace(): string {
    return this.state.labNamespace;
  }

  /** Re-reads the state file (after another process moved a host, say). */
  reload(): this {
    this.state = readState(this.state.runDir);
    return this;
  }

  host(name: string): HostInfo {
    const h = this.state.hosts.find((x) => x.name === name);
    if (!h) {
      throw new Error(
        `no host '${name}' in test bed '${this.name}' (hosts: ${this.state.hosts.map((x) => x.name).join(', ')})`,
      );
    }
    return h;
  }

  /** Network namespace of a host (run anything there with `ip netns exec NS ...`). */
  hostNamespace(name: string): string {
    return this.host(name).namespace;
  }

  /** The old, new or tunnel copy of a switch ('T' names the tunnel switch). */
  switch(name: string, network: NetworkName): SwitchInfo {
    const s = findSwitch(this.state, name, network);
    if (!s) throw new Error(`no ${network} switch '${name}' in test bed '${this.name}'`);
    return s;
  }

  /** Bridge name of a switch's old/new copy (for ofctl). */
  bridge(name: string, network: 'old' | 'new'): string {
    return this.switch(name, network).bridge;
  }

  /** Runs argv inside a host's namespace and collects its output (throws CommandError on failure unless check: false). */
  exec(host: string, argv: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
    return execInNamespace(this.hostNamespace(host), argv, opts);
  }

  /** Starts a long-running process inside a host's namespace (killed at the latest by down()). */
  spawn(host: string, argv: readonly string[], opts: SpawnOptions = {}): ChildProcess {
    return spawnInNamespace(this.hostNamespace(host), argv, opts);
  }

  /** Runs argv inside the lab namespace (where the switches and their interfaces live). */
  execLab(argv: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
    return execInNamespace(this.labNamespace, argv, opts);
  }

  /** `ovs-vsctl ARGS...` against this bed's database; resolves to stdout. */
  vsctl(...args: string[]): Promise<string> {
    return vsctlRaw(this.state, args);
  }

  /** `ovs-ofctl -O OpenFlow13 ARGS...` with this bed's OVS_RUNDIR (so a bridge name works as target). */
  ofctl(...args: string[]): Promise<string> {
    return ofctlRaw(this.state, args);
  }

  /** Adds flows (ovs-ofctl syntax, one per entry) to a bridge in one ovs-ofctl call. */
  async addFlows(bridge: string, flows: readonly string[]): Promise<void> {
    await ofctlRaw(this.state, ['add-flows', bridge, '-'], { input: `${flows.join('\n')}\n` });
  }

  /** `ovs-appctl -t <ovs-vswitchd> ARGS...`; resolves to stdout. */
  async appctl(...args: string[]): Promise<string> {
    return (await run(['ovs-appctl', '-t', this.state.ovs.vswitchdCtl, ...args])).stdout;
  }

  /**
   * Opens ports that started down (tunnel ports, blocked links) the way a controller would: a port-mod
   * with config=0, mask=START_DOWN_MASK (clears OFPPC_PORT_DOWN, NO_RECV, NO_FWD).
   */
  async openPorts(bridge: string, ports: readonly number[]): Promise<void> {
    await ofPortSession(
      mgmtSocket(this.state, bridge),
      ports.map((port) => ({ port, config: 0, mask: START_DOWN_MASK })),
    );
  }

  /** The inverse of openPorts(): what the test bed does at build time to tunnel ports and blocked links. */
  async closePorts(bridge: string, ports: readonly number[]): Promise<void> {
    await ofPortSession(
      mgmtSocket(this.state, bridge),
      ports.map((port) => ({ port, config: START_DOWN_MASK, mask: START_DOWN_MASK })),
    );
  }

  /** OpenFlow port descriptions of a bridge (number, name, config and state bits). */
  portDescs(bridge: string): Promise<OfPortDesc[]> {
    return ofPortSession(mgmtSocket(this.state, bridge));
  }

  /** Waits until every bridge (or those given) reports its controller connection up. */
  async waitForController(timeoutMs = 10_000, bridges?: readonly string[]): Promise<void> {
    if (!this.state.controller.target) throw new Error(`test bed '${this.name}' has no controller`);
    const want = new Set(bridges ?? this.state.switches.map((s) => s.bridge));
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const out = await this.vsctl('--format=json', '--columns=name,controller', 'list', 'Bridge');
      const ctl = await this.vsctl('--format=json', '--columns=_uuid,is_connected', 'list', 'Controller');
      const connected = new Set(
        (JSON.parse(ctl) as OvsdbTable).data.filter((r) => r[1] === true).map((r) => JSON.stringify(r[0])),
      );
      const missing = (JSON.parse(out) as OvsdbTable).data
        .filter((r) => want.has(String(r[0])))
        .filter((r) => !connected.has(JSON.stringify(r[1])))
        .map((r) => String(r[0]));
      if (missing.length === 0) return;
      if (Date.now() > deadline)
        throw new Error(
          `switches not connected to the controller after ${timeoutMs} ms: ${missing.join(', ')}`,
        );
      await sleep(100);
    }
  }

  /**
   * Moves a host to the old or new network: (blackout: host link down for blackoutMs), the switch end of
   * its veth moves to the counterpart switch in one ovs-vsctl transaction with the same port number,
   * (link up), then the host sends a gratuitous ARP. Processes in the host keep running.
   */
  async moveHost(host: string, to: HostNetwork, opts: MoveOptions = {}): Promise<MoveResult> {
    const h = this.host(host);
    if (to !== 'old' && to !== 'new') throw new Error(`--to must be 'old' or 'new', not '${to}'`);
    if (h.network === to) throw new Error(`host '${host}' is already in the ${to} network`);
    const from = h.network;
    const blackoutMs = Math.max(0, opts.blackoutMs ?? this.state.topology.blackoutMs);
    const fromBr = names.bridge(from, h.switch);
    const toBr = names.bridge(to, h.switch);
    const result: Partial<MoveResult> = { host, from, to, bridge: toBr, port: h.port, blackoutMs };
    if (blackoutMs > 0) {
      // The window errs on the wide side: it opens before the link goes down and closes after it is up.
      result.blackoutStart = Date.now();
      await run(['ip', '-n', h.namespace, 'link', 'set', h.ifname, 'down']);
      await sleep(blackoutMs - (Date.now() - result.blackoutStart));
    }
    try {
      result.moveStartedAt = Date.now();
      await this.vsctl(
        '--',
        'del-port',
        fromBr,
        h.switchIfname,
        '--',
        'add-port',
        toBr,
        h.switchIfname,
        '--',
        'set',
        'interface',
        h.switchIfname,
        `ofport_request=${h.port}`,
      );
      result.movedAt = Date.now();
      h.network = to;
      writeState(this.state);
    } finally {
      // Also when the move failed: do not leave the host cut off.
      if (blackoutMs > 0) {
        await run(['ip', '-n', h.namespace, 'link', 'set', h.ifname, 'up']);
        result.blackoutEnd = Date.now();
      }
    }
    if (opts.announce !== false) {
      result.announcedAt = Date.now();
      await this.announce(host);
    }
    log.debug(result, 'host moved');
    return result as MoveResult;
  }

  /**
   * Announces a host as a hypervisor does after a migration: gratuitous ARPs (unsolicited ARP requests
   * for its own address, `arping -U`), `count` of them `intervalMs` apart (one may be lost on a busy
   * path). Resolves as soon as the first has been sent; the others follow in the background.
   */
  async announce(host: string, count = 3, intervalMs = 100): Promise<void> {
    await this.sendGarp(host);
    for (let i = 1; i < count; i++) {
      setTimeout(() => {
        if (namespaceExists(this.host(host).namespace)) void this.sendGarp(host);
      }, i * intervalMs).unref();
    }
  }

  private sendGarp(host: string): Promise<void> {
    const h = this.host(host);
    const child = this.spawn(host, ['arping', '-U', '-c', '1', '-I', h.ifname, h.ip], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    return new Promise((resolvePromise) => {
      let settled = false;
      const done = () => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        resolvePromise();
      };
      const timer = setTimeout(done, 2000);
      child.stdout?.on('data', (b: Buffer) => {
        // arping prints its banner right before it sends the first packet; then it lingers for a second.
        if (b.toString().includes('ARPING')) setTimeout(done, 5);
      });
      child.stderr?.on('data', (b: Buffer) => log.debug({ host, err: b.toString().trim() }, 'arping'));
      child.on('error', (err) => {
        log.warn({ host, err: err.message }, 'arping could not run');
        done();
      });
      child.on('close', done);
    });
  }

  /** Tears everything down (idempotent). Throws if something could not be removed. */
  async down(): Promise<void> {
    const problems = await teardownState(this.state);
    if (problems.length > 0)
      throw new Error(`test bed '${this.name}' not completely torn down:\n  ${problems.join('\n  ')}`);
  }
}

// ---------------------------------------------------------------------------------------------------
// Entry points

/** Reads and validates a topology file (throws TopologyError naming file, line and field). */
export function loadTopologyFile(file: string): Topology {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new Error(`cannot read topology file ${file}: ${(err as NodeJS.ErrnoException).code ?? err}`);
  }
  return parseTopology(text, file);
}

/**
 * Builds a test bed from a topology (or a topology file) and returns its handle. On any failure, and on
 * SIGINT/SIGTERM during the build, everything built so far is removed before the error is thrown.
 */
export async function upTestbed(source: Topology | string, opts: UpOptions = {}): Promise<Testbed> {
  const t0 = Date.now();
  const topologyFile = typeof source === 'string' ? resolve(source) : undefined;
  const topo0 = typeof source === 'string' ? loadTopologyFile(source) : source;
  const topo: Topology = structuredClone(topo0);
  if (opts.name !== undefined) topo.name = opts.name;
  if (!/^[A-Za-z][A-Za-z0-9_]{0,31}$/.test(topo.name)) {
    throw new Error(
      `bad test bed name '${topo.name}': letters, digits and '_', starting with a letter, at most 32`,
    );
  }
  const controller = parseControllerSpec(opts.controller ?? formatControllerSpec(topo.controller));
  if (typeof controller === 'string') throw new Error(`bad controller: ${controller}`);
  topo.controller = controller;
  if (process.getuid?.() !== 0)
    throw new Error('building a test bed needs root (network namespaces, Open vSwitch)');

  const runDir = resolve(opts.runDir ?? defaultRunDir(topo.name));
  if (runDir.length > MAX_RUN_DIR) {
    throw new Error(
      `run directory path too long for unix sockets (${runDir.length} > ${MAX_RUN_DIR} characters): ${runDir}`,
    );
  }
  const state = planTestbed(topo, topologyFile ? { runDir, topologyFile } : { runDir });

  // Refuse before building anything: a namespace of ours exists, or the bed is registered already.
  const taken = state.namespaces.filter(namespaceExists);
  if (taken.length > 0) {
    throw new Error(
      `namespace${taken.length > 1 ? 's' : ''} ${taken.join(', ')} already exist${taken.length > 1 ? '' : 's'}: ` +
        `is test bed '${topo.name}' up already (vnm testbed down ${topo.name})? Or pick another name.`,
    );
  }
  const regPath = defaultRunDir(topo.name);
  mkdirSync(testbedsDir(), { recursive: true });
  mkdirSync(dirname(runDir), { recursive: true });
  try {
    mkdirSync(runDir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') {
      throw new Error(
        `run directory ${runDir} exists: test bed '${topo.name}' is up or was not torn down (vnm testbed down ${topo.name})`,
      );
    }
    throw err;
  }
  if (regPath !== runDir) {
    try {
      symlinkSync(runDir, regPath);
    } catch (err) {
      rmSync(runDir, { recursive: true, force: true });
      throw new Error(
        `cannot register test bed '${topo.name}' at ${regPath}: ${(err as NodeJS.ErrnoException).code ?? err} (is it up already?)`,
      );
    }
  }
  writeState(state);

  const abort = new AbortController();
  let interrupted: NodeJS.Signals | undefined;
  const onSignal = (sig: NodeJS.Signals) => {
    interrupted ??= sig;
    abort.abort();
  };
  const handle = opts.handleSignals !== false;
  if (handle) {
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  }
  try {
    await build({ state, controller, abort: abort.signal, interrupted: () => interrupted });
    if (interrupted) throw new Interrupted(interrupted);
    state.phase = 'up';
    writeState(state);
  } catch (err) {
    const cause = interrupted ? new Interrupted(interrupted) : err;
    log.debug({ bed: state.name, err: String(err) }, 'build failed, rolling back');
    const problems = await teardownState(state);
    if (handle) {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    }
    if (interrupted && handle && process.listenerCount(interrupted) === 0) {
      process.kill(process.pid, interrupted); // default action: terminate as the signal asked
    }
    const note =
      problems.length > 0
        ? `\nrollback incomplete:\n  ${problems.join('\n  ')}`
        : '\n(everything built so far was removed)';
    if (cause instanceof Error) {
      cause.message += note;
      throw cause;
    }
    throw new Error(`${String(cause)}${note}`);
  } finally {
    if (handle) {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    }
  }
  log.debug({ bed: state.name, ms: Date.now() - t0 }, 'test bed up');
  return new Testbed(state);
}

/** Reattaches to a bed that is up (by name, or by run directory when the argument contains a '/'). */
export function loadTestbed(nameOrRunDir: string): Testbed {
  return new Testbed(readState(resolveRunDir(nameOrRunDir)));
}

/**
 * Tears a bed down by name or run directory, also when half built. When its state file cannot be read,
 * removes what the name alone identifies (the lab namespace and the run dir) and reports the rest.
 */
export async function downTestbed(nameOrRunDir: string): Promise<string[]> {
  const runDir = resolveRunDir(nameOrRunDir);
  let state: TestbedState;
  try {
    state = readState(runDir);
  } catch (err) {
    const name = nameOrRunDir.includes('/') ? undefined : nameOrRunDir;
    if (!existsSync(runDir) && !(name && namespaceExists(names.labNamespace(name)))) {
      throw new Error(`no test bed '${nameOrRunDir}' (${(err as Error).message})`);
    }
    if (!name) throw err;
    // Without a state file only the run dir existed (the state is written before anything else is built).
    const lab = names.labNamespace(name);
    const problems: string[] = [];
    if (namespaceExists(lab)) {
      await terminate(pidsInNamespaces([lab]).get(lab) ?? []);
      await run(['ip', 'netns', 'del', lab], { check: false });
    }
    rmSync(runDir, { recursive: true, force: true });
    unregister(name, runDir);
    // Host namespaces cannot be told from someone else's by name alone: report, do not delete.
    const prefix = `${lab}-`;
    const candidates = existsSync('/run/netns')
      ? readdirSync('/run/netns').filter(
          (n) => n.startsWith(prefix) && /^[A-Za-z][A-Za-z0-9_]*$/.test(n.slice(prefix.length)),
        )
      : [];
    if (candidates.length > 0) {
      problems.push(
        `no state file, so these namespaces were left alone (they look like this bed's hosts; remove them with ip netns del if so): ${candidates.join(', ')}`,
      );
    }
    return problems;
  }
  return teardownState(state);
}

/**
 * Builds a bed, runs fn with it and always tears it down (also when fn throws, and on SIGINT/SIGTERM
 * while fn runs). For tests.
 */
export async function withTestbed<T>(
  source: Topology | string,
  fn: (tb: Testbed) => Promise<T>,
  opts: UpOptions = {},
): Promise<T> {
  const tb = await upTestbed(source, opts);
  const onSignal = (sig: NodeJS.Signals) => {
    void teardownState(tb.state).finally(() => {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      process.kill(process.pid, sig);
    });
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    return await fn(tb);
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await tb.down();
  }
}

export { CommandError };
