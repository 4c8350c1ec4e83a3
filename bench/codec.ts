// Codec throughput: messages per second for decode and encode of
//   - a packet-in carrying a 64-byte frame (match: in_port),
//   - a flow-mod for a typical L2 rule (in_port + eth_dst, apply-actions output),
//   - a packet-out carrying a 64-byte frame (one output action),
//   - a multipart flow-stats reply with 100 entries,
// side by side with os-ken's OpenFlow 1.3 parser on the same bytes (bench/osken_codec.py, run with
// /usr/bin/python3; skipped with a message when os_ken cannot be imported).
//
//   npm run bench:codec                # about 1 s per measurement
//   npm run bench:codec -- --seconds 3 --json

import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { MessageFramer } from '../src/openflow/framer.ts';
import { applyActions, flowMod, matchOf, output, packetOut } from '../src/openflow/index.ts';
import { decodeMessage, encodeMessage } from '../src/openflow/messages.ts';
import type { FlowStats, OfMessage, Outgoing } from '../src/openflow/types.ts';

const args = process.argv.slice(2);
const secondsAt = args.indexOf('--seconds');
const seconds = secondsAt >= 0 ? Number(args[secondsAt + 1]) : 1;
const asJson = args.includes('--json');

// ---------------------------------------------------------------- the messages

const frame = new Uint8Array(64);
frame.set([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02, 0, 0, 0, 0, 1, 0x08, 0x06]);
for (let i = 14; i < 64; i++) frame[i] = i;

const l2Match = matchOf({ in_port: 1, eth_dst: '00:11:22:33:44:55' });

const messages: Record<string, Outgoing> = {
  packetIn: {
    type: 'packetIn',
    xid: 0,
    bufferId: 0xffffffff,
    totalLen: 64,
    reason: 0,
    tableId: 0,
    cookie: 0n,
    match: matchOf({ in_port: 1 }),
    data: frame,
  },
  flowMod: flowMod({ match: l2Match, instructions: [applyActions(output(2))] }),
  packetOut: packetOut({ actions: [output(1)], data: frame }),
  flowStatsReply: {
    type: 'multipartReply',
    xid: 0,
    flags: 0,
    body: {
      kind: 'flow',
      stats: Array.from(
        { length: 100 },
        (_, i): FlowStats => ({
          tableId: 0,
          durationSec: 100 + i,
          durationNsec: 5000,
          priority: 32768,
          idleTimeout: 0,
          hardTimeout: 0,
          flags: 0,
          cookie: BigInt(i),
          packetCount: BigInt(i * 10),
          byteCount: BigInt(i * 640),
          match: matchOf({
            in_port: 1 + (i % 4),
            eth_dst: `00:11:22:33:44:${(i % 256).toString(16).padStart(2, '0')}`,
          }),
          instructions: [applyActions(output(1 + ((i + 1) % 4)))],
        }),
      ),
    },
  },
};

// ---------------------------------------------------------------- timing

let sink = 0;

/**
 * Calls per second of fn over about `secs` seconds: after a warm-up, the best of 5 rounds (the best
 * round is the least disturbed by other load; run on an idle machine for stable figures).
 */
function rate(fn: () => unknown, secs: number): number {
  let n = 1;
  let dt = 0;
  for (;;) {
    const t = performance.now();
    for (let i = 0; i < n; i++) fn();
    dt = performance.now() - t;
    if (dt > 50) break;
    n *= 2;
  }
  const perRound = Math.max(1, Math.floor((n * (secs * 1000)) / 5 / dt));
  let best = 0;
  for (let r = 0; r < 5; r++) {
    const t = performance.now();
    for (let i = 0; i < perRound; i++) fn();
    best = Math.max(best, perRound / ((performance.now() - t) / 1000));
  }
  return best;
}

interface Row {
  decode: number | null;
  encode: number | null;
}

