// Group buckets (ofp_bucket), meter bands (ofp_meter_band_*), queue properties (ofp_queue_prop_*) and
// packet queues (ofp_packet_queue).

import { decodeActions, encodeActions } from './actions.ts';
import type { Reader, Writer } from './buffer.ts';
import { rethrowWithPrefix } from './oxm.ts';
import type { Bucket, MeterBand, PacketQueue, QueueProperty } from './types.ts';

function u16Len(n: number, what: string): number {
  if (n > 0xffff) throw new RangeError(`${what} too long (${n} bytes)`);
  return n;
}

// ---------------------------------------------------------------- buckets

/** Decode ofp_bucket entries until the reader's end. */
export function decodeBuckets(r: Reader, field: string): Bucket[] {
  const out: Bucket[] = [];
  while (!r.atEnd()) {
    try {
      const start = r.offset;
      const len = r.u16('len');
      if (len < 16) r.fail('len', `bucket length ${len} < 16`, start);
      const b = r.sub(len - 2, 'body');
      const weight = b.u16('weight');
      const watchPort = b.u32('watch_port');
      const watchGroup = b.u32('watch_group');
      b.skip(4);
      out.push({ weight, watchPort, watchGroup, actions: decodeActions(b, 'actions') });
    } catch (e) {
      rethrowWithPrefix(e, `${field}[${out.length}].`);
    }
  }
  return out;
}

/** Encode ofp_bucket entries. */
export function encodeBuckets(w: Writer, buckets: readonly Bucket[]): void {
  for (const bk of buckets) {
    const start = w.length;
    const lenAt = w.reserveU16();
    w.u16(bk.weight).u32(bk.watchPort).u32(bk.watchGroup).zeros(4);
    encodeActions(w, bk.actions);
    w.patchU16(lenAt, u16Len(w.length - start, 'bucket'));
  }
}

// ---------------------------------------------------------------- meter bands

/** ofp_meter_band_type */
export const MeterBandType = { DROP: 1, DSCP_REMARK: 2, EXPERIMENTER: 0xffff } as const;

/** Decode meter bands until the reader's end. */
export function decodeMeterBands(r: Reader, field: string): MeterBand[] {
  const out: MeterBand[] = [];
  while (!r.atEnd()) {
    try {
      const start = r.offset;
      const type = r.u16('type');
      const len = r.u16('len');
      if (len < 12) r.fail('len', `meter band length ${len} < 12`, start + 2);
      const b = r.sub(len - 4, 'body');
      const rate = b.u32('rate');
      const burstSize = b.u32('burst_size');
      switch (type) {
        case 1:
          if (len !== 16) r.fail('len', `drop band length ${len}, expected 16`, start + 2);
          out.push({ type: 'drop', rate, burstSize });
          break;
        case 2:
          if (len !== 16) r.fail('len', `dscp-remark band length ${len}, expected 16`, start + 2);
          out.push({ type: 'dscpRemark', rate, burstSize, precLevel: b.u8('prec_level') });
          break;
        case 0xffff: {
          if (len < 16) r.fail('len', `experimenter band length ${len} < 16`, start + 2);
          const experimenter = b.u32('experimenter');
          out.push({ type: 'experimenter', rate, burstSize, experimenter, data: b.rest() });
          break;
        }
        default:
          out.push({ type: 'unknown', bandType: type, rate, burstSize, data: b.rest() });
      }
    } catch (e) {
      rethrowWithPrefix(e, `${field}[${out.length}].`);
    }
  }
  return out;
}

/** Encode meter bands. */
export function encodeMeterBands(w: Writer, bands: readonly MeterBand[]): void {
  for (const band of bands) {
    switch (band.type) {
      case 'drop':
        w.u16(1).u16(16).u32(band.rate).u32(band.burstSize).zeros(4);
        break;
      case 'dscpRemark':
        w.u16(2).u16(16).u32(band.rate).u32(band.burstSize).u8(band.precLevel).zeros(3);
        break;
      case 'experimenter':
        w.u16(0xffff)
          .u16(u16Len(16 + band.data.length, 'meter band'))
          .u32(band.rate)
          .u32(band.burstSize)
          .u32(band.experimenter)
          .bytes(band.data);
        break;
      case 'unknown':
        w.u16(band.bandType)
          .u16(u16Len(12 + band.data.length, 'meter band'))
          .u32(band.rate)
          .u32(band.burstSize)
          .bytes(band.data);
        break;
      default:
        throw new TypeError(`unknown meter band type "${(band as { type: string }).type}"`);
    }
  }
}

