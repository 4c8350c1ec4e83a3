// Topology files: YAML in, a validated Topology out (pure: no I/O).
//
// Every problem is collected (not just the first) and reported with FILE:LINE:COLUMN, the field path and
// what is wrong, e.g. `paper.yaml:7:12: links[1][1]: unknown switch 's9' (switches: s1, s2, s3, s4)`.
// The format is described in docs/testbed.md.
import { createHash } from 'node:crypto';
import { isMap, isScalar, isSeq, type Node } from 'yaml';
import {
  type Checker,
  formatIssue,
  type Issue,
  parseYamlChecked,
  type Seg,
  scalarString,
  typeName,
} from '../util/yaml-source.ts';

/** Longest Linux interface name (IFNAMSIZ - 1). */
export const IFNAMSIZ_MAX = 15;
/** Default OpenFlow port number of the tunnel port on every old and new switch. */
export const DEFAULT_TUNNEL_PORT = 100;
/** Highest port number Open vSwitch accepts in `ofport_request`. */
export const MAX_OFPORT = 65279;
/** At most this many switches (tunnel switch ports: old sI -> I, new sI -> 1000 + I). */
export const MAX_SWITCHES = 999;
const NAME_RE = /^[A-Za-z][A-Za-z0-9_]*$/;
const BED_NAME_MAX = 32;

export type LinkKind = 'patch' | 'veth';

/** How a link is realised. Shaping (delay, jitter, rate, loss) needs kind 'veth' (tc on both ends). */
export interface LinkSpec {
  kind: LinkKind;
  /** One-way delay added in each direction (tc netem), microseconds. */
  delayUs?: number;
  /** Delay variation (tc netem), microseconds; needs delayUs. */
  jitterUs?: number;
  /** Rate limit in each direction (tc tbf), bits per second. */
  rateBps?: number;
  /** Random loss in each direction (tc netem), percent 0..100. */
  lossPct?: number;
}

export interface TopoSwitch {
  name: string;
  /** 1-based position in `switches`: used in datapath ids and tunnel switch port numbers. */
  index: number;
}

export interface TopoLink {
  a: string;
  b: string;
  /** OpenFlow port of this link on switch a (the same on the old and the new a). */
  aPort: number;
  bPort: number;
  link: LinkSpec;
  /** Start with the link's ports administratively down (like a spanning tree's blocked port). */
  blocked: boolean;
}

export interface TopoHost {
  name: string;
  switch: string;
  /** Dotted IPv4 address without the prefix length. */
  ip: string;
  prefixLen: number;
  /** aa:bb:cc:dd:ee:ff, lower case (derived from the host name when not given). */
  mac: string;
  /** OpenFlow port on its switch (the same on the old and the new switch). */
  port: number;
}

export type ControllerSpec =
  | { kind: 'none' }
  | { kind: 'tcp'; host: string; port: number }
  | { kind: 'unix'; path: string };

export interface TunnelSpec {
  encap: 'vlan';
  link: LinkSpec;
  /** OpenFlow port number of the tunnel port on every old and new switch. */
  port: number;
}

export interface Topology {
  name: string;
  description?: string;
  switches: TopoSwitch[];
  links: TopoLink[];
  hosts: TopoHost[];
  /** Default for switch-switch links. */
  link: LinkSpec;
  tunnel: TunnelSpec;
  controller: ControllerSpec;
  /** Upper 32 bits of every datapath id of this bed (lets two beds share one controller). */
  dpidPrefix: number;
  /** Default blackout for `move-host`, milliseconds. */
  blackoutMs: number;
}

/** One problem in a topology file; `path` is the field path, e.g. `hosts.h1.ip` or `links[2][0]`. */
export type TopologyIssue = Issue;

export { formatIssue };

/** A topology file was rejected; `issues` lists every problem found. */
export class TopologyError extends Error {
  readonly issues: TopologyIssue[];
  constructor(issues: TopologyIssue[]) {
    const n = issues.length;
    super(
      `invalid topology (${n} problem${n === 1 ? '' : 's'}):\n${issues.map((i) => `  ${formatIssue(i)}`).join('\n')}`,
    );
    this.name = 'TopologyError';
    this.issues = issues;
  }
}

// ---------------------------------------------------------------------------------------------------
// Value parsers (exported for the CLI and tests)

/** '1ms', '250us', '1.5s', '0' -> microseconds; undefined when malformed. */
export function parseDuration(text: string): number | undefined {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(us|ms|s)?\s*$/.exec(text);
  if (!m) return undefined;
  const v = Number(m[1]);
  const unit = m[2];
  if (unit === undefined) return v === 0 ? 0 : undefined;
  const us = unit === 'us' ? v : unit === 'ms' ? v * 1000 : v * 1_000_000;
  return Math.round(us);
}

