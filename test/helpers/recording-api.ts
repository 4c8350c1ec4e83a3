// A recording ControllerApi for transparency tests of the migration shim: it wraps the ControllerApi an app
// is given (the shim's) and records every event, every command the app sends (with its xid), every reply
// (requests, stats, barriers) and every datapath and port table the app could look at. Apps started on it
// see exactly what they would see on the API below; `transparencyProblems()` then checks the record
// against the migration plan: the app never saw a physical datapath id, a tunnel port or tag, a shim
// table, metadata bit or cookie.

import type {
  AppCommand,
  AppRequest,
  ControllerApi,
  ControllerEventName,
  ControllerEvents,
  Datapath,
  Listener,
  ReplyTo,
} from '../../src/api/types.ts';
import type {
  FlowRemoved,
  Match,
  MultipartReplyBody,
  MultipartRequestBody,
  OfMessage,
  OxmField,
  PacketIn,
  Port as PortDesc,
  PortStatus,
} from '../../src/openflow/types.ts';
import { parseEthernet } from '../../src/packet/index.ts';
import type { MigrationPlan } from '../../src/shim/plan.ts';
import type { Logger } from '../../src/util/log.ts';

const EVENTS: ControllerEventName[] = [
  'switchUp',
  'switchDown',
  'packetIn',
  'flowRemoved',
  'portStatus',
  'error',
];

export type RecordedEvent = {
  [K in ControllerEventName]: {
    name: K;
    at: number;
    dpid: bigint;
    /** The datapath's port numbers as the app could read them at that moment. */
    ports: number[];
    event: ControllerEvents[K];
  };
}[ControllerEventName];

export interface RecordedSend {
  at: number;
  dpid: bigint;
  xid: number;
  command: AppCommand;
}

export interface RecordedReply {
  at: number;
  dpid: bigint;
  request: AppRequest | { type: 'barrier' };
  /** The reply (a multipart reply's body for stats()), or the error it failed with. */
  reply?: unknown;
  error?: string;
}

export class RecordingApi implements ControllerApi {
  readonly events: RecordedEvent[] = [];
  readonly sent: RecordedSend[] = [];
  readonly replies: RecordedReply[] = [];
  /** Every datapath id the app got from datapaths() / datapath() / an event. */
  readonly seenDpids = new Set<bigint>();
  private readonly wrapped = new WeakMap<Datapath, RecordingDatapath>();
  private readonly offs: (() => void)[] = [];

  constructor(readonly below: ControllerApi) {
    for (const name of EVENTS) {
      this.offs.push(
        below.on(name, (event: ControllerEvents[typeof name]) => {
          this.seenDpids.add(event.dp.id);
          this.events.push({
            name,
            at: Date.now(),
            dpid: event.dp.id,
            ports: [...event.dp.ports.keys()],
            event,
          } as RecordedEvent);
        }),
      );
    }
  }

  /** Stop recording events. */
  close(): void {
    for (const off of this.offs.splice(0)) off();
  }

  wrap(dp: Datapath): RecordingDatapath {
    let w = this.wrapped.get(dp);
    if (!w) {
      w = new RecordingDatapath(dp, this);
      this.wrapped.set(dp, w);
    }
    this.seenDpids.add(dp.id);
    return w;
  }

  datapaths(): Datapath[] {
    return this.below.datapaths().map((d) => this.wrap(d));
  }

  datapath(id: bigint): Datapath | undefined {
    const d = this.below.datapath(id);
    return d ? this.wrap(d) : undefined;
  }

  on<K extends ControllerEventName>(event: K, listener: Listener<K>): () => void {
    return this.below.on(event, (ev: ControllerEvents[K]) =>
      listener({ ...ev, dp: this.wrap(ev.dp) } as ControllerEvents[K]),
    );
  }

  logger(component: string): Logger {
    return this.below.logger(component);
  }

  /** Events of one kind, optionally since a time. */
  eventsOf<K extends ControllerEventName>(name: K, since = 0): Extract<RecordedEvent, { name: K }>[] {
    return this.events.filter((e) => e.name === name && e.at >= since) as Extract<
      RecordedEvent,
      { name: K }
    >[];
  }
}

export class RecordingDatapath implements Datapath {
  constructor(
    readonly below: Datapath,
    private readonly rec: RecordingApi,
  ) {}

  get id(): bigint {
    return this.below.id;
  }
  get idText(): string {
    return this.below.idText;
  }
  get ports(): ReadonlyMap<number, PortDesc> {
    return this.below.ports;
  }
  get nTables(): number {
    return this.below.nTables;
  }
  get nBuffers(): number {
    return this.below.nBuffers;
  }
  get capabilities(): number {
    return this.below.capabilities;
  }
  get connected(): boolean {
    return this.below.connected;
  }

