/**
 * The console in a real browser, as a new user meets it: sign in; create the Order type with a
 * requirement; add a connection and an API process, edit its task list (keyboard reorder included)
 * and see the new versions; create an order that fails the requirement and see it fail; fix it and
 * watch the status change and the triggered run appear and finish without reloading; search with a
 * forbidden condition and see the API's error inline; run a process from the process-entity modal
 * after a dry run; and check that a viewer sees no edit or run buttons. Every main screen is audited
 * with axe and photographed light and dark into docs/screenshots/. Any console error or failed
 * request fails the test. Skipped (with the reason) when no Chromium binary is installed.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { api, ROOT, startCountingTarget, startServerProcess, TEST_ADMIN_KEY, type CountingTarget, type ServerProcess } from '../support/server-process.js';
import { audit, findChromium, guardedPage, launch, shoot, type GuardedPage } from '../support/browser.js';

const chromiumPath = findChromium();
const skip = chromiumPath ? false : 'no Chromium binary (install it with `apt-get install chromium`, or set CHROMIUM_PATH): browser tests skipped';
if (skip) console.log(`# ${skip}`);

/** A link of the main navigation. */
function nav(page: Page, name: string) {
  return page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name, exact: true });
}

/** Types into a CodeMirror expression editor, replacing what it holds. */
async function typeExpression(page: Page, label: string, text: string): Promise<void> {
  const editor = page.locator(`.cm-content[aria-label="${label}"]`);
  await editor.click();
  await page.keyboard.press('Control+A');
  await page.keyboard.press('Delete');
  await page.keyboard.type(text);
}

