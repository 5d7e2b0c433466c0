import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import type { Device } from '../fleet/devices.js';
import type { Page } from '../store/pagination.js';
import { collect, enc, query, resolveOrg, withClient } from './context.js';
import { emit, emitPage, printRecord, printTable } from './output.js';
import { provisionCommand } from './provision.js';

const columns: [string, (d: Device) => unknown][] = [
  ['id', (d) => d.id],
  ['serial', (d) => d.serial],
  ['product', (d) => d.productId],
  ['brand', (d) => d.brandId],
  ['firmware', (d) => d.firmwareVersion],
  ['status', (d) => d.status],
  ['online', (d) => (d.online ? 'yes' : '')],
  ['tags', (d) => d.tags],
  ['last seen', (d) => d.lastSeenAt],
];

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
    .requiredOption('--product <productId>', 'its product')
    .requiredOption('--serial <serial>', 'serial number, unique per product')
    .option('--brand <brandId>', 'the brand it is sold under (default: the product’s only brand)')
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
              productId: opts.product,
              serial: opts.serial,
              brandId: opts.brand,
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
    .option('--product <productId>', 'only this product')
    .option('--brand <brandId>', 'only this brand')
    .option('--status <status>', 'active, disabled or decommissioned')
    .option('--firmware <version>', 'only this firmware version')
    .option('--serial <serial>', 'exact serial number')
    .option('--search <prefix>', 'serial number prefix')
    .option('--tag <tag>', 'carrying this tag (repeat: all of them)', collect)
    .option('--include-deleted', 'include decommissioned devices')
    .option('--limit <n>', 'page size', '50')
    .option('--cursor <cursor>', 'continue after a previous page')
    .action(async (opts: Record<string, string | string[] | boolean | undefined>, command: Command) =>
      withClient(command, async (ctx) => {
        const org = await resolveOrg(ctx);
        const q = query({
          productId: opts.product as string | undefined,
          brandId: opts.brand as string | undefined,
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
        emitPage(ctx, page, columns);
      }),
    );

  devices
    .command('get <deviceId>')
    .description('show a device')
    .option('--include-deleted', 'also when decommissioned')
    .action(async (id: string, opts: { includeDeleted?: boolean }, command: Command) =>
      withClient(command, async (ctx) => {
        const org = await resolveOrg(ctx);
        const device = await ctx.client.request<Device>(
          'GET',
          `/v1/orgs/${enc(org)}/devices/${enc(id)}${query({ includeDeleted: opts.includeDeleted })}`,
        );
        emit(ctx, device, () => printRecord({ ...device }));
      }),
    );

  devices
    .command('update <deviceId>')
    .description('change a device')
    .option('--brand <brandId|none>', 'brand')
    .option('--hardware-id <id|none>', 'hardware identifier')
    .option('--firmware <version|none>', 'firmware version')
    .option('--tag <tag>', 'replace the tags with these (repeat)', collect)
    .option('--clear-tags', 'remove all tags')
    .option('--status <status>', 'active or disabled')
    .action(
      async (id: string, opts: Record<string, string | string[] | boolean | undefined>, command: Command) =>
        withClient(command, async (ctx) => {
          const org = await resolveOrg(ctx);
          const patch = defined({
            brandId: nullable(opts.brand as string | undefined),
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
    .command('delete <deviceId>')
    .description('decommission a device (soft delete)')
    .action(async (id: string, _opts: unknown, command: Command) =>
      withClient(command, async (ctx) => {
        const org = await resolveOrg(ctx);
        const device = await ctx.client.request<Device>('DELETE', `/v1/orgs/${enc(org)}/devices/${enc(id)}`);
        emit(ctx, device, () =>
          process.stdout.write(`decommissioned device ${id} (serial ${device.serial})\n`),
        );
      }),
    );

  devices
    .command('secret <deviceId>')
    .description(
      'issue the device a new secret (shown once); the old one stops working and its connection closes',
    )
    .action(async (id: string, _opts: unknown, command: Command) =>
      withClient(command, async (ctx) => {
        const org = await resolveOrg(ctx);
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
    .command('certificate <deviceId>')
    .description(
      'issue the device an X.509 client certificate from the organisation device CA (mutual TLS); the old credential stops working',
    )
    .option('--csr <file>', "the device's PKCS#10 request (PEM): its key never leaves the device")
    .requiredOption(
      '--out-dir <dir>',
      'writes <deviceId>.crt, device-ca.crt and, without --csr, <deviceId>.key (0600)',
    )
    .action(async (id: string, opts: { csr?: string; outDir: string }, command: Command) =>
      withClient(command, async (ctx) => {
        const org = await resolveOrg(ctx);
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
    .command('events <deviceId>')
    .description("a device's events, newest first")
    .option('--name <name>', 'only this event')
    .option('--severity <severity>', 'info, warning or critical')
    .option('--limit <n>', 'how many', '50')
    .action(async (id: string, opts: { name?: string; severity?: string; limit: string }, command: Command) =>
      withClient(command, async (ctx) => {
        const org = await resolveOrg(ctx);
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
    .command('revoke <deviceId>')
    .description('revoke every credential of the device and disconnect it at once')
    .action(async (id: string, _opts: unknown, command: Command) =>
      withClient(command, async (ctx) => {
        const org = await resolveOrg(ctx);
        const result = await ctx.client.request<{ revoked: number }>(
          'DELETE',
          `/v1/orgs/${enc(org)}/devices/${enc(id)}/credentials`,
        );
        emit(ctx, result, () => process.stdout.write(`revoked ${result.revoked} credential(s) of ${id}\n`));
      }),
    );

  devices
    .command('telemetry <deviceId>')
    .description("read a device's telemetry: one field over a time range, raw or per bucket")
    .requiredOption('--field <field>', 'telemetry field of the product')
    .option('--from <time>', 'RFC 3339 start')
    .option('--to <time>', 'RFC 3339 end')
    .option('--bucket <duration>', 'aggregate per bucket: 30s, 5m, 1h, 1d')
    .option('--limit <n>', 'how many points', '1000')
    .action(
      async (
        id: string,
        opts: { field: string; from?: string; to?: string; bucket?: string; limit: string },
        command: Command,
      ) =>
        withClient(command, async (ctx) => {
          const org = await resolveOrg(ctx);
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
