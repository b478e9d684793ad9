/**
 * The processing control panel in a real browser, as a new user meets it: jump there with the ⌘K /
 * Ctrl-K palette; pick a process and filter the orders by status; see the preview count and a sample;
 * start the batch, pause it, resume it and watch its bar reach 100% without a reload (the stream's
 * `batch.updated` events move it); read the failed items with their errors, fix the cause, "retry
 * failed" and watch them succeed; follow a run back to its batch. Also: a provider's 429 shown with its
 * connection, and a process's last failure in the API process list. axe on every new screen (light and
 * dark), screenshots into docs/screenshots/ with UPDATE_SCREENSHOTS=1, and any console error or failed
 * request fails the test. Skipped (with the reason) when no Chromium binary is installed.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { api, ROOT, startServerProcess, TEST_ADMIN_KEY, type ServerProcess } from '../support/server-process.js';
import { startTarget, type Target } from '../support/target.js';
import { audit, findChromium, guardedPage, launch, shoot, type GuardedPage } from '../support/browser.js';

const chromiumPath = findChromium();
const skip = chromiumPath ? false : 'no Chromium binary (install it with `apt-get install chromium`, or set CHROMIUM_PATH): browser tests skipped';
if (skip) console.log(`# ${skip}`);

const ORDER = {
  name: 'Order',
  attributes: [
    { key: 'order_number', type: 'string', required: true },
    { key: 'total', type: 'number' },
    { key: 'note', type: 'string' },
  ],
  statuses: [
    { key: 'new', name: 'New', initial: true },
    { key: 'received', name: 'Received' },
  ],
  requirements: [],
  transitions: [{ from: ['new'], to: 'received' }],
};
/** 16 received orders (two with a negative total, which the process cannot save) and 4 new ones. */
const RECEIVED = 16;
const BAD = ['ORD-2003', 'ORD-2011'];
/** Waits, then writes the order back: a negative total makes the write a string into a number (refused). */
const SYNC = {
  name: 'Sync orders',
  entityType: 'order',
  trigger: { manual: true },
  settings: { retry: { maxAttempts: 1 }, concurrency: 2 },
  tasks: [
    { key: 'wait', kind: 'delay', input: { ms: 300 } },
    { key: 'mark', kind: 'entity.update', input: { attributes: "{ 'note': 'synced', 'total': total < 0 ? 'not a number' : total }" } },
  ],
};

function nav(page: Page, name: string) {
  return page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name, exact: true });
}

