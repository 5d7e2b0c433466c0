import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import mqemitter from 'mqemitter';
import { createEmitter, FifoQueue } from './emitter.js';

describe('FifoQueue', () => {
  it('is first in, first out across compactions, with the right length', () => {
    const q = new FifoQueue<number>();
    const out: number[] = [];
    let next = 0;
    // Interleave pushes and shifts so that the head passes the compaction point many times.
    for (let round = 0; round < 50; round++) {
      for (let i = 0; i < 300; i++) q.push(next++);
      for (let i = 0; i < 200; i++) out.push(q.shift() as number);
      assert.equal(q.length, next - out.length);
    }
    while (q.length > 0) out.push(q.shift() as number);
    assert.deepEqual(
      out,
      Array.from({ length: next }, (_, i) => i),
    );
    assert.equal(q.shift(), undefined);
    assert.equal(q.length, 0);
  });
});

/** Runs the same traffic through an emitter and records what each listener saw, in order. */
async function trace(emitter: ReturnType<typeof mqemitter>): Promise<{ seen: string[]; callbacks: number }> {
  const seen: string[] = [];
  let callbacks = 0;
  const slow = (message: { topic: string; n: number }, done: () => void) => {
    seen.push(`wild ${message.topic} ${message.n}`);
    setImmediate(done); // keeps messages waiting in the queue
  };
  emitter.on('brickless/v1/+/telemetry', slow as never);
  emitter.on('brickless/v1/d1/#', ((message: { topic: string; n: number }, done: () => void) => {
    seen.push(`d1 ${message.topic} ${message.n}`);
    done();
  }) as never);
  await new Promise<void>((resolve) => {
    const total = 2000;
    for (let n = 0; n < total; n++) {
      emitter.emit({ topic: `brickless/v1/d${n % 3}/telemetry`, n }, () => {
        callbacks++;
        if (callbacks === total) resolve();
      });
    }
  });
  return { seen, callbacks };
}

describe('the gateway emitter (mqemitter with O(1) queues)', () => {
  it('delivers exactly what mqemitter delivers, in the same order, with every callback', async () => {
    const ours = await trace(createEmitter(3));
    const reference = await trace(mqemitter({ concurrency: 3 }));
    assert.equal(ours.callbacks, 2000);
    assert.deepEqual(ours.seen, reference.seen);
    assert.equal(ours.seen.length, 2000 + Math.ceil(2000 / 3));
  });

  it('drains a long backlog of synchronously completing messages without growing the stack', async () => {
    // mqemitter starts each waiting message from inside the previous one's completion: with
    // 50,000 waiting this overflows the stack. Ours must deliver all of them.
    const run = (emitter: ReturnType<typeof mqemitter>) =>
      new Promise<number>((resolve, reject) => {
        let delivered = 0;
        let first = true;
        emitter.on('t/#', ((_message: unknown, done: () => void) => {
          delivered++;
          if (first) {
            first = false;
            setImmediate(done); // holds the only slot while the backlog builds up
          } else done();
        }) as never);
        try {
          for (let n = 0; n < 50_000; n++) emitter.emit({ topic: 't/x', n });
        } catch (error) {
          reject(error);
        }
        setImmediate(() => setImmediate(() => resolve(delivered)));
      });
    // (mqemitter 7.1 itself dies here with an uncaught RangeError thrown from a timer.)
    assert.equal(await run(createEmitter(1)), 50_000);
  });

  it('replaces the queues of the mqemitter version installed (fails if its internals change)', () => {
    const emitter = createEmitter(10) as unknown as { _messageQueue: unknown; _messageCallbacks: unknown };
    assert.ok(emitter._messageQueue instanceof FifoQueue);
    assert.ok(emitter._messageCallbacks instanceof FifoQueue);
  });
});
