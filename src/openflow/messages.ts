// OpenFlow 1.3 messages: encodeMessage / decodeMessage for one whole message (8-byte header + body).
//
// decodeMessage never throws anything but OfDecodeError: every read is bounds-checked by Reader, every
// TLV length is checked against its header size and its window, and any other exception (a bug) is
// turned into an OfDecodeError whose field is '(internal)'.

import { decodeActions, encodeActions } from './actions.ts';
import {
  decodeBuckets,
  decodeMeterBands,
  decodePacketQueues,
  encodeBuckets,
  encodeMeterBands,
  encodePacketQueues,
} from './buckets.ts';
import { OfDecodeError, Reader, Writer } from './buffer.ts';
import { decodeInstructions, encodeInstructions } from './instructions.ts';
import {
  decodeMultipartReplyBody,
  decodeMultipartRequestBody,
  encodeMultipartReplyBody,
  encodeMultipartRequestBody,
} from './multipart.ts';
import { decodeMatch, encodeMatch, rethrowWithPrefix, writeMac } from './oxm.ts';
import { decodePort, encodePort } from './ports.ts';
import type { AsyncConfig, HelloElement, MessageType, OfMessage, Outgoing } from './types.ts';
import { OFP_VERSION } from './types.ts';

export const OFP_HEADER_LENGTH = 8;
export const OFP_MAX_MESSAGE_LENGTH = 0xffff;

/** Wire type number of each message type name ('unknown' carries its own). */
export const MESSAGE_TYPE_NUMBER: Readonly<
  Record<Exclude<MessageType, 'unknown' | 'errorExperimenter'>, number>
> = {
  hello: 0,
  error: 1,
  echoRequest: 2,
  echoReply: 3,
  experimenter: 4,
  featuresRequest: 5,
  featuresReply: 6,
  getConfigRequest: 7,
  getConfigReply: 8,
  setConfig: 9,
  packetIn: 10,
  flowRemoved: 11,
  portStatus: 12,
  packetOut: 13,
  flowMod: 14,
  groupMod: 15,
  portMod: 16,
  tableMod: 17,
  multipartRequest: 18,
  multipartReply: 19,
  barrierRequest: 20,
  barrierReply: 21,
  queueGetConfigRequest: 22,
  queueGetConfigReply: 23,
  roleRequest: 24,
  roleReply: 25,
  getAsyncRequest: 26,
  getAsyncReply: 27,
  setAsync: 28,
  meterMod: 29,
};

/** Message type name by wire number (index = ofp_type). */
export const MESSAGE_TYPE_NAMES: readonly MessageType[] = (() => {
  const names: MessageType[] = [];
  for (const [name, n] of Object.entries(MESSAGE_TYPE_NUMBER)) names[n] = name as MessageType;
  return names;
})();

/** Wire type number of a message (errorExperimenter is an error, unknown carries its own). */
export function messageTypeNumber(m: Outgoing | OfMessage): number {
  if (m.type === 'unknown') return m.msgType;
  if (m.type === 'errorExperimenter') return 1;
  return MESSAGE_TYPE_NUMBER[m.type];
}

// ---------------------------------------------------------------- decode

function readHelloElements(r: Reader): HelloElement[] {
  const out: HelloElement[] = [];
  while (!r.atEnd()) {
    try {
      const start = r.offset;
      const type = r.u16('type');
      const len = r.u16('length');
      if (len < 4) r.fail('length', `hello element length ${len} < 4`, start + 2);
      const b = r.sub(len - 4, 'body');
      if (type === 1 && (len - 4) % 4 === 0) {
        const bitmaps: number[] = [];
        while (!b.atEnd()) bitmaps.push(b.u32('bitmaps'));
        out.push({ type: 'versionBitmap', bitmaps });
      } else {
        out.push({ type: 'unknown', elementType: type, data: b.rest() });
      }
      // Elements are padded to 8 bytes; tolerate a last element whose padding is missing.
      const pad = ((len + 7) & ~7) - len;
      r.skip(Math.min(pad, r.remaining));
    } catch (e) {
      rethrowWithPrefix(e, `elements[${out.length}].`);
    }
  }
  return out;
}

