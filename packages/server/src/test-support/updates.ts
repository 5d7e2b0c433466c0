import assert from 'node:assert/strict';
import { Metadata, MetadataKind, type Targets } from '@tufjs/models';
import { generateSigningKey, type PrivateKeyFile, signerFor } from '../updates/keys.js';
import { buildRoot } from '../updates/metadata.js';
import type { TestApp } from './app.js';

export interface MakerKeys {
  root: PrivateKeyFile[];
  targets: PrivateKeyFile[];
  escrow: PrivateKeyFile;
}

/** The maker's offline keys: two root keys, two targets keys and an escrow key. */
export function makerKeys(): MakerKeys {
  return {
    root: [generateSigningKey('root-1'), generateSigningKey('root-2')],
    targets: [generateSigningKey('targets-1'), generateSigningKey('targets-2')],
    escrow: generateSigningKey('escrow'),
  };
}

/** Builds and publishes root version 1 (root threshold 2, targets threshold `targetsThreshold`). */
export async function initRepository(
  t: TestApp,
  org: string,
  keys: MakerKeys,
  targetsThreshold = 1,
): Promise<unknown> {
  const online = await t.call('GET', `/v1/orgs/${org}/updates/online-keys`);
  assert.equal(online.status, 200, online.raw);
  const root = buildRoot({
    version: 1,
    expires: new Date(Date.now() + 365 * 86_400_000),
    rootKeys: keys.root,
    rootThreshold: 2,
    targetsKeys: keys.targets,
    targetsThreshold,
    escrowKeys: [keys.escrow],
    snapshotKey: online.body.snapshot,
    timestampKey: online.body.timestamp,
  });
  for (const key of keys.root) root.sign(signerFor(key), true);
  const published = await t.call('PUT', `/v1/orgs/${org}/updates/root`, { body: root.toJSON() });
  assert.equal(published.status, 200, published.raw);
  return root.toJSON();
}

/** Uploads bytes as an artifact over the API; returns its SHA-256. */
export async function uploadArtifact(t: TestApp, org: string, bytes: Buffer): Promise<string> {
  const response = await t.app.http.inject({
    method: 'POST',
    url: `/v1/orgs/${org}/artifacts`,
    headers: { authorization: `Bearer ${t.rootToken}`, 'content-type': 'application/octet-stream' },
    payload: bytes,
  });
  assert.equal(response.statusCode, 201, response.body);
  return JSON.parse(response.body).sha256 as string;
}

/** Creates a release of `bytes` for the product; returns its id. */
export async function createRelease(
  t: TestApp,
  org: string,
  productId: string,
  bytes: Buffer,
  fields: { version: string; kind?: 'security' | 'feature'; securityVersion?: number; hardware?: string[] },
): Promise<string> {
  const sha256 = await uploadArtifact(t, org, bytes);
  const release = await t.call('POST', `/v1/orgs/${org}/releases`, {
    body: {
      productId,
      kind: 'feature',
      securityVersion: 1,
      filename: 'firmware.bin',
      sha256,
      ...fields,
    },
  });
  assert.equal(release.status, 201, release.raw);
  return release.body.id as string;
}

/** Signs the current targets draft (made now) with the keys, as `brickless release sign` does. */
export async function signTargets(t: TestApp, org: string, keys: PrivateKeyFile[]) {
  const draft = await t.call('POST', `/v1/orgs/${org}/updates/targets/draft`, { body: {} });
  assert.equal(draft.status, 200, draft.raw);
  const metadata = Metadata.fromJSON(MetadataKind.Targets, draft.body.metadata) as Metadata<Targets>;
  for (const key of keys) metadata.sign(signerFor(key), true);
  const signed = await t.call('POST', `/v1/orgs/${org}/updates/targets/signatures`, {
    body: {
      version: draft.body.version,
      signatures: Object.values(metadata.signatures).map((s) => ({ keyid: s.keyID, sig: s.sig })),
    },
  });
  assert.equal(signed.status, 200, signed.raw);
  return signed.body as { published: boolean; version: number };
}
