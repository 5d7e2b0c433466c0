import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { type Browser, chromium, type Page } from 'playwright-core';
import { type TestApp, testApp } from '../test-support/app.js';
import { accessibilityViolations } from '../test-support/axe.js';
import { chromiumPath, missingMessage, skippedParts } from '../test-support/parts.js';

/**
 * The page a one-time link opens, in a real browser over HTTPS (the session cookie is `__Host-`,
 * Secure): the person reads what the link offers, fills the form with the keyboard alone, and is
 * signed in; the secret leaves the address bar; used and expired links say so. Every state of the
 * page passes axe-core, and the page's own script runs under its CSP.
 */
describe('the invitation page in Chromium', {
  skip:
    !chromiumPath && skippedParts().has('chromium')
      ? 'Chromium is missing and BRICKLESS_TEST_SKIP names it'
      : false,
}, () => {
  let t: TestApp;
  let browser: Browser;
  let base: string;
  const cspViolations: string[] = [];

  const open = async (path: string): Promise<Page> => {
    const page = await browser.newPage();
    page.on('console', (message) => {
      if (/Content.Security.Policy|Trusted Type/i.test(message.text())) cspViolations.push(message.text());
    });
    page.on('pageerror', (error) => cspViolations.push(String(error)));
    await page.goto(`${base}${path}`);
    return page;
  };
  const shown = (page: Page, selector: string) => page.waitForSelector(selector, { state: 'visible' });

  before(async () => {
    assert.ok(chromiumPath, missingMessage('chromium'));
    t = await testApp('sqlite', { https: true });
    await t.org('acme');
    await t.app.http.listen({ host: '127.0.0.1', port: 0 });
    base = `https://localhost:${(t.app.http.server.address() as AddressInfo).port}`;
    browser = await chromium.launch({
      executablePath: chromiumPath,
      // The server's own CA is not the browser's: trust is not what this test is about.
      args: ['--no-sandbox', '--ignore-certificate-errors', '--host-resolver-rules=MAP localhost 127.0.0.1'],
    });
  });
  after(async () => {
    await browser?.close();
    await t?.close();
  });

  it('creates the first administrator from the setup link, asking for the e-mail address', async () => {
    const secret = await t.app.services.invitations.setupLink();
    assert.ok(secret);
    const page = await open(`/invitation#${secret}`);
    await shown(page, '#accept');
    assert.equal(new URL(page.url()).hash, '', 'the secret left the address bar');
    assert.match(
      (await page.locator('#offer').textContent()) ?? '',
      /Platform administrator of this brickless/,
    );
    assert.deepEqual(await accessibilityViolations(page), [], 'the form with the e-mail field');
    // The script put the focus in the first field; the keyboard does the rest.
    assert.equal(await page.evaluate(() => document.activeElement?.id), 'email');
    await page.keyboard.type('ada@example.com');
    await page.keyboard.press('Tab');
    await page.keyboard.type('Ada');
    await page.keyboard.press('Tab');
    await page.keyboard.type('too short');
    await page.keyboard.press('Enter');
    await shown(page, '#alert');
    assert.equal(
      await page.locator('#alert').textContent(),
      'Error: The password needs at least 12 characters.',
    );
    assert.equal(await page.getAttribute('#password', 'aria-invalid'), 'true');
    assert.equal(await page.evaluate(() => document.activeElement?.id), 'password');
    assert.deepEqual(await accessibilityViolations(page), [], 'the form with an error');
    await page.keyboard.press('Control+A');
    await page.keyboard.type('analytical engines hum quietly');
    await page.keyboard.press('Tab');
    assert.equal(await page.evaluate(() => document.activeElement?.id), 'submit');
    await page.keyboard.press('Enter');
    await shown(page, '#done');
    assert.equal(
      await page.locator('#signed-in-as').textContent(),
      'You are signed in as Ada (ada@example.com).',
    );
    assert.equal(await page.evaluate(() => document.activeElement?.id), 'done-heading');
    assert.deepEqual(await accessibilityViolations(page), [], 'the success');
    const people = await t.call('GET', '/v1/platform/people');
    const ada = people.body.items.find((p: { email: string }) => p.email === 'ada@example.com');
    assert.equal(ada?.platformAdmin, true, people.raw);
    assert.equal(ada.factors.password, true);
    // The session cookie works: the page's origin reads the person's own profile.
    const me = await page.evaluate(async () => (await fetch('/v1/me')).status);
    assert.equal(me, 200);
    await page.close();
  });

  it('accepts an invitation to an organisation with its roles, by keyboard, then refuses it a second time', async () => {
    const invited = await t.call('POST', '/v1/orgs/acme/invitations', {
      body: { email: 'rita@acme.example', roles: ['release-manager', 'auditor'] },
    });
    assert.equal(invited.status, 201, invited.raw);
    const secret = invited.body.token as string;
    const page = await open(`/invitation#${secret}`);
    await shown(page, '#accept');
    assert.equal(new URL(page.url()).hash, '');
    assert.equal(page.url(), `${base}/invitation`);
    const offer = (await page.locator('#offer').textContent()) ?? '';
    assert.match(offer, /Org acme \(acme\)/);
    assert.match(offer, /auditor, release-manager/);
    assert.match(offer, /rita@acme\.example/);
    assert.equal(await page.locator('#email').count(), 0, 'the invitation names the address');
    assert.deepEqual(await accessibilityViolations(page), [], 'the form');
    assert.equal(await page.evaluate(() => document.activeElement?.id), 'displayName');
    await page.keyboard.type('Rita');
    await page.keyboard.press('Tab');
    await page.keyboard.type('releases ship on tuesdays');
    await page.keyboard.press('Enter');
    await shown(page, '#done');
    assert.equal(
      await page.locator('#signed-in-as').textContent(),
      'You are signed in as Rita (rita@acme.example).',
    );
    assert.match((await page.locator('#done').textContent()) ?? '', /add a passkey in the console/);
    assert.equal(page.url(), `${base}/invitation`, 'no secret in the address');
    const people = await t.call('GET', '/v1/orgs/acme/people');
    const rita = people.body.items.find((p: { email: string }) => p.email === 'rita@acme.example');
    assert.deepEqual([...(rita?.roles ?? [])].sort(), ['auditor', 'release-manager'], people.raw);
    assert.equal(rita.displayName, 'Rita');
    await page.close();

    // The same link again: the API's message, and no form.
    const again = await open(`/invitation#${secret}`);
    await shown(again, '#alert');
    assert.equal(
      await again.locator('#alert').textContent(),
      'Error: This link does not work. this invitation is unknown, used or expired: ask for a new one',
    );
    assert.equal(await again.locator('#accept').isVisible(), false);
    assert.deepEqual(await accessibilityViolations(again), [], 'a used link');
    await again.close();
  });

  it('says in German that an expired link does not work, and that a cut link is incomplete', async () => {
    const invited = await t.call('POST', '/v1/orgs/acme/invitations', {
      body: { email: 'otto@acme.example', roles: ['operator'], expiresInDays: 1 },
    });
    t.clock.advance(2 * 86_400_000);
    const page = await browser.newPage({ locale: 'de-DE' });
    await page.goto(`${base}/invitation#${invited.body.token}`);
    await shown(page, '#alert');
    assert.equal(await page.getAttribute('html', 'lang'), 'de');
    assert.match(
      (await page.locator('#alert').textContent()) ?? '',
      /^Fehler: Dieser Link funktioniert nicht\. .*expired/,
    );
    assert.equal(new URL(page.url()).hash, '');
    assert.deepEqual(await accessibilityViolations(page), [], 'an expired link, in German');
    await page.goto(`${base}/invitation?lang=en#${String(invited.body.token).slice(0, 20)}`);
    await shown(page, '#alert');
    assert.match((await page.locator('#alert').textContent()) ?? '', /This link is incomplete/);
    await page.close();
    assert.deepEqual(cspViolations, [], 'the page ran under its CSP without a refusal');
  });
});
