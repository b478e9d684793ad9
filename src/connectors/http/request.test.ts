import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { httpRequest, HttpRequestInputSchema, type HttpRequestInput, type HttpRequestOutput } from './request.js';
import type { ConnectionContext, TaskContext } from '../types.js';
import { failureOf, taskContext } from '../../../test/support/connection-context.js';
import { startRouteServer, type RouteServer, type SeenRequest } from '../../../test/support/route-server.js';

let server: RouteServer;
let base: string;
let routes: RouteServer['routes'];
let seen: SeenRequest[];

before(async () => {
  server = await startRouteServer();
  ({ url: base, routes, seen } = server);
  routes.set('/ok', (_s, res) => res.writeHead(200, { 'content-type': 'application/json', 'x-request-id': 'abc' }).end('{"id":7}'));
  routes.set('/created', (_s, res) => res.writeHead(201).end());
  routes.set('/never', () => {});
});

after(() => server.close());

const context = (signal?: AbortSignal): TaskContext => taskContext(undefined, { status: 'new' }, signal, 'notify');

async function run(input: HttpRequestInput, ctx = context()): Promise<HttpRequestOutput> {
  return (await httpRequest.run(input, ctx)) as HttpRequestOutput;
}


const last = () => seen[seen.length - 1]!;

test('GET by default: output shape, Idempotency-Key and User-Agent sent', async () => {
  const out = await run({ url: `${base}/ok` });
  assert.deepEqual(out, { status: 200, headers: out.headers, body: { id: 7 } });
  assert.equal(out.headers['x-request-id'], 'abc');
  assert.equal(last().method, 'GET');
  assert.equal(last().headers['idempotency-key'], 'run_1:notify');
  assert.equal(last().headers['user-agent'], 'statusflow');
});

test('a body makes it a POST; objects go as JSON, strings as text', async () => {
  await run({ url: `${base}/ok`, body: { name: 'Ada', n: [1, 2] } });
  assert.equal(last().method, 'POST');
  assert.equal(last().headers['content-type'], 'application/json');
  assert.deepEqual(JSON.parse(last().body), { name: 'Ada', n: [1, 2] });
  await run({ method: 'PUT', url: `${base}/ok`, body: 'plain words' });
  assert.equal(last().method, 'PUT');
  assert.equal(last().headers['content-type'], 'text/plain; charset=utf-8');
  assert.equal(last().body, 'plain words');
});

test('user headers are sent; they may override Idempotency-Key, and a header that evaluates to nothing is left out', async () => {
  await run({ url: `${base}/ok`, headers: { Authorization: 'Bearer t', 'IDEMPOTENCY-KEY': 'mine', 'X-Count': 3, 'X-Gone': undefined } });
  assert.equal(last().headers.authorization, 'Bearer t');
  assert.equal(last().headers['idempotency-key'], 'mine');
  assert.equal(last().headers['x-count'], '3');
  assert.equal('x-gone' in last().headers, false);
});

test('503 is a retryable HTTP_STATUS_503 honouring Retry-After', async () => {
  routes.set('/busy', (_s, res) => res.writeHead(503, { 'retry-after': '7' }).end('busy'));
  const f = await failureOf(run({ url: `${base}/busy` }));
  assert.deepEqual([f.code, f.retryable, f.retryAfterMs], ['HTTP_STATUS_503', true, 7000]);
});

test('429 with Retry-After: 1 is a retryable HTTP_429 with retryAfterMs 1000', async () => {
  routes.set('/limited', (_s, res) => res.writeHead(429, { 'retry-after': '1' }).end());
  const f = await failureOf(run({ url: `${base}/limited`, body: {} }));
  assert.deepEqual([f.code, f.retryable, f.retryAfterMs], ['HTTP_429', true, 1000]);
});

test('400 is non-retryable and carries the server’s message and body', async () => {
  routes.set('/bad', (_s, res) => res.writeHead(400, { 'content-type': 'application/json' }).end('{"error":{"message":"email is required"}}'));
  const f = await failureOf(run({ url: `${base}/bad?secret=x`, body: {} }));
  assert.equal(f.code, 'HTTP_STATUS_400');
  assert.equal(f.retryable, false);
  assert.match(f.message, /^POST http:\/\/127\.0\.0\.1:\d+\/bad answered 400: email is required$/);
  assert.deepEqual(f.details, { status: 400, body: { error: { message: 'email is required' } } });
});

