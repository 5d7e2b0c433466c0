import type { Command } from 'commander';
import { DomainError } from '../errors.js';
import { enc, query, resolveOrg, withClient } from './context.js';
import { type Column, emit, emitPage, printRecord, printTable } from './output.js';

interface WebhookView {
  id: string;
  url: string;
  events: string[];
  enabled: boolean;
  createdBy: string;
  createdAt: string;
  updatedAt: string;
  secret?: string;
}

interface DeliveryView {
  id: string;
  webhookId: string;
  eventId: string;
  eventType: string;
  status: string;
  attempts: number;
  nextAttemptAt: string | null;
  lastAttemptAt: string | null;
  lastResponseStatus: number | null;
  lastError: string | null;
}

const STATUSES = ['pending', 'failed', 'succeeded', 'dead'];

const webhookColumns: Column<WebhookView>[] = [
  ['id', (w) => w.id],
  ['url', (w) => w.url],
  ['events', (w) => w.events],
  ['enabled', (w) => (w.enabled ? 'yes' : 'no')],
  ['created', (w) => w.createdAt],
];

const deliveryColumns: Column<DeliveryView>[] = [
  ['id', (d) => d.id],
  ['event', (d) => d.eventType],
  ['status', (d) => d.status],
  ['attempts', (d) => d.attempts],
  ['last answer', (d) => d.lastResponseStatus ?? d.lastError ?? ''],
  ['next attempt', (d) => d.nextAttemptAt ?? ''],
  ['webhook-id', (d) => d.eventId, 'wide'],
];

/** `--events a,b` into a list; the server checks each against the catalogue. */
function parseEvents(text: string): string[] {
  const events = text
    .split(',')
    .map((e) => e.trim())
    .filter(Boolean);
  if (events.length === 0)
    throw new DomainError(
      'validation-failed',
      '--events: name at least one event type, e.g. --events rollout.halted',
    );
  return events;
}

function showDelivery(d: DeliveryView): void {
  printRecord({
    delivery: d.id,
    event: `${d.eventType} (webhook-id ${d.eventId})`,
    status: d.status,
    attempts: d.attempts,
    'last answer': d.lastResponseStatus ?? '',
    'last error': d.lastError ?? '',
    'next attempt': d.nextAttemptAt ?? '',
  });
}

function showSecret(w: WebhookView): void {
  printRecord({ id: w.id, url: w.url, events: w.events, enabled: w.enabled ? 'yes' : 'no' });
  process.stdout.write(
    `\nsigning secret (shown this once; put it in the receiver):\n  ${w.secret}\n` +
      'verify requests with a Standard Webhooks library (docs/webhooks.md)\n',
  );
}

