import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BatchWriter } from './batch-writer.js';

/** A commit function that records batches and finishes when the test says so. */
function recorder() {
  const batches: number[][] = [];
  const open: { resolve: () => void; reject: (e: unknown) => void }[] = [];
  const commit = (rows: number[]) =>
    new Promise<void>((resolve, reject) => {
      batches.push(rows);
      open.push({ resolve, reject });
    });
  return { batches, open, commit };
}
const turn = () => new Promise((r) => setImmediate(r));

describe('BatchWriter (group commit)', () => {
  it('commits a lone write on the next turn, without waiting for a timer', async () => {
    const r = recorder();
    const writer = new BatchWriter<number>(r.commit);
    let done = false;
    void writer.write([1, 2]).then(() => {
      done = true;
    });
    await turn();
    assert.deepEqual(r.batches, [[1, 2]]);
    assert.equal(done, false, 'not acknowledged before its commit finished');
    r.open[0]?.resolve();
    await turn();
    assert.equal(done, true);
  });

  it('gathers what arrives while a commit runs into one next batch, in order, up to maxRows', async () => {
    const r = recorder();
    const writer = new BatchWriter<number>(r.commit, { maxRows: 5 });
    const writes = [writer.write([1])];
    await turn();
    writes.push(writer.write([2, 3]), writer.write([4, 5]), writer.write([6, 7]));
    assert.equal(writer.pending, 6);
    r.open[0]?.resolve();
    await turn();
    // Whole writes only: [6, 7] would pass maxRows, so it waits for the following batch.
    assert.deepEqual(r.batches, [[1], [2, 3, 4, 5]]);
    r.open[1]?.resolve();
    await turn();
    assert.deepEqual(r.batches, [[1], [2, 3, 4, 5], [6, 7]]);
    r.open[2]?.resolve();
    await Promise.all(writes);
  });

  it('rejects only the writes of a failed batch, and carries on with the next', async () => {
    const r = recorder();
    const writer = new BatchWriter<number>(r.commit, { retryMs: 0 });
    const first = writer.write([1]);
    await turn();
    const second = writer.write([2]);
    r.open[0]?.reject(new Error('disk full'));
    await assert.rejects(first, /disk full/);
    await turn();
    r.open[1]?.resolve();
    await second;
    assert.deepEqual(r.batches, [[1], [2]]);
  });

  it('after a failed batch, waits before the next one and sends everything that arrived meanwhile together', async () => {
    const r = recorder();
    const writer = new BatchWriter<number>(r.commit, { retryMs: 80, maxRetryMs: 1000 });
    const first = writer.write([1]);
    await turn();
    r.open[0]?.reject(new Error('connection terminated'));
    await assert.rejects(first, /connection terminated/);
    const started = Date.now();
    const later = [writer.write([2]), writer.write([3])];
    await turn();
    await turn();
    assert.equal(r.batches.length, 1, 'no attempt during the backoff');
    while (r.batches.length < 2) await new Promise((resolve) => setTimeout(resolve, 5));
    assert.ok(Date.now() - started >= 60, 'the next batch waited for the backoff');
    assert.deepEqual(r.batches[1], [2, 3]);
    // A second failure doubles the wait.
    r.open[1]?.reject(new Error('connection terminated'));
    await Promise.allSettled(later);
    const again = Date.now();
    const third = writer.write([4]);
    while (r.batches.length < 3) await new Promise((resolve) => setTimeout(resolve, 5));
    assert.ok(Date.now() - again >= 140, `waited ${Date.now() - again} ms, not about 160`);
    r.open[2]?.resolve();
    await third;
    // A success resets the wait.
    const fourth = writer.write([5]);
    await turn();
    assert.equal(r.batches.length, 4);
    r.open[3]?.resolve();
    await fourth;
  });

  it('drain commits everything pending before it returns', async () => {
    const batches: number[][] = [];
    const writer = new BatchWriter<number>(async (rows) => {
      batches.push(rows);
    });
    const writes = [writer.write([1]), writer.write([2]), writer.write([3])];
    await writer.drain();
    assert.equal(writer.pending, 0);
    assert.deepEqual(batches.flat(), [1, 2, 3]);
    await Promise.all(writes);
  });
});
