import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { type TestApp, testApp } from '../test-support/app.js';

/** The share invitation page's answers: static, so one dialect is enough (the page reads no database). */
describe('the share invitation page (/owner/shares/accept, /owner/shares/accept.js)', () => {
  let t: TestApp;
  before(async () => {
    t = await testApp('sqlite', { publicUrl: 'https://owners.test' });
  });
  after(async () => {
    await t.close();
  });

  it('serves the page with a CSP that allows only its own script, never stored or named', async () => {
    const res = await t.call('GET', '/owner/shares/accept', { token: null });
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
      "require-trusted-types-for 'script'",
      "trusted-types 'none'",
    ])
      assert.ok(csp.includes(directive), `${directive} in ${csp}`);
    assert.equal(res.headers['cache-control'], 'no-store');
    assert.equal(res.headers['referrer-policy'], 'no-referrer');
    assert.equal(res.headers['x-content-type-options'], 'nosniff');
    assert.match(res.raw, /<html lang="en">/);
    assert.match(res.raw, /<script type="module" src="\/owner\/shares\/accept.js"><\/script>/);
    assert.equal(res.raw.match(/<script/g)?.length, 1, 'no inline script');
    assert.doesNotMatch(res.raw, / on[a-z]+=/, 'no event handler attributes');
    assert.match(res.raw, /Accept a shared device/);
    assert.match(res.raw, /Send me a sign-in link/);
    assert.match(res.raw, /<a href="\/owner\/sign-in">/, 'the sign-in page, for those who sign in there');
  });

  it('speaks German when the browser prefers it or ?lang=de asks; refuses another language in the query', async () => {
    const german = await t.call('GET', '/owner/shares/accept', {
      token: null,
      headers: { 'accept-language': 'fr-CH, de-DE;q=0.8, en;q=0.5' },
    });
    assert.match(german.raw, /<html lang="de">/);
    assert.match(german.raw, /Ein geteiltes Gerät annehmen/);
    assert.match(german.raw, /Einladung annehmen/);
    assert.equal(german.headers.vary, 'accept-language');
    assert.match(
      (await t.call('GET', '/owner/shares/accept?lang=de', { token: null })).raw,
      /<html lang="de">/,
    );
    const overridden = await t.call('GET', '/owner/shares/accept?lang=en', {
      token: null,
      headers: { 'accept-language': 'de' },
    });
    assert.match(overridden.raw, /<html lang="en">/);
    assert.equal((await t.call('GET', '/owner/shares/accept?lang=xx', { token: null })).status, 400);
    assert.equal((await t.call('GET', '/owner/shares/accept?lang=%00', { token: null })).status, 400);
    assert.equal((await t.call('GET', '/owner/shares/accept?token=abc', { token: null })).status, 400);
  });

  it('serves the script as JavaScript, never stored, with no eval, no HTML sinks and no storage', async () => {
    const res = await t.call('GET', '/owner/shares/accept.js', { token: null });
    assert.equal(res.status, 200);
    assert.match(String(res.headers['content-type']), /^text\/javascript; charset=utf-8/);
    assert.equal(res.headers['cache-control'], 'no-store');
    assert.equal(
      res.headers['content-security-policy'],
      (await t.call('GET', '/owner/shares/accept', { token: null })).headers['content-security-policy'],
    );
    assert.doesNotMatch(
      res.raw,
      /\beval\(|new Function|innerHTML|outerHTML|insertAdjacentHTML|document\.write/,
    );
    assert.doesNotMatch(
      res.raw,
      /localStorage|sessionStorage|indexedDB|document\.cookie/,
      'the secret stays in memory',
    );
    assert.match(res.raw, /history\.replaceState/);
    // The secret travels in a POST body only.
    assert.match(res.raw, /'\/v1\/owner\/shares\/accept', \{ token: secret \}/);
  });
});
