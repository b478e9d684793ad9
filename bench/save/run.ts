/**
 * Save throughput over HTTP: the real server as a child process, 20,000 creates of an Order type
 * (4 requirements, 2 auto transitions) at concurrency 16 with a keep-alive undici Pool, against a
 * baseline type with no requirements and no transitions. See bench/save/README.md.
 *
 *   npx tsx bench/save/run.ts [--db sqlite|postgres|both] [--count 20000] [--concurrency 16]
 *        [--runs 3] [--warmup 2000] [--server dist|tsx] [--no-build] [--only order|baseline|rules]
 *        [--cpu-prof] [--pg-url postgres://postgres@127.0.0.1:5432/test] [--no-write]
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { availableParallelism, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { Pool } from 'undici';
import { summarizeProfiles, type Window } from './cpuprofile.js';
import { cpuTimes, machineCpu, memoryKb, processesCpu, waitForQuiet } from './proc.js';
import { bodies, TYPES, type Kind } from './workload.js';

const { values: args } = parseArgs({
  options: {
    db: { type: 'string', default: 'sqlite' },
    count: { type: 'string', default: '20000' },
    concurrency: { type: 'string', default: '16' },
    runs: { type: 'string', default: '3' },
    warmup: { type: 'string', default: '2000' },
    server: { type: 'string', default: 'dist' },
    'no-build': { type: 'boolean', default: false },
    only: { type: 'string' },
    'cpu-prof': { type: 'boolean', default: false },
    'pg-url': { type: 'string', default: process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test' },
    'no-write': { type: 'boolean', default: false },
  },
});
const COUNT = Number(args.count);
const CONCURRENCY = Number(args.concurrency);
const RUNS = Number(args.runs);
const WARMUP = Number(args.warmup);
const ROOT = resolve(import.meta.dirname, '../..');
const RESULTS = join(ROOT, 'bench/results');
/** Above this many cores used by other processes during a phase, the phase is measured again. */
const NOISY = 0.1;
const ADMIN_KEY = `sf_bench_${randomBytes(12).toString('hex')}`;

// --- server process ---------------------------------------------------------------------------

function freePort(): Promise<number> {
  return new Promise((ok, fail) => {
    const s = createServer();
    s.once('error', fail);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => ok(port));
    });
  });
}

interface Server { child: ChildProcess; pid: number; origin: string; output: () => string; stop(): Promise<void> }

