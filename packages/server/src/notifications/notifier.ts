import type { Kysely } from 'kysely';
import { anyAllows, type Role } from '../access/roles.js';
import type { Clock } from '../clock.js';
import { newId } from '../ids.js';
import type { Mailer } from '../mail/mailer.js';
import { isOwnerEventType } from '../owner-notices/catalogue.js';
import type { OwnerNotices } from '../owner-notices/fan-out.js';
import { rolesFromColumn } from '../people/service.js';
import type { Database, OutboundEventsTable } from '../store/schema.js';
import { inTransaction } from '../store/transaction.js';
import { eventType, type OutboundEventType } from './catalogue.js';
import { type Language, languages, mailText, noticeText } from './texts.js';

/**
 * Why a window and not a plain cursor: event ids sort by the time `record` was called, but the
 * transactions that record them commit in any order; a slow transaction can commit event A after
 * event B with a larger id was already read, and a cursor past B would skip A for ever. So each
 * run re-reads the events of the last WINDOW_MS before the newest one it handled and skips those
 * already in `notified_events`; fanning out is idempotent anyway (one row per person and event,
 * unique). An event whose transaction stays open longer than the window could still be missed:
 * no transaction here runs for minutes (PostgreSQL statement timeouts are far shorter).
 */
export const WINDOW_MS = 10 * 60_000;
const PAGE = 200;
/** E-mail retries: 1, 2, 4 … minutes, at most 6 hours apart, 8 attempts (about 4 hours in all). */
export const MAX_MAIL_ATTEMPTS = 8;
export const mailBackoffMs = (attempts: number) =>
  Math.min(60_000 * 2 ** Math.max(0, attempts - 1), 6 * 3_600_000);
/** A send claimed this long ago and never finished (the process died) is not retried: see `sendMail`. */
const SENDING_LEASE_MS = 15 * 60_000;

/** The lower bound id of the events recorded at or after `ms` (ids.ts: prefix, 12 hex ms, random). */
const idAt = (ms: number) => `obe_${Math.max(0, ms).toString(16).padStart(12, '0')}${'0'.repeat(16)}`;
const timeOf = (id: string) => Number.parseInt(id.slice(4, 16), 16);

export interface NotifierRun {
  events: number;
  notices: number;
  mails: number;
  mailFailures: number;
}

export interface Recipient {
  personId: string;
  email: string;
  inbox: boolean;
  emailWanted: boolean;
  language: Language;
}

/**
 * Turns outbound events into each person's notices (issue 18 §4): the staff of the event's
 * organisation whose roles grant the catalogue's audience permission, as their preferences say;
 * nobody outside the organisation, nobody without the permission. Then sends the pending e-mails.
 */
export class Notifier {
  readonly #db: Kysely<Database>;
  readonly #clock: Clock;
  readonly #mailer: Mailer;
  readonly #publicUrl: string | null;
  readonly #log: (message: string) => void;
  readonly #owners: OwnerNotices | null;
  #toldMailOff = false;

  constructor(deps: {
    db: Kysely<Database>;
    clock: Clock;
    mailer: Mailer;
    publicUrl: string | null;
    /** Where the one-time "e-mail is off" line goes (the server's log). */
    log?: (message: string) => void;
    /** Owner events (issue 18 §3) are fanned out to device holders here, in the same pass. */
    owners?: OwnerNotices;
  }) {
    this.#db = deps.db;
    this.#clock = deps.clock;
    this.#mailer = deps.mailer;
    this.#publicUrl = deps.publicUrl ? deps.publicUrl.replace(/\/+$/, '') : null;
    this.#log = deps.log ?? (() => {});
    this.#owners = deps.owners ?? null;
  }

  /** One pass: fan out the new events, then send what e-mail is due. */
  async run(): Promise<NotifierRun> {
    const { events, notices } = await this.fanOut();
    const { sent, failed } = await this.sendMail();
    const owners = this.#owners ? await this.#owners.sendMail() : { sent: 0, failed: 0 };
    return { events, notices, mails: sent + owners.sent, mailFailures: failed + owners.failed };
  }

