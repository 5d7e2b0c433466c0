import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { CapabilityModel } from '@brickless/protocol';
import * as age from 'age-encryption';
import { unzipSync, zipSync } from 'fflate';
import type { Config } from '../config.js';
import type { DrillReport } from '../escrow/drill/run.js';
import { depositFromApp, recordDrill } from '../escrow/service.js';
import { loadDepositKey } from '../escrow/signing.js';
import { verifyPack } from '../evidence/manifest.js';
import { testDialects } from '../store/test-helper.js';
import { plugCapabilities, type TestApp, testApp } from '../test-support/app.js';
import { initRepository, makerKeys } from '../test-support/updates.js';

const HOUR = 3_600_000;
const codes = (body: { warnings: Array<{ code: string }> }) => body.warnings.map((w) => w.code);

const drill: DrillReport = {
  devices: 20,
  source: 'sqlite',
  target: 'postgres',
  deposit: { seconds: 1.2, rows: 4321, megabytes: 3.5 },
  restoreSeconds: 4.5,
  firstReconnectSeconds: 0.8,
  reconnect99Seconds: 2.1,
  served99FromRestoreSeconds: 9.9,
  late: { devices: 2, backSeconds: 3 },
  reconnected: 19,
  reconnectedShare: 0.95,
  devicesLost: 1,
  rowsLost: 0,
  features: [{ name: 'telemetry', ok: true, detail: '' }],
  ok: true,
};

