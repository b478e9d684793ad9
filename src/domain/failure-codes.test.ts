import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import { FAILURE_CODE_FAMILIES, FAILURE_CODES, failureCodeInfo, withOrigin } from './failure-codes.js';
import { engineFailure, failure, toFailure } from './failure.js';
import { renderFailuresDoc } from './failures-doc.js';

const SRC = join(import.meta.dirname, '..');

test('docs/failures.md matches the catalogue (run `npm run docs:failures` to update)', () => {
  const doc = readFileSync(new URL('../../docs/failures.md', import.meta.url), 'utf8');
  assert.equal(doc, renderFailuresDoc());
});

test('every code is SCREAMING_SNAKE with a meaning and a known origin', () => {
  for (const [code, f] of Object.entries(FAILURE_CODES)) {
    assert.match(code, /^[A-Z][A-Z0-9_]+$/);
    assert.ok(f.meaning.length > 10, code);
    assert.ok(['engine', 'task'].includes(f.origin), code);
    assert.ok(f.origin === 'task' || f.raisedBy === 'engine', code);
  }
});

/** A code found in the source: the literal, or for a template like `HTTP_STATUS_${s}` its prefix and `template: true`. */
interface Found {
  code: string;
  template: boolean;
  where: string;
}

/**
 * The failure codes a source text creates: the first argument of failure(…), engineFailure(…) and
 * nonRetryable(…) (a literal, a template, or each branch of a conditional), and `code: '…'` values in
 * SCREAMING_SNAKE (failures built as objects, code tables).
 */
