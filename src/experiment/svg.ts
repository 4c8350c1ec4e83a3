// Charts of an experiment as standalone SVG (no dependency): the TCP throughput trace with the phases
// marked (the paper's Figure 6), the ping RTT over time, and the DNS loss per phase. One panel per run,
// stacked on a shared time axis and a shared value scale, so that runs compare at a glance.
import { PAPER_DNS_LOSS_PCT } from './paper.ts';
import type { Results, RunResult } from './results.ts';

export const ALG_COLORS: Record<string, string> = { none: '#4d4d4d', asap: '#e66101', alap: '#5e3c99' };
export const ALG_LABELS: Record<string, string> = {
  none: 'no migration',
  asap: 'Tunnel ASAP',
  alap: 'Tunnel ALAP',
};
const FONT = "font-family='Helvetica, Arial, sans-serif'";
const W = 1000;
const ML = 78;
const MR = 24;
const PANEL_H = 170;
const PANEL_GAP = 40;
const HEADER_H = 92;
const FOOTER_H = 58;
const BAND_COLORS = ['#eef1f5', '#ffffff'];
const ACTION_COLOR = '#fdd9b5';
const BLACKOUT_COLOR = '#d7191c';

export function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

const f1 = (x: number) => (Math.round(x * 10) / 10).toString();

/** Round numbers for an axis: about `count` ticks from 0 (or min) to at least max. */
export function niceTicks(min: number, max: number, count = 5): number[] {
  if (!(max > min)) max = min + 1;
  const raw = (max - min) / count;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? 10 * mag;
  const out: number[] = [];
  const start = Math.floor(min / step) * step;
  for (let i = 0; i < 1000; i++) {
    const v = Math.round((start + i * step) / step) * step;
    out.push(Number(v.toPrecision(12)));
    if (v >= max - 1e-12) break;
  }
  return out;
}

function fmtTick(v: number): string {
  if (v === 0) return '0';
  const a = Math.abs(v);
  if (a >= 100) return v.toFixed(0);
  if (a >= 10) return f1(v);
  if (a >= 1) return (Math.round(v * 100) / 100).toString();
  return (Math.round(v * 1000) / 1000).toString();
}

function text(
  x: number,
  y: number,
  s: string,
  opts: {
    size?: number;
    anchor?: 'start' | 'middle' | 'end';
    weight?: string;
    fill?: string;
    halo?: boolean;
    rotate?: number;
  } = {},
): string {
  const size = opts.size ?? 13;
  const attrs = [
    `x='${x.toFixed(1)}'`,
    `y='${y.toFixed(1)}'`,
    FONT,
    `font-size='${size}'`,
    `text-anchor='${opts.anchor ?? 'start'}'`,
    `fill='${opts.fill ?? '#222'}'`,
  ];
  if (opts.weight) attrs.push(`font-weight='${opts.weight}'`);
  if (opts.halo) attrs.push("stroke='#ffffff' stroke-width='3' paint-order='stroke' stroke-linejoin='round'");
  if (opts.rotate) attrs.push(`transform='rotate(${opts.rotate} ${x.toFixed(1)} ${y.toFixed(1)})'`);
  return `<text ${attrs.join(' ')}>${esc(s)}</text>`;
}

function textWidth(s: string, size: number): number {
  return s.length * size * 0.55;
}

interface PanelCtx {
  x: (t: number) => number;
  y: (v: number) => number;
  top: number;
  bottom: number;
  left: number;
  right: number;
}

interface Bands {
  phases: { name: string; kind: 'steady' | 'transition'; start_s: number; end_s: number }[];
  blackouts: { host: string; start_s: number; end_s: number }[];
}

/** Phase boundaries and blackouts of the round that measured a series (the run's own when unknown). */
function bandsOf(run: RunResult, round: number | undefined): Bands {
  const r = round === undefined ? undefined : run.rounds?.find((x) => x.round === round);
  return r ? { phases: r.phases, blackouts: r.blackouts } : { phases: run.phases, blackouts: run.blackouts };
}

