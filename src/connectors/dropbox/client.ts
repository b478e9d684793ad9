/**
 * A small typed Dropbox client (DESIGN.md "Connectors": the `dropbox` SDK has no base-URL option). RPC routes
 * take JSON on the API host; `files/upload` takes the bytes on the content host with its argument in the
 * `Dropbox-API-Arg` header. Every request waits for a rate-limit slot; a 429 makes the shared limiter back off;
 * an expired short-lived token is renewed and the request sent once more.
 */
import { z } from 'zod';
import { failure, TaskFailure } from '../../domain/failure.js';
import type { ConnectionContext, ConnectionView, TaskContext } from '../types.js';
import { httpCall, type HttpCallOptions, type HttpResponse } from '../kit/http.js';
import { redact, secretStrings } from '../kit/redact.js';
import { dropboxAccessToken, isRefreshable, keptAccessToken } from './auth.js';
import { dropboxFailure, errorTags, routeError } from './errors.js';

export const DROPBOX_DEFAULT_BASE_URL = 'https://api.dropboxapi.com';
export const DROPBOX_DEFAULT_CONTENT_URL = 'https://content.dropboxapi.com';

const httpUrl = z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' });

export const DropboxConfigSchema = z.strictObject({
  /** RPC host (also serves oauth2/token). */
  baseUrl: httpUrl.optional(),
  /** Content host (files/upload). */
  contentUrl: httpUrl.optional(),
  rateLimit: z
    .strictObject({ requests: z.number().int().min(1).max(100_000), perMs: z.number().int().min(100).max(86_400_000) })
    .optional(),
});

const secret = z.string().min(1).max(4096);
export const DropboxSecretsSchema = z.union(
  [z.strictObject({ accessToken: secret }), z.strictObject({ refreshToken: secret, appKey: secret, appSecret: secret })],
  { error: 'must be either {accessToken} or {refreshToken, appKey, appSecret}' },
);

export interface DropboxConfig {
  baseUrl: string;
  contentUrl: string;
  rateLimit?: { requests: number; perMs: number };
}

/** The connection's config, checked and with defaults; a bad one fails the step (non-retryable CONNECTION_INVALID). */
export function dropboxConfig(view: ConnectionView): DropboxConfig {
  const parsed = DropboxConfigSchema.safeParse(view.config ?? {});
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw failure('CONNECTION_INVALID', `Connection "${view.key}" has a bad config: ${issue.path.join('.') || 'config'} ${issue.message}`, false);
  }
  const c = parsed.data;
  const config: DropboxConfig = {
    baseUrl: (c.baseUrl ?? DROPBOX_DEFAULT_BASE_URL).replace(/\/+$/, ''),
    contentUrl: (c.contentUrl ?? DROPBOX_DEFAULT_CONTENT_URL).replace(/\/+$/, ''),
  };
  if (c.rateLimit) config.rateLimit = c.rateLimit;
  return config;
}

/** The task's connection, which must be a Dropbox one. */
export function connectionOf(ctx: TaskContext, kind: string): ConnectionContext {
  if (!ctx.connection) throw failure('CONNECTION_REQUIRED', `${kind} needs a dropbox connection`, false);
  const { key, provider } = ctx.connection.connection;
  if (provider !== 'dropbox') throw failure('CONNECTION_INVALID', `${kind} needs a dropbox connection; "${key}" is ${provider}`, false);
  return ctx.connection;
}

/**
 * JSON for the `Dropbox-API-Arg` header: HTTP headers carry Latin-1 at best, so every character outside ASCII
 * (and DEL) is escaped as `\uXXXX`, as the official SDKs do. The result parses back to the same value.
 */
