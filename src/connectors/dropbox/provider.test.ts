import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startFakeDropbox, type FakeDropbox } from '../../../test/fakes/dropbox.js';
import { connectionContext, failureOf } from '../../../test/support/connection-context.js';
import { dropboxProvider } from './provider.js';
import { dropboxApiArg, dropboxConfig } from './client.js';
import { dropboxFailure, errorTags } from './errors.js';

let box: FakeDropbox;
before(async () => {
  box = await startFakeDropbox();
});
after(() => box.close());

const signal = new AbortController().signal;

test('test calls users/get_current_account (no body) with either form of secrets', async () => {
  box.requests.length = 0;
  await dropboxProvider.test(connectionContext({ provider: 'dropbox', config: { baseUrl: box.url }, secrets: { accessToken: box.accessToken } }), signal);
  assert.deepEqual(box.requests.map((r) => [r.host, r.path, r.body]), [['api', '/2/users/get_current_account', undefined]]);
  await dropboxProvider.test(connectionContext({ provider: 'dropbox', config: { baseUrl: box.url }, secrets: { refreshToken: box.refreshToken, appKey: box.appKey, appSecret: box.appSecret } }), signal);
  const f = await failureOf(dropboxProvider.test(connectionContext({ key: 'dbx', provider: 'dropbox', config: { baseUrl: box.url }, secrets: { accessToken: 'sl.bad' } }), signal));
  assert.deepEqual([f.code, f.retryable], ['DROPBOX_AUTHENTICATION', false]);
  assert.match(f.message, /"dbx"/);
});

test('secrets: exactly one of the two forms', () => {
  const s = dropboxProvider.secretsSchema;
  assert.equal(s.safeParse({ accessToken: 'sl.x' }).success, true);
  assert.equal(s.safeParse({ refreshToken: 'r', appKey: 'k', appSecret: 's' }).success, true);
  for (const bad of [{}, { accessToken: 'a', refreshToken: 'r', appKey: 'k', appSecret: 's' }, { refreshToken: 'r', appKey: 'k' }, { accessToken: '' }, { token: 'x' }]) {
    const r = s.safeParse(bad);
    assert.equal(r.success, false, JSON.stringify(bad));
  }
  assert.match(s.safeParse({}).error!.issues[0]!.message, /either \{accessToken\} or \{refreshToken, appKey, appSecret\}/);
});

test('config: defaults and strictness', () => {
  const view = (config: Record<string, unknown>) => ({ key: 'k', provider: 'dropbox' as const, name: 'n', config, secrets: {} });
  assert.deepEqual(dropboxConfig(view({})), { baseUrl: 'https://api.dropboxapi.com', contentUrl: 'https://content.dropboxapi.com' });
  assert.deepEqual(dropboxConfig(view({ baseUrl: 'http://127.0.0.1:9/', contentUrl: 'http://127.0.0.1:10', rateLimit: { requests: 10, perMs: 1000 } })), {
    baseUrl: 'http://127.0.0.1:9',
    contentUrl: 'http://127.0.0.1:10',
    rateLimit: { requests: 10, perMs: 1000 },
  });
  for (const bad of [{ baseUrl: 'ftp://x' }, { contentUrl: 'nope' }, { other: true }]) assert.equal(dropboxProvider.configSchema.safeParse(bad).success, false, JSON.stringify(bad));
});

test('Dropbox-API-Arg: ASCII only, parses back to the same value', () => {
  const arg = { path: '/Ünïcödé/日本語/😀\u007f.txt', mode: { '.tag': 'update', update: '0123456789' } };
  const header = dropboxApiArg(arg);
  assert.doesNotMatch(header, /[^\x20-\x7e]/);
  assert.deepEqual(JSON.parse(header), arg);
  assert.equal(dropboxApiArg({ path: '/é' }), '{"path":"/\\u00e9"}');
});

