// stats-monitor: polls flow and port statistics of every switch every `intervalS` seconds and logs them as
// JSON lines, so that counters can be watched (e.g. across a migration). It installs nothing.
//
// One line per switch and kind, appended to `file` (option) or written to stdout:
//   {"ts":"2026-..Z","dpid":"0x..01","kind":"flows","flows":[{"table":0,"priority":1,"cookie":"0x0",
//     "match":{"in_port":1,"eth_dst":"02:.."},"packets":12,"bytes":1176,"duration":3.25,"idleTimeout":10,
//     "hardTimeout":0}]}
//   {"ts":"..","dpid":"0x..01","kind":"ports","ports":[{"port":1,"rxPackets":12,"txPackets":11,"rxBytes":1176,
//     "txBytes":1078,"rxDropped":0,"txDropped":0}]}
// Counters are JSON numbers (exact up to 2^53). The last sample of every switch is kept (`last()`), and
// `onSample()` listeners get each one as it arrives; `pollNow()` polls at once (tests, tools).
//
// Options: intervalS (default 10), file (default: stdout), flows / ports (default true: what to poll),
// timeoutMs (per request, default 5000).

import { appendFileSync } from 'node:fs';
import {
  type App,
  booleanOption,
  type ControllerApi,
  type Datapath,
  type FlowStats,
  Group,
  type Logger,
  type Match,
  numberOption,
  Port,
  type PortStats,
  stringOption,
  Table,
} from '../api/index.ts';

export interface FlowSample {
  table: number;
  priority: number;
  cookie: string;
  match: Record<string, number | string>;
  packets: number;
  bytes: number;
  /** Seconds, with the nanoseconds. */
  duration: number;
  idleTimeout: number;
  hardTimeout: number;
}

export interface PortSample {
  port: number;
  rxPackets: number;
  txPackets: number;
  rxBytes: number;
  txBytes: number;
  rxDropped: number;
  txDropped: number;
}

export interface SwitchSample {
  ts: string;
  dpid: string;
  /** Absent when flows were not polled (or the request failed). */
  flows?: FlowSample[];
  ports?: PortSample[];
}

export interface StatsMonitorOptions {
  intervalS: number;
  file: string | undefined;
  flows: boolean;
  ports: boolean;
  timeoutMs: number;
}

/** The JSON form of a match: field -> value, or "value/mask" when masked. */
export function matchToJson(match: Match): Record<string, number | string> {
  const out: Record<string, number | string> = {};
  for (const f of match.fields) {
    if (f.field === 'unknown') {
      out[`oxm_${f.oxmClass.toString(16)}_${f.oxmField}`] = Buffer.from(f.data).toString('hex');
      continue;
    }
    const v = typeof f.value === 'bigint' ? `0x${f.value.toString(16)}` : f.value;
    if (f.mask === undefined) out[f.field] = v;
    else {
      const m = typeof f.mask === 'bigint' ? `0x${f.mask.toString(16)}` : f.mask;
      out[f.field] = `${v}/${m}`;
    }
  }
  return out;
}

function flowSample(s: FlowStats): FlowSample {
  return {
    table: s.tableId,
    priority: s.priority,
    cookie: `0x${s.cookie.toString(16)}`,
    match: matchToJson(s.match),
    packets: Number(s.packetCount),
    bytes: Number(s.byteCount),
    duration: s.durationSec + s.durationNsec / 1e9,
    idleTimeout: s.idleTimeout,
    hardTimeout: s.hardTimeout,
  };
}

function portSample(s: PortStats): PortSample {
  return {
    port: s.portNo,
    rxPackets: Number(s.rxPackets),
    txPackets: Number(s.txPackets),
    rxBytes: Number(s.rxBytes),
    txBytes: Number(s.txBytes),
    rxDropped: Number(s.rxDropped),
    txDropped: Number(s.txDropped),
  };
}

export class StatsMonitor implements App {
  readonly name = 'stats-monitor';
  options: StatsMonitorOptions = {
    intervalS: 10,
    file: undefined,
    flows: true,
    ports: true,
    timeoutMs: 5000,
  };
  /** Number of completed polling rounds. */
  rounds = 0;
  private readonly lastByDpid = new Map<bigint, SwitchSample>();
  private readonly listeners: ((dpid: bigint, sample: SwitchSample) => void)[] = [];
  private api!: ControllerApi;
  private log!: Logger;
  private timer: NodeJS.Timeout | undefined;
  private polling: Promise<void> | undefined;
  private unsubscribe: (() => void)[] = [];

