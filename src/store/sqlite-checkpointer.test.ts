import { it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import SQLite from 'better-sqlite3';
import { openDatabase } from './db.js';
import { SqliteCheckpointer } from './sqlite-checkpointer.js';
import { eventually } from '../../test/support/wait.js';

it('checkpoints the WAL from a worker thread, never on the writing connection', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'statusflow-ckpt-'));
  const path = join(dir, 'c.db');
  const db = new SQLite(path);
  db.pragma('journal_mode = WAL');
  const checkpointer = new SqliteCheckpointer(db, path, { intervalMs: 20 });
  try {
    assert.equal(db.pragma('wal_autocheckpoint', { simple: true }), 0);
    db.exec('create table t (v text)');
    const insert = db.prepare('insert into t (v) values (?)');
    for (let i = 0; i < 300; i++) db.transaction(() => insert.run('x'.repeat(4000)))();
    await eventually(() => checkpointer.frames > 0, 10_000, 'the worker to checkpoint');
    // The pages reached the database file itself, not only the WAL.
    assert.ok(statSync(path).size > 300 * 4000);
  } finally {
    await checkpointer.stop();
    db.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

// A stop() that hung would end the test at its timeout.
it('a worker that failed on its own: checkpoints go back to the writing connection, and stop() still returns', { timeout: 30_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'statusflow-ckpt-'));
  const db = new SQLite(join(dir, 'c.db'));
  db.pragma('journal_mode = WAL');
  // The worker cannot open this path: it throws and ends.
  const checkpointer = new SqliteCheckpointer(db, join(dir, 'missing', 'nowhere.db'), { intervalMs: 20 });
  try {
    await eventually(() => db.pragma('wal_autocheckpoint', { simple: true }) === 1000, 10_000, 'automatic checkpoints back on the writing connection');
    await checkpointer.stop();
  } finally {
    db.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

/**
 * Sustained writes through the group-committing writer, with readers on other connections between and
 * across them; the WAL size is looked at after every batch of writes (counts, not time). No periodic
 * checkpoint (interval 60 s): the WAL restarts only through the bound, whatever the machine's pace.
 */
async function sustainedWrites(walLimitBytes: number): Promise<{ peak: number; peakUnheld: number; rows: number; resets: number; blocked: number; end: number }> {
  const dir = mkdtempSync(join(tmpdir(), 'statusflow-ckpt-'));
  const path = join(dir, 'w.db');
  const database = openDatabase({ dialect: 'sqlite', path, walLimitBytes, resetBusyMs: 20, retryMs: 0, intervalMs: 60_000 });
  const writer = database.sqlite!;
  const reader = new SQLite(path, { readonly: true });
  const holder = new SQLite(path, { readonly: true });
  try {
    await writer.write((s) => s.run('create table t (id integer primary key, v text not null)'));
    const row = 'x'.repeat(8000);
    let peak = 0;
    // Largest size seen while no reader had held a snapshot for the last two batches.
    let peakUnheld = 0;
    for (let batch = 0; batch < 150; batch++) {
      await Promise.all(Array.from({ length: 16 }, () => writer.write((s) => s.run('insert into t (v) values (?)', [row]))));
      // A reader between groups, and now and then one that keeps its snapshot across twenty batches
      // (a backup, say): resets fail meanwhile (it reads WAL frames) and are tried again after it.
      reader.prepare('select count(*) as n, sum(length(v)) as bytes from t').get();
      if (batch % 50 === 20) holder.exec('begin; select count(*) from t;');
      if (batch % 50 === 40) holder.exec('commit');
      const size = statSync(`${path}-wal`).size;
      peak = Math.max(peak, size);
      if (batch % 50 < 20 || batch % 50 > 41) peakUnheld = Math.max(peakUnheld, size);
    }
    const rows = (reader.prepare('select count(*) as n from t').get() as { n: number }).n;
    const stats = database.checkpointer!.stats;
    reader.close();
    holder.close();
    await database.close();
    return { peak, peakUnheld, rows, resets: stats.resets, blocked: stats.resetsBlocked, end: database.checkpointer!.walBytesAtStop };
  } finally {
    if (reader.open) reader.close();
    if (holder.open) holder.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

it('sustained writes with concurrent readers keep the WAL under its bound; closing leaves it empty', async () => {
  const limit = 2 * 1024 * 1024;
  const bounded = await sustainedWrites(limit);
  assert.equal(bounded.rows, 150 * 16);
  assert.ok(bounded.resets > 0, 'the WAL was reset');
  assert.ok(bounded.blocked > 0, 'the long reader made some resets wait for it');
  // Each batch adds ~140 KB of WAL: a reset starts past the limit and pauses the writes at the latest
  // past 1.25 × the limit, so the WAL stays under that plus a batch — except while the long reader holds
  // its snapshot (then over by what the twenty batches add). Without the bound: 21 MB.
  assert.ok(bounded.peakUnheld <= 1.25 * limit + 256 * 1024, `WAL reached ${bounded.peakUnheld} bytes with no long reader (limit ${limit})`);
  assert.ok(bounded.peak <= 4 * limit, `WAL peaked at ${bounded.peak} bytes (limit ${limit})`);
  assert.equal(bounded.end, 0, 'the final checkpoint truncated the WAL');
});

it('without the bound (walLimitBytes 0) the same writes grow the WAL to several times that', async () => {
  // What issue 15 saw at scale (2.04 GB after 100,000 orders); shown here so the test above means something.
  const unbounded = await sustainedWrites(0);
  assert.equal(unbounded.rows, 150 * 16);
  assert.equal(unbounded.resets, 0);
  assert.ok(unbounded.peak > 4 * 2 * 1024 * 1024, `WAL peaked at ${unbounded.peak} bytes`);
});
