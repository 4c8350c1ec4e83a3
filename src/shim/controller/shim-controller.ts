// The ShimController: the migration shim's I/O side.
//
// Towards the apps it is a ControllerApi of *virtual* switches (the plan's stable datapath ids and port
// numbers); towards the network it uses the runtime's ControllerApi of *physical* switches (old copies,
// new copies, tunnel switch). Every decision comes from the pure core: translate.ts (app commands and
// switch events, both ways), policy.ts (ASAP/ALAP transitions), target.ts (what each switch should hold,
// reconciliation), ledger.ts (virtual tables, copies, counters, buffers, xids). This file sends what the
// core decides, with barriers between steps, and keeps the journal.
//
// It is also the MigrationDriver behind the migration console: prepare, move hosts (through a HostMover),
// finalize, abort, status and progress events. Every step is journalled (intent before, done after), so a
// restarted controller resumes an interrupted migration (or aborts it, on request); every switch that
// connects is reconciled with its target state.

import type {
  AppCommand,
  AppRequest,
  ControllerApi,
  ControllerEventName,
  Datapath,
  ErrorEvent,
  Listener,
  ReplyTo,
} from '../../api/types.ts';
import { DatapathGoneError } from '../../api/types.ts';
import { FlowModCommand, GroupModCommand, NO_BUFFER, PortReason } from '../../openflow/constants.ts';
import type {
  ErrorExperimenterMsg,
  ErrorMsg,
  FlowRemoved,
  MultipartReplyBody,
  OfMessage,
  Port,
  PortStatus,
} from '../../openflow/types.ts';
import { EventBus } from '../../runtime/events.ts';
import { type Logger, logger as makeLogger } from '../../util/log.ts';
import {
  BadRequestError,
  ConflictError,
  type ConsoleListen,
  type ConsolePhase,
  ConsoleServer,
  type HostStatus,
  type MigrationDriver,
  type MigrationStatus,
  type MoveHostsOptions,
  type PhaseFigures,
  type ProgressEvent,
  type StepStatus,
} from '../console.ts';
import { Journal, type MigrationRecord, planHash, type StepRecord } from '../journal.ts';
import { Ledger } from '../ledger.ts';
import {
  type Algorithm,
  type MigrationState,
  MigrationStateError,
  type PhysicalMessage,
  ShimCommandError,
  type Side,
  type Step,
} from '../model.ts';
import { ArrivalBoard, createMover, type HostMover, type MoverDeps, type MoveTimes } from '../movers.ts';
import { appSides, encodingOf } from '../pipeline.ts';
import { formatDpid, type MigrationPlan, planIndex, planToObject } from '../plan.ts';
import {
  initialState,
  type MigrationPolicy,
  moveDestination,
  type PolicyContext,
  policyFor,
  type Transition,
  type TransitionKind,
} from '../policy.ts';
import { addFlow, emptySwitchState, type NetworkState, ruleCounts, targetState } from '../target.ts';
import {
  type AppNotice,
  barrierTargets,
  copiesLost,
  mergeStats,
  observePortStats,
  portAttached,
  recordCommandXids,
  revokeRefusedRule,
  type ShimContext,
  statsFanout,
  translateAppCommand,
  translateError,
  translateFlowRemoved,
  translatePacketIn,
  translatePortStatus,
  updatePortView,
  virtualPortView,
} from '../translate.ts';
import { Gate } from './gate.ts';
import { DUMP_ALL_FLOWS, DUMP_ALL_GROUPS, lostCopyRemoved, planReconcile } from './reconcile.ts';
import { VirtualDatapath, type VirtualHost } from './virtual-datapath.ts';

export type StartMode = 'resume' | 'abort';

export interface ShimControllerOptions {
  plan: MigrationPlan;
  planFile?: string;
  /** Overrides the plan's algorithm (refused when a migration with the other algorithm is under way). */
  algorithm?: Algorithm;
  /** The runtime's API (physical switches). */
  below: ControllerApi;
  /** Where the journal, the console socket and its token live. */
  runDir: string;
  /** How hosts move (default: built from the plan's mover with `moverDeps`). */
  mover?: HostMover;
  moverDeps?: MoverDeps;
  /** What to do with a migration found unfinished in the journal (default resume). */
  onStart?: StartMode;
  /** Console address (default: unix socket in the run dir); false: no console. */
  console?: ConsoleListen | false;
  log?: Logger;
  /** Barrier and dump timeout (ms, default 15000). */
  requestTimeoutMs?: number;
  /** A switch down this long has its copies written off (counters final as last seen). Default 60000. */
  lostAfterMs?: number;
  /** Save the ledger this long after an app change (ms, default 1000). */
  ledgerSaveMs?: number;
  /**
   * Before a step that removes rules or groups, wait this long (ms, default 50) so that packets still in
   * flight on the paths being retired (through the tunnel, which is usually the slow, far link) arrive.
   */
  drainMs?: number;
  now?: () => number;
}

type PhaseName = 'prepare' | 'moves' | 'finalize' | 'abort' | 'reconcile' | 'app';

interface Metrics {
  phases: Record<PhaseName, PhaseFigures>;
  maxRules: Record<string, number>;
  preparedAt?: number;
  finalizedAt?: number;
}

function emptyFigures(): PhaseFigures {
  return { flowMods: 0, groupMods: 0, otherMessages: 0, barriers: 0, ms: 0 };
}

function emptyMetrics(): Metrics {
  return {
    phases: {
      prepare: emptyFigures(),
      moves: emptyFigures(),
      finalize: emptyFigures(),
      abort: emptyFigures(),
      reconcile: emptyFigures(),
      app: emptyFigures(),
    },
    maxRules: {},
  };
}

function phaseOfTransition(kind: TransitionKind): PhaseName {
  switch (kind) {
    case 'prepare':
      return 'prepare';
    case 'finalize':
      return 'finalize';
    case 'abort':
      return 'abort';
    default:
      return 'moves';
  }
}

function errText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

interface HostsOpDetail {
  hosts: { name: string; to: Side }[];
  blackoutMs?: number;
}

