/**
 * Soak: sustained load on the embedded SQLite database (issue 15). Orders are created over HTTP without
 * pause; each enters `received` and runs one `http.request` POST to the mock provider of bench/e2e.
 * Prints orders/s, latency (create sent → mock hit) p50/p99, peak RSS, and the database and WAL size
 * every `--sample-every` orders, the largest WAL seen (sampled every 100 ms), how long the shutdown
 * took and what it left; then prunes the result (keeping 1,000 runs) to measure pruning speed.
 * See bench/soak/README.md.
 *
 *   npx tsx bench/soak/run.ts [--orders 100000] [--concurrency 16] [--sample-every 10000]
 *        [--no-wal-bound] [--process-concurrency 64] [--no-prune] [--no-build] [--no-write] [--label name]
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { Pool } from 'undici';
import { Pruner } from '../../src/engine/retention.js';
import { openDatabase } from '../../src/store/db.js';
import { ORDER_TYPE } from '../../test/support/order.js';
import { startServerProcess } from '../../test/support/server-process.js';
import type { MockHit } from '../e2e/mock.js';
import { revision } from '../support.js';
import { startMock } from '../e2e/mock-client.js';
import { cpuTimes, memoryKb } from '../save/proc.js';

const { values: args } = parseArgs({
  options: {
    orders: { type: 'string', default: '100000' },
    concurrency: { type: 'string', default: '16' },
    'sample-every': { type: 'string', default: '10000' },
    'process-concurrency': { type: 'string', default: '64' },
    /** The run without the change: STATUSFLOW_SQLITE_WAL_LIMIT_MB=0 (the WAL is never reset). */
    'no-wal-bound': { type: 'boolean', default: false },
    'no-prune': { type: 'boolean', default: false },
    'no-build': { type: 'boolean', default: false },
    'no-write': { type: 'boolean', default: false },
    label: { type: 'string' },
  },
});
const ORDERS = Number(args.orders);
const CONCURRENCY = Number(args.concurrency);
const EVERY = Number(args['sample-every']);
const ROOT = resolve(import.meta.dirname, '../..');
const ADMIN_KEY = `sf_soak_${randomBytes(12).toString('hex')}`;
const MB = 1024 * 1024;
const now = () => performance.timeOrigin + performance.now();
const REVISION = revision();
const size = (path: string) => (existsSync(path) ? statSync(path).size : 0);
const pct = (xs: number[], p: number) => {
  const s = xs.filter(Number.isFinite).sort((a, b) => a - b);
  return s.length === 0 ? NaN : s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
};
const orderNumber = (i: number) => `ORD-1${String(i).padStart(7, '0')}`;

interface Sample { orders: number; seconds: number; delivered: number; dbMb: number; walMb: number; walMaxMb: number; rssMb: number }

