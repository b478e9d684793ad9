/**
 * Issue 10, item 6 reproduced: `--count` PATCHes of ~1 MB to one entity (each event keeps the old
 * and the new value, ~2 MB), then one `GET …/events?limit=500` and a walk through every page. Prints
 * the answer, its size and time, the longest event-loop stall and the process's RSS before and after
 * (peak from getrusage). Before the page budget, 300 PATCHes made that GET a 500 after 13 s with RSS
 * 303 MB → 1,988 MB on SQLite; see bench/results/pages-<db>.txt for today's figures.
 *
 *   node --expose-gc --import tsx bench/pages/run.ts [--db sqlite|postgres] [--count 300] [--pg-url postgres://…]
 * (--expose-gc: the heap is measured after a full collection.)
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { buildApp } from '../../src/api/app.js';
import { openInProcess } from '../support.js';

const { values: args } = parseArgs({
  options: {
    db: { type: 'string', default: 'sqlite' },
    count: { type: 'string', default: '300' },
    'pg-url': { type: 'string', default: process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test' },
  },
});
const dialect = args.db === 'postgres' ? 'postgres' : 'sqlite';
const count = Number(args.count);
const mb = (bytes: number) => Math.round(bytes / 1048576);
const gc = (globalThis as { gc?: () => void }).gc;
/** `collect`: after a full collection (not inside the timed part: it stalls the loop itself). */
const memory = (collect = true) => {
  if (collect) gc?.();
  const m = process.memoryUsage();
  return { rssMB: mb(m.rss), heapUsedMB: mb(m.heapUsed), peakRssMB: Math.round(process.resourceUsage().maxRSS / 1024) };
};

const { services, adminKey, orgId, close } = await openInProcess({ dialect, pgUrl: args['pg-url']!, name: 'pages' });
const app = await buildApp({ services, defaultOrgId: orgId, version: 'bench', bodyLimit: 2 * 1024 * 1024, logLevel: 'silent' });
const call = (method: 'PUT' | 'POST' | 'PATCH', url: string, payload?: object) =>
  app.inject({ method, url, payload, headers: { authorization: `Bearer ${adminKey}` } });
// Reads over real HTTP on loopback: app.inject keeps answers reachable for a while (light-my-request's
// listeners), which would be counted here as the server's memory.
const base = await app.listen({ host: '127.0.0.1', port: 0 });
async function get(url: string): Promise<{ statusCode: number; body: string; json(): { items: unknown[]; nextCursor: string | null } }> {
  const res = await fetch(`${base}${url}`, { headers: { authorization: `Bearer ${adminKey}` } });
  const body = await res.text();
  return { statusCode: res.status, body, json: () => JSON.parse(body) };
}

try {
  await call('PUT', '/api/v1/entity-types/doc', { name: 'Doc', attributes: [{ key: 'doc', type: 'json' }], statuses: [{ key: 'new', name: 'New', initial: true }] });
  const entity = (await call('POST', '/api/v1/entities/doc', { attributes: {} })).json();
  for (let i = 0; i < count; i++) {
    // ~1 MB: sixteen strings just under the 64 KB limit of one string.
    const res = await call('PATCH', `/api/v1/entities/doc/${entity.id}`, { attributes: { doc: { i, parts: Array.from({ length: 16 }, (_, k) => `${i}:${k}`.padEnd(62_000, 'x')) } } });
    if (res.statusCode !== 200) throw new Error(res.body.slice(0, 300));
  }
  const url = `/api/v1/entities/doc/${entity.id}/events?limit=500`;
  const before = memory();
  const loop = monitorEventLoopDelay({ resolution: 10 });
  loop.enable();
  let started = performance.now();
  const first = await get(url);
  const firstMs = Math.round(performance.now() - started);
  const afterFirst = memory(false);
  const firstBody = first.statusCode === 200 ? first.json() : undefined;
  started = performance.now();
  let pages = 0;
  let events = 0;
  let cursor: string | null = null;
  do {
    const res = await get(cursor ? `${url}&cursor=${cursor}` : url);
    if (res.statusCode !== 200) throw new Error(`page ${pages}: ${res.statusCode}`);
    const body = res.json();
    pages++;
    events += body.items.length;
    cursor = body.nextCursor;
  } while (cursor !== null && firstBody);
  loop.disable();
  const afterWalk = memory();
  const result = {
    dialect,
    patches: count,
    firstPage: { status: first.statusCode, items: firstBody?.items.length ?? null, bytesMB: mb(Buffer.byteLength(first.body)), ms: firstMs, hasCursor: Boolean(firstBody?.nextCursor) },
    walk: firstBody ? { pages, events, ms: Math.round(performance.now() - started) } : null,
    longestLoopStallMs: Math.round(loop.max / 1e6),
    memory: { before, afterFirstPage: afterFirst, afterWalk },
  };
  const text = JSON.stringify(result, null, 2);
  console.log(text);
  writeFileSync(join(import.meta.dirname, `../results/pages-${dialect}.json`), `${text}\n`);
} finally {
  await app.close();
  await close();
}
