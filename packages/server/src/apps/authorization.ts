import { createHash, randomBytes } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { AuditLog } from '../audit/service.js';
import type { Clock } from '../clock.js';
import { notFound } from '../errors.js';
import { newId } from '../ids.js';
import type { Database } from '../store/schema.js';
import { inTransaction } from '../store/transaction.js';
import { OAuthError, type OAuthErrorCode } from './oauth-error.js';
import { type AppRegistry, type Client, isLoopback } from './registry.js';
import { type AppScope, covers, joinScopes, parseScopeParameter, sortScopes, splitScopes } from './scopes.js';

/** An authorization code is good for this long, and once (OAuth 2.1 §4.1.2: short-lived). */
export const CODE_SECONDS = 300;

export const sha256 = (text: string): string => createHash('sha256').update(text).digest('hex');
export const hashCode = (code: string): string => sha256(`oauth-code:${code}`);

/** RFC 7636 §4.2: BASE64URL(SHA256(ASCII(code_verifier))), 43 characters. */
export const s256 = (verifier: string): string => createHash('sha256').update(verifier).digest('base64url');
const CHALLENGE = /^[A-Za-z0-9_-]{43}$/;

/** An authorization request that passed every check, ready for consent. */
export interface AuthorizationRequest {
  client: Client;
  /** The redirect URI to answer at (the one registered, with the loopback port of the request). */
  redirectUri: string;
  /** Whether the request named redirect_uri: then the token request must name the same (RFC 6749 §4.1.3). */
  redirectUriGiven: boolean;
  scopes: AppScope[];
  state: string | null;
  codeChallenge: string;
}

/** A failure before the redirect URI is trusted: shown to the owner, never sent to a redirect (RFC 6749 §4.1.2.1). */
export class UntrustedRedirect extends Error {}

/** An owner's grant to an app: remembered consent, with the tokens issued under it. */
export interface GrantView {
  id: string;
  app: { id: string; name: string };
  scopes: AppScope[];
  createdAt: string;
  updatedAt: string;
}

/** Whether two redirect URIs match: exactly, except the port of a loopback one (RFC 8252 §7.3). */
function redirectMatches(registered: string, presented: string): boolean {
  if (registered === presented) return true;
  let a: URL;
  let b: URL;
  try {
    a = new URL(registered);
    b = new URL(presented);
  } catch {
    return false;
  }
  if (!isLoopback(a) || !isLoopback(b)) return false;
  return (
    a.hostname === b.hostname &&
    a.pathname === b.pathname &&
    a.search === b.search &&
    b.hash === '' &&
    b.username === '' &&
    b.password === ''
  );
}

/**
 * The authorization endpoint's side of the app API (OAuth 2.1 §4.1, issue 18 §2): checks an
 * authorization request, remembers an owner's consent per app, and issues single-use codes bound
 * to a PKCE challenge (S256 only) and a redirect URI.
 */
export class AuthorizationService {
  readonly #db: Kysely<Database>;
  readonly #clock: Clock;
  readonly #audit: AuditLog;
  readonly #apps: AppRegistry;

  constructor(deps: { db: Kysely<Database>; clock: Clock; audit: AuditLog; apps: AppRegistry }) {
    this.#db = deps.db;
    this.#clock = deps.clock;
    this.#audit = deps.audit;
    this.#apps = deps.apps;
  }

  /**
   * Checks an authorization request. Until client and redirect URI are known good it throws
   * UntrustedRedirect (the owner sees the error; an attacker's URI gets nothing, RFC 9700 §4.1);
   * after that an OAuthError, which goes back to the app's redirect URI.
   */
  async check(params: Record<string, string>): Promise<AuthorizationRequest> {
    const clientId = params.client_id;
    if (!clientId) throw new UntrustedRedirect('the request names no app (client_id is missing)');
    const client = await this.#apps.client(clientId);
    if (!client) throw new UntrustedRedirect('no app is registered with this client_id');
    let redirectUri: string;
    const given = params.redirect_uri;
    if (given !== undefined) {
      if (!client.redirectUris.some((r) => redirectMatches(r, given)))
        throw new UntrustedRedirect(
          'the redirect_uri is not one the app registered (they must match exactly)',
        );
      redirectUri = given;
    } else {
      // OAuth 2.1 §4.1.1: optional only when exactly one is registered.
      if (client.redirectUris.length !== 1 || !client.redirectUris[0])
        throw new UntrustedRedirect('the app registered several redirect URIs: the request must name one');
      redirectUri = client.redirectUris[0];
    }
    const base = { client, redirectUri, redirectUriGiven: given !== undefined, state: params.state ?? null };
    // From here on the redirect URI is the app's own: errors go back to it (RFC 6749 §4.1.2.1).
    const fail = (code: OAuthErrorCode, description: string) =>
      Object.assign(new OAuthError(code, description), { redirect: base });
    if (params.response_type !== 'code')
      throw fail('unsupported_response_type', 'only response_type=code is supported (OAuth 2.1)');
    const challenge = params.code_challenge;
    if (!challenge) throw fail('invalid_request', 'PKCE is required: send code_challenge (S256)');
    // RFC 7636 §4.3 defaults to plain, which OAuth 2.1 and RFC 9700 §2.1.1 advise against: S256 only.
    if (params.code_challenge_method !== 'S256')
      throw fail('invalid_request', 'code_challenge_method must be S256 (plain is not accepted)');
    if (!CHALLENGE.test(challenge))
      throw fail('invalid_request', 'code_challenge must be 43 characters of base64url (S256)');
    let scopes: AppScope[];
    if (params.scope === undefined) scopes = client.scopes;
    else {
      const parsed = parseScopeParameter(params.scope);
      if (!parsed) throw fail('invalid_scope', 'the scope names an unknown scope');
      scopes = parsed;
    }
    if (!covers(client.scopes, scopes))
      throw fail('invalid_scope', `this app may ask for ${joinScopes(client.scopes)} only`);
    return { ...base, scopes, codeChallenge: challenge };
  }

