import { EventEmitter } from 'node:events';
import {
  type CommandRequestPayload,
  deviceTopic,
  MAX_READINGS_PER_BATCH,
  type Reply,
  type TelemetryReading,
  type UpdateOffer,
  type UpdateStatus,
} from '@brickless/protocol';
import mqtt, { type MqttClient } from 'mqtt';
import { Backoff } from './backoff.js';
import { type DeviceSettings, SettingsFile } from './settings.js';
import { UpdateAgent, type UpdateOptions } from './updates/agent.js';

export interface DeviceOptions {
  /** `mqtts://host:8883` (or `mqtt://` on a LAN with plain MQTT enabled). */
  url: string;
  deviceId: string;
  /** The device's own secret (`bds_…`); or else `certificate`. */
  secret?: string;
  /** A client certificate from the organisation's device CA and its key, PEM (mutual TLS). */
  certificate?: { cert: string | Buffer; key: string | Buffer };
  /** CA certificate(s) to trust, PEM: the server's `data/tls/ca.crt`. */
  ca?: string | Buffer;
  /** Readings kept while offline; beyond it the oldest are dropped and counted. */
  bufferLimit?: number;
  backoff?: { initialMs?: number; maxMs?: number; random?: () => number };
  /** Where to persist settings (server URL, applied state version); none when absent. */
  settingsFile?: string;
  connectTimeoutMs?: number;
  /** Signed firmware updates (docs/updates.md): without this the device ignores offers. */
  updates?: UpdateOptions;
}

export type CommandHandler = (params: unknown, request: CommandRequestPayload) => unknown | Promise<unknown>;
export type DeltaHandler = (state: Record<string, unknown>, version: number) => void | Promise<void>;

interface Events {
  connected: [];
  disconnected: [];
  /** An error reply from the server on `errors`. */
  serverError: [reply: Extract<Reply, { status: 'error' }>];
  dropped: [count: number];
  /** A command, delta or update handler threw; the device goes on. */
  handlerError: [error: unknown];
  /** Every update step the device reports, as it reports it. */
  update: [status: UpdateStatus];
}

/** A command error the handler throws on purpose: sent to the server as `{code, message}`. */
export class CommandError extends Error {
  readonly code: string;
  constructor(code: string, message: string) {
    super(message);
    this.code = code;
  }
}

const SEEN_COMMANDS = 1000;

/**
 * A brickless device: connects with its own secret, sends telemetry (buffered while offline),
 * reports state and applies deltas, answers commands, and reconnects with backoff and jitter.
 * docs/protocol.md is the contract it implements.
 */
export class BricklessDevice extends EventEmitter<Events> {
  readonly #options: DeviceOptions;
  readonly #backoff: Backoff;
  readonly #settings: SettingsFile | null;
  readonly #buffer: TelemetryReading[] = [];
  readonly #commands = new Map<string, CommandHandler>();
  readonly #seen: string[] = [];
  #deltaHandler: DeltaHandler | null = null;
  #client: MqttClient | null = null;
  #timer: NodeJS.Timeout | null = null;
  #closed = false;
  #dropped = 0;
  #flushing: Promise<void> | null = null;
  readonly #updates: UpdateAgent | null;
  readonly #reports: UpdateStatus[] = [];

  constructor(options: DeviceOptions) {
    super();
    if (!options.secret === !options.certificate)
      throw new Error('give the device exactly one credential: secret or certificate');
    this.#options = options;
    this.#backoff = new Backoff(options.backoff);
    this.#settings = options.settingsFile ? new SettingsFile(options.settingsFile) : null;
    this.#updates = options.updates
      ? new UpdateAgent(
          options.updates,
          {
            deviceId: options.deviceId,
            ...(options.secret ? { secret: options.secret } : {}),
            ...(options.certificate ? { certificate: options.certificate } : {}),
            ...(options.ca ? { ca: options.ca } : {}),
            ...(options.updates.httpAgent ? { agent: options.updates.httpAgent } : {}),
          },
          (status) => this.#reportUpdate(status),
          () => this.reboot(),
        )
      : null;
  }

  /** The update agent, when `updates` was given: its slots and the firmware it runs. */
  get updates(): UpdateAgent | null {
    return this.#updates;
  }

