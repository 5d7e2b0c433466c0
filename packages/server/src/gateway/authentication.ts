import type { X509Certificate } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { TLSSocket } from 'node:tls';
import type { Client } from 'aedes';
import type { FastifyBaseLogger } from 'fastify';
import type { Metrics } from '../http/metrics.js';
import type { DeviceCredentialService, DeviceIdentity } from './credentials.js';
import { INTEGRATION_USER, type Integration, type IntegrationAccess } from './integrations.js';
import { RateLimiter } from './rate-limit.js';

export type GatewayClient = Client & { brickless?: DeviceIdentity; integration?: Integration };

/** What a CONNECT gets: CONNACK 0, 5 (not authorised) or 3 (server unavailable: over a limit). */
export type AuthOutcome = 'ok' | 'not-authorised' | 'rate-limited';
type DeviceClient = GatewayClient;

export interface AuthenticatorDeps {
  credentials: DeviceCredentialService;
  integrations: IntegrationAccess;
  metrics: Metrics;
  logger: FastifyBaseLogger;
  /** Filled here: the organisation of every device that authenticated on this node. */
  deviceOrgs: Map<string, string>;
}

/**
 * Who may connect to the gateway (docs/protocol.md, "Connecting"): a device by its secret or its
 * client certificate, or an integration by an API token. Connection attempts are rate-limited per
 * source address and per device id (ETSI EN 303 645 5.1-5); every refusal is counted and logged as
 * a security event (5.10).
 */
export class GatewayAuthenticator {
  readonly #deps: AuthenticatorDeps;
  readonly #connectsByAddress: RateLimiter;
  readonly #connectsByDevice: RateLimiter;
  readonly #deviceOrgs: Map<string, string>;
  readonly #integrations: IntegrationAccess;

  constructor(
    deps: AuthenticatorDeps,
    limits: { connectsPerSecond: number; connectBurst: number; now: () => number },
  ) {
    this.#deps = deps;
    this.#deviceOrgs = deps.deviceOrgs;
    this.#integrations = deps.integrations;
    this.#connectsByAddress = new RateLimiter({
      rate: limits.connectsPerSecond,
      burst: limits.connectBurst,
      now: limits.now,
    });
    this.#connectsByDevice = new RateLimiter({ rate: 1, burst: 10, now: limits.now });
  }

  preConnect(client: Client, done: (error: Error | null, ok: boolean) => void): void {
    const address = clientAddress(client);
    if (!this.#connectsByAddress.take(address)) {
      this.securityEvent('connect-rate-limited', client.id, { address });
      done(Object.assign(new Error('too many connection attempts'), { returnCode: 3 }), false);
      return;
    }
    done(null, true);
  }

  /**
   * Order matters (issue 14): the per-address limit ran in preConnect; then the per-device limit,
   * keyed by device AND address, so that a guesser elsewhere cannot use up a real device's
   * attempts; only then are credentials checked, so a limited client's are not even looked at.
   */
  async authenticate(
    client: DeviceClient,
    username: string | undefined,
    password: Buffer | undefined,
  ): Promise<AuthOutcome> {
    const limited = (key: string): boolean => {
      if (this.#connectsByDevice.take(`${key}|${clientAddress(client)}`)) return false;
      this.securityEvent('connect-rate-limited', key, { address: clientAddress(client) });
      return true;
    };
    if (username === INTEGRATION_USER) {
      if (limited(`integration:${client.id}`)) return 'rate-limited';
      return outcome(await this.#authenticateIntegration(client, password));
    }
    const certificate = peerCertificate(client);
    if (certificate) {
      if (limited(client.id)) return 'rate-limited';
      return outcome(await this.#authenticateCertificate(client, certificate, username));
    }
    // The client id must be the device id and the user name (docs/protocol.md, "Connecting").
    if (!username || client.id !== username || !password) {
      this.#authFailed(
        client,
        'client id, user name and password must all be given, and client id must equal the device id',
      );
      return 'not-authorised';
    }
    if (limited(username)) return 'rate-limited';
    const identity = await this.#deps.credentials.verifySecret(username, password.toString('utf8'));
    if (!identity) {
      this.#authFailed(client, 'unknown device, wrong or revoked credential, or device not active');
      return 'not-authorised';
    }
    client.brickless = identity;
    this.#deviceOrgs.set(identity.deviceId, identity.orgId);
    return 'ok';
  }

  /**
   * Mutual TLS: the handshake proved the device holds the certificate's key; the registry decides
   * whether the certificate is the device's live credential. The client id must be the device id
   * the certificate binds; a user name, when given, too. No password is needed.
   */
  async #authenticateCertificate(
    client: DeviceClient,
    certificate: X509Certificate,
    username: string | undefined,
  ): Promise<boolean> {
    const identity = await this.#deps.credentials.verifyCertificate(certificate);
    if (!identity) {
      this.#authFailed(client, 'client certificate is not a live credential of an active device');
      return false;
    }
    if (client.id !== identity.deviceId || (username && username !== identity.deviceId)) {
      this.#authFailed(
        client,
        `client id must be the device id the certificate binds (${identity.deviceId})`,
      );
      return false;
    }
    client.brickless = identity;
    this.#deviceOrgs.set(identity.deviceId, identity.orgId);
    return true;
  }

  async #authenticateIntegration(client: DeviceClient, password: Buffer | undefined): Promise<boolean> {
    const result = password
      ? await this.#integrations.authenticate(client.id, password.toString('utf8'))
      : 'an API token is required as password';
    if (typeof result === 'string') {
      this.#authFailed(client, `integration: ${result}`);
      return false;
    }
    client.integration = result;
    return true;
  }

  #authFailed(client: Client, reason: string): void {
    this.#deps.metrics.authFailures.inc({ surface: 'mqtt' });
    this.securityEvent('auth-failed', client.id, { reason });
  }

  securityEvent(event: string, deviceId: string | undefined, details: Record<string, unknown>): void {
    this.#deps.metrics.securityEvents.inc({ event });
    this.#deps.logger.warn(
      { event: `security.${event}`, device: deviceId, ...details },
      'device security event',
    );
  }
}

const outcome = (ok: boolean): AuthOutcome => (ok ? 'ok' : 'not-authorised');

/** The peer's address: the connection's own, or the HTTP request's for MQTT over WebSocket. */
function clientAddress(client: Client): string {
  const req = (client as Client & { req?: IncomingMessage }).req;
  return client.conn && 'remoteAddress' in client.conn && client.conn.remoteAddress
    ? String(client.conn.remoteAddress)
    : (req?.socket.remoteAddress ?? 'unknown');
}

/** The client certificate the device presented, over MQTT/TLS or secure WebSocket, if any. */
export function peerCertificate(client: Client): X509Certificate | null {
  const req = (client as Client & { req?: { socket?: unknown } }).req;
  const socket =
    client.conn instanceof TLSSocket ? client.conn : req?.socket instanceof TLSSocket ? req.socket : null;
  if (!socket) return null;
  // getPeerX509Certificate is undefined when the peer sent none.
  return socket.getPeerX509Certificate() ?? null;
}
