// What `vnm testbed status` shows: the state plus whether its processes and namespaces are still there.
import { cmdline, isAlive, namespaceExists } from './procs.ts';
import type { PortInfo, TestbedState } from './state.ts';
import { describeLink } from './topology.ts';

export interface TestbedHealth {
  ovsdbServer: boolean;
  ovsVswitchd: boolean;
  relay?: boolean;
  emulator?: boolean;
  /** Namespaces that are missing. */
  missingNamespaces: string[];
  ok: boolean;
}

function alive(pid: number | undefined, needle: string): boolean {
  return pid !== undefined && isAlive(pid) && (cmdline(pid)?.includes(needle) ?? false);
}

export function testbedHealth(st: TestbedState): TestbedHealth {
  const h: TestbedHealth = {
    ovsdbServer: alive(st.ovs.ovsdbPid, st.ovs.dir),
    ovsVswitchd: alive(st.ovs.vswitchdPid, st.ovs.dir),
    missingNamespaces: st.namespaces.filter((n) => !namespaceExists(n)),
    ok: true,
  };
  if (st.controller.relay) h.relay = alive(st.controller.relay.pid, st.controller.relay.socket);
  if (st.emulator) h.emulator = alive(st.emulator.pid, st.emulator.config);
  h.ok =
    st.phase === 'up' &&
    h.ovsdbServer &&
    h.ovsVswitchd &&
    h.relay !== false &&
    h.emulator !== false &&
    h.missingNamespaces.length === 0;
  return h;
}

function table(rows: string[][]): string {
  const widths: number[] = [];
  for (const r of rows) {
    r.forEach((c, i) => {
      widths[i] = Math.max(widths[i] ?? 0, c.length);
    });
  }
  return rows
    .map((r) => `  ${r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join('  ')}`)
    .join('\n');
}

function portText(p: PortInfo): string {
  let s = `${p.no}:${p.name}`;
  if (p.kind === 'host') s += `(${p.host})`;
  else if (p.peer) s += `(->${p.peer.bridge}:${p.peer.port})`;
  if (p.startsDown) s += '*';
  return s;
}

/** Human-readable status. */
export function formatStatus(st: TestbedState, health: TestbedHealth): string {
  const out: string[] = [];
  out.push(`test bed ${st.name}: ${st.phase}${health.ok ? '' : ' (UNHEALTHY)'}   run dir ${st.runDir}`);
  if (st.topologyFile) out.push(`topology: ${st.topologyFile}`);
  const ctl = st.controller;
  let c = `controller: ${ctl.spec}`;
  if (ctl.relay) c += ` via relay pid ${ctl.relay.pid}${health.relay ? '' : ' (NOT RUNNING)'}`;
  if (ctl.target) c += ` (switches connect to ${ctl.target})`;
  out.push(c);
  out.push(
    `lab namespace: ${st.labNamespace}   ovsdb-server pid ${st.ovs.ovsdbPid ?? '-'}${health.ovsdbServer ? '' : ' (NOT RUNNING)'}` +
      `   ovs-vswitchd pid ${st.ovs.vswitchdPid ?? '-'}${health.ovsVswitchd ? '' : ' (NOT RUNNING)'}`,
  );
  out.push(
    `OVS_RUNDIR=${st.ovs.dir}   (ovs-ofctl -O OpenFlow13 dump-flows o-s1; ovs-vsctl --db=unix:${st.ovs.dbSock} show)`,
  );
  if (st.emulator)
    out.push(
      `link emulator pid ${st.emulator.pid}${health.emulator ? '' : ' (NOT RUNNING)'} (delay/jitter/loss without tc netem)`,
    );
  if (health.missingNamespaces.length > 0)
    out.push(`MISSING namespaces: ${health.missingNamespaces.join(', ')}`);
  out.push('');
  out.push(
    'switches (port:name(->peer switch:port), * = starts OpenFlow-down: tunnel ports, blocked links):',
  );
  out.push(
    table([
      ['SWITCH', 'NETWORK', 'BRIDGE', 'DPID', 'PORTS'],
      ...st.switches.map((s) => [s.name, s.network, s.bridge, s.dpid, s.ports.map(portText).join(' ')]),
    ]),
  );
  out.push('');
  const topo = st.topology;
  out.push(
    `links: switch-switch default ${describeLink(topo.link)}; tunnel (${st.tunnel.encap}, port ${st.tunnel.switchPort} on every switch) ${describeLink(topo.tunnel.link)}`,
  );
  const special = topo.links.filter((l) => l.blocked || describeLink(l.link) !== describeLink(topo.link));
  for (const l of special) {
    out.push(
      `  ${l.a}:${l.aPort} - ${l.b}:${l.bPort}  ${describeLink(l.link)}${l.blocked ? ' blocked' : ''}`,
    );
  }
  out.push('');
  out.push('hosts:');
  out.push(
    table([
      ['HOST', 'IP', 'MAC', 'NETWORK', 'SWITCH', 'BRIDGE', 'PORT', 'NAMESPACE'],
      ...st.hosts.map((h) => [
        h.name,
        `${h.ip}/${h.prefixLen}`,
        h.mac,
        h.network,
        h.switch,
        `${h.network === 'old' ? 'o' : 'n'}-${h.switch}`,
        String(h.port),
        h.namespace,
      ]),
    ]),
  );
  return out.join('\n');
}