test('route errors are read by their .tag chain, never by error_summary', () => {
  assert.deepEqual(errorTags({ '.tag': 'path', reason: { '.tag': 'conflict', conflict: { '.tag': 'file' } }, upload_session_id: 'x' }), ['path', 'conflict', 'file']);
  assert.deepEqual(errorTags({ '.tag': 'path', path: { '.tag': 'not_found' } }), ['path', 'not_found']);
  assert.deepEqual(errorTags({ '.tag': 'shared_link_already_exists', shared_link_already_exists: { '.tag': 'metadata', metadata: { '.tag': 'file', url: 'u' } } }), ['shared_link_already_exists', 'metadata', 'file']);
  assert.deepEqual(errorTags(undefined), []);
  // A misleading summary does not change the code.
  const f = dropboxFailure({ status: 409, headers: {}, body: { error_summary: 'path/conflict/file/..', error: { '.tag': 'path', path: { '.tag': 'not_found' } } } }, { what: 'files/get_metadata', connection: 'c', path: '/x' }).failure;
  assert.equal(f.code, 'DROPBOX_NOT_FOUND');
});

test('error mapping by status and tag', () => {
  const info = { what: 'files/upload', connection: 'dbx', path: '/a/b.txt' };
  const route = (error: unknown) => ({ status: 409, headers: {}, body: { error_summary: 'x/..', error } });
  const cases: Array<[{ status: number; headers: Record<string, string>; body: unknown }, string, boolean]> = [
    [{ status: 400, headers: {}, body: 'Error in call to API function "files/upload": bad' }, 'DROPBOX_BAD_REQUEST', false],
    [{ status: 401, headers: {}, body: { error_summary: 'invalid_access_token/..', error: { '.tag': 'invalid_access_token' } } }, 'DROPBOX_AUTHENTICATION', false],
    [{ status: 401, headers: {}, body: { error_summary: 'missing_scope/..', error: { '.tag': 'missing_scope', required_scope: 'sharing.write' } } }, 'DROPBOX_MISSING_SCOPE', false],
    [{ status: 403, headers: {}, body: { error_summary: 'no_permission/..', error: { '.tag': 'no_permission' } } }, 'DROPBOX_ACCESS_DENIED', false],
    [route({ '.tag': 'path', reason: { '.tag': 'insufficient_space' } }), 'DROPBOX_INSUFFICIENT_SPACE', false],
    [route({ '.tag': 'path', reason: { '.tag': 'too_many_write_operations' } }), 'DROPBOX_TOO_MANY_WRITE_OPERATIONS', true],
    [route({ '.tag': 'path', reason: { '.tag': 'malformed_path' } }), 'DROPBOX_INVALID_PATH', false],
    [route({ '.tag': 'path', reason: { '.tag': 'no_write_permission' } }), 'DROPBOX_NO_PERMISSION', false],
    [route({ '.tag': 'payload_too_large' }), 'DROPBOX_PAYLOAD_TOO_LARGE', false],
    [route({ '.tag': 'email_not_verified' }), 'DROPBOX_ROUTE_ERROR', false],
    [{ status: 429, headers: { 'retry-after': '4' }, body: { error_summary: 'too_many_requests/..', error: { reason: { '.tag': 'too_many_requests' } } } }, 'DROPBOX_RATE_LIMIT', true],
    [{ status: 500, headers: {}, body: '' }, 'DROPBOX_SERVER_ERROR', true],
    [{ status: 418, headers: {}, body: '' }, 'DROPBOX_REQUEST_FAILED', false],
  ];
  for (const [res, code, retryable] of cases) {
    const f = dropboxFailure(res, info).failure;
    assert.deepEqual([f.code, f.retryable], [code, retryable], JSON.stringify(res));
  }
  const scope = dropboxFailure(cases[2]![0], info).failure;
  assert.match(scope.message, /lacks the scope sharing\.write/);
  assert.equal(dropboxFailure(cases[10]![0], info).failure.retryAfterMs, 4000);
  const bad = dropboxFailure(cases[0]![0], info).failure;
  assert.equal(bad.message, 'Dropbox refused files/upload as malformed: Error in call to API function "files/upload": bad');
});
