import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { testDialects } from '../store/test-helper.js';
import { plugCapabilities, type TestApp, testApp } from '../test-support/app.js';
import { type OwnerBrowser, ownerClient } from '../test-support/owners.js';
import { startSmtpServer, type TestSmtpServer } from '../test-support/smtp.js';
import { deviceAccess } from './sharing.js';

for (const dialect of testDialects) {
  describe(`owners: sharing with household members, transfer on resale (${dialect})`, () => {
    let t: TestApp;
    let smtp: TestSmtpServer;
    const { call, secretFrom, signIn } = ownerClient(
      () => t,
      () => smtp,
    );
    const batch: { deviceId: string; claimCode: string }[] = [];
    let ana: OwnerBrowser;
    let ben: OwnerBrowser;
    let cleo: OwnerBrowser;
    let dan: OwnerBrowser;
    const dev = (i: number) => (batch[i] as { deviceId: string }).deviceId;

    /** Ana invites `email` to device `i`; returns the answer and the secret from the mail. */
    const invite = async (owner: OwnerBrowser, i: number, email: string, role: string) => {
      const before = smtp.received.length;
      const answer = await call('POST', `/v1/owner/devices/${dev(i)}/shares`, {
        owner,
        body: { email, role },
      });
      const token = answer.status === 201 ? await secretFrom(email, before, '/owner/shares/accept') : '';
      return { answer, token };
    };
    const accept = (owner: OwnerBrowser, token: string) =>
      call('POST', '/v1/owner/shares/accept', { owner, body: { token } });
    const auditOf = (action: string) =>
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
      await t.org('acme');
      const product = await t.call('POST', '/v1/orgs/acme/products', {
        body: {
          modelNumber: 'PLUG-1',
          name: 'Smart plug',
          hardwareRevision: 'A',
          supportEnds: '2031-12-31',
          capabilities: plugCapabilities,
        },
      });
      const made = await t.call('POST', '/v1/orgs/acme/provisioning', {
        body: { productId: product.body.id, serials: ['S-1', 'S-2', 'S-3'] },
      });
      assert.equal(made.status, 201, made.raw);
      for (const d of made.body.devices) batch.push({ deviceId: d.deviceId, claimCode: d.claimCode });
      ana = await signIn('ana@home.test');
      ben = await signIn('ben@home.test');
      cleo = await signIn('cleo@home.test');
      dan = await signIn('dan@elsewhere.test');
      for (const i of [0, 1]) {
        const claimed = await call('POST', '/v1/owner/claims', {
          owner: ana,
          body: { code: (batch[i] as { claimCode: string }).claimCode },
        });
        assert.equal(claimed.status, 201, claimed.raw);
      }
    });
    after(async () => {
      await t.close();
      await smtp.close();
    });

    it('invites by e-mail link (secret after #, stored hashed), accepted only by the invited address, once', async () => {
      const toCleo = await invite(ana, 0, 'Cleo@Home.test', 'guest');
      assert.equal(toCleo.answer.status, 201, toCleo.answer.raw);
      assert.equal(toCleo.answer.body.email, 'cleo@home.test');
      assert.match(toCleo.answer.body.id, /^shi_[0-9a-f]{24}$/);
      const stored = JSON.stringify(
        await t.app.services.store.db.selectFrom('device_share_invitations').selectAll().execute(),
      );
      assert.ok(!stored.includes(toCleo.token), 'only a hash of the secret is stored');
      // A forwarded link: Ben cannot use Cleo's invitation, and it stays usable for her.
      const forwarded = await accept(ben, toCleo.token);
      assert.equal(forwarded.status, 403, forwarded.raw);
      const accepted = await accept(cleo, toCleo.token);
      assert.equal(accepted.status, 201, accepted.raw);
      assert.equal(accepted.body.role, 'guest');
      assert.equal(accepted.body.id, dev(0));
      const again = await accept(cleo, toCleo.token);
      assert.equal(again.status, 400, 'an invitation works once');
      const toBen = await invite(ana, 0, 'ben@home.test', 'user');
      assert.equal((await accept(ben, toBen.token)).status, 201);
      // The audit names people by id, never the address.
      const invites = await auditOf('device.share-invite');
      assert.equal(invites.length, 2);
      assert.ok(!JSON.stringify(invites).includes('@'));
      const shares = await auditOf('device.share');
      assert.deepEqual(
        shares.map((s) => JSON.parse(s.details).role),
        ['guest', 'user'],
      );
    });

    it('lists shared devices with the role, and the shares to the owner only', async () => {
      const bens = await call('GET', '/v1/owner/devices', { owner: ben });
      assert.deepEqual(
        bens.body.items.map((d: { id: string; role: string }) => [d.id, d.role]),
        [[dev(0), 'user']],
      );
      const cleos = await call('GET', `/v1/owner/devices/${dev(0)}`, { owner: cleo });
      assert.equal(cleos.body.role, 'guest');
      const shares = await call('GET', `/v1/owner/devices/${dev(0)}/shares`, { owner: ana });
      assert.equal(shares.status, 200, shares.raw);
      assert.deepEqual(
        new Map(shares.body.members.map((m: { ownerId: string; role: string }) => [m.ownerId, m.role])),
        new Map([
          [ana.id, 'owner'],
          [cleo.id, 'guest'],
          [ben.id, 'user'],
        ]),
      );
      assert.equal((await call('GET', `/v1/owner/devices/${dev(0)}/shares`, { owner: ben })).status, 403);
      assert.equal((await call('GET', `/v1/owner/devices/${dev(0)}/shares`, { owner: dan })).status, 404);
      // The check the app API shares: a guest sees, a user controls, only the owner manages.
      const db = t.app.services.store.db;
      assert.deepEqual(
        [
          await deviceAccess(db, cleo.id, dev(0)),
          await deviceAccess(db, ben.id, dev(0)),
          await deviceAccess(db, ana.id, dev(0)),
        ].map((a) => a && [a.role, a.control, a.manage]),
        [
          ['guest', false, false],
          ['user', true, false],
          ['owner', true, true],
        ],
      );
      assert.equal(await deviceAccess(db, dan.id, dev(0)), null);
    });

    it('refuses members and strangers what only the owner may do', async () => {
      const d = dev(0);
      const cases: [OwnerBrowser, 'POST' | 'DELETE' | 'PATCH', string, unknown, number][] = [
        [ben, 'POST', `/v1/owner/devices/${d}/shares`, { email: 'eve@x.test', role: 'guest' }, 403],
        [cleo, 'POST', `/v1/owner/devices/${d}/shares`, { email: 'eve@x.test', role: 'user' }, 403],
        [cleo, 'DELETE', `/v1/owner/devices/${d}`, undefined, 403],
        [ben, 'DELETE', `/v1/owner/devices/${d}`, undefined, 403],
        [ben, 'POST', `/v1/owner/devices/${d}/transfer`, undefined, 403],
        [cleo, 'POST', `/v1/owner/devices/${d}/local-mode`, undefined, 403],
        [ben, 'PATCH', `/v1/owner/devices/${d}/shares/${cleo.id}`, { role: 'user' }, 403],
        [cleo, 'DELETE', `/v1/owner/devices/${d}/shares/${ben.id}`, undefined, 403],
        [dan, 'POST', `/v1/owner/devices/${d}/shares`, { email: 'eve@x.test', role: 'user' }, 404],
        [dan, 'POST', `/v1/owner/devices/${d}/transfer`, undefined, 404],
        [dan, 'DELETE', `/v1/owner/devices/${d}/shares/${ben.id}`, undefined, 404],
        // Already a member, the owner's own address, and roles that are not to be given.
        [ana, 'POST', `/v1/owner/devices/${d}/shares`, { email: 'ben@home.test', role: 'guest' }, 409],
        [ana, 'POST', `/v1/owner/devices/${d}/shares`, { email: 'ana@home.test', role: 'user' }, 409],
        [ana, 'POST', `/v1/owner/devices/${d}/shares`, { email: 'eve@x.test', role: 'owner' }, 400],
        [ana, 'PATCH', `/v1/owner/devices/${d}/shares/${ana.id}`, { role: 'guest' }, 409],
        [ana, 'DELETE', `/v1/owner/devices/${d}/shares/${ana.id}`, undefined, 409],
        // Hostile strings: control characters, a NUL, a huge body, a bad token, a bad id.
        [ana, 'POST', `/v1/owner/devices/${d}/shares`, { email: 'e\u0000ve@x.test', role: 'user' }, 400],
        [
          ana,
          'POST',
          `/v1/owner/devices/${d}/shares`,
          { email: `${'a'.repeat(300)}@x.test`, role: 'user' },
          400,
        ],
        [ana, 'POST', `/v1/owner/devices/${d}/shares`, '{"email":', 400],
        [ana, 'POST', '/v1/owner/shares/accept', { token: '../../etc/passwd' }, 400],
        [ana, 'POST', '/v1/owner/shares/accept', { token: 'A'.repeat(43) }, 400],
        [ana, 'PATCH', `/v1/owner/devices/${d}/shares/own_'; DROP TABLE owners;--`, { role: 'user' }, 400],
        [ana, 'DELETE', `/v1/owner/devices/${d}/invitations/shi_${'0'.repeat(24)}`, undefined, 404],
      ];
      for (const [who, method, url, body, status] of cases) {
        const answer = await call(method, url, { owner: who, ...(body !== undefined ? { body } : {}) });
        assert.equal(answer.status, status, `${method} ${url} ${JSON.stringify(body)}: ${answer.raw}`);
      }
      // Nothing changed: the household is as it was.
      const shares = await call('GET', `/v1/owner/devices/${d}/shares`, { owner: ana });
      assert.equal(shares.body.members.length, 3);
      // Without a session or CSRF token, nothing at all.
      const anonymous = await call('POST', `/v1/owner/devices/${d}/shares`, {
        body: { email: 'eve@x.test', role: 'user' },
      });
      assert.equal(anonymous.status, 401);
    });

    it('changes a role, lets a member leave, removes a member; invitations can be withdrawn and expire', async () => {
      const d = dev(0);
      const changed = await call('PATCH', `/v1/owner/devices/${d}/shares/${cleo.id}`, {
        owner: ana,
        body: { role: 'user' },
      });
      assert.equal(changed.status, 200, changed.raw);
      assert.equal(changed.body.role, 'user');
      assert.equal(
        (await call('DELETE', `/v1/owner/devices/${d}/shares/${cleo.id}`, { owner: cleo })).status,
        204,
      );
      assert.equal(
        (await call('DELETE', `/v1/owner/devices/${d}/shares/${ben.id}`, { owner: ana })).status,
        204,
      );
      assert.equal((await call('GET', `/v1/owner/devices/${d}`, { owner: ben })).status, 404);
      assert.deepEqual(
        (await auditOf('device.share-leave')).map((e) => e.actor),
        [`owner:${cleo.id}`],
      );
      // Withdrawn: the link no longer works.
      const withdrawn = await invite(ana, 0, 'ben@home.test', 'user');
      const revoke = await call('DELETE', `/v1/owner/devices/${d}/invitations/${withdrawn.answer.body.id}`, {
        owner: ana,
      });
      assert.equal(revoke.status, 204, revoke.raw);
      assert.equal((await accept(ben, withdrawn.token)).status, 400);
      // A second invitation to the same address replaces the first.
      const first = await invite(ana, 0, 'cleo@home.test', 'guest');
      const second = await invite(ana, 0, 'cleo@home.test', 'user');
      assert.equal((await accept(cleo, first.token)).status, 400);
      const listed = await call('GET', `/v1/owner/devices/${d}/shares`, { owner: ana });
      assert.deepEqual(
        listed.body.invitations.map((i: { role: string }) => i.role),
        ['user'],
      );
      // Past its 7 days, one answer like an unknown link (sessions are signed in again after).
      t.clock.advance(7 * 86_400_000 + 60_000);
      const cleoAgain = await signIn('cleo@home.test');
      assert.equal((await accept(cleoAgain, second.token)).status, 400);
      ana = await signIn('ana@home.test');
      ben = await signIn('ben@home.test');
      dan = await signIn('dan@elsewhere.test');
    });

    it('a release ends the shares and open invitations', async () => {
      const toBen = await invite(ana, 0, 'ben@home.test', 'guest');
      assert.equal((await accept(ben, toBen.token)).status, 201);
      const pending = await invite(ana, 0, 'dan@elsewhere.test', 'user');
      assert.equal((await call('DELETE', `/v1/owner/devices/${dev(0)}`, { owner: ana })).status, 204);
      assert.equal((await call('GET', '/v1/owner/devices', { owner: ben })).body.items.length, 0);
      assert.equal((await accept(dan, pending.token)).status, 400);
    });

    it('transfer on resale: shares and data end, a factory reset is queued, a new code is shown once to the seller', async () => {
      const d = dev(1);
      const toBen = await invite(ana, 1, 'ben@home.test', 'user');
      assert.equal((await accept(ben, toBen.token)).status, 201);
      const pending = await invite(ana, 1, 'cleo@home.test', 'guest');
      const transfer = await call('POST', `/v1/owner/devices/${d}/transfer`, { owner: ana });
      assert.equal(transfer.status, 201, transfer.raw);
      assert.match(transfer.body.claimCode, /^([0-9A-Z]{4}-){3}[0-9A-Z]{4}$/);
      assert.equal(transfer.headers['cache-control'], 'no-store');
      for (const who of [ana, ben])
        assert.equal((await call('GET', `/v1/owner/devices/${d}`, { owner: who })).status, 404);
      assert.equal((await accept(await signIn('cleo@home.test'), pending.token)).status, 400);
      // The reserved command waits for the device, visible to the maker like any command.
      const command = await t.call('GET', `/v1/orgs/acme/devices/${d}/commands/${transfer.body.commandId}`);
      assert.equal(command.status, 200, command.raw);
      assert.equal(command.body.name, 'factory-reset');
      assert.equal(command.body.status, 'queued');
      assert.equal(command.body.createdBy, `owner:${ana.id}`);
      // The old code claims nothing; the new one claims the device for the buyer.
      const old = await call('POST', '/v1/owner/claims', {
        owner: dan,
        body: { code: (batch[1] as { claimCode: string }).claimCode },
      });
      assert.equal(old.status, 400);
      t.clock.advance(60_000);
      const bought = await call('POST', '/v1/owner/claims', {
        owner: dan,
        body: { code: transfer.body.claimCode },
      });
      assert.equal(bought.status, 201, bought.raw);
      const access = await deviceAccess(t.app.services.store.db, dan.id, d);
      assert.equal(access?.role, 'owner');
      assert.ok(
        (access?.historyFrom ?? '') > ((await auditOf('device.transfer'))[0]?.at ?? '9'),
        "the buyer's history starts at their claim, after the sale",
      );
      const [entry] = await auditOf('device.transfer');
      assert.deepEqual(JSON.parse(entry?.details ?? '{}'), {
        owner: ana.id,
        sharesEnded: 1,
        commandId: transfer.body.commandId,
      });
      assert.ok(!JSON.stringify(await auditOf('device.transfer')).includes(transfer.body.claimCode));
      // The maker sees the device as claimed again.
      const claimed = await t.call('GET', '/v1/orgs/acme/devices?claimed=true');
      assert.deepEqual(
        claimed.body.items.map((x: { id: string }) => x.id),
        [d],
      );
    });
  });
}
