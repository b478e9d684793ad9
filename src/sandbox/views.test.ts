/** The sandboxes' own views for people (GET /sandbox) and the Dropbox sandbox's shared links, which open in the sandbox. */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startSandboxDropbox, type SandboxDropbox } from './dropbox.js';
import { startSandboxHubSpot, type SandboxHubSpot } from './hubspot.js';

describe('sandbox views', () => {
  let hs: SandboxHubSpot;
  let box: SandboxDropbox;
  before(async () => {
    hs = await startSandboxHubSpot({ uniqueProperties: { deals: ['statusflow_id'] } });
    box = await startSandboxDropbox();
  });
  after(async () => {
    await hs.close();
    await box.close();
  });

  test('HubSpot: GET /sandbox lists live records without a token; the API still needs one', async () => {
    const made = await fetch(`${hs.url}/crm/v3/objects/deals`, { method: 'POST', headers: { authorization: `Bearer ${hs.token}`, 'content-type': 'application/json' }, body: JSON.stringify({ properties: { dealname: 'Order ORD-1', amount: '12' } }) });
    assert.equal(made.status, 201);
    const view = (await (await fetch(`${hs.url}/sandbox`)).json()) as { sandbox: string; deals: Array<{ properties: Record<string, string> }> };
    assert.equal(view.sandbox, 'hubspot');
    assert.deepEqual(view.deals.map((d) => [d.properties.dealname, d.properties.amount]), [['Order ORD-1', '12']]);
    assert.equal((await fetch(`${hs.url}/crm/v3/objects/deals`)).status, 401);
  });

  test('Dropbox: GET /sandbox lists files with content and shared links; a shared link serves the file', async () => {
    const headers = { authorization: `Bearer ${box.accessToken}` };
    const up = await fetch(`${box.contentUrl}/2/files/upload`, { method: 'POST', headers: { ...headers, 'content-type': 'application/octet-stream', 'dropbox-api-arg': JSON.stringify({ path: '/orders/ORD-1.json', mode: 'overwrite' }) }, body: '{"order":"ORD-1"}' });
    assert.equal(up.status, 200);
    const link = await fetch(`${box.url}/2/sharing/create_shared_link_with_settings`, { method: 'POST', headers: { ...headers, 'content-type': 'application/json' }, body: JSON.stringify({ path: '/orders/ORD-1.json' }) });
    const { url } = (await link.json()) as { url: string };
    assert.ok(url.startsWith(`${box.url}/sandbox/s/`), url);
    const view = (await (await fetch(`${box.url}/sandbox`)).json()) as { files: Array<{ path: string; content: string; sharedLink: string }> };
    assert.deepEqual(view.files, [{ ...view.files[0], path: '/orders/ORD-1.json', content: '{"order":"ORD-1"}', sharedLink: url }]);
    assert.equal(await (await fetch(url)).text(), '{"order":"ORD-1"}');
    assert.equal((await fetch(`${box.url}/sandbox/s/nothing/here`)).status, 404);
    assert.equal((await fetch(`${box.contentUrl}/sandbox`)).status, 404, 'the content host has no view');
  });
});
