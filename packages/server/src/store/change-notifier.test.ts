import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type Kysely, sql } from 'kysely';
import { type App, createApp } from '../app.js';
import { SecretBox } from '../secrets/master-key.js';
import { type Change, ChangeListener, type ChangeRecordingAuditLog } from './change-notifier.js';
import type { Database } from './schema.js';
import { freshDatabase, type TestDatabase, testDialects } from './test-helper.js';

const revoke = (deviceId: string) => ({
  actor: 'test',
  action: 'device.credential.revoke',
  targetType: 'device',
  targetId: deviceId,
  details: { revoked: 1 },
});

/** Resolves once `changes` holds one for `deviceId`, or rejects after `ms`. */
async function heard(changes: Change[], deviceId: string, ms = 5000): Promise<Change> {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    const found = changes.find((c) => c.targetId === deviceId);
    if (found) return found;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`no change for ${deviceId} within ${ms} ms`);
}

/**
 * Two apps on one database stand for two processes (a server and the CLI in direct mode, or two
 * nodes): what one commits, the other's listener hears through the database.
 */
for (const dialect of testDialects) {
  describe(`change listener (${dialect})`, () => {
    let database: TestDatabase;
    let server: App;
    let cli: App;
    let listener: ChangeListener;
    const changes: Change[] = [];
    const errors: string[] = [];

    const open = () =>
      createApp({
        database: database.url,
        secrets: SecretBox.random(),
        artifacts: join(database.dataDir, 'artifacts'),
      });
    const append = (app: App, deviceId: string) =>
      app.services.store.db
        .transaction()
        .execute((trx) => app.services.audit.append(trx, 'org_test', revoke(deviceId)));

    before(async () => {
      database = await freshDatabase(dialect);
      server = await open();
      cli = await open();
      listener = new ChangeListener({
        db: server.services.store.db,
        dialect,
        database: database.url,
        audit: server.services.audit as ChangeRecordingAuditLog,
        clock: server.services.clock,
        apply: async (change) => {
          changes.push(change);
        },
        onError: (_error, context) => errors.push(context),
      });
      await listener.start();
    });
    after(async () => {
      await listener.close();
      await cli.close();
      await server.close();
      await database.drop();
    });

    it("hears another process's committed change, once", async () => {
      await append(cli, 'dev_other_process');
      const change = await heard(changes, 'dev_other_process');
      assert.equal(change.action, 'device.credential.revoke');
      assert.equal(change.chain, 'org_test');
      await new Promise((r) => setTimeout(r, 600));
      assert.equal(changes.filter((c) => c.targetId === 'dev_other_process').length, 1);
    });

    it('does not apply its own changes again, nor a rolled-back one, nor actions it does not act on', async () => {
      await append(server, 'dev_own');
      await cli.services.store.db
        .transaction()
        .execute(async (trx) => {
          await cli.services.audit.append(trx, 'org_test', revoke('dev_rolled_back'));
          throw new Error('roll back');
        })
        .catch(() => {});
      await cli.services.store.db
        .transaction()
        .execute((trx) =>
          cli.services.audit.append(trx, 'org_test', { ...revoke('dev_renamed'), action: 'brand.update' }),
        );
      await append(cli, 'dev_marker');
      await heard(changes, 'dev_marker');
      for (const id of ['dev_own', 'dev_rolled_back', 'dev_renamed'])
        assert.ok(!changes.some((c) => c.targetId === id), id);
    });

    if (dialect === 'postgres')
      it('reconnects after losing its connection and reads back what it missed', async () => {
        const db = server.services.store.db as Kysely<Database>;
        const terminated = await sql<{ ok: boolean }>`
          select pg_terminate_backend(pid) as ok from pg_stat_activity
          where application_name = 'brickless-changes' and datname = current_database()`.execute(db);
        assert.equal(terminated.rows.length, 1, 'one listener connection');
        // Committed while the listener has no connection: no NOTIFY reaches it.
        await append(cli, 'dev_while_away');
        await heard(changes, 'dev_while_away', 10_000);
        assert.ok(errors.some((e) => /reconnecting/.test(e)));
        // And it listens again.
        await append(cli, 'dev_after_reconnect');
        await heard(changes, 'dev_after_reconnect');
      });
  });
}
