/**
 * `http.request`: calls any HTTP endpoint. Safe to repeat: every attempt of a step sends the same
 * `Idempotency-Key` (`<run id>:<task key>`), so providers that honour it apply the effect once.
 * With an `http` connection, `path` is resolved under the connection's baseUrl, its secret headers are
 * added, the connection's rate limit is waited for, and the secrets are kept out of the step's output
 * and error (docs/connectors/http.md).
 */
import { z } from 'zod';
import { failure, TaskFailure } from '../../domain/failure.js';
import type { ConnectionContext, TaskContext, TaskKind } from '../types.js';
import { httpCall, safeUrl, type HttpMethod } from '../kit/http.js';
import { failureForResponse } from '../kit/failures.js';
import { redact, secretStrings } from '../kit/redact.js';
import { HEADER_NAME, HEADER_VALUE, httpConnection, isUnderBase, urlUnder } from './provider.js';

const METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD'] as const;
const statusCode = z.number().int().min(100).max(599);

const expression = z.string().min(1).max(10_000);

export const HttpRequestInputSchema = z
  .strictObject({
    method: z.enum(METHODS).optional(),
    /** Expression giving an absolute http(s) URL (with a connection: one under its baseUrl). */
    url: expression.optional(),
    /** Expression giving a path (and query) under the connection's baseUrl; needs an http connection. */
    path: expression.optional(),
    /** Header name → expression giving its value. */
    headers: z
      .record(z.string(), expression)
      .refine((h) => Object.keys(h).length <= 50, 'must have at most 50 headers')
      .optional(),
    /** Expression (or an object whose string values are expressions, one level). */
    body: z.union([expression, z.record(z.string(), z.json())], { error: 'must be an expression (text) or an object' }).optional(),
    expectStatus: z.union([statusCode, z.array(statusCode).min(1).max(50)]).optional(),
  })
  .superRefine((input, ctx) => {
    if (input.url === undefined && input.path === undefined) {
      ctx.addIssue({ code: 'custom', path: ['url'], message: 'is required (or path, with an http connection)', params: { code: 'required' } });
    }
    if (input.url !== undefined && input.path !== undefined) {
      ctx.addIssue({ code: 'custom', path: ['path'], message: 'give url or path, not both', params: { code: 'conflict' } });
    }
    for (const name of Object.keys(input.headers ?? {})) {
      if (!HEADER_NAME.test(name) || name.length > 200) {
        ctx.addIssue({ code: 'custom', path: ['headers', name], message: 'is not a valid HTTP header name', params: { code: 'invalid_header_name' } });
      }
    }
    if (input.body !== undefined && (input.method === 'GET' || input.method === 'HEAD')) {
      ctx.addIssue({ code: 'custom', path: ['body'], message: `a ${input.method} request cannot have a body`, params: { code: 'body_not_allowed' } });
    }
  });

/** The input as `run` receives it: expressions replaced by their values. */
export interface HttpRequestInput {
  method?: HttpMethod;
  url?: unknown;
  path?: unknown;
  headers?: Record<string, unknown>;
  body?: unknown;
  expectStatus?: number | number[];
}

export interface HttpRequestOutput {
  status: number;
  headers: Record<string, string>;
  body: unknown;
  /** Present (true) only when the response body was longer than 1 MiB and was cut. */
  truncated?: true;
}

export const httpRequest: TaskKind<HttpRequestInput> = {
  kind: 'http.request',
  inputSchema: HttpRequestInputSchema,
  expressionFields: ['url', 'path', 'headers', 'body'],
  connection: { required: false, providers: ['http'] },
  async run(input, ctx): Promise<HttpRequestOutput> {
    if (!ctx.connection) return send(input, ctx, undefined);
    const conn = httpConnection(ctx.connection.connection);
    const secrets = secretStrings(Object.values(conn.headers));
    try {
      return redact(await send(input, ctx, { cc: ctx.connection, ...conn, secrets }), secrets);
    } catch (err) {
      // A provider may echo the credentials back (in an error body, say): they stay out of the step's error.
      if (err instanceof TaskFailure) throw new TaskFailure(redact(err.failure, secrets));
      throw err;
    }
  },
};

