/**
 * In-memory fake of HubSpot CRM v3 objects + v4 associations (contacts, companies, deals), following
 * /work/shared/contracts/CHEATSHEET.md: Bearer auth, string property values, unique-property upserts,
 * 201/200/207/204 statuses, error bodies with correlationId + category, rolling rate limits with the
 * X-HubSpot-RateLimit-* headers and the 429 policy bodies, search with optional index lag. This file holds the
 * records, auth, rate limits and routing; search and the batch endpoints are in hubspot-search.ts and
 * hubspot-batch.ts, the vocabulary in hubspot-model.ts. See README.md.
 */
import { FaultController, sequentialUuid, startSandboxServer, type Exchange, type Faults, type InjectedFault, type RecordedRequest, type Reply } from './faults.js';
import { associationHandlers } from './hubspot-associations.js';
import { batchHandlers } from './hubspot-batch.js';
import { PropertyIndex } from './hubspot-index.js';
import {
  BUILT_IN, DEFAULT_READ, fail, HttpFail, isRecord, MODIFIED, READ_ONLY, SINGULAR, TYPE_IDS, TYPES,
  type BatchValidation, type Fail, type HubSpotAssociation, type HubSpotObject, type HubSpotObjectType, type HubSpotRateLimit, type HubSpotRecords, type PropIssue,
} from './hubspot-model.js';
import { searchHandler } from './hubspot-search.js';

export type { BatchValidation, HubSpotAssociation, HubSpotObject, HubSpotObjectType, HubSpotRateLimit } from './hubspot-model.js';

export interface SandboxHubSpotOptions {
  /** Private-app token accepted as `Authorization: Bearer <token>` (default 'pat-na1-fake'). */
  token?: string;
  /** More valid tokens; each has its own rate-limit window. */
  tokens?: string[];
  /** Rolling window per token (default 100 / 10 000 ms, daily 250 000). */
  rateLimit?: HubSpotRateLimit;
  /** Search's own limit per token (default 5 / 1000 ms); null disables it. */
  searchRateLimit?: { requests: number; perMs: number } | null;
  /** Unique properties per type, added to the default (contacts: email). */
  uniqueProperties?: Partial<Record<HubSpotObjectType, string[]>>;
  /** Custom properties per type, added to the built-in ones. */
  properties?: Partial<Record<HubSpotObjectType, string[]>>;
  /** Search sees writes only this many ms after they happen (default 0). */
  searchLagMs?: number;
  /** Send Retry-After (seconds) on genuine 429s; HubSpot does not do it reliably (default false). */
  retryAfterHeader?: boolean;
  /** Send X-HubSpot-RateLimit-Daily(-Remaining) (default true; real OAuth calls lack them). */
  dailyHeaders?: boolean;
  /** Enables `POST /oauth/v1/token` (grant_type=refresh_token). */
  oauth?: { clientId: string; clientSecret: string; refreshToken: string };
  /** Seed of the fault RNG (default 1). */
  seed?: number;
  /** Clock in ms (default Date.now); drives timestamps, rate-limit windows and search lag. */
  now?: () => number;
  /** Keep every request in `requests` (default true); `requestCounts` counts them either way. */
  recordRequests?: boolean;
}

export interface SandboxHubSpot {
  url: string;
  token: string;
  state: { objects: Map<HubSpotObjectType, Map<string, HubSpotObject>>; associations: HubSpotAssociation[] };
  requests: RecordedRequest[];
  /** Genuine 429s sent because a rate limit was exceeded (injected storms are in faults.injected). */
  readonly rateLimited: number;
  /** Requests answered (not injected faults), by endpoint: `POST /crm/v3/objects/deals/batch/upsert`, ids as `{id}`. */
  requestCounts: Map<string, number>;
  /** See BatchValidation; may be changed at any time. */
  batchValidation: BatchValidation;
  /**
   * Refuses, as HubSpot refuses an invalid value, every write that sets `property` of `type` to `value`:
   * 400 VALIDATION_ERROR (INVALID_OPTION) alone, per `batchValidation` in a batch. `clearRefusals()` ends them.
   */
  refuse(type: HubSpotObjectType, property: string, value: string): void;
  clearRefusals(): void;
  faults: Faults;
  searchLagMs: number;
  setRateLimit(o: HubSpotRateLimit): void;
  defineUniqueProperty(type: HubSpotObjectType, name: string): void;
  defineProperty(type: HubSpotObjectType, name: string): void;
  /** Seeds a record directly (no request, no rate limit); properties as given, coerced to strings. */
  insert(type: HubSpotObjectType, properties: Record<string, unknown>): HubSpotObject;
  /** OAuth access tokens issued by /oauth/v1/token answer 401 EXPIRED_AUTHENTICATION from now on. */
  expireAccessTokens(): void;
  close(): Promise<void>;
}

