import type { Kysely, Transaction } from 'kysely';
import type { Clock } from '../clock.js';
import { newId } from '../ids.js';
import type { Mailer } from '../mail/mailer.js';
import { MAX_MAIL_ATTEMPTS, mailBackoffMs } from '../notifications/notifier.js';
import type { Database, OutboundEventsTable } from '../store/schema.js';
import { isOwnerEventType, type OwnerNoticeKind } from './catalogue.js';
import { type NoticeHolder, noticeHolders, stillHolds } from './recipients.js';
import { ownerMail, ownerNoticeText } from './texts.js';

/** A send claimed this long ago and never finished is not repeated (as the staff notifier does). */
const SENDING_LEASE_MS = 15 * 60_000;

interface Planned {
  holder: NoticeHolder;
  deviceId: string | null;
  key: string;
  serials: string[];
}

/**
 * Turns owner events from the outbox into each holder's notice, and mails them (issue 18 §3).
 * The staff notifier (notifications/notifier.ts) reads the outbox and hands owner events here,
 * in its own transaction and window, so an event is fanned out once; its mail loop shares the
 * staff notices' retry schedule. One notice per owner and dedupe key: a claim of a second device
 * of one product, a re-offered rollout, a job run twice tell nobody twice.
 */
export class OwnerNotices {
  readonly #db: Kysely<Database>;
  readonly #clock: Clock;
  readonly #mailer: Mailer;
  readonly #publicUrl: string | null;

  constructor(deps: { db: Kysely<Database>; clock: Clock; mailer: Mailer; publicUrl: string | null }) {
    this.#db = deps.db;
    this.#clock = deps.clock;
    this.#mailer = deps.mailer;
    this.#publicUrl = deps.publicUrl ? deps.publicUrl.replace(/\/+$/, '') : null;
  }

