import { EventEmitter } from 'node:events';
import {
  type CommandRequestPayload,
  deviceTopic,
  type EndpointRecord,
  type EndpointStatus,
  FACTORY_RESET_COMMAND,
  MAX_READINGS_PER_BATCH,
  type Reply,
  type TelemetryReading,
  type UpdateOffer,
  type UpdateStatus,
} from '@brickless/protocol';
import mqtt, { type MqttClient } from 'mqtt';
import { Backoff } from './backoff.js';
import { fetchEndpointRecord } from './continuity/fetch.js';
import { LocalLink, type LocalModeOptions } from './continuity/local.js';
import { verifyEndpointRecord } from './continuity/verify.js';
import { endClient } from './end-client.js';
import { type DeviceSettings, MemorySettings, SettingsFile } from './settings.js';
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
  /**
   * Continuity (docs/continuity.md): the device follows signed endpoint records to a successor or
   * into local mode. They are checked against the TUF root of `updates` (kept current by updates),
   * or else `trustedRoot`. `recordUrls` are asked for a record after `failuresBeforeFetch`
   * connection failures in a row, for devices that were offline when the record was pushed.
   */
  /**
   * Local mode on the owner's broker (docs/continuity.md): `startLocal()` switches it on next to
   * the cloud; a sunset record switches the cloud off and local mode on.
   */
  local?: LocalModeOptions;
  continuity?: {
    trustedRoot?: string | Buffer;
    productId?: string;
    recordUrls?: string[];
    failuresBeforeFetch?: number;
    /**
     * A device waits a random time below this before it connects to the new server, so a fleet
     * handed over at once does not arrive at once (default 10 s; 0 moves at once).
     */
    moveSpreadMs?: number;
  };
}

export type CommandHandler = (params: unknown, request: CommandRequestPayload) => unknown | Promise<unknown>;
/** The firmware's part of a factory reset: wipe the product's own data (Wi-Fi, schedules, pairings). */
export type FactoryResetHandler = (request: CommandRequestPayload) => void | Promise<void>;

