/**
 * Test databases: SQLite always, Postgres too when TEST_DATABASE_URL is set (CI sets it).
 * Each call gets its own database (a temp SQLite file or a fresh Postgres schema), dropped on close.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { openDatabase, type Database, type Dialect } from '../../src/store/db.js';
import { migrate } from '../../src/store/migrate.js';

export const DIALECTS: Dialect[] = process.env.TEST_DATABASE_URL ? ['sqlite', 'postgres'] : ['sqlite'];

export interface TestDatabase extends Database {
  /** Closes the connection and removes the database. */
  drop(): Promise<void>;
  /** Another connection (pool) to the same database, as a second statusflow process would open; the caller closes it. */
  openAgain(): Database;
}

/** Runs one statement on TEST_DATABASE_URL's database with a connection of its own (CREATE/DROP SCHEMA or DATABASE). */
export async function pgAdmin<R extends pg.QueryResultRow = pg.QueryResultRow>(statement: string): Promise<R[]> {
  const url = process.env.TEST_DATABASE_URL;
  if (!url) throw new Error('TEST_DATABASE_URL is not set');
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    return (await c.query<R>(statement)).rows;
  } finally {
    await c.end();
  }
}

export async function openTestDatabase(dialect: Dialect): Promise<TestDatabase> {
  if (dialect === 'sqlite') {
    const dir = mkdtempSync(join(tmpdir(), 'statusflow-test-'));
    const database = openDatabase({ dialect: 'sqlite', path: join(dir, 'test.db') });
    await migrate(database);
    return {
      ...database,
      drop: async () => {
        await database.close();
        rmSync(dir, { recursive: true, force: true });
      },
      openAgain: () => openDatabase({ dialect: 'sqlite', path: join(dir, 'test.db') }),
    };
  }
  const url = process.env.TEST_DATABASE_URL;
  if (!url) throw new Error('TEST_DATABASE_URL is not set');
  const schema = `t_${randomBytes(6).toString('hex')}`;
  await pgAdmin(`CREATE SCHEMA ${schema}`);
  const database = openDatabase({ dialect: 'postgres', url, schema, poolSize: 5 });
  await migrate(database);
  return {
    ...database,
    drop: async () => {
      await database.close();
      await pgAdmin(`DROP SCHEMA ${schema} CASCADE`);
    },
    openAgain: () => openDatabase({ dialect: 'postgres', url, schema, poolSize: 5 }),
  };
}
