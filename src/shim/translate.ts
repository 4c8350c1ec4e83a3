// Translation between the app's virtual network and the physical switches, both ways.
//
// App -> physical: flow-mods are applied to the virtual table in the ledger first (OpenFlow semantics,
// incl. non-strict matching, cookie masks and out_port/out_group filters); every resulting change becomes
// strict operations on the rule's physical copies. Packet-outs run on one switch; group-mods, port-mods,
// meter/table-mods go to the copies.
// Physical -> app: packet-in, flow-removed (once per virtual rule, counters summed), port-status (once per
// virtual event), stats (merged by rule identity, never decreasing), errors (the app's own xid).
//
// Everything here is pure given the ShimContext (the ledger is mutated as bookkeeping). Every physical
// message returned is also recorded in the ledger (copies become live or retiring), so the caller must
// send what it gets, in order, per switch.

import type { AppCommand } from '../api/types.ts';
import {
  BadRequestCode,
  ErrorType,
  FlowModCommand,
  FlowRemovedReason,
  GroupModCommand,
  NO_BUFFER,
  PacketInReason,
  Port,
  PortConfig,
  PortReason,
  PortState,
  Table,
} from '../openflow/constants.ts';
import type {
  Action,
  ErrorExperimenterMsg,
  ErrorMsg,
  FlowRemoved,
  FlowStats,
  FlowStatsRequestBody,
  GroupStats,
  MultipartReplyBody,
  MultipartRequestBody,
  OxmField,
  PacketIn,
  PacketOut,
  Port as PortDesc,
  PortStats,
  PortStatus,
  TableStats,
} from '../openflow/types.ts';
import type { Counters, Ledger, RuleRecord, XidEntry } from './ledger.ts';
import { ruleForwardsTo, variantKey } from './ledger.ts';
import { bigField, matchCovers, matchKey, numericField } from './match.ts';
import type { MigrationState, PhysicalMessage, Side, VirtualRule } from './model.ts';
import { ShimCommandError } from './model.ts';
import {
  type ActionContext,
  APP_COPY_COOKIE,
  APP_TABLE_OFFSET,
  appGroupCopies,
  appGroupOf,
  appRuleCopies,
  appSides,
  COOKIE_OWNER_MASK,
  decodeMetadata,
  encodingOf,
  logicalToVirtualPort,
  type PhysRule,
  physicalRole,
  ruleIdOfCookie,
  SHIM_TABLE,
  translateActions,
} from './pipeline.ts';
import {
  hostOnPort,
  type MigrationPlan,
  type PlanSwitch,
  physicalPort,
  planIndex,
  planPort,
  switchByVdpid,
  tunnelTag,
  virtualPortOf,
} from './plan.ts';
import { addFlow, deleteFlow, groupMod, modifyFlow } from './target.ts';

export interface ShimContext {
  plan: MigrationPlan;
  state: MigrationState;
  ledger: Ledger;
  /** ms, the injected clock. */
  now: number;
  /** Physical port descriptions of a switch (the runtime's view), when known. */
  physicalPorts?: (dpid: bigint) => ReadonlyMap<number, PortDesc> | undefined;
}

/** An event for the app (virtual datapath id, virtual message). */
export type AppNotice =
  | { kind: 'flowRemoved'; vdpid: bigint; msg: FlowRemoved }
  | { kind: 'portStatus'; vdpid: bigint; msg: PortStatus };

export interface ShimOutput {
  /** To send, in order per switch. */
  physical: PhysicalMessage[];
  /** To deliver to the app. */
  app: AppNotice[];
}

function emptyOutput(): ShimOutput {
  return { physical: [], app: [] };
}

function emit(ctx: ShimContext, out: ShimOutput, dpid: bigint, msg: PhysicalMessage['msg']): void {
  ctx.ledger.recordPhysical(dpid, msg, ctx.now);
  out.physical.push({ dpid, msg });
}

function vswitch(ctx: ShimContext, vdpid: bigint): PlanSwitch {
  const vs = switchByVdpid(ctx.plan, vdpid);
  if (!vs) throw new RangeError(`no virtual switch ${vdpid.toString(16)}`);
  return vs;
}

function sideOfDpid(vs: PlanSwitch, dpid: bigint): Side {
  return vs.old.dpid === dpid ? 'old' : 'new';
}

/** The physical switches that carry the app's commands for a virtual switch in the current state. */
export function appTargets(ctx: Pick<ShimContext, 'plan' | 'state'>, vdpid: bigint): bigint[] {
  const vs = switchByVdpid(ctx.plan, vdpid);
  return vs ? appSides(ctx.state).map((s) => vs[s].dpid) : [];
}

/** Switches a virtual barrier must be joined over: the app sides plus any switch still holding copies. */
export function barrierTargets(ctx: ShimContext, vdpid: bigint): bigint[] {
  const vs = vswitch(ctx, vdpid);
  const out = new Set(appTargets(ctx, vdpid));
  for (const side of ['old', 'new'] as const)
    if (ctx.ledger.copiesOn(vs[side].dpid).length > 0) out.add(vs[side].dpid);
  return [...out];
}

// ================================================================ app -> physical

/** Translate one app command for virtual switch `vdpid`. Throws ShimCommandError (-> error to the app). */
export function translateAppCommand(ctx: ShimContext, vdpid: bigint, command: AppCommand): ShimOutput {
  switch (command.type) {
    case 'flowMod':
      return translateFlowMod(ctx, vdpid, command);
    case 'packetOut':
      return translatePacketOut(ctx, vdpid, command);
    case 'groupMod':
      return translateGroupMod(ctx, vdpid, command);
    case 'portMod':
      return translatePortMod(ctx, vdpid, command);
    case 'tableMod': {
      const out = emptyOutput();
      const tableId = command.tableId === Table.ALL ? Table.ALL : command.tableId + APP_TABLE_OFFSET;
      for (const dpid of appTargets(ctx, vdpid)) emit(ctx, out, dpid, { ...command, tableId });
      return out;
    }
    default: {
      const out = emptyOutput();
      for (const dpid of appTargets(ctx, vdpid)) emit(ctx, out, dpid, command);
      return out;
    }
  }
}