/** Phase bands, blackout windows and boundary lines of one run, with steady phase labels on top. */
function phaseBands(run: Bands, p: PanelCtx): string {
  const out: string[] = [];
  let k = 0;
  for (const ph of run.phases) {
    const x0 = Math.max(p.left, p.x(ph.start_s));
    const x1 = Math.min(p.right, p.x(ph.end_s));
    if (x1 <= x0) continue;
    const fill = ph.kind === 'transition' ? ACTION_COLOR : BAND_COLORS[k++ % 2]!;
    out.push(
      `<rect x='${x0.toFixed(1)}' y='${p.top}' width='${(x1 - x0).toFixed(1)}' height='${p.bottom - p.top}' fill='${fill}'/>`,
    );
  }
  for (const b of run.blackouts) {
    const x0 = Math.max(p.left, p.x(b.start_s));
    const x1 = Math.min(p.right, p.x(b.end_s));
    out.push(
      `<rect x='${x0.toFixed(1)}' y='${p.top}' width='${Math.max(1.5, x1 - x0).toFixed(1)}' height='${p.bottom - p.top}' fill='${BLACKOUT_COLOR}' fill-opacity='0.35'/>`,
    );
  }
  for (const ph of run.phases.slice(1)) {
    const x = p.x(ph.start_s);
    if (x <= p.left || x >= p.right) continue;
    out.push(
      `<line x1='${x.toFixed(1)}' y1='${p.top}' x2='${x.toFixed(1)}' y2='${p.bottom}' stroke='#8a8a8a' stroke-width='0.8' stroke-dasharray='3 3'/>`,
    );
  }
  return out.join('\n');
}

/** A shorter label for a phase band too narrow for its name. */
export function shortPhaseName(name: string): string {
  if (name === 'one-migrated') return '1 moved';
  if (name === 'all-migrated') return 'all moved';
  if (name === 'after-finalize') return 'after';
  const m = /^migrated-(\d+)$/.exec(name);
  return m ? `${m[1]} moved` : name;
}

function phaseLabels(run: Bands, p: PanelCtx): string {
  const out: string[] = [];
  for (const ph of run.phases) {
    if (ph.kind !== 'steady') continue;
    const x0 = Math.max(p.left, p.x(ph.start_s));
    const x1 = Math.min(p.right, p.x(ph.end_s));
    const name = textWidth(ph.name, 11) <= x1 - x0 - 2 ? ph.name : shortPhaseName(ph.name);
    if (textWidth(name, 11) > x1 - x0 - 2) continue;
    out.push(text((x0 + x1) / 2, p.top + 14, name, { size: 11, anchor: 'middle', fill: '#333', halo: true }));
  }
  return out.join('\n');
}

function yAxis(p: PanelCtx, ticks: number[], label: string): string {
  const out: string[] = [];
  for (const v of ticks) {
    const y = p.y(v);
    out.push(
      `<line x1='${p.left}' y1='${y.toFixed(1)}' x2='${p.right}' y2='${y.toFixed(1)}' stroke='#000' stroke-opacity='0.1'/>`,
    );
    out.push(text(p.left - 6, y + 4, fmtTick(v), { size: 12, anchor: 'end', fill: '#444' }));
  }
  out.push(
    text(18, (p.top + p.bottom) / 2, label, { size: 12, anchor: 'middle', fill: '#444', rotate: -90 }),
  );
  return out.join('\n');
}

function xAxis(p: PanelCtx, xmax: number, withLabels: boolean): string {
  const out: string[] = [];
  for (const t of niceTicks(0, xmax, 10)) {
    if (t > xmax + 1e-9) continue;
    const x = p.x(t);
    out.push(
      `<line x1='${x.toFixed(1)}' y1='${p.bottom}' x2='${x.toFixed(1)}' y2='${p.bottom + 5}' stroke='#444'/>`,
    );
    if (withLabels)
      out.push(text(x, p.bottom + 19, fmtTick(t), { size: 12, anchor: 'middle', fill: '#444' }));
  }
  return out.join('\n');
}

function frame(p: PanelCtx): string {
  return `<rect x='${p.left}' y='${p.top}' width='${p.right - p.left}' height='${p.bottom - p.top}' fill='none' stroke='#444' stroke-width='1'/>`;
}

interface LegendItem {
  label: string;
  kind: 'line' | 'dash' | 'box';
  color: string;
  opacity?: number;
}

function legend(items: LegendItem[], y: number): string {
  const out: string[] = [];
  let x = ML;
  for (const it of items) {
    if (it.kind === 'box')
      out.push(
        `<rect x='${x}' y='${y - 10}' width='22' height='13' fill='${it.color}' fill-opacity='${it.opacity ?? 1}' stroke='#888' stroke-width='0.5'/>`,
      );
    else
      out.push(
        `<line x1='${x}' y1='${y - 4}' x2='${x + 22}' y2='${y - 4}' stroke='${it.color}' stroke-width='${it.kind === 'dash' ? 1.5 : 3}'${it.kind === 'dash' ? " stroke-dasharray='5 3'" : ''}/>`,
      );
    out.push(text(x + 28, y, it.label, { size: 13 }));
    x += 28 + textWidth(it.label, 13) + 22;
  }
  return out.join('\n');
}

