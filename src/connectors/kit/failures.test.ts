import { test } from 'node:test';
import assert from 'node:assert/strict';
import { failureForResponse, failureForSaveError, parseRetryAfter, messageOf } from './failures.js';
import { TaskFailure } from '../../domain/failure.js';

const NOW = Date.parse('2025-03-01T12:00:00Z');

test('parseRetryAfter reads delta-seconds and HTTP-dates', () => {
  assert.equal(parseRetryAfter('1', NOW), 1000);
  assert.equal(parseRetryAfter(' 120 ', NOW), 120_000);
  assert.equal(parseRetryAfter('0', NOW), 0);
  assert.equal(parseRetryAfter('1.5', NOW), 1500, 'decimals are tolerated');
  assert.equal(parseRetryAfter('Sat, 01 Mar 2025 12:00:30 GMT', NOW), 30_000);
  assert.equal(parseRetryAfter('Sat, 01 Mar 2025 11:00:00 GMT', NOW), 0, 'a past date means now');
});

test('parseRetryAfter gives undefined for missing or unreadable values', () => {
  for (const v of [undefined, null, '', '  ', 'soon', '-5', '1e3', 'NaN']) assert.equal(parseRetryAfter(v, NOW), undefined, String(v));
});

test('429 is HTTP_429, retryable, with Retry-After', () => {
  const f = failureForResponse(429, { 'retry-after': '2' }, { message: 'slow down' }, 'POST http://x/y').failure;
  assert.equal(f.code, 'HTTP_429');
  assert.equal(f.retryable, true);
  assert.equal(f.retryAfterMs, 2000);
  assert.match(f.message, /POST http:\/\/x\/y answered 429: slow down/);
});

test('429 without Retry-After has no retryAfterMs', () => {
  const f = failureForResponse(429, {}, '', 'GET u').failure;
  assert.equal(f.retryable, true);
  assert.equal('retryAfterMs' in f, false);
});

test('5xx are HTTP_STATUS_<n> and retryable; 503 honours Retry-After, 500 does not', () => {
  const f503 = failureForResponse(503, { 'retry-after': '3' }, 'down', 'GET u').failure;
  assert.deepEqual([f503.code, f503.retryable, f503.retryAfterMs], ['HTTP_STATUS_503', true, 3000]);
  const f500 = failureForResponse(500, { 'retry-after': '3' }, 'oops', 'GET u').failure;
  assert.deepEqual([f500.code, f500.retryable, f500.retryAfterMs], ['HTTP_STATUS_500', true, undefined]);
});

test('408 is retryable; other 4xx are not and carry the body', () => {
  assert.equal(failureForResponse(408, {}, '', 'GET u').failure.retryable, true);
  const f = failureForResponse(422, {}, { error: { message: 'email is invalid', field: 'email' } }, 'POST u').failure;
  assert.equal(f.code, 'HTTP_STATUS_422');
  assert.equal(f.retryable, false);
  assert.match(f.message, /email is invalid/);
  assert.deepEqual(f.details, { status: 422, body: { error: { message: 'email is invalid', field: 'email' } } });
});

test('messages and details are clipped', () => {
  const long = 'x'.repeat(10_000);
  const f = failureForResponse(400, {}, long, 'GET u').failure;
  assert.ok(f.message.length < 600);
  assert.ok(((f.details as { body: string }).body).length <= 4001);
  const big = { items: Array.from({ length: 1000 }, (_, i) => ({ i })) };
  assert.equal(typeof (failureForResponse(400, {}, big, 'GET u').failure.details as { body: unknown }).body, 'string');
});

test('messageOf finds the usual fields', () => {
  assert.equal(messageOf({ message: 'a' }), 'a');
  assert.equal(messageOf({ error: 'b' }), 'b');
  assert.equal(messageOf({ error: { message: 'c' } }), 'c');
  assert.equal(messageOf({ errors: [{ message: 'd' }] }), 'd');
  assert.equal(messageOf({ detail: 'e', title: 'f' }), 'e');
  assert.equal(messageOf({ other: 1 }), '{"other":1}');
  assert.equal(messageOf(''), undefined);
});

test('failureForSaveError maps 4xx refusals, VERSION_CONFLICT retryable', () => {
  const refusal = Object.assign(new Error('requirements failed'), { code: 'ENTITY_REQUIREMENTS_FAILED', status: 422, details: { requirements: ['x'] } });
  const f = failureForSaveError(refusal);
  assert.ok(f instanceof TaskFailure);
  assert.deepEqual(f.failure, { code: 'ENTITY_REQUIREMENTS_FAILED', message: 'requirements failed', retryable: false, details: { requirements: ['x'] } });
  const conflict = failureForSaveError(Object.assign(new Error('changed'), { code: 'VERSION_CONFLICT', status: 409 }));
  assert.ok(conflict instanceof TaskFailure);
  assert.equal(conflict.failure.retryable, true);
});

test('failureForSaveError leaves other errors alone', () => {
  const boom = new Error('disk full');
  assert.equal(failureForSaveError(boom), boom);
  const internal = Object.assign(new Error('x'), { code: 'INTERNAL_ERROR', status: 500 });
  assert.equal(failureForSaveError(internal), internal);
  const sqlite = Object.assign(new Error('busy'), { code: 'SQLITE_BUSY' });
  assert.equal(failureForSaveError(sqlite), sqlite);
  assert.equal(failureForSaveError('str'), 'str');
});