export function dropboxApiArg(arg: unknown): string {
  return JSON.stringify(arg).replace(/[\u007f-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** A route error (409) handed back instead of thrown, for callers that handle some tags themselves. */
export interface RouteErrorAnswer {
  routeError: Record<string, unknown>;
  tags: string[];
  failure: TaskFailure;
}

interface Call {
  /** Route, e.g. "files/get_metadata". */
  route: string;
  host: 'api' | 'content';
  /** RPC: the JSON argument (undefined: no body). Upload: the Dropbox-API-Arg value. */
  arg: unknown;
  /** Upload only: the file's bytes. */
  bytes?: Uint8Array;
  /** The Dropbox path concerned, for messages. */
  path?: string;
}

async function send(cc: ConnectionContext, call: Call, signal: AbortSignal): Promise<HttpResponse> {
  const view = cc.connection;
  const config = dropboxConfig(view);
  const refreshable = isRefreshable(view);
  const url = `${call.host === 'content' ? config.contentUrl : config.baseUrl}/2/${call.route}`;
  const info = { what: call.route, connection: view.key, path: call.path, refreshable };
  let stale: string | undefined;
  for (let attempt = 0; ; attempt++) {
    const token = await dropboxAccessToken(cc, config.baseUrl, signal, stale);
    const headers: Record<string, string> = { authorization: `Bearer ${token}`, 'user-agent': 'statusflow' };
    // The token is redacted from the answer before anything reads or clips it (an echo of it is never stored).
    const opts: HttpCallOptions = { method: 'POST', url, headers, signal, secrets: [token] };
    if (call.host === 'content') {
      headers['content-type'] = 'application/octet-stream';
      headers['dropbox-api-arg'] = dropboxApiArg(call.arg);
      opts.body = call.bytes ?? new Uint8Array(0);
    } else if (call.arg !== undefined) {
      headers['content-type'] = 'application/json';
      opts.body = JSON.stringify(call.arg);
    }
    await cc.acquire(signal);
    const res = await httpCall(opts);
    if (res.status >= 200 && res.status < 300) return res;
    if (res.status === 401 && refreshable && attempt === 0 && errorTags(routeError(res.body))[0] === 'expired_access_token') {
      stale = token;
      continue;
    }
    if (res.status === 429) {
      const f = dropboxFailure(res, info);
      await cc.backOff(f.failure.retryAfterMs!).catch(() => undefined);
      throw f;
    }
    return res;
  }
}

/** Calls an RPC route; returns its JSON result. Throws a TaskFailure for any error (see ./errors.ts). */
export async function dropboxRpc(cc: ConnectionContext, route: string, arg: unknown, signal: AbortSignal, path?: string): Promise<unknown> {
  return guarded(cc, async () => {
    const res = await send(cc, { route, host: 'api', arg, path }, signal);
    if (res.status >= 200 && res.status < 300) return res.body;
    throw dropboxFailure(res, { what: route, connection: cc.connection.key, path, refreshable: isRefreshable(cc.connection) });
  });
}

/** Like dropboxRpc, but a route error (409) is handed back for the caller to look at its tags. */
export async function dropboxRpcOrRouteError(
  cc: ConnectionContext,
  route: string,
  arg: unknown,
  signal: AbortSignal,
  path?: string,
): Promise<{ result: unknown } | RouteErrorAnswer> {
  return guarded(cc, async () => {
    const res = await send(cc, { route, host: 'api', arg, path }, signal);
    if (res.status >= 200 && res.status < 300) return { result: res.body };
    const f = dropboxFailure(res, { what: route, connection: cc.connection.key, path, refreshable: isRefreshable(cc.connection) });
    const error = routeError(res.body);
    if (res.status === 409 && error) return { routeError: error, tags: errorTags(error), failure: withoutSecrets(cc, f) };
    throw f;
  });
}

/** Sends bytes to a content-host upload route (`files/upload`); returns its JSON result. */
export async function dropboxUploadCall(cc: ConnectionContext, route: string, arg: { path: string } & Record<string, unknown>, bytes: Uint8Array, signal: AbortSignal): Promise<unknown> {
  return guarded(cc, async () => {
    const res = await send(cc, { route, host: 'content', arg, bytes, path: arg.path }, signal);
    if (res.status >= 200 && res.status < 300) return res.body;
    throw dropboxFailure(res, { what: route, connection: cc.connection.key, path: arg.path, refreshable: isRefreshable(cc.connection) });
  });
}

/** Runs a call; a failure leaves with the connection's secrets (and the kept access token) taken out. */
async function guarded<T>(cc: ConnectionContext, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (err) {
    throw err instanceof TaskFailure ? withoutSecrets(cc, err) : err;
  }
}

function withoutSecrets(cc: ConnectionContext, f: TaskFailure): TaskFailure {
  return new TaskFailure(redact(f.failure, secretStrings([...Object.values(cc.connection.secrets ?? {}), keptAccessToken(cc)])));
}
