/** The secret key check at start (secret-key-check.ts), on every database; the CLI side is test/secret-key.test.ts. */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { DIALECTS, openTestDatabase, type TestDatabase } from '../../test/support/databases.js';
import { writeConnection } from '../store/connections.js';
import { getRecordedKey } from '../store/secret-key.js';
import { secretContext } from './connection-context.js';
import { checkSecretKey, keyRotated, SecretKeyMismatchError } from './secret-key-check.js';
import { keyCheck, SecretBox } from './secrets.js';

const [A, B, C] = [randomBytes(32), randomBytes(32), randomBytes(32)];
const o = { source: 'STATUSFLOW_SECRET_KEY' };

for (const kind of DIALECTS) {
  describe(`secret key check on ${kind}`, () => {
    let database: TestDatabase;
    before(async () => {
      database = await openTestDatabase(kind);
    });
    after(async () => {
      await database?.drop();
    });

    test('a database made before the check: connections whose secrets open with no key of this process refuse it; one that opens records its key', async () => {
      // Connections from before the check (no key recorded), sealed with A.
      const now = new Date().toISOString();
      await writeConnection(database.db, { orgId: 'org1', key: 'c1', provider: 'http', name: 'c1', config: {}, sealedSecrets: new SecretBox(A).seal('{"x":"y"}', secretContext('org1', 'c1')), secretNames: ['x'] }, undefined, now);
      await assert.rejects(checkSecretKey(database, new SecretBox(B), o), (err: unknown) => err instanceof SecretKeyMismatchError && /1 connection\(s\)/.test(err.message));
      assert.equal(await getRecordedKey(database.db), undefined, 'nothing recorded by a refused process');
      assert.equal(await checkSecretKey(database, new SecretBox(A), o), 'recorded');
      assert.equal((await getRecordedKey(database.db))?.check, keyCheck(A));
      assert.equal(await checkSecretKey(database, new SecretBox(A), o), 'current');
    });

    test('another key is refused; during a rotation the old key as previous is accepted, and after it only the new key', async () => {
      await assert.rejects(checkSecretKey(database, new SecretBox(B), o), SecretKeyMismatchError);
      assert.equal(await checkSecretKey(database, new SecretBox(B, [A]), o), 'previous');
      assert.equal(await keyRotated(database, new SecretBox(B, [A])), true);
      assert.equal((await getRecordedKey(database.db))?.check, keyCheck(B));
      await assert.rejects(checkSecretKey(database, new SecretBox(A), o), SecretKeyMismatchError);
      assert.equal(await checkSecretKey(database, new SecretBox(B), o), 'current');
      // A process with a key the rotation did not start from changes nothing.
      assert.equal(await keyRotated(database, new SecretBox(C, [A])), false);
      assert.equal((await getRecordedKey(database.db))?.check, keyCheck(B));
    });

    test('STATUSFLOW_SECRET_KEY_ADOPT records this process’s key in place of a lost one', async () => {
      assert.equal(await checkSecretKey(database, new SecretBox(C), { ...o, adopt: true }), 'adopted');
      assert.equal(await checkSecretKey(database, new SecretBox(C), o), 'current');
      await assert.rejects(checkSecretKey(database, new SecretBox(B), o), SecretKeyMismatchError);
    });
  });
}
