import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { testDialects } from '../store/test-helper.js';
import { type TestApp, testApp } from '../test-support/app.js';
import { SoftwareAuthenticator } from '../test-support/software-authenticator.js';
import { SESSION_COOKIE } from './sessions.js';

interface Browser {
  cookie: string;
  csrf: string;
}

const ORIGIN = 'https://fleet.example.com';

function sessionOf(res: {
  status: number;
  raw: string;
  headers: Record<string, unknown>;
  body: any;
}): Browser {
  assert.equal(res.status, 200, res.raw);
  const line = [res.headers['set-cookie']]
    .flat()
    .map(String)
    .find((c) => c.startsWith(`${SESSION_COOKIE}=`));
  assert.ok(line, 'a session cookie is set');
  return { cookie: line.split(';')[0] as string, csrf: res.body.csrfToken };
}

for (const dialect of testDialects) {
  describe(`passkeys: adding them, signing in with them, and every refusal (${dialect})`, () => {
    let t: TestApp;
    const as = (b: Browser) => ({ token: null, headers: { cookie: b.cookie, 'x-csrf-token': b.csrf } });

    /** A person invited into acme: with a password, or (password null) with none at all. */
    async function invite(email: string, password: string | null): Promise<Browser> {
      const invited = await t.call('POST', '/v1/orgs/acme/invitations', {
        body: { email, roles: ['operator'] },
      });
      assert.equal(invited.status, 201, invited.raw);
      return sessionOf(
        await t.call('POST', `/v1/auth/invitations/${invited.body.token}/accept`, {
          token: null,
          body: password === null ? {} : { password },
        }),
      );
    }

    async function addPasskey(b: Browser, authenticator: SoftwareAuthenticator, name = 'laptop') {
      const options = await t.call('POST', '/v1/me/passkeys/options', as(b));
      assert.equal(options.status, 200, options.raw);
      assert.equal(options.body.options.rp.id, 'fleet.example.com');
      assert.equal(options.body.options.challenge, options.body.challengeId);
      const added = await t.call('POST', '/v1/me/passkeys', {
        ...as(b),
        body: { name, response: authenticator.create(options.body.options, ORIGIN) },
      });
      assert.equal(added.status, 201, added.raw);
      return added.body as { id: string; rpId: string };
    }

    async function signInOptions(email?: string) {
      const options = await t.call('POST', '/v1/auth/passkeys/options', {
        token: null,
        body: email ? { email } : {},
      });
      assert.equal(options.status, 200, options.raw);
      return options.body as { challengeId: string; options: { challenge: string; rpId: string } };
    }

    const verify = (challengeId: string, response: unknown, headers: Record<string, string> = {}) =>
      t.call('POST', '/v1/auth/passkeys/verify', { token: null, headers, body: { challengeId, response } });

    const audit = async () =>
      (await t.call('GET', '/v1/platform/audit?limit=500')).body.items as {
        action: string;
        details: Record<string, unknown>;
      }[];

    before(async () => {
      t = await testApp(dialect, { publicUrl: ORIGIN });
      await t.org('acme');
    });
    after(async () => {
      await t.close();
    });

    it('a person adds a passkey and signs in with it; the session says passkey', async () => {
      const pia = await invite('pia@example.com', 'she keeps the fleet patched daily');
      const key = new SoftwareAuthenticator();
      const added = await addPasskey(pia, key);
      assert.equal(added.rpId, 'fleet.example.com');
      const listed = await t.call('GET', '/v1/me/passkeys', as(pia));
      assert.deepEqual(
        listed.body.items.map((p: { name: string }) => p.name),
        ['laptop'],
      );
      const { challengeId, options } = await signInOptions();
      const signedIn = await verify(challengeId, key.get(options, ORIGIN));
      assert.equal(signedIn.body.method, 'passkey', signedIn.raw);
      const session = sessionOf(signedIn);
      assert.equal(signedIn.body.person.email, 'pia@example.com');
      assert.equal(signedIn.body.person.factors.passkeys, 1);
      const sessions = await t.call('GET', '/v1/me/sessions', as(session));
      assert.equal(sessions.body.items.find((s: { current: boolean }) => s.current).method, 'passkey');
      const actions = (await audit()).map((e) => e.action);
      assert.ok(actions.includes('person.passkey-add'));
    });

    it('refuses an unknown, a reused and an expired challenge, and audits each failure', async () => {
      const key = new SoftwareAuthenticator();
      await addPasskey(await invite('quinn@example.com', 'she rotates the keys daily'), key);
      const fake = randomBytes(32).toString('base64url');
      const unknown = await verify(fake, key.get({ challenge: fake, rpId: 'fleet.example.com' }, ORIGIN));
      assert.equal(unknown.status, 401);
      assert.match(unknown.body.detail, /challenge is unknown, used or expired/);

      const first = await signInOptions('quinn@example.com');
      assert.equal((first.options as { allowCredentials?: unknown[] }).allowCredentials?.length, 1);
      const answer = key.get(first.options, ORIGIN);
      assert.equal((await verify(first.challengeId, answer)).status, 200);
      const reused = await verify(first.challengeId, answer);
      assert.equal(reused.status, 401, 'single use');
      assert.match(reused.body.detail, /unknown, used or expired/);

      const late = await signInOptions();
      t.clock.advance(5 * 60_000 + 1000);
      const expired = await verify(late.challengeId, key.get(late.options, ORIGIN));
      assert.equal(expired.status, 401);
      assert.match(expired.body.detail, /unknown, used or expired/);
      const failures = (await audit()).filter(
        (e) => e.action === 'person.sign-in-failed' && e.details.factor === 'passkey',
      );
      assert.equal(failures.length, 3);
    });

    it('refuses a sign-in from another origin: by the Origin header, and by what the authenticator signed', async () => {
      const key = new SoftwareAuthenticator();
      await addPasskey(await invite('rosa@example.com', 'she answers the pager daily'), key);
      const byHeader = await signInOptions();
      const foreign = await verify(byHeader.challengeId, key.get(byHeader.options, ORIGIN), {
        origin: 'https://fleet-example.evil',
      });
      assert.equal(foreign.status, 403);
      assert.match(foreign.body.detail, /another site/);
      const phished = await signInOptions();
      const signedElsewhere = await verify(
        phished.challengeId,
        key.get(phished.options, 'https://fleet-example.evil'),
      );
      assert.equal(signedElsewhere.status, 401);
      assert.match(signedElsewhere.body.detail, /origin/);
      const options = await t.call('POST', '/v1/auth/passkeys/options', {
        token: null,
        headers: { origin: 'https://fleet-example.evil' },
        body: {},
      });
      assert.equal(options.status, 403);
    });

    it('a counter that goes backwards is refused and audited as a cloned authenticator', async () => {
      const key = new SoftwareAuthenticator();
      await addPasskey(await invite('sam@example.com', 'she watches the rollouts daily'), key);
      const first = await signInOptions();
      assert.equal((await verify(first.challengeId, key.get(first.options, ORIGIN, 7))).status, 200);
      const second = await signInOptions();
      const cloned = await verify(second.challengeId, key.get(second.options, ORIGIN, 3));
      assert.equal(cloned.status, 401);
      assert.match(cloned.body.detail, /cloned authenticator/);
      const entry = (await audit()).find((e) => e.action === 'person.passkey-cloned');
      assert.ok(entry);
      assert.equal(entry.details.stored, 7);
      assert.equal(entry.details.presented, 3);
    });

    it('a service token cannot register a passkey, nor a person’s token: only their browser session', async () => {
      const options = await t.call('POST', '/v1/me/passkeys/options', { token: t.rootToken });
      assert.equal(options.status, 403);
      assert.match(options.body.detail, /service token/);
      const listed = await t.call('GET', '/v1/me/passkeys', { token: t.rootToken });
      assert.equal(listed.status, 403);
      const tia = await invite('tia@example.com', 'she deploys the gateway daily');
      const made = await t.call('POST', '/v1/me/tokens', {
        ...as(tia),
        body: { org: 'acme', name: 'ci', role: 'operator' },
      });
      assert.equal(made.status, 201, made.raw);
      const byToken = await t.call('POST', '/v1/me/passkeys/options', { token: made.body.token });
      assert.equal(byToken.status, 403, 'a token of one role must not mint a way into all of them');
      assert.match(byToken.body.detail, /browser session, not with a token/);
    });

    it('a registration answer must match a challenge of this person, once', async () => {
      const uma = await invite('uma@example.com', 'she signs the releases daily');
      const vic = await invite('vic@example.com', 'she reads the audit log daily');
      const options = await t.call('POST', '/v1/me/passkeys/options', as(uma));
      const response = new SoftwareAuthenticator().create(options.body.options, ORIGIN);
      const stolen = await t.call('POST', '/v1/me/passkeys', { ...as(vic), body: { name: 'x', response } });
      assert.equal(stolen.status, 400);
      assert.match(stolen.body.detail, /unknown, used or expired/);
      const late = await t.call('POST', '/v1/me/passkeys', { ...as(uma), body: { name: 'x', response } });
      assert.equal(late.status, 400, 'the challenge was used up by the refused attempt');
    });

    it('never removes the last way in of a person without a password', async () => {
      const wes = await invite('wes@example.com', null);
      const one = await addPasskey(wes, new SoftwareAuthenticator(), 'phone');
      const last = await t.call('DELETE', `/v1/me/passkeys/${one.id}`, as(wes));
      assert.equal(last.status, 409);
      assert.match(last.body.detail, /only way to sign in: set a password or add another passkey/);
      await addPasskey(wes, new SoftwareAuthenticator(), 'key');
      assert.equal((await t.call('DELETE', `/v1/me/passkeys/${one.id}`, as(wes))).status, 204);
      const listed = await t.call('GET', '/v1/me/passkeys', as(wes));
      assert.deepEqual(
        listed.body.items.map((p: { name: string }) => p.name),
        ['key'],
      );
      assert.ok((await audit()).some((e) => e.action === 'person.passkey-remove'));
    });

    it('wrong passwords slow the password down, never the passkey', async () => {
      const key = new SoftwareAuthenticator();
      await addPasskey(await invite('xia@example.com', 'she triages the reports daily'), key);
      t.clock.advance(60 * 60_000); // the address's failure budget refills
      const wrong = () =>
        t.call('POST', '/v1/auth/sign-in', {
          token: null,
          body: { email: 'xia@example.com', password: 'a guess from far away' },
        });
      for (let i = 0; i < 5; i++) await wrong();
      assert.equal((await wrong()).status, 429, 'the password is throttled');
      const { challengeId, options } = await signInOptions();
      const signedIn = await verify(challengeId, key.get(options, ORIGIN));
      assert.equal(signedIn.status, 200, signedIn.raw);
      assert.equal(signedIn.body.method, 'passkey');
    });

    it('starting passkey sign-ins is limited per address: nobody fills the challenge table', async () => {
      t.clock.advance(60 * 60_000);
      const start = () => t.call('POST', '/v1/auth/passkeys/options', { token: null, body: {} });
      for (let i = 0; i < 30; i++) assert.equal((await start()).status, 200);
      const limited = await start();
      assert.equal(limited.status, 429);
      assert.match(limited.body.detail, /wait a minute/);
      t.clock.advance(5 * 60_000 + 1000);
      assert.equal((await start()).status, 200, 'the budget refills, and the expired challenges go');
      const left = await t.app.services.store.db
        .selectFrom('sign_in_challenges')
        .select((eb) => eb.fn.countAll<number | string>().as('n'))
        .executeTakeFirstOrThrow();
      assert.equal(Number(left.n), 1, 'expired challenges were pruned');
    });
  });
}
