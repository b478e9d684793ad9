/**
 * Where the time of a save goes, measured in process (no HTTP) on the same workload as run.ts:
 * the write transaction (raw driver vs. Kysely), Kysely's query building alone, the expression
 * worker round-trip, and the whole pipeline (saveEntity) for both types. Subtracting these from
 * run.ts's server CPU per save gives the HTTP/Fastify share. See bench/save/README.md.
 *
 *   npx tsx bench/save/breakdown.ts [--db sqlite|postgres] [--count 10000] [--concurrency 16] [--no-write] [--http-only]
 * `--http-only`: only `saveEntity` (baseline, 16 in flight) and the app.inject lines — the HTTP share in a minute.
 * Writes bench/results/save-breakdown-<db>.txt and .json.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import SQLite from 'better-sqlite3';
import { sql } from 'kysely';
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import { buildApp } from '../../src/api/app.js';
import { putType } from '../../src/engine/entity-types.js';
import { evaluateRequirements } from '../../src/engine/requirements.js';
import { saveEntity } from '../../src/engine/save.js';
import type { CallContext } from '../../src/engine/services.js';
import { newId } from '../../src/domain/ids.js';
import { getEntityTypeVersion } from '../../src/store/entity-types.js';
import { type EntityEvent, type EntityRecord } from '../../src/store/entities.js';
import { writeSave } from '../../src/store/saves.js';
import { cpuTimes, machineCpu, waitForQuiet } from './proc.js';
import { bodies, TYPES } from './workload.js';
import { openInProcess } from '../support.js';

const { values: args } = parseArgs({
  options: {
    db: { type: 'string', default: 'sqlite' },
    count: { type: 'string', default: '10000' },
    concurrency: { type: 'string', default: '16' },
    'pg-url': { type: 'string', default: process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test' },
    'no-write': { type: 'boolean', default: false },
    'http-only': { type: 'boolean', default: false },
  },
});
const COUNT = Number(args.count);
const HTTP_ONLY = args['http-only'];
const CONCURRENCY = Number(args.concurrency);
const dialect = args.db === 'postgres' ? 'postgres' : 'sqlite';

// --- database ---------------------------------------------------------------------------------

const { database, sqlitePath, evaluator, services, adminKey, orgId, close } = await openInProcess({ dialect, pgUrl: args['pg-url']!, name: 'breakdown' });
const ctx: CallContext = { orgId: orgId, actor: { type: 'api_key', id: newId(), name: 'bench' } };
for (const { key, def } of Object.values(TYPES)) await putType(services, ctx, key, def);
const order = await services.entityTypes.load(ctx.orgId, TYPES.order.key);

// --- measuring --------------------------------------------------------------------------------

interface Row { name: string; inFlight: number; opsPerSecond: number; wallUs: number; mainCpuUs: number; otherCpuUs: number; foreignCores: number }
const rows: Row[] = [];

/** Runs `op(i)` for i in [0, n) with `inFlight` at a time, after a warm-up of n/5; CPU split main thread / other threads. */
async function measure(name: string, n: number, inFlight: number, op: (i: number) => unknown): Promise<void> {
  const drive = async (count: number, offset: number) => {
    let next = 0;
    await Promise.all(
      Array.from({ length: inFlight }, async () => {
        for (let i = next++; i < count; i = next++) await op(offset + i);
      }),
    );
  };
  await drive(Math.ceil(n / 5), n);
  let row: Row | undefined;
  // Another process took CPU during the measurement: measure again (twice at most).
  for (let attempt = 0; attempt < 3 && (!row || row.foreignCores > 0.1); attempt++) {
    await waitForQuiet();
    const c0 = cpuTimes(process.pid);
    const m0 = machineCpu();
    const t0 = performance.now();
    await drive(n, 0);
    const wall = performance.now() - t0;
    const m1 = machineCpu();
    const c1 = cpuTimes(process.pid);
    row = {
      name,
      inFlight,
      opsPerSecond: n / (wall / 1000),
      wallUs: (wall * 1000) / n,
      mainCpuUs: ((c1.main - c0.main) * 1000) / n,
      otherCpuUs: ((c1.total - c1.main - (c0.total - c0.main)) * 1000) / n,
      foreignCores: Math.max(0, m1.busy - m0.busy - (c1.total - c0.total)) / wall,
    };
  }
  rows.push(row!);
  console.error(`  ${name} ×${inFlight}: ${row!.opsPerSecond.toFixed(0)}/s, main CPU ${row!.mainCpuUs.toFixed(0)} µs, other processes ${row!.foreignCores.toFixed(2)} cores`);
}

