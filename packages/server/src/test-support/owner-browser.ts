import assert from 'node:assert/strict';
import { OWNER_SESSION_COOKIE } from '../owners/sign-in.js';
import type { Response, TestApp } from './app.js';
import type { TestSmtpServer } from './smtp.js';

/** An owner's browser: the cookie it keeps and the CSRF token the app holds in memory. */
export interface OwnerBrowser {
  cookie: string;
  csrf: string;
  id: string;
}

/** Quoted-printable as the mail left the server (RFC 2045 §6.7). */
const unQuote = (raw: string) =>
  raw
    .replace(/=\r?\n/g, '')
    .replace(/=([0-9A-F]{2})/g, (_, hex: string) => String.fromCharCode(Number.parseInt(hex, 16)));

/**
 * Owner requests against a test app whose `publicUrl` is https://owners.test and whose mail goes
 * to `smtp`: signs in through the real e-mail link, then calls owner routes with cookie and CSRF.
 */
export function ownerClient(t: TestApp, smtp: TestSmtpServer) {
  const call = async (
    method: 'GET' | 'POST' | 'DELETE',
    url: string,
    options: { owner?: OwnerBrowser; body?: unknown } = {},
  ): Promise<Response & { payload: Buffer }> => {
    const response = await t.app.http.inject({
      method,
      url,
      remoteAddress: '192.0.2.7',
      headers: {
        ...(options.body !== undefined ? { 'content-type': 'application/json' } : {}),
        ...(options.owner ? { cookie: options.owner.cookie, 'x-csrf-token': options.owner.csrf } : {}),
      },
      ...(options.body !== undefined ? { payload: JSON.stringify(options.body) } : {}),
    });
    let body: any = null;
    try {
      body = response.body ? JSON.parse(response.body) : null;
    } catch {
      body = null;
    }
    return {
      status: response.statusCode,
      body,
      headers: response.headers,
      raw: response.body,
      payload: response.rawPayload,
    };
  };

  const signIn = async (email: string): Promise<OwnerBrowser> => {
    const before = smtp.received.length;
    const asked = await call('POST', '/v1/owner/sign-in', { body: { email } });
    assert.equal(asked.status, 202, asked.raw);
    const deadline = Date.now() + 5000;
    while (smtp.received.length === before && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 20));
    const mail = smtp.received.slice(before).find((m) => m.to.includes(email.toLowerCase()));
    assert.ok(mail, `a mail reached ${email}`);
    const link = /https:\/\/owners\.test\/owner\/sign-in#([A-Za-z0-9_-]{43})/.exec(unQuote(mail.raw));
    assert.ok(link?.[1]);
    const done = await call('POST', '/v1/owner/sign-in/complete', { body: { token: link[1] } });
    assert.equal(done.status, 200, done.raw);
    const line = [done.headers['set-cookie']]
      .flat()
      .map(String)
      .find((c) => c.startsWith(`${OWNER_SESSION_COOKIE}=`));
    assert.ok(line);
    return { cookie: line.split(';')[0] as string, csrf: done.body.csrfToken, id: done.body.owner.id };
  };

  return { call, signIn };
}
