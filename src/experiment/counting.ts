// A pass-through ControllerApi that counts the flow-mods and group-mods sent to the switches. Placed
// right above the runtime (below the migration shim, when there is one), it counts what the switches
// actually receive: the apps' rules and, during a migration, the shim's.
import type { AppCommand, ControllerApi, ControllerEventName, Datapath, Listener } from '../api/types.ts';

export interface ModCounter {
  flowMods: number;
  groupMods: number;
}

export function countingApi(below: ControllerApi, counter: ModCounter): ControllerApi {
  const wrapped = new WeakMap<Datapath, Datapath>();
  const wrap = (dp: Datapath): Datapath => {
    let w = wrapped.get(dp);
    if (!w) {
      w = new Proxy(dp, {
        get(target, prop) {
          if (prop === 'send') {
            return (command: AppCommand) => {
              if (command.type === 'flowMod') counter.flowMods++;
              else if (command.type === 'groupMod') counter.groupMods++;
              return target.send(command);
            };
          }
          const v = Reflect.get(target, prop, target) as unknown;
          return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
        },
      });
      wrapped.set(dp, w);
    }
    return w;
  };
  const wrapEvent = (ev: unknown): unknown => {
    if (ev && typeof ev === 'object' && 'dp' in ev) {
      const e = ev as { dp: Datapath };
      return { ...e, dp: wrap(e.dp) };
    }
    return ev;
  };
  return {
    datapaths: () => below.datapaths().map(wrap),
    datapath: (id: bigint) => {
      const dp = below.datapath(id);
      return dp ? wrap(dp) : undefined;
    },
    on<K extends ControllerEventName>(event: K, listener: Listener<K>): () => void {
      return below.on(event, ((ev: unknown) =>
        (listener as (e: unknown) => unknown)(wrapEvent(ev))) as Listener<K>);
    },
    logger: (component: string) => below.logger(component),
  };
}
