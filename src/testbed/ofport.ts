// A minimal OpenFlow 1.3 client for one job: reading port descriptions and sending port-mods to a
// bridge through its management socket (<OVS_RUNDIR>/<bridge>.mgmt). ovs-ofctl mod-port needs a
// process and three round trips per port and flag; this does all ports of a bridge on one connection.
// (The full OpenFlow codec lives in src/openflow; the test bed only needs these four messages.)
import { connect, type Socket } from 'node:net';

const OFP_VERSION = 0x04;
const T_HELLO = 0;
const T_ERROR = 1;
const T_ECHO_REQUEST = 2;
const T_ECHO_REPLY = 3;
const T_PORT_MOD = 16;
const T_MULTIPART_REQUEST = 18;
const T_MULTIPART_REPLY = 19;
const T_BARRIER_REQUEST = 20;
const T_BARRIER_REPLY = 21;
const MP_PORT_DESC = 13;

/** OFPPC_* port config bits (OpenFlow 1.3). */
export const OFPPC = { PORT_DOWN: 0x1, NO_RECV: 0x4, NO_FWD: 0x20, NO_PACKET_IN: 0x40 } as const;
/** OFPPS_* port state bits. */
export const OFPPS = { LINK_DOWN: 0x1, BLOCKED: 0x2, LIVE: 0x4 } as const;

export interface OfPortDesc {
  port: number;
  name: string;
  hwAddr: Buffer;
  config: number;
  state: number;
}

export interface PortModSpec {
  port: number;
  config: number;
  mask: number;
}

function header(type: number, length: number, xid: number): Buffer {
  const b = Buffer.alloc(length);
  b.writeUInt8(OFP_VERSION, 0);
  b.writeUInt8(type, 1);
  b.writeUInt16BE(length, 2);
  b.writeUInt32BE(xid, 4);
  return b;
}

function parsePorts(body: Buffer): OfPortDesc[] {
  const out: OfPortDesc[] = [];
  for (let off = 0; off + 64 <= body.length; off += 64) {
    const nameRaw = body.subarray(off + 16, off + 32);
    const nul = nameRaw.indexOf(0);
    out.push({
      port: body.readUInt32BE(off),
      hwAddr: Buffer.from(body.subarray(off + 8, off + 14)),
      name: nameRaw.subarray(0, nul < 0 ? 16 : nul).toString('utf8'),
      config: body.readUInt32BE(off + 32),
      state: body.readUInt32BE(off + 36),
    });
  }
  return out;
}

/**
 * Connects to a bridge's management socket, reads its ports, applies `mods` (if any) and confirms them
 * with a barrier. Resolves to the port descriptions as they were before the mods.
 */
export function ofPortSession(
  mgmtSocket: string,
  mods: readonly PortModSpec[] = [],
  timeoutMs = 10_000,
): Promise<OfPortDesc[]> {
  return new Promise((resolve, reject) => {
    const sock: Socket = connect(mgmtSocket);
    let buf = Buffer.alloc(0);
    const ports: OfPortDesc[] = [];
    let done = false;
    const finish = (err?: Error) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      sock.destroy();
      if (err) reject(err);
      else resolve(ports);
    };
    const timer = setTimeout(
      () => finish(new Error(`OpenFlow session with ${mgmtSocket} timed out`)),
      timeoutMs,
    );
    sock.on('error', (err) => finish(new Error(`OpenFlow session with ${mgmtSocket}: ${err.message}`)));
    sock.on('close', () => finish(new Error(`OpenFlow session with ${mgmtSocket} closed early`)));
    sock.on('connect', () => {
      sock.write(header(T_HELLO, 8, 1));
      const mp = header(T_MULTIPART_REQUEST, 16, 2);
      mp.writeUInt16BE(MP_PORT_DESC, 8);
      sock.write(mp);
    });
    const sendMods = () => {
      mods.forEach((m, i) => {
        const p = ports.find((x) => x.port === m.port);
        if (!p) {
          finish(new Error(`port ${m.port} not found on ${mgmtSocket}`));
          return;
        }
        const pm = header(T_PORT_MOD, 40, 100 + i);
        pm.writeUInt32BE(m.port, 8);
        p.hwAddr.copy(pm, 16);
        pm.writeUInt32BE(m.config, 24);
        pm.writeUInt32BE(m.mask, 28);
        sock.write(pm);
      });
      if (!done) sock.write(header(T_BARRIER_REQUEST, 8, 3));
    };
    sock.on('data', (chunk: Buffer) => {
      buf = Buffer.concat([buf, chunk]);
      while (buf.length >= 8) {
        const len = buf.readUInt16BE(2);
        if (len < 8) return finish(new Error('bad OpenFlow message length'));
        if (buf.length < len) break;
        const msg = buf.subarray(0, len);
        buf = buf.subarray(len);
        const type = msg.readUInt8(1);
        const xid = msg.readUInt32BE(4);
        if (type === T_ECHO_REQUEST) {
          const reply = Buffer.from(msg);
          reply.writeUInt8(T_ECHO_REPLY, 1);
          sock.write(reply);
        } else if (type === T_ERROR) {
          const etype = msg.readUInt16BE(8);
          const ecode = msg.readUInt16BE(10);
          const what = xid >= 100 ? `port-mod of port ${mods[xid - 100]?.port}` : `request ${xid}`;
          return finish(
            new Error(`${mgmtSocket}: ${what} failed: OpenFlow error type ${etype} code ${ecode}`),
          );
        } else if (type === T_MULTIPART_REPLY && xid === 2) {
          ports.push(...parsePorts(msg.subarray(16)));
          const more = msg.readUInt16BE(10) & 1;
          if (!more) sendMods();
        } else if (type === T_BARRIER_REPLY && xid === 3) {
          return finish();
        }
      }
    });
  });
}
