import assert from 'node:assert/strict';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { migrations } from '../packages/server/src/store/migrations/index.js';
import { openSqliteConnection } from '../packages/server/src/store/sqlite-driver.js';
import { freshDatabase, type TestDatabase, testDialects } from '../packages/server/src/store/test-helper.js';
import { assertBuilt, brickless, bricklessJson } from './support/cli.js';

/** The whole fleet registry through the `brickless` command, as a user types it, on each dialect. */
for (const dialect of testDialects) {
  describe(`brickless CLI on the data dir (${dialect})`, () => {
    let db: TestDatabase;
    let base: string[];
    const ids: any = {};

    before(async () => {
      assertBuilt();
      db = await freshDatabase(dialect);
      base = ['--data-dir', db.dataDir, '--database', db.url];
    });
    after(async () => {
      await db.drop();
    });

    it('migrate reports the schema', async () => {
      const report = await bricklessJson([...base, 'migrate']);
      assert.equal(report.dialect, dialect);
      assert.deepEqual(report.applied, Object.keys(migrations));
      const again = await brickless([...base, 'migrate']);
      assert.ok(again.stdout.includes(`schema up to date (${Object.keys(migrations).at(-1)})`), again.stdout);
    });

    it('creates an organisation, a brand, a product and devices', async () => {
      ids.org = (
        await bricklessJson([...base, 'orgs', 'create', '--slug', 'acme', '--name', 'Acme GmbH'])
      ).id;
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
      const capabilities = join(db.dataDir, 'plug.json');
      writeFileSync(
        capabilities,
        JSON.stringify({ telemetry: { power: { schema: { type: 'number' }, unit: 'W' } } }),
      );
      const product = await bricklessJson([
        ...base,
        'products',
        'create',
        '--model',
        'PLUG-1',
        '--name',
        'Smart plug',
        '--revision',
        'A',
        '--placed-on-market',
        '2026-01-01',
        '--support-ends',
        '2033-01-01',
        '--brand',
        ids.brand,
        '--capabilities',
        capabilities,
      ]);
      ids.product = product.id;
      assert.deepEqual(Object.keys(product.capabilities.telemetry), ['power']);
      for (const [serial, tag] of [
        ['SN-1', 'lab'],
        ['SN-2', 'field'],
      ] as const) {
        const device = await bricklessJson([
          ...base,
          'devices',
          'create',
          '--product',
          ids.product,
          '--serial',
          serial,
          '--tag',
          tag,
        ]);
        assert.equal(device.brandId, ids.brand, 'the only brand is taken');
        ids[serial] = device.id;
      }
    });

    it('lists as a readable table and as JSON, with filters', async () => {
      const table = await brickless([...base, 'devices', 'list']);
      assert.equal(table.code, 0);
      assert.match(table.stdout, /│ serial\s+│/);
      assert.match(table.stdout, /SN-1/);
      const lab = await bricklessJson([...base, 'devices', 'list', '--tag', 'lab']);
      assert.deepEqual(
        lab.items.map((d: { serial: string }) => d.serial),
        ['SN-1'],
      );
    });

    it('warns on stderr about a support period under five years', async () => {
      const result = await brickless([
        ...base,
        'products',
        'create',
        '--model',
        'SHORT',
        '--name',
        'Short-lived',
        '--revision',
        '1',
        '--placed-on-market',
        '2026-01-01',
        '--support-ends',
        '2027-01-01',
      ]);
      assert.equal(result.code, 0);
      assert.match(result.stderr, /^warning: support period is 12 months .*CRA Art\. 13\(8\)/m);
    });

    it('reports errors as one line and a non-zero exit, changing nothing', async () => {
      const dup = await brickless([
        ...base,
        'devices',
        'create',
        '--product',
        ids.product as string,
        '--serial',
        'SN-1',
      ]);
      assert.equal(dup.code, 1);
      assert.equal(dup.stderr, 'brickless: a device with serial "SN-1" exists for this product\n');
      const bad = await brickless([
        ...base,
        'products',
        'create',
        '--model',
        'X',
        '--name',
        'X',
        '--revision',
        '1',
        '--support-ends',
        'soon',
      ]);
      assert.equal(bad.code, 1);
      assert.match(bad.stderr, /^brickless: body \/supportEnds: must match/);
      assert.equal(bad.stderr.trim().split('\n').length, 1);
      const missing = await brickless([...base, 'devices', 'get', 'dev_00000000000000000000000000ff']);
      assert.equal(missing.code, 1);
      assert.match(missing.stderr, /not found/);
      const usage = await brickless([...base, 'devices', 'create']);
      assert.notEqual(usage.code, 0);
      assert.match(usage.stderr, /required option '--product <product>' not specified/);
      const list = await bricklessJson([...base, 'devices', 'list']);
      assert.equal(list.items.length, 2);
    });

    it('updates and decommissions a device', async () => {
      const updated = await bricklessJson([
        ...base,
        'devices',
        'update',
        ids['SN-2'] as string,
        '--firmware',
        '1.2.0',
        '--clear-tags',
      ]);
      assert.equal(updated.firmwareVersion, '1.2.0');
      assert.deepEqual(updated.tags, []);
      const removed = await brickless([...base, 'devices', 'delete', ids['SN-2'] as string]);
      assert.match(removed.stdout, /decommissioned device dev_\w+ \(serial SN-2\)/);
    });

    it('issues and revokes a device secret and reads telemetry back', async () => {
      const issued = await bricklessJson([...base, 'devices', 'secret', ids['SN-1']]);
      assert.match(issued.secret, /^bds_[A-Za-z0-9_-]{43}$/);
      const human = await brickless([...base, 'devices', 'secret', ids['SN-1']]);
      assert.match(human.stdout, /secret \(shown once/);
      const none = await bricklessJson([...base, 'devices', 'telemetry', ids['SN-1'], '--field', 'power']);
      assert.deepEqual(none.points, []);
      const badField = await brickless([...base, 'devices', 'telemetry', ids['SN-1'], '--field', 'colour']);
      assert.equal(badField.code, 1);
      assert.match(badField.stderr, /not a telemetry field/);
      const revoked = await bricklessJson([...base, 'devices', 'revoke', ids['SN-1']]);
      assert.deepEqual(revoked, { revoked: 1 });
    });

    it('provisions a factory batch with unique secrets into a private JSONL file, atomically per batch', async () => {
      const out = join(db.dataDir, 'batch.jsonl');
      const result = await bricklessJson([
        ...base,
        'devices',
        'provision',
        '--product',
        ids.product,
        '--serial-prefix',
        'F-',
        '--count',
        '1500',
        '--tag',
        'factory',
        '--out',
        out,
      ]);
      const { claimCodes, ...summary } = result;
      assert.deepEqual(summary, { provisioned: 1500, out });
      const lines = readFileSync(out, 'utf8')
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l));
      assert.equal(lines.length, 1500);
      // The owners' claim codes for the labels: in the file and in --json, the same ones.
      assert.deepEqual(
        claimCodes,
        lines.map((l) => ({ deviceId: l.deviceId, serial: l.serial, claimCode: l.claimCode })),
      );
      assert.equal(new Set(lines.map((l) => l.secret)).size, 1500, 'every device has its own secret');
      assert.equal(lines[0].serial, 'F-000001');
      assert.ok(lines.every((l) => /^bds_/.test(l.secret) && /^dev_/.test(l.deviceId)));
      assert.equal(statSync(out).mode & 0o777, 0o600);
      const again = await brickless([
        ...base,
        'devices',
        'provision',
        '--product',
        ids.product,
        '--serial-prefix',
        'F-',
        '--count',
        '2',
        '--out',
        out,
      ]);
      assert.equal(again.code, 1);
      assert.match(again.stderr, /exists; pass --force/);
      const overlap = await brickless([
        ...base,
        'devices',
        'provision',
        '--product',
        ids.product,
        '--serial-prefix',
        'F-',
        '--first',
        '1499',
        '--count',
        '5',
        '--out',
        `${out}.2`,
      ]);
      assert.equal(overlap.code, 1);
      assert.match(overlap.stderr, /already registered.*nothing was provisioned/);
      const tagged = await bricklessJson([...base, 'devices', 'list', '--tag', 'factory', '--limit', '500']);
      assert.equal(tagged.items.length, 500);
      const f1501 = await bricklessJson([...base, 'devices', 'list', '--serial', 'F-001501']);
      assert.equal(f1501.items.length, 0, 'the refused batch left nothing behind');
    });

    it('creates tokens that are shown once', async () => {
      const created = await bricklessJson([
        ...base,
        'admin',
        'token',
        'create',
        '--role',
        'auditor',
        '--name',
        'auditor',
      ]);
      assert.match(created.token, /^bkl_/);
      const list = await brickless([...base, 'admin', 'token', 'list']);
      assert.match(list.stdout, /auditor/);
      assert.doesNotMatch(list.stdout, /bkl_/);
    });

    it('verifies the audit trail, and fails when an entry was edited', async () => {
      const ok = await brickless([...base, 'audit', 'verify']);
      assert.equal(ok.code, 0, ok.stderr);
      assert.match(ok.stdout, /audit log verified: every chain intact/);
      const trail = await bricklessJson([...base, 'audit', 'list']);
      assert.ok(
        trail.items.some(
          (e: { action: string; actor: string }) =>
            e.action === 'device.create' && e.actor.startsWith('cli:'),
        ),
      );

      const tamper = "update audit_entries set actor = 'nobody' where seq = 2 and chain <> '_platform'";
      if (dialect === 'sqlite') {
        const raw = openSqliteConnection(db.url);
        raw.exec(tamper);
        raw.database.close();
      } else {
        const client = new pg.Client({ connectionString: db.url });
        await client.connect();
        await client.query(tamper);
        await client.end();
      }
      const broken = await brickless([...base, 'audit', 'verify']);
      assert.equal(broken.code, 1, broken.stderr);
      assert.ok(broken.stdout, `no report on stdout; stderr: ${broken.stderr}`);
      assert.match(broken.stdout, /#2: content does not match its hash \(entry edited\)/);
      assert.match(broken.stdout, /audit log BROKEN/);
      const json = await brickless([...base, 'audit', 'verify', '--json']);
      assert.equal(JSON.parse(json.stdout).ok, false);
    });
  });
}
