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
});
