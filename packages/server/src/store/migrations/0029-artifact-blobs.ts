import { type Kysely, PostgresAdapter, sql } from 'kysely';

/**
 * Artifact bytes in the database (issue 19 §4, decision 0030): with several nodes on one
 * PostgreSQL, every node must read the same firmware images, so the PostgreSQL artifact store
 * keeps them here in 1 MiB chunks, and a range request reads only the chunks it covers.
 *
 * `artifact_blobs` is one row per upload; `sha256` stays null until every chunk is in and the
 * hash is verified, so an interrupted upload is never readable (issue 19 §4 "nothing
 * half-visible") and is swept later. The tables are created on SQLite too, to keep one schema;
 * there the local directory stays the default store. Neither table is deposited row by row: the
 * bytes reach escrow as artifacts, read through the store (escrow/tables.ts NOT_DEPOSITED).
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  const bytes = db.getExecutor().adapter instanceof PostgresAdapter ? sql`bytea` : sql`blob`;
  await db.schema
    .createTable('artifact_blobs')
    .addColumn('upload_id', 'text', (c) => c.primaryKey())
    .addColumn('org_id', 'text', (c) => c.notNull())
    /** Null while the upload is in progress. */
    .addColumn('sha256', 'text')
    .addColumn('length', 'bigint', (c) => c.notNull().defaultTo(0))
    .addColumn('chunk_bytes', 'integer', (c) => c.notNull())
    .addColumn('started_at', 'text', (c) => c.notNull())
    .addColumn('completed_at', 'text')
    .execute();
  // One complete copy per address; uploads in progress (null sha256) do not collide.
  await db.schema
    .createIndex('artifact_blobs_address')
    .on('artifact_blobs')
    .columns(['org_id', 'sha256'])
    .unique()
    .execute();
  await db.schema
    .createTable('artifact_chunks')
    .addColumn('upload_id', 'text', (c) =>
      c.notNull().references('artifact_blobs.upload_id').onDelete('cascade'),
    )
    .addColumn('seq', 'integer', (c) => c.notNull())
    .addColumn('data', bytes, (c) => c.notNull())
    .addPrimaryKeyConstraint('artifact_chunks_pk', ['upload_id', 'seq'])
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('artifact_chunks').execute();
  await db.schema.dropTable('artifact_blobs').execute();
}