// ---------------------------------------------------------------- queue properties and queues

/** ofp_queue_properties */
export const QueuePropertyType = { MIN_RATE: 1, MAX_RATE: 2, EXPERIMENTER: 0xffff } as const;

/**
 * Decode queue properties until the reader's end. Each has an 8-byte header (property, len, pad[4]);
 * an unknown property keeps the bytes after that header.
 */
export function decodeQueueProperties(r: Reader, field: string): QueueProperty[] {
  const out: QueueProperty[] = [];
  while (!r.atEnd()) {
    try {
      const start = r.offset;
      const type = r.u16('property');
      const len = r.u16('len');
      if (len < 8) r.fail('len', `queue property length ${len} < 8`, start + 2);
      const b = r.sub(len - 4, 'body');
      b.skip(4);
      switch (type) {
        case 1:
        case 2: {
          if (len !== 16) r.fail('len', `rate property length ${len}, expected 16`, start + 2);
          const rate = b.u16('rate');
          out.push(type === 1 ? { type: 'minRate', rate } : { type: 'maxRate', rate });
          break;
        }
        case 0xffff: {
          if (len < 16) r.fail('len', `experimenter property length ${len} < 16`, start + 2);
          const experimenter = b.u32('experimenter');
          b.skip(4);
          out.push({ type: 'experimenter', experimenter, data: b.rest() });
          break;
        }
        default:
          out.push({ type: 'unknown', propertyType: type, data: b.rest() });
      }
    } catch (e) {
      rethrowWithPrefix(e, `${field}[${out.length}].`);
    }
  }
  return out;
}

/** Encode queue properties. */
export function encodeQueueProperties(w: Writer, props: readonly QueueProperty[]): void {
  for (const p of props) {
    switch (p.type) {
      case 'minRate':
      case 'maxRate':
        w.u16(p.type === 'minRate' ? 1 : 2)
          .u16(16)
          .zeros(4)
          .u16(p.rate)
          .zeros(6);
        break;
      case 'experimenter':
        w.u16(0xffff)
          .u16(u16Len(16 + p.data.length, 'queue property'))
          .zeros(4)
          .u32(p.experimenter)
          .zeros(4)
          .bytes(p.data);
        break;
      case 'unknown':
        w.u16(p.propertyType)
          .u16(u16Len(8 + p.data.length, 'queue property'))
          .zeros(4)
          .bytes(p.data);
        break;
      default:
        throw new TypeError(`unknown queue property type "${(p as { type: string }).type}"`);
    }
  }
}

/** Decode ofp_packet_queue entries until the reader's end. */
export function decodePacketQueues(r: Reader, field: string): PacketQueue[] {
  const out: PacketQueue[] = [];
  while (!r.atEnd()) {
    try {
      const start = r.offset;
      const queueId = r.u32('queue_id');
      const port = r.u32('port');
      const len = r.u16('len');
      if (len < 16) r.fail('len', `packet queue length ${len} < 16`, start + 8);
      const b = r.sub(len - 10, 'body');
      b.skip(6);
      out.push({ queueId, port, properties: decodeQueueProperties(b, 'properties') });
    } catch (e) {
      rethrowWithPrefix(e, `${field}[${out.length}].`);
    }
  }
  return out;
}

/** Encode ofp_packet_queue entries. */
export function encodePacketQueues(w: Writer, queues: readonly PacketQueue[]): void {
  for (const q of queues) {
    const start = w.length;
    w.u32(q.queueId).u32(q.port);
    const lenAt = w.reserveU16();
    w.zeros(6);
    encodeQueueProperties(w, q.properties);
    w.patchU16(lenAt, u16Len(w.length - start, 'packet queue'));
  }
}
