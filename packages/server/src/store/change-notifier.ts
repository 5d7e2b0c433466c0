import { randomBytes } from 'node:crypto';
import { type Kysely, sql } from 'kysely';
import type pg from 'pg';
import { type AuditEntry, type AuditInput, AuditLog } from '../audit/service.js';
import type { Clock } from '../clock.js';
import type { Services } from '../services.js';
import type { Dialect } from './db.js';
import { loadPg } from './pg-pool.js';
import type { Database } from './schema.js';
import type { Executor } from './transaction.js';

/**
 * Changes made by another process (the CLI in direct mode on the same data dir or database,
 * another node) that a running server must act on at once. The audit entry every such change
 * appends in its own transaction is the record of it, so nothing is written twice: PostgreSQL
 * carries a NOTIFY raised in that transaction (delivered on commit, never for a rollback), and a
 * SQLite server polls the audit log's rowid, which grows with every commit (one writer at a time).
 * docs/decisions/0014-change-notifier.md; with the bus, decision 0028.
 */
export const CHANGE_CHANNEL = 'brickless_changes';

/** The audit actions a running server acts on, and how (see `applyChange`). */
export const LIVE_ACTIONS = [
  'device.credential.revoke',
  'device.credential.issue',
  'device.command',
  'device.state.desired',
  'token.revoke',
  // A device disabled or deleted through another process: its live connection ends here too.
  'device.update',
  'device.delete',
  'endpoint.handover',
  'endpoint.sunset',
  // An owner switched one device to local mode (issue 18 §7): its node pushes the record.
  'device.local-mode',
] as const;
const live = new Set<string>(LIVE_ACTIONS);

export interface Change {
  /** The audit entry id: the same change heard twice (NOTIFY and catch-up) is applied once. */
  id: string;
  chain: string;
  action: string;
  targetId: string;
  /** Only what `applyChange` reads: how many credentials a rotation replaced. */
  replaced: number;
}

const SQLITE_POLL_MS = 250;
/** How far back a PostgreSQL listener reads the audit log after it lost its connection. */
const CATCH_UP_MARGIN_MS = 30_000;
/** Ids remembered to skip own and already-applied changes; older ones cannot come back. */
const REMEMBER_MS = 5 * 60_000;

/**
 * The changes this process applied or wrote itself, by audit entry id, for five minutes: a change
 * reaches a node by up to two paths (the database's notification and the bus, decision 0028) and
 * is applied once, whichever comes first. Ids are kept in insertion order, so forgetting the old
 * ones looks only at the oldest.
 */
export class AppliedChanges {
  readonly #ids = new Map<string, number>();
  readonly #now: () => number;

  constructor(now: () => number) {
    this.#now = now;
  }

  /** True the first time an id comes (the caller applies it), false every time after. */
  claim(id: string): boolean {
    this.#forget();
    if (this.#ids.has(id)) return false;
    this.#ids.set(id, this.#now());
    return true;
  }

  /** An id this process wrote: it acted on it in-process already. */
  add(id: string): void {
    this.#ids.set(id, this.#now());
  }

  has(id: string): boolean {
    return this.#ids.has(id);
  }

  #forget(): void {
    const now = this.#now();
    for (const [id, at] of this.#ids) {
      if (now - at <= REMEMBER_MS) break;
      this.#ids.delete(id);
    }
  }
}

/**
 * The audit log, raising a change notification in the transaction of every entry a running
 * server must act on, and remembering which of those this process wrote itself (it acted on
 * them in-process already).
 */
export class ChangeRecordingAuditLog extends AuditLog {
  readonly #dialect: Dialect;
  readonly #clock: Clock;
  /** This process: its own notifications are not applied a second time. */
  readonly origin = randomBytes(8).toString('hex');
  /** Ids of live entries this process appended, while a listener runs (it forgets them). */
  own: AppliedChanges | null = null;

  constructor(deps: { clock: Clock; dialect: Dialect }) {
    super(deps);
    this.#dialect = deps.dialect;
    this.#clock = deps.clock;
  }

  override async appendMany(trx: Executor, chain: string, inputs: AuditInput[]): Promise<AuditEntry[]> {
    const entries = await super.appendMany(trx, chain, inputs);
    for (const entry of entries) {
      if (!live.has(entry.action)) continue;
      this.own?.add(entry.id);
      if (this.#dialect === 'postgres') {
        const payload = JSON.stringify({ o: this.origin, ...toChange(entry) });
        // Delivered to listeners when the transaction commits, and not at all when it rolls back.
        await sql`select pg_notify(${CHANGE_CHANNEL}, ${payload})`.execute(trx);
      }
    }
    return entries;
  }
}

