// Run by scripts/run-tests.mjs after a full, passing run: every command of the CLI must have been
// run by some test (issue 15 §2: a broken option cannot ship again). Reads the arguments that
// test/support/cli.ts recorded, one JSON array per line, and names every command no test ran.
import { existsSync, readFileSync } from 'node:fs';
import { buildProgram } from '../../packages/server/src/cli/program.js';
import { commandPaths, resolveCommand } from './cli-commands.js';

const record = process.argv[2];
if (!record) throw new Error('usage: cli-coverage.ts RECORD_FILE');
const program = buildProgram();
const ran = new Set<string>();
if (existsSync(record))
  for (const line of readFileSync(record, 'utf8').split('\n')) {
    if (!line) continue;
    const path = resolveCommand(program, JSON.parse(line) as string[]);
    if (path) ran.add(path);
  }
const all = commandPaths(program);
const missing = all.filter((p) => !ran.has(p));
if (missing.length > 0) {
  console.error(
    `CLI commands no test ran (${missing.length} of ${all.length}); add a run to test/cli-commands.e2e.test.ts:\n` +
      missing.map((m) => `  brickless ${m}`).join('\n'),
  );
  process.exit(1);
}
console.log(`every one of the ${all.length} CLI commands was run by a test`);
