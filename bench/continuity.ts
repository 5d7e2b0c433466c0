import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import * as age from 'age-encryption';
import pg from 'pg';
import { deposit } from '../packages/server/src/escrow/deposit.js';
import { type DrillReport, runDrill } from '../packages/server/src/escrow/drill/run.js';
import { locateDeposit } from '../packages/server/src/escrow/manifest.js';
import { restoreDeposit } from '../packages/server/src/escrow/restore.js';
import { decryptSecrets } from '../packages/server/src/escrow/secrets.js';
import { FilesystemArtifactStore } from '../packages/server/src/updates/artifact-store.js';

export interface ContinuityBench {
  registry: { devices: number; telemetryRows: number };
  drill: DrillReport;
  rows: number;
  ours: { depositSqlite: number; depositPostgres: number; restoreSqlite: number; restorePostgres: number };
  reference: { sqliteBackup: number; sqliteRestore: number; pgDump: number; pgRestore: number };
}

/**
 * The drill's devices run in child processes, but both servers share the drill's process: each
 * device holds a socket there, so N devices need N descriptors and a few hundred more. Reads the
 * soft limit from /proc.
 */
export function openFileLimit(): number {
  try {
    const line = readFileSync('/proc/self/limits', 'utf8')
      .split('\n')
      .find((l) => l.startsWith('Max open files'));
    const soft = Number(line?.split(/\s{2,}/)[1]);
    return Number.isFinite(soft) ? soft : 1024;
  } catch {
    return 1024;
  }
}
const deviceBudget = () => openFileLimit() - 2000;

const timed = async (work: () => unknown): Promise<number> => {
  const start = process.hrtime.bigint();
  await work();
  return Number(process.hrtime.bigint() - start) / 1e9;
};

/**
 * The continuity benchmark: the takeover drill on a registry of 100,000 devices and 10 million
 * readings with 10,000 simulated devices, and, on the same data in the same run, deposit and
 * restore beside `sqlite3 .backup`/`.restore` and `pg_dump -Fc`/`pg_restore`.
 */
