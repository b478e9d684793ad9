/**
 * A process refuses to start when its secret key is not the one this database's connection secrets
 * are sealed with (issue 10, item 9): before, a `statusflow worker` started without
 * STATUSFLOW_SECRET_KEY made its own key and then failed every run that used a connection with the
 * non-retryable CONNECTION_SECRETS_UNREADABLE. The database records keyCheck(key) (migration 004).
 *
 * - Nothing recorded (a new database, or one made before this check): the key is recorded — unless
 *   connections exist and none of their secrets opens with this process's keys, which says the key is
 *   the wrong one.
 * - The recorded key is this process's key: start. It is one of its STATUSFLOW_SECRET_KEY_PREVIOUS
 *   (a rotation under way): start; once every secret is re-encrypted, `keyRotated` records the new key,
 *   and from then on processes with only the old key are refused.
 * - Anything else: refused with SecretKeyMismatchError, whose message says what to set.
 * `adopt` (STATUSFLOW_SECRET_KEY_ADOPT=1) records this process's key whatever was recorded: for a key that is lost.
 */
import type { Database } from '../store/db.js';
import { allSealedSecrets } from '../store/connections.js';
import { getRecordedKey, recordKeyIfAbsent, replaceRecordedKey, type RecordedKey } from '../store/secret-key.js';
import { secretContext } from './connection-context.js';
import { SecretsUnreadableError, type SecretBox } from './secrets.js';

export class SecretKeyMismatchError extends Error {
  override name = 'SecretKeyMismatchError';
}

export interface SecretKeyCheckOptions {
  /** Where this process's key came from, for the message (e.g. "STATUSFLOW_SECRET_KEY", "the key file /data/secret.key"). */
  source: string;
  /** Record this process's key even though another is recorded (STATUSFLOW_SECRET_KEY_ADOPT). */
  adopt?: boolean;
}

export type SecretKeyCheck = 'recorded' | 'current' | 'previous' | 'adopted';

export async function checkSecretKey(database: Database, box: SecretBox, o: SecretKeyCheckOptions): Promise<SecretKeyCheck> {
  const { db } = database;
  const mine: RecordedKey = { check: box.checks.current, fingerprint: box.fingerprint };
  let recorded = await getRecordedKey(db);
  if (o.adopt && recorded?.check !== mine.check) {
    await replaceRecordedKey(db, recorded?.check, mine);
    return 'adopted';
  }
  if (!recorded) {
    const unreadable = await noSecretOpens(database, box);
    if (unreadable) throw mismatch(o, box, undefined, unreadable);
    recorded = await recordKeyIfAbsent(db, mine);
    if (recorded.check === mine.check) return 'recorded';
  }
  if (recorded.check === mine.check) return 'current';
  if (box.checks.previous.includes(recorded.check)) return 'previous';
  throw mismatch(o, box, recorded);
}

/** After a rotation re-encrypted every secret: the new key becomes the recorded one. */
export async function keyRotated(database: Database, box: SecretBox): Promise<boolean> {
  const recorded = await getRecordedKey(database.db);
  if (recorded?.check === box.checks.current) return false;
  if (recorded && !box.checks.previous.includes(recorded.check)) return false;
  return replaceRecordedKey(database.db, recorded?.check, { check: box.checks.current, fingerprint: box.fingerprint });
}

/** How many connections exist when none of their secrets opens with the box; 0 when one does or none exist. */
async function noSecretOpens(database: Database, box: SecretBox): Promise<number> {
  const rows = await allSealedSecrets(database.db);
  for (const row of rows) {
    try {
      box.open(row.sealedSecrets, secretContext(row.orgId, row.key));
      return 0;
    } catch (err) {
      if (!(err instanceof SecretsUnreadableError)) throw err;
    }
  }
  return rows.length;
}

function mismatch(o: SecretKeyCheckOptions, box: SecretBox, recorded: RecordedKey | undefined, unreadable = 0): SecretKeyMismatchError {
  const what = recorded
    ? `this database's connection secrets are encrypted with the key ${recorded.fingerprint}, and this process has the key ${box.fingerprint} (from ${o.source})`
    : `the secrets of the ${unreadable} connection(s) in this database open with none of this process's keys (key ${box.fingerprint}, from ${o.source})`;
  return new SecretKeyMismatchError(
    `${what}. Set STATUSFLOW_SECRET_KEY to the key the other statusflow processes of this database use ` +
      '(to rotate: the new key in STATUSFLOW_SECRET_KEY and the old one in STATUSFLOW_SECRET_KEY_PREVIOUS). ' +
      'If that key is lost, STATUSFLOW_SECRET_KEY_ADOPT=1 makes this key the database\'s; the secrets sealed with the lost key must then be entered again.',
  );
}
