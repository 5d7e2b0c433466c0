import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import { DomainError } from '../errors.js';
import type { Brand } from '../fleet/brands.js';
import type { Device } from '../fleet/devices.js';
import type { Product } from '../fleet/products.js';
import type { Page } from '../store/pagination.js';
import { type CommandContext, collect, enc, query, resolveOrg, withClient } from './context.js';
import { type Column, emit, emitPage, printRecord, printTable } from './output.js';
import { provisionCommand } from './provision.js';
import { resolveOptional, resolveRef } from './resolve.js';

/** "yes", or "no" with when it was last seen: what an operator asks first. */
export function onlineCell(device: Pick<Device, 'online' | 'lastSeenAt'>): string {
  if (device.online) return 'yes';
  return device.lastSeenAt
    ? `no, last seen ${device.lastSeenAt.replace('T', ' ').slice(0, 19)}`
    : 'no, never seen';
}

/** The table columns: serial, product model and name, brand; the ids only with --wide. */
function deviceColumns(names: {
  products: Map<string, { modelNumber: string; name: string }>;
  brands: Map<string, string>;
}): Column<Device>[] {
  const product = (d: Device) => names.products.get(d.productId);
  return [
    ['serial', (d) => d.serial],
    ['product', (d) => (product(d) ? `${product(d)?.modelNumber} (${product(d)?.name})` : d.productId)],
    ['brand', (d) => (d.brandId ? (names.brands.get(d.brandId) ?? d.brandId) : '')],
    ['firmware', (d) => d.firmwareVersion],
    ['status', (d) => d.status],
    ['online', onlineCell],
    ['tags', (d) => d.tags],
    ['id', (d) => d.id, 'wide'],
    ['product id', (d) => d.productId, 'wide'],
  ];
}

/** Product models and brand names of the organisation, to show instead of ids (two requests). */
async function fleetNames(ctx: CommandContext, org: string) {
  const [products, brands] = await Promise.all([
    ctx.client.request<Page<Product>>('GET', `/v1/orgs/${enc(org)}/products?limit=500`),
    ctx.client.request<Page<Brand>>('GET', `/v1/orgs/${enc(org)}/brands?limit=500`),
  ]);
  return {
    products: new Map(products.items.map((p) => [p.id, p])),
    brands: new Map(brands.items.map((b) => [b.id, b.name])),
  };
}

/** `--brand none` and `--hardware-id none` clear a value. */
const nullable = (value: string | undefined) =>
  value === undefined ? undefined : value === 'none' ? null : value;
const defined = (o: Record<string, unknown>) =>
  Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined));

