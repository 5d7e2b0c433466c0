import type { Kysely, Transaction } from 'kysely';
import type { Clock } from '../clock.js';
import { newId } from '../ids.js';
import type { OwnerEventType } from '../owner-notices/catalogue.js';
import type { Database, OutboundEventsTable } from '../store/schema.js';
import type { OutboundEventType } from './catalogue.js';

export interface OutboundEvent {
  id: string;
  orgId: string;
  type: OutboundEventType;
  data: Record<string, unknown>;
  occurredAt: string;
}

const toEvent = (row: OutboundEventsTable): OutboundEvent => ({
  id: row.id,
  orgId: row.org_id,
  type: row.type as OutboundEventType,
  data: JSON.parse(row.data) as Record<string, unknown>,
  occurredAt: row.occurred_at,
});

/**
 * The transactional outbox (issue 18): a change records its event in its own transaction, so an
 * event exists exactly when the change committed. Consumers (the e-mail notifier, the webhook
 * dispatcher) read in id order from a cursor they keep themselves.
 */
export class Outbox {
  readonly #db: Kysely<Database>;
  readonly #clock: Clock;

  constructor(deps: { db: Kysely<Database>; clock: Clock }) {
    this.#db = deps.db;
    this.#clock = deps.clock;
  }

  /** Records one event; pass the change's transaction so both commit or neither. */
  async record(
    orgId: string,
    // Owner events (owner-notices/catalogue.ts) share the outbox; webhooks skip them.
    type: OutboundEventType | OwnerEventType,
    data: Record<string, unknown>,
    trx?: Transaction<Database>,
  ): Promise<OutboundEvent> {
    const now = this.#clock.now();
    const row: OutboundEventsTable = {
      id: newId('obe', now),
      org_id: orgId,
      type,
      data: JSON.stringify(data),
      occurred_at: now.toISOString(),
    };
    await (trx ?? this.#db).insertInto('outbound_events').values(row).execute();
    return toEvent(row);
  }

  /** Events after `cursor` (an event id; null: from the start), oldest first, at most `limit`. */
  async after(cursor: string | null, limit = 100): Promise<OutboundEvent[]> {
    let query = this.#db.selectFrom('outbound_events').selectAll().orderBy('id').limit(limit);
    if (cursor) query = query.where('id', '>', cursor);
    return (await query.execute()).map(toEvent);
  }

  /** One organisation's events, newest first (the API's list). */
  async list(orgId: string, options: { before?: string; limit?: number } = {}): Promise<OutboundEvent[]> {
    let query = this.#db
      .selectFrom('outbound_events')
      .selectAll()
      .where('org_id', '=', orgId)
      .orderBy('id', 'desc')
      .limit(options.limit ?? 50);
    if (options.before) query = query.where('id', '<', options.before);
    return (await query.execute()).map(toEvent);
  }
}
