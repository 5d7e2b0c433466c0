import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { writeSnapshots } from '../metrics/snapshots.js';
import { plugCapabilities } from '../test-support/app.js';
import { type ConsoleHarness, consoleSkip, startConsole } from '../test-support/console.js';
import { createRelease, initRepository, makerKeys, signTargets } from '../test-support/updates.js';
import { refreshAllCoverage } from '../vulnerabilities/jobs.js';

const data = join(dirname(fileURLToPath(import.meta.url)), '../../../../test/data');
const doc = (name: string) => ({ name, content: JSON.parse(readFileSync(join(data, name), 'utf8')) });
const DAY = 86_400_000;

/** golang.org/x/net 0.16.0: CVE-2023-39325 and CVE-2023-44487, which KEV lists. */
const sbom = {
  bomFormat: 'CycloneDX',
  specVersion: '1.5',
  version: 1,
  metadata: { component: { type: 'firmware', name: 'plug-firmware', version: '1.0.0' } },
  components: [
    { type: 'library', name: 'golang.org/x/net', version: 'v0.16.0', purl: 'pkg:golang/golang.org/x/net' },
  ],
};

/** The security metrics page of a product in Chromium (issue 21 §4): chart, table, axe, German, 360 px. */
describe('the security metrics page in Chromium', { skip: consoleSkip }, () => {
  let h: ConsoleHarness;
  let productId: string;
  let brandId: string;

  before(async () => {
    // Ten days of history ending now, so the browser's and the server's today agree.
    h = await startConsole('sqlite', { clockNow: new Date(Date.now() - 10 * DAY).toISOString() });
    const t = h.t;
    await t.org('acme');
    const brand = await t.call('POST', '/v1/orgs/acme/brands', {
      body: {
        name: 'Acme Home',
        responsibleParty: 'Acme GmbH',
        securityContact: 'mailto:psirt@acme.example',
      },
    });
    brandId = brand.body.id;
    const product = await t.call('POST', '/v1/orgs/acme/products', {
      body: {
        modelNumber: 'PLUG-1',
        name: 'Smart Plug',
        hardwareRevision: 'A',
        supportEnds: '2031-12-31',
        brandIds: [brandId],
        capabilities: plugCapabilities,
      },
    });
    assert.equal(product.status, 201, product.raw);
    productId = product.body.id;
    const keys = makerKeys();
    await initRepository(t, 'acme', keys);
    const v100 = await createRelease(t, 'acme', productId, Buffer.from('plug 1.0.0'), { version: '1.0.0' });
    await signTargets(t, 'acme', [keys.targets[0] as never]);
    await t.call('PUT', `/v1/orgs/acme/releases/${v100}/sbom`, { body: sbom });
    await t.call('POST', '/v1/platform/vulnerabilities/import', {
      body: {
        documents: [
          doc('osv/GO-2023-2102.json'),
          doc('osv/GHSA-4374-p667-p6c8.json'),
          doc('kev/known_exploited_vulnerabilities.json'),
        ],
      },
    });
    const devices: string[] = [];
    for (let i = 0; i < 4; i++) {
      const d = await t.call('POST', '/v1/orgs/acme/devices', {
        body: { productId, serial: `P-${i}`, firmwareVersion: '1.0.0', brandId },
      });
      devices.push(d.body.id);
    }
    await t.call('GET', `/v1/orgs/acme/products/${productId}/metrics`);
    await writeSnapshots(t.app.services);
    t.clock.advance(2 * DAY);
    const v110 = await createRelease(t, 'acme', productId, Buffer.from('plug 1.1.0'), {
      version: '1.1.0',
      kind: 'security',
    });
    await signTargets(t, 'acme', [keys.targets[0] as never]);
    const list = await t.call('GET', '/v1/orgs/acme/vulnerabilities');
    for (const v of list.body.items as Array<{ id: string }>)
      await t.call('POST', `/v1/orgs/acme/vulnerabilities/${v.id}/decisions`, {
        body: { productId, status: 'fixed', fixedReleaseId: v110 },
      });
    await writeSnapshots(t.app.services);
    // Devices move to the fix over the following days.
    for (const id of devices) {
      t.clock.advance(2 * DAY);
      await t.call('PATCH', `/v1/orgs/acme/devices/${id}`, { body: { firmwareVersion: '1.1.0' } });
      await refreshAllCoverage(t.app.services);
      await writeSnapshots(t.app.services);
    }
  });
  after(async () => {
    await h?.close();
  });

  it('draws the product’s metrics with a table alternative, axe clean, linked from the products list', async () => {
    const viewer = await h.person('acme', ['auditor'], 'vera');
    const page = await h.page();
    await h.signIn(page, viewer);
    await page.goto('/products');
    await page.getByRole('link', { name: 'Security metrics of Smart Plug' }).click();
    await page.waitForSelector('h1:has-text("Security metrics: Smart Plug")');
    await page.waitForSelector('.chart-box canvas');
    assert.match((await page.textContent('dl.facts')) ?? '', /4 of 4/);
    assert.match((await page.textContent('figcaption')) ?? '', /points/);
    await page.getByText('Show the figures as a table').click();
    const rows = await page.locator('.chart-table tbody tr').count();
    assert.ok(rows >= 4, `${rows} rows`);
    assert.match((await page.textContent('body')) ?? '', /Time to fix/);
    assert.deepEqual(await h.axe(page), []);
    await page.selectOption('#metrics-period', 'lastYear');
    await page.waitForSelector('.chart-box canvas');
    await h.screenshot(page, 'product-metrics');
    assert.deepEqual(h.problems, []);
  });

  it('reads in German at 360 px without sideways scrolling, and for a brand', async () => {
    const viewer = await h.person('acme', ['auditor'], 'victor');
    const page = await h.page({ width: 360, height: 740, locale: 'de-DE' });
    await h.signIn(page, viewer);
    await page.goto(`/products/${productId}/metrics`);
    await page.waitForSelector('h1:has-text("Sicherheitskennzahlen")');
    await page.waitForSelector('.chart-box canvas');
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    assert.ok(overflow <= 0, `the page scrolls sideways by ${overflow} px`);
    assert.deepEqual(await h.axe(page), []);
    await page.goto(`/brands/${brandId}/metrics`);
    await page.waitForSelector('h1:has-text("Acme Home")');
    await page.waitForSelector('.chart-box canvas');
    assert.deepEqual(await h.axe(page), []);
    assert.deepEqual(h.problems, []);
  });
});
