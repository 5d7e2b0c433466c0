import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { openStore } from '../packages/server/src/store/db.js';
import type { TestDatabase } from '../packages/server/src/store/test-helper.js';
import { testDialects } from '../packages/server/src/store/test-helper.js';
import { testApp } from '../packages/server/src/test-support/app.js';
import { startTestS3, type TestS3 } from '../packages/server/src/test-support/s3.js';
import { uploadArtifact } from '../packages/server/src/test-support/updates.js';
import { assertBuilt, brickless } from './support/cli.js';

interface Report {
  from: string;
  to: string;
  total: number;
  copied: number;
  present: number;
  copiedBytes: number;
  missing: { orgId: string; sha256: string }[];
  configured: boolean;
}

/**
 * `brickless artifacts migrate --to postgres|s3` (issue 19 §4) as an operator runs it: a node
 * whose images are still in its data directory copies them into the shared store, again and
 * again without harm, finishing what an interrupted run left, and naming what it cannot find.
 */
for (const dialect of testDialects) {
  describe(`brickless artifacts migrate (${dialect})`, () => {
    let database: TestDatabase;
    let s3: TestS3;
    let orgId: string;
    const shas: string[] = [];
    const images = [randomBytes(2 * 1024 * 1024 + 5), randomBytes(1000), randomBytes(70_000)];
    const base = () => ['--data-dir', database.dataDir, '--database', database.url];
    const s3Env = () => ({
      BRICKLESS_ARTIFACTS_S3_ENDPOINT: s3.settings.endpoint,
      BRICKLESS_ARTIFACTS_S3_BUCKET: s3.settings.bucket,
      BRICKLESS_ARTIFACTS_S3_REGION: s3.settings.region,
      BRICKLESS_ARTIFACTS_S3_ACCESS_KEY_ID: s3.settings.accessKeyId,
      BRICKLESS_ARTIFACTS_S3_SECRET_ACCESS_KEY: s3.settings.secretAccessKey,
    });
    const run = async (args: string[], env: NodeJS.ProcessEnv = {}) => {
      const result = await brickless([...base(), 'artifacts', 'migrate', ...args], { env });
      return {
        ...result,
        report: result.stdout.startsWith('{') ? (JSON.parse(result.stdout) as Report) : null,
      };
    };

    before(async () => {
      assertBuilt();
      s3 = await startTestS3();
      // A node that kept its images in the directory (artifacts.store local), then stopped.
      const t = await testApp(dialect, { artifactStore: 'local' });
      orgId = (await t.org('acme')).id;
      for (const image of images) shas.push(await uploadArtifact(t, 'acme', image));
      database = t.database;
      await t.app.close();
    });
    after(async () => {
      await s3?.close();
      await database?.drop();
    });

    if (dialect === 'postgres')
      it('copies into PostgreSQL once, skips what is there, and finishes an interrupted run', async () => {
        const first = await run(['--to', 'postgres', '--json']);
        assert.equal(first.code, 0, first.stderr);
        assert.deepEqual(
          { ...first.report, copiedBytes: undefined },
          {
            from: 'local',
            to: 'postgres',
            total: 3,
            copied: 3,
            present: 0,
            missing: [],
            configured: true,
            copiedBytes: undefined,
          },
        );
        assert.equal(
          first.report?.copiedBytes,
          images.reduce((n, i) => n + i.length, 0),
        );
        const again = await run(['--to', 'postgres', '--json']);
        assert.deepEqual([again.report?.copied, again.report?.present], [0, 3]);
        // As if a run had stopped before the last artifact: the next one copies only that.
        const store = await openStore(database.url);
        try {
          const audited = await store.db
            .selectFrom('audit_entries')
            .select(['actor', 'target_id'])
            .where('action', '=', 'artifacts.migrate')
            .execute();
          assert.equal(audited.length, 1, 'the copying run is audited, the idle one is not');
          assert.match(audited[0]?.actor ?? '', /^cli:/);
          await store.db
            .deleteFrom('artifact_blobs')
            .where('sha256', '=', shas[2] as string)
            .execute();
        } finally {
          await store.close();
        }
        const resumed = await run(['--to', 'postgres']);
        assert.equal(resumed.code, 0, resumed.stderr);
        assert.match(
          resumed.stdout,
          /^1 copied \(70000 bytes\), 2 already there, 0 missing, of 3 artifacts: local -> postgres\n$/,
        );
      });
    else
      it('refuses PostgreSQL as the target of a SQLite node', async () => {
        const result = await run(['--to', 'postgres']);
        assert.notEqual(result.code, 0);
        assert.match(result.stderr, /artifacts\.store is postgres but the database is SQLite/);
      });

    it('copies into an S3 bucket and says the nodes still read another store', async () => {
      const result = await run(['--to', 's3'], s3Env());
      assert.equal(result.code, 0, result.stderr);
      assert.match(
        result.stdout,
        /^3 copied \(\d+ bytes\), 0 already there, 0 missing, of 3 artifacts: local -> s3\n/,
      );
      assert.match(result.stdout, /nodes still read the auto store: set artifacts\.store to s3/);
      const configured = await run(['--to', 's3', '--json'], { ...s3Env(), BRICKLESS_ARTIFACTS_STORE: 's3' });
      assert.deepEqual([configured.report?.present, configured.report?.configured], [3, true]);
    });

    it('names artifacts missing from the directory and exits 1', async () => {
      rmSync(join(database.dataDir, 'artifacts', orgId, (shas[1] as string).slice(0, 2), shas[1] as string));
      const bucket = await startTestS3();
      try {
        const result = await run(['--to', 's3', '--json'], {
          ...s3Env(),
          BRICKLESS_ARTIFACTS_S3_ENDPOINT: bucket.settings.endpoint,
        });
        assert.equal(result.code, 1, result.stderr);
        assert.deepEqual(result.report?.missing, [{ orgId, sha256: shas[1] }]);
        assert.equal(result.report?.copied, 2);
      } finally {
        await bucket.close();
      }
    });

    it('refuses an unknown target, and s3 without its settings', async () => {
      const unknown = await run(['--to', 'nfs']);
      assert.notEqual(unknown.code, 0);
      assert.match(unknown.stderr, /--to must be postgres or s3, not "nfs"/);
      const bare = await run(['--to', 's3']);
      assert.notEqual(bare.code, 0);
      assert.match(bare.stderr, /--to s3 needs artifacts\.s3\.endpoint, artifacts\.s3\.bucket/);
      const down = await run(['--to', 's3'], {
        ...s3Env(),
        BRICKLESS_ARTIFACTS_S3_ENDPOINT: 'http://127.0.0.1:9',
      });
      assert.notEqual(down.code, 0);
      assert.match(down.stderr, /the s3 artifact store failed/);
    });
  });
}
