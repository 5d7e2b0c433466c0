import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { testDialects } from '../store/test-helper.js';
import { plugCapabilities, type Response, type TestApp, testApp } from '../test-support/app.js';
import { startSmtpServer, type TestSmtpServer } from '../test-support/smtp.js';
import { CLAIM_CODE_ALPHABET, normaliseClaimCode } from './claim-codes.js';
import { OWNER_SESSION_COOKIE } from './sign-in.js';

/** An owner's browser: the cookie it keeps and the CSRF token the app holds in memory. */
interface OwnerBrowser {
  cookie: string;
  csrf: string;
  id: string;
}

/** Quoted-printable as the mail left the server (RFC 2045 §6.7): soft breaks and =XX escapes undone. */
const unQuote = (raw: string) =>
  raw
    .replace(/=\r?\n/g, '')
    .replace(/=([0-9A-F]{2})/g, (_, hex: string) => String.fromCharCode(Number.parseInt(hex, 16)));

const CODE = new RegExp(`^([${CLAIM_CODE_ALPHABET}]{4}-){3}[${CLAIM_CODE_ALPHABET}]{4}$`);

for (const dialect of testDialects) {
  describe(`owners: claim codes, e-mail link sign-in, claim and release (${dialect})`, () => {
    let t: TestApp;
    let smtp: TestSmtpServer;
    let org: { id: string; slug: string; token: string };
    let productId: string;
    /** Devices of the batch: id, serial and the claim code shown once. */
    const batch: { deviceId: string; serial: string; claimCode: string }[] = [];
    let ana: OwnerBrowser;
    let ben: OwnerBrowser;

    /** A request from a given client address (the rate limits count per address). */
    const from = async (
      ip: string,
      method: 'GET' | 'POST' | 'DELETE',
      url: string,
      options: {
        owner?: OwnerBrowser;
        body?: unknown;
        csrf?: boolean;
        headers?: Record<string, string>;
      } = {},
    ): Promise<Response> => {
      const response = await t.app.http.inject({
        method,
        url,
        remoteAddress: ip,
        headers: {
          ...(options.body !== undefined ? { 'content-type': 'application/json' } : {}),
          ...(options.owner
            ? {
                cookie: options.owner.cookie,
                ...(options.csrf === false ? {} : { 'x-csrf-token': options.owner.csrf }),
              }
            : {}),
          ...options.headers,
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

    /** Asks for a link, reads it from the mail the SMTP server received, and returns its secret. */
    const linkFor = async (email: string, ip = '192.0.2.1'): Promise<string> => {
      const before = smtp.received.length;
      const asked = await from(ip, 'POST', '/v1/owner/sign-in', { body: { email } });
      assert.equal(asked.status, 202, asked.raw);
      const deadline = Date.now() + 5000;
      while (smtp.received.length === before && Date.now() < deadline)
        await new Promise((r) => setTimeout(r, 20));
      const mail = smtp.received.slice(before).find((m) => m.to.includes(email.toLowerCase()));
      assert.ok(mail, `a mail reached ${email}`);
      const link = /https:\/\/owners\.test\/owner\/sign-in#([A-Za-z0-9_-]{43})/.exec(unQuote(mail.raw));
      assert.ok(link?.[1], unQuote(mail.raw));
      return link[1];
    };

    const complete = (token: string, ip = '192.0.2.1') =>
      from(ip, 'POST', '/v1/owner/sign-in/complete', { body: { token } });

    const signIn = async (email: string): Promise<OwnerBrowser> => {
      const done = await complete(await linkFor(email));
      assert.equal(done.status, 200, done.raw);
      const line = [done.headers['set-cookie']]
        .flat()
        .map(String)
        .find((c) => c.startsWith(`${OWNER_SESSION_COOKIE}=`));
      assert.ok(line, 'the owner cookie is set');
      assert.match(line, /HttpOnly/i);
      assert.match(line, /Secure/i);
      assert.match(line, /SameSite=Strict/i);
      return { cookie: line.split(';')[0] as string, csrf: done.body.csrfToken, id: done.body.owner.id };
    };

    const auditOf = async (action: string) =>
      t.app.services.store.db
        .selectFrom('audit_entries')
        .selectAll()
        .where('action', '=', action)
        .orderBy('seq')
        .execute();

    before(async () => {
      smtp = await startSmtpServer();
      t = await testApp(dialect, {
        publicUrl: 'https://owners.test',
        mail: { smtpUrl: smtp.url, from: 'brickless@acme.test' },
      });
      org = await t.org('acme');
      const product = await t.call('POST', '/v1/orgs/acme/products', {
        body: {
          modelNumber: 'PLUG-1',
          name: 'Smart plug',
          hardwareRevision: 'A',
          supportEnds: '2031-12-31',
          capabilities: plugCapabilities,
        },
      });
      assert.equal(product.status, 201, product.raw);
      productId = product.body.id;
    });
    after(async () => {
      await t.close();
      await smtp.close();
    });

    it('gives every provisioned device a claim code, shown once and stored as a hash only', async () => {
      const made = await t.call('POST', '/v1/orgs/acme/provisioning', {
        body: { productId, serials: ['SN-1', 'SN-2', 'SN-3', 'SN-4'], firmwareVersion: '1.2.0' },
      });
      assert.equal(made.status, 201, made.raw);
      for (const d of made.body.devices) {
        assert.match(d.claimCode, CODE);
        batch.push({ deviceId: d.deviceId, serial: d.serial, claimCode: d.claimCode });
      }
      assert.equal(new Set(batch.map((d) => d.claimCode)).size, 4);
      const rows = await t.app.services.store.db.selectFrom('device_claim_codes').selectAll().execute();
      assert.equal(rows.length, 4);
      const stored = JSON.stringify(rows);
      for (const d of batch) {
        assert.ok(!stored.includes(d.claimCode) && !stored.includes(normaliseClaimCode(d.claimCode) ?? '-'));
      }
      assert.ok(rows.every((r) => /^[0-9a-f]{64}$/.test(r.code_hash) && r.used_at === null));
      // Shown once: nothing the maker can read again holds it.
      const device = await t.call('GET', `/v1/orgs/acme/devices/${batch[0]?.deviceId}`);
      assert.equal(device.status, 200, device.raw);
      assert.ok(!device.raw.includes(batch[0]?.claimCode ?? '-'));
      assert.deepEqual(device.body.ownership, { claimed: false, claimedAt: null });
    });

    it('signs an owner in with a one-time e-mail link that arrives over SMTP and works once', async () => {
      const token = await linkFor('Ana@Example.com');
      const stored = await t.app.services.store.db.selectFrom('owner_sign_in_links').selectAll().execute();
      assert.ok(!JSON.stringify(stored).includes(token), 'the link is stored as a hash');
      const done = await complete(token);
      assert.equal(done.status, 200, done.raw);
      assert.equal(done.body.owner.email, 'ana@example.com');
      assert.match(done.body.owner.id, /^own_[0-9a-f]{28}$/);
      const again = await complete(token);
      assert.equal(again.status, 401, 'a link works once');
      // The next link signs the same account in.
      ana = await signIn('ana@example.com');
      assert.equal(ana.id, done.body.owner.id);
      const me = await from('192.0.2.1', 'GET', '/v1/owner/me', { owner: ana });
      assert.equal(me.status, 200, me.raw);
      assert.equal(me.body.email, 'ana@example.com');
      // An expired link is refused like a used one.
      const late = await linkFor('late@example.com');
      t.clock.advance(16 * 60_000);
      const expired = await complete(late);
      assert.equal(expired.status, 401, expired.raw);
      assert.equal(expired.body.detail, again.body.detail);
      ben = await signIn('ben@example.com');
      assert.notEqual(ben.id, ana.id);
    });

    it('two first sign-ins of one new address at the same moment make one account, and both succeed', async () => {
      const first = await linkFor('twice@example.com', '192.0.2.21');
      const second = await linkFor('twice@example.com', '192.0.2.22');
      const [a, b] = await Promise.all([complete(first, '192.0.2.21'), complete(second, '192.0.2.22')]);
      assert.equal(a.status, 200, a.raw);
      assert.equal(b.status, 200, b.raw);
      assert.equal(a.body.owner.id, b.body.owner.id);
      const rows = await t.app.services.store.db
        .selectFrom('owners')
        .select('id')
        .where('email', '=', 'twice@example.com')
        .execute();
      assert.equal(rows.length, 1);
    });

    it('limits sign-in links per e-mail address and per client address', async () => {
      for (let i = 0; i < 5; i++) {
        const ok = await from(`198.51.100.${i + 1}`, 'POST', '/v1/owner/sign-in', {
          body: { email: 'flood@example.com' },
        });
        assert.equal(ok.status, 202, ok.raw);
      }
      const sixth = await from('198.51.100.99', 'POST', '/v1/owner/sign-in', {
        body: { email: 'flood@example.com' },
      });
      assert.equal(sixth.status, 429, sixth.raw);
      for (let i = 0; i < 10; i++) {
        const ok = await from('203.0.113.7', 'POST', '/v1/owner/sign-in', {
          body: { email: `many${i}@example.com` },
        });
        assert.equal(ok.status, 202, ok.raw);
      }
      const eleventh = await from('203.0.113.7', 'POST', '/v1/owner/sign-in', {
        body: { email: 'more@example.com' },
      });
      assert.equal(eleventh.status, 429, eleventh.raw);
    });

    it('claims a device with its code once, audited by owner id, and shows the maker only that it is claimed', async () => {
      const first = batch[0];
      assert.ok(first);
      // Refused without the session's CSRF token.
      const noCsrf = await from('192.0.2.1', 'POST', '/v1/owner/claims', {
        owner: ana,
        csrf: false,
        body: { code: first.claimCode },
      });
      assert.equal(noCsrf.status, 403, noCsrf.raw);
      // Case, spaces and hyphens do not matter.
      const typed = first.claimCode.toLowerCase().replaceAll('-', ' ');
      const claimed = await from('192.0.2.1', 'POST', '/v1/owner/claims', {
        owner: ana,
        body: { code: typed },
      });
      assert.equal(claimed.status, 201, claimed.raw);
      assert.deepEqual(
        { ...claimed.body, claimedAt: undefined },
        {
          id: first.deviceId,
          role: 'owner',
          productName: 'Smart plug',
          modelNumber: 'PLUG-1',
          serial: 'SN-1',
          online: false,
          firmwareVersion: '1.2.0',
          supportEnds: '2031-12-31',
          claimedAt: undefined,
        },
      );
      const list = await from('192.0.2.1', 'GET', '/v1/owner/devices', { owner: ana });
      assert.deepEqual(
        list.body.items.map((d: { id: string }) => d.id),
        [first.deviceId],
      );
      const one = await from('192.0.2.1', 'GET', `/v1/owner/devices/${first.deviceId}`, { owner: ana });
      assert.equal(one.status, 200, one.raw);

      const [entry] = await auditOf('device.claim');
      assert.equal(entry?.chain, org.id);
      assert.equal(entry?.actor, `owner:${ana.id}`);
      assert.equal(entry?.target_id, first.deviceId);
      assert.ok(!JSON.stringify(entry).includes('ana@'), 'the audit names the owner by id, not e-mail');

      const maker = await t.call('GET', `/v1/orgs/acme/devices/${first.deviceId}`);
      assert.equal(maker.body.ownership.claimed, true);
      assert.equal(maker.body.ownership.claimedAt, claimed.body.claimedAt);
      assert.ok(!maker.raw.includes(ana.id) && !maker.raw.includes('ana@'), 'never who');
      const claimedOnes = await t.call('GET', '/v1/orgs/acme/devices?claimed=true');
      assert.deepEqual(
        claimedOnes.body.items.map((d: { id: string }) => d.id),
        [first.deviceId],
      );
      const unclaimed = await t.call('GET', '/v1/orgs/acme/devices?claimed=false');
      assert.deepEqual(
        unclaimed.body.items.map((d: { id: string }) => d.id),
        batch.slice(1).map((d) => d.deviceId),
      );

      // A used code claims nothing, with the same answer as a code that never existed.
      const reused = await from('192.0.2.2', 'POST', '/v1/owner/claims', {
        owner: ben,
        body: { code: first.claimCode },
      });
      const unknown = await from('192.0.2.2', 'POST', '/v1/owner/claims', {
        owner: ben,
        body: { code: '0000-0000-0000-0000' },
      });
      const garbage = await from('192.0.2.2', 'POST', '/v1/owner/claims', {
        owner: ben,
        body: { code: 'hello' },
      });
      for (const refused of [reused, unknown, garbage]) {
        assert.equal(refused.status, 400, refused.raw);
        assert.equal(refused.body.detail, unknown.body.detail);
      }
      // NUL in the code is refused by the input layer before anything else.
      const nul = await from('192.0.2.2', 'POST', '/v1/owner/claims', {
        owner: ben,
        body: '{"code":"a\\u0000b"}',
      });
      assert.equal(nul.status, 400, nul.raw);
    });

    it('keeps owners apart from each other and from the staff API', async () => {
      const owned = batch[0]?.deviceId as string;
      for (const [method, url] of [
        ['GET', `/v1/owner/devices/${owned}`],
        ['DELETE', `/v1/owner/devices/${owned}`],
      ] as const) {
        const res = await from('192.0.2.2', method, url, { owner: ben });
        assert.equal(res.status, 404, `${method} ${url}: ${res.raw}`);
      }
      const bens = await from('192.0.2.2', 'GET', '/v1/owner/devices', { owner: ben });
      assert.deepEqual(bens.body.items, []);
      // An owner's session is nothing to the staff API...
      for (const url of ['/v1/orgs/acme/devices', `/v1/orgs/acme/devices/${owned}`, '/v1/me', '/v1/orgs']) {
        const res = await from('192.0.2.1', 'GET', url, { owner: ana });
        assert.equal(res.status, 401, `${url}: ${res.raw}`);
      }
      // ...and a staff token, valid elsewhere, is the wrong kind of account here.
      const staff = await from('192.0.2.1', 'GET', '/v1/owner/devices', {
        headers: { authorization: `Bearer ${org.token}` },
      });
      assert.equal(staff.status, 403, staff.raw);
      const nobody = await from('192.0.2.1', 'GET', '/v1/owner/devices');
      assert.equal(nobody.status, 401, nobody.raw);
      const forged = await from('192.0.2.1', 'GET', '/v1/owner/devices', {
        headers: { cookie: `${OWNER_SESSION_COOKIE}=${'A'.repeat(43)}` },
      });
      assert.equal(forged.status, 401, forged.raw);
    });

    it('refuses a second code while the device is owned, releases it, and lets the new code claim it', async () => {
      const first = batch[0];
      assert.ok(first);
      const reissued = await t.call('POST', `/v1/orgs/acme/devices/${first.deviceId}/claim-code`, {
        token: org.token,
      });
      assert.equal(reissued.status, 201, reissued.raw);
      assert.match(reissued.body.claimCode, CODE);
      const [issuedEntry] = await auditOf('device.claim-code');
      assert.ok(!JSON.stringify(issuedEntry).includes(reissued.body.claimCode));
      const whileOwned = await from('192.0.2.2', 'POST', '/v1/owner/claims', {
        owner: ben,
        body: { code: reissued.body.claimCode },
      });
      assert.equal(whileOwned.status, 409, whileOwned.raw);

      const released = await from('192.0.2.1', 'DELETE', `/v1/owner/devices/${first.deviceId}`, {
        owner: ana,
      });
      assert.equal(released.status, 204, released.raw);
      assert.deepEqual((await from('192.0.2.1', 'GET', '/v1/owner/devices', { owner: ana })).body.items, []);
      const [entry] = await auditOf('device.release');
      assert.equal(entry?.actor, `owner:${ana.id}`);
      assert.equal(entry?.chain, org.id);
      const maker = await t.call('GET', `/v1/orgs/acme/devices/${first.deviceId}`);
      assert.deepEqual(maker.body.ownership, { claimed: false, claimedAt: null });

      // The old code stays used; the one the maker issued claims it.
      const old = await from('192.0.2.2', 'POST', '/v1/owner/claims', {
        owner: ben,
        body: { code: first.claimCode },
      });
      assert.equal(old.status, 400, old.raw);
      const claimed = await from('192.0.2.2', 'POST', '/v1/owner/claims', {
        owner: ben,
        body: { code: reissued.body.claimCode },
      });
      assert.equal(claimed.status, 201, claimed.raw);
      // A staff token without fleet:write may not issue codes.
      const auditor = await t.call('POST', '/v1/orgs/acme/tokens', {
        body: { name: 'aud', role: 'auditor' },
      });
      const refused = await t.call('POST', `/v1/orgs/acme/devices/${first.deviceId}/claim-code`, {
        token: auditor.body.token,
      });
      assert.equal(refused.status, 403, refused.raw);
    });

    it('stops guessing after 10 wrong codes an hour, per owner and per address', async () => {
      const carl = await signIn('carl@example.com');
      const dora = await signIn('dora@example.com');
      const right = batch[2]?.claimCode as string;
      for (let i = 0; i < 10; i++) {
        const wrong = await from('203.0.113.50', 'POST', '/v1/owner/claims', {
          owner: carl,
          body: { code: `0000-0000-0000-${String(i).padStart(4, '0')}` },
        });
        assert.equal(wrong.status, 400, wrong.raw);
      }
      // The right code no longer helps, from this address or any other, for this owner...
      for (const ip of ['203.0.113.50', '203.0.113.51']) {
        const blocked = await from(ip, 'POST', '/v1/owner/claims', { owner: carl, body: { code: right } });
        assert.equal(blocked.status, 429, blocked.raw);
      }
      // ...nor for another owner from the same address.
      const sameAddress = await from('203.0.113.50', 'POST', '/v1/owner/claims', {
        owner: dora,
        body: { code: right },
      });
      assert.equal(sameAddress.status, 429, sameAddress.raw);
      // An hour later the owner may try again.
      t.clock.advance(61 * 60_000);
      const later = await from('203.0.113.50', 'POST', '/v1/owner/claims', {
        owner: carl,
        body: { code: right },
      });
      assert.equal(later.status, 201, later.raw);
    });

    it('ends the owner session on sign-out', async () => {
      const out = await from('192.0.2.2', 'POST', '/v1/owner/sign-out', { owner: ben });
      assert.equal(out.status, 204, out.raw);
      const after = await from('192.0.2.2', 'GET', '/v1/owner/devices', { owner: ben });
      assert.equal(after.status, 401, after.raw);
    });
  });
}
