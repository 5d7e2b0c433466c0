import https from 'node:https';
import type { MqttClient } from 'mqtt';
import { percentile } from './idle.js';

export interface RttResult {
  count: number;
  p50: number;
  p99: number;
}

function summarise(samples: number[]): RttResult {
  const sorted = [...samples].sort((a, b) => a - b);
  return { count: sorted.length, p50: percentile(sorted, 50), p99: percentile(sorted, 99) };
}

/**
 * brickless command round trip: POST to the API → the device receives it on commands/request →
 * answers on commands/result → the PUBACK of that answer (sent once the result is stored).
 */
export async function commandRtt(
  api: { url: string; token: string; ca: string },
  responders: { client: MqttClient; deviceId: string }[],
  options: { count: number; concurrency: number },
): Promise<RttResult> {
  const done = new Map<string, (at: bigint) => void>();
  const early = new Map<string, bigint>();
  for (const { client, deviceId } of responders) {
    await client.subscribeAsync(`brickless/v1/${deviceId}/commands/request`, { qos: 1 });
    client.on('message', (_topic, payload) => {
      const { id } = JSON.parse(payload.toString()) as { id: string };
      void client
        .publishAsync(`brickless/v1/${deviceId}/commands/result`, JSON.stringify({ id, status: 'ok' }), {
          qos: 1,
        })
        .then(() => {
          const at = process.hrtime.bigint();
          const resolve = done.get(id);
          if (resolve) resolve(at);
          else early.set(id, at);
        })
        .catch(() => {});
    });
  }
  // One kept-alive connection per lane, as an API client would hold: a TLS handshake per command
  // would measure the handshake, not the command path.
  const agent = new https.Agent({ keepAlive: true, maxSockets: options.concurrency });
  const post = (deviceId: string) =>
    new Promise<string>((resolve, reject) => {
      const req = https.request(
        `${api.url}/v1/orgs/bench/devices/${deviceId}/commands`,
        {
          method: 'POST',
          ca: api.ca,
          agent,
          headers: { authorization: `Bearer ${api.token}`, 'content-type': 'application/json' },
        },
        (res) => {
          let text = '';
          res.on('data', (c: Buffer) => {
            text += c.toString();
          });
          res.on('end', () =>
            res.statusCode === 201
              ? resolve((JSON.parse(text) as { id: string }).id)
              : reject(new Error(text)),
          );
        },
      );
      req.on('error', reject);
      req.end(JSON.stringify({ name: 'ping' }));
    });
  const samples: number[] = [];
  let next = 0;
  const lane = async () => {
    while (next < options.count) {
      const i = next++;
      const responder = responders[i % responders.length];
      if (!responder) return;
      const t0 = process.hrtime.bigint();
      const id = await post(responder.deviceId);
      const t1 = early.get(id) ?? (await new Promise<bigint>((resolve) => done.set(id, resolve)));
      samples.push(Number(t1 - t0) / 1e6);
    }
  };
  await Promise.all(Array.from({ length: options.concurrency }, lane));
  agent.destroy();
  return summarise(samples);
}

/** The same request/response through a plain broker: publish a request, time the device's answer. */
export async function brokerRtt(
  requester: MqttClient,
  responders: { client: MqttClient; deviceId: string }[],
  options: { count: number; concurrency: number },
): Promise<RttResult> {
  const waiting = new Map<string, (at: bigint) => void>();
  await requester.subscribeAsync('brickless/v1/+/commands/result', { qos: 1 });
  requester.on('message', (_topic, payload) => {
    const { id } = JSON.parse(payload.toString()) as { id: string };
    waiting.get(id)?.(process.hrtime.bigint());
  });
  for (const { client, deviceId } of responders) {
    await client.subscribeAsync(`brickless/v1/${deviceId}/commands/request`, { qos: 1 });
    client.on('message', (_topic, payload) => {
      const { id } = JSON.parse(payload.toString()) as { id: string };
      // A result still in flight when the bench closes the connection is not an error.
      client
        .publishAsync(`brickless/v1/${deviceId}/commands/result`, JSON.stringify({ id, status: 'ok' }), {
          qos: 1,
        })
        .catch(() => {});
    });
  }
  const samples: number[] = [];
  let next = 0;
  const lane = async () => {
    while (next < options.count) {
      const i = next++;
      const responder = responders[i % responders.length];
      if (!responder) return;
      const id = `r${i}`;
      const t0 = process.hrtime.bigint();
      const answered = new Promise<bigint>((resolve) => waiting.set(id, resolve));
      await requester.publishAsync(
        `brickless/v1/${responder.deviceId}/commands/request`,
        JSON.stringify({ id, name: 'ping' }),
        { qos: 1 },
      );
      samples.push(Number((await answered) - t0) / 1e6);
    }
  };
  await Promise.all(Array.from({ length: options.concurrency }, lane));
  return summarise(samples);
}
