import type { Kysely } from 'kysely';
import { anyAllows, type Permission, type Role } from '../access/roles.js';
import type { AuditLog } from '../audit/service.js';
import { PLATFORM_CHAIN } from '../audit/service.js';
import type { Clock } from '../clock.js';
import { invalid, notFound } from '../errors.js';
import { rolesFromColumn } from '../people/service.js';
import type { Database } from '../store/schema.js';
import { inTransaction } from '../store/transaction.js';
import { EVENT_TYPES, type OutboundEventType } from './catalogue.js';
import { type Language, languages } from './texts.js';

export interface Notification {
  id: string;
  orgId: string;
  orgSlug: string;
  eventId: string;
  type: string;
  title: string;
  body: string;
  link: string | null;
  createdAt: string;
  readAt: string | null;
  /** What happened to the e-mail: sent, pending (retrying), failed, muted, off (no SMTP server). */
  email: string;
}

export interface TypePreference {
  type: string;
  summary: string;
  /** The permission whose holders are told (docs/roles.md). */
  audience: Permission;
  /** True when one of the person's roles somewhere grants the audience permission: only then is anything sent. */
  applies: boolean;
  inbox: boolean;
  email: boolean;
}

export interface Preferences {
  language: Language;
  types: TypePreference[];
}

/** The types people can be told of (a webhook test is for webhooks only). */
export const PERSON_TYPES = EVENT_TYPES.filter((t) => t.type !== 'webhook.test');

/**
 * A person's own inbox and preferences (GET /v1/me/notifications …). Only notices of the
 * organisations the person still belongs to show: leaving one takes its notices along.
 */
export class InboxService {
  readonly #db: Kysely<Database>;
  readonly #clock: Clock;
  readonly #audit: AuditLog;

  constructor(deps: { db: Kysely<Database>; clock: Clock; audit: AuditLog }) {
    this.#db = deps.db;
    this.#clock = deps.clock;
    this.#audit = deps.audit;
  }

