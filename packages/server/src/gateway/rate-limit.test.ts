import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { RateLimiter } from './rate-limit.js';

describe('rate limiter', () => {
  it('allows the burst, then the rate, per key', () => {
    let now = 0;
    const limiter = new RateLimiter({ rate: 2, burst: 3, now: () => now });
    assert.deepEqual(
      Array.from({ length: 4 }, () => limiter.take('a')),
      [true, true, true, false],
    );
    assert.equal(limiter.take('b'), true, 'keys are independent');
    now += 500; // half a second at 2/s: one token
    assert.equal(limiter.take('a'), true);
    assert.equal(limiter.take('a'), false);
    now += 10_000;
    assert.deepEqual(
      Array.from({ length: 4 }, () => limiter.take('a')),
      [true, true, true, false],
      'refills to the burst, not beyond',
    );
  });

  it('forgets idle keys so that a scan cannot grow it without bound', () => {
    let now = 0;
    const limiter = new RateLimiter({ rate: 1, burst: 1, now: () => now });
    now = 61_000; // past the first sweep interval
    for (let i = 0; i < 1000; i++) limiter.take(`10.0.${i >> 8}.${i & 255}`);
    assert.equal(limiter.size, 1000);
    now += 120_000;
    limiter.take('x');
    assert.equal(limiter.size, 1, 'only the fresh key is left');
  });
});
