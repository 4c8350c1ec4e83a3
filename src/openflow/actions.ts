// OpenFlow 1.3 actions (ofp_action_*) and action ids (table-features lists).
//
// Every action starts with type(16) and len(16); len counts the header and is a multiple of 8 for
// well-formed actions. Known fixed-size actions must have their exact length. Experimenter actions
// keep everything after the experimenter id as raw `data`; unknown action types keep everything after
// the 4-byte type/len header; both re-encode byte for byte.

import type { Reader, Writer } from './buffer.ts';
import { decodeOxmField, encodeOxmField, oxmFieldLength, pad, rethrowWithPrefix } from './oxm.ts';
import type { Action, ActionId } from './types.ts';

/** ofp_action_type */
export const ActionType = {
  OUTPUT: 0,
  COPY_TTL_OUT: 11,
  COPY_TTL_IN: 12,
  SET_MPLS_TTL: 15,
  DEC_MPLS_TTL: 16,
  PUSH_VLAN: 17,
  POP_VLAN: 18,
  PUSH_MPLS: 19,
  POP_MPLS: 20,
  SET_QUEUE: 21,
  GROUP: 22,
  SET_NW_TTL: 23,
  DEC_NW_TTL: 24,
  SET_FIELD: 25,
  PUSH_PBB: 26,
  POP_PBB: 27,
  EXPERIMENTER: 0xffff,
} as const;

function expectLen(r: Reader, len: number, want: number, start: number): void {
  if (len !== want) r.fail('len', `length ${len}, expected ${want}`, start + 2);
}

/** Decode one action (internal: field names are relative to the action). */
function readAction(r: Reader): Action {
  const start = r.offset;
  const type = r.u16('type');
  const len = r.u16('len');
  if (len < 4) r.fail('len', `action length ${len} < 4`, start + 2);
  const b = r.sub(len - 4, 'body');
  switch (type) {
    case 0: {
      expectLen(r, len, 16, start);
      const port = b.u32('port');
      const maxLen = b.u16('max_len');
      return { type: 'output', port, maxLen };
    }
    case 11:
      expectLen(r, len, 8, start);
      return { type: 'copyTtlOut' };
    case 12:
      expectLen(r, len, 8, start);
      return { type: 'copyTtlIn' };
    case 15:
      expectLen(r, len, 8, start);
      return { type: 'setMplsTtl', ttl: b.u8('mpls_ttl') };
    case 16:
      expectLen(r, len, 8, start);
      return { type: 'decMplsTtl' };
    case 17:
      expectLen(r, len, 8, start);
      return { type: 'pushVlan', ethertype: b.u16('ethertype') };
    case 18:
      expectLen(r, len, 8, start);
      return { type: 'popVlan' };
    case 19:
      expectLen(r, len, 8, start);
      return { type: 'pushMpls', ethertype: b.u16('ethertype') };
    case 20:
      expectLen(r, len, 8, start);
      return { type: 'popMpls', ethertype: b.u16('ethertype') };
    case 21:
      expectLen(r, len, 8, start);
      return { type: 'setQueue', queueId: b.u32('queue_id') };
    case 22:
      expectLen(r, len, 8, start);
      return { type: 'group', groupId: b.u32('group_id') };
    case 23:
      expectLen(r, len, 8, start);
      return { type: 'setNwTtl', ttl: b.u8('nw_ttl') };
    case 24:
      expectLen(r, len, 8, start);
      return { type: 'decNwTtl' };
    case 25: {
      const field = decodeOxmField(b, 'field');
      const want = (4 + oxmFieldLength(field) + 7) & ~7;
      if (len !== want) r.fail('len', `set-field length ${len}, expected ${want} for its OXM`, start + 2);
      return { type: 'setField', field };
    }
    case 26:
      expectLen(r, len, 8, start);
      return { type: 'pushPbb', ethertype: b.u16('ethertype') };
    case 27:
      expectLen(r, len, 8, start);
      return { type: 'popPbb' };
    case 0xffff: {
      if (len < 8) r.fail('len', `experimenter action length ${len} < 8`, start + 2);
      const experimenter = b.u32('experimenter');
      return { type: 'experimenter', experimenter, data: b.rest() };
    }
    default:
      return { type: 'unknown', actionType: type, data: b.rest() };
  }
}

/** Decode an action list until the reader's end. */
export function decodeActions(r: Reader, field: string): Action[] {
  const out: Action[] = [];
  while (!r.atEnd()) {
    try {
      out.push(readAction(r));
    } catch (e) {
      rethrowWithPrefix(e, `${field}[${out.length}].`);
    }
  }
  return out;
}

