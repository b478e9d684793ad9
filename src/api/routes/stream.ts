/**
 * GET /api/v1/stream — Server-Sent Events (API.md "Live updates"): `entity.saved`, `run.updated` and
 * `batch.updated` of the caller's organization only, a `: ping` comment every 15 s, `retry: 2000`.
 * Each stream holds one bus subscription, dropped when the client goes away or the server closes.
 */
import type { FastifyInstance } from 'fastify';
import type { ServerResponse } from 'node:http';
import type { BusEvent } from '../../engine/bus.js';
import type { Services } from '../../engine/services.js';
import { callContext } from '../auth.js';
import { systemDocs as docs } from '../schemas/system.js';

export interface StreamRouteOptions {
  /** Interval of the `: ping` keep-alive comment (default 15 s). */
  pingMs?: number;
  /** A client this far behind (bytes not yet taken by the socket) is disconnected; it reconnects. */
  maxBufferedBytes?: number;
}

/** Formats one event for the wire (`data:` is one line: JSON has no raw newlines). */
export function sseEvent(event: BusEvent): string {
  return `event: ${event.type}\ndata: ${JSON.stringify(event.data)}\n\n`;
}

export function streamRoutes(app: FastifyInstance, services: Services, options: StreamRouteOptions = {}): { openStreams(): number } {
  const pingMs = options.pingMs ?? 15_000;
  const maxBuffered = options.maxBufferedBytes ?? 4 * 1024 * 1024;
  /** Open streams and how to end each. */
  const open = new Map<ServerResponse, () => void>();

  // Before the server stops accepting and waits for connections: end the streams, or close would hang.
  app.addHook('preClose', async () => {
    for (const end of [...open.values()]) end();
  });

  app.get('/api/v1/stream', { config: { permission: 'read' }, schema: docs.stream }, (request, reply) => {
    const { orgId } = callContext(request);
    reply.hijack();
    const res = reply.raw;
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache, no-transform',
      // The socket is not reused after a stream: once it ends (client gone, server closing) it closes.
      connection: 'close',
      'x-accel-buffering': 'no',
    });
    res.write('retry: 2000\n\n');

    let ended = false;
    const write = (chunk: string) => {
      if (ended) return;
      if (res.writableLength > maxBuffered) return end();
      res.write(chunk);
    };
    const unsubscribe = services.bus.subscribe((event) => {
      if (event.orgId === orgId) write(sseEvent(event));
    });
    const ping = setInterval(() => write(': ping\n\n'), pingMs);
    ping.unref();
    function end(): void {
      if (ended) return;
      ended = true;
      clearInterval(ping);
      unsubscribe();
      open.delete(res);
      if (!res.writableEnded) res.end();
    }
    open.set(res, end);
    res.once('close', end);
    res.once('error', end);
  });

  return { openStreams: () => open.size };
}
