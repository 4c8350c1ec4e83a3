// `vnm decode` / `vnm encode` run as a user runs them: `node bin/vnm.js ...`.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const vnm = join(repoRoot, 'bin/vnm.js');
const baseDir =
  process.env.VNM_CONFORMANCE_DIR ?? resolve(repoRoot, '../shared/conformance/openflow/ryu-packet-data');
const packetDir = join(baseDir, 'packet_data/of13');
const haveVectors = existsSync(packetDir);

function run(args: string[], input?: string): { status: number; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [vnm, ...args], {
    input: input ?? '',
    encoding: 'utf8',
    cwd: repoRoot,
    timeout: 60_000,
  });
  return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

const vector = (name: string) => readFileSync(join(packetDir, name)).toString('hex');

describe('vnm decode / vnm encode', () => {
  test('decode --json then encode reproduces every vector (all 104 in one stream)', {
    skip: !haveVectors,
  }, () => {
    const files = readdirSync(packetDir)
      .filter((f) => f.endsWith('.packet'))
      .sort();
    assert.equal(files.length, 104);
    const hex = files.map(vector).join('\n');
    const dec = run(['decode', '-'], hex);
    assert.equal(dec.status, 0, dec.stderr);
    const parsed = JSON.parse(dec.stdout) as unknown[];
    assert.equal(parsed.length, 104);
    const enc = run(['encode', '-'], dec.stdout);
    assert.equal(enc.status, 0, enc.stderr);
    const lines = enc.stdout.trim().split('\n');
    assert.equal(lines.length, 104);
    for (const [i, line] of lines.entries()) assert.equal(line, vector(files[i]!), files[i]);
  });

  test('a few vectors one by one, hex in the argument (spaces, colons, 0x allowed), JSON on stdin', {
    skip: !haveVectors,
  }, () => {
    for (const f of [
      '4-2-ofp_flow_mod.packet',
      '4-12-ofp_flow_stats_reply.packet',
      '4-56-ofp_table_features_reply.packet',
    ]) {
      const hex = vector(f);
      const spaced = `0x${hex.slice(0, 8)} ${hex.slice(8).match(/../g)!.join(':')}\n`;
      const dec = run(['decode', spaced]);
      assert.equal(dec.status, 0, dec.stderr);
      // The JSON of a table-features reply is larger than one command-line argument may be: use stdin.
      const enc = run(['encode'], dec.stdout);
      assert.equal(enc.status, 0, enc.stderr);
      assert.equal(enc.stdout.trim(), hex, f);
    }
  });

  test('--text prints the readable form', () => {
    const r = run(['decode', '--text', '04 14 00 08 00 00 00 05 04 02 00 0a 00 00 00 06 ca fe']);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(
      r.stdout,
      'OFPT_BARRIER_REQUEST (xid=0x5):\nOFPT_ECHO_REQUEST (xid=0x6): 2 bytes of payload cafe\n',
    );
  });

  test('encode: one message, or an array', () => {
    let r = run(['encode', '{"type":"barrierRequest","xid":5}']);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout, '0414000800000005\n');
    r = run(['encode', '-'], '[{"type":"featuresRequest","xid":1},{"type":"echoReply","xid":2,"data":"00"}]');
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout, '0405000800000001\n0403000900000002' + '00\n');
  });

  test('a decode error prints what decoded before it, then index, type, field and offset; exit 1', () => {
    // A good barrier request, then a flow-mod whose match claims a bad type.
    const good = '0414000800000001';
    const fm = run(['encode', JSON.stringify(flowModJson())]).stdout.trim();
    const bad = `${fm.slice(0, 48 * 2)}0007${fm.slice(50 * 2)}`;
    const r = run(['decode', `${good}${bad}`]);
    assert.equal(r.status, 1);
    assert.deepEqual(JSON.parse(r.stdout), { type: 'barrierRequest', xid: 1 });
    assert.match(r.stderr, /message \[1\] \(flowMod\) at input byte 8: field match\.type at byte 48/);
  });

  test('a truncated message (the truncated64 vector) is reported with its type and the cut field', {
    skip: !haveVectors,
  }, () => {
    const first64 = vector('libofproto-OFP13-flow_mod.packet').slice(0, 128);
    const r = run(['decode', first64]);
    assert.equal(r.status, 1);
    assert.equal(r.stdout, '');
    assert.match(
      r.stderr,
      /message \[0\] \(flowMod\) at input byte 0 is truncated: header length \d+ but only 64/,
    );
    assert.match(r.stderr, /field match\.\S+ at byte \d+ is cut off/);
  });

  test('bad input: not hex, odd digits, a header length below 8, nothing at all', () => {
    let r = run(['decode', '04140008zz']);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /not hex: unexpected character "z"/);
    r = run(['decode', '041400080']);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /odd number of hex digits/);
    r = run(['decode', '0414000800000001 0414000400000002']);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /message \[1\] at input byte 8: header length 4 is below 8/);
    assert.deepEqual(JSON.parse(r.stdout), { type: 'barrierRequest', xid: 1 });
    r = run(['decode', '-'], '  \n');
    assert.equal(r.status, 1);
    assert.match(r.stderr, /no input/);
  });

  test('encode errors name the JSON path', () => {
    let r = run(['encode', '{"type":"barrierRequest","xid":5,"extra":1}']);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /\$\.extra: unknown key/);
    r = run(['encode', '[{"type":"barrierRequest","xid":1},{"type":"echoRequest","xid":2,"data":7}]']);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /\$\[1\]\.data: expected a hex string/);
    r = run(['encode', '{not json']);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /not JSON/);
  });

  test('--help shows examples', () => {
    const r = run(['decode', '--help']);
    assert.equal(r.status, 0);
    assert.match(r.stdout, /Examples:/);
    assert.match(r.stdout, /--text/);
    const e = run(['encode', '--help']);
    assert.match(e.stdout, /vnm encode/);
  });
});

function flowModJson() {
  return {
    type: 'flowMod',
    xid: 2,
    cookie: '0x0',
    cookieMask: '0x0',
    tableId: 0,
    command: 0,
    idleTimeout: 0,
    hardTimeout: 0,
    priority: 1,
    bufferId: 4294967295,
    outPort: 4294967295,
    outGroup: 4294967295,
    flags: 0,
    match: { fields: [{ field: 'in_port', value: 1 }] },
    instructions: [],
  };
}
