/** The Dropbox fake against CHEATSHEET.md and the Stone types, driven by a plain fetch client. */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { dropboxContentHash, startSandboxDropbox, type SandboxDropbox, type SandboxDropboxOptions } from './dropbox.js';

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any -- response bodies are probed field by field
interface Answer { status: number; headers: Headers; type: string; text: string; body: Json }

async function answer(res: Response): Promise<Answer> {
  const text = await res.text();
  const type = res.headers.get('content-type') ?? '';
  return { status: res.status, headers: res.headers, type, text, body: (type.includes('json') && text ? JSON.parse(text) : {}) as Json };
}
/** JSON-escapes non-ASCII as \uXXXX, as the SDK does for Dropbox-API-Arg. */
const headerSafe = (v: unknown) => JSON.stringify(v).replace(/[\u007f-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);

interface Client { token: string; rpc(route: string, args: unknown, token?: string | null): Promise<Answer>; upload(arg: unknown, bytes: string | Buffer, extra?: Record<string, string>): Promise<Answer> }

function clientOf(fake: SandboxDropbox): Client {
  const c: Client = {
    token: fake.accessToken,
    rpc: async (route: string, args: unknown, token: string | null = c.token) => {
      const headers: Record<string, string> = { 'content-type': 'application/json' };
      if (token !== null) headers.authorization = `Bearer ${token}`;
      return answer(await fetch(`${fake.url}/2/${route}`, { method: 'POST', headers, body: JSON.stringify(args) }));
    },
    upload: async (arg: unknown, bytes: string | Buffer, extra: Record<string, string> = {}) => {
      const headers = { authorization: `Bearer ${c.token}`, 'content-type': 'application/octet-stream', 'dropbox-api-arg': headerSafe(arg), ...extra };
      return answer(await fetch(`${fake.contentUrl}/2/files/upload`, { method: 'POST', headers, body: typeof bytes === 'string' ? Buffer.from(bytes) : bytes }));
    },
  };
  return c;
}

function fixture(options: SandboxDropboxOptions = {}) {
  const clock = { t: Date.UTC(2026, 0, 1) };
  const ctx = {} as { fake: SandboxDropbox; c: ReturnType<typeof clientOf>; clock: typeof clock };
  before(async () => {
    ctx.fake = await startSandboxDropbox({ now: () => clock.t, ...options });
    ctx.c = clientOf(ctx.fake);
    ctx.clock = clock;
  });
  after(() => ctx.fake.close());
  return ctx;
}

describe('dropbox fake: content hash', () => {
  test('SHA-256 of the concatenated SHA-256 of each 4 MiB block', () => {
    assert.equal(dropboxContentHash(Buffer.alloc(0)), 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
    const big = Buffer.alloc(4 * 1024 * 1024 + 10, 7);
    const blocks = [big.subarray(0, 4 * 1024 * 1024), big.subarray(4 * 1024 * 1024)].map((b) => createHash('sha256').update(b).digest());
    assert.equal(dropboxContentHash(big), createHash('sha256').update(Buffer.concat(blocks)).digest('hex'));
    assert.notEqual(dropboxContentHash(big), createHash('sha256').update(big).digest('hex'));
  });
});

describe('dropbox fake: files/upload', () => {
  const ctx = fixture();
  test('new file → 200 FileMetadata; parents created; path case kept for display', async () => {
    const r = await ctx.c.upload({ path: '/Reports/Q1 Sales.PDF', mode: 'add', autorename: false, mute: false, strict_conflict: false }, 'hello');
    assert.equal(r.status, 200);
    const m = r.body;
    assert.deepEqual(Object.keys(m).sort(), ['.tag', 'client_modified', 'content_hash', 'id', 'is_downloadable', 'name', 'path_display', 'path_lower', 'rev', 'server_modified', 'size']);
    assert.equal(m['.tag'], 'file');
    assert.equal(m.name, 'Q1 Sales.PDF');
    assert.equal(m.path_lower, '/reports/q1 sales.pdf');
    assert.equal(m.path_display, '/Reports/Q1 Sales.PDF');
    assert.match(m.id, /^id:.+/);
    assert.match(m.rev, /^[0-9a-f]{9,}$/);
    assert.equal(m.size, 5);
    assert.equal(m.content_hash, dropboxContentHash(Buffer.from('hello')));
    assert.equal(m.server_modified, '2026-01-01T00:00:00Z');
    assert.equal(m.is_downloadable, true);
    const stored = ctx.fake.state.files.get('/reports/q1 sales.pdf')!;
    assert.equal(stored.content.toString(), 'hello');
    assert.equal(ctx.fake.state.folders.get('/reports')!.path_display, '/Reports');
  });
  test('mode add: identical bytes → no-op 200 (same rev); different bytes → 409 path/conflict/file', async () => {
    const first = await ctx.c.upload({ path: '/a/doc.txt' }, 'one');
    const same = await ctx.c.upload({ path: '/A/DOC.txt', mode: 'add' }, 'one');
    assert.equal(same.status, 200);
    assert.equal(same.body.rev, first.body.rev);
    const diff = await ctx.c.upload({ path: '/a/doc.txt', mode: { '.tag': 'add' } }, 'two');
    assert.equal(diff.status, 409);
    assert.equal(diff.body.error_summary, 'path/conflict/file/..');
    assert.deepEqual({ ...diff.body.error, upload_session_id: 'x' }, { '.tag': 'path', reason: { '.tag': 'conflict', conflict: { '.tag': 'file' } }, upload_session_id: 'x' });
    assert.equal(typeof diff.body.error.upload_session_id, 'string');
    assert.equal(ctx.fake.state.files.get('/a/doc.txt')!.content.toString(), 'one');
    const strict = await ctx.c.upload({ path: '/a/doc.txt', strict_conflict: true }, 'one');
    assert.equal(strict.status, 409, 'strict_conflict makes identical bytes a conflict too');
  });
  test('overwrite → new rev, same id; update with the current rev → ok; stale rev → 409 conflict', async () => {
    const first = await ctx.c.upload({ path: '/b.txt' }, 'v1');
    const over = await ctx.c.upload({ path: '/b.txt', mode: 'overwrite' }, 'v2');
    assert.equal(over.status, 200);
    assert.equal(over.body.id, first.body.id);
    assert.notEqual(over.body.rev, first.body.rev);
    const upd = await ctx.c.upload({ path: '/b.txt', mode: { '.tag': 'update', update: over.body.rev } }, 'v3');
    assert.equal(upd.status, 200);
    const stale = await ctx.c.upload({ path: '/b.txt', mode: { '.tag': 'update', update: first.body.rev } }, 'v4');
    assert.equal(stale.status, 409);
    assert.equal(stale.body.error.reason.conflict['.tag'], 'file');
    const staleSame = await ctx.c.upload({ path: '/b.txt', mode: { '.tag': 'update', update: first.body.rev } }, 'v3');
    assert.equal(staleSame.status, 200, 'identical bytes are never a conflict without strict_conflict');
    assert.equal(ctx.fake.state.files.get('/b.txt')!.content.toString(), 'v3');
  });
  test('autorename: add → "name (1).ext"; update conflict → "(conflicted copy)"', async () => {
    await ctx.c.upload({ path: '/c/x.txt' }, '1');
    const r1 = await ctx.c.upload({ path: '/c/x.txt', autorename: true }, '2');
    assert.equal(r1.body.path_display, '/c/x (1).txt');
    const r2 = await ctx.c.upload({ path: '/c/x.txt', autorename: true }, '3');
    assert.equal(r2.body.name, 'x (2).txt');
    const r3 = await ctx.c.upload({ path: '/c/x.txt', mode: { '.tag': 'update', update: '0123456789ab' }, autorename: true }, '4');
    assert.equal(r3.body.name, 'x (conflicted copy).txt');
  });
  test('folder in the way → conflict/folder; file as an ancestor → conflict/file_ancestor; content_hash mismatch', async () => {
    await ctx.c.rpc('files/create_folder_v2', { path: '/dir' });
    assert.equal((await ctx.c.upload({ path: '/dir' }, 'x')).body.error_summary, 'path/conflict/folder/..');
    await ctx.c.upload({ path: '/file.txt' }, 'x');
    const anc = await ctx.c.upload({ path: '/file.txt/inner.txt' }, 'x');
    assert.equal(anc.status, 409);
    assert.equal(anc.body.error.reason.conflict['.tag'], 'file_ancestor');
    const mismatch = await ctx.c.upload({ path: '/h.txt', content_hash: '0'.repeat(64) }, 'x');
    assert.equal(mismatch.status, 409);
    assert.equal(mismatch.body.error['.tag'], 'content_hash_mismatch');
    const match = await ctx.c.upload({ path: '/h.txt', content_hash: dropboxContentHash(Buffer.from('x')) }, 'x');
    assert.equal(match.status, 200);
  });
  test('non-ASCII in Dropbox-API-Arg: raw → 400 plain text; \\uXXXX-escaped → 200', async () => {
    const raw = await answer(await fetch(`${ctx.fake.contentUrl}/2/files/upload`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ctx.fake.accessToken}`, 'content-type': 'application/octet-stream', 'dropbox-api-arg': JSON.stringify({ path: '/Café.txt' }) },
      body: 'x',
    }));
    assert.equal(raw.status, 400);
    assert.match(raw.type, /^text\/plain/);
    assert.match(raw.text, /files\/upload/);
    const ok = await ctx.c.upload({ path: '/Café.txt' }, 'x');
    assert.equal(ok.status, 200);
    assert.equal(ok.body.name, 'Café.txt');
  });
  test('malformed requests → 400 plain text', async () => {
    const base = { authorization: `Bearer ${ctx.fake.accessToken}`, 'content-type': 'application/octet-stream' };
    const cases: Array<[Record<string, string>, string]> = [
      [base, 'no arg'],
      [{ ...base, 'dropbox-api-arg': '{nope' }, 'bad JSON'],
      [{ ...base, 'dropbox-api-arg': '{"path":"relative.txt"}' }, 'path pattern'],
      [{ ...base, 'dropbox-api-arg': '{"path":"/x.txt","mode":"sideways"}' }, 'unknown mode'],
      [{ ...base, 'dropbox-api-arg': '{"path":"/x.txt","autorename":"yes"}' }, 'bad boolean'],
      [{ ...base, 'content-type': 'application/json', 'dropbox-api-arg': '{"path":"/x.txt"}' }, 'content type'],
    ];
    for (const [headers, why] of cases) {
      const r = await answer(await fetch(`${ctx.fake.contentUrl}/2/files/upload`, { method: 'POST', headers, body: 'x' }));
      assert.equal(r.status, 400, why);
      assert.match(r.type, /^text\/plain/, why);
    }
    const onApi = await answer(await fetch(`${ctx.fake.url}/2/files/upload`, { method: 'POST', headers: { ...base, 'dropbox-api-arg': '{"path":"/x.txt"}' }, body: 'x' }));
    assert.equal(onApi.status, 400, 'upload lives on the content host');
    const malformed = await ctx.c.upload({ path: '/x/' }, 'x');
    assert.equal(malformed.status, 409);
    assert.equal(malformed.body.error.reason['.tag'], 'malformed_path');
  });
  test('payload over the limit → 409 payload_too_large', async () => {
    const fake = await startSandboxDropbox({ maxUploadBytes: 4 });
    try {
      const r = await clientOf(fake).upload({ path: '/big' }, '12345');
      assert.equal(r.status, 409);
      assert.equal(r.body.error['.tag'], 'payload_too_large');
    } finally {
      await fake.close();
    }
  });
});

describe('dropbox fake: folders and metadata', () => {
  const ctx = fixture();
  test('create_folder_v2 → {metadata}; exists → 409 path/conflict/folder; autorename', async () => {
    const r = await ctx.c.rpc('files/create_folder_v2', { path: '/Clients/ACME', autorename: false });
    assert.equal(r.status, 200);
    assert.deepEqual(Object.keys(r.body.metadata).sort(), ['id', 'name', 'path_display', 'path_lower']);
    assert.equal(r.body.metadata.path_lower, '/clients/acme');
    const again = await ctx.c.rpc('files/create_folder_v2', { path: '/clients/acme' });
    assert.equal(again.status, 409);
    assert.deepEqual(again.body, { error_summary: 'path/conflict/folder/..', error: { '.tag': 'path', path: { '.tag': 'conflict', conflict: { '.tag': 'folder' } } } });
    const renamed = await ctx.c.rpc('files/create_folder_v2', { path: '/Clients/ACME', autorename: true });
    assert.equal(renamed.body.metadata.name, 'ACME (1)');
  });
  test('get_metadata: folder, file, by id, not_found; root unsupported; bad JSON and content type → 400 text', async () => {
    const up = await ctx.c.upload({ path: '/Clients/ACME/contract.pdf' }, 'pdf');
    const folder = await ctx.c.rpc('files/get_metadata', { path: '/clients/acme' });
    assert.equal(folder.body['.tag'], 'folder');
    const file = await ctx.c.rpc('files/get_metadata', { path: '/CLIENTS/acme/CONTRACT.pdf' });
    assert.deepEqual(file.body, up.body);
    const byId = await ctx.c.rpc('files/get_metadata', { path: up.body.id });
    assert.equal(byId.body.rev, up.body.rev);
    const missing = await ctx.c.rpc('files/get_metadata', { path: '/nope' });
    assert.equal(missing.status, 409);
    assert.deepEqual(missing.body, { error_summary: 'path/not_found/..', error: { '.tag': 'path', path: { '.tag': 'not_found' } } });
    assert.equal((await ctx.c.rpc('files/get_metadata', { path: '' })).status, 400);
    const badJson = await answer(await fetch(`${ctx.fake.url}/2/files/get_metadata`, { method: 'POST', headers: { authorization: `Bearer ${ctx.fake.accessToken}`, 'content-type': 'application/json' }, body: '{' }));
    assert.equal(badJson.status, 400);
    assert.match(badJson.type, /^text\/plain/);
    const badType = await answer(await fetch(`${ctx.fake.url}/2/files/get_metadata`, { method: 'POST', headers: { authorization: `Bearer ${ctx.fake.accessToken}`, 'content-type': 'text/plain' }, body: '{"path":"/x"}' }));
    assert.equal(badType.status, 400);
    assert.match(badType.text, /Content-Type/);
  });
  test('users/get_current_account with a null body or none', async () => {
    const a = await ctx.c.rpc('users/get_current_account', null);
    assert.equal(a.status, 200);
    assert.match(a.body.account_id, /^dbid:/);
    const b = await answer(await fetch(`${ctx.fake.url}/2/users/get_current_account`, { method: 'POST', headers: { authorization: `Bearer ${ctx.fake.accessToken}` } }));
    assert.equal(b.status, 200);
  });
});

describe('dropbox fake: shared links', () => {
  const ctx = fixture();
  test('create → SharedLinkMetadata; again → 409 shared_link_already_exists with metadata; with settings → without', async () => {
    const up = await ctx.c.upload({ path: '/share/me.pdf' }, 'x');
    const r = await ctx.c.rpc('sharing/create_shared_link_with_settings', { path: '/share/me.pdf', settings: { audience: { '.tag': 'public' }, access: { '.tag': 'viewer' }, allow_download: true } });
    assert.equal(r.status, 200);
    assert.equal(r.body['.tag'], 'file');
    assert.match(r.body.url, /^http:\/\/127\.0\.0\.1:\d+\/sandbox\/s\//, "the sandbox's links open in the sandbox");
    assert.equal(r.body.id, up.body.id);
    assert.equal(r.body.path_lower, '/share/me.pdf');
    assert.equal(r.body.rev, up.body.rev);
    assert.equal(r.body.link_permissions.can_revoke, true);
    assert.equal(ctx.fake.state.sharedLinks.get('/share/me.pdf')!.url, r.body.url);
    const again = await ctx.c.rpc('sharing/create_shared_link_with_settings', { path: '/SHARE/me.pdf' });
    assert.equal(again.status, 409);
    assert.equal(again.body.error['.tag'], 'shared_link_already_exists');
    assert.equal(again.body.error.shared_link_already_exists['.tag'], 'metadata');
    assert.equal(again.body.error.shared_link_already_exists.metadata.url, r.body.url);
    const withSettings = await ctx.c.rpc('sharing/create_shared_link_with_settings', { path: '/share/me.pdf', settings: { audience: 'public' } });
    assert.deepEqual(withSettings.body.error, { '.tag': 'shared_link_already_exists' });
    const list = await ctx.c.rpc('sharing/list_shared_links', { path: '/share/me.pdf', direct_only: true });
    assert.equal(list.status, 200);
    assert.deepEqual(list.body.links.map((l: Json) => l.url), [r.body.url]);
    assert.equal(list.body.has_more, false);
  });
  test('folder links, list without direct_only includes parents; not_found; invalid settings', async () => {
    await ctx.c.upload({ path: '/share/sub/f.txt' }, 'x');
    const folder = await ctx.c.rpc('sharing/create_shared_link_with_settings', { path: '/share' });
    assert.equal(folder.body['.tag'], 'folder');
    const file = await ctx.c.rpc('sharing/create_shared_link_with_settings', { path: '/share/sub/f.txt' });
    const list = await ctx.c.rpc('sharing/list_shared_links', { path: '/share/sub/f.txt' });
    assert.deepEqual(list.body.links.map((l: Json) => l.url), [folder.body.url, file.body.url]);
    const missing = await ctx.c.rpc('sharing/create_shared_link_with_settings', { path: '/ghost.pdf' });
    assert.equal(missing.status, 409);
    assert.deepEqual(missing.body.error, { '.tag': 'path', path: { '.tag': 'not_found' } });
    await ctx.c.upload({ path: '/p.txt' }, 'x');
    const invalid = await ctx.c.rpc('sharing/create_shared_link_with_settings', { path: '/p.txt', settings: { require_password: true } });
    assert.equal(invalid.status, 409);
    assert.deepEqual(invalid.body.error, { '.tag': 'settings_error', settings_error: { '.tag': 'invalid_settings' } });
    const badAudience = await ctx.c.rpc('sharing/create_shared_link_with_settings', { path: '/p.txt', settings: { audience: 'everyone' } });
    assert.equal(badAudience.status, 400);
  });
  test('sharedLinkMetadata option: never / always', async () => {
    for (const mode of ['never', 'always'] as const) {
      const fake = await startSandboxDropbox({ sharedLinkMetadata: mode });
      try {
        const c = clientOf(fake);
        await c.upload({ path: '/f' }, 'x');
        await c.rpc('sharing/create_shared_link_with_settings', { path: '/f' });
        const r = await c.rpc('sharing/create_shared_link_with_settings', { path: '/f', settings: { audience: 'public' } });
        assert.equal(r.status, 409);
        assert.equal('shared_link_already_exists' in r.body.error, mode === 'always');
      } finally {
        await fake.close();
      }
    }
  });
});

describe('dropbox fake: auth', () => {
  const ctx = fixture({ tokenLifetimeMs: 60_000 });
  const token = async (init: { query?: Record<string, string>; form?: Record<string, string>; basic?: [string, string]; json?: boolean }) => {
    const headers: Record<string, string> = {};
    if (init.form) headers['content-type'] = 'application/x-www-form-urlencoded';
    if (init.json) headers['content-type'] = 'application/json';
    if (init.basic) headers.authorization = `Basic ${Buffer.from(init.basic.join(':')).toString('base64')}`;
    const qs = init.query ? `?${new URLSearchParams(init.query)}` : '';
    return answer(await fetch(`${ctx.fake.url}/oauth2/token${qs}`, { method: 'POST', headers, body: init.form ? new URLSearchParams(init.form).toString() : undefined }));
  };
  test('missing Authorization → 400 text; wrong token → 401 invalid_access_token JSON', async () => {
    const none = await ctx.c.rpc('files/get_metadata', { path: '/x' }, null);
    assert.equal(none.status, 400);
    assert.match(none.type, /^text\/plain/);
    const wrong = await ctx.c.rpc('files/get_metadata', { path: '/x' }, 'sl.wrong');
    assert.equal(wrong.status, 401);
    assert.equal(wrong.body.error['.tag'], 'invalid_access_token');
    assert.match(wrong.body.error_summary, /^invalid_access_token\//);
  });
  test('refresh via form body, query string (SDK style, JSON content type) and Basic auth; 14400-style expires_in', async () => {
    const { refreshToken: rt, appKey: id, appSecret: secret } = ctx.fake;
    const viaForm = await token({ form: { grant_type: 'refresh_token', refresh_token: rt, client_id: id, client_secret: secret } });
    const viaQuery = await token({ json: true, query: { grant_type: 'refresh_token', refresh_token: rt, client_id: id, client_secret: secret } });
    const viaBasic = await token({ form: { grant_type: 'refresh_token', refresh_token: rt }, basic: [id, secret] });
    for (const r of [viaForm, viaQuery, viaBasic]) {
      assert.equal(r.status, 200);
      assert.match(r.body.access_token, /^sl\./);
      assert.equal(r.body.token_type, 'bearer');
      assert.equal(r.body.expires_in, 60);
      assert.equal((await ctx.c.rpc('users/get_current_account', null, r.body.access_token)).status, 200);
    }
    const badGrant = await token({ form: { grant_type: 'refresh_token', refresh_token: 'nope', client_id: id, client_secret: secret } });
    assert.equal(badGrant.status, 400);
    assert.equal(badGrant.body.error, 'invalid_grant');
    assert.equal(typeof badGrant.body.error_description, 'string');
    const badClient = await token({ form: { grant_type: 'refresh_token', refresh_token: rt, client_id: id, client_secret: 'nope' } });
    assert.equal(badClient.body.error, 'invalid_client');
  });
  test('expireAccessTokens and the clock → 401 expired_access_token; a refreshed token works', async () => {
    assert.equal((await ctx.c.rpc('users/get_current_account', null)).status, 200);
    ctx.fake.expireAccessTokens();
    const expired = await ctx.c.rpc('users/get_current_account', null);
    assert.equal(expired.status, 401);
    assert.deepEqual(expired.body.error, { '.tag': 'expired_access_token' });
    const fresh = await token({ form: { grant_type: 'refresh_token', refresh_token: ctx.fake.refreshToken, client_id: ctx.fake.appKey, client_secret: ctx.fake.appSecret } });
    assert.equal((await ctx.c.rpc('users/get_current_account', null, fresh.body.access_token)).status, 200);
    ctx.clock.t += 60_000;
    assert.equal((await ctx.c.rpc('users/get_current_account', null, fresh.body.access_token)).body.error['.tag'], 'expired_access_token');
  });
  test('auth/token/revoke → null; the token and the refresh token stop working', async () => {
    const fresh = await token({ form: { grant_type: 'refresh_token', refresh_token: ctx.fake.refreshToken, client_id: ctx.fake.appKey, client_secret: ctx.fake.appSecret } });
    const r = await answer(await fetch(`${ctx.fake.url}/2/auth/token/revoke`, { method: 'POST', headers: { authorization: `Bearer ${fresh.body.access_token}` } }));
    assert.equal(r.status, 200);
    assert.equal(r.text, 'null');
    assert.equal((await ctx.c.rpc('users/get_current_account', null, fresh.body.access_token)).body.error['.tag'], 'invalid_access_token');
    const after = await token({ form: { grant_type: 'refresh_token', refresh_token: ctx.fake.refreshToken, client_id: ctx.fake.appKey, client_secret: ctx.fake.appSecret } });
    assert.equal(after.body.error, 'invalid_grant');
  });
});

describe('dropbox fake: faults', () => {
  const ctx = fixture();
  test('rateLimitStorm → 429 too_many_requests JSON + Retry-After, then normal', async () => {
    ctx.fake.faults.rateLimitStorm = 1;
    ctx.fake.faults.retryAfterSeconds = 3;
    const r = await ctx.c.rpc('users/get_current_account', null);
    assert.equal(r.status, 429);
    assert.equal(r.headers.get('retry-after'), '3');
    assert.deepEqual(r.body, { error_summary: 'too_many_requests/..', error: { reason: { '.tag': 'too_many_requests' }, retry_after: 3 } });
    assert.equal((await ctx.c.rpc('users/get_current_account', null)).status, 200);
  });
  test('errorRate is seeded; failNext; dropConnections; dropResponses keeps the upload', async () => {
    const statuses = async (fake: SandboxDropbox) => {
      fake.faults.errorRate = 0.3;
      fake.faults.errorStatus = 503;
      const out: number[] = [];
      for (let n = 0; n < 10; n++) out.push((await clientOf(fake).rpc('users/get_current_account', null)).status);
      fake.faults.reset();
      return out;
    };
    const other = await startSandboxDropbox();
    try {
      const a = await statuses(ctx.fake);
      assert.deepEqual(await statuses(other), a);
      assert.ok(a.includes(503) && a.includes(200));
    } finally {
      await other.close();
    }
    ctx.fake.faults.failNext(409, { error_summary: 'path/too_many_write_operations/..', error: { '.tag': 'path', reason: { '.tag': 'too_many_write_operations' } } });
    const canned = await ctx.c.upload({ path: '/z.txt' }, 'z');
    assert.equal(canned.status, 409);
    assert.equal(canned.body.error.reason['.tag'], 'too_many_write_operations');
    ctx.fake.faults.failNext(503);
    const plain = await ctx.c.upload({ path: '/z.txt' }, 'z');
    assert.equal(plain.status, 503);
    assert.match(plain.type, /^text\/plain/);
    ctx.fake.faults.dropConnections = 1;
    await assert.rejects(ctx.c.upload({ path: '/z.txt' }, 'z'));
    assert.equal(ctx.fake.state.files.has('/z.txt'), false);
    ctx.fake.faults.dropResponses = 1;
    await assert.rejects(ctx.c.upload({ path: '/z.txt' }, 'z'));
    assert.equal(ctx.fake.state.files.has('/z.txt'), true);
    const retry = await ctx.c.upload({ path: '/z.txt', mode: 'add' }, 'z');
    assert.equal(retry.status, 200, 'retrying an add with the same bytes is a no-op');
    const rec = ctx.fake.requests.filter((r) => r.path === '/2/files/upload').at(-1)!;
    assert.equal(rec.host, 'content');
    assert.deepEqual(rec.body, { path: '/z.txt', mode: 'add' });
  });
  test('sameHost serves both on one server', async () => {
    const fake = await startSandboxDropbox({ sameHost: true });
    try {
      assert.equal(fake.contentUrl, fake.url);
      assert.equal((await clientOf(fake).upload({ path: '/s' }, 's')).status, 200);
    } finally {
      await fake.close();
    }
  });
});
