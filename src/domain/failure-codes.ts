/**
 * The failure catalogue: every code a run or a step can fail with, what it means, whether repeating the
 * step can help by default, and who raises it — the engine (`origin: 'engine'`: the process, its
 * expressions, the step's time limit) or a task kind (`origin: 'task'`: a connector reporting what the
 * provider or the input said). `docs/failures.md` is generated from this list (`npm run docs:failures`)
 * and a test keeps it in sync; another test scans src/ for failure codes and fails on any missing here.
 *
 * `retryable` is the default: a few codes decide per case (noted in `meaning`), and the failure a step
 * records always carries its own `retryable`, which is what the engine acts on.
 */
import { ERRORS } from './errors.js';
import type { Failure, FailureOrigin } from './failure.js';

export interface FailureCodeInfo {
  /** Who raises it: the engine, or a task kind. */
  origin: FailureOrigin;
  /** Which part raises it: `engine`, a provider (`hubspot`, `dropbox`, `http`), `entity`, `delay`, `kit` (any task that calls HTTP), `any task`. */
  raisedBy: string;
  /** Whether repeating the step can succeed, by default. */
  retryable: boolean;
  meaning: string;
}

const engine = (retryable: boolean, meaning: string): FailureCodeInfo => ({ origin: 'engine', raisedBy: 'engine', retryable, meaning });
const task = (raisedBy: string, retryable: boolean, meaning: string): FailureCodeInfo => ({ origin: 'task', raisedBy, retryable, meaning });

export const FAILURE_CODES = {
  // The engine: the run itself, its process, expressions, time limits
  PROCESS_VERSION_MISSING: engine(false, 'The process version the run was started with no longer exists.'),
  ENTITY_NOT_FOUND: task('entity', false, "The run's entity was deleted (raised by the engine between steps), or a task named an entity that does not exist."),
  TASK_KIND_UNKNOWN: engine(false, 'The task kind is not available in this installation.'),
  EXPRESSION_FAILED: engine(false, "A task's `when` or input expression failed (its own error or its time limit); `cause.code` is the expression error code (EXPR_*)."),
  EXPRESSION_BUSY: engine(true, 'The expression workers were busy for too long: nothing was evaluated; the step is tried again.'),
  STEP_TIMEOUT: engine(true, "The step took longer than the process's `settings.timeoutMs`."),
  BATCH_OUTCOME_MISSING: engine(true, "A grouped provider call (docs/provider-batching.md) gave no outcome for this step's record; the step is tried again."),
  CONNECTION_NOT_FOUND: engine(false, "The task's connection was deleted."),
  CONNECTION_SECRETS_UNREADABLE: engine(false, "The connection's stored secrets cannot be decrypted with the configured secret key."),
  LINKS_UNAVAILABLE: engine(false, 'Links were asked for outside the steps of a run (a connection test).'),
  // Any task kind
  TASK_ERROR: task('any task', true, 'A task kind threw an unexpected error; `cause` holds its name, message and code. Retryable: most such errors are transient.'),
  INVALID_INPUT: task('any task', false, "The task's evaluated input does not fit the task kind (a wrong type, a missing field, a bad URL or date)."),
  LINK_INVALID: task('any task', false, 'A task tried to store a link with an empty or too long external type or id.'),
  CONNECTION_REQUIRED: task('hubspot, dropbox', false, 'The task kind needs a connection and the task has none.'),
  CONNECTION_INVALID: task('hubspot, dropbox, http', false, 'The connection is of another provider, or its config or secrets do not fit it.'),
  // HTTP, shared by every task kind that calls a provider (connectors/kit)
  TIMEOUT: task('kit', true, 'The request (or a connection test) took longer than its time limit.'),
  ABORTED: task('kit', true, 'The request was aborted (the worker stopped): the step is resumed elsewhere.'),
  NETWORK_ERROR: task('kit', true, 'The request did not get an answer (refused, reset, DNS); `cause.code` is the system or undici code.'),
  HTTP_REDIRECT_REFUSED: task('kit', false, 'A redirect to another scheme (e.g. https → http) was refused.'),
  HTTP_ADDRESS_DENIED: task('kit', false, 'The host resolved to an address that STATUSFLOW_HTTP_DENY refuses.'),
  HTTP_429: task('kit', true, 'The server answered 429 Too Many Requests; its Retry-After is honoured.'),
  // http.request
  HTTP_UNEXPECTED_STATUS: task('http', false, 'The answer was a success status but not one of the task’s `expectStatus`.'),
  HTTP_AUTHENTICATION: task('http', false, "The server answered 401 or 403 to the connection's headers."),
  // hubspot.*
  HUBSPOT_VALIDATION_ERROR: task('hubspot', false, 'HubSpot refused the request (400): a property or value it does not accept.'),
  HUBSPOT_AUTHENTICATION: task('hubspot', false, "HubSpot did not accept the connection's access token (401)."),
  HUBSPOT_MISSING_SCOPES: task('hubspot', false, "The connection's access token lacks a scope the call needs (403)."),
  HUBSPOT_OBJECT_NOT_FOUND: task('hubspot', false, 'HubSpot found no such record (404).'),
  HUBSPOT_CONFLICT: task('hubspot', false, 'HubSpot refused the request as a conflict (409), e.g. a duplicate unique value.'),
  HUBSPOT_DAILY_LIMIT: task('hubspot', false, "The account's daily request quota is used up; it resets at midnight in the account's time zone."),
  HUBSPOT_RATE_LIMIT: task('hubspot', true, "HubSpot's rate limit was reached (429); the step waits as asked."),
  HUBSPOT_SERVER_ERROR: task('hubspot', true, 'HubSpot answered 5xx.'),
  HUBSPOT_REQUEST_FAILED: task('hubspot', false, 'HubSpot answered another error status (retryable for 408).'),
  HUBSPOT_UNEXPECTED_RESPONSE: task('hubspot', true, 'HubSpot answered a success without the record id.'),
  HUBSPOT_UNIQUE_PROPERTY_MISSING: task('hubspot', false, 'hubspot.upsert needs a unique property holding the entity id (connection `uniqueProperties` or task `idProperty`).'),
  HUBSPOT_LINK_MISSING: task('hubspot', false, 'hubspot.associate needs the entity to have a HubSpot record (run a hubspot.upsert for it first).'),
  // dropbox.*
  DROPBOX_BAD_REQUEST: task('dropbox', false, 'Dropbox refused the request as malformed (400).'),
  DROPBOX_AUTHENTICATION: task('dropbox', false, "Dropbox did not accept the connection's access token (401); retryable when it had just been refreshed."),
  DROPBOX_MISSING_SCOPE: task('dropbox', false, 'The Dropbox app lacks a scope the call needs.'),
  DROPBOX_ACCESS_DENIED: task('dropbox', false, 'Dropbox denied the call to this connection (403).'),
  DROPBOX_CONFLICT: task('dropbox', false, 'Something is already at the path (409 conflict): use mode overwrite or update.'),
  DROPBOX_NOT_FOUND: task('dropbox', false, 'There is nothing at the path.'),
  DROPBOX_INVALID_PATH: task('dropbox', false, 'The path or name is not one Dropbox allows.'),
  DROPBOX_NO_PERMISSION: task('dropbox', false, 'The account may not write to the path.'),
  DROPBOX_INSUFFICIENT_SPACE: task('dropbox', false, 'The Dropbox account has no space left.'),
  DROPBOX_PAYLOAD_TOO_LARGE: task('dropbox', false, 'The content is over 150 MiB.'),
  DROPBOX_TOO_MANY_WRITE_OPERATIONS: task('dropbox', true, 'Too many writes at once in this Dropbox.'),
  DROPBOX_ROUTE_ERROR: task('dropbox', false, 'Dropbox refused the call with another route error (409); `details.tags` says which.'),
  DROPBOX_RATE_LIMIT: task('dropbox', true, 'Dropbox asked to slow down (429); the step waits as asked.'),
  DROPBOX_SERVER_ERROR: task('dropbox', true, 'Dropbox answered 5xx.'),
  DROPBOX_REQUEST_FAILED: task('dropbox', false, 'Dropbox answered another error status (retryable for 408).'),
  DROPBOX_UNEXPECTED_RESPONSE: task('dropbox', true, 'Dropbox answered a success without the expected metadata or URL.'),
  DROPBOX_SHARED_LINK_MISSING: task('dropbox', true, 'Dropbox says the file has a shared link but lists none.'),
} as const satisfies Record<string, FailureCodeInfo>;

