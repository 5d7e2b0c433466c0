import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { newId } from '../packages/server/src/ids.js';
import type { Services } from '../packages/server/src/services.js';
import type { Store } from '../packages/server/src/store/db.js';
import type { TestDatabase } from '../packages/server/src/store/test-helper.js';
import { brickless, bricklessJson } from './support/cli.js';
import { type CliOrgServer, operatorWithPlug, startCliOrgServer } from './support/cli-org.js';

/**
 * The maker's side of owners (issue 18 §1) through the real server: `devices provision` gives each
 * device a claim code (in the JSONL and in --json), `devices claim-code` issues a new one and ends
 * the old, `devices get` shows whether the device is claimed. The owner's claim runs in this
 * process on the same database (owners/owners.api.test.ts drives the owner's HTTP side).
 */
describe('brickless devices provision and claim-code, through the real server', () => {
  let acme: CliOrgServer;
  let db: TestDatabase;
  let store: Store;
  let services: Services;
  let base: string[];

  before(async () => {
    acme = await startCliOrgServer();
    ({ db, store, services } = acme);
    base = await operatorWithPlug(acme);
  });
  after(async () => {
    await acme?.stop();
  });

  it('shows claim codes once at provisioning, reissues one, and shows the maker whether a device is claimed', async () => {
    const out = join(db.dataDir, 'labels.jsonl');
    const made = await bricklessJson<{
      provisioned: number;
      claimCodes: { deviceId: string; serial: string; claimCode: string }[];
    }>([
      ...base,
      'devices',
      'provision',
      '--product',
      'PLUG-1',
      '--serial-prefix',
      'L-',
      '--count',
      '3',
      '--out',
      out,
    ]);
    assert.equal(made.provisioned, 3);
    const lines = readFileSync(out, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    assert.deepEqual(
      made.claimCodes,
      lines.map((l) => ({ deviceId: l.deviceId, serial: l.serial, claimCode: l.claimCode })),
    );
    for (const c of made.claimCodes)
      assert.match(c.claimCode, /^([0-9A-HJKMNP-TV-Z]{4}-){3}[0-9A-HJKMNP-TV-Z]{4}$/);
    const first = made.claimCodes[0];
    assert.ok(first);

    // The human form names the file the codes are in, never a code itself.
    const human = await brickless([
      ...base,
      'devices',
      'provision',
      '--product',
      'PLUG-1',
      '--serial-prefix',
      'H-',
      '--count',
      '1',
      '--out',
      join(db.dataDir, 'h.jsonl'),
    ]);
    assert.equal(human.code, 0, human.stderr);
    assert.match(human.stdout, /claim codes \(claimCode, for the labels\) are in/);

    const reissued = await brickless([...base, 'devices', 'claim-code', first.serial]);
    assert.equal(reissued.code, 0, reissued.stderr);
    const code = /claim code for device dev_[0-9a-f]{28}: ([0-9A-Z-]{19})/.exec(reissued.stdout)?.[1];
    assert.ok(code, reissued.stdout);
    assert.notEqual(code, first.claimCode);
    const again = await bricklessJson<{ deviceId: string; claimCode: string }>([
      ...base,
      'devices',
      'claim-code',
      first.deviceId,
    ]);
    assert.equal(again.deviceId, first.deviceId);

    const before = await bricklessJson<{ ownership: { claimed: boolean } }>([
      ...base,
      'devices',
      'get',
      first.serial,
    ]);
    assert.deepEqual(before.ownership, { claimed: false, claimedAt: null });

    // An owner claims with the latest code; the two before it claim nothing.
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
    for (const old of [first.claimCode, code])
      await assert.rejects(services.claims.claim(ownerId, '192.0.2.1', old), /no device can be claimed/);
    const claimed = await services.claims.claim(ownerId, '192.0.2.1', again.claimCode);
    assert.equal(claimed.id, first.deviceId);
    const shown = await brickless([...base, 'devices', 'get', first.serial]);
    assert.match(shown.stdout, /ownerClaimed\s+yes, 20\d\d-/);
    assert.doesNotMatch(shown.stdout, /ana@|own_/);
  });
});
