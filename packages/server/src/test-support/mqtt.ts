import { readFileSync } from 'node:fs';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import { ensureTls } from '../tls/certs.js';
import type { TestApp } from './app.js';

/**
 * Connects an MQTT client for a test: resolves on CONNACK 0, rejects with the broker's refusal
 * (`Not authorized`, …) or when the connection closes first. No automatic reconnection. The
 * client is added to `track` so the test can close whatever it opened.
 */
export function connectMqtt(url: string, options: IClientOptions, track?: MqttClient[]): Promise<MqttClient> {
  const client = mqtt.connect(url, { reconnectPeriod: 0, connectTimeout: 5000, ...options });
  track?.push(client);
  return new Promise((resolve, reject) => {
    client.once('connect', () => resolve(client));
    client.once('error', reject);
    client.once('close', () => reject(new Error('connection closed before CONNACK')));
  });
}

/**
 * Starts the test app's device gateway on an ephemeral MQTT/TLS port of 127.0.0.1, with the CA and
 * server certificate generated in the test's data dir; returns the port and the CA clients trust.
 */
export async function startTlsGateway(t: TestApp): Promise<{ port: number; ca: string; caFile: string }> {
  const tls = await ensureTls({ dataDir: t.database.dataDir, hostnames: [] });
  const caFile = tls.caFile as string;
  const started = await t.app.gateway.start({
    tls: { key: tls.key, cert: tls.cert, port: 0, host: '127.0.0.1' },
  });
  return { port: started.tlsPort as number, ca: readFileSync(caFile, 'utf8'), caFile };
}