  start(api: ControllerApi, options: Record<string, unknown>): void {
    this.api = api;
    this.log = api.logger(this.name);
    this.options = {
      intervalS: numberOption(options, 'intervalS', 10),
      file: stringOption(options, 'file'),
      flows: booleanOption(options, 'flows', true),
      ports: booleanOption(options, 'ports', true),
      timeoutMs: numberOption(options, 'timeoutMs', 5000),
    };
    if (!(this.options.intervalS > 0)) throw new TypeError('stats-monitor: intervalS must be > 0');
    this.rounds = 0;
    this.lastByDpid.clear();
    this.log.info(this.options, 'stats-monitor started');
    this.unsubscribe = [
      this.api.on('switchDown', ({ dp }) => {
        this.lastByDpid.delete(dp.id);
      }),
    ];
    this.timer = setInterval(() => void this.pollNow(), this.options.intervalS * 1000);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    for (const u of this.unsubscribe.splice(0)) u();
    await this.polling;
  }

  /** The last sample of a switch, or of every switch. */
  last(dpid: bigint): SwitchSample | undefined;
  last(): Map<bigint, SwitchSample>;
  last(dpid?: bigint): SwitchSample | Map<bigint, SwitchSample> | undefined {
    if (dpid === undefined) return new Map(this.lastByDpid);
    return this.lastByDpid.get(dpid);
  }

  onSample(listener: (dpid: bigint, sample: SwitchSample) => void): () => void {
    this.listeners.push(listener);
    return () => {
      const i = this.listeners.indexOf(listener);
      if (i >= 0) this.listeners.splice(i, 1);
    };
  }

  /** Polls every switch now (a round already running is joined, not doubled). */
  pollNow(): Promise<void> {
    if (this.polling) return this.polling;
    this.polling = this.round().finally(() => {
      this.polling = undefined;
    });
    return this.polling;
  }

  private async round(): Promise<void> {
    await Promise.all(this.api.datapaths().map((dp) => this.pollSwitch(dp)));
    this.rounds++;
  }

  private async pollSwitch(dp: Datapath): Promise<void> {
    const ts = new Date().toISOString();
    const sample: SwitchSample = { ts, dpid: dp.idText };
    const opts = { timeoutMs: this.options.timeoutMs };
    const [flows, ports] = await Promise.all([
      this.options.flows
        ? dp
            .stats(
              {
                kind: 'flow',
                tableId: Table.ALL,
                outPort: Port.ANY,
                outGroup: Group.ANY,
                cookie: 0n,
                cookieMask: 0n,
                match: { fields: [] },
              },
              opts,
            )
            .catch((err: unknown) => this.failed(dp, 'flows', err))
        : undefined,
      this.options.ports
        ? dp
            .stats({ kind: 'portStats', portNo: Port.ANY }, opts)
            .catch((err: unknown) => this.failed(dp, 'ports', err))
        : undefined,
    ]);
    if (flows) {
      sample.flows = flows.stats.map(flowSample);
      this.write({ ts, dpid: dp.idText, kind: 'flows', flows: sample.flows });
    }
    if (ports) {
      sample.ports = ports.stats
        .filter((p) => p.portNo <= Port.MAX)
        .map(portSample)
        .sort((x, y) => x.port - y.port);
      this.write({ ts, dpid: dp.idText, kind: 'ports', ports: sample.ports });
    }
    if (!flows && !ports) return;
    this.lastByDpid.set(dp.id, sample);
    for (const l of [...this.listeners]) {
      try {
        l(dp.id, sample);
      } catch (err) {
        this.log.warn({ err: (err as Error).message }, 'sample listener failed');
      }
    }
  }

  private failed(dp: Datapath, what: string, err: unknown): undefined {
    this.log.warn({ dpid: dp.idText, what, err: (err as Error).message }, 'statistics request failed');
    return undefined;
  }

  private write(line: object): void {
    const text = `${JSON.stringify(line)}\n`;
    if (this.options.file) {
      try {
        appendFileSync(this.options.file, text);
      } catch (err) {
        this.log.error({ file: this.options.file, err: (err as Error).message }, 'cannot write statistics');
      }
    } else {
      process.stdout.write(text);
    }
  }
}

export function createApp(): StatsMonitor {
  return new StatsMonitor();
}

const app: App = createApp();
export default app;
