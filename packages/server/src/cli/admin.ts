import type { Command } from 'commander';
import { roles } from '../access/roles.js';
import type { ApiToken } from '../access/tokens.js';
import { enc, resolveOrg, withClient } from './context.js';
import { type Column, emit, isWide, printRecord, printTable } from './output.js';

const columns: Column<ApiToken>[] = [
  ['name', (t) => t.name],
  ['role', (t) => t.role],
  ['created', (t) => t.createdAt],
  ['expires', (t) => t.expiresAt],
  ['last used', (t) => t.lastUsedAt],
  ['revoked', (t) => t.revokedAt],
  ['id', (t) => t.id, 'wide'],
];

export function adminCommands(program: Command): void {
  const admin = program.command('admin').description('administration of access');
  const token = admin
    .command('token')
    .description('API tokens: one organisation and one role each, shown once');

  token
    .command('create')
    .description('create a token and print its secret once')
    .requiredOption('--role <role>', roles.join(', '))
    .option('--name <name>', 'what the token is for (shown in the audit log)', 'cli')
    .option('--expires <datetime>', 'expiry, ISO 8601 (e.g. 2027-01-01T00:00:00Z)')
    .action(async (opts: { role: string; name: string; expires?: string }, command: Command) =>
      withClient(command, async (ctx) => {
        const body = {
          role: opts.role,
          name: opts.name,
          ...(opts.expires ? { expiresAt: opts.expires } : {}),
        };
        const path =
          opts.role === 'platform-admin'
            ? '/v1/platform/tokens'
            : `/v1/orgs/${enc(await resolveOrg(ctx))}/tokens`;
        const created = await ctx.client.request<{ token: string; record: ApiToken }>('POST', path, body);
        emit(ctx, created, () => {
          printRecord({ ...created.record });
          process.stdout.write(`\ntoken (shown once, store it now):\n${created.token}\n`);
        });
      }),
    );

  token
    .command('list')
    .description("list an organisation's tokens, or the platform tokens with --platform")
    .option('--platform', 'platform-admin tokens')
    .action(async (opts: { platform?: boolean }, command: Command) =>
      withClient(command, async (ctx) => {
        const path = opts.platform ? '/v1/platform/tokens' : `/v1/orgs/${enc(await resolveOrg(ctx))}/tokens`;
        const result = await ctx.client.request<{ items: ApiToken[] }>('GET', path);
        emit(ctx, result, () => printTable(result.items, columns, isWide(ctx)));
      }),
    );

  token
    .command('revoke <tokenId>')
    .description('revoke a token; it stops working at once (ids: admin token list --wide)')
    .option('--platform', 'a platform-admin token')
    .action(async (id: string, opts: { platform?: boolean }, command: Command) =>
      withClient(command, async (ctx) => {
        const path = opts.platform
          ? `/v1/platform/tokens/${enc(id)}`
          : `/v1/orgs/${enc(await resolveOrg(ctx))}/tokens/${enc(id)}`;
        const revoked = await ctx.client.request<ApiToken>('DELETE', path);
        emit(ctx, revoked, () => process.stdout.write(`revoked token ${id} (${revoked.name})\n`));
      }),
    );
}
