import type { Kysely } from 'kysely';
import type { Clock } from '../clock.js';
import { DomainError } from '../errors.js';
import { newId } from '../ids.js';
import type { SecretBox } from '../secrets/master-key.js';
import type { Database, WebhookDeliveriesTable } from '../store/schema.js';
import { type AttemptResult, MAX_ERROR_CHARS, type Send, sendOnce } from './sender.js';
import { signHeaders } from './signing.js';
import { checkTarget, type Resolve, systemResolve } from './targets.js';

/**
 * Waits after a failed attempt, in seconds: attempt 1 goes at once, attempt 2 after 5 s, ... attempt
 * 8 after 12 h; a delivery whose 8th attempt fails is dead (the dead-letter list, replayed by hand).
 * Each wait is stretched or shortened at random by up to 20 % (jitter), so many deliveries that
 * failed together do not come back together.
 */
export const RETRY_DELAYS_S = [5, 30, 120, 600, 3600, 4 * 3600, 12 * 3600] as const;
export const MAX_ATTEMPTS = RETRY_DELAYS_S.length + 1;
export const JITTER = 0.2;
/** A claimed delivery is not taken by another node for this long (its attempt ends within 10 s). */
const LEASE_MS = 60_000;
/**
 * The outbox is read again this far back of the cursor at every scan. Outbox ids are time-ordered,
 * but two transactions can commit out of id order: an event whose transaction began earlier can
 * appear after the cursor passed its id, and a pure `id > cursor` read would skip it for ever. So
 * the scan re-reads a window behind the cursor, and a delivery is unique per (webhook, event), so
 * an event seen twice is delivered once. An event is only missed if its transaction commits more
 * than this long after its id was made; transactions here last seconds (query timeouts).
 */
export const RESCAN_MS = 5 * 60_000;
const PAGE = 500;
const SEND_CONCURRENCY = 4;
const CURSOR = 'dispatcher';

/** The lowest outbox id of a moment: ids are `obe_` + 12 hex digits of milliseconds + randomness. */
const idFloor = (ms: number) => `obe_${Math.max(0, ms).toString(16).padStart(12, '0')}${'0'.repeat(16)}`;
const idTime = (id: string) => Number.parseInt(id.slice(4, 16), 16);

/** The Standard Webhooks payload: `type`, `timestamp` (when the event happened) and `data`. */
export function payloadOf(event: { type: string; occurred_at: string; data: string }): string {
  return JSON.stringify({ type: event.type, timestamp: event.occurred_at, data: JSON.parse(event.data) });
}

export const secretPurpose = (orgId: string, webhookId: string) => `webhook-secret:${orgId}:${webhookId}`;

/**
 * Turns outbox events into deliveries and sends them (issue 18 §5). `tick()` is what the job runs:
 * a scan of the outbox, then the deliveries that are due. Several nodes may run it: creating a
 * delivery is idempotent, and a node claims a due delivery by moving its due time forward only if
 * nobody else did first (a lease), so one node sends each attempt.
 */
export class WebhookDispatcher {
  readonly #db: Kysely<Database>;
  readonly #clock: Clock;
  readonly #secrets: SecretBox;
  readonly #allowPrivate: boolean;
  readonly #resolve: Resolve;
  readonly #send: Send;
  readonly #random: () => number;

  constructor(deps: {
    db: Kysely<Database>;
    clock: Clock;
    secrets: SecretBox;
    allowPrivateTargets: boolean;
    resolve?: Resolve;
    send?: Send;
    random?: () => number;
  }) {
    this.#db = deps.db;
    this.#clock = deps.clock;
    this.#secrets = deps.secrets;
    this.#allowPrivate = deps.allowPrivateTargets;
    this.#resolve = deps.resolve ?? systemResolve;
    this.#send = deps.send ?? sendOnce;
    this.#random = deps.random ?? Math.random;
  }

  get allowPrivateTargets(): boolean {
    return this.#allowPrivate;
  }

  get resolve(): Resolve {
    return this.#resolve;
  }

  async tick(): Promise<{ created: number; attempted: number }> {
    const created = await this.scan();
    const attempted = await this.deliverDue();
    return { created, attempted };
  }

