/**
 * `dropbox.upload`: writes a file (text, JSON or CSV made from the entity) and keeps the link to it, optionally
 * with a shared link. Safe to repeat in every mode: `overwrite` replaces, `update` replaces only the file this
 * entity's link points to, and `add` with the same bytes at the same path is a no-op for Dropbox.
 */
import { z } from 'zod';
import { failure, TaskFailure } from '../../domain/failure.js';
import { isRecord, key } from '../../domain/schema-kit.js';
import type { ConnectionContext, LinkView, TaskKind } from '../types.js';
import { connectionOf, dropboxRpc, dropboxRpcOrRouteError, dropboxUploadCall } from './client.js';

const expression = z.string().min(1).max(10_000);
/** Dropbox's limit for one `files/upload` call (larger files need upload sessions, not supported here). */
export const MAX_UPLOAD_BYTES = 150 * 1024 * 1024;

export const DropboxUploadInputSchema = z.strictObject({
  /** Expression giving the file's path, starting with "/" (e.g. `'/orders/' & order_number & '.json'`). */
  path: expression,
  /** Expression (or object of expressions) giving the content: text, or a value written as JSON or CSV. */
  content: z.union([expression, z.record(z.string(), z.json())], { error: 'must be an expression (text) or an object' }),
  /** How a value is written; default: text for text, JSON (pretty-printed) for anything else. */
  format: z.enum(['json', 'text', 'csv']).optional(),
  /** add: never replace another file · overwrite: replace whatever is there · update: replace only the linked file. */
  mode: z.enum(['add', 'overwrite', 'update']),
  /** Also create (or reuse) a shared link; its URL goes in the output and the kept link. */
  sharedLink: z.boolean().optional(),
  /** The kept link's type (default "file"); give each upload task of one entity and connection its own. */
  linkType: key.optional(),
});

export interface DropboxUploadInput {
  path: unknown;
  content: unknown;
  format?: 'json' | 'text' | 'csv';
  mode: 'add' | 'overwrite' | 'update';
  sharedLink?: boolean;
  linkType?: string;
}

export interface DropboxUploadOutput {
  /** Dropbox's file id ("id:…"), stable across overwrites and renames. */
  id: string;
  /** The path as Dropbox displays it. */
  path: string;
  rev: string;
  size: number;
  contentHash: string | null;
  sharedUrl: string | null;
}

type WriteMode = 'add' | { '.tag': 'overwrite' } | { '.tag': 'update'; update: string };

interface FileMetadata {
  id: string;
  path_display?: string;
  path_lower?: string;
  rev: string;
  size: number;
  content_hash?: string;
}

export const dropboxUpload: TaskKind<DropboxUploadInput> = {
  kind: 'dropbox.upload',
  inputSchema: DropboxUploadInputSchema,
  expressionFields: ['path', 'content'],
  connection: { required: true, providers: ['dropbox'] },
  async run(input, ctx): Promise<DropboxUploadOutput> {
    const cc = connectionOf(ctx, 'dropbox.upload');
    const path = checkPath(input.path);
    const bytes = Buffer.from(encodeContent(input.content, input.format), 'utf8');
    if (bytes.byteLength > MAX_UPLOAD_BYTES) throw failure('INVALID_INPUT', `content is ${bytes.byteLength} bytes; one upload takes at most 150 MiB`, false);
    const linkType = input.linkType ?? 'file';
    const link = await cc.links.get(linkType);

    const mode: WriteMode = input.mode === 'overwrite' ? { '.tag': 'overwrite' } : input.mode === 'update' ? await updateMode(cc, link, ctx.signal) : 'add';
    const arg = { path, mode, autorename: false, mute: false, strict_conflict: false };
    let meta: FileMetadata;
    try {
      meta = fileMetadata(await dropboxUploadCall(cc, 'files/upload', arg, bytes, ctx.signal));
    } catch (err) {
      if (err instanceof TaskFailure && err.failure.code === 'DROPBOX_CONFLICT' && typeof mode === 'object' && mode['.tag'] === 'update') {
        const message = `Dropbox files/upload: the file at ${path} is not the one this entity uploaded, or it changed since; use mode overwrite to replace it anyway`;
        throw new TaskFailure({ ...err.failure, message });
      }
      throw err;
    }

    const sharedUrl = input.sharedLink ? await sharedLinkUrl(cc, meta.path_lower ?? path, ctx.signal) : null;
    // Without a new shared link, a URL kept earlier for this same file stays.
    const url = sharedUrl ?? (link && link.externalId === meta.id ? link.url : null);
    await cc.links.put({ externalType: linkType, externalId: meta.id, url });
    return { id: meta.id, path: meta.path_display ?? path, rev: meta.rev, size: meta.size, contentHash: meta.content_hash ?? null, sharedUrl };
  },
};

