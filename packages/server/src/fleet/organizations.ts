import type { Kysely } from 'kysely';
import { type AuditLog, PLATFORM_CHAIN } from '../audit/service.js';
import type { Clock } from '../clock.js';
import { conflict, notFound } from '../errors.js';
import { newId } from '../ids.js';
import { isUniqueViolation } from '../store/db.js';
import { decodeCursor, type Page, type PageRequest, toPage } from '../store/pagination.js';
import type { Database } from '../store/schema.js';
import { inTransaction } from '../store/transaction.js';
import { diff } from './changes.js';

export interface Organization {
  id: string;
  slug: string;
  name: string;
  /** Where security reports go (security.txt Contact, CSAF publisher contact): mailto: or https: URI. */
  securityContact: string | null;
  /** The vulnerability disclosure policy (security.txt Policy). */
  securityPolicy: string | null;
  createdAt: string;
  updatedAt: string;
}

export interface CreateOrganization {
  slug: string;
  name: string;
}

/** Organisations: the makers, and the tenant boundary every other query is scoped by. */
export class OrganizationService {
  readonly #db: Kysely<Database>;
  readonly #clock: Clock;
  readonly #audit: AuditLog;

  constructor(deps: { db: Kysely<Database>; clock: Clock; audit: AuditLog }) {
    this.#db = deps.db;
    this.#clock = deps.clock;
    this.#audit = deps.audit;
  }

  async create(actor: string, input: CreateOrganization): Promise<Organization> {
    const now = this.#clock.now();
    const org: Organization = {
      id: newId('org', now),
      slug: input.slug,
      name: input.name,
      securityContact: null,
      securityPolicy: null,
      createdAt: now.toISOString(),
      updatedAt: now.toISOString(),
    };
    try {
      await inTransaction(this.#db, async (trx) => {
        await trx
          .insertInto('organizations')
          .values({
            id: org.id,
            slug: org.slug,
            name: org.name,
            created_at: org.createdAt,
            updated_at: org.updatedAt,
          })
          .execute();
        await this.#audit.append(trx, PLATFORM_CHAIN, {
          actor,
          action: 'organization.create',
          targetType: 'organization',
          targetId: org.id,
          details: { slug: org.slug, name: org.name },
        });
      });
    } catch (error) {
      if (isUniqueViolation(error))
        throw conflict(`an organisation with slug ${JSON.stringify(input.slug)} exists`);
      throw error;
    }
    return org;
  }

  /** Finds an organisation by id or by slug. */
  async find(idOrSlug: string): Promise<Organization | undefined> {
    const row = await this.#db
      .selectFrom('organizations')
      .selectAll()
      .where((eb) => eb.or([eb('id', '=', idOrSlug), eb('slug', '=', idOrSlug)]))
      .executeTakeFirst();
    return row ? toOrganization(row) : undefined;
  }

  async get(idOrSlug: string): Promise<Organization> {
    const org = await this.find(idOrSlug);
    if (!org) throw notFound('organisation', idOrSlug);
    return org;
  }

  async list(page: PageRequest): Promise<Page<Organization>> {
    const after = decodeCursor(page.cursor);
    let q = this.#db.selectFrom('organizations').selectAll();
    if (after) q = q.where('id', '>', after);
    const rows = await q
      .orderBy('id')
      .limit(page.limit + 1)
      .execute();
    return toPage(rows, page.limit, toOrganization);
  }

  async update(actor: string, id: string, patch: { name?: string }): Promise<Organization> {
    return inTransaction(this.#db, async (trx) => {
      const row = await trx.selectFrom('organizations').selectAll().where('id', '=', id).executeTakeFirst();
      if (!row) throw notFound('organisation', id);
      const before = toOrganization(row);
      const after: Organization = { ...before, ...patch, updatedAt: this.#clock.now().toISOString() };
      await trx
        .updateTable('organizations')
        .set({ name: after.name, updated_at: after.updatedAt })
        .where('id', '=', id)
        .execute();
      await this.#audit.append(trx, PLATFORM_CHAIN, {
        actor,
        action: 'organization.update',
        targetType: 'organization',
        targetId: id,
        details: diff({ ...before }, { ...after }),
      });
      return after;
    });
  }

  /** The contact and policy that security.txt (RFC 9116) and CSAF documents publish. */
  async setSecurityContact(
    actor: string,
    id: string,
    input: { securityContact: string | null; securityPolicy: string | null },
  ): Promise<Organization> {
    return inTransaction(this.#db, async (trx) => {
      const row = await trx.selectFrom('organizations').selectAll().where('id', '=', id).executeTakeFirst();
      if (!row) throw notFound('organisation', id);
      const updatedAt = this.#clock.now().toISOString();
      await trx
        .updateTable('organizations')
        .set({
          security_contact: input.securityContact,
          security_policy: input.securityPolicy,
          updated_at: updatedAt,
        })
        .where('id', '=', id)
        .execute();
      await this.#audit.append(trx, id, {
        actor,
        action: 'organization.security-contact',
        targetType: 'organization',
        targetId: id,
        details: { ...input },
      });
      return { ...toOrganization(row), ...input, updatedAt };
    });
  }

  /**
   * Deletes an organisation that holds no brands, products or devices (its tokens go with it).
   * Its audit chain stays: the record of what happened outlives the tenant.
   */
  async delete(actor: string, id: string): Promise<void> {
    await inTransaction(this.#db, async (trx) => {
      const row = await trx.selectFrom('organizations').selectAll().where('id', '=', id).executeTakeFirst();
      if (!row) throw notFound('organisation', id);
      for (const table of ['brands', 'products', 'devices'] as const) {
        const used = await trx
          .selectFrom(table)
          .select('id')
          .where('org_id', '=', id)
          .limit(1)
          .executeTakeFirst();
        if (used) throw conflict(`organisation ${row.slug} still has ${table}; delete them first`);
      }
      await trx.deleteFrom('api_tokens').where('org_id', '=', id).execute();
      await trx.deleteFrom('organizations').where('id', '=', id).execute();
      await this.#audit.append(trx, PLATFORM_CHAIN, {
        actor,
        action: 'organization.delete',
        targetType: 'organization',
        targetId: id,
        details: { slug: row.slug, name: row.name },
      });
    });
  }
}

function toOrganization(row: Database['organizations']): Organization {
  return {
    id: row.id,
    slug: row.slug,
    name: row.name,
    securityContact: row.security_contact ?? null,
    securityPolicy: row.security_policy ?? null,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}
