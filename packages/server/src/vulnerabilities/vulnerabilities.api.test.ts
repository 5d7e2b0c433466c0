import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { Spec, Validation } from '@cyclonedx/cyclonedx-library';
import { testDialects } from '../store/test-helper.js';
import { plugCapabilities, type TestApp, testApp } from '../test-support/app.js';
import { createRelease, initRepository, makerKeys, signTargets } from '../test-support/updates.js';
import { validateCsaf } from './publication/csaf.js';

const here = dirname(fileURLToPath(import.meta.url));
const data = join(here, '../../../../test/data');
const read = (path: string): unknown => JSON.parse(readFileSync(path, 'utf8'));
const feedDocuments = (): Array<{ name: string; content: unknown }> =>
  ['osv', 'nvd', 'csaf', 'kev']
    .flatMap((dir) =>
      readdirSync(join(data, dir))
        .filter((f) => f.endsWith('.json') && !f.includes('schema'))
        .map((f) => `${dir}/${f}`),
    )
    .map((name) => ({ name, content: read(join(data, name)) }));

for (const dialect of testDialects) {
  describe(`vulnerability handling with real SBOMs and feeds (${dialect})`, () => {
    let t: TestApp;
    let org: { id: string; slug: string; token: string };
    const ids: Record<string, string> = {};
    const devicesOn: Record<string, string[]> = {};
    const keys = makerKeys();

    before(async () => {
      t = await testApp(dialect, { clock: undefined, publicUrl: 'https://updates.acme.example' });
      org = await t.org('acme');
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
          name: 'Smart Plug',
          hardwareRevision: 'A',
          supportEnds: '2031-12-31',
          brandIds: [brand.body.id],
          capabilities: plugCapabilities,
        },
      });
      const productId: string = product.body.id;
      ids.productId = productId;
      await initRepository(t, 'acme', keys);
      for (const version of ['1.0.0', '1.1.0', '1.2.0', '1.3.0'])
        ids[version] = await createRelease(t, 'acme', productId, Buffer.from(`image ${version}`), {
          version,
          kind: version === '1.3.0' ? 'security' : 'feature',
          securityVersion: 1,
        });
      await signTargets(t, 'acme', [keys.targets[0] as never]);
      // Devices in the field: 3 on 1.0.0, 2 on 1.1.0, 4 on 1.2.0, 1 already on 1.3.0.
      for (const [version, count] of [
        ['1.0.0', 3],
        ['1.1.0', 2],
        ['1.2.0', 4],
        ['1.3.0', 1],
      ] as const) {
        devicesOn[version] = [];
        for (let i = 0; i < count; i++) {
          const d = await t.call('POST', '/v1/orgs/acme/devices', {
            body: {
              productId: ids.productId,
              serial: `S-${version}-${i}`,
              brandId: brand.body.id,
              firmwareVersion: version,
            },
          });
          assert.equal(d.status, 201, d.raw);
          devicesOn[version].push(d.body.id);
        }
      }
    });
    after(async () => t.close());

    it('imports CycloneDX and SPDX SBOMs and refuses broken ones with every problem listed', async () => {
      const juice = await t.call('PUT', `/v1/orgs/acme/releases/${ids['1.0.0']}/sbom`, {
        body: read(join(data, 'sbom/cyclonedx-1.4-juice-shop-npm-flat.json')),
      });
      assert.equal(juice.status, 201, juice.raw);
      assert.equal(juice.body.format, 'cyclonedx');
      assert.equal(juice.body.componentCount, 1115);
      const broken = await t.call('PUT', `/v1/orgs/acme/releases/${ids['1.1.0']}/sbom`, {
        body: {
          bomFormat: 'CycloneDX',
          specVersion: '1.5',
          components: [{ name: 'x' }, { type: 'library' }],
        },
      });
      assert.equal(broken.status, 400, broken.raw);
      assert.ok(broken.body.errors.length >= 1, broken.raw);
      assert.match(broken.body.errors.map((e: { field: string }) => e.field).join(' '), /\/components\/0/);
      assert.equal(
        (await t.call('GET', `/v1/orgs/acme/releases/${ids['1.1.0']}/sbom`)).status,
        404,
        'nothing stored',
      );
      const oldSpec = await t.call('PUT', `/v1/orgs/acme/releases/${ids['1.1.0']}/sbom`, {
        body: { bomFormat: 'CycloneDX', specVersion: '1.2', components: [] },
      });
      assert.equal(oldSpec.status, 400);
      const spdxBroken = await t.call('PUT', `/v1/orgs/acme/releases/${ids['1.1.0']}/sbom`, {
        body: { spdxVersion: 'SPDX-2.3', packages: [{ name: 'x' }] },
      });
      assert.equal(spdxBroken.status, 400);
      assert.ok(spdxBroken.body.errors.some((e: { field: string }) => e.field === '/documentNamespace'));
      const truncated = await t.app.http.inject({
        method: 'PUT',
        url: `/v1/orgs/acme/releases/${ids['1.1.0']}/sbom`,
        headers: { authorization: `Bearer ${t.rootToken}`, 'content-type': 'application/json' },
        payload: '{"bomFormat":"CycloneDX","specVer',
      });
      assert.equal(truncated.statusCode, 400);
      const spdx = await t.call('PUT', `/v1/orgs/acme/releases/${ids['1.3.0']}/sbom`, {
        body: read(join(data, 'sbom/spdx-2.3-SPDXJSONExample-v2.3.spdx.json')),
      });
      assert.equal(spdx.status, 201, spdx.raw);
      assert.equal(spdx.body.format, 'spdx');
      const components = await t.call('GET', `/v1/orgs/acme/releases/${ids['1.3.0']}/sbom/components`);
      const jena = components.body.items.find((c: { name: string }) => c.name === 'Jena');
      assert.equal(jena.purl, 'pkg:maven/org.apache.jena/apache-jena@3.12.0');
      const glibc = components.body.items.find((c: { name: string }) => c.name === 'glibc');
      assert.ok(glibc.cpe.startsWith('cpe:2.3:a:'));
      assert.ok(glibc.hashes.some((h: { alg: string }) => h.alg === 'SHA-256'));
      assert.match(glibc.supplier, /Jane Doe/);
      // The 1.3.0 image is really the fixed firmware: replace the example with its SBOM.
      const fixed = await t.call('PUT', `/v1/orgs/acme/releases/${ids['1.3.0']}/sbom`, {
        body: read(join(here, 'fixtures/firmware-1.3.0.cdx.json')),
      });
      assert.equal(fixed.status, 201, fixed.raw);
      const debian = await t.call('PUT', `/v1/orgs/acme/releases/${ids['1.1.0']}/sbom`, {
        body: read(join(data, 'sbom/cyclonedx-1.5-debian-12-dpkg.json')),
      });
      assert.equal(debian.status, 201, debian.raw);
    });

    it('exports the stored SBOM as CycloneDX 1.6 that the CycloneDX validator accepts', async () => {
      const exported = await t.call('GET', `/v1/orgs/acme/releases/${ids['1.1.0']}/sbom/cyclonedx`);
      assert.equal(exported.status, 200);
      assert.equal(exported.body.components.length, 721);
      const errors = await new Validation.JsonStrictValidator(Spec.Version.v1dot6).validate(exported.raw);
      assert.equal(errors, null, JSON.stringify(errors));
      const curl = exported.body.components.find((c: { name: string }) => c.name === 'curl');
      assert.equal(curl.cpe, 'cpe:2.3:a:haxx:curl:7.88.1:*:*:*:*:*:*:*');
    });

    it('imports OSV, NVD, KEV and CSAF files; re-import changes nothing; the newer record wins', async () => {
      const first = await t.call('POST', '/v1/platform/vulnerabilities/import', {
        body: { documents: feedDocuments() },
      });
      assert.equal(first.status, 200, first.raw);
      assert.equal(
        first.body.problems.filter(
          (p: { message: string }) => !/product .* has no purl or CPE/.test(p.message),
        ).length,
        0,
        first.raw,
      );
      assert.equal(first.body.records.created, 11 + 3 + 7 + 3);
      assert.equal(first.body.knownExploited.total, 1404);
      const again = await t.call('POST', '/v1/platform/vulnerabilities/import', {
        body: { documents: feedDocuments() },
      });
      assert.deepEqual(again.body.records, { created: 0, updated: 0, unchanged: 24 });
      assert.equal(again.body.matches.added, 0);
      const record = read(join(data, 'osv/GHSA-p6mc-m468-83gw.json')) as Record<string, unknown>;
      const older = await t.call('POST', '/v1/platform/vulnerabilities/import', {
        body: {
          documents: [
            { name: 'old', content: { ...record, modified: '2020-01-01T00:00:00Z', summary: 'older' } },
          ],
        },
      });
      assert.equal(older.body.records.unchanged, 1);
      const newer = await t.call('POST', '/v1/platform/vulnerabilities/import', {
        body: {
          documents: [
            {
              name: 'new',
              content: {
                ...record,
                modified: '2030-01-01T00:00:00Z',
                summary: 'Prototype pollution in lodash (revised)',
              },
            },
          ],
        },
      });
      assert.equal(newer.body.records.updated, 1);
      assert.equal(
        (await t.call('GET', '/v1/vulnerabilities/GHSA-p6mc-m468-83gw')).body.summary,
        'Prototype pollution in lodash (revised)',
      );
      const garbage = await t.call('POST', '/v1/platform/vulnerabilities/import', {
        body: {
          documents: [
            { name: 'x.json', content: { hello: 'world' } },
            { name: 'y.json', content: [1, 2] },
          ],
        },
      });
      assert.equal(garbage.status, 200);
      assert.equal(garbage.body.problems.length, 2);
      const forbidden = await t.call('POST', '/v1/platform/vulnerabilities/import', {
        token: org.token,
        body: { documents: [] },
      });
      assert.equal(forbidden.status, 403);
    });

    it('matches by purl ranges (vulnerabilities after the SBOM) and answers by any alias', async () => {
      // juice-shop: lodash 2.4.2 is in GHSA-p6mc (CVE-2020-8203); minimist 0.2.3 is in GHSA-xvch but not GHSA-vh95.
      const lodash = await t.call('GET', '/v1/orgs/acme/vulnerabilities/GHSA-p6mc-m468-83gw/exposure');
      assert.equal(lodash.status, 200, lodash.raw);
      assert.equal(lodash.body.vulnerability.id, 'CVE-2020-8203');
      assert.deepEqual(
        lodash.body.products[0].releases.map((r: { version: string }) => r.version),
        ['1.0.0'],
      );
      assert.equal(lodash.body.devicesExposed, 3);
      assert.equal(
        (await t.call('GET', '/v1/orgs/acme/vulnerabilities/CVE-2021-44906/exposure')).body.devicesExposed,
        3,
      );
      assert.equal(
        (await t.call('GET', '/v1/orgs/acme/vulnerabilities/CVE-2020-7598/exposure')).body.devicesExposed,
        0,
      );
      // Debian 12: libcurl 7.88.1 inside CVE-2023-38545's CPE range; openssl 3.0.19 and zlib 1.2.13 outside theirs.
      const curl = await t.call('GET', '/v1/orgs/acme/vulnerabilities/CVE-2023-38545/exposure');
      assert.deepEqual(
        curl.body.products[0].releases.map((r: { version: string }) => r.version),
        ['1.1.0'],
      );
      assert.equal(curl.body.devicesExposed, 2);
      assert.equal(
        (await t.call('GET', '/v1/orgs/acme/vulnerabilities/CVE-2022-37434/exposure')).body.products.length,
        0,
      );
    });

    it('matches a new SBOM by CPE ranges against stored records and opens an Art. 14 case for KEV entries', async () => {
      const sbom = await t.call('PUT', `/v1/orgs/acme/releases/${ids['1.2.0']}/sbom`, {
        body: read(join(here, 'fixtures/firmware-1.2.0.cdx.json')),
      });
      assert.equal(sbom.status, 201, sbom.raw);
      const release = await t.call('GET', `/v1/orgs/acme/releases/${ids['1.2.0']}/vulnerabilities`);
      assert.deepEqual(release.body.items.map((v: { id: string }) => v.id).sort(), [
        'CVE-2022-0847',
        'CVE-2022-37434',
        'CVE-2022-48174',
        'CVE-2023-0286',
      ]);
      const dirtyPipe = await t.call('GET', '/v1/orgs/acme/vulnerabilities/CVE-2022-0847/exposure');
      assert.equal(dirtyPipe.body.devicesExposed, 4);
      assert.equal(dirtyPipe.body.vulnerability.knownExploited.cveId, 'CVE-2022-0847');
      const list = await t.call('GET', '/v1/orgs/acme/vulnerabilities');
      assert.equal(list.body.items[0].id, 'CVE-2022-0847', 'known exploited first');
      assert.equal(list.body.items[0].devicesExposed, 4);
      assert.equal(list.body.items.find((v: { id: string }) => v.id === 'CVE-2020-8203').devicesExposed, 3);
      const device = await t.call('GET', `/v1/orgs/acme/devices/${devicesOn['1.2.0']?.[0]}/vulnerabilities`);
      assert.equal(device.body.vulnerabilities[0].id, 'CVE-2022-0847', 'known exploited first');
      assert.equal(device.body.vulnerabilities.length, 4, 'openssl 3.0.7 carries the CVE-2022-3602 fix');
      const cases = await t.call('GET', '/v1/orgs/acme/report-cases');
      const kase = cases.body.items.find(
        (c: { vulnerabilityId: string }) => c.vulnerabilityId === 'CVE-2022-0847',
      );
      assert.ok(kase, cases.raw);
      assert.equal(kase.source, 'kev');
      assert.equal(kase.awareAt, t.clock.now().toISOString());
      ids.caseId = kase.id;
      const due = Object.fromEntries(
        kase.clocks.map((c: { stage: string; dueAt: string }) => [c.stage, c.dueAt]),
      );
      assert.equal(due['early-warning'], new Date(t.clock.now().getTime() + 24 * 3600_000).toISOString());
      assert.equal(due.notification, new Date(t.clock.now().getTime() + 72 * 3600_000).toISOString());
      assert.equal(due['final-report'], null);
    });

    it('triage: a not_affected backport, a fix release, and VEX in three formats', async () => {
      const noJustification = await t.call('POST', '/v1/orgs/acme/vulnerabilities/CVE-2023-38545/decisions', {
        body: { productId: ids.productId, releaseId: ids['1.1.0'], status: 'not_affected' },
      });
      assert.equal(noJustification.status, 400);
      const backport = await t.call('POST', '/v1/orgs/acme/vulnerabilities/CVE-2023-38545/decisions', {
        body: {
          productId: ids.productId,
          releaseId: ids['1.1.0'],
          status: 'not_affected',
          justification: 'vulnerable_code_not_present',
          impactStatement: 'Debian fixed it by a backport in 7.88.1-10+deb12u4.',
        },
      });
      assert.equal(backport.status, 201, backport.raw);
      assert.equal(
        (await t.call('GET', '/v1/orgs/acme/vulnerabilities/CVE-2023-38545/exposure')).body.devicesExposed,
        0,
      );
      const open = await t.call('GET', '/v1/orgs/acme/vulnerabilities');
      assert.ok(!open.body.items.some((v: { id: string }) => v.id === 'CVE-2023-38545'), 'triaged away');
      const all = await t.call('GET', '/v1/orgs/acme/vulnerabilities?status=all');
      assert.equal(all.body.items.find((v: { id: string }) => v.id === 'CVE-2023-38545').releasesExposed, 0);
      const fixed = await t.call('POST', '/v1/orgs/acme/vulnerabilities/CVE-2022-0847/decisions', {
        body: { productId: ids.productId, status: 'fixed', fixedReleaseId: ids['1.3.0'] },
      });
      assert.equal(fixed.status, 201, fixed.raw);
      const audit = await t.call('GET', '/v1/orgs/acme/audit?action=vex.decide');
      assert.ok(audit.raw.includes('vex.decide'));
      const openvex = await t.call('GET', '/v1/orgs/acme/vex?format=openvex');
      assert.equal(openvex.body['@context'], 'https://openvex.dev/ns/v0.2.0');
      const backportStatement = openvex.body.statements.find(
        (s: { vulnerability: { name: string } }) => s.vulnerability.name === 'CVE-2023-38545',
      );
      assert.equal(backportStatement.status, 'not_affected');
      assert.equal(backportStatement.justification, 'vulnerable_code_not_present');
      assert.ok(
        openvex.body.statements.every(
          (s: {
            status: string;
            justification?: string;
            impact_statement?: string;
            action_statement?: string;
          }) =>
            (s.status !== 'not_affected' || s.justification || s.impact_statement) &&
            (s.status !== 'affected' || s.action_statement),
        ),
      );
      const cdx = await t.call('GET', '/v1/orgs/acme/vex?format=cyclonedx');
      const errors = await new Validation.JsonStrictValidator(Spec.Version.v1dot6).validate(cdx.raw);
      assert.equal(errors, null, JSON.stringify(errors));
      const dirty = cdx.body.vulnerabilities.filter((v: { id: string }) => v.id === 'CVE-2022-0847');
      assert.deepEqual(dirty.map((v: { analysis: { state: string } }) => v.analysis.state).sort(), [
        'exploitable',
        'resolved',
      ]);
      const csaf = await t.call('GET', '/v1/orgs/acme/vex?format=csaf');
      const result = await validateCsaf(csaf.body);
      assert.ok(result.isValid, result.errors.join('\n'));
      assert.equal(csaf.body.document.category, 'csaf_vex');
    });

    it('the fix closes the final-report clock and one action rolls it out to exactly the exposed devices', async () => {
      const kase = (await t.call('GET', `/v1/orgs/acme/report-cases/${ids.caseId}`)).body;
      const final = kase.clocks.find((c: { stage: string }) => c.stage === 'final-report');
      assert.ok(final.dueAt, 'a corrective measure is available');
      assert.equal(Date.parse(final.dueAt) - Date.parse(kase.correctiveAvailableAt), 14 * 86_400_000);
      const remediate = await t.call('POST', '/v1/orgs/acme/vulnerabilities/CVE-2022-0847/remediate', {
        body: {},
      });
      assert.equal(remediate.status, 201, remediate.raw);
      assert.equal(remediate.body.devices, 4);
      assert.deepEqual(remediate.body.exposedVersions, ['1.2.0']);
      assert.equal(remediate.body.rollout.kind, 'security');
      const devices = await t.call(
        'GET',
        `/v1/orgs/acme/rollouts/${remediate.body.rollout.id}/devices?limit=100`,
      );
      assert.deepEqual(
        devices.body.items.map((d: { deviceId: string }) => d.deviceId).sort(),
        [...(devicesOn['1.2.0'] ?? [])].sort(),
      );
      // Two devices take the update: coverage moves from 0 to one half.
      const before = await t.call('GET', '/v1/orgs/acme/vulnerabilities/CVE-2022-0847/coverage');
      assert.equal(before.body.coverage, 0);
      t.clock.advance(3600_000);
      for (const id of devicesOn['1.2.0']?.slice(0, 2) ?? [])
        await t.call('PATCH', `/v1/orgs/acme/devices/${id}`, { body: { firmwareVersion: '1.3.0' } });
      const afterUpdate = await t.call('GET', '/v1/orgs/acme/vulnerabilities/CVE-2022-0847/coverage');
      assert.equal(afterUpdate.body.coverage, 0.5);
      assert.equal(afterUpdate.body.exposedNow, 2);
      assert.equal(afterUpdate.body.series.at(-1).coverage, 0.5);
    });

    it('report clocks run on the injected clock; submissions and drafts are recorded', async () => {
      t.clock.advance(24 * 3600_000);
      const overdue = await t.call('GET', '/v1/orgs/acme/report-cases?due=overdue');
      assert.deepEqual(
        overdue.body.items.map((c: { id: string }) => c.id),
        [ids.caseId],
      );
      const draft = await t.call('GET', `/v1/orgs/acme/report-cases/${ids.caseId}/draft?stage=notification`);
      assert.equal(draft.status, 200, draft.raw);
      assert.deepEqual(draft.body.affectedVersions, ['1.2.0']);
      assert.equal(draft.body.product.modelNumber, 'PLUG-1');
      assert.equal(draft.body.brands[0].name, 'Acme Home');
      assert.equal(draft.body.correctiveMeasure.release, '1.3.0');
      assert.match(draft.body.natureOfExploitation, /Linux Kernel/i);
      const submitted = await t.call('POST', `/v1/orgs/acme/report-cases/${ids.caseId}/submissions`, {
        body: { stage: 'early-warning', reference: 'ENISA-SRP-1' },
      });
      assert.equal(submitted.status, 201, submitted.raw);
      const ew = submitted.body.clocks.find((c: { stage: string }) => c.stage === 'early-warning');
      assert.equal(ew.state, 'submitted-late');
      assert.equal(submitted.body.submissions[0].reference, 'ENISA-SRP-1');
      const twice = await t.call('POST', `/v1/orgs/acme/report-cases/${ids.caseId}/submissions`, {
        body: { stage: 'early-warning' },
      });
      assert.equal(twice.status, 409);
      const incident = await t.call('POST', '/v1/orgs/acme/report-cases', {
        body: { productId: ids.productId, title: 'Cloud relay compromised', suspectedMalicious: true },
      });
      assert.equal(incident.status, 201);
      assert.equal(incident.body.kind, 'severe-incident');
      const marked = await t.call('POST', '/v1/orgs/acme/vulnerabilities/CVE-2020-8203/exploited', {
        body: { memberStates: ['DE', 'FR'] },
      });
      assert.equal(marked.status, 201, marked.raw);
      assert.equal(marked.body.items[0].source, 'manual');
      assert.deepEqual(marked.body.items[0].details.memberStates, ['DE', 'FR']);
    });

    it('publishes a CSAF advisory that BSI validates, as a CSAF provider with security.txt and a product page', async () => {
      await t.call('PUT', '/v1/orgs/acme/security-contact', {
        body: {
          securityContact: 'mailto:psirt@acme.example',
          securityPolicy: 'https://acme.example/security',
        },
      });
      const created = await t.call('POST', '/v1/orgs/acme/advisories', {
        body: { vulnerabilities: ['CVE-2022-0847', 'CVE-2022-48174'] },
      });
      assert.equal(created.status, 201, created.raw);
      const published = await t.call('POST', `/v1/orgs/acme/advisories/${created.body.id}/publish`, {
        body: {},
      });
      assert.equal(published.status, 200, published.raw);
      const doc = published.body.document;
      assert.ok((await validateCsaf(doc)).isValid);
      assert.equal(doc.document.publisher.namespace, 'https://updates.acme.example', 'http.publicUrl');
      assert.match(
        doc.document.references[0].url,
        /^https:\/\/updates\.acme\.example\/public\/orgs\/acme\/csaf\//,
      );
      const dirty = doc.vulnerabilities.find((v: { cve: string }) => v.cve === 'CVE-2022-0847');
      assert.deepEqual(dirty.product_status.known_affected, [ids['1.2.0']]);
      assert.deepEqual(dirty.product_status.first_fixed, [ids['1.3.0']]);
      assert.equal(dirty.remediations[0].category, 'vendor_fix');
      const meta = await t.call('GET', '/.well-known/csaf/provider-metadata.json', { token: null });
      assert.equal(meta.status, 200, meta.raw);
      assert.equal(meta.body.role, 'csaf_provider');
      const index = await t.call('GET', '/.well-known/csaf/white/index.txt', { token: null });
      const path = index.raw.trim();
      assert.match(path, /^\d{4}\/acme-\d{4}-0001\.json$/);
      const file = await t.call('GET', `/.well-known/csaf/white/${path}`, { token: null });
      assert.equal(file.body.document.tracking.id, created.body.trackingId);
      const root = await t.call('GET', '/.well-known/csaf/white/', { token: null });
      assert.match(root.raw, new RegExp(`href="${path.slice(0, 4)}&#47;"`), 'the year folder is listed');
      const yearListing = await t.call('GET', `/.well-known/csaf/white/${path.slice(0, 4)}/`, {
        token: null,
      });
      assert.ok(yearListing.raw.includes(path.slice(5)), yearListing.raw);
      assert.equal((await t.call('GET', '/.well-known/csaf/white/1999/', { token: null })).status, 404);
      const sha = await t.call('GET', `/.well-known/csaf/white/${path}.sha256`, { token: null });
      assert.equal(sha.raw.split(' ')[0], createHash('sha256').update(file.raw).digest('hex'));
      const securityTxt = await t.call('GET', '/.well-known/security.txt', { token: null });
      assert.match(securityTxt.raw, /^Contact: mailto:psirt@acme\.example$/m);
      assert.match(securityTxt.raw, /^Expires: \d{4}-\d\d-\d\dT00:00:00Z$/m);
      assert.match(securityTxt.raw, /^Policy: https:\/\/acme\.example\/security$/m);
      assert.match(securityTxt.raw, /^CSAF: .*\/public\/orgs\/acme\/csaf\/provider-metadata\.json$/m);
      const pageJson = await t.call('GET', `/public/orgs/acme/products/PLUG-1?format=json`, { token: null });
      assert.equal(pageJson.body.supportEnds, '2031-12-31');
      assert.equal(pageJson.body.advisories[0].trackingId, created.body.trackingId);
      const html = await t.app.http.inject({
        method: 'GET',
        url: '/public/orgs/acme/products/PLUG-1',
        headers: { accept: 'text/html' },
      });
      assert.match(html.body, /2031-12-31/);
      assert.match(String(html.headers['content-security-policy']), /default-src 'none'/);
    });

    it('takes disclosure reports without an account, never echoes them raw, and limits the rate', async () => {
      const hostile = '<script>alert(1)</script>"><img src=x onerror=alert(2)>';
      const sent = await t.call('POST', '/public/orgs/acme/report', {
        token: null,
        body: { title: hostile, description: `Steps: ${hostile}`, contact: 'r@example.org' },
      });
      assert.equal(sent.status, 201, sent.raw);
      assert.match(sent.body.trackingId, /^[A-Za-z0-9_-]{20,}$/);
      const status = await t.app.http.inject({
        method: 'GET',
        url: `/public/reports/${sent.body.trackingId}`,
        headers: { accept: 'text/html' },
      });
      assert.equal(status.statusCode, 200);
      assert.ok(!status.body.includes('<script>') && !status.body.includes('<img'), status.body);
      assert.match(status.body, /&#60;script&#62;/);
      const list = await t.call('GET', '/v1/orgs/acme/disclosures');
      assert.equal(list.body.items[0].title, hostile, 'stored as sent, escaped only on output');
      const updated = await t.call('PATCH', `/v1/orgs/acme/disclosures/${list.body.items[0].id}`, {
        body: { status: 'confirmed', publicNote: 'Confirmed, fix planned.' },
      });
      assert.equal(updated.status, 200);
      assert.equal(
        (await t.call('GET', `/public/reports/${sent.body.trackingId}?format=json`, { token: null })).body
          .status,
        'confirmed',
      );
      assert.equal(
        (await t.call('GET', '/public/reports/not-a-real-token-000', { token: null })).status,
        404,
      );
      const form = await t.app.http.inject({
        method: 'POST',
        url: '/public/orgs/acme/report',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        payload: 'title=Form&description=From+the+page',
      });
      assert.equal(form.statusCode, 201);
      assert.match(form.body, /private tracking link/);
      const big = await t.call('POST', '/public/orgs/acme/report', {
        token: null,
        body: { title: 'x', description: 'y'.repeat(70_000) },
      });
      assert.equal(big.status, 413);
      const results: number[] = [];
      for (let i = 0; i < 4; i++)
        results.push(
          (
            await t.call('POST', '/public/orgs/acme/report', {
              token: null,
              body: { title: `t${i}`, description: 'd' },
            })
          ).status,
        );
      assert.deepEqual(results, [201, 201, 201, 429]);
      const empty = await t.call('POST', '/public/orgs/acme/report', {
        token: null,
        body: { title: '', description: '' },
      });
      assert.equal(empty.status, 400);
    });
  });
}
