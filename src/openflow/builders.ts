// Small ergonomic builders used by apps and the runtime.

import { CONTROLLER_MAX_LEN_NO_BUFFER, FlowModCommand, Group, NO_BUFFER, Port } from './constants.ts';
import { OXM_FIELDS, oxmFieldInfo } from './oxm.ts';
import type {
  Action,
  BigOxmName,
  FlowMod,
  Instruction,
  Ipv4OxmName,
  Ipv6OxmName,
  MacOxmName,
  Match,
  NumericOxmName,
  Outgoing,
  OxmField,
  OxmName,
  PacketOut,
} from './types.ts';

/** The value type of an OXM field: number, bigint (metadata, tunnel_id) or text (addresses). */
export type OxmValueOf<N extends OxmName> = N extends NumericOxmName
  ? number
  : N extends BigOxmName
    ? bigint
    : N extends MacOxmName | Ipv4OxmName | Ipv6OxmName
      ? string
      : never;

type SpecValue<V> = V | { value: V; mask?: V };

/** An object form of a match: `{ in_port: 1, eth_dst: 'aa:bb:cc:dd:ee:ff', ipv4_dst: { value, mask } }`. */
export type MatchSpec = { [N in NumericOxmName]?: SpecValue<number> } & {
  [N in BigOxmName]?: SpecValue<bigint | number>;
} & { [N in MacOxmName | Ipv4OxmName | Ipv6OxmName]?: SpecValue<string> };

function toFieldValue(kind: string, name: string, v: unknown): number | bigint | string {
  switch (kind) {
    case 'num':
      if (typeof v !== 'number') throw new TypeError(`matchOf: ${name} needs a number`);
      return v;
    case 'big':
      if (typeof v === 'number') return BigInt(v);
      if (typeof v !== 'bigint') throw new TypeError(`matchOf: ${name} needs a bigint`);
      return v;
    default:
      if (typeof v !== 'string') throw new TypeError(`matchOf: ${name} needs a string`);
      return v;
  }
}

/** Build a Match from an object; fields come out in canonical OXM order (by OXM field number). */
export function matchOf(spec: MatchSpec): Match {
  const fields: OxmField[] = [];
  for (const key of Object.keys(spec)) {
    if (!oxmFieldInfo(key)) throw new TypeError(`matchOf: unknown OXM field "${key}"`);
  }
  for (const info of OXM_FIELDS) {
    const raw = (spec as Record<string, unknown>)[info.name];
    if (raw === undefined) continue;
    if (typeof raw === 'object' && raw !== null) {
      const { value, mask } = raw as { value: unknown; mask?: unknown };
      const f: Record<string, unknown> = {
        field: info.name,
        value: toFieldValue(info.kind, info.name, value),
      };
      if (mask !== undefined) f.mask = toFieldValue(info.kind, info.name, mask);
      fields.push(f as OxmField);
    } else {
      fields.push({ field: info.name, value: toFieldValue(info.kind, info.name, raw) } as OxmField);
    }
  }
  return { fields };
}

/** The first OXM field of that name in a match (with its mask, if any). */
export function matchField<N extends OxmName>(
  match: Match,
  name: N,
): { field: N; value: OxmValueOf<N>; mask?: OxmValueOf<N> } | undefined {
  for (const f of match.fields) {
    if (f.field === name) return f as unknown as { field: N; value: OxmValueOf<N>; mask?: OxmValueOf<N> };
  }
  return undefined;
}

/** The value of a match field (undefined when the match does not constrain it). */
export function matchGet<N extends OxmName>(match: Match, name: N): OxmValueOf<N> | undefined {
  return matchField(match, name)?.value;
}

/** A flow-mod with OpenFlow's defaults for everything not given (ADD, priority 32768, no buffer, ANY). */
export function flowMod(partial: Partial<Omit<FlowMod, 'type'>> = {}): Outgoing<FlowMod> {
  const m: Outgoing<FlowMod> = {
    type: 'flowMod',
    cookie: partial.cookie ?? 0n,
    cookieMask: partial.cookieMask ?? 0n,
    tableId: partial.tableId ?? 0,
    command: partial.command ?? FlowModCommand.ADD,
    idleTimeout: partial.idleTimeout ?? 0,
    hardTimeout: partial.hardTimeout ?? 0,
    priority: partial.priority ?? 0x8000,
    bufferId: partial.bufferId ?? NO_BUFFER,
    outPort: partial.outPort ?? Port.ANY,
    outGroup: partial.outGroup ?? Group.ANY,
    flags: partial.flags ?? 0,
    match: partial.match ?? { fields: [] },
    instructions: partial.instructions ?? [],
  };
  if (partial.xid !== undefined) m.xid = partial.xid;
  return m;
}

/** A packet-out with defaults: no buffer, in_port CONTROLLER, no actions, no data. */
export function packetOut(partial: Partial<Omit<PacketOut, 'type'>> = {}): Outgoing<PacketOut> {
  const m: Outgoing<PacketOut> = {
    type: 'packetOut',
    bufferId: partial.bufferId ?? NO_BUFFER,
    inPort: partial.inPort ?? Port.CONTROLLER,
    actions: partial.actions ?? [],
    data: partial.data ?? new Uint8Array(0),
  };
  if (partial.xid !== undefined) m.xid = partial.xid;
  return m;
}

/** An apply-actions instruction. */
export function applyActions(...actions: Action[]): Instruction {
  return { type: 'applyActions', actions };
}

/** An output action; maxLen defaults to OFPCML_NO_BUFFER (whole packet) for CONTROLLER, 0 otherwise. */
export function output(port: number, maxLen?: number): Action {
  return {
    type: 'output',
    port,
    maxLen: maxLen ?? (port === Port.CONTROLLER ? CONTROLLER_MAX_LEN_NO_BUFFER : 0),
  };
}
