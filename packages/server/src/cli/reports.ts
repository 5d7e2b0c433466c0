import { writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import type { ReportCase } from '../vulnerabilities/report-cases.js';
import { enc, query, resolveOrg, withClient } from './context.js';
import { emit, printRecord, printTable } from './output.js';
import { resolveRef } from './resolve.js';

const clockCell = (c: ReportCase, stage: string): string => {
  const k = c.clocks.find((x) => x.stage === stage);
  if (!k) return '';
  if (k.submittedAt) return `${k.state} ${k.submittedAt.slice(0, 16)}`;
  return k.dueAt ? `${k.state} by ${k.dueAt.slice(0, 16)}` : k.state;
};

/** CRA Art. 14 report cases, CSAF advisories and the security contact (disclosures.ts: reports). */
export function reportCommands(program: Command): void {
  const reports = program
    .command('reports')
    .description('CRA Art. 14 report cases: deadlines, drafts, submissions');

  reports
    .command('list')
    .description('report cases, soonest deadline first')
    .option('--overdue', 'only cases with an overdue stage')
    .option('--upcoming [hours]', 'only cases with a stage due within hours (default 72)')
    .option('--closed', 'closed cases instead of open ones')
    .action(
      async (opts: { overdue?: boolean; upcoming?: string | boolean; closed?: boolean }, command: Command) =>
        withClient(command, async (ctx) => {
          const org = await resolveOrg(ctx);
          const page = await ctx.client.request<{ items: ReportCase[] }>(
            'GET',
            `/v1/orgs/${enc(org)}/report-cases${query({
              status: opts.closed ? 'closed' : 'open',
              due: opts.overdue ? 'overdue' : opts.upcoming ? 'upcoming' : undefined,
              withinHours: typeof opts.upcoming === 'string' ? opts.upcoming : undefined,
            })}`,
          );
          emit(ctx, page, () =>
            printTable(page.items, [
              ['case', (c) => c.id],
              ['kind', (c) => c.kind],
              ['title', (c) => c.title],
              ['aware at', (c) => c.awareAt.slice(0, 16)],
              ['early warning (24 h)', (c) => clockCell(c, 'early-warning')],
              ['notification (72 h)', (c) => clockCell(c, 'notification')],
              ['final report', (c) => clockCell(c, 'final-report')],
            ]),
          );
          if (page.items.some((c) => c.clocks.some((k) => k.state === 'overdue'))) process.exitCode = 2;
        }),
    );

  reports
    .command('get <caseId>')
    .description('a report case with its clocks and submissions')
    .action(async (caseId: string, _opts: unknown, command: Command) =>
      withClient(command, async (ctx) => {
        const org = await resolveOrg(ctx);
        const c = await ctx.client.request<ReportCase>(
          'GET',
          `/v1/orgs/${enc(org)}/report-cases/${enc(caseId)}`,
        );
        emit(ctx, c, () => {
          printRecord({
            id: c.id,
            kind: c.kind,
            title: c.title,
            vulnerability: c.vulnerabilityId,
            product: c.productId,
            source: c.source,
            'aware at': c.awareAt,
            'corrective measure': c.correctiveAvailableAt,
            status: c.status,
          });
          printTable(c.clocks, [
            ['stage', (k) => k.stage],
            ['due', (k) => k.dueAt],
            ['submitted', (k) => k.submittedAt],
            ['state', (k) => k.state],
          ]);
        });
      }),
    );

  reports
    .command('draft <caseId>')
    .description('a draft of the early warning, notification or final report, filled from the fleet')
    .requiredOption('--stage <stage>', 'early-warning | notification | final-report')
    .option('--out <file>', 'write to a file')
    .action(async (caseId: string, opts: { stage: string; out?: string }, command: Command) =>
      withClient(command, async (ctx) => {
        const org = await resolveOrg(ctx);
        const draft = await ctx.client.request<{ missing?: Array<{ field: string; message: string }> }>(
          'GET',
          `/v1/orgs/${enc(org)}/report-cases/${enc(caseId)}/draft${query({ stage: opts.stage })}`,
        );
        const text = `${JSON.stringify(draft, null, 2)}\n`;
        if (opts.out) writeFileSync(opts.out, text);
        else process.stdout.write(text);
        // What the report still lacks goes to stderr, so the JSON on stdout stays usable as it is.
        for (const m of draft.missing ?? []) process.stderr.write(`missing: ${m.message} (${m.field})\n`);
      }),
    );

  reports
    .command('submit <caseId>')
    .description('record that a stage was submitted to the CSIRT / ENISA single reporting platform')
    .requiredOption('--stage <stage>', 'early-warning | notification | final-report')
    .option('--reference <ref>', "the platform's reference for the submission")
    .action(async (caseId: string, opts: { stage: string; reference?: string }, command: Command) =>
      withClient(command, async (ctx) => {
        const org = await resolveOrg(ctx);
        const c = await ctx.client.request<ReportCase>(
          'POST',
          `/v1/orgs/${enc(org)}/report-cases/${enc(caseId)}/submissions`,
          { stage: opts.stage, ...(opts.reference ? { reference: opts.reference } : {}) },
        );
        emit(ctx, c, () =>
          printTable(c.clocks, [
            ['stage', (k) => k.stage],
            ['due', (k) => k.dueAt],
            ['submitted', (k) => k.submittedAt],
            ['state', (k) => k.state],
          ]),
        );
      }),
    );

  reports
    .command('incident')
    .description('open a case for a severe incident affecting a product (Art. 14(3))')
    .requiredOption('--product <productId>', 'the product')
    .requiredOption('--title <text>', 'what happened')
    .option('--aware-at <time>', 'when you became aware (default: now)')
    .action(async (opts: { product: string; title: string; awareAt?: string }, command: Command) =>
      withClient(command, async (ctx) => {
        const org = await resolveOrg(ctx);
        const c = await ctx.client.request<ReportCase>('POST', `/v1/orgs/${enc(org)}/report-cases`, {
          productId: opts.product,
          title: opts.title,
          ...(opts.awareAt ? { awareAt: opts.awareAt } : {}),
        });
        emit(ctx, c, () =>
          printRecord({ id: c.id, kind: c.kind, 'aware at': c.awareAt, 'next due': c.nextDueAt }),
        );
      }),
    );

  const advisory = program.command('advisory').description('CSAF 2.0 security advisories');
  advisory
    .command('create')
    .description('draft an advisory from triage and fix data')
    .requiredOption('--vulnerability <id>', 'repeat for several', (v: string, p: string[] = []) => [...p, v])
    .option('--product <productId>', 'only these products; repeat', (v: string, p: string[] = []) => [
      ...p,
      v,
    ])
    .option('--title <text>', 'title (default: from the vulnerabilities)')
    .action(async (opts: { vulnerability: string[]; product?: string[]; title?: string }, command: Command) =>
      withClient(command, async (ctx) => {
        const org = await resolveOrg(ctx);
        const a = await ctx.client.request<Record<string, unknown>>(
          'POST',
          `/v1/orgs/${enc(org)}/advisories`,
          {
            vulnerabilities: opts.vulnerability,
            ...(opts.product ? { productIds: opts.product } : {}),
            ...(opts.title ? { title: opts.title } : {}),
          },
        );
        emit(ctx, a, () => printRecord(a, ['id', 'trackingId', 'title', 'status', 'filename']));
      }),
    );
  advisory
    .command('publish <advisory>')
    .description('validate with BSI csaf-validator-lib and publish (again, as a new revision)')
    .option('--summary <text>', 'revision summary')
    .action(async (ref: string, opts: { summary?: string }, command: Command) =>
      withClient(command, async (ctx) => {
        const org = await resolveOrg(ctx);
        const id = await resolveRef(ctx, org, 'advisory', ref);
        const a = await ctx.client.request<Record<string, unknown>>(
          'POST',
          `/v1/orgs/${enc(org)}/advisories/${enc(id)}/publish`,
          opts.summary ? { summary: opts.summary } : {},
        );
        emit(ctx, a, () =>
          printRecord(a, ['id', 'trackingId', 'status', 'version', 'filename', 'currentReleaseDate']),
        );
      }),
    );
  advisory
    .command('list')
    .description('advisories, newest first')
    .action(async (_opts: unknown, command: Command) =>
      withClient(command, async (ctx) => {
        const org = await resolveOrg(ctx);
        const page = await ctx.client.request<{ items: Array<Record<string, unknown>> }>(
          'GET',
          `/v1/orgs/${enc(org)}/advisories`,
        );
        emit(ctx, page, () =>
          printTable(page.items, [
            ['id', (a) => a.id],
            ['tracking id', (a) => a.trackingId],
            ['status', (a) => a.status],
            ['version', (a) => a.version],
            ['vulnerabilities', (a) => a.vulnerabilities],
            ['title', (a) => a.title],
          ]),
        );
      }),
    );
  advisory
    .command('get <advisoryId>')
    .description('the advisory’s CSAF document')
    .action(async (id: string, _opts: unknown, command: Command) =>
      withClient(command, async (ctx) => {
        const org = await resolveOrg(ctx);
        const a = await ctx.client.request<{ document: unknown }>(
          'GET',
          `/v1/orgs/${enc(org)}/advisories/${enc(id)}`,
        );
        process.stdout.write(`${JSON.stringify(ctx.json ? a : a.document, null, 2)}\n`);
      }),
    );

  program
    .command('security-contact')
    .description('set where security reports go and the disclosure policy (security.txt, CSAF publisher)')
    .option('--contact <uri>', 'mailto:, https: or tel: URI')
    .option('--policy <url>', 'https URL of the disclosure policy')
    .action(async (opts: { contact?: string; policy?: string }, command: Command) =>
      withClient(command, async (ctx) => {
        const org = await resolveOrg(ctx);
        const o = await ctx.client.request<Record<string, unknown>>(
          'PUT',
          `/v1/orgs/${enc(org)}/security-contact`,
          { securityContact: opts.contact ?? null, securityPolicy: opts.policy ?? null },
        );
        emit(ctx, o, () => printRecord(o, ['slug', 'securityContact', 'securityPolicy']));
      }),
    );
}
