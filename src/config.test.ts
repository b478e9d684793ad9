/** Configuration read from the environment: the secret key settings, outbound deny list, storage. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { ConfigError, loadConfig } from './config.js';

const KEY = randomBytes(32);

test('STATUSFLOW_SECRET_KEY: a bad value is a ConfigError that does not repeat it', () => {
  assert.deepEqual(loadConfig({ STATUSFLOW_SECRET_KEY: KEY.toString('hex') }).secretKey, KEY);
  assert.equal(loadConfig({}).secretKey, undefined);
  const bad = 'hunter2-not-a-key';
  assert.throws(
    () => loadConfig({ STATUSFLOW_SECRET_KEY: bad }),
    (err: unknown) => err instanceof ConfigError && /STATUSFLOW_SECRET_KEY must be 32 random bytes/.test(err.message) && !err.message.includes(bad),
  );
  const previous = randomBytes(32);
  assert.deepEqual(loadConfig({ STATUSFLOW_SECRET_KEY_PREVIOUS: `${previous.toString('hex')}, ${KEY.toString('base64')}` }).previousSecretKeys, [previous, KEY]);
  assert.throws(() => loadConfig({ STATUSFLOW_SECRET_KEY_PREVIOUS: 'nope' }), /STATUSFLOW_SECRET_KEY_PREVIOUS/);
});

test('STATUSFLOW_SECRET_KEY_ADOPT: off unless 1 or true; anything else is a ConfigError', () => {
  assert.equal(loadConfig({}).adoptSecretKey, false);
  assert.equal(loadConfig({ STATUSFLOW_SECRET_KEY_ADOPT: '0' }).adoptSecretKey, false);
  assert.equal(loadConfig({ STATUSFLOW_SECRET_KEY_ADOPT: '1' }).adoptSecretKey, true);
  assert.equal(loadConfig({ STATUSFLOW_SECRET_KEY_ADOPT: 'true' }).adoptSecretKey, true);
  assert.throws(() => loadConfig({ STATUSFLOW_SECRET_KEY_ADOPT: 'yes please' }), (err: unknown) => err instanceof ConfigError && /STATUSFLOW_SECRET_KEY_ADOPT must be 1 or 0/.test(err.message));
});

test('STATUSFLOW_HTTP_DENY: unset → metadata and link-local; a list replaces it; none denies nothing; a bad entry is a ConfigError naming it', () => {
  assert.ok(loadConfig({}).httpDeny.includes('169.254.0.0/16'));
  assert.deepEqual(loadConfig({ STATUSFLOW_HTTP_DENY: '169.254.0.0/16, 10.0.0.0/8' }).httpDeny, ['169.254.0.0/16', '10.0.0.0/8']);
  assert.deepEqual(loadConfig({ STATUSFLOW_HTTP_DENY: 'none' }).httpDeny, []);
  assert.throws(
    () => loadConfig({ STATUSFLOW_HTTP_DENY: '10.0.0.0/8,intranet' }),
    (err: unknown) => err instanceof ConfigError && /STATUSFLOW_HTTP_DENY: "intranet" is not a network/.test(err.message),
  );
});

test('loop protection and page budget settings: defaults, values, and a ConfigError naming a bad one', () => {
  const defaults = loadConfig({});
  assert.deepEqual([defaults.loopLimit, defaults.chainDepthLimit, defaults.chainRunLimit, defaults.pageBytes], [3, 10, 1000, 4 * 1024 * 1024]);
  const set = loadConfig({ STATUSFLOW_CHAIN_DEPTH_LIMIT: '25', STATUSFLOW_CHAIN_RUN_LIMIT: '5000', STATUSFLOW_PAGE_BYTES: '1048576' });
  assert.deepEqual([set.chainDepthLimit, set.chainRunLimit, set.pageBytes], [25, 5000, 1048576]);
  // The stored chain is as long as the depth: more than 100 is refused.
  assert.throws(() => loadConfig({ STATUSFLOW_CHAIN_DEPTH_LIMIT: '101' }), /STATUSFLOW_CHAIN_DEPTH_LIMIT must be an integer from 1 to 100/);
  assert.throws(() => loadConfig({ STATUSFLOW_CHAIN_RUN_LIMIT: '0' }), /STATUSFLOW_CHAIN_RUN_LIMIT/);
  assert.throws(() => loadConfig({ STATUSFLOW_PAGE_BYTES: '4MB' }), /STATUSFLOW_PAGE_BYTES/);
});

test('storage: the WAL bound and retention have documented defaults; 0 switches each off; bad values name the variable', () => {
  const c = loadConfig({});
  assert.equal(c.sqliteWalLimitBytes, 32 * 1024 * 1024);
  assert.deepEqual(c.retention, { runsDays: 30, runsPerProcess: 0, eventsDays: 0, intervalMs: 300_000, chunk: 500 });
  const off = loadConfig({ STATUSFLOW_SQLITE_WAL_LIMIT_MB: '0', STATUSFLOW_RETAIN_RUNS_DAYS: '0', STATUSFLOW_RETAIN_RUNS_PER_PROCESS: '1000', STATUSFLOW_RETAIN_EVENTS_DAYS: '365' });
  assert.equal(off.sqliteWalLimitBytes, 0);
  assert.deepEqual([off.retention.runsDays, off.retention.runsPerProcess, off.retention.eventsDays], [0, 1000, 365]);
  for (const [name, value] of [['STATUSFLOW_RETAIN_RUNS_DAYS', '-1'], ['STATUSFLOW_SQLITE_WAL_LIMIT_MB', '1.5'], ['STATUSFLOW_PRUNE_CHUNK', '0'], ['STATUSFLOW_PRUNE_INTERVAL_MS', 'often']] as const) {
    assert.throws(() => loadConfig({ [name]: value }), (err: unknown) => err instanceof ConfigError && err.message.startsWith(`${name} must be an integer`));
  }
});
