import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { testDialects } from '../store/test-helper.js';
import { type TestApp, testApp } from '../test-support/app.js';
import { startTestIdp, type TestIdp } from '../test-support/oidc-provider.js';
import { SESSION_COOKIE } from './sessions.js';
import { SSO_BINDING_COOKIE } from './sso-sign-in.js';

const PUBLIC = 'https://fleet.example.com';
const CALLBACK = `${PUBLIC}/v1/auth/sso/callback`;

function cookieOf(headers: Record<string, unknown>, name: string): string | undefined {
  const line = [headers['set-cookie']]
    .flat()
    .map(String)
    .find((c) => c.startsWith(`${name}=`));
  return line?.split(';')[0];
}

for (const dialect of testDialects) {
  describe(`single sign-on with OpenID Connect against a real provider (${dialect})`, () => {
    let t: TestApp;
    let idp: TestIdp;
    let acme: { id: string; token: string };
    const settings = () => ({
      issuer: idp.issuer,
      clientId: idp.clientId,
      clientSecret: idp.clientSecret,
      groupRoles: { ops: ['operator'], 'sec-team': ['security', 'auditor'], leads: ['operator', 'admin'] },
      scopes: ['openid', 'email', 'profile', 'groups'],
    });

    /** Start at brickless, log in at the provider, come back: what a browser does. */
    async function started(org = 'acme') {
      const start = await t.call('GET', `/v1/auth/sso/${org}/start`, { token: null });
      assert.equal(start.status, 302, start.raw);
      const location = String(start.headers.location);
      const binding = cookieOf(start.headers, SSO_BINDING_COOKIE);
      assert.ok(binding, 'the sign-in is bound to this browser');
      return { location, binding };
    }
    const callback = (back: URL, cookie: string | undefined) =>
      t.call('GET', `${back.pathname}${back.search}`, {
        token: null,
        headers: { accept: 'application/json', ...(cookie ? { cookie } : {}) },
      });
    async function signIn(login: string) {
      const { location, binding } = await started();
      const back = await idp.signIn(location, login);
      return { back, binding, res: await callback(back, binding) };
    }
    const session = (res: { headers: Record<string, unknown>; body: { csrfToken: string } }) => {
      const cookie = cookieOf(res.headers, SESSION_COOKIE);
      assert.ok(cookie, 'a session cookie is set');
      return { token: null, headers: { cookie, 'x-csrf-token': res.body.csrfToken } };
    };

    before(async () => {
      t = await testApp(dialect, { publicUrl: PUBLIC });
      acme = await t.org('acme');
      await t.org('other');
      idp = await startTestIdp(CALLBACK);
      idp.accounts.set('olga', {
        email: 'Olga@Example.com',
        email_verified: true,
        name: 'Olga',
        groups: ['ops', 'staff'],
      });
      idp.accounts.set('mona', { email: 'mona@example.com', email_verified: true, groups: ['marketing'] });
      idp.accounts.set('ulla', { email: 'ulla@example.com', email_verified: false, groups: ['ops'] });
      idp.accounts.set('wide', { email: 'wide@example.com', email_verified: true, groups: ['ops'] });
    });
    after(async () => {
      await idp?.close();
      await t?.close();
    });

    it('settings are saved after discovery, never show the secret, and refuse an issuer that does not answer', async () => {
      const nobody = await t.call('PUT', '/v1/orgs/acme/sso', {
        token: acme.token,
        body: { ...settings(), issuer: 'http://127.0.0.1:1' },
      });
      assert.equal(nobody.status, 400, nobody.raw);
      assert.match(nobody.body.detail, /does not answer with an OpenID Connect discovery document/);
      const plain = await t.call('PUT', '/v1/orgs/acme/sso', {
        token: acme.token,
        body: { ...settings(), issuer: 'http://idp.example.com' },
      });
      assert.equal(plain.status, 400);
      assert.match(plain.body.detail, /must be an https URL/);
      const badRole = await t.call('PUT', '/v1/orgs/acme/sso', {
        token: acme.token,
        body: { ...settings(), groupRoles: { ops: ['root'] } },
      });
      assert.equal(badRole.status, 400);
      const operator = await t.call('POST', '/v1/orgs/acme/tokens', {
        token: acme.token,
        body: { name: 'op', role: 'operator' },
      });
      const denied = await t.call('PUT', '/v1/orgs/acme/sso', {
        token: operator.body.token,
        body: settings(),
      });
      assert.equal(denied.status, 403, 'people:manage only');
      assert.equal((await t.call('GET', '/v1/orgs/acme/sso', { token: acme.token })).status, 404);

      const saved = await t.call('PUT', '/v1/orgs/acme/sso', { token: acme.token, body: settings() });
      assert.equal(saved.status, 200, saved.raw);
      assert.equal(saved.body.redirectUri, CALLBACK);
      assert.equal(saved.body.signInUrl, `${PUBLIC}/v1/auth/sso/acme/start`);
      const shown = await t.call('GET', '/v1/orgs/acme/sso', { token: acme.token });
      assert.equal(shown.status, 200);
      assert.deepEqual(shown.body.groupRoles.leads, ['admin', 'operator']);
      assert.equal(shown.body.groupsClaim, 'groups');
      assert.ok(!shown.raw.includes(idp.clientSecret), 'the secret is never shown');
      const row = await t.app.services.store.db
        .selectFrom('org_sign_in')
        .selectAll()
        .executeTakeFirstOrThrow();
      assert.ok(!row.oidc_client_secret_sealed?.includes(idp.clientSecret), 'sealed at rest');
      const audit = await t.call('GET', '/v1/orgs/acme/audit', { token: acme.token });
      const set = audit.body.items.find((e: { action: string }) => e.action === 'organization.sso-set');
      assert.ok(set, 'the change is audited');
      assert.ok(!JSON.stringify(set).includes(idp.clientSecret));
    });

    it('a person in a mapped group gets those roles, and the session works for that organisation only', async () => {
      const { res } = await signIn('olga');
      assert.equal(res.status, 200, res.raw);
      assert.equal(res.body.person.email, 'olga@example.com');
      assert.equal(res.body.person.displayName, 'Olga');
      assert.equal(res.body.method, 'oidc');
      assert.equal(res.body.person.factors.password, false, 'no password is made');
      const olga = session(res);
      const me = await t.call('GET', '/v1/whoami', olga);
      assert.equal(me.body.actor, 'person:olga@example.com');
      assert.deepEqual(me.body.roles, ['operator']);
      assert.equal((await t.call('GET', '/v1/orgs/acme/devices', olga)).status, 200);
      assert.equal((await t.call('GET', '/v1/orgs/acme/people', olga)).status, 200);
      assert.equal(
        (await t.call('GET', '/v1/orgs/acme/sso', olga)).status,
        403,
        'an operator manages no people',
      );
      assert.equal((await t.call('GET', '/v1/orgs/other/devices', olga)).status, 404);
    });

    it("the provider's groups and the mapping decide the roles again at every sign-in", async () => {
      (idp.accounts.get('olga') as { groups: string[] }).groups = ['sec-team', 'leads'];
      const promoted = await signIn('olga');
      assert.equal(promoted.res.status, 200, promoted.res.raw);
      const members = await t.call('GET', '/v1/orgs/acme/people', { token: acme.token });
      assert.deepEqual(
        members.body.items.find((m: { email: string }) => m.email === 'olga@example.com').roles,
        ['admin', 'auditor', 'operator', 'security'],
      );
      const { clientSecret: _kept, ...withoutSecret } = settings();
      const remapped = await t.call('PUT', '/v1/orgs/acme/sso', {
        token: acme.token,
        body: { ...withoutSecret, groupRoles: { 'sec-team': ['release-manager'] } },
      });
      assert.equal(remapped.status, 200, remapped.raw);
      const narrowed = await signIn('olga');
      assert.equal(narrowed.res.status, 200, narrowed.res.raw);
      const me = await t.call('GET', '/v1/whoami', session(narrowed.res));
      assert.deepEqual(
        me.body.roles,
        ['release-manager'],
        'the kept secret still works; the new mapping applies',
      );
      const audit = await t.call('GET', '/v1/orgs/acme/audit', { token: acme.token });
      const change = audit.body.items.find(
        (e: { action: string; details: { source?: string; roles: string[] } }) =>
          e.action === 'person.roles' &&
          e.details.source === 'oidc' &&
          e.details.roles.includes('release-manager'),
      );
      assert.ok(change, 'the role change is audited with its source');
      assert.deepEqual(change.details.previous, ['admin', 'auditor', 'operator', 'security']);
      await t.call('PUT', '/v1/orgs/acme/sso', { token: acme.token, body: settings() });
    });

    it('no mapped group, or an unverified e-mail address, is refused and makes no account', async () => {
      const { res } = await signIn('mona');
      assert.equal(res.status, 403, res.raw);
      assert.match(res.body.detail, /none of your groups .* gives a role .*marketing/);
      assert.equal(await t.app.services.people.findByEmail('mona@example.com'), undefined);
      const unverified = await signIn('ulla');
      assert.equal(unverified.res.status, 401);
      assert.match(unverified.res.body.detail, /not verified the e-mail address/);
      assert.equal(await t.app.services.people.findByEmail('ulla@example.com'), undefined);
    });

    it('a replayed, forged or foreign callback is refused (state once, this browser)', async () => {
      const first = await signIn('olga');
      assert.equal(first.res.status, 200, first.res.raw);
      const replay = await callback(first.back, first.binding);
      assert.equal(replay.status, 401);
      assert.match(replay.body.detail, /unknown, used or expired/);

      const { location, binding } = await started();
      const back = await idp.signIn(location, 'olga');
      const forged = new URL(back);
      forged.searchParams.set('state', 'forged-state-value');
      assert.equal((await callback(forged, binding)).status, 401, 'a forged state is unknown');
      const noState = new URL(back);
      noState.searchParams.delete('state');
      assert.match((await callback(noState, binding)).body.detail, /has no state/);
      const elsewhere = await callback(back, `${SSO_BINDING_COOKIE}=another-browsers-binding`);
      assert.equal(elsewhere.status, 401);
      assert.match(elsewhere.body.detail, /started in another browser/);
      assert.equal((await callback(back, binding)).status, 401, 'the state was used by the refused attempt');

      const cancelled = await started();
      const cancelState = new URL(cancelled.location).searchParams.get('state') ?? '';
      const denied = await callback(
        new URL(
          `${CALLBACK}?state=${cancelState}&error=access_denied&error_description=The+person+cancelled`,
        ),
        cancelled.binding,
      );
      assert.equal(denied.status, 401);
      assert.match(
        denied.body.detail,
        /identity provider refused the sign-in: access_denied The person cancelled/,
      );

      const late = await started();
      const lateBack = await idp.signIn(late.location, 'olga');
      t.clock.advance(11 * 60_000);
      const expired = await callback(lateBack, late.binding);
      assert.equal(expired.status, 401, 'ten minutes at most');
    });

    it('the nonce of the ID token must be the one this sign-in sent', async () => {
      const { location, binding } = await started();
      const back = await idp.signIn(location, 'olga');
      // As if the ID token had been minted for another sign-in: the stored nonce differs from its.
      const db = t.app.services.store.db;
      const row = await db.selectFrom('sign_in_challenges').selectAll().executeTakeFirstOrThrow();
      const data = JSON.parse(row.data);
      await db
        .updateTable('sign_in_challenges')
        .set({ data: JSON.stringify({ ...data, nonce: 'another-sign-ins-nonce' }) })
        .where('id', '=', row.id)
        .execute();
      const res = await callback(back, binding);
      assert.equal(res.status, 401, res.raw);
      assert.match(res.body.detail, /did not verify: .*"nonce" claim/);
    });

    it('the provider of one organisation cannot sign in an account that reaches beyond it', async () => {
      const first = await signIn('wide');
      assert.equal(first.res.status, 200, first.res.raw);
      const other = await t.app.services.orgs.get('other');
      await t.app.services.store.db
        .transaction()
        .execute((trx) =>
          t.app.services.people.grant(trx, 'test', first.res.body.person.id, other.id, ['auditor']),
        );
      const again = await signIn('wide');
      assert.equal(again.res.status, 403);
      assert.match(again.res.body.detail, /reaches beyond this organisation/);
    });

    it('a browser gets a page that opens the console; turning single sign-on off stops new sign-ins', async () => {
      const { location, binding } = await started();
      const back = await idp.signIn(location, 'olga');
      const page = await t.call('GET', `${back.pathname}${back.search}`, {
        token: null,
        headers: { cookie: binding },
      });
      assert.equal(page.status, 200, page.raw);
      assert.match(String(page.headers['content-type']), /text\/html/);
      assert.match(page.raw, /http-equiv="refresh" content="0; url=\/"/);
      assert.ok(cookieOf(page.headers, SESSION_COOKIE));

      const removed = await t.call('DELETE', '/v1/orgs/acme/sso', { token: acme.token });
      assert.equal(removed.status, 200, removed.raw);
      assert.equal((await t.call('GET', '/v1/orgs/acme/sso', { token: acme.token })).status, 404);
      assert.equal((await t.call('GET', '/v1/auth/sso/acme/start', { token: null })).status, 404);
      const audit = await t.call('GET', '/v1/orgs/acme/audit', { token: acme.token });
      assert.ok(audit.body.items.some((e: { action: string }) => e.action === 'organization.sso-remove'));
      const unknown = await t.call('GET', '/v1/auth/sso/no-such-org/start', { token: null });
      assert.equal(unknown.status, 404);
      assert.match(unknown.body.detail, /no single sign-on for "no-such-org"/);
    });

    it('an address that starts sign-ins in bulk is slowed down (each start is kept ten minutes)', async () => {
      const statuses: number[] = [];
      for (let i = 0; i < 40; i += 1)
        statuses.push((await t.call('GET', '/v1/auth/sso/acme/start', { token: null })).status);
      assert.ok(statuses.includes(429), statuses.join(' '));
      t.clock.advance(10 * 60_000);
      assert.equal((await t.call('GET', '/v1/auth/sso/acme/start', { token: null })).status, 404, 'refilled');
    });
  });
}
