import type { CapabilityModel } from '@brickless/protocol';
import { Ajv2020 } from 'ajv/dist/2020.js';
import type { Kysely } from 'kysely';
import type { AuditLog } from '../audit/service.js';
import type { Bus } from '../bus/bus.js';
import type { Clock } from '../clock.js';
import { DomainError, notFound } from '../errors.js';
import { assertDeviceInOrg, assertStillControlled } from '../fleet/device-scope.js';
import { newId } from '../ids.js';
import { isUniqueViolation } from '../store/db.js';
import { decodeCursor, type Page, type PageRequest, toPage } from '../store/pagination.js';
import type { CommandsTable, Database } from '../store/schema.js';
import { inTransaction } from '../store/transaction.js';

export const commandStatuses = ['queued', 'delivered', 'succeeded', 'failed', 'expired'] as const;
export type CommandStatus = (typeof commandStatuses)[number];

export interface Command {
  id: string;
  deviceId: string;
  name: string;
  params: unknown;
  status: CommandStatus;
  idempotencyKey: string | null;
  createdBy: string;
  createdAt: string;
  expiresAt: string;
  deliveredAt: string | null;
  completedAt: string | null;
  /** The device's answer: `data` when it succeeded, `error` when it failed. */
  result: unknown;
}

export interface SendCommand {
  name: string;
  params?: unknown;
  ttlSeconds?: number;
  idempotencyKey?: string;
}

/** What the device is sent on `commands/request`. */
export interface CommandRequest {
  id: string;
  name: string;
  params: unknown;
  expiresAt: string;
}

export class CommandResultRejected extends Error {
  readonly code: string;
  constructor(code: string, message: string) {
    super(message);
    this.code = code;
  }
}

export const DEFAULT_TTL_SECONDS = 3600;
export const MAX_TTL_SECONDS = 7 * 24 * 3600;
/** Commands read and marked delivered per transaction. */
export const DELIVERY_PAGE = 100;

/**
 * Commands: validated against the product's command model, queued until the device is there to
 * receive them and no longer than their time-to-live, and completed by the device's result.
 * Publishes `command.queued` on the bus so that the node holding the device delivers at once.
 */
export class CommandService {
  readonly #db: Kysely<Database>;
  readonly #bus: Bus;
  readonly #clock: Clock;
  readonly #audit: AuditLog;
  readonly #ajv = new Ajv2020({ strict: false });

  constructor(deps: { db: Kysely<Database>; clock: Clock; audit: AuditLog; bus: Bus }) {
    this.#db = deps.db;
    this.#clock = deps.clock;
    this.#audit = deps.audit;
    this.#bus = deps.bus;
  }

  /** Wakes the node holding the device: a command for it is in the database (`change`: its audit entry). */
  announce(deviceId: string, change?: string): void {
    this.#bus.publish('command.queued', change ? { deviceId, change } : { deviceId });
  }

