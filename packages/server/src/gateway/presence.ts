import type { FastifyBaseLogger } from 'fastify';
import type { Kysely } from 'kysely';
import type { Clock } from '../clock.js';
import { newId } from '../ids.js';
import type { Database } from '../store/schema.js';

export interface PresenceDeps {
  db: Kysely<Database>;
  clock: Clock;
  /** This node's name in presence records. */
  nodeId: string;
  logger: FastifyBaseLogger;
}

/**
 * The names of the presence events in a device's event history (GET …/devices/{id}/events): a
 * product's own event names cannot contain a dot (CAPABILITY_NAME_PATTERN), so these never clash.
 */
export const PRESENCE_CONNECTED = 'presence.connected';
export const PRESENCE_DISCONNECTED = 'presence.disconnected';

/** Connects and disconnects waiting to be written to the event history; beyond it they are dropped. */
const MAX_TRANSITIONS = 10_000;

interface Transition {
  id: string;
  deviceId: string;
  online: boolean;
  time: string;
}

export interface PresenceOptions {
  /**
   * How long a change waits for others to join its batch when nothing is being written. 0 by
   * default: presence is written at once (the API and the rollout engine read it right after a
   * connect), and what arrives while a batch is being written forms the next batch (group commit).
   */
  delayMs?: number;
  /** Devices per statement (SQLite allows 32,766 bound values; PostgreSQL 65,535). */
  maxItems?: number;
  /** First delay before a failed batch is written again; doubles up to maxRetryMs. */
  retryMs?: number;
  maxRetryMs?: number;
}

/**
 * Records which devices are online and on which node, and when each was last seen.
 *
 * One UPDATE per connect and disconnect was lost under a reconnect storm: thousands of them
 * queued for the pooled connections, waited past the pool's acquire timeout and failed, and
 * devices that were connected stayed marked offline, so the rollout engine, which offers updates
 * only to devices it can reach, never offered them one. Here the latest change per device wins,
 * changes are written in batches (two statements per batch, two more for the event history), and
 * a batch that fails is written again later unless a newer change for the same device superseded
 * it: presence converges to the connections this node really holds.
 */
export class PresenceRecorder {
  readonly #deps: PresenceDeps;
  readonly #delayMs: number;
  readonly #maxItems: number;
  readonly #retryMs: number;
  readonly #maxRetryMs: number;
  /** Latest unwritten change per device: true for online, false for offline. Insertion-ordered. */
  readonly #pending = new Map<string, boolean>();
  /** Pending online writes that yield to another node's record (re-assertions). */
  readonly #unlessTakenOver = new Set<string>();
  /** Every connect and disconnect in order, for the device's event history (its presence timeline). */
  readonly #transitions: Transition[] = [];
  #droppedTransitions = 0;
  #timer: NodeJS.Timeout | null = null;
  #draining: Promise<void> | null = null;
  #failures = 0;
  #closed = false;

  constructor(deps: PresenceDeps, options: PresenceOptions = {}) {
    this.#deps = deps;
    this.#delayMs = options.delayMs ?? 0;
    this.#maxItems = options.maxItems ?? 1000;
    this.#retryMs = options.retryMs ?? 250;
    this.#maxRetryMs = options.maxRetryMs ?? 5000;
  }

  /** Notes that a device connected to (online) or left (offline) this node. */
  record(deviceId: string, online: boolean, options: { unlessTakenOver?: boolean } = {}): void {
    // Re-inserted so that the map's order stays the order of the latest changes.
    this.#pending.delete(deviceId);
    this.#pending.set(deviceId, online);
    // A re-assertion after a stall (cluster/cluster.ts) must not take back a device another node
    // holds by now; a connect here always takes it (the device chose this node).
    if (online && options.unlessTakenOver) this.#unlessTakenOver.add(deviceId);
    else this.#unlessTakenOver.delete(deviceId);
    // The history keeps each change (the state above only the latest); under a reconnect storm
    // that outruns the database it loses changes rather than memory, and says how many.
    // The event's id is taken now, so the history orders the connect before whatever the device
    // sent right after it, though the batch is written later.
    if (this.#transitions.length < MAX_TRANSITIONS) {
      const now = this.#deps.clock.now();
      this.#transitions.push({ id: newId('evt', now), deviceId, online, time: now.toISOString() });
    } else this.#droppedTransitions += 1;
    this.#schedule(this.#failures === 0 ? this.#delayMs : this.#backoff());
  }

  /** Changes not yet written (tests read it). */
  get pending(): number {
    return this.#pending.size;
  }

