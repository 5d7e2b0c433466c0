import type { Kysely } from 'kysely';

/**
 * What makers are told (issue 18 §4, issue 21 §3; notifications/notifier.ts): each person's inbox
 * row per event (one per person and event: the unique pair makes the notifier idempotent, so an
 * event read twice never tells anyone twice, and its e-mail state lives on the same row), the
 * person's preferences per event type, their language, the events already fanned out, and the
 * dedupe keys of the time-based events (a report clock, an expiring TUF role, a readiness warning).
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('notifications')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('person_id', 'text', (c) => c.notNull().references('people.id').onDelete('cascade'))
    .addColumn('org_id', 'text', (c) => c.notNull().references('organizations.id').onDelete('cascade'))
    .addColumn('event_id', 'text', (c) => c.notNull().references('outbound_events.id').onDelete('cascade'))
    .addColumn('type', 'text', (c) => c.notNull())
    .addColumn('title', 'text', (c) => c.notNull())
    .addColumn('body', 'text', (c) => c.notNull())
    .addColumn('link', 'text')
    // 0 when the person muted the inbox for this type but still wants the e-mail.
    .addColumn('inbox', 'integer', (c) => c.notNull())
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('read_at', 'text')
    // pending | sending | sent | failed | muted | off (no SMTP server configured)
    .addColumn('email_status', 'text', (c) => c.notNull())
    .addColumn('email_attempts', 'integer', (c) => c.notNull())
    .addColumn('email_next_at', 'text')
    .addColumn('email_sent_at', 'text')
    .addColumn('email_error', 'text')
    .addUniqueConstraint('notifications_person_event', ['person_id', 'event_id'])
    .execute();
  await db.schema
    .createIndex('notifications_person')
    .on('notifications')
    .columns(['person_id', 'id'])
    .execute();
  await db.schema
    .createIndex('notifications_email')
    .on('notifications')
    .columns(['email_status', 'email_next_at'])
    .execute();
  await db.schema
    .createTable('notification_preferences')
    .addColumn('person_id', 'text', (c) => c.notNull().references('people.id').onDelete('cascade'))
    .addColumn('type', 'text', (c) => c.notNull())
    .addColumn('inbox', 'integer', (c) => c.notNull())
    .addColumn('email', 'integer', (c) => c.notNull())
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('notification_preferences_pk', ['person_id', 'type'])
    .execute();
  await db.schema
    .createTable('notification_settings')
    .addColumn('person_id', 'text', (c) => c.primaryKey().references('people.id').onDelete('cascade'))
    .addColumn('language', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .execute();
  await db.schema
    .createTable('notified_events')
    .addColumn('event_id', 'text', (c) => c.primaryKey().references('outbound_events.id').onDelete('cascade'))
    .addColumn('notified_at', 'text', (c) => c.notNull())
    .execute();
  await db.schema
    .createTable('notification_dedupe')
    .addColumn('key', 'text', (c) => c.primaryKey())
    .addColumn('org_id', 'text', (c) => c.notNull().references('organizations.id').onDelete('cascade'))
    .addColumn('created_at', 'text', (c) => c.notNull())
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const table of [
    'notification_dedupe',
    'notified_events',
    'notification_settings',
    'notification_preferences',
    'notifications',
  ])
    await db.schema.dropTable(table).execute();
}
