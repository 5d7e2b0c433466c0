/**
 * One "node" for the exactly-once process test (cluster/jobs-once.process.test.ts): a process of
 * its own that opens the database and runs one lease-held job, whose visible effect is a row in
 * `job_effects` (created by the test) per run. Usage:
 *   node --import tsx job-node.ts <database> <name> <periodMs> <workMs> <ttlMs>
 * Prints `ready` once polling. Killed with -9 by the test; never stops by itself.
 */
import { sql } from 'kysely';
import { JobLeases } from '../cluster/leases.js';
import { openStore } from '../store/db.js';

const [database, name, periodText, workText, ttlText] = process.argv.slice(2);
if (!database || !name || !periodText || !workText || !ttlText) {
  process.stderr.write('usage: job-node.ts <database> <name> <periodMs> <workMs> <ttlMs>\n');
  process.exit(2);
}
const store = await openStore(database);
const leases = new JobLeases(
  { db: store.db, dialect: store.dialect, holder: `${name}#${process.pid}` },
  { ttlMs: Number(ttlText), pollMs: 50 },
);
leases.every(
  'effect',
  Number(periodText),
  async (run) => {
    const started = Date.now();
    await sql`insert into job_effects (node, token, started_at) values (${name}, ${run.token}, ${started})`.execute(
      store.db,
    );
    await new Promise((resolve) => setTimeout(resolve, Number(workText)));
    // Fenced: the end is recorded only while the lease is still this run's.
    if (await run.stillHeld())
      await sql`update job_effects set ended_at = ${Date.now()} where token = ${run.token}`.execute(store.db);
  },
  (error) => process.stderr.write(`${name}: ${String(error)}\n`),
);
// The interval is unref'd, as in the server: keep this process alive until it is killed.
setInterval(() => {}, 60_000);
process.stdout.write('ready\n');
