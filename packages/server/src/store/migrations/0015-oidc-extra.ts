import type { Kysely } from 'kysely';

/**
 * Single sign-on (issue 16 §3): the scopes brickless asks the identity provider for. Providers
 * differ in which scope releases the groups claim (Okta `groups`, others none), so the
 * organisation names them; null means `openid email profile`.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('org_sign_in').addColumn('oidc_scopes', 'text').execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('org_sign_in').dropColumn('oidc_scopes').execute();
}
