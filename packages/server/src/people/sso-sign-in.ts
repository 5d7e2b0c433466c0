import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Kysely } from 'kysely';
import * as oidc from 'openid-client';
import type { OrgRole } from '../access/roles.js';
import type { AuditLog } from '../audit/service.js';
import type { Clock } from '../clock.js';
import { DomainError } from '../errors.js';
import type { OrganizationService } from '../fleet/organizations.js';
import { RateLimiter } from '../gateway/rate-limit.js';
import type { Database } from '../store/schema.js';
import { type Executor, inTransaction } from '../store/transaction.js';
import { emailKey, type PeopleService, parseRoles, rolesFromColumn } from './service.js';
import type { SsoClient, SsoConfigService } from './sso-config.js';

/**
 * Binds a sign-in to the browser that started it, so that a callback link made by someone else
 * (login CSRF, RFC 9700 §4.7) does not sign this browser in. SameSite=Lax: the provider's redirect
 * back is a top-level GET from another site, which Strict would strip.
 */
export const SSO_BINDING_COOKIE = '__Host-brickless-sso';
export const SSO_CHALLENGE_MINUTES = 10;
const PURPOSE = 'oidc';
const MAX_GROUPS_READ = 1000;

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

interface ChallengeData {
  orgId: string;
  verifier: string;
  nonce: string;
  redirectUri: string;
  binding: string;
}

const refused = (message: string) => new DomainError('unauthenticated', message);

/**
 * Single sign-on with OpenID Connect, authorization code flow with PKCE (issue 16 §3; OpenID
 * Connect Core 1.0 §3.1, RFC 7636, RFC 9700 §2.1.1): state, nonce and the code verifier are kept
 * server-side for ten minutes and used once. The provider's groups decide the person's roles in
 * that organisation at every sign-in.
 */
export class SsoSignInService {
  readonly #db: Kysely<Database>;
  readonly #clock: Clock;
  readonly #audit: AuditLog;
  readonly #people: PeopleService;
  readonly #config: SsoConfigService;
  readonly #orgs: OrganizationService;
  /** Each start stores a challenge for ten minutes: 30 at once per address, then one every 6 s. */
  readonly #starts: RateLimiter;

  constructor(deps: {
    db: Kysely<Database>;
    clock: Clock;
    audit: AuditLog;
    people: PeopleService;
    ssoConfig: SsoConfigService;
    orgs: OrganizationService;
  }) {
    this.#db = deps.db;
    this.#clock = deps.clock;
    this.#audit = deps.audit;
    this.#people = deps.people;
    this.#config = deps.ssoConfig;
    this.#orgs = deps.orgs;
    this.#starts = new RateLimiter({ rate: 1 / 6, burst: 30, now: () => this.#clock.now().getTime() });
  }

