import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, rename, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';

export interface StoredArtifact {
  sha256: string;
  length: number;
}

/** An artifact larger than the limit; nothing was kept. */
export class ArtifactTooLarge extends Error {
  constructor(readonly maxBytes: number) {
    super(`the artifact is larger than the limit of ${maxBytes} bytes`);
  }
}

/**
 * Where firmware images and SBOMs live: content-addressed by SHA-256 per organisation. Behind this
 * interface so that an S3-compatible store can replace the filesystem (docs/updates.md); every
 * method streams, none loads an artifact whole into memory.
 */
export interface ArtifactStore {
  /** Streams `body` in, hashing on the way; the artifact appears only once complete. */
  put(orgId: string, body: Readable, maxBytes: number): Promise<StoredArtifact>;
  /** Length of the stored artifact, or null when it is not there. */
  size(orgId: string, sha256: string): Promise<number | null>;
  /** The bytes `start`..`end` (inclusive), or all of them. */
  read(orgId: string, sha256: string, range?: { start: number; end: number }): Readable;
}

const HEX64 = /^[0-9a-f]{64}$/;

/** The default store: files under `<dataDir>/artifacts/<org>/<ab>/<sha256>`, written by rename. */
export class FilesystemArtifactStore implements ArtifactStore {
  constructor(readonly root: string) {}

  #path(orgId: string, sha256: string): string {
    if (!HEX64.test(sha256) || !/^org_[0-9a-f]+$/.test(orgId)) throw new Error('bad artifact address');
    return join(this.root, orgId, sha256.slice(0, 2), sha256);
  }

  async put(orgId: string, body: Readable, maxBytes: number): Promise<StoredArtifact> {
    const tmpDir = join(this.root, '.incoming');
    await mkdir(tmpDir, { recursive: true, mode: 0o700 });
    const tmp = join(tmpDir, randomBytes(12).toString('hex'));
    const hash = createHash('sha256');
    const out = createWriteStream(tmp, { mode: 0o600 });
    let length = 0;
    try {
      await new Promise<void>((resolve, reject) => {
        let tooLarge: ArtifactTooLarge | null = null;
        body.on('data', (chunk: Buffer) => {
          if (tooLarge) return; // read and drop the rest, so the client still gets its answer
          length += chunk.length;
          if (length > maxBytes) {
            tooLarge = new ArtifactTooLarge(maxBytes);
            out.destroy();
            return;
          }
          hash.update(chunk);
          if (!out.write(chunk)) {
            body.pause();
            out.once('drain', () => body.resume());
          }
        });
        body.once('end', () => {
          if (tooLarge) reject(tooLarge);
          else out.end(() => resolve());
        });
        body.once('error', reject);
        out.once('error', (error) => {
          if (!tooLarge) reject(error);
        });
      });
      const sha256 = hash.digest('hex');
      const path = this.#path(orgId, sha256);
      await mkdir(join(path, '..'), { recursive: true, mode: 0o700 });
      await rename(tmp, path);
      return { sha256, length };
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

  read(orgId: string, sha256: string, range?: { start: number; end: number }): Readable {
    return createReadStream(this.#path(orgId, sha256), {
      ...(range ? { start: range.start, end: range.end } : {}),
      highWaterMark: 256 * 1024,
    });
  }
}
