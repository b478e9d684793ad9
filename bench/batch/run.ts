/**
 * Provider batching at scale (docs/provider-batching.md): a batch (POST /api/v1/batches) runs a hubspot.upsert
 * process over N orders against the HubSpot sandbox, in process (API, worker, batch feeder and the fake share
 * one Node process and its event loop). Prints entities/s (batch created → completed), HubSpot requests made,
 * records per request, the process's peak RSS (it includes the fake), and the p99 of live orders saved
 * meanwhile (POST /entities, one every 50 ms after the last answer, while the batch runs; total 5 keeps them out of it). Scenarios, each on a fresh database, in one run:
 *   batched      default settings (what `statusflow start` gives: no concurrency or worker tuning) — the headline
 *   per-record   the same with provider batching off: the baseline the ratios are against
 *   tuned        batching with a faster batch feeder, a larger process concurrency and worker
 *   limited      default settings, the fake limited to 10 requests/s (and the connection told so)
 *   slow         default settings, the fake answering in 150 ms, as HubSpot's batch calls take hundreds of ms (the
 *                in-process fake answers in about a millisecond, so steps have little time to gather behind a call)
 *
 *   flock /tmp/bench.lock npx tsx bench/batch/run.ts [--db sqlite|postgres] [--orders 100000] [--runs 1]
 *        [--scenarios batched,per-record,tuned,limited] [--no-write] [--pg-url …]
 */
import { writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { buildApp } from '../../src/api/app.js';
import { BatchFeeder, type FeederOptions } from '../../src/engine/batches/feeder.js';
import { Executor, type ExecutorOptions } from '../../src/engine/executor/executor.js';
import { saveEntity } from '../../src/engine/save.js';
import { startSandboxHubSpot } from '../../src/sandbox/hubspot.js';
import { ORDER_TYPE } from '../../test/support/order.js';
import { openInProcess, revision, ROOT } from '../support.js';

const { values: args } = parseArgs({
  options: {
    db: { type: 'string', default: 'sqlite' },
    orders: { type: 'string', default: '100000' },
    runs: { type: 'string', default: '1' },
    scenarios: { type: 'string', default: 'batched,per-record,tuned,limited' },
    'no-write': { type: 'boolean', default: false },
    'pg-url': { type: 'string', default: process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test' },
  },
});
const dialect = args.db === 'postgres' ? 'postgres' : 'sqlite';
const ORDERS = Number(args.orders);
const RUNS = Number(args.runs);

interface Scenario {
  name: string;
  what: string;
  worker: ExecutorOptions;
  feeder: FeederOptions;
  concurrency?: number;
  rateLimit?: { requests: number; perMs: number };
  latencyMs?: number;
}
const SCENARIOS: Record<string, Scenario> = {
  batched: { name: 'batched', what: 'default settings, provider batching on', worker: {}, feeder: {} },
  'per-record': { name: 'per-record', what: 'default settings, provider batching off (one HubSpot call per record)', worker: { batching: false }, feeder: {} },
  tuned: { name: 'tuned', what: 'batching; feeder tick 20 ms, process concurrency 1000, worker maxInFlight 256 + batchHold 800', worker: { maxInFlight: 256, batchHold: 800 }, feeder: { tickMs: 20 }, concurrency: 1000 },
  limited: { name: 'limited', what: 'default settings, batching on, the fake (and the connection) limited to 10 requests/s', worker: {}, feeder: {}, rateLimit: { requests: 10, perMs: 1000 } },
  slow: { name: 'slow', what: 'default settings, batching on, the fake answering in 150 ms', worker: {}, feeder: {}, latencyMs: 150 },
};

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? NaN : s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
};
const median = (xs: number[]) => pct(xs, 50);
const mb = (kb: number) => Math.round(kb / 1024);

interface Result {
  scenario: string;
  entitiesPerSecond: number;
  seconds: number;
  succeeded: number;
  failed: number;
  hubspotRequests: number;
  recordsPerRequest: number;
  rateLimited: number;
  peakRssMB: number;
  liveSaves: number;
  liveP50: number;
  liveP99: number;
  seedSeconds: number;
}

async function measure(s: Scenario): Promise<Result> {
  const hs = await startSandboxHubSpot({ uniqueProperties: { deals: ['statusflow_id'] }, recordRequests: false, rateLimit: { ...(s.rateLimit ?? { requests: 1_000_000, perMs: 10_000 }), daily: 10_000_000 } });
  hs.faults.latencyMs = s.latencyMs ?? 0;
  const ip = await openInProcess({ dialect, pgUrl: args['pg-url']!, name: 'batch' });
  const { services, adminKey, orgId } = ip;
  const app = await buildApp({ services, defaultOrgId: orgId, version: 'bench', logLevel: 'silent' });
  const call = async (method: 'PUT' | 'POST' | 'GET', url: string, payload?: object) => {
    const res = await app.inject({ method, url, ...(payload ? { payload } : {}), headers: { authorization: `Bearer ${adminKey}` } });
    if (res.statusCode >= 300) throw new Error(`${method} ${url}: ${res.statusCode} ${res.body.slice(0, 300)}`);
    return res.json();
  };
  try {
    await call('PUT', '/api/v1/connections/hubspot_main', { provider: 'hubspot', config: { baseUrl: hs.url, uniqueProperties: { deals: 'statusflow_id' }, rateLimit: s.rateLimit ?? { requests: 100_000, perMs: 10_000 } }, secrets: { accessToken: hs.token } });
    await call('PUT', '/api/v1/entity-types/order', ORDER_TYPE);
    await call('PUT', '/api/v1/processes/copy_to_hubspot', {
      name: 'Copy order to HubSpot',
      entityType: 'order',
      trigger: { manual: true },
      ...(s.concurrency ? { settings: { concurrency: s.concurrency } } : {}),
      tasks: [{ key: 'deal', kind: 'hubspot.upsert', connection: 'hubspot_main', input: { object: 'deals', properties: "{ 'dealname': 'Order ' & order_number, 'amount': $string(total) }" } }],
    });
    // Seed the orders through the save pipeline (they enter `received`), 64 at a time.
    const ctx = { orgId, actor: { type: 'system' as const, id: 'bench' } };
    const seedStart = performance.now();
    let next = 0;
    await Promise.all(
      Array.from({ length: 64 }, async () => {
        while (next < ORDERS) {
          const i = next++;
          await saveEntity(services, ctx, 'order', { attributes: { order_number: `ORD-${i + 1}`, total: 10 + (i % 500), customer_email: `c${i}@example.com` } });
        }
      }),
    );
    const seedSeconds = (performance.now() - seedStart) / 1000;

    const w0 = { ...(services.database.sqlite?.stats ?? { groups: 0, writes: 0 }) };
    const executor = new Executor(services, s.worker);
    const feeder = new BatchFeeder(services, s.feeder);
    await executor.start();
    feeder.start();
    // Live orders saved while the batch runs: their latency is what a user saving an order feels.
    const live: number[] = [];
    let liveOn = true;
    let liveN = 0;
    const liveLoop = (async () => {
      while (liveOn) {
        const t0 = performance.now();
        await call('POST', '/api/v1/entities/order', { attributes: { order_number: `ORD-${ORDERS + ++liveN}`, total: 5, customer_email: `live${liveN}@example.com` } });
        live.push(performance.now() - t0);
        await new Promise((r) => setTimeout(r, 50));
      }
    })();

    const t0 = performance.now();
    const batch = await call('POST', '/api/v1/batches', { process: 'copy_to_hubspot', filter: { status: ['received'], where: 'total >= 10' } });
    let b = batch;
    while (b.status !== 'completed' && b.status !== 'cancelled') {
      await new Promise((r) => setTimeout(r, 100));
      b = await call('GET', `/api/v1/batches/${batch.id}`);
    }
    const seconds = (performance.now() - t0) / 1000;
    liveOn = false;
    await liveLoop;
    await feeder.stop();
    await executor.stop();
    const c = executor.counters;
    const w1 = services.database.sqlite?.stats;
    const w = w1 && { groups: w1.groups - w0.groups, writes: w1.writes - w0.writes };
    console.log(`  counts: ${c.claims} claims (${(c.runsClaimed / Math.max(1, c.claims)).toFixed(1)} runs each), batcher ${executor.batcher.counters.calls} calls (largest ${executor.batcher.counters.largest}, ${executor.batcher.counters.immediate} at once)` + (w ? `, SQLite ${w.groups} commits, ${w.writes} writes (${(w.writes / Math.max(1, w.groups)).toFixed(1)} per commit)` : ''));
    const writes = [...hs.requestCounts].filter(([k]) => k.startsWith('POST /crm/v3/objects/deals/batch/') || k.startsWith('PATCH /crm/v3/objects/deals/'));
    const hubspotRequests = writes.reduce((a, [, n]) => a + n, 0);
    return {
      scenario: s.name,
      entitiesPerSecond: Math.round(b.total / seconds),
      seconds: Math.round(seconds * 10) / 10,
      succeeded: b.succeeded,
      failed: b.failed,
      hubspotRequests,
      recordsPerRequest: Math.round((b.succeeded / Math.max(1, hubspotRequests - hs.rateLimited)) * 10) / 10,
      rateLimited: hs.rateLimited,
      peakRssMB: mb(process.resourceUsage().maxRSS),
      liveSaves: live.length,
      liveP50: Math.round(pct(live, 50) * 10) / 10,
      liveP99: Math.round(pct(live, 99) * 10) / 10,
      seedSeconds: Math.round(seedSeconds),
    };
  } finally {
    await app.close();
    await ip.close();
    await hs.close();
  }
}

const load = () => loadavg().map((x) => x.toFixed(2)).join(' ');
const lines: string[] = [];
const say = (line: string) => {
  console.log(line);
  lines.push(line);
};
say(`Statusflow provider batching benchmark — ${dialect}`);
say(`date ${new Date().toISOString()}, commit ${revision()}, node ${process.version}; ${ORDERS} orders per scenario, ${RUNS} run(s) each; load average at start ${load()}`);
say('in process: API (app.inject), one worker, the batch feeder and the HubSpot sandbox share one Node process; peak RSS is that whole process (maxRSS so far: it only grows)');
const results: Result[] = [];
for (const name of args.scenarios!.split(',')) {
  const s = SCENARIOS[name];
  if (!s) throw new Error(`unknown scenario ${name}`);
  for (let r = 1; r <= RUNS; r++) {
    const res = await measure(s);
    results.push(res);
    say(
      `${s.name.padEnd(10)} run ${r}: ${res.entitiesPerSecond} entities/s (${res.seconds} s; ${res.succeeded} succeeded, ${res.failed} failed), ` +
        `${res.hubspotRequests} HubSpot write requests (${res.recordsPerRequest} records each, ${res.rateLimited} answered 429), peak RSS ${res.peakRssMB} MB, ` +
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
  say(`  ${s.padEnd(10)} ${eps} entities/s, ${req} requests, ${median(rs.map((r) => r.recordsPerRequest))} records/request, live p99 ${median(rs.map((r) => r.liveP99))} ms, peak RSS ${Math.max(...rs.map((r) => r.peakRssMB))} MB${ratio}`);
}
say(`aims (SQLite): ≥ 5,000 entities/s, ≤ 1,100 HubSpot requests for 100,000, ≤ 300 MB RSS; limited to 10 req/s: 100,000 in ≤ 120 s. load average at end ${load()}`);
if (!args['no-write']) {
  writeFileSync(join(ROOT, `bench/results/batch-${dialect}.txt`), lines.join('\n') + '\n');
  writeFileSync(join(ROOT, `bench/results/batch-${dialect}.json`), JSON.stringify({ dialect, orders: ORDERS, revision: revision(), results }, null, 2) + '\n');
}
process.exit(0);
