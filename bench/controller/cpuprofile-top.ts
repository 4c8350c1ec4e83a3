// Summarise a V8 CPU profile (node --cpu-prof): self time by function and by file, and the inclusive time
// of chosen functions. Used on the controller profiles of `npm run bench:controller -- --shim --cpu-prof-dir`.
//
//   node --import tsx bench/controller/cpuprofile-top.ts FILE.cpuprofile [--top 25] [--inclusive name1,name2]

import { readFileSync } from 'node:fs';
import { relative } from 'node:path';
import { parseArgs } from 'node:util';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}
interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

const { values: opt, positionals } = parseArgs({
  allowPositionals: true,
  options: { top: { type: 'string', default: '25' }, inclusive: { type: 'string', default: '' } },
});

const file = positionals[0];
if (!file) {
  process.stderr.write('usage: cpuprofile-top.ts FILE.cpuprofile [--top N] [--inclusive f1,f2]\n');
  process.exit(2);
}
const prof = JSON.parse(readFileSync(file, 'utf8')) as Profile;
const byId = new Map(prof.nodes.map((n) => [n.id, n]));
const parent = new Map<number, number>();
for (const n of prof.nodes) for (const c of n.children ?? []) parent.set(c, n.id);

const selfUs = new Map<number, number>();
prof.samples.forEach((id, i) => {
  selfUs.set(id, (selfUs.get(id) ?? 0) + (prof.timeDeltas[i] ?? 0));
});
const total = [...selfUs.values()].reduce((a, b) => a + b, 0);

const where = (f: CallFrame) => {
  const u = f.url.replace(/^file:\/\//, '');
  return u ? `${relative(process.cwd(), u)}:${f.lineNumber + 1}` : '';
};
const label = (f: CallFrame) => `${f.functionName || '(anonymous)'} ${where(f)}`.trim();

const fnSelf = new Map<string, number>();
const fileSelf = new Map<string, number>();
for (const [id, us] of selfUs) {
  const f = byId.get(id)!.callFrame;
  fnSelf.set(label(f), (fnSelf.get(label(f)) ?? 0) + us);
  const u = f.url
    ? relative(process.cwd(), f.url.replace(/^file:\/\//, ''))
    : `(${f.functionName || 'native'})`;
  fileSelf.set(u, (fileSelf.get(u) ?? 0) + us);
}

const pct = (us: number) => `${((us / total) * 100).toFixed(1).padStart(5)}%`;
const ms = (us: number) => `${(us / 1000).toFixed(0).padStart(7)} ms`;
const top = Number(opt.top);
process.stdout.write(`${file}: ${(total / 1e6).toFixed(2)} s sampled\n\nself time by function:\n`);
for (const [k, v] of [...fnSelf].sort((a, b) => b[1] - a[1]).slice(0, top))
  process.stdout.write(`  ${pct(v)} ${ms(v)}  ${k}\n`);
process.stdout.write('\nself time by file:\n');
for (const [k, v] of [...fileSelf].sort((a, b) => b[1] - a[1]).slice(0, top))
  process.stdout.write(`  ${pct(v)} ${ms(v)}  ${k}\n`);

// Inclusive time: samples whose stack contains a frame with that function name (counted once per sample).
const names = opt.inclusive!.split(',').filter(Boolean);
if (names.length > 0) {
  process.stdout.write('\ninclusive time:\n');
  const incl = new Map<string, number>(names.map((n) => [n, 0]));
  prof.samples.forEach((id, i) => {
    const seen = new Set<string>();
    for (let n: number | undefined = id; n !== undefined; n = parent.get(n)) {
      const fn = byId.get(n)!.callFrame.functionName;
      if (incl.has(fn) && !seen.has(fn)) {
        seen.add(fn);
        incl.set(fn, incl.get(fn)! + (prof.timeDeltas[i] ?? 0));
      }
    }
  });
  for (const [k, v] of incl) process.stdout.write(`  ${pct(v)} ${ms(v)}  ${k}\n`);
}
