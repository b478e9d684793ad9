/**
 * End-to-end throughput and latency of the process engine: Orders created over HTTP enter `received`,
 * which triggers a process with one `http.request` POST to a mock provider. Measures orders/s from the
 * first create sent to the last mock hit, latency from create-send to mock hit, lost and duplicated
 * deliveries, the server's peak RSS, and where the time goes (DB timestamps, CPU per order, optional
 * CPU profile). The server (built dist), the mock (own process) and this client share the machine.
 * See bench/e2e/README.md.
 *
 *   npx tsx bench/e2e/run.ts [--db sqlite|postgres|both] [--orders 2000] [--concurrency 16] [--runs 3]
 *        [--warmup 1000] [--baseline 2000] [--process-concurrency default|N] [--mock-delay 0] [--tasks 1|2]
 *        [--env STATUSFLOW_X=1]… [--cpu-prof] [--count-queries]
 *        [--preload experiment.mjs]… [--no-build]
 *        [--no-write] [--label name] [--pg-url postgres://postgres@127.0.0.1:5432/test]
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { Pool } from 'undici';
import { openDatabase, type Database } from '../../src/store/db.js';
import { ORDER_TYPE } from '../../test/support/order.js';
import { startServerProcess, type ServerProcess } from '../../test/support/server-process.js';
import { cpuTimes, machineCpu, memoryKb, waitForQuiet } from '../save/proc.js';
import type { MockHit } from './mock.js';
import { revision } from '../support.js';
import { startMock, type Mock } from './mock-client.js';
import { summarizeProfiles, type Window } from './profile.js';

const { values: args } = parseArgs({
  options: {
    db: { type: 'string', default: 'sqlite' },
    orders: { type: 'string', default: '2000' },
    concurrency: { type: 'string', default: '16' },
    runs: { type: 'string', default: '3' },
    warmup: { type: 'string', default: '1000' },
    /** Creates measured first on a type with no process (skipped with --count-queries). */
    baseline: { type: 'string', default: '2000' },
    /** The process's settings.concurrency: "default" leaves it out (what a new user gets). */
    'process-concurrency': { type: 'string', default: 'default' },
    /** How long the mock provider takes to answer, ms. */
    'mock-delay': { type: 'string', default: '0' },
    /** 1: one http.request; 2: http.request then entity.update (the answer written back to the order). */
    tasks: { type: 'string', default: '1' },
    env: { type: 'string', multiple: true, default: [] },
    'cpu-prof': { type: 'boolean', default: false },
    'count-queries': { type: 'boolean', default: false },
    /** Extra modules the server imports first (what-if experiments that patch a library, not product code). */
    preload: { type: 'string', multiple: true, default: [] },
    'no-build': { type: 'boolean', default: false },
    'no-write': { type: 'boolean', default: false },
    'no-quiet': { type: 'boolean', default: false },
    label: { type: 'string' },
    timeout: { type: 'string', default: '60000' },
    'pg-url': { type: 'string', default: process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test' },
  },
});
const ORDERS = Number(args.orders);
const CONCURRENCY = Number(args.concurrency);
const RUNS = Number(args.runs);
const WARMUP = Number(args.warmup);
const BASELINE = Number(args.baseline);
const TIMEOUT = Number(args.timeout);
const PROCESS_CONCURRENCY = args['process-concurrency'] === 'default' ? undefined : Number(args['process-concurrency']);
const MOCK_DELAY = Number(args['mock-delay']);
const TASKS = Number(args.tasks);
if (PROCESS_CONCURRENCY !== undefined && !(PROCESS_CONCURRENCY >= 1)) throw new Error('--process-concurrency must be "default" or a number ≥ 1');
if (TASKS !== 1 && TASKS !== 2) throw new Error('--tasks must be 1 or 2');
/** What the configuration is, in words (report header, labels). */
const CONFIG = `process concurrency ${PROCESS_CONCURRENCY ?? 'default (not set)'}, mock answers in ${MOCK_DELAY} ms, ${TASKS === 1 ? 'one task (http.request)' : 'two tasks (http.request, then entity.update)'}`;
const ROOT = resolve(import.meta.dirname, '../..');
const RESULTS = join(ROOT, 'bench/results');
const ADMIN_KEY = `sf_bench_${randomBytes(12).toString('hex')}`;
const EXTRA_ENV = Object.fromEntries(args.env!.map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]));
const now = () => performance.timeOrigin + performance.now();
const REVISION = revision();
const monoUs = () => Number(process.hrtime.bigint() / 1000n);

