/**
 * Connections (API.md "Connections"): validated against their provider's schemas, secrets sealed before
 * they are stored and never returned (`"secrets": {"accessToken": "set"}`), refused deletion while a
 * process uses them, and a credentials check through the provider. Also the links of an entity.
 */
import { z } from 'zod';
import type { Provider, ProviderName } from '../connectors/types.js';
import { providerNamed, PROVIDERS } from '../connectors/providers.js';
import { redact } from '../connectors/kit/redact.js';
import { AppError, invalid, type FieldIssue } from '../domain/errors.js';
import { toFailure, type Failure } from '../domain/failure.js';
import { fromZod, isRecord, text } from '../domain/schema-kit.js';
import {
  allSealedSecrets,
  connectionProviders,
  resealSecrets as resealStored,
  deleteConnection as deleteStored,
  getConnection as getStored,
  listConnections as listStored,
  writeConnection,
  type StoredConnection,
} from '../store/connections.js';
import { isUniqueViolation } from '../store/entities.js';
import { listLinks, type StoredLink } from '../store/links.js';
import type { Transaction } from 'kysely';
import type { Tables } from '../store/schema.js';
import { processesUsing } from '../store/processes.js';
import { recentAnswers, type RateLimitAnswer } from '../store/rate-limit-answers.js';
import { buildConnectionContext, loadConnection, NO_LINKS, rateLimitOf, secretContext, secretValues } from './connection-context.js';
import { readEntity } from './entities.js';
import { SecretsUnreadableError } from './secrets.js';
import type { CallContext, Services } from './services.js';
import { raceAbort } from './abort.js';

/** A connection as the API shows it: the secrets only as the names of those that are set. */
export interface ConnectionApiView {
  key: string;
  provider: string;
  name: string;
  config: Record<string, unknown>;
  secrets: Record<string, 'set'>;
  createdAt: string;
  updatedAt: string;
}

/** One connection as `GET /connections/{key}` answers: with the limit the limiter applies and the provider's recent 429s. */
export interface ConnectionDetailView extends ConnectionApiView {
  /** The shared rate limit in force (`config.rateLimit`, else the provider's default); null: none, only 429 pauses. */
  rateLimit: { requests: number; perMs: number; from: 'config' | 'provider default' } | null;
  /** The provider's latest 429 answers (at most 20), newest first. */
  recent429s: RateLimitAnswer[];
}

export interface LinkApiView {
  connection: string;
  provider: string;
  externalType: string;
  externalId: string;
  url: string | null;
  createdAt: string;
  updatedAt: string;
  runId: string | null;
}

/** The answer of `POST /connections/{key}/test`. */
export type ConnectionTestResult = { ok: true } | { ok: false; error: Pick<Failure, 'code' | 'message' | 'retryable'> };

/** How long a credentials check may take. */
export const CONNECTION_TEST_MS = 10_000;

/** A connection body's outline (the provider's schemas check config and secrets); the API documents the body with it. */
export const PutBody = z.strictObject({
  provider: z.string().max(100),
  name: text(500, 1).optional(),
  config: z.unknown().optional(),
  secrets: z.unknown().optional(),
});

function notFound(key: string): AppError {
  return new AppError('CONNECTION_NOT_FOUND', `No connection "${key}".`, { connection: key });
}

export function toConnectionView(c: StoredConnection): ConnectionApiView {
  return {
    key: c.key,
    provider: c.provider,
    name: c.name,
    config: c.config,
    secrets: Object.fromEntries(c.secretNames.map((n) => [n, 'set' as const])),
    createdAt: c.createdAt,
    updatedAt: c.updatedAt,
  };
}

/** Parses `value` with a provider's schema; problems are FieldIssues under `prefix`. */
function parseWithSchema(schema: z.ZodType, value: unknown, prefix: string, issues: FieldIssue[]): Record<string, unknown> | undefined {
  const parsed = schema.safeParse(value);
  if (parsed.success) {
    if (isRecord(parsed.data)) return parsed.data;
    issues.push({ path: prefix, code: 'type', message: 'must be an object' });
    return undefined;
  }
  const known = schema instanceof z.ZodObject ? Object.keys(schema.shape) : [];
  issues.push(...fromZod(parsed.error, [prefix], value, known));
  return undefined;
}

/** A connection body checked against its provider's schemas; `secrets` undefined: keep the stored ones. */
export interface ParsedConnection {
  provider: Provider;
  name: string | undefined;
  config: Record<string, unknown>;
  secrets: Record<string, unknown> | undefined;
}

