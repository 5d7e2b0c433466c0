import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { newId } from '../packages/server/src/ids.js';
import type { Services } from '../packages/server/src/services.js';
import type { Store } from '../packages/server/src/store/db.js';
import type { TestDatabase } from '../packages/server/src/store/test-helper.js';
import { brickless, bricklessJson } from './support/cli.js';
import { type CliOrgServer, operatorWithPlug, startCliOrgServer } from './support/cli-org.js';

/**
 * The maker's view of owned devices through the real server and CLI: `brickless devices list
 * --claimed` and `--unclaimed` (docs/owners.md, "What the maker sees"), before and after an owner
 * transfers a device on resale (owners/sharing.api.test.ts drives the owner's HTTP side).
 */
describe('brickless devices list --claimed / --unclaimed, through the real server', () => {
  let acme: CliOrgServer;
  let db: TestDatabase;
  let store: Store;
  let services: Services;
  let base: string[];
  let orgId: string;

  before(async () => {
    acme = await startCliOrgServer();
    ({ db, store, services, orgId } = acme);
    base = await operatorWithPlug(acme);
  });
  after(async () => {
    await acme?.stop();
  });

  it('filters the device list by whether an owner claimed the device', async () => {
    const made = await bricklessJson<{
      claimCodes: { deviceId: string; serial: string; claimCode: string }[];
    }>([
      ...base,
      'devices',
      'provision',
      '--product',
      'PLUG-1',
      '--serial-prefix',
      'C-',
      '--count',
      '3',
      '--out',
      join(db.dataDir, 'labels.jsonl'),
    ]);
    const [first, ...rest] = made.claimCodes;
    assert.ok(first);
    const ownerId = newId('own');
    await store.db
      .insertInto('owners')
      .values({
        id: ownerId,
        email: 'ana@example.com',
        created_at: new Date().toISOString(),
        last_sign_in_at: null,
      })
      .execute();
    await services.claims.claim(ownerId, '192.0.2.1', first.claimCode);

    const ids = async (flag: string) =>
      (await bricklessJson<{ items: { id: string }[] }>([...base, 'devices', 'list', flag])).items
        .map((d) => d.id)
        .sort();
    assert.deepEqual(await ids('--claimed'), [first.deviceId]);
    assert.deepEqual(await ids('--unclaimed'), rest.map((d) => d.deviceId).sort());
    const table = await brickless([...base, 'devices', 'list', '--claimed']);
    assert.equal(table.code, 0, table.stderr);
    assert.match(table.stdout, /C-0*1/);
    assert.doesNotMatch(table.stdout, /C-0*2\b/);

    // Transfer on resale: unclaimed until the buyer claims it with the seller's new code.
    const sold = await services.transfers.transfer(ownerId, first.deviceId);
    assert.deepEqual(await ids('--claimed'), []);
    const factoryReset = await services.commands.get(orgId, first.deviceId, sold.commandId);
    assert.deepEqual([factoryReset.name, factoryReset.status], ['factory-reset', 'queued']);
    await services.claims.claim(ownerId, '192.0.2.1', sold.claimCode);
    assert.deepEqual(await ids('--claimed'), [first.deviceId]);

    const both = await brickless([...base, 'devices', 'list', '--claimed', '--unclaimed']);
    assert.notEqual(both.code, 0);
    assert.match(both.stderr, /--claimed or --unclaimed, not both/);
  });
});
