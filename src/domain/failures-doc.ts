/** Renders docs/failures.md from the failure catalogue (`npm run docs:failures`); a test keeps the file in sync. */
import { FAILURE_CODE_FAMILIES, FAILURE_CODES, type FailureCodeInfo } from './failure-codes.js';

const row = (code: string, f: FailureCodeInfo) => `| \`${code}\` | ${f.raisedBy} | ${f.retryable ? 'yes' : 'no'} | ${f.meaning} |`;

export function renderFailuresDoc(): string {
  const listed = Object.entries(FAILURE_CODES).map(([code, f]) => ({ code, f: f as FailureCodeInfo }));
  const section = (origin: FailureCodeInfo['origin']) => [
    ...listed.filter((e) => e.f.origin === origin).sort((a, b) => a.f.raisedBy.localeCompare(b.f.raisedBy) || a.code.localeCompare(b.code)).map((e) => row(e.code, e.f)),
    ...FAILURE_CODE_FAMILIES.filter((f) => f.origin === origin).map((f) => row(f.pattern, f)),
  ];
  const header = ['| code | raised by | retryable by default | meaning |', '|---|---|---|---|'];
  return [
    '# Failure codes',
    '',
    'When a step fails, the step and its run record a failure:',
    '`{"code": "STABLE_CODE", "message": "human text", "retryable": true, "origin": "engine" | "task", "retryAfterMs"?, "details"?, "cause"?}`.',
    'Codes are stable: build on them, not on messages. `retryable` says whether the engine tries the step',
    "again (within the process's `settings.retry.maxAttempts`); the table gives the default, and a few codes",
    'decide per case, as noted. `origin` says who raised it: the `engine` (the run, its process, its',
    'expressions, the step’s time limit) or the `task` (the task kind or its provider). `cause`, when',
    'present, is the underlying error: its `message`, and its `code` or `name`.',
    '',
    'These are failures of runs and steps (`GET /api/v1/runs/{id}`, the `run.updated` event). The errors',
    'the API answers requests with are in [errors.md](errors.md).',
    '',
    'This file is generated from `src/domain/failure-codes.ts` by `npm run docs:failures`; a test fails when',
    'they differ, and another when a failure code in the source is missing from the catalogue.',
    '',
    '## Raised by the engine',
    '',
    ...header,
    ...section('engine'),
    '',
    '## Raised by tasks',
    '',
    '`kit` codes come from any task kind that calls HTTP (hubspot.*, dropbox.*, http.request).',
    '',
    ...header,
    ...section('task'),
    '',
  ].join('\n');
}
