import { crc32 } from 'node:zlib';
import { Unzip, UnzipInflate } from 'fflate';
import { DomainError } from '../../errors.js';
import { printable } from './input.js';

export interface FeedDocument {
  name: string;
  content: unknown;
}

/** A feed body that cannot be read (a broken archive). */
export class FeedReadError extends DomainError {
  constructor(message: string) {
    super('validation-failed', message);
    this.name = 'FeedReadError';
  }
}

/** Zip archives (the OSV per-ecosystem `all.zip`) start with a local file header, `PK\x03\x04`. */
export function isZip(bytes: Uint8Array): boolean {
  return (
    bytes.length >= 4 && bytes[0] === 0x50 && bytes[1] === 0x4b && bytes[2] === 0x03 && bytes[3] === 0x04
  );
}

/** One JSON document inside an archive; larger entries are refused (a zip bomb inflates to gigabytes). */
export const MAX_ENTRY_BYTES = 64 * 1024 * 1024;

/**
 * The JSON documents inside a zip, read entry by entry (fflate's streaming Unzip), so memory
 * holds one entry's text at a time besides the archive. Entries that are not JSON, too large,
 * cut short or missing (fewer entries read than the central directory lists) are reported.
 */
export function unzipDocuments(
  bytes: Uint8Array,
  onDocument: (doc: FeedDocument) => void,
  onProblem: (name: string, message: string) => void,
): Promise<void> {
  const unzip = new Unzip();
  unzip.register(UnzipInflate);
  // fflate's streaming reader does not check the CRC-32 the archive records for each entry: a
  // flipped byte in a stored entry would pass as different content. The central directory says
  // what each entry must hash to (APPNOTE 4.4.7).
  const directory = centralDirectory(bytes);
  if (!directory)
    return Promise.reject(
      new FeedReadError('not a readable zip archive: the central directory cannot be read (corrupt archive)'),
    );
  const listed = [...directory.values()].reduce((n, crcs) => n + crcs.length, 0);
  let seen = 0;
  // Entries whose data has not ended yet. UnzipInflate inflates synchronously inside push(), so
  // an entry still open after the last push was cut short: it is reported, never waited for.
  const open = new Set<string>();
  unzip.onfile = (file) => {
    seen++;
    const name = printable(file.name, 200);
    // A local header whose name the central directory does not list is damage (a flipped byte
    // in the name): reported, never skipped as "not JSON" in silence (APPNOTE 4.3.7, 4.3.12).
    const expected = directory.get(file.name)?.shift();
    if (expected === undefined) {
      onProblem(name, 'not listed in the central directory: corrupt archive');
      return;
    }
    if (!file.name.toLowerCase().endsWith('.json')) return;
    open.add(name);
    const parts: Uint8Array[] = [];
    let size = 0;
    file.ondata = (error, chunk, final) => {
      if (!open.has(name)) return;
      if (error) {
        open.delete(name);
        onProblem(name, `cannot unpack: ${error.message}`);
        return;
      }
      size += chunk.length;
      if (size > MAX_ENTRY_BYTES) {
        open.delete(name);
        file.terminate();
        onProblem(name, `larger than ${MAX_ENTRY_BYTES} bytes unpacked`);
        return;
      }
      parts.push(chunk);
      if (final) {
        open.delete(name);
        const content = Buffer.concat(parts);
        if (crc32(content) !== expected) return onProblem(name, 'CRC-32 mismatch: the entry is corrupt');
        try {
          onDocument({ name, content: JSON.parse(content.toString('utf8')) });
        } catch (e) {
          onProblem(name, `not JSON: ${(e as Error).message}`);
        }
      }
    };
    file.start();
  };
  try {
    unzip.push(bytes, true);
  } catch (error) {
    return Promise.reject(new FeedReadError(`not a readable zip archive: ${(error as Error).message}`));
  }
  for (const name of open) onProblem(name, 'the entry is cut short: truncated or corrupt archive');
  // Every entry the directory lists must have been read; one that was not is reported by name.
  for (const [name, crcs] of directory)
    if (crcs.length > 0 && name.toLowerCase().endsWith('.json'))
      onProblem(printable(name, 200), 'listed in the central directory but not found: corrupt archive');
  if (listed !== seen)
    onProblem(
      '(archive)',
      `the central directory lists ${listed} entries but ${seen} were found: truncated or corrupt archive`,
    );
  return Promise.resolve();
}

