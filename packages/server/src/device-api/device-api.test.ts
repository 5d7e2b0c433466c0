import 'reflect-metadata';
import assert from 'node:assert/strict';
import { webcrypto } from 'node:crypto';
import { type EventEmitter, once } from 'node:events';
import { readFileSync } from 'node:fs';
import { request } from 'node:https';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { claim } from '@brickless/device';
import * as x509 from '@peculiar/x509';
import mqtt, { type MqttClient } from 'mqtt';
import { testDialects } from '../store/test-helper.js';
import { plugCapabilities, type TestApp, testApp } from '../test-support/app.js';
import { connectMqtt } from '../test-support/mqtt.js';

interface Call {
  status: number;
  body: any;
}

for (const dialect of testDialects) {
  describe(`device HTTP API, claim and MQTT over secure WebSocket (${dialect})`, () => {
    let t: TestApp;
    let base: string;
    let ca: string;
    let productId: string;
    const clients: MqttClient[] = [];

    const call = (
      method: string,
      path: string,
      opts: { body?: unknown; basic?: [string, string]; cert?: string; key?: string; raw?: string } = {},
    ): Promise<Call> =>
      new Promise((resolve, reject) => {
        const payload = opts.raw ?? (opts.body === undefined ? undefined : JSON.stringify(opts.body));
        const req = request(
          `${base}${path}`,
          {
            method,
            ca,
            ...(opts.cert ? { cert: opts.cert, key: opts.key } : {}),
            headers: {
              ...(opts.basic
                ? { authorization: `Basic ${Buffer.from(opts.basic.join(':')).toString('base64')}` }
                : {}),
              ...(payload === undefined ? {} : { 'content-type': 'application/json' }),
            },
          },
          (res) => {
            const chunks: Buffer[] = [];
            res.on('data', (c: Buffer) => chunks.push(c));
            res.on('end', () => {
              const text = Buffer.concat(chunks).toString('utf8');
              resolve({ status: res.statusCode ?? 0, body: text ? JSON.parse(text) : null });
            });
          },
        );
        req.on('error', reject);
        req.end(payload);
      });

    const provision = async (credential: string, serials: string[]) => {
      const res = await t.call('POST', '/v1/orgs/acme/provisioning', {
        body: { productId, serials, credential },
      });
      assert.equal(res.status, 201, res.raw);
      return res.body.devices as {
        deviceId: string;
        secret?: string;
        factorySecret?: string;
        certificate?: string;
        privateKey?: string;
      }[];
    };

    before(async () => {
      t = await testApp(dialect, { https: true });
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
      productId = product.body.id;
      await t.app.http.listen({ host: '127.0.0.1', port: 0 });
      await t.app.gateway.start({});
      t.app.gateway.attachWebSocket(t.app.http.server);
      base = `https://127.0.0.1:${(t.app.http.server.address() as AddressInfo).port}`;
      ca = readFileSync(join(t.database.dataDir, 'tls', 'ca.crt'), 'utf8');
    });
    after(async () => {
      for (const c of clients) c.end(true);
      await t.close();
    });

    it('takes telemetry, events, state and commands from a device with its secret, answering in the Reply shape', async () => {
      const [d] = await provision('secret', ['H-1']);
      assert.ok(d?.secret);
      const basic: [string, string] = [d.deviceId, d.secret];

      const stored = await call('POST', '/device/v1/telemetry', {
        basic,
        body: { id: 'm1', readings: [{ time: 1000, values: { power: 3.5, relayOn: true } }] },
      });
      assert.deepEqual(stored, { status: 200, body: { status: 'ok', id: 'm1', data: { stored: 2 } } });
      const series = await t.call(
        'GET',
        `/v1/orgs/acme/devices/${d.deviceId}/telemetry?field=power&from=1970-01-01T00:00:00Z`,
      );
      assert.deepEqual(series.body.points, [{ time: '1970-01-01T00:00:01.000Z', value: 3.5 }]);

      const events = await call('POST', '/device/v1/events', {
        basic,
        body: {
          events: [
            { name: 'buttonPressed', time: 2000 },
            { name: 'overheated', data: { celsius: 92 } },
          ],
        },
      });
      assert.equal(events.status, 200);
      assert.equal(events.body.data.stored, 2);
      const listed = await t.call('GET', `/v1/orgs/acme/devices/${d.deviceId}/events?severity=critical`);
      assert.equal(listed.body.items.length, 1);
      assert.equal(listed.body.items[0].name, 'overheated');
      assert.deepEqual(listed.body.items[0].data, { celsius: 92 });

      // Invalid payloads: the Reply error shape, nothing stored.
      for (const [path, body, code] of [
        ['/device/v1/telemetry', { id: 'm2', readings: [{ values: { nope: 1 } }] }, 'unknown-field'],
        ['/device/v1/telemetry', { readings: [] }, 'invalid-payload'],
        ['/device/v1/events', { events: [{ name: 'selfDestruct' }] }, 'unknown-event'],
        [
          '/device/v1/events',
          { events: [{ name: 'overheated', data: { celsius: 'hot' } }] },
          'invalid-value',
        ],
        ['/device/v1/events', { events: [{ name: 'buttonPressed', data: 1 }] }, 'invalid-value'],
        ['/device/v1/state/reported', { state: { firmware: 7 } }, 'invalid-state'],
        ['/device/v1/commands/result', { id: 'cmd_x', status: 'ok' }, 'unknown-command'],
      ] as const) {
        const refused = await call('POST', path, { basic, body });
        assert.equal(refused.status, 400, `${path}: ${JSON.stringify(refused.body)}`);
        assert.equal(refused.body.status, 'error');
        assert.equal(refused.body.error.code, code, JSON.stringify(refused.body));
      }
      const huge = await call('POST', '/device/v1/telemetry', {
        basic,
        raw: JSON.stringify({ readings: [{ values: { power: 1, note: 'x'.repeat(300 * 1024) } }] }),
      });
      assert.equal(huge.status, 413);
      assert.equal(huge.body.error.code, 'payload-too-large');
      const malformed = await call('POST', '/device/v1/telemetry', { basic, raw: '{"readings": [' });
      assert.equal(malformed.status, 400);
      assert.equal(malformed.body.status, 'error');
      assert.equal((await t.call('GET', `/v1/orgs/acme/devices/${d.deviceId}/events`)).body.items.length, 2);

      // State: desired set by the API shows as delta; the report converges it.
      await t.call('PATCH', `/v1/orgs/acme/devices/${d.deviceId}/state`, {
        body: { version: 0, desired: { on: true } },
      });
      const state = await call('GET', '/device/v1/state', { basic });
      assert.deepEqual(state.body.data.delta, { on: true });
      const reported = await call('POST', '/device/v1/state/reported', {
        basic,
        body: { state: { on: true } },
      });
      assert.deepEqual(reported.body.data.delta, {});

      // Commands: a long poll returns as soon as a command is queued.
      const polling = call('GET', '/device/v1/commands?wait=10', { basic });
      await new Promise((r) => setTimeout(r, 100));
      const sent = await t.call('POST', `/v1/orgs/acme/devices/${d.deviceId}/commands`, {
        body: { name: 'blink', params: { times: 2 } },
      });
      const polled = await polling;
      assert.equal(polled.body.data.commands.length, 1);
      assert.equal(polled.body.data.commands[0].id, sent.body.id);
      const result = await call('POST', '/device/v1/commands/result', {
        basic,
        body: { id: sent.body.id, status: 'ok', data: { blinked: 2 } },
      });
      assert.equal(result.body.data.status, 'succeeded');
      const command = await t.call('GET', `/v1/orgs/acme/devices/${d.deviceId}/commands/${sent.body.id}`);
      assert.equal(command.body.status, 'succeeded');
      const empty = await call('GET', '/device/v1/commands?wait=0', { basic });
      assert.deepEqual(empty.body.data.commands, []);
      const device = await t.call('GET', `/v1/orgs/acme/devices/${d.deviceId}`);
      assert.ok(device.body.lastSeenAt, 'HTTP requests count as seen');
    });

    it('refuses missing and wrong credentials with 401, then limits the address with 429', async () => {
      const [d] = await provision('secret', ['H-2']);
      assert.ok(d?.secret);
      assert.equal((await call('GET', '/device/v1/state')).status, 401);
      const wrong = await call('GET', '/device/v1/state', { basic: [d.deviceId, `bds_${'A'.repeat(43)}`] });
      assert.equal(wrong.status, 401);
      assert.equal(wrong.body.error.code, 'unauthenticated');
      // An admin token is not a device credential.
      const admin = await new Promise<number>((resolve) => {
        const req = request(
          `${base}/device/v1/state`,
          { ca, headers: { authorization: `Bearer ${t.rootToken}` } },
          (res) => {
            res.resume();
            resolve(res.statusCode ?? 0);
          },
        );
        req.end();
      });
      assert.equal(admin, 401);
      let limited = 0;
      for (let i = 0; i < 30; i++)
        if ((await call('GET', '/device/v1/state', { basic: [d.deviceId, 'x'] })).status === 429) limited++;
      assert.ok(limited > 0, 'failures from one address are rate-limited');
      // A limited address's credentials are not even checked: the right secret gets 429 too.
      const right = await call('GET', '/device/v1/state', { basic: [d.deviceId, d.secret] });
      assert.equal(right.status, 429, 'a guesser that hits the right secret while limited learns nothing');
      t.clock.advance(60_000);
      assert.equal((await call('GET', '/device/v1/state', { basic: [d.deviceId, d.secret] })).status, 200);
    });

    it('lets a device claim its operational credential once with its factory secret', async () => {
      t.clock.advance(60_000);
      const [d, e] = await provision('factory', ['F-1', 'F-2']);
      assert.ok(d?.factorySecret && e?.factorySecret);
      assert.match(d.factorySecret, /^bdf_/);
      assert.equal(d.secret, undefined);
      // A factory secret does nothing but claim.
      assert.equal(
        (await call('GET', '/device/v1/state', { basic: [d.deviceId, d.factorySecret] })).status,
        401,
      );

      const claimed = await claim({ apiUrl: base, deviceId: d.deviceId, factorySecret: d.factorySecret, ca });
      assert.match(claimed.secret ?? '', /^bds_/);
      assert.equal(
        (await call('GET', '/device/v1/state', { basic: [d.deviceId, claimed.secret as string] })).status,
        200,
      );
      await assert.rejects(
        claim({ apiUrl: base, deviceId: d.deviceId, factorySecret: d.factorySecret, ca }),
        /claim refused: unauthenticated/,
      );
      const record = await t.call('GET', `/v1/orgs/acme/devices/${d.deviceId}`);
      assert.equal(record.body.claimState, 'claimed');

      // Claiming a certificate with the device's own CSR: the key stays on the device.
      const keys = (await webcrypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, [
        'sign',
        'verify',
      ])) as CryptoKeyPair;
      const csr = await x509.Pkcs10CertificateRequestGenerator.create({
        name: 'CN=device',
        keys,
        signingAlgorithm: { name: 'ECDSA', hash: 'SHA-256' },
      });
      const withCert = await claim({
        apiUrl: base,
        deviceId: e.deviceId,
        factorySecret: e.factorySecret,
        ca,
        kind: 'certificate',
        csr: csr.toString('pem'),
      });
      assert.equal(withCert.privateKey, undefined);
      assert.equal(new x509.X509Certificate(withCert.certificate as string).subject, `CN=${e.deviceId}`);
      const audit = await t.call('GET', '/v1/orgs/acme/audit?limit=200');
      assert.ok(
        audit.body.items.some(
          (a: { action: string; actor: string }) =>
            a.action === 'device.claim' && a.actor === `device:${e.deviceId}`,
        ),
      );
    });

    it('authenticates a device by its client certificate on the HTTPS API (mutual TLS)', async () => {
      const [d] = await provision('certificate', ['X-1']);
      assert.ok(d?.certificate && d.privateKey);
      const state = await call('GET', '/device/v1/state', { cert: d.certificate, key: d.privateKey });
      assert.equal(state.status, 200, JSON.stringify(state.body));
      // Rotation by the device itself: the old certificate stops working.
      const rotated = await call('POST', '/device/v1/credentials', {
        cert: d.certificate,
        key: d.privateKey,
        body: { kind: 'secret' },
      });
      assert.match(rotated.body.data.secret, /^bds_/);
      assert.equal(
        (await call('GET', '/device/v1/state', { cert: d.certificate, key: d.privateKey })).status,
        401,
      );
    });

    it('speaks MQTT over secure WebSocket at /mqtt with secrets and certificates', async () => {
      const [s, c] = [...(await provision('secret', ['W-1'])), ...(await provision('certificate', ['W-2']))];
      assert.ok(s?.secret && c?.certificate && c.privateKey);
      const url = `${base.replace('https', 'wss')}/mqtt`;
      const connect = async (opts: mqtt.IClientOptions) => {
        t.clock.advance(10_000);
        return connectMqtt(url, { ca, ...opts }, clients);
      };
      const bySecret = await connect({ clientId: s.deviceId, username: s.deviceId, password: s.secret });
      await bySecret.publishAsync(
        `brickless/v1/${s.deviceId}/telemetry`,
        '{"readings":[{"time":7000,"values":{"power":1}}]}',
        { qos: 1 },
      );
      const byCert = await connect({ clientId: c.deviceId, cert: c.certificate, key: c.privateKey });
      await byCert.publishAsync(
        `brickless/v1/${c.deviceId}/events`,
        '{"events":[{"name":"buttonPressed"}]}',
        { qos: 1 },
      );
      const points = await t.call(
        'GET',
        `/v1/orgs/acme/devices/${s.deviceId}/telemetry?field=power&from=1970-01-01T00:00:00Z`,
      );
      assert.deepEqual(points.body.points, [{ time: '1970-01-01T00:00:07.000Z', value: 1 }]);
      const events = await t.call('GET', `/v1/orgs/acme/devices/${c.deviceId}/events`);
      assert.equal(events.body.items[0].name, 'buttonPressed');
      await assert.rejects(
        connect({ clientId: s.deviceId, username: s.deviceId, password: 'bds_wrong' }),
        /Not authorized/,
      );
      // Another path on the HTTPS port is not a broker.
      const other = mqtt.connect(`${base.replace('https', 'wss')}/nope`, {
        ca,
        reconnectPeriod: 0,
        connectTimeout: 2000,
      });
      clients.push(other);
      await once(other as unknown as EventEmitter, 'close');
      assert.equal(other.connected, false);
    });
  });
}
