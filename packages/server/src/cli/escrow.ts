import { existsSync } from 'node:fs';
import { userInfo } from 'node:os';
import { SingleBar } from 'cli-progress';
import type { Command } from 'commander';
import { PLATFORM_CHAIN } from '../audit/service.js';
import type { Config } from '../config.js';
import { DomainError } from '../errors.js';
import type { DrillReport } from '../escrow/drill/run.js';
import { type DepositManifest, locateDeposit } from '../escrow/manifest.js';
import { generateAgentKey, readIdentityFile } from '../escrow/secrets.js';
import { depositFromApp, recordDrill } from '../escrow/service.js';
import { loadDepositKey, parsePublicKey, rotateDepositKey } from '../escrow/signing.js';
import { defaultPinFile, restoreEscrow, type VerifyReport, verifyEscrow } from '../escrow/successor.js';
import type { TrustOptions } from '../escrow/trust.js';
import { invitationUrl } from '../people/invitations.js';
import type { Dialect } from '../store/db.js';
import { directClient } from './client.js';
import { collect, configFrom, globalOptions } from './context.js';
import { depositEscrowGaps } from './escrow-gap.js';
import { emit, printRecord, printTable } from './output.js';

/** A progress bar on stderr for people; nothing for --json or a pipe. */
export function progressBar(
  json: boolean,
  label: string,
): {
  update(phase: string, done: number, total: number): void;
  stop(): void;
} {
  if (json || !process.stderr.isTTY) return { update() {}, stop() {} };
  const bar = new SingleBar({
    format: `${label} [{bar}] {percentage}% {value}/{total} {phase}`,
    stream: process.stderr,
  });
  let current = '';
  return {
    update(phase, done, total) {
      if (phase !== current) {
        if (current) bar.stop();
        bar.start(Math.max(total, 1), 0, { phase });
        current = phase;
      }
      bar.update(done, { phase });
    },
    stop() {
      if (current) bar.stop();
    },
  };
}

interface VerifyOptions {
  identity?: string;
  deposit?: string;
  pin?: string;
  depositKey?: string;
}

/** The pin next to the identity unless --pin says otherwise; --deposit-key from the escrow agreement. */
function trustOptions(opts: VerifyOptions): Omit<TrustOptions, 'explicit'> {
  const pinFile = opts.pin ?? (opts.identity ? defaultPinFile(opts.identity) : undefined);
  return {
    ...(pinFile ? { pinFile } : {}),
    ...(opts.depositKey ? { depositKey: parsePublicKey(opts.depositKey) } : {}),
  };
}

function actor(): string {
  try {
    return `cli:${userInfo().username}`;
  } catch {
    return 'cli:unknown';
  }
}

/** Deposits through an in-process app on the data dir. */
export async function depositFromConfig(
  config: Config,
  out: string,
  recipients: string[],
  onProgress?: (phase: string, done: number, total: number) => void,
): Promise<DepositManifest> {
  const client = await directClient(config);
  try {
    if (!client.app) throw new Error('escrow deposit needs the data dir');
    return await depositFromApp(client.app, config, out, recipients, actor(), onProgress);
  } finally {
    await client.close();
  }
}