  send(command: AppCommand): number {
    const xid = this.below.send(command);
    this.rec.sent.push({ at: Date.now(), dpid: this.id, xid, command });
    return xid;
  }

  request<R extends AppRequest>(req: R, opts?: { timeoutMs?: number }): Promise<ReplyTo<R['type']>> {
    return this.track(req, this.below.request(req, opts));
  }

  barrier(opts?: { timeoutMs?: number }): Promise<void> {
    return this.track({ type: 'barrier' }, this.below.barrier(opts));
  }

  stats<B extends MultipartRequestBody>(
    body: B,
    opts?: { timeoutMs?: number },
  ): Promise<Extract<MultipartReplyBody, { kind: B['kind'] }>> {
    return this.track({ type: 'multipartRequest', flags: 0, body }, this.below.stats(body, opts));
  }

  private track<T>(request: RecordedReply['request'], p: Promise<T>): Promise<T> {
    return p.then(
      (reply) => {
        this.rec.replies.push({ at: Date.now(), dpid: this.id, request, reply });
        return reply;
      },
      (err: unknown) => {
        this.rec.replies.push({
          at: Date.now(),
          dpid: this.id,
          request,
          error: err instanceof Error ? err.message : String(err),
        });
        throw err;
      },
    );
  }
}

// ---------------------------------------------------------------- checks

const SHIM_COOKIE_OWNERS = new Set([0x5e4dn, 0x5e4en]);
/** The shim's metadata bits (logical in_port, FROM_TUNNEL): the app keeps bits 0..31. */
const SHIM_METADATA = 0xffffffff00000000n;

function bigintJson(x: unknown): string {
  return JSON.stringify(x, (_k, v) =>
    typeof v === 'bigint' ? `${v}n` : v instanceof Uint8Array ? [...v] : v,
  );
}

/** A match in a canonical text form (fields sorted), for comparisons. */
export function matchText(m: Match): string {
  return [...m.fields]
    .map((f) => bigintJson(f))
    .sort()
    .join(',');
}

export interface TransparencyExpectations {
  plan: MigrationPlan;
  /** Tables the app uses (default: any table below 254). */
  appTables?: readonly number[];
  /** Whether the app itself matches or sets VLAN fields (default false: any vlan field is the shim's). */
  appUsesVlan?: boolean;
  /** Names of the physical tunnel ports (a port of that name must never show). */
  tunnelPortNames?: readonly string[];
}

/**
 * Everything in the record that betrays the physical network. Each problem is one line naming the event
 * or reply. Checks: datapath ids, port numbers (events, port tables, port stats/desc, packet-in in_port),
 * tunnel ports and tags (frames and matches), shim tables, metadata and cookies (packet-in, flow-removed,
 * flow stats), and that errors carry the xid of a command the app sent on that switch.
 */
