// Preloaded into the benchmarked server (node --import) by `run.ts --count-queries`: counts the SQL
// statements it executes and the time they take, by statement text (IN lists folded), and writes them
// to $E2E_QUERY_COUNTS as JSON when the process exits. For measurement only; changes no behaviour.
//  - SQLite: executions are counted and timed at better-sqlite3's run()/all()/get(); prepare() is timed
//    too (with the driver's statement cache, it only runs when a statement is not cached).
//  - Postgres: every query is one pg Client#query() (timed from the call to the answer: the round
//    trip plus waiting behind the client's earlier queries), and Pool#connect() waits are timed too.
import { writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { performance } from 'node:perf_hooks';

const load = createRequire(`${process.cwd()}/`);
const out = process.env.E2E_QUERY_COUNTS;
/** statement → [count, ms executing (or round trip), ms preparing] */
const stats = new Map();
const fold = (sql) =>
  String(sql)
    .replace(/\((\s*(\?|\$\d+)\s*,)+\s*(\?|\$\d+)\s*\)/g, '(…)')
    .replace(/\$\d+/g, '?')
    .replace(/\s+/g, ' ')
    .slice(0, 200);
const entry = (k) => {
  let e = stats.get(k);
  if (!e) stats.set(k, (e = [0, 0, 0]));
  return e;
};
try {
  const SQLite = load('better-sqlite3');
  const prepare = SQLite.prototype.prepare;
  const patched = new WeakSet();
  const sqlOf = new WeakMap();
  SQLite.prototype.prepare = function (sql, ...rest) {
    const k = fold(sql);
    const t = performance.now();
    const stmt = prepare.call(this, sql, ...rest);
    entry(k)[2] += performance.now() - t;
    sqlOf.set(stmt, k);
    const proto = Object.getPrototypeOf(stmt);
    if (!patched.has(proto)) {
      patched.add(proto);
      for (const name of ['run', 'all', 'get']) {
        const original = proto[name];
        proto[name] = function (...args) {
          const t0 = performance.now();
          try {
            return original.apply(this, args);
          } finally {
            const key = sqlOf.get(this);
            if (key) {
              const e = entry(key);
              e[0]++;
              e[1] += performance.now() - t0;
            }
          }
        };
      }
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
    const e = entry(fold(typeof config === 'string' ? config : config?.text));
    e[0]++;
    const t = performance.now();
    const r = query.call(this, config, ...rest);
    if (r && typeof r.then === 'function') r.then(() => (e[1] += performance.now() - t), () => (e[1] += performance.now() - t));
    return r;
  };
  const connect = pg.Pool.prototype.connect;
  pg.Pool.prototype.connect = function (...args) {
    const e = entry('(pool.connect: waiting for a free connection)');
    e[0]++;
    const t = performance.now();
    const r = connect.apply(this, args);
    if (r && typeof r.then === 'function') r.then(() => (e[1] += performance.now() - t), () => (e[1] += performance.now() - t));
    return r;
  };
} catch {
  // not installed
}
process.on('exit', () => {
  if (out) writeFileSync(out, JSON.stringify([...stats].sort((a, b) => b[1][1] + b[1][2] - a[1][1] - a[1][2])));
});