async function startServer(env: Record<string, string>, profileDir: string | undefined): Promise<Server> {
  const port = await freePort();
  const entry = args.server === 'tsx' ? ['--import', 'tsx', join(ROOT, 'src/cli/main.ts')] : [join(ROOT, 'dist/cli/main.js')];
  const prof = profileDir ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : [];
  const child = spawn(process.execPath, [...prof, ...entry, 'start'], {
    cwd: ROOT,
    env: { ...process.env, ...env, PORT: String(port), HOST: '127.0.0.1', STATUSFLOW_ADMIN_KEY: ADMIN_KEY, LOG_LEVEL: 'warn', NODE_ENV: 'production' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let log = '';
  child.stdout!.on('data', (d: Buffer) => (log += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (log += d.toString()));
  const origin = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`server exited (${child.exitCode}):\n${log}`);
    try {
      if ((await fetch(`${origin}/api/v1/health`)).ok) break;
    } catch {
      /* not listening yet */
    }
    if (Date.now() > deadline) throw new Error(`server did not become healthy:\n${log}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  const stop = () =>
    new Promise<void>((ok) => {
      if (child.exitCode !== null) return ok();
      child.once('exit', () => ok());
      child.kill('SIGTERM');
    });
  return { child, pid: child.pid!, origin, output: () => log, stop };
}

// --- load -------------------------------------------------------------------------------------

/** `floor`: GET /api/v1/health — the HTTP + Fastify cost of a request that does nothing. */
type PhaseKind = Kind | 'floor';

interface Phase {
  kind: PhaseKind;
  run: number;
  saves: number;
  errors: number;
  seconds: number;
  savesPerSecond: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
  /** Server CPU (all threads) per save, ms; `mainCpuMs` the main (event-loop) thread's share, `otherCpuMs` the rest. */
  serverCpuMs: number;
  mainCpuMs: number;
  otherCpuMs: number;
  /** This process (the load generator) CPU per save, ms. */
  clientCpuMs: number;
  /** Postgres (server and backends) CPU per save, ms; 0 on SQLite. */
  postgresCpuMs: number;
  /** CPU used by other processes on the machine during the phase (not server, client or Postgres), in cores: noise, should be ~0. */
  foreignCores: number;
  statuses: Record<string, number>;
  errorSamples: string[];
  /** When the phase ran, on the monotonic clock in µs (to cut CPU profiles to it). */
  window: Window;
}

function percentile(sorted: Float64Array, p: number): number {
  return sorted.length === 0 ? NaN : sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

/** The requests of a phase: creates of `kind` with these bodies, or `n` health checks. */
type Requests = { kind: Kind; payloads: string[] } | { kind: 'floor'; n: number };

async function load(pool: Pool, requests: Requests) {
  const n = requests.kind === 'floor' ? requests.n : requests.payloads.length;
  const payloads = requests.kind === 'floor' ? undefined : requests.payloads;
  const path = requests.kind === 'floor' ? '/api/v1/health' : `/api/v1/entities/${TYPES[requests.kind].key}`;
  const expected = requests.kind === 'floor' ? 200 : 201;
  const latencies = new Float64Array(n);
  const statuses: Record<string, number> = {};
  const errorSamples: string[] = [];
  const headers = { authorization: `Bearer ${ADMIN_KEY}`, 'content-type': 'application/json' };
  let next = 0;
  let errors = 0;
  const worker = async () => {
    for (let i = next++; i < n; i = next++) {
      const t0 = performance.now();
      try {
        const res = await pool.request(payloads ? { method: 'POST', path, headers, body: payloads[i] } : { method: 'GET', path });
        const text = await res.body.text();
        latencies[i] = performance.now() - t0;
        if (res.statusCode !== expected) {
          errors++;
          if (errorSamples.length < 5) errorSamples.push(`${res.statusCode} ${text.slice(0, 300)}`);
        } else {
          const status = /"status":"([a-z_0-9]+)"/.exec(text)?.[1] ?? '?';
          statuses[status] = (statuses[status] ?? 0) + 1;
        }
      } catch (err) {
        latencies[i] = performance.now() - t0;
        errors++;
        if (errorSamples.length < 5) errorSamples.push(String(err));
      }
    }
  };
  const start = performance.now();
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  return { seconds: (performance.now() - start) / 1000, latencies, statuses, errors, errorSamples };
}

async function phase(server: Server, pool: Pool, requests: Requests, run: number): Promise<Phase> {
  const quiet = process.env.BENCH_NO_QUIET ? 0 : await waitForQuiet();
  if (quiet >= 0.1) console.error(`  (the machine is busy with other work: ${(quiet * 100).toFixed(0)}% of a core; measuring anyway)`);
  const cpu0 = cpuTimes(server.pid);
  const machine0 = machineCpu();
  const pg0 = processesCpu('postgres');
  const client0 = process.cpuUsage();
  const from = Number(process.hrtime.bigint() / 1000n);
  const r = await load(pool, requests);
  const client = process.cpuUsage(client0);
  const machine1 = machineCpu();
  const pg1 = processesCpu('postgres');
  const cpu1 = cpuTimes(server.pid);
  const sorted = Float64Array.from(r.latencies).sort();
  const n = r.latencies.length;
  const total = cpu1.total - cpu0.total;
  const main = cpu1.main - cpu0.main;
  return {
    kind: requests.kind,
    run,
    saves: n,
    errors: r.errors,
    seconds: r.seconds,
    savesPerSecond: n / r.seconds,
    p50: percentile(sorted, 50),
    p95: percentile(sorted, 95),
    p99: percentile(sorted, 99),
    max: sorted[sorted.length - 1] ?? NaN,
    serverCpuMs: total / n,
    mainCpuMs: main / n,
    otherCpuMs: (total - main) / n,
    clientCpuMs: (client.user + client.system) / 1000 / n,
    postgresCpuMs: (pg1 - pg0) / n,
    foreignCores: Math.max(0, machine1.busy - machine0.busy - total - (pg1 - pg0) - (client.user + client.system) / 1000) / (r.seconds * 1000),
    statuses: r.statuses,
    errorSamples: r.errorSamples,
    window: [from, Number(process.hrtime.bigint() / 1000n)],
  };
}

// --- one database -----------------------------------------------------------------------------

interface DbResult { db: string; phases: Phase[]; peakRssMb: number; hwmMb: number; startRssMb: number; threads: string[]; server: string; profile?: string }

async function prepareDatabase(db: 'sqlite' | 'postgres'): Promise<{ env: Record<string, string>; cleanup: () => Promise<void> }> {
  if (db === 'sqlite') {
    const dir = mkdtempSync(join(tmpdir(), 'statusflow-bench-'));
    return { env: { STATUSFLOW_DATA_DIR: dir }, cleanup: async () => rmSync(dir, { recursive: true, force: true }) };
  }
  const name = `statusflow_bench_${randomBytes(4).toString('hex')}`;
  const admin = async (sql: string) => {
    const c = new pg.Client({ connectionString: args['pg-url'] });
    await c.connect();
    try {
      await c.query(sql);
    } finally {
      await c.end();
    }
  };
  await admin(`CREATE DATABASE ${name}`);
  const url = new URL(args['pg-url']!);
  url.pathname = `/${name}`;
  return {
    env: { DATABASE_URL: url.toString(), STATUSFLOW_DATA_DIR: mkdtempSync(join(tmpdir(), 'statusflow-bench-')) },
    cleanup: () => admin(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`),
  };
}

/** Undone on Ctrl-C / SIGTERM too: the server child and the bench database. */
const onInterrupt: Array<() => Promise<void>> = [];
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    console.error(`${signal}: stopping the server and removing the bench database…`);
    void (async () => {
      for (const undo of onInterrupt.reverse()) await undo().catch((err: unknown) => console.error(err));
      process.exit(130);
    })();
  });
}

