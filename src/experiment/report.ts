// The experiment report: report.md and report.html (self-contained: CSS and SVG inline) plus the charts as
// SVG files, from a Results document. Both formats are rendered from one list of blocks.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PAPER_DNS_LOSS_PCT, PAPER_RTT_MS, PAPER_TCP_MBPS, PAPER_TITLE } from './paper.ts';
import type { PhaseResult, Results, RunResult } from './results.ts';
import { ALG_LABELS, dnsSvg, esc, rttSvg, throughputSvg } from './svg.ts';

export type Block =
  | { type: 'h'; level: 1 | 2 | 3; text: string }
  | { type: 'p'; text: string }
  | { type: 'list'; items: string[] }
  | { type: 'table'; head: string[]; rows: string[][]; caption?: string }
  | { type: 'figure'; file: string; svg: string; caption: string };

const STEADY_ORDER = ['before', 'prepared', 'one-migrated', 'all-migrated', 'after-finalize'];

function n(x: number | null | undefined, digits = 1): string {
  return x === null || x === undefined || !Number.isFinite(x) ? '—' : x.toFixed(digits);
}

function pct(x: number | null | undefined): string {
  return x === null || x === undefined ? '—' : `${x.toFixed(x !== 0 && x < 0.1 ? 3 : 2)} %`;
}

function rtt(avg: number | null | undefined, sd: number | null | undefined): string {
  if (avg === null || avg === undefined) return '—';
  return `${avg.toFixed(3)} (sd ${n(sd, 3)})`;
}

function label(alg: string): string {
  return ALG_LABELS[alg] ? `${alg} (${ALG_LABELS[alg]})` : alg;
}

/** Phase names in timeline order over all runs (steady phases of the migration runs first). */
export function phaseNames(runs: readonly RunResult[], kind: 'steady' | 'transition'): string[] {
  const names: string[] = [];
  const ordered = [...runs].sort(
    (a, b) => (a.algorithm === 'none' ? 1 : 0) - (b.algorithm === 'none' ? 1 : 0),
  );
  for (const r of ordered)
    for (const p of r.phases) if (p.kind === kind && !names.includes(p.name)) names.push(p.name);
  return names.sort((a, b) => {
    const ia = STEADY_ORDER.indexOf(a);
    const ib = STEADY_ORDER.indexOf(b);
    if (ia >= 0 && ib >= 0) return ia - ib;
    return 0;
  });
}

function phaseOf(r: RunResult, name: string): PhaseResult | undefined {
  return r.phases.find((p) => p.name === name);
}

