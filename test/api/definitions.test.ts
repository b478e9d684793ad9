/** POST /api/v1/apply and GET /api/v1/export (definitions as code), on each database. */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { stringify } from 'yaml';
import { DIALECTS } from '../support/databases.js';
import { startTestApp, type TestApp } from '../support/app.js';
import { ORDER_TYPE } from '../support/order.js';

const SECRET = 'pat-na1-never-exported-7c1d';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Doc = { entityTypes: any[]; connections: any[]; processes: any[] };

const DOC: Doc = {
  entityTypes: [{ key: 'order', ...ORDER_TYPE }],
  connections: [
    { key: 'crm', provider: 'hubspot', name: 'CRM', config: { baseUrl: 'http://127.0.0.1:9', uniqueProperties: { deals: 'statusflow_id' } }, secrets: { accessToken: SECRET } },
    { key: 'hooks', provider: 'http', name: 'Hooks', config: { baseUrl: 'http://127.0.0.1:9' } },
  ],
  processes: [
    {
      key: 'copy_to_crm',
      name: 'Copy to CRM',
      entityType: 'order',
      trigger: { status: 'received' },
      tasks: [{ key: 'deal', kind: 'hubspot.upsert', connection: 'crm', input: { object: 'deals', properties: "{ 'dealname': order_number }" } }],
    },
    {
      key: 'notify',
      name: 'Notify',
      entityType: 'order',
      trigger: { manual: true },
      tasks: [{ key: 'post', kind: 'http.request', connection: 'hooks', input: { method: 'POST', path: "'/orders'", body: '{ "n": order_number }' } }],
    },
  ],
};
const doc = (): Doc => structuredClone(DOC);
const refs = (list: Array<{ kind: string; key: string }>) => list.map((o) => `${o.kind}/${o.key}`);
const ALL = ['entityType/order', 'connection/crm', 'connection/hooks', 'process/copy_to_crm', 'process/notify'];

