// A trivial "controller" that answers every packet-in with a canned flow-mod + packet-out and does
// nothing else (beyond hello and a features request). It measures the load generator's own ceiling:
// the generator must be much faster than any controller it measures.
//
//   node --import tsx bench/controller/responder.ts --listen tcp:127.0.0.1:6699

import { createServer, type Socket } from 'node:net';
import { parseArgs } from 'node:util';
import { encodeMessage, flowMod, matchOf, packetOut } from '../../src/openflow/index.ts';
import { formatListenAddress, parseListenAddress } from '../../src/runtime/address.ts';

const { values } = parseArgs({ options: { listen: { type: 'string', default: 'tcp:127.0.0.1:6699' } } });
const addr = parseListenAddress(values.listen!);

const HELLO = encodeMessage({
  type: 'hello',
  version: 4,
  xid: 1,
  elements: [{ type: 'versionBitmap', bitmaps: [16] }],
});
const FEATURES = encodeMessage({ type: 'featuresRequest', xid: 2 });
const FLOW = encodeMessage(
  flowMod({
    match: matchOf({ in_port: 1, eth_dst: '02:00:00:00:00:01' }),
    priority: 1,
    instructions: [{ type: 'applyActions', actions: [{ type: 'output', port: 2, maxLen: 0 }] }],
  }),
);
const OUT = encodeMessage(
  packetOut({ inPort: 1, actions: [{ type: 'output', port: 2, maxLen: 0 }], data: new Uint8Array(60) }),
);
const ANSWER = Buffer.concat([FLOW, OUT]);

function serve(s: Socket): void {
  s.setNoDelay(true);
  s.write(Buffer.concat([HELLO, FEATURES]));
  let rest: Buffer | null = null;
  s.on('data', (chunk: Buffer) => {
    let buf = chunk;
    if (rest) {
      buf = Buffer.concat([rest, chunk]);
      rest = null;
    }
    let pos = 0;
    let answers = 0;
    while (buf.length - pos >= 8) {
      const len = buf.readUInt16BE(pos + 2);
      if (len < 8) return s.destroy();
      if (buf.length - pos < len) break;
      const type = buf[pos + 1];
      if (type === 10) answers++;
      else if (type === 2) {
        const reply = Buffer.from(buf.subarray(pos, pos + len));
        reply[1] = 3;
        s.write(reply);
      }
      pos += len;
    }
    if (pos < buf.length) rest = buf.subarray(pos);
    if (answers > 0) {
      const out = Buffer.allocUnsafe(ANSWER.length * answers);
      for (let i = 0; i < answers; i++) ANSWER.copy(out, i * ANSWER.length);
      s.write(out);
    }
  });
  s.on('error', () => {});
}

const server = createServer(serve);
if (addr.kind === 'unix') server.listen(addr.path);
else server.listen(addr.port, addr.host);
server.on('listening', () => process.stderr.write(`responder listening on ${formatListenAddress(addr)}\n`));
process.on('SIGTERM', () => process.exit(0));
process.on('SIGINT', () => process.exit(0));
