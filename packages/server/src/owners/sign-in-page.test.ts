import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { pino } from 'pino';
import { type TestApp, testApp } from '../test-support/app.js';
import { startSmtpServer, type TestSmtpServer } from '../test-support/smtp.js';

/** Quoted-printable as the mail left the server (RFC 2045 §6.7). */
const unQuote = (raw: string) =>
  raw
    .replace(/=\r?\n/g, '')
    .replace(/=([0-9A-F]{2})/g, (_, hex: string) => String.fromCharCode(Number.parseInt(hex, 16)));

/** The owner sign-in page's answers: static, so one dialect is enough (the page reads no database). */
describe('the owner sign-in page (/owner/sign-in, /owner/sign-in.js)', () => {
  let t: TestApp;
  let smtp: TestSmtpServer;
  const logLines: string[] = [];
  before(async () => {
    smtp = await startSmtpServer();
    t = await testApp('sqlite', {
      publicUrl: 'https://owners.test',
      mail: { smtpUrl: smtp.url, from: 'brickless@acme.test' },
      logger: pino({ level: 'info' }, { write: (line: string) => logLines.push(line) }),
    });
  });
  after(async () => {
    await t.close();
    await smtp.close();
  });

  it('serves the page with a CSP that allows only its own script, never stored or named', async () => {
    const res = await t.call('GET', '/owner/sign-in', { token: null });
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
    ])
      assert.ok(csp.includes(directive), `${directive} in ${csp}`);
    assert.equal(res.headers['cache-control'], 'no-store');
    assert.equal(res.headers['referrer-policy'], 'no-referrer');
    assert.equal(res.headers['x-content-type-options'], 'nosniff');
    assert.match(res.raw, /<html lang="en">/);
    assert.match(res.raw, /<script type="module" src="\/owner\/sign-in.js"><\/script>/);
    assert.equal(res.raw.match(/<script/g)?.length, 1, 'no inline script');
    assert.doesNotMatch(res.raw, / on[a-z]+=/, 'no event handler attributes');
    assert.match(res.raw, /Sign in with a passkey/);
    assert.match(res.raw, /Send me a link/);
  });

  it('speaks German when the browser prefers it or ?lang=de asks; refuses another language in the query', async () => {
    const german = await t.call('GET', '/owner/sign-in', {
      token: null,
      headers: { 'accept-language': 'fr-CH, de-DE;q=0.8, en;q=0.5' },
    });
    assert.match(german.raw, /<html lang="de">/);
    assert.match(german.raw, /Bei Ihren Geräten anmelden/);
    assert.match(german.raw, /Mit einem Passkey anmelden/);
    assert.equal(german.headers.vary, 'accept-language');
    assert.match((await t.call('GET', '/owner/sign-in?lang=de', { token: null })).raw, /<html lang="de">/);
    const overridden = await t.call('GET', '/owner/sign-in?lang=en', {
      token: null,
      headers: { 'accept-language': 'de' },
    });
    assert.match(overridden.raw, /<html lang="en">/);
    assert.equal((await t.call('GET', '/owner/sign-in?lang=xx', { token: null })).status, 400);
    assert.equal((await t.call('GET', '/owner/sign-in?lang=%00', { token: null })).status, 400);
  });

  it('serves the script as JavaScript, never stored, with no eval and no HTML sinks', async () => {
    const res = await t.call('GET', '/owner/sign-in.js', { token: null });
    assert.equal(res.status, 200);
    assert.match(String(res.headers['content-type']), /^text\/javascript; charset=utf-8/);
    assert.equal(res.headers['cache-control'], 'no-store');
    assert.doesNotMatch(
      res.raw,
      /\beval\(|new Function|innerHTML|outerHTML|insertAdjacentHTML|document\.write/,
    );
    assert.match(res.raw, /history\.replaceState/);
    // The secret travels in a POST body only.
    assert.match(res.raw, /'\/v1\/owner\/sign-in\/complete', \{ token: secret \}/);
  });

  it('never writes the link’s secret to the log when the page uses it', async () => {
    const asked = await t.call('POST', '/v1/owner/sign-in', {
      token: null,
      body: { email: 'ana@example.com' },
    });
    assert.equal(asked.status, 202, asked.raw);
    const mail = await smtp.waitFor('ana@example.com');
    const secret = /owner\/sign-in#([A-Za-z0-9_-]{43})/.exec(unQuote(mail.raw))?.[1];
    assert.ok(secret);
    const done = await t.call('POST', '/v1/owner/sign-in/complete', { token: null, body: { token: secret } });
    assert.equal(done.status, 200, done.raw);
    const log = logLines.join('');
    assert.match(log, /\/v1\/owner\/sign-in\/complete/, 'requests are logged at info level');
    assert.ok(!log.includes(secret), 'the secret is not');
  });
});