for (const dialect of DIALECTS) {
  describe(`definitions as code on ${dialect}`, () => {
    let t: TestApp;
    const exported = async (key?: string) => {
      const res = await t.call('GET', '/api/v1/export', undefined, key ? { key } : {});
      assert.equal(res.statusCode, 200, res.body);
      return res.json() as Doc;
    };
    before(async () => {
      t = await startTestApp(dialect);
    });
    after(() => t.close());

    test('apply creates in dependency order; a second apply (JSON or YAML) is all unchanged, versions kept', async () => {
      const first = await t.call('POST', '/api/v1/apply', doc());
      assert.equal(first.statusCode, 200, first.body);
      assert.deepEqual(refs(first.json().created), ALL);
      assert.deepEqual([first.json().updated, first.json().unchanged, first.json().deleted], [[], [], []]);
      const again = await t.call('POST', '/api/v1/apply', doc());
      assert.deepEqual(refs(again.json().unchanged), ALL);
      assert.deepEqual([again.json().created, again.json().updated], [[], []]);
      const yaml = await t.call('POST', '/api/v1/apply', stringify(doc()), { headers: { 'content-type': 'application/yaml' } });
      assert.equal(yaml.statusCode, 200, yaml.body);
      assert.deepEqual(refs(yaml.json().unchanged), ALL);
      assert.equal((await t.call('GET', '/api/v1/processes/copy_to_crm')).json().version, 1);
      assert.equal((await t.call('GET', '/api/v1/entity-types/order')).json().version, 1);
    });

    test('all or nothing: one invalid process → 400 naming the object and field, nothing applied', async () => {
      const before = await exported();
      const d = doc();
      d.entityTypes.push({ key: 'ticket', name: 'Ticket', statuses: [{ key: 'open', name: 'Open', initial: true }] });
      d.connections[1].name = 'Hooks (renamed)';
      d.processes[0].name = 'Copy to CRM, renamed';
      d.processes[1].tasks[0].connection = 'nowhere';
      const res = await t.call('POST', '/api/v1/apply', d);
      assert.equal(res.statusCode, 400, res.body);
      const { error } = res.json();
      assert.equal(error.code, 'DEFINITIONS_INVALID');
      assert.match(error.message, /processes\[1\]\.tasks\[0\]\.connection \(process "notify"\)/);
      assert.deepEqual(error.details.fields.map((f: { path: string; kind: string; key: string }) => [f.path, f.kind, f.key]), [['processes[1].tasks[0].connection', 'process', 'notify']]);
      assert.deepEqual(await exported(), before);
    });

    test('all or nothing inside the transaction: a type losing a status a stored process needs → nothing applied', async () => {
      const before = await exported();
      const d = doc();
      d.entityTypes.push({ key: 'ticket', name: 'Ticket', statuses: [{ key: 'open', name: 'Open', initial: true }] });
      d.processes = []; // copy_to_crm stays stored (no prune) and still starts on "received"
      d.entityTypes[0].statuses = d.entityTypes[0].statuses.filter((s: { key: string }) => s.key !== 'received');
      d.entityTypes[0].transitions = [{ from: ['new'], to: 'approved', when: ['is_paid'], auto: true }];
      const res = await t.call('POST', '/api/v1/apply', d);
      assert.equal(res.statusCode, 400, res.body);
      assert.equal(res.json().error.code, 'DEFINITIONS_INVALID');
      assert.equal(res.json().error.details.fields[0].path, 'entityTypes[0].statuses');
      assert.equal(res.json().error.details.fields[0].key, 'order');
      assert.equal((await t.call('GET', '/api/v1/entity-types/ticket')).statusCode, 404, 'the type written first was rolled back');
      assert.deepEqual(await exported(), before);
    });

    test('dry run: the same report with readable diffs, and nothing written', async () => {
      const before = await exported();
      const d = doc();
      d.processes[0].name = 'Copy to CRM (v2)';
      d.connections[0].secrets.accessToken = 'pat-na1-rotated-9f2e';
      d.entityTypes.push({ key: 'ticket', name: 'Ticket', statuses: [{ key: 'open', name: 'Open', initial: true }] });
      const res = await t.call('POST', '/api/v1/apply?dryRun=true', d);
      assert.equal(res.statusCode, 200, res.body);
      const report = res.json();
      assert.equal(report.dryRun, true);
      assert.deepEqual(refs(report.created), ['entityType/ticket']);
      assert.deepEqual(refs(report.updated), ['connection/crm', 'process/copy_to_crm']);
      const diff = (key: string) => report.diffs.find((x: { key: string }) => x.key === key).diff as string;
      assert.match(diff('copy_to_crm'), /^-name: Copy to CRM$/m);
      assert.match(diff('copy_to_crm'), /^\+name: Copy to CRM \(v2\)$/m);
      assert.match(diff('ticket'), /^\+key: ticket$/m);
      assert.match(diff('crm'), /^\+ {2}accessToken: \(new value\)$/m);
      assert.doesNotMatch(res.body, /rotated-9f2e|never-exported/, 'no secret value in a dry run');
      assert.deepEqual(await exported(), before);
      assert.equal((await t.call('GET', '/api/v1/processes/copy_to_crm')).json().version, 1);
    });

    test('export has no secret values, only "set"; applying it back keeps them (all unchanged)', async () => {
      const json = await t.call('GET', '/api/v1/export');
      const yaml = await t.call('GET', '/api/v1/export', undefined, { headers: { accept: 'application/yaml' } });
      assert.match(String(yaml.headers['content-type']), /application\/yaml/);
      for (const body of [json.body, yaml.body]) assert.ok(!body.includes(SECRET), 'the secret is not exported');
      const d = json.json() as Doc;
      assert.deepEqual(d.connections.find((c) => c.key === 'crm').secrets, { accessToken: 'set' });
      assert.deepEqual(refs((await t.call('POST', '/api/v1/apply', d)).json().unchanged), ALL);
      const fromYaml = await t.call('POST', '/api/v1/apply', yaml.body, { headers: { 'content-type': 'application/yaml' } });
      assert.deepEqual(refs(fromYaml.json().unchanged), ALL);
    });

    test('round trip: export → apply on an empty organization → export gives the same document', async () => {
      const source = await exported();
      const org = await t.call('POST', '/api/v1/organizations', { name: `round trip ${dialect}` });
      assert.equal(org.statusCode, 201, org.body);
      const key = org.json().apiKey.key as string;
      // The secret values are the only thing an export cannot carry: "set" has nothing to keep there.
      const missing = await t.call('POST', '/api/v1/apply', source, { key });
      assert.equal(missing.statusCode, 400);
      assert.deepEqual(missing.json().error.details.fields.map((f: { path: string; code: string }) => [f.path, f.code]), [['connections[0].secrets.accessToken', 'not_stored']]);
      const withSecrets = structuredClone(source);
      withSecrets.connections[0].secrets = { accessToken: 'pat-na1-other-org' };
      const applied = await t.call('POST', '/api/v1/apply', withSecrets, { key });
      assert.equal(applied.statusCode, 200, applied.body);
      assert.deepEqual(refs(applied.json().created), ALL);
      assert.deepEqual(await exported(key), source);
    });

    test('a ${VARIABLE} reaching the server is refused, never stored as a secret', async () => {
      const d = doc();
      d.connections[0].secrets.accessToken = '${HUBSPOT_TOKEN}';
      const res = await t.call('POST', '/api/v1/apply', d);
      assert.equal(res.statusCode, 400);
      assert.deepEqual(res.json().error.details.fields.map((f: { path: string; code: string }) => [f.path, f.code]), [['connections[0].secrets.accessToken', 'unresolved_reference']]);
    });

    test('prune deletes what the document no longer has, and refuses what runs or entities depend on', async () => {
      const d = doc();
      d.processes = d.processes.filter((p: { key: string }) => p.key !== 'notify');
      d.connections = d.connections.filter((c: { key: string }) => c.key !== 'hooks');
      const pruned = await t.call('POST', '/api/v1/apply?prune=true', d);
      assert.equal(pruned.statusCode, 200, pruned.body);
      assert.deepEqual(refs(pruned.json().deleted), ['process/notify', 'connection/hooks']);
      assert.equal((await t.call('GET', '/api/v1/processes/notify')).statusCode, 404);

      // An order entering "received" queues a run of copy_to_crm (no worker here: it stays queued).
      const order = await t.call('POST', '/api/v1/entities/order', { attributes: { order_number: 'ORD-1', total: 5, customer_email: 'a@b.co' } });
      assert.equal(order.json().queuedRuns.length, 1, order.body);
      const before = await exported();
      const refused = await t.call('POST', '/api/v1/apply?prune=true', { entityTypes: [{ key: 'other', name: 'Other', statuses: [{ key: 'a', name: 'A', initial: true }] }] });
      assert.equal(refused.statusCode, 409, refused.body);
      const { error } = refused.json();
      assert.equal(error.code, 'PRUNE_REFUSED');
      assert.match(error.message, /process "copy_to_crm": 1 of its runs have not finished/);
      assert.deepEqual(error.details.objects.map((o: { kind: string; key: string }) => `${o.kind}/${o.key}`), ['process/copy_to_crm', 'connection/crm', 'entityType/order']);
      assert.deepEqual(await exported(), before, 'nothing applied: not even the new type');
      const dry = await t.call('POST', '/api/v1/apply?prune=true&dryRun=true', { entityTypes: [] });
      assert.equal(dry.statusCode, 409, 'a dry run refuses what the apply would refuse');
      const empty = await t.call('POST', '/api/v1/apply?prune=true', {});
      assert.equal(empty.statusCode, 400, 'an empty document never prunes everything');
      assert.equal(empty.json().error.details.fields[0].code, 'prune_without_sections');
    });

    test('roles: editors apply types and processes but not connection changes; viewers cannot apply; bad flags → 400', async () => {
      const editor = (await t.call('POST', '/api/v1/api-keys', { name: 'ed', role: 'editor' })).json().key as string;
      const viewer = (await t.call('POST', '/api/v1/api-keys', { name: 'vw', role: 'viewer' })).json().key as string;
      const d = await exported();
      assert.equal((await t.call('POST', '/api/v1/apply', d, { key: editor })).statusCode, 200, 'unchanged connections are fine');
      d.connections[0].name = 'CRM (editor)';
      const forbidden = await t.call('POST', '/api/v1/apply', d, { key: editor });
      assert.equal(forbidden.statusCode, 403);
      assert.match(forbidden.json().error.message, /connection "crm"/);
      assert.equal((await t.call('POST', '/api/v1/apply', d, { key: viewer })).statusCode, 403);
      assert.equal((await t.call('GET', '/api/v1/export', undefined, { key: viewer })).statusCode, 200);
      assert.equal((await t.call('POST', '/api/v1/apply?dryRun=maybe', d)).json().error.code, 'INVALID_QUERY');
      const badYaml = await t.call('POST', '/api/v1/apply', 'entityTypes: [\n', { headers: { 'content-type': 'application/yaml' } });
      assert.equal(badYaml.json().error.code, 'INVALID_YAML');
      const outline = await t.call('POST', '/api/v1/apply', { types: [], processes: [{ name: 'no key' }] });
      assert.deepEqual(outline.json().error.details.fields.map((f: { path: string }) => f.path), ['types', 'processes[0].key']);
      const yamlElsewhere = await t.call('PUT', '/api/v1/entity-types/x', 'name: X', { headers: { 'content-type': 'application/yaml' } });
      assert.equal(yamlElsewhere.statusCode, 415, 'other routes stay JSON only');
    });
  });
}
