/** The recorded secret key of the database (migration 004): read, record if absent, replace after a rotation. */
import { sql, type Kysely } from 'kysely';
import type { Tables } from './schema.js';

export interface RecordedKey {
  /** HMAC-SHA256 of a fixed label under the key (engine/secrets.ts keyCheck). */
  check: string;
  /** Short public name of the key, as logs print it. */
  fingerprint: string;
}

export async function getRecordedKey(db: Kysely<Tables>): Promise<RecordedKey | undefined> {
  const { rows } = await sql<{ key_check: string; fingerprint: string }>`SELECT key_check, fingerprint FROM statusflow_secret_key WHERE id = 1`.execute(db);
  return rows[0] && { check: rows[0].key_check, fingerprint: rows[0].fingerprint };
}

/** Records the key unless one is recorded already (two processes starting at once: the first wins); returns the recorded one. */
export async function recordKeyIfAbsent(db: Kysely<Tables>, key: RecordedKey): Promise<RecordedKey> {
  await sql`INSERT INTO statusflow_secret_key (id, key_check, fingerprint, recorded_at) VALUES (1, ${key.check}, ${key.fingerprint}, ${new Date().toISOString()})
    ON CONFLICT (id) DO NOTHING`.execute(db);
  return (await getRecordedKey(db))!;
}

/** Records `key` in place of `previous` (a rotation finished); false when another key was recorded meanwhile. */
export async function replaceRecordedKey(db: Kysely<Tables>, previous: string | undefined, key: RecordedKey): Promise<boolean> {
  const now = new Date().toISOString();
  if (previous === undefined) return (await recordKeyIfAbsent(db, key)).check === key.check;
  const result = await sql`UPDATE statusflow_secret_key SET key_check = ${key.check}, fingerprint = ${key.fingerprint}, recorded_at = ${now}
    WHERE id = 1 AND key_check = ${previous}`.execute(db);
  return Number(result.numAffectedRows ?? 0) === 1;
}
