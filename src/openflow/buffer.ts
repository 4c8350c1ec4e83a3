// Bounds-checked big-endian reader and a growable writer: the only places that touch raw bytes.
//
// Decoders never index a Uint8Array directly: every read goes through Reader, which throws an
// OfDecodeError naming the message type, the field and the absolute byte offset when the data is short.
// Reader.sub() carves a bounded window for a TLV or a list, so a bad inner length can never make a
// decoder read past its parent.

export class OfDecodeError extends Error {
  override readonly name = 'OfDecodeError';
  constructor(
    /** The message being decoded, e.g. 'flowMod' or 'multipartReply/flow'. */
    readonly messageType: string,
    /** The field being read, e.g. 'match.oxm[2].length'. */
    readonly field: string,
    /** Absolute byte offset from the start of the message. */
    readonly offset: number,
    readonly detail: string,
  ) {
    super(`cannot decode ${messageType}: ${field} at byte ${offset}: ${detail}`);
  }
}

export class Reader {
  private pos: number;
  private readonly view: DataView;

  constructor(
    readonly bytes: Uint8Array,
    /** Name of the message for error messages. */
    readonly messageType: string,
    start = 0,
    private readonly end = bytes.length,
    /** Absolute offset of `bytes[0]` within the whole message (for error messages). */
    private readonly base = 0,
    /** Shared by sub-readers so a TLV window costs no new DataView. */
    view?: DataView,
  ) {
    this.pos = start;
    this.view = view ?? new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  /** Absolute offset (from the start of the message) of the next byte to read. */
  get offset(): number {
    return this.base + this.pos;
  }
  get remaining(): number {
    return this.end - this.pos;
  }
  atEnd(): boolean {
    return this.pos >= this.end;
  }

  fail(field: string, detail: string, at = this.offset): never {
    throw new OfDecodeError(this.messageType, field, at, detail);
  }

  need(n: number, field: string): void {
    if (n < 0 || this.pos + n > this.end) {
      this.fail(field, `needs ${n} byte(s), ${this.remaining} left`);
    }
  }

  u8(field: string): number {
    this.need(1, field);
    return this.view.getUint8(this.pos++);
  }
  u16(field: string): number {
    this.need(2, field);
    const v = this.view.getUint16(this.pos);
    this.pos += 2;
    return v;
  }
  u32(field: string): number {
    this.need(4, field);
    const v = this.view.getUint32(this.pos);
    this.pos += 4;
    return v;
  }
  u64(field: string): bigint {
    this.need(8, field);
    const v = this.view.getBigUint64(this.pos);
    this.pos += 8;
    return v;
  }
  /** A copy of the next n bytes. */
  bytesN(n: number, field: string): Uint8Array {
    this.need(n, field);
    // Uint8Array's slice copies; Buffer's slice would return a view that aliases the input.
    const out = Uint8Array.prototype.slice.call(this.bytes, this.pos, this.pos + n);
    this.pos += n;
    return out;
  }
  /** Everything up to the end of this reader's window. */
  rest(): Uint8Array {
    return this.bytesN(this.remaining, 'data');
  }
  skip(n: number, field = 'pad'): void {
    this.need(n, field);
    this.pos += n;
  }
  /** A fixed-size, NUL-padded ASCII string. */
  fixedString(n: number, field: string): string {
    this.need(n, field);
    let endIdx = this.pos;
    const stop = this.pos + n;
    while (endIdx < stop && this.bytes[endIdx] !== 0) endIdx++;
    const s = Buffer.from(this.bytes.buffer, this.bytes.byteOffset + this.pos, endIdx - this.pos).toString(
      'latin1',
    );
    this.pos = stop;
    return s;
  }
  mac(field: string): string {
    this.need(6, field);
    const b = this.bytes;
    const p = this.pos;
    this.pos += 6;
    return `${HEX2[b[p]!]}:${HEX2[b[p + 1]!]}:${HEX2[b[p + 2]!]}:${HEX2[b[p + 3]!]}:${HEX2[b[p + 4]!]}:${HEX2[b[p + 5]!]}`;
  }
  ipv4(field: string): string {
    this.need(4, field);
    const b = this.bytes;
    const p = this.pos;
    this.pos += 4;
    return `${b[p]}.${b[p + 1]}.${b[p + 2]}.${b[p + 3]}`;
  }
  ipv6(field: string): string {
    return ipv6ToText(this.bytesN(16, field));
  }

  /** Peek a u16 at a relative position without moving (bounds-checked). */
  peekU16(relative: number, field: string): number {
    if (this.pos + relative + 2 > this.end) this.fail(field, 'truncated header');
    return this.view.getUint16(this.pos + relative);
  }

  /**
   * A reader over the next `n` bytes (a TLV or list window); this reader moves past them.
   * Errors inside the window still report absolute offsets.
   */
  sub(n: number, field: string): Reader {
    this.need(n, field);
    const r = new Reader(this.bytes, this.messageType, this.pos, this.pos + n, this.base, this.view);
    this.pos += n;
    return r;
  }
}

const HEX2: string[] = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

export class Writer {
  private buf: Buffer;
  private len = 0;

  constructor(initialSize = 256) {
    this.buf = Buffer.allocUnsafe(initialSize);
  }

  get length(): number {
    return this.len;
  }