function svgDoc(height: number, body: string[], title: string): string {
  return [
    `<svg xmlns='http://www.w3.org/2000/svg' width='${W}' height='${height}' viewBox='0 0 ${W} ${height}' role='img'>`,
    `<title>${esc(title)}</title>`,
    `<rect width='${W}' height='${height}' fill='#ffffff'/>`,
    ...body,
    '</svg>',
    '',
  ].join('\n');
}

function panels(
  runs: readonly RunResult[],
): { run: RunResult; ctx: (xmax: number, ymax: number) => PanelCtx }[] {
  return runs.map((run, i) => {
    const top = HEADER_H + i * (PANEL_H + PANEL_GAP) + PANEL_GAP - 16;
    const bottom = top + PANEL_H;
    return {
      run,
      ctx: (xmax: number, ymax: number) => ({
        top,
        bottom,
        left: ML,
        right: W - MR,
        x: (t: number) => ML + (Math.max(0, Math.min(t, xmax)) / xmax) * (W - MR - ML),
        y: (v: number) => bottom - (Math.max(0, Math.min(v, ymax)) / ymax) * PANEL_H,
      }),
    };
  });
}

function header(title: string, subtitle: string): string[] {
  return [
    text(ML, 26, title, { size: 18, weight: 'bold' }),
    text(ML, 46, subtitle, { size: 13, fill: '#555' }),
  ];
}

function chartHeight(n: number): number {
  return HEADER_H + n * (PANEL_H + PANEL_GAP) + FOOTER_H - 10;
}

/** The common time range of the panels: the longest run (or round), at least 1 s. */
function timeRange(runs: readonly RunResult[]): number {
  return Math.max(
    ...runs.flatMap((r) => (r.rounds?.length ? r.rounds.map((x) => x.duration_s) : [r.duration_s])),
    1,
  );
}

/** The legend of a time-series chart: one line per algorithm, `extra`, then the action and blackout boxes. */
function timeSeriesLegend(runs: readonly RunResult[], extra: LegendItem): string {
  const algs = [...new Set(runs.map((r) => r.algorithm))];
  return legend(
    [
      ...algs.map((a) => ({
        label: ALG_LABELS[a] ?? a,
        kind: 'line' as const,
        color: ALG_COLORS[a] ?? '#000',
      })),
      extra,
      { label: 'migration action', kind: 'box', color: ACTION_COLOR },
      { label: 'host blackout', kind: 'box', color: BLACKOUT_COLOR, opacity: 0.35 },
    ],
    72,
  );
}

/** Ends a run's panel: phase labels, frame, time axis (numbered on the last panel) and the panel title. */
function endPanel(
  body: string[],
  p: PanelCtx,
  bands: Bands,
  xmax: number,
  last: boolean,
  title: string,
  color: string,
): void {
  body.push(phaseLabels(bands, p));
  body.push(frame(p));
  body.push(xAxis(p, xmax, last));
  body.push(text(p.left, p.top - 8, title, { size: 14, weight: 'bold', fill: color }));
}

/** A time-series chart's document: the time-axis caption under the last panel, then the SVG. */
function timeSeriesDoc(
  body: string[],
  ps: ReturnType<typeof panels>,
  xmax: number,
  ymax: number,
  title: string,
): string {
  const last = ps[ps.length - 1]!.ctx(xmax, ymax);
  body.push(
    text((ML + W - MR) / 2, last.bottom + 40, 'time since traffic start (s)', {
      size: 13,
      anchor: 'middle',
      fill: '#333',
    }),
  );
  return svgDoc(chartHeight(ps.length), body, title);
}

/** The iperf3 report interval of the first series, rounded to 10 ms (its first interval may be partial). */
function reportInterval(runs: readonly RunResult[]): string {
  const pts = runs[0]?.series.throughput[0]?.points ?? [];
  const p = pts[1] ?? pts[0];
  return p ? String(Math.round(((p[1] - p[0]) * 1000) / 10) * 10) : '?';
}

