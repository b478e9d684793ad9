/** The REST client: every call sends the session's key in the Authorization header, never in a URL. */

export interface ApiErrorBody {
  code: string;
  message: string;
  details?: unknown;
}

/** An error answered by the API (or a network failure, code NETWORK_ERROR). */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details?: unknown,
  ) {
    super(message);
  }
}

const STORAGE = 'statusflow.key';
let key: string | null = sessionStorage.getItem(STORAGE);
const listeners = new Set<() => void>();

/** The API key of this browser tab's session (sessionStorage: gone when the tab closes). */
export const session = {
  key: () => key,
  set(next: string | null) {
    key = next;
    if (next) sessionStorage.setItem(STORAGE, next);
    else sessionStorage.removeItem(STORAGE);
    for (const l of listeners) l();
  },
  subscribe(l: () => void) {
    listeners.add(l);
    return () => listeners.delete(l);
  },
};

export interface CallOptions {
  body?: unknown;
  headers?: Record<string, string>;
  signal?: AbortSignal;
  /** Use this key instead of the session's (sign-in). */
  key?: string;
}

export async function api<T>(method: string, path: string, o: CallOptions = {}): Promise<T> {
  const headers: Record<string, string> = { ...(o.headers ?? {}) };
  const k = o.key ?? key;
  if (k) headers.authorization = `Bearer ${k}`;
  if (o.body !== undefined) headers['content-type'] = 'application/json';
  let res: Response;
  try {
    res = await fetch(`/api/v1${path}`, { method, headers, body: o.body === undefined ? undefined : JSON.stringify(o.body), signal: o.signal });
  } catch (err) {
    if ((err as Error).name === 'AbortError') throw err;
    throw new ApiError(0, 'NETWORK_ERROR', 'The server could not be reached.');
  }
  if (res.status === 204) return undefined as T;
  const text = await res.text();
  let json: unknown;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    json = undefined;
  }
  if (!res.ok) {
    const e = (json as { error?: ApiErrorBody } | undefined)?.error;
    if (res.status === 401 && !o.key) session.set(null);
    throw new ApiError(res.status, e?.code ?? `HTTP_${res.status}`, e?.message ?? res.statusText, e?.details);
  }
  return json as T;
}

export const get = <T>(path: string, signal?: AbortSignal) => api<T>('GET', path, { signal });

/** Query string from the defined, non-empty values. */
export function qs(params: Record<string, string | number | undefined | null>): string {
  const u = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== '') u.set(k, String(v));
  const s = u.toString();
  return s ? `?${s}` : '';
}

export interface Page<T> {
  items: T[];
  nextCursor: string | null;
}
