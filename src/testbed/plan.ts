// From a Topology to the full description of a test bed (bridges, datapath ids, ports, links, hosts,
// namespaces): pure, so the naming and numbering scheme is unit-tested without a network.
//
// Datapath ids (16 hex digits): PPPPPPPP NNNN IIII
//   PPPPPPPP = topology `dpidPrefix` (default 0), NNNN = 0001 old, 0002 new, 0003 tunnel switch,
//   IIII = 1-based position of the switch in `switches` (0001 for the tunnel switch).
//   e.g. old s3 = 0000000000010003, new s3 = 0000000000020003, T = 0000000000030001.
import { join } from 'node:path';
import {
  formatDpid,
  type LinkInfo,
  type PortInfo,
  STATE_VERSION,
  type SwitchInfo,
  type TestbedState,
} from './state.ts';
import { formatControllerSpec, names, type Topology, tunnelSwitchPortNo } from './topology.ts';

export const NET_CODE = { old: 1n, new: 2n, tunnel: 3n } as const;

export function dpidFor(prefix: number, network: 'old' | 'new' | 'tunnel', index: number): string {
  return formatDpid((BigInt(prefix) << 32n) | (NET_CODE[network] << 16n) | BigInt(index));
}

export interface PlanOptions {
  runDir: string;
  /** The file the topology came from (kept in the state for `status`). */
  topologyFile?: string;
}

/** The state of a bed about to be built (phase 'building', no pids yet). */
export function planTestbed(topo: Topology, opts: PlanOptions): TestbedState {
  const bed = topo.name;
  const tport = topo.tunnel.port;
  const switches: SwitchInfo[] = [];
  const links: LinkInfo[] = [];

  for (const net of ['old', 'new'] as const) {
    for (const s of topo.switches) {
      const bridge = names.bridge(net, s.name);
      const ports: PortInfo[] = [];
      for (const h of topo.hosts) {
        if (h.switch === s.name)
          ports.push({ no: h.port, name: names.hostSwitchIf(h.name), kind: 'host', host: h.name });
      }
      for (const l of topo.links) {
        const ends =
          l.a === s.name
            ? ([l.aPort, l.b, l.bPort] as const)
            : l.b === s.name
              ? ([l.bPort, l.a, l.aPort] as const)
              : null;
        if (!ends) continue;
        const [no, peer, peerPort] = ends;
        const p: PortInfo = {
          no,
          name: names.linkPort(net, s.name, peer),
          kind: 'link',
          peer: { switch: peer, network: net, bridge: names.bridge(net, peer), port: peerPort },
        };
        if (l.blocked) p.startsDown = true;
        ports.push(p);
      }
      ports.push({
        no: tport,
        name: names.tunnelPort(net, s.name),
        kind: 'tunnel',
        peer: {
          switch: 'T',
          network: 'tunnel',
          bridge: names.tunnelBridge,
          port: tunnelSwitchPortNo(net, s.index),
        },
        startsDown: true,
      });
      ports.sort((x, y) => x.no - y.no);
      switches.push({
        name: s.name,
        network: net,
        bridge,
        dpid: dpidFor(topo.dpidPrefix, net, s.index),
        ports,
      });
    }
    for (const l of topo.links) {
      links.push({
        network: net,
        kind: l.link.kind,
        spec: l.link,
        blocked: l.blocked,
        a: {
          switch: l.a,
          network: net,
          bridge: names.bridge(net, l.a),
          port: l.aPort,
          ifname: names.linkPort(net, l.a, l.b),
        },
        b: {
          switch: l.b,
          network: net,
          bridge: names.bridge(net, l.b),
          port: l.bPort,
          ifname: names.linkPort(net, l.b, l.a),
        },
      });
    }
  }

  // The tunnel switch: one port towards every old switch, one towards every new switch.
  const tports: PortInfo[] = [];
  for (const net of ['old', 'new'] as const) {
    for (const s of topo.switches) {
      const no = tunnelSwitchPortNo(net, s.index);
      tports.push({
        no,
        name: names.tunnelSwitchPort(net, s.name),
        kind: 'tunnel',
        peer: { switch: s.name, network: net, bridge: names.bridge(net, s.name), port: tport },
      });
      links.push({
        network: 'tunnel',
        kind: topo.tunnel.link.kind,
        spec: topo.tunnel.link,
        blocked: true,
        a: {
          switch: s.name,
          network: net,
          bridge: names.bridge(net, s.name),
          port: tport,
          ifname: names.tunnelPort(net, s.name),
        },
        b: {
          switch: 'T',
          network: 'tunnel',
          bridge: names.tunnelBridge,
          port: no,
          ifname: names.tunnelSwitchPort(net, s.name),
        },
      });
    }
  }
  tports.sort((x, y) => x.no - y.no);
  const tdpid = dpidFor(topo.dpidPrefix, 'tunnel', 1);
  switches.push({ name: 'T', network: 'tunnel', bridge: names.tunnelBridge, dpid: tdpid, ports: tports });

  const lab = names.labNamespace(bed);
  const hosts = topo.hosts.map((h) => ({
    name: h.name,
    namespace: names.hostNamespace(bed, h.name),
    ifname: names.hostIf,
    switchIfname: names.hostSwitchIf(h.name),
    ip: h.ip,
    prefixLen: h.prefixLen,
    mac: h.mac,
    switch: h.switch,
    port: h.port,
    network: 'old' as const,
  }));

  const ovsDir = join(opts.runDir, 'ovs');
  const state: TestbedState = {
    version: STATE_VERSION,
    name: bed,
    phase: 'building',
    runDir: opts.runDir,
    createdAt: new Date().toISOString(),
    topology: topo,
    labNamespace: lab,
    namespaces: [lab, ...hosts.map((h) => h.namespace)],
    ovs: {
      dir: ovsDir,
      dbSock: join(ovsDir, 'db.sock'),
      ovsdbCtl: join(ovsDir, 'ovsdb-server.ctl'),
      vswitchdCtl: join(ovsDir, 'ovs-vswitchd.ctl'),
    },
    controller: { spec: formatControllerSpec(topo.controller) },
    tunnel: { bridge: names.tunnelBridge, dpid: tdpid, encap: topo.tunnel.encap, switchPort: tport },
    switches,
    links,
    hosts,
  };
  if (opts.topologyFile) state.topologyFile = opts.topologyFile;
  return state;
}

/** Looks a switch up by topology name and network. */
export function findSwitch(
  state: TestbedState,
  name: string,
  network: 'old' | 'new' | 'tunnel',
): SwitchInfo | undefined {
  return state.switches.find((s) => s.name === name && s.network === network);
}
