import { readFileSync, writeFileSync } from 'node:fs';
import { Metadata, MetadataKind, type Root, type Targets } from '@tufjs/models';
import type { Command } from 'commander';
import { DomainError } from '../errors.js';
import {
  generateSigningKey,
  type PrivateKeyFile,
  type PublicKeyFile,
  publicPart,
  readKeyFile,
  readPrivateKeyFile,
  signerFor,
  writePrivateKeyFile,
} from '../updates/keys.js';
import { buildRoot, ESCROW_FIELD, expiresDays, MAX_EXPIRES_DAYS, roleKeyIds } from '../updates/metadata.js';
import type { OnlineKeys, RepositoryStatus, TargetsDraft } from '../updates/repository.js';
import { ApiError } from './client.js';
import { type CommandContext, collect, enc, resolveOrg, withClient } from './context.js';
import { escrowGapMessage } from './escrow-gap.js';
import { emit, printJson, printRecord, printTable } from './output.js';
import { resolveRef } from './resolve.js';

const DAY = 86_400_000;

function readJsonFile(path: string): Record<string, unknown> {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
  } catch (error) {
    throw new DomainError('validation-failed', `${path}: ${(error as Error).message}`);
  }
}

/** Signs metadata with each private key file; returns it with the new signatures appended. */
export function signFile<T extends Root | Targets>(metadata: Metadata<T>, keyFiles: string[]): Metadata<T> {
  for (const file of keyFiles) metadata.sign(signerFor(readPrivateKeyFile(file)), true);
  return metadata;
}

async function currentRoot(ctx: CommandContext, org: string): Promise<Metadata<Root> | null> {
  try {
    const json = await ctx.client.request<Record<string, unknown>>(
      'GET',
      `/v1/orgs/${enc(org)}/updates/metadata/root.json`,
    );
    return Metadata.fromJSON(MetadataKind.Root, json as never);
  } catch (error) {
    if (error instanceof ApiError && error.problem.status === 404) return null;
    throw error;
  }
}

interface RootFlags {
  rootKey?: string[];
  rootThreshold?: string;
  targetsKey?: string[];
  targetsThreshold?: string;
  escrowKey?: string[];
  expiresDays: string;
}

/** The next root: version N+1 of the current one, with the roles the flags change. */
async function draftRoot(
  ctx: CommandContext,
  org: string,
  flags: RootFlags,
  newOnlineKeys?: OnlineKeys,
): Promise<Metadata<Root>> {
  const days = expiresDays(flags.expiresDays);
  const current = await currentRoot(ctx, org);
  const online =
    newOnlineKeys ??
    (await ctx.client.request<OnlineKeys>('GET', `/v1/orgs/${enc(org)}/updates/online-keys`));
  const fromRoot = (role: string): PublicKeyFile[] =>
    current
      ? roleKeyIds(current, role).map((id) => ({
          keytype: 'ed25519',
          scheme: 'ed25519',
          keyid: id,
          keyval: { public: current.signed.keys[id]?.keyVal.public ?? '' },
        }))
      : [];
  const escrowIds = (current?.signed.unrecognizedFields[ESCROW_FIELD] as string[] | undefined) ?? [];
  const keys = (files: string[] | undefined) => files?.map((f) => publicPart(readKeyFile(f)));
  const escrowKeys = keys(flags.escrowKey) ?? fromRoot('root').filter((k) => escrowIds.includes(k.keyid));
  const rootKeys = keys(flags.rootKey) ?? fromRoot('root').filter((k) => !escrowIds.includes(k.keyid));
  const targetsKeys = keys(flags.targetsKey) ?? fromRoot('targets');
  if (rootKeys.length === 0)
    throw new DomainError('validation-failed', 'the first root needs --root-key (one or more)');
  if (targetsKeys.length === 0)
    throw new DomainError('validation-failed', 'the first root needs --targets-key (one or more)');
  return buildRoot({
    version: (current?.signed.version ?? 0) + 1,
    expires: new Date(Date.now() + days * DAY),
    rootKeys,
    rootThreshold: Number(flags.rootThreshold ?? current?.signed.roles.root?.threshold ?? 1),
    targetsKeys,
    targetsThreshold: Number(flags.targetsThreshold ?? current?.signed.roles.targets?.threshold ?? 1),
    escrowKeys,
    snapshotKey: online.snapshot,
    timestampKey: online.timestamp,
  });
}