/** `update` replaces the linked file at its current revision; with no linked file (or a deleted one) it adds. */
async function updateMode(cc: ConnectionContext, link: LinkView | undefined, signal: AbortSignal): Promise<WriteMode> {
  if (!link) return 'add';
  const answer = await dropboxRpcOrRouteError(cc, 'files/get_metadata', { path: link.externalId }, signal, link.externalId);
  if ('routeError' in answer) {
    if (answer.tags.includes('not_found')) return 'add';
    throw answer.failure;
  }
  const meta = answer.result as { '.tag'?: unknown; rev?: unknown } | null;
  return meta?.['.tag'] === 'file' && typeof meta.rev === 'string' ? { '.tag': 'update', update: meta.rev } : 'add';
}

function fileMetadata(body: unknown): FileMetadata {
  const m = body as Partial<FileMetadata> | null;
  if (!m || typeof m.id !== 'string' || typeof m.rev !== 'string') {
    throw failure('DROPBOX_UNEXPECTED_RESPONSE', 'Dropbox files/upload answered without file metadata', true);
  }
  return { ...m, size: typeof m.size === 'number' ? m.size : 0 } as FileMetadata;
}

/**
 * A shared link of the file: a new one, or — when one exists (409 shared_link_already_exists) — the one in the
 * error's metadata, else the first of `list_shared_links {path, direct_only: true}`.
 */
async function sharedLinkUrl(cc: ConnectionContext, path: string, signal: AbortSignal): Promise<string> {
  const created = await dropboxRpcOrRouteError(cc, 'sharing/create_shared_link_with_settings', { path }, signal, path);
  if ('result' in created) {
    const url = urlOf(created.result);
    if (url) return url;
    throw failure('DROPBOX_UNEXPECTED_RESPONSE', 'Dropbox sharing/create_shared_link_with_settings answered without a url', true);
  }
  if (created.tags[0] !== 'shared_link_already_exists') throw created.failure;
  const inner = created.routeError.shared_link_already_exists;
  const existing = isRecord(inner) ? (urlOf(inner.metadata) ?? urlOf(inner)) : undefined;
  if (existing) return existing;

  const listed = (await dropboxRpc(cc, 'sharing/list_shared_links', { path, direct_only: true }, signal, path)) as { links?: unknown } | null;
  const links = Array.isArray(listed?.links) ? listed.links : [];
  const lower = path.toLowerCase();
  const match = links.find((l) => urlOf(l) && (!isRecord(l) || typeof l.path_lower !== 'string' || l.path_lower === lower)) ?? links.find((l) => urlOf(l));
  if (match) return urlOf(match)!;
  throw failure('DROPBOX_SHARED_LINK_MISSING', `Dropbox says ${path} already has a shared link but lists none; try again`, true);
}

function urlOf(v: unknown): string | undefined {
  return isRecord(v) && typeof v.url === 'string' && v.url !== '' ? v.url : undefined;
}

function checkPath(value: unknown): string {
  if (typeof value !== 'string' || !value.startsWith('/') || value.length < 2 || value.endsWith('/')) {
    const got = value === undefined ? 'nothing' : JSON.stringify(value)?.slice(0, 200);
    throw failure('INVALID_INPUT', `path must evaluate to a file path starting with "/" (e.g. "/orders/ORD-1.json"), got ${got}`, false);
  }
  return value;
}

/** The file's text: see docs/connectors/dropbox.md "Content". */
export function encodeContent(content: unknown, format: DropboxUploadInput['format']): string {
  const fmt = format ?? (typeof content === 'string' ? 'text' : 'json');
  if (content === undefined) throw failure('INVALID_INPUT', 'content evaluated to nothing', false);
  if (fmt === 'text') {
    if (typeof content === 'string') return content;
    if (typeof content === 'number' || typeof content === 'boolean') return String(content);
    throw failure('INVALID_INPUT', `content must evaluate to text for format text, got ${describe(content)} (use format json)`, false);
  }
  if (fmt === 'json') {
    if (typeof content !== 'string') return JSON.stringify(content, null, 2);
    try {
      JSON.parse(content);
    } catch {
      throw failure('INVALID_INPUT', 'content is text that is not JSON; with format json give a value (it is written as JSON) or JSON text', false);
    }
    return content;
  }
  if (typeof content === 'string') return content;
  return toCsv(content);
}

/**
 * CSV (RFC 4180) from an array of objects: a header row of every key in order of first appearance, one row per
 * object, CRLF line ends; fields with `"`, `,`, CR or LF quoted (quotes doubled). Nothing/null → empty field;
 * objects and arrays → their JSON.
 */
export function toCsv(rows: unknown): string {
  if (!Array.isArray(rows) || !rows.every(isRecord)) {
    throw failure('INVALID_INPUT', `content must evaluate to an array of objects for format csv, got ${describe(rows)}`, false);
  }
  const columns = [...new Set(rows.flatMap((r) => Object.keys(r)))];
  if (columns.length === 0) return '';
  const line = (cells: unknown[]) => cells.map(csvField).join(',') + '\r\n';
  return line(columns) + rows.map((r) => line(columns.map((c) => r[c]))).join('');
}

function csvField(v: unknown): string {
  const s = v === undefined || v === null ? '' : typeof v === 'object' ? JSON.stringify(v) : String(v);
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

function describe(v: unknown): string {
  return v === null ? 'null' : Array.isArray(v) ? 'an array' : typeof v === 'object' ? 'an object' : `a ${typeof v}`;
}