  /** The provider's authorization URL for this organisation, and the browser binding to set as a cookie. */
  async start(orgRef: string, redirectUri: string, ip: string): Promise<{ url: string; binding: string }> {
    if (!this.#starts.take(ip))
      throw new DomainError('rate-limited', 'too many sign-ins started from this address: wait a minute');
    // One answer for an unknown organisation and one without single sign-on: a public route.
    const org = await this.#orgs.find(orgRef);
    const client = org
      ? await this.#config.client(org.id).catch((error: unknown) => {
          if (error instanceof DomainError && error.code === 'not-found') return null;
          throw error;
        })
      : null;
    if (!org || !client)
      throw new DomainError('not-found', `no single sign-on for ${JSON.stringify(orgRef)}`);
    const verifier = oidc.randomPKCECodeVerifier();
    const state = oidc.randomState();
    const nonce = oidc.randomNonce();
    const binding = randomBytes(32).toString('base64url');
    const now = this.#clock.now();
    const data: ChallengeData = { orgId: org.id, verifier, nonce, redirectUri, binding: sha256(binding) };
    await this.#db.deleteFrom('sign_in_challenges').where('expires_at', '<', now.toISOString()).execute();
    await this.#db
      .insertInto('sign_in_challenges')
      .values({
        id: sha256(state),
        purpose: PURPOSE,
        person_id: null,
        data: JSON.stringify(data),
        expires_at: new Date(now.getTime() + SSO_CHALLENGE_MINUTES * 60_000).toISOString(),
      })
      .execute();
    const url = oidc.buildAuthorizationUrl(client.config, {
      redirect_uri: redirectUri,
      scope: client.settings.scopes.join(' '),
      code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
      state,
      nonce,
    });
    return { url: url.href, binding };
  }

  /**
   * The provider sent the browser back. `query` is the callback's raw query string. Returns the
   * person to open a session for, with their roles in the organisation set from their groups.
   */
  async callback(query: string, binding: string | undefined, ip: string): Promise<{ personId: string }> {
    const params = new URLSearchParams(query);
    const state = params.get('state');
    if (!state) throw refused('the answer of the identity provider has no state: start the sign-in again');
    const challenge = await this.#takeChallenge(state);
    if (!binding || !sameHash(sha256(binding), challenge.binding))
      throw refused('this sign-in was started in another browser: start it again here');
    const client = await this.#config.client(challenge.orgId);
    if (params.has('error'))
      throw refused(
        `the identity provider refused the sign-in: ${clip(params.get('error'))} ${clip(params.get('error_description'))}`.trim(),
      );
    const claims = await this.#verifiedClaims(client, challenge, state, query, ip);
    const roles = this.#mapGroups(client, claims.groups);
    if (roles.length === 0) {
      await this.#failed(client.orgId, claims.email, ip, 'no mapped group', {
        groups: claims.groups.slice(0, 20),
      });
      throw new DomainError(
        'forbidden',
        `none of your groups at the identity provider gives a role in this organisation (groups: ${claims.groups.slice(0, 10).join(', ') || 'none'}); ask its admin to map one`,
      );
    }
    const personId = await inTransaction(this.#db, (trx) => this.#applyRoles(trx, client, claims, roles));
    return { personId };
  }

  async #takeChallenge(state: string): Promise<ChallengeData> {
    const id = sha256(state);
    const row = await this.#db
      .selectFrom('sign_in_challenges')
      .selectAll()
      .where('id', '=', id)
      .where('purpose', '=', PURPOSE)
      .executeTakeFirst();
    // Used once: only the request that deletes the row goes on (two racing callbacks, one wins).
    const deleted = row
      ? await this.#db.deleteFrom('sign_in_challenges').where('id', '=', id).executeTakeFirst()
      : undefined;
    if (
      !row ||
      Number(deleted?.numDeletedRows ?? 0) !== 1 ||
      row.expires_at <= this.#clock.now().toISOString()
    )
      throw refused('this sign-in is unknown, used or expired: start it again');
    return JSON.parse(row.data) as ChallengeData;
  }

  /** Code exchange (PKCE verifier, state, `iss`), ID token signature, audience, expiry and nonce. */
  async #verifiedClaims(
    client: SsoClient,
    challenge: ChallengeData,
    state: string,
    query: string,
    ip: string,
  ): Promise<{ email: string; groups: string[]; name: string | null; subject: string }> {
    const current = new URL(challenge.redirectUri);
    current.search = query;
    let claims: Record<string, unknown>;
    try {
      const tokens = await oidc.authorizationCodeGrant(client.config, current, {
        pkceCodeVerifier: challenge.verifier,
        expectedState: state,
        expectedNonce: challenge.nonce,
        idTokenExpected: true,
      });
      claims = { ...(tokens.claims() ?? {}) };
      const { groupsClaim } = client.settings;
      // Providers that follow OpenID Connect Core §5.4 put scope claims in userinfo, not the ID token.
      if (
        (claims.email === undefined || claims[groupsClaim] === undefined) &&
        client.config.serverMetadata().userinfo_endpoint
      ) {
        const info = await oidc.fetchUserInfo(client.config, tokens.access_token, String(claims.sub));
        for (const [key, value] of Object.entries(info)) if (claims[key] === undefined) claims[key] = value;
      }
    } catch (error) {
      const reason = explain(error);
      await this.#failed(client.orgId, null, ip, 'verification', { reason: reason.slice(0, 200) });
      throw refused(`the answer of the identity provider did not verify: ${reason}`);
    }
    if (typeof claims.email !== 'string')
      throw refused('the identity provider sent no e-mail address (ask for the email scope)');
    // The e-mail address links the provider's account to a person: only a verified one may.
    if (claims.email_verified !== undefined && claims.email_verified !== true)
      throw refused(`the identity provider has not verified the e-mail address ${claims.email}`);
    const raw = claims[client.settings.groupsClaim];
    const groups = (Array.isArray(raw) ? raw : typeof raw === 'string' ? [raw] : [])
      .filter((g): g is string => typeof g === 'string')
      .slice(0, MAX_GROUPS_READ);
    return {
      email: claims.email,
      groups,
      name: displayName(claims.name),
      subject: String(claims.sub),
    };
  }

  #mapGroups(client: SsoClient, groups: string[]): OrgRole[] {
    const roles = new Set<OrgRole>();
    for (const group of groups)
      if (Object.hasOwn(client.settings.groupRoles, group))
        for (const role of client.settings.groupRoles[group] ?? []) roles.add(role);
    return roles.size === 0 ? [] : parseRoles([...roles]);
  }

  /**
   * A new e-mail address becomes a person; an existing person gets exactly the mapped roles in this
   * organisation (the provider is the source of truth there). The provider of one organisation
   * never signs in a person whose account reaches further (platform admin, other organisations):
   * otherwise whoever runs that provider could take over accounts it does not own.
   */
  async #applyRoles(
    trx: Executor,
    client: SsoClient,
    claims: { email: string; name: string | null; subject: string },
    roles: OrgRole[],
  ): Promise<string> {
    const actor = `oidc:${client.settings.issuer}`;
    const email = emailKey(claims.email);
    const person = await trx.selectFrom('people').selectAll().where('email', '=', email).executeTakeFirst();
    if (!person) {
      const id = await this.#people.create(trx, actor, {
        email,
        displayName: claims.name ?? email,
        platformAdmin: false,
      });
      await this.#people.grant(trx, actor, id, client.orgId, roles);
      return id;
    }
    if (person.disabled_at !== null) throw refused('this account is disabled');
    const memberships = await trx
      .selectFrom('memberships')
      .selectAll()
      .where('person_id', '=', person.id)
      .execute();
    if (person.platform_admin === 1 || memberships.some((m) => m.org_id !== client.orgId))
      throw new DomainError(
        'forbidden',
        "your account reaches beyond this organisation's single sign-on (platform admin or other organisations): sign in with your passkey or password",
      );
    const current = memberships[0];
    if (!current) {
      await this.#people.grant(trx, actor, person.id, client.orgId, roles);
      return person.id;
    }
    const previous = rolesFromColumn(current.roles);
    if (previous.join(',') !== roles.join(',')) {
      await trx
        .updateTable('memberships')
        .set({ roles: roles.join(','), updated_at: this.#clock.now().toISOString() })
        .where('person_id', '=', person.id)
        .where('org_id', '=', client.orgId)
        .execute();
      await this.#audit.append(trx, client.orgId, {
        actor,
        action: 'person.roles',
        targetType: 'person',
        targetId: person.id,
        details: { email, roles, previous, source: 'oidc' },
      });
    }
    return person.id;
  }

  async #failed(orgId: string, email: string | null, ip: string, why: string, extra: object): Promise<void> {
    await inTransaction(this.#db, (trx) =>
      this.#audit.append(trx, orgId, {
        actor: `sign-in:${ip}`,
        action: 'person.sign-in-failed',
        targetType: 'person',
        targetId: email ?? 'unknown',
        details: { factor: 'oidc', why, ...extra },
      }),
    );
  }
}

function sameHash(a: string, b: string): boolean {
  return a.length === b.length && timingSafeEqual(Buffer.from(a), Buffer.from(b));
}

/** The provider's `name` claim as a display name: printable, trimmed, at most 200 characters. */
function displayName(name: unknown): string | null {
  if (typeof name !== 'string') return null;
  const clean = name
    .replace(/\p{Cc}/gu, ' ')
    .trim()
    .slice(0, 200);
  return clean || null;
}

/** openid-client wraps the precise reason (which claim, which check) in `cause`. */
function explain(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const cause = error.cause instanceof Error ? error.cause.message : null;
  return cause && cause !== error.message ? `${error.message} (${cause})` : error.message;
}

/** Text from the provider shown back to the person: short, printable. */
const clip = (text: string | null) => (text ?? '').replace(/[^\x20-\x7e]/g, '?').slice(0, 200);
