import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { MqttClient } from 'mqtt';
import { type App, createApp } from '../app.js';
import { loadMasterKey } from '../secrets/master-key.js';
import { testDialects } from '../store/test-helper.js';
import { type TestApp, testApp } from '../test-support/app.js';
import { connectMqtt } from '../test-support/mqtt.js';
import { ensureTls } from '../tls/certs.js';

// Short timings so the test is quick; the defaults (2 s, 10 s) scale the same way.
const timings = { heartbeatMs: 100, expiryMs: 600 };
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function eventually<T>(
  read: () => Promise<T>,
  ok: (value: T) => boolean,
  timeoutMs = 5000,
): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (ok(value)) return value;
    if (Date.now() > end) throw new Error(`condition not met in time; last: ${JSON.stringify(value)}`);
    await sleep(20);
  }
}

/**
 * Presence across nodes (issue 19 §2): two app instances on one database, each with its own device
 * gateway, and a real MQTT device over TLS. Node ids a and b.
 */
for (const dialect of testDialects) {
  describe(`presence across two nodes on one database (${dialect})`, () => {
    let t: TestApp;
    let b: App;
    const ports = { a: 0, b: 0 };
    let ca: string;
    const clients: MqttClient[] = [];
    const devices: { id: string; secret: string }[] = [];

    const presence = (id: string) =>
      t.app.services.store.db
        .selectFrom('devices')
        .select(['online', 'connected_node'])
        .where('id', '=', id)
        .executeTakeFirstOrThrow();
    const presenceEvents = async (id: string) =>
      (
        await t.app.services.store.db
          .selectFrom('device_events')
          .select('name')
          .where('device_id', '=', id)
          .orderBy('id')
          .execute()
      ).map((row) => row.name);
    const connect = (node: 'a' | 'b', device: { id: string; secret: string }) => {
      t.clock.advance(10_000); // connection attempts are rate-limited on the injected clock
      return connectMqtt(
        `mqtts://127.0.0.1:${ports[node]}`,
        { ca, clientId: device.id, username: device.id, password: device.secret },
        clients,
      );
    };

    before(async () => {
      const masterKeyFile = join(tmpdir(), `brickless-mk-${process.pid}-${dialect}`);
      t = await testApp(dialect, { nodeId: 'a', cluster: timings, masterKeyFile });
      await t.org('acme');
      const product = await t.call('POST', '/v1/orgs/acme/products', {
        body: { modelNumber: 'P', name: 'P', hardwareRevision: 'A', supportEnds: '2035-01-01' },
      });
      for (const serial of ['1', '2', '3']) {
        const device = await t.call('POST', '/v1/orgs/acme/devices', {
          body: { productId: product.body.id, serial },
        });
        const issued = await t.call('POST', `/v1/orgs/acme/devices/${device.body.id}/credentials`);
        assert.equal(issued.status, 201, issued.raw);
        devices.push({ id: device.body.id, secret: issued.body.secret });
      }
      b = await createApp({
        database: t.database.url,
        secrets: loadMasterKey(masterKeyFile),
        artifacts: join(t.database.dataDir, 'artifacts'),
        dataDir: t.database.dataDir,
        clock: t.clock,
        nodeId: 'b',
        cluster: timings,
      });
      const tls = await ensureTls({ dataDir: t.database.dataDir, hostnames: [] });
      ca = readFileSync(tls.caFile as string, 'utf8');
      for (const [name, app] of [
        ['a', t.app],
        ['b', b],
      ] as const) {
        await app.cluster.start({ address: name });
        const started = await app.gateway.start({
          tls: { key: tls.key, cert: tls.cert, port: 0, host: '127.0.0.1' },
        });
        ports[name] = started.tlsPort as number;
      }
    });
    after(async () => {
      for (const client of clients) client.end(true);
      await b.close();
      await t.close();
    });

    it('both nodes beat in the nodes table', async () => {
      const rows = await t.app.services.store.db
        .selectFrom('nodes')
        .select(['id', 'version'])
        .orderBy('id')
        .execute();
      assert.deepEqual(
        rows.map((row) => row.id),
        ['a', 'b'],
      );
    });

    it('a device that reconnects on node b: node a drops its stale session, presence stays online on b', async () => {
      const device = devices[0] as { id: string; secret: string };
      const onA = await connect('a', device);
      await eventually(
        () => presence(device.id),
        (p) => p.online === 1 && p.connected_node === 'a',
      );
      let closedOnA = 0;
      onA.on('close', () => {
        closedOnA ||= Date.now();
      });
      // The old connection is still open (a half-dead link, say) when the device comes back via b.
      const reconnectedAt = Date.now();
      const onB = await connect('b', device);
      await eventually(
        async () => closedOnA,
        (at) => at > 0,
        3000,
      );
      // Node a notices at its next beat (one heartbeat, plus its presence flush).
      assert.ok(
        closedOnA - reconnectedAt <= 3 * timings.heartbeatMs + 300,
        `dropped after ${closedOnA - reconnectedAt} ms`,
      );
      assert.equal(t.app.gateway.isConnected(device.id), false);
      assert.equal(b.gateway.isConnected(device.id), true);
      assert.equal(onB.connected, true);
      // Node a's late disconnect is written (or not) by now; it must not have marked the device offline.
      await sleep(3 * timings.heartbeatMs);
      await t.app.gateway.dropTakenOver(); // flushes a's presence
      assert.deepEqual({ ...(await presence(device.id)) }, { online: 1, connected_node: 'b' });
      const events = await presenceEvents(device.id);
      assert.equal(events.at(-1), 'presence.connected', `history: ${events.join(', ')}`);
      assert.equal(
        events.filter((e) => e === 'presence.disconnected').length,
        0,
        `history: ${events.join(', ')}`,
      );
    });

    it('node a dies (stops beating): b marks its devices offline within expiry + heartbeat, and a re-asserts them when it beats again', async () => {
      const device = devices[1] as { id: string; secret: string };
      await connect('a', device);
      await eventually(
        () => presence(device.id),
        (p) => p.online === 1 && p.connected_node === 'a',
      );
      const diedAt = Date.now();
      t.app.cluster.halt(); // no more beats, no cleanup: as if the process hung or was killed
      await eventually(
        () => presence(device.id),
        (p) => p.online === 0 && p.connected_node === null,
        5000,
      );
      const took = Date.now() - diedAt;
      assert.ok(took <= timings.expiryMs + 2 * timings.heartbeatMs + 300, `offline after ${took} ms`);
      assert.ok(took >= timings.expiryMs - timings.heartbeatMs - 50, `offline too soon: ${took} ms`);
      assert.equal((await presenceEvents(device.id)).at(-1), 'presence.disconnected');
      const nodes = await t.app.services.store.db.selectFrom('nodes').select('id').execute();
      assert.deepEqual(
        nodes.map((n) => n.id),
        ['b'],
      );
      // Node a was only stalled: its next beat finds its row gone, registers again and says its
      // devices are still connected here.
      await t.app.cluster.node.beat();
      await eventually(
        () => presence(device.id),
        (p) => p.online === 1 && p.connected_node === 'a',
      );
      // The history is written right after the record.
      await eventually(
        () => presenceEvents(device.id),
        (events) => events.at(-1) === 'presence.connected',
      );
    });
    it('a stalled node that comes back does not take back a device that moved to another node meanwhile', async () => {
      const device = devices[2] as { id: string; secret: string };
      await connect('a', device);
      await eventually(
        () => presence(device.id),
        (p) => p.online === 1 && p.connected_node === 'a',
      );
      t.app.cluster.halt(); // a stalls: b's reaper counts it dead and marks its devices offline
      await eventually(
        () => presence(device.id),
        (p) => p.online === 0 && p.connected_node === null,
        5000,
      );
      // The device gives up on a and reconnects through b while a's stale session is still open.
      await connect('b', device);
      await eventually(
        () => presence(device.id),
        (p) => p.online === 1 && p.connected_node === 'b',
      );
      // a wakes: its re-assertion yields to b's record, and its takeover check drops the stale session.
      await t.app.cluster.node.beat();
      await t.app.gateway.dropTakenOver();
      assert.deepEqual({ ...(await presence(device.id)) }, { online: 1, connected_node: 'b' });
      assert.equal(t.app.gateway.isConnected(device.id), false);
      assert.equal(b.gateway.isConnected(device.id), true);
    });
  });
}
