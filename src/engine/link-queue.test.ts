import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { DIALECTS, openTestDatabase, type TestDatabase } from '../../test/support/databases.js';
import type { LinkWrite } from '../store/links.js';
import { readLinksOf } from '../store/links-grouped.js';
import { LinkQueue } from './link-queue.js';

const scope = { orgId: 'org_1', connection: 'hubspot_main', externalType: 'deals' };
const link = (n: number, externalId = `d${n}`): LinkWrite => ({
  orgId: 'org_1', entityId: `e${n}`, entityType: 'order', connection: 'hubspot_main', provider: 'hubspot', externalType: 'deals', externalId, url: null, runId: `r${n}`,
});

for (const kind of DIALECTS) {
  describe(`link queue on ${kind}`, () => {
    let database: TestDatabase;
    before(async () => {
      database = await openTestDatabase(kind);
    });
    after(() => database.drop());

    test('links kept in one turn are one write, links read in one turn one query; each caller gets its own', async () => {
      const q = new LinkQueue(database);
      await Promise.all(Array.from({ length: 300 }, (_, n) => q.put(link(n))));
      assert.deepEqual(q.counters, { reads: 0, readQueries: 0, writes: 300, writeCalls: 1 });
      const got = await Promise.all([...Array.from({ length: 300 }, (_, n) => q.get(scope, `e${n}`)), q.get(scope, 'nobody'), q.get(scope, 'e7')]);
      assert.equal(q.counters.reads, 301, 'one entity asked twice is read once');
      assert.equal(q.counters.readQueries, 2, '256 ids per query');
      got.slice(0, 300).forEach((l, n) => assert.equal(l?.externalId, `d${n}`));
      assert.equal(got[300], undefined);
      assert.equal(got[301]?.externalId, 'd7');
    });

    test('of two writes of one link in one turn the later wins; a link written again keeps its createdAt', async () => {
      const q = new LinkQueue(database);
      const stored = async () => (await readLinksOf(database, scope, ['e1']))[0];
      const before = await stored();
      await Promise.all([q.put(link(1, 'first')), q.put(link(1, 'second'))]);
      const now = await stored();
      assert.equal(now?.externalId, 'second');
      assert.equal(now?.createdAt, before?.createdAt);
    });

    test('a link the database refuses fails only its own caller', async () => {
      const q = new LinkQueue(database);
      const bad = { ...link(500), entityType: null as unknown as string };
      const settled = await Promise.allSettled([q.put(link(501)), q.put(bad), q.put(link(502))]);
      assert.deepEqual(settled.map((s) => s.status), ['fulfilled', 'rejected', 'fulfilled']);
      assert.equal((await q.get(scope, 'e502'))?.externalId, 'd502');
      assert.equal(await q.get(scope, 'e500'), undefined);
    });
  });
}
