// The test bed's state file (<runDir>/state.json): everything that was built, so that separate CLI
// invocations (status, exec, move-host, down) and later tools (a migration plan writer) can find it.
import {
  existsSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  realpathSync,
  renameSync,
  writeFileSync,
} from 'node:fs';
import { join, resolve } from 'node:path';
import type { LinkKind, LinkSpec, Topology } from './topology.ts';

export const STATE_FILE = 'state.json';
export const STATE_VERSION = 1;

/** Which network a switch belongs to: the old one, the new one, or the tunnel switch between them. */
export type NetworkName = 'old' | 'new' | 'tunnel';
/** Where a host can be attached. */
export type HostNetwork = 'old' | 'new';

export interface PortPeer {
  /** Topology switch name ('T' for the tunnel switch). */
  switch: string;
  network: NetworkName;
  bridge: string;
  port: number;
}

export interface PortInfo {
  /** OpenFlow port number (ofport_request): the same on an old switch and its new counterpart. */
  no: number;
  /** Open vSwitch interface name (also the kernel interface for veth and host ports). */
  name: string;
  kind: 'host' | 'link' | 'tunnel';
  /** kind 'host': the host that plugs in here (attached only while it is in this network). */
  host?: string;
  /** kind 'link' | 'tunnel': the other end. */
  peer?: PortPeer;
  /** Started OpenFlow-administratively down (tunnel ports; links marked `blocked`). */
  startsDown?: boolean;
}

export interface SwitchInfo {
  /** Topology name (s1, ...); 'T' for the tunnel switch. */
  name: string;
  network: NetworkName;
  bridge: string;
  /** Datapath id, 16 hex digits (parseDpid() gives a bigint). */
  dpid: string;
  ports: PortInfo[];
}

export interface LinkEnd {
  switch: string;
  network: NetworkName;
  bridge: string;
  port: number;
  ifname: string;
}

export interface LinkInfo {
  /** 'old' / 'new' for switch-switch links, 'tunnel' for a link between T and an old or new switch. */
  network: NetworkName;
  kind: LinkKind;
  spec: LinkSpec;
  blocked: boolean;
  /** For tunnel links, `a` is the old/new switch and `b` the tunnel switch. */
  a: LinkEnd;
  b: LinkEnd;
  /**
   * Delay/jitter/loss done by the link emulator (no tc netem): a.ifname<->aIf and bIf<->b.ifname are veth
   * pairs and the emulator forwards between aIf and bIf.
   */
  emulated?: { aIf: string; bIf: string };
}

export interface HostInfo {
  name: string;
  /** Network namespace the host's processes run in. */
  namespace: string;
  /** Host side of its veth, inside `namespace` (eth0). */
  ifname: string;
  /** Switch side of its veth, inside the lab namespace, plugged into the switch of `network`. */
  switchIfname: string;
  ip: string;
  prefixLen: number;
  mac: string;
  /** Topology switch it hangs off (its old or new copy, per `network`). */
  switch: string;
  /** OpenFlow port on that switch (same number on old and new). */
  port: number;
  network: HostNetwork;
}

export interface RelayInfo {
  pid: number;
  /** Unix socket the switches connect to. */
  socket: string;
  /** host:port the relay forwards each connection to. */
  to: string;
}

export interface OvsInfo {
  /** Directory of the database, sockets, pid and log files (OVS_RUNDIR). */
  dir: string;
  dbSock: string;
  ovsdbCtl: string;
  vswitchdCtl: string;
  ovsdbPid?: number;
  vswitchdPid?: number;
}

