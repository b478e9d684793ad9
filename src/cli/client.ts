/**
 * The REST client of the `statusflow` commands: JSON over fetch, the API key as a bearer token, and
 * the API's error body turned into a CliError that names the stable code. Nothing of the server is
 * imported here, so client commands start fast.
 */
import { CliError, EXIT } from './exit.js';

export interface ApiErrorBody {
  error?: { code?: string; message?: string; details?: { fields?: Array<{ path?: string; message?: string }>; objects?: Array<{ kind?: string; key?: string; reason?: string }> } };
}

export interface ClientOptions {
  url: string;
  apiKey: string | undefined;
}

/** A list page of the API. */
export interface Page<T> {
  items: T[];
  nextCursor: string | null;
}

export class ApiClient {
  readonly base: string;

  constructor(private readonly options: ClientOptions) {
    this.base = options.url.replace(/\/+$/, '');
  }

  get<T>(path: string): Promise<T> {
    return this.request<T>('GET', path);
  }

  post<T>(path: string, body?: unknown, contentType = 'application/json'): Promise<T> {
    return this.request<T>('POST', path, body, contentType);
  }

  /** Every item of a listed resource, following `nextCursor` (`limit` items at most). */
  async all<T>(path: string, limit = Number.POSITIVE_INFINITY): Promise<T[]> {
    const out: T[] = [];
    let cursor: string | null = null;
    do {
      const sep = path.includes('?') ? '&' : '?';
      const size = Math.min(500, limit - out.length);
      const page: Page<T> = await this.get<Page<T>>(`${path}${sep}limit=${size}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
      out.push(...page.items);
      cursor = page.nextCursor;
    } while (cursor && out.length < limit);
    return out;
  }

  async request<T>(method: string, path: string, body?: unknown, contentType = 'application/json', accept = 'application/json'): Promise<T> {
    let payload: string | undefined;
    if (body !== undefined) payload = typeof body === 'string' ? body : JSON.stringify(body);
    const res = await this.fetch(method, path, { accept, ...(payload === undefined ? {} : { 'content-type': contentType }) }, payload);
    const text = await res.text();
    if (!res.ok) throw apiError(res.status, text);
    if (accept !== 'application/json') return text as T;
    return (text ? JSON.parse(text) : undefined) as T;
  }

  /** A response whose body is read as it arrives (`GET /api/v1/stream`); an answer other than 2xx is the API's error. */
  async open(path: string, accept: string, signal: AbortSignal): Promise<Response> {
    const res = await this.fetch('GET', path, { accept }, undefined, signal);
    if (!res.ok) throw apiError(res.status, await res.text());
    return res;
  }

  private async fetch(method: string, path: string, headers: Record<string, string>, body: string | undefined, signal?: AbortSignal): Promise<Response> {
    if (!this.options.apiKey) {
      throw new CliError('no API key: pass --key <key> or set STATUSFLOW_API_KEY (the admin key is printed on the first `statusflow start`)', EXIT.usage);
    }
    try {
      return await fetch(this.base + path, { method, headers: { authorization: `Bearer ${this.options.apiKey}`, ...headers }, body, signal });
    } catch (err) {
      if (signal?.aborted) throw err;
      const cause = (err as { cause?: { code?: string; message?: string } }).cause;
      throw new CliError(`cannot reach Statusflow at ${this.base} (${cause?.code ?? cause?.message ?? (err as Error).message}); is it running? Start it with "statusflow start", or point --url / STATUSFLOW_URL at it`);
    }
  }
}

/** An error answer of the server (as opposed to not reaching it): `code` is the API's stable code, when it gave one. */
export class ApiError extends CliError {
  constructor(
    message: string,
    readonly status: number,
    readonly code: string | undefined,
    lines: string[] = [],
  ) {
    super(message, EXIT.error, lines);
  }
}

/** The API's error as a CliError: `CODE (status): message`, then one line per field or object. */
export function apiError(status: number, text: string): ApiError {
  let body: ApiErrorBody = {};
  try {
    body = JSON.parse(text) as ApiErrorBody;
  } catch {
    // not the API's error shape (a proxy?): show the text
  }
  const e = body.error;
  if (!e?.code) return new ApiError(`HTTP ${status}: ${text.slice(0, 500)}`, status, undefined);
  const lines = [
    ...(e.details?.fields ?? []).map((f) => `  ${f.path || '(document)'}: ${f.message ?? ''}`),
    ...(e.details?.objects ?? []).map((o) => `  ${o.kind} "${o.key}": ${o.reason ?? ''}`),
  ];
  // One problem is already in the message; several are listed under it.
  return new ApiError(`${e.code} (${status}): ${e.message ?? ''}`, status, e.code, lines.length > 1 ? lines.slice(0, 50) : []);
}
