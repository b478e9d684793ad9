import { it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import SQLite from 'better-sqlite3';
import { SqliteCheckpointer } from './sqlite-checkpointer.js';

it('checkpoints the WAL from a worker thread, never on the writing connection', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'statusflow-ckpt-'));
  const path = join(dir, 'c.db');
  const db = new SQLite(path);
  db.pragma('journal_mode = WAL');
  const checkpointer = new SqliteCheckpointer(db, path, 20);
  try {
    assert.equal(db.pragma('wal_autocheckpoint', { simple: true }), 0);
    db.exec('create table t (v text)');
    const insert = db.prepare('insert into t (v) values (?)');
    for (let i = 0; i < 300; i++) db.transaction(() => insert.run('x'.repeat(4000)))();
    const deadline = Date.now() + 5_000;
    while (checkpointer.frames === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    assert.ok(checkpointer.frames > 0, 'the worker checkpointed');
    // The pages reached the database file itself, not only the WAL.
    assert.ok(statSync(path).size > 300 * 4000);
  } finally {
    await checkpointer.stop();
    db.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

it('a worker that failed on its own: checkpoints go back to the writing connection, and stop() still returns', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'statusflow-ckpt-'));
  const db = new SQLite(join(dir, 'c.db'));
  db.pragma('journal_mode = WAL');
  // The worker cannot open this path: it throws and ends.
  const checkpointer = new SqliteCheckpointer(db, join(dir, 'missing', 'nowhere.db'), 20);
  try {
    const deadline = Date.now() + 5_000;
    while (db.pragma('wal_autocheckpoint', { simple: true }) !== 1000 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    assert.equal(db.pragma('wal_autocheckpoint', { simple: true }), 1000);
    const stopped = await Promise.race([checkpointer.stop().then(() => 'stopped'), new Promise((r) => setTimeout(() => r('hung'), 3_000))]);
    assert.equal(stopped, 'stopped');
  } finally {
    db.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
