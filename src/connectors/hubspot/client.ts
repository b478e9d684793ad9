/**
 * A small typed HubSpot client (DESIGN.md "Connectors": no vendor SDK). Every request waits for a slot of the
 * connection's shared rate limit, sends the Bearer token, watches HubSpot's rate-limit headers and turns every
 * non-2xx answer into a TaskFailure (./errors.ts).
 */
import { z } from 'zod';
import { failure, TaskFailure } from '../../domain/failure.js';
import type { ConnectionContext, ConnectionView, TaskContext } from '../types.js';
import { httpCall, type HttpMethod, type HttpResponse } from '../kit/http.js';
import { redact, secretStrings } from '../kit/redact.js';
import { hubspotFailure, hubspotRetryAfterMs } from './errors.js';

export const HUBSPOT_DEFAULT_BASE_URL = 'https://api.hubapi.com';
/** Private apps on Free/Starter: 100 requests per rolling 10 s (CHEATSHEET.md). */
export const HUBSPOT_DEFAULT_RATE_LIMIT = { requests: 100, perMs: 10_000 } as const;

export const HUBSPOT_OBJECTS = ['contacts', 'companies', 'deals'] as const;
export type HubSpotObject = (typeof HUBSPOT_OBJECTS)[number];
/** HubSpot's object type ids, as used in record URLs. */
export const OBJECT_TYPE_IDS: Readonly<Record<HubSpotObject, string>> = { contacts: '0-1', companies: '0-2', deals: '0-3' };

/** A HubSpot property's internal name (lower case letters, digits, underscores). */
export const propertyName = z.string().regex(/^[a-z][a-z0-9_]{0,99}$/, 'must be a HubSpot internal property name (lower case letters, digits and _)');

export const HubSpotConfigSchema = z.strictObject({
  baseUrl: z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' }).optional(),
  rateLimit: z
    .strictObject({ requests: z.number().int().min(1).max(100_000), perMs: z.number().int().min(100).max(86_400_000) })
    .optional(),
  /** The custom property with "unique values" that holds the entity id, per object (docs/connectors/hubspot.md). */
  uniqueProperties: z.strictObject({ deals: propertyName.optional(), companies: propertyName.optional() }).optional(),
  /** The HubSpot account (portal) id: when known, links get a URL to the record in HubSpot. */
  portalId: z.union([z.string().regex(/^\d{1,20}$/, 'must be digits'), z.number().int().positive()]).optional(),
});

export const HubSpotSecretsSchema = z.strictObject({ accessToken: z.string().min(1).max(4096) });

/** A HubSpot connection's config with defaults applied. */
export interface HubSpotConfig {
  baseUrl: string;
  rateLimit: { requests: number; perMs: number };
  uniqueProperties: { deals?: string; companies?: string };
  portalId?: string;
}

/**
 * Configs already checked, by the config object: the engine hands every step of a connection the same view until
 * the connection changes, and checking it with zod per record and per request was ~1.3% of the batch benchmark's CPU.
 */
const checked = new WeakMap<object, Readonly<HubSpotConfig>>();

/** The connection's config, checked and with defaults; a bad one fails the step (non-retryable CONNECTION_INVALID). Do not change what it returns. */
export function hubspotConfig(view: ConnectionView): Readonly<HubSpotConfig> {
  const known = view.config ? checked.get(view.config) : undefined;
  if (known) return known;
  const parsed = HubSpotConfigSchema.safeParse(view.config ?? {});
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw failure('CONNECTION_INVALID', `Connection "${view.key}" has a bad config: ${issue.path.join('.') || 'config'} ${issue.message}`, false);
  }
  const c = parsed.data;
  const config: HubSpotConfig = {
    baseUrl: (c.baseUrl ?? HUBSPOT_DEFAULT_BASE_URL).replace(/\/+$/, ''),
    rateLimit: c.rateLimit ?? { ...HUBSPOT_DEFAULT_RATE_LIMIT },
    uniqueProperties: c.uniqueProperties ?? {},
  };
  if (c.portalId !== undefined) config.portalId = String(c.portalId);
  if (view.config) checked.set(view.config, config);
  return config;
}

function accessToken(view: ConnectionView): string {
  const token = view.secrets?.accessToken;
  if (typeof token !== 'string' || token === '') {
    throw failure('CONNECTION_INVALID', `Connection "${view.key}" has no accessToken secret`, false);
  }
  return token;
}

export interface HubSpotRequest {
  method: HttpMethod;
  /** Path and query under the base URL, e.g. `/crm/v3/objects/deals/123`. */
  path: string;
  body?: unknown;
}

