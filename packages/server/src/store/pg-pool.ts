import type { PostgresPool, PostgresPoolClient } from 'kysely';
import type pg from 'pg';
import { DomainError } from '../errors.js';
import { type DatabaseHealth, isConnectionError } from './health.js';

export interface PostgresTimeouts {
  /** How long opening a connection may take (TCP, TLS, authentication). */
  connectMs: number;
  /** Server side: PostgreSQL cancels a statement running longer (0: no limit). */
  statementMs: number;
  /**
   * Client side: pg gives up waiting for a statement's answer (0: no limit). Catches what the
   * server cannot: a connection that went silent (a blackholed route, a frozen server).
   */
  queryMs: number;
  /** Server side: a session idle inside an open transaction this long is ended, with its locks. */
  idleInTransactionMs: number;
  /** First wait after a failed connect; doubles per failure up to maxBackoffMs. */
  backoffMs: number;
  maxBackoffMs: number;
}

export const serverTimeouts: PostgresTimeouts = {
  connectMs: 5_000,
  statementMs: 30_000,
  queryMs: 35_000,
  idleInTransactionMs: 60_000,
  backoffMs: 100,
  maxBackoffMs: 5_000,
};

/** Bulk tools (restore, deposit, `migrate`) run long statements on purpose: no statement limits. */
export const bulkTimeouts: PostgresTimeouts = { ...serverTimeouts, statementMs: 0, queryMs: 0 };

/**
 * A pg pool for Kysely that survives its database going away.
 *
 * - Every client has an `error` listener for its whole life, checked out or idle. pg-pool listens
 *   only while a client is idle; a backend terminated (pg_terminate_backend, a failover, a reset
 *   connection) while a client was checked out made pg emit `error` with nobody listening, and the
 *   process crashed.
 * - Connects back off: after a failed connect, connects fail at once (`database-unreachable`)
 *   until a wait that doubles per failure (100 ms to 5 s, with jitter) has passed, so an outage
 *   does not turn every device message into a new TCP handshake against a database that is down.
 * - Connect, statement, query and idle-in-transaction timeouts (PostgresTimeouts).
 */
/**
 * The pg driver, loaded when PostgreSQL is used: a SQLite start never needs it, and loading it
 * was a visible part of every start (issue 15).
 */
export const loadPg = async (): Promise<typeof pg> => (await import('pg')).default;

export class ResilientPool implements PostgresPool {
  readonly #pool: pg.Pool;
  readonly #health: DatabaseHealth;
  readonly #timeouts: PostgresTimeouts;
  #failures = 0;
  #retryAt = 0;

  constructor(driver: typeof pg, url: string, health: DatabaseHealth, timeouts: PostgresTimeouts, max = 10) {
    this.#health = health;
    this.#timeouts = timeouts;
    this.#pool = new driver.Pool({
      connectionString: url,
      max,
      connectionTimeoutMillis: timeouts.connectMs,
      // TCP keepalive: a peer that vanished without a FIN is noticed by the kernel.
      keepAlive: true,
      keepAliveInitialDelayMillis: 10_000,
      ...(timeouts.statementMs > 0 ? { statement_timeout: timeouts.statementMs } : {}),
      ...(timeouts.queryMs > 0 ? { query_timeout: timeouts.queryMs } : {}),
      ...(timeouts.idleInTransactionMs > 0
        ? { idle_in_transaction_session_timeout: timeouts.idleInTransactionMs }
        : {}),
    });
    // An idle client whose server went away: pg-pool removes it and emits here.
    this.#pool.on('error', (error) => health.failed('connection-lost', error));
    // A client in use whose server went away: its query rejects too, but pg also emits `error`.
    this.#pool.on('connect', (client) => {
      client.on('error', (error) => health.failed('connection-lost', error));
    });
  }

  async connect(): Promise<PostgresPoolClient> {
    const wait = this.#retryAt - Date.now();
    if (wait > 0) {
      throw new DomainError(
        'database-unreachable',
        `PostgreSQL unreachable (next connect in ${wait} ms): ${(this.#health.lastError as Error)?.message ?? 'unknown error'}`,
      );
    }
    let client: pg.PoolClient;
    try {
      client = await this.#pool.connect();
    } catch (error) {
      this.#failures += 1;
      const backoff = Math.min(
        this.#timeouts.maxBackoffMs,
        this.#timeouts.backoffMs * 2 ** (this.#failures - 1),
      );
      this.#retryAt = Date.now() + backoff * (0.5 + Math.random() / 2);
      this.#health.failed('connect', error);
      throw error;
    }
    this.#failures = 0;
    this.#retryAt = 0;
    return this.#watch(client);
  }

  /**
   * A failed query on a broken connection is a database failure, not a bad statement; an
   * answered one means the database is back.
   */
  #watch(client: pg.PoolClient): PostgresPoolClient {
    const health = this.#health;
    // pg leaves a query that hit query_timeout in flight on its connection, and every later
    // query on that client would queue behind it: such a client is destroyed, not reused.
    let broken = false;
    return {
      query: ((...args: Parameters<pg.PoolClient['query']>) => {
        const result = (client.query as (...a: unknown[]) => unknown)(...args);
        if (result instanceof Promise)
          result.then(
            () => health.succeeded(),
            (error: unknown) => {
              if (!isConnectionError(error)) return;
              broken = true;
              health.failed('query', error);
            },
          );
        return result;
      }) as PostgresPoolClient['query'],
      release: (destroy?: boolean) => client.release(destroy || broken ? true : undefined),
    };
  }

  /** Clients open now (in use or idle), for tests and metrics. */
  get totalCount(): number {
    return this.#pool.totalCount;
  }

  end(): Promise<void> {
    return this.#pool.end();
  }
}
