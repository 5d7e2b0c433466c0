import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { BricklessDevice } from '@brickless/device';
import type { CapabilityModel } from '@brickless/protocol';
import { Aedes } from 'aedes';
import mqtt from 'mqtt';
import { type App, createApp } from '../app.js';
import { ManualClock } from '../clock.js';
import { SecretBox } from '../secrets/master-key.js';
import { testDialects } from '../store/test-helper.js';
import { plugCapabilities, type TestApp, testApp } from '../test-support/app.js';
import { startTlsGateway } from '../test-support/mqtt.js';
import { initRepository, makerKeys } from '../test-support/updates.js';
import { ensureTls } from '../tls/certs.js';
import { endpointRecordBody, signEndpointRecord } from './endpoints.js';

const run = promisify(execFile);
const until = async (check: () => boolean | Promise<boolean>, ms = 10_000) => {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 50));
  }
};

/** The owner's LAN broker (what Home Assistant's Mosquitto add-on is): owner credentials only. */
async function ownerBroker(): Promise<{ port: number; close(): Promise<void> }> {
  const broker = await Aedes.createBroker({
    authenticate: (_client, username, password, done) =>
      done(null, username === 'owner' && password?.toString() === 'lan-secret-42'),
  });
  const server: Server = createServer(broker.handle);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as { port: number }).port,
    close: async () => {
      await new Promise<void>((resolve) => broker.close(() => resolve()));
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

for (const dialect of testDialects) {
  describe(`continuity: handover and sunset records, SDK, local mode, Home Assistant (${dialect})`, () => {
    let t: TestApp;
    let second: App;
    let gatewayA: { port: number; ca: string };
    let gatewayB: { port: number; ca: string };
    let org: { id: string; slug: string };
    let productId: string;
    let root: string;
    let work: string;
    let owner: Awaited<ReturnType<typeof ownerBroker>>;
    const keys = makerKeys();
    const devices: BricklessDevice[] = [];
    let credentials: { deviceId: string; secret: string }[];

    const record = (
      fields: Partial<Parameters<typeof endpointRecordBody>[0]>,
      signers = [keys.root[0], keys.escrow],
    ) =>
      signEndpointRecord(
        endpointRecordBody({
          org: org.id,
          version: 1,
          issued: new Date().toISOString(),
          mode: 'cloud',
          mqtt: `mqtts://127.0.0.1:${gatewayB.port}`,
          http: 'https://127.0.0.1:1',
          ca: gatewayB.ca,
          ...fields,
        }),
        signers as never,
      );
    const device = (index: number, extra: Partial<ConstructorParameters<typeof BricklessDevice>[0]> = {}) => {
      const c = credentials[index] as { deviceId: string; secret: string };
      const d = new BricklessDevice({
        url: `mqtts://127.0.0.1:${gatewayA.port}`,
        deviceId: c.deviceId,
        secret: c.secret,
        ca: gatewayA.ca,
        settingsFile: join(work, c.deviceId, 'settings.json'),
        backoff: { initialMs: 50, maxMs: 500 },
        continuity: { trustedRoot: root, productId, moveSpreadMs: 0 },
        ...extra,
      });
      devices.push(d);
      return d;
    };

    before(async () => {
      work = mkdtempSync(join(tmpdir(), 'brickless-continuity-'));
      // Devices stamp readings with the real time; the server's clock starts there too.
      t = await testApp(dialect, { clock: new ManualClock(new Date().toISOString()) });
      org = await t.org('acme');
      const product = await t.call('POST', '/v1/orgs/acme/products', {
        body: {
          modelNumber: 'PLUG-1',
          name: 'Smart Plug',
          hardwareRevision: 'A',
          supportEnds: '2031-12-31',
          capabilities: plugCapabilities as unknown as CapabilityModel,
        },
      });
      productId = product.body.id;
      root = JSON.stringify(await initRepository(t, 'acme', keys));
      const provisioned = await t.call('POST', '/v1/orgs/acme/provisioning', {
        body: { productId, serials: ['A1', 'A2', 'A3', 'A4'], credential: 'secret' },
      });
      credentials = provisioned.body.devices;
      gatewayA = await startTlsGateway(t);
      // A second node on the same database, with its own TLS: the "successor" endpoint.
      const dataDir = join(work, 'node-b');
      const tls = await ensureTls({ dataDir, hostnames: [] });
      second = await createApp({
        database: t.database.url,
        secrets: SecretBox.random(),
        artifacts: join(dataDir, 'artifacts'),
        clock: t.clock,
        migrate: false,
      });
      const started = await second.gateway.start({
        tls: { key: tls.key, cert: tls.cert, port: 0, host: '127.0.0.1' },
      });
      gatewayB = { port: started.tlsPort as number, ca: readFileSync(tls.caFile as string, 'utf8') };
      owner = await ownerBroker();
    });
    after(async () => {
      await Promise.all(devices.map((d) => d.close()));
      await second.close();
      await t.close();
      await owner.close();
      rmSync(work, { recursive: true, force: true });
    });

    it('refuses malformed, foreign, unsigned and badly signed records, each with its reason', async () => {
      const post = (body: unknown) => t.call('POST', '/v1/orgs/acme/endpoint-records', { body });
      const malformed = await post({ signed: { _type: 'brickless-endpoint' }, signatures: [] });
      assert.equal(malformed.status, 400);
      assert.match(malformed.body.detail, /signed.version/);
      const forged = await post(record({}, [keys.targets[0]]));
      assert.equal(forged.status, 400);
      assert.match(forged.body.detail, /signature-invalid/);
      const tampered = record({});
      tampered.signed.mqtt = 'mqtts://evil.example:8883';
      assert.match((await post(tampered)).body.detail, /signature-invalid/);
      const otherOrg = await post(record({ org: 'org_0000000000000000000000000000' }));
      assert.equal(otherOrg.status, 400);
      const noCa = await post(record({ ca: 'not a certificate' }));
      assert.match(noCa.body.detail, /PEM certificate/);
      const operator = await t.call('POST', '/v1/orgs/acme/tokens', {
        body: { name: 'op', role: 'operator' },
      });
      assert.equal(
        (
          await t.call('POST', '/v1/orgs/acme/endpoint-records', {
            body: record({}),
            token: operator.body.token,
          })
        ).status,
        403,
      );
    });

    it('moves connected devices and a device that connects later, and shows the progress', async () => {
      const first = device(0);
      const second = device(1);
      await first.connect();
      await second.connect();
      const moved: string[] = [];
      first.on('endpoint', () => moved.push('first'));
      const published = await t.call('POST', '/v1/orgs/acme/endpoint-records', { body: record({}) });
      assert.equal(published.status, 201, published.raw);
      await until(
        () => first.settings?.endpointStatus === 'arrived' && second.settings?.endpointStatus === 'arrived',
      );
      assert.equal(first.settings?.url, `mqtts://127.0.0.1:${gatewayB.port}`);
      assert.deepEqual(moved, ['first']);
      // A device that was off gets the record when it next connects to the old endpoint.
      const late = device(2);
      await late.connect();
      await until(() => late.settings?.endpointStatus === 'arrived');
      const status = await t.call('GET', '/v1/orgs/acme/handover');
      assert.equal(status.body.current.version, 1);
      assert.equal(status.body.devices.arrived, 3);
      assert.equal(status.body.devices.total, 4);
      assert.equal(status.body.devices.pending, 1);
      assert.equal(status.body.share, 0.75);
      // The same record, for devices that cannot reach any old server: public, signed, no credentials.
      const wellKnown = await t.call('GET', '/.well-known/brickless/endpoint.json', { token: null });
      assert.equal(wellKnown.status, 200);
      assert.deepEqual(wellKnown.body, published.body.record);
      assert.equal(
        (await t.call('GET', '/public/orgs/acme/endpoint.json', { token: null })).body.signed.version,
        1,
      );
      // Publishing the same version again is refused.
      assert.equal(
        (await t.call('POST', '/v1/orgs/acme/endpoint-records', { body: record({}) })).status,
        409,
      );
    });

    it('the SDK refuses forged, tampered and older records and stays where it is', async () => {
      const d = devices[0] as BricklessDevice;
      const reasons: string[] = [];
      d.on('endpointRefused', (reason) => reasons.push(reason));
      assert.equal(await d.applyEndpointRecord(record({ version: 5 }, [keys.targets[0]])), false);
      const tampered = record({ version: 6 });
      (tampered.signed as { mqtt: string }).mqtt = 'mqtts://attacker.example:8883';
      assert.equal(await d.applyEndpointRecord(tampered), false);
      assert.equal(await d.applyEndpointRecord({ signed: 'junk' }), false);
      assert.equal(await d.applyEndpointRecord(record({ version: 1 })), false, 'already applied');
      assert.deepEqual(reasons, ['signature-invalid', 'signature-invalid', 'malformed']);
      const settings = d.settings as { endpointVersion?: number };
      assert.equal(settings.endpointVersion, 1);
      // An older one after a newer one: version-rollback.
      assert.equal(
        await d.applyEndpointRecord(record({ version: 2, mqtt: `mqtts://127.0.0.1:${gatewayB.port}` })),
        true,
      );
      await until(() => d.connected);
      assert.equal(await d.applyEndpointRecord(record({ version: 1 })), false);
      assert.equal(reasons.at(-1), 'version-rollback');
    });

    it('local mode in normal operation: Home Assistant discovery, state, commands and telemetry on the LAN, the cloud still working', async () => {
      const c = credentials[3] as { deviceId: string; secret: string };
      const d = device(3, {
        local: {
          url: `mqtt://127.0.0.1:${owner.port}`,
          username: 'owner',
          password: 'lan-secret-42',
          capabilities: plugCapabilities as unknown as CapabilityModel,
          info: { name: 'Living room plug', manufacturer: 'Acme', model: 'PLUG-1' },
        },
      });
      const deltas: Record<string, unknown>[] = [];
      d.onDelta((state) => {
        deltas.push(state);
      });
      let blinks = 0;
      d.onCommand('reboot', () => {
        blinks++;
        return { ok: true };
      });
      await d.connect();
      await d.startLocal();
      await until(() => d.localConnected);
      // Debian's mosquitto_sub, as Home Assistant would, finds the retained discovery configs.
      const { stdout } = await run(
        'mosquitto_sub',
        [
          '-h',
          '127.0.0.1',
          '-p',
          String(owner.port),
          '-u',
          'owner',
          '-P',
          'lan-secret-42',
          '-t',
          'homeassistant/#',
          '-v',
          '-W',
          '2',
          '--retained-only',
        ],
        { timeout: 10_000 },
      ).catch((e) => e as { stdout: string });
      const configs = stdout
        .trim()
        .split('\n')
        .filter(Boolean)
        .map((line) => line.slice(0, line.indexOf(' ')));
      assert.ok(configs.includes(`homeassistant/sensor/${c.deviceId}/power/config`), stdout);
      assert.ok(configs.includes(`homeassistant/switch/${c.deviceId}/state_on/config`), stdout);
      assert.ok(configs.includes(`homeassistant/button/${c.deviceId}/command_reboot/config`), stdout);
      // Home Assistant's side: switch on, press reboot; the device's own handlers run.
      const ha = mqtt.connect(`mqtt://127.0.0.1:${owner.port}`, {
        username: 'owner',
        password: 'lan-secret-42',
      });
      await new Promise((resolve) => ha.once('connect', resolve));
      const states: string[] = [];
      await ha.subscribeAsync(`brickless/v1/${c.deviceId}/local/state`);
      ha.on('message', (_topic, payload) => states.push(payload.toString()));
      await ha.publishAsync(`brickless/v1/${c.deviceId}/local/set/on`, 'true');
      await ha.publishAsync(`brickless/v1/${c.deviceId}/local/press/reboot`, 'PRESS');
      await until(() => deltas.some((s) => s.on === true) && blinks === 1);
      await d.reportState({ on: true });
      await d.sendTelemetry({ power: 12.5 });
      await until(() => states.some((s) => JSON.parse(s).power === 12.5 && JSON.parse(s).on === true));
      // The cloud got the reading too.
      await until(async () => {
        const rows = await t.app.services.store.db
          .selectFrom('telemetry')
          .select('num_value')
          .where('device_id', '=', c.deviceId)
          .execute();
        return rows.some((r) => r.num_value === 12.5);
      });
      await ha.endAsync();
    });

    it('sunset: the product goes local, the cloud lets go, the notice is published, and local mode survives a restart', async () => {
      const c = credentials[3] as { deviceId: string; secret: string };
      const d = devices.at(-1) as BricklessDevice;
      const sunsetRecord = record({
        version: 3,
        mode: 'local',
        products: [productId],
        mqtt: undefined,
        http: undefined,
        ca: undefined,
      });
      const wrongProduct = await t.call('POST', `/v1/orgs/acme/products/${productId}/sunset`, {
        body: {
          record: record({ version: 3, mode: 'local', mqtt: undefined, http: undefined, ca: undefined }),
          message: 'x',
        },
      });
      assert.equal(wrongProduct.status, 400);
      // Published on the node the device is connected to now (the second one): a node pushes to its own devices.
      const sunsetResponse = await second.http.inject({
        method: 'POST',
        url: `/v1/orgs/acme/products/${productId}/sunset`,
        headers: { authorization: `Bearer ${t.rootToken}`, 'content-type': 'application/json' },
        payload: JSON.stringify({
          record: sunsetRecord,
          message:
            'Acme stops its cloud on 1 March 2027.\r\nYour plug keeps working at home. <script>alert(1)</script>',
        }),
      });
      const sunset = { status: sunsetResponse.statusCode, raw: sunsetResponse.body };
      assert.equal(sunset.status, 201, sunset.raw);
      await until(() => d.isLocalOnly && !d.connected);
      assert.ok(d.localConnected, 'local mode stays on');
      const status = await t.call('GET', '/v1/orgs/acme/handover');
      assert.equal(status.body.current.mode, 'local');
      // The old server does not steer a device that went local.
      const command = await t.call('POST', `/v1/orgs/acme/devices/${c.deviceId}/commands`, {
        body: { name: 'reboot' },
      });
      assert.equal(command.status, 409);
      assert.equal(command.body.code, 'device-moved');
      // The notice, as JSON and as a page that escapes the maker's text.
      const notice = await t.call('GET', `/public/orgs/acme/products/${productId}/end-of-support`, {
        token: null,
      });
      assert.equal(notice.status, 200);
      assert.match(notice.body.message, /keeps working at home/);
      assert.ok(!notice.body.message.includes('\r'));
      const html = await t.app.http.inject({
        url: `/public/orgs/acme/products/${productId}/end-of-support`,
        headers: { accept: 'text/html' },
      });
      assert.match(html.body, /End of support: Smart Plug/);
      assert.ok(!html.body.includes('<script>'));
      assert.match(String(html.headers['content-security-policy']), /default-src 'none'/);
      const docs = await t.app.http.inject({ url: '/public/docs/local-mode.md' });
      assert.equal(docs.statusCode, 200);
      // A restart: the device never calls the cloud again and comes back on the LAN.
      await d.close();
      const again = device(3, {
        local: {
          url: `mqtt://127.0.0.1:${owner.port}`,
          username: 'owner',
          password: 'lan-secret-42',
          capabilities: plugCapabilities as unknown as CapabilityModel,
          info: { name: 'Living room plug' },
        },
      });
      await again.connect();
      assert.ok(again.isLocalOnly && again.localConnected && !again.connected);
      await again.sendTelemetry({ power: 3 });
      assert.equal(again.buffered, 0, 'nothing waits for a cloud that is gone');
    });
  });
}
