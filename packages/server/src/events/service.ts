import { type EventBatch, eventBatchSchema, MAX_EVENTS_PER_BATCH } from '@brickless/protocol';
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import type { Kysely } from 'kysely';
import type { Clock } from '../clock.js';
import { assertDeviceInOrg } from '../fleet/device-scope.js';
import { ProductModelCache } from '../fleet/model-cache.js';
import { newId } from '../ids.js';
import { decodeCursor, type Page, toPage } from '../store/pagination.js';
import type { Database, DeviceEventsTable } from '../store/schema.js';
import type { IngestSource } from '../telemetry/service.js';

const addFormats = addFormatsModule as unknown as (ajv: Ajv2020) => Ajv2020;
const MAX_CLOCK_SKEW_MS = 5 * 60 * 1000;
/** Serialised `data` of one event; larger payloads belong in telemetry or an upload. */
const MAX_DATA_BYTES = 16 * 1024;

export class EventRejected extends Error {
  readonly code: string;
  constructor(code: string, message: string) {
    super(message);
    this.code = code;
  }
}

export interface StoredEvent {
  id: string;
  deviceId: string;
  name: string;
  severity: string;
  time: string;
  data: unknown;
  receivedAt: string;
}

interface EventModel {
  severity: string;
  validate: ValidateFunction | null;
}

/**
 * Device events: things that happened (a button press, a tamper alarm), each declared in the
 * product's capability model with the schema of its data and a severity. Stored one row per event.
 */
export class EventService {
  readonly #db: Kysely<Database>;
  readonly #clock: Clock;
  readonly #ajv = addFormats(new Ajv2020({ strict: false, allErrors: false }));
  /** Compiled on the first batch, not at construction (every start builds the services). */
  #batchValidator: ValidateFunction | undefined;
  readonly #models: ProductModelCache<Map<string, EventModel>>;

  constructor(deps: { db: Kysely<Database>; clock: Clock }) {
    this.#db = deps.db;
    this.#clock = deps.clock;
    this.#models = new ProductModelCache(
      deps.db,
      (model) =>
        new Map(
          Object.entries(model.events).map(([name, spec]) => [
            name,
            { severity: spec.severity ?? 'info', validate: spec.data ? this.#ajv.compile(spec.data) : null },
          ]),
        ),
    );
  }

  async #eventModels(productId: string): Promise<Map<string, EventModel>> {
    const events = await this.#models.get(productId);
    if (!events) throw new EventRejected('unknown-product', 'the device’s product no longer exists');
    return events;
  }

  /** Validates an event batch against the protocol and the product's model and stores all of it, or none. */
  async ingest(source: IngestSource, payload: unknown): Promise<StoredEvent[]> {
    const batch = payload as EventBatch;
    this.#batchValidator ??= this.#ajv.compile(eventBatchSchema);
    if (!this.#batchValidator(batch)) {
      const e = this.#batchValidator.errors?.[0];
      throw new EventRejected(
        'invalid-payload',
        `${e?.instancePath || '/'} ${e?.message ?? 'is not valid'} (max ${MAX_EVENTS_PER_BATCH} events)`,
      );
    }
    const models = await this.#eventModels(source.productId);
    const now = this.#clock.now();
    const rows: DeviceEventsTable[] = batch.events.map((event, index) => {
      const model = models.get(event.name);
      if (!model)
        throw new EventRejected(
          'unknown-event',
          `/events/${index}/name: ${event.name} is not an event of this product`,
        );
      if (model.validate ? !model.validate(event.data ?? null) : event.data !== undefined) {
        throw new EventRejected(
          'invalid-value',
          `/events/${index}/data ${model.validate?.errors?.[0]?.message ?? 'must be absent: the event declares no data'}`,
        );
      }
      const ts =
        event.time === undefined
          ? now.getTime()
          : typeof event.time === 'number'
            ? event.time
            : Date.parse(event.time);
      if (!Number.isFinite(ts) || ts > now.getTime() + MAX_CLOCK_SKEW_MS)
        throw new EventRejected('invalid-time', `/events/${index}/time is in the future or not a time`);
      const data = JSON.stringify(event.data ?? null);
      if (Buffer.byteLength(data) > MAX_DATA_BYTES)
        throw new EventRejected('payload-too-large', `/events/${index}/data is over ${MAX_DATA_BYTES} bytes`);
      return {
        id: newId('evt', now),
        org_id: source.orgId,
        device_id: source.deviceId,
        name: event.name,
        severity: model.severity,
        time: new Date(ts).toISOString(),
        data,
        received_at: now.toISOString(),
      };
    });
    await this.#db.insertInto('device_events').values(rows).execute();
    return rows.map(toEvent);
  }

  /** A device's events, newest first. */
  async list(
    orgId: string,
    deviceId: string,
    query: { limit: number; cursor?: string; name?: string; severity?: string; from?: string; to?: string },
  ): Promise<Page<StoredEvent>> {
    await assertDeviceInOrg(this.#db, orgId, deviceId, { includeDeleted: true });
    let q = this.#db
      .selectFrom('device_events')
      .selectAll()
      .where('org_id', '=', orgId)
      .where('device_id', '=', deviceId);
    const after = decodeCursor(query.cursor);
    if (after) q = q.where('id', '<', after);
    if (query.name) q = q.where('name', '=', query.name);
    if (query.severity) q = q.where('severity', '=', query.severity);
    if (query.from) q = q.where('time', '>=', new Date(query.from).toISOString());
    if (query.to) q = q.where('time', '<=', new Date(query.to).toISOString());
    const rows = await q
      .orderBy('id', 'desc')
      .limit(query.limit + 1)
      .execute();
    return toPage(rows, query.limit, toEvent);
  }
}

function toEvent(row: DeviceEventsTable): StoredEvent {
  return {
    id: row.id,
    deviceId: row.device_id,
    name: row.name,
    severity: row.severity,
    time: row.time,
    data: JSON.parse(row.data) as unknown,
    receivedAt: row.received_at,
  };
}