/** TCP (and UDP) throughput over time, one panel per run: the paper's Figure 6. Null when no run has any. */
export function throughputSvg(results: Results): string | null {
  const runs = results.runs.filter((r) => r.series.throughput.some((s) => s.points.length > 0));
  if (runs.length === 0) return null;
  const xmax = timeRange(runs);
  let vmax = 0;
  for (const r of runs)
    for (const s of r.series.throughput) for (const p of s.points) vmax = Math.max(vmax, p[2]);
  const ticks = niceTicks(0, vmax * 1.12 || 1, 4);
  const ymax = ticks[ticks.length - 1]!;
  const body: string[] = header(
    'TCP throughput during the migration',
    `scenario ${results.scenario} — receiver goodput per ${reportInterval(runs)} ms report interval; dashed: phase mean`,
  );
  body.push(timeSeriesLegend(runs, { label: 'phase mean', kind: 'dash', color: '#111' }));
  const ps = panels(runs);
  ps.forEach(({ run, ctx }, i) => {
    const p = ctx(xmax, ymax);
    const color = ALG_COLORS[run.algorithm] ?? '#000';
    const bands = bandsOf(run, run.series.throughput[0]?.round);
    body.push(phaseBands(bands, p));
    body.push(yAxis(p, ticks, 'Mbit/s'));
    run.series.throughput.forEach((s, j) => {
      const d: string[] = [];
      for (const [a, b, v] of s.points) {
        d.push(`${d.length === 0 ? 'M' : 'L'}${p.x(a).toFixed(1)},${p.y(v).toFixed(1)}`);
        d.push(`L${p.x(b).toFixed(1)},${p.y(v).toFixed(1)}`);
      }
      body.push(
        `<path d='${d.join(' ')}' fill='none' stroke='${color}' stroke-width='2.2' stroke-linejoin='round'${j > 0 ? " stroke-dasharray='6 3'" : ''}/>`,
      );
    });
    // Phase means (steady phases).
    for (const ph of run.phases) {
      if (ph.kind !== 'steady' || ph.tcp_mbps === null) continue;
      const at = bands.phases.find((b) => b.name === ph.name) ?? ph;
      const x0 = p.x(at.start_s);
      const x1 = p.x(at.end_s);
      if (x1 - x0 < 8) continue;
      const y = p.y(ph.tcp_mbps);
      body.push(
        `<line x1='${x0.toFixed(1)}' y1='${y.toFixed(1)}' x2='${x1.toFixed(1)}' y2='${y.toFixed(1)}' stroke='#111' stroke-width='1.5' stroke-dasharray='5 3'/>`,
      );
      const label = fmtTick(ph.tcp_mbps);
      if (textWidth(label, 12) < x1 - x0 - 4)
        body.push(
          text(x1 - 4, Math.max(p.top + 30, y - 5), label, {
            size: 12,
            anchor: 'end',
            weight: 'bold',
            halo: true,
          }),
        );
    }
    const mean = run.tcp.mbps_avg;
    const title = `${ALG_LABELS[run.algorithm] ?? run.algorithm}${mean !== null ? ` — mean ${fmtTick(mean)} Mbit/s` : ''}${run.ok ? '' : ' — FAILED'}`;
    endPanel(body, p, bands, xmax, i === ps.length - 1, title, color);
  });
  return timeSeriesDoc(body, ps, xmax, ymax, `TCP throughput — ${results.scenario}`);
}

/** Pooled RTT bins over a run's ping flows: [t, avg, max, lost]. */
function pooledRtt(run: RunResult): [number, number | null, number | null, number][] {
  const by = new Map<number, { sum: number; n: number; max: number | null; lost: number }>();
  for (const s of run.series.rtt)
    for (const [t, avg, max, lost] of s.points) {
      const b = by.get(t) ?? { sum: 0, n: 0, max: null, lost: 0 };
      if (avg !== null) {
        b.sum += avg;
        b.n++;
      }
      if (max !== null) b.max = Math.max(b.max ?? 0, max);
      b.lost += lost;
      by.set(t, b);
    }
  return [...by.entries()]
    .sort((a, b) => a[0] - b[0])
    .map(([t, b]) => [t, b.n > 0 ? b.sum / b.n : null, b.max, b.lost]);
}

function percentile(xs: number[], q: number): number {
  if (xs.length === 0) return 0;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * (s.length - 1)))]!;
}