describe('console in a browser', { skip, timeout: 240_000 }, () => {
  /** The steps build on each other: after a failure the rest are skipped, not timed out one by one. */
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
  let target: CountingTarget;
  let browser: Browser;
  let g: GuardedPage;
  let page: Page;
  const dataDir = mkdtempSync(join(tmpdir(), 'statusflow-browser-'));

  before(async () => {
    assert.ok(existsSync(join(ROOT, 'console/dist/index.html')), 'the console is not built: run `npm run build`');
    target = await startCountingTarget();
    server = await startServerProcess({ command: 'start', env: { STATUSFLOW_DATA_DIR: dataDir, STATUSFLOW_ADMIN_KEY: TEST_ADMIN_KEY } });
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

  step('sign in with an API key (kept out of URLs)', async () => {
    await page.goto('/');
    await page.getByLabel('API key').waitFor();
    await shoot(page, 'sign-in');
    g.expectHttpError(/\/api\/v1\/me$/, 401);
    await page.getByLabel('API key').fill('sf_not_a_key_000000000');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('alert').filter({ hasText: 'not valid' }).waitFor();
    await page.getByLabel('API key').fill(TEST_ADMIN_KEY);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByText('Welcome to Statusflow').waitFor();
    await page.getByText('Live', { exact: true }).waitFor();
    assert.ok(!page.url().includes(TEST_ADMIN_KEY));
    assert.equal(await page.evaluate('localStorage.length'), 0, 'nothing in localStorage');
    // A marker that a reload would erase: the rest of the test never reloads.
    await page.evaluate('window.__sameDocument = true');
    g.assertClean();
  });

  step('create the Order type with a requirement (its expression checked inline)', async () => {
    await page.getByRole('link', { name: 'Create an entity type' }).click();
    await page.getByLabel('Key', { exact: true }).fill('order');
    await page.getByLabel('Name', { exact: true }).fill('Order');
    await page.getByLabel('Attribute 1 key').fill('order_number');
    await page.getByRole('button', { name: '+ Attribute' }).click();
    await page.getByLabel('Attribute 2 key').fill('total');
    await page.getByLabel('Attribute 2 type').selectOption('number');
    await page.getByRole('button', { name: '+ Attribute' }).click();
    await page.getByLabel('Attribute 3 key').fill('customer_email');
    await page.getByRole('button', { name: '+ Status' }).click();
    await page.getByLabel('Status 2 key').fill('received');
    await page.getByLabel('Status 2 name').fill('Received');
    await page.getByRole('button', { name: '+ Requirement' }).click();
    await page.getByLabel('Requirement 1 key').fill('has_email');
    await page.getByLabel('Requirement 1 message').fill('Customer email is required');
    await typeExpression(page, 'Requirement 1 condition', '$exists(customer_email) and (');
    await page.getByRole('alert').filter({ hasText: 'line 1, column' }).waitFor();
    await typeExpression(page, 'Requirement 1 condition', "$exists(customer_email) and customer_email != ''");
    await page.getByRole('button', { name: '+ Transition' }).click();
    await page.getByLabel('Transition 1 when has_email passes').check();
    await shoot(page, 'entity-type', { fullPage: true });
    await page.getByRole('button', { name: 'Create type' }).click();
    await page.waitForURL('**/types/order');
    await nav(page, 'Order').waitFor();
    const stored = await api(server.origin, 'GET', '/api/v1/entity-types/order');
    assert.equal(stored.status, 200);
    assert.deepEqual(stored.json.transitions[0].when, ['has_email']);
    g.assertClean();
  });

  step('add a connection to the capture server', async () => {
    await nav(page, 'Connections').click();
    await page.getByText('No connection yet').waitFor();
    await page.getByRole('button', { name: 'Add connection' }).click();
    const dialog = page.getByRole('dialog');
    await dialog.getByLabel('Key', { exact: true }).fill('target');
    await dialog.getByLabel('Name', { exact: true }).fill('Capture server');
    await dialog.getByLabel('Base URL').fill(target.url);
    await dialog.getByLabel(/Secret headers/).fill('{"Authorization": "Bearer secret"}');
    await dialog.getByRole('button', { name: 'Save' }).click();
    await page.getByRole('cell', { name: /Capture server/ }).waitFor();
    await page.getByText('headers:').waitFor();
    await page.getByRole('button', { name: 'Test' }).click();
    await page.getByRole('status').filter({ hasText: /works|_/ }).waitFor();
    await shoot(page, 'connections');
    g.assertClean();
  });

  step('create a process, edit its task list (reorder by keyboard) and see the new versions', async () => {
    await nav(page, 'API processes').click();
    await page.getByText('No API process yet').waitFor();
    await page.getByRole('button', { name: 'New process' }).click();
    const dialog = page.getByRole('dialog');
    await dialog.getByLabel('Key').fill('notify');
    await dialog.getByLabel('Name').fill('Notify the shop');
    await dialog.getByLabel('Trigger').selectOption('received');
    await dialog.getByRole('button', { name: 'Create and edit tasks' }).click();
    await page.waitForURL('**/processes/notify');

    await page.getByRole('button', { name: 'Remove wait' }).click();
    await page.getByLabel('Kind of the new task').selectOption('http.request');
    await page.getByRole('button', { name: '+ Add task' }).click();
    await page.getByLabel('Connection').selectOption('target');
    await typeExpression(page, 'request Path', "'/orders'");
    await page.getByRole('tab', { name: 'Settings' }).click();
    await page.getByLabel('Enabled').check();
    await page.getByRole('button', { name: 'Save as new version' }).click();
    await page.getByRole('status').filter({ hasText: 'Saved as version 2' }).waitFor();

    // A second task, moved above the first with the keyboard only.
    await page.getByRole('tab', { name: /Tasks/ }).click();
    await page.getByLabel('Kind of the new task').selectOption('delay');
    await page.getByRole('button', { name: '+ Add task' }).click();
    await page.getByLabel('Wait (ms)').fill('0');
    await page.getByRole('button', { name: /Reorder delay/ }).focus();
    // Each key waits for what the one before did (dnd-kit measures the list in the frames after a pick-up).
    await page.keyboard.press('Space');
    await page.waitForFunction(`document.activeElement?.getAttribute('aria-pressed') === 'true'`);
    await page.evaluate('new Promise((resolve) => requestAnimationFrame(() => requestAnimationFrame(resolve)))');
    await page.keyboard.press('ArrowUp');
    // dnd-kit's live region: "Draggable item <id> was moved over droppable area <another id>."
    await page.locator('[id^="DndLiveRegion"]').filter({ hasText: /item (task-\d+) was moved over droppable area (?!\1\.)task-\d+\./ }).waitFor({ state: 'attached' });
    await page.keyboard.press('Space');
    await page.waitForFunction(`[...document.querySelectorAll('[data-task]')].map((e) => e.dataset.task).join() === 'delay,request'`);
    await shoot(page, 'process-settings', { fullPage: true });
    await page.getByRole('button', { name: 'Save as new version' }).click();
    await page.getByRole('status').filter({ hasText: 'Saved as version 3' }).waitFor();
    await page.getByRole('tab', { name: 'Version history' }).click();
    await page.getByRole('heading', { name: 'Version 2 → 3' }).waitFor();
    await page.locator('pre.diff').filter({ hasText: '"kind": "delay"' }).waitFor();
    await shoot(page, 'process-versions');
    const stored = await api(server.origin, 'GET', '/api/v1/processes/notify');
    assert.equal(stored.json.version, 3);
    assert.deepEqual(stored.json.tasks.map((t: { key: string }) => t.key), ['delay', 'request']);
    g.assertClean();
  });

  let orderId = '';
  /** Hits of the capture server before the order exists (the connection test calls it too). */
  let hitsBefore = 0;
  step('an order that fails the requirement shows it; fixing it moves it to Received and its run finishes live', async () => {
    hitsBefore = target.hits.length;
    await nav(page, 'Order').click();
    await page.getByText('No order yet').waitFor();
    await page.getByRole('button', { name: 'New order' }).click();
    const dialog = page.getByRole('dialog');
    await dialog.getByLabel(/order_number/).fill('ORD-1042');
    await dialog.getByLabel(/total/).fill('120');
    await dialog.getByRole('button', { name: 'Create' }).click();
    await page.waitForURL(/\/entities\/order\/\w+$/);
    orderId = page.url().split('/').pop()!;
    const req = page.locator('[data-requirement=has_email]');
    await req.filter({ hasText: 'failed' }).waitFor();
    await req.filter({ hasText: 'Customer email is required' }).waitFor();
    await page.getByText('Needed to move to Received').waitFor();
    await page.getByText('No process has run for this entity yet.').waitFor();
    await shoot(page, 'entity-failing', { fullPage: true });

    await page.getByLabel(/customer_email/).fill('ann@example.com');
    await page.getByRole('button', { name: 'Save', exact: true }).click();
    await req.filter({ hasText: 'passed' }).waitFor();
    await page.locator('.page-head .chip.status', { hasText: 'received' }).waitFor();
    await page.getByRole('heading', { name: 'Status timeline' }).waitFor();
    await page.getByText('New → Received').waitFor();
    // The triggered run appears and finishes, pushed by the stream.
    const runs = page.getByRole('table', { name: 'Runs of this entity' });
    await runs.locator('.chip.succeeded').waitFor({ timeout: 20_000 });
    assert.equal(target.hits.length - hitsBefore, 1, 'the process called the capture server once');
    assert.equal(await page.evaluate('window.__sameDocument'), true, 'no reload');
    await shoot(page, 'entity-detail', { fullPage: true });
    g.assertClean();
  });

  step('the entity list: where search shows the API error inline, then filters', async () => {
    await nav(page, 'Order').click();
    await page.getByRole('table', { name: 'Order entities' }).getByRole('row').nth(1).waitFor();
    g.expectHttpError(/\/api\/v1\/entities\/order\?/, 400);
    await typeExpression(page, 'Where condition', '$eval("1")');
    await page.keyboard.press('Enter');
    await page.getByRole('alert').filter({ hasText: 'EXPR_FORBIDDEN' }).waitFor();
    assert.match(await page.getByRole('alert').filter({ hasText: 'EXPR_FORBIDDEN' }).innerText(), /line 1, column 1: \$eval is not allowed/);
    await typeExpression(page, 'Where condition', 'total > 100');
    await page.getByRole('button', { name: 'Search' }).click();
    await page.waitForURL(/where=total/);
    await page.getByRole('cell', { name: 'ORD-1042' }).waitFor();
    await shoot(page, 'entities');
    g.assertClean();
  });

  step('process entity from its row: dry run first, then run and watch the steps finish', async () => {
    await page.getByRole('button', { name: `Process entity ${orderId.slice(-8)}` }).click();
    const dialog = page.getByRole('dialog');
    await dialog.getByLabel('Process').waitFor();
    await dialog.getByRole('button', { name: 'Dry run' }).click();
    const dry = dialog.getByRole('region', { name: 'Dry run result' });
    await dry.locator('[data-step=request] .chip.evaluated').waitFor();
    await dry.getByText('"path": "/orders"').waitFor();
    assert.equal(target.hits.length - hitsBefore, 1, 'a dry run sends nothing');
    await audit(page, 'process-entity modal (dry run)');
    await dialog.getByRole('button', { name: 'Run now' }).click();
    const run = dialog.getByRole('region', { name: 'Run' });
    await run.locator('[data-step=request] .chip.succeeded').waitFor({ timeout: 20_000 });
    await run.locator('.chip.succeeded').first().waitFor();
    assert.equal(target.hits.length - hitsBefore, 2);
    await shoot(page, 'process-entity');
    await dialog.getByRole('link', { name: 'Open run' }).click();
    await page.getByRole('heading', { name: 'Steps' }).waitFor();
    await page.locator('[data-step=request]').getByText('1 attempt').waitFor();
    await shoot(page, 'run-detail', { fullPage: true });
    await nav(page, 'Runs').click();
    await page.getByRole('table', { name: 'Runs' }).locator('.chip.succeeded').nth(1).waitFor();
    await shoot(page, 'runs');
    await nav(page, 'API processes').click();
    await page.locator('[data-process=notify]').getByText('2 succeeded').waitFor();
    await shoot(page, 'processes');
    await nav(page, 'Entity types').click();
    await page.getByRole('table', { name: 'Entity types' }).getByRole('link', { name: 'Order' }).waitFor();
    await shoot(page, 'entity-types');
    g.assertClean();
  });

  step('a concurrent edit is refused (If-Match), then saved over on purpose without losing either change', async () => {
    await nav(page, 'Order').click();
    await page.getByRole('link', { name: orderId.slice(-8) }).click();
    await page.locator('[data-requirement=has_email]').waitFor();
    await page.getByLabel(/total/).fill('150');
    const other = await api(server.origin, 'PATCH', `/api/v1/entities/order/${orderId}`, { attributes: { customer_email: 'bob@example.com' } });
    assert.equal(other.status, 200);
    // The stream brings the other save in; the form keeps the edit being made.
    await page.getByText(`version ${other.json.version}`).waitFor();
    g.expectHttpError(new RegExp(`/api/v1/entities/order/${orderId}$`), 409);
    await page.getByRole('button', { name: 'Save', exact: true }).click();
    await page.getByRole('alert').filter({ hasText: 'refused, not lost' }).waitFor();
    await page.getByRole('button', { name: /Keep my edits and save over version/ }).click();
    await page.getByRole('button', { name: 'Save', exact: true }).click();
    await page.getByText(`version ${other.json.version + 1}`).waitFor();
    const saved = await api(server.origin, 'GET', `/api/v1/entities/order/${orderId}`);
    assert.deepEqual([saved.json.attributes.total, saved.json.attributes.customer_email], [150, 'bob@example.com']);
    g.assertClean();
  });

  step('a viewer sees no edit or run buttons; tablet width works', async () => {
    const created = await api(server.origin, 'POST', '/api/v1/api-keys', { name: 'Read only', role: 'viewer' });
    assert.equal(created.status, 201);
    const v = await guardedPage(browser, server.origin, { width: 820, height: 1100 });
    await v.page.goto('/');
    await v.page.getByLabel('API key').fill(created.json.key);
    await v.page.getByRole('button', { name: 'Sign in' }).click();
    await v.page.getByRole('cell', { name: 'ORD-1042' }).waitFor();
    assert.equal(await v.page.getByRole('button', { name: /New order|Process entity/ }).count(), 0);
    await v.page.getByRole('link', { name: orderId.slice(-8) }).click();
    await v.page.locator('[data-requirement=has_email]').waitFor();
    assert.equal(await v.page.getByRole('button', { name: /Save|Process entity/ }).count(), 0);
    assert.equal(await v.page.getByLabel(/customer_email/).isDisabled(), true);
    await shoot(v.page, 'entity-detail-tablet-viewer', { fullPage: true });
    v.assertClean();
    await v.page.context().close();
  });
});
