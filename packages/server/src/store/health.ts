import { EventEmitter } from 'node:events';

/** Where a database failure was seen; the `kind` label of `brickless_database_errors_total`. */
export type FailureKind = 'connect' | 'connection-lost' | 'query' | 'probe';

/**
 * What the process knows about its database: failures as they happen and the moment it is
 * reachable again. The store feeds it (pool and client errors, failed connects, failed queries
 * on a broken connection, the readiness probe); the app turns it into logs and metrics. It
 * emits `failure` for every failure, `down` once when the first failure of an outage is seen and
 * `up` once when a connect or probe succeeds again, so an outage is one error line and one
 * recovery line, not one line per device message.
 */
export class DatabaseHealth extends EventEmitter<{
  failure: [kind: FailureKind, error: unknown];
  down: [kind: FailureKind, error: unknown];
  up: [downForMs: number];
}> {
  #downSince: number | null = null;
  #lastError: unknown = null;

  /** True from the first failure of an outage until a connect or probe succeeds. */
  get down(): boolean {
    return this.#downSince !== null;
  }

  get lastError(): unknown {
    return this.#lastError;
  }

  failed(kind: FailureKind, error: unknown): void {
    this.#lastError = error;
    const first = this.#downSince === null;
    if (first) this.#downSince = Date.now();
    this.emit('failure', kind, error);
    if (first) this.emit('down', kind, error);
  }

  succeeded(): void {
    if (this.#downSince === null) return;
    const downFor = Date.now() - this.#downSince;
    this.#downSince = null;
    this.emit('up', downFor);
  }
}

/**
 * True when the error says the connection to PostgreSQL is gone or never came (not that a
 * statement was wrong): node errors on the socket, pg's own connection messages, SQLSTATE class 08
 * (connection exception) and 57P01-57P03 (admin shutdown, crash shutdown, cannot connect now).
 */
export function isConnectionError(error: unknown): boolean {
  const { code, message } = (error ?? {}) as { code?: unknown; message?: unknown };
  if (typeof code === 'string') {
    if (/^(ECONNREFUSED|ECONNRESET|ETIMEDOUT|EPIPE|EHOSTUNREACH|ENETUNREACH|ENOTFOUND|EAI_AGAIN)$/.test(code))
      return true;
    if (code.startsWith('08') || code === '57P01' || code === '57P02' || code === '57P03') return true;
  }
  return (
    typeof message === 'string' &&
    /Connection terminated|connection timeout|timeout exceeded when trying to connect|Query read timeout|Client has encountered a connection error|Connection ended/i.test(
      message,
    )
  );
}
