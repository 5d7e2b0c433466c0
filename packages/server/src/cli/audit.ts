import { SingleBar } from 'cli-progress';
import type { Command } from 'commander';
import type { AuditEntry, ChainReport } from '../audit/service.js';
import { enc, query, resolveOrg, withClient } from './context.js';
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
      'recompute the hash chains and report any edited, inserted or deleted entry (exit 1 if broken)',
    )
    .option('--platform', 'only the platform chain (remote mode)')
    .action(async (opts: { platform?: boolean }, command: Command) =>
      withClient(command, async (ctx) => {
        let reports: ChainReport[];
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
        } else {
          const path = opts.platform
            ? '/v1/platform/audit/verify'
            : `/v1/orgs/${enc(await resolveOrg(ctx))}/audit/verify`;
          reports = [await ctx.client.request<ChainReport>('GET', path)];
        }
        const ok = reports.every((r) => r.ok);
        emit(ctx, { ok, chains: reports }, () => {
          printTable(reports, reportColumns);
          for (const r of reports)
            for (const p of r.problems) process.stdout.write(`${r.chain} #${p.seq}: ${p.problem}\n`);
          process.stdout.write(
            ok ? 'audit log verified: every chain intact\n' : 'audit log BROKEN: see the problems above\n',
          );
        });
        if (!ok) process.exitCode = 1;
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
