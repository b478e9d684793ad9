/** `statusflow vacuum`'s rebuild of an SQLite database made before incremental auto_vacuum (SQLite only: the feature is). */
import { it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import SQLite from 'better-sqlite3';
import { openDatabase } from './db.js';
import { DatabaseInUseError, rebuildSqlite, sqlitePages } from './retention.js';

it('an older database (auto_vacuum none) is rebuilt in incremental mode and shrinks; not while it is open elsewhere', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'statusflow-vacuum-'));
  const path = join(dir, 'old.db');
  try {
    const old = new SQLite(path);
    old.pragma('journal_mode = WAL');
    old.exec('create table t (v text)');
    const insert = old.prepare('insert into t (v) values (?)');
    for (let i = 0; i < 1000; i++) insert.run('x'.repeat(3000));
    old.exec('delete from t');
    old.close();
    // A new connection (what the server opens) leaves an existing database's mode alone.
    const database = openDatabase({ dialect: 'sqlite', path });
    const before = await sqlitePages(database);
    assert.equal(before.autoVacuum, 0);
    assert.ok(before.freePages > 500);
    assert.throws(() => rebuildSqlite(path), DatabaseInUseError);
    await database.close();
    const r = rebuildSqlite(path);
    assert.equal(r.autoVacuumBefore, 'none');
    assert.ok(r.bytesAfter < r.bytesBefore / 10, `${r.bytesBefore} → ${r.bytesAfter}`);
    const reopened = openDatabase({ dialect: 'sqlite', path });
    const after = await sqlitePages(reopened);
    await reopened.close();
    assert.equal(after.autoVacuum, 2);
    assert.equal(after.freePages, 0);
    assert.equal(statSync(path).size, r.bytesAfter);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