  /**
   * Whether the owner already consented to these scopes for this app and need not be asked
   * again. Only for a web app's https redirect: a native app's loopback or private-use scheme
   * can be claimed by another app on the device, so it is asked every time (RFC 8252 §8.6).
   */
  async remembered(ownerId: string, request: AuthorizationRequest): Promise<boolean> {
    if (!request.redirectUri.startsWith('https://')) return false;
    const grant = await this.#grantRow(ownerId, request.client.id);
    return grant !== undefined && covers(splitScopes(grant.scopes), request.scopes);
  }

  /**
   * The owner allowed the request: the grant (remembered consent) takes in its scopes, and a code
   * bound to the challenge and redirect URI is issued. Returns the code, shown once.
   */
  async approve(ownerId: string, request: AuthorizationRequest): Promise<string> {
    const now = this.#clock.now();
    const at = now.toISOString();
    const code = randomBytes(32).toString('base64url');
    await inTransaction(this.#db, async (trx) => {
      const existing = await trx
        .selectFrom('oauth_grants')
        .selectAll()
        .where('owner_id', '=', ownerId)
        .where('app_id', '=', request.client.id)
        .executeTakeFirst();
      let grantId: string;
      const before = existing ? splitScopes(existing.scopes) : [];
      const after = sortScopes([...new Set([...before, ...request.scopes])]);
      if (existing) {
        grantId = existing.id;
        if (after.length !== before.length)
          await trx
            .updateTable('oauth_grants')
            .set({ scopes: joinScopes(after), updated_at: at })
            .where('id', '=', grantId)
            .execute();
      } else {
        grantId = newId('grt', now);
        await trx
          .insertInto('oauth_grants')
          .values({
            id: grantId,
            app_id: request.client.id,
            owner_id: ownerId,
            org_id: request.client.orgId,
            scopes: joinScopes(after),
            created_at: at,
            updated_at: at,
          })
          .execute();
      }
      if (after.length !== before.length)
        await this.#audit.append(trx, request.client.orgId, {
          actor: `owner:${ownerId}`,
          action: 'app.grant',
          targetType: 'app',
          targetId: request.client.id,
          details: { grant: grantId, owner: ownerId, scopes: after },
        });
      await trx
        .insertInto('oauth_codes')
        .values({
          code_hash: hashCode(code),
          grant_id: grantId,
          family_id: randomBytes(12).toString('hex'),
          redirect_uri: request.redirectUriGiven ? request.redirectUri : '',
          scopes: joinScopes(request.scopes),
          code_challenge: request.codeChallenge,
          created_at: at,
          expires_at: new Date(now.getTime() + CODE_SECONDS * 1000).toISOString(),
          used_at: null,
        })
        .execute();
    });
    return code;
  }

  /** The owner's grants to apps, newest first. */
  async grants(ownerId: string): Promise<GrantView[]> {
    const rows = await this.#db
      .selectFrom('oauth_grants')
      .innerJoin('oauth_apps', 'oauth_apps.id', 'oauth_grants.app_id')
      .select([
        'oauth_grants.id',
        'oauth_grants.scopes',
        'oauth_grants.created_at',
        'oauth_grants.updated_at',
        'oauth_apps.id as app_id',
        'oauth_apps.name as app_name',
      ])
      .where('oauth_grants.owner_id', '=', ownerId)
      .orderBy('oauth_grants.id', 'desc')
      .execute();
    return rows.map((r) => ({
      id: r.id,
      app: { id: r.app_id, name: r.app_name },
      scopes: splitScopes(r.scopes),
      createdAt: r.created_at,
      updatedAt: r.updated_at,
    }));
  }

  /** The owner takes a grant back: its codes and tokens end with it, and the app must ask again. */
  async revokeGrant(ownerId: string, grantId: string): Promise<void> {
    await inTransaction(this.#db, async (trx) => {
      const grant = await trx
        .selectFrom('oauth_grants')
        .selectAll()
        .where('owner_id', '=', ownerId)
        .where('id', '=', grantId)
        .executeTakeFirst();
      if (!grant) throw notFound('grant', grantId);
      await trx.deleteFrom('oauth_grants').where('id', '=', grantId).execute();
      await this.#audit.append(trx, grant.org_id, {
        actor: `owner:${ownerId}`,
        action: 'app.grant-revoke',
        targetType: 'app',
        targetId: grant.app_id,
        details: { grant: grantId, owner: ownerId },
      });
    });
  }

  async #grantRow(ownerId: string, appId: string) {
    return this.#db
      .selectFrom('oauth_grants')
      .selectAll()
      .where('owner_id', '=', ownerId)
      .where('app_id', '=', appId)
      .executeTakeFirst();
  }
}
