import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { freshDatabase, type TestDatabase } from '../packages/server/src/store/test-helper.js';
import { assertBuilt, brickless, bricklessJson, type Server, startServer } from './support/cli.js';

/** `serve` publishes signed audit checkpoints; `audit verify --checkpoints URL` checks against them. */
describe('brickless serve publishes audit checkpoints', () => {
  let db: TestDatabase;
  let server: (Server & { url: string }) | undefined;
  before(async () => {
    assertBuilt();
    db = await freshDatabase('sqlite');
    await bricklessJson(['--data-dir', db.dataDir, 'orgs', 'create', '--slug', 'acme', '--name', 'Acme']);
  });
  after(async () => {
    server?.child.kill('SIGKILL');
    await db.drop();
  });

  it('serves them without a token, and audit verify checks the log against the URL', async () => {
    server = await startServer(['--data-dir', db.dataDir, '--no-tls']);
    const url = `${server.url}/.well-known/brickless/audit-checkpoints`;
    assert.match(server.output(), /Audit:\s+http:\/\/.*\/\.well-known\/brickless\/audit-checkpoints/);
    let set: { checkpoints: unknown[] } | null = null;
    let last = '';
    for (let i = 0; i < 100 && !set; i++) {
      const response = await fetch(url);
      const text = await response.text();
      last = `${response.status} ${text}`;
      if (response.status === 200) set = JSON.parse(text) as { checkpoints: unknown[] };
      else await new Promise((r) => setTimeout(r, 100));
    }
    assert.ok(set && set.checkpoints.length >= 1, `the platform chain at least: ${last} ${server.output()}`);
    const verify = await brickless(['--data-dir', db.dataDir, 'audit', 'verify', '--checkpoints', url]);
    assert.equal(verify.code, 0, verify.stdout + verify.stderr);
    assert.match(verify.stdout, /checkpoints of \d+ chains checked \(http:/);
  });
});
