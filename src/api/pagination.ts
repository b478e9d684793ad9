/** `?limit=&cursor=` and `{items, nextCursor}` (API.md "Lists"). Cursors are opaque to clients. */
import { AppError } from '../domain/errors.js';

export const DEFAULT_LIMIT = 50;
export const MAX_LIMIT = 500;

export function parseLimit(raw: unknown): number {
  if (raw === undefined || raw === '') return DEFAULT_LIMIT;
  const n = Number(raw);
  if (typeof raw !== 'string' || !/^\d{1,4}$/.test(raw) || n < 1 || n > MAX_LIMIT) {
    throw new AppError('INVALID_QUERY', `limit must be an integer from 1 to ${MAX_LIMIT}.`, { fields: [{ path: 'limit', code: 'range', message: `1..${MAX_LIMIT}` }] });
  }
  return n;
}

export function encodeCursor(position: string | null): string | null {
  return position === null ? null : Buffer.from(`v1:${position}`).toString('base64url');
}

export function decodeCursor(raw: unknown): string | undefined {
  if (raw === undefined || raw === '') return undefined;
  if (typeof raw !== 'string' || raw.length > 400) throw new AppError('INVALID_CURSOR');
  const text = Buffer.from(raw, 'base64url').toString('utf8');
  if (!text.startsWith('v1:') || text.length < 4) throw new AppError('INVALID_CURSOR');
  return text.slice(3);
}

export function page<T>(items: T[], next: string | null): { items: T[]; nextCursor: string | null } {
  return { items, nextCursor: encodeCursor(next) };
}