/** Every physical copy a virtual rule should have now (all app sides, all variants), with its switch. */
function currentCopies(
  ctx: ShimContext,
  vs: PlanSwitch,
  rule: VirtualRule,
): { dpid: bigint; rule: PhysRule }[] {
  return appSides(ctx.state).flatMap((side) =>
    appRuleCopies(ctx.plan, ctx.state, vs, rule, side, ctx.now).map((r) => ({
      dpid: vs[side].dpid,
      rule: r,
    })),
  );
}

export function translateFlowMod(
  ctx: ShimContext,
  vdpid: bigint,
  mod: Extract<AppCommand, { type: 'flowMod' }>,
): ShimOutput {
  const vs = vswitch(ctx, vdpid);
  const out = emptyOutput();
  const buffer = mod.bufferId !== NO_BUFFER ? takeBuffer(ctx, vdpid, mod.bufferId) : undefined;
  // Validate the translation before the ledger changes (a bad action must leave the virtual table alone).
  if (
    mod.command === FlowModCommand.ADD ||
    mod.command === FlowModCommand.MODIFY ||
    mod.command === FlowModCommand.MODIFY_STRICT
  ) {
    const probe: VirtualRule = {
      id: 0,
      vdpid,
      tableId: mod.tableId,
      priority: mod.priority,
      match: mod.command === FlowModCommand.ADD ? mod.match : { fields: [] },
      instructions: mod.instructions,
      cookie: mod.cookie,
      idleTimeout: mod.idleTimeout,
      hardTimeout: 0,
      flags: mod.flags,
      installedAt: ctx.now,
    };
    currentCopies(ctx, vs, probe);
  }
  const effect = ctx.ledger.applyFlowMod(vdpid, mod, ctx.now);
  let bufferUsed = false;
  for (const rule of effect.added) {
    for (const c of currentCopies(ctx, vs, rule)) {
      // A buffered packet is released through the pipeline from table 0 by the switch that holds it; a packet
      // that came through the tunnel must be re-tagged first, so that one goes out as a packet-out below.
      const useBuffer = buffer && !bufferUsed && !buffer.fromTunnel && c.dpid === buffer.dpid;
      emit(ctx, out, c.dpid, addFlow(c.rule, useBuffer ? buffer.bufferId : NO_BUFFER));
      if (useBuffer) bufferUsed = true;
    }
  }
  for (const rule of effect.modified) {
    for (const c of currentCopies(ctx, vs, rule)) emit(ctx, out, c.dpid, modifyFlow(c.rule));
  }
  for (const rule of effect.removed) retireRule(ctx, out, rule);
  if (buffer && !bufferUsed) emit(ctx, out, buffer.dpid, releaseBuffer(ctx, vs, buffer));
  return out;
}

function takeBuffer(ctx: ShimContext, vdpid: bigint, bufferId: number) {
  const b = ctx.ledger.takeBuffer(vdpid, bufferId);
  if (!b)
    throw new ShimCommandError(
      ErrorType.BAD_REQUEST,
      BadRequestCode.BUFFER_UNKNOWN,
      `unknown buffer ${bufferId}`,
    );
  return b;
}

/** Packet-out that runs a buffered packet through the pipeline again (re-tagged if it came from the tunnel). */
function releaseBuffer(
  ctx: ShimContext,
  vs: PlanSwitch,
  b: NonNullable<ReturnType<Ledger['takeBuffer']>>,
): Omit<PacketOut, 'xid'> {
  const enc = encodingOf(ctx.plan);
  const actions: Action[] = b.fromTunnel
    ? [...enc.push(tunnelTag(vs, b.logicalInPort)), { type: 'output', port: Port.TABLE, maxLen: 0 }]
    : [{ type: 'output', port: Port.TABLE, maxLen: 0 }];
  return { type: 'packetOut', bufferId: b.bufferId, inPort: b.inPort, actions, data: new Uint8Array(0) };
}

/** Delete every copy of a removed virtual rule; if none is left the app's flow-removed is due now. */
function retireRule(ctx: ShimContext, out: ShimOutput, rule: RuleRecord): void {
  for (const c of ctx.ledger.copiesOf(rule.id)) {
    if (c.state !== 'live') continue;
    emit(ctx, out, c.dpid, deleteFlow(copyAsRule(c)));
  }
  finishRemoval(ctx, out, rule);
}

function copyAsRule(c: {
  tableId: number;
  priority: number;
  match: PhysRule['match'];
  ruleId: number;
}): PhysRule {
  return {
    tableId: c.tableId,
    priority: c.priority,
    match: c.match,
    instructions: [],
    cookie: APP_COPY_COOKIE | BigInt(c.ruleId),
    idleTimeout: 0,
    hardTimeout: 0,
    flags: 0,
    owner: { kind: 'app', ruleId: c.ruleId, variant: 0 },
  };
}

