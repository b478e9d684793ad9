/**
 * Provider batching at scale (docs/provider-batching.md): a batch (POST /api/v1/batches) runs a hubspot.upsert
 * process over N orders against the HubSpot sandbox. Three processes, as users run it: the Statusflow server is
 * the built one (`node dist/cli/main.js start`, rebuilt first unless --no-build), the HubSpot sandbox runs in its
 * own process (sandbox-child.ts), and this client (seeding over HTTP, the batch, the live saves) in a third.
 * Prints entities/s (batch created → completed), HubSpot requests made, records per request, the server's peak
 * RSS (its VmHWM: seeding and batch, each shown too) and the fake's apart, and the p99 of live orders saved
 * meanwhile (POST /entities, one every 50 ms after the last answer, while the batch runs; total 5 keeps them out
 * of it). Scenarios, each on a fresh database and a fresh server, in one run:
 *   batched      default settings (what `statusflow start` gives: no concurrency or worker tuning) — the headline
 *   per-record   the same with provider batching off: the baseline the ratios are against
 *   tuned        batching with a faster batch feeder, a larger process concurrency and worker
 *   limited      default settings, the fake limited to 10 requests/s (and the connection told so)
 *   slow         default settings, the fake answering in 150 ms, as HubSpot's batch calls take hundreds of ms
 * per-record and tuned change options no setting offers: their server is server.mjs (the same `start` from dist/,
 * given those options); the others run `node dist/cli/main.js start` itself.
 *
 *   flock /tmp/bench.lock npx tsx bench/batch/run.ts [--db sqlite|postgres] [--orders 100000] [--runs 1]
 *        [--scenarios batched,per-record,tuned,limited] [--no-write] [--no-build] [--pg-url …]
 *        [--env STATUSFLOW_X=1]… [--node-arg --max-semi-space-size=8]… [--memory-log] [--heap-snapshot]
 * The server's heap grows by a factor of 2 past what a full GC kept (src/cli/heap.ts); `--env
 * STATUSFLOW_HEAP_GROWTH_PERCENT=0` measures V8's own (up to 4), compare in one sitting.
 */
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Pool } from 'undici';
import type { StartTuning } from '../../src/cli/start.js';
import { ORDER_TYPE } from '../../test/support/order.js';
import { startServerProcess } from '../../test/support/server-process.js';
import { cpuTimes, memoryKb } from '../save/proc.js';
import { revision, ROOT } from '../support.js';
import { memoryLogSummary, openServerDatabase } from './server-side.js';
import { startSandboxChild } from './sandbox.js';

const { values: args } = parseArgs({
  options: {
    db: { type: 'string', default: 'sqlite' },
    orders: { type: 'string', default: '100000' },
    runs: { type: 'string', default: '1' },
    scenarios: { type: 'string', default: 'batched,per-record,tuned,limited' },
    'no-write': { type: 'boolean', default: false },
    'no-build': { type: 'boolean', default: false },
    /** Added to the server's environment (experiments: STATUSFLOW_EXPR_THREADS=2, …). */
    env: { type: 'string', multiple: true, default: [] },
    /** Node flags for the server (experiments: --max-semi-space-size=8, --heapsnapshot-signal=SIGUSR2, …). */
    'node-arg': { type: 'string', multiple: true, default: [] },
    /** Logs the server's process.memoryUsage() every 500 ms (memory-log.mjs) and prints a summary. */
    'memory-log': { type: 'boolean', default: false },
    /** Writes a heap snapshot of the server when half the batch is done (into the OS temp dir; it pauses the server: no figures). */
    'heap-snapshot': { type: 'boolean', default: false },
    'pg-url': { type: 'string', default: process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test' },
  },
});
const dialect = args.db === 'postgres' ? 'postgres' : 'sqlite';
const ORDERS = Number(args.orders);
const RUNS = Number(args.runs);
const ADMIN_KEY = 'sf_bench_batch_0123456789abcdef';
const EXTRA_ENV = Object.fromEntries(args.env!.map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]));
const NODE_ARGS = args['node-arg']!;

