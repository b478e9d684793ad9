/**
 * Batch throughput and fairness (issue 12): N orders (default 20,000; BATCH_N=100000 for the issue's
 * figure), one batch over all of them running a process with one HTTP call to a local target that
 * answers after BATCH_DELAY_MS (default 20); while it runs, a live order is saved every 2 s into the
 * status that triggers the same process, and the time from its save to its run's end is measured.
 * Prints items/s of the batch, the live runs' latencies and the load average (the machine is shared).
 *   npx tsx bench/batch/run.ts [sqlite|postgres]      (postgres: BENCH_PG_URL or postgres://postgres@127.0.0.1:5432/postgres)
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { loadavg } from 'node:os';
import { buildApp } from '../../src/api/app.js';
import { BatchFeeder } from '../../src/engine/batches/feeder.js';
import { Executor } from '../../src/engine/executor/executor.js';
import { newId } from '../../src/domain/ids.js';
import { openInProcess, revision } from '../support.js';

const dialect = (process.argv[2] ?? 'sqlite') as 'sqlite' | 'postgres';
const N = Number(process.env.BATCH_N ?? 20_000);
const DELAY = Number(process.env.BATCH_DELAY_MS ?? 20);

const target = createServer((req, res) => {
  req.resume();
  req.on('end', () => setTimeout(() => res.writeHead(200, { 'content-type': 'application/json' }).end('{}'), DELAY));
});
target.keepAliveTimeout = 60_000;
await new Promise<void>((r) => target.listen(0, '127.0.0.1', r));
const url = `http://127.0.0.1:${(target.address() as AddressInfo).port}`;

const ip = await openInProcess({ dialect, pgUrl: process.env.BENCH_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres', name: 'batch' });
const app = await buildApp({ services: ip.services, defaultOrgId: ip.orgId, version: 'bench', logLevel: 'silent' });
const call = async (method: 'GET' | 'POST' | 'PUT' | 'PATCH', path: string, body?: unknown) => {
  const res = await app.inject({ method, url: path, headers: { authorization: `Bearer ${ip.adminKey}` }, ...(body === undefined ? {} : { payload: body as object }) });
  if (res.statusCode >= 300) throw new Error(`${method} ${path}: ${res.statusCode} ${res.body}`);
  return res.json();
};
await call('PUT', '/api/v1/entity-types/order', {
  name: 'Order',
  attributes: [{ key: 'n', type: 'integer', required: true }],
  statuses: [{ key: 'approved', name: 'Approved', initial: true }, { key: 'rush', name: 'Rush' }],
  transitions: [{ from: ['approved'], to: 'rush' }],
});
await call('PUT', '/api/v1/processes/sync', { name: 'Sync', entityType: 'order', trigger: { status: 'rush' }, tasks: [{ key: 'call', kind: 'http.request', input: { method: 'POST', url: `'${url}/x'` } }] });
const now = new Date().toISOString();
for (let i = 0; i < N; i += 1000) {
  const rows = Array.from({ length: Math.min(1000, N - i) }, (_, j) => ({ id: newId(), org_id: ip.orgId, type: 'order', status: 'approved', attributes: JSON.stringify({ n: i + j }), version: 1, created_at: now, updated_at: now }));
  await ip.database.db.insertInto('entities').values(rows).execute();
}

const executor = new Executor(ip.services);
const feeder = new BatchFeeder(ip.services);
await executor.start();
feeder.start();
const t0 = Date.now();
const batch = await call('POST', '/api/v1/batches', { process: 'sync', filter: { status: ['approved'] } });
const created = Date.now();
const latencies: number[] = [];
const loads: number[] = [];
let maxQueuedBatchRuns = 0;
for (;;) {
  const b = await call('GET', `/api/v1/batches/${batch.id}`);
  maxQueuedBatchRuns = Math.max(maxQueuedBatchRuns, b.queued);
  if (b.status === 'completed') break;
  loads.push(loadavg()[0]!);
  const live = await call('POST', '/api/v1/entities/order', { attributes: { n: -1 } });
  const saved = Date.now();
  const runId = (await call('PATCH', `/api/v1/entities/order/${live.id}`, { status: 'rush' })).queuedRuns[0].id;
  for (;;) {
    const r = await call('GET', `/api/v1/runs/${runId}`);
    if (r.status === 'succeeded') break;
    await new Promise((res) => setTimeout(res, 5));
  }
  latencies.push(Date.now() - saved);
  await new Promise((res) => setTimeout(res, 2000));
}
const done = Date.now();
const sorted = [...latencies].sort((a, b) => a - b);
const pct = (p: number) => sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] ?? 0;
console.log(`bench/batch on ${dialect} at ${revision()}, ${new Date().toISOString()}`);
console.log(`${N} items, HTTP call answering after ${DELAY} ms, process concurrency 100 (window 90), one worker (64 in flight)`);
console.log(`create (selection + items): ${created - t0} ms; batch ${((N / (done - created)) * 1000).toFixed(0)} items/s over ${((done - created) / 1000).toFixed(1)} s; most batch runs queued at once ${maxQueuedBatchRuns}`);
console.log(`live runs during the batch (save → run succeeded), ${latencies.length} samples: p50 ${pct(0.5)} ms, p95 ${pct(0.95)} ms, max ${sorted[sorted.length - 1] ?? 0} ms`);
console.log(`load average (1 min) during the run: ${Math.min(...loads).toFixed(1)}–${Math.max(...loads).toFixed(1)} on ${(await import('node:os')).cpus().length} cores`);
await feeder.stop();
await executor.stop();
await app.close();
await ip.close();
target.close();