describe('processing control panel in a browser', { skip, timeout: 240_000 }, () => {
  let broken = false;
  const step = (name: string, fn: () => Promise<void>) =>
    test(name, async (t) => {
      if (broken) return t.skip('an earlier step failed');
      try {
        await fn();
      } catch (err) {
        broken = true;
        const shot = join(tmpdir(), `statusflow-browser-failure-${Date.now()}.png`);
        await page?.screenshot({ path: shot, fullPage: true }).catch(() => undefined);
        throw new Error(`${(err as Error).message}\n(screenshot of the page: ${shot})${g?.problems.length ? `\nbrowser problems:\n${g.problems.join('\n')}` : ''}`, { cause: err });
      }
    });
  let server: ServerProcess;
  let target: Target;
  let browser: Browser;
  let g: GuardedPage;
  let page: Page;
  const dataDir = mkdtempSync(join(tmpdir(), 'statusflow-browser-batches-'));
  const call = (method: string, path: string, body?: unknown) => api(server.origin, method, `/api/v1${path}`, body);
  const ids = new Map<string, string>();

  before(async () => {
    assert.ok(existsSync(join(ROOT, 'console/dist/index.html')), 'the console is not built: run `npm run build`');
    target = await startTarget();
    server = await startServerProcess({ command: 'start', env: { STATUSFLOW_DATA_DIR: dataDir, STATUSFLOW_ADMIN_KEY: TEST_ADMIN_KEY } });
    assert.equal((await call('PUT', '/entity-types/order', ORDER)).status, 201);
    for (let i = 0; i < RECEIVED + 4; i++) {
      const number = `ORD-${2000 + i}`;
      const res = await call('POST', '/entities/order', { attributes: { order_number: number, total: BAD.includes(number) ? -5 : 10 + i }, status: i < RECEIVED ? 'received' : 'new' });
      assert.equal(res.status, 201, JSON.stringify(res.json));
      ids.set(number, res.json.id);
    }
    assert.equal((await call('PUT', '/processes/sync_orders', SYNC)).status, 201);
    browser = await launch(chromiumPath as string);
    g = await guardedPage(browser, server.origin);
    page = g.page;
    page.setDefaultTimeout(15_000);
  });
  after(async () => {
    await browser?.close();
    await server?.stop();
    await target?.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  step('sign in, then jump to the batches with the keyboard palette (Ctrl-K)', async () => {
    await page.goto('/');
    await page.getByLabel('API key').fill(TEST_ADMIN_KEY);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByText('Live', { exact: true }).waitFor();
    await page.evaluate('window.__sameDocument = true');
    await page.keyboard.press('Control+k');
    const palette = page.getByRole('dialog', { name: 'Jump to' });
    const input = palette.getByRole('combobox', { name: 'Jump to' });
    await input.waitFor();
    assert.equal(await page.evaluate("document.activeElement?.getAttribute('role')"), 'combobox', 'the palette takes focus');
    await input.fill('sync');
    await palette.getByRole('option', { name: /Sync orders/ }).waitFor();
    await input.fill('batch');
    await palette.getByRole('option', { name: /^Page\s*Batches$/ }).waitFor();
    // Arrows move the active option; Enter opens it.
    const selected = () => palette.locator('[role=option][aria-selected=true]').innerText();
    const first = await selected();
    await page.keyboard.press('ArrowDown');
    assert.notEqual(await selected(), first);
    await page.keyboard.press('ArrowUp');
    assert.equal(await selected(), first);
    await input.fill('batches');
    await shoot(page, 'palette');
    await page.keyboard.press('Enter');
    await page.waitForURL('**/batches');
    assert.equal(await palette.count(), 0, 'the palette closed');
    await page.getByText('No batch yet').waitFor();
    await audit(page, 'batches (empty)');
    // Esc closes it without going anywhere.
    await page.keyboard.press('Control+k');
    await input.waitFor();
    await page.keyboard.press('Escape');
    await palette.waitFor({ state: 'detached' });
    assert.match(page.url(), /\/batches$/);
    g.assertClean();
  });

  let batchId = '';
  step('the control panel: pick the process, filter by status, see the preview count and a sample, start', async () => {
    await page.getByRole('link', { name: 'Start a batch' }).first().click();
    await page.waitForURL('**/batches/new');
    await page.getByRole('heading', { name: 'Processing control panel' }).waitFor();
    await page.getByLabel('API process').selectOption('sync_orders');
    const total = page.getByTestId('preview-total');
    await total.filter({ hasText: String(RECEIVED + 4) }).waitFor();
    // A "last saved after" bound in the future matches nothing (and the start button says so); cleared, all again.
    const after = page.getByLabel('Last saved after');
    await after.fill('2099-01-01T00:00');
    await total.filter({ hasText: /^0$/ }).waitFor();
    await page.waitForURL(/after=2099-/);
    assert.equal(await page.getByRole('button', { name: 'Start batch' }).isDisabled(), true, 'nothing to start on an empty set');
    await after.fill('');
    await total.filter({ hasText: String(RECEIVED + 4) }).waitFor();
    // Pasted ids narrow the set to them; an unknown id is named in the answer.
    const two = [...ids.values()].slice(0, 2);
    await page.getByLabel(/Only these entities/).fill(`${two[0]}\n${two[1]}, ${two[0]}`);
    await page.getByRole('button', { name: 'Apply ids' }).click();
    await page.getByText('2 ids in the filter').waitFor();
    await total.filter({ hasText: /^2$/ }).waitFor();
    g.expectHttpError(/\/batches\/preview$/, 404);
    await page.getByLabel(/Only these entities/).fill('01kzzzzzzzzzzzzzzzzzzzzzzz');
    await page.getByRole('button', { name: 'Apply ids' }).click();
    await page.getByText('01kzzzzzzzzzzzzzzzzzzzzzzz').last().waitFor();
    await page.getByLabel(/Only these entities/).fill('');
    await page.getByRole('button', { name: 'Apply ids' }).click();
    await total.filter({ hasText: String(RECEIVED + 4) }).waitFor();
    // A click, not check(): the box follows the URL, which the router updates in a transition, so it may be
    // ticked a moment after the click (check() fails when it is not at once).
    await page.getByRole('checkbox', { name: 'Received' }).click();
    await total.filter({ hasText: String(RECEIVED) }).waitFor();
    await page.waitForURL(/status=received/);
    await page.getByRole('table', { name: 'Sample of the set' }).getByRole('row').nth(1).waitFor();
    assert.equal(await page.getByRole('table', { name: 'Sample of the set' }).locator('.chip.status', { hasText: 'new' }).count(), 0, 'the sample holds received orders only');
    await shoot(page, 'batch-new', { fullPage: true });
    await page.getByRole('button', { name: `Start batch: Sync orders on ${RECEIVED}` }).click();
    await page.waitForURL(/\/batches\/[\w-]+$/);
    batchId = page.url().split('/').pop()!;
    const stored = await call('GET', `/batches/${batchId}`);
    assert.equal(stored.status, 200);
    assert.equal(stored.json.total, RECEIVED);
    assert.deepEqual(stored.json.filter.status, ['received']);
    g.assertClean();
  });

  step('pause, resume, and watch the bar reach 100% live (no reload)', async () => {
    const head = page.locator('.page-head');
    await page.getByRole('button', { name: 'Pause' }).click();
    await head.locator('.chip', { hasText: 'paused' }).waitFor();
    await page.getByText('Paused: no new run starts').waitFor();
    assert.equal((await call('GET', `/batches/${batchId}`)).json.status, 'paused');
    const bar = page.getByRole('progressbar', { name: 'Batch progress' });
    assert.notEqual(await bar.getAttribute('aria-valuenow'), '100', 'paused before the end');
    await shoot(page, 'batch-paused');
    await page.getByRole('button', { name: 'Resume' }).click();
    await head.locator('.chip', { hasText: 'running' }).or(head.locator('.chip', { hasText: 'completed' })).waitFor();
    await page.locator('[role=progressbar][aria-label="Batch progress"][aria-valuenow="100"]').waitFor({ timeout: 90_000 });
    await head.locator('.chip', { hasText: 'completed' }).waitFor();
    assert.equal(await page.locator('[data-count=succeeded]').innerText(), String(RECEIVED - BAD.length));
    assert.equal(await page.locator('[data-count=failed]').innerText(), String(BAD.length));
    assert.equal(await page.evaluate('window.__sameDocument'), true, 'no reload');
    g.assertClean();
  });

  step('the failed items show their errors; fixing the cause and "retry failed" completes them', async () => {
    const failed = page.getByRole('table', { name: 'Failed items' });
    await failed.getByRole('row').nth(BAD.length).waitFor();
    assert.equal(await failed.getByRole('row').count(), BAD.length + 1);
    for (const n of BAD) await failed.getByRole('link', { name: ids.get(n)!.slice(-8) }).waitFor();
    assert.match(await failed.innerText(), /total/i, 'the error names what was refused');
    await shoot(page, 'batch-detail', { fullPage: true });
    for (const n of BAD) assert.equal((await call('PATCH', `/entities/order/${ids.get(n)}`, { attributes: { total: 7 } })).status, 200);
    await page.getByRole('button', { name: `Retry failed (${BAD.length})` }).click();
    await page.locator('[data-count=succeeded]').filter({ hasText: String(RECEIVED) }).waitFor({ timeout: 60_000 });
    await page.locator('[data-count=failed]').filter({ hasText: '0' }).waitFor();
    await page.getByText('No failed item').waitFor();
    await page.locator('.page-head .chip', { hasText: 'completed' }).waitFor();
    assert.equal((await call('GET', `/entities/order/${ids.get(BAD[0]!)}`)).json.attributes.note, 'synced');
    g.assertClean();
  });

  step('the batches list shows it done; a run of the batch links back to it', async () => {
    await nav(page, 'Batches').click();
    const row = page.locator(`[data-batch="${batchId}"]`);
    await row.getByText('100%').waitFor();
    await row.locator('.chip.completed').waitFor();
    await shoot(page, 'batches');
    await row.getByRole('link').first().click();
    await page.getByRole('link', { name: 'Runs of this batch' }).click();
    await page.waitForURL(new RegExp(`/runs\\?batch=${batchId}`));
    const runs = page.getByRole('table', { name: 'Runs' });
    await runs.getByRole('row').nth(RECEIVED).waitFor();
    await runs.getByRole('link', { name: `batch ${batchId.slice(-8)}` }).first().click();
    await page.waitForURL(`**/batches/${batchId}`);
    await page.getByRole('progressbar', { name: 'Batch progress' }).waitFor();
    // The palette finds a run by the end of its id, as the tables show it.
    const runId: string = (await call('GET', `/runs?batch=${batchId}&limit=1`)).json.items[0].id;
    await page.keyboard.press('Control+k');
    await page.getByRole('combobox', { name: 'Jump to' }).fill(runId.slice(-8));
    await page.getByRole('option', { name: new RegExp(`Run.*sync_orders ${runId.slice(-8)}`) }).waitFor();
    await page.keyboard.press('Enter');
    await page.waitForURL(`**/runs/${runId}`);
    await page.getByRole('link', { name: batchId }).waitFor();
    g.assertClean();
  });

  step("a provider's 429 is listed with its connection; the process list shows the last failure", async () => {
    assert.equal((await call('PUT', '/connections/shop', { provider: 'http', name: 'Shop API', config: { baseUrl: target.url } })).status, 201);
    const ping = { name: 'Ping the shop', entityType: 'order', trigger: { manual: true }, settings: { retry: { maxAttempts: 1 } }, tasks: [{ key: 'ping', kind: 'http.request', connection: 'shop', input: { method: 'POST', path: "'/ping'" } }] };
    assert.equal((await call('PUT', '/processes/ping_shop', ping)).status, 201);
    target.script({ status: 429, headers: { 'retry-after': '2' }, body: { error: 'slow down' } });
    const run = await call('POST', `/entities/order/${ids.get('ORD-2000')}/process`, { process: 'ping_shop', wait: true });
    assert.equal(run.json.run.status, 'failed');
    await nav(page, 'Connections').click();
    const limits = page.locator('[data-limits=shop]');
    await limits.getByText('1 × 429').waitFor();
    await limits.getByText('no limit; 429s pause it').waitFor();
    await limits.locator('summary').click();
    await page.getByRole('table', { name: 'Recent 429 answers of Shop API' }).getByRole('cell', { name: '2 s' }).waitFor();
    await shoot(page, 'connections-429');
    await nav(page, 'API processes').click();
    const row = page.locator('[data-process=ping_shop]');
    await row.getByRole('link', { name: run.json.run.error.code }).waitFor();
    await shoot(page, 'processes-last-failure');
    await row.getByRole('link', { name: run.json.run.error.code }).click();
    await page.waitForURL(`**/runs/${run.json.run.id}`);
    g.assertClean();
  });
});
