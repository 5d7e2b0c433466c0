import assert from 'node:assert/strict';
import { existsSync, mkdirSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Browser, type BrowserContext, chromium, type Page } from 'playwright-core';
import { DEFAULT_CONSOLE_DIR } from '../console/routes.js';
import type { Dialect } from '../store/db.js';
import { type TestApp, testApp } from './app.js';
import { accessibilityViolations } from './axe.js';
import { chromiumPath, missingMessage, skippedParts } from './parts.js';

/**
 * The console in real Chromium against the real server over HTTPS (the session cookie is
 * `__Host-`, Secure), shared by the console's browser tests (issue 17): launch, people with
 * roles, sign-in through the page, axe, CSP violations and screenshots.
 */
export const consoleSkip =
  !chromiumPath && skippedParts().has('chromium')
    ? 'Chromium is missing and BRICKLESS_TEST_SKIP names it'
    : false;

/** Where screenshots go: test artefacts, and docs/console/ when BRICKLESS_SCREENSHOTS=docs. */
const ARTEFACTS = fileURLToPath(new URL('../../../../.test-artifacts/console/', import.meta.url));
const DOCS_SHOTS = fileURLToPath(new URL('../../../../docs/console/', import.meta.url));

export interface Credentials {
  email: string;
  password: string;
}

export interface ConsoleHarness {
  t: TestApp;
  base: string;
  browser: Browser;
  /** Everything the pages' CSP refused and every uncaught page error, across all pages. */
  problems: string[];
  /** A new browser context (its own cookies) with one page. */
  page(options?: { width?: number; height?: number; locale?: string }): Promise<Page>;
  /** A person with these roles in the organisation (or a platform admin), with a password. */
  person(org: string | null, roles: string[], name?: string): Promise<Credentials>;
  /** Signs in through the sign-in page, by keyboard, and waits for the navigation. */
  signIn(page: Page, who: Credentials): Promise<void>;
  /**
   * Waits until the focused element has this id, text or tag name (`{ tag: 'H1' }`): focus moves
   * in an effect after a render, so asserting it at once would race the page. Fails after 5 s
   * naming what holds the focus instead.
   */
  focused(
    page: Page,
    expected: { id?: string; text?: string; tag?: string },
    message?: string,
  ): Promise<void>;
  /** axe-core violations of the page as it is now. */
  axe(page: Page): Promise<string[]>;
  screenshot(page: Page, name: string): Promise<void>;
  close(): Promise<void>;
}

let people = 0;

export async function startConsole(
  dialect: Dialect,
  options: { clockNow?: string } = {},
): Promise<ConsoleHarness> {
  assert.ok(chromiumPath, missingMessage('chromium'));
  assert.ok(
    existsSync(join(DEFAULT_CONSOLE_DIR, 'index.html')),
    'the console is not built: run `npm run build` first (npm test does)',
  );
  const t = await testApp(dialect, { https: true });
  if (options.clockNow) t.clock.set(options.clockNow);
  await t.app.http.listen({ host: '127.0.0.1', port: 0 });
  const base = `https://localhost:${(t.app.http.server.address() as AddressInfo).port}`;
  const browser = await chromium.launch({
    executablePath: chromiumPath,
    // The server's own CA is not the browser's: trust is not what these tests are about.
    args: ['--no-sandbox', '--ignore-certificate-errors', '--host-resolver-rules=MAP localhost 127.0.0.1'],
  });
  const problems: string[] = [];
  const contexts: BrowserContext[] = [];
  mkdirSync(ARTEFACTS, { recursive: true });

  return {
    t,
    base,
    browser,
    problems,
    async page({ width = 1280, height = 900, locale = 'en-GB' } = {}) {
      const context = await browser.newContext({
        baseURL: base,
        viewport: { width, height },
        locale,
        ignoreHTTPSErrors: true,
      });
      contexts.push(context);
      const page = await context.newPage();
      page.on('console', (message) => {
        if (/Content.Security.Policy|Refused to/i.test(message.text())) problems.push(message.text());
      });
      page.on('pageerror', (error) => problems.push(String(error)));
      return page;
    },
    async person(org, roles, name) {
      people += 1;
      const email = `${name ?? 'person'}-${people}@example.com`;
      const password = `a long passphrase number ${people}`;
      const invited = org
        ? await t.call('POST', `/v1/orgs/${org}/invitations`, { body: { email, roles } })
        : await t.call('POST', '/v1/platform/invitations', { body: { email } });
      assert.equal(invited.status, 201, invited.raw);
      const accepted = await t.call('POST', `/v1/auth/invitations/${invited.body.token}/accept`, {
        token: null,
        headers: { origin: base, host: new URL(base).host },
        body: { displayName: name ?? `Person ${people}`, password },
      });
      assert.equal(accepted.status, 200, accepted.raw);
      return { email, password };
    },
    async signIn(page, who) {
      await page.goto('/sign-in');
      await page.waitForSelector('#email', { state: 'visible' });
      await page.focus('#email');
      await page.keyboard.type(who.email);
      await page.keyboard.press('Tab');
      await page.keyboard.type(who.password);
      await page.keyboard.press('Enter');
      await page.waitForSelector('nav.sidenav', { state: 'visible' });
      // The page after sign-in is a navigation: its heading takes the focus once it has rendered
      // (components/page.tsx). Wait for that, or a test that focuses a link at once loses the
      // focus to the heading a moment later on a loaded machine, and its Enter does nothing.
      await page.waitForFunction(() => document.activeElement?.tagName === 'H1', undefined, {
        timeout: 15_000,
      });
    },
    async focused(page, expected, message) {
      const holds = () =>
        page.evaluate((want) => {
          const active = document.activeElement;
          if (!active) return false;
          if (want.id !== undefined && active.id !== want.id) return false;
          if (want.text !== undefined && active.textContent !== want.text) return false;
          if (want.tag !== undefined && active.tagName !== want.tag) return false;
          return true;
        }, expected);
      const deadline = Date.now() + 5000;
      while (!(await holds())) {
        if (Date.now() > deadline) {
          const actual = await page.evaluate(() => {
            const active = document.activeElement;
            return active ? `<${active.tagName.toLowerCase()} id="${active.id}">` : 'nothing';
          });
          assert.fail(
            `${message ?? 'focus'}: expected ${JSON.stringify(expected)}, the focus is on ${actual}`,
          );
        }
        await new Promise((resolve) => setTimeout(resolve, 25));
      }
    },
    axe: (page) => accessibilityViolations(page),
    async screenshot(page, name) {
      await page.screenshot({ path: join(ARTEFACTS, `${name}.png`), fullPage: true });
      if (process.env.BRICKLESS_SCREENSHOTS === 'docs') {
        mkdirSync(DOCS_SHOTS, { recursive: true });
        await page.screenshot({ path: join(DOCS_SHOTS, `${name}.png`), fullPage: false });
      }
    },
    async close() {
      for (const context of contexts) await context.close().catch(() => {});
      await browser.close();
      await t.close();
    },
  };
}
