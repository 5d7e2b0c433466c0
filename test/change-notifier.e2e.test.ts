import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import mqtt from 'mqtt';
import { freshDatabase, type TestDatabase, testDialects } from '../packages/server/src/store/test-helper.js';
import { assertBuilt, bricklessJson, type Server, startServer } from './support/cli.js';

/** A real MQTT/TLS connection as the device; resolves once connected. */
async function connectDevice(
  port: number,
  ca: string,
  deviceId: string,
  secret: string,
): Promise<{ client: mqtt.MqttClient; closed: Promise<number> }> {
  const client = mqtt.connect(`mqtts://localhost:${port}`, {
    ca,
    clientId: deviceId,
    username: deviceId,
    password: secret,
    reconnectPeriod: 0,
    protocolVersion: 4,
  });
  await new Promise<void>((resolve, reject) => {
    client.once('connect', () => resolve());
    client.once('error', reject);
  });
  const closed = new Promise<number>((resolve) => client.once('close', () => resolve(Date.now())));
  return { client, closed };
}

/**
 * Resolves with how long after `since` (the CLI's exit: the change is committed) the connection
 * closed, or rejects after `ms`. The server polls SQLite every 250 ms and hears PostgreSQL at once.
 */
async function closesWithin(closed: Promise<number>, since: number, ms: number): Promise<number> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`device still connected ${ms} ms later`)), ms);
  });
  try {
    return (await Promise.race([closed, timeout])) - since;
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Issue 15 §2: a change made with the CLI in direct mode (another process, on the same database)
 * reaches the running server through the database, and it acts at once: a revoked or rotated
 * credential's live MQTT connection closes, exactly as when the change goes through --server.
 */
for (const dialect of testDialects) {
  describe(`a running server hears changes the CLI makes on its database (${dialect})`, () => {
    let db: TestDatabase;
    let server: (Server & { url: string }) | undefined;
    let base: string[];
    let mqttPort = 0;
    let ca = '';
    let product = '';

    before(async () => {
      assertBuilt();
      db = await freshDatabase(dialect);
      base = ['--data-dir', db.dataDir, '--database', db.url];
      server = await startServer(['--data-dir', db.dataDir, '--database', db.url]);
      mqttPort = Number(/MQTT:\s+mqtts:\/\/[^:]+:(\d+)/.exec(server.output())?.[1]);
      assert.ok(mqttPort > 0, server.output());
      ca = readFileSync(join(db.dataDir, 'tls', 'ca.crt'), 'utf8');
      await bricklessJson([...base, 'orgs', 'create', '--slug', 'acme', '--name', 'Acme']);
      product = (
        await bricklessJson([
          ...base,
          'products',
          'create',
          '--model',
          'PLUG-1',
          '--name',
          'Plug',
          '--revision',
          'A',
          '--support-ends',
          '2033-01-01',
        ])
      ).id;
    });
    after(async () => {
      server?.child.kill('SIGTERM');
      await server?.exited;
      await db.drop();
    });

    async function connectedDevice(serial: string) {
      const device = await bricklessJson([
        ...base,
        'devices',
        'create',
        '--product',
        product,
        '--serial',
        serial,
      ]);
      const { secret } = await bricklessJson([...base, 'devices', 'secret', device.id]);
      return { id: device.id as string, ...(await connectDevice(mqttPort, ca, device.id, secret)) };
    }

    it('devices revoke in direct mode disconnects the device from the running server at once', async () => {
      const device = await connectedDevice('SN-REVOKE');
      const bystander = await connectedDevice('SN-BYSTANDER');
      assert.deepEqual(await bricklessJson([...base, 'devices', 'revoke', device.id]), { revoked: 1 });
      const ms = await closesWithin(device.closed, Date.now(), 3000);
      assert.ok(bystander.client.connected, 'only the revoked device is disconnected');
      // The revoked secret does not get back in.
      const again = mqtt.connect(`mqtts://localhost:${mqttPort}`, {
        ca,
        clientId: device.id,
        username: device.id,
        password: 'bds_wrong',
        reconnectPeriod: 0,
      });
      const refused = await new Promise<boolean>((resolve) => {
        again.once('connect', () => resolve(false));
        again.once('error', () => resolve(true));
        again.once('close', () => resolve(true));
      });
      again.end(true);
      assert.ok(refused);
      bystander.client.end(true);
      process.stdout.write(
        `# ${dialect}: the connection closed ${ms} ms after the revoking CLI exited (negative: before)\n`,
      );
    });

    it('devices secret (rotation) in direct mode closes the old connection at once', async () => {
      const device = await connectedDevice('SN-ROTATE');
      const { secret } = await bricklessJson([...base, 'devices', 'secret', device.id]);
      await closesWithin(device.closed, Date.now(), 3000);
      // The new secret works.
      const renewed = await connectDevice(mqttPort, ca, device.id, secret);
      assert.ok(renewed.client.connected);
      renewed.client.end(true);
    });
  });
}
