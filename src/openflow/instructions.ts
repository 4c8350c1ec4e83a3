// OpenFlow 1.3 instructions (ofp_instruction_*) and instruction ids (table-features lists).

import { decodeActions, encodeActions } from './actions.ts';
import type { Reader, Writer } from './buffer.ts';
import { rethrowWithPrefix } from './oxm.ts';
import type { Instruction, InstructionId } from './types.ts';

/** ofp_instruction_type */
export const InstructionType = {
  GOTO_TABLE: 1,
  WRITE_METADATA: 2,
  WRITE_ACTIONS: 3,
  APPLY_ACTIONS: 4,
  CLEAR_ACTIONS: 5,
  METER: 6,
  EXPERIMENTER: 0xffff,
} as const;

function expectLen(r: Reader, len: number, want: number, start: number): void {
  if (len !== want) r.fail('len', `length ${len}, expected ${want}`, start + 2);
}

function readInstruction(r: Reader): Instruction {
  const start = r.offset;
  const type = r.u16('type');
  const len = r.u16('len');
  if (len < 4) r.fail('len', `instruction length ${len} < 4`, start + 2);
  const b = r.sub(len - 4, 'body');
  switch (type) {
    case 1:
      expectLen(r, len, 8, start);
      return { type: 'gotoTable', tableId: b.u8('table_id') };
    case 2: {
      expectLen(r, len, 24, start);
      b.skip(4);
      const metadata = b.u64('metadata');
      const metadataMask = b.u64('metadata_mask');
      return { type: 'writeMetadata', metadata, metadataMask };
    }
    case 3:
    case 4: {
      if (len < 8) r.fail('len', `length ${len} < 8`, start + 2);
      b.skip(4);
      const actions = decodeActions(b, 'actions');
      return type === 3 ? { type: 'writeActions', actions } : { type: 'applyActions', actions };
    }
    case 5:
      expectLen(r, len, 8, start);
      return { type: 'clearActions' };
    case 6:
      expectLen(r, len, 8, start);
      return { type: 'meter', meterId: b.u32('meter_id') };
    case 0xffff: {
      if (len < 8) r.fail('len', `experimenter instruction length ${len} < 8`, start + 2);
      const experimenter = b.u32('experimenter');
      return { type: 'experimenter', experimenter, data: b.rest() };
    }
    default:
      return { type: 'unknown', instructionType: type, data: b.rest() };
  }
}

/** Decode an instruction list until the reader's end. */
export function decodeInstructions(r: Reader, field: string): Instruction[] {
  const out: Instruction[] = [];
  while (!r.atEnd()) {
    try {
      out.push(readInstruction(r));
    } catch (e) {
      rethrowWithPrefix(e, `${field}[${out.length}].`);
    }
  }
  return out;
}

function u16Len(n: number, what: string): number {
  if (n > 0xffff) throw new RangeError(`${what} too long (${n} bytes)`);
  return n;
}

/** Encode one instruction. */
export function encodeInstruction(w: Writer, ins: Instruction): void {
  switch (ins.type) {
    case 'gotoTable':
      w.u16(1).u16(8).u8(ins.tableId).u16(0).u8(0);
      return;
    case 'writeMetadata':
      w.u16(2).u16(24).u32(0).u64(ins.metadata).u64(ins.metadataMask);
      return;
    case 'writeActions':
    case 'applyActions': {
      const start = w.length;
      w.u16(ins.type === 'writeActions' ? 3 : 4);
      const lenAt = w.reserveU16();
      w.u32(0);
      encodeActions(w, ins.actions);
      w.patchU16(lenAt, u16Len(w.length - start, 'actions instruction'));
      return;
    }
    case 'clearActions':
      w.u16(5).u16(8).u32(0);
      return;
    case 'meter':
      w.u16(6).u16(8).u32(ins.meterId);
      return;
    case 'experimenter':
      w.u16(0xffff)
        .u16(u16Len(8 + ins.data.length, 'experimenter instruction'))
        .u32(ins.experimenter)
        .bytes(ins.data);
      return;
    case 'unknown':
      w.u16(ins.instructionType)
        .u16(u16Len(4 + ins.data.length, 'unknown instruction'))
        .bytes(ins.data);
      return;
    default:
      throw new TypeError(`unknown instruction type "${(ins as { type: string }).type}"`);
  }
}

/** Encode an instruction list. */
export function encodeInstructions(w: Writer, ins: readonly Instruction[]): void {
  for (let i = 0; i < ins.length; i++) encodeInstruction(w, ins[i]!);
}

// ---------------------------------------------------------------- instruction ids (table features)

/** Decode a list of instruction ids (type, len, experimenter id for 0xffff, extra bytes as data). */
export function decodeInstructionIds(r: Reader, field: string): InstructionId[] {
  const ids: InstructionId[] = [];
  while (!r.atEnd()) {
    try {
      const start = r.offset;
      const instructionType = r.u16('type');
      const len = r.u16('len');
      if (len < 4) r.fail('len', `instruction id length ${len} < 4`, start + 2);
      const b = r.sub(len - 4, 'body');
      const id: InstructionId = { instructionType };
      if (instructionType === 0xffff && len >= 8) id.experimenter = b.u32('experimenter');
      if (!b.atEnd()) id.data = b.rest();
      ids.push(id);
    } catch (e) {
      rethrowWithPrefix(e, `${field}[${ids.length}].`);
    }
  }
  return ids;
}

/** Encode a list of instruction ids. */
export function encodeInstructionIds(w: Writer, ids: readonly InstructionId[]): void {
  for (const id of ids) {
    const len = 4 + (id.experimenter !== undefined ? 4 : 0) + (id.data?.length ?? 0);
    w.u16(id.instructionType).u16(u16Len(len, 'instruction id'));
    if (id.experimenter !== undefined) w.u32(id.experimenter);
    if (id.data) w.bytes(id.data);
  }
}
