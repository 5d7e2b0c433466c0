import {
  type Expression,
  type ExpressionBuilder,
  type Kysely,
  type SqlBool,
  sql,
  type Transaction,
} from 'kysely';
import type { Clock } from '../clock.js';
import { PRESENCE_DISCONNECTED } from '../gateway/presence.js';
import { newId } from '../ids.js';
import type { Dialect } from '../store/db.js';
import type { Database } from '../store/schema.js';
import { dbNow } from './db-time.js';

export interface ReaperDeps {
  db: Kysely<Database>;
  dialect: Dialect;
  /** The domain clock: the time of the presence events written. */
  clock: Clock;
}

/** Rows per insert of presence events (well under either dialect's bound-value limit). */
const EVENT_CHUNK = 500;

/**
 * The presence reaper (issue 19 §2), run by one node at a time (lease `presence-reaper`): every
 * node silent for `expiryMs` is removed from `nodes` and its devices are marked offline, each
 * with a `presence.disconnected` event as the recorder writes (gateway/presence.ts). Both in one
 * transaction per node: a node that was only stalled and beats again waits for it, finds its row
 * gone and re-asserts its devices after it (cluster/nodes.ts), never before. `last_seen_at` stays:
 * it is the last time the device was really seen.
 */
export async function reapDeadNodes(
  deps: ReaperDeps,
  expiryMs: number,
): Promise<{ nodes: string[]; devices: number }> {
  const { db, dialect } = deps;
  const dead = await db
    .selectFrom('nodes')
    .select('id')
    .where('last_seen', '<=', sql<number>`${dbNow(dialect)} - ${expiryMs}`)
    .execute();
  const reaped: string[] = [];
  let devices = 0;
  for (const { id } of dead) {
    const count = await db.transaction().execute(async (trx) => {
      const gone = await trx
        .deleteFrom('nodes')
        .where('id', '=', id)
        .where('last_seen', '<=', sql<number>`${dbNow(dialect)} - ${expiryMs}`)
        .executeTakeFirst();
      // It beat meanwhile: alive after all.
      if (Number(gone.numDeletedRows) === 0) return null;
      return markOffline(trx, deps.clock, (eb) => eb('connected_node', '=', id));
    });
    if (count === null) continue;
    reaped.push(id);
    devices += count;
  }
  return { nodes: reaped, devices };
}

/**
 * Devices naming a node that has no row at all: nodes from before migration 0028 (their id was
 * the host name), or a row removed at a clean stop whose last presence writes failed. Rare and
 * slow to find on a large fleet (it reads the whole connected_node index), so a job of its own
 * with a long period (lease `presence-orphans`).
 */
export async function reapOrphans(deps: ReaperDeps): Promise<number> {
  return deps.db
    .transaction()
    .execute((trx) =>
      markOffline(trx, deps.clock, (eb) =>
        eb.and([
          eb('connected_node', 'is not', null),
          eb('connected_node', 'not in', eb.selectFrom('nodes').select('id')),
        ]),
      ),
    );
}

type DeviceFilter = (eb: ExpressionBuilder<Database, 'devices'>) => Expression<SqlBool>;

async function markOffline(trx: Transaction<Database>, clock: Clock, filter: DeviceFilter): Promise<number> {
  const rows = await trx
    .updateTable('devices')
    .set({ online: 0, connected_node: null })
    .where(filter)
    .returning(['id', 'org_id'])
    .execute();
  const now = clock.now();
  const at = now.toISOString();
  for (let i = 0; i < rows.length; i += EVENT_CHUNK) {
    await trx
      .insertInto('device_events')
      .values(
        rows.slice(i, i + EVENT_CHUNK).map((row) => ({
          id: newId('evt', now),
          org_id: row.org_id,
          device_id: row.id,
          name: PRESENCE_DISCONNECTED,
          severity: 'info',
          time: at,
          data: 'null',
          received_at: at,
        })),
      )
      .execute();
  }
  return rows.length;
}
