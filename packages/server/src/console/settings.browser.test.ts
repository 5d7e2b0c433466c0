import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Page } from 'playwright-core';
import { base32Decode, hotp, TOTP_STEP_SECONDS, totpStep } from '../people/totp.js';
import { testDialects } from '../store/test-helper.js';
import { type ConsoleHarness, type Credentials, consoleSkip, startConsole } from '../test-support/console.js';

/**
 * The console's audit log, settings and account pages in real Chromium (issue 17): an admin
 * invites, changes roles, makes and revokes a token and verifies the audit log that recorded it;
 * a person adds a passkey in the console and signs in with it; another sets up TOTP with a real
 * code and signs in with password and code. axe, screenshots, German and 360 px on SQLite.
 */
for (const dialect of testDialects) {
  describe(`the console's audit log, settings and account (${dialect})`, { skip: consoleSkip }, () => {
    let h: ConsoleHarness;
    let admin: Credentials;
    const full = dialect === 'sqlite';

    before(async () => {
      h = await startConsole(dialect);
      await h.t.org('acme');
      admin = await h.person('acme', ['admin'], 'ada');
    });
    after(async () => {
      await h?.close();
    });

    const noAxe = async (page: Page, what: string) => {
      if (full) assert.deepEqual(await h.axe(page), [], what);
    };
    const shot = async (page: Page, name: string) => {
      if (full) await h.screenshot(page, name);
    };
    const notice = (page: Page, text: RegExp) =>
      page.waitForFunction(
        (source) =>
          [...document.querySelectorAll('[role=status]')].some((n) =>
            new RegExp(source).test(n.textContent ?? ''),
          ),
        text.source,
      );

    it('an admin invites, changes roles, makes and revokes a token, and verifies the audit log', async () => {
      const otto = await h.person('acme', ['operator'], 'otto');
      const page = await h.page();
      await h.signIn(page, admin);

      await page.goto('/settings/people');
      await page.waitForSelector('#invite-email');
      await page.waitForSelector(`text=${otto.email}`);
      await noAxe(page, 'settings: people');
      await shot(page, 'settings-people');

      // Invite: the one-time link is shown once, selected for copying.
      await page.check('input[name=invite-role][value=auditor]');
      await page.fill('#invite-email', 'newcomer@example.com');
      await page.press('#invite-email', 'Enter');
      const link = await page.waitForSelector('#invitation-link');
      assert.match(await link.inputValue(), /^https:\/\/localhost:\d+\/.*[A-Za-z0-9_-]{43}/);
      assert.match((await page.textContent('.one-time')) ?? '', /shown only this once/);
      await page.waitForSelector('#people-invitations ~ * >> text=newcomer@example.com').catch(async () => {
        await page.waitForSelector('text=newcomer@example.com');
      });
      await noAxe(page, 'settings: people with a one-time link');
      await page.click('text=I have copied it');
      assert.equal(await page.$('#invitation-link'), null, 'the link is gone for good');

      // Change Otto's roles by checkbox.
      const ottoRow = page.locator('tr', { hasText: otto.email });
      await ottoRow.locator('label', { hasText: 'auditor' }).locator('input').check();
      await ottoRow.getByRole('button', { name: /Save roles/ }).click();
      await notice(page, /Roles of .* saved/);
      const roles = await h.t.call('GET', '/v1/orgs/acme/people');
      const ottoNow = roles.body.items.find((p: { email: string }) => p.email === otto.email);
      assert.deepEqual([...ottoNow.roles].sort(), ['auditor', 'operator']);

      // The last admin cannot drop the role: the server's words are shown.
      const adaRow = page.locator('tr', { hasText: admin.email });
      await adaRow.locator('label', { hasText: 'admin' }).locator('input').uncheck();
      await adaRow.locator('label', { hasText: 'auditor' }).locator('input').check();
      await adaRow.getByRole('button', { name: /Save roles/ }).click();
      await page.waitForSelector('[role=alert] >> text=/last admin/');
      await noAxe(page, 'settings: people with an error');

      // Tokens: created and shown once, then revoked.
      await page.click('nav.tabs >> text=API tokens');
      await page.waitForSelector('#token-name');
      await page.fill('#token-name', 'ci deploy');
      // A person's token holds one of their own roles: Ada is admin only.
      assert.deepEqual(
        await page
          .locator('#token-role option')
          .evaluateAll((o) => o.map((x) => (x as HTMLOptionElement).value)),
        ['admin'],
      );
      await page.press('#token-name', 'Enter');
      const secret = await page.waitForSelector('#token-secret');
      const token = await secret.inputValue();
      assert.ok(token.length > 20);
      assert.equal((await h.t.call('GET', '/v1/whoami', { token })).status, 200, 'the token works');
      await page.waitForSelector('tr >> text=ci deploy');
      await noAxe(page, 'settings: tokens');
      await shot(page, 'settings-tokens');
      await page.getByRole('button', { name: 'Revoke token ci deploy' }).click();
      // The question takes the focus once it is drawn (an effect after render): answer it then,
      // not before (pressing at once raced the render under load in CI).
      await page.waitForFunction(() => document.activeElement?.classList.contains('button-danger'));
      await page.keyboard.press('Enter');
      await notice(page, /Token ci deploy revoked/);
      assert.equal((await h.t.call('GET', '/v1/whoami', { token })).status, 401, 'the token stopped');

      // The sign-in and feeds tabs.
      await page.click('nav.tabs >> text=Sign-in and SSO');
      await page.waitForSelector('input[name=sign-in-require][value=any]:checked');
      await page.waitForSelector('text=Single sign-on is not set up.');
      await noAxe(page, 'settings: sign-in and SSO');
      await page.click('nav.tabs >> text=Escrow and feeds');
      await page.waitForSelector('a[href="/continuity"]');
      await noAxe(page, 'settings: escrow and feeds');

      // The audit log: verified in the page, with what the admin just did.
      await page.click('nav.sidenav >> text=Audit log');
      await page.waitForSelector('#audit-entries ~ * table, .table-scroll table');
      await page.click('#verify');
      const result = await page.waitForSelector('.verify-result .alert');
      const report = (await result.textContent()) ?? '';
      const verified = await h.t.call('GET', '/v1/orgs/acme/audit/verify');
      assert.equal(verified.body.ok, true);
      assert.match(report, new RegExp(`intact: all ${verified.body.entries} entries`));
      assert.ok(report.includes(verified.body.head.hash), 'the head hash is shown');
      const actions = await page.locator('table code').allTextContents();
      for (const action of ['invitation.create', 'person.roles', 'token.create', 'token.revoke'])
        assert.ok(actions.includes(action), `${action} in ${actions.join(', ')}`);
      // Newest first: the revoke is above the create.
      assert.ok(actions.indexOf('token.revoke') < actions.indexOf('token.create'));

      // Filter by actor: only Ada's entries.
      await page.fill('#audit-actor', `person:${admin.email}`);
      await page.press('#audit-actor', 'Enter');
      await page.waitForFunction(
        (actor) =>
          [...document.querySelectorAll('.audit-actor')].length > 0 &&
          [...document.querySelectorAll('.audit-actor')].every((n) => n.textContent?.startsWith(actor)),
        `person:${admin.email}`,
      );
      await page.click('.audit-details summary');
      await noAxe(page, 'audit log, filtered, details open');
      await shot(page, 'audit');
      assert.deepEqual(h.problems, []);
    });

    it('a person adds a passkey in the console and signs in with it alone', async () => {
      const pia = await h.person('acme', ['operator'], 'pia');
      const page = await h.page();
      const cdp = await page.context().newCDPSession(page);
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
      await h.signIn(page, pia);
      await page.click('a[href="/account"]');
      await page.waitForSelector('#passkey-name');
      await noAxe(page, 'my account');
      await page.fill('#passkey-name', 'virtual laptop');
      await page.press('#passkey-name', 'Enter');
      await notice(page, /Passkey virtual laptop added/);
      await page.waitForSelector('tr >> text=virtual laptop');
      assert.match((await page.textContent('#account-passkeys ~ * code, table code')) ?? '', /localhost/);
      await noAxe(page, 'my account with a passkey');
      await shot(page, 'account');

      await page.click('text=Sign out');
      await page.waitForSelector('#passkey');
      await page.click('#passkey');
      await page.waitForSelector('nav.sidenav');
      const sessions = await page.evaluate(async () => (await fetch('/v1/me/sessions')).json());
      assert.ok(
        sessions.items.some((s: { current: boolean; method: string }) => s.current && s.method === 'passkey'),
        JSON.stringify(sessions),
      );
      assert.deepEqual(h.problems, []);
    });

    it('a person sets up TOTP with a real code, then signs in with password and code', async () => {
      const tom = await h.person('acme', ['auditor'], 'tom');
      const page = await h.page();
      await h.signIn(page, tom);
      await page.goto('/account');
      await page.click('#totp-start');
      const secret = ((await page.textContent('#totp-secret')) ?? '').trim();
      assert.match((await page.textContent('#totp-uri')) ?? '', /^otpauth:\/\/totp\//);
      await noAxe(page, 'my account: TOTP set-up');
      const codeAt = (ms: number) => hotp(base32Decode(secret), totpStep(ms));
      await page.fill('#totp-code', codeAt(h.t.clock.now().getTime()));
      await page.press('#totp-code', 'Enter');
      await page.waitForSelector('#recovery-codes');
      assert.equal(await page.locator('#recovery-codes li').count(), 10);
      await page.waitForSelector('text=/On: signing in with your password/');
      await noAxe(page, 'my account: recovery codes shown');

      await page.click('text=Sign out');
      await page.waitForSelector('#email');
      // A code is good once: the next one comes with the next time step.
      h.t.clock.advance(TOTP_STEP_SECONDS * 1000);
      await page.fill('#email', tom.email);
      await page.fill('#password', tom.password);
      await page.press('#password', 'Enter');
      await page.waitForSelector('#code');
      await page.fill('#code', codeAt(h.t.clock.now().getTime()));
      await page.press('#code', 'Enter');
      await page.waitForSelector('nav.sidenav');
      const me = await page.evaluate(async () => (await fetch('/v1/me')).json());
      assert.equal(me.person.factors.totp, true);
      assert.deepEqual(h.problems, []);
    });

    it('an auditor reads people, invitations, tokens, sign-in and disclosures, and may change none of it', async () => {
      // Something to read: a pending invitation and a token made by the admin.
      await h.t.call('POST', '/v1/orgs/acme/invitations', {
        body: { email: 'pending-review@example.com', roles: ['operator'] },
      });
      await h.t.call('POST', '/v1/orgs/acme/tokens', { body: { name: 'ci-deploy', role: 'operator' } });
      const audra = await h.person('acme', ['auditor'], 'audra');
      const page = await h.page();
      await h.signIn(page, audra);
      await page.goto('/settings/people');
      await page.waitForSelector('td:has-text("audra")');
      // The invitations the page lists come from the same route, which the auditor may read.
      const invitations = await page.evaluate(async () => (await fetch('/v1/orgs/acme/invitations')).json());
      assert.ok(
        invitations.items.some((i: { email: string }) => i.email === 'pending-review@example.com'),
        JSON.stringify(invitations),
      );
      assert.equal(await page.locator('#invite-email').count(), 0, 'no invitation form');
      assert.equal(await page.locator('.role-editor').count(), 0, 'no role editor');
      assert.equal(await page.locator('button.button-danger').count(), 0, 'no remove or revoke button');
      await noAxe(page, 'settings: people, read only');
      await page.goto('/settings/tokens');
      await page.waitForSelector('td >> text=ci-deploy');
      assert.equal(await page.locator('button.button-danger').count(), 0, 'no revoke button');
      assert.equal(await page.locator('#token-name').count(), 0, 'no token form');
      await noAxe(page, 'settings: tokens, read only');
      await page.goto('/settings/sign-in');
      await page.waitForSelector('#sign-in-sso');
      assert.equal(await page.locator('#sign-in-policy form, #sign-in-sso form').count(), 0, 'no form');
      await noAxe(page, 'settings: sign-in, read only');
      // The disclosure inbox is in the navigation and opens.
      await page.click('nav.sidenav >> text=Disclosures');
      await page.waitForSelector('h1');
      assert.deepEqual(h.problems, []);
    });

    it('a platform admin reads and verifies the platform log and starts a feed sync', {
      skip: !full,
    }, async () => {
      const root = await h.person(null, [], 'root');
      const page = await h.page();
      await h.signIn(page, root);
      await page.goto('/audit');
      await page.selectOption('#audit-log', 'platform');
      await page.waitForSelector('table code.audit-action >> text=organization.create');
      await page.click('#verify');
      await page.waitForSelector('.verify-result >> text=/The chain is intact/');
      await noAxe(page, 'the platform audit log, verified');
      // No feeds are configured in tests: the server says so, and the page shows its words.
      await page.goto('/settings/feeds');
      await page.click('#feeds-sync');
      await page.waitForSelector('[role=alert] >> text=/no feeds are configured/');
      await noAxe(page, 'feeds with the sync answer');
      assert.deepEqual(h.problems, []);
    });

    it('renders in German and fits 360 px without sideways scrolling', { skip: !full }, async () => {
      const page = await h.page({ width: 360, locale: 'de-DE' });
      await h.signIn(page, admin);
      const pages: [string, RegExp][] = [
        ['/audit', /Audit-Log/],
        ['/settings/people', /Einstellungen/],
        ['/settings/tokens', /Einstellungen/],
        ['/settings/sign-in', /Einstellungen/],
        ['/settings/feeds', /Einstellungen/],
        ['/account', /Mein Konto/],
      ];
      for (const [path, title] of pages) {
        await page.goto(path);
        await page.waitForSelector('h1');
        await page.waitForFunction(() => !document.querySelector('.loading'));
        assert.match((await page.textContent('h1')) ?? '', title, path);
        const overflow = await page.evaluate(
          () => document.documentElement.scrollWidth - document.documentElement.clientWidth,
        );
        assert.ok(overflow <= 0, `${path} scrolls sideways by ${overflow} px at 360 px`);
        assert.deepEqual(await h.axe(page), [], `${path} in German at 360 px`);
      }
      assert.deepEqual(h.problems, []);
    });
  });
}