async function benchDatabase(db: 'sqlite' | 'postgres'): Promise<DbResult> {
  const { env, cleanup } = await prepareDatabase(db);
  onInterrupt.push(cleanup);
  const profileDir = args['cpu-prof'] ? mkdtempSync(join(tmpdir(), 'statusflow-prof-')) : undefined;
  const server = await startServer(env, profileDir);
  onInterrupt.push(server.stop);
  const pool = new Pool(server.origin, { connections: CONCURRENCY, pipelining: 1, keepAliveTimeout: 60_000 });
  let peakRss = 0;
  const sampler = setInterval(() => (peakRss = Math.max(peakRss, memoryKb(server.pid, 'VmRSS'))), 100);
  try {
    const startRss = memoryKb(server.pid, 'VmRSS');
    for (const { key, def } of Object.values(TYPES)) {
      const res = await pool.request({ method: 'PUT', path: `/api/v1/entity-types/${key}`, headers: { authorization: `Bearer ${ADMIN_KEY}`, 'content-type': 'application/json' }, body: JSON.stringify(def) });
      const text = await res.body.text();
      if (res.statusCode >= 300) throw new Error(`PUT ${key}: ${res.statusCode} ${text}`);
    }
    const kinds: Kind[] = args.only ? [args.only as Kind] : ['baseline', 'rules', 'order'];
    await load(pool, { kind: 'floor', n: WARMUP });
    for (const kind of kinds) await load(pool, { kind, payloads: bodies(WARMUP, 999) });
    const phases: Phase[] = [];
    for (let run = 1; run <= RUNS; run++) {
      // Alternate the order of the types (ABC CBA ABC…): the database grows as runs go on.
      const order = run % 2 === 1 ? kinds : [...kinds].reverse();
      const requests: Requests[] = [{ kind: 'floor', n: COUNT }, ...order.map((kind) => ({ kind, payloads: bodies(COUNT, run) }))];
      for (const req of requests) {
        let p = await phase(server, pool, req, run);
        // Another process took CPU during the phase: measure it again (twice at most).
        for (let retry = 0; retry < 2 && p.foreignCores > NOISY; retry++) {
          console.error(`  ${db} ${p.kind} run ${run}: other processes used ${p.foreignCores.toFixed(2)} cores meanwhile; measuring again`);
          p = await phase(server, pool, { ...req, ...(req.kind === 'floor' ? {} : { payloads: bodies(COUNT, run + 100 * (retry + 1)) }) }, run);
        }
        phases.push(p);
        console.error(`  ${db} ${p.kind.padEnd(8)} run ${run}: ${p.savesPerSecond.toFixed(0)} req/s, p50 ${p.p50.toFixed(2)} ms, server CPU ${p.serverCpuMs.toFixed(3)} ms/req, errors ${p.errors}, other processes ${p.foreignCores.toFixed(2)} cores`);
      }
    }
    const threads = [...cpuTimes(server.pid).threads.values()].filter((t) => t.ms > 0).map((t) => `${t.name}: ${(t.ms / 1000).toFixed(1)} s`);
    const hwm = memoryKb(server.pid, 'VmHWM');
    clearInterval(sampler);
    await pool.close();
    await server.stop();
    const profile = profileDir
      ? kinds.map((kind) => summarizeProfiles(profileDir, phases.filter((p) => p.kind === kind).map((p) => p.window), `CPU profile of the server during the measured ${kind} phases`)).join('\n\n')
      : undefined;
    return { db, phases, peakRssMb: peakRss / 1024, hwmMb: hwm / 1024, startRssMb: startRss / 1024, threads, server: args.server === 'tsx' ? 'node --import tsx src/cli/main.ts start' : 'node dist/cli/main.js start', profile };
  } finally {
    clearInterval(sampler);
    await pool.close().catch(() => undefined);
    await server.stop();
    if (server.child.exitCode !== 0 && server.child.exitCode !== null) console.error(server.output());
    await cleanup();
    onInterrupt.length = 0;
    if (profileDir) rmSync(profileDir, { recursive: true, force: true });
  }
}