/** When a removed rule has no copies left: one flow-removed to the app (if it asked), then forget it. */
function finishRemoval(ctx: ShimContext, out: ShimOutput, rule: RuleRecord): void {
  if (!rule.removal || ctx.ledger.copiesOf(rule.id).length > 0) return;
  if (rule.flags & 1 /* SEND_FLOW_REM */) {
    const c = ctx.ledger.reportRuleCounters(rule);
    const ms = Math.max(0, ctx.now - rule.installedAt);
    out.app.push({
      kind: 'flowRemoved',
      vdpid: rule.vdpid,
      msg: {
        type: 'flowRemoved',
        xid: 0,
        cookie: rule.cookie,
        priority: rule.priority,
        reason: rule.removal.reason,
        tableId: rule.tableId,
        durationSec: Math.floor(ms / 1000),
        durationNsec: (ms % 1000) * 1_000_000,
        idleTimeout: rule.idleTimeout,
        hardTimeout: rule.hardTimeout,
        packetCount: c.packets,
        byteCount: c.bytes,
        match: rule.match,
      },
    });
  }
  ctx.ledger.forgetRule(rule.id);
}

/** Which side a packet-out with logical ingress `u` runs on, and whether u's host is local there. */
function packetOutSide(
  ctx: ShimContext,
  vs: PlanSwitch,
  u: number | undefined,
): { side: Side; remote: boolean } {
  const sides = appSides(ctx.state);
  const host = u !== undefined ? hostOnPort(ctx.plan, vs, u) : undefined;
  const loc = host ? ctx.state.hosts[host.name] : undefined;
  const hostSide: Side | undefined = loc === undefined ? undefined : loc === 'new' ? 'new' : 'old';
  const side = hostSide && sides.includes(hostSide) ? hostSide : sides[0]!;
  return { side, remote: hostSide !== undefined && hostSide !== side };
}

export function translatePacketOut(
  ctx: ShimContext,
  vdpid: bigint,
  po: Extract<AppCommand, { type: 'packetOut' }>,
): ShimOutput {
  const vs = vswitch(ctx, vdpid);
  const out = emptyOutput();
  const virtualIn = po.inPort >>> 0;
  const u = virtualIn < Port.MAX ? virtualIn : undefined;
  if (u !== undefined && !planPort(vs, u))
    throw new ShimCommandError(ErrorType.BAD_REQUEST, BadRequestCode.BAD_PORT, `${vs.name} has no port ${u}`);

  if (po.bufferId !== NO_BUFFER) {
    // Buffer ids are per physical switch: the packet-out goes where the packet waits, with its physical in_port.
    const b = takeBuffer(ctx, vdpid, po.bufferId);
    const side = sideOfDpid(vs, b.dpid);
    const actx: ActionContext = { plan: ctx.plan, vs, side, packetOut: true, ingress: b.logicalInPort };
    if (b.fromTunnel) actx.fromTunnel = b.logicalInPort;
    const actions = translateActions(actx, po.actions);
    emit(ctx, out, b.dpid, {
      type: 'packetOut',
      bufferId: b.bufferId,
      inPort: b.inPort,
      actions,
      data: po.data,
    });
    return out;
  }

  const { side, remote } = packetOutSide(ctx, vs, u);
  const dpid = vs[side].dpid;
  const usesTable = po.actions.some((a) => a.type === 'output' && a.port === Port.TABLE);
  let inPort: number;
  let actx: ActionContext;
  if (!usesTable || u === undefined) {
    // No pipeline run: send from CONTROLLER and apply the ingress rules (skip u in FLOOD, IN_PORT -> u) here.
    inPort = Port.CONTROLLER;
    actx = { plan: ctx.plan, vs, side, packetOut: true, inPortIsController: true };
    if (u !== undefined) actx.ingress = u;
  } else if (remote) {
    // u's host is in the other network (ASAP old side): pose as the tunnelled packet it would be.
    inPort = vs[side].tunnelPort;
    actx = { plan: ctx.plan, vs, side, packetOut: true, ingress: u, fromTunnel: u };
  } else {
    inPort = physicalPort(vs, side, u);
    actx = { plan: ctx.plan, vs, side, packetOut: true, ingress: u };
  }
  const actions = translateActions(actx, po.actions);
  emit(ctx, out, dpid, { type: 'packetOut', bufferId: NO_BUFFER, inPort, actions, data: po.data });
  return out;
}

export function translateGroupMod(
  ctx: ShimContext,
  vdpid: bigint,
  mod: Extract<AppCommand, { type: 'groupMod' }>,
): ShimOutput {
  const vs = vswitch(ctx, vdpid);
  const out = emptyOutput();
  const sides = appSides(ctx.state);
  if (mod.command !== GroupModCommand.DELETE) {
    // Validate bucket translation before the ledger changes.
    for (const side of sides) appGroupCopies(ctx.plan, ctx.state, vs, { vdpid, ...mod }, side);
  }
  const effect = ctx.ledger.applyGroupMod(vdpid, mod, ctx.now);
  // Rules forwarding to a deleted group go with it (OpenFlow semantics): delete their copies first.
  for (const r of effect.removedRules) retireRule(ctx, out, r);
  const g = effect.added ?? effect.modified;
  if (g) {
    const command = effect.added ? GroupModCommand.ADD : GroupModCommand.MODIFY;
    for (const side of sides) {
      for (const pg of appGroupCopies(ctx.plan, ctx.state, vs, g, side))
        emit(ctx, out, vs[side].dpid, groupMod(command, pg));
    }
  }
  for (const removed of effect.removed) {
    for (const side of sides) {
      for (const pg of appGroupCopies(ctx.plan, ctx.state, vs, removed, side))
        emit(ctx, out, vs[side].dpid, groupMod(GroupModCommand.DELETE, pg));
    }
  }
  return out;
}

