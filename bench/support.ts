/**
 * Pieces the benchmarks share: the commit being measured, and an in-process Statusflow (services and
 * an admin key) on a fresh database — a temp SQLite file or a new Postgres database — dropped on close.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import pg from 'pg';
import { bootstrap } from '../src/engine/access.js';
import { createServices, type Services } from '../src/engine/services.js';
import { createEvaluator, type Evaluator } from '../src/expr/index.js';
import { openDatabase, type Database } from '../src/store/db.js';
import { migrate } from '../src/store/migrate.js';

export const ROOT = resolve(import.meta.dirname, '..');

/** The commit measured (and whether src/ had uncommitted changes): the engine changes fast. */
export function revision(): string {
  try {
    const head = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT, encoding: 'utf8' }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--', 'src'], { cwd: ROOT, encoding: 'utf8' }).trim() !== '';
    return `${head}${dirty ? ' + uncommitted changes in src/' : ''}`;
  } catch {
    return 'unknown';
  }
}

export interface InProcess {
  database: Database;
  /** The SQLite file (sqlite only). */
  sqlitePath: string;
  evaluator: Evaluator;
  services: Services;
  adminKey: string;
  orgId: string;
  /** Stops the evaluator, closes and removes the database. */
  close(): Promise<void>;
}

/** Services on a fresh, migrated database with the default organization and an admin key (`sf_<name>_…`). */
export async function openInProcess(o: { dialect: 'sqlite' | 'postgres'; pgUrl: string; name: string }): Promise<InProcess> {
  const dir = mkdtempSync(join(tmpdir(), `statusflow-${o.name}-`));
  const pgName = `statusflow_${o.name}_${randomBytes(4).toString('hex')}`;
  const pgAdmin = async (statement: string) => {
    const c = new pg.Client({ connectionString: o.pgUrl });
    await c.connect();
    await c.query(statement).finally(() => c.end());
  };
  let database: Database;
  if (o.dialect === 'sqlite') {
    database = openDatabase({ dialect: 'sqlite', path: join(dir, 'statusflow.db') });
  } else {
    await pgAdmin(`CREATE DATABASE ${pgName}`);
    const url = new URL(o.pgUrl);
    url.pathname = `/${pgName}`;
    database = openDatabase({ dialect: 'postgres', url: url.toString(), poolSize: 10 });
  }
  await migrate(database);
  const evaluator = createEvaluator({ threads: 1, timeoutMs: 1000 });
  const services = createServices(database, evaluator);
  const adminKey = `sf_${o.name}_${randomBytes(8).toString('hex')}`;
  const { organization } = await bootstrap(services, adminKey);
  return {
    database,
    sqlitePath: join(dir, 'statusflow.db'),
    evaluator,
    services,
    adminKey,
    orgId: organization.id,
    close: async () => {
      await evaluator.close();
      await database.close();
      rmSync(dir, { recursive: true, force: true });
      if (o.dialect === 'postgres') await pgAdmin(`DROP DATABASE IF EXISTS ${pgName} WITH (FORCE)`);
    },
  };
}
