/**
 * What a task that talks to a provider gets (`TaskContext.connection`): the connection with its secrets
 * decrypted, the shared rate limit, the per-connection memo and the entity's links. The executor calls
 * `connectionContextFor` for every step of a task that names a connection.
 */
import type { ConnectionContext, ConnectionView, LinkView, ProviderName } from '../connectors/types.js';
import { secretStrings } from '../connectors/kit/redact.js';
import { failure } from '../domain/failure.js';
import { connectionUpdatedAt, getConnection } from '../store/connections.js';
import { entityTypeOf, type StoredLink } from '../store/links.js';
import { CONNECTION_CACHE_MS } from './connection-cache.js';
import { DEFAULT_RATE_LIMITS, type RateLimit } from './rate-limiter.js';
import { SecretsUnreadableError } from './secrets.js';
import type { Services } from './services.js';

/** Whose step the context is for. */
export interface ConnectionScope {
  orgId: string;
  runId: string;
  /** The run's entity: the default entity of `links.get` / `links.put`. */
  entityId: string;
  entityType: string;
  connectionKey: string;
}

/** A connection as loaded for tasks: decrypted, with the version (`updatedAt`) it was read at. */
export interface LoadedConnection {
  view: ConnectionView;
  updatedAt: string;
}

/** The context for one step of a task with `connection`. Throws a TaskFailure (CONNECTION_NOT_FOUND, CONNECTION_SECRETS_UNREADABLE). */
export async function connectionContextFor(services: Services, scope: ConnectionScope): Promise<ConnectionContext> {
  const loaded = await loadConnection(services, scope.orgId, scope.connectionKey);
  return buildConnectionContext(services, scope.orgId, loaded, runLinks(services, scope, loaded.view.provider));
}

/**
 * The connection with its secrets decrypted. A decrypted connection is reused for a few seconds without
 * asking the database, then reused while its `updatedAt` has not moved (one cheap read).
 */
export async function loadConnection(services: Services, orgId: string, key: string): Promise<LoadedConnection> {
  const cache = services.connections;
  const db = services.database.db;
  const cached = cache.get(orgId, key);
  if (cached) {
    if (performance.now() - cached.checkedAt < CONNECTION_CACHE_MS) return cached;
    const updatedAt = await connectionUpdatedAt(db, orgId, key);
    if (updatedAt === cached.updatedAt) {
      cached.checkedAt = performance.now();
      return cached;
    }
    cache.forget(orgId, key);
  }
  const stored = await getConnection(db, orgId, key);
  if (!stored) throw failure('CONNECTION_NOT_FOUND', `There is no connection "${key}" (it was deleted?).`, false, { details: { connection: key } });
  let secrets: Record<string, string>;
  try {
    secrets = JSON.parse(services.secretBox.open(stored.sealedSecrets, secretContext(orgId, key))) as Record<string, string>;
  } catch (err) {
    if (!(err instanceof SecretsUnreadableError)) throw err;
    throw failure('CONNECTION_SECRETS_UNREADABLE', `The secrets of connection "${key}" cannot be read: ${err.message}`, false, { details: { connection: key } });
  }
  const view: ConnectionView = { key, provider: stored.provider as ProviderName, name: stored.name, config: stored.config, secrets };
  return cache.set(orgId, key, view, stored.updatedAt);
}

/** What the secrets of a connection are bound to (the additional authenticated data of their encryption). */
export function secretContext(orgId: string, key: string): string {
  return `connection:${orgId}/${key}`;
}

/** The connection's rate limit: `config.rateLimit` when set, else the provider's default (none for dropbox and http). */
export function rateLimitOf(view: Pick<ConnectionView, 'provider' | 'config'>): RateLimit | undefined {
  const r = view.config.rateLimit as { requests?: unknown; perMs?: unknown } | undefined;
  if (r && Number.isInteger(r.requests) && Number.isInteger(r.perMs) && (r.requests as number) > 0 && (r.perMs as number) > 0) {
    return { requests: r.requests as number, perMs: r.perMs as number };
  }
  return DEFAULT_RATE_LIMITS[view.provider];
}

/** The secret strings of a connection, to redact from anything stored or shown (see connectors/kit/redact.ts). */
export function secretValues(view: ConnectionView): string[] {
  return secretStrings(Object.values(view.secrets));
}

/** A ConnectionContext over a loaded connection; `links` decides what links the caller may see. */
export function buildConnectionContext(services: Services, orgId: string, loaded: LoadedConnection, links: ConnectionContext['links']): ConnectionContext {
  const { view } = loaded;
  const limit = rateLimitOf(view);
  /** Slots taken by this step and not settled yet, oldest first. */
  const slots: number[] = [];
  return {
    connection: view,
    acquire: async (signal) => {
      const at = await services.rateLimiter.acquire(orgId, view.key, limit, signal);
      if (limit) slots.push(at);
    },
    settle: async () => {
      const at = slots.shift();
      if (at !== undefined) await services.rateLimiter.settle(orgId, view.key, at).catch(() => undefined);
    },
    backOff: (ms, why = '429') => services.rateLimiter.backOff(orgId, view.key, ms, why === '429'),
    memo: services.connections.memo(orgId, view.key, loaded.updatedAt),
    links,
  };
}

const MAX_EXTERNAL = 1000;

/** Links of a run's entity (or another entity of the organization) through the step's connection. */
function runLinks(services: Services, scope: ConnectionScope, provider: string): ConnectionContext['links'] {
  const db = services.database.db;
  return {
    async get(externalType, entityId = scope.entityId) {
      const link = await services.links.get({ orgId: scope.orgId, connection: scope.connectionKey, externalType }, entityId);
      return link && linkView(link);
    },
    async put(link) {
      const entityId = link.entityId ?? scope.entityId;
      if (typeof link.externalType !== 'string' || link.externalType === '' || link.externalType.length > 200) {
        throw failure('LINK_INVALID', 'a link needs an externalType of 1 to 200 characters', false);
      }
      if (typeof link.externalId !== 'string' || link.externalId === '' || link.externalId.length > MAX_EXTERNAL) {
        throw failure('LINK_INVALID', `a link needs an externalId of 1 to ${MAX_EXTERNAL} characters`, false);
      }
      let entityType = scope.entityType;
      if (entityId !== scope.entityId) {
        const type = await entityTypeOf(db, scope.orgId, entityId);
        if (type === undefined) throw failure('ENTITY_NOT_FOUND', `Cannot link entity "${entityId}": it does not exist.`, false);
        entityType = type;
      }
      await services.links.put({
        orgId: scope.orgId,
        entityId,
        entityType,
        connection: scope.connectionKey,
        provider,
        externalType: link.externalType,
        externalId: link.externalId,
        url: link.url ?? null,
        runId: scope.runId,
      });
    },
  };
}

/** Links are not available outside a run (e.g. `POST /connections/{key}/test`). */
export const NO_LINKS: ConnectionContext['links'] = {
  get: () => Promise.reject(failure('LINKS_UNAVAILABLE', 'links are only available to the steps of a run', false)),
  put: () => Promise.reject(failure('LINKS_UNAVAILABLE', 'links are only available to the steps of a run', false)),
};

function linkView(l: StoredLink): LinkView {
  return { entityId: l.entityId, connection: l.connection, provider: l.provider, externalType: l.externalType, externalId: l.externalId, url: l.url };
}