export function translatePortMod(
  ctx: ShimContext,
  vdpid: bigint,
  mod: Extract<AppCommand, { type: 'portMod' }>,
): ShimOutput {
  const vs = vswitch(ctx, vdpid);
  if (!planPort(vs, mod.portNo))
    throw new ShimCommandError(
      ErrorType.PORT_MOD_FAILED,
      0 /* BAD_PORT */,
      `${vs.name} has no port ${mod.portNo}`,
    );
  const out = emptyOutput();
  // Both copies, so the setting holds before, during and after the migration.
  for (const side of ['old', 'new'] as const) {
    const dpid = vs[side].dpid;
    const portNo = physicalPort(vs, side, mod.portNo);
    const hwAddr = ctx.physicalPorts?.(dpid)?.get(portNo)?.hwAddr ?? mod.hwAddr;
    emit(ctx, out, dpid, { ...mod, portNo, hwAddr });
  }
  return out;
}

// ================================================================ physical -> app

export type PacketInResult =
  | { kind: 'packetIn'; vdpid: bigint; msg: PacketIn; inPort: number }
  /** A moving host showed up at its destination (mover 'external'). */
  | { kind: 'arrival'; host: string; side: Side }
  | { kind: 'ignore'; why: string };

export function translatePacketIn(ctx: ShimContext, dpid: bigint, msg: PacketIn): PacketInResult {
  const role = physicalRole(ctx.plan, dpid);
  if (role?.kind !== 'copy') return { kind: 'ignore', why: 'not a copy of a virtual switch' };
  const { vs, side } = role;
  const physIn = numericField(msg.match, 'in_port');

  if (msg.tableId === SHIM_TABLE) {
    const v = physIn !== undefined ? virtualPortOf(vs, side, physIn) : undefined;
    const host = v !== undefined ? hostOnPort(ctx.plan, vs, v) : undefined;
    const loc = host ? ctx.state.hosts[host.name] : undefined;
    if (host && ((loc === 'toNew' && side === 'new') || (loc === 'toOld' && side === 'old')))
      return { kind: 'arrival', host: host.name, side };
    return { kind: 'ignore', why: 'table-0 packet-in' };
  }

  const meta = decodeMetadata(bigField(msg.match, 'metadata')?.value ?? 0n);
  let inPort: number;
  if (meta.logical !== 0) inPort = logicalToVirtualPort(meta.logical);
  else if (physIn !== undefined && virtualPortOf(vs, side, physIn) !== undefined)
    inPort = virtualPortOf(vs, side, physIn)!;
  else return { kind: 'ignore', why: 'no logical in_port' };

  const ruleId = ruleIdOfCookie(msg.cookie);
  const rule = ruleId !== undefined ? ctx.ledger.rule(ruleId) : undefined;
  const isTableMiss = rule !== undefined && rule.priority === 0 && rule.match.fields.length === 0;
  const fields: OxmField[] = [{ field: 'in_port', value: inPort }];
  if (meta.app !== 0n) fields.push({ field: 'metadata', value: meta.app });
  for (const f of msg.match.fields) {
    if (f.field !== 'in_port' && f.field !== 'in_phy_port' && f.field !== 'metadata') fields.push(f);
  }
  let bufferId = NO_BUFFER;
  if (msg.bufferId !== NO_BUFFER && physIn !== undefined) {
    bufferId = ctx.ledger.allocBuffer(vs.dpid, {
      dpid,
      bufferId: msg.bufferId,
      inPort: physIn,
      logicalInPort: inPort,
      fromTunnel: meta.fromTunnel,
    });
  }
  const virtualMsg: PacketIn = {
    ...msg,
    bufferId,
    tableId: Math.max(0, msg.tableId - APP_TABLE_OFFSET),
    reason: isTableMiss && msg.reason === PacketInReason.ACTION ? PacketInReason.NO_MATCH : msg.reason,
    cookie: rule ? rule.cookie : msg.cookie,
    match: { fields },
  };
  return { kind: 'packetIn', vdpid: vs.dpid, msg: virtualMsg, inPort };
}

/**
 * A physical copy reported its removal. Returns the messages that keep the virtual rule whole (re-install
 * an idle copy while others are busy; delete the other copies once the rule expired) and, once every copy
 * has reported, the one flow-removed the app is owed.
 */
export function translateFlowRemoved(ctx: ShimContext, dpid: bigint, msg: FlowRemoved): ShimOutput {
  const out = emptyOutput();
  const ruleId = ruleIdOfCookie(msg.cookie);
  if (ruleId === undefined) return out;
  const rule = ctx.ledger.rule(ruleId);
  const copy = ctx.ledger.copy(dpid, ruleId, variantKey(msg.match));
  if (!rule || !copy) return out;
  const final: Counters = { packets: msg.packetCount, bytes: msg.byteCount };

  if (rule.removal || copy.state === 'retiring') {
    ctx.ledger.dropCopy(copy, final);
    finishRemoval(ctx, out, rule);
    return out;
  }

  const expireRule = (reason: number) => {
    ctx.ledger.markRemoved(rule, reason, ctx.now);
    ctx.ledger.dropCopy(copy, final);
    retireRule(ctx, out, rule);
  };

  if (msg.reason === FlowRemovedReason.HARD_TIMEOUT) {
    // Copies carry the same remaining hard timeout: the virtual rule has expired.
    expireRule(FlowRemovedReason.HARD_TIMEOUT);
    return out;
  }

  const vs = planIndex(ctx.plan).byPhysical.get(dpid)?.vs;
  const definition = vs
    ? appRuleCopies(ctx.plan, ctx.state, vs, rule, sideOfDpid(vs, dpid), ctx.now).find(
        (r) => variantKey(r.match) === copy.variant,
      )
    : undefined;

  if (msg.reason === FlowRemovedReason.IDLE_TIMEOUT) {
    // Idle on every copy: each other copy idle-expired within the last idle period.
    const window = rule.idleTimeout * 1000;
    const others = ctx.ledger.copiesOf(rule.id).filter((c) => c !== copy);
    const allIdle = others.every((c) => c.idleExpiredAt !== undefined && ctx.now - c.idleExpiredAt <= window);
    if (allIdle || !definition) {
      expireRule(FlowRemovedReason.IDLE_TIMEOUT);
      return out;
    }
    ctx.ledger.reincarnateCopy(copy, final, ctx.now);
    emit(ctx, out, dpid, addFlow(definition));
    return out;
  }

  // Deleted behind the shim's back (or evicted): put it back if it still belongs there.
  if (definition) {
    ctx.ledger.reincarnateCopy(copy, final, ctx.now);
    copy.idleExpiredAt = undefined;
    emit(ctx, out, dpid, addFlow(definition));
  } else {
    ctx.ledger.dropCopy(copy, final);
  }
  return out;
}