async function send(input: HttpRequestInput, ctx: TaskContext, conn: { cc: ConnectionContext; baseUrl: string; headers: Record<string, string>; secrets: string[] } | undefined): Promise<HttpRequestOutput> {
  const url = targetUrl(input, conn?.baseUrl);
  const method: HttpMethod = input.method ?? ('body' in input ? 'POST' : 'GET');
  // The connection's secret headers first; the task's own headers may replace them.
  const headers: Record<string, string> = { 'user-agent': 'statusflow', 'idempotency-key': ctx.idempotencyKey, ...conn?.headers };
  for (const [name, value] of Object.entries(input.headers ?? {})) headers[name.toLowerCase()] = headerValue(name, value);
  for (const [name, value] of Object.entries(headers)) if (value === '') delete headers[name];
  const body = method === 'GET' || method === 'HEAD' ? undefined : input.body;

  if (conn) await conn.cc.acquire(ctx.signal);
  let res: Awaited<ReturnType<typeof httpCall>>;
  try {
    // Secret headers go where the connection points, never along a redirect to somewhere else; an echo of
    // them is taken out of the response before the failure below clips its body.
    res = await httpCall({ method, url, headers, body, signal: ctx.signal, followRedirects: conn === undefined, ...(conn ? { secrets: conn.secrets } : {}) });
  } finally {
    if (conn) await conn.cc.settle?.();
  }
  const what = `${method} ${safeUrl(url)}`;
  if (!isExpected(res.status, input.expectStatus)) {
    if (res.status >= 200 && res.status < 300) {
      throw failure('HTTP_UNEXPECTED_STATUS', `${what} answered ${res.status}, expected ${[input.expectStatus].flat().join(' or ')}`, false, {
        details: { status: res.status, expected: input.expectStatus },
      });
    }
    const f = failureForResponse(res.status, res.headers, res.body, what);
    if (conn && res.status === 429) await backOff(conn.cc, f.failure.retryAfterMs ?? 0);
    throw f;
  }
  const out: HttpRequestOutput = { status: res.status, headers: res.headers, body: res.body };
  if (res.truncated) out.truncated = true;
  return out;
}

/** The URL to call: `url` as given, or `path` under the connection's baseUrl. With a connection, never outside it. */
function targetUrl(input: HttpRequestInput, baseUrl: string | undefined): string {
  if (input.path !== undefined) {
    if (baseUrl === undefined) throw failure('INVALID_INPUT', 'path needs an http connection on the task (or give url instead)', false);
    if (typeof input.path !== 'string') {
      throw failure('INVALID_INPUT', `path must evaluate to a string, got ${input.path === null ? 'null' : JSON.stringify(input.path)?.slice(0, 100)}`, false);
    }
    return urlUnder(baseUrl, input.path);
  }
  const url = checkUrl(input.url);
  if (baseUrl !== undefined && !isUnderBase(url, baseUrl)) {
    throw failure('INVALID_INPUT', `url ${safeUrl(url)} is not under the connection's baseUrl ${safeUrl(baseUrl)}; the connection's headers go only there`, false);
  }
  return url;
}

/** Tells the shared limiter to pause; its own failure must not hide the provider's answer. */
async function backOff(cc: ConnectionContext, ms: number): Promise<void> {
  try {
    await cc.backOff(ms);
  } catch {
    // the engine retries the step; the next 429 pauses again
  }
}

function isExpected(status: number, expect: number | number[] | undefined): boolean {
  if (expect === undefined) return status >= 200 && status < 300;
  return typeof expect === 'number' ? status === expect : expect.includes(status);
}

function checkUrl(value: unknown): string {
  if (typeof value !== 'string') {
    throw failure('INVALID_INPUT', `url must evaluate to a string, got ${value === undefined ? 'nothing' : JSON.stringify(value)?.slice(0, 100)}`, false);
  }
  let u: URL;
  try {
    u = new URL(value);
  } catch {
    throw failure('INVALID_INPUT', `url must be an absolute http(s) URL, got "${value.slice(0, 200)}"`, false);
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') {
    throw failure('INVALID_INPUT', `url must use http or https, got "${u.protocol.slice(0, -1)}"`, false);
  }
  return value;
}

/** A header's evaluated value as text; nothing (undefined/null) gives '' and the header is left out. */
function headerValue(name: string, value: unknown): string {
  if (!HEADER_NAME.test(name)) throw failure('INVALID_INPUT', `"${name.slice(0, 100)}" is not a valid HTTP header name`, false);
  if (value === undefined || value === null) return '';
  if (typeof value === 'object') throw failure('INVALID_INPUT', `header ${name} must evaluate to text, got ${Array.isArray(value) ? 'an array' : 'an object'}`, false);
  const text = String(value);
  if (!HEADER_VALUE.test(text)) throw failure('INVALID_INPUT', `header ${name} must be Latin-1 text without line breaks or NUL`, false);
  return text;
}
