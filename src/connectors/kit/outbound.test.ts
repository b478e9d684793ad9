import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { httpCall } from './http.js';
import { DEFAULT_DENIED_NETWORKS, isDenied, parseNetworks, setDeniedNetworks } from './outbound.js';
import { failureOf } from '../../../test/support/connection-context.js';

/** A fresh server each time: a kept-alive connection from an earlier test would skip the check (it is made per connection). */
async function serve(handler: Parameters<typeof createServer>[1]): Promise<{ port: number; hits: () => number; close(): Promise<void> }> {
  let hits = 0;
  const server: Server = createServer((req, res) => {
    hits++;
    handler!(req, res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    hits: () => hits,
    close: async () => {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

describe('outbound deny list', () => {
  after(() => setDeniedNetworks(DEFAULT_DENIED_NETWORKS));

  test('the defaults deny metadata and link-local addresses, IPv4-mapped ones too, and allow loopback and private networks', () => {
    setDeniedNetworks(DEFAULT_DENIED_NETWORKS);
    for (const a of ['169.254.169.254', '169.254.0.1', '100.100.100.200', '0.0.0.0', 'fe80::1', 'fd00:ec2::254', '::ffff:169.254.169.254']) assert.ok(isDenied(a), a);
    for (const a of ['127.0.0.1', '::1', '10.1.2.3', '192.168.1.1', '172.16.0.1', '8.8.8.8', '100.100.100.201']) assert.ok(!isDenied(a), a);
  });

  test('entries must be networks; the message names the one at fault', () => {
    assert.ok(parseNetworks(['10.0.0.0/8', '::1', '127.0.0.1']));
    for (const bad of ['10.0.0.0/33', 'fe80::/129', 'example.com/8', '10.0.0.0/', '10.0.0.0/8x', '']) {
      assert.throws(() => parseNetworks([bad]), (err: Error) => err.message.includes(`"${bad}"`), bad);
    }
  });

  test('an IP in the URL: HTTP_ADDRESS_DENIED at once, not retryable, nothing sent', async () => {
    setDeniedNetworks(DEFAULT_DENIED_NETWORKS);
    const started = Date.now();
    const f = await failureOf(httpCall({ method: 'GET', url: 'http://169.254.169.254/latest/meta-data/', timeoutMs: 5000 }));
    assert.equal(f.code, 'HTTP_ADDRESS_DENIED');
    assert.equal(f.retryable, false);
    assert.match(f.message, /169\.254\.169\.254.*denied.*STATUSFLOW_HTTP_DENY/);
    assert.ok(Date.now() - started < 1000, 'refused before any connection attempt');
  });

  test('a name that resolves to a denied address is refused, and so is the address itself', async () => {
    const target = await serve((_req, res) => res.end('ok'));
    try {
      setDeniedNetworks(['127.0.0.0/8', '::1/128']);
      const byName = await failureOf(httpCall({ method: 'GET', url: `http://localhost:${target.port}/` }));
      assert.equal(byName.code, 'HTTP_ADDRESS_DENIED');
      assert.match(byName.message, /localhost resolves to/);
      assert.deepEqual(Object.keys(byName.details as object).sort(), ['address', 'host']);
      const byIp = await failureOf(httpCall({ method: 'GET', url: `http://127.0.0.1:${target.port}/` }));
      assert.equal(byIp.code, 'HTTP_ADDRESS_DENIED');
      assert.equal(target.hits(), 0);

      setDeniedNetworks([]); // `none`: the same call goes through
      const ok = await httpCall({ method: 'GET', url: `http://127.0.0.1:${target.port}/` });
      assert.equal(ok.status, 200);
      assert.equal(target.hits(), 1);
    } finally {
      await target.close();
    }
  });

  test('a redirect to a denied address is refused', async () => {
    const target = await serve((_req, res) => res.writeHead(302, { location: `http://127.0.0.2:${9}/steal` }).end());
    try {
      setDeniedNetworks(['127.0.0.2/32']);
      const f = await failureOf(httpCall({ method: 'GET', url: `http://127.0.0.1:${target.port}/` }));
      assert.equal(f.code, 'HTTP_ADDRESS_DENIED');
      assert.equal(target.hits(), 1, 'the first hop was allowed');
    } finally {
      await target.close();
    }
  });
});
