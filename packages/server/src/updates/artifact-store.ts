import { createHash, randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, open, rename, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';

export interface StoredArtifact {
  sha256: string;
  length: number;
}

/** A byte range, both ends inclusive (RFC 9110 14.1.2). */
export interface ByteRange {
  start: number;
  end: number;
}

/** An artifact larger than the limit; nothing was kept. */
export class ArtifactTooLarge extends Error {
  constructor(readonly maxBytes: number) {
    super(`the artifact is larger than the limit of ${maxBytes} bytes`);
  }
}

/** The bytes did not hash to what the caller expected (a copy, a restore); nothing was kept. */
export class ArtifactHashMismatch extends Error {
  constructor(
    readonly expected: string,
    readonly actual: string,
  ) {
    super(`the artifact hashes to ${actual}, not the expected ${expected}; nothing was kept`);
  }
}

/** The database lists an artifact whose bytes the store does not hold. */
export class ArtifactMissing extends Error {
  constructor(
    readonly orgId: string,
    readonly sha256: string,
    where: string,
  ) {
    super(`artifact ${sha256} of ${orgId} is missing from the ${where} artifact store`);
  }
}

/** The store could not be reached or answered with an error (an S3 server down, PostgreSQL gone). */
export class ArtifactStoreUnavailable extends Error {
  constructor(where: string, cause: unknown) {
    super(`the ${where} artifact store failed: ${cause instanceof Error ? cause.message : String(cause)}`, {
      cause,
    });
  }
}

export interface PutOptions {
  /** When set, the upload is refused (and nothing kept) unless the bytes hash to it. */
  sha256?: string;
}

/**
 * Where firmware images and SBOMs live: content-addressed by SHA-256 per organisation, in a local
 * directory, in PostgreSQL or in an S3-compatible bucket (docs/artefacts.md, decision 0030).
 * Every method streams; none loads an artifact whole into memory. An upload appears under its
 * address only once complete and verified: an interrupted one is never readable.
 */
export interface ArtifactStore {
  /** Which kind of store this is, for messages and `brickless artifacts migrate`. */
  readonly kind: 'local' | 'postgres' | 's3';
  /** Streams `body` in, hashing on the way; the artifact appears only once complete. */
  put(orgId: string, body: Readable, maxBytes: number, options?: PutOptions): Promise<StoredArtifact>;
  /** Length of the stored artifact, or null when it is not there. */
  size(orgId: string, sha256: string): Promise<number | null>;
  /** The bytes `start`..`end` (inclusive), or all of them; throws ArtifactMissing when absent. */
  read(orgId: string, sha256: string, range?: ByteRange): Promise<Readable>;
  /** Releases connections the store holds (an S3 client's sockets); the store is unusable after. */
  close?(): Promise<void>;
}

const HEX64 = /^[0-9a-f]{64}$/;
const ORG = /^org_[0-9a-f]+$/;

/** Refuses an address that could escape a directory or a key prefix. */
export function checkAddress(orgId: string, sha256: string): void {
  if (!HEX64.test(sha256) || !ORG.test(orgId)) throw new Error('bad artifact address');
}

/** Read buffer of downloads: large enough for few syscalls or queries, small per connection. */
export const READ_HIGH_WATER_MARK = 256 * 1024;

/**
 * The bytes of `body` as they arrive, counted and hashed. Past `maxBytes` it stops yielding,
 * reads the rest away (so the client still gets its 413 on a usable connection) and throws
 * ArtifactTooLarge. Once the body has ended, `done()` gives the SHA-256 and length, checked
 * against `expected` when given.
 */
export function meter(
  body: Readable,
  maxBytes: number,
  expected?: string,
): { chunks: AsyncGenerator<Buffer>; done: () => StoredArtifact } {
  const hash = createHash('sha256');
  let length = 0;
  let result: StoredArtifact | null = null;
  async function* chunks(): AsyncGenerator<Buffer> {
    let tooLarge = false;
    for await (const chunk of body as AsyncIterable<Buffer>) {
      if (tooLarge) continue;
      length += chunk.length;
      if (length > maxBytes) {
        tooLarge = true;
        continue;
      }
      hash.update(chunk);
      yield chunk;
    }
    if (tooLarge) throw new ArtifactTooLarge(maxBytes);
    const sha256 = hash.digest('hex');
    if (expected !== undefined && sha256 !== expected) throw new ArtifactHashMismatch(expected, sha256);
    result = { sha256, length };
  }
  return {
    chunks: chunks(),
    done: () => {
      if (!result) throw new Error('the artifact upload did not finish');
      return result;
    },
  };
}

/** Regroups a stream of buffers into pieces of exactly `size` bytes (the last one shorter). */
export async function* rechunk(source: AsyncIterable<Buffer>, size: number): AsyncGenerator<Buffer> {
  let parts: Buffer[] = [];
  let held = 0;
  for await (let chunk of source) {
    while (held + chunk.length >= size) {
      const take = size - held;
      parts.push(chunk.subarray(0, take));
      yield Buffer.concat(parts, size);
      parts = [];
      held = 0;
      chunk = chunk.subarray(take);
    }
    if (chunk.length > 0) {
      parts.push(chunk);
      held += chunk.length;
    }
  }
  if (held > 0) yield Buffer.concat(parts, held);
}

/** The default store with SQLite: files under `<dataDir>/artifacts/<org>/<ab>/<sha256>`, written by rename. */
export class FilesystemArtifactStore implements ArtifactStore {
  readonly kind = 'local' as const;
  constructor(readonly root: string) {}

  #path(orgId: string, sha256: string): string {
    checkAddress(orgId, sha256);
    return join(this.root, orgId, sha256.slice(0, 2), sha256);
  }

  async put(
    orgId: string,
    body: Readable,
    maxBytes: number,
    options: PutOptions = {},
  ): Promise<StoredArtifact> {
    checkAddress(orgId, options.sha256 ?? '0'.repeat(64));
    const tmpDir = join(this.root, '.incoming');
    await mkdir(tmpDir, { recursive: true, mode: 0o700 });
    const tmp = join(tmpDir, randomBytes(12).toString('hex'));
    const out = createWriteStream(tmp, { mode: 0o600 });
    const metered = meter(body, maxBytes, options.sha256);
    try {
      await new Promise<void>((resolve, reject) => {
        out.once('error', reject);
        (async () => {
          for await (const chunk of metered.chunks)
            if (!out.write(chunk)) await new Promise<void>((drained) => out.once('drain', () => drained()));
          out.end(() => resolve());
        })().catch(reject);
      });
      const stored = metered.done();
      const path = this.#path(orgId, stored.sha256);
      await mkdir(join(path, '..'), { recursive: true, mode: 0o700 });
      await rename(tmp, path);
      return stored;
    } catch (error) {
      out.destroy();
      await unlink(tmp).catch(() => undefined);
      throw error;
    }
  }

  async size(orgId: string, sha256: string): Promise<number | null> {
    try {
      return (await stat(this.#path(orgId, sha256))).size;
    } catch {
      return null;
    }
  }

  async read(orgId: string, sha256: string, range?: ByteRange): Promise<Readable> {
    let handle: Awaited<ReturnType<typeof open>>;
    try {
      handle = await open(this.#path(orgId, sha256), 'r');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT')
        throw new ArtifactMissing(orgId, sha256, 'local');
      throw error;
    }
    return handle.createReadStream({
      ...(range ? { start: range.start, end: range.end } : {}),
      highWaterMark: READ_HIGH_WATER_MARK,
    });
  }
}