/** Validates a connection body (PUT /connections/{key}, or one connection of an applied document). Throws CONNECTION_INVALID listing every problem. */
export function parseConnectionBody(body: unknown): ParsedConnection {
  const parsedBody = PutBody.safeParse(body);
  if (!parsedBody.success) throw invalid('CONNECTION_INVALID', fromZod(parsedBody.error, [], body, Object.keys(PutBody.shape)));
  const b = parsedBody.data;
  const provider = providerNamed(b.provider);
  if (!provider) {
    throw invalid('CONNECTION_INVALID', [
      { path: 'provider', code: 'unknown_provider', message: `"${b.provider.slice(0, 100)}" is not a provider`, allowed: [...PROVIDERS.keys()].sort() },
    ]);
  }
  const issues: FieldIssue[] = [];
  const config = parseWithSchema(provider.configSchema, b.config ?? {}, 'config', issues);
  const secrets = b.secrets === undefined ? undefined : parseWithSchema(provider.secretsSchema, b.secrets, 'secrets', issues);
  if (issues.length > 0) throw invalid('CONNECTION_INVALID', issues);
  return { provider, name: b.name, config: config!, secrets };
}

/**
 * Creates or replaces a connection. `secrets` omitted keeps the stored ones (same provider only), so the
 * config can be edited without entering the secrets again. A provider change is refused while a process
 * uses the connection. Throws CONNECTION_INVALID listing every problem.
 */
export async function putConnection(services: Services, ctx: CallContext, key: string, body: unknown): Promise<{ connection: ConnectionApiView; created: boolean }> {
  const parsed = parseConnectionBody(body);
  const write = () => services.database.db.transaction().execute((trx) => writeConnectionIn(trx, services, ctx.orgId, key, parsed));
  let result;
  try {
    result = await write();
  } catch (err) {
    // Two creations of the same key at once: the second becomes a replace.
    if (!isUniqueViolation(err)) throw err;
    result = await write();
  }
  services.connections.forget(ctx.orgId, key);
  return { connection: toConnectionView(result.stored), created: result.created };
}

/** The write of putConnection inside the caller's transaction; forget the cached connection after the commit. */
export async function writeConnectionIn(
  trx: Transaction<Tables>,
  services: Services,
  orgId: string,
  key: string,
  parsed: ParsedConnection,
): Promise<{ stored: StoredConnection; created: boolean }> {
  const { provider, secrets } = parsed;
  const existing = await getStored(trx, orgId, key, 'update');
  const keep = existing !== undefined && existing.provider === provider.name && secrets === undefined;
  let sealed: string;
  let names: string[];
  if (keep) {
    sealed = existing.sealedSecrets;
    names = existing.secretNames;
  } else {
    // A new connection, or another provider: the secrets must be given (or the provider must need none).
    const missing: FieldIssue[] = [];
    const given = secrets ?? parseWithSchema(provider.secretsSchema, {}, 'secrets', missing);
    if (!given) {
      const why = existing ? `The provider changed: give the ${provider.name} secrets.` : 'A new connection needs its secrets.';
      throw invalid('CONNECTION_INVALID', missing, `${why} ${missing[0]?.path}: ${missing[0]?.message}`);
    }
    sealed = services.secretBox.seal(JSON.stringify(given), secretContext(orgId, key));
    names = Object.keys(given).sort();
  }
  if (existing && existing.provider !== provider.name) {
    const users = await processesUsing(trx, orgId, key);
    if (users.length > 0) {
      throw new AppError('CONNECTION_IN_USE', `Connection "${key}" is used by ${describeUsers(users)}; its provider cannot change while they use it.`, {
        connection: key,
        processes: users,
      });
    }
  }
  const stored = await writeConnection(trx, { orgId, key, provider: provider.name, name: parsed.name ?? existing?.name ?? key, config: parsed.config, sealedSecrets: sealed, secretNames: names }, existing, new Date().toISOString());
  return { stored, created: existing === undefined };
}

export async function getConnection(services: Services, ctx: CallContext, key: string): Promise<ConnectionDetailView> {
  const stored = await getStored(services.database.db, ctx.orgId, key);
  if (!stored) throw notFound(key);
  const view = toConnectionView(stored);
  const limit = rateLimitOf({ provider: stored.provider as ProviderName, config: view.config });
  const rateLimit = limit ? { ...limit, from: view.config.rateLimit ? ('config' as const) : ('provider default' as const) } : null;
  return { ...view, rateLimit, recent429s: await recentAnswers(services.database.db, ctx.orgId, key) };
}

/** A page of connections ordered by key; `nextKey` is set when more follow. */
export async function listConnections(services: Services, ctx: CallContext, page: { afterKey?: string; limit: number }): Promise<{ items: ConnectionApiView[]; nextKey: string | null }> {
  const rows = await listStored(services.database.db, ctx.orgId, { afterKey: page.afterKey, limit: page.limit + 1 });
  const items = rows.slice(0, page.limit).map(toConnectionView);
  return { items, nextKey: rows.length > page.limit ? items[items.length - 1]!.key : null };
}

