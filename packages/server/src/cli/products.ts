import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { DomainError } from '../errors.js';
import type { Product } from '../fleet/products.js';
import type { Warning } from '../fleet/support-period.js';
import type { Page } from '../store/pagination.js';
import { collect, enc, query, resolveOrg, withClient } from './context.js';
import { emit, emitPage, printRecord, printWarnings } from './output.js';
import { resolveEach, resolveOptional, resolveRef } from './resolve.js';

type ProductOut = Product & { warnings: Warning[] };

const columns: [string, (p: ProductOut) => unknown][] = [
  ['id', (p) => p.id],
  ['model', (p) => p.modelNumber],
  ['rev', (p) => p.hardwareRevision],
  ['name', (p) => p.name],
  ['support ends', (p) => p.supportEnds],
  ['brands', (p) => p.brandIds.length],
  ['warnings', (p) => p.warnings.map((w) => w.code)],
];

/** `--capabilities` takes inline JSON, a file path, or `-` for standard input. */
function readCapabilities(value: string | undefined): unknown {
  if (value === undefined) return undefined;
  const text =
    value === '-'
      ? readFileSync(0, 'utf8')
      : value.trimStart().startsWith('{')
        ? value
        : readFileSync(value, 'utf8');
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new DomainError('validation-failed', `--capabilities: not valid JSON: ${(error as Error).message}`);
  }
}

interface ProductOpts {
  model?: string;
  name?: string;
  revision?: string;
  placedOnMarket?: string;
  supportEnds?: string;
  brand?: string[];
  capabilities?: string;
  telemetryRetentionDays?: string;
  commandRetentionDays?: string;
}

/** A retention option: a whole number of days, or `keep` (null: no per-product limit). */
function retentionDays(flag: string, value: string | undefined): number | null | undefined {
  if (value === undefined) return undefined;
  if (value === 'keep') return null;
  if (!/^[0-9]+$/.test(value))
    throw new DomainError('validation-failed', `${flag}: give a number of days (1 to 36500) or keep`);
  return Number(value);
}

function body(opts: ProductOpts): Record<string, unknown> {
  const out: Record<string, unknown> = {
    modelNumber: opts.model,
    name: opts.name,
    hardwareRevision: opts.revision,
    placedOnMarket: opts.placedOnMarket,
    supportEnds: opts.supportEnds,
    brandIds: opts.brand,
    capabilities: readCapabilities(opts.capabilities),
  };
  const retention = Object.fromEntries(
    Object.entries({
      telemetryDays: retentionDays('--telemetry-retention-days', opts.telemetryRetentionDays),
      commandDays: retentionDays('--command-retention-days', opts.commandRetentionDays),
    }).filter(([, v]) => v !== undefined),
  );
  if (Object.keys(retention).length > 0) out.retention = retention;
  return Object.fromEntries(Object.entries(out).filter(([, v]) => v !== undefined));
}

function show(product: ProductOut): void {
  printRecord({ ...product, capabilities: undefined, warnings: undefined }, [
    'id',
    'modelNumber',
    'hardwareRevision',
    'name',
    'placedOnMarket',
    'supportEnds',
    'brandIds',
    'createdAt',
    'updatedAt',
  ]);
  const days = (d: number | null | undefined) => (d == null ? 'kept' : `${d} days`);
  process.stdout.write(
    `retention     telemetry and events: ${days(product.retention?.telemetryDays)}; commands: ${days(product.retention?.commandDays)}\n`,
  );
  const c = product.capabilities;
  process.stdout.write(
    `capabilities  telemetry: ${Object.keys(c.telemetry).join(', ') || '-'}; state: ${Object.keys(c.state).join(', ') || '-'}; commands: ${Object.keys(c.commands).join(', ') || '-'}\n`,
  );
}

