// Property: for random small topologies, host placements, apps, algorithms, move orders and message
// orders within each step, every host reaches every other exactly once (and broadcasts reach all others
// exactly once, never the sender), nothing loops, nothing arrives tagged, after every physical message
// of prepare, every move (and inside its make-before-break window) and finalize or abort.
import assert from 'node:assert/strict';
import { it } from 'node:test';
import fc from 'fast-check';
import { type AppFlavour, Harness, isTree, type Topo } from './harness.ts';

const topoArb: fc.Arbitrary<Topo> = fc
  .record({
    n: fc.integer({ min: 1, max: 4 }),
    parents: fc.array(fc.nat(), { minLength: 3, maxLength: 3 }),
    extra: fc.array(fc.tuple(fc.nat(), fc.nat()), { maxLength: 2 }),
    hostSwitches: fc.array(fc.nat(), { minLength: 2, maxLength: 4 }),
  })
  .map(({ n, parents, extra, hostSwitches }) => {
    const switches = Array.from({ length: n }, (_, i) => `s${i + 1}`);
    const links: [string, string][] = [];
    const has = (a: string, b: string) =>
      links.some(([x, y]) => (x === a && y === b) || (x === b && y === a));
    for (let i = 1; i < n; i++) links.push([switches[parents[i - 1]! % i]!, switches[i]!]);
    for (const [a, b] of extra) {
      const x = switches[a % n]!;
      const y = switches[b % n]!;
      if (x !== y && !has(x, y)) links.push([x, y]);
    }
    const hosts: Record<string, string> = {};
    hostSwitches.forEach((s, i) => {
      hosts[`h${i + 1}`] = switches[s % n]!;
    });
    return { switches, links, hosts };
  });

function shuffler(seed: number): (n: number) => number[] {
  let x = seed | 1;
  const rnd = () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 0x1_0000_0000;
  };
  return (n) => {
    const a = [...Array(n).keys()];
    for (let i = n - 1; i > 0; i--) {
      const j = Math.floor(rnd() * (i + 1));
      [a[i], a[j]] = [a[j]!, a[i]!];
    }
    return a;
  };
}

it('delivery invariant holds at every message of random migrations', () => {
  fc.assert(
    fc.property(
      topoArb,
      fc.constantFrom('asap' as const, 'alap' as const),
      fc.constantFrom<AppFlavour>('l2', 'flood', 'pipeline'),
      fc.array(fc.nat(), { minLength: 4, maxLength: 4 }),
      fc.boolean(),
      fc.integer({ min: 1, max: 0x7fffffff }),
      (topo, algorithm, flavourPick, order, abort, seed) => {
        const flavour: AppFlavour = flavourPick === 'flood' && !isTree(topo) ? 'l2' : flavourPick;
        const h = new Harness(topo, algorithm, flavour);
        h.order = shuffler(seed);
        h.installApp();
        h.checkAll('installed', { unknown: true });
        h.run('prepare');
        const hosts = Object.keys(topo.hosts).sort(
          (a, b) => (order[Number(a.slice(1)) - 1]! % 7) - (order[Number(b.slice(1)) - 1]! % 7),
        );
        if (abort) {
          const some = hosts.slice(0, Math.max(1, hosts.length - 1));
          for (const host of some) h.move(host);
          for (const host of [...some].reverse()) h.move(host);
          h.run('abort', undefined, { unknown: true });
          for (const vs of h.plan.switches) assert.deepEqual(h.net.sw(vs.new.dpid).rules, []);
        } else {
          for (const host of hosts) h.move(host, { unknown: true });
          h.run('finalize', undefined, { unknown: true });
          for (const vs of h.plan.switches) assert.deepEqual(h.net.sw(vs.old.dpid).rules, []);
        }
        assert.deepEqual(h.net.sw(h.plan.tunnelSwitch.dpid).rules, []);
      },
    ),
    { numRuns: 30 },
  );
});
