import type { Clock } from '../clock.js';
import { DomainError } from '../errors.js';

const HOUR_MS = 3_600_000;
/** Beyond this many keys the windows are forgotten at once: memory stays bounded under a flood. */
const MAX_KEYS = 100_000;

/**
 * Fixed one-hour windows per key (an address, an organisation, a report), for what the public may
 * do without an account: the disclosure intake and the researcher's tracking link. In memory per
 * node: a node restart or a second node forgets the counts, which only loosens a limit meant to
 * stop floods, not to count exactly.
 */
export class HourlyLimiter {
  readonly #clock: Clock;
  readonly #windows = new Map<string, { start: number; count: number }>();

  constructor(clock: Clock) {
    this.#clock = clock;
  }

  /** Counts one use of `key`; throws `rate-limited` once it had `max` in the current hour. */
  take(key: string, max: number, message: string): void {
    const now = this.#clock.now().getTime();
    const window = this.#windows.get(key);
    if (!window || now - window.start >= HOUR_MS) {
      if (this.#windows.size >= MAX_KEYS) this.#windows.clear();
      this.#windows.set(key, { start: now, count: 1 });
      return;
    }
    if (window.count >= max) throw new DomainError('rate-limited', message);
    window.count++;
  }
}
