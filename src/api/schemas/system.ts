/** Schemas of health, me, the live-updates stream, API keys, organizations, workers and storage (API.md "Administration"). */
import { z } from 'zod';
import { text } from '../../domain/schema-kit.js';
import { errors, Id, IdParams, list, NoContent, Role, secured, Timestamp } from './kit.js';
import { routeDocs } from './openapi.js';

// Trimmed, then refused with `invalid_string` when it holds U+0000 or a lone surrogate, as attribute and type
// names are: stored, a lone surrogate came back as three U+FFFD from SQLite and as one from Postgres.
const name = z.string().trim().pipe(text(200, 1));
/** POST /api-keys (routes/admin.ts validates with it). */
export const ApiKeyBody = z.strictObject({ name, role: Role });
/** POST /organizations (routes/admin.ts validates with it). */
export const OrganizationBody = z.strictObject({ name });

const ApiKey = z.object({ id: Id, name: z.string(), role: Role, keyPrefix: z.string(), createdAt: Timestamp });
const NewApiKey = ApiKey.extend({ key: z.string().meta({ description: 'the key itself, shown only this once' }) });

const Counters = z.object({
  workers: z.int(),
  claims: z.int(),
  emptyClaims: z.int(),
  runsClaimed: z.int(),
  cappedSkips: z.int(),
  slotSignals: z.int(),
  wakes: z.object({ signal: z.int(), due: z.int(), poll: z.int() }),
});

const numbers = (names: readonly string[]) => Object.fromEntries(names.map((k) => [k, z.number()]));
const Storage = z.object({
  dialect: z.enum(['sqlite', 'postgres']),
  databaseBytes: z.number(),
  walBytes: z.number().meta({ description: 'SQLite: size of the -wal file now' }).optional(),
  freeBytes: z.number().meta({ description: 'SQLite: free pages inside the file (reused by new rows)' }).optional(),
  autoVacuum: z.enum(['none', 'full', 'incremental']).meta({ description: 'SQLite: incremental gives pruned space back to the file system' }).optional(),
  tables: z.record(z.string(), z.number()).meta({ description: 'Postgres: bytes of runs, run_steps, entity_events' }).optional(),
  wal: z.object(numbers(['limitBytes', 'resets', 'resetsBlocked', 'lastPauseMs', 'maxPauseMs', 'totalPauseMs', 'walPeakBytes'])).nullable().meta({ description: "SQLite: the WAL bound's figures" }),
  retention: z.object({ ...numbers(['runsDays', 'runsPerProcess', 'eventsDays', 'intervalMs', 'chunk']), running: z.boolean() }).nullable(),
  lastPrune: z
    .object({ startedAt: Timestamp, finishedAt: Timestamp, ...numbers(['durationMs', 'runs', 'steps', 'events', 'chunks', 'bytesFreed']), error: z.string().optional() })
    .nullable(),
});

export const systemDocs = {
  health: routeDocs({
    tags: ['system'],
    summary: 'Liveness and database kind (no key needed)',
    response: { 200: z.object({ status: z.literal('ok'), database: z.enum(['sqlite', 'postgres']), version: z.string() }) },
  }),
  me: routeDocs({
    tags: ['system'],
    summary: 'Who the API key is: its organization, name and role (the console uses it to hide what the role cannot do)',
    security: secured,
    response: { 200: z.object({ orgId: Id, keyId: Id, name: z.string(), role: Role }), ...errors(401) },
  }),
  stream: routeDocs({
    tags: ['live updates'],
    summary: 'Server-Sent Events of your organization: entity.saved, run.updated, batch.updated',
    security: secured,
    response: { 200: { description: 'An event stream: `retry: 2000` first, then events with JSON data and a `: ping` comment every 15 s', content: { 'text/event-stream': { schema: z.string() } } }, ...errors(401) },
  }),
  createApiKey: routeDocs({ tags: ['administration'], summary: 'Create an API key (the key is shown once)', security: secured, body: ApiKeyBody, response: { 201: NewApiKey, ...errors(400, 401, 403) } }),
  listApiKeys: routeDocs({ tags: ['administration'], summary: 'List API keys of the organization (prefixes only)', security: secured, response: { 200: list(ApiKey), ...errors(401, 403) } }),
  deleteApiKey: routeDocs({ tags: ['administration'], summary: 'Delete an API key (not the one in use)', security: secured, params: IdParams, response: { 204: NoContent, ...errors(401, 403, 404, 409) } }),
  createOrganization: routeDocs({
    tags: ['administration'],
    summary: 'Create an organization with its first admin key (default organization admins only)',
    security: secured,
    body: OrganizationBody,
    response: { 201: z.object({ id: Id, name: z.string(), createdAt: Timestamp, apiKey: NewApiKey }), ...errors(400, 401, 403) },
  }),
  workers: routeDocs({
    tags: ['administration'],
    summary: "Claim and wake-up counters of this server process's workers, since it started (default organization admins only)",
    security: secured,
    response: { 200: Counters, ...errors(401, 403) },
  }),
  storage: routeDocs({
    tags: ['administration'],
    summary: 'Storage: database and WAL sizes, the WAL bound, retention settings and the last prune (default organization admins only)',
    security: secured,
    response: { 200: Storage, ...errors(401, 403) },
  }),
};
