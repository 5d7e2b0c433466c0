import { mkdirSync } from 'node:fs';
import { Agent } from 'node:https';
import { join } from 'node:path';
import { BricklessDevice } from '@brickless/device';

export interface DrillDevice {
  id: string;
  secret: string;
  device: BricklessDevice;
  /** When the device connected to the server an endpoint record sent it to (ms since the epoch). */
  arrivedAt: number | null;
  /** Desired state deltas it received. */
  deltas: Record<string, unknown>[];
  commands: number;
}

export interface FleetOptions {
  credentials: { deviceId: string; secret: string }[];
  mqttUrl: string;
  httpUrl: string;
  ca: string;
  root: string;
  productId: string;
  dir: string;
  /** Connections opened at once. */
  concurrency?: number;
}

export interface Fleet {
  devices: DrillDevice[];
  /** Boots a device again from its saved settings, as after a power cut; `recordUrls` as built in. */
  restart(entry: DrillDevice, recordUrls: string[]): Promise<void>;
  close(): Promise<void>;
}

/**
 * N devices running the real SDK in this process, each with its own credential, TUF root, A/B
 * slots and settings file, over MQTT/TLS and HTTPS (one shared connection pool). They take part in
 * handovers and updates exactly as a device in the field does.
 */
export async function startFleet(options: FleetOptions): Promise<Fleet> {
  const agent = new Agent({ keepAlive: true, maxSockets: 64 });
  const build = (entry: DrillDevice, recordUrls: string[] = []) => {
    const dir = join(options.dir, entry.id);
    mkdirSync(dir, { recursive: true });
    const device = new BricklessDevice({
      url: options.mqttUrl,
      deviceId: entry.id,
      secret: entry.secret,
      ca: options.ca,
      settingsFile: join(dir, 'settings.json'),
      backoff: { initialMs: 200, maxMs: 2_000 },
      updates: {
        httpUrl: options.httpUrl,
        dir: join(dir, 'updates'),
        trustedRoot: options.root,
        productId: options.productId,
        hardware: 'A',
        version: '1.0.0',
        securityVersion: 1,
        httpAgent: agent,
      },
      // Arrivals spread over about 12 ms per device (100 a second): what this one process can take.
      continuity: {
        recordUrls,
        failuresBeforeFetch: 3,
        moveSpreadMs: Math.max(500, options.credentials.length * 12),
      },
    });
    device.on('endpoint', () => {
      device.once('connected', () => {
        entry.arrivedAt = Date.now();
      });
    });
    device.onDelta((state) => {
      entry.deltas.push(state);
    });
    device.onCommand('ping', () => {
      entry.commands++;
      return { pong: true };
    });
    device.on('handlerError', () => {});
    entry.device = device;
  };
  const devices: DrillDevice[] = options.credentials.map(({ deviceId, secret }) => {
    const entry = {
      id: deviceId,
      secret,
      arrivedAt: null,
      deltas: [],
      commands: 0,
    } as unknown as DrillDevice;
    build(entry);
    return entry;
  });
  const concurrency = options.concurrency ?? 50;
  for (let i = 0; i < devices.length; i += concurrency)
    await Promise.all(devices.slice(i, i + concurrency).map((d) => d.device.connect()));
  return {
    devices,
    async restart(entry, recordUrls) {
      await entry.device.close();
      build(entry, recordUrls);
      // The saved server may be gone: connect() fails, and the device retries and asks recordUrls.
      await entry.device.connect().catch(() => {});
    },
    close: async () => {
      await Promise.all(devices.map((d) => d.device.close()));
      agent.destroy();
    },
  };
}
