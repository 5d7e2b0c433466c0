import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { sql } from 'kysely';
import { isPostgresUrl, openStore } from '../store/db.js';
import { FilesystemArtifactStore } from '../updates/artifact-store.js';

/**
 * A restore target that stays as it was until everything has passed: the restore writes into a
 * temporary place, and only `commit` moves it into place (decision 0013). SQLite: a temporary
 * file beside the target, renamed over it. PostgreSQL: a temporary schema in the target
 * database whose tables move into the target's schema in one transaction.
 */
export interface StagedDatabase {
  /** Where the restore writes: a SQLite path or a PostgreSQL URL whose search_path is the temporary schema. */
  url: string;
  commit(): Promise<void>;
  discard(): Promise<void>;
}

/** Refuses a target that holds any table: a restore never mixes with existing data. */
async function assertEmpty(database: string): Promise<void> {
  if (!isPostgresUrl(database) && !existsSync(database)) return;
  const store = await openStore(database);
  try {
    const existing = await store.db.introspection.getTables();
    if (existing.length > 0) {
      const organizations = existing.some((t) => t.name === 'organizations')
        ? Number(
            (await sql<{ n: number }>`select count(*) as n from organizations`.execute(store.db)).rows[0]
              ?.n ?? 0,
          )
        : 0;
      throw new Error(
        `escrow: the target database ${store.location} is not empty (${existing.length} tables, ${organizations} organisations); restore into a new database`,
      );
    }
  } finally {
    await store.close();
  }
}

export async function stageDatabase(target: string): Promise<StagedDatabase> {
  await assertEmpty(target);
  const suffix = randomBytes(6).toString('hex');
  if (!isPostgresUrl(target)) {
    const temp = join(dirname(target), `.${basename(target)}.restoring-${suffix}`);
    const removeTemp = () => {
      for (const end of ['', '-wal', '-shm', '-journal']) rmSync(`${temp}${end}`, { force: true });
    };
    return {
      url: temp,
      async commit() {
        // Leave WAL mode so the file is whole on its own, then swap it in. Stale -wal/-shm files
        // of the (empty) target would otherwise be replayed into the new file.
        const store = await openStore(temp);
        await sql`pragma journal_mode = delete`.execute(store.db);
        await store.close();
        await assertEmpty(target);
        for (const end of ['-wal', '-shm']) rmSync(`${target}${end}`, { force: true });
        renameSync(temp, target);
        removeTemp();
      },
      async discard() {
        removeTemp();
      },
    };
  }
  const schema = `brickless_restore_${suffix}`;
  const admin = await openStore(target);
  let home: string;
  try {
    home = (await sql<{ s: string | null }>`select current_schema() as s`.execute(admin.db)).rows[0]?.s ?? '';
    if (!home) throw new Error('escrow: the target database has no schema to restore into (search_path)');
    await sql`create schema ${sql.id(schema)}`.execute(admin.db);
  } finally {
    await admin.close();
  }
  const url = new URL(target);
  url.searchParams.set('options', `-c search_path=${schema}`);
  const dropSchema = async () => {
    const store = await openStore(target);
    try {
      await sql`drop schema if exists ${sql.id(schema)} cascade`.execute(store.db);
    } finally {
      await store.close();
    }
  };
  return {
    url: url.toString(),
    async commit() {
      const store = await openStore(target);
      try {
        await store.db.transaction().execute(async (trx) => {
          const tables = await sql<{ name: string }>`
            select tablename as name from pg_tables where schemaname = ${schema} order by tablename`.execute(
            trx,
          );
          for (const { name } of tables.rows)
            await sql`alter table ${sql.id(schema, name)} set schema ${sql.id(home)}`.execute(trx);
          await sql`drop schema ${sql.id(schema)}`.execute(trx);
        });
      } finally {
        await store.close();
      }
    },
    discard: dropSchema,
  };
}

/**
 * Artifacts written into a staging directory inside the artifact directory, moved into place
 * by rename on commit (content-addressed: a file already in place is kept).
 */
export interface StagedArtifacts {
  store: FilesystemArtifactStore;
  commit(): Promise<void>;
  /** Removes what commit moved (when the database commit after it fails) and the staging directory. */
  discard(): Promise<void>;
}

export async function stageArtifacts(artifactDir: string): Promise<StagedArtifacts> {
  const staging = join(artifactDir, `.restoring-${randomBytes(6).toString('hex')}`);
  await mkdir(staging, { recursive: true, mode: 0o700 });
  const moved: string[] = [];
  const files = (dir: string, prefix = ''): string[] =>
    readdirSync(dir).flatMap((name) => {
      if (name.startsWith('.')) return [];
      const path = join(dir, name);
      return statSync(path).isDirectory() ? files(path, `${prefix}${name}/`) : [`${prefix}${name}`];
    });
  return {
    store: new FilesystemArtifactStore(staging),
    async commit() {
      for (const relative of files(staging)) {
        const destination = join(artifactDir, relative);
        if (existsSync(destination)) continue;
        await mkdir(dirname(destination), { recursive: true, mode: 0o700 });
        renameSync(join(staging, relative), destination);
        moved.push(destination);
      }
      rmSync(staging, { recursive: true, force: true });
    },
    async discard() {
      for (const path of moved) rmSync(path, { force: true });
      rmSync(staging, { recursive: true, force: true });
    },
  };
}
