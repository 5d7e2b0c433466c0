import type { CapabilityModel } from '@brickless/protocol';
import { Ajv2020 } from 'ajv/dist/2020.js';
import type { Kysely } from 'kysely';
import type { AuditLog } from '../audit/service.js';
import type { Bus } from '../bus/bus.js';
import type { Clock } from '../clock.js';
import { conflict, DomainError, type ErrorField, notFound } from '../errors.js';
import { assertStillControlled } from '../fleet/device-scope.js';
import type { Database } from '../store/schema.js';
import { type Executor, inTransaction } from '../store/transaction.js';

export type StateDocument = Record<string, unknown>;

export interface Twin {
  deviceId: string;
  desired: StateDocument;
  desiredVersion: number;
  reported: StateDocument;
  reportedVersion: number;
  /** Desired values the device has not reported yet: what it still has to do. */
  delta: StateDocument;
  updatedAt: string | null;
}

/** A device's reported state that does not fit its product's state model. */
export class StateRejected extends Error {
  readonly code: string;
  constructor(code: string, message: string) {
    super(message);
    this.code = code;
  }
}

export function deltaOf(desired: StateDocument, reported: StateDocument): StateDocument {
  const delta: StateDocument = {};
  for (const [key, value] of Object.entries(desired)) {
    if (JSON.stringify(value) !== JSON.stringify(reported[key])) delta[key] = value;
  }
  return delta;
}

/** Applies a partial update: a key set to null is removed. */
function merge(base: StateDocument, patch: StateDocument): StateDocument {
  const out = { ...base };
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete out[key];
    else out[key] = value;
  }
  return out;
}

/**
 * Device twins: desired and reported state, validated against the product's state model, each
 * versioned. A desired-state write names the version it was based on and fails with a conflict
 * when someone else changed it since (optimistic concurrency). Publishes `twin.desired` on the bus
 * after a change, so that the node holding the device sends it its delta.
 */
export class TwinService {
  readonly #db: Kysely<Database>;
  readonly #bus: Bus;
  readonly #clock: Clock;
  readonly #audit: AuditLog;
  readonly #ajv = new Ajv2020({ strict: false });

  constructor(deps: { db: Kysely<Database>; clock: Clock; audit: AuditLog; bus: Bus }) {
    this.#db = deps.db;
    this.#bus = deps.bus;
    this.#clock = deps.clock;
    this.#audit = deps.audit;
  }

