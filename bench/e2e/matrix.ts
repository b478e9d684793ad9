/**
 * The configurations users meet, measured one after the other in one sitting with run.ts: the default
 * process settings (the headline, bench/results/e2e-<db>.txt), the concurrency-64 figure it is compared
 * with, caps of 10 and 1, a mock provider answering in 100 ms, and a two-task process. Writes each
 * configuration's own result files (e2e-<db>-<label>.*) and a side-by-side summary,
 * bench/results/e2e-matrix-<db>.txt. See bench/e2e/README.md.
 *
 *   npx tsx bench/e2e/matrix.ts [--db sqlite|postgres|both] [--quick] [--no-build]
 *
 * Run it under `flock /tmp/bench.lock` on a shared machine.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';

const { values: args } = parseArgs({
  options: {
    db: { type: 'string', default: 'both' },
    /** One measured run per configuration (results labelled "-quick", apart from the kept ones). */
    quick: { type: 'boolean', default: false },
    'no-build': { type: 'boolean', default: false },
  },
});
const ROOT = resolve(import.meta.dirname, '../..');
const RESULTS = join(ROOT, 'bench/results');

interface Config {
  /** '' for the headline (default settings): its files keep the plain e2e-<db> name. */
  label: string;
  what: string;
  args: string[];
}

/**
 * Orders and warm-up are smaller where the configuration is slow by design (a cap of 1 against a
 * provider answering in 100 ms delivers ~10 runs/s: 2,000 orders would take minutes and measure nothing more).
 */
const headline = (n: number) => ['--runs', String(n), '--no-quiet'];
const side = ['--runs', '1', '--baseline', '0', '--no-quiet'];
const CONFIGS: Config[] = [
  { label: '', what: 'default settings (headline)', args: headline(args.quick ? 1 : 3) },
  { label: 'cap64', what: 'concurrency 64 (the earlier headline)', args: ['--process-concurrency', '64', ...headline(args.quick ? 1 : 3)] },
  { label: 'cap10', what: 'concurrency 10 (the earlier default)', args: ['--process-concurrency', '10', '--warmup', '500', ...side] },
  { label: 'cap1', what: 'concurrency 1', args: ['--process-concurrency', '1', '--orders', '500', '--warmup', '200', ...side] },
  { label: 'delay100', what: 'default settings, mock answers in 100 ms', args: ['--mock-delay', '100', '--warmup', '500', ...side] },
  { label: 'cap10-delay100', what: 'concurrency 10, mock answers in 100 ms', args: ['--process-concurrency', '10', '--mock-delay', '100', '--orders', '1000', '--warmup', '200', ...side] },
  { label: 'cap1-delay100', what: 'concurrency 1, mock answers in 100 ms', args: ['--process-concurrency', '1', '--mock-delay', '100', '--orders', '100', '--warmup', '20', ...side] },
  { label: 'two-tasks', what: 'default settings, two tasks (http.request, entity.update)', args: ['--tasks', '2', '--warmup', '500', ...side] },
];

interface RepJson {
  ordersPerSecond: number;
  runsPerSecond: number;
  p50: number;
  p99: number;
  claimsPerRun: number;
  emptyClaimsPerRun: number;
  serverCpuMs: number;
  postgresCpuMs: number;
  lost: number;
  duplicated: number;
  wakes: { poll: number };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;
const f = (n: number, d = 0) => (Number.isFinite(n) ? n.toFixed(d) : '—');

if (!args['no-build']) execFileSync('npm', ['run', 'build', '--silent'], { cwd: ROOT, stdio: 'inherit' });
const dbs = args.db === 'both' ? ['sqlite', 'postgres'] : [args.db!];
for (const db of dbs) {
  const rows: string[] = [];
  const started = new Date().toISOString();
  let revision = '';
  let headlineTput = NaN;
  for (const c of CONFIGS) {
    console.error(`${db}: ${c.what}…`);
    const name = args.quick ? [c.label, 'quick'].filter(Boolean).join('-') : c.label;
    const label = name ? ['--label', name] : [];
    execFileSync('npx', ['tsx', join(import.meta.dirname, 'run.ts'), '--db', db, '--no-build', ...label, ...c.args], { cwd: ROOT, stdio: ['ignore', 'ignore', 'inherit'] });
    const file = join(RESULTS, `e2e-${db}${name ? `-${name}` : ''}.json`);
    const r = JSON.parse(readFileSync(file, 'utf8')) as { revision: string; orders: number; reps: RepJson[] };
    revision = r.revision;
    const med = (pick: (p: RepJson) => number) => median(r.reps.map(pick));
    const tput = med((p) => p.ordersPerSecond);
    if (!c.label) headlineTput = tput;
    const cpu = med((p) => p.serverCpuMs) + med((p) => p.postgresCpuMs);
    rows.push(
      `${c.what.padEnd(58)} ${String(r.orders).padStart(6)} ${String(r.reps.length).padStart(4)}  ${f(tput).padStart(8)}  ${f(med((p) => p.runsPerSecond)).padStart(6)}  ${f(med((p) => p.p50), 1).padStart(8)}  ${f(med((p) => p.p99), 1).padStart(8)}  ` +
        `${`${f(med((p) => p.claimsPerRun), 2)} (${f(med((p) => p.emptyClaimsPerRun), 2)})`.padStart(12)}  ${f(med((p) => p.wakes.poll)).padStart(5)}  ${f(med((p) => p.serverCpuMs), 3).padStart(7)}${db === 'postgres' ? ` + ${f(med((p) => p.postgresCpuMs), 3)} pg = ${f(cpu, 3)}` : ''}  ` +
        `${r.reps.reduce((n, p) => n + p.lost, 0)}/${r.reps.reduce((n, p) => n + p.duplicated, 0)}  e2e-${db}${name ? `-${name}` : ''}.txt`,
    );
    if (c.label === 'cap64') rows.push(`${''.padEnd(58)} default / concurrency 64 throughput: ${f((headlineTput / tput) * 100)} %`);
  }
  const text = [
    `Statusflow end-to-end benchmark, the configurations users meet — ${db}`,
    `measured one after the other from ${started} to ${new Date().toISOString()}, commit ${revision}; 2 CPUs shared by the client, the mock, the server${db === 'postgres' ? ' and Postgres' : ''} (and, on this machine, other people's work: --no-quiet)`,
    'each: orders created at 16 in flight, each entering "received", which starts the process; latency = create sent → mock hit; medians over the measured runs',
    '',
    `${'configuration'.padEnd(58)} orders runs  orders/s  done/s   p50 ms    p99 ms  claims/run (empty)  polls  server CPU ms/order  lost/dup  details`,
    ...rows,
    '',
  ].join('\n');
  console.log(text);
  writeFileSync(join(RESULTS, `e2e-matrix-${db}${args.quick ? '-quick' : ''}.txt`), text);
}
