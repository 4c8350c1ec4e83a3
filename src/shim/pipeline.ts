// The physical pipeline every switch carrying app rules runs, and the rewriting of app rules into it.
//
//   table 0 (shim): classify the ingress into a *logical in_port* (a virtual port number) kept in
//     metadata bits 32..47, plus a FROM_TUNNEL bit (bit 48) for packets that came through the tunnel
//     (ASAP's first hop), then goto table 1. Tunnel deliveries (last hop) never reach the app tables.
//   table k+1: the app's table k, with in_port matches turned into metadata matches.
//   egress: the app's output to a host port v becomes group G(v), whose buckets say where the host is
//     (local port, tunnel, or both while it moves); a move is a group-mod, not a rewrite of app rules.
//
// ASAP's hairpin: a packet from a migrated host enters the old switch through the tunnel; if it must go
// back out to another migrated host, "output:tunnel" would be output to the ingress port (dropped). So on
// the old side in ASAP every app rule has *FROM_TUNNEL variants*, one per host port u (the logical ingress):
// they match metadata = u|FROM_TUNNEL and use groups G_ft(v), whose tunnel bucket is output:IN_PORT, and
// they leave u out of FLOOD/ALL (so a broadcast never comes back to its sender). The base variant
// matches FROM_TUNNEL = 0. Variants depend only on the rule's match and the plan, never on its actions, so
// a modify never changes the set of copies.

import { ErrorType, FlowModFlags, GroupType, Port, Table } from '../openflow/constants.ts';
import type { Action, Bucket, Instruction, Match, OxmField } from '../openflow/types.ts';
import { bigField, numericField } from './match.ts';
import {
  type MigrationState,
  ShimCommandError,
  type Side,
  type VirtualGroup,
  type VirtualRule,
} from './model.ts';
import {
  hostOnPort,
  type MigrationPlan,
  type PlanSwitch,
  physicalPort,
  planIndex,
  planPort,
  tunnelledPorts,
  tunnelTag,
} from './plan.ts';
import { encodingFor, type TunnelEncoding } from './tunnel.ts';

// ---------------------------------------------------------------- layout constants

export const SHIM_TABLE = 0;
export const APP_TABLE_OFFSET = 1;
/** Highest app table id: app table k lives in physical table k+1 <= OFPTT_MAX. */
export const MAX_APP_TABLE = Table.MAX - APP_TABLE_OFFSET;

export const LOGICAL_SHIFT = 32n;
export const LOGICAL_MASK = 0xffffn << LOGICAL_SHIFT;
export const FROM_TUNNEL = 1n << 48n;
export const SHIM_METADATA_MASK = LOGICAL_MASK | FROM_TUNNEL;
/** The app may use only the low 32 metadata bits (matches and writes are restricted to them). */
export const APP_METADATA_MASK = 0xffff_ffffn;
/** Logical in_port of packets sent by packet-out with in_port=CONTROLLER. */
export const LOGICAL_CONTROLLER = 0xfffd;

/** Cookie layout: the top 16 bits name the owner. */
export const COOKIE_OWNER_MASK = 0xffffn << 48n;
/** Shim-owned rules (classifier, tunnel rules, tunnel switch, table-miss); low bits: the rule's in_port. */
export const SHIM_COOKIE = 0x5e4dn << 48n;
/** Physical copies of app rules; low 48 bits: the virtual rule id (the app's own cookie is kept in the ledger). */
export const APP_COPY_COOKIE = 0x5e4en << 48n;
const LOW48 = (1n << 48n) - 1n;

export const SHIM_PRIORITY = 100;

/** App group ids the shim accepts: the variant index goes in the top byte of the physical id. */
export const APP_GROUP_MAX = 0x00ff_ffff;
/** Egress groups: G(v) = EGRESS_GROUP_BASE + v, G_ft(v) = EGRESS_FT_GROUP_BASE + v. */
export const EGRESS_GROUP_BASE = 0xf000_0000;
export const EGRESS_FT_GROUP_BASE = 0xf100_0000;
const GROUP_VARIANT_UNIT = 0x0100_0000;
/** OFPBAC_BAD_OUT_PORT, OFPBAC_BAD_OUT_GROUP, OFPBMC_BAD_VALUE, OFPBIC_BAD_TABLE_ID. */
const BAD_OUT_PORT = 4;
const BAD_OUT_GROUP = 9;
const BAD_MATCH_VALUE = 7;
const BAD_INSTRUCTION_TABLE = 2;
const BAD_ACTION_ARGUMENT = 5;

