/**
 * The provider the e2e benchmark's process calls: a node:http server in its own process (so it does
 * not share an event loop with the load generator). It answers 200 at once and records, per hit, the
 * order id and send time from the body, the Idempotency-Key and the arrival time. Talks to the parent
 * over IPC: {type:'ready', port} on start; 'reset' clears the record; 'report' sends it back.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';

/** [order id, idempotency key, arrival (ms since the epoch, sub-ms), sent (from the body)] */
export type MockHit = [id: string, key: string, arrivedAt: number, sentAt: number];

const delayMs = Number(process.env.MOCK_DELAY_MS ?? 0);
let hits: MockHit[] = [];
const now = () => performance.timeOrigin + performance.now();

const server = createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    const arrivedAt = now();
    let id = '?';
    let sentAt = NaN;
    try {
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { id?: string; sent?: number };
      id = String(body.id);
      sentAt = Number(body.sent);
    } catch {
      // recorded with id '?'
    }
    hits.push([id, String(req.headers['idempotency-key'] ?? ''), arrivedAt, sentAt]);
    const send = () => res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}');
    if (delayMs > 0) setTimeout(send, delayMs);
    else send();
  });
});
server.keepAliveTimeout = 60_000;
server.listen(0, '127.0.0.1', () => process.send!({ type: 'ready', port: (server.address() as AddressInfo).port }));

process.on('message', (m: { type: string }) => {
  if (m.type === 'reset') {
    hits = [];
    process.send!({ type: 'reset' });
  } else if (m.type === 'count') {
    process.send!({ type: 'count', n: hits.length });
  } else if (m.type === 'report') {
    process.send!({ type: 'report', hits, cpu: process.cpuUsage() });
  } else if (m.type === 'exit') {
    server.closeAllConnections();
    server.close(() => process.exit(0));
  }
});
process.on('disconnect', () => process.exit(0));
