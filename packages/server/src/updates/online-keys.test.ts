import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { DeviceFetcher, UpdateAgent } from '@brickless/device';
import type { UpdateStatus } from '@brickless/protocol';
import { Metadata, MetadataKind, type Root, type Timestamp } from '@tufjs/models';
import { Updater } from 'tuf-js';
import { ManualClock } from '../clock.js';
import { loadMasterKey } from '../secrets/master-key.js';
import { testDialects } from '../store/test-helper.js';
import { plugCapabilities, type TestApp, testApp } from '../test-support/app.js';
import { createRelease, type MakerKeys, makerKeys, signTargets } from '../test-support/updates.js';
import { ensureTls } from '../tls/certs.js';
import { generateSigningKey, type PrivateKeyFile, signerFor } from './keys.js';
import { buildRoot, buildTimestamp } from './metadata.js';

const DAY = 86_400_000;

/** A tuf-js fetcher on the device's credential, through which a test can slip one answer. */
class PathOfAttack extends DeviceFetcher {
  forged: { suffix: string; body: Buffer } | null = null;
  override async fetch(url: string): Promise<ReadableStream<Uint8Array<ArrayBuffer>>> {
    if (this.forged && url.endsWith(this.forged.suffix))
      return Readable.toWeb(Readable.from([this.forged.body])) as ReadableStream<Uint8Array<ArrayBuffer>>;
    return super.fetch(url);
  }
}

interface Env {
  t: TestApp;
  url: string;
  ca: string;
  productId: string;
  dirs: string[];
}

async function setUp(dialect: (typeof testDialects)[number], clock: ManualClock, masterKeyFile?: string) {
  const t = await testApp(dialect, { clock, https: true, ...(masterKeyFile ? { masterKeyFile } : {}) });
  await t.org('acme');
  const product = await t.call('POST', '/v1/orgs/acme/products', {
    body: {
      modelNumber: 'BELL-1',
      name: 'Doorbell',
      hardwareRevision: 'rev-b',
      supportEnds: '2040-12-31',
      capabilities: plugCapabilities,
    },
  });
  await t.app.http.listen({ host: '127.0.0.1', port: 0 });
  const tls = await ensureTls({ dataDir: t.database.dataDir, hostnames: [] });
  return {
    t,
    url: `https://127.0.0.1:${(t.app.http.server.address() as AddressInfo).port}`,
    ca: readFileSync(tls.caFile as string, 'utf8'),
    productId: product.body.id as string,
    dirs: [] as string[],
  } satisfies Env;
}

async function provision(env: Env) {
  const res = await env.t.call('POST', '/v1/orgs/acme/provisioning', {
    body: {
      productId: env.productId,
      serials: [`SN-${Math.random().toString(36).slice(2, 10)}`],
      credential: 'secret',
      firmwareVersion: '1.0.0',
    },
  });
  assert.equal(res.status, 201, res.raw);
  return res.body.devices[0] as { deviceId: string; secret: string };
}

function tempDir(env: Env, trustedRoot: unknown): string {
  const dir = mkdtempSync(join(tmpdir(), 'brickless-tuf-'));
  env.dirs.push(dir);
  mkdirSync(join(dir, 'metadata'));
  writeFileSync(join(dir, 'metadata', 'root.json'), JSON.stringify(trustedRoot));
  return dir;
}

/** Publishes the next root with the same maker keys and the given online keys, signed by `signers`. */
async function publishRoot(
  t: TestApp,
  version: number,
  keys: MakerKeys,
  rootKeys: PrivateKeyFile[],
  signers: PrivateKeyFile[],
  expires: Date,
  online?: { snapshot: never; timestamp: never },
) {
  const keysNow = online ?? (await t.call('GET', '/v1/orgs/acme/updates/online-keys')).body;
  const root = buildRoot({
    version,
    expires,
    rootKeys,
    rootThreshold: 2,
    targetsKeys: keys.targets,
    targetsThreshold: 1,
    escrowKeys: [],
    snapshotKey: keysNow.snapshot,
    timestampKey: keysNow.timestamp,
  });
  for (const key of signers) root.sign(signerFor(key), true);
  return { root, res: await t.call('PUT', '/v1/orgs/acme/updates/root', { body: root.toJSON() }) };
}

/** An update agent (the SDK) run once against `url`: the steps it reported. */
async function runAgent(env: Env, dir: string, releaseId: string, version: string) {
  const device = await provision(env);
  const reports: UpdateStatus[] = [];
  let agent: UpdateAgent | null = null;
  agent = new UpdateAgent(
    {
      httpUrl: env.url,
      dir,
      trustedRoot: '',
      productId: env.productId,
      hardware: 'rev-b',
      version: '1.0.0',
      securityVersion: 1,
    },
    { deviceId: device.deviceId, secret: device.secret, ca: env.ca },
    async (status) => {
      reports.push(status);
    },
    async () => agent?.afterBoot(),
  );
  await agent.handleOffer({
    rollout: 'rol_manual',
    release: releaseId,
    target: `${env.productId}/${version}/firmware.bin`,
    version,
    kind: 'feature',
    maxDeferralSeconds: 60,
  });
  return reports;
}