export function appCopyCookie(ruleId: number): bigint {
  return APP_COPY_COOKIE | BigInt(ruleId);
}

/** The virtual rule id behind a physical cookie, or undefined when the cookie is not an app copy's. */
export function ruleIdOfCookie(cookie: bigint): number | undefined {
  return (cookie & COOKIE_OWNER_MASK) === APP_COPY_COOKIE ? Number(cookie & LOW48) : undefined;
}

export function isShimCookie(cookie: bigint): boolean {
  return (cookie & COOKIE_OWNER_MASK) === SHIM_COOKIE;
}

export function physicalAppGroup(groupId: number, variant: number): number {
  return variant * GROUP_VARIANT_UNIT + groupId;
}

/** App group id and variant of a physical group id (undefined for egress groups). */
export function appGroupOf(physical: number): { groupId: number; variant: number } | undefined {
  if (physical >= EGRESS_GROUP_BASE) return undefined;
  return { groupId: physical % GROUP_VARIANT_UNIT, variant: Math.floor(physical / GROUP_VARIANT_UNIT) };
}

export function egressGroup(port: number, fromTunnel: boolean): number {
  return (fromTunnel ? EGRESS_FT_GROUP_BASE : EGRESS_GROUP_BASE) + port;
}

export function isEgressGroup(id: number): boolean {
  return id >= EGRESS_GROUP_BASE && id < EGRESS_FT_GROUP_BASE + 0x1_0000;
}

/** Logical in_port and FROM_TUNNEL bit carried in a physical metadata value. */
export function decodeMetadata(metadata: bigint): { logical: number; fromTunnel: boolean; app: bigint } {
  return {
    logical: Number((metadata & LOGICAL_MASK) >> LOGICAL_SHIFT),
    fromTunnel: (metadata & FROM_TUNNEL) !== 0n,
    app: metadata & APP_METADATA_MASK,
  };
}

export function logicalToVirtualPort(logical: number): number {
  return logical === LOGICAL_CONTROLLER ? Port.CONTROLLER : logical;
}

// ---------------------------------------------------------------- where things live

/** The sides that carry the app pipeline (table 0 classifier + app tables) in a state. */
export function appSides(state: MigrationState): Side[] {
  if (state.phase === 'finalized') return ['new'];
  if (state.phase === 'idle') return ['old'];
  return state.algorithm === 'alap' ? ['old', 'new'] : ['old'];
}

/** Logical ingress ports that get FROM_TUNNEL variants on `side` (ASAP old side once the tunnel is up). */
export function fromTunnelIngresses(
  plan: MigrationPlan,
  state: MigrationState,
  vs: PlanSwitch,
  side: Side,
): number[] {
  return state.algorithm === 'asap' && side === 'old' && state.phase === 'prepared'
    ? tunnelledPorts(plan, vs)
    : [];
}

/** Group variant index of FROM_TUNNEL packets with logical ingress `u` (0 is the base variant). */
export function fromTunnelVariant(plan: MigrationPlan, vs: PlanSwitch, u: number): number {
  const i = tunnelledPorts(plan, vs).indexOf(u);
  if (i < 0) throw new RangeError(`${vs.name} port ${u} is not a tunnelled host port`);
  return i + 1;
}

export function encodingOf(plan: MigrationPlan): TunnelEncoding {
  return encodingFor(plan.tunnel.encoding);
}

// ---------------------------------------------------------------- action translation

export interface ActionContext {
  plan: MigrationPlan;
  vs: PlanSwitch;
  side: Side;
  /** Variant for packets that entered through the tunnel with this logical ingress (ASAP old side). */
  fromTunnel?: number;
  /** The logical ingress, when known: explicit output to it is dropped and FLOOD/ALL skip it. */
  ingress?: number;
  /** Packet-out sent with in_port=CONTROLLER: IN_PORT becomes an explicit output to `ingress`. */
  inPortIsController?: boolean;
  /** Packet-out: OFPP_TABLE is allowed. */
  packetOut?: boolean;
}

