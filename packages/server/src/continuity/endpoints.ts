import { createPrivateKey, sign } from 'node:crypto';
// The verifier alone: the SDK's index loads the MQTT client and tuf-js, which a server start
// does not need (issue 15).
import { verifyEndpointRecord } from '@brickless/device/verify';
import {
  ENDPOINT_RECORD_TYPE,
  type EndpointRecord,
  type EndpointRecordBody,
  type EndpointStatus,
  endpointRecordProblems,
} from '@brickless/protocol';
import { canonicalize } from '@tufjs/canonical-json';
import type { Kysely } from 'kysely';
import type { AuditInput, AuditLog } from '../audit/service.js';
import type { Bus } from '../bus/bus.js';
import type { Clock } from '../clock.js';
import { conflict, DomainError, notFound } from '../errors.js';
import type { Outbox } from '../notifications/outbox.js';
import type { OwnerEventData } from '../owner-notices/catalogue.js';
import { BatchWriter } from '../store/batch-writer.js';
import type { Database } from '../store/schema.js';
import { inTransaction } from '../store/transaction.js';
import type { PrivateKeyFile } from '../updates/keys.js';
import type { UpdateRepository } from '../updates/repository.js';

export interface PublishedRecord {
  version: number;
  /** Sunset records: what the maker tells owners and authorities (CRA Art. 13(23)). */
  notice: { message: string } | null;
  mode: 'cloud' | 'local';
  products: string[] | null;
  record: EndpointRecord;
  createdAt: string;
  createdBy: string;
}

export interface HandoverStatus {
  current: PublishedRecord | null;
  devices: {
    /** Live devices the current record applies to. */
    total: number;
    /** Reported `arrived` under the current record: they talk to this server now. */
    arrived: number;
    /** Reported `moving`: they accepted it and left this server. */
    movedAway: number;
    /** Reported `local`: in local mode. */
    local: number;
    /** Reported `refused` (the reason is in the device's record). */
    refused: number;
    /** Not heard from under the current record yet. */
    pending: number;
  };
  /** Share of devices that acted on the current record (arrived, moved away or local). */
  share: number;
}

/** Signs an endpoint record body with key files (root keys or the escrow key), as `handover create|sign` does. */
export function signEndpointRecord(
  record: EndpointRecord | EndpointRecordBody,
  keys: PrivateKeyFile[],
): EndpointRecord {
  const envelope: EndpointRecord = 'signed' in record ? record : { signed: record, signatures: [] };
  const message = Buffer.from(canonicalize(envelope.signed));
  const signatures = envelope.signatures.filter((s) => !keys.some((k) => k.keyid === s.keyid));
  for (const key of keys)
    signatures.push({
      keyid: key.keyid,
      sig: sign(null, message, createPrivateKey(key.private)).toString('hex'),
    });
  return { signed: envelope.signed, signatures };
}

/** A new record body with the fields every record has. */
export function endpointRecordBody(
  fields: Omit<EndpointRecordBody, '_type' | 'spec_version'>,
): EndpointRecordBody {
  // Canonical JSON has no `undefined`: absent fields are left out, not signed as holes.
  const defined = Object.fromEntries(Object.entries(fields).filter(([, v]) => v !== undefined));
  return { _type: ENDPOINT_RECORD_TYPE, spec_version: '1.0', ...defined } as EndpointRecordBody;
}

/**
 * Endpoint records (docs/continuity.md, "Handover" and "Sunset"): published after checking them
 * against the organisation's current TUF root, versioned per organisation, pushed to devices by
 * the gateway and served to devices that were offline; and where each device stands with them.
 */
export class EndpointService {
  readonly #db: Kysely<Database>;
  readonly #bus: Bus;
  readonly #clock: Clock;
  readonly #audit: AuditLog;
  readonly #repository: UpdateRepository;
  readonly #outbox: Outbox | null;
  /** Devices' reports, written a batch per transaction (a whole fleet reports within seconds). */
  readonly #reports: BatchWriter<{ orgId: string; deviceId: string; status: EndpointStatus }>;

