import { TLSSocket } from 'node:tls';
import type { FastifyRequest } from 'fastify';
import type { DeviceCredentialService, DeviceIdentity } from '../gateway/credentials.js';
import { RateLimiter } from '../gateway/rate-limit.js';

/** Why a device request was not let in; sent as a Reply with HTTP 401 or 429. */
export class DeviceAuthError extends Error {
  readonly code: 'unauthenticated' | 'rate-limited';
  constructor(code: 'unauthenticated' | 'rate-limited', message: string) {
    super(message);
    this.code = code;
  }
}

/** `Authorization: Basic base64(deviceId:secret)` → its two parts, or null. */
export function basicCredentials(request: FastifyRequest): { deviceId: string; secret: string } | null {
  const header = request.headers.authorization;
  const match = typeof header === 'string' ? /^Basic ([A-Za-z0-9+/=]{1,512})$/i.exec(header) : null;
  if (!match?.[1]) return null;
  const decoded = Buffer.from(match[1], 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon <= 0) return null;
  return { deviceId: decoded.slice(0, colon), secret: decoded.slice(colon + 1) };
}

/**
 * Device authentication on the HTTP API: a client certificate (mutual TLS on the HTTPS listener)
 * or the device id and secret as HTTP Basic credentials, the same credentials as on MQTT.
 * Failures are limited per source address (ETSI EN 303 645 5.1-5): after a burst of failures an
 * address gets 429 without a credential check, whatever it sends.
 */
export class DeviceAuthenticator {
  readonly #credentials: DeviceCredentialService;
  readonly #failures: RateLimiter;
  readonly #onFailure: (request: FastifyRequest, reason: string) => void;

  constructor(deps: {
    credentials: DeviceCredentialService;
    now: () => number;
    onFailure: (request: FastifyRequest, reason: string) => void;
  }) {
    this.#credentials = deps.credentials;
    this.#failures = new RateLimiter({ rate: 1, burst: 20, now: deps.now });
    this.#onFailure = deps.onFailure;
  }

  #fail(request: FastifyRequest, reason: string): never {
    this.#onFailure(request, reason);
    if (!this.#failures.take(request.ip))
      throw new DeviceAuthError('rate-limited', 'too many failed attempts from this address; wait');
    throw new DeviceAuthError(
      'unauthenticated',
      'device credentials required: client certificate or Basic deviceId:secret',
    );
  }

  /** An address over its failure limit is refused before any credential is looked at. */
  #refuseIfLimited(request: FastifyRequest): void {
    if (!this.#failures.exhausted(request.ip)) return;
    this.#onFailure(request, 'address over its limit of failed attempts');
    throw new DeviceAuthError('rate-limited', 'too many failed attempts from this address; wait');
  }

  async operational(request: FastifyRequest): Promise<DeviceIdentity> {
    this.#refuseIfLimited(request);
    const socket = request.raw.socket;
    const certificate = socket instanceof TLSSocket ? socket.getPeerX509Certificate() : undefined;
    if (certificate) {
      const identity = await this.#credentials.verifyCertificate(certificate);
      if (!identity) this.#fail(request, 'client certificate is not a live credential of an active device');
      return identity;
    }
    const basic = basicCredentials(request);
    if (!basic) this.#fail(request, 'no credentials');
    const identity = await this.#credentials.verifySecret(basic.deviceId, basic.secret);
    if (!identity) this.#fail(request, 'unknown device, wrong or revoked credential, or device not active');
    return identity;
  }

  /** For the claim: the Basic credentials, checked by the claim itself. */
  factory(request: FastifyRequest): { deviceId: string; secret: string } {
    this.#refuseIfLimited(request);
    const basic = basicCredentials(request);
    if (!basic) this.#fail(request, 'no factory credentials');
    return basic;
  }

  failed(request: FastifyRequest, reason: string): never {
    this.#fail(request, reason);
  }
}
