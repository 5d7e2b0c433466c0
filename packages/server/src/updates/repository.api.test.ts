import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { DeviceFetcher } from '@brickless/device';
import { Metadata, MetadataKind, type Root, type Targets } from '@tufjs/models';
import { Updater } from 'tuf-js';
import { ManualClock } from '../clock.js';
import { testDialects } from '../store/test-helper.js';
import { plugCapabilities, type TestApp, testApp } from '../test-support/app.js';
import {
  createRelease,
  initRepository,
  type MakerKeys,
  makerKeys,
  signTargets,
} from '../test-support/updates.js';
import { ensureTls } from '../tls/certs.js';
import { generateSigningKey, signerFor } from './keys.js';
import { buildRoot } from './metadata.js';

const HOUR = 3_600_000;

for (const dialect of testDialects) {
  describe(`update repository: keys, root, releases, targets signing, tuf-js interop (${dialect})`, () => {
    let t: TestApp;
    let productId: string;
    let keys: MakerKeys;
    let root1: unknown;
    const clock = new ManualClock(new Date());
    const image = Buffer.alloc(300_000);
    for (let i = 0; i < image.length; i++) image[i] = (i * 31) % 251;

    before(async () => {
      // `auto`: the downloads and their ranges below run over the PostgreSQL store on PostgreSQL (issue 19 §4).
      t = await testApp(dialect, {
        clock,
        https: true,
        maxArtifactBytes: 1024 * 1024,
        artifactStore: 'auto',
      });
      await t.org('acme');
      await t.org('other');
      const product = await t.call('POST', '/v1/orgs/acme/products', {
        body: {
          modelNumber: 'PLUG-1',
          name: 'Smart plug',
          hardwareRevision: 'rev-b',
          supportEnds: '2031-12-31',
          capabilities: plugCapabilities,
        },
      });
      productId = product.body.id;
      keys = makerKeys();
    });
    after(async () => t.close());

    it('online keys are made once and only for key holders (updates:manage)', async () => {
      const operator = await t.call('POST', '/v1/orgs/acme/tokens', {
        body: { name: 'op', role: 'operator' },
      });
      const refused = await t.call('GET', '/v1/orgs/acme/updates/online-keys', {
        token: operator.body.token,
      });
      assert.equal(refused.status, 403);
      const first = await t.call('GET', '/v1/orgs/acme/updates/online-keys');
      const again = await t.call('GET', '/v1/orgs/acme/updates/online-keys');
      assert.equal(first.status, 200);
      assert.deepEqual(first.body, again.body);
      assert.notEqual(first.body.snapshot.keyid, first.body.timestamp.keyid);
      assert.equal(JSON.stringify(first.body).includes('private'), false);
    });

    it('refuses a root that is unsigned, signed by too few or wrong keys, or names other online keys', async () => {
      const online = (await t.call('GET', '/v1/orgs/acme/updates/online-keys')).body;
      const plan = {
        version: 1,
        expires: new Date(Date.now() + 365 * 86_400_000),
        rootKeys: keys.root,
        rootThreshold: 2,
        targetsKeys: keys.targets,
        targetsThreshold: 2,
        escrowKeys: [keys.escrow],
        snapshotKey: online.snapshot,
        timestampKey: online.timestamp,
      };
      const unsigned = buildRoot(plan);
      let res = await t.call('PUT', '/v1/orgs/acme/updates/root', { body: unsigned.toJSON() });
      assert.equal(res.status, 400);
      assert.match(res.body.detail, /threshold/);
      const oneOfTwo = buildRoot(plan);
      oneOfTwo.sign(signerFor(keys.root[0] as never), true);
      res = await t.call('PUT', '/v1/orgs/acme/updates/root', { body: oneOfTwo.toJSON() });
      assert.equal(res.status, 400);
      const stranger = buildRoot(plan);
      stranger.sign(signerFor(keys.root[0] as never), true);
      stranger.sign(signerFor(generateSigningKey()), true);
      res = await t.call('PUT', '/v1/orgs/acme/updates/root', { body: stranger.toJSON() });
      assert.equal(res.status, 400);
      const foreignOnline = buildRoot({ ...plan, snapshotKey: generateSigningKey() });
      for (const key of keys.root) foreignOnline.sign(signerFor(key), true);
      res = await t.call('PUT', '/v1/orgs/acme/updates/root', { body: foreignOnline.toJSON() });
      assert.equal(res.status, 400);
      assert.match(res.body.detail, /online snapshot key/);
      const tampered = buildRoot(plan);
      for (const key of keys.root) tampered.sign(signerFor(key), true);
      const json = tampered.toJSON() as { signed: { version: number } };
      json.signed.version = 2;
      res = await t.call('PUT', '/v1/orgs/acme/updates/root', { body: json });
      assert.equal(res.status, 400);
      res = await t.call('PUT', '/v1/orgs/acme/updates/root', { body: { signed: 'garbage' } });
      assert.equal(res.status, 400);
      const status = await t.call('GET', '/v1/orgs/acme/updates');
      assert.equal(status.body.initialized, false);
    });

    it('publishes root version 1 signed by the root threshold, with the escrow key among the root keys', async () => {
      root1 = await initRepository(t, 'acme', keys, 2);
      const status = await t.call('GET', '/v1/orgs/acme/updates');
      assert.equal(status.body.root.version, 1);
      assert.equal(status.body.root.rootThreshold, 2);
      assert.deepEqual(status.body.root.escrowKeyIds, [keys.escrow.keyid]);
      assert.ok(status.body.root.rootKeyIds.includes(keys.escrow.keyid));
      assert.ok(status.body.warnings.some((w: string) => /no signed targets/.test(w)));
      const again = await t.call('PUT', '/v1/orgs/acme/updates/root', { body: root1 });
      assert.equal(again.status, 400, 'the same version again is refused');
      const served = await t.call('GET', '/v1/orgs/acme/updates/metadata/1.root.json');
      assert.deepEqual(served.body, root1);
      const foreign = await t.call('GET', '/v1/orgs/acme/updates/metadata/1.root.json', {
        token: (await t.call('POST', '/v1/orgs/other/tokens', { body: { name: 'x', role: 'admin' } })).body
          .token,
      });
      assert.equal(foreign.status, 404, 'another organisation cannot read it');
    });

    it('stores artifacts content-addressed and serves them with Range, If-Range and ETag', async () => {
      const sha = (await createArtifact(t, image)).sha256;
      const again = await createArtifact(t, image);
      assert.equal(again.sha256, sha);
      const url = `/v1/orgs/acme/artifacts/${sha}`;
      const auth = { authorization: `Bearer ${t.rootToken}` };
      const whole = await t.app.http.inject({ method: 'GET', url, headers: auth });
      assert.equal(whole.statusCode, 200);
      assert.equal(whole.headers.etag, `"${sha}"`);
      assert.ok(whole.rawPayload.equals(image));
      const part = await t.app.http.inject({
        method: 'GET',
        url,
        headers: { ...auth, range: 'bytes=1000-1999' },
      });
      assert.equal(part.statusCode, 206);
      assert.equal(part.headers['content-range'], `bytes 1000-1999/${image.length}`);
      assert.ok(part.rawPayload.equals(image.subarray(1000, 2000)));
      const tail = await t.app.http.inject({
        method: 'GET',
        url,
        headers: { ...auth, range: 'bytes=299990-', 'if-range': `"${sha}"` },
      });
      assert.equal(tail.statusCode, 206);
      assert.equal(tail.rawPayload.length, 10);
      const changed = await t.app.http.inject({
        method: 'GET',
        url,
        headers: { ...auth, range: 'bytes=0-9', 'if-range': '"other"' },
      });
      assert.equal(changed.statusCode, 200, 'If-Range with another ETag gets the whole file');
      const beyond = await t.app.http.inject({
        method: 'GET',
        url,
        headers: { ...auth, range: 'bytes=400000-' },
      });
      assert.equal(beyond.statusCode, 416);
      assert.equal(beyond.headers['content-range'], `bytes */${image.length}`);
      const cached = await t.app.http.inject({
        method: 'GET',
        url,
        headers: { ...auth, 'if-none-match': `"${sha}"` },
      });
      assert.equal(cached.statusCode, 304);
    });

    it('refuses an empty artifact, one over the size limit, and JSON in place of bytes; keeps nothing', async () => {
      const empty = await t.app.http.inject({
        method: 'POST',
        url: '/v1/orgs/acme/artifacts',
        headers: { authorization: `Bearer ${t.rootToken}`, 'content-type': 'application/octet-stream' },
        payload: Buffer.alloc(0),
      });
      assert.equal(empty.statusCode, 400);
      const big = await t.app.http.inject({
        method: 'POST',
        url: '/v1/orgs/acme/artifacts',
        headers: { authorization: `Bearer ${t.rootToken}`, 'content-type': 'application/octet-stream' },
        payload: Buffer.alloc(1024 * 1024 + 1),
      });
      assert.equal(big.statusCode, 413);
      // Without a length up front (chunked), the store stops keeping bytes at the limit, reads
      // the rest away and answers 413 on a connection that stays usable.
      const base = await listen(t);
      const chunked = await new Promise<number>((resolve, reject) => {
        const req = httpsRequest(
          `${base.url}/v1/orgs/acme/artifacts`,
          {
            method: 'POST',
            ca: base.ca,
            headers: { authorization: `Bearer ${t.rootToken}`, 'content-type': 'application/octet-stream' },
          },
          (res) => {
            res.resume();
            resolve(res.statusCode ?? 0);
          },
        );
        req.on('error', reject);
        for (let i = 0; i < 20; i++) req.write(Buffer.alloc(64 * 1024, i));
        req.end();
      });
      assert.equal(chunked, 413);
      const json = await t.call('POST', '/v1/orgs/acme/artifacts', { body: { not: 'bytes' } });
      assert.equal(json.status, 415);
      assert.equal(t.app.services.artifacts.kind, dialect === 'postgres' ? 'postgres' : 'local');
      if (dialect === 'postgres') {
        const partial = await t.app.services.store.db
          .selectFrom('artifact_blobs')
          .select('upload_id')
          .where('sha256', 'is', null)
          .execute();
        assert.deepEqual(partial, [], 'no partial upload is left behind');
      } else {
        const incoming = join(t.database.dataDir, 'artifacts', '.incoming');
        assert.deepEqual(
          (await import('node:fs')).readdirSync(incoming),
          [],
          'no partial upload is left behind',
        );
      }
    });

    it('checks releases: semantic version, known artifact, unique version, sane file name', async () => {
      const sha = (await createArtifact(t, image)).sha256;
      const base = { productId, kind: 'feature', securityVersion: 1, filename: 'fw.bin', sha256: sha };
      const bad = [
        { ...base, version: 'latest' },
        { ...base, version: '1.0.0', sha256: 'f'.repeat(64) },
        { ...base, version: '1.0.0', filename: '../../etc/passwd' },
        { ...base, version: '1.0.0', kind: 'urgent' },
        { ...base, version: '1.0.0', securityVersion: -1 },
      ];
      for (const body of bad) {
        const res = await t.call('POST', '/v1/orgs/acme/releases', { body });
        assert.equal(res.status, 400, JSON.stringify(body));
      }
      const ok = await t.call('POST', '/v1/orgs/acme/releases', { body: { ...base, version: '0.9.0' } });
      assert.equal(ok.status, 201, ok.raw);
      assert.equal(ok.body.status, 'draft');
      assert.equal(ok.body.targetPath, `${productId}/0.9.0/fw.bin`);
      assert.deepEqual(ok.body.hardware, ['rev-b'], "the product's hardware revision by default");
      const twice = await t.call('POST', '/v1/orgs/acme/releases', { body: { ...base, version: '0.9.0' } });
      assert.equal(twice.status, 409);
      const downgrade = await t.call('POST', '/v1/orgs/acme/releases', {
        body: { ...base, version: '0.9.1', securityVersion: 0 },
      });
      assert.equal(downgrade.status, 400, 'a later release may not lower the security version');
      assert.match(downgrade.body.detail, /at least 1/);
      const older = await t.call('POST', '/v1/orgs/acme/releases', {
        body: { ...base, version: '0.8.0', securityVersion: 5 },
      });
      assert.equal(older.status, 400, 'an earlier release may not raise it above a later one');
      const rollout = await t.call('POST', '/v1/orgs/acme/rollouts', { body: { releaseId: ok.body.id } });
      assert.equal(rollout.status, 409, 'an unsigned release cannot be rolled out');
      assert.match(rollout.body.detail, /not signed/);
    });

    it('publishes targets only once the targets threshold signed; refuses foreign and broken signatures', async () => {
      const releaseId = await createRelease(t, 'acme', productId, image, { version: '1.0.0' });
      const draft = await t.call('POST', '/v1/orgs/acme/updates/targets/draft', { body: {} });
      assert.equal(draft.status, 200);
      assert.ok(draft.body.releaseIds.includes(releaseId));
      const metadata = Metadata.fromJSON(MetadataKind.Targets, draft.body.metadata) as Metadata<Targets>;
      const sign = (key: Parameters<typeof signerFor>[0]) => {
        const copy = Metadata.fromJSON(MetadataKind.Targets, draft.body.metadata) as Metadata<Targets>;
        copy.sign(signerFor(key), false);
        const signature = Object.values(copy.signatures)[0] as { keyID: string; sig: string };
        return { keyid: signature.keyID, sig: signature.sig };
      };
      const post = (signatures: { keyid: string; sig: string }[], version = draft.body.version) =>
        t.call('POST', '/v1/orgs/acme/updates/targets/signatures', { body: { version, signatures } });

      const foreign = await post([sign(keys.root[0] as never)]);
      assert.equal(foreign.status, 400, 'a root key is not a targets key');
      const good = sign(keys.targets[0] as never);
      // Flip every bit of the last byte: setting it to a fixed value left it unchanged 1 time in 256.
      const lastByte = (Number.parseInt(good.sig.slice(-2), 16) ^ 0xff).toString(16).padStart(2, '0');
      const broken = await post([{ keyid: good.keyid, sig: `${good.sig.slice(0, -2)}${lastByte}` }]);
      assert.equal(broken.status, 400);
      assert.match(broken.body.detail, /does not verify/);
      const stale = await post([good], draft.body.version + 1);
      assert.equal(stale.status, 409);

      const first = await post([good]);
      assert.equal(first.status, 200);
      assert.equal(first.body.published, false);
      assert.equal(first.body.signatures, 1);
      assert.equal((await t.call('GET', `/v1/orgs/acme/releases/${releaseId}`)).body.status, 'draft');
      assert.equal((await t.call('GET', '/v1/orgs/acme/updates/metadata/1.targets.json')).status, 404);

      const second = await post([sign(keys.targets[1] as never)]);
      assert.equal(second.body.published, true);
      assert.equal((await t.call('GET', `/v1/orgs/acme/releases/${releaseId}`)).body.status, 'published');
      const status = (await t.call('GET', '/v1/orgs/acme/updates')).body;
      assert.equal(status.targets.version, 1);
      assert.equal(status.snapshot.version, 1);
      assert.equal(status.timestamp.version, 1);
      assert.equal(status.draft, null);
      void metadata;
      const audit = await t.call('GET', '/v1/orgs/acme/audit?limit=500');
      const actions = audit.body.items.map((e: { action: string }) => e.action);
      for (const action of [
        'updates.root.publish',
        'updates.targets.sign',
        'updates.targets.publish',
        'release.create',
      ])
        assert.ok(actions.includes(action), action);
    });

    it('tuf-js, an off-the-shelf TUF client, refreshes and downloads a verified target from the running server', async () => {
      const base = await listen(t);
      const device = await provision(t, productId);
      const dir = mkdtempSync(join(tmpdir(), 'tuf-client-'));
      try {
        (await import('node:fs')).mkdirSync(join(dir, 'metadata'));
        (await import('node:fs')).writeFileSync(join(dir, 'metadata', 'root.json'), JSON.stringify(root1));
        (await import('node:fs')).mkdirSync(join(dir, 'targets'));
        const updater = new Updater({
          metadataDir: join(dir, 'metadata'),
          metadataBaseUrl: `${base.url}/device/v1/updates/metadata/`,
          targetDir: join(dir, 'targets'),
          targetBaseUrl: `${base.url}/device/v1/updates/targets/`,
          fetcher: new DeviceFetcher({ deviceId: device.deviceId, secret: device.secret, ca: base.ca }),
        });
        await updater.refresh();
        const info = await updater.getTargetInfo(`${productId}/1.0.0/firmware.bin`);
        assert.ok(info, 'the target is listed');
        assert.equal(info.length, image.length);
        assert.equal((info.custom as { brickless: { version: string } }).brickless.version, '1.0.0');
        const path = await updater.downloadTarget(info, join(dir, 'targets', 'fw.bin'));
        assert.ok(readFileSync(path).equals(image));
        // Without a credential the repository answers nothing.
        const anonymous = await fetchStatus(`${base.url}/device/v1/updates/metadata/timestamp.json`, base.ca);
        assert.equal(anonymous, 401);
        // A device of another organisation gets neither the image nor this repository's metadata.
        const otherProduct = await t.call('POST', '/v1/orgs/other/products', {
          body: {
            modelNumber: 'X',
            name: 'X',
            hardwareRevision: 'x',
            supportEnds: '2031-12-31',
            capabilities: plugCapabilities,
          },
        });
        const stranger = (
          await t.call('POST', '/v1/orgs/other/provisioning', {
            body: { productId: otherProduct.body.id, serials: ['OTHER-1'], credential: 'secret' },
          })
        ).body.devices[0];
        const basic = {
          authorization: `Basic ${Buffer.from(`${stranger.deviceId}:${stranger.secret}`).toString('base64')}`,
        };
        const foreignImage = await t.app.http.inject({
          method: 'GET',
          url: `/device/v1/updates/targets/${productId}/1.0.0/${info.hashes.sha256}.firmware.bin`,
          headers: basic,
        });
        assert.equal(foreignImage.statusCode, 404);
        const metadata = await t.app.http.inject({
          method: 'GET',
          url: '/device/v1/updates/metadata/1.root.json',
          headers: basic,
        });
        assert.equal(
          metadata.statusCode,
          404,
          "its own organisation has no repository; acme's is not visible",
        );
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });

    it('rotates root N → N+1 only with both thresholds; a client walks the chain; old targets keys stop counting', async () => {
      const online = (await t.call('GET', '/v1/orgs/acme/updates/online-keys')).body;
      const newRoot = [generateSigningKey('root-3'), generateSigningKey('root-4')];
      const newTargets = generateSigningKey('targets-3');
      const plan = {
        version: 2,
        expires: new Date(Date.now() + 365 * 86_400_000),
        rootKeys: newRoot,
        rootThreshold: 2,
        targetsKeys: [newTargets],
        targetsThreshold: 1,
        escrowKeys: [keys.escrow],
        snapshotKey: online.snapshot,
        timestampKey: online.timestamp,
      };
      const onlyNew = buildRoot(plan);
      for (const key of newRoot) onlyNew.sign(signerFor(key), true);
      let res = await t.call('PUT', '/v1/orgs/acme/updates/root', { body: onlyNew.toJSON() });
      assert.equal(res.status, 400);
      assert.match(res.body.detail, /current root keys/);
      const onlyOld = buildRoot(plan);
      for (const key of keys.root) onlyOld.sign(signerFor(key), true);
      res = await t.call('PUT', '/v1/orgs/acme/updates/root', { body: onlyOld.toJSON() });
      assert.equal(res.status, 400);
      assert.match(res.body.detail, /its own root keys/);
      // The escrow key counts as one of the old root keys: maker key + escrow key meet threshold 2.
      const both = buildRoot(plan);
      for (const key of [keys.root[0], keys.escrow, ...newRoot]) both.sign(signerFor(key as never), true);
      res = await t.call('PUT', '/v1/orgs/acme/updates/root', { body: both.toJSON() });
      assert.equal(res.status, 200, res.raw);
      const status = (await t.call('GET', '/v1/orgs/acme/updates')).body;
      assert.equal(status.root.version, 2);
      assert.equal(status.targets.signedByCurrentKeys, false);
      assert.ok(status.warnings.some((w: string) => /not signed by the current root/.test(w)));
      const resigned = await signTargets(t, 'acme', [newTargets]);
      assert.equal(resigned.published, true);
      assert.equal((await t.call('GET', '/v1/orgs/acme/updates')).body.targets.signedByCurrentKeys, true);

      const base = await listen(t);
      const device = await provision(t, productId);
      const dir = mkdtempSync(join(tmpdir(), 'tuf-client-'));
      try {
        const fs = await import('node:fs');
        fs.mkdirSync(join(dir, 'metadata'));
        fs.writeFileSync(join(dir, 'metadata', 'root.json'), JSON.stringify(root1));
        const updater = new Updater({
          metadataDir: join(dir, 'metadata'),
          metadataBaseUrl: `${base.url}/device/v1/updates/metadata/`,
          fetcher: new DeviceFetcher({ deviceId: device.deviceId, secret: device.secret, ca: base.ca }),
        });
        await updater.refresh();
        const trusted = JSON.parse(fs.readFileSync(join(dir, 'metadata', 'root.json'), 'utf8'));
        assert.equal((Metadata.fromJSON(MetadataKind.Root, trusted) as Metadata<Root>).signed.version, 2);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });

    it('re-signs snapshot and timestamp before they expire', async () => {
      const before = (await t.call('GET', '/v1/orgs/acme/updates')).body;
      assert.equal(await t.app.services.updateRepository.refreshOnlineMetadata(), 0, 'nothing is due yet');
      clock.advance(13 * HOUR);
      assert.equal(await t.app.services.updateRepository.refreshOnlineMetadata(), 1);
      const afterRefresh = (await t.call('GET', '/v1/orgs/acme/updates')).body;
      assert.equal(afterRefresh.timestamp.version, before.timestamp.version + 1);
      assert.equal(afterRefresh.snapshot.version, before.snapshot.version);
      clock.advance(4 * 24 * HOUR);
      await t.app.services.updateRepository.refreshOnlineMetadata();
      const later = (await t.call('GET', '/v1/orgs/acme/updates')).body;
      assert.equal(later.snapshot.version, before.snapshot.version + 1);
      assert.ok(Date.parse(later.timestamp.expires) > clock.now().getTime());
      clock.set(new Date());
    });
  });
}

async function createArtifact(t: TestApp, bytes: Buffer): Promise<{ sha256: string }> {
  const response = await t.app.http.inject({
    method: 'POST',
    url: '/v1/orgs/acme/artifacts',
    headers: { authorization: `Bearer ${t.rootToken}`, 'content-type': 'application/octet-stream' },
    payload: bytes,
  });
  assert.equal(response.statusCode, 201, response.body);
  return JSON.parse(response.body);
}

const listening = new WeakMap<TestApp, { url: string; ca: string }>();
async function listen(t: TestApp): Promise<{ url: string; ca: string }> {
  const known = listening.get(t);
  if (known) return known;
  await t.app.http.listen({ host: '127.0.0.1', port: 0 });
  const { port } = t.app.http.server.address() as AddressInfo;
  const tls = await ensureTls({ dataDir: t.database.dataDir, hostnames: [] });
  const result = { url: `https://127.0.0.1:${port}`, ca: readFileSync(tls.caFile as string, 'utf8') };
  listening.set(t, result);
  return result;
}

async function provision(t: TestApp, productId: string): Promise<{ deviceId: string; secret: string }> {
  const res = await t.call('POST', '/v1/orgs/acme/provisioning', {
    body: { productId, serials: [`SN-${Math.random().toString(36).slice(2, 10)}`], credential: 'secret' },
  });
  assert.equal(res.status, 201, res.raw);
  return res.body.devices[0];
}

async function fetchStatus(url: string, ca: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest(url, { ca }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', reject);
    req.end();
  });
}
