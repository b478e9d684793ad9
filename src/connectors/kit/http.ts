/**
 * The one HTTP call every connector uses: undici's `request` (keep-alive, redirects followed), a body
 * read capped at 1 MiB, and transport errors turned into retryable failures. It never judges the status
 * code: see failureForResponse in ./failures.ts. `request` rather than the global `fetch`: measured here
 * at ~180 µs of CPU per call against ~870 µs for fetch, which matters at a thousand calls a second.
 */
import { createBrotliDecompress, createGunzip, createInflate } from 'node:zlib';
import type { Readable } from 'node:stream';
import { Agent, interceptors, request, type Dispatcher } from 'undici';
import { causeOf, failure, TaskFailure } from '../../domain/failure.js';
import { AddressDenied, guardedConnect } from './outbound.js';
import { redact } from './redact.js';

/** A redirect to a URL that is not http(s): `file:`, `gopher:`, `data:`… (httpCall turns it into the non-retryable HTTP_REDIRECT_REFUSED). */
export class RedirectRefused extends Error {
  constructor(readonly scheme: string) {
    super(`the server redirected to a ${scheme} URL; only http and https redirects are followed`);
    this.name = 'RedirectRefused';
  }
}

const REDIRECT_STATUSES = new Set([300, 301, 302, 303, 307, 308]);

/**
 * Sits under the redirect interceptor and sees each hop's response before it does: a Location whose scheme
 * is not http(s) ends the request with RedirectRefused. Without it undici fails on such a Location with an
 * invalid-argument error, which read as a retryable network failure although every retry gets the same.
 */
const redirectSchemes: Dispatcher.DispatcherComposeInterceptor = (dispatch) => (opts, handler) => {
  // Not following (the redirect interceptor hands such a request down with maxRedirections 0): a 3xx is the answer.
  if (!handler.onResponseStart || (opts as { maxRedirections?: number }).maxRedirections === 0) return dispatch(opts, handler);
  const guarded: Dispatcher.DispatchHandler = {
    onRequestStart: (controller, context) => handler.onRequestStart?.(controller, context),
    onRequestUpgrade: (controller, status, headers, socket) => handler.onRequestUpgrade?.(controller, status, headers, socket),
    onResponseStart(controller, status, headers, statusMessage) {
      const location = REDIRECT_STATUSES.has(status) ? headers.location : undefined;
      const scheme = typeof location === 'string' ? schemeOf(location, opts) : undefined;
      if (scheme !== undefined && scheme !== 'http:' && scheme !== 'https:') return controller.abort(new RedirectRefused(scheme));
      return handler.onResponseStart?.(controller, status, headers, statusMessage);
    },
    onResponseData: (controller, chunk) => handler.onResponseData?.(controller, chunk),
    onResponseEnd: (controller, trailers) => handler.onResponseEnd?.(controller, trailers),
    onResponseError: (controller, error) => handler.onResponseError?.(controller, error),
  };
  return dispatch(opts, guarded);
};

/** The scheme of a Location, resolved against the request's URL ("file:"); undefined when it does not parse. */
function schemeOf(location: string, opts: Dispatcher.DispatchOptions): string | undefined {
  try {
    return new URL(location, new URL(opts.path, opts.origin)).protocol;
  } catch {
    return undefined;
  }
}

/**
 * One connection pool for all tasks: keep-alive per origin, redirects followed (at most 5, http and https
 * only), denied addresses refused (outbound.ts). compose() applies the first interceptor innermost.
 */
const dispatcher: Dispatcher = new Agent({ keepAliveTimeout: 30_000, connections: 256, connect: guardedConnect }).compose(redirectSchemes, interceptors.redirect({ maxRedirections: 5 }));

export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE' | 'HEAD';

export interface HttpCallOptions {
  method: HttpMethod;
  url: string;
  headers?: Readonly<Record<string, string>>;
  /**
   * String → sent as is (content-type text/plain unless given); Uint8Array → as is; anything else but
   * undefined → JSON (content-type application/json unless given).
   */
  body?: unknown;
  /** The step's signal (time limit, shutdown, cancel). */
  signal?: AbortSignal;
  /** An extra time limit for this call alone (headers and body). */
  timeoutMs?: number;
  /** Most bytes of the response body read; the rest is discarded and `truncated` set. Default 1 MiB. */
  maxBodyBytes?: number;
  /**
   * Follow redirects (default true). Turn off when the headers carry credentials other than
   * Authorization/Cookie: undici strips only those on a redirect to another origin.
   */
  followRedirects?: boolean;
  /**
   * Secret values (secretStrings in ./redact.ts) taken out of the response's headers and body before the
   * caller reads them: before a failure clips the body (a secret cut by the clip would be kept nearly whole)
   * and before anything else is built from it.
   */
  secrets?: readonly string[];
}

