import mqemitter from 'mqemitter';

/**
 * A first-in first-out queue whose `shift` is O(1): a head index into an array, compacted once
 * the consumed prefix is at least half of it. `Array.prototype.shift` moves every remaining
 * element, which turns a long queue into quadratic work.
 */
export class FifoQueue<T> {
  #items: (T | undefined)[] = [];
  #head = 0;

  get length(): number {
    return this.#items.length - this.#head;
  }

  push(item: T): number {
    this.#items.push(item);
    return this.length;
  }

  shift(): T | undefined {
    if (this.#head >= this.#items.length) return undefined;
    const item = this.#items[this.#head];
    this.#items[this.#head] = undefined; // let it be collected now
    this.#head++;
    if (this.#head >= 1024 && this.#head * 2 >= this.#items.length) {
      this.#items = this.#items.slice(this.#head);
      this.#head = 0;
    }
    return item;
  }
}

type Internals = {
  _messageQueue: unknown;
  _messageCallbacks: unknown;
  _do: (message: unknown, callback: unknown) => unknown;
};

/**
 * Aedes' in-process message emitter (mqemitter 7) with two faults removed; matching, ordering and
 * concurrency stay mqemitter's own. Aedes takes the emitter through its `mq` option, so Aedes
 * itself stays unpatched.
 *
 * - Its waiting queues use `Array#shift`, O(n) per message: with 100 publishers and one wildcard
 *   subscriber that took a third of all CPU time and capped fan-out at about 8,000 messages a second
 *   (DESIGN.md, "Known findings"). They become O(1) FIFOs.
 * - When a message completes synchronously (QoS 0 delivery), mqemitter starts the next waiting one
 *   from inside the completion, one stack frame deeper each time: a backlog of a few thousand
 *   messages overflowed the stack and killed the server (found by the fan-out benchmark, with
 *   mqemitter's own queues too). Here the next message starts from a loop in the outermost call
 *   instead, in the same order.
 */
export function createEmitter(concurrency: number): ReturnType<typeof mqemitter> {
  const emitter = mqemitter({ concurrency });
  const internals = emitter as unknown as Internals;
  // Fail loudly at start if a future mqemitter renames what we replace, instead of silently
  // running without the fixes (the test suite checks the same).
  if (
    !Array.isArray(internals._messageQueue) ||
    !Array.isArray(internals._messageCallbacks) ||
    typeof internals._do !== 'function'
  )
    throw new Error('mqemitter internals changed: _messageQueue, _messageCallbacks or _do');
  internals._messageQueue = new FifoQueue();
  internals._messageCallbacks = new FifoQueue();

  const start = internals._do;
  const pending = new FifoQueue<[unknown, unknown]>();
  let running = false;
  internals._do = function trampoline(this: unknown, message: unknown, callback: unknown) {
    pending.push([message, callback]);
    if (running) return this; // an outer call on the stack starts it, in order
    running = true;
    try {
      for (let next = pending.shift(); next; next = pending.shift()) start.call(this, next[0], next[1]);
    } finally {
      running = false;
    }
    return this;
  };
  return emitter;
}
