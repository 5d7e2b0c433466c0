import { PassThrough } from 'node:stream';
import { Zip, ZipDeflate } from 'fflate';
import type { ExportSink } from './sources.js';

/** One CSV field (RFC 4180): always quoted, quotes doubled; null is an empty field. */
export function csvField(value: unknown): string {
  if (value === null || value === undefined) return '';
  const text = typeof value === 'string' ? value : String(value);
  return `"${text.replaceAll('"', '""')}"`;
}

export const csvLine = (values: unknown[]): string => `${values.map(csvField).join(',')}\r\n`;

/** Bytes gathered before they go to the deflater: a few pages of rows. */
const BATCH_BYTES = 64 * 1024;

/**
 * A zip archive written as it is made: every file goes through one deflater as a stream into
 * `stream`, and each write waits while the reader (the HTTP response) is behind, so memory stays
 * bounded by a batch however long the history is.
 */
export class ZipArchive implements ExportSink {
  readonly stream = new PassThrough();
  readonly #zip: Zip;
  readonly #encoder = new TextEncoder();
  #names = new Set<string>();

  constructor() {
    this.#zip = new Zip((error, chunk, final) => {
      if (error) {
        this.stream.destroy(error);
        return;
      }
      this.stream.write(chunk);
      if (final) this.stream.end();
    });
  }

  async #file(name: string, parts: AsyncIterable<string>): Promise<void> {
    if (this.#names.has(name)) throw new Error(`export: ${name} written twice`);
    this.#names.add(name);
    const file = new ZipDeflate(name, { level: 6 });
    // A fixed time, not the wall clock: the same data gives the same archive.
    file.mtime = new Date('2000-01-01T00:00:00Z');
    this.#zip.add(file);
    let pending = '';
    for await (const part of parts) {
      pending += part;
      if (pending.length >= BATCH_BYTES) {
        file.push(this.#encoder.encode(pending));
        pending = '';
        await this.#drained();
      }
    }
    file.push(this.#encoder.encode(pending), true);
    await this.#drained();
  }

  async #drained(): Promise<void> {
    if (this.stream.destroyed) throw new Error('export: the download was cancelled');
    if (!this.stream.writableNeedDrain) return;
    // A reader that goes away (a cancelled download) closes the stream: stop waiting then too.
    await new Promise<void>((resolve) => {
      const done = () => {
        this.stream.off('drain', done);
        this.stream.off('close', done);
        resolve();
      };
      this.stream.on('drain', done);
      this.stream.on('close', done);
    });
    if (this.stream.destroyed) throw new Error('export: the download was cancelled');
  }

  async text(name: string, text: string): Promise<void> {
    await this.#file(
      name,
      (async function* () {
        yield text;
      })(),
    );
  }

  async json(name: string, value: unknown): Promise<void> {
    await this.text(name, `${JSON.stringify(value, null, 2)}\n`);
  }

  async jsonRows(name: string, rows: AsyncIterable<unknown>): Promise<void> {
    await this.#file(
      name,
      (async function* () {
        let first = true;
        yield '[';
        for await (const row of rows) {
          yield `${first ? '\n' : ',\n'}  ${JSON.stringify(row)}`;
          first = false;
        }
        yield first ? ']\n' : '\n]\n';
      })(),
    );
  }

  async csv(name: string, header: string[], rows: AsyncIterable<unknown[]>): Promise<void> {
    await this.#file(
      name,
      (async function* () {
        yield csvLine(header);
        for await (const row of rows) yield csvLine(row);
      })(),
    );
  }

  /** Ends the archive (writes the central directory). */
  end(): void {
    this.#zip.end();
  }

  fail(error: unknown): void {
    this.stream.destroy(error instanceof Error ? error : new Error(String(error)));
  }
}
