#!/usr/bin/env node
// Runs every *.test.ts under packages/*/src and test/ with node:test through tsx.
// Node 20's test runner takes no glob patterns (Node 21+ does), so the files are listed here.
// Extra arguments are passed to node (e.g. --test-name-pattern=audit).
//
// Afterwards (issue 15): the run says how many tests were skipped and which parts of the machine
// BRICKLESS_TEST_SKIP told it to skip; and a full run checks that every command of the CLI was
// run by some test (test/support/cli-coverage.ts), failing with the commands no test ran.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const roots = [...readdirSync('packages').map((p) => join('packages', p, 'src')), 'test'];
const allFiles = roots
  .flatMap((root) => {
    try {
      return readdirSync(root, { recursive: true }).map((f) => join(root, String(f)));
    } catch {
      return [];
    }
  })
  .filter((f) => f.endsWith('.test.ts') && !f.includes('node_modules'))
  .sort();

// BRICKLESS_TEST_EXCLUDE (comma-separated paths; `*.browser.test.ts` names every browser test)
// leaves heavy files out of a second pass: .ci/run runs them once, on the machine's Node, and
// every other file again on Node 24.
const excludedNames = (process.env.BRICKLESS_TEST_EXCLUDE ?? '').split(',').filter(Boolean);
const excludedSuffixes = excludedNames.filter((name) => name.startsWith('*')).map((name) => name.slice(1));
const isExcluded = (f) => excludedNames.includes(f) || excludedSuffixes.some((suffix) => f.endsWith(suffix));
const excluded = allFiles.filter(isExcluded);
const files = allFiles.filter((f) => !isExcluded(f));
if (files.length === 0) {
  console.error('no test files found');
  process.exit(1);
}
if (excluded.length) console.log(`excluded from this run (BRICKLESS_TEST_EXCLUDE): ${excluded.join(', ')}`);

// `npm test` tests PostgreSQL as well as SQLite. Without BRICKLESS_TEST_PG it looks for a local
// server at the address CI uses; finding none, the PostgreSQL tests fail saying how to get one,
// unless BRICKLESS_TEST_SKIP names postgres (test-support/parts.ts).
const skipsPostgres = (process.env.BRICKLESS_TEST_SKIP ?? '').split(',').includes('postgres');
if (!process.env.BRICKLESS_TEST_PG && !skipsPostgres) {
  const candidate = 'postgres://postgres@127.0.0.1:5432/postgres';
  const probe = spawnSync(
    process.execPath,
    [
      '--input-type=module',
      '-e',
      `import pg from 'pg'; const c = new pg.Client({ connectionString: ${JSON.stringify(candidate)}, connectionTimeoutMillis: 3000 }); await c.connect(); await c.query('select 1'); await c.end();`,
    ],
    { stdio: 'ignore', cwd: 'packages/server', timeout: 10000 },
  );
  if (probe.status === 0) {
    process.env.BRICKLESS_TEST_PG = candidate;
    console.log(`PostgreSQL answers at ${candidate}: every database test also runs on it`);
  }
}

const extra = process.argv.slice(2);
const recordDir = mkdtempSync(join(tmpdir(), 'brickless-cli-record-'));
const record = join(recordDir, 'commands.jsonl');
const child = spawn(
  process.execPath,
  // A test file that hangs fails after 30 minutes instead of holding CI until its limit (the CLI
  // end-to-end file runs about a hundred CLI processes: 10 to 17 minutes on a loaded 2-core machine).
  [
    '--import',
    'tsx',
    '--test',
    '--test-concurrency=2',
    '--test-timeout=1800000',
    '--test-reporter=spec',
    ...extra,
    ...files,
  ],
  { stdio: ['inherit', 'pipe', 'inherit'], env: { ...process.env, BRICKLESS_CLI_RECORD: record } },
);
// The spec reporter's totals end the output; keep the tail to read the skipped count.
let tail = '';
child.stdout.on('data', (chunk) => {
  process.stdout.write(chunk);
  tail = (tail + chunk.toString()).slice(-4000);
});
const status = await new Promise((resolve) => child.on('close', (code) => resolve(code ?? 1)));

const skipped = Number([...tail.matchAll(/skipped (\d+)/g)].at(-1)?.[1] ?? 0);
const parts = (process.env.BRICKLESS_TEST_SKIP ?? '').split(',').filter(Boolean);
console.log(
  `\nskipped: ${skipped} test(s)` +
    (parts.length ? `; BRICKLESS_TEST_SKIP=${parts.join(',')} (those parts were not tested)` : ''),
);

let coverage = 0;
// Only a full run ran every test that runs a command; a filtered run cannot tell.
if (status === 0 && extra.length === 0 && excluded.length === 0) {
  coverage =
    spawnSync(process.execPath, ['--import', 'tsx', 'test/support/cli-coverage.ts', record], {
      stdio: 'inherit',
    }).status ?? 1;
}
rmSync(recordDir, { recursive: true, force: true });
process.exit(status || coverage);
