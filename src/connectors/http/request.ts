/**
 * `http.request`: calls any HTTP endpoint. Safe to repeat: every attempt of a step sends the same
 * `Idempotency-Key` (`<run id>:<task key>`), so providers that honour it apply the effect once.
 */
import { z } from 'zod';
import { failure } from '../../domain/failure.js';
import type { TaskKind } from '../types.js';
import { httpCall, safeUrl, type HttpMethod } from '../kit/http.js';
import { failureForResponse } from '../kit/failures.js';

const METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD'] as const;
const HEADER_NAME = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
/** What fetch accepts in a header value: Latin-1 without CR, LF or NUL. */
const HEADER_VALUE = /^[^\r\n\0\u0100-\uffff]*$/;
const statusCode = z.number().int().min(100).max(599);

const expression = z.string().min(1).max(10_000);

export const HttpRequestInputSchema = z
  .strictObject({
    method: z.enum(METHODS).optional(),
    /** Expression giving an absolute http(s) URL. */
    url: expression,
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
  url: unknown;
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
  expressionFields: ['url', 'headers', 'body'],
  connection: { required: false, providers: ['http'] },
  async run(input, ctx): Promise<HttpRequestOutput> {
    const url = checkUrl(input.url);
    const method: HttpMethod = input.method ?? ('body' in input ? 'POST' : 'GET');
    const headers: Record<string, string> = { 'user-agent': 'statusflow', 'idempotency-key': ctx.idempotencyKey };
    for (const [name, value] of Object.entries(input.headers ?? {})) headers[name.toLowerCase()] = headerValue(name, value);
    for (const [name, value] of Object.entries(headers)) if (value === '') delete headers[name];
    const body = method === 'GET' || method === 'HEAD' ? undefined : input.body;

    const res = await httpCall({ method, url, headers, body, signal: ctx.signal });
    const what = `${method} ${safeUrl(url)}`;
    if (!isExpected(res.status, input.expectStatus)) {
      if (res.status >= 200 && res.status < 300) {
        throw failure('HTTP_UNEXPECTED_STATUS', `${what} answered ${res.status}, expected ${[input.expectStatus].flat().join(' or ')}`, false, {
          details: { status: res.status, expected: input.expectStatus },
        });
      }
      throw failureForResponse(res.status, res.headers, res.body, what);
    }
    const out: HttpRequestOutput = { status: res.status, headers: res.headers, body: res.body };
    if (res.truncated) out.truncated = true;
    return out;
  },
};

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
