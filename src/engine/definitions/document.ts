/**
 * The definitions document of `POST /apply` and `GET /export` (API.md "Definitions as code"):
 * `{entityTypes, connections, processes}`, each a list of objects with a `key`. This module checks the
 * document's outline and writes the export form of each object; the objects themselves are validated by
 * the same parsers as their own routes (engine/entity-types.ts, connections.ts, processes.ts).
 */
import { AppError, type FieldIssue } from '../../domain/errors.js';
import type { EntityTypeDefinition } from '../../domain/entity-type.js';
import { isKey } from '../../domain/keys.js';
import type { ProcessDefinition } from '../../domain/process.js';
import { isRecord } from '../../domain/schema-kit.js';
import type { StoredConnection } from '../../store/connections.js';

export type DefinitionKind = 'entityType' | 'connection' | 'process';

/** Names one object of a document, as the apply report lists it. */
export interface ObjectRef {
  kind: DefinitionKind;
  key: string;
}

/** The document sections in dependency order: types first, then the connections, then the processes that use both. */
export const SECTIONS = [
  ['entityTypes', 'entityType'],
  ['connections', 'connection'],
  ['processes', 'process'],
] as const;

export type SectionName = (typeof SECTIONS)[number][0];

/** One object of a document: where it is (`processes[2]`), its key, and its body without the key. */
export interface DocumentItem extends ObjectRef {
  /** `entityTypes[0]`, `processes[2]`: the prefix of every problem reported about it. */
  at: string;
  body: Record<string, unknown>;
}

/** An exported connection: everything but the secret values (each set secret shows as `"set"`). */
export interface ExportedConnection {
  key: string;
  provider: string;
  name: string;
  config: Record<string, unknown>;
  secrets: Record<string, 'set'>;
}

export interface DefinitionsDocument {
  entityTypes: Array<{ key: string } & EntityTypeDefinition>;
  connections: ExportedConnection[];
  processes: Array<{ key: string } & ProcessDefinition>;
}

/** Most objects one document may hold (per section): a document is applied in one transaction. */
export const MAX_OBJECTS = 500;

/**
 * Checks the outline (sections are lists of objects with unique valid keys) and lists the objects in
 * dependency order. With `prune`, at least one section must be present. Throws DEFINITIONS_INVALID listing every problem.
 */
export function readDocument(body: unknown, prune = false): DocumentItem[] {
  if (!isRecord(body)) {
    throw new AppError('DEFINITIONS_INVALID', 'The document must be an object with "entityTypes", "connections" and/or "processes".', {
      fields: [{ path: '', code: 'type', message: 'must be an object' }],
    });
  }
  const issues: FieldIssue[] = [];
  const known: readonly string[] = SECTIONS.map(([name]) => name);
  // An empty or truncated file must not wipe an organization: pruning needs the sections written out (even as []).
  if (prune && !known.some((name) => Array.isArray(body[name]))) {
    issues.push({ path: '', code: 'prune_without_sections', message: 'prune with a document that has none of entityTypes, connections, processes would delete everything; write the sections out (an empty list is fine) if that is what you mean' });
  }
  for (const name of Object.keys(body)) {
    if (!known.includes(name)) issues.push({ path: name, code: 'unknown', message: `is not a section; use ${known.join(', ')}` });
  }
  const items: DocumentItem[] = [];
  for (const [section, kind] of SECTIONS) {
    const list = body[section];
    if (list === undefined || list === null) continue;
    if (!Array.isArray(list)) {
      issues.push({ path: section, code: 'type', message: 'must be a list' });
      continue;
    }
    if (list.length > MAX_OBJECTS) issues.push({ path: section, code: 'too_big', message: `must have at most ${MAX_OBJECTS} objects` });
    const seen = new Set<string>();
    list.slice(0, MAX_OBJECTS).forEach((raw: unknown, i) => {
      const at = `${section}[${i}]`;
      if (!isRecord(raw)) return issues.push({ path: at, code: 'type', message: 'must be an object' });
      const { key, ...rest } = raw;
      if (!isKey(key)) return issues.push({ path: `${at}.key`, code: 'pattern', message: 'is required and must match ^[a-z][a-z0-9_]{0,62}$' });
      if (seen.has(key as string)) return issues.push({ path: `${at}.key`, code: 'duplicate', message: `"${key as string}" appears twice in ${section}`, kind, key });
      seen.add(key as string);
      items.push({ kind, key: key as string, at, body: rest });
    });
  }
  if (issues.length > 0) throw documentInvalid(issues);
  return items;
}

/** DEFINITIONS_INVALID whose message names the first problem (object and field) and whose details list them all. */
export function documentInvalid(issues: FieldIssue[]): AppError {
  const first = issues[0]!;
  const more = issues.length > 1 ? ` (and ${issues.length - 1} more problem${issues.length > 2 ? 's' : ''})` : '';
  const object = typeof first.key === 'string' ? ` (${first.kind as string} "${first.key}")` : '';
  return new AppError('DEFINITIONS_INVALID', `Nothing was applied. ${first.path}${object}: ${first.message}${more}`, { fields: issues });
}

/**
 * The problems of an AppError raised about one object, re-homed under the object's place in the
 * document (`processes[1].tasks[0].connection`) and tagged with its kind and key.
 */
export function issuesOf(err: AppError, item: ObjectRef & { at: string }): FieldIssue[] {
  const tag = { kind: item.kind, key: item.key, error: err.code };
  const fields = isRecord(err.details) && Array.isArray(err.details.fields) ? (err.details.fields as FieldIssue[]) : [];
  if (fields.length === 0) return [{ path: item.at, code: err.code.toLowerCase(), message: err.message, ...tag }];
  return fields.map((f) => ({ ...f, path: f.path ? `${item.at}.${f.path}` : item.at, ...tag }));
}

export function exportEntityType(key: string, definition: EntityTypeDefinition): DefinitionsDocument['entityTypes'][number] {
  return { key, ...definition };
}

export function exportProcess(key: string, definition: ProcessDefinition): DefinitionsDocument['processes'][number] {
  return { key, ...definition };
}

export function exportConnection(c: Pick<StoredConnection, 'key' | 'provider' | 'name' | 'config' | 'secretNames'>): ExportedConnection {
  return { key: c.key, provider: c.provider, name: c.name, config: c.config, secrets: Object.fromEntries(c.secretNames.map((n) => [n, 'set' as const])) };
}

/** JSON with object keys sorted: equal values give equal text whatever order their keys were written in. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) =>
    isRecord(v) && !Array.isArray(v) ? Object.fromEntries(Object.keys(v).sort().map((k) => [k, v[k]])) : v,
  );
}
