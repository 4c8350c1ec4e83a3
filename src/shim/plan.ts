// The migration plan: which physical switches are the old and the new copy of each virtual switch, how
// ports map, where the tunnel switch is, the hosts, the tunnel encoding, the algorithm and how hosts move.
//
// File format (YAML or JSON; `vnm testbed plan FILE` writes one for a test bed):
//
//   version: 1
//   algorithm: asap                 # asap | alap (the controller's --algorithm flag overrides it)
//   blackoutMs: 0                   # default blackout of a host move (the VM's stop-and-copy time)
//   mover: { kind: testbed }        # | { kind: command, command: "virsh migrate {host} ...", timeoutMs: 60000 }
//                                   # | { kind: external, timeoutMs: 30000 }
//   tunnel: { encoding: vlan, managePorts: true, tags: { s1: { 1: 101 } } }   # tags optional
//   tunnelSwitch: { dpid: "0000000000030001", ports: { s1: { old: 1, new: 101 }, ... } }
//   switches:
//     - name: s1
//       dpid: 1                     # the virtual datapath id the app sees
//       ports:
//         - { port: 1, kind: host }
//         - { port: 2, kind: link, peer: { switch: s2, port: 1 } }
//       old: { dpid: "0000000000010001", tunnelPort: 100 }           # ports: { 1: 1, 2: 2 } (default identity)
//       new: { dpid: "0000000000020001", tunnelPort: 100, ports: { 1: 11 } }
//   hosts:
//     - { name: h1, mac: "02:00:00:00:00:01", ip: 10.0.0.1, switch: s1, port: 1 }
//
// Datapath ids: an integer, or a string of hex digits (with or without 0x, colons allowed).

import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import { z } from 'zod';
import { macToBytes } from '../openflow/buffer.ts';
import type { Algorithm, Side } from './model.ts';
import { allocateTags, encodingFor, type TunnelEncodingKind } from './tunnel.ts';

/** Virtual port numbers are carried in 16 metadata bits; 0xff00.. is reserved (CONTROLLER -> 0xfffd). */
export const MAX_VIRTUAL_PORT = 0xfeff;
/** Physical port numbers must be regular ports (below OFPP_MAX). */
const MAX_PHYSICAL_PORT = 0xfffffeff;

export interface PlanPort {
  port: number;
  kind: 'host' | 'link';
  name?: string;
  /** For link ports: the virtual switch and port at the other end. */
  peer?: { switch: string; port: number };
}

export interface PlanCopy {
  dpid: bigint;
  tunnelPort: number;
  /** Virtual port -> physical port, complete (identity where the file gave none). */
  ports: ReadonlyMap<number, number>;
}

export interface PlanSwitch {
  name: string;
  dpid: bigint;
  ports: PlanPort[];
  old: PlanCopy;
  new: PlanCopy;
  /** Host port -> tunnel tag (every host port has one). */
  tags: ReadonlyMap<number, number>;
}

export interface PlanHost {
  name: string;
  mac: string;
  ip?: string;
  switch: string;
  port: number;
}

export type MoverPlan =
  | { kind: 'testbed' }
  | { kind: 'command'; command: string; timeoutMs: number }
  | { kind: 'external'; timeoutMs: number };

export interface MigrationPlan {
  version: 1;
  algorithm: Algorithm;
  blackoutMs: number;
  mover: MoverPlan;
  tunnel: { encoding: TunnelEncodingKind; managePorts: boolean };
  tunnelSwitch: { dpid: bigint; ports: ReadonlyMap<string, { old: number; new: number }> };
  switches: PlanSwitch[];
  hosts: PlanHost[];
}

/** Placeholders a mover command template may use. */
export const MOVER_PLACEHOLDERS = [
  'host',
  'mac',
  'ip',
  'switch',
  'port',
  'from',
  'to',
  'fromDpid',
  'toDpid',
] as const;

export class PlanError extends Error {
  override readonly name = 'PlanError';
  constructor(
    readonly file: string,
    readonly problems: string[],
  ) {
    super(`${file}: invalid migration plan:\n  ${problems.join('\n  ')}`);
  }
}

// ---------------------------------------------------------------- schema (structure only)

