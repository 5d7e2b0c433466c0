import { readFileSync, statSync } from 'node:fs';
import { basename } from 'node:path';
import { SingleBar } from 'cli-progress';
import type { Command } from 'commander';
import { DomainError } from '../errors.js';
import type { Page } from '../store/pagination.js';
import type { Release } from '../updates/releases.js';
import { RawJson } from './client.js';
import { collect, enc, query, resolveOrg, withClient } from './context.js';
import { emit, emitPage, printRecord } from './output.js';
import { releaseSignCommand } from './release-sign.js';
import { resolveOptional, resolveRef } from './resolve.js';

const columns: [string, (r: Release) => unknown][] = [
  ['id', (r) => r.id],
  ['product', (r) => r.productId],
  ['version', (r) => r.version],
  ['kind', (r) => r.kind],
  ['security version', (r) => r.securityVersion],
  ['status', (r) => r.status],
  ['size', (r) => r.length],
];

/** Uploads a file with a progress bar on a terminal (and none for scripts). */
async function upload(
  ctx: {
    json: boolean;
    client: { upload<T>(path: string, file: string, onProgress?: (n: number) => void): Promise<T> };
  },
  path: string,
  file: string,
  label: string,
): Promise<{ sha256: string; length: number }> {
  const size = statSync(file).size;
  const bar =
    !ctx.json && process.stderr.isTTY && size > 1024 * 1024
      ? new SingleBar({
          format: `${label} [{bar}] {percentage}% {value}/{total} bytes`,
          stream: process.stderr,
        })
      : null;
  bar?.start(size, 0);
  try {
    return await ctx.client.upload(path, file, (sent) => bar?.update(sent));
  } finally {
    bar?.stop();
  }
}

export function releaseCommands(program: Command): void {
  const releases = program.command('release').description('firmware releases: upload, sign offline, list');

  releases
    .command('create <version>')
    .description(
      'upload a firmware image (and its SBOM) and create release <version> (semver, e.g. 1.4.2); sign it before rolling it out',
    )
    .requiredOption('--product <product>', 'the product it is for: id or model number')
    .requiredOption('--file <image>', 'the firmware image')
    .requiredOption('--kind <kind>', 'security (a fix, delivered on its own) or feature')
    .requiredOption(
      '--security-version <n>',
      'anti-rollback floor: devices refuse anything below what they run',
    )
    .option('--hardware <revision>', 'hardware revision it runs on; repeat (default: the product’s)', collect)
    .option('--notes <text>', 'release notes')
    .option('--notes-file <file>', 'release notes from a file')
    .option('--sbom <file>', 'the SBOM (CycloneDX or SPDX JSON) of this image')
    .action(
      async (
        version: string,
        opts: {
          product: string;
          file: string;
          kind: string;
          securityVersion: string;
          hardware?: string[];
          notes?: string;
          notesFile?: string;
          sbom?: string;
        },
        command: Command,
      ) =>
        withClient(command, async (ctx) => {
          if (opts.kind !== 'security' && opts.kind !== 'feature')
            throw new DomainError('validation-failed', '--kind must be security or feature');
          const securityVersion = Number(opts.securityVersion);
          if (!Number.isInteger(securityVersion) || securityVersion < 0)
            throw new DomainError(
              'validation-failed',
              '--security-version must be a whole number, 0 or more',
            );
          // Read the SBOM first: a file that is not JSON stops here, before anything is uploaded.
          let sbomDocument: RawJson | null = null;
          if (opts.sbom) {
            try {
              const text = readFileSync(opts.sbom, 'utf8');
              JSON.parse(text);
              // Sent as written: the SBOM's hash in the signed targets is the file's own.
              sbomDocument = new RawJson(text);
            } catch (error) {
              throw new DomainError(
                'validation-failed',
                `--sbom ${opts.sbom}: not JSON: ${(error as Error).message}`,
              );
            }
          }
          const org = await resolveOrg(ctx);
          const productId = await resolveRef(ctx, org, 'product', opts.product);
          const image = await upload(ctx, `/v1/orgs/${enc(org)}/artifacts`, opts.file, 'image');
          const sbom = opts.sbom
            ? await upload(
                ctx,
                `/v1/orgs/${enc(org)}/artifacts?mediaType=application%2Fjson`,
                opts.sbom,
                'sbom',
              )
            : null;
          const notes = opts.notesFile ? readFileSync(opts.notesFile, 'utf8') : opts.notes;
          const release = await ctx.client.request<Release>('POST', `/v1/orgs/${enc(org)}/releases`, {
            productId,
            version,
            kind: opts.kind,
            securityVersion,
            filename: basename(opts.file),
            sha256: image.sha256,
            ...(opts.hardware ? { hardware: opts.hardware } : {}),
            ...(notes ? { notes } : {}),
            ...(sbom ? { sbomSha256: sbom.sha256 } : {}),
          });
          // The SBOM is also imported, so the release is matched against vulnerabilities at once.
          const sbomImport = opts.sbom
            ? await ctx.client.request<{ componentCount: number; matches: number }>(
                'PUT',
                `/v1/orgs/${enc(org)}/releases/${enc(release.id)}/sbom`,
                sbomDocument,
              )
            : null;
          emit(ctx, sbomImport ? { ...release, sbom: sbomImport } : release, () => {
            printRecord({ ...release });
            if (sbomImport)
              process.stderr.write(
                `sbom: ${sbomImport.componentCount} components, ${sbomImport.matches} vulnerability matches\n`,
              );
            process.stderr.write(
              'next: sign it with the targets key(s): brickless release sign --key FILE\n',
            );
          });
        }),
    );

  releases
    .command('list')
    .description('list releases, newest first')
    .option('--product <product>', 'only this product’s (id or model number)')
    .option('--kind <kind>', 'security or feature')
    .option('--limit <n>', 'page size', '50')
    .option('--cursor <cursor>', 'continue after a previous page')
    .action(
      async (opts: { product?: string; kind?: string; limit: string; cursor?: string }, command: Command) =>
        withClient(command, async (ctx) => {
          const org = await resolveOrg(ctx);
          const page = await ctx.client.request<Page<Release>>(
            'GET',
            `/v1/orgs/${enc(org)}/releases${query({ productId: await resolveOptional(ctx, org, 'product', opts.product), kind: opts.kind, limit: opts.limit, cursor: opts.cursor })}`,
          );
          emitPage(ctx, page, columns);
        }),
    );

  releases
    .command('get <release>')
    .description('show a release (id, version or latest)')
    .action(async (ref: string, _opts: unknown, command: Command) =>
      withClient(command, async (ctx) => {
        const org = await resolveOrg(ctx);
        const id = await resolveRef(ctx, org, 'release', ref);
        const release = await ctx.client.request<Release>('GET', `/v1/orgs/${enc(org)}/releases/${enc(id)}`);
        emit(ctx, release, () => printRecord({ ...release }));
      }),
    );

  releaseSignCommand(releases);
}
