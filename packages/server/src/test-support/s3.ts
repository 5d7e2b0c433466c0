import { mkdtempSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import S3rver from 's3rver';
import type { S3Settings } from '../updates/artifact-store-s3.js';

export interface TestS3 {
  settings: S3Settings;
  /** The bucket's files on disk, for tests that damage an object behind the store's back. */
  directory: string;
  close(): Promise<void>;
}

/**
 * A real S3-compatible server for tests (decision 0030): s3rver, in this process, on an ephemeral
 * port of 127.0.0.1, keeping its bucket in a temporary directory. It checks SigV4 signatures
 * against its own fixed key pair, which is why the credentials here are its, not ours.
 */
export async function startTestS3(bucket = 'brickless-artifacts'): Promise<TestS3> {
  const directory = mkdtempSync(join(tmpdir(), 'brickless-s3-'));
  const server = new S3rver({
    address: '127.0.0.1',
    port: 0,
    silent: true,
    directory,
    configureBuckets: [{ name: bucket, configs: [] }],
  });
  const address = (await server.run()) as AddressInfo;
  return {
    settings: {
      endpoint: `http://127.0.0.1:${address.port}`,
      bucket,
      region: 'eu-central-1',
      accessKeyId: 'S3RVER',
      secretAccessKey: 'S3RVER',
    },
    directory,
    close: async () => {
      await server.close();
      rmSync(directory, { recursive: true, force: true });
    },
  };
}
