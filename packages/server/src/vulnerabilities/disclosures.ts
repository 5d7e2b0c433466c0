import { createHash, randomBytes } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { AuditLog } from '../audit/service.js';
import type { Clock } from '../clock.js';
import { DomainError, invalid, notFound } from '../errors.js';
import { newId } from '../ids.js';
import type { Database, DisclosuresTable } from '../store/schema.js';
import { inTransaction } from '../store/transaction.js';

export const disclosureStatuses = [
  'received',
  'triaging',
  'confirmed',
  'not-reproducible',
  'fixed',
  'closed',
] as const;
export type DisclosureStatus = (typeof disclosureStatuses)[number];

export interface Disclosure {
  id: string;
  productId: string | null;
  title: string;
  description: string;
  contact: string | null;
  status: DisclosureStatus;
  publicNote: string | null;
  vulnerabilityId: string | null;
  createdAt: string;
  updatedAt: string;
}

export const DISCLOSURE_LIMITS = {
  title: 200,
  description: 50_000,
  contact: 320,
  perAddressPerHour: 5,
  perOrgPerHour: 100,
};

/**
 * Coordinated vulnerability disclosure intake (CRA Annex I Part II(5), ETSI EN 303 645 5.2-1): a
 * researcher submits without an account and gets a tracking token that opens a status page. Only
 * the token's hash is stored. Submissions are limited per address and per organisation per hour.
 */
export class DisclosureService {
  readonly #db: Kysely<Database>;
  readonly #clock: Clock;
  readonly #audit: AuditLog;
  readonly #windows = new Map<string, { start: number; count: number }>();

  constructor(deps: { db: Kysely<Database>; clock: Clock; audit: AuditLog }) {
    this.#db = deps.db;
    this.#clock = deps.clock;
    this.#audit = deps.audit;
  }

  #limit(key: string, max: number): void {
    const now = this.#clock.now().getTime();
    const w = this.#windows.get(key);
    if (!w || now - w.start >= 3_600_000) {
      this.#windows.set(key, { start: now, count: 1 });
      if (this.#windows.size > 100_000) this.#windows.clear();
      return;
    }
    if (w.count >= max)
      throw new DomainError('rate-limited', 'too many reports from here in the last hour; try again later');
    w.count++;
  }

  async submit(
    orgId: string,
    input: { title: string; description: string; contact?: string; productId?: string },
    address: string,
  ): Promise<{ trackingId: string; status: DisclosureStatus }> {
    const title = input.title.trim();
    // Browsers send form text with CRLF line ends (HTML form submission); store one convention.
    const description = input.description.replace(/\r\n?/g, '\n').trim();
    if (!title || title.length > DISCLOSURE_LIMITS.title)
      throw invalid('title', `1 to ${DISCLOSURE_LIMITS.title} characters`);
    if (!description || description.length > DISCLOSURE_LIMITS.description)
      throw invalid('description', `1 to ${DISCLOSURE_LIMITS.description} characters`);
    if (input.contact && input.contact.length > DISCLOSURE_LIMITS.contact)
      throw invalid('contact', `at most ${DISCLOSURE_LIMITS.contact} characters`);
    let productId: string | null = null;
    if (input.productId) {
      const product = await this.#db
        .selectFrom('products')
        .select('id')
        .where('org_id', '=', orgId)
        .where('id', '=', input.productId)
        .executeTakeFirst();
      productId = product?.id ?? null;
    }
    this.#limit(`a:${address}`, DISCLOSURE_LIMITS.perAddressPerHour);
    this.#limit(`o:${orgId}`, DISCLOSURE_LIMITS.perOrgPerHour);
    const token = randomBytes(18).toString('base64url');
    const now = this.#clock.now().toISOString();
    const id = newId('dsc');
    await inTransaction(this.#db, async (trx) => {
      await trx
        .insertInto('disclosures')
        .values({
          id,
          org_id: orgId,
          tracking_token_hash: hashToken(token),
          product_id: productId,
          title,
          description,
          contact: input.contact?.trim() || null,
          status: 'received',
          public_note: null,
          vuln_id: null,
          created_at: now,
          updated_at: now,
        })
        .execute();
      await this.#audit.append(trx, orgId, {
        actor: 'public:disclosure',
        action: 'disclosure.receive',
        targetType: 'disclosure',
        targetId: id,
        details: { productId, titleLength: title.length, descriptionLength: description.length },
      });
    });
    return { trackingId: token, status: 'received' };
  }

  /** The researcher's view: status and the maker's public note, nothing else. */
  async status(token: string): Promise<{
    orgId: string;
    title: string;
    status: DisclosureStatus;
    publicNote: string | null;
    createdAt: string;
    updatedAt: string;
  }> {
    if (!/^[A-Za-z0-9_-]{10,64}$/.test(token)) throw notFound('report', 'tracking id');
    const row = await this.#db
      .selectFrom('disclosures')
      .selectAll()
      .where('tracking_token_hash', '=', hashToken(token))
      .executeTakeFirst();
    if (!row) throw notFound('report', 'tracking id');
    return {
      orgId: row.org_id,
      title: row.title,
      status: row.status as DisclosureStatus,
      publicNote: row.public_note,
      createdAt: row.created_at,
      updatedAt: row.updated_at,
    };
  }

  async list(orgId: string, status?: DisclosureStatus): Promise<Disclosure[]> {
    let q = this.#db.selectFrom('disclosures').selectAll().where('org_id', '=', orgId);
    if (status) q = q.where('status', '=', status);
    return (await q.orderBy('id', 'desc').limit(1000).execute()).map(toDisclosure);
  }

  async get(orgId: string, id: string): Promise<Disclosure> {
    const row = await this.#db
      .selectFrom('disclosures')
      .selectAll()
      .where('org_id', '=', orgId)
      .where('id', '=', id)
      .executeTakeFirst();
    if (!row) throw notFound('disclosure', id);
    return toDisclosure(row);
  }

  async update(
    actor: string,
    orgId: string,
    id: string,
    patch: { status?: DisclosureStatus; publicNote?: string | null; vulnerabilityId?: string | null },
  ): Promise<Disclosure> {
    await this.get(orgId, id);
    await inTransaction(this.#db, async (trx) => {
      await trx
        .updateTable('disclosures')
        .set({
          ...(patch.status ? { status: patch.status } : {}),
          ...(patch.publicNote !== undefined ? { public_note: patch.publicNote } : {}),
          ...(patch.vulnerabilityId !== undefined ? { vuln_id: patch.vulnerabilityId } : {}),
          updated_at: this.#clock.now().toISOString(),
        })
        .where('id', '=', id)
        .execute();
      await this.#audit.append(trx, orgId, {
        actor,
        action: 'disclosure.update',
        targetType: 'disclosure',
        targetId: id,
        details: { ...patch },
      });
    });
    return this.get(orgId, id);
  }
}

function hashToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

function toDisclosure(r: DisclosuresTable): Disclosure {
  return {
    id: r.id,
    productId: r.product_id,
    title: r.title,
    description: r.description,
    contact: r.contact,
    status: r.status as DisclosureStatus,
    publicNote: r.public_note,
    vulnerabilityId: r.vuln_id,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  };
}
