import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type ServerResponse, type Server } from 'node:http';
import { gzipSync } from 'node:zlib';
import type { AddressInfo } from 'node:net';
import { EventEmitter } from 'node:events';
import { httpCall, safeUrl, MAX_BODY_BYTES } from './http.js';
import { failureOf } from '../../../test/support/connection-context.js';

type Handler = (req: IncomingMessage, body: string, res: ServerResponse) => void;
const routes = new Map<string, Handler>();
let server: Server;
let base: string;

before(async () => {
  server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const handler = routes.get(new URL(req.url!, 'http://x').pathname);
      if (handler) handler(req, Buffer.concat(chunks).toString('utf8'), res);
      else res.writeHead(404).end('no route');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

after(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});


test('returns status, lower-cased headers, parsed JSON and a duration', async () => {
  routes.set('/json', (_req, _body, res) => res.writeHead(201, { 'Content-Type': 'application/json; charset=utf-8', 'X-Thing': 'a' }).end('{"ok":true}'));
  const res = await httpCall({ method: 'GET', url: `${base}/json` });
  assert.equal(res.status, 201);
  assert.equal(res.headers['x-thing'], 'a');
  assert.deepEqual(res.body, { ok: true });
  assert.equal(res.truncated, false);
  assert.ok(res.durationMs >= 0);
});

test('JSON content types with a suffix are parsed; bad JSON and other types stay text', async () => {
  routes.set('/problem', (_req, _body, res) => res.writeHead(400, { 'content-type': 'application/problem+json' }).end('{"title":"bad"}'));
  routes.set('/badjson', (_req, _body, res) => res.writeHead(200, { 'content-type': 'application/json' }).end('{nope'));
  routes.set('/text', (_req, _body, res) => res.writeHead(200, { 'content-type': 'text/plain' }).end('{"a":1}'));
  routes.set('/empty', (_req, _body, res) => res.writeHead(204).end());
  assert.deepEqual((await httpCall({ method: 'GET', url: `${base}/problem` })).body, { title: 'bad' });
  assert.equal((await httpCall({ method: 'GET', url: `${base}/badjson` })).body, '{nope');
  assert.equal((await httpCall({ method: 'GET', url: `${base}/text` })).body, '{"a":1}');
  assert.equal((await httpCall({ method: 'DELETE', url: `${base}/empty` })).body, '');
});

test('encodes bodies: objects as JSON, strings as text, given content-type wins', async () => {
  const seen: Array<[string | undefined, string]> = [];
  routes.set('/echo', (req, body, res) => {
    seen.push([req.headers['content-type'], body]);
    res.writeHead(200).end();
  });
  await httpCall({ method: 'POST', url: `${base}/echo`, body: { a: [1, 'é'] } });
  await httpCall({ method: 'PUT', url: `${base}/echo`, body: 'hello' });
  await httpCall({ method: 'PATCH', url: `${base}/echo`, body: '<x/>', headers: { 'Content-Type': 'application/xml' } });
  await httpCall({ method: 'POST', url: `${base}/echo`, body: null });
  assert.deepEqual(seen, [
    ['application/json', '{"a":[1,"é"]}'],
    ['text/plain; charset=utf-8', 'hello'],
    ['application/xml', '<x/>'],
    ['application/json', 'null'],
  ]);
});

test('caps the body at 1 MiB and cancels the rest (the server sees its response closed)', async () => {
  let closed: Promise<void> = Promise.resolve();
  routes.set('/endless', (_req, _body, res) => {
    closed = new Promise((resolve) => res.on('close', () => resolve()));
    res.writeHead(200, { 'content-type': 'application/json' });
    const chunk = Buffer.alloc(64 * 1024, 'a');
    const pump = () => {
      while (!res.destroyed && res.write(chunk));
      if (!res.destroyed) res.once('drain', pump);
    };
    pump();
  });
  const res = await httpCall({ method: 'GET', url: `${base}/endless` });
  assert.equal(res.truncated, true);
  assert.equal(typeof res.body, 'string');
  assert.equal((res.body as string).length, MAX_BODY_BYTES);
  await closed;
});

test('a body just under the cap with a content-length is read whole; gzip is decoded', async () => {
  const text = 'b'.repeat(1000);
  routes.set('/gz', (_req, _body, res) => res.writeHead(200, { 'content-encoding': 'gzip', 'content-type': 'text/plain' }).end(gzipSync(text)));
  const res = await httpCall({ method: 'GET', url: `${base}/gz` });
  assert.equal(res.body, text);
  const small = await httpCall({ method: 'GET', url: `${base}/gz`, maxBodyBytes: 10 });
  assert.equal(small.truncated, true);
  assert.equal(small.body, 'b'.repeat(10));
});

test('HEAD reads no body', async () => {
  routes.set('/head', (_req, _body, res) => res.writeHead(200, { 'content-type': 'text/plain', 'content-length': '5' }).end());
  const res = await httpCall({ method: 'HEAD', url: `${base}/head` });
  assert.equal(res.status, 200);
  assert.equal(res.body, '');
});

test('connection refused is a retryable NETWORK_ERROR naming the cause', async () => {
  const closedServer = createServer();
  await new Promise<void>((resolve) => closedServer.listen(0, '127.0.0.1', resolve));
  const port = (closedServer.address() as AddressInfo).port;
  await new Promise((resolve) => closedServer.close(resolve));
  const f = await failureOf(httpCall({ method: 'GET', url: `http://127.0.0.1:${port}/x` }));
  assert.equal(f.code, 'NETWORK_ERROR');
  assert.equal(f.retryable, true);
  assert.deepEqual(f.details, { cause: 'ECONNREFUSED' });
});

test('a socket closed mid-response is a retryable NETWORK_ERROR', async () => {
  routes.set('/hangup', (req) => req.socket.destroy());
  const f = await failureOf(httpCall({ method: 'GET', url: `${base}/hangup` }));
  assert.equal(f.code, 'NETWORK_ERROR');
  assert.equal(f.retryable, true);
});

test('timeoutMs gives a retryable TIMEOUT, also while the body is being read', async () => {
  routes.set('/slow', () => {});
  routes.set('/slowbody', (_req, _body, res) => res.writeHead(200, { 'content-type': 'text/plain' }).write('partial'));
  const f = await failureOf(httpCall({ method: 'GET', url: `${base}/slow`, timeoutMs: 50 }));
  assert.deepEqual([f.code, f.retryable], ['TIMEOUT', true]);
  assert.match(f.message, /after 50 ms/);
  const g = await failureOf(httpCall({ method: 'GET', url: `${base}/slowbody`, timeoutMs: 100 }));
  assert.deepEqual([g.code, g.retryable], ['TIMEOUT', true]);
});

test('the step signal aborting gives ABORTED, or TIMEOUT when its reason is a TimeoutError', async () => {
  routes.set('/slow', () => {});
  const c = new AbortController();
  // Aborted while the request waits for its answer: when the server has it.
  routes.set('/held', () => c.abort(new Error('worker shutting down')));
  const f = await failureOf(httpCall({ method: 'GET', url: `${base}/held`, signal: c.signal, timeoutMs: 5000 }));
  assert.deepEqual([f.code, f.retryable], ['ABORTED', true]);
  assert.match(f.message, /worker shutting down/);

  const t = await failureOf(httpCall({ method: 'GET', url: `${base}/slow`, signal: AbortSignal.timeout(30) }));
  assert.deepEqual([t.code, t.retryable], ['TIMEOUT', true]);

  const already = new AbortController();
  already.abort();
  assert.equal((await failureOf(httpCall({ method: 'GET', url: `${base}/json`, signal: already.signal }))).code, 'ABORTED');
});

test('the step signal does not keep a listener per call', async () => {
  routes.set('/ok', (_req, _body, res) => res.writeHead(200).end('ok'));
  const c = new AbortController();
  for (let i = 0; i < 20; i++) await httpCall({ method: 'GET', url: `${base}/ok`, signal: c.signal, timeoutMs: i % 2 ? 1000 : undefined });
  assert.equal(EventEmitter.getEventListeners(c.signal, 'abort').length, 0);
});

test('a redirect to a scheme other than http(s) is a non-retryable HTTP_REDIRECT_REFUSED; http redirects are still followed, relative ones too', async () => {
  for (const location of ['file:///etc/passwd', 'gopher://127.0.0.1:70/_x', 'data:text/plain,hi', 'FTP://127.0.0.1/x']) {
    routes.set('/hop-away', (_req, _body, res) => res.writeHead(302, { location }).end());
    const f = await failureOf(httpCall({ method: 'GET', url: `${base}/hop-away` }));
    assert.deepEqual([f.code, f.retryable], ['HTTP_REDIRECT_REFUSED', false], location);
    assert.deepEqual(f.details, { scheme: location.split(':')[0]!.toLowerCase() });
    assert.match(f.message, /redirected to a [a-z]+: URL; only http and https/);
  }
  routes.set('/hop-home', (_req, _body, res) => res.writeHead(301, { location: `${base}/landing` }).end());
  routes.set('/hop-relative', (_req, _body, res) => res.writeHead(307, { location: '/landing' }).end());
  routes.set('/landing', (_req, _body, res) => res.writeHead(200).end('landed'));
  assert.equal((await httpCall({ method: 'GET', url: `${base}/hop-home` })).body, 'landed');
  assert.equal((await httpCall({ method: 'GET', url: `${base}/hop-relative` })).body, 'landed');
  // Not following: the 3xx is the answer, whatever its Location.
  routes.set('/hop-away', (_req, _body, res) => res.writeHead(302, { location: 'file:///etc/passwd' }).end());
  assert.equal((await httpCall({ method: 'GET', url: `${base}/hop-away`, followRedirects: false })).status, 302);
});

test('safeUrl drops credentials and query', () => {
  assert.equal(safeUrl('https://u:p@example.com:8443/a/b?token=x#f'), 'https://example.com:8443/a/b');
  assert.equal(safeUrl('nope'), '(invalid URL)');
});
