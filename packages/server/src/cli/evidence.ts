import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import { DomainError } from '../errors.js';
import { parsePublicKey } from '../escrow/signing.js';
import { MAX_ENTRY_BYTES, verifyPack } from '../evidence/manifest.js';
import { enc, globalOptions, resolveOrg, withClient } from './context.js';
import { emit, printTable } from './output.js';
import { resolveRef } from './resolve.js';

interface OrgKey {
  publicKey: string;
  createdAt: string;
  history: { publicKey: string; createdAt: string; retiredAt: string | null }[];
}

function printKey(key: OrgKey): void {
  process.stdout.write(`evidence key ${key.publicKey} (since ${key.createdAt})\n`);
  printTable(key.history, [
    ['KEY', (k) => k.publicKey],
    ['CREATED', (k) => k.createdAt],
    ['RETIRED', (k) => k.retiredAt ?? 'in use'],
  ]);
}

/** Largest archive `evidence verify` reads. */
const MAX_PACK_BYTES = 4 * MAX_ENTRY_BYTES;

/** The CRA documentation pack (issue 21 §1, docs/evidence.md). */
export function evidenceCommands(program: Command): void {
  const evidence = program
    .command('evidence')
    .description('the signed evidence pack of a product for authorities, notified bodies and customers');

  evidence
    .command('pack')
    .description('write the evidence pack of a product, or of one release: a ZIP with a signed manifest')
    .requiredOption('--product <product>', 'product id or model number')
    .requiredOption('--out <file>', 'where to write the ZIP')
    .option(
      '--release <release>',
      "only this release of the product (id, version or 'latest'): its SBOMs, vulnerabilities and audit entries",
    )
    .action(async (opts: { product: string; out: string; release?: string }, command: Command) =>
      withClient(command, async (ctx) => {
        const org = await resolveOrg(ctx);
        const productId = await resolveRef(ctx, org, 'product', opts.product);
        const releaseId = opts.release
          ? await resolveRef(ctx, org, 'release', opts.release, { productId })
          : undefined;
        const query = releaseId ? `?releaseId=${enc(releaseId)}` : '';
        const archive = await ctx.client.download(
          `/v1/orgs/${enc(org)}/products/${enc(productId)}/evidence${query}`,
        );
        writeFileSync(opts.out, archive);
        const check = verifyPack(archive);
        const summary = {
          file: opts.out,
          bytes: archive.length,
          files: check.files,
          signedBy: check.signedBy,
        };
        emit(ctx, summary, () =>
          process.stdout.write(
            `wrote ${opts.out} (${archive.length} bytes, ${check.files} files); manifest signed by the organisation's key ${check.signedBy}\n`,
          ),
        );
      }),
    );

  evidence
    .command('key')
    .description(
      "show the organisation's evidence signing key (pin it with `evidence verify --key`) and every key it replaced",
    )
    .action(async (_opts: unknown, command: Command) =>
      withClient(command, async (ctx) => {
        const org = await resolveOrg(ctx);
        const key = await ctx.client.request<OrgKey>('GET', `/v1/orgs/${enc(org)}/evidence/key`);
        emit(ctx, key, () => printKey(key));
      }),
    );

  evidence
    .command('rotate-key')
    .description(
      "replace the organisation's evidence signing key; the old key signs the rotation, so a verifier that pinned it follows",
    )
    .action(async (_opts: unknown, command: Command) =>
      withClient(command, async (ctx) => {
        const org = await resolveOrg(ctx);
        const key = await ctx.client.request<OrgKey>('POST', `/v1/orgs/${enc(org)}/evidence/key/rotate`);
        emit(ctx, key, () => {
          process.stdout.write(
            `evidence key rotated to ${key.publicKey}\n  packs signed from now on carry the rotation, signed by the old key\n`,
          );
          printKey(key);
        });
      }),
    );

  evidence
    .command('verify')
    .argument('<file>', 'an evidence pack (ZIP)')
    .description(
      'check an evidence pack offline: every file against the manifest, and the manifest signature; exits 1 on any change',
    )
    .option(
      '--key <key>',
      "the key to trust (base64url, or a file holding it): the organisation's evidence key for a pack, the deposit key for a readiness report; without it the pack's own key is used",
    )
    .action((file: string, opts: { key?: string }, command: Command) => {
      const json = globalOptions(command).json ?? false;
      if (!existsSync(file) || !statSync(file).isFile())
        throw new DomainError('validation-failed', `${file}: no such file`);
      if (statSync(file).size > MAX_PACK_BYTES)
        throw new DomainError(
          'validation-failed',
          `${file}: larger than an evidence pack may be (${MAX_PACK_BYTES} bytes)`,
        );
      const trusted = opts.key ? parsePublicKey(opts.key) : undefined;
      const result = verifyPack(readFileSync(file), trusted);
      const { manifest, ...report } = result;
      emit(
        { json },
        { ...report, product: manifest?.product ?? null, createdAt: manifest?.createdAt ?? null },
        () => {
          for (const problem of result.problems) process.stdout.write(`FAILED ${problem}\n`);
          if (result.ok)
            process.stdout.write(
              `ok: ${result.files} files match the manifest, signed by ${result.signedBy}` +
                (result.pinned
                  ? ' (the pinned key or one it rotated to)\n'
                  : ' (not pinned: pass --key to check whose key it is)\n'),
            );
          else process.stdout.write(`the pack does NOT verify: ${result.problems.length} problem(s)\n`);
        },
      );
      process.exitCode = result.ok ? 0 : 1;
    });
}
