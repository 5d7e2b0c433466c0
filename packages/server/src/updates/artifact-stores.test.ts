import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { openStore, type Store } from '../store/db.js';
import { migrateToLatest } from '../store/migrate.js';
import { freshDatabase, type TestDatabase, testDialects } from '../store/test-helper.js';
import { startTestS3 } from '../test-support/s3.js';
import {
  ArtifactHashMismatch,
  ArtifactMissing,
  type ArtifactStore,
  ArtifactStoreUnavailable,
  ArtifactTooLarge,
  FilesystemArtifactStore,
} from './artifact-store.js';
import { PG_CHUNK_BYTES, PostgresArtifactStore } from './artifact-store-pg.js';
import { S3_PART_BYTES, S3ArtifactStore } from './artifact-store-s3.js';

const ORG = 'org_0123456789abcdef';
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const readAll = async (stream: Readable) => {
  const parts: Buffer[] = [];
  for await (const chunk of stream) parts.push(chunk as Buffer);
  return Buffer.concat(parts);
};
/** A body sent in small pieces, as a socket delivers it. */
const body = (bytes: Buffer, piece = 64 * 1024) =>
  Readable.from(
    (function* () {
      for (let i = 0; i < bytes.length; i += piece) yield bytes.subarray(i, i + piece);
    })(),
  );
/** A body that breaks off after `after` bytes: a client that went away mid-upload. */
const broken = (bytes: Buffer, cut: number) =>
  Readable.from(
    (async function* () {
      yield bytes.subarray(0, cut);
      await new Promise((r) => setTimeout(r, 5));
      throw new Error('connection reset by peer');
    })(),
  );

interface Harness {
  store: ArtifactStore;
  /** Whatever an upload left that is not a complete artifact (temp files, rows, keys). */
  leftovers(): Promise<number>;
  /** Removes the bytes behind the store's back (a lost object). */
  lose(orgId: string, sha256: string): Promise<void>;
  close(): Promise<void>;
}

const harnesses: Record<string, () => Promise<Harness>> = {
  local: async () => {
    const root = mkdtempSync(join(tmpdir(), 'brickless-artifacts-'));
    const store = new FilesystemArtifactStore(root);
    return {
      store,
      leftovers: async () => {
        try {
          return readdirSync(join(root, '.incoming')).length;
        } catch {
          return 0;
        }
      },
      lose: async (orgId, sha256) => rmSync(join(root, orgId, sha256.slice(0, 2), sha256)),
      close: async () => rmSync(root, { recursive: true, force: true }),
    };
  },
  s3: async () => {
    const s3 = await startTestS3();
    const store = new S3ArtifactStore(s3.settings);
    const client = new S3Client({
      endpoint: s3.settings.endpoint,
      region: s3.settings.region,
      forcePathStyle: true,
      credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
    });
    const keys = async (prefix: string) =>
      (await client.send(new ListObjectsV2Command({ Bucket: s3.settings.bucket, Prefix: prefix })))
        .KeyCount ?? 0;
    return {
      store,
      leftovers: () => keys('.incoming/'),
      lose: async (orgId, sha256) => {
        const { DeleteObjectCommand } = await import('@aws-sdk/client-s3');
        await client.send(
          new DeleteObjectCommand({ Bucket: s3.settings.bucket, Key: store.key(orgId, sha256) }),
        );
      },
      close: async () => {
        client.destroy();
        await store.close();
        await s3.close();
      },
    };
  },
};
if (testDialects.includes('postgres'))
  harnesses.postgres = async () => {
    const database: TestDatabase = await freshDatabase('postgres');
    const db: Store = await openStore(database.url);
    await migrateToLatest(db.db);
    const store = new PostgresArtifactStore(db.db);
    return {
      store,
      leftovers: async () =>
        Number(
          (
            await db.db
              .selectFrom('artifact_blobs')
              .select((eb) => eb.fn.countAll().as('n'))
              .where('sha256', 'is', null)
              .executeTakeFirstOrThrow()
          ).n,
        ) +
        Number(
          (
            await db.db
              .selectFrom('artifact_chunks')
              .select((eb) => eb.fn.countAll().as('n'))
              .where('upload_id', 'not in', (eb) => eb.selectFrom('artifact_blobs').select('upload_id'))
              .executeTakeFirstOrThrow()
          ).n,
        ),
      lose: async (orgId, sha256) => {
        await db.db
          .deleteFrom('artifact_blobs')
          .where('org_id', '=', orgId)
          .where('sha256', '=', sha256)
          .execute();
      },
      close: async () => {
        await db.close();
        await database.drop();
      },
    };
  };

/**
 * One behaviour suite over every artifact store (issue 19 §4): what the routes, escrow and the
 * migration rely on must hold for the directory, PostgreSQL and a real S3-compatible server.
 */
