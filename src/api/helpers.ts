// Helpers that make an app read like Ryu's simple_switch_13:
//
//   tableMissToController(dp);
//   addFlow(dp, { priority: 1, match: { in_port: 1, eth_dst: mac }, actions: [output(2)], idleTimeout: 10 });
//   sendPacketOut(dp, { inPort, actions: [output(Port.FLOOD)], data });
//   replyPacketOut(ev, [output(2)]);            // uses the packet-in's buffer when the switch buffered it
//   deleteFlows(dp, { match: { eth_dst: mac }, cookie: MY_COOKIE, cookieMask: ALL_BITS });
//
// Every command helper returns the xid it was sent with (errors for it arrive as `error` events).
// They only build messages and call dp.send(): they work the same on the runtime and on the shim.

import { applyActions, type MatchSpec, matchOf } from '../openflow/builders.ts';
import {
  CONTROLLER_MAX_LEN_NO_BUFFER,
  FlowModCommand,
  FlowModFlags,
  Group,
  NO_BUFFER,
  Port as OFPP,
  PortConfig,
  PortState,
  Table,
} from '../openflow/constants.ts';
import type {
  Action,
  FlowMod,
  Instruction,
  Match,
  Outgoing,
  OxmField,
  PacketOut,
  Port,
} from '../openflow/types.ts';
import { ETH_TYPE } from '../packet/constants.ts';
import { ethernetHeaderOf } from '../packet/parse.ts';
import type { EthernetSummary } from '../packet/types.ts';
import type { Datapath, PacketInEvent } from './types.ts';

/** A match given as an OpenFlow Match or in object form (`{ in_port: 1, eth_dst: '..' }`). */
export type MatchLike = Match | MatchSpec;

const EMPTY_MATCH: Match = Object.freeze({ fields: Object.freeze([]) as unknown as OxmField[] });

/** A Match from either form (an object form goes through matchOf: canonical field order). */
export function toMatch(m: MatchLike | undefined): Match {
  if (m === undefined) return EMPTY_MATCH;
  if (Array.isArray((m as Match).fields)) return m as Match;
  return matchOf(m as MatchSpec);
}

/** All 64 cookie bits: use as cookieMask to select exactly one cookie. */
export const COOKIE_ALL_BITS = 0xffff_ffff_ffff_ffffn;

export interface FlowSpec {
  match?: MatchLike;
  /** Default 0x8000 (OpenFlow's default). */
  priority?: number;
  /** Apply-actions (placed first). An empty list (or none and no instructions) means drop. */
  actions?: Action[];
  /** Further instructions (after the apply-actions, if any). */
  instructions?: Instruction[];
  /** Adds a goto-table instruction (last). */
  gotoTable?: number;
  idleTimeout?: number;
  hardTimeout?: number;
  /** A packet the switch buffered: it is sent through the new rule. */
  bufferId?: number;
  flags?: number;
  /** Shorthand for flags |= OFPFF_SEND_FLOW_REM. */
  sendFlowRemoved?: boolean;
  tableId?: number;
  cookie?: bigint;
}

function instructionsOf(spec: FlowSpec): Instruction[] {
  const out: Instruction[] = [];
  if (spec.actions && spec.actions.length > 0) out.push(applyActions(...spec.actions));
  if (spec.instructions) out.push(...spec.instructions);
  if (spec.gotoTable !== undefined) out.push({ type: 'gotoTable', tableId: spec.gotoTable });
  return out;
}

function flowModOf(
  spec: FlowSpec,
  command: number,
  extra: Partial<Outgoing<FlowMod>> = {},
): Outgoing<FlowMod> {
  return {
    type: 'flowMod',
    cookie: spec.cookie ?? 0n,
    cookieMask: 0n,
    tableId: spec.tableId ?? 0,
    command,
    idleTimeout: spec.idleTimeout ?? 0,
    hardTimeout: spec.hardTimeout ?? 0,
    priority: spec.priority ?? 0x8000,
    bufferId: spec.bufferId ?? NO_BUFFER,
    outPort: OFPP.ANY,
    outGroup: Group.ANY,
    flags: (spec.flags ?? 0) | (spec.sendFlowRemoved ? FlowModFlags.SEND_FLOW_REM : 0),
    match: toMatch(spec.match),
    instructions: instructionsOf(spec),
    ...extra,
  };
}

/** OFPFC_ADD: installs (or replaces the identical match+priority) rule. */
export function addFlow(dp: Datapath, spec: FlowSpec): number {
  return dp.send(flowModOf(spec, FlowModCommand.ADD));
}

