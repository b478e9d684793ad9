import { test, before, after, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import { startFakeDropbox, type FakeDropbox } from '../../../test/fakes/dropbox.js';
import { connectionContext, failureOf, taskContext, type TestConnectionContext } from '../../../test/support/connection-context.js';
import { dropboxUpload, DropboxUploadInputSchema, encodeContent, toCsv, type DropboxUploadInput, type DropboxUploadOutput } from './upload.js';

let box: FakeDropbox;
let cc: TestConnectionContext;

before(async () => {
  box = await startFakeDropbox();
});
after(() => box.close());
beforeEach(() => {
  box.faults.reset();
  box.state.files.clear();
  box.state.folders.clear();
  box.state.sharedLinks.clear();
  box.requests.length = 0;
  cc = connectionContext({ key: 'dropbox_main', provider: 'dropbox', config: { baseUrl: box.url, contentUrl: box.contentUrl }, secrets: { accessToken: box.accessToken } });
});

async function upload(input: Partial<DropboxUploadInput>, entityId = 'ent_1'): Promise<DropboxUploadOutput> {
  cc.runEntityId = entityId;
  const full = { path: '/orders/ORD-1.json', content: { n: 1 }, mode: 'add', ...input } as DropboxUploadInput;
  return (await dropboxUpload.run(full, taskContext(cc, { id: entityId }))) as DropboxUploadOutput;
}

const fileAt = (path: string) => box.state.files.get(path.toLowerCase());
const routes = () => box.requests.map((r) => r.path.replace(/^\/2\//, ''));

test('add: writes the bytes to the content host with Dropbox-API-Arg, keeps the link, outputs the metadata', async () => {
  const out = await upload({ content: { order: 'ORD-1', total: 120 } });
  const file = fileAt('/orders/ORD-1.json')!;
  assert.equal(file.content.toString('utf8'), '{\n  "order": "ORD-1",\n  "total": 120\n}');
  assert.deepEqual(out, { id: file.id, path: '/orders/ORD-1.json', rev: file.rev, size: file.size, contentHash: file.content_hash, sharedUrl: null });
  const req = box.requests[0]!;
  assert.equal(req.host, 'content');
  assert.equal(req.headers['content-type'], 'application/octet-stream');
  assert.equal(req.headers.authorization, `Bearer ${box.accessToken}`);
  assert.deepEqual(req.body, { path: '/orders/ORD-1.json', mode: 'add', autorename: false, mute: false, strict_conflict: false });
  assert.deepEqual(cc.linkStore.get('ent_1|file'), { entityId: 'ent_1', connection: 'dropbox_main', provider: 'dropbox', externalType: 'file', externalId: file.id, url: null });
  assert.equal(cc.acquired, 1);
});

test('add repeated with the same bytes is a no-op; different bytes are a non-retryable DROPBOX_CONFLICT', async () => {
  const first = await upload({ content: 'hello' });
  cc.linkStore.clear(); // as after a crash before the link was kept
  const again = await upload({ content: 'hello' });
  assert.deepEqual(again, first);
  assert.equal(cc.linkStore.get('ent_1|file')?.externalId, first.id);
  const f = await failureOf(upload({ content: 'changed' }));
  assert.deepEqual([f.code, f.retryable], ['DROPBOX_CONFLICT', false]);
  assert.match(f.message, /a different file already exists at \/orders\/ORD-1\.json; use mode overwrite or update/);
  assert.deepEqual((f.details as { tags: string[] }).tags, ['path', 'conflict', 'file']);
  assert.equal(fileAt('/orders/ORD-1.json')!.content.toString(), 'hello');
});

test('a folder in the way is a DROPBOX_CONFLICT that says so', async () => {
  await upload({ path: '/orders/ORD-1.json/inner.txt', content: 'x' });
  const f = await failureOf(upload({ path: '/orders/ORD-1.json', content: 'y', mode: 'overwrite' }));
  assert.deepEqual([f.code, f.retryable], ['DROPBOX_CONFLICT', false]);
  assert.match(f.message, /a folder already exists at \/orders\/ORD-1\.json/);
});

test('overwrite replaces whatever is there; the file keeps its id', async () => {
  const first = await upload({ content: 'one', mode: 'overwrite' });
  const second = await upload({ content: 'two', mode: 'overwrite' });
  assert.equal(second.id, first.id);
  assert.notEqual(second.rev, first.rev);
  assert.equal(fileAt('/orders/ORD-1.json')!.content.toString(), 'two');
  assert.deepEqual((box.requests[1]!.body as { mode: unknown }).mode, { '.tag': 'overwrite' });
});

test('update: adds the first time, then replaces the linked file at its current rev', async () => {
  const first = await upload({ content: 'one', mode: 'update' });
  assert.deepEqual(routes(), ['files/upload']);
  assert.equal((box.requests[0]!.body as { mode: unknown }).mode, 'add');
  const second = await upload({ content: 'two', mode: 'update' });
  assert.deepEqual(routes(), ['files/upload', 'files/get_metadata', 'files/upload']);
  assert.deepEqual(box.requests[1]!.body, { path: first.id });
  assert.deepEqual((box.requests[2]!.body as { mode: unknown }).mode, { '.tag': 'update', update: first.rev });
  assert.equal(second.id, first.id);
  assert.equal(fileAt('/orders/ORD-1.json')!.content.toString(), 'two');
});

test('update: a different file at the path is a conflict that explains itself; a deleted linked file is added again', async () => {
  await upload({ path: '/a.txt', content: 'mine', mode: 'update' });
  await upload({ path: '/b.txt', content: 'someone else’s' }, 'ent_2');
  const f = await failureOf(upload({ path: '/b.txt', content: 'mine v2', mode: 'update' }));
  assert.deepEqual([f.code, f.retryable], ['DROPBOX_CONFLICT', false]);
  assert.match(f.message, /the file at \/b\.txt is not the one this entity uploaded/);
  assert.equal(fileAt('/b.txt')!.content.toString(), 'someone else’s');

  box.state.files.delete('/a.txt');
  const again = await upload({ path: '/a.txt', content: 'mine again', mode: 'update' });
  assert.equal(fileAt('/a.txt')!.content.toString(), 'mine again');
  assert.equal(cc.linkStore.get('ent_1|file')?.externalId, again.id);
});

test('linkType keeps one link per upload task of an entity', async () => {
  const receipt = await upload({ path: '/r.json', mode: 'update', linkType: 'receipt' });
  const lines = await upload({ path: '/l.csv', content: [{ a: 1 }], format: 'csv', mode: 'update', linkType: 'lines' });
  assert.equal(cc.linkStore.get('ent_1|receipt')?.externalId, receipt.id);
  assert.equal(cc.linkStore.get('ent_1|lines')?.externalId, lines.id);
  await upload({ path: '/r.json', content: { n: 2 }, mode: 'update', linkType: 'receipt' });
  assert.equal(fileAt('/r.json')!.content.toString(), '{\n  "n": 2\n}');
});

test('non-ASCII paths: every non-ASCII character of Dropbox-API-Arg is escaped as \\uXXXX', async () => {
  const path = '/Bestellungen/Müller – 東京 😀.txt';
  const out = await upload({ path, content: 'x' });
  assert.equal(out.path, path);
  const raw = box.requests[0]!.headers['dropbox-api-arg'] as string;
  assert.doesNotMatch(raw, /[^\x20-\x7e]/);
  assert.match(raw, /M\\u00fcller \\u2013 \\u6771\\u4eac \\ud83d\\ude00\.txt/);
  assert.equal(JSON.parse(raw).path, path);
});

test('CSV from an array of objects (RFC 4180), text as is, JSON pretty-printed', async () => {
  const rows = [
    { sku: 'A-1', name: 'Plain', qty: 2 },
    { sku: 'B-2', name: 'Has, comma', qty: 1, note: 'He said "hi"' },
    { sku: 'C-3', name: 'Two\nlines', qty: null, extra: { x: 1 } },
  ];
  await upload({ path: '/lines.csv', content: rows, format: 'csv' });
  assert.equal(
    fileAt('/lines.csv')!.content.toString(),
    'sku,name,qty,note,extra\r\nA-1,Plain,2,,\r\nB-2,"Has, comma",1,"He said ""hi""",\r\nC-3,"Two\nlines",,,"{""x"":1}"\r\n',
  );
  assert.equal(encodeContent('plain text', undefined), 'plain text');
  assert.equal(encodeContent([1, 'a'], undefined), '[\n  1,\n  "a"\n]');
  assert.equal(encodeContent('{"a":1}', 'json'), '{"a":1}');
  assert.equal(encodeContent(42, 'text'), '42');
  assert.equal(encodeContent('a,b\r\n1,2\r\n', 'csv'), 'a,b\r\n1,2\r\n');
  assert.equal(toCsv([]), '');
});

test('unusable content or path: non-retryable INVALID_INPUT, nothing sent', async () => {
  const bad: Array<Partial<DropboxUploadInput>> = [
    { path: 'orders/x.json' },
    { path: '/orders/' },
    { path: 42 },
    { path: undefined },
    { content: undefined },
    { content: { a: 1 }, format: 'text' },
    { content: 'not json', format: 'json' },
    { content: [1, 2], format: 'csv' },
    { content: { a: 1 }, format: 'csv' },
  ];
  for (const input of bad) {
    const f = await failureOf(upload(input));
    assert.deepEqual([f.code, f.retryable], ['INVALID_INPUT', false], JSON.stringify(input));
  }
  assert.equal(box.requests.length, 0);
});

test('sharedLink: creates a link; a repeat reuses the existing one from the 409 metadata', async () => {
  const first = await upload({ sharedLink: true });
  assert.match(first.sharedUrl!, /^http:\/\/127\.0\.0\.1:\d+\/sandbox\/s\//);
  assert.deepEqual(routes(), ['files/upload', 'sharing/create_shared_link_with_settings']);
  assert.deepEqual(box.requests[1]!.body, { path: '/orders/ord-1.json' });
  assert.equal(cc.linkStore.get('ent_1|file')?.url, first.sharedUrl);
  const again = await upload({ sharedLink: true });
  assert.equal(again.sharedUrl, first.sharedUrl);
  assert.deepEqual(routes().slice(2), ['files/upload', 'sharing/create_shared_link_with_settings']);
  // Without sharedLink, the URL kept for this same file stays on the link.
  const plain = await upload({});
  assert.equal(plain.sharedUrl, null);
  assert.equal(cc.linkStore.get('ent_1|file')?.url, first.sharedUrl);
});

test('sharedLink: shared_link_already_exists without metadata falls back to list_shared_links {direct_only}', async () => {
  const other = await startFakeDropbox({ sharedLinkMetadata: 'never' });
  try {
    cc = connectionContext({ key: 'dropbox_main', provider: 'dropbox', config: { baseUrl: other.url, contentUrl: other.contentUrl }, secrets: { accessToken: other.accessToken } });
    const first = await upload({ sharedLink: true });
    const again = await upload({ sharedLink: true });
    assert.equal(again.sharedUrl, first.sharedUrl);
    assert.deepEqual(other.requests.map((r) => r.path.replace(/^\/2\//, '')).slice(2), ['files/upload', 'sharing/create_shared_link_with_settings', 'sharing/list_shared_links']);
    assert.deepEqual(other.requests[4]!.body, { path: '/orders/ord-1.json', direct_only: true });
  } finally {
    await other.close();
  }
});

test('429: retryable DROPBOX_RATE_LIMIT with retry_after, and the limiter backs off', async () => {
  box.faults.retryAfterSeconds = 7;
  box.faults.rateLimitStorm = 1;
  const f = await failureOf(upload({}));
  assert.deepEqual([f.code, f.retryable, f.retryAfterMs], ['DROPBOX_RATE_LIMIT', true, 7000]);
  assert.deepEqual(cc.backOffs, [7000]);
});

test('400 plain text is DROPBOX_BAD_REQUEST with the text; 5xx is retryable; a bad token names the connection', async () => {
  box.faults.failNext(400, 'Error in call to API function "files/upload": HTTP header "Dropbox-API-Arg": mode: unknown tag');
  const f = await failureOf(upload({}));
  assert.deepEqual([f.code, f.retryable], ['DROPBOX_BAD_REQUEST', false]);
  assert.match(f.message, /HTTP header "Dropbox-API-Arg": mode: unknown tag/);

  box.faults.failNext(503);
  const g = await failureOf(upload({}));
  assert.deepEqual([g.code, g.retryable], ['DROPBOX_SERVER_ERROR', true]);

  cc = connectionContext({ key: 'dropbox_main', provider: 'dropbox', config: { baseUrl: box.url, contentUrl: box.contentUrl }, secrets: { accessToken: 'sl.nope' } });
  const h = await failureOf(upload({}));
  assert.deepEqual([h.code, h.retryable], ['DROPBOX_AUTHENTICATION', false]);
  assert.match(h.message, /connection "dropbox_main"/);
});

test('the input schema', () => {
  const ok = (i: unknown) => DropboxUploadInputSchema.safeParse(i).success;
  assert.equal(ok({ path: "'/orders/' & order_number & '.json'", content: '$string(entity)', mode: 'overwrite' }), true);
  assert.equal(ok({ path: "'/x.csv'", content: 'lines', format: 'csv', mode: 'update', sharedLink: true, linkType: 'lines' }), true);
  assert.equal(ok({ path: "'/x'", content: 'a' }), false, 'mode is required');
  assert.equal(ok({ path: "'/x'", content: 'a', mode: 'append' }), false);
  assert.equal(ok({ path: "'/x'", content: 'a', mode: 'add', format: 'xml' }), false);
  assert.deepEqual(dropboxUpload.expressionFields, ['path', 'content']);
  assert.deepEqual(dropboxUpload.connection, { required: true, providers: ['dropbox'] });
});

test('a token Dropbox echoes back in an error never reaches the failure', async () => {
  box.faults.failNext(400, `Error in call to API function "files/upload": Invalid authorization value in HTTP header "Authorization": "Bearer ${box.accessToken}".`);
  const f = await failureOf(upload({}));
  assert.equal(f.code, 'DROPBOX_BAD_REQUEST');
  assert.ok(!JSON.stringify(f).includes(box.accessToken));
  assert.match(f.message, /\[redacted\]/);
});