export function escrowCommands(program: Command): void {
  const escrow = program
    .command('escrow')
    .description('deposits for a successor: deposit, verify, restore (docs/continuity.md)');

  escrow
    .command('keygen')
    .description(
      "make an escrow agent's age key pair (the agent keeps the identity file; the maker gets the public key)",
    )
    .requiredOption('--out <file>', 'identity file to write (0600, never overwritten)')
    .action(async (opts: { out: string }, command: Command) => {
      const json = globalOptions(command).json ?? false;
      const recipient = await generateAgentKey(opts.out);
      emit({ json }, { identityFile: opts.out, recipient }, () =>
        process.stdout.write(`wrote ${opts.out}\npublic key (give this to the maker): ${recipient}\n`),
      );
    });

  escrow
    .command('deposit')
    .description(
      'write a deposit into an escrow directory: data, artifacts, trust, docs, sealed secrets (only what changed since the last deposit is written)',
    )
    .requiredOption('--recipient <age-public-key>', "the escrow agent's age public key (repeatable)", collect)
    .requiredOption(
      '--out <dir>',
      'escrow directory (created when missing; later deposits reuse its objects)',
    )
    .action(async (opts: { recipient: string[]; out: string }, command: Command) => {
      const options = globalOptions(command);
      if (options.server)
        throw new DomainError(
          'validation-failed',
          'escrow deposit runs on the server host, on its data dir (not with --server)',
        );
      const config = configFrom(options);
      const json = options.json ?? false;
      const bar = progressBar(json, 'deposit');
      let manifest: DepositManifest;
      try {
        manifest = await depositFromConfig(config, opts.out, opts.recipient, bar.update);
      } finally {
        bar.stop();
      }
      emit({ json }, summary(manifest), () => {
        const s = manifest.stats;
        process.stdout.write(
          `deposit ${manifest.id} written to ${opts.out} in ${s.seconds} s\n` +
            `  ${s.rows.toLocaleString('en-US')} rows in ${Object.keys(manifest.tables).length} tables, ${s.chunks} chunks (${s.newChunks} new), ` +
            `${s.artifacts} artifacts (${s.newArtifacts} new), ${(s.newBytes / 1048576).toFixed(1)} MiB written\n` +
            `  secrets sealed to ${manifest.secrets.recipients.join(', ')}\n` +
            `  check it: brickless escrow verify ${opts.out} --identity AGENT_KEY\n`,
        );
      });
    });

  escrow
    .command('verify')
    .argument('<bundle>', 'escrow directory, deposit directory or manifest.json')
    .description(
      'check a deposit: signature, chain and hashes (integrity), nothing missing and values both databases hold (completeness), and with --identity a trial restore (restorability); exits 1 on any gap',
    )
    .option('--identity <file>', "the escrow agent's age identity file")
    .option('--deposit <id>', 'a deposit other than the latest')
    .option(
      '--pin <file>',
      'where the agent keeps the trusted deposit key and the newest verified deposit (default: IDENTITY.deposit-pin.json)',
    )
    .option(
      '--deposit-key <key>',
      "the service's deposit public key from the escrow agreement (or a file holding it)",
    )
    .action(async (bundle: string, opts: VerifyOptions, command: Command) => {
      const json = globalOptions(command).json ?? false;
      const bar = progressBar(json, 'verify');
      let report: VerifyReport;
      try {
        report = await verifyEscrow({
          bundle,
          ...(opts.deposit ? { depositId: opts.deposit } : {}),
          ...(opts.identity ? { identity: readIdentityFile(opts.identity) } : {}),
          trust: trustOptions(opts),
          onProgress: bar.update,
        });
      } finally {
        bar.stop();
      }
      // The deposit restores either way; without an escrow key in the TUF root the successor
      // still cannot sign updates or move the devices: said until the root names one.
      const escrowGaps = depositEscrowGaps(locateDeposit(bundle, opts.deposit));
      emit({ json }, { ...report, escrowGaps }, () => {
        printTable(report.checks, [
          ['level', (c) => c.level],
          ['check', (c) => c.name],
          ['result', (c) => (c.ok ? 'ok' : 'FAILED')],
          ['detail', (c) => c.detail],
        ]);
        process.stdout.write(
          `\ndeposit ${report.deposit}: level reached: ${report.level ?? 'none'}` +
            (report.skipped.length ? ` (not checked: ${report.skipped.join(', ')}; give --identity)` : '') +
            `\n${report.ok ? 'no gaps found' : 'GAPS FOUND: this deposit would not restore as it is'}\n`,
        );
      });
      for (const gap of escrowGaps) process.stderr.write(`WARNING: ${gap}\n`);
      if (!report.ok) process.exitCode = 1;
    });

  escrow
    .command('key')
    .description(
      "show this service's deposit public key (it signs every deposit and audit checkpoint; give it to the escrow agent for the agreement)",
    )
    .action(async (_opts: unknown, command: Command) => {
      const options = globalOptions(command);
      const config = configFrom(options);
      const key = loadDepositKey(config.dataDir);
      emit({ json: options.json ?? false }, { publicKey: key.publicKey, rotations: key.rotations }, () =>
        process.stdout.write(`${key.publicKey}\n`),
      );
    });

  escrow
    .command('rotate-key')
    .description(
      'replace the deposit key; the rotation is signed by the old key, so agents that pinned it follow to the new one',
    )
    .action(async (_opts: unknown, command: Command) => {
      const options = globalOptions(command);
      const config = configFrom(options);
      const rotation = rotateDepositKey(config.dataDir, new Date());
      emit({ json: options.json ?? false }, rotation, () =>
        process.stdout.write(
          `deposit key rotated: ${rotation.statement.from} -> ${rotation.statement.to}\n  the next deposit carries the rotation, signed by the old key\n`,
        ),
      );
    });

  drillCommand(escrow);

  escrow
    .command('restore')
    .argument('<bundle>', 'escrow directory, deposit directory or manifest.json')
    .description(
      'bring up a successor from a deposit: an empty database (either dialect), the master key and the artifacts in this data dir',
    )
    .requiredOption('--identity <file>', "the escrow agent's age identity file")
    .option('--deposit <id>', 'a deposit other than the latest')
    .option('--keep-tls', "also install the old server's TLS keys (only when taking over its host names)")
    .option(
      '--pin <file>',
      'the trusted deposit key and newest verified deposit (default: IDENTITY.deposit-pin.json)',
    )
    .option(
      '--deposit-key <key>',
      "the service's deposit public key from the escrow agreement (or a file holding it)",
    )
    .action(
      async (
        bundle: string,
        opts: VerifyOptions & { identity: string; keepTls?: boolean },
        command: Command,
      ) => {
        const options = globalOptions(command);
        if (options.server)
          throw new DomainError('validation-failed', 'escrow restore works on a data dir, not with --server');
        const config = configFrom(options);
        const json = options.json ?? false;
        const started = Date.now();
        const bar = progressBar(json, 'restore');
        let report: Awaited<ReturnType<typeof restoreEscrow>>;
        try {
          report = await restoreEscrow({
            bundle,
            ...(opts.deposit ? { depositId: opts.deposit } : {}),
            identity: readIdentityFile(opts.identity),
            trust: trustOptions(opts),
            database: config.database,
            artifactDir: config.updates.artifactDir,
            maxArtifactBytes: config.updates.maxArtifactBytes,
            masterKeyFile: config.secrets.masterKeyFile,
            ...(opts.keepTls ? { tlsDataDir: config.dataDir } : {}),
            onProgress: bar.update,
            onRestoreProgress: (p) => bar.update(p.phase, p.done, p.total),
          });
        } finally {
          bar.stop();
        }
        const located = report.deposit;
        const tls = report.tlsInstalled;
        const client = await directClient(config);
        let setupUrl: string;
        try {
          const app = client.app;
          if (!app) throw new Error('escrow restore needs the data dir');
          // The successor's own first administrator (issue 16 §7): the maker's passkeys cannot work
          // under the successor's domain, so a one-time link creates a platform admin of its own.
          const base = config.http.publicUrl ?? `https://localhost:${config.http.port}`;
          setupUrl = invitationUrl(base, await app.services.invitations.successorLink(actor()));
          await app.services.store.db.transaction().execute((trx) =>
            app.services.audit.append(trx, PLATFORM_CHAIN, {
              actor: actor(),
              action: 'escrow.restore',
              targetType: 'escrow-deposit',
              targetId: located.manifest.id,
              details: {
                from: located.manifest.brickless,
                rows: Object.values(report.rows).reduce((a, b) => a + b, 0),
                ledger: report.ledger,
              },
            }),
          );
        } finally {
          await client.close();
        }
        const seconds = Math.round((Date.now() - started) / 100) / 10;
        emit(
          { json },
          {
            deposit: located.manifest.id,
            database: config.database.replace(/:\/\/[^@]*@/, '://***@'),
            seconds,
            rows: report.rows,
            artifacts: report.artifacts,
            chains: report.chains,
            sealedSecretsOpened: report.sealedSecretsOpened,
            trustRoots: report.trustRoots,
            migratedTo: report.migratedTo,
            ledger: report.ledger,
            tlsInstalled: tls,
            setupUrl,
          },
          () => {
            const rows = Object.values(report.rows).reduce((a, b) => a + b, 0);
            process.stdout.write(
              `restored deposit ${located.manifest.id} in ${seconds} s: ${rows.toLocaleString('en-US')} rows, ${report.artifacts} artifacts, ` +
                `${report.sealedSecretsOpened} sealed keys open, ${report.chains.length} audit chains verify\n` +
                `  deletion ledger of deposit ${report.ledger.deposit}: ${report.ledger.tombstones} tombstones, ${report.ledger.rowsDeleted} rows deleted again (docs/data-rights.md)\n` +
                (report.ledger.note ? `  warning: ${report.ledger.note}\n` : '') +
                `  data dir: ${config.dataDir}\n  next: brickless --data-dir ${config.dataDir} serve, then the handover (RESTORE.md)\n` +
                `  your first administrator: open this one-time link within 7 days, once the server runs\n` +
                `  (the maker's people came along; their passkeys only work on the maker's domain: docs/accounts.md):\n` +
                `  ${setupUrl}\n`,
            );
          },
        );
      },
    );
}

