import {
  type CapabilityModel,
  MAX_READINGS_PER_BATCH,
  type TelemetryBatch,
  telemetryBatchSchema,
} from '@brickless/protocol';
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import { type Kysely, sql } from 'kysely';
import type { Clock } from '../clock.js';
import { DomainError, notFound } from '../errors.js';
import { ProductModelCache } from '../fleet/model-cache.js';
import { BatchWriter } from '../store/batch-writer.js';
import type { Database, TelemetryTable } from '../store/schema.js';
import { inTransaction } from '../store/transaction.js';

const addFormats = addFormatsModule as unknown as (ajv: Ajv2020) => Ajv2020;

export interface IngestSource {
  deviceId: string;
  orgId: string;
  productId: string;
}

/** Why a telemetry message was refused; sent back to the device as an error reply. */
export class TelemetryRejected extends Error {
  readonly code: string;
  constructor(code: string, message: string) {
    super(message);
    this.code = code;
  }
}

export interface SeriesPoint {
  time: string;
  value: number | boolean | string;
}
export interface AggregatePoint {
  time: string;
  min: number | null;
  max: number | null;
  avg: number | null;
  count: number;
}
export interface SeriesQuery {
  field: string;
  from?: string;
  to?: string;
  /** Aggregate into buckets of this many milliseconds (numbers only). */
  bucketMs?: number;
  limit: number;
}

/** How far a device clock may run ahead before a reading is refused as from the future. */
const MAX_CLOCK_SKEW_MS = 5 * 60 * 1000;
const INSERT_CHUNK = 500;

/**
 * Telemetry: validates batches against the protocol and the product's capability model, writes
 * them through the batch writer, and answers series and aggregate queries.
 */
export class TelemetryService {
  readonly #db: Kysely<Database>;
  readonly #clock: Clock;
  readonly #writer: BatchWriter<TelemetryTable>;
  readonly #ajv: Ajv2020;
  readonly #validateBatch: ValidateFunction;
  /** Per product: its telemetry validators. */
  readonly #models: ProductModelCache<Map<string, ValidateFunction>>;

