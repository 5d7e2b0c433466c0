import { Readable } from 'node:stream';
import { BaseFetcher } from 'tuf-js';
import { DownloadHTTPError } from 'tuf-js/dist/error.js';
import { type DeviceHttpAuth, deviceGet } from './http.js';

/**
 * tuf-js' fetcher over the device API: every metadata request carries the device's own
 * credential (HTTP Basic or its client certificate) and trusts the server's CA. tuf-js does all
 * of the TUF verification; this only moves bytes.
 */
export class DeviceFetcher extends BaseFetcher {
  constructor(readonly auth: DeviceHttpAuth) {
    super();
  }

  async fetch(url: string): Promise<ReadableStream<Uint8Array<ArrayBuffer>>> {
    const response = await deviceGet(url, this.auth);
    if (response.statusCode !== 200) {
      response.resume();
      // tuf-js reads 403/404 on the next root as "no newer root" (TUF 5.3.3).
      throw new DownloadHTTPError(`HTTP ${response.statusCode} from ${url}`, response.statusCode ?? 0);
    }
    return Readable.toWeb(response) as ReadableStream<Uint8Array<ArrayBuffer>>;
  }
}
