import assert from 'node:assert/strict';
import { appendFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import * as age from 'age-encryption';
import { PLATFORM_CHAIN } from '../audit/service.js';
import type { Config } from '../config.js';
import type { DrillReport } from '../escrow/drill/run.js';
import { depositFromApp, recordDrill } from '../escrow/service.js';
import { testDialects } from '../store/test-helper.js';
import { type TestApp, testApp } from '../test-support/app.js';

for (const dialect of testDialects) {
  describe(`continuity overview: deposits, drill, deposit key, handover (${dialect})`, () => {
    let t: TestApp;
    let work: string;
    let acme: { id: string; token: string };
    let operator: string;
    let recipient: string;

    before(async () => {
      work = mkdtempSync(join(tmpdir(), 'brickless-overview-'));
      t = await testApp(dialect, { masterKeyFile: join(work, 'master.key') });
      acme = await t.org('acme');
      await t.org('other');
      const token = await t.call('POST', '/v1/orgs/acme/tokens', { body: { name: 'ops', role: 'operator' } });
      operator = token.body.token;
      recipient = await age.identityToRecipient(await age.generateX25519Identity());
    });
    after(async () => {
      await t.close();
      rmSync(work, { recursive: true, force: true });
    });

    it('says so when nothing was deposited or drilled yet', async () => {
      const empty = await t.call('GET', '/v1/orgs/acme/continuity', { token: acme.token });
      assert.equal(empty.status, 200, empty.raw);
      assert.deepEqual(empty.body.deposits, []);
      assert.equal(empty.body.lastDrill, null);
      assert.equal(empty.body.depositKey, null);
      assert.deepEqual(empty.body.scope, { deposits: 'platform', handover: 'organization' });
      assert.equal(empty.body.schedule.configured, false);
      assert.equal(empty.body.handover.current, null);
    });

    it('lists a deposit with its figures, hash and signing key, and checks the manifest on disk', async () => {
      const out = join(work, 'escrow');
      const config = {
        dataDir: t.database.dataDir,
        database: t.database.url,
        secrets: { masterKeyFile: join(work, 'master.key') },
      } as Config;
      const manifest = await depositFromApp(t.app, config, out, [recipient], 'test:deposit');
      const overview = await t.call('GET', '/v1/orgs/acme/continuity', { token: acme.token });
      assert.equal(overview.status, 200, overview.raw);
      const [entry] = overview.body.deposits;
      assert.equal(entry.kind, 'deposit');
      assert.equal(entry.depositId, manifest.id);
      assert.equal(entry.sequence, manifest.sequence);
      // Installation sizes are the platform's: an organisation sees when, whether and which key.
      assert.equal(entry.rows, null);
      assert.equal(entry.artifacts, null);
      const [platformEntry] = (await t.call('GET', '/v1/orgs/acme/continuity')).body.deposits;
      assert.equal(platformEntry.rows, manifest.stats.rows, 'a platform admin sees the figures');
      assert.equal(platformEntry.artifacts, manifest.stats.artifacts);
      assert.match(entry.manifestSha256, /^[0-9a-f]{64}$/);
      assert.equal(entry.signedBy, overview.body.depositKey.publicKey);
      assert.equal(entry.check, 'verified', entry.checkDetail);
      assert.equal('out' in entry, false, 'the escrow path stays on the server');

      // A manifest changed after the deposit no longer matches what the audit chain recorded.
      appendFileSync(join(out, 'deposits', manifest.id, 'manifest.json'), ' ');
      const changed = await t.call('GET', '/v1/orgs/acme/continuity', { token: acme.token });
      assert.equal(changed.body.deposits[0].check, 'failed');
      assert.match(changed.body.deposits[0].checkDetail, /SHA-256/);
    });

    it('shows a refusal without naming other organisations’ chains', async () => {
      const others = await t.call('GET', '/v1/orgs/other');
      await t.app.services.store.db.transaction().execute((trx) =>
        t.app.services.audit.append(trx, PLATFORM_CHAIN, {
          actor: 'test',
          action: 'escrow.deposit-refused',
          targetType: 'escrow-deposit',
          targetId: 'dep-previous',
          details: {
            out: '/secret/path',
            problems: [`chain ${others.body.id} went back from 5 to 3 entries`, `chain ${acme.id} is gone`],
          },
        }),
      );
      const overview = await t.call('GET', '/v1/orgs/acme/continuity', { token: acme.token });
      const [refused] = overview.body.deposits;
      assert.equal(refused.kind, 'refused');
      assert.equal(refused.check, null);
      assert.equal(refused.reason, 'the audit log was behind the previous deposit');
      assert.doesNotMatch(overview.raw, new RegExp(others.body.id));
      // A platform admin sees the problems, still without naming chains by organisation id.
      const [platformRefused] = (await t.call('GET', '/v1/orgs/acme/continuity')).body.deposits;
      assert.ok(!platformRefused.reason.includes(others.body.id), platformRefused.reason);
      assert.match(platformRefused.reason, /another organisation's chain went back/);
      assert.match(platformRefused.reason, new RegExp(`chain ${acme.id} is gone`));
    });

    it('reads back the last drill with its figures', async () => {
      const report: DrillReport = {
        devices: 20,
        source: 'sqlite',
        target: 'postgres',
        deposit: { seconds: 1.2, rows: 4321, megabytes: 3.5 },
        restoreSeconds: 4.5,
        firstReconnectSeconds: 0.8,
        reconnect99Seconds: 2.1,
        served99FromRestoreSeconds: 9.9,
        late: { devices: 2, backSeconds: 3 },
        reconnected: 20,
        reconnectedShare: 1,
        devicesLost: 0,
        rowsLost: 0,
        features: [
          { name: 'telemetry', ok: true, detail: '' },
          { name: 'signed update', ok: false, detail: 'timeout' },
        ],
        ok: false,
      };
      await recordDrill(t.app, report, 61.5, 'test:drill');
      const overview = await t.call('GET', '/v1/orgs/acme/continuity', { token: acme.token });
      const drill = overview.body.lastDrill;
      assert.equal(drill.ok, false);
      assert.equal(drill.seconds, 61.5);
      assert.equal(drill.devices, 20);
      assert.equal(drill.rows, null, "the installation's size is the platform's");
      assert.equal(drill.actor, 'test');
      assert.equal((await t.call('GET', '/v1/orgs/acme/continuity')).body.lastDrill.rows, 4321);
      assert.equal(drill.restoreSeconds, 4.5);
      assert.equal(drill.featuresPassed, 1);
      assert.equal(drill.featuresTotal, 2);
      assert.deepEqual(drill.failed, ['signed update']);
    });

    it('needs audit:read, and another organisation’s path is not found', async () => {
      const forbidden = await t.call('GET', '/v1/orgs/acme/continuity', { token: operator });
      assert.equal(forbidden.status, 403, forbidden.raw);
      const elsewhere = await t.call('GET', '/v1/orgs/other/continuity', { token: acme.token });
      assert.equal(elsewhere.status, 404, elsewhere.raw);
    });

    it('serves the AsyncAPI document of the device protocol as JSON', async () => {
      const doc = await t.call('GET', '/asyncapi.json', { token: null });
      assert.equal(doc.status, 200, doc.raw);
      assert.match(doc.body.asyncapi, /^3\./);
      assert.ok(Object.keys(doc.body.channels).length > 0);
    });
  });
}
