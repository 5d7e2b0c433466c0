import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { PLATFORM_CHAIN } from '../audit/service.js';
import { testDialects } from '../store/test-helper.js';
import { plugCapabilities, type TestApp, testApp } from '../test-support/app.js';
import { createRelease, initRepository, makerKeys, signTargets } from '../test-support/updates.js';

const data = join(dirname(fileURLToPath(import.meta.url)), '../../../../test/data');
const doc = (name: string) => ({ name, content: JSON.parse(readFileSync(join(data, name), 'utf8')) });

/** golang.org/x/net 0.16.0: GHSA-4374-p667-p6c8 (CVE-2023-39325) and CVE-2023-44487, which KEV lists. */
const sbom = {
  bomFormat: 'CycloneDX',
  specVersion: '1.5',
  version: 1,
  metadata: { component: { type: 'firmware', name: 'plug-firmware', version: '1.0.0' } },
  components: [
    { type: 'library', name: 'golang.org/x/net', version: 'v0.16.0', purl: 'pkg:golang/golang.org/x/net' },
  ],
};

for (const dialect of testDialects) {
  describe(`fleet overview and the exposed filter over the API (${dialect})`, () => {
    let t: TestApp;
    let acme: { id: string; slug: string; token: string };
    let globex: { id: string; slug: string; token: string };
    const ids: Record<string, string> = {};
    const device: Record<string, string> = {};

    before(async () => {
      t = await testApp(dialect, { clock: undefined });
      acme = await t.org('acme');
      globex = await t.org('globex');
      const product = await t.call('POST', '/v1/orgs/acme/products', {
        body: {
          modelNumber: 'PLUG-1',
          name: 'Smart Plug',
          hardwareRevision: 'A',
          supportEnds: '2031-12-31',
          capabilities: plugCapabilities,
        },
      });
      assert.equal(product.status, 201, product.raw);
      ids.product = product.body.id;
      const keys = makerKeys();
      await initRepository(t, 'acme', keys);
      for (const version of ['1.0.0', '1.1.0'])
        ids[version] = await createRelease(t, 'acme', ids.product as string, Buffer.from(`plug ${version}`), {
          version,
          kind: version === '1.1.0' ? 'security' : 'feature',
          securityVersion: 1,
        });
      await signTargets(t, 'acme', [keys.targets[0] as never]);
      // 3 devices on 1.0.0 (exposed), 2 on 1.1.0 (no SBOM, no match), 1 that never said.
      for (const [serial, firmwareVersion] of [
        ['P-1', '1.0.0'],
        ['P-2', '1.0.0'],
        ['P-3', '1.0.0'],
        ['Q-1', '1.1.0'],
        ['Q-2', '1.1.0'],
        ['R-1', null],
      ] as const) {
        const d = await t.call('POST', '/v1/orgs/acme/devices', {
          body: { productId: ids.product, serial, firmwareVersion },
        });
        assert.equal(d.status, 201, d.raw);
        device[serial] = d.body.id;
      }
      // Presence belongs to the gateway: two devices hold a connection, one was seen before.
      await t.app.services.store.db
        .updateTable('devices')
        .set({ online: 1, last_seen_at: '2026-01-01T00:00:00.000Z' })
        .where('id', 'in', [device['P-1'] as string, device['Q-1'] as string])
        .execute();
      await t.app.services.store.db
        .updateTable('devices')
        .set({ last_seen_at: '2026-01-01T00:00:00.000Z' })
        .where('id', '=', device['P-2'] as string)
        .execute();
      const put = await t.call('PUT', `/v1/orgs/acme/releases/${ids['1.0.0']}/sbom`, { body: sbom });
      assert.equal(put.status, 201, put.raw);
      const imported = await t.call('POST', '/v1/platform/vulnerabilities/import', {
        body: {
          documents: [
            doc('osv/GO-2023-2102.json'),
            doc('osv/GHSA-4374-p667-p6c8.json'),
            doc('kev/known_exploited_vulnerabilities.json'),
          ],
        },
      });
      assert.equal(imported.status, 200, imported.raw);
      // globex has one device of its own, offline.
      const other = await t.call('POST', '/v1/orgs/globex/products', {
        body: { modelNumber: 'G-1', name: 'Globex Lamp', hardwareRevision: 'A', supportEnds: '2031-12-31' },
      });
      assert.equal(other.status, 201, other.raw);
      const g = await t.call('POST', '/v1/orgs/globex/devices', {
        body: { productId: other.body.id, serial: 'G-1', firmwareVersion: '1.0.0' },
      });
      assert.equal(g.status, 201, g.raw);
    });
    after(async () => t.close());

    it('counts devices online and offline and the versions in the field', async () => {
      const res = await t.call('GET', '/v1/orgs/acme/overview', { token: acme.token });
      assert.equal(res.status, 200, res.raw);
      assert.deepEqual(res.body.devices, { total: 6, online: 2, offline: 4, neverSeen: 3 });
      assert.equal(res.body.versions.distinct, 3);
      assert.deepEqual(
        res.body.versions.items.map(
          (v: { firmwareVersion: string | null; devices: number; online: number }) => [
            v.firmwareVersion,
            v.devices,
            v.online,
          ],
        ),
        [
          ['1.0.0', 3, 1],
          ['1.1.0', 2, 1],
          [null, 1, 0],
        ],
      );
      assert.equal(res.body.versions.items[0].productName, 'Smart Plug');
    });

    it('counts open exposures by severity and KEV, and the devices exposed', async () => {
      const res = await t.call('GET', '/v1/orgs/acme/overview');
      const { exposures } = res.body;
      const list = await t.call('GET', '/v1/orgs/acme/vulnerabilities');
      assert.equal(list.status, 200, list.raw);
      assert.ok(exposures.open >= 2, JSON.stringify(exposures));
      assert.equal(exposures.open, list.body.items.length, 'the same open set as the vulnerability list');
      assert.ok(exposures.knownExploited >= 1, 'CVE-2023-44487 is in KEV');
      const severities = Object.values(exposures.bySeverity as Record<string, number>);
      assert.equal(
        severities.reduce((a, b) => a + b, 0),
        exposures.open,
      );
      assert.equal(exposures.devicesExposed, 3);
      // KEV listing a CVE that matches a release opens an Art. 14 case, whose clocks show.
      const cases = await t.call('GET', '/v1/orgs/acme/report-cases?status=open');
      assert.equal(cases.status, 200, cases.raw);
      const open = Array.isArray(cases.body) ? cases.body : cases.body.items;
      assert.equal(res.body.reports.open, open.length);
      assert.ok(res.body.reports.open >= 1);
      assert.ok(res.body.reports.items[0].dueAt, 'the next deadline of the soonest case');
      assert.deepEqual(res.body.rollouts, { inProgress: 0, items: [] });
    });

    it('filters devices by exposure, with the other filters and paging', async () => {
      const exposed = await t.call('GET', '/v1/orgs/acme/devices?exposed=true');
      assert.equal(exposed.status, 200, exposed.raw);
      assert.deepEqual(exposed.body.items.map((d: { serial: string }) => d.serial).sort(), [
        'P-1',
        'P-2',
        'P-3',
      ]);
      const notExposed = await t.call('GET', '/v1/orgs/acme/devices?exposed=false');
      assert.deepEqual(notExposed.body.items.map((d: { serial: string }) => d.serial).sort(), [
        'Q-1',
        'Q-2',
        'R-1',
      ]);
      const offlineExposed = await t.call('GET', '/v1/orgs/acme/devices?exposed=true&online=false&limit=1');
      assert.equal(offlineExposed.body.items.length, 1);
      assert.ok(offlineExposed.body.nextCursor);
      const second = await t.call(
        'GET',
        `/v1/orgs/acme/devices?exposed=true&online=false&limit=1&cursor=${offlineExposed.body.nextCursor}`,
      );
      assert.deepEqual(
        [...offlineExposed.body.items, ...second.body.items].map((d: { serial: string }) => d.serial).sort(),
        ['P-2', 'P-3'],
      );
      assert.equal(second.body.nextCursor, null);
      const prefix = await t.call('GET', '/v1/orgs/acme/devices?exposed=true&q=P-3');
      assert.deepEqual(
        prefix.body.items.map((d: { serial: string }) => d.serial),
        ['P-3'],
      );
      const bad = await t.call('GET', '/v1/orgs/acme/devices?exposed=maybe');
      assert.equal(bad.status, 400, bad.raw);
    });

    it('closes the exposure when triage says the product is not affected', async () => {
      const open = (await t.call('GET', '/v1/orgs/acme/vulnerabilities')).body.items as Array<{ id: string }>;
      for (const v of open) {
        const decided = await t.call('POST', `/v1/orgs/acme/vulnerabilities/${v.id}/decisions`, {
          body: {
            productId: ids.product,
            status: 'not_affected',
            justification: 'vulnerable_code_not_in_execute_path',
          },
        });
        assert.equal(decided.status, 201, decided.raw);
      }
      const res = await t.call('GET', '/v1/orgs/acme/overview');
      assert.equal(res.body.exposures.open, 0);
      assert.equal(res.body.exposures.devicesExposed, 0);
      const exposed = await t.call('GET', '/v1/orgs/acme/devices?exposed=true');
      assert.deepEqual(exposed.body, { items: [], nextCursor: null });
      assert.equal((await t.call('GET', '/v1/orgs/acme/devices?exposed=false')).body.items.length, 6);
    });

    it('shows the last escrow deposit by id and time only, and the last drill recorded', async () => {
      const before = await t.call('GET', '/v1/orgs/acme/overview');
      assert.deepEqual(before.body.continuity, {
        lastDeposit: null,
        lastRefusedDeposit: null,
        lastDrill: null,
      });
      const { db } = t.app.services.store;
      await db.transaction().execute((trx) =>
        t.app.services.audit.append(trx, PLATFORM_CHAIN, {
          actor: 'system:escrow-schedule',
          action: 'escrow.deposit',
          targetType: 'escrow-deposit',
          targetId: 'dep-0001',
          details: { out: '/secret/path', recipients: ['age1secret'], rows: 10, newBytes: 100 },
        }),
      );
      const after = await t.call('GET', '/v1/orgs/acme/overview');
      assert.equal(after.body.continuity.lastDeposit.id, 'dep-0001');
      assert.match(after.body.continuity.lastDeposit.at, /^\d{4}-\d\d-\d\dT/);
      assert.doesNotMatch(after.raw, /secret/, 'where the deposit went is not shown to organisations');
      assert.equal(after.body.continuity.lastDrill, null);
      // Like the audit log: an operator's overview carries no platform deposits or drills.
      const operatorToken = await t.call('POST', '/v1/orgs/acme/tokens', {
        body: { name: 'op', role: 'operator' },
      });
      const asOperator = await t.call('GET', '/v1/orgs/acme/overview', { token: operatorToken.body.token });
      assert.equal(asOperator.status, 200, asOperator.raw);
      assert.equal(asOperator.body.continuity, null);
      await db.transaction().execute((trx) =>
        t.app.services.audit.append(trx, PLATFORM_CHAIN, {
          actor: 'system:escrow-drill',
          action: 'escrow.drill',
          targetType: 'escrow-drill',
          targetId: 'drill',
          details: { ok: true, seconds: 42 },
        }),
      );
      const drilled = await t.call('GET', '/v1/orgs/acme/overview');
      assert.equal(drilled.body.continuity.lastDrill.ok, true);
      assert.match(drilled.body.continuity.lastDrill.at, /^\d{4}-\d\d-\d\dT/);
    });

    it('keeps each organisation to its own fleet', async () => {
      const mine = await t.call('GET', '/v1/orgs/globex/overview', { token: globex.token });
      assert.equal(mine.status, 200, mine.raw);
      assert.deepEqual(mine.body.devices, { total: 1, online: 0, offline: 1, neverSeen: 1 });
      assert.equal(mine.body.exposures.open, 0);
      assert.equal(mine.body.reports.open, 0);
      assert.equal(mine.body.versions.items[0].productName, 'Globex Lamp');
      for (const [token, org] of [
        [globex.token, 'acme'],
        [acme.token, 'globex'],
      ] as const) {
        const denied = await t.call('GET', `/v1/orgs/${org}/overview`, { token });
        assert.ok([403, 404].includes(denied.status), `${denied.status} ${denied.raw}`);
        const devices = await t.call('GET', `/v1/orgs/${org}/devices?exposed=false`, { token });
        assert.ok([403, 404].includes(devices.status), devices.raw);
      }
      const globexExposed = await t.call('GET', '/v1/orgs/globex/devices?exposed=false', {
        token: globex.token,
      });
      assert.deepEqual(
        globexExposed.body.items.map((d: { serial: string }) => d.serial),
        ['G-1'],
      );
      const auditor = await t.org('initech', 'auditor');
      const read = await t.call('GET', '/v1/orgs/initech/overview', { token: auditor.token });
      assert.equal(read.status, 200, read.raw);
      assert.equal(read.body.devices.total, 0);
    });
  });
}
