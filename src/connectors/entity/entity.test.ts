import { test } from 'node:test';
import assert from 'node:assert/strict';
import { entityUpdate, EntityUpdateInputSchema } from './update.js';
import { entityCreate, EntityCreateInputSchema } from './create.js';
import type { EntitySaveOutcome } from '../types.js';
import { failureOf, taskContext } from '../../../test/support/connection-context.js';

type Call = ['update', unknown] | ['create', string, unknown];

function context(result: () => Promise<EntitySaveOutcome>) {
  const calls: Call[] = [];
  const ctx = taskContext(undefined, { status: 'received', version: 3 }, undefined, 'mark', {
    update: (change) => (calls.push(['update', change]), result()),
    create: (type, body) => (calls.push(['create', type, body]), result()),
  });
  return { ctx, calls };
}

const outcome: EntitySaveOutcome = {
  entity: { id: 'ent_1', type: 'order', status: 'approved', version: 4, attributes: { total: 5 } },
  statusPath: ['received', 'approved'],
  queuedRuns: [{ id: 'run_2', process: 'notify' }],
};
const ok = () => Promise.resolve(outcome);
const refuse = (code: string, status: number, details?: unknown) => () =>
  Promise.reject(Object.assign(new Error(`refused: ${code}`), { code, status, details }));


const expectedOutput = { id: 'ent_1', type: 'order', version: 4, status: 'approved', statusPath: ['received', 'approved'], queuedRuns: [{ id: 'run_2', process: 'notify' }] };

test('entity.update saves attributes and status and outputs the save', async () => {
  const { ctx, calls } = context(ok);
  assert.deepEqual(await entityUpdate.run({ attributes: { deal_id: 'd1' }, status: 'approved' }, ctx), expectedOutput);
  assert.deepEqual(calls, [['update', { attributes: { deal_id: 'd1' }, status: 'approved' }]]);
});

test('entity.update with only a status sends no attributes', async () => {
  const { ctx, calls } = context(ok);
  await entityUpdate.run({ status: 'approved' }, ctx);
  assert.deepEqual(calls, [['update', { status: 'approved' }]]);
});

test('entity.update: attributes that do not evaluate to an object are INVALID_INPUT, and nothing is saved', async () => {
  for (const input of [{ attributes: 'text' }, { attributes: [1] }, { attributes: null }, { attributes: undefined, status: 'approved' }, {}]) {
    const { ctx, calls } = context(ok);
    const f = await failureOf(entityUpdate.run(input, ctx));
    assert.deepEqual([f.code, f.retryable], ['INVALID_INPUT', false], JSON.stringify(input));
    assert.equal(calls.length, 0);
  }
});

test('save refusals become failures: rules are non-retryable, VERSION_CONFLICT retryable', async () => {
  for (const [code, status, retryable] of [
    ['ENTITY_REQUIREMENTS_FAILED', 422, false],
    ['TRANSITION_NOT_ALLOWED', 422, false],
    ['PROCESS_LOOP_DETECTED', 422, false],
    ['ATTRIBUTES_INVALID', 400, false],
    ['VERSION_CONFLICT', 409, true],
  ] as const) {
    const { ctx } = context(refuse(code, status, { fields: [{ path: 'total' }] }));
    const f = await failureOf(entityUpdate.run({ attributes: { total: -1 } }, ctx));
    assert.deepEqual(f, { code, message: `refused: ${code}`, retryable, details: { fields: [{ path: 'total' }] } });
  }
});

test('other errors propagate unchanged (the engine treats them as TASK_ERROR)', async () => {
  const boom = new Error('database is locked');
  const { ctx } = context(() => Promise.reject(boom));
  await assert.rejects(entityUpdate.run({ status: 'approved' }, ctx), (err) => err === boom);
  const internal = Object.assign(new Error('x'), { code: 'INTERNAL_ERROR', status: 500 });
  await assert.rejects(entityCreate.run({ entityType: 'invoice', attributes: {} }, context(() => Promise.reject(internal)).ctx), (err) => err === internal);
});

test('entity.create creates with type, attributes and status and outputs the save', async () => {
  const { ctx, calls } = context(ok);
  assert.deepEqual(await entityCreate.run({ entityType: 'invoice', attributes: { total: 5 }, status: 'draft' }, ctx), expectedOutput);
  assert.deepEqual(calls, [['create', 'invoice', { attributes: { total: 5 }, status: 'draft' }]]);
  await entityCreate.run({ entityType: 'invoice', attributes: {} }, ctx);
  assert.deepEqual(calls[1], ['create', 'invoice', { attributes: {} }]);
});

test('entity.create: attributes must evaluate to an object; refusals map like update', async () => {
  const f = await failureOf(entityCreate.run({ entityType: 'invoice', attributes: 'x' }, context(ok).ctx));
  assert.deepEqual([f.code, f.retryable], ['INVALID_INPUT', false]);
  const g = await failureOf(entityCreate.run({ entityType: 'invoice', attributes: {} }, context(refuse('ENTITY_TYPE_NOT_FOUND', 404)).ctx));
  assert.deepEqual([g.code, g.retryable], ['ENTITY_TYPE_NOT_FOUND', false]);
});

test('input schemas', () => {
  const good = (s: typeof EntityUpdateInputSchema | typeof EntityCreateInputSchema, v: unknown) => assert.equal(s.safeParse(v).success, true, JSON.stringify(v));
  const bad = (s: typeof EntityUpdateInputSchema | typeof EntityCreateInputSchema, v: unknown) => assert.equal(s.safeParse(v).success, false, JSON.stringify(v));
  good(EntityUpdateInputSchema, { attributes: "{ 'deal_id': tasks.deal.output.id }" });
  good(EntityUpdateInputSchema, { attributes: { deal_id: 'tasks.deal.output.id', count: 2 } });
  good(EntityUpdateInputSchema, { status: 'approved' });
  good(EntityUpdateInputSchema, { attributes: '{}', status: 'approved' });
  bad(EntityUpdateInputSchema, {});
  bad(EntityUpdateInputSchema, { status: 'Approved' });
  bad(EntityUpdateInputSchema, { status: "'approved'" });
  bad(EntityUpdateInputSchema, { attributes: '' });
  bad(EntityUpdateInputSchema, { attributes: 5 });
  bad(EntityUpdateInputSchema, { status: 'a', other: 1 });
  good(EntityCreateInputSchema, { entityType: 'invoice', attributes: "{ 'order_id': entity.id }" });
  good(EntityCreateInputSchema, { entityType: 'invoice', attributes: {}, status: 'draft' });
  bad(EntityCreateInputSchema, { attributes: '{}' });
  bad(EntityCreateInputSchema, { entityType: 'invoice' });
  bad(EntityCreateInputSchema, { entityType: 'Invoice', attributes: '{}' });
  bad(EntityCreateInputSchema, { entityType: 'invoice', attributes: '{}', extra: true });
  assert.deepEqual(entityUpdate.expressionFields, ['attributes']);
  assert.deepEqual(entityCreate.expressionFields, ['attributes']);
  assert.equal(entityUpdate.connection, undefined);
});
