import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { MqttClient } from 'mqtt';
import { testDialects } from '../store/test-helper.js';
import { plugCapabilities, type TestApp, testApp } from '../test-support/app.js';
import { connectMqtt } from '../test-support/mqtt.js';
import { ensureTls } from '../tls/certs.js';
import { connectPacket, rawConnect, remainingLength } from './raw-mqtt.js';

/**
 * The wire (issue 14 §4): what an unauthenticated peer can hold, what a device over its limits
 * gets, and the error reply for every invalid message, over the real gateway on ephemeral ports.
 */

const limits = {
  preAuthMaxPacketBytes: 1024,
  unauthenticatedPerAddress: 3,
  connectTimeoutMs: 1500,
  tlsHandshakeTimeoutMs: 1500,
  messagesPerSecond: 20,
  messageBurst: 2,
};

const metric = async (t: TestApp, name: string): Promise<number> => {
  const text = await t.app.services.metrics.registry.metrics();
  return text
    .split('\n')
    .filter((line) => line.startsWith(name))
    .reduce((sum, line) => sum + Number(line.split(' ').pop()), 0);
};

for (const dialect of testDialects) {
  describe(`the wire: bounded before authentication, clear after (${dialect})`, () => {
    let t: TestApp;
    let plainPort: number;
    let tlsPort: number;
    const devices: { id: string; secret: string }[] = [];
    const clients: MqttClient[] = [];

    const connect = (d: { id: string; secret: string }) => {
      t.clock.advance(10_000);
      return connectMqtt(
        `mqtt://127.0.0.1:${plainPort}`,
        { clientId: d.id, username: d.id, password: d.secret },
        clients,
      );
    };

    before(async () => {
      t = await testApp(dialect, { gatewayLimits: limits });
      await t.org('acme');
      const product = await t.call('POST', '/v1/orgs/acme/products', {
        body: {
          modelNumber: 'PLUG',
          name: 'Plug',
          hardwareRevision: 'A',
          supportEnds: '2035-01-01',
          capabilities: plugCapabilities,
        },
      });
      for (let i = 0; i < 4; i++) {
        const created = await t.call('POST', '/v1/orgs/acme/devices', {
          body: { productId: product.body.id, serial: `W${i}` },
        });
        const issued = await t.call('POST', `/v1/orgs/acme/devices/${created.body.id}/credentials`);
        devices.push({ id: created.body.id, secret: issued.body.secret });
      }
      const tls = await ensureTls({ dataDir: t.database.dataDir, hostnames: [] });
      const started = await t.app.gateway.start({
        plain: { port: 0, host: '127.0.0.1' },
        tls: { key: tls.key, cert: tls.cert, port: 0, host: '127.0.0.1' },
      });
      plainPort = started.plainPort as number;
      tlsPort = started.tlsPort as number;
    });
    after(async () => {
      for (const c of clients) c.end(true);
      await t.close();
    });

    it('closes a connection that sends no CONNECT, and a TLS handshake that never starts, in time', async () => {
      const plain = await rawConnect(plainPort);
      const tls = await rawConnect(tlsPort);
      const [plainMs, tlsMs] = await Promise.all([plain.closed, tls.closed]);
      for (const ms of [plainMs, tlsMs]) assert.ok(ms >= 1000 && ms < 5000, `closed after ${ms} ms`);
    });

    it('refuses a packet over the limit before authentication without waiting for its body', async () => {
      const before = await metric(t, 'brickless_mqtt_connections_refused_total{reason="packet-too-large"}');
      // A PUBLISH header announcing 10 MB, before any CONNECT: closed on the header alone.
      const flood = await rawConnect(plainPort);
      flood.socket.write(Buffer.concat([Buffer.from([0x30]), remainingLength(10_000_000)]));
      assert.ok((await flood.closed) < 1000);
      // A CONNECT with a 4 KiB password: no CONNACK, closed.
      const big = await rawConnect(plainPort);
      big.socket.write(connectPacket({ clientId: 'x', username: 'x', password: 'p'.repeat(4096) }));
      assert.equal(await big.connack(), null);
      assert.ok((await big.closed) < 1000);
      const after = await metric(t, 'brickless_mqtt_connections_refused_total{reason="packet-too-large"}');
      assert.equal(after - before, 2);
      // Once authenticated, a device's packets may be as large as its payload limit.
      const [d] = devices;
      assert.ok(d);
      const client = await connect(d);
      const readings = Array.from({ length: 400 }, (_, i) => ({
        time: 1772362800000 + i,
        values: { power: i },
      }));
      const payload = JSON.stringify({ readings });
      assert.ok(payload.length > 16 * 1024);
      await client.publishAsync(`brickless/v1/${d.id}/telemetry`, payload, { qos: 1 });
      client.end(true);
    });

    it('caps unauthenticated connections per address, and only per address', async () => {
      const held = await Promise.all([rawConnect(plainPort), rawConnect(plainPort), rawConnect(tlsPort)]);
      const fourth = await rawConnect(plainPort);
      assert.ok((await fourth.closed) < 500, 'the fourth from the same address is closed at once');
      const other = await rawConnect(plainPort, '127.0.0.2');
      other.socket.write(connectPacket({ clientId: 'x', username: 'x', password: 'y' }));
      assert.equal(await other.connack(), 5, 'another address is served (and refused for its credentials)');
      for (const c of held) c.socket.destroy();
      await Promise.all(held.map((c) => c.closed));
      const [, d] = devices;
      assert.ok(d);
      const client = await connect(d);
      assert.ok(client.connected, 'room again once they left');
      client.end(true);
    });

    it('a guesser cannot lock a real device out, and a limited guesser is not even checked', async () => {
      const [, , d] = devices;
      assert.ok(d);
      const codes: (number | null)[] = [];
      for (let i = 0; i < 12; i++) {
        const guess = await rawConnect(plainPort, '127.0.0.3');
        guess.socket.write(connectPacket({ clientId: d.id, username: d.id, password: `wrong${i}` }));
        codes.push(await guess.connack());
        guess.socket.destroy();
      }
      assert.deepEqual(codes.slice(0, 10), Array(10).fill(5));
      assert.deepEqual(codes.slice(10), [3, 3], 'over the limit: CONNACK 3, as docs/protocol.md says');
      const right = await rawConnect(plainPort, '127.0.0.3');
      right.socket.write(connectPacket({ clientId: d.id, username: d.id, password: d.secret }));
      assert.equal(await right.connack(), 3, 'the right secret from the limited address is not even checked');
      right.socket.destroy();
      const client = await connectMqtt(
        `mqtt://127.0.0.1:${plainPort}`,
        { clientId: d.id, username: d.id, password: d.secret },
        clients,
      );
      assert.ok(client.connected, 'the real device from its own address gets in');
      client.end(true);
    });

    it('over its message rate a device is slowed down, and every acknowledged message is stored', async () => {
      const [, , , d] = devices;
      assert.ok(d);
      const client = await connect(d);
      const throttled = await metric(t, 'brickless_device_messages_throttled_total');
      const started = Date.now();
      await Promise.all(
        Array.from({ length: 10 }, (_, i) =>
          client.publishAsync(
            `brickless/v1/${d.id}/telemetry`,
            JSON.stringify({ readings: [{ time: 1772362800000 + i, values: { power: i } }] }),
            { qos: 1 },
          ),
        ),
      );
      const elapsed = Date.now() - started;
      // 8 messages over a burst of 2 at 20 a second: the last waits 400 ms.
      assert.ok(elapsed >= 350, `all acknowledged after ${elapsed} ms`);
      assert.equal((await metric(t, 'brickless_device_messages_throttled_total')) - throttled, 8);
      const series = await t.call('GET', `/v1/orgs/acme/devices/${d.id}/telemetry?field=power`);
      assert.equal(series.body.points.length, 10, 'nothing acknowledged was dropped');
      client.end(true);
    });

    it('answers every invalid message with an error reply and keeps the connection', async () => {
      const [d] = devices;
      assert.ok(d);
      t.clock.advance(60_000); // a full message bucket again
      const client = await connect(d);
      const replies: { error: { code: string; topic: string } }[] = [];
      client.on('message', (_topic, payload) => replies.push(JSON.parse(payload.toString())));
      await client.subscribeAsync(`brickless/v1/${d.id}/errors`, { qos: 0 });
      const cases: [string, string, string][] = [
        ['telemetry', '{"readings": [', 'malformed-payload'],
        ['telemetry', '{"readings":[{"values":{"power":1}}],"extra":1}', 'invalid-payload'],
        ['telemetry', '{"readings":[{"values":{"power":1e309}}]}', 'invalid-number'],
        ['state/reported', '{"state":{"firmware":"1.0\\u0000"}}', 'invalid-text'],
        ['state/reported', '{"state":{"toString":true}}', 'invalid-state'],
        ['events', '{"events":[{"name":"buttonPressed","data":{"__proto__":{"x":1}}}]}', 'forbidden-key'],
        ['endpoint/status', '{"version":1,"status":"teleported"}', 'validation-failed'],
        ['endpoint/status', '{"version":7,"status":"moving"}', 'conflict'],
        ['presence', '{"online":"yes"}', 'invalid-payload'],
        ['commands/result', '{"id":"cmd_none","status":"ok"}', 'unknown-command'],
      ];
      for (const [channel, payload] of cases)
        await client.publishAsync(`brickless/v1/${d.id}/${channel}`, payload, { qos: 1 });
      const end = Date.now() + 5000;
      while (replies.length < cases.length && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
      assert.deepEqual(
        replies.map((r) => [r.error.topic.split('/').slice(3).join('/'), r.error.code]),
        cases.map(([channel, , code]) => [channel, code]),
      );
      assert.ok(client.connected, 'no silent disconnect');
      const row = await t.app.services.store.db
        .selectFrom('devices')
        .select(['endpoint_version', 'endpoint_status'])
        .where('id', '=', d.id)
        .executeTakeFirstOrThrow();
      // Spread: the SQLite driver on Node 24 hands rows back as null-prototype objects.
      assert.deepEqual(
        { ...row },
        { endpoint_version: null, endpoint_status: null },
        'the refused move changed nothing',
      );
      client.end(true);
    });

    it("refuses a message over its product's own size limit with an error reply, and stores nothing of it", async () => {
      const body = {
        modelNumber: 'SMALL',
        name: 'Small plug',
        hardwareRevision: 'A',
        supportEnds: '2035-01-01',
        capabilities: plugCapabilities,
      };
      for (const maxMessageBytes of [63, 256 * 1024 + 1, 1.5]) {
        const refused = await t.call('POST', '/v1/orgs/acme/products', {
          body: { ...body, limits: { maxMessageBytes } },
        });
        assert.equal(refused.status, 400, `maxMessageBytes ${maxMessageBytes}`);
      }
      const product = await t.call('POST', '/v1/orgs/acme/products', {
        body: { ...body, limits: { maxMessageBytes: 256 } },
      });
      assert.equal(product.status, 201);
      assert.deepEqual(product.body.limits, { maxMessageBytes: 256 });
      assert.deepEqual((await t.call('GET', `/v1/orgs/acme/products/${product.body.id}`)).body.limits, {
        maxMessageBytes: 256,
      });
      const created = await t.call('POST', '/v1/orgs/acme/devices', {
        body: { productId: product.body.id, serial: 'S1' },
      });
      const issued = await t.call('POST', `/v1/orgs/acme/devices/${created.body.id}/credentials`);
      const small = { id: created.body.id as string, secret: issued.body.secret as string };
      const [, other] = devices;
      assert.ok(other);
      t.clock.advance(60_000); // full message buckets
      const readings = (n: number, from: number) =>
        JSON.stringify({
          readings: Array.from({ length: n }, (_, i) => ({ time: from + i, values: { power: i } })),
        });
      const large = readings(8, 1772362801000);
      assert.ok(large.length > 256 && large.length < 1024, `${large.length} bytes`);

      const client = await connect(small);
      const replies: { error: { code: string } }[] = [];
      client.on('message', (_topic, payload) => replies.push(JSON.parse(payload.toString())));
      await client.subscribeAsync(`brickless/v1/${small.id}/errors`, { qos: 0 });
      await client.publishAsync(`brickless/v1/${small.id}/telemetry`, large, { qos: 1 });
      await client.publishAsync(`brickless/v1/${small.id}/telemetry`, readings(1, 1772362802000), { qos: 1 });
      const end = Date.now() + 5000;
      while (replies.length < 1 && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
      assert.deepEqual(
        replies.map((r) => r.error.code),
        ['payload-too-large'],
      );
      assert.ok(client.connected, 'refused, not disconnected');
      const stored = await t.call('GET', `/v1/orgs/acme/devices/${small.id}/telemetry?field=power`);
      assert.equal(stored.body.points.length, 1, 'only the small message was stored');
      client.end(true);

      // The same message from a device of a product without its own limit is stored.
      const points = async () =>
        (await t.call('GET', `/v1/orgs/acme/devices/${other.id}/telemetry?field=power`)).body.points.length;
      const before = await points();
      const unlimited = await connect(other);
      await unlimited.publishAsync(`brickless/v1/${other.id}/telemetry`, large, { qos: 1 });
      assert.equal((await points()) - before, 8);
      unlimited.end(true);

      // An update out of range changes nothing; `limits: {}` goes back to the global limit.
      const path = `/v1/orgs/acme/products/${product.body.id}`;
      assert.equal((await t.call('PATCH', path, { body: { limits: { maxMessageBytes: 10 } } })).status, 400);
      assert.deepEqual((await t.call('GET', path)).body.limits, { maxMessageBytes: 256 });
      assert.deepEqual((await t.call('PATCH', path, { body: { limits: {} } })).body.limits, {});
      const again = await connect(small);
      await again.publishAsync(`brickless/v1/${small.id}/telemetry`, readings(8, 1772362803000), { qos: 1 });
      const after = await t.call('GET', `/v1/orgs/acme/devices/${small.id}/telemetry?field=power`);
      assert.equal(after.body.points.length, 9, 'stored under the global limit from the next connection');
      again.end(true);
    });
  });
}
