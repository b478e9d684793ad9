/**
 * The first half of `POST /apply`: every object of the document validated by its own route's parser,
 * against the state it will find once the document is applied (types and connections from the file
 * first, then the stored ones unless pruned), and compared with what is stored. Nothing is written
 * here; every problem of every object is collected, so one answer lists them all.
 */
import { AppError, type FieldIssue } from '../../domain/errors.js';
import { parseEntityTypeDefinition, type EntityTypeDefinition } from '../../domain/entity-type.js';
import type { ProcessDefinition } from '../../domain/process.js';
import { listConnections, type StoredConnection } from '../../store/connections.js';
import { listEntityTypes, type StoredEntityType } from '../../store/entity-types.js';
import { listProcesses, type StoredProcess } from '../../store/processes.js';
import { parseConnectionBody, type ParsedConnection } from '../connections.js';
import { secretContext } from '../connection-context.js';
import { expressionChecker } from '../expressions.js';
import { parseProcessBody } from '../processes.js';
import { SecretsUnreadableError } from '../secrets.js';
import type { CallContext, Services } from '../services.js';
import { canonicalJson, documentInvalid, issuesOf, readDocument, type DocumentItem, type ObjectRef } from './document.js';
import { resolveSecrets, type StoredSecrets } from './secrets.js';

export type Change = 'created' | 'updated' | 'unchanged';

export interface TypePlan {
  item: DocumentItem;
  definition: EntityTypeDefinition;
  /** The definition as stored (JSON text). */
  text: string;
  change: Change;
  before: EntityTypeDefinition | undefined;
}

export interface ConnectionPlan {
  item: DocumentItem;
  parsed: ParsedConnection;
  change: Change;
  before: StoredConnection | undefined;
  /** Whether the secret values change (a diff shows which names, never the values). */
  secretsChanged: boolean;
}

export interface ProcessPlan {
  item: DocumentItem;
  definition: ProcessDefinition;
  change: Change;
  before: ProcessDefinition | undefined;
  /** Set when the process was checked against a stored type not in the file: its version must still be this one when written. */
  storedTypeVersion: number | undefined;
}

export interface Plan {
  types: TypePlan[];
  connections: ConnectionPlan[];
  processes: ProcessPlan[];
  /** With prune: stored objects the document no longer has. */
  prune: { types: StoredEntityType[]; connections: StoredConnection[]; processes: StoredProcess[] };
  /** The parsers' warnings (e.g. an expression naming an unknown attribute), under each object's place. */
  warnings: FieldIssue[];
}

