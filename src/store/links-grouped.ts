/**
 * Links of many steps at once. The steps of a grouped provider call (docs/provider-batching.md) read and keep
 * their links together (engine/link-queue.ts): one query for the links of up to 256 entities, one write for
 * the links of a whole call — instead of one query and, on SQLite, one COMMIT of its own per record.
 */
import type { Kysely, Selectable, Transaction } from 'kysely';
import { Compiled, CompiledShapes, listMarks, marksOf, sqliteBuilder } from './compiled.js';
import type { Database } from './db.js';
import { linkRow, putLinkQuery, toStored, type LinkRow, type LinkWrite, type StoredLink } from './links.js';
import type { LinksTable, Tables } from './schema.js';

type Executor = Kysely<Tables> | Transaction<Tables>;

/** Whose links, through which connection, to which external type. */
export interface LinkScope {
  orgId: string;
  connection: string;
  externalType: string;
}

/** Entity ids per query; SQLite statements are compiled for 1, 2, 4 … 256 ids (a shorter list repeats its last id). */
const MAX_IDS = 256;
/** Rows per Postgres insert (11 parameters each). */
const MAX_ROWS = 500;

function linksOfQuery(db: Executor, scope: LinkScope, entityIds: readonly string[]) {
  return db
    .selectFrom('links')
    .selectAll()
    .where('org_id', '=', scope.orgId)
    .where('connection', '=', scope.connection)
    .where('external_type', '=', scope.externalType)
    .where('entity_id', 'in', entityIds);
}

const LINKS_OF = new CompiledShapes<Record<string, string>>((p, n) =>
  linksOfQuery(sqliteBuilder, { orgId: p.org!, connection: p.connection!, externalType: p.type! }, Array.from({ length: Number(n) }, (_, i) => p[`e${i}`]!)),
);

/** The links of `entityIds` (those that have one), in no particular order. */
export async function readLinksOf(database: Database, scope: LinkScope, entityIds: readonly string[]): Promise<StoredLink[]> {
  const out: StoredLink[] = [];
  const sqlite = database.sqlite;
  for (let at = 0; at < entityIds.length; at += MAX_IDS) {
    const ids = entityIds.slice(at, at + MAX_IDS);
    let rows: Selectable<LinksTable>[];
    if (sqlite) {
      const n = 2 ** Math.ceil(Math.log2(ids.length));
      const values = { org: scope.orgId, connection: scope.connection, type: scope.externalType, ...listMarks('e', [...ids, ...Array<string>(n - ids.length).fill(ids.at(-1)!)]) };
      rows = await sqlite.readNow((s) => LINKS_OF.of(String(n)).all<Selectable<LinksTable>>(s, values));
    } else {
      rows = await linksOfQuery(database.db, scope, ids).execute();
    }
    for (const row of rows) out.push(toStored(row));
  }
  return out;
}

const PUT_LINK = new Compiled<LinkRow>(() => putLinkQuery(sqliteBuilder, marksOf(linkRow({} as LinkWrite, ''))));

/**
 * Creates or updates many links in one write, in order (of two writes of one link the later wins): on SQLite one
 * SqliteWriter job, committed with the writes around it; on Postgres one statement per 500 links.
 */
export async function writeLinks(database: Database, links: readonly LinkWrite[], now: string): Promise<void> {
  if (links.length === 0) return;
  const rows = links.map((l) => linkRow(l, now));
  const sqlite = database.sqlite;
  if (sqlite) {
    await sqlite.write((s) => {
      for (const row of rows) PUT_LINK.run(s, row);
    });
    return;
  }
  // Postgres refuses to update one row twice in one statement: keep the last write of each link.
  const last = [...new Map(rows.map((r) => [`${r.org_id}\u0000${r.entity_id}\u0000${r.connection}\u0000${r.external_type}`, r])).values()];
  for (let at = 0; at < last.length; at += MAX_ROWS) {
    await putLinkQuery(database.db, last.slice(at, at + MAX_ROWS)).execute();
  }
}
