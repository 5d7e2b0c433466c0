import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { WriteBatcher } from './write-batcher.js';

describe('write batcher', () => {
  it('writes what arrives together in batches of at most maxItems, and settles each caller after its batch', async () => {
    const batches: number[][] = [];
    const batcher = new WriteBatcher<number>(
      async (items) => {
        batches.push(items);
      },
      { maxItems: 3, delayMs: 5 },
    );
    await Promise.all([1, 2, 3, 4, 5, 6, 7].map((n) => batcher.add(n)));
    assert.deepEqual(batches, [[1, 2, 3], [4, 5, 6], [7]]);
    await batcher.add(8);
    assert.deepEqual(batches.at(-1), [8]);
  });

  it('rejects every caller of a batch that fails, and goes on with the next', async () => {
    let fail = true;
    const batcher = new WriteBatcher<string>(
      async () => {
        if (fail) throw new Error('storage down');
      },
      { maxItems: 2, delayMs: 1 },
    );
    const results = await Promise.allSettled([batcher.add('a'), batcher.add('b')]);
    assert.deepEqual(
      results.map((r) => r.status),
      ['rejected', 'rejected'],
    );
    fail = false;
    await batcher.add('c');
  });
  it('writes one batch at a time, and what arrives meanwhile forms the next batch', async () => {
    let inFlight = 0;
    let most = 0;
    const batches: number[][] = [];
    const batcher = new WriteBatcher<number>(
      async (items) => {
        inFlight += 1;
        most = Math.max(most, inFlight);
        await new Promise((r) => setTimeout(r, 20));
        batches.push(items);
        inFlight -= 1;
      },
      { maxItems: 2, delayMs: 1 },
    );
    const first = [batcher.add(1), batcher.add(2)];
    await new Promise((r) => setTimeout(r, 5)); // the first batch is being written
    await Promise.all([...first, batcher.add(3), batcher.add(4), batcher.add(5)]);
    assert.equal(most, 1);
    assert.deepEqual(batches, [[1, 2], [3, 4], [5]]);
  });
});
