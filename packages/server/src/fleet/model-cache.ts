import type { CapabilityModel } from '@brickless/protocol';
import type { Kysely } from 'kysely';
import type { Database } from '../store/schema.js';

const RECHECK_MS = 1000;

/**
 * What the ingest paths derive from a product's capability model (compiled validators), per
 * product. Hot path: at most one product lookup per product a second, not one per message, and a
 * rebuild only when the product changed; a changed model takes effect within a second.
 */
export class ProductModelCache<T> {
  readonly #db: Kysely<Database>;
  readonly #build: (model: CapabilityModel) => T;
  readonly #entries = new Map<string, { updatedAt: string; checkedAt: number; value: T }>();

  constructor(db: Kysely<Database>, build: (model: CapabilityModel) => T) {
    this.#db = db;
    this.#build = build;
  }

  /** The derived value for the product, or null when the product no longer exists. */
  async get(productId: string): Promise<T | null> {
    const cached = this.#entries.get(productId);
    if (cached && performance.now() - cached.checkedAt < RECHECK_MS) return cached.value;
    const row = await this.#db
      .selectFrom('products')
      .select(['capabilities', 'updated_at'])
      .where('id', '=', productId)
      .executeTakeFirst();
    if (!row) {
      this.#entries.delete(productId);
      return null;
    }
    if (cached && cached.updatedAt === row.updated_at) {
      cached.checkedAt = performance.now();
      return cached.value;
    }
    const model = { telemetry: {}, state: {}, commands: {}, events: {}, ...JSON.parse(row.capabilities) };
    const value = this.#build(model as CapabilityModel);
    this.#entries.set(productId, { updatedAt: row.updated_at, checkedAt: performance.now(), value });
    return value;
  }
}