  constructor(deps: { db: Kysely<Database>; clock: Clock }, options: { maxRows?: number } = {}) {
    this.#db = deps.db;
    this.#clock = deps.clock;
    this.#ajv = addFormats(new Ajv2020({ strict: false, allErrors: false }));
    this.#validateBatch = this.#ajv.compile(telemetryBatchSchema);
    this.#models = new ProductModelCache(
      deps.db,
      (model) =>
        new Map(
          Object.entries(model.telemetry).map(([name, field]) => [name, this.#ajv.compile(field.schema)]),
        ),
    );
    this.#writer = new BatchWriter((rows) => this.#commit(rows), options);
  }

  async #commit(rows: TelemetryTable[]): Promise<void> {
    await inTransaction(this.#db, async (trx) => {
      for (let i = 0; i < rows.length; i += INSERT_CHUNK) {
        await trx
          .insertInto('telemetry')
          .values(rows.slice(i, i + INSERT_CHUNK))
          .execute();
      }
    });
  }

  async #fieldValidators(productId: string): Promise<Map<string, ValidateFunction>> {
    const fields = await this.#models.get(productId);
    if (!fields) throw new TelemetryRejected('unknown-product', 'the device’s product no longer exists');
    return fields;
  }

  /**
   * Validates a telemetry message and stores it; resolves after its batch committed. Throws
   * TelemetryRejected, storing nothing of the message, when any part of it is invalid.
   */
  async ingest(source: IngestSource, payload: Buffer | object): Promise<number> {
    let batch: TelemetryBatch;
    if (Buffer.isBuffer(payload)) {
      try {
        batch = JSON.parse(payload.toString('utf8')) as TelemetryBatch;
      } catch {
        throw new TelemetryRejected('malformed-payload', 'payload is not JSON');
      }
    } else batch = payload as TelemetryBatch; // already parsed (device HTTP API)
    if (!this.#validateBatch(batch)) {
      const e = this.#validateBatch.errors?.[0];
      throw new TelemetryRejected(
        'invalid-payload',
        `${e?.instancePath || '/'} ${e?.message ?? 'is not valid'} (max ${MAX_READINGS_PER_BATCH} readings)`,
      );
    }
    const validators = await this.#fieldValidators(source.productId);
    const now = this.#clock.now().getTime();
    const rows: TelemetryTable[] = [];
    batch.readings.forEach((reading, index) => {
      const ts =
        reading.time === undefined
          ? now
          : typeof reading.time === 'number'
            ? reading.time
            : Date.parse(reading.time);
      if (!Number.isFinite(ts) || ts > now + MAX_CLOCK_SKEW_MS) {
        throw new TelemetryRejected('invalid-time', `/readings/${index}/time is in the future or not a time`);
      }
      for (const [field, value] of Object.entries(reading.values)) {
        const validate = validators.get(field);
        if (!validate)
          throw new TelemetryRejected(
            'unknown-field',
            `/readings/${index}/values/${field} is not a telemetry field of this product`,
          );
        if (!validate(value)) {
          throw new TelemetryRejected(
            'invalid-value',
            `/readings/${index}/values/${field} ${validate.errors?.[0]?.message ?? 'is not valid'}`,
          );
        }
        rows.push({
          org_id: source.orgId,
          device_id: source.deviceId,
          field,
          ts,
          num_value: typeof value === 'number' ? value : typeof value === 'boolean' ? (value ? 1 : 0) : null,
          text_value: typeof value === 'string' ? value : null,
        });
      }
    });
    await this.#writer.write(rows);
    return rows.length;
  }

  async series(
    orgId: string,
    deviceId: string,
    query: SeriesQuery,
  ): Promise<SeriesPoint[] | AggregatePoint[]> {
    const device = await this.#db
      .selectFrom('devices')
      .innerJoin('products', 'products.id', 'devices.product_id')
      .select('products.capabilities')
      .where('devices.org_id', '=', orgId)
      .where('devices.id', '=', deviceId)
      .executeTakeFirst();
    if (!device) throw notFound('device', deviceId);
    const type = (JSON.parse(device.capabilities) as CapabilityModel).telemetry[query.field]?.schema.type;
    if (!type) {
      throw new DomainError(
        'validation-failed',
        `/field: ${query.field} is not a telemetry field of this device's product`,
        [{ field: '/field', message: 'not a telemetry field of the product' }],
      );
    }
    if (query.bucketMs && type !== 'number' && type !== 'integer') {
      throw new DomainError(
        'validation-failed',
        `/bucket: ${query.field} is a ${type}; only numbers aggregate`,
        [{ field: '/bucket', message: 'only numeric fields aggregate' }],
      );
    }
    const from = query.from ? Date.parse(query.from) : 0;
    const to = query.to ? Date.parse(query.to) : Number.MAX_SAFE_INTEGER;
    if (from > to)
      throw new DomainError('validation-failed', 'from must not be after to', [
        { field: '/from', message: 'after to' },
      ]);
    const base = this.#db
      .selectFrom('telemetry')
      .where('org_id', '=', orgId)
      .where('device_id', '=', deviceId)
      .where('field', '=', query.field)
      .where('ts', '>=', from)
      .where('ts', '<=', to);
    if (query.bucketMs) {
      const size = Math.floor(query.bucketMs);
      // A literal, not a parameter: drivers bind JS numbers as REAL, which would make the
      // division fractional on SQLite. `size` is an integer computed here, never client text.
      const bucket = sql<number>`(ts / ${sql.lit(size)}) * ${sql.lit(size)}`;
      const rows = await base
        .select([
          bucket.as('bucket'),
          (eb) => eb.fn.min('num_value').as('min'),
          (eb) => eb.fn.max('num_value').as('max'),
          (eb) => eb.fn.avg('num_value').as('avg'),
          (eb) => eb.fn.countAll().as('count'),
        ])
        .groupBy(bucket)
        .orderBy(bucket)
        .limit(query.limit)
        .execute();
      return rows.map((r) => ({
        time: new Date(Number(r.bucket)).toISOString(),
        min: r.min === null ? null : Number(r.min),
        max: r.max === null ? null : Number(r.max),
        avg: r.avg === null ? null : Number(r.avg),
        count: Number(r.count),
      }));
    }
    const rows = await base
      .select(['ts', 'num_value', 'text_value'])
      .orderBy('ts')
      .limit(query.limit)
      .execute();
    return rows.map((r) => ({
      time: new Date(Number(r.ts)).toISOString(),
      value:
        type === 'string'
          ? (r.text_value ?? '')
          : type === 'boolean'
            ? Number(r.num_value) === 1
            : Number(r.num_value),
    }));
  }

  /** Deletes readings older than the cut-off (retention); returns how many. */
  async prune(olderThan: Date): Promise<number> {
    const result = await this.#db
      .deleteFrom('telemetry')
      .where('ts', '<', olderThan.getTime())
      .executeTakeFirst();
    return Number(result.numDeletedRows);
  }

  /**
   * Runs retention every `everyMs`: readings older than `days` days (by the injected clock) go.
   * Returns a function that stops it.
   */
  startRetention(days: number, everyMs: number, onError: (error: unknown) => void): () => void {
    if (days <= 0) return () => {};
    const run = () => {
      const cutoff = new Date(this.#clock.now().getTime() - days * 86_400_000);
      this.prune(cutoff).catch(onError);
    };
    run();
    const timer = setInterval(run, everyMs);
    timer.unref();
    return () => clearInterval(timer);
  }

  drain(): Promise<void> {
    return this.#writer.drain();
  }
}
