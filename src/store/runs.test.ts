/** Claiming and committing step results, on every database (Postgres with TEST_DATABASE_URL). */
import { newRunRow } from '../../test/support/runs.js';
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { newId } from '../domain/ids.js';
import { DIALECTS, openTestDatabase, type TestDatabase } from '../../test/support/databases.js';
import { insertOrganization } from './organizations.js';
import { claimRuns } from './run-claims.js';
import { commitStepResults, getRun, insertRuns, listSteps, type NewRun } from './runs.js';
import { adapterOf } from './dialect.js';

const now = Date.now();
const newRun = (orgId: string, process: string, availableAt = now): NewRun => newRunRow(orgId, { process, availableAt });

for (const dialect of DIALECTS) {
  describe(`runs store on ${dialect}`, () => {
    let database: TestDatabase;
    const orgId = newId();

    before(async () => {
      database = await openTestDatabase(dialect);
      await insertOrganization(database.db, { id: orgId, name: 'A', createdAt: new Date().toISOString() });
    });
    after(() => database.drop());

    test('claim: due runs in order, with the running counts of their processes; admitted ones leased', async () => {
      const [a1, a2, b1, later] = [newRun(orgId, 'a', now - 3), newRun(orgId, 'a', now - 2), newRun(orgId, 'b', now - 1), newRun(orgId, 'a', now + 60_000)];
      await insertRuns(database.db, [a1!, a2!, b1!, later!]);
      const claim = (owner: string, admit: Parameters<typeof claimRuns>[2]) =>
        database.db.transaction().execute((trx) => claimRuns(trx, { owner, now, leaseMs: 30_000, limit: 10 }, admit));

      let seen: { ids: string[]; running: Map<string, number> } | undefined;
      const first = await claim('w1', (candidates, running) => {
        seen = { ids: candidates.map((c) => c.id), running };
        return { take: new Set([a1!.id]), full: new Set() };
      });
      assert.deepEqual(seen?.ids, [a1!.id, a2!.id, b1!.id]);
      assert.equal(seen?.running.size, 0);
      assert.deepEqual(first.runs.map((r) => [r.id, r.status, r.leaseOwner]), [[a1!.id, 'running', 'w1']]);
      assert.ok(first.runs[0]!.startedAt);
      assert.equal(first.nextDueAt, now + 60_000, 'the next due time of a run waiting for later');

      const second = await claim('w2', (candidates, running) => {
        seen = { ids: candidates.map((c) => c.id), running };
        return { take: new Set(candidates.map((c) => c.id)), full: new Set() };
      });
      assert.deepEqual(seen?.ids, [a2!.id, b1!.id]);
      assert.deepEqual([...seen!.running], [[`${orgId}\u0000a`, 1]]);
      assert.deepEqual(second.runs.map((r) => r.id), [a2!.id, b1!.id]);
      const none = await claim('w3', () => ({ take: new Set(), full: new Set() }));
      assert.deepEqual(none, { runs: [], capped: 0, nextDueAt: now + 60_000, foundPast: null });
    });

    test('claim: when capped runs fill the window, another round looks past them; capped runs are counted', async () => {
      // 2 × limit (20) due runs of a capped process, then one of another process behind them.
      const capped = Array.from({ length: 20 }, (_, i) => newRun(orgId, 'capped', now - 1000 + i));
      const other = newRun(orgId, 'other', now - 10);
      await insertRuns(database.db, [...capped, other]);
      const rounds: string[][] = [];
      const result = await database.db.transaction().execute((trx) =>
        claimRuns(trx, { owner: 'w1', now, leaseMs: 30_000, limit: 10 }, (candidates) => {
          rounds.push(candidates.map((c) => c.process));
          const full = new Set([`${orgId}\u0000capped`]);
          return { take: new Set(candidates.filter((c) => c.process !== 'capped').map((c) => c.id)), full };
        }),
      );
      assert.equal(rounds.length, 2);
      assert.ok(rounds[0]!.every((p) => p === 'capped'), 'the first window holds only capped runs');
      assert.ok(rounds[1]!.includes('other') && !rounds[1]!.includes('capped'), 'the second looks past the capped process');
      assert.deepEqual(result.runs.map((r) => r.id), [other.id]);
      assert.equal(result.capped, 20);
      assert.equal(result.foundPast, 1);
      // Told not to look past (the worker knows it would find nothing new), the claim stops at the window.
      const again = newRun(orgId, 'other', now - 5);
      await insertRuns(database.db, [again]);
      let looks = 0;
      const result2 = await database.db.transaction().execute((trx) =>
        claimRuns(trx, { owner: 'w1', now, leaseMs: 30_000, limit: 10, lookPast: false }, (candidates) => {
          looks++;
          return { take: new Set(candidates.filter((c) => c.process !== 'capped').map((c) => c.id)), full: new Set([`${orgId}\u0000capped`]) };
        }),
      );
      assert.equal(looks, 1);
      assert.deepEqual([result2.runs, result2.foundPast], [[], null]);
      await database.db.updateTable('runs').set({ status: 'cancelled' }).where('process', 'in', ['capped', 'other']).execute();
    });

    test('claim: queued and waiting runs of a disabled process are not candidates; enabled again, they are', async () => {
      const t = new Date().toISOString();
      const definition = JSON.stringify({ enabled: false });
      await database.db
        .insertInto('processes')
        .values({ org_id: orgId, key: 'paused', version: 1, entity_type: 'order', trigger_status: null, enabled: adapterOf(database.db).bool(false), definition, created_at: t, updated_at: t })
        .execute();
      const [q, w] = [newRun(orgId, 'paused', now - 5), newRun(orgId, 'paused', now - 4)];
      await insertRuns(database.db, [q!, w!]);
      await database.db.updateTable('runs').set({ status: 'waiting' }).where('id', '=', w!.id).execute();
      const takeAll = (candidates: Array<{ id: string }>) => ({ take: new Set(candidates.map((c) => c.id)), full: new Set<string>() });
      const claimAll = () => database.db.transaction().execute((trx) => claimRuns(trx, { owner: 'w1', now, leaseMs: 30_000, limit: 10 }, takeAll));
      assert.deepEqual((await claimAll()).runs, []);
      assert.deepEqual([(await getRun(database.db, orgId, q!.id))!.status, (await getRun(database.db, orgId, w!.id))!.status], ['queued', 'waiting']);
      await database.db.updateTable('processes').set({ enabled: adapterOf(database.db).bool(true) }).where('key', '=', 'paused').execute();
      assert.deepEqual((await claimAll()).runs.map((r) => r.id).sort(), [q!.id, w!.id].sort());
    });

    test('commitStepResults: writes a step only with its run, keeps what an update leaves out, refuses a lost lease', { skip: dialect !== 'postgres' }, async () => {
      const [r1, r2, r3] = [newRun(orgId, 'c'), newRun(orgId, 'c'), newRun(orgId, 'c')];
      await insertRuns(database.db, [r1!, r2!, r3!]);
      await database.db.transaction().execute((trx) => claimRuns(trx, { owner: 'w1', now, leaseMs: 30_000, limit: 10 }, (c) => ({ take: new Set(c.filter((x) => x.process === 'c').map((x) => x.id)), full: new Set<string>() })));
      const t = new Date(now).toISOString();
      const step = (runId: string, output: unknown) => ({ runId, orgId, idx: 0, task: 'post', status: 'succeeded' as const, attempts: 1, input: { a: 1 }, output, startedAt: t, finishedAt: t });
      const failure = { code: 'HTTP_503', message: 'busy \u0000 "quoted"', retryable: true };
      const kept = await commitStepResults(database.db, [
        { runId: r1!.id, orgId, owner: 'w1', run: { status: 'succeeded', stepIndex: 1, attempt: 0, release: true, finishedAt: t, error: null }, step: step(r1!.id, { body: 'nul \u0000 and \ud800 survive' }) },
        { runId: r2!.id, orgId, owner: 'someone else', run: { status: 'failed', release: true }, step: step(r2!.id, null) },
        { runId: r3!.id, orgId, owner: 'w1', run: { status: 'waiting', attempt: 2, availableAt: now + 5_000, release: true, error: failure }, step: null },
      ]);
      assert.deepEqual(kept, [true, false, true]);

      const one = (await getRun(database.db, orgId, r1!.id))!;
      assert.deepEqual([one.status, one.stepIndex, one.leaseOwner, one.leaseExpiresAt, one.finishedAt, one.error], ['succeeded', 1, null, null, t, null]);
      assert.ok(one.startedAt, 'started_at is kept');
      const steps = await listSteps(database.db, orgId, r1!.id);
      assert.deepEqual(steps.map((s) => [s.status, s.input, s.output, s.finishedAt]), [['succeeded', { a: 1 }, { body: 'nul \u0000 and \ud800 survive' }, t]]);

      const two = (await getRun(database.db, orgId, r2!.id))!;
      assert.deepEqual([two.status, two.leaseOwner], ['running', 'w1']);
      assert.deepEqual(await listSteps(database.db, orgId, r2!.id), []);

      const three = (await getRun(database.db, orgId, r3!.id))!;
      assert.deepEqual([three.status, three.attempt, three.availableAt, three.stepIndex, three.leaseOwner, three.error], ['waiting', 2, now + 5_000, 0, null, failure]);

      // A repeated step overwrites the earlier attempt.
      assert.deepEqual(await commitStepResults(database.db, [{ runId: r3!.id, orgId, owner: null, run: { status: 'failed' }, step: { ...step(r3!.id, { again: true }), status: 'failed', attempts: 2 } }]), [true]);
      assert.deepEqual((await listSteps(database.db, orgId, r3!.id)).map((s) => [s.status, s.attempts, s.output]), [['failed', 2, { again: true }]]);
      assert.deepEqual(await commitStepResults(database.db, []), []);
    });
  });
}