export class ShimController implements ControllerApi, MigrationDriver, VirtualHost {
  readonly plan: MigrationPlan;
  readonly planFile: string | undefined;
  readonly runDir: string;
  readonly log: Logger;
  readonly journal: Journal;
  readonly arrivals = new ArrivalBoard();
  state: MigrationState;
  ledger: Ledger;
  private readonly below: ControllerApi;
  private readonly policy: MigrationPolicy;
  private readonly mover: HostMover;
  private readonly bus: EventBus;
  private readonly gate: Gate;
  private readonly vdps = new Map<bigint, VirtualDatapath>();
  private readonly migration: MigrationRecord;
  private readonly startedAt: number;
  private readonly now: () => number;
  private readonly requestTimeoutMs: number;
  private readonly lostAfterMs: number;
  private readonly ledgerSaveMs: number;
  private readonly drainMs: number;
  private readonly offs: (() => void)[] = [];
  private readonly listeners = new Set<(e: ProgressEvent) => void>();
  private readonly errors: { at: number; message: string }[] = [];
  private readonly lastMove = new Map<string, NonNullable<HostStatus['lastMove']>>();
  /** Physical switches reconciled since their last connection. */
  private readonly reconciled = new Set<bigint>();
  private readonly lostTimers = new Map<bigint, NodeJS.Timeout>();
  private readonly unknownDpids = new Set<bigint>();
  private metrics: Metrics;
  private busy: string | undefined;
  /** The target state of the host-move transition whose steps are in flight (see packetOutNow). */
  private moveTarget: MigrationState | undefined;
  private saveTimer: NodeJS.Timeout | undefined;
  private console: ConsoleServer | undefined;
  /** Messages of the exclusive operation running now (xid -> where), to catch the switches' errors. */
  private watch: { keys: Set<string>; errors: string[] } | undefined;
  /** Work to do once every switch of the plan is connected (resume or abort after a restart). */
  private pendingStart: (() => Promise<void>) | undefined;
  private stopped = false;

  private constructor(
    opts: ShimControllerOptions,
    journal: Journal,
    migration: MigrationRecord,
    ledger: Ledger,
  ) {
    this.plan = opts.plan;
    this.planFile = opts.planFile;
    this.runDir = opts.runDir;
    this.below = opts.below;
    this.log = opts.log ?? makeLogger('shim');
    this.journal = journal;
    this.migration = migration;
    this.state = migration.state;
    this.ledger = ledger;
    ledger.tunnelOverheadBytes = encodingOf(this.plan).overheadBytes;
    this.policy = policyFor(this.state.algorithm);
    this.now = opts.now ?? Date.now;
    this.startedAt = this.now();
    this.requestTimeoutMs = opts.requestTimeoutMs ?? 15_000;
    this.lostAfterMs = opts.lostAfterMs ?? 60_000;
    this.ledgerSaveMs = opts.ledgerSaveMs ?? 1000;
    this.drainMs = opts.drainMs ?? 50;
    this.bus = new EventBus(this.log);
    this.gate = new Gate(this.log);
    this.metrics = { ...emptyMetrics(), ...(migration.metrics as Partial<Metrics>) };
    this.metrics.phases = { ...emptyMetrics().phases, ...this.metrics.phases };
    const deps: MoverDeps = {
      arrivals: this.arrivals,
      log: this.log.child({ c: 'mover' }),
      ...opts.moverDeps,
    };
    this.mover = opts.mover ?? createMover(this.plan.mover, deps);
    for (const vs of this.plan.switches) this.vdps.set(vs.dpid, new VirtualDatapath(this, vs));
    for (const s of journal.steps(migration.id)) {
      if (s.kind === 'move' && s.host) this.lastMove.set(s.host, moveOfStep(s));
    }
  }

  /**
   * Open the journal in the run directory, restore (or begin) the migration of this plan, subscribe to the
   * runtime and start the console. Switches are reconciled as they connect; an interrupted migration is
   * resumed (or aborted) once every switch of the plan is connected.
   */
  static async create(opts: ShimControllerOptions): Promise<ShimController> {
    const log = opts.log ?? makeLogger('shim');
    const journal = Journal.open(opts.runDir);
    try {
      const hash = planHash(opts.plan);
      let m = journal.open();
      if (m && m.planHash !== hash) {
        if (m.state.phase === 'prepared')
          throw new Error(
            `${journal.path} holds an unfinished migration of another plan (hash ${m.planHash}` +
              `${m.planFile ? `, ${m.planFile}` : ''}, phase ${m.state.phase}): start the controller with that ` +
              'plan to resume or abort it, or use another --run-dir',
          );
        journal.close(m.id, 'superseded');
        m = undefined;
      }
      let ledger = new Ledger();
      if (m) {
        const snap = journal.latestLedger(m.id);
        if (snap) ledger = Ledger.fromJSON(snap.ledger);
        if (opts.algorithm && opts.algorithm !== m.state.algorithm) {
          if (m.state.phase !== 'idle')
            throw new Error(
              `the migration in ${journal.path} runs Tunnel ${m.state.algorithm.toUpperCase()} ` +
                `(phase ${m.state.phase}); it cannot switch to ${opts.algorithm.toUpperCase()} half way ` +
                '(abort it first, or drop --algorithm)',
            );
          m.state = { ...m.state, algorithm: opts.algorithm };
          journal.setState(m.id, m.state);
        }
        log.info(
          { migration: m.id, phase: m.state.phase, algorithm: m.state.algorithm, hosts: m.state.hosts },
          'migration restored from the journal',
        );
      } else {
        const begin: Parameters<Journal['begin']>[0] = {
          planHash: hash,
          plan: planToObject(opts.plan) as Record<string, unknown>,
          state: initialState(opts.plan, opts.algorithm ?? opts.plan.algorithm),
        };
        if (opts.planFile) begin.planFile = opts.planFile;
        m = journal.begin(begin);
        log.info({ migration: m.id, algorithm: m.state.algorithm }, 'new migration journal');
      }
      const shim = new ShimController(opts, journal, m, ledger);
      shim.recover(opts.onStart ?? 'resume');
      shim.subscribeBelow();
      if (opts.console !== false) {
        const c: ConstructorParameters<typeof ConsoleServer>[0] = {
          runDir: opts.runDir,
          driver: shim,
          log: shim.log,
        };
        if (opts.console) c.listen = opts.console;
        shim.console = new ConsoleServer(c);
        await shim.console.start();
      }
      for (const dp of opts.below.datapaths()) shim.onSwitchUp(dp);
      return shim;
    } catch (err) {
      journal.closeDb();
      throw err;
    }
  }

  /** The console's address (when it runs). */
  get consoleAddress(): ConsoleListen | undefined {
    return this.console?.address;
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    for (const off of this.offs.splice(0)) off();
    for (const t of this.lostTimers.values()) clearTimeout(t);
    if (this.saveTimer) clearTimeout(this.saveTimer);
    await this.console?.stop();
    try {
      this.journal.saveLedger(this.migration.id, this.ledger.toJSON());
      this.journal.setMetrics(this.migration.id, this.metrics as unknown as Record<string, unknown>);
    } catch (err) {
      this.log.warn({ err: errText(err) }, 'could not save the ledger at shutdown');
    }
    this.journal.closeDb();
  }

  // ================================================================ ControllerApi (for the apps)

  datapaths(): Datapath[] {
    return [...this.vdps.values()].filter((d) => d.announced);
  }

  datapath(id: bigint): Datapath | undefined {
    const d = this.vdps.get(id);
    return d?.announced ? d : undefined;
  }

  on<K extends ControllerEventName>(event: K, listener: Listener<K>): () => void {
    return this.bus.on(event, listener);
  }

  logger(component: string): Logger {
    return this.below.logger(component);
  }

  // ================================================================ VirtualHost

