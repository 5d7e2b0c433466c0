import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Backoff } from './backoff.js';

describe('reconnect backoff', () => {
  it('doubles up to the maximum, with half of each step random (ETSI EN 303 645 5.9-3)', () => {
    const low = new Backoff({ initialMs: 100, maxMs: 1000, random: () => 0 });
    assert.deepEqual(
      Array.from({ length: 6 }, () => low.next()),
      [50, 100, 200, 400, 500, 500],
    );
    const high = new Backoff({ initialMs: 100, maxMs: 1000, random: () => 1 });
    assert.deepEqual(
      Array.from({ length: 6 }, () => high.next()),
      [100, 200, 400, 800, 1000, 1000],
    );
    high.reset();
    assert.equal(high.next(), 100);
  });

  it('spreads a fleet out: delays at the same step differ', () => {
    const delays = new Set(Array.from({ length: 50 }, () => new Backoff({ initialMs: 10_000 }).next()));
    assert.ok(delays.size > 40);
  });
});