  /**
   * Writes every pending change now. Resolves when they are written, rejects with the storage's
   * error if a batch fails (which stays pending and is retried unless the recorder is closed).
   */
  flush(): Promise<void> {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
    // One writer at a time, so two changes of one device are never written out of order.
    this.#draining ??= this.#drain().finally(() => {
      this.#draining = null;
      if (this.#pending.size > 0 || this.#transitions.length > 0)
        this.#schedule(this.#failures === 0 ? this.#delayMs : this.#backoff());
    });
    return this.#draining;
  }

  async #drain(): Promise<void> {
    while (this.#pending.size > 0 || this.#transitions.length > 0) await this.#writeBatch();
  }

  /** Writes what is pending once, then stops retrying (the node is shutting down). */
  async close(): Promise<void> {
    try {
      await this.flush();
    } catch (error) {
      this.#deps.logger.warn(
        { err: error, pending: this.#pending.size },
        'presence not written at shutdown; the next start of this node clears its records',
      );
    } finally {
      this.#closed = true;
      if (this.#timer) clearTimeout(this.#timer);
      this.#timer = null;
    }
  }

  #schedule(delayMs: number): void {
    if (this.#closed || this.#timer || this.#draining) return;
    this.#timer = setTimeout(() => {
      this.#timer = null;
      this.flush().catch(() => undefined); // logged in #writeBatch; retried by its schedule
    }, delayMs);
    this.#timer.unref?.();
  }

  #backoff(): number {
    return Math.min(this.#maxRetryMs, this.#retryMs * 2 ** Math.max(0, this.#failures - 1));
  }

  async #writeBatch(): Promise<void> {
    const batch = [...this.#pending].slice(0, this.#maxItems);
    for (const [deviceId] of batch) this.#pending.delete(deviceId);
    const online = batch.filter(([, on]) => on).map(([deviceId]) => deviceId);
    const offline = batch.filter(([, on]) => !on).map(([deviceId]) => deviceId);
    const transitions = this.#transitions.splice(0, this.#maxItems);
    const seen = this.#deps.clock.now().toISOString();
    const { nodeId } = this.#deps;
    try {
      const { db } = this.#deps;
      const conditional = online.filter((id) => this.#unlessTakenOver.has(id));
      const plain = online.filter((id) => !this.#unlessTakenOver.has(id));
      if (plain.length > 0) {
        await db
          .updateTable('devices')
          .set({ online: 1, connected_node: nodeId, last_seen_at: seen })
          .where('id', 'in', plain)
          .execute();
      }
      if (conditional.length > 0) {
        const kept = await db
          .updateTable('devices')
          .set({ online: 1, connected_node: nodeId, last_seen_at: seen })
          .where('id', 'in', conditional)
          .where((eb) => eb.or([eb('connected_node', '=', nodeId), eb('connected_node', 'is', null)]))
          .returning('id')
          .execute();
        for (const id of conditional) this.#unlessTakenOver.delete(id);
        // A device another node holds now keeps its record and its history says nothing here:
        // this node's stale session for it ends at the next takeover check.
        const held = new Set(kept.map((row) => row.id));
        for (let i = transitions.length - 1; i >= 0; i--) {
          const change = transitions[i] as Transition;
          if (change.online && conditional.includes(change.deviceId) && !held.has(change.deviceId))
            transitions.splice(i, 1);
        }
      }
      if (offline.length > 0) {
        // Going offline only clears a record this node holds (or nobody does): the device may
        // already be connected to another node, which wrote its own record.
        const cleared = await db
          .updateTable('devices')
          .set({ online: 0, connected_node: null, last_seen_at: seen })
          .where('id', 'in', offline)
          .where((eb) => eb.or([eb('connected_node', '=', nodeId), eb('connected_node', 'is', null)]))
          .returning('id')
          .execute();
        // Nor does its history say "disconnected" then (issue 19 §2): the late end of a session
        // another node took over is not the device leaving.
        if (cleared.length < offline.length) {
          const done = new Set(cleared.map((row) => row.id));
          const movedOn = new Set(offline.filter((id) => !done.has(id)));
          for (let i = transitions.length - 1; i >= 0; i--) {
            const change = transitions[i] as Transition;
            if (!change.online && movedOn.has(change.deviceId)) transitions.splice(i, 1);
          }
        }
      }
      this.#failures = 0;
    } catch (error) {
      this.#transitions.unshift(...transitions);
      // Put back what no newer change superseded, in front of what arrived meanwhile.
      const newer = [...this.#pending];
      this.#pending.clear();
      for (const [deviceId, on] of batch) this.#pending.set(deviceId, on);
      for (const [deviceId, on] of newer) {
        this.#pending.delete(deviceId);
        this.#pending.set(deviceId, on);
      }
      this.#failures += 1;
      this.#deps.logger.warn(
        { err: error, devices: batch.length, attempt: this.#failures },
        'presence update failed; retrying',
      );
      throw error;
    }
    // The history is written apart: a failing event insert never holds back online and offline.
    try {
      await this.#writeEvents(transitions);
    } catch (error) {
      if (this.#transitions.length + transitions.length <= MAX_TRANSITIONS)
        this.#transitions.unshift(...transitions);
      else this.#droppedTransitions += transitions.length;
      this.#deps.logger.warn(
        { err: error, events: transitions.length },
        'presence events not written; retrying',
      );
    }
  }

  /** Writes connects and disconnects into the devices' event histories (one read, one insert). */
  async #writeEvents(transitions: Transition[]): Promise<void> {
    if (transitions.length === 0) return;
    const { db, logger } = this.#deps;
    if (this.#droppedTransitions > 0) {
      logger.warn({ dropped: this.#droppedTransitions }, 'presence events dropped: too many waiting');
      this.#droppedTransitions = 0;
    }
    const ids = [...new Set(transitions.map((change) => change.deviceId))];
    const owners = await db.selectFrom('devices').select(['id', 'org_id']).where('id', 'in', ids).execute();
    const orgOf = new Map(owners.map((row) => [row.id, row.org_id]));
    const now = this.#deps.clock.now();
    const rows = transitions.flatMap((change) => {
      const orgId = orgOf.get(change.deviceId);
      if (!orgId) return []; // deleted meanwhile
      return [
        {
          id: change.id,
          org_id: orgId,
          device_id: change.deviceId,
          name: change.online ? PRESENCE_CONNECTED : PRESENCE_DISCONNECTED,
          severity: 'info',
          time: change.time,
          data: 'null',
          received_at: now.toISOString(),
        },
      ];
    });
    // An id written before a lost commit is written again on the retry: the row is there already.
    if (rows.length > 0)
      await db
        .insertInto('device_events')
        .values(rows)
        .onConflict((conflict) => conflict.column('id').doNothing())
        .execute();
  }
}