export interface HttpResponse {
  status: number;
  /** Header names in lower case; repeated headers joined with ", ". */
  headers: Record<string, string>;
  /** Parsed JSON when the content type is JSON and the whole body parses; otherwise text ('' when empty). */
  body: unknown;
  /** The body was longer than the cap and was cut (then it is text, never parsed). */
  truncated: boolean;
  durationMs: number;
}

export const MAX_BODY_BYTES = 1024 * 1024;

const JSON_TYPE = /^application\/(?:[\w.+-]+\+)?json\b/i;

/**
 * Makes one HTTP request. Throws TaskFailure NETWORK_ERROR, TIMEOUT or ABORTED (all retryable), HTTP_ADDRESS_DENIED
 * or HTTP_REDIRECT_REFUSED (not retryable); never for a status.
 */
export async function httpCall(opts: HttpCallOptions): Promise<HttpResponse> {
  const started = performance.now();
  const outer = opts.signal;
  if (outer?.aborted) throw abortFailure(outer.reason, false, opts);

  // A controller of this call alone, joined to the step's signal and this call's own time limit. Never hand the
  // step's signal to fetch: undici only drops its abort listener when the request is garbage-collected, so a
  // long-lived signal collects thousands of listeners. Ours are removed in `finally`.
  const controller = new AbortController();
  const signal = controller.signal;
  let timer: NodeJS.Timeout | undefined;
  let timedOut = false;
  const onAbort = () => controller.abort(outer!.reason);
  outer?.addEventListener('abort', onAbort, { once: true });
  if (opts.timeoutMs !== undefined) {
    timer = setTimeout(() => {
      timedOut = true;
      controller.abort(new DOMException(`timed out after ${opts.timeoutMs} ms`, 'TimeoutError'));
    }, opts.timeoutMs);
  }

  const body = opts.body !== undefined && opts.method !== 'GET' && opts.method !== 'HEAD' ? encodeBody(opts.body) : undefined;
  let res: Dispatcher.ResponseData | undefined;
  try {
    // `maxRedirections` is read per request by the redirect interceptor (0: hand the 3xx back as it is).
    const noRedirects = opts.followRedirects === false ? ({ maxRedirections: 0 } as object) : {};
    res = await request(opts.url, { method: opts.method, headers: requestHeaders(opts.headers, opts.body), body, signal, dispatcher, ...noRedirects });
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(res.headers)) {
      if (value !== undefined) headers[name.toLowerCase()] = Array.isArray(value) ? value.join(', ') : value;
    }
    const { text, truncated } = await readText(res, opts.method, opts.maxBodyBytes ?? MAX_BODY_BYTES);
    const parsed = !truncated && text !== '' && JSON_TYPE.test(headers['content-type'] ?? '') ? parseJson(text) : text;
    const response: HttpResponse = { status: res.statusCode, headers, body: parsed, truncated, durationMs: Math.round(performance.now() - started) };
    return opts.secrets ? redact(response, opts.secrets) : response;
  } catch (err) {
    // Give the socket back whatever happened (a body that is neither read nor destroyed holds its connection).
    if (res && !res.body.destroyed) res.body.destroy();
    if (err instanceof TaskFailure) throw err;
    if (signal.aborted) throw abortFailure(signal.reason, timedOut, opts);
    throw networkFailure(err, opts);
  } finally {
    if (timer) clearTimeout(timer);
    outer?.removeEventListener('abort', onAbort);
  }
}

function requestHeaders(given: Readonly<Record<string, string>> | undefined, body: unknown): Record<string, string> {
  const headers: Record<string, string> = { ...given };
  if (body === undefined || body instanceof Uint8Array) return headers;
  if (!Object.keys(headers).some((h) => h.toLowerCase() === 'content-type')) {
    headers['content-type'] = typeof body === 'string' ? 'text/plain; charset=utf-8' : 'application/json';
  }
  return headers;
}

