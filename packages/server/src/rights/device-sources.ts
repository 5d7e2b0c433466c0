import type { Kysely } from 'kysely';
import type { Database } from '../store/schema.js';
import type { HeldDevice, OwnerDataSource } from './sources.js';

const PAGE = 1000;
const ms = (iso: string) => new Date(iso).getTime();
const dir = (d: HeldDevice) => `devices/${d.deviceId}`;

/**
 * One field's readings of a device from `fromMs` on, in pages by time. Rows sharing the last
 * time of a full page are read together, so keyset paging on a non-unique time loses none.
 */
async function* readings(
  db: Kysely<Database>,
  deviceId: string,
  fromMs: number,
): AsyncIterable<{ time: string; field: string; value: number | string | null }> {
  const fields = await db
    .selectFrom('telemetry')
    .select('field')
    .distinct()
    .where('device_id', '=', deviceId)
    .where('ts', '>=', fromMs)
    .orderBy('field')
    .execute();
  const out = (r: {
    ts: number | string;
    field: string;
    num_value: number | null;
    text_value: string | null;
  }) => ({
    time: new Date(Number(r.ts)).toISOString(),
    field: r.field,
    value: r.text_value ?? (r.num_value === null ? null : Number(r.num_value)),
  });
  for (const { field } of fields) {
    const base = () =>
      db
        .selectFrom('telemetry')
        .select(['ts', 'field', 'num_value', 'text_value'])
        .where('device_id', '=', deviceId)
        .where('field', '=', field);
    let after = fromMs - 1;
    for (;;) {
      const page = await base().where('ts', '>', after).orderBy('ts').limit(PAGE).execute();
      if (page.length < PAGE) {
        yield* page.map(out);
        break;
      }
      const last = Number(page[page.length - 1]?.ts);
      yield* page.filter((r) => Number(r.ts) < last).map(out);
      yield* (await base().where('ts', '=', last).execute()).map(out);
      after = last;
    }
  }
}

async function* commands(db: Kysely<Database>, device: HeldDevice) {
  let after = { at: '', id: '' };
  for (;;) {
    const page = await db
      .selectFrom('commands')
      .select([
        'id',
        'name',
        'params',
        'status',
        'created_by',
        'created_at',
        'delivered_at',
        'completed_at',
        'result',
      ])
      .where('device_id', '=', device.deviceId)
      .where('created_at', '>=', device.since)
      .where((eb) =>
        eb.or([
          eb('created_at', '>', after.at),
          eb.and([eb('created_at', '=', after.at), eb('id', '>', after.id)]),
        ]),
      )
      .orderBy('created_at')
      .orderBy('id')
      .limit(PAGE)
      .execute();
    for (const c of page)
      yield {
        id: c.id,
        name: c.name,
        params: JSON.parse(c.params) as unknown,
        status: c.status,
        // Staff are named by role only: who at the maker sent it is the maker's record.
        sentBy: c.created_by.startsWith('owner:') ? c.created_by : 'maker',
        sentAt: c.created_at,
        deliveredAt: c.delivered_at,
        completedAt: c.completed_at,
        result: c.result === null ? null : (JSON.parse(c.result) as unknown),
      };
    const last = page[page.length - 1];
    if (!last || page.length < PAGE) return;
    after = { at: last.created_at, id: last.id };
  }
}

async function* events(db: Kysely<Database>, device: HeldDevice) {
  let after = { at: '', id: '' };
  for (;;) {
    const page = await db
      .selectFrom('device_events')
      .select(['id', 'name', 'severity', 'time', 'data', 'received_at'])
      .where('device_id', '=', device.deviceId)
      .where('received_at', '>=', device.since)
      .where((eb) =>
        eb.or([
          eb('received_at', '>', after.at),
          eb.and([eb('received_at', '=', after.at), eb('id', '>', after.id)]),
        ]),
      )
      .orderBy('received_at')
      .orderBy('id')
      .limit(PAGE)
      .execute();
    yield* page.map((e) => ({ ...e, data: JSON.parse(e.data) as unknown }));
    const last = page[page.length - 1];
    if (!last || page.length < PAGE) return;
    after = { at: last.received_at, id: last.id };
  }
}

async function* csvOf<T>(rows: AsyncIterable<T>, pick: (row: T) => unknown[]): AsyncIterable<unknown[]> {
  for await (const row of rows) yield pick(row);
}

