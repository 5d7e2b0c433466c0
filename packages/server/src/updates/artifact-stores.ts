import { type Kysely, PostgresAdapter } from 'kysely';
import type { Database } from '../store/schema.js';
import { type ArtifactStore, FilesystemArtifactStore } from './artifact-store.js';
import { PostgresArtifactStore } from './artifact-store-pg.js';
import type { S3Settings } from './artifact-store-s3.js';

/**
 * Config `artifacts.store` (decision 0030): `auto` is the local directory with SQLite and
 * PostgreSQL with PostgreSQL, so a single node keeps its files and a cluster shares its bytes
 * without another setting.
 */
export type ArtifactStoreKind = 'auto' | 'local' | 'postgres' | 's3';

export interface ArtifactStoreChoice {
  store: ArtifactStoreKind;
  /** The local directory (`updates.artifactDir`). */
  dir: string;
  s3?: Partial<S3Settings> | undefined;
}

export const isPostgres = (db: Kysely<Database>): boolean =>
  db.getExecutor().adapter instanceof PostgresAdapter;

/** Opens the store a choice names; the S3 client is loaded only when the store is s3. */
export async function openArtifactStore(
  choice: string | ArtifactStore | ArtifactStoreChoice,
  db: Kysely<Database>,
): Promise<ArtifactStore> {
  if (typeof choice === 'string') return new FilesystemArtifactStore(choice);
  if (!('store' in choice) || !('dir' in choice)) return choice;
  const kind = choice.store === 'auto' ? (isPostgres(db) ? 'postgres' : 'local') : choice.store;
  switch (kind) {
    case 'local':
      return new FilesystemArtifactStore(choice.dir);
    case 'postgres':
      if (!isPostgres(db))
        throw new Error(
          'artifacts.store is postgres but the database is SQLite: use local (or auto) with SQLite',
        );
      return new PostgresArtifactStore(db);
    case 's3': {
      const { S3ArtifactStore } = await import('./artifact-store-s3.js');
      return new S3ArtifactStore((choice.s3 ?? {}) as S3Settings);
    }
  }
}

/** The store `serve` and the CLI open for a loaded configuration. */
export function artifactChoice(config: {
  updates: { artifactDir: string };
  artifacts: { store: ArtifactStoreKind; s3: Partial<S3Settings> };
}): ArtifactStoreChoice {
  return { store: config.artifacts.store, dir: config.updates.artifactDir, s3: config.artifacts.s3 };
}
