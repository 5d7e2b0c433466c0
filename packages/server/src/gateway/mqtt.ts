import type { Server as HttpServer, IncomingMessage } from 'node:http';
import { type AddressInfo, createServer as createTcpServer, type Server, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { createServer as createTlsServer } from 'node:tls';
import { deviceTopic, isUpstream, parseTopic, type Reply } from '@brickless/protocol';
import { Aedes, type Client, type PublishPacket, type Subscription } from 'aedes';
import type { FastifyBaseLogger } from 'fastify';
import type { Kysely } from 'kysely';
import { createWebSocketStream, WebSocketServer } from 'ws';
import type { TokenService } from '../access/tokens.js';
import type { Bus } from '../bus/bus.js';
import type { Clock } from '../clock.js';
import type { CommandService } from '../commands/service.js';
import type { EndpointService } from '../continuity/endpoints.js';
import type { EventService } from '../events/service.js';
import type { Metrics } from '../http/metrics.js';
import type { ProxyProtocol } from '../proxy/protocol.js';
import type { Database } from '../store/schema.js';
import type { TelemetryService } from '../telemetry/service.js';
import type { TwinService } from '../twin/service.js';
import type { RolloutEngine } from '../updates/rollout-engine.js';
import { GatewayAuthenticator, type GatewayClient } from './authentication.js';
import { enforceHandshakeDeadline, limitPacketSize } from './connection-limits.js';
import type { DeviceCredentialService, DeviceIdentity } from './credentials.js';
import { createEmitter } from './emitter.js';
import { IntegrationAccess } from './integrations.js';
import { PresenceRecorder } from './presence.js';
import { RateLimiter } from './rate-limit.js';
import { UnauthenticatedConnections } from './unauthenticated.js';
import { MessageRefused, parseJson, UpstreamHandler } from './upstream.js';

export interface GatewayLimits {
  /** Largest PUBLISH payload a device may send, in bytes. */
  maxPayloadBytes: number;
  /** Messages a second per device, and the burst above it. */
  messagesPerSecond: number;
  messageBurst: number;
  /** Connection attempts a second per source address and per device id (ETSI EN 303 645 5.1-5). */
  connectsPerSecond: number;
  connectBurst: number;
  /** Largest packet before authentication, in bytes (a CONNECT is small). */
  preAuthMaxPacketBytes: number;
  /** Connections per address that have not authenticated yet (TLS handshake, CONNECT). */
  unauthenticatedPerAddress: number;
  /**
   * Such connections in all, over every listener (decision 0017). When full, the address holding
   * the most gives up its oldest to a newcomer from an address holding fewer; else the newcomer is
   * refused. 64 × about 50 KiB (a pending TLS connection, docs/benchmarks.md) is about 3 MB.
   */
  unauthenticatedTotal: number;
  /** Time for the TLS handshake, and then for the CONNECT packet, in milliseconds. */
  tlsHandshakeTimeoutMs: number;
  connectTimeoutMs: number;
}

export const defaultLimits: GatewayLimits = {
  maxPayloadBytes: 256 * 1024,
  messagesPerSecond: 200,
  messageBurst: 1000,
  connectsPerSecond: 50,
  connectBurst: 500,
  preAuthMaxPacketBytes: 8 * 1024,
  unauthenticatedPerAddress: 64,
  unauthenticatedTotal: 64,
  tlsHandshakeTimeoutMs: 10_000,
  connectTimeoutMs: 30_000,
};

/** Room for the topic and header of a PUBLISH beside its payload. */
const PACKET_OVERHEAD_BYTES = 64 * 1024;

/** Device ids per query of the takeover check (dropTakenOver). */
const TAKEOVER_CHUNK = 1000;

/** Topic a refused message is moved to: `$` topics match no wildcard subscription (MQTT-4.7.2-1). */
const REFUSED_TOPIC = '$brickless/refused';

type DeviceClient = GatewayClient;

export interface GatewayDeps {
  /** This node's name in presence records; stable across restarts of the same node. */
  nodeId: string;
  db: Kysely<Database>;
  clock: Clock;
  credentials: DeviceCredentialService;
  tokens: TokenService;
  telemetry: TelemetryService;
  events: EventService;
  twins: TwinService;
  commands: CommandService;
  rollouts: RolloutEngine;
  endpoints: EndpointService;
  /** Events of every node: this gateway acts on those about the devices connected here. */
  bus: Bus;
  metrics: Metrics;
  logger: FastifyBaseLogger;
  /**
   * The PROXY protocol from trusted load balancers (config `proxy.trusted`, decision 0031): read
   * before admission, so the caps and limits below count the device's address, not the balancer's.
   */
  proxy?: ProxyProtocol;
}

/**
 * The device gateway: an in-process MQTT 3.1.1 broker (Aedes) that authenticates every device by
 * its own credential, confines it to its own topic space, and stores telemetry before it
 * acknowledges it. docs/protocol.md describes what a device sees.
 */
export class MqttGateway {
  readonly #deps: GatewayDeps;
  readonly #limits: GatewayLimits;
  readonly #auth: GatewayAuthenticator;
  readonly #messages: RateLimiter;
  readonly #servers: Server[] = [];
  /** Connected devices on this node, by device id. */
  readonly #connected = new Map<string, Client>();
  #expiryTimer: NodeJS.Timeout | null = null;
  #broker: Aedes | null = null;
  #webSockets: WebSocketServer | null = null;
  /** Organisation of every device that authenticated on this node, for integration filtering. */
  readonly #deviceOrgs = new Map<string, string>();
  readonly #integrations: IntegrationAccess;
  readonly #upstream: UpstreamHandler;
  readonly #presenceRecorder: PresenceRecorder;
  readonly #unauthenticated: UnauthenticatedConnections;
  /** Set by close(): messages from then on are left unacknowledged for the next node. */
  #stopping = false;
  /** Device messages being stored now; close() lets them finish and be acknowledged. */
  readonly #inFlight = new Set<Promise<unknown>>();
  /** The bus subscriptions, ended by close(). */
  readonly #unsubscribe: (() => void)[] = [];

  constructor(deps: GatewayDeps, limits: Partial<GatewayLimits> = {}) {
    this.#deps = deps;
    this.#limits = { ...defaultLimits, ...limits };
    this.#integrations = new IntegrationAccess(deps.tokens, deps.bus, this.#deviceOrgs);
    this.#unsubscribe.push(this.#integrations.unsubscribe);
    this.#upstream = new UpstreamHandler(deps);
    this.#unauthenticated = new UnauthenticatedConnections({
      perAddress: this.#limits.unauthenticatedPerAddress,
      total: this.#limits.unauthenticatedTotal,
    });
    this.#presenceRecorder = new PresenceRecorder(deps);
    const now = () => deps.clock.now().getTime();
    this.#auth = new GatewayAuthenticator(
      { ...deps, integrations: this.#integrations, deviceOrgs: this.#deviceOrgs },
      { connectsPerSecond: this.#limits.connectsPerSecond, connectBurst: this.#limits.connectBurst, now },
    );
    this.#messages = new RateLimiter({
      rate: this.#limits.messagesPerSecond,
      burst: this.#limits.messageBurst,
      now,
    });
    this.#subscribeToBus(deps.bus);
  }

  /**
   * What every node publishes on the bus (docs/architecture.md, "One process or a cluster"): this
   * gateway acts on the devices connected here and ignores the others, which another node holds.
   * Each event names ids only; what to send is read from the database.
   */
  #subscribeToBus(bus: Bus): void {
    const here = (deviceId: string) => this.#connected.has(deviceId);
    this.#unsubscribe.push(
      bus.subscribe('device.revoked', ({ deviceId }) => this.disconnect(deviceId)),
      bus.subscribe('command.queued', ({ deviceId }) => {
        if (here(deviceId)) void this.#deliverCommands(deviceId);
      }),
      bus.subscribe('rollout.offer', ({ rolloutId, deviceIds }) => {
        const connected = deviceIds.filter(here);
        if (connected.length > 0) void this.#offerRollout(rolloutId, connected);
      }),
      // A new endpoint record goes to every connected device it applies to; the others get it
      // when they next subscribe, or over HTTP (docs/continuity.md).
      bus.subscribe('endpoint.published', ({ orgId }) => {
        void this.#pushEndpoint(orgId);
      }),
      bus.subscribe('endpoint.device', ({ deviceId }) => {
        if (here(deviceId)) void this.#sendEndpoint(deviceId);
      }),
      bus.subscribe('twin.desired', ({ deviceId }) => {
        if (here(deviceId)) void this.#sendDelta(deviceId);
      }),
      // Offers are not in the audit log, so no database notification repeats them: after the bus
      // was away, the offers made meanwhile go out again to the devices here (decision 0028).
      bus.onResume((downSince) => {
        void this.#reoffer(new Date(downSince - 30_000));
      }),
    );
  }

  /** One rollout's offer, read once, to the devices of the batch connected here. */
  async #offerRollout(rolloutId: string, deviceIds: string[]): Promise<void> {
    try {
      const offer = await this.#deps.rollouts.offerOf(rolloutId);
      if (!offer) return;
      for (const deviceId of deviceIds)
        if (this.#connected.has(deviceId)) this.#publish(deviceId, 'updates/offer', offer);
    } catch (error) {
      this.#deps.logger.error({ err: error, rollout: rolloutId }, 'could not send the update offer');
    }
  }

  async #reoffer(since: Date): Promise<void> {
    try {
      const offered = await this.#deps.rollouts.offeredSince(since);
      const byRollout = new Map<string, string[]>();
      for (const { rolloutId, deviceId } of offered) {
        if (!this.#connected.has(deviceId)) continue;
        byRollout.set(rolloutId, [...(byRollout.get(rolloutId) ?? []), deviceId]);
      }
      for (const [rolloutId, deviceIds] of byRollout) await this.#offerRollout(rolloutId, deviceIds);
    } catch (error) {
      this.#deps.logger.error({ err: error }, 'could not offer again after the bus came back');
    }
  }

  get broker(): Aedes {
    if (!this.#broker) throw new Error('gateway not started');
    return this.#broker;
  }

  async start(options: {
    tls?: { key: string; cert: string; port: number; host?: string };
    plain?: { port: number; host?: string };
  }): Promise<{ tlsPort?: number; plainPort?: number }> {
    const broker = await Aedes.createBroker({
      // Aedes' default emitter with O(1) queues (emitter.ts); 100 is Aedes' default concurrency.
      mq: createEmitter(100),
      connectTimeout: this.#limits.connectTimeoutMs,
      preConnect: (client, _packet, done) => this.#auth.preConnect(client, done),
      authenticate: (client, username, password, done) => {
        this.#auth.authenticate(client as DeviceClient, username, password).then(
          (outcome) =>
            outcome === 'ok'
              ? done(null, true)
              : done(
                  outcome === 'rate-limited'
                    ? Object.assign(new Error('too many connection attempts'), { returnCode: 3 as const })
                    : Object.assign(new Error('not authorised'), { returnCode: 5 as const }),
                  false,
                ),
          (error: unknown) => {
            this.#deps.logger.error({ err: error }, 'device authentication failed with an error');
            done(Object.assign(new Error('server unavailable'), { returnCode: 3 as const }), false);
          },
        );
      },
      authorizePublish: (client, packet, done) => {
        this.#authorizePublish(client as DeviceClient | null, packet).then(
          () => done(null),
          (error: unknown) => done(error as Error),
        );
      },
      authorizeSubscribe: (client, subscription, done) =>
        done(null, this.#authorizeSubscribe(client as DeviceClient, subscription)),
      // Called for every message on its way to every subscriber: integrations see their own
      // organisation's devices only, whatever wildcard they subscribed with.
      authorizeForward: (client, packet) => {
        const integration = (client as DeviceClient).integration;
        return integration ? this.#integrations.forward(integration, packet) : packet;
      },
    });
    // Devices this node held before a crash or restart are not connected any more.
    await this.#deps.db
      .updateTable('devices')
      .set({ online: 0, connected_node: null })
      .where('connected_node', '=', this.#deps.nodeId)
      .execute();
    broker.on('clientReady', (client) => {
      const { integration, brickless } = client as DeviceClient;
      if (integration) this.#integrations.track(client, integration, true);
      // Once in, small packets (commands, acknowledgements) must not wait for Nagle's algorithm and
      // the peer's delayed ACK, which alone adds about 40 ms per hop. Not before: a refused
      // CONNECT keeps the default, which delivers its CONNACK reliably before the close.
      const socket = client.conn as { setNoDelay?: (on: boolean) => unknown };
      socket.setNoDelay?.(true);
      this.#unauthenticated.authenticated(peerSocket(client));
      if (!brickless) return;
      this.#connected.set(client.id, client);
      this.#presence(client as DeviceClient, true);
    });
    // A device that (re)connects learns what changed while it was away as soon as it listens.
    broker.on('subscribe', (subscriptions, client) => {
      const identity = (client as DeviceClient | null)?.brickless;
      if (identity && subscriptions.some((s) => s.topic === deviceTopic(identity.deviceId, 'state/delta'))) {
        void this.#sendDelta(identity.deviceId);
      }
      if (
        identity &&
        subscriptions.some((s) => s.topic === deviceTopic(identity.deviceId, 'commands/request'))
      ) {
        void this.#deliverCommands(identity.deviceId);
      }
      if (
        identity &&
        subscriptions.some((s) => s.topic === deviceTopic(identity.deviceId, 'updates/offer'))
      ) {
        void this.#offerUpdate(identity.deviceId);
      }
      if (identity && subscriptions.some((s) => s.topic === deviceTopic(identity.deviceId, 'endpoint'))) {
        void this.#sendEndpoint(identity.deviceId);
      }
    });
    broker.on('clientDisconnect', (client) => {
      const { integration } = client as DeviceClient;
      if (integration) this.#integrations.track(client, integration, false);
      if (this.#connected.get(client.id) === client) this.#connected.delete(client.id);
      this.#presence(client as DeviceClient, false);
    });
    broker.on('clientError', (client, error) =>
      this.#deps.logger.debug({ device: client.id, err: error }, 'mqtt client error'),
    );
    broker.on('connectionError', (_client, error) =>
      this.#deps.logger.debug({ err: error }, 'mqtt connection error'),
    );
    this.#broker = broker;
    // Commands past their time-to-live become expired even when no device ever asks for them.
    this.#expiryTimer = setInterval(() => {
      this.#deps.commands
        .expireDue()
        .catch((error: unknown) => this.#deps.logger.error({ err: error }, 'command expiry failed'));
    }, 5000);
    this.#expiryTimer.unref();

    const result: { tlsPort?: number; plainPort?: number } = {};
    if (options.tls) {
      const tlsServer = createTlsServer(
        {
          key: options.tls.key,
          cert: options.tls.cert,
          minVersion: 'TLSv1.2',
          // Devices may authenticate with a client certificate; the chain is checked against the
          // device's organisation CA after the handshake (#authenticateCertificate), since one
          // listener serves every organisation. A device without a certificate still connects.
          requestCert: true,
          rejectUnauthorized: false,
          handshakeTimeout: this.#limits.tlsHandshakeTimeoutMs,
        },
        (socket) => this.#handle(socket),
      );
      enforceHandshakeDeadline(tlsServer, this.#limits.tlsHandshakeTimeoutMs);
      this.#deps.proxy?.carry(tlsServer);
      // Admitted on a plain TCP listener in front of the TLS server, counted from the TCP accept so
      // that the handshake itself is bounded: tls.Server wraps every socket it is given in a
      // TLSSocket with its OpenSSL state at once, so a refused connection must never reach it.
      // From a trusted load balancer, the PROXY header comes first (decision 0031).
      const front = createTcpServer((socket) =>
        this.#proxied(socket, 'tls', (s) => {
          if (this.#admit(s)) tlsServer.emit('connection', s);
        }),
      );
      result.tlsPort = await this.#listen(front, options.tls.port, options.tls.host);
    }
    if (options.plain) {
      const server = createTcpServer((socket) =>
        this.#proxied(socket, 'stream', (s) => {
          if (this.#admit(s)) this.#handle(s);
        }),
      );
      result.plainPort = await this.#listen(server, options.plain.port, options.plain.host);
    }
    return result;
  }

  /** Reads the PROXY header first when the peer is a trusted load balancer (decision 0031). */
  #proxied(socket: Socket, to: 'tls' | 'stream', next: (socket: Socket) => void): void {
    if (this.#deps.proxy) this.#deps.proxy.accept(socket, next, to);
    else next(socket);
  }

  /**
   * Admits a new socket under the caps of unauthenticated connections (per address, in all), or
   * closes it before its TLS handshake. An older pending connection evicted to make room is
   * counted as closed too (unauthenticated.ts says which one).
   */
  #admit(socket: Socket): boolean {
    const admission = this.#unauthenticated.admit(socket);
    if (admission.admitted) {
      if (admission.evicted) this.#deps.metrics.connectionsRefused.inc({ reason: 'unauthenticated-evicted' });
      return true;
    }
    this.#deps.metrics.connectionsRefused.inc({ reason: `unauthenticated-${admission.reason}` });
    socket.destroy();
    return false;
  }

  /** Unauthenticated connections held now, and the most held at once since the start. */
  get unauthenticated(): { held: number; peak: number } {
    return { held: this.#unauthenticated.held, peak: this.#unauthenticated.peak };
  }

  /** Hands a connection to the broker, with the packet size limits of connection-limits.ts. */
  #handle(stream: Duplex, req?: IncomingMessage): void {
    const client = this.broker.handle(stream, req as IncomingMessage);
    limitPacketSize(
      client,
      {
        preAuthMaxPacketBytes: this.#limits.preAuthMaxPacketBytes,
        maxPacketBytes: this.#limits.maxPayloadBytes + PACKET_OVERHEAD_BYTES,
      },
      () => this.#deps.metrics.connectionsRefused.inc({ reason: 'packet-too-large' }),
    );
  }

  #listen(server: Server, port: number, host?: string): Promise<number> {
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => {
        server.off('error', reject);
        this.#servers.push(server);
        resolve((server.address() as AddressInfo).port);
      });
    });
  }

  /**
   * MQTT over secure WebSocket on the HTTP server's port, at `/mqtt` (docs/protocol.md,
   * "Transport"): for devices and browsers behind proxies that pass only HTTPS. The same
   * authentication, ACL and limits apply; a client certificate on the HTTPS handshake counts too.
   */
  attachWebSocket(server: HttpServer, path = '/mqtt'): void {
    const wss = new WebSocketServer({
      noServer: true,
      // A frame holds one MQTT packet; a little over the largest payload leaves room for the topic.
      maxPayload: this.#limits.maxPayloadBytes + PACKET_OVERHEAD_BYTES,
      handleProtocols: (protocols) => (protocols.has('mqtt') ? 'mqtt' : false),
    });
    server.on('upgrade', (req: IncomingMessage, socket: Socket, head: Buffer) => {
      if (new URL(req.url ?? '/', 'http://x').pathname !== path) {
        socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\n\r\n');
        return;
      }
      if (!this.#admit(socket)) return;
      wss.handleUpgrade(req, socket, head, (ws) => {
        const stream = createWebSocketStream(ws);
        stream.on('error', () => ws.terminate());
        this.#handle(stream, req);
      });
    });
    this.#webSockets = wss;
  }

  #securityEvent(event: string, deviceId: string | undefined, details: Record<string, unknown>): void {
    this.#auth.securityEvent(event, deviceId, details);
  }

  async #authorizePublish(client: DeviceClient | null, packet: PublishPacket): Promise<void> {
    if (client?.integration) {
      this.#securityEvent('publish-denied', client.id, { topic: packet.topic, integration: true });
      throw new Error('integrations only read; commands and desired state go through the API');
    }
    const identity = client?.brickless;
    if (!identity) return; // a last will published by the broker after the session ended
    const parsed = parseTopic(packet.topic);
    if (!parsed || parsed.deviceId !== identity.deviceId || !isUpstream(parsed.channel)) {
      this.#securityEvent('publish-denied', identity.deviceId, { topic: packet.topic });
      // MQTT-3.3.5-2: a server may close the connection on an unauthorised PUBLISH; 3.1.1 has no NACK.
      throw new Error(`publish to ${packet.topic} not allowed`);
    }
    // Over its rate, a device is slowed down, not dropped: the message waits for its turn and is
    // acknowledged when stored, as always. Aedes reads nothing more from this connection until the
    // packets it holds are done, so the device's in-flight window and TCP push back (EMQX's rate
    // limiter pauses the socket the same way). An acknowledgement still means stored.
    const wait = this.#messages.reserve(identity.deviceId);
    if (wait > 0) {
      this.#deps.metrics.messagesThrottled.inc();
      await new Promise((resolve) => setTimeout(resolve, wait));
    }
    // The product's own limit, when it declares one, lowers the global one (issue 14 §4).
    const maxPayloadBytes = Math.min(this.#limits.maxPayloadBytes, identity.maxMessageBytes ?? Infinity);
    if (packet.payload.length > maxPayloadBytes) {
      this.#refuse(identity, packet, 'payload-too-large', `payload over ${maxPayloadBytes} bytes`);
      return;
    }
    if (this.#stopping) {
      this.#leaveUnacknowledged(packet, 'stopping');
      return;
    }
    const work = this.#upstream.handle(identity, parsed.channel, packet.payload as Buffer);
    this.#inFlight.add(work);
    void work.catch(() => {}).finally(() => this.#inFlight.delete(work));
    try {
      const result = await work;
      if (result.channel === 'state/reported' && Object.keys(result.twin.delta).length > 0)
        this.#publish(identity.deviceId, 'state/delta', {
          version: result.twin.desiredVersion,
          state: result.twin.delta,
        });
    } catch (error) {
      if (error instanceof MessageRefused) {
        this.#refuse(identity, packet, error.code, error.message);
        return;
      }
      this.#deps.logger.debug({ err: error, device: identity.deviceId }, 'message not stored');
      this.#leaveUnacknowledged(packet, 'storage');
    }
  }

  /**
   * Storage failed (or the node is stopping): the message gets no PUBACK and the connection stays,
   * so the device sends it again (MQTT 3.1.1 §4.4; docs/protocol.md, "Telemetry"). Closing the
   * connection instead (an error from authorizePublish) made a database outage reconnect every
   * device of the fleet at once. Aedes sends PUBACK for QoS 1 once authorizePublish succeeds; as
   * QoS 0 on the refused topic the message is neither acknowledged nor forwarded.
   */
  #leaveUnacknowledged(packet: PublishPacket, reason: 'storage' | 'stopping'): void {
    this.#deps.metrics.messagesUnacknowledged.inc({ reason });
    packet.qos = 0;
    packet.topic = REFUSED_TOPIC;
  }

  /** Refuses a message without dropping the connection: an error reply, a counter, no forwarding. */
  #refuse(identity: DeviceIdentity, packet: PublishPacket, code: string, message: string): void {
    this.#deps.metrics.messagesRefused.inc({ reason: code });
    const payload = parseJson(packet.payload as Buffer);
    const reply: Reply = {
      status: 'error',
      ...(typeof payload?.id === 'string' ? { id: payload.id } : {}),
      error: { code, message, topic: packet.topic },
    };
    packet.topic = REFUSED_TOPIC;
    // Never kept for later subscribers: a refused message must not come back as a retained one.
    packet.retain = false;
    this.broker.publish(
      {
        cmd: 'publish',
        topic: deviceTopic(identity.deviceId, 'errors'),
        payload: Buffer.from(JSON.stringify(reply)),
        qos: 0,
        retain: false,
        dup: false,
      },
      () => {},
    );
  }

  /** Sends the device its delta (desired values it has not reported), when there is one. */
  async #sendDelta(deviceId: string): Promise<void> {
    try {
      const twin = await this.#deps.twins.forDevice(deviceId);
      if (Object.keys(twin.delta).length > 0)
        this.#publish(deviceId, 'state/delta', { version: twin.desiredVersion, state: twin.delta });
    } catch (error) {
      this.#deps.logger.error({ err: error, device: deviceId }, 'could not send the state delta');
    }
  }

  /** A new record to every connected device of the organisation it applies to, read in bulk. */
  async #pushEndpoint(orgId: string): Promise<void> {
    const deviceIds = [...this.#deviceOrgs]
      .filter(([deviceId, org]) => org === orgId && this.#connected.has(deviceId))
      .map(([deviceId]) => deviceId);
    try {
      const pending = await this.#deps.endpoints.pendingForMany(orgId, deviceIds);
      for (const [deviceId, record] of pending)
        if (this.#connected.has(deviceId)) this.#publish(deviceId, 'endpoint', record);
    } catch (error) {
      this.#deps.logger.error({ err: error, org: orgId }, 'could not push the endpoint record');
    }
  }

  async #sendEndpoint(deviceId: string): Promise<void> {
    try {
      const record = await this.#deps.endpoints.pendingFor(deviceId);
      if (record) this.#publish(deviceId, 'endpoint', record);
    } catch (error) {
      this.#deps.logger.error({ err: error, device: deviceId }, 'could not send the endpoint record');
    }
  }

  async #deliverCommands(deviceId: string): Promise<void> {
    try {
      for (const request of await this.#deps.commands.takeForDelivery(deviceId))
        this.#publish(deviceId, 'commands/request', request);
    } catch (error) {
      this.#deps.logger.error({ err: error, device: deviceId }, 'could not deliver commands');
    }
  }

  /** An update offered while the device was away, or not yet answered. */
  async #offerUpdate(deviceId: string): Promise<void> {
    try {
      const offer = await this.#deps.rollouts.currentOffer(deviceId);
      if (offer) this.#publish(deviceId, 'updates/offer', offer);
    } catch (error) {
      this.#deps.logger.error({ err: error, device: deviceId }, 'could not offer the update');
    }
  }

  #publish(
    deviceId: string,
    channel: 'state/delta' | 'errors' | 'commands/request' | 'updates/offer' | 'endpoint',
    body: unknown,
  ): void {
    this.broker.publish(
      {
        cmd: 'publish',
        topic: deviceTopic(deviceId, channel),
        payload: Buffer.from(JSON.stringify(body)),
        qos: 1,
        retain: false,
        dup: false,
      },
      () => {},
    );
  }

  #authorizeSubscribe(client: DeviceClient, subscription: Subscription): Subscription | null {
    if (client.integration) {
      if (this.#integrations.allowsSubscription(subscription)) return subscription;
      this.#securityEvent('subscribe-denied', client.id, { topic: subscription.topic, integration: true });
      return null;
    }
    const identity = client.brickless;
    const parsed = parseTopic(subscription.topic);
    if (!identity || !parsed || parsed.deviceId !== identity.deviceId || isUpstream(parsed.channel)) {
      this.#securityEvent('subscribe-denied', client.id, { topic: subscription.topic });
      return null; // SUBACK 0x80 for this topic; the connection stays
    }
    return subscription;
  }

  #presence(client: DeviceClient, online: boolean): void {
    const identity = client.brickless;
    if (!identity) return;
    this.#deps.metrics.connectedDevices.inc(online ? 1 : -1);
    // A session taken over by a new connection of the same device ends after the new one began:
    // that old session's end must not mark the device offline.
    if (!online && this.#connected.has(identity.deviceId)) return;
    this.#presenceRecorder.record(identity.deviceId, online);
  }

  /** Closes the device's connection, if it has one (revocation, rotation). */
  disconnect(deviceId: string): void {
    this.#connected.get(deviceId)?.close();
  }

  isConnected(deviceId: string): boolean {
    return this.#connected.has(deviceId);
  }

  /**
   * Ends the sessions of devices that reconnected to another node (issue 19 §2), found through the
   * database so that it works without the bus: after this node's presence is written, a device
   * it holds whose record names another node connected there later. Run at every heartbeat
   * (cluster/nodes.ts). The late disconnect leaves that node's record alone (presence.ts).
   * Resolves to how many sessions were dropped.
   */
  async dropTakenOver(): Promise<number> {
    // Only sessions that began before the flush: their own online write is in it.
    const held = new Map(this.#connected);
    if (held.size === 0) return 0;
    await this.#presenceRecorder.flush();
    const ids = [...held.keys()];
    let dropped = 0;
    for (let i = 0; i < ids.length; i += TAKEOVER_CHUNK) {
      const moved = await this.#deps.db
        .selectFrom('devices')
        .select(['id', 'connected_node'])
        .where('id', 'in', ids.slice(i, i + TAKEOVER_CHUNK))
        .where('connected_node', 'is not', null)
        .where('connected_node', '!=', this.#deps.nodeId)
        .execute();
      for (const row of moved) {
        const client = held.get(row.id);
        if (!client || this.#connected.get(row.id) !== client) continue; // gone or reconnected here
        this.#deps.logger.info(
          { device: row.id, node: row.connected_node },
          'device reconnected to another node: its old session here ends',
        );
        client.close();
        dropped += 1;
      }
    }
    return dropped;
  }

  /**
   * Writes every device connected here as online on this node again: another node's reaper took
   * this one for dead (a stall past the expiry) and marked them offline (cluster/reaper.ts).
   */
  reassertPresence(): void {
    // Unlike a connect, a re-assertion yields: while this node was counted dead a device may have
    // reconnected to another node, whose record must stand (gateway/presence.ts); this node's
    // stale session for it is dropped at the next takeover check (dropTakenOver).
    for (const deviceId of this.#connected.keys())
      this.#presenceRecorder.record(deviceId, true, { unlessTakenOver: true });
  }

  /**
   * Drains, then closes (SIGTERM): stop accepting connections and messages (a message arriving
   * from now on gets no PUBACK and is sent again, to the next node), flush what devices already
   * sent (its batches commit and its PUBACKs go out), then end the connections.
   */
  async close(): Promise<void> {
    for (const off of this.#unsubscribe.splice(0)) off();
    if (this.#expiryTimer) clearInterval(this.#expiryTimer);
    this.#stopping = true;
    // Stop accepting first, then end every open connection: a listener's close waits for its
    // connections, so awaiting it before they end would wait for devices that never leave.
    const listeners = this.#servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve())));
    await Promise.allSettled([...this.#inFlight, this.#deps.telemetry.drain()]);
    // The PUBACKs of what just committed are written on the next turns (Aedes' write callback).
    await new Promise((resolve) => setImmediate(resolve));
    for (const client of this.#connected.values()) client.close();
    for (const ws of this.#webSockets?.clients ?? []) ws.terminate();
    this.#webSockets?.close();
    await new Promise<void>((resolve) => (this.#broker ? this.#broker.close(() => resolve()) : resolve()));
    await Promise.all(listeners);
    await this.#deps.telemetry.drain();
    await this.#presenceRecorder.close();
  }
}

/** The TCP (or TLS) socket under a client: its own connection, or the HTTP request's for WebSocket. */
function peerSocket(client: Client): { remoteAddress?: string; remotePort?: number } | undefined {
  const conn = client.conn as { remoteAddress?: string; remotePort?: number };
  if (conn && typeof conn.remoteAddress === 'string') return conn;
  return (client as Client & { req?: IncomingMessage }).req?.socket;
}
