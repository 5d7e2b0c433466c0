import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import type { Page } from 'playwright-core';
import { accessibilityViolations } from '../test-support/axe.js';
import { type OwnerPagesHarness, ownerPagesSkip, startOwnerPages } from '../test-support/owner-pages.js';

const HOSTILE = '<img src=x onerror=alert(1)> \u202eSULP\u202c \u2067evil\u2069 Plugs';

/**
 * The OAuth consent page (GET /oauth/authorize, issue 18 §2) in real Chromium: an owner signed in
 * through the real mailed link opens an app's authorization URL (PKCE S256), reads the app and its
 * scopes, and allows or denies by keyboard only; the browser lands on the redirect URI with the
 * answer (RFC 6749 §4.1.2, RFC 9207). Every state passes axe-core in English and German, the page
 * runs under its CSP, and an app name that is hostile markup or bidi controls is shown as text.
 */
describe('the OAuth consent page in Chromium', { skip: ownerPagesSkip }, () => {
  let h: OwnerPagesHarness;
  const apps: Record<string, string> = {};
  /**
   * Where the apps send the owner back: a native app's loopback redirect (RFC 8252 §7.3) on a tiny
   * server of the test's own (Playwright does not route the target of a redirect).
   */
  let app: Server;
  let REDIRECT = '';
  /** The Referer of every request the app's page got: none may name the consent page. */
  const referrers: (string | null)[] = [];

  const makeApp = async (name: string, scopes: string[]) => {
    const made = await h.t.call('POST', '/v1/orgs/acme/apps', {
      body: { name, clientType: 'public', redirectUris: [REDIRECT], scopes },
    });
    assert.equal(made.status, 201, made.raw);
    return made.body.app.id as string;
  };

  /** An authorization request as an app builds it: PKCE S256 (RFC 7636 §4.2) and a state. */
  const request = (clientId: string, scope: string) => {
    const verifier = randomBytes(32).toString('base64url');
    const state = randomBytes(16).toString('base64url');
    const url = new URL(`${h.base}/oauth/authorize`);
    url.search = new URLSearchParams({
      response_type: 'code',
      client_id: clientId,
      redirect_uri: REDIRECT,
      scope,
      state,
      code_challenge: createHash('sha256').update(verifier).digest('base64url'),
      code_challenge_method: 'S256',
    }).toString();
    return { url: url.toString(), verifier, state };
  };

  /** A browser with an owner signed in through the mailed link. */
  const ownerBrowser = async (locale: string, email: string) => {
    const { page } = await h.context(locale);
    await h.signIn(page, email);
    return page;
  };

  /** Opens the consent page, as an app's link does (the bounce for the Strict cookie included). */
  const consentPage = async (page: Page, url: string) => {
    await page.goto(url);
    await page.waitForSelector('form[action="/oauth/authorize"] button', { state: 'visible' });
  };

  /** Presses Tab until the focused button says `label`: keyboard only, as a person without a mouse. */
  const tabTo = async (page: Page, label: string) => {
    for (let i = 0; i < 10; i += 1) {
      await page.keyboard.press('Tab');
      const focused = await page.evaluate(() => document.activeElement?.textContent ?? '');
      if (focused === label) return;
    }
    assert.fail(`Tab never reached the button ${label}`);
  };

  const landed = async (page: Page) => {
    await page.waitForURL((url) => url.href.startsWith(REDIRECT));
    await page.waitForSelector('text=Back in the app');
    return new URL(page.url()).searchParams;
  };

  before(async () => {
    app = createServer((request, response) => {
      // The callback itself; the page's own favicon request names the page, as it may.
      if (request.url?.startsWith('/callback')) referrers.push(request.headers.referer ?? null);
      response.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
      response.end(
        '<!doctype html><html lang="en"><title>App</title><main><h1>Back in the app</h1></main></html>',
      );
    });
    await new Promise<void>((resolve) => app.listen(0, '127.0.0.1', resolve));
    REDIRECT = `http://127.0.0.1:${(app.address() as AddressInfo).port}/callback`;
    h = await startOwnerPages();
    await h.t.org('acme');
    apps.plugs = await makeApp('Acme Plugs', ['devices:read', 'devices:control']);
    apps.energy = await makeApp('Acme Energy', ['devices:read']);
    apps.hostile = await makeApp(HOSTILE, ['devices:read']);
  });
  after(async () => {
    await h?.close();
    await new Promise((resolve) => app?.close(resolve));
  });

  it('shows the app and its scopes, denies and then allows by keyboard, landing on the redirect URI with the answer', async () => {
    const page = await ownerBrowser('en-GB', 'ana@example.com');
    const denied = request(apps.plugs as string, 'devices:read devices:control');
    await consentPage(page, denied.url);
    assert.equal(await page.getAttribute('html', 'lang'), 'en');
    assert.equal(await page.locator('h1').textContent(), 'Allow access to your devices?');
    assert.equal(await page.locator('.app').textContent(), 'Acme Plugs');
    assert.match((await page.locator('main').textContent()) ?? '', /Org acme/);
    assert.deepEqual(await page.locator('main li').allTextContents(), [
      'See your devices, their state, readings and update status',
      'Change the settings of your devices and send them commands',
    ]);
    assert.deepEqual(await accessibilityViolations(page), [], 'the consent page');

    // Deny: Tab past Allow to Deny, Enter.
    await tabTo(page, 'Deny');
    await page.keyboard.press('Enter');
    const no = await landed(page);
    assert.equal(no.get('error'), 'access_denied');
    assert.equal(no.get('state'), denied.state);
    assert.equal(no.get('iss'), h.base);
    assert.equal(no.get('code'), null);

    // Allow: the first thing Tab reaches.
    const allowed = request(apps.plugs as string, 'devices:read devices:control');
    await consentPage(page, allowed.url);
    await page.keyboard.press('Tab');
    assert.equal(await page.evaluate(() => document.activeElement?.textContent), 'Allow');
    await page.keyboard.press('Enter');
    const yes = await landed(page);
    assert.equal(yes.get('state'), allowed.state);
    assert.equal(yes.get('iss'), h.base, 'RFC 9207');
    const code = yes.get('code');
    assert.ok(code);

    // The code is a real one: the app exchanges it with its PKCE verifier.
    const tokens = await h.t.app.http.inject({
      method: 'POST',
      url: '/oauth/token',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: new URLSearchParams({
        grant_type: 'authorization_code',
        code,
        redirect_uri: REDIRECT,
        client_id: apps.plugs as string,
        code_verifier: allowed.verifier,
      }).toString(),
    });
    assert.equal(tokens.statusCode, 200, tokens.body);
    assert.equal(JSON.parse(tokens.body).scope, 'devices:read devices:control');
    assert.deepEqual(referrers, [null, null], 'the app learns no referrer');
    await page.context().close();
    assert.deepEqual(h.problems, [], 'no CSP refusal, no page error');
  });

  it('speaks German (Accept-Language) and passes axe-core there; Allow and Deny by keyboard', async () => {
    const page = await ownerBrowser('de-DE', 'ben@example.com');
    const asked = request(apps.energy as string, 'devices:read');
    await consentPage(page, asked.url);
    assert.equal(await page.getAttribute('html', 'lang'), 'de');
    assert.equal(await page.locator('h1').textContent(), 'Zugriff auf Ihre Geräte erlauben?');
    assert.deepEqual(await page.locator('main li').allTextContents(), [
      'Ihre Geräte, ihren Zustand, ihre Messwerte und ihren Update-Stand sehen',
    ]);
    assert.deepEqual(await accessibilityViolations(page), [], 'the consent page in German');
    await tabTo(page, 'Ablehnen');
    await page.keyboard.press('Enter');
    assert.equal((await landed(page)).get('error'), 'access_denied');

    const again = request(apps.energy as string, 'devices:read');
    await consentPage(page, again.url);
    await tabTo(page, 'Erlauben');
    await page.keyboard.press('Enter');
    const yes = await landed(page);
    assert.ok(yes.get('code'));
    assert.equal(yes.get('state'), again.state);
    await page.context().close();
    assert.deepEqual(h.problems, [], 'no CSP refusal, no page error');
  });

  it('shows a hostile app name as text: no element, no script, and its bidi controls isolated', async () => {
    for (const locale of ['en-GB', 'de-DE']) {
      const page = await ownerBrowser(locale, `cara-${locale.toLowerCase()}@example.com`);
      await consentPage(page, request(apps.hostile as string, 'devices:read').url);
      assert.equal(await page.locator('.app').textContent(), HOSTILE);
      // <bdi> keeps the name's direction controls from reordering the sentence around it.
      assert.equal(await page.locator('.app').evaluate((e) => e.tagName), 'BDI');
      assert.equal(await page.locator('img').count(), 0);
      assert.deepEqual(await accessibilityViolations(page), [], `a hostile name (${locale})`);
      await tabTo(page, locale === 'de-DE' ? 'Ablehnen' : 'Deny');
      await page.keyboard.press('Enter');
      assert.equal((await landed(page)).get('error'), 'access_denied');
      await page.context().close();
    }
    assert.deepEqual(h.problems, [], 'no dialog, no CSP refusal, no page error');
  });
});