test('connection refused is a retryable NETWORK_ERROR', async () => {
  const other = createServer();
  await new Promise<void>((resolve) => other.listen(0, '127.0.0.1', resolve));
  const port = (other.address() as AddressInfo).port;
  await new Promise((resolve) => other.close(resolve));
  const f = await failureOf(run({ url: `http://127.0.0.1:${port}/` }));
  assert.deepEqual([f.code, f.retryable], ['NETWORK_ERROR', true]);
});

test('the step signal ends a hanging request: TIMEOUT for a time limit, ABORTED otherwise', async () => {
  const t = await failureOf(run({ url: `${base}/never` }, context(AbortSignal.timeout(50))));
  assert.deepEqual([t.code, t.retryable], ['TIMEOUT', true]);
  const c = new AbortController();
  // Aborted while the request waits for its answer: when the server has it.
  routes.set('/held', () => c.abort());
  const a = await failureOf(run({ url: `${base}/held` }, context(c.signal)));
  assert.deepEqual([a.code, a.retryable], ['ABORTED', true]);
});

test('expectStatus: listed statuses succeed, an unlisted 2xx is HTTP_UNEXPECTED_STATUS, an unlisted error keeps its code', async () => {
  assert.equal((await run({ url: `${base}/created`, expectStatus: 201 })).status, 201);
  assert.equal((await run({ url: `${base}/missing`, expectStatus: [200, 404] })).status, 404);
  const f = await failureOf(run({ url: `${base}/ok`, expectStatus: [201, 202] }));
  assert.deepEqual([f.code, f.retryable], ['HTTP_UNEXPECTED_STATUS', false]);
  assert.match(f.message, /answered 200, expected 201 or 202/);
  const g = await failureOf(run({ url: `${base}/missing`, expectStatus: 201 }));
  assert.deepEqual([g.code, g.retryable], ['HTTP_STATUS_404', false]);
});

test('run-time input checks give non-retryable INVALID_INPUT', async () => {
  for (const input of [{ url: undefined }, { url: 42 }, { url: 'not a url' }, { url: 'ftp://example.com/x' }, { url: 'file:///etc/passwd' }] as HttpRequestInput[]) {
    const f = await failureOf(run(input));
    assert.deepEqual([f.code, f.retryable], ['INVALID_INPUT', false], JSON.stringify(input));
  }
  for (const headers of [{ 'X-A': 'a\r\nX-B: b' }, { 'X-A': { nested: 1 } }, { 'X-A': 'snowman ☃' }]) {
    const f = await failureOf(run({ url: `${base}/ok`, headers }));
    assert.deepEqual([f.code, f.retryable], ['INVALID_INPUT', false], JSON.stringify(headers));
  }
});

test('inputSchema: expressions and literals that are allowed', () => {
  for (const input of [
    { url: "'https://example.com/hooks/' & id" },
    { method: 'DELETE', url: 'url', headers: { Authorization: "'Bearer ' & token" }, expectStatus: [200, 204] },
    { url: 'url', body: '{ "id": id }' },
    { url: 'url', body: { id: 'id', fixed: 3, nested: { a: 1 } } },
    { method: 'HEAD', url: 'url', expectStatus: 200 },
  ]) {
    assert.equal(HttpRequestInputSchema.safeParse(input).success, true, JSON.stringify(input));
  }
});

test('inputSchema refuses unknown fields, bad methods, bad header names, a GET body and odd statuses', () => {
  for (const input of [
    {},
    { url: 'u', extra: 1 },
    { url: 'u', method: 'get' },
    { url: 'u', method: 'OPTIONS' },
    { url: 'u', headers: { 'Bad Header': 'x' } },
    { url: 'u', headers: { 'X-A': 5 } },
    { url: 'u', method: 'GET', body: 'x' },
    { url: 'u', expectStatus: 99 },
    { url: 'u', expectStatus: [] },
    { url: 'u', expectStatus: 200.5 },
    { url: '' },
  ]) {
    assert.equal(HttpRequestInputSchema.safeParse(input).success, false, JSON.stringify(input));
  }
});

test('the kind declares its expression fields and optional http connection', () => {
  assert.equal(httpRequest.kind, 'http.request');
  assert.deepEqual(httpRequest.expressionFields, ['url', 'path', 'headers', 'body']);
  assert.deepEqual(httpRequest.connection, { required: false, providers: ['http'] });
});

// --- through an http connection ---

interface FakeConnection extends ConnectionContext {
  calls: string[];
}