export function deviceCommands(program: Command): void {
  const devices = program.command('devices').description('devices: units in the field');
  provisionCommand(devices);

  devices
    .command('create')
    .description('register a device')
    .requiredOption('--product <product>', 'its product: id or model number')
    .requiredOption('--serial <serial>', 'serial number, unique per product')
    .option('--brand <brand>', 'the brand it is sold under, id or name (default: the product’s only brand)')
    .option('--hardware-id <id>', 'hardware identifier (e.g. MAC or chip id)')
    .option('--firmware <version>', 'firmware version it runs')
    .option('--tag <tag>', 'a tag (repeat for several)', collect)
    .action(
      async (
        opts: {
          product: string;
          serial: string;
          brand?: string;
          hardwareId?: string;
          firmware?: string;
          tag?: string[];
        },
        command: Command,
      ) =>
        withClient(command, async (ctx) => {
          const org = await resolveOrg(ctx);
          const device = await ctx.client.request<Device>(
            'POST',
            `/v1/orgs/${enc(org)}/devices`,
            defined({
              productId: await resolveRef(ctx, org, 'product', opts.product),
              serial: opts.serial,
              brandId: await resolveOptional(ctx, org, 'brand', opts.brand),
              hardwareId: opts.hardwareId,
              firmwareVersion: opts.firmware,
              tags: opts.tag,
            }),
          );
          emit(ctx, device, () => printRecord({ ...device }));
        }),
    );

  devices
    .command('list')
    .description('list and search devices')
    .option('--product <product>', 'only this product (id or model number)')
    .option('--brand <brand>', 'only this brand (id or name)')
    .option('--status <status>', 'active, disabled or decommissioned')
    .option('--firmware <version>', 'only this firmware version')
    .option('--serial <serial>', 'exact serial number')
    .option('--search <prefix>', 'serial number prefix')
    .option('--tag <tag>', 'carrying this tag (repeat: all of them)', collect)
    .option('--claimed', 'only devices an owner has claimed (docs/owners.md)')
    .option('--unclaimed', 'only devices no owner has claimed')
    .option('--include-deleted', 'include decommissioned devices')
    .option('--limit <n>', 'page size', '50')
    .option('--cursor <cursor>', 'continue after a previous page')
    .action(async (opts: Record<string, string | string[] | boolean | undefined>, command: Command) =>
      withClient(command, async (ctx) => {
        if (opts.claimed && opts.unclaimed)
          throw new DomainError('validation-failed', 'pass --claimed or --unclaimed, not both');
        const org = await resolveOrg(ctx);
        const q = query({
          claimed: opts.claimed ? true : opts.unclaimed ? false : undefined,
          productId: await resolveOptional(ctx, org, 'product', opts.product as string | undefined),
          brandId: await resolveOptional(ctx, org, 'brand', opts.brand as string | undefined),
          status: opts.status as string | undefined,
          firmwareVersion: opts.firmware as string | undefined,
          serial: opts.serial as string | undefined,
          q: opts.search as string | undefined,
          tag: opts.tag as string[] | undefined,
          includeDeleted: opts.includeDeleted ? true : undefined,
          limit: opts.limit as string,
          cursor: opts.cursor as string | undefined,
        });
        const page = await ctx.client.request<Page<Device>>('GET', `/v1/orgs/${enc(org)}/devices${q}`);
        emitPage(ctx, page, ctx.json ? [] : deviceColumns(await fleetNames(ctx, org)));
      }),
    );

  devices
    .command('get <device>')
    .description('show a device (id or serial number)')
    .option('--include-deleted', 'also when decommissioned')
    .action(async (ref: string, opts: { includeDeleted?: boolean }, command: Command) =>
      withClient(command, async (ctx) => {
        const org = await resolveOrg(ctx);
        const id = await resolveRef(ctx, org, 'device', ref);
        const device = await ctx.client.request<Device>(
          'GET',
          `/v1/orgs/${enc(org)}/devices/${enc(id)}${query({ includeDeleted: opts.includeDeleted })}`,
        );
        const { ownership, ...rest } = device as Device & {
          ownership?: {
            claimed: boolean;
            claimedAt: string | null;
            localMode?: { requestedAt: string; status: 'requested' | 'local' };
          };
        };
        emit(ctx, device, () =>
          printRecord({
            ...rest,
            // Whether an owner claimed it and when; never who (docs/owners.md).
            ...(ownership ? { ownerClaimed: ownership.claimed ? `yes, ${ownership.claimedAt}` : 'no' } : {}),
            // The owner's choice of local mode (docs/owners.md): the device no longer uses this server.
            ...(ownership?.localMode
              ? {
                  ownerLocalMode: `${ownership.localMode.status === 'local' ? 'on' : 'asked, not yet applied'} since ${ownership.localMode.requestedAt}`,
                }
              : {}),
          }),
        );
      }),
    );

  devices
    .command('claim-code <device>')
    .description(
      'issue a new owner claim code for a device (id or serial), ending the old one: for a lost label or after the owner released it; shown once',
    )
    .action(async (ref: string, _opts: unknown, command: Command) =>
      withClient(command, async (ctx) => {
        const org = await resolveOrg(ctx);
        const id = await resolveRef(ctx, org, 'device', ref);
        const issued = await ctx.client.request<{ deviceId: string; claimCode: string }>(
          'POST',
          `/v1/orgs/${enc(org)}/devices/${enc(id)}/claim-code`,
        );
        emit(ctx, issued, () =>
          process.stdout.write(
            `claim code for device ${issued.deviceId}: ${issued.claimCode}\n(shown once; the previous code no longer claims the device)\n`,
          ),
        );
      }),
    );

  devices
    .command('update <device>')
    .description('change a device')
    .option('--brand <brand|none>', 'brand (id or name)')
    .option('--hardware-id <id|none>', 'hardware identifier')
    .option('--firmware <version|none>', 'firmware version')
    .option('--tag <tag>', 'replace the tags with these (repeat)', collect)
    .option('--clear-tags', 'remove all tags')
    .option('--status <status>', 'active or disabled')
    .action(
      async (ref: string, opts: Record<string, string | string[] | boolean | undefined>, command: Command) =>
        withClient(command, async (ctx) => {
          const org = await resolveOrg(ctx);
          const id = await resolveRef(ctx, org, 'device', ref);
          const patch = defined({
            brandId:
              opts.brand === 'none'
                ? null
                : await resolveOptional(ctx, org, 'brand', opts.brand as string | undefined),
            hardwareId: nullable(opts.hardwareId as string | undefined),
            firmwareVersion: nullable(opts.firmware as string | undefined),
            tags: opts.clearTags ? [] : (opts.tag as string[] | undefined),
            status: opts.status,
          });
          const device = await ctx.client.request<Device>(
            'PATCH',
            `/v1/orgs/${enc(org)}/devices/${enc(id)}`,
            patch,
          );
          emit(ctx, device, () => printRecord({ ...device }));
        }),
    );

  devices
    .command('delete <device>')
    .description('decommission a device (soft delete)')
    .action(async (ref: string, _opts: unknown, command: Command) =>
      withClient(command, async (ctx) => {
        const org = await resolveOrg(ctx);
        const id = await resolveRef(ctx, org, 'device', ref);
        const device = await ctx.client.request<Device>('DELETE', `/v1/orgs/${enc(org)}/devices/${enc(id)}`);
        emit(ctx, device, () =>
          process.stdout.write(`decommissioned device ${id} (serial ${device.serial})\n`),
        );
      }),
    );

  devices
    .command('secret <device>')
    .description(
      'issue the device a new secret (shown once); the old one stops working and its connection closes',
    )
    .action(async (ref: string, _opts: unknown, command: Command) =>
      withClient(command, async (ctx) => {
        const org = await resolveOrg(ctx);
        const id = await resolveRef(ctx, org, 'device', ref);
        const issued = await ctx.client.request<{ secret: string; credential: { id: string } }>(
          'POST',
          `/v1/orgs/${enc(org)}/devices/${enc(id)}/credentials`,
          {},
        );
        emit(ctx, issued, () => {
          process.stdout.write(`device ${id}: MQTT client id and user name ${id}\n`);
          process.stdout.write(`secret (shown once, store it on the device now):\n${issued.secret}\n`);
        });
      }),
    );

  devices
    .command('certificate <device>')
    .description(
      'issue the device an X.509 client certificate from the organisation device CA (mutual TLS); the old credential stops working',
    )
    .option('--csr <file>', "the device's PKCS#10 request (PEM): its key never leaves the device")
    .requiredOption(
      '--out-dir <dir>',
      'writes <deviceId>.crt, device-ca.crt and, without --csr, <deviceId>.key (0600)',
    )
    .action(async (ref: string, opts: { csr?: string; outDir: string }, command: Command) =>
      withClient(command, async (ctx) => {
        const org = await resolveOrg(ctx);
        const id = await resolveRef(ctx, org, 'device', ref);
        const csr = opts.csr ? readFileSync(opts.csr, 'utf8') : undefined;
        const issued = await ctx.client.request<{
          certificate: string;
          privateKey?: string;
          caCertificate: string;
          credential: { id: string; fingerprint: string };
        }>('POST', `/v1/orgs/${enc(org)}/devices/${enc(id)}/credentials`, {
          kind: 'certificate',
          ...(csr ? { csr } : {}),
        });
        mkdirSync(opts.outDir, { recursive: true });
        const files = { certificate: join(opts.outDir, `${id}.crt`), ca: join(opts.outDir, 'device-ca.crt') };
        writeFileSync(files.certificate, issued.certificate);
        writeFileSync(files.ca, issued.caCertificate);
        const keyFile = issued.privateKey ? join(opts.outDir, `${id}.key`) : null;
        if (keyFile && issued.privateKey) writeFileSync(keyFile, issued.privateKey, { mode: 0o600 });
        emit(ctx, { credential: issued.credential, files: { ...files, key: keyFile } }, () => {
          process.stdout.write(`device ${id}: certificate ${files.certificate}\n`);
          if (keyFile) process.stdout.write(`private key (mode 0600, move it to the device): ${keyFile}\n`);
          process.stdout.write(`fingerprint (SHA-256): ${issued.credential.fingerprint}\n`);
          process.stdout.write(`connect with client id ${id} and this certificate; no password\n`);
        });
      }),
    );

  devices
    .command('ca')
    .description("print the organisation's device CA certificate (PEM)")
    .action(async (_opts: unknown, command: Command) =>
      withClient(command, async (ctx) => {
        const org = await resolveOrg(ctx);
        const ca = await ctx.client.request<{ certificate: string; fingerprint: string }>(
          'GET',
          `/v1/orgs/${enc(org)}/device-ca`,
        );
        emit(ctx, ca, () => process.stdout.write(ca.certificate));
      }),
    );

  devices
    .command('events <device>')
    .description("a device's events, newest first")
    .option('--name <name>', 'only this event')
    .option('--severity <severity>', 'info, warning or critical')
    .option('--limit <n>', 'how many', '50')
    .action(
      async (ref: string, opts: { name?: string; severity?: string; limit: string }, command: Command) =>
        withClient(command, async (ctx) => {
          const org = await resolveOrg(ctx);
          const id = await resolveRef(ctx, org, 'device', ref);
          const query = new URLSearchParams({ limit: opts.limit });
          if (opts.name) query.set('name', opts.name);
          if (opts.severity) query.set('severity', opts.severity);
          const page = await ctx.client.request<{
            items: { time: string; name: string; severity: string; data: unknown }[];
            nextCursor: string | null;
          }>('GET', `/v1/orgs/${enc(org)}/devices/${enc(id)}/events?${query}`);
          emitPage(ctx, page, [
            ['time', (e) => e.time],
            ['event', (e) => e.name],
            ['severity', (e) => e.severity],
            ['data', (e) => JSON.stringify(e.data)],
          ]);
        }),
    );

  devices
    .command('revoke <device>')
    .description('revoke every credential of the device and disconnect it at once')
    .action(async (ref: string, _opts: unknown, command: Command) =>
      withClient(command, async (ctx) => {
        const org = await resolveOrg(ctx);
        const id = await resolveRef(ctx, org, 'device', ref);
        const result = await ctx.client.request<{ revoked: number }>(
          'DELETE',
          `/v1/orgs/${enc(org)}/devices/${enc(id)}/credentials`,
        );
        emit(ctx, result, () => process.stdout.write(`revoked ${result.revoked} credential(s) of ${id}\n`));
      }),
    );

  devices
    .command('telemetry <device>')
    .description("read a device's telemetry: one field over a time range, raw or per bucket")
    .requiredOption('--field <field>', 'telemetry field of the product')
    .option('--from <time>', 'RFC 3339 start')
    .option('--to <time>', 'RFC 3339 end')
    .option('--bucket <duration>', 'aggregate per bucket: 30s, 5m, 1h, 1d')
    .option('--limit <n>', 'how many points', '1000')
    .action(
      async (
        ref: string,
        opts: { field: string; from?: string; to?: string; bucket?: string; limit: string },
        command: Command,
      ) =>
        withClient(command, async (ctx) => {
          const org = await resolveOrg(ctx);
          const id = await resolveRef(ctx, org, 'device', ref);
          const result = await ctx.client.request<{ points: Record<string, unknown>[] }>(
            'GET',
            `/v1/orgs/${enc(org)}/devices/${enc(id)}/telemetry${query(opts)}`,
          );
          emit(ctx, result, () =>
            printTable(
              result.points,
              opts.bucket
                ? [
                    ['time', (p) => p.time],
                    ['min', (p) => p.min],
                    ['max', (p) => p.max],
                    ['avg', (p) => p.avg],
                    ['count', (p) => p.count],
                  ]
                : [
                    ['time', (p) => p.time],
                    ['value', (p) => p.value],
                  ],
            ),
          );
        }),
    );
}
