import type { Server, Socket } from 'node:net';
import type { TLSSocket, Server as TlsServer } from 'node:tls';
import { type Endpoint, MAX_HEADER_BYTES, parseProxyHeader } from './header.js';
import { TrustedProxies } from './trusted.js';

/**
 * The PROXY protocol on our listeners (decision 0031; docs/scale-out.md). A connection from a
 * trusted proxy (config `proxy.trusted`) must start with a valid header, read before anything else
 * touches the socket (before TLS); from then on the socket reports the client's address and port,
 * so the unauthenticated-connection cap, the connect and sign-in rate limits, the audit log and the
 * request logs all see the client, not the balancer. A connection from any other address is never
 * read for a header (spec section 5: decided by configuration, never by guessing): it goes on as a
 * normal connection, and a header it sends is just bytes that fail the TLS handshake.
 */

/** Why a connection from a trusted proxy was dropped. */
export type DropReason = 'invalid' | 'timeout' | 'closed';

export interface ProxyProtocolOptions {
  /** CIDR blocks or addresses of the proxies (config `proxy.trusted`); empty turns it off. */
  trusted: readonly string[] | TrustedProxies;
  /**
   * Time for the whole header from the accept, in milliseconds. Spec section 2: a receiver may
   * abort when the header is not there within a few seconds, "at least 3 seconds to cover a TCP
   * retransmit". HAProxy sends it with its first segment.
   */
  headerTimeoutMs?: number;
  /** Told of every connection from a trusted proxy dropped for its header (a metric, a log line). */
  onDropped?: (reason: DropReason, detail: string, proxy: string) => void;
}

export const DEFAULT_HEADER_TIMEOUT_MS = 5_000;

type Peer = { remoteAddress?: string | undefined; remotePort?: number | undefined };
const peerKey = (socket: Peer) => `${socket.remoteAddress ?? ''}|${socket.remotePort ?? ''}`;

export class ProxyProtocol {
  readonly #trusted: TrustedProxies;
  readonly #timeoutMs: number;
  readonly #onDropped: NonNullable<ProxyProtocolOptions['onDropped']>;
  /** Connections from trusted proxies whose header has not arrived yet. */
  readonly #reading = new Set<Socket>();
  /**
   * The client of each proxied connection whose TLS socket is not made yet, by the proxy-side
   * peer (address|port) that the TLS socket will report: tls.Server wraps the TCP socket in a
   * TLSSocket of its own, which asks the kernel for its peer again.
   */
  readonly #clients = new Map<string, Endpoint>();

  constructor(options: ProxyProtocolOptions) {
    this.#trusted =
      options.trusted instanceof TrustedProxies ? options.trusted : new TrustedProxies(options.trusted);
    this.#timeoutMs = options.headerTimeoutMs ?? DEFAULT_HEADER_TIMEOUT_MS;
    this.#onDropped = options.onDropped ?? (() => {});
  }

  /** Whether any proxy is trusted (otherwise every method here lets connections through untouched). */
  get enabled(): boolean {
    return !this.#trusted.empty;
  }

  /**
   * What the gate holds now: connections waiting for their header, and clients of proxied TCP
   * sockets not yet wrapped by TLS (each released when its socket closes). Tests check it drains.
   */
  get held(): number {
    return this.#reading.size + this.#clients.size;
  }