export interface ModifySpec extends FlowSpec {
  /** MODIFY_STRICT (match and priority identical) instead of MODIFY (every rule the match covers). */
  strict?: boolean;
  /** Only rules whose cookie matches cookie under this mask (default 0: any cookie). */
  cookieMask?: bigint;
  /** Clear the modified rules' counters (OFPFF_RESET_COUNTS). */
  resetCounts?: boolean;
}

/** OFPFC_MODIFY[_STRICT]: changes the instructions of existing rules (counters are kept). */
export function modifyFlows(dp: Datapath, spec: ModifySpec): number {
  const cmd = spec.strict ? FlowModCommand.MODIFY_STRICT : FlowModCommand.MODIFY;
  const flags = (spec.flags ?? 0) | (spec.resetCounts ? FlowModFlags.RESET_COUNTS : 0);
  return dp.send(flowModOf({ ...spec, flags }, cmd, { cookieMask: spec.cookieMask ?? 0n }));
}

export interface DeleteSpec {
  /** Rules this match covers (non-strict) or rules with exactly this match and priority (strict). */
  match?: MatchLike;
  /** Default OFPTT_ALL. */
  tableId?: number;
  strict?: boolean;
  /** Only with strict (default 0x8000). */
  priority?: number;
  /** Only rules that output to this port / group (default ANY). */
  outPort?: number;
  outGroup?: number;
  cookie?: bigint;
  /** Default: COOKIE_ALL_BITS when `cookie` is given, else 0 (any cookie). */
  cookieMask?: bigint;
}

/** OFPFC_DELETE[_STRICT]. With no arguments it deletes every rule of every table. */
export function deleteFlows(dp: Datapath, spec: DeleteSpec = {}): number {
  return dp.send({
    type: 'flowMod',
    cookie: spec.cookie ?? 0n,
    cookieMask: spec.cookieMask ?? (spec.cookie !== undefined ? COOKIE_ALL_BITS : 0n),
    tableId: spec.tableId ?? Table.ALL,
    command: spec.strict ? FlowModCommand.DELETE_STRICT : FlowModCommand.DELETE,
    idleTimeout: 0,
    hardTimeout: 0,
    priority: spec.priority ?? 0x8000,
    bufferId: NO_BUFFER,
    outPort: spec.outPort ?? OFPP.ANY,
    outGroup: spec.outGroup ?? Group.ANY,
    flags: 0,
    match: toMatch(spec.match),
    instructions: [],
  });
}

export interface PacketOutSpec {
  /** Default OFPP_CONTROLLER. */
  inPort?: number;
  actions: Action[];
  /** The frame (ignored when bufferId is given). */
  data?: Uint8Array;
  /** A buffer of the switch (from a packet-in). */
  bufferId?: number;
}

const NO_DATA = new Uint8Array(0);

/** OFPT_PACKET_OUT with either a frame or a switch buffer. */
export function sendPacketOut(dp: Datapath, spec: PacketOutSpec): number {
  const buffered = spec.bufferId !== undefined && spec.bufferId !== NO_BUFFER;
  const msg: Outgoing<PacketOut> = {
    type: 'packetOut',
    bufferId: buffered ? spec.bufferId! : NO_BUFFER,
    inPort: spec.inPort ?? OFPP.CONTROLLER,
    actions: spec.actions,
    data: buffered ? NO_DATA : (spec.data ?? NO_DATA),
  };
  return dp.send(msg);
}

/** Sends the packet of a packet-in back out with `actions`: by buffer id when buffered, else with its data. */
export function replyPacketOut(ev: PacketInEvent, actions: Action[]): number {
  return sendPacketOut(ev.dp, { inPort: ev.inPort, actions, bufferId: ev.msg.bufferId, data: ev.msg.data });
}

/**
 * The Ethernet header of a packet-in's frame, or undefined when an app should ignore the packet: a frame
 * too short to parse, or LLDP (the topology service's own probes).
 */
export function packetInEthernet(ev: PacketInEvent): EthernetSummary | undefined {
  let eth: EthernetSummary;
  try {
    eth = ethernetHeaderOf(ev.msg.data);
  } catch {
    return undefined;
  }
  return eth.ethType === ETH_TYPE.LLDP ? undefined : eth;
}

export interface TableMissOptions {
  tableId?: number;
  /** Default 0. */
  priority?: number;
  /** Bytes of the packet sent to the controller; default OFPCML_NO_BUFFER (whole packet, never buffered). */
  maxLen?: number;
  cookie?: bigint;
}

/** The table-miss rule: everything that matches nothing else goes to the controller. */
export function tableMissToController(dp: Datapath, opts: TableMissOptions = {}): number {
  return addFlow(dp, {
    tableId: opts.tableId ?? 0,
    priority: opts.priority ?? 0,
    cookie: opts.cookie ?? 0n,
    actions: [{ type: 'output', port: OFPP.CONTROLLER, maxLen: opts.maxLen ?? CONTROLLER_MAX_LEN_NO_BUFFER }],
  });
}

