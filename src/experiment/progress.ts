// Progress display of `vnm experiment`: which run (algorithm n of N), what it is doing (building,
// converging, phase name), elapsed time in the phase and time left (run and total). On a terminal one
// status line is redrawn in place; otherwise (CI logs, pipes) one plain line per change.

export interface ProgressSink {
  runStart(algorithm: string, index: number, total: number): void;
  stage(text: string): void;
  /** A phase of the timeline begins; `plannedMs` is its planned length (0 for actions). */
  phase(name: string, plannedMs: number, timelineLeftMs: number): void;
  runEnd(algorithm: string, ok: boolean, summary: string): void;
  note(text: string): void;
  close(): void;
}

export interface ProgressOptions {
  out?: NodeJS.WritableStream & { isTTY?: boolean; columns?: number };
  tty?: boolean;
  /** Estimated length of each run (ms), for the total time left. */
  runEstimatesMs: number[];
  now?: () => number;
}

function fmtS(ms: number): string {
  if (!Number.isFinite(ms)) return '?';
  const s = Math.max(0, ms) / 1000;
  if (s < 60) return `${s.toFixed(s < 10 ? 1 : 0)} s`;
  const m = Math.floor(s / 60);
  return `${m} min ${Math.round(s - m * 60)} s`;
}

export class Progress implements ProgressSink {
  private readonly out: NodeJS.WritableStream & { isTTY?: boolean; columns?: number };
  private readonly tty: boolean;
  private readonly now: () => number;
  private readonly estimates: number[];
  private timer: NodeJS.Timeout | undefined;
  private run = { algorithm: '', index: 0, total: 0, startedAt: 0 };
  private stageText = '';
  private phaseInfo: { name: string; startedAt: number; plannedMs: number; timelineEndAt: number } | null =
    null;
  private lineShown = false;
  /** Between runs: nothing to redraw. */
  private idle = true;

  constructor(opts: ProgressOptions) {
    this.out = opts.out ?? process.stdout;
    this.tty = opts.tty ?? !!this.out.isTTY;
    this.now = opts.now ?? Date.now;
    this.estimates = opts.runEstimatesMs;
    if (this.tty) {
      this.timer = setInterval(() => this.redraw(), 250);
      this.timer.unref();
    }
  }

  /** Time left: this run's remaining estimate plus the later runs' estimates. */
  private left(): { run: number; total: number } {
    const i = this.run.index - 1;
    const est = this.estimates[i] ?? 0;
    let run = Math.max(0, est - (this.now() - this.run.startedAt));
    if (this.phaseInfo) run = Math.max(0, this.phaseInfo.timelineEndAt - this.now()) + 1500;
    const later = this.estimates.slice(i + 1).reduce((a, b) => a + b, 0);
    return { run, total: run + later };
  }

  private tag(): string {
    return `[${this.run.algorithm} ${this.run.index}/${this.run.total}]`;
  }

  private statusLine(): string {
    const l = this.left();
    let what = this.stageText;
    if (this.phaseInfo) {
      const el = this.now() - this.phaseInfo.startedAt;
      what = `phase ${this.phaseInfo.name} ${fmtS(el)}${this.phaseInfo.plannedMs > 0 ? ` / ${fmtS(this.phaseInfo.plannedMs)}` : ''}`;
    }
    return `${this.tag()} ${what} | run left ~${fmtS(l.run)}, all left ~${fmtS(l.total)}`;
  }

  private redraw(): void {
    if (!this.tty || !this.run.algorithm || this.idle) return;
    const width = Math.max(40, (this.out.columns || 120) - 1);
    const line = this.statusLine().slice(0, width);
    this.out.write(`\r\x1b[2K${line}`);
    this.lineShown = true;
  }

  private clearLine(): void {
    if (this.tty && this.lineShown) {
      this.out.write('\r\x1b[2K');
      this.lineShown = false;
    }
  }

  private print(text: string): void {
    this.clearLine();
    this.out.write(`${text}\n`);
    this.redraw();
  }

  runStart(algorithm: string, index: number, total: number): void {
    this.run = { algorithm, index, total, startedAt: this.now() };
    this.idle = false;
    this.phaseInfo = null;
    this.stageText = 'starting';
    this.print(`${this.tag()} run ${index} of ${total}: algorithm ${algorithm}`);
  }

  stage(text: string): void {
    this.stageText = text;
    this.phaseInfo = null;
    if (this.tty) this.redraw();
    else this.out.write(`${this.tag()} ${text}\n`);
  }

  phase(name: string, plannedMs: number, timelineLeftMs: number): void {
    const now = this.now();
    this.phaseInfo = { name, startedAt: now, plannedMs, timelineEndAt: now + timelineLeftMs };
    if (this.tty) this.redraw();
    else {
      const l = this.left();
      this.out.write(
        `${this.tag()} phase ${name}${plannedMs > 0 ? ` (${fmtS(plannedMs)})` : ''} | run left ~${fmtS(l.run)}, all left ~${fmtS(l.total)}\n`,
      );
    }
  }

  runEnd(algorithm: string, ok: boolean, summary: string): void {
    this.phaseInfo = null;
    this.stageText = ok ? 'done' : 'failed';
    this.idle = true;
    this.print(`[${algorithm} ${this.run.index}/${this.run.total}] ${ok ? 'done' : 'FAILED'}: ${summary}`);
  }

  note(text: string): void {
    this.print(text);
  }

  close(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    this.clearLine();
  }
}

/** A sink that shows nothing (library use, tests). */
export const silentProgress: ProgressSink = {
  runStart() {},
  stage() {},
  phase() {},
  runEnd() {},
  note() {},
  close() {},
};
