import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { AuditLog } from '../audit/service.js';
import type { Clock } from '../clock.js';
import { invalid, notFound } from '../errors.js';
import { newId } from '../ids.js';
import type { Database, OAuthAppsTable } from '../store/schema.js';
import { inTransaction } from '../store/transaction.js';
import { type AppScope, joinScopes, parseScopeList, splitScopes } from './scopes.js';

export const CLIENT_TYPES = ['public', 'confidential'] as const;
export type ClientType = (typeof CLIENT_TYPES)[number];
export const MAX_REDIRECT_URIS = 10;
export const MAX_APPS_PER_ORG = 50;

export interface AppView {
  id: string;
  /** The OAuth `client_id`: the app's id. */
  clientId: string;
  name: string;
  clientType: ClientType;
  redirectUris: string[];
  scopes: AppScope[];
  createdBy: string;
  createdAt: string;
  updatedAt: string;
  secretRotatedAt: string | null;
}

export interface AppInput {
  name: string;
  clientType: ClientType;
  redirectUris: string[];
  scopes: string[];
}

/** A registered app as the authorization server needs it. */
export interface Client {
  id: string;
  orgId: string;
  name: string;
  clientType: ClientType;
  redirectUris: string[];
  scopes: AppScope[];
  secretHash: string | null;
}

const hashSecret = (secret: string) => createHash('sha256').update(`app-secret:${secret}`).digest('hex');
const newSecret = () => `bcs_${randomBytes(32).toString('base64url')}`;

const toView = (row: OAuthAppsTable): AppView => ({
  id: row.id,
  clientId: row.id,
  name: row.name,
  clientType: row.client_type as ClientType,
  redirectUris: JSON.parse(row.redirect_uris) as string[],
  scopes: splitScopes(row.scopes),
  createdBy: row.created_by,
  createdAt: row.created_at,
  updatedAt: row.updated_at,
  secretRotatedAt: row.secret_rotated_at,
});

const LOOPBACK = new Set(['127.0.0.1', '[::1]']);

/** True for the loopback redirect of a native app (RFC 8252 §7.3), whose port may vary per request. */
export const isLoopback = (url: URL): boolean => url.protocol === 'http:' && LOOPBACK.has(url.hostname);

/**
 * One redirect URI, checked at registration (OAuth 2.1 §2.3.1, RFC 8252 §7): an absolute URI
 * without a fragment or user info; `https`, `http` only to a loopback IP literal (not `localhost`,
 * RFC 8252 §8.3), or a private-use scheme in reverse-domain form (`com.example.app:/cb`, §7.1).
 */
export function checkRedirectUri(text: string, field: string): string {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw invalid(field, 'an absolute URI such as https://app.example/callback');
  }
  if (url.hash !== '' || text.includes('#')) throw invalid(field, 'a redirect URI has no fragment (#)');
  if (url.username !== '' || url.password !== '') throw invalid(field, 'a redirect URI has no user info');
  if (url.protocol === 'https:') return text;
  if (url.protocol === 'http:') {
    if (isLoopback(url)) return text;
    throw invalid(
      field,
      'http only to a loopback address for native apps (http://127.0.0.1/… or http://[::1]/…); use https',
    );
  }
  const scheme = url.protocol.slice(0, -1);
  if (!scheme.includes('.') || ['javascript', 'data', 'file', 'vbscript'].includes(scheme))
    throw invalid(
      field,
      'a native app’s own scheme is a reverse domain name it owns, such as com.example.app:/callback',
    );
  return text;
}

function checkRedirectUris(list: string[]): string[] {
  if (list.length === 0) throw invalid('/redirectUris', 'name at least one redirect URI');
  if (list.length > MAX_REDIRECT_URIS)
    throw invalid('/redirectUris', `at most ${MAX_REDIRECT_URIS} redirect URIs`);
  return [...new Set(list.map((uri, i) => checkRedirectUri(uri, `/redirectUris/${i}`)))];
}

/**
 * The apps (OAuth clients) an organisation registers for the app API (issue 18 §2). A public app
 * (mobile, single-page) proves itself with PKCE alone; a confidential one (a web server) holds a
 * secret as well, shown once and kept as a hash.
 */
export class AppRegistry {
  readonly #db: Kysely<Database>;
  readonly #clock: Clock;
  readonly #audit: AuditLog;

  constructor(deps: { db: Kysely<Database>; clock: Clock; audit: AuditLog }) {
    this.#db = deps.db;
    this.#clock = deps.clock;
    this.#audit = deps.audit;
  }

