import { readFileSync, writeFileSync } from 'node:fs';
import { createInterface } from 'node:readline/promises';
import type { Command } from 'commander';
import { DomainError } from '../errors.js';
import type { Page } from '../store/pagination.js';
import { type PrivateKeyFile, publicPart, readPrivateKeyFile } from '../updates/keys.js';
import { expiresDays } from '../updates/metadata.js';
import type { Release } from '../updates/releases.js';
import type { RepositoryStatus, TargetsDraft } from '../updates/repository.js';
import {
  checkAgainstFiles,
  formatReview,
  hashLocalFile,
  PENDING_FORMAT,
  type PendingSigning,
  parsePending,
  parseSignatures,
  reviewTargets,
  SIGNATURES_FORMAT,
  type SignaturesFile,
  signTargetsBytes,
  type TargetsReview,
} from '../updates/signing-review.js';
import { type CommandContext, collect, enc, resolveOrg, withClient } from './context.js';
import { emit } from './output.js';
import { printSignResult, type SignResult } from './updates.js';

type Json = Record<string, unknown>;

interface SignFlags {
  key?: string[];
  file?: string[];
  yes?: boolean;
  expiresDays: string;
  export?: string;
  signOffline?: string;
  out?: string;
  import?: string;
}

function readJson(path: string): unknown {
  try {
    return JSON.parse(readFileSync(path, 'utf8'));
  } catch (error) {
    throw new DomainError('validation-failed', `${path}: ${(error as Error).message}`);
  }
}

/**
 * The targets draft to sign and the last published targets to compare it with. A draft others
 * began signing is kept (their signatures cover exactly its content); one nobody signed is
 * rebuilt when releases were created after it.
 */
async function fetchForSigning(
  ctx: CommandContext,
  org: string,
  expiresInDays: number,
): Promise<{ draft: TargetsDraft; previous: Json | null }> {
  let draft: TargetsDraft | null = null;
  try {
    draft = await ctx.client.request<TargetsDraft>('GET', `/v1/orgs/${enc(org)}/updates/targets/draft`);
  } catch {
    draft = null;
  }
  const recent = await ctx.client.request<Page<Release>>('GET', `/v1/orgs/${enc(org)}/releases?limit=500`);
  const missing = recent.items.filter((r) => r.status === 'draft' && !draft?.releaseIds.includes(r.id));
  if (draft && missing.length > 0 && draft.signatures.length > 0)
    process.stderr.write(
      `note: the draft others began signing does not list ${missing.map((r) => r.version).join(', ')}; sign again after it is published\n`,
    );
  if (!draft || (missing.length > 0 && draft.signatures.length === 0))
    draft = await ctx.client.request<TargetsDraft>('POST', `/v1/orgs/${enc(org)}/updates/targets/draft`, {
      expiresInDays,
    });
  const status = await ctx.client.request<RepositoryStatus>('GET', `/v1/orgs/${enc(org)}/updates`);
  const previous = status.targets
    ? await ctx.client.request<Json>(
        'GET',
        `/v1/orgs/${enc(org)}/updates/metadata/${status.targets.version}.targets.json`,
      )
    : null;
  return { draft, previous };
}

async function confirm(question: string): Promise<boolean> {
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    return /^y(es)?$/i.test((await rl.question(question)).trim());
  } finally {
    rl.close();
  }
}

/**
 * Shows the signer what their key is about to sign (computed here, from the bytes it signs),
 * checks it against their own files, asks, and only then signs. Throws when anything is off.
 */
async function reviewAndSign(
  metadata: Json,
  previous: unknown,
  keys: PrivateKeyFile[],
  flags: SignFlags,
): Promise<{ review: TargetsReview; signatures: { keyid: string; sig: string }[] }> {
  const publicKeys = keys.map(publicPart);
  const review = reviewTargets(metadata, previous, publicKeys, new Date());
  process.stderr.write(formatReview(review, publicKeys));
  const files = await Promise.all((flags.file ?? []).map((f) => hashLocalFile(f)));
  checkAgainstFiles(review, files);
  process.stderr.write(
    files.length
      ? `checked against your files: ${files.map((f) => f.file).join(', ')} match; every new or changed target is one of them\n`
      : 'note: not compared with your own build outputs; pass --file IMAGE to have them checked\n',
  );
  if (!flags.yes) {
    if (!process.stdin.isTTY)
      throw new DomainError(
        'validation-failed',
        'not signed: read the listing above, then confirm on a terminal or pass --yes',
      );
    if (!(await confirm(`sign targets version ${review.version} with ${keys.length} key(s)? [y/N] `)))
      throw new DomainError('validation-failed', 'not signed: you declined');
  }
  return { review, signatures: signTargetsBytes(metadata, keys) };
}