/**
 * After a reconnect or a controller restart: the copies a switch really holds (its flow dump). Copies the
 * ledger expected but the switch lacks are gone for good (their flow-removed was lost): counters as last
 * seen, and removals waiting on them complete. Present copies update their counters. Run before
 * reconcileSwitch(), whose messages then put missing copies back.
 */
export function settleCopies(ctx: ShimContext, dpid: bigint, flows: readonly FlowStats[]): ShimOutput {
  const out = emptyOutput();
  const present = new Set<string>();
  for (const f of flows) {
    const ruleId = ruleIdOfCookie(f.cookie);
    if (ruleId === undefined) continue;
    const variant = variantKey(f.match);
    present.add(`${ruleId}/${variant}`);
    const c = ctx.ledger.copy(dpid, ruleId, variant);
    if (c) ctx.ledger.observeCopyCounters(c, { packets: f.packetCount, bytes: f.byteCount });
  }
  const touched = new Set<number>();
  for (const c of ctx.ledger.copiesOn(dpid)) {
    if (present.has(`${c.ruleId}/${c.variant}`)) continue;
    touched.add(c.ruleId);
    ctx.ledger.dropCopy(c);
  }
  for (const id of touched) {
    const r = ctx.ledger.rule(id);
    if (r) finishRemoval(ctx, out, r);
  }
  return out;
}

/** A switch went away: its copies' counters are final as last seen; removals waiting on it complete. */
export function copiesLost(ctx: ShimContext, dpid: bigint): ShimOutput {
  const out = emptyOutput();
  const rules = new Set<number>();
  for (const c of ctx.ledger.copiesOn(dpid)) {
    rules.add(c.ruleId);
    ctx.ledger.dropCopy(c);
  }
  for (const id of rules) {
    const r = ctx.ledger.rule(id);
    if (r) finishRemoval(ctx, out, r);
  }
  return out;
}

// ---------------------------------------------------------------- ports

type PortLookup = (dpid: bigint) => ReadonlyMap<number, PortDesc> | undefined;

/** The sides whose physical port stands for virtual port v right now (none while its host is moving). */
function relevantSides(ctx: ShimContext, vs: PlanSwitch, v: number): Side[] {
  const host = hostOnPort(ctx.plan, vs, v);
  if (host) {
    const loc = ctx.state.hosts[host.name];
    return loc === 'old' || loc === 'new' ? [loc] : [];
  }
  return appSides(ctx.state);
}

/**
 * The virtual switch's ports as the app sees them: stable number, MAC and name; link state and config
 * combined over the copies that carry the port now (down if any of them is down). Tunnel ports and
 * unmapped physical ports never appear.
 */
export function virtualPortView(ctx: ShimContext, vdpid: bigint, portsOf: PortLookup): Map<number, PortDesc> {
  const vs = vswitch(ctx, vdpid);
  const prev = ctx.ledger.portView(vdpid);
  const view = new Map<number, PortDesc>();
  for (const p of vs.ports) {
    const v = p.port;
    const copies = relevantSides(ctx, vs, v)
      .map((side) => portsOf(vs[side].dpid)?.get(physicalPort(vs, side, v)))
      .filter((x): x is PortDesc => x !== undefined);
    const before = prev?.get(v);
    if (copies.length === 0) {
      if (before) view.set(v, before);
      else {
        const any = (['old', 'new'] as const)
          .map((side) => portsOf(vs[side].dpid)?.get(physicalPort(vs, side, v)))
          .find((x) => x !== undefined);
        if (any) view.set(v, { ...any, portNo: v, name: p.name ?? any.name });
      }
      continue;
    }
    const first = copies[0]!;
    const down = (bit: number, field: 'config' | 'state') => copies.some((c) => (c[field] & bit) !== 0);
    const allLive = copies.every((c) => (c.state & PortState.LIVE) !== 0);
    let state = first.state & ~(PortState.LINK_DOWN | PortState.BLOCKED | PortState.LIVE);
    if (down(PortState.LINK_DOWN, 'state')) state |= PortState.LINK_DOWN;
    if (down(PortState.BLOCKED, 'state')) state |= PortState.BLOCKED;
    if (allLive) state |= PortState.LIVE;
    let config = 0;
    for (const bit of [PortConfig.PORT_DOWN, PortConfig.NO_RECV, PortConfig.NO_FWD, PortConfig.NO_PACKET_IN])
      if (down(bit, 'config')) config |= bit;
    const oldCopy = portsOf(vs.old.dpid)?.get(physicalPort(vs, 'old', v));
    view.set(v, {
      ...first,
      portNo: v,
      hwAddr: before?.hwAddr ?? oldCopy?.hwAddr ?? first.hwAddr,
      name: p.name ?? before?.name ?? oldCopy?.name ?? first.name,
      config,
      state,
    });
  }
  return view;
}

