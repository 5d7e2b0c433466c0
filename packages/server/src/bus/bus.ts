import type { BusEvent, BusEvents } from './events.js';

export type { BusEvent, BusEvents } from './events.js';

export type BusHandler<E extends BusEvent> = (payload: BusEvents[E]) => void;

/** Why a message from the bus was not delivered (a label of `brickless_bus_messages_dropped_total`). */
export type DropReason = 'too-large' | 'not-json' | 'unknown-event' | 'unknown-version' | 'invalid';

/** What a bus reports; app.ts turns it into log lines and metrics. */
export interface BusObserver {
  /** A message from another node was refused: it is untrusted input (decision 0028). */
  dropped(event: string, reason: DropReason, detail: string): void;
  /** A subscriber threw: the others still get the event, the publisher never sees the error. */
  handlerFailed(event: BusEvent, error: unknown): void;
  /** The connection to the bus went down or came back (NATS only). */
  connection(up: boolean, detail: string): void;
  /** A message went out to, or came in from, other nodes. */
  carried(event: BusEvent, direction: 'out' | 'in'): void;
}

export const silentObserver: BusObserver = {
  dropped: () => {},
  handlerFailed: () => {},
  connection: () => {},
  carried: () => {},
};

/**
 * Events that one node tells every node of the installation (issue 19 §1, decision 0028):
 * services publish, the gateway, the device HTTP API, MQTT integrations and the live rollout
 * stream subscribe. Delivery to this node's subscribers is synchronous, in `publish`, as an
 * EventEmitter's was; other nodes get the event as soon as the bus carries it. The bus only
 * wakes nodes: what happened is in the database, so nothing is lost with a message.
 */
export interface Bus {
  /** `in-process` (one node) or `nats`. */
  readonly kind: 'in-process' | 'nats';
  /** What the startup banner shows: the kind, and for NATS the servers (without credentials). */
  readonly description: string;
  /** To this node's subscribers now, and to every other node. */
  publish<E extends BusEvent>(event: E, payload: BusEvents[E]): void;
  /**
   * To this node's subscribers only: a change this node heard from the database
   * (store/change-notifier.ts), which every other node hears from the database as well.
   */
  deliverLocally<E extends BusEvent>(event: E, payload: BusEvents[E]): void;
  /** Returns the unsubscribe function. */
  subscribe<E extends BusEvent>(event: E, handler: BusHandler<E>): () => void;
  /**
   * Called after the bus came back from an outage, with when it went down (epoch ms): what
   * other nodes published meanwhile may be lost, and the subscriber reads what it may have
   * missed from the database. Never called on the in-process bus. Returns the unsubscribe function.
   */
  onResume(handler: (downSince: number) => void): () => void;
  close(): Promise<void>;
}

/** This node's subscribers, by event: the part of every bus that delivers in-process. */
export class LocalSubscribers {
  readonly #handlers = new Map<BusEvent, Set<(payload: never) => void>>();
  readonly #observer: BusObserver;

  constructor(observer: BusObserver) {
    this.#observer = observer;
  }

  subscribe<E extends BusEvent>(event: E, handler: BusHandler<E>): () => void {
    let set = this.#handlers.get(event);
    if (!set) {
      set = new Set();
      this.#handlers.set(event, set);
    }
    // A handler subscribed twice gets the event twice, as with EventEmitter; each has its own off.
    const entry = (payload: never) => handler(payload);
    set.add(entry);
    return () => {
      set.delete(entry);
    };
  }

  deliver<E extends BusEvent>(event: E, payload: BusEvents[E]): void {
    const set = this.#handlers.get(event);
    if (!set) return;
    // A copy: a handler that unsubscribes (a long poll that got its command) must not skip the next.
    for (const handler of [...set]) {
      try {
        handler(payload as never);
      } catch (error) {
        this.#observer.handlerFailed(event, error);
      }
    }
  }

  clear(): void {
    this.#handlers.clear();
  }
}

/** The bus of a single node (the default): every subscriber is in this process. */
export class InProcessBus implements Bus {
  readonly kind = 'in-process' as const;
  readonly description = 'in-process (one node; --bus nats://host:4222 to run several)';
  readonly #local: LocalSubscribers;
  #closed = false;

  constructor(observer: BusObserver = silentObserver) {
    this.#local = new LocalSubscribers(observer);
  }

  publish<E extends BusEvent>(event: E, payload: BusEvents[E]): void {
    if (!this.#closed) this.#local.deliver(event, payload);
  }

  deliverLocally<E extends BusEvent>(event: E, payload: BusEvents[E]): void {
    if (!this.#closed) this.#local.deliver(event, payload);
  }

  subscribe<E extends BusEvent>(event: E, handler: BusHandler<E>): () => void {
    return this.#local.subscribe(event, handler);
  }

  onResume(): () => void {
    return () => {};
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.#local.clear();
  }
}
