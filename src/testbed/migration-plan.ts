// The migration plan of a test bed: which old and new datapath is the copy of each virtual switch,
// the ports, the tunnel switch, the hosts. Written in the shim's plan file format (documented in
// src/shim/plan.ts, which validates it); the test bed only describes what it built.
//
// Virtual datapath ids are the switch's 1-based position in the topology (s1 -> 1 when it comes first):
// never a physical id, so an app can never confuse the two. Virtual port numbers are the test bed's
// port numbers, which are the same on an old switch and its new counterpart.
import { stringify } from 'yaml';
import type { PortInfo, SwitchInfo, TestbedState } from './state.ts';

export interface MigrationPlanOptions {
  algorithm?: 'asap' | 'alap';
  /** Default blackout of a host move (stands for the VM's stop-and-copy downtime). */
  blackoutMs?: number;
}

/** The plan as a plain document (what `vnm testbed plan` writes as YAML). */
export function migrationPlanFor(
  state: TestbedState,
  opts: MigrationPlanOptions = {},
): Record<string, unknown> {
  const tunnelSwitch = state.switches.find((s) => s.network === 'tunnel');
  if (!tunnelSwitch) throw new Error(`test bed ${state.name} has no tunnel switch`);

  const copy = (name: string, network: 'old' | 'new'): SwitchInfo => {
    const sw = state.switches.find((s) => s.name === name && s.network === network);
    if (!sw) throw new Error(`test bed ${state.name}: no ${network} copy of switch ${name}`);
    return sw;
  };
  const tunnelPortOf = (sw: SwitchInfo): PortInfo => {
    const port = sw.ports.find((p) => p.kind === 'tunnel');
    if (!port) throw new Error(`test bed ${state.name}: switch ${sw.bridge} has no tunnel port`);
    return port;
  };
  // T's port towards a given old/new switch.
  const tunnelSwitchPortTowards = (sw: SwitchInfo): number => {
    const port = tunnelSwitch.ports.find((p) => p.peer?.bridge === sw.bridge);
    if (!port) throw new Error(`test bed ${state.name}: tunnel switch has no port towards ${sw.bridge}`);
    return port.no;
  };

  const names = state.topology.switches.map((s) => s.name);
  const switches = names.map((name, index) => {
    const oldSw = copy(name, 'old');
    const newSw = copy(name, 'new');
    const ports = oldSw.ports
      .filter((p) => p.kind === 'host' || p.kind === 'link')
      .map((p) =>
        p.kind === 'host'
          ? { port: p.no, kind: 'host', name: p.host ?? p.name }
          : { port: p.no, kind: 'link', peer: { switch: p.peer!.switch, port: p.peer!.port } },
      );
    return {
      name,
      dpid: index + 1,
      ports,
      old: { dpid: oldSw.dpid, tunnelPort: tunnelPortOf(oldSw).no },
      new: { dpid: newSw.dpid, tunnelPort: tunnelPortOf(newSw).no },
    };
  });

  const tunnelPorts = Object.fromEntries(
    names.map((name) => [
      name,
      { old: tunnelSwitchPortTowards(copy(name, 'old')), new: tunnelSwitchPortTowards(copy(name, 'new')) },
    ]),
  );

  return {
    version: 1,
    algorithm: opts.algorithm ?? 'alap',
    blackoutMs: opts.blackoutMs ?? 0,
    mover: { kind: 'testbed' },
    tunnel: { encoding: state.tunnel.encap, managePorts: true },
    tunnelSwitch: { dpid: tunnelSwitch.dpid, ports: tunnelPorts },
    switches,
    hosts: state.hosts.map((h) => ({ name: h.name, mac: h.mac, ip: h.ip, switch: h.switch, port: h.port })),
  };
}

export function migrationPlanYaml(state: TestbedState, opts: MigrationPlanOptions = {}): string {
  const header =
    `# Migration plan for test bed "${state.name}" (written by vnm testbed plan).\n` +
    '# Virtual switch dpids are positions in the topology; old/new/tunnel dpids are the bridges built.\n';
  return header + stringify(migrationPlanFor(state, opts));
}
