import { randomUUID } from 'node:crypto';
import type { CapabilityModel, CommandRequestPayload, Reply } from '@brickless/protocol';
import mqtt, { type MqttClient } from 'mqtt';
import { endClient } from '../end-client.js';
import { type DeviceInfo, discoveryMessages, localTopics } from './home-assistant.js';

/**
 * Local mode (docs/continuity.md): the device talks to the owner's MQTT broker on the LAN (the one
 * Home Assistant uses) with the owner's credentials, and to nothing in the cloud. Owners can switch
 * it on in normal operation; a sunset record switches the cloud off and leaves this on.
 */
export interface LocalModeOptions {
  /** The owner's broker: `mqtt://homeassistant.local:1883`, or `mqtts://` with `ca`. */
  url: string;
  /** The owner's credentials on that broker; there is no default. */
  username: string;
  password: string;
  ca?: string | Buffer;
  /** The product's capability model: what Home Assistant is told the device has. */
  capabilities: CapabilityModel;
  info: DeviceInfo;
  /** Home Assistant's discovery prefix (default `homeassistant`). */
  discoveryPrefix?: string;
}

export interface LocalHandlers {
  command(request: CommandRequestPayload): Promise<Reply>;
  desired(state: Record<string, unknown>): Promise<void>;
}

export class LocalLink {
  readonly #deviceId: string;
  readonly #options: LocalModeOptions;
  readonly #handlers: LocalHandlers;
  readonly #topics: ReturnType<typeof localTopics>;
  readonly #latest: Record<string, unknown> = {};
  #client: MqttClient | null = null;

  constructor(deviceId: string, options: LocalModeOptions, handlers: LocalHandlers) {
    if (!options.username || !options.password)
      throw new Error('local mode needs the owner’s broker user name and password');
    this.#deviceId = deviceId;
    this.#options = options;
    this.#handlers = handlers;
    this.#topics = localTopics(deviceId);
  }

  get connected(): boolean {
    return this.#client?.connected ?? false;
  }

  /** Connects (retrying by itself), announces the device to Home Assistant, and listens. */
  async start(): Promise<void> {
    const topics = this.#topics;
    const client = mqtt.connect(this.#options.url, {
      clientId: `brickless-${this.#deviceId}`,
      username: this.#options.username,
      password: this.#options.password,
      ...(this.#options.ca ? { ca: this.#options.ca } : {}),
      protocolVersion: 4,
      reconnectPeriod: 2_000,
      connectTimeout: 10_000,
      // Home Assistant marks every entity unavailable when the device drops off the LAN.
      will: { topic: topics.availability, payload: Buffer.from('offline'), qos: 1, retain: true },
    });
    this.#client = client;
    client.on('error', () => {});
    client.on('message', (topic, payload) => {
      void this.#onMessage(topic, payload.toString('utf8')).catch(() => {});
    });
    await new Promise<void>((resolve, reject) => {
      client.once('connect', () => resolve());
      client.once('error', reject);
      // stop() while still connecting: no 'connect' will come.
      client.once('end', () => reject(new Error('local mode stopped before it connected')));
    });
    // Announced before start() resolves, and again after every reconnect (the broker may have lost them).
    await this.#announce(client);
    client.on('connect', () => {
      void this.#announce(client).catch(() => {});
    });
  }

  async #announce(client: MqttClient): Promise<void> {
    const topics = this.#topics;
    await client.subscribeAsync([topics.set('+'), topics.press('+'), topics.commandRequest, topics.desired], {
      qos: 1,
    });
    for (const message of discoveryMessages(
      this.#deviceId,
      this.#options.capabilities,
      this.#options.info,
      this.#options.discoveryPrefix,
    ))
      await client.publishAsync(message.topic, JSON.stringify(message.payload), { qos: 1, retain: true });
    if (Object.keys(this.#latest).length > 0)
      await client.publishAsync(topics.state, JSON.stringify(this.#latest), { qos: 1, retain: true });
    await client.publishAsync(topics.availability, 'online', { qos: 1, retain: true });
  }

  async #onMessage(topic: string, text: string): Promise<void> {
    const topics = this.#topics;
    const parse = (): unknown => {
      try {
        return JSON.parse(text);
      } catch {
        return text; // Home Assistant sends some payloads as bare words
      }
    };
    const setPrefix = topics.set('');
    const pressPrefix = topics.press('');
    if (topic.startsWith(setPrefix)) {
      await this.#handlers.desired({ [topic.slice(setPrefix.length)]: parse() });
    } else if (topic.startsWith(pressPrefix)) {
      await this.#handlers.command({
        id: randomUUID(),
        name: topic.slice(pressPrefix.length),
      } as CommandRequestPayload);
    } else if (topic === topics.commandRequest) {
      const request = parse() as CommandRequestPayload;
      if (!request || typeof request !== 'object' || typeof request.name !== 'string') return;
      const reply = await this.#handlers.command({
        ...request,
        id: typeof request.id === 'string' ? request.id : randomUUID(),
      });
      await this.#client?.publishAsync(topics.commandResult, JSON.stringify(reply), { qos: 1 });
    } else if (topic === topics.desired) {
      const body = parse() as { state?: Record<string, unknown> } | null;
      if (body?.state && typeof body.state === 'object') await this.#handlers.desired(body.state);
    }
  }

  /** Readings and reported state, merged into the retained state document every entity reads. */
  async publish(values: Record<string, unknown>, channel: 'telemetry' | 'state/reported'): Promise<void> {
    Object.assign(this.#latest, values);
    const client = this.#client;
    if (!client?.connected) return;
    const topic = `${this.#topics.state.replace(/\/local\/state$/, '')}/${channel}`;
    await client.publishAsync(
      topic,
      JSON.stringify(
        channel === 'telemetry'
          ? { readings: [{ time: new Date().toISOString(), values }] }
          : { state: values },
      ),
      { qos: 1 },
    );
    await client.publishAsync(this.#topics.state, JSON.stringify(this.#latest), { qos: 1, retain: true });
  }

  async stop(): Promise<void> {
    const client = this.#client;
    this.#client = null;
    if (!client) return;
    // The graceful end waits (bounded) for this 'offline' to be acknowledged.
    if (client.connected)
      client.publish(this.#topics.availability, 'offline', { qos: 1, retain: true }, () => {});
    await endClient(client);
  }
}
