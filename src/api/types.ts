// ControllerApi: what a controller application codes against.
//
// Two implementations exist: the controller runtime (src/runtime: physical switches) and the migration
// shim (src/shim: virtual switches mapped onto an old and a new network). An app receives one of them
// at start-up and must not be able to tell which: every datapath id, port number, xid and counter it
// sees belongs to the network it was given.

import type {
  ErrorExperimenterMsg,
  ErrorMsg,
  FlowRemoved,
  MessageOf,
  MultipartReplyBody,
  MultipartRequestBody,
  OfMessage,
  Outgoing,
  PacketIn,
  Port,
  PortStatus,
} from '../openflow/types.ts';
import type { Logger } from '../util/log.ts';

/** Messages an app may send to a datapath. */
export type AppCommand = Outgoing<
  | MessageOf<'flowMod'>
  | MessageOf<'packetOut'>
  | MessageOf<'groupMod'>
  | MessageOf<'meterMod'>
  | MessageOf<'portMod'>
  | MessageOf<'tableMod'>
  | MessageOf<'experimenter'>
>;

/** Requests that get exactly one (possibly reassembled) reply. */
export type AppRequest = Outgoing<
  | MessageOf<'multipartRequest'>
  | MessageOf<'echoRequest'>
  | MessageOf<'getConfigRequest'>
  | MessageOf<'queueGetConfigRequest'>
  | MessageOf<'roleRequest'>
  | MessageOf<'getAsyncRequest'>
  | MessageOf<'featuresRequest'>
>;

/** The reply that a request resolves with. */
export type ReplyTo<R extends AppRequest['type']> = R extends 'multipartRequest'
  ? MessageOf<'multipartReply'>
  : R extends 'echoRequest'
    ? MessageOf<'echoReply'>
    : R extends 'getConfigRequest'
      ? MessageOf<'getConfigReply'>
      : R extends 'queueGetConfigRequest'
        ? MessageOf<'queueGetConfigReply'>
        : R extends 'roleRequest'
          ? MessageOf<'roleReply'>
          : R extends 'getAsyncRequest'
            ? MessageOf<'getAsyncReply'>
            : MessageOf<'featuresReply'>;

/** Rejection of a request (or a barrier) by the switch: carries the switch's OpenFlow error. */
export class OpenFlowError extends Error {
  override readonly name = 'OpenFlowError';
  constructor(
    readonly datapathId: bigint,
    readonly error: ErrorMsg | ErrorExperimenterMsg,
    message: string,
  ) {
    super(message);
  }
}

/** The request could not be answered: the switch went away, or did not answer in time. */
export class DatapathGoneError extends Error {
  override readonly name = 'DatapathGoneError';
}

/** A switch as an app sees it. */
export interface Datapath {
  readonly id: bigint;
  /** "0x0000000000000001"-style id for logs. */
  readonly idText: string;
  /** Current ports (not including LOCAL), by port number. Updated on port-status. */
  readonly ports: ReadonlyMap<number, Port>;
  readonly nTables: number;
  readonly nBuffers: number;
  readonly capabilities: number;
  /** False once the switch is down; commands sent then are dropped (and logged). */
  readonly connected: boolean;

  /** Send a command; returns the xid used (errors for it arrive as `error` events with this xid). */
  send(command: AppCommand): number;
  /** Send a request and wait for its reply (multipart replies reassembled). Rejects with OpenFlowError. */
  request<R extends AppRequest>(req: R, opts?: { timeoutMs?: number }): Promise<ReplyTo<R['type']>>;
  /** Resolves when every command sent before it has been processed by the switch. */
  barrier(opts?: { timeoutMs?: number }): Promise<void>;
  /** Shorthand for a multipart request; resolves with the merged reply body. */
  stats<B extends MultipartRequestBody>(
    body: B,
    opts?: { timeoutMs?: number },
  ): Promise<Extract<MultipartReplyBody, { kind: B['kind'] }>>;
}

export interface SwitchUpEvent {
  dp: Datapath;
}
export interface SwitchDownEvent {
  dp: Datapath;
  reason: string;
}
export interface PacketInEvent {
  dp: Datapath;
  msg: PacketIn;
  /** msg.match's in_port, for convenience. */
  inPort: number;
}
export interface FlowRemovedEvent {
  dp: Datapath;
  msg: FlowRemoved;
}
export interface PortStatusEvent {
  dp: Datapath;
  msg: PortStatus;
}
export interface ErrorEvent {
  dp: Datapath;
  msg: ErrorMsg | ErrorExperimenterMsg;
  /** The app's own command this error answers, when it can be matched by xid. */
  request?: OfMessage;
}

export interface ControllerEvents {
  switchUp: SwitchUpEvent;
  switchDown: SwitchDownEvent;
  packetIn: PacketInEvent;
  flowRemoved: FlowRemovedEvent;
  portStatus: PortStatusEvent;
  error: ErrorEvent;
}
export type ControllerEventName = keyof ControllerEvents;
export type Listener<K extends ControllerEventName> = (event: ControllerEvents[K]) => void | Promise<void>;

export interface ControllerApi {
  /** Datapaths currently connected. */
  datapaths(): Datapath[];
  datapath(id: bigint): Datapath | undefined;
  /** Subscribe; returns an unsubscribe function. Listeners run in subscription order. */
  on<K extends ControllerEventName>(event: K, listener: Listener<K>): () => void;
  /** A logger scoped to the app. */
  logger(component: string): Logger;
}

/** A controller application: a module's default export (or named `app`) of this shape. */
export interface App {
  readonly name: string;
  /** Called once; subscribe to events here. Switches already up get a switchUp event afterwards. */
  start(api: ControllerApi, options: Record<string, unknown>): void | Promise<void>;
  stop?(): void | Promise<void>;
}
