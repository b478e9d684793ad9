import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { deleteApiKey } from '../store/api-keys.js';
import { openTestDatabase, type TestDatabase } from '../../test/support/databases.js';
import { Authenticator, bootstrap, createApiKey, hashKey } from './access.js';
import type { Services } from './services.js';

let database: TestDatabase;
let services: Services;
let orgId: string;

before(async () => {
  database = await openTestDatabase('sqlite');
  services = { database } as unknown as Services; // the Authenticator only needs the database
  orgId = (await bootstrap(services, undefined)).organization.id;
});
after(() => database.drop());

/** An Authenticator on a fake clock, counting its database look-ups. */
function authenticator(cacheMs = 1000): { auth: Authenticator; clock: { now: number }; queries: () => number } {
  const clock = { now: 1_000_000 };
  let queries = 0;
  const counting = {
    database: {
      get db() {
        queries++;
        return database.db;
      },
    },
  } as unknown as Services;
  return { auth: new Authenticator(counting, { cacheMs, now: () => clock.now }), clock, queries: () => queries };
}

test('a known key is looked up once, then served from the cache until cacheMs has passed', async () => {
  const { apiKey, key } = await createApiKey(services, orgId, 'cached', 'editor');
  const { auth, clock, queries } = authenticator();
  assert.equal(auth.cached(key), undefined);
  const principal = await auth.authenticate(key);
  assert.deepEqual(principal, { orgId, keyId: apiKey.id, keyName: 'cached', role: 'editor' });
  assert.deepEqual(auth.cached(key), principal);
  clock.now += 999;
  assert.deepEqual(await auth.authenticate(key), principal);
  assert.equal(queries(), 1);
  clock.now += 1;
  assert.equal(auth.cached(key), undefined, 'stale after cacheMs');
  assert.deepEqual(await auth.authenticate(key), principal);
  assert.equal(queries(), 2);
});

test('a key deleted elsewhere (no forget) is refused once cacheMs has passed', async () => {
  const { apiKey, key } = await createApiKey(services, orgId, 'deleted elsewhere', 'viewer');
  const { auth, clock } = authenticator();
  assert.ok(await auth.authenticate(key));
  await deleteApiKey(database.db, orgId, apiKey.id);
  clock.now += 1000;
  assert.equal(await auth.authenticate(key), undefined);
});

test('forget refuses a deleted key at once, also when its look-up was in flight', async () => {
  const { apiKey, key } = await createApiKey(services, orgId, 'forgotten', 'operator');
  const { auth } = authenticator();
  assert.ok(await auth.authenticate(key));
  const hash = await deleteApiKey(database.db, orgId, apiKey.id);
  assert.equal(hash, hashKey(key));
  auth.forget(hash);
  assert.equal(auth.cached(key), undefined);
  assert.equal(await auth.authenticate(key), undefined);

  // A look-up that read the row before the deletion answers its callers but does not fill the cache.
  const second = await createApiKey(services, orgId, 'in flight', 'operator');
  const inFlight = auth.authenticate(second.key);
  auth.forget(hashKey(second.key));
  assert.ok(await inFlight);
  assert.equal(auth.cached(second.key), undefined);
});

test('concurrent look-ups of one key share one query; unknown and malformed keys are refused and not cached', async () => {
  const { key } = await createApiKey(services, orgId, 'shared', 'admin');
  const { auth, queries } = authenticator();
  const principals = await Promise.all(Array.from({ length: 8 }, () => auth.authenticate(key)));
  assert.equal(queries(), 1);
  assert.ok(principals.every((p) => p === principals[0] && p?.role === 'admin'));
  const unknown = 'sf_not_a_key_that_exists_0000';
  assert.equal(await auth.authenticate(unknown), undefined);
  assert.equal(await auth.authenticate(unknown), undefined);
  assert.equal(queries(), 3);
  assert.equal(await auth.authenticate('short'), undefined);
  assert.equal(await auth.authenticate('x'.repeat(201)), undefined);
  assert.equal(queries(), 3);
});