/** `brickless webhooks`: Standard Webhooks endpoints of an organisation (issue 18 §5, docs/webhooks.md). */
export function webhookCommands(program: Command): void {
  const webhooks = program
    .command('webhooks')
    .description('webhooks: signed event deliveries to your systems (Standard Webhooks)');

  webhooks
    .command('create')
    .description('create a webhook; prints its whsec_ signing secret, this once')
    .requiredOption('--url <url>', 'https URL of the receiver')
    .requiredOption('--events <a,b>', 'event types to send, comma-separated (docs/webhooks.md lists them)')
    .option('--disabled', 'create it disabled')
    .action(async (opts: { url: string; events: string; disabled?: boolean }, command: Command) =>
      withClient(command, async (ctx) => {
        const org = await resolveOrg(ctx);
        const made = await ctx.client.request<WebhookView>('POST', `/v1/orgs/${enc(org)}/webhooks`, {
          url: opts.url,
          events: parseEvents(opts.events),
          ...(opts.disabled ? { enabled: false } : {}),
        });
        emit(ctx, made, () => showSecret(made));
      }),
    );

  webhooks
    .command('list')
    .description("the organisation's webhooks")
    .action(async (_opts: unknown, command: Command) =>
      withClient(command, async (ctx) => {
        const org = await resolveOrg(ctx);
        const list = await ctx.client.request<{ items: WebhookView[] }>(
          'GET',
          `/v1/orgs/${enc(org)}/webhooks`,
        );
        emit(ctx, list, () => printTable(list.items, webhookColumns));
      }),
    );

  webhooks
    .command('update <id>')
    .description("change a webhook's URL, events, or turn it on or off")
    .option('--url <url>', 'new https URL')
    .option('--events <a,b>', 'new event types, comma-separated')
    .option('--enable', 'send deliveries again')
    .option('--disable', 'stop sending; pending deliveries wait')
    .action(
      async (
        id: string,
        opts: { url?: string; events?: string; enable?: boolean; disable?: boolean },
        command: Command,
      ) =>
        withClient(command, async (ctx) => {
          if (opts.enable && opts.disable)
            throw new DomainError('validation-failed', 'pass --enable or --disable, not both');
          const org = await resolveOrg(ctx);
          const updated = await ctx.client.request<WebhookView>(
            'PATCH',
            `/v1/orgs/${enc(org)}/webhooks/${enc(id)}`,
            {
              ...(opts.url !== undefined ? { url: opts.url } : {}),
              ...(opts.events !== undefined ? { events: parseEvents(opts.events) } : {}),
              ...(opts.enable ? { enabled: true } : {}),
              ...(opts.disable ? { enabled: false } : {}),
            },
          );
          emit(ctx, updated, () => printTable([updated], webhookColumns));
        }),
    );

  webhooks
    .command('rotate-secret <id>')
    .description('replace the signing secret (the old one stops at once); prints the new one, this once')
    .action(async (id: string, _opts: unknown, command: Command) =>
      withClient(command, async (ctx) => {
        const org = await resolveOrg(ctx);
        const rotated = await ctx.client.request<WebhookView>(
          'POST',
          `/v1/orgs/${enc(org)}/webhooks/${enc(id)}/rotate-secret`,
        );
        emit(ctx, rotated, () => showSecret(rotated));
      }),
    );

  webhooks
    .command('test <id>')
    .description('send a signed webhook.test event to this webhook now and show how it went')
    .action(async (id: string, _opts: unknown, command: Command) =>
      withClient(command, async (ctx) => {
        const org = await resolveOrg(ctx);
        const delivery = await ctx.client.request<DeliveryView>(
          'POST',
          `/v1/orgs/${enc(org)}/webhooks/${enc(id)}/test`,
        );
        emit(ctx, delivery, () => showDelivery(delivery));
        if (delivery.status !== 'succeeded') process.exitCode = 1;
      }),
    );

  webhooks
    .command('deliveries <id>')
    .description('the delivery log of a webhook, newest first (--status dead: the dead letters)')
    .option('--status <status>', `only deliveries in this state: ${STATUSES.join(', ')}`)
    .option('--limit <n>', 'page size', '50')
    .option('--cursor <cursor>', 'continue after a previous page')
    .action(async (id: string, opts: { status?: string; limit: string; cursor?: string }, command: Command) =>
      withClient(command, async (ctx) => {
        if (opts.status !== undefined && !STATUSES.includes(opts.status))
          throw new DomainError('validation-failed', `--status: one of ${STATUSES.join(', ')}`);
        const org = await resolveOrg(ctx);
        const page = await ctx.client.request<{ items: DeliveryView[]; nextCursor: string | null }>(
          'GET',
          `/v1/orgs/${enc(org)}/webhooks/${enc(id)}/deliveries${query(opts)}`,
        );
        emitPage(ctx, page, deliveryColumns);
      }),
    );

  webhooks
    .command('replay <delivery>')
    .description('send a delivery again now (dead or not), with the same webhook-id')
    .action(async (deliveryId: string, _opts: unknown, command: Command) =>
      withClient(command, async (ctx) => {
        const org = await resolveOrg(ctx);
        const delivery = await ctx.client.request<DeliveryView>(
          'POST',
          `/v1/orgs/${enc(org)}/webhook-deliveries/${enc(deliveryId)}/replay`,
        );
        emit(ctx, delivery, () => showDelivery(delivery));
        if (delivery.status !== 'succeeded') process.exitCode = 1;
      }),
    );

  webhooks
    .command('delete <id>')
    .description('delete a webhook and its delivery log')
    .action(async (id: string, _opts: unknown, command: Command) =>
      withClient(command, async (ctx) => {
        const org = await resolveOrg(ctx);
        await ctx.client.request('DELETE', `/v1/orgs/${enc(org)}/webhooks/${enc(id)}`);
        emit(ctx, { deleted: id }, () => process.stdout.write(`deleted webhook ${id}\n`));
      }),
    );
}
