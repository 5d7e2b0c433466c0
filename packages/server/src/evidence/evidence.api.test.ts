import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { unzipSync, zipSync } from 'fflate';
import { testDialects } from '../store/test-helper.js';
import { plugCapabilities, type TestApp, testApp } from '../test-support/app.js';
import { createRelease, initRepository, makerKeys, signTargets } from '../test-support/updates.js';
import { signerFor } from '../updates/keys.js';
import { buildRoot } from '../updates/metadata.js';
import { parseSbom } from '../vulnerabilities/sbom/parse.js';
import { craAnnexI, etsiEn303645 } from './etsi-303-645.js';
import { verifyPack } from './manifest.js';

const here = dirname(fileURLToPath(import.meta.url));
const data = join(here, '../../../../test/data');
const read = (path: string): unknown => JSON.parse(readFileSync(join(data, path), 'utf8'));

/** Rebuilds the archive with one entry replaced, as someone editing an unpacked pack would. */
function rezip(archive: Buffer, change: (files: Record<string, Uint8Array>) => void): Buffer {
  const files = unzipSync(archive);
  change(files);
  return Buffer.from(zipSync(files));
}

for (const dialect of testDialects) {
  describe(`evidence pack of a product with real SBOMs and an advisory (${dialect})`, () => {
    let t: TestApp;
    let archive: Buffer;
    let orgKey: string;
    const ids: Record<string, string> = {};

    before(async () => {
      t = await testApp(dialect, { publicUrl: 'https://updates.acme.example' });
      await t.org('acme');
      const brand = await t.call('POST', '/v1/orgs/acme/brands', {
        body: {
          name: 'Acme Home',
          responsibleParty: 'Acme GmbH',
          securityContact: 'mailto:psirt@acme.example',
        },
      });
      const product = await t.call('POST', '/v1/orgs/acme/products', {
        body: {
          modelNumber: 'PLUG-1',
          name: 'Smart <Plug>',
          hardwareRevision: 'A',
          supportEnds: '2031-12-31',
          brandIds: [brand.body.id],
          capabilities: plugCapabilities,
        },
      });
      assert.equal(product.status, 201, product.raw);
      ids.product = product.body.id;
      const keys = makerKeys();
      await initRepository(t, 'acme', keys);
      ids['1.0.0'] = await createRelease(t, 'acme', ids.product as string, Buffer.from('image 1.0.0'), {
        version: '1.0.0',
      });
      ids['1.1.0'] = await createRelease(t, 'acme', ids.product as string, Buffer.from('image 1.1.0'), {
        version: '1.1.0',
        kind: 'security',
      });
      await signTargets(t, 'acme', [keys.targets[0] as never]);
      // A rotation of the online keys: begun, then root 2 naming the new keys.
      const begun = await t.call('POST', '/v1/orgs/acme/updates/online-keys/rotate');
      assert.equal(begun.status, 200, begun.raw);
      ids.newTimestampKey = begun.body.timestamp.keyid;
      const root2 = buildRoot({
        version: 2,
        expires: new Date(Date.now() + 365 * 86_400_000),
        rootKeys: keys.root,
        rootThreshold: 2,
        targetsKeys: keys.targets,
        targetsThreshold: 1,
        escrowKeys: [keys.escrow],
        snapshotKey: begun.body.snapshot,
        timestampKey: begun.body.timestamp,
      });
      for (const key of keys.root) root2.sign(signerFor(key), true);
      const rotated = await t.call('PUT', '/v1/orgs/acme/updates/root', { body: root2.toJSON() });
      assert.equal(rotated.status, 200, rotated.raw);
      const rollout = await t.call('POST', '/v1/orgs/acme/rollouts', {
        body: { releaseId: ids['1.1.0'], selector: { tags: ['night'] } },
      });
      assert.equal(rollout.status, 201, rollout.raw);
      ids.rollout = rollout.body.id;
      // A real Debian 12 image (curl 7.88.1 lies in CVE-2023-38545's NVD range) and a real SPDX SBOM.
      for (const [version, file] of [
        ['1.0.0', 'sbom/cyclonedx-1.5-debian-12-dpkg.json'],
        ['1.1.0', 'sbom/spdx-2.3-spdx-examples-04-SBOMwSecurity.json'],
      ] as const) {
        const sbom = await t.call('PUT', `/v1/orgs/acme/releases/${ids[version]}/sbom`, { body: read(file) });
        assert.equal(sbom.status, 201, sbom.raw);
      }
      for (let i = 0; i < 2; i++) {
        const device = await t.call('POST', '/v1/orgs/acme/devices', {
          body: {
            productId: ids.product,
            serial: `S-${i}`,
            brandId: brand.body.id,
            firmwareVersion: '1.0.0',
          },
        });
        assert.equal(device.status, 201, device.raw);
        ids[`device${i}`] = device.body.id;
      }
      const imported = await t.call('POST', '/v1/platform/vulnerabilities/import', {
        body: { documents: [{ name: 'nvd/CVE-2023-38545.json', content: read('nvd/CVE-2023-38545.json') }] },
      });
      assert.equal(imported.status, 200, imported.raw);
      const fixed = await t.call('POST', '/v1/orgs/acme/vulnerabilities/CVE-2023-38545/decisions', {
        body: { productId: ids.product, status: 'fixed', fixedReleaseId: ids['1.1.0'] },
      });
      assert.equal(fixed.status, 201, fixed.raw);
      await t.call('PUT', '/v1/orgs/acme/security-contact', {
        body: {
          securityContact: 'mailto:psirt@acme.example',
          securityPolicy: 'https://acme.example/security',
        },
      });
      const advisory = await t.call('POST', '/v1/orgs/acme/advisories', {
        body: { vulnerabilities: ['CVE-2023-38545'] },
      });
      assert.equal(advisory.status, 201, advisory.raw);
      const published = await t.call('POST', `/v1/orgs/acme/advisories/${advisory.body.id}/publish`, {
        body: {},
      });
      assert.equal(published.status, 200, published.raw);

      const response = await t.app.http.inject({
        method: 'GET',
        url: `/v1/orgs/acme/products/${ids.product}/evidence`,
        headers: { authorization: `Bearer ${t.rootToken}` },
      });
      assert.equal(response.statusCode, 200, response.body);
      assert.equal(response.headers['content-type'], 'application/zip');
      archive = response.rawPayload;
      const key = await t.call('GET', '/v1/orgs/acme/evidence/key');
      assert.equal(key.status, 200, key.raw);
      orgKey = key.body.publicKey;
    });
    after(async () => t.close());

    it("holds every part, and verifies against the organisation's pinned key", async () => {
      const result = verifyPack(archive, orgKey);
      assert.deepEqual(result.problems, []);
      assert.equal(result.ok, true);
      assert.equal(result.signedBy, orgKey);
      const files = unzipSync(archive);
      const names = Object.keys(files).sort();
      for (const required of [
        'product.json',
        'update-mechanism.json',
        'security-updates.json',
        'metrics.json',
        'cvd.json',
        'report-cases.json',
        'audit-excerpt.json',
        'annex-ii.en.md',
        'annex-ii.de.md',
        'etsi-en-303-645.json',
        'index.html',
        'manifest.json',
        'sboms/1.0.0.cyclonedx-1.6.json',
        'sboms/1.0.0.spdx-2.3.json',
        'sboms/1.1.0.spdx-2.3.json',
        'sboms/1.0.0.uploaded.cyclonedx.json',
        'sboms/1.1.0.uploaded.spdx.json',
      ])
        assert.ok(names.includes(required), `${required} in ${names.join(', ')}`);
      const text = (name: string) => Buffer.from(files[name] as Uint8Array).toString('utf8');
      const json = (name: string) => JSON.parse(text(name));
      assert.equal(json('product.json').supportPeriod.ends, '2031-12-31');
      assert.deepEqual(
        json('sboms/1.0.0.uploaded.cyclonedx.json'),
        read('sbom/cyclonedx-1.5-debian-12-dpkg.json'),
      );
      assert.equal(json('sboms/1.0.0.cyclonedx-1.6.json').specVersion, '1.6');
      // SPDX 2.3 from the stored components: the same components and purls as the upload.
      const spdx = json('sboms/1.0.0.spdx-2.3.json');
      assert.equal(spdx.spdxVersion, 'SPDX-2.3');
      assert.equal(spdx.dataLicense, 'CC0-1.0');
      assert.notEqual(spdx.documentNamespace, json('sboms/1.1.0.spdx-2.3.json').documentNamespace);
      const uploaded = await parseSbom(read('sbom/cyclonedx-1.5-debian-12-dpkg.json'));
      const reparsed = (await parseSbom(spdx)).components.filter((c) => c.bomRef !== 'SPDXRef-Release');
      assert.equal(reparsed.length, uploaded.components.length);
      assert.deepEqual(
        reparsed.map((c) => c.purl),
        uploaded.components.map((c) => c.purl),
      );
      const mechanism = json('update-mechanism.json');
      assert.equal(mechanism.roles.root.rootThreshold, 2);
      assert.equal(mechanism.rootHistory.length, 2);
      assert.deepEqual(
        mechanism.onlineKeyHistory.events.map((e: { event: string }) => e.event),
        ['created', 'rotation begun', 'rotated'],
      );
      const lastRotation = mechanism.onlineKeyHistory.events.at(-1);
      assert.equal(lastRotation.rootVersion, 2);
      assert.ok(lastRotation.keyIds.includes(ids.newTimestampKey), JSON.stringify(lastRotation));
      assert.match(lastRotation.auditHash, /^[0-9a-f]{64}$/);
      // The audit excerpt: product, releases, the rollout, the triage decision and the devices.
      const excerpt = json('audit-excerpt.json');
      const about = (id: string) => excerpt.entries.filter((e: { targetId: string }) => e.targetId === id);
      assert.equal(about(ids.rollout as string)[0]?.action, 'rollout.create');
      assert.equal(about(ids.device0 as string).length > 0, true, 'device entries');
      const triage = excerpt.entries.find((e: { action: string }) => e.action === 'vex.decide');
      assert.equal(triage?.targetId, 'CVE-2023-38545');
      for (const e of excerpt.entries) {
        assert.match(e.hash, /^[0-9a-f]{64}$/);
        assert.equal(typeof e.prevHash, 'string');
      }
      const seqs = excerpt.entries.map((e: { seq: number }) => e.seq);
      assert.deepEqual(
        seqs,
        [...seqs].sort((a: number, b: number) => a - b),
      );
      assert.equal(excerpt.verification.ok, true);
      assert.equal(excerpt.scope.devices.included, 2);
      const curl = json('security-updates.json').vulnerabilities.find(
        (v: { id: string }) => v.id === 'CVE-2023-38545',
      );
      assert.ok(curl, text('security-updates.json'));
      assert.equal(curl.fixedBy.version, '1.1.0');
      assert.deepEqual(curl.affectedReleases, ['1.0.0']);
      assert.equal(curl.coverage.exposedNow, 2, 'both devices still run 1.0.0');
      // The patch metrics (metrics/): both devices on 1.0.0, which carries the open critical curl CVE.
      const metrics = json('metrics.json');
      assert.deepEqual(
        [metrics.now.devices, metrics.now.supported, metrics.now.newestSecurity, metrics.now.kevExposed],
        [2, 0, 0, 0],
      );
      assert.equal(metrics.times.critical.vulnerabilities, 1, text('metrics.json'));
      assert.equal(metrics.times.critical.timeToFixDays.count, 1);
      const cvd = json('cvd.json');
      assert.equal(cvd.securityContact, 'mailto:psirt@acme.example');
      assert.match(cvd.securityTxt, /Contact: mailto:psirt@acme\.example/);
      assert.equal(cvd.advisories.length, 1);
      assert.equal(cvd.advisories[0].concernsProduct, true);
      assert.ok(json('audit-excerpt.json').verification.ok);
      assert.ok(
        json('audit-excerpt.json').entries.some((e: { targetId: string }) => e.targetId === ids.product),
      );
      assert.match(text('annex-ii.en.md'), /2031-12-31/);
      assert.match(text('annex-ii.de.md'), /Unterstützungszeitraum/);
      assert.match(text('annex-ii.en.md'), /Acme GmbH/);
      const index = text('index.html');
      assert.ok(index.includes('Smart &lt;Plug&gt;'), 'the product name is escaped');
      assert.ok(!/<script/i.test(index));
      for (const name of names)
        assert.ok(index.includes(`href="${name}"`) || name.startsWith('sboms/'), name);
    });

    it('names files for every evidence path of the ETSI EN 303 645 and CRA Annex I tables', () => {
      const names = Object.keys(unzipSync(archive));
      for (const provision of [...etsiEn303645, ...craAnnexI]) {
        const path = provision.evidence;
        if (path === null) continue;
        const present = path.endsWith('/') ? names.some((n) => n.startsWith(path)) : names.includes(path);
        assert.ok(present, `${provision.id}: ${path} is not in the pack`);
      }
    });

    it('fails verification after one flipped byte, naming the file', () => {
      const changed = rezip(archive, (files) => {
        const bytes = files['cvd.json'] as Uint8Array;
        bytes[10] = (bytes[10] as number) ^ 1;
      });
      const result = verifyPack(changed, orgKey);
      assert.equal(result.ok, false);
      assert.deepEqual(result.problems, [
        'cvd.json: its SHA-256 differs from the manifest (the file was changed)',
      ]);
    });

    it('fails verification after a changed manifest, an added or removed file, or another key', () => {
      const manifestChanged = rezip(archive, (files) => {
        const manifest = JSON.parse(Buffer.from(files['manifest.json'] as Uint8Array).toString('utf8'));
        manifest.product.name = 'Another product';
        files['manifest.json'] = Buffer.from(JSON.stringify(manifest));
      });
      assert.match(
        verifyPack(manifestChanged, orgKey).problems.join('\n'),
        /manifest\.json: the signature does not match/,
      );
      const added = rezip(archive, (files) => {
        files['extra.txt'] = Buffer.from('x');
      });
      assert.deepEqual(verifyPack(added, orgKey).problems, [
        'extra.txt: in the archive but not in the manifest (added)',
      ]);
      const removed = rezip(archive, (files) => {
        delete files['report-cases.json'];
      });
      assert.deepEqual(verifyPack(removed, orgKey).problems, [
        'report-cases.json: listed in the manifest but missing from the archive',
      ]);
      const otherKey = 'A'.repeat(43);
      assert.match(verifyPack(archive, otherKey).problems.join('\n'), /not by the pinned key/);
      assert.equal(verifyPack(Buffer.from('not a zip')).ok, false);
    });

    it('builds a pack of one release: its SBOMs, vulnerabilities and audit entries, verified', async () => {
      const response = await t.app.http.inject({
        method: 'GET',
        url: `/v1/orgs/acme/products/${ids.product}/evidence?releaseId=${ids['1.0.0']}`,
        headers: { authorization: `Bearer ${t.rootToken}` },
      });
      assert.equal(response.statusCode, 200, response.body);
      assert.match(String(response.headers['content-disposition']), /evidence-PLUG-1-1\.0\.0-/);
      const pack = response.rawPayload;
      const result = verifyPack(pack, orgKey);
      assert.deepEqual(result.problems, []);
      assert.equal(result.manifest?.release?.id, ids['1.0.0']);
      const files = unzipSync(pack);
      const json = (name: string) => JSON.parse(Buffer.from(files[name] as Uint8Array).toString('utf8'));
      const sboms = Object.keys(files)
        .filter((n) => n.startsWith('sboms/'))
        .sort();
      assert.deepEqual(sboms, [
        'sboms/1.0.0.cyclonedx-1.6.json',
        'sboms/1.0.0.spdx-2.3.json',
        'sboms/1.0.0.uploaded.cyclonedx.json',
      ]);
      assert.deepEqual(
        json('product.json').releases.map((r: { version: string }) => r.version),
        ['1.0.0'],
      );
      const vulns = json('security-updates.json').vulnerabilities;
      assert.ok(vulns.length > 0);
      for (const v of vulns) assert.deepEqual(v.affectedReleases, ['1.0.0']);
      assert.equal(
        vulns.find((v: { id: string }) => v.id === 'CVE-2023-38545')?.fixedBy?.version,
        '1.1.0',
        'the fix is named though it is another release',
      );
      const excerpt = json('audit-excerpt.json');
      const targets = new Set(excerpt.entries.map((e: { targetId: string }) => e.targetId));
      assert.ok(targets.has(ids['1.0.0']));
      for (const other of [ids.product, ids['1.1.0'], ids.rollout, ids.device0])
        assert.ok(!targets.has(other), `${other} is not about release 1.0.0`);
      // One changed byte fails it.
      const changed = rezip(pack, (f) => {
        const bytes = f['sboms/1.0.0.spdx-2.3.json'] as Uint8Array;
        bytes[5] = (bytes[5] as number) ^ 1;
      });
      assert.deepEqual(verifyPack(changed, orgKey).problems, [
        'sboms/1.0.0.spdx-2.3.json: its SHA-256 differs from the manifest (the file was changed)',
      ]);
      // A release of another product, or none, is not found.
      const missing = await t.call(
        'GET',
        `/v1/orgs/acme/products/${ids.product}/evidence?releaseId=rel_${'0'.repeat(28)}`,
      );
      assert.equal(missing.status, 404, missing.raw);
    });

    it('serves the ETSI EN 303 645 table of the product in the API', async () => {
      const table = await t.call('GET', `/v1/orgs/acme/products/${ids.product}/evidence/provisions`);
      assert.equal(table.status, 200, table.raw);
      assert.equal(table.body.provisions.length, etsiEn303645.length);
      assert.equal(table.body.craAnnexI.length, craAnnexI.length);
    });

    it("signs with the organisation's own key: published, sealed, per organisation, and rotated with a signed chain", async () => {
      // Public: the same key for anyone, without signing in.
      const published = await t.app.http.inject({ method: 'GET', url: '/public/orgs/acme/evidence-key' });
      assert.equal(published.statusCode, 200, published.body);
      assert.equal(published.json().publicKey, orgKey);
      // The private half is sealed in the database, never stored in the clear.
      const rows = await t.app.services.store.db.selectFrom('org_signing_keys').selectAll().execute();
      assert.ok(rows.length >= 1);
      for (const row of rows) assert.doesNotMatch(row.private_sealed, /PRIVATE KEY/);

      // Another organisation has a key of its own; it does not verify acme's pack, and a visitor
      // asking for a key it never made gets a 404 and makes none.
      const other = await t.org('evidence-other', 'auditor');
      const none = await t.app.http.inject({
        method: 'GET',
        url: '/public/orgs/evidence-other/evidence-key',
      });
      assert.equal(none.statusCode, 404, none.body);
      const otherKey = await t.call('GET', '/v1/orgs/evidence-other/evidence/key', { token: other.token });
      assert.equal(otherKey.status, 200, otherKey.raw);
      assert.notEqual(otherKey.body.publicKey, orgKey);
      assert.match(verifyPack(archive, otherKey.body.publicKey).problems.join('\n'), /not by the pinned key/);

      // Only an admin rotates (evidence:manage); an auditor reads the key but may not replace it.
      const auditor = await t.call('POST', '/v1/orgs/acme/tokens', {
        body: { name: 'aud', role: 'auditor' },
      });
      assert.equal(auditor.status, 201, auditor.raw);
      assert.equal(
        (await t.call('GET', '/v1/orgs/acme/evidence/key', { token: auditor.body.token })).status,
        200,
      );
      const refused = await t.call('POST', '/v1/orgs/acme/evidence/key/rotate', {
        token: auditor.body.token,
      });
      assert.equal(refused.status, 403, refused.raw);
      const rotated = await t.call('POST', '/v1/orgs/acme/evidence/key/rotate');
      assert.equal(rotated.status, 200, rotated.raw);
      const newKey = rotated.body.publicKey as string;
      assert.notEqual(newKey, orgKey);
      assert.deepEqual(
        rotated.body.history.map((k: { publicKey: string; retiredAt: string | null }) => [
          k.publicKey,
          k.retiredAt === null,
        ]),
        [
          [orgKey, false],
          [newKey, true],
        ],
      );
      const audit = await t.call('GET', '/v1/orgs/acme/audit?action=org.signing-key.rotate');
      assert.equal(audit.status, 200, audit.raw);
      assert.equal(audit.body.items.length, 1);

      // A pack built after the rotation: signed by the new key, carries the rotation, and verifies
      // against the old pinned key (following the signed chain) as well as the new one.
      const after = await t.app.http.inject({
        method: 'GET',
        url: `/v1/orgs/acme/products/${ids.product}/evidence`,
        headers: { authorization: `Bearer ${t.rootToken}` },
      });
      assert.equal(after.statusCode, 200, after.body);
      const byOld = verifyPack(after.rawPayload, orgKey);
      assert.deepEqual(byOld.problems, []);
      assert.equal(byOld.signedBy, newKey);
      assert.deepEqual(verifyPack(after.rawPayload, newKey).problems, []);
      // The pack from before the rotation still verifies against the old key, not the new one.
      assert.deepEqual(verifyPack(archive, orgKey).problems, []);
      assert.match(verifyPack(archive, newKey).problems.join('\n'), /not by the pinned key/);
      // A forged rotation (to a key the old one never named) breaks verification.
      const forged = rezip(after.rawPayload, (files) => {
        const manifest = JSON.parse(Buffer.from(files['manifest.json'] as Uint8Array).toString('utf8'));
        manifest.keyRotations[0].statement.to = otherKey.body.publicKey;
        files['manifest.json'] = Buffer.from(JSON.stringify(manifest));
      });
      assert.equal(verifyPack(forged, orgKey).ok, false);
    });

    it('refuses a role without audit:read, and another organisation sees no product', async () => {
      const operator = await t.call('POST', '/v1/orgs/acme/tokens', {
        body: { name: 'op', role: 'operator' },
      });
      assert.equal(operator.status, 201, operator.raw);
      const refused = await t.call('GET', `/v1/orgs/acme/products/${ids.product}/evidence`, {
        token: operator.body.token,
      });
      assert.equal(refused.status, 403, refused.raw);
      const other = await t.org('other', 'auditor');
      const hidden = await t.call('GET', `/v1/orgs/other/products/${ids.product}/evidence`, {
        token: other.token,
      });
      assert.equal(hidden.status, 404, hidden.raw);
    });
  });
}