function samePort(a: PortDesc, b: PortDesc): boolean {
  return (
    a.config === b.config &&
    a.state === b.state &&
    a.curr === b.curr &&
    a.advertised === b.advertised &&
    a.supported === b.supported &&
    a.peer === b.peer &&
    a.currSpeed === b.currSpeed &&
    a.maxSpeed === b.maxSpeed
  );
}

/**
 * Recompute a virtual switch's port view and return the port-status events the app is owed (one per
 * virtual change). Call after any physical port-status on one of its copies and after every host move.
 * The first call only records the view (the app reads it at switch-up).
 */
export function updatePortView(ctx: ShimContext, vdpid: bigint, portsOf: PortLookup): AppNotice[] {
  const view = virtualPortView(ctx, vdpid, portsOf);
  const prev = ctx.ledger.portView(vdpid);
  ctx.ledger.setPortView(vdpid, view);
  if (!prev) return [];
  const events: AppNotice[] = [];
  const status = (reason: number, port: PortDesc): AppNotice => ({
    kind: 'portStatus',
    vdpid,
    msg: { type: 'portStatus', xid: 0, reason, port },
  });
  for (const [v, p] of view) {
    const before = prev.get(v);
    if (!before) events.push(status(PortReason.ADD, p));
    else if (!samePort(before, p)) events.push(status(PortReason.MODIFY, p));
  }
  for (const [v, p] of prev) if (!view.has(v)) events.push(status(PortReason.DELETE, p));
  return events;
}

/** A physical port-status: the virtual events it causes (none for tunnel ports or a moving host's port). */
export function translatePortStatus(ctx: ShimContext, dpid: bigint, portsOf: PortLookup): AppNotice[] {
  const role = physicalRole(ctx.plan, dpid);
  if (role?.kind !== 'copy') return [];
  return updatePortView(ctx, role.vs.dpid, portsOf);
}

// ---------------------------------------------------------------- stats

export interface StatsFanout {
  dpid: bigint;
  body: MultipartRequestBody;
}

const ALL_APP_COPIES: FlowStatsRequestBody = {
  tableId: Table.ALL,
  outPort: Port.ANY,
  outGroup: 0xffffffff,
  cookie: APP_COPY_COOKIE,
  cookieMask: COOKIE_OWNER_MASK,
  match: { fields: [] },
};

/** The physical requests an app stats request fans out to (empty: answered from the ledger alone). */
export function statsFanout(ctx: ShimContext, vdpid: bigint, body: MultipartRequestBody): StatsFanout[] {
  const vs = vswitch(ctx, vdpid);
  const withCopies = new Set(appTargets(ctx, vdpid));
  for (const side of ['old', 'new'] as const)
    if (ctx.ledger.copiesOn(vs[side].dpid).length > 0) withCopies.add(vs[side].dpid);
  const first = appTargets(ctx, vdpid)[0]!;
  switch (body.kind) {
    case 'flow':
      return [...withCopies].map((dpid) => ({ dpid, body: { kind: 'flow', ...ALL_APP_COPIES } }));
    case 'aggregate':
      return [...withCopies].map((dpid) => ({ dpid, body: { kind: 'flow', ...ALL_APP_COPIES } }));
    case 'table':
      return [...withCopies].map((dpid) => ({ dpid, body: { kind: 'table' } }));
    case 'portStats':
      return [vs.old.dpid, vs.new.dpid].map((dpid) => ({
        dpid,
        body: { kind: 'portStats', portNo: Port.ANY },
      }));
    case 'group':
      return appTargets(ctx, vdpid).map((dpid) => ({ dpid, body: { kind: 'group', groupId: 0xfffffffc } }));
    case 'groupDesc':
    case 'portDesc':
      return [];
    case 'queue':
      return [
        {
          dpid: first,
          body: {
            ...body,
            portNo:
              body.portNo < Port.MAX ? physicalPort(vs, appSides(ctx.state)[0]!, body.portNo) : body.portNo,
          },
        },
      ];
    default:
      return [{ dpid: first, body }];
  }
}

function durationOf(ms: number): { durationSec: number; durationNsec: number } {
  const m = Math.max(0, ms);
  return { durationSec: Math.floor(m / 1000), durationNsec: (m % 1000) * 1_000_000 };
}

/** Feed physical flow stats of app copies into the ledger (counter bookkeeping). */
function observeFlowStats(ctx: ShimContext, dpid: bigint, stats: readonly FlowStats[]): void {
  for (const s of stats) {
    const ruleId = ruleIdOfCookie(s.cookie);
    if (ruleId === undefined) continue;
    const c = ctx.ledger.copy(dpid, ruleId, variantKey(s.match));
    if (c) ctx.ledger.observeCopyCounters(c, { packets: s.packetCount, bytes: s.byteCount });
  }
}

function selectRules(ctx: ShimContext, vdpid: bigint, req: FlowStatsRequestBody): RuleRecord[] {
  return ctx.ledger
    .rules(vdpid)
    .filter(
      (r) =>
        (req.tableId === Table.ALL || r.tableId === req.tableId) &&
        (r.cookie & req.cookieMask) === (req.cookie & req.cookieMask) &&
        ruleForwardsTo(r, req.outPort, req.outGroup) &&
        matchCovers(req.match, r.match),
    )
    .sort((a, b) => a.tableId - b.tableId || b.priority - a.priority || a.id - b.id);
}

