/**
 * Checks real responses against the OpenAPI document: finds the operation of a request (path template and
 * method), the response declared for its status, and validates a JSON body with Ajv (JSON Schema 2020-12,
 * formats checked). Records which operations answered, so a test can ask what was never exercised.
 */
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import type { LightMyRequestResponse } from 'fastify';

type Schema = Record<string, unknown>;
interface Operation {
  summary?: string;
  responses?: Record<string, { description: string; content?: Record<string, { schema: Schema }> }>;
}
export interface OpenApiDocument {
  openapi: string;
  paths: Record<string, Record<string, Operation>>;
  components: { schemas: Record<string, Schema> };
}

const addFormats = addFormatsModule as unknown as (ajv: Ajv2020) => Ajv2020;

/** An Ajv for the document's schemas; `#/components/schemas/X` refs resolve to the document's components. */
export function documentAjv(doc: OpenApiDocument): { ajv: Ajv2020; local(schema: Schema): Schema } {
  const ajv = new Ajv2020({ strict: true, strictTypes: false, allErrors: true });
  addFormats(ajv);
  for (const [name, schema] of Object.entries(doc.components.schemas ?? {})) ajv.addSchema(schema, `components-${name}`);
  const local = (schema: Schema): Schema => JSON.parse(JSON.stringify(schema).replaceAll('"#/components/schemas/', '"components-'));
  return { ajv, local };
}

/** `/api/v1/runs/{id}` → a RegExp matching `/api/v1/runs/01k…`; literal segments weigh more (no `{id}` shadows `/steps`). */
function matcher(template: string): { re: RegExp; literals: number } {
  const parts = template.split('/');
  const re = new RegExp(`^${parts.map((p) => (p.startsWith('{') ? '[^/]+' : p.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))).join('/')}$`);
  return { re, literals: parts.filter((p) => !p.startsWith('{')).length };
}

export interface ResponseCheck {
  /** Validates `res` (of `method` on `url`) against the document; throws with the route, status and Ajv's errors. */
  check(method: string, url: string, res: LightMyRequestResponse): void;
  /** `METHOD /template` of every operation that has answered with a 2xx so far. */
  answered: Set<string>;
}

/**
 * With `skipUnknown`, requests that reach no operation of the document are let through unchecked: paths
 * that are no route (the 404 of a typo), HEAD, and what is not the API (the document, its page, the console).
 */
export function responseChecker(doc: OpenApiDocument, options: { skipUnknown?: boolean } = {}): ResponseCheck {
  const { ajv, local } = documentAjv(doc);
  const templates = Object.keys(doc.paths).map((t) => ({ t, ...matcher(t) }));
  const compiled = new Map<string, ReturnType<Ajv2020['compile']>>();
  const answered = new Set<string>();
  return {
    answered,
    check(method, url, res) {
      const path = url.split('?')[0]!;
      const found = templates.filter((x) => x.re.test(path)).sort((a, b) => b.literals - a.literals)[0];
      const m = method.toLowerCase();
      const op = found && doc.paths[found.t]![m];
      if (!found || !op) {
        if (options.skipUnknown && (res.statusCode === 404 || m === 'head' || NOT_API(path))) return;
        throw new Error(`${method} ${path} answered ${res.statusCode} but the OpenAPI document has no such operation`);
      }
      const name = `${method.toUpperCase()} ${found.t}`;
      const declared = op.responses?.[String(res.statusCode)] ?? (res.statusCode >= 400 ? op.responses?.default : undefined);
      if (!declared) throw new Error(`${name} answered ${res.statusCode}, a status its schema does not declare (declared: ${Object.keys(op.responses ?? {}).join(', ')}); body: ${res.body.slice(0, 300)}`);
      if (res.statusCode >= 200 && res.statusCode < 300) answered.add(name);
      const type = String(res.headers['content-type'] ?? '').split(';')[0]!.trim();
      if (!declared.content) {
        if (res.body !== '') throw new Error(`${name} ${res.statusCode} declares no body but sent ${res.body.slice(0, 200)}`);
        return;
      }
      const media = declared.content[type];
      if (!media) throw new Error(`${name} ${res.statusCode} sent ${type || 'no content type'}; declared: ${Object.keys(declared.content).join(', ')}`);
      if (type !== 'application/json') return;
      const key = `${name} ${res.statusCode}`;
      let validate = compiled.get(key);
      if (!validate) compiled.set(key, (validate = ajv.compile(local(media.schema))));
      if (!validate(res.json())) {
        throw new Error(`${key}: the body does not match its declared schema:\n${ajv.errorsText(validate.errors, { separator: '\n' })}\nbody: ${res.body.slice(0, 1000)}`);
      }
    },
  };
}

/** Routes that are not the API: the document itself, its browsable page and the console. */
const NOT_API = (url: string) => url === '/api/v1/openapi.json' || url.startsWith('/api/v1/docs') || !url.startsWith('/api/');

/** `/api/v1/entities/:type/:id` → `/api/v1/entities/{type}/{id}`. */
export const openapiPath = (url: string): string => url.replace(/:([A-Za-z_]+)/g, '{$1}');

/** The API's routes as `{method, url}` (lower-case method, HEAD left out: Fastify adds it to every GET). */
export function apiRoutes(routes: Array<{ method: string | string[]; url: string }>): Array<{ method: string; url: string }> {
  return routes
    .flatMap((r) => (Array.isArray(r.method) ? r.method : [r.method]).map((m) => ({ method: m.toLowerCase(), url: r.url })))
    .filter((r) => r.method !== 'head' && !NOT_API(r.url));
}

/** What is wrong with the document's entry of each route: missing, no summary, no success response with a schema. */
export function undocumented(routes: Array<{ method: string; url: string }>, doc: OpenApiDocument): string[] {
  const how = 'give the route `schema: <resource>Docs.<name>` from src/api/schemas/ (see src/api/schemas/openapi.ts)';
  return routes.flatMap(({ method, url }) => {
    const name = `${method.toUpperCase()} ${url}`;
    const op = doc.paths[openapiPath(url)]?.[method];
    if (!op) return [`${name} is not in the OpenAPI document: ${how}`];
    if (!op.summary) return [`${name} has no summary in the OpenAPI document: ${how}`];
    const success = Object.entries(op.responses ?? {}).some(([s, r]) => /^2\d\d$/.test(s) && (r.content !== undefined || s === '204'));
    return success ? [] : [`${name} declares no success response with a schema: ${how}`];
  });
}