// ---------------------------------------------------------------- actions

/** Output actions, cached per port (action objects are never mutated, so they can be shared). */
const outputCache = new Map<number, Action>();
/** An output action (maxLen: whole packet for CONTROLLER, else 0). Cached: do not mutate the result. */
export function outputTo(port: number, maxLen?: number): Action {
  if (maxLen !== undefined) return { type: 'output', port, maxLen };
  let a = outputCache.get(port);
  if (a === undefined) {
    a = Object.freeze({
      type: 'output',
      port,
      maxLen: port === OFPP.CONTROLLER ? CONTROLLER_MAX_LEN_NO_BUFFER : 0,
    }) as Action;
    if (outputCache.size < 4096) outputCache.set(port, a);
  }
  return a;
}

/** OFPP_FLOOD. */
export function flood(): Action {
  return outputTo(OFPP.FLOOD);
}

export function toController(maxLen = CONTROLLER_MAX_LEN_NO_BUFFER): Action {
  return { type: 'output', port: OFPP.CONTROLLER, maxLen };
}

export function pushVlan(vid: number, ethertype = 0x8100): Action[] {
  return [
    { type: 'pushVlan', ethertype },
    { type: 'setField', field: { field: 'vlan_vid', value: 0x1000 | (vid & 0xfff) } },
  ];
}

export function popVlan(): Action {
  return { type: 'popVlan' };
}

export function setEthDst(mac: string): Action {
  return { type: 'setField', field: { field: 'eth_dst', value: mac } };
}

export function setEthSrc(mac: string): Action {
  return { type: 'setField', field: { field: 'eth_src', value: mac } };
}

// ---------------------------------------------------------------- datapaths and ports

/** "0x000000000000000a" style text of a datapath id. */
export function dpidText(dpid: bigint): string {
  return `0x${dpid.toString(16).padStart(16, '0')}`;
}

/**
 * A port that can carry traffic: its link is up and it is not administratively down, blocked for receiving
 * (OFPPC_NO_RECV) or for forwarding (OFPPC_NO_FWD). Open vSwitch cannot take a patch port down, so "closing"
 * a port with a port-mod (as the test bed does with tunnel ports and blocked links) shows as NO_RECV|NO_FWD.
 */
export function portIsUp(port: Port): boolean {
  return (
    (port.config & (PortConfig.PORT_DOWN | PortConfig.NO_RECV | PortConfig.NO_FWD)) === 0 &&
    (port.state & PortState.LINK_DOWN) === 0
  );
}

/** Physical port numbers (no reserved ports), sorted; only ports that are up unless `all`. */
export function physicalPorts(dp: Datapath, opts: { all?: boolean } = {}): number[] {
  const out: number[] = [];
  for (const [no, p] of dp.ports) if (no <= OFPP.MAX && (opts.all || portIsUp(p))) out.push(no);
  return out.sort((a, b) => a - b);
}

/** Reads a number option (numbers or numeric strings, as they come from the command line). */
export function numberOption(options: Record<string, unknown>, name: string, fallback: number): number {
  const v = options[name];
  if (v === undefined || v === null || v === '') return fallback;
  const n = typeof v === 'number' ? v : Number(v);
  if (!Number.isFinite(n)) throw new TypeError(`option ${name}: not a number: ${String(v)}`);
  return n;
}

/**
 * Reads a string-list option: an array, or a string separated by commas, semicolons, '+' or spaces
 * (`hosts=10.0.0.1+10.0.0.2` fits in an `--app NAME:k=v,k2=v2` spec, where a comma separates options).
 */
export function listOption(options: Record<string, unknown>, name: string): string[] {
  const v = options[name];
  if (v === undefined || v === null || v === '') return [];
  if (Array.isArray(v)) return v.map((x) => String(x).trim()).filter((x) => x !== '');
  return String(v)
    .split(/[,;+\s]+/)
    .map((x) => x.trim())
    .filter((x) => x !== '');
}

/** Reads a string option. */
export function stringOption(options: Record<string, unknown>, name: string): string | undefined {
  const v = options[name];
  return v === undefined || v === null || v === '' ? undefined : String(v);
}

/** Reads a boolean option (true/false, 1/0, yes/no). */
export function booleanOption(options: Record<string, unknown>, name: string, fallback: boolean): boolean {
  const v = options[name];
  if (v === undefined || v === null || v === '') return fallback;
  if (typeof v === 'boolean') return v;
  const s = String(v).toLowerCase();
  if (['1', 'true', 'yes', 'on'].includes(s)) return true;
  if (['0', 'false', 'no', 'off'].includes(s)) return false;
  throw new TypeError(`option ${name}: not a boolean: ${String(v)}`);
}
