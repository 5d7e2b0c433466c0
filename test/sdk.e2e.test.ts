import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { BricklessDevice, CommandError } from '../packages/device/src/index.js';
import { testDialects } from '../packages/server/src/store/test-helper.js';
import { type TestApp, testApp } from '../packages/server/src/test-support/app.js';
import { startTlsGateway } from '../packages/server/src/test-support/mqtt.js';

async function eventually<T>(
  probe: () => Promise<T>,
  ok: (value: T) => boolean,
  timeoutMs = 5000,
): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (ok(value)) return value;
    if (Date.now() > end) throw new Error(`condition not met in time; last value ${JSON.stringify(value)}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** The device SDK against the real server and gateway. */
for (const dialect of testDialects) {
  describe(`device SDK (${dialect})`, () => {
    let t: TestApp;
    let url: string;
    let ca: string;
    let device: { deviceId: string; secret: string };
    let sdk: BricklessDevice;
    let productId: string;

    before(async () => {
      t = await testApp(dialect);
      await t.org('acme');
      const product = await t.call('POST', '/v1/orgs/acme/products', {
        body: {
          modelNumber: 'LAMP',
          name: 'Lamp',
          hardwareRevision: '1',
          supportEnds: '2036-01-01',
          capabilities: {
            telemetry: { lux: { schema: { type: 'number' } } },
            state: { on: { schema: { type: 'boolean' }, writable: true } },
            commands: {
              blink: { params: { type: 'object', properties: { times: { type: 'integer' } } } },
              explode: {},
            },
            events: { switchedOn: { data: { type: 'object', properties: { by: { type: 'string' } } } } },
          },
        },
      });
      productId = product.body.id;
      const batch = await t.call('POST', '/v1/orgs/acme/provisioning', {
        body: { productId: product.body.id, serials: ['L-1'] },
      });
      device = batch.body.devices[0];
      const gateway = await startTlsGateway(t);
      ca = gateway.ca;
      url = `mqtts://127.0.0.1:${gateway.port}`;
      sdk = new BricklessDevice({
        url,
        ca,
        deviceId: device.deviceId,
        secret: device.secret,
        backoff: { initialMs: 50, maxMs: 200 },
        settingsFile: join(t.database.dataDir, 'device', 'settings.json'),
      });
      sdk.onCommand('blink', (params) => ({ blinked: (params as { times: number }).times }));
      sdk.onCommand('explode', () => {
        throw new CommandError('refused', 'not today');
      });
      sdk.onDelta(async (state) => {
        await sdk.reportState(state);
      });
    });
    after(async () => {
      await sdk.close();
      await t.close();
    });

    const lux = async () =>
      (await t.call('GET', `/v1/orgs/acme/devices/${device.deviceId}/telemetry?field=lux`)).body.points;

    it('connects with its own secret and sends telemetry that is stored', async () => {
      await sdk.connect();
      assert.equal(sdk.connected, true);
      await sdk.sendTelemetry({ lux: 120 }, new Date('2026-03-01T11:00:00Z'));
      assert.deepEqual(await lux(), [{ time: '2026-03-01T11:00:00.000Z', value: 120 }]);
      assert.equal(sdk.settings?.url, url, 'the server address is persisted');
    });

    it('answers commands through its handlers, errors included', async () => {
      const base = `/v1/orgs/acme/devices/${device.deviceId}/commands`;
      const blink = await t.call('POST', base, { body: { name: 'blink', params: { times: 2 } } });
      const done = await eventually(
        async () => (await t.call('GET', `${base}/${blink.body.id}`)).body,
        (c) => c.status === 'succeeded',
      );
      assert.deepEqual(done.result, { data: { blinked: 2 } });
      const explode = await t.call('POST', base, { body: { name: 'explode' } });
      const failed = await eventually(
        async () => (await t.call('GET', `${base}/${explode.body.id}`)).body,
        (c) => c.status === 'failed',
      );
      assert.deepEqual(failed.result, { error: { code: 'refused', message: 'not today' } });
    });

    it('applies desired state and reports it back until the delta is empty', async () => {
      const state = `/v1/orgs/acme/devices/${device.deviceId}/state`;
      await t.call('PATCH', state, { body: { version: 0, desired: { on: true } } });
      const twin = await eventually(
        async () => (await t.call('GET', state)).body,
        (tw) => tw.reportedVersion > 0 && Object.keys(tw.delta).length === 0,
      );
      assert.deepEqual(twin.reported, { on: true });
      await eventually(
        async () => sdk.settings?.stateVersion,
        (v) => v === 1,
      );
    });

    it('buffers telemetry while disconnected and delivers it after reconnecting with backoff', async () => {
      t.clock.advance(60_000); // the per-device connect rate limit runs on the injected clock
      t.app.gateway.disconnect(device.deviceId);
      await eventually(
        async () => sdk.connected,
        (c) => c === false,
      );
      for (const [i, value] of [1, 2, 3].entries())
        await sdk.sendTelemetry({ lux: value }, new Date(Date.UTC(2026, 2, 1, 11, 10, i)));
      await eventually(
        async () => sdk.connected && sdk.buffered === 0,
        (done) => done,
      );
      const points = await lux();
      assert.deepEqual(
        points.slice(-3).map((p: { value: number }) => p.value),
        [1, 2, 3],
      );
    });

    it('keeps a bounded buffer while it cannot connect, dropping the oldest', async () => {
      const offline = new BricklessDevice({
        url: 'mqtts://127.0.0.1:1',
        deviceId: 'dev_x',
        secret: 'x',
        bufferLimit: 5,
        backoff: { initialMs: 10_000 },
      });
      for (let i = 0; i < 8; i++) await offline.sendTelemetry({ lux: i });
      assert.equal(offline.buffered, 5);
      assert.equal(offline.dropped, 3);
      await offline.close();
    });

    it('connects with a client certificate instead of a secret, and sends events', async () => {
      const batch = await t.call('POST', '/v1/orgs/acme/provisioning', {
        body: { productId, serials: ['L-CERT'], credential: 'certificate' },
      });
      const made = batch.body.devices[0];
      const withCert = new BricklessDevice({
        url,
        ca,
        deviceId: made.deviceId,
        certificate: { cert: made.certificate, key: made.privateKey },
      });
      t.clock.advance(60_000);
      try {
        await withCert.connect();
        await withCert.sendEvent('switchedOn', { by: 'owner' }, new Date('2026-03-01T11:00:00Z'));
        const events = await t.call('GET', `/v1/orgs/acme/devices/${made.deviceId}/events`);
        const items = events.body.items as { name: string; data: unknown; time: string }[];
        // The device's own events, beside the connects the server records (docs/protocol.md).
        assert.deepEqual(
          items.filter((e) => !e.name.startsWith('presence.')).map((e) => [e.name, e.data, e.time]),
          [['switchedOn', { by: 'owner' }, '2026-03-01T11:00:00.000Z']],
        );
      } finally {
        // Always: a device left running keeps reconnecting and the file never ends.
        await withCert.close();
      }
      assert.throws(() => new BricklessDevice({ url, deviceId: made.deviceId }), /exactly one credential/);
    });

    it('is refused with a wrong secret', async () => {
      const wrong = new BricklessDevice({
        url,
        ca,
        deviceId: device.deviceId,
        secret: `bds_${'a'.repeat(43)}`,
        backoff: { initialMs: 60_000 },
      });
      t.clock.advance(60_000);
      await assert.rejects(wrong.connect(), /could not connect/);
      await wrong.close();
    });
  });
}
