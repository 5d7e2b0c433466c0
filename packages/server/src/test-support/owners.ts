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

/** Quoted-printable as the mail left the server (RFC 2045 §6.7): soft breaks and =XX escapes undone. */
export const unQuote = (raw: string): string =>
  raw
    .replace(/=\r?\n/g, '')
    .replace(/=([0-9A-F]{2})/g, (_, hex: string) => String.fromCharCode(Number.parseInt(hex, 16)));

/** Owner-side requests over the real HTTP stack, and reading links out of the real SMTP server. */
export function ownerClient(t: () => TestApp, smtp: () => TestSmtpServer) {
  const call = async (
    method: 'GET' | 'POST' | 'DELETE' | 'PATCH',
    url: string,
    options: { owner?: OwnerBrowser; body?: unknown; ip?: string } = {},
  ): Promise<Response> => {
    const response = await t().app.http.inject({
      method,
      url,
      remoteAddress: options.ip ?? '192.0.2.1',
      headers: {
        ...(options.body !== undefined ? { 'content-type': 'application/json' } : {}),
        ...(options.owner ? { cookie: options.owner.cookie, 'x-csrf-token': options.owner.csrf } : {}),
      },
      ...(options.body !== undefined
        ? { payload: typeof options.body === 'string' ? options.body : JSON.stringify(options.body) }
        : {}),
    });
    let body: any = null;
    try {
      body = response.body ? JSON.parse(response.body) : null;
    } catch {
      body = response.body;
    }
    return { status: response.statusCode, body, headers: response.headers, raw: response.body };
  };

  /** Waits for the next mail to `email` after `before` mails, and returns the secret after `#` in `path`. */
  const secretFrom = async (email: string, before: number, path: string): Promise<string> => {
    const deadline = Date.now() + 5000;
    const find = () =>
      smtp()
        .received.slice(before)
        .find((m) => m.to.includes(email.toLowerCase()));
    while (!find() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    const mail = find();
    assert.ok(mail, `a mail reached ${email}`);
    const escaped = path.replace(/[/.]/g, '\\$&');
    const link = new RegExp(`https://owners\\.test${escaped}#([A-Za-z0-9_-]{43})`).exec(unQuote(mail.raw));
    assert.ok(link?.[1], unQuote(mail.raw));
    return link[1];
  };

  const signIn = async (email: string): Promise<OwnerBrowser> => {
    const before = smtp().received.length;
    const asked = await call('POST', '/v1/owner/sign-in', { body: { email } });
    assert.equal(asked.status, 202, asked.raw);
    const token = await secretFrom(email, before, '/owner/sign-in');
    const done = await call('POST', '/v1/owner/sign-in/complete', { body: { token } });
    assert.equal(done.status, 200, done.raw);
    const line = [done.headers['set-cookie']]
      .flat()
      .map(String)
      .find((c) => c.startsWith(`${OWNER_SESSION_COOKIE}=`));
    assert.ok(line);
    return { cookie: line.split(';')[0] as string, csrf: done.body.csrfToken, id: done.body.owner.id };
  };

  return { call, secretFrom, signIn };
}