  /** Writes the notices of one owner event; returns how many were new. */
  async fanOut(event: OutboundEventsTable, trx: Transaction<Database>): Promise<number> {
    if (!isOwnerEventType(event.type)) return 0;
    const kind = event.type.slice(6) as OwnerNoticeKind;
    const data = JSON.parse(event.data) as Record<string, unknown>;
    const productId = String(data.productId ?? '');
    const product = await trx
      .selectFrom('products')
      .select(['name', 'model_number'])
      .where('id', '=', productId)
      .where('org_id', '=', event.org_id)
      .executeTakeFirst();
    if (!product) return 0;
    const deviceIds = Array.isArray(data.deviceIds)
      ? data.deviceIds.map(String)
      : typeof data.deviceId === 'string'
        ? [data.deviceId]
        : null;
    const holders = await noticeHolders(trx, event.org_id, { productId, deviceIds });
    const now = this.#clock.now().toISOString();
    let written = 0;
    for (const plan of planNotices(kind, data, holders)) {
      const text = ownerNoticeText(
        kind,
        data,
        {
          productName: product.name,
          modelNumber: product.model_number,
          serials: plan.serials,
          publicUrl: this.#publicUrl,
          today: now.slice(0, 10),
        },
        plan.holder.language,
      );
      const status = this.#mailer.configured ? 'pending' : 'off';
      const result = await trx
        .insertInto('owner_notices')
        .values({
          id: newId('onx', this.#clock.now()),
          owner_id: plan.holder.ownerId,
          org_id: event.org_id,
          kind,
          product_id: productId,
          device_id: plan.deviceId,
          dedupe_key: plan.key,
          event_id: event.id,
          language: plan.holder.language,
          title: text.title,
          body: text.body,
          data: JSON.stringify(data),
          created_at: now,
          read_at: null,
          email_status: status,
          email_attempts: 0,
          email_next_at: status === 'pending' ? now : null,
          email_sent_at: null,
          email_error: null,
        })
        .onConflict((oc) => oc.columns(['owner_id', 'dedupe_key']).doNothing())
        .executeTakeFirst();
      written += Number(result.numInsertedOrUpdatedRows ?? 0n);
    }
    return written;
  }

  /**
   * Sends the owner e-mails that are due, claimed one by one (pending → sending) so two nodes never
   * send one twice; a failure backs off like the staff mails (1, 2, 4 … minutes, 8 attempts). A
   * notice whose owner no longer holds the device (released, or the account deleted) is not sent.
   */
  async sendMail(limit = 50): Promise<{ sent: number; failed: number }> {
    const now = this.#clock.now();
    await this.#db
      .updateTable('owner_notices')
      .set({
        email_status: 'failed',
        email_error: 'interrupted while sending; not sent again to avoid a duplicate',
      })
      .where('email_status', '=', 'sending')
      .where('email_next_at', '<', new Date(now.getTime() - SENDING_LEASE_MS).toISOString())
      .execute();
    if (!this.#mailer.configured) return { sent: 0, failed: 0 };
    const due = await this.#db
      .selectFrom('owner_notices as n')
      .innerJoin('owners as o', 'o.id', 'n.owner_id')
      .select([
        'n.id',
        'n.kind',
        'n.owner_id',
        'n.org_id',
        'n.product_id',
        'n.device_id',
        'n.title',
        'n.body',
        'n.language',
        'n.email_attempts',
        'o.email',
      ])
      .where('n.email_status', '=', 'pending')
      .where('n.email_next_at', '<=', now.toISOString())
      .orderBy('n.email_next_at')
      .limit(limit)
      .execute();
    let sent = 0;
    let failed = 0;
    for (const row of due) {
      if (!(await stillHolds(this.#db, row.owner_id, row))) {
        await this.#db
          .updateTable('owner_notices')
          .set({ email_status: 'muted', email_next_at: null })
          .where('id', '=', row.id)
          .where('email_status', '=', 'pending')
          .execute();
        continue;
      }
      const claimed = await this.#db
        .updateTable('owner_notices')
        .set({ email_status: 'sending', email_next_at: now.toISOString() })
        .where('id', '=', row.id)
        .where('email_status', '=', 'pending')
        .executeTakeFirst();
      if (Number(claimed.numUpdatedRows) !== 1) continue;
      const lang = row.language === 'de' ? 'de' : 'en';
      const mail = ownerMail(row, lang, this.#publicUrl ? `${this.#publicUrl}/v1/owner/notices` : null);
      try {
        await this.#mailer.send({
          to: row.email,
          subject: mail.subject,
          text: mail.text,
          html: mail.html,
          headers: { 'X-Brickless-Owner-Notice': row.kind, 'X-Brickless-Notification': row.id },
        });
        await this.#db
          .updateTable('owner_notices')
          .set({
            email_status: 'sent',
            email_sent_at: this.#clock.now().toISOString(),
            email_next_at: null,
            email_error: null,
          })
          .where('id', '=', row.id)
          .execute();
        sent += 1;
      } catch (error) {
        const attempts = row.email_attempts + 1;
        const last = attempts >= MAX_MAIL_ATTEMPTS;
        await this.#db
          .updateTable('owner_notices')
          .set({
            email_status: last ? 'failed' : 'pending',
            email_attempts: attempts,
            email_next_at: last ? null : new Date(now.getTime() + mailBackoffMs(attempts)).toISOString(),
            email_error: String((error as Error).message ?? error).slice(0, 500),
          })
          .where('id', '=', row.id)
          .execute();
        failed += 1;
      }
    }
    return { sent, failed };
  }
}

/**
 * One notice per holder and device for what happens to a device (an update, its end of support
 * ahead); one per holder for what happens to a product (its support period, its sunset), naming
 * the holder's devices of it.
 */
function planNotices(kind: OwnerNoticeKind, d: Record<string, unknown>, holders: NoticeHolder[]): Planned[] {
  const perDevice = (key: (deviceId: string) => string): Planned[] =>
    holders.map((h) => ({ holder: h, deviceId: h.deviceId, key: key(h.deviceId), serials: [h.serial] }));
  const perOwner = (key: string): Planned[] => {
    const byOwner = new Map<string, Planned>();
    for (const h of holders) {
      const plan = byOwner.get(h.ownerId);
      if (plan) plan.serials.push(h.serial);
      else byOwner.set(h.ownerId, { holder: h, deviceId: null, key, serials: [h.serial] });
    }
    return [...byOwner.values()];
  };
  switch (kind) {
    case 'support-period':
      return perOwner(`support-period:${d.productId}:${d.supportEnds}`);
    case 'sunset':
      return perOwner(`sunset:${d.productId}`);
    case 'update-available':
      return perDevice((id) => `update-available:${id}:${d.version}`);
    case 'update-installed':
      return perDevice((id) => `update-installed:${id}:${d.version}`);
    case 'end-of-support-ahead':
      return perDevice((id) => `end-of-support-ahead:${id}:${d.supportEnds}:${d.leadDays}`);
  }
}
