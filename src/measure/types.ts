// Shared types of the measurement layer: absolute times, blackout windows, phases, runners.

/** Milliseconds since the Unix epoch (wall clock, may carry a fraction: ping gives microseconds). */
export type EpochMs = number;

/** A half-open time span [start, end) in absolute milliseconds. */
export interface TimeWindow {
  start: EpochMs;
  end: EpochMs;
}

/**
 * A span during which a host was deliberately cut off (a VM's stop-and-copy downtime, the test bed's
 * `--blackout-ms`). Loss inside it is not the migration's fault and is reported apart.
 */
export interface BlackoutWindow extends TimeWindow {
  /** The host (test-bed name or namespace) that was dark. `*` means every path. */
  host: string;
}

/** A named span of an experiment (`before`, `one-migrated`, ...). */
export interface Phase extends TimeWindow {
  name: string;
}

export interface ExitInfo {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** When the process was seen to end (its stdio closed). */
  at: EpochMs;
  /** Set when the process could not be started at all (e.g. ENOENT). */
  spawnError?: string;
}

/**
 * Long-running traffic: start() it before a migration, stop() it afterwards (or let it end by its own
 * duration), read the timeline. kill() is the synchronous emergency brake (no result).
 */
export interface Runner<R> {
  /** Resolves once traffic is flowing (servers listen, client started); rejects if it could not start. */
  start(): Promise<void>;
  /** Resolves with the result once the run has ended, by itself or through stop(). */
  wait(): Promise<R>;
  /** Ends the run gracefully (the tools print what they measured so far) and resolves with the result. */
  stop(): Promise<R>;
  /** Kills every process of the run at once (SIGKILL). wait() then resolves with what was collected. */
  kill(): void;
  readonly running: boolean;
}
