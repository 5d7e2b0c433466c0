import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Store } from '../packages/server/src/store/db.js';
import { brickless, bricklessJson } from './support/cli.js';
import { type CliOrgServer, operatorWithPlug, startCliOrgServer } from './support/cli-org.js';

/**
 * Retention per product through the real server and CLI (issue 18 §6, docs/data-rights.md):
 * `brickless products update --telemetry-retention-days N --command-retention-days N|keep`.
 */
describe('brickless products update --telemetry-retention-days, through the real server', () => {
  let acme: CliOrgServer;
  let store: Store;
  let base: string[];

  before(async () => {
    acme = await startCliOrgServer();
    ({ store } = acme);
    base = await operatorWithPlug(acme);
  });
  after(async () => {
    await acme?.stop();
  });

  it('sets, shows and clears the retention of a product', async () => {
    const set = await bricklessJson<{
      retention: { telemetryDays: number | null; commandDays: number | null };
    }>([
      ...base,
      'products',
      'update',
      'PLUG-1',
      '--telemetry-retention-days',
      '30',
      '--command-retention-days',
      '90',
    ]);
    assert.deepEqual(set.retention, { telemetryDays: 30, commandDays: 90 });
    const human = await brickless([
      ...base,
      'products',
      'update',
      'PLUG-1',
      '--command-retention-days',
      'keep',
    ]);
    assert.equal(human.code, 0, human.stderr);
    assert.match(human.stdout, /retention\s+telemetry and events: 30 days; commands: kept/);
    const row = await store.db
      .selectFrom('products')
      .select(['telemetry_retention_days', 'command_retention_days'])
      .executeTakeFirstOrThrow();
    assert.deepEqual({ ...row }, { telemetry_retention_days: 30, command_retention_days: null });
  });

  it('refuses a retention that is not a number of days, saying how to fix it', async () => {
    const word = await brickless([
      ...base,
      'products',
      'update',
      'PLUG-1',
      '--telemetry-retention-days',
      'soon',
    ]);
    assert.notEqual(word.code, 0);
    assert.match(word.stderr, /--telemetry-retention-days: give a number of days \(1 to 36500\) or keep/);
    const zero = await brickless([
      ...base,
      'products',
      'update',
      'PLUG-1',
      '--telemetry-retention-days',
      '0',
    ]);
    assert.notEqual(zero.code, 0);
    assert.match(zero.stderr, /retention\/telemetryDays/);
  });
});
