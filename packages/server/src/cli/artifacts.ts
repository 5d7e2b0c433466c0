import { userInfo } from 'node:os';
import type { Command } from 'commander';
import { DomainError } from '../errors.js';
import { openStore } from '../store/db.js';
import { migrateToLatest } from '../store/migrate.js';
import { auditArtifactMigration, migrateArtifacts } from '../updates/artifact-migrate.js';
import { type ArtifactStore, FilesystemArtifactStore } from '../updates/artifact-store.js';
import { openArtifactStore } from '../updates/artifact-stores.js';
import { configFrom, globalOptions } from './context.js';
import { progressBar } from './escrow.js';
import { emit } from './output.js';

function actor(): string {
  try {
    return `cli:${userInfo().username}`;
  } catch {
    return 'cli:unknown';
  }
}

/**
 * `brickless artifacts migrate --to postgres|s3` (issue 19 §4): copies the images a node kept in
 * its data directory into the shared store a cluster reads (docs/artefacts.md). Safe to run
 * again and to interrupt; the directory is left as it is.
 */
export function artifactCommands(program: Command): void {
  const artifacts = program.command('artifacts').description('where firmware images and SBOMs are stored');
  artifacts
    .command('migrate')
    .description('copy the artifacts of the local directory into PostgreSQL or S3 (resumable, idempotent)')
    .requiredOption('--to <store>', 'postgres or s3 (the bucket from artifacts.s3 in the config)')
    .action(async (opts: { to: string }, command: Command) => {
      const options = globalOptions(command);
      const json = options.json ?? false;
      if (opts.to !== 'postgres' && opts.to !== 's3')
        throw new DomainError(
          'validation-failed',
          `--to must be postgres or s3, not ${JSON.stringify(opts.to)}`,
        );
      const config = configFrom(options);
      if (opts.to === 's3') {
        const missing = (['endpoint', 'bucket', 'region', 'accessKeyId', 'secretAccessKey'] as const).filter(
          (key) => !config.artifacts.s3[key],
        );
        if (missing.length > 0)
          throw new DomainError(
            'validation-failed',
            `--to s3 needs ${missing.map((key) => `artifacts.s3.${key}`).join(', ')} (BRICKLESS_ARTIFACTS_S3_* or the config file)`,
          );
      }
      const store = await openStore(config.database);
      let target: ArtifactStore | null = null;
      const bar = progressBar(json, 'artifacts');
      try {
        await migrateToLatest(store.db);
        target = await openArtifactStore(
          { store: opts.to, dir: config.updates.artifactDir, s3: config.artifacts.s3 },
          store.db,
        );
        const report = await migrateArtifacts(
          store.db,
          new FilesystemArtifactStore(config.updates.artifactDir),
          target,
          (done, total) => bar.update('copy', done, total),
        );
        bar.stop();
        await auditArtifactMigration(store.db, store.dialect, actor(), report);
        const configured =
          config.artifacts.store === opts.to ||
          (config.artifacts.store === 'auto' && opts.to === 'postgres' && store.dialect === 'postgres');
        emit({ json }, { ...report, configured }, () => {
          process.stdout.write(
            `${report.copied} copied (${report.copiedBytes} bytes), ${report.present} already there, ${report.missing.length} missing, of ${report.total} artifacts: ${report.from} -> ${report.to}\n`,
          );
          for (const m of report.missing)
            process.stdout.write(`missing from the local directory: ${m.orgId} ${m.sha256}\n`);
          if (!configured)
            process.stdout.write(
              `nodes still read the ${config.artifacts.store} store: set artifacts.store to ${opts.to}\n`,
            );
        });
        if (report.missing.length > 0) process.exitCode = 1;
      } finally {
        bar.stop();
        await target?.close?.();
        await store.close();
      }
    });
}
