/**
 * In-memory fake of the Dropbox API v2 routes Statusflow uses, following /work/shared/contracts
 * (CHEATSHEET.md and the Stone files): an RPC host (files/create_folder_v2, files/get_metadata,
 * sharing/create_shared_link_with_settings, sharing/list_shared_links, users/get_current_account,
 * auth/token/revoke, /oauth2/token) and a content host (files/upload with Dropbox-API-Arg).
 * Plain-text 400s, JSON 401/409/429 envelopes, short-lived "sl." tokens with refresh. See README.md.
 * One file on purpose (over the 400-line budget): it is a single fake's routing table.
 */
import { createHash } from 'node:crypto';
import { FaultController, describeBody, startSandboxServer, type Exchange, type Faults, type InjectedFault, type RecordedRequest, type Reply } from './faults.js';

export interface DropboxFile {
  id: string; name: string; path_display: string; rev: string; size: number;
  content: Buffer; content_hash: string; server_modified: string; client_modified: string;
}
export interface DropboxFolder { id: string; name: string; path_display: string }
export interface DropboxSharedLink { url: string; kind: 'file' | 'folder'; settings?: Record<string, unknown> }

export interface SandboxDropboxOptions {
  accessToken?: string;
  refreshToken?: string;
  appKey?: string;
  appSecret?: string;
  /** Accept /oauth2/token without client_secret (PKCE apps). Default false. */
  allowMissingClientSecret?: boolean;
  /** Access-token lifetime (default 14 400 000 ms = 4 h, `expires_in: 14400`). */
  tokenLifetimeMs?: number;
  /** When shared_link_already_exists carries the existing link's metadata: 'always', 'never', or
   * 'unless-settings' (default: omitted when the request had settings, as the spec describes). */
  sharedLinkMetadata?: 'always' | 'never' | 'unless-settings';
  /** Upload size limit (default 150 MiB) → 409 payload_too_large. */
  maxUploadBytes?: number;
  /** Serve the content routes on the RPC server too (default false: two servers, like api./content.dropboxapi.com). */
  sameHost?: boolean;
  seed?: number;
  now?: () => number;
}

export interface SandboxDropbox {
  /** RPC host base, e.g. http://127.0.0.1:p (routes under /2/…, and /oauth2/token). */
  url: string;
  /** Content host base (files/upload). Equal to `url` with `sameHost`. */
  contentUrl: string;
  /** The token valid at start (refresh issues new ones: see issuedTokens). */
  accessToken: string;
  refreshToken: string;
  appKey: string;
  appSecret: string;
  state: { files: Map<string, DropboxFile>; folders: Map<string, DropboxFolder>; sharedLinks: Map<string, DropboxSharedLink> };
  requests: RecordedRequest[];
  faults: Faults;
  /** Every access token ever issued, the initial one first. */
  issuedTokens: string[];
  /** Every token issued so far answers 401 expired_access_token; refreshing issues a working one. */
  expireAccessTokens(): void;
  close(): Promise<void>;
}

/** Dropbox content hash: SHA-256 over the concatenated SHA-256 digests of each 4 MiB block, hex. */
export function dropboxContentHash(content: Buffer): string {
  const outer = createHash('sha256');
  for (let at = 0; at < content.length; at += 4 * 1024 * 1024) outer.update(createHash('sha256').update(content.subarray(at, at + 4 * 1024 * 1024)).digest());
  return outer.digest('hex');
}

class Route409 extends Error { constructor(readonly summary: string, readonly error: unknown) { super(summary); } }
class BadRequest extends Error {}
const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const seconds = (ms: number) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
const RPC_ROUTES = ['files/create_folder_v2', 'files/get_metadata', 'sharing/create_shared_link_with_settings', 'sharing/list_shared_links', 'users/get_current_account', 'auth/token/revoke'];
const VOID_ROUTES = ['users/get_current_account', 'auth/token/revoke'];
const PATH_PATTERN = /^(\/[\s\S]*|id:[\s\S]*|ns:[0-9]+(\/[\s\S]*)?)$/;

