// The OpenFlow 1.3 controller runtime: listeners, sessions by datapath id, events for the apps.
//
// `Controller` implements ControllerApi over physical switches. Typical use:
//
//   const ctl = new Controller({ listen: [parseListenAddress('unix:/run/vnm.sock')] });
//   ctl.on('packetIn', ({ dp, msg, inPort }) => { ... dp.send(flowMod(...)) ... });
//   await ctl.start();
//   ...
//   await ctl.stop();
//
// Anything that wants to sit between the runtime and the apps (the migration shim) takes this object
// as its ControllerApi "below" and hands the apps its own.

import { existsSync, lstatSync, unlinkSync } from 'node:fs';
import { connect, createServer, type Server, type Socket } from 'node:net';
import type { ControllerApi, ControllerEventName, Datapath, ErrorEvent, Listener } from '../api/types.ts';
import { OpenFlowError } from '../api/types.ts';
import { ControllerRole, ErrorType, RoleRequestFailedCode } from '../openflow/constants.ts';
import type {
  ErrorExperimenterMsg,
  ErrorMsg,
  FlowRemoved,
  OfMessage,
  PacketIn,
  PortStatus,
  RoleReply,
} from '../openflow/types.ts';
import { type Logger, logger as makeLogger } from '../util/log.ts';
import { DEFAULT_LISTEN, formatListenAddress, type ListenAddress } from './address.ts';
import { type RuntimeConfig, resolveRuntimeConfig } from './config.ts';
import { EventBus } from './events.ts';
import { type RuntimeDatapath, Session, type SessionHost } from './session.ts';

export type RoleName = 'equal' | 'master' | 'slave';

export const ROLE_VALUES: Record<RoleName, number> = {
  equal: ControllerRole.EQUAL,
  master: ControllerRole.MASTER,
  slave: ControllerRole.SLAVE,
};

export interface ControllerOptions extends Partial<RuntimeConfig> {
  /** Where to listen (default tcp:127.0.0.1:6653). */
  listen?: ListenAddress[];
  /** Role to request from every switch at connect time (default: none, i.e. the switch's EQUAL). */
  role?: RoleName;
  /**
   * First generation id for master/slave role requests; every request uses a larger one. Default:
   * microseconds since the epoch, so a restarted controller outranks its previous run.
   */
  generationId?: bigint;
  /** Logger for the runtime (default logger('runtime')). */
  log?: Logger;
}

export class Controller implements ControllerApi, SessionHost {
  readonly config: RuntimeConfig;
  readonly log: Logger;
  private readonly bus: EventBus;
  private readonly servers: { address: ListenAddress; server: Server }[] = [];
  private readonly listenAddrs: ListenAddress[];
  /** Every open session (handshaking or up). */
  private readonly sessions = new Set<Session>();
  /** Sessions that named their datapath id (handshake past FEATURES). */
  private readonly byDpid = new Map<bigint, Session>();
  /** Datapaths the apps currently see. */
  private readonly upDps = new Map<bigint, RuntimeDatapath>();
  private connCounter = 0;
  private role: RoleName | undefined;
  private generationId: bigint;
  private stopping = false;

  constructor(opts: ControllerOptions = {}) {
    const { listen, role, generationId, log, ...rest } = opts;
    this.config = resolveRuntimeConfig(rest);
    this.log = log ?? makeLogger('runtime');
    this.bus = new EventBus(this.log);
    this.listenAddrs = listen && listen.length > 0 ? listen : [DEFAULT_LISTEN];
    this.role = role;
    this.generationId = generationId ?? BigInt(Date.now()) * 1000n;
  }

  // ------------------------------------------------------------------ ControllerApi

  datapaths(): Datapath[] {
    return [...this.upDps.values()];
  }
  datapath(id: bigint): Datapath | undefined {
    return this.upDps.get(id);
  }
  on<K extends ControllerEventName>(event: K, listener: Listener<K>): () => void {
    return this.bus.on(event, listener);
  }
  logger(component: string): Logger {
    return makeLogger(component);
  }

  // ------------------------------------------------------------------ lifecycle

