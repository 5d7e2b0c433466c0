import type { Kysely } from 'kysely';
import * as oidc from 'openid-client';
import type { OrgRole } from '../access/roles.js';
import type { AuditLog } from '../audit/service.js';
import type { Clock } from '../clock.js';
import { invalid, notFound } from '../errors.js';
import type { SecretBox } from '../secrets/master-key.js';
import type { Database } from '../store/schema.js';
import { inTransaction } from '../store/transaction.js';
import { parseRoles } from './service.js';

/** What an organisation's single sign-on looks like to the API: never the client secret. */
export interface SsoSettings {
  issuer: string;
  clientId: string;
  groupsClaim: string;
  /** Group name → the organisation's roles a member of that group gets. */
  groupRoles: Record<string, OrgRole[]>;
  scopes: string[];
  updatedAt: string;
}

export interface SsoInput {
  issuer: string;
  clientId: string;
  /** Required the first time; left out later, the sealed one is kept. */
  clientSecret?: string;
  groupsClaim?: string;
  groupRoles: Record<string, string[]>;
  scopes?: string[];
}

export const DEFAULT_SCOPES = ['openid', 'email', 'profile'];
export const DEFAULT_GROUPS_CLAIM = 'groups';
const MAX_GROUPS = 200;
/** How long a discovered provider configuration (endpoints, keys) is reused before it is fetched again. */
const DISCOVERY_TTL_MS = 60 * 60_000;
const DISCOVERY_TIMEOUT_S = 10;
const LOOPBACK = new Set(['127.0.0.1', 'localhost', '[::1]']);
const secretPurpose = (orgId: string) => `oidc-client-secret:${orgId}`;

/**
 * The issuer must be https (OpenID Connect Discovery 1.0 §3 and RFC 9700 §2.6: the discovery
 * document and the keys that verify ID tokens are trusted because of TLS); plain http only for a
 * provider on this machine's loopback (tests, a local development IdP).
 */
export function parseIssuer(text: string): URL {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw invalid('/issuer', 'is not a URL');
  }
  if (url.search || url.hash || url.username || url.password)
    throw invalid('/issuer', 'an issuer has no query, fragment or credentials (OpenID Connect Discovery §2)');
  if (url.protocol === 'https:') return url;
  if (url.protocol === 'http:' && LOOPBACK.has(url.hostname)) return url;
  throw invalid('/issuer', 'must be an https URL (http only for 127.0.0.1 or localhost)');
}

const isLoopbackHttp = (url: URL) => url.protocol === 'http:';

/** Group names come from outside: a null-prototype map, each group with known roles. */
function parseGroupRoles(input: Record<string, string[]>): Record<string, OrgRole[]> {
  const entries = Object.entries(input);
  if (entries.length === 0) throw invalid('/groupRoles', 'map at least one group to roles');
  if (entries.length > MAX_GROUPS) throw invalid('/groupRoles', `at most ${MAX_GROUPS} groups`);
  const map: Record<string, OrgRole[]> = Object.create(null);
  for (const [group, roles] of entries) {
    if (group.length === 0 || group.length > 200)
      throw invalid('/groupRoles', 'a group name has 1 to 200 characters');
    map[group] = parseRoles(roles);
  }
  return map;
}

function parseScopes(scopes: string[] | undefined): string[] {
  const list = [...new Set(scopes ?? DEFAULT_SCOPES)];
  if (!list.includes('openid')) throw invalid('/scopes', 'must include openid');
  for (const s of list)
    if (!/^[\x21\x23-\x5b\x5d-\x7e]{1,100}$/.test(s))
      throw invalid('/scopes', `${JSON.stringify(s)} is not a scope token (RFC 6749 §3.3)`);
  return list;
}

/** A stored configuration, with the client secret opened, for the sign-in flow. */
export interface SsoClient {
  orgId: string;
  settings: SsoSettings;
  config: oidc.Configuration;
}

/**
 * Single sign-on settings per organisation (issue 16 §3): the OpenID provider, the client
 * brickless is registered as there, and which groups give which roles. The provider's discovery
 * document is fetched when the settings are saved, so a typo fails then and not at the first sign-in.
 */
export class SsoConfigService {
  readonly #db: Kysely<Database>;
  readonly #clock: Clock;
  readonly #audit: AuditLog;
  readonly #secrets: SecretBox;
  readonly #discovered = new Map<string, { key: string; at: number; config: oidc.Configuration }>();

  constructor(deps: { db: Kysely<Database>; clock: Clock; audit: AuditLog; secrets: SecretBox }) {
    this.#db = deps.db;
    this.#clock = deps.clock;
    this.#audit = deps.audit;
    this.#secrets = deps.secrets;
  }

  async get(orgId: string): Promise<SsoSettings> {
    const row = await this.#row(orgId);
    if (!row) throw notFound('single sign-on of organisation', orgId);
    return row.settings;
  }

