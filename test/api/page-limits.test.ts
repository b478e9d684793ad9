/**
 * Pages that never silently leave rows out and never carry more than the page budget (issue 10,
 * items 5 and 6): a `where` whose evaluation hits the time limit ends its page with a cursor or is
 * refused; large stored rows split a page early with a cursor, every item seen exactly once.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { DIALECTS } from '../support/databases.js';
import { startTestApp, type TestApp } from '../support/app.js';
import { newId } from '../../src/domain/ids.js';
import { insertRuns, updateRun, writeStep } from '../../src/store/runs.js';

const PAGE_BYTES = 256 * 1024;

const ROW_TYPE = {
  name: 'Row',
  attributes: [
    { key: 'n', type: 'integer', required: true },
    { key: 'blob', type: 'string' },
  ],
  statuses: [{ key: 'new', name: 'New', initial: true }],
};

interface Page { items: Array<{ id: string; attributes?: { n: number } }>; nextCursor: string | null }

for (const dialect of DIALECTS) {
  describe(`page limits on ${dialect}`, () => {
    let t: TestApp;

    before(async () => {
      t = await startTestApp(dialect, { pageBytes: PAGE_BYTES });
      for (const type of ['row', 'big']) assert.equal((await t.call('PUT', `/api/v1/entity-types/${type}`, { ...ROW_TYPE, name: type })).statusCode, 201);
    });
    after(() => t.close());

    /** Follows nextCursor from `url` (which has a query already) until it is null or a page is refused. */
    async function walk(url: string): Promise<{ pages: Page[]; sizes: number[]; refused?: { statusCode: number; code: string } }> {
      const pages: Page[] = [];
      const sizes: number[] = [];
      let cursor: string | null = null;
      for (let i = 0; i < 200; i++) {
        const res = await t.call('GET', cursor === null ? url : `${url}&cursor=${cursor}`);
        if (res.statusCode !== 200) return { pages, sizes, refused: { statusCode: res.statusCode, code: res.json().error.code } };
        const page = res.json<Page>();
        pages.push(page);
        sizes.push(Buffer.byteLength(res.body));
        cursor = page.nextCursor;
        if (cursor === null) return { pages, sizes };
      }
      throw new Error('too many pages');
    }

    test('a where that hits the time limit never gives a short page without a cursor', async () => {
      for (let n = 0; n < 200; n++) assert.equal((await t.call('POST', '/api/v1/entities/row', { attributes: { n } })).statusCode, 201);
      // Rows with n >= 100 match at once; on the others the condition runs past the time limit.
      const where = encodeURIComponent('n >= 100 or $count($distinct([1..100000])) = 0');
      const { pages, refused } = await walk(`/api/v1/entities/row?limit=200&where=${where}`);
      assert.ok(pages.every((p) => p.nextCursor !== null), 'no page claims to be the last one');
      assert.deepEqual(refused, { statusCode: 422, code: 'WHERE_TOO_EXPENSIVE' }, 'the rows that could not be evaluated are refused, not left out');
      const seen = pages.flatMap((p) => p.items.map((e) => e.attributes!.n));
      assert.equal(new Set(seen).size, seen.length, 'no row twice');
      assert.ok(seen.every((n) => n >= 100));
      assert.deepEqual(seen, [...seen].sort((a, b) => b - a), 'newest first');
    });

    test('matches found before a batch the condition could not be evaluated on make a page with a cursor', async () => {
      // The pool decides which batch times out; here the evaluator answers as a pool does when the
      // second of its batches overran: every row of that batch and of the ones after it timed out.
      const evaluator = t.services.evaluator;
      const real = evaluator.evaluateForEach.bind(evaluator);
      const timeout = { ok: false as const, error: { code: 'EXPR_TIMEOUT', message: 'Evaluation did not finish within 1000 ms and was stopped' } };
      evaluator.evaluateForEach = async (_source, inputs) => inputs.map((input) => ((input as { n: number }).n >= 150 ? { ok: true as const, value: true } : timeout));
      try {
        const first = await t.call('GET', `/api/v1/entities/row?limit=200&where=${encodeURIComponent('n > 0')}`);
        assert.equal(first.statusCode, 200, first.body);
        const page = first.json<Page>();
        assert.deepEqual(page.items.map((e) => e.attributes!.n), Array.from({ length: 50 }, (_, i) => 199 - i));
        assert.notEqual(page.nextCursor, null, 'the page says more may follow');
        const next = await t.call('GET', `/api/v1/entities/row?limit=200&where=${encodeURIComponent('n > 0')}&cursor=${page.nextCursor}`);
        assert.equal(next.statusCode, 422, next.body);
        assert.equal(next.json().error.code, 'WHERE_TOO_EXPENSIVE');
        assert.equal(next.json().error.details.cause.code, 'EXPR_TIMEOUT');
      } finally {
        evaluator.evaluateForEach = real;
      }
    });

    test('large events: several pages within the byte budget, each event exactly once', async () => {
      const e = (await t.call('POST', '/api/v1/entities/big', { attributes: { n: 0 } })).json();
      const blob = (i: number) => `${i}:`.padEnd(60_000, 'x');
      for (let i = 1; i <= 12; i++) {
        const res = await t.call('PATCH', `/api/v1/entities/big/${e.id}`, { attributes: { n: i, blob: blob(i) } });
        assert.equal(res.statusCode, 200, res.body);
      }
      const { pages, sizes, refused } = await walk(`/api/v1/entities/big/${e.id}/events?limit=500`);
      assert.equal(refused, undefined);
      // Each event keeps the old and the new blob (~120 KB): two fit in 256 KB, never all 13.
      assert.ok(pages.length >= 6, `${pages.length} pages`);
      pages.forEach((p, i) => assert.ok(p.items.length === 1 || sizes[i]! <= PAGE_BYTES, `page ${i}: ${p.items.length} items, ${sizes[i]} bytes`));
      const versions = pages.flatMap((p) => p.items.map((ev) => (ev as unknown as { entityVersion: number }).entityVersion));
      assert.deepEqual(versions, Array.from({ length: 13 }, (_, i) => i + 1));
    });

    test('large entities: plain and where listings end pages at the budget, each entity exactly once', async () => {
      for (let i = 0; i < 10; i++) {
        const res = await t.call('POST', '/api/v1/entities/big', { attributes: { n: 100 + i, blob: 'y'.repeat(60_000) } });
        assert.equal(res.statusCode, 201, res.body);
      }
      const rows = await t.services.database.db.selectFrom('entities').select('id').where('type', '=', 'big').orderBy('id', 'desc').execute();
      const ids = rows.map((r) => r.id);
      assert.equal(ids.length, 11);
      for (const url of ['/api/v1/entities/big?limit=500', `/api/v1/entities/big?limit=500&where=${encodeURIComponent('n >= 0')}`]) {
        const { pages, sizes, refused } = await walk(url);
        assert.equal(refused, undefined);
        // 11 entities of ~60 KB: four fit in 256 KB.
        assert.ok(pages.length >= 3, `${url}: ${pages.length} pages`);
        pages.forEach((p, i) => assert.ok(p.items.length === 1 || sizes[i]! <= PAGE_BYTES, `${url} page ${i}: ${p.items.length} items, ${sizes[i]} bytes`));
        assert.deepEqual(pages.flatMap((p) => p.items.map((x) => x.id)), ids, url);
      }
    });

    test('large process definitions: processes and versions pages end at the budget, each exactly once', async () => {
      // ~95 KB per definition: 25 tasks with a 3,800-character body expression each (the limit is 4,000).
      const process = (variant: number) => ({
        name: `Big ${variant}`,
        entityType: 'row',
        trigger: { manual: true },
        tasks: Array.from({ length: 25 }, (_, i) => ({ key: `call_${i}`, kind: 'http.request', input: { method: 'POST', url: "'http://127.0.0.1:9/x'", body: `'${String(variant).padEnd(3800, 'z')}'` } })),
      });
      for (let v = 0; v < 7; v++) assert.ok([200, 201].includes((await t.call('PUT', '/api/v1/processes/big_history', process(v))).statusCode));
      for (let k = 0; k < 4; k++) assert.equal((await t.call('PUT', `/api/v1/processes/big_${k}`, process(100 + k))).statusCode, 201);
      const versions = await walk('/api/v1/processes/big_history/versions?limit=500');
      assert.equal(versions.refused, undefined);
      assert.ok(versions.pages.length >= 3, `${versions.pages.length} pages`);
      versions.pages.forEach((p, i) => assert.ok(p.items.length === 1 || versions.sizes[i]! <= PAGE_BYTES, `versions page ${i}: ${versions.sizes[i]} bytes`));
      assert.deepEqual(versions.pages.flatMap((p) => p.items.map((x) => (x as unknown as { version: number }).version)), [7, 6, 5, 4, 3, 2, 1]);
      const list = await walk('/api/v1/processes?limit=500');
      assert.ok(list.pages.length >= 2, `${list.pages.length} pages`);
      list.pages.forEach((p, i) => assert.ok(p.items.length === 1 || list.sizes[i]! <= PAGE_BYTES, `processes page ${i}: ${list.sizes[i]} bytes`));
      assert.deepEqual(list.pages.flatMap((p) => p.items.map((x) => (x as unknown as { key: string }).key)), ['big_0', 'big_1', 'big_2', 'big_3', 'big_history']);
    });

    test('runs with large errors: run lists end pages at the budget, each run exactly once', async () => {
      const { db } = t.services.database;
      const now = Date.now();
      const ids = Array.from({ length: 12 }, () => newId());
      await insertRuns(db, ids.map((id) => ({ id, orgId: t.defaultOrgId, process: 'noisy', processVersion: 1, entityType: 'row', entityId: newId(), trigger: { type: 'manual' as const }, dedupeKey: null, causeRunId: null, chain: [], batchId: null, availableAt: now, queuedAt: new Date(now).toISOString() })));
      for (const id of ids) await updateRun(db, t.defaultOrgId, id, null, { status: 'failed', error: { code: 'HTTP_ERROR', message: 'e'.repeat(60_000), retryable: false } });
      const { pages, sizes, refused } = await walk('/api/v1/runs?process=noisy&limit=500');
      assert.equal(refused, undefined);
      assert.ok(pages.length >= 3, `${pages.length} pages`);
      pages.forEach((p, i) => assert.ok(p.items.length === 1 || sizes[i]! <= PAGE_BYTES, `runs page ${i}: ${sizes[i]} bytes`));
      assert.deepEqual(pages.flatMap((p) => p.items.map((x) => x.id)), [...ids].reverse());
    });

    test('large entity type definitions: the entity types list ends pages at the budget, each type exactly once', async () => {
      // ~95 KB per definition: 25 requirements with a 3,800-character condition each.
      const type = (k: number) => ({
        ...ROW_TYPE,
        name: `Wide ${k}`,
        requirements: Array.from({ length: 25 }, (_, i) => ({ key: `r_${i}`, condition: `'${String(k).padEnd(3800, 'w')}' != ''`, message: 'never fails' })),
      });
      for (let k = 0; k < 5; k++) assert.equal((await t.call('PUT', `/api/v1/entity-types/wide_${k}`, type(k))).statusCode, 201);
      const { pages, sizes, refused } = await walk('/api/v1/entity-types?limit=500');
      assert.equal(refused, undefined);
      assert.ok(pages.length >= 2, `${pages.length} pages`);
      pages.forEach((p, i) => assert.ok(p.items.length === 1 || sizes[i]! <= PAGE_BYTES, `entity types page ${i}: ${sizes[i]} bytes`));
      const keys = pages.flatMap((p) => p.items.map((x) => (x as unknown as { key: string }).key));
      assert.deepEqual(keys, ['big', 'row', 'wide_0', 'wide_1', 'wide_2', 'wide_3', 'wide_4']);
    });

    test('a run with large steps: the detail stays within the budget, the steps list pages through them in full', async () => {
      const { db } = t.services.database;
      const now = Date.now();
      const id = newId();
      await insertRuns(db, [{ id, orgId: t.defaultOrgId, process: 'wordy', processVersion: 1, entityType: 'row', entityId: newId(), trigger: { type: 'manual' }, dedupeKey: null, causeRunId: null, chain: [], batchId: null, availableAt: now, queuedAt: new Date(now).toISOString() }]);
      for (let idx = 0; idx < 8; idx++) {
        const at = new Date().toISOString();
        await writeStep(db, { runId: id, orgId: t.defaultOrgId, idx, task: `call_${idx}`, status: 'succeeded', attempts: 1, input: { n: idx }, output: { body: `${idx}`.padEnd(60_000, 'o') }, startedAt: at, finishedAt: at });
      }
      const detail = await t.call('GET', `/api/v1/runs/${id}`);
      assert.equal(detail.statusCode, 200, detail.body);
      assert.ok(Buffer.byteLength(detail.body) <= PAGE_BYTES, `${Buffer.byteLength(detail.body)} bytes`);
      const steps = detail.json().steps as Array<{ task: string; output: unknown; omitted?: boolean }>;
      assert.deepEqual(steps.map((s) => s.task), Array.from({ length: 8 }, (_, i) => `call_${i}`), 'every step is listed');
      const omitted = steps.filter((s) => s.omitted);
      assert.ok(omitted.length > 0 && omitted.every((s) => s.output === null));
      assert.ok(!steps[0]!.omitted, 'the first steps come in full');
      const { pages, sizes, refused } = await walk(`/api/v1/runs/${id}/steps?limit=500`);
      assert.equal(refused, undefined);
      assert.ok(pages.length >= 2, `${pages.length} pages`);
      pages.forEach((p, i) => assert.ok(p.items.length === 1 || sizes[i]! <= PAGE_BYTES, `steps page ${i}: ${sizes[i]} bytes`));
      const all = pages.flatMap((p) => p.items as unknown as Array<{ task: string; output: { body: string } }>);
      assert.deepEqual(all.map((s) => s.output.body.slice(0, 1)), ['0', '1', '2', '3', '4', '5', '6', '7']);
    });
  });
}
