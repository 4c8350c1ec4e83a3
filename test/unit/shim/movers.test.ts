// Host movers with fakes: the test bed mover calls the injected move, the command mover runs a real shell
// command (placeholders quoted, timeout, output kept), the external mover waits for an arrival.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Side } from '../../../src/shim/model.ts';
import {
  ArrivalBoard,
  createCommandMover,
  createExternalMover,
  createMover,
  createTestbedMover,
  type MoveRequest,
  MoverError,
  renderCommand,
  shellQuote,
} from '../../../src/shim/movers.ts';

function req(extra: Partial<MoveRequest> = {}): MoveRequest {
  return {
    host: { name: 'h1', mac: '02:00:00:00:00:01', ip: '10.0.0.1', switch: 's1', port: 1 },
    from: 'old',
    to: 'new',
    blackoutMs: 50,
    fromDpid: 0x10001n,
    toDpid: 0x20001n,
    ...extra,
  };
}

describe('testbed mover', () => {
  it('calls the injected move with the destination and blackout, and returns its timestamps', async () => {
    const calls: unknown[] = [];
    const mover = createTestbedMover({
      async move(host, to, opts) {
        calls.push([host, to, opts]);
        return { blackoutStart: 100, blackoutEnd: 160, moveStartedAt: 150, movedAt: 155, announcedAt: 161 };
      },
      locate: (host) => (host === 'h1' ? 'new' : undefined),
      now: () => 90,
    });
    const t = await mover.move(req());
    assert.deepEqual(calls, [['h1', 'new', { blackoutMs: 50 }]]);
    assert.deepEqual(t, { startedAt: 90, blackoutStart: 100, blackoutEnd: 160, doneAt: 161 });
    assert.equal(await mover.locate!('h1'), 'new');
  });

  it('without a blackout, the re-plugging is the blackout window', async () => {
    const mover = createTestbedMover({
      move: async () => ({ moveStartedAt: 10, movedAt: 12 }),
      now: () => 5,
    });
    const t = await mover.move(req({ blackoutMs: 0 }));
    assert.equal(t.blackoutStart, 10);
    assert.equal(t.blackoutEnd, 12);
    assert.equal(mover.locate, undefined);
  });

  it('a failing move rejects', async () => {
    const mover = createTestbedMover({
      move: async () => {
        throw new Error('host h1 is already in the new network');
      },
    });
    await assert.rejects(mover.move(req()), /already in the new network/);
  });
});

describe('command mover', () => {
  it('quotes placeholder values for the shell', () => {
    assert.equal(shellQuote('h1'), 'h1');
    assert.equal(shellQuote("a b'c"), `'a b'"'"'c'`);
    const r = req({ host: { name: 'h 1; rm -rf /', mac: '02:00:00:00:00:01', switch: 's1', port: 1 } });
    assert.equal(renderCommand('migrate {host} --to {to}', r), `migrate 'h 1; rm -rf /' --to new`);
    assert.equal(
      renderCommand('{mac} {ip} {switch} {port} {from} {fromDpid} {toDpid}', req()),
      '02:00:00:00:00:01 10.0.0.1 s1 1 old 0000000000010001 0000000000020001',
    );
    assert.throws(() => renderCommand('{nope}', req()), /unknown placeholder/);
  });

  it('runs the command, captures its output and exposes the values in the environment', async () => {
    const lines: string[] = [];
    const log = {
      info: (_o: unknown, msg?: string) => lines.push(String(msg)),
      warn: () => {},
    } as never;
    const mover = createCommandMover({
      command: 'echo moving {host} to {to}; echo "env $VNM_HOST $VNM_MAC $VNM_BLACKOUT_MS" >&2',
      timeoutMs: 5000,
      log,
    });
    const t = await mover.move(req());
    assert.match(t.output!, /moving h1 to new/);
    assert.match(t.output!, /env h1 02:00:00:00:00:01 50/);
    assert.ok(t.doneAt >= t.startedAt);
    assert.ok(lines.includes('moving h1 to new'), lines.join('|'));
  });

  it('a failing command rejects with its status and output', async () => {
    const mover = createCommandMover({ command: 'echo no such VM {host} >&2; exit 3', timeoutMs: 5000 });
    await assert.rejects(mover.move(req()), (e: unknown) => {
      assert.ok(e instanceof MoverError);
      assert.match(e.message, /exited with status 3/);
      assert.match(e.output!, /no such VM h1/);
      return true;
    });
  });

  it('a command that hangs is killed (with its children) at the timeout', async () => {
    const mover = createCommandMover({ command: 'sleep 30 & sleep 30', timeoutMs: 200 });
    const t0 = Date.now();
    await assert.rejects(mover.move(req()), /timed out after 200 ms/);
    assert.ok(Date.now() - t0 < 3000);
  });

  it('can be cancelled', async () => {
    const mover = createCommandMover({ command: 'sleep 30', timeoutMs: 10_000 });
    const ac = new AbortController();
    const p = mover.move(req(), { signal: ac.signal });
    setTimeout(() => ac.abort(), 50);
    await assert.rejects(p, /cancelled/);
  });
});

describe('external mover', () => {
  it('resolves when the shim reports the host at its destination', async () => {
    const board = new ArrivalBoard();
    const mover = createExternalMover({ timeoutMs: 2000, arrivals: board, now: () => 1000 });
    const p = mover.move(req());
    board.arrived('h1', 'old', 1100); // the wrong side does not count
    board.arrived('h2', 'new', 1150); // nor another host
    setTimeout(() => board.arrived('h1', 'new', 1200), 10);
    const t = await p;
    assert.deepEqual(t, { startedAt: 1000, arrivedAt: 1200, doneAt: 1200 });
  });

  it('an arrival seen before the wait counts; reset forgets it', async () => {
    const board = new ArrivalBoard();
    board.arrived('h1', 'new', 5);
    assert.equal(await board.waitForArrival('h1', 'new', { timeoutMs: 10 }), 5);
    board.arrived('h1', 'new', 6);
    board.reset('h1');
    await assert.rejects(board.waitForArrival('h1', 'new', { timeoutMs: 20 }), /not seen in the new network/);
  });

  it('times out and can be cancelled', async () => {
    const board = new ArrivalBoard();
    const mover = createExternalMover({ timeoutMs: 30, arrivals: board });
    await assert.rejects(mover.move(req()), /within 30 ms/);
    const ac = new AbortController();
    const p = board.waitForArrival('h1', 'new' as Side, { timeoutMs: 5000, signal: ac.signal });
    ac.abort();
    await assert.rejects(p, /cancelled/);
  });
});

describe('createMover', () => {
  it('builds the mover the plan asks for, or says what is missing', () => {
    assert.throws(() => createMover({ kind: 'testbed' }), /no test bed/);
    assert.throws(() => createMover({ kind: 'external', timeoutMs: 1 }, {}), /reports arrivals/);
    assert.equal(createMover({ kind: 'command', command: 'true', timeoutMs: 1 }, {}).kind, 'command');
    assert.equal(
      createMover({ kind: 'external', timeoutMs: 1 }, { arrivals: new ArrivalBoard() }).kind,
      'external',
    );
    assert.equal(
      createMover({ kind: 'testbed' }, { testbed: { move: async () => ({ moveStartedAt: 0, movedAt: 0 }) } })
        .kind,
      'testbed',
    );
  });
});
