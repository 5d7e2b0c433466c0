import { readFileSync, writeFileSync } from 'node:fs';
import type { EndpointRecord, EndpointRecordBody } from '@brickless/protocol';
import type { Command } from 'commander';
import {
  endpointRecordBody,
  type HandoverStatus,
  type PublishedRecord,
  signEndpointRecord,
} from '../continuity/endpoints.js';
import { DomainError } from '../errors.js';
import { readPrivateKeyFile } from '../updates/keys.js';
import { type CommandContext, collect, enc, resolveOrg, withClient } from './context.js';
import { emit, printRecord, printTable } from './output.js';

function readRecord(path: string): EndpointRecord {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as EndpointRecord;
  } catch (error) {
    throw new DomainError(
      'validation-failed',
      `${path}: not a JSON endpoint record (${(error as Error).message})`,
    );
  }
}

async function orgId(ctx: CommandContext): Promise<string> {
  const org = await resolveOrg(ctx);
  return (await ctx.client.request<{ id: string }>('GET', `/v1/orgs/${enc(org)}`)).id;
}

async function nextVersion(ctx: CommandContext, org: string): Promise<number> {
  const list = await ctx.client.request<{ items: PublishedRecord[] }>(
    'GET',
    `/v1/orgs/${enc(org)}/endpoint-records`,
  );
  return (list.items[0]?.version ?? 0) + 1;
}

/** Writes the record to --out, or publishes it with --publish; signs with every --key. */
export async function createRecord(
  ctx: CommandContext,
  fields: Omit<EndpointRecordBody, '_type' | 'spec_version' | 'org' | 'version' | 'issued'>,
  opts: { key: string[]; recordVersion?: string; out?: string; publish?: boolean },
): Promise<{ record: EndpointRecord; published: PublishedRecord | null }> {
  const org = await orgId(ctx);
  const version = opts.recordVersion ? Number(opts.recordVersion) : await nextVersion(ctx, org);
  if (!Number.isSafeInteger(version) || version < 1)
    throw new DomainError('validation-failed', '--record-version must be an integer ≥ 1');
  const body = endpointRecordBody({ org, version, issued: new Date().toISOString(), ...fields });
  const record = signEndpointRecord(body, opts.key.map(readPrivateKeyFile));
  if (opts.out) writeFileSync(opts.out, `${JSON.stringify(record, null, 2)}\n`, { flag: 'wx' });
  const published = opts.publish
    ? await ctx.client.request<PublishedRecord>('POST', `/v1/orgs/${enc(org)}/endpoint-records`, record)
    : null;
  return { record, published };
}

function describe(record: EndpointRecord, published: PublishedRecord | null, out?: string): void {
  const s = record.signed;
  process.stdout.write(
    `endpoint record version ${s.version} (${s.mode}${s.products ? `, products ${s.products.join(', ')}` : ', every product'}), ` +
      `${record.signatures.length} signature(s)\n` +
      (s.mode === 'cloud'
        ? `  devices move to ${s.mqtt} and ${s.http}\n`
        : '  devices switch to local mode\n') +
      (out ? `  written to ${out}\n` : '') +
      (published
        ? '  published: connected devices have it now; the others get it when they connect or ask\n'
        : ''),
  );
}

export function sunsetCommand(program: Command): void {
  program
    .command('sunset')
    .description(
      "end a product's cloud service: a signed record switches its devices to local mode, and the end-of-support notice (CRA Art. 13(23)) is published",
    )
    .requiredOption('--product <id>', 'the product whose devices go local')
    .requiredOption('--key <file>', 'a root or escrow key file (repeat up to the root threshold)', collect)
    .option('--message <text>', 'the notice to owners: why, from when, what they can do')
    .option('--message-file <file>', 'the notice, from a file')
    .option('--record-version <n>', 'record version (default: one above the published one)')
    .option('--out <file>', 'also write the notice as Markdown (for the market surveillance authority)')
    .action(
      async (
        opts: {
          product: string;
          key: string[];
          message?: string;
          messageFile?: string;
          recordVersion?: string;
          out?: string;
        },
        command: Command,
      ) =>
        withClient(command, async (ctx) => {
          const message = opts.messageFile ? readFileSync(opts.messageFile, 'utf8') : opts.message;
          if (!message?.trim())
            throw new DomainError('validation-failed', 'give the notice with --message or --message-file');
          const { record } = await createRecord(
            ctx,
            { mode: 'local', products: [opts.product] },
            { key: opts.key, ...(opts.recordVersion ? { recordVersion: opts.recordVersion } : {}) },
          );
          const result = await ctx.client.request<{ published: PublishedRecord; noticeUrl: string }>(
            'POST',
            `/v1/orgs/${enc(record.signed.org)}/products/${enc(opts.product)}/sunset`,
            { record, message },
          );
          if (opts.out)
            writeFileSync(
              opts.out,
              `# End of support: product ${opts.product}\n\nEffective ${record.signed.issued}.\n\n${message.trim()}\n\n` +
                `Devices switch to local mode under signed endpoint record version ${record.signed.version}.\n` +
                `Public notice: ${result.noticeUrl}\n`,
              { flag: 'wx' },
            );
          emit({ json: ctx.json }, result, () => {
            describe(record, result.published);
            process.stdout.write(
              `  notice: ${result.noticeUrl}\n` +
                '  CRA Art. 13(23): also inform the market surveillance authority before the cessation takes effect' +
                (opts.out ? ` (the notice is in ${opts.out})` : '') +
                '\n',
            );
          });
        }),
    );
}