  constructor(deps: {
    db: Kysely<Database>;
    clock: Clock;
    audit: AuditLog;
    bus: Bus;
    repository: UpdateRepository;
    /** A sunset is told to the owners of the products' devices (issue 18 §3). */
    outbox?: Outbox;
  }) {
    this.#bus = deps.bus;
    this.#outbox = deps.outbox ?? null;
    this.#db = deps.db;
    this.#clock = deps.clock;
    this.#audit = deps.audit;
    this.#repository = deps.repository;
    // A fleet that arrives together reports together: one batch is written at a time, and what
    // arrives meanwhile goes into the next (one lock on the audit chain per batch, not per report).
    this.#reports = new BatchWriter((reports) => this.#writeReports(reports), { maxRows: 500 });
  }

  /**
   * A sunset: a local-mode record for one product, with the end-of-support notice owners and the
   * market surveillance authority are given (CRA Art. 13(23)); published like any record.
   */
  async sunset(
    actor: string,
    orgId: string,
    productId: string,
    value: unknown,
    message: string,
  ): Promise<PublishedRecord> {
    // Another organisation's product is not found, exactly like a missing one.
    const product = await this.#db
      .selectFrom('products')
      .select('id')
      .where('org_id', '=', orgId)
      .where('id', '=', productId)
      .executeTakeFirst();
    if (!product) throw notFound('product', productId);
    const record = value as EndpointRecord;
    if (
      record?.signed?.mode !== 'local' ||
      record.signed.products?.length !== 1 ||
      record.signed.products[0] !== productId
    )
      throw new DomainError(
        'validation-failed',
        `a sunset record has mode "local" and products [${JSON.stringify(productId)}]`,
      );
    if (message.trim().length === 0 || message.length > 20_000)
      throw new DomainError(
        'validation-failed',
        'the notice message must say something (at most 20,000 characters)',
      );
    return this.publish(actor, orgId, value, { message: message.replace(/\r\n/g, '\n') });
  }

