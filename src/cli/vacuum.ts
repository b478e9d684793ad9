/**
 * `statusflow vacuum`: rebuilds the embedded SQLite database once in incremental auto_vacuum, so that
 * the space retention prunes is given back to the file system (databases created before this mode was
 * the default keep their freed pages for new rows instead). Run it with the server stopped.
 */
import { join } from 'node:path';
import { existsSync } from 'node:fs';
import type { Config } from '../config.js';
import { DatabaseInUseError, rebuildSqlite } from '../store/retention.js';

export function vacuumCommand(config: Config): void {
  if (config.databaseUrl) {
    console.log('statusflow vacuum is for the embedded SQLite database; on Postgres, autovacuum reuses the space retention frees (VACUUM FULL gives it back, with an exclusive lock)');
    return;
  }
  const path = join(config.dataDir, 'statusflow.db');
  if (!existsSync(path)) {
    console.error(`no database at ${path}`);
    process.exitCode = 1;
    return;
  }
  const mb = (b: number) => `${(b / 1048576).toFixed(1)} MB`;
  try {
    const r = rebuildSqlite(path);
    console.log(`${path}: ${mb(r.bytesBefore)} → ${mb(r.bytesAfter)} in ${(r.ms / 1000).toFixed(1)} s; auto_vacuum ${r.autoVacuumBefore} → incremental`);
  } catch (err) {
    if (!(err instanceof DatabaseInUseError)) throw err;
    console.error(err.message);
    process.exitCode = 1;
  }
}