/** Validates the document and plans its application; throws DEFINITIONS_INVALID listing every problem of every object. */
export async function planApply(services: Services, ctx: CallContext, body: unknown, prune: boolean): Promise<Plan> {
  const items = readDocument(body, prune);
  const { db } = services.database;
  const storedTypes = new Map((await listEntityTypes(db, ctx.orgId)).map((t) => [t.key, t]));
  const storedConnections = new Map((await listConnections(db, ctx.orgId)).map((c) => [c.key, c]));
  const storedProcesses = new Map((await listProcesses(db, ctx.orgId)).map((p) => [p.key, p]));
  const issues: FieldIssue[] = [];
  const warnings: FieldIssue[] = [];
  const attempt = <T>(item: DocumentItem, fn: () => T): T | undefined => {
    try {
      return fn();
    } catch (err) {
      if (!(err instanceof AppError)) throw err;
      issues.push(...issuesOf(err, item));
      return undefined;
    }
  };
  const tagged = (item: DocumentItem, list: FieldIssue[]) => list.map((w) => ({ ...w, path: `${item.at}.${w.path}`, kind: item.kind, key: item.key }));
  const inFile = (kind: ObjectRef['kind']) => new Set(items.filter((i) => i.kind === kind).map((i) => i.key));

  // Entity types, and the types processes will see: the file's, then the stored ones unless pruned.
  const types: TypePlan[] = [];
  const finalTypes = new Map<string, { definition: EntityTypeDefinition; storedVersion?: number }>();
  if (!prune) for (const t of storedTypes.values()) finalTypes.set(t.key, { definition: JSON.parse(t.definition) as EntityTypeDefinition, storedVersion: t.version });
  const failedTypes = new Set<string>();
  for (const item of items.filter((i) => i.kind === 'entityType')) {
    const parsed = attempt(item, () => parseEntityTypeDefinition(item.body, expressionChecker));
    if (!parsed) {
      failedTypes.add(item.key);
      continue;
    }
    warnings.push(...tagged(item, parsed.warnings));
    const text = JSON.stringify(parsed.definition);
    const existing = storedTypes.get(item.key);
    const change: Change = !existing ? 'created' : existing.definition === text ? 'unchanged' : 'updated';
    types.push({ item, definition: parsed.definition, text, change, before: existing && (JSON.parse(existing.definition) as EntityTypeDefinition) });
    finalTypes.set(item.key, { definition: parsed.definition });
  }

  // Connections, and the providers processes will see.
  const connections: ConnectionPlan[] = [];
  const providers = new Map<string, string>();
  if (!prune) for (const c of storedConnections.values()) providers.set(c.key, c.provider);
  for (const item of items.filter((i) => i.kind === 'connection')) {
    if (typeof item.body.provider === 'string') providers.set(item.key, item.body.provider);
    const existing = storedConnections.get(item.key);
    let opened: StoredSecrets | null = null;
    const storedSecrets = (): StoredSecrets => (opened ??= openSecrets(services, ctx.orgId, existing));
    const body = { ...item.body };
    if (body.secrets !== undefined) {
      const resolved = resolveSecrets(body.secrets, storedSecrets);
      if (resolved.issues.length > 0) {
        issues.push(...tagged(item, resolved.issues));
        continue;
      }
      body.secrets = resolved.secrets;
    }
    const parsed = attempt(item, () => parseConnectionBody(body));
    if (!parsed) continue;
    let secretsChanged = parsed.secrets !== undefined;
    if (existing && parsed.secrets !== undefined) {
      const stored = storedSecrets();
      secretsChanged = stored === 'unreadable' || canonicalJson(parsed.secrets) !== canonicalJson(stored);
    }
    const same =
      existing !== undefined &&
      !secretsChanged &&
      existing.provider === parsed.provider.name &&
      (parsed.name ?? existing.name) === existing.name &&
      canonicalJson(parsed.config) === canonicalJson(existing.config);
    connections.push({ item, parsed, change: !existing ? 'created' : same ? 'unchanged' : 'updated', before: existing, secretsChanged });
  }

  // Processes, against the final types and connections.
  const processes: ProcessPlan[] = [];
  for (const item of items.filter((i) => i.kind === 'process')) {
    const typeKey = item.body.entityType;
    // Its type is wrong already (and reported): checking the process against nothing would only add noise.
    if (typeof typeKey === 'string' && failedTypes.has(typeKey)) continue;
    const type = typeof typeKey === 'string' ? finalTypes.get(typeKey) : undefined;
    const parsed = attempt(item, () => parseProcessBody(item.body, type?.definition, providers));
    if (!parsed) continue;
    warnings.push(...tagged(item, parsed.warnings));
    const existing = storedProcesses.get(item.key);
    const change: Change = !existing ? 'created' : JSON.stringify(existing.definition) === JSON.stringify(parsed.definition) ? 'unchanged' : 'updated';
    processes.push({ item, definition: parsed.definition, change, before: existing?.definition, storedTypeVersion: type?.storedVersion });
  }

  if (issues.length > 0) throw documentInvalid(issues);
  const keptTypes = inFile('entityType');
  const keptConnections = inFile('connection');
  const keptProcesses = inFile('process');
  return {
    types,
    connections,
    processes,
    prune: prune
      ? {
          types: [...storedTypes.values()].filter((t) => !keptTypes.has(t.key)),
          connections: [...storedConnections.values()].filter((c) => !keptConnections.has(c.key)),
          processes: [...storedProcesses.values()].filter((p) => !keptProcesses.has(p.key)),
        }
      : { types: [], connections: [], processes: [] },
    warnings,
  };
}

function openSecrets(services: Services, orgId: string, existing: StoredConnection | undefined): StoredSecrets {
  if (!existing) return undefined;
  try {
    return JSON.parse(services.secretBox.open(existing.sealedSecrets, secretContext(orgId, existing.key))) as Record<string, unknown>;
  } catch (err) {
    if (err instanceof SecretsUnreadableError) return 'unreadable';
    throw err;
  }
}
