/**
 * One process of the drill's fleet (fleet.ts forks it): a share of the simulated devices, each
 * running the real SDK. Devices live in child processes because every connection costs a file
 * descriptor on both ends; with devices and servers in one process, the open-file limit capped
 * the drill below the 10,000 devices the benchmark asks for.
 */
import { mkdirSync } from 'node:fs';
import { Agent } from 'node:https';
import { join } from 'node:path';
import { BricklessDevice } from '@brickless/device';
import type { FleetEvent, FleetReply, FleetRequest, WorkerOptions } from './fleet-protocol.js';

const devices = new Map<string, BricklessDevice>();
const secrets = new Map<string, string>();
let options: WorkerOptions;
let agent: Agent;

const send = (message: FleetEvent | FleetReply) => process.send?.(message);

function build(deviceId: string, recordUrls: string[] = []): BricklessDevice {
  const dir = join(options.dir, deviceId);
  mkdirSync(dir, { recursive: true });
  const device = new BricklessDevice({
    url: options.mqttUrl,
    deviceId,
    secret: secrets.get(deviceId) as string,
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
    continuity: { recordUrls, failuresBeforeFetch: 3, moveSpreadMs: options.moveSpreadMs },
  });
  device.on('endpoint', () => {
    device.once('connected', () => send({ event: 'arrived', device: deviceId, at: Date.now() }));
  });
  device.onDelta((state) => {
    send({ event: 'delta', device: deviceId, state });
  });
  device.onCommand('ping', () => {
    send({ event: 'command', device: deviceId });
    return { pong: true };
  });
  device.on('handlerError', () => {});
  devices.set(deviceId, device);
  return device;
}

const each = (ids: string[], work: (device: BricklessDevice, id: string) => Promise<unknown>) =>
  Promise.all(
    ids.map((id) => {
      const device = devices.get(id);
      return device ? work(device, id) : Promise.resolve();
    }),
  );

async function handle(request: FleetRequest): Promise<unknown> {
  switch (request.op) {
    case 'start': {
      options = request.options;
      agent = new Agent({ keepAlive: true, maxSockets: 64 });
      for (const { deviceId, secret } of options.credentials) secrets.set(deviceId, secret);
      const built = options.credentials.map(({ deviceId }) => build(deviceId));
      for (let i = 0; i < built.length; i += options.concurrency)
        await Promise.all(built.slice(i, i + options.concurrency).map((d) => d.connect()));
      return null;
    }
    case 'telemetry':
      return each(request.ids, (d) => d.sendTelemetry(request.values));
    case 'state':
      return each(request.ids, (d) => d.reportState(request.state));
    case 'stop':
      return each(request.ids, (d) => d.close());
    case 'restart':
      // As after a power cut: a new SDK instance from the saved settings. The saved server may be
      // gone; connect() fails, the device retries and asks the record URLs.
      return each(request.ids, async (old, id) => {
        await old.close();
        await build(id, request.recordUrls)
          .connect()
          .catch(() => {});
      });
    case 'versions': {
      const versions: Record<string, string | null> = {};
      for (const id of request.ids) {
        const updates = devices.get(id)?.updates;
        versions[id] = updates?.state.slots[updates.state.active]?.version ?? null;
      }
      return versions;
    }
    case 'close':
      await each([...devices.keys()], (d) => d.close());
      agent?.destroy();
      return null;
  }
}

process.on('message', (request: FleetRequest) => {
  handle(request).then(
    (result) => send({ reply: request.id, ok: true, result }),
    (error: unknown) => send({ reply: request.id, ok: false, error: (error as Error).message }),
  );
});
// The parent went away: nothing here is worth keeping.
process.on('disconnect', () => process.exit(0));
