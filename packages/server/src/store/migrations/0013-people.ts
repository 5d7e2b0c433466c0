import type { Kysely } from 'kysely';

/**
 * People (issue 16): accounts for the maker's staff and a successor's, their roles per
 * organisation, their sign-in factors, browser sessions and one-time invitations. Tokens may now
 * belong to the person who made them. Secrets are stored as hashes (sessions, invitations,
 * recovery codes, passwords with argon2id) or sealed with the master key (TOTP secrets, which must
 * be read back to check a code; RFC 6238 §5.1).
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('people')
    .addColumn('id', 'text', (c) => c.primaryKey())
    /** Lower-cased; the sign-in name. */
    .addColumn('email', 'text', (c) => c.notNull().unique())
    .addColumn('display_name', 'text', (c) => c.notNull())
    .addColumn('platform_admin', 'integer', (c) => c.notNull().defaultTo(0))
    /** argon2id PHC string, or null when the person signs in only with passkeys or single sign-on. */
    .addColumn('password_hash', 'text')
    .addColumn('totp_sealed', 'text')
    .addColumn('totp_confirmed_at', 'text')
    /** The last TOTP time step accepted: a code is never accepted twice (RFC 6238 §5.2). */
    .addColumn('totp_last_step', 'bigint')
    /** Password failures since the last success, and when the next password attempt is allowed. */
    .addColumn('failed_attempts', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('throttled_until', 'text')
    /** Bumped by "sign out everywhere" and by factor changes: older sessions stop working. */
    .addColumn('session_epoch', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('created_by', 'text', (c) => c.notNull())
    .addColumn('last_sign_in_at', 'text')
    .addColumn('disabled_at', 'text')
    .execute();

  await db.schema
    .createTable('memberships')
    .addColumn('person_id', 'text', (c) => c.notNull().references('people.id').onDelete('cascade'))
    .addColumn('org_id', 'text', (c) => c.notNull().references('organizations.id').onDelete('cascade'))
    /** Comma-separated org roles, sorted. */
    .addColumn('roles', 'text', (c) => c.notNull())
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .addPrimaryKeyConstraint('memberships_pk', ['person_id', 'org_id'])
    .execute();
  await db.schema.createIndex('memberships_org').on('memberships').column('org_id').execute();

  await db.schema
    .createTable('invitations')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('token_hash', 'text', (c) => c.notNull().unique())
    /** Null for the first administrator's setup link (platform admin). */
    .addColumn('org_id', 'text', (c) => c.references('organizations.id').onDelete('cascade'))
    /** Null for a setup link, which anyone holding it may use once. */
    .addColumn('email', 'text')
    .addColumn('roles', 'text', (c) => c.notNull())
    .addColumn('platform_admin', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('created_by', 'text', (c) => c.notNull())
    .addColumn('expires_at', 'text', (c) => c.notNull())
    .addColumn('accepted_at', 'text')
    .addColumn('accepted_by', 'text')
    .addColumn('revoked_at', 'text')
    .execute();

  await db.schema
    .createTable('sessions')
    /** SHA-256 of the session secret in the cookie. */
    .addColumn('id_hash', 'text', (c) => c.primaryKey())
    /** A short public handle (for listing and sign-out of one session); never the secret. */
    .addColumn('handle', 'text', (c) => c.notNull().unique())
    .addColumn('person_id', 'text', (c) => c.notNull().references('people.id').onDelete('cascade'))
    .addColumn('csrf_token', 'text', (c) => c.notNull())
    /** How the person signed in: `passkey`, `password+totp`, `password`, `recovery-code`, `oidc`. */
    .addColumn('method', 'text', (c) => c.notNull())
    .addColumn('epoch', 'integer', (c) => c.notNull())
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('last_seen_at', 'text', (c) => c.notNull())
    .addColumn('expires_at', 'text', (c) => c.notNull())
    .addColumn('user_agent', 'text')
    .addColumn('ip', 'text')
    .addColumn('revoked_at', 'text')
    .execute();
  await db.schema.createIndex('sessions_person').on('sessions').column('person_id').execute();

  await db.schema
    .createTable('recovery_codes')
    .addColumn('person_id', 'text', (c) => c.notNull().references('people.id').onDelete('cascade'))
    .addColumn('code_hash', 'text', (c) => c.notNull())
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('used_at', 'text')
    .addPrimaryKeyConstraint('recovery_codes_pk', ['person_id', 'code_hash'])
    .execute();

  await db.schema
    .createTable('passkeys')
    .addColumn('id', 'text', (c) => c.primaryKey())
    /** The WebAuthn credential id, base64url. */
    .addColumn('credential_id', 'text', (c) => c.notNull().unique())
    .addColumn('person_id', 'text', (c) => c.notNull().references('people.id').onDelete('cascade'))
    .addColumn('public_key', 'text', (c) => c.notNull())
    .addColumn('counter', 'bigint', (c) => c.notNull().defaultTo(0))
    .addColumn('transports', 'text')
    /** The relying party id (domain) it is bound to: after a takeover under a new domain it cannot work. */
    .addColumn('rp_id', 'text', (c) => c.notNull())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('created_at', 'text', (c) => c.notNull())
    .addColumn('last_used_at', 'text')
    .execute();

  /** WebAuthn and OIDC challenges in flight: single use, short-lived, shared by every node. */
  await db.schema
    .createTable('sign_in_challenges')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('purpose', 'text', (c) => c.notNull())
    .addColumn('person_id', 'text')
    .addColumn('data', 'text', (c) => c.notNull())
    .addColumn('expires_at', 'text', (c) => c.notNull())
    .execute();

  /** Single sign-on per organisation (OpenID Connect), and what the organisation requires. */
  await db.schema
    .createTable('org_sign_in')
    .addColumn('org_id', 'text', (c) => c.primaryKey().references('organizations.id').onDelete('cascade'))
    /** `any`, `second-factor` (passkey, TOTP or single sign-on) or `passkey`. */
    .addColumn('require', 'text', (c) => c.notNull().defaultTo('any'))
    .addColumn('oidc_issuer', 'text')
    .addColumn('oidc_client_id', 'text')
    .addColumn('oidc_client_secret_sealed', 'text')
    .addColumn('oidc_groups_claim', 'text')
    /** JSON object: group name → array of org roles. */
    .addColumn('oidc_group_roles', 'text')
    .addColumn('updated_at', 'text', (c) => c.notNull())
    .execute();

  await db.schema.alterTable('api_tokens').addColumn('person_id', 'text').execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('api_tokens').dropColumn('person_id').execute();
  for (const table of [
    'org_sign_in',
    'sign_in_challenges',
    'passkeys',
    'recovery_codes',
    'sessions',
    'invitations',
    'memberships',
    'people',
  ]) {
    await db.schema.dropTable(table).execute();
  }
}