const wires: Record<string, Buffer> = {};
const vnm: Record<string, Row> = {};
for (const [name, m] of Object.entries(messages)) {
  const wire = encodeMessage(m);
  wires[name] = Buffer.from(wire);
  const decoded: OfMessage = decodeMessage(wire);
  vnm[name] = {
    decode: rate(() => {
      sink += decodeMessage(wire).xid;
    }, seconds),
    encode: rate(() => {
      sink += encodeMessage(decoded).length;
    }, seconds),
  };
}

// Framing of a stream of packet-ins (the read path before decode), 64 KiB reads.
const pin = wires.packetIn!;
const stream = Buffer.concat(Array.from({ length: Math.floor(65536 / pin.length) }, () => pin));
const perStream = Math.floor(65536 / pin.length);
const framer = new MessageFramer();
const framingRate =
  rate(() => {
    sink += framer.push(stream).length;
  }, seconds) * perStream;

// ---------------------------------------------------------------- os-ken

interface PeerResult {
  decode: number | null;
  encode: number | null;
  sameBytes: boolean | null;
}
let peer: { version: string; python: string; results: Record<string, PeerResult> } | null = null;
let peerNote = '';
const py = spawnSync('/usr/bin/python3', [join(import.meta.dirname, 'osken_codec.py')], {
  input: JSON.stringify({
    seconds,
    messages: Object.fromEntries(Object.entries(wires).map(([k, v]) => [k, v.toString('hex')])),
  }),
  encoding: 'utf8',
  timeout: 600_000,
});
if (py.error) {
  peerNote = `os-ken peer skipped: cannot run /usr/bin/python3 (${py.error.message})`;
} else if (py.status !== 0) {
  let why = py.stderr.trim().split('\n').pop() ?? '';
  try {
    why = JSON.parse(py.stdout).error ?? why;
  } catch {}
  peerNote = `os-ken peer skipped: ${why || `exit status ${py.status}`}`;
} else {
  const out = JSON.parse(py.stdout);
  peer = { version: out.osken, python: out.python, results: out.results };
}

// ---------------------------------------------------------------- report

const fmt = (v: number | null | undefined) => (v == null ? 'n/a' : Math.round(v).toLocaleString('en'));
const ratio = (a: number | null | undefined, b: number | null | undefined) =>
  a == null || b == null ? '' : `${(a / b).toFixed(1)}x`;

if (asJson) {
  console.log(
    JSON.stringify(
      { seconds, vnm, framingPacketIns: framingRate, osken: peer, note: peerNote || undefined },
      null,
      2,
    ),
  );
} else {
  console.log(
    `OpenFlow 1.3 codec, messages per second (node ${process.version}, ~${seconds}s per figure, best of 5 rounds)`,
  );
  if (peer)
    console.log(`peer: os-ken ${peer.version} on Python ${peer.python} (header() + msg() / serialize())`);
  else console.log(peerNote);
  const head = ['message', 'bytes', 'vnm decode', 'os-ken decode', 'x', 'vnm encode', 'os-ken encode', 'x'];
  const rows = Object.keys(messages).map((name) => {
    const p = peer?.results[name];
    return [
      name,
      String(wires[name]!.length),
      fmt(vnm[name]!.decode),
      peer ? fmt(p?.decode) : '-',
      ratio(vnm[name]!.decode, p?.decode),
      fmt(vnm[name]!.encode),
      peer ? fmt(p?.encode) : '-',
      ratio(vnm[name]!.encode, p?.encode),
    ];
  });
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) =>
    cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  console.log(line(head));
  for (const r of rows) console.log(line(r));
  console.log(`framer: ${fmt(framingRate)} packet-ins/s split from 64 KiB reads`);
  if (peer) {
    const diff = Object.entries(peer.results).filter(([, r]) => r.sameBytes === false);
    if (diff.length > 0)
      console.log(`note: os-ken serialized different bytes for ${diff.map(([k]) => k).join(', ')}`);
  }
}
if (sink === -1) console.log(sink);
