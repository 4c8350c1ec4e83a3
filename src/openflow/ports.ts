// ofp_port (64 bytes).

import type { Reader, Writer } from './buffer.ts';
import { rethrowWithPrefix, writeMac } from './oxm.ts';
import type { Port } from './types.ts';

export const PORT_LENGTH = 64;
export const MAX_PORT_NAME_LEN = 16;

/** Decode one 64-byte ofp_port. */
export function decodePort(r: Reader, field: string): Port {
  try {
    const portNo = r.u32('port_no');
    r.skip(4);
    const hwAddr = r.mac('hw_addr');
    r.skip(2);
    const name = r.fixedString(MAX_PORT_NAME_LEN, 'name');
    return {
      portNo,
      hwAddr,
      name,
      config: r.u32('config'),
      state: r.u32('state'),
      curr: r.u32('curr'),
      advertised: r.u32('advertised'),
      supported: r.u32('supported'),
      peer: r.u32('peer'),
      currSpeed: r.u32('curr_speed'),
      maxSpeed: r.u32('max_speed'),
    };
  } catch (e) {
    rethrowWithPrefix(e, `${field}.`);
  }
}

/** Encode one 64-byte ofp_port (the name is cut to 16 bytes, NUL-padded). */
export function encodePort(w: Writer, p: Port): void {
  w.u32(p.portNo).zeros(4);
  writeMac(w, p.hwAddr);
  w.zeros(2);
  w.fixedString(p.name, MAX_PORT_NAME_LEN);
  w.u32(p.config)
    .u32(p.state)
    .u32(p.curr)
    .u32(p.advertised)
    .u32(p.supported)
    .u32(p.peer)
    .u32(p.currSpeed)
    .u32(p.maxSpeed);
}

/** Decode ports until the reader's end (port-desc reply). */
export function decodePorts(r: Reader, field: string): Port[] {
  const out: Port[] = [];
  while (!r.atEnd()) out.push(decodePort(r, `${field}[${out.length}]`));
  return out;
}

export function encodePorts(w: Writer, ports: readonly Port[]): void {
  for (const p of ports) encodePort(w, p);
}