function toChange(entry: AuditEntry): Change {
  return {
    id: entry.id,
    chain: entry.chain,
    action: entry.action,
    targetId: entry.targetId,
    replaced: Number((entry.details as { replaced?: unknown }).replaced ?? 0) || 0,
  };
}

/**
 * What the server does for a change another process made: what the service itself does in-process,
 * delivered to this node's subscribers only (every node hears the database itself; decision 0028).
 */
export async function applyChange(services: Pick<Services, 'bus' | 'store'>, change: Change): Promise<void> {
  const { bus } = services;
  const ref = { change: change.id };
  switch (change.action) {
    case 'device.credential.revoke':
      bus.deliverLocally('device.revoked', { deviceId: change.targetId, ...ref });
      break;
    case 'device.credential.issue':
      // A rotation: the replaced credential must stop working on the live connection too.
      if (change.replaced > 0) bus.deliverLocally('device.revoked', { deviceId: change.targetId, ...ref });
      break;
    case 'device.command':
      bus.deliverLocally('command.queued', { deviceId: change.targetId, ...ref });
      break;
    case 'device.state.desired':
      bus.deliverLocally('twin.desired', { deviceId: change.targetId, ...ref });
      break;
    case 'token.revoke':
      bus.deliverLocally('token.revoked', { tokenId: change.targetId, ...ref });
      break;
    case 'device.update':
    case 'device.delete': {
      // Only a device that is no longer active loses its connection; other updates change nothing live.
      const device = await services.store.db
        .selectFrom('devices')
        .select('status')
        .where('id', '=', change.targetId)
        .executeTakeFirst();
      if (device && device.status !== 'active')
        bus.deliverLocally('device.revoked', { deviceId: change.targetId, ...ref });
      break;
    }
    case 'device.local-mode':
      bus.deliverLocally('endpoint.device', { deviceId: change.targetId, ...ref });
      break;
    case 'endpoint.handover':
    case 'endpoint.sunset':
      bus.deliverLocally('endpoint.published', { orgId: change.chain, ...ref });
      break;
  }
}

export interface ChangeListenerDeps {
  db: Kysely<Database>;
  dialect: Dialect;
  /** The PostgreSQL URL, for the listener's own connection (LISTEN holds it). */
  database: string;
  audit: ChangeRecordingAuditLog;
  clock: Clock;
  apply: (change: Change) => Promise<void>;
  onError: (error: unknown, context: string) => void;
  /** Shared with the bus, so a change heard both ways is applied once (default: its own). */
  applied?: AppliedChanges;
}

/**
 * Hears changes other processes made and applies them: a dedicated PostgreSQL connection that
 * LISTENs (reconnecting with backoff, and reading what it missed from the audit log), or a
 * 250 ms poll of SQLite's audit log.
 */
export class ChangeListener {
  readonly #deps: ChangeListenerDeps;
  /** Ids already applied or written here; forgotten after REMEMBER_MS. */
  readonly #seen: AppliedChanges;
  #timer: NodeJS.Timeout | null = null;
  #client: pg.Client | null = null;
  #closed = false;
  #lastRowid = 0;
  /** When the PostgreSQL listener lost its connection: it heard everything until then. */
  #lostAt = 0;
  #queue: Promise<void> = Promise.resolve();

  constructor(deps: ChangeListenerDeps) {
    this.#deps = deps;
    this.#seen = deps.applied ?? new AppliedChanges(() => deps.clock.now().getTime());
  }