/** Telemetry readings and device events of the ownership period (taken or received since the claim). */
export const telemetrySource: OwnerDataSource = {
  name: 'telemetry',
  describe:
    'devices/<id>/telemetry.json and .csv: every reading since you claimed the device (time, field, value). ' +
    'devices/<id>/events.json and .csv: what the device reported as events since then.',
  async export(ctx, sink) {
    for (const d of ctx.owned) {
      await sink.jsonRows(`${dir(d)}/telemetry.json`, readings(ctx.db, d.deviceId, ms(d.since)));
      await sink.csv(
        `${dir(d)}/telemetry.csv`,
        ['time', 'field', 'value'],
        csvOf(readings(ctx.db, d.deviceId, ms(d.since)), (r) => [r.time, r.field, r.value]),
      );
      await sink.jsonRows(`${dir(d)}/events.json`, events(ctx.db, d));
      await sink.csv(
        `${dir(d)}/events.csv`,
        ['received_at', 'time', 'name', 'severity', 'data'],
        csvOf(events(ctx.db, d), (e) => [e.received_at, e.time, e.name, e.severity, JSON.stringify(e.data)]),
      );
    }
  },
  async delete(ctx) {
    let count = 0;
    for (const d of ctx.owned) {
      const from = ms(d.since);
      // Device time may run ahead of ours: the range ends at the latest reading deleted, or now.
      const newest = await ctx.trx
        .selectFrom('telemetry')
        .select((eb) => eb.fn.max('ts').as('ts'))
        .where('device_id', '=', d.deviceId)
        .where('ts', '>=', from)
        .executeTakeFirst();
      const to = Math.max(ms(ctx.at), Number(newest?.ts ?? 0));
      const gone = await ctx.trx
        .deleteFrom('telemetry')
        .where('device_id', '=', d.deviceId)
        .where('ts', '>=', from)
        .where('ts', '<=', to)
        .executeTakeFirst();
      ctx.tombstone({
        table: 'telemetry',
        scopeColumn: 'device_id',
        scopeValue: d.deviceId,
        time: { column: 'ts', from, to },
      });
      const receipts = await ctx.trx
        .deleteFrom('telemetry_receipts')
        .where('device_id', '=', d.deviceId)
        .where('received_at', '>=', from)
        .executeTakeFirst();
      const ev = await ctx.trx
        .deleteFrom('device_events')
        .where('device_id', '=', d.deviceId)
        .where('received_at', '>=', d.since)
        .where('received_at', '<=', ctx.at)
        .executeTakeFirst();
      ctx.tombstone({
        table: 'device_events',
        scopeColumn: 'device_id',
        scopeValue: d.deviceId,
        time: { column: 'received_at', from: d.since, to: ctx.at },
      });
      count += Number(gone.numDeletedRows) + Number(ev.numDeletedRows) + Number(receipts.numDeletedRows);
    }
    return count;
  },
};

/** Commands sent to the device since the claim. */
export const commandSource: OwnerDataSource = {
  name: 'commands',
  describe:
    'devices/<id>/commands.json and .csv: commands sent to the device since you claimed it, with their results.',
  async export(ctx, sink) {
    for (const d of ctx.owned) {
      await sink.jsonRows(`${dir(d)}/commands.json`, commands(ctx.db, d));
      await sink.csv(
        `${dir(d)}/commands.csv`,
        ['sent_at', 'name', 'status', 'sent_by', 'completed_at', 'params', 'result'],
        csvOf(commands(ctx.db, d), (c) => [
          c.sentAt,
          c.name,
          c.status,
          c.sentBy,
          c.completedAt,
          JSON.stringify(c.params),
          c.result === null ? null : JSON.stringify(c.result),
        ]),
      );
    }
  },
  async delete(ctx) {
    let count = 0;
    for (const d of ctx.owned) {
      const gone = await ctx.trx
        .deleteFrom('commands')
        .where('device_id', '=', d.deviceId)
        .where('created_at', '>=', d.since)
        .where('created_at', '<=', ctx.at)
        .executeTakeFirst();
      ctx.tombstone({
        table: 'commands',
        scopeColumn: 'device_id',
        scopeValue: d.deviceId,
        time: { column: 'created_at', from: d.since, to: ctx.at },
      });
      count += Number(gone.numDeletedRows);
    }
    return count;
  },
};

/**
 * The twin: the device's last reported state and the state asked of it. It holds the current
 * state only (no history); deletion empties both documents and moves their versions on, so the
 * device and the maker's apps see a new, empty state rather than an older version number.
 */
export const twinSource: OwnerDataSource = {
  name: 'twins',
  describe:
    'devices/<id>/twin.json: the state the device last reported and the state asked of it (current state; no history is kept).',
  async export(ctx, sink) {
    for (const d of ctx.owned) {
      const twin = await ctx.db
        .selectFrom('device_twins')
        .selectAll()
        .where('device_id', '=', d.deviceId)
        .executeTakeFirst();
      await sink.json(`${dir(d)}/twin.json`, {
        reported: JSON.parse(twin?.reported ?? '{}') as unknown,
        reportedVersion: Number(twin?.reported_version ?? 0),
        desired: JSON.parse(twin?.desired ?? '{}') as unknown,
        desiredVersion: Number(twin?.desired_version ?? 0),
        updatedAt: twin?.updated_at ?? null,
      });
    }
  },
  async delete(ctx) {
    let count = 0;
    for (const d of ctx.owned) {
      const done = await ctx.trx
        .updateTable('device_twins')
        .set((eb) => ({
          reported: '{}',
          desired: '{}',
          reported_version: eb('reported_version', '+', 1),
          desired_version: eb('desired_version', '+', 1),
          updated_at: ctx.at,
        }))
        .where('device_id', '=', d.deviceId)
        .executeTakeFirst();
      // An older deposit's twin (last changed before now) is removed on restore.
      ctx.tombstone({
        table: 'device_twins',
        scopeColumn: 'device_id',
        scopeValue: d.deviceId,
        time: { column: 'updated_at', from: '', to: new Date(ms(ctx.at) - 1).toISOString() },
      });
      count += Number(done.numUpdatedRows);
    }
    return count;
  },
};

/** Update history: kept by the maker (CRA evidence of delivered security updates), exported to the owner. */
export const updateSource: OwnerDataSource = {
  name: 'updates',
  describe:
    'devices/<id>/updates.json: the firmware update steps the device reported since you claimed it. The maker keeps these after a deletion: they show which security updates reached which device (CRA), and name no person.',
  async export(ctx, sink) {
    for (const d of ctx.owned) {
      const rows = await ctx.db
        .selectFrom('update_reports')
        .select(['id', 'release_id', 'rollout_id', 'step', 'reason', 'message', 'time'])
        .where('device_id', '=', d.deviceId)
        .where('time', '>=', d.since)
        .orderBy('time')
        .orderBy('id')
        .execute();
      await sink.json(`${dir(d)}/updates.json`, rows);
    }
  },
  async delete() {
    return 0;
  },
};
