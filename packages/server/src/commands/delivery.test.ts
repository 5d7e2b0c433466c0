import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { MqttClient } from 'mqtt';
import { testDialects } from '../store/test-helper.js';
import { type TestApp, testApp } from '../test-support/app.js';
import { connectMqtt, startTlsGateway } from '../test-support/mqtt.js';
import { DELIVERY_PAGE } from './service.js';

for (const dialect of testDialects) {
  describe(`command delivery beyond one page (${dialect})`, () => {
    let t: TestApp;
    const clients: MqttClient[] = [];
    before(async () => {
      t = await testApp(dialect);
    });
    after(async () => {
      for (const c of clients) c.end(true);
      await t.close();
    });

    it('a device with more queued commands than one page gets all of them, oldest first, without reconnecting', async () => {
      await t.org('acme');
      const product = await t.call('POST', '/v1/orgs/acme/products', {
        body: {
          modelNumber: 'P',
          name: 'P',
          hardwareRevision: 'A',
          supportEnds: '2035-01-01',
          capabilities: { commands: { reboot: {} } },
        },
      });
      const device = await t.call('POST', '/v1/orgs/acme/devices', {
        body: { productId: product.body.id, serial: 'S' },
      });
      const deviceId: string = device.body.id;
      const issued = await t.call('POST', `/v1/orgs/acme/devices/${deviceId}/credentials`);
      const total = DELIVERY_PAGE + 30;
      const sent: string[] = [];
      for (let i = 0; i < total; i++) {
        const { command } = await t.app.services.commands.send('test', device.body.orgId, deviceId, {
          name: 'reboot',
        });
        sent.push(command.id);
        t.clock.advance(1);
      }
      const { port, ca } = await startTlsGateway(t);
      t.clock.advance(10_000);
      const client = await connectMqtt(
        `mqtts://127.0.0.1:${port}`,
        { ca, clientId: deviceId, username: deviceId, password: issued.body.secret },
        clients,
      );
      let closed = false;
      client.on('close', () => {
        closed = true;
      });
      const received: string[] = [];
      client.on('message', (_topic, payload) => {
        received.push((JSON.parse(payload.toString()) as { id: string }).id);
      });
      await client.subscribeAsync(`brickless/v1/${deviceId}/commands/request`, { qos: 1 });
      const end = Date.now() + 15_000;
      while (received.length < total && Date.now() < end) await new Promise((r) => setTimeout(r, 50));
      assert.equal(received.length, total, `received ${received.length} of ${total}`);
      assert.deepEqual(received, [...sent].sort(), 'each once, oldest first');
      assert.equal(closed, false, 'no reconnect needed');
      const delivered = await t.call(
        'GET',
        `/v1/orgs/acme/devices/${deviceId}/commands?status=delivered&limit=1`,
      );
      assert.equal(delivered.status, 200);
      const queued = await t.call('GET', `/v1/orgs/acme/devices/${deviceId}/commands?status=queued`);
      assert.deepEqual(queued.body.items, [], 'every command is marked delivered');
      // Newest first, page by page (the console's history).
      const newest = await t.call('GET', `/v1/orgs/acme/devices/${deviceId}/commands?order=desc&limit=2`);
      assert.deepEqual(
        newest.body.items.map((c: { id: string }) => c.id),
        [...sent].sort().reverse().slice(0, 2),
      );
      const older = await t.call(
        'GET',
        `/v1/orgs/acme/devices/${deviceId}/commands?order=desc&limit=2&cursor=${newest.body.nextCursor}`,
      );
      assert.deepEqual(
        older.body.items.map((c: { id: string }) => c.id),
        [...sent].sort().reverse().slice(2, 4),
      );
    });
  });
}
