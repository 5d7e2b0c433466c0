import http from 'node:http';
import https from 'node:https';
import type { LookupFunction } from 'node:net';
import type { CheckedTarget } from './targets.js';

/** Whole request, from connecting to the end of the response: a slow receiver is a failed attempt. */
export const DELIVERY_TIMEOUT_MS = 10_000;
/** What is kept of a response body: a short excerpt for the delivery log, nothing more. */
export const EXCERPT_CHARS = 256;
/** Bytes read of a response body at most; the rest is discarded with the connection. */
const READ_BYTES = 4096;
export const MAX_ERROR_CHARS = 500;

export interface AttemptResult {
  ok: boolean;
  status: number | null;
  error: string | null;
  excerpt: string | null;
}

export type Send = (
  target: CheckedTarget,
  headers: Record<string, string>,
  body: string,
) => Promise<AttemptResult>;

const clip = (text: string, n: number) => (text.length > n ? `${text.slice(0, n - 1)}…` : text);

/**
 * POSTs one signed body to a checked target. The connection goes to the address that was checked
 * (the lookup is pinned to it), so a DNS answer that changes between the check and the connect
 * (DNS rebinding) cannot turn the request to a private address; TLS still verifies the URL's host
 * name. Redirects are not followed: a 3xx is a failed attempt, because a public endpoint could
 * otherwise redirect the request to the loopback or metadata address the check refused (SSRF).
 */
export const sendOnce: Send = (target, headers, body) =>
  sendWithin(DELIVERY_TIMEOUT_MS, target, headers, body);

/** sendOnce with another time limit, and (tests only) another CA to trust than the system's. */
export const sendWithin = (
  timeoutMs: number,
  target: CheckedTarget,
  headers: Record<string, string>,
  body: string,
  tls: { ca?: string } = {},
): Promise<AttemptResult> =>
  new Promise((resolve) => {
    const pinned: LookupFunction = (_hostname, options, callback) => {
      if ((options as { all?: boolean }).all)
        (callback as unknown as (e: null, a: { address: string; family: number }[]) => void)(null, [
          { address: target.address, family: target.family },
        ]);
      else callback(null, target.address, target.family);
    };
    const client = target.url.protocol === 'https:' ? https : http;
    let settled = false;
    const finish = (result: AttemptResult) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(result);
    };
    const request = client.request(
      target.url,
      {
        method: 'POST',
        lookup: pinned,
        agent: false,
        ...(tls.ca ? { ca: tls.ca } : {}),
        headers: {
          ...headers,
          'content-type': 'application/json',
          'content-length': Buffer.byteLength(body).toString(),
          'user-agent': 'brickless-webhooks/1',
        },
      },
      (response) => {
        const status = response.statusCode ?? 0;
        const chunks: Buffer[] = [];
        let read = 0;
        const done = () => {
          const excerpt = Buffer.concat(chunks).toString('utf8');
          const ok = status >= 200 && status < 300;
          let error: string | null = null;
          if (status >= 300 && status < 400)
            error = `redirect ${status} not followed (a webhook URL must answer itself; set the final URL)`;
          else if (!ok) error = `HTTP ${status}`;
          finish({ ok, status, error, excerpt: excerpt ? clip(excerpt, EXCERPT_CHARS) : null });
          response.destroy();
        };
        response.on('data', (chunk: Buffer) => {
          if (read < READ_BYTES) chunks.push(chunk.subarray(0, READ_BYTES - read));
          read += chunk.length;
          if (read >= READ_BYTES) done();
        });
        response.on('end', done);
        response.on('error', done);
      },
    );
    const timer = setTimeout(() => {
      finish({
        ok: false,
        status: null,
        error: `no answer within ${timeoutMs / 1000} s`,
        excerpt: null,
      });
      request.destroy();
    }, timeoutMs);
    request.on('error', (error: NodeJS.ErrnoException) =>
      finish({
        ok: false,
        status: null,
        error: clip(`${error.code ?? 'error'}: ${error.message}`, MAX_ERROR_CHARS),
        excerpt: null,
      }),
    );
    request.end(body);
  });
