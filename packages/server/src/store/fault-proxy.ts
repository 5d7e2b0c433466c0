import { type AddressInfo, createConnection, createServer, type Server, type Socket } from 'node:net';

/**
 * A TCP proxy on an ephemeral loopback port for fault tests: between the server and PostgreSQL,
 * it passes traffic, or resets every connection, or refuses new ones, or goes silent (a
 * blackholed route: connections stay open and nothing arrives). Test support only.
 */
export class FaultProxy {
  readonly #server: Server;
  readonly #target: { host: string; port: number };
  #mode: 'pass' | 'refuse' | 'blackhole' = 'pass';
  readonly #sockets = new Set<Socket>();
  readonly #pairs = new Set<[Socket, Socket]>();

  private constructor(target: { host: string; port: number }) {
    this.#target = target;
    this.#server = createServer((client) => this.#accept(client));
  }

  static async start(target: { host: string; port: number }): Promise<FaultProxy> {
    const proxy = new FaultProxy(target);
    await new Promise<void>((resolve) => proxy.#server.listen(0, '127.0.0.1', resolve));
    return proxy;
  }

  get port(): number {
    return (this.#server.address() as AddressInfo).port;
  }

  /** Connections passing through now. */
  get connections(): number {
    return this.#pairs.size;
  }

  #track(socket: Socket): void {
    this.#sockets.add(socket);
    socket.on('error', () => {});
    socket.on('close', () => this.#sockets.delete(socket));
  }

  #accept(client: Socket): void {
    this.#track(client);
    if (this.#mode === 'refuse') {
      client.resetAndDestroy();
      return;
    }
    if (this.#mode === 'blackhole') {
      client.pause(); // accepted, and then nothing: no handshake ever comes back
      return;
    }
    const upstream = createConnection(this.#target);
    this.#track(upstream);
    const pair: [Socket, Socket] = [client, upstream];
    this.#pairs.add(pair);
    client.pipe(upstream);
    upstream.pipe(client);
    const end = () => {
      this.#pairs.delete(pair);
      client.destroy();
      upstream.destroy();
    };
    client.on('close', end);
    upstream.on('close', end);
  }

  /** Sends a TCP RST on every connection, both sides; new connections still pass. */
  reset(): void {
    for (const [client, upstream] of this.#pairs) {
      client.resetAndDestroy();
      upstream.resetAndDestroy();
    }
  }

  /** The database is unreachable: existing connections are reset, new ones refused. */
  refuse(): void {
    this.#mode = 'refuse';
    this.reset();
  }

  /** The route goes silent: nothing is forwarded any more, in either direction, and no RST. */
  blackhole(): void {
    this.#mode = 'blackhole';
    for (const [client, upstream] of this.#pairs) {
      client.unpipe(upstream);
      upstream.unpipe(client);
      client.pause();
      upstream.pause();
    }
  }

  /** Back to normal. Connections that were blackholed stay dead (their peers time out). */
  pass(): void {
    this.#mode = 'pass';
  }

  async close(): Promise<void> {
    for (const socket of this.#sockets) socket.destroy();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }
}
