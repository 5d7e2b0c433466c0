import type { Command } from 'commander';
import { escapeForDisplay } from '../text.js';
import { collect, enc, query, withClient } from './context.js';
import { emit, emitPage, printTable } from './output.js';

interface NotificationRow {
  id: string;
  orgSlug: string;
  type: string;
  title: string;
  createdAt: string;
  readAt: string | null;
  email: string;
}

interface PreferencesBody {
  language: string;
  types: Array<{ type: string; applies: boolean; inbox: boolean; email: boolean; audience: string }>;
}

/** `TYPE=inbox,email`, `TYPE=inbox`, `TYPE=email` or `TYPE=off`: the channels to keep for a type. */
export function parsePreference(text: string): { type: string; inbox: boolean; email: boolean } {
  const at = text.indexOf('=');
  const type = at > 0 ? text.slice(0, at) : '';
  const channels =
    at > 0
      ? text
          .slice(at + 1)
          .split(',')
          .map((c) => c.trim())
      : [];
  const known = channels.every((c) => c === 'inbox' || c === 'email' || c === 'off');
  if (!type || channels.length === 0 || !known || (channels.includes('off') && channels.length > 1))
    throw new Error(
      `--set ${JSON.stringify(text)}: write TYPE=inbox,email, TYPE=inbox, TYPE=email or TYPE=off (e.g. rollout.halted=inbox)`,
    );
  return { type, inbox: channels.includes('inbox'), email: channels.includes('email') };
}

/** A person's own notices (issue 18 §4, docs/notifications.md): needs a person's token. */
export function notificationCommands(program: Command): void {
  const notifications = program
    .command('notifications')
    .description('your notices (rollout halted, new exposure, report deadline …) and what you are told of');
  notifications
    .command('list')
    .description('your notices, newest first')
    .option('--unread', 'only the unread ones')
    .option('--limit <n>', 'at most this many', '50')
    .option('--cursor <id>', 'the page after this notice')
    .action(async (opts: { unread?: boolean; limit: string; cursor?: string }, command: Command) =>
      withClient(command, async (ctx) => {
        const page = await ctx.client.request<{
          items: NotificationRow[];
          unread: number;
          nextCursor: string | null;
        }>(
          'GET',
          `/v1/me/notifications${query({ unread: opts.unread ? true : undefined, limit: opts.limit, cursor: opts.cursor })}`,
        );
        emitPage(ctx, page, [
          ['id', (n) => n.id],
          ['', (n) => (n.readAt ? '' : '*')],
          ['when', (n) => n.createdAt.slice(0, 16).replace('T', ' ')],
          ['org', (n) => n.orgSlug],
          ['title', (n) => escapeForDisplay(n.title)],
          ['e-mail', (n) => n.email, 'wide'],
        ]);
        if (!ctx.json && !ctx.quiet) process.stdout.write(`${page.unread} unread\n`);
      }),
    );
  notifications
    .command('read [id]')
    .description('mark a notice read, or all of them with --all')
    .option('--all', 'every notice')
    .action(async (id: string | undefined, opts: { all?: boolean }, command: Command) =>
      withClient(command, async (ctx) => {
        if (!id === !opts.all) throw new Error('give one notice id, or --all');
        const result = opts.all
          ? await ctx.client.request<{ read: number }>('POST', '/v1/me/notifications/read-all')
          : await ctx.client.request<{ id: string; readAt: string }>(
              'POST',
              `/v1/me/notifications/${enc(id as string)}/read`,
            );
        emit(ctx, result, () =>
          process.stdout.write(
            'read' in result
              ? `${result.read} notices marked read\n`
              : `${result.id} read at ${result.readAt}\n`,
          ),
        );
      }),
    );
  notifications
    .command('preferences')
    .description('what you are told of and how; --set changes a type, --language the language of notices')
    .option(
      '--set <TYPE=channels>',
      'TYPE=inbox,email | TYPE=inbox | TYPE=email | TYPE=off (repeatable)',
      collect,
    )
    .option('--language <lang>', 'en or de')
    .action(async (opts: { set?: string[]; language?: string }, command: Command) =>
      withClient(command, async (ctx) => {
        const types = (opts.set ?? []).map(parsePreference);
        const prefs =
          types.length > 0 || opts.language
            ? await ctx.client.request<PreferencesBody>('PUT', '/v1/me/notification-preferences', {
                ...(types.length > 0 ? { types } : {}),
                ...(opts.language ? { language: opts.language } : {}),
              })
            : await ctx.client.request<PreferencesBody>('GET', '/v1/me/notification-preferences');
        emit(ctx, prefs, () => {
          printTable(prefs.types, [
            ['type', (p) => p.type],
            ['inbox', (p) => (p.inbox ? 'on' : 'off')],
            ['e-mail', (p) => (p.email ? 'on' : 'off')],
            ['you hold', (p) => (p.applies ? p.audience : `no (${p.audience})`)],
          ]);
          process.stdout.write(`language: ${prefs.language}\n`);
        });
      }),
    );
}
