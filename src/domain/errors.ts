/**
 * The error catalogue: every error a client can see, with a stable string code and its HTTP status.
 * `docs/errors.md` is kept in sync with this list by a test (src/domain/errors.test.ts).
 */
export const ERRORS = {
  // 400 — the request itself is wrong
  BAD_REQUEST: { status: 400, message: 'The request is invalid.' },
  INVALID_JSON: { status: 400, message: 'The request body is not valid JSON.' },
  UNSUPPORTED_MEDIA_TYPE: { status: 415, message: 'The request body must be application/json (POST /apply also takes application/yaml).' },
  VALIDATION_FAILED: { status: 400, message: 'The request body does not match the expected shape.' },
  INVALID_QUERY: { status: 400, message: 'A query parameter is invalid.' },
  INVALID_CURSOR: { status: 400, message: 'The cursor is not one this server issued.' },
  INVALID_KEY: { status: 400, message: 'A key must match ^[a-z][a-z0-9_]{0,62}$.' },
  INVALID_IF_MATCH: { status: 400, message: 'If-Match must be a quoted entity version, e.g. "3".' },
  ENTITY_TYPE_INVALID: { status: 400, message: 'The entity type definition is invalid.' },
  EXPRESSION_INVALID: { status: 400, message: 'An expression is invalid.' },
  ATTRIBUTES_INVALID: { status: 400, message: 'One or more attributes are invalid.' },
  STATUS_UNKNOWN: { status: 400, message: 'The status is not one of the entity type’s statuses.' },
  PROCESS_INVALID: { status: 400, message: 'The process definition is invalid.' },
  CONNECTION_INVALID: { status: 400, message: 'The connection is invalid (unknown provider, or config or secrets that do not fit it).' },
  INVALID_YAML: { status: 400, message: 'The request body is not valid YAML.' },
  DEFINITIONS_INVALID: { status: 400, message: 'The definitions document is invalid; each problem names the object (kind and key) and the field.' },
  PAYLOAD_TOO_LARGE: { status: 413, message: 'The request body is too large.' },
  HEADERS_TOO_LARGE: { status: 431, message: 'The request line and headers are too large (at most 16 KB together): a path or query this long is not one this API serves.' },
  // 401 / 403
  UNAUTHENTICATED: { status: 401, message: 'A valid API key is required (Authorization: Bearer <key>).' },
  FORBIDDEN: { status: 403, message: 'This API key’s role does not allow this action.' },
  // 404
  NOT_FOUND: { status: 404, message: 'No such route.' },
  ENTITY_TYPE_NOT_FOUND: { status: 404, message: 'No entity type with this key.' },
  ENTITY_NOT_FOUND: { status: 404, message: 'No entity with this id.' },
  PROCESS_NOT_FOUND: { status: 404, message: 'No process with this key.' },
  RUN_NOT_FOUND: { status: 404, message: 'No run with this id.' },
  BATCH_NOT_FOUND: { status: 404, message: 'No batch with this id.' },
  BATCH_ENTITIES_NOT_FOUND: { status: 404, message: 'Some of the ids given in the batch filter are not entities of the process’s entity type; nothing was created.' },
  CONNECTION_NOT_FOUND: { status: 404, message: 'No connection with this key.' },
  API_KEY_NOT_FOUND: { status: 404, message: 'No API key with this id.' },
  METHOD_NOT_ALLOWED: { status: 405, message: 'This method is not allowed on this route.' },
  // 409
  VERSION_CONFLICT: { status: 409, message: 'The entity was changed by someone else (version mismatch).' },
  ENTITY_TYPE_IN_USE: { status: 409, message: 'The entity type still has entities or is used by a process.' },
  ENTITY_TYPE_CHANGED: { status: 409, message: 'The entity type changed while the save was in progress; retry.' },
  RUN_NOT_RETRYABLE: { status: 409, message: 'Only failed or cancelled runs can be retried.' },
  RUN_FINISHED: { status: 409, message: 'The run has already finished.' },
  BATCH_FINISHED: { status: 409, message: 'The batch has already finished (completed or cancelled).' },
  PROCESS_WRONG_ENTITY_TYPE: { status: 409, message: 'The process belongs to another entity type.' },
  PROCESS_DISABLED: { status: 409, message: 'The process is disabled; enable it to run it (dry runs still work).' },
  API_KEY_SELF_DELETE: { status: 409, message: 'An API key cannot delete itself.' },
  PRUNE_REFUSED: { status: 409, message: 'Pruning would delete definitions that entities, runs or processes still depend on; nothing was applied.' },
  CONNECTION_IN_USE: { status: 409, message: 'A process uses the connection (delete or change those tasks first).' },
  // 422 — the request is well formed but the rules refuse it
  ENTITY_REQUIREMENTS_FAILED: { status: 422, message: 'The save was refused by enforced requirements.' },
  TRANSITION_NOT_ALLOWED: { status: 422, message: 'There is no declared transition to the requested status.' },
  TRANSITION_REQUIREMENTS_UNMET: { status: 422, message: 'The requested transition’s requirements are not met.' },
  PROCESS_LOOP_DETECTED: { status: 422, message: 'A chain of process runs would pass a loop protection bound: re-entry of one process for one entity, depth, or fan-out.' },
  WHERE_TOO_EXPENSIVE: { status: 422, message: 'The where condition could not be evaluated within its time or memory limits; simplify it or narrow the list.' },
  BATCH_EMPTY: { status: 422, message: 'No entity matches the batch filter; no batch was created.' },
  TRANSITION_LOOP: { status: 422, message: 'Automatic transitions did not settle within the hop limit.' },
  // 429 / 5xx
  RATE_LIMITED: { status: 429, message: 'Too many requests.' },
  INTERNAL_ERROR: { status: 500, message: 'Something went wrong on the server.' },
  SERVICE_UNAVAILABLE: { status: 503, message: 'The server is shutting down or overloaded; retry.' },
  EXPRESSION_BUSY: { status: 503, message: 'The expression workers were busy for too long; nothing was evaluated or saved — retry.' },
  DATABASE_UNAVAILABLE: { status: 503, message: 'The connection to the database was lost or could not be opened; retry (a save may have been made: read it back before saving again).' },
} as const satisfies Record<string, { status: number; message: string }>;

export type ErrorCode = keyof typeof ERRORS;

/** An error meant for the client: stable code, HTTP status from the catalogue, human message, details. */
export class AppError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly details: unknown;

  constructor(code: ErrorCode, message?: string, details?: unknown) {
    super(message ?? ERRORS[code].message);
    this.name = 'AppError';
    this.code = code;
    this.status = ERRORS[code].status;
    this.details = details;
  }
}

/** One problem with one field of the input, as listed in `details` of 400 errors. */
export interface FieldIssue {
  /** Where the problem is, e.g. `attributes.total` or `transitions[2].to`. */
  path: string;
  /** Stable sub-code, e.g. `required`, `type`, `unknown`, `duplicate`. */
  code: string;
  message: string;
  [extra: string]: unknown;
}

/** Shorthand: a 400 of `code` listing field issues in `details.fields`. */
export function invalid(code: ErrorCode, issues: FieldIssue[], message?: string): AppError {
  const first = issues[0];
  const summary = message ?? (first ? `${ERRORS[code].message} ${first.path}: ${first.message}` : undefined);
  return new AppError(code, summary, { fields: issues });
}
