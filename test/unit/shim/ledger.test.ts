// Ledger-backed translations: counters merged and never decreasing, exactly one flow-removed per virtual
// rule, remaining hard timeouts, error xids, port-status once per virtual event, JSON round trip,
// reconciliation of a switch, and the policies' state checks.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  FlowModCommand,
  FlowModFlags,
  FlowRemovedReason,
  NO_BUFFER,
  Port,
  PortState,
} from '../../../src/openflow/constants.ts';
import type {
  Action,
  ErrorMsg,
  FlowMod,
  FlowStatsRequestBody,
  Match,
  Outgoing,
  Port as PortDesc,
  PortStats,
} from '../../../src/openflow/types.ts';
import { Ledger } from '../../../src/shim/ledger.ts';
import { MigrationStateError } from '../../../src/shim/model.ts';
import { APP_COPY_COOKIE, COOKIE_OWNER_MASK } from '../../../src/shim/pipeline.ts';
import { alap, asap } from '../../../src/shim/policy.ts';
import { diffStates, reconcileSwitch, switchStateFromDump, targetState } from '../../../src/shim/target.ts';
import {
  mergeStats,
  recordCommandXids,
  statsFanout,
  translateError,
  translatePortStatus,
  updatePortView,
} from '../../../src/shim/translate.ts';
import { DIAMOND, Harness, hostMac } from './harness.ts';

const S1 = 1n;
const O1 = 0x101n;
const N1 = 0x201n;
const H2 = hostMac(DIAMOND, 'h2');
const out = (port: number): Action => ({ type: 'output', port, maxLen: 0xffff });

function add(match: Match, actions: Action[], extra: Partial<Outgoing<FlowMod>> = {}): Outgoing<FlowMod> {
  return {
    type: 'flowMod',
    cookie: 0xc0ffeen,
    cookieMask: 0n,
    tableId: 0,
    command: FlowModCommand.ADD,
    idleTimeout: 0,
    hardTimeout: 0,
    priority: 50,
    bufferId: NO_BUFFER,
    outPort: Port.ANY,
    outGroup: 0xffffffff,
    flags: FlowModFlags.SEND_FLOW_REM,
    match,
    instructions: [{ type: 'applyActions', actions }],
    ...extra,
  };
}

function quiet(algorithm: 'asap' | 'alap'): Harness {
  const h = new Harness(DIAMOND, algorithm);
  h.checking = false;
  return h;
}

const FLOW_REQ: FlowStatsRequestBody = {
  tableId: 0xff,
  outPort: Port.ANY,
  outGroup: 0xffffffff,
  cookie: 0n,
  cookieMask: 0n,
  match: { fields: [{ field: 'eth_dst', value: H2 }] },
};

/** The app's flow-stats request for s1, answered from the fake switches. */
function flowStats(h: Harness) {
  const replies = statsFanout(h.ctx(), S1, { kind: 'flow', ...FLOW_REQ }).map((f) => {
    assert.equal(f.body.kind, 'flow');
    const stats = h.net
      .sw(f.dpid)
      .flowStats()
      .filter((s) => (s.cookie & COOKIE_OWNER_MASK) === APP_COPY_COOKIE);
    return { dpid: f.dpid, body: { kind: 'flow' as const, stats } };
  });
  const merged = mergeStats(h.ctx(), S1, { kind: 'flow', ...FLOW_REQ }, replies);
  assert.equal(merged.kind, 'flow');
  return merged.kind === 'flow' ? merged.stats : [];
}

