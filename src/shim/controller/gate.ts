// Serialisation of the shim's work on the physical network.
//
// Exclusive operations (a migration transition, the reconciliation of a switch) run one at a time. While
// one runs, everything else that would send to the switches or read the migration state (the apps'
// commands, flow-removed and port-status handling, barriers, stats) is queued and runs, in arrival order,
// as soon as the exclusive operation ends. So an app command is translated either entirely before or
// entirely after a transition, never against a state that is half applied.

import type { Logger } from '../../util/log.ts';

export class Gate {
  private tail: Promise<void> = Promise.resolve();
  private running = 0;
  private readonly queue: (() => void)[] = [];

  constructor(private readonly log?: Logger) {}

  /** True while an exclusive operation runs (deferred work waits). */
  get closed(): boolean {
    return this.running > 0;
  }

  /** Work waiting for the gate to open. */
  get waiting(): number {
    return this.queue.length;
  }

  /** Run `fn` alone: after every exclusive operation queued before it, with deferred work held back. */
  exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = async (): Promise<T> => {
      this.running++;
      try {
        return await fn();
      } finally {
        this.running--;
        this.flush();
      }
    };
    const p = this.tail.then(run, run);
    this.tail = p.then(
      () => undefined,
      () => undefined,
    );
    return p;
  }

  /** Run `fn` now if no exclusive operation runs, else as soon as it ends (in order). */
  defer(fn: () => void): void {
    if (this.running > 0) this.queue.push(fn);
    else this.call(fn);
  }

  private call(fn: () => void): void {
    try {
      fn();
    } catch (err) {
      this.log?.error({ err: err instanceof Error ? err.stack : String(err) }, 'deferred shim work failed');
    }
  }

  private flush(): void {
    while (this.running === 0 && this.queue.length > 0) this.call(this.queue.shift()!);
  }
}
