import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { testDialects } from '../store/test-helper.js';
import { type TestApp, testApp } from '../test-support/app.js';

for (const dialect of testDialects) {
  describe(`telemetry retention (${dialect})`, () => {
    let t: TestApp;
    before(async () => {
      t = await testApp(dialect);
    });
    after(async () => {
      await t.close();
    });

    it('deletes readings older than the retention period and keeps the rest', async () => {
      const day = 86_400_000;
      const now = t.clock.now().getTime();
      await t.app.services.store.db
        .insertInto('telemetry')
        .values(
          [400, 366, 364, 1].map((age) => ({
            org_id: 'o',
            device_id: 'd',
            field: 'f',
            ts: now - age * day,
            num_value: age,
            text_value: null,
          })),
        )
        .execute();
      const stop = t.app.services.telemetry.startRetention(365, 60_000, (e) => {
        throw e;
      });
      stop();
      for (let i = 0; i < 50; i++) {
        const left = await t.app.services.store.db
          .selectFrom('telemetry')
          .select('num_value')
          .orderBy('ts')
          .execute();
        if (left.length === 2) {
          assert.deepEqual(
            left.map((r) => Number(r.num_value)),
            [364, 1],
          );
          return;
        }
        await new Promise((r) => setTimeout(r, 20));
      }
      assert.fail('retention did not delete the old readings');
    });

    it('keeps everything when retention is 0', async () => {
      const stop = t.app.services.telemetry.startRetention(0, 60_000, () => {});
      stop();
      assert.deepEqual(await t.app.services.telemetry.prune(new Date(0)), { rows: 0, partitions: [] });
    });
  });
}
