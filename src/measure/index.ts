// The measurement layer: traffic runners (ping, iperf3, dnsmasq + dnsperf) in network namespaces, their
// timelines with absolute times, and pure analysis (blackout loss split, per-phase figures).
export * from './analysis.ts';
export * from './dns.ts';
export * from './hosts.ts';
export * from './iperf.ts';
export * from './netns.ts';
export * from './ping.ts';
export {
  killAllMeasureProcesses,
  liveMeasureProcessCount,
  ManagedProcess,
  runCommand,
  type SpawnOptions,
  type StopOptions,
  spawnManaged,
  wrapCommand,
} from './proc.ts';
export type * from './types.ts';
