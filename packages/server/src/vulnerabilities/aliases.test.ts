import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { openStore } from '../store/db.js';
import { migrateTo, migrateToLatest } from '../store/migrate.js';
import { freshDatabase, testDialects } from '../store/test-helper.js';
import { plugCapabilities, type TestApp, testApp } from '../test-support/app.js';
import { createRelease, initRepository, makerKeys, signTargets } from '../test-support/updates.js';
import { isLocalHost } from './publication/advisories.js';

const here = dirname(fileURLToPath(import.meta.url));
const data = join(here, '../../../../test/data');
const doc = (name: string): { name: string; content: unknown } => ({
  name,
  content: JSON.parse(readFileSync(join(data, name), 'utf8')),
});

/**
 * A firmware image whose SBOM reaches the same vulnerabilities through several sources:
 * golang.org/x/net (GHSA-4374 and GO-2023-2102), Ubuntu's openssl (USN-5844-1, whose upstream
 * names CVE-2023-0286 as UBUNTU-CVE-2023-0286, next to NVD's own CVE-2023-0286), a NetApp
 * firmware CPE with version `-` (CVE-2022-0847 and CVE-2022-37434), and lodash written in
 * capitals without a purl version.
 */
const sbom = {
  bomFormat: 'CycloneDX',
  specVersion: '1.5',
  version: 1,
  metadata: { component: { type: 'firmware', name: 'gateway-firmware', version: '1.0.0' } },
  components: [
    { type: 'library', name: 'golang.org/x/net', version: 'v0.16.0', purl: 'pkg:golang/golang.org/x/net' },
    {
      type: 'library',
      name: 'openssl',
      version: '3.0.2-0ubuntu1.7',
      purl: 'pkg:deb/ubuntu/openssl@3.0.2-0ubuntu1.7?arch=amd64&distro=jammy',
    },
    { type: 'firmware', name: 'h300s_firmware', cpe: 'cpe:2.3:o:netapp:h300s_firmware:-:*:*:*:*:*:*:*' },
    { type: 'library', name: 'Lodash', version: '2.4.2', purl: 'pkg:npm/Lodash' },
  ],
};

