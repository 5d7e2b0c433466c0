import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { BricklessDevice, CommandError, type DeviceOptions } from '@brickless/device';
import type { CapabilityModel } from '@brickless/protocol';
import { Aedes } from 'aedes';
import { strFromU8, unzipSync } from 'fflate';
import { ManualClock } from '../clock.js';
import { endpointRecordBody, signEndpointRecord } from '../continuity/endpoints.js';
import { testDialects } from '../store/test-helper.js';
import { plugCapabilities, type TestApp, testApp } from '../test-support/app.js';
import { startTlsGateway } from '../test-support/mqtt.js';
import { type OwnerBrowser, ownerClient } from '../test-support/owners.js';
import { startSmtpServer, type TestSmtpServer } from '../test-support/smtp.js';
import { initRepository, makerKeys } from '../test-support/updates.js';
import { generateSigningKey } from '../updates/keys.js';

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
  describe(`owners: local mode by the owner's choice and factory reset on transfer, with the SDK (${dialect})`, () => {
    let t: TestApp;
    let smtp: TestSmtpServer;
    let lan: Awaited<ReturnType<typeof ownerBroker>>;
    let gateway: { port: number; ca: string };
    let orgId: string;
    let productId: string;
    let root: string;
    let work: string;
    let ana: OwnerBrowser;
    const keys = makerKeys();
    const devices: BricklessDevice[] = [];
    const batch: { deviceId: string; secret: string; claimCode: string }[] = [];
    const { call, signIn } = ownerClient(
      () => t,
      () => smtp,
    );

    const device = (i: number, extra: Partial<DeviceOptions> = {}) => {
      const c = batch[i] as { deviceId: string; secret: string };
      const d = new BricklessDevice({
        url: `mqtts://127.0.0.1:${gateway.port}`,
        deviceId: c.deviceId,
        secret: c.secret,
        ca: gateway.ca,
        settingsFile: join(work, c.deviceId, 'settings.json'),
        backoff: { initialMs: 50, maxMs: 500 },
        continuity: { trustedRoot: root, productId, moveSpreadMs: 0 },
        local: {
          url: `mqtt://127.0.0.1:${lan.port}`,
          username: 'owner',
          password: 'lan-secret-42',
          capabilities: plugCapabilities as unknown as CapabilityModel,
          info: { name: 'Plug', manufacturer: 'Acme', model: 'PLUG-1' },
        },
        ...extra,
      });
      devices.push(d);
      return d;
    };
    const claim = async (i: number) => {
      const claimed = await call('POST', '/v1/owner/claims', {
        owner: ana,
        body: { code: (batch[i] as { claimCode: string }).claimCode },
      });
      assert.equal(claimed.status, 201, claimed.raw);
    };
    const dev = (i: number) => (batch[i] as { deviceId: string }).deviceId;

    before(async () => {
      work = mkdtempSync(join(tmpdir(), 'brickless-owner-local-'));
      smtp = await startSmtpServer();
      lan = await ownerBroker();
      t = await testApp(dialect, {
        clock: new ManualClock(new Date().toISOString()),
        publicUrl: 'https://owners.test',
        mail: { smtpUrl: smtp.url, from: 'brickless@acme.test' },
      });
      orgId = (await t.org('acme')).id;
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
      const made = await t.call('POST', '/v1/orgs/acme/provisioning', {
        body: { productId, serials: ['L1', 'L2', 'L3', 'L4', 'L5'], credential: 'secret' },
      });
      assert.equal(made.status, 201, made.raw);
      batch.push(...made.body.devices);
      ana = await signIn('ana@home.test');
      gateway = await startTlsGateway(t);
    });
    after(async () => {
      for (const d of devices) await d.close();
      await t.close();
      await lan.close();
      await smtp.close();
      rmSync(work, { recursive: true, force: true });
    });

    it('refuses local mode while the maker has no signed update repository (the device could not check it)', async () => {
      await claim(0);
      const refused = await call('POST', `/v1/owner/devices/${dev(0)}/local-mode`, { owner: ana });
      assert.equal(refused.status, 409, refused.raw);
      assert.match(refused.body.detail, /signed update repository/);
      root = JSON.stringify(await initRepository(t, 'acme', keys));
    });

    it('transfer: the device gets the reserved factory-reset command, the firmware wipes, the SDK forgets', async () => {
      const d = device(0);
      const wiped: string[] = [];
      d.onFactoryReset(() => {
        wiped.push('wifi, schedules');
      });
      assert.throws(() => d.onCommand('factory-reset', () => null), /reserved/);
      await d.connect();
      await until(() => d.connected);
      const transfer = await call('POST', `/v1/owner/devices/${dev(0)}/transfer`, { owner: ana });
      assert.equal(transfer.status, 201, transfer.raw);
      await until(async () => {
        const c = await t.call('GET', `/v1/orgs/acme/devices/${dev(0)}/commands/${transfer.body.commandId}`);
        return c.body.status === 'succeeded';
      });
      assert.deepEqual(wiped, ['wifi, schedules']);
      assert.equal(d.settings?.stateVersion, undefined);
      // Firmware without a handler answers `unsupported`, and the maker sees it.
      await claim(1);
      const bare = device(1);
      await bare.connect();
      await until(() => bare.connected);
      const second = await call('POST', `/v1/owner/devices/${dev(1)}/transfer`, { owner: ana });
      await until(async () => {
        const c = await t.call('GET', `/v1/orgs/acme/devices/${dev(1)}/commands/${second.body.commandId}`);
        return c.body.status === 'failed';
      });
      const failed = await t.call('GET', `/v1/orgs/acme/devices/${dev(1)}/commands/${second.body.commandId}`);
      assert.equal(failed.body.result.error.code, 'unsupported');
      await assert.rejects(bare.factoryReset(), (e: unknown) => e instanceof CommandError);
    });

    it('local mode by the owner: a record signed by the server for this one device; the device goes local for good', async () => {
      await claim(2);
      const d = device(2);
      await d.connect();
      await until(() => d.connected);
      const asked = await call('POST', `/v1/owner/devices/${dev(2)}/local-mode`, { owner: ana });
      assert.equal(asked.status, 201, asked.raw);
      assert.deepEqual(asked.body.record.signed.devices, [dev(2)]);
      assert.equal(asked.body.record.signed.mode, 'local');
      assert.ok(asked.body.instructions.needs.some((n: string) => n.startsWith('url:')));
      await until(() => d.isLocalOnly && !d.connected && d.localConnected);
      assert.equal(d.settings?.localBy, 'owner');
      await until(async () => {
        const mode = await call('GET', `/v1/owner/devices/${dev(2)}/local-mode`, { owner: ana });
        return mode.body.status === 'local';
      });
      // Asking again answers the same request.
      const again = await call('POST', `/v1/owner/devices/${dev(2)}/local-mode`, { owner: ana });
      assert.equal(again.status, 200);
      assert.equal(again.body.version, asked.body.version);
      // The maker: the device shows local, commands are refused, transfer too (it cannot hear it).
      const seen = await t.app.services.store.db
        .selectFrom('devices')
        .select(['endpoint_status', 'endpoint_version'])
        .where('id', '=', dev(2))
        .executeTakeFirstOrThrow();
      assert.deepEqual([seen.endpoint_status, Number(seen.endpoint_version)], ['local', asked.body.version]);
      const makers = await t.call('GET', `/v1/orgs/acme/devices/${dev(2)}`);
      assert.equal(makers.body.ownership.localMode.status, 'local', makers.raw);
      const command = await t.call('POST', `/v1/orgs/acme/devices/${dev(2)}/commands`, {
        body: { name: 'reboot' },
      });
      assert.equal(command.status, 409);
      assert.equal(command.body.code, 'device-moved');
      assert.equal((await call('POST', `/v1/owner/devices/${dev(2)}/transfer`, { owner: ana })).status, 409);
      // The way back is on the device: a factory reset ends the owner's local mode.
      d.onFactoryReset(() => {});
      await d.factoryReset();
      assert.equal(d.settings?.mode, 'cloud');
      await d.close();
      const back = device(2);
      await back.connect();
      await until(() => back.connected);
      assert.equal(back.isLocalOnly, false);
    });

    it('a device that was off gets the record when it connects; another device and other signers are refused', async () => {
      await claim(3);
      // Two requests at once (two taps in the app): one record, one 201 and one 200.
      const both = await Promise.all([
        call('POST', `/v1/owner/devices/${dev(3)}/local-mode`, { owner: ana }),
        call('POST', `/v1/owner/devices/${dev(3)}/local-mode`, { owner: ana }),
      ]);
      assert.deepEqual(both.map((r) => r.status).sort(), [200, 201], both.map((r) => r.raw).join('\n'));
      const asked = both.find((r) => r.status === 201) as (typeof both)[number];
      assert.equal(both[0]?.body.version, both[1]?.body.version);
      // The record for device 3, replayed to device 0: not for it.
      const other = devices[0] as BricklessDevice;
      const refusals: string[] = [];
      other.on('endpointRefused', (reason) => refusals.push(reason));
      assert.equal(await other.applyEndpointRecord(asked.body.record), false);
      assert.deepEqual(refusals, ['not-this-device']);
      // The server's online key cannot sunset a product, nor can a stranger's key switch a device.
      const timestamp = await t.app.services.updateRepository.onlineTimestampKey(orgId);
      assert.ok(timestamp);
      const body = { org: orgId, version: 99, issued: new Date().toISOString(), mode: 'local' as const };
      const productWide = signEndpointRecord(endpointRecordBody({ ...body, products: [productId] }), [
        timestamp,
      ]);
      assert.equal(await other.applyEndpointRecord(productWide), false);
      const stranger = signEndpointRecord(endpointRecordBody({ ...body, devices: [dev(0)] }), [
        generateSigningKey('stranger'),
      ]);
      assert.equal(await other.applyEndpointRecord(stranger), false);
      assert.deepEqual(refusals, ['not-this-device', 'signature-invalid', 'signature-invalid']);
      assert.equal(other.isLocalOnly, false);
      // Device 3 was off; it connects and goes local.
      const d = device(3);
      await d.connect();
      await until(() => d.isLocalOnly && d.localConnected);
      const audit = await t.app.services.store.db
        .selectFrom('audit_entries')
        .select(['actor', 'details'])
        .where('action', '=', 'device.local-mode')
        .execute();
      assert.equal(audit.length, 2);
      assert.ok(audit.every((a) => a.actor === `owner:${ana.id}`));
    });

    it('one owner from claim to notices, data export and local mode (the walk of issue 18)', async () => {
      // 1. The label's code claims the device; the owner has been told the product's support
      //    period (once per product: an earlier device of the same product already told it), by
      //    e-mail too.
      await claim(4);
      await t.app.services.notifier.run();
      const notices = await call('GET', '/v1/owner/notices', { owner: ana });
      assert.equal(notices.status, 200, notices.raw);
      const told = (notices.body.items as { kind: string; productId: string; email: string }[]).find(
        (n) => n.kind === 'support-period' && n.productId === productId,
      );
      assert.ok(told, notices.raw);
      await until(async () => {
        const again = await call('GET', '/v1/owner/notices', { owner: ana });
        return again.body.items.some(
          (n: { kind: string; email: string }) => n.kind === 'support-period' && n.email === 'sent',
        );
      });
      assert.ok(smtp.received.some((m) => m.to.includes('ana@home.test') && /Smart Plug/.test(m.raw)));
      // 2. The device works in the cloud: a reading is stored.
      const d = device(4);
      await d.connect();
      await until(() => d.connected);
      await d.sendTelemetry({ power: 42.5 });
      await d.flush();
      await t.app.services.telemetry.drain();
      // 3. The owner exports their data: the device and its reading are in the archive.
      const exported = await t.app.http.inject({
        method: 'GET',
        url: '/v1/owner/export',
        headers: { cookie: ana.cookie },
      });
      assert.equal(exported.statusCode, 200, exported.body);
      const files = unzipSync(new Uint8Array(exported.rawPayload));
      const read = (name: string) => {
        const f = files[name];
        assert.ok(f, `${name} is in the export (${Object.keys(files).join(', ')})`);
        return strFromU8(f);
      };
      assert.ok(JSON.parse(read('devices.json')).some((x: { id: string }) => x.id === dev(4)));
      assert.ok(
        JSON.parse(read(`devices/${dev(4)}/telemetry.json`)).some(
          (r: { field: string; value: number }) => r.field === 'power' && r.value === 42.5,
        ),
      );
      // 4. The owner switches the device to local mode: it leaves the cloud and serves the LAN.
      const asked = await call('POST', `/v1/owner/devices/${dev(4)}/local-mode`, { owner: ana });
      assert.equal(asked.status, 201, asked.raw);
      await until(() => d.isLocalOnly && !d.connected && d.localConnected);
      const mine = await call('GET', `/v1/owner/devices/${dev(4)}/local-mode`, { owner: ana });
      assert.ok(['requested', 'local'].includes(mine.body.status), mine.raw);
    });
  });
}
