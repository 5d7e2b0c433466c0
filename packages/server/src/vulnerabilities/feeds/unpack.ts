import { Unzip, UnzipInflate } from 'fflate';

export interface FeedDocument {
  name: string;
  content: unknown;
}

export class FeedReadError extends Error {}

/** Zip archives (the OSV per-ecosystem `all.zip`) start with a local file header, `PK\x03\x04`. */
export function isZip(bytes: Uint8Array): boolean {
  return (
    bytes.length >= 4 && bytes[0] === 0x50 && bytes[1] === 0x4b && bytes[2] === 0x03 && bytes[3] === 0x04
  );
}

/**
 * The JSON documents inside a zip, read entry by entry (fflate's streaming Unzip), so memory
 * holds one entry's text at a time besides the archive. Entries that are not JSON are reported.
 */
export function unzipDocuments(
  bytes: Uint8Array,
  onDocument: (doc: FeedDocument) => void,
  onProblem: (name: string, message: string) => void,
): Promise<void> {
  return new Promise((resolve, reject) => {
    const unzip = new Unzip();
    unzip.register(UnzipInflate);
    let pending = 0;
    let ended = false;
    const done = (): void => {
      if (ended && pending === 0) resolve();
    };
    unzip.onfile = (file) => {
      if (!file.name.toLowerCase().endsWith('.json')) return;
      pending++;
      const parts: Uint8Array[] = [];
      file.ondata = (error, chunk, final) => {
        if (error) {
          onProblem(file.name, `cannot unpack: ${error.message}`);
          pending--;
          return done();
        }
        parts.push(chunk);
        if (final) {
          try {
            onDocument({ name: file.name, content: JSON.parse(Buffer.concat(parts).toString('utf8')) });
          } catch (e) {
            onProblem(file.name, `not JSON: ${(e as Error).message}`);
          }
          pending--;
          done();
        }
      };
      file.start();
    };
    try {
      unzip.push(bytes, true);
    } catch (error) {
      reject(new FeedReadError(`not a readable zip archive: ${(error as Error).message}`));
      return;
    }
    ended = true;
    done();
  });
}

/** A complete zip ends with the end of central directory record (`PK\x05\x06`, APPNOTE 4.3.16). */
function hasEndOfCentralDirectory(bytes: Uint8Array): boolean {
  // The record is 22 bytes plus a comment of at most 65,535 bytes.
  for (let i = bytes.length - 22; i >= Math.max(0, bytes.length - 22 - 65_535); i--)
    if (bytes[i] === 0x50 && bytes[i + 1] === 0x4b && bytes[i + 2] === 0x05 && bytes[i + 3] === 0x06)
      return true;
  return false;
}

/** A fetched or read feed body: one JSON document, or a zip of them. */
export async function documentsOf(
  name: string,
  bytes: Uint8Array,
): Promise<{ documents: FeedDocument[]; problems: Array<{ document: string; message: string }> }> {
  const documents: FeedDocument[] = [];
  const problems: Array<{ document: string; message: string }> = [];
  if (isZip(bytes)) {
    if (!hasEndOfCentralDirectory(bytes)) {
      problems.push({
        document: name,
        message: 'truncated zip archive: the end of central directory record is missing',
      });
      return { documents, problems };
    }
    await unzipDocuments(
      bytes,
      (d) => documents.push({ name: `${name}:${d.name}`, content: d.content }),
      (n, message) => problems.push({ document: `${name}:${n}`, message }),
    );
    return { documents, problems };
  }
  try {
    documents.push({ name, content: JSON.parse(Buffer.from(bytes).toString('utf8')) });
  } catch (error) {
    problems.push({ document: name, message: `not JSON and not a zip archive: ${(error as Error).message}` });
  }
  return { documents, problems };
}
