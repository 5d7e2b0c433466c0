import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { SESSION_COOKIE } from '../people/sessions.js';
import { testDialects } from '../store/test-helper.js';
import { type Response, type TestApp, testApp } from '../test-support/app.js';
import { startSmtpServer, type TestSmtpServer } from '../test-support/smtp.js';
import { SoftwareAuthenticator } from '../test-support/software-authenticator.js';
import { OWNER_SESSION_COOKIE } from './sign-in.js';

/** A browser's hold on a session: the cookie it keeps and the CSRF token the page keeps in memory. */
interface Held {
  cookie: string;
  csrf: string;
}

const ORIGIN = 'https://owners.test';

/** Quoted-printable as the mail left the server (RFC 2045 §6.7). */
const unQuote = (raw: string) =>
  raw
    .replace(/=\r?\n/g, '')
    .replace(/=([0-9A-F]{2})/g, (_, hex: string) => String.fromCharCode(Number.parseInt(hex, 16)));

function held(res: Response, cookieName: string): Held {
  assert.equal(res.status, 200, res.raw);
  const line = [res.headers['set-cookie']]
    .flat()
    .map(String)
    .find((c) => c.startsWith(`${cookieName}=`));
  assert.ok(line, `the ${cookieName} cookie is set`);
  return { cookie: line.split(';')[0] as string, csrf: res.body.csrfToken };
}

