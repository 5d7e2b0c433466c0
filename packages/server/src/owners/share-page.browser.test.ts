import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Page } from 'playwright-core';
import { plugCapabilities } from '../test-support/app.js';
import { accessibilityViolations } from '../test-support/axe.js';
import { signInOwner } from '../test-support/oauth.js';
import { type OwnerPagesHarness, ownerPagesSkip, startOwnerPages } from '../test-support/owner-pages.js';
import { type OwnerBrowser, ownerClient } from '../test-support/owners.js';

/**
 * The share invitation page (/owner/shares/accept#secret, issue 18 §1) in real Chromium: the owner
 * invites through the API, the invited person opens the mailed link, is asked to sign in, asks for
 * a sign-in link by keyboard, opens it in another tab as a mail client would, comes back and
 * accepts by keyboard. The secret leaves the address bar and reaches the server in no URL and no
 * log line; every state passes axe-core in English and German, under the page's CSP.
 */
describe('the share invitation page in Chromium', { skip: ownerPagesSkip }, () => {
  let h: OwnerPagesHarness;
  const { call } = ownerClient(
    () => h.t,
    () => h.smtp,
  );
  let ana: OwnerBrowser;
  const devices: string[] = [];

  const shown = (page: Page, selector: string) => page.waitForSelector(selector, { state: 'visible' });
  const focusIs = (page: Page, id: string) =>
    page.waitForFunction((expected) => document.activeElement?.id === expected, id);
  const statusSays = (page: Page, pattern: RegExp) =>
    page.waitForFunction(
      (source) => new RegExp(source).test(document.getElementById('status')?.textContent ?? ''),
      pattern.source,
    );

  /** Ana shares device `i` with `email`; the secret is read from the mail as it left the server. */
  const invite = async (i: number, email: string, role: 'user' | 'guest') => {
    const sent = await call('POST', `/v1/owner/devices/${devices[i]}/shares`, {
      owner: ana,
      body: { email, role },
    });
    assert.equal(sent.status, 201, sent.raw);
    return h.mailedSecret(email, '/owner/shares/accept');
  };
  const members = async (i: number) => {
    const listed = await call('GET', `/v1/owner/devices/${devices[i]}/shares`, { owner: ana });
    assert.equal(listed.status, 200, listed.raw);
    return (listed.body.members as { email: string; role: string }[]).map((m) => `${m.email} ${m.role}`);
  };
  /** Opens the mailed sign-in link in a new tab of the same browser, as a mail client does. */
  const openSignInLink = async (page: Page, email: string) => {
    const secret = await h.mailedSecret(email, '/owner/sign-in');
    const tab = await page.context().newPage();
    await tab.goto(`${h.base}/owner/sign-in#${secret}`);
    await shown(tab, '#done');
    await tab.close();
    await page.bringToFront();
    return secret;
  };

  before(async () => {
    h = await startOwnerPages();
    await h.t.org('acme');
    const product = await h.t.call('POST', '/v1/orgs/acme/products', {
      body: {
        modelNumber: 'PLUG-1',
        name: 'Smart plug',
        hardwareRevision: 'A',
        supportEnds: '2031-12-31',
        capabilities: plugCapabilities,
      },
    });
    assert.equal(product.status, 201, product.raw);
    const made = await h.t.call('POST', '/v1/orgs/acme/provisioning', {
      body: { productId: product.body.id, serials: ['S-1', 'S-2'] },
    });
    assert.equal(made.status, 201, made.raw);
    ana = await signInOwner(h.t, h.smtp, 'ana@home.test');
    for (const d of made.body.devices as { deviceId: string; claimCode: string }[]) {
      const claimed = await call('POST', '/v1/owner/claims', { owner: ana, body: { code: d.claimCode } });
      assert.equal(claimed.status, 201, claimed.raw);
      devices.push(d.deviceId);
    }
  });
  after(async () => {
    await h?.close();
  });

  it('asks a person who is not signed in to sign in, sends the link by keyboard, and accepts after they signed in', async () => {
    const secret = await invite(0, 'ben@home.test', 'user');
    const { page } = await h.context('en-GB');
    await page.goto(`${h.base}/owner/shares/accept#${secret}`);
    await shown(page, '#sign-in');
    assert.equal(page.url(), `${h.base}/owner/shares/accept`, 'the secret left the address bar');
    assert.equal(await page.getAttribute('html', 'lang'), 'en');
    assert.equal(await page.locator('#alert').isVisible(), false);
    assert.deepEqual(await accessibilityViolations(page), [], 'not signed in');

    // Keyboard only: the e-mail field first; Enter on an empty field says what is missing.
    await page.keyboard.press('Tab');
    await focusIs(page, 'email');
    await page.keyboard.press('Enter');
    await shown(page, '#alert');
    assert.equal(await page.locator('#alert').textContent(), 'Error: Enter your e-mail address.');
    assert.equal(await page.getAttribute('#email', 'aria-invalid'), 'true');
    assert.deepEqual(await accessibilityViolations(page), [], 'the form with an error');
    await page.keyboard.type('ben@home.test');
    await page.keyboard.press('Enter');
    await statusSays(page, /We sent a sign-in link to ben@home\.test/);

    // Accept before signing in: the page says what to do first, and keeps the invitation.
    await page.keyboard.press('Tab');
    await focusIs(page, 'send');
    await page.keyboard.press('Tab');
    await focusIs(page, 'accept');
    await page.keyboard.press('Enter');
    await page.waitForFunction(() =>
      /not signed in yet/.test(document.getElementById('alert')?.textContent ?? ''),
    );
    assert.deepEqual(await members(0), ['ana@home.test owner']);

    const signInSecret = await openSignInLink(page, 'ben@home.test');
    await focusIs(page, 'accept');
    await page.keyboard.press('Enter');
    await shown(page, '#done');
    await focusIs(page, 'done-heading');
    assert.equal(
      await page.locator('#shared').textContent(),
      'You can now use Smart plug (S-1) as user: you see and control it.',
    );
    assert.equal(await page.locator('#signed-in-as').textContent(), 'Signed in as ben@home.test.');
    assert.equal(await page.locator('#alert').isVisible(), false);
    assert.deepEqual(await accessibilityViolations(page), [], 'accepted');
    assert.deepEqual(await members(0), ['ana@home.test owner', 'ben@home.test user'], 'through the API');

    for (const hidden of [secret, signInSecret]) {
      assert.ok(
        h.requested.every((url) => !url.includes(hidden)),
        'no request named a secret in its URL (a fragment is never sent)',
      );
      assert.ok(!h.logLines.join('').includes(hidden), 'the server logged no secret');
    }
    assert.ok(
      h.logLines.some((line) => line.includes('/v1/owner/shares/accept')),
      'requests are logged at info level',
    );
    await page.context().close();
    assert.deepEqual(h.problems, [], 'the page ran under its CSP without a refusal or an error');
  });

  it('speaks German: another account is refused (403), signing out and in again accepts, a used link is refused (400)', async () => {
    const secret = await invite(1, 'cleo@home.test', 'guest');
    const { page } = await h.context('de-DE');
    await h.signIn(page, 'dan@home.test');
    await page.goto(`${h.base}/owner/shares/accept#${secret}`);
    await shown(page, '#alert');
    assert.equal(await page.getAttribute('html', 'lang'), 'de');
    assert.equal(new URL(page.url()).hash, '');
    assert.equal(
      await page.locator('#alert').textContent(),
      'Fehler: Die Einladung konnte nicht angenommen werden: this invitation is for another e-mail address: sign in with the address it was sent to',
    );
    assert.equal(await page.locator('#signed-in-as').textContent(), 'Angemeldet als dan@home.test.');
    await focusIs(page, 'sign-out');
    assert.deepEqual(await accessibilityViolations(page), [], 'another account, in German');

    // Sign out by keyboard, and in as the invited address: the tab still holds the invitation.
    await page.keyboard.press('Enter');
    await shown(page, '#sign-in');
    await focusIs(page, 'email');
    await statusSays(page, /Sie sind abgemeldet/);
    await page.keyboard.type('cleo@home.test');
    await page.keyboard.press('Enter');
    await statusSays(page, /Anmeldelink an cleo@home\.test gesendet/);
    assert.deepEqual(await accessibilityViolations(page), [], 'a link sent, in German');
    await openSignInLink(page, 'cleo@home.test');
    await page.keyboard.press('Tab');
    await focusIs(page, 'send');
    await page.keyboard.press('Tab');
    await focusIs(page, 'accept');
    await page.keyboard.press('Enter');
    await shown(page, '#done');
    assert.equal(
      await page.locator('#shared').textContent(),
      'Sie können jetzt Smart plug (S-2) nutzen, als Gast: Sie sehen es.',
    );
    assert.deepEqual(await accessibilityViolations(page), [], 'accepted, in German');
    assert.deepEqual(await members(1), ['ana@home.test owner', 'cleo@home.test guest']);

    // The same link again, now used; then a cut one.
    await page.goto('about:blank');
    await page.goto(`${h.base}/owner/shares/accept#${secret}`);
    await shown(page, '#alert');
    assert.equal(
      await page.locator('#alert').textContent(),
      'Fehler: Die Einladung konnte nicht angenommen werden: /token: this invitation is unknown, used or expired: ask the owner for a new one',
    );
    assert.deepEqual(await accessibilityViolations(page), [], 'a used link, in German');
    await page.goto('about:blank');
    await page.goto(`${h.base}/owner/shares/accept?lang=de#${secret.slice(0, 20)}`);
    await shown(page, '#alert');
    assert.match(
      (await page.locator('#alert').textContent()) ?? '',
      /^Fehler: Dieser Einladungslink ist unvollständig/,
    );
    assert.equal(new URL(page.url()).hash, '');
    assert.equal(await page.locator('#sign-in').isVisible(), false, 'only the whole link helps');
    assert.deepEqual(await accessibilityViolations(page), [], 'a cut link, in German');
    await page.context().close();
    assert.ok(!h.logLines.join('').includes(secret), 'the server logged no secret');
    assert.ok(
      h.requested.every((url) => !url.includes(secret)),
      'no request URL named it',
    );
    assert.deepEqual(h.problems, [], 'the page ran under its CSP without a refusal or an error');
  });
});
