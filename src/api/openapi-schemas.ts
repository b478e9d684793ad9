/**
 * Route schemas for the OpenAPI document (served at /api/v1/openapi.json). They document; the
 * handlers validate with zod and the domain's parsers (see app.ts: Fastify's own validation is off),
 * so a request is never refused by a schema here with a message our catalogue does not know.
 */
const errorBody = {
  type: 'object',
  properties: {
    error: {
      type: 'object',
      required: ['code', 'message'],
      properties: { code: { type: 'string' }, message: { type: 'string' }, details: {} },
    },
  },
} as const;

const key = { type: 'string', pattern: '^[a-z][a-z0-9_]{0,62}$' } as const;
const listQuery = {
  type: 'object',
  properties: { limit: { type: 'integer', minimum: 1, maximum: 500, default: 50 }, cursor: { type: 'string' } },
} as const;
const list = (item: object) => ({
  type: 'object',
  properties: {
    items: { type: 'array', items: item },
    nextCursor: { type: ['string', 'null'], description: 'set when more items follow; a page ends early (fewer than limit) at the byte budget' },
  },
});
const errors = (...codes: number[]) => Object.fromEntries(codes.map((c) => [c, { description: 'Error', ...errorBody }]));

const attribute = {
  type: 'object',
  required: ['key', 'type'],
  properties: {
    key,
    type: { enum: ['string', 'number', 'integer', 'boolean', 'date', 'datetime', 'enum', 'json'] },
    name: { type: 'string' },
    description: { type: 'string' },
    required: { type: 'boolean' },
    default: {},
    values: { type: 'array', items: { type: 'string' } },
  },
};
const entityTypeBody = {
  type: 'object',
  required: ['name', 'statuses'],
  properties: {
    name: { type: 'string' },
    description: { type: 'string' },
    attributes: { type: 'array', items: attribute },
    statuses: { type: 'array', items: { type: 'object', required: ['key'], properties: { key, name: { type: 'string' }, initial: { type: 'boolean' } } } },
    requirements: {
      type: 'array',
      items: {
        type: 'object',
        required: ['key', 'condition', 'message'],
        properties: { key, condition: { type: 'string', description: 'JSONata; see docs/expressions.md' }, message: { type: 'string' }, enforce: { type: 'boolean' } },
      },
    },
    transitions: {
      type: 'array',
      items: {
        type: 'object',
        required: ['from', 'to'],
        properties: {
          from: { type: 'array', items: key },
          to: key,
          when: { type: 'array', items: key },
          whenFailing: { type: 'array', items: key },
          auto: { type: 'boolean' },
        },
      },
    },
  },
};
const entityType = { ...entityTypeBody, properties: { key, version: { type: 'integer' }, ...entityTypeBody.properties, createdAt: { type: 'string' }, updatedAt: { type: 'string' } } };
const requirementResult = {
  type: 'object',
  properties: { key, passed: { type: 'boolean' }, message: { type: 'string' }, enforce: { type: 'boolean' }, error: { type: 'object' } },
};
const entity = {
  type: 'object',
  properties: {
    id: { type: 'string' },
    type: key,
    status: key,
    version: { type: 'integer' },
    attributes: { type: 'object', additionalProperties: true },
    createdAt: { type: 'string', format: 'date-time' },
    updatedAt: { type: 'string', format: 'date-time' },
  },
};
const savedEntity = {
  type: 'object',
  properties: {
    ...entity.properties,
    requirements: { type: 'array', items: requirementResult },
    statusPath: { type: 'array', items: key },
    queuedRuns: { type: 'array', items: { type: 'object', properties: { id: { type: 'string' }, process: key } } },
  },
};
const saveBody = {
  type: 'object',
  properties: { attributes: { type: 'object', additionalProperties: true }, status: key },
  additionalProperties: false,
};
const typeParams = { type: 'object', properties: { type: key } };
const entityParams = { type: 'object', properties: { type: key, id: { type: 'string' } } };
const event = {
  type: 'object',
  properties: {
    id: { type: 'string' },
    entityId: { type: 'string' },
    entityType: key,
    entityVersion: { type: 'integer' },
    kind: { enum: ['created', 'updated', 'deleted'] },
    statusBefore: { type: ['string', 'null'] },
    statusAfter: { type: ['string', 'null'] },
    statusPath: { type: 'array', items: { type: 'string' } },
    changes: { type: 'object', additionalProperties: true },
    actor: { type: 'object', additionalProperties: true },
    createdAt: { type: 'string' },
  },
};
const apiKey = { type: 'object', properties: { id: { type: 'string' }, name: { type: 'string' }, role: { type: 'string' }, keyPrefix: { type: 'string' }, createdAt: { type: 'string' } } };
const task = {
  type: 'object',
  required: ['key', 'kind'],
  properties: {
    key,
    kind: { type: 'string', description: 'e.g. http.request, entity.update, entity.create, delay' },
    connection: key,
    when: { type: 'string', description: 'JSONata condition; the task is skipped unless it gives true' },
    input: { type: 'object', additionalProperties: true, description: 'fields the task kind marks as expressions are JSONata' },
  },
};
const processBody = {
  type: 'object',
  required: ['name', 'entityType', 'trigger', 'tasks'],
  properties: {
    name: { type: 'string' },
    description: { type: 'string' },
    entityType: key,
    trigger: {
      oneOf: [
        { type: 'object', required: ['status'], properties: { status: key } },
        { type: 'object', required: ['manual'], properties: { manual: { const: true } } },
      ],
    },
    enabled: { type: 'boolean', default: true },
    settings: {
      type: 'object',
      properties: {
        retry: { type: 'object', properties: { maxAttempts: { type: 'integer' }, initialDelayMs: { type: 'integer' }, maxDelayMs: { type: 'integer' } } },
        timeoutMs: { type: 'integer' },
        concurrency: { type: 'integer', default: 100 },
      },
    },
    tasks: { type: 'array', items: task },
  },
};
const processView = { type: 'object', properties: { key, version: { type: 'integer' }, ...processBody.properties, createdAt: { type: 'string' }, updatedAt: { type: 'string' } } };
const runCounts = { type: 'object', properties: Object.fromEntries(['queued', 'running', 'waiting', 'succeeded', 'failed', 'cancelled'].map((s) => [s, { type: 'integer' }])) };
const heldBack = { type: 'object', description: 'runs due now that cannot start: waiting for a slot of the process\'s settings.concurrency, or held while the process is disabled', properties: { concurrency: { type: 'integer' }, disabled: { type: 'integer' } } };
const lastFailure = { type: ['object', 'null'], description: 'the newest failed run (by when it finished); null: none', properties: { runId: { type: 'string' }, code: { type: ['string', 'null'] }, message: { type: ['string', 'null'] }, at: { type: 'string' } } };
const processWithRuns = { type: 'object', properties: { ...processView.properties, runs: runCounts, heldBack, lastFailure } };
const processVersion = { type: 'object', properties: { version: { type: 'integer' }, ...processBody.properties, createdAt: { type: 'string' } } };
const keyParams = { type: 'object', properties: { key } };
const failureBody = { type: ['object', 'null'], properties: { code: { type: 'string' }, message: { type: 'string' }, retryable: { type: 'boolean' }, retryAfterMs: { type: 'integer' }, details: {} } };
const runStatus = { enum: ['queued', 'running', 'waiting', 'succeeded', 'failed', 'cancelled'] };
const runSummary = {
  type: 'object',
  properties: {
    id: { type: 'string' },
    process: key,
    processVersion: { type: 'integer' },
    entityId: { type: 'string' },
    entityType: key,
    status: runStatus,
    trigger: { type: 'object', properties: { type: { enum: ['status', 'manual', 'batch', 'retry'] }, status: { type: ['string', 'null'] }, batchId: { type: ['string', 'null'] }, actor: { type: ['string', 'null'] } } },
    attempt: { type: 'integer' },
    cancelRequested: { type: 'boolean', description: 'a cancel was asked while the run was running; it stops before its next step' },
    pinned: { type: 'boolean', description: 'kept by retention whatever its age (POST /runs/{id}/pin, /unpin)' },
    queuedAt: { type: 'string' },
    startedAt: { type: ['string', 'null'] },
    finishedAt: { type: ['string', 'null'] },
    error: failureBody,
  },
};
const runStep = {
  type: 'object',
  properties: {
    task: key,
    status: { type: 'string', description: 'running, succeeded, failed, skipped, waiting; in a dry run: evaluated, skipped, failed' },
    attempts: { type: 'integer' },
    input: {},
    output: {},
    error: failureBody,
    startedAt: { type: ['string', 'null'] },
    finishedAt: { type: ['string', 'null'] },
    note: { type: 'string', description: 'dry run only: outputs of earlier tasks it read were null' },
    omitted: { type: 'boolean', description: 'present (true) when input and output were left out to keep the run detail within the page budget; GET /runs/{id}/steps has them' },
  },
};
const runDetail = { type: 'object', properties: { ...runSummary.properties, dryRun: { type: 'boolean', description: 'present (true) only on a dry run, which is never stored (id null)' }, steps: { type: 'array', items: runStep } } };
const runEnvelope = { type: 'object', properties: { run: runDetail } };
const idParams = { type: 'object', properties: { id: { type: 'string' } } };
const rateLimit = {
  type: 'object',
  required: ['requests', 'perMs'],
  properties: { requests: { type: 'integer', minimum: 1 }, perMs: { type: 'integer', minimum: 100 } },
  description: 'shared by every worker and process; default HubSpot 100 per 10000 ms, Dropbox and HTTP none',
};
const connectionBody = {
  type: 'object',
  required: ['provider'],
  properties: {
    provider: { enum: ['hubspot', 'dropbox', 'http'] },
    name: { type: 'string', description: 'default: the key' },
    config: { type: 'object', additionalProperties: true, properties: { baseUrl: { type: 'string' }, rateLimit }, description: "the provider's settings (never secret); see docs/connections.md" },
    secrets: {
      type: 'object',
      additionalProperties: true,
      description: 'write-only, encrypted at rest; omit to keep the stored secrets (same provider). HubSpot {accessToken}; Dropbox {accessToken} or {refreshToken, appKey, appSecret}; HTTP {headers}',
    },
  },
};
const connectionView = {
  type: 'object',
  properties: {
    key,
    provider: { type: 'string' },
    name: { type: 'string' },
    config: { type: 'object', additionalProperties: true },
    secrets: { type: 'object', additionalProperties: { const: 'set' }, description: 'names of the secrets that are set; values are never returned' },
    createdAt: { type: 'string' },
    updatedAt: { type: 'string' },
  },
};
const rateLimitInForce = { type: ['object', 'null'], properties: { requests: { type: 'integer' }, perMs: { type: 'integer' }, from: { enum: ['config', 'provider default'] } }, description: 'the shared limit in force; null: none (only 429 pauses)' };
const recent429s = { type: 'array', description: "the provider's latest 429 answers (at most 20), newest first", items: { type: 'object', properties: { at: { type: 'string' }, retryAfterMs: { type: ['integer', 'null'] } } } };
const connectionDetail = { type: 'object', properties: { ...connectionView.properties, rateLimit: rateLimitInForce, recent429s } };
const connectionTest = { type: 'object', required: ['ok'], properties: { ok: { type: 'boolean' }, error: { type: 'object', properties: { code: { type: 'string' }, message: { type: 'string' }, retryable: { type: 'boolean' } } } } };
const link = {
  type: 'object',
  properties: {
    connection: key,
    provider: { type: 'string' },
    externalType: { type: 'string' },
    externalId: { type: 'string' },
    url: { type: ['string', 'null'] },
    createdAt: { type: 'string' },
    updatedAt: { type: 'string' },
    runId: { type: ['string', 'null'] },
  },
};
const secured = [{ bearer: [] }];

