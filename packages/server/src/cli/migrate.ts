import type { Command } from 'commander';
import { openStore } from '../store/db.js';
import { migrateToLatest } from '../store/migrate.js';
import { configFrom, globalOptions } from './context.js';
import { emit } from './output.js';

export function migrateCommand(program: Command): void {
  program
    .command('migrate')
    .description('bring the database schema up to date (serve also does this at start)')
    .action(async (_opts: unknown, command: Command) => {
      const options = globalOptions(command);
      const config = configFrom(options);
      const store = await openStore(config.database);
      try {
        const report = await migrateToLatest(store.db);
        emit(
          { json: options.json ?? false },
          { database: store.location, dialect: store.dialect, ...report },
          () => {
            process.stdout.write(
              report.applied.length
                ? `applied ${report.applied.join(', ')} to ${store.dialect} ${store.location}\n`
                : `schema up to date (${report.current}) on ${store.dialect} ${store.location}\n`,
            );
          },
        );
      } finally {
        await store.close();
      }
    });
}
