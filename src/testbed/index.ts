// The test bed layer: builds an old and a new OpenFlow network (plus a tunnel switch between them) on a
// private Open vSwitch from a topology file, with hosts in network namespaces; moves hosts between the
// networks; tears everything down. See docs/testbed.md.
//
//   const tb = await upTestbed('examples/topologies/paper.yaml', { controller: 'unix:/tmp/ctl.sock' });
//   await tb.exec('h1', ['ping', '-c', '1', tb.host('h2').ip]);
//   const child = tb.spawn('h2', ['iperf3', '-s', '-1']);          // long-running, killed by down()
//   const moved = await tb.moveHost('h1', 'new', { blackoutMs: 200 });
//   await tb.down();
//
// or, in tests, `await withTestbed(topology, async (tb) => { ... })`, which always tears down.
export {
  CommandError,
  execInNamespace,
  formatArgv,
  inNamespace,
  mapLimit,
  type RunOptions,
  type RunResult,
  run,
  sleep,
  spawnInNamespace,
} from './exec.ts';
export { isKnownTestbed, pickTestbed, resolveHost, testbedHostResolver } from './lookup.ts';
export { OFPPC, OFPPS, type OfPortDesc, ofPortSession } from './ofport.ts';
export { dpidFor, findSwitch, planTestbed } from './plan.ts';
export { namespaceExists, pidsInNamespaces, pidsWithCmdline } from './procs.ts';
export { RELAY_SCRIPT } from './relay.ts';
export {
  type BedListing,
  defaultRunDir,
  formatDpid,
  type HostInfo,
  type HostNetwork,
  type LinkEnd,
  type LinkInfo,
  listTestbeds,
  type NetworkName,
  type PortInfo,
  type PortPeer,
  parseDpid,
  readState,
  resolveRunDir,
  runBase,
  type SwitchInfo,
  type TestbedState,
  testbedsDir,
} from './state.ts';
export { formatStatus, type TestbedHealth, testbedHealth } from './status.ts';
export {
  downTestbed,
  findLeftovers,
  LINK_EMULATOR,
  loadTestbed,
  loadTopologyFile,
  type MoveOptions,
  type MoveResult,
  START_DOWN_MASK,
  Testbed,
  teardownState,
  type UpOptions,
  upTestbed,
  withTestbed,
} from './testbed.ts';
export {
  type ControllerSpec,
  deriveMac,
  describeLink,
  formatIssue,
  type LinkSpec,
  names,
  parseControllerSpec,
  parseDuration,
  parseRate,
  parseTopology,
  type TopoHost,
  type TopoLink,
  type Topology,
  TopologyError,
  type TopologyIssue,
  type TopoSwitch,
} from './topology.ts';