export const docs = {
  me: { tags: ['system'], summary: 'Who the API key is: its organization, name and role (the console uses it to hide what the role cannot do)', security: secured, response: { 200: { type: 'object', properties: { orgId: { type: 'string' }, keyId: { type: 'string' }, name: { type: 'string' }, role: { enum: ['admin', 'editor', 'operator', 'viewer'] } } }, ...errors(401) } },
  health: { tags: ['system'], summary: 'Liveness and database kind (no key needed)', response: { 200: { type: 'object', properties: { status: { type: 'string' }, database: { enum: ['sqlite', 'postgres'] }, version: { type: 'string' } } } } },
  putEntityType: { tags: ['entity types'], summary: 'Create or replace an entity type', security: secured, params: { type: 'object', properties: { key } }, body: entityTypeBody, response: { 200: entityType, 201: entityType, ...errors(400, 401, 403) } },
  listEntityTypes: { tags: ['entity types'], summary: 'List entity types', security: secured, querystring: listQuery, response: { 200: list(entityType), ...errors(400, 401) } },
  getEntityType: { tags: ['entity types'], summary: 'Get an entity type', security: secured, params: { type: 'object', properties: { key } }, response: { 200: entityType, ...errors(401, 404) } },
  deleteEntityType: { tags: ['entity types'], summary: 'Delete an entity type (409 while entities exist)', security: secured, params: { type: 'object', properties: { key } }, response: { 204: { type: 'null' }, ...errors(401, 403, 404, 409) } },
  putProcess: { tags: ['processes'], summary: 'Create or replace a process (every change is a new version)', security: secured, params: keyParams, body: processBody, response: { 200: processView, 201: processView, ...errors(400, 401, 403, 409) } },
  listProcesses: { tags: ['processes'], summary: 'List processes by key, with run counts by status', security: secured, querystring: listQuery, response: { 200: list(processWithRuns), ...errors(400, 401) } },
  getProcess: { tags: ['processes'], summary: 'Get a process with its run counts by status', security: secured, params: keyParams, response: { 200: processWithRuns, ...errors(401, 404) } },
  listProcessVersions: { tags: ['processes'], summary: 'Versions of a process, newest first', security: secured, params: keyParams, querystring: listQuery, response: { 200: list(processVersion), ...errors(400, 401, 404) } },
  deleteProcess: { tags: ['processes'], summary: 'Delete a process (its runs keep their pinned version)', security: secured, params: keyParams, response: { 204: { type: 'null' }, ...errors(401, 403, 404) } },
  createEntity: { tags: ['entities'], summary: 'Create an entity (runs the save pipeline)', security: secured, params: typeParams, body: saveBody, response: { 201: savedEntity, ...errors(400, 401, 403, 404, 413, 422) } },
  listEntities: {
    tags: ['entities'],
    summary: 'List entities, newest first',
    security: secured,
    params: typeParams,
    querystring: { type: 'object', properties: { ...listQuery.properties, status: { type: 'string', description: 'one status or several, comma-separated' }, where: { type: 'string', description: 'JSONata condition; an entity matches when it gives true (422 WHERE_TOO_EXPENSIVE when it cannot be evaluated within its limits)' } } },
    response: { 200: list(entity), ...errors(400, 401, 404, 422) },
  },
  getEntity: { tags: ['entities'], summary: 'Get an entity with its current requirement results', security: secured, params: entityParams, response: { 200: { type: 'object', properties: { ...entity.properties, requirements: savedEntity.properties.requirements } }, ...errors(401, 404) } },
  updateEntity: { tags: ['entities'], summary: 'Update attributes and/or ask for a status (If-Match: "<version>" optional)', security: secured, params: entityParams, body: saveBody, response: { 200: savedEntity, ...errors(400, 401, 403, 404, 409, 413, 422) } },
  deleteEntity: { tags: ['entities'], summary: 'Delete an entity (its events are kept)', security: secured, params: entityParams, response: { 204: { type: 'null' }, ...errors(401, 403, 404) } },
  entityEvents: { tags: ['entities'], summary: 'Event history of an entity, oldest first', security: secured, params: entityParams, querystring: listQuery, response: { 200: list(event), ...errors(400, 401, 404) } },
  listRuns: {
    tags: ['runs'],
    summary: 'List runs, newest first',
    security: secured,
    querystring: { type: 'object', properties: { ...listQuery.properties, process: key, entity: { type: 'string' }, status: { type: 'string', description: 'one run status or several, comma-separated' }, batch: { type: 'string' } } },
    response: { 200: list(runSummary), ...errors(400, 401) },
  },
  getRun: { tags: ['runs'], summary: 'Get a run with its steps', security: secured, params: idParams, response: { 200: runDetail, ...errors(401, 404) } },
  runSteps: { tags: ['runs'], summary: 'Steps of a run with their input and output, by task order (pages bounded by bytes)', security: secured, params: idParams, querystring: listQuery, response: { 200: list(runStep), ...errors(400, 401, 404) } },
  retryRun: {
    tags: ['runs'],
    summary: 'Retry a failed or cancelled run: from the failed step (default) or from the start',
    security: secured,
    params: idParams,
    body: { type: 'object', properties: { from: { enum: ['failed', 'start'], default: 'failed' } }, additionalProperties: false },
    response: { 202: runDetail, ...errors(400, 401, 403, 404, 409) },
  },
  cancelRun: { tags: ['runs'], summary: 'Cancel a run (a running one stops before its next step)', security: secured, params: idParams, response: { 202: runDetail, ...errors(401, 403, 404, 409) } },
  pinRun: { tags: ['runs'], summary: 'Pin a run: retention never deletes it', security: secured, params: idParams, response: { 200: runDetail, ...errors(401, 403, 404) } },
  unpinRun: { tags: ['runs'], summary: 'Unpin a run: retention may delete it once it is old enough', security: secured, params: idParams, response: { 200: runDetail, ...errors(401, 403, 404) } },
  entityRuns: { tags: ['entities'], summary: 'Runs of an entity, newest first', security: secured, params: entityParams, querystring: listQuery, response: { 200: list(runSummary), ...errors(400, 401, 404) } },
  processEntity: {
    tags: ['entities'],
    summary: 'Process an entity with a process of its type: queue a run, wait for it, or dry-run it',
    security: secured,
    params: entityParams,
    body: {
      type: 'object',
      required: ['process'],
      additionalProperties: false,
      properties: {
        process: key,
        dryRun: { type: 'boolean', default: false, description: 'evaluate conditions and inputs only; nothing is sent or written' },
        wait: { type: 'boolean', default: false, description: 'wait (up to 30 s) for the run to finish' },
      },
    },
    response: { 200: runEnvelope, 202: runEnvelope, ...errors(400, 401, 403, 404, 409) },
  },
  stream: {
    tags: ['live updates'],
    summary: 'Server-Sent Events of your organization: entity.saved, run.updated, batch.updated',
    security: secured,
    response: { 200: { description: 'text/event-stream', type: 'string' }, ...errors(401) },
  },
  putConnection: { tags: ['connections'], summary: 'Create or replace a connection (admin; secrets are write-only)', security: secured, params: keyParams, body: connectionBody, response: { 200: connectionView, 201: connectionView, ...errors(400, 401, 403, 409) } },
  listConnections: { tags: ['connections'], summary: 'List connections by key (secrets shown as "set")', security: secured, querystring: listQuery, response: { 200: list(connectionView), ...errors(400, 401) } },
  getConnection: { tags: ['connections'], summary: 'Get a connection (secrets shown as "set"), its rate limit in force and recent 429s', security: secured, params: keyParams, response: { 200: connectionDetail, ...errors(401, 404) } },
  deleteConnection: { tags: ['connections'], summary: 'Delete a connection (409 while a process uses it)', security: secured, params: keyParams, response: { 204: { type: 'null' }, ...errors(401, 403, 404, 409) } },
  testConnection: { tags: ['connections'], summary: 'Check the credentials with one cheap request to the provider (at most 10 s)', security: secured, params: keyParams, response: { 200: connectionTest, ...errors(401, 403, 404) } },
  entityLinks: { tags: ['entities'], summary: 'Links of an entity to records in providers', security: secured, params: entityParams, response: { 200: list(link), ...errors(401, 404) } },
  createApiKey: { tags: ['administration'], summary: 'Create an API key (the key is shown once)', security: secured, body: { type: 'object', required: ['name', 'role'], properties: { name: { type: 'string' }, role: { enum: ['admin', 'editor', 'operator', 'viewer'] } } }, response: { 201: { type: 'object', properties: { ...apiKey.properties, key: { type: 'string' } } }, ...errors(400, 401, 403) } },
  listApiKeys: { tags: ['administration'], summary: 'List API keys of the organization', security: secured, response: { 200: list(apiKey), ...errors(401, 403) } },
  deleteApiKey: { tags: ['administration'], summary: 'Delete an API key', security: secured, params: { type: 'object', properties: { id: { type: 'string' } } }, response: { 204: { type: 'null' }, ...errors(401, 403, 404, 409) } },
  workers: {
    tags: ['administration'],
    summary: "Claim and wake-up counters of this server process's workers, since it started (default organization admins only)",
    security: secured,
    response: {
      200: {
        type: 'object',
        properties: {
          workers: { type: 'integer' },
          claims: { type: 'integer' },
          emptyClaims: { type: 'integer' },
          runsClaimed: { type: 'integer' },
          cappedSkips: { type: 'integer' },
          slotSignals: { type: 'integer' },
          wakes: { type: 'object', properties: { signal: { type: 'integer' }, due: { type: 'integer' }, poll: { type: 'integer' } } },
        },
      },
      ...errors(401, 403),
    },
  },
  storage: {
    tags: ['administration'],
    summary: 'Storage: database and WAL sizes, the WAL bound, retention settings and the last prune (default organization admins only)',
    security: secured,
    response: {
      200: {
        type: 'object',
        properties: {
          dialect: { enum: ['sqlite', 'postgres'] },
          databaseBytes: { type: 'integer' },
          walBytes: { type: 'integer', description: 'SQLite: size of the -wal file now' },
          freeBytes: { type: 'integer', description: 'SQLite: free pages inside the file (reused by new rows)' },
          autoVacuum: { enum: ['none', 'full', 'incremental'], description: 'SQLite: incremental gives pruned space back to the file system' },
          tables: { type: 'object', additionalProperties: { type: 'integer' }, description: 'Postgres: bytes of runs, run_steps, entity_events' },
          wal: {
            type: ['object', 'null'],
            properties: Object.fromEntries(['limitBytes', 'resets', 'resetsBlocked', 'lastPauseMs', 'maxPauseMs', 'totalPauseMs', 'walPeakBytes'].map((k) => [k, { type: 'number' }])),
          },
          retention: {
            type: ['object', 'null'],
            properties: { ...Object.fromEntries(['runsDays', 'runsPerProcess', 'eventsDays', 'intervalMs', 'chunk'].map((k) => [k, { type: 'integer' }])), running: { type: 'boolean' } },
          },
          lastPrune: {
            type: ['object', 'null'],
            properties: {
              startedAt: { type: 'string' },
              finishedAt: { type: 'string' },
              ...Object.fromEntries(['durationMs', 'runs', 'steps', 'events', 'chunks', 'bytesFreed'].map((k) => [k, { type: 'number' }])),
              error: { type: 'string' },
            },
          },
        },
      },
      ...errors(401, 403),
    },
  },
  createOrganization: { tags: ['administration'], summary: 'Create an organization with its first admin key (default organization admins only)', security: secured, body: { type: 'object', required: ['name'], properties: { name: { type: 'string' } } }, response: { 201: { type: 'object' }, ...errors(400, 401, 403) } },
};