export function transparencyProblems(rec: RecordingApi, x: TransparencyExpectations): string[] {
  const problems: string[] = [];
  const vports = new Map<bigint, Set<number>>();
  const physical = new Set<bigint>([x.plan.tunnelSwitch.dpid]);
  const tunnelPortNames = new Set<string>(x.tunnelPortNames ?? []);
  for (const vs of x.plan.switches) {
    vports.set(vs.dpid, new Set(vs.ports.map((p) => p.port)));
    physical.add(vs.old.dpid);
    physical.add(vs.new.dpid);
  }
  const appMatches = new Set<string>();
  const appCookies = new Set<bigint>();
  const sentXids = new Set<string>();
  for (const s of rec.sent) {
    sentXids.add(`${s.dpid}/${s.xid}`);
    if (s.command.type === 'flowMod') {
      appMatches.add(matchText(s.command.match));
      appCookies.add(s.command.cookie);
    }
  }
  const maxTable = x.appTables ? Math.max(...x.appTables) : 253;
  const dpOk = (what: string, dpid: bigint): boolean => {
    if (vports.has(dpid)) return true;
    problems.push(
      `${what}: datapath ${dpid.toString(16)} is not a virtual switch${physical.has(dpid) ? ' (it is a PHYSICAL one)' : ''}`,
    );
    return false;
  };
  const portOk = (what: string, dpid: bigint, port: number) => {
    if (port > 0xffffff00) return; // reserved ports (LOCAL, CONTROLLER, ANY...)
    if (!vports.get(dpid)?.has(port)) problems.push(`${what}: port ${port} is not a virtual port of ${dpid}`);
  };
  const cookieOk = (what: string, cookie: bigint) => {
    if (SHIM_COOKIE_OWNERS.has(cookie >> 48n)) problems.push(`${what}: shim cookie 0x${cookie.toString(16)}`);
  };
  const matchOk = (what: string, dpid: bigint, m: Match) => {
    for (const f of m.fields as OxmField[]) {
      if (f.field === 'metadata' && typeof f.value === 'bigint' && (f.value & SHIM_METADATA) !== 0n)
        problems.push(`${what}: shim metadata bits in the match (0x${f.value.toString(16)})`);
      if (f.field === 'metadata' && typeof f.mask === 'bigint' && (f.mask & SHIM_METADATA) !== 0n)
        problems.push(`${what}: shim metadata mask in the match`);
      if (!x.appUsesVlan && (f.field === 'vlan_vid' || f.field === 'vlan_pcp'))
        problems.push(`${what}: ${f.field} in the match (a tunnel tag)`);
      if ((f.field === 'in_port' || f.field === 'in_phy_port') && typeof f.value === 'number')
        portOk(`${what} ${f.field}`, dpid, f.value);
    }
  };
  const tableOk = (what: string, t: number) => {
    if (t > maxTable || (x.appTables && !x.appTables.includes(t)))
      problems.push(`${what}: table ${t} is not an app table`);
  };
  const portDescOk = (what: string, dpid: bigint, p: PortDesc) => {
    portOk(what, dpid, p.portNo);
    if (tunnelPortNames.has(p.name)) problems.push(`${what}: port named like a tunnel port (${p.name})`);
  };

  for (const dpid of rec.seenDpids) dpOk('datapath handed to the app', dpid);
  for (const e of rec.events) {
    const what = `${e.name} at ${e.at} on ${e.dpid.toString(16)}`;
    if (!dpOk(what, e.dpid)) continue;
    for (const p of e.ports) portOk(`${what}: dp.ports`, e.dpid, p);
    switch (e.name) {
      case 'packetIn': {
        const msg: PacketIn = e.event.msg;
        portOk(`${what} inPort`, e.dpid, e.event.inPort);
        matchOk(what, e.dpid, msg.match);
        tableOk(what, msg.tableId);
        cookieOk(what, msg.cookie);
        if (!x.appUsesVlan) {
          try {
            const eth = parseEthernet(msg.data);
            if (eth.vlans && eth.vlans.length > 0)
              problems.push(`${what}: the frame carries a VLAN tag (${JSON.stringify(eth.vlans)})`);
          } catch {
            // a truncated frame: nothing to say
          }
        }
        break;
      }
      case 'flowRemoved': {
        const msg: FlowRemoved = e.event.msg;
        matchOk(what, e.dpid, msg.match);
        tableOk(what, msg.tableId);
        cookieOk(what, msg.cookie);
        if (!appCookies.has(msg.cookie))
          problems.push(`${what}: cookie 0x${msg.cookie.toString(16)} is not the app's`);
        if (!appMatches.has(matchText(msg.match))) problems.push(`${what}: a match the app never installed`);
        break;
      }
      case 'portStatus': {
        const msg: PortStatus = e.event.msg;
        portDescOk(what, e.dpid, msg.port);
        break;
      }
      case 'error': {
        if (!sentXids.has(`${e.dpid}/${e.event.msg.xid}`))
          problems.push(`${what}: xid ${e.event.msg.xid} is not one the app sent on this switch`);
        break;
      }
      default:
        break;
    }
  }
  for (const r of rec.replies) {
    const what = `reply to ${r.request.type === 'multipartRequest' ? `${r.request.body.kind} stats` : r.request.type} at ${r.at} on ${r.dpid.toString(16)}`;
    if (!dpOk(what, r.dpid) || r.reply === undefined) continue;
    const reply = r.reply as Record<string, unknown>;
    if (reply.type === 'featuresReply' && typeof reply.datapathId === 'bigint') dpOk(what, reply.datapathId);
    const body = (reply.type === 'multipartReply' ? reply.body : 'kind' in reply ? reply : undefined) as
      | MultipartReplyBody
      | undefined;
    if (!body) continue;
    switch (body.kind) {
      case 'flow':
        for (const s of body.stats) {
          matchOk(`${what} flow`, r.dpid, s.match);
          tableOk(`${what} flow`, s.tableId);
          cookieOk(`${what} flow`, s.cookie);
          if (!appMatches.has(matchText(s.match))) problems.push(`${what}: a rule the app never installed`);
          for (const i of s.instructions)
            if (i.type === 'gotoTable') tableOk(`${what} goto_table`, i.tableId);
        }
        break;
      case 'portStats':
        for (const s of body.stats) portOk(`${what} port`, r.dpid, s.portNo);
        break;
      case 'portDesc':
        for (const p of body.ports) portDescOk(`${what} port`, r.dpid, p);
        break;
      case 'table':
        // Table stats list every table the switch has: only the shim's table 0 must be missing.
        for (const t of body.stats) if (t.tableId > 253) problems.push(`${what}: table ${t.tableId}`);
        break;
      default:
        break;
    }
  }
  return problems;
}

/** Compact text of a recorded message for failure output. */
export function show(x: unknown): string {
  return bigintJson(x).slice(0, 400);
}

export type { OfMessage };
