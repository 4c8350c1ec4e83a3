// Tunnel ASAP and Tunnel ALAP as pure policies: for each transition of the migration (prepare, start
// moving a host, host arrived, finalize, abort) the ordered steps of physical messages that carry the
// network from one state to the next without opening a window without rules.
//
// Where things live in each state (target.ts / pipeline.ts):
//   ASAP  app rules only on old until finalize. A migrated host's packets jump to its old switch at the
//         first hop (new: in_port=p -> tag, tunnel; old: tunnel+tag -> logical port + FROM_TUNNEL) and come
//         back at the last hop (old G(v) -> tunnel; new: tunnel+tag -> host port). Finalize copies every app
//         rule to new (remaining hard timeout), switches new's host ports to the app pipeline, then deletes
//         old's rules, the tunnel rules and T's rules.
//   ALAP  app rules on old and new from prepare on; a packet stays in its sender's network and is tunnelled
//         only at the last hop (G(v) -> tunnel, delivered by the counterpart). Finalize deletes old and T.
// A move is make-before-break on the egress groups: G(v) goes local -> both -> remote (and on the other
// side remote -> both -> local), with the host moved while both copies are delivered.

import type { AppCommand } from '../api/types.ts';
import { PortConfig } from '../openflow/constants.ts';
import type { Ledger } from './ledger.ts';
import type { Algorithm, HostLocation, MigrationState, PhysicalMessage, Side, Step } from './model.ts';
import { MigrationStateError } from './model.ts';
import { appSides } from './pipeline.ts';
import type { MigrationPlan } from './plan.ts';
import { planIndex, switchByVdpid } from './plan.ts';
import { diffStates, targetState } from './target.ts';
import { appTargets, type ShimContext } from './translate.ts';

export type TransitionKind = 'prepare' | 'startMove' | 'hostArrived' | 'cancelMove' | 'finalize' | 'abort';

export interface Transition {
  kind: TransitionKind;
  host?: string;
  from: MigrationState;
  to: MigrationState;
  /** Apply in order; each step ends with barriers on the switches it touched. */
  steps: Step[];
}

export interface PolicyContext {
  plan: MigrationPlan;
  ledger: Ledger;
  state: MigrationState;
  now: number;
  physicalPorts?: ShimContext['physicalPorts'];
}

export interface MigrationPolicy {
  readonly algorithm: Algorithm;
  /** The sides that carry app rules in a state (where app commands go). */
  appSides(state: MigrationState): Side[];
  /** Set up the tunnels (and, for ALAP, copy the app rules to the new network). */
  prepare(ctx: PolicyContext): Transition;
  /** Before the host moves (either direction): deliver to both places, accept from both. */
  startMove(ctx: PolicyContext, host: string): Transition;
  /** The host is at its destination: steer everything there only. */
  hostArrived(ctx: PolicyContext, host: string): Transition;
  /** The move did not happen (the mover failed, the host is still at its origin): back to where it was. */
  cancelMove(ctx: PolicyContext, host: string): Transition;
  /** Every host is in the new network: leave the old network and the tunnel switch clean. */
  finalize(ctx: PolicyContext): Transition;
  /** Every host is back in the old network: remove everything the migration installed. */
  abort(ctx: PolicyContext): Transition;
  /** The physical switches an app command must reach in the current state. */
  appCommandTargets(ctx: ShimContext, vdpid: bigint, command: AppCommand): bigint[];
}

/** The state before any migration: every host in the old network. */
export function initialState(plan: MigrationPlan, algorithm: Algorithm = plan.algorithm): MigrationState {
  return {
    algorithm,
    phase: 'idle',
    hosts: Object.fromEntries(plan.hosts.map((h) => [h.name, 'old' as HostLocation])),
  };
}

/** Hosts that must be moved back before an abort (in the new network or on the way). */
export function hostsToMoveBack(state: MigrationState): string[] {
  return Object.entries(state.hosts)
    .filter(([, loc]) => loc !== 'old')
    .map(([h]) => h);
}

/** Hosts not yet in the new network (finalize waits for them). */
export function hostsToMove(state: MigrationState): string[] {
  return Object.entries(state.hosts)
    .filter(([, loc]) => loc !== 'new')
    .map(([h]) => h);
}

