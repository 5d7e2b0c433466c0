import { closeSync, existsSync, openSync, readFileSync, writeSync } from 'node:fs';
import { SingleBar } from 'cli-progress';
import type { Command } from 'commander';
import { DomainError } from '../errors.js';
import type { ProvisionedDevice } from '../fleet/provisioning.js';
import { collect, enc, resolveOrg, withClient } from './context.js';
import { emit } from './output.js';
import { resolveOptional, resolveRef } from './resolve.js';

const BATCH = 1000;

interface ProvisionOpts {
  product: string;
  out: string;
  count?: string;
  serialPrefix?: string;
  first: string;
  serials?: string;
  brand?: string;
  firmware?: string;
  tag?: string[];
  force?: boolean;
  credential: 'secret' | 'factory' | 'certificate';
}

/** The serials to provision: from a file (one a line), or a prefix and a running number. */
function serialsFrom(opts: ProvisionOpts): string[] {
  if (opts.serials) {
    return readFileSync(opts.serials, 'utf8')
      .split('\n')
      .map((s) => s.trim())
      .filter(Boolean);
  }
  const count = Number(opts.count);
  if (!opts.serialPrefix || !Number.isInteger(count) || count < 1 || count > 1_000_000) {
    throw new DomainError(
      'validation-failed',
      'give --serials FILE, or --serial-prefix and --count (1 to 1,000,000)',
    );
  }
  const first = Number(opts.first);
  const width = Math.max(6, String(first + count - 1).length);
  return Array.from(
    { length: count },
    (_, i) => `${opts.serialPrefix}${String(first + i).padStart(width, '0')}`,
  );
}

export function provisionCommand(devices: Command): void {
  devices
    .command('provision')
    .description(
      'register devices for the factory line, each with its own credential, written to a JSONL file (mode 0600)',
    )
    .requiredOption('--product <product>', 'their product: id or model number')
    .requiredOption(
      '--out <file>',
      'JSONL output: one {deviceId, serial, claimCode, secret | factorySecret | certificate + privateKey} a line',
    )
    .option('--count <n>', 'how many (with --serial-prefix)')
    .option('--serial-prefix <prefix>', 'serials are the prefix and a running number')
    .option('--first <n>', 'first running number', '1')
    .option('--serials <file>', 'or: a file with one serial a line')
    .option('--brand <brand>', 'brand, id or name (default: the product’s only brand)')
    .option('--firmware <version>', 'firmware version they ship with')
    .option('--tag <tag>', 'a tag for all of them (repeat for several)', collect)
    .option(
      '--credential <kind>',
      'secret: an operational secret; factory: a one-time secret the device claims its credential with; certificate: a client certificate and key',
      'secret',
    )
    .option('--force', 'overwrite --out if it exists')
    .action(async (opts: ProvisionOpts, command: Command) =>
      withClient(command, async (ctx) => {
        if (!['secret', 'factory', 'certificate'].includes(opts.credential))
          throw new DomainError('validation-failed', '--credential is secret, factory or certificate');
        const serials = serialsFrom(opts);
        if (existsSync(opts.out) && !opts.force)
          throw new DomainError('conflict', `${opts.out} exists; pass --force to overwrite`);
        const org = await resolveOrg(ctx);
        const productId = await resolveRef(ctx, org, 'product', opts.product);
        const brandId = await resolveOptional(ctx, org, 'brand', opts.brand);
        // The file holds device secrets: readable by its owner only, from the first byte.
        const fd = openSync(opts.out, 'w', 0o600);
        const bar =
          !ctx.json && process.stderr.isTTY
            ? new SingleBar({
                stream: process.stderr,
                format: 'provisioning [{bar}] {value}/{total} devices',
              })
            : null;
        bar?.start(serials.length, 0);
        let written = 0;
        // The owners' claim codes, for the labels: in the file, and in --json (shown only this once).
        const claimCodes: { deviceId: string; serial: string; claimCode: string }[] = [];
        try {
          for (let i = 0; i < serials.length; i += BATCH) {
            const result = await ctx.client.request<{ devices: ProvisionedDevice[] }>(
              'POST',
              `/v1/orgs/${enc(org)}/provisioning`,
              {
                productId,
                serials: serials.slice(i, i + BATCH),
                credential: opts.credential,
                ...(brandId ? { brandId } : {}),
                ...(opts.firmware ? { firmwareVersion: opts.firmware } : {}),
                ...(opts.tag ? { tags: opts.tag } : {}),
              },
            );
            writeSync(fd, result.devices.map((d) => `${JSON.stringify({ ...d, productId })}\n`).join(''));
            written += result.devices.length;
            if (ctx.json)
              for (const d of result.devices)
                claimCodes.push({ deviceId: d.deviceId, serial: d.serial, claimCode: d.claimCode });
            bar?.update(written);
          }
        } finally {
          bar?.stop();
          closeSync(fd);
        }
        emit(ctx, { provisioned: written, out: opts.out, claimCodes }, () =>
          process.stdout.write(
            `provisioned ${written} devices; their ${opts.credential === 'certificate' ? 'certificates and keys' : opts.credential === 'factory' ? 'factory secrets' : 'secrets'} and owner claim codes (claimCode, for the labels) are in ${opts.out} (mode 0600)\n`,
          ),
        );
      }),
    );
}
