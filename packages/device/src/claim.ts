import { request } from 'node:https';

export interface ClaimOptions {
  /** The server's base URL: `https://host:8443`. */
  apiUrl: string;
  deviceId: string;
  /** The one-time factory secret (`bdf_…`) written on the factory line. */
  factorySecret: string;
  /** CA certificate(s) to trust, PEM. */
  ca?: string | Buffer;
  /** `certificate` to receive a client certificate; with `csr` the key stays on the device. */
  kind?: 'secret' | 'certificate';
  csr?: string;
  timeoutMs?: number;
}

export interface ClaimedCredential {
  secret?: string;
  certificate?: string;
  privateKey?: string;
  caCertificate?: string;
}

/**
 * The claim (docs/protocol.md, "Claiming"): exchanges the factory secret, once, for the device's
 * operational credential over the device HTTP API. The factory secret stops working with it.
 */
export function claim(options: ClaimOptions): Promise<ClaimedCredential> {
  const url = new URL('/device/v1/claim', options.apiUrl);
  const body = JSON.stringify({
    ...(options.kind ? { kind: options.kind } : {}),
    ...(options.csr ? { csr: options.csr } : {}),
  });
  const auth = Buffer.from(`${options.deviceId}:${options.factorySecret}`).toString('base64');
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      {
        method: 'POST',
        headers: {
          authorization: `Basic ${auth}`,
          'content-type': 'application/json',
          'content-length': Buffer.byteLength(body),
        },
        ...(options.ca ? { ca: options.ca } : {}),
        timeout: options.timeoutMs ?? 15_000,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          let reply: { status?: string; data?: ClaimedCredential; error?: { code: string; message: string } };
          try {
            reply = JSON.parse(Buffer.concat(chunks).toString('utf8'));
          } catch {
            reject(new Error(`claim: HTTP ${res.statusCode} without a protocol reply`));
            return;
          }
          if (reply.status === 'ok' && reply.data) resolve(reply.data);
          else
            reject(
              new Error(
                `claim refused: ${reply.error?.code ?? res.statusCode}: ${reply.error?.message ?? ''}`,
              ),
            );
        });
      },
    );
    req.on('timeout', () => req.destroy(new Error('claim: timed out')));
    req.on('error', reject);
    req.end(body);
  });
}