  /** Creates the deliveries of new outbox events: one per enabled webhook of the event's organisation subscribed to its type. */
  async scan(): Promise<number> {
    const db = this.#db;
    const webhooks = await db
      .selectFrom('webhooks')
      .select(['id', 'org_id', 'event_types', 'created_at'])
      .where('enabled', '=', 1)
      .execute();
    const cursor = await db
      .selectFrom('webhook_cursors')
      .select('event_id')
      .where('name', '=', CURSOR)
      .executeTakeFirst();
    let from: string;
    if (cursor) from = idFloor(idTime(cursor.event_id) - RESCAN_MS);
    else {
      // First run: nothing older than the oldest webhook can be for anyone.
      const oldest = webhooks.map((w) => w.created_at).sort()[0];
      if (!oldest) return 0;
      from = idFloor(new Date(oldest).getTime() - RESCAN_MS);
    }
    const byOrg = new Map<string, { id: string; types: Set<string>; createdAt: string }[]>();
    for (const w of webhooks) {
      const list = byOrg.get(w.org_id) ?? [];
      list.push({ id: w.id, types: new Set(JSON.parse(w.event_types) as string[]), createdAt: w.created_at });
      byOrg.set(w.org_id, list);
    }
    const seen = new Set(
      (
        await db
          .selectFrom('webhook_deliveries')
          .select(['webhook_id', 'event_id'])
          .where('event_id', '>', from)
          .execute()
      ).map((d) => `${d.webhook_id} ${d.event_id}`),
    );
    let created = 0;
    let newest = cursor?.event_id ?? null;
    for (let after = from; ; ) {
      const events = await db
        .selectFrom('outbound_events')
        .select(['id', 'org_id', 'type', 'occurred_at'])
        .where('id', '>', after)
        .orderBy('id')
        .limit(PAGE)
        .execute();
      if (events.length === 0) break;
      const now = this.#clock.now().toISOString();
      const rows: WebhookDeliveriesTable[] = [];
      for (const event of events) {
        // Test events go only to the webhook they were made for (WebhookService.test).
        if (event.type === 'webhook.test') continue;
        for (const w of byOrg.get(event.org_id) ?? []) {
          if (!w.types.has(event.type) || event.occurred_at < w.createdAt) continue;
          if (seen.has(`${w.id} ${event.id}`)) continue;
          rows.push(newDelivery(event.org_id, w.id, event.id, now, this.#clock.now()));
        }
      }
      if (rows.length > 0) {
        const result = await db
          .insertInto('webhook_deliveries')
          .values(rows)
          .onConflict((oc) => oc.columns(['webhook_id', 'event_id']).doNothing())
          .executeTakeFirst();
        created += Number(result.numInsertedOrUpdatedRows ?? 0n);
      }
      after = (events.at(-1) as { id: string }).id;
      if (!newest || after > newest) newest = after;
      if (events.length < PAGE) break;
    }
    if (newest && newest !== cursor?.event_id) {
      const updatedAt = this.#clock.now().toISOString();
      await db
        .insertInto('webhook_cursors')
        .values({ name: CURSOR, event_id: newest, updated_at: updatedAt })
        .onConflict((oc) => oc.column('name').doUpdateSet({ event_id: newest, updated_at: updatedAt }))
        .execute();
    }
    return created;
  }

  /** Sends every delivery that is due (pending, or failed with its retry time reached) of an enabled webhook. */
  async deliverDue(limit = 50): Promise<number> {
    const now = this.#clock.now().toISOString();
    const due = await this.#db
      .selectFrom('webhook_deliveries as d')
      .innerJoin('webhooks as w', 'w.id', 'd.webhook_id')
      .select(['d.id', 'd.status', 'd.next_attempt_at'])
      .where('w.enabled', '=', 1)
      .where('d.status', 'in', ['pending', 'failed'])
      .where('d.next_attempt_at', '<=', now)
      .orderBy('d.next_attempt_at')
      .limit(limit)
      .execute();
    let attempted = 0;
    for (let i = 0; i < due.length; i += SEND_CONCURRENCY) {
      const results = await Promise.all(
        due.slice(i, i + SEND_CONCURRENCY).map(async (d) => {
          if (!(await this.#claim(d.id, d.status, d.next_attempt_at))) return false;
          await this.#attempt(d.id);
          return true;
        }),
      );
      attempted += results.filter(Boolean).length;
    }
    return attempted;
  }

  /**
   * Sends one delivery now, whatever its state (a test, or a replay by hand: the same webhook-id as
   * before, so a receiver that saw it already can tell). A failure goes on with the retry schedule.
   */
  async sendNow(deliveryId: string, options: { restart?: boolean } = {}): Promise<void> {
    const row = await this.#db
      .selectFrom('webhook_deliveries')
      .select(['status', 'next_attempt_at'])
      .where('id', '=', deliveryId)
      .executeTakeFirstOrThrow();
    if (options.restart) {
      // A replay starts the schedule over: its failures are retried like a new delivery's.
      await this.#db
        .updateTable('webhook_deliveries')
        .set({ attempts: 0, status: 'pending', updated_at: this.#clock.now().toISOString() })
        .where('id', '=', deliveryId)
        .execute();
      row.status = 'pending';
    }
    if (await this.#claim(deliveryId, row.status, row.next_attempt_at)) await this.#attempt(deliveryId);
  }

  async #claim(id: string, status: string, due: string | null): Promise<boolean> {
    const lease = new Date(this.#clock.now().getTime() + LEASE_MS).toISOString();
    let update = this.#db
      .updateTable('webhook_deliveries')
      .set({ next_attempt_at: lease })
      .where('id', '=', id)
      .where('status', '=', status);
    update =
      due === null ? update.where('next_attempt_at', 'is', null) : update.where('next_attempt_at', '=', due);
    const result = await update.executeTakeFirst();
    return Number(result.numUpdatedRows) === 1;
  }

  async #attempt(deliveryId: string): Promise<void> {
    const row = await this.#db
      .selectFrom('webhook_deliveries as d')
      .innerJoin('webhooks as w', 'w.id', 'd.webhook_id')
      .innerJoin('outbound_events as e', 'e.id', 'd.event_id')
      .select([
        'd.id',
        'd.org_id',
        'd.attempts',
        'w.id as webhook_id',
        'w.url',
        'w.secret_sealed',
        'e.id as event_id',
        'e.type',
        'e.data',
        'e.occurred_at',
      ])
      .where('d.id', '=', deliveryId)
      .executeTakeFirst();
    if (!row) return;
    const body = payloadOf(row);
    let result: AttemptResult;
    try {
      // Checked again at every attempt: the name may point elsewhere now than at creation.
      const target = await checkTarget(row.url, this.#allowPrivate, this.#resolve);
      const secret = this.#secrets.open(row.secret_sealed, secretPurpose(row.org_id, row.webhook_id));
      const headers = signHeaders(secret, row.event_id, this.#clock.now(), body);
      result = await this.#send(target, { ...headers }, body);
    } catch (error) {
      const message = error instanceof DomainError ? error.message : `error: ${(error as Error).message}`;
      result = { ok: false, status: null, error: message.slice(0, MAX_ERROR_CHARS), excerpt: null };
    }
    const at = this.#clock.now();
    const attempts = row.attempts + 1;
    let status: string;
    let next: string | null = null;
    if (result.ok) status = 'succeeded';
    else if (attempts >= MAX_ATTEMPTS) status = 'dead';
    else {
      status = 'failed';
      next = new Date(at.getTime() + retryDelayMs(attempts, this.#random())).toISOString();
    }
    await this.#db
      .updateTable('webhook_deliveries')
      .set({
        status,
        attempts,
        next_attempt_at: next,
        last_attempt_at: at.toISOString(),
        last_response_status: result.status,
        last_error: result.error ? result.error.slice(0, MAX_ERROR_CHARS) : null,
        last_response_excerpt: result.excerpt,
        updated_at: at.toISOString(),
      })
      .where('id', '=', deliveryId)
      .execute();
  }
}

/** The wait after failed attempt `attempts` (1-based), with jitter from `random` in [0, 1). */
export function retryDelayMs(attempts: number, random: number): number {
  const base = RETRY_DELAYS_S[Math.min(attempts, RETRY_DELAYS_S.length) - 1] as number;
  return Math.round(base * 1000 * (1 - JITTER + 2 * JITTER * random));
}

export function newDelivery(
  orgId: string,
  webhookId: string,
  eventId: string,
  now: string,
  at: Date,
): WebhookDeliveriesTable {
  return {
    id: newId('whd', at),
    org_id: orgId,
    webhook_id: webhookId,
    event_id: eventId,
    status: 'pending',
    attempts: 0,
    next_attempt_at: now,
    last_attempt_at: null,
    last_response_status: null,
    last_error: null,
    last_response_excerpt: null,
    created_at: now,
    updated_at: now,
  };
}
