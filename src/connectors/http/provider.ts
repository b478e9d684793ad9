/**
 * The `http` provider: any HTTP API. Config `{ baseUrl, rateLimit?, testPath? }`, secrets
 * `{ headers? }` (e.g. `{"Authorization": "Bearer …"}`) added to every request `http.request` makes
 * through the connection. Requests carrying these headers never follow redirects and never leave
 * `baseUrl` (the secret headers go only where the admin pointed them).
 */
import { z } from 'zod';
import { failure } from '../../domain/failure.js';
import type { ConnectionView, Provider } from '../types.js';
import { httpCall, safeUrl } from '../kit/http.js';
import { failureForResponse } from '../kit/failures.js';

/** An HTTP header name (RFC 9110 token). */
export const HEADER_NAME = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
/** What fetch accepts in a header value: Latin-1 without CR, LF or NUL. */
export const HEADER_VALUE = /^[^\r\n\0\u0100-\uffff]*$/;

const baseUrl = z
  .string()
  .max(2000)
  .check((ctx) => {
    const problem = baseUrlProblem(ctx.value);
    if (problem) ctx.issues.push({ code: 'custom', input: ctx.value, message: problem, params: { code: 'invalid_url' } });
  });

export const HttpConfigSchema = z.strictObject({
  /** Absolute http(s) URL; task paths are resolved under it. */
  baseUrl,
  rateLimit: z.strictObject({ requests: z.number().int().min(1).max(100_000), perMs: z.number().int().min(100).max(86_400_000) }).optional(),
  /** Path under baseUrl that `POST /connections/{key}/test` reads (default: baseUrl itself). */
  testPath: z.string().max(2000).regex(/^\//, 'must start with /').optional(),
});

export const HttpSecretsSchema = z.strictObject({
  headers: z
    .record(
      z.string().max(200).regex(HEADER_NAME, 'must be a valid HTTP header name'),
      z.string().max(8192).regex(HEADER_VALUE, 'must be Latin-1 text without line breaks or NUL'),
    )
    .refine((h) => Object.keys(h).length <= 50, 'must have at most 50 headers')
    .optional(),
});

export interface HttpConnection {
  baseUrl: string;
  /** Secret headers, names in lower case. */
  headers: Record<string, string>;
}

function baseUrlProblem(value: string): string | undefined {
  let u: URL;
  try {
    u = new URL(value);
  } catch {
    return 'must be an absolute http(s) URL';
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') return 'must use http or https';
  if (u.username || u.password) return 'must not hold credentials (put them in secrets.headers)';
  if (u.search || u.hash) return 'must not have a query or fragment';
  return undefined;
}

/** An http connection's base URL and secret headers; a connection that is not a valid http one fails the step. */
export function httpConnection(view: ConnectionView): HttpConnection {
  if (view.provider !== 'http') throw failure('CONNECTION_INVALID', `Connection "${view.key}" is a ${view.provider} connection; http.request needs an http one`, false);
  const config = HttpConfigSchema.safeParse(view.config);
  if (!config.success) throw failure('CONNECTION_INVALID', `Connection "${view.key}" has a bad config: ${config.error.issues[0]!.path.join('.') || 'config'} ${config.error.issues[0]!.message}`, false);
  // The secrets are checked when stored; read them through the schema all the same (the type of ConnectionView.secrets is flat).
  const secrets = HttpSecretsSchema.safeParse(view.secrets);
  if (!secrets.success) throw failure('CONNECTION_INVALID', `Connection "${view.key}" has bad secrets (store them again)`, false);
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(secrets.data.headers ?? {})) headers[name.toLowerCase()] = value;
  return { baseUrl: config.data.baseUrl, headers };
}

/**
 * `path` (with its query) resolved under `baseUrl`; `..` and encoded dots cannot climb above it, and the
 * origin cannot change. Throws INVALID_INPUT otherwise.
 */
export function urlUnder(base: string, path: string): string {
  if (/^[a-z][a-z0-9+.-]*:/i.test(path) || path.startsWith('//')) {
    throw failure('INVALID_INPUT', `path must be relative to the connection's baseUrl, got "${path.slice(0, 200)}" (use url for an absolute URL)`, false);
  }
  const b = new URL(base);
  const prefix = b.pathname.endsWith('/') ? b.pathname : `${b.pathname}/`;
  const resolved = new URL(`${prefix}${path.replace(/^\/+/, '')}`, b.origin);
  if (!isUnder(resolved, b, prefix)) {
    throw failure('INVALID_INPUT', `path "${path.slice(0, 200)}" leads outside the connection's baseUrl ${safeUrl(base)}`, false);
  }
  return resolved.href;
}

/** True when `url` is `base` or below it (same origin, path under base's path). */
export function isUnderBase(url: string, base: string): boolean {
  const b = new URL(base);
  return isUnder(new URL(url), b, b.pathname.endsWith('/') ? b.pathname : `${b.pathname}/`);
}

function isUnder(u: URL, b: URL, prefix: string): boolean {
  return u.origin === b.origin && (u.pathname === b.pathname || u.pathname === prefix.slice(0, -1) || u.pathname.startsWith(prefix));
}

export const httpProvider: Provider = {
  name: 'http',
  configSchema: HttpConfigSchema,
  secretsSchema: HttpSecretsSchema,
  /** GET baseUrl (+ testPath) with the secret headers: any answer below 500 but 401/403 means reachable and accepted. */
  async test(ctx, signal) {
    const conn = httpConnection(ctx.connection);
    const testPath = (ctx.connection.config as { testPath?: string }).testPath;
    const url = testPath ? urlUnder(conn.baseUrl, testPath) : conn.baseUrl;
    await ctx.acquire(signal);
    const res = await httpCall({ method: 'GET', url, headers: { 'user-agent': 'statusflow', ...conn.headers }, signal, followRedirects: false, maxBodyBytes: 64 * 1024 });
    const what = `GET ${safeUrl(url)}`;
    if (res.status === 401 || res.status === 403) {
      throw failure('HTTP_AUTHENTICATION', `${what} answered ${res.status}: the connection's headers were not accepted`, false, { details: { status: res.status } });
    }
    if (res.status >= 500) throw failureForResponse(res.status, res.headers, res.body, what);
  },
};
