/**
 * Pages bounded by bytes as well as by count (issue 10, item 6: 300 events of ~2 MB each read as one
 * `limit=500` page took the server from 149 MB to 1.95 GB and answered 500 after 6.5 s of blocked
 * event loop). The store measures each row's stored size in SQL, without reading it; a page takes rows
 * while their sizes fit the budget and then ends with a cursor, so a large page is never materialised.
 */

/** Bytes counted per item on top of its measured columns (ids, timestamps, field names, small JSON like an event's actor). */
export const ITEM_OVERHEAD_BYTES = 1024;

/** Default page budget (STATUSFLOW_PAGE_BYTES): a few JSON.stringify milliseconds, well below memory limits. */
export const DEFAULT_PAGE_BYTES = 4 * 1024 * 1024;

/** A row's position (its id or key) and its measured size in bytes. */
export interface SizedRow {
  id: string;
  bytes: number;
}

/**
 * How many of `rows` (in page order) one page takes: at most `limit`, together at most `maxBytes`
 * (each row counted with ITEM_OVERHEAD_BYTES), and always at least one, so every row can be read.
 */
export function fitPage(rows: readonly SizedRow[], limit: number, maxBytes: number): number {
  let total = 0;
  let taken = 0;
  for (const row of rows) {
    if (taken === limit) break;
    total += Number(row.bytes) + ITEM_OVERHEAD_BYTES;
    if (taken > 0 && total > maxBytes) break;
    taken++;
  }
  return taken;
}

/**
 * One page: `sizes` are up to `limit + 1` rows from the cursor on (sizes only); the rows that fit are
 * then read by `fetch` (in the same order). `nextId` is the last row taken when more follow.
 */
export async function readBudgetedPage<T>(
  sizes: readonly SizedRow[],
  limit: number,
  maxBytes: number,
  fetch: (ids: string[]) => Promise<T[]>,
): Promise<{ items: T[]; nextId: string | null }> {
  const taken = fitPage(sizes, limit, maxBytes);
  if (taken === 0) return { items: [], nextId: null };
  const ids = sizes.slice(0, taken).map((r) => r.id);
  return { items: await fetch(ids), nextId: sizes.length > taken ? ids[ids.length - 1]! : null };
}
