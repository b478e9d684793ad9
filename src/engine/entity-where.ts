/**
 * Entity lists filtered by `where=` (a JSONata condition evaluated per row in the expression worker;
 * an entity matches when it gives exactly `true`). Memory and time stay bounded whatever was stored:
 * - rows are measured in SQL first, then read in batches no larger than the page budget, so one
 *   batch in memory is at most one budget (plus one row larger than it);
 * - a page's items are bounded by `limit` and by the budget; it examines at most WHERE_SCAN_LIMIT
 *   rows and WHERE_SCAN_BUDGETS budgets of stored data, then ends with a cursor;
 * - a batch the condition could not be evaluated on ends the page before it with a cursor, or — when
 *   nothing matched yet — is refused with WHERE_TOO_EXPENSIVE. Treating such a batch as "no match"
 *   once answered 200 OK with 61 of 200 items and no cursor.
 */
import { AppError } from '../domain/errors.js';
import { fitPage, ITEM_OVERHEAD_BYTES, type SizedRow } from '../domain/page-budget.js';
import { getEntitiesInOrder, listEntitySizes, type EntityRecord, type ListEntitiesQuery } from '../store/entities.js';
import { expressionInput } from './requirements.js';
import { refuseIfBusy } from './expressions.js';
import type { Services } from './services.js';

/** Rows measured per query. */
const WHERE_CHUNK = 500;
/** Most rows examined for one page. */
const WHERE_SCAN_LIMIT = 10_000;
/** Most stored bytes examined for one page, in page budgets. */
const WHERE_SCAN_BUDGETS = 16;
/**
 * Outcomes that say the condition could not be evaluated on a whole batch of rows (the pool stops a
 * batch that overran its time or crashed its worker), not that a row failed it.
 */
const UNEVALUATED = new Set(['EXPR_TIMEOUT', 'EXPR_RESOURCE_LIMIT', 'EXPR_BUSY']);

/** One page of the entities matching `where`, newest first, from `q.beforeId` on. */
export async function findEntitiesWhere(services: Services, q: ListEntitiesQuery, where: string): Promise<{ items: EntityRecord[]; nextId: string | null }> {
  const { db } = services.database;
  const budget = services.pageBytes;
  const items: EntityRecord[] = [];
  let itemBytes = 0;
  /** The last row examined: where the next page continues. */
  let cursor = q.beforeId;
  /** Rows measured and not yet examined (each row is measured once: on Postgres that reads it). */
  let measured: SizedRow[] = [];
  let allMeasured = false;
  let scanned = 0;
  let scannedBytes = 0;
  for (;;) {
    if (measured.length === 0 && !allMeasured) {
      measured = await listEntitySizes(db, { ...q, beforeId: cursor, limit: WHERE_CHUNK });
      allMeasured = measured.length < WHERE_CHUNK;
    }
    const batch = measured.splice(0, fitPage(measured, WHERE_CHUNK, budget));
    if (batch.length === 0) return { items, nextId: null };
    const bytes = new Map(batch.map((r) => [r.id, Number(r.bytes) + ITEM_OVERHEAD_BYTES]));
    const rows = await getEntitiesInOrder(db, q.orgId, q.type, batch.map((r) => r.id));
    const outcomes = await services.evaluator.evaluateForEach(where, rows.map((e) => expressionInput(e)), { org: q.orgId });
    for (let i = 0; i < rows.length; i++) {
      const row = rows[i]!;
      const outcome = outcomes[i]!;
      if (!outcome.ok && UNEVALUATED.has(outcome.error.code)) {
        if (items.length > 0) return { items, nextId: cursor ?? null };
        // Not evaluated for load (other calls held the workers): a 503 to retry, not the condition's fault.
        if (outcome.error.code === 'EXPR_BUSY') refuseIfBusy([outcome]);
        throw new AppError(
          'WHERE_TOO_EXPENSIVE',
          `The where condition could not be evaluated on this page's entities: ${outcome.error.message}. Simplify the condition or narrow the list (status=, a smaller limit).`,
          { cause: outcome.error },
        );
      }
      if (outcome.ok && outcome.value === true) {
        const size = bytes.get(row.id)!;
        if (items.length > 0 && itemBytes + size > budget) return { items, nextId: cursor ?? null };
        items.push(row);
        itemBytes += size;
        if (items.length === q.limit) {
          const more = i < rows.length - 1 || measured.length > 0 || !allMeasured;
          return { items, nextId: more ? row.id : null };
        }
      }
      cursor = row.id;
    }
    cursor = batch[batch.length - 1]!.id;
    scanned += batch.length;
    for (const r of batch) scannedBytes += bytes.get(r.id)!;
    if (measured.length === 0 && allMeasured) return { items, nextId: null };
    if (scanned >= WHERE_SCAN_LIMIT || scannedBytes >= WHERE_SCAN_BUDGETS * budget) return { items, nextId: cursor };
  }
}