export function productCommands(program: Command): void {
  const products = program
    .command('products')
    .description('products: models with a support period and a capability model');

  const fields = (cmd: Command, required: boolean) => {
    const opt = (flags: string, description: string) =>
      required ? cmd.requiredOption(flags, description) : cmd.option(flags, description);
    opt('--model <modelNumber>', 'model number');
    opt('--name <name>', 'product name');
    opt('--revision <hardwareRevision>', 'hardware revision');
    opt('--support-ends <date>', 'last day of the support period, YYYY-MM-DD (CRA Art. 13(8))');
    return cmd
      .option('--placed-on-market <date>', 'date placed on the market, YYYY-MM-DD')
      .option('--brand <brand>', 'a brand it is sold under, by id or name (repeat for several)', collect)
      .option('--capabilities <json|file|->', 'capability model: inline JSON, a file, or - for stdin')
      .option(
        '--telemetry-retention-days <days|keep>',
        "delete readings and device events older than this many days (docs/data-rights.md); 'keep' clears it",
      )
      .option(
        '--command-retention-days <days|keep>',
        "delete command history older than this many days; 'keep' clears it",
      );
  };

  fields(products.command('create').description('create a product'), true).action(
    async (opts: ProductOpts, command: Command) =>
      withClient(command, async (ctx) => {
        const org = await resolveOrg(ctx);
        const brand = await resolveEach(ctx, org, 'brand', opts.brand);
        const product = await ctx.client.request<ProductOut>(
          'POST',
          `/v1/orgs/${enc(org)}/products`,
          body({ ...opts, brand }),
        );
        printWarnings(product.warnings);
        emit(ctx, product, () => show(product));
      }),
  );

  products
    .command('list')
    .description('list products')
    .option('--model <modelNumber>', 'only this model number')
    .option('--brand <brand>', 'only products sold under this brand (id or name)')
    .option('--limit <n>', 'page size', '50')
    .option('--cursor <cursor>', 'continue after a previous page')
    .action(
      async (opts: { model?: string; brand?: string; limit: string; cursor?: string }, command: Command) =>
        withClient(command, async (ctx) => {
          const org = await resolveOrg(ctx);
          const q = query({
            modelNumber: opts.model,
            brandId: await resolveOptional(ctx, org, 'brand', opts.brand),
            limit: opts.limit,
            cursor: opts.cursor,
          });
          const page = await ctx.client.request<Page<ProductOut>>('GET', `/v1/orgs/${enc(org)}/products${q}`);
          emitPage(ctx, page, columns);
        }),
    );

  products
    .command('get <product>')
    .description('show a product (id, model number or MODEL/REVISION)')
    .action(async (ref: string, _opts: unknown, command: Command) =>
      withClient(command, async (ctx) => {
        const org = await resolveOrg(ctx);
        const id = await resolveRef(ctx, org, 'product', ref);
        const product = await ctx.client.request<ProductOut>(
          'GET',
          `/v1/orgs/${enc(org)}/products/${enc(id)}`,
        );
        printWarnings(product.warnings);
        emit(ctx, product, () => show(product));
      }),
    );

  fields(products.command('update <product>').description('change a product'), false).action(
    async (ref: string, opts: ProductOpts, command: Command) =>
      withClient(command, async (ctx) => {
        const org = await resolveOrg(ctx);
        const id = await resolveRef(ctx, org, 'product', ref);
        const brand = await resolveEach(ctx, org, 'brand', opts.brand);
        const product = await ctx.client.request<ProductOut>(
          'PATCH',
          `/v1/orgs/${enc(org)}/products/${enc(id)}`,
          body({ ...opts, brand }),
        );
        printWarnings(product.warnings);
        emit(ctx, product, () => show(product));
      }),
  );

  products
    .command('delete <product>')
    .description('delete a product that has no devices')
    .action(async (ref: string, _opts: unknown, command: Command) =>
      withClient(command, async (ctx) => {
        const org = await resolveOrg(ctx);
        const id = await resolveRef(ctx, org, 'product', ref);
        await ctx.client.request('DELETE', `/v1/orgs/${enc(org)}/products/${enc(id)}`);
        emit(ctx, { deleted: id }, () => process.stdout.write(`deleted product ${id}\n`));
      }),
    );
}