// --- report -----------------------------------------------------------------------------------

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;

/** Left-aligned first column, right-aligned others. */
function table(rows: string[][]): string[] {
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
  return rows.map((r) => r.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!))).join('  ').trimEnd());
}

const LABEL: Record<PhaseKind, string> = { floor: 'floor (GET /health)', baseline: 'baseline (no rules)', rules: 'rules (4 req, no transitions)', order: 'order (4 req, 2 auto)' };

function report(r: DbResult): string {
  const f = (n: number, d = 0) => n.toFixed(d);
  const pgCol = r.db === 'postgres';
  const head = ['phase', 'run', 'req/s', 'p50 ms', 'p95 ms', 'p99 ms', 'max ms', 'errors', 'server CPU ms/req', '= main', '+ other thr.', ...(pgCol ? ['Postgres CPU ms/req'] : []), 'client CPU ms/req', 'other procs (cores)'];
  const row = (label: string, run: string, p: Omit<Phase, 'kind' | 'run' | 'statuses' | 'errorSamples' | 'window'>) => [
    label, run, f(p.savesPerSecond), f(p.p50, 2), f(p.p95, 2), f(p.p99, 2), f(p.max, 1), String(p.errors),
    f(p.serverCpuMs, 3), f(p.mainCpuMs, 3), f(p.otherCpuMs, 3), ...(pgCol ? [f(p.postgresCpuMs, 3)] : []), f(p.clientCpuMs, 3), f(p.foreignCores, 2),
  ];
  const kinds = (['floor', 'baseline', 'rules', 'order'] as PhaseKind[]).filter((k) => r.phases.some((p) => p.kind === k));
  const of = (kind: PhaseKind) => r.phases.filter((p) => p.kind === kind);
  const med = (kind: PhaseKind, pick: (p: Phase) => number) => median(of(kind).map(pick));
  const medianPhase = (kind: PhaseKind) => ({
    saves: 0, seconds: 0, errors: of(kind).reduce((n, p) => n + p.errors, 0),
    savesPerSecond: med(kind, (p) => p.savesPerSecond), p50: med(kind, (p) => p.p50), p95: med(kind, (p) => p.p95), p99: med(kind, (p) => p.p99), max: med(kind, (p) => p.max),
    serverCpuMs: med(kind, (p) => p.serverCpuMs), mainCpuMs: med(kind, (p) => p.mainCpuMs), otherCpuMs: med(kind, (p) => p.otherCpuMs),
    postgresCpuMs: med(kind, (p) => p.postgresCpuMs), clientCpuMs: med(kind, (p) => p.clientCpuMs), foreignCores: med(kind, (p) => p.foreignCores),
  });

  const lines: string[] = [];
  lines.push(`Statusflow save benchmark — ${r.db}`);
  lines.push(`${new Date().toISOString()}, node ${process.version}, ${availableParallelism()} CPUs shared by the server and the load generator`);
  lines.push(`server: ${r.server}, LOG_LEVEL=warn, otherwise default settings`);
  lines.push(`client: undici Pool, ${CONCURRENCY} keep-alive connections, ${CONCURRENCY} requests in flight`);
  lines.push(`per run and phase: ${COUNT} requests (creates: POST /api/v1/entities/{type}); warm-up ${WARMUP} per phase; ${RUNS} run(s)`);
  lines.push('');
  lines.push(...table([head, ...r.phases.map((p) => row(LABEL[p.kind], String(p.run), p))]));
  lines.push('');
  lines.push(`medians of the ${RUNS} run(s):`);
  lines.push(...table([head, ...kinds.map((k) => row(LABEL[k], 'med', medianPhase(k)))]));
  lines.push('');
  for (const kind of kinds.filter((k) => k !== 'floor')) lines.push(`statuses reached (${kind}, last run): ${JSON.stringify(of(kind).at(-1)!.statuses)}`);
  const pct = (x: number) => `${f(x * 100, 1)}%`;
  // Each run measures the types back to back on the same database: the extra time per save of a type
  // against the baseline per run, then the median of the runs (a phase disturbed by a checkpoint or a
  // neighbour moves one run's ratio, not the verdict).
  const overhead = (kind: Kind) => {
    const perRun = [...new Set(r.phases.map((p) => p.run))].flatMap((run) => {
      const b = r.phases.find((p) => p.run === run && p.kind === 'baseline');
      const o = r.phases.find((p) => p.run === run && p.kind === kind);
      return b && o ? [b.savesPerSecond / o.savesPerSecond - 1] : [];
    });
    return { median: median(perRun), perRun, serverCpu: med(kind, (p) => p.serverCpuMs) / med('baseline', (p) => p.serverCpuMs) - 1, p50: med(kind, (p) => p.p50) / med('baseline', (p) => p.p50) - 1 };
  };
  const describe = (o: ReturnType<typeof overhead>) =>
    `${pct(o.median)} per save (time per save from throughput, against the baseline of the same run; runs: ${o.perRun.map(pct).join(', ')}); p50 latency ${pct(o.p50)}, server CPU ${pct(o.serverCpu)}`;
  let evaluation: ReturnType<typeof overhead> | undefined;
  if (kinds.includes('baseline') && kinds.includes('rules')) {
    evaluation = overhead('rules');
    lines.push('');
    lines.push(`requirement evaluation (rules: the 4 requirements, entities written as the baseline's) adds ${describe(evaluation)}`);
  }
  if (kinds.includes('baseline') && kinds.includes('order')) {
    lines.push(`the Order type (evaluation + 2 auto transitions; its entities spread over 3 statuses) adds ${describe(overhead('order'))}`);
  }
  if (kinds.includes('order')) {
    const sps = med('order', (p) => p.savesPerSecond);
    lines.push(`targets: >= 3,000 saves/s over HTTP on SQLite: ${r.db === 'sqlite' ? `${sps >= 3000 ? 'met' : 'MISSED'} (${f(sps)} Order saves/s)` : 'n/a (this is Postgres)'}` +
      (evaluation ? `; requirement evaluation <= 20%: ${evaluation.median <= 0.2 ? 'met' : 'MISSED'} (${pct(evaluation.median)})` : ''));
  }
  for (const kind of kinds) {
    lines.push(`ceiling set by the server's main thread alone (1000 / main-thread CPU ms per request), ${kind}: ${f(1000 / med(kind, (p) => p.mainCpuMs))} req/s`);
  }
  lines.push(`server memory: RSS ${f(r.startRssMb)} MB after start, peak RSS (sampled every 100 ms) ${f(r.peakRssMb)} MB, VmHWM ${f(r.hwmMb)} MB`);
  lines.push(`server threads, total CPU: ${r.threads.join(', ')}`);
  for (const p of r.phases) for (const s of p.errorSamples) lines.push(`error sample (${p.kind} run ${p.run}): ${s}`);
  if (r.profile) lines.push('', r.profile);
  return lines.join('\n');
}