/** Ping RTT over time (100 ms bins), one panel per run; lost probes as red ticks. Null without ping. */
export function rttSvg(results: Results): string | null {
  const runs = results.runs.filter((r) => r.series.rtt.some((s) => s.points.length > 0));
  if (runs.length === 0) return null;
  const xmax = timeRange(runs);
  const pooled = new Map(runs.map((r) => [r, pooledRtt(r)]));
  // The scale follows the steady phases (spikes around host moves are drawn at the top, marked ▲).
  const avgs: number[] = [];
  for (const [r, pts] of pooled) {
    const bands = bandsOf(r, r.series.rtt[0]?.round);
    const steady = bands.phases.filter((ph) => ph.kind === 'steady');
    for (const p of pts)
      if (p[1] !== null && steady.some((ph) => p[0] >= ph.start_s && p[0] < ph.end_s)) avgs.push(p[1]);
  }
  const cap = Math.max(0.5, percentile(avgs, 0.99) * 1.4);
  const ticks = niceTicks(0, cap, 4);
  const ymax = ticks[ticks.length - 1]!;
  const body: string[] = header(
    'Ping round-trip time during the migration',
    `scenario ${results.scenario} — mean RTT per 100 ms (all ping flows); values above ${fmtTick(ymax)} ms drawn at the top (▲)`,
  );
  body.push(timeSeriesLegend(runs, { label: 'probe lost', kind: 'box', color: BLACKOUT_COLOR }));
  const ps = panels(runs);
  ps.forEach(({ run, ctx }, i) => {
    const p = ctx(xmax, ymax);
    const color = ALG_COLORS[run.algorithm] ?? '#000';
    const bands = bandsOf(run, run.series.rtt[0]?.round);
    body.push(phaseBands(bands, p));
    body.push(yAxis(p, ticks, 'RTT (ms)'));
    const pts = pooled.get(run)!;
    const d: string[] = [];
    let pen = false;
    const over: string[] = [];
    const lost: string[] = [];
    for (const [t, avg, , l] of pts) {
      if (avg === null) {
        pen = false;
      } else {
        d.push(`${pen ? 'L' : 'M'}${p.x(t + 0.05).toFixed(1)},${p.y(avg).toFixed(1)}`);
        pen = true;
        if (avg > ymax) {
          const x = p.x(t + 0.05);
          over.push(
            `<path d='M${(x - 4).toFixed(1)},${p.top + 9} L${(x + 4).toFixed(1)},${p.top + 9} L${x.toFixed(1)},${p.top + 2} Z' fill='${color}'/>`,
          );
        }
      }
      if (l > 0) {
        const x = p.x(t + 0.05);
        lost.push(
          `<line x1='${x.toFixed(1)}' y1='${p.bottom}' x2='${x.toFixed(1)}' y2='${p.bottom - 10}' stroke='${BLACKOUT_COLOR}' stroke-width='2'/>`,
        );
      }
    }
    body.push(
      `<path d='${d.join(' ')}' fill='none' stroke='${color}' stroke-width='1.6' stroke-linejoin='round'/>`,
    );
    body.push(...over, ...lost);
    const rs = run.rtt_summary;
    const sub =
      rs.before && rs.during
        ? ` — before ${rs.before.avg_ms.toFixed(3)} ms, during ${rs.during.avg_ms.toFixed(3)} ms`
        : '';
    endPanel(
      body,
      p,
      bands,
      xmax,
      i === ps.length - 1,
      `${ALG_LABELS[run.algorithm] ?? run.algorithm}${sub}`,
      color,
    );
  });
  return timeSeriesDoc(body, ps, xmax, ymax, `Ping RTT — ${results.scenario}`);
}