function groupVariantOf(ctx: ActionContext): number {
  return ctx.fromTunnel === undefined ? 0 : fromTunnelVariant(ctx.plan, ctx.vs, ctx.fromTunnel);
}

function badPort(ctx: ActionContext, port: number): ShimCommandError {
  return new ShimCommandError(ErrorType.BAD_ACTION, BAD_OUT_PORT, `${ctx.vs.name} has no port ${port}`);
}

/** Output to virtual port v (a regular port of the virtual switch), ignoring the ingress rules. */
function outputToPort(ctx: ActionContext, v: number, maxLen: number): Action[] {
  const p = planPort(ctx.vs, v);
  if (!p) throw badPort(ctx, v);
  if (p.kind === 'host' && hostOnPort(ctx.plan, ctx.vs, v)) {
    return [{ type: 'group', groupId: egressGroup(v, ctx.fromTunnel !== undefined) }];
  }
  return [{ type: 'output', port: physicalPort(ctx.vs, ctx.side, v), maxLen }];
}

function floodPorts(ctx: ActionContext): number[] {
  return ctx.vs.ports
    .map((p) => p.port)
    .filter((v) => v !== ctx.ingress)
    .sort((a, b) => a - b);
}

function translateAction(ctx: ActionContext, a: Action, inActionSet: boolean, inBucket = false): Action[] {
  if (a.type === 'group') {
    if (a.groupId > APP_GROUP_MAX)
      throw new ShimCommandError(
        ErrorType.BAD_ACTION,
        BAD_OUT_GROUP,
        `group ids above ${APP_GROUP_MAX} are reserved`,
      );
    return [{ type: 'group', groupId: physicalAppGroup(a.groupId, groupVariantOf(ctx)) }];
  }
  if (a.type !== 'output') return [a];
  const port = a.port;
  if (port < Port.MAX) {
    if (port === ctx.ingress) return []; // the switch would drop output to the ingress port
    return outputToPort(ctx, port, a.maxLen);
  }
  switch (port) {
    case Port.IN_PORT: {
      if (ctx.inPortIsController) {
        if (ctx.ingress === undefined || ctx.ingress === LOGICAL_CONTROLLER) return [];
        return outputToPort(ctx, ctx.ingress, a.maxLen);
      }
      if (ctx.fromTunnel !== undefined) {
        // Back to a host in the other network: tag it with its port and hairpin through the tunnel.
        const enc = encodingOf(ctx.plan);
        const tag = tunnelTag(ctx.vs, ctx.fromTunnel);
        const out: Action[] = [...enc.push(tag), { type: 'output', port: Port.IN_PORT, maxLen: a.maxLen }];
        return inActionSet ? out : [...out, ...enc.pop()];
      }
      return [a];
    }
    case Port.FLOOD:
    case Port.ALL: {
      if (inActionSet && !inBucket)
        throw new ShimCommandError(
          ErrorType.BAD_ACTION,
          BAD_OUT_PORT,
          'FLOOD/ALL in write-actions is not supported by the shim',
        );
      return floodPorts(ctx).flatMap((v) => outputToPort(ctx, v, a.maxLen));
    }
    case Port.TABLE: {
      if (!ctx.packetOut)
        throw new ShimCommandError(ErrorType.BAD_ACTION, BAD_OUT_PORT, 'OFPP_TABLE outside a packet-out');
      if (ctx.fromTunnel !== undefined) {
        // Re-enter the pipeline as the tunnelled packet it was: table 0 pops the tag and sets FROM_TUNNEL.
        const enc = encodingOf(ctx.plan);
        return [...enc.push(tunnelTag(ctx.vs, ctx.fromTunnel)), a, ...enc.pop()];
      }
      return [a];
    }
    default:
      return [a]; // CONTROLLER, LOCAL, NORMAL
  }
}

