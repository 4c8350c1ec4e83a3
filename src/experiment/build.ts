// From a scenario and the captures of its runs to the Results document (plus environment facts).
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { cpus, release } from 'node:os';
import {
  assembleRun,
  evaluateGoals,
  mergeRounds,
  pingPairs,
  type Results,
  type RunCapture,
  type RunResult,
} from './results.ts';
import { describeLinkModel, effectiveTopology, type Scenario } from './scenario.ts';

export const LINK_MODEL_NOTE =
  'Links inside each network are patch ports (ideal: no delay, no rate limit; forwarding is CPU-bound in the ' +
  'userspace datapath). Each old/new switch reaches the tunnel switch over its own veth link, so a tunnel ' +
  'crossing (old switch -> tunnel switch -> new switch) traverses two shaped links: twice the link delay one ' +
  'way. Rates use tc tbf in the kernel. This kernel has no tc netem: delay (and loss, jitter) is done by the ' +
  "test bed's link emulator (linkemu.py, a userspace forwarder between two veth pairs), which adds its own " +
  'processing time and CPU load to every tunnelled frame.';

function firstLine(cmd: string, args: string[]): string {
  try {
    const out = execFileSync(cmd, args, {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: 3000,
    });
    return (
      out
        .split('\n')
        .find((l) => l.trim())
        ?.trim() ?? '?'
    );
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string };
    const text = `${e.stdout ?? ''}\n${e.stderr ?? ''}`;
    return (
      text
        .split('\n')
        .find((l) => /\d+\.\d+/.test(l))
        ?.trim() ?? 'not found'
    );
  }
}

let envCache: Record<string, string | number> | undefined;

/** Versions and machine facts for the report (cached). */
export function environment(): Record<string, string | number> {
  if (envCache) return envCache;
  const c = cpus();
  let version = '?';
  try {
    version = (
      JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }
    ).version;
  } catch {}
  envCache = {
    vnm: version,
    node: process.version,
    kernel: release(),
    cpus: `${c.length} x ${c[0]?.model?.trim() ?? '?'}`,
    'open vswitch': firstLine('ovs-vswitchd', ['--version']).replace(/^ovs-vswitchd \(Open vSwitch\)\s*/, ''),
    iperf3: firstLine('iperf3', ['--version']).replace(/^iperf\s*/, ''),
    // dnsperf prints its version only when it runs: ask the package manager.
    dnsperf: firstLine('dpkg-query', ['-W', `-f=${'$'}{Version}`, 'dnsperf']).replace(/-\d+$/, ''),
    dnsmasq: (firstLine('dnsmasq', ['--version']).match(/\d+\.\d+(\.\d+)?/) ?? ['?'])[0],
  };
  return envCache;
}

export interface BuildOptions {
  short?: boolean;
  generatedAt?: Date;
  environment?: Record<string, string | number>;
}

export function buildResults(s: Scenario, captures: readonly RunCapture[], opts: BuildOptions = {}): Results {
  const topo = effectiveTopology(s);
  const lm = describeLinkModel(topo);
  const shaperNote = captures.flatMap((c) => c.notes).find((x) => x.startsWith('link shaping: '));
  const shaper = shaperNote
    ? shaperNote.slice('link shaping: '.length)
    : topo.tunnel.link.delayUs
      ? 'emulator'
      : 'tc tbf';
  const runs: RunResult[] = [];
  for (const alg of s.algorithms) {
    const rs = captures
      .filter((c) => c.algorithm === alg)
      .sort((a, b) => a.round - b.round)
      .map(assembleRun);
    if (rs.length > 0) runs.push(mergeRounds(rs));
  }
  const env = opts.environment ?? environment();
  const res: Results = {
    scenario: s.name,
    generated_at: (opts.generatedAt ?? new Date()).toISOString(),
    vnm_version: String(env.vnm ?? '?'),
    settings: {
      algorithms: [...s.algorithms],
      short: !!opts.short,
      blackout_ms: s.migration.blackoutMs,
      migration_order: s.migration.order.map((x) => [...x]),
      timing_s: {
        settle: s.timing.settleMs / 1000,
        before: s.timing.beforeMs / 1000,
        ...(s.timing.preparedMs > 0 ? { prepared: s.timing.preparedMs / 1000 } : {}),
        between: s.timing.betweenMs / 1000,
        beforeFinalize: s.timing.beforeFinalizeMs / 1000,
        after: s.timing.afterMs / 1000,
      },
      apps: s.apps.map((a) => ({ name: a.name, options: a.options })),
      traffic: s.traffic.map((t) => ({ ...t })),
    },
    link_model: { switch: lm.switch, tunnel: lm.tunnel, shaper, note: LINK_MODEL_NOTE },
    environment: env,
    runs,
  };
  if (s.description) res.description = s.description;
  if (s.file) res.scenario_file = s.file;
  if (s.reference) res.reference = s.reference;
  res.goals = evaluateGoals(runs, {
    order: s.migration.order,
    tunnelDelayUs: topo.tunnel.link.delayUs ?? 0,
    pingPairs: pingPairs(s),
  });
  return res;
}