export function reportBlocks(
  res: Results,
  svgs: { throughput: string | null; rtt: string | null; dns: string | null },
): Block[] {
  const b: Block[] = [];
  const paper = res.reference === 'paper';
  const runs = res.runs;
  const algs = runs.map((r) => r.algorithm);
  b.push({ type: 'h', level: 1, text: `Live migration experiment: ${res.scenario}` });
  if (res.description) b.push({ type: 'p', text: res.description });
  b.push({
    type: 'p',
    text: `Generated ${res.generated_at} by vnm ${res.vnm_version}${res.settings.short ? ' (shortened run: --short)' : ''}. Runs: ${algs.join(', ')}, each on a freshly built test bed.`,
  });

  // Setup
  b.push({ type: 'h', level: 2, text: 'Set-up' });
  const t = res.settings.timing_s;
  b.push({
    type: 'list',
    items: [
      `Apps: ${res.settings.apps.map((a) => `${a.name}${Object.keys(a.options).length ? ` ${JSON.stringify(a.options)}` : ''}`).join(', ')}`,
      `Link model: switch-switch ${res.link_model.switch}; tunnel links ${res.link_model.tunnel} (shaper: ${res.link_model.shaper}). ${res.link_model.note}`,
      `Migration: hosts in the order ${res.settings.migration_order.map((s) => s.join('+')).join(' → ')}, blackout ${res.settings.blackout_ms} ms per host move.`,
      `Traffic: ${res.settings.traffic.map(describeTraffic).join('; ')}.`,
      `Timing: ${Object.entries(t)
        .map(([k, v]) => `${k} ${v} s`)
        .join(', ')}.`,
      `Environment: ${Object.entries(res.environment)
        .map(([k, v]) => `${k} ${v}`)
        .join('; ')}.`,
    ],
  });

  // Summary
  b.push({ type: 'h', level: 2, text: 'Summary' });
  const head = ['', ...algs.map((a) => a)];
  if (paper) head.push('paper ASAP', 'paper ALAP');
  const rows: string[][] = [];
  for (const name of phaseNames(runs, 'steady')) {
    const row = [`TCP ${name} (Mbit/s)`, ...runs.map((r) => n(phaseOf(r, name)?.tcp_mbps))];
    if (paper) row.push(n(PAPER_TCP_MBPS.asap[name], 0), n(PAPER_TCP_MBPS.alap[name], 0));
    if (runs.some((r) => phaseOf(r, name)?.tcp_mbps !== null && phaseOf(r, name)?.tcp_mbps !== undefined))
      rows.push(row);
  }
  for (const w of ['before', 'during'] as const) {
    const row = [`RTT ${w} (ms)`, ...runs.map((r) => rtt(r.rtt_summary[w]?.avg_ms, r.rtt_summary[w]?.sd_ms))];
    if (paper)
      row.push(
        rtt(PAPER_RTT_MS.asap[w].avg, PAPER_RTT_MS.asap[w].sd),
        rtt(PAPER_RTT_MS.alap[w].avg, PAPER_RTT_MS.alap[w].sd),
      );
    rows.push(row);
  }
  const pr = (r: RunResult) => `${r.ping.lost} / ${r.ping.sent}`;
  rows.push(['ping lost / sent', ...runs.map(pr), ...(paper ? ['—', '—'] : [])]);
  rows.push([
    'ping lost outside blackouts',
    ...runs.map((r) => String(r.ping.lost_outside_blackout)),
    ...(paper ? ['—', '—'] : []),
  ]);
  rows.push([
    'DNS loss',
    ...runs.map((r) => (r.dns.sent > 0 ? `${pct(r.dns.loss_pct)} (${r.dns.lost} of ${r.dns.sent})` : '—')),
    ...(paper ? [pct(PAPER_DNS_LOSS_PCT.asap), pct(PAPER_DNS_LOSS_PCT.alap)] : []),
  ]);
  rows.push([
    'DNS lost outside blackouts',
    ...runs.map((r) => (r.dns.sent > 0 ? String(r.dns.lost_outside_blackout) : '—')),
    ...(paper ? ['—', '—'] : []),
  ]);
  rows.push([
    'host blackout total (ms)',
    ...runs.map((r) => n(r.blackout_ms_total, 0)),
    ...(paper ? ['—', '—'] : []),
  ]);
  rows.push([
    'flow-mods (group-mods) during traffic',
    ...runs.map((r) => `${r.flow_mods} (${r.group_mods})`),
    ...(paper ? ['—', '—'] : []),
  ]);
  rows.push([
    'status',
    ...runs.map((r) => (r.ok ? 'ok' : `FAILED: ${r.error ?? ''}`)),
    ...(paper ? ['', ''] : []),
  ]);
  b.push({ type: 'table', head, rows, caption: paper ? `Ours beside ${PAPER_TITLE}.` : undefined } as Block);

  // Figures
  if (svgs.throughput)
    b.push({
      type: 'figure',
      file: 'throughput.svg',
      svg: svgs.throughput,
      caption: `TCP throughput over time${paper ? " (the paper's Figure 6)" : ''}. Shaded bands: the phases (orange: migration actions — prepare, host moves, finalize; red: host blackouts). The \`none\` run follows the same timeline without migrating.`,
    });

  // Per phase
  b.push({ type: 'h', level: 2, text: 'Per phase' });
  b.push({
    type: 'p',
    text: "Steady phases: traffic only, between migration actions. Probes and queries count in the phase in which they were sent; throughput is the receiver's goodput averaged over the phase.",
  });
  const phaseTable = (name: string): Block => {
    const head2 = [
      'run',
      'span (s)',
      'TCP (Mbit/s)',
      'RTT avg (ms)',
      'RTT sd (ms)',
      'ping lost / sent',
      'DNS loss',
      'flow-mods',
    ];
    const rws: string[][] = [];
    for (const r of runs) {
      const p = phaseOf(r, name);
      if (!p) continue;
      rws.push([
        r.algorithm,
        `${p.start_s.toFixed(2)} – ${p.end_s.toFixed(2)}`,
        n(p.tcp_mbps),
        n(p.rtt_ms_avg, 3),
        n(p.rtt_ms_sd, 3),
        `${p.ping_lost} / ${p.ping_sent}`,
        p.dns_sent > 0 ? `${pct(p.dns_loss_pct)} (${p.dns_lost} / ${p.dns_sent})` : '—',
        String(p.flow_mods),
      ]);
    }
    if (paper && PAPER_TCP_MBPS.asap[name] !== undefined)
      for (const a of ['asap', 'alap'] as const) {
        const rt = name === 'before' ? PAPER_RTT_MS[a].before : undefined;
        rws.push([`paper ${a}`, '', n(PAPER_TCP_MBPS[a][name], 0), n(rt?.avg, 3), n(rt?.sd, 3), '', '', '']);
      }
    return { type: 'table', head: head2, rows: rws };
  };
  for (const name of phaseNames(runs, 'steady')) {
    b.push({ type: 'h', level: 3, text: `Phase ${name}` });
    b.push(phaseTable(name));
  }
  const trans = phaseNames(runs, 'transition');
  if (trans.length > 0) {
    b.push({ type: 'h', level: 3, text: 'Migration actions' });
    const rws: string[][] = [];
    for (const name of trans)
      for (const r of runs) {
        const p = phaseOf(r, name);
        if (!p) continue;
        rws.push([
          name,
          r.algorithm,
          ((p.end_s - p.start_s) * 1000).toFixed(0),
          n(p.tcp_mbps),
          n(p.rtt_ms_avg, 3),
          `${p.ping_lost} / ${p.ping_sent}`,
          p.dns_sent > 0 ? `${p.dns_lost} / ${p.dns_sent}` : '—',
          `${p.flow_mods} (${p.group_mods})`,
        ]);
      }
    b.push({
      type: 'table',
      head: [
        'action',
        'run',
        'took (ms)',
        'TCP (Mbit/s)',
        'RTT avg (ms)',
        'ping lost / sent',
        'DNS lost / sent',
        'flow-mods (group-mods)',
      ],
      rows: rws,
    });
  }

  // Table 1: RTT
  b.push({ type: 'h', level: 2, text: `Round-trip time${paper ? " (the paper's Table 1)" : ''}` });
  b.push({
    type: 'p',
    text: '"During" spans from the first migration action (prepare) to the end of finalize; for the `none` run the same span of its timeline. Average and standard deviation over every answered ping probe, in ms.',
  });
  const rttRows: string[][] = runs.map((r) => [
    r.algorithm,
    rtt(r.rtt_summary.before?.avg_ms, r.rtt_summary.before?.sd_ms),
    rtt(r.rtt_summary.during?.avg_ms, r.rtt_summary.during?.sd_ms),
    rtt(r.rtt_summary.after?.avg_ms, r.rtt_summary.after?.sd_ms),
    String((r.rtt_summary.before?.n ?? 0) + (r.rtt_summary.during?.n ?? 0) + (r.rtt_summary.after?.n ?? 0)),
  ]);
  if (paper)
    for (const a of ['asap', 'alap'] as const)
      rttRows.push([
        `paper ${a}`,
        rtt(PAPER_RTT_MS[a].before.avg, PAPER_RTT_MS[a].before.sd),
        rtt(PAPER_RTT_MS[a].during.avg, PAPER_RTT_MS[a].during.sd),
        '—',
        '—',
      ]);
  b.push({ type: 'table', head: ['run', 'before', 'during', 'after finalize', 'probes'], rows: rttRows });
  if (svgs.rtt)
    b.push({
      type: 'figure',
      file: 'rtt.svg',
      svg: svgs.rtt,
      caption: 'Ping RTT over time (mean per 100 ms); red ticks at the bottom: probes lost.',
    });

  // DNS
  b.push({ type: 'h', level: 2, text: 'DNS loss' });
  const dnsRows: string[][] = runs
    .filter((r) => r.dns.sent > 0)
    .map((r) => [
      r.algorithm,
      String(r.dns.sent),
      String(r.dns.completed),
      String(r.dns.lost),
      pct(r.dns.loss_pct),
      String(r.dns.lost_inside_blackout),
      `${r.dns.lost_outside_blackout} (${pct(r.dns.loss_outside_blackout_pct)})`,
    ]);
  if (paper)
    for (const a of ['asap', 'alap'] as const)
      dnsRows.push([`paper ${a}`, '~25,000', '', '', pct(PAPER_DNS_LOSS_PCT[a]), '', '']);
  if (dnsRows.length > 0) {
    b.push({
      type: 'table',
      head: ['run', 'sent', 'completed', 'lost', 'loss', 'lost inside blackouts', 'lost outside blackouts'],
      rows: dnsRows,
    });
    if (svgs.dns)
      b.push({
        type: 'figure',
        file: 'dns.svg',
        svg: svgs.dns,
        caption: 'DNS queries lost per phase and over the whole run.',
      });
  } else b.push({ type: 'p', text: 'No DNS traffic in this scenario.' });

  // The shim's own figures
  const shimRows: string[][] = [];
  for (const r of runs) {
    const st = shimStatus(r.migration_status);
    if (!st) continue;
    for (const ph of ['prepare', 'moves', 'finalize'] as const) {
      const f = st.phases?.[ph];
      if (!f) continue;
      shimRows.push([
        r.algorithm,
        ph,
        String(f.flowMods),
        String(f.groupMods),
        String(f.barriers),
        String(f.ms),
      ]);
    }
    const maxRules = Math.max(0, ...(st.switches ?? []).map((x) => x.maxRules ?? 0));
    shimRows.push([r.algorithm, 'most rules on one switch', String(maxRules), '', '', '']);
  }
  if (shimRows.length > 0) {
    b.push({ type: 'h', level: 2, text: 'Migration shim' });
    b.push({
      type: 'p',
      text: "Messages the shim sent for each migration phase and the time its operations took, from the shim's status at the end of the run (first round); the largest number of rules one switch held at once (rule-table overhead).",
    });
    b.push({
      type: 'table',
      head: ['run', 'phase', 'flow-mods', 'group-mods', 'barriers', 'ms'],
      rows: shimRows,
    });
  }

  // Goals
  if (res.goals && res.goals.length > 0) {
    b.push({ type: 'h', level: 2, text: 'Goals' });
    b.push({
      type: 'table',
      head: ['goal', 'run', 'met', 'detail'],
      rows: res.goals.map((g) => [
        g.goal,
        g.algorithm,
        g.met === null ? 'n/a' : g.met ? 'yes' : 'NO',
        g.detail,
      ]),
    });
  }

  // Runs
  b.push({ type: 'h', level: 2, text: 'Runs' });
  for (const r of runs) {
    b.push({ type: 'h', level: 3, text: label(r.algorithm) });
    const items = [
      `Status: ${r.ok ? 'ok' : `FAILED — ${r.error}`}`,
      `Started ${r.started_at}; traffic ${r.duration_s.toFixed(1)} s; build ${r.timings.build_s.toFixed(1)} s, convergence ${r.timings.converge_s.toFixed(1)} s, teardown ${r.timings.teardown_s.toFixed(1)} s.`,
      `Blackouts: ${r.blackouts.length === 0 ? 'none' : r.blackouts.map((x) => `${x.host} ${x.start_s.toFixed(2)}–${x.end_s.toFixed(2)} s`).join(', ')}${r.blackouts_approximate ? ' (approximate: whole host step)' : ''}.`,
      `Flow-mods: ${r.flow_mods_setup} while converging, ${r.flow_mods} during traffic (${Object.entries(
        Object.fromEntries(r.phases.map((p) => [p.name, p.flow_mods])),
      )
        .map(([k, v]) => `${k} ${v}`)
        .join(', ')}).`,
      ...r.notes.map((x) => `Note: ${x}`),
    ];
    b.push({ type: 'list', items });
    b.push({
      type: 'table',
      head: ['flow', 'kind', 'from → to', 'result'],
      rows: r.flows.map((f) => [f.id, f.kind, `${f.from} → ${f.to}`, flowSummary(f)]),
    });
  }
  return b;
}

