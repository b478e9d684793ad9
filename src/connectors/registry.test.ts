import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TASK_KINDS } from './registry.js';

test('the registry holds the task kinds by name', () => {
  assert.deepEqual([...TASK_KINDS.keys()].sort(), ['delay', 'dropbox.upload', 'entity.create', 'entity.update', 'http.request', 'hubspot.associate', 'hubspot.upsert']);
  for (const [name, kind] of TASK_KINDS) {
    assert.equal(kind.kind, name);
    assert.equal(typeof kind.run, 'function');
  }
});

test('every input schema refuses unknown fields', () => {
  for (const [name, kind] of TASK_KINDS) {
    const r = kind.inputSchema.safeParse({ surely_not_a_field: 1 });
    assert.equal(r.success, false, name);
    assert.ok(r.error!.issues.some((i) => i.code === 'unrecognized_keys'), `${name}: ${JSON.stringify(r.error!.issues)}`);
  }
});
