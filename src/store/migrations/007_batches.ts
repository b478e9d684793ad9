/**
 * Batches (issue 12): a manual run of one process over a set of entities fixed when the batch is made.
 * - `batches` carries its progress as counters kept incrementally, so reading progress is one row
 *   (never a COUNT over 100,000 items). `pending` items have no run yet; the feeder creates runs for
 *   them a window at a time (engine/batches/feeder.ts).
 * - `batch_items` is the set, one row per entity, in selection order (`seq`, the feeder's keyset).
 *   UNIQUE (batch_id, entity_id): an entity is in a batch once.
 * - A trigger on runs moves an item and its batch's counters whenever a batch run changes status, in
 *   the transaction that changed it — whoever did (the executor's step commits, a claim, a retry or a
 *   cancel by hand) — so a crash can never leave a counter behind its runs. On Postgres it is a
 *   statement trigger that touches each batch once per statement, in id order: two group commits of
 *   runs of the same batches then lock the batch rows in the same order (no deadlock between them).
 * - A partial index finds due batch runs apart from live ones: the claim takes live runs first
 *   (store/run-claims.ts).
 */
const COUNTERS = ['pending', 'queued', 'running', 'succeeded', 'failed', 'skipped', 'cancelled'] as const;

/** `col = col - (prev = col) + (next = col)` for every counter, with `n` the number of such moves. */
const moves = (prev: string, next: string, n = '1') =>
  COUNTERS.map((c) => `${c} = ${c} - (CASE WHEN ${prev} = '${c}' THEN ${n} ELSE 0 END) + (CASE WHEN ${next} = '${c}' THEN ${n} ELSE 0 END)`).join(',\n    ');

/** The item status a run status means: a waiting run (backoff, delay) has started. */
const itemStatus = (runStatus: string) => `(CASE ${runStatus} WHEN 'waiting' THEN 'running' ELSE ${runStatus} END)`;

/** Ends a batch whose items all ended; reopens a completed one when a run of it is retried by hand. */
const settle = (id: string, now: string) => `
  UPDATE batches SET status = 'completed', finished_at = ${now}
    WHERE id = ${id} AND status IN ('running', 'paused') AND pending = 0 AND queued = 0 AND running = 0;
  UPDATE batches SET status = 'running', finished_at = NULL
    WHERE id = ${id} AND status = 'completed' AND (queued > 0 OR running > 0);`;

const tables = (ts: string, big: string) => `
CREATE TABLE batches (
  id TEXT PRIMARY KEY,
  org_id TEXT NOT NULL,
  process TEXT NOT NULL,
  process_version INTEGER NOT NULL,
  entity_type TEXT NOT NULL,
  filter TEXT NOT NULL,
  -- preparing (items being inserted; not listed) | running | paused | cancelled | completed
  status TEXT NOT NULL,
  total INTEGER NOT NULL,
  ${COUNTERS.map((c) => `${c} INTEGER NOT NULL DEFAULT 0`).join(',\n  ')},
  created_by TEXT NOT NULL,
  created_at ${ts} NOT NULL,
  started_at ${ts},
  finished_at ${ts},
  -- the recent rate for etaSeconds: ended items at two moments (epoch ms), rolled by the feeder
  rate_at ${big},
  rate_done INTEGER,
  rate_prev_at ${big},
  rate_prev_done INTEGER
);
CREATE INDEX batches_org ON batches (org_id, id);
-- the feeders look for batches with work to queue
CREATE INDEX batches_active ON batches (status, id);

CREATE TABLE batch_items (
  batch_id TEXT NOT NULL,
  seq INTEGER NOT NULL,
  org_id TEXT NOT NULL,
  entity_id TEXT NOT NULL,
  -- pending | queued | running | succeeded | failed | skipped | cancelled
  status TEXT NOT NULL,
  -- the item's current run (null while pending)
  run_id TEXT,
  -- runs created for the item (retry-failed adds one)
  attempts INTEGER NOT NULL DEFAULT 0,
  error TEXT,
  PRIMARY KEY (batch_id, seq),
  UNIQUE (batch_id, entity_id)
);
-- the feeder takes pending items in order; GET …/items?status= pages by status
CREATE INDEX batch_items_status ON batch_items (batch_id, status, seq);

CREATE INDEX runs_batch_due ON runs (status, available_at) WHERE batch_id IS NOT NULL;
CREATE INDEX runs_batch ON runs (batch_id, id) WHERE batch_id IS NOT NULL;
`;