/** Offset of the end of central directory record (`PK\x05\x06`, APPNOTE 4.3.16), or -1. */
function endOfCentralDirectory(bytes: Uint8Array): number {
  // The record is 22 bytes plus a comment of at most 65,535 bytes.
  for (let i = bytes.length - 22; i >= Math.max(0, bytes.length - 22 - 65_535); i--)
    if (bytes[i] === 0x50 && bytes[i + 1] === 0x4b && bytes[i + 2] === 0x05 && bytes[i + 3] === 0x06)
      return i;
  return -1;
}

/**
 * The central directory: each entry name with the CRC-32 of each entry of that name, in order
 * (APPNOTE 4.3.12, 4.3.16; ZIP64 4.3.14 for the directory's offset). Null when it cannot be read.
 */
function centralDirectory(bytes: Uint8Array): Map<string, number[]> | null {
  const end = endOfCentralDirectory(bytes);
  if (end < 0) return null;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let total = view.getUint16(end + 10, true);
  let offset = view.getUint32(end + 16, true);
  if (total === 0xffff || offset === 0xffffffff) {
    const locator = end - 20;
    if (locator < 0 || view.getUint32(locator, true) !== 0x07064b50) return null;
    const record = Number(view.getBigUint64(locator + 8, true));
    if (record + 56 > bytes.length || view.getUint32(record, true) !== 0x06064b50) return null;
    total = Number(view.getBigUint64(record + 32, true));
    offset = Number(view.getBigUint64(record + 48, true));
  }
  const entries = new Map<string, number[]>();
  const utf8 = new TextDecoder('utf-8');
  for (let i = 0; i < total; i++) {
    if (offset + 46 > bytes.length || view.getUint32(offset, true) !== 0x02014b50) return null;
    const flags = view.getUint16(offset + 8, true);
    const crc = view.getUint32(offset + 16, true);
    const nameLength = view.getUint16(offset + 28, true);
    const extraLength = view.getUint16(offset + 30, true);
    const commentLength = view.getUint16(offset + 32, true);
    if (offset + 46 + nameLength > bytes.length) return null;
    const raw = bytes.subarray(offset + 46, offset + 46 + nameLength);
    // Bit 11: the name is UTF-8, else CP437, which fflate (and so this) reads as Latin-1.
    const name = flags & 0x800 ? utf8.decode(raw) : Buffer.from(raw).toString('latin1');
    entries.set(name, [...(entries.get(name) ?? []), crc]);
    offset += 46 + nameLength + extraLength + commentLength;
  }
  return entries;
}

/** A fetched or read feed body: one JSON document, or a zip of them. */
export async function documentsOf(
  name: string,
  bytes: Uint8Array,
): Promise<{ documents: FeedDocument[]; problems: Array<{ document: string; message: string }> }> {
  const documents: FeedDocument[] = [];
  const problems: Array<{ document: string; message: string }> = [];
  if (isZip(bytes)) {
    if (endOfCentralDirectory(bytes) < 0) {
      problems.push({
        document: name,
        message: 'truncated zip archive: the end of central directory record is missing',
      });
      return { documents, problems };
    }
    try {
      await unzipDocuments(
        bytes,
        (d) => documents.push({ name: `${name}:${d.name}`, content: d.content }),
        (n, message) => problems.push({ document: `${name}:${n}`, message }),
      );
    } catch (error) {
      // What was read before the archive broke still counts; the break is reported.
      if (!(error instanceof FeedReadError)) throw error;
      problems.push({ document: name, message: error.message });
    }
    return { documents, problems };
  }
  try {
    documents.push({ name, content: JSON.parse(Buffer.from(bytes).toString('utf8')) });
  } catch (error) {
    problems.push({ document: name, message: `not JSON and not a zip archive: ${(error as Error).message}` });
  }
  return { documents, problems };
}
