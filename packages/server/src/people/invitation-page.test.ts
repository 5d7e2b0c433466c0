import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { pino } from 'pino';
import { type TestApp, testApp } from '../test-support/app.js';
import { pickLanguage } from './invitation-page.js';

/** The invitation page's answers: static, so one dialect is enough (no database is read). */
describe('the invitation page (/invitation, /invitation.js)', () => {
  let t: TestApp;
  const logLines: string[] = [];
  before(async () => {
    t = await testApp('sqlite', {
      logger: pino({ level: 'info' }, { write: (line: string) => logLines.push(line) }),
    });
  });
  after(async () => {
    await t.close();
  });

  it('serves the page with a CSP that allows only its own script, never stored or named', async () => {
    const res = await t.call('GET', '/invitation', { token: null });
    assert.equal(res.status, 200);
    assert.match(String(res.headers['content-type']), /^text\/html; charset=utf-8/);
    const csp = String(res.headers['content-security-policy']);
    assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval/);
    for (const directive of [
      "default-src 'none'",
      "script-src 'self'",
      "connect-src 'self'",
      "frame-ancestors 'none'",
      "base-uri 'none'",
      "form-action 'self'",
    ])
      assert.ok(csp.includes(directive), `${directive} in ${csp}`);
    assert.equal(res.headers['cache-control'], 'no-store');
    assert.equal(res.headers['referrer-policy'], 'no-referrer');
    assert.equal(res.headers['x-content-type-options'], 'nosniff');
    assert.match(res.raw, /<html lang="en">/);
    assert.match(res.raw, /<script type="module" src="\/invitation.js"><\/script>/);
    assert.equal(res.raw.match(/<script/g)?.length, 1, 'no inline script');
    assert.doesNotMatch(res.raw, / on[a-z]+=/, 'no event handler attributes');
  });

  it('speaks German when the browser prefers it or ?lang=de asks, English when ?lang=en overrides', async () => {
    const german = await t.call('GET', '/invitation', {
      token: null,
      headers: { 'accept-language': 'fr-CH, de-DE;q=0.8, en;q=0.5' },
    });
    assert.match(german.raw, /<html lang="de">/);
    assert.match(german.raw, /Einladung zu brickless annehmen/);
    assert.match(german.raw, /Mindestens 12 Zeichen/);
    assert.equal(german.headers.vary, 'accept-language');
    const asked = await t.call('GET', '/invitation?lang=de', { token: null });
    assert.match(asked.raw, /<html lang="de">/);
    const overridden = await t.call('GET', '/invitation?lang=en', {
      token: null,
      headers: { 'accept-language': 'de' },
    });
    assert.match(overridden.raw, /<html lang="en">/);
    const unknown = await t.call('GET', '/invitation?lang=xx', { token: null });
    assert.equal(unknown.status, 400);
    assert.equal(pickLanguage('en-GB;q=0.4, de'), 'de');
    assert.equal(pickLanguage('de;q=0, en;q=0.1'), 'en');
    assert.equal(pickLanguage('fr'), 'en');
    assert.equal(pickLanguage(undefined), 'en');
  });

  it('serves the script as JavaScript, never stored, with no eval and no HTML sinks', async () => {
    const res = await t.call('GET', '/invitation.js', { token: null });
    assert.equal(res.status, 200);
    assert.match(String(res.headers['content-type']), /^text\/javascript; charset=utf-8/);
    assert.equal(res.headers['cache-control'], 'no-store');
    assert.equal(res.headers['x-content-type-options'], 'nosniff');
    assert.doesNotMatch(
      res.raw,
      /\beval\(|new Function|innerHTML|outerHTML|insertAdjacentHTML|document\.write/,
    );
    assert.match(res.raw, /history\.replaceState/);
  });

  it('never writes the secret to the log when the page calls the API with it', async () => {
    await t.org('acme');
    const invited = await t.call('POST', '/v1/orgs/acme/invitations', {
      body: { email: 'rita@acme.example', roles: ['auditor'] },
    });
    const secret = invited.body.token as string;
    assert.equal((await t.call('GET', `/v1/auth/invitations/${secret}`, { token: null })).status, 200);
    const accepted = await t.call('POST', `/v1/auth/invitations/${secret}/accept`, {
      token: null,
      body: { password: 'a passphrase of words' },
    });
    assert.equal(accepted.status, 200, accepted.raw);
    const log = logLines.join('');
    assert.match(log, /\/v1\/orgs\/acme\/invitations/, 'requests are logged at info level');
    assert.ok(!log.includes(secret), 'the secret is not');
  });
});