/**
 * CPU time (ms) per pid of the local Postgres processes that work for the benchmark: the backends
 * connected to its database (their command line names it) and the shared background processes
 * (WAL writer, checkpointer…). Other databases' backends (other test runs on this machine) are left out.
 */
function postgresCpu(database: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const pid of readdirSync('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const close = stat.lastIndexOf(')');
      if (stat.slice(stat.indexOf('(') + 1, close) !== 'postgres') continue;
      const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
      if (!cmd.includes(` ${database} `) && !/: (walwriter|checkpointer|background writer|autovacuum launcher|logical replication launcher)/.test(cmd)) continue;
      const f = stat.slice(close + 2).split(' ');
      out.set(pid, (Number(f[11]) + Number(f[12])) * 10);
    } catch {
      // the process ended
    }
  }
  return out;
}

/** CPU used between two samples: processes that ended in between are lost, new ones count in full. */
function cpuSince(before: Map<string, number>, after: Map<string, number>): number {
  let ms = 0;
  for (const [pid, t] of after) ms += t - (before.get(pid) ?? 0);
  return ms;
}

const TYPE = { ...ORDER_TYPE, name: 'Bench order', attributes: [...ORDER_TYPE.attributes, { key: 'sent_at', type: 'number' }, { key: 'crm_ok', type: 'boolean' }] };

// --- databases ----------------------------------------------------------------------------------

