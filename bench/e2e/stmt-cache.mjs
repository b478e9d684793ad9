// What-if experiment for `run.ts --preload bench/e2e/stmt-cache.mjs` (not product code): makes
// better-sqlite3 reuse prepared statements by SQL text, as a statement cache in the SQLite driver
// would. Kysely's SqliteConnection calls db.prepare(sql) for every query and then all()/run() at once,
// so reusing the statement is safe there (iterate(), used only by Kysely's stream(), is not used).
// Postgres: names every parameterised query (pg then parses and plans it once per connection).
import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';

const load = createRequire(`${process.cwd()}/`);
try {
  const SQLite = load('better-sqlite3');
  const prepare = SQLite.prototype.prepare;
  const caches = new WeakMap();
  SQLite.prototype.prepare = function (sql, ...rest) {
    let cache = caches.get(this);
    if (!cache) caches.set(this, (cache = new Map()));
    let stmt = cache.get(sql);
    if (!stmt) {
      stmt = prepare.call(this, sql, ...rest);
      if (cache.size >= 1000) cache.delete(cache.keys().next().value);
      cache.set(sql, stmt);
    }
    return stmt;
  };
} catch {
  // not installed
}
try {
  const pg = load('pg');
  const query = pg.Client.prototype.query;
  pg.Client.prototype.query = function (config, ...rest) {
    if (config && typeof config === 'object' && !config.name && Array.isArray(config.values) && config.values.length > 0) {
      config = { ...config, name: `q${createHash('sha1').update(config.text).digest('hex').slice(0, 16)}` };
    }
    return query.call(this, config, ...rest);
  };
} catch {
  // not installed
}