/** Decode exactly one action at the reader's position. */
export function decodeAction(r: Reader, field: string): Action {
  try {
    return readAction(r);
  } catch (e) {
    rethrowWithPrefix(e, `${field}.`);
  }
}

/** Encoded size of one action. */
export function actionLength(a: Action): number {
  switch (a.type) {
    case 'output':
      return 16;
    case 'setField':
      return (4 + oxmFieldLength(a.field) + 7) & ~7;
    case 'experimenter':
      return 8 + a.data.length;
    case 'unknown':
      return 4 + a.data.length;
    default:
      return 8;
  }
}

function u16Len(n: number, what: string): number {
  if (n > 0xffff) throw new RangeError(`${what} too long (${n} bytes)`);
  return n;
}

/** Encode one action. */
export function encodeAction(w: Writer, a: Action): void {
  switch (a.type) {
    case 'output':
      w.u16(0).u16(16).u32(a.port).u16(a.maxLen).u32(0).u16(0);
      return;
    case 'copyTtlOut':
      w.u16(11).u16(8).u32(0);
      return;
    case 'copyTtlIn':
      w.u16(12).u16(8).u32(0);
      return;
    case 'setMplsTtl':
      w.u16(15).u16(8).u8(a.ttl).u16(0).u8(0);
      return;
    case 'decMplsTtl':
      w.u16(16).u16(8).u32(0);
      return;
    case 'pushVlan':
      w.u16(17).u16(8).u16(a.ethertype).u16(0);
      return;
    case 'popVlan':
      w.u16(18).u16(8).u32(0);
      return;
    case 'pushMpls':
      w.u16(19).u16(8).u16(a.ethertype).u16(0);
      return;
    case 'popMpls':
      w.u16(20).u16(8).u16(a.ethertype).u16(0);
      return;
    case 'setQueue':
      w.u16(21).u16(8).u32(a.queueId);
      return;
    case 'group':
      w.u16(22).u16(8).u32(a.groupId);
      return;
    case 'setNwTtl':
      w.u16(23).u16(8).u8(a.ttl).u16(0).u8(0);
      return;
    case 'decNwTtl':
      w.u16(24).u16(8).u32(0);
      return;
    case 'setField': {
      const start = w.length;
      w.u16(25);
      const lenAt = w.reserveU16();
      encodeOxmField(w, a.field);
      const raw = w.length - start;
      const len = (raw + 7) & ~7;
      pad(w, len - raw);
      w.patchU16(lenAt, len);
      return;
    }
    case 'pushPbb':
      w.u16(26).u16(8).u16(a.ethertype).u16(0);
      return;
    case 'popPbb':
      w.u16(27).u16(8).u32(0);
      return;
    case 'experimenter':
      w.u16(0xffff)
        .u16(u16Len(8 + a.data.length, 'experimenter action'))
        .u32(a.experimenter)
        .bytes(a.data);
      return;
    case 'unknown':
      w.u16(a.actionType)
        .u16(u16Len(4 + a.data.length, 'unknown action'))
        .bytes(a.data);
      return;
    default:
      throw new TypeError(`unknown action type "${(a as { type: string }).type}"`);
  }
}

/** Encode an action list. */
export function encodeActions(w: Writer, actions: readonly Action[]): void {
  for (let i = 0; i < actions.length; i++) encodeAction(w, actions[i]!);
}

// ---------------------------------------------------------------- action ids (table features)

/**
 * Decode a list of action ids (type, len and, for experimenter, the experimenter id; any bytes the
 * len covers beyond that are kept in `data`) until the reader's end.
 */
export function decodeActionIds(r: Reader, field: string): ActionId[] {
  const ids: ActionId[] = [];
  while (!r.atEnd()) {
    try {
      const start = r.offset;
      const actionType = r.u16('type');
      const len = r.u16('len');
      if (len < 4) r.fail('len', `action id length ${len} < 4`, start + 2);
      const b = r.sub(len - 4, 'body');
      const id: ActionId = { actionType };
      if (actionType === 0xffff && len >= 8) id.experimenter = b.u32('experimenter');
      if (!b.atEnd()) id.data = b.rest();
      ids.push(id);
    } catch (e) {
      rethrowWithPrefix(e, `${field}[${ids.length}].`);
    }
  }
  return ids;
}

/** Encode a list of action ids. */
export function encodeActionIds(w: Writer, ids: readonly ActionId[]): void {
  for (const id of ids) {
    const len = 4 + (id.experimenter !== undefined ? 4 : 0) + (id.data?.length ?? 0);
    w.u16(id.actionType).u16(u16Len(len, 'action id'));
    if (id.experimenter !== undefined) w.u32(id.experimenter);
    if (id.data) w.bytes(id.data);
  }
}
