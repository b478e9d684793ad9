/** OpenAPI documentation of the batch routes (they validate with zod; see openapi-schemas.ts). */
const errorBody = { type: 'object', properties: { error: { type: 'object', required: ['code', 'message'], properties: { code: { type: 'string' }, message: { type: 'string' }, details: {} } } } } as const;
const errors = (...codes: number[]) => Object.fromEntries(codes.map((c) => [c, { description: 'Error', ...errorBody }]));
const secured = [{ bearer: [] }];
const idParams = { type: 'object', properties: { id: { type: 'string' } } };
const key = { type: 'string', pattern: '^[a-z][a-z0-9_]{0,62}$' } as const;
const count = { type: 'integer', minimum: 0 } as const;
const time = { type: ['string', 'null'], format: 'date-time' } as const;
const list = (item: object) => ({ type: 'object', properties: { items: { type: 'array', items: item }, nextCursor: { type: ['string', 'null'] } } });

const filter = {
  type: 'object',
  additionalProperties: false,
  properties: {
    status: { type: 'array', items: key, description: 'entities in one of these statuses' },
    where: { type: 'string', description: 'JSONata condition; an entity is in the batch when it gives true' },
    ids: { type: 'array', items: { type: 'string' }, maxItems: 10_000, description: 'only these entities (each must exist: 404 BATCH_ENTITIES_NOT_FOUND)' },
    linked: { type: 'object', required: ['connection', 'exists'], properties: { connection: key, exists: { type: 'boolean' } }, description: 'linked (exists: true) or not linked (false) to a record of this connection' },
    updatedAfter: { type: 'string', format: 'date-time' },
    updatedBefore: { type: 'string', format: 'date-time' },
  },
};
const body = { type: 'object', required: ['process'], properties: { process: key, entityType: { ...key, description: 'optional; must be the process’s entity type' }, filter } };

export const batch = {
  type: 'object',
  properties: {
    id: { type: 'string' },
    process: key,
    processVersion: { type: 'integer' },
    entityType: key,
    filter,
    status: { enum: ['running', 'paused', 'cancelled', 'completed'] },
    total: count,
    pending: { ...count, description: 'items without a run yet (the feeder queues them a window at a time)' },
    queued: count,
    running: count,
    succeeded: count,
    failed: count,
    skipped: { ...count, description: 'entities deleted before their run was queued' },
    cancelled: count,
    createdAt: { type: 'string', format: 'date-time' },
    createdBy: { type: 'object', properties: { type: { type: 'string' }, id: { type: 'string' }, name: { type: 'string' } } },
    startedAt: time,
    finishedAt: time,
    etaSeconds: { type: ['integer', 'null'], description: 'at the rate of the last few seconds; null while unknown or paused' },
  },
};
const item = {
  type: 'object',
  properties: {
    entityId: { type: 'string' },
    runId: { type: ['string', 'null'] },
    status: { enum: ['pending', 'queued', 'running', 'succeeded', 'failed', 'skipped', 'cancelled'] },
    error: { type: ['object', 'null'] },
    attempts: { type: 'integer' },
  },
};
const action = (summary: string) => ({ tags: ['batches'], summary, security: secured, params: idParams, response: { 202: batch, ...errors(401, 403, 404, 409) } });

export const batchDocs = {
  preview: { tags: ['batches'], summary: 'Count the entities a batch would run over, with a sample', security: secured, body, response: { 200: { type: 'object', properties: { total: count, sample: { type: 'array', items: { type: 'object' } } } }, ...errors(400, 401, 403, 404, 422) } },
  create: { tags: ['batches'], summary: 'Run a process over every entity the filter selects (the set is fixed now)', security: secured, body, response: { 201: batch, ...errors(400, 401, 403, 404, 409, 422) } },
  list: {
    tags: ['batches'],
    summary: 'List batches, newest first',
    security: secured,
    querystring: { type: 'object', properties: { limit: { type: 'integer' }, cursor: { type: 'string' }, process: key, status: { type: 'string', description: 'one batch status or several, comma-separated' } } },
    response: { 200: list(batch), ...errors(400, 401) },
  },
  get: { tags: ['batches'], summary: 'A batch and its progress', security: secured, params: idParams, response: { 200: batch, ...errors(401, 404) } },
  items: {
    tags: ['batches'],
    summary: 'Per-entity results of a batch, in selection order',
    security: secured,
    params: idParams,
    querystring: { type: 'object', properties: { limit: { type: 'integer' }, cursor: { type: 'string' }, status: { type: 'string', description: 'one item status or several, comma-separated' } } },
    response: { 200: list(item), ...errors(400, 401, 404) },
  },
  pause: action('Pause: no new run starts (queued runs are taken back); running runs finish'),
  resume: action('Resume a paused batch'),
  cancel: action('Cancel: items not started are cancelled; running runs finish'),
  retryFailed: action('Queue the failed items again'),
};
