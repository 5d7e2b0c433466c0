import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { AuditLog } from '../audit/service.js';
import type { Clock } from '../clock.js';
import type { Attempts, Limit } from '../owners/attempts.js';
import type { Database } from '../store/schema.js';
import { type Executor, inTransaction } from '../store/transaction.js';
import { hashCode, s256, sha256 } from './authorization.js';
import { OAuthError } from './oauth-error.js';
import type { Client } from './registry.js';
import { type AppScope, covers, joinScopes, parseScopeParameter, splitScopes } from './scopes.js';

/** Access tokens are short-lived (RFC 9700 §2.2.2); the app refreshes them. */
export const ACCESS_SECONDS = 900;
/** A refresh token is good for 30 days after it was issued, once (rotation, RFC 9700 §4.14.2). */
export const REFRESH_SECONDS = 30 * 86_400;

/** Opaque, prefixed so that a leaked one is recognised by secret scanners (and by our own routing). */
export const ACCESS_PREFIX = 'bat_';
const REFRESH_PREFIX = 'brt_';
const hashToken = (token: string) => sha256(`oauth-token:${token}`);
/** RFC 7636 §4.1: 43 to 128 characters of [A-Z] / [a-z] / [0-9] / "-" / "." / "_" / "~". */
const VERIFIER = /^[A-Za-z0-9._~-]{43,128}$/;

export interface TokenResponse {
  access_token: string;
  token_type: 'Bearer';
  expires_in: number;
  refresh_token: string;
  scope: string;
}

/** What an access token lets its bearer do: act for this owner, through this app, in this organisation. */
export interface AppAccess {
  ownerId: string;
  appId: string;
  orgId: string;
  grantId: string;
  scopes: AppScope[];
}

/** Failed token and revocation requests per client address (a wrong code, token or secret). */
export const TOKEN_FAILURE_LIMIT = { kind: 'oauth-token-ip', max: 20, windowMs: 600_000 } satisfies Limit;

const invalidGrant = (why: string) => new OAuthError('invalid_grant', why);

/**
 * The token endpoint's side of the app API: codes for tokens (single use, PKCE), refresh with
 * rotation and reuse detection, revocation (RFC 7009), and the access token check of every app
 * API request. Tokens are opaque random strings; only their SHA-256 is stored.
 */
export class AppTokenService {
  readonly #db: Kysely<Database>;
  readonly #clock: Clock;
  readonly #audit: AuditLog;
  readonly #attempts: Attempts;

  constructor(deps: { db: Kysely<Database>; clock: Clock; audit: AuditLog; attempts: Attempts }) {
    this.#db = deps.db;
    this.#clock = deps.clock;
    this.#audit = deps.audit;
    this.#attempts = deps.attempts;
  }

  /** 429 for an address that failed too often lately (RFC 9700 §4.7: guessing codes and secrets). */
  async checkFailures(ip: string): Promise<void> {
    await this.#attempts.check(TOKEN_FAILURE_LIMIT, ip, 'failed token requests from this address');
  }

  async recordFailure(ip: string): Promise<void> {
    await this.#attempts.record(TOKEN_FAILURE_LIMIT, ip);
  }