function rootOptions(command: Command): Command {
  return command
    .option(
      '--root-key <file>',
      'a root key file (public or private); repeat; default: the current root keys',
      collect,
    )
    .option('--root-threshold <n>', 'root signatures needed (default: current, or 1)')
    .option('--targets-key <file>', 'a targets key file; repeat; default: the current targets keys', collect)
    .option('--targets-threshold <n>', 'targets signatures needed (default: current, or 1)')
    .option(
      '--escrow-key <file>',
      "the escrow agent's (successor's) public key, added to the root keys; repeat",
      collect,
    )
    .option('--expires-days <days>', `days until this root expires (1 to ${MAX_EXPIRES_DAYS})`, '365');
}

export function keyCommands(program: Command): void {
  const keys = program
    .command('keys')
    .description('offline signing keys (Ed25519) for the update repository');
  keys
    .command('generate')
    .description('make a key pair in a file only its owner can read; keep it offline')
    .requiredOption('--out <file>', 'private key file to write (refuses to overwrite)')
    .option('--public-out <file>', 'also write the public key here, to hand to others')
    .option('--name <name>', 'a label, for example "root-1 alice"')
    .action((opts: { out: string; publicOut?: string; name?: string }, command: Command) => {
      const key: PrivateKeyFile = generateSigningKey(opts.name);
      writePrivateKeyFile(opts.out, key);
      if (opts.publicOut) writeFileSync(opts.publicOut, `${JSON.stringify(publicPart(key), null, 2)}\n`);
      const json = command.optsWithGlobals().json as boolean | undefined;
      emit({ json: json ?? false }, publicPart(key), () =>
        printRecord({ keyid: key.keyid, public: key.keyval.public, file: opts.out }),
      );
    });
  keys
    .command('public <file>')
    .description('print the public half of a key file')
    .action((file: string) => printJson(publicPart(readKeyFile(file))));
}

