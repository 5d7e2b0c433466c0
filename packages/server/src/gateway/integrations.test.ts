import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { type EventEmitter, once } from 'node:events';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import type mqtt from 'mqtt';
import type { MqttClient } from 'mqtt';
import { testDialects } from '../store/test-helper.js';
import { plugCapabilities, type TestApp, testApp } from '../test-support/app.js';
import { connectMqtt, startTlsGateway } from '../test-support/mqtt.js';
import { needsPart } from '../test-support/parts.js';

const run = promisify(execFile);
const next = (client: MqttClient, event: string) => once(client as unknown as EventEmitter, event);

for (const dialect of testDialects) {
  describe(`integrations: backends subscribe to their organisation's device traffic with an API token (${dialect})`, () => {
    let t: TestApp;
    let port: number;
    let ca: string;
    let caFile: string;
    const tokens: Record<string, string> = {};
    const devices: Record<string, { deviceId: string; secret: string }> = {};
    const clients: MqttClient[] = [];

    const connect = async (opts: mqtt.IClientOptions) => {
      t.clock.advance(10_000);
      return connectMqtt(
        `mqtts://127.0.0.1:${port}`,
        {
          ca,
          ...opts,
        },
        clients,
      );
    };
    const device = (name: string) => {
      const d = devices[name] as { deviceId: string; secret: string };
      return connect({ clientId: d.deviceId, username: d.deviceId, password: d.secret });
    };
    const reading = (power: number) => JSON.stringify({ readings: [{ values: { power } }] });

    before(async () => {
      t = await testApp(dialect);
      for (const slug of ['org-a', 'org-b']) {
        const org = await t.org(slug);
        tokens[slug] = org.token;
        const product = await t.call('POST', `/v1/orgs/${slug}/products`, {
          body: {
            modelNumber: 'P',
            name: 'P',
            hardwareRevision: 'A',
            supportEnds: '2035-01-01',
            capabilities: plugCapabilities,
          },
        });
        const batch = await t.call('POST', `/v1/orgs/${slug}/provisioning`, {
          body: { productId: product.body.id, serials: ['S-1'] },
        });
        devices[slug] = batch.body.devices[0];
      }
      const auditor = await t.call('POST', '/v1/orgs/org-a/tokens', {
        body: { name: 'pipeline', role: 'auditor' },
      });
      tokens.auditor = auditor.body.token;
      ({ port, ca, caFile } = await startTlsGateway(t));
    });
    after(async () => {
      for (const c of clients) c.end(true);
      await t.close();
    });

    it("delivers its own organisation's devices only, whatever wildcard it uses, and only valid messages", async () => {
      const integration = await connect({
        clientId: 'pipeline-a',
        username: 'token',
        password: tokens.auditor,
      });
      const granted = await integration.subscribeAsync(['brickless/v1/+/telemetry', 'brickless/v1/#'], {
        qos: 0,
      });
      assert.deepEqual(
        granted.map((g) => g.qos),
        [0, 0],
      );
      const received: string[] = [];
      integration.on('message', (topic, payload) => received.push(`${topic} ${payload}`));

      const a = await device('org-a');
      const b = await device('org-b');
      const idA = devices['org-a']?.deviceId as string;
      const idB = devices['org-b']?.deviceId as string;
      await a.publishAsync(`brickless/v1/${idA}/telemetry`, reading(1), { qos: 1 });
      await b.publishAsync(`brickless/v1/${idB}/telemetry`, reading(2), { qos: 1 });
      await a.publishAsync(`brickless/v1/${idA}/telemetry`, '{"readings":[{"values":{"nope":1}}]}', {
        qos: 1,
      });
      await a.publishAsync(`brickless/v1/${idA}/telemetry`, reading(3), { qos: 1 });
      await new Promise((r) => setTimeout(r, 200));
      // A's valid messages, once each (overlapping filters deliver once); nothing of B; the
      // refused message never, only the error reply sent to A's device.
      assert.deepEqual(
        received.filter((r) => r.includes('/telemetry ')),
        [`brickless/v1/${idA}/telemetry ${reading(1)}`, `brickless/v1/${idA}/telemetry ${reading(3)}`],
      );
      assert.ok(
        received.some((r) => r.startsWith(`brickless/v1/${idA}/errors `) && r.includes('unknown-field')),
      );
      assert.ok(!received.some((r) => r.includes(idB)));
    });

    it('never hands a retained invalid message to a later subscriber; presence payloads are validated', async () => {
      const a = await device('org-a');
      const idA = devices['org-a']?.deviceId as string;
      const invalid: [string, string][] = [
        ['telemetry', '{"readings":[{"values":{"nope":1}}]}'],
        ['state/reported', 'not json'],
        ['presence', '{"online":"yes"}'],
        ['presence', '{"online":true,"__proto__":{"polluted":1}}'],
        ['events', '{"name":"x","level":"nope"}'],
      ];
      for (const [channel, body] of invalid)
        await a.publishAsync(`brickless/v1/${idA}/${channel}`, body, { qos: 1, retain: true });
      // A valid presence message, retained as a device's last will would be.
      await a.publishAsync(`brickless/v1/${idA}/presence`, '{"online":true}', { qos: 1, retain: true });
      await new Promise((r) => setTimeout(r, 200));

      const late = await connect({ clientId: 'pipeline-late', username: 'token', password: tokens.auditor });
      const received: string[] = [];
      late.on('message', (topic, payload, packet) => {
        if (packet.retain) received.push(`${topic} ${payload}`);
      });
      await late.subscribeAsync('brickless/v1/#', { qos: 0 });
      await new Promise((r) => setTimeout(r, 300));
      for (const [channel, body] of invalid)
        assert.ok(
          !received.includes(`brickless/v1/${idA}/${channel} ${body}`),
          `a retained invalid ${channel} message reached a later subscriber: ${received.join(' | ')}`,
        );
      // The valid retained presence does reach it: retained delivery works, for valid messages only.
      assert.ok(received.includes(`brickless/v1/${idA}/presence {"online":true}`), received.join(' | '));
      // What reaches it retained, if anything, is valid and only about the subscriber's organisation.
      for (const line of received)
        assert.match(line, new RegExp(`^brickless/v1/${idA}/presence \\{"online":(true|false)\\}$`));
    });

    it('refuses filters outside the device topics, any publish, device ids as client id, and bad tokens', async () => {
      const integration = await connect({
        clientId: 'pipeline-b',
        username: 'token',
        password: tokens['org-a'],
      });
      const granted = await integration
        .subscribeAsync(['#', '$SYS/#', '$brickless/refused'], { qos: 0 })
        .catch(
          (error: { packet?: { granted?: number[] } }) =>
            error.packet?.granted?.map((qos) => ({ qos })) ?? [],
        );
      assert.deepEqual(
        granted.map((g) => g.qos),
        [128, 128, 128],
      );
      const closed = next(integration, 'close');
      integration.publish(
        `brickless/v1/${devices['org-a']?.deviceId}/commands/request`,
        '{"id":"x","name":"reboot"}',
        { qos: 1 },
      );
      await closed;

      await assert.rejects(
        connect({
          clientId: devices['org-a']?.deviceId as string,
          username: 'token',
          password: tokens['org-a'],
        }),
        /Not authorized/,
      );
      await assert.rejects(
        connect({ clientId: 'pipeline-c', username: 'token', password: `bkl_${'x'.repeat(43)}` }),
        /Not authorized/,
      );
      await assert.rejects(connect({ clientId: 'pipeline-c', username: 'token' }), /Not authorized/);
      const metrics = await t.call('GET', '/metrics', { token: null });
      assert.match(metrics.body, /brickless_security_events_total\{event="subscribe-denied"\} 3/);
    });

    it("ends the session at once when its token is revoked, and works with Debian's mosquitto_sub", async (ctx) => {
      if (needsPart(ctx, 'mosquitto')) return;
      const made = await t.call('POST', '/v1/orgs/org-a/tokens', {
        body: { name: 'short-lived', role: 'operator' },
      });
      const integration = await connect({
        clientId: 'pipeline-d',
        username: 'token',
        password: made.body.token,
      });
      const closed = next(integration, 'close');
      const revoked = await t.call('DELETE', `/v1/orgs/org-a/tokens/${made.body.record.id}`);
      assert.equal(revoked.status, 200);
      await closed;

      const sub = run(
        'mosquitto_sub',
        [
          '-h',
          '127.0.0.1',
          '-p',
          String(port),
          '--cafile',
          caFile,
          '-i',
          'mosq-pipeline',
          '-u',
          'token',
          '-P',
          tokens.auditor as string,
        ].concat(['-t', 'brickless/v1/+/telemetry', '-C', '1', '-W', '10', '-v']),
        { timeout: 15_000 },
      );
      await new Promise((r) => setTimeout(r, 500));
      const a = await device('org-a');
      const idA = devices['org-a']?.deviceId as string;
      await a.publishAsync(`brickless/v1/${idA}/telemetry`, reading(9), { qos: 1 });
      const { stdout } = await sub;
      assert.equal(stdout.trim(), `brickless/v1/${idA}/telemetry ${reading(9)}`);
    });
  });
}
