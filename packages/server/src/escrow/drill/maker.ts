import { Metadata, MetadataKind, type Root, type Targets } from '@tufjs/models';
import {
  generateSigningKey,
  type PrivateKeyFile,
  type PublicKeyFile,
  signerFor,
} from '../../updates/keys.js';
import { buildRoot } from '../../updates/metadata.js';
import type { Instance } from './instance.js';

/**
 * What a key holder does on their own machine, done here with key files in memory: build and sign
 * a root, sign a targets draft. The server only ever sees signatures.
 */
export async function publishRoot(
  instance: Instance,
  org: string,
  plan: {
    version: number;
    rootKeys: PrivateKeyFile[];
    escrowKeys: PrivateKeyFile[];
    targets: PrivateKeyFile;
    signers: PrivateKeyFile[];
  },
): Promise<string> {
  const online = await instance.call<{ snapshot: PublicKeyFile; timestamp: PublicKeyFile }>(
    'GET',
    `/v1/orgs/${org}/updates/online-keys`,
  );
  const root: Metadata<Root> = buildRoot({
    version: plan.version,
    expires: new Date(Date.now() + 365 * 86_400_000),
    rootKeys: plan.rootKeys,
    rootThreshold: 1,
    targetsKeys: [plan.targets],
    targetsThreshold: 1,
    escrowKeys: plan.escrowKeys,
    snapshotKey: online.snapshot,
    timestampKey: online.timestamp,
  });
  for (const key of plan.signers) root.sign(signerFor(key), true);
  await instance.call('PUT', `/v1/orgs/${org}/updates/root`, root.toJSON());
  return JSON.stringify(root.toJSON());
}

/** Uploads an image, makes it a release, and signs the targets with `targetsKey`. */
export async function shipRelease(
  instance: Instance,
  org: string,
  productId: string,
  version: string,
  targetsKey: PrivateKeyFile,
): Promise<string> {
  const artifact = await instance.call<{ sha256: string }>(
    'POST',
    `/v1/orgs/${org}/artifacts`,
    Buffer.from(`firmware ${version} ${'x'.repeat(2048)}`),
  );
  const release = await instance.call<{ id: string }>('POST', `/v1/orgs/${org}/releases`, {
    productId,
    version,
    kind: 'security',
    securityVersion: 1,
    filename: 'firmware.bin',
    sha256: artifact.sha256,
    hardware: ['A'],
  });
  const draft = await instance.call<{ version: number; metadata: Parameters<typeof Metadata.fromJSON>[1] }>(
    'POST',
    `/v1/orgs/${org}/updates/targets/draft`,
    {},
  );
  const metadata = Metadata.fromJSON(MetadataKind.Targets, draft.metadata) as Metadata<Targets>;
  metadata.sign(signerFor(targetsKey), true);
  await instance.call('POST', `/v1/orgs/${org}/updates/targets/signatures`, {
    version: draft.version,
    signatures: Object.values(metadata.signatures).map((s) => ({ keyid: s.keyID, sig: s.sig })),
  });
  return release.id;
}

export const newKey = (name: string): PrivateKeyFile => generateSigningKey(name);
