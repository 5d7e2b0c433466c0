import { createReadStream, existsSync, readFileSync, statSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import { hostname, userInfo } from 'node:os';
import { join } from 'node:path';
import { Transform } from 'node:stream';
import { rootCertificates } from 'node:tls';
import { type App, createApp } from '../app.js';
import type { Config } from '../config.js';
import { LOCAL_HEADER } from '../http/auth.js';
import type { ProblemBody } from '../http/problem.js';
import { loadMasterKey } from '../secrets/master-key.js';

/** A failed API call, carrying the problem details the API returned. */
export class ApiError extends Error {
  readonly problem: ProblemBody;
  constructor(problem: ProblemBody) {
    super(problem.detail);
    this.problem = problem;
  }
}

export interface ApiClient {
  readonly mode: 'direct' | 'remote';
  request<T>(method: string, path: string, body?: unknown): Promise<T>;
  /** POSTs a file as application/octet-stream, streamed, reporting bytes sent. */
  upload<T>(path: string, file: string, onProgress?: (sent: number) => void): Promise<T>;
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
    artifacts: config.updates.artifactDir,
    maxArtifactBytes: config.updates.maxArtifactBytes,
    bodyLimit: config.http.bodyLimit,
    lazySchemas: true,
    localPrincipal: {
      actor: `cli:${user}@${hostname()}`,
      role: 'platform-admin',
      orgId: null,
      tokenId: null,
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
        ...(body === undefined ? {} : { payload: JSON.stringify(body) }),
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
    close: () => app.close(),
  };
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
  const ca = caFile ? [...rootCertificates, readFileSync(caFile, 'utf8')] : undefined;
  return {
    mode: 'remote',
    app: null,
    request<T>(method: string, path: string, body?: unknown): Promise<T> {
      return send<T>(method, path, body === undefined ? undefined : JSON.stringify(body));
    },
    upload<T>(path: string, file: string, onProgress?: (sent: number) => void): Promise<T> {
      return send<T>('POST', path, { file, size: statSync(file).size, onProgress });
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
            accept: 'application/json',
            ...(typeof payload === 'string'
              ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) }
              : payload
                ? { 'content-type': 'application/octet-stream', 'content-length': payload.size }
                : {}),
          },
          ...(ca && url.protocol === 'https:' ? { ca } : {}),
          timeout: typeof payload === 'object' ? 600_000 : 30_000,
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            const status = res.statusCode ?? 0;
            if (status >= 400) reject(new ApiError(asProblem(status, text)));
            else resolve((text ? JSON.parse(text) : null) as T);
          });
        },
      );
      req.on('timeout', () => req.destroy(new Error(`no answer from ${base.origin} within 30 s`)));
      req.on('error', (error) => reject(new Error(`cannot reach ${base.origin}: ${error.message}`)));
      if (typeof payload === 'object') meteredFile(payload.file, payload.onProgress).pipe(req);
      else req.end(payload);
    });
  }
}
