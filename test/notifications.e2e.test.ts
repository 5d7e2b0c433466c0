import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { brickless, bricklessJson } from './support/cli.js';
import { type CliOrgServer, startCliOrgServer } from './support/cli-org.js';

/**
 * `brickless notifications …` through the real server (issue 18 §4): a person's token, the notices
 * the notifier wrote, reading them and changing preferences. The notifier runs in this process on
 * the same database (the server's own job runs every 30 s; both are idempotent).
 */
describe('brickless notifications, through the real server', () => {
  let acme: CliOrgServer;
  let remote: string[];

  before(async () => {
    acme = await startCliOrgServer();
    const { store, services, orgId } = acme;
    const personId = await store.db.transaction().execute(async (trx) => {
      const id = await services.people.create(trx, 'test', {
        email: 'rm@acme.test',
        displayName: 'Rm',
        platformAdmin: false,
      });
      await services.people.grant(trx, 'test', id, orgId, ['release-manager']);
      return id;
    });
    const { token } = await services.tokens.create('test', {
      orgId,
      role: 'release-manager',
      name: 'cli',
      personId,
    });
    remote = acme.remote(token);
    for (const reason of ['first', 'second'])
      await services.outbox.record(orgId, 'rollout.halted', {
        rolloutId: 'rol_x',
        rolloutName: 'spring',
        releaseId: 'rel_x',
        version: '1.1.0',
        failed: 3,
        reason,
      });
    await services.notifier.run();
  });
  after(async () => {
    await acme?.stop();
  });

  it('lists, reads one and all, and changes preferences', async () => {
    const listed = await bricklessJson<{
      items: Array<{ id: string; type: string; email: string }>;
      unread: number;
    }>([...remote, 'notifications', 'list']);
    assert.equal(listed.items.length, 2);
    assert.equal(listed.unread, 2);
    assert.equal(listed.items[0]?.type, 'rollout.halted');
    assert.equal(listed.items[0]?.email, 'off', 'no SMTP server configured: inbox only');
    const human = await brickless([...remote, 'notifications', 'list', '--unread']);
    assert.equal(human.code, 0, human.stderr);
    assert.match(human.stdout, /Rollout halted: spring \(1\.1\.0\)/);
    assert.match(human.stdout, /2 unread/);

    const one = await bricklessJson<{ id: string; readAt: string }>([
      ...remote,
      'notifications',
      'read',
      listed.items[0]?.id as string,
    ]);
    assert.equal(one.id, listed.items[0]?.id);
    const unread = await bricklessJson<{ items: unknown[] }>([
      ...remote,
      'notifications',
      'list',
      '--unread',
    ]);
    assert.equal(unread.items.length, 1);
    const all = await bricklessJson<{ read: number }>([...remote, 'notifications', 'read', '--all']);
    assert.equal(all.read, 1);
    const neither = await brickless([...remote, 'notifications', 'read']);
    assert.notEqual(neither.code, 0);
    assert.match(neither.stderr, /one notice id, or --all/);

    const prefs = await bricklessJson<{
      language: string;
      types: Array<{ type: string; inbox: boolean; email: boolean; applies: boolean }>;
    }>([
      ...remote,
      'notifications',
      'preferences',
      '--set',
      'rollout.halted=inbox',
      '--set',
      'signing.expiring=off',
      '--language',
      'de',
    ]);
    assert.equal(prefs.language, 'de');
    const halted = prefs.types.find((p) => p.type === 'rollout.halted');
    assert.deepEqual([halted?.inbox, halted?.email, halted?.applies], [true, false, true]);
    const signing = prefs.types.find((p) => p.type === 'signing.expiring');
    assert.deepEqual([signing?.inbox, signing?.email], [false, false]);
    const shown = await brickless([...remote, 'notifications', 'preferences']);
    assert.equal(shown.code, 0, shown.stderr);
    assert.match(shown.stdout, /rollout\.halted\W+on\W+off\W+releases:write/);
    assert.match(shown.stdout, /language: de/);
    const bad = await brickless([...remote, 'notifications', 'preferences', '--set', 'rollout.halted=loud']);
    assert.notEqual(bad.code, 0);
    assert.match(bad.stderr, /TYPE=inbox,email/);
  });
});
