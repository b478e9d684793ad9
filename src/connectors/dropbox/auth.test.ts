import { test, before, after, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import { startFakeDropbox, type FakeDropbox } from '../../../test/fakes/dropbox.js';
import { connectionContext, failureOf, taskContext, type TestConnectionContext } from '../../../test/support/connection-context.js';
import { dropboxUpload, type DropboxUploadInput } from './upload.js';
import { dropboxAccessToken, REFRESH_MARGIN_MS } from './auth.js';

let box: FakeDropbox;

before(async () => {
  box = await startFakeDropbox();
});
after(() => box.close());
beforeEach(() => {
  box.faults.reset();
  box.requests.length = 0;
});

function refreshing(secrets: Partial<Record<'refreshToken' | 'appKey' | 'appSecret', string>> = {}): TestConnectionContext {
  return connectionContext({
    key: 'dropbox_main',
    provider: 'dropbox',
    config: { baseUrl: box.url, contentUrl: box.contentUrl },
    secrets: { refreshToken: box.refreshToken, appKey: box.appKey, appSecret: box.appSecret, ...secrets },
  });
}

const input: DropboxUploadInput = { path: '/auth/x.txt', content: 'x', mode: 'overwrite' };
const upload = (cc: TestConnectionContext) => dropboxUpload.run(input, taskContext(cc));
const routes = () => box.requests.map((r) => `${r.host}:${r.path}`);

test('refresh secrets: one token request (form body), the token kept in memo and reused', async () => {
  const cc = refreshing();
  await upload(cc);
  await upload(cc);
  assert.deepEqual(routes(), ['api:/oauth2/token', 'content:/2/files/upload', 'content:/2/files/upload']);
  const tokenReq = box.requests[0]!;
  assert.match(String(tokenReq.headers['content-type']), /^application\/x-www-form-urlencoded/);
  assert.deepEqual(tokenReq.body, { grant_type: 'refresh_token', refresh_token: box.refreshToken, client_id: box.appKey, client_secret: box.appSecret });
  const issued = box.issuedTokens.at(-1)!;
  assert.equal(box.requests[1]!.headers.authorization, `Bearer ${issued}`);
  const kept = cc.memo.get('dropbox.accessToken') as { token: string; expiresAt: number };
  assert.equal(kept.token, issued);
  assert.ok(Math.abs(kept.expiresAt - (Date.now() + 14_400_000)) < 5000);
  assert.equal(cc.acquired, 3, 'the token request takes a rate-limit slot too');
});

test('a kept token within 5 minutes of its expiry is renewed before use', async () => {
  const cc = refreshing();
  cc.memo.set('dropbox.accessToken', { token: box.issuedTokens[0], expiresAt: Date.now() + REFRESH_MARGIN_MS - 1000, refreshToken: box.refreshToken });
  await upload(cc);
  assert.deepEqual(routes(), ['api:/oauth2/token', 'content:/2/files/upload']);
  cc.memo.set('dropbox.accessToken', { ...(cc.memo.get('dropbox.accessToken') as object), expiresAt: Date.now() + REFRESH_MARGIN_MS + 60_000 });
  box.requests.length = 0;
  await upload(cc);
  assert.deepEqual(routes(), ['content:/2/files/upload']);
});

test('401 expired_access_token: refreshed once and the request sent again', async () => {
  const cc = refreshing();
  await upload(cc);
  box.expireAccessTokens();
  box.requests.length = 0;
  await upload(cc);
  assert.deepEqual(routes(), ['content:/2/files/upload', 'api:/oauth2/token', 'content:/2/files/upload']);
  assert.deepEqual(box.requests.map((r) => r.status), [401, 200, 200]);
});

test('still expired after the refresh: retryable DROPBOX_AUTHENTICATION, no loop', async () => {
  const cc = refreshing();
  await upload(cc);
  box.requests.length = 0;
  box.faults.failNext(401, { error_summary: 'expired_access_token/..', error: { '.tag': 'expired_access_token' } });
  box.faults.failNext(200, { access_token: 'sl.new', token_type: 'bearer', expires_in: 14400 });
  box.faults.failNext(401, { error_summary: 'expired_access_token/..', error: { '.tag': 'expired_access_token' } });
  const f = await failureOf(upload(cc));
  assert.deepEqual([f.code, f.retryable], ['DROPBOX_AUTHENTICATION', true]);
  assert.equal(box.requests.length, 3);
});

test('a fixed access token that expired: non-retryable, suggests a refresh token', async () => {
  const other = await startFakeDropbox();
  try {
    const cc = connectionContext({ key: 'dropbox_main', provider: 'dropbox', config: { baseUrl: other.url, contentUrl: other.contentUrl }, secrets: { accessToken: other.accessToken } });
    other.expireAccessTokens();
    const f = await failureOf(upload(cc));
    assert.deepEqual([f.code, f.retryable], ['DROPBOX_AUTHENTICATION', false]);
    assert.match(f.message, /"dropbox_main" has expired .*refreshToken, appKey and appSecret/);
    assert.equal(other.requests.length, 1);
  } finally {
    await other.close();
  }
});

test('a refused refresh token or app secret: non-retryable DROPBOX_AUTHENTICATION with Dropbox’s reason', async () => {
  const f = await failureOf(upload(refreshing({ refreshToken: 'revoked' })));
  assert.deepEqual([f.code, f.retryable], ['DROPBOX_AUTHENTICATION', false]);
  assert.match(f.message, /"dropbox_main" \(invalid_grant: /);
  const g = await failureOf(upload(refreshing({ appSecret: 'wrong' })));
  assert.deepEqual([g.code, g.retryable], ['DROPBOX_AUTHENTICATION', false]);
  assert.match(g.message, /invalid_client/);
  assert.ok(!JSON.stringify([f, g]).includes(box.appSecret), 'no secret in the failure');
});

test('a 5xx from the token endpoint is retryable', async () => {
  box.faults.failNext(503);
  const f = await failureOf(upload(refreshing()));
  assert.deepEqual([f.code, f.retryable], ['DROPBOX_SERVER_ERROR', true]);
});

test('concurrent steps of one connection share one refresh', async () => {
  const cc = refreshing();
  const signal = new AbortController().signal;
  const tokens = await Promise.all([1, 2, 3, 4].map(() => dropboxAccessToken(cc, box.url, signal)));
  assert.equal(new Set(tokens).size, 1);
  assert.deepEqual(routes(), ['api:/oauth2/token']);
  assert.equal(cc.memo.has('dropbox.refreshing'), false);
});

test('new secrets (another refresh token) do not reuse a token made from the old ones', async () => {
  const cc = refreshing();
  cc.memo.set('dropbox.accessToken', { token: 'sl.from-old-secrets', expiresAt: Date.now() + 3_600_000, refreshToken: 'old' });
  const token = await dropboxAccessToken(cc, box.url, new AbortController().signal);
  assert.notEqual(token, 'sl.from-old-secrets');
});