/** The rows save.ts writes for a create. */
function records(i: number, attributes: Record<string, unknown>): { entity: EntityRecord; event: EntityEvent } {
  const now = new Date().toISOString();
  const id = newId();
  const entity: EntityRecord = { id, orgId: ctx.orgId, type: TYPES.baseline.key, status: 'new', attributes, version: 1, createdAt: now, updatedAt: now };
  const event: EntityEvent = {
    id: newId(), entityId: id, entityType: entity.type, entityVersion: 1, kind: 'created', statusBefore: null, statusAfter: 'new',
    statusPath: ['new'], changes: Object.fromEntries(Object.entries(attributes).map(([k, v]) => [k, { to: v }])), actor: { ...ctx.actor }, createdAt: now,
  };
  void i;
  return { entity, event };
}

const payloads = bodies(COUNT * 2, 7).map((b) => (JSON.parse(b) as { attributes: Record<string, unknown> }).attributes);
const attrs = (i: number) => payloads[i % payloads.length]!;
const { db } = database;

// 1. the write of a create through the store, as save.ts runs it (store/saves.ts: type version + entity + event)
if (!HTTP_ONLY) await measure('write of a save via the store (type version + entity + event)', COUNT, 1, async (i) => {
  const { entity, event } = records(i, attrs(i));
  const typeVersion = (await getEntityTypeVersion(db, ctx.orgId, TYPES.baseline.key))!;
  await writeSave(database, { orgId: ctx.orgId, typeVersion, entity, expectedVersion: undefined, event, causeKey: null, entered: [] }, { plan: () => [], checkFanOut: () => {} });
});

// 2. Kysely's share: building and compiling the same three queries, not executing them
if (!HTTP_ONLY) await measure('Kysely build + compile only (3 queries)', COUNT, 1, (i) => {
  const { entity, event } = records(i, attrs(i));
  db.selectFrom('entity_types').select('version').where('org_id', '=', ctx.orgId).where('key', '=', TYPES.baseline.key).compile();
  db.insertInto('entities').values({ id: entity.id, org_id: entity.orgId, type: entity.type, status: entity.status, attributes: JSON.stringify(entity.attributes), version: 1, created_at: entity.createdAt, updated_at: entity.updatedAt }).compile();
  db.insertInto('entity_events').values({ id: event.id, org_id: ctx.orgId, entity_id: event.entityId, entity_type: event.entityType, entity_version: 1, kind: event.kind, status_before: null, status_after: event.statusAfter, status_path: JSON.stringify(event.statusPath), changes: JSON.stringify(event.changes), actor: JSON.stringify(event.actor), created_at: event.createdAt }).compile();
});

