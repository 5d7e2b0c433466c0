import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { type Browser, chromium, type Page } from 'playwright-core';
import { type TestApp, testApp } from '../test-support/app.js';
import { chromiumPath, missingMessage, skippedParts } from '../test-support/parts.js';

/** What a page's fetch answered. */
interface Answer {
  status: number;
  body: any;
}

/**
 * Passkeys in a real browser: Chromium with a virtual authenticator (Chrome DevTools Protocol,
 * WebAuthn domain) talks to the real server over HTTPS as `localhost` (a secure context, rpID
 * `localhost`). The page's scripts are the test's own, run with page.evaluate in the server's origin.
 */
describe('passkeys in Chromium with a virtual authenticator', {
  skip:
    !chromiumPath && skippedParts().has('chromium')
      ? 'Chromium is missing and BRICKLESS_TEST_SKIP names it'
      : false,
}, () => {
  let t: TestApp;
  let browser: Browser;
  let page: Page;
  let base: string;

  /** fetch() in the page, as the console would: same origin, the cookie, and the CSRF token. */
  const call = (method: string, path: string, body?: unknown, csrf?: string): Promise<Answer> =>
    page.evaluate(
      async ({ method, path, body, csrf }) => {
        const res = await fetch(path, {
          method,
          headers: {
            ...(body === undefined ? {} : { 'content-type': 'application/json' }),
            ...(csrf ? { 'x-csrf-token': csrf } : {}),
          },
          ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        });
        const text = await res.text();
        return { status: res.status, body: text ? JSON.parse(text) : null };
      },
      { method, path, body, csrf },
    );

  const signInWithPassword = async (email: string, password: string) => {
    const signedIn = await call('POST', '/v1/auth/sign-in', { email, password });
    assert.equal(signedIn.status, 200, JSON.stringify(signedIn.body));
    return signedIn.body.csrfToken as string;
  };

  /** The console's "add a passkey": options from the server, create() in the browser, answer back. */
  const addPasskey = (csrf: string, name: string): Promise<Answer> =>
    page.evaluate(
      async ({ csrf, name }) => {
        const headers = { 'content-type': 'application/json', 'x-csrf-token': csrf };
        const answer = await fetch('/v1/me/passkeys/options', {
          method: 'POST',
          headers: { 'x-csrf-token': csrf },
        });
        const started = await answer.json();
        if (answer.status !== 200) return { status: answer.status, body: started };
        const credential = (await navigator.credentials.create({
          publicKey: PublicKeyCredential.parseCreationOptionsFromJSON(started.options),
        })) as PublicKeyCredential;
        const res = await fetch('/v1/me/passkeys', {
          method: 'POST',
          headers,
          body: JSON.stringify({ name, response: credential.toJSON() }),
        });
        return { status: res.status, body: await res.json() };
      },
      { csrf, name },
    );

  /** The sign-in page's "sign in with a passkey": discoverable, no e-mail address typed. */
  const signInWithPasskey = (): Promise<Answer> =>
    page.evaluate(async () => {
      const headers = { 'content-type': 'application/json' };
      const answer = await fetch('/v1/auth/passkeys/options', { method: 'POST', headers, body: '{}' });
      const started = await answer.json();
      if (answer.status !== 200) return { status: answer.status, body: started };
      const credential = (await navigator.credentials.get({
        publicKey: PublicKeyCredential.parseRequestOptionsFromJSON(started.options),
      })) as PublicKeyCredential;
      const res = await fetch('/v1/auth/passkeys/verify', {
        method: 'POST',
        headers,
        body: JSON.stringify({ challengeId: started.challengeId, response: credential.toJSON() }),
      });
      return { status: res.status, body: await res.json() };
    });

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
    page = await browser.newPage();
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
    // Same origin as the API, so the page's fetch() carries the session cookie.
    assert.equal((await page.goto(`${base}/healthz`))?.status(), 200);
    const invited = await t.call('POST', '/v1/orgs/acme/invitations', {
      body: { email: 'ada@example.com', roles: ['admin'] },
    });
    const accepted = await t.call('POST', `/v1/auth/invitations/${invited.body.token}/accept`, {
      token: null,
      body: { displayName: 'Ada', password: 'analytical engines hum quietly' },
    });
    assert.equal(accepted.status, 200, accepted.raw);
  });
  after(async () => {
    await browser?.close();
    await t?.close();
  });

  it('adds a passkey after a password sign-in, then signs in with it alone', async () => {
    const csrf = await signInWithPassword('ada@example.com', 'analytical engines hum quietly');
    const added = await addPasskey(csrf, 'virtual authenticator');
    assert.equal(added.status, 201, JSON.stringify(added.body));
    assert.equal(added.body.rpId, 'localhost');
    assert.deepEqual(added.body.transports, ['internal']);
    assert.equal((await call('POST', '/v1/me/sign-out', undefined, csrf)).status, 204);
    assert.equal((await call('GET', '/v1/me')).status, 401, 'signed out');

    const signedIn = await signInWithPasskey();
    assert.equal(signedIn.status, 200, JSON.stringify(signedIn.body));
    assert.equal(signedIn.body.method, 'passkey');
    const me = await call('GET', '/v1/me');
    assert.equal(me.body.person.email, 'ada@example.com');
    assert.equal(me.body.person.factors.passkeys, 1);
    const sessions = await call('GET', '/v1/me/sessions');
    const current = sessions.body.items.find((s: { current: boolean }) => s.current);
    assert.equal(current.method, 'passkey');
    const audit = await t.call('GET', '/v1/platform/audit?limit=100');
    const actions = audit.body.items.map((e: { action: string }) => e.action);
    assert.ok(actions.includes('person.passkey-add'));
  });

  it('an organisation that requires a passkey refuses the password session and accepts the passkey one', async () => {
    const policy = await t.call('PUT', '/v1/orgs/acme/sign-in-policy', { body: { require: 'passkey' } });
    assert.equal(policy.status, 200, policy.raw);
    await signInWithPassword('ada@example.com', 'analytical engines hum quietly');
    const refused = await call('GET', '/v1/orgs/acme/devices');
    assert.equal(refused.status, 403);
    assert.match(refused.body.detail, /passkey/);
    const signedIn = await signInWithPasskey();
    assert.equal(signedIn.status, 200, JSON.stringify(signedIn.body));
    assert.equal((await call('GET', '/v1/orgs/acme/devices')).status, 200);
  });
});
