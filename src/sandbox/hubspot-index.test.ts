import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PropertyIndex } from './hubspot-index.js';
import type { HubSpotObject, HubSpotObjectType } from './hubspot-model.js';

function records() {
  const tables = new Map<HubSpotObjectType, Map<string, HubSpotObject>>([['deals', new Map()], ['contacts', new Map()], ['companies', new Map()]]);
  const index = new PropertyIndex((t) => tables.get(t)!);
  const add = (id: string, properties: Record<string, string>) => {
    const o: HubSpotObject = { id, properties, createdAt: '', updatedAt: '', archived: false };
    tables.get('deals')!.set(id, o);
    for (const [k, v] of Object.entries(properties)) index.changed('deals', o, k, undefined, v);
    return o;
  };
  const set = (o: HubSpotObject, k: string, v: string | undefined) => {
    index.changed('deals', o, k, o.properties[k], v);
    if (v === undefined) delete o.properties[k];
    else o.properties[k] = v;
  };
  return { tables, index, add, set };
}

test('finds what a scan in creation order finds: built on first use, kept on every change', () => {
  const { index, add, set } = records();
  const a = add('101', { sid: 'x' });
  assert.equal(index.find('deals', 'sid', 'x', false), a, 'built from the records there');
  const b = add('102', { sid: 'y' });
  assert.equal(index.find('deals', 'sid', 'y', false), b, 'kept on create');
  set(b, 'sid', 'z');
  assert.equal(index.find('deals', 'sid', 'y', false), undefined);
  assert.equal(index.find('deals', 'sid', 'z', false), b, 'kept on update');
  set(b, 'sid', undefined);
  assert.equal(index.find('deals', 'sid', 'z', false), undefined, 'kept on clearing');
});

test('archived records only when asked for; the oldest of several wins; what tests do to the tables directly is seen', () => {
  const { tables, index, add } = records();
  const old = add('101', { sid: 'x' });
  old.archived = true;
  assert.equal(index.find('deals', 'sid', 'x', false), undefined);
  assert.equal(index.find('deals', 'sid', 'x', true), old);
  const live = add('102', { sid: 'x' });
  assert.equal(index.find('deals', 'sid', 'x', false), live);
  assert.equal(index.find('deals', 'sid', 'x', true), old, 'a scan meets the older one first');
  tables.get('deals')!.clear();
  assert.equal(index.find('deals', 'sid', 'x', true), undefined, 'a cleared table holds nothing');
});