// 3. SQLite without Kysely: the same SQL on better-sqlite3, statements prepared once (as src/store/db.ts's cache
//    does since 5db2334) vs. every time (Kysely's own driver)
if (dialect === 'sqlite' && !HTTP_ONLY) {
  const raw = new SQLite(sqlitePath);
  raw.pragma('journal_mode = WAL');
  raw.pragma('synchronous = NORMAL');
  raw.pragma('busy_timeout = 5000');
  const q = {
    version: 'select "version" from "entity_types" where "org_id" = ? and "key" = ?',
    entity: 'insert into "entities" ("id", "org_id", "type", "status", "attributes", "version", "created_at", "updated_at") values (?, ?, ?, ?, ?, ?, ?, ?)',
    event: 'insert into "entity_events" ("id", "org_id", "entity_id", "entity_type", "entity_version", "kind", "status_before", "status_after", "status_path", "changes", "actor", "created_at") values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
  };
  const write = (prep: (s: string) => SQLite.Statement) => (i: number) => {
    const { entity: e, event: ev } = records(i, attrs(i));
    prep('begin').run();
    prep(q.version).all(ctx.orgId, TYPES.baseline.key);
    prep(q.entity).run(e.id, e.orgId, e.type, e.status, JSON.stringify(e.attributes), 1, e.createdAt, e.updatedAt);
    prep(q.event).run(ev.id, ctx.orgId, ev.entityId, ev.entityType, 1, ev.kind, null, ev.statusAfter, JSON.stringify(ev.statusPath), JSON.stringify(ev.changes), JSON.stringify(ev.actor), ev.createdAt);
    prep('commit').run();
  };
  const cache = new Map<string, SQLite.Statement>();
  const cached = (s: string) => cache.get(s) ?? cache.set(s, raw.prepare(s)).get(s)!;
  await measure('write txn, better-sqlite3, statements cached', COUNT, 1, write(cached));
  await measure('write txn, better-sqlite3, prepared every time', COUNT, 1, write((s) => raw.prepare(s)));
  // WAL checkpoints (every ~1000 pages) fsync the WAL and the database inside the committing call, on the event loop.
  raw.pragma('wal_autocheckpoint = 0');
  cache.clear();
  await measure('  same, cached, wal_autocheckpoint=0 (checkpoint elsewhere)', COUNT, 1, write(cached));
  raw.pragma('wal_checkpoint(TRUNCATE)');
  raw.pragma('wal_autocheckpoint = 1000');
  // Group commit: the saves in flight written in one transaction (pages touched by several saves go to the WAL once).
  const group = (size: number) => (i: number) => {
    if (i % size !== 0) return;
    cached('begin').run();
    for (let k = i; k < i + size; k++) {
      const { entity: e, event: ev } = records(k, attrs(k));
      cached(q.version).all(ctx.orgId, TYPES.baseline.key);
      cached(q.entity).run(e.id, e.orgId, e.type, e.status, JSON.stringify(e.attributes), 1, e.createdAt, e.updatedAt);
      cached(q.event).run(ev.id, ctx.orgId, ev.entityId, ev.entityType, 1, ev.kind, null, ev.statusAfter, JSON.stringify(ev.statusPath), JSON.stringify(ev.changes), JSON.stringify(ev.actor), ev.createdAt);
    }
    cached('commit').run();
  };
  await measure('  same, cached, 16 saves per transaction (group commit)', COUNT, 1, group(16));

  raw.close();
}

// 4. the expression worker: 4 requirements in one evaluateMany round-trip
const snapshot = (i: number) => ({ id: newId(), type: order.key, status: undefined, attributes: attrs(i) });
if (!HTTP_ONLY) await measure('requirements: evaluateMany round-trip (4 conditions)', COUNT, 1, (i) => evaluateRequirements(evaluator, order, snapshot(i), orgId));
if (!HTTP_ONLY) await measure('requirements: evaluateMany round-trip (4 conditions)', COUNT, CONCURRENCY, (i) => evaluateRequirements(evaluator, order, snapshot(i), orgId));

// 5. the whole pipeline without HTTP
for (const inFlight of HTTP_ONLY ? [CONCURRENCY] : [1, CONCURRENCY]) {
  await measure('saveEntity, baseline type (no requirements)', COUNT, inFlight, (i) => saveEntity(services, ctx, TYPES.baseline.key, { attributes: attrs(i) }));
  await measure('saveEntity, Order type (4 requirements, 2 auto)', COUNT, inFlight, (i) => saveEntity(services, ctx, TYPES.order.key, { attributes: attrs(i) }));
}

