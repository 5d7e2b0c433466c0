import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { type Browser, chromium } from 'playwright-core';
import { plugCapabilities, type TestApp, testApp } from '../../test-support/app.js';

/** Debian's Chromium; `.ci/run` installs it when it is missing. */
const CHROMIUM = ['/usr/bin/chromium', '/usr/bin/chromium-browser'].find((p) => existsSync(p));

/**
 * The public pages in a real browser: a researcher files a report through the form with hostile
 * text, follows the link to the status page, and no script of theirs ever runs.
 */
describe('public security pages in Chromium', {
  skip: !CHROMIUM && !process.env.CI ? 'Chromium is not installed (CI installs it)' : false,
}, () => {
  let t: TestApp;
  let browser: Browser;
  let base: string;

  before(async () => {
    assert.ok(CHROMIUM, 'Chromium is required in CI');
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
    await page.fill('#title', hostile);
    await page.fill('#description', `Steps:\n${hostile}`);
    await page.fill('#contact', 'researcher@example.org');
    await Promise.all([page.waitForURL(/\/report$/), page.click('button[type=submit]')]);
    assert.equal(await page.locator('h1').textContent(), 'Thank you');
    const tracking = await page.locator('code').textContent();
    assert.match(tracking ?? '', /^[A-Za-z0-9_-]{20,}$/);
    await page.click('a');
    assert.equal(await page.locator('h1').textContent(), hostile, 'shown as text');
    assert.equal(await page.locator('h1 script, h1 img').count(), 0, 'no element made from the input');
    assert.match((await page.locator('body').textContent()) ?? '', /Status: received/);
    assert.deepEqual(dialogs, []);
    const stored = await t.call('GET', '/v1/orgs/acme/disclosures');
    assert.equal(stored.body.items[0].description, `Steps:\n${hostile}`);
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
  });
});
