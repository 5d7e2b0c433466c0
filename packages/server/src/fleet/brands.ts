import type { Kysely } from 'kysely';
import type { AuditLog } from '../audit/service.js';
import type { Clock } from '../clock.js';
import { conflict, notFound } from '../errors.js';
import { newId } from '../ids.js';
import { isUniqueViolation } from '../store/db.js';
import { decodeCursor, type Page, type PageRequest, toPage } from '../store/pagination.js';
import type { Database } from '../store/schema.js';
import { inTransaction } from '../store/transaction.js';
import { diff } from './changes.js';

/**
 * A name products are sold under. White-label products are sold under many brands, and each brand
 * names the party responsible for it and its security contact (CRA Art. 13(16), the contact
 * point for vulnerability reports).
 */
export interface Brand {
  id: string;
  orgId: string;
  name: string;
  responsibleParty: string;
  securityContact: string;
  createdAt: string;
  updatedAt: string;
}

export type CreateBrand = Pick<Brand, 'name' | 'responsibleParty' | 'securityContact'>;
export type UpdateBrand = Partial<CreateBrand>;

export class BrandService {
  readonly #db: Kysely<Database>;
  readonly #clock: Clock;
  readonly #audit: AuditLog;

  constructor(deps: { db: Kysely<Database>; clock: Clock; audit: AuditLog }) {
    this.#db = deps.db;
    this.#clock = deps.clock;
    this.#audit = deps.audit;
  }

  async create(actor: string, orgId: string, input: CreateBrand): Promise<Brand> {
    const now = this.#clock.now().toISOString();
    const brand: Brand = {
      id: newId('brd', this.#clock.now()),
      orgId,
      ...input,
      createdAt: now,
      updatedAt: now,
    };
    try {
      await inTransaction(this.#db, async (trx) => {
        await trx.insertInto('brands').values(toRow(brand)).execute();
        await this.#audit.append(trx, orgId, {
          actor,
          action: 'brand.create',
          targetType: 'brand',
          targetId: brand.id,
          details: { ...input },
        });
      });
    } catch (error) {
      if (isUniqueViolation(error)) throw conflict(`a brand named ${JSON.stringify(input.name)} exists`);
      throw error;
    }
    return brand;
  }

  async get(orgId: string, id: string): Promise<Brand> {
    const row = await this.#db
      .selectFrom('brands')
      .selectAll()
      .where('org_id', '=', orgId)
      .where('id', '=', id)
      .executeTakeFirst();
    if (!row) throw notFound('brand', id);
    return toBrand(row);
  }

  async list(orgId: string, page: PageRequest, filter: { name?: string } = {}): Promise<Page<Brand>> {
    const after = decodeCursor(page.cursor);
    let q = this.#db.selectFrom('brands').selectAll().where('org_id', '=', orgId);
    if (after) q = q.where('id', '>', after);
    if (filter.name) q = q.where('name', '=', filter.name);
    const rows = await q
      .orderBy('id')
      .limit(page.limit + 1)
      .execute();
    return toPage(rows, page.limit, toBrand);
  }

  async update(actor: string, orgId: string, id: string, patch: UpdateBrand): Promise<Brand> {
    try {
      return await inTransaction(this.#db, async (trx) => {
        const row = await trx
          .selectFrom('brands')
          .selectAll()
          .where('org_id', '=', orgId)
          .where('id', '=', id)
          .executeTakeFirst();
        if (!row) throw notFound('brand', id);
        const before = toBrand(row);
        const after: Brand = { ...before, ...patch, updatedAt: this.#clock.now().toISOString() };
        await trx.updateTable('brands').set(toRow(after)).where('id', '=', id).execute();
        await this.#audit.append(trx, orgId, {
          actor,
          action: 'brand.update',
          targetType: 'brand',
          targetId: id,
          details: diff({ ...before }, { ...after }),
        });
        return after;
      });
    } catch (error) {
      if (isUniqueViolation(error)) throw conflict(`a brand named ${JSON.stringify(patch.name)} exists`);
      throw error;
    }
  }

  /** Deletes a brand no product or device uses. */
  async delete(actor: string, orgId: string, id: string): Promise<void> {
    await inTransaction(this.#db, async (trx) => {
      const row = await trx
        .selectFrom('brands')
        .selectAll()
        .where('org_id', '=', orgId)
        .where('id', '=', id)
        .executeTakeFirst();
      if (!row) throw notFound('brand', id);
      const product = await trx
        .selectFrom('product_brands')
        .select('product_id')
        .where('brand_id', '=', id)
        .executeTakeFirst();
      if (product) throw conflict(`brand ${row.name} is still assigned to product ${product.product_id}`);
      const device = await trx
        .selectFrom('devices')
        .select('id')
        .where('brand_id', '=', id)
        .executeTakeFirst();
      if (device) throw conflict(`brand ${row.name} is still assigned to device ${device.id}`);
      await trx.deleteFrom('brands').where('id', '=', id).execute();
      await this.#audit.append(trx, orgId, {
        actor,
        action: 'brand.delete',
        targetType: 'brand',
        targetId: id,
        details: { name: row.name },
      });
    });
  }
}

function toRow(brand: Brand): Database['brands'] {
  return {
    id: brand.id,
    org_id: brand.orgId,
    name: brand.name,
    responsible_party: brand.responsibleParty,
    security_contact: brand.securityContact,
    created_at: brand.createdAt,
    updated_at: brand.updatedAt,
  };
}

function toBrand(row: Database['brands']): Brand {
  return {
    id: row.id,
    orgId: row.org_id,
    name: row.name,
    responsibleParty: row.responsible_party,
    securityContact: row.security_contact,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}
