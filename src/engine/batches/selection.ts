/**
 * A batch's set, chosen in keyset chunks (never loaded whole): SQL applies statuses, ids, linked and
 * updated before/after (store/batch-selection.ts); the JSONata `where` is evaluated per chunk in the
 * expression workers, as `GET /entities?where=` does (an entity matches on exactly `true`; a chunk the
 * condition could not be evaluated on — time or memory limit — refuses the whole request with
 * WHERE_TOO_EXPENSIVE, or EXPRESSION_BUSY under load; nothing is written then). Preview and create walk
 * the same selection, so the preview's count is what runs.
 */
import { AppError } from '../../domain/errors.js';
import type { BatchFilter } from '../../domain/batch.js';
import type { EntityRecord } from '../../store/entities.js';
import { existingEntityIds, selectEntityChunk, type SelectionChunkQuery } from '../../store/batch-selection.js';
import { refuseIfBusy } from '../expressions.js';
import { expressionInput } from '../requirements.js';
import type { Services } from '../services.js';

/** Rows read per chunk: ids only, or whole rows when the `where` condition needs them. */
const ID_CHUNK = 1000;
const ROW_CHUNK = 200;
/** Ids that do not exist named in the error (of however many). */
const MISSING_SHOWN = 20;
const UNEVALUATED = new Set(['EXPR_TIMEOUT', 'EXPR_RESOURCE_LIMIT', 'EXPR_BUSY']);

export interface Selection {
  orgId: string;
  entityType: string;
  filter: BatchFilter;
}

/** One chunk of the matching entities, in id order; `entities` when the rows were read (`full`). */
export type ChunkHandler = (ids: string[], entities: EntityRecord[] | undefined) => Promise<void> | void;

/**
 * Walks the matching entities chunk by chunk. `full` asks for whole rows (a sample); they are read
 * anyway when the filter has a `where`. Ids in the filter that are not entities of the type refuse the
 * request (BATCH_ENTITIES_NOT_FOUND) before any chunk is handed over.
 */
export async function walkSelection(services: Services, s: Selection, onChunk: ChunkHandler, options: { full?: boolean } = {}): Promise<void> {
  const { db } = services.database;
  const f = s.filter;
  const ids = f.ids ? [...new Set(f.ids)].sort() : undefined;
  if (ids) await checkIdsExist(services, s, ids);
  const full = Boolean(f.where) || Boolean(options.full);
  const limit = full ? ROW_CHUNK : ID_CHUNK;
  const base: Omit<SelectionChunkQuery, 'limit' | 'afterId' | 'ids'> = {
    orgId: s.orgId,
    type: s.entityType,
    statuses: f.status,
    linked: f.linked,
    updatedAfter: f.updatedAfter && new Date(f.updatedAfter).toISOString(),
    updatedBefore: f.updatedBefore && new Date(f.updatedBefore).toISOString(),
    full,
  };
  // With ids: one slice of them per chunk; otherwise a keyset over the type's entities.
  if (ids) {
    for (let i = 0; i < ids.length; i += limit) {
      const rows = await selectEntityChunk(db, { ...base, ids: ids.slice(i, i + limit), limit });
      await handle(services, s, rows, onChunk);
    }
    return;
  }
  let afterId: string | undefined;
  for (;;) {
    const rows = await selectEntityChunk(db, { ...base, afterId, limit });
    if (rows.length === 0) return;
    await handle(services, s, rows, onChunk);
    if (rows.length < limit) return;
    afterId = rows[rows.length - 1]!.id;
  }
}

async function checkIdsExist(services: Services, s: Selection, ids: readonly string[]): Promise<void> {
  const missing: string[] = [];
  let count = 0;
  for (let i = 0; i < ids.length; i += ID_CHUNK) {
    const slice = ids.slice(i, i + ID_CHUNK);
    const found = await existingEntityIds(services.database.db, s.orgId, s.entityType, slice);
    for (const id of slice) {
      if (found.has(id)) continue;
      count++;
      if (missing.length < MISSING_SHOWN) missing.push(id.slice(0, 100));
    }
  }
  if (count > 0) {
    throw new AppError('BATCH_ENTITIES_NOT_FOUND', `${count} of the ${ids.length} ids are not ${s.entityType} entities (e.g. "${missing[0]}"); nothing was created.`, { missing, count, entityType: s.entityType });
  }
}

async function handle(services: Services, s: Selection, rows: Array<{ id: string; entity?: EntityRecord }>, onChunk: ChunkHandler): Promise<void> {
  const where = s.filter.where;
  if (!where) {
    await onChunk(rows.map((r) => r.id), rows[0]?.entity ? rows.map((r) => r.entity!) : undefined);
    return;
  }
  const entities = rows.map((r) => r.entity!);
  const outcomes = await services.evaluator.evaluateForEach(where, entities.map((e) => expressionInput(e)), { org: s.orgId });
  const matched: EntityRecord[] = [];
  outcomes.forEach((o, i) => {
    if (!o.ok && UNEVALUATED.has(o.error.code)) {
      if (o.error.code === 'EXPR_BUSY') refuseIfBusy([o]);
      throw new AppError('WHERE_TOO_EXPENSIVE', `The where condition could not be evaluated on the batch's entities: ${o.error.message}. Simplify the condition or narrow the filter (status, ids, updatedAfter).`, { cause: o.error });
    }
    if (o.ok && o.value === true) matched.push(entities[i]!);
  });
  if (matched.length > 0) await onChunk(matched.map((e) => e.id), matched);
}
