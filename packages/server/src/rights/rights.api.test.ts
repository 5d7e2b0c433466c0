import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { strFromU8, unzipSync } from 'fflate';
import { testDialects } from '../store/test-helper.js';
import { plugCapabilities, type TestApp, testApp } from '../test-support/app.js';
import { parseCsv } from '../test-support/csv.js';
import { type OwnerBrowser, ownerClient } from '../test-support/owner-browser.js';
import { startSmtpServer, type TestSmtpServer } from '../test-support/smtp.js';

const HOSTILE = '=cmd|"/c calc"!A0,\r\nline"two';

for (const dialect of testDialects) {
  describe(`data rights: export and deletion of an owner's data (${dialect})`, () => {
    let t: TestApp;
    let smtp: TestSmtpServer;
    let owner: ReturnType<typeof ownerClient>;
    let ana: OwnerBrowser;
    let ben: OwnerBrowser;
    const devices: { deviceId: string; claimCode: string }[] = [];
    const claimedAt = new Date('2026-03-01T12:00:00.000Z').getTime();
    const db = () => t.app.services.store.db;

    const readings = (deviceId: string, count: number, fromMs: number, field = 'power') =>
      Array.from({ length: count }, (_, i) => ({
        org_id: devices[0] ? 'x' : 'x',
        device_id: deviceId,
        field,
        ts: fromMs + i * 1000,
        num_value: i,
        text_value: null,
      }));

    before(async () => {
      smtp = await startSmtpServer();
      t = await testApp(dialect, {
        publicUrl: 'https://owners.test',
        mail: { smtpUrl: smtp.url, from: 'brickless@acme.test' },
      });
      owner = ownerClient(t, smtp);
      const org = await t.org('acme');
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
      const made = await t.call('POST', '/v1/orgs/acme/provisioning', {
        body: { productId: product.body.id, serials: ['R-1', 'R-2', 'R-3'], firmwareVersion: '1.0.0' },
      });
      assert.equal(made.status, 201, made.raw);
      devices.push(...made.body.devices);
      const [d1, d2, d3] = devices.map((d) => d.deviceId) as [string, string, string];
      // A previous owner's time (before the claim), then 2,500 readings of Ana's time on d1 over
      // two fields (pages of 1,000 with ties at the page ends), a few on d2, and Ben's on d3.
      await db()
        .insertInto('telemetry')
        .values(
          [
            ...readings(d1, 5, claimedAt - 86_400_000),
            ...readings(d1, 2000, claimedAt, 'power').map((r, i) => ({
              ...r,
              ts: claimedAt + Math.floor(i / 3) * 1000,
            })),
            ...readings(d1, 500, claimedAt, 'voltage'),
            ...readings(d2, 3, claimedAt),
            ...readings(d3, 7, claimedAt),
          ].map((r) => ({ ...r, org_id: org.id })),
        )
        .execute();
      await db()
        .insertInto('telemetry')
        .values({
          org_id: org.id,
          device_id: d1,
          field: 'label',
          ts: claimedAt + 5,
          num_value: null,
          text_value: HOSTILE,
        })
        .execute();
      ana = await owner.signIn('ana@example.com');
      ben = await owner.signIn('ben@example.com');
      for (const [who, d] of [
        [ana, devices[0]],
        [ana, devices[1]],
        [ben, devices[2]],
      ] as const) {
        const claimed = await owner.call('POST', '/v1/owner/claims', {
          owner: who,
          body: { code: d?.claimCode },
        });
        assert.equal(claimed.status, 201, claimed.raw);
      }
      // Commands and twin state during the ownership.
      t.clock.advance(60_000);
      for (const d of [d1, d3]) {
        const sent = await t.call('POST', `/v1/orgs/acme/devices/${d}/commands`, {
          body: { name: 'blink', params: { times: 2 } },
        });
        assert.equal(sent.status, 201, sent.raw);
        await t.app.services.twins.report(org.id, d, { on: true });
      }
    });
    after(async () => {
      await t.close();
      await smtp.close();
    });

    it('exports everything about the owner as a zip of JSON and CSV, and nothing of anyone else', async () => {
      const [d1, d2, d3] = devices.map((d) => d.deviceId) as [string, string, string];
      const res = await owner.call('GET', '/v1/owner/export', { owner: ana });
      assert.equal(res.status, 200, res.raw);
      assert.equal(res.headers['content-type'], 'application/zip');
      assert.match(String(res.headers['content-disposition']), /attachment; filename="brickless-data-own_/);
      const files = unzipSync(new Uint8Array(res.payload));
      const text = (name: string) => {
        const f = files[name];
        assert.ok(f, `${name} is in the archive (${Object.keys(files).join(', ')})`);
        return strFromU8(f);
      };
      assert.match(text('README.txt'), /GDPR Art\. 15 and 20/);
      assert.match(text('README.txt'), /second-hand/);
      assert.equal(JSON.parse(text('owner.json')).email, 'ana@example.com');
      assert.deepEqual(
        JSON.parse(text('devices.json')).map((d: { id: string }) => d.id),
        [d1, d2],
      );
      assert.equal(JSON.parse(text('claims.json')).length, 2);
      // Telemetry of the ownership period only: the previous owner's 5 readings are not in it.
      const json = JSON.parse(text(`devices/${d1}/telemetry.json`));
      assert.equal(json.length, 2501);
      const csv = parseCsv(text(`devices/${d1}/telemetry.csv`));
      assert.deepEqual(csv[0], ['time', 'field', 'value']);
      assert.equal(csv.length, 2502);
      assert.ok(csv.slice(1).every((r) => new Date(r[0] as string).getTime() >= claimedAt));
      assert.ok(
        csv.some((r) => r[2] === HOSTILE),
        'a hostile text survives CSV quoting intact',
      );
      assert.equal(JSON.parse(text(`devices/${d2}/telemetry.json`)).length, 3);
      const commands = parseCsv(text(`devices/${d1}/commands.csv`));
      assert.equal(commands.length, 2);
      assert.equal(commands[1]?.[1], 'blink');
      assert.equal(commands[1]?.[3], 'maker');
      assert.deepEqual(JSON.parse(text(`devices/${d1}/twin.json`)).reported, { on: true });
      assert.ok(Array.isArray(JSON.parse(text(`devices/${d1}/updates.json`))));
      const audit = parseCsv(text('audit.csv'));
      assert.ok(audit.some((r) => r[1] === 'device.claim'));
      assert.ok(audit.some((r) => r[1] === 'owner.create'));
      // Nothing of Ben: not his device, not his account, not his e-mail.
      const everything = Object.keys(files).map(text).join('\n') + Object.keys(files).join('\n');
      for (const foreign of [d3, ben.id, 'ben@example.com'])
        assert.ok(!everything.includes(foreign), foreign);
      const logged = await db()
        .selectFrom('audit_entries')
        .selectAll()
        .where('action', '=', 'owner.export')
        .execute();
      assert.equal(logged.length, 1);
      assert.equal(logged[0]?.target_id, ana.id);
      assert.ok(!logged[0]?.details.includes('@'));
    });

    it('refuses the export and the deletion without an owner session', async () => {
      assert.equal((await owner.call('GET', '/v1/owner/export')).status, 401);
      assert.equal((await t.call('GET', '/v1/owner/export')).status, 403);
      assert.equal(
        (await owner.call('DELETE', '/v1/owner/me', { body: { confirmEmail: 'ana@example.com' } })).status,
        401,
      );
    });

    it('deletes the account only with the e-mail typed again from a fresh sign-in', async () => {
      const wrong = await owner.call('DELETE', '/v1/owner/me', {
        owner: ana,
        body: { confirmEmail: 'ben@example.com' },
      });
      assert.equal(wrong.status, 400, wrong.raw);
      const bad = await owner.call('DELETE', '/v1/owner/me', {
        owner: ana,
        body: { confirmEmail: 'x\u0000' },
      });
      assert.equal(bad.status, 400, bad.raw);
      const extra = await owner.call('DELETE', '/v1/owner/me', {
        owner: ana,
        body: { confirmEmail: 'ana@example.com', all: true },
      });
      assert.equal(extra.status, 400, extra.raw);
      t.clock.advance(16 * 60_000);
      const stale = await owner.call('DELETE', '/v1/owner/me', {
        owner: ana,
        body: { confirmEmail: 'ana@example.com' },
      });
      assert.equal(stale.status, 403, stale.raw);
      assert.match(stale.body.detail, /fresh sign-in/);
      assert.ok(await db().selectFrom('owners').select('id').where('id', '=', ana.id).executeTakeFirst());
    });

    it("deletes the account and its devices' personal data, keeps the devices and everyone else's data", async () => {
      const [d1, d2, d3] = devices.map((d) => d.deviceId) as [string, string, string];
      const fresh = await owner.signIn('ana@example.com');
      const done = await owner.call('DELETE', '/v1/owner/me', {
        owner: fresh,
        body: { confirmEmail: ' ANA@example.com ' },
      });
      assert.equal(done.status, 200, done.raw);
      assert.equal(done.body.devicesReleased, 2);
      assert.equal(done.body.deleted.telemetry, 2504 + 0);
      assert.equal(done.body.deleted.commands, 1);
      // Every session of the account ended, this one and the older one.
      for (const s of [fresh, ana])
        assert.equal((await owner.call('GET', '/v1/owner/me', { owner: s })).status, 401);
      const count = async (device: string) =>
        Number(
          (
            await db()
              .selectFrom('telemetry')
              .select((eb) => eb.fn.countAll().as('n'))
              .where('device_id', '=', device)
              .executeTakeFirstOrThrow()
          ).n,
        );
      assert.equal(await count(d1), 5, "the previous owner's readings are not Ana's to delete");
      assert.equal(await count(d2), 0);
      assert.equal(await count(d3), 7, "Ben's readings stay");
      assert.equal(
        (await db().selectFrom('commands').select('id').where('device_id', '=', d1).execute()).length,
        0,
      );
      assert.equal(
        (await db().selectFrom('commands').select('id').where('device_id', '=', d3).execute()).length,
        1,
      );
      const twin = await db()
        .selectFrom('device_twins')
        .selectAll()
        .where('device_id', '=', d1)
        .executeTakeFirstOrThrow();
      assert.equal(twin.reported, '{}');
      assert.equal(
        (
          await db()
            .selectFrom('device_twins')
            .selectAll()
            .where('device_id', '=', d3)
            .executeTakeFirstOrThrow()
        ).reported,
        '{"on":true}',
      );
      // The devices stay in the maker's fleet, unclaimed; the maker can issue a new code.
      const device = await t.call('GET', `/v1/orgs/acme/devices/${d1}`);
      assert.equal(device.status, 200);
      assert.deepEqual(device.body.ownership, { claimed: false, claimedAt: null });
      assert.equal(device.body.firmwareVersion, '1.0.0');
      assert.equal((await t.call('POST', `/v1/orgs/acme/devices/${d1}/claim-code`)).status, 201);
      assert.equal(
        await db().selectFrom('owners').select('id').where('id', '=', fresh.id).executeTakeFirst(),
        undefined,
      );
      assert.equal(
        (await db().selectFrom('owner_sessions').select('handle').where('owner_id', '=', fresh.id).execute())
          .length,
        0,
      );
      assert.equal(
        (
          await db()
            .selectFrom('owner_sign_in_links')
            .select('email')
            .where('email', '=', 'ana@example.com')
            .execute()
        ).length,
        0,
      );
      // Ben is untouched.
      const benMe = await owner.call('GET', '/v1/owner/devices', { owner: ben });
      assert.deepEqual(
        benMe.body.items.map((d: { id: string }) => d.id),
        [d3],
      );
      // The audit: ids and counts, never the address; every chain still verifies.
      const entry = await db()
        .selectFrom('audit_entries')
        .selectAll()
        .where('action', '=', 'owner.delete')
        .executeTakeFirstOrThrow();
      assert.equal(entry.target_id, fresh.id);
      assert.ok(!entry.details.includes('ana@'), entry.details);
      assert.equal(JSON.parse(entry.details).deleted.telemetry, 2504);
      const all = await db().selectFrom('audit_entries').select('details').execute();
      assert.ok(!JSON.stringify(all).includes('ana@example.com'));
      for (const chain of await t.app.services.audit.chains(db())) {
        const report = await t.app.services.audit.verify(db(), chain);
        assert.ok(report.ok, `${chain}: ${JSON.stringify(report.problems)}`);
      }
      // Tombstones name tables and opaque ids, never the data.
      const ledger = await db().selectFrom('deletion_ledger').selectAll().execute();
      assert.ok(ledger.some((l) => l.table_name === 'telemetry' && l.scope_value === d1));
      assert.ok(ledger.some((l) => l.table_name === 'owners' && l.scope_value === fresh.id));
      assert.ok(!JSON.stringify(ledger).includes('ana@'));
    });
  });
}
