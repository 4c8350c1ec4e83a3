// The migration plan of the controller benchmark's emulated network (`npm run bench:controller -- --shim`).
//
// The load generator's N switches are the plan's *old* switches: dpid i (1..N, what loadgen.ts reports),
// ports 1..P, tunnel port P+1. Each has a virtual switch v<i> (dpid VIRTUAL_BASE + i, never a physical id)
// with P host ports, and one plan host per port (so every port is tunnelled: app outputs go through the
// shim's egress groups, as on a real migration). The new switches (dpid NEW_BASE + i, same ports) and the
// tunnel switch (TUNNEL_DPID, ports 2i-1 towards old i and 2i towards new i) are emulated by peers.ts as
// idle switches. The mover is `external` (no host moves in the benchmark).

import { parsePlan } from '../../src/shim/plan.ts';

export const VIRTUAL_BASE = 0x7600_0000n;
export const NEW_BASE = 0x2_0000n;
export const TUNNEL_DPID = 0x3_0001n;

export interface BenchSwitch {
  dpid: bigint;
  /** Ports 1..ports. */
  ports: number;
}

export interface ShimBenchNetwork {
  /** The plan document (plan file format, see src/shim/plan.ts). */
  plan: Record<string, unknown>;
  old: BenchSwitch[];
  new: BenchSwitch[];
  tunnel: BenchSwitch;
}

function hex(d: bigint): string {
  return d.toString(16).padStart(16, '0');
}

/** MAC of the loadgen's host `h` on switch `sw` (loadgen.ts macBytes). */
function loadgenMac(sw: number, h: number): string {
  return [0x02, 0x00, (sw >> 8) & 0xff, sw & 0xff, (h >> 8) & 0xff, h & 0xff]
    .map((b) => b.toString(16).padStart(2, '0'))
    .join(':');
}

export function shimBenchNetwork(n: number, ports: number, algorithm: 'asap' | 'alap'): ShimBenchNetwork {
  const tunnelPort = ports + 1;
  const switches = [];
  const hosts = [];
  const tunnelPorts: Record<string, { old: number; new: number }> = {};
  for (let i = 1; i <= n; i++) {
    const name = `v${i}`;
    switches.push({
      name,
      dpid: hex(VIRTUAL_BASE + BigInt(i)),
      ports: Array.from({ length: ports }, (_, k) => ({ port: k + 1, kind: 'host' })),
      old: { dpid: hex(BigInt(i)), tunnelPort },
      new: { dpid: hex(NEW_BASE + BigInt(i)), tunnelPort },
    });
    for (let p = 1; p <= ports; p++)
      // loadgen puts its host h on port (h % P) + 1: host p-1 is on port p.
      hosts.push({ name: `h${i}_${p}`, mac: loadgenMac(i, p - 1), switch: name, port: p });
    tunnelPorts[name] = { old: 2 * i - 1, new: 2 * i };
  }
  const plan = {
    version: 1,
    algorithm,
    blackoutMs: 0,
    mover: { kind: 'external', timeoutMs: 60_000 },
    tunnel: { encoding: 'vlan', managePorts: true },
    tunnelSwitch: { dpid: hex(TUNNEL_DPID), ports: tunnelPorts },
    switches,
    hosts,
  };
  parsePlan(JSON.stringify(plan), 'shim-plan.ts'); // a bad plan fails here, not in the controller
  return {
    plan,
    old: Array.from({ length: n }, (_, k) => ({ dpid: BigInt(k + 1), ports: tunnelPort })),
    new: Array.from({ length: n }, (_, k) => ({ dpid: NEW_BASE + BigInt(k + 1), ports: tunnelPort })),
    tunnel: { dpid: TUNNEL_DPID, ports: 2 * n },
  };
}