  async start(): Promise<void> {
    this.#deps.audit.own = this.#seen;
    if (this.#deps.dialect === 'sqlite') {
      this.#lastRowid = await this.#maxRowid();
      this.#timer = setInterval(() => {
        this.#enqueue(() => this.#poll(), 'change poll');
      }, SQLITE_POLL_MS);
      this.#timer.unref();
    } else {
      // Until the first connection listens, changes are read back from the audit log.
      this.#lostAt = this.#now();
      await this.#listen();
    }
  }

  async close(): Promise<void> {
    this.#closed = true;
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
    const client = this.#client;
    this.#client = null;
    await client?.end().catch(() => {});
    await this.#queue;
    this.#deps.audit.own = null;
  }

  #now(): number {
    return this.#deps.clock.now().getTime();
  }

  /** Changes apply one after another, in the order the database committed them. */
  #enqueue(work: () => Promise<void>, context: string): void {
    this.#queue = this.#queue.then(work).catch((error: unknown) => this.#deps.onError(error, context));
  }

  async #applyNew(changes: Change[]): Promise<void> {
    for (const change of changes) {
      if (!this.#seen.claim(change.id)) continue;
      await this.#deps.apply(change);
    }
  }

  async #maxRowid(): Promise<number> {
    const { rows } = await sql<{ m: number | null }>`select max(rowid) as m from audit_entries`.execute(
      this.#deps.db,
    );
    return Number(rows[0]?.m ?? 0);
  }

  /** SQLite: the audit log's highest rowid is the change counter; read only what it passed. */
  async #poll(): Promise<void> {
    if (this.#closed) return;
    const max = await this.#maxRowid();
    if (max <= this.#lastRowid) return;
    const rows = await this.#deps.db
      .selectFrom('audit_entries')
      .select(['id', 'chain', 'action', 'target_id', 'details'])
      .where(sql<boolean>`rowid > ${this.#lastRowid} and rowid <= ${max}`)
      .where('action', 'in', LIVE_ACTIONS)
      .orderBy(sql`rowid`)
      .execute();
    this.#lastRowid = max;
    await this.#applyNew(rows.map(rowToChange));
  }

  async #listen(attempt = 0): Promise<void> {
    const { Client } = await loadPg();
    if (this.#closed) return;
    const client = new Client({
      connectionString: this.#deps.database,
      connectionTimeoutMillis: 5000,
      // Named, so an operator (and the test) can tell it in pg_stat_activity.
      application_name: 'brickless-changes',
    });
    let failed = false;
    const lost = (error: unknown) => {
      if (failed || this.#closed) return;
      failed = true;
      if (this.#client === client) {
        this.#client = null;
        this.#lostAt = this.#now();
      }
      client.end().catch(() => {});
      this.#deps.onError(error, 'change listener lost its PostgreSQL connection; reconnecting');
      const delay = Math.min(5000, 250 * 2 ** attempt);
      setTimeout(() => {
        void this.#listen(attempt + 1);
      }, delay).unref();
    };
    client.on('error', lost);
    client.on('end', () => lost(new Error('connection ended')));
    client.on('notification', (message) => {
      if (message.channel !== CHANGE_CHANNEL || !message.payload) return;
      const parsed = parsePayload(message.payload);
      if (!parsed || parsed.origin === this.#deps.audit.origin) return;
      this.#enqueue(() => this.#applyNew([parsed.change]), 'change notification');
    });
    try {
      await client.connect();
      await client.query(`LISTEN ${CHANGE_CHANNEL}`);
    } catch (error) {
      lost(error);
      return;
    }
    if (this.#closed) {
      await client.end().catch(() => {});
      return;
    }
    this.#client = client;
    // Whatever committed while no connection listened is in the audit log: read it back (with a
    // margin for commits in flight and other nodes' clocks; entries applied already are skipped).
    if (attempt > 0) {
      const since = this.#lostAt - CATCH_UP_MARGIN_MS;
      this.#enqueue(() => this.#catchUp(since), 'change catch-up');
    }
  }

  /** PostgreSQL after a reconnect: live entries since `since` (ids sort by time, and are indexed). */
  async #catchUp(since: number): Promise<void> {
    const floor = `aud_${Math.max(0, since).toString(16).padStart(12, '0')}`;
    const rows = await this.#deps.db
      .selectFrom('audit_entries')
      .select(['id', 'chain', 'action', 'target_id', 'details'])
      .where('id', '>=', floor)
      .where('action', 'in', LIVE_ACTIONS)
      .orderBy('id')
      .execute();
    await this.#applyNew(rows.map(rowToChange));
  }
}

function rowToChange(row: {
  id: string;
  chain: string;
  action: string;
  target_id: string;
  details: string;
}): Change {
  let replaced = 0;
  try {
    replaced = Number((JSON.parse(row.details) as { replaced?: unknown }).replaced ?? 0) || 0;
  } catch {
    // an unreadable details column only matters for rotations: treat as none replaced
  }
  return { id: row.id, chain: row.chain, action: row.action, targetId: row.target_id, replaced };
}

function parsePayload(payload: string): { origin: string; change: Change } | null {
  try {
    const p = JSON.parse(payload) as Partial<Change> & { o?: unknown };
    if (
      typeof p.o !== 'string' ||
      typeof p.id !== 'string' ||
      typeof p.chain !== 'string' ||
      typeof p.action !== 'string' ||
      typeof p.targetId !== 'string'
    )
      return null;
    return {
      origin: p.o,
      change: {
        id: p.id,
        chain: p.chain,
        action: p.action,
        targetId: p.targetId,
        replaced: Number(p.replaced) || 0,
      },
    };
  } catch {
    return null;
  }
}