/** '100mbit', '1gbit', '500kbit', '9600bit' (case-insensitive) -> bits per second. */
export function parseRate(text: string): number | undefined {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(bit|kbit|mbit|gbit)\s*$/i.exec(text);
  if (!m) return undefined;
  const mult = { bit: 1, kbit: 1e3, mbit: 1e6, gbit: 1e9 }[m[2]!.toLowerCase() as 'bit'];
  const v = Math.round(Number(m[1]) * mult);
  return v > 0 ? v : undefined;
}

/** '0.5%', '1', 2 -> percent. */
export function parseLoss(value: unknown): number | undefined {
  const text = typeof value === 'number' ? String(value) : typeof value === 'string' ? value : undefined;
  if (text === undefined) return undefined;
  const m = /^\s*(\d+(?:\.\d+)?)\s*%?\s*$/.exec(text);
  if (!m) return undefined;
  const v = Number(m[1]);
  return v >= 0 && v <= 100 ? v : undefined;
}

export function ipv4ToInt(ip: string): number | undefined {
  const parts = ip.split('.');
  if (parts.length !== 4) return undefined;
  let v = 0;
  for (const p of parts) {
    if (!/^\d{1,3}$/.test(p)) return undefined;
    const n = Number(p);
    if (n > 255) return undefined;
    v = v * 256 + n;
  }
  return v;
}

/** A stable, locally administered unicast MAC derived from a host name. */
export function deriveMac(hostName: string): string {
  const h = createHash('sha256').update(`vnm-host:${hostName}`).digest();
  const b = [...h.subarray(0, 6)];
  b[0] = (b[0]! & 0xfc) | 0x02;
  return b.map((x) => x.toString(16).padStart(2, '0')).join(':');
}

export function formatDurationUs(us: number): string {
  if (us % 1_000_000 === 0 && us !== 0) return `${us / 1_000_000}s`;
  if (us % 1000 === 0) return `${us / 1000}ms`;
  return `${us}us`;
}

export function formatRate(bps: number): string {
  if (bps % 1e9 === 0) return `${bps / 1e9}gbit`;
  if (bps % 1e6 === 0) return `${bps / 1e6}mbit`;
  if (bps % 1e3 === 0) return `${bps / 1e3}kbit`;
  return `${bps}bit`;
}

export function describeLink(l: LinkSpec): string {
  const parts: string[] = [l.kind];
  if (l.delayUs)
    parts.push(`delay ${formatDurationUs(l.delayUs)}${l.jitterUs ? `±${formatDurationUs(l.jitterUs)}` : ''}`);
  if (l.rateBps) parts.push(`rate ${formatRate(l.rateBps)}`);
  if (l.lossPct) parts.push(`loss ${l.lossPct}%`);
  return parts.join(' ');
}

export function isShaped(l: LinkSpec): boolean {
  return !!(l.delayUs || l.rateBps || l.lossPct || l.jitterUs);
}

/** 'none' | 'tcp:HOST:PORT' | 'unix:/abs/path' -> ControllerSpec, or an error message. */
export function parseControllerSpec(text: string): ControllerSpec | string {
  const t = text.trim();
  if (t === 'none' || t === '') return { kind: 'none' };
  if (t.startsWith('unix:')) {
    const path = t.slice(5);
    if (!path.startsWith('/')) return `unix socket path must be absolute: '${text}'`;
    if (Buffer.byteLength(path) > 107) return `unix socket path longer than 107 bytes: '${text}'`;
    return { kind: 'unix', path };
  }
  const m = /^tcp:([A-Za-z0-9.\-_]+|\[[0-9a-fA-F:]+\]):(\d+)$/.exec(t);
  if (m) {
    const port = Number(m[2]);
    if (port < 1 || port > 65535) return `bad TCP port in '${text}'`;
    return { kind: 'tcp', host: m[1]!.replace(/^\[|\]$/g, ''), port };
  }
  return `expected 'tcp:HOST:PORT', 'unix:/path/to/socket' or 'none', got '${text}'`;
}

export function formatControllerSpec(c: ControllerSpec): string {
  if (c.kind === 'none') return 'none';
  if (c.kind === 'unix') return `unix:${c.path}`;
  return `tcp:${c.host.includes(':') ? `[${c.host}]` : c.host}:${c.port}`;
}

export function isValidName(name: string): boolean {
  return NAME_RE.test(name);
}

