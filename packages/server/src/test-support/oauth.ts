import assert from 'node:assert/strict';
import * as oidc from 'openid-client';
import { OWNER_SESSION_COOKIE } from '../owners/sign-in.js';
import type { TestApp } from './app.js';
import type { TestSmtpServer } from './smtp.js';

/** An owner's browser: the cookie it keeps and the CSRF token the owner's page holds. */
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

/** Signs an owner in through the real e-mail link (the mail read from the SMTP server). */
export async function signInOwner(t: TestApp, smtp: TestSmtpServer, email: string): Promise<OwnerBrowser> {
  const before = smtp.received.length;
  const asked = await t.call('POST', '/v1/owner/sign-in', { token: null, body: { email } });
  assert.equal(asked.status, 202, asked.raw);
  const deadline = Date.now() + 5000;
  while (smtp.received.length === before && Date.now() < deadline)
    await new Promise((r) => setTimeout(r, 20));
  const mail = smtp.received.slice(before).find((m) => m.to.includes(email.toLowerCase()));
  assert.ok(mail, `a mail reached ${email}`);
  const secret = /\/owner\/sign-in#([A-Za-z0-9_-]{43})/.exec(unQuote(mail.raw))?.[1];
  assert.ok(secret);
  const done = await t.call('POST', '/v1/owner/sign-in/complete', { token: null, body: { token: secret } });
  assert.equal(done.status, 200, done.raw);
  const line = [done.headers['set-cookie']]
    .flat()
    .map(String)
    .find((c) => c.startsWith(`${OWNER_SESSION_COOKIE}=`));
  assert.ok(line);
  return { cookie: line.split(';')[0] as string, csrf: done.body.csrfToken, id: done.body.owner.id };
}

/**
 * openid-client's requests, answered by the app in process: the library builds and reads real HTTP
 * requests and responses (its own checks included), only the socket is left out, so the issuer can
 * be the https `http.publicUrl` the server names.
 */
export function injectFetch(t: TestApp, remoteAddress = '127.0.0.1'): oidc.CustomFetch {
  return async (url, options) => {
    const target = new URL(url);
    const body = options.body;
    const response = await t.app.http.inject({
      method: options.method as 'GET',
      url: `${target.pathname}${target.search}`,
      remoteAddress,
      headers: Object.fromEntries(new Headers(options.headers as HeadersInit).entries()),
      ...(body !== undefined && body !== null ? { payload: body.toString() } : {}),
    });
    const headers = new Headers();
    for (const [name, value] of Object.entries(response.headers))
      for (const v of [value].flat()) if (v !== undefined) headers.append(name, String(v));
    const empty = response.rawPayload.length === 0;
    return new Response(empty ? null : new Uint8Array(response.rawPayload), {
      status: response.statusCode,
      headers,
    });
  };
}

/** The app's side: an openid-client configuration found through RFC 8414 discovery. */
export async function discoverApp(
  t: TestApp,
  issuer: string,
  clientId: string,
  auth: oidc.ClientAuth = oidc.None(),
  remoteAddress?: string,
): Promise<oidc.Configuration> {
  const fetch = injectFetch(t, remoteAddress);
  const config = await oidc.discovery(new URL(issuer), clientId, undefined, auth, {
    algorithm: 'oauth2',
    [oidc.customFetch]: fetch,
  });
  config[oidc.customFetch] = fetch;
  return config;
}

/** The owner's browser on the consent page: GET the authorization URL, then post Allow or Deny. */
export async function consent(
  t: TestApp,
  owner: OwnerBrowser | null,
  url: URL,
  decision: 'allow' | 'deny' | null,
): Promise<{ status: number; location: string | undefined; html: string; headers: Record<string, unknown> }> {
  const shown = await t.app.http.inject({
    method: 'GET',
    url: `${url.pathname}${url.search}`,
    headers: owner ? { cookie: owner.cookie } : {},
  });
  if (decision === null || shown.statusCode !== 200 || !owner)
    return {
      status: shown.statusCode,
      location: shown.headers.location as string | undefined,
      html: shown.body,
      headers: shown.headers,
    };
  const form = new URLSearchParams(url.search);
  form.set('csrf_token', owner.csrf);
  form.set('decision', decision);
  const posted = await t.app.http.inject({
    method: 'POST',
    url: '/oauth/authorize',
    headers: { cookie: owner.cookie, 'content-type': 'application/x-www-form-urlencoded' },
    payload: form.toString(),
  });
  return {
    status: posted.statusCode,
    location: posted.headers.location as string | undefined,
    html: posted.body,
    headers: posted.headers,
  };
}
