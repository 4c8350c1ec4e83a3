// l2-learning: the classic OpenFlow 1.3 learning switch (Ryu's simple_switch_13, made lean).
//
// - switch-up: table-miss rule (priority 0) sending whole packets to the controller (OFPCML_NO_BUFFER);
//   the MAC table of that switch starts empty.
// - packet-in: learn eth_src -> in_port for that datapath; if eth_dst is known, install
//   (in_port, eth_dst, eth_src) -> output(port) with an idle timeout (as simple_switch_13, plus the timeout)
//   and forward the packet (through the switch's buffer when it buffered the packet: the flow-mod names
//   the buffer and no packet-out is needed); otherwise flood it with a packet-out.
// - LLDP is ignored (it belongs to topology discovery, if any app runs it).
//
// Options (numbers or numeric strings):
//   idleTimeout  seconds, default 10 (0 = never): stale entries go away when a host leaves or moves
//   hardTimeout  seconds, default 0
//   priority     of the learnt rules, default 1
//   matchSrc     include eth_src in the rule's match, default true (simple_switch_13); false gives
//                fewer rules: (in_port, eth_dst)
//
// Not for topologies with loops: flooding on a loop storms (use shortest-path there).
//
// The packet-in handler is the benchmarked hot path: it uses the packet library's ethernetHeaderOf (MAC text
// from a cache), a Map per datapath, cached output actions, and builds each message as one object literal.

import {
  type Action,
  type App,
  booleanOption,
  type ControllerApi,
  ETH_TYPE,
  ethernetHeaderOf,
  type FlowMod,
  type Instruction,
  type Match,
  NO_BUFFER,
  numberOption,
  type Outgoing,
  type PacketInEvent,
  type PacketOut,
  Port,
  tableMissToController,
} from '../api/index.ts';

const NO_DATA = new Uint8Array(0);

export interface L2LearningOptions {
  idleTimeout: number;
  hardTimeout: number;
  priority: number;
  matchSrc: boolean;
}

export class L2Learning implements App {
  readonly name = 'l2-learning';
  /** dpid -> (MAC -> port). */
  readonly macTables = new Map<bigint, Map<string, number>>();
  options: L2LearningOptions = { idleTimeout: 10, hardTimeout: 0, priority: 1, matchSrc: true };
  private unsubscribe: (() => void)[] = [];
  /** Per output port: the action list and the apply-actions instruction list (shared, never mutated). */
  private readonly actionsByPort = new Map<number, { actions: Action[]; instructions: Instruction[] }>();

  start(api: ControllerApi, options: Record<string, unknown>): void {
    this.options = {
      idleTimeout: numberOption(options, 'idleTimeout', 10),
      hardTimeout: numberOption(options, 'hardTimeout', 0),
      priority: numberOption(options, 'priority', 1),
      matchSrc: booleanOption(options, 'matchSrc', true),
    };
    this.macTables.clear();
    const log = api.logger(this.name);
    log.info(this.options, 'l2-learning started');
    this.unsubscribe = [
      api.on('switchUp', ({ dp }) => {
        this.macTables.set(dp.id, new Map());
        tableMissToController(dp);
      }),
      api.on('switchDown', ({ dp }) => {
        this.macTables.delete(dp.id);
      }),
      api.on('packetIn', (ev) => this.onPacketIn(ev)),
    ];
  }

  stop(): void {
    for (const u of this.unsubscribe.splice(0)) u();
  }

  private actionsFor(port: number): { actions: Action[]; instructions: Instruction[] } {
    let a = this.actionsByPort.get(port);
    if (a === undefined) {
      const actions: Action[] = [{ type: 'output', port, maxLen: 0 }];
      a = { actions, instructions: [{ type: 'applyActions', actions }] };
      this.actionsByPort.set(port, a);
    }
    return a;
  }

  /** The hot path. */
  onPacketIn(ev: PacketInEvent): void {
    const { dp, msg, inPort } = ev;
    let eth: ReturnType<typeof ethernetHeaderOf>;
    try {
      eth = ethernetHeaderOf(msg.data);
    } catch {
      return; // runt frame
    }
    if (eth.ethType === ETH_TYPE.LLDP) return;
    let table = this.macTables.get(dp.id);
    if (table === undefined) {
      table = new Map();
      this.macTables.set(dp.id, table);
    }
    const src = eth.src;
    const dst = eth.dst;
    if (table.get(src) !== inPort) table.set(src, inPort);
    const outPort = table.get(dst) ?? Port.FLOOD;
    const out = this.actionsFor(outPort);
    const bufferId = msg.bufferId;
    if (outPort !== Port.FLOOD) {
      const o = this.options;
      const match: Match = o.matchSrc
        ? {
            fields: [
              { field: 'in_port', value: inPort },
              { field: 'eth_dst', value: dst },
              { field: 'eth_src', value: src },
            ],
          }
        : {
            fields: [
              { field: 'in_port', value: inPort },
              { field: 'eth_dst', value: dst },
            ],
          };
      const fm: Outgoing<FlowMod> = {
        type: 'flowMod',
        cookie: 0n,
        cookieMask: 0n,
        tableId: 0,
        command: 0,
        idleTimeout: o.idleTimeout,
        hardTimeout: o.hardTimeout,
        priority: o.priority,
        bufferId,
        outPort: Port.ANY,
        outGroup: 0xffffffff,
        flags: 0,
        match,
        instructions: out.instructions,
      };
      dp.send(fm);
      // The switch sends its buffered packet through the new rule: nothing else to do.
      if (bufferId !== NO_BUFFER) return;
    }
    const po: Outgoing<PacketOut> = {
      type: 'packetOut',
      bufferId,
      inPort,
      actions: out.actions,
      data: bufferId === NO_BUFFER ? msg.data : NO_DATA,
    };
    dp.send(po);
  }
}

/** A fresh instance (for tests and for running the app more than once in a process). */
export function createApp(): L2Learning {
  return new L2Learning();
}

const app: App = createApp();
export default app;
