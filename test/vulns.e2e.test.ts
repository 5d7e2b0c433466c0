import assert from 'node:assert/strict';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { zipSync } from 'fflate';
import { freshDatabase, type TestDatabase, testDialects } from '../packages/server/src/store/test-helper.js';
import { validateCsaf } from '../packages/server/src/vulnerabilities/publication/csaf.js';
import { assertBuilt, brickless, bricklessJson, root } from './support/cli.js';

const data = join(root, 'test', 'data');
const fixtures = join(root, 'packages', 'server', 'src', 'vulnerabilities', 'fixtures');

/** From feeds on disk to exposed devices, triage, VEX and a report case, with the CLI a user types. */
for (const dialect of testDialects) {
  describe(`brickless vulns on the data dir (${dialect})`, () => {
    let db: TestDatabase;
    let base: string[];
    const ids: Record<string, any> = {};
    const file = (name: string) => join(db.dataDir, name);

    before(async () => {
      assertBuilt();
      db = await freshDatabase(dialect);
      base = ['--data-dir', db.dataDir, '--database', db.url];
      await bricklessJson([...base, 'orgs', 'create', '--slug', 'acme', '--name', 'Acme GmbH']);
      ids.brand = (
        await bricklessJson([
          ...base,
          'brands',
          'create',
          '--name',
          'Acme Home',
          '--responsible-party',
          'Acme GmbH',
          '--security-contact',
          'mailto:psirt@acme.example',
        ])
      ).id;
      writeFileSync(
        file('caps.json'),
        JSON.stringify({ telemetry: { power: { schema: { type: 'number' }, unit: 'W' } } }),
      );
      ids.product = (
        await bricklessJson([
          ...base,
          'products',
          'create',
          '--model',
          'PLUG-1',
          '--name',
          'Smart plug',
          '--revision',
          'A',
          '--support-ends',
          '2033-01-01',
          '--brand',
          ids.brand,
          '--capabilities',
          file('caps.json'),
        ])
      ).id;
      for (let i = 0; i < 3; i++)
        await bricklessJson([
          ...base,
          'devices',
          'create',
          '--product',
          ids.product,
          '--serial',
          `S-${i}`,
          '--firmware',
          '1.2.0',
        ]);
    });
    after(async () => db.drop());

    it('imports feeds from files, a directory and a zip, and reports what it did', async () => {
      writeFileSync(file('fw-1.2.0.bin'), 'firmware 1.2.0');
      const release = await bricklessJson([
        ...base,
        'release',
        'create',
        '1.2.0',
        '--product',
        ids.product,
        '--file',
        file('fw-1.2.0.bin'),
        '--kind',
        'feature',
        '--security-version',
        '1',
        '--sbom',
        join(fixtures, 'firmware-1.2.0.cdx.json'),
      ]);
      assert.equal(release.sbom.componentCount, 5);
      assert.equal(release.sbom.matches, 0, 'no vulnerability data yet');
      ids.release = release.id;
      const osv = Object.fromEntries(
        readdirSync(join(data, 'osv')).map((f) => [`osv/${f}`, readFileSync(join(data, 'osv', f))]),
      );
      writeFileSync(file('osv.zip'), zipSync(osv));
      const report = await bricklessJson([
        ...base,
        'vulns',
        'import',
        join(data, 'nvd'),
        file('osv.zip'),
        join(data, 'kev', 'known_exploited_vulnerabilities.json'),
        join(data, 'csaf', 'bsi-2022-0001.json'),
      ]);
      assert.equal(report.records.created, 7 + 14 + 1);
      assert.equal(report.knownExploited.total, 1404);
      assert.equal(report.matches.added, 4);
      assert.equal(report.reportCasesOpened, 1, 'Dirty Pipe is in KEV');
      const again = await bricklessJson([...base, 'vulns', 'import', join(data, 'nvd')]);
      assert.equal(again.records.unchanged, 7);
      const table = await brickless([...base, 'vulns', 'import', join(data, 'kev')]);
      assert.equal(table.code, 0, table.stderr);
      assert.match(table.stdout, /KEV entries\s+1404 \(0 new\)/);
      assert.match(table.stderr, /problem: .*schema\.json: not a known vulnerability format/);
      const broken = await brickless([...base, 'vulns', 'import', join(fixtures, 'firmware-1.3.0.cdx.json')]);
      assert.equal(broken.code, 1);
    });

    it('answers "which devices are exposed to CVE-X?" in one command, then triage, VEX and the report case', async () => {
      const exposure = await bricklessJson([...base, 'vulns', 'exposure', 'CVE-2022-0847', '--devices']);
      assert.equal(exposure.devicesExposed, 3);
      assert.equal(exposure.devices.length, 3);
      const human = await brickless([...base, 'vulns', 'exposure', 'CVE-2022-0847']);
      assert.match(human.stdout, /CVE-2022-0847: 3 devices exposed/);
      assert.match(human.stdout, /linux@5\.15\.20/);
      const list = await brickless([...base, 'vulns', 'list']);
      assert.match(
        list.stdout.split('\n').find((l) => l.includes('CVE-')) ?? '',
        /CVE-2022-0847.*yes/,
        'known exploited first',
      );
      const triaged = await bricklessJson([
        ...base,
        'vulns',
        'triage',
        'CVE-2022-48174',
        '--product',
        ids.product,
        '--status',
        'not_affected',
        '--justification',
        'vulnerable_code_not_in_execute_path',
        '--impact',
        'ash is not reachable from the network',
      ]);
      assert.equal(triaged.status, 'not_affected');
      const bad = await brickless([
        ...base,
        'vulns',
        'triage',
        'CVE-2022-48174',
        '--product',
        ids.product,
        '--status',
        'not_affected',
      ]);
      assert.equal(bad.code, 1);
      assert.match(bad.stderr, /justification/);
      await brickless([...base, 'vex', '--format', 'csaf', '--out', file('vex.json')]);
      const vex = JSON.parse(readFileSync(file('vex.json'), 'utf8'));
      const result = await validateCsaf(vex);
      assert.ok(result.isValid, result.errors.join('\n'));
      const busybox = vex.vulnerabilities.find((v: { cve: string }) => v.cve === 'CVE-2022-48174');
      assert.deepEqual(busybox.flags[0].label, 'vulnerable_code_not_in_execute_path');
      const cases = await bricklessJson([...base, 'reports', 'list']);
      assert.equal(cases.items.length, 1);
      const draft = await bricklessJson([
        ...base,
        'reports',
        'draft',
        cases.items[0].id,
        '--stage',
        'early-warning',
      ]);
      assert.deepEqual(draft.affectedVersions, ['1.2.0']);
      assert.equal(draft.devicesInField, 3);
      assert.ok(draft.manufacturers.length > 0 && draft.manufacturers.every((m: { name: string }) => m.name));
      // What the report still lacks is on stderr, so stdout stays the JSON draft.
      const plain = await brickless([
        ...base,
        'reports',
        'draft',
        cases.items[0].id,
        '--stage',
        'early-warning',
      ]);
      assert.equal(plain.code, 0, plain.stderr);
      assert.deepEqual(
        JSON.parse(plain.stdout).missing.map((m: { field: string }) => m.field),
        draft.missing.map((m: { field: string }) => m.field),
      );
      assert.match(plain.stderr, /^missing: the Member States where the product is made available/m);
      const submitted = await bricklessJson([
        ...base,
        'reports',
        'submit',
        cases.items[0].id,
        '--stage',
        'early-warning',
        '--reference',
        'SRP-42',
      ]);
      assert.equal(submitted.clocks[0].state, 'submitted');
    });
  });
}