interface ShimStatusView {
  phases?: Record<string, { flowMods: number; groupMods: number; barriers: number; ms: number }>;
  switches?: { maxRules?: number }[];
}

/** The shim's MigrationStatus of a run (the first round's when there are several). */
function shimStatus(x: unknown): ShimStatusView | null {
  const st = Array.isArray(x) ? x[0] : x;
  return st && typeof st === 'object' && 'phases' in st ? (st as ShimStatusView) : null;
}

function describeTraffic(t: Results['settings']['traffic'][number]): string {
  if (t.kind === 'ping') return `ping ${t.from} → ${t.to} every ${t.intervalMs} ms`;
  if (t.kind === 'dns') return `DNS ${t.from} → ${t.to} (dnsmasq) at ${t.qps} q/s, timeout ${t.timeoutMs} ms`;
  return `${t.kind.toUpperCase()} ${t.from} → ${t.to} (iperf3${t.rateBps ? `, ${t.rateBps / 1e6} Mbit/s` : ''}${t.parallel > 1 ? `, ${t.parallel} streams` : ''})`;
}

function flowSummary(f: RunResult['flows'][number]): string {
  const w = f.error ? ` — error: ${f.error}` : '';
  if (f.kind === 'ping')
    return `${f.answered ?? 0} / ${f.sent ?? 0} answered, lost ${f.lost ?? 0} (inside blackouts ${f.lost_inside_blackout ?? 0}, outside ${f.lost_outside_blackout ?? 0}), RTT ${rtt(f.rtt_ms_avg, f.rtt_ms_sd)} ms${w}`;
  if (f.kind === 'dns')
    return `${f.completed ?? 0} / ${f.sent ?? 0} answered, loss ${pct(f.loss_pct)} (outside blackouts ${f.lost_outside_blackout ?? 0})${w}`;
  return `${n(f.mbps_avg)} Mbit/s${f.retransmits !== undefined ? `, ${f.retransmits} retransmits` : ''}${w}`;
}

