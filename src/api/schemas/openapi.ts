/**
 * How a route declares its schemas, and how they become the OpenAPI document (served at /api/v1/openapi.json).
 *
 * A route's Fastify `schema` option is a RouteDocs: `params`, `querystring` and `body` are the zod schemas the
 * handler validates with (or, for definitions, the pieces the domain parsers validate with), and `response`
 * lists each status with the zod schema of what is sent. Nothing else describes the API: there is no second file.
 *
 * The zod schemas become JSON Schema (z.toJSONSchema, draft 2020-12: OpenAPI 3.1's dialect) only when the
 * document is generated — @fastify/swagger calls `transformRoute` on the first request for it — so startup
 * pays nothing. Fastify's own validation and serialisation stay off (app.ts): handlers validate with the zod
 * objects, so a refusal carries the catalogue's code and every field, and a response is sent whole.
 * test/api/openapi.test.ts checks that every route is documented and the document is valid OpenAPI 3.1; every
 * response the API suites get (test/support/app.ts `call`) is validated against the schema of its status.
 */
import type { SwaggerTransformObject } from '@fastify/swagger';
import { z } from 'zod';
import { ErrorBody } from './kit.js';

/** A response of another media type than JSON, or of several (Fastify's own shape for it). */
export interface Media {
  description: string;
  content: Record<string, { schema: z.ZodType }>;
}

export interface RouteDocs {
  tags: string[];
  summary: string;
  description?: string;
  /** `secured` (kit.ts) on every route that needs an API key. */
  security?: Array<Record<string, string[]>>;
  params?: z.ZodObject;
  querystring?: z.ZodObject;
  body?: z.ZodType;
  /** Media types of the body (default: application/json). */
  consumes?: string[];
  /**
   * The statuses the route answers with (a 204 with NoContent, errors with `errors(…)`). Any other status
   * (413, 415, 429, 500, 503…) is documented as `default`: the error body, added to every route.
   */
  response: Record<number, z.ZodType | Media>;
}

/** Types a route's docs (the object is passed to Fastify as its `schema`). */
export function routeDocs<T extends RouteDocs>(docs: T): T {
  return docs;
}

const REASONS: Record<number, string> = {
  200: 'OK', 201: 'Created', 202: 'Accepted', 204: 'No content',
  400: 'Invalid input: details.fields lists the problems', 401: 'No valid API key', 403: 'The role of the key may not do this',
  404: 'Not found', 409: 'Conflict with the current state', 413: 'Body too large', 422: 'Refused: details says why',
};

/** JSON Schema of a zod schema, without `$schema` (the document's dialect is 2020-12 already). */
export function jsonSchema(schema: z.ZodType, io: 'input' | 'output'): Record<string, unknown> {
  const { $schema: _, ...rest } = z.toJSONSchema(schema, { io, unrepresentable: 'any', override: dropSafeIntegerBounds }) as Record<string, unknown>;
  return rest;
}

/** `z.int()` says "a safe integer" with two 16-digit bounds on every integer: noise in a document for people. */
function dropSafeIntegerBounds({ jsonSchema: s }: { jsonSchema: Record<string, unknown> }): void {
  if (s.minimum === Number.MIN_SAFE_INTEGER) delete s.minimum;
  if (s.maximum === Number.MAX_SAFE_INTEGER) delete s.maximum;
}

const ERROR_REF = { $ref: '#/components/schemas/Error' };

function response(status: number, doc: z.ZodType | Media): Record<string, unknown> {
  if (!(doc instanceof z.ZodType)) {
    const content = Object.fromEntries(Object.entries(doc.content).map(([type, m]) => [type, { schema: jsonSchema(m.schema, 'output') }]));
    return { description: doc.description, content };
  }
  const description = doc.description ?? REASONS[status] ?? 'Response';
  if (doc instanceof z.ZodNull) return { type: 'null', description };
  const schema = doc === ErrorBody ? ERROR_REF : jsonSchema(doc, 'output');
  return { description, content: { 'application/json': { schema } } };
}

function isRouteDocs(schema: unknown): schema is RouteDocs {
  const r = (schema as { response?: Record<string, unknown> } | undefined)?.response;
  return r !== undefined && Object.values(r).some((v) => v instanceof z.ZodType || (v as Partial<Media>).content !== undefined);
}

/** @fastify/swagger's `transform`: a RouteDocs becomes the JSON Schema route schema swagger documents. */
export function transformRoute({ schema, url }: { schema: unknown; url: string }): { schema: Record<string, unknown>; url: string } {
  if (!isRouteDocs(schema)) return { schema: schema as Record<string, unknown>, url };
  const { params, querystring, body, consumes, response: responses, ...rest } = schema;
  const out: Record<string, unknown> = { ...rest };
  if (params) out.params = jsonSchema(params, 'input');
  if (querystring) out.querystring = jsonSchema(querystring, 'input');
  if (body) {
    const s = jsonSchema(body, 'input');
    out.body = { content: Object.fromEntries((consumes ?? ['application/json']).map((type) => [type, { schema: s }])) };
  }
  out.response = Object.fromEntries(Object.entries(responses).map(([status, doc]) => [status, response(Number(status), doc)]));
  (out.response as Record<string, unknown>).default = { description: 'Any other status: an error (docs/errors.md)', content: { 'application/json': { schema: ERROR_REF } } };
  return { schema: out, url };
}

type Operation = { requestBody?: { required?: boolean; content: Record<string, { schema: { required?: string[] } }> } };
type Document = { paths?: Record<string, Record<string, Operation>>; components?: { schemas?: Record<string, unknown> } };

/**
 * @fastify/swagger's `transformObject`: adds the shared error body (components.schemas.Error), and marks a
 * body optional when its schema requires nothing (the routes take no body as `{}`; swagger marks every body required).
 */
export const transformDocument: SwaggerTransformObject = (documentObject) => {
  if (!('openapiObject' in documentObject)) return documentObject.swaggerObject;
  const doc = documentObject.openapiObject as Document;
  for (const operations of Object.values(doc.paths ?? {})) {
    for (const op of Object.values(operations)) {
      const body = op.requestBody;
      if (body && Object.values(body.content).every((m) => !m.schema.required?.length)) body.required = false;
    }
  }
  const components = doc.components ?? {};
  return { ...documentObject.openapiObject, components: { ...components, schemas: { ...components.schemas, Error: jsonSchema(ErrorBody, 'output') } } } as ReturnType<SwaggerTransformObject>;
};