/** The destination of a host that is moving. */
export function moveDestination(loc: HostLocation): Side | undefined {
  return loc === 'toNew' ? 'new' : loc === 'toOld' ? 'old' : undefined;
}

const TUNNEL_PORT_CONFIG_MASK = PortConfig.PORT_DOWN | PortConfig.NO_RECV | PortConfig.NO_FWD;

/**
 * Port-mods that open (or close) every tunnel port: old and new switches' tunnel ports and the tunnel
 * switch's ports. A test bed starts them administratively down, so nothing crosses before prepare.
 */
export function tunnelPortMods(
  plan: MigrationPlan,
  open: boolean,
  physicalPorts?: ShimContext['physicalPorts'],
): PhysicalMessage[] {
  const mods: PhysicalMessage[] = [];
  const mod = (dpid: bigint, portNo: number) =>
    mods.push({
      dpid,
      msg: {
        type: 'portMod',
        portNo,
        hwAddr: physicalPorts?.(dpid)?.get(portNo)?.hwAddr ?? '00:00:00:00:00:00',
        config: open ? 0 : TUNNEL_PORT_CONFIG_MASK,
        mask: TUNNEL_PORT_CONFIG_MASK,
        advertise: 0,
      },
    });
  for (const vs of plan.switches) {
    mod(vs.old.dpid, vs.old.tunnelPort);
    mod(vs.new.dpid, vs.new.tunnelPort);
    const t = plan.tunnelSwitch.ports.get(vs.name)!;
    mod(plan.tunnelSwitch.dpid, t.old);
    mod(plan.tunnelSwitch.dpid, t.new);
  }
  return mods;
}

function portStep(label: string, messages: PhysicalMessage[]): Step {
  return { label, messages, barrierOn: [...new Set(messages.map((m) => m.dpid))] };
}

function fail(msg: string): never {
  throw new MigrationStateError(msg);
}

function requireHost(ctx: PolicyContext, host: string): void {
  if (!planIndex(ctx.plan).host.has(host)) fail(`no host "${host}" in the plan`);
}

class TunnelPolicy implements MigrationPolicy {
  constructor(readonly algorithm: Algorithm) {}

  appSides(state: MigrationState): Side[] {
    return appSides(state);
  }

  private check(ctx: PolicyContext): void {
    if (ctx.state.algorithm !== this.algorithm)
      fail(`state is for ${ctx.state.algorithm.toUpperCase()}, policy is ${this.algorithm.toUpperCase()}`);
  }

  /** Diff of the two target states, recorded in the ledger (copies become live / retiring). */
  private transition(
    ctx: PolicyContext,
    kind: TransitionKind,
    to: MigrationState,
    host?: string,
    extra?: { before?: Step; after?: Step },
  ): Transition {
    const from = ctx.state;
    const steps = diffStates(
      targetState(ctx.plan, ctx.ledger, from, ctx.now),
      targetState(ctx.plan, ctx.ledger, to, ctx.now),
    );
    if (extra?.before) steps.unshift(extra.before);
    if (extra?.after) steps.push(extra.after);
    for (const s of steps) for (const m of s.messages) ctx.ledger.recordPhysical(m.dpid, m.msg, ctx.now);
    const t: Transition = { kind, from, to, steps };
    if (host !== undefined) t.host = host;
    return t;
  }

  prepare(ctx: PolicyContext): Transition {
    this.check(ctx);
    if (ctx.state.phase !== 'idle') fail(`prepare: already ${ctx.state.phase}`);
    const to: MigrationState = { ...ctx.state, phase: 'prepared' };
    const open = ctx.plan.tunnel.managePorts
      ? portStep('open tunnel ports', tunnelPortMods(ctx.plan, true, ctx.physicalPorts))
      : undefined;
    return this.transition(ctx, 'prepare', to, undefined, open ? { before: open } : undefined);
  }

