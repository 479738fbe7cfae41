// The reference page in a real browser: headless Chromium (playwright-core, the system's chromium) opens
// /api/docs from a local server that answers as the dev server does (lib/dev/static.ts), with every
// request off that server refused, so the page proves it needs no network. It must render the endpoint
// list from /api/openapi.json; a screenshot is kept for inspection. Skipped without /usr/bin/chromium,
// unless TEST_REQUIRE_SERVERS=1 (CI installs it).
import { existsSync, mkdtempSync, statSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { getRequestListener } from '@hono/node-server';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { serveStatic } from '../../lib/dev/static.js';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const present = existsSync(CHROMIUM);
if (!present) {
  if (process.env.TEST_REQUIRE_SERVERS === '1') throw new Error(`TEST_REQUIRE_SERVERS=1 but there is no Chromium at ${CHROMIUM} (apt-get install chromium)`);
  console.warn(`[banxway] reference page browser test skipped: no Chromium at ${CHROMIUM}`);
}

describe.skipIf(!present)('the API reference page in Chromium', () => {
  let server: Server;
  let base: string;
  let browser: Browser;

  beforeAll(async () => {
    const listener = getRequestListener(async (request) => (await serveStatic(request)) ?? new Response('not found', { status: 404 }));
    server = createServer((req, res) => void listener(req, res));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const address = server.address();
    base = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
    });
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  });

  it('renders the endpoint list from /api/openapi.json without the network', async () => {
    const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
    const offsite: string[] = [];
    const errors: string[] = [];
    page.on('pageerror', (error) => errors.push(error.message));
    await page.route('**/*', (route) => {
      const url = route.request().url();
      if (url.startsWith(base) || url.startsWith('data:') || url.startsWith('blob:')) return route.continue();
      offsite.push(url);
      return route.abort();
    });
    await page.goto(`${base}/api/docs`);
    // Redoc's sidebar: one entry per operation, under its tag.
    await page
      .getByRole('heading', { name: /Banxway API/ })
      .first()
      .waitFor({ timeout: 60_000 });
    await page.locator('.menu-content').waitFor({ timeout: 60_000 });
    const menu = await page.locator('.menu-content').innerText();
    for (const tag of ['threads', 'shipments', 'customers', 'webhook-endpoints']) expect(menu.toLowerCase()).toContain(tag);
    await page.locator('.menu-content').getByText('threads', { exact: true }).first().click();
    const operations = await page.locator('.menu-content li[data-item-id^="tag/threads/operation"]').count();
    expect(operations).toBeGreaterThan(10);
    const shot = join(mkdtempSync(join(tmpdir(), 'banxway-docs-')), 'api-docs.png');
    await page.screenshot({ path: shot, fullPage: false });
    expect(statSync(shot).size).toBeGreaterThan(10_000);
    console.info(`[banxway] reference page screenshot: ${shot}`);
    expect(offsite).toEqual([]);
    expect(errors).toEqual([]);
    await page.close();
  }, 120_000);
});
