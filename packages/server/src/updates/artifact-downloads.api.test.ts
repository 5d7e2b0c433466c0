import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { testDialects } from '../store/test-helper.js';
import { type TestApp, testApp } from '../test-support/app.js';
import { startTestS3, type TestS3 } from '../test-support/s3.js';
import { uploadArtifact } from '../test-support/updates.js';

/**
 * Issue 19 §4 over HTTP: each store behind the real routes. Uploads, ranges and ETags as on the
 * directory (repository.api.test.ts runs the full range semantics on SQLite and on PostgreSQL's
 * store); bytes the store lost answer 503 naming the artifact, before any byte.
 */
const setups: { name: string; dialect: 'sqlite' | 'postgres'; s3: boolean }[] = [
  { name: 'the directory (sqlite)', dialect: 'sqlite', s3: false },
  { name: 's3 (sqlite)', dialect: 'sqlite', s3: true },
  ...(testDialects.includes('postgres')
    ? [{ name: 'postgres (auto)', dialect: 'postgres' as const, s3: false }]
    : []),
];

for (const setup of setups) {
  describe(`artifact downloads from ${setup.name}`, () => {
    let t: TestApp;
    let s3: TestS3 | null = null;
    let orgId: string;
    const image = randomBytes(3 * 1024 * 1024 + 77);
    const auth = () => ({ authorization: `Bearer ${t.rootToken}` });

    before(async () => {
      s3 = setup.s3 ? await startTestS3() : null;
      t = await testApp(setup.dialect, {
        maxArtifactBytes: 16 * 1024 * 1024,
        ...(s3
          ? { artifactStore: 's3' as const, artifactS3: s3.settings }
          : { artifactStore: 'auto' as const }),
      });
      orgId = (await t.org('acme')).id;
    });
    after(async () => {
      await t?.close();
      await s3?.close();
    });

    it('uploads by streaming and serves the whole image, a range, 304 and 416', async () => {
      const sha = await uploadArtifact(t, 'acme', image);
      const url = `/v1/orgs/acme/artifacts/${sha}`;
      const whole = await t.app.http.inject({ method: 'GET', url, headers: auth() });
      assert.equal(whole.statusCode, 200);
      assert.equal(whole.headers.etag, `"${sha}"`);
      assert.equal(Number(whole.headers['content-length']), image.length);
      assert.ok(whole.rawPayload.equals(image));
      const part = await t.app.http.inject({
        method: 'GET',
        url,
        headers: { ...auth(), range: 'bytes=1048570-2097160', 'if-range': `"${sha}"` },
      });
      assert.equal(part.statusCode, 206);
      assert.equal(part.headers['content-range'], `bytes 1048570-2097160/${image.length}`);
      assert.ok(part.rawPayload.equals(image.subarray(1048570, 2097161)));
      const first = await t.app.http.inject({
        method: 'GET',
        url,
        headers: { ...auth(), range: 'bytes=0-0' },
      });
      assert.equal(first.statusCode, 206);
      assert.ok(first.rawPayload.equals(image.subarray(0, 1)));
      const beyond = await t.app.http.inject({
        method: 'GET',
        url,
        headers: { ...auth(), range: `bytes=${image.length}-` },
      });
      assert.equal(beyond.statusCode, 416);
      const cached = await t.app.http.inject({
        method: 'GET',
        url,
        headers: { ...auth(), 'if-none-match': `"${sha}"` },
      });
      assert.equal(cached.statusCode, 304);
    });

    it('answers 503 naming the artifact when the store lost its bytes', async () => {
      const bytes = randomBytes(5000);
      const sha = await uploadArtifact(t, 'acme', bytes);
      const store = t.app.services.artifacts;
      if (store.kind === 'local') rmSync(join(t.database.dataDir, 'artifacts', orgId, sha.slice(0, 2), sha));
      else if (store.kind === 'postgres')
        await t.app.services.store.db.deleteFrom('artifact_blobs').where('sha256', '=', sha).execute();
      else {
        const { DeleteObjectCommand, S3Client } = await import('@aws-sdk/client-s3');
        const settings = s3?.settings as NonNullable<TestS3>['settings'];
        const client = new S3Client({ ...settings, forcePathStyle: true, credentials: settings });
        const { S3ArtifactStore } = await import('./artifact-store-s3.js');
        await client.send(
          new DeleteObjectCommand({
            Bucket: settings.bucket,
            Key: (store as InstanceType<typeof S3ArtifactStore>).key(orgId, sha),
          }),
        );
        client.destroy();
      }
      for (const range of [undefined, 'bytes=10-20']) {
        const response = await t.app.http.inject({
          method: 'GET',
          url: `/v1/orgs/acme/artifacts/${sha}`,
          headers: { ...auth(), ...(range ? { range } : {}) },
        });
        assert.equal(response.statusCode, 503, response.body);
        const problem = response.json() as { detail: string };
        assert.match(
          problem.detail,
          new RegExp(`bytes of artifact ${sha} are missing from the ${store.kind}`),
        );
      }
    });
  });
}

if (testDialects.includes('postgres'))
  describe('a PostgreSQL node upgraded from the directory store', () => {
    it('copies the images of its data directory into PostgreSQL at start, once, and serves them', async () => {
      const before = await testApp('postgres', { artifactStore: 'local' });
      await before.org('acme');
      const image = randomBytes(1024 * 1024 + 3);
      const sha = await uploadArtifact(before, 'acme', image);
      const dir = join(before.database.dataDir, 'artifacts');
      await before.app.close();
      const { createApp } = await import('../app.js');
      const { SecretBox } = await import('../secrets/master-key.js');
      const app = await createApp({
        database: before.database.url,
        secrets: SecretBox.random(),
        artifacts: { store: 'auto', dir },
      });
      try {
        assert.equal(app.services.artifacts.kind, 'postgres');
        const lines: string[] = [];
        const log = {
          info: (_o: object, m: string) => lines.push(m),
          warn: (_o: object, m: string) => lines.push(m),
          error: (_o: object, m: string) => lines.push(m),
        };
        const { adoptLocalArtifacts } = await import('./artifact-migrate.js');
        const first = await adoptLocalArtifacts(app.services.store.db, dir, app.services.artifacts, log);
        assert.equal(first?.copied, 1);
        assert.deepEqual(lines, [`copied 1 artifacts from ${dir} into PostgreSQL`]);
        const audited = await app.services.store.db
          .selectFrom('audit_entries')
          .select('actor')
          .where('action', '=', 'artifacts.migrate')
          .execute();
        assert.deepEqual(audited, [{ actor: 'system:serve' }]);
        const second = await adoptLocalArtifacts(app.services.store.db, dir, app.services.artifacts, log);
        assert.deepEqual(
          [second?.copied, second?.present, lines.length],
          [0, 1, 1],
          'the next start copies nothing',
        );
        const read = await app.services.artifacts.read(
          (await app.services.store.db.selectFrom('artifacts').select('org_id').executeTakeFirstOrThrow())
            .org_id,
          sha,
          { start: 1024 * 1024, end: 1024 * 1024 + 2 },
        );
        const bytes: Buffer[] = [];
        for await (const chunk of read) bytes.push(chunk as Buffer);
        assert.ok(Buffer.concat(bytes).equals(image.subarray(1024 * 1024)));
      } finally {
        await app.close();
        await before.database.drop();
      }
    });
  });
