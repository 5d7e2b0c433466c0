import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { sql } from 'kysely';
import { testDialects } from '../../store/test-helper.js';
import { plugCapabilities, type TestApp, testApp } from '../../test-support/app.js';
import { createRelease, initRepository, makerKeys } from '../../test-support/updates.js';

/**
 * Hostile SBOMs and advisories through the real import paths (HTTP API → service → database), on
 * SQLite and PostgreSQL: each is refused with a clear error and nothing is stored. PostgreSQL is
 * the stricter store (no NUL in text, `real` overflows at 3.4e38), so a parser that let these
 * through failed there with a 500 in the middle of a transaction.
 */
const data = join(fileURLToPath(new URL('.', import.meta.url)), '../../../../../test/data');
const read = (path: string) => JSON.parse(readFileSync(join(data, path), 'utf8')) as Record<string, unknown>;

/**
 * The document as JSON text with a list nested 5,000 levels deep in place of "NESTED" (text: the
 * test's own JSON.stringify would overflow its stack first).
 */
const deeplyNested = (document: Record<string, unknown>) =>
  JSON.stringify(document).replace('"NESTED"', `${'['.repeat(5_000)}${']'.repeat(5_000)}`);

const tables = [
  'sboms',
  'sbom_components',
  'sbom_component_keys',
  'vulnerabilities',
  'vulnerability_ids',
  'vulnerability_affected',
  'vulnerability_matches',
  'known_exploited',
  'report_cases',
  'audit_entries',
  'artifacts',
] as const;