export function isValidBedName(name: string): boolean {
  return NAME_RE.test(name) && name.length <= BED_NAME_MAX;
}

// ---------------------------------------------------------------------------------------------------
// Interface names (the naming scheme lives here so that validation and the builder agree)

export const names = {
  labNamespace: (bed: string) => `vnm-${bed}`,
  hostNamespace: (bed: string, host: string) => `vnm-${bed}-${host}`,
  bridge: (net: 'old' | 'new', sw: string) => `${net === 'old' ? 'o' : 'n'}-${sw}`,
  tunnelBridge: 'tun',
  /** Port on bridge net/sw facing switch `peer` (patch port or veth end). */
  linkPort: (net: 'old' | 'new', sw: string, peer: string) => `${net === 'old' ? 'o' : 'n'}-${sw}-${peer}`,
  /** Port on bridge net/sw facing the tunnel switch. */
  tunnelPort: (net: 'old' | 'new', sw: string) => `${net === 'old' ? 'o' : 'n'}-${sw}-t`,
  /** Port on the tunnel switch facing net/sw. */
  tunnelSwitchPort: (net: 'old' | 'new', sw: string) => `t-${net === 'old' ? 'o' : 'n'}-${sw}`,
  /** Switch side of a host's veth (lives in the lab namespace). */
  hostSwitchIf: (host: string) => `h-${host}`,
  /** Host side of a host's veth (lives in the host namespace). */
  hostIf: 'eth0',
};

/** Tunnel switch port numbers: towards old sI -> I, towards new sI -> 1000 + I. */
export function tunnelSwitchPortNo(net: 'old' | 'new', index: number): number {
  return net === 'old' ? index : 1000 + index;
}

// ---------------------------------------------------------------------------------------------------
// The parser

type Ctx = Checker;

const TOP_KEYS = [
  'name',
  'description',
  'switches',
  'links',
  'hosts',
  'link',
  'tunnel',
  'controller',
  'dpidPrefix',
  'blackout',
] as const;
const LINK_KEYS = ['kind', 'delay', 'jitter', 'rate', 'loss'] as const;
const LINK_ITEM_KEYS = ['between', 'blocked', ...LINK_KEYS] as const;
const HOST_KEYS = ['switch', 'ip', 'mac', 'port'] as const;
const TUNNEL_KEYS = ['encap', 'link', 'port'] as const;

interface PartialLink {
  kind?: LinkKind;
  delayUs?: number;
  jitterUs?: number;
  rateBps?: number;
  lossPct?: number;
}

/** Parses the fields of a link mapping (kind, delay, jitter, rate, loss) that are present. */
function parseLinkFields(
  ctx: Ctx,
  entries: Map<string, { key: Node; value: unknown }>,
  path: Seg[],
): PartialLink {
  const out: PartialLink = {};
  const kind = entries.get('kind');
  if (kind) {
    const v = scalarString(kind.value);
    if (v === 'patch' || v === 'veth') out.kind = v;
    else ctx.report(kind.value, [...path, 'kind'], `expected 'patch' or 'veth', got ${typeName(kind.value)}`);
  }
  for (const field of ['delay', 'jitter'] as const) {
    const e = entries.get(field);
    if (!e) continue;
    const s = scalarString(e.value);
    const us = s === undefined ? undefined : parseDuration(s);
    if (us === undefined) {
      ctx.report(
        e.value,
        [...path, field],
        `bad duration ${typeName(e.value)} (expected e.g. 500us, 1ms, 0.2s)`,
      );
    } else if (field === 'delay') out.delayUs = us;
    else out.jitterUs = us;
  }
  const rate = entries.get('rate');
  if (rate) {
    const s = scalarString(rate.value);
    const bps = s === undefined ? undefined : parseRate(s);
    if (bps === undefined) {
      ctx.report(
        rate.value,
        [...path, 'rate'],
        `bad rate ${typeName(rate.value)} (expected e.g. 100mbit, 1gbit, 500kbit)`,
      );
    } else out.rateBps = bps;
  }
  const loss = entries.get('loss');
  if (loss) {
    const v = isScalar(loss.value) ? loss.value.value : undefined;
    const pct = parseLoss(v);
    if (pct === undefined) {
      ctx.report(
        loss.value,
        [...path, 'loss'],
        `bad loss ${typeName(loss.value)} (expected a percentage, e.g. 0.5%)`,
      );
    } else out.lossPct = pct;
  }
  return out;
}

function cleanLink(l: PartialLink, kind: LinkKind): LinkSpec {
  const out: LinkSpec = { kind };
  if (l.delayUs) out.delayUs = l.delayUs;
  if (l.jitterUs) out.jitterUs = l.jitterUs;
  if (l.rateBps) out.rateBps = l.rateBps;
  if (l.lossPct) out.lossPct = l.lossPct;
  return out;
}

