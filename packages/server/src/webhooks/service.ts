import type { Kysely } from 'kysely';
import type { AuditLog } from '../audit/service.js';
import type { Clock } from '../clock.js';
import { conflict, invalid, notFound } from '../errors.js';
import { newId } from '../ids.js';
import { EVENT_TYPES } from '../notifications/catalogue.js';
import type { Outbox } from '../notifications/outbox.js';
import type { SecretBox } from '../secrets/master-key.js';
import { decodeCursor, type Page, toPage } from '../store/pagination.js';
import type { Database, WebhookDeliveriesTable, WebhooksTable } from '../store/schema.js';
import { inTransaction } from '../store/transaction.js';
import { newDelivery, secretPurpose, type WebhookDispatcher } from './dispatcher.js';
import { newSecret } from './signing.js';
import { checkTarget } from './targets.js';

export const DELIVERY_STATUSES = ['pending', 'failed', 'succeeded', 'dead'] as const;
export type DeliveryStatus = (typeof DELIVERY_STATUSES)[number];
/** Webhooks one organisation may have: each costs a request per event. */
export const MAX_WEBHOOKS_PER_ORG = 20;
const KNOWN_TYPES: ReadonlySet<string> = new Set(EVENT_TYPES.map((t) => t.type));

export interface WebhookView {
  id: string;
  url: string;
  events: string[];
  enabled: boolean;
  createdBy: string;
  createdAt: string;
  updatedAt: string;
}

export interface DeliveryView {
  id: string;
  webhookId: string;
  eventId: string;
  eventType: string;
  status: DeliveryStatus;
  attempts: number;
  nextAttemptAt: string | null;
  lastAttemptAt: string | null;
  lastResponseStatus: number | null;
  lastError: string | null;
  lastResponseExcerpt: string | null;
  createdAt: string;
  updatedAt: string;
}

const toView = (row: WebhooksTable): WebhookView => ({
  id: row.id,
  url: row.url,
  events: JSON.parse(row.event_types) as string[],
  enabled: row.enabled === 1,
  createdBy: row.created_by,
  createdAt: row.created_at,
  updatedAt: row.updated_at,
});

const toDelivery = (row: WebhookDeliveriesTable & { type: string }): DeliveryView => ({
  id: row.id,
  webhookId: row.webhook_id,
  eventId: row.event_id,
  eventType: row.type,
  status: row.status as DeliveryStatus,
  attempts: Number(row.attempts),
  nextAttemptAt: row.next_attempt_at,
  lastAttemptAt: row.last_attempt_at,
  lastResponseStatus: row.last_response_status === null ? null : Number(row.last_response_status),
  lastError: row.last_error,
  lastResponseExcerpt: row.last_response_excerpt,
  createdAt: row.created_at,
  updatedAt: row.updated_at,
});

/** Event types from outside: each from the catalogue, no duplicates, at least one. */
export function parseEventTypes(types: string[], field = '/events'): string[] {
  if (types.length === 0) throw invalid(field, 'subscribe to at least one event type');
  const list = [...new Set(types)];
  for (const type of list)
    if (!KNOWN_TYPES.has(type))
      throw invalid(
        field,
        `${JSON.stringify(type.slice(0, 100))} is not an event type; known: ${[...KNOWN_TYPES].join(', ')}`,
      );
  return list;
}

/**
 * An organisation's webhooks (issue 18 §5): endpoints that receive its outbound events signed by
 * the Standard Webhooks scheme. The secret is shown once, at creation and rotation, and kept
 * sealed; the audit log records every change but never the secret.
 */
export class WebhookService {
  readonly #db: Kysely<Database>;
  readonly #clock: Clock;
  readonly #audit: AuditLog;
  readonly #secrets: SecretBox;
  readonly #outbox: Outbox;
  readonly #dispatcher: WebhookDispatcher;

  constructor(deps: {
    db: Kysely<Database>;
    clock: Clock;
    audit: AuditLog;
    secrets: SecretBox;
    outbox: Outbox;
    dispatcher: WebhookDispatcher;
  }) {
    this.#db = deps.db;
    this.#clock = deps.clock;
    this.#audit = deps.audit;
    this.#secrets = deps.secrets;
    this.#outbox = deps.outbox;
    this.#dispatcher = deps.dispatcher;
  }

