/** A local HTTP server that process tasks call: scripted answers, and a record of every hit. */
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

/** Polls until `check` returns a truthy value (or fails after `ms`). */
export async function eventually<T>(check: () => Promise<T | undefined | false> | T | undefined | false, ms = 10_000, what = 'condition'): Promise<T> {
  const until = Date.now() + ms;
  for (;;) {
    const v = await check();
    if (v) return v;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}
