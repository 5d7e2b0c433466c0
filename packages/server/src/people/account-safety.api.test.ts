import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { testDialects } from '../store/test-helper.js';
import { type TestApp, testApp } from '../test-support/app.js';
import { prunePeople } from './jobs.js';
import { SESSION_COOKIE } from './sessions.js';

interface Browser {
  cookie: string;
  csrf: string;
}

function sessionOf(res: {
  status: number;
  raw: string;
  headers: Record<string, unknown>;
  body: { csrfToken: string };
}): Browser {
  assert.equal(res.status, 200, res.raw);
  const line = [res.headers['set-cookie']]
    .flat()
    .map(String)
    .find((c) => c.startsWith(`${SESSION_COOKIE}=`));
  assert.ok(line, 'a session cookie is set');
  return { cookie: line.split(';')[0] as string, csrf: res.body.csrfToken };
}

/** Issue 16 §3, §5: what a personal token may not do, factor changes end other sessions, retention. */
for (const dialect of testDialects) {
  describe(`people: account safety (${dialect})`, () => {
    let t: TestApp;
    const as = (b: Browser) => ({ token: null, headers: { cookie: b.cookie, 'x-csrf-token': b.csrf } });
    const PASSWORD = 'a long and careful passphrase';
    const signIn = async (password = PASSWORD) =>
      sessionOf(
        await t.call('POST', '/v1/auth/sign-in', {
          token: null,
          body: { email: 'ines@example.com', password },
        }),
      );

    before(async () => {
      t = await testApp(dialect, { publicUrl: 'https://fleet.example.com' });
      await t.org('acme');
      const invited = await t.call('POST', '/v1/orgs/acme/invitations', {
        body: { email: 'ines@example.com', roles: ['operator', 'auditor'] },
      });
      assert.equal(invited.status, 201, invited.raw);
      sessionOf(
        await t.call('POST', `/v1/auth/invitations/${invited.body.token}/accept`, {
          token: null,
          body: { password: PASSWORD },
        }),
      );
    });
    after(async () => {
      await t.close();
    });

    it("a person's token cannot change how the account signs in, sign out everywhere or mint tokens", async () => {
      const browser = await signIn();
      const made = await t.call('POST', '/v1/me/tokens', {
        ...as(browser),
        body: { org: 'acme', name: 'ci', role: 'auditor', expiresAt: '2099-01-01T00:00:00Z' },
      });
      assert.equal(made.status, 201, made.raw);
      const token = made.body.token as string;
      assert.equal((await t.call('GET', '/v1/me', { token })).status, 200, 'reading the account is fine');
      const refused: ['PUT' | 'POST' | 'DELETE', string, unknown][] = [
        ['PUT', '/v1/me/password', { current: PASSWORD, password: 'the attacker now owns this' }],
        ['POST', '/v1/me/totp', undefined],
        ['POST', '/v1/me/totp/confirm', { code: '123456' }],
        ['DELETE', '/v1/me/totp', undefined],
        ['POST', '/v1/me/recovery-codes', undefined],
        ['POST', '/v1/me/sign-out-everywhere', undefined],
        ['POST', '/v1/me/tokens', { org: 'acme', name: 'forever', role: 'auditor' }],
        ['POST', '/v1/me/passkeys/options', undefined],
      ];
      for (const [method, url, body] of refused) {
        const res = await t.call(method, url, body === undefined ? { token } : { token, body });
        assert.equal(res.status, 403, `${method} ${url} with a token: ${res.raw}`);
        assert.match(res.body.detail, /browser session/);
      }
      const person = await t.call('GET', '/v1/me', as(browser));
      assert.equal(person.body.person.factors.totp, false, 'TOTP was not touched');
      assert.equal((await t.call('GET', '/v1/me', as(browser))).status, 200, 'the session still works');
    });

    it('a factor change ends the other sessions of the person, keeps this one, and is audited', async () => {
      const laptop = await signIn();
      const stolen = await signIn();
      const changed = await t.call('PUT', '/v1/me/password', {
        ...as(laptop),
        body: { current: PASSWORD, password: 'a brand new long passphrase' },
      });
      assert.equal(changed.status, 204, changed.raw);
      assert.equal((await t.call('GET', '/v1/me', as(laptop))).status, 200, 'this session goes on');
      assert.equal((await t.call('GET', '/v1/me', as(stolen))).status, 401, 'the other one ended');
      const entry = await t.app.services.store.db
        .selectFrom('audit_entries')
        .selectAll()
        .where('action', '=', 'person.sign-out-others')
        .orderBy('seq', 'desc')
        .executeTakeFirstOrThrow();
      assert.equal(entry.actor, 'person:ines@example.com');
      const details = JSON.parse(entry.details);
      assert.equal(details.reason, 'password changed');
      assert.ok(details.ended >= 1);

      const other = await signIn('a brand new long passphrase');
      assert.equal((await t.call('DELETE', '/v1/me/totp', as(laptop))).status, 204);
      assert.equal((await t.call('GET', '/v1/me', as(other))).status, 401, 'TOTP off ends them too');
      assert.equal((await t.call('GET', '/v1/me', as(laptop))).status, 200);
    });

    it('e-mail addresses: look-alike forms fold into one, invisible and bidi characters are refused', async () => {
      const kelvin = await t.call('POST', '/v1/orgs/acme/invitations', {
        body: { email: '\u212Aate@Example.com', roles: ['auditor'] },
      });
      assert.equal(kelvin.status, 201, kelvin.raw);
      assert.equal(kelvin.body.invitation.email, 'kate@example.com', 'the Kelvin sign is a k (NFKC)');
      for (const email of ['ines\u200b@example.com', 'ines@exa\u202emple.com', 'in\u00a0es@example.com']) {
        const res = await t.call('POST', '/v1/orgs/acme/invitations', {
          body: { email, roles: ['auditor'] },
        });
        assert.equal(res.status, 400, `${JSON.stringify(email)}: ${res.raw}`);
      }
      const wide = await t.call('POST', '/v1/auth/sign-in', {
        token: null,
        body: { email: '\uff49\uff4e\uff45\uff53@example.com', password: 'a brand new long passphrase' },
      });
      assert.equal(
        wide.status,
        200,
        `full-width letters reach the same account, with its password: ${wide.raw}`,
      );
      assert.equal(wide.body.person.email, 'ines@example.com');
    });

    it("a role taken away revokes the person's tokens of that role for good, and ends their live sessions", async () => {
      const browser = await signIn('a brand new long passphrase');
      const mint = async (role: string) => {
        const made = await t.call('POST', '/v1/me/tokens', {
          ...as(browser),
          body: { org: 'acme', name: role, role },
        });
        assert.equal(made.status, 201, made.raw);
        return { id: made.body.record.id as string, token: made.body.token as string };
      };
      const operator = await mint('operator');
      const auditor = await mint('auditor');
      const ended: string[] = [];
      const off = t.app.services.bus.subscribe('token.revoked', ({ tokenId }) => ended.push(tokenId));
      try {
        const demoted = await t.call('PUT', '/v1/orgs/acme/people/ines@example.com/roles', {
          body: { roles: ['auditor'] },
        });
        assert.equal(demoted.status, 200, demoted.raw);
        assert.deepEqual(ended, [operator.id], 'live sessions of the operator token end');
        const entry = await t.app.services.store.db
          .selectFrom('audit_entries')
          .selectAll()
          .where('action', '=', 'token.revoke')
          .where('target_id', '=', operator.id)
          .executeTakeFirstOrThrow();
        assert.match(JSON.parse(entry.details).reason, /lost the role/);
        await t.call('PUT', '/v1/orgs/acme/people/ines@example.com/roles', {
          body: { roles: ['auditor', 'operator'] },
        });
        assert.equal(
          (await t.call('GET', '/v1/whoami', { token: operator.token })).status,
          401,
          'the role given back does not bring the token back',
        );
        assert.equal((await t.call('GET', '/v1/whoami', { token: auditor.token })).status, 200);
        const removed = await t.call('DELETE', '/v1/orgs/acme/people/ines@example.com');
        assert.equal(removed.status, 200, removed.raw);
        assert.ok(ended.includes(auditor.id), 'removal ends every token of the person there');
        assert.equal((await t.call('GET', '/v1/whoami', { token: auditor.token })).status, 401);
      } finally {
        off();
      }
    });

    it('wrong passwords slow an address without an account down exactly like one with (no enumeration)', async () => {
      const attempts = async (email: string) => {
        t.clock.advance(120_000); // the per-address allowance refills; only the per-account wait counts
        const answers: string[] = [];
        for (let i = 0; i < 6; i++) {
          const res = await t.call('POST', '/v1/auth/sign-in', {
            token: null,
            body: { email, password: 'certainly not the password' },
          });
          answers.push(`${res.status} ${String(res.body.detail).replace(/after \S+/, 'after …')}`);
        }
        return answers;
      };
      const known = await attempts('ines@example.com');
      const unknown = await attempts('ghost@example.com');
      assert.deepEqual(unknown, known);
      assert.match(known[5] as string, /^429 too many wrong passwords for this account/);
    });

    it('the retention pass deletes ended sessions, stale challenges and long-expired invitations', async () => {
      const db = t.app.services.store.db;
      const fresh = await t.call('POST', '/v1/orgs/acme/invitations', {
        body: { email: 'later@example.com', roles: ['auditor'], expiresInDays: 1 },
      });
      assert.equal(fresh.status, 201, fresh.raw);
      await t.call('POST', '/v1/auth/passkeys/options', { token: null, body: {} });
      const count = async (table: 'sessions' | 'sign_in_challenges' | 'invitations') =>
        Number(
          (
            await db
              .selectFrom(table)
              .select((eb) => eb.fn.countAll<number | string>().as('n'))
              .executeTakeFirstOrThrow()
          ).n,
        );
      assert.ok((await count('sessions')) > 0);
      assert.ok((await count('sign_in_challenges')) > 0);
      const nothingYet = await prunePeople(t.app.services);
      assert.equal(nothingYet.invitations, 0, 'a live invitation stays');
      // Past every session's absolute end, every challenge and, a month later, every invitation.
      t.clock.advance(40 * 86_400_000);
      const pruned = await prunePeople(t.app.services);
      assert.ok(
        pruned.sessions > 0 && pruned.challenges > 0 && pruned.invitations >= 2,
        JSON.stringify(pruned),
      );
      assert.equal(await count('sessions'), 0);
      assert.equal(await count('sign_in_challenges'), 0);
      assert.equal(await count('invitations'), 0);
    });
  });
}
