// Long fuzz run of the OpenFlow 1.3 decoder: random messages and mutations of valid ones (the of13
// vectors and generated messages). Checks the decoder contract on every input (see
// test/unit/openflow/fuzz-lib.ts) and reports throughput, outcomes, the most common rejections and
// the slowest input.
//
//   npm run fuzz:codec                 # 2,000,000 cases
//   npm run fuzz:codec -- 500000 --seed 7
//
// Exit status 1 if any input violates the contract; the offending inputs are written as hex to
// fuzz-failures.txt in the current directory.

import { writeFileSync } from 'node:fs';
import { checkInput, mutate, randomMessage, seedCorpus, xorshift } from '../test/unit/openflow/fuzz-lib.ts';

const args = process.argv.slice(2);
const seedAt = args.indexOf('--seed');
const seed = seedAt >= 0 ? Number(args[seedAt + 1]) : Date.now() & 0x7fffffff;
const positional = args.filter((a, i) => !a.startsWith('--') && (seedAt < 0 || i !== seedAt + 1));
const total = positional[0] ? Number(positional[0].replace(/_/g, '')) : 2_000_000;
if (!Number.isInteger(total) || total <= 0) {
  console.error('usage: fuzz-codec [CASES] [--seed N]');
  process.exit(2);
}

const corpus = seedCorpus(2_000, seed);
const rnd = xorshift(seed);
console.log(
  `fuzz-codec: ${total.toLocaleString('en')} cases, seed ${seed}, corpus of ${corpus.length} valid messages`,
);

let decoded = 0;
let rejected = 0;
let worstMs = 0;
let worstHex = '';
const rejections = new Map<string, number>();
const failures: string[] = [];
const start = performance.now();
let lastReport = start;

for (let i = 0; i < total; i++) {
  const input = i % 4 === 0 ? randomMessage(rnd, 160) : mutate(corpus[rnd() % corpus.length]!, rnd);
  const t = performance.now();
  try {
    const err = checkInput(input);
    if (err) {
      rejected++;
      const key = `${err.messageType} ${err.field.replace(/\[\d+\]/g, '[]')}`;
      rejections.set(key, (rejections.get(key) ?? 0) + 1);
    } else {
      decoded++;
    }
  } catch (e) {
    failures.push(`${(e as Error).message.split('\n')[0]}\n${Buffer.from(input).toString('hex')}`);
    if (failures.length >= 20) break;
  }
  const dt = performance.now() - t;
  if (dt > worstMs) {
    worstMs = dt;
    worstHex = Buffer.from(input).toString('hex');
  }
  if (t - lastReport > 5_000) {
    lastReport = t;
    console.log(`  ${(i + 1).toLocaleString('en')} cases, ${failures.length} failure(s)`);
  }
}

const secs = (performance.now() - start) / 1000;
const done = decoded + rejected + failures.length;
console.log(
  `\n${done.toLocaleString('en')} cases in ${secs.toFixed(1)} s (${Math.round(done / secs).toLocaleString('en')}/s)`,
);
console.log(`  decoded and re-encoded consistently: ${decoded.toLocaleString('en')}`);
console.log(`  rejected with OfDecodeError:        ${rejected.toLocaleString('en')}`);
console.log(`  contract violations:                ${failures.length}`);
console.log(`  slowest input: ${worstMs.toFixed(2)} ms (${worstHex.length / 2} bytes)`);
console.log('  most common rejections (message field):');
for (const [k, n] of [...rejections].sort((a, b) => b[1] - a[1]).slice(0, 12)) {
  console.log(`    ${String(n).padStart(9)}  ${k}`);
}
if (failures.length > 0) {
  writeFileSync('fuzz-failures.txt', `${failures.join('\n\n')}\n`);
  console.log(`\nFAILED: ${failures.length} violation(s), written to fuzz-failures.txt (seed ${seed})`);
  console.log(failures[0]);
  process.exit(1);
}
console.log('\nOK: no contract violation');
