import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';

const MAX_BYTES = 64 * 1024;

/**
 * Fetches an endpoint record from a well-known URL. The transport is not trusted, and need not
 * be: the record is signed and checked against the device's TUF root before it is used, as a TUF
 * client treats its mirrors (TUF 1.0, "the repository and mirrors are untrusted"). So a server
 * whose certificate the device cannot check yet (the successor's, before the move) still serves
 * it. At most 64 KiB, 10 seconds.
 */
export function fetchEndpointRecord(url: string): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const parsed = new URL(url);
    const request = (parsed.protocol === 'https:' ? httpsRequest : httpRequest)(
      parsed,
      { method: 'GET', timeout: 10_000, rejectUnauthorized: false, headers: { accept: 'application/json' } },
      (response) => {
        if (response.statusCode !== 200) {
          response.resume();
          reject(new Error(`HTTP ${response.statusCode} from ${url}`));
          return;
        }
        const chunks: Buffer[] = [];
        let size = 0;
        response.on('data', (chunk: Buffer) => {
          size += chunk.length;
          if (size > MAX_BYTES) request.destroy(new Error(`${url}: the record is larger than 64 KiB`));
          else chunks.push(chunk);
        });
        response.on('end', () => {
          try {
            resolve(JSON.parse(Buffer.concat(chunks).toString('utf8')));
          } catch {
            reject(new Error(`${url}: not JSON`));
          }
        });
      },
    );
    request.on('timeout', () => request.destroy(new Error(`${url}: timed out`)));
    request.on('error', reject);
    request.end();
  });
}
