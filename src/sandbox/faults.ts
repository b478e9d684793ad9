/**
 * Shared pieces of the HubSpot and Dropbox fakes: fault injection (latency, 5xx, 429 storms, dropped
 * connections, canned answers) with a seeded RNG, and the node:http plumbing that records every request,
 * applies the faults and closes cleanly. See src/sandbox/README.md.
 */
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** Knobs a test turns to make a fake misbehave. All are consumed per request, in this order:
 * dropConnections → latencyMs → failNext → rateLimitStorm → errorRate → (handler) → dropResponses. */
export interface Faults {
  /** Delay before every answer, in ms. */
  latencyMs: number;
  /** Probability 0..1 that a request gets a 5xx (`errorStatus`) instead of being handled; drawn from a seeded RNG. */
  errorRate: number;
  /** Status used by `errorRate` faults (default 500). */
  errorStatus: number;
  /** The next N requests get the provider's 429 (not counted as genuine rate limiting). */
  rateLimitStorm: number;
  /** Seconds advertised in Retry-After by injected 429s where the provider sends it (default 1). */
  retryAfterSeconds: number;
  /** The next N requests: the socket is destroyed without an answer, before any processing. */
  dropConnections: number;
  /** The next N requests are processed (state changes!) and then the socket is destroyed: the lost-answer case. */
  dropResponses: number;
  /** Queue one canned answer. Without a body the provider's usual body for that status is sent. */
  failNext(status: number, body?: unknown, headers?: Record<string, string>): void;
  /**
   * Requests that arrive from now on wait (after `latencyMs`) until `resume()`, or `release(n)` lets the n
   * oldest through: tests line up what a client sends behind a call in flight without timing it.
   */
  pause(): void;
  resume(): void;
  release(n?: number): void;
  /** Requests waiting for `resume()` now. */
  readonly held: number;
  /** Back to no faults, empty failNext queue, RNG re-seeded, counters zeroed (and resumed). */
  reset(): void;
  /** How many faults of each kind were injected since the last reset. */
  readonly injected: InjectedCounts;
}

export interface InjectedCounts { latency: number; errors: number; rateLimits: number; drops: number; droppedResponses: number; failNext: number }

export type InjectedFault =
  | { kind: 'failNext'; status: number; body?: unknown; headers?: Record<string, string> }
  | { kind: 'rateLimitStorm' }
  | { kind: 'error'; status: number };