async function postSignatures(
  ctx: CommandContext,
  org: string,
  version: number,
  signatures: { keyid: string; sig: string }[],
): Promise<SignResult> {
  return ctx.client.request<SignResult>('POST', `/v1/orgs/${enc(org)}/updates/targets/signatures`, {
    version,
    signatures,
  });
}

function mode(flags: SignFlags): 'online' | 'export' | 'offline' | 'import' {
  const chosen = (['export', 'signOffline', 'import'] as const).filter((m) => flags[m] !== undefined);
  if (chosen.length > 1)
    throw new DomainError('validation-failed', 'use one of --export, --sign-offline and --import at a time');
  const which = chosen[0];
  if (which === 'export' || which === 'import') {
    if (flags.key)
      throw new DomainError('validation-failed', `--${which} takes no --key: no key meets the server`);
    return which;
  }
  if (!flags.key?.length)
    throw new DomainError('validation-failed', 'signing needs --key (a private targets key file)');
  if (which === 'signOffline') {
    if (!flags.out) throw new DomainError('validation-failed', '--sign-offline needs --out signatures.json');
    return 'offline';
  }
  return 'online';
}

export function releaseSignCommand(releases: Command): void {
  releases
    .command('sign')
    .description(
      'sign the targets metadata with the targets key(s): shows every image (path, length, SHA-256, SBOM) and what changed, checks --file, asks, then signs. Air-gapped: --export, --sign-offline, --import',
    )
    .option('--key <file>', 'private targets key file; repeat', collect)
    .option(
      '--file <path>',
      'your own build output (image or SBOM); repeat. Refuses to sign when a target differs from it, or a new target is none of them',
      collect,
    )
    .option('--yes', 'sign without asking (after reading the listing)')
    .option('--expires-days <days>', 'days until new targets expire (1 to 3650)', '365')
    .option(
      '--export <pending.json>',
      'connected side: write the targets to sign to a file, for an air-gapped signer',
    )
    .option(
      '--sign-offline <pending.json>',
      'air-gapped side: sign a file from --export (no server), with --key and --out',
    )
    .option('--out <signatures.json>', 'with --sign-offline: where to write the signatures')
    .option('--import <signatures.json>', 'connected side: send the signatures from --sign-offline')
    .action(async (flags: SignFlags, command: Command) => {
      const expiresInDays = expiresDays(flags.expiresDays);
      const json = (command.optsWithGlobals().json as boolean | undefined) ?? false;
      const which = mode(flags);
      if (which === 'offline') {
        const pending = parsePending(readJson(flags.signOffline as string), flags.signOffline as string);
        const keys = (flags.key ?? []).map(readPrivateKeyFile);
        const { review, signatures } = await reviewAndSign(pending.metadata, pending.previous, keys, flags);
        const out: SignaturesFile = {
          format: SIGNATURES_FORMAT,
          org: pending.org,
          version: review.version,
          signedSha256: review.signedSha256,
          signatures,
        };
        writeFileSync(flags.out as string, `${JSON.stringify(out, null, 2)}\n`);
        emit({ json }, { ...out, review }, () =>
          process.stdout.write(
            `wrote ${signatures.length} signature(s) over targets version ${review.version} to ${flags.out}; on the connected machine: brickless release sign --import ${flags.out}\n`,
          ),
        );
        return;
      }
      await withClient(command, async (ctx) => {
        const org = await resolveOrg(ctx);
        if (which === 'import') {
          const file = parseSignatures(readJson(flags.import as string), flags.import as string);
          if (file.org !== org)
            throw new DomainError(
              'validation-failed',
              `${flags.import} holds signatures for ${file.org}, not ${org}`,
            );
          // The server checks each signature against the root's targets keys over its draft.
          const result = await postSignatures(ctx, org, file.version, file.signatures);
          emit(ctx, result, () => printSignResult(result));
          return;
        }
        const { draft, previous } = await fetchForSigning(ctx, org, expiresInDays);
        if (which === 'export') {
          const pending: PendingSigning = {
            format: PENDING_FORMAT,
            org,
            version: draft.version,
            metadata: draft.metadata,
            previous,
          };
          writeFileSync(flags.export as string, `${JSON.stringify(pending, null, 2)}\n`);
          emit(ctx, { version: draft.version, releases: draft.releaseIds, file: flags.export }, () =>
            process.stdout.write(
              `wrote targets version ${draft.version} (${draft.releaseIds.length} releases) to ${flags.export}; on the air-gapped machine: brickless release sign --sign-offline ${flags.export} --key KEY --out signatures.json\n`,
            ),
          );
          return;
        }
        const keys = (flags.key ?? []).map(readPrivateKeyFile);
        const { review, signatures } = await reviewAndSign(draft.metadata, previous, keys, flags);
        const result = await postSignatures(ctx, org, review.version, signatures);
        emit(ctx, { ...result, review }, () => printSignResult(result));
      });
    });
}