  virtualPorts(vdpid: bigint): ReadonlyMap<number, Port> {
    return this.ledger.portView(vdpid) ?? virtualPortView(this.ctx(), vdpid, this.portsOf);
  }

  virtualFeatures(vdpid: bigint): { nTables: number; nBuffers: number; capabilities: number } {
    const vs = planIndex(this.plan).byVdpid.get(vdpid)!;
    const copies = (['old', 'new'] as const)
      .map((s) => this.below.datapath(vs[s].dpid))
      .filter((d): d is Datapath => d !== undefined);
    if (copies.length === 0) return { nTables: 0, nBuffers: 0, capabilities: 0 };
    return {
      nTables: Math.max(0, Math.min(...copies.map((d) => d.nTables)) - 1),
      nBuffers: Math.min(...copies.map((d) => d.nBuffers)),
      capabilities: copies[0]!.capabilities,
    };
  }

  isVirtualUp(vdpid: bigint): boolean {
    return this.vdps.get(vdpid)?.announced ?? false;
  }

  appSend(dp: VirtualDatapath, command: AppCommand): number {
    const xid = command.xid ?? dp.nextXid();
    const cmd = { ...command, xid } as AppCommand;
    if (this.packetOutNow(dp, cmd)) this.applyAppCommand(dp, cmd, xid);
    else this.gate.defer(() => this.applyAppCommand(dp, cmd, xid));
    return xid;
  }

  /**
   * May this app command go out now although a transition holds the gate? Only a packet-out without a buffer
   * while a host move's steps are in flight (egress group buckets change; the sides, ports and group ids a
   * packet-out names exist before, during and after), when nothing is queued before it (the app's order is
   * kept) and it translates the same against the states before and after the move. Held back instead, it
   * would wait for the move's barriers (100s of ms on a busy switch) and reach the moving host after its
   * link went down: a packet the app forwards itself would be lost although it was sent well before.
   */
  private packetOutNow(dp: VirtualDatapath, cmd: AppCommand): boolean {
    if (!this.moveTarget || !this.gate.closed || this.gate.waiting > 0) return false;
    if (cmd.type !== 'packetOut' || cmd.bufferId !== NO_BUFFER) return false;
    try {
      const before = translateAppCommand(this.ctx(), dp.id, cmd).physical;
      const after = translateAppCommand({ ...this.ctx(), state: this.moveTarget }, dp.id, cmd).physical;
      const text = (ms: readonly PhysicalMessage[]) =>
        JSON.stringify(ms, (k, v) => (k === 'data' ? undefined : typeof v === 'bigint' ? `${v}n` : v));
      return text(before) === text(after);
    } catch {
      return false;
    }
  }

  appRequest<R extends AppRequest>(
    dp: VirtualDatapath,
    req: R,
    opts?: { timeoutMs?: number },
  ): Promise<ReplyTo<R['type']>> {
    const xid = req.xid ?? dp.nextXid();
    return new Promise<ReplyTo<R['type']>>((resolve, reject) => {
      this.gate.defer(() => {
        this.answerRequest(dp, req, xid, opts).then((r) => resolve(r as ReplyTo<R['type']>), reject);
      });
    });
  }