  async #model(db: Executor, orgId: string, deviceId: string): Promise<CapabilityModel['state']> {
    const row = await db
      .selectFrom('devices')
      .innerJoin('products', 'products.id', 'devices.product_id')
      .select('products.capabilities')
      .where('devices.org_id', '=', orgId)
      .where('devices.id', '=', deviceId)
      .where('devices.deleted_at', 'is', null)
      .executeTakeFirst();
    if (!row) throw notFound('device', deviceId);
    return (JSON.parse(row.capabilities) as CapabilityModel).state;
  }

  /** Problems of a state patch against the model; `writableOnly` for desired state. */
  #check(model: CapabilityModel['state'], patch: StateDocument, writableOnly: boolean): ErrorField[] {
    const problems: ErrorField[] = [];
    for (const [key, value] of Object.entries(patch)) {
      // Keys come from the device or the user: `toString` is a name, not Object.prototype's method.
      const prop = Object.hasOwn(model, key) ? model[key] : undefined;
      if (!prop) problems.push({ field: `/state/${key}`, message: 'not a state property of this product' });
      else if (writableOnly && !prop.writable)
        problems.push({ field: `/state/${key}`, message: 'read-only: only the device reports it' });
      else if (value !== null && !this.#ajv.validate(prop.schema, value)) {
        problems.push({ field: `/state/${key}`, message: this.#ajv.errors?.[0]?.message ?? 'is not valid' });
      }
    }
    return problems;
  }

  async #row(db: Executor, deviceId: string) {
    return db.selectFrom('device_twins').selectAll().where('device_id', '=', deviceId).executeTakeFirst();
  }

  async get(orgId: string, deviceId: string, db: Executor = this.#db): Promise<Twin> {
    await this.#model(db, orgId, deviceId);
    return toTwin(deviceId, await this.#row(db, deviceId));
  }

  /** The twin of a connected device (no organisation check: the gateway authenticated it). */
  async forDevice(deviceId: string): Promise<Twin> {
    return toTwin(deviceId, await this.#row(this.#db, deviceId));
  }

  async setDesired(
    actor: string,
    orgId: string,
    deviceId: string,
    expectedVersion: number,
    patch: StateDocument,
  ): Promise<Twin> {
    let change = '';
    const twin = await inTransaction(this.#db, async (trx) => {
      const model = await this.#model(trx, orgId, deviceId);
      await assertStillControlled(trx, deviceId);
      const problems = this.#check(model, patch, true);
      if (problems.length > 0) {
        throw new DomainError(
          'validation-failed',
          problems.map((p) => `${p.field}: ${p.message}`).join('; '),
          problems,
        );
      }
      const current = toTwin(deviceId, await this.#row(trx, deviceId));
      if (current.desiredVersion !== expectedVersion) {
        throw conflict(
          `desired state is at version ${current.desiredVersion}, not ${expectedVersion}: read it again and retry`,
        );
      }
      const desired = merge(current.desired, patch);
      const now = this.#clock.now().toISOString();
      const next = { ...current, desired, desiredVersion: current.desiredVersion + 1, updatedAt: now };
      // The version check in the WHERE clause makes a concurrent writer's update miss, on both dialects.
      const written = current.updatedAt
        ? await trx
            .updateTable('device_twins')
            .set({ desired: JSON.stringify(desired), desired_version: next.desiredVersion, updated_at: now })
            .where('device_id', '=', deviceId)
            .where('desired_version', '=', expectedVersion)
            .executeTakeFirst()
        : await trx
            .insertInto('device_twins')
            .values({
              device_id: deviceId,
              org_id: orgId,
              desired: JSON.stringify(desired),
              desired_version: 1,
              reported: '{}',
              reported_version: 0,
              updated_at: now,
            })
            .onConflict((oc) => oc.column('device_id').doNothing())
            .executeTakeFirst();
      const changed =
        'numUpdatedRows' in written
          ? Number(written.numUpdatedRows)
          : Number(written.numInsertedOrUpdatedRows ?? 0n);
      if (changed !== 1) throw conflict('desired state changed meanwhile: read it again and retry');
      const entry = await this.#audit.append(trx, orgId, {
        actor,
        action: 'device.state.desired',
        targetType: 'device',
        targetId: deviceId,
        details: { version: next.desiredVersion, patch },
      });
      change = entry.id;
      return { ...next, delta: deltaOf(desired, current.reported) };
    });
    this.#bus.publish('twin.desired', { deviceId, change });
    return twin;
  }

  /** Merges a device's report; returns the twin after it. Throws StateRejected when invalid. */
  async report(orgId: string, deviceId: string, patch: unknown): Promise<Twin> {
    if (!patch || typeof patch !== 'object' || Array.isArray(patch))
      throw new StateRejected('invalid-payload', 'state must be an object');
    return inTransaction(this.#db, async (trx) => {
      const model = await this.#model(trx, orgId, deviceId);
      const problems = this.#check(model, patch as StateDocument, false);
      if (problems.length > 0)
        throw new StateRejected('invalid-state', problems.map((p) => `${p.field}: ${p.message}`).join('; '));
      const current = toTwin(deviceId, await this.#row(trx, deviceId));
      const reported = merge(current.reported, patch as StateDocument);
      const now = this.#clock.now().toISOString();
      if (current.updatedAt) {
        await trx
          .updateTable('device_twins')
          .set({
            reported: JSON.stringify(reported),
            reported_version: current.reportedVersion + 1,
            updated_at: now,
          })
          .where('device_id', '=', deviceId)
          .execute();
      } else {
        await trx
          .insertInto('device_twins')
          .values({
            device_id: deviceId,
            org_id: orgId,
            desired: '{}',
            desired_version: 0,
            reported: JSON.stringify(reported),
            reported_version: 1,
            updated_at: now,
          })
          .execute();
      }
      return {
        ...current,
        reported,
        reportedVersion: current.reportedVersion + 1,
        delta: deltaOf(current.desired, reported),
        updatedAt: now,
      };
    });
  }
}

function toTwin(deviceId: string, row: Database['device_twins'] | undefined): Twin {
  if (!row)
    return {
      deviceId,
      desired: {},
      desiredVersion: 0,
      reported: {},
      reportedVersion: 0,
      delta: {},
      updatedAt: null,
    };
  const desired = JSON.parse(row.desired) as StateDocument;
  const reported = JSON.parse(row.reported) as StateDocument;
  return {
    deviceId,
    desired,
    desiredVersion: Number(row.desired_version),
    reported,
    reportedVersion: Number(row.reported_version),
    delta: deltaOf(desired, reported),
    updatedAt: row.updated_at,
  };
}