const NOW_SQLITE = `strftime('%Y-%m-%dT%H:%M:%fZ', 'now')`;

const sqlite = `${tables('TEXT', 'INTEGER')}
CREATE TRIGGER runs_batch_progress AFTER UPDATE OF status ON runs
WHEN NEW.batch_id IS NOT NULL AND OLD.status <> NEW.status
BEGIN
  UPDATE batches SET
    ${moves('i.status', itemStatus('NEW.status'))}
  FROM (SELECT status FROM batch_items WHERE batch_id = NEW.batch_id AND entity_id = NEW.entity_id AND run_id = NEW.id) AS i
  WHERE batches.id = NEW.batch_id AND i.status <> ${itemStatus('NEW.status')};
  UPDATE batch_items SET status = ${itemStatus('NEW.status')}, error = CASE WHEN NEW.status = 'failed' THEN NEW.error ELSE NULL END
  WHERE batch_id = NEW.batch_id AND entity_id = NEW.entity_id AND run_id = NEW.id AND status <> ${itemStatus('NEW.status')};
  ${settle('NEW.batch_id', NOW_SQLITE)}
END;
`;

const delta = (c: string) => `sum(CASE WHEN next = '${c}' THEN 1 ELSE 0 END) - sum(CASE WHEN prev = '${c}' THEN 1 ELSE 0 END) AS ${c}`;

const postgres = `${tables('TIMESTAMPTZ', 'BIGINT')}
CREATE FUNCTION runs_batch_progress() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  deltas jsonb;
  b RECORD;
BEGIN
  WITH changed AS (
    SELECT n.id, n.batch_id, n.entity_id, ${itemStatus('n.status')} AS next, n.status AS run_status, n.error
    FROM new_runs n JOIN old_runs o ON o.id = n.id
    WHERE n.batch_id IS NOT NULL AND o.status <> n.status
  ), moved AS (
    UPDATE batch_items bi SET status = c.next, error = CASE WHEN c.run_status = 'failed' THEN c.error ELSE NULL END
    FROM changed c, batch_items prev
    WHERE bi.batch_id = c.batch_id AND bi.entity_id = c.entity_id AND bi.run_id = c.id AND bi.status <> c.next
      AND prev.batch_id = bi.batch_id AND prev.entity_id = bi.entity_id
    RETURNING bi.batch_id, prev.status AS prev, c.next
  )
  SELECT jsonb_agg(d) INTO deltas FROM (
    SELECT batch_id AS id, ${COUNTERS.map(delta).join(', ')} FROM moved GROUP BY batch_id
  ) d;
  IF deltas IS NULL THEN
    RETURN NULL;
  END IF;
  FOR b IN SELECT * FROM jsonb_to_recordset(deltas) AS x(id text, ${COUNTERS.map((c) => `${c} int`).join(', ')}) ORDER BY id LOOP
    UPDATE batches SET ${COUNTERS.map((c) => `${c} = batches.${c} + b.${c}`).join(', ')} WHERE batches.id = b.id;
    ${settle('b.id', 'now()')}
  END LOOP;
  RETURN NULL;
END $$;
CREATE TRIGGER runs_batch_progress AFTER UPDATE ON runs
  REFERENCING OLD TABLE AS old_runs NEW TABLE AS new_runs
  FOR EACH STATEMENT EXECUTE FUNCTION runs_batch_progress();
`;

export const migration = { id: 7, name: 'batches', sqlite, postgres };