/** mulberry32: tiny seeded PRNG so that `errorRate` faults are reproducible. */
function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export class FaultController implements Faults {
  latencyMs = 0;
  errorRate = 0;
  errorStatus = 500;
  rateLimitStorm = 0;
  retryAfterSeconds = 1;
  dropConnections = 0;
  dropResponses = 0;
  injected: InjectedCounts = { latency: 0, errors: 0, rateLimits: 0, drops: 0, droppedResponses: 0, failNext: 0 };
  private queue: Array<{ status: number; body?: unknown; headers?: Record<string, string> }> = [];
  private paused = false;
  private waiting: Array<() => void> = [];
  private random: () => number;

  constructor(private readonly seed = 1) {
    this.random = seededRandom(seed);
  }

  failNext(status: number, body?: unknown, headers?: Record<string, string>): void {
    this.queue.push({ status, body, headers });
  }

  get held(): number {
    return this.waiting.length;
  }

  pause(): void {
    this.paused = true;
  }

  resume(): void {
    this.paused = false;
    this.release(Infinity);
  }

  release(n = 1): void {
    for (const go of this.waiting.splice(0, n)) go();
  }

  /** @internal Waits while paused. */
  passGate(): Promise<void> {
    if (!this.paused) return Promise.resolve();
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  reset(): void {
    this.resume();
    this.latencyMs = 0;
    this.errorRate = 0;
    this.errorStatus = 500;
    this.rateLimitStorm = 0;
    this.retryAfterSeconds = 1;
    this.dropConnections = 0;
    this.dropResponses = 0;
    this.queue = [];
    this.random = seededRandom(this.seed);
    this.injected = { latency: 0, errors: 0, rateLimits: 0, drops: 0, droppedResponses: 0, failNext: 0 };
  }

  /** @internal Consumes one drop-before-processing, if any. */
  takeDrop(): boolean {
    if (this.dropConnections <= 0) return false;
    this.dropConnections--;
    this.injected.drops++;
    return true;
  }

  /** @internal Consumes one drop-after-processing, if any. */
  takeDroppedResponse(): boolean {
    if (this.dropResponses <= 0) return false;
    this.dropResponses--;
    this.injected.droppedResponses++;
    return true;
  }

  /** @internal The fault that replaces the handler for this request, if any. */
  take(): InjectedFault | undefined {
    const canned = this.queue.shift();
    if (canned) {
      this.injected.failNext++;
      return { kind: 'failNext', ...canned };
    }
    if (this.rateLimitStorm > 0) {
      this.rateLimitStorm--;
      this.injected.rateLimits++;
      return { kind: 'rateLimitStorm' };
    }
    if (this.errorRate > 0 && this.random() < this.errorRate) {
      this.injected.errors++;
      return { kind: 'error', status: this.errorStatus };
    }
    return undefined;
  }
}

/** One request as the fake saw it. `status` is 0 while in flight and for dropped connections/answers. */
export interface RecordedRequest {
  method: string;
  /** Path without the query string. */
  path: string;
  query: Record<string, string>;
  headers: IncomingHttpHeaders;
  /** Arrival time (ms, the fake's clock). */
  at: number;
  status: number;
  /** Parsed body: JSON value, form fields as an object, or what the provider records (Dropbox uploads: the Dropbox-API-Arg). */
  body: unknown;
  /** Which server answered, when a fake has several (Dropbox: 'api' | 'content'). */
  host?: string;
  /** Set when an injected fault decided the outcome. */
  fault?: 'drop' | 'dropResponse' | InjectedFault['kind'];
}

/** What a handler answers. `json` is serialised; `text` goes out as text/plain; neither means an empty body. */
export interface Reply {
  status: number;
  headers?: Record<string, string>;
  json?: unknown;
  text?: string;
}

export interface Exchange {
  method: string;
  path: string;
  query: URLSearchParams;
  headers: IncomingHttpHeaders;
  /** Raw header lines as received (`rawHeaders` of node:http), for byte-level checks. */
  rawHeaders: string[];
  body: Buffer;
  record: RecordedRequest;
}

export interface SandboxServerOptions {
  faults: FaultController;
  requests: RecordedRequest[];
  now: () => number;
  host?: string;
  describeBody?: (x: Exchange) => unknown;
  /** Whether to keep every request in `requests` (default true; off for benchmarks that send 100,000). */
  record?: () => boolean;
  handle: (x: Exchange) => Reply | Promise<Reply>;
  renderFault: (fault: InjectedFault, x: Exchange) => Reply;
}

export interface SandboxServer {
  url: string;
  close(): Promise<void>;
}

/** Parses a body as JSON, then as a form, else returns undefined (empty) or the text. */
export function describeBody(x: Exchange): unknown {
  if (x.body.length === 0) return undefined;
  const text = x.body.toString('utf8');
  const type = String(x.headers['content-type'] ?? '');
  if (type.includes('application/x-www-form-urlencoded')) return Object.fromEntries(new URLSearchParams(text));
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

/** Starts a node:http server on 127.0.0.1, port 0, with fault injection and request recording. */
export async function startSandboxServer(options: SandboxServerOptions): Promise<SandboxServer> {
  const { faults, requests, now } = options;
  const sleeping = new Set<{ timer: NodeJS.Timeout; done: () => void }>();
  let closed = false;
  let close!: () => void;
  const closing = new Promise<void>((resolve) => (close = resolve));
  const sleep = (ms: number) =>
    new Promise<void>((resolve) => {
      const entry = { timer: setTimeout(() => { sleeping.delete(entry); resolve(); }, ms), done: resolve };
      sleeping.add(entry);
    });

  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('error', () => undefined);
    req.on('end', () => {
      void (async () => {
        const url = new URL(req.url ?? '/', 'http://fake');
        const record: RecordedRequest = {
          method: req.method ?? 'GET',
          path: url.pathname,
          query: Object.fromEntries(url.searchParams),
          headers: req.headers,
          at: now(),
          status: 0,
          body: undefined,
          ...(options.host ? { host: options.host } : {}),
        };
        const x: Exchange = { method: record.method, path: url.pathname, query: url.searchParams, headers: req.headers, rawHeaders: req.rawHeaders, body: Buffer.concat(chunks), record };
        // Parsed only to be kept: the handler parses it itself (a second parse of every 100-record batch otherwise).
        if (options.record?.() !== false) {
          record.body = (options.describeBody ?? describeBody)(x);
          requests.push(record);
        }
        if (faults.takeDrop()) {
          record.fault = 'drop';
          req.socket.destroy();
          return;
        }
        if (faults.latencyMs > 0) {
          faults.injected.latency++;
          await sleep(faults.latencyMs);
          if (closed) return;
        }
        await Promise.race([faults.passGate(), closing]);
        if (closed) return;
        let reply: Reply;
        const fault = faults.take();
        if (fault) {
          record.fault = fault.kind;
          reply = options.renderFault(fault, x);
        } else {
          try {
            reply = await options.handle(x);
          } catch (err) {
            reply = { status: 500, text: `fake server bug: ${err instanceof Error ? err.stack ?? err.message : String(err)}` };
          }
          if (faults.takeDroppedResponse()) {
            record.fault = 'dropResponse';
            req.socket.destroy();
            return;
          }
        }
        record.status = reply.status;
        send(res, reply);
      })();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        closed = true;
        close();
        for (const s of sleeping) {
          clearTimeout(s.timer);
          s.done();
        }
        sleeping.clear();
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

function send(res: import('node:http').ServerResponse, reply: Reply): void {
  const headers: Record<string, string> = { ...reply.headers };
  let payload: Buffer | undefined;
  if (reply.json !== undefined) {
    payload = Buffer.from(JSON.stringify(reply.json));
    headers['content-type'] ??= 'application/json';
  } else if (reply.text !== undefined) {
    payload = Buffer.from(reply.text);
    headers['content-type'] ??= 'text/plain; charset=utf-8';
  }
  if (payload && reply.status !== 204) headers['content-length'] = String(payload.length);
  res.writeHead(reply.status, headers);
  res.end(reply.status === 204 ? undefined : payload);
}

/** Deterministic UUID-shaped ids (correlation ids and the like): 00000000-0000-4000-8000-<counter>. */
export function sequentialUuid(): () => string {
  let n = 0;
  return () => `00000000-0000-4000-8000-${(++n).toString(16).padStart(12, '0')}`;
}