async function prepareDatabase(db: 'sqlite' | 'postgres'): Promise<{ env: Record<string, string>; pgName: string; open: () => Database; cleanup: () => Promise<void> }> {
  const dir = mkdtempSync(join(tmpdir(), 'statusflow-e2e-'));
  if (db === 'sqlite') {
    return { env: { STATUSFLOW_DATA_DIR: dir }, pgName: '', open: (): Database => openDatabase({ dialect: 'sqlite', path: join(dir, 'statusflow.db') }), cleanup: async () => rmSync(dir, { recursive: true, force: true }) };
  }
  const name = `statusflow_e2e_${randomBytes(4).toString('hex')}`;
  const admin = async (statement: string) => {
    const c = new pg.Client({ connectionString: args['pg-url'] });
    await c.connect();
    try {
      await c.query(statement);
    } finally {
      await c.end();
    }
  };
  await admin(`CREATE DATABASE ${name}`);
  const url = new URL(args['pg-url']!);
  url.pathname = `/${name}`;
  return {
    env: { STATUSFLOW_DATA_DIR: dir, DATABASE_URL: url.toString() },
    pgName: name,
    open: (): Database => openDatabase({ dialect: 'postgres', url: url.toString(), poolSize: 2 }),
    cleanup: async () => {
      rmSync(dir, { recursive: true, force: true });
      await admin(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    },
  };
}

// --- one repetition -----------------------------------------------------------------------------

interface Rep {
  rep: number;
  orders: number;
  createErrors: number;
  delivered: number;
  lost: number;
  duplicated: number;
  /** first create sent → last mock hit */
  seconds: number;
  ordersPerSecond: number;
  /** all creates answered */
  createSeconds: number;
  createsPerSecond: number;
  createP50: number;
  createP99: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
  /** Most runs queued (not yet claimed) at once, sampled every 100 ms. */
  maxQueued: number;
  /** Runs finished (every task done) per second: first create sent → last run finished. */
  runsPerSecond: number;
  /** The server's workers (GET /api/v1/workers) during the run, per order. */
  claimsPerRun: number;
  emptyClaimsPerRun: number;
  /** Wake-ups by cause during the run (counts), and due runs a claim left for the cap. */
  wakes: { signal: number; due: number; poll: number };
  cappedSkips: number;
  /** Medians (and p99) of the segments of each order's path, ms, from the runs' and steps' timestamps. */
  segments: Record<string, { p50: number; p99: number }>;
  serverCpuMs: number;
  serverMainCpuMs: number;
  serverOtherCpuMs: number;
  mockCpuMs: number;
  /** CPU of the local Postgres server's processes per order (0 on SQLite). */
  postgresCpuMs: number;
  clientCpuMs: number;
  foreignCores: number;
  errorSamples: string[];
  window: Window;
}

const pct = (xs: number[], p: number) => {
  const s = xs.filter(Number.isFinite).sort((a, b) => a - b);
  return s.length === 0 ? NaN : s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
};

/** ORD-<batch><6 digits>: matches the type's number_format requirement and is unique per batch. */
const orderNumber = (batch: number, i: number) => `ORD-${batch}${String(i).padStart(6, '0')}`;

async function createOrders(pool: Pool, prefix: number, n: number, type = 'border') {
  const sent = new Array<number>(n);
  const latency = new Array<number>(n);
  const runIds = new Array<string | undefined>(n);
  const errorSamples: string[] = [];
  let errors = 0;
  let next = 0;
  const headers = { authorization: `Bearer ${ADMIN_KEY}`, 'content-type': 'application/json' };
  const worker = async () => {
    for (let i = next++; i < n; i = next++) {
      const t = now();
      sent[i] = t;
      const body = JSON.stringify({ attributes: { order_number: orderNumber(prefix, i), total: 10 + (i % 90), customer_email: `c${i}@example.com`, sent_at: t } });
      try {
        const res = await pool.request({ method: 'POST', path: `/api/v1/entities/${type}`, headers, body });
        const text = await res.body.text();
        latency[i] = now() - t;
        if (res.statusCode !== 201) throw new Error(`${res.statusCode} ${text.slice(0, 300)}`);
        if (type !== 'border') continue;
        runIds[i] = (JSON.parse(text) as { queuedRuns: Array<{ id: string }> }).queuedRuns[0]?.id;
        if (!runIds[i]) throw new Error(`no run queued: ${text.slice(0, 300)}`);
      } catch (err) {
        errors++;
        if (errorSamples.length < 5) errorSamples.push(String(err));
      }
    }
  };
  const t0 = performance.now();
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  return { sent, latency, runIds, errors, errorSamples, seconds: (performance.now() - t0) / 1000 };
}

interface Counters { claims: number; emptyClaims: number; runsClaimed: number; cappedSkips: number; wakes: { signal: number; due: number; poll: number } }

/** The server's worker counters (GET /api/v1/workers). */
async function workerCounters(pool: Pool): Promise<Counters> {
  const res = await pool.request({ method: 'GET', path: '/api/v1/workers', headers: { authorization: `Bearer ${ADMIN_KEY}` } });
  const text = await res.body.text();
  if (res.statusCode !== 200) throw new Error(`GET /api/v1/workers: ${res.statusCode} ${text}`);
  return JSON.parse(text) as Counters;
}

/** Waits until no run is queued, running or waiting (every task of every run done), at most `TIMEOUT` ms. */
async function awaitRunsDone(reader: Database): Promise<void> {
  const until = Date.now() + TIMEOUT;
  while (Date.now() < until) {
    const row = await reader.db.selectFrom('runs').select((eb) => eb.fn.countAll<number>().as('n')).where('status', 'in', ['queued', 'running', 'waiting']).executeTakeFirst();
    if (Number(row?.n ?? 0) === 0) return;
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Waits until the mock saw every order of this batch (or nothing new arrived for `TIMEOUT` ms). */
async function awaitDeliveries(mock: Mock, expected: number): Promise<MockHit[]> {
  let lastCount = -1;
  let lastChange = Date.now();
  for (;;) {
    const { n } = await mock.ask<{ n: number }>('count', 'count');
    if (n >= expected) {
      const { hits } = await mock.ask<{ hits: MockHit[] }>('report', 'report');
      if (new Set(hits.map((h) => h[0])).size >= expected) break;
    }
    if (n !== lastCount) {
      lastCount = n;
      lastChange = Date.now();
    } else if (Date.now() - lastChange > TIMEOUT) break;
    await new Promise((r) => setTimeout(r, 20));
  }
  // Late duplicates (a step repeated after a lost commit) would arrive within a lease; wait a little.
  await new Promise((r) => setTimeout(r, 500));
  return (await mock.ask<{ hits: MockHit[] }>('report', 'report')).hits;
}

async function segmentsOf(reader: Database, runIds: string[], sentById: Map<string, number>, hitById: Map<string, number>) {
  type Row = { id: string; queued_at: unknown; started_at: unknown; finished_at: unknown; s_started: unknown; s_finished: unknown };
  const rows: Row[] = [];
  for (let i = 0; i < runIds.length; i += 500) {
    const chunk = runIds.slice(i, i + 500);
    rows.push(
      ...(await reader.db
        .selectFrom('runs')
        // The first step: the one that calls the mock.
        .leftJoin('run_steps', (j) => j.onRef('run_steps.run_id', '=', 'runs.id').on('run_steps.idx', '=', 0))
        .select(['runs.id', 'runs.queued_at', 'runs.started_at', 'runs.finished_at', 'run_steps.started_at as s_started', 'run_steps.finished_at as s_finished'])
        .where('runs.id', 'in', chunk)
        .execute()),
    );
  }
  const ms = (v: unknown) => (v === null || v === undefined ? NaN : v instanceof Date ? v.getTime() : Date.parse(String(v)));
  const seg: Array<[string, (r: Row) => number]> = [
    ['create sent → run queued (HTTP + save pipeline)', (r) => ms(r.queued_at) - (sentById.get(r.id) ?? NaN)],
    ['run queued → claimed (waiting in the queue)', (r) => ms(r.started_at) - ms(r.queued_at)],
    ['claimed → step started (load definition, entity)', (r) => ms(r.s_started) - ms(r.started_at)],
    ['step started → mock hit (expressions + HTTP call)', (r) => (hitById.get(r.id) ?? NaN) - ms(r.s_started)],
    ['mock hit → step finished (HTTP answer)', (r) => ms(r.s_finished) - (hitById.get(r.id) ?? NaN)],
    ['step finished → run finished (later tasks, commit)', (r) => ms(r.finished_at) - ms(r.s_finished)],
  ];
  const segments = Object.fromEntries(seg.map(([k, fn]) => {
    const xs = rows.map(fn);
    return [k, { p50: pct(xs, 50), p99: pct(xs, 99) }];
  }));
  return { segments, lastFinished: Math.max(...rows.map((r) => ms(r.finished_at)).filter(Number.isFinite)) };
}

async function repetition(server: ServerProcess, pool: Pool, mock: Mock, reader: Database, pgName: string, rep: number, n: number): Promise<Rep> {
  if (!args['no-quiet']) {
    const quiet = await waitForQuiet(60_000, 0.15);
    if (quiet >= 0.15) console.error(`  (the machine is busy with other work: ${(quiet * 100).toFixed(0)}% of a core; measuring anyway)`);
  }
  await mock.ask('reset', 'reset');
  let maxQueued = 0;
  let sampling = true;
  const sampler = (async () => {
    while (sampling) {
      const row = await reader.db.selectFrom('runs').select((eb) => eb.fn.countAll<number>().as('n')).where('status', '=', 'queued').executeTakeFirst();
      maxQueued = Math.max(maxQueued, Number(row?.n ?? 0));
      await new Promise((r) => setTimeout(r, 100));
    }
  })();
  const cpu0 = cpuTimes(server.pid);
  const machine0 = machineCpu();
  const pg0 = postgresCpu(pgName);
  const client0 = process.cpuUsage();
  const mock0 = (await mock.ask<{ cpu: NodeJS.CpuUsage }>('report', 'report')).cpu;
  const counters0 = await workerCounters(pool);
  const from = monoUs();
  const created = await createOrders(pool, rep, n);
  const hits = await awaitDeliveries(mock, n - created.errors);
  await awaitRunsDone(reader);
  const to = monoUs();
  const counters1 = await workerCounters(pool);
  sampling = false;
  await sampler;
  const cpu1 = cpuTimes(server.pid);
  const machine1 = machineCpu();
  const pgMs = pgName ? cpuSince(pg0, postgresCpu(pgName)) : 0;
  const client = process.cpuUsage(client0);
  const mockCpu = (await mock.ask<{ cpu: NodeJS.CpuUsage }>('report', 'report')).cpu;

  const mine = hits.filter((h) => h[0].startsWith(`ORD-${rep}`) && h[0].length === orderNumber(rep, 0).length);
  const firstHit = new Map<string, MockHit>();
  for (const h of mine) if (!firstHit.has(h[0])) firstHit.set(h[0], h);
  const latencies: number[] = [];
  const sentByRun = new Map<string, number>();
  const hitByRun = new Map<string, number>();
  let lost = 0;
  for (let i = 0; i < n; i++) {
    const runId = created.runIds[i];
    if (!runId) continue;
    const h = firstHit.get(orderNumber(rep, i));
    sentByRun.set(runId, created.sent[i]!);
    if (!h) {
      lost++;
      continue;
    }
    hitByRun.set(runId, h[2]);
    latencies.push(h[2] - created.sent[i]!);
  }
  const firstSent = Math.min(...created.sent);
  const lastHit = Math.max(...mine.map((h) => h[2]));
  const seconds = (lastHit - firstSent) / 1000;
  const total = cpu1.total - cpu0.total;
  const main = cpu1.main - cpu0.main;
  const clientMs = (client.user + client.system) / 1000;
  const mockMs = (mockCpu.user + mockCpu.system - mock0.user - mock0.system) / 1000;
  const wall = (to - from) / 1000;
  const { segments, lastFinished } = await segmentsOf(reader, [...sentByRun.keys()], sentByRun, hitByRun);
  const wakes = { signal: counters1.wakes.signal - counters0.wakes.signal, due: counters1.wakes.due - counters0.wakes.due, poll: counters1.wakes.poll - counters0.wakes.poll };
  return {
    rep,
    orders: n,
    createErrors: created.errors,
    delivered: firstHit.size,
    lost,
    duplicated: mine.length - firstHit.size,
    seconds,
    ordersPerSecond: firstHit.size / seconds,
    createSeconds: created.seconds,
    createsPerSecond: n / created.seconds,
    createP50: pct(created.latency, 50),
    createP99: pct(created.latency, 99),
    p50: pct(latencies, 50),
    p95: pct(latencies, 95),
    p99: pct(latencies, 99),
    max: pct(latencies, 100),
    maxQueued,
    runsPerSecond: sentByRun.size / ((lastFinished - firstSent) / 1000),
    claimsPerRun: (counters1.claims - counters0.claims) / Math.max(1, firstHit.size),
    emptyClaimsPerRun: (counters1.emptyClaims - counters0.emptyClaims) / Math.max(1, firstHit.size),
    wakes,
    cappedSkips: counters1.cappedSkips - counters0.cappedSkips,
    segments,
    serverCpuMs: total / n,
    serverMainCpuMs: main / n,
    serverOtherCpuMs: (total - main) / n,
    mockCpuMs: mockMs / n,
    postgresCpuMs: pgMs / n,
    clientCpuMs: clientMs / n,
    foreignCores: Math.max(0, machine1.busy - machine0.busy - total - clientMs - mockMs - pgMs) / wall,
    errorSamples: created.errorSamples,
    window: [from, to],
  };
}

// --- one database -------------------------------------------------------------------------------

/** Creates of the same type with no process: what the save pipeline alone costs on this machine. */
interface Baseline { createsPerSecond: number; p50: number; p99: number; serverCpuMs: number; postgresCpuMs: number; errors: number }

/** Per order: [statement, executions, ms executing (Postgres: round trip), ms preparing (SQLite)]. */
type QueryStat = [sql: string, count: number, execMs: number, prepareMs: number];

interface DbResult { db: string; baseline?: Baseline; reps: Rep[]; hwmMb: number; startRssMb: number; threads: string[]; env: Record<string, string>; profile?: string; queriesPerOrder?: QueryStat[] }

async function benchDatabase(db: 'sqlite' | 'postgres'): Promise<DbResult> {
  const database = await prepareDatabase(db);
  const profileDir = args['cpu-prof'] ? mkdtempSync(join(tmpdir(), 'statusflow-e2e-prof-')) : undefined;
  const mock = await startMock(MOCK_DELAY);
  const env: Record<string, string> = { STATUSFLOW_ADMIN_KEY: ADMIN_KEY, LOG_LEVEL: 'warn', ...EXTRA_ENV };
  const countsFile = args['count-queries'] ? join(mkdtempSync(join(tmpdir(), 'statusflow-e2e-q-')), 'counts.json') : undefined;
  const nodeArgs = [...(profileDir ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : []), ...(countsFile ? ['--import', join(import.meta.dirname, 'count-queries.mjs')] : []), ...args.preload!.flatMap((m) => ['--import', resolve(m)])];
  let server: ServerProcess | undefined;
  let pool: Pool | undefined;
  let reader: Database | undefined;
  try {
    server = await startServerProcess({ command: 'start', name: `server (${db})`, env: { ...database.env, ...env, ...(countsFile ? { E2E_QUERY_COUNTS: countsFile } : {}) }, runner: 'dist', nodeArgs });
    const startRss = memoryKb(server.pid, 'VmRSS');
    pool = new Pool(server.origin, { connections: CONCURRENCY, pipelining: 1, keepAliveTimeout: 60_000 });
    const put = async (path: string, body: unknown) => {
      const res = await pool!.request({ method: 'PUT', path, headers: { authorization: `Bearer ${ADMIN_KEY}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
      const text = await res.body.text();
      if (res.statusCode >= 300) throw new Error(`PUT ${path}: ${res.statusCode} ${text}`);
    };
    await put('/api/v1/entity-types/border', TYPE);
    await put('/api/v1/entity-types/bplain', { ...TYPE, name: 'Bench order, no process' });
    await put('/api/v1/processes/deliver', {
      name: 'Deliver',
      entityType: 'border',
      trigger: { status: 'received' },
      settings: { ...(PROCESS_CONCURRENCY === undefined ? {} : { concurrency: PROCESS_CONCURRENCY }), retry: { maxAttempts: 5, initialDelayMs: 100, maxDelayMs: 2000 } },
      tasks: [
        { key: 'post', kind: 'http.request', input: { method: 'POST', url: `'${mock.url}/orders'`, body: "{ 'id': order_number, 'sent': sent_at }" } },
        ...(TASKS === 2 ? [{ key: 'mark', kind: 'entity.update', input: { attributes: "{ 'crm_ok': tasks.post.output.status = 200 }" } }] : []),
      ],
    });
    reader = database.open();
    if (WARMUP > 0) {
      await mock.ask('reset', 'reset');
      const w = await createOrders(pool, 9, WARMUP);
      await awaitDeliveries(mock, WARMUP - w.errors);
      await awaitRunsDone(reader);
    }
    let baseline: Baseline | undefined;
    if (BASELINE > 0 && !countsFile) {
      await createOrders(pool, 8, Math.min(BASELINE, 500), 'bplain');
      if (!args['no-quiet']) await waitForQuiet(60_000, 0.15);
      const cpu0 = cpuTimes(server.pid).total;
      const pg0 = postgresCpu(database.pgName);
      const b = await createOrders(pool, 7, BASELINE, 'bplain');
      const serverCpuMs = (cpuTimes(server.pid).total - cpu0) / BASELINE;
      baseline = { createsPerSecond: BASELINE / b.seconds, p50: pct(b.latency, 50), p99: pct(b.latency, 99), serverCpuMs, postgresCpuMs: database.pgName ? cpuSince(pg0, postgresCpu(database.pgName)) / BASELINE : 0, errors: b.errors };
      console.error(`  ${db} baseline: ${baseline.createsPerSecond.toFixed(0)} creates/s with no process, p50 ${baseline.p50.toFixed(1)} ms, server CPU ${baseline.serverCpuMs.toFixed(3)} ms/create`);
    }
    const reps: Rep[] = [];
    for (let rep = 1; rep <= RUNS; rep++) {
      const r = await repetition(server, pool, mock, reader, database.pgName, rep, ORDERS);
      reps.push(r);
      console.error(
        `  ${db} run ${rep}: ${r.ordersPerSecond.toFixed(0)} orders/s end to end (creates ${r.createsPerSecond.toFixed(0)}/s), ` +
          `latency p50 ${r.p50.toFixed(1)} p95 ${r.p95.toFixed(1)} p99 ${r.p99.toFixed(1)} ms, lost ${r.lost}, duplicated ${r.duplicated}, ` +
          `most queued ${r.maxQueued}, server CPU ${r.serverCpuMs.toFixed(3)} ms/order${db === 'postgres' ? `, Postgres CPU ${r.postgresCpuMs.toFixed(3)} ms/order` : ''}, other processes ${r.foreignCores.toFixed(2)} cores`,
      );
    }
    const threads = [...cpuTimes(server.pid).threads.values()].filter((t) => t.ms > 0).map((t) => `${t.name}: ${(t.ms / 1000).toFixed(1)} s`);
    const hwm = memoryKb(server.pid, 'VmHWM');
    await pool.close();
    pool = undefined;
    await server.stop();
    const profile = profileDir ? summarizeProfiles(profileDir, reps.map((r) => r.window)) : undefined;
    const orders = WARMUP + RUNS * ORDERS;
    const queriesPerOrder =
      countsFile && existsSync(countsFile)
        ? (JSON.parse(readFileSync(countsFile, 'utf8')) as Array<[string, [number, number, number]]>).map(([q, [n, ms, prep]]): QueryStat => [q, n / orders, ms / orders, prep / orders])
        : undefined;
    if (countsFile) rmSync(join(countsFile, '..'), { recursive: true, force: true });
    return { db, baseline, reps, hwmMb: hwm / 1024, startRssMb: startRss / 1024, threads, env: { ...env, STATUSFLOW_ADMIN_KEY: '…' }, profile, queriesPerOrder };
  } finally {
    await pool?.close().catch(() => undefined);
    await reader?.close().catch(() => undefined);
    if (server) {
      await server.stop();
      if (server.child.exitCode !== 0) console.error(server.output().slice(-4000));
    }
    mock.child.send({ type: 'exit' });
    await new Promise((r) => (mock.child.exitCode === null ? mock.child.once('exit', r) : r(null)));
    await database.cleanup();
    if (profileDir) rmSync(profileDir, { recursive: true, force: true });
  }
}

// --- report -------------------------------------------------------------------------------------

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;

function report(r: DbResult): string {
  const f = (n: number, d = 0) => (Number.isFinite(n) ? n.toFixed(d) : '—');
  const med = (pick: (p: Rep) => number) => median(r.reps.map(pick));
  const L: string[] = [];
  L.push(`Statusflow end-to-end benchmark — ${r.db}${args.label ? ` (${args.label})` : ''}`);
  L.push(`date ${new Date().toISOString()}, commit ${REVISION}${args['no-build'] ? ' (dist not rebuilt: --no-build)' : ''}, node ${process.version}, ${availableParallelism()} CPUs shared by the client, the mock provider and the server`);
  L.push(`server: node dist/cli/main.js start, env ${JSON.stringify(r.env)}${args.preload!.length ? `; preloaded (what-if experiment): ${args.preload!.join(', ')}` : ''}`);
  L.push(`configuration: ${CONFIG}`);
  L.push(`each run: ${ORDERS} orders created (POST /api/v1/entities/border, undici Pool, ${CONCURRENCY} in flight); each enters "received" and runs the process, whose first task POSTs to the mock`);
  L.push(`warm-up ${WARMUP} orders; ${RUNS} runs; medians quoted`);
  L.push('');
  L.push('run  orders/s  runs done/s  creates/s  latency p50   p95    p99    max ms  lost  dup  most queued  claims/run (empty)  wakes signal/due/poll  create p50/p99 ms  server CPU ms/order (main + threads)  postgres  mock  client  other procs (cores)');
  for (const p of r.reps) {
    L.push(
      `${String(p.rep).padStart(3)}  ${f(p.ordersPerSecond).padStart(8)}  ${f(p.runsPerSecond).padStart(11)}  ${f(p.createsPerSecond).padStart(9)}  ${f(p.p50, 1).padStart(11)} ${f(p.p95, 1).padStart(6)} ${f(p.p99, 1).padStart(6)} ${f(p.max, 0).padStart(7)}  ${String(p.lost).padStart(4)} ${String(p.duplicated).padStart(4)}  ${String(p.maxQueued).padStart(11)}  ${`${f(p.claimsPerRun, 2)} (${f(p.emptyClaimsPerRun, 2)})`.padStart(18)}  ${`${p.wakes.signal}/${p.wakes.due}/${p.wakes.poll}`.padStart(21)}  ${`${f(p.createP50, 1)}/${f(p.createP99, 1)}`.padStart(17)}  ${f(p.serverCpuMs, 3).padStart(6)} (${f(p.serverMainCpuMs, 3)} + ${f(p.serverOtherCpuMs, 3)})${' '.repeat(14)}${f(p.postgresCpuMs, 3).padStart(6)}  ${f(p.mockCpuMs, 3)}  ${f(p.clientCpuMs, 3)}   ${f(p.foreignCores, 2)}`,
    );
  }
  L.push('');
  const tput = med((p) => p.ordersPerSecond);
  const p99 = med((p) => p.p99);
  const lost = r.reps.reduce((n, p) => n + p.lost + p.createErrors, 0);
  const dup = r.reps.reduce((n, p) => n + p.duplicated, 0);
  L.push(`median: ${f(tput)} orders/s end to end, latency create-send → mock hit p50 ${f(med((p) => p.p50), 1)} ms, p95 ${f(med((p) => p.p95), 1)} ms, p99 ${f(p99, 1)} ms; creates ${f(med((p) => p.createsPerSecond))}/s`);
  if (r.baseline) {
    const b = r.baseline;
    L.push(`baseline, same type with no process: ${f(b.createsPerSecond)} creates/s, p50 ${f(b.p50, 1)} ms, p99 ${f(b.p99, 1)} ms, server CPU ${f(b.serverCpuMs, 3)} ms/create${r.db === 'postgres' ? `, Postgres CPU ${f(b.postgresCpuMs, 3)} ms/create` : ''}${b.errors ? `, ${b.errors} errors` : ''}`);
  }
  L.push(`lost ${lost}, duplicated ${dup} (all runs); server CPU ${f(med((p) => p.serverCpuMs), 3)} ms/order (main thread ${f(med((p) => p.serverMainCpuMs), 3)}, other threads ${f(med((p) => p.serverOtherCpuMs), 3)})${r.db === 'postgres' ? `; Postgres server CPU ${f(med((p) => p.postgresCpuMs), 3)} ms/order` : ''}; mock ${f(med((p) => p.mockCpuMs), 3)}, client ${f(med((p) => p.clientCpuMs), 3)} ms/order`);
  L.push(`workers: ${f(med((p) => p.claimsPerRun), 2)} claims per delivered run (${f(med((p) => p.emptyClaimsPerRun), 2)} of them taking nothing), ${f(med((p) => p.wakes.poll))} poll wake-ups during a measured run, ${f(med((p) => p.cappedSkips))} due runs left for the cap (medians)`);
  L.push(`server memory: RSS ${f(r.startRssMb)} MB after start, peak (VmHWM) ${f(r.hwmMb)} MB`);
  L.push(`server threads with CPU time: ${r.threads.join(', ')}`);
  L.push('');
  L.push('where an order\'s time goes (from the runs\' and steps\' timestamps, ms; median of the runs\' p50 / p99):');
  for (const k of Object.keys(r.reps[0]?.segments ?? {})) {
    L.push(`  ${k.padEnd(52)} p50 ${f(med((p) => p.segments[k]!.p50), 1).padStart(7)}   p99 ${f(med((p) => p.segments[k]!.p99), 1).padStart(7)}`);
  }
  L.push('');
  const sqlite = r.db === 'sqlite';
  L.push(
    `targets: >= 1,000 orders/s on SQLite ${sqlite ? (tput >= 1000 ? 'met' : 'MISSED') : 'n/a'}, p99 < 100 ms ${p99 < 100 ? 'met' : 'MISSED'}, zero lost ${lost === 0 ? 'met' : 'MISSED'}, zero duplicated ${dup === 0 ? 'met' : 'MISSED'}; ` +
      `product goal 2,500 orders/s at p99 <= 50 ms ${tput >= 2500 && p99 <= 50 ? 'met' : 'MISSED'}`,
  );
  for (const p of r.reps) for (const s of p.errorSamples) L.push(`error sample (run ${p.rep}): ${s}`);
  if (r.queriesPerOrder) {
    const qs = r.queriesPerOrder.filter(([q]) => !q.startsWith('(pool'));
    const sum = (i: 1 | 2 | 3) => qs.reduce((n, x) => n + x[i], 0);
    const pg = r.db === 'postgres';
    L.push('', `database statements per order (warm-up and setup included): ${f(sum(1), 1)} statements, ${f(sum(2), 3)} ms ${pg ? 'round trips (call → answer)' : 'executing'}${pg ? '' : ` + ${f(sum(3), 3)} ms preparing`}`);
    L.push(`  per order:  count  ${pg ? 'round-trip ms' : 'exec ms  prepare ms'}  statement`);
    for (const [q, k, ms, prep] of r.queriesPerOrder.filter(([, k]) => k >= 0.04)) {
      L.push(`  ${f(k, 2).padStart(17)}  ${f(ms, 3).padStart(pg ? 13 : 7)}  ${pg ? '' : `${f(prep, 3).padStart(10)}  `}${q}`);
    }
  }
  if (r.profile) L.push('', 'CPU profile of the server during the measured runs (node --cpu-prof), per thread; the first is the main thread:', r.profile);
  return L.join('\n');
}

// --- main ---------------------------------------------------------------------------------------

const dbs = args.db === 'both' ? (['sqlite', 'postgres'] as const) : [args.db as 'sqlite' | 'postgres'];
if (!dbs.every((d) => d === 'sqlite' || d === 'postgres')) throw new Error('--db must be sqlite, postgres or both');
if (!args['no-build']) {
  console.error('building (npm run build)…');
  execFileSync('npm', ['run', 'build', '--silent'], { cwd: ROOT, stdio: 'inherit' });
}
for (const db of dbs) {
  console.error(`${db}: starting the mock and the server…`);
  const result = await benchDatabase(db);
  const text = report(result);
  console.log(text + '\n');
  const custom =
    args.label || args['cpu-prof'] || args['count-queries'] || args.preload!.length > 0 || ORDERS !== 2000 || CONCURRENCY !== 16 || RUNS !== 3 || args.env!.length > 0 || PROCESS_CONCURRENCY !== undefined || MOCK_DELAY !== 0 || TASKS !== 1;
  if (!args['no-write']) {
    mkdirSync(RESULTS, { recursive: true });
    const base = join(RESULTS, `e2e-${db}${custom ? `-${args.label ?? 'custom'}` : ''}`);
    writeFileSync(`${base}.txt`, text + '\n');
    writeFileSync(
      `${base}.json`,
      JSON.stringify({ date: new Date().toISOString(), revision: REVISION, node: process.version, cpus: availableParallelism(), orders: ORDERS, concurrency: CONCURRENCY, runs: RUNS, warmup: WARMUP, processConcurrency: PROCESS_CONCURRENCY ?? 'default', mockDelayMs: MOCK_DELAY, tasks: TASKS, ...result }, null, 2) + '\n',
    );
    console.error(`wrote ${base}.txt and .json`);
  }
}
