import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { DomainError } from '../errors.js';
import { collect, enc, resolveOrg, withClient } from './context.js';
import { emit, printRecord } from './output.js';

interface SsoView {
  issuer: string;
  clientId: string;
  groupsClaim: string;
  groupRoles: Record<string, string[]>;
  scopes: string[];
  updatedAt: string;
  signInUrl: string;
  redirectUri: string;
}

/** `--map GROUP=role[,role]`, repeatable, into the API's group → roles map (last one of a group wins). */
export function parseMappings(mappings: string[]): Record<string, string[]> {
  const map: Record<string, string[]> = Object.create(null);
  for (const mapping of mappings) {
    const at = mapping.lastIndexOf('=');
    const group = mapping.slice(0, at).trim();
    const roles = mapping
      .slice(at + 1)
      .split(',')
      .map((r) => r.trim())
      .filter(Boolean);
    if (at <= 0 || !group || roles.length === 0)
      throw new DomainError(
        'validation-failed',
        `--map ${JSON.stringify(mapping)}: write GROUP=role[,role], for example --map staff-ops=operator`,
      );
    map[group] = roles;
  }
  return map;
}

function show(view: SsoView): void {
  printRecord({
    issuer: view.issuer,
    'client id': view.clientId,
    'groups claim': view.groupsClaim,
    scopes: view.scopes.join(' '),
    'sign-in url': view.signInUrl,
    'redirect uri': view.redirectUri,
    updated: view.updatedAt,
  });
  for (const [group, roles] of Object.entries(view.groupRoles))
    process.stdout.write(`  ${group} → ${roles.join(', ')}\n`);
}

/** `brickless sso`: single sign-on of an organisation with an OpenID provider (issue 16 §3). */
export function ssoCommands(program: Command): void {
  const sso = program
    .command('sso')
    .description('single sign-on with an OpenID Connect provider, its groups mapped to roles');

  sso
    .command('set')
    .description('set up single sign-on; the provider must answer its discovery document now')
    .requiredOption('--issuer <url>', 'the OpenID provider (https; http only for 127.0.0.1 or localhost)')
    .requiredOption('--client-id <id>', 'the client brickless is registered as at the provider')
    .option('--client-secret-file <file>', 'file holding the client secret (needed the first time)')
    .option('--groups-claim <claim>', 'the ID token or userinfo claim listing the groups', 'groups')
    .option('--map <GROUP=role[,role]>', 'a group and the roles it gives (repeatable)', collect, [])
    .option('--scope <scope>', 'a scope to ask for (repeatable; default openid email profile)', collect)
    .action(
      async (
        opts: {
          issuer: string;
          clientId: string;
          clientSecretFile?: string;
          groupsClaim: string;
          map: string[];
          scope?: string[];
        },
        command: Command,
      ) =>
        withClient(command, async (ctx) => {
          if (opts.map.length === 0)
            throw new DomainError('validation-failed', 'map at least one group: --map GROUP=role[,role]');
          const groupRoles = parseMappings(opts.map);
          // A file, not a flag: a secret on the command line lands in shell history and `ps`.
          const clientSecret = opts.clientSecretFile
            ? readFileSync(opts.clientSecretFile, 'utf8').trim()
            : undefined;
          const org = await resolveOrg(ctx);
          const view = await ctx.client.request<SsoView>('PUT', `/v1/orgs/${enc(org)}/sso`, {
            issuer: opts.issuer,
            clientId: opts.clientId,
            ...(clientSecret !== undefined ? { clientSecret } : {}),
            groupsClaim: opts.groupsClaim,
            groupRoles,
            ...(opts.scope ? { scopes: opts.scope } : {}),
          });
          emit(ctx, view, () => {
            show(view);
            process.stdout.write(`register this redirect URI at the provider: ${view.redirectUri}\n`);
          });
        }),
    );

  sso
    .command('show')
    .description("show the organisation's single sign-on (never the client secret)")
    .action(async (_opts: unknown, command: Command) =>
      withClient(command, async (ctx) => {
        const org = await resolveOrg(ctx);
        const view = await ctx.client.request<SsoView>('GET', `/v1/orgs/${enc(org)}/sso`);
        emit(ctx, view, () => show(view));
      }),
    );

  sso
    .command('remove')
    .description('turn single sign-on off; people keep their accounts and roles')
    .action(async (_opts: unknown, command: Command) =>
      withClient(command, async (ctx) => {
        const org = await resolveOrg(ctx);
        const view = await ctx.client.request<SsoView>('DELETE', `/v1/orgs/${enc(org)}/sso`);
        emit(ctx, view, () => process.stdout.write(`single sign-on with ${view.issuer} is off\n`));
      }),
    );
}
