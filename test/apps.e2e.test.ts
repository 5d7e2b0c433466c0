import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { freshDatabase, type TestDatabase } from '../packages/server/src/store/test-helper.js';
import { assertBuilt, brickless, bricklessJson } from './support/cli.js';

/**
 * `brickless apps …` as a maker types it (issue 18 §2): registering the OAuth clients of the app
 * API through the public API (decision 0002), in process against a real database.
 */
describe('brickless apps: register, list, read, rotate and delete OAuth clients', () => {
  let db: TestDatabase;
  let base: string[];

  before(async () => {
    assertBuilt();
    db = await freshDatabase('sqlite');
    base = ['--data-dir', db.dataDir, '--database', db.url];
    const made = await brickless([...base, 'orgs', 'create', '--slug', 'acme', '--name', 'Acme GmbH']);
    assert.equal(made.code, 0, made.stderr);
  });
  after(async () => {
    await db?.drop();
  });

  it('creates a public app (no secret) and a confidential one (secret shown once), lists and reads them', async () => {
    const mobile = await bricklessJson([
      ...base,
      '--org',
      'acme',
      'apps',
      'create',
      '--name',
      'Acme Plugs',
      '--redirect-uri',
      'com.acme.plugs:/oauth',
      '--redirect-uri',
      'http://127.0.0.1/callback',
    ]);
    assert.match(mobile.app.clientId, /^app_[0-9a-f]{28}$/);
    assert.equal(mobile.app.clientType, 'public');
    assert.equal(mobile.clientSecret, null);
    assert.deepEqual(mobile.app.scopes, ['devices:read', 'devices:control']);

    const web = await brickless([
      ...base,
      '--org',
      'acme',
      'apps',
      'create',
      '--name',
      'Acme Web',
      '--confidential',
      '--scopes',
      'devices:read',
      '--redirect-uri',
      'https://app.acme.example/callback',
    ]);
    assert.equal(web.code, 0, web.stderr);
    const secret = /^\s+(bcs_[A-Za-z0-9_-]{43})$/m.exec(web.stdout)?.[1];
    assert.ok(secret, web.stdout);
    assert.match(web.stdout, /shown this once/);

    const table = await brickless([...base, '--org', 'acme', 'apps', 'list']);
    assert.equal(table.code, 0, table.stderr);
    assert.match(table.stdout, /client-id\s+│ name\s+│ type/);
    assert.match(table.stdout, /Acme Plugs/);
    assert.match(table.stdout, /Acme Web/);
    assert.ok(!table.stdout.includes(secret), 'the secret never shows again');

    const one = await bricklessJson([...base, '--org', 'acme', 'apps', 'get', mobile.app.clientId]);
    assert.deepEqual(one.redirectUris, ['com.acme.plugs:/oauth', 'http://127.0.0.1/callback']);
  });

  it('rotates a confidential secret, refuses to for a public app, and deletes apps', async () => {
    const { items } = await bricklessJson([...base, '--org', 'acme', 'apps', 'list']);
    const web = items.find((a: { name: string }) => a.name === 'Acme Web');
    const mobile = items.find((a: { name: string }) => a.name === 'Acme Plugs');
    const rotated = await bricklessJson([...base, '--org', 'acme', 'apps', 'rotate-secret', web.clientId]);
    assert.match(rotated.clientSecret, /^bcs_/);
    const refused = await brickless([...base, '--org', 'acme', 'apps', 'rotate-secret', mobile.clientId]);
    assert.notEqual(refused.code, 0);
    assert.match(refused.stderr, /PKCE/);

    const gone = await brickless([...base, '--org', 'acme', 'apps', 'delete', mobile.clientId]);
    assert.equal(gone.code, 0, gone.stderr);
    assert.match(gone.stdout, /deleted app app_/);
    const missing = await brickless([...base, '--org', 'acme', 'apps', 'get', mobile.clientId]);
    assert.notEqual(missing.code, 0);
    assert.match(missing.stderr, /not found/);
  });

  it('explains a redirect URI it refuses', async () => {
    const bad = await brickless([
      ...base,
      '--org',
      'acme',
      'apps',
      'create',
      '--name',
      'Plain http',
      '--redirect-uri',
      'http://app.acme.example/callback',
    ]);
    assert.notEqual(bad.code, 0);
    assert.match(bad.stderr, /loopback/);
  });
});