if (!args['no-build']) {
  console.error('building (npm run build)…');
  execFileSync('npm', ['run', 'build', '--silent'], { cwd: ROOT, stdio: 'inherit' });
}
const dir = mkdtempSync(join(tmpdir(), 'statusflow-soak-'));
const dbPath = join(dir, 'statusflow.db');
const mock = await startMock();
const env: Record<string, string> = { STATUSFLOW_DATA_DIR: dir, STATUSFLOW_ADMIN_KEY: ADMIN_KEY, LOG_LEVEL: 'warn', ...(args['no-wal-bound'] ? { STATUSFLOW_SQLITE_WAL_LIMIT_MB: '0' } : {}) };
const server = await startServerProcess({ command: 'start', name: 'server', env, runner: 'dist' });
const pool = new Pool(server.origin, { connections: CONCURRENCY, pipelining: 1, keepAliveTimeout: 60_000 });
const headers = { authorization: `Bearer ${ADMIN_KEY}`, 'content-type': 'application/json' };
const call = async (method: 'GET' | 'PUT', path: string, body?: unknown) => {
  const res = await pool.request({ method, path, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await res.body.text();
  if (res.statusCode >= 300) throw new Error(`${method} ${path}: ${res.statusCode} ${text}`);
  return JSON.parse(text) as Record<string, unknown>;
};
await call('PUT', '/api/v1/entity-types/border', { ...ORDER_TYPE, name: 'Soak order', attributes: [...ORDER_TYPE.attributes, { key: 'sent_at', type: 'number' }] });
await call('PUT', '/api/v1/processes/deliver', {
  name: 'Deliver',
  entityType: 'border',
  trigger: { status: 'received' },
  settings: { concurrency: Number(args['process-concurrency']), retry: { maxAttempts: 5, initialDelayMs: 100, maxDelayMs: 2000 } },
  tasks: [{ key: 'post', kind: 'http.request', input: { method: 'POST', url: `'${mock.url}/orders'`, body: "{ 'id': order_number, 'sent': sent_at }" } }],
});

// --- load ----------------------------------------------------------------------------------------
let walMax = 0;
let sampling = true;
const walSampler = (async () => {
  while (sampling) {
    walMax = Math.max(walMax, size(`${dbPath}-wal`));
    await new Promise((r) => setTimeout(r, 100));
  }
})();
const samples: Sample[] = [];
const sent = new Array<number>(ORDERS);
const errorSamples: string[] = [];
let errors = 0;
let next = 0;
let created = 0;
const t0 = now();
const cpu0 = cpuTimes(server.pid).total;
const sample = async (orders: number) => {
  const { n } = await mock.ask<{ n: number }>('count', 'count');
  samples.push({ orders, seconds: (now() - t0) / 1000, delivered: n, dbMb: size(dbPath) / MB, walMb: size(`${dbPath}-wal`) / MB, walMaxMb: walMax / MB, rssMb: memoryKb(server.pid, 'VmRSS') / 1024 });
  const s = samples[samples.length - 1]!;
  console.error(`  ${orders} orders, ${s.seconds.toFixed(0)} s: ${n} delivered; db ${s.dbMb.toFixed(1)} MB, WAL ${s.walMb.toFixed(1)} MB (max so far ${s.walMaxMb.toFixed(1)}), RSS ${s.rssMb.toFixed(0)} MB`);
};
const worker = async () => {
  for (let i = next++; i < ORDERS; i = next++) {
    sent[i] = now();
    const body = JSON.stringify({ attributes: { order_number: orderNumber(i), total: 10 + (i % 90), customer_email: `c${i}@example.com`, sent_at: sent[i] } });
    try {
      const res = await pool.request({ method: 'POST', path: '/api/v1/entities/border', headers, body });
      const text = await res.body.text();
      if (res.statusCode !== 201) throw new Error(`${res.statusCode} ${text.slice(0, 300)}`);
    } catch (err) {
      errors++;
      if (errorSamples.length < 5) errorSamples.push(String(err));
    }
    if (++created % EVERY === 0) await sample(created);
  }
};
await Promise.all(Array.from({ length: CONCURRENCY }, worker));
const createSeconds = (now() - t0) / 1000;
// Every order's call, or nothing new for 60 s.
for (let last = -1, since = Date.now(); ; ) {
  const { n } = await mock.ask<{ n: number }>('count', 'count');
  if (n >= ORDERS - errors) break;
  if (n !== last) [last, since] = [n, Date.now()];
  else if (Date.now() - since > 60_000) break;
  await new Promise((r) => setTimeout(r, 50));
}
await new Promise((r) => setTimeout(r, 500)); // late duplicates
const { hits } = await mock.ask<{ hits: MockHit[] }>('report', 'report');
const first = new Map<string, MockHit>();
for (const h of hits) if (!first.has(h[0])) first.set(h[0], h);
const latencies = [...first.values()].map((h) => h[2] - h[3]);
const seconds = (Math.max(...[...first.values()].map((h) => h[2])) - t0) / 1000;
await sample(ORDERS);
sampling = false;
await walSampler;
const storage = await call('GET', '/api/v1/admin/storage');
const hwmMb = memoryKb(server.pid, 'VmHWM') / 1024;
// CPU per order moves less than orders/s with what else runs on the machine: compare runs by it too.
const serverCpuMs = (cpuTimes(server.pid).total - cpu0) / ORDERS;
await pool.close();

// --- shutdown after the load -------------------------------------------------------------------
const walBeforeStop = size(`${dbPath}-wal`);
const stopT0 = Date.now();
await server.stop(60_000);
const shutdownMs = Date.now() - stopT0;
const exitCode = server.child.exitCode;
const walAfterStop = existsSync(`${dbPath}-wal`) ? size(`${dbPath}-wal`) : -1;
const dbAfterStop = size(dbPath);
mock.child.send({ type: 'exit' });

// --- pruning speed ------------------------------------------------------------------------------
let prune: Record<string, number | string | undefined> | undefined;
if (!args['no-prune']) {
  const database = openDatabase({ dialect: 'sqlite', path: dbPath });
  const pruner = new Pruner(database, { runsDays: 0, runsPerProcess: 1000, eventsDays: 0, intervalMs: 60_000, chunk: 500 });
  const r = await pruner.pruneNow();
  await database.close();
  prune = { runs: r.runs, steps: r.steps, chunks: r.chunks, ms: r.durationMs, runsPerSecond: Math.round(r.runs / (r.durationMs / 1000)), mbFreed: +(r.bytesFreed / MB).toFixed(1), dbMbAfter: +(size(dbPath) / MB).toFixed(1), error: r.error };
}
rmSync(dir, { recursive: true, force: true });

// --- report -------------------------------------------------------------------------------------
const delivered = first.size;
const f = (n: number, d = 0) => (Number.isFinite(n) ? n.toFixed(d) : '—');
const wal = storage.wal as Record<string, number> | null;
const L: string[] = [];
L.push(`Statusflow soak — SQLite${args['no-wal-bound'] ? ', WAL bound OFF (STATUSFLOW_SQLITE_WAL_LIMIT_MB=0)' : ', WAL bound on (default 32 MB)'}${args.label ? ` (${args.label})` : ''}`);
L.push(`date ${new Date().toISOString()}, commit ${REVISION}, node ${process.version}, ${availableParallelism()} CPUs shared by the client, the mock provider and the server`);
L.push(`${ORDERS} orders created over HTTP (${CONCURRENCY} in flight, no pause), each running one http.request POST to the mock; process concurrency ${args['process-concurrency']}`);
L.push('');
L.push('  orders  seconds  delivered  db MB  WAL MB  WAL max MB  RSS MB');
for (const s of samples) L.push(`${String(s.orders).padStart(8)}  ${f(s.seconds).padStart(7)}  ${String(s.delivered).padStart(9)}  ${f(s.dbMb, 1).padStart(5)}  ${f(s.walMb, 1).padStart(6)}  ${f(s.walMaxMb, 1).padStart(10)}  ${f(s.rssMb).padStart(6)}`);
L.push('');
L.push(`throughput: ${f(delivered / seconds)} orders/s end to end (first create → last mock hit, ${f(seconds, 1)} s); creates ${f(ORDERS / createSeconds)}/s`);
L.push(`latency create sent → mock hit: p50 ${f(pct(latencies, 50), 1)} ms, p99 ${f(pct(latencies, 99), 1)} ms, max ${f(pct(latencies, 100), 0)} ms`);
L.push(`lost ${ORDERS - errors - delivered}, duplicated ${hits.length - delivered}, create errors ${errors}`);
L.push(`server memory: peak RSS (VmHWM) ${f(hwmMb)} MB; server CPU ${f(serverCpuMs, 3)} ms/order`);
L.push(`WAL: largest seen ${f(walMax / MB, 1)} MB (sampled every 100 ms)${wal ? `; server: peak after a commit ${f(wal.walPeakBytes! / MB, 1)} MB, ${wal.resets} resets, ${wal.resetsBlocked} blocked by readers, writes paused ${f(wal.maxPauseMs!, 1)} ms at most, ${f(wal.totalPauseMs!, 0)} ms in all` : ''}`);
L.push(`shutdown after the load: ${shutdownMs} ms (exit code ${exitCode}); WAL ${f(walBeforeStop / MB, 1)} MB before, ${walAfterStop < 0 ? 'removed' : `${walAfterStop} bytes`} after; database ${f(dbAfterStop / MB, 1)} MB`);
if (prune) L.push(`pruning (keep the newest 1,000 runs, chunks of 500, server stopped): ${prune.runs} runs and ${prune.steps} steps in ${prune.ms} ms (${prune.runsPerSecond} runs/s, ${prune.chunks} chunks); ${prune.mbFreed} MB given back; database ${prune.dbMbAfter} MB after${prune.error ? `; ERROR ${prune.error}` : ''}`);
L.push(`target: WAL never above 64 MB ${walMax <= 64 * MB ? 'met' : 'MISSED'}`);
for (const e of errorSamples) L.push(`error sample: ${e}`);
const text = L.join('\n');
console.log(text);
if (!args['no-write']) {
  const results = join(ROOT, 'bench/results');
  mkdirSync(results, { recursive: true });
  const base = join(results, `soak-sqlite${args['no-wal-bound'] ? '-unbounded' : ''}${args.label ? `-${args.label}` : ''}`);
  writeFileSync(`${base}.txt`, text + '\n');
  const json = { date: new Date().toISOString(), revision: REVISION, orders: ORDERS, concurrency: CONCURRENCY, walBound: !args['no-wal-bound'], samples, ordersPerSecond: delivered / seconds, p50: pct(latencies, 50), p99: pct(latencies, 99), lost: ORDERS - errors - delivered, duplicated: hits.length - delivered, errors, peakRssMb: hwmMb, serverCpuMs, walMaxBytes: walMax, wal, shutdownMs, exitCode, walAfterStop, prune };
  writeFileSync(`${base}.json`, JSON.stringify(json, null, 2) + '\n');
  console.error(`wrote ${base}.txt and .json`);
}
