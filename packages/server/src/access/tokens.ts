import { createHash, randomBytes } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { AuditLog } from '../audit/service.js';
import { PLATFORM_CHAIN } from '../audit/service.js';
import type { Bus } from '../bus/bus.js';
import type { Clock } from '../clock.js';
import { DomainError, invalid, notFound } from '../errors.js';
import { newId } from '../ids.js';
import type { Database } from '../store/schema.js';
import { type Executor, inTransaction } from '../store/transaction.js';
import type { Principal, Role } from './roles.js';
import { isRole, tokenPrincipal } from './roles.js';

/** `bkl_` and 256 random bits in base64url: unguessable, recognisable by secret scanners. */
const TOKEN_PATTERN = /^bkl_[A-Za-z0-9_-]{43}$/;

export interface ApiToken {
  id: string;
  orgId: string | null;
  role: Role;
  name: string;
  createdAt: string;
  createdBy: string;
  expiresAt: string | null;
  lastUsedAt: string | null;
  revokedAt: string | null;
  /** The person who made it (issue 16 §5): it acts with at most their roles, as long as they hold them. */
  personId: string | null;
}

export interface CreateTokenInput {
  orgId: string | null;
  role: Role;
  name: string;
  expiresAt?: string | null;
  personId?: string | null;
}

/** What the token service asks of people: the principal of a person now. */
interface PeopleLookup {
  principal(personId: string, extra: { tokenId?: string | null }): Promise<Principal | null>;
}

export function hashToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

/** How often `last_used_at` is written: once a minute is enough and spares a write per request. */
const LAST_USED_GRANULARITY_MS = 60_000;

/**
 * API tokens: random, shown once, stored as SHA-256 (the tokens carry 256 bits of entropy, so a
 * slow password hash adds nothing), each bound to one organisation and one role.
 */
export class TokenService {
  readonly #db: Kysely<Database>;
  readonly #bus: Bus;
  readonly #clock: Clock;
  readonly #audit: AuditLog;
  readonly #people: PeopleLookup | null;

  constructor(deps: {
    db: Kysely<Database>;
    clock: Clock;
    audit: AuditLog;
    bus: Bus;
    people?: PeopleLookup;
  }) {
    this.#db = deps.db;
    this.#bus = deps.bus;
    this.#clock = deps.clock;
    this.#audit = deps.audit;
    this.#people = deps.people ?? null;
  }