  /** Reports an update step now, or as soon as the device is connected again. */
  async #reportUpdate(status: UpdateStatus): Promise<void> {
    this.emit('update', status);
    this.#reports.push(status);
    await this.#sendReports();
  }

  async #sendReports(): Promise<void> {
    while (this.#client?.connected && this.#reports.length > 0) {
      try {
        await this.#client.publishAsync(
          deviceTopic(this.#options.deviceId, 'updates/status'),
          JSON.stringify(this.#reports[0]),
          { qos: 1 },
        );
        this.#reports.shift();
      } catch {
        return;
      }
    }
  }

  /**
   * Restarts the connection as a reboot would: the session ends and a new one begins, and a
   * trial boot of new firmware runs its health check once connected.
   */
  async reboot(): Promise<void> {
    this.#closed = true;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
    await this.#client?.endAsync();
    // A first attempt that fails is not the end: the connection retries with backoff, and the
    // trial boot's health check runs whenever it is connected again.
    await this.connect().catch(() => {});
  }

  get connected(): boolean {
    return this.#client?.connected ?? false;
  }

  /** Readings waiting for a connection. */
  get buffered(): number {
    return this.#buffer.length;
  }

  /** Readings dropped because the buffer was full. */
  get dropped(): number {
    return this.#dropped;
  }

  get settings(): DeviceSettings | null {
    return this.#settings?.load() ?? null;
  }

  onCommand(name: string, handler: CommandHandler): this {
    this.#commands.set(name, handler);
    return this;
  }

  onDelta(handler: DeltaHandler): this {
    this.#deltaHandler = handler;
    return this;
  }

  /** Connects; resolves on the first successful connection, rejects if it is refused. */
  connect(): Promise<void> {
    this.#closed = false;
    const saved = this.#settings?.load();
    const url = saved?.deviceId === this.#options.deviceId ? saved.url : this.#options.url;
    this.#settings?.save({ ...(saved ?? {}), url, deviceId: this.#options.deviceId });
    const { deviceId } = this.#options;
    const client = mqtt.connect(url, {
      clientId: deviceId,
      username: deviceId,
      ...(this.#options.secret ? { password: this.#options.secret } : {}),
      ...(this.#options.certificate
        ? { cert: this.#options.certificate.cert, key: this.#options.certificate.key }
        : {}),
      ...(this.#options.ca ? { ca: this.#options.ca } : {}),
      protocolVersion: 4,
      clean: true,
      // Reconnection is ours: exponential backoff with jitter instead of a fixed period.
      reconnectPeriod: 0,
      connectTimeout: this.#options.connectTimeoutMs ?? 10_000,
      will: {
        topic: deviceTopic(deviceId, 'presence'),
        payload: Buffer.from('{"online":false}'),
        qos: 1,
        retain: false,
      },
    });
    this.#client = client;
    client.on('message', (topic, payload) => {
      // A handler's failure must never take the device's process down.
      this.#onMessage(topic, payload).catch((error: unknown) => this.emit('handlerError', error));
    });
    client.on('error', () => {}); // surfaced through close and reconnect
    client.on('close', () => {
      this.emit('disconnected');
      this.#scheduleReconnect();
    });
    client.on('connect', () => {
      this.#backoff.reset();
      this.#onConnect(client).catch((error: unknown) => this.emit('handlerError', error));
    });
    return new Promise((resolve, reject) => {
      const onConnected = () => {
        this.off('disconnected', onFailed);
        resolve();
      };
      const onFailed = () => {
        this.off('connected', onConnected);
        reject(new Error(`could not connect to ${url} as ${deviceId}`));
      };
      this.once('connected', onConnected);
      this.once('disconnected', onFailed);
    });
  }

  async #onConnect(client: MqttClient): Promise<void> {
    const { deviceId } = this.#options;
    try {
      await client.subscribeAsync(
        [
          deviceTopic(deviceId, 'errors'),
          deviceTopic(deviceId, 'state/delta'),
          deviceTopic(deviceId, 'commands/request'),
          ...(this.#updates ? [deviceTopic(deviceId, 'updates/offer')] : []),
        ],
        { qos: 1 },
      );
      await client.publishAsync(deviceTopic(deviceId, 'presence'), '{"online":true}', { qos: 1 });
    } catch {
      return; // the connection went away again; close schedules the next attempt
    }
    this.emit('connected');
    await this.#sendReports();
    await this.#updates?.afterBoot();
    await this.flush();
  }

  #scheduleReconnect(): void {
    if (this.#closed || this.#timer) return;
    const delay = this.#backoff.next();
    this.#timer = setTimeout(() => {
      this.#timer = null;
      if (!this.#closed) this.#client?.reconnect();
    }, delay);
  }

  /** Sends a reading now, or keeps it until the device is connected again. */
  async sendTelemetry(values: TelemetryReading['values'], time: Date = new Date()): Promise<void> {
    this.#buffer.push({ time: time.toISOString(), values });
    if (this.#buffer.length > (this.#options.bufferLimit ?? 1000)) {
      const excess = this.#buffer.length - (this.#options.bufferLimit ?? 1000);
      this.#buffer.splice(0, excess);
      this.#dropped += excess;
      this.emit('dropped', excess);
    }
    if (this.connected) await this.flush();
  }

  /** Sends buffered readings in batches; each batch leaves the buffer once the server acknowledged it. */
  async flush(): Promise<void> {
    while (this.#flushing) await this.#flushing;
    if (!this.connected || this.#buffer.length === 0) return;
    this.#flushing = this.#drain();
    try {
      await this.#flushing;
    } finally {
      this.#flushing = null;
    }
  }

  async #drain(): Promise<void> {
    try {
      while (this.connected && this.#buffer.length > 0) {
        const batch = this.#buffer.slice(0, MAX_READINGS_PER_BATCH);
        await this.#client?.publishAsync(
          deviceTopic(this.#options.deviceId, 'telemetry'),
          JSON.stringify({ readings: batch }),
          { qos: 1 },
        );
        this.#buffer.splice(0, batch.length);
      }
    } catch {
      // not acknowledged: the readings stay buffered for the next connection
    }
  }

  /**
   * Sends an event the product's capability model declares (a button press, a tamper alarm).
   * Events are not buffered: an event that cannot be delivered now rejects, and the caller decides.
   */
  async sendEvent(name: string, data?: unknown, time: Date = new Date()): Promise<void> {
    if (!this.#client?.connected) throw new Error('not connected');
    await this.#client.publishAsync(
      deviceTopic(this.#options.deviceId, 'events'),
      JSON.stringify({
        events: [{ name, time: time.toISOString(), ...(data === undefined ? {} : { data }) }],
      }),
      { qos: 1 },
    );
  }

  async reportState(state: Record<string, unknown>): Promise<void> {
    if (!this.#client?.connected) throw new Error('not connected');
    await this.#client.publishAsync(
      deviceTopic(this.#options.deviceId, 'state/reported'),
      JSON.stringify({ state }),
      { qos: 1 },
    );
  }

  async #onMessage(topic: string, payload: Buffer): Promise<void> {
    const { deviceId } = this.#options;
    let body: unknown;
    try {
      body = JSON.parse(payload.toString('utf8'));
    } catch {
      return;
    }
    if (topic === deviceTopic(deviceId, 'errors')) {
      this.emit('serverError', body as Extract<Reply, { status: 'error' }>);
    } else if (topic === deviceTopic(deviceId, 'state/delta')) {
      const { version, state } = body as { version: number; state: Record<string, unknown> };
      await this.#deltaHandler?.(state, version);
      const saved = this.#settings?.load();
      if (saved) this.#settings?.save({ ...saved, stateVersion: version });
    } else if (topic === deviceTopic(deviceId, 'commands/request')) {
      await this.#onCommand(body as CommandRequestPayload);
    } else if (topic === deviceTopic(deviceId, 'updates/offer')) {
      await this.#updates?.handleOffer(body as UpdateOffer);
    }
  }

  async #onCommand(request: CommandRequestPayload): Promise<void> {
    // A command may arrive again after a reconnect; it is answered once.
    if (this.#seen.includes(request.id)) return;
    this.#seen.push(request.id);
    if (this.#seen.length > SEEN_COMMANDS) this.#seen.shift();
    const handler = this.#commands.get(request.name);
    let reply: Reply;
    if (!handler) {
      reply = {
        status: 'error',
        id: request.id,
        error: { code: 'unsupported', message: `no handler for ${request.name}` },
      };
    } else {
      try {
        reply = { status: 'ok', id: request.id, data: (await handler(request.params, request)) ?? null };
      } catch (error) {
        const code = error instanceof CommandError ? error.code : 'failed';
        reply = { status: 'error', id: request.id, error: { code, message: (error as Error).message } };
      }
    }
    await this.#client
      ?.publishAsync(deviceTopic(this.#options.deviceId, 'commands/result'), JSON.stringify(reply), {
        qos: 1,
      })
      .catch(() => {});
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.#updates?.close();
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
    await this.#client?.endAsync();
  }
}
