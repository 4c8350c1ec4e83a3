// Scenario files: YAML in, a validated Scenario out. A scenario names a topology file (relative to the
// scenario), the controller apps, the algorithms to compare, the host migration order and blackout, the
// traffic, the timing of the phases and link model overrides. See docs/experiment.md for the format.
//
// Like the test bed's topology parser, every problem is collected and reported with
// FILE:LINE:COLUMN: field.path: message, e.g.
//   paper.yaml:14:17: traffic[1].from: unknown host 'h9' (hosts: h1, h2)
import { readFileSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import {
  describeLink,
  type LinkSpec,
  parseDuration,
  parseRate,
  parseTopology,
  type Topology,
  TopologyError,
} from '../testbed/topology.ts';
import {
  type Checker,
  formatIssue,
  type Issue,
  isMap,
  isScalar,
  isSeq,
  parseYamlChecked,
  type Seg,
  scalarString,
  typeName,
} from '../util/yaml-source.ts';
import { isNull, scalarValue, toPlain } from './yamlcheck.ts';

export const ALGORITHMS = ['none', 'asap', 'alap'] as const;
export type AlgorithmName = (typeof ALGORITHMS)[number];

export interface ScenarioApp {
  /** A built-in app name (src/apps) or a module path (resolved relative to the scenario file). */
  name: string;
  options: Record<string, unknown>;
}

export type TrafficKind = 'ping' | 'tcp' | 'udp' | 'dns';

interface TrafficBase {
  /** Label, unique in the scenario (default `<kind>-<from>-<to>`). */
  id: string;
  kind: TrafficKind;
  /** Ping/iperf3 client, DNS client. */
  from: string;
  /** Ping target, iperf3 server, DNS server. */
  to: string;
  /** Run length; without it the traffic runs from the start of `before` to the end of `after-finalize`. */
  durationMs?: number;
  /**
   * Traffic of one round runs together; each round is a separate pass of the whole timeline on a fresh
   * test bed (default 1). Use rounds to keep a saturating TCP stream from disturbing ping and DNS.
   */
  round: number;
}

export interface PingTraffic extends TrafficBase {
  kind: 'ping';
  intervalMs: number;
  sizeBytes?: number;
}

export interface IperfTraffic extends TrafficBase {
  kind: 'tcp' | 'udp';
  /** Target bit rate (bits/s); udp defaults to 10 Mbit/s, tcp to unlimited. */
  rateBps?: number;
  parallel: number;
  reverse: boolean;
  /** Report interval (iperf3 -i), >= 100 ms. */
  intervalMs: number;
  port?: number;
}

export interface DnsTraffic extends TrafficBase {
  kind: 'dns';
  qps: number;
  timeoutMs: number;
  port?: number;
}

export type Traffic = PingTraffic | IperfTraffic | DnsTraffic;

/** A partial link: fields given override the topology's. */
export interface LinkOverride {
  kind?: 'patch' | 'veth';
  delayUs?: number;
  jitterUs?: number;
  rateBps?: number;
  lossPct?: number;
}

export interface Timing {
  /** Quiet time after convergence, before traffic starts. */
  settleMs: number;
  /** Traffic before the first migration action (phase `before`). */
  beforeMs: number;
  /** After prepare, before the first host move (phase `prepared`, only when > 0). */
  preparedMs: number;
  /** After each host step but the last (phases `one-migrated`, `migrated-2`, ...). */
  betweenMs: number;
  /** After the last host step, before finalize (phase `all-migrated`). */
  beforeFinalizeMs: number;
  /** After finalize (phase `after-finalize`). */
  afterMs: number;
  /** Longest wait for switches to connect and for every traffic pair to answer a ping. */
  convergeTimeoutMs: number;
}

export interface ShortOptions {
  /** Phase lengths with --short (each at most this, default 2 s). */
  phaseMs: number;
  /** DNS rate cap with --short (default 200 q/s). */
  dnsQps: number;
}

export interface Scenario {
  name: string;
  description?: string;
  /** The scenario file (absolute), when loaded from one. */
  file?: string;
  /** Published figures to show beside ours ('paper': the seed paper's). */
  reference?: 'paper';
  topologyFile: string;
  topology: Topology;
  apps: ScenarioApp[];
  algorithms: AlgorithmName[];
  migration: {
    /** Host steps in order; each step moves one or more hosts at once. */
    order: string[][];
    blackoutMs: number;
  };
  links: { tunnel?: LinkOverride; switch?: LinkOverride };
  traffic: Traffic[];
  timing: Timing;
  short: ShortOptions;
}

export class ScenarioError extends Error {
  readonly issues: Issue[];
  constructor(issues: Issue[]) {
    const n = issues.length;
    super(
      `invalid scenario (${n} problem${n === 1 ? '' : 's'}):\n${issues.map((i) => `  ${formatIssue(i)}`).join('\n')}`,
    );
    this.name = 'ScenarioError';
    this.issues = issues;
  }
}

export const DEFAULT_TIMING: Timing = {
  settleMs: 1000,
  beforeMs: 5000,
  preparedMs: 0,
  betweenMs: 5000,
  beforeFinalizeMs: 5000,
  afterMs: 5000,
  convergeTimeoutMs: 30_000,
};

const TOP_KEYS = [
  'name',
  'description',
  'reference',
  'topology',
  'apps',
  'algorithms',
  'migration',
  'links',
  'traffic',
  'timing',
  'short',
] as const;
const TIMING_KEYS = {
  settle: 'settleMs',
  before: 'beforeMs',
  prepared: 'preparedMs',
  between: 'betweenMs',
  beforeFinalize: 'beforeFinalizeMs',
  after: 'afterMs',
  convergeTimeout: 'convergeTimeoutMs',
} as const satisfies Record<string, keyof Timing>;
const LINK_KEYS = ['kind', 'delay', 'jitter', 'rate', 'loss'] as const;
const TRAFFIC_KEYS: Record<TrafficKind, readonly string[]> = {
  ping: ['kind', 'id', 'from', 'to', 'duration', 'round', 'interval', 'size'],
  tcp: ['kind', 'id', 'from', 'to', 'duration', 'round', 'rate', 'parallel', 'reverse', 'interval', 'port'],
  udp: ['kind', 'id', 'from', 'to', 'duration', 'round', 'rate', 'parallel', 'reverse', 'interval', 'port'],
  dns: ['kind', 'id', 'from', 'to', 'duration', 'round', 'qps', 'timeout', 'port'],
};

export interface ParseScenarioOptions {
  /**
   * Loads the topology a scenario names (path as written in the scenario, resolved against the scenario's
   * directory by the caller). Returns the topology, or throws (a TopologyError's issues are kept as they are).
   */
  loadTopology?: (path: string) => { topology: Topology; file: string };
  /** Built-in app names: an app that is neither one of them nor a path is reported. */
  knownApps?: readonly string[];
}

/** Milliseconds from a duration scalar ('5s', '250ms', 0); undefined when malformed. */
function durationMs(node: unknown): number | undefined {
  const v = scalarValue(node);
  if (typeof v === 'number') return v === 0 ? 0 : undefined;
  if (typeof v !== 'string') return undefined;
  const us = parseDuration(v);
  return us === undefined ? undefined : us / 1000;
}

function getDuration(
  c: Checker,
  e: Map<string, { value: unknown }>,
  key: string,
  path: readonly Seg[],
  opts: { min?: number; positive?: boolean } = {},
): number | undefined {
  const x = e.get(key);
  if (!x) return undefined;
  const ms = durationMs(x.value);
  if (ms === undefined) {
    c.report(x.value, [...path, key], `bad duration ${typeName(x.value)} (expected e.g. 500ms, 5s)`);
    return undefined;
  }
  if (opts.positive && ms <= 0) {
    c.report(x.value, [...path, key], 'must be more than 0');
    return undefined;
  }
  if (opts.min !== undefined && ms < opts.min) {
    c.report(x.value, [...path, key], `must be at least ${opts.min} ms`);
    return undefined;
  }
  return ms;
}

function getRate(
  c: Checker,
  e: Map<string, { value: unknown }>,
  key: string,
  path: readonly Seg[],
): number | undefined {
  const x = e.get(key);
  if (!x) return undefined;
  const s = scalarString(x.value);
  const bps = s === undefined ? undefined : parseRate(s);
  if (bps === undefined)
    c.report(
      x.value,
      [...path, key],
      `bad rate ${typeName(x.value)} (expected e.g. 100mbit, 1gbit, 500kbit)`,
    );
  return bps;
}

/** The scalar at `key` when `accept` takes it; otherwise reports `expected <what>, got <it>`. */
function getScalar<T>(
  c: Checker,
  e: Map<string, { value: unknown }>,
  key: string,
  path: readonly Seg[],
  what: string,
  accept: (v: unknown) => v is T,
): T | undefined {
  const x = e.get(key);
  if (!x) return undefined;
  const v = scalarValue(x.value);
  if (!accept(v)) {
    c.report(x.value, [...path, key], `expected ${what}, got ${typeName(x.value)}`);
    return undefined;
  }
  return v;
}

/** A number in min..max at `key`; with `kind` 'integer', a whole one. */
function getNumber(
  c: Checker,
  e: Map<string, { value: unknown }>,
  key: string,
  path: readonly Seg[],
  min: number,
  max: number,
  kind: 'integer' | 'number' = 'number',
): number | undefined {
  const whole = kind === 'integer';
  const ok = (v: unknown): v is number =>
    typeof v === 'number' && (whole ? Number.isInteger(v) : Number.isFinite(v)) && v >= min && v <= max;
  return getScalar(c, e, key, path, `${whole ? 'an integer' : 'a number'} ${min}..${max}`, ok);
}

function getBool(
  c: Checker,
  e: Map<string, { value: unknown }>,
  key: string,
  path: readonly Seg[],
): boolean | undefined {
  return getScalar(c, e, key, path, 'true or false', (v): v is boolean => typeof v === 'boolean');
}

function parseLinkOverride(c: Checker, node: unknown, path: readonly Seg[]): LinkOverride | undefined {
  if (!isMap(node)) {
    c.report(node, path, `expected a mapping like { delay: 1ms, rate: 100mbit }, got ${typeName(node)}`);
    return undefined;
  }
  const e = c.entries(node, path, LINK_KEYS);
  const out: LinkOverride = {};
  const k = e.get('kind');
  if (k) {
    const v = scalarString(k.value);
    if (v === 'patch' || v === 'veth') out.kind = v;
    else c.report(k.value, [...path, 'kind'], `expected 'patch' or 'veth', got ${typeName(k.value)}`);
  }
  const d = getDuration(c, e, 'delay', path);
  if (d !== undefined) out.delayUs = Math.round(d * 1000);
  const j = getDuration(c, e, 'jitter', path);
  if (j !== undefined) out.jitterUs = Math.round(j * 1000);
  const r = e.get('rate');
  if (r) {
    // `rate: 0` / `rate: none` removes a rate limit.
    const s = scalarString(r.value);
    if (s === '0' || s === 'none') out.rateBps = 0;
    else {
      const bps = getRate(c, e, 'rate', path);
      if (bps !== undefined) out.rateBps = bps;
    }
  }
  const l = e.get('loss');
  if (l) {
    const v = scalarValue(l.value);
    const m = /^\s*(\d+(?:\.\d+)?)\s*%?\s*$/.exec(String(v ?? ''));
    const pct = m ? Number(m[1]) : Number.NaN;
    if (!(pct >= 0 && pct <= 100))
      c.report(
        l.value,
        [...path, 'loss'],
        `bad loss ${typeName(l.value)} (expected a percentage, e.g. 0.5%)`,
      );
    else out.lossPct = pct;
  }
  if (out.kind === 'patch' && (out.delayUs || out.rateBps || out.lossPct || out.jitterUs)) {
    c.report(node, path, 'a patch link cannot be shaped (delay, jitter, rate, loss need kind: veth)');
  }
  return out;
}

/** Applies a link override: shaping implies a veth; zero values remove a field. */
export function applyLinkOverride(base: LinkSpec, over: LinkOverride | undefined): LinkSpec {
  if (!over) return { ...base };
  const shapedOver = !!(over.delayUs || over.rateBps || over.lossPct || over.jitterUs);
  const kind = over.kind ?? (shapedOver ? 'veth' : base.kind);
  const merged: LinkSpec = kind === base.kind ? { ...base, kind } : { kind };
  for (const f of ['delayUs', 'jitterUs', 'rateBps', 'lossPct'] as const) {
    const v = over[f];
    if (v === undefined) continue;
    if (v === 0) delete merged[f];
    else merged[f] = v;
  }
  if (!merged.delayUs) delete merged.jitterUs;
  if (merged.kind === 'patch') return { kind: 'patch' };
  return merged;
}

function hostList(t: Topology): string {
  return t.hosts.map((h) => h.name).join(', ');
}

/**
 * Parses and validates a scenario. Pure except for `opts.loadTopology` (which the caller supplies; without
 * it host names are not checked and the topology is left empty).
 * @throws ScenarioError listing every problem with file, line, column and field path.
 */
export function parseScenario(
  text: string,
  fileName = '<scenario>',
  opts: ParseScenarioOptions = {},
): Scenario {
  const { checker: c, root, syntaxOk } = parseYamlChecked(text, fileName);
  if (!syntaxOk) throw new ScenarioError(c.issues);
  if (!isMap(root)) {
    c.report(
      root,
      [],
      `expected a mapping at the top (name, topology, apps, traffic, ...), got ${typeName(root)}`,
    );
    throw new ScenarioError(c.issues);
  }
  const top = c.entries(root, [], TOP_KEYS);

  // name, description, reference
  let name = '';
  const nameE = top.get('name');
  if (!nameE) c.report(root, ['name'], 'missing (the scenario name, e.g. name: paper)');
  else {
    const v = scalarString(nameE.value);
    if (v === undefined || !/^[A-Za-z][A-Za-z0-9_.-]{0,63}$/.test(v))
      c.report(
        nameE.value,
        ['name'],
        `bad name ${typeName(nameE.value)}: letters, digits, '_', '-', '.', starting with a letter`,
      );
    else name = v;
  }
  let description: string | undefined;
  const descE = top.get('description');
  if (descE) {
    const v = scalarString(descE.value);
    if (v === undefined)
      c.report(descE.value, ['description'], `expected text, got ${typeName(descE.value)}`);
    else description = v;
  }
  let reference: 'paper' | undefined;
  const refE = top.get('reference');
  if (refE) {
    const v = scalarString(refE.value);
    if (v === 'paper') reference = 'paper';
    else if (!isNull(refE.value))
      c.report(
        refE.value,
        ['reference'],
        `expected 'paper' (the seed paper's figures), got ${typeName(refE.value)}`,
      );
  }

  // topology
  let topology: Topology | undefined;
  let topologyFile = '';
  const topoE = top.get('topology');
  if (!topoE) c.report(root, ['topology'], 'missing (a topology file, relative to this scenario)');
  else {
    const v = scalarString(topoE.value);
    if (v === undefined || v.trim() === '')
      c.report(topoE.value, ['topology'], `expected a file path, got ${typeName(topoE.value)}`);
    else if (opts.loadTopology) {
      try {
        const loaded = opts.loadTopology(v);
        topology = loaded.topology;
        topologyFile = loaded.file;
      } catch (err) {
        if (err instanceof TopologyError) {
          c.report(
            topoE.value,
            ['topology'],
            `the topology file is invalid (${err.issues.length} problem(s), below)`,
          );
          for (const i of err.issues) c.issues.push({ ...i });
        } else c.report(topoE.value, ['topology'], err instanceof Error ? err.message : String(err));
      }
    } else topologyFile = v;
  }
  const hostNames = new Set(topology?.hosts.map((h) => h.name) ?? []);
  const checkHost = (node: unknown, path: readonly Seg[]): string | undefined => {
    const v = scalarString(node);
    if (v === undefined) {
      c.report(node, path, `expected a host name, got ${typeName(node)}`);
      return undefined;
    }
    if (topology && !hostNames.has(v)) {
      c.report(node, path, `unknown host '${v}' (hosts: ${hostList(topology)})`);
      return undefined;
    }
    return v;
  };

  // apps
  const apps: ScenarioApp[] = [];
  const appsE = top.get('apps');
  if (!appsE || isNull(appsE.value))
    c.report(appsE?.value ?? root, ['apps'], 'missing (at least one controller app)');
  else if (!isSeq(appsE.value))
    c.report(
      appsE.value,
      ['apps'],
      `expected a list of apps (e.g. [path-flipper]), got ${typeName(appsE.value)}`,
    );
  else {
    appsE.value.items.forEach((item, i) => {
      const path: Seg[] = ['apps', i];
      let appName: string | undefined;
      let nameNode: unknown = item;
      let options: Record<string, unknown> = {};
      if (isScalar(item)) appName = scalarString(item);
      else if (isMap(item)) {
        const e = c.entries(item, path, ['name', 'options']);
        const n = e.get('name');
        if (!n) {
          c.report(item, [...path, 'name'], 'missing (the app: a built-in name or a module path)');
          return;
        }
        nameNode = n.value;
        appName = scalarString(n.value);
        const o = e.get('options');
        if (o && !isNull(o.value)) {
          if (!isMap(o.value))
            c.report(
              o.value,
              [...path, 'options'],
              `expected a mapping of options, got ${typeName(o.value)}`,
            );
          else options = toPlain(o.value) as Record<string, unknown>;
        }
      }
      if (appName === undefined) {
        c.report(
          nameNode,
          path,
          `expected an app name or { name: APP, options: {...} }, got ${typeName(item)}`,
        );
        return;
      }
      const isPath = appName.includes('/') || /\.(ts|js|mjs)$/.test(appName);
      if (!isPath && opts.knownApps && !opts.knownApps.includes(appName)) {
        c.report(
          nameNode,
          [...path, 'name'],
          `unknown app '${appName}' (built-in apps: ${opts.knownApps.join(', ')})`,
        );
        return;
      }
      apps.push({ name: appName, options });
    });
    if (appsE.value.items.length === 0) c.report(appsE.value, ['apps'], 'at least one app is needed');
  }

  // algorithms
  let algorithms: AlgorithmName[] = [...ALGORITHMS];
  const algE = top.get('algorithms');
  if (algE) {
    if (!isSeq(algE.value))
      c.report(
        algE.value,
        ['algorithms'],
        `expected a list like [none, asap, alap], got ${typeName(algE.value)}`,
      );
    else {
      algorithms = [];
      algE.value.items.forEach((item, i) => {
        const v = scalarString(item);
        if (v === undefined || !(ALGORITHMS as readonly string[]).includes(v))
          c.report(
            item,
            ['algorithms', i],
            `expected one of ${ALGORITHMS.join(', ')}, got ${typeName(item)}`,
          );
        else if (algorithms.includes(v as AlgorithmName))
          c.report(item, ['algorithms', i], `'${v}' is listed twice`);
        else algorithms.push(v as AlgorithmName);
      });
      if (algE.value.items.length === 0)
        c.report(algE.value, ['algorithms'], 'at least one algorithm is needed');
    }
  }

  // migration
  const order: string[][] = [];
  let blackoutMs = topology?.blackoutMs ?? 0;
  const migE = top.get('migration');
  const migrates = algorithms.some((a) => a !== 'none');
  if (!migE) {
    if (migrates) c.report(root, ['migration'], 'missing (migration: { order: [h1, h2], blackout: 100ms })');
  } else if (!isMap(migE.value))
    c.report(
      migE.value,
      ['migration'],
      `expected { order: [...], blackout: ... }, got ${typeName(migE.value)}`,
    );
  else {
    const e = c.entries(migE.value, ['migration'], ['order', 'blackout']);
    const b = getDuration(c, e, 'blackout', ['migration']);
    if (b !== undefined) blackoutMs = b;
    const o = e.get('order');
    if (!o) c.report(migE.value, ['migration', 'order'], 'missing (the hosts in the order they move)');
    else if (!isSeq(o.value))
      c.report(
        o.value,
        ['migration', 'order'],
        `expected a list of hosts (or lists of hosts), got ${typeName(o.value)}`,
      );
    else {
      const seen = new Map<string, unknown>();
      o.value.items.forEach((item, i) => {
        const path: Seg[] = ['migration', 'order', i];
        const step: string[] = [];
        const one = (node: unknown, p: Seg[]) => {
          const h = checkHost(node, p);
          if (h === undefined) return;
          if (seen.has(h)) {
            c.report(node, p, `host '${h}' moves twice (first at line ${c.line(seen.get(h))})`);
            return;
          }
          seen.set(h, node);
          step.push(h);
        };
        if (isSeq(item)) {
          if (item.items.length === 0) c.report(item, path, 'an empty step');
          item.items.forEach((n, j) => {
            one(n, [...path, j]);
          });
        } else one(item, path);
        if (step.length > 0) order.push(step);
      });
      if (topology && migrates) {
        const missing = topology.hosts.map((h) => h.name).filter((h) => !seen.has(h));
        if (missing.length > 0)
          c.report(
            o.value,
            ['migration', 'order'],
            `every host must move before finalize; missing: ${missing.join(', ')}`,
          );
      }
    }
  }
  if (migrates && order.length === 0 && migE && isMap(migE.value) && !c.issues.length)
    c.report(migE.value, ['migration', 'order'], 'no host to move');

  // links
  const links: Scenario['links'] = {};
  const linksE = top.get('links');
  if (linksE && !isNull(linksE.value)) {
    if (!isMap(linksE.value))
      c.report(
        linksE.value,
        ['links'],
        `expected { tunnel: {...}, switch: {...} }, got ${typeName(linksE.value)}`,
      );
    else {
      const e = c.entries(linksE.value, ['links'], ['tunnel', 'switch']);
      for (const k of ['tunnel', 'switch'] as const) {
        const x = e.get(k);
        if (!x) continue;
        const l = parseLinkOverride(c, x.value, ['links', k]);
        if (l) links[k] = l;
      }
    }
  }

  // traffic
  const traffic: Traffic[] = [];
  const trE = top.get('traffic');
  if (!trE || isNull(trE.value))
    c.report(trE?.value ?? root, ['traffic'], 'missing (at least one ping, tcp, udp or dns)');
  else if (!isSeq(trE.value))
    c.report(
      trE.value,
      ['traffic'],
      `expected a list like [{ kind: ping, from: h1, to: h2 }], got ${typeName(trE.value)}`,
    );
  else {
    const ids = new Map<string, unknown>();
    trE.value.items.forEach((item, i) => {
      const path: Seg[] = ['traffic', i];
      if (!isMap(item)) {
        c.report(
          item,
          path,
          `expected { kind: ping|tcp|udp|dns, from: HOST, to: HOST, ... }, got ${typeName(item)}`,
        );
        return;
      }
      const kindE = item.items.find((p) => scalarString(p.key) === 'kind');
      const kindV = kindE ? scalarString(kindE.value) : undefined;
      if (!kindE) {
        c.report(item, [...path, 'kind'], 'missing (ping, tcp, udp or dns)');
        return;
      }
      if (kindV !== 'ping' && kindV !== 'tcp' && kindV !== 'udp' && kindV !== 'dns') {
        c.report(
          kindE.value,
          [...path, 'kind'],
          `expected ping, tcp, udp or dns, got ${typeName(kindE.value)}`,
        );
        return;
      }
      const kind: TrafficKind = kindV;
      const e = c.entries(item, path, TRAFFIC_KEYS[kind]);
      const before = c.issues.length;
      const fromE = e.get('from');
      const toE = e.get('to');
      if (!fromE)
        c.report(item, [...path, 'from'], `missing (the ${kind === 'dns' ? 'DNS client' : 'sending host'})`);
      if (!toE)
        c.report(item, [...path, 'to'], `missing (the ${kind === 'dns' ? 'DNS server' : 'receiving host'})`);
      const from = fromE ? checkHost(fromE.value, [...path, 'from']) : undefined;
      const to = toE ? checkHost(toE.value, [...path, 'to']) : undefined;
      if (from !== undefined && from === to)
        c.report(toE!.value, [...path, 'to'], `same host as 'from' (${from})`);
      const duration = getDuration(c, e, 'duration', path, { positive: true });
      const round = getNumber(c, e, 'round', path, 1, 100, 'integer') ?? 1;
      let id = `${kind}-${from ?? '?'}-${to ?? '?'}`;
      const idE = e.get('id');
      if (idE) {
        const v = scalarString(idE.value);
        if (v === undefined || !/^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(v))
          c.report(
            idE.value,
            [...path, 'id'],
            `bad id ${typeName(idE.value)} (letters, digits, '_', '-', '.')`,
          );
        else id = v;
      }
      let t: Traffic | undefined;
      if (kind === 'ping') {
        const interval = getDuration(c, e, 'interval', path, { min: 2 }) ?? 10;
        const size = getNumber(c, e, 'size', path, 0, 65_000, 'integer');
        const p: PingTraffic = { id, kind, from: from ?? '', to: to ?? '', round, intervalMs: interval };
        if (size !== undefined) p.sizeBytes = size;
        t = p;
      } else if (kind === 'tcp' || kind === 'udp') {
        const rate = getRate(c, e, 'rate', path);
        const interval = getDuration(c, e, 'interval', path, { min: 100 }) ?? 200;
        const parallel = getNumber(c, e, 'parallel', path, 1, 32, 'integer') ?? 1;
        const reverse = getBool(c, e, 'reverse', path) ?? false;
        const port = getNumber(c, e, 'port', path, 1, 65535, 'integer');
        const p: IperfTraffic = {
          id,
          kind,
          from: from ?? '',
          to: to ?? '',
          round,
          parallel,
          reverse,
          intervalMs: interval,
        };
        if (rate !== undefined) p.rateBps = rate;
        else if (kind === 'udp') p.rateBps = 10_000_000;
        if (port !== undefined) p.port = port;
        t = p;
      } else {
        const qps = getNumber(c, e, 'qps', path, 1, 100_000) ?? 1000;
        const timeout = getDuration(c, e, 'timeout', path, { positive: true }) ?? 1000;
        const port = getNumber(c, e, 'port', path, 1, 65535, 'integer');
        const p: DnsTraffic = { id, kind, from: from ?? '', to: to ?? '', round, qps, timeoutMs: timeout };
        if (port !== undefined) p.port = port;
        t = p;
      }
      if (duration !== undefined) t.durationMs = duration;
      if (c.issues.length !== before) return;
      const prev = ids.get(t.id);
      if (prev !== undefined) {
        c.report(
          idE?.value ?? item,
          [...path, 'id'],
          `duplicate traffic id '${t.id}' (first at line ${c.line(prev)}; set id:)`,
        );
        return;
      }
      ids.set(t.id, item);
      traffic.push(t);
    });
    if (trE.value.items.length === 0) c.report(trE.value, ['traffic'], 'at least one traffic item is needed');
  }

  // timing
  const timing: Timing = { ...DEFAULT_TIMING };
  const tiE = top.get('timing');
  if (tiE && !isNull(tiE.value)) {
    if (!isMap(tiE.value))
      c.report(
        tiE.value,
        ['timing'],
        `expected { before: 5s, between: 5s, ... }, got ${typeName(tiE.value)}`,
      );
    else {
      const e = c.entries(tiE.value, ['timing'], Object.keys(TIMING_KEYS));
      for (const [k, f] of Object.entries(TIMING_KEYS)) {
        const positive = k === 'convergeTimeout';
        const v = getDuration(c, e, k, ['timing'], { positive });
        if (v !== undefined) timing[f] = v;
      }
    }
  }

  // short
  const short: ShortOptions = { phaseMs: 2000, dnsQps: 200 };
  const shE = top.get('short');
  if (shE && !isNull(shE.value)) {
    if (!isMap(shE.value))
      c.report(shE.value, ['short'], `expected { phase: 2s, dnsQps: 200 }, got ${typeName(shE.value)}`);
    else {
      const e = c.entries(shE.value, ['short'], ['phase', 'dnsQps']);
      const p = getDuration(c, e, 'phase', ['short'], { positive: true });
      if (p !== undefined) short.phaseMs = p;
      const q = getNumber(c, e, 'dnsQps', ['short'], 1, 100_000);
      if (q !== undefined) short.dnsQps = q;
    }
  }

  if (c.issues.length > 0) {
    c.issues.sort(
      (x, y) =>
        (x.file === y.file ? 0 : x.file === fileName ? -1 : 1) || x.line - y.line || x.column - y.column,
    );
    throw new ScenarioError(c.issues);
  }
  const scenario: Scenario = {
    name,
    topologyFile,
    topology: topology ?? emptyTopology(),
    apps,
    algorithms,
    migration: { order, blackoutMs },
    links,
    traffic,
    timing,
    short,
  };
  if (description !== undefined) scenario.description = description;
  if (reference !== undefined) scenario.reference = reference;
  return scenario;
}

function emptyTopology(): Topology {
  return {
    name: 'none',
    switches: [],
    links: [],
    hosts: [],
    link: { kind: 'patch' },
    tunnel: { encap: 'vlan', link: { kind: 'patch' }, port: 100 },
    controller: { kind: 'none' },
    dpidPrefix: 0,
    blackoutMs: 0,
  };
}

/** Reads a scenario file; its topology path is resolved against the scenario's directory. */
export function loadScenarioFile(file: string, opts: { knownApps?: readonly string[] } = {}): Scenario {
  const abs = resolve(file);
  let text: string;
  try {
    text = readFileSync(abs, 'utf8');
  } catch (err) {
    throw new Error(`cannot read scenario file ${file}: ${(err as NodeJS.ErrnoException).code ?? err}`);
  }
  const dir = dirname(abs);
  const s = parseScenario(text, file, {
    ...opts,
    loadTopology: (p) => {
      const tfile = isAbsolute(p) ? p : resolve(dir, p);
      let ttext: string;
      try {
        ttext = readFileSync(tfile, 'utf8');
      } catch (err) {
        throw new Error(`cannot read topology file ${tfile}: ${(err as NodeJS.ErrnoException).code ?? err}`);
      }
      return { topology: parseTopology(ttext, tfile), file: tfile };
    },
  });
  s.file = abs;
  // App module paths are relative to the scenario file.
  for (const a of s.apps)
    if ((a.name.startsWith('./') || a.name.startsWith('../')) && !isAbsolute(a.name))
      a.name = resolve(dir, a.name);
  return s;
}

export interface ScenarioOverrides {
  algorithms?: AlgorithmName[];
  /** Tunnel link one-way delay (µs) per tunnel link; 0 removes it. */
  tunnelDelayUs?: number;
  /** Tunnel link rate (bits/s); 0 removes it. */
  tunnelRateBps?: number;
  /** Shorten every phase to short.phaseMs, cap DNS at short.dnsQps, run all traffic in one round. */
  short?: boolean;
}

/** A copy of the scenario with command-line overrides applied. */
export function applyOverrides(s: Scenario, o: ScenarioOverrides): Scenario {
  const out: Scenario = structuredClone(s);
  if (o.algorithms && o.algorithms.length > 0) out.algorithms = [...o.algorithms];
  if (o.tunnelDelayUs !== undefined || o.tunnelRateBps !== undefined) {
    const t: LinkOverride = { ...(out.links.tunnel ?? {}) };
    if (o.tunnelDelayUs !== undefined) t.delayUs = o.tunnelDelayUs;
    if (o.tunnelRateBps !== undefined) t.rateBps = o.tunnelRateBps;
    if (t.kind === 'patch' && (t.delayUs || t.rateBps)) t.kind = 'veth';
    out.links.tunnel = t;
  }
  if (o.short) {
    const cap = (v: number) => Math.min(v, out.short.phaseMs);
    out.timing.beforeMs = cap(out.timing.beforeMs);
    out.timing.preparedMs = cap(out.timing.preparedMs);
    out.timing.betweenMs = cap(out.timing.betweenMs);
    out.timing.beforeFinalizeMs = cap(out.timing.beforeFinalizeMs);
    out.timing.afterMs = cap(out.timing.afterMs);
    out.timing.settleMs = Math.min(out.timing.settleMs, 500);
    for (const t of out.traffic) {
      // One pass per algorithm: every traffic item runs together (a quick check, not a measurement).
      t.round = 1;
      if (t.kind === 'dns') t.qps = Math.min(t.qps, out.short.dnsQps);
      // A fixed duration shrinks with the phases (the whole timeline is shorter).
      if (t.durationMs !== undefined) delete t.durationMs;
    }
  }
  return out;
}

/** The topology with the scenario's link overrides applied (what the test bed is built from). */
export function effectiveTopology(s: Scenario, bedName?: string): Topology {
  const t: Topology = structuredClone(s.topology);
  if (bedName) t.name = bedName;
  if (s.links.switch) {
    t.link = applyLinkOverride(t.link, s.links.switch);
    for (const l of t.links) l.link = applyLinkOverride(l.link, s.links.switch);
  }
  if (s.links.tunnel) t.tunnel.link = applyLinkOverride(t.tunnel.link, s.links.tunnel);
  return t;
}

/** The rounds of a scenario's traffic, ascending (each a separate pass of the timeline). */
export function trafficRounds(s: Scenario): number[] {
  return [...new Set(s.traffic.map((t) => t.round))].sort((a, b) => a - b);
}

/** One line per link class, e.g. `switch-switch: patch; tunnel: veth delay 1ms rate 100mbit`. */
export function describeLinkModel(t: Topology): { switch: string; tunnel: string } {
  const kinds = new Set(t.links.map((l) => describeLink(l.link)));
  return {
    switch: kinds.size === 0 ? describeLink(t.link) : [...kinds].join(' / '),
    tunnel: describeLink(t.tunnel.link),
  };
}
