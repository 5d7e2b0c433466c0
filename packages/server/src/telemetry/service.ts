import { createHash } from 'node:crypto';
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
import type { JobScheduler } from '../cluster/leases.js';
import { DomainError, notFound } from '../errors.js';
import { ProductModelCache } from '../fleet/model-cache.js';
import { BatchWriter } from '../store/batch-writer.js';
import type { Database, TelemetryTable } from '../store/schema.js';
import { inTransaction } from '../store/transaction.js';
import { dropPartitionsBefore } from './partitions.js';

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
 * How long a message's receipt is kept: a resend within this window is recognised and stored
 * once; one later than this is stored again (docs/protocol.md, "Telemetry").
 */
export const DEDUP_WINDOW_MS = 7 * 86_400_000;

/** What one retention pass removed. */
export interface PruneResult {
  /** Rows deleted one by one (the boundary day, the DEFAULT partition, all of them on SQLite). */
  rows: number;
  /** Day partitions dropped whole (PostgreSQL). */
  partitions: string[];
}

/** A value waiting in the batch writer, with the message it came in. */
interface PendingValue {
  row: TelemetryTable;
  /** The message's deduplication key, or null when it has none (stored as often as it comes). */
  key: string | null;
  /** Which ingest call the value belongs to: two copies of one message in one batch differ here. */
  message: number;
  receivedAt: number;
}

/** What the telemetry path reports beside storing: counters and database health. */
export interface TelemetryObservers {
  /** A batch failed to commit (nothing in it was acknowledged). */
  commitFailed?: (error: unknown) => void;
  /** A batch committed. */
  committed?: () => void;
  /** Messages recognised as already stored (a resend after a lost acknowledgement). */
  duplicates?: (messages: number) => void;
}

/**
 * The deduplication key of a message: the device's own message `id` when it sent one; otherwise,
 * when every reading carries its time, a digest of the message (the same readings at the same
 * times are the same data, so a byte-identical resend is a duplicate by definition); otherwise
 * none, since a reading without a time takes the time it arrives and a resend is a new reading.
 */
export function messageKey(batch: TelemetryBatch): string | null {
  if (typeof batch.id === 'string' && batch.id.length > 0) return `m:${batch.id}`;
  if (batch.readings.every((r) => r.time !== undefined))
    return `h:${createHash('sha256').update(JSON.stringify(batch)).digest('hex')}`;
  return null;
}

/** The bounds of a series query in ms, as the service passes them to the database. */
export interface SeriesBounds {
  field: string;
  from: number;
  to: number;
  limit: number;
}

function seriesBase(db: Kysely<Database>, orgId: string, deviceId: string, q: SeriesBounds) {
  return db
    .selectFrom('telemetry')
    .where('org_id', '=', orgId)
    .where('device_id', '=', deviceId)
    .where('field', '=', q.field)
    .where('ts', '>=', q.from)
    .where('ts', '<=', q.to);
}

/**
 * A series' raw readings, oldest first. Exported so that the plan test and bench/telemetry-plan.ts
 * explain the very query the API runs (partition pruning on `ts`, issue 19 §5).
 */
export function rawSeriesQuery(db: Kysely<Database>, orgId: string, deviceId: string, q: SeriesBounds) {
  return seriesBase(db, orgId, deviceId, q)
    .select(['ts', 'num_value', 'text_value'])
    .orderBy('ts')
    .limit(q.limit);
}

/** A series aggregated per bucket of `bucketMs` (numbers only); exported like rawSeriesQuery. */
export function seriesQuery(
  db: Kysely<Database>,
  orgId: string,
  deviceId: string,
  q: SeriesBounds & { bucketMs: number },
) {
  const size = Math.floor(q.bucketMs);
  // A literal, not a parameter: drivers bind JS numbers as REAL, which would make the
  // division fractional on SQLite. `size` is an integer computed here, never client text.
  const bucket = sql<number>`(ts / ${sql.lit(size)}) * ${sql.lit(size)}`;
  return seriesBase(db, orgId, deviceId, q)
    .select([
      bucket.as('bucket'),
      (eb) => eb.fn.min('num_value').as('min'),
      (eb) => eb.fn.max('num_value').as('max'),
      (eb) => eb.fn.avg('num_value').as('avg'),
      (eb) => eb.fn.countAll().as('count'),
    ])
    .groupBy(bucket)
    .orderBy(bucket)
    .limit(q.limit);
}