  async set(actor: string, orgId: string, input: SsoInput): Promise<SsoSettings> {
    const issuer = parseIssuer(input.issuer);
    const clientId = input.clientId.trim();
    if (!clientId) throw invalid('/clientId', 'must not be empty');
    const groupRoles = parseGroupRoles(input.groupRoles);
    const scopes = parseScopes(input.scopes);
    const groupsClaim = input.groupsClaim ?? DEFAULT_GROUPS_CLAIM;
    const previous = await this.#db
      .selectFrom('org_sign_in')
      .selectAll()
      .where('org_id', '=', orgId)
      .executeTakeFirst();
    let clientSecret = input.clientSecret;
    if (clientSecret === undefined) {
      if (!previous?.oidc_client_secret_sealed)
        throw invalid('/clientSecret', 'required when single sign-on is set up the first time');
      clientSecret = this.#secrets.open(previous.oidc_client_secret_sealed, secretPurpose(orgId));
    }
    await this.#discover(issuer, clientId, clientSecret);
    const now = this.#clock.now().toISOString();
    const columns = {
      oidc_issuer: issuer.href,
      oidc_client_id: clientId,
      oidc_client_secret_sealed: this.#secrets.seal(clientSecret, secretPurpose(orgId)),
      oidc_groups_claim: groupsClaim,
      oidc_group_roles: JSON.stringify(groupRoles),
      oidc_scopes: scopes.join(' '),
      updated_at: now,
    };
    await inTransaction(this.#db, async (trx) => {
      if (previous) await trx.updateTable('org_sign_in').set(columns).where('org_id', '=', orgId).execute();
      else
        await trx
          .insertInto('org_sign_in')
          .values({ org_id: orgId, require: 'any', ...columns })
          .execute();
      await this.#audit.append(trx, orgId, {
        actor,
        action: 'organization.sso-set',
        targetType: 'organization',
        targetId: orgId,
        details: {
          issuer: issuer.href,
          clientId,
          groupsClaim,
          groupRoles,
          scopes,
          secretChanged: input.clientSecret !== undefined,
        },
      });
    });
    this.#discovered.delete(orgId);
    return { issuer: issuer.href, clientId, groupsClaim, groupRoles, scopes, updatedAt: now };
  }

  async remove(actor: string, orgId: string): Promise<SsoSettings> {
    const settings = await this.get(orgId);
    await inTransaction(this.#db, async (trx) => {
      await trx
        .updateTable('org_sign_in')
        .set({
          oidc_issuer: null,
          oidc_client_id: null,
          oidc_client_secret_sealed: null,
          oidc_groups_claim: null,
          oidc_group_roles: null,
          oidc_scopes: null,
          updated_at: this.#clock.now().toISOString(),
        })
        .where('org_id', '=', orgId)
        .execute();
      await this.#audit.append(trx, orgId, {
        actor,
        action: 'organization.sso-remove',
        targetType: 'organization',
        targetId: orgId,
        details: { issuer: settings.issuer, clientId: settings.clientId },
      });
    });
    this.#discovered.delete(orgId);
    return settings;
  }

  /** The organisation's provider, discovered (cached for an hour), for the sign-in flow. */
  async client(orgId: string): Promise<SsoClient> {
    const row = await this.#row(orgId);
    if (!row) throw notFound('single sign-on of organisation', orgId);
    const { settings, sealed } = row;
    const key = `${settings.issuer}|${settings.clientId}|${settings.updatedAt}`;
    const now = this.#clock.now().getTime();
    const cached = this.#discovered.get(orgId);
    if (cached && cached.key === key && now - cached.at < DISCOVERY_TTL_MS)
      return { orgId, settings, config: cached.config };
    const config = await this.#discover(
      new URL(settings.issuer),
      settings.clientId,
      this.#secrets.open(sealed, secretPurpose(orgId)),
    );
    this.#discovered.set(orgId, { key, at: now, config });
    return { orgId, settings, config };
  }

  async #discover(issuer: URL, clientId: string, clientSecret: string): Promise<oidc.Configuration> {
    let config: oidc.Configuration;
    try {
      config = await oidc.discovery(issuer, clientId, clientSecret, oidc.ClientSecretBasic(clientSecret), {
        timeout: DISCOVERY_TIMEOUT_S,
        ...(isLoopbackHttp(issuer) ? { execute: [oidc.allowInsecureRequests] } : {}),
      });
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      throw invalid(
        '/issuer',
        `the issuer ${issuer.href} does not answer with an OpenID Connect discovery document (${reason})`,
      );
    }
    const meta = config.serverMetadata();
    if (!meta.authorization_endpoint || !meta.token_endpoint || !meta.jwks_uri)
      throw invalid('/issuer', 'the provider names no authorization, token or jwks endpoint');
    const methods = meta.code_challenge_methods_supported;
    if (methods && !methods.includes('S256'))
      throw invalid(
        '/issuer',
        'the provider does not support PKCE with S256 (RFC 7636), which brickless requires',
      );
    return config;
  }

  async #row(orgId: string): Promise<{ settings: SsoSettings; sealed: string } | null> {
    const row = await this.#db
      .selectFrom('org_sign_in')
      .selectAll()
      .where('org_id', '=', orgId)
      .executeTakeFirst();
    if (!row?.oidc_issuer || !row.oidc_client_id || !row.oidc_client_secret_sealed) return null;
    const stored = JSON.parse(row.oidc_group_roles ?? '{}') as Record<string, string[]>;
    const groupRoles: Record<string, OrgRole[]> = Object.create(null);
    for (const [group, roles] of Object.entries(stored)) groupRoles[group] = parseRoles(roles);
    return {
      sealed: row.oidc_client_secret_sealed,
      settings: {
        issuer: row.oidc_issuer,
        clientId: row.oidc_client_id,
        groupsClaim: row.oidc_groups_claim ?? DEFAULT_GROUPS_CLAIM,
        groupRoles,
        scopes: (row.oidc_scopes ?? DEFAULT_SCOPES.join(' ')).split(' '),
        updatedAt: row.updated_at,
      },
    };
  }
}