/** Translate an action list (apply-actions, a bucket, or a packet-out). */
export function translateActions(ctx: ActionContext, actions: readonly Action[]): Action[] {
  return actions.flatMap((a) => translateAction(ctx, a, false));
}

function translateActionSet(ctx: ActionContext, actions: readonly Action[]): Action[] {
  const out = actions.flatMap((a) => translateAction(ctx, a, true));
  if (out.filter((a) => a.type === 'group' || a.type === 'output').length > 1)
    throw new ShimCommandError(
      ErrorType.BAD_ACTION,
      BAD_ACTION_ARGUMENT,
      'write-actions with both a group and an output to a host port is not supported by the shim',
    );
  return out;
}

export function translateInstructions(
  ctx: ActionContext,
  instructions: readonly Instruction[],
): Instruction[] {
  return instructions.map((i): Instruction => {
    switch (i.type) {
      case 'gotoTable':
        if (i.tableId > MAX_APP_TABLE)
          throw new ShimCommandError(
            ErrorType.BAD_INSTRUCTION,
            BAD_INSTRUCTION_TABLE,
            `goto_table ${i.tableId}`,
          );
        return { type: 'gotoTable', tableId: i.tableId + APP_TABLE_OFFSET };
      case 'writeMetadata':
        return {
          type: 'writeMetadata',
          metadata: i.metadata & i.metadataMask & APP_METADATA_MASK,
          metadataMask: i.metadataMask & APP_METADATA_MASK,
        };
      case 'applyActions':
        return { type: 'applyActions', actions: translateActions(ctx, i.actions) };
      case 'writeActions':
        return { type: 'writeActions', actions: translateActionSet(ctx, i.actions) };
      default:
        return i;
    }
  });
}

// ---------------------------------------------------------------- match translation

/** The logical in_port an app match pins (undefined: any). CONTROLLER maps to LOGICAL_CONTROLLER. */
export function logicalInPortOf(match: Match): number | undefined {
  const port = numericField(match, 'in_port') ?? numericField(match, 'in_phy_port');
  if (port === undefined) return undefined;
  if (port === Port.CONTROLLER) return LOGICAL_CONTROLLER;
  if (port >= 1 && port <= 0xfeff) return port;
  throw new ShimCommandError(
    ErrorType.BAD_MATCH,
    BAD_MATCH_VALUE,
    `in_port ${port} cannot be matched through the shim`,
  );
}

/**
 * The physical match of an app rule variant: in_port becomes the logical in_port in metadata, app
 * metadata is kept to its 32 bits, and the FROM_TUNNEL bit selects the variant.
 */
export function physicalMatch(match: Match, fromTunnel?: number): Match {
  const w = logicalInPortOf(match);
  let value = 0n;
  let mask = FROM_TUNNEL;
  const meta = bigField(match, 'metadata');
  if (meta) {
    const m = (meta.mask ?? (1n << 64n) - 1n) & APP_METADATA_MASK;
    value |= meta.value & m;
    mask |= m;
  }
  const logical = fromTunnel ?? w;
  if (logical !== undefined) {
    value |= BigInt(logical) << LOGICAL_SHIFT;
    mask |= LOGICAL_MASK;
  }
  if (fromTunnel !== undefined) value |= FROM_TUNNEL;
  const fields: OxmField[] = match.fields.filter(
    (f) => f.field !== 'in_port' && f.field !== 'in_phy_port' && f.field !== 'metadata',
  );
  fields.push({ field: 'metadata', value, mask });
  return { fields };
}

// ---------------------------------------------------------------- physical rules and groups

export type ShimRole = 'classifier' | 'tunnelIngress' | 'firstHop' | 'delivery' | 'tunnelForward' | 'miss';

export type RuleOwner =
  | { kind: 'shim'; role: ShimRole }
  /** variant: 0 for the base variant, else the logical ingress u of a FROM_TUNNEL variant. */
  | { kind: 'app'; ruleId: number; variant: number }
  /** Found on a switch, not ours (reconciliation deletes it). */
  | { kind: 'stray' };

export interface PhysRule {
  tableId: number;
  priority: number;
  match: Match;
  instructions: Instruction[];
  cookie: bigint;
  idleTimeout: number;
  hardTimeout: number;
  flags: number;
  owner: RuleOwner;
}