/** Merge the physical replies of a fan-out into the app's reply. */
export function mergeStats(
  ctx: ShimContext,
  vdpid: bigint,
  request: MultipartRequestBody,
  replies: readonly { dpid: bigint; body: MultipartReplyBody }[],
  portsOf?: PortLookup,
): MultipartReplyBody {
  const vs = vswitch(ctx, vdpid);
  switch (request.kind) {
    case 'flow':
    case 'aggregate': {
      for (const r of replies) if (r.body.kind === 'flow') observeFlowStats(ctx, r.dpid, r.body.stats);
      const rules = selectRules(ctx, vdpid, request);
      const stats: FlowStats[] = rules.map((r) => {
        const c = ctx.ledger.reportRuleCounters(r);
        return {
          tableId: r.tableId,
          ...durationOf(ctx.now - r.installedAt),
          priority: r.priority,
          idleTimeout: r.idleTimeout,
          hardTimeout: r.hardTimeout,
          flags: r.flags,
          cookie: r.cookie,
          packetCount: c.packets,
          byteCount: c.bytes,
          match: r.match,
          instructions: r.instructions,
        };
      });
      if (request.kind === 'flow') return { kind: 'flow', stats };
      return {
        kind: 'aggregate',
        packetCount: stats.reduce((n, s) => n + s.packetCount, 0n),
        byteCount: stats.reduce((n, s) => n + s.byteCount, 0n),
        flowCount: stats.length,
      };
    }
    case 'table': {
      const sums = new Map<number, Counters>();
      for (const r of replies) {
        if (r.body.kind !== 'table') continue;
        for (const t of r.body.stats) {
          if (t.tableId < APP_TABLE_OFFSET) continue;
          const c = ctx.ledger.observeTableCounters(r.dpid, t.tableId, t.lookupCount, t.matchedCount);
          const v = t.tableId - APP_TABLE_OFFSET;
          const prev = sums.get(v) ?? { packets: 0n, bytes: 0n };
          sums.set(v, { packets: prev.packets + c.packets, bytes: prev.bytes + c.bytes });
        }
      }
      const rules = ctx.ledger.rules(vdpid);
      const stats: TableStats[] = [...sums]
        .sort((a, b) => a[0] - b[0])
        .map(([tableId, c]) => {
          const f = ctx.ledger.tableFloor(vdpid, tableId, c);
          return {
            tableId,
            activeCount: rules.filter((r) => r.tableId === tableId).length,
            lookupCount: f.packets,
            matchedCount: f.bytes,
          };
        });
      return { kind: 'table', stats };
    }
    case 'portStats': {
      const byDpid = new Map<bigint, Map<number, PortStats>>();
      for (const r of replies) {
        if (r.body.kind === 'portStats') byDpid.set(r.dpid, new Map(r.body.stats.map((s) => [s.portNo, s])));
      }
      const wanted = request.portNo === Port.ANY ? vs.ports.map((p) => p.port) : [request.portNo];
      const stats: PortStats[] = [];
      for (const v of wanted.sort((a, b) => a - b)) {
        if (!planPort(vs, v)) continue;
        let total: bigint[] = new Array(PORT_COUNTERS.length).fill(0n);
        let duration = 0;
        for (const side of ['old', 'new'] as const) {
          const dpid = vs[side].dpid;
          const p = physicalPort(vs, side, v);
          const s = byDpid.get(dpid)?.get(p);
          const values = ctx.ledger.observePortCounters(
            dpid,
            p,
            s ? PORT_COUNTERS.map((k) => s[k]) : undefined,
            PORT_COUNTERS.length,
          );
          total = total.map((t, i) => t + (values[i] ?? 0n));
          if (s) duration = Math.max(duration, s.durationSec * 1000 + Math.floor(s.durationNsec / 1_000_000));
        }
        total = ctx.ledger.portFloor(vdpid, v, total);
        const out = { portNo: v, ...durationOf(duration) } as PortStats;
        PORT_COUNTERS.forEach((k, i) => {
          out[k] = total[i]!;
        });
        stats.push(out);
      }
      return { kind: 'portStats', stats };
    }
    case 'group': {
      const byGroup = new Map<number, GroupStats>();
      for (const r of replies) {
        if (r.body.kind !== 'group') continue;
        for (const g of r.body.stats) {
          const app = appGroupOf(g.groupId);
          if (!app || !ctx.ledger.group(vdpid, app.groupId)) continue;
          if (request.groupId !== 0xfffffffc && request.groupId !== app.groupId) continue;
          const prev = byGroup.get(app.groupId);
          if (!prev) {
            byGroup.set(app.groupId, {
              ...g,
              groupId: app.groupId,
              refCount: ctx.ledger.rules(vdpid).filter((x) => ruleForwardsTo(x, Port.ANY, app.groupId))
                .length,
            });
          } else {
            prev.packetCount += g.packetCount;
            prev.byteCount += g.byteCount;
            prev.durationSec = Math.max(prev.durationSec, g.durationSec);
            prev.bucketStats = prev.bucketStats.map((b, i) => ({
              packetCount: b.packetCount + (g.bucketStats[i]?.packetCount ?? 0n),
              byteCount: b.byteCount + (g.bucketStats[i]?.byteCount ?? 0n),
            }));
          }
        }
      }
      return { kind: 'group', stats: [...byGroup.values()].sort((a, b) => a.groupId - b.groupId) };
    }
    case 'groupDesc':
      return {
        kind: 'groupDesc',
        groups: ctx.ledger
          .groups(vdpid)
          .map((g) => ({ groupType: g.groupType, groupId: g.groupId, buckets: g.buckets }))
          .sort((a, b) => a.groupId - b.groupId),
      };
    case 'portDesc': {
      const view = portsOf ? virtualPortView(ctx, vdpid, portsOf) : (ctx.ledger.portView(vdpid) ?? new Map());
      return { kind: 'portDesc', ports: [...view.values()].sort((a, b) => a.portNo - b.portNo) };
    }
    default: {
      const first = replies[0];
      if (!first) throw new RangeError(`no reply to merge for ${request.kind}`);
      if (first.body.kind === 'tableFeatures') {
        // Hide the shim's table 0: app table k is physical table k+1.
        return {
          kind: 'tableFeatures',
          features: first.body.features
            .filter((f) => f.tableId >= APP_TABLE_OFFSET)
            .map((f) => ({
              ...f,
              tableId: f.tableId - APP_TABLE_OFFSET,
              properties: f.properties.map((p) =>
                p.type === 'nextTables' || p.type === 'nextTablesMiss'
                  ? {
                      ...p,
                      tableIds: p.tableIds
                        .filter((t) => t > APP_TABLE_OFFSET)
                        .map((t) => t - APP_TABLE_OFFSET),
                    }
                  : p,
              ),
            })),
        };
      }
      if (first.body.kind === 'queue') {
        const side = sideOfDpid(vs, first.dpid);
        return {
          kind: 'queue',
          stats: first.body.stats.flatMap((q) => {
            const v = virtualPortOf(vs, side, q.portNo);
            return v === undefined ? [] : [{ ...q, portNo: v }];
          }),
        };
      }
      return first.body;
    }
  }
}

