// Finds every *.test.ts under src/ and test/ and runs them with Node's own test runner (tsx as loader).
// Node 20's `--test` does not expand globs, so the list is built here.
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';

function find(dir, out = []) {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) find(p, out);
    else if (name.endsWith('.test.ts')) out.push(p);
  }
  return out;
}

const filter = process.argv.slice(2);
let files = [...find('src'), ...find('test')].sort();
if (filter.length) files = files.filter((f) => filter.some((x) => f.includes(x)));
if (files.length === 0) {
  console.error('no test files found');
  process.exit(1);
}
const concurrency = process.env.TEST_CONCURRENCY ?? '2';
// Without TEST_DATABASE_URL every storage suite runs on SQLite only: its Postgres half is not even
// declared, so the runner's own summary cannot count it. Say so, before and after, with how to run it.
const postgresNote = process.env.TEST_DATABASE_URL
  ? `Postgres: on (TEST_DATABASE_URL is set): storage suites run on SQLite and on Postgres.`
  : 'Postgres: NOT RUN. TEST_DATABASE_URL is not set, so the storage suites ran on SQLite only; their\n' +
    'Postgres half (hundreds of tests) is not declared, so "skipped" above does not count it. To run it:\n' +
    '  TEST_DATABASE_URL=postgres://postgres@127.0.0.1:5432/test npm test';
if (!process.env.TEST_DATABASE_URL) console.error('note: TEST_DATABASE_URL is not set: the Postgres half of the storage suites will not run (see the end).\n');
const result = spawnSync(
  process.execPath,
  ['--import', 'tsx', '--test', `--test-concurrency=${concurrency}`, '--test-reporter=spec', ...files],
  { stdio: 'inherit', env: { ...process.env, NODE_ENV: 'test' } },
);
console.error(`\n${postgresNote}`);
process.exit(result.status ?? 1);