const dpidSchema = z.union([z.number().int().nonnegative(), z.string().min(1)]);
const portNo = z.number().int().min(1);
const portMapSchema = z.record(z.string(), portNo);

const copySchema = z.strictObject({
  dpid: dpidSchema,
  tunnelPort: portNo,
  ports: portMapSchema.optional(),
});

const portSchema = z.strictObject({
  port: portNo,
  kind: z.enum(['host', 'link']),
  name: z.string().min(1).optional(),
  peer: z.strictObject({ switch: z.string().min(1), port: portNo }).optional(),
});

const moverSchema = z.discriminatedUnion('kind', [
  z.strictObject({ kind: z.literal('testbed') }),
  z.strictObject({
    kind: z.literal('command'),
    command: z.string().min(1),
    timeoutMs: z.number().int().positive().optional(),
  }),
  z.strictObject({ kind: z.literal('external'), timeoutMs: z.number().int().positive().optional() }),
]);

const planSchema = z.strictObject({
  version: z.literal(1),
  algorithm: z.enum(['asap', 'alap']).optional(),
  blackoutMs: z.number().int().nonnegative().optional(),
  mover: moverSchema.optional(),
  tunnel: z
    .strictObject({
      encoding: z.enum(['vlan']).optional(),
      managePorts: z.boolean().optional(),
      tags: z.record(z.string(), z.record(z.string(), z.number().int())).optional(),
    })
    .optional(),
  tunnelSwitch: z.strictObject({
    dpid: dpidSchema,
    ports: z.record(z.string(), z.strictObject({ old: portNo, new: portNo })),
  }),
  switches: z
    .array(
      z.strictObject({
        name: z.string().min(1),
        dpid: dpidSchema,
        ports: z.array(portSchema).min(1),
        old: copySchema,
        new: copySchema,
      }),
    )
    .min(1),
  hosts: z.array(
    z.strictObject({
      name: z.string().min(1),
      mac: z.string(),
      ip: z.string().optional(),
      switch: z.string().min(1),
      port: portNo,
    }),
  ),
});

type RawPlan = z.infer<typeof planSchema>;

