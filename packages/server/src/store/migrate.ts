import { type Kysely, type MigrationResultSet, Migrator, sql } from 'kysely';
import { DomainError } from '../errors.js';
import { migrations } from './migrations/index.js';
import type { Database } from './schema.js';

const provider = { getMigrations: async () => migrations };

export interface MigrationReport {
  applied: string[];
  current: string | null;
}

/** The names of migrations already run against this database (empty for a new one). */
async function executedMigrations(db: Kysely<Database>): Promise<string[]> {
  try {
    const result = await sql<{ name: string }>`select name from kysely_migration order by name`.execute(db);
    return result.rows.map((r) => r.name);
  } catch {
    return []; // no migration table yet: a new database
  }
}

/**
 * Refuses a database that has migrations this build does not know: it was written by a newer
 * brickless, and running an older one against it could corrupt data.
 */
export async function assertSchemaKnown(db: Kysely<Database>): Promise<void> {
  const known = new Set(Object.keys(migrations));
  const unknown = (await executedMigrations(db)).filter((name) => !known.has(name));
  if (unknown.length > 0) {
    throw new DomainError(
      'schema-too-new',
      `database schema is newer than this brickless (unknown migration ${unknown.join(', ')}); upgrade brickless`,
    );
  }
}

export async function migrateToLatest(db: Kysely<Database>): Promise<MigrationReport> {
  await assertSchemaKnown(db);
  const migrator = new Migrator({ db, provider });
  const { error, results }: MigrationResultSet = await migrator.migrateToLatest();
  if (error) {
    const failed = results?.find((r) => r.status === 'Error')?.migrationName ?? 'unknown';
    throw new DomainError(
      'internal',
      `migration ${failed} failed: ${(error as Error).message ?? String(error)}`,
    );
  }
  const executed = await executedMigrations(db);
  return {
    applied: (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName),
    current: executed.at(-1) ?? null,
  };
}

/** Brings an empty or older database to exactly the migration `name` (an escrow restore does this first). */
export async function migrateTo(db: Kysely<Database>, name: string): Promise<void> {
  if (!(name in migrations))
    throw new DomainError('schema-too-new', `unknown migration ${name}; upgrade brickless`);
  await assertSchemaKnown(db);
  const { error, results } = await new Migrator({ db, provider }).migrateTo(name);
  if (error) {
    const failed = results?.find((r) => r.status === 'Error')?.migrationName ?? 'unknown';
    throw new DomainError(
      'internal',
      `migration ${failed} failed: ${(error as Error).message ?? String(error)}`,
    );
  }
}
