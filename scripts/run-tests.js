#!/usr/bin/env node
// Runs the test suites with node's own test runner (TypeScript through tsx).
// Unit tests run in parallel; end-to-end tests (real Open vSwitch, namespaces) run one file at a time
// because each builds a network on a 2-core machine.
//   npm test            -> unit + e2e (e2e needs root and Open vSwitch; see README)
//   npm test -- --unit  -> unit tests only
//   npm test -- FILE... -> just these files
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

const args = process.argv.slice(2);
const unitOnly = args.includes('--unit');
const explicit = args.filter((a) => !a.startsWith('--'));

function findTests(dir) {
  let out = [];
  for (const name of readdirSync(dir).sort()) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) out = out.concat(findTests(path));
    else if (name.endsWith('.test.ts')) out.push(path);
  }
  return out;
}

function run(files, concurrency) {
  if (files.length === 0) return 0;
  const r = spawnSync(
    process.execPath,
    ['--import', 'tsx', '--test', `--test-concurrency=${concurrency}`, '--test-reporter=spec', ...files],
    { stdio: 'inherit' },
  );
  return r.status ?? 1;
}

if (explicit.length > 0) process.exit(run(explicit, 1));
const unit = findTests('test/unit');
const e2e = unitOnly ? [] : findTests('test/e2e');
// One invocation so the runner prints a single summary (pass/fail counts) that CI can read.
process.exit(run([...unit, ...e2e], 1));
