/**
 * Reconnect delays: exponential growth from `initialMs` to `maxMs`, each with random jitter so
 * that a fleet that lost its server does not return in lockstep (ETSI EN 303 645 5.9-3).
 * "Equal jitter": half the step is fixed, half random.
 */
export class Backoff {
  readonly #initialMs: number;
  readonly #maxMs: number;
  readonly #random: () => number;
  #attempt = 0;

  constructor(options: { initialMs?: number; maxMs?: number; random?: () => number } = {}) {
    this.#initialMs = options.initialMs ?? 1000;
    this.#maxMs = options.maxMs ?? 60_000;
    this.#random = options.random ?? Math.random;
  }

  next(): number {
    const step = Math.min(this.#maxMs, this.#initialMs * 2 ** this.#attempt);
    this.#attempt = Math.min(this.#attempt + 1, 30);
    return Math.round(step / 2 + this.#random() * (step / 2));
  }

  reset(): void {
    this.#attempt = 0;
  }
}