  #mine(personId: string) {
    return this.#db
      .selectFrom('notifications as n')
      .innerJoin('memberships as m', (join) =>
        join.onRef('m.person_id', '=', 'n.person_id').onRef('m.org_id', '=', 'n.org_id'),
      )
      .innerJoin('organizations as o', 'o.id', 'n.org_id')
      .where('n.person_id', '=', personId)
      .where('n.inbox', '=', 1);
  }

  async list(
    personId: string,
    options: { unread?: boolean; before?: string; limit?: number } = {},
  ): Promise<{ items: Notification[]; unread: number; nextCursor: string | null }> {
    const limit = options.limit ?? 50;
    let query = this.#mine(personId)
      .select([
        'n.id',
        'n.org_id',
        'o.slug',
        'n.event_id',
        'n.type',
        'n.title',
        'n.body',
        'n.link',
        'n.created_at',
        'n.read_at',
        'n.email_status',
      ])
      .orderBy('n.id', 'desc')
      .limit(limit + 1);
    if (options.unread) query = query.where('n.read_at', 'is', null);
    if (options.before) query = query.where('n.id', '<', options.before);
    const rows = await query.execute();
    const unread = await this.#mine(personId)
      .select((eb) => eb.fn.countAll<number | string>().as('n'))
      .where('n.read_at', 'is', null)
      .executeTakeFirstOrThrow();
    const page = rows.slice(0, limit);
    return {
      items: page.map((r) => ({
        id: r.id,
        orgId: r.org_id,
        orgSlug: r.slug,
        eventId: r.event_id,
        type: r.type,
        title: r.title,
        body: r.body,
        link: r.link,
        createdAt: r.created_at,
        readAt: r.read_at,
        email: r.email_status,
      })),
      unread: Number(unread.n),
      nextCursor: rows.length > limit ? (page[page.length - 1]?.id ?? null) : null,
    };
  }

  /** Marks one notice read (again: keeps the first time); a notice of someone else is not found. */
  async read(personId: string, id: string): Promise<{ id: string; readAt: string }> {
    const row = await this.#mine(personId)
      .select(['n.id', 'n.read_at'])
      .where('n.id', '=', id)
      .executeTakeFirst();
    if (!row) throw notFound('notification', id);
    if (row.read_at) return { id, readAt: row.read_at };
    const now = this.#clock.now().toISOString();
    await this.#db
      .updateTable('notifications')
      .set({ read_at: now })
      .where('id', '=', id)
      .where('person_id', '=', personId)
      .where('read_at', 'is', null)
      .execute();
    return { id, readAt: now };
  }

  async readAll(personId: string): Promise<{ read: number }> {
    const result = await this.#db
      .updateTable('notifications')
      .set({ read_at: this.#clock.now().toISOString() })
      .where('person_id', '=', personId)
      .where('inbox', '=', 1)
      .where('read_at', 'is', null)
      .executeTakeFirst();
    return { read: Number(result.numUpdatedRows) };
  }

  async preferences(personId: string): Promise<Preferences> {
    const [rows, settings, memberships] = await Promise.all([
      this.#db.selectFrom('notification_preferences').selectAll().where('person_id', '=', personId).execute(),
      this.#db
        .selectFrom('notification_settings')
        .selectAll()
        .where('person_id', '=', personId)
        .executeTakeFirst(),
      this.#db.selectFrom('memberships').select('roles').where('person_id', '=', personId).execute(),
    ]);
    const held = memberships.flatMap((m) => rolesFromColumn(m.roles)) as Role[];
    return {
      language: settings?.language === 'de' ? 'de' : 'en',
      types: PERSON_TYPES.map((t) => {
        const row = rows.find((r) => r.type === t.type);
        return {
          type: t.type,
          summary: t.summary,
          audience: t.audience,
          applies: anyAllows(held, t.audience),
          inbox: row ? Number(row.inbox) === 1 : true,
          email: row ? Number(row.email) === 1 : true,
        };
      }),
    };
  }

  /** Changes the given types (others keep theirs) and the language; recorded in the platform audit log. */
  async setPreferences(
    actor: string,
    personId: string,
    input: { language?: string; types?: Array<{ type: string; inbox: boolean; email: boolean }> },
  ): Promise<Preferences> {
    if (input.language !== undefined && !(languages as readonly string[]).includes(input.language))
      throw invalid('/language', `one of ${languages.join(', ')}`);
    const known = new Set<string>(PERSON_TYPES.map((t) => t.type));
    const types = input.types ?? [];
    for (const [i, t] of types.entries())
      if (!known.has(t.type))
        throw invalid(
          `/types/${i}/type`,
          `unknown event type ${JSON.stringify(t.type)}; one of ${[...known].join(', ')}`,
        );
    const now = this.#clock.now().toISOString();
    await inTransaction(this.#db, async (trx) => {
      for (const t of types)
        await trx
          .insertInto('notification_preferences')
          .values({
            person_id: personId,
            type: t.type as OutboundEventType,
            inbox: t.inbox ? 1 : 0,
            email: t.email ? 1 : 0,
            updated_at: now,
          })
          .onConflict((oc) =>
            oc
              .columns(['person_id', 'type'])
              .doUpdateSet({ inbox: t.inbox ? 1 : 0, email: t.email ? 1 : 0, updated_at: now }),
          )
          .execute();
      if (input.language !== undefined)
        await trx
          .insertInto('notification_settings')
          .values({ person_id: personId, language: input.language, updated_at: now })
          .onConflict((oc) =>
            oc.column('person_id').doUpdateSet({ language: input.language as string, updated_at: now }),
          )
          .execute();
      await this.#audit.append(trx, PLATFORM_CHAIN, {
        actor,
        action: 'notification-preferences.update',
        targetType: 'person',
        targetId: personId,
        details: { language: input.language ?? null, types },
      });
    });
    return this.preferences(personId);
  }
}