  /** Listen on every configured address. Rejects (and closes what it opened) if one fails. */
  async start(): Promise<void> {
    try {
      for (const address of this.listenAddrs) await this.listenOn(address);
    } catch (err) {
      await this.closeServers();
      throw err;
    }
  }

  private async listenOn(address: ListenAddress): Promise<void> {
    try {
      await this.listenOnce(address);
    } catch (err) {
      // A unix socket file left by a controller that died: remove it if nobody answers on it.
      if (address.kind !== 'unix' || (err as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw err;
      if (!(await isStaleSocket(address.path))) throw err;
      this.log.info({ path: address.path }, 'removing a stale unix socket file');
      unlinkSync(address.path);
      await this.listenOnce(address);
    }
  }

  private listenOnce(address: ListenAddress): Promise<void> {
    const server = createServer({ noDelay: true }, (socket) => this.accept(socket, address));
    return new Promise<void>((resolve, reject) => {
      server.once('error', (err: NodeJS.ErrnoException) => {
        const e = new Error(
          `cannot listen on ${formatListenAddress(address)}: ${err.code ?? err.message}`,
        ) as NodeJS.ErrnoException;
        if (err.code !== undefined) e.code = err.code;
        reject(e);
      });
      const onListening = () => {
        server.removeAllListeners('error');
        server.on('error', (err) =>
          this.log.error({ listen: formatListenAddress(address), err: err.message }, 'listener error'),
        );
        let bound = address;
        const a = server.address();
        if (address.kind === 'tcp' && a && typeof a === 'object') {
          bound = { kind: 'tcp', host: address.host, port: a.port };
        }
        this.servers.push({ address: bound, server });
        this.log.info({ listen: formatListenAddress(bound) }, 'listening for switches');
        resolve();
      };
      if (address.kind === 'unix') server.listen(address.path, onListening);
      else server.listen(address.port, address.host, onListening);
    });
  }

  /** The addresses actually bound (a TCP port 0 is replaced by the chosen port). */
  addresses(): ListenAddress[] {
    return this.servers.map((s) => s.address);
  }

  private accept(socket: Socket, address: ListenAddress): void {
    if (this.stopping) {
      socket.destroy();
      return;
    }
    this.connCounter++;
    const peer =
      address.kind === 'unix'
        ? `unix:${address.path}#${this.connCounter}`
        : `${socket.remoteAddress}:${socket.remotePort}`;
    this.log.debug({ peer }, 'connection accepted');
    const session = new Session(socket, peer, this);
    this.sessions.add(session);
  }

  /** Close every session (apps see switchDown) and every listener. */
  async stop(reason = 'controller shutting down'): Promise<void> {
    this.stopping = true;
    for (const s of [...this.sessions]) s.close(reason, 'silent');
    await this.closeServers();
  }

  private async closeServers(): Promise<void> {
    // server.close() also unlinks a unix socket file.
    const closing = this.servers
      .splice(0)
      .map(({ server }) => new Promise<void>((resolve) => server.close(() => resolve())));
    await Promise.all(closing);
  }

  // ------------------------------------------------------------------ roles

  /** Next generation id (strictly increasing during this run). */
  nextGenerationId(): bigint {
    this.generationId = BigInt.asUintN(64, this.generationId + 1n);
    return this.generationId;
  }

  /** The last generation id used (or the initial one). */
  get currentGenerationId(): bigint {
    return this.generationId;
  }

  /**
   * Ask one switch for a role. Master/slave requests carry a fresh, larger generation id. A STALE
   * error (another controller used a newer generation id) rejects with OpenFlowError, is logged, and
   * leaves the session and its current role as they were.
   */
  async setRole(dpid: bigint, role: RoleName): Promise<RoleReply> {
    const session = this.byDpid.get(dpid);
    if (!session || session.state === 'closed') throw new Error(`no switch ${dpid.toString(16)} connected`);
    const gen = role === 'equal' ? 0n : this.nextGenerationId();
    try {
      const reply = await session.requestRole(ROLE_VALUES[role], gen);
      this.log.info({ dpid: session.dp.idText, role, generationId: gen.toString() }, 'role confirmed');
      return reply;
    } catch (err) {
      if (
        err instanceof OpenFlowError &&
        err.error.type === 'error' &&
        err.error.errorType === ErrorType.ROLE_REQUEST_FAILED
      ) {
        const stale = err.error.code === RoleRequestFailedCode.STALE;
        this.log.warn(
          { dpid: session.dp.idText, role, generationId: gen.toString(), keptRole: session.role },
          stale
            ? 'role request refused as STALE: another controller used a newer generation id'
            : `role request refused: ${err.message}`,
        );
      }
      throw err;
    }
  }

  /** Set the role on every connected switch (and on those that connect later). */
  async setRoleAll(role: RoleName): Promise<void> {
    this.role = role;
    const results = await Promise.allSettled([...this.upDps.keys()].map((id) => this.setRole(id, role)));
    const failed = results.filter((r) => r.status === 'rejected').length;
    if (failed > 0) this.log.warn({ role, failed }, 'role change failed on some switches');
  }

  // ------------------------------------------------------------------ SessionHost

  handshakeRole(): { role: number; generationId: bigint } | undefined {
    if (!this.role || this.role === 'equal') return undefined;
    return { role: ROLE_VALUES[this.role], generationId: this.nextGenerationId() };
  }

  claim(session: Session): void {
    const id = session.dp.id;
    const old = this.byDpid.get(id);
    if (old && old !== session) {
      this.log.info(
        { dpid: session.dp.idText, oldPeer: old.peer, newPeer: session.peer },
        'a new connection for this datapath replaces the old one',
      );
      old.close(`replaced by a new connection from ${session.peer}`, 'silent');
    }
    this.byDpid.set(id, session);
  }

  up(session: Session): void {
    const dp = session.dp;
    this.upDps.set(dp.id, dp);
    this.log.info(
      { dpid: dp.idText, peer: session.peer, ports: dp.ports.size, tables: dp.nTables, role: session.role },
      'switch connected',
    );
    this.bus.emit('switchUp', { dp });
  }

  down(session: Session, reason: string, wasUp: boolean): void {
    this.sessions.delete(session);
    const dp = session.dp;
    if (this.byDpid.get(dp.id) === session) this.byDpid.delete(dp.id);
    if (!wasUp) return;
    if (this.upDps.get(dp.id) === dp) this.upDps.delete(dp.id);
    this.log.info(
      { dpid: dp.idText, peer: session.peer, reason, packetIns: session.counters.packetIns },
      'switch disconnected',
    );
    this.bus.emit('switchDown', { dp, reason });
  }

  packetIn(dp: Datapath, msg: PacketIn, inPort: number): void {
    this.bus.emit('packetIn', { dp, msg, inPort });
  }

  flowRemoved(dp: Datapath, msg: FlowRemoved): void {
    this.bus.emit('flowRemoved', { dp, msg });
  }

  portStatus(dp: Datapath, msg: PortStatus): void {
    this.bus.emit('portStatus', { dp, msg });
  }

  error(dp: Datapath, msg: ErrorMsg | ErrorExperimenterMsg, request: OfMessage | undefined): void {
    const ev: ErrorEvent = request ? { dp, msg, request } : { dp, msg };
    if (!this.bus.has('error')) {
      this.log.warn(
        {
          dpid: dp.idText,
          xid: msg.xid,
          request: request?.type,
          error: msg.type === 'error' ? { type: msg.errorType, code: msg.code } : msg.expType,
        },
        'switch error (no app listens for errors)',
      );
    }
    this.bus.emit('error', ev);
  }

  // ------------------------------------------------------------------ introspection

  /** Sessions (any state), for tests and status output. */
  sessionList(): Session[] {
    return [...this.sessions];
  }
}

/** True when `path` is a socket file that nobody accepts connections on. */
function isStaleSocket(path: string): Promise<boolean> {
  try {
    if (!existsSync(path) || !lstatSync(path).isSocket()) return Promise.resolve(false);
  } catch {
    return Promise.resolve(false);
  }
  return new Promise((resolve) => {
    const probe = connect(path);
    probe.once('connect', () => {
      probe.destroy();
      resolve(false);
    });
    probe.once('error', (err: NodeJS.ErrnoException) => resolve(err.code === 'ECONNREFUSED'));
  });
}
