// `vnm experiment`: run a migration experiment (one fresh test bed per algorithm) and report on it.
//
//   vnm experiment run SCENARIO.yaml [--json FILE] [--out DIR] [--algorithms none,asap,alap]
//                      [--tunnel-delay 1ms] [--tunnel-rate 100mbit] [--short]
//   vnm experiment paper [same flags]          the seed paper's experiment (examples/scenarios/paper.yaml)
//   vnm experiment check SCENARIO.yaml         validate a scenario and print its timeline
//   vnm experiment report RESULTS.json --out DIR   re-render a report from a results file
//
// Ctrl-C: the current run stops, traffic stops, the test bed is torn down; a second Ctrl-C exits at once.
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { type Command, InvalidArgumentError } from 'commander';
import { builtinAppNames } from '../../api/app-host.ts';
import { buildResults } from '../../experiment/build.ts';
import { Progress } from '../../experiment/progress.ts';
import { summaryText, writeReport } from '../../experiment/report.ts';
import type { Results } from '../../experiment/results.ts';
import { BUILTIN_APPS_DIR, experimentPasses, runExperiment } from '../../experiment/runner.ts';
import {
  ALGORITHMS,
  type AlgorithmName,
  applyOverrides,
  describeLinkModel,
  effectiveTopology,
  loadScenarioFile,
  type Scenario,
  trafficRounds,
} from '../../experiment/scenario.ts';
import { estimateRunMs, planTimeline } from '../../experiment/timeline.ts';
import { parseDuration, parseRate } from '../../testbed/topology.ts';
import { setLogLevel } from '../../util/log.ts';

export const PAPER_SCENARIO = fileURLToPath(
  new URL('../../../examples/scenarios/paper.yaml', import.meta.url),
);

interface RunFlags {
  json?: string;
  out?: string;
  algorithms?: AlgorithmName[];
  tunnelDelay?: number;
  tunnelRate?: number;
  short?: boolean;
  logLevel: string;
  progress: boolean;
}

function parseAlgorithms(v: string): AlgorithmName[] {
  const list = v
    .split(',')
    .map((x) => x.trim())
    .filter(Boolean);
  for (const a of list)
    if (!(ALGORITHMS as readonly string[]).includes(a))
      throw new InvalidArgumentError(`unknown algorithm '${a}' (use ${ALGORITHMS.join(', ')})`);
  if (list.length === 0) throw new InvalidArgumentError('no algorithm given');
  return [...new Set(list)] as AlgorithmName[];
}

function parseDelayFlag(v: string): number {
  const us = parseDuration(v);
  if (us === undefined) throw new InvalidArgumentError(`bad delay '${v}' (e.g. 1ms, 500us, 0)`);
  return us;
}

function parseRateFlag(v: string): number {
  if (v === '0' || v === 'none') return 0;
  const bps = parseRate(v);
  if (bps === undefined) throw new InvalidArgumentError(`bad rate '${v}' (e.g. 100mbit, 1gbit, none)`);
  return bps;
}

function addRunFlags(c: Command): Command {
  return c
    .option('--json <FILE>', 'write the results as JSON to FILE')
    .option('--out <DIR>', 'write report.md, report.html, the SVG charts and results.json into DIR')
    .option(
      '--algorithms <LIST>',
      `algorithms to run, comma-separated (${ALGORITHMS.join(', ')})`,
      parseAlgorithms,
    )
    .option(
      '--tunnel-delay <DELAY>',
      'one-way delay of each tunnel link (e.g. 1ms; 0 removes it)',
      parseDelayFlag,
    )
    .option(
      '--tunnel-rate <RATE>',
      'rate limit of each tunnel link (e.g. 100mbit; none removes it)',
      parseRateFlag,
    )
    .option(
      '--short',
      "shortened run (a quick check): phases of at most the scenario's short.phase (2 s), DNS at most 200 q/s, all traffic in one pass",
    )
    .option('--log-level <LEVEL>', 'log level on stderr (trace, debug, info, warn, error, silent)', 'warn')
    .option('--no-progress', 'no progress display');
}

function knownApps(): string[] {
  return builtinAppNames(BUILTIN_APPS_DIR);
}