function failureCodesIn(text: string, file: string): Found[] {
  const found: Found[] = [];
  const line = (index: number) => `${file}:${text.slice(0, index).split('\n').length}`;
  const literals = (arg: string, index: number) => {
    for (const m of arg.matchAll(/(['"`])([A-Z][A-Z0-9_]+)(\$\{|\1)/g)) found.push({ code: m[2]!, template: m[3] === '${', where: line(index) });
  };
  for (const m of text.matchAll(/\b(?:failure|engineFailure|nonRetryable)\(\s*([^,)]*)/g)) literals(m[1]!, m.index);
  for (const m of text.matchAll(/\bcode:\s*([^,}\n]*)/g)) literals(m[1]!, m.index);
  return found;
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const path = join(dir, e.name);
    if (e.isDirectory()) return sourceFiles(path);
    return e.name.endsWith('.ts') && !e.name.endsWith('.test.ts') ? [path] : [];
  });
}

/** Where failures are made: the engine, the connectors, the failure type itself (src/expr's EXPR_* codes are expression outcomes, reported as EXPRESSION_FAILED's cause). */
function scanSource(): Found[] {
  const files = [...sourceFiles(join(SRC, 'engine')), ...sourceFiles(join(SRC, 'connectors')), join(SRC, 'domain', 'failure.ts')];
  return files.flatMap((f) => failureCodesIn(readFileSync(f, 'utf8'), relative(SRC, f)));
}

const declared = (f: Found) => (f.template ? FAILURE_CODE_FAMILIES.some((family) => family.matches(`${f.code}500`)) : failureCodeInfo(f.code) !== undefined);

test('every failure code created in src/ is in the catalogue', () => {
  const found = scanSource();
  const missing = found.filter((f) => !declared(f));
  assert.deepEqual(missing.map((f) => `${f.code}${f.template ? '${…}' : ''} (${f.where})`), [], 'add these to src/domain/failure-codes.ts, then run npm run docs:failures');
  // The scan sees what it must (a scan that finds nothing would pass the check above).
  const codes = new Set(found.map((f) => f.code));
  for (const code of ['STEP_TIMEOUT', 'PROCESS_VERSION_MISSING', 'EXPRESSION_FAILED', 'EXPRESSION_BUSY', 'TASK_ERROR', 'HUBSPOT_RATE_LIMIT', 'HUBSPOT_LINK_MISSING', 'DROPBOX_CONFLICT', 'HTTP_STATUS_', 'NETWORK_ERROR']) {
    assert.ok(codes.has(code), `the scan finds ${code}`);
  }
});

test('every code in the catalogue is created somewhere in src/ (no stale entries)', () => {
  const codes = new Set(scanSource().map((f) => f.code));
  assert.deepEqual(Object.keys(FAILURE_CODES).filter((c) => !codes.has(c)), []);
});

test('the scan reads literals, templates, conditionals, multi-line calls and code tables; an undeclared code is reported', () => {
  const text = [
    "throw failure('HUBSPOT_RATE_LIMIT', 'm', true);",
    'throw failure(\n    \'ACME_NEW_CODE\',\n    `x`, false);',
    'return failure(`HTTP_STATUS_${status}`, message, retryable);',
    "return engineFailure(busy ? 'EXPRESSION_BUSY' : 'ACME_OTHER', m, busy);",
    "const table = { conflict: { code: 'DROPBOX_CONFLICT', retryable: false } };",
    "issues.push({ path, code: 'type', message: 'x' });",
  ].join('\n');
  const found = failureCodesIn(text, 'fixture.ts');
  assert.deepEqual(
    found.map((f) => [f.code, f.template, f.where]),
    [
      ['HUBSPOT_RATE_LIMIT', false, 'fixture.ts:1'],
      ['ACME_NEW_CODE', false, 'fixture.ts:2'],
      ['HTTP_STATUS_', true, 'fixture.ts:5'],
      ['EXPRESSION_BUSY', false, 'fixture.ts:6'],
      ['ACME_OTHER', false, 'fixture.ts:6'],
      ['DROPBOX_CONFLICT', false, 'fixture.ts:7'],
    ],
  );
  assert.deepEqual(found.filter((f) => !declared(f)).map((f) => f.code), ['ACME_NEW_CODE', 'ACME_OTHER']);
});

test('families: HTTP statuses and the save refusals entity tasks pass on', () => {
  assert.equal(failureCodeInfo('HTTP_STATUS_503')?.origin, 'task');
  assert.equal(failureCodeInfo('HTTP_STATUS_5030'), undefined);
  assert.equal(failureCodeInfo('ENTITY_REQUIREMENTS_FAILED')?.raisedBy, 'entity');
  assert.equal(failureCodeInfo('INTERNAL_ERROR'), undefined, 'a 5xx API error is not a save refusal');
  assert.equal(failureCodeInfo('ACME_NOPE'), undefined);
});

test('origin: the failure’s own, else the catalogue’s, else task; engineFailure marks the engine’s', () => {
  assert.equal(withOrigin({ code: 'STEP_TIMEOUT', message: 'm', retryable: true }).origin, 'engine');
  assert.equal(withOrigin({ code: 'HUBSPOT_RATE_LIMIT', message: 'm', retryable: true }).origin, 'task');
  assert.equal(withOrigin({ code: 'ACME_NOPE', message: 'm', retryable: true }).origin, 'task');
  assert.equal(withOrigin(engineFailure('ENTITY_NOT_FOUND', 'the run’s entity was deleted', false)).origin, 'engine');
  assert.equal(failureCodeInfo('ENTITY_NOT_FOUND')?.origin, 'task', 'from a task unless the engine says so');
});

test('toFailure keeps the underlying error as `cause`', () => {
  const err = Object.assign(new TypeError('socket hang up'), { code: 'ECONNRESET' });
  assert.deepEqual(toFailure(err), { code: 'TASK_ERROR', message: 'socket hang up', retryable: true, cause: { message: 'socket hang up', name: 'TypeError', code: 'ECONNRESET' } });
  assert.deepEqual(toFailure('plain'), { code: 'TASK_ERROR', message: 'plain', retryable: true });
  const thrown = failure('HUBSPOT_CONFLICT', 'dup', false, { cause: { message: 'x', code: 'y' } });
  assert.deepEqual(toFailure(thrown), { code: 'HUBSPOT_CONFLICT', message: 'dup', retryable: false, cause: { message: 'x', code: 'y' } });
});