export async function benchContinuity(): Promise<ContinuityBench> {
  const registry = {
    devices: Number(process.env.BENCH_CONTINUITY_REGISTRY ?? 100_000),
    telemetryRows: Number(process.env.BENCH_CONTINUITY_ROWS ?? 10_000_000),
  };
  const devices = Number(process.env.BENCH_CONTINUITY_DEVICES ?? Math.min(10_000, deviceBudget()));
  const postgres = process.env.BENCH_PG ?? 'postgres://postgres@127.0.0.1:5432/postgres';
  const scratch = mkdtempSync(join(tmpdir(), 'brickless-bench-continuity-'));
  let ours = { depositSqlite: 0, depositPostgres: 0, restoreSqlite: 0, restorePostgres: 0 };
  const reference = { sqliteBackup: 0, sqliteRestore: 0, pgDump: 0, pgRestore: 0 };
  try {
    const drill = await runDrill({
      devices,
      source: 'sqlite',
      target: 'postgres',
      postgres,
      timeoutSeconds: 900,
      registry,
      updateSample: 200,
      onStep: (step) => process.stderr.write(`continuity: ${step}\n`),
      afterChecks: async (context) => {
        process.stderr.write('continuity: reference tools and the other directions\n');
        const backup = join(scratch, 'backup.db');
        reference.sqliteBackup = await timed(() =>
          execFileSync('sqlite3', [context.sourceDatabase, `.backup '${backup}'`]),
        );
        reference.sqliteRestore = await timed(() =>
          execFileSync('sqlite3', [join(scratch, 'restored.db'), `.restore '${backup}'`]),
        );
        const located = locateDeposit(context.escrowDir);
        const secrets = await decryptSecrets(
          readFileSync(join(located.depositDir, 'secrets.age')),
          context.identity,
        );
        ours.restoreSqlite = await timed(() =>
          restoreDeposit(located, { database: join(scratch, 'ours.db'), secrets }),
        );
        const recipient = await age.identityToRecipient(context.identity);
        ours.depositPostgres = await timed(() =>
          deposit(
            {
              database: context.targetDatabase,
              artifacts: new FilesystemArtifactStore(join(context.targetDataDir, 'artifacts')),
              dataDir: context.targetDataDir,
              masterKeyFile: join(context.targetDataDir, 'master.key'),
              config: {},
              openapi: {},
            },
            { out: join(scratch, 'escrow-pg'), recipients: [recipient] },
          ),
        );
        const dump = join(scratch, 'dump.pgc');
        reference.pgDump = await timed(() =>
          execFileSync('pg_dump', ['-Fc', '-Z', '3', '-f', dump, context.targetDatabase]),
        );
        const name = `brickless_bench_${Date.now()}`;
        const admin = new pg.Client({ connectionString: postgres });
        await admin.connect();
        await admin.query(`create database ${name}`);
        const url = new URL(postgres);
        url.pathname = `/${name}`;
        try {
          reference.pgRestore = await timed(() => execFileSync('pg_restore', ['-d', url.toString(), dump]));
        } finally {
          await admin.query(`drop database if exists ${name} with (force)`);
          await admin.end();
        }
      },
    });
    ours = { ...ours, depositSqlite: drill.deposit.seconds, restorePostgres: drill.restoreSeconds };
    return { registry, drill, rows: drill.deposit.rows, ours, reference };
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

const fmt = (n: number) => Math.round(n).toLocaleString('en-US');
const s = (n: number | null) => (n === null ? 'never' : `${n.toFixed(1)} s`);

export function continuitySection(b: ContinuityBench): string {
  const d = b.drill;
  const rows = [
    `| deposit from SQLite (${fmt(b.rows)} rows) | ${s(b.ours.depositSqlite)} (NDJSON chunks, gzip, SHA-256 per chunk, artifacts, sealed secrets) | \`sqlite3 .backup\`: ${s(b.reference.sqliteBackup)} | ${(b.ours.depositSqlite / b.reference.sqliteBackup).toFixed(1)}× | |`,
    `| deposit from PostgreSQL (the restored successor) | ${s(b.ours.depositPostgres)} | \`pg_dump -Fc -Z 3\`: ${s(b.reference.pgDump)} | ${(b.ours.depositPostgres / b.reference.pgDump).toFixed(1)}× | |`,
    `| restore into SQLite | ${s(b.ours.restoreSqlite)} (verify every chunk, insert, migrate, verify audit chains, open sealed keys) | \`sqlite3 .restore\`: ${s(b.reference.sqliteRestore)} | ${(b.ours.restoreSqlite / b.reference.sqliteRestore).toFixed(1)}× | |`,
    `| restore into PostgreSQL, start to successor listening | ${s(b.ours.restorePostgres)} | \`pg_restore\`: ${s(b.reference.pgRestore)} | ${(b.ours.restorePostgres / b.reference.pgRestore).toFixed(1)}× | |`,
    `| ${fmt(d.devices)} simulated devices reconnect after the handover: first / 99 % of those online | ${s(d.firstReconnectSeconds)} / ${s(d.reconnect99Seconds)} (${fmt(d.reconnected)} of ${fmt(d.devices)} back, ${fmt(d.late.devices)} late devices in ${s(d.late.backSeconds)}) | (no reference tool does this) | | |`,
    `| restore start → the successor serves 99 % of ${fmt(d.devices)} devices | ${s(d.served99FromRestoreSeconds)} | | | ≤ 300 s: ${d.served99FromRestoreSeconds !== null && d.served99FromRestoreSeconds <= 300 ? 'met' : 'not met'} |`,
  ];
  return `## Continuity: escrow deposit, restore and takeover

\`BENCH_ONLY=continuity\` replaces this section (measured ${new Date().toISOString().slice(0, 10)}, ${availableParallelism()} cores, Node ${process.version}).${d.devices < 10_000 ? ` The drill ran ${fmt(d.devices)} simulated devices, not 10,000: both servers share one process, a descriptor per device, and this machine allows ${fmt(openFileLimit())} open files per process; \`BENCH_CONTINUITY_DEVICES\` sets it where the limit allows.` : ''} A registry of ${fmt(b.registry.devices)} devices and ${fmt(b.registry.telemetryRows)} readings (plus the drill's own ${fmt(d.devices)} devices) in the maker's SQLite database; the takeover drill (\`brickless escrow drill\`) deposits from the running server, restores into PostgreSQL on other ports, hands over, and checks ${d.features.length} features (${d.features.filter((f) => f.ok).length} passed; rows lost: ${d.rowsLost}; devices lost: ${d.devicesLost}). The reference tools run on the same databases in the same run.

| workload | brickless | reference | ratio | target (issue 6) |
|---|---|---|---|---|
${rows.join('\n')}

`;
}
