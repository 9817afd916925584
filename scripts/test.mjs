#!/usr/bin/env node
// Runs the whole test suite with Node's test runner (TypeScript through tsx), two files at a time.
// Usage: npm test [-- <file or folder>...]. Prints a closing "N passed, N failed, N skipped" line.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

function collect(path) {
  if (statSync(path).isDirectory()) {
    return readdirSync(path)
      .sort()
      .flatMap((name) => collect(join(path, name)));
  }
  return path.endsWith('.test.ts') ? [path] : [];
}

const roots = process.argv.slice(2);
const files = (roots.length > 0 ? roots : ['test']).flatMap(collect);
if (files.length === 0) {
  console.error('no test files found');
  process.exit(1);
}

const scratch = mkdtempSync(join(tmpdir(), 'vigil-test-'));
const tap = join(scratch, 'report.tap');
const result = spawnSync(
  process.execPath,
  [
    '--import',
    'tsx',
    '--test',
    `--test-concurrency=${process.env.VIGIL_TEST_CONCURRENCY ?? '2'}`,
    // A test that hangs fails after five minutes instead of stalling the run (the slowest takes ~20 s).
    '--test-timeout=300000',
    '--test-reporter=spec',
    '--test-reporter-destination=stdout',
    '--test-reporter=tap',
    `--test-reporter-destination=${tap}`,
    ...files,
  ],
  { stdio: 'inherit', env: process.env },
);

const report = readFileSync(tap, 'utf8');
const count = (name) =>
  Number(
    /^# (\w+) (\d+)$/m.test(report) ? (report.match(new RegExp(`^# ${name} (\\d+)$`, 'm'))?.[1] ?? 0) : 0,
  );
const passed = count('pass');
const failed = count('fail') + count('cancelled');
const skipped = count('skipped') + count('todo');
rmSync(scratch, { recursive: true, force: true });
console.log(`${passed} passed, ${failed} failed, ${skipped} skipped`);
process.exit(result.status === 0 && failed === 0 ? 0 : 1);