interface Scenario {
  name: string;
  what: string;
  tuning?: StartTuning;
  concurrency?: number;
  rateLimit?: { requests: number; perMs: number };
  latencyMs?: number;
}
const SCENARIOS: Record<string, Scenario> = {
  batched: { name: 'batched', what: 'default settings, provider batching on' },
  'per-record': { name: 'per-record', what: 'default settings, provider batching off (one HubSpot call per record)', tuning: { worker: { batching: false } } },
  tuned: { name: 'tuned', what: 'batching; feeder tick 20 ms, process concurrency 1000, worker maxInFlight 256 + batchHold 800', tuning: { worker: { maxInFlight: 256, batchHold: 800 }, feeder: { tickMs: 20 } }, concurrency: 1000 },
  limited: { name: 'limited', what: 'default settings, batching on, the fake (and the connection) limited to 10 requests/s', rateLimit: { requests: 10, perMs: 1000 } },
  slow: { name: 'slow', what: 'default settings, batching on, the fake answering in 150 ms', latencyMs: 150 },
};

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? NaN : s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
};
const median = (xs: number[]) => pct(xs, 50);
const mb = (kb: number) => Math.round(kb / 1024);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Result {
  scenario: string;
  entitiesPerSecond: number;
  seconds: number;
  succeeded: number;
  failed: number;
  hubspotRequests: number;
  recordsPerRequest: number;
  rateLimited: number;
  /** The server's VmHWM over its life (seeding and batch). */
  peakRssMB: number;
  startRssMB: number;
  seedPeakRssMB: number;
  /** The server's peak while the batch ran (VmHWM reset after seeding; sampled every 100 ms where the reset is refused). */
  batchPeakRssMB: number;
  endRssMB: number;
  /** The server's CPU time (all threads) from batch created to completed, per entity: steadier than entities/s on a shared machine. */
  serverCpuMsPerEntity: number;
  fakePeakRssMB: number;
  liveSaves: number;
  liveP50: number;
  liveP99: number;
  seedSeconds: number;
}