function encodeBody(body: unknown): string | Uint8Array {
  if (typeof body === 'string' || body instanceof Uint8Array) return body;
  return JSON.stringify(body);
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/** Reads at most `max` bytes of the body as UTF-8 text; drops the rest. */
async function readText(res: Dispatcher.ResponseData, method: HttpMethod, max: number): Promise<{ text: string; truncated: boolean }> {
  if (method === 'HEAD') {
    await res.body.dump();
    return { text: '', truncated: false };
  }
  const chunks: Buffer[] = [];
  let size = 0;
  let truncated = false;
  const stream = decoded(res);
  for await (const chunk of stream as AsyncIterable<Buffer>) {
    if (size + chunk.byteLength > max) {
      chunks.push(chunk.subarray(0, max - size));
      size = max;
      truncated = true;
      stream.destroy();
      res.body.destroy();
      break;
    }
    chunks.push(chunk);
    size += chunk.byteLength;
  }
  const bytes = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size);
  // A cut may split a multi-byte character: the decoder replaces the broken tail with U+FFFD.
  return { text: new TextDecoder().decode(bytes), truncated };
}

/** The body, decompressed when the server used gzip, deflate or br (the cap applies to decoded bytes). */
function decoded(res: Dispatcher.ResponseData): Readable {
  const raw = res.headers['content-encoding'];
  const encoding = (Array.isArray(raw) ? raw.join(',') : (raw ?? '')).trim().toLowerCase();
  const decoder = encoding === 'gzip' || encoding === 'x-gzip' ? createGunzip() : encoding === 'deflate' ? createInflate() : encoding === 'br' ? createBrotliDecompress() : undefined;
  if (!decoder) return res.body;
  res.body.on('error', (err) => decoder.destroy(err));
  return res.body.pipe(decoder);
}

function describe(opts: HttpCallOptions): string {
  return `${opts.method} ${safeUrl(opts.url)}`;
}

/** The URL without credentials or query (they may hold secrets) for messages. */
export function safeUrl(url: string): string {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.host}${u.pathname}`;
  } catch {
    return '(invalid URL)';
  }
}

function abortFailure(reason: unknown, timedOut: boolean, opts: HttpCallOptions): TaskFailure {
  const name = (reason as { name?: unknown } | null)?.name;
  if (timedOut || name === 'TimeoutError') {
    const why = timedOut ? `after ${opts.timeoutMs} ms` : 'the step’s time limit passed';
    return failure('TIMEOUT', `${describe(opts)} timed out (${why})`, true);
  }
  const why = reason instanceof Error && reason.message ? `: ${reason.message}` : '';
  return failure('ABORTED', `${describe(opts)} was aborted${why}`, true);
}

const TIMEOUT_CODES = new Set(['UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'ETIMEDOUT']);

/** undici's errors carry a code (ECONNREFUSED, ENOTFOUND, UND_ERR_SOCKET…), sometimes on a `cause`. */
function networkFailure(err: unknown, opts: HttpCallOptions): TaskFailure {
  for (let e: unknown = err; e instanceof Error; e = e.cause) {
    if (e instanceof RedirectRefused) {
      return failure('HTTP_REDIRECT_REFUSED', `${describe(opts)} was refused: ${e.message}`, false, { details: { scheme: e.scheme.slice(0, -1) } });
    }
    if (e instanceof AddressDenied) {
      return failure('HTTP_ADDRESS_DENIED', `${describe(opts)} was refused: ${e.message} (see STATUSFLOW_HTTP_DENY)`, false, { details: { host: e.host, address: e.address } });
    }
  }
  let cause: unknown = err;
  while (cause instanceof Error && cause.cause !== undefined && !(cause as { code?: unknown }).code) cause = cause.cause;
  const code = typeof (cause as { code?: unknown } | null)?.code === 'string' ? (cause as { code: string }).code : undefined;
  const message = cause instanceof Error ? cause.message : String(cause);
  const extra = code ? { details: { cause: code }, cause: { message, code } } : { cause: causeOf(cause) };
  if (code && TIMEOUT_CODES.has(code)) return failure('TIMEOUT', `${describe(opts)} timed out: ${message}`, true, extra);
  return failure('NETWORK_ERROR', `${describe(opts)} failed: ${message}${code && !message.includes(code) ? ` (${code})` : ''}`, true, extra);
}
