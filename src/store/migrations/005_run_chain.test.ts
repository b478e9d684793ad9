/** Migration 005 on rows written before it: depth from the chain, root by walking causes, runaway chains emptied. */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { sql } from 'kysely';
import { newId } from '../../domain/ids.js';
import { DIALECTS, openTestDatabase, type TestDatabase } from '../../../test/support/databases.js';
import { insertOrganization } from '../organizations.js';
import { insertRuns, type ChainLink, type NewRun } from '../runs.js';
import { migration } from './005_run_chain.js';

/** The statements of the migration that move data (the schema changes are already applied). */
const dataStatements = (text: string) =>
  text
    .split(/;\s*\n/)
    .map((s) => s.replace(/^\s*--.*$/gm, '').trim())
    .filter((s) => /^(UPDATE|WITH)/.test(s));

for (const dialect of DIALECTS) {
  describe(`migration 005_run_chain on ${dialect}`, () => {
    let database: TestDatabase;
    const orgId = newId();
    before(async () => {
      database = await openTestDatabase(dialect);
      await insertOrganization(database.db, { id: orgId, name: 'A', createdAt: new Date().toISOString() });
    });
    after(() => database.drop());

    test('existing runs get their depth and the root of their cause chain', async () => {
      const now = Date.now();
      const run = (id: string, causeRunId: string | null, chain: ChainLink[]): NewRun => ({
        id, orgId, process: 'p', processVersion: 1, entityType: 't', entityId: newId(), trigger: { type: 'status' },
        dedupeKey: null, causeRunId, chain, batchId: null, availableAt: now, queuedAt: new Date(now).toISOString(),
      });
      const [a, b, c, orphan, deep] = [newId(), newId(), newId(), newId(), newId()];
      const link: ChainLink = ['p', 'e'];
      await insertRuns(database.db, [
        run(a, null, []),
        run(b, a, [link]),
        run(c, b, [link, link]),
        run(orphan, newId(), [link]),
        run(deep, null, Array.from({ length: 150 }, () => link)),
      ]);
      // As the rows were before the migration.
      await database.db.updateTable('runs').set({ depth: 0, root_run_id: null }).execute();
      for (const statement of dataStatements(dialect === 'sqlite' ? migration.sqlite : migration.postgres)) await sql.raw(statement).execute(database.db);
      const rows = await database.db.selectFrom('runs').select(['id', 'depth', 'root_run_id', 'chain']).execute();
      const by = new Map(rows.map((r) => [r.id, r]));
      assert.deepEqual([a, b, c].map((id) => [by.get(id)!.depth, by.get(id)!.root_run_id]), [[0, a], [1, a], [2, a]]);
      assert.equal(by.get(orphan)!.root_run_id, orphan, 'a run whose cause is gone roots its own chain');
      assert.equal(by.get(deep)!.depth, 150);
      assert.equal(by.get(deep)!.chain, '[]', 'a chain past any allowed depth is emptied');
      assert.equal(JSON.parse(by.get(c)!.chain).length, 2, 'chains within the bound are kept for the re-entry check');
    });
  });
}
