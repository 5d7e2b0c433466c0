import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { UpdateOffer } from '@brickless/protocol';
import { createApp } from '../app.js';
import { ManualClock } from '../clock.js';
import { SecretBox } from '../secrets/master-key.js';
import { testDialects } from '../store/test-helper.js';
import { plugCapabilities, type TestApp, testApp } from '../test-support/app.js';
import { createRelease, initRepository, makerKeys, signTargets } from '../test-support/updates.js';

const MINUTE = 60_000;

for (const dialect of testDialects) {
  describe(`rollouts: waves, automatic halt, pause/resume/cancel, window, pace, restart (${dialect})`, () => {
    let t: TestApp;
    let productId: string;
    let brandId: string;
    let featureRelease: string;
    let securityRelease: string;
    // Wednesday 03:00 UTC: inside "Wed 02:00-05:00", outside "Thu 02:00-05:00".
    const clock = new ManualClock('2026-12-02T03:00:00.000Z');
    const offers: { deviceId: string; rolloutId: string }[] = [];

    const provision = async (count: number, extra: Record<string, unknown> = {}) => {
      const serials = Array.from({ length: count }, () => `SN-${Math.random().toString(36).slice(2, 12)}`);
      const res = await t.call('POST', '/v1/orgs/acme/provisioning', {
        body: { productId, serials, credential: 'secret', firmwareVersion: '1.0.0', ...extra },
      });
      assert.equal(res.status, 201, res.raw);
      const devices = res.body.devices as { deviceId: string; secret: string }[];
      await t.app.services.store.db
        .updateTable('devices')
        .set({ online: 1 })
        .where(
          'id',
          'in',
          devices.map((d) => d.deviceId),
        )
        .execute();
      return devices;
    };
    const create = async (body: Record<string, unknown>) => {
      const res = await t.call('POST', '/v1/orgs/acme/rollouts', { body });
      assert.equal(res.status, 201, res.raw);
      assert.equal(offeredTo(res.body.id).length, 0, 'creating enrols; the engine tick offers');
      await t.app.services.rolloutEngine.tick();
      return res.body;
    };
    const get = async (id: string) => (await t.call('GET', `/v1/orgs/acme/rollouts/${id}`)).body;
    const devicesOf = async (id: string, state?: string) =>
      (await t.call('GET', `/v1/orgs/acme/rollouts/${id}/devices?limit=500${state ? `&state=${state}` : ''}`))
        .body.items as { deviceId: string; wave: number; state: string; reason: string | null }[];
    const report = (deviceId: string, rollout: string, step: string, extra: Record<string, unknown> = {}) =>
      t.app.services.rolloutEngine.report(orgId, deviceId, {
        rollout,
        step: step as never,
        ...extra,
      });
    let orgId: string;
    const offeredTo = (rollout: string) =>
      offers.filter((o) => o.rolloutId === rollout).map((o) => o.deviceId);

    before(async () => {
      t = await testApp(dialect, { clock });
      orgId = (await t.org('acme')).id;
      const brand = await t.call('POST', '/v1/orgs/acme/brands', {
        body: { name: 'Acme', responsibleParty: 'Acme GmbH', securityContact: 'mailto:security@acme.test' },
      });
      brandId = brand.body.id;
      const product = await t.call('POST', '/v1/orgs/acme/products', {
        body: {
          modelNumber: 'PLUG-1',
          name: 'Smart plug',
          hardwareRevision: 'rev-b',
          supportEnds: '2031-12-31',
          capabilities: plugCapabilities,
          brandIds: [brandId],
        },
      });
      assert.equal(product.status, 201, product.raw);
      productId = product.body.id;
      const keys = makerKeys();
      await initRepository(t, 'acme', keys);
      featureRelease = await createRelease(t, 'acme', productId, Buffer.from('feature image'), {
        version: '1.1.0',
      });
      securityRelease = await createRelease(t, 'acme', productId, Buffer.from('security image'), {
        version: '1.1.1',
        kind: 'security',
        securityVersion: 2,
      });
      assert.equal((await signTargets(t, 'acme', [keys.targets[0] as never])).published, true);
      t.app.services.bus.subscribe('rollout.offer', ({ rolloutId, deviceIds }) => {
        for (const deviceId of deviceIds) offers.push({ deviceId, rolloutId });
      });
    });
    after(async () => t.close());

    it('fills the waves by rank, offers the first wave, advances after success and soak, halts on failures', async () => {
      const fleet = await provision(20, { tags: ['canary-fleet'] });
      const rollout = await create({
        releaseId: featureRelease,
        selector: { tags: ['canary-fleet'] },
        waves: [10, 50, 100],
        successThreshold: 0.6,
        failureThreshold: 0.2,
        soakSeconds: 600,
      });
      assert.deepEqual(
        rollout.progress.map((w: { devices: number }) => w.devices),
        [2, 8, 10],
      );
      assert.equal(rollout.status, 'running');
      const wave0 = (await devicesOf(rollout.id)).filter((d) => d.wave === 0).map((d) => d.deviceId);
      assert.deepEqual(offeredTo(rollout.id).sort(), [...wave0].sort(), 'only the first wave is offered');
      // The bus names the devices; each node reads the offer itself.
      const offer = (await t.app.services.rolloutEngine.offerOf(rollout.id)) as UpdateOffer;
      assert.equal(offer.version, '1.1.0');
      assert.equal(offer.target, `${productId}/1.1.0/firmware.bin`);

      for (const id of wave0)
        await report(id, rollout.id, 'succeeded', { version: '1.1.0', securityVersion: 1 });
      await t.app.services.rolloutEngine.tick();
      assert.equal((await get(rollout.id)).currentWave, 0, 'a feature wave is watched for soakSeconds');
      clock.advance(601_000);
      await t.app.services.rolloutEngine.tick();
      const advanced = await get(rollout.id);
      assert.equal(advanced.currentWave, 1);
      assert.equal(offeredTo(rollout.id).length, 10);
      const device = await t.call('GET', `/v1/orgs/acme/devices/${wave0[0]}`);
      assert.equal(device.body.firmwareVersion, '1.1.0', 'success records the firmware the device runs');

      // Wave 2 holds 10 devices so far: up to 2 may fail (20 %); the third failure halts.
      const wave1 = (await devicesOf(rollout.id)).filter((d) => d.wave === 1).map((d) => d.deviceId);
      await report(wave1[0] as string, rollout.id, 'failed', { reason: 'hash-mismatch' });
      await report(wave1[1] as string, rollout.id, 'rolled-back', { reason: 'health-check' });
      await t.app.services.rolloutEngine.tick();
      assert.equal((await get(rollout.id)).status, 'running');
      await report(wave1[2] as string, rollout.id, 'failed', { reason: 'install-failed' });
      await t.app.services.rolloutEngine.tick();
      const halted = await get(rollout.id);
      assert.equal(halted.status, 'halted');
      assert.match(halted.statusReason, /3 of 10 devices failed/);
      const failed = await devicesOf(rollout.id, 'rolled-back');
      assert.equal(failed[0]?.reason, 'health-check');

      const before = offers.length;
      clock.advance(10 * MINUTE);
      await t.app.services.rolloutEngine.tick();
      assert.equal(offers.length, before, 'a halted rollout offers nothing, not even again');

      const resumed = await t.call('POST', `/v1/orgs/acme/rollouts/${rollout.id}/resume`);
      assert.equal(resumed.body.status, 'running');
      for (const id of wave1.slice(3)) await report(id, rollout.id, 'succeeded', { version: '1.1.0' });
      await t.app.services.rolloutEngine.tick(); // the wave reached its success share: soak starts
      clock.advance(601_000);
      await t.app.services.rolloutEngine.tick();
      assert.equal(
        (await get(rollout.id)).status,
        'running',
        'the failures before the resume no longer count',
      );
      assert.equal((await get(rollout.id)).currentWave, 2);

      const audit = await t.call('GET', '/v1/orgs/acme/audit?limit=500');
      const actions = audit.body.items.map((e: { action: string }) => e.action);
      for (const action of ['rollout.create', 'rollout.advance', 'rollout.halt', 'rollout.resume'])
        assert.ok(actions.includes(action), action);
      void fleet;
    });

    it('completes when every device finished, and picks up devices that match later', async () => {
      const first = await provision(3, { tags: ['late'] });
      const rollout = await create({
        releaseId: featureRelease,
        selector: { tags: ['late'] },
        waves: [100],
        soakSeconds: 0,
      });
      for (const d of first) await report(d.deviceId, rollout.id, 'succeeded', { version: '1.1.0' });
      const [late] = await provision(1, { tags: ['late'] });
      await t.app.services.rolloutEngine.tick();
      assert.ok(
        offeredTo(rollout.id).includes(late?.deviceId as string),
        'a device provisioned later is offered',
      );
      assert.equal((await get(rollout.id)).status, 'running');
      await report(late?.deviceId as string, rollout.id, 'succeeded', { version: '1.1.0' });
      await t.app.services.rolloutEngine.tick();
      const done = await get(rollout.id);
      assert.equal(done.status, 'completed');
      assert.equal(done.totals.succeeded, 4);
    });

    it('offers nothing to offline devices until they come online, and honours pause and cancel', async () => {
      const devices = await provision(4, { tags: ['sleepy'] });
      await t.app.services.store.db
        .updateTable('devices')
        .set({ online: 0 })
        .where(
          'id',
          'in',
          devices.map((d) => d.deviceId),
        )
        .execute();
      const rollout = await create({
        releaseId: featureRelease,
        selector: { tags: ['sleepy'] },
        waves: [100],
      });
      assert.equal(offeredTo(rollout.id).length, 0);
      await t.app.services.store.db
        .updateTable('devices')
        .set({ online: 1 })
        .where('id', '=', devices[0]?.deviceId as string)
        .execute();
      await t.call('POST', `/v1/orgs/acme/rollouts/${rollout.id}/pause`);
      await t.app.services.rolloutEngine.tick();
      assert.equal(offeredTo(rollout.id).length, 0, 'paused: no offers');
      const wrong = await t.call('POST', `/v1/orgs/acme/rollouts/${rollout.id}/pause`);
      assert.equal(wrong.status, 409);
      await t.call('POST', `/v1/orgs/acme/rollouts/${rollout.id}/resume`);
      await t.app.services.rolloutEngine.tick();
      assert.deepEqual(offeredTo(rollout.id), [devices[0]?.deviceId]);
      const cancelled = await t.call('POST', `/v1/orgs/acme/rollouts/${rollout.id}/cancel`);
      assert.equal(cancelled.body.status, 'cancelled');
      assert.equal((await devicesOf(rollout.id, 'cancelled')).length, 3);
      assert.equal((await t.call('POST', `/v1/orgs/acme/rollouts/${rollout.id}/resume`)).status, 409);
    });

    it('offers only inside the maintenance window and no faster than the pace', async () => {
      await provision(3, { tags: ['night'] });
      const closed = await create({
        releaseId: featureRelease,
        selector: { tags: ['night'] },
        waves: [100],
        window: 'Thu 02:00-05:00 UTC',
      });
      assert.equal(offeredTo(closed.id).length, 0, 'Thursday window, Wednesday now');
      await t.call('POST', `/v1/orgs/acme/rollouts/${closed.id}/cancel`);
      for (const bad of ['Someday 02:00-05:00', 'Wed 25:00-26:00', 'Wed 02:00-05:00 Mars/Olympus', 'Wed']) {
        const res = await t.call('POST', '/v1/orgs/acme/rollouts', {
          body: { releaseId: featureRelease, selector: { tags: ['night'] }, window: bad },
        });
        assert.equal(res.status, 400, bad);
      }

      await provision(5, { tags: ['paced'] });
      const paced = await create({
        releaseId: featureRelease,
        selector: { tags: ['paced'] },
        waves: [100],
        window: 'Mon-Fri 02:00-05:00 Europe/Berlin', // 04:00 in Berlin
        pacePerMinute: 2,
      });
      assert.equal(offeredTo(paced.id).length, 2);
      await t.app.services.rolloutEngine.tick();
      assert.equal(offeredTo(paced.id).length, 2, 'the same minute: no more');
      clock.advance(MINUTE + 1000);
      await t.app.services.rolloutEngine.tick();
      assert.equal(offeredTo(paced.id).length, 4);
    });

    it('security rollouts skip the soak time but keep the automatic halt; one update at a time per device', async () => {
      const devices = await provision(10, { tags: ['sec'], brandId });
      const busy = await create({
        releaseId: featureRelease,
        selector: { deviceIds: [devices[0]?.deviceId] },
        waves: [100],
      });
      const rollout = await create({
        releaseId: securityRelease,
        selector: { tags: ['sec'], brandIds: [brandId] },
        waves: [20, 100],
        successThreshold: 1,
        failureThreshold: 0.1,
        soakSeconds: 3600,
      });
      assert.equal(rollout.kind, 'security');
      assert.equal(rollout.soakSeconds, 0);
      const enrolled = (await devicesOf(rollout.id)).map((d) => d.deviceId);
      assert.equal(enrolled.length, 9, 'the device busy in another rollout waits');
      for (const id of offeredTo(rollout.id))
        await report(id, rollout.id, 'succeeded', { version: '1.1.1', securityVersion: 2 });
      await t.app.services.rolloutEngine.tick();
      assert.equal((await get(rollout.id)).currentWave, 1, 'no soak for a security release');
      const rest = offeredTo(rollout.id).slice(2);
      await report(rest[0] as string, rollout.id, 'failed', { reason: 'truncated' });
      await t.app.services.rolloutEngine.tick();
      assert.equal((await get(rollout.id)).status, 'halted', 'the automatic halt still applies');
      await t.call('POST', `/v1/orgs/acme/rollouts/${busy.id}/cancel`);
    });

    it('takes status over the device HTTP API, refuses malformed status, and answers the current offer', async () => {
      const [device] = await provision(1, { tags: ['http'] });
      const rollout = await create({ releaseId: featureRelease, selector: { tags: ['http'] }, waves: [100] });
      const auth = `Basic ${Buffer.from(`${device?.deviceId}:${device?.secret}`).toString('base64')}`;
      const offer = await t.app.http.inject({
        method: 'GET',
        url: '/device/v1/updates/offer',
        headers: { authorization: auth },
      });
      assert.equal(offer.statusCode, 200);
      assert.equal(JSON.parse(offer.body).data.rollout, rollout.id);
      for (const bad of [
        { step: 'exploded' },
        { step: 'failed', reason: 'Not A Code!' },
        { step: 'failed', reason: 'failed', message: 'a NUL \u0000 in the text' },
        { step: 'failed', reason: 'failed', message: 'x'.repeat(501) },
        { nothing: true },
        [],
      ]) {
        const res = await t.app.http.inject({
          method: 'POST',
          url: '/device/v1/updates/status',
          headers: { authorization: auth, 'content-type': 'application/json' },
          payload: JSON.stringify(bad),
        });
        assert.equal(res.statusCode, 400, JSON.stringify(bad));
      }
      const ok = await t.app.http.inject({
        method: 'POST',
        url: '/device/v1/updates/status',
        headers: { authorization: auth, 'content-type': 'application/json' },
        payload: JSON.stringify({
          rollout: rollout.id,
          release: featureRelease,
          step: 'downloading',
          progress: 0.5,
        }),
      });
      assert.equal(ok.statusCode, 200, ok.body);
      assert.equal((await devicesOf(rollout.id))[0]?.state, 'downloading');
      let history = await t.call('GET', `/v1/orgs/acme/devices/${device?.deviceId}/updates`);
      assert.equal(history.body.items[0].step, 'downloading');
      assert.equal(history.body.items[0].message, null);
      // The failure message (prose: newline kept) is stored with the step and shown in both places.
      const message = 'flash write failed at block 12:\nEIO';
      const failed = await t.app.http.inject({
        method: 'POST',
        url: '/device/v1/updates/status',
        headers: { authorization: auth, 'content-type': 'application/json' },
        payload: JSON.stringify({
          rollout: rollout.id,
          release: featureRelease,
          step: 'failed',
          reason: 'install-failed',
          message,
        }),
      });
      assert.equal(failed.statusCode, 200, failed.body);
      history = await t.call('GET', `/v1/orgs/acme/devices/${device?.deviceId}/updates`);
      assert.deepEqual(
        [history.body.items[0].step, history.body.items[0].reason, history.body.items[0].message],
        ['failed', 'install-failed', message],
      );
      const rows = await t.call('GET', `/v1/orgs/acme/rollouts/${rollout.id}/devices`);
      assert.equal(rows.body.items[0].message, message);
    });

    it('counts offline devices, and completes at its deadline or on request without the devices never offered', async () => {
      const setOffline = (ids: string[]) =>
        t.app.services.store.db.updateTable('devices').set({ online: 0 }).where('id', 'in', ids).execute();
      const fleet = (await provision(4, { tags: ['late'] })).map((d) => d.deviceId);
      await setOffline(fleet.slice(2));
      const deadline = new Date(clock.now().getTime() + 10 * MINUTE).toISOString();
      const rollout = await create({
        releaseId: featureRelease,
        selector: { tags: ['late'] },
        waves: [100],
        deadline,
      });
      assert.equal(rollout.deadline, deadline);
      assert.equal(rollout.offline, 2, 'two devices wait offline');
      assert.deepEqual(offeredTo(rollout.id).sort(), fleet.slice(0, 2).sort());
      for (const id of fleet.slice(0, 2))
        await report(id, rollout.id, 'succeeded', { version: '1.1.0', securityVersion: 1 });
      await t.app.services.rolloutEngine.tick();
      const waiting = await get(rollout.id);
      assert.equal(waiting.status, 'running', 'not done: two devices never came');
      assert.equal(waiting.offline, 2);
      clock.advance(10 * MINUTE + 1000);
      await t.app.services.rolloutEngine.tick();
      const done = await get(rollout.id);
      assert.equal(done.status, 'completed');
      assert.match(done.statusReason, /deadline reached; 2 device/);
      assert.equal(done.offline, 0);
      const left = await devicesOf(rollout.id, 'cancelled');
      assert.deepEqual(left.map((d) => d.deviceId).sort(), fleet.slice(2).sort());
      assert.ok(left.every((d) => d.reason === 'deadline'));

      const others = (await provision(3, { tags: ['never'] })).map((d) => d.deviceId);
      await setOffline(others);
      const open = await create({ releaseId: featureRelease, selector: { tags: ['never'] }, waves: [100] });
      assert.equal(open.offline, 3);
      const completed = await t.call('POST', `/v1/orgs/acme/rollouts/${open.id}/complete`);
      assert.equal(completed.status, 200, completed.raw);
      assert.equal(completed.body.status, 'completed');
      assert.match(completed.body.statusReason, /3 device\(s\) not offered the release were left out/);
      assert.equal((await devicesOf(open.id, 'cancelled')).length, 3);
      const again = await t.call('POST', `/v1/orgs/acme/rollouts/${open.id}/complete`);
      assert.equal(again.status, 409);
      const audit = await t.call('GET', `/v1/orgs/acme/audit?targetId=${open.id}`);
      assert.ok(
        audit.body.items.some(
          (e: { action: string; targetId: string }) =>
            e.action === 'rollout.complete' && e.targetId === open.id,
        ),
      );

      for (const bad of [new Date(clock.now().getTime() - MINUTE).toISOString(), 'next tuesday']) {
        const res = await t.call('POST', '/v1/orgs/acme/rollouts', {
          body: { releaseId: featureRelease, selector: { tags: ['never'] }, deadline: bad },
        });
        assert.equal(res.status, 400, `${bad}: ${res.raw}`);
      }
    });

    it('keeps every rollout across a restart and goes on from there', async () => {
      const running = (await t.call('GET', '/v1/orgs/acme/rollouts?status=running')).body.items;
      assert.ok(running.length > 0);
      const second = await createApp({
        database: t.database.url,
        secrets: SecretBox.random(),
        artifacts: t.database.dataDir,
        clock,
      });
      try {
        for (const rollout of running) {
          const again = await second.services.rollouts.progress(orgId, rollout.id);
          assert.equal(again.status, rollout.status);
          assert.equal(again.currentWave, rollout.currentWave);
        }
        await second.services.rolloutEngine.tick();
      } finally {
        await second.close();
      }
    });
  });
}
