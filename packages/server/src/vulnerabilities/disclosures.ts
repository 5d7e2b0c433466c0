import { createHash, randomBytes } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { AuditLog } from '../audit/service.js';
import type { Clock } from '../clock.js';
import { invalid, notFound } from '../errors.js';
import { newId } from '../ids.js';
import type { Outbox } from '../notifications/outbox.js';
import { decodeCursor, type Page, type PageRequest, toPage } from '../store/pagination.js';
import type { Database, DisclosuresTable } from '../store/schema.js';
import { inTransaction } from '../store/transaction.js';
import { HourlyLimiter } from './hourly-limit.js';

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

/** Random bytes of a tracking secret: 256 bits, far beyond guessing (issue 16 §6 asks ≥ 128). */
const SECRET_BYTES = 32;
/** What a tracking secret can look like: base64url, today 43 characters (earlier reports had 24). */
const SECRET_SHAPE = /^[A-Za-z0-9_-]{20,64}$/;

/**
 * Coordinated vulnerability disclosure intake (CRA Annex I Part II(5), ETSI EN 303 645 5.2-1): a
 * researcher submits without an account and gets a tracking secret, the capability behind their
 * private tracking link (disclosure-thread.ts). Only the secret's SHA-256 is stored. Submissions
 * are limited per address and per organisation per hour.
 */
export class DisclosureService {
  readonly #db: Kysely<Database>;
  readonly #clock: Clock;
  readonly #audit: AuditLog;
  readonly #limiter: HourlyLimiter;

  readonly #outbox: Outbox;

  constructor(deps: { db: Kysely<Database>; clock: Clock; audit: AuditLog; outbox: Outbox }) {
    this.#outbox = deps.outbox;
    this.#db = deps.db;
    this.#clock = deps.clock;
    this.#audit = deps.audit;
    this.#limiter = new HourlyLimiter(deps.clock);
  }

  #limit(key: string, max: number): void {
    this.#limiter.take(key, max, 'too many reports from here in the last hour; try again later');
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
    const token = randomBytes(SECRET_BYTES).toString('base64url');
    const now = this.#clock.now().toISOString();
    const id = newId('dsc');
    await inTransaction(this.#db, async (trx) => {
      await trx
        .insertInto('disclosures')
        .values({
          id,
          org_id: orgId,
          tracking_token_hash: hashTrackingSecret(token),
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
      // Issue 18 §4: the security team hears of it; the title only (the text stays in brickless).
      await this.#outbox.record(orgId, 'disclosure.received', { disclosureId: id, title }, trx);
    });
    return { trackingId: token, status: 'received' };
  }

  /**
   * The report a tracking secret opens, or a plain `not-found`. The lookup goes by the secret's
   * SHA-256 (an index on the hash), so its timing depends on the hash, never on how much of a
   * guessed secret was right; a malformed secret is refused before any query, with the same 404.
   */
  async bySecret(secret: string): Promise<DisclosuresTable> {
    if (!SECRET_SHAPE.test(secret)) throw notFound('report', 'tracking link');
    const row = await this.#db
      .selectFrom('disclosures')
      .selectAll()
      .where('tracking_token_hash', '=', hashTrackingSecret(secret))
      .executeTakeFirst();
    if (!row) throw notFound('report', 'tracking link');
    return row;
  }

  async list(orgId: string, status?: DisclosureStatus): Promise<Disclosure[]> {
    let q = this.#db.selectFrom('disclosures').selectAll().where('org_id', '=', orgId);
    if (status) q = q.where('status', '=', status);
    return (await q.orderBy('id', 'desc').limit(1000).execute()).map(toDisclosure);
  }

  /** One page, newest first (keyset on the id, which sorts by time: pagination.ts). */
  async page(
    orgId: string,
    status: DisclosureStatus | undefined,
    page: PageRequest,
  ): Promise<Page<Disclosure>> {
    let q = this.#db.selectFrom('disclosures').selectAll().where('org_id', '=', orgId);
    if (status) q = q.where('status', '=', status);
    const before = decodeCursor(page.cursor);
    if (before) q = q.where('id', '<', before);
    return toPage(
      await q
        .orderBy('id', 'desc')
        .limit(page.limit + 1)
        .execute(),
      page.limit,
      toDisclosure,
    );
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

/** What is stored of a tracking secret: its SHA-256, hex. */
export function hashTrackingSecret(secret: string): string {
  return createHash('sha256').update(secret).digest('hex');
}

export function toDisclosure(r: DisclosuresTable): Disclosure {
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
