/**
 * Dropbox's error answers as failures (CHEATSHEET.md "Dropbox"): 400 is plain text; 401/409/429 are JSON
 * `{error_summary, error:{".tag":…}}`. Route errors (409) are told apart by their `.tag` chain, never by
 * `error_summary`, which is free text kept only for messages.
 */
import { failure, type TaskFailure } from '../../domain/failure.js';
import { clipBody, parseRetryAfter } from '../kit/failures.js';
import type { HttpResponse } from '../kit/http.js';

type Answer = Pick<HttpResponse, 'status' | 'headers' | 'body'>;

/** A wait after 429 when Dropbox names none (it always does in practice). */
const DEFAULT_RETRY_MS = 1000;

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** The `error` object of a JSON error body, if any. */
export function routeError(body: unknown): Record<string, unknown> | undefined {
  return isObject(body) && isObject(body.error) ? body.error : undefined;
}

/**
 * The chain of union tags of a route error, outermost first: `{".tag":"path","reason":{".tag":"conflict",
 * "conflict":{".tag":"file"}}}` → `["path","conflict","file"]`. A member carrying a union is nested under the
 * member's name; a member carrying a struct puts its fields beside `.tag` (the first field that is a union is followed).
 */
export function errorTags(error: unknown): string[] {
  const tags: string[] = [];
  let cur: unknown = error;
  while (isObject(cur) && typeof cur['.tag'] === 'string' && tags.length < 10) {
    const tag = cur['.tag'];
    tags.push(tag);
    const inner = cur[tag];
    if (isObject(inner) && typeof inner['.tag'] === 'string') cur = inner;
    else cur = Object.entries(cur).find(([k, v]) => k !== '.tag' && isObject(v) && typeof v['.tag'] === 'string')?.[1];
  }
  return tags;
}

/** Milliseconds to wait after a 429: the body's `error.retry_after` (seconds), else Retry-After, else 1 s. */
export function dropboxRetryAfterMs(res: Answer): number {
  const inBody = routeError(res.body)?.retry_after;
  if (typeof inBody === 'number' && Number.isFinite(inBody) && inBody >= 0) return Math.round(inBody * 1000);
  return parseRetryAfter(res.headers['retry-after']) ?? DEFAULT_RETRY_MS;
}

export interface DropboxCallInfo {
  /** The route, e.g. "files/upload". */
  what: string;
  /** The connection's key, named in authentication messages. */
  connection: string;
  /** The Dropbox path the call is about, named in route-error messages. */
  path?: string;
  /** Whether the connection can refresh its access token (an expired token is then worth retrying). */
  refreshable?: boolean;
}

/** Route-error tags → code, retryable and a message; the first tag of the chain found here wins. */
const ROUTE_ERRORS: Readonly<Record<string, { code: string; retryable: boolean; say: (p: string, tags: string[]) => string }>> = {
  conflict: {
    code: 'DROPBOX_CONFLICT',
    retryable: false,
    say: (p, tags) =>
      tags.includes('folder')
        ? `a folder already exists at ${p}`
        : tags.includes('file_ancestor')
          ? `a file is in the way at a parent folder of ${p}`
          : `a different file already exists at ${p}; use mode overwrite or update`,
  },
  too_many_write_operations: { code: 'DROPBOX_TOO_MANY_WRITE_OPERATIONS', retryable: true, say: (p) => `too many writes at once in this Dropbox (writing ${p}); try again` },
  insufficient_space: { code: 'DROPBOX_INSUFFICIENT_SPACE', retryable: false, say: (p) => `the Dropbox account has no space left for ${p}` },
  no_write_permission: { code: 'DROPBOX_NO_PERMISSION', retryable: false, say: (p) => `the account may not write to ${p}` },
  access_restricted: { code: 'DROPBOX_NO_PERMISSION', retryable: false, say: (p) => `a team administrator restricts access to ${p}` },
  malformed_path: { code: 'DROPBOX_INVALID_PATH', retryable: false, say: (p) => `${p} is not a valid Dropbox path` },
  disallowed_name: { code: 'DROPBOX_INVALID_PATH', retryable: false, say: (p) => `Dropbox does not allow the name of ${p}` },
  not_found: { code: 'DROPBOX_NOT_FOUND', retryable: false, say: (p) => `there is nothing at ${p}` },
  payload_too_large: { code: 'DROPBOX_PAYLOAD_TOO_LARGE', retryable: false, say: (p) => `the content for ${p} is over 150 MiB` },
};

