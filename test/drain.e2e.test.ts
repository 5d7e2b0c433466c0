import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import https from 'node:https';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import mqtt, { type MqttClient } from 'mqtt';
import { openStore } from '../packages/server/src/store/db.js';
import { freshDatabase, type TestDatabase, testDialects } from '../packages/server/src/store/test-helper.js';
import { assertBuilt, type Server, startServer } from './support/cli.js';

function request(
  url: string,
  options: { method?: string; ca: string; token: string; body?: unknown },
): Promise<{ status: number; body: any }> {
  return new Promise((resolve, reject) => {
    const payload = options.body === undefined ? undefined : JSON.stringify(options.body);
    const req = https.request(
      url,
      {
        method: options.method ?? 'GET',
        ca: options.ca,
        headers: {
          authorization: `Bearer ${options.token}`,
          ...(payload ? { 'content-type': 'application/json' } : {}),
        },
      },
      (res) => {
        let text = '';
        res.on('data', (c: Buffer) => {
          text += c.toString();
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text ? JSON.parse(text) : null }));
      },
    );
    req.on('error', reject);
    req.end(payload);
  });
}

/** Upper bound of messages a device sends before the stop interrupts it. */
const MAX_MESSAGES = 20_000;
const message = (i: number) =>
  JSON.stringify({ id: `m-${i}`, readings: [{ time: Date.now() - 60_000, values: { power: i } }] });

for (const dialect of testDialects) {
  describe(`SIGTERM drains (${dialect})`, () => {
    let db: TestDatabase;
    let server: (Server & { url: string }) | undefined;
    const clients: MqttClient[] = [];

    const start = async () => {
      server = await startServer(
        ['--data-dir', db.dataDir, '--http-host', '127.0.0.1', '--mqtt-plain-port', '0'],
        { BRICKLESS_DATABASE_URL: db.url },
      );
      const plain = /MQTT:\s+mqtt:\/\/\S+:(\d+)/.exec(server.output());
      assert.ok(plain?.[1], server.output());
      return { server, mqttPort: Number(plain[1]) };
    };
    const stored = async (deviceId: string): Promise<number[]> => {
      const store = await openStore(db.url);
      try {
        const rows = await store.db
          .selectFrom('telemetry')
          .select('num_value')
          .where('device_id', '=', deviceId)
          .execute();
        return rows.map((r) => Number(r.num_value));
      } finally {
        await store.close();
      }
    };
    /** Publishes messages 0..count-1 as a steady stream while connected; returns how many went out. */
    const publishStream = async (
      client: MqttClient,
      acked: Set<number>,
      count: number,
      afterBurst: () => void = () => {},
    ): Promise<number> => {
      let i = 0;
      for (; i < count && client.connected; i++) {
        const n = i;
        client.publish(
          `brickless/v1/${client.options.clientId}/telemetry`,
          message(n),
          { qos: 1 },
          (error) => {
            if (!error) acked.add(n);
          },
        );
        // About 140 a second: under the gateway's per-device rate (200/s), whose refusals are
        // acknowledged without being stored (docs/protocol.md).
        if (i % 10 === 9) {
          afterBurst();
          await new Promise((r) => setTimeout(r, 70));
        }
      }
      return i;
    };

    before(async () => {
      assertBuilt();
      db = await freshDatabase(dialect);
    });
    after(async () => {
      for (const c of clients) c.end(true);
      server?.child.kill('SIGKILL');
      await db.drop();
    });

    it('while a device publishes: what was acknowledged is stored, the rest is resent to the next start and stored once', async () => {
      const first = await start();
      const token = /^\s+(bkl_[A-Za-z0-9_-]{43})$/m.exec(first.server.output())?.[1] as string;
      const ca = readFileSync(join(db.dataDir, 'tls', 'ca.crt'), 'utf8');
      const api = (method: string, path: string, body?: unknown) =>
        request(`${first.server.url}${path}`, { method, ca, token, body });
      assert.equal((await api('POST', '/v1/orgs', { slug: 'acme', name: 'Acme' })).status, 201);
      const product = await api('POST', '/v1/orgs/acme/products', {
        modelNumber: 'PLUG',
        name: 'Plug',
        hardwareRevision: 'A',
        supportEnds: '2035-01-01',
        capabilities: { telemetry: { power: { schema: { type: 'number' } } } },
      });
      const device = await api('POST', '/v1/orgs/acme/devices', { productId: product.body.id, serial: 'S' });
      const secret = (await api('POST', `/v1/orgs/acme/devices/${device.body.id}/credentials`)).body.secret;
      const deviceId: string = device.body.id;
      const connect = (port: number) =>
        new Promise<MqttClient>((resolve, reject) => {
          const client = mqtt.connect(`mqtt://127.0.0.1:${port}`, {
            clientId: deviceId,
            username: deviceId,
            password: secret,
            reconnectPeriod: 0,
          });
          clients.push(client);
          client.once('connect', () => resolve(client));
          client.once('error', reject);
        });

      const client = await connect(first.mqttPort);
      const acked = new Set<number>();
      // SIGTERM right after a burst of ten went out: messages are in flight when the stop begins.
      let stopped = false;
      let inFlightAtStop = 0;
      let sentAtStop = 0;
      const streaming = publishStream(client, acked, MAX_MESSAGES, () => {
        if (stopped || acked.size < 100) return;
        stopped = true;
        sentAtStop = acked.size + Object.keys(client.outgoing).length;
        inFlightAtStop = Object.keys(client.outgoing).length;
        first.server.child.kill('SIGTERM');
      });
      while (!stopped) await new Promise((r) => setTimeout(r, 5));
      assert.equal(await first.server.exited, 0, first.server.stderr());
      const sent = await streaming;
      client.end(true);
      // In flight at the stop: each either reached the server before it stopped accepting (stored,
      // then acknowledged before the close) or after (no PUBACK: the device sends it again).
      assert.ok(inFlightAtStop > 0, 'the stop came while messages were in flight');
      assert.ok(acked.size >= sentAtStop - inFlightAtStop);

      // An acknowledgement means stored.
      const afterStop = await stored(deviceId);
      const values = new Set(afterStop);
      for (const i of acked) assert.ok(values.has(i), `message ${i} was acknowledged but not stored`);
      assert.equal(afterStop.length, values.size, 'nothing stored twice');

      // The device sends everything again to the next start (it cannot know what was stored
      // without its PUBACK): each message is stored exactly once.
      const second = await start();
      const again = await connect(second.mqttPort);
      const ackedAgain = new Set<number>();
      await publishStream(again, ackedAgain, sent);
      const end = Date.now() + 30_000;
      while (ackedAgain.size < sent && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
      assert.equal(ackedAgain.size, sent);
      again.end(true);
      second.server.child.kill('SIGTERM');
      assert.equal(await second.server.exited, 0);
      server = undefined;
      const final = await stored(deviceId);
      assert.equal(final.length, sent, 'exactly once');
      assert.deepEqual(
        [...final].sort((a, b) => a - b),
        Array.from({ length: sent }, (_, i) => i),
      );
    });
  });
}
