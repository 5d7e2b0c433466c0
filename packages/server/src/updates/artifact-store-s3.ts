import { randomBytes } from 'node:crypto';
import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import { Readable } from 'node:stream';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  PutObjectCommand,
  S3Client,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import {
  ArtifactMissing,
  type ArtifactStore,
  ArtifactStoreUnavailable,
  type ByteRange,
  checkAddress,
  meter,
  type PutOptions,
  READ_HIGH_WATER_MARK,
  rechunk,
  type StoredArtifact,
} from './artifact-store.js';

/** Config `artifacts.s3`: nothing has a default; credentials come from the config or BRICKLESS_ARTIFACTS_S3_*. */
export interface S3Settings {
  /** `https://s3.example.net` or `http://127.0.0.1:9000` for a server on the LAN. */
  endpoint: string;
  bucket: string;
  region: string;
  accessKeyId: string;
  secretAccessKey: string;
  /** Key prefix inside the bucket, e.g. `brickless/`; empty by default. */
  prefix?: string;
  /** Path-style addressing (`endpoint/bucket/key`), which MinIO, Garage and Ceph expect; on by default. */
  forcePathStyle?: boolean;
}

/**
 * Multipart part size: an upload holds one part in memory at a time (8 MiB), whatever the
 * image's size. S3 wants parts of at least 5 MiB except the last.
 */
export const S3_PART_BYTES = 8 * 1024 * 1024;

const notFound = (error: unknown): boolean => {
  const e = error as { name?: string; $metadata?: { httpStatusCode?: number } };
  return e.name === 'NoSuchKey' || e.name === 'NotFound' || e.$metadata?.httpStatusCode === 404;
};

/**
 * The asked range out of what the server sent. A server may ignore Range and send the whole
 * object (RFC 9110 14.2 lets it), and some S3-compatible servers send more than asked (s3rver
 * answers `bytes=0-0` with the whole object): a device resuming a download must get exactly the
 * bytes its 206 announced.
 */
function trim(body: Readable, range: ByteRange, contentRange: string | undefined): Readable {
  const served = /^bytes (\d+)-(\d+)\//.exec(contentRange ?? '');
  const servedStart = served ? Number(served[1]) : 0;
  const servedEnd = served ? Number(served[2]) : Number.POSITIVE_INFINITY;
  if (servedStart === range.start && servedEnd === range.end) return body;
  if (servedStart > range.start || servedEnd < range.end) {
    body.destroy();
    throw new Error(`the server sent bytes ${servedStart}-${servedEnd} for ${range.start}-${range.end}`);
  }
  let skip = range.start - servedStart;
  let left = range.end - range.start + 1;
  async function* cut(): AsyncGenerator<Buffer> {
    for await (let chunk of body as AsyncIterable<Buffer>) {
      if (skip > 0) {
        const dropped = Math.min(skip, chunk.length);
        chunk = chunk.subarray(dropped);
        skip -= dropped;
      }
      if (chunk.length === 0) continue;
      const kept = chunk.subarray(0, left);
      left -= kept.length;
      yield kept;
      if (left === 0) break;
    }
  }
  return Readable.from(cut(), { objectMode: false, highWaterMark: READ_HIGH_WATER_MARK });
}

/**
 * Artifacts in an S3-compatible bucket (decision 0030), for clusters that already run an object
 * store. An upload goes to a random key under `.incoming/` (a single PUT below one part, else a
 * multipart upload that is aborted on any failure), then is copied to its content address
 * `<prefix><org>/<ab>/<sha256>` once the hash is known and verified, and the incoming key
 * deleted: the address never shows a partial object. Reads are ranged GETs, streamed as they
 * arrive.
 */
export class S3ArtifactStore implements ArtifactStore {
  readonly kind = 's3' as const;
  readonly #client: S3Client;
  readonly #bucket: string;
  readonly #prefix: string;