export async function startSandboxHubSpot(options: SandboxHubSpotOptions = {}): Promise<SandboxHubSpot> {
  const now = options.now ?? Date.now;
  const iso = () => new Date(now()).toISOString();
  const token = options.token ?? 'pat-na1-fake';
  const faults = new FaultController(options.seed ?? 1);
  const correlationId = sequentialUuid();
  const requests: RecordedRequest[] = [];
  const objects = new Map<HubSpotObjectType, Map<string, HubSpotObject>>(TYPES.map((t) => [t, new Map()]));
  const associations: HubSpotAssociation[] = [];
  const known = new Map(TYPES.map((t) => [t, new Set([...BUILT_IN[t], ...(options.properties?.[t] ?? [])])]));
  const unique = new Map(TYPES.map((t) => [t, new Set(t === 'contacts' ? ['email'] : [])]));
  for (const t of TYPES) for (const p of options.uniqueProperties?.[t] ?? []) { unique.get(t)!.add(p); known.get(t)!.add(p); }
  let limit: Required<HubSpotRateLimit> = { daily: 250_000, ...(options.rateLimit ?? { requests: 100, perMs: 10_000 }) };
  const searchLimit = options.searchRateLimit === undefined ? { requests: 5, perMs: 1000 } : options.searchRateLimit;
  const windows = new Map<string, { hits: number[]; searchHits: number[]; daily: number }>();
  const valid = new Map<string, { oauth: boolean; expired: boolean }>([[token, { oauth: false, expired: false }], ...(options.tokens ?? []).map((t) => [t, { oauth: false, expired: false }] as const)]);
  /** Per-object write history, used by search when searchLagMs > 0. */
  const versions = new Map<string, Array<{ at: number; properties: Record<string, string>; archived: boolean }>>();
  let nextId = 101;
  let rateLimited = 0;
  let oauthCount = 0;
  const requestCounts = new Map<string, number>();
  const refusals: Array<{ type: HubSpotObjectType; property: string; value: string }> = [];
  const errorBody = (f: Fail) => ({ status: 'error', message: f.message, correlationId: correlationId(), category: f.category, ...(f.errors ? { errors: f.errors } : {}), ...(f.context ? { context: f.context } : {}), ...f.extra });
  const parseType = (raw: string | undefined): HubSpotObjectType => TYPE_IDS[raw ?? ''] ?? fail(400, 'VALIDATION_ERROR', `Unable to infer object type from: ${raw}`);
  const table = (t: HubSpotObjectType) => objects.get(t)!;
  // Without search lag a write is searchable at once, as a record without history is: no copy of every write kept.
  const snapshot = (o: HubSpotObject) => (fakeState.searchLagMs <= 0 ? versions.delete(o.id) : versions.set(o.id, [...(versions.get(o.id) ?? []), { at: now(), properties: { ...o.properties }, archived: o.archived }]));
  // ---- properties -------------------------------------------------------------------------------
  /** Coerces values to strings (HubSpot accepts numbers/booleans) and lists invalid ones. */
  function checkProperties(type: HubSpotObjectType, input: unknown): { values: Record<string, string>; issues: PropIssue[] } {
    const values: Record<string, string> = {};
    const issues: PropIssue[] = [];
    if (input === undefined) return { values, issues };
    if (!isRecord(input)) fail(400, 'VALIDATION_ERROR', 'Invalid input JSON: properties must be an object');
    for (const [name, raw] of Object.entries(input as Record<string, unknown>)) {
      if (READ_ONLY.includes(name)) { issues.push({ isValid: false, message: `${name} is a read only property; its value cannot be set.`, error: 'READ_ONLY_VALUE', name }); continue; }
      if (!known.get(type)!.has(name)) { issues.push({ isValid: false, message: `Property "${name}" does not exist`, error: 'PROPERTY_DOESNT_EXIST', name }); continue; }
      if (raw !== null && typeof raw === 'object') { issues.push({ isValid: false, message: `${JSON.stringify(raw)} was not a valid value for ${name}`, error: 'INVALID_OPTION', name }); continue; }
      let value = raw === null || raw === undefined ? '' : typeof raw === 'number' && !Number.isFinite(raw) ? 'NaN' : String(raw);
      if (refusals.some((r) => r.type === type && r.property === name && r.value === value)) { issues.push({ isValid: false, message: `${value} was not one of the allowed options for ${name}`, error: 'INVALID_OPTION', name }); continue; }
      if (type === 'contacts' && name === 'email' && value !== '') {
        value = value.toLowerCase();
        if (!/^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(value)) { issues.push({ isValid: false, message: `Email address ${value} is invalid`, error: 'INVALID_EMAIL', name }); continue; }
      }
      values[name] = value;
    }
    return { values, issues };
  }
  const invalid = (issues: PropIssue[]): Fail => ({
    status: 400, category: 'VALIDATION_ERROR', message: `Property values were not valid: ${JSON.stringify(issues)}`,
    errors: issues.map((i) => ({ message: i.message, code: i.error, context: { propertyName: [i.name] } })),
  });
  const norm = (type: HubSpotObjectType, prop: string, v: string) => (type === 'contacts' && prop === 'email' ? v.toLowerCase() : v);
  const index = new PropertyIndex(table);
  const findBy = (type: HubSpotObjectType, prop: string, value: string, includeArchived = false) => index.find(type, prop, norm(type, prop, value), includeArchived);
  /** The 409 a write would cause by taking a unique value already held by another record. */
  function uniqueClash(type: HubSpotObjectType, values: Record<string, string>, selfId?: string): Fail | undefined {
    for (const prop of unique.get(type)!) {
      const v = values[prop];
      if (!v) continue;
      const other = findBy(type, prop, v);
      if (other && other.id !== selfId) {
        const message = type === 'contacts' && prop === 'email' ? `Contact already exists. Existing ID: ${other.id}` : `A ${SINGULAR[type]} with ${prop}=${v} already exists. Existing ID: ${other.id}`;
        return { status: 409, category: 'CONFLICT', message };
      }
    }
    return undefined;
  }
  function create(type: HubSpotObjectType, values: Record<string, string>): HubSpotObject {
    const id = String(nextId++);
    const at = iso();
    const properties: Record<string, string> = {};
    for (const [k, v] of Object.entries(values)) if (v !== '') properties[k] = v;
    Object.assign(properties, { hs_object_id: id, createdate: at, [MODIFIED[type]]: at });
    const o: HubSpotObject = { id, properties, createdAt: at, updatedAt: at, archived: false };
    table(type).set(id, o);
    for (const [k, v] of Object.entries(properties)) index.changed(type, o, k, undefined, v);
    snapshot(o);
    return o;
  }
  function update(type: HubSpotObjectType, o: HubSpotObject, values: Record<string, string>): HubSpotObject {
    let changed = false;
    for (const [k, v] of Object.entries(values)) {
      if (v === '' ? o.properties[k] === undefined : o.properties[k] === v) continue;
      changed = true;
      index.set(type, o, k, v === '' ? undefined : v);
    }
    if (changed) {
      o.updatedAt = iso();
      index.set(type, o, MODIFIED[type], o.updatedAt);
      snapshot(o);
    }
    return o;
  }
  /** Response shape; `props` undefined = every stored property (write responses), else only those named (null when unset). */
  const view = (o: HubSpotObject, props?: string[]) => ({
    id: o.id,
    properties: props ? Object.fromEntries(props.map((p) => [p, o.properties[p] ?? null])) : { ...o.properties },
    createdAt: o.createdAt, updatedAt: o.updatedAt, archived: o.archived, ...(o.archivedAt ? { archivedAt: o.archivedAt } : {}),
  });
  const readProps = (type: HubSpotObjectType, requested: unknown) => {
    const list = Array.isArray(requested) ? requested.map(String) : typeof requested === 'string' && requested !== '' ? requested.split(',') : [];
    return [...new Set([...DEFAULT_READ[type].filter((p) => list.length === 0 || ['createdate', MODIFIED[type], 'hs_object_id'].includes(p)), ...list])];
  };
  function lookup(type: HubSpotObjectType, id: string, idProperty: string | undefined, includeArchived = false): HubSpotObject | undefined {
    if (idProperty && idProperty !== 'hs_object_id') {
      if (!unique.get(type)!.has(idProperty)) fail(400, 'VALIDATION_ERROR', `Property ${idProperty} is not a unique identifier property for ${type}; only unique properties can be used as idProperty`);
      return findBy(type, idProperty, id, includeArchived);
    }
    const o = table(type).get(id);
    return o && (includeArchived || !o.archived) ? o : undefined;
  }
  const notFound = (id: string): Fail => ({ status: 404, category: 'OBJECT_NOT_FOUND', message: 'Object not found.  objectId are usually numeric.', context: { id: [id] } });

  // ---- associations, search and batches (hubspot-associations.ts, hubspot-search.ts, hubspot-batch.ts) ----
  const { associate, inlineAssociations, objectAssociations } = associationHandlers({ table, associations, iso, parseType, jsonBody: (x) => jsonBody(x) });
  const records: HubSpotRecords = {
    now, iso, table, versions, unique, checkProperties, invalid, norm, uniqueClash, create, update, view, readProps, lookup, associate, inlineAssociations, snapshot,
    searchLagMs: () => fakeState.searchLagMs,
    batchValidation: () => fakeState.batchValidation,
  };
  const search = searchHandler(records);
  const { batch, batchAssociate, archive } = batchHandlers(records);

  // ---- auth, rate limits, routing ---------------------------------------------------------------
  function windowOf(t: string) {
    let w = windows.get(t);
    if (!w) windows.set(t, (w = { hits: [], searchHits: [], daily: 0 }));
    return w;
  }
  const limitHeaders = (w: { hits: number[]; daily: number }): Record<string, string> => ({
    'x-hubspot-ratelimit-max': String(limit.requests),
    'x-hubspot-ratelimit-remaining': String(Math.max(0, limit.requests - w.hits.length)),
    'x-hubspot-ratelimit-interval-milliseconds': String(limit.perMs),
    ...(options.dailyHeaders === false ? {} : { 'x-hubspot-ratelimit-daily': String(limit.daily), 'x-hubspot-ratelimit-daily-remaining': String(Math.max(0, limit.daily - w.daily)) }),
  });
  const tooMany = (policyName: string, headers: Record<string, string>): Reply => ({
    status: 429,
    headers,
    json: { status: 'error', message: policyName === 'DAILY' ? 'You have reached your daily limit.' : 'You have reached your secondly limit.', errorType: 'RATE_LIMIT', correlationId: correlationId(), policyName },
  });
  /** Returns the headers to send, or throws a 429 reply. */
  function charge(t: string, isSearch: boolean): Record<string, string> | Reply {
    const w = windowOf(t);
    const at = now();
    if (isSearch && searchLimit) {
      w.searchHits = w.searchHits.filter((h) => h > at - searchLimit.perMs);
      if (w.searchHits.length >= searchLimit.requests) { rateLimited++; return tooMany('SECONDLY', {}); }
      w.searchHits.push(at);
      return {};
    }
    w.hits = w.hits.filter((h) => h > at - limit.perMs);
    if (w.daily >= limit.daily) { rateLimited++; return tooMany('DAILY', limitHeaders(w)); }
    if (w.hits.length >= limit.requests) {
      rateLimited++;
      const wait = Math.max(1, Math.ceil((w.hits[0]! + limit.perMs - at) / 1000));
      return tooMany('TEN_SECONDLY_ROLLING', { ...limitHeaders(w), ...(options.retryAfterHeader ? { 'retry-after': String(wait) } : {}) });
    }
    w.hits.push(at);
    w.daily++;
    return limitHeaders(w);
  }

  function oauthToken(x: Exchange): Reply {
    const form = new URLSearchParams(x.body.toString('utf8'));
    const o = options.oauth;
    const bad = (status: string, message: string): Reply => ({ status: 400, json: { status, message, correlationId: correlationId() } });
    if (!o) return { status: 404, json: errorBody({ status: 404, category: 'OBJECT_NOT_FOUND', message: 'OAuth is not enabled on this fake' }) };
    if (form.get('grant_type') !== 'refresh_token') return bad('BAD_GRANT_TYPE', 'grant_type must be refresh_token');
    if (form.get('client_id') !== o.clientId || form.get('client_secret') !== o.clientSecret) return bad('BAD_CLIENT_ID', 'missing or invalid client_id or client_secret');
    if (form.get('refresh_token') !== o.refreshToken) return bad('BAD_REFRESH_TOKEN', 'missing or unknown refresh token');
    const access = `hs-oauth-access-${++oauthCount}`;
    valid.set(access, { oauth: true, expired: false });
    return { status: 200, json: { token_type: 'bearer', refresh_token: o.refreshToken, access_token: access, expires_in: 1800 } };
  }

  function jsonBody(x: Exchange): Record<string, unknown> | unknown[] {
    if (x.body.length === 0) return {};
    try {
      const v = JSON.parse(x.body.toString('utf8')) as unknown;
      if (isRecord(v) || Array.isArray(v)) return v;
    } catch { /* fall through */ }
    return fail(400, 'VALIDATION_ERROR', 'Invalid input JSON on line 1: expected a JSON object');
  }

  function route(x: Exchange): Reply {
    const seg = x.path.split('/').filter(Boolean);
    const m = x.method;
    const body = () => { const b = jsonBody(x); return isRecord(b) ? b : fail(400, 'VALIDATION_ERROR', 'Invalid input JSON: expected an object'); };
    if (seg[0] === 'crm' && seg[1] === 'v3' && seg[2] === 'objects' && seg.length >= 4) {
      const type = parseType(seg[3]);
      if (seg.length === 4 && m === 'POST') {
        const b = body();
        const { values, issues } = checkProperties(type, b.properties);
        if (issues.length) throw new HttpFail(invalid(issues));
        const links = inlineAssociations(type, b.associations);
        const clash = uniqueClash(type, values);
        if (clash) throw new HttpFail(clash);
        const o = create(type, values);
        for (const link of links) link(o.id);
        return { status: 201, json: view(o) };
      }
      if (seg.length === 4 && m === 'GET') {
        const limitN = Math.min(100, Number(x.query.get('limit') ?? 10) || 10);
        const after = Number(x.query.get('after') ?? 0) || 0;
        const all = [...table(type).values()].filter((o) => o.archived === (x.query.get('archived') === 'true'));
        const props = readProps(type, x.query.get('properties') ?? undefined);
        return { status: 200, json: { results: all.slice(after, after + limitN).map((o) => view(o, props)), ...(after + limitN < all.length ? { paging: { next: { after: String(after + limitN) } } } : {}) } };
      }
      if (seg.length === 5 && seg[4] === 'search' && m === 'POST') return search(type, body());
      if (seg.length === 6 && seg[4] === 'batch' && m === 'POST') return batch(type, seg[5]!, body());
      if (seg.length === 5) {
        const id = decodeURIComponent(seg[4]!);
        const idProperty = x.query.get('idProperty') ?? undefined;
        if (m === 'DELETE') {
          const o = lookup(type, id, idProperty);
          if (o) archive(type, o.id);
          return { status: 204 };
        }
        const o = lookup(type, id, idProperty, m === 'GET' && x.query.get('archived') === 'true');
        if (m === 'GET') return o ? { status: 200, json: view(o, readProps(type, x.query.get('properties') ?? undefined)) } : { status: 404, json: errorBody(notFound(id)) };
        if (m === 'PATCH') {
          const b = body();
          if (!o) return { status: 404, json: errorBody(notFound(id)) };
          const { values, issues } = checkProperties(type, b.properties);
          if (issues.length) throw new HttpFail(invalid(issues));
          const clash = uniqueClash(type, values, o.id);
          if (clash) throw new HttpFail(clash);
          return { status: 200, json: view(update(type, o, values)) };
        }
      }
      return fail(405, 'VALIDATION_ERROR', `${m} is not allowed on ${x.path}`);
    }
    if (seg[0] === 'crm' && seg[1] === 'v4' && seg[2] === 'associations' && seg.length === 8 && seg[5] === 'batch' && seg[6] === 'associate' && seg[7] === 'default' && m === 'POST') {
      return batchAssociate(parseType(seg[3]), parseType(seg[4]), body());
    }
    if (seg[0] === 'crm' && seg[1] === 'v4' && seg[2] === 'objects' && seg[5] === 'associations' && seg.length >= 7) {
      return objectAssociations(x, seg);
    }
    return fail(404, 'OBJECT_NOT_FOUND', `No route for ${m} ${x.path}`);
  }

  function handle(x: Exchange): Reply {
    if (x.method === 'GET' && x.path === '/sandbox') return sandboxView();
    if (x.path === '/oauth/v1/token' && x.method === 'POST') return oauthToken(x);
    const auth = String(x.headers.authorization ?? '');
    const presented = auth.startsWith('Bearer ') ? auth.slice(7).trim() : '';
    const known = valid.get(presented);
    if (!known) {
      return { status: 401, json: errorBody({ status: 401, category: 'INVALID_AUTHENTICATION', message: presented ? 'Authentication credentials not found. This API supports OAuth 2.0 authentication and you can find more details at https://developers.hubspot.com/docs/methods/auth/oauth-overview' : 'Authentication credentials not found.' }) };
    }
    if (known.expired) return { status: 401, json: errorBody({ status: 401, category: 'EXPIRED_AUTHENTICATION', message: 'The OAuth token used to make this call expired.' }) };
    const endpoint = `${x.method} ${x.path.replace(/\/\d+(?=\/|$)/g, '/{id}')}`;
    requestCounts.set(endpoint, (requestCounts.get(endpoint) ?? 0) + 1);
    const isSearch = x.method === 'POST' && /^\/crm\/v3\/objects\/[^/]+\/search$/.test(x.path);
    const charged = charge(presented, isSearch);
    if ('status' in charged && typeof charged.status === 'number') return charged as Reply;
    const headers = charged as Record<string, string>;
    try {
      const reply = route(x);
      return { ...reply, headers: { ...headers, ...reply.headers } };
    } catch (e) {
      if (!(e instanceof HttpFail)) throw e;
      return { status: e.fail.status, headers, json: errorBody(e.fail) };
    }
  }

  /** What a person looks at (no token needed, loopback only): every live record by type, and the associations. */
  function sandboxView(): Reply {
    const list = (t: HubSpotObjectType) => [...table(t).values()].filter((o) => !o.archived).map((o) => ({ id: o.id, properties: o.properties, createdAt: o.createdAt, updatedAt: o.updatedAt }));
    const note = 'A local stand-in for the HubSpot CRM API. Nothing leaves this machine.';
    return { status: 200, json: { sandbox: 'hubspot', note, deals: list('deals'), contacts: list('contacts'), companies: list('companies'), associations } };
  }

  function renderFault(f: InjectedFault, x: Exchange): Reply {
    const w = windowOf(String(x.headers.authorization ?? '').replace(/^Bearer /, ''));
    if (f.kind === 'rateLimitStorm') {
      return tooMany('TEN_SECONDLY_ROLLING', { ...limitHeaders({ hits: Array(limit.requests).fill(0), daily: w.daily }), ...(options.retryAfterHeader ? { 'retry-after': String(faults.retryAfterSeconds) } : {}) });
    }
    const status = f.status;
    if (f.kind === 'failNext' && f.body !== undefined) {
      return typeof f.body === 'string' ? { status, headers: f.headers, text: f.body } : { status, headers: f.headers, json: f.body };
    }
    if (status === 429) return { ...tooMany('TEN_SECONDLY_ROLLING', limitHeaders(w)), headers: { ...limitHeaders(w), ...(f.kind === 'failNext' ? f.headers : {}) } };
    const category = status >= 500 ? 'INTERNAL_ERROR' : ({ 400: 'VALIDATION_ERROR', 401: 'INVALID_AUTHENTICATION', 403: 'MISSING_SCOPES', 404: 'OBJECT_NOT_FOUND', 409: 'CONFLICT' } as Record<number, string>)[status] ?? 'ERROR';
    return { status, headers: f.kind === 'failNext' ? f.headers : undefined, json: errorBody({ status, category, message: status >= 500 ? 'internal error' : `injected ${status}` }) };
  }

  const record = () => options.recordRequests !== false;
  const server = await startSandboxServer({ faults, requests, now, handle, renderFault, record });
  const fakeState = {
    url: server.url,
    token,
    state: { objects, associations },
    requests,
    get rateLimited() { return rateLimited; },
    requestCounts,
    batchValidation: 'per-input' as BatchValidation,
    refuse(type: HubSpotObjectType, property: string, value: string) { refusals.push({ type, property, value }); },
    clearRefusals() { refusals.length = 0; },
    faults,
    searchLagMs: options.searchLagMs ?? 0,
    setRateLimit(o: HubSpotRateLimit) {
      limit = { daily: o.daily ?? limit.daily, requests: o.requests, perMs: o.perMs };
      windows.clear();
    },
    defineUniqueProperty(type: HubSpotObjectType, name: string) { unique.get(type)!.add(name); known.get(type)!.add(name); },
    defineProperty(type: HubSpotObjectType, name: string) { known.get(type)!.add(name); },
    insert(type: HubSpotObjectType, properties: Record<string, unknown>) {
      const values: Record<string, string> = {};
      for (const [k, v] of Object.entries(properties)) { known.get(type)!.add(k); values[k] = norm(type, k, String(v)); }
      const o = create(type, values);
      versions.delete(o.id); // seeded records are already indexed
      return o;
    },
    expireAccessTokens() { for (const v of valid.values()) if (v.oauth) v.expired = true; },
    close: () => server.close(),
  };
  return fakeState;
}
