import type { Command } from 'commander';
import { escapeForDisplay } from '../text.js';
import type { DisclosureMessage } from '../vulnerabilities/disclosure-thread.js';
import { enc, query, resolveOrg, withClient } from './context.js';
import { emit, printRecord, printTable } from './output.js';

/** One message as a block: when, from whom, then the text indented, escaped (text.ts). */
function printMessage(m: DisclosureMessage): void {
  const text = escapeForDisplay(m.message)
    .split('\n')
    .map((line) => `  ${line}`)
    .join('\n');
  process.stdout.write(
    `${m.sentAt.slice(0, 16).replace('T', ' ')}  ${m.from}  ${escapeForDisplay(m.actor)}\n${text}\n\n`,
  );
}

/** Vulnerability reports from researchers and the exchange with each (issue 16 §6). */
export function disclosureCommands(program: Command): void {
  const disclosures = program.command('disclosures').description('vulnerability reports from researchers');
  disclosures
    .command('list')
    .option('--status <status>', 'received | triaging | confirmed | not-reproducible | fixed | closed')
    .action(async (opts: { status?: string }, command: Command) =>
      withClient(command, async (ctx) => {
        const org = await resolveOrg(ctx);
        const page = await ctx.client.request<{ items: Array<Record<string, unknown>> }>(
          'GET',
          `/v1/orgs/${enc(org)}/disclosures${query({ status: opts.status })}`,
        );
        emit(ctx, page, () =>
          printTable(page.items, [
            ['id', (d) => d.id],
            ['status', (d) => d.status],
            ['received', (d) => String(d.createdAt).slice(0, 16)],
            ['title', (d) => String(d.title).slice(0, 60)],
            ['contact', (d) => d.contact],
          ]),
        );
      }),
    );
  disclosures
    .command('update <disclosureId>')
    .option('--status <status>', 'received | triaging | confirmed | not-reproducible | fixed | closed')
    .option('--note <text>', "public note shown on the researcher's tracking link")
    .option('--vulnerability <id>', 'link to a vulnerability id')
    .action(
      async (
        id: string,
        opts: { status?: string; note?: string; vulnerability?: string },
        command: Command,
      ) =>
        withClient(command, async (ctx) => {
          const org = await resolveOrg(ctx);
          const d = await ctx.client.request<Record<string, unknown>>(
            'PATCH',
            `/v1/orgs/${enc(org)}/disclosures/${enc(id)}`,
            {
              ...(opts.status ? { status: opts.status } : {}),
              ...(opts.note !== undefined ? { publicNote: opts.note } : {}),
              ...(opts.vulnerability ? { vulnerabilityId: opts.vulnerability } : {}),
            },
          );
          emit(ctx, d, () => printRecord(d, ['id', 'status', 'publicNote', 'vulnerabilityId', 'updatedAt']));
        }),
    );
  disclosures
    .command('messages <disclosureId>')
    .description('the messages exchanged with the researcher, oldest first')
    .action(async (id: string, _opts: unknown, command: Command) =>
      withClient(command, async (ctx) => {
        const org = await resolveOrg(ctx);
        const page = await ctx.client.request<{ items: DisclosureMessage[] }>(
          'GET',
          `/v1/orgs/${enc(org)}/disclosures/${enc(id)}/messages`,
        );
        emit(ctx, page, () => {
          if (page.items.length === 0) process.stdout.write('(no messages)\n');
          for (const m of page.items) printMessage(m);
        });
      }),
    );
  disclosures
    .command('reply <disclosureId>')
    .description('write to the researcher: shown on their tracking link, kept with the report, audited')
    .requiredOption('--message <text>', 'the message (prose, at most 10,000 characters)')
    .action(async (id: string, opts: { message: string }, command: Command) =>
      withClient(command, async (ctx) => {
        const org = await resolveOrg(ctx);
        const m = await ctx.client.request<DisclosureMessage>(
          'POST',
          `/v1/orgs/${enc(org)}/disclosures/${enc(id)}/messages`,
          { message: opts.message },
        );
        emit(ctx, m, () => printMessage(m));
      }),
    );
}