// 5b. SQLite: the suggested fix for checkpoint stalls — no auto-checkpoint on the event loop's connection,
//     a worker thread checkpoints (PASSIVE: never blocks writers) on its own connection every 100 ms.
if (dialect === 'sqlite' && !HTTP_ONLY) {
  const checkpointer = new Worker(
    `const { workerData, parentPort } = require('node:worker_threads');
     const db = new (require(workerData.module))(workerData.path);
     db.pragma('busy_timeout = 5000');
     const timer = setInterval(() => db.pragma('wal_checkpoint(PASSIVE)'), 100);
     parentPort.on('message', () => { clearInterval(timer); db.close(); process.exit(0); });`,
    { eval: true, workerData: { module: createRequire(import.meta.url).resolve('better-sqlite3'), path: sqlitePath } },
  );
  await sql.raw('PRAGMA wal_autocheckpoint = 0').execute(db);
  for (const inFlight of [1, CONCURRENCY]) {
    await measure('saveEntity, baseline, checkpoints in a worker thread', COUNT, inFlight, (i) => saveEntity(services, ctx, TYPES.baseline.key, { attributes: attrs(i) }));
    await measure('saveEntity, Order, checkpoints in a worker thread', COUNT, inFlight, (i) => saveEntity(services, ctx, TYPES.order.key, { attributes: attrs(i) }));
  }
  checkpointer.postMessage('stop');
  await new Promise((r) => checkpointer.once('exit', r));
  await sql.raw('PRAGMA wal_autocheckpoint = 1000').execute(db);
}

// 6. the same through the Fastify app, in process (app.inject: no socket, but routing, auth, body parsing, zod, response)
const app = await buildApp({ services, defaultOrgId: orgId, version: 'bench', logLevel: 'warn' });
await app.ready();
const texts = bodies(COUNT * 2, 8);
const headers = { authorization: `Bearer ${adminKey}`, 'content-type': 'application/json' };
await measure('app.inject GET /api/v1/health', COUNT, CONCURRENCY, () => app.inject({ method: 'GET', url: '/api/v1/health' }));
for (const kind of ['baseline', 'order'] as const) {
  await measure(`app.inject POST create, ${kind}`, COUNT, CONCURRENCY, async (i) => {
    const res = await app.inject({ method: 'POST', url: `/api/v1/entities/${TYPES[kind].key}`, headers, payload: texts[i % texts.length] });
    if (res.statusCode !== 201) throw new Error(res.body);
  });
}
await app.close();

await close();

const lines = [
  `In-process breakdown of a save — ${dialect}, ${COUNT} ops per line (after a warm-up of ${Math.ceil(COUNT / 5)}), ${new Date().toISOString()}, node ${process.version}`,
  'CPU from /proc: "main" is the event-loop thread; "other" the expression worker, the checkpoint worker (5b) and GC/libuv threads.',
  '',
  'what                                                      in flight     ops/s   wall µs/op  main CPU µs/op  other CPU µs/op  other processes (cores)',
  ...rows.map((r) => `${r.name.padEnd(56)} ${String(r.inFlight).padStart(9)} ${r.opsPerSecond.toFixed(0).padStart(9)} ${r.wallUs.toFixed(0).padStart(12)} ${r.mainCpuUs.toFixed(0).padStart(15)} ${r.otherCpuUs.toFixed(0).padStart(16)} ${r.foreignCores.toFixed(2).padStart(24)}`),
];
console.log(lines.join('\n'));
if (!args['no-write']) {
  const base = join(import.meta.dirname, '../results', `save-breakdown-${dialect}${COUNT === 10_000 && CONCURRENCY === 16 ? '' : '-custom'}`);
  mkdirSync(dirname(base), { recursive: true });
  writeFileSync(`${base}.txt`, lines.join('\n') + '\n');
  writeFileSync(`${base}.json`, JSON.stringify({ date: new Date().toISOString(), node: process.version, dialect, count: COUNT, concurrency: CONCURRENCY, rows }, null, 2) + '\n');
  console.error(`wrote ${base}.txt and .json`);
}
