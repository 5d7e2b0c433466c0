import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream, existsSync } from 'node:fs';
import { mkdir, readFile, rename, stat, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { promisify } from 'node:util';
import { gunzip, gzip } from 'node:zlib';

const gzipAsync = promisify(gzip);
const gunzipAsync = promisify(gunzip);
const HEX64 = /^[0-9a-f]{64}$/;

/**
 * The escrow's content-addressed object store, `<escrow>/objects/<ab>/<sha256>[.ndjson.gz]`,
 * shared by every deposit in the escrow directory. An object is named by the SHA-256 of its
 * content (the NDJSON text for a data chunk, the bytes for an artifact), so a later deposit that
 * holds the same chunk or artifact writes nothing: that is what makes deposits incremental. An
 * object appears only complete (written to a temporary file, then renamed).
 */
export class ObjectStore {
  constructor(readonly root: string) {}

  path(sha256: string, kind: 'chunk' | 'blob'): string {
    if (!HEX64.test(sha256)) throw new Error(`escrow: bad object name ${JSON.stringify(sha256)}`);
    return join(this.root, 'objects', sha256.slice(0, 2), kind === 'chunk' ? `${sha256}.ndjson.gz` : sha256);
  }

  has(sha256: string, kind: 'chunk' | 'blob'): boolean {
    return existsSync(this.path(sha256, kind));
  }

  async #place(sha256: string, kind: 'chunk' | 'blob', write: (tmp: string) => Promise<void>): Promise<void> {
    const target = this.path(sha256, kind);
    const tmpDir = join(this.root, 'objects', '.incoming');
    await mkdir(tmpDir, { recursive: true, mode: 0o700 });
    const tmp = join(tmpDir, randomBytes(12).toString('hex'));
    try {
      await write(tmp);
      await mkdir(join(target, '..'), { recursive: true, mode: 0o700 });
      await rename(tmp, target);
    } catch (error) {
      await unlink(tmp).catch(() => undefined);
      throw error;
    }
  }

  /** Stores a data chunk (NDJSON text); returns its name, its gzip size and whether it was new. */
  async putChunk(text: string): Promise<{ sha256: string; bytes: number; written: boolean }> {
    const sha256 = createHash('sha256').update(text).digest('hex');
    if (this.has(sha256, 'chunk'))
      return { sha256, bytes: (await stat(this.path(sha256, 'chunk'))).size, written: false };
    const compressed = await gzipAsync(text, { level: 3 });
    await this.#place(sha256, 'chunk', (tmp) => writeFile(tmp, compressed, { mode: 0o600 }));
    return { sha256, bytes: compressed.length, written: true };
  }

  /** The NDJSON text of a chunk; throws when the content does not hash to its name. */
  async readChunk(sha256: string): Promise<string> {
    const text = (await gunzipAsync(await readFile(this.path(sha256, 'chunk')))).toString('utf8');
    const actual = createHash('sha256').update(text).digest('hex');
    if (actual !== sha256) throw new Error(`chunk ${sha256} is corrupt (its content hashes to ${actual})`);
    return text;
  }

  /** Stores a blob whose SHA-256 is known (a firmware image); returns whether it was new. */
  async putBlob(sha256: string, body: Readable): Promise<boolean> {
    if (this.has(sha256, 'blob')) return false;
    await this.#place(sha256, 'blob', async (tmp) => {
      const hash = createHash('sha256');
      body.on('data', (chunk: Buffer) => hash.update(chunk));
      await pipeline(body, createWriteStream(tmp, { mode: 0o600 }));
      const actual = hash.digest('hex');
      if (actual !== sha256)
        throw new Error(`artifact ${sha256} hashes to ${actual}: the artifact store is corrupt`);
    });
    return true;
  }

  /** SHA-256 of a stored blob, streamed. */
  async hashBlob(sha256: string): Promise<string> {
    const hash = createHash('sha256');
    for await (const chunk of createReadStream(this.path(sha256, 'blob'), { highWaterMark: 1 << 20 }))
      hash.update(chunk as Buffer);
    return hash.digest('hex');
  }
}

export function sha256Of(data: string | Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}
