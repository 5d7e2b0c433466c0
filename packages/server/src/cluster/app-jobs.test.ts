import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { testDialects } from '../store/test-helper.js';
import { type TestApp, testApp } from '../test-support/app.js';
import { startUpdateJobs } from '../updates/jobs.js';
import { startWebhookJobs } from '../webhooks/jobs.js';

/** One node (SQLite's only shape) takes every lease by the same code path and runs every job. */
for (const dialect of testDialects) {
  describe(`one node runs every lease-held job (${dialect})`, () => {
    let t: TestApp;
    before(async () => {
      t = await testApp(dialect, { nodeId: 'solo', cluster: { heartbeatMs: 50, expiryMs: 500 } });
      await t.app.cluster.start();
    });
    after(async () => t.close());

    it('holds the leases of the update, webhook and presence jobs in turn, each run with a new token', async () => {
      const errors: unknown[] = [];
      const stopUpdates = startUpdateJobs(t.app.services, (_job, error) => errors.push(error), {
        tickMs: 100,
        resignMs: 100,
      });
      const stopWebhooks = startWebhookJobs(t.app.services, (error) => errors.push(error), { tickMs: 100 });
      await new Promise((resolve) => setTimeout(resolve, 1200));
      stopUpdates();
      stopWebhooks();
      await new Promise((resolve) => setTimeout(resolve, 200));
      assert.deepEqual(errors, []);
      const leases = await t.app.services.store.db.selectFrom('leases').selectAll().orderBy('name').execute();
      assert.deepEqual(
        leases.map((l) => l.name),
        ['presence-orphans', 'presence-reaper', 'rollouts', 'tuf-resign', 'webhooks'],
      );
      for (const lease of leases) {
        assert.match(lease.holder, /^solo#[0-9a-f]{12}$/);
        assert.ok(lease.last_finished_at !== null, `${lease.name} ran`);
      }
      const rollouts = leases.find((l) => l.name === 'rollouts');
      assert.ok(Number(rollouts?.token) >= 5, `rollouts ran ${rollouts?.token} times in 1.2 s`);
    });
  });
}