  async fanOut(): Promise<{ events: number; notices: number }> {
    const newest = await this.#db
      .selectFrom('notified_events')
      .select((eb) => eb.fn.max('event_id').as('id'))
      .executeTakeFirst();
    const from = newest?.id ? idAt(timeOf(newest.id) - WINDOW_MS) : null;
    let events = 0;
    let notices = 0;
    let after = from;
    for (;;) {
      let query = this.#db
        .selectFrom('outbound_events as e')
        .leftJoin('notified_events as n', 'n.event_id', 'e.id')
        .selectAll('e')
        .where('n.event_id', 'is', null)
        .orderBy('e.id')
        .limit(PAGE);
      if (after) query = query.where('e.id', '>', after);
      const page = await query.execute();
      for (const event of page) {
        notices += await this.#fanOutOne(event);
        events += 1;
      }
      if (page.length < PAGE) break;
      after = page[page.length - 1]?.id ?? after;
    }
    return { events, notices };
  }

  /** Who hears of an event in its organisation, and how (preferences; defaults: both channels). */
  async recipients(orgId: string, type: OutboundEventType): Promise<Recipient[]> {
    const audience = eventType(type)?.audience;
    if (!audience) return [];
    const members = await this.#db
      .selectFrom('memberships as m')
      .innerJoin('people as p', 'p.id', 'm.person_id')
      .leftJoin('notification_preferences as pref', (join) =>
        join.onRef('pref.person_id', '=', 'p.id').on('pref.type', '=', type),
      )
      .leftJoin('notification_settings as s', 's.person_id', 'p.id')
      .select(['p.id', 'p.email', 'm.roles', 'pref.inbox', 'pref.email as emailPref', 's.language'])
      .where('m.org_id', '=', orgId)
      .where('p.disabled_at', 'is', null)
      .orderBy('p.id')
      .execute();
    return members
      .filter((m) => anyAllows(rolesFromColumn(m.roles) as Role[], audience))
      .map((m) => ({
        personId: m.id,
        email: m.email,
        inbox: m.inbox === null ? true : Number(m.inbox) === 1,
        emailWanted: m.emailPref === null ? true : Number(m.emailPref) === 1,
        language: (languages as readonly string[]).includes(m.language ?? '')
          ? (m.language as Language)
          : 'en',
      }))
      .filter((r) => r.inbox || r.emailWanted);
  }

