// Tunnel encodings: how a packet crossing the tunnel switch between an old switch and its new counterpart
// carries the *logical port* it belongs to (the destination host port for last-hop deliveries, the
// ingress host port for ASAP's first hop). Tags are scoped to one virtual switch: the tunnel switch
// forwards blindly between the two copies of the same virtual switch.

import { VID_PRESENT } from '../openflow/constants.ts';
import type { Action, OxmField } from '../openflow/types.ts';

export interface TunnelEncoding {
  readonly kind: string;
  /** Largest tag the encoding can carry (tags start at 1). */
  readonly maxTag: number;
  /** Bytes the tag adds to a packet (switches count a tunnelled packet's bytes with its tag). */
  readonly overheadBytes: number;
  /** Actions that tag a packet (applied just before output to the tunnel port). */
  push(tag: number): Action[];
  /** Match fields selecting packets that carry `tag` (combined with in_port=tunnel). */
  match(tag: number): OxmField[];
  /** Actions that remove the tag (applied first thing on arrival from the tunnel). */
  pop(): Action[];
}

/** 802.1Q: push_vlan 0x8100 + set_field vlan_vid=0x1000|tag; pop_vlan. */
export const vlanEncoding: TunnelEncoding = Object.freeze({
  kind: 'vlan',
  maxTag: 4094,
  overheadBytes: 4,
  push(tag: number): Action[] {
    checkTag(tag, 4094);
    return [
      { type: 'pushVlan', ethertype: 0x8100 },
      { type: 'setField', field: { field: 'vlan_vid', value: VID_PRESENT | tag } },
    ];
  },
  match(tag: number): OxmField[] {
    checkTag(tag, 4094);
    return [{ field: 'vlan_vid', value: VID_PRESENT | tag }];
  },
  pop(): Action[] {
    return [{ type: 'popVlan' }];
  },
});

function checkTag(tag: number, max: number): void {
  if (!Number.isInteger(tag) || tag < 1 || tag > max)
    throw new RangeError(`tunnel tag ${tag} out of range 1..${max}`);
}

export type TunnelEncodingKind = 'vlan';

const ENCODINGS: Record<TunnelEncodingKind, TunnelEncoding> = { vlan: vlanEncoding };

export function encodingFor(kind: TunnelEncodingKind): TunnelEncoding {
  return ENCODINGS[kind];
}

/**
 * Tags for the host ports of one virtual switch: the explicit ones as given, every other port gets its own
 * number when that is free and in range (readable in flow dumps: port 3 -> vlan 3), else the lowest free tag.
 * Throws on duplicates or out-of-range explicit tags.
 */
export function allocateTags(
  hostPorts: readonly number[],
  explicit: ReadonlyMap<number, number> = new Map(),
  maxTag = 4094,
): Map<number, number> {
  const tags = new Map<number, number>();
  const used = new Set<number>();
  for (const [port, tag] of explicit) {
    checkTag(tag, maxTag);
    if (used.has(tag)) throw new RangeError(`tunnel tag ${tag} given to more than one port`);
    used.add(tag);
    tags.set(port, tag);
  }
  const rest = [...hostPorts].filter((p) => !tags.has(p)).sort((a, b) => a - b);
  const wantOwn = rest.filter((p) => p >= 1 && p <= maxTag && !used.has(p));
  for (const p of wantOwn) {
    used.add(p);
    tags.set(p, p);
  }
  let next = 1;
  for (const p of rest) {
    if (tags.has(p)) continue;
    while (used.has(next)) next++;
    if (next > maxTag) throw new RangeError(`more than ${maxTag} tunnelled ports`);
    used.add(next);
    tags.set(p, next);
  }
  return tags;
}