/**
 * Telemetry: validates batches against the protocol and the product's capability model, writes
 * them through the batch writer, and answers series and aggregate queries.
 */
export class TelemetryService {
  readonly #db: Kysely<Database>;
  readonly #clock: Clock;
  readonly #writer: BatchWriter<PendingValue>;
  readonly #observers: TelemetryObservers;
  #messages = 0;
  readonly #ajv: Ajv2020;
  /** Compiled on the first batch, not at construction (every start builds the services). */
  #batchValidator: ValidateFunction | undefined;
  /** Per product: its telemetry validators. */
  readonly #models: ProductModelCache<Map<string, ValidateFunction>>;

  constructor(
    deps: { db: Kysely<Database>; clock: Clock; observers?: TelemetryObservers },
    options: { maxRows?: number; retryMs?: number; maxRetryMs?: number } = {},
  ) {
    this.#db = deps.db;
    this.#clock = deps.clock;
    this.#observers = deps.observers ?? {};
    this.#ajv = addFormats(new Ajv2020({ strict: false, allErrors: false }));
    this.#models = new ProductModelCache(
      deps.db,
      (model) =>
        new Map(
          Object.entries(model.telemetry).map(([name, field]) => [name, this.#ajv.compile(field.schema)]),
        ),
    );
    this.#writer = new BatchWriter((rows) => this.#commit(rows), options);
  }

  /**
   * One transaction per batch: the receipts of its keyed messages first (a receipt that already
   * exists is skipped by the unique key, on every node), then the values of the messages whose
   * receipt this transaction wrote, and of those without a key. A message and its receipt commit
   * together or not at all, so a resend after a lost PUBACK, or after a commit whose answer was
   * lost with its connection, finds the receipt and is acknowledged without a second copy.
   */
  async #commit(values: PendingValue[]): Promise<void> {
    let duplicates = 0;
    try {
      await inTransaction(this.#db, async (trx) => {
        // The first message per (device, key) in this batch; later copies in the batch are duplicates.
        const first = new Map<string, number>();
        const receipts: { device_id: string; message_key: string; received_at: number }[] = [];
        for (const v of values) {
          if (v.key === null) continue;
          const id = `${v.row.device_id}\u0000${v.key}`;
          if (first.has(id)) continue;
          first.set(id, v.message);
          receipts.push({ device_id: v.row.device_id, message_key: v.key, received_at: v.receivedAt });
        }
        const fresh = new Set<string>();
        for (let i = 0; i < receipts.length; i += INSERT_CHUNK) {
          const inserted = await trx
            .insertInto('telemetry_receipts')
            .values(receipts.slice(i, i + INSERT_CHUNK))
            .onConflict((oc) => oc.columns(['device_id', 'message_key']).doNothing())
            .returning(['device_id', 'message_key'])
            .execute();
          for (const r of inserted) fresh.add(`${r.device_id}\u0000${r.message_key}`);
        }
        const rows: TelemetryTable[] = [];
        const skipped = new Set<number>();
        for (const v of values) {
          if (v.key !== null) {
            const id = `${v.row.device_id}\u0000${v.key}`;
            if (!fresh.has(id) || first.get(id) !== v.message) {
              skipped.add(v.message);
              continue;
            }
          }
          rows.push(v.row);
        }
        duplicates = skipped.size;
        for (let i = 0; i < rows.length; i += INSERT_CHUNK) {
          await trx
            .insertInto('telemetry')
            .values(rows.slice(i, i + INSERT_CHUNK))
            .execute();
        }
      });
    } catch (error) {
      this.#observers.commitFailed?.(error);
      throw error;
    }
    this.#observers.committed?.();
    if (duplicates > 0) this.#observers.duplicates?.(duplicates);
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
    this.#batchValidator ??= this.#ajv.compile(telemetryBatchSchema);
    if (!this.#batchValidator(batch)) {
      const e = this.#batchValidator.errors?.[0];
      throw new TelemetryRejected(
        'invalid-payload',
        `${e?.instancePath || '/'} ${e?.message ?? 'is not valid'} (max ${MAX_READINGS_PER_BATCH} readings)`,
      );
    }
    const validators = await this.#fieldValidators(source.productId);
    const now = this.#clock.now().getTime();
    const rows: TelemetryTable[] = [];
    const key = messageKey(batch);
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
    const message = ++this.#messages;
    await this.#writer.write(rows.map((row) => ({ row, key, message, receivedAt: now })));
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
    if (query.bucketMs) {
      const rows = await seriesQuery(this.#db, orgId, deviceId, {
        field: query.field,
        from,
        to,
        bucketMs: query.bucketMs,
        limit: query.limit,
      }).execute();
      return rows.map((r) => ({
        time: new Date(Number(r.bucket)).toISOString(),
        min: r.min === null ? null : Number(r.min),
        max: r.max === null ? null : Number(r.max),
        avg: r.avg === null ? null : Number(r.avg),
        count: Number(r.count),
      }));
    }
    const rows = await rawSeriesQuery(this.#db, orgId, deviceId, {
      field: query.field,
      from,
      to,
      limit: query.limit,
    }).execute();
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

  /** Forgets receipts older than the deduplication window; returns how many. */
  async pruneReceipts(): Promise<number> {
    const result = await this.#db
      .deleteFrom('telemetry_receipts')
      .where('received_at', '<', this.#clock.now().getTime() - DEDUP_WINDOW_MS)
      .executeTakeFirst();
    return Number(result.numDeletedRows);
  }

  /**
   * Deletes readings older than the cut-off (retention). On PostgreSQL each day partition that lies
   * wholly before the cut-off is dropped (every row in it is older, so the delete would have
   * removed all of them; docs/architecture.md "Telemetry at scale"), then the remaining older
   * rows (the boundary day, the DEFAULT partition) are deleted one by one, as on SQLite. Returns
   * the rows deleted one by one and the partitions dropped.
   */
  async prune(olderThan: Date): Promise<PruneResult> {
    const cutoff = olderThan.getTime();
    const partitions = await dropPartitionsBefore(this.#db, cutoff);
    const result = await this.#db.deleteFrom('telemetry').where('ts', '<', cutoff).executeTakeFirst();
    return { rows: Number(result.numDeletedRows), partitions };
  }

  /**
   * Runs retention every `everyMs`: readings older than `days` days (by the injected clock) go
   * (none when `days` is 0), and receipts older than the deduplication window. Returns a function
   * that stops it. With `jobs` (serve), each pass runs on one node of a cluster at a time (a lease).
   */
  startRetention(
    days: number,
    everyMs: number,
    onError: (error: unknown) => void,
    jobs?: JobScheduler,
  ): () => void {
    if (jobs)
      return jobs.every(
        'telemetry-retention',
        everyMs,
        async () => {
          // Independent, as without a lease: a failed receipt prune must not hold back retention.
          const [receipts, readings] = await Promise.allSettled([
            this.pruneReceipts(),
            days > 0 ? this.prune(new Date(this.#clock.now().getTime() - days * 86_400_000)) : null,
          ]);
          for (const result of [receipts, readings]) if (result.status === 'rejected') onError(result.reason);
        },
        onError,
      );
    const run = () => {
      this.pruneReceipts().catch(onError);
      if (days <= 0) return;
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
