import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { type Browser, chromium } from 'playwright-core';
import { plugCapabilities, type TestApp, testApp } from '../../test-support/app.js';
import { accessibilityViolations } from '../../test-support/axe.js';
import { chromiumPath, missingMessage, skippedParts } from '../../test-support/parts.js';

/** Debian's Chromium; `.ci/run` installs it when it is missing. */
const CHROMIUM = chromiumPath;

/**
 * The public pages in a real browser: a researcher files a report through the form with hostile
 * text, follows their private tracking link, exchanges messages with the maker, and no script of
 * theirs ever runs; every page passes axe-core.
 */
describe('public security pages in Chromium', {
  // Missing Chromium fails the run (before), unless the run said BRICKLESS_TEST_SKIP=chromium.
  skip:
    !CHROMIUM && skippedParts().has('chromium')
      ? 'Chromium is missing and BRICKLESS_TEST_SKIP names it'
      : false,
}, () => {
  let t: TestApp;
  let browser: Browser;
  let base: string;

  before(async () => {
    assert.ok(CHROMIUM, missingMessage('chromium'));
    t = await testApp('sqlite');
    await t.org('acme');
    await t.call('POST', '/v1/orgs/acme/products', {
      body: {
        modelNumber: 'PLUG-1',
        name: 'Smart <b>Plug</b>',
        hardwareRevision: 'A',
        supportEnds: '2031-12-31',
        capabilities: plugCapabilities,
      },
    });
    await t.app.http.listen({ host: '127.0.0.1', port: 0 });
    base = `http://127.0.0.1:${(t.app.http.server.address() as AddressInfo).port}`;
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
  });
  after(async () => {
    await browser?.close();
    await t?.close();
  });

  it('takes a report through the form and shows its status without running anything it contains', async () => {
    const page = await browser.newPage();
    const dialogs: string[] = [];
    page.on('dialog', async (dialog) => {
      dialogs.push(dialog.message());
      await dialog.dismiss();
    });
    const hostile = `<script>alert('xss')</script><img src=x onerror="alert('img')">`;
    await page.goto(`${base}/public/orgs/acme/report`);
    assert.equal(await page.locator('h1').textContent(), 'Report a vulnerability to Org acme');
    assert.deepEqual(await accessibilityViolations(page), [], 'the report form');
    await page.fill('#title', hostile);
    await page.fill('#description', `Steps:\n${hostile}`);
    await page.fill('#contact', 'researcher@example.org');
    const [confirmation] = await Promise.all([
      page.waitForResponse((r) => r.request().method() === 'POST'),
      page.click('button[type=submit]'),
    ]);
    assert.equal(confirmation.headers()['cache-control'], 'no-store', 'the secret is on this page');
    assert.equal(await page.locator('h1').textContent(), 'Thank you');
    assert.deepEqual(await accessibilityViolations(page), [], 'the confirmation page');
    const link = await page.locator('a').textContent();
    assert.match(link ?? '', /\/public\/reports\/[A-Za-z0-9_-]{43}$/);
    const [tracking] = await Promise.all([page.waitForResponse(/\/public\/reports\//), page.click('a')]);
    assert.equal(tracking.headers()['referrer-policy'], 'no-referrer');
    assert.equal(await page.locator('h1').textContent(), hostile, 'shown as text');
    assert.equal(await page.locator('h1 script, h1 img').count(), 0, 'no element made from the input');
    assert.match((await page.locator('body').textContent()) ?? '', /Status: received/);
    assert.deepEqual(await accessibilityViolations(page), [], 'the tracking page, no messages yet');

    // The researcher writes through the page's form (a real browser's Origin and Sec-Fetch-Site
    // pass the same-origin check), the maker answers through the API, both shown as text.
    await page.fill('#message', `Retested:\n${hostile}`);
    await Promise.all([page.waitForURL(/#messages$/), page.click('button[type=submit]')]);
    const stored = await t.call('GET', '/v1/orgs/acme/disclosures');
    assert.equal(stored.body.items[0].description, `Steps:\n${hostile}`);
    const id = stored.body.items[0].id as string;
    const reply = await t.call('POST', `/v1/orgs/acme/disclosures/${id}/messages`, {
      body: { message: `Thanks. ${hostile}` },
    });
    assert.equal(reply.status, 201, reply.raw);
    await page.reload();
    const messages = await page.locator('ol.thread .message').allTextContents();
    assert.deepEqual(messages, [`Retested:\n${hostile}`, `Thanks. ${hostile}`]);
    assert.equal(await page.locator('ol.thread script, ol.thread img').count(), 0);
    assert.deepEqual(await accessibilityViolations(page), [], 'the tracking page with messages');
    assert.deepEqual(dialogs, []);
    const thread = await t.call('GET', `/v1/orgs/acme/disclosures/${id}/messages`);
    assert.equal(thread.body.items[0].message, `Retested:\n${hostile}`);
  });

  it('renders the product security page with its support period', async () => {
    const page = await browser.newPage();
    const response = await page.goto(`${base}/public/orgs/acme/products/PLUG-1`);
    assert.match(String(response?.headers()['content-security-policy']), /default-src 'none'/);
    assert.equal(await page.locator('h1').textContent(), 'Smart <b>Plug</b>');
    assert.match(
      (await page.locator('body').textContent()) ?? '',
      /Security updates are provided until 2031-12-31/,
    );
    assert.match((await page.locator('body').textContent()) ?? '', /No advisories have been published/);
    assert.deepEqual(await accessibilityViolations(page), [], 'the product security page');
  });
});
