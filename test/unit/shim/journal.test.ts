// The migration journal: migration records, steps (intent before, done after), ledger snapshots, and a
// real crash (a child process SIGKILLs itself right after writing an intent): the step is seen pending.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { Journal, planHash } from '../../../src/shim/journal.ts';
import { Ledger } from '../../../src/shim/ledger.ts';
import type { MigrationState } from '../../../src/shim/model.ts';
import { parsePlan } from '../../../src/shim/plan.ts';
import { DIAMOND, planText } from './harness.ts';

const dirs: string[] = [];
function tmp(): string {
  const d = mkdtempSync(join(tmpdir(), 'vnm-journal-'));
  dirs.push(d);
  return d;
}
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

const idle: MigrationState = { algorithm: 'asap', phase: 'idle', hosts: { h1: 'old', h2: 'old' } };
const prepared: MigrationState = { ...idle, phase: 'prepared' };

describe('journal', () => {
  it('creates the database with WAL and FULL sync, readable only by its owner', () => {
    const dir = tmp();
    const j = Journal.open(dir);
    assert.equal(statSync(j.path).mode & 0o777, 0o600);
    j.closeDb();
    // A second opener sees the same schema.
    const j2 = Journal.open(dir);
    assert.equal(j2.open(), undefined);
    j2.closeDb();
  });

  it('records a migration, steps and the committed state', () => {
    const j = Journal.open(tmp());
    const m = j.begin({ planHash: 'abc', planFile: '/x/plan.yaml', plan: { version: 1 }, state: idle });
    assert.equal(m.status, 'open');
    assert.deepEqual(m.state, idle);
    assert.throws(() => j.begin({ planHash: 'abc', state: idle }), /still open/);

    const s = j.intent(m.id, 'prepare', { from: idle, to: prepared, detail: { messages: 12 } });
    assert.equal(s.status, 'intent');
    assert.deepEqual(
      j.pending(m.id).map((x) => x.id),
      [s.id],
    );
    assert.deepEqual(j.open()!.state, idle, 'state is only committed when the step is done');

    j.done(s.id, { state: prepared, detail: { ms: 5 }, metrics: { flowMods: { prepare: 12 } } });
    assert.deepEqual(j.pending(m.id), []);
    const open = j.open()!;
    assert.deepEqual(open.state, prepared);
    assert.equal(open.phase, 'prepared');
    assert.deepEqual(open.metrics, { flowMods: { prepare: 12 } });
    const done = j.step(s.id)!;
    assert.equal(done.status, 'done');
    assert.deepEqual(done.detail, { messages: 12, ms: 5 });
    assert.ok(done.doneAt! >= done.intentAt);

    const f = j.intent(m.id, 'move', { host: 'h1' });
    j.failed(f.id, 'mover timed out');
    assert.equal(j.step(f.id)!.status, 'failed');
    assert.equal(j.step(f.id)!.error, 'mover timed out');
    assert.deepEqual(
      j.steps(m.id).map((x) => x.kind),
      ['prepare', 'move'],
    );
    assert.deepEqual(
      j.steps(m.id, 1).map((x) => x.kind),
      ['move'],
    );

    j.close(m.id, 'finalized');
    assert.equal(j.open(), undefined);
    assert.equal(j.latest()!.outcome, 'finalized');
    // A new migration may start once the old one is closed.
    assert.equal(j.begin({ planHash: 'abc', state: idle }).status, 'open');
    j.closeDb();
  });

  it('keeps the latest ledger snapshots, which revive into an equal ledger', () => {
    const j = Journal.open(tmp());
    const m = j.begin({ planHash: 'p', state: idle });
    const ledger = new Ledger();
    ledger.applyFlowMod(
      1n,
      {
        type: 'flowMod',
        cookie: 0x1234n,
        cookieMask: 0n,
        tableId: 0,
        command: 0,
        idleTimeout: 0,
        hardTimeout: 30,
        priority: 5,
        bufferId: 0xffffffff,
        outPort: 0xffffffff,
        outGroup: 0xffffffff,
        flags: 1,
        match: { fields: [{ field: 'eth_dst', value: '02:00:00:00:00:01' }] },
        instructions: [{ type: 'applyActions', actions: [{ type: 'output', port: 1, maxLen: 0 }] }],
      },
      1000,
    );
    for (let i = 0; i < 5; i++) j.saveLedger(m.id, ledger.toJSON());
    const s = j.intent(m.id, 'prepare');
    j.done(s.id, { state: prepared, ledger: ledger.toJSON() });
    const snap = j.latestLedger(m.id)!;
    assert.equal(snap.stepId, s.id);
    const revived = Ledger.fromJSON(snap.ledger);
    assert.deepEqual(revived.toJSON(), ledger.toJSON());
    assert.equal(revived.rules(1n)[0]!.cookie, 0x1234n);
    j.closeDb();
  });

  it('a crash right after an intent leaves the step pending and the state uncommitted', () => {
    const dir = tmp();
    const j = Journal.open(dir);
    const m = j.begin({ planHash: 'p', state: prepared });
    j.closeDb();
    // A separate process writes an intent and dies by SIGKILL before it can mark it done.
    const script = `
      import { Journal } from ${JSON.stringify(new URL('../../../src/shim/journal.ts', import.meta.url).href)};
      const j = Journal.open(${JSON.stringify(dir)});
      const m = j.open();
      j.intent(m.id, 'startMove', { host: 'h1', from: m.state,
        to: { ...m.state, hosts: { ...m.state.hosts, h1: 'toNew' } } });
      process.kill(process.pid, 'SIGKILL');
    `;
    const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      encoding: 'utf8',
    });
    assert.equal(r.signal, 'SIGKILL', r.stderr);
    const j2 = Journal.open(dir);
    const open = j2.open()!;
    assert.equal(open.id, m.id);
    assert.deepEqual(open.state, prepared, 'the interrupted step did not commit its state');
    const pending = j2.pending(m.id);
    assert.equal(pending.length, 1);
    assert.equal(pending[0]!.kind, 'startMove');
    assert.equal(pending[0]!.host, 'h1');
    assert.equal(pending[0]!.to!.hosts.h1, 'toNew');
    j2.closeDb();
  });

  it('hashes plans by content', () => {
    const a = parsePlan(planText(DIAMOND, 'asap'));
    const b = parsePlan(planText(DIAMOND, 'asap'));
    const c = parsePlan(planText(DIAMOND, 'alap'));
    assert.equal(planHash(a), planHash(b));
    assert.notEqual(planHash(a), planHash(c));
    assert.match(planHash(a), /^[0-9a-f]{16}$/);
  });

  it('refuses a journal from a newer vnm', async () => {
    const dir = tmp();
    Journal.open(dir).closeDb();
    const { default: Database } = await import('better-sqlite3');
    const db = new Database(join(dir, 'journal.sqlite'));
    db.pragma('user_version = 99');
    db.close();
    assert.throws(() => Journal.open(dir), /newer/);
  });
});