/** Checks a complete link spec: shaping needs veth, jitter needs delay. Reports at `node`. */
function checkLinkSpec(ctx: Ctx, l: LinkSpec, node: unknown, path: Seg[]): void {
  if (l.kind === 'patch' && isShaped(l)) {
    ctx.report(node, path, 'a patch link cannot be shaped (delay, jitter, rate, loss need kind: veth)');
  }
  if (l.jitterUs && !l.delayUs) ctx.report(node, path, 'jitter needs a delay');
}

/** Parses a `link:` style mapping into a full LinkSpec, inheriting from `base` when given. */
function parseLinkMapping(
  ctx: Ctx,
  node: unknown,
  path: Seg[],
  base: LinkSpec | undefined,
): LinkSpec | undefined {
  if (!isMap(node)) {
    ctx.report(
      node,
      path,
      `expected a mapping like { kind: veth, delay: 1ms, rate: 100mbit }, got ${typeName(node)}`,
    );
    return undefined;
  }
  const before = ctx.issues.length;
  const entries = ctx.entries(node, path, LINK_KEYS);
  const p = parseLinkFields(ctx, entries, path);
  const spec = mergeLink(base, p);
  checkLinkSpec(ctx, spec, node, path);
  // An invalid default is reported once, not again on every link that would inherit it.
  return ctx.issues.length === before ? spec : undefined;
}

