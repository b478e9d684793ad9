/**
 * The write of a save on Postgres in one statement, one round trip instead of four (measured: bench/save,
 * 2026-12): share-lock the entity type row (a concurrent replace or delete of the type waits for this
 * transaction) and check its version, write the entity (insert, or update at the expected version) only
 * if it matches, insert the event only if the entity was written, and read the processes the entered
 * statuses trigger. Raw SQL kept for that measured reason: test/save-conformance.test.ts runs it and
 * the SQLite form (built with Kysely, saves.ts) on the same fixture and expects the same rows.
 */
import { sql, type Kysely, type Transaction } from 'kysely';
import { isCauseKeyViolation, type EntityEvent, type EntityRecord } from './entities.js';
import type { TriggeredProcess } from './processes.js';
import type { Tables } from './schema.js';

/** What the write of a save needs (store/saves.ts). */
export interface SaveWrite {
  orgId: string;
  /** The entity type version the save was validated against. */
  typeVersion: number;
  entity: EntityRecord;
  /** On update: the stored version read before (the write happens only if it is still that). */
  expectedVersion: number | undefined;
  event: EntityEvent;
  /** `<run id>:<task key>` when a process task makes the save (unique per organization). */
  causeKey: string | null;
  /** Statuses entered: the enabled processes they trigger start runs. */
  entered: readonly string[];
}

/** An event with the save's cause key exists already (thrown so that a transaction rolls back). */
export class CauseRepeated extends Error {}

export type StatementOutcome =
  | { kind: 'written'; queued: [] }
  | { kind: 'type_moved' }
  | { kind: 'entity_moved' }
  /** `alone`: nothing was written, processes would start (make the save in a transaction). Else: written, and these start. */
  | { kind: 'triggered'; triggered: TriggeredProcess[] };

/**
 * `alone` (outside a transaction): write only if the entered statuses trigger no process (runs would
 * need a second statement in the same transaction). Atomic by itself.
 */
export async function saveStatement(db: Kysely<Tables> | Transaction<Tables>, w: SaveWrite, alone: boolean): Promise<StatementOutcome> {
  let row: { type_version: number | null; written: number; triggered: Array<[string, number, string]> };
  try {
    row = await run(db, w, alone);
  } catch (err) {
    throw w.causeKey !== null && isCauseKeyViolation(err) ? new CauseRepeated() : err;
  }
  if ((row.type_version ?? undefined) !== w.typeVersion) return { kind: 'type_moved' };
  const triggered = row.triggered.map(([key, version, triggerStatus]) => ({ key, version, triggerStatus }));
  if (alone && row.written !== 1 && triggered.length > 0) return { kind: 'triggered', triggered };
  if (row.written !== 1) return { kind: 'entity_moved' };
  return alone || triggered.length === 0 ? { kind: 'written', queued: [] } : { kind: 'triggered', triggered };
}

async function run(db: Kysely<Tables> | Transaction<Tables>, w: SaveWrite, alone: boolean) {
  const e = w.entity;
  const ev = w.event;
  const when = alone ? sql`t.version = ${w.typeVersion}::int AND NOT EXISTS (SELECT 1 FROM tp)` : sql`t.version = ${w.typeVersion}::int`;
  const write =
    w.expectedVersion === undefined
      ? sql`INSERT INTO entities (id, org_id, type, status, attributes, version, created_at, updated_at)
          SELECT ${e.id}, ${w.orgId}, ${e.type}, ${e.status}, ${JSON.stringify(e.attributes)}::jsonb, ${e.version}::int, ${e.createdAt}::timestamptz, ${e.updatedAt}::timestamptz
          FROM t WHERE ${when}
          RETURNING id`
      : sql`UPDATE entities SET status = ${e.status}, attributes = ${JSON.stringify(e.attributes)}::jsonb, version = ${e.version}::int, updated_at = ${e.updatedAt}::timestamptz
          WHERE id = ${e.id} AND org_id = ${w.orgId} AND version = ${w.expectedVersion}::int AND EXISTS (SELECT 1 FROM t WHERE ${when})
          RETURNING id`;
  const { rows } = await sql<{ type_version: number | null; written: number; triggered: Array<[string, number, string]> }>`
    WITH t AS (
      SELECT version FROM entity_types WHERE org_id = ${w.orgId} AND key = ${e.type} FOR SHARE
    ), tp AS (
      SELECT key, version, trigger_status FROM processes
      WHERE org_id = ${w.orgId} AND entity_type = ${e.type} AND trigger_status = ANY(${[...w.entered]}::text[]) AND enabled
    ), e AS (${write}), ev AS (
      INSERT INTO entity_events (id, org_id, entity_id, entity_type, entity_version, kind, status_before, status_after, status_path, changes, actor, created_at, cause_key)
      SELECT ${ev.id}, ${w.orgId}, e.id, ${ev.entityType}, ${ev.entityVersion}::int, ${ev.kind}, ${ev.statusBefore}::text, ${ev.statusAfter}::text,
        ${JSON.stringify(ev.statusPath)}, ${JSON.stringify(ev.changes)}, ${JSON.stringify(ev.actor)}, ${ev.createdAt}::timestamptz, ${w.causeKey}::text
      FROM e
      RETURNING 1
    )
    SELECT
      (SELECT version FROM t) AS type_version,
      (SELECT count(*) FROM ev)::int AS written,
      COALESCE((SELECT json_agg(json_build_array(key, version, trigger_status) ORDER BY key) FROM tp), '[]'::json) AS triggered`.execute(db);
  return rows[0]!;
}
