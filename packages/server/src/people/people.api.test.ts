import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { authenticator } from 'otplib';
import { testDialects } from '../store/test-helper.js';
import { type TestApp, testApp } from '../test-support/app.js';
import { SESSION_COOKIE } from './sessions.js';

/** A browser's view of a session: the cookie it keeps and the CSRF token the console holds. */
interface Browser {
  cookie: string;
  csrf: string;
}

function sessionOf(res: { headers: Record<string, unknown>; body: { csrfToken: string } }): Browser {
  const raw = [res.headers['set-cookie']].flat().map(String);
  const line = raw.find((c) => c.startsWith(`${SESSION_COOKIE}=`));
  assert.ok(line, `a session cookie is set: ${raw.join(' | ')}`);
  assert.match(line, /HttpOnly/i);
  assert.match(line, /Secure/i);
  assert.match(line, /SameSite=Strict/i);
  return { cookie: line.split(';')[0] as string, csrf: res.body.csrfToken };
}

for (const dialect of testDialects) {
  describe(`people: invitations, sign-in, factors, sessions and tokens (${dialect})`, () => {
    let t: TestApp;
    let admin: Browser;
    const as = (b: Browser, extra: Record<string, string> = {}) => ({
      token: null,
      headers: { cookie: b.cookie, 'x-csrf-token': b.csrf, ...extra },
    });

    /** Tests move the clock by hours: each later test signs the admin in afresh. */
    const signInRoot = async () =>
      sessionOf(
        await t.call('POST', '/v1/auth/sign-in', {
          token: null,
          body: { email: 'root@example.com', password: 'correct horse battery staple' },
        }),
      );

    before(async () => {
      t = await testApp(dialect, { publicUrl: 'https://fleet.example.com' });
      await t.org('acme');
      await t.org('other');
    });
    after(async () => {
      await t.close();
    });

    it('the first start makes a one-time setup link; it creates the first platform admin, once', async () => {
      const token = await t.app.services.invitations.setupLink();
      assert.ok(token);
      const again = await t.app.services.invitations.setupLink();
      assert.ok(again && again !== token, 'a new start makes a new link');
      const old = await t.call('GET', `/v1/auth/invitations/${token}`, { token: null });
      assert.equal(old.status, 404, 'the older link ended');
      const peek = await t.call('GET', `/v1/auth/invitations/${again}`, { token: null });
      assert.equal(peek.status, 200, peek.raw);
      assert.equal(peek.body.platformAdmin, true);
      const accepted = await t.call('POST', `/v1/auth/invitations/${again}/accept`, {
        token: null,
        body: { email: 'Root@Example.com', displayName: 'Root', password: 'correct horse battery staple' },
      });
      assert.equal(accepted.status, 200, accepted.raw);
      assert.equal(accepted.body.person.email, 'root@example.com');
      assert.equal(accepted.body.person.platformAdmin, true);
      admin = sessionOf(accepted);
      const twice = await t.call('POST', `/v1/auth/invitations/${again}/accept`, {
        token: null,
        body: { email: 'x@example.com', password: 'another long passphrase' },
      });
      assert.equal(twice.status, 404, 'works once');
      assert.equal(
        await t.app.services.invitations.setupLink(),
        null,
        'no setup link once someone has an account',
      );
    });

    it('an admin invites a person with roles; the link works once, and the person acts with exactly those roles', async () => {
      const invited = await t.call('POST', '/v1/orgs/acme/invitations', {
        ...as(admin),
        body: { email: 'rita@example.com', roles: ['release-manager', 'auditor'] },
      });
      assert.equal(invited.status, 201, invited.raw);
      assert.match(invited.body.url, /^https:\/\/fleet\.example\.com\/invitation#[A-Za-z0-9_-]{43}$/);
      assert.equal(invited.headers['cache-control'], 'no-store');
      const expires = new Date(invited.body.invitation.expiresAt).getTime() - t.clock.now().getTime();
      assert.equal(Math.round(expires / 86_400_000), 7, 'seven days by default');
      const accepted = await t.call('POST', `/v1/auth/invitations/${invited.body.token}/accept`, {
        token: null,
        body: { displayName: 'Rita', password: 'the release train leaves at nine' },
      });
      assert.equal(accepted.status, 200, accepted.raw);
      const rita = sessionOf(accepted);
      const me = await t.call('GET', '/v1/whoami', as(rita));
      assert.equal(me.body.actor, 'person:rita@example.com');
      assert.deepEqual(me.body.roles.sort(), ['auditor', 'release-manager']);
      assert.equal(
        (await t.call('GET', '/v1/orgs/acme/audit', as(rita))).status,
        200,
        'auditor reads the audit log',
      );
      assert.equal(
        (await t.call('GET', '/v1/orgs/acme/tokens', as(rita))).status,
        200,
        'the auditor reads the tokens (tokens:read) ...',
      );
      assert.equal(
        (await t.call('POST', '/v1/orgs/acme/tokens', { ...as(rita), body: { name: 'x', role: 'auditor' } }))
          .status,
        403,
        '... but makes none (tokens:manage)',
      );
      assert.equal(
        (
          await t.call('POST', '/v1/orgs/acme/invitations', {
            ...as(rita),
            body: { email: 'x@example.com', roles: ['admin'] },
          })
        ).status,
        403,
        'and invites nobody',
      );
      assert.equal(
        (await t.call('GET', '/v1/orgs/other/devices', as(rita))).status,
        404,
        'another org is invisible',
      );
      const people = await t.call('GET', '/v1/orgs/acme/people', as(admin));
      assert.deepEqual(
        people.body.items.map((p: { email: string; roles: string[] }) => [p.email, p.roles]),
        [['rita@example.com', ['auditor', 'release-manager']]],
      );
      // The sign-in at acceptance is in the platform chain, naming the person and the method.
      const platform = await t.call('GET', '/v1/platform/audit?action=person.sign-in');
      assert.ok(
        platform.body.items.some(
          (e: { actor: string; details: { method: string } }) => e.actor === 'person:rita@example.com',
        ),
        JSON.stringify(platform.body.items),
      );
    });

    it('a person belongs to several organisations, with other roles in each, through a second invitation', async () => {
      const first = await t.call('POST', '/v1/orgs/acme/invitations', {
        body: { email: 'mo@example.com', roles: ['operator'] },
      });
      assert.equal(first.status, 201, first.raw);
      const accepted = await t.call('POST', `/v1/auth/invitations/${first.body.token}/accept`, {
        token: null,
        body: { displayName: 'Mo', password: 'two organisations, one person' },
      });
      assert.equal(accepted.status, 200, accepted.raw);
      const mo = sessionOf(accepted);
      // The second organisation invites the same address; signed in, Mo accepts it into the same account.
      const second = await t.call('POST', '/v1/orgs/other/invitations', {
        body: { email: 'mo@example.com', roles: ['security'] },
      });
      assert.equal(second.status, 201, second.raw);
      const joined = await t.call('POST', `/v1/auth/invitations/${second.body.token}/accept`, {
        ...as(mo),
        body: {},
      });
      assert.equal(joined.status, 200, joined.raw);
      const me = await t.call('GET', '/v1/me', as(mo));
      assert.deepEqual(
        me.body.memberships
          .map((m: { slug: string; roles: string[] }) => [m.slug, m.roles])
          .sort((a: string[], b: string[]) => String(a[0]).localeCompare(String(b[0]))),
        [
          ['acme', ['operator']],
          ['other', ['security']],
        ],
      );
      // Roles hold per organisation: an operator in acme, security in other, nothing more.
      assert.equal((await t.call('GET', '/v1/orgs/acme/devices', as(mo))).status, 200);
      assert.equal((await t.call('GET', '/v1/orgs/acme/audit', as(mo))).status, 403);
      assert.equal((await t.call('GET', '/v1/orgs/other/audit', as(mo))).status, 200);
      assert.equal(
        (
          await t.call('POST', '/v1/orgs/other/devices', {
            ...as(mo),
            body: { productId: 'prd_00000000000000000000000000', serial: 'X' },
          })
        ).status,
        403,
      );
    });

    it('an invitation expires, and a revoked one is refused', async () => {
      const invited = await t.call('POST', '/v1/orgs/acme/invitations', {
        ...as(admin),
        body: { email: 'late@example.com', roles: ['operator'], expiresInDays: 1 },
      });
      t.clock.advance(86_400_000 + 1000);
      const late = await t.call('POST', `/v1/auth/invitations/${invited.body.token}/accept`, {
        token: null,
        body: { password: 'too late for this link' },
      });
      assert.equal(late.status, 404);
      assert.match(late.body.detail, /unknown, used or expired/);
      // The admin session went idle while the clock jumped: sign in again.
      admin = sessionOf(
        await t.call('POST', '/v1/auth/sign-in', {
          token: null,
          body: { email: 'root@example.com', password: 'correct horse battery staple' },
        }),
      );
      const second = await t.call('POST', '/v1/orgs/acme/invitations', {
        ...as(admin),
        body: { email: 'gone@example.com', roles: ['operator'] },
      });
      const revoked = await t.call(
        'DELETE',
        `/v1/orgs/acme/invitations/${second.body.invitation.id}`,
        as(admin),
      );
      assert.equal(revoked.status, 200, revoked.raw);
      const use = await t.call('POST', `/v1/auth/invitations/${second.body.token}/accept`, {
        token: null,
        body: { password: 'revoked links do not work' },
      });
      assert.equal(use.status, 404);
    });

    it('a session needs its CSRF token and its own origin for every change; sign-out ends it', async () => {
      const noCsrf = await t.call('POST', '/v1/orgs/acme/invitations', {
        token: null,
        headers: { cookie: admin.cookie },
        body: { email: 'x@example.com', roles: ['operator'] },
      });
      assert.equal(noCsrf.status, 403);
      assert.match(noCsrf.body.detail, /x-csrf-token/);
      const foreign = await t.call('POST', '/v1/orgs/acme/invitations', {
        ...as(admin, { origin: 'https://evil.example' }),
        body: { email: 'x@example.com', roles: ['operator'] },
      });
      assert.equal(foreign.status, 403);
      assert.equal(
        (await t.call('GET', '/v1/me', { token: null, headers: { cookie: admin.cookie } })).status,
        200,
      );
      const session = await t.call('POST', '/v1/auth/sign-in', {
        token: null,
        body: { email: 'root@example.com', password: 'correct horse battery staple' },
      });
      const other = sessionOf(session);
      assert.equal((await t.call('POST', '/v1/me/sign-out', as(other))).status, 204);
      assert.equal((await t.call('GET', '/v1/me', as(other))).status, 401, 'signed out');
      assert.equal((await t.call('GET', '/v1/me', as(admin))).status, 200, 'the other session lives on');
    });

    it('sessions end when idle and at their absolute limit', async () => {
      const fresh = sessionOf(
        await t.call('POST', '/v1/auth/sign-in', {
          token: null,
          body: { email: 'rita@example.com', password: 'the release train leaves at nine' },
        }),
      );
      t.clock.advance(29 * 60_000);
      assert.equal((await t.call('GET', '/v1/me', as(fresh))).status, 200, 'used within 30 minutes');
      t.clock.advance(31 * 60_000);
      assert.equal((await t.call('GET', '/v1/me', as(fresh))).status, 401, 'idle for 31 minutes');
      const busy = sessionOf(
        await t.call('POST', '/v1/auth/sign-in', {
          token: null,
          body: { email: 'rita@example.com', password: 'the release train leaves at nine' },
        }),
      );
      for (let i = 0; i < 25; i++) {
        t.clock.advance(29 * 60_000);
        const res = await t.call('GET', '/v1/me', as(busy));
        if (i < 24) assert.equal(res.status, 200, `busy session at ${(i + 1) * 29} min`);
        else assert.equal(res.status, 401, 'ends after 12 hours however busy');
      }
    });

    it('TOTP with a real code generator: enrol, then sign-in needs a code, a code works once, recovery codes work once', async () => {
      admin = await signInRoot();
      const rita = sessionOf(
        await t.call('POST', '/v1/auth/sign-in', {
          token: null,
          body: { email: 'rita@example.com', password: 'the release train leaves at nine' },
        }),
      );
      const started = await t.call('POST', '/v1/me/totp', as(rita));
      assert.equal(started.status, 200, started.raw);
      assert.match(started.body.otpauthUri, /^otpauth:\/\/totp\/brickless:rita%40example\.com\?secret=/);
      const code = () => authenticator.generate(started.body.secret);
      authenticator.options = { epoch: t.clock.now().getTime() };
      const confirmed = await t.call('POST', '/v1/me/totp/confirm', { ...as(rita), body: { code: code() } });
      assert.equal(confirmed.status, 200, confirmed.raw);
      assert.equal(confirmed.body.recoveryCodes.length, 10);
      const signIn = (body: Record<string, string>) =>
        t.call('POST', '/v1/auth/sign-in', {
          token: null,
          body: { email: 'rita@example.com', password: 'the release train leaves at nine', ...body },
        });
      const needsCode = await signIn({});
      assert.equal(needsCode.status, 401);
      assert.match(needsCode.body.detail, /authenticator app/);
      t.clock.advance(30_000);
      authenticator.options = { epoch: t.clock.now().getTime() };
      const withCode = await signIn({ code: code() });
      assert.equal(withCode.status, 200, withCode.raw);
      assert.equal(withCode.body.method, 'password+totp');
      assert.equal((await signIn({ code: code() })).status, 401, 'the same code never works twice');
      const recovery = confirmed.body.recoveryCodes[0];
      assert.equal((await signIn({ recoveryCode: recovery.toUpperCase() })).status, 200);
      assert.equal((await signIn({ recoveryCode: recovery })).status, 401, 'a recovery code works once');
    });

    it('an organisation can require a second factor; a password-only session loses it with a clear 403', async () => {
      admin = await signInRoot();
      const invited = await t.call('POST', '/v1/orgs/acme/invitations', {
        ...as(admin),
        body: { email: 'olaf@example.com', roles: ['operator'] },
      });
      const olaf = sessionOf(
        await t.call('POST', `/v1/auth/invitations/${invited.body.token}/accept`, {
          token: null,
          body: { password: 'keeps the fleet running smoothly' },
        }),
      );
      assert.equal((await t.call('GET', '/v1/orgs/acme/devices', as(olaf))).status, 200);
      const policy = await t.call('PUT', '/v1/orgs/acme/sign-in-policy', {
        ...as(admin),
        body: { require: 'second-factor' },
      });
      assert.equal(policy.status, 200, policy.raw);
      const refused = await t.call('GET', '/v1/orgs/acme/devices', as(olaf));
      assert.equal(refused.status, 403);
      assert.match(refused.body.detail, /second factor/);
      const me = await t.call('GET', '/v1/me', as(olaf));
      assert.equal(me.body.restricted.length, 1, 'the person sees why');
      // The platform admin (signed in with a password only) is held to it as well.
      const root = await t.call('GET', '/v1/orgs/acme/devices', as(admin));
      assert.equal(root.status, 403, root.raw);
      assert.equal(
        (await t.call('GET', '/v1/orgs/other/devices', as(admin))).status,
        200,
        'other orgs are not',
      );
      const reset = await t.call('PUT', '/v1/orgs/acme/sign-in-policy', { body: { require: 'any' } });
      assert.equal(reset.status, 200, 'a token is not held to the policy');
    });

    it('tokens belong to people: no role the maker lacks, named in the audit log, gone with the role', async () => {
      admin = await signInRoot();
      const rita = sessionOf(
        await t.call('POST', '/v1/auth/sign-in', {
          token: null,
          body: { email: 'olaf@example.com', password: 'keeps the fleet running smoothly' },
        }),
      );
      const tooMuch = await t.call('POST', '/v1/me/tokens', {
        ...as(rita),
        body: { org: 'acme', name: 'ci', role: 'admin' },
      });
      assert.equal(tooMuch.status, 403);
      const made = await t.call('POST', '/v1/me/tokens', {
        ...as(rita),
        body: { org: 'acme', name: 'ci', role: 'operator' },
      });
      assert.equal(made.status, 201, made.raw);
      const token = made.body.token as string;
      const who = await t.call('GET', '/v1/whoami', { token });
      assert.match(who.body.actor, /^token:tok_[0-9a-f]{28} \(ci\) of person:olaf@example\.com$/);
      const listed = await t.call('GET', '/v1/orgs/acme/tokens', as(admin));
      assert.ok(
        listed.body.items.some(
          (i: { id: string; personId: string | null }) => i.id === made.body.record.id && i.personId,
        ),
      );
      await t.call('PUT', '/v1/orgs/acme/people/olaf@example.com/roles', {
        ...as(admin),
        body: { roles: ['auditor'] },
      });
      assert.equal(
        (await t.call('GET', '/v1/whoami', { token })).status,
        401,
        'the role went, so did the token',
      );
      const removed = await t.call('DELETE', '/v1/orgs/acme/people/olaf@example.com', as(admin));
      assert.equal(removed.status, 200, removed.raw);
      const audit = await t.call('GET', '/v1/orgs/acme/audit?limit=200', as(admin));
      const actions = audit.body.items.map(
        (e: { action: string; actor: string }) => `${e.action} ${e.actor}`,
      );
      assert.ok(actions.includes('person.roles person:root@example.com'), actions.join('\n'));
      assert.ok(actions.includes('person.remove person:root@example.com'));
    });

    it('the last admin cannot be removed or demoted', async () => {
      const invited = await t.call('POST', '/v1/orgs/other/invitations', {
        token: t.rootToken,
        body: { email: 'solo@example.com', roles: ['admin'] },
      });
      await t.call('POST', `/v1/auth/invitations/${invited.body.token}/accept`, {
        token: null,
        body: { password: 'one admin alone in the org' },
      });
      const demote = await t.call('PUT', '/v1/orgs/other/people/solo@example.com/roles', {
        body: { roles: ['auditor'] },
      });
      assert.equal(demote.status, 409);
      assert.match(demote.body.detail, /last admin/);
    });

    it('wrong passwords slow the account down, never lock the real person out for good', async () => {
      const invited = await t.call('POST', '/v1/orgs/acme/invitations', {
        token: t.rootToken,
        body: { email: 'gus@example.com', roles: ['auditor'] },
      });
      await t.call('POST', `/v1/auth/invitations/${invited.body.token}/accept`, {
        token: null,
        body: { password: 'guessers will not find this' },
      });
      const wrong = () =>
        t.call('POST', '/v1/auth/sign-in', {
          token: null,
          body: { email: 'gus@example.com', password: 'not the passphrase at all' },
        });
      for (let i = 0; i < 5; i++) assert.equal((await wrong()).status, 401);
      const throttled = await wrong();
      assert.equal(throttled.status, 429);
      assert.match(throttled.body.detail, /passkey/);
      t.clock.advance(15 * 60_000 + 1000);
      const ok = await t.call('POST', '/v1/auth/sign-in', {
        token: null,
        body: { email: 'gus@example.com', password: 'guessers will not find this' },
      });
      assert.equal(ok.status, 200, 'the wait is over after at most 15 minutes');
      const unknown = await t.call('POST', '/v1/auth/sign-in', {
        token: null,
        body: { email: 'nobody@example.com', password: 'whatever it may be' },
      });
      assert.equal(unknown.status, 401);
      assert.equal(unknown.body.detail, 'the e-mail address or the password is wrong');
      const platform = await t.call('GET', '/v1/platform/audit?limit=500');
      assert.ok(platform.body.items.some((e: { action: string }) => e.action === 'person.sign-in-failed'));
    });

    it('sign out everywhere ends every session of the person', async () => {
      const a = sessionOf(
        await t.call('POST', '/v1/auth/sign-in', {
          token: null,
          body: { email: 'root@example.com', password: 'correct horse battery staple' },
        }),
      );
      assert.equal((await t.call('POST', '/v1/me/sign-out-everywhere', as(a))).status, 204);
      assert.equal((await t.call('GET', '/v1/me', as(admin))).status, 401);
      assert.equal((await t.call('GET', '/v1/me', as(a))).status, 401);
    });
  });
}