export interface PhysGroup {
  groupId: number;
  groupType: number;
  buckets: Bucket[];
  owner: 'egress' | 'app' | 'stray';
}

/** Hard timeout left for a copy installed now (rounded up; 0 = none; undefined: already expired). */
export function remainingHardTimeout(rule: VirtualRule, now: number): number | undefined {
  if (rule.hardTimeout === 0) return 0;
  const left = Math.ceil((rule.hardTimeout * 1000 - (now - rule.installedAt)) / 1000);
  return left >= 1 ? Math.min(left, 0xffff) : undefined;
}

/** Copy flags: the shim always wants flow-removed (expiry bookkeeping); counting flags pass through. */
export function copyFlags(rule: VirtualRule): number {
  return (
    FlowModFlags.SEND_FLOW_REM | (rule.flags & (FlowModFlags.NO_PKT_COUNTS | FlowModFlags.NO_BYT_COUNTS))
  );
}

/** Every physical copy of an app rule on one side (base variant + FROM_TUNNEL variants). */
export function appRuleCopies(
  plan: MigrationPlan,
  state: MigrationState,
  vs: PlanSwitch,
  rule: VirtualRule,
  side: Side,
  now: number,
): PhysRule[] {
  const hard = remainingHardTimeout(rule, now);
  if (hard === undefined) return [];
  const pinned = logicalInPortOf(rule.match);
  const copy = (fromTunnel?: number): PhysRule => {
    const ctx: ActionContext = { plan, vs, side };
    if (fromTunnel !== undefined) {
      ctx.fromTunnel = fromTunnel;
      ctx.ingress = fromTunnel;
    }
    return {
      tableId: rule.tableId + APP_TABLE_OFFSET,
      priority: rule.priority,
      match: physicalMatch(rule.match, fromTunnel),
      instructions: translateInstructions(ctx, rule.instructions),
      cookie: appCopyCookie(rule.id),
      idleTimeout: rule.idleTimeout,
      hardTimeout: hard,
      flags: copyFlags(rule),
      owner: { kind: 'app', ruleId: rule.id, variant: fromTunnel ?? 0 },
    };
  };
  const out = [copy()];
  for (const u of fromTunnelIngresses(plan, state, vs, side)) {
    if (pinned === undefined || pinned === u) out.push(copy(u));
  }
  return out;
}

const isForwarding = (a: Action) => a.type === 'output' || a.type === 'group';

/**
 * One app bucket -> physical bucket(s). Open vSwitch runs a bucket as an *action set* (reordered, one
 * output, a group beats an output), so the translation must not put two forwarding actions in a bucket:
 * FLOOD/ALL in an ALL group's bucket is split into one bucket per port (each with the bucket's other
 * actions); elsewhere it is refused. The hairpin's pop is left out (a bucket works on its own copy).
 */
function translateBucket(ctx: ActionContext, groupType: number, b: Bucket, variant: number): Bucket[] {
  const actions = b.actions.flatMap((a) => translateAction(ctx, a, true, true));
  const watchPort =
    b.watchPort < Port.MAX && planPort(ctx.vs, b.watchPort)
      ? physicalPort(ctx.vs, ctx.side, b.watchPort)
      : b.watchPort;
  const watchGroup = b.watchGroup <= APP_GROUP_MAX ? physicalAppGroup(b.watchGroup, variant) : b.watchGroup;
  const forwarding = actions.filter(isForwarding);
  if (forwarding.length <= 1) return [{ weight: b.weight, watchPort, watchGroup, actions }];
  if (groupType !== GroupType.ALL)
    throw new ShimCommandError(
      ErrorType.GROUP_MOD_FAILED,
      12 /* OFPGMFC_BAD_BUCKET */,
      'a bucket that forwards to several ports (FLOOD/ALL) is supported by the shim in ALL groups only',
    );
  const rest = actions.filter((a) => !isForwarding(a));
  return forwarding.map((f) => ({ weight: b.weight, watchPort, watchGroup, actions: [...rest, f] }));
}

