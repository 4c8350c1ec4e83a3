// A small synchronous event bus for ControllerApi events.
//
// Listeners run in subscription order, synchronously (the packet-in hot path goes through no promise).
// A listener that throws, or returns a promise that rejects, is logged and does not stop the others.
// Listener arrays are copy-on-write, so (un)subscribing during an emit is safe and emit never allocates.

import type { ControllerEventName, ControllerEvents, Listener } from '../api/types.ts';
import type { Logger } from '../util/log.ts';

type ListenerTable = { [K in ControllerEventName]: Listener<K>[] };

export class EventBus {
  private readonly table: ListenerTable = {
    switchUp: [],
    switchDown: [],
    packetIn: [],
    flowRemoved: [],
    portStatus: [],
    error: [],
  };

  constructor(private readonly log: Logger) {}

  on<K extends ControllerEventName>(event: K, listener: Listener<K>): () => void {
    if (!(event in this.table)) throw new TypeError(`unknown controller event "${String(event)}"`);
    const current = this.table[event] as Listener<K>[];
    (this.table[event] as Listener<K>[]) = [...current, listener];
    let subscribed = true;
    return () => {
      if (!subscribed) return;
      subscribed = false;
      const now = this.table[event] as Listener<K>[];
      const at = now.indexOf(listener);
      if (at >= 0) (this.table[event] as Listener<K>[]) = [...now.slice(0, at), ...now.slice(at + 1)];
    };
  }

  /** True when someone listens (lets the caller skip building an event object). */
  has(event: ControllerEventName): boolean {
    return this.table[event].length > 0;
  }

  emit<K extends ControllerEventName>(event: K, payload: ControllerEvents[K]): void {
    const list = this.table[event] as Listener<K>[];
    for (let i = 0; i < list.length; i++) {
      try {
        const r = list[i]!(payload);
        if (r !== undefined && typeof (r as Promise<void>).then === 'function') {
          (r as Promise<void>).then(undefined, (err: unknown) => this.listenerFailed(event, err));
        }
      } catch (err) {
        this.listenerFailed(event, err);
      }
    }
  }

  listenerCount(event: ControllerEventName): number {
    return this.table[event].length;
  }

  private listenerFailed(event: string, err: unknown): void {
    this.log.error(
      { event, err: err instanceof Error ? { message: err.message, stack: err.stack } : String(err) },
      `an app's ${event} listener failed`,
    );
  }
}