export type FailureCode = keyof typeof FAILURE_CODES;

/** Codes made from a pattern rather than listed one by one. */
export const FAILURE_CODE_FAMILIES: ReadonlyArray<FailureCodeInfo & { pattern: string; matches(code: string): boolean }> = [
  {
    pattern: 'HTTP_STATUS_<status>',
    matches: (code) => /^HTTP_STATUS_[1-5]\d\d$/.test(code),
    ...task('kit', false, 'The server answered this HTTP status (other than 429). Retryable for 5xx and 408.'),
  },
  {
    pattern: '<API error code>',
    matches: (code) => code in ERRORS && ERRORS[code as keyof typeof ERRORS].status < 500,
    ...task('entity', false, 'entity.update / entity.create: the save was refused with this code of [errors.md](errors.md) (e.g. ENTITY_REQUIREMENTS_FAILED, TRANSITION_NOT_ALLOWED). Retryable only for VERSION_CONFLICT and ENTITY_TYPE_CHANGED.'),
  },
];

/** The catalogue entry of a code (listed, or of a family), or undefined for a code nobody declared. */
export function failureCodeInfo(code: string): FailureCodeInfo | undefined {
  if (Object.hasOwn(FAILURE_CODES, code)) return FAILURE_CODES[code as FailureCode];
  return FAILURE_CODE_FAMILIES.find((f) => f.matches(code));
}

/** The failure with its `origin`: its own when it has one, else the catalogue's (an undeclared code is a task's). */
export function withOrigin(f: Failure): Failure & { origin: FailureOrigin } {
  return f.origin ? (f as Failure & { origin: FailureOrigin }) : { ...f, origin: failureCodeInfo(f.code)?.origin ?? 'task' };
}