export function updateCommands(program: Command): void {
  const updates = program
    .command('updates')
    .description('the signed update repository (TUF) of the organisation');

  updates
    .command('status')
    .description('root, targets, snapshot and timestamp versions, the draft, and what needs doing')
    .action(async (_opts: unknown, command: Command) =>
      withClient(command, async (ctx) => {
        const org = await resolveOrg(ctx);
        const status = await ctx.client.request<RepositoryStatus>('GET', `/v1/orgs/${enc(org)}/updates`);
        const left = (expires: string) => {
          const days = Math.floor((Date.parse(expires) - Date.now()) / DAY);
          return days < 0 ? 'EXPIRED' : `in ${days} days`;
        };
        emit(ctx, status, () => {
          printRecord({
            root: status.root
              ? `v${status.root.version}, ${status.root.rootThreshold} of ${status.root.rootKeyIds.length} keys, expires ${status.root.expires} (${left(status.root.expires)})`
              : 'none (brickless updates init)',
            escrow: status.root?.escrowKeyIds.join(', ') || 'none',
            targets: status.targets
              ? `v${status.targets.version}, expires ${status.targets.expires} (${left(status.targets.expires)})`
              : 'none',
            snapshot: status.snapshot
              ? `v${status.snapshot.version}, expires ${status.snapshot.expires} (${left(status.snapshot.expires)})`
              : 'none',
            timestamp: status.timestamp
              ? `v${status.timestamp.version}, expires ${status.timestamp.expires} (${left(status.timestamp.expires)})`
              : 'none',
            draft: status.draft
              ? `v${status.draft.version}: ${status.draft.signatures} of ${status.draft.threshold} signatures`
              : 'none',
          });
          for (const w of status.warnings) process.stderr.write(`warning: ${w}\n`);
          if (status.root && status.root.escrowKeyIds.length === 0)
            process.stderr.write(`WARNING: ${escrowGapMessage(org, status.root.version)}\n`);
        });
      }),
    );

  rootOptions(
    updates
      .command('init')
      .description(
        "create and publish root version 1 in one step, signed with the root key files given; give the escrow agent's key with --escrow-key, or the update keys are not covered by any escrow",
      )
      .option('--out <file>', 'also write the signed root here (for the factory and the escrow deposit)'),
  ).action(async (opts: RootFlags & { out?: string }, command: Command) =>
    withClient(command, async (ctx) => {
      const org = await resolveOrg(ctx);
      if (await currentRoot(ctx, org))
        throw new DomainError(
          'conflict',
          'the repository has a root already; rotate with `brickless updates root draft|sign|publish`',
        );
      const root = await draftRoot(ctx, org, opts);
      signFile(
        root,
        (opts.rootKey ?? []).filter((f) => 'private' in readKeyFile(f)),
      );
      const result = await ctx.client.request<{ version: number }>(
        'PUT',
        `/v1/orgs/${enc(org)}/updates/root`,
        root.toJSON(),
      );
      if (opts.out) writeFileSync(opts.out, `${JSON.stringify(root.toJSON(), null, 2)}\n`);
      // A root without an escrow key: the repository works, but no successor could ever sign.
      const gap = opts.escrowKey?.length ? null : escrowGapMessage(org, result.version);
      emit(ctx, { ...result, escrowGap: gap }, () =>
        process.stdout.write(`published root version ${result.version}\n`),
      );
      if (gap) process.stderr.write(`WARNING: ${gap}\n`);
    }),
  );

  const root = updates
    .command('root')
    .description('root rotation: draft, sign offline (each key holder), publish');
  rootOptions(
    root
      .command('draft')
      .description('write the next root version (unsigned) to a file')
      .requiredOption('--out <file>', 'where to write it'),
  ).action(async (opts: RootFlags & { out: string }, command: Command) =>
    withClient(command, async (ctx) => {
      const org = await resolveOrg(ctx);
      const next = await draftRoot(ctx, org, opts);
      writeFileSync(opts.out, `${JSON.stringify(next.toJSON(), null, 2)}\n`);
      emit(ctx, { version: next.signed.version, file: opts.out }, () =>
        process.stdout.write(
          `wrote root version ${next.signed.version} to ${opts.out}: sign it with a threshold of the current and of the new root keys\n`,
        ),
      );
    }),
  );
  root
    .command('sign <file>')
    .description('add signatures to a root file with private key files (offline; no server needed)')
    .requiredOption('--key <file>', 'private key file; repeat', collect)
    .action((file: string, opts: { key: string[] }) => {
      const metadata = signFile(Metadata.fromJSON(MetadataKind.Root, readJsonFile(file) as never), opts.key);
      writeFileSync(file, `${JSON.stringify(metadata.toJSON(), null, 2)}\n`);
      process.stdout.write(`${file}: ${Object.keys(metadata.signatures).length} signature(s)\n`);
    });
  root
    .command('publish <file>')
    .description('publish a signed root file (the server checks TUF 5.3.4: both thresholds)')
    .action(async (file: string, _opts: unknown, command: Command) =>
      withClient(command, async (ctx) => {
        const org = await resolveOrg(ctx);
        const result = await ctx.client.request<{ version: number }>(
          'PUT',
          `/v1/orgs/${enc(org)}/updates/root`,
          readJsonFile(file),
        );
        emit(ctx, result, () => process.stdout.write(`published root version ${result.version}\n`));
      }),
    );

  root
    .command('export')
    .description('write the current (or a given) root: the trust anchor a factory flashes into new devices')
    .requiredOption('--out <file>', 'where to write it')
    .option('--root-version <n>', 'a given root version instead of the newest')
    .action(async (opts: { out: string; rootVersion?: string }, command: Command) =>
      withClient(command, async (ctx) => {
        const org = await resolveOrg(ctx);
        const file = opts.rootVersion ? `${Number(opts.rootVersion)}.root.json` : 'root.json';
        const json = await ctx.client.request<{ signed: { version: number } }>(
          'GET',
          `/v1/orgs/${enc(org)}/updates/metadata/${file}`,
        );
        writeFileSync(opts.out, `${JSON.stringify(json, null, 2)}\n`);
        emit(ctx, { version: json.signed.version, file: opts.out }, () =>
          process.stdout.write(`wrote root version ${json.signed.version} to ${opts.out}\n`),
        );
      }),
    );

  const targets = updates.command('targets').description('targets metadata for air-gapped signing');
  targets
    .command('draft')
    .description('build the next targets metadata from the releases and write it to a file to sign offline')
    .requiredOption('--out <file>', 'where to write it')
    .option('--expires-days <days>', `days until these targets expire (1 to ${MAX_EXPIRES_DAYS})`, '365')
    .action(async (opts: { out: string; expiresDays: string }, command: Command) =>
      withClient(command, async (ctx) => {
        const expiresInDays = expiresDays(opts.expiresDays);
        const org = await resolveOrg(ctx);
        const draft = await ctx.client.request<TargetsDraft>(
          'POST',
          `/v1/orgs/${enc(org)}/updates/targets/draft`,
          { expiresInDays },
        );
        writeFileSync(opts.out, `${JSON.stringify(draft.metadata, null, 2)}\n`);
        emit(ctx, { version: draft.version, releases: draft.releaseIds, file: opts.out }, () =>
          process.stdout.write(
            `wrote targets version ${draft.version} (${draft.releaseIds.length} releases) to ${opts.out}; to sign it, see \`brickless release sign --export\`\n`,
          ),
        );
      }),
    );
  targets
    .command('publish <file>')
    .description("send a signed targets file's signatures; published once the threshold is met")
    .action(async (file: string, _opts: unknown, command: Command) =>
      withClient(command, async (ctx) => {
        const org = await resolveOrg(ctx);
        const metadata = Metadata.fromJSON(MetadataKind.Targets, readJsonFile(file) as never);
        const result = await postSignatures(ctx, org, metadata);
        emit(ctx, result, () => printSignResult(result));
      }),
    );

  updates
    .command('rotate-online-keys')
    .description(
      "replace the server's online snapshot and timestamp keys (after a suspected theft): publishes root N+1 naming new keys, signed with your root key files, and re-signs snapshot and timestamp",
    )
    .requiredOption(
      '--root-key <file>',
      'a private root key file; repeat until the root threshold is met',
      collect,
    )
    .option('--expires-days <days>', `days until the new root expires (1 to ${MAX_EXPIRES_DAYS})`, '365')
    .option('--out <file>', 'also write the new signed root here (for the escrow deposit)')
    .action(async (opts: { rootKey: string[]; expiresDays: string; out?: string }, command: Command) =>
      withClient(command, async (ctx) => {
        expiresDays(opts.expiresDays);
        const keys = opts.rootKey.map(readPrivateKeyFile);
        const org = await resolveOrg(ctx);
        const current = await currentRoot(ctx, org);
        if (!current)
          throw new DomainError('conflict', 'the repository has no root yet (brickless updates init)');
        const rootIds = roleKeyIds(current, 'root');
        const strangers = keys.filter((k) => !rootIds.includes(k.keyid));
        if (strangers.length)
          throw new DomainError(
            'validation-failed',
            `not a root key of root version ${current.signed.version}: ${strangers.map((k) => k.keyid.slice(0, 16)).join(', ')}`,
          );
        const fresh = await ctx.client.request<OnlineKeys>(
          'POST',
          `/v1/orgs/${enc(org)}/updates/online-keys/rotate`,
        );
        // Same root and targets keys; only snapshot and timestamp change, so the same root keys
        // meet the threshold of the old and of the new root at once (TUF 5.3.4).
        const next = await draftRoot(ctx, org, { expiresDays: opts.expiresDays }, fresh);
        for (const key of keys) next.sign(signerFor(key), true);
        const result = await ctx.client.request<{ version: number }>(
          'PUT',
          `/v1/orgs/${enc(org)}/updates/root`,
          next.toJSON(),
        );
        if (opts.out) writeFileSync(opts.out, `${JSON.stringify(next.toJSON(), null, 2)}\n`);
        const out = {
          rootVersion: result.version,
          snapshot: fresh.snapshot.keyid,
          timestamp: fresh.timestamp.keyid,
        };
        emit(ctx, out, () =>
          process.stdout.write(
            `published root version ${result.version} with new online keys (snapshot ${fresh.snapshot.keyid.slice(0, 16)}…, timestamp ${fresh.timestamp.keyid.slice(0, 16)}…); snapshot and timestamp are signed with them\n`,
          ),
        );
      }),
    );

  updates
    .command('history <device>')
    .description(
      "a device's update history (every step it reported), newest first; the device by id or serial",
    )
    .option('--limit <n>', 'how many', '50')
    .action(async (device: string, opts: { limit: string }, command: Command) =>
      withClient(command, async (ctx) => {
        const org = await resolveOrg(ctx);
        const deviceId = await resolveRef(ctx, org, 'device', device);
        const page = await ctx.client.request<{
          items: {
            time: string;
            step: string;
            reason: string | null;
            message: string | null;
            rolloutId: string | null;
          }[];
        }>('GET', `/v1/orgs/${enc(org)}/devices/${enc(deviceId)}/updates?limit=${Number(opts.limit)}`);
        emit(ctx, page, () =>
          printTable(page.items, [
            ['time', (r) => r.time],
            ['step', (r) => r.step],
            ['reason', (r) => r.reason],
            ['rollout', (r) => r.rolloutId],
            ['message', (r) => r.message],
          ]),
        );
      }),
    );
}

export interface SignResult {
  published: boolean;
  version: number;
  signatures: number;
  threshold: number;
  releaseIds: string[];
}

export async function postSignatures(
  ctx: CommandContext,
  org: string,
  metadata: Metadata<Targets>,
): Promise<SignResult> {
  return ctx.client.request<SignResult>('POST', `/v1/orgs/${enc(org)}/updates/targets/signatures`, {
    version: metadata.signed.version,
    signatures: Object.values(metadata.signatures).map((s) => ({ keyid: s.keyID, sig: s.sig })),
  });
}

export function printSignResult(result: SignResult): void {
  process.stdout.write(
    result.published
      ? `published targets version ${result.version} (${result.releaseIds.length} releases); devices can now verify them\n`
      : `targets version ${result.version}: ${result.signatures} of ${result.threshold} signatures; waiting for more\n`,
  );
}
