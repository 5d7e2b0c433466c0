import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { loadConfig } from '../config.js';
import { openStore, type Store } from '../store/db.js';
import { freshDatabase, type TestDatabase } from '../store/test-helper.js';
import { artifactChoice, openArtifactStore } from './artifact-stores.js';

/** Config `artifacts.*` (issue 19 §4, decision 0030): defaults, variables and refusals. */
describe('artifact store configuration', () => {
  const s3Env = {
    BRICKLESS_ARTIFACTS_STORE: 's3',
    BRICKLESS_ARTIFACTS_S3_ENDPOINT: 'https://s3.example.net',
    BRICKLESS_ARTIFACTS_S3_BUCKET: 'acme-firmware',
    BRICKLESS_ARTIFACTS_S3_REGION: 'eu-central-1',
    BRICKLESS_ARTIFACTS_S3_ACCESS_KEY_ID: 'AKIDEXAMPLE',
    BRICKLESS_ARTIFACTS_S3_SECRET_ACCESS_KEY: 'secret-from-env',
    BRICKLESS_ARTIFACTS_S3_PREFIX: 'brickless/',
  };
  let database: TestDatabase;
  let store: Store;
  before(async () => {
    database = await freshDatabase('sqlite');
    store = await openStore(database.url);
  });
  after(async () => {
    await store?.close();
    await database?.drop();
  });

  it('defaults to auto, the directory with SQLite', async () => {
    const config = loadConfig({ env: {}, flags: { dataDir: database.dataDir } });
    assert.equal(config.artifacts.store, 'auto');
    const opened = await openArtifactStore(artifactChoice(config), store.db);
    assert.equal(opened.kind, 'local');
  });

  it('takes the bucket and its credentials from BRICKLESS_ARTIFACTS_S3_*', async () => {
    const config = loadConfig({ env: s3Env, flags: { dataDir: database.dataDir } });
    assert.deepEqual(config.artifacts.s3, {
      endpoint: 'https://s3.example.net',
      bucket: 'acme-firmware',
      region: 'eu-central-1',
      accessKeyId: 'AKIDEXAMPLE',
      secretAccessKey: 'secret-from-env',
      prefix: 'brickless/',
    });
    const opened = await openArtifactStore(artifactChoice(config), store.db);
    assert.equal(opened.kind, 's3');
    await opened.close?.();
  });

  it('refuses s3 without endpoint, bucket, region or credentials, naming each', () => {
    assert.throws(
      () =>
        loadConfig({
          env: { BRICKLESS_ARTIFACTS_STORE: 's3', BRICKLESS_ARTIFACTS_S3_BUCKET: 'acme-firmware' },
          flags: { dataDir: database.dataDir },
        }),
      /artifacts\.store is s3 but artifacts\.s3\.endpoint, artifacts\.s3\.region, artifacts\.s3\.accessKeyId, artifacts\.s3\.secretAccessKey are not set/,
    );
    assert.throws(
      () => loadConfig({ env: { BRICKLESS_ARTIFACTS_STORE: 'nfs' }, flags: { dataDir: database.dataDir } }),
      /artifacts\.store/,
    );
    assert.throws(
      () =>
        loadConfig({
          env: { ...s3Env, BRICKLESS_ARTIFACTS_S3_PREFIX: '/abs' },
          flags: { dataDir: database.dataDir },
        }),
      /artifacts\.s3\.prefix/,
    );
  });

  it('refuses the postgres store on a SQLite database', async () => {
    await assert.rejects(
      openArtifactStore({ store: 'postgres', dir: database.dataDir }, store.db),
      /artifacts\.store is postgres but the database is SQLite/,
    );
  });
});