for (const dialect of testDialects) {
  describe(`owners' passkeys: adding, signing in, and every refusal (${dialect})`, () => {
    let t: TestApp;
    let smtp: TestSmtpServer;
    let ana: Held;
    let anaId: string;
    const anaKey = new SoftwareAuthenticator();
    let anaPasskeyId: string;

    const as = (h: Held, csrf = true) => ({
      token: null,
      headers: { cookie: h.cookie, ...(csrf ? { 'x-csrf-token': h.csrf } : {}) },
    });

    const signInByLink = async (email: string): Promise<Response> => {
      const before = smtp.received.length;
      const asked = await t.call('POST', '/v1/owner/sign-in', { token: null, body: { email } });
      assert.equal(asked.status, 202, asked.raw);
      const deadline = Date.now() + 5000;
      while (smtp.received.length === before && Date.now() < deadline)
        await new Promise((r) => setTimeout(r, 20));
      const mail = smtp.received.slice(before).find((m) => m.to.includes(email));
      assert.ok(mail, `a mail reached ${email}`);
      const secret = /https:\/\/owners\.test\/owner\/sign-in#([A-Za-z0-9_-]{43})/.exec(
        unQuote(mail.raw),
      )?.[1];
      assert.ok(secret);
      return t.call('POST', '/v1/owner/sign-in/complete', { token: null, body: { token: secret } });
    };

    const addPasskey = async (h: Held, key: SoftwareAuthenticator, name = 'phone') => {
      const options = await t.call('POST', '/v1/owner/passkeys/options', as(h));
      assert.equal(options.status, 200, options.raw);
      return t.call('POST', '/v1/owner/passkeys', {
        ...as(h),
        body: { name, response: key.create(options.body.options, ORIGIN) },
      });
    };

    const ownerOptions = async () => {
      const options = await t.call('POST', '/v1/owner/sign-in/passkey/options', { token: null, body: {} });
      assert.equal(options.status, 200, options.raw);
      return options.body as { challengeId: string; options: { challenge: string; rpId: string } };
    };
    const ownerVerify = (challengeId: string, response: unknown, headers: Record<string, string> = {}) =>
      t.call('POST', '/v1/owner/sign-in/passkey/verify', {
        token: null,
        headers,
        body: { challengeId, response },
      });

    const audit = async (action: string) =>
      t.app.services.store.db
        .selectFrom('audit_entries')
        .selectAll()
        .where('action', '=', action)
        .orderBy('seq')
        .execute();

    before(async () => {
      smtp = await startSmtpServer();
      t = await testApp(dialect, {
        publicUrl: ORIGIN,
        mail: { smtpUrl: smtp.url, from: 'brickless@acme.test' },
      });
      await t.org('acme');
      const done = await signInByLink('ana@example.com');
      ana = held(done, OWNER_SESSION_COOKIE);
      anaId = done.body.owner.id;
    });
    after(async () => {
      await t.close();
      await smtp.close();
    });

    it('an owner adds a discoverable passkey, renames it, and signs in with it alone into the same kind of session', async () => {
      const options = await t.call('POST', '/v1/owner/passkeys/options', as(ana));
      assert.equal(options.status, 200, options.raw);
      assert.equal(options.body.options.rp.id, 'owners.test');
      assert.equal(options.body.options.authenticatorSelection.residentKey, 'required');
      assert.equal(options.body.options.user.name, 'ana@example.com');
      const added = await t.call('POST', '/v1/owner/passkeys', {
        ...as(ana),
        body: { name: 'Ana’s phone', response: anaKey.create(options.body.options, ORIGIN) },
      });
      assert.equal(added.status, 201, added.raw);
      assert.match(added.body.id, /^opk_[0-9a-f]{28}$/);
      assert.equal(added.body.rpId, 'owners.test');
      anaPasskeyId = added.body.id;
      const renamed = await t.call('PATCH', `/v1/owner/passkeys/${anaPasskeyId}`, {
        ...as(ana),
        body: { name: 'phone' },
      });
      assert.equal(renamed.status, 200, renamed.raw);
      const listed = await t.call('GET', '/v1/owner/passkeys', as(ana, false));
      assert.deepEqual(
        listed.body.items.map((p: { name: string; lastUsedAt: null }) => [p.name, p.lastUsedAt]),
        [['phone', null]],
      );

      // Usernameless: the options list no credentials, the browser offers its own.
      const started = await ownerOptions();
      assert.equal(started.options.rpId, 'owners.test');
      assert.equal((started.options as { allowCredentials?: unknown[] }).allowCredentials?.length ?? 0, 0);
      const signedIn = await ownerVerify(started.challengeId, anaKey.get(started.options, ORIGIN));
      const session = held(signedIn, OWNER_SESSION_COOKIE);
      assert.equal(signedIn.body.owner.id, anaId);
      assert.equal(signedIn.body.owner.email, 'ana@example.com');
      const line = String(
        [signedIn.headers['set-cookie']].flat().find((c) => String(c).startsWith('__Host')),
      );
      assert.match(line, /HttpOnly/i);
      assert.match(line, /SameSite=Strict/i);
      const me = await t.call('GET', '/v1/owner/me', as(session, false));
      assert.equal(me.body.id, anaId);
      assert.equal(me.body.csrfToken, session.csrf, 'a reloaded page learns its CSRF token');
      assert.equal((await t.call('GET', '/v1/owner/devices', as(session, false))).status, 200);
      const listedAfter = await t.call('GET', '/v1/owner/passkeys', as(session, false));
      assert.ok(listedAfter.body.items[0].lastUsedAt);

      const adds = await audit('owner.passkey.add');
      assert.equal(adds.length, 1);
      assert.equal(adds[0]?.actor, `owner:${anaId}`);
      const signIns = await audit('owner.passkey.sign-in');
      assert.equal(signIns.length, 1);
      const recorded = JSON.stringify([...adds, ...signIns, ...(await audit('owner.passkey.rename'))]);
      assert.ok(!recorded.includes('ana@example.com') && !recorded.includes('phone'), recorded);
    });

    it('refuses state changes without the CSRF token, from another site, without a session, and from staff', async () => {
      assert.equal((await t.call('POST', '/v1/owner/passkeys/options', as(ana, false))).status, 403);
      const rename = await t.call('PATCH', `/v1/owner/passkeys/${anaPasskeyId}`, {
        ...as(ana, false),
        body: { name: 'x' },
      });
      assert.equal(rename.status, 403);
      assert.equal(
        (await t.call('DELETE', `/v1/owner/passkeys/${anaPasskeyId}`, as(ana, false))).status,
        403,
      );
      const foreign = await t.call('POST', '/v1/owner/passkeys/options', {
        token: null,
        headers: { cookie: ana.cookie, 'x-csrf-token': ana.csrf, origin: 'https://evil.example' },
      });
      assert.equal(foreign.status, 403);
      assert.equal((await t.call('GET', '/v1/owner/passkeys', { token: null })).status, 401);
      assert.equal(
        (await t.call('GET', '/v1/owner/passkeys')).status,
        403,
        'a staff token is the wrong account',
      );
      const started = await ownerOptions();
      const crossSite = await ownerVerify(started.challengeId, anaKey.get(started.options, ORIGIN), {
        origin: 'https://evil.example',
      });
      assert.equal(crossSite.status, 403);
      const optionsCrossSite = await t.call('POST', '/v1/owner/sign-in/passkey/options', {
        token: null,
        headers: { origin: 'https://evil.example' },
        body: {},
      });
      assert.equal(optionsCrossSite.status, 403);
    });

    it('uses a challenge once and for five minutes only, and refuses another origin', async () => {
      const started = await ownerOptions();
      assert.equal((await ownerVerify(started.challengeId, anaKey.get(started.options, ORIGIN))).status, 200);
      const again = await ownerVerify(started.challengeId, anaKey.get(started.options, ORIGIN));
      assert.equal(again.status, 401);
      assert.match(again.body.detail, /unknown, used or expired/);
      const late = await ownerOptions();
      t.clock.advance(5 * 60_000 + 1);
      assert.equal((await ownerVerify(late.challengeId, anaKey.get(late.options, ORIGIN))).status, 401);
      const phished = await ownerOptions();
      const wrongOrigin = await ownerVerify(
        phished.challengeId,
        anaKey.get(phished.options, 'https://owners.test.evil.example'),
      );
      assert.equal(wrongOrigin.status, 401);
      assert.match(wrongOrigin.body.detail, /not accepted/);
      // A registration answer to used options is refused too.
      const options = await t.call('POST', '/v1/owner/passkeys/options', as(ana));
      const key = new SoftwareAuthenticator();
      const response = key.create(options.body.options, ORIGIN);
      assert.equal(
        (await t.call('POST', '/v1/owner/passkeys', { ...as(ana), body: { name: 'a', response } })).status,
        201,
      );
      const replayed = await t.call('POST', '/v1/owner/passkeys', {
        ...as(ana),
        body: { name: 'b', response },
      });
      assert.equal(replayed.status, 400, replayed.raw);
      const failures = await audit('owner.passkey.sign-in-failed');
      assert.ok(
        failures.some((f) => JSON.parse(String(f.details)).reason === 'challenge'),
        JSON.stringify(failures),
      );
    });

    it('refuses a counter that went backwards as a cloned authenticator', async () => {
      const started = await ownerOptions();
      const cloned = await ownerVerify(started.challengeId, anaKey.get(started.options, ORIGIN, 1));
      assert.equal(cloned.status, 401);
      assert.match(cloned.body.detail, /cloned/);
      assert.equal((await audit('owner.passkey.cloned')).length, 1);
    });

    it('a staff passkey never signs in an owner, an owner passkey never signs in staff', async () => {
      const invited = await t.call('POST', '/v1/orgs/acme/invitations', {
        body: { email: 'ana@example.com', roles: ['operator'] },
      });
      const staff = held(
        await t.call('POST', `/v1/auth/invitations/${invited.body.token}/accept`, {
          token: null,
          body: { password: 'the same person works for the maker' },
        }),
        SESSION_COOKIE,
      );
      const staffKey = new SoftwareAuthenticator();
      const staffOptions = await t.call('POST', '/v1/me/passkeys/options', as(staff));
      const staffAdded = await t.call('POST', '/v1/me/passkeys', {
        ...as(staff),
        body: { name: 'work', response: staffKey.create(staffOptions.body.options, ORIGIN) },
      });
      assert.equal(staffAdded.status, 201, staffAdded.raw);

      // The staff passkey at the owners' door: not registered here.
      const ownerStart = await ownerOptions();
      const staffAtOwner = await ownerVerify(
        ownerStart.challengeId,
        staffKey.get(ownerStart.options, ORIGIN),
      );
      assert.equal(staffAtOwner.status, 401);
      assert.match(staffAtOwner.body.detail, /not registered here/);
      assert.equal(staffAtOwner.headers['set-cookie'], undefined);

      // The owner's passkey at the staff door, with a staff challenge: not registered there.
      const staffStart = await t.call('POST', '/v1/auth/passkeys/options', { token: null, body: {} });
      const ownerAtStaff = await t.call('POST', '/v1/auth/passkeys/verify', {
        token: null,
        body: {
          challengeId: staffStart.body.challengeId,
          response: anaKey.get(staffStart.body.options, ORIGIN),
        },
      });
      assert.equal(ownerAtStaff.status, 401, ownerAtStaff.raw);
      assert.equal(ownerAtStaff.headers['set-cookie'], undefined);

      // A staff challenge is not an owner challenge, even with the owner's own passkey.
      const other = await t.call('POST', '/v1/auth/passkeys/options', { token: null, body: {} });
      const mixed = await ownerVerify(other.body.challengeId, anaKey.get(other.body.options, ORIGIN));
      assert.equal(mixed.status, 401);
      assert.match(mixed.body.detail, /unknown, used or expired/);

      // Nor does a staff session reach the owners' passkeys.
      assert.equal((await t.call('GET', '/v1/owner/passkeys', as(staff, false))).status, 403);
    });

    it("another owner cannot touch Ana's passkeys; a removed passkey signs in nobody", async () => {
      const ben = held(await signInByLink('ben@example.com'), OWNER_SESSION_COOKIE);
      const benKey = new SoftwareAuthenticator();
      assert.equal((await addPasskey(ben, benKey)).status, 201);
      assert.equal((await t.call('GET', '/v1/owner/passkeys', as(ben, false))).body.items.length, 1);
      const rename = await t.call('PATCH', `/v1/owner/passkeys/${anaPasskeyId}`, {
        ...as(ben),
        body: { name: 'mine' },
      });
      assert.equal(rename.status, 404);
      assert.equal((await t.call('DELETE', `/v1/owner/passkeys/${anaPasskeyId}`, as(ben))).status, 404);
      assert.equal((await t.call('DELETE', `/v1/owner/passkeys/${anaPasskeyId}`, as(ana))).status, 204);
      assert.equal((await t.call('DELETE', `/v1/owner/passkeys/${anaPasskeyId}`, as(ana))).status, 404);
      const removed = await audit('owner.passkey.remove');
      assert.equal(removed.length, 1);
      assert.equal(removed[0]?.target_id, anaId);
      const started = await ownerOptions();
      assert.equal((await ownerVerify(started.challengeId, anaKey.get(started.options, ORIGIN))).status, 401);
      // Ben's passkey signs in Ben, not Ana.
      const benStart = await ownerOptions();
      const benIn = await ownerVerify(benStart.challengeId, benKey.get(benStart.options, ORIGIN));
      assert.equal(benIn.status, 200, benIn.raw);
      assert.notEqual(benIn.body.owner.id, anaId);
      assert.equal(benIn.body.owner.email, 'ben@example.com');
    });

    it('lets one of two racing answers to one challenge through, and limits failures per address', async () => {
      const benKey = new SoftwareAuthenticator();
      const ben = held(await signInByLink('cy@example.com'), OWNER_SESSION_COOKIE);
      assert.equal((await addPasskey(ben, benKey)).status, 201);
      const started = await ownerOptions();
      const answer = benKey.get(started.options, ORIGIN);
      const raced = await Promise.all([
        ownerVerify(started.challengeId, answer),
        ownerVerify(started.challengeId, answer),
      ]);
      assert.deepEqual(raced.map((r) => r.status).sort(), [200, 401]);

      // From one address: ten failures, then even a right answer waits.
      const fromIp = async (ip: string, url: string, body: unknown) => {
        const res = await t.app.http.inject({
          method: 'POST',
          url,
          remoteAddress: ip,
          payload: body as object,
        });
        return { status: res.statusCode, body: JSON.parse(res.body) };
      };
      const statuses: number[] = [];
      for (let i = 0; i < 11; i++) {
        const options = await fromIp('198.51.100.7', '/v1/owner/sign-in/passkey/options', {});
        const wrong = options.body.options as { challenge: string; rpId: string };
        const res = await fromIp('198.51.100.7', '/v1/owner/sign-in/passkey/verify', {
          challengeId: options.body.challengeId,
          response: new SoftwareAuthenticator().get(wrong, ORIGIN),
        });
        statuses.push(res.status);
      }
      assert.deepEqual(statuses, [...Array(10).fill(401), 429]);
      const options = await fromIp('198.51.100.7', '/v1/owner/sign-in/passkey/options', {});
      const right = await fromIp('198.51.100.7', '/v1/owner/sign-in/passkey/verify', {
        challengeId: options.body.challengeId,
        response: benKey.get(options.body.options, ORIGIN),
      });
      assert.equal(right.status, 429);
      t.clock.advance(60_000);
      const later = await fromIp('198.51.100.7', '/v1/owner/sign-in/passkey/options', {});
      const after = await fromIp('198.51.100.7', '/v1/owner/sign-in/passkey/verify', {
        challengeId: later.body.challengeId,
        response: benKey.get(later.body.options, ORIGIN),
      });
      assert.equal(after.status, 200, JSON.stringify(after.body));
    });

    it('answers bad input with 400', async () => {
      const hostileName = await t.call('PATCH', '/v1/owner/passkeys/opk_0000000000000000000000000000', {
        ...as(ana),
        body: { name: 'a\u0000b' },
      });
      assert.equal(hostileName.status, 400);
      assert.equal((await t.call('DELETE', '/v1/owner/passkeys/pky_x', as(ana))).status, 400);
      const extra = await t.call('POST', '/v1/owner/sign-in/passkey/options', {
        token: null,
        body: { email: 'ana@example.com' },
      });
      assert.equal(extra.status, 400);
      const shapeless = await ownerVerify('x'.repeat(43), { id: 'abc' });
      assert.equal(shapeless.status, 400);
      const badChallenge = await ownerVerify(
        'not a challenge',
        anaKey.get((await ownerOptions()).options, ORIGIN),
      );
      assert.equal(badChallenge.status, 400);
      const notJson = await t.call('POST', '/v1/owner/passkeys', { ...as(ana), body: '{"name":' });
      assert.equal(notJson.status, 400);
    });
  });
}