/** Applies an override to a base link: a different kind starts afresh, otherwise shaping is inherited. */
function mergeLink(base: LinkSpec | undefined, over: PartialLink): LinkSpec {
  const kind: LinkKind = over.kind ?? base?.kind ?? 'patch';
  const start: PartialLink = base && base.kind === kind ? { ...base } : {};
  return cleanLink({ ...start, ...stripUndefined(over) }, kind);
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

interface RawLink {
  a?: string;
  b?: string;
  aNode: unknown;
  bNode: unknown;
  node: unknown;
  path: Seg[];
  link: LinkSpec;
  blocked: boolean;
}

/**
 * Parses and validates a topology file. Pure: never touches the system.
 * @throws TopologyError listing every problem, each with file, line, column and field path.
 */
export function parseTopology(text: string, fileName = '<topology>'): Topology {
  const { checker: ctx, root } = parseYamlChecked(text, fileName);
  if (ctx.issues.length > 0) throw new TopologyError(ctx.issues);
  if (!isMap(root)) {
    ctx.report(
      root,
      [],
      `expected a mapping at the top (name, switches, links, hosts, ...), got ${typeName(root)}`,
    );
    throw new TopologyError(ctx.issues);
  }
  const top = ctx.entries(root, [], TOP_KEYS);

  // name
  let name = '';
  const nameE = top.get('name');
  if (!nameE) ctx.report(root, ['name'], 'missing (the test bed name, e.g. name: paper)');
  else {
    const v = scalarString(nameE.value);
    if (v === undefined || !isValidBedName(v)) {
      ctx.report(
        nameE.value,
        ['name'],
        `bad name ${typeName(nameE.value)}: letters, digits and '_', starting with a letter, at most ${BED_NAME_MAX} characters`,
      );
    } else name = v;
  }
  let description: string | undefined;
  const descE = top.get('description');
  if (descE) {
    const v = scalarString(descE.value);
    if (v === undefined) ctx.report(descE.value, ['description'], 'expected text');
    else description = v;
  }

  // switches
  const switches: TopoSwitch[] = [];
  const switchNodes = new Map<string, unknown>();
  const switchPos = new Map<string, number>();
  const swE = top.get('switches');
  if (!swE) ctx.report(root, ['switches'], 'missing (a list of switch names, e.g. [s1, s2])');
  else if (!isSeq(swE.value))
    ctx.report(swE.value, ['switches'], `expected a list of names, got ${typeName(swE.value)}`);
  else {
    swE.value.items.forEach((item, i) => {
      const v = scalarString(item);
      if (v === undefined || !isValidName(v)) {
        ctx.report(
          item,
          ['switches', i],
          `bad switch name ${typeName(item)}: letters, digits and '_', starting with a letter`,
        );
        return;
      }
      const prev = switchNodes.get(v);
      if (prev !== undefined) {
        ctx.report(item, ['switches', i], `duplicate switch '${v}' (first at line ${ctx.line(prev)})`);
        return;
      }
      switchNodes.set(v, item);
      switchPos.set(v, i);
      switches.push({ name: v, index: switches.length + 1 });
    });
    if (swE.value.items.length === 0) ctx.report(swE.value, ['switches'], 'at least one switch is needed');
    if (switches.length > MAX_SWITCHES)
      ctx.report(swE.value, ['switches'], `at most ${MAX_SWITCHES} switches`);
  }
  const switchNames = switches.map((s) => s.name);
  const knownSwitch = (s: string) => switchNodes.has(s);
  const listSwitches = () =>
    switchNames.length > 10 ? `${switchNames.slice(0, 10).join(', ')}, ...` : switchNames.join(', ');

  // default link
  let defaultLink: LinkSpec = { kind: 'patch' };
  const linkE = top.get('link');
  if (linkE) defaultLink = parseLinkMapping(ctx, linkE.value, ['link'], undefined) ?? defaultLink;

  // tunnel
  let tunnel: TunnelSpec = { encap: 'vlan', link: { kind: 'patch' }, port: DEFAULT_TUNNEL_PORT };
  const tunE = top.get('tunnel');
  if (tunE) {
    if (!isMap(tunE.value))
      ctx.report(
        tunE.value,
        ['tunnel'],
        `expected a mapping (encap, link, port), got ${typeName(tunE.value)}`,
      );
    else {
      const t = ctx.entries(tunE.value, ['tunnel'], TUNNEL_KEYS);
      const enc = t.get('encap');
      if (enc) {
        const v = scalarString(enc.value);
        if (v !== 'vlan')
          ctx.report(
            enc.value,
            ['tunnel', 'encap'],
            `unsupported encapsulation ${typeName(enc.value)} (supported: vlan)`,
          );
      }
      const tl = t.get('link');
      const tlink = tl
        ? (parseLinkMapping(ctx, tl.value, ['tunnel', 'link'], undefined) ?? tunnel.link)
        : tunnel.link;
      let port = DEFAULT_TUNNEL_PORT;
      const tp = t.get('port');
      if (tp) {
        const v = isScalar(tp.value) ? tp.value.value : undefined;
        if (typeof v !== 'number' || !Number.isInteger(v) || v < 1 || v > MAX_OFPORT) {
          ctx.report(
            tp.value,
            ['tunnel', 'port'],
            `bad port number ${typeName(tp.value)} (1..${MAX_OFPORT})`,
          );
        } else port = v;
      }
      tunnel = { encap: 'vlan', link: tlink, port };
    }
  }

  // controller
  let controller: ControllerSpec = { kind: 'none' };
  const ctlE = top.get('controller');
  if (ctlE) {
    const v = scalarString(ctlE.value);
    const c =
      v === undefined
        ? `expected 'tcp:HOST:PORT', 'unix:/path' or 'none', got ${typeName(ctlE.value)}`
        : parseControllerSpec(v);
    if (typeof c === 'string') ctx.report(ctlE.value, ['controller'], c);
    else controller = c;
  }

  // dpidPrefix
  let dpidPrefix = 0;
  const dpE = top.get('dpidPrefix');
  if (dpE) {
    const raw = isScalar(dpE.value) ? dpE.value.value : undefined;
    const v =
      typeof raw === 'number'
        ? raw
        : typeof raw === 'string' && /^0x[0-9a-f]{1,8}$/i.test(raw)
          ? Number(raw)
          : NaN;
    if (!Number.isInteger(v) || v < 0 || v > 0xffffffff) {
      ctx.report(
        dpE.value,
        ['dpidPrefix'],
        `expected an integer 0..0xffffffff (the upper 32 bits of every datapath id), got ${typeName(dpE.value)}`,
      );
    } else dpidPrefix = v;
  }

  // blackout
  let blackoutMs = 0;
  const boE = top.get('blackout');
  if (boE) {
    const s = scalarString(boE.value);
    const us = s === undefined ? undefined : parseDuration(s);
    if (us === undefined)
      ctx.report(boE.value, ['blackout'], `bad duration ${typeName(boE.value)} (expected e.g. 200ms)`);
    else blackoutMs = us / 1000;
  }

  // links
  const rawLinks: RawLink[] = [];
  const lkE = top.get('links');
  if (lkE && !isSeq(lkE.value)) {
    if (!(isScalar(lkE.value) && lkE.value.value === null)) {
      ctx.report(lkE.value, ['links'], `expected a list of links like [s1, s2], got ${typeName(lkE.value)}`);
    }
  } else if (lkE && isSeq(lkE.value)) {
    lkE.value.items.forEach((item, i) => {
      const path: Seg[] = ['links', i];
      let aNode: unknown;
      let bNode: unknown;
      let over: PartialLink = {};
      let blocked = false;
      let bad = false;
      if (isSeq(item)) {
        if (item.items.length < 2 || item.items.length > 3) {
          ctx.report(item, path, 'expected [A, B] or [A, B, { delay: ..., rate: ... }]');
          return;
        }
        aNode = item.items[0];
        bNode = item.items[1];
        const opts = item.items[2];
        if (opts !== undefined) {
          if (!isMap(opts)) {
            ctx.report(
              opts,
              [...path, 2],
              `expected link options like { kind: veth, delay: 1ms }, got ${typeName(opts)}`,
            );
            bad = true;
          } else {
            const e = ctx.entries(opts, [...path, 2], ['blocked', ...LINK_KEYS]);
            over = parseLinkFields(ctx, e, [...path, 2]);
            blocked = parseBlocked(ctx, e, [...path, 2]);
          }
        }
      } else if (isMap(item)) {
        const e = ctx.entries(item, path, LINK_ITEM_KEYS);
        const between = e.get('between');
        if (!between || !isSeq(between.value) || between.value.items.length !== 2) {
          ctx.report(between?.value ?? item, [...path, 'between'], 'expected between: [A, B]');
          return;
        }
        aNode = between.value.items[0];
        bNode = between.value.items[1];
        path.push('between');
        over = parseLinkFields(ctx, e, ['links', i]);
        blocked = parseBlocked(ctx, e, ['links', i]);
      } else {
        ctx.report(item, path, `expected [A, B] or { between: [A, B], ... }, got ${typeName(item)}`);
        return;
      }
      const a = scalarString(aNode);
      const b = scalarString(bNode);
      for (const [end, v, n] of [
        [0, a, aNode],
        [1, b, bNode],
      ] as const) {
        if (v === undefined) {
          ctx.report(n, [...path, end], `expected a switch name, got ${typeName(n)}`);
          bad = true;
        } else if (!knownSwitch(v)) {
          ctx.report(n, [...path, end], `unknown switch '${v}' (switches: ${listSwitches()})`);
          bad = true;
        }
      }
      if (!bad && a === b) {
        ctx.report(item, ['links', i], `self-link: '${a}' is linked to itself`);
        bad = true;
      }
      const spec = mergeLink(defaultLink, over);
      checkLinkSpec(ctx, spec, item, ['links', i]);
      if (bad) return;
      rawLinks.push({ a, b, aNode, bNode, node: item, path: ['links', i], link: spec, blocked });
    });
  }
  // duplicate links
  const seenLinks = new Map<string, unknown>();
  for (const l of rawLinks) {
    const key = [l.a, l.b].sort().join('\u0000');
    const prev = seenLinks.get(key);
    if (prev !== undefined) {
      ctx.report(l.node, l.path, `duplicate link ${l.a}-${l.b} (first at line ${ctx.line(prev)})`);
      l.a = undefined;
    } else seenLinks.set(key, l.node);
  }

  // hosts
  interface RawHost {
    name: string;
    keyNode: Node;
    switch: string;
    ip: string;
    prefixLen: number;
    ipNode: unknown;
    mac?: string;
    macNode?: unknown;
    port?: number;
    portNode?: unknown;
    ok?: boolean;
  }
  const rawHosts: RawHost[] = [];
  const hsE = top.get('hosts');
  if (hsE && !isMap(hsE.value)) {
    if (!(isScalar(hsE.value) && hsE.value.value === null)) {
      ctx.report(
        hsE.value,
        ['hosts'],
        `expected a mapping of hosts like h1: { switch: s1, ip: 10.0.0.1/24 }, got ${typeName(hsE.value)}`,
      );
    }
  } else if (hsE && isMap(hsE.value)) {
    const hosts = ctx.entries(hsE.value, ['hosts'], null, 'host');
    for (const [hname, { key, value }] of hosts) {
      const path: Seg[] = ['hosts', hname];
      let ok = true;
      if (!isValidName(hname)) {
        ctx.report(key, path, `bad host name '${hname}': letters, digits and '_', starting with a letter`);
        ok = false;
      }
      if (!isMap(value)) {
        ctx.report(value ?? key, path, `expected { switch: S, ip: A.B.C.D/N }, got ${typeName(value)}`);
        continue;
      }
      const e = ctx.entries(value, path, HOST_KEYS);
      const sw = e.get('switch');
      let swName = '';
      if (!sw) {
        ctx.report(value, [...path, 'switch'], 'missing (the switch this host is attached to)');
        ok = false;
      } else {
        const v = scalarString(sw.value);
        if (v === undefined) {
          ctx.report(sw.value, [...path, 'switch'], `expected a switch name, got ${typeName(sw.value)}`);
          ok = false;
        } else if (!knownSwitch(v)) {
          ctx.report(sw.value, [...path, 'switch'], `unknown switch '${v}' (switches: ${listSwitches()})`);
          ok = false;
        } else swName = v;
      }
      const ipE = e.get('ip');
      let ip = '';
      let prefixLen = 0;
      if (!ipE) {
        ctx.report(value, [...path, 'ip'], 'missing (an IPv4 address with prefix length, e.g. 10.0.0.1/24)');
        ok = false;
      } else {
        const v = scalarString(ipE.value);
        const m = v === undefined ? null : /^(\d+\.\d+\.\d+\.\d+)\/(\d{1,2})$/.exec(v);
        const addr = m ? ipv4ToInt(m[1]!) : undefined;
        const len = m ? Number(m[2]) : NaN;
        if (!m || addr === undefined || !(len >= 1 && len <= 32)) {
          ctx.report(
            ipE.value,
            [...path, 'ip'],
            `bad IPv4 address/prefix ${typeName(ipE.value)} (expected e.g. 10.0.0.1/24)`,
          );
          ok = false;
        } else {
          const hostBits = len >= 31 ? 0 : 32 - len;
          const hostPart = hostBits === 0 ? 1 : addr % 2 ** hostBits;
          if (hostBits > 0 && (hostPart === 0 || hostPart === 2 ** hostBits - 1)) {
            ctx.report(
              ipE.value,
              [...path, 'ip'],
              `${v} is the ${hostPart === 0 ? 'network' : 'broadcast'} address of its subnet`,
            );
            ok = false;
          } else if (m[1]!.startsWith('127.') || addr >= 0xe0000000 || addr === 0) {
            ctx.report(ipE.value, [...path, 'ip'], `${v} is not a unicast host address`);
            ok = false;
          } else {
            ip = m[1]!;
            prefixLen = len;
          }
        }
      }
      const rh: RawHost = { name: hname, keyNode: key, switch: swName, ip, prefixLen, ipNode: ipE?.value };
      const macE = e.get('mac');
      if (macE) {
        const v = scalarString(macE.value)?.toLowerCase();
        if (v === undefined || !/^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/.test(v)) {
          ctx.report(
            macE.value,
            [...path, 'mac'],
            `bad MAC address ${typeName(macE.value)} (expected e.g. 02:00:00:00:00:01)`,
          );
          ok = false;
        } else if (Number.parseInt(v.slice(0, 2), 16) & 1) {
          ctx.report(macE.value, [...path, 'mac'], `${v} is a multicast address`);
          ok = false;
        } else if (v === '00:00:00:00:00:00') {
          ctx.report(macE.value, [...path, 'mac'], 'the all-zero MAC address is not allowed');
          ok = false;
        } else {
          rh.mac = v;
          rh.macNode = macE.value;
        }
      }
      const portE = e.get('port');
      if (portE) {
        const v = isScalar(portE.value) ? portE.value.value : undefined;
        if (typeof v !== 'number' || !Number.isInteger(v) || v < 1 || v > MAX_OFPORT) {
          ctx.report(
            portE.value,
            [...path, 'port'],
            `bad port number ${typeName(portE.value)} (1..${MAX_OFPORT})`,
          );
          ok = false;
        } else if (v === tunnel.port) {
          ctx.report(portE.value, [...path, 'port'], `port ${v} is the tunnel port (tunnel.port)`);
          ok = false;
        } else {
          rh.port = v;
          rh.portNode = portE.value;
        }
      }
      rh.ok = ok;
      rawHosts.push(rh);
    }
  }

  // duplicate IPs and MACs, explicit port clashes
  const ipSeen = new Map<string, RawHost>();
  const macSeen = new Map<string, RawHost>();
  const portSeen = new Map<string, RawHost>();
  for (const h of rawHosts) {
    const prevIp = h.ip ? ipSeen.get(h.ip) : undefined;
    if (!h.ip) {
      // reported already
    } else if (prevIp)
      ctx.report(h.ipNode, ['hosts', h.name, 'ip'], `duplicate IP ${h.ip} (also host '${prevIp.name}')`);
    else ipSeen.set(h.ip, h);
    const mac = h.mac ?? deriveMac(h.name);
    const prevMac = macSeen.get(mac);
    if (prevMac) {
      ctx.report(
        h.macNode ?? h.keyNode,
        ['hosts', h.name, 'mac'],
        `duplicate MAC ${mac} (also host '${prevMac.name}'${h.mac ? '' : ', derived from the host name'})`,
      );
    } else macSeen.set(mac, h);
    if (h.port !== undefined && h.switch) {
      const k = `${h.switch}\u0000${h.port}`;
      const prev = portSeen.get(k);
      if (prev)
        ctx.report(
          h.portNode,
          ['hosts', h.name, 'port'],
          `port ${h.port} of '${h.switch}' is also host '${prev.name}'`,
        );
      else portSeen.set(k, h);
    }
  }

  // Port assignment (hosts first, then links, in file order; explicit host ports and the tunnel port skipped)
  const used = new Map<string, Set<number>>();
  const next = new Map<string, number>();
  for (const s of switchNames) used.set(s, new Set([tunnel.port]));
  for (const h of rawHosts) if (h.port !== undefined) used.get(h.switch)?.add(h.port);
  const goodHosts = rawHosts.filter((h) => h.ok);
  const alloc = (sw: string): number => {
    const u = used.get(sw)!;
    let n = next.get(sw) ?? 1;
    while (u.has(n)) n++;
    u.add(n);
    next.set(sw, n + 1);
    return n;
  };
  const hosts: TopoHost[] = goodHosts.map((h) => ({
    name: h.name,
    switch: h.switch,
    ip: h.ip,
    prefixLen: h.prefixLen,
    mac: h.mac ?? deriveMac(h.name),
    port: h.port ?? alloc(h.switch),
  }));
  const links: TopoLink[] = [];
  for (const l of rawLinks) {
    if (l.a === undefined || l.b === undefined) continue;
    links.push({ a: l.a, b: l.b, aPort: alloc(l.a), bPort: alloc(l.b), link: l.link, blocked: l.blocked });
  }
  for (const [sw, n] of next) {
    if (n - 1 > MAX_OFPORT)
      ctx.report(
        switchNodes.get(sw),
        ['switches', switchPos.get(sw) ?? 0],
        `switch '${sw}' needs more than ${MAX_OFPORT} ports`,
      );
  }

  // Interface names must fit in 15 characters (prefixes included).
  const tooLong = (ifname: string) => ifname.length > IFNAMSIZ_MAX;
  for (const s of switches) {
    const node = switchNodes.get(s.name);
    for (const ifname of [
      names.bridge('old', s.name),
      names.tunnelPort('old', s.name),
      names.tunnelSwitchPort('old', s.name),
    ]) {
      if (tooLong(ifname)) {
        ctx.report(
          node,
          ['switches', switchPos.get(s.name) ?? 0],
          `switch name '${s.name}' too long: interface '${ifname}' would have ${ifname.length} characters (max ${IFNAMSIZ_MAX}; switch names up to ${IFNAMSIZ_MAX - 4} characters)`,
        );
        break;
      }
    }
  }
  for (const l of rawLinks) {
    if (l.a === undefined || l.b === undefined) continue;
    const ifname = names.linkPort('old', l.a, l.b);
    const other = names.linkPort('old', l.b, l.a);
    if (tooLong(ifname)) {
      ctx.report(
        l.node,
        l.path,
        `switch names too long for this link: interface '${ifname}' / '${other}' would have ${ifname.length} characters (max ${IFNAMSIZ_MAX}: the two names together up to ${IFNAMSIZ_MAX - 3})`,
      );
    }
  }
  for (const h of rawHosts) {
    const ifname = names.hostSwitchIf(h.name);
    if (tooLong(ifname)) {
      ctx.report(
        h.keyNode,
        ['hosts', h.name],
        `host name '${h.name}' too long: interface '${ifname}' would have ${ifname.length} characters (max ${IFNAMSIZ_MAX}; host names up to ${IFNAMSIZ_MAX - 2} characters)`,
      );
    }
  }
  if (ctx.issues.length > 0) {
    ctx.issues.sort((x, y) => x.line - y.line || x.column - y.column);
    throw new TopologyError(ctx.issues);
  }
  const topo: Topology = {
    name,
    switches,
    links,
    hosts,
    link: defaultLink,
    tunnel,
    controller,
    dpidPrefix,
    blackoutMs,
  };
  if (description !== undefined) topo.description = description;
  return topo;
}

function parseBlocked(ctx: Ctx, e: Map<string, { key: Node; value: unknown }>, path: Seg[]): boolean {
  const b = e.get('blocked');
  if (!b) return false;
  const v = isScalar(b.value) ? b.value.value : undefined;
  if (typeof v !== 'boolean') {
    ctx.report(b.value, [...path, 'blocked'], `expected true or false, got ${typeName(b.value)}`);
    return false;
  }
  return v;
}
