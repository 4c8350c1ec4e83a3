// The migration console driving a real ShimController over an in-memory physical network (the shim's
// fake OpenFlow switches): an app's rules go through the shim, then prepare, host moves and finalize via
// the console client, with every host reaching every other after each phase; the old network and the
// tunnel switch end clean; a controller "crash" in the middle of the host moves is resumed from the journal
// by a new controller and ends in the same state as a clean run; a reconnecting switch is repaired.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import type {
  AppCommand,
  AppRequest,
  ControllerApi,
  ControllerEventName,
  Datapath,
  Listener,
  ReplyTo,
} from '../../../src/api/types.ts';
import type { MultipartReplyBody, MultipartRequestBody, Port } from '../../../src/openflow/types.ts';
import { EventBus } from '../../../src/runtime/events.ts';
import { ConsoleClient } from '../../../src/shim/console.ts';
import { ShimController } from '../../../src/shim/controller/index.ts';
import type { Algorithm, Side } from '../../../src/shim/model.ts';
import type { HostMover, MoveRequest } from '../../../src/shim/movers.ts';
import { type MigrationPlan, parsePlan, physicalPort, planIndex } from '../../../src/shim/plan.ts';
import { logger } from '../../../src/util/log.ts';
import type { FakeNetwork } from './fake-network.ts';
import { appCommands, BROADCAST, buildNetwork, DIAMOND, planText } from './harness.ts';

const log = logger('test');
log.level = 'silent';

const dirs: string[] = [];
function tmp(): string {
  const d = mkdtempSync(join(tmpdir(), 'vnm-shimctl-'));
  dirs.push(d);
  return d;
}
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function portDesc(portNo: number): Port {
  return {
    portNo,
    hwAddr: `02:aa:00:00:00:${(portNo & 0xff).toString(16).padStart(2, '0')}`,
    name: `p${portNo}`,
    config: 0,
    state: 4,
    curr: 0,
    advertised: 0,
    supported: 0,
    peer: 0,
    currSpeed: 0,
    maxSpeed: 0,
  };
}

/** A physical switch of the fake network, as the runtime would show it. */
class FakeDp implements Datapath {
  readonly idText: string;
  readonly ports = new Map<number, Port>();
  readonly nTables = 254;
  readonly nBuffers = 0;
  readonly capabilities = 0;
  connected = true;
  private xid = 0;
  sent = 0;

  constructor(
    readonly id: bigint,
    private readonly below: FakeBelow,
    ports: number[],
  ) {
    this.idText = `0x${id.toString(16).padStart(16, '0')}`;
    for (const p of ports) this.ports.set(p, portDesc(p));
  }

  send(command: AppCommand): number {
    if (!this.connected) throw new Error('switch gone');
    const xid = command.xid ?? ++this.xid;
    this.sent++;
    const net = this.below.net;
    if (command.type === 'packetOut') net.packetOut(this.id, command);
    else if (command.type === 'flowMod' || command.type === 'groupMod' || command.type === 'portMod')
      net.apply(this.id, command);
    // Flow-removed messages the switch owes go back up, as a switch would send them.
    const sw = net.sw(this.id);
    while (sw.flowRemoved.length > 0) {
      const msg = sw.flowRemoved.shift()!;
      queueMicrotask(() => this.below.bus.emit('flowRemoved', { dp: this, msg }));
    }
    return xid;
  }
  async request<R extends AppRequest>(req: R): Promise<ReplyTo<R['type']>> {
    if (req.type !== 'multipartRequest') throw new Error(`fake: ${req.type}`);
    return { type: 'multipartReply', xid: 0, flags: 0, body: await this.stats(req.body) } as ReplyTo<
      R['type']
    >;
  }
  async barrier(): Promise<void> {
    if (!this.connected) throw new Error('switch gone');
  }
  async stats<B extends MultipartRequestBody>(
    body: B,
  ): Promise<Extract<MultipartReplyBody, { kind: B['kind'] }>> {
    const sw = this.below.net.sw(this.id);
    let r: MultipartReplyBody;
    if (body.kind === 'flow') r = { kind: 'flow', stats: sw.flowStats() };
    else if (body.kind === 'groupDesc') r = { kind: 'groupDesc', groups: sw.groupDescs() };
    else if (body.kind === 'portStats') r = { kind: 'portStats', stats: [] };
    else if (body.kind === 'table') r = { kind: 'table', stats: [] };
    else throw new Error(`fake stats ${body.kind}`);
    return r as Extract<MultipartReplyBody, { kind: B['kind'] }>;
  }
}

/** The runtime's ControllerApi over the fake network. */
class FakeBelow implements ControllerApi {
  readonly bus = new EventBus(log);
  readonly dps = new Map<bigint, FakeDp>();

  constructor(
    readonly net: FakeNetwork,
    readonly plan: MigrationPlan,
  ) {}