  startMove(ctx: PolicyContext, host: string): Transition {
    this.check(ctx);
    requireHost(ctx, host);
    if (ctx.state.phase !== 'prepared')
      fail(`move ${host}: the migration is ${ctx.state.phase}, not prepared`);
    const loc = ctx.state.hosts[host];
    if (loc !== 'old' && loc !== 'new') fail(`move ${host}: it is already moving (${loc})`);
    const to: MigrationState = {
      ...ctx.state,
      hosts: { ...ctx.state.hosts, [host]: loc === 'old' ? 'toNew' : 'toOld' },
    };
    return this.transition(ctx, 'startMove', to, host);
  }

  hostArrived(ctx: PolicyContext, host: string): Transition {
    this.check(ctx);
    requireHost(ctx, host);
    const dest = moveDestination(ctx.state.hosts[host]!);
    if (!dest) fail(`${host} is not moving (${ctx.state.hosts[host]})`);
    const to: MigrationState = { ...ctx.state, hosts: { ...ctx.state.hosts, [host]: dest } };
    return this.transition(ctx, 'hostArrived', to, host);
  }

  cancelMove(ctx: PolicyContext, host: string): Transition {
    this.check(ctx);
    requireHost(ctx, host);
    const loc = ctx.state.hosts[host]!;
    const dest = moveDestination(loc);
    if (!dest) fail(`${host} is not moving (${loc})`);
    const origin: Side = dest === 'new' ? 'old' : 'new';
    const to: MigrationState = { ...ctx.state, hosts: { ...ctx.state.hosts, [host]: origin } };
    return this.transition(ctx, 'cancelMove', to, host);
  }

  finalize(ctx: PolicyContext): Transition {
    this.check(ctx);
    if (ctx.state.phase !== 'prepared') fail(`finalize: the migration is ${ctx.state.phase}, not prepared`);
    const left = hostsToMove(ctx.state);
    if (left.length > 0) fail(`finalize: hosts not yet in the new network: ${left.join(', ')}`);
    const to: MigrationState = { ...ctx.state, phase: 'finalized' };
    const close = ctx.plan.tunnel.managePorts
      ? portStep('close tunnel ports', tunnelPortMods(ctx.plan, false, ctx.physicalPorts))
      : undefined;
    return this.transition(ctx, 'finalize', to, undefined, close ? { after: close } : undefined);
  }

  abort(ctx: PolicyContext): Transition {
    this.check(ctx);
    if (ctx.state.phase === 'finalized')
      fail('abort: the migration is finalized (the old network was cleared)');
    if (ctx.state.phase === 'idle') return { kind: 'abort', from: ctx.state, to: ctx.state, steps: [] };
    const back = hostsToMoveBack(ctx.state);
    if (back.length > 0) fail(`abort: move these hosts back to the old network first: ${back.join(', ')}`);
    const to: MigrationState = { ...ctx.state, phase: 'idle' };
    const close = ctx.plan.tunnel.managePorts
      ? portStep('close tunnel ports', tunnelPortMods(ctx.plan, false, ctx.physicalPorts))
      : undefined;
    return this.transition(ctx, 'abort', to, undefined, close ? { after: close } : undefined);
  }

  appCommandTargets(ctx: ShimContext, vdpid: bigint, command: AppCommand): bigint[] {
    const vs = switchByVdpid(ctx.plan, vdpid);
    if (!vs) return [];
    if (command.type === 'portMod') return [vs.old.dpid, vs.new.dpid];
    if (command.type === 'packetOut') {
      const buffered = ctx.ledger.peekBuffer(vdpid, command.bufferId);
      if (buffered) return [buffered.dpid];
      const sides = appSides(ctx.state);
      const host = planIndex(ctx.plan).hostAt.get(`${vs.name}:${command.inPort}`);
      const loc = host ? ctx.state.hosts[host.name] : undefined;
      const side: Side = loc === 'new' && sides.includes('new') ? 'new' : sides[0]!;
      return [vs[side].dpid];
    }
    return appTargets(ctx, vdpid);
  }
}

export const asap: MigrationPolicy = new TunnelPolicy('asap');
export const alap: MigrationPolicy = new TunnelPolicy('alap');

export function policyFor(algorithm: Algorithm): MigrationPolicy {
  return algorithm === 'asap' ? asap : alap;
}
