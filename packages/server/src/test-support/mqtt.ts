import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';

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
