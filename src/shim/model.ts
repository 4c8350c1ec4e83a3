// Types shared by the shim's pure modules (plan, pipeline, target, ledger, translate, policy).
//
// A *virtual switch* (V) is what the app sees; each maps to an *old* (O) and a *new* (N) physical switch.
// "Side" names one of those two copies. Host locations and the phase make up the migration state; the
// physical rules every switch should hold are a function of (plan, ledger, state, clock): see target.ts.

import type {
  Bucket,
  ExperimenterMsg,
  FlowMod,
  GroupMod,
  Instruction,
  Match,
  MeterMod,
  Outgoing,
  PacketOut,
  PortMod,
  TableMod,
} from '../openflow/types.ts';

export type Side = 'old' | 'new';
export type Algorithm = 'asap' | 'alap';

/**
 * Where a host is. `toNew`/`toOld`: a move is under way (the host may be at either place; the network
 * delivers to both and accepts from both: make-before-break).
 */
export type HostLocation = 'old' | 'new' | 'toNew' | 'toOld';

/** idle: the shim runs, nothing prepared. prepared: tunnels up (hosts may be anywhere). finalized: all on new. */
export type Phase = 'idle' | 'prepared' | 'finalized';

export interface MigrationState {
  algorithm: Algorithm;
  phase: Phase;
  /** host name -> location; every plan host is present. */
  hosts: Record<string, HostLocation>;
}

/** A message the shim sends to a physical switch (the runtime assigns the xid). */
export type PhysicalCommand = Outgoing<
  FlowMod | GroupMod | PacketOut | PortMod | MeterMod | TableMod | ExperimenterMsg
>;

export interface PhysicalMessage {
  dpid: bigint;
  msg: PhysicalCommand;
}

/**
 * One step of a transition: send every message (to its switch), then a barrier to every switch in
 * `barrierOn`; the next step starts only when all those barriers are answered. Messages within a step
 * may take effect in any order.
 */
export interface Step {
  label: string;
  messages: PhysicalMessage[];
  barrierOn: bigint[];
}

/** An app command the shim refuses (it becomes an OpenFlow error to the app, with the app's xid). */
export class ShimCommandError extends Error {
  override readonly name = 'ShimCommandError';
  constructor(
    readonly errorType: number,
    readonly code: number,
    message: string,
  ) {
    super(message);
  }
}

/** A migration transition that is not allowed in the current state (e.g. finalize before every host moved). */
export class MigrationStateError extends Error {
  override readonly name = 'MigrationStateError';
}

/** A rule as the app installed it (virtual table, virtual ports), kept in the ledger. */
export interface VirtualRule {
  /** Shim-assigned, stable across restarts; the low 48 bits of every physical copy's cookie. */
  id: number;
  vdpid: bigint;
  tableId: number;
  priority: number;
  match: Match;
  instructions: Instruction[];
  cookie: bigint;
  idleTimeout: number;
  hardTimeout: number;
  flags: number;
  /** When the app installed it (ms, the injected clock). */
  installedAt: number;
}

/** A group as the app defined it (virtual ports, app group ids). */
export interface VirtualGroup {
  vdpid: bigint;
  groupId: number;
  groupType: number;
  buckets: Bucket[];
}

/** map.get(key), creating the entry with make() when missing. */
export function getOrCreate<K, V>(map: Map<K, V>, key: K, make: () => V): V {
  let v = map.get(key);
  if (v === undefined) {
    v = make();
    map.set(key, v);
  }
  return v;
}
