/**
 * Token buckets by key (a source address, a device id): `rate` tokens a second, up to `burst`.
 * Stale buckets are swept so that a scan from many addresses cannot grow the map without bound.
 */
export class RateLimiter {
  readonly #rate: number;
  readonly #burst: number;
  readonly #now: () => number;
  readonly #buckets = new Map<string, { tokens: number; at: number }>();
  #lastSweep = 0;

  constructor(options: { rate: number; burst: number; now?: () => number }) {
    this.#rate = options.rate;
    this.#burst = options.burst;
    this.#now = options.now ?? Date.now;
  }

  /** Takes one token for the key; false when the key is over its limit. */
  take(key: string): boolean {
    const now = this.#now();
    if (now - this.#lastSweep > 60_000) this.#sweep(now);
    const bucket = this.#buckets.get(key) ?? { tokens: this.#burst, at: now };
    bucket.tokens = Math.min(this.#burst, bucket.tokens + ((now - bucket.at) / 1000) * this.#rate);
    bucket.at = now;
    this.#buckets.set(key, bucket);
    if (bucket.tokens < 1) return false;
    bucket.tokens -= 1;
    return true;
  }

  /**
   * Takes one token now or on credit: the milliseconds until that token exists (0 when it did).
   * Callers wait that long before acting, so a key over its rate is slowed down, never dropped;
   * the debt is paid from later refills, so waits grow with every message taken on credit.
   */
  reserve(key: string): number {
    const now = this.#now();
    if (now - this.#lastSweep > 60_000) this.#sweep(now);
    const bucket = this.#buckets.get(key) ?? { tokens: this.#burst, at: now };
    bucket.tokens = Math.min(this.#burst, bucket.tokens + ((now - bucket.at) / 1000) * this.#rate);
    bucket.at = now;
    bucket.tokens -= 1;
    this.#buckets.set(key, bucket);
    return bucket.tokens >= 0 ? 0 : Math.ceil((-bucket.tokens / this.#rate) * 1000);
  }

  /** Whether the key is over its limit now, without taking a token. */
  exhausted(key: string): boolean {
    const bucket = this.#buckets.get(key);
    if (!bucket) return false;
    const tokens = Math.min(this.#burst, bucket.tokens + ((this.#now() - bucket.at) / 1000) * this.#rate);
    return tokens < 1;
  }

  /** How many keys are tracked. */
  get size(): number {
    return this.#buckets.size;
  }

  #sweep(now: number): void {
    this.#lastSweep = now;
    const full = (this.#burst / this.#rate) * 1000;
    for (const [key, bucket] of this.#buckets) if (now - bucket.at > full) this.#buckets.delete(key);
  }
}
