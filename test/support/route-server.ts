/**
 * A loopback HTTP server for connector unit tests: a handler per path (set by the test), 404 with a
 * JSON message for any other, and every request seen (method, path, headers, body) recorded in order.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface SeenRequest {
  method: string;
  path: string;
  headers: IncomingMessage['headers'];
  body: string;
}

export type RouteHandler = (seen: SeenRequest, res: ServerResponse, req: IncomingMessage) => void;

export interface RouteServer {
  url: string;
  /** Handlers by path (without the query). */
  routes: Map<string, RouteHandler>;
  /** Every request, oldest first. */
  seen: SeenRequest[];
  close(): Promise<void>;
}

export async function startRouteServer(): Promise<RouteServer> {
  const routes = new Map<string, RouteHandler>();
  const seen: SeenRequest[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const path = new URL(req.url!, 'http://x').pathname;
      const s: SeenRequest = { method: req.method!, path, headers: req.headers, body: Buffer.concat(chunks).toString('utf8') };
      seen.push(s);
      const handler = routes.get(path);
      if (handler) handler(s, res, req);
      else res.writeHead(404, { 'content-type': 'application/json' }).end('{"message":"no such route"}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    routes,
    seen,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