  private ensure(n: number): void {
    if (this.len + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.len + n) size *= 2;
    const next = Buffer.allocUnsafe(size);
    this.buf.copy(next, 0, 0, this.len);
    this.buf = next;
  }

  u8(v: number): this {
    this.ensure(1);
    this.buf[this.len++] = v & 0xff;
    return this;
  }
  u16(v: number): this {
    this.ensure(2);
    this.buf.writeUInt16BE(v & 0xffff, this.len);
    this.len += 2;
    return this;
  }
  u32(v: number): this {
    this.ensure(4);
    this.buf.writeUInt32BE(v >>> 0, this.len);
    this.len += 4;
    return this;
  }
  u64(v: bigint): this {
    this.ensure(8);
    this.buf.writeBigUInt64BE(BigInt.asUintN(64, v), this.len);
    this.len += 8;
    return this;
  }
  bytes(b: Uint8Array): this {
    this.ensure(b.length);
    this.buf.set(b, this.len);
    this.len += b.length;
    return this;
  }
  zeros(n: number): this {
    this.ensure(n);
    this.buf.fill(0, this.len, this.len + n);
    this.len += n;
    return this;
  }
  /** Zero bytes up to the next multiple of `align` (measured from the start of this writer). */
  padTo(align: number): this {
    const rem = this.len % align;
    return rem === 0 ? this : this.zeros(align - rem);
  }
  fixedString(s: string, n: number): this {
    const raw = Buffer.from(s, 'latin1');
    this.ensure(n);
    const take = Math.min(raw.length, n - 1 >= 0 ? n : 0);
    raw.copy(this.buf, this.len, 0, take);
    this.buf.fill(0, this.len + take, this.len + n);
    this.len += n;
    return this;
  }
  mac(s: string): this {
    return this.bytes(macToBytes(s));
  }
  ipv4(s: string): this {
    return this.bytes(ipv4ToBytes(s));
  }
  ipv6(s: string): this {
    return this.bytes(ipv6ToBytes(s));
  }

  /** Reserve a u16 length slot; returns its position for patchU16. */
  reserveU16(): number {
    const at = this.len;
    this.u16(0);
    return at;
  }
  patchU16(at: number, v: number): void {
    this.buf.writeUInt16BE(v & 0xffff, at);
  }
  patchU32(at: number, v: number): void {
    this.buf.writeUInt32BE(v >>> 0, at);
  }

  /** The bytes written so far (a view, not a copy). */
  finish(): Buffer {
    return this.buf.subarray(0, this.len);
  }
}

// ---------------------------------------------------------------- address text <-> bytes

export function macToBytes(s: string): Uint8Array {
  const parts = s.split(/[:-]/);
  if (parts.length !== 6) throw new TypeError(`bad MAC address "${s}"`);
  const out = new Uint8Array(6);
  for (let i = 0; i < 6; i++) {
    const p = parts[i]!;
    if (!/^[0-9a-fA-F]{1,2}$/.test(p)) throw new TypeError(`bad MAC address "${s}"`);
    out[i] = Number.parseInt(p, 16);
  }
  return out;
}

export function ipv4ToBytes(s: string): Uint8Array {
  const parts = s.split('.');
  if (parts.length !== 4) throw new TypeError(`bad IPv4 address "${s}"`);
  const out = new Uint8Array(4);
  for (let i = 0; i < 4; i++) {
    const p = parts[i]!;
    const n = Number(p);
    if (!/^\d{1,3}$/.test(p) || n > 255) throw new TypeError(`bad IPv4 address "${s}"`);
    out[i] = n;
  }
  return out;
}

export function ipv6ToBytes(s: string): Uint8Array {
  let text = s;
  const out = new Uint8Array(16);
  // An embedded IPv4 tail (::ffff:1.2.3.4) becomes two groups.
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (v4) {
    const b = ipv4ToBytes(v4[1]!);
    text = `${text.slice(0, v4.index)}${((b[0]! << 8) | b[1]!).toString(16)}:${((b[2]! << 8) | b[3]!).toString(16)}`;
  }
  const halves = text.split('::');
  if (halves.length > 2) throw new TypeError(`bad IPv6 address "${s}"`);
  const head = halves[0] ? halves[0].split(':') : [];
  const tail = halves.length === 2 && halves[1] ? halves[1].split(':') : [];
  const missing = 8 - head.length - tail.length;
  if ((halves.length === 1 && missing !== 0) || missing < 0) throw new TypeError(`bad IPv6 address "${s}"`);
  const groups = [...head, ...Array<string>(halves.length === 2 ? missing : 0).fill('0'), ...tail];
  groups.forEach((g, i) => {
    if (!/^[0-9a-fA-F]{1,4}$/.test(g)) throw new TypeError(`bad IPv6 address "${s}"`);
    const v = Number.parseInt(g, 16);
    out[i * 2] = v >> 8;
    out[i * 2 + 1] = v & 0xff;
  });
  return out;
}

/** RFC 5952 text form (lower case, longest zero run compressed). */
export function ipv6ToText(b: Uint8Array): string {
  const groups: number[] = [];
  for (let i = 0; i < 16; i += 2) groups.push((b[i]! << 8) | b[i + 1]!);
  let bestStart = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen && j - i >= 2) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestStart < 0) return hex.join(':');
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLen).join(':')}`;
}