function drillCommand(escrow: Command): void {
  escrow
    .command('drill')
    .description(
      'the whole takeover on this machine: a server with N devices, a deposit, a restore on other ports and the other database, the handover, reconnection and a feature checklist; exits 1 on any loss',
    )
    .option('--devices <n>', 'simulated devices (real SDK, MQTT/TLS)', '100')
    .option('--source <dialect>', 'the maker server database: sqlite or postgres', 'sqlite')
    .option('--target <dialect>', 'the successor database (default: the other dialect)')
    .option(
      '--postgres <url>',
      'PostgreSQL server whose user may create databases (default BRICKLESS_TEST_PG or postgres://postgres@127.0.0.1:5432/postgres)',
    )
    .option('--timeout <seconds>', 'how long devices may take to move, and to update', '300')
    .action(
      async (
        opts: { devices: string; source: string; target?: string; postgres?: string; timeout: string },
        command: Command,
      ) => {
        const json = globalOptions(command).json ?? false;
        const devices = Number(opts.devices);
        if (!Number.isInteger(devices) || devices < 1 || devices > 100_000)
          throw new DomainError('validation-failed', '--devices must be 1 to 100,000');
        const dialect = (value: string): Dialect => {
          if (value !== 'sqlite' && value !== 'postgres')
            throw new DomainError('validation-failed', `${value}: the dialect is sqlite or postgres`);
          return value;
        };
        const source = dialect(opts.source);
        const target = dialect(opts.target ?? (source === 'sqlite' ? 'postgres' : 'sqlite'));
        const started = Date.now();
        // The drill (and the pg driver it needs) is loaded here, not with every CLI command (issue 15).
        const { runDrill } = await import('../escrow/drill/run.js');
        const report = await runDrill({
          devices,
          source,
          target,
          postgres:
            opts.postgres ?? process.env.BRICKLESS_TEST_PG ?? 'postgres://postgres@127.0.0.1:5432/postgres',
          timeoutSeconds: Number(opts.timeout),
          onStep: (step) => {
            if (!json) process.stderr.write(`[${((Date.now() - started) / 1000).toFixed(1)} s] ${step}\n`);
          },
        });
        const recorded = await recordDrillInDataDir(command, report, (Date.now() - started) / 1000);
        if (!json) process.stderr.write(`${recorded}\n`);
        emit({ json }, report, () => {
          const s = (v: number | null) => (v === null ? 'never' : `${v} s`);
          printRecord({
            devices: report.devices,
            databases: `${report.source} → ${report.target}`,
            deposit: `${report.deposit.seconds} s (${report.deposit.rows.toLocaleString('en-US')} rows, ${report.deposit.megabytes} MiB)`,
            'time to restore': s(report.restoreSeconds),
            'first device back': s(report.firstReconnectSeconds),
            '99 % of devices back': s(report.reconnect99Seconds),
            'restore start → 99 % served': s(report.served99FromRestoreSeconds),
            'late devices back': `${report.late.devices} in ${s(report.late.backSeconds)} (booted after the old server was gone)`,
            reconnected: `${report.reconnected} (${(report.reconnectedShare * 100).toFixed(1)} %)`,
            'devices lost': report.devicesLost,
            'rows lost': report.rowsLost,
            features: `${report.features.filter((f) => f.ok).length} of ${report.features.length} pass`,
          });
          process.stdout.write('\n');
          printTable(report.features, [
            ['feature', (f) => f.name],
            ['result', (f) => (f.ok ? 'ok' : 'FAILED')],
            ['detail', (f) => f.detail],
          ]);
          process.stdout.write(`\n${report.ok ? 'drill passed' : 'DRILL FAILED'}\n`);
        });
        if (!report.ok) process.exitCode = 1;
      },
    );
}