/** The reserved command of a transfer (issue 18 §1): handled with `onFactoryReset`, never `onCommand`. */
export { FACTORY_RESET_COMMAND };

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
  /** A verified endpoint record moved the device (to a successor, or into local mode). */
  endpoint: [record: EndpointRecord];
  /** An endpoint record was refused: `reason` says why (signature-invalid, version-rollback, …). */
  endpointRefused: [reason: string, message: string];
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
  readonly #settings: SettingsFile | MemorySettings;
  readonly #buffer: TelemetryReading[] = [];
  readonly #commands = new Map<string, CommandHandler>();
  readonly #seen: string[] = [];
  #deltaHandler: DeltaHandler | null = null;
  #factoryReset: FactoryResetHandler | null = null;
  #client: MqttClient | null = null;
  #timer: NodeJS.Timeout | null = null;
  #closed = false;
  /** Set by close(): work still under way (a move, a switch to local mode, an update's reboot) starts nothing new. */
  #stopped = false;
  #dropped = 0;
  #flushing: Promise<void> | null = null;
  readonly #updates: UpdateAgent | null;
  readonly #reports: UpdateStatus[] = [];
  #failures = 0;
  #local: LocalLink | null = null;
  #localVersion = 0;
  #fetchingRecord = false;

  constructor(options: DeviceOptions) {
    super();
    if (!options.secret === !options.certificate)
      throw new Error('give the device exactly one credential: secret or certificate');
    this.#options = options;
    this.#backoff = new Backoff(options.backoff);
    this.#settings = options.settingsFile ? new SettingsFile(options.settingsFile) : new MemorySettings();
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
    if (this.#stopped) return;
    this.#closed = true;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
    await endClient(this.#client);
    // An update that finishes after close() (its download was under way) must not bring the
    // device back: close() means gone, and a new connection would keep the process alive.
    if (this.#stopped) return;
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
    if (name === FACTORY_RESET_COMMAND)
      throw new Error(`${FACTORY_RESET_COMMAND} is reserved: handle it with onFactoryReset()`);
    this.#commands.set(name, handler);
    return this;
  }

  /**
   * The firmware's factory reset (issue 18 §1, transfer on resale): the handler wipes the previous
   * owner's data; then the SDK forgets the applied state version and an owner's choice of local
   * mode (a maker's sunset or a move to a successor stays), and answers the command. The firmware
   * restarts the device after it. Without a handler the command is answered `unsupported`.
   */
  onFactoryReset(handler: FactoryResetHandler): this {
    this.#factoryReset = handler;
    return this;
  }

  /** Runs the factory reset as the reserved command would (for a reset button on the device). */
  async factoryReset(): Promise<void> {
    const reply = await this.#runCommand({
      id: `local-${Date.now()}`,
      name: FACTORY_RESET_COMMAND,
      params: {},
    } as CommandRequestPayload);
    if (reply.status === 'error') throw new CommandError(reply.error.code, reply.error.message);
  }

  async #resetSettings(): Promise<void> {
    const saved = this.#settings.load();
    if (!saved) return;
    const { stateVersion: _state, localBy, ...kept } = saved;
    if (localBy === 'owner') {
      // The owner's local mode ends with the owner: the device goes back to the cloud it came from.
      const { mode: _mode, endpointStatus: _status, ...cloud } = kept;
      this.#settings.save({ ...cloud, mode: 'cloud' });
    } else this.#settings.save({ ...kept, ...(localBy ? { localBy } : {}) });
  }

  onDelta(handler: DeltaHandler): this {
    this.#deltaHandler = handler;
    return this;
  }

  /** Connects; resolves on the first successful connection, rejects if it is refused. */
  connect(): Promise<void> {
    this.#closed = false;
    this.#stopped = false;
    // After a sunset record the device never calls the cloud again; it serves the LAN if it can.
    if (this.#settings.load()?.mode === 'local')
      return this.#options.local ? this.startLocal() : Promise.resolve();
    const loaded = this.#settings?.load();
    const saved = loaded?.deviceId === this.#options.deviceId ? loaded : null;
    const url = saved?.url ?? this.#options.url;
    // An endpoint record may have named a new server and its TLS anchor (docs/continuity.md).
    const ca = saved?.ca ?? this.#options.ca;
    this.#settings?.save({ ...(saved ?? {}), url, deviceId: this.#options.deviceId });
    const { deviceId } = this.#options;
    const client = mqtt.connect(url, {
      clientId: deviceId,
      username: deviceId,
      ...(this.#options.secret ? { password: this.#options.secret } : {}),
      ...(this.#options.certificate
        ? { cert: this.#options.certificate.cert, key: this.#options.certificate.key }
        : {}),
      ...(ca ? { ca } : {}),
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
      // A client left behind by a move to another server stays closed.
      if (this.#client !== client) return;
      this.emit('disconnected');
      this.#failures++;
      this.#scheduleReconnect();
      void this.#fetchRecordAfterFailures();
    });
    client.on('connect', () => {
      this.#backoff.reset();
      this.#failures = 0;
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
          deviceTopic(deviceId, 'endpoint'),
        ],
        { qos: 1 },
      );
      await client.publishAsync(deviceTopic(deviceId, 'presence'), '{"online":true}', { qos: 1 });
      // Arrived where an endpoint record sent it: the new server counts it as moved.
      const saved = this.#settings?.load();
      if (saved?.endpointStatus === 'moving' && saved.endpointVersion !== undefined) {
        // Marked arrived only once the new server acknowledged it; otherwise the next connection
        // tells it again (the server counts arrivals from these reports). The device works on
        // either way.
        if (await this.#sendEndpointStatus({ version: saved.endpointVersion, status: 'arrived' }))
          this.#settings?.save({ ...saved, endpointStatus: 'arrived' });
      }
    } catch {
      return; // the connection went away again; close schedules the next attempt
    }
    // Closed while the subscriptions were on their way: the caller is done with this device.
    if (this.#closed || this.#client !== client) return;
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
    await this.#local?.publish(values, 'telemetry').catch(() => {});
    if (this.isLocalOnly) return;
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
    await this.#local?.publish(state, 'state/reported').catch(() => {});
    if (this.isLocalOnly) return;
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
    } else if (topic === deviceTopic(deviceId, 'endpoint')) {
      await this.applyEndpointRecord(body);
    }
  }

  /** Tells the server what the device did with a record; whether the server acknowledged it. */
  async #sendEndpointStatus(status: EndpointStatus): Promise<boolean> {
    // Not connected (a record fetched while the old server is gone): nobody to tell.
    const client = this.#client;
    if (!client?.connected) return false;
    return client
      .publishAsync(deviceTopic(this.#options.deviceId, 'endpoint/status'), JSON.stringify(status), {
        qos: 1,
      })
      .then(
        () => true,
        () => false,
      );
  }

  /**
   * Applies an endpoint record (pushed by a server, or fetched): verified against the trusted TUF
   * root, applied only when newer than the last one, and only for this device's product. A cloud
   * record moves the device to the named server with its TLS anchor: the old server is told
   * `moving` and never used again. Returns whether the device moved.
   */
  async applyEndpointRecord(value: unknown): Promise<boolean> {
    const refuse = async (reason: string, message: string, version?: number) => {
      this.emit('endpointRefused', reason, message);
      if (typeof version === 'number') await this.#sendEndpointStatus({ version, status: 'refused', reason });
      return false;
    };
    const claimed = (value as { signed?: { version?: unknown } } | null)?.signed?.version;
    const version = typeof claimed === 'number' ? claimed : undefined;
    const root = this.#updates?.trustedRootDocument() ?? this.#options.continuity?.trustedRoot;
    if (!root)
      return refuse(
        'no-trusted-root',
        'the device has no TUF root to check endpoint records against',
        version,
      );
    const verdict = verifyEndpointRecord(value, root, { deviceId: this.#options.deviceId });
    if (!verdict.ok) return refuse(verdict.reason, verdict.message, version);
    const { signed } = verdict.record;
    const saved = this.#settings?.load() ?? null;
    const current = saved?.endpointVersion ?? 0;
    if (signed.version === current) return false; // already applied
    if (signed.version < current)
      return refuse(
        'version-rollback',
        `record version ${signed.version} is older than the applied ${current}`,
        signed.version,
      );
    const productId = this.#options.continuity?.productId ?? this.#options.updates?.productId;
    if (signed.products && (!productId || !signed.products.includes(productId))) return false;
    if (signed.mode === 'local') {
      this.#settings?.save({
        ...(saved ?? { url: this.#options.url, deviceId: this.#options.deviceId }),
        endpointVersion: signed.version,
        endpointStatus: 'local',
        mode: 'local',
        localBy: signed.devices ? 'owner' : 'maker',
      });
      await this.#sendEndpointStatus({ version: signed.version, status: 'local' });
      this.emit('endpoint', verdict.record);
      // The cloud connection ends for good; local mode goes on (or starts) on the owner's broker.
      this.#closed = true;
      if (this.#timer) clearTimeout(this.#timer);
      this.#timer = null;
      const old = this.#client;
      this.#client = null;
      await endClient(old);
      if (this.#options.local && !this.#stopped)
        await this.startLocal().catch((error: unknown) => this.emit('handlerError', error));
      return true;
    }
    this.#settings?.save({
      ...(saved ?? { deviceId: this.#options.deviceId }),
      url: signed.mqtt as string,
      httpUrl: signed.http as string,
      ca: signed.ca as string,
      endpointVersion: signed.version,
      endpointStatus: 'moving',
      mode: 'cloud',
    });
    await this.#sendEndpointStatus({ version: signed.version, status: 'moving' });
    this.#updates?.moveTo(signed.http as string, signed.ca);
    this.emit('endpoint', verdict.record);
    // Leave the old server for good, then connect to the new one (with backoff if it is not up yet).
    const old = this.#client;
    this.#client = null;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
    await endClient(old);
    const spread = this.#options.continuity?.moveSpreadMs ?? 10_000;
    if (spread > 0) await new Promise((resolve) => setTimeout(resolve, Math.random() * spread));
    if (!this.#closed) await this.connect().catch(() => {});
    return true;
  }

  /** After failures in a row, asks the record URLs whether the device has been moved meanwhile. */
  async #fetchRecordAfterFailures(): Promise<void> {
    const options = this.#options.continuity;
    if (!options?.recordUrls?.length || this.#fetchingRecord || this.#closed) return;
    if (
      this.#failures < (options.failuresBeforeFetch ?? 5) ||
      this.#failures % (options.failuresBeforeFetch ?? 5) !== 0
    )
      return;
    this.#fetchingRecord = true;
    try {
      for (const url of options.recordUrls) {
        const record = await fetchEndpointRecord(url).catch(() => null);
        if (record && (await this.applyEndpointRecord(record))) return;
      }
    } finally {
      this.#fetchingRecord = false;
    }
  }

  async #onCommand(request: CommandRequestPayload): Promise<void> {
    // A command may arrive again after a reconnect; it is answered once.
    if (this.#seen.includes(request.id)) return;
    this.#seen.push(request.id);
    if (this.#seen.length > SEEN_COMMANDS) this.#seen.shift();
    const reply = await this.#runCommand(request);
    await this.#client
      ?.publishAsync(deviceTopic(this.#options.deviceId, 'commands/result'), JSON.stringify(reply), {
        qos: 1,
      })
      .catch(() => {});
  }

  async #runCommand(request: CommandRequestPayload): Promise<Reply> {
    if (request.name === FACTORY_RESET_COMMAND) {
      const reset = this.#factoryReset;
      if (!reset)
        return {
          status: 'error',
          id: request.id,
          error: { code: 'unsupported', message: 'this firmware has no factory reset' },
        };
      try {
        await reset(request);
        await this.#resetSettings();
        return { status: 'ok', id: request.id, data: { reset: true } };
      } catch (error) {
        const code = error instanceof CommandError ? error.code : 'failed';
        return { status: 'error', id: request.id, error: { code, message: (error as Error).message } };
      }
    }
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
    return reply;
  }

  /** True after a sunset record: the cloud is off for good. */
  get isLocalOnly(): boolean {
    return this.#settings.load()?.mode === 'local';
  }

  /** Whether local mode is on and connected to the owner's broker. */
  get localConnected(): boolean {
    return this.#local?.connected ?? false;
  }

  /**
   * Switches local mode on: the device joins the owner's broker, announces itself to Home
   * Assistant and takes commands and state changes from the LAN, next to the cloud or instead.
   */
  async startLocal(): Promise<void> {
    if (this.#local) return;
    if (!this.#options.local)
      throw new Error('local mode needs the `local` options (the owner’s broker and credentials)');
    const link = new LocalLink(this.#options.deviceId, this.#options.local, {
      command: (request) => this.#runCommand(request),
      desired: async (state) => {
        this.#localVersion++;
        await this.#deltaHandler?.(state, this.#localVersion);
      },
    });
    this.#local = link;
    try {
      await link.start();
    } catch (error) {
      // A refused login or a stop while connecting leaves no client retrying in the background.
      if (this.#local === link) this.#local = null;
      await link.stop();
      throw error;
    }
  }

  async stopLocal(): Promise<void> {
    const local = this.#local;
    this.#local = null;
    await local?.stop();
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.#stopped = true;
    await this.stopLocal();
    this.#updates?.close();
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
    await endClient(this.#client);
  }
}