function withConnection(config: Record<string, unknown>, secrets: Record<string, unknown> = {}, signal?: AbortSignal): TaskContext & { connection: FakeConnection } {
  const calls: string[] = [];
  const seenBefore = () => seen.length;
  const connection: FakeConnection = {
    calls,
    connection: { key: 'api', provider: 'http', name: 'API', config, secrets: secrets as Record<string, string> },
    acquire: async () => void calls.push(`acquire@${seenBefore()}`),
    backOff: async (ms) => void calls.push(`backOff:${ms}`),
    memo: new Map(),
    links: { get: () => Promise.reject(new Error('not used')), put: () => Promise.reject(new Error('not used')) },
  };
  return { ...context(signal), connection };
}

test('with a connection: path is resolved under baseUrl, secret headers are sent, a slot is taken before sending', async () => {
  routes.set('/v1/orders/ORD-1', (_s, res) => res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}'));
  const ctx = withConnection({ baseUrl: `${base}/v1` }, { headers: { Authorization: 'Bearer conn-token-123', 'X-Api-Key': 'k-456789' } });
  const before = seen.length;
  const out = await run({ method: 'POST', path: '/orders/ORD-1?x=1', body: { a: 1 } }, ctx);
  assert.equal(out.status, 200);
  assert.equal(last().headers.authorization, 'Bearer conn-token-123');
  assert.equal(last().headers['x-api-key'], 'k-456789');
  assert.equal(last().headers['idempotency-key'], 'run_1:notify');
  assert.deepEqual(ctx.connection.calls, [`acquire@${before}`], 'one slot, taken before the request was sent');
  // No leading slash, and a base with a trailing slash: the same URL.
  await run({ path: 'orders/ORD-1' }, withConnection({ baseUrl: `${base}/v1/` }));
  assert.equal(seen.length, before + 2);
});

