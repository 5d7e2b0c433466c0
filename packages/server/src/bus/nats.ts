import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { ConnectionOptions, NatsConnection, Subscription } from 'nats';
import {
  type Bus,
  type BusEvent,
  type BusEvents,
  type BusHandler,
  type BusObserver,
  LocalSubscribers,
  silentObserver,
} from './bus.js';
import { isBusEvent, validPayload } from './events.js';
import { type BusSettings, parseBusUrl, redactBusUrl } from './url.js';

/** Version of the message envelope; a node drops what it cannot read (a newer release's message). */
const ENVELOPE_VERSION = 1;
/** Larger messages are dropped unread: the largest real one, 1,000 device ids, is about 40 KiB. */
export const MAX_MESSAGE_BYTES = 256 * 1024;
const CLUSTER_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;

export interface NatsBusOptions {
  settings: BusSettings & { url: string };
  observer?: BusObserver;
  /**
   * Whether a change (audit entry id) is new here: false when this node applied it already
   * (it heard it from the database first). store/change-notifier.ts `AppliedChanges.claim`.
   */
  claim?: (change: string) => boolean;
  /** This node's name, in the NATS connection name (`nats-server` connz shows it). */
  nodeName?: string;
  /** How long the first connection may take before `serve` gives up with an error. */
  connectTimeoutMs?: number;
}

/** `brickless.<cluster>.` : every subject of one installation starts with it. */
export function subjectPrefix(cluster: string): string {
  if (!CLUSTER_PATTERN.test(cluster))
    throw new Error(
      `bus.cluster ${JSON.stringify(cluster)} must be 1 to 64 letters, digits, - or _ (it is a NATS subject token)`,
    );
  return `brickless.${cluster}.`;
}

/**
 * The bus over NATS (core NATS, no JetStream: decision 0028). One connection per node, one
 * subscription to `brickless.<cluster>.>`; `noEcho`, so a node never hears its own messages back
 * (it delivered them to its own subscribers already, in `publish`). Every message from the bus is
 * untrusted: size, JSON, envelope and payload are checked, and a bad one is dropped with a
 * log line and a metric (the observer), never thrown.
 */
export class NatsBus implements Bus {
  readonly kind = 'nats' as const;
  readonly description: string;
  readonly #nc: NatsConnection;
  readonly #prefix: string;
  readonly #local: LocalSubscribers;
  readonly #observer: BusObserver;
  readonly #claim: (change: string) => boolean;
  readonly #resume = new Set<(downSince: number) => void>();
  /** This process: a message carrying it is our own (noEcho should never let one through). */
  readonly #origin = randomBytes(8).toString('hex');
  readonly #subscription: Subscription;
  #downSince: number | null = null;
  #closed = false;