function pathText(path: readonly PropertyKey[]): string {
  return (
    path
      .map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`))
      .join('')
      .replace(/^\./, '') || '(top)'
  );
}

/** "0x1", "0000000000010001", "00:00:00:00:00:01:00:01" or an integer -> bigint; undefined if malformed. */
export function parseDpid(v: number | string): bigint | undefined {
  if (typeof v === 'number') return Number.isSafeInteger(v) && v >= 0 ? BigInt(v) : undefined;
  const hex = v.trim().toLowerCase().replace(/^0x/, '').replaceAll(':', '');
  if (!/^[0-9a-f]{1,16}$/.test(hex)) return undefined;
  return BigInt(`0x${hex}`);
}

export function formatDpid(dpid: bigint): string {
  return dpid.toString(16).padStart(16, '0');
}

// ---------------------------------------------------------------- parse

/** Parse and validate a plan (YAML or JSON text). Throws PlanError listing every problem with its field path. */
export function parsePlan(text: string, file = 'plan'): MigrationPlan {
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (e) {
    throw new PlanError(file, [`not YAML/JSON: ${(e as Error).message}`]);
  }
  const r = planSchema.safeParse(doc);
  if (!r.success) {
    throw new PlanError(
      file,
      r.error.issues.map((i) => `${pathText(i.path)}: ${i.message}`),
    );
  }
  return buildPlan(r.data, file);
}

function buildPlan(raw: RawPlan, file: string): MigrationPlan {
  const problems: string[] = [];
  const bad = (path: readonly PropertyKey[], msg: string) => problems.push(`${pathText(path)}: ${msg}`);

  const physicalDpids = new Map<bigint, string>();
  const dpidAt = (v: number | string, path: (string | number)[], physical: boolean): bigint => {
    const d = parseDpid(v);
    if (d === undefined) {
      bad(path, `bad datapath id ${JSON.stringify(v)} (an integer, or hex digits)`);
      return -1n;
    }
    if (physical) {
      const prev = physicalDpids.get(d);
      if (prev) bad(path, `datapath id ${formatDpid(d)} already used at ${prev}`);
      else physicalDpids.set(d, pathText(path));
    }
    return d;
  };

  const names = new Set<string>();
  const vdpids = new Set<bigint>();
  const switches: PlanSwitch[] = [];
  const rawTags = raw.tunnel?.tags ?? {};

  raw.switches.forEach((s, i) => {
    const at = ['switches', i];
    if (names.has(s.name)) bad([...at, 'name'], `duplicate switch name "${s.name}"`);
    names.add(s.name);
    const dpid = dpidAt(s.dpid, [...at, 'dpid'], false);
    if (vdpids.has(dpid)) bad([...at, 'dpid'], `duplicate virtual datapath id ${formatDpid(dpid)}`);
    vdpids.add(dpid);

    const seen = new Set<number>();
    s.ports.forEach((p, j) => {
      if (p.port > MAX_VIRTUAL_PORT)
        bad([...at, 'ports', j, 'port'], `virtual port numbers go up to ${MAX_VIRTUAL_PORT}`);
      if (seen.has(p.port)) bad([...at, 'ports', j, 'port'], `duplicate port ${p.port}`);
      seen.add(p.port);
      if (p.kind === 'host' && p.peer) bad([...at, 'ports', j, 'peer'], 'a host port has no peer');
    });

    const copy = (side: Side): PlanCopy => {
      const c = s[side];
      const cat = [...at, side];
      const ports = new Map<number, number>();
      for (const [k, v] of Object.entries(c.ports ?? {})) {
        const vport = Number(k);
        if (!Number.isInteger(vport) || !seen.has(vport))
          bad([...cat, 'ports', k], `no virtual port ${k} on ${s.name}`);
        else if (v > MAX_PHYSICAL_PORT) bad([...cat, 'ports', k], `physical port ${v} is reserved`);
        else ports.set(vport, v);
      }
      for (const p of s.ports) if (!ports.has(p.port)) ports.set(p.port, p.port);
      const used = new Map<number, number>();
      for (const [v, p] of ports) {
        if (used.has(p))
          bad([...cat, 'ports'], `physical port ${p} mapped from virtual ports ${used.get(p)} and ${v}`);
        used.set(p, v);
      }
      if (used.has(c.tunnelPort))
        bad(
          [...cat, 'tunnelPort'],
          `tunnel port ${c.tunnelPort} is also virtual port ${used.get(c.tunnelPort)}'s`,
        );
      if (c.tunnelPort > MAX_PHYSICAL_PORT) bad([...cat, 'tunnelPort'], `port ${c.tunnelPort} is reserved`);
      return { dpid: dpidAt(c.dpid, [...cat, 'dpid'], true), tunnelPort: c.tunnelPort, ports };
    };
    const old = copy('old');
    const neu = copy('new');

    const hostPorts = s.ports.filter((p) => p.kind === 'host').map((p) => p.port);
    const explicit = new Map<number, number>();
    for (const [k, tag] of Object.entries(rawTags[s.name] ?? {})) {
      const vport = Number(k);
      if (!hostPorts.includes(vport)) bad(['tunnel', 'tags', s.name, k], `not a host port of ${s.name}`);
      else explicit.set(vport, tag);
    }
    let tags = new Map<number, number>();
    try {
      tags = allocateTags(hostPorts, explicit, encodingFor(raw.tunnel?.encoding ?? 'vlan').maxTag);
    } catch (e) {
      bad(['tunnel', 'tags', s.name], (e as Error).message);
    }
    switches.push({ name: s.name, dpid, ports: s.ports.map((p) => ({ ...p })), old, new: neu, tags });
  });
  for (const name of Object.keys(rawTags))
    if (!names.has(name)) bad(['tunnel', 'tags', name], `no switch "${name}"`);

  // Link peers point at link ports that point back.
  const byName = new Map(switches.map((s) => [s.name, s]));
  switches.forEach((s, i) => {
    s.ports.forEach((p, j) => {
      if (!p.peer) return;
      const path = ['switches', i, 'ports', j, 'peer'];
      const other = byName.get(p.peer.switch);
      const op = other?.ports.find((x) => x.port === p.peer!.port);
      if (!other || !op) bad(path, `no port ${p.peer.port} on switch "${p.peer.switch}"`);
      else if (op.kind !== 'link') bad(path, `${p.peer.switch} port ${p.peer.port} is not a link port`);
      else if (op.peer && (op.peer.switch !== s.name || op.peer.port !== p.port))
        bad(path, `${p.peer.switch} port ${p.peer.port} names another peer`);
    });
  });

  // Tunnel switch.
  const tdpid = dpidAt(raw.tunnelSwitch.dpid, ['tunnelSwitch', 'dpid'], true);
  const tports = new Map<string, { old: number; new: number }>();
  const tused = new Set<number>();
  for (const s of switches) {
    const e = raw.tunnelSwitch.ports[s.name];
    if (!e) {
      bad(['tunnelSwitch', 'ports'], `no ports for switch "${s.name}"`);
      continue;
    }
    for (const side of ['old', 'new'] as const) {
      if (tused.has(e[side])) bad(['tunnelSwitch', 'ports', s.name, side], `port ${e[side]} used twice`);
      tused.add(e[side]);
    }
    tports.set(s.name, { old: e.old, new: e.new });
  }
  for (const name of Object.keys(raw.tunnelSwitch.ports))
    if (!names.has(name)) bad(['tunnelSwitch', 'ports', name], `no switch "${name}"`);

  // Hosts.
  const hostNames = new Set<string>();
  const hostAt = new Set<string>();
  const hosts: PlanHost[] = raw.hosts.map((h, i) => {
    const at = ['hosts', i];
    if (hostNames.has(h.name)) bad([...at, 'name'], `duplicate host "${h.name}"`);
    hostNames.add(h.name);
    try {
      macToBytes(h.mac);
    } catch {
      bad([...at, 'mac'], `bad MAC address "${h.mac}"`);
    }
    const s = byName.get(h.switch);
    if (!s) bad([...at, 'switch'], `no switch "${h.switch}"`);
    else {
      const p = s.ports.find((x) => x.port === h.port);
      if (!p) bad([...at, 'port'], `no port ${h.port} on ${h.switch}`);
      else if (p.kind !== 'host') bad([...at, 'port'], `${h.switch} port ${h.port} is a link port`);
      const key = `${h.switch}:${h.port}`;
      if (hostAt.has(key)) bad([...at, 'port'], `another host already sits on ${h.switch} port ${h.port}`);
      hostAt.add(key);
    }
    const host: PlanHost = { name: h.name, mac: h.mac.toLowerCase(), switch: h.switch, port: h.port };
    if (h.ip !== undefined) host.ip = h.ip;
    return host;
  });

  const m = raw.mover ?? { kind: 'testbed' as const };
  let mover: MoverPlan;
  if (m.kind === 'command') {
    for (const [, name] of m.command.matchAll(/\{(\w+)\}/g)) {
      if (!(MOVER_PLACEHOLDERS as readonly string[]).includes(name!))
        bad(['mover', 'command'], `unknown placeholder {${name}} (known: ${MOVER_PLACEHOLDERS.join(', ')})`);
    }
    mover = { kind: 'command', command: m.command, timeoutMs: m.timeoutMs ?? 120_000 };
  } else if (m.kind === 'external') mover = { kind: 'external', timeoutMs: m.timeoutMs ?? 60_000 };
  else mover = { kind: 'testbed' };

  if (problems.length > 0) throw new PlanError(file, problems);
  return {
    version: 1,
    algorithm: raw.algorithm ?? 'asap',
    blackoutMs: raw.blackoutMs ?? 0,
    mover,
    tunnel: { encoding: raw.tunnel?.encoding ?? 'vlan', managePorts: raw.tunnel?.managePorts ?? true },
    tunnelSwitch: { dpid: tdpid, ports: tports },
    switches,
    hosts,
  };
}

