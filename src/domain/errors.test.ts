import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { AppError, ERRORS, invalid } from './errors.js';
import { renderErrorsDoc } from './errors-doc.js';

test('docs/errors.md matches the catalogue (run `npm run docs:errors` to update)', () => {
  const doc = readFileSync(new URL('../../docs/errors.md', import.meta.url), 'utf8');
  assert.equal(doc, renderErrorsDoc());
});

test('every code is SCREAMING_SNAKE and maps to an HTTP error status', () => {
  for (const [code, e] of Object.entries(ERRORS)) {
    assert.match(code, /^[A-Z][A-Z0-9_]+$/);
    assert.ok(e.status >= 400 && e.status < 600, code);
    assert.ok(e.message.length > 0, code);
  }
});

test('AppError carries code, status and details; invalid() lists fields', () => {
  const err = invalid('ATTRIBUTES_INVALID', [{ path: 'attributes.total', code: 'type', message: 'must be a number' }]);
  assert.ok(err instanceof AppError);
  assert.equal(err.status, 400);
  assert.match(err.message, /attributes\.total: must be a number/);
  assert.deepEqual(err.details, { fields: [{ path: 'attributes.total', code: 'type', message: 'must be a number' }] });
});