for (const [name, open] of Object.entries(harnesses)) {
  describe(`the ${name} artifact store`, () => {
    let h: Harness;
    // Over one S3 part and over several PostgreSQL chunks, not a multiple of either.
    const image = randomBytes(S3_PART_BYTES + 2 * PG_CHUNK_BYTES + 12345);
    const small = randomBytes(3000);
    before(async () => {
      h = await open();
    });
    after(async () => h?.close());

    it('stores by SHA-256 while streaming and reads the whole artifact back', async () => {
      const stored = await h.store.put(ORG, body(image), image.length);
      assert.deepEqual(stored, { sha256: sha(image), length: image.length });
      assert.equal(await h.store.size(ORG, stored.sha256), image.length);
      assert.ok((await readAll(await h.store.read(ORG, stored.sha256))).equals(image));
      const again = await h.store.put(ORG, body(image, 1 << 20), image.length, { sha256: sha(image) });
      assert.equal(again.sha256, stored.sha256, 'the same bytes, the same address');
      const tiny = await h.store.put(ORG, body(small), 1024 * 1024);
      assert.ok((await readAll(await h.store.read(ORG, tiny.sha256))).equals(small));
      assert.equal(await h.leftovers(), 0);
    });

    it('reads single ranges exactly, across chunk and part boundaries', async () => {
      const address = sha(image);
      for (const [start, end] of [
        [0, 0],
        [PG_CHUNK_BYTES - 3, PG_CHUNK_BYTES + 2],
        [S3_PART_BYTES - 10, S3_PART_BYTES + PG_CHUNK_BYTES + 7],
        [image.length - 10, image.length - 1],
      ] as const) {
        const part = await readAll(await h.store.read(ORG, address, { start, end }));
        assert.ok(part.equals(image.subarray(start, end + 1)), `${start}-${end}`);
      }
    });

    it('refuses an artifact over the limit and keeps nothing of it', async () => {
      const big = randomBytes(200_000);
      await assert.rejects(h.store.put(ORG, body(big), 100_000), ArtifactTooLarge);
      assert.equal(await h.store.size(ORG, sha(big)), null);
      assert.equal(await h.leftovers(), 0);
    });

    it('refuses bytes that do not hash to the expected SHA-256 and keeps nothing', async () => {
      const bytes = randomBytes(50_000);
      const claimed = sha(randomBytes(8));
      await assert.rejects(
        h.store.put(ORG, body(bytes), bytes.length, { sha256: claimed }),
        ArtifactHashMismatch,
      );
      assert.equal(await h.store.size(ORG, claimed), null);
      assert.equal(await h.store.size(ORG, sha(bytes)), null);
      assert.equal(await h.leftovers(), 0);
    });

    it('leaves nothing half-visible when the upload breaks off', async () => {
      const bytes = randomBytes(3 * PG_CHUNK_BYTES);
      await assert.rejects(h.store.put(ORG, broken(bytes, 2 * PG_CHUNK_BYTES + 5), bytes.length), /reset/);
      assert.equal(await h.store.size(ORG, sha(bytes)), null);
      assert.equal(await h.leftovers(), 0);
    });

    it('says which artifact is missing, and refuses addresses that are not a SHA-256', async () => {
      const bytes = randomBytes(1000);
      const { sha256 } = await h.store.put(ORG, body(bytes), bytes.length);
      await h.lose(ORG, sha256);
      assert.equal(await h.store.size(ORG, sha256), null);
      await assert.rejects(h.store.read(ORG, sha256), (error: unknown) => {
        assert.ok(error instanceof ArtifactMissing);
        assert.match(error.message, new RegExp(`${sha256} of ${ORG} is missing from the ${h.store.kind}`));
        return true;
      });
      await assert.rejects(h.store.read(ORG, '../../etc/passwd'), /bad artifact address/);
      await assert.rejects(h.store.read('org_../x', sha256), /bad artifact address/);
    });
  });
}

describe('an S3 server that is down or answers errors', () => {
  let failing: Server;
  let port: number;
  before(async () => {
    failing = createServer((_req, res) => {
      res.writeHead(500, { 'content-type': 'application/xml' });
      res.end('<Error><Code>InternalError</Code><Message>disk on fire</Message></Error>');
    });
    await new Promise<void>((resolve) => failing.listen(0, '127.0.0.1', resolve));
    port = (failing.address() as AddressInfo).port;
  });
  after(() => new Promise<void>((resolve) => failing.close(() => resolve())));

  const settings = (endpoint: string) => ({
    endpoint,
    bucket: 'b-artifacts',
    region: 'eu-central-1',
    accessKeyId: 'AKIDEXAMPLE',
    secretAccessKey: 'not-a-real-secret',
  });

  it('gives a clear error for a server answering 500, on upload, size and read', async () => {
    const store = new S3ArtifactStore(settings(`http://127.0.0.1:${port}`));
    try {
      await assert.rejects(store.put(ORG, body(randomBytes(100)), 1000), (error: unknown) => {
        assert.ok(error instanceof ArtifactStoreUnavailable);
        assert.match(error.message, /the s3 artifact store failed/);
        return true;
      });
      await assert.rejects(store.size(ORG, 'a'.repeat(64)), ArtifactStoreUnavailable);
      await assert.rejects(store.read(ORG, 'a'.repeat(64)), ArtifactStoreUnavailable);
    } finally {
      await store.close();
    }
  });

  it('gives a clear error for a server that is not there', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const gone = (closed.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const store = new S3ArtifactStore(settings(`http://127.0.0.1:${gone}`));
    try {
      await assert.rejects(
        store.put(ORG, body(randomBytes(100)), 1000),
        /the s3 artifact store failed: .*ECONNREFUSED/,
      );
      await assert.rejects(store.read(ORG, 'a'.repeat(64)), ArtifactStoreUnavailable);
    } finally {
      await store.close();
    }
  });

  it('refuses to start without every setting: no default bucket, region or credentials', () => {
    assert.throws(
      () => new S3ArtifactStore({ ...settings('http://127.0.0.1:1'), secretAccessKey: '' }),
      /artifacts\.s3\.secretAccessKey is required/,
    );
  });
});
