import { createReadStream, existsSync, readFileSync, statSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import { hostname, userInfo } from 'node:os';
import { join } from 'node:path';
import { Transform } from 'node:stream';
import { rootCertificates } from 'node:tls';
import { type App, createApp } from '../app.js';
import type { Config } from '../config.js';
import { DomainError } from '../errors.js';
import { LOCAL_HEADER } from '../http/auth.js';
import type { ProblemBody } from '../http/problem.js';
import { loadMasterKey } from '../secrets/master-key.js';
import { artifactChoice } from '../updates/artifact-stores.js';

/** A failed API call, carrying the problem details the API returned. */
export class ApiError extends Error {
  readonly problem: ProblemBody;
  constructor(problem: ProblemBody) {
    super(problem.detail);
    this.problem = problem;
  }
}

/** A JSON body sent exactly as written (an SBOM file whose hash the maker signs), not re-serialized. */
export class RawJson {
  constructor(readonly text: string) {}
}

const serialize = (body: unknown): string => (body instanceof RawJson ? body.text : JSON.stringify(body));

export interface ApiClient {
  readonly mode: 'direct' | 'remote';
  request<T>(method: string, path: string, body?: unknown): Promise<T>;
  /** POSTs a file as application/octet-stream, streamed, reporting bytes sent. */
  upload<T>(path: string, file: string, onProgress?: (sent: number) => void): Promise<T>;
  /** GETs a binary answer (an archive) as bytes. */
  download(path: string): Promise<Buffer>;
  /** The direct-mode app, for commands that need more than the API (audit verify over all chains). */
  readonly app: App | null;
  close(): Promise<void>;
}

function asProblem(status: number, text: string): ProblemBody {
  try {
    const parsed = JSON.parse(text) as Partial<ProblemBody>;
    if (typeof parsed.detail === 'string') return parsed as ProblemBody;
  } catch {
    // not JSON: fall through
  }
  return {
    type: 'about:blank',
    title: 'HTTP error',
    status,
    detail: `HTTP ${status}: ${text.slice(0, 200)}`,
    code: 'http',
  };
}

/** A read stream of the file that reports how much has been read so far. */
function meteredFile(file: string, onProgress?: (sent: number) => void) {
  let sent = 0;
  return createReadStream(file).pipe(
    new Transform({
      transform(chunk: Buffer, _encoding, callback) {
        sent += chunk.length;
        onProgress?.(sent);
        callback(null, chunk);
      },
    }),
  );
}

/**
 * Direct mode: the CLI builds the same app in-process on the data dir and calls its routes with
 * Fastify's inject, as the local operator. Same validation, authorisation scoping and audit as the
 * API, no network and no token: whoever can read the data dir owns the service anyway.
 */
export async function directClient(config: Config): Promise<ApiClient> {
  const user = (() => {
    try {
      return userInfo().username;
    } catch {
      return 'unknown';
    }
  })();
  const app = await createApp({
    database: config.database,
    secrets: loadMasterKey(config.secrets.masterKeyFile),
    artifacts: artifactChoice(config),
    dataDir: config.dataDir,
    maxArtifactBytes: config.updates.maxArtifactBytes,
    bodyLimit: config.http.bodyLimit,
    // What documents and feeds name and read is the same in direct mode as in serve.
    vulnerabilityFeeds: config.vulnerabilities.feeds,
    publicUrl: config.http.publicUrl ?? null,
    ...(config.publication.organization ? { publicOrganization: config.publication.organization } : {}),
    lazySchemas: true,
    // `webhooks create` and `webhooks test` check targets as serve does.
    webhooksAllowPrivateTargets: config.webhooks.allowPrivateTargets,
    localPrincipal: {
      actor: `cli:${user}@${hostname()}`,
      tokenId: null,
      personId: null,
      platformAdmin: true,
      memberships: new Map(),
    },
  });
  const nonce = app.localNonce as string;
  return {
    mode: 'direct',
    app,
    async request<T>(method: string, path: string, body?: unknown): Promise<T> {
      const response = await app.http.inject({
        method: method as 'GET',
        url: path,
        headers: {
          [LOCAL_HEADER]: nonce,
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        ...(body === undefined ? {} : { payload: serialize(body) }),
      });
      if (response.statusCode >= 400) throw new ApiError(asProblem(response.statusCode, response.body));
      return (response.body ? JSON.parse(response.body) : null) as T;
    },
    async upload<T>(path: string, file: string, onProgress?: (sent: number) => void): Promise<T> {
      const response = await app.http.inject({
        method: 'POST',
        url: path,
        headers: {
          [LOCAL_HEADER]: nonce,
          'content-type': 'application/octet-stream',
          'content-length': String(statSync(file).size),
        },
        payload: meteredFile(file, onProgress),
      });
      if (response.statusCode >= 400) throw new ApiError(asProblem(response.statusCode, response.body));
      return JSON.parse(response.body) as T;
    },
    async download(path: string): Promise<Buffer> {
      const response = await app.http.inject({
        method: 'GET',
        url: path,
        headers: { [LOCAL_HEADER]: nonce },
      });
      if (response.statusCode >= 400) throw new ApiError(asProblem(response.statusCode, response.body));
      return response.rawPayload;
    },
    close: () => app.close(),
  };
}

/** TLS verification failures: the server's certificate is not one the CLI trusts. */
const UNTRUSTED = new Set([
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_UNTRUSTED',
  'CERT_SIGNATURE_FAILURE',
]);

/** What went wrong reaching the server, and how to fix it: one line. */
export function connectionProblem(base: URL, error: Error, caFile: string | undefined): string {
  const code = (error as NodeJS.ErrnoException).code ?? '';
  const where = `cannot reach ${base.origin}`;
  if (UNTRUSTED.has(code))
    return (
      `${where}: its TLS certificate is not trusted (${error.message})` +
      (caFile ? `; ${caFile} is not the CA that issued it` : '') +
      `: pass --ca data/tls/ca.crt (the server's CA, shown as "TLS CA" when it starts) or set BRICKLESS_CA`
    );
  if (code === 'ERR_TLS_CERT_ALTNAME_INVALID')
    return `${where}: its certificate is not valid for ${base.hostname} (${error.message}); use a host name the certificate names (tls.hostnames in the server config)`;
  if (code === 'CERT_HAS_EXPIRED')
    return `${where}: its TLS certificate has expired; renew it on the server (docs/operations.md)`;
  if (base.protocol === 'http:' && (code === 'ECONNRESET' || /socket hang up/i.test(error.message)))
    return `${where}: the server closed the connection; it speaks HTTPS: use --server https://${base.host}`;
  if (base.protocol === 'https:' && (code === 'EPROTO' || /wrong version number/i.test(error.message)))
    return `${where}: the server does not speak TLS there (started with --no-tls behind a proxy?): use --server http://${base.host} or the proxy's https:// address`;
  if (code === 'ECONNREFUSED')
    return `${where}: nothing listens there; is the server running (brickless serve), on that port?`;
  if (code === 'ENOTFOUND') return `${where}: unknown host ${base.hostname}`;
  return `${where}: ${error.message}`;
}

/** Remote mode: the same calls over HTTP(S) to a running server, with an API token. */
export function remoteClient(options: {
  server: string;
  token: string;
  caFile?: string | undefined;
  dataDir: string;
}): ApiClient {
  const base = new URL(options.server);
  const caFile =
    options.caFile ??
    (existsSync(join(options.dataDir, 'tls', 'ca.crt')) ? join(options.dataDir, 'tls', 'ca.crt') : undefined);
  if (caFile && !existsSync(caFile))
    throw new DomainError(
      'validation-failed',
      `${caFile}: no such file (--ca or BRICKLESS_CA: the server's CA certificate, data/tls/ca.crt on its machine)`,
    );
  const ca = caFile ? [...rootCertificates, readFileSync(caFile, 'utf8')] : undefined;
  return {
    mode: 'remote',
    app: null,
    request<T>(method: string, path: string, body?: unknown): Promise<T> {
      return send<T>(method, path, body === undefined ? undefined : serialize(body));
    },
    upload<T>(path: string, file: string, onProgress?: (sent: number) => void): Promise<T> {
      return send<T>('POST', path, { file, size: statSync(file).size, onProgress });
    },
    download(path: string): Promise<Buffer> {
      return send<Buffer>('GET', path, undefined, true);
    },
    close: async () => {},
  };

  function send<T>(
    method: string,
    path: string,
    payload:
      | string
      | undefined
      | { file: string; size: number; onProgress?: ((sent: number) => void) | undefined },
    binary = false,
  ): Promise<T> {
    const url = new URL(path, base);
    const transport = url.protocol === 'https:' ? https : http;
    return new Promise<T>((resolve, reject) => {
      const req = transport.request(
        url,
        {
          method,
          headers: {
            authorization: `Bearer ${options.token}`,
            accept: binary ? 'application/zip, application/json' : 'application/json',
            ...(typeof payload === 'string'
              ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) }
              : payload
                ? { 'content-type': 'application/octet-stream', 'content-length': payload.size }
                : {}),
          },
          ...(ca && url.protocol === 'https:' ? { ca } : {}),
          timeout: typeof payload === 'object' || binary ? 600_000 : 30_000,
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            const bytes = Buffer.concat(chunks);
            const text = binary ? '' : bytes.toString('utf8');
            const status = res.statusCode ?? 0;
            if (status >= 400) reject(new ApiError(asProblem(status, bytes.toString('utf8'))));
            else if (binary) resolve(bytes as T);
            else resolve((text ? JSON.parse(text) : null) as T);
          });
        },
      );
      req.on('timeout', () => req.destroy(new Error(`no answer from ${base.origin} within 30 s`)));
      req.on('error', (error) => reject(new Error(connectionProblem(base, error, caFile))));
      if (typeof payload === 'object') meteredFile(payload.file, payload.onProgress).pipe(req);
      else req.end(payload);
    });
  }
}