function readAsync(r: Reader): AsyncConfig {
  return {
    packetInMask: [r.u32('packet_in_mask[0]'), r.u32('packet_in_mask[1]')],
    portStatusMask: [r.u32('port_status_mask[0]'), r.u32('port_status_mask[1]')],
    flowRemovedMask: [r.u32('flow_removed_mask[0]'), r.u32('flow_removed_mask[1]')],
  };
}

function end(r: Reader): void {
  if (!r.atEnd()) r.fail('length', `${r.remaining} unexpected trailing byte(s)`);
}

function decodeBody(r: Reader, type: number, xid: number, version: number): OfMessage {
  switch (type) {
    case 0:
      return { type: 'hello', version, xid, elements: readHelloElements(r) };
    case 1: {
      const errorType = r.u16('type');
      if (errorType === 0xffff) {
        const expType = r.u16('exp_type');
        const experimenter = r.u32('experimenter');
        return { type: 'errorExperimenter', xid, expType, experimenter, data: r.rest() };
      }
      const code = r.u16('code');
      return { type: 'error', xid, errorType, code, data: r.rest() };
    }
    case 2:
      return { type: 'echoRequest', xid, data: r.rest() };
    case 3:
      return { type: 'echoReply', xid, data: r.rest() };
    case 4: {
      const experimenter = r.u32('experimenter');
      const expType = r.u32('exp_type');
      return { type: 'experimenter', xid, experimenter, expType, data: r.rest() };
    }
    case 5:
      end(r);
      return { type: 'featuresRequest', xid };
    case 6: {
      const datapathId = r.u64('datapath_id');
      const nBuffers = r.u32('n_buffers');
      const nTables = r.u8('n_tables');
      const auxiliaryId = r.u8('auxiliary_id');
      r.skip(2);
      const capabilities = r.u32('capabilities');
      const reserved = r.u32('reserved');
      end(r);
      return {
        type: 'featuresReply',
        xid,
        datapathId,
        nBuffers,
        nTables,
        auxiliaryId,
        capabilities,
        reserved,
      };
    }
    case 7:
      end(r);
      return { type: 'getConfigRequest', xid };
    case 8:
    case 9: {
      const flags = r.u16('flags');
      const missSendLen = r.u16('miss_send_len');
      end(r);
      return type === 8
        ? { type: 'getConfigReply', xid, flags, missSendLen }
        : { type: 'setConfig', xid, flags, missSendLen };
    }
    case 10: {
      const bufferId = r.u32('buffer_id');
      const totalLen = r.u16('total_len');
      const reason = r.u8('reason');
      const tableId = r.u8('table_id');
      const cookie = r.u64('cookie');
      const match = decodeMatch(r, 'match');
      r.skip(2);
      return { type: 'packetIn', xid, bufferId, totalLen, reason, tableId, cookie, match, data: r.rest() };
    }
    case 11: {
      const cookie = r.u64('cookie');
      const priority = r.u16('priority');
      const reason = r.u8('reason');
      const tableId = r.u8('table_id');
      const durationSec = r.u32('duration_sec');
      const durationNsec = r.u32('duration_nsec');
      const idleTimeout = r.u16('idle_timeout');
      const hardTimeout = r.u16('hard_timeout');
      const packetCount = r.u64('packet_count');
      const byteCount = r.u64('byte_count');
      const match = decodeMatch(r, 'match');
      end(r);
      return {
        type: 'flowRemoved',
        xid,
        cookie,
        priority,
        reason,
        tableId,
        durationSec,
        durationNsec,
        idleTimeout,
        hardTimeout,
        packetCount,
        byteCount,
        match,
      };
    }
    case 12: {
      const reason = r.u8('reason');
      r.skip(7);
      const port = decodePort(r, 'desc');
      end(r);
      return { type: 'portStatus', xid, reason, port };
    }
    case 13: {
      const bufferId = r.u32('buffer_id');
      const inPort = r.u32('in_port');
      const actionsLen = r.u16('actions_len');
      r.skip(6);
      const actions = decodeActions(r.sub(actionsLen, 'actions'), 'actions');
      return { type: 'packetOut', xid, bufferId, inPort, actions, data: r.rest() };
    }
    case 14: {
      const cookie = r.u64('cookie');
      const cookieMask = r.u64('cookie_mask');
      const tableId = r.u8('table_id');
      const command = r.u8('command');
      const idleTimeout = r.u16('idle_timeout');
      const hardTimeout = r.u16('hard_timeout');
      const priority = r.u16('priority');
      const bufferId = r.u32('buffer_id');
      const outPort = r.u32('out_port');
      const outGroup = r.u32('out_group');
      const flags = r.u16('flags');
      r.skip(2);
      const match = decodeMatch(r, 'match');
      const instructions = decodeInstructions(r, 'instructions');
      return {
        type: 'flowMod',
        xid,
        cookie,
        cookieMask,
        tableId,
        command,
        idleTimeout,
        hardTimeout,
        priority,
        bufferId,
        outPort,
        outGroup,
        flags,
        match,
        instructions,
      };
    }
    case 15: {
      const command = r.u16('command');
      const groupType = r.u8('type');
      r.skip(1);
      const groupId = r.u32('group_id');
      return { type: 'groupMod', xid, command, groupType, groupId, buckets: decodeBuckets(r, 'buckets') };
    }
    case 16: {
      const portNo = r.u32('port_no');
      r.skip(4);
      const hwAddr = r.mac('hw_addr');
      r.skip(2);
      const config = r.u32('config');
      const mask = r.u32('mask');
      const advertise = r.u32('advertise');
      r.skip(4);
      end(r);
      return { type: 'portMod', xid, portNo, hwAddr, config, mask, advertise };
    }
    case 17: {
      const tableId = r.u8('table_id');
      r.skip(3);
      const config = r.u32('config');
      end(r);
      return { type: 'tableMod', xid, tableId, config };
    }
    case 18:
    case 19: {
      const mpType = r.u16('multipart.type');
      const flags = r.u16('multipart.flags');
      r.skip(4, 'multipart.pad');
      return type === 18
        ? { type: 'multipartRequest', xid, flags, body: decodeMultipartRequestBody(r, mpType) }
        : { type: 'multipartReply', xid, flags, body: decodeMultipartReplyBody(r, mpType) };
    }
    case 20:
      end(r);
      return { type: 'barrierRequest', xid };
    case 21:
      end(r);
      return { type: 'barrierReply', xid };
    case 22: {
      const port = r.u32('port');
      r.skip(4);
      end(r);
      return { type: 'queueGetConfigRequest', xid, port };
    }
    case 23: {
      const port = r.u32('port');
      r.skip(4);
      return { type: 'queueGetConfigReply', xid, port, queues: decodePacketQueues(r, 'queues') };
    }
    case 24:
    case 25: {
      const role = r.u32('role');
      r.skip(4);
      const generationId = r.u64('generation_id');
      end(r);
      return type === 24
        ? { type: 'roleRequest', xid, role, generationId }
        : { type: 'roleReply', xid, role, generationId };
    }
    case 26:
      end(r);
      return { type: 'getAsyncRequest', xid };
    case 27:
    case 28: {
      const a = readAsync(r);
      end(r);
      return type === 27 ? { type: 'getAsyncReply', xid, ...a } : { type: 'setAsync', xid, ...a };
    }
    case 29: {
      const command = r.u16('command');
      const flags = r.u16('flags');
      const meterId = r.u32('meter_id');
      return { type: 'meterMod', xid, command, flags, meterId, bands: decodeMeterBands(r, 'bands') };
    }
    default:
      return { type: 'unknown', version, msgType: type, xid, body: r.rest() };
  }
}