  connectAll(): void {
    const t = [...this.plan.tunnelSwitch.ports.values()].flatMap((p) => [p.old, p.new]);
    this.connect(this.plan.tunnelSwitch.dpid, t);
    for (const vs of this.plan.switches)
      for (const side of ['old', 'new'] as const)
        this.connect(vs[side].dpid, [...vs[side].ports.values(), vs[side].tunnelPort]);
  }

  connect(dpid: bigint, ports: number[]): void {
    const dp = new FakeDp(dpid, this, ports);
    this.dps.set(dpid, dp);
    this.bus.emit('switchUp', { dp });
  }

  disconnect(dpid: bigint): FakeDp {
    const dp = this.dps.get(dpid)!;
    dp.connected = false;
    this.dps.delete(dpid);
    this.bus.emit('switchDown', { dp, reason: 'test' });
    return dp;
  }

  datapaths(): Datapath[] {
    return [...this.dps.values()];
  }
  datapath(id: bigint): Datapath | undefined {
    return this.dps.get(id);
  }
  on<K extends ControllerEventName>(event: K, listener: Listener<K>): () => void {
    return this.bus.on(event, listener);
  }
  logger(): typeof log {
    return log;
  }
}

/** Moves hosts in the fake network; hosts in `hold` never finish moving (a controller dies meanwhile). */
class FakeMover implements HostMover {
  readonly kind = 'testbed' as const;
  readonly hold = new Set<string>();
  readonly moves: string[] = [];
  constructor(
    private readonly net: FakeNetwork,
    private readonly plan: MigrationPlan,
  ) {}
  async move(req: MoveRequest) {
    const startedAt = Date.now();
    this.moves.push(`${req.host.name}->${req.to}`);
    if (this.hold.has(req.host.name)) return new Promise<never>(() => {});
    const vs = planIndex(this.plan).byName.get(req.host.switch)!;
    this.net.detach(req.host.name);
    this.net.attach(req.host.name, vs[req.to].dpid, physicalPort(vs, req.to, req.host.port));
    return { startedAt, blackoutStart: startedAt, blackoutEnd: Date.now(), doneAt: Date.now() };
  }
  async locate(host: string): Promise<Side | undefined> {
    const at = this.net.hosts.get(host)!.at;
    const c = at ? planIndex(this.plan).byPhysical.get(at.dpid) : undefined;
    return c?.side;
  }
}

interface Rig {
  plan: MigrationPlan;
  net: FakeNetwork;
  below: FakeBelow;
  mover: FakeMover;
  shim: ShimController;
  client: ConsoleClient;
  runDir: string;
}

/** The static app: on each virtual switch-up, the rules a routing app would install for it. */
function startApp(api: ControllerApi, plan: MigrationPlan): { sent: number } {
  const cmds = appCommands(DIAMOND, 'l2');
  const counter = { sent: 0 };
  api.on('switchUp', ({ dp }) => {
    const name = planIndex(plan).byVdpid.get(dp.id)!.name;
    for (const c of cmds.filter((x) => x.sw === name)) {
      dp.send(c.cmd);
      counter.sent++;
    }
  });
  return counter;
}

async function until(what: string, ok: () => boolean, ms = 3000): Promise<void> {
  const t0 = Date.now();
  while (!ok()) {
    if (Date.now() - t0 > ms) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

async function rig(algorithm: Algorithm, runDir = tmp(), from?: Rig): Promise<Rig> {
  const plan = from?.plan ?? parsePlan(planText(DIAMOND, algorithm), 'plan.yaml');
  const net = from?.net ?? buildNetwork(plan);
  const below = new FakeBelow(net, plan);
  const mover = new FakeMover(net, plan);
  const shim = await ShimController.create({ plan, below, runDir, mover, log, ledgerSaveMs: 10 });
  startApp(shim, plan);
  below.connectAll();
  await until('every virtual switch up', () => shim.datapaths().length === plan.switches.length);
  await until(
    'app rules installed',
    () => net.sw(plan.switches[0]!.old.dpid).rules.length > 5 || from !== undefined,
  );
  return { plan, net, below, mover, shim, client: ConsoleClient.fromRunDir(runDir), runDir };
}

/** Every host reaches every other exactly once; broadcasts reach all others; nothing tagged, no loops. */
function checkDelivery(r: Rig, label: string): void {
  const hosts = [...r.net.hosts.keys()].sort();
  for (const src of hosts) {
    for (const dst of hosts) {
      if (src === dst) continue;
      const t = r.net.send(src, r.net.hosts.get(dst)!.mac);
      assert.equal(t.loops, 0, `${label}: ${src}->${dst} loops`);
      assert.deepEqual(
        t.deliveries.map((d) => d.host),
        [dst],
        `${label}: ${src}->${dst}: ${JSON.stringify(t.drops)}`,
      );
      for (const d of t.deliveries) assert.deepEqual(d.packet.vlans, [], `${label}: tagged`);
    }
    const b = r.net.send(src, BROADCAST);
    assert.deepEqual(
      b.deliveries.map((d) => d.host).sort(),
      hosts.filter((h) => h !== src),
      `${label}: ${src} broadcast`,
    );
  }
}

function tablesOf(r: Rig): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const [dpid, sw] of r.net.switches) {
    out[dpid.toString(16)] = [
      ...sw.rules.map(
        (x) =>
          `${x.tableId}/${x.priority}/${JSON.stringify(x.match, (_k, v) => (typeof v === 'bigint' ? v.toString(16) : v))}/${JSON.stringify(x.instructions, (_k, v) => (typeof v === 'bigint' ? v.toString(16) : v))}`,
      ),
      ...[...sw.groups.keys()].map((g) => `group ${g.toString(16)}`),
    ].sort();
  }
  return out;
}

