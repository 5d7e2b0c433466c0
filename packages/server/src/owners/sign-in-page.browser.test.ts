import assert from 'node:assert/strict';
import { type AddressInfo, createServer } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { pino } from 'pino';
import { type Browser, chromium, type Page } from 'playwright-core';
import { type TestApp, testApp } from '../test-support/app.js';
import { accessibilityViolations } from '../test-support/axe.js';
import { chromiumPath, missingMessage, skippedParts } from '../test-support/parts.js';
import { startSmtpServer, type TestSmtpServer } from '../test-support/smtp.js';

/** Quoted-printable as the mail left the server (RFC 2045 §6.7). */
const unQuote = (raw: string) =>
  raw
    .replace(/=\r?\n/g, '')
    .replace(/=([0-9A-F]{2})/g, (_, hex: string) => String.fromCharCode(Number.parseInt(hex, 16)));

/** A free port, so that `http.publicUrl` (what the mailed link names) can name the port we listen on. */
const freePort = () =>
  new Promise<number>((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as AddressInfo;
      probe.close(() => resolve(port));
    });
  });

/**
 * The owner sign-in page in real Chromium over HTTPS (the owner cookie is `__Host-`, Secure), with
 * the real SMTP test server and Chromium's virtual authenticator (DevTools protocol, WebAuthn
 * domain): ask for a link by keyboard, open it from the mail, add a passkey, sign out, sign in with
 * the passkey. The secret leaves the address bar and reaches the server in no URL and no log;
 * every state passes axe-core, and the script runs under the page's CSP.
 */