/**
 * The drill's result goes into the platform audit chain of the configured data dir (`escrow.drill`),
 * where the console's continuity page reads it back; a machine without one (a laptop trying the
 * drill) records nothing rather than creating a data dir. Returns what happened, for stderr.
 */
async function recordDrillInDataDir(command: Command, report: DrillReport, seconds: number): Promise<string> {
  try {
    const config = configFrom(globalOptions(command));
    if (!existsSync(config.dataDir)) return `drill not recorded: no data dir at ${config.dataDir}`;
    const client = await directClient(config);
    try {
      if (!client.app) return 'drill not recorded: no in-process app';
      await recordDrill(client.app, report, Math.round(seconds * 10) / 10, actor());
      return `drill recorded in the audit log of ${config.dataDir} (escrow.drill)`;
    } finally {
      await client.close();
    }
  } catch (error) {
    return `drill not recorded: ${(error as Error).message}`;
  }
}

function summary(manifest: DepositManifest) {
  return {
    id: manifest.id,
    sequence: manifest.sequence,
    createdAt: manifest.createdAt,
    schema: manifest.schema.current,
    tables: Object.fromEntries(Object.entries(manifest.tables).map(([n, t]) => [n, t.rows])),
    stats: manifest.stats,
    recipients: manifest.secrets.recipients,
  };
}
