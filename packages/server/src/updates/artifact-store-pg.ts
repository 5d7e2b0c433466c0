import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import type { Kysely } from 'kysely';
import type { Database } from '../store/schema.js';
import {
  ArtifactMissing,
  type ArtifactStore,
  ArtifactStoreUnavailable,
  type ByteRange,
  checkAddress,
  meter,
  type PutOptions,
  READ_HIGH_WATER_MARK,
  rechunk,
  type StoredArtifact,
} from './artifact-store.js';

/** 1 MiB: a range request reads at most two chunks it does not fully need (issue 19 §4). */
export const PG_CHUNK_BYTES = 1024 * 1024;

/** Uploads older than this with no hash yet were interrupted (a node died mid-upload). */
const STALE_UPLOAD_MS = 24 * 60 * 60 * 1000;

const isUniqueViolation = (error: unknown): boolean =>
  /unique|duplicate key/i.test((error as Error).message ?? '') ||
  (error as { code?: string }).code === '23505';

/**
 * The default store when the database is PostgreSQL (decision 0030): every node of a cluster
 * reads the same bytes without a shared file system. An upload writes its chunks under a fresh
 * upload id, one short statement per chunk (no transaction held open for minutes), and only when
 * the last chunk is in and the hash known does it set the address: the artifact appears at once,
 * complete. A failed upload deletes its chunks; one cut short by a dying node is swept by the next
 * `put` after a day.
 */
export class PostgresArtifactStore implements ArtifactStore {
  readonly kind = 'postgres' as const;
  #lastSweep = 0;

  constructor(
    readonly db: Kysely<Database>,
    readonly chunkBytes = PG_CHUNK_BYTES,
    readonly now: () => Date = () => new Date(),
  ) {}

  async put(
    orgId: string,
    body: Readable,
    maxBytes: number,
    options: PutOptions = {},
  ): Promise<StoredArtifact> {
    checkAddress(orgId, options.sha256 ?? '0'.repeat(64));
    await this.#sweep();
    const uploadId = `upl_${randomBytes(12).toString('hex')}`;
    await this.#guard(() =>
      this.db
        .insertInto('artifact_blobs')
        .values({
          upload_id: uploadId,
          org_id: orgId,
          sha256: null,
          length: 0,
          chunk_bytes: this.chunkBytes,
          started_at: this.now().toISOString(),
          completed_at: null,
        })
        .execute(),
    );
    const metered = meter(body, maxBytes, options.sha256);
    try {
      let seq = 0;
      for await (const data of rechunk(metered.chunks, this.chunkBytes)) {
        await this.#guard(() =>
          this.db.insertInto('artifact_chunks').values({ upload_id: uploadId, seq, data }).execute(),
        );
        seq++;
      }
      const stored = metered.done();
      try {
        await this.db
          .updateTable('artifact_blobs')
          .set({ sha256: stored.sha256, length: stored.length, completed_at: this.now().toISOString() })
          .where('upload_id', '=', uploadId)
          .execute();
      } catch (error) {
        // The same bytes were stored before (or by another node meanwhile): keep that copy.
        if (!isUniqueViolation(error)) throw new ArtifactStoreUnavailable('postgres', error);
        await this.#drop(uploadId);
      }
      return stored;
    } catch (error) {
      await this.#drop(uploadId);
      throw error;
    }
  }

  async size(orgId: string, sha256: string): Promise<number | null> {
    checkAddress(orgId, sha256);
    const row = await this.#blob(orgId, sha256);
    return row ? Number(row.length) : null;
  }

  async read(orgId: string, sha256: string, range?: ByteRange): Promise<Readable> {
    checkAddress(orgId, sha256);
    const row = await this.#blob(orgId, sha256);
    if (!row) throw new ArtifactMissing(orgId, sha256, 'postgres');
    const length = Number(row.length);
    const start = range?.start ?? 0;
    const end = Math.min(range?.end ?? length - 1, length - 1);
    const size = row.chunk_bytes;
    const db = this.db;
    // One chunk per query, fetched only when the reader wants more: memory stays at a chunk or
    // two per download whatever the image's size.
    async function* chunks(): AsyncGenerator<Buffer> {
      if (end < start) return;
      for (let seq = Math.floor(start / size); seq <= Math.floor(end / size); seq++) {
        const chunk = await db
          .selectFrom('artifact_chunks')
          .select('data')
          .where('upload_id', '=', row?.upload_id as string)
          .where('seq', '=', seq)
          .executeTakeFirst();
        if (!chunk) throw new ArtifactMissing(orgId, sha256, `postgres (chunk ${seq})`);
        const offset = seq * size;
        const from = Math.max(start - offset, 0);
        const to = Math.min(end - offset + 1, chunk.data.length);
        yield Buffer.from(chunk.data).subarray(from, to);
      }
    }
    return Readable.from(chunks(), { objectMode: false, highWaterMark: READ_HIGH_WATER_MARK });
  }

  async #blob(orgId: string, sha256: string) {
    return this.#guard(() =>
      this.db
        .selectFrom('artifact_blobs')
        .select(['upload_id', 'length', 'chunk_bytes'])
        .where('org_id', '=', orgId)
        .where('sha256', '=', sha256)
        .executeTakeFirst(),
    );
  }

  async #drop(uploadId: string): Promise<void> {
    await this.db
      .deleteFrom('artifact_blobs')
      .where('upload_id', '=', uploadId)
      .execute()
      .catch(() => undefined);
  }

  /** Deletes uploads a dying node left without a hash, at most once an hour. */
  async #sweep(): Promise<void> {
    const now = this.now().getTime();
    if (now - this.#lastSweep < 60 * 60 * 1000) return;
    this.#lastSweep = now;
    await this.db
      .deleteFrom('artifact_blobs')
      .where('sha256', 'is', null)
      .where('started_at', '<', new Date(now - STALE_UPLOAD_MS).toISOString())
      .execute();
  }

  async #guard<T>(work: () => Promise<T>): Promise<T> {
    try {
      return await work();
    } catch (error) {
      throw new ArtifactStoreUnavailable('postgres', error);
    }
  }
}