describe('flow counters', () => {
  for (const algorithm of ['asap', 'alap'] as const) {
    it(`${algorithm}: equal the packets sent and never decrease across the whole migration`, () => {
      const h = new Harness(DIAMOND, algorithm);
      h.installApp();
      let sent = 0;
      const send = h.net.send.bind(h.net);
      h.net.send = (host, dst, type) => {
        if (host === 'h1' && dst === H2 && h.net.hosts.get('h1')!.at) sent++;
        return send(host, dst, type);
      };
      let last = -1n;
      const check = (label: string) => {
        const stats = flowStats(h);
        assert.equal(stats.length, 1, label);
        const s = stats[0]!;
        assert.equal(s.packetCount, BigInt(sent), `${label}: counted ${s.packetCount}, sent ${sent}`);
        assert.ok(s.packetCount >= last, `${label}: decreased`);
        assert.equal(s.tableId, 0);
        assert.equal(s.cookie, BigInt(0xa000 + 10));
        last = s.packetCount;
      };
      h.net.send('h1', H2);
      check('installed');
      h.run('prepare');
      check('prepared');
      h.move('h1');
      check('h1 moved');
      h.move('h2');
      check('h2 moved');
      h.run('finalize');
      check('finalized');
      assert.ok(sent > 10);
    });
  }

  it('aggregate and table stats are summed over copies, table ids shifted back', () => {
    const h = new Harness(DIAMOND, 'alap');
    h.installApp();
    h.run('prepare');
    h.move('h1');
    flowStats(h);
    const agg = mergeStats(
      h.ctx(),
      S1,
      { kind: 'aggregate', ...FLOW_REQ, match: { fields: [] } },
      statsFanout(h.ctx(), S1, { kind: 'aggregate', ...FLOW_REQ }).map((f) => ({
        dpid: f.dpid,
        body: { kind: 'flow' as const, stats: h.net.sw(f.dpid).flowStats() },
      })),
    );
    assert.equal(agg.kind, 'aggregate');
    assert.equal(agg.kind === 'aggregate' && agg.flowCount, h.ledger.rules(S1).length);
    const table = mergeStats(h.ctx(), S1, { kind: 'table' }, [
      {
        dpid: O1,
        body: {
          kind: 'table',
          stats: [0, 1].map((t) => ({ tableId: t, activeCount: 9, lookupCount: 10n, matchedCount: 5n })),
        },
      },
      {
        dpid: N1,
        body: {
          kind: 'table',
          stats: [0, 1].map((t) => ({ tableId: t, activeCount: 9, lookupCount: 3n, matchedCount: 2n })),
        },
      },
    ]);
    assert.deepEqual(table, {
      kind: 'table',
      stats: [{ tableId: 0, activeCount: h.ledger.rules(S1).length, lookupCount: 13n, matchedCount: 7n }],
    });
  });
});

describe('port counters', () => {
  const stats = (portNo: number, rx: bigint): PortStats => ({
    portNo,
    rxPackets: rx,
    txPackets: 0n,
    rxBytes: rx * 100n,
    txBytes: 0n,
    rxDropped: 0n,
    txDropped: 0n,
    rxErrors: 0n,
    txErrors: 0n,
    rxFrameErr: 0n,
    rxOverErr: 0n,
    rxCrcErr: 0n,
    collisions: 0n,
    durationSec: 1,
    durationNsec: 0,
  });
  it('sum old and new copies, survive a port re-created with zero counters, never decrease', () => {
    const h = quiet('asap');
    const q = (old?: bigint, neu?: bigint) => {
      const r = mergeStats(h.ctx(), S1, { kind: 'portStats', portNo: 1 }, [
        { dpid: O1, body: { kind: 'portStats', stats: old === undefined ? [] : [stats(1, old)] } },
        { dpid: N1, body: { kind: 'portStats', stats: neu === undefined ? [] : [stats(11, neu)] } },
      ]);
      assert.ok(r.kind === 'portStats' && r.stats.length === 1 && r.stats[0]!.portNo === 1);
      return r.kind === 'portStats' ? r.stats[0]!.rxPackets : -1n;
    };
    assert.equal(q(10n, undefined), 10n);
    assert.equal(q(undefined, 5n), 15n); // the host left old: its port is gone, its counters stay
    assert.equal(q(2n, 6n), 18n); // back on old: a new port from zero
    assert.equal(q(undefined, undefined), 18n); // no answer at all: never below what was shown
    const all = mergeStats(h.ctx(), S1, { kind: 'portStats', portNo: Port.ANY }, []);
    assert.deepEqual(all.kind === 'portStats' && all.stats.map((s) => s.portNo), [1, 2, 3]);
  });
});

