import { createConnection } from 'node:net';
import { MqttClient } from 'mqtt';

export interface LoadDevice {
  clientId: string;
  username?: string;
  password?: string;
  topic: string;
}

export interface LoadResult {
  connected: number;
  acked: number;
  seconds: number;
  perSecond: number;
}

/** A loopback source address per client, so per-address connect limits see many hosts (127.0.0.0/8 only). */
export function sourceAddress(i: number): string {
  return `127.${1 + ((i >> 16) & 0x3f)}.${(i >> 8) & 0xff}.${1 + (i & 0xfe)}`;
}

/**
 * A bounded QoS 1 publish load on loopback: every device keeps `inFlight` publishes outstanding
 * for `seconds`, then stops; the figure is PUBACKs received per second. Each PUBACK from brickless
 * means the reading is committed to its database.
 */
export async function publishLoad(
  port: number,
  devices: LoadDevice[],
  options: { seconds: number; inFlight: number; payload: string; onStart?: () => void; onEnd?: () => void },
): Promise<LoadResult> {
  const clients: MqttClient[] = [];
  let connected = 0;
  await Promise.all(
    devices.map(
      (d, i) =>
        new Promise<void>((resolve) => {
          setTimeout(
            () => {
              const client = new MqttClient(
                () =>
                  createConnection({
                    port,
                    host: '127.0.0.1',
                    localAddress: sourceAddress(i),
                    noDelay: true,
                  }),
                {
                  clientId: d.clientId,
                  ...(d.username ? { username: d.username } : {}),
                  ...(d.password ? { password: d.password } : {}),
                  protocolVersion: 4,
                  reconnectPeriod: 0,
                  connectTimeout: 20_000,
                  keepalive: 120,
                },
              );
              client.on('error', () => {});
              client.once('connect', () => {
                connected++;
                resolve();
              });
              client.once('close', () => resolve());
              clients.push(client);
            },
            Math.floor(i / 50) * 20,
          ); // ramp: 50 connections every 20 ms
        }),
    ),
  );
  let acked = 0;
  let running = true;
  const start = process.hrtime.bigint();
  options.onStart?.();
  const loops = clients.map(async (client, i) => {
    const topic = devices[i]?.topic as string;
    const lane = async () => {
      while (running && client.connected) {
        try {
          await client.publishAsync(topic, options.payload, { qos: 1 });
          acked++;
        } catch {
          return;
        }
      }
    };
    await Promise.all(Array.from({ length: options.inFlight }, lane));
  });
  await new Promise((r) => setTimeout(r, options.seconds * 1000));
  running = false;
  options.onEnd?.();
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  const counted = acked;
  await Promise.race([Promise.all(loops), new Promise((r) => setTimeout(r, 5000))]);
  await Promise.all(clients.map((c) => c.endAsync(true).catch(() => {})));
  return { connected, acked: counted, seconds, perSecond: counted / seconds };
}
