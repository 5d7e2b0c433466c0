import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { type Kysely, sql } from 'kysely';
import { every } from '../jobs.js';
import type { Dialect } from '../store/db.js';
import type { Database } from '../store/schema.js';
import { dbNow, millis } from './db-time.js';

/** Heartbeat and expiry of nodes (config `cluster.heartbeatMs`, `cluster.expiryMs`; docs/architecture.md). */
export interface NodeTimings {
  heartbeatMs: number;
  /** A node silent this long is dead: its devices go offline, its job leases are free. */
  expiryMs: number;
}

export const defaultNodeTimings: NodeTimings = { heartbeatMs: 2_000, expiryMs: 10_000 };

/**
 * The default node id (config `cluster.nodeId` overrides it): the host name and the HTTP port.
 * Stable across restarts, so a restarted node clears its own stale presence records at once
 * (gateway start), and unique on a host, since two processes cannot listen on one port. Not a
 * suffix kept in the data dir: nodes on one host may share their data dir (master key, TLS
 * material). A port of 0 (tests, one-off runs) has no stable number: a random suffix then.
 */
export function defaultNodeId(httpPort: number): string {
  return httpPort > 0 ? `${hostname()}:${httpPort}` : `${hostname()}-${randomBytes(4).toString('hex')}`;
}

export interface NodeRegistryDeps {
  db: Kysely<Database>;
  dialect: Dialect;
  logger: {
    info(details: object, message: string): void;
    warn(details: object, message: string): void;
    error(details: object, message: string): void;
  };
}

export interface NodeIdentity {
  id: string;
  /** host:port where it serves, for operators; set when known (after listen). */
  address?: string | null;
  version: string;
}

type Hook = () => Promise<unknown>;

/**
 * This node's row in `nodes` (migration 0028): registered at start, its heartbeat written every
 * `heartbeatMs`, removed at a clean stop. The row carries a random instance per process, so a
 * second process started under the same id is noticed (the first logs an error at every beat)
 * and never shares the first one's job leases (they are held by `<id>#<instance>`).
 */
export class NodeRegistry {
  readonly id: string;
  readonly instance = randomBytes(6).toString('hex');
  readonly timings: NodeTimings;
  readonly #deps: NodeRegistryDeps;
  #address: string | null;
  readonly #version: string;
  readonly #beatHooks: Hook[] = [];
  readonly #revivedHooks: Hook[] = [];
  #stops: (() => void)[] = [];
  #started = false;
  #displaced = false;

