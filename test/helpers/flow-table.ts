// What the test switches (test/helpers/emulated-switch.ts, test/unit/api/fake-api.ts,
// test/unit/shim/fake-network.ts) share about classifying a frame and running a rule's instructions.

import type { Action, Instruction } from '../../src/openflow/types.ts';
import type { L4Header } from '../../src/packet/types.ts';

/** Instruction execution order of OpenFlow 1.3 (5.9). */
const INSTRUCTION_ORDER: Record<string, number> = {
  meter: 0,
  applyActions: 1,
  clearActions: 2,
  writeActions: 3,
  writeMetadata: 4,
  gotoTable: 5,
};

/**
 * Action-set execution order (5.10), by action type: the union of what the test switches execute
 * (emulated-switch rejects MPLS/PBB and TTL-copy actions before they get here; fake-network cannot
 * execute setNwTtl).
 */
export const ACTION_SET_ORDER: Readonly<Record<string, number>> = {
  copyTtlIn: 0,
  popVlan: 1,
  popMpls: 1,
  popPbb: 1,
  pushMpls: 2,
  pushPbb: 3,
  pushVlan: 4,
  copyTtlOut: 5,
  decMplsTtl: 6,
  decNwTtl: 6,
  setNwTtl: 7,
  setField: 7,
  setQueue: 8,
  group: 9,
  output: 10,
};

/** A rule's instructions in execution order (5.9); unknown types last. */
export function inInstructionOrder(instructions: Iterable<Instruction>): Instruction[] {
  return [...instructions].sort(
    (a, b) => (INSTRUCTION_ORDER[a.type] ?? 9) - (INSTRUCTION_ORDER[b.type] ?? 9),
  );
}

/** Actions in an action set's execution order (5.10); unknown types last. */
export function inActionSetOrder<A extends Action>(actions: Iterable<A>): A[] {
  return [...actions].sort((a, b) => (ACTION_SET_ORDER[a.type] ?? 99) - (ACTION_SET_ORDER[b.type] ?? 99));
}

/** The transport-layer OXM fields of a parsed frame (TCP/UDP ports, ICMP and ICMPv6 type and code). */
export function setL4Fields(m: Map<string, bigint>, l4: L4Header | undefined): void {
  if (l4?.kind === 'tcp') {
    m.set('tcp_src', BigInt(l4.srcPort));
    m.set('tcp_dst', BigInt(l4.dstPort));
  } else if (l4?.kind === 'udp') {
    m.set('udp_src', BigInt(l4.srcPort));
    m.set('udp_dst', BigInt(l4.dstPort));
  } else if (l4?.kind === 'icmp') {
    m.set('icmpv4_type', BigInt(l4.type));
    m.set('icmpv4_code', BigInt(l4.code));
  } else if (l4?.kind === 'icmpv6') {
    m.set('icmpv6_type', BigInt(l4.type));
    m.set('icmpv6_code', BigInt(l4.code));
  }
}