/** Physical copies of an app group on one side (base + one per FROM_TUNNEL ingress). */
export function appGroupCopies(
  plan: MigrationPlan,
  state: MigrationState,
  vs: PlanSwitch,
  group: VirtualGroup,
  side: Side,
): PhysGroup[] {
  const copy = (fromTunnel?: number): PhysGroup => {
    const ctx: ActionContext = { plan, vs, side };
    if (fromTunnel !== undefined) {
      ctx.fromTunnel = fromTunnel;
      ctx.ingress = fromTunnel;
    }
    const variant = fromTunnel === undefined ? 0 : fromTunnelVariant(plan, vs, fromTunnel);
    return {
      groupId: physicalAppGroup(group.groupId, variant),
      groupType: group.groupType,
      buckets: group.buckets.flatMap((b) => translateBucket(ctx, group.groupType, b, variant)),
      owner: 'app',
    };
  };
  return [copy(), ...fromTunnelIngresses(plan, state, vs, side).map((u) => copy(u))];
}

function bucket(actions: Action[]): Bucket {
  return { weight: 0, watchPort: Port.ANY, watchGroup: 0xffffffff, actions };
}

/** Where host port v's host is, seen from `side`. */
export function hostPlacement(
  plan: MigrationPlan,
  state: MigrationState,
  vs: PlanSwitch,
  v: number,
  side: Side,
): 'here' | 'there' | 'both' {
  const host = hostOnPort(plan, vs, v);
  const loc = host ? state.hosts[host.name] : 'old';
  if (loc === 'toNew' || loc === 'toOld') return 'both';
  return loc === side ? 'here' : 'there';
}

/** Egress groups of one side: G(v) for every tunnelled host port, G_ft(v) too where FROM_TUNNEL variants live. */
export function egressGroups(
  plan: MigrationPlan,
  state: MigrationState,
  vs: PlanSwitch,
  side: Side,
): PhysGroup[] {
  const enc = encodingOf(plan);
  const ft = fromTunnelIngresses(plan, state, vs, side).length > 0;
  const out: PhysGroup[] = [];
  for (const v of tunnelledPorts(plan, vs)) {
    const where = hostPlacement(plan, state, vs, v, side);
    const local = bucket([{ type: 'output', port: physicalPort(vs, side, v), maxLen: 0 }]);
    const viaTunnel = (port: number) =>
      bucket([...enc.push(tunnelTag(vs, v)), { type: 'output', port, maxLen: 0 }]);
    const make = (fromTunnel: boolean): PhysGroup => {
      const remote = viaTunnel(fromTunnel ? Port.IN_PORT : vs[side].tunnelPort);
      const buckets = where === 'here' ? [local] : where === 'there' ? [remote] : [local, remote];
      return { groupId: egressGroup(v, fromTunnel), groupType: GroupType.ALL, buckets, owner: 'egress' };
    };
    out.push(make(false));
    if (ft) out.push(make(true));
  }
  return out;
}

// ---------------------------------------------------------------- shim rules

function shimRule(
  role: ShimRole,
  match: OxmField[],
  instructions: Instruction[],
  priority = SHIM_PRIORITY,
): PhysRule {
  const inPort = numericField({ fields: match }, 'in_port');
  const low = inPort !== undefined ? BigInt(inPort) : 0n;
  return {
    tableId: SHIM_TABLE,
    priority,
    match: { fields: match },
    instructions,
    cookie: SHIM_COOKIE | low,
    idleTimeout: 0,
    hardTimeout: 0,
    flags: 0,
    owner: { kind: 'shim', role },
  };
}

function setLogical(logical: number, fromTunnel: boolean): Instruction {
  return {
    type: 'writeMetadata',
    metadata: (BigInt(logical) << LOGICAL_SHIFT) | (fromTunnel ? FROM_TUNNEL : 0n),
    metadataMask: SHIM_METADATA_MASK,
  };
}

const GOTO_APP: Instruction = { type: 'gotoTable', tableId: APP_TABLE_OFFSET };
/** Packet-in length for arrival detection (enough for Ethernet + ARP). */
export const ARRIVAL_MAX_LEN = 128;

