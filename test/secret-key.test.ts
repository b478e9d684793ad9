/**
 * The secret key is checked at start (issue 10, item 9), with real `statusflow` processes: the database
 * records which key seals its connection secrets, so a `worker` or `start` with another key — set by
 * mistake, or generated because STATUSFLOW_SECRET_KEY was forgotten — refuses to start with a message
 * saying what to set, instead of failing every run that uses a connection. A rotation (new key, old one
 * in STATUSFLOW_SECRET_KEY_PREVIOUS) is accepted, re-encrypts the secrets and records the new key;
 * from then on a process with only the old key is refused.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { DIALECTS } from './support/databases.js';
import { api, createChildDatabase, startServerProcess, TEST_ADMIN_KEY, type ChildDatabase, type ServerProcess } from './support/server-process.js';
import { keyCheck, keyFingerprint, SecretBox } from '../src/engine/secrets.js';
import { getRecordedKey } from '../src/store/secret-key.js';
import { allSealedSecrets } from '../src/store/connections.js';
import { secretContext } from '../src/engine/connection-context.js';
import type { Database } from '../src/store/db.js';

const OLD = randomBytes(32);
const NEW = randomBytes(32);
const OTHER = randomBytes(32);

for (const dialect of DIALECTS) {
  describe(`secret key check on ${dialect}`, () => {
    let database: ChildDatabase;
    let reader: Database | undefined;
    const procs: ServerProcess[] = [];

    before(async () => {
      database = await createChildDatabase(dialect);
    });
    after(async () => {
      for (const p of procs) await p.kill();
      await reader?.close();
      await database?.drop();
    });

    const run = async (command: 'start' | 'worker', keys: Record<string, string>, name: string) => {
      const p = await startServerProcess({ command, name, env: { ...database.env, STATUSFLOW_ADMIN_KEY: TEST_ADMIN_KEY, STATUSFLOW_WORKERS: '1', ...keys } });
      procs.push(p);
      return p;
    };
    /** Starts the process and expects it to exit before it is ready; returns what it said. */
    const refused = async (command: 'start' | 'worker', keys: Record<string, string>, name: string): Promise<string> => {
      try {
        const p = await run(command, keys, name);
        await p.kill();
      } catch (err) {
        return (err as Error).message;
      }
      assert.fail(`${name} started; it should have refused`);
    };

    test('a process with another key, or with none (a generated key file), refuses to start; the rotation is accepted and records the new key', { timeout: 120_000 }, async () => {
      // The first process records its key; a connection's secrets are sealed with it.
      const first = await run('start', { STATUSFLOW_SECRET_KEY: OLD.toString('hex') }, 'start (old key)');
      const put = await api(first.origin, 'PUT', '/api/v1/connections/api_main', {
        provider: 'http',
        name: 'Some API',
        config: { baseUrl: 'https://api.example.com' },
        secrets: { headers: { authorization: 'Bearer s3cret-value' } },
      });
      assert.equal(put.status, 201, JSON.stringify(put.json));
      await first.stop();

      // Another key: refused, naming both keys (by fingerprint, never the key) and what to set.
      const other = await refused('worker', { STATUSFLOW_SECRET_KEY: OTHER.toString('hex') }, 'worker (another key)');
      assert.match(other, /configuration error: .*encrypted with the key/);
      assert.match(other, new RegExp(keyFingerprint(OLD)));
      assert.match(other, new RegExp(keyFingerprint(OTHER)));
      assert.match(other, /Set STATUSFLOW_SECRET_KEY/);
      assert.ok(!other.includes(OLD.toString('hex')) && !other.includes(OTHER.toString('hex')), 'no key is printed');
      assert.match(await refused('start', { STATUSFLOW_SECRET_KEY: OTHER.toString('hex') }, 'start (another key)'), /Set STATUSFLOW_SECRET_KEY/);
      // No key at all: the process generates secret.key (docs/processes.md's `statusflow worker` without the variable).
      assert.match(await refused('worker', {}, 'worker (no key)'), /from the key file .*secret\.key.*Set STATUSFLOW_SECRET_KEY/s);

      // Rotation: the new key with the old one as previous starts, re-encrypts, records the new key.
      const rotating = await run('start', { STATUSFLOW_SECRET_KEY: NEW.toString('hex'), STATUSFLOW_SECRET_KEY_PREVIOUS: OLD.toString('hex') }, 'start (rotation)');
      assert.match(rotating.output(), /1 connection\(s\) re-encrypted/);
      await rotating.stop();
      reader = database.open();
      assert.equal((await getRecordedKey(reader.db))?.check, keyCheck(NEW));
      const [sealed] = await allSealedSecrets(reader.db);
      assert.ok(new SecretBox(NEW).open(sealed!.sealedSecrets, secretContext(sealed!.orgId, sealed!.key)).includes('s3cret-value'));

      // The old key alone is refused now; the new one alone starts, a worker too.
      assert.match(await refused('worker', { STATUSFLOW_SECRET_KEY: OLD.toString('hex') }, 'worker (old key after the rotation)'), new RegExp(keyFingerprint(NEW)));
      const worker = await run('worker', { STATUSFLOW_SECRET_KEY: NEW.toString('hex') }, 'worker (new key)');
      await worker.stop();
      assert.equal(worker.child.exitCode, 0);
    });
  });
}
