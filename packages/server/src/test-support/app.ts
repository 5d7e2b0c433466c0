import { join } from 'node:path';
import type { FastifyBaseLogger, InjectOptions, LightMyRequestResponse } from 'fastify';
import { type App, createApp } from '../app.js';
import type { BusSettings } from '../bus/url.js';
import { ManualClock } from '../clock.js';
import type { NodeTimings } from '../cluster/nodes.js';
import type { GatewayLimits } from '../gateway/mqtt.js';
import type { MailSettings } from '../mail/mailer.js';
import { loadMasterKey, SecretBox } from '../secrets/master-key.js';
import type { Dialect } from '../store/db.js';
import { freshDatabase, type TestDatabase } from '../store/test-helper.js';
import { ensureTls } from '../tls/certs.js';
import type { S3Settings } from '../updates/artifact-store-s3.js';

export interface TestApp {
  app: App;
  database: TestDatabase;
  clock: ManualClock;
  /** A platform-admin token. */
  rootToken: string;
  call(
    method: InjectOptions['method'],
    url: string,
    options?: { token?: string | null; body?: unknown; headers?: Record<string, string> },
  ): Promise<Response>;
  /** Creates an organisation and a token of the role in it. */
  org(slug: string, role?: string): Promise<{ id: string; slug: string; token: string }>;
  close(): Promise<void>;
}

export interface Response {
  status: number;
  body: any;
  headers: LightMyRequestResponse['headers'];
  raw: string;
}

/** The real app on a fresh database of the dialect, driven over in-process HTTP (Fastify inject). */
export async function testApp(
  dialect: Dialect,
  options: {
    clock?: ManualClock;
    bodyLimit?: number;
    https?: boolean;
    maxArtifactBytes?: number;
    /** A master key file (created when missing) instead of a random in-memory key. */
    masterKeyFile?: string;
    gatewayLimits?: Partial<GatewayLimits>;
    /** `http.publicUrl`: the address documents and public pages name. */
    publicUrl?: string;
    /** The server's logger (none by default). */
    logger?: FastifyBaseLogger;
    /** Compile route schemas on first use, as `serve` does (eager by default). */
    lazySchemas?: boolean;
    /** Config `webhooks.allowPrivateTargets`: webhooks may reach 127.0.0.1 over http (receivers in tests). */
    webhooksAllowPrivateTargets?: boolean;
    /** E-mail over SMTP (config `mail`), e.g. to a server from test-support/smtp.ts. */
    mail?: MailSettings;
    /** This node's id and heartbeat (cluster tests: several apps on one database). */
    nodeId?: string;
    cluster?: Partial<NodeTimings>;
    /** Config `artifacts.store` (`auto`: PostgreSQL on PostgreSQL); the data dir's directory by default. */
    artifactStore?: 'auto' | 'local' | 'postgres' | 's3';
    /** Config `artifacts.s3` when `artifactStore` is s3, e.g. a server from test-support/s3.ts. */
    artifactS3?: S3Settings;
    /** The bus between nodes (config `bus`), e.g. a NATS server from test-support/nats-server.ts. */
    bus?: BusSettings;
  } = {},
): Promise<TestApp> {
  const database = await freshDatabase(dialect);
  const tls = options.https ? await ensureTls({ dataDir: database.dataDir, hostnames: [] }) : null;
  const clock = options.clock ?? new ManualClock('2026-03-01T12:00:00.000Z');
  const app = await createApp({
    database: database.url,
    secrets: options.masterKeyFile ? loadMasterKey(options.masterKeyFile) : SecretBox.random(),
    artifacts: options.artifactStore
      ? { store: options.artifactStore, dir: join(database.dataDir, 'artifacts'), s3: options.artifactS3 }
      : join(database.dataDir, 'artifacts'),
    dataDir: database.dataDir,
    ...(options.maxArtifactBytes ? { maxArtifactBytes: options.maxArtifactBytes } : {}),
    clock,
    ...(tls ? { https: { key: tls.key, cert: tls.cert } } : {}),
    ...(options.bodyLimit ? { bodyLimit: options.bodyLimit } : {}),
    ...(options.gatewayLimits ? { gatewayLimits: options.gatewayLimits } : {}),
    ...(options.publicUrl ? { publicUrl: options.publicUrl } : {}),
    ...(options.logger ? { logger: options.logger } : {}),
    ...(options.lazySchemas ? { lazySchemas: true } : {}),
    ...(options.webhooksAllowPrivateTargets ? { webhooksAllowPrivateTargets: true } : {}),
    ...(options.mail ? { mail: options.mail } : {}),
    ...(options.nodeId ? { nodeId: options.nodeId } : {}),
    ...(options.cluster ? { cluster: options.cluster } : {}),
    ...(options.bus ? { bus: options.bus } : {}),
  });
  const { token: rootToken } = await app.services.tokens.create('test', {
    orgId: null,
    role: 'platform-admin',
    name: 'root',
  });

  const call: TestApp['call'] = async (method, url, opts = {}) => {
    const token = opts.token === undefined ? rootToken : opts.token;
    const response = await app.http.inject({
      method,
      url,
      headers: {
        ...(token ? { authorization: `Bearer ${token}` } : {}),
        ...(opts.body !== undefined ? { 'content-type': 'application/json' } : {}),
        ...opts.headers,
      },
      ...(opts.body !== undefined
        ? { payload: typeof opts.body === 'string' ? opts.body : JSON.stringify(opts.body) }
        : {}),
    });
    let body: unknown = null;
    try {
      body = response.body ? JSON.parse(response.body) : null;
    } catch {
      body = response.body;
    }
    return { status: response.statusCode, body, headers: response.headers, raw: response.body };
  };

  return {
    app,
    database,
    clock,
    rootToken,
    call,
    async org(slug, role = 'admin') {
      const created = await call('POST', '/v1/orgs', { body: { slug, name: `Org ${slug}` } });
      if (created.status !== 201) throw new Error(`org create failed: ${created.raw}`);
      const token = await call('POST', `/v1/orgs/${slug}/tokens`, {
        body: { name: `${role} of ${slug}`, role },
      });
      if (token.status !== 201) throw new Error(`token create failed: ${token.raw}`);
      return { id: created.body.id, slug, token: token.body.token };
    },
    async close() {
      await app.close();
      await database.drop();
    },
  };
}

/** A capability model exercising every section. */
export const plugCapabilities = {
  telemetry: {
    power: { schema: { type: 'number', minimum: 0 }, unit: 'W' },
    relayOn: { schema: { type: 'boolean' } },
  },
  state: {
    on: { schema: { type: 'boolean' }, writable: true },
    firmware: { schema: { type: 'string' }, writable: false },
  },
  commands: {
    reboot: { description: 'restart the device' },
    blink: { params: { type: 'object', properties: { times: { type: 'integer' } } } },
  },
  events: {
    buttonPressed: { description: 'the button was pressed' },
    overheated: {
      severity: 'critical',
      data: { type: 'object', required: ['celsius'], properties: { celsius: { type: 'number' } } },
    },
  },
};