for (const dialect of testDialects) {
  describe(`takeover readiness report (${dialect})`, () => {
    let t: TestApp;
    let work: string;
    let acme: { id: string; token: string };
    let other: { id: string; token: string };
    let operator: string;

    before(async () => {
      work = mkdtempSync(join(tmpdir(), 'brickless-readiness-'));
      t = await testApp(dialect, { masterKeyFile: join(work, 'master.key') });
      acme = await t.org('acme');
      other = await t.org('other');
      const token = await t.call('POST', '/v1/orgs/acme/tokens', { body: { name: 'ops', role: 'operator' } });
      operator = token.body.token;
    });
    after(async () => {
      await t.close();
      rmSync(work, { recursive: true, force: true });
    });

    it('warns about everything missing on a new organisation', async () => {
      const empty = await t.call('GET', '/v1/orgs/acme/continuity/readiness', { token: acme.token });
      assert.equal(empty.status, 200, empty.raw);
      assert.equal(empty.body.format, 'brickless-readiness/1');
      assert.equal(empty.body.recoveryPoint.lastDeposit, null);
      assert.equal(empty.body.drill, null);
      assert.equal(empty.body.updateKeys.escrowHoldsRootShare, false);
      assert.equal(empty.body.devices.share, null);
      assert.deepEqual(codes(empty.body), ['deposit-missing', 'drill-missing', 'escrow-key-missing']);
      assert.ok(
        empty.body.successorNeeds.some((n: string) => /cannot sign updates|update repository/.test(n)),
      );
      assert.equal(empty.body.limits.maxDepositAgeHours, 24);
      assert.equal(empty.body.limits.maxDepositAgeFrom, 'default');
    });

    it('reads a real deposit, the drill, the escrow key in the root and the devices that moved', async () => {
      const recipient = await age.identityToRecipient(await age.generateX25519Identity());
      const config = {
        dataDir: t.database.dataDir,
        database: t.database.url,
        secrets: { masterKeyFile: join(work, 'master.key') },
      } as Config;
      const manifest = await depositFromApp(t.app, config, join(work, 'escrow'), [recipient], 'test:deposit');
      await recordDrill(t.app, drill, 61.5, 'test:drill');
      await initRepository(t, 'acme', makerKeys());
      const product = await t.call('POST', '/v1/orgs/acme/products', {
        body: {
          modelNumber: 'PLUG-1',
          name: 'Smart Plug',
          hardwareRevision: 'A',
          supportEnds: '2031-12-31',
          capabilities: plugCapabilities as unknown as CapabilityModel,
        },
      });
      const ids: string[] = [];
      for (const serial of ['A', 'B', 'C', 'D']) {
        const device = await t.call('POST', '/v1/orgs/acme/devices', {
          body: { productId: product.body.id, serial },
        });
        assert.equal(device.status, 201, device.raw);
        ids.push(device.body.id);
      }
      // Three devices reported acting on an endpoint record (arrived, local, and one that refused).
      const db = t.app.services.store.db;
      const report = async (id: string, status: string) =>
        db
          .updateTable('devices')
          .set({ endpoint_version: 1, endpoint_status: status })
          .where('id', '=', id)
          .execute();
      await report(ids[0] as string, 'arrived');
      await report(ids[1] as string, 'local');
      await report(ids[2] as string, 'refused');

      t.clock.advance(2 * HOUR);
      const ready = await t.call('GET', '/v1/orgs/acme/continuity/readiness', { token: acme.token });
      assert.equal(ready.status, 200, ready.raw);
      const body = ready.body;
      assert.equal(body.recoveryPoint.lastDeposit.depositId, manifest.id);
      assert.equal(body.recoveryPoint.lastDeposit.check, 'verified');
      assert.equal(body.recoveryPoint.lastDeposit.ageHours, 2);
      assert.equal(body.recoveryPoint.lastVerifiedDeposit.depositId, manifest.id);
      assert.equal(body.drill.ok, true);
      assert.equal(body.drill.served99Seconds, 9.9);
      assert.equal(body.drill.movedShare, 0.95);
      assert.equal(body.updateKeys.escrowHoldsRootShare, true);
      assert.equal(body.updateKeys.escrowMeetsRootThreshold, false);
      assert.equal(body.updateKeys.rootThreshold, 2);
      assert.deepEqual(body.devices, { total: 4, canMove: 2, share: 0.5, rule: body.devices.rule });
      assert.match(body.devices.rule, /arrived, moving or local/);
      assert.deepEqual(codes(body), ['devices-cannot-move']);
      assert.ok(body.successorNeeds.some((n: string) => /1 of the 2 root signatures/.test(n)));
      assert.equal(body.parts.customConfig, null);
      assert.ok(body.parts.standard.some((p: { part: string }) => p.part === 'broker'));
    });

    it('warns when the deposit is older than the agreed interval and the drill too old', async () => {
      t.clock.advance(30 * HOUR);
      const old = await t.call('GET', '/v1/orgs/acme/continuity/readiness', { token: acme.token });
      assert.deepEqual(codes(old.body), ['deposit-old', 'deposit-unverified', 'devices-cannot-move']);
      const agreed = await t.call(
        'GET',
        '/v1/orgs/acme/continuity/readiness?maxAgeHours=48&drillMaxAgeDays=1',
        {
          token: acme.token,
        },
      );
      assert.equal(agreed.body.limits.maxDepositAgeFrom, 'option');
      assert.deepEqual(codes(agreed.body), ['drill-old', 'devices-cannot-move']);
      const bad = await t.call('GET', '/v1/orgs/acme/continuity/readiness?maxAgeHours=0', {
        token: acme.token,
      });
      assert.equal(bad.status, 400, bad.raw);
    });

    it('signs the report: it verifies offline with the deposit key, and fails after one changed byte', async () => {
      const signed = await t.app.http.inject({
        method: 'GET',
        url: '/v1/orgs/acme/continuity/readiness/signed',
        headers: { authorization: `Bearer ${acme.token}` },
      });
      assert.equal(signed.statusCode, 200, signed.body);
      assert.equal(signed.headers['content-type'], 'application/zip');
      const archive = signed.rawPayload;
      const key = loadDepositKey(t.database.dataDir, { create: false }).publicKey;
      const checked = verifyPack(archive, key);
      assert.equal(checked.ok, true, checked.problems.join('\n'));
      assert.equal(checked.manifest?.kind, 'takeover-readiness');
      assert.equal(checked.manifest?.product, null);
      const files = unzipSync(archive);
      const report = JSON.parse(Buffer.from(files['readiness.json'] as Uint8Array).toString('utf8'));
      assert.equal(report.organization.slug, 'acme');
      const bytes = files['readiness.json'] as Uint8Array;
      bytes[10] = (bytes[10] as number) ^ 1;
      const changed = verifyPack(Buffer.from(zipSync(files)), key);
      assert.equal(changed.ok, false);
      assert.match(changed.problems.join('\n'), /readiness\.json: its SHA-256 differs/);
    });

    it('records each report, so the history shows the trend, newest first', async () => {
      const history = await t.call('GET', '/v1/orgs/acme/continuity/readiness/history', {
        token: acme.token,
      });
      assert.equal(history.status, 200, history.raw);
      const items = history.body.items;
      assert.equal(items.length, 5);
      assert.deepEqual(items[0].warnings, ['deposit-old', 'deposit-unverified', 'devices-cannot-move']);
      assert.equal(items[0].depositAgeHours, 32);
      assert.equal(items.at(-1).depositAgeHours, null);
      assert.equal(items[0].devicesCanMoveShare, 0.5);
      const limited = await t.call('GET', '/v1/orgs/acme/continuity/readiness/history?limit=2', {
        token: acme.token,
      });
      assert.equal(limited.body.items.length, 2);
    });

    it('needs audit:read, and keeps organisations apart', async () => {
      const forbidden = await t.call('GET', '/v1/orgs/acme/continuity/readiness', { token: operator });
      assert.equal(forbidden.status, 403, forbidden.raw);
      for (const path of ['', '/signed', '/history']) {
        const elsewhere = await t.call('GET', `/v1/orgs/acme/continuity/readiness${path}`, {
          token: other.token,
        });
        assert.equal(elsewhere.status, 404, elsewhere.raw);
      }
      // The other organisation's report counts only its own devices and history.
      const theirs = await t.call('GET', '/v1/orgs/other/continuity/readiness', { token: other.token });
      assert.equal(theirs.body.devices.total, 0);
      assert.equal(theirs.body.updateKeys.escrowHoldsRootShare, false);
      const theirHistory = await t.call('GET', '/v1/orgs/other/continuity/readiness/history', {
        token: other.token,
      });
      assert.equal(theirHistory.body.items.length, 1);
    });
  });
}
