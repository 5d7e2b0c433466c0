import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { verifyPack } from '../evidence/manifest.js';
import { plugCapabilities } from '../test-support/app.js';
import { type ConsoleHarness, consoleSkip, startConsole } from '../test-support/console.js';
import { createRelease, initRepository, makerKeys } from '../test-support/updates.js';

/**
 * A product's Evidence page in Chromium (issue 21 §2): the ETSI EN 303 645 and CRA Annex I tables,
 * the carrier filter, the product and release pack downloads (verified with the pack's own
 * verifier against the service's deposit key), German, 360 px, axe.
 */
describe('the Evidence page of a product in Chromium', { skip: consoleSkip }, () => {
  let h: ConsoleHarness;
  let productId: string;

  before(async () => {
    h = await startConsole('sqlite');
    await h.t.org('acme');
    const product = await h.t.call('POST', '/v1/orgs/acme/products', {
      body: {
        modelNumber: 'PLUG-1',
        name: 'Smart Plug',
        hardwareRevision: 'A',
        supportEnds: '2031-12-31',
        capabilities: plugCapabilities,
      },
    });
    assert.equal(product.status, 201, product.raw);
    productId = product.body.id;
    await initRepository(h.t, 'acme', makerKeys());
    await createRelease(h.t, 'acme', productId, Buffer.from('image 1.0.0'), { version: '1.0.0' });
  });
  after(async () => {
    await h?.close();
  });

  it('shows both tables, filters by carrier, and downloads packs that verify', async () => {
    const auditor = await h.person('acme', ['auditor']);
    const page = await h.page();
    await h.signIn(page, auditor);
    await page.goto('/products');
    await page.getByRole('link', { name: 'Evidence of Smart Plug' }).click();
    await page.waitForSelector('h1:has-text("Evidence: Smart Plug (PLUG-1)")');
    await page.waitForSelector('h2:has-text("CRA Annex I")');
    const etsi = page.locator('section[aria-label="ETSI EN 303 645 V2.1.1"] tbody tr');
    const all = await etsi.count();
    assert.ok(all > 60, `${all} ETSI provisions`);
    assert.match((await page.textContent('main')) ?? '', /5\.1-1/);
    assert.deepEqual(await h.axe(page), [], 'the evidence page');
    await h.screenshot(page, 'product-evidence');

    await page.selectOption('#evidence-carrier', 'maker');
    const makers = await etsi.count();
    assert.ok(makers > 0 && makers < all, `${makers} of ${all}`);
    const badges = await page
      .locator('section[aria-label="ETSI EN 303 645 V2.1.1"] tbody .badge')
      .allTextContents();
    assert.ok(
      badges.every((b) => b === 'maker'),
      badges.join(', '),
    );
    await page.selectOption('#evidence-carrier', 'brickless');
    const backend = await page
      .locator('section[aria-label="ETSI EN 303 645 V2.1.1"] tbody .badge')
      .allTextContents();
    assert.ok(backend.length > 0 && backend.every((b) => b === 'brickless'), backend.join(', '));
    assert.deepEqual(await h.axe(page), [], 'filtered');

    const [product] = await Promise.all([
      page.waitForEvent('download'),
      page.getByRole('link', { name: 'Download the pack of the product' }).click(),
    ]);
    assert.match(product.suggestedFilename(), /^evidence-PLUG-1-.*\.zip$/);
    // The page shows the organisation's evidence key; that key is what a verifier pins.
    await page.waitForSelector('#evidence-key');
    const key = ((await page.textContent('#evidence-key')) ?? '').trim();
    assert.equal(key, (await h.t.call('GET', '/v1/orgs/acme/evidence/key')).body.publicKey);
    const productPack = verifyPack(readFileSync((await product.path()) as string), key);
    assert.deepEqual(productPack.problems, []);
    assert.equal(productPack.ok, true);

    await page.selectOption('#evidence-release', { label: '1.0.0' });
    const [release] = await Promise.all([
      page.waitForEvent('download'),
      page.getByRole('link', { name: 'Download the pack of this release' }).click(),
    ]);
    assert.match(release.suggestedFilename(), /^evidence-PLUG-1-1\.0\.0-.*\.zip$/);
    const releasePack = verifyPack(readFileSync((await release.path()) as string), key);
    assert.equal(releasePack.ok, true, releasePack.problems.join('\n'));
    assert.equal(releasePack.manifest?.release?.version, '1.0.0');
    assert.deepEqual(h.problems, []);
  });

  it('says what is missing to a role without audit:read', async () => {
    const operator = await h.person('acme', ['operator']);
    const page = await h.page();
    await h.signIn(page, operator);
    await page.goto(`/products/${productId}/evidence`);
    await page.waitForSelector('text=needs the audit:read permission');
    assert.equal(await page.locator('a:has-text("Download the pack")').count(), 0);
    assert.deepEqual(h.problems, []);
  });

  it('speaks German and fits 360 px without sideways scrolling', async () => {
    const auditor = await h.person('acme', ['auditor']);
    const page = await h.page({ width: 360, height: 740, locale: 'de-DE' });
    await h.signIn(page, auditor);
    await page.goto(`/products/${productId}/evidence`);
    await page.waitForSelector('h1:has-text("Nachweise: Smart Plug (PLUG-1)")');
    await page.waitForSelector('h2:has-text("CRA Anhang I")');
    await page.waitForLoadState('networkidle');
    assert.match((await page.textContent('main')) ?? '', /Paket des Produkts herunterladen/);
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    const wide = await page.evaluate(() =>
      [...document.querySelectorAll('body *')]
        .filter((e) => e.getBoundingClientRect().right > window.innerWidth + 1)
        .slice(0, 8)
        .map((e) => `${e.tagName}.${e.className} ${Math.round(e.getBoundingClientRect().right)}`),
    );
    assert.ok(overflow <= 0, `${overflow} px sideways ${wide.join(' | ')}`);
    assert.deepEqual(await h.axe(page), [], 'German, 360 px');
    assert.deepEqual(h.problems, []);
  });
});