describe('flow-removed', () => {
  function setup(extra: Partial<Outgoing<FlowMod>>) {
    const h = quiet('alap');
    h.run('prepare');
    h.command('s1', add({ fields: [{ field: 'eth_dst', value: H2 }] }, [out(2)], extra));
    const appRule = (dpid: bigint) => h.net.sw(dpid).rules.find((r) => r.priority === 50)!;
    appRule(O1).packets = 3n;
    appRule(N1).packets = 4n;
    return { h, appRule };
  }

  it('idle: a copy idle while the other is busy is put back; idle on both -> one flow-removed, counters summed', () => {
    const { h, appRule } = setup({ idleTimeout: 10 });
    h.now = 100_000;
    h.net.sw(O1).expire((r) => r.priority === 50, FlowRemovedReason.IDLE_TIMEOUT);
    h.drainFlowRemoved();
    assert.ok(appRule(O1), 'old copy re-installed');
    assert.equal(h.notices.length, 0);
    appRule(O1).packets = 1n;
    h.now = 200_000; // the old copy's idle expiry is too long ago: the new copy alone is idle
    h.net.sw(N1).expire((r) => r.priority === 50, FlowRemovedReason.IDLE_TIMEOUT);
    h.drainFlowRemoved();
    assert.ok(appRule(N1), 'new copy re-installed');
    assert.equal(h.notices.length, 0);
    h.now = 205_000; // now the old copy idles within 10 s of the new one
    h.net.sw(O1).expire((r) => r.priority === 50, FlowRemovedReason.IDLE_TIMEOUT);
    h.drainFlowRemoved();
    assert.equal(appRule(O1), undefined);
    assert.equal(appRule(N1), undefined);
    assert.equal(h.notices.length, 1);
    const n = h.notices[0]!;
    assert.ok(n.kind === 'flowRemoved');
    if (n.kind !== 'flowRemoved') return;
    assert.equal(n.vdpid, S1);
    assert.equal(n.msg.reason, FlowRemovedReason.IDLE_TIMEOUT);
    assert.equal(n.msg.packetCount, 3n + 4n + 1n);
    assert.equal(n.msg.cookie, 0xc0ffeen);
    assert.equal(n.msg.tableId, 0);
    assert.equal(n.msg.durationSec, 205);
    assert.deepEqual(n.msg.match, { fields: [{ field: 'eth_dst', value: H2 }] });
    assert.equal(h.ledger.rules(S1).length, 0);
    assert.equal(h.ledger.copiesOf(1).length, 0);
  });

  it('hard: the first copy to expire ends the rule; the others are deleted; one flow-removed', () => {
    const { h, appRule } = setup({ hardTimeout: 30 });
    h.now = 30_000;
    h.net.sw(N1).expire((r) => r.priority === 50, FlowRemovedReason.HARD_TIMEOUT);
    h.drainFlowRemoved();
    assert.equal(appRule(O1), undefined);
    assert.equal(h.notices.length, 1);
    const n = h.notices[0]!;
    assert.ok(
      n.kind === 'flowRemoved' && n.msg.reason === FlowRemovedReason.HARD_TIMEOUT && n.msg.packetCount === 7n,
    );
  });

  it('no flow-removed for a rule that did not ask; none when the shim retires copies at finalize', () => {
    const { h } = setup({ flags: 0 });
    h.move('h1');
    h.move('h2');
    h.run('finalize');
    h.command('s1', { ...add({ fields: [] }, []), command: FlowModCommand.DELETE, tableId: 0xff });
    assert.equal(h.notices.length, 0);
  });
});

describe('remaining hard timeout', () => {
  const copyAdd = (steps: ReturnType<typeof asap.finalize>['steps'], dpid: bigint) =>
    steps
      .flatMap((s) => s.messages)
      .find(
        (m) =>
          m.dpid === dpid &&
          m.msg.type === 'flowMod' &&
          m.msg.command === FlowModCommand.ADD &&
          m.msg.cookie === (APP_COPY_COOKIE | 1n),
      );

  it('ASAP finalize copies a rule with what is left of its hard timeout', () => {
    const h = quiet('asap');
    h.command('s1', add({ fields: [] }, [out(2)], { hardTimeout: 30 }));
    h.run('prepare');
    h.move('h1');
    h.move('h2');
    h.now = 12_000;
    const m = copyAdd(h.run('finalize').steps, N1);
    assert.ok(m && m.msg.type === 'flowMod');
    assert.equal(m.msg.type === 'flowMod' && m.msg.hardTimeout, 18);
  });

  it('ALAP prepare rounds up; an already expired rule is not copied', () => {
    const h = quiet('alap');
    h.command('s1', add({ fields: [] }, [out(2)], { hardTimeout: 30 }));
    h.command('s1', add({ fields: [] }, [out(3)], { hardTimeout: 5, priority: 51 }));
    h.now = 12_500; // the 5 s rule has expired on the switch; its flow-removed is not in yet
    const steps = h.transition('prepare').steps;
    const m = copyAdd(steps, N1);
    assert.equal(m?.msg.type === 'flowMod' && m.msg.hardTimeout, 18);
    assert.equal(
      steps
        .flatMap((s) => s.messages)
        .filter((x) => x.dpid === N1 && x.msg.type === 'flowMod' && x.msg.priority === 51).length,
      0,
    );
  });
});

