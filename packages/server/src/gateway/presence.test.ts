import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { sql } from 'kysely';
import pg from 'pg';
import { pino } from 'pino';
import { openStore, type Store } from '../store/db.js';
import { testDialects } from '../store/test-helper.js';
import { type TestApp, testApp } from '../test-support/app.js';
import { PresenceRecorder } from './presence.js';

const logger = pino({ level: 'silent' });

async function eventually(condition: () => Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 20));
  }
}

for (const dialect of testDialects) {
  describe(`presence records (${dialect})`, () => {
    let t: TestApp;
    const ids: string[] = [];
    const presence = async (id: string) =>
      t.app.services.store.db
        .selectFrom('devices')
        .select(['online', 'connected_node', 'last_seen_at'])
        .where('id', '=', id)
        .executeTakeFirstOrThrow();

    before(async () => {
      t = await testApp(dialect);
      await t.org('acme');
      const product = await t.call('POST', '/v1/orgs/acme/products', {
        body: { modelNumber: 'P', name: 'P', hardwareRevision: 'A', supportEnds: '2035-01-01' },
      });
      assert.equal(product.status, 201, product.raw);
      for (const serial of ['A', 'B', 'C', 'D']) {
        const device = await t.call('POST', '/v1/orgs/acme/devices', {
          body: { productId: product.body.id, serial },
        });
        ids.push(device.body.id);
      }
    });
    after(async () => t.close());

    it('writes the latest change per device, in batches, and leaves another node’s record alone', async () => {
      const [a, b, c, d] = ids as [string, string, string, string];
      await t.app.services.store.db
        .updateTable('devices')
        .set({ online: 1, connected_node: 'node-2' })
        .where('id', '=', d)
        .execute();
      const recorder = new PresenceRecorder(
        { db: t.app.services.store.db, clock: t.clock, nodeId: 'node-1', logger },
        { maxItems: 2 },
      );
      recorder.record(a, true);
      recorder.record(b, true);
      recorder.record(b, false); // came and went before the batch was written
      recorder.record(c, true);
      recorder.record(a, false);
      recorder.record(a, true); // reconnected
      recorder.record(d, false); // an old session here; the device is on node-2 now
      assert.equal(recorder.pending, 4);
      await recorder.flush();
      assert.equal(recorder.pending, 0);
      assert.deepEqual(
        { ...(await presence(a)), last_seen_at: null },
        { online: 1, connected_node: 'node-1', last_seen_at: null },
      );
      assert.equal((await presence(a)).last_seen_at, t.clock.now().toISOString());
      assert.equal((await presence(b)).online, 0);
      assert.equal((await presence(b)).connected_node, null);
      assert.ok((await presence(b)).last_seen_at, 'a device that came and went was seen');
      assert.equal((await presence(c)).connected_node, 'node-1');
      assert.deepEqual(
        { online: (await presence(d)).online, node: (await presence(d)).connected_node },
        { online: 1, node: 'node-2' },
      );
      // The event history keeps every change, in order: the presence timeline of the console.
      const history = await t.call('GET', `/v1/orgs/acme/devices/${a}/events`);
      assert.equal(history.status, 200, history.raw);
      assert.deepEqual(
        history.body.items.map((e: { name: string }) => e.name),
        ['presence.connected', 'presence.disconnected', 'presence.connected'],
        'newest first',
      );
      const ofB = await t.call('GET', `/v1/orgs/acme/devices/${b}/events?name=presence.connected`);
      assert.equal(ofB.body.items.length, 1, 'a device that came and went has its connect recorded');
      await recorder.close();
    });

    it('keeps a change the storage refused and writes it when the storage answers again', async () => {
      const [a, b] = ids as [string, string];
      await t.app.services.store.db
        .updateTable('devices')
        .set({ online: 0, connected_node: null })
        .where('id', 'in', [a, b])
        .execute();
      // A second connection that gives up on a lock after 100 ms, and a third that holds the lock:
      // the storage refusing writes for a while, as a pool that timed out does under a storm.
      let impatient: Store;
      let release: () => Promise<void>;
      if (dialect === 'postgres') {
        const url = new URL(t.database.url);
        url.searchParams.set('options', '-c lock_timeout=100');
        impatient = await openStore(url.toString());
        const holder = new pg.Client({ connectionString: t.database.url });
        await holder.connect();
        await holder.query('begin');
        await holder.query('lock table devices in exclusive mode');
        release = async () => {
          await holder.query('rollback');
          await holder.end();
        };
      } else {
        impatient = await openStore(t.database.url);
        await sql`PRAGMA busy_timeout = 100`.execute(impatient.db);
        const holder = await openStore(t.database.url);
        await sql`BEGIN IMMEDIATE`.execute(holder.db);
        release = async () => {
          await sql`ROLLBACK`.execute(holder.db);
          await holder.close();
        };
      }
      const recorder = new PresenceRecorder(
        { db: impatient.db, clock: t.clock, nodeId: 'node-1', logger },
        { retryMs: 50, maxRetryMs: 200 },
      );
      try {
        recorder.record(a, true);
        recorder.record(b, true);
        await assert.rejects(recorder.flush());
        assert.equal(recorder.pending, 2, 'nothing refused is dropped');
        recorder.record(b, false); // a newer change replaces the refused one
        assert.equal(recorder.pending, 2);
        await release();
        // No explicit flush: the recorder retries by itself.
        await eventually(async () => recorder.pending === 0);
        // pending drops when a batch starts; its UPDATE may still be on its way.
        await recorder.flush();
        assert.equal((await presence(a)).online, 1);
        assert.equal((await presence(a)).connected_node, 'node-1');
        assert.equal((await presence(b)).online, 0);
      } finally {
        await recorder.close();
        await impatient.close();
      }
    });
  });
}
