/**
 * Dropbox access tokens. A connection holds either a fixed `accessToken` or a `refreshToken` with its app's
 * `appKey`/`appSecret`; with the latter a short-lived token (4 h) is fetched from `POST {baseUrl}/oauth2/token`,
 * kept in the connection's `memo` (per process, shared by every task of the connection) and fetched again
 * 5 minutes before it expires, or when Dropbox answers 401 `expired_access_token`. Concurrent refreshes of one
 * connection share one request.
 */
import { failure } from '../../domain/failure.js';
import type { ConnectionContext, ConnectionView } from '../types.js';
import { httpCall } from '../kit/http.js';
import { dropboxFailure } from './errors.js';

/** A token is renewed this long before Dropbox says it expires. */
export const REFRESH_MARGIN_MS = 5 * 60_000;
/** Dropbox's short-lived token lifetime, when the answer does not say. */
const DEFAULT_EXPIRES_IN_S = 14_400;

const TOKEN = 'dropbox.accessToken';
const REFRESHING = 'dropbox.refreshing';

interface KeptToken {
  token: string;
  /** Epoch ms at which Dropbox said the token stops working. */
  expiresAt: number;
  /** The refresh token it was made from: a change of the connection's secrets invalidates it. */
  refreshToken: string;
}

interface RefreshSecrets {
  refreshToken: string;
  appKey: string;
  appSecret: string;
}

function refreshSecrets(view: ConnectionView): RefreshSecrets | undefined {
  const { refreshToken, appKey, appSecret } = view.secrets ?? {};
  return refreshToken && appKey && appSecret ? { refreshToken, appKey, appSecret } : undefined;
}

/** The short-lived token kept for the connection, if any (to keep it out of failures). */
export function keptAccessToken(cc: ConnectionContext): string | undefined {
  return (cc.memo.get(TOKEN) as KeptToken | undefined)?.token;
}

/** Whether the connection can get new access tokens by itself. */
export function isRefreshable(view: ConnectionView): boolean {
  return refreshSecrets(view) !== undefined && !view.secrets?.accessToken;
}

/**
 * The access token to send. `stale`: a token Dropbox just called expired — a new one is fetched unless another
 * task has already replaced it.
 */
export async function dropboxAccessToken(cc: ConnectionContext, baseUrl: string, signal: AbortSignal, stale?: string): Promise<string> {
  const view = cc.connection;
  if (view.secrets?.accessToken) return view.secrets.accessToken;
  const secrets = refreshSecrets(view);
  if (!secrets) throw failure('CONNECTION_INVALID', `Connection "${view.key}" needs either an accessToken or a refreshToken, appKey and appSecret`, false);

  const kept = cc.memo.get(TOKEN) as KeptToken | undefined;
  if (kept && kept.refreshToken === secrets.refreshToken && kept.token !== stale && kept.expiresAt - REFRESH_MARGIN_MS > Date.now()) return kept.token;

  let pending = cc.memo.get(REFRESHING) as Promise<KeptToken> | undefined;
  if (!pending) {
    pending = refresh(cc, baseUrl, secrets, signal).finally(() => cc.memo.delete(REFRESHING));
    cc.memo.set(REFRESHING, pending);
  }
  const fresh = await pending;
  cc.memo.set(TOKEN, fresh);
  return fresh.token;
}

async function refresh(cc: ConnectionContext, baseUrl: string, secrets: RefreshSecrets, signal: AbortSignal): Promise<KeptToken> {
  const what = 'oauth2/token';
  const body = new URLSearchParams({ grant_type: 'refresh_token', refresh_token: secrets.refreshToken, client_id: secrets.appKey, client_secret: secrets.appSecret }).toString();
  await cc.acquire(signal);
  const res = await httpCall({
    method: 'POST',
    url: `${baseUrl}/oauth2/token`,
    headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json', 'user-agent': 'statusflow' },
    body,
    signal,
    // The answer's new access token is not among these: only what was sent is redacted.
    secrets: [secrets.refreshToken, secrets.appSecret],
  });
  const b = (typeof res.body === 'object' && res.body !== null ? res.body : {}) as { access_token?: unknown; expires_in?: unknown; error?: unknown; error_description?: unknown };
  if (res.status === 200 && typeof b.access_token === 'string' && b.access_token !== '') {
    const expiresIn = typeof b.expires_in === 'number' && b.expires_in > 0 ? b.expires_in : DEFAULT_EXPIRES_IN_S;
    return { token: b.access_token, expiresAt: Date.now() + expiresIn * 1000, refreshToken: secrets.refreshToken };
  }
  if (res.status === 400 || res.status === 401) {
    // OAuth errors: {error: "invalid_grant" | "invalid_client" | …, error_description}.
    const why = [b.error, b.error_description].filter((x) => typeof x === 'string' && x !== '').join(': ') || (typeof res.body === 'string' ? res.body.slice(0, 300) : 'no reason given');
    throw failure(
      'DROPBOX_AUTHENTICATION',
      `Dropbox refused to renew the access token of connection "${cc.connection.key}" (${why}): check appKey and appSecret, or authorize the app again and update the refreshToken`,
      false,
      { details: { status: res.status, error: typeof b.error === 'string' ? b.error : null } },
    );
  }
  if (res.status === 429) await cc.backOff(dropboxFailure(res, { what, connection: cc.connection.key }).failure.retryAfterMs!).catch(() => undefined);
  if (res.status >= 200 && res.status < 300) {
    throw failure('DROPBOX_AUTHENTICATION', `Dropbox answered ${what} for connection "${cc.connection.key}" without an access_token`, true, { details: { status: res.status } });
  }
  throw dropboxFailure(res, { what, connection: cc.connection.key });
}
