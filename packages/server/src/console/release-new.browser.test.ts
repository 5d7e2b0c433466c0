import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { type ConsoleHarness, consoleSkip, startConsole } from '../test-support/console.js';

const SBOM = fileURLToPath(
  new URL('../../../../test/data/sbom/cyclonedx-1.4-juice-shop-npm-flat.json', import.meta.url),
);

/**
 * A release from the maker's build outputs, in the console (issue 17: every daily task of the
 * README without the CLI): the image and the SBOM go up as they are, so the release names the
 * files' own hashes, and the SBOM is imported for matching. Signing stays offline.
 */
describe('a new release in the console', { skip: consoleSkip }, () => {
  let h: ConsoleHarness;
  let productId: string;

  before(async () => {
    h = await startConsole('sqlite');
    await h.t.org('acme');
    const product = await h.t.call('POST', '/v1/orgs/acme/products', {
      body: {
        modelNumber: 'PLUG-1',
        name: 'Smart Plug',
        hardwareRevision: 'rev-b',
        supportEnds: '2031-12-31',
      },
    });
    assert.equal(product.status, 201, product.raw);
    productId = product.body.id;
  });
  after(async () => {
    await h?.close();
  });

  it('uploads the image and the SBOM byte for byte, creates the release and says how to sign it', async () => {
    const manager = await h.person('acme', ['release-manager'], 'rita');
    const page = await h.page();
    await h.signIn(page, manager);
    await page.goto('/releases/new');
    await page.waitForSelector('#release-product option:nth-child(2)', { state: 'attached' });
    assert.deepEqual(await h.axe(page), [], 'the empty form');
    await page.selectOption('#release-product', productId);
    await page.fill('#release-version', '1.1.0');
    await page.fill('#release-security-version', '4');
    const image = Buffer.from('firmware image bytes '.repeat(5000));
    // Without an image the form says so at the field.
    await page.press('#release-version', 'Enter');
    await page.waitForSelector('#release-image-error');
    await h.focused(page, { id: 'release-image' }, 'the field in error takes the focus');
    assert.deepEqual(await h.axe(page), [], 'the form with a missing file');
    await page.setInputFiles('#release-image', {
      name: 'firmware-1.1.0.bin',
      mimeType: 'application/octet-stream',
      buffer: image,
    });
    await page.setInputFiles('#release-sbom', SBOM);
    await page.click('button[type=submit]');
    await page.waitForSelector('.notice:has-text("Release 1.1.0 created")');
    assert.match((await page.textContent('.notice')) ?? '', /SBOM imported: \d+ components/);
    assert.match(
      (await page.textContent('pre')) ?? '',
      /brickless --org acme release sign --key targets.key --file firmware-1.1.0.bin --file cyclonedx/,
    );
    assert.deepEqual(await h.axe(page), [], 'the created release');
    await h.screenshot(page, 'release-new');

    const listed = await h.t.call('GET', '/v1/orgs/acme/releases');
    const release = listed.body.items.find((r: { version: string }) => r.version === '1.1.0');
    assert.ok(release, listed.raw);
    assert.equal(release.sha256, createHash('sha256').update(image).digest('hex'));
    assert.equal(
      release.sbomSha256,
      createHash('sha256').update(readFileSync(SBOM)).digest('hex'),
      'the SBOM as written',
    );
    const components = await h.t.call('GET', `/v1/orgs/acme/releases/${release.id}/sbom/components`);
    assert.equal(components.status, 200, components.raw);
    assert.deepEqual(h.problems, []);
  });

  it('tells an operator that releases are the release manager’s', async () => {
    const operator = await h.person('acme', ['operator']);
    const page = await h.page({ locale: 'de-DE' });
    await h.signIn(page, operator);
    await page.goto('/releases/new');
    await page.waitForSelector('h1:has-text("Neues Release")');
    assert.match((await page.textContent('main .alert')) ?? '', /Release-Manager und Admin/);
    assert.deepEqual(await h.axe(page), []);
  });
});
