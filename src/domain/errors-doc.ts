/** Renders docs/errors.md from the catalogue (`npm run docs:errors`); a test keeps the file in sync. */
import { ERRORS } from './errors.js';

export function renderErrorsDoc(): string {
  const rows = Object.entries(ERRORS)
    .sort(([a, x], [b, y]) => x.status - y.status || a.localeCompare(b))
    .map(([code, e]) => `| \`${code}\` | ${e.status} | ${e.message} |`);
  return [
    '# Error codes',
    '',
    'Every error response has the shape `{"error": {"code": "STABLE_CODE", "message": "human text", "details": ...}}`.',
    'Codes are stable: build on them, not on messages. `details` depends on the code: 400 validation errors list',
    '`details.fields` (`path`, `code`, `message`, and for expressions `line`, `column`, `caret`); 422 refusals list',
    '`details.requirements` (`key`, `message`).',
    '',
    'This file is generated from `src/domain/errors.ts` by `npm run docs:errors`; a test fails when they differ.',
    '',
    '| code | HTTP status | meaning |',
    '|---|---|---|',
    ...rows,
    '',
  ].join('\n');
}