  private constructor(nc: NatsConnection, options: NatsBusOptions, prefix: string) {
    this.#nc = nc;
    this.#prefix = prefix;
    this.#observer = options.observer ?? silentObserver;
    this.#claim = options.claim ?? (() => true);
    this.#local = new LocalSubscribers(this.#observer);
    this.description = `NATS ${redactBusUrl(options.settings.url)} (subjects ${prefix}>)`;
    this.#subscription = nc.subscribe(`${prefix}>`, {
      callback: (error, message) => {
        if (error) {
          this.#observer.connection(false, `subscription error: ${error.message}`);
          return;
        }
        this.#receive(message.subject, message.data);
      },
    });
    // nats.js never ends the status iterator, not even on close: it is followed, not awaited.
    void this.#watch();
  }

  /** Connects (or throws an Error saying what failed and how to fix it), then subscribes. */
  static async connect(options: NatsBusOptions): Promise<NatsBus> {
    const { settings } = options;
    const prefix = subjectPrefix(settings.cluster);
    const servers = parseBusUrl(settings.url);
    const tls =
      servers.tls || settings.tlsCaFile || settings.tlsCertFile || settings.tlsKeyFile
        ? {
            ...(settings.tlsCaFile ? { caFile: settings.tlsCaFile } : {}),
            ...(settings.tlsCertFile ? { certFile: settings.tlsCertFile } : {}),
            ...(settings.tlsKeyFile ? { keyFile: settings.tlsKeyFile } : {}),
          }
        : undefined;
    let authenticator: ConnectionOptions['authenticator'];
    const { connect, credsAuthenticator } = await import('nats');
    if (settings.credsFile) {
      let creds: Uint8Array;
      try {
        creds = readFileSync(settings.credsFile);
      } catch (error) {
        throw new Error(`bus.credsFile ${settings.credsFile}: ${(error as Error).message}`);
      }
      authenticator = credsAuthenticator(creds);
    }
    const connection: ConnectionOptions = {
      servers: servers.servers,
      name: `brickless ${options.nodeName ?? ''}`.trim(),
      noEcho: true,
      timeout: options.connectTimeoutMs ?? 5000,
      // Reconnect for ever, quickly: while the bus is away, devices on other nodes miss wake-ups.
      maxReconnectAttempts: -1,
      reconnectTimeWait: 500,
      reconnectJitter: 250,
      pingInterval: 10_000,
      maxPingOut: 2,
      ...(servers.user !== undefined ? { user: servers.user, pass: servers.pass ?? '' } : {}),
      ...(servers.token !== undefined ? { token: servers.token } : {}),
      ...(tls ? { tls } : {}),
      ...(authenticator ? { authenticator } : {}),
    };
    let nc: NatsConnection;
    try {
      nc = await connect(connection);
    } catch (error) {
      const reason = (error as { code?: string; message?: string }).code ?? (error as Error).message;
      throw new Error(
        `could not connect to the NATS bus at ${redactBusUrl(settings.url)}: ${reason}. Start nats-server there (Debian: apt-get install nats-server), or correct --bus / bus.url (and bus.credsFile, bus.tls* when the server wants them)`,
      );
    }
    const bus = new NatsBus(nc, options, prefix);
    // The server has the subscription before the node serves: nothing published from now on is missed.
    await nc.flush();
    return bus;
  }

  publish<E extends BusEvent>(event: E, payload: BusEvents[E]): void {
    if (this.#closed) return;
    this.#local.deliver(event, payload);
    const body = JSON.stringify({ v: ENVELOPE_VERSION, o: this.#origin, p: payload });
    try {
      // Buffered by the client while it reconnects, and sent once the connection is back.
      this.#nc.publish(`${this.#prefix}${event}`, body);
      this.#observer.carried(event, 'out');
    } catch (error) {
      this.#observer.connection(false, `publish of ${event} failed: ${(error as Error).message}`);
    }
  }

  deliverLocally<E extends BusEvent>(event: E, payload: BusEvents[E]): void {
    if (!this.#closed) this.#local.deliver(event, payload);
  }

  subscribe<E extends BusEvent>(event: E, handler: BusHandler<E>): () => void {
    return this.#local.subscribe(event, handler);
  }

  onResume(handler: (downSince: number) => void): () => void {
    this.#resume.add(handler);
    return () => {
      this.#resume.delete(handler);
    };
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#local.clear();
    this.#subscription.unsubscribe();
    // Sends what is buffered, then closes; a bus that is down is closed without waiting.
    await Promise.race([this.#nc.drain(), new Promise((resolve) => setTimeout(resolve, 2000).unref())]).catch(
      () => {},
    );
    if (!this.#nc.isClosed()) await this.#nc.close().catch(() => {});
  }

  /** A message from another node: checked piece by piece before anyone sees it. */
  #receive(subject: string, data: Uint8Array): void {
    if (this.#closed) return;
    const name = subject.slice(this.#prefix.length);
    if (!isBusEvent(name)) {
      this.#observer.dropped('unknown', 'unknown-event', `subject ${subject.slice(0, 200)}`);
      return;
    }
    if (data.length > MAX_MESSAGE_BYTES) {
      this.#observer.dropped(name, 'too-large', `${data.length} bytes`);
      return;
    }
    let envelope: unknown;
    try {
      envelope = JSON.parse(Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString('utf8'));
    } catch (error) {
      this.#observer.dropped(name, 'not-json', (error as Error).message);
      return;
    }
    if (typeof envelope !== 'object' || envelope === null || Array.isArray(envelope)) {
      this.#observer.dropped(name, 'not-json', 'not an object');
      return;
    }
    const { v, o, p } = envelope as { v?: unknown; o?: unknown; p?: unknown };
    if (v !== ENVELOPE_VERSION) {
      this.#observer.dropped(name, 'unknown-version', `envelope version ${JSON.stringify(v)?.slice(0, 20)}`);
      return;
    }
    if (typeof o !== 'string' || o.length > 64 || !validPayload(name, p)) {
      this.#observer.dropped(name, 'invalid', 'the payload does not match the event schema');
      return;
    }
    if (o === this.#origin) return;
    this.#observer.carried(name, 'in');
    // Heard from the database already (or it will be, and then skipped there): applied once.
    const change = (p as { change?: string }).change;
    if (change !== undefined && !this.#claim(change)) return;
    this.#local.deliver(name, p);
  }

  /** Follows the connection: down and back are reported, and back lets subscribers catch up. */
  async #watch(): Promise<void> {
    for await (const status of this.#nc.status()) {
      if (this.#closed) return;
      if (status.type === 'disconnect') {
        this.#downSince ??= Date.now();
        this.#observer.connection(false, `disconnected from ${String(status.data)}`);
      } else if (status.type === 'reconnect') {
        const since = this.#downSince ?? Date.now();
        this.#downSince = null;
        this.#observer.connection(true, `reconnected to ${String(status.data)}`);
        for (const handler of [...this.#resume]) {
          try {
            handler(since);
          } catch (error) {
            this.#observer.connection(true, `catch-up failed: ${(error as Error).message}`);
          }
        }
      }
    }
  }
}
