import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import * as oidc from 'openid-client';
import { testDialects } from '../store/test-helper.js';
import { plugCapabilities, type TestApp, testApp } from '../test-support/app.js';
import { consent, discoverApp, type OwnerBrowser, signInOwner } from '../test-support/oauth.js';
import { startSmtpServer, type TestSmtpServer } from '../test-support/smtp.js';
import { CODE_SECONDS } from './authorization.js';

const ISSUER = 'https://owners.test';
const WEB = 'https://app.acme.example/callback';
const NATIVE = 'com.acme.plugs:/oauth';

/** The error code openid-client read from an OAuth error answer. */
async function oauthError(work: Promise<unknown>): Promise<string> {
  try {
    await work;
  } catch (error) {
    if (error instanceof oidc.ResponseBodyError) return error.error;
    if (error instanceof oidc.AuthorizationResponseError) return error.error;
    // A 401 with a Basic challenge (RFC 6749 §5.2): the library hands over the answer itself.
    if (error instanceof oidc.WWWAuthenticateChallengeError)
      return ((await error.response.json()) as { error: string }).error;
    throw error;
  }
  assert.fail('expected an OAuth error');
}

for (const dialect of testDialects) {
  describe(`app API: OAuth 2.1 with a real OAuth client (openid-client) (${dialect})`, () => {
    let t: TestApp;
    let smtp: TestSmtpServer;
    let ana: OwnerBrowser;
    let ben: OwnerBrowser;
    /** Ana's plug (acme), Ben's plug (acme), Ana's plug of another maker (globex). */
    const devices: Record<string, string> = {};
    let publicApp: { id: string };
    let readOnlyApp: { id: string };
    let globexApp: { id: string };

    const api = (token: string, method: string, path: string, body?: unknown) =>
      t.app.http.inject({
        method: method as 'GET',
        url: path,
        headers: {
          authorization: `Bearer ${token}`,
          ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
        },
        ...(body !== undefined ? { payload: JSON.stringify(body) } : {}),
      });

    /** The whole flow as an app runs it: discovery, PKCE, consent, code for tokens. */
    const authorize = async (
      clientId: string,
      owner: OwnerBrowser,
      options: { scope?: string; redirect?: string; auth?: oidc.ClientAuth } = {},
    ) => {
      const config = await discoverApp(t, ISSUER, clientId, options.auth);
      const verifier = oidc.randomPKCECodeVerifier();
      const state = oidc.randomState();
      const url = oidc.buildAuthorizationUrl(config, {
        redirect_uri: options.redirect ?? WEB,
        scope: options.scope ?? 'devices:read devices:control',
        code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
        code_challenge_method: 'S256',
        state,
      });
      const answer = await consent(t, owner, url, 'allow');
      assert.equal(answer.status, 303, answer.html);
      assert.ok(answer.location);
      return { config, verifier, state, url, callback: new URL(answer.location) };
    };

    const makeApp = async (org: string, body: Record<string, unknown>) => {
      const made = await t.call('POST', `/v1/orgs/${org}/apps`, { body });
      assert.equal(made.status, 201, made.raw);
      return made.body as { app: { id: string }; clientSecret: string | null };
    };

    before(async () => {
      smtp = await startSmtpServer();
      t = await testApp(dialect, {
        publicUrl: ISSUER,
        mail: { smtpUrl: smtp.url, from: 'brickless@acme.test' },
      });
      for (const slug of ['acme', 'globex']) {
        await t.org(slug);
        const product = await t.call('POST', `/v1/orgs/${slug}/products`, {
          body: {
            modelNumber: 'PLUG-1',
            name: 'Smart plug',
            hardwareRevision: 'A',
            supportEnds: '2031-12-31',
            capabilities: plugCapabilities,
          },
        });
        assert.equal(product.status, 201, product.raw);
        const made = await t.call('POST', `/v1/orgs/${slug}/provisioning`, {
          body: { productId: product.body.id, serials: [`${slug}-1`, `${slug}-2`], firmwareVersion: '1.0.0' },
        });
        assert.equal(made.status, 201, made.raw);
        for (const d of made.body.devices) devices[`${d.serial}`] = `${d.deviceId} ${d.claimCode}`;
      }
      ana = await signInOwner(t, smtp, 'ana@example.com');
      ben = await signInOwner(t, smtp, 'ben@example.com');
      const claim = async (owner: OwnerBrowser, serial: string) => {
        const [, code] = (devices[serial] ?? '').split(' ');
        const res = await t.app.http.inject({
          method: 'POST',
          url: '/v1/owner/claims',
          headers: { cookie: owner.cookie, 'x-csrf-token': owner.csrf, 'content-type': 'application/json' },
          payload: JSON.stringify({ code }),
        });
        assert.equal(res.statusCode, 201, res.body);
      };
      await claim(ana, 'acme-1');
      await claim(ben, 'acme-2');
      await claim(ana, 'globex-1');
      for (const key of Object.keys(devices)) devices[key] = (devices[key] ?? '').split(' ')[0] as string;
      publicApp = (
        await makeApp('acme', {
          name: 'Acme Plugs',
          clientType: 'public',
          redirectUris: [WEB, NATIVE, 'http://127.0.0.1/callback'],
          scopes: ['devices:read', 'devices:control'],
        })
      ).app;
      readOnlyApp = (
        await makeApp('acme', {
          name: 'Acme Energy',
          clientType: 'public',
          redirectUris: [WEB],
          scopes: ['devices:read'],
        })
      ).app;
      globexApp = (
        await makeApp('globex', {
          name: 'Globex Home',
          clientType: 'public',
          redirectUris: [WEB],
          scopes: ['devices:read', 'devices:control'],
        })
      ).app;
    });
    after(async () => {
      await t.close();
      await smtp.close();
    });

    it('publishes RFC 8414 metadata that openid-client discovers: issuer http.publicUrl, S256 only, iss in responses', async () => {
      const res = await t.call('GET', '/.well-known/oauth-authorization-server', { token: null });
      assert.equal(res.status, 200, res.raw);
      assert.equal(res.body.issuer, ISSUER);
      assert.deepEqual(res.body.code_challenge_methods_supported, ['S256']);
      assert.deepEqual(res.body.response_types_supported, ['code']);
      assert.equal(res.body.authorization_response_iss_parameter_supported, true);
      // A single-page app on the maker's site may call the token endpoint and the app API (CORS).
      for (const url of ['/oauth/token', '/v1/app/devices']) {
        const preflight = await t.app.http.inject({
          method: 'OPTIONS',
          url,
          headers: { origin: 'https://app.acme.example', 'access-control-request-method': 'POST' },
        });
        assert.equal(preflight.statusCode, 204, `${url}: ${preflight.body}`);
        assert.equal(preflight.headers['access-control-allow-origin'], '*');
        assert.match(String(preflight.headers['access-control-allow-headers']), /authorization/);
      }
      const config = await discoverApp(t, ISSUER, publicApp.id);
      assert.equal(config.serverMetadata().token_endpoint, `${ISSUER}/oauth/token`);
      assert.equal(config.serverMetadata().revocation_endpoint, `${ISSUER}/oauth/revoke`);
    });

    it('runs the whole flow: consent, code with PKCE, the owner’s devices, control, refresh with rotation, revocation', async () => {
      const { config, verifier, state, callback } = await authorize(publicApp.id, ana);
      assert.equal(callback.searchParams.get('iss'), ISSUER, 'RFC 9207');
      assert.equal(callback.searchParams.get('state'), state);
      const tokens = await oidc.authorizationCodeGrant(config, callback, {
        pkceCodeVerifier: verifier,
        expectedState: state,
      });
      assert.match(tokens.access_token, /^bat_/);
      assert.equal(tokens.token_type.toLowerCase(), 'bearer');
      assert.ok(tokens.refresh_token);
      assert.equal(tokens.scope, 'devices:read devices:control');
      assert.equal(tokens.expires_in, 900);
      const stored = JSON.stringify(
        await t.app.services.store.db.selectFrom('oauth_tokens').selectAll().execute(),
      );
      assert.ok(
        !stored.includes(tokens.access_token) && !stored.includes(tokens.refresh_token),
        'hashes only',
      );

      // The owner's devices of the app's organisation: Ana's acme plug, not her globex one, not Ben's.
      const list = await oidc.fetchProtectedResource(
        config,
        tokens.access_token,
        new URL(`${ISSUER}/v1/app/devices`),
        'GET',
      );
      assert.equal(list.status, 200);
      const items = ((await list.json()) as { items: { id: string }[] }).items;
      assert.deepEqual(
        items.map((d) => d.id),
        [devices['acme-1']],
      );

      const mine = devices['acme-1'] as string;
      const state0 = await api(tokens.access_token, 'GET', `/v1/app/devices/${mine}/state`);
      assert.equal(state0.statusCode, 200, state0.body);
      const changed = await api(tokens.access_token, 'PATCH', `/v1/app/devices/${mine}/state`, {
        version: JSON.parse(state0.body).desiredVersion,
        desired: { on: true },
      });
      assert.equal(changed.statusCode, 200, changed.body);
      assert.equal(JSON.parse(changed.body).desired.on, true);
      const sent = await api(tokens.access_token, 'POST', `/v1/app/devices/${mine}/commands`, {
        name: 'reboot',
      });
      assert.equal(sent.statusCode, 201, sent.body);
      const command = JSON.parse(sent.body);
      assert.match(command.createdBy, /^owner:own_[0-9a-f]{28} via app:app_/);
      const status = await api(tokens.access_token, 'GET', `/v1/app/devices/${mine}/commands/${command.id}`);
      assert.equal(status.statusCode, 200, status.body);
      assert.equal(JSON.parse(status.body).status, 'queued');
      // Readings from before the owner's claim (a previous owner's) are never shown, even when asked for.
      const claimedAt = (
        await t.app.services.store.db
          .selectFrom('device_owners')
          .select('created_at')
          .where('device_id', '=', mine)
          .executeTakeFirstOrThrow()
      ).created_at;
      const orgOfDevice = (
        await t.app.services.store.db
          .selectFrom('devices')
          .select('org_id')
          .where('id', '=', mine)
          .executeTakeFirstOrThrow()
      ).org_id;
      const claimMs = Date.parse(claimedAt);
      await t.app.services.store.db
        .insertInto('telemetry')
        .values([
          {
            org_id: orgOfDevice,
            device_id: mine,
            field: 'power',
            ts: claimMs - 60_000,
            num_value: 1,
            text_value: null,
          },
          {
            org_id: orgOfDevice,
            device_id: mine,
            field: 'power',
            ts: claimMs + 1_000,
            num_value: 2,
            text_value: null,
          },
        ])
        .execute();
      const readings = await api(
        tokens.access_token,
        'GET',
        `/v1/app/devices/${mine}/telemetry?field=power&from=${encodeURIComponent(new Date(claimMs - 3_600_000).toISOString())}`,
      );
      assert.equal(readings.statusCode, 200, readings.body);
      assert.deepEqual(
        (JSON.parse(readings.body).points as { value: number }[]).map((p) => p.value),
        [2],
        'only readings since the owner claimed the device',
      );
      // What the owner was told (issue 18 §3) is in the app API too, limited to this maker's products.
      await t.app.services.notifier.run();
      const notices = await api(tokens.access_token, 'GET', '/v1/app/notices');
      assert.equal(notices.statusCode, 200, notices.body);
      const told = JSON.parse(notices.body) as { items: { kind: string; data: { deviceIds?: string[] } }[] };
      assert.ok(
        told.items.some((n) => n.kind === 'support-period' && n.data.deviceIds?.includes(mine)),
        notices.body,
      );
      const globex = devices['globex-1']?.split(' ')[0] as string;
      const everything = await t.app.services.store.db
        .selectFrom('owner_notices')
        .select('data')
        .where('data', 'like', `%${globex}%`)
        .execute();
      assert.ok(everything.length > 0, 'the owner was told about the other maker’s device too');
      assert.ok(
        told.items.every((n) => !n.data.deviceIds?.includes(globex)),
        'but this maker’s app does not see it',
      );
      const updates = await api(tokens.access_token, 'GET', `/v1/app/devices/${mine}/updates`);
      assert.equal(updates.statusCode, 200, updates.body);
      assert.equal(JSON.parse(updates.body).firmwareVersion, '1.0.0');

      // The maker's audit log names the owner and the app by id, never a token.
      const audit = await t.call('GET', '/v1/orgs/acme/audit?limit=200');
      const entries = audit.body.items as { action: string; actor: string; details: unknown }[];
      assert.ok(entries.some((e) => e.action === 'app.grant'));
      assert.ok(
        entries.some((e) => e.action === 'device.command' && e.actor.includes(`via app:${publicApp.id}`)),
      );
      assert.ok(!audit.raw.includes(tokens.access_token) && !audit.raw.includes(tokens.refresh_token));

      // Refresh rotates: the new pair works, the old refresh token is spent.
      const next = await oidc.refreshTokenGrant(config, tokens.refresh_token as string);
      assert.notEqual(next.refresh_token, tokens.refresh_token);
      assert.equal((await api(next.access_token, 'GET', '/v1/app/devices')).statusCode, 200);
      // A refresh may narrow the scope, never widen it (RFC 6749 §6).
      const narrowed = await oidc.refreshTokenGrant(config, next.refresh_token as string, {
        scope: 'devices:read',
      });
      assert.equal(narrowed.scope, 'devices:read');
      assert.equal(
        await oauthError(
          oidc.refreshTokenGrant(config, narrowed.refresh_token as string, {
            scope: 'devices:read devices:control',
          }),
        ),
        'invalid_scope',
      );
      const readOnly = await api(narrowed.access_token, 'PATCH', `/v1/app/devices/${mine}/state`, {
        version: 1,
        desired: { on: false },
      });
      assert.equal(readOnly.statusCode, 403, readOnly.body);
      assert.match(String(readOnly.headers['www-authenticate']), /insufficient_scope/);

      // Revocation (RFC 7009): the refresh token ends with every token of its sign-in.
      await oidc.tokenRevocation(config, narrowed.refresh_token as string);
      assert.equal(
        await oauthError(oidc.refreshTokenGrant(config, narrowed.refresh_token as string)),
        'invalid_grant',
      );
      const revoked = await api(narrowed.access_token, 'GET', '/v1/app/devices');
      assert.equal(revoked.statusCode, 401, revoked.body);
      assert.match(String(revoked.headers['www-authenticate']), /invalid_token/);
      // An unknown token is revoked without complaint (RFC 7009 §2.2).
      await oidc.tokenRevocation(config, 'bat_unknown');
    });

    it('spends a code once: a second use fails and revokes the tokens the first one gave', async () => {
      const { config, verifier, state, callback } = await authorize(publicApp.id, ana);
      const first = await oidc.authorizationCodeGrant(config, callback, {
        pkceCodeVerifier: verifier,
        expectedState: state,
      });
      assert.equal((await api(first.access_token, 'GET', '/v1/app/devices')).statusCode, 200);
      assert.equal(
        await oauthError(
          oidc.authorizationCodeGrant(config, callback, { pkceCodeVerifier: verifier, expectedState: state }),
        ),
        'invalid_grant',
      );
      assert.equal((await api(first.access_token, 'GET', '/v1/app/devices')).statusCode, 401);
      assert.equal(
        await oauthError(oidc.refreshTokenGrant(config, first.refresh_token as string)),
        'invalid_grant',
      );
    });

    it('revokes the whole family when a rotated refresh token comes back (RFC 9700 §4.14.2)', async () => {
      const { config, verifier, state, callback } = await authorize(publicApp.id, ana);
      const first = await oidc.authorizationCodeGrant(config, callback, {
        pkceCodeVerifier: verifier,
        expectedState: state,
      });
      const second = await oidc.refreshTokenGrant(config, first.refresh_token as string);
      // The thief (or the app, after the thief) presents the rotated token again.
      assert.equal(
        await oauthError(oidc.refreshTokenGrant(config, first.refresh_token as string)),
        'invalid_grant',
      );
      assert.equal(
        await oauthError(oidc.refreshTokenGrant(config, second.refresh_token as string)),
        'invalid_grant',
      );
      assert.equal((await api(second.access_token, 'GET', '/v1/app/devices')).statusCode, 401);
      const audit = await t.call('GET', '/v1/orgs/acme/audit?limit=200');
      assert.ok((audit.body.items as { action: string }[]).some((e) => e.action === 'app.token-reuse'));
    });

    it('refuses an expired code, a wrong verifier, a missing verifier and another redirect_uri', async () => {
      const expired = await authorize(publicApp.id, ana);
      t.clock.advance((CODE_SECONDS + 1) * 1000);
      assert.equal(
        await oauthError(
          oidc.authorizationCodeGrant(expired.config, expired.callback, {
            pkceCodeVerifier: expired.verifier,
            expectedState: expired.state,
          }),
        ),
        'invalid_grant',
      );
      const wrong = await authorize(publicApp.id, ana);
      assert.equal(
        await oauthError(
          oidc.authorizationCodeGrant(wrong.config, wrong.callback, {
            pkceCodeVerifier: oidc.randomPKCECodeVerifier(),
            expectedState: wrong.state,
          }),
        ),
        'invalid_grant',
      );
      const raw = async (form: Record<string, string>) => {
        const res = await t.app.http.inject({
          method: 'POST',
          url: '/oauth/token',
          remoteAddress: '198.51.100.7',
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
          payload: new URLSearchParams(form).toString(),
        });
        return { status: res.statusCode, body: JSON.parse(res.body) };
      };
      const missing = await authorize(publicApp.id, ana);
      const code = missing.callback.searchParams.get('code') as string;
      const noVerifier = await raw({
        grant_type: 'authorization_code',
        client_id: publicApp.id,
        code,
        redirect_uri: WEB,
      });
      assert.equal(noVerifier.status, 400);
      assert.equal(noVerifier.body.error, 'invalid_request');
      const otherRedirect = await raw({
        grant_type: 'authorization_code',
        client_id: publicApp.id,
        code,
        redirect_uri: 'http://127.0.0.1/callback',
        code_verifier: missing.verifier,
      });
      assert.equal(otherRedirect.body.error, 'invalid_grant');
      // The code of one app is nothing to another.
      const stolen = await raw({
        grant_type: 'authorization_code',
        client_id: readOnlyApp.id,
        code,
        redirect_uri: WEB,
        code_verifier: missing.verifier,
      });
      assert.equal(stolen.body.error, 'invalid_grant');
      const duplicate = await t.app.http.inject({
        method: 'POST',
        url: '/oauth/token',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        payload: `grant_type=authorization_code&grant_type=refresh_token&client_id=${publicApp.id}`,
      });
      assert.equal(duplicate.statusCode, 400);
      assert.equal(JSON.parse(duplicate.body).error, 'invalid_request', 'RFC 6749 §3.1: no parameter twice');
    });

    it('refuses plain PKCE, no PKCE, scope escalation and a redirect URI the app did not register', async () => {
      const config = await discoverApp(t, ISSUER, readOnlyApp.id);
      const ask = (params: Record<string, string>) =>
        consent(
          t,
          ana,
          oidc.buildAuthorizationUrl(config, { redirect_uri: WEB, state: 's1', ...params }),
          null,
        );
      const plain = await ask({ code_challenge: 'a'.repeat(43), code_challenge_method: 'plain' });
      assert.equal(plain.status, 303);
      const plainUrl = new URL(plain.location as string);
      assert.equal(plainUrl.searchParams.get('error'), 'invalid_request');
      assert.equal(plainUrl.searchParams.get('state'), 's1');
      assert.equal(plainUrl.searchParams.get('iss'), ISSUER);
      assert.equal(plainUrl.searchParams.get('code'), null);
      const none = await ask({});
      assert.equal(new URL(none.location as string).searchParams.get('error'), 'invalid_request');
      const escalate = await ask({
        scope: 'devices:control',
        code_challenge: 'a'.repeat(43),
        code_challenge_method: 'S256',
      });
      assert.equal(new URL(escalate.location as string).searchParams.get('error'), 'invalid_scope');
      // A redirect URI the app did not register is never redirected to (RFC 9700 §4.1).
      const evil = await consent(
        t,
        ana,
        oidc.buildAuthorizationUrl(config, {
          redirect_uri: 'https://evil.example/callback',
          code_challenge: 'a'.repeat(43),
          code_challenge_method: 'S256',
        }),
        null,
      );
      assert.equal(evil.status, 400);
      assert.equal(evil.location, undefined);
      assert.match(evil.html, /redirect_uri/);
      const prefix = await consent(
        t,
        ana,
        oidc.buildAuthorizationUrl(config, {
          redirect_uri: `${WEB}/more`,
          code_challenge: 'a'.repeat(43),
          code_challenge_method: 'S256',
        }),
        null,
      );
      assert.equal(prefix.status, 400, 'exact match, not a prefix');
    });

    it('shows a consent page in the owner’s language, escaped, under a strict CSP; Deny answers access_denied', async () => {
      const hostile = await makeApp('acme', {
        name: '<script>alert(1)</script> "Plugs"',
        clientType: 'public',
        redirectUris: [NATIVE],
        scopes: ['devices:read'],
      });
      const config = await discoverApp(t, ISSUER, hostile.app.id);
      const url = oidc.buildAuthorizationUrl(config, {
        redirect_uri: NATIVE,
        code_challenge: await oidc.calculatePKCECodeChallenge(oidc.randomPKCECodeVerifier()),
        code_challenge_method: 'S256',
        state: 'xyz',
      });
      const shown = await t.app.http.inject({
        method: 'GET',
        url: `${url.pathname}${url.search}`,
        headers: { cookie: ana.cookie, 'accept-language': 'de-DE,de;q=0.9,en;q=0.5' },
      });
      assert.equal(shown.statusCode, 200, shown.body);
      assert.match(shown.body, /<html lang="de">/);
      assert.match(shown.body, /Erlauben/);
      assert.ok(!shown.body.includes('<script>'), 'the app name is escaped');
      const csp = String(shown.headers['content-security-policy']);
      assert.match(csp, /default-src 'none'/);
      assert.match(csp, /frame-ancestors 'none'/);
      assert.match(csp, /form-action 'self' com\.acme\.plugs:/);
      assert.equal(shown.headers['x-frame-options'], 'DENY');
      // Buttons a keyboard reaches (native form controls, no script).
      assert.match(shown.body, /<button type="submit" name="decision" value="allow">/);
      const denied = await consent(t, ana, url, 'deny');
      assert.equal(denied.status, 303);
      const back = new URL(denied.location as string);
      assert.equal(back.protocol, 'com.acme.plugs:');
      assert.equal(back.searchParams.get('error'), 'access_denied');
      assert.equal(back.searchParams.get('state'), 'xyz');
      // A consent posted without the session's CSRF token is refused.
      const forged = await t.app.http.inject({
        method: 'POST',
        url: '/oauth/authorize',
        headers: { cookie: ana.cookie, 'content-type': 'application/x-www-form-urlencoded' },
        payload: `${url.search.slice(1)}&decision=allow&csrf_token=forged`,
      });
      assert.equal(forged.statusCode, 403);
      assert.equal(forged.headers.location, undefined);
    });

    it('asks an owner who is not signed in to sign in first (after one same-site bounce for the Strict cookie)', async () => {
      const config = await discoverApp(t, ISSUER, publicApp.id);
      const url = oidc.buildAuthorizationUrl(config, {
        redirect_uri: WEB,
        code_challenge: 'a'.repeat(43),
        code_challenge_method: 'S256',
      });
      const first = await consent(t, null, url, null);
      assert.equal(first.status, 200);
      assert.match(first.html, /http-equiv="refresh"/);
      assert.match(first.html, /brickless_bounce/);
      const again = new URL(`${url.pathname}${url.search}&brickless_bounce=1`, ISSUER);
      const second = await consent(t, null, again, null);
      assert.equal(second.status, 401);
      assert.match(second.html, /Sign in first/);
      assert.match(second.html, /href="\/owner\/sign-in"/);
    });

    it('remembers consent for a web app’s https redirect, and asks a native app every time (RFC 8252 §8.6)', async () => {
      const config = await discoverApp(t, ISSUER, publicApp.id);
      const ask = async (redirect: string) =>
        consent(
          t,
          ana,
          oidc.buildAuthorizationUrl(config, {
            redirect_uri: redirect,
            scope: 'devices:read',
            code_challenge: 'a'.repeat(43),
            code_challenge_method: 'S256',
          }),
          null,
        );
      const web = await ask(WEB);
      assert.equal(web.status, 303, 'consented before: straight back with a code');
      assert.ok(new URL(web.location as string).searchParams.get('code'));
      const native = await ask(NATIVE);
      assert.equal(native.status, 200, 'a native app is asked again');
      // A loopback redirect matches whatever port the app listens on (RFC 8252 §7.3).
      const loopback = await ask('http://127.0.0.1:49152/callback');
      assert.equal(loopback.status, 200, loopback.html);
    });

    it('keeps owners and organisations apart: another owner’s device and another maker’s app see nothing', async () => {
      const mine = await authorize(publicApp.id, ana);
      const tokens = await oidc.authorizationCodeGrant(mine.config, mine.callback, {
        pkceCodeVerifier: mine.verifier,
        expectedState: mine.state,
      });
      for (const path of ['', '/state', '/updates', '/telemetry?field=power']) {
        const res = await api(tokens.access_token, 'GET', `/v1/app/devices/${devices['acme-2']}${path}`);
        assert.equal(res.statusCode, 404, `Ben's device${path}: ${res.body}`);
      }
      assert.equal(
        (
          await api(tokens.access_token, 'POST', `/v1/app/devices/${devices['acme-2']}/commands`, {
            name: 'reboot',
          })
        ).statusCode,
        404,
      );
      // Ana's globex plug is not the acme app's business.
      assert.equal(
        (await api(tokens.access_token, 'GET', `/v1/app/devices/${devices['globex-1']}`)).statusCode,
        404,
      );
      // The globex app sees Ana's globex plug only.
      const globex = await authorize(globexApp.id, ana);
      const globexTokens = await oidc.authorizationCodeGrant(globex.config, globex.callback, {
        pkceCodeVerifier: globex.verifier,
        expectedState: globex.state,
      });
      const list = JSON.parse((await api(globexTokens.access_token, 'GET', '/v1/app/devices')).body);
      assert.deepEqual(
        list.items.map((d: { id: string }) => d.id),
        [devices['globex-1']],
      );
      assert.equal(
        (await api(globexTokens.access_token, 'GET', `/v1/app/devices/${devices['acme-1']}`)).statusCode,
        404,
      );
      // Neither a staff token nor an owner's session opens the app API; an access token opens nothing else.
      assert.equal((await t.call('GET', '/v1/app/devices')).status, 403);
      const withCookie = await t.app.http.inject({
        method: 'GET',
        url: '/v1/app/devices',
        headers: { cookie: ana.cookie },
      });
      assert.equal(withCookie.statusCode, 403);
      assert.equal((await api(tokens.access_token, 'GET', '/v1/orgs/acme/devices')).statusCode, 401);
      assert.equal((await api(tokens.access_token, 'GET', '/v1/owner/devices')).statusCode, 401);
    });

    it('lets the owner see their app grants and take one back, which ends its tokens', async () => {
      const flow = await authorize(publicApp.id, ben);
      const tokens = await oidc.authorizationCodeGrant(flow.config, flow.callback, {
        pkceCodeVerifier: flow.verifier,
        expectedState: flow.state,
      });
      const grants = await t.app.http.inject({
        method: 'GET',
        url: '/v1/owner/apps',
        headers: { cookie: ben.cookie },
      });
      assert.equal(grants.statusCode, 200, grants.body);
      const items = JSON.parse(grants.body).items as {
        id: string;
        app: { id: string; name: string };
        scopes: string[];
      }[];
      assert.equal(items.length, 1);
      assert.deepEqual(items[0]?.app, { id: publicApp.id, name: 'Acme Plugs' });
      // Ana cannot take Ben's grant back.
      const foreign = await t.app.http.inject({
        method: 'DELETE',
        url: `/v1/owner/apps/${items[0]?.id}`,
        headers: { cookie: ana.cookie, 'x-csrf-token': ana.csrf },
      });
      assert.equal(foreign.statusCode, 404);
      const revoked = await t.app.http.inject({
        method: 'DELETE',
        url: `/v1/owner/apps/${items[0]?.id}`,
        headers: { cookie: ben.cookie, 'x-csrf-token': ben.csrf },
      });
      assert.equal(revoked.statusCode, 204, revoked.body);
      assert.equal((await api(tokens.access_token, 'GET', '/v1/app/devices')).statusCode, 401);
      assert.equal(
        await oauthError(oidc.refreshTokenGrant(flow.config, tokens.refresh_token as string)),
        'invalid_grant',
      );
      const audit = await t.call('GET', '/v1/orgs/acme/audit?limit=500');
      assert.ok((audit.body.items as { action: string }[]).some((e) => e.action === 'app.grant-revoke'));
    });

    it('authenticates a confidential app by its secret (basic and post), refuses a wrong one, and limits failures', async () => {
      const made = await makeApp('acme', {
        name: 'Acme Web',
        clientType: 'confidential',
        redirectUris: [WEB],
        scopes: ['devices:read'],
      });
      assert.match(made.clientSecret ?? '', /^bcs_/);
      for (const auth of [
        oidc.ClientSecretBasic(made.clientSecret as string),
        oidc.ClientSecretPost(made.clientSecret as string),
      ]) {
        const flow = await authorize(made.app.id, ana, { scope: 'devices:read', auth });
        const tokens = await oidc.authorizationCodeGrant(flow.config, flow.callback, {
          pkceCodeVerifier: flow.verifier,
          expectedState: flow.state,
        });
        assert.equal((await api(tokens.access_token, 'GET', '/v1/app/devices')).statusCode, 200);
      }
      const flow = await authorize(made.app.id, ana, { scope: 'devices:read' });
      const wrong = await discoverApp(
        t,
        ISSUER,
        made.app.id,
        oidc.ClientSecretBasic('bcs_wrong'),
        '203.0.113.9',
      );
      assert.equal(
        await oauthError(
          oidc.authorizationCodeGrant(wrong, flow.callback, {
            pkceCodeVerifier: flow.verifier,
            expectedState: flow.state,
          }),
        ),
        'invalid_client',
      );
      // Guessing: after 20 failures in 10 minutes from one address, even a good request waits.
      for (let i = 0; i < 19; i++)
        await oauthError(oidc.refreshTokenGrant(wrong, `brt_guess${i}`)).catch(() => undefined);
      const right = await discoverApp(
        t,
        ISSUER,
        made.app.id,
        oidc.ClientSecretBasic(made.clientSecret as string),
        '203.0.113.9',
      );
      let limited = false;
      try {
        await oidc.authorizationCodeGrant(right, flow.callback, {
          pkceCodeVerifier: flow.verifier,
          expectedState: flow.state,
        });
      } catch (error) {
        limited = error instanceof oidc.ResponseBodyError && error.status === 429;
      }
      assert.ok(limited, 'the 21st request from the address is refused with 429');
    });
  });
}
