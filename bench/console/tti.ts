/**
 * Time to interactive of the console's entity list with 100,000 entities, on this machine.
 *
 * Starts `statusflow start` on a temp SQLite data dir, creates 100,000 orders through the API, then
 * loads /entities/order in headless Chromium (a fresh page each time, the API key put in
 * sessionStorage as sign-in does) and measures, from navigation start:
 *  - first row: the first entity row painted;
 *  - interactive: 50 rows shown, the live stream connected, and the main thread idle (no long task
 *    for 500 ms, read from the browser's long-task entries), i.e. a click is answered at once;
 * plus the time to show the next page (cursor pagination) and a `where` search.
 * Prints the figures and writes bench/results/console-tti.{txt,json}.
 *
 *   npx tsx bench/console/tti.ts [--entities 100000] [--loads 5]
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir, cpus } from 'node:os';
import { join } from 'node:path';
import { api, mapConcurrent, ROOT, startServerProcess, TEST_ADMIN_KEY } from '../../test/support/server-process.js';
import { findChromium, launch } from '../../test/support/browser.js';

const arg = (name: string, dflt: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : dflt;
};
const ENTITIES = arg('entities', 100_000);
const LOADS = arg('loads', 5);
const chromiumPath = findChromium();
if (!chromiumPath) {
  console.error('no Chromium binary (apt-get install chromium)');
  process.exit(1);
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

const dataDir = mkdtempSync(join(tmpdir(), 'statusflow-tti-'));
const server = await startServerProcess({ command: 'start', env: { STATUSFLOW_DATA_DIR: dataDir, STATUSFLOW_ADMIN_KEY: TEST_ADMIN_KEY } });
try {
  const type = await api(server.origin, 'PUT', '/api/v1/entity-types/order', {
    name: 'Order',
    attributes: [
      { key: 'order_number', type: 'string', required: true },
      { key: 'total', type: 'number' },
      { key: 'customer_email', type: 'string' },
      { key: 'channel', type: 'enum', values: ['web', 'phone'] },
    ],
    statuses: [
      { key: 'new', name: 'New', initial: true },
      { key: 'received', name: 'Received' },
    ],
    requirements: [{ key: 'has_email', condition: "$exists(customer_email) and customer_email != ''", message: 'Customer email is required' }],
    transitions: [{ from: ['new'], to: 'received', when: ['has_email'], auto: true }],
  });
  if (type.status >= 300) throw new Error(JSON.stringify(type.json));
  const t0 = Date.now();
  await mapConcurrent(
    Array.from({ length: ENTITIES }, (_, i) => i),
    32,
    async (i) => {
      const r = await api(server.origin, 'POST', '/api/v1/entities/order', {
        attributes: { order_number: `ORD-${i}`, total: (i % 500) + 1, channel: i % 3 ? 'web' : 'phone', ...(i % 4 ? { customer_email: `c${i}@example.com` } : {}) },
      });
      if (r.status !== 201) throw new Error(`create ${i}: ${r.status} ${JSON.stringify(r.json)}`);
    },
  );
  const seedMs = Date.now() - t0;
  console.log(`seeded ${ENTITIES} orders in ${(seedMs / 1000).toFixed(1)} s`);

  const browser = await launch(chromiumPath);
  const loads: { firstRow: number; interactive: number; nextPage: number; where: number }[] = [];
  for (let n = 0; n < LOADS; n++) {
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    await context.addInitScript(`sessionStorage.setItem('statusflow.key', ${JSON.stringify(TEST_ADMIN_KEY)});
      window.__longTasks = []; new PerformanceObserver((l) => { for (const e of l.getEntries()) window.__longTasks.push(e.startTime + e.duration); }).observe({ type: 'longtask', buffered: true });`);
    const page = await context.newPage();
    await page.goto(`${server.origin}/entities/order`);
    await page.waitForSelector('table[aria-label="Order entities"] tbody tr a');
    const firstRow = (await page.evaluate('performance.now()')) as number;
    await page.waitForFunction(`document.querySelectorAll('table[aria-label="Order entities"] tbody tr').length === 50 && document.querySelector('.live.on')`);
    // Interactive: the last long task ended, and none came for 500 ms after it.
    const interactive = (await page.evaluate(`new Promise((resolve) => {
      const check = () => {
        const last = Math.max(0, ...window.__longTasks);
        if (performance.now() - last >= 500) resolve(Math.max(last, window.__readyAt ?? 0));
        else setTimeout(check, 50);
      };
      window.__readyAt = performance.now();
      check();
    })`)) as number;
    const firstId = await page.locator('table[aria-label="Order entities"] tbody tr a').first().innerText();
    const s1 = Date.now();
    await page.getByRole('button', { name: 'Older →' }).click();
    await page.waitForFunction(`document.querySelector('table[aria-label="Order entities"] tbody tr a')?.innerText !== ${JSON.stringify(firstId)}`);
    const nextPage = Date.now() - s1;
    const s2 = Date.now();
    await page.locator('.cm-content[aria-label="Where condition"]').click();
    await page.keyboard.type('total > 490 and channel = "phone"');
    await page.keyboard.press('Enter');
    await page.waitForURL(/where=/);
    await page.waitForFunction(`[...document.querySelectorAll('table[aria-label="Order entities"] tbody tr')].length > 0 && !document.body.innerText.includes('Updating…')`);
    const where = Date.now() - s2;
    loads.push({ firstRow: Math.round(firstRow), interactive: Math.round(interactive), nextPage, where });
    console.log(`load ${n + 1}: first row ${Math.round(firstRow)} ms, interactive ${Math.round(interactive)} ms, next page ${nextPage} ms, where search ${where} ms`);
    await context.close();
  }
  await browser.close();
  const result = {
    entities: ENTITIES,
    loads: LOADS,
    machine: `${cpus().length} × ${cpus()[0]?.model ?? '?'}, shared`,
    medianMs: {
      firstRow: median(loads.map((l) => l.firstRow)),
      interactive: median(loads.map((l) => l.interactive)),
      nextPage: median(loads.map((l) => l.nextPage)),
      where: median(loads.map((l) => l.where)),
    },
    runs: loads,
    measuredAt: new Date().toISOString(),
  };
  const text = [
    `Console entity list, ${ENTITIES.toLocaleString('en')} orders (SQLite), headless Chromium, ${result.machine}; median of ${LOADS} cold loads:`,
    `  first row painted      ${result.medianMs.firstRow} ms`,
    `  time to interactive    ${result.medianMs.interactive} ms  (50 rows, stream live, no long task for 500 ms after)`,
    `  next page (cursor)     ${result.medianMs.nextPage} ms`,
    `  where search           ${result.medianMs.where} ms  (total > 490 and channel = "phone")`,
    `  build: ${readFileSync(join(ROOT, 'console/bundle-size.txt'), 'utf8').split('\n')[0]}`,
    `  seeding the ${ENTITIES.toLocaleString('en')} orders through the API took ${(seedMs / 1000).toFixed(0)} s (load average ${(await import('node:os')).loadavg()[0]!.toFixed(1)} at the end)`,
    '',
  ].join('\n');
  process.stdout.write(text);
  writeFileSync(join(ROOT, 'bench/results/console-tti.txt'), text);
  writeFileSync(join(ROOT, 'bench/results/console-tti.json'), JSON.stringify(result, null, 2) + '\n');
} finally {
  await server.stop();
  rmSync(dataDir, { recursive: true, force: true });
}