/**
 * One request to HubSpot through a connection. Waits for a rate-limit slot first; when HubSpot says the window is
 * used up (`X-HubSpot-RateLimit-Remaining: 0`) or answers 429, tells the shared limiter to back off. Returns 2xx
 * responses; throws a TaskFailure for anything else (see ./errors.ts), NETWORK_ERROR/TIMEOUT/ABORTED from the kit.
 */
export async function hubspotRequest(cc: ConnectionContext, req: HubSpotRequest, signal: AbortSignal): Promise<HttpResponse> {
  const view = cc.connection;
  const { baseUrl } = hubspotConfig(view);
  const token = accessToken(view);
  const headers = { authorization: `Bearer ${token}`, accept: 'application/json', 'user-agent': 'statusflow' };
  await cc.acquire(signal);
  let res: HttpResponse;
  try {
    // The token is redacted from the answer before anything reads or clips it (an echo of it is never stored).
    res = await httpCall({ method: req.method, url: `${baseUrl}${req.path}`, headers, body: req.body, signal, secrets: [token] });
  } finally {
    await cc.settle?.();
  }
  const what = `${req.method} ${req.path.replace(/\?.*$/, '')}`;
  if (res.status === 429) {
    const f = hubspotFailure(res, what, view.key);
    if (f.failure.code === 'HUBSPOT_RATE_LIMIT') await backOff(cc, hubspotRetryAfterMs(res));
    throw withoutSecrets(f, token);
  }
  if (res.headers['x-hubspot-ratelimit-remaining'] === '0' && !pacedWithin(view, res.headers)) {
    await backOff(cc, intervalMs(res.headers) ?? HUBSPOT_DEFAULT_RATE_LIMIT.perMs, 'window-spent');
  }
  if (res.status < 200 || res.status > 299) throw withoutSecrets(hubspotFailure(res, what, view.key), token);
  return res;
}

/** A failure with the token taken out, should HubSpot ever echo it back. */
function withoutSecrets(f: TaskFailure, token: string): TaskFailure {
  return new TaskFailure(redact(f.failure, secretStrings([token])));
}

/**
 * True when the connection's own shared limit is at least as strict as the window HubSpot reports: the
 * limiter then already holds the next request until a slot frees, and pausing for a whole window on
 * `Remaining: 0` (the normal state at the end of every full window) would only cost throughput.
 */
function pacedWithin(view: ConnectionView, headers: Readonly<Record<string, string>>): boolean {
  const max = Number(headers['x-hubspot-ratelimit-max']);
  const interval = intervalMs(headers);
  const own = (view.config.rateLimit as { requests?: number; perMs?: number } | undefined) ?? HUBSPOT_DEFAULT_RATE_LIMIT;
  if (!Number.isFinite(max) || interval === undefined || !own.requests || !own.perMs) return false;
  return own.requests <= max && own.perMs >= interval;
}

/** The rate-limit window HubSpot reports (`X-HubSpot-RateLimit-Interval-Milliseconds`). */
export function intervalMs(headers: Readonly<Record<string, string>>): number | undefined {
  const v = Number(headers['x-hubspot-ratelimit-interval-milliseconds']);
  return Number.isFinite(v) && v > 0 ? v : undefined;
}

/** Tells the shared limiter to pause. Its own failure (e.g. the database is away) must not hide HubSpot's answer. */
async function backOff(cc: ConnectionContext, ms: number, why: '429' | 'window-spent' = '429'): Promise<void> {
  try {
    await cc.backOff(ms, why);
  } catch {
    // The step's outcome is decided by HubSpot's answer; the limiter catches up on the next 429.
  }
}

/** The record's page in HubSpot, when the portal id is configured. */
export function recordUrl(config: HubSpotConfig, object: HubSpotObject, id: string): string | null {
  if (config.portalId === undefined) return null;
  return `https://app.hubspot.com/contacts/${config.portalId}/record/${OBJECT_TYPE_IDS[object]}/${encodeURIComponent(id)}`;
}

/** The task's connection; the definition parser makes it required, so its absence is the engine's bug. */
export function connectionOf(ctx: TaskContext, kind: string): ConnectionContext {
  if (!ctx.connection) throw failure('CONNECTION_REQUIRED', `${kind} needs a hubspot connection`, false);
  const { key, provider } = ctx.connection.connection;
  if (provider !== 'hubspot') throw failure('CONNECTION_INVALID', `${kind} needs a hubspot connection; "${key}" is ${provider}`, false);
  return ctx.connection;
}
