import type { IncomingMessage } from 'node:http';
import { type Agent, request } from 'node:https';

/** How the device proves who it is over HTTPS: the same credential as on MQTT. */
export interface DeviceHttpAuth {
  deviceId: string;
  secret?: string;
  certificate?: { cert: string | Buffer; key: string | Buffer };
  ca?: string | Buffer;
  /** A connection pool to share (many virtual devices in one process); Node's global agent otherwise. */
  agent?: Agent;
}

/** An HTTP answer other than the one expected; `status` tells which. */
export class HttpStatusError extends Error {
  constructor(
    readonly status: number,
    url: string,
  ) {
    super(`HTTP ${status} from ${url}`);
  }
}

/** GET with the device's credential; resolves with the response once its head arrived. */
export function deviceGet(
  url: string,
  auth: DeviceHttpAuth,
  headers: Record<string, string> = {},
  timeoutMs = 30_000,
): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      {
        method: 'GET',
        headers: {
          ...headers,
          ...(auth.secret
            ? { authorization: `Basic ${Buffer.from(`${auth.deviceId}:${auth.secret}`).toString('base64')}` }
            : {}),
        },
        ...(auth.certificate ? { cert: auth.certificate.cert, key: auth.certificate.key } : {}),
        ...(auth.ca ? { ca: auth.ca } : {}),
        ...(auth.agent ? { agent: auth.agent } : {}),
        timeout: timeoutMs,
      },
      resolve,
    );
    req.on('timeout', () => req.destroy(new Error(`no answer from ${url} within ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end();
  });
}