  async send(
    actor: string,
    orgId: string,
    deviceId: string,
    input: SendCommand,
  ): Promise<{ command: Command; created: boolean }> {
    const device = await this.#db
      .selectFrom('devices')
      .innerJoin('products', 'products.id', 'devices.product_id')
      .select(['products.capabilities', 'devices.status'])
      .where('devices.org_id', '=', orgId)
      .where('devices.id', '=', deviceId)
      .where('devices.deleted_at', 'is', null)
      .executeTakeFirst();
    if (!device) throw notFound('device', deviceId);
    await assertStillControlled(this.#db, deviceId);
    if (input.idempotencyKey) {
      const existing = await this.#db
        .selectFrom('commands')
        .selectAll()
        .where('device_id', '=', deviceId)
        .where('idempotency_key', '=', input.idempotencyKey)
        .executeTakeFirst();
      if (existing) return { command: toCommand(existing), created: false };
    }
    const commands = (JSON.parse(device.capabilities) as CapabilityModel).commands;
    // The name comes from the user: `toString` is a name, not Object.prototype's method.
    const spec = Object.hasOwn(commands, input.name) ? commands[input.name] : undefined;
    if (!spec) {
      throw new DomainError('validation-failed', `/name: ${input.name} is not a command of this product`, [
        { field: '/name', message: 'not a command of this product' },
      ]);
    }
    const params = input.params ?? {};
    if (spec.params && !this.#ajv.validate(spec.params, params)) {
      const e = this.#ajv.errors?.[0];
      throw new DomainError(
        'validation-failed',
        `/params${e?.instancePath ?? ''}: ${e?.message ?? 'is not valid'}`,
        [{ field: `/params${e?.instancePath ?? ''}`, message: e?.message ?? 'is not valid' }],
      );
    }
    const now = this.#clock.now();
    const ttl = input.ttlSeconds ?? DEFAULT_TTL_SECONDS;
    const command: Command = {
      id: newId('cmd', now),
      deviceId,
      name: input.name,
      params,
      status: 'queued',
      idempotencyKey: input.idempotencyKey ?? null,
      createdBy: actor,
      createdAt: now.toISOString(),
      expiresAt: new Date(now.getTime() + ttl * 1000).toISOString(),
      deliveredAt: null,
      completedAt: null,
      result: null,
    };
    let change: string;
    try {
      change = await inTransaction(this.#db, async (trx) => {
        await trx.insertInto('commands').values(toRow(orgId, command)).execute();
        const entry = await this.#audit.append(trx, orgId, {
          actor,
          action: 'device.command',
          targetType: 'device',
          targetId: deviceId,
          details: { commandId: command.id, name: command.name, params, expiresAt: command.expiresAt },
        });
        return entry.id;
      });
    } catch (error) {
      // Two requests with the same key at once: the loser returns the winner's command.
      if (isUniqueViolation(error) && input.idempotencyKey) return this.send(actor, orgId, deviceId, input);
      throw error;
    }
    this.announce(deviceId, change);
    return { command, created: true };
  }

  async get(orgId: string, deviceId: string, id: string): Promise<Command> {
    const row = await this.#db
      .selectFrom('commands')
      .selectAll()
      .where('org_id', '=', orgId)
      .where('device_id', '=', deviceId)
      .where('id', '=', id)
      .executeTakeFirst();
    if (!row) throw notFound('command', id);
    return toCommand(row);
  }

  /** The device's commands, oldest first, or newest first (a console's history). */
  async list(
    orgId: string,
    deviceId: string,
    page: PageRequest,
    status?: CommandStatus,
    order: 'asc' | 'desc' = 'asc',
  ): Promise<Page<Command>> {
    await assertDeviceInOrg(this.#db, orgId, deviceId, { includeDeleted: true });
    const after = decodeCursor(page.cursor);
    let q = this.#db.selectFrom('commands').selectAll().where('device_id', '=', deviceId);
    if (after) q = q.where('id', order === 'asc' ? '>' : '<', after);
    if (status) q = q.where('status', '=', status);
    const rows = await q
      .orderBy('id', order)
      .limit(page.limit + 1)
      .execute();
    return toPage(rows, page.limit, toCommand);
  }

  /**
   * Commands to send to a device that is listening: queued and not expired, oldest first. They
   * are marked delivered (handed to its connection); a device that reconnects before answering
   * gets delivered ones again, so devices treat a repeated id as already seen. Every waiting
   * command is returned, read and marked a page at a time (one short transaction per page), so a
   * device with more than a page waiting gets all of them without reconnecting (docs/protocol.md).
   */
  async takeForDelivery(deviceId: string): Promise<CommandRequest[]> {
    const now = this.#clock.now().toISOString();
    // Most devices connect with nothing waiting: one read, no transaction (a reconnect storm sends
    // this for every device). A command queued after this read is sent as it is queued.
    const waiting = await this.#db
      .selectFrom('commands')
      .select('id')
      .where('device_id', '=', deviceId)
      .where('status', 'in', ['queued', 'delivered'])
      .where('expires_at', '>', now)
      .limit(1)
      .executeTakeFirst();
    if (!waiting) return [];
    const requests: CommandRequest[] = [];
    let after: string | null = null;
    for (;;) {
      const page = await this.#takePage(deviceId, now, after);
      requests.push(...page);
      if (page.length < DELIVERY_PAGE) return requests;
      after = page[page.length - 1]?.id ?? null;
    }
  }

  async #takePage(deviceId: string, now: string, after: string | null): Promise<CommandRequest[]> {
    return inTransaction(this.#db, async (trx) => {
      let q = trx
        .selectFrom('commands')
        .selectAll()
        .where('device_id', '=', deviceId)
        .where('status', 'in', ['queued', 'delivered'])
        .where('expires_at', '>', now);
      if (after) q = q.where('id', '>', after);
      const rows = await q.orderBy('id').limit(DELIVERY_PAGE).execute();
      const queued = rows.filter((r) => r.status === 'queued').map((r) => r.id);
      if (queued.length > 0) {
        await trx
          .updateTable('commands')
          .set({ status: 'delivered', delivered_at: now })
          .where('id', 'in', queued)
          .execute();
      }
      return rows.map((r) => ({
        id: r.id,
        name: r.name,
        params: JSON.parse(r.params) as unknown,
        expiresAt: r.expires_at,
      }));
    });
  }

  /** Records a device's result for one of its own commands. */
  async complete(deviceId: string, payload: unknown): Promise<Command> {
    const body = payload as { id?: unknown; status?: unknown; data?: unknown; error?: unknown } | null;
    if (!body || typeof body.id !== 'string' || (body.status !== 'ok' && body.status !== 'error')) {
      throw new CommandResultRejected(
        'invalid-payload',
        'a result is {"id": "...", "status": "ok"|"error", "data"|"error": ...}',
      );
    }
    const now = this.#clock.now().toISOString();
    const row = await this.#db
      .selectFrom('commands')
      .selectAll()
      .where('device_id', '=', deviceId)
      .where('id', '=', body.id)
      .executeTakeFirst();
    if (!row) throw new CommandResultRejected('unknown-command', `no command ${body.id} for this device`);
    if (row.status !== 'queued' && row.status !== 'delivered') {
      throw new CommandResultRejected('command-closed', `command ${body.id} is already ${row.status}`);
    }
    if (row.expires_at <= now)
      throw new CommandResultRejected('command-closed', `command ${body.id} expired at ${row.expires_at}`);
    const status: CommandStatus = body.status === 'ok' ? 'succeeded' : 'failed';
    const result = body.status === 'ok' ? { data: body.data ?? null } : { error: body.error ?? null };
    const updated = await this.#db
      .updateTable('commands')
      .set({ status, completed_at: now, result: JSON.stringify(result) })
      .where('id', '=', row.id)
      .where('status', 'in', ['queued', 'delivered'])
      .executeTakeFirst();
    if (Number(updated.numUpdatedRows) !== 1)
      throw new CommandResultRejected('command-closed', `command ${body.id} is already closed`);
    return toCommand({ ...row, status, completed_at: now, result: JSON.stringify(result) });
  }

  /** Marks commands past their time-to-live as expired; returns how many. */
  async expireDue(): Promise<number> {
    const now = this.#clock.now().toISOString();
    const result = await this.#db
      .updateTable('commands')
      .set({ status: 'expired', completed_at: now })
      .where('status', 'in', ['queued', 'delivered'])
      .where('expires_at', '<=', now)
      .executeTakeFirst();
    return Number(result.numUpdatedRows);
  }
}

function toRow(orgId: string, c: Command): CommandsTable {
  return {
    id: c.id,
    org_id: orgId,
    device_id: c.deviceId,
    name: c.name,
    params: JSON.stringify(c.params),
    status: c.status,
    idempotency_key: c.idempotencyKey,
    created_by: c.createdBy,
    created_at: c.createdAt,
    expires_at: c.expiresAt,
    delivered_at: c.deliveredAt,
    completed_at: c.completedAt,
    result: c.result === null ? null : JSON.stringify(c.result),
  };
}

function toCommand(row: CommandsTable): Command {
  return {
    id: row.id,
    deviceId: row.device_id,
    name: row.name,
    params: JSON.parse(row.params) as unknown,
    status: row.status as CommandStatus,
    idempotencyKey: row.idempotency_key,
    createdBy: row.created_by,
    createdAt: row.created_at,
    expiresAt: row.expires_at,
    deliveredAt: row.delivered_at,
    completedAt: row.completed_at,
    result: row.result === null ? null : (JSON.parse(row.result) as unknown),
  };
}