  async #checkUrl(url: string): Promise<string> {
    const target = await checkTarget(url, this.#dispatcher.allowPrivateTargets, this.#dispatcher.resolve);
    return target.url.href;
  }

  async create(
    actor: string,
    orgId: string,
    input: { url: string; events: string[]; enabled?: boolean },
  ): Promise<WebhookView & { secret: string }> {
    const url = await this.#checkUrl(input.url);
    const events = parseEventTypes(input.events);
    const now = this.#clock.now();
    const id = newId('whk', now);
    const secret = newSecret();
    const row: WebhooksTable = {
      id,
      org_id: orgId,
      url,
      event_types: JSON.stringify(events),
      secret_sealed: this.#secrets.seal(secret, secretPurpose(orgId, id)),
      enabled: input.enabled === false ? 0 : 1,
      created_by: actor,
      created_at: now.toISOString(),
      updated_at: now.toISOString(),
    };
    await inTransaction(this.#db, async (trx) => {
      const count = await trx
        .selectFrom('webhooks')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .where('org_id', '=', orgId)
        .executeTakeFirstOrThrow();
      if (Number(count.n) >= MAX_WEBHOOKS_PER_ORG)
        throw conflict(`an organisation has at most ${MAX_WEBHOOKS_PER_ORG} webhooks; delete one first`);
      await trx.insertInto('webhooks').values(row).execute();
      await this.#audit.append(trx, orgId, {
        actor,
        action: 'webhook.create',
        targetType: 'webhook',
        targetId: id,
        details: { url, events, enabled: row.enabled === 1 },
      });
    });
    return { ...toView(row), secret };
  }

  async list(orgId: string): Promise<WebhookView[]> {
    const rows = await this.#db
      .selectFrom('webhooks')
      .selectAll()
      .where('org_id', '=', orgId)
      .orderBy('id')
      .execute();
    return rows.map(toView);
  }

  async #row(orgId: string, id: string): Promise<WebhooksTable> {
    const row = await this.#db
      .selectFrom('webhooks')
      .selectAll()
      .where('org_id', '=', orgId)
      .where('id', '=', id)
      .executeTakeFirst();
    if (!row) throw notFound('webhook', id);
    return row;
  }

  async get(orgId: string, id: string): Promise<WebhookView> {
    return toView(await this.#row(orgId, id));
  }

  async update(
    actor: string,
    orgId: string,
    id: string,
    input: { url?: string; events?: string[]; enabled?: boolean },
  ): Promise<WebhookView> {
    const before = await this.#row(orgId, id);
    const changes: Partial<WebhooksTable> = {};
    if (input.url !== undefined) changes.url = await this.#checkUrl(input.url);
    if (input.events !== undefined) changes.event_types = JSON.stringify(parseEventTypes(input.events));
    if (input.enabled !== undefined) changes.enabled = input.enabled ? 1 : 0;
    if (Object.keys(changes).length === 0) throw invalid('/', 'change at least one of url, events, enabled');
    changes.updated_at = this.#clock.now().toISOString();
    await inTransaction(this.#db, async (trx) => {
      await trx
        .updateTable('webhooks')
        .set(changes)
        .where('org_id', '=', orgId)
        .where('id', '=', id)
        .execute();
      const previous = toView(before);
      await this.#audit.append(trx, orgId, {
        actor,
        action: 'webhook.update',
        targetType: 'webhook',
        targetId: id,
        details: {
          ...(changes.url !== undefined ? { url: { from: previous.url, to: changes.url } } : {}),
          ...(input.events !== undefined
            ? { events: { from: previous.events, to: JSON.parse(changes.event_types as string) } }
            : {}),
          ...(input.enabled !== undefined ? { enabled: { from: previous.enabled, to: input.enabled } } : {}),
        },
      });
    });
    return this.get(orgId, id);
  }

  async remove(actor: string, orgId: string, id: string): Promise<WebhookView> {
    const row = await this.#row(orgId, id);
    await inTransaction(this.#db, async (trx) => {
      await trx.deleteFrom('webhook_deliveries').where('webhook_id', '=', id).execute();
      await trx.deleteFrom('webhooks').where('org_id', '=', orgId).where('id', '=', id).execute();
      await this.#audit.append(trx, orgId, {
        actor,
        action: 'webhook.delete',
        targetType: 'webhook',
        targetId: id,
        details: { url: row.url },
      });
    });
    return toView(row);
  }

  /** A new secret; the old one stops signing at once (receivers must take the new one). */
  async rotateSecret(actor: string, orgId: string, id: string): Promise<WebhookView & { secret: string }> {
    await this.#row(orgId, id);
    const secret = newSecret();
    const now = this.#clock.now().toISOString();
    await inTransaction(this.#db, async (trx) => {
      await trx
        .updateTable('webhooks')
        .set({ secret_sealed: this.#secrets.seal(secret, secretPurpose(orgId, id)), updated_at: now })
        .where('org_id', '=', orgId)
        .where('id', '=', id)
        .execute();
      await this.#audit.append(trx, orgId, {
        actor,
        action: 'webhook.rotate-secret',
        targetType: 'webhook',
        targetId: id,
        details: {},
      });
    });
    return { ...(await this.get(orgId, id)), secret };
  }

  /** Records a `webhook.test` event for this webhook alone and sends it now; the delivery says how it went. */
  async test(actor: string, orgId: string, id: string): Promise<DeliveryView> {
    const webhook = await this.#row(orgId, id);
    const now = this.#clock.now();
    const deliveryId = await inTransaction(this.#db, async (trx) => {
      const event = await this.#outbox.record(
        orgId,
        'webhook.test',
        { message: `A test event for webhook ${webhook.id}, sent on request by ${actor}.` },
        trx,
      );
      const delivery = newDelivery(orgId, id, event.id, now.toISOString(), now);
      await trx.insertInto('webhook_deliveries').values(delivery).execute();
      return delivery.id;
    });
    await this.#dispatcher.sendNow(deliveryId);
    return this.delivery(orgId, deliveryId);
  }

  async delivery(orgId: string, deliveryId: string): Promise<DeliveryView> {
    const row = await this.#db
      .selectFrom('webhook_deliveries as d')
      .innerJoin('outbound_events as e', 'e.id', 'd.event_id')
      .selectAll('d')
      .select('e.type')
      .where('d.org_id', '=', orgId)
      .where('d.id', '=', deliveryId)
      .executeTakeFirst();
    if (!row) throw notFound('webhook delivery', deliveryId);
    return toDelivery(row);
  }

  /** A webhook's deliveries, newest first, optionally of one status (`dead`: the dead-letter list). */
  async deliveries(
    orgId: string,
    id: string,
    query: { status?: DeliveryStatus; limit: number; cursor?: string },
  ): Promise<Page<DeliveryView>> {
    await this.#row(orgId, id);
    const cursor = decodeCursor(query.cursor);
    let q = this.#db
      .selectFrom('webhook_deliveries as d')
      .innerJoin('outbound_events as e', 'e.id', 'd.event_id')
      .selectAll('d')
      .select('e.type')
      .where('d.org_id', '=', orgId)
      .where('d.webhook_id', '=', id)
      .orderBy('d.id', 'desc')
      .limit(query.limit + 1);
    if (query.status) q = q.where('d.status', '=', query.status);
    if (cursor) q = q.where('d.id', '<', cursor);
    return toPage(await q.execute(), query.limit, toDelivery);
  }

  /** Sends a delivery again now (dead or not), with the same webhook-id; a failure retries on the schedule. */
  async replay(actor: string, orgId: string, deliveryId: string): Promise<DeliveryView> {
    const before = await this.delivery(orgId, deliveryId);
    await inTransaction(this.#db, (trx) =>
      this.#audit.append(trx, orgId, {
        actor,
        action: 'webhook.replay',
        targetType: 'webhook',
        targetId: before.webhookId,
        details: { deliveryId, eventId: before.eventId, status: before.status },
      }),
    );
    await this.#dispatcher.sendNow(deliveryId, { restart: true });
    return this.delivery(orgId, deliveryId);
  }
}