  constructor(settings: S3Settings) {
    for (const key of ['endpoint', 'bucket', 'region', 'accessKeyId', 'secretAccessKey'] as const)
      if (!settings[key]) throw new Error(`artifacts.s3.${key} is required when artifacts.store is s3`);
    this.#bucket = settings.bucket;
    this.#prefix = settings.prefix ?? '';
    this.#client = new S3Client({
      endpoint: settings.endpoint,
      region: settings.region,
      forcePathStyle: settings.forcePathStyle ?? true,
      // Explicit credentials only: never the SDK's chain of environment, profile files and
      // instance metadata, so a node cannot silently write with credentials nobody configured.
      credentials: { accessKeyId: settings.accessKeyId, secretAccessKey: settings.secretAccessKey },
      maxAttempts: 3,
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
      requestHandler: {
        httpAgent: new HttpAgent({ keepAlive: true, maxSockets: 64 }),
        httpsAgent: new HttpsAgent({ keepAlive: true, maxSockets: 64 }),
        connectionTimeout: 5000,
      },
    });
  }

  key(orgId: string, sha256: string): string {
    checkAddress(orgId, sha256);
    return `${this.#prefix}${orgId}/${sha256.slice(0, 2)}/${sha256}`;
  }

  async put(
    orgId: string,
    body: Readable,
    maxBytes: number,
    options: PutOptions = {},
  ): Promise<StoredArtifact> {
    checkAddress(orgId, options.sha256 ?? '0'.repeat(64));
    const incoming = `${this.#prefix}.incoming/${randomBytes(12).toString('hex')}`;
    const metered = meter(body, maxBytes, options.sha256);
    const parts = rechunk(metered.chunks, S3_PART_BYTES)[Symbol.asyncIterator]();
    let uploadId: string | undefined;
    let id = '';
    let written = false;
    try {
      const first = await parts.next();
      const second = first.done ? first : await parts.next();
      if (second.done) {
        // One part or none: a single PUT.
        const data = first.done ? Buffer.alloc(0) : first.value;
        await this.#try(() =>
          this.#client.send(new PutObjectCommand({ Bucket: this.#bucket, Key: incoming, Body: data })),
        );
        written = true;
      } else {
        uploadId = (
          await this.#try(() =>
            this.#client.send(new CreateMultipartUploadCommand({ Bucket: this.#bucket, Key: incoming })),
          )
        ).UploadId;
        if (!uploadId) throw new ArtifactStoreUnavailable('s3', new Error('no UploadId in the answer'));
        id = uploadId;
        const done: { ETag: string; PartNumber: number }[] = [];
        let number = 1;
        for (const data of [first.value, second.value])
          done.push(await this.#part(incoming, id, number++, data));
        for (let next = await parts.next(); !next.done; next = await parts.next())
          done.push(await this.#part(incoming, id, number++, next.value));
        await this.#try(() =>
          this.#client.send(
            new CompleteMultipartUploadCommand({
              Bucket: this.#bucket,
              Key: incoming,
              UploadId: id,
              MultipartUpload: { Parts: done },
            }),
          ),
        );
        uploadId = undefined;
        written = true;
      }
      const stored = metered.done();
      const target = this.key(orgId, stored.sha256);
      if ((await this.#head(target)) === null)
        await this.#try(() =>
          this.#client.send(
            new CopyObjectCommand({
              Bucket: this.#bucket,
              Key: target,
              CopySource: `${this.#bucket}/${incoming.split('/').map(encodeURIComponent).join('/')}`,
            }),
          ),
        );
      return stored;
    } catch (error) {
      if (uploadId)
        await this.#client
          .send(new AbortMultipartUploadCommand({ Bucket: this.#bucket, Key: incoming, UploadId: uploadId }))
          .catch(() => undefined);
      throw error;
    } finally {
      if (written)
        await this.#client
          .send(new DeleteObjectCommand({ Bucket: this.#bucket, Key: incoming }))
          .catch(() => undefined);
      await parts.return?.(undefined);
    }
  }

  async size(orgId: string, sha256: string): Promise<number | null> {
    return this.#head(this.key(orgId, sha256));
  }

  async read(orgId: string, sha256: string, range?: ByteRange): Promise<Readable> {
    try {
      const answer = await this.#client.send(
        new GetObjectCommand({
          Bucket: this.#bucket,
          Key: this.key(orgId, sha256),
          ...(range ? { Range: `bytes=${range.start}-${range.end}` } : {}),
        }),
      );
      const body = answer.Body as Readable;
      return range ? trim(body, range, answer.ContentRange) : body;
    } catch (error) {
      if (notFound(error)) throw new ArtifactMissing(orgId, sha256, 's3');
      throw new ArtifactStoreUnavailable('s3', error);
    }
  }

  async close(): Promise<void> {
    this.#client.destroy();
  }

  async #part(key: string, uploadId: string, number: number, data: Buffer) {
    const answer = await this.#try(() =>
      this.#client.send(
        new UploadPartCommand({
          Bucket: this.#bucket,
          Key: key,
          UploadId: uploadId,
          PartNumber: number,
          Body: data,
        }),
      ),
    );
    return { ETag: answer.ETag as string, PartNumber: number };
  }

  async #head(key: string): Promise<number | null> {
    try {
      const answer = await this.#client.send(new HeadObjectCommand({ Bucket: this.#bucket, Key: key }));
      return answer.ContentLength ?? null;
    } catch (error) {
      if (notFound(error)) return null;
      throw new ArtifactStoreUnavailable('s3', error);
    }
  }

  async #try<T>(work: () => Promise<T>): Promise<T> {
    try {
      return await work();
    } catch (error) {
      throw new ArtifactStoreUnavailable('s3', error);
    }
  }
}
