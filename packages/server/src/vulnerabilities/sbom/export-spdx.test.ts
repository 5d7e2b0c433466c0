import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import type { Organization } from '../../fleet/organizations.js';
import type { Release } from '../../updates/releases.js';
import { exportSpdx } from './export-spdx.js';
import { parseSbom } from './parse.js';
import type { Sbom } from './service.js';

const here = new URL('../../../../../test/data/sbom/', import.meta.url);
const org = { id: 'org_1', slug: 'acme', name: 'ACME GmbH' } as Organization;
const release = { id: 'rel_1', version: '1.2.0', sha256: 'AB'.repeat(32) } as Release;
const sbom = { format: 'cyclonedx', specVersion: '1.5', documentSha256: 'cd'.repeat(32) } as Sbom;

async function exported(file: string) {
  const parsed = await parseSbom(JSON.parse(readFileSync(new URL(file, here), 'utf8')));
  const components = parsed.components.map((c, index) => ({ ...c, index }));
  const doc = exportSpdx({
    sbom,
    components,
    release,
    product: { name: 'Plug', modelNumber: 'PLUG-1' },
    org,
    now: new Date('2026-12-07T05:00:00.123Z'),
  });
  return { parsed, components, doc };
}

describe('SPDX 2.3 export', () => {
  for (const file of [
    'cyclonedx-1.5-debian-12-dpkg.json',
    'cyclonedx-1.4-juice-shop-npm-flat.json',
    'spdx-2.3-SPDXJSONExample-v2.3.spdx.json',
  ])
    it(`round-trips ${file}: the same components and purls`, async () => {
      const { parsed, doc } = await exported(file);
      const again = await parseSbom(doc);
      assert.equal(again.format, 'spdx');
      // The export adds one package: the release it describes.
      const back = again.components.filter((c) => c.bomRef !== 'SPDXRef-Release');
      assert.equal(back.length, parsed.components.length);
      assert.ok(back.length > 0);
      assert.deepEqual(
        back.map((c) => c.purl),
        parsed.components.map((c) => c.purl),
      );
      assert.deepEqual(
        back.map((c) => [c.name, c.version, c.cpe, c.supplier]),
        parsed.components.map((c) => [c.name, c.version, c.cpe, c.supplier]),
      );
    });

  it('holds the SPDX 2.3 essentials', async () => {
    const { doc, components } = await exported('cyclonedx-1.5-debian-12-dpkg.json');
    assert.equal(doc.spdxVersion, 'SPDX-2.3');
    assert.equal(doc.dataLicense, 'CC0-1.0');
    assert.equal(doc.SPDXID, 'SPDXRef-DOCUMENT');
    assert.match(String(doc.documentNamespace), /^https:\/\/[^#]+$/);
    const info = doc.creationInfo as { created: string; creators: string[] };
    assert.equal(info.created, '2026-12-07T05:00:00Z');
    assert.ok(info.creators.every((c) => /^(Organization|Person|Tool): \S/.test(c)));
    const packages = doc.packages as Array<Record<string, unknown>>;
    assert.equal(packages.length, components.length + 1);
    const ids = new Set<string>();
    for (const p of packages) {
      assert.match(String(p.SPDXID), /^SPDXRef-[A-Za-z0-9.-]+$/);
      assert.ok(!ids.has(String(p.SPDXID)), 'SPDXIDs are unique');
      ids.add(String(p.SPDXID));
      assert.equal(p.downloadLocation, 'NOASSERTION');
      assert.equal(typeof p.name, 'string');
      for (const c of (p.checksums as Array<{ algorithm: string; checksumValue: string }>) ?? [])
        assert.match(c.checksumValue, /^[0-9a-f]+$/);
    }
    const relationships = doc.relationships as Array<Record<string, string>>;
    assert.deepEqual(relationships[0], {
      spdxElementId: 'SPDXRef-DOCUMENT',
      relationshipType: 'DESCRIBES',
      relatedSpdxElement: 'SPDXRef-Release',
    });
    for (const r of relationships)
      assert.ok(ids.has(String(r.relatedSpdxElement)), `${r.relatedSpdxElement} is a package`);
    const withPurl = packages.filter((p) => p.externalRefs);
    assert.ok(withPurl.length > 0);
    assert.equal(packages[0]?.primaryPackagePurpose, 'FIRMWARE');
    assert.equal(
      (packages[0]?.checksums as Array<{ checksumValue: string }> | undefined)?.[0]?.checksumValue,
      'ab'.repeat(32),
    );
  });

  it('gives every export its own namespace', async () => {
    const a = await exported('cyclonedx-1.4-juice-shop-npm-flat.json');
    const b = await exported('cyclonedx-1.4-juice-shop-npm-flat.json');
    assert.notEqual(a.doc.documentNamespace, b.doc.documentNamespace);
  });
});