async function measure(s: Scenario): Promise<Result> {
  const hs = await startSandboxChild({ ...(s.rateLimit ? { rateLimit: s.rateLimit } : {}), latencyMs: s.latencyMs ?? 0 });
  const database = await openServerDatabase(dialect, args['pg-url']!);
  const memoryLog = args['memory-log'] ? join(tmpdir(), `statusflow-batch-memory-${s.name}-${process.pid}.jsonl`) : undefined;
  const server = await startServerProcess({
    command: 'start',
    name: `server (${s.name})`,
    runner: 'dist',
    env: { ...database.env, STATUSFLOW_ADMIN_KEY: ADMIN_KEY, LOG_LEVEL: 'warn', ...EXTRA_ENV, ...(s.tuning ? { BENCH_TUNING: JSON.stringify(s.tuning) } : {}), ...(memoryLog ? { BENCH_MEMORY_LOG: memoryLog } : {}) },
    nodeArgs: [...NODE_ARGS, ...(memoryLog ? ['--import', join(import.meta.dirname, 'memory-log.mjs')] : []), ...(args['heap-snapshot'] ? ['--heapsnapshot-signal=SIGUSR2', `--diagnostic-dir=${tmpdir()}`] : [])],
    ...(s.tuning ? { script: join(import.meta.dirname, 'server.mjs') } : {}),
  });
  const pool = new Pool(server.origin, { connections: 64, pipelining: 1, keepAliveTimeout: 60_000 });
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  const call = async (method: 'PUT' | 'POST' | 'GET', path: string, body?: object): Promise<any> => {
    const res = await pool.request({ method, path, headers: { authorization: `Bearer ${ADMIN_KEY}`, ...(body ? { 'content-type': 'application/json' } : {}) }, ...(body ? { body: JSON.stringify(body) } : {}) });
    const text = await res.body.text();
    if (res.statusCode >= 300) throw new Error(`${method} ${path}: ${res.statusCode} ${text.slice(0, 300)}`);
    return JSON.parse(text);
  };
  try {
    const startRssMB = mb(memoryKb(server.pid, 'VmRSS'));
    await call('PUT', '/api/v1/connections/hubspot_main', { provider: 'hubspot', config: { baseUrl: hs.url, uniqueProperties: { deals: 'statusflow_id' }, rateLimit: s.rateLimit ?? { requests: 100_000, perMs: 10_000 } }, secrets: { accessToken: hs.token } });
    await call('PUT', '/api/v1/entity-types/order', ORDER_TYPE);
    await call('PUT', '/api/v1/processes/copy_to_hubspot', {
      name: 'Copy order to HubSpot',
      entityType: 'order',
      trigger: { manual: true },
      ...(s.concurrency ? { settings: { concurrency: s.concurrency } } : {}),
      tasks: [{ key: 'deal', kind: 'hubspot.upsert', connection: 'hubspot_main', input: { object: 'deals', properties: "{ 'dealname': 'Order ' & order_number, 'amount': $string(total) }" } }],
    });
    // Seed the orders over HTTP (they enter `received`), 64 at a time.
    const seedStart = performance.now();
    let next = 0;
    await Promise.all(
      Array.from({ length: 64 }, async () => {
        while (next < ORDERS) {
          const i = next++;
          await call('POST', '/api/v1/entities/order', { attributes: { order_number: `ORD-${i + 1}`, total: 10 + (i % 500), customer_email: `c${i}@example.com` } });
        }
      }),
    );
    const seedSeconds = (performance.now() - seedStart) / 1000;
    const seedPeakRssMB = mb(memoryKb(server.pid, 'VmHWM'));
    // From here VmHWM is the batch's own peak (writing 5 to clear_refs resets it); a sampler stands in if refused.
    let hwmReset = true;
    try {
      writeFileSync(`/proc/${server.pid}/clear_refs`, '5');
    } catch {
      hwmReset = false;
    }
    let sampledPeak = 0;
    const sampler = setInterval(() => (sampledPeak = Math.max(sampledPeak, memoryKb(server.pid, 'VmRSS'))), 100);

    const counters0 = await call('GET', '/api/v1/workers');
    // Live orders saved while the batch runs: their latency is what a user saving an order feels.
    const live: number[] = [];
    let liveOn = true;
    let liveN = 0;
    const liveLoop = (async () => {
      while (liveOn) {
        const t0 = performance.now();
        await call('POST', '/api/v1/entities/order', { attributes: { order_number: `ORD-${ORDERS + ++liveN}`, total: 5, customer_email: `live${liveN}@example.com` } });
        live.push(performance.now() - t0);
        await sleep(50);
      }
    })();

    const cpu0 = cpuTimes(server.pid).total;
    const t0 = performance.now();
    const batch = await call('POST', '/api/v1/batches', { process: 'copy_to_hubspot', filter: { status: ['received'], where: 'total >= 10' } });
    let b = batch;
    let snapshot = args['heap-snapshot'];
    while (b.status !== 'completed' && b.status !== 'cancelled') {
      await sleep(100);
      b = await call('GET', `/api/v1/batches/${batch.id}`);
      if (snapshot && b.succeeded >= b.total / 2) {
        snapshot = false;
        process.kill(server.pid, 'SIGUSR2');
        console.log(`  heap snapshot of the server asked for at ${b.succeeded} of ${b.total} (written to ${tmpdir()})`);
      }
    }
    const seconds = (performance.now() - t0) / 1000;
    const serverCpuMs = cpuTimes(server.pid).total - cpu0;
    liveOn = false;
    await liveLoop;
    clearInterval(sampler);
    const batchPeakRssMB = mb(hwmReset ? memoryKb(server.pid, 'VmHWM') : sampledPeak);
    const endRssMB = mb(memoryKb(server.pid, 'VmRSS'));
    const c0 = counters0;
    const c1 = await call('GET', '/api/v1/workers');
    const claims = c1.claims - c0.claims;
    console.log(`  counts: ${claims} claims (${((c1.runsClaimed - c0.runsClaimed) / Math.max(1, claims)).toFixed(1)} runs each); server RSS ${startRssMB} MB after start, seeding peak ${seedPeakRssMB} MB, batch peak ${batchPeakRssMB} MB${hwmReset ? '' : ' (sampled)'}, ${endRssMB} MB at the end`);
    if (memoryLog) console.log(memoryLogSummary(memoryLog) + ` (${memoryLog})`);
    const stats = await hs.stats();
    const writes = [...stats.requestCounts].filter(([k]) => k.startsWith('POST /crm/v3/objects/deals/batch/') || k.startsWith('PATCH /crm/v3/objects/deals/'));
    const hubspotRequests = writes.reduce((a, [, n]) => a + n, 0);
    return {
      scenario: s.name,
      entitiesPerSecond: Math.round(b.total / seconds),
      seconds: Math.round(seconds * 10) / 10,
      succeeded: b.succeeded,
      failed: b.failed,
      hubspotRequests,
      recordsPerRequest: Math.round((b.succeeded / Math.max(1, hubspotRequests - stats.rateLimited)) * 10) / 10,
      rateLimited: stats.rateLimited,
      peakRssMB: Math.max(seedPeakRssMB, batchPeakRssMB),
      startRssMB,
      seedPeakRssMB,
      batchPeakRssMB,
      endRssMB,
      serverCpuMsPerEntity: Math.round((serverCpuMs / b.total) * 1000) / 1000,
      fakePeakRssMB: mb(memoryKb(hs.pid, 'VmHWM')),
      liveSaves: live.length,
      liveP50: Math.round(pct(live, 50) * 10) / 10,
      liveP99: Math.round(pct(live, 99) * 10) / 10,
      seedSeconds: Math.round(seedSeconds),
    };
  } catch (err) {
    console.error(server.output().slice(-4000));
    throw err;
  } finally {
    await pool.close();
    await server.stop();
    await database.drop();
    await hs.close();
  }
}

