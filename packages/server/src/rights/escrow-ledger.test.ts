import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import * as age from 'age-encryption';
import { deposit } from '../escrow/deposit.js';
import { locateDeposit } from '../escrow/manifest.js';
import { restoreDeposit } from '../escrow/restore.js';
import { decryptSecrets } from '../escrow/secrets.js';
import { openStore } from '../store/db.js';
import { freshDatabase, type TestDatabase, testDialects } from '../store/test-helper.js';
import { plugCapabilities, type TestApp, testApp } from '../test-support/app.js';
import { type OwnerBrowser, ownerClient } from '../test-support/owner-browser.js';
import { startSmtpServer, type TestSmtpServer } from '../test-support/smtp.js';
import { FilesystemArtifactStore } from '../updates/artifact-store.js';

for (const dialect of testDialects) {
  describe(`escrow respects deletions: the deletion ledger (${dialect})`, () => {
    let t: TestApp;
    let smtp: TestSmtpServer;
    let work: string;
    let escrowDir: string;
    let identity: string;
    let masterKeyFile: string;
    let ana: OwnerBrowser;
    let ben: OwnerBrowser;
    const ids: { older: string; newer: string } = { older: '', newer: '' };
    const devices: string[] = [];
    const targets: TestDatabase[] = [];

    const depositNow = async () =>
      deposit(
        {
          database: t.database.url,
          artifacts: new FilesystemArtifactStore(join(t.database.dataDir, 'artifacts')),
          dataDir: t.database.dataDir,
          masterKeyFile,
          config: { note: 'test' },
          openapi: { openapi: '3.1.0' },
        },
        { out: escrowDir, recipients: [await age.identityToRecipient(identity)] },
      );

    /** Restores a deposit into a fresh database and returns what is left of Ana and Ben there. */
    const restore = async (id: string) => {
      const target = await freshDatabase(dialect);
      targets.push(target);
      const located = locateDeposit(escrowDir, id);
      const secrets = await decryptSecrets(readFileSync(join(located.depositDir, 'secrets.age')), identity);
      const report = await restoreDeposit(located, { database: target.url, secrets });
      const store = await openStore(target.url);
      try {
        const db = store.db;
        const count = async (device: string) =>
          (await db.selectFrom('telemetry').select('ts').where('device_id', '=', device).execute()).length;
        return {
          report,
          owners: (await db.selectFrom('owners').select('email').orderBy('email').execute()).map(
            (o) => o.email,
          ),
          claims: (await db.selectFrom('device_owners').select('owner_id').execute()).map((r) => r.owner_id),
          anaTelemetry: await count(devices[0] as string),
          benTelemetry: await count(devices[1] as string),
          anaCommands: (
            await db
              .selectFrom('commands')
              .select('id')
              .where('device_id', '=', devices[0] as string)
              .execute()
          ).length,
          anaTwin: (
            await db
              .selectFrom('device_twins')
              .select('reported')
              .where('device_id', '=', devices[0] as string)
              .execute()
          ).map((r) => r.reported),
          ledger: (await db.selectFrom('deletion_ledger').select('id').execute()).length,
          devices: (await db.selectFrom('devices').select('id').execute()).length,
        };
      } finally {
        await store.close();
      }
    };

    before(async () => {
      work = mkdtempSync(join(tmpdir(), 'brickless-ledger-test-'));
      escrowDir = join(work, 'escrow');
      masterKeyFile = join(work, 'master.key');
      identity = await age.generateX25519Identity();
      smtp = await startSmtpServer();
      t = await testApp(dialect, {
        masterKeyFile,
        https: true,
        publicUrl: 'https://owners.test',
        mail: { smtpUrl: smtp.url, from: 'brickless@acme.test' },
      });
      const owner = ownerClient(t, smtp);
      const org = await t.org('acme');
      const product = await t.call('POST', '/v1/orgs/acme/products', {
        body: {
          modelNumber: 'PLUG-1',
          name: 'Plug',
          hardwareRevision: 'A',
          supportEnds: '2031-12-31',
          capabilities: plugCapabilities,
        },
      });
      const made = await t.call('POST', '/v1/orgs/acme/provisioning', {
        body: { productId: product.body.id, serials: ['E-1', 'E-2'] },
      });
      assert.equal(made.status, 201, made.raw);
      ana = await owner.signIn('ana@example.com');
      ben = await owner.signIn('ben@example.com');
      for (const [who, d] of [
        [ana, made.body.devices[0]],
        [ben, made.body.devices[1]],
      ] as const) {
        devices.push(d.deviceId);
        const claimed = await owner.call('POST', '/v1/owner/claims', {
          owner: who,
          body: { code: d.claimCode },
        });
        assert.equal(claimed.status, 201, claimed.raw);
      }
      t.clock.advance(60_000);
      const now = t.clock.now().getTime();
      for (const d of devices) {
        await t.app.services.store.db
          .insertInto('telemetry')
          .values(
            Array.from({ length: 20 }, (_, i) => ({
              org_id: org.id,
              device_id: d,
              field: 'power',
              ts: now + i,
              num_value: i,
              text_value: null,
            })),
          )
          .execute();
        await t.app.services.twins.report(org.id, d, { on: true });
        const sent = await t.call('POST', `/v1/orgs/acme/devices/${d}/commands`, {
          body: { name: 'reboot' },
        });
        assert.equal(sent.status, 201, sent.raw);
      }
      ids.older = (await depositNow()).id;
      t.clock.advance(60_000);
      const fresh = await owner.signIn('ana@example.com');
      const deleted = await owner.call('DELETE', '/v1/owner/me', {
        owner: fresh,
        body: { confirmEmail: 'ana@example.com' },
      });
      assert.equal(deleted.status, 200, deleted.raw);
      ids.newer = (await depositNow()).id;
    });
    after(async () => {
      await t.close();
      await smtp.close();
      for (const target of targets) await target.drop();
      rmSync(work, { recursive: true, force: true });
    });

    it('a deposit made after the deletion restores without the deleted data', async () => {
      const got = await restore(ids.newer);
      assert.deepEqual(got.owners, ['ben@example.com']);
      assert.deepEqual(got.claims, [ben.id]);
      assert.equal(got.anaTelemetry, 0);
      assert.equal(got.benTelemetry, 20);
      assert.equal(got.anaCommands, 0);
      assert.deepEqual(got.anaTwin, ['{}']);
      assert.equal(got.devices, 2, "the devices stay in the maker's fleet");
      assert.equal(got.report.ledger.deposit, ids.newer);
      assert.equal(got.report.ledger.rowsDeleted, 0, 'the deposit already lacked the data');
      assert.ok(got.report.ledger.tombstones > 0);
    });

    it('the older deposit, restored while the newer one is in the escrow, does not bring the data back', async () => {
      const got = await restore(ids.older);
      assert.deepEqual(got.owners, ['ben@example.com']);
      assert.deepEqual(got.claims, [ben.id]);
      assert.equal(got.anaTelemetry, 0);
      assert.equal(got.benTelemetry, 20, "everyone else's data comes back whole");
      assert.equal(got.anaCommands, 0);
      assert.deepEqual(got.anaTwin, [], "the older deposit's twin of Ana's time is removed");
      assert.equal(got.devices, 2);
      assert.equal(got.report.ledger.deposit, ids.newer);
      assert.equal(got.report.ledger.note, null);
      assert.ok(got.report.ledger.rowsDeleted >= 20 + 1 + 1 + 1, JSON.stringify(got.report.ledger));
      // The successor's ledger carries the tombstones on into its own deposits.
      assert.equal(got.ledger, got.report.ledger.tombstones);
      // Every audit chain verified and ended at the older deposit's checkpoints (restore checks it).
      assert.ok(got.report.chains.every((c) => c.ok));
    });

    it('skips a newer deposit whose manifest was altered, and says so', async () => {
      const located = locateDeposit(escrowDir, ids.newer);
      const file = join(located.depositDir, 'manifest.json');
      const original = readFileSync(file, 'utf8');
      try {
        const manifest = JSON.parse(original);
        manifest.createdAt = '2000-01-01T00:00:00.000Z';
        writeFileSync(file, JSON.stringify(manifest));
        const got = await restore(ids.older);
        assert.equal(got.report.ledger.deposit, ids.older);
        assert.match(got.report.ledger.note ?? '', /broken|not signed/);
        assert.deepEqual(got.owners, ['ana@example.com', 'ben@example.com']);
      } finally {
        writeFileSync(file, original);
      }
    });
  });
}
