import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { SingleBar } from 'cli-progress';
import type { Command } from 'commander';
import {
  appendCheckpoints,
  CHECKPOINT_LOG,
  type ChainLookup,
  type CheckpointProblem,
  checkAgainstCheckpoints,
  currentHeads,
  databaseLookup,
  fetchCheckpoints,
  readCheckpoints,
  signCheckpoints,
} from '../audit/checkpoints.js';
import { type AuditEntry, type ChainReport, PLATFORM_CHAIN } from '../audit/service.js';
import { DomainError } from '../errors.js';
import {
  DEPOSIT_KEY_FILE,
  type DepositKey,
  followRotations,
  loadDepositKey,
  parsePublicKey,
} from '../escrow/signing.js';
import { type CommandContext, enc, query, resolveOrg, withClient } from './context.js';
import { emit, printTable } from './output.js';

const reportColumns: [string, (r: ChainReport) => unknown][] = [
  ['chain', (r) => r.chain],
  ['entries', (r) => r.entries],
  ['head', (r) => (r.head ? `${r.head.seq} ${r.head.hash.slice(0, 16)}…` : '')],
  ['result', (r) => (r.ok ? 'ok' : `BROKEN: ${r.problems.length} problem(s)`)],
];

export function auditCommands(program: Command): void {
  const audit = program.command('audit').description('the tamper-evident audit log');

  audit
    .command('verify')
    .description(
      'recompute the hash chains and check them against signed checkpoints: report any edited, inserted or deleted entry, a cut tail, a rolled-back head or a chain deleted whole (exit 1 if broken)',
    )
    .option('--platform', 'only the platform chain (remote mode)')
    .option(
      '--checkpoints <source>',
      "signed checkpoints: a checkpoint log (JSONL), a set saved from a server's /.well-known/brickless/audit-checkpoints, that URL itself, or an escrow directory (default: the data dir's audit-checkpoints.jsonl)",
    )
    .option(
      '--key <key>',
      "the trusted deposit public key that signs checkpoints (default: the data dir's own key)",
    )
    .action(async (opts: { platform?: boolean; checkpoints?: string; key?: string }, command: Command) =>
      withClient(command, async (ctx) => {
        let reports: ChainReport[];
        let lookup: ChainLookup;
        const app = ctx.client.app;
        if (app) {
          // Direct mode: every chain in the database, with a progress bar for long logs.
          const { audit: log, store } = app.services;
          const chains = await log.chains(store.db);
          const total = await log.count(store.db);
          const bar =
            !ctx.json && process.stderr.isTTY && total > 10_000
              ? new SingleBar({ stream: process.stderr })
              : null;
          bar?.start(total, 0);
          reports = [];
          for (const chain of chains)
            reports.push(await log.verify(store.db, chain, (n) => bar?.increment(n)));
          bar?.stop();
          lookup = databaseLookup(store.db);
        } else {
          const chain = opts.platform ? PLATFORM_CHAIN : await orgId(ctx);
          const base = opts.platform ? '/v1/platform/audit' : `/v1/orgs/${enc(chain)}/audit`;
          const report = await ctx.client.request<ChainReport>('GET', `${base}/verify`);
          reports = [report];
          lookup = remoteLookup(ctx, chain, base, report);
        }
        const checkpoints = await checkCheckpoints(
          ctx,
          opts,
          lookup,
          app ? null : reports.map((r) => r.chain),
        );
        const ok = reports.every((r) => r.ok) && checkpoints.problems.length === 0;
        emit(ctx, { ok, chains: reports, checkpoints }, () => {
          printTable(reports, reportColumns);
          for (const r of reports)
            for (const p of r.problems) process.stdout.write(`${r.chain} #${p.seq}: ${p.problem}\n`);
          for (const p of checkpoints.problems) process.stdout.write(`${p.chain}: ${p.problem}\n`);
          process.stdout.write(`${checkpoints.summary}\n`);
          process.stdout.write(
            ok ? 'audit log verified: every chain intact\n' : 'audit log BROKEN: see the problems above\n',
          );
        });
        if (!ok) process.exitCode = 1;
      }),
    );

  audit
    .command('checkpoint')
    .description(
      "sign a checkpoint of every chain's head with the deposit key and append it to the data dir's checkpoint log (keep copies elsewhere: they anchor the log)",
    )
    .action(async (_opts: unknown, command: Command) =>
      withClient(command, async (ctx) => {
        const app = ctx.client.app;
        if (!app)
          throw new DomainError(
            'validation-failed',
            'audit checkpoint runs on the data dir (not with --server)',
          );
        const signed = signCheckpoints(
          await currentHeads(app.services.store.db),
          loadDepositKey(ctx.config.dataDir),
          new Date(),
        );
        const file = join(ctx.config.dataDir, CHECKPOINT_LOG);
        appendCheckpoints(file, signed);
        emit(ctx, { file, checkpoints: signed }, () => {
          printTable(signed, [
            ['chain', (c) => c.checkpoint.chain],
            ['size', (c) => c.checkpoint.size],
            ['head', (c) => `${c.checkpoint.head.slice(0, 16)}…`],
          ]);
          process.stdout.write(`${signed.length} checkpoints appended to ${file}\n`);
        });
      }),
    );

  audit
    .command('list')
    .description("show an organisation's audit entries, oldest first (or the platform's with --platform)")
    .option('--platform', 'the platform chain')
    .option('--after-seq <n>', 'entries after this sequence number')
    .option('--action <action>', 'only this action, e.g. device.create')
    .option('--target <id>', 'only entries about this object')
    .option('--limit <n>', 'how many', '100')
    .action(
      async (
        opts: { platform?: boolean; afterSeq?: string; action?: string; target?: string; limit: string },
        command: Command,
      ) =>
        withClient(command, async (ctx) => {
          const q = query({
            afterSeq: opts.afterSeq,
            action: opts.action,
            targetId: opts.target,
            limit: opts.limit,
          });
          const path = opts.platform
            ? `/v1/platform/audit${q}`
            : `/v1/orgs/${enc(await resolveOrg(ctx))}/audit${q}`;
          const page = await ctx.client.request<{ items: AuditEntry[]; nextAfterSeq: number | null }>(
            'GET',
            path,
          );
          emit(ctx, page, () => {
            printTable(page.items, [
              ['#', (e) => e.seq],
              ['at', (e) => e.at],
              ['actor', (e) => e.actor],
              ['action', (e) => e.action],
              ['target', (e) => `${e.targetType} ${e.targetId}`],
            ]);
            if (page.nextAfterSeq !== null) process.stdout.write(`more: --after-seq ${page.nextAfterSeq}\n`);
          });
        }),
    );
}

