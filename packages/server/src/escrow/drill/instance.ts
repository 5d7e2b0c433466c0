import { readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { type App, createApp } from '../../app.js';
import { loadMasterKey } from '../../secrets/master-key.js';
import { ensureTls } from '../../tls/certs.js';

/** A brickless server in this process on loopback ephemeral ports: HTTPS API and MQTT/TLS gateway. */
export interface Instance {
  app: App;
  httpUrl: string;
  mqttUrl: string;
  /** PEM of the CA its TLS certificate chains to. */
  ca: string;
  /** A platform-admin token. */
  token: string;
  call<T = Record<string, unknown>>(method: string, url: string, body?: unknown): Promise<T>;
  close(): Promise<void>;
}

export class ApiFailure extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export async function startInstance(options: { dataDir: string; database: string }): Promise<Instance> {
  const tls = await ensureTls({ dataDir: options.dataDir, hostnames: [] });
  const app = await createApp({
    database: options.database,
    secrets: loadMasterKey(join(options.dataDir, 'master.key')),
    artifacts: join(options.dataDir, 'artifacts'),
    https: { key: tls.key, cert: tls.cert },
    logger: false,
    // Every simulated device connects from 127.0.0.1: the per-address connection limit, meant for
    // devices on distinct addresses, would turn a fleet-wide reconnect into refusals here.
    gatewayLimits: { connectsPerSecond: 1_000_000, connectBurst: 10_000_000 },
  });
  try {
    await app.http.listen({ host: '127.0.0.1', port: 0 });
    const mqtt = await app.gateway.start({
      tls: { key: tls.key, cert: tls.cert, port: 0, host: '127.0.0.1' },
    });
    const { token } = await app.services.tokens.create('drill', {
      orgId: null,
      role: 'platform-admin',
      name: 'escrow drill',
    });
    const ca = readFileSync(tls.caFile as string, 'utf8');
    const call = async <T>(method: string, url: string, body?: unknown): Promise<T> => {
      const response = await app.http.inject({
        method: method as 'GET',
        url,
        headers: {
          authorization: `Bearer ${token}`,
          ...(body === undefined
            ? {}
            : Buffer.isBuffer(body)
              ? { 'content-type': 'application/octet-stream' }
              : { 'content-type': 'application/json' }),
        },
        ...(body === undefined ? {} : { payload: Buffer.isBuffer(body) ? body : JSON.stringify(body) }),
      });
      const parsed = response.body ? JSON.parse(response.body) : null;
      if (response.statusCode >= 300)
        throw new ApiFailure(
          response.statusCode,
          parsed?.code ?? 'unknown',
          `${method} ${url}: ${response.statusCode} ${parsed?.detail ?? response.body}`,
        );
      return parsed as T;
    };
    return {
      app,
      httpUrl: `https://127.0.0.1:${(app.http.server.address() as AddressInfo).port}`,
      mqttUrl: `mqtts://127.0.0.1:${mqtt.tlsPort}`,
      ca,
      token,
      call,
      close: () => app.close(),
    };
  } catch (error) {
    await app.close();
    throw error;
  }
}
