import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { ManualClock } from '../clock.js';
import { testDialects } from '../store/test-helper.js';
import { plugCapabilities, type TestApp, testApp } from '../test-support/app.js';
import { createRelease, initRepository, makerKeys, signTargets } from '../test-support/updates.js';
import { refreshAllCoverage } from '../vulnerabilities/jobs.js';
import { writeSnapshots } from './snapshots.js';

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

const DAY = 86_400_000;

for (const dialect of testDialects) {
  describe(`patch and support metrics over time (${dialect})`, () => {
    let t: TestApp;
    const clock = new ManualClock('2026-03-01T12:00:00.000Z');
    let globexToken: string;
    const ids: Record<string, string> = {};
    const device: Record<string, string> = {};
    let fixPublishedAt: string;
    const keys = makerKeys();

    const metrics = (path: string, token?: string) => t.call('GET', path, token ? { token } : {});

    before(async () => {
      t = await testApp(dialect, { clock });
      await t.org('acme');
      globexToken = (await t.org('globex')).token;
      const brand = await t.call('POST', '/v1/orgs/acme/brands', {
        body: {
          name: 'Acme Home',
          responsibleParty: 'Acme GmbH',
          securityContact: 'mailto:psirt@acme.example',
        },
      });
      assert.equal(brand.status, 201, brand.raw);
      ids.brand = brand.body.id;
      const product = await t.call('POST', '/v1/orgs/acme/products', {
        body: {
          modelNumber: 'PLUG-1',
          name: 'Smart Plug',
          hardwareRevision: 'A',
          supportEnds: '2031-12-31',
          brandIds: [ids.brand],
          capabilities: plugCapabilities,
        },
      });
      assert.equal(product.status, 201, product.raw);
      ids.product = product.body.id;
      await initRepository(t, 'acme', keys);
      for (const version of ['0.9.0', '1.0.0'])
        ids[version] = await createRelease(t, 'acme', ids.product as string, Buffer.from(`plug ${version}`), {
          version,
        });
      await signTargets(t, 'acme', [keys.targets[0] as never]);
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
      // Three brand devices on the exposed 1.0.0, one on 0.9.0 (no SBOM, nothing matched), one silent.
      for (const [serial, firmwareVersion, brandId] of [
        ['P-1', '1.0.0', ids.brand],
        ['P-2', '1.0.0', ids.brand],
        ['P-3', '1.0.0', ids.brand],
        ['O-1', '0.9.0', null],
        ['N-1', null, null],
      ] as const) {
        const d = await t.call('POST', '/v1/orgs/acme/devices', {
          body: { productId: ids.product, serial, firmwareVersion, brandId },
        });
        assert.equal(d.status, 201, d.raw);
        device[serial] = d.body.id;
      }
      // globex has a product of its own that must never show up in acme's figures.
      const other = await t.call('POST', '/v1/orgs/globex/products', {
        body: { modelNumber: 'G-1', name: 'Globex Lamp', hardwareRevision: 'A', supportEnds: '2031-12-31' },
        token: globexToken,
      });
      assert.equal(other.status, 201, other.raw);
      ids.globexProduct = other.body.id;
    });
    after(async () => t.close());

    it('records day one: devices exposed to KEV, none on a security release', async () => {
      assert.ok((await writeSnapshots(t.app.services)) >= 3);
      const res = await metrics(`/v1/orgs/acme/products/${ids.product}/metrics`);
      assert.equal(res.status, 200, res.raw);
      assert.deepEqual(
        [res.body.now.devices, res.body.now.supported, res.body.now.newestSecurity, res.body.now.kevExposed],
        [5, 1, 0, 3],
      );
      assert.equal(res.body.products[0].newestSecurityRelease, null);
      assert.equal(res.body.series.length, 1, 'today: the live point replaces the snapshot');
      assert.equal(res.body.series[0].source, 'live');
      assert.ok(res.body.rules.supported.includes('high or critical'));
    });

    it('follows the fixing security release and the devices moving to it', async () => {
      clock.advance(DAY);
      ids['1.1.0'] = await createRelease(t, 'acme', ids.product as string, Buffer.from('plug 1.1.0'), {
        version: '1.1.0',
        kind: 'security',
      });
      await signTargets(t, 'acme', [keys.targets[0] as never]);
      const list = await t.call('GET', '/v1/orgs/acme/vulnerabilities');
      assert.equal(list.status, 200, list.raw);
      for (const v of list.body.items as Array<{ id: string }>) {
        const fixed = await t.call('POST', `/v1/orgs/acme/vulnerabilities/${v.id}/decisions`, {
          body: { productId: ids.product, status: 'fixed', fixedReleaseId: ids['1.1.0'] },
        });
        assert.equal(fixed.status, 201, fixed.raw);
      }
      const release = await t.call('GET', `/v1/orgs/acme/releases/${ids['1.1.0']}`);
      fixPublishedAt = release.body.publishedAt;
      assert.ok(fixPublishedAt, release.raw);
      await writeSnapshots(t.app.services);
      // Two days later two devices run the fix, two days after that the third.
      clock.advance(2 * DAY);
      for (const serial of ['P-1', 'P-2'])
        await t.call('PATCH', `/v1/orgs/acme/devices/${device[serial]}`, {
          body: { firmwareVersion: '1.1.0' },
        });
      // What the coverage job of `serve` does every five minutes.
      await refreshAllCoverage(t.app.services);
      await writeSnapshots(t.app.services);
      clock.advance(2 * DAY);
      await t.call('PATCH', `/v1/orgs/acme/devices/${device['P-3']}`, { body: { firmwareVersion: '1.1.0' } });
      await refreshAllCoverage(t.app.services);
      await writeSnapshots(t.app.services);
      clock.advance(DAY);

      const res = await metrics(`/v1/orgs/acme/products/${ids.product}/metrics?from=2026-03-01`);
      assert.equal(res.status, 200, res.raw);
      const points = res.body.series.map(
        (p: {
          at: string;
          supported: number;
          newestSecurity: number;
          kevExposed: number;
          source: string;
        }) => [p.at.slice(0, 10), p.supported, p.newestSecurity, p.kevExposed, p.source],
      );
      assert.deepEqual(points, [
        ['2026-03-01', 1, 0, 3, 'snapshot'],
        ['2026-03-02', 1, 0, 3, 'snapshot'],
        ['2026-03-04', 3, 2, 1, 'snapshot'],
        ['2026-03-06', 4, 3, 0, 'snapshot'],
        ['2026-03-07', 4, 3, 0, 'live'],
      ]);
      assert.equal(res.body.products[0].newestSecurityRelease.version, '1.1.0');
      const timed = Object.values(
        res.body.times as Record<
          string,
          {
            timeToFixDays: { count: number; max: number | null };
            timeTo100CoverageDays: { max: number | null };
            timeTo90CoverageDays: { max: number | null };
          }
        >,
      ).filter((s) => s.timeToFixDays.count > 0);
      assert.ok(timed.length >= 1, JSON.stringify(res.body.times));
      for (const s of timed) {
        assert.equal(s.timeToFixDays.max, 1, 'SBOM matched on day one, fix published on day two');
        // 2 of 3 fixed two days after the fix (67 %), all of them two days later.
        assert.equal(s.timeTo90CoverageDays.max, 4);
        assert.equal(s.timeTo100CoverageDays.max, 4);
      }
    });

    it('buckets by week and month and bounds the number of points', async () => {
      const week = await metrics(`/v1/orgs/acme/products/${ids.product}/metrics?from=2026-03-01&bucket=week`);
      assert.equal(week.status, 200, week.raw);
      // 2026-03-01 is a Sunday: its week began on 23 February; the rest fall in the week of 2 March.
      assert.deepEqual(
        week.body.series.map((p: { bucket: string }) => p.bucket),
        ['2026-02-23', '2026-03-02'],
      );
      const month = await metrics(
        `/v1/orgs/acme/products/${ids.product}/metrics?bucket=month&from=2020-01-01`,
      );
      assert.equal(month.status, 200, month.raw);
      const tooMany = await metrics(`/v1/orgs/acme/products/${ids.product}/metrics?from=2020-01-01`);
      assert.equal(tooMany.status, 400, tooMany.raw);
      const backwards = await metrics(
        `/v1/orgs/acme/products/${ids.product}/metrics?from=2026-03-05&to=2026-03-01`,
      );
      assert.equal(backwards.status, 400, backwards.raw);
      const unknown = await metrics(`/v1/orgs/acme/products/${ids.product}/metrics?bucket=year`);
      assert.equal(unknown.status, 400, unknown.raw);
    });

    it('counts a brand’s devices across its products', async () => {
      const res = await metrics(`/v1/orgs/acme/brands/${ids.brand}/metrics?from=2026-03-01`);
      assert.equal(res.status, 200, res.raw);
      assert.deepEqual(
        [res.body.now.devices, res.body.now.supported, res.body.now.newestSecurity, res.body.now.kevExposed],
        [3, 3, 3, 0],
      );
      assert.equal(res.body.series[0].kevExposed, 3, 'day one, from the snapshot');
      assert.equal(res.body.scope.name, 'Acme Home');
    });

    it('keeps organisations apart', async () => {
      const theirs = await metrics(`/v1/orgs/acme/products/${ids.product}/metrics`, globexToken);
      assert.equal(theirs.status, 404, theirs.raw); // another organisation is not even named
      const crossed = await metrics(`/v1/orgs/globex/products/${ids.product}/metrics`, globexToken);
      assert.equal(crossed.status, 404, crossed.raw);
      const brand = await metrics(`/v1/orgs/globex/brands/${ids.brand}/metrics`, globexToken);
      assert.equal(brand.status, 404, brand.raw);
      const own = await metrics(`/v1/orgs/globex/products/${ids.globexProduct}/metrics`, globexToken);
      assert.equal(own.status, 200, own.raw);
      assert.equal(own.body.now.devices, 0);
    });
  });
}