/**
 * The failure for a non-2xx Dropbox answer. Codes: DROPBOX_BAD_REQUEST (400), DROPBOX_AUTHENTICATION /
 * DROPBOX_MISSING_SCOPE (401), DROPBOX_ACCESS_DENIED (403), by route-error tag (409): DROPBOX_CONFLICT,
 * DROPBOX_NOT_FOUND, DROPBOX_INVALID_PATH, DROPBOX_NO_PERMISSION, DROPBOX_INSUFFICIENT_SPACE,
 * DROPBOX_PAYLOAD_TOO_LARGE, DROPBOX_TOO_MANY_WRITE_OPERATIONS (retryable), else DROPBOX_ROUTE_ERROR;
 * DROPBOX_RATE_LIMIT (429, retryable), DROPBOX_SERVER_ERROR (5xx, retryable), DROPBOX_REQUEST_FAILED (other).
 */
export function dropboxFailure(res: Answer, info: DropboxCallInfo): TaskFailure {
  const s = res.status;
  const error = routeError(res.body);
  const tags = errorTags(error);
  const summary = isObject(res.body) && typeof res.body.error_summary === 'string' ? res.body.error_summary : undefined;
  const text = typeof res.body === 'string' ? res.body.trim().slice(0, 500) : undefined;
  const details: Record<string, unknown> = { status: s };
  if (tags.length > 0) details.tags = tags;
  if (summary) details.errorSummary = summary;
  if (error) details.error = clipBody(error);
  else if (res.body !== undefined && res.body !== '') details.body = clipBody(res.body);
  const said = summary ?? text;
  const tail = said ? ` (${said})` : '';
  const where = info.path ?? info.what;

  if (s === 400) return failure('DROPBOX_BAD_REQUEST', `Dropbox refused ${info.what} as malformed: ${text || summary || 'no reason given'}`, false, { details });
  if (s === 401) {
    const tag = tags[0];
    if (tag === 'missing_scope') {
      const scope = isObject(error) && typeof error.required_scope === 'string' ? error.required_scope : undefined;
      return failure('DROPBOX_MISSING_SCOPE', `The Dropbox app of connection "${info.connection}" lacks the scope ${scope ?? 'needed'} for ${info.what}; add it in the app's Permissions tab and authorize again`, false, { details });
    }
    if (tag === 'expired_access_token') {
      if (info.refreshable) return failure('DROPBOX_AUTHENTICATION', `Dropbox still reports the access token of connection "${info.connection}" as expired after a refresh`, true, { details });
      return failure('DROPBOX_AUTHENTICATION', `The access token of connection "${info.connection}" has expired (Dropbox access tokens last 4 hours): give the connection a refreshToken, appKey and appSecret instead`, false, { details });
    }
    return failure('DROPBOX_AUTHENTICATION', `Dropbox did not accept the access token of connection "${info.connection}"${tail}; update the connection's secrets`, false, { details });
  }
  if (s === 403) return failure('DROPBOX_ACCESS_DENIED', `Dropbox denied ${info.what} to connection "${info.connection}"${tail}`, false, { details });
  if (s === 409) {
    const known = tags.find((t) => t in ROUTE_ERRORS);
    if (known) {
      const e = ROUTE_ERRORS[known]!;
      return failure(e.code, `Dropbox ${info.what}: ${e.say(where, tags)}${tail}`, e.retryable, { details });
    }
    return failure('DROPBOX_ROUTE_ERROR', `Dropbox refused ${info.what}${info.path ? ` for ${info.path}` : ''}: ${tags.join('/') || said || 'no reason given'}`, false, { details });
  }
  if (s === 429) {
    return failure('DROPBOX_RATE_LIMIT', `Dropbox asks connection "${info.connection}" to slow down${tail}`, true, { details, retryAfterMs: dropboxRetryAfterMs(res) });
  }
  if (s >= 500) {
    const retryAfterMs = parseRetryAfter(res.headers['retry-after']);
    return failure('DROPBOX_SERVER_ERROR', `Dropbox answered ${s} to ${info.what}${tail}`, true, retryAfterMs === undefined ? { details } : { details, retryAfterMs });
  }
  return failure('DROPBOX_REQUEST_FAILED', `Dropbox answered ${s} to ${info.what}${tail}`, s === 408, { details });
}