function cleanOldAndTunnel(r: Rig): void {
  for (const vs of r.plan.switches) {
    assert.deepEqual(r.net.sw(vs.old.dpid).rules, [], `${vs.name} old still has rules`);
    assert.equal(r.net.sw(vs.old.dpid).groups.size, 0, `${vs.name} old still has groups`);
  }
  assert.deepEqual(r.net.sw(r.plan.tunnelSwitch.dpid).rules, [], 'the tunnel switch still has rules');
}

for (const algorithm of ['asap', 'alap'] as const) {
  describe(`ShimController over a fake network, Tunnel ${algorithm.toUpperCase()}`, () => {
    it('prepare, move h1, move h2, finalize through the console', async () => {
      const r = await rig(algorithm);
      try {
        checkDelivery(r, 'before');
        let st = await r.client.status();
        assert.equal(st.phase, 'idle');
        assert.equal(st.algorithm, algorithm);
        assert.ok(st.switches.every((s) => s.connected));
        const events: string[] = [];
        const stream = await r.client.events((e) =>
          events.push(e.type === 'host' ? `host ${e.host} ${e.state}` : e.type),
        );
        st = await r.client.prepare();
        assert.equal(st.phase, 'prepared');
        checkDelivery(r, 'prepared');
        st = await r.client.moveHosts(['h1']);
        assert.equal(st.phase, 'migrating');
        assert.equal(st.hosts.find((h) => h.name === 'h1')!.location, 'new');
        checkDelivery(r, 'h1 moved');
        st = await r.client.moveHosts(['h2'], { blackoutMs: 0 });
        checkDelivery(r, 'h2 moved');
        await assert.rejects(r.client.prepare(), /already prepared/);
        st = await r.client.finalize();
        assert.equal(st.phase, 'finalized');
        checkDelivery(r, 'finalized');
        cleanOldAndTunnel(r);
        await new Promise((res) => setTimeout(res, 20));
        stream.close();
        assert.ok(events.includes('host h1 moving') && events.includes('host h2 moved'), events.join());
        assert.ok(events.includes('rules'));
        // Figures: flow-mods per phase, max rules per switch.
        assert.ok(st.phases.prepare!.flowMods > 0);
        assert.ok(st.phases.moves!.groupMods > 0);
        assert.ok(st.phases.finalize!.flowMods > 0);
        if (algorithm === 'asap') assert.ok(st.phases.finalize!.flowMods > st.phases.prepare!.flowMods);
        const s1new = st.switches.find((s) => s.name === 's1/new')!;
        assert.ok(s1new.maxRules >= s1new.rules && s1new.rules > 0);
        assert.equal(st.switches.find((s) => s.name === 'T')!.rules, 0);
        assert.ok(st.steps.some((s) => s.kind === 'move' && s.host === 'h1' && s.status === 'done'));
        // Status after the fact from the journal: every transition was journalled and done.
        assert.deepEqual(r.shim.journal.pending(r.shim.journal.open()!.id), []);
      } finally {
        await r.shim.stop();
      }
    });

    it('abort after moves: hosts back in the old network, new network and T clean', async () => {
      const r = await rig(algorithm);
      try {
        const before = tablesOf(r);
        await r.client.prepare();
        await r.client.moveHosts(['h1', 'h2']);
        checkDelivery(r, 'moved');
        const st = await r.client.abort();
        assert.equal(st.phase, 'idle');
        assert.deepEqual(r.mover.moves, ['h1->new', 'h2->new', 'h1->old', 'h2->old']);
        checkDelivery(r, 'aborted');
        for (const vs of r.plan.switches) assert.deepEqual(r.net.sw(vs.new.dpid).rules, []);
        assert.deepEqual(r.net.sw(r.plan.tunnelSwitch.dpid).rules, []);
        assert.deepEqual(tablesOf(r), before, 'the old network is back as it was');
      } finally {
        await r.shim.stop();
      }
    });

    it('a controller that dies during the host moves is resumed from the journal', async () => {
      // The clean run, for comparison.
      const clean = await rig(algorithm);
      await clean.client.prepare();
      await clean.client.moveHosts(['h1', 'h2']);
      await clean.client.finalize();
      const want = tablesOf(clean);
      await clean.shim.stop();

      const runDir = tmp();
      const r = await rig(algorithm, runDir);
      await r.client.prepare();
      r.mover.hold.add('h2'); // h2's move never ends: the controller dies during it
      const op = r.client.moveHosts(['h1', 'h2']).catch((e: unknown) => e);
      await until('h2 moving', () => r.shim.state.hosts.h2 === 'toNew');
      checkDelivery(r, 'h2 in make-before-break');
      const reconcileBefore = r.shim.figures().phases.reconcile!.flowMods;
      // "Crash": the process would be gone; here the journal and console simply stop, nothing is saved.
      r.shim.journal.closeDb();
      for (const dpid of [...r.below.dps.keys()]) r.below.disconnect(dpid);
      await (r.shim as unknown as { console: { stop(): Promise<void> } }).console.stop();
      await op;

      // A new controller on the same run directory and network.
      const r2 = await rig(algorithm, runDir, r);
      try {
        await until(
          'the interrupted host move resumed',
          () => r2.shim.state.hosts.h2 === 'new' && !r2.shim.status().busy,
          5000,
        );
        assert.equal(r2.shim.state.hosts.h1, 'new');
        assert.equal(
          r2.shim.figures().phases.reconcile!.flowMods,
          reconcileBefore,
          'the switches were as the journal says: reconciling them sent nothing',
        );
        assert.deepEqual(r2.mover.moves, ['h2->new'], 'only the unfinished move ran again');
        checkDelivery(r2, 'resumed');
        await r2.client.finalize();
        checkDelivery(r2, 'finalized after resume');
        cleanOldAndTunnel(r2);
        assert.deepEqual(tablesOf(r2), want, 'same end state as a clean run');
      } finally {
        await r2.shim.stop();
      }
    });

    it('--abort-on-start: a restarted controller aborts the unfinished migration', async () => {
      const runDir = tmp();
      const r = await rig(algorithm, runDir);
      const before = tablesOf(r);
      await r.client.prepare();
      await r.client.moveHosts(['h1']);
      await r.shim.stop();
      for (const dpid of [...r.below.dps.keys()]) r.below.disconnect(dpid);
      const below = new FakeBelow(r.net, r.plan);
      const mover = new FakeMover(r.net, r.plan);
      const shim = await ShimController.create({ plan: r.plan, below, runDir, mover, log, onStart: 'abort' });
      try {
        startApp(shim, r.plan);
        below.connectAll();
        await until('aborted', () => shim.state.phase === 'idle' && !shim.status().busy, 5000);
        assert.deepEqual(mover.moves, ['h1->old']);
        checkDelivery({ ...r, below, mover, shim }, 'aborted on start');
        assert.deepEqual(tablesOf(r), before);
      } finally {
        await shim.stop();
      }
    });

    it('a switch that reconnects mid-migration is put back to its target', async () => {
      const r = await rig(algorithm);
      try {
        await r.client.prepare();
        await r.client.moveHosts(['h1']);
        const want = tablesOf(r);
        const s1new = r.plan.switches[0]!.new.dpid;
        const s4old = r.plan.switches[3]!.old.dpid;
        // Wipe one switch, scribble on another while they are disconnected.
        for (const d of [s1new, s4old]) r.below.disconnect(d);
        r.net.sw(s1new).rules = [];
        r.net.sw(s1new).groups.clear();
        r.net.sw(s4old).rules.pop();
        r.net.sw(s4old).apply({
          type: 'flowMod',
          cookie: 0x77n,
          cookieMask: 0n,
          tableId: 3,
          command: 0,
          idleTimeout: 0,
          hardTimeout: 0,
          priority: 9,
          bufferId: 0xffffffff,
          outPort: 0xffffffff,
          outGroup: 0xffffffff,
          flags: 0,
          match: { fields: [] },
          instructions: [],
        });
        await assert.rejects(r.client.moveHosts(['h2']), /not connected/);
        r.below.connectAll();
        await until('reconciled', () => r.shim.status().switches.every((s) => s.connected));
        await new Promise((res) => setTimeout(res, 30));
        assert.deepEqual(tablesOf(r), want);
        checkDelivery(r, 'after reconnect');
        await r.client.moveHosts(['h2']);
        await r.client.finalize();
        cleanOldAndTunnel(r);
        assert.ok(r.shim.status().phases.reconcile!.flowMods > 0);
      } finally {
        await r.shim.stop();
      }
    });
  });
}