/**
 * Decode exactly one whole message. The header length must equal bytes.length. A message of another
 * OpenFlow version (other than hello) or of an unknown type decodes to an `unknown` message.
 * Throws only OfDecodeError.
 */
export function decodeMessage(bytes: Uint8Array): OfMessage {
  if (!(bytes instanceof Uint8Array)) {
    throw new OfDecodeError('unknown', 'header', 0, 'input is not a Uint8Array');
  }
  // Buffer#slice returns a view, not a copy: decode from a plain Uint8Array view so that every byte
  // payload of the result is an independent Uint8Array copy (never aliasing the caller's buffer).
  if (Buffer.isBuffer(bytes)) bytes = new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (bytes.length < OFP_HEADER_LENGTH) {
    throw new OfDecodeError(
      'unknown',
      'header',
      0,
      `message of ${bytes.length} byte(s) is shorter than the 8-byte header`,
    );
  }
  const version = bytes[0]!;
  const type = bytes[1]!;
  const length = (bytes[2]! << 8) | bytes[3]!;
  const xid = ((bytes[4]! << 24) | (bytes[5]! << 16) | (bytes[6]! << 8) | bytes[7]!) >>> 0;
  const name: string =
    (version === OFP_VERSION || type === 0 ? MESSAGE_TYPE_NAMES[type] : undefined) ?? 'unknown';
  if (length !== bytes.length) {
    throw new OfDecodeError(
      name,
      'header.length',
      2,
      `header length ${length} but ${bytes.length} byte(s) given`,
    );
  }
  if (name === 'unknown') {
    return { type: 'unknown', version, msgType: type, xid, body: bytes.slice(OFP_HEADER_LENGTH) };
  }
  const r = new Reader(bytes, name, OFP_HEADER_LENGTH);
  try {
    return decodeBody(r, type, xid, version);
  } catch (e) {
    if (e instanceof OfDecodeError) throw e;
    throw new OfDecodeError(name, '(internal)', r.offset, e instanceof Error ? e.message : String(e));
  }
}