  appBarrier(dp: VirtualDatapath, opts?: { timeoutMs?: number }): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.gate.defer(() => {
        const targets = barrierTargets(this.ctx(), dp.id)
          .map((d) => this.below.datapath(d))
          .filter((d): d is Datapath => d?.connected === true);
        if (targets.length === 0) {
          reject(new DatapathGoneError(`virtual switch ${dp.idText}: no physical copy connected`));
          return;
        }
        Promise.all(targets.map((d) => d.barrier(opts))).then(() => resolve(), reject);
      });
    });
  }

  // ================================================================ app -> physical

  private ctx(): ShimContext {
    return {
      plan: this.plan,
      state: this.state,
      ledger: this.ledger,
      now: this.now(),
      physicalPorts: this.portsOf,
    };
  }

  private readonly portsOf = (dpid: bigint): ReadonlyMap<number, Port> | undefined =>
    this.below.datapath(dpid)?.ports;

  private applyAppCommand(dp: VirtualDatapath, cmd: AppCommand, xid: number): void {
    let out: ReturnType<typeof translateAppCommand>;
    try {
      out = translateAppCommand(this.ctx(), dp.id, cmd);
    } catch (err) {
      if (err instanceof ShimCommandError) {
        this.log.debug({ dpid: dp.idText, xid, err: err.message }, 'app command refused by the shim');
        const msg: ErrorMsg = {
          type: 'error',
          xid,
          errorType: err.errorType,
          code: err.code,
          data: new Uint8Array(0),
        };
        this.bus.emit('error', { dp, msg, request: cmd as OfMessage });
        return;
      }
      throw err;
    }
    const sent: { dpid: bigint; xid: number }[] = [];
    for (const m of out.physical) {
      const x = this.sendPhysical(m, this.metrics.phases.app, false);
      if (x !== undefined) sent.push({ dpid: m.dpid, xid: x });
    }
    recordCommandXids(this.ledger, dp.id, xid, cmd, sent);
    this.deliver(out.app);
    this.ledgerChanged();
  }

  private async answerRequest(
    dp: VirtualDatapath,
    req: AppRequest,
    xid: number,
    opts?: { timeoutMs?: number },
  ): Promise<unknown> {
    switch (req.type) {
      case 'multipartRequest': {
        const ctx = this.ctx();
        const fan = statsFanout(ctx, dp.id, req.body);
        const replies: { dpid: bigint; body: MultipartReplyBody }[] = [];
        await Promise.all(
          fan.map(async (f) => {
            const p = this.below.datapath(f.dpid);
            if (!p?.connected) return;
            replies.push({ dpid: f.dpid, body: await p.stats(f.body, opts) });
          }),
        );
        if (fan.length > 0 && replies.length === 0)
          throw new DatapathGoneError(`virtual switch ${dp.idText}: no physical copy connected`);
        const body = mergeStats(this.ctx(), dp.id, req.body, replies, this.portsOf);
        this.ledgerChanged();
        return { type: 'multipartReply', xid, flags: 0, body };
      }
      case 'featuresRequest': {
        const f = this.virtualFeatures(dp.id);
        return {
          type: 'featuresReply',
          xid,
          datapathId: dp.id,
          nBuffers: f.nBuffers,
          nTables: f.nTables,
          auxiliaryId: 0,
          capabilities: f.capabilities,
          reserved: 0,
        };
      }
      case 'echoRequest':
        return { type: 'echoReply', xid, data: req.data };
      default: {
        const primary = this.primaryCopy(dp.id);
        if (!primary) throw new DatapathGoneError(`virtual switch ${dp.idText}: no physical copy connected`);
        const reply = (await primary.request(req, opts)) as { xid: number };
        return { ...reply, xid };
      }
    }
  }

  /** The connected physical copy that carries the app's pipeline first. */
  private primaryCopy(vdpid: bigint): Datapath | undefined {
    const vs = planIndex(this.plan).byVdpid.get(vdpid)!;
    for (const side of appSides(this.state)) {
      const d = this.below.datapath(vs[side].dpid);
      if (d?.connected) return d;
    }
    return undefined;
  }

  /** Send one physical message; counts it; returns the xid (undefined if the switch is not connected). */
  private sendPhysical(m: PhysicalMessage, figures: PhaseFigures, must: boolean): number | undefined {
    const dp = this.below.datapath(m.dpid);
    if (!dp?.connected) {
      if (must) throw new DatapathGoneError(`switch ${this.switchName(m.dpid)} is not connected`);
      return undefined;
    }
    const xid = dp.send(m.msg);
    if (m.msg.type === 'flowMod') figures.flowMods++;
    else if (m.msg.type === 'groupMod') figures.groupMods++;
    else figures.otherMessages++;
    this.watch?.keys.add(`${m.dpid}/${xid}`);
    return xid;
  }

  private deliver(notices: readonly AppNotice[]): void {
    for (const n of notices) {
      const dp = this.vdps.get(n.vdpid);
      if (!dp?.announced) continue;
      if (n.kind === 'flowRemoved') this.bus.emit('flowRemoved', { dp, msg: n.msg });
      else this.bus.emit('portStatus', { dp, msg: n.msg });
    }
  }

  // ================================================================ physical -> app

  private subscribeBelow(): void {
    this.offs.push(
      this.below.on('switchUp', ({ dp }) => this.onSwitchUp(dp)),
      this.below.on('switchDown', ({ dp, reason }) => this.onSwitchDown(dp, reason)),
      this.below.on('packetIn', ({ dp, msg }) => {
        const r = translatePacketIn(this.ctx(), dp.id, msg);
        if (r.kind === 'packetIn') {
          const v = this.vdps.get(r.vdpid);
          if (v?.announced) this.bus.emit('packetIn', { dp: v, msg: r.msg, inPort: r.inPort });
        } else if (r.kind === 'arrival') {
          this.log.info({ host: r.host, side: r.side }, 'host seen at its new location');
          this.arrivals.arrived(r.host, r.side, this.now());
        }
      }),
      this.below.on('flowRemoved', ({ dp, msg }) => this.gate.defer(() => this.onFlowRemoved(dp.id, msg))),
      this.below.on('portStatus', ({ dp, msg }) => this.gate.defer(() => this.onPortStatus(dp.id, msg))),
      this.below.on('error', (ev) => this.onError(ev)),
    );
  }

  private inPlan(dpid: bigint): boolean {
    return dpid === this.plan.tunnelSwitch.dpid || planIndex(this.plan).byPhysical.has(dpid);
  }

  /** "s1/old", "s1/new", "T" or the dpid. */
  switchName(dpid: bigint): string {
    if (dpid === this.plan.tunnelSwitch.dpid) return 'T';
    const c = planIndex(this.plan).byPhysical.get(dpid);
    return c ? `${c.vs.name}/${c.side}` : formatDpid(dpid);
  }

  private onSwitchUp(dp: Datapath): void {
    if (!this.inPlan(dp.id)) {
      if (!this.unknownDpids.has(dp.id)) {
        this.unknownDpids.add(dp.id);
        this.log.warn({ dpid: dp.idText }, 'a switch that is not in the migration plan connected: ignored');
      }
      return;
    }
    const t = this.lostTimers.get(dp.id);
    if (t) {
      clearTimeout(t);
      this.lostTimers.delete(dp.id);
    }
    this.reconciled.delete(dp.id);
    void this.gate
      .exclusive(() => this.reconcile(dp.id))
      .then(
        () => {
          this.refreshVirtual();
          this.maybeStartPending();
        },
        (err: unknown) => this.recordError(`reconciling ${this.switchName(dp.id)}: ${errText(err)}`),
      );
  }

  private onSwitchDown(dp: Datapath, reason: string): void {
    if (!this.inPlan(dp.id)) return;
    this.reconciled.delete(dp.id);
    this.log.info({ switch: this.switchName(dp.id), reason }, 'physical switch down');
    this.refreshVirtual(reason);
    // Flows survive a controller disconnect (fail_mode secure): only a switch that stays away long has its
    // copies written off.
    if (!this.lostTimers.has(dp.id)) {
      const timer = setTimeout(() => {
        this.lostTimers.delete(dp.id);
        if (this.below.datapath(dp.id)?.connected) return;
        this.gate.defer(() => {
          const out = copiesLost(this.ctx(), dp.id);
          for (const m of out.physical) this.sendPhysical(m, this.metrics.phases.app, false);
          this.deliver(out.app);
          this.ledgerChanged();
        });
      }, this.lostAfterMs);
      timer.unref();
      this.lostTimers.set(dp.id, timer);
    }
  }

  private onFlowRemoved(dpid: bigint, msg: FlowRemoved): void {
    if (!this.inPlan(dpid)) return;
    const out = translateFlowRemoved(this.ctx(), dpid, msg);
    for (const m of out.physical) this.sendPhysical(m, this.metrics.phases.app, false);
    this.deliver(out.app);
    this.ledgerChanged();
  }

  private onPortStatus(dpid: bigint, msg: PortStatus): void {
    if (!this.inPlan(dpid)) return;
    const c = planIndex(this.plan).byPhysical.get(dpid);
    if (c && msg.reason === PortReason.ADD) this.portAttached(dpid, msg.port.portNo);
    if (c && !this.vdps.get(c.vs.dpid)?.announced) return; // the view is taken when it comes up
    this.deliver(translatePortStatus(this.ctx(), dpid, this.portsOf));
  }

  /**
   * A port was attached to a copy (a host arriving): read its counters at once, as the baseline of its new
   * series (an interface that existed before, e.g. a veth moved between bridges, brings its old counters).
   */
  private portAttached(dpid: bigint, portNo: number): void {
    portAttached(this.ctx(), dpid, portNo);
    const dp = this.below.datapath(dpid);
    if (!dp?.connected) return;
    dp.stats({ kind: 'portStats', portNo }, { timeoutMs: this.requestTimeoutMs }).then(
      (body) => {
        if (body.kind === 'portStats') this.gate.defer(() => observePortStats(this.ctx(), dpid, body.stats));
      },
      (err: unknown) =>
        this.log.debug({ dpid: formatDpid(dpid), portNo, err: errText(err) }, 'port baseline'),
    );
  }

  private onError(ev: ErrorEvent): void {
    const dpid = ev.dp.id;
    if (!this.inPlan(dpid)) return;
    // A refused app ADD leaves the virtual table as the switch left its own (after the app hears of it).
    const msg = ev.msg;
    this.gate.defer(() => {
      const out = revokeRefusedRule(this.ctx(), dpid, msg);
      for (const m of out.physical) this.sendPhysical(m, this.metrics.phases.app, false);
      this.ledgerChanged();
    });
    const e = translateError(this.ctx(), dpid, ev.msg);
    if (e) {
      const dp = this.vdps.get(e.vdpid);
      if (dp?.announced) {
        const appEv: ErrorEvent = { dp, msg: e.msg as ErrorMsg | ErrorExperimenterMsg };
        if (e.request) appEv.request = e.request as OfMessage;
        this.bus.emit('error', appEv);
      }
      return;
    }
    const what =
      ev.msg.type === 'error' ? `error type ${ev.msg.errorType} code ${ev.msg.code}` : 'experimenter error';
    const text = `${this.switchName(dpid)} refused ${ev.request?.type ?? 'a message'} (xid ${ev.msg.xid}): ${what}`;
    if (this.watch?.keys.has(`${dpid}/${ev.msg.xid}`)) this.watch.errors.push(text);
    else this.log.warn({ switch: this.switchName(dpid), xid: ev.msg.xid, request: ev.request?.type }, text);
  }

  /** Announce virtual switches that came up (a copy carrying the app pipeline is reconciled) or went down. */
  private refreshVirtual(reason = 'no physical copy connected'): void {
    const sides = appSides(this.state);
    for (const vs of this.plan.switches) {
      const dp = this.vdps.get(vs.dpid)!;
      const up = sides.some(
        (s) => this.reconciled.has(vs[s].dpid) && this.below.datapath(vs[s].dpid)?.connected,
      );
      if (up && !dp.announced) {
        const notices = updatePortView(this.ctx(), vs.dpid, this.portsOf);
        dp.announced = true;
        this.log.info({ vdpid: dp.idText, name: vs.name }, 'virtual switch up');
        this.bus.emit('switchUp', { dp });
        this.deliver(notices);
      } else if (!up && dp.announced) {
        dp.announced = false;
        this.log.info({ vdpid: dp.idText, name: vs.name, reason }, 'virtual switch down');
        this.bus.emit('switchDown', { dp, reason });
      }
    }
  }

  // ================================================================ applying steps

  /**
   * Send the steps in order, with barriers between them; fails on a switch's error or a lost switch. A step
   * that removes something after earlier steps re-steered traffic first waits `drain` ms (packets in flight
   * on the old paths arrive before their rules go).
   */
  private async applySteps(steps: readonly Step[], figures: PhaseFigures, drain = 0): Promise<number> {
    let n = 0;
    const watch = { keys: new Set<string>(), errors: [] as string[] };
    this.watch = watch;
    try {
      for (const [i, step] of steps.entries()) {
        if (drain > 0 && i > 0 && step.messages.some(removes)) await sleep(drain);
        for (const m of step.messages) {
          this.sendPhysical(m, figures, true);
          n++;
        }
        await Promise.all(
          step.barrierOn.map((dpid) => {
            const dp = this.below.datapath(dpid);
            if (!dp?.connected)
              throw new DatapathGoneError(`switch ${this.switchName(dpid)} is not connected`);
            figures.barriers++;
            return dp.barrier({ timeoutMs: this.requestTimeoutMs });
          }),
        );
        if (watch.errors.length > 0)
          throw new Error(`step "${step.label}": ${watch.errors.slice(0, 3).join('; ')}`);
      }
    } finally {
      if (this.watch === watch) this.watch = undefined;
    }
    return n;
  }

  private async reconcile(dpid: bigint): Promise<void> {
    const dp = this.below.datapath(dpid);
    if (!dp?.connected) return;
    const t0 = this.now();
    const [flows, groups] = await Promise.all([
      dp.stats(DUMP_ALL_FLOWS, { timeoutMs: this.requestTimeoutMs }),
      dp.stats(DUMP_ALL_GROUPS, { timeoutMs: this.requestTimeoutMs }),
    ]);
    if (flows.kind !== 'flow' || groups.kind !== 'groupDesc') throw new Error('unexpected dump reply');
    const now = this.now();
    const target = targetState(this.plan, this.ledger, this.state, now).get(dpid) ?? emptySwitchState();
    const r = planReconcile(this.ledger, dpid, flows.stats, groups.groups, target);
    for (const o of r.observed) this.ledger.observeCopyCounters(o.copy, o.counters);
    for (const l of r.lost) {
      if (l.rule === 'drop') this.ledger.dropCopy(l.copy);
      else {
        const out = translateFlowRemoved(this.ctx(), dpid, lostCopyRemoved(l.copy));
        this.deliver(out.app);
      }
    }
    // Copies already on the switch that the ledger lost track of (saved before they were installed).
    for (const rule of r.adopted) this.ledger.recordPhysical(dpid, addFlow(rule), now);
    for (const s of r.steps) for (const m of s.messages) this.ledger.recordPhysical(m.dpid, m.msg, now);
    const figures = this.metrics.phases.reconcile;
    const n = await this.applySteps(r.steps, figures);
    figures.ms += this.now() - t0;
    this.reconciled.add(dpid);
    this.noteRules(targetState(this.plan, this.ledger, this.state, this.now()));
    this.log.info(
      {
        switch: this.switchName(dpid),
        flows: flows.stats.length,
        groups: groups.groups.length,
        sent: n,
        steps: r.steps.map((s) => `${s.label} (${s.messages.length})`),
        ms: this.now() - t0,
      },
      n === 0 ? 'switch reconciled: already as it should be' : 'switch reconciled',
    );
    this.ledgerChanged();
  }

  // ================================================================ transitions

  private requireSwitches(): void {
    const all = [
      this.plan.tunnelSwitch.dpid,
      ...this.plan.switches.flatMap((vs) => [vs.old.dpid, vs.new.dpid]),
    ];
    const missing = all.filter((d) => !this.below.datapath(d)?.connected || !this.reconciled.has(d));
    if (missing.length > 0)
      throw new ConflictError(
        `switches not connected (or not yet reconciled): ${missing
          .map((d) => `${this.switchName(d)} (${formatDpid(d)})`)
          .join(', ')}`,
      );
  }

  private policyCtx(): PolicyContext {
    return {
      plan: this.plan,
      ledger: this.ledger,
      state: this.state,
      now: this.now(),
      physicalPorts: this.portsOf,
    };
  }

  private computeTransition(kind: TransitionKind, host?: string): Transition {
    const ctx = this.policyCtx();
    switch (kind) {
      case 'prepare':
        return this.policy.prepare(ctx);
      case 'startMove':
        return this.policy.startMove(ctx, host!);
      case 'hostArrived':
        return this.policy.hostArrived(ctx, host!);
      case 'cancelMove':
        return this.policy.cancelMove(ctx, host!);
      case 'finalize':
        return this.policy.finalize(ctx);
      case 'abort':
        return this.policy.abort(ctx);
    }
  }

  /**
   * One transition: computed from the current state, journalled as an intent, sent step by step with
   * barriers, then committed (state, ledger, figures) in one journal transaction. A transition that fails
   * half way is still committed (rolled forward): the switches are reconciled to the new target when they
   * come back, exactly as after a crash.
   */
  private transition(kind: TransitionKind, host?: string): Promise<Transition> {
    return this.gate.exclusive(async () => {
      this.requireSwitches();
      const t0 = this.now();
      const before = targetState(this.plan, this.ledger, this.state, t0);
      const t = this.computeTransition(kind, host);
      const after = targetState(this.plan, this.ledger, t.to, t0);
      const messages = t.steps.reduce((n, s) => n + s.messages.length, 0);
      const intent: Parameters<Journal['intent']>[2] = {
        from: t.from,
        to: t.to,
        detail: { messages, steps: t.steps.map((s) => `${s.label} (${s.messages.length})`) },
      };
      if (host !== undefined) intent.host = host;
      const rec = this.journal.intent(this.migration.id, kind, intent);
      this.emit(stepEvent(kind, host, 'start', this.now()));
      const figures = this.metrics.phases[phaseOfTransition(kind)];
      let error: unknown;
      const move = kind === 'startMove' || kind === 'hostArrived' || kind === 'cancelMove';
      if (move) this.moveTarget = t.to;
      try {
        await this.applySteps(t.steps, figures, this.drainMs);
      } catch (err) {
        error = err;
      } finally {
        if (move) this.moveTarget = undefined;
      }
      this.state = t.to;
      this.noteRules(before, after);
      if (kind === 'prepare') this.metrics.preparedAt = this.now();
      if (kind === 'finalize') this.metrics.finalizedAt = this.now();
      const ms = this.now() - t0;
      this.journal.done(rec.id, {
        state: t.to,
        ledger: this.ledger.toJSON(),
        metrics: this.metrics as unknown as Record<string, unknown>,
        detail: error ? { ms, error: errText(error) } : { ms },
      });
      this.refreshVirtual();
      if (kind === 'hostArrived' || kind === 'cancelMove') {
        const vs = planIndex(this.plan).byName.get(planIndex(this.plan).host.get(host!)!.switch)!;
        this.deliver(updatePortView(this.ctx(), vs.dpid, this.portsOf));
      }
      const ev = stepEvent(kind, host, error ? 'failed' : 'done', this.now());
      ev.messages = messages;
      ev.ms = ms;
      if (error) ev.error = errText(error);
      this.emit(ev);
      this.emitRules();
      if (error) {
        this.recordError(`${kind}${host ? ` ${host}` : ''}: ${errText(error)}`);
        throw error;
      }
      this.log.info({ transition: kind, host, messages, ms }, 'transition applied');
      return t;
    });
  }

  // ================================================================ host moves

  private moveRequest(host: string, from: Side, to: Side, blackoutMs: number) {
    const ix = planIndex(this.plan);
    const h = ix.host.get(host)!;
    const vs = ix.byName.get(h.switch)!;
    return { host: h, from, to, blackoutMs, fromDpid: vs[from].dpid, toDpid: vs[to].dpid };
  }

  private async locate(host: string): Promise<Side | undefined> {
    if (!this.mover.locate) return undefined;
    try {
      return await this.mover.locate(host);
    } catch (err) {
      this.log.warn({ host, err: errText(err) }, 'mover could not locate the host');
      return undefined;
    }
  }

  /** Run the mover for a host that is moving (state toNew/toOld), journalled; then settle its location. */
  private async runMover(host: string, to: Side, blackoutMs: number): Promise<void> {
    const from: Side = to === 'new' ? 'old' : 'new';
    const rec = this.journal.intent(this.migration.id, 'move', { host, detail: { to, blackoutMs } });
    const startedAt = this.now();
    this.lastMove.set(host, { to, startedAt });
    this.emit(stepEvent('move', host, 'start', startedAt));
    this.arrivals.reset(host);
    let times: MoveTimes;
    try {
      times = await this.mover.move(this.moveRequest(host, from, to, blackoutMs));
    } catch (err) {
      const message = errText(err);
      this.journal.failed(rec.id, message);
      this.lastMove.set(host, { to, startedAt, error: message });
      const ev = stepEvent('move', host, 'failed', this.now());
      ev.error = message;
      this.emit(ev);
      // Where did the host end up? Settle the state when the mover can tell; else it stays "moving"
      // (delivered at both places) until the operator retries or aborts.
      const where = await this.locate(host);
      if (where === from) await this.transition('cancelMove', host);
      else if (where === to) await this.transition('hostArrived', host);
      throw err;
    }
    const detail: Record<string, unknown> = { ...times };
    delete detail.output;
    this.journal.done(rec.id, { detail });
    const lm: NonNullable<HostStatus['lastMove']> = { to, startedAt: times.startedAt, doneAt: times.doneAt };
    if (times.blackoutStart !== undefined) lm.blackoutStart = times.blackoutStart;
    if (times.blackoutEnd !== undefined) lm.blackoutEnd = times.blackoutEnd;
    this.lastMove.set(host, lm);
    const ev = stepEvent('move', host, 'done', this.now());
    ev.ms = times.doneAt - times.startedAt;
    this.emit(ev);
  }

  /** Bring one host to `to`, whatever its state (stable, moving either way), make-before-break. */
  private async moveOne(
    host: string,
    to: Side,
    blackoutMs: number,
    index: number,
    total: number,
  ): Promise<void> {
    const loc = this.state.hosts[host]!;
    if (loc === to) return;
    this.emit({ type: 'host', host, index, total, state: 'moving', to, at: this.now() });
    try {
      const dest = moveDestination(loc);
      if (dest !== undefined && dest !== to) {
        // Moving the other way: settle it first.
        const where = await this.locate(host);
        if (where === dest) await this.transition('hostArrived', host);
        else await this.transition('cancelMove', host);
        if (this.state.hosts[host] === to) {
          this.emit({ type: 'host', host, index, total, state: 'moved', to, at: this.now() });
          return;
        }
      }
      if (this.state.hosts[host] === 'old' || this.state.hosts[host] === 'new')
        await this.transition('startMove', host);
      // Continuing an interrupted move: the mover may already have done its part.
      const where = dest === to ? await this.locate(host) : undefined;
      if (where !== to) await this.runMover(host, to, blackoutMs);
      await this.transition('hostArrived', host);
      this.emit({ type: 'host', host, index, total, state: 'moved', to, at: this.now() });
    } catch (err) {
      this.emit({
        type: 'host',
        host,
        index,
        total,
        state: 'failed',
        to,
        at: this.now(),
        error: errText(err),
      });
      throw err;
    }
  }

  private async moveMany(d: HostsOpDetail): Promise<void> {
    const blackout = d.blackoutMs ?? this.plan.blackoutMs;
    const todo = d.hosts.filter((h) => this.state.hosts[h.name] !== h.to);
    let i = 0;
    for (const h of todo) await this.moveOne(h.name, h.to, blackout, ++i, todo.length);
  }

  // ================================================================ operations (MigrationDriver)

  /** Run one console operation at a time: journalled, timed, with progress events. */
  private async operation(
    name: string,
    detail: Record<string, unknown>,
    fn: () => Promise<void>,
  ): Promise<MigrationStatus> {
    if (this.stopped) throw new ConflictError('the controller is stopping');
    if (this.busy) throw new ConflictError(`busy: ${this.busy} is in progress`);
    if (this.pendingStart)
      throw new ConflictError(
        'the journal holds an interrupted migration step: it resumes (or aborts) once every switch of the plan is connected',
      );
    this.busy = name;
    const rec = this.journal.intent(this.migration.id, `op:${name}`, { detail });
    return this.runOperation(name, rec, fn);
  }

  private async runOperation(
    name: string,
    rec: StepRecord,
    fn: () => Promise<void>,
  ): Promise<MigrationStatus> {
    const t0 = this.now();
    const phaseBefore = this.consolePhase();
    this.emit({ type: 'operation', op: name, status: 'start', at: t0 });
    const figureName: PhaseName | undefined =
      name === 'prepare' || name === 'finalize' || name === 'abort'
        ? name
        : name === 'hosts'
          ? 'moves'
          : undefined;
    try {
      await fn();
      if (figureName) this.metrics.phases[figureName].ms += this.now() - t0;
      this.journal.done(rec.id, { metrics: this.metrics as unknown as Record<string, unknown> });
      this.emit({ type: 'operation', op: name, status: 'done', at: this.now() });
      return this.status();
    } catch (err) {
      if (figureName) this.metrics.phases[figureName].ms += this.now() - t0;
      this.journal.failed(rec.id, errText(err));
      this.journal.setMetrics(this.migration.id, this.metrics as unknown as Record<string, unknown>);
      if (
        !(
          err instanceof MigrationStateError ||
          err instanceof ConflictError ||
          err instanceof BadRequestError
        )
      )
        this.recordError(`${name}: ${errText(err)}`);
      this.emit({ type: 'operation', op: name, status: 'failed', at: this.now(), error: errText(err) });
      throw err;
    } finally {
      this.busy = undefined;
      const phase = this.consolePhase();
      if (phase !== phaseBefore) this.emit({ type: 'phase', phase, at: this.now() });
    }
  }

  prepare(): Promise<MigrationStatus> {
    return this.operation('prepare', {}, async () => {
      await this.transition('prepare');
    });
  }

  moveHosts(hosts: string[], opts: MoveHostsOptions = {}): Promise<MigrationStatus> {
    const ix = planIndex(this.plan);
    const unknown = hosts.filter((h) => !ix.host.has(h));
    if (unknown.length > 0)
      return Promise.reject(
        new BadRequestError(
          `no host ${unknown.join(', ')} in the plan (hosts: ${[...ix.host.keys()].join(', ')})`,
        ),
      );
    if (new Set(hosts).size !== hosts.length)
      return Promise.reject(new BadRequestError('a host is named twice'));
    if (this.state.phase !== 'prepared')
      return Promise.reject(
        new MigrationStateError(
          `move hosts: the migration is ${this.state.phase}, not prepared (vnm migrate prepare)`,
        ),
      );
    const detail: HostsOpDetail = {
      hosts: hosts.map((name) => {
        const loc = this.state.hosts[name]!;
        const to: Side = moveDestination(loc) ?? (loc === 'old' ? 'new' : 'old');
        return { name, to };
      }),
    };
    if (opts.blackoutMs !== undefined) detail.blackoutMs = opts.blackoutMs;
    return this.operation('hosts', detail as unknown as Record<string, unknown>, () => this.moveMany(detail));
  }

  finalize(): Promise<MigrationStatus> {
    return this.operation('finalize', {}, async () => {
      await this.transition('finalize');
    });
  }

  abort(): Promise<MigrationStatus> {
    return this.operation('abort', {}, () => this.abortNow());
  }

  private async abortNow(): Promise<void> {
    if (this.state.phase === 'finalized')
      throw new MigrationStateError('abort: the migration is finalized (the old network was cleared)');
    if (this.state.phase === 'idle') return;
    const back = Object.entries(this.state.hosts)
      .filter(([, loc]) => loc !== 'old')
      .map(([h]) => h);
    let i = 0;
    for (const h of back) await this.moveOne(h, 'old', this.plan.blackoutMs, ++i, back.length);
    await this.transition('abort');
  }

  subscribe(listener: (e: ProgressEvent) => void): () => void {
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
    };
  }

  private emit(e: ProgressEvent): void {
    for (const l of this.listeners) {
      try {
        l(e);
      } catch (err) {
        this.log.warn({ err: errText(err) }, 'progress listener failed');
      }
    }
  }

  // ================================================================ restart: resume or abort

  /** Called once at start-up: roll interrupted transitions forward, plan the resumption of operations. */
  private recover(mode: StartMode): void {
    const pending = this.journal.pending(this.migration.id);
    let op: StepRecord | undefined;
    for (const s of pending) {
      if (s.kind.startsWith('op:')) {
        op = s;
        continue;
      }
      if (s.kind === 'move' || s.kind === 'reconcile') {
        this.journal.failed(s.id, 'interrupted (controller restarted)');
        continue;
      }
      // An interrupted transition: its target becomes the state; every switch is reconciled to it.
      if (s.to) {
        this.state = s.to;
        this.journal.done(s.id, { state: s.to, detail: { recovered: true } });
        this.log.warn({ step: s.kind, host: s.host }, 'interrupted transition rolled forward');
      } else this.journal.failed(s.id, 'interrupted (controller restarted)');
    }
    if (mode === 'abort') {
      if (op) this.journal.failed(op.id, 'abandoned: the controller was restarted with --abort-on-start');
      this.pendingStart = async () => {
        if (this.state.phase === 'idle' || this.state.phase === 'finalized') return;
        this.log.warn('aborting the unfinished migration (--abort-on-start)');
        await this.abort();
      };
      return;
    }
    if (!op) return;
    const name = op.kind.slice(3);
    const rec = op;
    this.log.warn({ operation: name, detail: op.detail }, 'an operation was interrupted: resuming it');
    this.pendingStart = async () => {
      if (this.busy) return;
      this.busy = `${name} (resumed)`;
      await this.runOperation(name, rec, async () => {
        if (name === 'prepare') {
          if (this.state.phase === 'idle') await this.transition('prepare');
        } else if (name === 'finalize') {
          if (this.state.phase === 'prepared') await this.transition('finalize');
        } else if (name === 'abort') await this.abortNow();
        else if (name === 'hosts') await this.moveMany(rec.detail as unknown as HostsOpDetail);
      });
    };
    if (this.state.phase === 'idle' && name !== 'prepare') this.pendingStart = undefined;
  }

  private allConnected(): boolean {
    return [
      this.plan.tunnelSwitch.dpid,
      ...this.plan.switches.flatMap((vs) => [vs.old.dpid, vs.new.dpid]),
    ].every((d) => this.reconciled.has(d) && this.below.datapath(d)?.connected);
  }

  private maybeStartPending(): void {
    if (!this.pendingStart || !this.allConnected()) return;
    const run = this.pendingStart;
    this.pendingStart = undefined;
    setImmediate(() => {
      run().catch((err: unknown) => this.recordError(`resuming after a restart: ${errText(err)}`));
    });
  }

  /** True while work found in the journal at start-up waits for every switch to connect. */
  get resumePending(): boolean {
    return this.pendingStart !== undefined;
  }

  // ================================================================ status and figures

  private consolePhase(): ConsolePhase {
    if (this.state.phase === 'idle') return 'idle';
    if (this.state.phase === 'finalized') return 'finalized';
    return Object.values(this.state.hosts).every((l) => l === 'old') ? 'prepared' : 'migrating';
  }

  private noteRules(...states: NetworkState[]): void {
    // Install before remove: during a transition a switch holds the union of both states' rules.
    const union = new Map<bigint, Set<string>>();
    for (const s of states) {
      for (const [dpid, sw] of s) {
        const u = union.get(dpid) ?? new Set<string>();
        for (const k of sw.rules.keys()) u.add(k);
        union.set(dpid, u);
      }
    }
    for (const [dpid, keys] of union) {
      const name = this.switchName(dpid);
      this.metrics.maxRules[name] = Math.max(this.metrics.maxRules[name] ?? 0, keys.size);
    }
  }

  private emitRules(): void {
    if (this.listeners.size === 0) return;
    const counts = ruleCounts(targetState(this.plan, this.ledger, this.state, this.now()));
    let installed = 0;
    for (const c of counts.values()) installed += c.rules;
    this.emit({
      type: 'rules',
      installed,
      maxPerSwitch: Math.max(0, ...Object.values(this.metrics.maxRules)),
      at: this.now(),
    });
  }

  private recordError(message: string): void {
    this.log.error(message);
    this.errors.push({ at: this.now(), message });
    if (this.errors.length > 50) this.errors.shift();
    this.emit({ type: 'log', level: 'error', message, at: this.now() });
  }

  status(): MigrationStatus {
    const now = this.now();
    const target = targetState(this.plan, this.ledger, this.state, now);
    this.noteRules(target);
    const counts = ruleCounts(target);
    const hosts: HostStatus[] = this.plan.hosts.map((h) => {
      const s: HostStatus = {
        name: h.name,
        switch: h.switch,
        port: h.port,
        location: this.state.hosts[h.name]!,
      };
      const m = this.lastMove.get(h.name);
      if (m) s.lastMove = m;
      return s;
    });
    const sw = (dpid: bigint, role: 'old' | 'new' | 'tunnel') => {
      const c = counts.get(dpid) ?? { rules: 0, appRules: 0, groups: 0 };
      const name = this.switchName(dpid);
      return {
        name,
        role,
        dpid: formatDpid(dpid),
        connected: this.below.datapath(dpid)?.connected ?? false,
        rules: c.rules,
        appRules: c.appRules,
        groups: c.groups,
        maxRules: this.metrics.maxRules[name] ?? c.rules,
      };
    };
    const switches = [
      ...this.plan.switches.flatMap((vs) => [sw(vs.old.dpid, 'old'), sw(vs.new.dpid, 'new')]),
      sw(this.plan.tunnelSwitch.dpid, 'tunnel'),
    ];
    const steps: StepStatus[] = this.journal.steps(this.migration.id, 30).map((s) => {
      const out: StepStatus = { id: s.id, kind: s.kind, status: s.status, startedAt: s.intentAt };
      if (s.host) out.host = s.host;
      if (s.doneAt !== undefined) out.doneAt = s.doneAt;
      if (typeof s.detail.messages === 'number') out.messages = s.detail.messages;
      if (s.error) out.error = s.error;
      else if (typeof s.detail.error === 'string') out.error = s.detail.error;
      return out;
    });
    const since = this.metrics.preparedAt ?? this.startedAt;
    const until = this.state.phase === 'finalized' ? (this.metrics.finalizedAt ?? now) : now;
    const st: MigrationStatus = {
      runDir: this.runDir,
      journal: this.journal.path,
      plan: { hash: this.migration.planHash },
      algorithm: this.state.algorithm,
      phase: this.consolePhase(),
      startedAt: this.startedAt,
      elapsedMs: Math.max(0, until - since),
      hosts,
      steps,
      switches,
      phases: Object.fromEntries(Object.entries(this.metrics.phases).map(([k, v]) => [k, { ...v }])),
      errors: [...this.errors],
    };
    if (this.planFile) st.plan.file = this.planFile;
    if (this.busy) st.busy = this.busy;
    else if (this.pendingStart) st.busy = 'waiting for every switch to connect before resuming';
    if (this.metrics.preparedAt !== undefined) st.preparedAt = this.metrics.preparedAt;
    return st;
  }

  /** The figures (flow-mods and time per phase, max rules per switch), e.g. for reports. */
  figures(): { phases: Record<string, PhaseFigures>; maxRules: Record<string, number> } {
    return {
      phases: structuredClone(this.metrics.phases) as Record<string, PhaseFigures>,
      maxRules: { ...this.metrics.maxRules },
    };
  }

  // ================================================================ ledger persistence

  private ledgerChanged(): void {
    if (this.saveTimer || this.stopped) return;
    this.saveTimer = setTimeout(() => {
      this.saveTimer = undefined;
      if (this.stopped) return;
      try {
        this.journal.saveLedger(this.migration.id, this.ledger.toJSON());
      } catch (err) {
        this.log.warn({ err: errText(err) }, 'could not save the ledger');
      }
    }, this.ledgerSaveMs);
    this.saveTimer.unref();
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Does a message take something away (a rule or a group)? */
function removes(m: PhysicalMessage): boolean {
  if (m.msg.type === 'flowMod')
    return m.msg.command === FlowModCommand.DELETE || m.msg.command === FlowModCommand.DELETE_STRICT;
  return m.msg.type === 'groupMod' && m.msg.command === GroupModCommand.DELETE;
}

function stepEvent(
  kind: string,
  host: string | undefined,
  status: 'start' | 'done' | 'failed',
  at: number,
): Extract<ProgressEvent, { type: 'step' }> {
  const e: Extract<ProgressEvent, { type: 'step' }> = { type: 'step', kind, status, at };
  if (host !== undefined) e.host = host;
  return e;
}

function moveOfStep(s: StepRecord): NonNullable<HostStatus['lastMove']> {
  const d = s.detail as Partial<MoveTimes> & { to?: Side };
  const m: NonNullable<HostStatus['lastMove']> = {
    to: d.to ?? 'new',
    startedAt: d.startedAt ?? s.intentAt,
  };
  if (d.blackoutStart !== undefined) m.blackoutStart = d.blackoutStart;
  if (d.blackoutEnd !== undefined) m.blackoutEnd = d.blackoutEnd;
  if (s.status === 'done') m.doneAt = d.doneAt ?? s.doneAt;
  if (s.status === 'failed' && s.error) m.error = s.error;
  return m;
}
