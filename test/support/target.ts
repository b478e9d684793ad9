/** Local HTTP servers that process tasks call: scripted answers with a record of every hit, or requests held until released. (Waiting helpers: wait.ts.) */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Hit {
  method: string;
  path: string;
  idempotencyKey: string | undefined;
  /** Request headers (names in lower case). */
  headers: Record<string, string | string[] | undefined>;
  body: unknown;
  at: number;
}

export interface Target {
  url: string;
  hits: Hit[];
  /** Answers in order (each after `delayMs`, if given); when exhausted, every request gets 200 {"ok": true}. */
  script(...answers: Array<{ status: number; body?: unknown; headers?: Record<string, string>; delayMs?: number }>): void;
  close(): Promise<void>;
}

export async function startTarget(): Promise<Target> {
  const hits: Hit[] = [];
  let answers: Array<{ status: number; body?: unknown; headers?: Record<string, string>; delayMs?: number }> = [];
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      let body: unknown = text;
      try {
        body = text ? JSON.parse(text) : undefined;
      } catch {
        // keep text
      }
      hits.push({ method: req.method ?? '', path: req.url ?? '', idempotencyKey: req.headers['idempotency-key'] as string | undefined, headers: { ...req.headers }, body, at: Date.now() });
      const a = answers.shift() ?? { status: 200, body: { ok: true } };
      const answer = () => {
        if (res.destroyed) return;
        res.writeHead(a.status, { 'content-type': 'application/json', ...(a.headers ?? {}) });
        res.end(JSON.stringify(a.body ?? {}));
      };
      if (a.delayMs) setTimeout(answer, a.delayMs).unref();
      else answer();
    });
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    hits,
    script: (...a) => {
      answers = a;
    },
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

/** An HTTP server that holds every request until released: keeps a step running for as long as a test needs. */
export interface HoldingServer {
  url: string;
  /** The requests held, oldest first. */
  held: ServerResponse[];
  /** Answers every held request with `status` and `{"slow": true}`. */
  release(status?: number): void;
  close(): Promise<void>;
}

export async function startHoldingServer(): Promise<HoldingServer> {
  const held: ServerResponse[] = [];
  const server = createServer((req, res) => {
    req.resume();
    held.push(res);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    held,
    release: (status = 200) => held.splice(0).forEach((res) => res.writeHead(status, { 'content-type': 'application/json' }).end('{"slow":true}')),
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}