if (!args['no-build']) {
  console.log('building the server (tsc -p tsconfig.build.json)…');
  execFileSync('npx', ['tsc', '-p', 'tsconfig.build.json'], { cwd: ROOT, stdio: 'inherit' });
}
const load = () => loadavg().map((x) => x.toFixed(2)).join(' ');
const lines: string[] = [];
const say = (line: string) => {
  console.log(line);
  lines.push(line);
};
say(`Statusflow provider batching benchmark — ${dialect}`);
say(`date ${new Date().toISOString()}, commit ${revision()}${args['no-build'] ? ' (dist not rebuilt: --no-build)' : ''}, node ${process.version}; ${ORDERS} orders per scenario, ${RUNS} run(s) each; load average at start ${load()}`);
say(
  'three processes: the server (node dist/cli/main.js start, default settings; per-record and tuned: bench/batch/server.mjs), the HubSpot sandbox, this client over HTTP; ' +
    `peak RSS is the server's VmHWM (seeding and batch), the fake's is apart${Object.keys(EXTRA_ENV).length || NODE_ARGS.length ? `; server env ${JSON.stringify(EXTRA_ENV)}, node flags ${JSON.stringify(NODE_ARGS)}` : ''}`,
);
const results: Result[] = [];
for (const name of args.scenarios!.split(',')) {
  const s = SCENARIOS[name];
  if (!s) throw new Error(`unknown scenario ${name}`);
  for (let r = 1; r <= RUNS; r++) {
    const res = await measure(s);
    results.push(res);
    say(
      `${s.name.padEnd(10)} run ${r}: ${res.entitiesPerSecond} entities/s (${res.seconds} s; ${res.succeeded} succeeded, ${res.failed} failed), ` +
        `${res.hubspotRequests} HubSpot write requests (${res.recordsPerRequest} records each, ${res.rateLimited} answered 429), ` +
        `server peak RSS ${res.peakRssMB} MB (seeding ${res.seedPeakRssMB}, batch ${res.batchPeakRssMB}), fake ${res.fakePeakRssMB} MB, server CPU ${res.serverCpuMsPerEntity} ms/entity, ` +
        `live saves meanwhile ${res.liveSaves}: p50 ${res.liveP50} ms, p99 ${res.liveP99} ms; seeding ${res.seedSeconds} s; load ${load()}`,
    );
  }
}
say('');
say('medians per scenario (' + Object.values(SCENARIOS).filter((s) => results.some((r) => r.scenario === s.name)).map((s) => `${s.name}: ${s.what}`).join('; ') + ')');
const base = results.filter((r) => r.scenario === 'per-record');
for (const s of Object.keys(SCENARIOS)) {
  const rs = results.filter((r) => r.scenario === s);
  if (rs.length === 0) continue;
  const eps = median(rs.map((r) => r.entitiesPerSecond));
  const req = median(rs.map((r) => r.hubspotRequests));
  const ratio = base.length > 0 && s !== 'per-record' ? `; vs per-record: ${(eps / median(base.map((r) => r.entitiesPerSecond))).toFixed(2)}× entities/s, ${(req / median(base.map((r) => r.hubspotRequests))).toFixed(4)}× requests` : '';
  say(
    `  ${s.padEnd(10)} ${eps} entities/s, ${req} requests, ${median(rs.map((r) => r.recordsPerRequest))} records/request, live p99 ${median(rs.map((r) => r.liveP99))} ms, server CPU ${median(rs.map((r) => r.serverCpuMsPerEntity))} ms/entity, ` +
      `server peak RSS ${Math.max(...rs.map((r) => r.peakRssMB))} MB, fake ${Math.max(...rs.map((r) => r.fakePeakRssMB))} MB${ratio}`,
  );
}
say(`aims (SQLite): ≥ 5,000 entities/s, ≤ 1,100 HubSpot requests for 100,000, ≤ 300 MB server RSS; limited to 10 req/s: 100,000 in ≤ 120 s. load average at end ${load()}`);
if (!args['no-write']) {
  writeFileSync(join(ROOT, `bench/results/batch-${dialect}.txt`), lines.join('\n') + '\n');
  writeFileSync(join(ROOT, `bench/results/batch-${dialect}.json`), JSON.stringify({ dialect, orders: ORDERS, revision: revision(), results }, null, 2) + '\n');
}
process.exit(0);
