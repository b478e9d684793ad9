/**
 * Browser tests of the console: Playwright (playwright-core) driving the system's Chromium, headless,
 * `--no-sandbox`. A page is guarded: any console error, page error, failed request or HTTP error
 * response fails the test unless the test said it expects that response (`expectHttpError`). `audit`
 * runs axe-core on the page and fails on serious or critical violations; `shoot` saves light and
 * dark screenshots under docs/screenshots/.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { ROOT } from './server-process.js';

/** The Chromium binary: $CHROMIUM_PATH, else `chromium` or `chromium-browser` on PATH; null when none. */
export function findChromium(): string | null {
  if (process.env.CHROMIUM_PATH) return existsSync(process.env.CHROMIUM_PATH) ? process.env.CHROMIUM_PATH : null;
  for (const name of ['chromium', 'chromium-browser']) {
    try {
      const path = execFileSync('sh', ['-c', `command -v ${name}`], { encoding: 'utf8' }).trim();
      if (path) return path;
    } catch {
      // not on PATH
    }
  }
  return null;
}

/**
 * Where the screenshots go: docs/screenshots/ with UPDATE_SCREENSHOTS=1 (`npm run screenshots`), a
 * temporary folder otherwise, so that `npm test` does not rewrite tracked images on every run.
 */
export const SCREENSHOTS = process.env.UPDATE_SCREENSHOTS === '1' ? join(ROOT, 'docs/screenshots') : join(tmpdir(), 'statusflow-screenshots');

export async function launch(executablePath: string): Promise<Browser> {
  return chromium.launch({ executablePath, headless: true, args: ['--no-sandbox', '--disable-dev-shm-usage', '--disable-gpu'] });
}

export interface GuardedPage {
  page: Page;
  /** What went wrong so far (console errors, page errors, failed or 4xx/5xx requests not expected). */
  problems: string[];
  /** The next response matching `pattern` with an error status (and the console line Chrome logs for it) is expected. */
  expectHttpError(pattern: RegExp, status: number): void;
  /** Fails the test when anything went wrong. */
  assertClean(): void;
}

export async function guardedPage(browser: Browser, origin: string, viewport = { width: 1280, height: 800 }): Promise<GuardedPage> {
  const context = await browser.newContext({ viewport, colorScheme: 'light', baseURL: origin });
  const page = await context.newPage();
  const problems: string[] = [];
  const expected: { pattern: RegExp; status: number; seen: boolean }[] = [];
  page.on('console', (m) => {
    if (m.type() !== 'error') return;
    // Chrome logs every HTTP error response of fetch as a console error: expected ones are allowed.
    const text = m.text();
    const url = m.location().url;
    if (/Failed to load resource: the server responded with a status of (\d+)/.test(text) && expected.some((e) => e.pattern.test(url) && text.includes(`status of ${e.status}`))) return;
    problems.push(`console error: ${text} (${url})`);
  });
  page.on('pageerror', (err) => problems.push(`page error: ${err.message}`));
  page.on('requestfailed', (r) => {
    // A GET the console cancelled itself (the live stream when the page goes, a query whose screen
    // was left) is aborted on purpose; that is not a failure.
    if (r.method() === 'GET' && r.failure()?.errorText === 'net::ERR_ABORTED') return;
    problems.push(`request failed: ${r.method()} ${r.url()} ${r.failure()?.errorText ?? ''}`);
  });
  page.on('response', (r) => {
    if (r.status() < 400) return;
    const e = expected.find((x) => !x.seen && x.pattern.test(r.url()) && x.status === r.status());
    if (e) e.seen = true;
    else problems.push(`HTTP ${r.status()}: ${r.request().method()} ${r.url()}`);
  });
  return {
    page,
    problems,
    expectHttpError(pattern, status) {
      expected.push({ pattern, status, seen: false });
    },
    assertClean() {
      if (problems.length) throw new Error(`the browser saw problems:\n${problems.join('\n')}`);
    },
  };
}

const require = createRequire(import.meta.url);
const AXE = require.resolve('axe-core/axe.min.js');

interface AxeResult {
  violations: { id: string; impact: string | null; help: string; nodes: { target: unknown[] }[] }[];
}

/** axe-core on the page as it is now; throws on serious or critical violations. */
export async function audit(page: Page, screen: string): Promise<void> {
  // Browser-side code as text: this project's TypeScript has no DOM types.
  if (!(await page.evaluate("'axe' in window"))) await page.addScriptTag({ path: AXE });
  const result = (await page.evaluate("axe.run(document, { resultTypes: ['violations'] })")) as AxeResult;
  const bad = result.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  if (bad.length) {
    const lines = bad.map((v) => `${v.impact} ${v.id}: ${v.help} — ${v.nodes.slice(0, 3).map((n) => JSON.stringify(n.target)).join(', ')}`);
    throw new Error(`accessibility violations on ${screen}:\n${lines.join('\n')}`);
  }
}

/** Screenshots of the page in light and dark (`<name>-light.png`, `<name>-dark.png`), each audited with axe. */
export async function shoot(page: Page, name: string, options: { fullPage?: boolean } = {}): Promise<void> {
  mkdirSync(SCREENSHOTS, { recursive: true });
  // From the top: the sticky sidebar would otherwise sit where the page was scrolled to.
  if (options.fullPage) await page.evaluate('window.scrollTo(0, 0)');
  for (const scheme of ['light', 'dark'] as const) {
    await page.emulateMedia({ colorScheme: scheme });
    await page.evaluate('new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)))');
    await audit(page, `${name} (${scheme})`);
    await page.screenshot({ path: join(SCREENSHOTS, `${name}-${scheme}.png`), fullPage: options.fullPage ?? false, animations: 'disabled' });
  }
  await page.emulateMedia({ colorScheme: 'light' });
}