  constructor(deps: NodeRegistryDeps, identity: NodeIdentity, timings: Partial<NodeTimings> = {}) {
    this.#deps = deps;
    this.id = identity.id;
    this.#address = identity.address ?? null;
    this.#version = identity.version;
    this.timings = { ...defaultNodeTimings, ...timings };
    checkNodeTimings(this.timings);
    if (!this.id || this.id.length > 200 || /[\s#]/.test(this.id))
      throw new Error(`node id ${JSON.stringify(this.id)}: 1 to 200 characters, no spaces and no '#'`);
  }

  /** Who holds a job lease: this process, not only this node id. */
  get holder(): string {
    return `${this.id}#${this.instance}`;
  }

  get started(): boolean {
    return this.#started;
  }

  /** Runs after every heartbeat (the gateway drops sessions that moved to another node). */
  onBeat(hook: Hook): void {
    this.#beatHooks.push(hook);
  }

  /** Runs when this node finds it was declared dead while it was not (the gateway re-asserts presence). */
  onRevived(hook: Hook): void {
    this.#revivedHooks.push(hook);
  }

  /** Registers this node, then beats every `heartbeatMs`. */
  async start(address?: string): Promise<void> {
    if (this.#started) return;
    if (address) this.#address = address;
    const { db, dialect, logger } = this.#deps;
    const previous = await db
      .selectFrom('nodes')
      .select(['instance', 'last_seen', dbNow(dialect).as('now')])
      .where('id', '=', this.id)
      .executeTakeFirst();
    if (previous && Number(previous.now) - Number(previous.last_seen) < this.timings.expiryMs)
      logger.warn(
        { node: this.id },
        'a node of this id beat a moment ago: a restart after a crash, or a second process with the same cluster.nodeId (then give each its own)',
      );
    await this.#register();
    this.#started = true;
    const onError = (what: string) => (error: unknown) =>
      logger.warn({ err: error, node: this.id }, `node ${what} failed`);
    this.#stops = [
      stopper(every(this.timings.heartbeatMs, () => this.beat(), onError('heartbeat'))),
      // Apart from the beat, so that slow hooks never delay the heartbeat into a false death.
      stopper(every(this.timings.heartbeatMs, () => this.#runHooks(this.#beatHooks), onError('beat hook'))),
    ];
  }

  async #register(): Promise<void> {
    const { db, dialect } = this.#deps;
    const now = dbNow(dialect);
    const row = {
      instance: this.instance,
      started_at: now,
      last_seen: now,
      address: this.#address,
      version: this.#version,
    };
    await db
      .insertInto('nodes')
      .values({ id: this.id, ...row })
      .onConflict((oc) => oc.column('id').doUpdateSet(row))
      .execute();
  }

  /** One heartbeat; tests call it to beat without waiting. */
  async beat(): Promise<void> {
    const { db, dialect, logger } = this.#deps;
    const result = await db
      .updateTable('nodes')
      .set({ last_seen: dbNow(dialect) })
      .where('id', '=', this.id)
      .where('instance', '=', this.instance)
      .executeTakeFirst();
    if (Number(result.numUpdatedRows) === 1) {
      this.#displaced = false;
      return;
    }
    const row = await db.selectFrom('nodes').select('instance').where('id', '=', this.id).executeTakeFirst();
    if (row) {
      if (!this.#displaced)
        logger.error(
          { node: this.id },
          'another process registered this node id: give every node its own cluster.nodeId; presence records of both are mixed until then',
        );
      this.#displaced = true;
      return;
    }
    // The reaper took this node for dead (no heartbeat for expiryMs: a stalled process or database)
    // and marked its devices offline; they are still connected here, so say so again.
    logger.warn(
      { node: this.id },
      'this node was declared dead; registering again and re-asserting presence',
    );
    await this.#register();
    await this.#runHooks(this.#revivedHooks);
  }

  async #runHooks(hooks: Hook[]): Promise<void> {
    for (const hook of hooks) {
      try {
        await hook();
      } catch (error) {
        this.#deps.logger.warn({ err: error, node: this.id }, 'node hook failed');
      }
    }
  }

  /** A clean stop: no more beats, and the row goes (after the gateway wrote its devices offline). */
  async stop(): Promise<void> {
    if (!this.#started) return;
    this.halt();
    await this.#deps.db
      .deleteFrom('nodes')
      .where('id', '=', this.id)
      .where('instance', '=', this.instance)
      .execute();
  }

  /** Stops beating without a word, as a process killed with -9 would (tests). */
  halt(): void {
    for (const stop of this.#stops) stop();
    this.#stops = [];
    this.#started = false;
  }
}

function stopper(timer: NodeJS.Timeout): () => void {
  return () => clearInterval(timer);
}

/** Refuses timings that cannot work: a node must be able to miss two beats before it counts as dead. */
export function checkNodeTimings(timings: NodeTimings): void {
  if (!(timings.heartbeatMs >= 10)) throw new Error('cluster.heartbeatMs must be at least 10');
  if (!(timings.expiryMs >= 3 * timings.heartbeatMs))
    throw new Error(
      `cluster.expiryMs (${timings.expiryMs}) must be at least three heartbeats (3 × cluster.heartbeatMs = ${3 * timings.heartbeatMs})`,
    );
}

/** The nodes alive now (beat within expiryMs), oldest first. */
export async function aliveNodes(
  db: Kysely<Database>,
  dialect: Dialect,
  expiryMs: number,
): Promise<{ id: string; startedAt: number; lastSeen: number; address: string | null; version: string }[]> {
  const now = dbNow(dialect);
  const rows = await db
    .selectFrom('nodes')
    .selectAll()
    .where('last_seen', '>', sql<number>`${now} - ${expiryMs}`)
    .orderBy('started_at')
    .execute();
  return rows.map((r) => ({
    id: r.id,
    startedAt: millis(r.started_at) ?? 0,
    lastSeen: millis(r.last_seen) ?? 0,
    address: r.address,
    version: r.version,
  }));
}