test('with a connection: the task’s own headers replace the connection’s; url must stay under baseUrl', async () => {
  const ctx = withConnection({ baseUrl: `${base}/ok` }, { headers: { Authorization: 'Bearer conn-token-123' } });
  await run({ url: `${base}/ok`, headers: { Authorization: "Basic other" } }, ctx);
  assert.equal(last().headers.authorization, 'Basic other');
  const before = seen.length;
  for (const input of [{ url: `${base}/created` }, { url: `http://example.com/ok` }] as HttpRequestInput[]) {
    const f = await failureOf(run(input, withConnection({ baseUrl: `${base}/ok` }, { headers: { Authorization: 'Bearer conn-token-123' } })));
    assert.deepEqual([f.code, f.retryable], ['INVALID_INPUT', false], JSON.stringify(input));
    assert.match(f.message, /not under the connection's baseUrl/);
  }
  assert.equal(seen.length, before, 'nothing was sent');
});

test('with a connection: a path cannot climb out of baseUrl or name another host', async () => {
  const before = seen.length;
  for (const path of ['../ok', '/a/../../ok', '%2e%2e/ok', '//example.com/x', 'http://example.com/x', 'javascript:alert(1)']) {
    const ctx = withConnection({ baseUrl: `${base}/v1` }, { headers: { Authorization: 'Bearer conn-token-123' } });
    const f = await failureOf(run({ path }, ctx));
    assert.deepEqual([f.code, f.retryable], ['INVALID_INPUT', false], path);
    assert.deepEqual(ctx.connection.calls, [], `${path}: no slot taken`);
  }
  assert.equal(seen.length, before, 'nothing was sent');
  const f = await failureOf(run({ path: '/x' }));
  assert.match(f.message, /path needs an http connection/);
  const g = await failureOf(run({ path: 42 }, withConnection({ baseUrl: base })));
  assert.deepEqual([g.code, g.retryable], ['INVALID_INPUT', false]);
});

test('with a connection: 429 + Retry-After pauses the connection’s shared limit', async () => {
  routes.set('/limited', (_s, res) => res.writeHead(429, { 'retry-after': '2' }).end());
  const ctx = withConnection({ baseUrl: base });
  const f = await failureOf(run({ path: '/limited' }, ctx));
  assert.deepEqual([f.code, f.retryAfterMs], ['HTTP_429', 2000]);
  assert.deepEqual(ctx.connection.calls.slice(1), ['backOff:2000']);
});

test('with a connection: redirects are not followed (the secret headers would go along); without one they are', async () => {
  routes.set('/hop', (_s, res) => res.writeHead(302, { location: '/ok' }).end());
  const plain = await run({ url: `${base}/hop` });
  assert.equal(plain.status, 200);
  const f = await failureOf(run({ path: '/hop' }, withConnection({ baseUrl: base }, { headers: { 'X-Api-Key': 'k-456789' } })));
  assert.deepEqual([f.code, f.retryable], ['HTTP_STATUS_302', false]);
  assert.equal((await run({ path: '/hop', expectStatus: 302 }, withConnection({ baseUrl: base }))).status, 302);
});

test('with a connection: secret values echoed back are redacted from the output and the failure', async () => {
  routes.set('/echo', (s, res) => res.writeHead(200, { 'content-type': 'application/json', 'x-seen': String(s.headers['x-api-key']) }).end(JSON.stringify({ auth: s.headers.authorization })));
  routes.set('/echo-error', (s, res) => res.writeHead(400, { 'content-type': 'application/json' }).end(JSON.stringify({ message: `bad key ${String(s.headers['x-api-key'])}` })));
  const secrets = { headers: { Authorization: 'Bearer conn-token-123', 'X-Api-Key': 'k-456789' } };
  const out = await run({ path: '/echo' }, withConnection({ baseUrl: base }, secrets));
  assert.deepEqual(out.body, { auth: '[redacted]' });
  assert.equal(out.headers['x-seen'], '[redacted]');
  const f = await failureOf(run({ path: '/echo-error' }, withConnection({ baseUrl: base }, secrets)));
  assert.equal(f.message.includes('k-456789'), false);
  assert.equal(JSON.stringify(f.details).includes('k-456789'), false);
});

test('with a connection: echoes in base64, base64url, JSON-escaped and URL-encoded form are redacted too', async () => {
  const key = 'k"9\\x/QZ-12345 e';
  const token = 'tok_4f9a1c7e5b2d4f6a8c0e1b3d5f7a9';
  routes.set('/echo-encoded', (s, res) => {
    const [auth, apiKey] = [String(s.headers.authorization), String(s.headers['x-api-key'])];
    res.writeHead(200, { 'content-type': 'application/json', 'x-echo': Buffer.from(auth).toString('base64') }).end(
      JSON.stringify({ b64: Buffer.from(`user:${token}`).toString('base64'), b64url: Buffer.from(apiKey).toString('base64url'), json: JSON.stringify({ apiKey }), url: `/x?k=${encodeURIComponent(apiKey)}` }),
    );
  });
  const secrets = { headers: { Authorization: `Bearer ${token}`, 'X-Api-Key': key } };
  const out = await run({ path: '/echo-encoded' }, withConnection({ baseUrl: base }, secrets));
  const stored = JSON.stringify(out);
  for (const part of [token.slice(0, 8), token.slice(-8), Buffer.from(token).toString('base64').slice(4, 12), 'QZ-12345', 'UVotMTIzNDU']) assert.equal(stored.includes(part), false, `${part} in ${stored}`);
  assert.equal(stored.match(/\[redacted\]/g)?.length, 5, stored);
});

test('with a connection: a secret in an error body is redacted before the body is clipped to 4,000 characters', async () => {
  const token = 'tok_4f9a1c7e5b2d4f6a8c0e1b3d5f7a9';
  // The clip falls one character before the token's end: 31 of its 32 characters would be kept.
  routes.set('/echo-long', (s, res) => res.writeHead(400, { 'content-type': 'text/plain' }).end(`${'x'.repeat(4000 - 31)}${String(s.headers['x-api-key'])} and more`));
  const f = await failureOf(run({ path: '/echo-long' }, withConnection({ baseUrl: base }, { headers: { 'X-Api-Key': token } })));
  const stored = JSON.stringify(f);
  for (let i = 0; i + 6 <= token.length; i++) assert.equal(stored.includes(token.slice(i, i + 6)), false, `${token.slice(i, i + 6)} kept`);
  assert.match((f.details as { body: string }).body, /x\[redacted\] and more$/);
});

test('with a connection of another provider or a bad config: CONNECTION_INVALID', async () => {
  const ctx = withConnection({ baseUrl: base });
  ctx.connection.connection.provider = 'hubspot';
  assert.equal((await failureOf(run({ path: '/ok' }, ctx))).code, 'CONNECTION_INVALID');
  assert.equal((await failureOf(run({ path: '/ok' }, withConnection({ baseUrl: 'nope' })))).code, 'CONNECTION_INVALID');
});

test('inputSchema: url or path, exactly one', () => {
  assert.equal(HttpRequestInputSchema.safeParse({ path: "'/orders/' & id" }).success, true);
  const neither = HttpRequestInputSchema.safeParse({ method: 'GET' });
  assert.equal(neither.success, false);
  assert.deepEqual(neither.error!.issues.map((i) => [i.path.join('.'), (i as { params?: { code?: string } }).params?.code]), [['url', 'required']]);
  const both = HttpRequestInputSchema.safeParse({ url: 'u', path: 'p' });
  assert.deepEqual(both.error!.issues.map((i) => [i.path.join('.'), (i as { params?: { code?: string } }).params?.code]), [['path', 'conflict']]);
});