/** The plan as a plain object in the file format (for writing plans and for the journal). */
export function planToObject(plan: MigrationPlan): Record<string, unknown> {
  const copy = (c: PlanCopy) => ({
    dpid: formatDpid(c.dpid),
    tunnelPort: c.tunnelPort,
    ports: Object.fromEntries([...c.ports].map(([v, p]) => [String(v), p])),
  });
  return {
    version: 1,
    algorithm: plan.algorithm,
    blackoutMs: plan.blackoutMs,
    mover: plan.mover,
    tunnel: {
      encoding: plan.tunnel.encoding,
      managePorts: plan.tunnel.managePorts,
      tags: Object.fromEntries(
        plan.switches.map((s) => [s.name, Object.fromEntries([...s.tags].map(([p, t]) => [String(p), t]))]),
      ),
    },
    tunnelSwitch: {
      dpid: formatDpid(plan.tunnelSwitch.dpid),
      ports: Object.fromEntries(plan.tunnelSwitch.ports),
    },
    switches: plan.switches.map((s) => ({
      name: s.name,
      dpid: formatDpid(s.dpid),
      ports: s.ports,
      old: copy(s.old),
      new: copy(s.new),
    })),
    hosts: plan.hosts,
  };
}

export function stringifyPlan(plan: MigrationPlan): string {
  return stringifyYaml(planToObject(plan));
}

