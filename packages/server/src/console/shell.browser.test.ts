import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { extraSegments, sections } from '../../../console/src/sections.js';
import { type ConsoleHarness, consoleSkip, startConsole } from '../test-support/console.js';
import { CONSOLE_CSP, CONSOLE_SECTIONS } from './routes.js';

/**
 * The console's shell in real Chromium (issue 17): served at / under a strict CSP, sign-in by
 * keyboard, navigation by role, English and German, 360 px wide, a page's own errors and empty
 * states, and axe-core on every state. The pages' own flows have their own browser tests.
 */
describe('the console shell in Chromium', { skip: consoleSkip }, () => {
  let h: ConsoleHarness;

  before(async () => {
    h = await startConsole('sqlite');
    await h.t.org('acme');
    await h.t.org('globex');
  });
  after(async () => {
    await h?.close();
  });

  it('answers every console path with the page, under the strict CSP, and keeps API 404s as problems', async () => {
    assert.deepEqual(
      [...CONSOLE_SECTIONS].sort(),
      [...sections.map((s) => s.segment).filter(Boolean), ...extraSegments].sort(),
      "the server's list of console paths is the console's",
    );
    for (const path of ['/', '/devices', '/devices/dev_x/telemetry', '/sign-in', '/docs']) {
      const page = await h.t.app.http.inject({ method: 'GET', url: path });
      assert.equal(page.statusCode, 200, path);
      assert.equal(page.headers['content-security-policy'], CONSOLE_CSP);
      assert.match(String(page.headers['content-type']), /text\/html/);
      assert.doesNotMatch(page.body, /<script(?![^>]*\bsrc=)[^>]*>/, 'no inline script');
    }
    const asset = /src="(\/assets\/[^"]+\.js)"/.exec(
      (await h.t.app.http.inject({ method: 'GET', url: '/' })).body,
    )?.[1];
    assert.ok(asset);
    const compressed = await h.t.app.http.inject({
      method: 'GET',
      url: asset,
      headers: { 'accept-encoding': 'gzip, br' },
    });
    assert.equal(compressed.headers['content-encoding'], 'br');
    assert.match(String(compressed.headers['cache-control']), /immutable/);
    const missing = await h.t.app.http.inject({ method: 'GET', url: '/assets/..%2f..%2fpackage.json' });
    assert.equal(missing.statusCode, 404);
    const api = await h.t.app.http.inject({ method: 'GET', url: '/v1/nothing-here' });
    assert.equal(api.statusCode, 404);
    assert.match(String(api.headers['content-type']), /problem\+json/);
  });

  it('signs in by keyboard, shows only what the role allows, and passes axe signed out and in', async () => {
    const auditor = await h.person('acme', ['auditor'], 'audrey');
    const page = await h.page();
    await page.goto('/');
    await page.waitForSelector('#email');
    assert.deepEqual(await h.axe(page), [], 'the sign-in page');
    await h.screenshot(page, 'sign-in');
    // A wrong password says so, in the alert, and keeps the person on the page.
    await page.fill('#email', auditor.email);
    await page.fill('#password', 'not the right passphrase');
    await page.keyboard.press('Enter');
    await page.waitForSelector('[role=alert]');
    assert.match((await page.textContent('[role=alert]')) ?? '', /e-mail address or the password is wrong/i);
    assert.deepEqual(await h.axe(page), [], 'the sign-in page with an error');

    await h.signIn(page, auditor);
    const nav = await page.locator('nav.sidenav a').allTextContents();
    assert.ok(nav.includes('Audit log'), nav.join(', '));
    assert.ok(nav.includes('Devices'));
    // The auditor reads everything (issue 16 §1), the disclosure inbox included; an operator does not see it.
    assert.ok(nav.includes('Disclosures'), nav.join(', '));
    // Issue 17: the first load ships at most 200 KB of compressed JavaScript (what crossed the
    // wire for the shell and the overview, Brotli as the server sends it).
    await page.waitForSelector('h1');
    const javascript = await page.evaluate(() =>
      performance
        .getEntriesByType('resource')
        .filter((entry) => entry.name.endsWith('.js'))
        .reduce((sum, entry) => sum + (entry as PerformanceResourceTiming).encodedBodySize, 0),
    );
    assert.ok(javascript > 0 && javascript <= 200 * 1024, `first load: ${javascript} bytes of JavaScript`);
    console.log(`# first load: ${(javascript / 1024).toFixed(1)} KB of compressed JavaScript`);
    // On a page load the skip link is the first stop of the keyboard and leads to the page.
    await page.reload();
    await page.waitForSelector('nav.sidenav');
    await page.keyboard.press('Tab');
    await h.focused(page, { text: 'Skip to content' }, 'the skip link is the first stop');
    assert.deepEqual(h.problems, []);
  });

  it('an auditor sees products but cannot create one; an operator creates one by keyboard', async () => {
    const auditor = await h.person('acme', ['auditor']);
    const page = await h.page();
    await h.signIn(page, auditor);
    await page.click('nav.sidenav >> text=Products');
    await page.waitForSelector('h1:has-text("Products")');
    await page.waitForSelector('.empty');
    assert.match((await page.textContent('.empty')) ?? '', /operator or administrator creates products/);
    assert.equal(await page.locator('#product-name').count(), 0);
    assert.deepEqual(await h.axe(page), [], 'the empty product list');

    const operator = await h.person('acme', ['operator']);
    const second = await h.page();
    await h.signIn(second, operator);
    await second.focus('nav.sidenav >> text=Products');
    await second.keyboard.press('Enter');
    await second.waitForSelector('#product-name');
    await h.focused(second, { tag: 'H1' }, "after a navigation the new page's heading has the focus");
    await second.focus('#product-name');
    await second.keyboard.type('Smart Plug');
    await second.keyboard.press('Tab');
    await second.keyboard.type('SP-1');
    await second.keyboard.press('Tab');
    await second.keyboard.type('rev A');
    // A date field's segments follow Chromium's own locale; its value is ISO 8601 whatever it shows.
    await second.fill('#product-support', '2031-12-31');
    await second.focus('#product-support');
    await second.keyboard.press('Enter');
    await second.waitForSelector('td:has-text("Smart Plug")');
    assert.match((await second.textContent('[role=status].notice')) ?? '', /Smart Plug created/);
    assert.deepEqual(await h.axe(second), [], 'the product list');
    await h.screenshot(second, 'products');
    assert.deepEqual(h.problems, []);
  });

  it('shows a bidirectional override in stored text escaped, so it cannot reorder the page', async () => {
    // "Plug" + RIGHT-TO-LEFT OVERRIDE + "exe.gnp": a browser would show it as "Plugpng.exe".
    const created = await h.t.call('POST', '/v1/orgs/globex/products', {
      body: {
        modelNumber: 'RLO-1',
        name: 'Plug\u202Eexe.gnp',
        hardwareRevision: 'A',
        supportEnds: '2031-12-31',
      },
    });
    assert.equal(created.status, 201, created.raw);
    const admin = await h.person('globex', ['admin']);
    const page = await h.page();
    await h.signIn(page, admin);
    await page.goto('/products');
    await page.waitForSelector('td:has-text("RLO-1")');
    const shown = (await page.textContent('main')) ?? '';
    assert.match(shown, /Plug<U\+202E>exe\.gnp/);
    assert.doesNotMatch(shown, /\u202E/);
    assert.deepEqual(h.problems, []);
  });

  it('speaks German, fits 360 px without sideways scrolling, and says when a page does not exist', async () => {
    const admin = await h.person('acme', ['admin']);
    const page = await h.page({ width: 360, height: 740, locale: 'de-DE' });
    await page.goto('/sign-in');
    await page.waitForSelector('h1:has-text("Anmelden")');
    assert.equal(await page.getAttribute('html', 'lang'), 'de');
    await h.signIn(page, admin);
    await page.goto('/products');
    await page.waitForSelector('h1:has-text("Produkte")');
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    assert.ok(overflow <= 0, `the page is ${overflow} px wider than the screen`);
    assert.deepEqual(await h.axe(page), [], 'German, 360 px');
    await h.screenshot(page, 'products-de-360');
    await page.goto('/settings/nothing/here');
    await page.waitForSelector('h1:has-text("Seite nicht gefunden")');
    assert.deepEqual(h.problems, []);
  });
});