for (const dialect of testDialects) {
  describe(`hostile SBOMs and advisories are refused and store nothing (${dialect})`, () => {
    let t: TestApp;
    let releaseId: string;
    const counts = async () => {
      const db = t.app.services.store.db;
      const out: Record<string, number> = {};
      for (const table of tables) {
        const row = await sql<{ n: number | string }>`select count(*) as n from ${sql.table(table)}`.execute(
          db,
        );
        out[table] = Number(row.rows[0]?.n);
      }
      return out;
    };

    before(async () => {
      t = await testApp(dialect);
      await t.org('acme');
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
      await initRepository(t, 'acme', makerKeys());
      releaseId = await createRelease(t, 'acme', product.body.id, Buffer.from('image'), { version: '1.0.0' });
      // A good SBOM and good records first: a refused import must leave them as they are.
      const sbom = await t.call('PUT', `/v1/orgs/acme/releases/${releaseId}/sbom`, {
        body: read('sbom/cyclonedx-1.4-obom-keycloak-rhel8-os.json'),
      });
      assert.equal(sbom.status, 201, sbom.raw);
      const feeds = await t.call('POST', '/v1/platform/vulnerabilities/import', {
        body: { documents: [{ name: 'nvd', content: read('nvd/CVE-2022-0847.json') }] },
      });
      assert.equal(feeds.status, 200, feeds.raw);
      assert.equal(feeds.body.records.created, 1);
    });
    after(async () => t?.close());

    const debian = read('sbom/cyclonedx-1.5-debian-12-dpkg.json');
    const debianWith = (patch: Record<string, unknown>) => ({
      ...debian,
      components: [{ ...(debian.components as Array<Record<string, unknown>>)[0], ...patch }],
    });
    const debianText = JSON.stringify(debian);
    for (const [what, body, expected] of [
      ['a truncated file', debianText.slice(0, Math.floor(debianText.length / 2)), /malformed-request/],
      [
        'a `__proto__` key',
        debianText.replace('{', '{"__proto__":{"polluted":true},'),
        /the key __proto__ is not allowed/,
      ],
      [
        'a number that overflows to Infinity (1e309)',
        debianText.replace('"version":1', '"version":1e309'),
        /\/version/,
      ],
      ['a NUL in a component name', debianWith({ name: 'adduser\u0000' }), /\/components\/0\/name/],
      [
        'a right-to-left override in a purl',
        debianWith({ purl: 'pkg:deb/debian/adduser@3.134\u202e' }),
        /\/components\/0\/purl/,
      ],
      ['a lone surrogate in a version', debianWith({ version: '\ud800' }), /\/components\/0\/version/],
      ['nesting 5,000 levels deep', deeplyNested({ ...debian, components: 'NESTED' }), /nested deeper/],
      ['specVersion "constructor"', { ...debian, specVersion: 'constructor' }, /\/specVersion/],
      [
        'a component name of 100,000 characters',
        debianWith({ name: 'a'.repeat(100_000) }),
        /longer than 1000/,
      ],
    ] as const) {
      it(`SBOM with ${what}: 400, and nothing stored or replaced`, async () => {
        const before = await counts();
        const response = await t.call('PUT', `/v1/orgs/acme/releases/${releaseId}/sbom`, { body });
        assert.equal(response.status, 400, response.raw);
        assert.match(response.raw, expected);
        assert.deepEqual(await counts(), before);
        const kept = await t.call('GET', `/v1/orgs/acme/releases/${releaseId}/sbom`);
        assert.equal(kept.body.componentCount, 1, 'the earlier SBOM is still the release’s');
        assert.equal(({} as Record<string, unknown>).polluted, undefined);
      });
    }

    const osv = read('osv/GHSA-p6mc-m468-83gw.json');
    const csaf = read('csaf/bsi-2022-0001.json');
    for (const [what, content, expected] of [
      ['a NUL in an OSV record’s details', { ...osv, details: 'prototype\u0000pollution' }, /\/details/],
      [
        'an infinite CVSS score in CSAF (1e309)',
        JSON.stringify(csaf).replace(/"baseScore": *[0-9.]+/, '"baseScore":1e309'),
        /not (a )?finite/,
      ],
      [
        'an OSV id with a right-to-left override',
        { ...osv, id: 'GHSA-p6mc\u202e-m468-83gw' },
        /holds a line break, tab, control or bidirectional/,
      ],
      [
        'a KEV catalog with a NUL in a vendor',
        { catalogVersion: '1', vulnerabilities: [{ cveID: 'CVE-2024-0001', vendorProject: 'x\u0000' }] },
        /vendorProject/,
      ],
      ['nesting 5,000 levels deep', deeplyNested({ ...osv, database_specific: 'NESTED' }), /nested deeper/],
    ] as const) {
      it(`advisory with ${what}: reported, and nothing stored`, async () => {
        const before = await counts();
        // Sent as text: JSON.stringify would turn Infinity into null.
        const text = typeof content === 'string' ? content : JSON.stringify(content);
        const response = await t.call('POST', '/v1/platform/vulnerabilities/import', {
          body: `{"documents":[{"name":"hostile","content":${text}}]}`,
        });
        if (response.status === 400) {
          // The API's one input layer (http/input.ts) refuses NUL and non-finite numbers in any
          // body before a parser runs; the parsers' own refusals are the property tests' subject.
          assert.match(response.raw, /validation-failed/);
          assert.match(response.raw, expected);
        } else {
          assert.equal(response.status, 200, response.raw);
          assert.deepEqual(response.body.records, { created: 0, updated: 0, unchanged: 0 });
          assert.equal(response.body.problems[0]?.document, 'hostile');
          assert.match(response.body.problems[0]?.message ?? '', expected);
        }
        assert.deepEqual(await counts(), before);
      });
    }

    it('a CSAF score of 1e300 (finite, but beyond PostgreSQL real) is stored as no score', async () => {
      const content = JSON.parse(JSON.stringify(csaf).replace(/"baseScore": *[0-9.]+/, '"baseScore":1e300'));
      const response = await t.call('POST', '/v1/platform/vulnerabilities/import', {
        body: { documents: [{ name: 'csaf', content }] },
      });
      assert.equal(response.status, 200, response.raw);
      assert.ok(response.body.records.created >= 1, response.raw);
      const rows = await t.app.services.store.db
        .selectFrom('vulnerabilities')
        .select(['severity_score'])
        .where('source', '=', 'csaf')
        .execute();
      assert.ok(
        rows.length > 0 && rows.every((r) => r.severity_score === null || Number(r.severity_score) <= 10),
      );
    });
  });
}
