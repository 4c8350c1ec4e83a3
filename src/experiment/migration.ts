// The seam between the experiment runner and the migration shim. The runner needs, for asap/alap:
// an API for the apps (the shim's virtual network, on top of the runtime) and a MigrationDriver
// (prepare, moveHosts, finalize, abort, status) whose host moves go through the test bed.
//
// The shim's own module is loaded lazily, so that `none` runs (and this layer's unit tests) work whatever
// state the shim is in; when it cannot be loaded, asap/alap fail with MigrationUnavailableError.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { ControllerApi } from '../api/types.ts';
import type { Controller } from '../runtime/controller.ts';
import type { Testbed } from '../testbed/testbed.ts';
import type { Logger } from '../util/log.ts';

/** What the runner drives (the shim console's MigrationDriver, reduced to what is used here). */
export interface ExperimentDriver {
  prepare(): Promise<unknown>;
  moveHosts(hosts: string[], opts?: { blackoutMs?: number }): Promise<unknown>;
  finalize(): Promise<unknown>;
  abort(): Promise<unknown>;
  status(): unknown;
}

export interface MigrationSession {
  /** The API the apps get (virtual switches). */
  api: ControllerApi;
  driver: ExperimentDriver;
  /** Stops the shim (before the runtime stops). */
  stop(): Promise<void>;
}

export interface MigrationSetup {
  /** The API below the shim (the runtime's, wrapped by the flow-mod counter). */
  below: ControllerApi;
  runtime: Controller;
  testbed: Testbed;
  algorithm: 'asap' | 'alap';
  blackoutMs: number;
  /** A directory for the shim's files (journal, plan). */
  runDir: string;
  log: Logger;
}

export type MigrationFactory = (setup: MigrationSetup) => Promise<MigrationSession>;

export class MigrationUnavailableError extends Error {
  override readonly name = 'MigrationUnavailableError';
}

/** The module that provides `createExperimentMigration` (a MigrationFactory). */
const SHIM_ENTRY = new URL('./shim-adapter.ts', import.meta.url);

let override: MigrationFactory | undefined;

/** Replaces the shim factory (tests, or another migration implementation). */
export function setMigrationFactory(f: MigrationFactory | undefined): void {
  override = f;
}

/**
 * Loads the migration factory, or throws MigrationUnavailableError saying why (shim missing or incomplete).
 */
export async function loadMigrationFactory(): Promise<MigrationFactory> {
  if (override) return override;
  if (!existsSync(fileURLToPath(SHIM_ENTRY)))
    throw new MigrationUnavailableError(
      'migration shim not available (src/experiment/shim-adapter.ts is missing)',
    );
  let mod: { createExperimentMigration?: unknown };
  try {
    mod = (await import(SHIM_ENTRY.href)) as { createExperimentMigration?: unknown };
  } catch (err) {
    throw new MigrationUnavailableError(
      `migration shim not available: ${err instanceof Error ? err.message.split('\n')[0] : String(err)}`,
    );
  }
  if (typeof mod.createExperimentMigration !== 'function')
    throw new MigrationUnavailableError('migration shim not available (no createExperimentMigration)');
  return mod.createExperimentMigration as MigrationFactory;
}

/** Blackout windows from a driver's answer (the shim's MigrationStatus: hosts[].lastMove). */
export function blackoutsFromStatus(
  status: unknown,
  hosts: readonly string[],
  since: number,
): { host: string; start: number; end: number }[] {
  const out: { host: string; start: number; end: number }[] = [];
  const list = (status as { hosts?: unknown } | null)?.hosts;
  if (!Array.isArray(list)) return out;
  for (const h of list as {
    name?: unknown;
    lastMove?: { blackoutStart?: unknown; blackoutEnd?: unknown; startedAt?: unknown };
  }[]) {
    if (typeof h?.name !== 'string' || !hosts.includes(h.name)) continue;
    const m = h.lastMove;
    if (!m || typeof m.blackoutStart !== 'number' || typeof m.blackoutEnd !== 'number') continue;
    if (m.blackoutStart < since - 1) continue;
    out.push({ host: h.name, start: m.blackoutStart, end: m.blackoutEnd });
  }
  return out;
}
