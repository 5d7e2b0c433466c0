import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { applyProductRetention } from '../rights/retention.js';
import { testDialects } from '../store/test-helper.js';
import { plugCapabilities, type TestApp, testApp } from '../test-support/app.js';
import {
  createPartitions,
  DAY_MS,
  DEFAULT_PARTITION,
  dayOf,
  listPartitions,
  partitionName,
} from './partitions.js';

const SERVER_DAYS = 60;
const PRODUCT_DAYS = 30;

/**
 * Retention by dropping partitions keeps and removes exactly the rows the row-by-row delete did
 * (issue 19 §5): the server-wide period and each product's own, the shorter winning
 * (docs/data-rights.md), including rows exactly at a cut-off, rows of a device that no longer
 * exists, and rows in the DEFAULT partition. The expected set is the old rule, written out here.
 */
for (const dialect of testDialects) {
  describe(`telemetry retention by partition (${dialect})`, () => {
    let t: TestApp;
    const devices = { short: '', kept: '', gone: 'dev_gone' };

    before(async () => {
      t = await testApp(dialect);
      await t.org('acme');
      for (const [key, model, days] of [
        ['short', 'PLUG-1', PRODUCT_DAYS],
        ['kept', 'PLUG-2', null],
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
        if (days !== null) {
          const set = await t.call('PATCH', `/v1/orgs/acme/products/${made.body.id}`, {
            body: { retention: { telemetryDays: days } },
          });
          assert.equal(set.status, 200, set.raw);
        }
        const provisioned = await t.call('POST', '/v1/orgs/acme/provisioning', {
          body: { productId: made.body.id, serials: [`${model}-1`] },
        });
        assert.equal(provisioned.status, 201, provisioned.raw);
        devices[key] = provisioned.body.devices[0].deviceId;
      }
    });
    after(async () => {
      await t.close();
    });

    it('keeps and removes exactly the rows the row-by-row delete did', async () => {
      const db = t.app.services.store.db;
      const now = t.clock.now().getTime();
      const serverCutoff = now - SERVER_DAYS * DAY_MS;
      const productCutoff = now - PRODUCT_DAYS * DAY_MS;
      const ages = [0, 0.5, 1, 9.99, 29, 29.5, 30.5, 45, 59, 59.9, 60.1, 61, 62, 75, 100, 400, 5000];
      const times = [
        ...ages.map((a) => Math.round(now - a * DAY_MS)),
        ...[-1, 0, 1].flatMap((d) => [serverCutoff + d, productCutoff + d]),
        // Both sides of the midnights around the server cut-off.
        dayOf(serverCutoff) * DAY_MS,
        dayOf(serverCutoff) * DAY_MS - 1,
        (dayOf(serverCutoff) + 1) * DAY_MS,
      ];
      const rows = Object.values(devices).flatMap((device) =>
        times.map((ts, i) => ({
          org_id: 'o',
          device_id: device,
          field: 'power',
          ts,
          num_value: i,
          text_value: null,
        })),
      );
      await db.insertInto('telemetry').values(rows).execute();
      // Every day of the rows gets its partition, except the oldest, which stays in DEFAULT.
      const oldest = dayOf(now - 5000 * DAY_MS);
      const days = [...new Set(times.map(dayOf))].filter((d) => d !== oldest);
      await createPartitions(db, days);

      const pruned = await t.app.services.telemetry.prune(new Date(serverCutoff));
      await applyProductRetention(t.app.services);

      const expected = rows
        .filter((r) => r.ts >= serverCutoff && !(r.device_id === devices.short && r.ts < productCutoff))
        .map((r) => `${r.device_id} ${r.ts}`)
        .sort();
      const left = (await db.selectFrom('telemetry').select(['device_id', 'ts']).execute())
        .map((r) => `${r.device_id} ${Number(r.ts)}`)
        .sort();
      assert.deepEqual(left, expected);
      if (dialect === 'postgres') {
        // Whole days before the cut-off went as partitions; the boundary day's rows one by one.
        const wholeDays = days.filter((d) => (d + 1) * DAY_MS <= serverCutoff).map(partitionName);
        assert.ok(wholeDays.length >= 4, `${wholeDays.length} whole days`);
        assert.deepEqual([...pruned.partitions].sort(), wholeDays.sort());
        const remaining = (await listPartitions(db)).map((p) => p.name);
        for (const name of wholeDays) assert.equal(remaining.includes(name), false, name);
        assert.ok(remaining.includes(partitionName(dayOf(serverCutoff))), 'the boundary day stays');
        // Boundary day rows before the cut-off, and the DEFAULT partition's old rows, deleted by row.
        assert.ok(pruned.rows >= 3 * 2, `${pruned.rows} rows deleted one by one`);
        const inDefault = await db
          .selectFrom(DEFAULT_PARTITION as 'telemetry')
          .select('ts')
          .execute();
        assert.deepEqual(inDefault, []);
      } else {
        assert.deepEqual(pruned.partitions, []);
      }
    });
  });
}