/** A physical port was attached (port-status ADD): its counters start a new series at their next reading. */
export function portAttached(ctx: ShimContext, dpid: bigint, portNo: number): void {
  ctx.ledger.restartPortSeries(dpid, portNo, PORT_COUNTERS.length);
}

/** Port counters read from a switch outside an app request (e.g. the baseline of an attached port). */
export function observePortStats(ctx: ShimContext, dpid: bigint, stats: readonly PortStats[]): void {
  for (const s of stats)
    ctx.ledger.observePortCounters(
      dpid,
      s.portNo,
      PORT_COUNTERS.map((k) => s[k]),
      PORT_COUNTERS.length,
    );
}

const PORT_COUNTERS = [
  'rxPackets',
  'txPackets',
  'rxBytes',
  'txBytes',
  'rxDropped',
  'txDropped',
  'rxErrors',
  'txErrors',
  'rxFrameErr',
  'rxOverErr',
  'rxCrcErr',
  'collisions',
] as const satisfies readonly (keyof PortStats)[];

// ---------------------------------------------------------------- errors

export interface AppError {
  vdpid: bigint;
  msg: ErrorMsg | ErrorExperimenterMsg;
  request: XidEntry['request'];
}

/**
 * A physical error, reported against the app's xid and command (once per app command, however many
 * copies failed). Undefined for errors about the shim's own messages. `encode` (optional) renders the
 * app's message for the error's data field; without it the data is left empty, so physical details
 * (tables, metadata, tunnel ports) never reach the app.
 */
export function translateError(
  ctx: ShimContext,
  dpid: bigint,
  msg: ErrorMsg | ErrorExperimenterMsg,
  encode?: (m: XidEntry['request']) => Uint8Array,
): AppError | undefined {
  const entry = ctx.ledger.lookupXid(dpid, msg.xid);
  if (!entry || entry.reported) return undefined;
  ctx.ledger.markXidReported(entry);
  const data = encode ? encode(entry.request).subarray(0, 64) : new Uint8Array(0);
  return { vdpid: entry.vdpid, msg: { ...msg, xid: entry.appXid, data }, request: entry.request };
}

/**
 * A switch refused an app flow-mod that added a rule. On a real switch the rule is then not in the table, so
 * it must not stay in the virtual one either (else flow stats list it, and a later copy of it, e.g. ASAP's
 * finalize, is refused again and fails the transition). Its copies go at once: one another switch accepted
 * is deleted, quietly (the app never had the rule: no flow-removed). Limitation: an ADD that replaced an
 * identical rule and was refused takes the replaced rule with it (the switch would have kept it).
 */
export function revokeRefusedRule(
  ctx: ShimContext,
  dpid: bigint,
  msg: ErrorMsg | ErrorExperimenterMsg,
): ShimOutput {
  const out = emptyOutput();
  const req = ctx.ledger.lookupXid(dpid, msg.xid)?.request;
  if (req?.type !== 'flowMod' || req.command !== FlowModCommand.ADD) return out;
  const vdpid = ctx.ledger.lookupXid(dpid, msg.xid)!.vdpid;
  const key = matchKey(req.match);
  const rule = ctx.ledger
    .rules(vdpid)
    .find((r) => r.tableId === req.tableId && r.priority === req.priority && matchKey(r.match) === key);
  // Only while the refused ADD is what the virtual table holds (not a later ADD or MODIFY of the same rule).
  if (!rule || rule.cookie !== req.cookie || !sameInstructions(rule.instructions, req.instructions))
    return out;
  for (const c of ctx.ledger.copiesOf(rule.id)) {
    if (c.state === 'live') emit(ctx, out, c.dpid, deleteFlow(copyAsRule(c)));
    ctx.ledger.dropCopy(c);
  }
  ctx.ledger.markRemoved(rule, FlowRemovedReason.DELETE, ctx.now);
  ctx.ledger.forgetRule(rule.id);
  return out;
}

function sameInstructions(a: readonly unknown[], b: readonly unknown[]): boolean {
  if (a === b) return true;
  const text = (x: unknown) =>
    JSON.stringify(x, (_k, v) => (typeof v === 'bigint' ? `${v}n` : v instanceof Uint8Array ? [...v] : v));
  return text(a) === text(b);
}

/** Record the xids a translated app command went out with (call once the runtime assigned them). */
export function recordCommandXids(
  ledger: Ledger,
  vdpid: bigint,
  appXid: number,
  request: XidEntry['request'],
  sent: readonly { dpid: bigint; xid: number }[],
): void {
  for (const s of sent) ledger.recordXid(s.dpid, s.xid, { vdpid, appXid, request });
}
