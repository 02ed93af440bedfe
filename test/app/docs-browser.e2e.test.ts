/**
 * /docs in a real browser (Debian's chromium driven by playwright-core): the page loads from the
 * service alone, a token goes in through Authorize, and "Try it out" on the list endpoint answers
 * 200 with the JSON envelope. The screenshot is kept in test-artifacts/ (gitignored).
 */
import { existsSync, mkdirSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromium, type Browser } from 'playwright-core';
import { createTestApp, listenOnLoopback, type TestApp } from '../helpers/app.js';
import { demoCustomers } from '../../src/customers/demo-data.js';

const CHROMIUM = '/usr/bin/chromium';
const ARTIFACTS = new URL('../../test-artifacts/', import.meta.url);
const present = existsSync(CHROMIUM);
if (!present) console.warn(`docs-browser: skipped, ${CHROMIUM} is absent (apt-get install -y chromium; .ci/run installs it)`);

describe.skipIf(!present)(`GET /docs in Chromium${present ? '' : ` (skipped: ${CHROMIUM} is absent)`}`, () => {
  let t: TestApp;
  let origin: string;
  let browser: Browser;
  beforeAll(async () => {
    t = await createTestApp({ customers: demoCustomers });
    origin = await listenOnLoopback(t);
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'], headless: true });
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    await t?.close();
  });

  it('authorizes with a token and runs "Try it out" on the list: 200 with the envelope', async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 1600 } });
    const problems: string[] = [];
    page.on('console', (message) => {
      if (message.type() === 'error') problems.push(message.text());
    });
    page.on('pageerror', (error) => problems.push(error.message));
    // Nothing may come from anywhere but the service itself.
    const elsewhere: string[] = [];
    page.on('request', (request) => {
      if (!request.url().startsWith(origin) && !request.url().startsWith('data:')) elsewhere.push(request.url());
    });

    await page.goto(`${origin}/docs`);
    const operation = page.locator('#operations-list-simple-getListSimple');
    await operation.waitFor();

    await page.locator('.auth-wrapper button.authorize').click();
    await page.locator('.modal-ux input[type=text]').fill(`Token ${t.token}`);
    await page.locator('.modal-ux .auth-btn-wrapper button[type=submit]').click();
    await page.locator('.modal-ux button.btn-done').click();

    await operation.locator('.opblock-summary').click();
    await operation.locator('.try-out__btn').click();
    await operation.locator('button.execute').click();
    const status = operation.locator('.live-responses-table .response .response-col_status').first();
    await status.waitFor();
    const body = await operation.locator('.live-responses-table .response-col_description pre').first().innerText();

    mkdirSync(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: new URL('docs-try-it-out.png', ARTIFACTS).pathname, fullPage: true });

    expect((await status.innerText()).trim()).toBe('200');
    expect(JSON.parse(body)).toMatchObject({ count: demoCustomers.length, next: null, previous: null, results: expect.any(Array) });
    expect(JSON.parse(body).results[0]).toEqual(demoCustomers[0]);
    expect(problems).toEqual([]);
    expect(elsewhere).toEqual([]);
  }, 60_000);
});