async function runScenarioCommand(file: string, flags: RunFlags): Promise<void> {
  setLogLevel(flags.logLevel);
  const base = loadScenarioFile(file, { knownApps: knownApps() });
  const s = applyOverrides(base, {
    ...(flags.algorithms ? { algorithms: flags.algorithms } : {}),
    ...(flags.tunnelDelay !== undefined ? { tunnelDelayUs: flags.tunnelDelay } : {}),
    ...(flags.tunnelRate !== undefined ? { tunnelRateBps: flags.tunnelRate } : {}),
    short: !!flags.short,
  });
  if (process.getuid?.() !== 0) throw new Error('vnm experiment builds test beds: it needs root');
  const out = process.stdout;
  const lm = describeLinkModel(effectiveTopology(s));
  out.write(
    `vnm experiment ${s.name}: ${s.algorithms.join(', ')}${flags.short ? ' (short)' : ''}; topology ${s.topology.name} ` +
      `(${s.topology.switches.length} switches, ${s.topology.hosts.length} hosts); links: switch-switch ${lm.switch}, tunnel ${lm.tunnel}\n`,
  );
  const progress = new Progress({
    out,
    tty: flags.progress ? undefined : false,
    runEstimatesMs: experimentPasses(s).map((x) => estimateRunMs(s, x.algorithm)),
  });
  const ac = new AbortController();
  let signals = 0;
  const onSignal = (sig: NodeJS.Signals) => {
    signals++;
    if (signals === 1) {
      progress.note(`${sig}: stopping traffic and tearing down (again to exit at once)`);
      ac.abort();
    } else {
      process.stderr.write(
        `vnm: second ${sig}: exiting now; if a test bed is left over: vnm testbed list / vnm testbed down --all\n`,
      );
      process.exit(130);
    }
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  let results: Results;
  try {
    const outcome = await runExperiment(s, { progress, signal: ac.signal });
    results = buildResults(s, outcome.captures, { short: !!flags.short });
  } finally {
    progress.close();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
  out.write(`${summaryText(results)}\n`);
  if (flags.json) {
    writeFileSync(flags.json, `${JSON.stringify(results, null, 2)}\n`);
    out.write(`\nresults: ${flags.json}\n`);
  }
  if (flags.out) {
    const w = writeReport(results, flags.out);
    out.write(`report: ${flags.out}/report.html, report.md (${w.files.join(', ')})\n`);
  }
  if (ac.signal.aborted) process.exitCode = 130;
  else if (results.runs.some((r) => !r.ok)) process.exitCode = 1;
}

function describeScenario(s: Scenario): string {
  const lm = describeLinkModel(effectiveTopology(s));
  const lines = [
    `scenario ${s.name}${s.description ? ` — ${s.description}` : ''}`,
    `topology: ${s.topologyFile} (${s.topology.switches.length} switches, ${s.topology.hosts.length} hosts)`,
    `links: switch-switch ${lm.switch}; tunnel ${lm.tunnel}`,
    `apps: ${s.apps.map((a) => `${a.name}${Object.keys(a.options).length ? ` ${JSON.stringify(a.options)}` : ''}`).join(', ')}`,
    `algorithms: ${s.algorithms.join(', ')}`,
    `migration: ${s.migration.order.map((x) => x.join('+')).join(' -> ')}, blackout ${s.migration.blackoutMs} ms`,
    'traffic:',
    ...s.traffic.map((t) => `  ${t.id}: ${t.kind} ${t.from} -> ${t.to} (round ${t.round})`),
    'timeline:',
    ...planTimeline(s).map((it) =>
      it.type === 'wait'
        ? `  ${it.phase} ${it.ms / 1000} s`
        : `  [${it.action}${it.hosts ? ` ${it.hosts.join(', ')}` : ''}]`,
    ),
    `passes: ${experimentPasses(s)
      .map((x) => `${x.algorithm}${trafficRounds(s).length > 1 ? ` round ${x.round}` : ''}`)
      .join(', ')} (a fresh test bed each)`,
    `estimated time: ${Math.round(experimentPasses(s).reduce((a, x) => a + estimateRunMs(s, x.algorithm), 0) / 1000)} s`,
  ];
  return `${lines.join('\n')}\n`;
}

export function registerExperimentCommands(program: Command): void {
  const exp = program
    .command('experiment')
    .description(
      'Run a live-migration experiment (none / asap / alap, a fresh test bed each) and report on it',
    );

  addRunFlags(
    exp
      .command('run')
      .argument('<SCENARIO>', 'scenario file (YAML)')
      .description('Run the experiment a scenario file describes'),
  ).action((file: string, flags: RunFlags) => runScenarioCommand(file, flags));

  addRunFlags(
    exp
      .command('paper')
      .description(
        "The seed paper's experiment (examples/scenarios/paper.yaml): diamond, path-flipper, TCP + ping + DNS",
      ),
  ).action((flags: RunFlags) => runScenarioCommand(PAPER_SCENARIO, flags));

  exp
    .command('check')
    .argument('<SCENARIO>', 'scenario file (YAML)')
    .option('--short', 'show the shortened timeline')
    .description('Validate a scenario file and print its timeline')
    .action((file: string, o: { short?: boolean }) => {
      const s = applyOverrides(loadScenarioFile(file, { knownApps: knownApps() }), { short: !!o.short });
      process.stdout.write(describeScenario(s));
    });

  exp
    .command('report')
    .argument('<RESULTS>', 'results JSON written by --json')
    .requiredOption('--out <DIR>', 'directory for report.md, report.html and the charts')
    .description('Write the report (Markdown, HTML, SVG) from a results file')
    .action((file: string, o: { out: string }) => {
      const res = JSON.parse(readFileSync(file, 'utf8')) as Results;
      const w = writeReport(res, o.out);
      process.stdout.write(`report: ${o.out} (${w.files.join(', ')})\n`);
    });
}
