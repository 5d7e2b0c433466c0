import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { MqttClient } from 'mqtt';
import WebSocket from 'ws';
import { testDialects } from '../store/test-helper.js';
import { plugCapabilities, type TestApp, testApp } from '../test-support/app.js';
import { connectMqtt } from '../test-support/mqtt.js';
import { ensureTls } from '../tls/certs.js';
import { connectPacket, type RawConnection, rawConnect } from './raw-mqtt.js';

/**
 * A flood of unauthenticated connections from a few addresses against the real gateway (issue 14
 * §4, decision 0016): it fills the global cap, never more, and real devices still get in over
 * every listener, because a full cap makes the largest holder give up its oldest connection.
 */

/**
 * Large enough against the storm below that the flooders stay the largest holders whatever the
 * order of arrival: (30 - 2 WebSocket - 5 devices) / 3 flooding addresses > 2 (127.0.0.1's devices).
 */
const CAP = 30;
/** Long deadlines: every flood socket that closes in this test was closed by the cap, not by time. */
const limits = {
  unauthenticatedPerAddress: 50,
  unauthenticatedTotal: CAP,
  tlsHandshakeTimeoutMs: 300_000,
  connectTimeoutMs: 300_000,
};

const metric = async (t: TestApp, reason: string): Promise<number> => {
  const text = await t.app.services.metrics.registry.metrics();
  const line = text
    .split('\n')
    .find((l) => l.startsWith(`brickless_mqtt_connections_refused_total{reason="${reason}"}`));
  return line ? Number(line.split(' ').pop()) : 0;
};

/** Waits (bounded) for a condition that follows from events already under way. */
const until = async (condition: () => boolean, what: string): Promise<void> => {
  for (let i = 0; i < 500 && !condition(); i++) await new Promise((r) => setTimeout(r, 10));
  assert.ok(condition(), what);
};

for (const dialect of testDialects) {
  describe(`a flood of unauthenticated connections (${dialect})`, () => {
    let t: TestApp;
    let plainPort: number;
    let tlsPort: number;
    let httpsPort: number;
    let ca: string;
    const devices: { id: string; secret: string }[] = [];
    const clients: MqttClient[] = [];
    const flood: RawConnection[] = [];
    const webSockets: WebSocket[] = [];

    before(async () => {
      t = await testApp(dialect, { https: true, gatewayLimits: limits });
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
      for (let i = 0; i < 5; i++) {
        const created = await t.call('POST', '/v1/orgs/acme/devices', {
          body: { productId: product.body.id, serial: `F${i}` },
        });
        const issued = await t.call('POST', `/v1/orgs/acme/devices/${created.body.id}/credentials`);
        devices.push({ id: created.body.id, secret: issued.body.secret });
      }
      const tls = await ensureTls({ dataDir: t.database.dataDir, hostnames: [] });
      ca = readFileSync(join(t.database.dataDir, 'tls', 'ca.crt'), 'utf8');
      const started = await t.app.gateway.start({
        plain: { port: 0, host: '127.0.0.1' },
        tls: { key: tls.key, cert: tls.cert, port: 0, host: '127.0.0.1' },
      });
      plainPort = started.plainPort as number;
      tlsPort = started.tlsPort as number;
      await t.app.http.listen({ host: '127.0.0.1', port: 0 });
      t.app.gateway.attachWebSocket(t.app.http.server);
      httpsPort = (t.app.http.server.address() as AddressInfo).port;
    });
    after(async () => {
      for (const c of clients) c.end(true);
      for (const f of flood) f.socket.destroy();
      for (const ws of webSockets) ws.terminate();
      await t.close();
    });

    it('fills the global cap and no more, and real devices still connect over TLS, plain MQTT and WebSocket', async () => {
      const gateway = t.app.gateway;
      // Pending MQTT-over-WebSocket connections (upgraded, no CONNECT) count toward the same cap.
      for (let i = 0; i < 2; i++) {
        const ws = new WebSocket(`wss://127.0.0.1:${httpsPort}/mqtt`, 'mqtt', {
          ca,
          localAddress: '127.0.0.5',
        });
        ws.on('error', () => {});
        webSockets.push(ws);
        await new Promise((resolve) => ws.once('open', resolve));
      }
      assert.equal(gateway.unauthenticated.held, 2);

      // The flood: 90 silent connections from 3 addresses, to the TLS and the plain port.
      const refusedBefore = await metric(t, 'unauthenticated-total');
      for (let i = 0; i < 90; i++) {
        const port = i % 2 === 0 ? tlsPort : plainPort;
        flood.push(await rawConnect(port, `127.0.0.${2 + (i % 3)}`));
        assert.ok(gateway.unauthenticated.held <= CAP, `${gateway.unauthenticated.held} held`);
      }
      await until(() => gateway.unauthenticated.held === CAP, 'the flood fills the cap');
      assert.ok((await metric(t, 'unauthenticated-total')) - refusedBefore >= 90 - CAP);

      // A reconnect storm of real devices while the cap is full: three from addresses of their own,
      // two (TLS and WebSocket) from 127.0.0.1.
      const evictedBefore = await metric(t, 'unauthenticated-evicted');
      t.clock.advance(10_000);
      const [overTls, overWebSocket, ...overPlain] = devices;
      assert.ok(overTls && overWebSocket);
      const storm = overPlain.map(async (d, i) => {
        const raw = await rawConnect(plainPort, `127.0.1.${1 + i}`);
        raw.socket.write(connectPacket({ clientId: d.id, username: d.id, password: d.secret }));
        const code = await raw.connack();
        raw.socket.destroy();
        return code;
      });
      const tlsClient = connectMqtt(
        `mqtts://127.0.0.1:${tlsPort}`,
        { ca, clientId: overTls.id, username: overTls.id, password: overTls.secret },
        clients,
      );
      const wsClient = connectMqtt(
        `wss://127.0.0.1:${httpsPort}/mqtt`,
        { ca, clientId: overWebSocket.id, username: overWebSocket.id, password: overWebSocket.secret },
        clients,
      );
      // More of the flood at the same time: the devices still get in.
      const more = Array.from({ length: 15 }, (_, i) => rawConnect(plainPort, `127.0.0.${2 + (i % 3)}`));
      assert.deepEqual(await Promise.all(storm), [0, 0, 0], 'every device over plain MQTT got CONNACK 0');
      assert.ok((await tlsClient).connected, 'the device over TLS got in');
      assert.ok((await wsClient).connected, 'the device over WebSocket got in');
      flood.push(...(await Promise.all(more)));

      assert.ok(
        (await metric(t, 'unauthenticated-evicted')) - evictedBefore >= 1,
        'flood sockets were evicted',
      );
      assert.ok(gateway.unauthenticated.held <= CAP);
      assert.equal(gateway.unauthenticated.peak, CAP, 'never more than the cap held, at any moment');
      // The first eviction took the oldest connection of the largest holder (127.0.0.2, 10 of 30):
      // the very first of the flood. With the deadlines this long, nothing else closes it.
      await flood[0]?.closed;

      // When the flood leaves, nothing stays counted.
      for (const f of flood) f.socket.destroy();
      for (const ws of webSockets) ws.terminate();
      await until(() => gateway.unauthenticated.held === 0, 'every pending place is free again');
    });
  });
}