for (const dialect of testDialects) {
  describe(`online key rotation recovers devices from a fast-forward attack (TUF 5.3.11) (${dialect})`, () => {
    let env: Env;
    let keys: MakerKeys;
    let root1: unknown;
    let releaseId: string;
    const clock = new ManualClock(new Date());
    const keyDir = mkdtempSync(join(tmpdir(), 'brickless-master-'));
    const masterKeyFile = join(keyDir, 'master.key');

    before(async () => {
      env = await setUp(dialect, clock, masterKeyFile);
      keys = makerKeys();
      await env.t.call('GET', '/v1/orgs/acme/updates/online-keys');
      const { root, res } = await publishRoot(
        env.t,
        1,
        keys,
        keys.root,
        keys.root,
        new Date(Date.now() + 365 * DAY),
      );
      assert.equal(res.status, 200, res.raw);
      root1 = root.toJSON();
      releaseId = await createRelease(env.t, 'acme', env.productId, Buffer.alloc(50_000, 3), {
        version: '2.0.0',
      });
      assert.equal((await signTargets(env.t, 'acme', keys.targets)).published, true);
    });
    after(async () => {
      await env.t.close();
      for (const dir of [...env.dirs, keyDir]) rmSync(dir, { recursive: true, force: true });
    });

    it('a device that took a stolen-key timestamp with a huge version is stuck; after the rotation it updates again (tuf-js and the SDK)', async () => {
      const t = env.t;
      // The attacker holds the online timestamp key (stolen from the server).
      const row = await t.app.services.store.db
        .selectFrom('tuf_online_keys')
        .selectAll()
        .where('role', '=', 'timestamp')
        .executeTakeFirstOrThrow();
      const stolen: PrivateKeyFile = {
        keytype: 'ed25519',
        scheme: 'ed25519',
        keyid: row.keyid,
        keyval: { public: row.public_hex },
        private: loadMasterKey(masterKeyFile).open(row.private_sealed, `tuf-online:${row.org_id}:timestamp`),
      };
      const status = (await t.call('GET', '/v1/orgs/acme/updates')).body;
      const forged = buildTimestamp(2_000_000_000, new Date(Date.now() + DAY), status.snapshot.version);
      forged.sign(signerFor(stolen));
      const forgedBytes = Buffer.from(JSON.stringify(forged.toJSON()));

      // tuf-js sees the forged timestamp once (on the path of attack) and keeps it.
      const device = await provision(env);
      const clientDir = tempDir(env, root1);
      const fetcher = new PathOfAttack({ deviceId: device.deviceId, secret: device.secret, ca: env.ca });
      const client = () =>
        new Updater({
          metadataDir: join(clientDir, 'metadata'),
          metadataBaseUrl: `${env.url}/device/v1/updates/metadata/`,
          targetDir: clientDir,
          targetBaseUrl: `${env.url}/device/v1/updates/targets/`,
          fetcher,
        });
      fetcher.forged = { suffix: '/timestamp.json', body: forgedBytes };
      await client().refresh();
      fetcher.forged = null;
      await assert.rejects(client().refresh(), /timestamp version .* less than current version 2000000000/);
      // The SDK stored the same timestamp: it refuses the real one as a rollback.
      const sdkDir = tempDir(env, root1);
      writeFileSync(join(sdkDir, 'metadata', 'timestamp.json'), forgedBytes);
      const stuck = await runAgent(env, sdkDir, releaseId, '2.0.0');
      assert.equal(stuck.at(-1)?.reason, 'metadata-rollback', JSON.stringify(stuck));

      // A rotation is refused with too few root keys, and changes nothing.
      const begun = await t.call('POST', '/v1/orgs/acme/updates/online-keys/rotate');
      assert.equal(begun.status, 200, begun.raw);
      assert.notEqual(begun.body.timestamp.keyid, stolen.keyid);
      const weak = await publishRoot(
        t,
        2,
        keys,
        keys.root,
        [keys.root[0] as PrivateKeyFile],
        new Date(Date.now() + 365 * DAY),
        begun.body,
      );
      assert.equal(weak.res.status, 400);
      assert.equal(
        (await t.call('GET', '/v1/orgs/acme/updates/online-keys')).body.timestamp.keyid,
        stolen.keyid,
      );

      // The maker rotates with the root keys: root 2 names the new keys; snapshot and timestamp are re-signed.
      const rotated = await publishRoot(
        t,
        2,
        keys,
        keys.root,
        keys.root,
        new Date(Date.now() + 365 * DAY),
        begun.body,
      );
      assert.equal(rotated.res.status, 200, rotated.res.raw);
      const online = (await t.call('GET', '/v1/orgs/acme/updates/online-keys')).body;
      assert.equal(online.timestamp.keyid, begun.body.timestamp.keyid);
      assert.equal(online.snapshot.keyid, begun.body.snapshot.keyid);
      const after = (await t.call('GET', '/v1/orgs/acme/updates')).body;
      assert.equal(after.timestamp.version, status.timestamp.version + 1);
      assert.equal(after.snapshot.version, status.snapshot.version + 1);
      const served = JSON.parse((await t.call('GET', '/v1/orgs/acme/updates/metadata/timestamp.json')).raw);
      assert.deepEqual(
        served.signatures.map((s: { keyid: string }) => s.keyid),
        [online.timestamp.keyid],
      );
      const audit = (await t.call('GET', '/v1/orgs/acme/audit?limit=200')).body.items.map(
        (e: { action: string }) => e.action,
      );
      assert.ok(audit.includes('updates.online-keys.rotate'));

      // tuf-js: the new root's timestamp key differs, so the stored timestamp no longer verifies and is dropped.
      await client().refresh();
      const trusted = Metadata.fromJSON(
        MetadataKind.Timestamp,
        JSON.parse(readFileSync(join(clientDir, 'metadata', 'timestamp.json'), 'utf8')),
      ) as Metadata<Timestamp>;
      assert.equal(trusted.signed.version, after.timestamp.version);
      // The stolen key now counts for nothing, whatever version it signs.
      const again = buildTimestamp(2_000_000_001, new Date(Date.now() + DAY), after.snapshot.version);
      again.sign(signerFor(stolen));
      fetcher.forged = { suffix: '/timestamp.json', body: Buffer.from(JSON.stringify(again.toJSON())) };
      await assert.rejects(client().refresh(), /timestamp/);
      fetcher.forged = null;
      // The SDK recovers the same way and installs the update.
      const recovered = await runAgent(env, sdkDir, releaseId, '2.0.0');
      assert.equal(recovered.at(-1)?.step, 'succeeded', JSON.stringify(recovered));
      const sdkRoot = JSON.parse(readFileSync(join(sdkDir, 'metadata', 'root.json'), 'utf8'));
      assert.equal((Metadata.fromJSON(MetadataKind.Root, sdkRoot) as Metadata<Root>).signed.version, 2);
    });

    it('refuses a root naming online keys the server does not hold', async () => {
      const stranger = { snapshot: generateSigningKey(), timestamp: generateSigningKey() };
      const { res } = await publishRoot(
        env.t,
        3,
        keys,
        keys.root,
        keys.root,
        new Date(Date.now() + 365 * DAY),
        stranger as never,
      );
      assert.equal(res.status, 400);
      assert.match(res.body.detail, /online snapshot key/);
    });
  });

  describe(`a device offline for years walks the root chain and updates (TUF 5.3.10) (${dialect})`, () => {
    let env: Env;
    const now = Date.now();
    const clock = new ManualClock(new Date(now - 3 * 365 * DAY));

    before(async () => {
      env = await setUp(dialect, clock);
    });
    after(async () => {
      await env.t.close();
      for (const dir of env.dirs) rmSync(dir, { recursive: true, force: true });
    });

    it('root 1 expired two years ago; roots 2 and 3 expired since; with root 4 the device verifies and installs', async () => {
      const keys = makerKeys();
      await env.t.call('GET', '/v1/orgs/acme/updates/online-keys');
      // The factory flashes root 1, three years ago; it is valid for one year.
      let rootKeys = keys.root;
      const first = await publishRoot(
        env.t,
        1,
        keys,
        rootKeys,
        rootKeys,
        new Date(clock.now().getTime() + 365 * DAY),
      );
      assert.equal(first.res.status, 200, first.res.raw);
      // Every year the maker makes a new root with new root keys (both thresholds sign).
      for (const version of [2, 3, 4]) {
        clock.set(new Date(now - (4 - version) * 365 * DAY));
        const next = [generateSigningKey(`root-${version}a`), generateSigningKey(`root-${version}b`)];
        const published = await publishRoot(
          env.t,
          version,
          keys,
          next,
          [...rootKeys, ...next],
          new Date(clock.now().getTime() + 365 * DAY),
        );
        assert.equal(published.res.status, 200, published.res.raw);
        rootKeys = next;
      }
      const releaseId = await createRelease(env.t, 'acme', env.productId, Buffer.alloc(40_000, 5), {
        version: '3.0.0',
      });
      assert.equal((await signTargets(env.t, 'acme', keys.targets)).published, true);
      assert.ok(Date.parse(first.root.signed.expires) < now - 700 * DAY, 'root 1 expired long ago');

      // tuf-js, on the real clock, from root 1.
      const device = await provision(env);
      const dir = tempDir(env, first.root.toJSON());
      await new Updater({
        metadataDir: join(dir, 'metadata'),
        metadataBaseUrl: `${env.url}/device/v1/updates/metadata/`,
        fetcher: new DeviceFetcher({ deviceId: device.deviceId, secret: device.secret, ca: env.ca }),
      }).refresh();
      const walked = JSON.parse(readFileSync(join(dir, 'metadata', 'root.json'), 'utf8'));
      assert.equal(walked.signed.version, 4);
      // The SDK, flashed with root 1, installs the update.
      const sdkDir = tempDir(env, first.root.toJSON());
      const reports = await runAgent(env, sdkDir, releaseId, '3.0.0');
      assert.equal(reports.at(-1)?.step, 'succeeded', JSON.stringify(reports));
    });
  });
}