for (const dialect of testDialects) {
  describe(`one vulnerability under several ids (${dialect})`, () => {
    let t: TestApp;
    const ids: Record<string, string> = {};

    before(async () => {
      t = await testApp(dialect, { clock: undefined });
      await t.org('acme');
      const brand = await t.call('POST', '/v1/orgs/acme/brands', {
        body: { name: 'Acme', responsibleParty: 'Acme GmbH', securityContact: 'mailto:psirt@acme.example' },
      });
      // The same gateway resold under a second brand, by another responsible party (white label).
      const resold = await t.call('POST', '/v1/orgs/acme/brands', {
        body: {
          name: 'Bolt',
          responsibleParty: 'Bolt Ltd',
          securityContact: 'https://bolt.example/security',
        },
      });
      const product = await t.call('POST', '/v1/orgs/acme/products', {
        body: {
          modelNumber: 'GW-1',
          name: 'Gateway',
          hardwareRevision: 'A',
          supportEnds: '2031-12-31',
          brandIds: [brand.body.id, resold.body.id],
          capabilities: plugCapabilities,
        },
      });
      ids.product = product.body.id;
      const keys = makerKeys();
      await initRepository(t, 'acme', keys);
      ids.release = await createRelease(t, 'acme', ids.product as string, Buffer.from('gateway 1.0.0'), {
        version: '1.0.0',
      });
      ids.fix = await createRelease(t, 'acme', ids.product as string, Buffer.from('gateway 1.1.0'), {
        version: '1.1.0',
        kind: 'security',
        securityVersion: 1,
      });
      await signTargets(t, 'acme', [keys.targets[0] as never]);
      for (let i = 0; i < 2; i++)
        await t.call('POST', '/v1/orgs/acme/devices', {
          body: {
            productId: ids.product,
            serial: `GW-${i}`,
            brandId: brand.body.id,
            firmwareVersion: '1.0.0',
          },
        });
      const put = await t.call('PUT', `/v1/orgs/acme/releases/${ids.release}/sbom`, { body: sbom });
      assert.equal(put.status, 201, put.raw);
      const imported = await t.call('POST', '/v1/platform/vulnerabilities/import', {
        body: {
          documents: [
            doc('osv/GO-2023-2102.json'),
            doc('osv/GHSA-4374-p667-p6c8.json'),
            doc('osv/USN-5844-1.json'),
            doc('osv/GHSA-p6mc-m468-83gw.json'),
            doc('nvd/CVE-2023-0286.json'),
            doc('nvd/CVE-2022-0847.json'),
            doc('nvd/CVE-2022-37434.json'),
            doc('kev/known_exploited_vulnerabilities.json'),
          ],
        },
      });
      assert.equal(imported.status, 200, imported.raw);
    });
    after(async () => t.close());

    it('lists each vulnerability once, named by its CVE, whichever records matched', async () => {
      const list = await t.call('GET', '/v1/orgs/acme/vulnerabilities?status=all');
      assert.equal(list.status, 200, list.raw);
      const listed: string[] = list.body.items.map((v: { id: string }) => v.id);
      assert.equal(new Set(listed).size, listed.length, `no duplicates: ${listed.join(', ')}`);
      for (const id of [
        'CVE-2023-39325',
        'CVE-2023-44487',
        'CVE-2023-0286',
        'CVE-2022-4304',
        'CVE-2022-0847',
        'CVE-2022-37434',
        'CVE-2020-8203',
      ])
        assert.ok(listed.includes(id), `${id} listed: ${listed.join(', ')}`);
      for (const id of ['GHSA-4374-p667-p6c8', 'GO-2023-2102', 'USN-5844-1', 'GHSA-p6mc-m468-83gw'])
        assert.ok(!listed.includes(id), `${id} is not a row of its own`);
      const release = await t.call('GET', `/v1/orgs/acme/releases/${ids.release}/vulnerabilities`);
      const inRelease: string[] = release.body.items.map((v: { id: string }) => v.id);
      assert.equal(new Set(inRelease).size, inRelease.length);
      const x = release.body.items.find((v: { id: string }) => v.id === 'CVE-2023-39325');
      assert.deepEqual(x.matches.map((m: { record: string }) => m.record).sort(), [
        'GHSA-4374-p667-p6c8',
        'GO-2023-2102',
      ]);
    });

    it('answers by each id of the vulnerability, and says when an id names several', async () => {
      for (const name of ['GHSA-4374-p667-p6c8', 'CVE-2023-39325']) {
        const e = await t.call('GET', `/v1/orgs/acme/vulnerabilities/${name}/exposure`);
        assert.equal(e.status, 200, e.raw);
        assert.equal(e.body.vulnerability.id, 'CVE-2023-39325');
        assert.equal(e.body.devicesExposed, 2);
      }
      const nvd = await t.call('GET', '/v1/vulnerabilities/CVE-2023-0286');
      assert.deepEqual(nvd.body.records.map((r: { id: string }) => r.id).sort(), [
        'CVE-2023-0286',
        'USN-5844-1',
      ]);
      assert.ok(!nvd.body.aliases.includes('CVE-2022-4304'), "the USN's other CVEs are not aliases");
      const go = await t.call('GET', '/v1/orgs/acme/vulnerabilities/GO-2023-2102/exposure');
      assert.equal(go.status, 409, go.raw);
      assert.match(go.body.detail, /CVE-2023-39325, CVE-2023-44487/);
      const kev = await t.call('GET', '/v1/vulnerabilities/CVE-2023-44487');
      assert.equal(kev.body.knownExploited.cveId, 'CVE-2023-44487');
      const firmware = await t.call('GET', '/v1/orgs/acme/vulnerabilities/CVE-2022-0847/exposure');
      assert.equal(firmware.body.devicesExposed, 2, 'NetApp firmware `-` matches the firmware CPE `-`');
      assert.equal(firmware.body.products[0].releases[0].components[0].name, 'h300s_firmware');
      const lodash = await t.call('GET', '/v1/orgs/acme/vulnerabilities/GHSA-p6mc-m468-83gw/exposure');
      assert.equal(lodash.body.vulnerability.id, 'CVE-2020-8203');
      assert.equal(lodash.body.devicesExposed, 2, 'pkg:npm/Lodash without version, version field 2.4.2');
    });

    it('a triage made under the GHSA id applies when someone asks by the CVE id', async () => {
      const decided = await t.call('POST', '/v1/orgs/acme/vulnerabilities/GHSA-4374-p667-p6c8/decisions', {
        body: {
          productId: ids.product,
          status: 'not_affected',
          justification: 'vulnerable_code_not_in_execute_path',
          impactStatement: 'The gateway serves no HTTP/2.',
        },
      });
      assert.equal(decided.status, 201, decided.raw);
      const history = await t.call('GET', '/v1/orgs/acme/vulnerabilities/CVE-2023-39325/decisions');
      assert.equal(history.body.items.length, 1, history.raw);
      const byCve = await t.call('GET', '/v1/orgs/acme/vulnerabilities/CVE-2023-39325/exposure');
      assert.equal(byCve.body.products[0].releases[0].status, 'not_affected');
      assert.equal(byCve.body.devicesExposed, 0);
      const byGo = await t.call('GET', '/v1/orgs/acme/vulnerabilities/CVE-2023-44487/exposure');
      assert.equal(byGo.body.devicesExposed, 2, 'the other CVE of GO-2023-2102 is not triaged by it');
      const open = await t.call('GET', '/v1/orgs/acme/vulnerabilities');
      assert.ok(!open.body.items.some((v: { id: string }) => v.id === 'CVE-2023-39325'));
      const vex = await t.call('GET', '/v1/orgs/acme/vex?format=openvex');
      const statements = vex.body.statements.filter(
        (s: { vulnerability: { name: string } }) => s.vulnerability.name === 'CVE-2023-39325',
      );
      assert.equal(statements.length, 1, JSON.stringify(vex.body.statements));
      assert.equal(statements[0].status, 'not_affected');
      assert.equal(statements[0].impact_statement, 'The gateway serves no HTTP/2.');
    });

    it('opens one Art. 14 case per known exploited CVE, whichever record matched', async () => {
      const cases = await t.call('GET', '/v1/orgs/acme/report-cases');
      const vulns: string[] = cases.body.items.map((c: { vulnerabilityId: string }) => c.vulnerabilityId);
      for (const cve of ['CVE-2023-44487', 'CVE-2022-0847'])
        assert.equal(vulns.filter((v) => v === cve).length, 1, `${cve}: ${vulns.join(', ')}`);
      assert.equal(new Set(vulns).size, vulns.length);
      assert.ok(!vulns.includes('GO-2023-2102'));
    });

    it('report drafts name each manufacturer and contact from the brands, and say what is missing', async () => {
      const cases = await t.call('GET', '/v1/orgs/acme/report-cases');
      const kase = cases.body.items.find(
        (c: { vulnerabilityId: string }) => c.vulnerabilityId === 'CVE-2022-0847',
      );
      const draft = async (stage: string) => {
        const d = await t.call('GET', `/v1/orgs/acme/report-cases/${kase.id}/draft?stage=${stage}`);
        assert.equal(d.status, 200, d.raw);
        return d.body;
      };
      const early = await draft('early-warning');
      assert.deepEqual(early.manufacturers, [
        { name: 'Acme GmbH', contact: 'mailto:psirt@acme.example', brands: ['Acme'] },
        { name: 'Bolt Ltd', contact: 'https://bolt.example/security', brands: ['Bolt'] },
      ]);
      assert.equal(early.manufacturer.name, 'Acme GmbH');
      assert.deepEqual(
        early.missing.map((m: { field: string }) => m.field),
        ['/memberStates'],
      );
      const before = await draft('notification');
      assert.match(before.natureOfExploitation, /CISA KEV/);
      assert.deepEqual(
        before.missing.map((m: { field: string }) => m.field),
        ['/mitigations'],
      );
      await t.call('POST', '/v1/orgs/acme/vulnerabilities/CVE-2022-0847/decisions', {
        body: { productId: ids.product, status: 'affected', actionStatement: 'Turn off the local shell.' },
      });
      const notification = await draft('notification');
      assert.equal(notification.mitigations, 'Turn off the local shell.');
      assert.deepEqual(notification.missing, [], JSON.stringify(notification.missing));
      const final = await draft('final-report');
      assert.deepEqual(
        final.missing.map((m: { field: string }) => m.field),
        ['/correctiveMeasure'],
      );
      const incident = await t.call('POST', '/v1/orgs/acme/report-cases', {
        body: { productId: ids.product, title: 'Relay compromised' },
      });
      assert.equal(incident.status, 201, incident.raw);
      const ew = await t.call(
        'GET',
        `/v1/orgs/acme/report-cases/${incident.body.id}/draft?stage=early-warning`,
      );
      assert.deepEqual(
        ew.body.missing.map((m: { field: string }) => m.field),
        ['/suspectedMalicious', '/memberStates'],
      );
    });

    it('a remediation asked for under the GHSA id rolls out to the devices the CVE exposes', async () => {
      const remediated = await t.call('POST', '/v1/orgs/acme/vulnerabilities/GHSA-p6mc-m468-83gw/remediate', {
        body: { releaseId: ids.fix },
      });
      assert.equal(remediated.status, 201, remediated.raw);
      assert.equal(remediated.body.devices, 2);
      assert.deepEqual(remediated.body.exposedVersions, ['1.0.0']);
      assert.match(remediated.body.rollout.name, /^CVE-2020-8203: 1\.1\.0$/);
      const byGhsa = await t.call('GET', '/v1/orgs/acme/vulnerabilities/GHSA-p6mc-m468-83gw/coverage');
      const byCve = await t.call('GET', '/v1/orgs/acme/vulnerabilities/CVE-2020-8203/coverage');
      assert.equal(byGhsa.status, 200, byGhsa.raw);
      assert.deepEqual(byGhsa.body, byCve.body);
    });

    it('an advisory drafted under the GHSA id is about the CVE', async () => {
      const created = await t.call('POST', '/v1/orgs/acme/advisories', {
        body: { vulnerabilities: ['GHSA-4374-p667-p6c8'], productIds: [ids.product] },
      });
      assert.equal(created.status, 201, created.raw);
      const cves = created.body.document.vulnerabilities.map((v: { cve: string }) => v.cve);
      assert.deepEqual(cves, ['CVE-2023-39325']);
    });
    it("CSAF, CycloneDX and OpenVEX keep the maker's impact and action text; ids never come from the Host header", async () => {
      const action = 'Disable the remote shell until firmware 1.1.0 is installed.';
      const affected = await t.call('POST', '/v1/orgs/acme/vulnerabilities/CVE-2022-0847/decisions', {
        body: { productId: ids.product, status: 'affected', actionStatement: action },
      });
      assert.equal(affected.status, 201, affected.raw);
      const impact = 'The gateway serves no HTTP/2.';
      const csaf = await t.call('GET', '/v1/orgs/acme/vex?format=csaf');
      const byCve = (cve: string) => csaf.body.vulnerabilities.find((v: { cve: string }) => v.cve === cve);
      assert.deepEqual(
        byCve('CVE-2023-39325').threats.map((x: { category: string; details: string }) => [
          x.category,
          x.details,
        ]),
        [['impact', impact]],
      );
      assert.deepEqual(byCve('CVE-2023-39325').flags[0].label, 'vulnerable_code_not_in_execute_path');
      assert.ok(
        byCve('CVE-2022-0847').remediations.some((r: { details: string }) => r.details === action),
        JSON.stringify(byCve('CVE-2022-0847').remediations),
      );
      const cdx = await t.call('GET', '/v1/orgs/acme/vex?format=cyclonedx');
      const entry = (id: string) => cdx.body.vulnerabilities.find((v: { id: string }) => v.id === id);
      assert.equal(entry('CVE-2023-39325').analysis.detail, impact);
      assert.equal(entry('CVE-2022-0847').recommendation, action);
      const openvex = await t.call('GET', '/v1/orgs/acme/vex?format=openvex');
      const dirty = openvex.body.statements.find(
        (x: { vulnerability: { name: string } }) => x.vulnerability.name === 'CVE-2022-0847',
      );
      assert.equal(dirty.action_statement, action);
      const spoofed = await t.app.http.inject({
        method: 'GET',
        url: '/v1/orgs/acme/vex?format=openvex',
        headers: { host: 'attacker.example', authorization: `Bearer ${t.rootToken}` },
      });
      assert.equal(spoofed.statusCode, 200, spoofed.body);
      assert.ok(!spoofed.body.includes('attacker.example'), 'the Host header names nothing');
      assert.match(JSON.parse(spoofed.body)['@id'], /^http:\/\/localhost\/public\/orgs\/acme\/vex\//);
    });

    it('publishing refuses while http.publicUrl is unset or names this machine', async () => {
      const created = await t.call('POST', '/v1/orgs/acme/advisories', {
        body: { vulnerabilities: ['CVE-2022-0847'] },
      });
      assert.equal(created.status, 201, created.raw);
      const refused = await t.call('POST', `/v1/orgs/acme/advisories/${created.body.id}/publish`, {
        body: {},
      });
      assert.equal(refused.status, 400, refused.raw);
      assert.match(refused.body.detail, /http\.publicUrl/);
      const still = await t.call('GET', `/v1/orgs/acme/advisories/${created.body.id}`);
      assert.equal(still.body.status, 'draft', 'nothing changed');
      for (const host of ['localhost', 'api.localhost', '127.0.0.1', '127.1.2.3', '[::1]', '0.0.0.0'])
        assert.ok(isLocalHost(host), host);
      for (const host of ['updates.acme.example', '10.0.0.1', 'localhost.acme.example'])
        assert.ok(!isLocalHost(host), host);
    });
  });

  describe(`migration 0010 groups existing records and moves their decisions (${dialect})`, () => {
    it('a multi-CVE record kept under its own id moves to its CVEs', async () => {
      const database = await freshDatabase(dialect);
      const store = await openStore(database.url);
      try {
        await migrateTo(store.db, '0006-continuity');
        const now = '2026-01-01T00:00:00.000Z';
        const db = store.db;
        await db
          .insertInto('organizations')
          .values({ id: 'org1', slug: 'acme', name: 'Acme', created_at: now, updated_at: now } as never)
          .execute();
        await db
          .insertInto('products')
          .values({
            id: 'prd1',
            org_id: 'org1',
            model_number: 'GW-1',
            name: 'Gateway',
            hardware_revision: 'A',
            support_ends: '2031-12-31',
            capabilities: '{}',
            created_at: now,
            updated_at: now,
          } as never)
          .execute();
        const record = (id: string, canonical: string, aliases: string[]) => ({
          id,
          canonical_id: canonical,
          source: 'osv',
          modified: now,
          published: null,
          withdrawn: null,
          summary: '',
          details: '',
          aliases: JSON.stringify(aliases),
          severity_rating: null,
          severity_score: null,
          severity_vector: null,
          reference_urls: '[]',
          imported_at: now,
        });
        // The 0005 rule: a record naming two CVEs kept its own id; one naming none too.
        await db
          .insertInto('vulnerabilities')
          .values([
            record('GO-2023-2102', 'GO-2023-2102', [
              'CVE-2023-44487',
              'CVE-2023-39325',
              'GHSA-4374-p667-p6c8',
            ]),
            record('GHSA-4374-p667-p6c8', 'CVE-2023-39325', ['CVE-2023-39325']),
            record('GO-2024-0001', 'GO-2024-0001', ['GHSA-xxxx-yyyy-zzzz']),
            record('GHSA-xxxx-yyyy-zzzz', 'GHSA-xxxx-yyyy-zzzz', ['CVE-2024-10001']),
          ])
          .execute();
        const decision = (id: string, vuln: string) => ({
          id,
          org_id: 'org1',
          vuln_id: vuln,
          product_id: 'prd1',
          release_id: null,
          status: 'not_affected',
          justification: 'component_not_present',
          impact_statement: null,
          action_statement: null,
          fixed_release_id: null,
          created_at: now,
          created_by: 'user:test',
        });
        await db
          .insertInto('vex_decisions')
          .values([decision('vex1', 'GO-2023-2102'), decision('vex2', 'GO-2024-0001')])
          .execute();
        await db
          .insertInto('report_cases')
          .values({
            id: 'rc1',
            org_id: 'org1',
            kind: 'vulnerability',
            vuln_id: 'GO-2023-2102',
            product_id: 'prd1',
            title: 'x',
            source: 'manual',
            aware_at: now,
            corrective_available_at: null,
            fixed_release_id: null,
            details: '{}',
            status: 'open',
            created_at: now,
            created_by: 'user:test',
            updated_at: now,
          })
          .execute();

        await migrateToLatest(db);

        const groups = await db
          .selectFrom('vulnerability_groups')
          .selectAll()
          .orderBy('vuln_id')
          .orderBy('canonical_id')
          .execute();
        assert.deepEqual(
          groups.map((g) => `${g.vuln_id} ${g.canonical_id}`),
          [
            'GHSA-4374-p667-p6c8 CVE-2023-39325',
            'GHSA-xxxx-yyyy-zzzz CVE-2024-10001',
            'GO-2023-2102 CVE-2023-39325',
            'GO-2023-2102 CVE-2023-44487',
            'GO-2024-0001 CVE-2024-10001',
          ],
        );
        const decisions = await db
          .selectFrom('vex_decisions')
          .select(['id', 'vuln_id'])
          .orderBy('id')
          .execute();
        assert.deepEqual(
          decisions.map((d) => `${d.id} ${d.vuln_id}`),
          ['vex1.0 CVE-2023-39325', 'vex1.1 CVE-2023-44487', 'vex2 CVE-2024-10001'],
        );
        const kase = await db.selectFrom('report_cases').select('vuln_id').executeTakeFirstOrThrow();
        assert.equal(kase.vuln_id, 'CVE-2023-39325');
        const go = await db
          .selectFrom('vulnerabilities')
          .select('canonical_id')
          .where('id', '=', 'GO-2024-0001')
          .executeTakeFirstOrThrow();
        assert.equal(go.canonical_id, 'CVE-2024-10001');
      } finally {
        await store.close();
        await database.drop();
      }
    });
  });
}