/** DNS loss (%) per steady phase and over the whole run, bars per algorithm (+ the paper's). */
export function dnsSvg(results: Results): string | null {
  const runs = results.runs.filter((r) => r.dns.sent > 0);
  if (runs.length === 0) return null;
  const groups: string[] = [];
  for (const r of runs)
    for (const p of r.phases) if (p.kind === 'steady' && !groups.includes(p.name)) groups.push(p.name);
  const ACTIONS = 'migration actions';
  if (runs.some((r) => r.phases.some((p) => p.kind === 'transition'))) groups.push(ACTIONS);
  groups.push('whole run');
  type Bar = { label: string; color: string; value: number; paper?: boolean; n: number };
  const bars: Bar[][] = groups.map((g) => {
    const out: Bar[] = runs.map((r) => {
      if (g === 'whole run')
        return {
          label: r.algorithm,
          color: ALG_COLORS[r.algorithm] ?? '#000',
          value: r.dns.loss_pct,
          n: r.dns.sent,
        };
      if (g === ACTIONS) {
        const ts = r.phases.filter((p) => p.kind === 'transition');
        const sent = ts.reduce((a, p) => a + p.dns_sent, 0);
        const lost = ts.reduce((a, p) => a + p.dns_lost, 0);
        return {
          label: r.algorithm,
          color: ALG_COLORS[r.algorithm] ?? '#000',
          value: sent > 0 ? (100 * lost) / sent : 0,
          n: sent,
        };
      }
      const ph = r.phases.find((p) => p.name === g);
      return {
        label: r.algorithm,
        color: ALG_COLORS[r.algorithm] ?? '#000',
        value: ph?.dns_loss_pct ?? 0,
        n: ph?.dns_sent ?? 0,
      };
    });
    if (g === 'whole run' && results.reference === 'paper')
      for (const a of ['asap', 'alap'] as const)
        out.push({
          label: `paper ${a}`,
          color: ALG_COLORS[a]!,
          value: PAPER_DNS_LOSS_PCT[a],
          paper: true,
          n: 25_000,
        });
    return out;
  });
  const vmax = Math.max(0.5, ...bars.flat().map((b) => b.value));
  const ticks = niceTicks(0, vmax * 1.2, 4);
  const ymax = ticks[ticks.length - 1]!;
  const H = 420;
  const top = HEADER_H + 10;
  const bottom = H - 70;
  const p: PanelCtx = {
    top,
    bottom,
    left: ML,
    right: W - MR,
    x: (t) => t,
    y: (v) => bottom - (Math.min(v, ymax) / ymax) * (bottom - top),
  };
  const body: string[] = header(
    'DNS queries lost',
    `scenario ${results.scenario} — % of the queries sent in each phase; migration actions = prepare + host moves + finalize`,
  );
  body.push(
    `<defs><pattern id='hatch' width='6' height='6' patternUnits='userSpaceOnUse' patternTransform='rotate(45)'><rect width='6' height='6' fill='#ffffff'/><line x1='0' y1='0' x2='0' y2='6' stroke='#555' stroke-width='3'/></pattern></defs>`,
  );
  const algs = [...new Set(runs.map((r) => r.algorithm))];
  body.push(
    legend(
      [
        ...algs.map((a) => ({
          label: ALG_LABELS[a] ?? a,
          kind: 'box' as const,
          color: ALG_COLORS[a] ?? '#000',
        })),
        ...(results.reference === 'paper'
          ? [{ label: "the paper's (whole run)", kind: 'box' as const, color: 'url(#hatch)' }]
          : []),
      ],
      72,
    ),
  );
  body.push(yAxis(p, ticks, 'queries lost (%)'));
  // Group widths follow their bar counts, so that the "whole run" group (with the paper's bars) has room.
  const GAP = 1.2;
  const units = bars.reduce((a, bs) => a + bs.length + GAP, 0);
  const unit = (p.right - p.left) / units;
  const bw = Math.min(40, unit);
  let gx = p.left;
  groups.forEach((g, gi) => {
    const bs = bars[gi]!;
    const gw = (bs.length + GAP) * unit;
    const x0 = gx + (gw - bw * bs.length) / 2;
    bs.forEach((b, bi) => {
      const x = x0 + bi * bw;
      const y = p.y(b.value);
      const h = Math.max(b.value > 0 ? 1.5 : 0, p.bottom - y);
      body.push(
        `<rect x='${(x + 2).toFixed(1)}' y='${(p.bottom - h).toFixed(1)}' width='${(bw - 4).toFixed(1)}' height='${h.toFixed(1)}' fill='${b.paper ? 'url(#hatch)' : b.color}' stroke='${b.color}' stroke-width='${b.paper ? 2 : 0}'/>`,
      );
      const label = b.value === 0 ? '0' : b.value < 0.01 ? '<0.01' : b.value.toFixed(2);
      body.push(text(x + bw / 2, p.bottom - h - 5, label, { size: 11, anchor: 'middle', fill: '#222' }));
    });
    body.push(text(gx + gw / 2, p.bottom + 20, g, { size: 12, anchor: 'middle', fill: '#333' }));
    if (gi > 0)
      body.push(
        `<line x1='${gx.toFixed(1)}' y1='${p.top}' x2='${gx.toFixed(1)}' y2='${p.bottom}' stroke='#000' stroke-opacity='0.12'/>`,
      );
    gx += gw;
  });
  body.push(frame(p));
  body.push(
    text((ML + W - MR) / 2, H - 20, 'phase (queries counted in the phase in which they were sent)', {
      size: 13,
      anchor: 'middle',
      fill: '#333',
    }),
  );
  return svgDoc(H, body, `DNS loss — ${results.scenario}`);
}
