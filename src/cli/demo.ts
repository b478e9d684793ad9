/**
 * `statusflow demo`: the whole loop on one machine with no account. It starts sandbox HubSpot and
 * Dropbox servers on loopback (src/sandbox/), the Statusflow server on embedded SQLite in the demo
 * data folder (STATUSFLOW_DATA_DIR, default ./demo-data; PORT and STATUSFLOW_ADMIN_KEY as `start`),
 * applies docs/examples/order.yaml with its connections pointed at the sandboxes, saves sample orders
 * (one refused, one stuck on a requirement, two moving through the statuses), waits for the runs and
 * prints what happened and what to try next. Everything it does goes through the REST API, like any
 * client's would.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Config } from '../config.js';
import { startSandboxDropbox } from '../sandbox/dropbox.js';
import { startSandboxHubSpot } from '../sandbox/hubspot.js';
import { printReport, readDefinitions, resolveReferences, type ApplyReport } from './apply.js';
import { ApiClient } from './client.js';
import { CliError } from './exit.js';
import { start } from './start.js';

/** The file the demo applies (also shown in docs/definitions-as-code.md). */
export const EXAMPLE_FILE = fileURLToPath(new URL('../../docs/examples/order.yaml', import.meta.url));
/** Left in a data folder the demo made, so that a later demo may start it afresh (and never wipes anything else). */
const MARKER = '.statusflow-demo';

interface Entity {
  id: string;
  status: string;
  attributes: Record<string, unknown>;
  requirements: Array<{ key: string; passed: boolean; message: string }>;
  statusPath?: string[];
}

/** Starts the demo data folder afresh: only a folder the demo made before (or an empty one) is emptied. */
function freshDataDir(dir: string): void {
  if (existsSync(dir) && readdirSync(dir).length > 0) {
    if (!existsSync(join(dir, MARKER))) {
      throw new CliError(`${dir} is not empty and was not made by "statusflow demo"; point STATUSFLOW_DATA_DIR at an empty or new folder`);
    }
    rmSync(dir, { recursive: true, force: true });
  }
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, MARKER), 'Made by "statusflow demo": the next demo empties this folder.\n');
}

const say = (line = '') => process.stdout.write(`${line}\n`);