  async publish(
    actor: string,
    orgId: string,
    value: unknown,
    notice?: { message: string },
  ): Promise<PublishedRecord> {
    const problems = endpointRecordProblems(value);
    if (problems.length > 0)
      throw new DomainError(
        'validation-failed',
        `endpoint record: ${problems.join('; ')}`,
        problems.map((message) => ({ field: '/record', message })),
      );
    const record = value as EndpointRecord;
    if (record.signed.org !== orgId)
      throw new DomainError(
        'validation-failed',
        `endpoint record is for organisation ${record.signed.org}, not ${orgId}`,
      );
    const root = await this.#repository.currentRootDocument(orgId);
    if (!root)
      throw conflict(
        'the organisation has no TUF root yet: an endpoint record is checked against it (brickless updates init)',
      );
    const verdict = verifyEndpointRecord(record, root);
    if (!verdict.ok)
      throw new DomainError(
        'validation-failed',
        `endpoint record refused (${verdict.reason}): ${verdict.message}`,
      );
    if (record.signed.products) {
      const known = await this.#db
        .selectFrom('products')
        .select('id')
        .where('org_id', '=', orgId)
        .where('id', 'in', record.signed.products)
        .execute();
      const unknown = record.signed.products.filter((p) => !known.some((k) => k.id === p));
      if (unknown.length > 0) throw notFound('product', unknown.join(', '));
    }
    const now = this.#clock.now().toISOString();
    let change = '';
    const published = await inTransaction(this.#db, async (trx) => {
      const latest = await trx
        .selectFrom('endpoint_records')
        .select((eb) => eb.fn.max('version').as('v'))
        .where('org_id', '=', orgId)
        .executeTakeFirst();
      const latestVersion = Number(latest?.v ?? 0);
      if (record.signed.version <= latestVersion)
        throw conflict(
          `endpoint record version ${record.signed.version} is not newer than the published version ${latestVersion}`,
        );
      await trx
        .insertInto('endpoint_records')
        .values({
          org_id: orgId,
          version: record.signed.version,
          mode: record.signed.mode,
          products: record.signed.products ? JSON.stringify(record.signed.products) : null,
          document: JSON.stringify(record),
          notice: notice ? JSON.stringify(notice) : null,
          created_at: now,
          created_by: actor,
        })
        .execute();
      const entry = await this.#audit.append(trx, orgId, {
        actor,
        action: record.signed.mode === 'local' ? 'endpoint.sunset' : 'endpoint.handover',
        targetType: 'endpoint-record',
        targetId: String(record.signed.version),
        details: {
          mode: record.signed.mode,
          ...(record.signed.mqtt ? { mqtt: record.signed.mqtt, http: record.signed.http } : {}),
          products: record.signed.products ?? 'all',
          signatures: record.signatures.map((s) => s.keyid),
        },
      });
      change = entry.id;
      // CRA Art. 13(23), Annex II (8); ETSI EN 303 645 5.11: owners are told the service ends,
      // how their devices go on in local mode, and where to take their data out.
      if (this.#outbox && record.signed.mode === 'local') {
        const org = await trx
          .selectFrom('organizations')
          .select('slug')
          .where('id', '=', orgId)
          .executeTakeFirstOrThrow();
        const productIds =
          record.signed.products ??
          (await trx.selectFrom('products').select('id').where('org_id', '=', orgId).execute()).map(
            (p) => p.id,
          );
        for (const productId of productIds)
          await this.#outbox.record(
            orgId,
            'owner.sunset',
            {
              productId,
              orgSlug: org.slug,
              recordVersion: record.signed.version,
              publishedAt: now,
              message: notice?.message ?? '',
            } satisfies OwnerEventData['owner.sunset'],
            trx,
          );
      }
      return {
        version: record.signed.version,
        mode: record.signed.mode,
        products: record.signed.products ?? null,
        notice: notice ?? null,
        record,
        createdAt: now,
        createdBy: actor,
      } satisfies PublishedRecord;
    });
    // Every node pushes the new record to the connected devices it applies to.
    this.#bus.publish('endpoint.published', { orgId, change });
    return published;
  }

  /** A record for one device (an owner's local mode, issue 18 §7): the node holding it pushes it. */
  announceDevice(deviceId: string, change: string): void {
    this.#bus.publish('endpoint.device', { deviceId, change });
  }

  async list(orgId: string): Promise<PublishedRecord[]> {
    const rows = await this.#db
      .selectFrom('endpoint_records')
      .selectAll()
      .where('org_id', '=', orgId)
      .orderBy('version', 'desc')
      .execute();
    return rows.map(toPublished);
  }

  async latest(orgId: string): Promise<PublishedRecord | null> {
    const row = await this.#db
      .selectFrom('endpoint_records')
      .selectAll()
      .where('org_id', '=', orgId)
      .orderBy('version', 'desc')
      .limit(1)
      .executeTakeFirst();
    return row ? toPublished(row) : null;
  }

  /** The newest record for the device's product, when the device has not acted on it yet. */
  async pendingFor(deviceId: string): Promise<EndpointRecord | null> {
    const device = await this.#db
      .selectFrom('devices')
      .select(['org_id', 'product_id', 'endpoint_version', 'endpoint_status'])
      .where('id', '=', deviceId)
      .executeTakeFirst();
    if (!device) return null;
    return (
      (await this.#ownerRecords([deviceId])).get(deviceId)?.(device) ??
      pendingRecord(await this.list(device.org_id), device)
    );
  }

  /**
   * Records an owner asked for, for one device each (owners/local-mode.ts): the owner's choice
   * comes before the maker's records, and is pending until the device acted on its version.
   */
  async #ownerRecords(
    deviceIds: string[],
  ): Promise<Map<string, (device: DeviceEndpointState) => EndpointRecord | null>> {
    const found = new Map<string, (device: DeviceEndpointState) => EndpointRecord | null>();
    if (deviceIds.length === 0) return found;
    const rows = await this.#db
      .selectFrom('owner_local_mode')
      .select(['device_id', 'version', 'document'])
      .where('device_id', 'in', deviceIds)
      .execute();
    for (const row of rows)
      found.set(row.device_id, (device) =>
        (device.endpoint_version ?? 0) >= Number(row.version) && device.endpoint_status !== 'refused'
          ? null
          : (JSON.parse(row.document) as EndpointRecord),
      );
    return found;
  }

  /**
   * pendingFor for many devices of one organisation at once: one read of the records and one of
   * the devices per 500, instead of two queries a device (a push to a whole fleet on publish).
   */
  async pendingForMany(orgId: string, deviceIds: string[]): Promise<Map<string, EndpointRecord>> {
    const records = await this.list(orgId);
    const pending = new Map<string, EndpointRecord>();
    for (let i = 0; i < deviceIds.length; i += 500) {
      const devices = await this.#db
        .selectFrom('devices')
        .select(['id', 'product_id', 'endpoint_version', 'endpoint_status'])
        .where('org_id', '=', orgId)
        .where('id', 'in', deviceIds.slice(i, i + 500))
        .execute();
      const owners = await this.#ownerRecords(devices.map((d) => d.id));
      for (const device of devices) {
        const record = owners.get(device.id)?.(device) ?? pendingRecord(records, device);
        if (record) pending.set(device.id, record);
      }
    }
    return pending;
  }

  /** The newest record that applies to a product (for the device HTTP API and the well-known path). */
  async forProduct(orgId: string, productId: string | null): Promise<PublishedRecord | null> {
    return recordForProduct(await this.list(orgId), productId);
  }

  /** `endpoint/status` from a device: what it did with a record. */
  async report(orgId: string, deviceId: string, body: unknown): Promise<EndpointStatus> {
    const status = body as Partial<EndpointStatus> | null;
    if (
      !status ||
      !Number.isSafeInteger(status.version) ||
      !['moving', 'arrived', 'local', 'refused'].includes(status.status as string) ||
      (status.reason !== undefined && (typeof status.reason !== 'string' || status.reason.length > 200))
    )
      throw new DomainError(
        'validation-failed',
        'endpoint status must be {"version": n, "status": "moving"|"arrived"|"local"|"refused", "reason"?}',
      );
    // A device moves only on a record this server published for it (issue 14): a report about any
    // other version would mark it moved (or local) on a record it can never have verified.
    const published = await this.#db
      .selectFrom('endpoint_records')
      .innerJoin('devices', 'devices.org_id', 'endpoint_records.org_id')
      .select(['endpoint_records.products', 'devices.product_id'])
      .where('endpoint_records.org_id', '=', orgId)
      .where('endpoint_records.version', '=', status.version as number)
      .where('devices.id', '=', deviceId)
      .executeTakeFirst();
    const products = published?.products ? (JSON.parse(published.products) as string[]) : null;
    // Or the record the device's owner asked for (owners/local-mode.ts), for this device only.
    const ownRecord = await this.#db
      .selectFrom('owner_local_mode')
      .select('version')
      .where('device_id', '=', deviceId)
      .where('org_id', '=', orgId)
      .where('version', '=', status.version as number)
      .executeTakeFirst();
    if (
      !ownRecord &&
      (!published || (products && !(published.product_id && products.includes(published.product_id))))
    )
      throw conflict(
        `no endpoint record version ${status.version} was published for this device; the report changes nothing`,
      );
    await this.#reports.write([{ orgId, deviceId, status: status as EndpointStatus }]);
    return status as EndpointStatus;
  }

  async #writeReports(reports: { orgId: string; deviceId: string; status: EndpointStatus }[]): Promise<void> {
    const at = this.#clock.now().toISOString();
    // A few statements per batch, whatever its size: devices grouped by what they reported, and
    // one multi-entry append per organisation's chain (in the order the reports arrived).
    const updates = new Map<string, { orgId: string; status: EndpointStatus; deviceIds: string[] }>();
    const entries = new Map<string, AuditInput[]>();
    for (const { orgId, deviceId, status } of reports) {
      const key = JSON.stringify([orgId, status.version, status.status]);
      const group = updates.get(key) ?? { orgId, status, deviceIds: [] };
      group.deviceIds.push(deviceId);
      updates.set(key, group);
      const chain = entries.get(orgId) ?? [];
      chain.push({
        actor: `device:${deviceId}`,
        action: `endpoint.${status.status}`,
        targetType: 'device',
        targetId: deviceId,
        details: { version: status.version, ...(status.reason ? { reason: status.reason } : {}) },
      });
      entries.set(orgId, chain);
    }
    await inTransaction(this.#db, async (trx) => {
      for (const { orgId, status, deviceIds } of updates.values()) {
        await trx
          .updateTable('devices')
          .set({ endpoint_version: status.version, endpoint_status: status.status, endpoint_at: at })
          .where('id', 'in', deviceIds)
          .where('org_id', '=', orgId)
          .execute();
      }
      for (const [orgId, inputs] of entries) await this.#audit.appendMany(trx, orgId, inputs);
    });
  }

  /** Migration progress under the current record. */
  async status(orgId: string): Promise<HandoverStatus> {
    const current = await this.latest(orgId);
    let query = this.#db
      .selectFrom('devices')
      .select((eb) => eb.fn.countAll<number | string>().as('total'))
      .where('org_id', '=', orgId)
      .where('deleted_at', 'is', null);
    if (current?.products) query = query.where('product_id', 'in', current.products);
    const total = Number((await query.executeTakeFirstOrThrow()).total);
    const counts = current
      ? await this.#countsAt(orgId, current)
      : { arrived: 0, movedAway: 0, local: 0, refused: 0 };
    const acted = counts.arrived + counts.movedAway + counts.local;
    return {
      current,
      devices: { total, ...counts, pending: Math.max(0, total - acted - counts.refused) },
      share: total === 0 ? 0 : Math.round((acted / total) * 10000) / 10000,
    };
  }

  async #countsAt(orgId: string, current: PublishedRecord) {
    let query = this.#db
      .selectFrom('devices')
      .select(['endpoint_status', (eb) => eb.fn.countAll<number | string>().as('n')])
      .where('org_id', '=', orgId)
      .where('deleted_at', 'is', null)
      .where('endpoint_version', '>=', current.version)
      .groupBy('endpoint_status');
    if (current.products) query = query.where('product_id', 'in', current.products);
    const by = new Map((await query.execute()).map((r) => [r.endpoint_status, Number(r.n)]));
    return {
      arrived: by.get('arrived') ?? 0,
      movedAway: by.get('moving') ?? 0,
      local: by.get('local') ?? 0,
      refused: by.get('refused') ?? 0,
    };
  }
}

function toPublished(row: Database['endpoint_records']): PublishedRecord {
  return {
    version: Number(row.version),
    mode: row.mode as 'cloud' | 'local',
    products: row.products ? (JSON.parse(row.products) as string[]) : null,
    notice: row.notice ? (JSON.parse(row.notice) as { message: string }) : null,
    record: JSON.parse(row.document) as EndpointRecord,
    createdAt: row.created_at,
    createdBy: row.created_by,
  };
}

/** The newest of `records` (newest first) that applies to a product. */
function recordForProduct(records: PublishedRecord[], productId: string | null): PublishedRecord | null {
  for (const record of records) {
    if (!record.products || (productId && record.products.includes(productId))) return record;
  }
  return null;
}

interface DeviceEndpointState {
  product_id: string | null;
  endpoint_version: number | null;
  endpoint_status: string | null;
}

/** The record a device has not acted on yet (or refused), if any. */
function pendingRecord(records: PublishedRecord[], device: DeviceEndpointState): EndpointRecord | null {
  const record = recordForProduct(records, device.product_id);
  if (!record) return null;
  if ((device.endpoint_version ?? 0) >= record.version && device.endpoint_status !== 'refused') return null;
  return record.record;
}