/** Deletes a connection unless a process's current definition uses it (CONNECTION_IN_USE). Its links are kept. */
export async function deleteConnection(services: Services, ctx: CallContext, key: string): Promise<void> {
  await services.database.db.transaction().execute((trx) => deleteConnectionIn(trx, ctx.orgId, key));
  services.connections.forget(ctx.orgId, key);
  await services.rateLimiter.forget(ctx.orgId, key);
}

/** deleteConnection inside the caller's transaction; forget the cached connection and its rate limit after the commit. */
export async function deleteConnectionIn(trx: Transaction<Tables>, orgId: string, key: string): Promise<void> {
  // Postgres: lock the row, so a process being saved with this connection either commits first (and is
  // seen below) or waits and then finds the connection gone (engine/processes.ts).
  const existing = await getStored(trx, orgId, key, 'update');
  if (!existing) throw notFound(key);
  const users = await processesUsing(trx, orgId, key);
  if (users.length > 0) {
    throw new AppError('CONNECTION_IN_USE', `Connection "${key}" is used by ${describeUsers(users)}; change or delete them first.`, { connection: key, processes: users });
  }
  await deleteStored(trx, orgId, key);
}

/**
 * Checks the credentials with the provider's cheap request (at most CONNECTION_TEST_MS). Never throws for
 * a failed check: the failure is the answer, with any secret value blanked out of its message.
 */
export async function testConnection(services: Services, ctx: CallContext, key: string, outer?: AbortSignal): Promise<ConnectionTestResult> {
  if (!(await getStored(services.database.db, ctx.orgId, key))) throw notFound(key);
  const signal = outer ? AbortSignal.any([outer, AbortSignal.timeout(CONNECTION_TEST_MS)]) : AbortSignal.timeout(CONNECTION_TEST_MS);
  let secrets: string[] = [];
  try {
    const loaded = await loadConnection(services, ctx.orgId, key);
    secrets = secretValues(loaded.view);
    const provider = providerNamed(loaded.view.provider) as Provider;
    await raceAbort(provider.test(buildConnectionContext(services, ctx.orgId, loaded, NO_LINKS), signal), signal);
    return { ok: true };
  } catch (err) {
    const f = signal.aborted && !outer?.aborted ? { code: 'TIMEOUT', message: `The check took longer than ${CONNECTION_TEST_MS / 1000} s.`, retryable: true } : toFailure(err);
    const { code, message, retryable } = redact(f, secrets);
    return { ok: false, error: { code, message, retryable } };
  }
}


/** Provider of each connection of the organization, by key: what the process parser needs. */
export function connectionProvidersOf(services: Services, orgId: string): Promise<Map<string, string>> {
  return connectionProviders(services.database.db, orgId);
}

/** The links of an entity (ENTITY_NOT_FOUND when it does not exist), ordered by connection and external type. */
export async function entityLinks(services: Services, ctx: CallContext, type: string, id: string): Promise<LinkApiView[]> {
  await services.entityTypes.loadFresh(ctx.orgId, type);
  await readEntity(services, ctx, type, id);
  return (await listLinks(services.database.db, ctx.orgId, id)).filter((l) => l.entityType === type).map(linkApiView);
}

function linkApiView(l: StoredLink): LinkApiView {
  return {
    connection: l.connection,
    provider: l.provider,
    externalType: l.externalType,
    externalId: l.externalId,
    url: l.url,
    createdAt: l.createdAt,
    updatedAt: l.updatedAt,
    runId: l.runId,
  };
}

function describeUsers(users: string[]): string {
  const shown = users.slice(0, 5).map((u) => `"${u}"`).join(', ');
  return `process${users.length === 1 ? '' : 'es'} ${shown}${users.length > 5 ? ` and ${users.length - 5} more` : ''}`;
}

/**
 * Key rotation: re-encrypts, with the current key, every connection's secrets that opened only with an
 * earlier key (STATUSFLOW_SECRET_KEY_PREVIOUS). Idempotent; run at start. Returns what it did.
 */
export async function resealSecrets(services: Services): Promise<{ resealed: number; unreadable: string[] }> {
  const { db } = services.database;
  let resealed = 0;
  const unreadable: string[] = [];
  for (const row of await allSealedSecrets(db)) {
    const context = secretContext(row.orgId, row.key);
    try {
      if (!services.secretBox.needsReseal(row.sealedSecrets, context)) continue;
      const plain = services.secretBox.open(row.sealedSecrets, context);
      await resealStored(db, row.orgId, row.key, services.secretBox.seal(plain, context));
      services.connections.forget(row.orgId, row.key);
      resealed++;
    } catch (err) {
      if (!(err instanceof SecretsUnreadableError)) throw err;
      unreadable.push(`${row.orgId}/${row.key}`);
    }
  }
  return { resealed, unreadable };
}