// ---------------------------------------------------------------- encode

function writeAsync(w: Writer, a: AsyncConfig): void {
  w.u32(a.packetInMask[0]).u32(a.packetInMask[1]);
  w.u32(a.portStatusMask[0]).u32(a.portStatusMask[1]);
  w.u32(a.flowRemovedMask[0]).u32(a.flowRemovedMask[1]);
}

function encodeBody(w: Writer, m: Outgoing): void {
  switch (m.type) {
    case 'hello':
      for (const el of m.elements) {
        const start = w.length;
        if (el.type === 'versionBitmap') {
          w.u16(1).u16(4 + 4 * el.bitmaps.length);
          for (const b of el.bitmaps) w.u32(b);
        } else {
          w.u16(el.elementType)
            .u16(4 + el.data.length)
            .bytes(el.data);
        }
        const len = w.length - start;
        if (len > 0xffff) throw new RangeError('hello element too long');
        w.zeros(((len + 7) & ~7) - len);
      }
      return;
    case 'error':
      w.u16(m.errorType).u16(m.code).bytes(m.data);
      return;
    case 'errorExperimenter':
      w.u16(0xffff).u16(m.expType).u32(m.experimenter).bytes(m.data);
      return;
    case 'echoRequest':
    case 'echoReply':
      w.bytes(m.data);
      return;
    case 'experimenter':
      w.u32(m.experimenter).u32(m.expType).bytes(m.data);
      return;
    case 'featuresRequest':
    case 'getConfigRequest':
    case 'barrierRequest':
    case 'barrierReply':
    case 'getAsyncRequest':
      return;
    case 'featuresReply':
      w.u64(m.datapathId).u32(m.nBuffers).u8(m.nTables).u8(m.auxiliaryId).zeros(2);
      w.u32(m.capabilities).u32(m.reserved);
      return;
    case 'getConfigReply':
    case 'setConfig':
      w.u16(m.flags).u16(m.missSendLen);
      return;
    case 'packetIn':
      w.u32(m.bufferId).u16(m.totalLen).u8(m.reason).u8(m.tableId).u64(m.cookie);
      encodeMatch(w, m.match);
      w.u16(0).bytes(m.data);
      return;
    case 'flowRemoved':
      w.u64(m.cookie).u16(m.priority).u8(m.reason).u8(m.tableId);
      w.u32(m.durationSec).u32(m.durationNsec).u16(m.idleTimeout).u16(m.hardTimeout);
      w.u64(m.packetCount).u64(m.byteCount);
      encodeMatch(w, m.match);
      return;
    case 'portStatus':
      w.u8(m.reason).zeros(7);
      encodePort(w, m.port);
      return;
    case 'packetOut': {
      w.u32(m.bufferId).u32(m.inPort);
      const lenAt = w.reserveU16();
      w.u32(0).u16(0);
      const start = w.length;
      encodeActions(w, m.actions);
      const alen = w.length - start;
      if (alen > 0xffff) throw new RangeError('packet-out actions too long');
      w.patchU16(lenAt, alen);
      w.bytes(m.data);
      return;
    }
    case 'flowMod':
      w.u64(m.cookie).u64(m.cookieMask).u8(m.tableId).u8(m.command);
      w.u16(m.idleTimeout).u16(m.hardTimeout).u16(m.priority);
      w.u32(m.bufferId).u32(m.outPort).u32(m.outGroup).u16(m.flags).u16(0);
      encodeMatch(w, m.match);
      encodeInstructions(w, m.instructions);
      return;
    case 'groupMod':
      w.u16(m.command).u8(m.groupType).zeros(1).u32(m.groupId);
      encodeBuckets(w, m.buckets);
      return;
    case 'portMod':
      w.u32(m.portNo).zeros(4);
      writeMac(w, m.hwAddr);
      w.zeros(2).u32(m.config).u32(m.mask).u32(m.advertise).zeros(4);
      return;
    case 'tableMod':
      w.u8(m.tableId).zeros(3).u32(m.config);
      return;
    case 'multipartRequest':
    case 'multipartReply': {
      const typeAt = w.reserveU16();
      w.u16(m.flags).zeros(4);
      const mpType =
        m.type === 'multipartRequest'
          ? encodeMultipartRequestBody(w, m.body)
          : encodeMultipartReplyBody(w, m.body);
      w.patchU16(typeAt, mpType);
      return;
    }
    case 'queueGetConfigRequest':
      w.u32(m.port).zeros(4);
      return;
    case 'queueGetConfigReply':
      w.u32(m.port).zeros(4);
      encodePacketQueues(w, m.queues);
      return;
    case 'roleRequest':
    case 'roleReply':
      w.u32(m.role).zeros(4).u64(m.generationId);
      return;
    case 'getAsyncReply':
    case 'setAsync':
      writeAsync(w, m);
      return;
    case 'meterMod':
      w.u16(m.command).u16(m.flags).u32(m.meterId);
      encodeMeterBands(w, m.bands);
      return;
    case 'unknown':
      w.bytes(m.body);
      return;
    default:
      throw new TypeError(`cannot encode message type "${(m as { type: string }).type}"`);
  }
}

