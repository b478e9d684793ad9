/** docs/examples/order.yaml — the file `statusflow demo` applies — is the one docs/definitions-as-code.md shows, and applies on each database. */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { resolveReferences, readDefinitions } from '../../src/cli/apply.js';
import { DIALECTS } from '../support/databases.js';
import { startTestApp, type TestApp } from '../support/app.js';

const ROOT = join(import.meta.dirname, '../..');
const EXAMPLE = join(ROOT, 'docs/examples/order.yaml');

test('docs/definitions-as-code.md shows docs/examples/order.yaml as it is', () => {
  const doc = readFileSync(join(ROOT, 'docs/definitions-as-code.md'), 'utf8');
  const file = readFileSync(EXAMPLE, 'utf8');
  assert.ok(doc.includes('```yaml\n' + file + '```'), 'the copy in the doc differs from the file: paste the file again');
});

for (const dialect of DIALECTS) {
  describe(`the example definitions on ${dialect}`, () => {
    let t: TestApp;
    before(async () => {
      t = await startTestApp(dialect);
    });
    after(() => t.close());

    test('applies (tokens from ${VARIABLES}), then applies again unchanged; its requirements move an order', async () => {
      const tokens: Record<string, string> = { HUBSPOT_TOKEN: 'pat-na1-example', DROPBOX_TOKEN: 'sl.example' };
      const doc = resolveReferences(await readDefinitions(EXAMPLE), (name) => tokens[name]);
      const first = await t.call('POST', '/api/v1/apply', doc);
      assert.equal(first.statusCode, 200, first.body);
      assert.deepEqual(first.json().created.map((o: { key: string }) => o.key), ['order', 'hubspot', 'dropbox', 'copy_to_hubspot', 'archive_to_dropbox']);
      assert.deepEqual(first.json().warnings, []);
      assert.equal((await t.call('POST', '/api/v1/apply', doc)).json().unchanged.length, 5);
      const order = await t.call('POST', '/api/v1/entities/order', { attributes: { order_number: 'ORD-1', customer_email: 'a@b.co', total: 10, paid: true } });
      assert.deepEqual(order.json().statusPath, ['new', 'received', 'approved']);
      assert.deepEqual(order.json().queuedRuns.map((r: { process: string }) => r.process).sort(), ['archive_to_dropbox', 'copy_to_hubspot']);
      assert.equal((await t.call('POST', '/api/v1/entities/order', { attributes: { order_number: 'BAD-1' } })).statusCode, 422);
    });
  });
}
