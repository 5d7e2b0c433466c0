import type { Command } from 'commander';
import type { Organization } from '../fleet/organizations.js';
import type { Page } from '../store/pagination.js';
import { enc, query, withClient } from './context.js';
import { emit, emitPage, printRecord } from './output.js';

const columns: [string, (o: Organization) => unknown][] = [
  ['id', (o) => o.id],
  ['slug', (o) => o.slug],
  ['name', (o) => o.name],
  ['created', (o) => o.createdAt],
];

export function orgCommands(program: Command): void {
  const orgs = program.command('orgs').description('organisations: the makers, and the tenant boundary');

  orgs
    .command('create')
    .description('create an organisation')
    .requiredOption('--slug <slug>', 'short name used in URLs (a-z, 0-9, -)')
    .requiredOption('--name <name>', 'display name')
    .action(async (opts: { slug: string; name: string }, command: Command) =>
      withClient(command, async (ctx) => {
        const org = await ctx.client.request<Organization>('POST', '/v1/orgs', {
          slug: opts.slug,
          name: opts.name,
        });
        emit(ctx, org, () => printRecord({ ...org }));
      }),
    );

  orgs
    .command('list')
    .description('list organisations')
    .option('--limit <n>', 'page size', '50')
    .option('--cursor <cursor>', 'continue after a previous page')
    .action(async (opts: { limit: string; cursor?: string }, command: Command) =>
      withClient(command, async (ctx) => {
        const page = await ctx.client.request<Page<Organization>>(
          'GET',
          `/v1/orgs${query({ limit: opts.limit, cursor: opts.cursor })}`,
        );
        emitPage(ctx, page, columns);
      }),
    );

  orgs
    .command('get <org>')
    .description('show an organisation (id or slug)')
    .action(async (org: string, _opts: unknown, command: Command) =>
      withClient(command, async (ctx) => {
        const found = await ctx.client.request<Organization>('GET', `/v1/orgs/${enc(org)}`);
        emit(ctx, found, () => printRecord({ ...found }));
      }),
    );

  orgs
    .command('update <org>')
    .description('rename an organisation')
    .requiredOption('--name <name>', 'new display name')
    .action(async (org: string, opts: { name: string }, command: Command) =>
      withClient(command, async (ctx) => {
        const updated = await ctx.client.request<Organization>('PATCH', `/v1/orgs/${enc(org)}`, {
          name: opts.name,
        });
        emit(ctx, updated, () => printRecord({ ...updated }));
      }),
    );

  orgs
    .command('delete <org>')
    .description('delete an organisation that has no brands, products or devices')
    .action(async (org: string, _opts: unknown, command: Command) =>
      withClient(command, async (ctx) => {
        await ctx.client.request('DELETE', `/v1/orgs/${enc(org)}`);
        emit(ctx, { deleted: org }, () => process.stdout.write(`deleted organisation ${org}\n`));
      }),
    );
}
