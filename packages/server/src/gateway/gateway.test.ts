import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { type EventEmitter, once } from 'node:events';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import type { MqttClient } from 'mqtt';
import { testDialects } from '../store/test-helper.js';
import { type TestApp, testApp } from '../test-support/app.js';
import { connectMqtt, startTlsGateway } from '../test-support/mqtt.js';
import { needsPart } from '../test-support/parts.js';

async function waitUntil(condition: () => boolean, timeoutMs = 5000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** mqtt.js's typed emitter is an EventEmitter at run time; `once` wants the Node type. */
const next = (client: MqttClient, event: string) => once(client as unknown as EventEmitter, event);

const run = promisify(execFile);

for (const dialect of testDialects) {
  describe(`MQTT gateway over TLS with per-device secrets (${dialect})`, () => {
    let t: TestApp;
    let port: number;
    let ca: string;
    let caFile: string;
    const devices: { id: string; secret: string }[] = [];
    const clients: MqttClient[] = [];

    const connect = async (clientId: string, username: string, password: string): Promise<MqttClient> => {
      // Connection attempts are rate-limited per device on the injected clock; let time pass.
      t.clock.advance(10_000);
      return connectMqtt(
        `mqtts://127.0.0.1:${port}`,
        {
          ca,
          clientId,
          username,
          password,
        },
        clients,
      );
    };
    const telemetryTopic = (id: string) => `brickless/v1/${id}/telemetry`;
    const series = async (id: string, query: string) =>
      (await t.call('GET', `/v1/orgs/acme/devices/${id}/telemetry?${query}`)).body;

    before(async () => {
      t = await testApp(dialect);
      await t.org('acme');
      const product = await t.call('POST', '/v1/orgs/acme/products', {
        body: {
          modelNumber: 'PLUG',
          name: 'Plug',
          hardwareRevision: 'A',
          supportEnds: '2035-01-01',
          capabilities: {
            telemetry: {
              power: { schema: { type: 'number', minimum: 0 }, unit: 'W' },
              relayOn: { schema: { type: 'boolean' } },
            },
            commands: {
              reboot: {},
              blink: {
                params: {
                  type: 'object',
                  required: ['times'],
                  properties: { times: { type: 'integer', minimum: 1 } },
                },
              },
            },
            state: {
              on: { schema: { type: 'boolean' }, writable: true },
              brightness: { schema: { type: 'integer', minimum: 0, maximum: 100 }, writable: true },
              firmware: { schema: { type: 'string' }, writable: false },
            },
          },
        },
      });
      for (const serial of ['A', 'B']) {
        const device = await t.call('POST', '/v1/orgs/acme/devices', {
          body: { productId: product.body.id, serial },
        });
        const issued = await t.call('POST', `/v1/orgs/acme/devices/${device.body.id}/credentials`);
        assert.equal(issued.status, 201, issued.raw);
        assert.match(issued.body.secret, /^bds_[A-Za-z0-9_-]{43}$/);
        devices.push({ id: device.body.id, secret: issued.body.secret });
      }
      ({ port, ca, caFile } = await startTlsGateway(t));
    });
    after(async () => {
      for (const c of clients) c.end(true);
      await t.close();
    });

    it('stores telemetry before it acknowledges it (QoS 1 PUBACK after commit)', async () => {
      const [a] = devices;
      assert.ok(a);
      const client = await connect(a.id, a.id, a.secret);
      await client.publishAsync(
        telemetryTopic(a.id),
        JSON.stringify({
          readings: [
            { time: '2026-03-01T11:00:00.000Z', values: { power: 10, relayOn: true } },
            { time: '2026-03-01T11:00:30.000Z', values: { power: 20 } },
            { time: '2026-03-01T11:01:10.000Z', values: { power: 60 } },
          ],
        }),
        { qos: 1 },
      );
      // No waiting: the PUBACK itself says the rows are committed.
      const raw = await series(a.id, 'field=power');
      assert.deepEqual(
        raw.points.map((p: { value: number }) => p.value),
        [10, 20, 60],
      );
      assert.deepEqual((await series(a.id, 'field=relayOn')).points, [
        { time: '2026-03-01T11:00:00.000Z', value: true },
      ]);
      const perMinute = await series(a.id, 'field=power&bucket=1m');
      assert.deepEqual(perMinute.points, [
        { time: '2026-03-01T11:00:00.000Z', min: 10, max: 20, avg: 15, count: 2 },
        { time: '2026-03-01T11:01:00.000Z', min: 60, max: 60, avg: 60, count: 1 },
      ]);
      const ranged = await series(
        a.id,
        'field=power&from=2026-03-01T11:00:15.000Z&to=2026-03-01T11:00:45.000Z',
      );
      assert.equal(ranged.points.length, 1);
    });

    it('refuses an invalid message with an error reply, keeps the connection and stores nothing of it', async () => {
      const [a] = devices;
      assert.ok(a);
      const client = await connect(a.id, a.id, a.secret);
      await client.subscribeAsync(`brickless/v1/${a.id}/errors`, { qos: 0 });
      const before = (await series(a.id, 'field=power')).points.length;
      const cases: [string, string][] = [
        ['not json', 'malformed-payload'],
        [JSON.stringify({ id: 'm1', readings: [{ values: { power: -5 } }] }), 'invalid-value'],
        [JSON.stringify({ readings: [{ values: { power: 1, colour: 'red' } }] }), 'unknown-field'],
        [JSON.stringify({ readings: [] }), 'invalid-payload'],
        [
          JSON.stringify({ readings: [{ time: '2099-01-01T00:00:00Z', values: { power: 1 } }] }),
          'invalid-time',
        ],
      ];
      for (const [payload, code] of cases) {
        const reply = next(client, 'message');
        await client.publishAsync(telemetryTopic(a.id), payload, { qos: 1 });
        const [topic, message] = (await reply) as [string, Buffer];
        assert.equal(topic, `brickless/v1/${a.id}/errors`);
        const body = JSON.parse(message.toString());
        assert.equal(body.status, 'error');
        assert.equal(body.error.code, code, message.toString());
        if (code === 'invalid-value') assert.equal(body.id, 'm1');
      }
      assert.equal(client.connected, true);
      assert.equal((await series(a.id, 'field=power')).points.length, before);
      const metrics = await t.app.http.inject({ method: 'GET', url: '/metrics' });
      assert.match(metrics.body, /brickless_device_messages_refused_total\{reason="invalid-value"\} 1/);
    });

    it('confines a device to its own topics: a foreign subscription gets 0x80, a foreign publish disconnects', async () => {
      const [a, b] = devices;
      assert.ok(a && b);
      const client = await connect(a.id, a.id, a.secret);
      // mqtt.js rejects a SUBACK that holds a refusal, carrying the packet on the error.
      const granted = await client
        .subscribeAsync([
          `brickless/v1/${b.id}/commands/request`,
          `brickless/v1/${a.id}/commands/request`,
          '#',
        ])
        .then(
          (grants) => grants.map((g) => g.qos),
          (error: { packet?: { granted?: number[] } }) => error.packet?.granted,
        );
      assert.deepEqual(granted, [128, 0, 128]);
      assert.equal(client.connected, true, 'a refused subscription keeps the connection');
      const closed = next(client, 'close');
      client.publish(telemetryTopic(b.id), JSON.stringify({ readings: [{ values: { power: 1 } }] }), {
        qos: 1,
      });
      await closed;
      assert.equal(
        (await series(b.id, 'field=power')).points.length,
        0,
        "nothing stored under the other device's name",
      );
      const metrics = await t.app.http.inject({ method: 'GET', url: '/metrics' });
      assert.match(metrics.body, /brickless_security_events_total\{event="publish-denied"\} 1/);
      assert.match(metrics.body, /brickless_security_events_total\{event="subscribe-denied"\} 2/);
    });

    it('records presence: online with its node while connected, offline with last seen after', async () => {
      const [a] = devices;
      assert.ok(a);
      const client = await connect(a.id, a.id, a.secret);
      await waitUntil(() => t.app.gateway.isConnected(a.id));
      let device = (await t.call('GET', `/v1/orgs/acme/devices/${a.id}`)).body;
      // Presence is written after the CONNACK; allow a loaded machine up to 10 s.
      for (let i = 0; i < 500 && !device.online; i++) {
        await new Promise((r) => setTimeout(r, 20));
        device = (await t.call('GET', `/v1/orgs/acme/devices/${a.id}`)).body;
      }
      assert.equal(device.online, true);
      assert.equal(typeof device.connectedNode, 'string');
      const online = await t.call('GET', '/v1/orgs/acme/devices?online=true');
      assert.ok(online.body.items.some((d: { id: string }) => d.id === a.id));
      client.end(true);
      await waitUntil(() => !t.app.gateway.isConnected(a.id));
      for (let i = 0; i < 500 && device.online; i++) {
        await new Promise((r) => setTimeout(r, 20));
        device = (await t.call('GET', `/v1/orgs/acme/devices/${a.id}`)).body;
      }
      assert.equal(device.online, false);
      assert.equal(device.connectedNode, null);
      assert.ok(device.lastSeenAt);
    });

    it('connects a device provisioned in a factory batch with its own secret', async () => {
      const product = (await t.call('GET', '/v1/orgs/acme/products')).body.items[0];
      const batch = await t.call('POST', '/v1/orgs/acme/provisioning', {
        body: { productId: product.id, serials: ['P-1', 'P-2', 'P-3'] },
      });
      assert.equal(batch.status, 201, batch.raw);
      const [first, second] = batch.body.devices;
      const client = await connect(first.deviceId, first.deviceId, first.secret);
      await client.publishAsync(
        telemetryTopic(first.deviceId),
        JSON.stringify({ readings: [{ values: { power: 3 } }] }),
        { qos: 1 },
      );
      assert.equal((await series(first.deviceId, 'field=power')).points.length, 1);
      await assert.rejects(connect(second.deviceId, second.deviceId, first.secret), /Not authorized/i);
      const dup = await t.call('POST', '/v1/orgs/acme/provisioning', {
        body: { productId: product.id, serials: ['P-9', 'P-1'] },
      });
      assert.equal(dup.status, 409);
      assert.equal(
        (await t.call('GET', '/v1/orgs/acme/devices?serial=P-9')).body.items.length,
        0,
        'nothing of a refused batch',
      );
    });

    it('converges state: desired with versions (409 when stale), reported from the device, delta on reconnect', async () => {
      const [a] = devices;
      assert.ok(a);
      const state = `/v1/orgs/acme/devices/${a.id}/state`;
      const first = await t.call('PATCH', state, {
        body: { version: 0, desired: { on: true, brightness: 40 } },
      });
      assert.equal(first.status, 200, first.raw);
      assert.equal(first.body.desiredVersion, 1);
      assert.deepEqual(first.body.delta, { on: true, brightness: 40 });
      const stale = await t.call('PATCH', state, { body: { version: 0, desired: { on: false } } });
      assert.equal(stale.status, 409);
      const readOnly = await t.call('PATCH', state, { body: { version: 1, desired: { firmware: '2.0' } } });
      assert.equal(readOnly.status, 400);
      assert.equal(readOnly.body.errors[0].field, '/state/firmware');
      const outOfRange = await t.call('PATCH', state, { body: { version: 1, desired: { brightness: 400 } } });
      assert.equal(outOfRange.status, 400);

      // The device was offline; it connects, subscribes and gets the delta at once.
      const client = await connect(a.id, a.id, a.secret);
      const delta = next(client, 'message');
      await client.subscribeAsync([`brickless/v1/${a.id}/state/delta`, `brickless/v1/${a.id}/errors`], {
        qos: 1,
      });
      const [topic, message] = (await delta) as [string, Buffer];
      assert.equal(topic, `brickless/v1/${a.id}/state/delta`);
      assert.deepEqual(JSON.parse(message.toString()), { version: 1, state: { on: true, brightness: 40 } });

      // It applies part of it and reports; the rest stays in the delta.
      await client.publishAsync(
        `brickless/v1/${a.id}/state/reported`,
        JSON.stringify({ state: { on: true, firmware: '1.0.0' } }),
        { qos: 1 },
      );
      let twin = (await t.call('GET', state)).body;
      assert.deepEqual(twin.reported, { on: true, firmware: '1.0.0' });
      assert.deepEqual(twin.delta, { brightness: 40 });
      await client.publishAsync(
        `brickless/v1/${a.id}/state/reported`,
        JSON.stringify({ state: { brightness: 40 } }),
        { qos: 1 },
      );
      twin = (await t.call('GET', state)).body;
      assert.deepEqual(twin.delta, {});
      assert.equal(twin.reportedVersion, 2);

      // A desired change while connected is pushed at once.
      const pushed = next(client, 'message');
      await t.call('PATCH', state, { body: { version: 1, desired: { brightness: 70 } } });
      const [, push] = (await pushed) as [string, Buffer];
      assert.deepEqual(JSON.parse(push.toString()), { version: 2, state: { brightness: 70 } });

      // A report outside the model is refused with an error and changes nothing.
      const refused = next(client, 'message');
      await client.publishAsync(
        `brickless/v1/${a.id}/state/reported`,
        JSON.stringify({ state: { colour: 'red' } }),
        { qos: 1 },
      );
      const [errTopic, err] = (await refused) as [string, Buffer];
      assert.equal(errTopic, `brickless/v1/${a.id}/errors`);
      assert.equal(JSON.parse(err.toString()).error.code, 'invalid-state');
      assert.equal((await t.call('GET', state)).body.reportedVersion, 2);
      client.end(true);
    });

    it('carries commands: queued while offline, delivered on subscribe, result back; idempotent; expired after TTL', async () => {
      const [a] = devices;
      assert.ok(a);
      const base = `/v1/orgs/acme/devices/${a.id}/commands`;
      assert.equal((await t.call('POST', base, { body: { name: 'selfDestruct' } })).status, 400);
      const badParams = await t.call('POST', base, { body: { name: 'blink', params: { times: 0 } } });
      assert.equal(badParams.status, 400);
      assert.equal(badParams.body.errors[0].field, '/params/times');
      const queued = await t.call('POST', base, {
        body: { name: 'blink', params: { times: 3 }, idempotencyKey: 'k-1' },
      });
      assert.equal(queued.status, 201, queued.raw);
      assert.equal(queued.body.status, 'queued');
      const replay = await t.call('POST', base, {
        body: { name: 'blink', params: { times: 3 }, idempotencyKey: 'k-1' },
      });
      assert.equal(replay.status, 200);
      assert.equal(replay.body.id, queued.body.id, 'the same key returns the same command');
      const shortLived = await t.call('POST', base, { body: { name: 'reboot', ttlSeconds: 5 } });
      t.clock.advance(6000);
      assert.equal(await t.app.services.commands.expireDue(), 1);
      assert.equal((await t.call('GET', `${base}/${shortLived.body.id}`)).body.status, 'expired');

      const client = await connect(a.id, a.id, a.secret);
      const delivered = next(client, 'message');
      await client.subscribeAsync([`brickless/v1/${a.id}/commands/request`, `brickless/v1/${a.id}/errors`], {
        qos: 1,
      });
      const [topic, message] = (await delivered) as [string, Buffer];
      assert.equal(topic, `brickless/v1/${a.id}/commands/request`);
      const request = JSON.parse(message.toString());
      assert.deepEqual(
        { id: request.id, name: request.name, params: request.params },
        { id: queued.body.id, name: 'blink', params: { times: 3 } },
      );
      assert.equal((await t.call('GET', `${base}/${request.id}`)).body.status, 'delivered');

      await client.publishAsync(
        `brickless/v1/${a.id}/commands/result`,
        JSON.stringify({ id: request.id, status: 'ok', data: { blinked: 3 } }),
        { qos: 1 },
      );
      const done = (await t.call('GET', `${base}/${request.id}`)).body;
      assert.equal(done.status, 'succeeded');
      assert.deepEqual(done.result, { data: { blinked: 3 } });

      // Sent while connected: delivered at once; the device reports a failure.
      const live = next(client, 'message');
      const sent = await t.call('POST', base, { body: { name: 'reboot' } });
      const [, liveMessage] = (await live) as [string, Buffer];
      assert.equal(JSON.parse(liveMessage.toString()).id, sent.body.id);
      await client.publishAsync(
        `brickless/v1/${a.id}/commands/result`,
        JSON.stringify({
          id: sent.body.id,
          status: 'error',
          error: { code: 'busy', message: 'doorbell ringing' },
        }),
        { qos: 1 },
      );
      const failed = (await t.call('GET', `${base}/${sent.body.id}`)).body;
      assert.equal(failed.status, 'failed');
      assert.deepEqual(failed.result, { error: { code: 'busy', message: 'doorbell ringing' } });

      // Results for closed or unknown commands are refused with an error.
      for (const [id, code] of [
        [shortLived.body.id, 'command-closed'],
        ['cmd_000000000000ffffffffffffffff', 'unknown-command'],
      ]) {
        const refused = next(client, 'message');
        await client.publishAsync(
          `brickless/v1/${a.id}/commands/result`,
          JSON.stringify({ id, status: 'ok' }),
          { qos: 1 },
        );
        const [, err] = (await refused) as [string, Buffer];
        assert.equal(JSON.parse(err.toString()).error.code, code);
      }
      const list = await t.call('GET', `${base}?status=succeeded`);
      assert.deepEqual(
        list.body.items.map((c: { id: string }) => c.id),
        [queued.body.id],
      );
      client.end(true);
    });

    it('refuses a wrong secret, another device’s secret, and a client id that is not the device id', async () => {
      const [a, b] = devices;
      assert.ok(a && b);
      await assert.rejects(connect(a.id, a.id, `bds_${'x'.repeat(43)}`), /Not authorized/i);
      await assert.rejects(connect(a.id, a.id, b.secret), /Not authorized/i);
      await assert.rejects(connect('someone-else', a.id, a.secret), /Not authorized/i);
      await assert.rejects(connect(a.id, a.id, ''), /Not authorized/i);
    });

    it('rotation and revocation disconnect the device at once and the old secret stops working', async () => {
      const [, b] = devices;
      assert.ok(b);
      const client = await connect(b.id, b.id, b.secret);
      const closed = next(client, 'close');
      const rotated = await t.call('POST', `/v1/orgs/acme/devices/${b.id}/credentials`);
      await closed;
      await assert.rejects(connect(b.id, b.id, b.secret), /Not authorized/i);
      const fresh = await connect(b.id, b.id, rotated.body.secret);
      const closedAgain = next(fresh, 'close');
      const revoked = await t.call('DELETE', `/v1/orgs/acme/devices/${b.id}/credentials`);
      assert.deepEqual(revoked.body, { revoked: 1 });
      await closedAgain;
      await assert.rejects(connect(b.id, b.id, rotated.body.secret), /Not authorized/i);
      const listed = await t.call('GET', `/v1/orgs/acme/devices/${b.id}/credentials`);
      assert.equal(listed.body.items.length, 2);
      assert.ok(listed.body.items.every((c: { revokedAt: string | null }) => c.revokedAt));
      assert.doesNotMatch(listed.raw, /bds_/);
    });

    it('disabling or deleting a device disconnects it at once; enabled again, it connects', async () => {
      const products = await t.call('GET', '/v1/orgs/acme/products');
      const device = await t.call('POST', '/v1/orgs/acme/devices', {
        body: { productId: products.body.items[0].id, serial: 'C' },
      });
      const id = device.body.id as string;
      const { secret } = (await t.call('POST', `/v1/orgs/acme/devices/${id}/credentials`)).body;
      const client = await connect(id, id, secret);
      const closed = next(client, 'close');
      const disabled = await t.call('PATCH', `/v1/orgs/acme/devices/${id}`, { body: { status: 'disabled' } });
      assert.equal(disabled.status, 200, disabled.raw);
      await closed;
      await assert.rejects(connect(id, id, secret), /Not authorized/i);
      await t.call('PATCH', `/v1/orgs/acme/devices/${id}`, { body: { status: 'active' } });
      const again = await connect(id, id, secret);
      const closedAgain = next(again, 'close');
      assert.equal((await t.call('DELETE', `/v1/orgs/acme/devices/${id}`)).status, 200);
      await closedAgain;
      await assert.rejects(connect(id, id, secret), /Not authorized/i);
    });

    it("works with Debian's mosquitto_pub and mosquitto_sub over TLS, ACL included", async (ctx) => {
      if (needsPart(ctx, 'mosquitto')) return;
      const [a, b] = devices;
      assert.ok(a && b);
      const as = (d: { id: string; secret: string }) => [
        '-h',
        '127.0.0.1',
        '-p',
        String(port),
        '--cafile',
        caFile,
        '-i',
        d.id,
        '-u',
        d.id,
        '-P',
        d.secret,
      ];
      const payload = JSON.stringify({
        readings: [{ time: '2026-03-01T11:30:00.000Z', values: { power: 42.5 } }],
      });
      await run('mosquitto_pub', [...as(a), '-t', telemetryTopic(a.id), '-q', '1', '-m', payload], {
        timeout: 10_000,
      });
      const stored = await series(
        a.id,
        'field=power&from=2026-03-01T11:30:00.000Z&to=2026-03-01T11:30:00.000Z',
      );
      assert.deepEqual(stored.points, [{ time: '2026-03-01T11:30:00.000Z', value: 42.5 }]);

      // A server-to-device message reaches mosquitto_sub on the device's own downstream topic.
      const own = run(
        'mosquitto_sub',
        [...as(a), '-t', `brickless/v1/${a.id}/commands/request`, '-q', '1', '-C', '1', '-W', '10'],
        { timeout: 15_000 },
      );
      await waitUntil(() => t.app.gateway.isConnected(a.id));
      await new Promise((r) => setTimeout(r, 200));
      t.app.gateway.broker.publish(
        {
          cmd: 'publish',
          topic: `brickless/v1/${a.id}/commands/request`,
          payload: Buffer.from('{"id":"c1","name":"reboot"}'),
          qos: 1,
          retain: false,
          dup: false,
        },
        () => {},
      );
      assert.equal((await own).stdout.trim(), '{"id":"c1","name":"reboot"}');

      // Another device's topics: the subscription is denied, the publish is refused and nothing stored.
      t.clock.advance(10_000);
      const foreign = await run(
        'mosquitto_sub',
        [...as(a), '-t', `brickless/v1/${b.id}/commands/request`, '-C', '1', '-W', '5'],
        { timeout: 10_000 },
      ).then(
        (r) => ({ code: 0, stderr: r.stderr }),
        (e: { code: number; stderr: string }) => ({ code: e.code, stderr: e.stderr }),
      );
      assert.match(foreign.stderr, /denied/i, `mosquitto_sub exited ${foreign.code}`);
      await run('mosquitto_pub', [...as(a), '-t', telemetryTopic(b.id), '-q', '1', '-m', payload], {
        timeout: 10_000,
      }).catch(() => {});
      assert.equal(
        (await series(b.id, 'field=power')).points.length,
        0,
        "nothing stored under the other device's name",
      );
    });
  });
}
