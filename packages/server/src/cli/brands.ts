import type { Command } from 'commander';
import type { Brand } from '../fleet/brands.js';
import type { Page } from '../store/pagination.js';
import { enc, query, resolveOrg, withClient } from './context.js';
import { emit, emitPage, printRecord } from './output.js';
import { resolveRef } from './resolve.js';

const columns: [string, (b: Brand) => unknown][] = [
  ['id', (b) => b.id],
  ['name', (b) => b.name],
  ['responsible party', (b) => b.responsibleParty],
  ['security contact', (b) => b.securityContact],
];

export function brandCommands(program: Command): void {
  const brands = program.command('brands').description('brands: names products are sold under (white label)');

  brands
    .command('create')
    .description('create a brand')
    .requiredOption('--name <name>', 'brand name')
    .requiredOption('--responsible-party <party>', 'legal entity responsible for products sold under it')
    .requiredOption('--security-contact <uri>', 'where vulnerability reports go: mailto:, https: or tel: URI')
    .action(
      async (opts: { name: string; responsibleParty: string; securityContact: string }, command: Command) =>
        withClient(command, async (ctx) => {
          const org = await resolveOrg(ctx);
          const brand = await ctx.client.request<Brand>('POST', `/v1/orgs/${enc(org)}/brands`, opts);
          emit(ctx, brand, () => printRecord({ ...brand }));
        }),
    );

  brands
    .command('list')
    .description('list brands')
    .option('--name <name>', 'only the brand with this name')
    .option('--limit <n>', 'page size', '50')
    .option('--cursor <cursor>', 'continue after a previous page')
    .action(async (opts: { name?: string; limit: string; cursor?: string }, command: Command) =>
      withClient(command, async (ctx) => {
        const org = await resolveOrg(ctx);
        const page = await ctx.client.request<Page<Brand>>(
          'GET',
          `/v1/orgs/${enc(org)}/brands${query(opts)}`,
        );
        emitPage(ctx, page, columns);
      }),
    );

  brands
    .command('get <brand>')
    .description('show a brand (id or name)')
    .action(async (ref: string, _opts: unknown, command: Command) =>
      withClient(command, async (ctx) => {
        const org = await resolveOrg(ctx);
        const id = await resolveRef(ctx, org, 'brand', ref);
        const brand = await ctx.client.request<Brand>('GET', `/v1/orgs/${enc(org)}/brands/${enc(id)}`);
        emit(ctx, brand, () => printRecord({ ...brand }));
      }),
    );

  brands
    .command('update <brand>')
    .description('change a brand')
    .option('--name <name>', 'brand name')
    .option('--responsible-party <party>', 'responsible legal entity')
    .option('--security-contact <uri>', 'security contact URI')
    .action(async (ref: string, opts: Record<string, string>, command: Command) =>
      withClient(command, async (ctx) => {
        const org = await resolveOrg(ctx);
        const id = await resolveRef(ctx, org, 'brand', ref);
        const brand = await ctx.client.request<Brand>(
          'PATCH',
          `/v1/orgs/${enc(org)}/brands/${enc(id)}`,
          opts,
        );
        emit(ctx, brand, () => printRecord({ ...brand }));
      }),
    );

  brands
    .command('delete <brand>')
    .description('delete a brand that no product or device uses')
    .action(async (ref: string, _opts: unknown, command: Command) =>
      withClient(command, async (ctx) => {
        const org = await resolveOrg(ctx);
        const id = await resolveRef(ctx, org, 'brand', ref);
        await ctx.client.request('DELETE', `/v1/orgs/${enc(org)}/brands/${enc(id)}`);
        emit(ctx, { deleted: id }, () => process.stdout.write(`deleted brand ${id}\n`));
      }),
    );
}
