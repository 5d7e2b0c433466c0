import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { testDialects } from '../store/test-helper.js';
import { plugCapabilities, type TestApp, testApp } from '../test-support/app.js';
import { applyProductRetention } from './retention.js';

const DAY = 86_400_000;

for (const dialect of testDialects) {
  describe(`retention per product (${dialect})`, () => {
    let t: TestApp;
    let org: { id: string; token: string };
    const product: Record<'short' | 'kept', { id: string; device: string }> = {
      short: { id: '', device: '' },
      kept: { id: '', device: '' },
    };

    before(async () => {
      t = await testApp(dialect);
      org = await t.org('acme');
      for (const [key, model] of [
        ['short', 'PLUG-1'],
        ['kept', 'PLUG-2'],
      ] as const) {
        const made = await t.call('POST', '/v1/orgs/acme/products', {
          body: {
            modelNumber: model,
            name: 'Plug',
            hardwareRevision: 'A',
            supportEnds: '2031-12-31',
            capabilities: plugCapabilities,
          },
        });
        assert.equal(made.status, 201, made.raw);
        assert.deepEqual(made.body.retention, { telemetryDays: null, commandDays: null });
        const devices = await t.call('POST', '/v1/orgs/acme/provisioning', {
          body: { productId: made.body.id, serials: [`${model}-1`] },
        });
        assert.equal(devices.status, 201, devices.raw);
        product[key] = { id: made.body.id, device: devices.body.devices[0].deviceId };
      }
    });
    after(async () => {
      await t.close();
    });

    it('lets the maker set retention days on a product, checked', async () => {
      const url = `/v1/orgs/acme/products/${product.short.id}`;
      for (const bad of [
        { telemetryDays: 0 },
        { telemetryDays: 1.5 },
        { commandDays: 'x' },
        { commandDays: 40_000 },
        { other: 1 },
      ]) {
        const refused = await t.call('PATCH', url, { body: { retention: bad } });
        assert.equal(refused.status, 400, `${JSON.stringify(bad)}: ${refused.raw}`);
      }
      const auditor = await t.call('POST', '/v1/orgs/acme/tokens', { body: { name: 'a', role: 'auditor' } });
      const denied = await t.call('PATCH', url, {
        token: auditor.body.token,
        body: { retention: { telemetryDays: 30 } },
      });
      assert.equal(denied.status, 403, denied.raw);
      const set = await t.call('PATCH', url, { body: { retention: { telemetryDays: 30, commandDays: 7 } } });
      assert.equal(set.status, 200, set.raw);
      assert.deepEqual(set.body.retention, { telemetryDays: 30, commandDays: 7 });
      // Naming one period leaves the other; null clears one.
      const one = await t.call('PATCH', url, { body: { retention: { commandDays: null } } });
      assert.deepEqual(one.body.retention, { telemetryDays: 30, commandDays: null });
      const again = await t.call('PATCH', url, { body: { retention: { commandDays: 7 } } });
      assert.deepEqual(again.body.retention, { telemetryDays: 30, commandDays: 7 });
      const audit = await t.call('GET', '/v1/orgs/acme/audit?action=product.update');
      assert.ok(JSON.stringify(audit.body).includes('retention'), audit.raw);
    });

    it('deletes data older than the retention by the clock, and only of that product', async () => {
      const db = t.app.services.store.db;
      const now = t.clock.now().getTime();
      for (const { device } of Object.values(product)) {
        await db
          .insertInto('telemetry')
          .values(
            [40, 29].map((age) => ({
              org_id: org.id,
              device_id: device,
              field: 'power',
              ts: now - age * DAY,
              num_value: age,
              text_value: null,
            })),
          )
          .execute();
        await db
          .insertInto('device_events')
          .values(
            [40, 29].map((age) => ({
              id: `evt_${device}_${age}`,
              org_id: org.id,
              device_id: device,
              name: 'buttonPressed',
              severity: 'info',
              time: new Date(now - age * DAY).toISOString(),
              data: '{}',
              received_at: new Date(now - age * DAY).toISOString(),
            })),
          )
          .execute();
        await db
          .insertInto('commands')
          .values(
            [8, 5].map((age) => ({
              id: `cmd_${device}_${age}`,
              org_id: org.id,
              device_id: device,
              name: 'reboot',
              params: '{}',
              status: 'completed',
              idempotency_key: null,
              created_by: 'test',
              created_at: new Date(now - age * DAY).toISOString(),
              expires_at: new Date(now - age * DAY + 60_000).toISOString(),
              delivered_at: null,
              completed_at: null,
              result: null,
            })),
          )
          .execute();
      }
      const results = await applyProductRetention(t.app.services);
      assert.deepEqual(results, [{ productId: product.short.id, telemetry: 1, events: 1, commands: 1 }]);
      const left = async (table: 'telemetry' | 'device_events' | 'commands', device: string) =>
        (await db.selectFrom(table).select('device_id').where('device_id', '=', device).execute()).length;
      assert.equal(await left('telemetry', product.short.device), 1);
      assert.equal(await left('device_events', product.short.device), 1);
      assert.equal(await left('commands', product.short.device), 1);
      for (const table of ['telemetry', 'device_events', 'commands'] as const)
        assert.equal(
          await left(table, product.kept.device),
          2,
          `${table} of a product without retention stays`,
        );
      // A day later the 29-day reading is past 30 days too; the 5-day command not yet past 7.
      t.clock.advance(1.5 * DAY);
      const later = await applyProductRetention(t.app.services);
      assert.deepEqual(later, [{ productId: product.short.id, telemetry: 1, events: 1, commands: 0 }]);
      const audit = await db
        .selectFrom('audit_entries')
        .selectAll()
        .where('action', '=', 'product.retention')
        .execute();
      assert.equal(audit.length, 2);
      assert.equal(JSON.parse(audit[0]?.details ?? '{}').telemetry, 1);
      // Nothing to delete: no entry.
      await applyProductRetention(t.app.services);
      assert.equal(
        (
          await db
            .selectFrom('audit_entries')
            .select('id')
            .where('action', '=', 'product.retention')
            .execute()
        ).length,
        2,
      );
    });
  });
}
