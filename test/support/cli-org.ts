import assert from 'node:assert/strict';
import { join } from 'node:path';
import { createServices } from '../../packages/server/src/app.js';
import { systemClock } from '../../packages/server/src/clock.js';
import { SecretBox } from '../../packages/server/src/secrets/master-key.js';
import type { Services } from '../../packages/server/src/services.js';
import { openStore, type Store } from '../../packages/server/src/store/db.js';
import { freshDatabase, type TestDatabase } from '../../packages/server/src/store/test-helper.js';
import { FilesystemArtifactStore } from '../../packages/server/src/updates/artifact-store.js';
import { assertBuilt, brickless, type Server, startServer } from './cli.js';

/**
 * A real server on a fresh SQLite database with one organisation made by the CLI, and the same
 * database opened in the test process, so that a CLI end-to-end test can make what it needs
 * (people, tokens, events) through the services and then drive the CLI against the server.
 */
export interface CliOrgServer {
  db: TestDatabase;
  server: Server & { url: string };
  store: Store;
  services: Services;
  orgId: string;
  /** `--data-dir` and `--database`: the CLI's direct mode on the server's data. */
  local: string[];
  /** `--server`, `--token` and `--ca`: the CLI as a remote client with the given token. */
  remote(token: string): string[];
  stop(): Promise<void>;
}

export async function startCliOrgServer(slug = 'acme', name = 'Acme GmbH'): Promise<CliOrgServer> {
  assertBuilt();
  const db = await freshDatabase('sqlite');
  const local = ['--data-dir', db.dataDir, '--database', db.url];
  const server = await startServer(local);
  const created = await brickless([...local, 'orgs', 'create', '--slug', slug, '--name', name]);
  assert.equal(created.code, 0, created.stderr);
  const store = await openStore(db.url);
  const services = createServices(
    store,
    systemClock,
    SecretBox.random(),
    new FilesystemArtifactStore(join(db.dataDir, 'artifacts')),
  );
  const org = await store.db
    .selectFrom('organizations')
    .select('id')
    .where('slug', '=', slug)
    .executeTakeFirstOrThrow();
  return {
    db,
    server,
    store,
    services,
    orgId: org.id,
    local,
    remote: (token) => ['--server', server.url, '--token', token, '--ca', join(db.dataDir, 'tls', 'ca.crt')],
    stop: async () => {
      server.child.kill('SIGTERM');
      await server.exited;
      await store.close();
      await db.drop();
    },
  };
}

/**
 * An operator's CLI arguments for the organisation (a token made in the test process), after the
 * operator made the product PLUG-1 ("Smart plug", support until 2033) through the CLI: the start
 * of the owner-side end-to-end tests.
 */
export async function operatorWithPlug(org: CliOrgServer, slug = 'acme'): Promise<string[]> {
  const { token } = await org.services.tokens.create('test', {
    orgId: org.orgId,
    role: 'operator',
    name: 'cli',
  });
  const base = [...org.remote(token), '--org', slug];
  const product = await brickless([
    ...base,
    'products',
    'create',
    '--model',
    'PLUG-1',
    '--name',
    'Smart plug',
    '--revision',
    'A',
    '--support-ends',
    '2033-01-01',
  ]);
  assert.equal(product.code, 0, product.stderr);
  return base;
}