// ---------------------------------------------------------------------------------------------------
// Renderers

function mdCell(s: string): string {
  return s.replace(/\|/g, '\\|').replace(/\n/g, ' ');
}

export function renderMarkdown(blocks: readonly Block[]): string {
  const out: string[] = [];
  for (const b of blocks) {
    if (b.type === 'h') out.push(`${'#'.repeat(b.level)} ${b.text}`, '');
    else if (b.type === 'p') out.push(b.text, '');
    else if (b.type === 'list') out.push(...b.items.map((i) => `- ${i}`), '');
    else if (b.type === 'table') {
      out.push(`| ${b.head.map(mdCell).join(' | ')} |`);
      out.push(`| ${b.head.map((_, i) => (i === 0 ? '---' : '---:')).join(' | ')} |`);
      for (const r of b.rows) out.push(`| ${r.map(mdCell).join(' | ')} |`);
      if (b.caption) out.push('', `*${b.caption}*`);
      out.push('');
    } else if (b.type === 'figure')
      out.push(`![${b.file.replace(/\.svg$/, '')}](${b.file})`, '', `*${b.caption}*`, '');
  }
  return `${out.join('\n').trimEnd()}\n`;
}

function inlineMd(s: string): string {
  // Only backticks are used as markup in the report text.
  return esc(s).replace(/`([^`]+)`/g, '<code>$1</code>');
}

const CSS = `
body { font-family: Helvetica, Arial, sans-serif; max-width: 1060px; margin: 2em auto; padding: 0 1em; color: #222; line-height: 1.45; }
h1 { font-size: 1.7em; margin-bottom: 0.3em; } h2 { margin-top: 1.8em; border-bottom: 1px solid #ddd; padding-bottom: 0.2em; }
table { border-collapse: collapse; margin: 0.8em 0; font-size: 0.92em; }
th, td { border: 1px solid #ccc; padding: 4px 9px; text-align: right; vertical-align: top; }
th:first-child, td:first-child { text-align: left; } th { background: #f0f2f5; }
tr:nth-child(even) td { background: #fafbfc; }
figure { margin: 1.2em 0; } figure svg { max-width: 100%; height: auto; border: 1px solid #eee; }
figcaption { font-size: 0.9em; color: #555; margin-top: 0.3em; }
caption { caption-side: bottom; font-size: 0.85em; color: #555; text-align: left; padding-top: 4px; }
code { background: #f3f3f3; padding: 0 3px; border-radius: 3px; }
`;

export function renderHtml(blocks: readonly Block[], title: string): string {
  const out: string[] = [
    '<!DOCTYPE html>',
    '<html lang="en"><head><meta charset="utf-8">',
    `<title>${esc(title)}</title>`,
    `<style>${CSS}</style>`,
    '</head><body>',
  ];
  for (const b of blocks) {
    if (b.type === 'h') out.push(`<h${b.level}>${inlineMd(b.text)}</h${b.level}>`);
    else if (b.type === 'p') out.push(`<p>${inlineMd(b.text)}</p>`);
    else if (b.type === 'list')
      out.push(`<ul>${b.items.map((i) => `<li>${inlineMd(i)}</li>`).join('')}</ul>`);
    else if (b.type === 'table') {
      out.push('<table>');
      if (b.caption) out.push(`<caption>${inlineMd(b.caption)}</caption>`);
      out.push(`<thead><tr>${b.head.map((h) => `<th>${inlineMd(h)}</th>`).join('')}</tr></thead><tbody>`);
      for (const r of b.rows) out.push(`<tr>${r.map((c) => `<td>${inlineMd(c)}</td>`).join('')}</tr>`);
      out.push('</tbody></table>');
    } else if (b.type === 'figure') {
      const svg = b.svg.replace(/^<\?xml[^>]*>\s*/, '');
      out.push(`<figure>${svg}<figcaption>${inlineMd(b.caption)}</figcaption></figure>`);
    }
  }
  out.push('</body></html>', '');
  return out.join('\n');
}

export interface WrittenReport {
  dir: string;
  files: string[];
}

/** Writes report.md, report.html, results.json and the SVG charts into `dir`. */
export function writeReport(res: Results, dir: string): WrittenReport {
  mkdirSync(dir, { recursive: true });
  const svgs = { throughput: throughputSvg(res), rtt: rttSvg(res), dns: dnsSvg(res) };
  const blocks = reportBlocks(res, svgs);
  const files: string[] = [];
  const put = (name: string, content: string) => {
    writeFileSync(join(dir, name), content);
    files.push(name);
  };
  put('report.md', renderMarkdown(blocks));
  put('report.html', renderHtml(blocks, `vnm experiment ${res.scenario}`));
  if (svgs.throughput) put('throughput.svg', svgs.throughput);
  if (svgs.rtt) put('rtt.svg', svgs.rtt);
  if (svgs.dns) put('dns.svg', svgs.dns);
  put('results.json', `${JSON.stringify(res, null, 2)}\n`);
  return { dir, files };
}

/** A compact plain-text table per run for the terminal. */
export function summaryText(res: Results): string {
  const lines: string[] = [];
  for (const r of res.runs) {
    lines.push('');
    lines.push(`${label(r.algorithm)}: ${r.ok ? 'ok' : `FAILED — ${r.error}`}`);
    const head = [
      'phase',
      'span s',
      'TCP Mbit/s',
      'RTT ms avg',
      'sd',
      'ping lost/sent',
      'DNS loss',
      'flow-mods',
    ];
    const rows = r.phases.map((p) => [
      p.kind === 'transition' ? `  ${p.name}` : p.name,
      `${p.start_s.toFixed(1)}-${p.end_s.toFixed(1)}`,
      n(p.tcp_mbps),
      n(p.rtt_ms_avg, 3),
      n(p.rtt_ms_sd, 3),
      `${p.ping_lost}/${p.ping_sent}`,
      p.dns_sent > 0 ? `${p.dns_lost}/${p.dns_sent}` : '-',
      String(p.flow_mods),
    ]);
    const widths = head.map((h, i) => Math.max(h.length, ...rows.map((x) => x[i]!.length)));
    const fmt = (cells: string[]) =>
      cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
    lines.push(`  ${fmt(head)}`);
    for (const row of rows) lines.push(`  ${fmt(row)}`);
    lines.push(
      `  ping: ${r.ping.lost}/${r.ping.sent} lost (${r.ping.lost_outside_blackout} outside blackouts); ` +
        `DNS: ${r.dns.sent > 0 ? `${r.dns.lost}/${r.dns.sent} lost = ${pct(r.dns.loss_pct)} (${r.dns.lost_outside_blackout} outside blackouts)` : 'none'}; ` +
        `blackout ${n(r.blackout_ms_total, 0)} ms; flow-mods ${r.flow_mods}`,
    );
  }
  if (res.goals && res.goals.length > 0) {
    lines.push('', 'Goals:');
    for (const g of res.goals)
      lines.push(
        `  [${g.met === null ? 'n/a' : g.met ? ' ok' : 'NO '}] ${g.algorithm}: ${g.goal} — ${g.detail}`,
      );
  }
  return lines.join('\n');
}