/** Initial writer size by message type: big enough for typical messages so the writer never grows. */
function initialSize(m: Outgoing): number {
  switch (m.type) {
    case 'packetOut':
    case 'packetIn':
      return 64 + m.data.length + (m.type === 'packetOut' ? 16 * m.actions.length : 64);
    case 'multipartReply':
    case 'multipartRequest':
      return 1024;
    case 'unknown':
      return 8 + m.body.length;
    default:
      return 256;
  }
}

/**
 * Encode one message. The xid defaults to 0; the header version is 4, except for hello and unknown
 * messages, which carry their own. Throws TypeError/RangeError on values that cannot be encoded
 * (e.g. a message longer than 65535 bytes).
 */
export function encodeMessage(m: Outgoing | OfMessage): Buffer {
  const w = new Writer(initialSize(m));
  const version = m.type === 'hello' || m.type === 'unknown' ? m.version : OFP_VERSION;
  w.u8(version)
    .u8(messageTypeNumber(m))
    .u16(0)
    .u32(m.xid ?? 0);
  encodeBody(w, m);
  const len = w.length;
  if (len > OFP_MAX_MESSAGE_LENGTH) {
    throw new RangeError(`${m.type} message too long: ${len} bytes (max ${OFP_MAX_MESSAGE_LENGTH})`);
  }
  w.patchU16(2, len);
  return w.finish();
}
