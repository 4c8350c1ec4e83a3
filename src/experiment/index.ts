// The experiment layer: scenario files, the runner (test bed + controller + apps + migration shim +
// traffic, one fresh network per algorithm), results assembly, report (Markdown, HTML, SVG charts).
// Orchestration on top of testbed, measure, runtime and shim. See docs/experiment.md.
export { buildResults, environment, LINK_MODEL_NOTE } from './build.ts';
export { countingApi, type ModCounter } from './counting.ts';
export {
  type ExperimentDriver,
  loadMigrationFactory,
  type MigrationFactory,
  type MigrationSession,
  type MigrationSetup,
  MigrationUnavailableError,
  setMigrationFactory,
} from './migration.ts';
export { PAPER_DNS_LOSS_PCT, PAPER_RTT_MS, PAPER_TCP_MBPS, PAPER_TITLE } from './paper.ts';
export { Progress, type ProgressSink, silentProgress } from './progress.ts';
export { type Block, renderHtml, renderMarkdown, reportBlocks, summaryText, writeReport } from './report.ts';
export * from './results.ts';
export {
  AbortedError,
  assignPorts,
  bedNameFor,
  type ExperimentOutcome,
  experimentPasses,
  runExperiment,
  runOne,
  trafficPairs,
} from './runner.ts';
export * from './scenario.ts';
export { dnsSvg, niceTicks, rttSvg, throughputSvg } from './svg.ts';
export * from './timeline.ts';
