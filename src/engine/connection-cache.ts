/**
 * Decrypted connections, held a few seconds so a hot path does not read and decrypt per step, and the
 * per-connection memo tasks keep in memory (e.g. a short-lived access token). Both are keyed by
 * (org, key) and dropped when the connection's `updatedAt` changes, so new credentials are never
 * mixed with state made from the old ones.
 */
import type { ConnectionView } from '../connectors/types.js';

/** How long a decrypted connection is used without checking the database for a newer version. */
export const CONNECTION_CACHE_MS = 3_000;
const MAX_ENTRIES = 10_000;

export interface CachedConnection {
  view: ConnectionView;
  updatedAt: string;
  /** When the database was last asked about it (performance.now()). */
  checkedAt: number;
}

export class ConnectionCache {
  readonly #views = new Map<string, CachedConnection>();
  readonly #memos = new Map<string, { updatedAt: string; memo: Map<string, unknown> }>();

  get(orgId: string, key: string): CachedConnection | undefined {
    return this.#views.get(id(orgId, key));
  }

  set(orgId: string, key: string, view: ConnectionView, updatedAt: string): CachedConnection {
    const entry = { view, updatedAt, checkedAt: performance.now() };
    bounded(this.#views).set(id(orgId, key), entry);
    return entry;
  }

  /** The memo of the connection as of `updatedAt` (a fresh one when the connection changed). */
  memo(orgId: string, key: string, updatedAt: string): Map<string, unknown> {
    const k = id(orgId, key);
    const held = this.#memos.get(k);
    if (held && held.updatedAt === updatedAt) return held.memo;
    const memo = new Map<string, unknown>();
    bounded(this.#memos).set(k, { updatedAt, memo });
    return memo;
  }

  /** Drops what is held for a connection (it was replaced or deleted in this process). */
  forget(orgId: string, key: string): void {
    this.#views.delete(id(orgId, key));
    this.#memos.delete(id(orgId, key));
  }
}

function id(orgId: string, key: string): string {
  return `${orgId}\u0000${key}`;
}

function bounded<V>(map: Map<string, V>): Map<string, V> {
  if (map.size >= MAX_ENTRIES) map.delete(map.keys().next().value as string);
  return map;
}
