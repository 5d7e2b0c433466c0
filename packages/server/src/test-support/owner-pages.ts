import assert from 'node:assert/strict';
import { type AddressInfo, createServer } from 'node:net';
import { pino } from 'pino';
import { type Browser, type BrowserContext, chromium, type Page } from 'playwright-core';
import { type TestApp, testApp } from './app.js';
import { unQuote } from './owners.js';
import { chromiumPath, missingMessage, skippedParts } from './parts.js';
import { startSmtpServer, type TestSmtpServer } from './smtp.js';

/**
 * The owner-facing pages (consent, share invitation) in real Chromium against the real server over
 * HTTPS (the owner cookie is `__Host-`, Secure) with the real SMTP test server: what their browser
 * tests share. `http.publicUrl` names the port the server listens on, so mailed links open.
 */
export const ownerPagesSkip =
  !chromiumPath && skippedParts().has('chromium')
    ? 'Chromium is missing and BRICKLESS_TEST_SKIP names it'
    : false;

/** A free port, so that `http.publicUrl` (what the mailed links name) can name the port we listen on. */
const freePort = () =>
  new Promise<number>((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as AddressInfo;
      probe.close(() => resolve(port));
    });
  });

export interface OwnerPagesHarness {
  t: TestApp;
  smtp: TestSmtpServer;
  browser: Browser;
  base: string;
  /** Every CSP refusal, Trusted Types refusal and uncaught page error, across all pages. */
  problems: string[];
  /** Every URL any page asked for. */
  requested: string[];
  /** Every line the server logged. */
  logLines: string[];
  /** A new browser context (its own cookies) with one page, watched for problems and requests. */
  context(locale?: string): Promise<{ context: BrowserContext; page: Page }>;
  /** The secret after `#` of the next mail to `to` whose link goes to `path` (mails already read are skipped). */
  mailedSecret(to: string, path: string): Promise<string>;
  /** Signs an owner in on this context's page through the real mailed link; the page ends on the sign-in page. */
  signIn(page: Page, email: string): Promise<void>;
  close(): Promise<void>;
}

export async function startOwnerPages(): Promise<OwnerPagesHarness> {
  assert.ok(chromiumPath, missingMessage('chromium'));
  const smtp = await startSmtpServer();
  const logLines: string[] = [];
  const port = await freePort();
  const base = `https://localhost:${port}`;
  const t = await testApp('sqlite', {
    https: true,
    publicUrl: base,
    mail: { smtpUrl: smtp.url, from: 'brickless@acme.test' },
    logger: pino({ level: 'info' }, { write: (line: string) => logLines.push(line) }),
  });
  await t.app.http.listen({ host: '127.0.0.1', port });
  const browser = await chromium.launch({
    executablePath: chromiumPath,
    // The server's own CA is not the browser's: trust is not what these tests are about.
    args: ['--no-sandbox', '--ignore-certificate-errors', '--host-resolver-rules=MAP localhost 127.0.0.1'],
  });
  const problems: string[] = [];
  const requested: string[] = [];
  /** Mails whose secret a test took already. */
  const used = new Set<string>();

  const harness: OwnerPagesHarness = {
    t,
    smtp,
    browser,
    base,
    problems,
    requested,
    logLines,
    async context(locale = 'en-GB') {
      const context = await browser.newContext({ locale });
      context.on('page', (page) => {
        page.on('console', (message) => {
          if (/Content.Security.Policy|Trusted Type|Refused to/i.test(message.text()))
            problems.push(message.text());
        });
        page.on('pageerror', (error) => problems.push(String(error)));
        page.on('dialog', (dialog) => {
          problems.push(`a dialog opened: ${dialog.message()}`);
          void dialog.dismiss();
        });
        page.on('request', (request) => requested.push(request.url()));
      });
      const page = await context.newPage();
      return { context, page };
    },
    async mailedSecret(to, path) {
      const pattern = new RegExp(`${base.replace(/[.]/g, '[.]')}${path}#([A-Za-z0-9_-]{43})`);
      const deadline = Date.now() + 10_000;
      for (;;) {
        for (const mail of smtp.received) {
          const secret = mail.to.includes(to) ? pattern.exec(unQuote(mail.raw))?.[1] : undefined;
          if (secret && !used.has(secret)) {
            used.add(secret);
            return secret;
          }
        }
        assert.ok(Date.now() < deadline, `no new mail to ${to} with a link to ${path}`);
        // A condition polled until the deadline above: the mail arrives over SMTP in its own time.
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    },
    async signIn(page, email) {
      const asked = await t.call('POST', '/v1/owner/sign-in', { token: null, body: { email } });
      assert.equal(asked.status, 202, asked.raw);
      const secret = await harness.mailedSecret(email, '/owner/sign-in');
      await page.goto(`${base}/owner/sign-in#${secret}`);
      await page.waitForSelector('#done', { state: 'visible' });
    },
    async close() {
      await browser.close();
      await t.close();
      await smtp.close();
    },
  };
  return harness;
}
