import { writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import { unzipSync } from 'fflate';
import type { ReadinessReport } from '../continuity/readiness.js';
import type { HistoryPoint } from '../continuity/readiness-record.js';
import { READINESS_FILE } from '../continuity/readiness-record.js';
import { DomainError } from '../errors.js';
import { verifyPack } from '../evidence/manifest.js';
import { type CommandContext, enc, query, resolveOrg, withClient } from './context.js';
import { emit, printTable } from './output.js';

interface ReadinessFlags {
  out?: string;
  maxAgeHours?: string;
  drillMaxAgeDays?: string;
  history?: boolean;
  limit?: string;
}

const positive = (flag: string, value: string | undefined): number | undefined => {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < 1)
    throw new DomainError('validation-failed', `${flag} must be an integer ≥ 1`);
  return n;
};

const share = (value: number | null | undefined) =>
  value === null || value === undefined ? '-' : `${Math.round(value * 1000) / 10} %`;
const or = (value: unknown, unit = '') => (value === null || value === undefined ? '-' : `${value}${unit}`);

/** Continuity for an insurer or escrow agent (issue 21 §3, docs/continuity.md). */
export function continuityCommands(program: Command): void {
  const continuity = program
    .command('continuity')
    .description('how ready a successor is to take over: the takeover readiness report and its history');

  continuity
    .command('readiness')
    .description(
      'build the takeover readiness report (recorded for the history); --out writes it signed, to check with `brickless evidence verify`',
    )
    .option('--out <file>', 'write the signed report (a ZIP with a manifest signed by the deposit key)')
    .option(
      '--max-age-hours <n>',
      'the agreed deposit interval (default: config escrow.intervalHours, else 24)',
    )
    .option('--drill-max-age-days <n>', 'how old the last takeover drill may be (default 90)')
    .option('--history', 'print the recorded reports instead: the trend, newest first')
    .option('--limit <n>', 'with --history: how many reports (default 50)')
    .action(async (opts: ReadinessFlags, command: Command) =>
      withClient(command, async (ctx) => {
        const org = await resolveOrg(ctx);
        if (opts.history) return history(ctx, org, positive('--limit', opts.limit));
        const q = query({
          maxAgeHours: positive('--max-age-hours', opts.maxAgeHours),
          drillMaxAgeDays: positive('--drill-max-age-days', opts.drillMaxAgeDays),
        });
        const base = `/v1/orgs/${enc(org)}/continuity/readiness`;
        let report: ReadinessReport;
        let signedBy: string | null = null;
        if (opts.out) {
          const archive = await ctx.client.download(`${base}/signed${q}`);
          writeFileSync(opts.out, archive);
          signedBy = verifyPack(archive).signedBy;
          const file = unzipSync(archive)[READINESS_FILE] as Uint8Array;
          report = JSON.parse(Buffer.from(file).toString('utf8')) as ReadinessReport;
        } else report = await ctx.client.request<ReadinessReport>('GET', `${base}${q}`);
        emit(ctx, opts.out ? { file: opts.out, signedBy, report } : report, () => {
          printReport(report);
          if (opts.out)
            process.stdout.write(
              `\nwrote ${opts.out}, signed by deposit key ${signedBy}; check it with: brickless evidence verify ${opts.out} --key ${signedBy}\n`,
            );
        });
      }),
    );
}

function printReport(r: ReadinessReport): void {
  const w = (line: string) => process.stdout.write(`${line}\n`);
  w(`Takeover readiness of ${r.organization.name} (${r.organization.slug}), ${r.createdAt}`);
  const last = r.recoveryPoint.lastDeposit;
  const verified = r.recoveryPoint.lastVerifiedDeposit;
  w(
    `last deposit            ${last ? `${last.ageHours} h ago (${last.depositId}, ${last.check ?? 'unchecked'})` : 'none'}`,
  );
  w(`last verified deposit   ${verified ? `${verified.ageHours} h ago (${verified.depositId})` : 'none'}`);
  w(`agreed interval         ${r.limits.maxDepositAgeHours} h (${r.limits.maxDepositAgeFrom})`);
  const d = r.drill;
  w(
    `last drill              ${d ? `${d.ok ? 'passed' : 'FAILED'} ${d.ageDays} days ago; 99 % served after ${or(d.served99Seconds, ' s')}; ${share(d.movedShare)} of its devices moved` : 'none'}`,
  );
  const k = r.updateKeys;
  w(
    `escrow key in TUF root  ${k.escrowHoldsRootShare ? `yes, ${k.escrowKeysInRoot} of ${k.rootThreshold} signatures needed${k.escrowMeetsRootThreshold ? ' (meets the threshold alone)' : ''}` : 'no'}`,
  );
  w(`devices that can move   ${r.devices.canMove} of ${r.devices.total} (${share(r.devices.share)})`);
  w(`  rule: ${r.devices.rule}`);
  w('standard parts');
  for (const p of r.parts.standard) w(`  ${p.part}: ${p.value}`);
  w(
    `custom configuration    ${r.parts.customConfig === null ? 'not reported (not started by brickless serve)' : r.parts.customConfig.join(', ') || 'none'}`,
  );
  w('a successor would still need');
  for (const need of r.successorNeeds) w(`  - ${need}`);
  if (r.warnings.length === 0) w('no warnings');
  for (const warning of r.warnings) w(`WARNING ${warning.code}: ${warning.message}`);
}

async function history(ctx: CommandContext, org: string, limit: number | undefined): Promise<void> {
  const page = await ctx.client.request<{ items: HistoryPoint[] }>(
    'GET',
    `/v1/orgs/${enc(org)}/continuity/readiness/history${query({ limit })}`,
  );
  emit(ctx, page, () =>
    printTable(page.items, [
      ['at', (p) => p.at],
      ['deposit age', (p) => or(p.depositAgeHours, ' h')],
      ['verified age', (p) => or(p.verifiedDepositAgeHours, ' h')],
      ['drill', (p) => (p.drillOk === null ? '-' : `${p.drillOk ? 'passed' : 'failed'} ${p.drillAgeDays} d`)],
      ['99 % served', (p) => or(p.served99Seconds, ' s')],
      ['escrow in root', (p) => (p.escrowHoldsRootShare ? 'yes' : 'no')],
      ['can move', (p) => share(p.devicesCanMoveShare)],
      ['warnings', (p) => p.warnings.join(', ') || '-'],
    ]),
  );
}