// ---------------------------------------------------------------- lookups

export interface PlanIndex {
  byName: ReadonlyMap<string, PlanSwitch>;
  byVdpid: ReadonlyMap<bigint, PlanSwitch>;
  /** Physical dpid of an old or new copy -> its virtual switch and side. */
  byPhysical: ReadonlyMap<bigint, { vs: PlanSwitch; side: Side }>;
  host: ReadonlyMap<string, PlanHost>;
  /** "switchName:port" -> host. */
  hostAt: ReadonlyMap<string, PlanHost>;
}

const indexCache = new WeakMap<MigrationPlan, PlanIndex>();

export function planIndex(plan: MigrationPlan): PlanIndex {
  let ix = indexCache.get(plan);
  if (!ix) {
    const byPhysical = new Map<bigint, { vs: PlanSwitch; side: Side }>();
    for (const vs of plan.switches) {
      byPhysical.set(vs.old.dpid, { vs, side: 'old' });
      byPhysical.set(vs.new.dpid, { vs, side: 'new' });
    }
    ix = {
      byName: new Map(plan.switches.map((s) => [s.name, s])),
      byVdpid: new Map(plan.switches.map((s) => [s.dpid, s])),
      byPhysical,
      host: new Map(plan.hosts.map((h) => [h.name, h])),
      hostAt: new Map(plan.hosts.map((h) => [`${h.switch}:${h.port}`, h])),
    };
    indexCache.set(plan, ix);
  }
  return ix;
}

export function switchByVdpid(plan: MigrationPlan, vdpid: bigint): PlanSwitch | undefined {
  return planIndex(plan).byVdpid.get(vdpid);
}

export function hostOnPort(plan: MigrationPlan, vs: PlanSwitch, port: number): PlanHost | undefined {
  return planIndex(plan).hostAt.get(`${vs.name}:${port}`);
}

/** Host ports of `vs` that have a plan host (the ports whose traffic can cross the tunnel), ascending. */
export function tunnelledPorts(plan: MigrationPlan, vs: PlanSwitch): number[] {
  return vs.ports
    .filter((p) => p.kind === 'host' && hostOnPort(plan, vs, p.port))
    .map((p) => p.port)
    .sort((a, b) => a - b);
}

export function planPort(vs: PlanSwitch, port: number): PlanPort | undefined {
  return vs.ports.find((p) => p.port === port);
}

export function physicalPort(vs: PlanSwitch, side: Side, port: number): number {
  const p = vs[side].ports.get(port);
  if (p === undefined) throw new RangeError(`${vs.name} has no virtual port ${port}`);
  return p;
}

/** The virtual port behind a physical port of a copy (undefined: tunnel port or unmapped). */
export function virtualPortOf(vs: PlanSwitch, side: Side, physical: number): number | undefined {
  for (const [v, p] of vs[side].ports) if (p === physical) return v;
  return undefined;
}

export function tunnelTag(vs: PlanSwitch, port: number): number {
  const t = vs.tags.get(port);
  if (t === undefined) throw new RangeError(`${vs.name} port ${port} has no tunnel tag`);
  return t;
}
