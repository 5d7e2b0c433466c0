import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { testDialects } from '../../store/test-helper.js';
import { type TestApp, testApp } from '../../test-support/app.js';
import { createRelease, initRepository, makerKeys } from '../../test-support/updates.js';

const fixture = new URL('../fixtures/firmware-1.2.0.cdx.json', import.meta.url);

for (const dialect of testDialects) {
  describe(`an SBOM is kept byte for byte, so its hash is the maker's file's (${dialect})`, () => {
    let t: TestApp;
    let releaseId: string;
    before(async () => {
      t = await testApp(dialect);
      await t.org('acme');
      const product = await t.call('POST', '/v1/orgs/acme/products', {
        body: { modelNumber: 'PLUG-1', name: 'Plug', hardwareRevision: 'A', supportEnds: '2031-12-31' },
      });
      await initRepository(t, 'acme', makerKeys());
      releaseId = await createRelease(t, 'acme', product.body.id, Buffer.from('image'), { version: '1.2.0' });
    });
    after(async () => t?.close());

    it('a pretty-printed file keeps its own hash (release sign --file compares it)', async () => {
      const text = readFileSync(fixture, 'utf8');
      assert.notEqual(text, JSON.stringify(JSON.parse(text)), 'the fixture is pretty-printed');
      const imported = await t.call('PUT', `/v1/orgs/acme/releases/${releaseId}/sbom`, { body: text });
      assert.equal(imported.status, 201, imported.raw);
      const sha256 = createHash('sha256').update(text).digest('hex');
      const release = await t.call('GET', `/v1/orgs/acme/releases/${releaseId}`);
      assert.equal(release.body.sbomSha256, sha256);
      const stored = await t.call('GET', `/v1/orgs/acme/artifacts/${sha256}`);
      assert.equal(stored.raw, text, 'the stored document is the file, byte for byte');
    });
  });
}