  /** grant_type=authorization_code (OAuth 2.1 §4.1.3). */
  async exchangeCode(client: Client, params: Record<string, string>): Promise<TokenResponse> {
    const { code, code_verifier: verifier } = params;
    if (!code) throw new OAuthError('invalid_request', 'send the code');
    if (!verifier) throw new OAuthError('invalid_request', 'send the code_verifier (PKCE)');
    if (!VERIFIER.test(verifier))
      throw new OAuthError('invalid_request', 'code_verifier must be 43 to 128 unreserved characters');
    const now = this.#clock.now();
    const at = now.toISOString();
    const row = await this.#db
      .selectFrom('oauth_codes')
      .innerJoin('oauth_grants', 'oauth_grants.id', 'oauth_codes.grant_id')
      .selectAll('oauth_codes')
      .select(['oauth_grants.app_id', 'oauth_grants.org_id', 'oauth_grants.scopes as grant_scopes'])
      .where('oauth_codes.code_hash', '=', hashCode(code))
      .executeTakeFirst();
    if (!row || row.app_id !== client.id)
      throw invalidGrant('the code is unknown, or was issued to another app');
    if (row.used_at !== null) {
      // OAuth 2.1 §4.1.3: a code used twice was stolen; what was issued from it is revoked.
      await this.#revokeFamily(row.family_id, row.org_id, row.app_id, row.grant_id, 'code');
      throw invalidGrant('the code was used already; the tokens issued from it are revoked');
    }
    if (row.expires_at <= at) throw invalidGrant('the code has expired: start the authorization again');
    if (row.redirect_uri !== '' && params.redirect_uri !== row.redirect_uri)
      throw invalidGrant('redirect_uri differs from the one in the authorization request');
    const expected = Buffer.from(row.code_challenge);
    const actual = Buffer.from(s256(verifier));
    if (expected.length !== actual.length || !timingSafeEqual(expected, actual))
      throw invalidGrant('the code_verifier does not match the code_challenge');
    const scopes = splitScopes(row.scopes).filter((s) => splitScopes(row.grant_scopes).includes(s));
    return inTransaction(this.#db, async (trx) => {
      // Checking and using the code is one statement: two racing exchanges cannot both win.
      const used = await trx
        .updateTable('oauth_codes')
        .set({ used_at: at })
        .where('code_hash', '=', row.code_hash)
        .where('used_at', 'is', null)
        .executeTakeFirst();
      if (Number(used.numUpdatedRows) !== 1) throw invalidGrant('the code was used already');
      return this.#issue(trx, row.grant_id, row.family_id, scopes);
    });
  }

  /** grant_type=refresh_token (OAuth 2.1 §4.3), with rotation: the presented token ends now. */
  async refresh(client: Client, params: Record<string, string>): Promise<TokenResponse> {
    const token = params.refresh_token;
    if (!token) throw new OAuthError('invalid_request', 'send the refresh_token');
    const at = this.#clock.now().toISOString();
    const row = await this.#tokenRow(token);
    if (row?.kind !== 'refresh' || row.app_id !== client.id)
      throw invalidGrant('the refresh token is unknown, or was issued to another app');
    if (row.revoked_at !== null) throw invalidGrant('the refresh token was revoked');
    if (row.rotated_at !== null) {
      // RFC 9700 §4.14.2: a rotated refresh token presented again means one of two parties stole
      // it; the whole family ends, so the thief's copy dies with the app's.
      await this.#revokeFamily(row.family_id, row.org_id, row.app_id, row.grant_id, 'refresh');
      throw invalidGrant('the refresh token was used already; every token of this sign-in is revoked');
    }
    if (row.expires_at <= at) throw invalidGrant('the refresh token has expired: authorize again');
    let scopes = splitScopes(row.scopes).filter((s) => splitScopes(row.grant_scopes).includes(s));
    if (params.scope !== undefined) {
      const asked = parseScopeParameter(params.scope);
      // RFC 6749 §6: a refresh may narrow the scope, never widen it.
      if (!asked || !covers(scopes, asked))
        throw new OAuthError('invalid_scope', `the refresh token covers ${joinScopes(scopes)} only`);
      scopes = asked;
    }
    if (scopes.length === 0) throw invalidGrant('the owner withdrew every scope of this token');
    return inTransaction(this.#db, async (trx) => {
      const rotated = await trx
        .updateTable('oauth_tokens')
        .set({ rotated_at: at })
        .where('token_hash', '=', row.token_hash)
        .where('rotated_at', 'is', null)
        .executeTakeFirst();
      if (Number(rotated.numUpdatedRows) !== 1) throw invalidGrant('the refresh token was used already');
      return this.#issue(trx, row.grant_id, row.family_id, scopes);
    });
  }

  /**
   * RFC 7009 §2.1: a refresh token ends with every token of its family; an access token alone.
   * An unknown token, or one of another app, changes nothing and still answers 200 (§2.2): the
   * revoking app learns nothing about tokens it does not hold.
   */
  async revoke(client: Client, params: Record<string, string>): Promise<void> {
    const token = params.token;
    if (!token) throw new OAuthError('invalid_request', 'send the token to revoke');
    const row = await this.#tokenRow(token);
    if (!row || row.app_id !== client.id) return;
    if (row.kind === 'refresh') {
      await this.#revokeFamily(row.family_id, row.org_id, row.app_id, row.grant_id, null);
      return;
    }
    await this.#db
      .updateTable('oauth_tokens')
      .set({ revoked_at: this.#clock.now().toISOString() })
      .where('token_hash', '=', row.token_hash)
      .where('revoked_at', 'is', null)
      .execute();
  }

  /**
   * The access token of an app API request: live, of a grant that still stands, with the scopes
   * both the token and the grant hold (an owner or maker who narrowed them narrowed the token too).
   */
  async authenticate(token: string): Promise<AppAccess | null> {
    if (!token.startsWith(ACCESS_PREFIX) || token.length > 100) return null;
    const row = await this.#tokenRow(token);
    if (row?.kind !== 'access' || row.revoked_at !== null) return null;
    if (row.expires_at <= this.#clock.now().toISOString()) return null;
    const granted = splitScopes(row.grant_scopes);
    return {
      ownerId: row.owner_id,
      appId: row.app_id,
      orgId: row.org_id,
      grantId: row.grant_id,
      scopes: splitScopes(row.scopes).filter((s) => granted.includes(s)),
    };
  }

  /** Deletes codes and tokens that ended more than a day ago. */
  async prune(): Promise<number> {
    const cutoff = new Date(this.#clock.now().getTime() - 86_400_000).toISOString();
    const codes = await this.#db
      .deleteFrom('oauth_codes')
      .where('expires_at', '<', cutoff)
      .executeTakeFirst();
    const tokens = await this.#db
      .deleteFrom('oauth_tokens')
      .where('expires_at', '<', cutoff)
      .executeTakeFirst();
    return Number(codes.numDeletedRows) + Number(tokens.numDeletedRows);
  }

  async #tokenRow(token: string) {
    if (token.length > 200) return undefined;
    return this.#db
      .selectFrom('oauth_tokens')
      .innerJoin('oauth_grants', 'oauth_grants.id', 'oauth_tokens.grant_id')
      .selectAll('oauth_tokens')
      .select([
        'oauth_grants.app_id',
        'oauth_grants.org_id',
        'oauth_grants.owner_id',
        'oauth_grants.scopes as grant_scopes',
      ])
      .where('oauth_tokens.token_hash', '=', hashToken(token))
      .executeTakeFirst();
  }

  async #issue(trx: Executor, grantId: string, familyId: string, scopes: AppScope[]): Promise<TokenResponse> {
    const now = this.#clock.now();
    const access = `${ACCESS_PREFIX}${randomBytes(32).toString('base64url')}`;
    const refresh = `${REFRESH_PREFIX}${randomBytes(32).toString('base64url')}`;
    const common = {
      grant_id: grantId,
      family_id: familyId,
      scopes: joinScopes(scopes),
      created_at: now.toISOString(),
    };
    await trx
      .insertInto('oauth_tokens')
      .values([
        {
          ...common,
          token_hash: hashToken(access),
          kind: 'access',
          expires_at: new Date(now.getTime() + ACCESS_SECONDS * 1000).toISOString(),
          rotated_at: null,
          revoked_at: null,
        },
        {
          ...common,
          token_hash: hashToken(refresh),
          kind: 'refresh',
          expires_at: new Date(now.getTime() + REFRESH_SECONDS * 1000).toISOString(),
          rotated_at: null,
          revoked_at: null,
        },
      ])
      .execute();
    return {
      access_token: access,
      token_type: 'Bearer',
      expires_in: ACCESS_SECONDS,
      refresh_token: refresh,
      scope: joinScopes(scopes),
    };
  }

  /** Ends every token of a family; audited when a reused code or refresh token was the reason. */
  async #revokeFamily(
    familyId: string,
    orgId: string,
    appId: string,
    grantId: string,
    reused: 'code' | 'refresh' | null,
  ): Promise<void> {
    await inTransaction(this.#db, async (trx) => {
      await trx
        .updateTable('oauth_tokens')
        .set({ revoked_at: this.#clock.now().toISOString() })
        .where('family_id', '=', familyId)
        .where('revoked_at', 'is', null)
        .execute();
      if (reused)
        await this.#audit.append(trx, orgId, {
          actor: `app:${appId}`,
          action: 'app.token-reuse',
          targetType: 'app',
          targetId: appId,
          details: { grant: grantId, reused },
        });
    });
  }
}