// --- main -------------------------------------------------------------------------------------

const dbs = args.db === 'both' ? (['sqlite', 'postgres'] as const) : [args.db as 'sqlite' | 'postgres'];
if (!dbs.every((d) => d === 'sqlite' || d === 'postgres')) throw new Error('--db must be sqlite, postgres or both');
if (args.only && !(args.only in TYPES)) throw new Error('--only must be order, baseline or rules');
if (args.server === 'dist' && !args['no-build']) {
  console.error('building (npm run build)…');
  execFileSync('npm', ['run', 'build', '--silent'], { cwd: ROOT, stdio: 'inherit' });
}
for (const db of dbs) {
  console.error(`${db}: starting the server…`);
  const result = await benchDatabase(db);
  const text = report(result);
  console.log(text + '\n');
  const partial = args.only || args['cpu-prof'] || COUNT !== 20_000 || CONCURRENCY !== 16 || RUNS !== 3;
  if (!args['no-write']) {
    mkdirSync(RESULTS, { recursive: true });
    const base = join(RESULTS, `save-${db}${partial ? '-custom' : ''}`);
    writeFileSync(`${base}.txt`, text + '\n');
    writeFileSync(`${base}.json`, JSON.stringify({ date: new Date().toISOString(), node: process.version, cpus: availableParallelism(), count: COUNT, concurrency: CONCURRENCY, runs: RUNS, warmup: WARMUP, ...result }, null, 2) + '\n');
    console.error(`wrote ${base}.txt and .json`);
  }
}
