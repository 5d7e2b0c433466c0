import type { Command } from 'commander';
import { DomainError } from '../errors.js';
import { enc, resolveOrg, withClient } from './context.js';
import { type Column, emit, printRecord, printTable } from './output.js';

interface AppView {
  id: string;
  clientId: string;
  name: string;
  clientType: 'public' | 'confidential';
  redirectUris: string[];
  scopes: string[];
  createdAt: string;
}

interface WithSecret {
  app: AppView;
  clientSecret: string | null;
}

const columns: Column<AppView>[] = [
  ['client-id', (a) => a.clientId],
  ['name', (a) => a.name],
  ['type', (a) => a.clientType],
  ['scopes', (a) => a.scopes],
  ['redirect URIs', (a) => a.redirectUris],
  ['created', (a) => a.createdAt, 'wide'],
];

/** `--redirect-uri` may be given several times. */
const collect = (value: string, previous: string[] = []): string[] => [...previous, value];

function list(text: string, option: string, example: string): string[] {
  const items = text
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  if (items.length === 0)
    throw new DomainError('validation-failed', `${option}: name at least one, e.g. ${example}`);
  return items;
}

function showCreated(made: WithSecret): void {
  printRecord({
    'client-id': made.app.clientId,
    name: made.app.name,
    type: made.app.clientType,
    scopes: made.app.scopes,
    'redirect URIs': made.app.redirectUris,
  });
  process.stdout.write(
    made.clientSecret
      ? `\nclient secret (shown this once; keep it on the app's server only):\n  ${made.clientSecret}\n`
      : '\na public app has no secret: it proves itself with PKCE (S256). See docs/app-api.md.\n',
  );
}

/** `brickless apps`: OAuth clients of the app API, acting for owners (issue 18 §2, docs/app-api.md). */
export function appCommands(program: Command): void {
  const apps = program
    .command('apps')
    .description('apps (OAuth clients) that act for device owners through the app API');

  apps
    .command('create')
    .description('register an app; a confidential one gets a client secret, shown once')
    .requiredOption('--name <name>', 'the name owners see on the consent page')
    .requiredOption(
      '--redirect-uri <uri>',
      'exact redirect URI (repeat for several): https, http://127.0.0.1 for native apps, or com.example.app:/cb',
      collect,
    )
    .option(
      '--scopes <a,b>',
      'scopes it may ask for: devices:read, devices:control',
      'devices:read,devices:control',
    )
    .option('--confidential', 'a web server that keeps a secret (default: public, PKCE only)')
    .action(
      async (
        opts: { name: string; redirectUri: string[]; scopes: string; confidential?: boolean },
        command: Command,
      ) =>
        withClient(command, async (ctx) => {
          const org = await resolveOrg(ctx);
          const made = await ctx.client.request<WithSecret>('POST', `/v1/orgs/${enc(org)}/apps`, {
            name: opts.name,
            clientType: opts.confidential ? 'confidential' : 'public',
            redirectUris: opts.redirectUri,
            scopes: list(opts.scopes, '--scopes', 'devices:read'),
          });
          emit(ctx, made, () => showCreated(made));
        }),
    );

  apps
    .command('list')
    .description("the organisation's apps")
    .action(async (_opts: unknown, command: Command) =>
      withClient(command, async (ctx) => {
        const org = await resolveOrg(ctx);
        const found = await ctx.client.request<{ items: AppView[] }>('GET', `/v1/orgs/${enc(org)}/apps`);
        emit(ctx, found, () => printTable(found.items, columns));
      }),
    );

  apps
    .command('get <client-id>')
    .description('one app')
    .action(async (id: string, _opts: unknown, command: Command) =>
      withClient(command, async (ctx) => {
        const org = await resolveOrg(ctx);
        const app = await ctx.client.request<AppView>('GET', `/v1/orgs/${enc(org)}/apps/${enc(id)}`);
        emit(ctx, app, () =>
          printRecord({
            'client-id': app.clientId,
            name: app.name,
            type: app.clientType,
            scopes: app.scopes,
            'redirect URIs': app.redirectUris,
            created: app.createdAt,
          }),
        );
      }),
    );

  apps
    .command('rotate-secret <client-id>')
    .description("replace a confidential app's secret (the old one stops at once); prints the new one, once")
    .action(async (id: string, _opts: unknown, command: Command) =>
      withClient(command, async (ctx) => {
        const org = await resolveOrg(ctx);
        const rotated = await ctx.client.request<WithSecret>(
          'POST',
          `/v1/orgs/${enc(org)}/apps/${enc(id)}/rotate-secret`,
        );
        emit(ctx, rotated, () => showCreated(rotated));
      }),
    );

  apps
    .command('delete <client-id>')
    .description('delete an app: every owner grant and token of it ends')
    .action(async (id: string, _opts: unknown, command: Command) =>
      withClient(command, async (ctx) => {
        const org = await resolveOrg(ctx);
        await ctx.client.request('DELETE', `/v1/orgs/${enc(org)}/apps/${enc(id)}`);
        emit(ctx, { deleted: id }, () => process.stdout.write(`deleted app ${id}\n`));
      }),
    );
}