export function handoverCommands(program: Command): void {
  const handover = program
    .command('handover')
    .description('move devices to a successor with a signed endpoint record (docs/continuity.md)');

  handover
    .command('create')
    .description(
      'make an endpoint record naming the new servers and their TLS anchor, signed with root (or escrow) keys',
    )
    .requiredOption('--mqtt-url <url>', 'the successor MQTT/TLS endpoint, mqtts://host:port')
    .requiredOption('--http-url <url>', 'the successor HTTPS base URL')
    .requiredOption(
      '--successor-ca <file>',
      "the successor's TLS CA certificate (PEM) devices will trust (its data/tls/ca.crt)",
    )
    .requiredOption('--key <file>', 'a root or escrow key file (repeat up to the root threshold)', collect)
    .option('--product <id>', 'only devices of this product (repeatable; default every product)', collect)
    .option('--record-version <n>', 'record version (default: one above the published one)')
    .option('--out <file>', 'write the record here (for more signatures: handover sign)')
    .option('--publish', 'publish it now')
    .action(
      async (
        opts: {
          mqttUrl: string;
          httpUrl: string;
          successorCa: string;
          key: string[];
          product?: string[];
          recordVersion?: string;
          out?: string;
          publish?: boolean;
        },
        command: Command,
      ) =>
        withClient(command, async (ctx) => {
          if (!opts.out && !opts.publish)
            throw new DomainError('validation-failed', 'give --out FILE, --publish, or both');
          const { record, published } = await createRecord(
            ctx,
            {
              mode: 'cloud',
              mqtt: opts.mqttUrl,
              http: opts.httpUrl,
              ca: readFileSync(opts.successorCa, 'utf8'),
              ...(opts.product ? { products: opts.product } : {}),
            },
            opts,
          );
          emit({ json: ctx.json }, { record, published }, () => describe(record, published, opts.out));
        }),
    );

  handover
    .command('sign')
    .argument('<record>', 'endpoint record file')
    .description('add signatures to an endpoint record (each key holder signs on their own machine)')
    .requiredOption('--key <file>', 'a root or escrow key file (repeatable)', collect)
    .action(async (file: string, opts: { key: string[] }, command: Command) => {
      const json = (command.optsWithGlobals() as { json?: boolean }).json ?? false;
      const signed = signEndpointRecord(readRecord(file), opts.key.map(readPrivateKeyFile));
      writeFileSync(file, `${JSON.stringify(signed, null, 2)}\n`);
      emit({ json }, signed, () =>
        process.stdout.write(`${file}: ${signed.signatures.length} signature(s)\n`),
      );
    });

  handover
    .command('publish')
    .argument('<record>', 'endpoint record file')
    .description(
      'publish a signed endpoint record: on the old server it moves the devices, on the successor it is served to late devices',
    )
    .action(async (file: string, _opts: unknown, command: Command) =>
      withClient(command, async (ctx) => {
        const record = readRecord(file);
        const published = await ctx.client.request<PublishedRecord>(
          'POST',
          `/v1/orgs/${enc(record.signed?.org ?? '')}/endpoint-records`,
          record,
        );
        emit({ json: ctx.json }, published, () => describe(record, published));
      }),
    );

  handover
    .command('status')
    .description('migration progress under the current endpoint record')
    .action(async (_opts: unknown, command: Command) =>
      withClient(command, async (ctx) => {
        const org = await resolveOrg(ctx);
        const status = await ctx.client.request<HandoverStatus>('GET', `/v1/orgs/${enc(org)}/handover`);
        emit({ json: ctx.json }, status, () => {
          if (!status.current) {
            process.stdout.write('no endpoint record published\n');
            return;
          }
          printRecord({
            record: `version ${status.current.version} (${status.current.mode})`,
            published: status.current.createdAt,
            ...status.devices,
            share: `${(status.share * 100).toFixed(1)} %`,
          });
        });
      }),
    );

  handover
    .command('list')
    .description('published endpoint records, newest first')
    .action(async (_opts: unknown, command: Command) =>
      withClient(command, async (ctx) => {
        const org = await resolveOrg(ctx);
        const list = await ctx.client.request<{ items: PublishedRecord[] }>(
          'GET',
          `/v1/orgs/${enc(org)}/endpoint-records`,
        );
        emit({ json: ctx.json }, list, () =>
          printTable(list.items, [
            ['version', (r) => r.version],
            ['mode', (r) => r.mode],
            ['products', (r) => r.products?.join(', ') ?? 'all'],
            [
              'servers',
              (r) => (r.mode === 'cloud' ? `${r.record.signed.mqtt} ${r.record.signed.http}` : 'local'),
            ],
            ['published', (r) => r.createdAt],
            ['by', (r) => r.createdBy],
          ]),
        );
      }),
    );
}
