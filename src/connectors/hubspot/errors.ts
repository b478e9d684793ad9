/**
 * HubSpot's error answers as failures (CHEATSHEET.md "HubSpot"): body `{status:"error", message, correlationId,
 * category, subCategory?, errors?[]}`; 429 bodies carry `policyName`. The correlation id is always kept in
 * `details` (HubSpot support asks for it).
 */
import { failure, type TaskFailure } from '../../domain/failure.js';
import { clipBody, parseRetryAfter } from '../kit/failures.js';
import type { HttpResponse } from '../kit/http.js';

type Answer = Pick<HttpResponse, 'status' | 'headers' | 'body'>;

interface ErrorBody {
  message?: string;
  category?: string;
  subCategory?: string;
  correlationId?: string;
  policyName?: string;
  errors?: unknown[];
  context?: unknown;
}

/** A rate-limit wait when HubSpot gives neither Retry-After nor an interval (its window is 10 s). */
const DEFAULT_WAIT_MS = 10_000;

function errorBody(body: unknown): ErrorBody {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return {};
  const b = body as Record<string, unknown>;
  const out: ErrorBody = {};
  for (const k of ['message', 'category', 'subCategory', 'correlationId', 'policyName'] as const) if (typeof b[k] === 'string') out[k] = b[k];
  if (Array.isArray(b.errors)) out.errors = b.errors;
  if (b.context !== undefined) out.context = b.context;
  return out;
}

/** How long to wait after a 429: Retry-After, else the reported window, else 10 s (TEN_SECONDLY_ROLLING / SECONDLY). */
export function hubspotRetryAfterMs(res: Answer): number {
  const retryAfter = parseRetryAfter(res.headers['retry-after']);
  if (retryAfter !== undefined) return retryAfter;
  const interval = Number(res.headers['x-hubspot-ratelimit-interval-milliseconds']);
  return Number.isFinite(interval) && interval > 0 ? interval : DEFAULT_WAIT_MS;
}

/**
 * The failure for a non-2xx HubSpot answer to `what` (e.g. "PATCH /crm/v3/objects/deals/1") through connection
 * `connection`. Codes: HUBSPOT_VALIDATION_ERROR (400), HUBSPOT_AUTHENTICATION (401), HUBSPOT_MISSING_SCOPES (403),
 * HUBSPOT_OBJECT_NOT_FOUND (404), HUBSPOT_CONFLICT (409), HUBSPOT_RATE_LIMIT (429, retryable),
 * HUBSPOT_DAILY_LIMIT (429 DAILY), HUBSPOT_SERVER_ERROR (5xx, retryable), HUBSPOT_REQUEST_FAILED (other).
 */
export function hubspotFailure(res: Answer, what: string, connection: string): TaskFailure {
  const b = errorBody(res.body);
  const said = b.message ?? (typeof res.body === 'string' && res.body.trim() !== '' ? res.body.trim().slice(0, 500) : undefined);
  const details: Record<string, unknown> = { status: res.status, correlationId: b.correlationId ?? null };
  if (b.category) details.category = b.category;
  if (b.subCategory) details.subCategory = b.subCategory;
  if (b.errors) details.errors = clipBody(b.errors);
  if (b.context !== undefined) details.context = clipBody(b.context);
  if (b.policyName) details.policyName = b.policyName;
  if (!b.message && res.body !== undefined && res.body !== '') details.body = clipBody(res.body);
  const tail = said ? `: ${said}` : '';
  const s = res.status;

  if (s === 400) return failure('HUBSPOT_VALIDATION_ERROR', `HubSpot refused ${what}${tail}`, false, { details });
  if (s === 401) {
    return failure('HUBSPOT_AUTHENTICATION', `HubSpot did not accept the access token of connection "${connection}"${tail} (update the connection's secrets)`, false, { details });
  }
  if (s === 403) {
    return failure('HUBSPOT_MISSING_SCOPES', `The access token of connection "${connection}" is not allowed to ${what}${tail} (give the private app the scopes listed in docs/connectors/hubspot.md)`, false, { details });
  }
  if (s === 404) return failure('HUBSPOT_OBJECT_NOT_FOUND', `HubSpot found nothing for ${what}${tail}`, false, { details });
  if (s === 409) return failure('HUBSPOT_CONFLICT', `HubSpot refused ${what} as a conflict${tail}`, false, { details });
  if (s === 429) {
    if (b.policyName === 'DAILY') {
      return failure('HUBSPOT_DAILY_LIMIT', `Connection "${connection}" has used up HubSpot's daily request quota${tail}; it resets at midnight in the account's time zone`, false, { details });
    }
    const retryAfterMs = hubspotRetryAfterMs(res);
    return failure('HUBSPOT_RATE_LIMIT', `HubSpot rate limit reached for connection "${connection}" on ${what}${tail}`, true, { details, retryAfterMs });
  }
  if (s >= 500) {
    const retryAfterMs = parseRetryAfter(res.headers['retry-after']);
    return failure('HUBSPOT_SERVER_ERROR', `HubSpot answered ${s} to ${what}${tail}`, true, retryAfterMs === undefined ? { details } : { details, retryAfterMs });
  }
  return failure('HUBSPOT_REQUEST_FAILED', `HubSpot answered ${s} to ${what}${tail}`, s === 408, { details });
}

/** HTTP status of an error category, for the per-input errors of a batch answered 207. */
const CATEGORY_STATUS: Readonly<Record<string, number>> = {
  VALIDATION_ERROR: 400,
  INVALID_AUTHENTICATION: 401,
  EXPIRED_AUTHENTICATION: 401,
  MISSING_SCOPES: 403,
  OBJECT_NOT_FOUND: 404,
  CONFLICT: 409,
  RATE_LIMITS: 429,
};

/**
 * The failure for one error of a batch answer (207 `errors[]`: `{status:"error", category, message, context, errors?}`),
 * mapped as if it were the whole answer.
 */
export function hubspotBatchItemFailure(item: unknown, correlationId: string | undefined, what: string, connection: string): TaskFailure {
  const b = errorBody(item);
  const status = (b.category && CATEGORY_STATUS[b.category]) || 400;
  const body = { ...(item as object), correlationId: b.correlationId ?? correlationId };
  return hubspotFailure({ status, headers: {}, body }, what, connection);
}