  async #fanOutOne(event: OutboundEventsTable): Promise<number> {
    if (isOwnerEventType(event.type)) {
      const owners = this.#owners;
      const now = this.#clock.now().toISOString();
      return inTransaction(this.#db, async (trx) => {
        const written = owners ? await owners.fanOut(event, trx) : 0;
        await trx
          .insertInto('notified_events')
          .values({ event_id: event.id, notified_at: now })
          .onConflict((oc) => oc.column('event_id').doNothing())
          .execute();
        return written;
      });
    }
    const type = event.type as OutboundEventType;
    // A webhook test is for the webhook, not for people's inboxes.
    const recipients =
      type === 'webhook.test' || !eventType(type) ? [] : await this.recipients(event.org_id, type);
    const data = JSON.parse(event.data) as Record<string, unknown>;
    const now = this.#clock.now();
    if (!this.#mailer.configured && !this.#toldMailOff && recipients.some((r) => r.emailWanted)) {
      this.#toldMailOff = true;
      this.#log(
        'notifications: e-mail is off (no SMTP server configured: set mail.smtpUrl and mail.from); notices go to the inbox only',
      );
    }
    return inTransaction(this.#db, async (trx) => {
      let written = 0;
      for (const r of recipients) {
        const text = noticeText(type, data, r.language);
        const status = !r.emailWanted ? 'muted' : this.#mailer.configured ? 'pending' : 'off';
        const result = await trx
          .insertInto('notifications')
          .values({
            id: newId('ntf', now),
            person_id: r.personId,
            org_id: event.org_id,
            event_id: event.id,
            type,
            title: text.title,
            body: text.body,
            link: this.#publicUrl ? `${this.#publicUrl}${text.path}` : null,
            inbox: r.inbox ? 1 : 0,
            created_at: now.toISOString(),
            read_at: null,
            email_status: status,
            email_attempts: 0,
            email_next_at: status === 'pending' ? now.toISOString() : null,
            email_sent_at: null,
            email_error: null,
          })
          // The unique (person, event) pair: an event read again tells nobody twice.
          .onConflict((oc) => oc.columns(['person_id', 'event_id']).doNothing())
          .executeTakeFirst();
        written += Number(result.numInsertedOrUpdatedRows ?? 0n);
      }
      await trx
        .insertInto('notified_events')
        .values({ event_id: event.id, notified_at: now.toISOString() })
        .onConflict((oc) => oc.column('event_id').doNothing())
        .execute();
      return written;
    });
  }

  /**
   * Sends the e-mails that are due. Each is claimed first (pending → sending, one row, one
   * winner), so two nodes never send one notice twice. A refusal or a network error puts it back
   * with a backoff; after MAX_MAIL_ATTEMPTS it is `failed` (the inbox row stays). A claim whose
   * process died mid-send is not sent again: the relay may have accepted it, and a second copy
   * is worse than the inbox alone; it becomes `failed` with that reason.
   */
  async sendMail(limit = 50): Promise<{ sent: number; failed: number }> {
    const now = this.#clock.now();
    await this.#db
      .updateTable('notifications')
      .set({
        email_status: 'failed',
        email_error: 'interrupted while sending; not sent again to avoid a duplicate',
      })
      .where('email_status', '=', 'sending')
      .where('email_next_at', '<', new Date(now.getTime() - SENDING_LEASE_MS).toISOString())
      .execute();
    if (!this.#mailer.configured) return { sent: 0, failed: 0 };
    const due = await this.#db
      .selectFrom('notifications as n')
      .innerJoin('people as p', 'p.id', 'n.person_id')
      .innerJoin('organizations as o', 'o.id', 'n.org_id')
      .leftJoin('memberships as m', (join) =>
        join.onRef('m.person_id', '=', 'n.person_id').onRef('m.org_id', '=', 'n.org_id'),
      )
      .leftJoin('notification_settings as s', 's.person_id', 'n.person_id')
      .select([
        'n.id',
        'n.type',
        'n.title',
        'n.body',
        'n.link',
        'n.email_attempts',
        'p.email',
        'p.disabled_at',
        'o.name as orgName',
        'm.roles',
        's.language',
      ])
      .where('n.email_status', '=', 'pending')
      .where('n.email_next_at', '<=', now.toISOString())
      .orderBy('n.email_next_at')
      .limit(limit)
      .execute();
    let sent = 0;
    let failed = 0;
    for (const row of due) {
      const audience = eventType(row.type)?.audience;
      // Removed from the organisation, lost the role, or disabled since: no e-mail (tenant isolation).
      if (
        !audience ||
        row.roles === null ||
        row.disabled_at !== null ||
        !anyAllows(rolesFromColumn(row.roles) as Role[], audience)
      ) {
        await this.#db
          .updateTable('notifications')
          .set({ email_status: 'muted', email_next_at: null })
          .where('id', '=', row.id)
          .where('email_status', '=', 'pending')
          .execute();
        continue;
      }
      const claimed = await this.#db
        .updateTable('notifications')
        .set({ email_status: 'sending', email_next_at: now.toISOString() })
        .where('id', '=', row.id)
        .where('email_status', '=', 'pending')
        .executeTakeFirst();
      if (Number(claimed.numUpdatedRows) !== 1) continue;
      const lang: Language = row.language === 'de' ? 'de' : 'en';
      const mail = mailText(row, row.orgName, lang);
      try {
        await this.#mailer.send({
          to: row.email,
          subject: mail.subject,
          text: mail.text,
          headers: { 'X-Brickless-Event': row.type, 'X-Brickless-Notification': row.id },
        });
        await this.#db
          .updateTable('notifications')
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
          .updateTable('notifications')
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
