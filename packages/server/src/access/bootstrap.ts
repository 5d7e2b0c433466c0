import type { Services } from '../services.js';

/**
 * The first admin token. There is no default password or token (ETSI EN 303 645 5.1-1): on the
 * first start, when no platform token has ever existed, one is created and returned so that the
 * caller prints it once. Later starts return null, even if every token was revoked since; then
 * `brickless admin token create` on the server's machine makes a new one.
 */
export async function bootstrapFirstAdmin({
  store,
  tokens,
}: Pick<Services, 'store' | 'tokens'>): Promise<string | null> {
  const existing = await store.db
    .selectFrom('api_tokens')
    .select('id')
    .where('org_id', 'is', null)
    .limit(1)
    .executeTakeFirst();
  if (existing) return null;
  const { token } = await tokens.create('system:first-start', {
    orgId: null,
    role: 'platform-admin',
    name: 'first admin (printed at first start)',
  });
  return token;
}
