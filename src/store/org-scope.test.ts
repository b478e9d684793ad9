/**
 * Every query filters by organization where the row has one: each store function here is asked about,
 * or told to change, a row of organization B while naming organization A, and must neither return nor
 * change it. On every database (Postgres with TEST_DATABASE_URL).
 */
import { newRunRow } from '../../test/support/runs.js';
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { newId } from '../domain/ids.js';
import { DIALECTS, openTestDatabase, type TestDatabase } from '../../test/support/databases.js';
import { insertOrganization } from './organizations.js';
import { commitStepResults, getRun, insertRuns, listSteps, updateRun, updateRunSync, writeStep, writeStepSync, type NewRun, type StepWrite } from './runs.js';
import { listStepsAt, listStepSizes } from './run-pages.js';
import { commitAtOnce } from './run-moves.js';

const now = Date.now();
const at = new Date(now).toISOString();

const newRun = (orgId: string): NewRun => newRunRow(orgId, { availableAt: now });

const step = (runId: string, orgId: string, output: unknown): StepWrite => ({ runId, orgId, idx: 0, task: 't', status: 'succeeded', attempts: 1, input: { n: 1 }, output, startedAt: at, finishedAt: at });

for (const dialect of DIALECTS) {
  describe(`organization scope of the store on ${dialect}`, () => {
    let database: TestDatabase;
    const orgA = newId();
    const orgB = newId();
    /** A run of B with one step, held by worker w1. */
    const runB = newRun(orgB);

    before(async () => {
      database = await openTestDatabase(dialect);
      for (const id of [orgA, orgB]) await insertOrganization(database.db, { id, name: id, createdAt: at });
      await insertRuns(database.db, [runB]);
      await database.db.updateTable('runs').set({ status: 'running', lease_owner: 'w1', lease_expires_at: now + 60_000 }).where('id', '=', runB.id).execute();
      await writeStep(database.db, step(runB.id, orgB, { mine: 'B' }));
    });
    after(() => database.drop());

    /** B's run and step are as the fixture left them. */
    async function assertBUntouched(): Promise<void> {
      const run = (await getRun(database.db, orgB, runB.id))!;
      assert.deepEqual([run.status, run.leaseOwner, run.stepIndex], ['running', 'w1', 0]);
      assert.deepEqual((await listSteps(database.db, orgB, runB.id)).map((s) => [s.output, s.attempts]), [[{ mine: 'B' }, 1]]);
    }

    test('runs.ts listSteps and run-pages.ts listStepSizes, listStepsAt: no step of another organization', async () => {
      assert.equal((await listSteps(database.db, orgB, runB.id)).length, 1, 'the owner sees it');
      assert.deepEqual(await listSteps(database.db, orgA, runB.id), []);
      assert.equal((await listStepSizes(database.db, orgB, runB.id, { limit: 10 })).length, 1);
      assert.deepEqual(await listStepSizes(database.db, orgA, runB.id, { limit: 10 }), []);
      assert.equal((await listStepsAt(database.db, orgB, runB.id, [0], true)).length, 1);
      assert.deepEqual(await listStepsAt(database.db, orgA, runB.id, [0], true), []);
      assert.deepEqual(await listStepsAt(database.db, orgA, runB.id, [0], false), []);
    });

    test('runs.ts updateRun: not another organization’s run, with or without its owner', async () => {
      assert.equal(await updateRun(database.db, orgA, runB.id, 'w1', { status: 'failed', release: true }), false);
      assert.equal(await updateRun(database.db, orgA, runB.id, null, { status: 'failed', release: true }), false);
      await assertBUntouched();
    });

    test('runs.ts writeStep: does not overwrite another organization’s step', async () => {
      await writeStep(database.db, step(runB.id, orgA, { mine: 'A' }));
      await assertBUntouched();
    });

    test('runs.ts updateRunSync, writeStepSync (run-moves.ts commitAtOnce): not another organization’s run or step', { skip: dialect !== 'sqlite' }, async () => {
      assert.equal(await database.sqlite!.write((s) => updateRunSync(s, orgA, runB.id, 'w1', { status: 'failed' })), false);
      assert.equal(await database.sqlite!.write((s) => updateRunSync(s, orgA, runB.id, 'w1', {})), false, 'the no-column form checks the organization too');
      await database.sqlite!.write((s) => writeStepSync(s, step(runB.id, orgA, { mine: 'A' })));
      assert.equal(await commitAtOnce(database, { runId: runB.id, orgId: orgA, owner: 'w1', run: { status: 'failed', release: true }, step: step(runB.id, orgA, { mine: 'A' }) }), false);
      await assertBUntouched();
    });

    test('runs.ts commitStepResults: not another organization’s run or step', { skip: dialect !== 'postgres' }, async () => {
      const kept = await commitStepResults(database.db, [
        { runId: runB.id, orgId: orgA, owner: 'w1', run: { status: 'failed', release: true }, step: step(runB.id, orgA, { mine: 'A' }) },
        { runId: runB.id, orgId: orgA, owner: null, run: { status: 'failed' }, step: step(runB.id, orgA, { mine: 'A' }) },
      ]);
      assert.deepEqual(kept, [false, false]);
      await assertBUntouched();
    });
  });
}
