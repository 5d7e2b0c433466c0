import { readFileSync } from 'node:fs';
import { createConnection } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { MqttClient } from 'mqtt';
import { type LoadDevice, sourceAddress } from './load.js';

/** Resident memory of a process in bytes, from /proc (Linux). */
export function residentBytes(pid: number): number {
  const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(match?.[1] ?? 0) * 1024;
}

/** Opens one idle MQTT-over-TLS connection per device (loopback, ramped); resolves with the clients. */
export async function idleTlsConnections(
  port: number,
  ca: string,
  devices: LoadDevice[],
): Promise<MqttClient[]> {
  const clients: MqttClient[] = [];
  await Promise.all(
    devices.map(
      (d, i) =>
        new Promise<void>((resolve) => {
          setTimeout(
            () => {
              const client = new MqttClient(
                () =>
                  tlsConnect({
                    // Nagle off, as devices that want low latency do: otherwise delayed ACKs add ~40 ms per hop.
                    socket: createConnection({
                      port,
                      host: '127.0.0.1',
                      localAddress: sourceAddress(i),
                      noDelay: true,
                    }),
                    ca,
                    servername: 'localhost',
                  }),
                {
                  clientId: d.clientId,
                  ...(d.username ? { username: d.username } : {}),
                  ...(d.password ? { password: d.password } : {}),
                  protocolVersion: 4,
                  reconnectPeriod: 0,
                  connectTimeout: 60_000,
                  keepalive: 600,
                },
              );
              client.on('error', () => {});
              client.once('connect', () => resolve());
              client.once('close', () => resolve());
              clients.push(client);
            },
            Math.floor(i / 100) * 40,
          );
        }),
    ),
  );
  return clients;
}

export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] as number;
}
