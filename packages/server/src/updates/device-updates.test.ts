import assert from 'node:assert/strict';
import { once } from 'node:events';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, request, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { BricklessDevice, UpdateAgent, type UpdateOptions } from '@brickless/device';
import type { UpdateOffer, UpdateStatus } from '@brickless/protocol';
import { ManualClock } from '../clock.js';
import { testDialects } from '../store/test-helper.js';
import { plugCapabilities, type TestApp, testApp } from '../test-support/app.js';
import { startTlsGateway } from '../test-support/mqtt.js';
import { createRelease, initRepository, makerKeys, signTargets } from '../test-support/updates.js';
import { ensureTls } from '../tls/certs.js';

type Tamper = (path: string, body: Buffer) => Buffer | null;

/**
 * A hostile mirror between device and server (an attacker on the path, or a compromised CDN): it
 * forwards every request and lets a test rewrite what comes back.
 */
async function hostileMirror(target: string, tls: { key: string; cert: string }, ca: string) {
  let tamper: Tamper = () => null;
  const server: Server = createServer({ key: tls.key, cert: tls.cert }, (req, res) => {
    const upstream = request(
      `${target}${req.url}`,
      { method: req.method, headers: { ...req.headers, host: new URL(target).host }, ca },
      (answer) => {
        const chunks: Buffer[] = [];
        answer.on('data', (c: Buffer) => chunks.push(c));
        answer.on('end', () => {
          const original = Buffer.concat(chunks);
          const changed = tamper(req.url ?? '', original);
          const body = changed ?? original;
          const headers = { ...answer.headers, 'content-length': String(body.length) };
          res.writeHead(answer.statusCode ?? 502, headers);
          res.end(body);
        });
      },
    );
    upstream.on('error', () => res.destroy());
    req.pipe(upstream);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    url: `https://127.0.0.1:${(server.address() as AddressInfo).port}`,
    set(next: Tamper) {
      tamper = next;
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

for (const dialect of testDialects) {
  describe(`device updates: the SDK verifies, installs A/B, confirms or rolls back; bad input is refused (${dialect})`, () => {
    let t: TestApp;
    let productId: string;
    let httpUrl: string;
    let mqttUrl: string;
    let ca: string;
    let root1: string;
    let mirror: Awaited<ReturnType<typeof hostileMirror>>;
    let keys: ReturnType<typeof makerKeys>;
    const releases: Record<string, string> = {};
    const clock = new ManualClock(new Date());
    const dirs: string[] = [];
    const devices: BricklessDevice[] = [];
    const image = (seed: number) => Buffer.from(Array.from({ length: 200_000 }, (_, i) => (i * seed) % 256));

    const provision = async (serial: string) => {
      const res = await t.call('POST', '/v1/orgs/acme/provisioning', {
        body: { productId, serials: [serial], credential: 'secret', firmwareVersion: '1.0.0' },
      });
      assert.equal(res.status, 201, res.raw);
      return res.body.devices[0] as { deviceId: string; secret: string };
    };
    const tempDir = () => {
      const dir = mkdtempSync(join(tmpdir(), 'brickless-device-'));
      dirs.push(dir);
      return dir;
    };
    const updateOptions = (extra: Partial<UpdateOptions> = {}): UpdateOptions => ({
      httpUrl,
      dir: tempDir(),
      trustedRoot: root1,
      productId,
      hardware: 'rev-b',
      version: '1.0.0',
      securityVersion: 1,
      ...extra,
    });
    const offerFor = (version: string, rollout = 'rol_manual'): UpdateOffer => ({
      rollout,
      release: releases[version] as string,
      target: `${productId}/${version}/firmware.bin`,
      version,
      kind: 'feature',
      maxDeferralSeconds: 60,
    });
    /** An agent driven directly (no MQTT), through `url`; returns the steps it reported. */
    const runAgent = async (offer: UpdateOffer, url: string, extra: Partial<UpdateOptions> = {}) => {
      const device = await provision(`SN-${Math.random().toString(36).slice(2, 10)}`);
      const reports: UpdateStatus[] = [];
      const options = updateOptions({ ...extra, httpUrl: url });
      let agent: UpdateAgent | null = null;
      agent = new UpdateAgent(
        options,
        { deviceId: device.deviceId, secret: device.secret, ca },
        async (status) => {
          reports.push(status);
        },
        async () => agent?.afterBoot(),
      );
      await agent.handleOffer(offer);
      return { reports, agent, dir: options.dir, device };
    };
    const refused = (reports: UpdateStatus[]) => reports.find((r) => r.step === 'failed');

    before(async () => {
      t = await testApp(dialect, { clock, https: true, artifactStore: 'auto' });
      await t.org('acme');
      const product = await t.call('POST', '/v1/orgs/acme/products', {
        body: {
          modelNumber: 'DOORBELL-1',
          name: 'Doorbell',
          hardwareRevision: 'rev-b',
          supportEnds: '2031-12-31',
          capabilities: plugCapabilities,
        },
      });
      productId = product.body.id;
      keys = makerKeys();
      root1 = JSON.stringify(await initRepository(t, 'acme', keys, 2));
      releases['2.0.0'] = await createRelease(t, 'acme', productId, image(7), {
        version: '2.0.0',
        securityVersion: 2,
      });
      releases['2.1.0'] = await createRelease(t, 'acme', productId, image(11), {
        version: '2.1.0',
        securityVersion: 2,
      });
      releases['2.0.1'] = await createRelease(t, 'acme', productId, image(13), {
        version: '2.0.1',
        securityVersion: 2,
        hardware: ['rev-z'],
      });
      releases['0.5.0'] = await createRelease(t, 'acme', productId, image(17), {
        version: '0.5.0',
        securityVersion: 0,
      });
      assert.equal((await signTargets(t, 'acme', keys.targets)).published, true);

      await t.app.http.listen({ host: '127.0.0.1', port: 0 });
      httpUrl = `https://127.0.0.1:${(t.app.http.server.address() as AddressInfo).port}`;
      const gateway = await startTlsGateway(t);
      mqttUrl = `mqtts://127.0.0.1:${gateway.port}`;
      ca = gateway.ca;
      const tls = await ensureTls({ dataDir: t.database.dataDir, hostnames: [] });
      mirror = await hostileMirror(httpUrl, tls, ca);
    });
    after(async () => {
      for (const device of devices) await device.close();
      await mirror.close();
      await t.close();
      for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
    });

    it('a rollout updates a connected device: verified, installed into slot B, booted, confirmed, reported', async () => {
      const credential = await provision('SN-HAPPY');
      const steps: string[] = [];
      const options = updateOptions();
      const device = new BricklessDevice({
        url: mqttUrl,
        deviceId: credential.deviceId,
        secret: credential.secret,
        ca,
        backoff: { initialMs: 50, maxMs: 200 },
        updates: options,
      });
      devices.push(device);
      device.on('update', (status) => steps.push(status.step));
      await device.connect();
      const done = new Promise<UpdateStatus>((resolve) =>
        device.on('update', (status) => {
          if (status.step === 'succeeded' || status.step === 'failed') resolve(status);
        }),
      );
      const rollout = await t.call('POST', '/v1/orgs/acme/rollouts', {
        body: { releaseId: releases['2.0.0'], selector: { deviceIds: [credential.deviceId] }, waves: [100] },
      });
      await t.app.services.rolloutEngine.tick();
      assert.equal(rollout.status, 201, rollout.raw);
      const final = await done;
      assert.equal(final.step, 'succeeded', JSON.stringify(final));
      assert.deepEqual(steps, [
        'offered',
        'downloading',
        'verifying',
        'installing',
        'rebooting',
        'succeeded',
      ]);
      assert.equal(device.updates?.running.version, '2.0.0');
      assert.equal(device.updates?.state.active, 'b');
      assert.ok(readFileSync(join(options.dir, 'slot-b.img')).equals(image(7)));
      // The report arrives over MQTT; the server records the firmware and completes the rollout.
      await waitFor(
        async () =>
          (await t.call('GET', `/v1/orgs/acme/devices/${credential.deviceId}`)).body.firmwareVersion ===
          '2.0.0',
      );
      await t.app.services.rolloutEngine.tick();
      const after = await t.call('GET', `/v1/orgs/acme/rollouts/${rollout.body.id}`);
      assert.equal(after.body.status, 'completed');
    });

    it('a failed health check rolls the device back by itself; it keeps running its firmware and says why', async () => {
      const credential = await provision('SN-UNHEALTHY');
      const device = new BricklessDevice({
        url: mqttUrl,
        deviceId: credential.deviceId,
        secret: credential.secret,
        ca,
        backoff: { initialMs: 50, maxMs: 200 },
        updates: updateOptions({ healthCheck: async () => false }),
      });
      devices.push(device);
      await device.connect();
      const done = new Promise<UpdateStatus>((resolve) =>
        device.on('update', (status) => {
          if (['succeeded', 'failed', 'rolled-back'].includes(status.step)) resolve(status);
        }),
      );
      const rollout = await t.call('POST', '/v1/orgs/acme/rollouts', {
        body: { releaseId: releases['2.1.0'], selector: { deviceIds: [credential.deviceId] }, waves: [100] },
      });
      await t.app.services.rolloutEngine.tick();
      const final = await done;
      assert.equal(final.step, 'rolled-back');
      assert.equal(final.reason, 'health-check');
      assert.equal(device.updates?.running.version, '1.0.0');
      assert.equal(device.updates?.state.active, 'a');
      await waitFor(async () => {
        const rows = await t.call('GET', `/v1/orgs/acme/rollouts/${rollout.body.id}/devices`);
        return rows.body.items[0]?.state === 'rolled-back';
      });
      // Why it failed, in the device's words, is kept in the rollout and in the device's history.
      const rows = await t.call('GET', `/v1/orgs/acme/rollouts/${rollout.body.id}/devices`);
      assert.equal(rows.body.items[0].message, final.message);
      assert.match(rows.body.items[0].message, /health check of 2\.1\.0 failed; back on 1\.0\.0/);
      const history = await t.call('GET', `/v1/orgs/acme/devices/${credential.deviceId}/updates`);
      assert.equal(history.body.items[0].step, 'rolled-back');
      assert.equal(history.body.items[0].message, final.message);
      const server = await t.call('GET', `/v1/orgs/acme/devices/${credential.deviceId}`);
      assert.equal(server.body.firmwareVersion, '1.0.0');
    });

    it('defers while the device is busy, then installs', async () => {
      let busy = true;
      const { reports, agent } = await runAgent(offerFor('2.0.0'), httpUrl, {
        isBusy: () => busy,
        deferRetryMs: 50,
      });
      assert.deepEqual(
        reports.map((r) => r.step),
        ['offered', 'deferred'],
      );
      busy = false;
      await waitFor(async () => reports.some((r) => r.step === 'succeeded'));
      assert.equal(agent.running.version, '2.0.0');
    });

    it('goes ahead when the maximum deferral is over, even while busy', async () => {
      const { reports } = await runAgent({ ...offerFor('2.0.0'), maxDeferralSeconds: 0 }, httpUrl, {
        isBusy: () => true,
      });
      assert.equal(reports.at(-1)?.step, 'succeeded');
    });

    const refusals: [
      string,
      () => Promise<{ reports: UpdateStatus[]; agent: UpdateAgent; dir: string }>,
      string,
    ][] = [
      ['the wrong hardware', () => runAgent(offerFor('2.0.1'), httpUrl), 'wrong-hardware'],
      [
        'a release below its security version',
        () => runAgent(offerFor('0.5.0'), httpUrl),
        'security-version',
      ],
      [
        'a target the signed metadata does not list',
        () => runAgent({ ...offerFor('2.0.0'), target: `${productId}/9.9.9/firmware.bin` }, httpUrl),
        'unknown-target',
      ],
      [
        'an offer whose version differs from the signed one',
        () => runAgent({ ...offerFor('2.0.0'), version: '2.0.5' }, httpUrl),
        'offer-mismatch',
      ],
      [
        'targets metadata changed after signing',
        async () => {
          mirror.set((path, body) => {
            if (!/\d+\.targets\.json$/.test(path)) return null;
            const json = JSON.parse(body.toString());
            for (const target of Object.values(json.signed.targets) as { length: number }[])
              target.length += 1;
            return Buffer.from(JSON.stringify(json));
          });
          return runAgent(offerFor('2.0.0'), mirror.url);
        },
        'signature-invalid',
      ],
      [
        'targets signed below the threshold (one of two signatures)',
        async () => {
          mirror.set((path, body) => {
            if (!/\d+\.targets\.json$/.test(path)) return null;
            const json = JSON.parse(body.toString());
            json.signatures = json.signatures.slice(0, 1);
            return Buffer.from(JSON.stringify(json));
          });
          return runAgent(offerFor('2.0.0'), mirror.url);
        },
        'signature-invalid',
      ],
      [
        'unsigned timestamp metadata',
        async () => {
          mirror.set((path, body) => {
            if (!path.endsWith('/timestamp.json')) return null;
            const json = JSON.parse(body.toString());
            json.signatures = [];
            return Buffer.from(JSON.stringify(json));
          });
          return runAgent(offerFor('2.0.0'), mirror.url);
        },
        'signature-invalid',
      ],
      [
        'an image with one byte changed',
        async () => {
          mirror.set((path, body) => {
            if (!path.includes('/targets/')) return null;
            const copy = Buffer.from(body);
            copy[1000] = (copy[1000] ?? 0) ^ 0xff;
            return copy;
          });
          return runAgent(offerFor('2.0.0'), mirror.url);
        },
        'hash-mismatch',
      ],
      [
        'a download that keeps breaking off',
        async () => {
          mirror.set((path, body) =>
            path.includes('/targets/') ? body.subarray(0, Math.floor(body.length / 2)) : null,
          );
          return runAgent(offerFor('2.0.0'), mirror.url);
        },
        'truncated',
      ],
      [
        'a download longer than signed',
        async () => {
          mirror.set((path, body) =>
            path.includes('/targets/') ? Buffer.concat([body, Buffer.alloc(4096, 1)]) : null,
          );
          return runAgent(offerFor('2.0.0'), mirror.url);
        },
        'oversized',
      ],
    ];
    for (const [what, run, reason] of refusals) {
      it(`refuses ${what}, keeps running its firmware and reports "${reason}"`, async () => {
        try {
          const { reports, agent, dir } = await run();
          const failure = refused(reports);
          assert.ok(failure, JSON.stringify(reports));
          assert.equal(failure.reason, reason, failure.message);
          assert.equal(failure.version, '1.0.0', 'the report names the firmware still running');
          assert.equal(agent.running.version, '1.0.0');
          assert.equal(agent.state.active, 'a');
          assert.equal(existsSync(join(dir, 'slot-b.img')), false, 'nothing was installed');
        } finally {
          mirror.set(() => null);
        }
      });
    }

    it('refuses metadata replayed from an older version (rollback attack)', async () => {
      const old = (await t.call('GET', '/v1/orgs/acme/updates/metadata/timestamp.json')).raw;
      // A newer timestamp appears; the device sees it first, directly.
      clock.advance(13 * 3_600_000);
      await t.app.services.updateRepository.refreshOnlineMetadata();
      const { agent, dir, device } = await runAgent(offerFor('2.0.1'), httpUrl); // refreshes, then wrong hardware
      void device;
      mirror.set((path) => (path.endsWith('/timestamp.json') ? Buffer.from(old) : null));
      const reports: UpdateStatus[] = [];
      const replayed = new UpdateAgent(
        { ...updateOptions({ httpUrl: mirror.url }), dir },
        { deviceId: device.deviceId, secret: device.secret, ca },
        async (status) => {
          reports.push(status);
        },
        async () => {},
      );
      try {
        await replayed.handleOffer(offerFor('2.0.0'));
        assert.equal(refused(reports)?.reason, 'metadata-rollback', JSON.stringify(reports));
        assert.equal(agent.running.version, '1.0.0');
      } finally {
        mirror.set(() => null);
      }
    });

    it('refuses an expired timestamp', async () => {
      // Metadata signed two days ago whose one-day timestamp nobody re-signed since.
      clock.set(new Date(Date.now() - 2 * 86_400_000));
      assert.equal((await signTargets(t, 'acme', keys.targets)).published, true);
      clock.set(new Date());
      const { reports } = await runAgent(offerFor('2.0.0'), httpUrl);
      assert.equal(refused(reports)?.reason, 'metadata-expired', JSON.stringify(reports));
      await t.app.services.updateRepository.refreshOnlineMetadata();
      const again = await runAgent(offerFor('2.0.0'), httpUrl);
      assert.equal(again.reports.at(-1)?.step, 'succeeded', 'once re-signed, the update goes through');
    });
  });
}

async function waitFor(check: () => Promise<boolean> | boolean, timeoutMs = 10_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > end) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 25));
  }
}