  async create(
    actor: string,
    input: CreateTokenInput,
    trx?: Executor,
  ): Promise<{ token: string; record: ApiToken }> {
    if (!isRole(input.role)) throw invalid('/role', `unknown role ${JSON.stringify(input.role)}`);
    if (input.role === 'platform-admin' && input.orgId !== null) {
      throw invalid('/role', 'platform-admin tokens belong to no organisation');
    }
    if (input.role !== 'platform-admin' && input.orgId === null) {
      throw invalid('/org', `a ${input.role} token needs an organisation`);
    }
    const now = this.#clock.now();
    if (input.expiresAt && new Date(input.expiresAt).getTime() <= now.getTime()) {
      throw invalid('/expiresAt', 'must be in the future');
    }
    const token = `bkl_${randomBytes(32).toString('base64url')}`;
    const record: ApiToken = {
      id: newId('tok', now),
      orgId: input.orgId,
      role: input.role,
      name: input.name,
      createdAt: now.toISOString(),
      createdBy: actor,
      expiresAt: input.expiresAt ? new Date(input.expiresAt).toISOString() : null,
      lastUsedAt: null,
      revokedAt: null,
      personId: input.personId ?? null,
    };
    const write = async (tx: Executor) => {
      if (input.orgId !== null) {
        const org = await tx
          .selectFrom('organizations')
          .select('id')
          .where('id', '=', input.orgId)
          .executeTakeFirst();
        if (!org) throw notFound('organisation', input.orgId);
      }
      await tx
        .insertInto('api_tokens')
        .values({
          id: record.id,
          org_id: record.orgId,
          role: record.role,
          name: record.name,
          token_hash: hashToken(token),
          created_at: record.createdAt,
          created_by: record.createdBy,
          expires_at: record.expiresAt,
          last_used_at: null,
          revoked_at: null,
          person_id: record.personId,
        })
        .execute();
      await this.#audit.append(tx, record.orgId ?? PLATFORM_CHAIN, {
        actor,
        action: 'token.create',
        targetType: 'token',
        targetId: record.id,
        details: {
          role: record.role,
          name: record.name,
          expiresAt: record.expiresAt,
          personId: record.personId,
        },
      });
    };
    if (trx) await write(trx);
    else await inTransaction(this.#db, write);
    return { token, record };
  }

  /** The principal for a presented token, or null for any token that is unknown, revoked or expired. */
  async authenticate(presented: string): Promise<Principal | null> {
    if (!TOKEN_PATTERN.test(presented)) return null;
    const row = await this.#db
      .selectFrom('api_tokens')
      .selectAll()
      .where('token_hash', '=', hashToken(presented))
      .executeTakeFirst();
    if (!row || row.revoked_at !== null || !isRole(row.role)) return null;
    const now = this.#clock.now();
    if (row.expires_at !== null && new Date(row.expires_at).getTime() <= now.getTime()) return null;
    if (
      row.last_used_at === null ||
      now.getTime() - new Date(row.last_used_at).getTime() > LAST_USED_GRANULARITY_MS
    ) {
      await this.#db
        .updateTable('api_tokens')
        .set({ last_used_at: now.toISOString() })
        .where('id', '=', row.id)
        .execute();
    }
    if (row.person_id !== null) return this.#personToken(row);
    return tokenPrincipal({
      actor: `token:${row.id} (${row.name})`,
      tokenId: row.id,
      personId: null,
      role: row.role,
      orgId: row.org_id,
    });
  }

  /**
   * A person's token acts with its one role, and only while the person still holds it there: a
   * person removed from the organisation, or who lost the role, takes their tokens' rights along.
   */
  async #personToken(row: Database['api_tokens']): Promise<Principal | null> {
    const person =
      this.#people && row.person_id ? await this.#people.principal(row.person_id, { tokenId: row.id }) : null;
    if (!person || !isRole(row.role)) return null;
    const actor = `token:${row.id} (${row.name}) of ${person.actor}`;
    if (row.role === 'platform-admin')
      return person.platformAdmin ? { ...person, actor, memberships: new Map() } : null;
    const held = row.org_id ? person.memberships.get(row.org_id) : undefined;
    if (!row.org_id || !held?.includes(row.role as never)) return null;
    return tokenPrincipal({
      actor,
      tokenId: row.id,
      personId: row.person_id,
      role: row.role,
      orgId: row.org_id,
    });
  }

  /** The tokens a person made, across organisations. */
  async listOfPerson(personId: string): Promise<ApiToken[]> {
    const rows = await this.#db
      .selectFrom('api_tokens')
      .selectAll()
      .where('person_id', '=', personId)
      .orderBy('id')
      .execute();
    return rows.map(toToken);
  }

  /** Tokens of one organisation, or the platform tokens when `orgId` is null. */
  async list(orgId: string | null): Promise<ApiToken[]> {
    let q = this.#db.selectFrom('api_tokens').selectAll();
    q = orgId === null ? q.where('org_id', 'is', null) : q.where('org_id', '=', orgId);
    const rows = await q.orderBy('id').execute();
    return rows.map(toToken);
  }

  async revoke(actor: string, orgId: string | null, id: string): Promise<ApiToken> {
    let change = '';
    const token = await inTransaction(this.#db, async (trx) => {
      let q = trx.selectFrom('api_tokens').selectAll().where('id', '=', id);
      q = orgId === null ? q.where('org_id', 'is', null) : q.where('org_id', '=', orgId);
      const row = await q.executeTakeFirst();
      if (!row) throw notFound('token', id);
      if (row.revoked_at !== null) throw new DomainError('conflict', `token ${id} is already revoked`);
      const revokedAt = this.#clock.now().toISOString();
      await trx.updateTable('api_tokens').set({ revoked_at: revokedAt }).where('id', '=', id).execute();
      const entry = await this.#audit.append(trx, orgId ?? PLATFORM_CHAIN, {
        actor,
        action: 'token.revoke',
        targetType: 'token',
        targetId: id,
        details: { role: row.role, name: row.name },
      });
      change = entry.id;
      return toToken({ ...row, revoked_at: revokedAt });
    });
    // Live sessions opened with the token (MQTT integrations) end at once, on every node.
    this.#bus.publish('token.revoked', { tokenId: id, change });
    return token;
  }
}

function toToken(row: Database['api_tokens']): ApiToken {
  if (!isRole(row.role)) throw new Error(`token ${row.id} has unknown role ${row.role}`);
  return {
    id: row.id,
    orgId: row.org_id,
    role: row.role,
    name: row.name,
    createdAt: row.created_at,
    createdBy: row.created_by,
    expiresAt: row.expires_at,
    lastUsedAt: row.last_used_at,
    revokedAt: row.revoked_at,
    personId: row.person_id ?? null,
  };
}