export async function startSandboxDropbox(options: SandboxDropboxOptions = {}): Promise<SandboxDropbox> {
  const now = options.now ?? Date.now;
  const lifetime = options.tokenLifetimeMs ?? 14_400_000;
  const maxUpload = options.maxUploadBytes ?? 150 * 1024 * 1024;
  const faults = new FaultController(options.seed ?? 1);
  const requests: RecordedRequest[] = [];
  const files = new Map<string, DropboxFile>();
  const folders = new Map<string, DropboxFolder>();
  const sharedLinks = new Map<string, DropboxSharedLink>();
  const appKey = options.appKey ?? 'fake-app-key';
  const appSecret = options.appSecret ?? 'fake-app-secret';
  const refreshToken = options.refreshToken ?? 'fake-refresh-token';
  let refreshRevoked = false;
  const tokens = new Map<string, { expiresAt: number; expired: boolean; revoked: boolean }>();
  const issuedTokens: string[] = [];
  let counter = 0;
  const issue = (value?: string) => {
    const t = value ?? `sl.fake-${(++counter).toString(36)}-${createHash('sha256').update(`t${counter}`).digest('base64url').slice(0, 24)}`;
    tokens.set(t, { expiresAt: now() + lifetime, expired: false, revoked: false });
    issuedTokens.push(t);
    return t;
  };
  const accessToken = issue(options.accessToken);
  /** The RPC host's own URL, once it listens (shared links point at it). */
  let selfUrl = '';
  let ids = 0;
  const newId = () => `id:${Buffer.from(`statusflow-sandbox-${++ids}`).toString('base64url')}`;
  let revs = 0;
  const newRev = () => `015${(++revs).toString(16).padStart(9, '0')}`;

  const lower = (p: string) => p.toLowerCase();
  const parentOf = (p: string) => p.slice(0, p.lastIndexOf('/'));
  const ancestors = (p: string) => { const out: string[] = []; for (let q = parentOf(p); q !== ''; q = parentOf(q)) out.unshift(q); return out; };
  const conflict = (tag: 'file' | 'folder' | 'file_ancestor') => ({ summary: `path/conflict/${tag}/..`, reason: { '.tag': 'conflict', conflict: { '.tag': tag } } });
  const fileMeta = (f: DropboxFile) => ({
    '.tag': 'file', name: f.name, id: f.id, path_lower: lower(f.path_display), path_display: f.path_display, rev: f.rev, size: f.size,
    client_modified: f.client_modified, server_modified: f.server_modified, content_hash: f.content_hash, is_downloadable: true,
  });
  const folderMeta = (d: DropboxFolder) => ({ name: d.name, path_lower: lower(d.path_display), path_display: d.path_display, id: d.id });
  const badArg = (route: string, what: string): never => { throw new BadRequest(`Error in call to API function "${route}": ${what}`); };

  /** Resolves "id:…" to a path; checks the pattern (400) and shape (409 malformed_path, via `onMalformed`). */
  function resolvePath(route: string, field: string, raw: unknown, onMalformed: () => never): string {
    if (typeof raw !== 'string') return badArg(route, `request body: ${field}: expected string, got ${raw === undefined ? 'nothing' : typeof raw}`);
    if (!PATH_PATTERN.test(raw)) return badArg(route, `request body: ${field}: '${raw}' did not match pattern '(/(.|[\\r\\n])*)|(ns:[0-9]+(/(.|[\\r\\n])*)?)|(id:.*)'`);
    if (raw.startsWith('id:')) {
      for (const f of files.values()) if (f.id === raw) return f.path_display;
      for (const d of folders.values()) if (d.id === raw) return d.path_display;
      return raw; // unknown id: lookups answer not_found
    }
    if (raw.startsWith('ns:')) return badArg(route, `request body: ${field}: namespace paths are not modelled by the fake`);
    if (raw === '/' || raw.endsWith('/') || raw.includes('//')) onMalformed();
    return raw;
  }
  /** Parses a union value given as "tag" or {".tag": "tag", …}. */
  function unionOf(route: string, field: string, v: unknown, tags: string[]): { tag: string; value: Record<string, unknown> } {
    const tag = typeof v === 'string' ? v : isRecord(v) && typeof v['.tag'] === 'string' ? v['.tag'] : undefined;
    if (tag === undefined || !tags.includes(tag)) return badArg(route, `request body: ${field}: unknown tag '${tag ?? JSON.stringify(v)}'`);
    return { tag, value: isRecord(v) ? v : {} };
  }
  const optionalBoolean = (route: string, args: Record<string, unknown>, field: string) => {
    const v = args[field];
    if (v !== undefined && typeof v !== 'boolean') badArg(route, `request body: ${field}: expected boolean, got ${typeof v}`);
    return v === true;
  };

  // ---- filesystem -------------------------------------------------------------------------------
  function ensureParents(path: string, onConflict: (c: ReturnType<typeof conflict>) => never) {
    for (const a of ancestors(path)) if (files.has(lower(a))) onConflict(conflict('file_ancestor'));
    for (const a of ancestors(path)) {
      if (folders.has(lower(a))) continue;
      folders.set(lower(a), { id: newId(), name: a.slice(a.lastIndexOf('/') + 1), path_display: displayOf(a) });
    }
  }
  /** Display path: existing ancestors keep their casing, the rest is as requested. */
  function displayOf(path: string): string {
    const parent = parentOf(path);
    const existing = parent === '' ? '' : folders.get(lower(parent))?.path_display ?? displayOf(parent);
    return `${existing}/${path.slice(path.lastIndexOf('/') + 1)}`;
  }
  const taken = (p: string) => files.has(lower(p)) || folders.has(lower(p));
  function renamed(path: string, suffix: (n: number) => string): string {
    const name = path.slice(path.lastIndexOf('/') + 1);
    const dot = name.lastIndexOf('.');
    const [base, ext] = dot > 0 ? [name.slice(0, dot), name.slice(dot)] : [name, ''];
    for (let n = 1; ; n++) {
      const candidate = `${parentOf(path)}/${base} ${suffix(n)}${ext}`;
      if (!taken(candidate)) return candidate;
    }
  }

  function upload(x: Exchange): Reply {
    const route = 'files/upload';
    const rawIndex = x.rawHeaders.findIndex((h, n) => n % 2 === 0 && h.toLowerCase() === 'dropbox-api-arg');
    const header = rawIndex >= 0 ? x.rawHeaders[rawIndex + 1]! : undefined;
    const argText = header ?? x.query.get('arg') ?? undefined;
    if (argText === undefined) badArg(route, 'Must provide HTTP header "Dropbox-API-Arg" or URL parameter "arg".');
    if (header !== undefined && /[^\x00-\x7f]/.test(header)) badArg(route, 'HTTP header "Dropbox-API-Arg": could not decode input as JSON: non-ASCII characters must be escaped as \\uXXXX');
    const type = String(x.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
    if (type !== 'application/octet-stream' && String(x.headers['content-type']) !== 'text/plain; charset=dropbox-cors-hack') {
      badArg(route, `Bad HTTP "Content-Type" header: "${String(x.headers['content-type'] ?? '')}".  Expecting one of "application/octet-stream", "text/plain; charset=dropbox-cors-hack".`);
    }
    let arg: unknown;
    try { arg = JSON.parse(argText!); } catch { badArg(route, 'HTTP header "Dropbox-API-Arg": could not decode input as JSON'); }
    if (!isRecord(arg)) return badArg(route, 'HTTP header "Dropbox-API-Arg": expected a JSON object');
    const sessionId = `pid_upload_session:fake-${requests.length}`;
    const fail = (summary: string, reason: unknown): never => { throw new Route409(summary, { '.tag': 'path', reason, upload_session_id: sessionId }); };
    const onConflict = (c: ReturnType<typeof conflict>): never => fail(c.summary, c.reason);
    let path = resolvePath(route, 'path', arg.path, () => fail('path/malformed_path/..', { '.tag': 'malformed_path' }));
    const mode = unionOf(route, 'mode', arg.mode ?? 'add', ['add', 'overwrite', 'update']);
    if (mode.tag === 'update' && (typeof mode.value.update !== 'string' || !/^[0-9a-f]{9,}$/.test(mode.value.update))) badArg(route, 'request body: mode: update: expected a rev (9+ hex digits)');
    const autorename = optionalBoolean(route, arg, 'autorename');
    const strict = optionalBoolean(route, arg, 'strict_conflict');
    optionalBoolean(route, arg, 'mute');
    if (arg.content_hash !== undefined && (typeof arg.content_hash !== 'string' || arg.content_hash.length !== 64)) badArg(route, 'request body: content_hash: expected a 64-character string');
    if (arg.client_modified !== undefined && (typeof arg.client_modified !== 'string' || !/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/.test(arg.client_modified))) badArg(route, 'request body: client_modified: expected a timestamp like 2015-05-12T15:50:38Z');
    if (path.startsWith('id:')) throw new Route409('path/not_found/..', { '.tag': 'path', reason: { '.tag': 'not_found' }, upload_session_id: sessionId });
    if (x.body.length > maxUpload) throw new Route409('payload_too_large/..', { '.tag': 'payload_too_large' });
    const hash = dropboxContentHash(x.body);
    if (typeof arg.content_hash === 'string' && arg.content_hash !== hash) throw new Route409('content_hash_mismatch/..', { '.tag': 'content_hash_mismatch' });
    for (const a of ancestors(path)) if (files.has(lower(a))) onConflict(conflict('file_ancestor'));
    if (folders.has(lower(path))) {
      if (!autorename) onConflict(conflict('folder'));
      path = renamed(path, (n) => `(${n})`);
    }
    const existing = files.get(lower(path));
    if (existing && existing.content_hash === hash && !strict) return { status: 200, json: fileMeta(existing) };
    const revMismatch = mode.tag === 'update' && (existing ? existing.rev !== mode.value.update : strict);
    if ((existing && mode.tag === 'add') || revMismatch) {
      if (!autorename) onConflict(conflict('file'));
      path = renamed(path, mode.tag === 'update' ? (n) => (n === 1 ? '(conflicted copy)' : `(conflicted copy ${n})`) : (n) => `(${n})`);
    }
    ensureParents(path, onConflict);
    const target = files.get(lower(path));
    const at = seconds(now());
    const file: DropboxFile = {
      id: target?.id ?? newId(), name: path.slice(path.lastIndexOf('/') + 1), path_display: target?.path_display ?? displayOf(path), rev: newRev(),
      size: x.body.length, content: Buffer.from(x.body), content_hash: hash, server_modified: at, client_modified: typeof arg.client_modified === 'string' ? arg.client_modified : at,
    };
    if (target) file.name = target.name;
    files.set(lower(path), file);
    return { status: 200, json: fileMeta(file) };
  }

  function createFolder(route: string, args: Record<string, unknown>): Reply {
    const fail = (summary: string, path: unknown): never => { throw new Route409(summary, { '.tag': 'path', path }); };
    const onConflict = (c: ReturnType<typeof conflict>): never => fail(c.summary, c.reason);
    let path = resolvePath(route, 'path', args.path, () => fail('path/malformed_path/..', { '.tag': 'malformed_path' }));
    if (path.startsWith('id:')) fail('path/malformed_path/..', { '.tag': 'malformed_path' });
    const autorename = optionalBoolean(route, args, 'autorename');
    if (taken(path)) {
      if (!autorename) onConflict(conflict(files.has(lower(path)) ? 'file' : 'folder'));
      path = renamed(path, (n) => `(${n})`);
    }
    ensureParents(path, onConflict);
    const folder: DropboxFolder = { id: newId(), name: path.slice(path.lastIndexOf('/') + 1), path_display: displayOf(path) };
    folders.set(lower(path), folder);
    return { status: 200, json: { metadata: folderMeta(folder) } };
  }

  function lookupOrFail(route: string, args: Record<string, unknown>, wrap: (e: unknown) => unknown): DropboxFile | DropboxFolder {
    const notFound = (): never => { throw new Route409('path/not_found/..', wrap({ '.tag': 'not_found' })); };
    const path = resolvePath(route, 'path', args.path, () => { throw new Route409('path/malformed_path/..', wrap({ '.tag': 'malformed_path' })); });
    return files.get(lower(path)) ?? folders.get(lower(path)) ?? notFound();
  }
  const isFile = (e: DropboxFile | DropboxFolder): e is DropboxFile => 'rev' in e;

  // ---- shared links -----------------------------------------------------------------------------
  let links = 0;
  function linkMeta(pathLower: string, link: DropboxSharedLink) {
    const e = files.get(pathLower) ?? folders.get(pathLower);
    const s = link.settings ?? {};
    const audience = (isRecord(s.audience) ? s.audience['.tag'] : s.audience) ?? 'public';
    const visibility = audience === 'team' ? 'team_only' : audience === 'no_one' ? 'no_one' : s.require_password === true ? 'password' : 'public';
    const base = {
      '.tag': link.kind, url: link.url, id: e?.id, name: e?.name ?? pathLower.slice(pathLower.lastIndexOf('/') + 1), path_lower: pathLower,
      ...(typeof s.expires === 'string' ? { expires: s.expires } : {}),
      link_permissions: {
        resolved_visibility: { '.tag': visibility }, requested_visibility: { '.tag': visibility }, can_revoke: true, visibility_policies: [],
        can_set_expiry: false, can_remove_expiry: false, allow_download: s.allow_download !== false, can_allow_download: true, can_disallow_download: false,
        allow_comments: true, team_restricts_comments: false, effective_audience: { '.tag': audience }, link_access_level: { '.tag': 'viewer' }, require_password: s.require_password === true,
      },
    };
    return e && isFile(e) ? { ...base, client_modified: e.client_modified, server_modified: e.server_modified, rev: e.rev, size: e.size } : base;
  }
  function createSharedLink(route: string, args: Record<string, unknown>): Reply {
    const entry = lookupOrFail(route, args, (e) => ({ '.tag': 'path', path: e }));
    const pathLower = lower(entry.path_display);
    const settings = args.settings;
    if (settings !== undefined && !isRecord(settings)) badArg(route, 'request body: settings: expected object');
    if (isRecord(settings)) {
      if (settings.audience !== undefined) unionOf(route, 'settings.audience', settings.audience, ['public', 'team', 'no_one', 'password', 'members']);
      if (settings.access !== undefined) unionOf(route, 'settings.access', settings.access, ['viewer', 'editor', 'max', 'default']);
      const invalidSettings = () => { throw new Route409('settings_error/invalid_settings/..', { '.tag': 'settings_error', settings_error: { '.tag': 'invalid_settings' } }); };
      if (settings.require_password === true && typeof settings.link_password !== 'string') invalidSettings();
      if (typeof settings.expires === 'string' && !(Date.parse(settings.expires) > now())) invalidSettings();
    }
    const existing = sharedLinks.get(pathLower);
    if (existing) {
      const mode = options.sharedLinkMetadata ?? 'unless-settings';
      const withMeta = mode === 'always' || (mode === 'unless-settings' && settings === undefined);
      throw new Route409('shared_link_already_exists/..', {
        '.tag': 'shared_link_already_exists',
        ...(withMeta ? { shared_link_already_exists: { '.tag': 'metadata', metadata: linkMeta(pathLower, existing) } } : {}),
      });
    }
    const key = (++links).toString(36).padStart(10, 'a');
    const kind = isFile(entry) ? 'file' : 'folder';
    // The sandbox's links open in the sandbox itself (GET /sandbox/s/…), so a demo's links can be followed.
    const url = `${selfUrl}/sandbox/s/${key}/${encodeURIComponent(entry.name)}`;
    const link: DropboxSharedLink = { url, kind, ...(isRecord(settings) ? { settings } : {}) };
    sharedLinks.set(pathLower, link);
    return { status: 200, json: linkMeta(pathLower, link) };
  }
  function listSharedLinks(route: string, args: Record<string, unknown>): Reply {
    if (args.path === undefined) return { status: 200, json: { links: [...sharedLinks].map(([p, l]) => linkMeta(p, l)), has_more: false, cursor: 'fake-cursor' } };
    const entry = lookupOrFail(route, args, (e) => ({ '.tag': 'path', path: e }));
    const pathLower = lower(entry.path_display);
    const direct = optionalBoolean(route, args, 'direct_only');
    const paths = direct ? [pathLower] : [...ancestors(pathLower), pathLower];
    return { status: 200, json: { links: paths.flatMap((p) => (sharedLinks.has(p) ? [linkMeta(p, sharedLinks.get(p)!)] : [])), has_more: false } };
  }

  // ---- auth -------------------------------------------------------------------------------------
  function oauthToken(x: Exchange): Reply {
    const params = new URLSearchParams(x.query);
    const type = String(x.headers['content-type'] ?? '');
    if (type.includes('application/x-www-form-urlencoded')) for (const [k, v] of new URLSearchParams(x.body.toString('utf8'))) params.set(k, v);
    const basic = /^Basic (.+)$/i.exec(String(x.headers.authorization ?? ''));
    if (basic) {
      const [id, ...secret] = Buffer.from(basic[1]!, 'base64').toString('utf8').split(':');
      params.set('client_id', id ?? '');
      params.set('client_secret', secret.join(':'));
    }
    const bad = (error: string, error_description: string): Reply => ({ status: 400, json: { error, error_description } });
    const grant = params.get('grant_type');
    if (!grant) return bad('invalid_request', 'No auth function available for given request');
    if (grant !== 'refresh_token') return bad('unsupported_grant_type', `grant_type "${grant}" is not supported by the fake`);
    const secret = params.get('client_secret');
    if (params.get('client_id') !== appKey || (secret === null ? !options.allowMissingClientSecret : secret !== appSecret)) return bad('invalid_client', 'Invalid client_id or client_secret');
    if (params.get('refresh_token') !== refreshToken || refreshRevoked) return bad('invalid_grant', 'refresh token is invalid or revoked');
    const token = issue();
    return { status: 200, json: { access_token: token, token_type: 'bearer', expires_in: Math.floor(lifetime / 1000) } };
  }
  /** undefined when the bearer token is good, else the reply. */
  function authenticate(route: string, x: Exchange): Reply | undefined {
    const header = x.headers.authorization;
    if (!header) return { status: 400, text: `Error in call to API function "${route}": Must provide HTTP header "Authorization" or URL parameter "authorization".` };
    const m = /^Bearer (.+)$/.exec(String(header));
    if (!m) return { status: 400, text: `Error in call to API function "${route}": Invalid authorization value in HTTP header "Authorization": "${String(header)}".  Expecting "Bearer <oauth2-access-token>".` };
    const t = tokens.get(m[1]!.trim());
    const unauthorized = (tag: string): Reply => ({ status: 401, json: { error_summary: `${tag}/...`, error: { '.tag': tag } } });
    if (!t || t.revoked) return unauthorized('invalid_access_token');
    if (t.expired || now() >= t.expiresAt) return unauthorized('expired_access_token');
    return undefined;
  }

  function rpc(route: string, x: Exchange): Reply {
    const isVoid = VOID_ROUTES.includes(route);
    const text = x.body.toString('utf8');
    const type = String(x.headers['content-type'] ?? '');
    if (!(isVoid && (text === '' || text === 'null') && !type.includes('octet-stream'))) {
      const base = type.split(';')[0]!.trim().toLowerCase();
      if (base !== 'application/json' && type !== 'text/plain; charset=dropbox-cors-hack') {
        badArg(route, `Bad HTTP "Content-Type" header: "${type}".  Expecting one of "application/json", "application/json; charset=utf-8", "text/plain; charset=dropbox-cors-hack".`);
      }
    }
    let args: unknown = null;
    if (text !== '') try { args = JSON.parse(text); } catch { badArg(route, 'request body: could not decode input as JSON'); }
    if (isVoid) {
      if (args !== null) badArg(route, 'request body: expected null, got value');
    } else if (!isRecord(args)) badArg(route, 'request body: expected a JSON object');
    const a = (args ?? {}) as Record<string, unknown>;
    switch (route) {
      case 'files/create_folder_v2': return createFolder(route, a);
      case 'files/get_metadata': {
        if (a.path === '') badArg(route, 'request body: path: The root folder is unsupported.');
        const e = lookupOrFail(route, a, (err) => ({ '.tag': 'path', path: err }));
        return { status: 200, json: isFile(e) ? fileMeta(e) : { '.tag': 'folder', ...folderMeta(e) } };
      }
      case 'sharing/create_shared_link_with_settings': return createSharedLink(route, a);
      case 'sharing/list_shared_links': return listSharedLinks(route, a);
      case 'users/get_current_account':
        return {
          status: 200,
          json: {
            account_id: 'dbid:AAFakeStatusflowAccount0000000000000', name: { given_name: 'Fake', surname: 'Account', familiar_name: 'Fake', display_name: 'Fake Account', abbreviated_name: 'FA' },
            email: 'fake@example.com', email_verified: true, disabled: false, country: 'US', locale: 'en', referral_link: 'https://www.dropbox.com/referrals/fake',
            is_paired: false, account_type: { '.tag': 'basic' }, root_info: { '.tag': 'user', root_namespace_id: '1000', home_namespace_id: '1000' },
          },
        };
      case 'auth/token/revoke':
        refreshRevoked = true; // the spec: revoking also disables the refresh token and its other access tokens
        for (const t of tokens.values()) t.revoked = true;
        return { status: 200, json: null };
      default: return { status: 400, text: `Unknown API function: "${route}"` };
    }
  }

  function handler(host: 'api' | 'content' | 'both') {
    return (x: Exchange): Reply => {
      if (x.method === 'GET' && host !== 'content' && (x.path === '/sandbox' || x.path.startsWith('/sandbox/'))) return sandboxView(x.path);
      if (x.path === '/oauth2/token' && host !== 'content' && x.method === 'POST') return oauthToken(x);
      const route = x.path.startsWith('/2/') ? x.path.slice(3) : '';
      const onContent = route === 'files/upload';
      if (!RPC_ROUTES.includes(route) && !onContent) return { status: 404, text: `Unknown API function: "${route || x.path}"` };
      if (x.method !== 'POST') return { status: 405, text: `Error in call to API function "${route}": Method not allowed; use POST.` };
      if ((onContent && host === 'api') || (!onContent && host === 'content')) {
        return { status: 400, text: `Error in call to API function "${route}": This function must be called on the ${onContent ? 'content' : 'api'} host.` };
      }
      const denied = authenticate(route, x);
      if (denied) return denied;
      try {
        return onContent ? upload(x) : rpc(route, x);
      } catch (e) {
        if (e instanceof Route409) return { status: 409, json: { error_summary: e.summary, error: e.error } };
        if (e instanceof BadRequest) return { status: 400, text: e.message };
        throw e;
      }
    };
  }

  /**
   * What a person looks at (no token needed, loopback only): `GET /sandbox` lists the folders, files
   * (text content included when short) and shared links; `GET /sandbox/s/<key>/<name>` is a shared link.
   */
  function sandboxView(path: string): Reply {
    if (path.startsWith('/sandbox/s/')) {
      const at = [...sharedLinks.entries()].find(([, l]) => new URL(l.url).pathname === path);
      const file = at && files.get(at[0]);
      if (!file) return { status: 404, text: 'No shared link here.' };
      return { status: 200, headers: { 'content-type': 'text/plain; charset=utf-8' }, text: file.content.toString('utf8') };
    }
    if (path !== '/sandbox') return { status: 404, text: 'Try GET /sandbox.' };
    const shown = (f: DropboxFile) => {
      const text = f.content.length <= 4096 ? f.content.toString('utf8') : undefined;
      return { path: f.path_display, size: f.size, rev: f.rev, serverModified: f.server_modified, sharedLink: sharedLinks.get(lower(f.path_display))?.url ?? null, ...(text !== undefined && !text.includes('\uFFFD') ? { content: text } : {}) };
    };
    return {
      status: 200,
      json: {
        sandbox: 'dropbox',
        note: 'A local stand-in for the Dropbox API (content host: files/upload). Nothing leaves this machine.',
        folders: [...folders.values()].map((d) => d.path_display).sort(),
        files: [...files.values()].sort((a, b) => a.path_display.localeCompare(b.path_display)).map(shown),
      },
    };
  }

  function renderFault(f: InjectedFault): Reply {
    const tooMany = (retry: number, headers?: Record<string, string>): Reply => ({
      status: 429, headers: { 'retry-after': String(retry), ...headers },
      json: { error_summary: 'too_many_requests/..', error: { reason: { '.tag': 'too_many_requests' }, retry_after: retry } },
    });
    if (f.kind === 'rateLimitStorm') return tooMany(faults.retryAfterSeconds);
    const headers = f.kind === 'failNext' ? f.headers : undefined;
    if (f.kind === 'failNext' && f.body !== undefined) return typeof f.body === 'string' ? { status: f.status, headers, text: f.body } : { status: f.status, headers, json: f.body };
    if (f.status === 429) return tooMany(faults.retryAfterSeconds, headers);
    if (f.status === 401) return { status: 401, headers, json: { error_summary: 'invalid_access_token/...', error: { '.tag': 'invalid_access_token' } } };
    if (f.status === 409) return { status: 409, headers, json: { error_summary: 'other/..', error: { '.tag': 'other' } } };
    return { status: f.status, headers, text: f.status >= 500 ? 'Internal Server Error (injected)' : `Error (injected ${f.status})` };
  }

  const describe = (x: Exchange): unknown => {
    if (x.path === '/oauth2/token') return { ...Object.fromEntries(x.query), ...(isRecord(describeBody(x)) ? (describeBody(x) as object) : {}) };
    if (x.path !== '/2/files/upload') return describeBody(x);
    const arg = x.headers['dropbox-api-arg'] ?? x.query.get('arg');
    try { return JSON.parse(String(arg)) as unknown; } catch { return arg; }
  };
  const serve = (host: 'api' | 'content' | 'both') => startSandboxServer({ faults, requests, now, host, describeBody: describe, handle: handler(host), renderFault });
  const api = await serve(options.sameHost ? 'both' : 'api');
  selfUrl = api.url;
  const content = options.sameHost ? api : await serve('content');

  return {
    url: api.url,
    contentUrl: content.url,
    accessToken,
    refreshToken,
    appKey,
    appSecret,
    state: { files, folders, sharedLinks },
    requests,
    faults,
    issuedTokens,
    expireAccessTokens() { for (const t of tokens.values()) t.expired = true; },
    close: async () => { await api.close(); if (content !== api) await content.close(); },
  };
}