async function orgId(ctx: CommandContext): Promise<string> {
  const org = await ctx.client.request<{ id: string }>('GET', `/v1/orgs/${enc(await resolveOrg(ctx))}`);
  return org.id;
}

/** The log as a remote server shows it: the verified head, and an entry through the list API. */
function remoteLookup(ctx: CommandContext, chain: string, base: string, report: ChainReport): ChainLookup {
  return {
    head: async (c) => (c === chain ? report.head : null),
    entryHash: async (c, seq) => {
      if (c !== chain) return null;
      const page = await ctx.client.request<{ items: AuditEntry[] }>(
        'GET',
        `${base}?afterSeq=${seq - 1}&limit=1`,
      );
      const entry = page.items[0];
      return entry && entry.seq === seq ? entry.hash : null;
    },
  };
}

/**
 * Reads the checkpoints (the given file or escrow directory, else the data dir's log) and the
 * trusted key (--key, else the data dir's deposit key), follows key rotations from it, and
 * checks the log against them. Remote mode checks the chains it could read.
 */
async function checkCheckpoints(
  ctx: CommandContext,
  opts: { checkpoints?: string; key?: string },
  lookup: ChainLookup,
  onlyChains: string[] | null,
): Promise<{ problems: CheckpointProblem[]; summary: string; checked: number }> {
  const file = opts.checkpoints ?? join(ctx.config.dataDir, CHECKPOINT_LOG);
  if (!opts.checkpoints && !existsSync(file))
    return { problems: [], checked: 0, summary: 'no checkpoints to check against (give --checkpoints)' };
  const source = /^https?:\/\//i.test(file) ? await fetchCheckpoints(file) : readCheckpoints(file);
  if (onlyChains)
    source.checkpoints = source.checkpoints.filter((c) => onlyChains.includes(c.checkpoint?.chain));
  let local: DepositKey | null = null;
  if (existsSync(join(ctx.config.dataDir, DEPOSIT_KEY_FILE)))
    local = loadDepositKey(ctx.config.dataDir, { create: false });
  const trusted = opts.key
    ? parsePublicKey(opts.key)
    : (local?.rotations[0]?.statement.from ?? local?.publicKey);
  if (!trusted)
    throw new DomainError('validation-failed', 'no deposit key to check the checkpoints with: give --key');
  const rotations = [local?.rotations ?? [], source.rotations].reduce((a, b) =>
    b.length > a.length ? b : a,
  );
  const followed = followRotations(trusted, rotations);
  const keys = new Set('error' in followed ? [trusted] : followed.keys);
  const result = await checkAgainstCheckpoints(source, keys, lookup);
  return {
    ...result,
    summary: `${result.checked} checkpoints of ${result.chains} chains checked (${file})`,
  };
}
