// Splits a TCP byte stream into whole OpenFlow messages.
//
// push() takes each chunk as it arrives and returns the messages it completes. A message lying wholly
// inside one chunk is returned as a subarray of that chunk (no copy: Node's socket chunks are fresh
// buffers, so do not modify a chunk after pushing it); a message spanning chunks is assembled into a
// buffer of exactly its length, allocated once its header is known. Work is linear in the bytes pushed,
// whatever the read boundaries.

import { OfDecodeError } from './buffer.ts';

export const DEFAULT_MAX_MESSAGE_SIZE = 0xffff;

/** The stream is not a valid OpenFlow stream (a header length below 8 or above the maximum). */
export class FramingError extends Error {
  override readonly name = 'FramingError';
  constructor(
    /** Offset of the offending header from the start of the stream. */
    readonly offset: number,
    readonly reason: string,
  ) {
    super(`OpenFlow framing error at stream offset ${offset}: ${reason}`);
  }
}

export interface OfHeader {
  version: number;
  type: number;
  length: number;
  xid: number;
}

/** Read the 8-byte OpenFlow header at the start of `bytes` (throws OfDecodeError if shorter). */
export function peekHeader(bytes: Uint8Array): OfHeader {
  if (bytes.length < 8) {
    throw new OfDecodeError('unknown', 'header', 0, `needs 8 bytes, ${bytes.length} given`);
  }
  return {
    version: bytes[0]!,
    type: bytes[1]!,
    length: (bytes[2]! << 8) | bytes[3]!,
    xid: ((bytes[4]! << 24) | (bytes[5]! << 16) | (bytes[6]! << 8) | bytes[7]!) >>> 0,
  };
}

export class MessageFramer {
  private readonly max: number;
  /** Bytes of a header seen so far, when fewer than 8 have arrived. */
  private readonly hdr = new Uint8Array(8);
  private hdrFill = 0;
  /** The message being assembled across chunks (allocated once its length is known). */
  private partial: Uint8Array | null = null;
  private partialFill = 0;
  /** Stream offset of the first byte not yet consumed. */
  private streamOffset = 0;
  private failed: FramingError | null = null;

  constructor(opts: { maxMessageSize?: number } = {}) {
    const max = opts.maxMessageSize ?? DEFAULT_MAX_MESSAGE_SIZE;
    if (!Number.isInteger(max) || max < 8 || max > 0xffff) {
      throw new RangeError(`maxMessageSize must be an integer in [8, 65535], got ${max}`);
    }
    this.max = max;
  }

  /** Bytes held for an incomplete message. */
  get buffered(): number {
    return this.partial ? this.partialFill : this.hdrFill;
  }

  /** Whether the stream has failed (a FramingError was thrown; every later push throws it again). */
  get broken(): boolean {
    return this.failed !== null;
  }

  private check(length: number, at: number): void {
    if (length < 8) this.fail(at, `header length ${length} is below 8`);
    if (length > this.max)
      this.fail(at, `header length ${length} exceeds the maximum message size ${this.max}`);
  }

  private fail(at: number, reason: string): never {
    this.failed = new FramingError(at, reason);
    throw this.failed;
  }

  /** Feed one chunk of the stream; returns the messages it completes, in order. */
  push(chunk: Uint8Array): Uint8Array[] {
    if (this.failed) throw this.failed;
    const out: Uint8Array[] = [];
    const n = chunk.length;
    let pos = 0;

    // 1. Finish a message (or header) started in an earlier chunk.
    if (this.hdrFill > 0) {
      const take = Math.min(8 - this.hdrFill, n);
      this.hdr.set(chunk.subarray(0, take), this.hdrFill);
      this.hdrFill += take;
      pos = take;
      if (this.hdrFill < 8) return out;
      const h = this.hdr;
      const length = (h[2]! << 8) | h[3]!;
      this.check(length, this.streamOffset);
      this.partial = new Uint8Array(length);
      this.partial.set(h, 0);
      this.partialFill = 8;
      this.hdrFill = 0;
    }
    if (this.partial) {
      const p = this.partial;
      const take = Math.min(p.length - this.partialFill, n - pos);
      p.set(chunk.subarray(pos, pos + take), this.partialFill);
      this.partialFill += take;
      pos += take;
      if (this.partialFill < p.length) return out;
      out.push(p);
      this.streamOffset += p.length;
      this.partial = null;
      this.partialFill = 0;
    }

    // 2. Whole messages inside this chunk: subarrays, no copy.
    while (n - pos >= 8) {
      const length = (chunk[pos + 2]! << 8) | chunk[pos + 3]!;
      this.check(length, this.streamOffset);
      if (n - pos < length) break;
      out.push(chunk.subarray(pos, pos + length));
      pos += length;
      this.streamOffset += length;
    }

    // 3. Keep the tail (a partial header, or a partial message whose length is known).
    const left = n - pos;
    if (left > 0) {
      if (left < 8) {
        this.hdr.set(chunk.subarray(pos), 0);
        this.hdrFill = left;
      } else {
        const length = (chunk[pos + 2]! << 8) | chunk[pos + 3]!;
        this.partial = new Uint8Array(length);
        this.partial.set(chunk.subarray(pos), 0);
        this.partialFill = left;
      }
    }
    return out;
  }

  /** Forget any partial message (e.g. after a reconnect). */
  reset(): void {
    this.hdrFill = 0;
    this.partial = null;
    this.partialFill = 0;
    this.streamOffset = 0;
    this.failed = null;
  }
}