  /**
   * Hands `socket` to `next`: at once when it does not come from a trusted proxy; after a valid
   * header when it does, with the client's address and port on it (a LOCAL header, the proxy's
   * own health check, keeps the real ones). A trusted connection without a valid header within
   * the time limit is destroyed and never reaches `next`.
   *
   * `to` says who reads the socket next. A TLS server wraps it and reads the bytes buffered after
   * the header itself, and the socket must stay paused (resuming it would read the TCP handle the
   * TLS socket now owns). Anything else (an HTTP server, the broker on a plain socket) expects a
   * socket in its initial flowing state: it is resumed after `next`.
   */
  accept(socket: Socket, next: (socket: Socket) => void, to: 'tls' | 'stream'): void {
    if (!this.#trusted.has(socket.remoteAddress)) {
      next(socket);
      return;
    }
    const proxy = peerKey(socket);
    let received: Buffer = Buffer.alloc(0);
    let settled = false;
    const finish = (): void => {
      settled = true;
      clearTimeout(timer);
      this.#reading.delete(socket);
      socket.off('data', onData);
      socket.off('end', onEnd);
      socket.off('close', onEnd);
      socket.off('error', onError);
    };
    const drop = (reason: DropReason, detail: string): void => {
      if (settled) return;
      finish();
      socket.destroy();
      this.#onDropped(reason, detail, proxy);
    };
    const onEnd = () => drop('closed', `closed after ${received.length} bytes, before a complete header`);
    const onError = (error: Error) => drop('closed', error.message);
    const onData = (chunk: Buffer): void => {
      // Never more than the largest header (or v1 line) plus one read: the rest is unshifted.
      received = received.length === 0 ? chunk : Buffer.concat([received, chunk]);
      const result = parseProxyHeader(received);
      if (result.status === 'incomplete') {
        if (received.length > MAX_HEADER_BYTES)
          drop('invalid', `no complete header in ${received.length} bytes`);
        return;
      }
      if (result.status === 'invalid') {
        drop('invalid', result.reason);
        return;
      }
      // Stop the flow before anything else can read: what follows the header belongs to the next
      // reader (the TLS server reads a socket's buffered bytes first when it wraps it).
      socket.pause();
      finish();
      const rest = received.subarray(result.header.length);
      if (rest.length > 0) socket.unshift(rest);
      if (result.header.command === 'proxy') this.#assume(socket, result.header.source);
      next(socket);
      if (to === 'stream' && !socket.destroyed) socket.resume();
    };
    const timer = setTimeout(
      () => drop('timeout', `no complete header within ${this.#timeoutMs} ms (${received.length} bytes)`),
      this.#timeoutMs,
    );
    timer.unref();
    this.#reading.add(socket);
    socket.on('data', onData);
    socket.once('end', onEnd);
    socket.once('close', onEnd);
    socket.once('error', onError);
  }

  /**
   * Puts accept() in front of every connection a server emits, for a server whose 'connection'
   * listeners are not ours (Fastify's HTTP or HTTPS server). A TLS server also gets carry().
   */
  guard(server: Server): void {
    if (!this.enabled) return;
    const tls = isTlsServer(server);
    const emit = server.emit.bind(server) as (event: string | symbol, ...args: unknown[]) => boolean;
    server.emit = ((event: string | symbol, ...args: unknown[]): boolean => {
      if (event !== 'connection') return emit(event, ...args);
      this.accept(args[0] as Socket, (socket) => emit('connection', socket), tls ? 'tls' : 'stream');
      return true;
    }) as Server['emit'];
    if (tls) this.carry(server);
  }

  /**
   * The TLS sockets a TLS server makes from accepted (proxied) TCP sockets report the client too:
   * set when the handshake completes, before any listener of 'secureConnection' (the HTTP server,
   * the MQTT broker, the handshake deadline) reads the address.
   */
  carry(server: TlsServer): void {
    if (!this.enabled) return;
    server.prependListener('secureConnection', (socket: TLSSocket) => {
      const key = peerKey(socket);
      const client = this.#clients.get(key);
      if (!client) return;
      this.#clients.delete(key);
      setPeer(socket, client);
    });
  }

  /** Drops the connections still waiting for their header (shutdown: nothing else would end them). */
  close(): void {
    for (const socket of this.#reading) socket.destroy();
    this.#reading.clear();
    this.#clients.clear();
  }

  #assume(socket: Socket, client: Endpoint): void {
    const key = peerKey(socket);
    this.#clients.set(key, client);
    socket.once('close', () => {
      if (this.#clients.get(key) === client) this.#clients.delete(key);
    });
    setPeer(socket, client);
  }
}

/** The socket reports the client as its peer: own properties over net.Socket's getters. */
function setPeer(socket: Socket, client: Endpoint): void {
  const value = (v: unknown) => ({ value: v, configurable: true, enumerable: true, writable: false });
  Object.defineProperties(socket, {
    remoteAddress: value(client.address),
    remotePort: value(client.port),
    remoteFamily: value(client.family),
  });
}

function isTlsServer(server: Server): server is TlsServer {
  return typeof (server as Partial<TlsServer>).addContext === 'function';
}
