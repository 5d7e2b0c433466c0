import assert from 'node:assert/strict';
import {
  appendFileSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import * as age from 'age-encryption';
import type { Kysely } from 'kysely';
import { type Dialect, openStore } from '../store/db.js';
import type { Database } from '../store/schema.js';
import { freshDatabase, type TestDatabase, testDialects } from '../store/test-helper.js';
import { plugCapabilities, type TestApp, testApp } from '../test-support/app.js';
import { createRelease, initRepository, makerKeys, signTargets } from '../test-support/updates.js';
import { migrateArtifacts } from '../updates/artifact-migrate.js';
import { FilesystemArtifactStore } from '../updates/artifact-store.js';
import { PostgresArtifactStore } from '../updates/artifact-store-pg.js';
import { deposit } from './deposit.js';
import { locateDeposit } from './manifest.js';
import { restoreDeposit } from './restore.js';
import { decryptSecrets } from './secrets.js';
import { ESCROW_TABLES, liveColumns } from './tables.js';
import { verifyDeposit } from './verify.js';

const here = dirname(fileURLToPath(import.meta.url));
const data = join(here, '../../../../test/data');
const fixtures = join(here, '../vulnerabilities/fixtures');
const readJson = (path: string): unknown => JSON.parse(readFileSync(path, 'utf8'));

/** Every row of every table, normalised (numbers as numbers) and sorted: equal digests, equal data. */
async function digest(db: Kysely<Database>): Promise<Record<string, string[]>> {
  const columns = await liveColumns(db);
  const out: Record<string, string[]> = {};
  for (const table of ESCROW_TABLES) {
    const cols = columns.get(table.name) ?? [];
    const rows = await db.selectFrom(table.name).selectAll().execute();
    out[table.name] = rows
      .map((row) =>
        JSON.stringify(
          cols.map((c) => {
            const v = (row as Record<string, unknown>)[c.name];
            return c.numeric && v !== null && v !== undefined ? Number(v) : (v ?? null);
          }),
        ),
      )
      .sort();
  }
  return out;
}

// Source and target of each restore are different dialects whenever PostgreSQL is available.
const pairs: [Dialect, Dialect][] = testDialects.includes('postgres')
  ? [
      ['sqlite', 'postgres'],
      ['postgres', 'sqlite'],
    ]
  : [['sqlite', 'sqlite']];

for (const [from, to] of pairs) {
  describe(`escrow: deposit from ${from}, verify, restore into ${to}`, () => {
    let t: TestApp;
    let work: string;
    let escrowDir: string;
    let identity: string;
    let recipient: string;
    let target: TestDatabase;
    let masterKeyFile: string;
    const keys = makerKeys();
    const source = () => ({
      database: t.database.url,
      // The app's own store: PostgreSQL's on PostgreSQL (issue 19 §4), the directory on SQLite.
      artifacts: t.app.services.artifacts,
      dataDir: t.database.dataDir,
      masterKeyFile,
      config: { note: 'test config' },
      openapi: { openapi: '3.1.0' },
    });

    before(async () => {
      work = mkdtempSync(join(tmpdir(), 'brickless-escrow-test-'));
      escrowDir = join(work, 'escrow');
      masterKeyFile = join(work, 'master.key');
      identity = await age.generateX25519Identity();
      recipient = await age.identityToRecipient(identity);
      t = await testApp(from, { masterKeyFile, https: true, artifactStore: 'auto' });
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
      await initRepository(t, 'acme', keys);
      const r120 = await createRelease(t, 'acme', product.body.id, Buffer.from('image 1.2.0'), {
        version: '1.2.0',
      });
      await createRelease(t, 'acme', product.body.id, Buffer.from('image 1.3.0'), {
        version: '1.3.0',
        kind: 'security',
        securityVersion: 2,
      });
      await signTargets(t, 'acme', [keys.targets[0] as never]);
      const sbom = await t.call('PUT', `/v1/orgs/acme/releases/${r120}/sbom`, {
        body: readJson(join(fixtures, 'firmware-1.2.0.cdx.json')),
      });
      assert.equal(sbom.status, 201, sbom.raw);
      const provisioned = await t.call('POST', '/v1/orgs/acme/provisioning', {
        body: {
          productId: product.body.id,
          serials: ['S1', 'S2', 'S3', 'S4'],
          credential: 'secret',
          firmwareVersion: '1.2.0',
        },
      });
      assert.equal(provisioned.status, 201, provisioned.raw);
      const devices = provisioned.body.devices as { deviceId: string; secret: string }[];
      const first = devices[0]?.deviceId as string;
      assert.equal(
        (
          await t.call('PATCH', `/v1/orgs/acme/devices/${first}/state`, {
            body: { version: 0, desired: { on: true } },
          })
        ).status,
        200,
      );
      assert.equal(
        (
          await t.call('POST', `/v1/orgs/acme/devices/${first}/commands`, {
            body: { name: 'blink', params: { times: 3 } },
          })
        ).status,
        201,
      );
      const certificate = await t.call('POST', `/v1/orgs/acme/devices/${devices[1]?.deviceId}/credentials`, {
        body: { kind: 'certificate' },
      });
      assert.ok([200, 201].includes(certificate.status), certificate.raw);
      await t.app.services.store.db
        .insertInto('telemetry')
        .values(
          Array.from({ length: 500 }, (_, i) => ({
            org_id: product.body.orgId as string,
            device_id: devices[i % 4]?.deviceId as string,
            field: i % 2 ? 'power' : 'note',
            ts: 1_780_000_000_000 + i * 1000,
            num_value: i % 2 ? i + 0.25 : null,
            text_value: i % 2 ? null : `reading "${i}" ü\n'; drop table devices; --`,
          })),
        )
        .execute();
      const rollout = await t.call('POST', '/v1/orgs/acme/rollouts', {
        body: { releaseId: r120, selector: { firmwareVersions: ['1.2.0'] }, waves: [50, 100] },
      });
      assert.equal(rollout.status, 201, rollout.raw);
      const imported = await t.call('POST', '/v1/platform/vulnerabilities/import', {
        body: {
          documents: [
            ...readdirSync(join(data, 'osv'))
              .filter((f) => f.endsWith('.json'))
              .map((f) => `osv/${f}`),
            'kev/known_exploited_vulnerabilities.json',
          ].map((name) => ({ name, content: readJson(join(data, name)) })),
        },
      });
      assert.equal(imported.status, 200, imported.raw);
      // A webhook (its secret sealed): a successor must keep signing with it.
      const hook = await t.call('POST', '/v1/orgs/acme/webhooks', {
        body: { url: 'https://93.184.216.34/brickless', events: ['rollout.halted'] },
      });
      assert.equal(hook.status, 201, hook.raw);
    });
    after(async () => {
      await t.close();
      await target?.drop();
      rmSync(work, { recursive: true, force: true });
    });

    it('deposits every table, the artifacts, trust material, documents and sealed secrets', async () => {
      const progress: string[] = [];
      const manifest = await deposit(source(), {
        out: escrowDir,
        recipients: [recipient],
        onProgress: (p) => progress.push(p.phase),
      });
      assert.equal(manifest.sequence, 1);
      assert.equal(manifest.previous, null);
      assert.equal(Object.keys(manifest.tables).length, ESCROW_TABLES.length);
      assert.equal(manifest.tables.telemetry?.rows, 500);
      assert.equal(manifest.tables.devices?.rows, 4);
      assert.equal(manifest.artifacts.length, 3, 'two images and the SBOM document');
      // The PostgreSQL store's chunk tables are not deposited as rows: the bytes travel as artifacts.
      assert.equal(t.app.services.artifacts.kind, from === 'postgres' ? 'postgres' : 'local');
      assert.ok(!manifest.tables.artifact_blobs && !manifest.tables.artifact_chunks);
      assert.ok(manifest.files['trust/acme/1.root.json']);
      assert.ok(manifest.files['trust/acme/device-ca.crt']);
      assert.ok(manifest.files['trust/server-ca.crt']);
      assert.ok(manifest.files['docs/protocol.md'] && manifest.files['docs/asyncapi.yaml']);
      assert.ok(progress.includes('data') && progress.includes('artifacts'));
      // Secrets are sealed: neither the master key nor a TLS private key appears in the clear.
      const located = locateDeposit(escrowDir);
      const masterKey = readFileSync(masterKeyFile, 'utf8').trim();
      const sealed = readFileSync(join(located.depositDir, 'secrets.age'));
      assert.ok(!sealed.includes(masterKey));
      const secrets = await decryptSecrets(sealed, identity);
      assert.equal(secrets.masterKey, masterKey);
      assert.match(secrets.tls['server.key'] ?? '', /PRIVATE KEY/);
      assert.match(readFileSync(join(located.depositDir, 'RESTORE.md'), 'utf8'), /escrow restore/);
    });

    it('verifies to the restorability level with the identity, and to completeness without it', async () => {
      const full = await verifyDeposit(escrowDir, { identity });
      assert.equal(full.level, 'restorability', JSON.stringify(full.checks.filter((c) => !c.ok)));
      assert.ok(full.ok);
      const sealedKeys = full.checks.find((c) => c.name === 'sealed keys');
      assert.match(
        sealedKeys?.detail ?? '',
        /opens all 4 sealed keys/,
        'snapshot + timestamp keys, the device CA key and the webhook secret',
      );
      const partial = await verifyDeposit(escrowDir, {});
      assert.equal(partial.level, 'completeness');
      assert.deepEqual(partial.skipped, ['restorability']);
      const wrong = await verifyDeposit(escrowDir, { identity: await age.generateX25519Identity() });
      assert.equal(wrong.ok, false);
      assert.equal(wrong.level, 'completeness');
    });

    it(`restores into an empty ${to} database with every row, artifact and sealed key, and the audit chains intact`, async () => {
      target = await freshDatabase(to);
      const located = locateDeposit(escrowDir);
      const secrets = await decryptSecrets(readFileSync(join(located.depositDir, 'secrets.age')), identity);
      const artifacts = new FilesystemArtifactStore(join(target.dataDir, 'artifacts'));
      const report = await restoreDeposit(located, {
        database: target.url,
        secrets,
        artifactDir: join(target.dataDir, 'artifacts'),
      });
      assert.equal(report.artifacts, 3);
      assert.equal(report.sealedSecretsOpened, 4, 'two TUF online keys, the device CA, the webhook secret');
      assert.ok(report.chains.length >= 2 && report.chains.every((c) => c.ok), JSON.stringify(report.chains));
      const restored = await openStore(target.url);
      try {
        assert.deepEqual(
          await digest(restored.db),
          await digest(t.app.services.store.db),
          'no row lost or changed',
        );
      } finally {
        await restored.close();
      }
      for (const a of located.manifest.artifacts)
        assert.equal(await artifacts.size(a.orgId, a.sha256), a.length);
      if (to === 'postgres') {
        // A restore writes the directory; `artifacts migrate` then moves it into the PostgreSQL store.
        const moved = await openStore(target.url);
        try {
          const report = await migrateArtifacts(moved.db, artifacts, new PostgresArtifactStore(moved.db));
          assert.deepEqual([report.copied, report.present, report.missing], [3, 0, []]);
          const again = await migrateArtifacts(moved.db, artifacts, new PostgresArtifactStore(moved.db));
          assert.deepEqual([again.copied, again.present], [0, 3], 'a second run copies nothing');
        } finally {
          await moved.close();
        }
      }
      // A second restore into the same (now full) database is refused and changes nothing.
      await assert.rejects(
        restoreDeposit(located, { database: target.url, secrets }),
        /target database .* is not empty/,
      );
    });

    it('deposits again incrementally: unchanged chunks and artifacts are not written twice, and the chain links', async () => {
      const before = locateDeposit(escrowDir);
      await t.app.services.store.db
        .insertInto('telemetry')
        .values({
          org_id: (
            await t.app.services.store.db.selectFrom('organizations').select('id').executeTakeFirstOrThrow()
          ).id,
          device_id: 'dev_late',
          field: 'power',
          ts: 1_790_000_000_000,
          num_value: 1,
          text_value: null,
        })
        .execute();
      const second = await deposit(source(), { out: escrowDir, recipients: [recipient] });
      assert.equal(second.sequence, 2);
      assert.deepEqual(second.previous, { id: before.manifest.id, sha256: before.manifestSha256 });
      assert.equal(second.stats.newArtifacts, 0);
      assert.ok(second.stats.newChunks <= 2, `only the changed chunk is new (${second.stats.newChunks})`);
      assert.ok(second.stats.chunks > second.stats.newChunks);
      const report = await verifyDeposit(escrowDir, {});
      assert.ok(report.ok, JSON.stringify(report.checks));
      assert.ok(report.checks.some((c) => c.name === 'deposit chain' && c.ok));
    });

    it('finds every kind of damage and names it', async () => {
      const located = locateDeposit(escrowDir);
      const manifest = located.manifest;
      // An altered chunk.
      const chunk = manifest.tables.devices?.chunks[0]?.sha256 as string;
      const chunkPath = join(escrowDir, 'objects', chunk.slice(0, 2), `${chunk}.ndjson.gz`);
      const chunkBytes = readFileSync(chunkPath);
      appendFileSync(chunkPath, Buffer.from([0x1f, 0x8b, 0x00]));
      let report = await verifyDeposit(escrowDir, {});
      assert.equal(report.ok, false);
      assert.equal(report.level, null);
      assert.match(report.checks.find((c) => c.name === 'data chunks')?.detail ?? '', /devices/);
      writeFileSync(chunkPath, chunkBytes);
      // A missing artifact.
      const blob = manifest.artifacts[0]?.sha256 as string;
      const blobPath = join(escrowDir, 'objects', blob.slice(0, 2), blob);
      const blobBytes = readFileSync(blobPath);
      unlinkSync(blobPath);
      report = await verifyDeposit(escrowDir, {});
      assert.match(report.checks.find((c) => c.name === 'artifacts')?.detail ?? '', /missing/);
      writeFileSync(blobPath, blobBytes);
      // An altered document, and a tampered earlier manifest.
      const protocol = join(located.depositDir, 'docs/protocol.md');
      const text = readFileSync(protocol, 'utf8');
      writeFileSync(protocol, `${text}\nmalicious`);
      report = await verifyDeposit(escrowDir, {});
      assert.match(report.checks.find((c) => c.name === 'files')?.detail ?? '', /docs\/protocol.md altered/);
      writeFileSync(protocol, text);
      const firstManifest = join(
        dirname(located.depositDir),
        manifest.previous?.id as string,
        'manifest.json',
      );
      const firstText = readFileSync(firstManifest, 'utf8');
      writeFileSync(firstManifest, firstText.replace('"sequence": 1', '"sequence": 1 '));
      report = await verifyDeposit(escrowDir, {});
      assert.equal(report.checks.find((c) => c.name === 'deposit chain')?.ok, false);
      writeFileSync(firstManifest, firstText);
      // A truncated manifest is a clear error, not a crash.
      const manifestPath = join(located.depositDir, 'manifest.json');
      const manifestText = readFileSync(manifestPath, 'utf8');
      writeFileSync(manifestPath, manifestText.slice(0, 200));
      await assert.rejects(verifyDeposit(escrowDir, {}), /not JSON \(truncated or damaged\)/);
      // A hostile manifest: a part outside the deposit, a table without chunks.
      const hostile = JSON.parse(manifestText);
      hostile.files['../../../etc/passwd'] = { sha256: '0'.repeat(64), bytes: 1 };
      hostile.tables.devices = { columns: [], rows: 'many' };
      writeFileSync(manifestPath, JSON.stringify(hostile));
      await assert.rejects(
        verifyDeposit(escrowDir, {}),
        /damaged: table devices; file name "\.\.\/\.\.\/\.\.\/etc\/passwd"/,
      );
      writeFileSync(manifestPath, manifestText);
      assert.ok((await verifyDeposit(escrowDir, {})).ok, 'all repaired');
    });
  });
}