describe('errors', () => {
  it('map a physical xid to the app xid and command, once per app command', () => {
    const h = quiet('alap');
    const cmd = add({ fields: [] }, [out(2)]);
    recordCommandXids(h.ledger, S1, 42, cmd, [
      { dpid: O1, xid: 7 },
      { dpid: N1, xid: 8 },
    ]);
    const err = (xid: number): ErrorMsg => ({
      type: 'error',
      xid,
      errorType: 5,
      code: 1,
      data: new Uint8Array([9, 9]),
    });
    const e = translateError(h.ctx(), O1, err(7));
    assert.deepEqual(e, {
      vdpid: S1,
      msg: { type: 'error', xid: 42, errorType: 5, code: 1, data: new Uint8Array(0) },
      request: cmd,
    });
    assert.equal(
      translateError(h.ctx(), N1, err(8)),
      undefined,
      'the same command failing on the other copy',
    );
    assert.equal(translateError(h.ctx(), O1, err(99)), undefined, 'not an app command');
  });
});

describe('port status', () => {
  const port = (portNo: number, state = PortState.LIVE): PortDesc => ({
    portNo,
    hwAddr: `02:00:00:00:${portNo.toString(16).padStart(2, '0')}:01`,
    name: `p${portNo}`,
    config: 0,
    state,
    curr: 0,
    advertised: 0,
    supported: 0,
    peer: 0,
    currSpeed: 0,
    maxSpeed: 0,
  });

  it('reaches the app once per virtual change; tunnel ports and moving hosts stay hidden', () => {
    const h = quiet('asap');
    const phys = new Map<bigint, Map<number, PortDesc>>([
      [O1, new Map([1, 2, 3, 100].map((p) => [p, port(p)]))],
      [N1, new Map([11, 12, 13, 100].map((p) => [p, port(p)]))],
    ]);
    const lookup = (d: bigint) => phys.get(d);
    assert.deepEqual(updatePortView(h.ctx(), S1, lookup), []);
    const view = h.ledger.portView(S1)!;
    assert.deepEqual([...view.keys()], [1, 2, 3]);
    assert.equal(view.get(2)!.hwAddr, port(2).hwAddr);
    h.run('prepare');
    phys.get(O1)!.set(100, port(100, PortState.LINK_DOWN));
    assert.deepEqual(translatePortStatus(h.ctx(), O1, lookup), [], 'tunnel port');
    phys.get(O1)!.set(2, port(2, PortState.LINK_DOWN));
    const ev = translatePortStatus(h.ctx(), O1, lookup);
    assert.equal(ev.length, 1);
    assert.ok(
      ev[0]!.kind === 'portStatus' &&
        ev[0]!.msg.port.portNo === 2 &&
        ev[0]!.msg.port.state === PortState.LINK_DOWN,
    );
    assert.deepEqual(translatePortStatus(h.ctx(), O1, lookup), [], 'same state again');
    phys.get(N1)!.set(13, port(13, PortState.LINK_DOWN));
    assert.deepEqual(translatePortStatus(h.ctx(), N1, lookup), [], 'new link not in use under ASAP');
    // h1 moves: its old port disappears, its new port appears: the app sees nothing.
    h.run('startMove', 'h1');
    phys.get(O1)!.delete(1);
    assert.deepEqual(translatePortStatus(h.ctx(), O1, lookup), []);
    h.run('hostArrived', 'h1');
    assert.deepEqual(updatePortView(h.ctx(), S1, lookup), []);
    assert.equal(h.ledger.portView(S1)!.get(1)!.hwAddr, port(1).hwAddr, 'stable MAC');
  });
});

