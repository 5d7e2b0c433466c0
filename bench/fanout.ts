import { createConnection } from 'node:net';
import { MqttClient } from 'mqtt';
import { type LoadDevice, publishLoad } from './load.js';

export interface FanoutResult {
  published: number;
  delivered: number;
  seconds: number;
  deliveredPerSecond: number;
}

/**
 * Fan-out: `publishers` devices publish QoS 1 as fast as their acknowledgements allow while one
 * subscriber holds a wildcard subscription to all their telemetry (QoS 0); the figure is messages
 * delivered to that subscriber per second. On brickless the subscriber is an integration (API
 * token); on Mosquitto an anonymous client with the same filter.
 */
export async function fanoutLoad(
  port: number,
  publishers: LoadDevice[],
  subscriber: { clientId: string; username?: string; password?: string; filter: string },
  options: { seconds: number; inFlight: number; payload: string },
): Promise<FanoutResult> {
  const sub = new MqttClient(() => createConnection({ port, host: '127.0.0.1', localAddress: '127.0.0.2' }), {
    clientId: subscriber.clientId,
    ...(subscriber.username ? { username: subscriber.username } : {}),
    ...(subscriber.password ? { password: subscriber.password } : {}),
    protocolVersion: 4,
    reconnectPeriod: 0,
    keepalive: 120,
  });
  sub.on('error', () => {});
  await new Promise<void>((resolve, reject) => {
    sub.once('connect', () => resolve());
    sub.once('close', () => reject(new Error('fan-out subscriber could not connect')));
  });
  const granted = await sub.subscribeAsync(subscriber.filter, { qos: 0 });
  if (granted[0]?.qos !== 0) throw new Error(`fan-out subscription refused: ${JSON.stringify(granted)}`);
  // Only what arrives inside the publishing window counts: a backlog drained later is not throughput.
  let delivered = 0;
  let counting = false;
  sub.on('message', () => {
    if (counting) delivered++;
  });
  const load = await publishLoad(port, publishers, {
    ...options,
    onStart: () => {
      counting = true;
    },
    onEnd: () => {
      counting = false;
    },
  });
  await sub.endAsync(true).catch(() => {});
  return {
    published: load.acked,
    delivered,
    seconds: load.seconds,
    deliveredPerSecond: delivered / load.seconds,
  };
}
