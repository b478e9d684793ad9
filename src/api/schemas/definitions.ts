/** Schemas of POST /api/v1/apply and GET /api/v1/export (API.md "Definitions as code"). */
import { z } from 'zod';
import { EntityTypeBodySchema } from '../../domain/entity-type.js';
import { ProcessSchema } from '../../domain/process.js';
import { PutBody } from '../../engine/connections.js';
import { MAX_OBJECTS } from '../../engine/definitions/document.js';
import { ConnectionView } from './connections.js';
import { EntityTypeView } from './entity-types.js';
import { errors, FieldIssue, Key, secured } from './kit.js';
import { routeDocs } from './openapi.js';
import { ProcessExport } from './processes.js';

/**
 * The document POST /apply takes: engine/definitions/document.ts checks its outline, and each object is
 * validated by the parser of its own route (the schemas below are theirs, with the object's `key`).
 */
const section = <T extends z.ZodType>(item: T) => z.array(item).max(MAX_OBJECTS).nullable().optional();
const DefinitionsDocument = z.strictObject({
  entityTypes: section(EntityTypeBodySchema.extend({ key: Key })),
  connections: section(PutBody.extend({ key: Key })),
  processes: section(ProcessSchema.extend({ key: Key })),
});

const ExportDocument = z.object({
  entityTypes: z.array(EntityTypeView.omit({ version: true, createdAt: true, updatedAt: true })),
  connections: z.array(ConnectionView.omit({ createdAt: true, updatedAt: true })),
  processes: z.array(ProcessExport),
});

const ObjectRef = z.object({ kind: z.enum(['entityType', 'connection', 'process']), key: Key });
const Report = z.object({
  dryRun: z.boolean(),
  created: z.array(ObjectRef),
  updated: z.array(ObjectRef),
  unchanged: z.array(ObjectRef),
  deleted: z.array(ObjectRef).meta({ description: 'with prune: what was deleted' }),
  warnings: z.array(FieldIssue),
  diffs: z
    .array(ObjectRef.extend({ change: z.enum(['created', 'updated', 'deleted']), diff: z.string().meta({ description: "unified diff of the object's YAML" }) }))
    .meta({ description: 'dry run only' })
    .optional(),
});

const flag = z.enum(['true', 'false']).optional();
const tags = ['definitions'];
export const definitionDocs = {
  apply: routeDocs({
    tags,
    summary: 'Apply a definitions document (JSON or YAML) all or nothing; ?dryRun=true reports with diffs and writes nothing; ?prune=true also deletes what the document no longer has',
    security: secured,
    querystring: z.object({ dryRun: flag, prune: flag }),
    body: DefinitionsDocument,
    consumes: ['application/json', 'application/yaml'],
    response: { 200: Report, ...errors(400, 401, 403, 409) },
  }),
  export: routeDocs({
    tags,
    summary: 'Every entity type, connection (without secret values) and process, as the document POST /apply takes',
    security: secured,
    querystring: z.object({ format: z.enum(['json', 'yaml']).optional() }),
    response: {
      200: { description: 'The document (YAML with Accept: application/yaml or ?format=yaml)', content: { 'application/json': { schema: ExportDocument }, 'application/yaml': { schema: z.string() } } },
      ...errors(400, 401),
    },
  }),
};
