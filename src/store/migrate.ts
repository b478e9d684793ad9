/** Applies pending migrations in order, each in its own transaction. Safe to run on every start. */
import { sql } from 'kysely';
import type { Database } from './db.js';
import { MIGRATIONS } from './migrations/index.js';

export async function migrate(database: Database): Promise<string[]> {
  const { db, dialect } = database;
  await sql`CREATE TABLE IF NOT EXISTS statusflow_migrations (
    id INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)`.execute(db);
  const applied: string[] = [];
  for (const m of MIGRATIONS) {
    await db.transaction().execute(async (trx) => {
      if (dialect === 'postgres') {
        // Several processes may start at once: one migrates, the others wait here.
        await sql`SELECT pg_advisory_xact_lock(72417001)`.execute(trx);
      }
      const done = await trx.selectFrom('statusflow_migrations').select('id').where('id', '=', m.id).executeTakeFirst();
      if (done) return;
      const text = dialect === 'sqlite' ? m.sqlite : m.postgres;
      for (const statement of splitStatements(text)) await sql.raw(statement).execute(trx);
      await trx
        .insertInto('statusflow_migrations')
        .values({ id: m.id, name: m.name, applied_at: new Date().toISOString() })
        .execute();
      applied.push(`${String(m.id).padStart(3, '0')}_${m.name}`);
    });
  }
  return applied;
}

/**
 * Statements end with `;` at the end of a line, except inside a Postgres `$$ … $$` body or a SQLite
 * trigger's `BEGIN … END` (migration 007): those pieces are joined until the body closes.
 */
export function splitStatements(text: string): string[] {
  const statements: string[] = [];
  let current = '';
  for (const piece of text.split(/;\s*\n/)) {
    current = current ? `${current};\n${piece}` : piece;
    const openBody = (current.match(/\$\$/g)?.length ?? 0) % 2 === 1;
    const openTrigger = /CREATE TRIGGER[\s\S]*\bBEGIN\b/i.test(current) && !/\bEND\s*$/i.test(current);
    if (openBody || openTrigger) continue;
    statements.push(current);
    current = '';
  }
  if (current) statements.push(current);
  return statements.map((s) => s.replace(/^\s*--.*$/gm, '').trim()).filter((s) => s.length > 0);
}