describe('ledger JSON and reconciliation', () => {
  it('round-trips through JSON: same target state', () => {
    const h = new Harness(DIAMOND, 'asap', 'pipeline');
    h.installApp();
    h.run('prepare');
    h.move('h1');
    const text = JSON.stringify(h.ledger.toJSON());
    const back = Ledger.fromJSON(JSON.parse(text));
    const a = targetState(h.plan, h.ledger, h.state, h.now);
    const b = targetState(h.plan, back, h.state, h.now);
    assert.deepEqual(diffStates(a, b), []);
    assert.deepEqual(back.toJSON(), h.ledger.toJSON());
  });

  it('a switch that lost its tables (or holds strays) is put back to its target', () => {
    const h = new Harness(DIAMOND, 'alap');
    h.installApp();
    h.run('prepare');
    h.move('h1');
    const sw = h.net.sw(N1);
    sw.rules = [];
    sw.groups.clear();
    sw.rules.push({
      tableId: 3,
      priority: 1,
      match: { fields: [] },
      instructions: [],
      cookie: 0x1234n,
      flags: 0,
      idleTimeout: 0,
      hardTimeout: 0,
      packets: 0n,
      bytes: 0n,
    });
    const target = targetState(h.plan, h.ledger, h.state, h.now).get(N1)!;
    const steps = reconcileSwitch(N1, switchStateFromDump(sw.flowStats(), sw.groupDescs()), target);
    for (const s of steps) {
      h.net.applyStep(s);
      for (const m of s.messages) h.ledger.recordPhysical(m.dpid, m.msg, h.now);
    }
    h.checkTarget('reconciled');
    h.checking = true;
    h.checkAll('reconciled', { unknown: true });
  });
});

describe('policy state checks', () => {
  it('refuses transitions that do not fit the state', () => {
    const h = quiet('asap');
    const ctx = () => ({ plan: h.plan, ledger: h.ledger, state: h.state, now: 0 });
    assert.throws(() => asap.startMove(ctx(), 'h1'), MigrationStateError);
    assert.throws(() => alap.prepare(ctx()), /state is for ASAP/);
    h.run('prepare');
    assert.throws(() => asap.prepare(ctx()), /already prepared/);
    assert.throws(() => asap.finalize(ctx()), /hosts not yet in the new network: h1, h2/);
    assert.throws(() => asap.hostArrived(ctx(), 'h1'), /not moving/);
    assert.throws(() => asap.startMove(ctx(), 'h9'), /no host "h9"/);
    h.move('h1');
    assert.throws(() => asap.abort(ctx()), /move these hosts back to the old network first: h1/);
    h.run('startMove', 'h2');
    assert.throws(() => asap.startMove(ctx(), 'h2'), /already moving/);
  });

  it('routes app commands to the switches that carry them', () => {
    const h = quiet('alap');
    const c = add({ fields: [] }, []);
    assert.deepEqual(alap.appCommandTargets(h.ctx(), S1, c), [O1]);
    h.run('prepare');
    assert.deepEqual(alap.appCommandTargets(h.ctx(), S1, c), [O1, N1]);
    h.move('h1');
    h.move('h2');
    h.run('finalize');
    assert.deepEqual(alap.appCommandTargets(h.ctx(), S1, c), [N1]);
  });
});

describe('settling copies after a restart', () => {
  it('copies whose flow-removed was lost are settled from the flow dump; the owed flow-removed follows', async () => {
    const { settleCopies } = await import('../../../src/shim/translate.ts');
    const h = quiet('alap');
    h.run('prepare');
    h.command('s1', add({ fields: [{ field: 'eth_dst', value: H2 }] }, [out(2)]));
    h.net.sw(O1).rules.find((r) => r.priority === 50)!.packets = 5n;
    flowStats(h); // the shim saw 5 packets on the old copy
    // The app deletes the rule; the controller crashes before the switches' flow-removed come back.
    h.net.sw(O1).flowRemoved.length = 0;
    const del = { ...add({ fields: [] }, []), command: FlowModCommand.DELETE, tableId: 0xff };
    for (const m of (await import('../../../src/shim/translate.ts')).translateAppCommand(h.ctx(), S1, del)
      .physical)
      h.net.apply(m.dpid, m.msg);
    for (const sw of h.net.switches.values()) sw.flowRemoved.length = 0;
    const back = Ledger.fromJSON(JSON.parse(JSON.stringify(h.ledger.toJSON())));
    const ctx = { ...h.ctx(), ledger: back };
    const a = settleCopies(ctx, O1, h.net.sw(O1).flowStats());
    const b = settleCopies(ctx, N1, h.net.sw(N1).flowStats());
    const notices = [...a.app, ...b.app];
    assert.equal(notices.length, 1);
    assert.ok(notices[0]!.kind === 'flowRemoved' && notices[0]!.msg.packetCount === 5n);
    assert.equal(back.copiesOf(1).length, 0);
  });
});
