/**
 * The SQLite hot paths run synchronously inside a SqliteWriter group (sqlite-writer.ts), on cached
 * better-sqlite3 statements. Their SQL is not written by hand: each is the same Kysely builder the
 * async path uses, compiled once for SQLite with named placeholders, then run with the call's values.
 * One definition per query; compiling costs ~10–20 µs, so it happens once per statement shape.
 */
import { DummyDriver, Kysely, SqliteAdapter, SqliteIntrospector, SqliteQueryCompiler, type Compilable } from 'kysely';
import type { Tables } from './schema.js';
import type { SqlSync } from './sqlite-writer.js';

/** A Kysely that compiles SQLite statements and runs none (it has no connection). */
export const sqliteBuilder = new Kysely<Tables>({
  dialect: {
    createAdapter: () => new SqliteAdapter(),
    createDriver: () => new DummyDriver(),
    createIntrospector: (db) => new SqliteIntrospector(db),
    createQueryCompiler: () => new SqliteQueryCompiler(),
  },
});

const MARK = '\u0000statusflow-param:';

/** Placeholders by name: `marks.id` is a value standing for the parameter `id` of the compiled statement. */
export type Marks<P> = { readonly [K in keyof P]: P[K] };
const marks = new Proxy({}, { get: (_t, key) => `${MARK}${String(key)}` }) as Marks<Record<string, never>>;

/** Placeholders for every column of a row shape, as an object with those keys (for `values(…)` and `set(…)`). */
export function marksOf<T extends object>(row: T, prefix = ''): Marks<T> {
  return Object.fromEntries(Object.keys(row).map((k) => [k, `${MARK}${prefix}${k}`])) as Marks<T>;
}

/** A statement compiled once: its SQL text and how to lay out a call's values as its parameters. */
export class Compiled<P> {
  readonly sql: string;
  /** Per parameter: the name of the value it takes, or a constant the builder put in. */
  readonly #slots: Array<{ name: string } | { constant: unknown }>;

  constructor(build: (p: Marks<P>) => Compilable) {
    const compiled = build(marks as Marks<P>).compile();
    this.sql = compiled.sql;
    this.#slots = compiled.parameters.map((v) => (typeof v === 'string' && v.startsWith(MARK) ? { name: v.slice(MARK.length) } : { constant: v }));
  }

  params(values: P): unknown[] {
    return this.#slots.map((s) => ('name' in s ? (values as Record<string, unknown>)[s.name] : s.constant));
  }

  run(s: SqlSync, values: P): number {
    return s.run(this.sql, this.params(values));
  }

  get<R>(s: SqlSync, values: P): R | undefined {
    return s.get<R>(this.sql, this.params(values));
  }

  all<R>(s: SqlSync, values: P): R[] {
    return s.all<R>(this.sql, this.params(values));
  }
}

/** Statements whose shape varies (an IN list's length, the columns an update sets): compiled once per shape. */
export class CompiledShapes<P> {
  readonly #byShape = new Map<string, Compiled<P>>();

  constructor(private readonly build: (p: Marks<P>, shape: string) => Compilable) {}

  of(shape: string): Compiled<P> {
    let c = this.#byShape.get(shape);
    if (!c) this.#byShape.set(shape, (c = new Compiled<P>((p) => this.build(p, shape))));
    return c;
  }
}

/** Names `prefix0…prefixN-1` of an IN list of `n` values, and those values by name. */
export function listMarks<T>(prefix: string, values: readonly T[]): Record<string, T> {
  const out: Record<string, T> = {};
  values.forEach((v, i) => (out[`${prefix}${i}`] = v));
  return out;
}
