// The migration journal: a crash-safe record (SQLite through better-sqlite3, WAL, synchronous=FULL) in the
// run directory of every migration step, so that a controller restarted in the middle of a migration knows
// where it stands and can resume or abort.
//
//   migration  one row per migration of a plan: the plan's hash (and text), the algorithm, the last
//              committed MigrationState (phase + host locations), open/closed, figures (JSON).
//   step       one row per step: written as an *intent* before it is applied, marked *done* (with the state
//              it led to) or *failed* afterwards. A step still in `intent` after a restart was interrupted.
//              Kinds are free text; the shim uses 'op:prepare', 'op:hosts', 'op:finalize', 'op:abort'
//              (operator requests), 'prepare', 'startMove', 'move', 'hostArrived', 'finalize', 'abort'
//              (transitions and host moves) and 'reconcile'.
//   ledger     snapshots of the pure core's ledger (Ledger.toJSON()); only the latest few are kept.
//
// Every write is one transaction; with synchronous=FULL a committed transaction survives a crash of the
// process or of the machine. Nothing here knows OpenFlow: the journal stores JSON it is handed.

import { createHash } from 'node:crypto';
import { chmodSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import type { LedgerJson } from './ledger.ts';
import type { Algorithm, MigrationState, Phase } from './model.ts';
import { type MigrationPlan, planToObject } from './plan.ts';

export const JOURNAL_FILE = 'journal.sqlite';
const SCHEMA_VERSION = 1;
/** Ledger snapshots kept per migration (older ones are deleted on every save). */
const KEEP_LEDGERS = 3;

export type StepStatus = 'intent' | 'done' | 'failed';

export interface MigrationRecord {
  id: number;
  planHash: string;
  planFile?: string;
  /** The plan as a plain object (planToObject), so an abort is possible even without the file. */
  plan?: Record<string, unknown>;
  algorithm: Algorithm;
  /** The last committed state (a step's `to` once it is done). */
  state: MigrationState;
  phase: Phase;
  /** open: the shim works on it; closed: finalized, aborted or superseded (see `outcome`). */
  status: 'open' | 'closed';
  outcome?: string;
  /** Free-form figures (flow-mods per phase, time per phase, ...) kept across restarts. */
  metrics: Record<string, unknown>;
  createdAt: number;
  updatedAt: number;
}

export interface StepRecord {
  id: number;
  migrationId: number;
  kind: string;
  host?: string;
  status: StepStatus;
  /** State before the step and the state it leads to (transitions); absent for other steps. */
  from?: MigrationState;
  to?: MigrationState;
  detail: Record<string, unknown>;
  error?: string;
  intentAt: number;
  doneAt?: number;
}

export interface LedgerSnapshot {
  id: number;
  migrationId: number;
  stepId?: number;
  at: number;
  ledger: LedgerJson;
}

export interface BeginOptions {
  planHash: string;
  planFile?: string;
  plan?: Record<string, unknown>;
  state: MigrationState;
}

export interface IntentOptions {
  host?: string;
  from?: MigrationState;
  to?: MigrationState;
  detail?: Record<string, unknown>;
}

export interface DoneOptions {
  /** The state the step led to: committed as the migration's state in the same transaction. */
  state?: MigrationState;
  ledger?: LedgerJson;
  detail?: Record<string, unknown>;
  metrics?: Record<string, unknown>;
}

export class JournalError extends Error {
  override readonly name = 'JournalError';
}

/** A stable hash of a plan (its canonical object form), to recognise the plan a journal belongs to. */
export function planHash(plan: MigrationPlan): string {
  return createHash('sha256')
    .update(canonicalJson(planToObject(plan)))
    .digest('hex')
    .slice(0, 16);
}

function canonicalJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(',')}]`;
  if (v && typeof v === 'object') {
    const o = v as Record<string, unknown>;
    return `{${Object.keys(o)
      .filter((k) => o[k] !== undefined)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonicalJson(o[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(v) ?? 'null';
}

interface MigrationRow {
  id: number;
  plan_hash: string;
  plan_file: string | null;
  plan_json: string | null;
  algorithm: string;
  state_json: string;
  phase: string;
  status: string;
  outcome: string | null;
  metrics_json: string;
  created_at: number;
  updated_at: number;
}

interface StepRow {
  id: number;
  migration_id: number;
  kind: string;
  host: string | null;
  status: string;
  from_json: string | null;
  to_json: string | null;
  detail_json: string;
  error: string | null;
  intent_at: number;
  done_at: number | null;
}

interface LedgerRow {
  id: number;
  migration_id: number;
  step_id: number | null;
  at: number;
  json: string;
}

function migrationOf(r: MigrationRow): MigrationRecord {
  const m: MigrationRecord = {
    id: r.id,
    planHash: r.plan_hash,
    algorithm: r.algorithm as Algorithm,
    state: JSON.parse(r.state_json) as MigrationState,
    phase: r.phase as Phase,
    status: r.status as 'open' | 'closed',
    metrics: JSON.parse(r.metrics_json) as Record<string, unknown>,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  };
  if (r.plan_file !== null) m.planFile = r.plan_file;
  if (r.plan_json !== null) m.plan = JSON.parse(r.plan_json) as Record<string, unknown>;
  if (r.outcome !== null) m.outcome = r.outcome;
  return m;
}

function stepOf(r: StepRow): StepRecord {
  const s: StepRecord = {
    id: r.id,
    migrationId: r.migration_id,
    kind: r.kind,
    status: r.status as StepStatus,
    detail: JSON.parse(r.detail_json) as Record<string, unknown>,
    intentAt: r.intent_at,
  };
  if (r.host !== null) s.host = r.host;
  if (r.from_json !== null) s.from = JSON.parse(r.from_json) as MigrationState;
  if (r.to_json !== null) s.to = JSON.parse(r.to_json) as MigrationState;
  if (r.error !== null) s.error = r.error;
  if (r.done_at !== null) s.doneAt = r.done_at;
  return s;
}

export interface JournalOptions {
  /** File name inside the run directory (default journal.sqlite). */
  file?: string;
  /** Clock (ms since the epoch) for timestamps. */
  now?: () => number;
}

export class Journal {
  readonly path: string;
  private readonly db: Database.Database;
  private readonly now: () => number;
  private closed = false;

  private constructor(path: string, now: () => number) {
    this.path = path;
    this.now = now;
    this.db = new Database(path);
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = FULL');
    this.db.pragma('foreign_keys = ON');
    this.db.pragma('busy_timeout = 5000');
    this.migrate();
    try {
      chmodSync(path, 0o600);
    } catch {}
  }

  /** Open (creating if needed) the journal in a run directory. */
  static open(runDir: string, opts: JournalOptions = {}): Journal {
    mkdirSync(runDir, { recursive: true });
    return new Journal(join(runDir, opts.file ?? JOURNAL_FILE), opts.now ?? Date.now);
  }

  private migrate(): void {
    const version = this.db.pragma('user_version', { simple: true }) as number;
    if (version > SCHEMA_VERSION)
      throw new JournalError(
        `${this.path}: journal schema ${version} is newer than this vnm understands (${SCHEMA_VERSION})`,
      );
    if (version === SCHEMA_VERSION) return;
    this.db.exec(`
      CREATE TABLE IF NOT EXISTS migration (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        plan_hash TEXT NOT NULL,
        plan_file TEXT,
        plan_json TEXT,
        algorithm TEXT NOT NULL,
        state_json TEXT NOT NULL,
        phase TEXT NOT NULL,
        status TEXT NOT NULL CHECK (status IN ('open', 'closed')),
        outcome TEXT,
        metrics_json TEXT NOT NULL DEFAULT '{}',
        created_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL
      );
      CREATE TABLE IF NOT EXISTS step (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        migration_id INTEGER NOT NULL REFERENCES migration(id),
        kind TEXT NOT NULL,
        host TEXT,
        status TEXT NOT NULL CHECK (status IN ('intent', 'done', 'failed')),
        from_json TEXT,
        to_json TEXT,
        detail_json TEXT NOT NULL DEFAULT '{}',
        error TEXT,
        intent_at INTEGER NOT NULL,
        done_at INTEGER
      );
      CREATE INDEX IF NOT EXISTS step_by_migration ON step (migration_id, id);
      CREATE TABLE IF NOT EXISTS ledger (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        migration_id INTEGER NOT NULL REFERENCES migration(id),
        step_id INTEGER REFERENCES step(id),
        at INTEGER NOT NULL,
        json TEXT NOT NULL
      );
      CREATE INDEX IF NOT EXISTS ledger_by_migration ON ledger (migration_id, id);
    `);
    this.db.pragma(`user_version = ${SCHEMA_VERSION}`);
  }

  private check(): void {
    if (this.closed) throw new JournalError(`${this.path}: journal is closed`);
  }

  // ------------------------------------------------------------ migrations

  /** The open migration (at most one), if any. */
  open(): MigrationRecord | undefined {
    this.check();
    const r = this.db
      .prepare<[], MigrationRow>("SELECT * FROM migration WHERE status = 'open' ORDER BY id DESC LIMIT 1")
      .get();
    return r ? migrationOf(r) : undefined;
  }

  migration(id: number): MigrationRecord | undefined {
    this.check();
    const r = this.db.prepare<[number], MigrationRow>('SELECT * FROM migration WHERE id = ?').get(id);
    return r ? migrationOf(r) : undefined;
  }

  /** The most recent migration, open or closed. */
  latest(): MigrationRecord | undefined {
    this.check();
    const r = this.db.prepare<[], MigrationRow>('SELECT * FROM migration ORDER BY id DESC LIMIT 1').get();
    return r ? migrationOf(r) : undefined;
  }

  /** Start a migration record (fails if one is open: close it first). */
  begin(opts: BeginOptions): MigrationRecord {
    this.check();
    const t = this.now();
    const id = this.db.transaction(() => {
      const open = this.db.prepare("SELECT id FROM migration WHERE status = 'open'").get() as
        | { id: number }
        | undefined;
      if (open) throw new JournalError(`migration ${open.id} is still open in ${this.path}`);
      const info = this.db
        .prepare(
          `INSERT INTO migration (plan_hash, plan_file, plan_json, algorithm, state_json, phase, status,
             metrics_json, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, 'open', '{}', ?, ?)`,
        )
        .run(
          opts.planHash,
          opts.planFile ?? null,
          opts.plan ? JSON.stringify(opts.plan) : null,
          opts.state.algorithm,
          JSON.stringify(opts.state),
          opts.state.phase,
          t,
          t,
        );
      return Number(info.lastInsertRowid);
    })();
    return this.migration(id)!;
  }

  /** Close a migration (finalized, aborted, superseded ...). */
  close(migrationId: number, outcome: string): void {
    this.check();
    this.db
      .prepare("UPDATE migration SET status = 'closed', outcome = ?, updated_at = ? WHERE id = ?")
      .run(outcome, this.now(), migrationId);
  }

  /** Commit a state outside a step (e.g. the algorithm chosen at start-up). */
  setState(migrationId: number, state: MigrationState): void {
    this.check();
    this.db
      .prepare('UPDATE migration SET state_json = ?, phase = ?, algorithm = ?, updated_at = ? WHERE id = ?')
      .run(JSON.stringify(state), state.phase, state.algorithm, this.now(), migrationId);
  }

  /** Replace the figures kept with a migration. */
  setMetrics(migrationId: number, metrics: Record<string, unknown>): void {
    this.check();
    this.db
      .prepare('UPDATE migration SET metrics_json = ?, updated_at = ? WHERE id = ?')
      .run(JSON.stringify(metrics), this.now(), migrationId);
  }

  // ------------------------------------------------------------ steps

  /** Record the intent to apply a step (before applying it). */
  intent(migrationId: number, kind: string, opts: IntentOptions = {}): StepRecord {
    this.check();
    const info = this.db
      .prepare(
        `INSERT INTO step (migration_id, kind, host, status, from_json, to_json, detail_json, intent_at)
         VALUES (?, ?, ?, 'intent', ?, ?, ?, ?)`,
      )
      .run(
        migrationId,
        kind,
        opts.host ?? null,
        opts.from ? JSON.stringify(opts.from) : null,
        opts.to ? JSON.stringify(opts.to) : null,
        JSON.stringify(opts.detail ?? {}),
        this.now(),
      );
    return this.step(Number(info.lastInsertRowid))!;
  }

  /** Mark a step done; commits the new state, a ledger snapshot and figures in the same transaction. */
  done(stepId: number, opts: DoneOptions = {}): void {
    this.check();
    const t = this.now();
    this.db.transaction(() => {
      const s = this.stepRow(stepId);
      if (!s) throw new JournalError(`no step ${stepId}`);
      const detail = opts.detail ? { ...JSON.parse(s.detail_json), ...opts.detail } : undefined;
      this.db
        .prepare(
          `UPDATE step SET status = 'done', done_at = ?, detail_json = COALESCE(?, detail_json) WHERE id = ?`,
        )
        .run(t, detail ? JSON.stringify(detail) : null, stepId);
      if (opts.state) this.setState(s.migration_id, opts.state);
      if (opts.metrics) this.setMetrics(s.migration_id, opts.metrics);
      if (opts.ledger) this.insertLedger(s.migration_id, opts.ledger, stepId);
    })();
  }

  /** Mark a step failed (it will not be resumed). */
  failed(stepId: number, error: string, detail?: Record<string, unknown>): void {
    this.check();
    const s = this.stepRow(stepId);
    if (!s) throw new JournalError(`no step ${stepId}`);
    const d = detail ? { ...JSON.parse(s.detail_json), ...detail } : undefined;
    this.db
      .prepare(
        `UPDATE step SET status = 'failed', done_at = ?, error = ?, detail_json = COALESCE(?, detail_json)
         WHERE id = ?`,
      )
      .run(this.now(), error, d ? JSON.stringify(d) : null, stepId);
  }

  private stepRow(id: number): StepRow | undefined {
    return this.db.prepare<[number], StepRow>('SELECT * FROM step WHERE id = ?').get(id);
  }

  step(id: number): StepRecord | undefined {
    this.check();
    const r = this.stepRow(id);
    return r ? stepOf(r) : undefined;
  }

  /** Steps written as intent and never marked done or failed, oldest first. */
  pending(migrationId: number): StepRecord[] {
    this.check();
    return this.db
      .prepare<[number], StepRow>(
        "SELECT * FROM step WHERE migration_id = ? AND status = 'intent' ORDER BY id",
      )
      .all(migrationId)
      .map(stepOf);
  }

  /** The steps of a migration, oldest first (the last `limit` when given). */
  steps(migrationId: number, limit?: number): StepRecord[] {
    this.check();
    if (limit === undefined)
      return this.db
        .prepare<[number], StepRow>('SELECT * FROM step WHERE migration_id = ? ORDER BY id')
        .all(migrationId)
        .map(stepOf);
    return this.db
      .prepare<[number, number], StepRow>(
        'SELECT * FROM step WHERE migration_id = ? ORDER BY id DESC LIMIT ?',
      )
      .all(migrationId, limit)
      .map(stepOf)
      .reverse();
  }

  // ------------------------------------------------------------ ledger snapshots

  private insertLedger(migrationId: number, ledger: LedgerJson, stepId?: number): void {
    this.db
      .prepare('INSERT INTO ledger (migration_id, step_id, at, json) VALUES (?, ?, ?, ?)')
      .run(migrationId, stepId ?? null, this.now(), JSON.stringify(ledger));
    this.db
      .prepare(
        `DELETE FROM ledger WHERE migration_id = ? AND id NOT IN
           (SELECT id FROM ledger WHERE migration_id = ? ORDER BY id DESC LIMIT ?)`,
      )
      .run(migrationId, migrationId, KEEP_LEDGERS);
  }

  /** Save a ledger snapshot (Ledger.toJSON()). */
  saveLedger(migrationId: number, ledger: LedgerJson, stepId?: number): void {
    this.check();
    this.db.transaction(() => this.insertLedger(migrationId, ledger, stepId))();
  }

  latestLedger(migrationId: number): LedgerSnapshot | undefined {
    this.check();
    const r = this.db
      .prepare<[number], LedgerRow>('SELECT * FROM ledger WHERE migration_id = ? ORDER BY id DESC LIMIT 1')
      .get(migrationId);
    if (!r) return undefined;
    const s: LedgerSnapshot = {
      id: r.id,
      migrationId: r.migration_id,
      at: r.at,
      ledger: JSON.parse(r.json) as LedgerJson,
    };
    if (r.step_id !== null) s.stepId = r.step_id;
    return s;
  }

  /** Close the database (idempotent). */
  closeDb(): void {
    if (this.closed) return;
    this.closed = true;
    this.db.close();
  }
}
