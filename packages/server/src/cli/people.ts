import type { Command } from 'commander';
import { orgRoles, permissionMeaning, permissions, roles } from '../access/roles.js';
import type { Invitation } from '../people/invitations.js';
import type { Member, Person } from '../people/service.js';
import { collect, enc, resolveOrg, withClient } from './context.js';
import { type Column, emit, isWide, printRecord, printTable } from './output.js';

const factors = (p: Person) =>
  [
    p.factors.passkeys > 0 ? `passkey×${p.factors.passkeys}` : null,
    p.factors.password ? 'password' : null,
    p.factors.totp ? 'totp' : null,
  ]
    .filter(Boolean)
    .join(', ') || 'none yet';

const memberColumns: Column<Member>[] = [
  ['e-mail', (p) => p.email],
  ['name', (p) => p.displayName],
  ['roles', (p) => p.roles.join(', ')],
  ['sign-in', factors],
  ['last sign-in', (p) => p.lastSignInAt],
  ['id', (p) => p.id, 'wide'],
];

const personColumns: Column<Person>[] = [
  ['e-mail', (p) => p.email],
  ['name', (p) => p.displayName],
  ['platform admin', (p) => (p.platformAdmin ? 'yes' : '')],
  ['sign-in', factors],
  ['last sign-in', (p) => p.lastSignInAt],
  ['id', (p) => p.id, 'wide'],
];

/** `--role a --role b` or `--role a,b`: both read as the same list. */
const splitRoles = (list: string[]) =>
  list
    .flatMap((r) => r.split(','))
    .map((r) => r.trim())
    .filter(Boolean);

/** The grants of roles.ts as a table, the same one docs/roles.md starts with. */
async function roleTable(): Promise<{ role: string; permissions: string[] }[]> {
  const { allows } = await import('../access/roles.js');
  return roles.map((role) => ({ role, permissions: permissions.filter((p) => allows(role, p)) }));
}

export function peopleCommands(program: Command): void {
  const people = program
    .command('people')
    .description('people of an organisation: invitations, roles, removal (docs/accounts.md)');

  people
    .command('invite')
    .description('invite a person by e-mail and print the one-time link (valid 7 days unless --expires-days)')
    .requiredOption('--email <address>', 'their e-mail address (the account they will sign in with)')
    .option('--role <role>', `a role (repeat, or a,b): ${orgRoles.join(', ')}`, collect)
    .option('--platform', 'invite another platform admin instead (no organisation)')
    .option('--expires-days <days>', 'days the link stays valid, 1 to 30', '7')
    .action(
      async (
        opts: { email: string; role?: string[]; platform?: boolean; expiresDays: string },
        command: Command,
      ) =>
        withClient(command, async (ctx) => {
          const days = Number(opts.expiresDays);
          const expires = Number.isInteger(days)
            ? { expiresInDays: days }
            : { expiresInDays: opts.expiresDays };
          const list = splitRoles(opts.role ?? []);
          if (!opts.platform && list.length === 0)
            throw new Error(
              `name at least one --role: ${orgRoles.join(', ')} (or --platform for a platform admin)`,
            );
          const created = await ctx.client.request<{ url: string; token: string; invitation: Invitation }>(
            'POST',
            opts.platform ? '/v1/platform/invitations' : `/v1/orgs/${enc(await resolveOrg(ctx))}/invitations`,
            opts.platform
              ? { email: opts.email, ...expires }
              : { email: opts.email, roles: list, ...expires },
          );
          emit(ctx, created, () => {
            const who = opts.platform ? 'platform admin' : created.invitation.roles.join(', ');
            process.stdout.write(
              `invited ${created.invitation.email} as ${who}; the link works once, until ${created.invitation.expiresAt}:\n${created.url}\n`,
            );
          });
        }),
    );

  people
    .command('list')
    .description("the organisation's people with their roles and sign-in factors (--platform: everyone)")
    .option('--platform', 'every person on the platform (platform admin)')
    .action(async (opts: { platform?: boolean }, command: Command) =>
      withClient(command, async (ctx) => {
        if (opts.platform) {
          const all = await ctx.client.request<{ items: Person[] }>('GET', '/v1/platform/people');
          emit(ctx, all, () => printTable(all.items, personColumns, isWide(ctx)));
          return;
        }
        const result = await ctx.client.request<{ items: Member[] }>(
          'GET',
          `/v1/orgs/${enc(await resolveOrg(ctx))}/people`,
        );
        emit(ctx, result, () => printTable(result.items, memberColumns, isWide(ctx)));
      }),
    );

  people
    .command('roles [person]')
    .description('without a person: what each role may do; with one: their roles, or --set replaces them')
    .option('--set <roles>', `the new roles, comma-separated: ${orgRoles.join(', ')}`)
    .action(async (person: string | undefined, opts: { set?: string }, command: Command) =>
      withClient(command, async (ctx) => {
        if (!person) {
          const table = await roleTable();
          emit(ctx, { roles: table, permissions: permissionMeaning }, () => {
            printTable(table, [
              ['role', (r) => r.role],
              ['may', (r) => r.permissions.join(', ')],
            ]);
            process.stdout.write('\nsee docs/roles.md for every operation\n');
          });
          return;
        }
        const org = enc(await resolveOrg(ctx));
        if (opts.set !== undefined) {
          const updated = await ctx.client.request<Member>(
            'PUT',
            `/v1/orgs/${org}/people/${enc(person)}/roles`,
            { roles: splitRoles([opts.set]) },
          );
          emit(ctx, updated, () =>
            process.stdout.write(`${updated.email} now holds ${updated.roles.join(', ')}\n`),
          );
          return;
        }
        const members = await ctx.client.request<{ items: Member[] }>('GET', `/v1/orgs/${org}/people`);
        const found = members.items.find((m) => m.id === person || m.email === person.toLowerCase());
        if (!found)
          throw new Error(
            `no person ${JSON.stringify(person)} in this organisation: see brickless people list`,
          );
        emit(ctx, found, () => printRecord({ email: found.email, roles: found.roles.join(', ') }));
      }),
    );

  people
    .command('remove <person>')
    .description('remove a person (e-mail or id) from the organisation; their tokens there stop at once')
    .action(async (person: string, _opts: unknown, command: Command) =>
      withClient(command, async (ctx) => {
        const removed = await ctx.client.request<Member>(
          'DELETE',
          `/v1/orgs/${enc(await resolveOrg(ctx))}/people/${enc(person)}`,
        );
        emit(ctx, removed, () =>
          process.stdout.write(`removed ${removed.email} (was ${removed.roles.join(', ')})\n`),
        );
      }),
    );
}