export interface TestbedState {
  version: number;
  name: string;
  /** building -> up -> tearing-down (a bed left in 'building' was interrupted: `down` cleans it). */
  phase: 'building' | 'up' | 'tearing-down' | 'failed';
  runDir: string;
  createdAt: string;
  topologyFile?: string;
  topology: Topology;
  /** The namespace that holds ovsdb-server, ovs-vswitchd, the bridges and all switch-side interfaces. */
  labNamespace: string;
  /** Every namespace of the bed (lab first, then hosts). */
  namespaces: string[];
  ovs: OvsInfo;
  controller: {
    /** As configured: 'none', 'tcp:H:P' or 'unix:/path'. */
    spec: string;
    /** What the switches are told (unix:... ; the relay's socket for tcp). Absent for 'none'. */
    target?: string;
    relay?: RelayInfo;
  };
  tunnel: {
    bridge: string;
    dpid: string;
    encap: 'vlan';
    /** Port number of the tunnel port on every old and new switch. */
    switchPort: number;
  };
  switches: SwitchInfo[];
  links: LinkInfo[];
  hosts: HostInfo[];
  /** How delay, jitter and loss are applied (only set when some link has them). */
  shaper?: 'netem' | 'emulator';
  /** The link emulator process (runs in the lab namespace). */
  emulator?: { pid: number; config: string };
}

/** Base directory for run state: $VNM_RUN_DIR or /run/vnm. Test beds live in <base>/testbeds/<name>. */
export function runBase(): string {
  return process.env.VNM_RUN_DIR || '/run/vnm';
}

export function testbedsDir(): string {
  return join(runBase(), 'testbeds');
}

/** Default run directory of a bed. */
export function defaultRunDir(name: string): string {
  return join(testbedsDir(), name);
}

export function statePath(runDir: string): string {
  return join(runDir, STATE_FILE);
}

export function readState(runDir: string): TestbedState {
  const p = statePath(runDir);
  let text: string;
  try {
    text = readFileSync(p, 'utf8');
  } catch (err) {
    throw new Error(`no test bed state at ${p} (${(err as NodeJS.ErrnoException).code ?? err})`);
  }
  const s = JSON.parse(text) as TestbedState;
  if (s.version !== STATE_VERSION) throw new Error(`${p}: unsupported state version ${s.version}`);
  return s;
}

/** Writes the state atomically (temp file + rename). */
export function writeState(state: TestbedState): void {
  const p = statePath(state.runDir);
  const tmp = `${p}.${process.pid}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(state, null, 2)}\n`);
  renameSync(tmp, p);
}

/**
 * Resolves a bed name or a run directory to a run directory. A name is looked up under testbedsDir()
 * (a bed built with a custom --run-dir leaves a symlink there).
 */
export function resolveRunDir(nameOrRunDir: string): string {
  if (nameOrRunDir.includes('/')) return resolve(nameOrRunDir);
  const p = defaultRunDir(nameOrRunDir);
  try {
    return realpathSync(p);
  } catch {
    return p;
  }
}

export interface BedListing {
  name: string;
  runDir: string;
  phase?: TestbedState['phase'];
  error?: string;
}

/** The beds registered under testbedsDir() (with their phase, or why the state cannot be read). */
export function listTestbeds(): BedListing[] {
  const dir = testbedsDir();
  if (!existsSync(dir)) return [];
  const out: BedListing[] = [];
  for (const entry of readdirSync(dir).sort()) {
    const p = join(dir, entry);
    let runDir = p;
    try {
      if (lstatSync(p).isSymbolicLink()) runDir = realpathSync(p);
    } catch {
      out.push({ name: entry, runDir: p, error: 'dangling link' });
      continue;
    }
    try {
      const s = readState(runDir);
      out.push({ name: entry, runDir, phase: s.phase });
    } catch (err) {
      out.push({ name: entry, runDir, error: (err as Error).message });
    }
  }
  return out;
}

export function ensureDir(dir: string): void {
  mkdirSync(dir, { recursive: true });
}

export function parseDpid(hex: string): bigint {
  return BigInt(`0x${hex}`);
}

export function formatDpid(v: bigint): string {
  return v.toString(16).padStart(16, '0');
}
