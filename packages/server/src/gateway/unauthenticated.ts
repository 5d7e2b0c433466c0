/**
 * How many connections that have not authenticated yet the gateway holds (issue 14 §4; decision
 * 0016): a few per address, and a bounded number in all, so that a flood from many addresses cannot
 * move resident memory by more than a few MB. The global bound is shared fairly: when it is full,
 * the address holding the most pending connections gives up its oldest one to a newcomer from an
 * address that holds fewer, so a flooder from a few addresses loses its idle sockets while real
 * devices (many addresses, authenticated in milliseconds) keep getting in.
 */
export interface UnauthenticatedCaps {
  /** Pending connections one address may hold. */
  perAddress: number;
  /** Pending connections in all, across every listener that shares this instance. */
  total: number;
}

/** The socket of a new connection, as far as admission needs it (net.Socket is one). */
export interface PendingSocket {
  remoteAddress?: string | undefined;
  remotePort?: number | undefined;
  once(event: 'close', listener: () => void): unknown;
  destroy(): unknown;
}

export type Admission =
  | { admitted: true; evicted: boolean }
  | { admitted: false; reason: 'per-address' | 'total' };

interface Pending {
  /** Arrival order, to find the oldest of two equal holders. */
  readonly seq: number;
  readonly port: number | undefined;
  readonly socket: PendingSocket;
  /** Ends the count (idempotent): on close, on authentication, on eviction. */
  readonly release: () => void;
}

export class UnauthenticatedConnections {
  readonly #caps: UnauthenticatedCaps;
  /** Pending connections by address, each in the order they arrived (a Set keeps insertion order). */
  readonly #byAddress = new Map<string, Set<Pending>>();
  #held = 0;
  #peak = 0;
  #arrivals = 0;

  constructor(caps: UnauthenticatedCaps) {
    if (!(Number.isInteger(caps.perAddress) && caps.perAddress >= 1))
      throw new RangeError(`unauthenticatedPerAddress must be a whole number from 1, not ${caps.perAddress}`);
    if (!(Number.isInteger(caps.total) && caps.total >= 1))
      throw new RangeError(`unauthenticatedTotal must be a whole number from 1, not ${caps.total}`);
    this.#caps = caps;
  }

  /**
   * Starts counting a new connection, or says why not (nothing counted; the caller closes it). When
   * the global cap is full, the oldest pending connection of the address holding the most is
   * destroyed to make room, but only if that address holds more than the newcomer's address would
   * with the newcomer: otherwise the newcomer is the one over its fair share and is refused.
   */
  admit(socket: PendingSocket): Admission {
    const address = socket.remoteAddress ?? 'unknown';
    const own = this.#byAddress.get(address)?.size ?? 0;
    if (own >= this.#caps.perAddress) return { admitted: false, reason: 'per-address' };
    let evicted = false;
    if (this.#held >= this.#caps.total) {
      const victim = this.#largestHolder();
      if (!victim || victim.size <= own + 1) return { admitted: false, reason: 'total' };
      const oldest = victim.values().next().value as Pending;
      oldest.release();
      oldest.socket.destroy();
      evicted = true;
    }
    this.#count(address, socket);
    return { admitted: true, evicted };
  }

  /** The peer on this socket authenticated: it no longer counts. */
  authenticated(socket: { remoteAddress?: string; remotePort?: number } | undefined): void {
    if (!socket) return;
    for (const pending of this.#byAddress.get(socket.remoteAddress ?? 'unknown') ?? []) {
      if (pending.port === socket.remotePort) {
        pending.release();
        return;
      }
    }
  }

  /** Unauthenticated connections held now. */
  get held(): number {
    return this.#held;
  }

  /** The most held at any moment since this instance was made (tests, and the bench's claim). */
  get peak(): number {
    return this.#peak;
  }

  #count(address: string, socket: PendingSocket): void {
    let set = this.#byAddress.get(address);
    if (!set) {
      set = new Set();
      this.#byAddress.set(address, set);
    }
    const own = set;
    let counted = true;
    const pending: Pending = {
      seq: this.#arrivals++,
      port: socket.remotePort,
      socket,
      release: () => {
        if (!counted) return;
        counted = false;
        this.#held--;
        own.delete(pending);
        if (own.size === 0 && this.#byAddress.get(address) === own) this.#byAddress.delete(address);
      },
    };
    own.add(pending);
    this.#held++;
    this.#peak = Math.max(this.#peak, this.#held);
    socket.once('close', pending.release);
  }

  /**
   * The address holding the most pending connections; on a tie, the one whose oldest connection is
   * the oldest (it has idled longest). A scan over at most `total` addresses, only when full.
   */
  #largestHolder(): Set<Pending> | undefined {
    let largest: Set<Pending> | undefined;
    const oldest = (set: Set<Pending>) => (set.values().next().value as Pending).seq;
    for (const set of this.#byAddress.values()) {
      if (!largest || set.size > largest.size || (set.size === largest.size && oldest(set) < oldest(largest)))
        largest = set;
    }
    return largest;
  }
}