function notifyFirst(notify: boolean, rest: Action[]): Instruction[] {
  const actions: Action[] = notify
    ? [{ type: 'output', port: Port.CONTROLLER, maxLen: ARRIVAL_MAX_LEN }, ...rest]
    : rest;
  return actions.length > 0 ? [{ type: 'applyActions', actions }] : [];
}

/** in_port=p(v) -> logical v, goto 1. With `notify`, a copy goes to the controller (host arrival detection). */
export function classifierRule(vs: PlanSwitch, side: Side, v: number, notify = false): PhysRule {
  return shimRule(
    'classifier',
    [{ field: 'in_port', value: physicalPort(vs, side, v) }],
    [...notifyFirst(notify, []), setLogical(v, false), GOTO_APP],
  );
}

/** Packet-outs with in_port=CONTROLLER and output:TABLE enter the app tables as logical CONTROLLER. */
export function controllerClassifierRule(): PhysRule {
  return shimRule(
    'classifier',
    [{ field: 'in_port', value: Port.CONTROLLER }],
    [setLogical(LOGICAL_CONTROLLER, false), GOTO_APP],
  );
}

/** ASAP old side: tunnel + tag(v) -> pop, logical v + FROM_TUNNEL, goto 1 (first hop of a migrated host). */
export function tunnelIngressRule(plan: MigrationPlan, vs: PlanSwitch, v: number): PhysRule {
  const enc = encodingOf(plan);
  return shimRule(
    'tunnelIngress',
    [{ field: 'in_port', value: vs.old.tunnelPort }, ...enc.match(tunnelTag(vs, v))],
    [{ type: 'applyActions', actions: enc.pop() }, setLogical(v, true), GOTO_APP],
  );
}

/** ASAP new side: a migrated host's packets jump to the old switch: push tag(v), output tunnel. */
export function firstHopRule(plan: MigrationPlan, vs: PlanSwitch, v: number, notify = false): PhysRule {
  const enc = encodingOf(plan);
  return shimRule(
    'firstHop',
    [{ field: 'in_port', value: physicalPort(vs, 'new', v) }],
    notifyFirst(notify, [
      ...enc.push(tunnelTag(vs, v)),
      { type: 'output', port: vs.new.tunnelPort, maxLen: 0 },
    ]),
  );
}

/** Last hop: tunnel + tag(v) -> pop, output to the host port (no app rules involved). */
export function deliveryRule(plan: MigrationPlan, vs: PlanSwitch, side: Side, v: number): PhysRule {
  const enc = encodingOf(plan);
  return shimRule(
    'delivery',
    [{ field: 'in_port', value: vs[side].tunnelPort }, ...enc.match(tunnelTag(vs, v))],
    [
      {
        type: 'applyActions',
        actions: [...enc.pop(), { type: 'output', port: physicalPort(vs, side, v), maxLen: 0 }],
      },
    ],
  );
}

/** Tunnel switch: blind forwarding between the old and new copy of one virtual switch. */
export function tunnelForwardRules(plan: MigrationPlan, vs: PlanSwitch): PhysRule[] {
  const t = plan.tunnelSwitch.ports.get(vs.name);
  if (!t) throw new RangeError(`tunnel switch has no ports for ${vs.name}`);
  const fwd = (from: number, to: number) =>
    shimRule(
      'tunnelForward',
      [{ field: 'in_port', value: from }],
      [{ type: 'applyActions', actions: [{ type: 'output', port: to, maxLen: 0 }] }],
    );
  return [fwd(t.old, t.new), fwd(t.new, t.old)];
}

/** Explicit table-0 miss: drop (what OpenFlow 1.3 does anyway; explicit so it shows and counts). */
export function missRule(): PhysRule {
  return shimRule('miss', [], [], 0);
}

/** The physical switch a dpid names in the plan (a virtual switch copy, or the tunnel switch). */
export function physicalRole(
  plan: MigrationPlan,
  dpid: bigint,
): { kind: 'copy'; vs: PlanSwitch; side: Side } | { kind: 'tunnel' } | undefined {
  if (dpid === plan.tunnelSwitch.dpid) return { kind: 'tunnel' };
  const c = planIndex(plan).byPhysical.get(dpid);
  return c ? { kind: 'copy', ...c } : undefined;
}