export async function demo(config: Config): Promise<void> {
  const began = performance.now();
  freshDataDir(config.dataDir);
  const hubspotToken = `pat-sandbox-${randomBytes(8).toString('hex')}`;
  const dropboxToken = `sl.sandbox-${randomBytes(8).toString('hex')}`;
  const hubspot = await startSandboxHubSpot({ token: hubspotToken, uniqueProperties: { deals: ['statusflow_id'] } });
  const dropbox = await startSandboxDropbox({ accessToken: dropboxToken });
  const adminKey = config.adminKey ?? `sf_demo_${randomBytes(18).toString('base64url')}`;
  await start({ ...config, adminKey });
  const url = `http://localhost:${config.port}`;
  const api = new ApiClient({ url: `http://127.0.0.1:${config.port}`, apiKey: adminKey });

  say(`\nStatusflow demo — server ${url} (embedded SQLite in ${config.dataDir})`);
  say(`sandbox HubSpot ${hubspot.url}   sandbox Dropbox ${dropbox.url} (content host ${dropbox.contentUrl})\n`);

  // 1. Definitions as code: the example file, its connections pointed at the sandboxes.
  const doc = resolveReferences(await readDefinitions(EXAMPLE_FILE), (name) => ({ HUBSPOT_TOKEN: hubspotToken, DROPBOX_TOKEN: dropboxToken })[name]) as {
    connections: Array<{ key: string; config?: Record<string, unknown> }>;
  };
  for (const c of doc.connections) {
    if (c.key === 'hubspot') c.config = { ...c.config, baseUrl: hubspot.url };
    if (c.key === 'dropbox') c.config = { ...c.config, baseUrl: dropbox.url, contentUrl: dropbox.contentUrl };
  }
  say(`1. statusflow apply -f docs/examples/order.yaml (connections pointed at the sandboxes)`);
  printReport(await api.post<ApplyReport>('/api/v1/apply', doc));

  // 2. Sample orders: every save checks the requirements, which move orders between statuses.
  say('\n2. Sample orders');
  const create = (attributes: Record<string, unknown>) => api.post<Entity>('/api/v1/entities/order', { attributes });
  try {
    await create({ order_number: 'BAD-7', customer_email: 'x@example.com', total: 5 });
  } catch (err) {
    say(`   BAD-7     refused, nothing written: ${(err as Error).message}`);
  }
  const orders: Entity[] = [];
  orders.push(await create({ order_number: 'ORD-1001', customer_email: 'ada@example.com', total: 250 }));
  orders.push(await create({ order_number: 'ORD-1002', customer_email: 'grace@example.com', total: 90, paid: true }));
  orders.push(await create({ order_number: 'ORD-1003', total: 40 }));
  const paid = await api.request<Entity>('PATCH', `/api/v1/entities/order/${orders[0]!.id}`, { attributes: { paid: true } });
  for (const o of orders) {
    const failing = o.requirements.filter((r) => !r.passed).map((r) => r.message);
    say(`   ${String(o.attributes.order_number).padEnd(9)} ${(o.statusPath ?? [o.status]).join(' → ')}${failing.length > 0 ? `   (waiting: ${failing.join('; ')})` : ''}`);
  }
  say(`   ORD-1001  marked paid: ${(paid.statusPath ?? []).join(' → ')}`);

  // 3. The processes those statuses started: wait until every run has finished.
  const until = Date.now() + 30_000;
  while ((await api.get<{ items: unknown[] }>('/api/v1/runs?status=queued,running,waiting&limit=1')).items.length > 0) {
    if (Date.now() > until) throw new CliError('the demo runs did not finish within 30 s; see "statusflow runs"');
    await new Promise((r) => setTimeout(r, 200));
  }
  const runs = await api.get<{ items: Array<{ id: string; process: string; entityId: string; status: string; error: { code: string } | null }> }>('/api/v1/runs?limit=50');
  say('\n3. Runs');
  for (const r of runs.items.slice().reverse()) {
    const order = orders.find((o) => o.id === r.entityId)?.attributes.order_number;
    say(`   ${String(order).padEnd(9)} ${r.process.padEnd(19)} ${r.status}${r.error ? ` (${r.error.code})` : ''}   statusflow run ${r.id}`);
  }

  // 4. What the providers now hold, and the links Statusflow kept.
  say('\n4. Links kept by Statusflow');
  for (const o of orders) {
    const links = await api.get<{ items: Array<{ provider: string; externalType: string; externalId: string; url: string | null }> }>(`/api/v1/entities/order/${o.id}/links`);
    for (const l of links.items) say(`   ${String(o.attributes.order_number).padEnd(9)} ${l.provider} ${l.externalType} ${l.externalId}${l.url ? `  ${l.url}` : ''}`);
  }
  const deals = [...hubspot.state.objects.get('deals')!.values()];
  say(`\n   sandbox HubSpot holds ${deals.length} deal(s): ${deals.map((d) => `${d.properties.dealname} (${d.properties.amount})`).join(', ')}`);
  say(`   sandbox Dropbox holds ${dropbox.state.files.size} file(s): ${[...dropbox.state.files.values()].map((f) => f.path_display).join(', ')}`);

  say(`\nDone in ${((performance.now() - began) / 1000).toFixed(1)} s. Statusflow and the sandboxes keep running until Ctrl-C.\n`);
  const tip = (command: string, why: string) => say(`   ${command.padEnd(52)} # ${why}`);
  say('Try next:');
  say(`   export STATUSFLOW_URL=${url} STATUSFLOW_API_KEY=${adminKey}`);
  tip(`open ${url}`, 'the web console: sign in with the admin key above');
  tip('npx statusflow entities order', 'the orders and their statuses');
  tip('npx statusflow runs', 'what ran; then: npx statusflow run <id>');
  tip('npx statusflow export', 'the definitions, as a file to keep in git');
  tip(`curl ${hubspot.url}/sandbox`, "the sandbox HubSpot's deals");
  tip(`curl ${dropbox.url}/sandbox`, "the sandbox Dropbox's files (shared links open there too)");
  tip(`open ${url}/api/v1/docs`, 'the REST API, browsable');
  say(`   curl -X PATCH -H "Authorization: Bearer $STATUSFLOW_API_KEY" -H 'content-type: application/json' \\`);
  say(`        -d '{"attributes":{"customer_email":"linus@example.com"}}' ${url}/api/v1/entities/order/${orders[2]!.id}`);
  say(`   ${''.padEnd(52)} # ORD-1003 gets its email: received, then a HubSpot deal`);
}