describe('the owner sign-in page in Chromium', {
  skip:
    !chromiumPath && skippedParts().has('chromium')
      ? 'Chromium is missing and BRICKLESS_TEST_SKIP names it'
      : false,
}, () => {
  let t: TestApp;
  let smtp: TestSmtpServer;
  let browser: Browser;
  let base: string;
  const problems: string[] = [];
  const logLines: string[] = [];
  /** Every URL the pages asked the server for. */
  const requested: string[] = [];

  const open = async (path: string, locale = 'en-GB'): Promise<Page> => {
    const context = await browser.newContext({ locale });
    const page = await context.newPage();
    page.on('console', (message) => {
      if (/Content.Security.Policy|Trusted Type/i.test(message.text())) problems.push(message.text());
    });
    page.on('pageerror', (error) => problems.push(String(error)));
    page.on('request', (request) => requested.push(request.url()));
    const cdp = await context.newCDPSession(page);
    await cdp.send('WebAuthn.enable', { enableUI: false });
    await cdp.send('WebAuthn.addVirtualAuthenticator', {
      options: {
        protocol: 'ctap2',
        transport: 'internal',
        hasResidentKey: true,
        hasUserVerification: true,
        isUserVerified: true,
      },
    });
    await page.goto(`${base}${path}`);
    return page;
  };
  const shown = (page: Page, selector: string) => page.waitForSelector(selector, { state: 'visible' });
  const focusIs = (page: Page, id: string) =>
    page.waitForFunction((expected) => document.activeElement?.id === expected, id);

  const mailedSecret = async (email: string): Promise<string> => {
    const mail = await smtp.waitFor(email);
    const found = new RegExp(`${base.replace(/[.]/g, '[.]')}/owner/sign-in#([A-Za-z0-9_-]{43})`).exec(
      unQuote(mail.raw),
    );
    assert.ok(found?.[1], unQuote(mail.raw));
    return found[1];
  };

  before(async () => {
    assert.ok(chromiumPath, missingMessage('chromium'));
    smtp = await startSmtpServer();
    const port = await freePort();
    base = `https://localhost:${port}`;
    t = await testApp('sqlite', {
      https: true,
      publicUrl: base,
      mail: { smtpUrl: smtp.url, from: 'brickless@acme.test' },
      logger: pino({ level: 'info' }, { write: (line: string) => logLines.push(line) }),
    });
    await t.app.http.listen({ host: '127.0.0.1', port });
    browser = await chromium.launch({
      executablePath: chromiumPath,
      // The server's own CA is not the browser's: trust is not what this test is about.
      args: ['--no-sandbox', '--ignore-certificate-errors', '--host-resolver-rules=MAP localhost 127.0.0.1'],
    });
  });
  after(async () => {
    await browser?.close();
    await t?.close();
    await smtp?.close();
  });

  it('sends a link by keyboard, signs in from the mail, adds a passkey, and signs in with it after signing out', async () => {
    const page = await open('/owner/sign-in');
    await shown(page, '#sign-in');
    assert.deepEqual(await accessibilityViolations(page), [], 'the choices');
    // Keyboard only: the passkey button first, then the e-mail field.
    await page.keyboard.press('Tab');
    await focusIs(page, 'passkey');
    await page.keyboard.press('Tab');
    await focusIs(page, 'email');
    await page.keyboard.press('Enter');
    await shown(page, '#alert');
    assert.equal(await page.locator('#alert').textContent(), 'Error: Enter your e-mail address.');
    assert.equal(await page.getAttribute('#email', 'aria-invalid'), 'true');
    assert.deepEqual(await accessibilityViolations(page), [], 'the form with an error');
    await page.keyboard.type('ana@example.com');
    await page.keyboard.press('Enter');
    await page.waitForFunction(() =>
      /We sent a link/.test(document.getElementById('status')?.textContent ?? ''),
    );
    assert.equal(await page.locator('#alert').isVisible(), false);
    const secret = await mailedSecret('ana@example.com');

    // The link as the mail names it, opened as a new page load.
    await page.goto('about:blank');
    await page.goto(`${base}/owner/sign-in#${secret}`);
    await shown(page, '#done');
    assert.equal(page.url(), `${base}/owner/sign-in`, 'the secret left the address bar');
    assert.equal(await page.locator('#signed-in-as').textContent(), 'You are signed in as ana@example.com.');
    await focusIs(page, 'done-heading');
    assert.match(
      (await page.locator('#done').textContent()) ?? '',
      /claim a device with the code on its label/,
    );
    assert.equal(await page.locator('#no-passkeys').isVisible(), true);
    assert.deepEqual(await accessibilityViolations(page), [], 'signed in');

    // Add a passkey with the keyboard: the name field follows the heading.
    await page.keyboard.press('Tab');
    await focusIs(page, 'passkey-name');
    await page.keyboard.press('Control+A');
    await page.keyboard.type('Laptop');
    await page.keyboard.press('Enter');
    await page.waitForFunction(() =>
      /Passkey added: Laptop/.test(document.getElementById('status')?.textContent ?? ''),
    );
    assert.deepEqual(await page.locator('#passkeys li').allTextContents(), ['Laptop']);
    assert.equal(await page.locator('#no-passkeys').isVisible(), false);
    assert.deepEqual(await accessibilityViolations(page), [], 'a passkey added');

    // A reload keeps the session and still lets the owner change things (the CSRF token from /me).
    await page.reload();
    await shown(page, '#done');
    assert.deepEqual(await page.locator('#passkeys li').allTextContents(), ['Laptop']);

    await page.locator('#sign-out').focus();
    await page.keyboard.press('Enter');
    await shown(page, '#sign-in');
    await focusIs(page, 'passkey');
    assert.match((await page.locator('#status').textContent()) ?? '', /signed out/);
    // The passkey alone, no e-mail address typed.
    await page.keyboard.press('Enter');
    await shown(page, '#done');
    assert.equal(await page.locator('#signed-in-as').textContent(), 'You are signed in as ana@example.com.');
    const owners = await t.app.services.store.db.selectFrom('owners').select('id').execute();
    assert.equal(owners.length, 1, 'the passkey opened the same account');
    const actions = (
      await t.app.services.store.db.selectFrom('audit_entries').select('action').execute()
    ).map((e) => e.action);
    assert.ok(
      actions.includes('owner.passkey.add') && actions.includes('owner.passkey.sign-in'),
      String(actions),
    );

    assert.ok(
      requested.every((url) => !url.includes(secret)),
      'no request named the secret in its URL (a fragment is never sent)',
    );
    assert.ok(!logLines.join('').includes(secret), 'the server logged no secret');
    await page.context().close();
  });

  it('speaks German: a cut link is incomplete, a used one does not work, and both offer a new link', async () => {
    const asked = await t.call('POST', '/v1/owner/sign-in', {
      token: null,
      body: { email: 'ben@example.com' },
    });
    assert.equal(asked.status, 202, asked.raw);
    const secret = await mailedSecret('ben@example.com');
    const page = await open(`/owner/sign-in#${secret.slice(0, 20)}`, 'de-DE');
    await shown(page, '#alert');
    assert.equal(await page.getAttribute('html', 'lang'), 'de');
    assert.match(
      (await page.locator('#alert').textContent()) ?? '',
      /^Fehler: Dieser Link ist unvollständig/,
    );
    assert.equal(await page.locator('#sign-in').isVisible(), true);
    assert.equal(new URL(page.url()).hash, '');
    assert.deepEqual(await accessibilityViolations(page), [], 'a cut link, in German');

    // The whole link pasted into the open page: only the fragment changes.
    await page.goto(`${base}/owner/sign-in#${secret}`);
    await shown(page, '#done');
    assert.equal(new URL(page.url()).hash, '');
    assert.equal(
      await page.locator('#signed-in-as').textContent(),
      'Sie sind angemeldet als ben@example.com.',
    );
    await page.context().clearCookies();
    await page.goto('about:blank');
    await page.goto(`${base}/owner/sign-in#${secret}`);
    await shown(page, '#alert');
    assert.match(
      (await page.locator('#alert').textContent()) ?? '',
      /^Fehler: Dieser Link funktioniert nicht: this sign-in link is unknown, used or expired/,
    );
    assert.equal(await page.locator('#link-form').isVisible(), true);
    assert.deepEqual(await accessibilityViolations(page), [], 'a used link, in German');
    await page.context().close();
    assert.deepEqual(problems, [], 'the page ran under its CSP without a refusal or an error');
  });
});