  async create(
    actor: string,
    orgId: string,
    input: AppInput,
  ): Promise<{ app: AppView; clientSecret: string | null }> {
    const redirectUris = checkRedirectUris(input.redirectUris);
    const scopes = parseScopeList(input.scopes);
    const now = this.#clock.now();
    const at = now.toISOString();
    const secret = input.clientType === 'confidential' ? newSecret() : null;
    const row: OAuthAppsTable = {
      id: newId('app', now),
      org_id: orgId,
      name: input.name,
      client_type: input.clientType,
      secret_hash: secret ? hashSecret(secret) : null,
      redirect_uris: JSON.stringify(redirectUris),
      scopes: joinScopes(scopes),
      created_by: actor,
      created_at: at,
      updated_at: at,
      secret_rotated_at: null,
    };
    await inTransaction(this.#db, async (trx) => {
      const count = await trx
        .selectFrom('oauth_apps')
        .select((eb) => eb.fn.countAll<number | string>().as('n'))
        .where('org_id', '=', orgId)
        .executeTakeFirstOrThrow();
      if (Number(count.n) >= MAX_APPS_PER_ORG)
        throw invalid('/', `an organisation has at most ${MAX_APPS_PER_ORG} apps; delete one first`);
      await trx.insertInto('oauth_apps').values(row).execute();
      await this.#audit.append(trx, orgId, {
        actor,
        action: 'app.create',
        targetType: 'app',
        targetId: row.id,
        details: { clientType: input.clientType, scopes, redirectUris: redirectUris.length },
      });
    });
    return { app: toView(row), clientSecret: secret };
  }

  async list(orgId: string): Promise<AppView[]> {
    const rows = await this.#db
      .selectFrom('oauth_apps')
      .selectAll()
      .where('org_id', '=', orgId)
      .orderBy('id')
      .execute();
    return rows.map(toView);
  }

  async get(orgId: string, id: string): Promise<AppView> {
    return toView(await this.#row(orgId, id));
  }

  async update(
    actor: string,
    orgId: string,
    id: string,
    input: { name?: string; redirectUris?: string[]; scopes?: string[] },
  ): Promise<AppView> {
    await this.#row(orgId, id);
    const changes: Partial<OAuthAppsTable> = {};
    if (input.name !== undefined) changes.name = input.name;
    if (input.redirectUris !== undefined)
      changes.redirect_uris = JSON.stringify(checkRedirectUris(input.redirectUris));
    if (input.scopes !== undefined) changes.scopes = joinScopes(parseScopeList(input.scopes));
    if (Object.keys(changes).length === 0)
      throw invalid('/', 'change at least one of name, redirectUris, scopes');
    changes.updated_at = this.#clock.now().toISOString();
    await inTransaction(this.#db, async (trx) => {
      await trx
        .updateTable('oauth_apps')
        .set(changes)
        .where('org_id', '=', orgId)
        .where('id', '=', id)
        .execute();
      // Fewer scopes for the app: what owners granted beyond them ends now, tokens included
      // (a token is checked against its grant on every use).
      if (changes.scopes !== undefined) {
        const allowed = splitScopes(changes.scopes);
        const grants = await trx
          .selectFrom('oauth_grants')
          .select(['id', 'scopes'])
          .where('app_id', '=', id)
          .execute();
        for (const grant of grants) {
          const kept = splitScopes(grant.scopes).filter((s) => allowed.includes(s));
          await trx
            .updateTable('oauth_grants')
            .set({ scopes: joinScopes(kept), updated_at: changes.updated_at as string })
            .where('id', '=', grant.id)
            .execute();
        }
      }
      await this.#audit.append(trx, orgId, {
        actor,
        action: 'app.update',
        targetType: 'app',
        targetId: id,
        details: { changed: Object.keys(input).filter((k) => input[k as keyof typeof input] !== undefined) },
      });
    });
    return this.get(orgId, id);
  }

  /** Deletes the app: every grant, code and token of it ends with it (foreign keys cascade). */
  async delete(actor: string, orgId: string, id: string): Promise<void> {
    await this.#row(orgId, id);
    await inTransaction(this.#db, async (trx) => {
      await trx.deleteFrom('oauth_apps').where('org_id', '=', orgId).where('id', '=', id).execute();
      await this.#audit.append(trx, orgId, {
        actor,
        action: 'app.delete',
        targetType: 'app',
        targetId: id,
        details: {},
      });
    });
  }

  /** A new secret for a confidential app (shown once); the old one stops working at once. */
  async rotateSecret(
    actor: string,
    orgId: string,
    id: string,
  ): Promise<{ app: AppView; clientSecret: string }> {
    const row = await this.#row(orgId, id);
    if (row.client_type !== 'confidential')
      throw invalid('/', 'a public app has no secret: it proves itself with PKCE');
    const secret = newSecret();
    const at = this.#clock.now().toISOString();
    await inTransaction(this.#db, async (trx) => {
      await trx
        .updateTable('oauth_apps')
        .set({ secret_hash: hashSecret(secret), secret_rotated_at: at, updated_at: at })
        .where('id', '=', id)
        .execute();
      await this.#audit.append(trx, orgId, {
        actor,
        action: 'app.rotate-secret',
        targetType: 'app',
        targetId: id,
        details: {},
      });
    });
    return { app: await this.get(orgId, id), clientSecret: secret };
  }

  /** The client for the authorization server, by client_id; undefined when unknown. */
  async client(clientId: string): Promise<Client | undefined> {
    if (!/^app_[0-9a-f]{28}$/.test(clientId)) return undefined;
    const row = await this.#db
      .selectFrom('oauth_apps')
      .selectAll()
      .where('id', '=', clientId)
      .executeTakeFirst();
    if (!row) return undefined;
    return {
      id: row.id,
      orgId: row.org_id,
      name: row.name,
      clientType: row.client_type as ClientType,
      redirectUris: JSON.parse(row.redirect_uris) as string[],
      scopes: splitScopes(row.scopes),
      secretHash: row.secret_hash,
    };
  }

  static secretMatches(client: Client, presented: string): boolean {
    if (!client.secretHash) return false;
    const a = Buffer.from(client.secretHash, 'hex');
    const b = Buffer.from(hashSecret(presented), 'hex');
    return a.length === b.length && timingSafeEqual(a, b);
  }

  async #row(orgId: string, id: string): Promise<OAuthAppsTable> {
    const row = await this.#db
      .selectFrom('oauth_apps')
      .selectAll()
      .where('org_id', '=', orgId)
      .where('id', '=', id)
      .executeTakeFirst();
    if (!row) throw notFound('app', id);
    return row;
  }
}
