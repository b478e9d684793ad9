/**
 * Error → Failure classification shared by every connector (DESIGN.md "Execution"): network errors, 5xx,
 * 408 and 429 are retryable, other 4xx are not; Retry-After is honoured.
 */
import { failure, type TaskFailure } from '../../domain/failure.js';

/** Most characters of a provider's message or body kept in a failure. */
const MESSAGE_CHARS = 500;
const DETAILS_CHARS = 4000;

/**
 * Milliseconds to wait according to a Retry-After value: delta-seconds ("120", decimals tolerated) or an
 * HTTP-date (a past date gives 0). Undefined when absent or unreadable.
 */
export function parseRetryAfter(value: string | null | undefined, now: number = Date.now()): number | undefined {
  if (value === undefined || value === null) return undefined;
  const v = value.trim();
  if (v === '') return undefined;
  if (/^\d+(\.\d+)?$/.test(v)) return Math.round(Number(v) * 1000);
  if (/^-/.test(v)) return undefined;
  const at = Date.parse(v);
  if (Number.isNaN(at)) return undefined;
  return Math.max(0, at - now);
}

/** A human message from an error body: `message`, `error.message`, `error` (string), `detail`, `title`… or the text. */
export function messageOf(body: unknown): string | undefined {
  if (typeof body === 'string') {
    const t = body.trim();
    return t === '' ? undefined : clip(t, MESSAGE_CHARS);
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return body === undefined || body === null ? undefined : clip(JSON.stringify(body), MESSAGE_CHARS);
  const b = body as Record<string, unknown>;
  for (const k of ['message', 'error_description', 'detail', 'title', 'error', 'errors']) {
    const v = b[k];
    if (typeof v === 'string' && v.trim() !== '') return clip(v.trim(), MESSAGE_CHARS);
    if (typeof v === 'object' && v !== null) {
      const inner = messageOf(Array.isArray(v) ? v[0] : v);
      if (inner !== undefined) return inner;
    }
  }
  return clip(JSON.stringify(body), MESSAGE_CHARS);
}

/** A body small enough to keep in a failure's details: text clipped, large JSON replaced by its clipped text. */
export function clipBody(body: unknown): unknown {
  if (typeof body === 'string') return clip(body, DETAILS_CHARS);
  if (body === undefined || body === null || typeof body !== 'object') return body;
  const json = JSON.stringify(body);
  return json.length <= DETAILS_CHARS ? body : clip(json, DETAILS_CHARS);
}

function clip(s: string, max: number): string {
  return s.length <= max ? s : `${s.slice(0, max)}…`;
}

/**
 * The failure for an HTTP response that is not a success. `what` names the call in the message
 * (e.g. "POST https://example.com/hooks"). Codes: HTTP_429; HTTP_STATUS_<n> (5xx and 408 retryable, other 4xx not).
 */
export function failureForResponse(status: number, headers: Readonly<Record<string, string>>, body: unknown, what: string): TaskFailure {
  const said = messageOf(body);
  const message = `${what} answered ${status}${said ? `: ${said}` : ''}`;
  const details = { status, body: clipBody(body) };
  const retryAfterMs = status === 429 || status === 503 ? parseRetryAfter(headers['retry-after']) : undefined;
  const extra = retryAfterMs === undefined ? { details } : { details, retryAfterMs };
  if (status === 429) return failure('HTTP_429', message, true, extra);
  const retryable = status >= 500 || status === 408;
  return failure(`HTTP_STATUS_${status}`, message, retryable, extra);
}

/** Refusal codes of the save pipeline that can succeed when repeated (someone else saved in between). */
const RETRYABLE_SAVE_CODES = new Set(['VERSION_CONFLICT', 'ENTITY_TYPE_CHANGED']);

/**
 * A save refused by the engine (an error with a string `code` and a 4xx `status`, duck-typed: connectors do not
 * import the engine) as a TaskFailure with the same code, message and details; non-retryable except
 * VERSION_CONFLICT / ENTITY_TYPE_CHANGED. Any other error is returned unchanged (the caller rethrows it).
 */
export function failureForSaveError(err: unknown): unknown {
  if (typeof err !== 'object' || err === null) return err;
  const { code, status, message, details } = err as { code?: unknown; status?: unknown; message?: unknown; details?: unknown };
  if (typeof code !== 'string' || typeof status !== 'number' || status < 400 || status > 499) return err;
  const extra = details === undefined ? {} : { details };
  return failure(code, typeof message === 'string' ? message : code, RETRYABLE_SAVE_CODES.has(code), extra);
}
