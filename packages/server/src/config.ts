import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { type Static, Type } from 'typebox';
import { parseBusUrl } from './bus/url.js';
import { DomainError } from './errors.js';
import { invalidTrustedEntry } from './proxy/trusted.js';

const Port = Type.Integer({ minimum: 0, maximum: 65535 });

/** The one typed configuration. Every key, its default and its variable are in docs/operations.md. */
export const ConfigSchema = Type.Object(
  {
    dataDir: Type.String({ minLength: 1 }),
    database: Type.String({ minLength: 1, description: 'SQLite file path or postgres:// URL' }),
    http: Type.Object(
      {
        host: Type.String({ minLength: 1 }),
        port: Port,
        tls: Type.Boolean(),
        bodyLimit: Type.Integer({ minimum: 1024, maximum: 64 * 1024 * 1024 }),
        publicUrl: Type.Optional(Type.String({ pattern: '^https?://' })),
      },
      { additionalProperties: false },
    ),
    tls: Type.Object(
      {
        certFile: Type.Optional(Type.String({ minLength: 1 })),
        keyFile: Type.Optional(Type.String({ minLength: 1 })),
        hostnames: Type.Array(Type.String({ minLength: 1 })),
      },
      { additionalProperties: false },
    ),
    mqtt: Type.Object(
      {
        host: Type.String({ minLength: 1 }),
        port: Port,
        /** Plain MQTT without TLS, for a LAN only; off unless set. */
        plainPort: Type.Optional(Port),
        /** Connection attempts a second per source address and per device id, and the burst above it. */
        connectsPerSecond: Type.Integer({ minimum: 1, maximum: 1_000_000 }),
        connectBurst: Type.Integer({ minimum: 1, maximum: 10_000_000 }),
        /** Connections not yet authenticated, per source address and in all (decision 0016). */
        unauthenticatedPerAddress: Type.Integer({ minimum: 1, maximum: 1_000_000 }),
        unauthenticatedTotal: Type.Integer({ minimum: 1, maximum: 1_000_000 }),
      },
      { additionalProperties: false },
    ),
    secrets: Type.Object(
      {
        /** AES-256 key that seals the secrets kept in the database (device CA keys); created at first use. */
        masterKeyFile: Type.String({ minLength: 1 }),
      },
      { additionalProperties: false },
    ),
    telemetry: Type.Object(
      {
        /** Readings older than this many days are deleted by the hourly retention job; 0 keeps all. */
        retentionDays: Type.Integer({ minimum: 0, maximum: 36500 }),
      },
      { additionalProperties: false },
    ),
    updates: Type.Object(
      {
        /** Where firmware images and SBOMs are kept (content-addressed). */
        artifactDir: Type.String({ minLength: 1 }),
        /** Largest artifact accepted, in bytes. */
        maxArtifactBytes: Type.Integer({ minimum: 1024, maximum: 64 * 1024 ** 3 }),
      },
      { additionalProperties: false },
    ),
    // Issue 19 §4, decision 0030: where the artifact bytes live (docs/artefacts.md).
    artifacts: Type.Object(
      {
        /** `auto` (the default): the directory with SQLite, PostgreSQL with PostgreSQL; or `local`, `postgres`, `s3`. */
        store: Type.Union(['auto', 'local', 'postgres', 's3'].map((l) => Type.Literal(l))),
        /** An S3-compatible bucket; nothing has a default, the credentials included. */
        s3: Type.Object(
          {
            endpoint: Type.Optional(Type.String({ pattern: '^https?://', maxLength: 2000 })),
            bucket: Type.Optional(Type.String({ minLength: 3, maxLength: 63 })),
            region: Type.Optional(Type.String({ minLength: 1, maxLength: 100 })),
            accessKeyId: Type.Optional(Type.String({ minLength: 1, maxLength: 500 })),
            secretAccessKey: Type.Optional(Type.String({ minLength: 1, maxLength: 500 })),
            prefix: Type.Optional(Type.String({ maxLength: 500, pattern: '^([^/].*/)?$' })),
          },
          { additionalProperties: false },
        ),
      },
      { additionalProperties: false },
    ),
    vulnerabilities: Type.Object(
      {
        /** Feed URLs `vulns sync` fetches: OSV zips or records, NVD 2.0 JSON, the KEV catalog, CSAF. */
        feeds: Type.Array(Type.String({ pattern: '^https?://' }), { maxItems: 100 }),
        /** How often `serve` syncs the feeds; 0 turns the schedule off. */
        syncIntervalMinutes: Type.Integer({ minimum: 0, maximum: 7 * 24 * 60 }),
      },
      { additionalProperties: false },
    ),
    escrow: Type.Object(
      {
        /** The escrow directory `serve` deposits into on its schedule (docs/continuity.md). */
        dir: Type.Optional(Type.String({ minLength: 1 })),
        /** The escrow agents' age public keys the secrets are sealed to. */
        recipients: Type.Array(Type.String({ pattern: '^age1[0-9a-z]{20,}$' }), { maxItems: 20 }),
        /** Hours between scheduled deposits; 0 (the default) turns the schedule off. */
        intervalHours: Type.Integer({ minimum: 0, maximum: 24 * 366 }),
      },
      { additionalProperties: false },
    ),
    audit: Type.Object(
      {
        /** Minutes between the signed audit checkpoints `serve` publishes (decision 0013); 0 turns it off. */
        checkpointIntervalMinutes: Type.Integer({ minimum: 0, maximum: 7 * 24 * 60 }),
      },
      { additionalProperties: false },
    ),
    sessions: Type.Object(
      {
        /** Minutes a browser session may go unused before it ends (OWASP ASVS 3.3.2). */
        idleMinutes: Type.Integer({ minimum: 1, maximum: 24 * 60 }),
        /** Hours after sign-in when every session ends, used or not. */
        absoluteHours: Type.Integer({ minimum: 1, maximum: 30 * 24 }),
      },
      { additionalProperties: false },
    ),
    publication: Type.Object(
      {
        /** The organisation (slug) whose security.txt and CSAF provider live at /.well-known/. */
        organization: Type.Optional(Type.String({ minLength: 1, maxLength: 100 })),
      },
      { additionalProperties: false },
    ),
    mail: Type.Object(
      {
        /** `smtp://user:pass@host:587` (STARTTLS) or `smtps://host:465`; unset: no e-mail is sent. */
        smtpUrl: Type.Optional(Type.String({ pattern: '^smtps?://', maxLength: 2000 })),
        /** The sender of every message, e.g. `Acme Devices <noreply@acme.example>`. */
        from: Type.Optional(Type.String({ minLength: 3, maxLength: 320 })),
        /** Accept a self-signed certificate from the SMTP server (a LAN relay; never on the internet). */
        allowUnverifiedTls: Type.Boolean(),
      },
      { additionalProperties: false },
    ),
    owners: Type.Object(
      {
        /** Days before a product's support ends at which its owners are told (CRA Annex II (8); issue 18 §3). */
        endOfSupportLeadDays: Type.Array(Type.Integer({ minimum: 1, maximum: 3650 }), {
          minItems: 1,
          maxItems: 10,
        }),
      },
      { additionalProperties: false },
    ),
    proxy: Type.Object(
      {
        /**
         * Load balancers whose PROXY protocol header (v1 or v2) carries the client's address, as
         * CIDR blocks or addresses; their connections must send one. Empty: none (decision 0031).
         */
        trusted: Type.Array(Type.String({ minLength: 1, maxLength: 64 }), { maxItems: 100 }),
      },
      { additionalProperties: false },
    ),
    webhooks: Type.Object(
      {
        /** Let webhooks target loopback and private addresses, over http:// too (tests, LANs); SSRF guard off. */
        allowPrivateTargets: Type.Boolean(),
      },
      { additionalProperties: false },
    ),
    // Many nodes, one fleet (issue 19 §2, §3): this node's id and its heartbeat (cluster/nodes.ts).
    cluster: Type.Object(
      {
        /** This node's id in `nodes` and devices.connected_node; default host name and HTTP port. */
        nodeId: Type.Optional(Type.String({ minLength: 1, maxLength: 200, pattern: '^[^\\s#]+$' })),
        /** How often this node writes its heartbeat, in milliseconds. */
        heartbeatMs: Type.Integer({ minimum: 10, maximum: 600_000 }),
        /** Silent this long, a node is dead: its devices go offline, its jobs move; at least 3 heartbeats. */
        expiryMs: Type.Integer({ minimum: 30, maximum: 3_600_000 }),
      },
      { additionalProperties: false },
    ),
    // Issue 19 (decision 0028): the bus between nodes; without `url`, in-process (one node).
    bus: Type.Object(
      {
        /** `nats://host:4222` (or tls://, several comma-separated); credentials may be in it. */
        url: Type.Optional(Type.String({ minLength: 1, maxLength: 2000 })),
        /** The installation's name on a shared NATS: subjects are `brickless.<cluster>.<event>`. */
        cluster: Type.String({ pattern: '^[A-Za-z0-9_-]{1,64}$' }),
        credsFile: Type.Optional(Type.String({ minLength: 1 })),
        tlsCaFile: Type.Optional(Type.String({ minLength: 1 })),
        tlsCertFile: Type.Optional(Type.String({ minLength: 1 })),
        tlsKeyFile: Type.Optional(Type.String({ minLength: 1 })),
      },
      { additionalProperties: false },
    ),
    log: Type.Object(
      {
        level: Type.Union(
          ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].map((l) => Type.Literal(l)),
        ),
      },
      { additionalProperties: false },
    ),
  },
  { additionalProperties: false },
);
export type Config = Static<typeof ConfigSchema>;

type Layer = { [key: string]: unknown };

/** Environment variables and the config key each sets. */
export const envKeys: Record<string, string> = {
  BRICKLESS_DATA_DIR: 'dataDir',
  BRICKLESS_DATABASE_URL: 'database',
  BRICKLESS_HTTP_HOST: 'http.host',
  BRICKLESS_HTTP_PORT: 'http.port',
  BRICKLESS_HTTP_TLS: 'http.tls',
  BRICKLESS_HTTP_BODY_LIMIT: 'http.bodyLimit',
  BRICKLESS_PUBLIC_URL: 'http.publicUrl',
  BRICKLESS_TLS_CERT_FILE: 'tls.certFile',
  BRICKLESS_TLS_KEY_FILE: 'tls.keyFile',
  BRICKLESS_TLS_HOSTNAMES: 'tls.hostnames',
  BRICKLESS_MQTT_HOST: 'mqtt.host',
  BRICKLESS_MQTT_PORT: 'mqtt.port',
  BRICKLESS_MQTT_PLAIN_PORT: 'mqtt.plainPort',
  BRICKLESS_MQTT_CONNECTS_PER_SECOND: 'mqtt.connectsPerSecond',
  BRICKLESS_MQTT_CONNECT_BURST: 'mqtt.connectBurst',
  BRICKLESS_MQTT_UNAUTHENTICATED_PER_ADDRESS: 'mqtt.unauthenticatedPerAddress',
  BRICKLESS_MQTT_UNAUTHENTICATED_TOTAL: 'mqtt.unauthenticatedTotal',
  BRICKLESS_MASTER_KEY_FILE: 'secrets.masterKeyFile',
  BRICKLESS_ARTIFACT_DIR: 'updates.artifactDir',
  BRICKLESS_MAX_ARTIFACT_BYTES: 'updates.maxArtifactBytes',
  BRICKLESS_ARTIFACTS_STORE: 'artifacts.store',
  BRICKLESS_ARTIFACTS_S3_ENDPOINT: 'artifacts.s3.endpoint',
  BRICKLESS_ARTIFACTS_S3_BUCKET: 'artifacts.s3.bucket',
  BRICKLESS_ARTIFACTS_S3_REGION: 'artifacts.s3.region',
  BRICKLESS_ARTIFACTS_S3_ACCESS_KEY_ID: 'artifacts.s3.accessKeyId',
  BRICKLESS_ARTIFACTS_S3_SECRET_ACCESS_KEY: 'artifacts.s3.secretAccessKey',
  BRICKLESS_ARTIFACTS_S3_PREFIX: 'artifacts.s3.prefix',
  BRICKLESS_TELEMETRY_RETENTION_DAYS: 'telemetry.retentionDays',
  BRICKLESS_LOG_LEVEL: 'log.level',
  BRICKLESS_VULNERABILITY_FEEDS: 'vulnerabilities.feeds',
  BRICKLESS_VULNERABILITY_SYNC_MINUTES: 'vulnerabilities.syncIntervalMinutes',
  BRICKLESS_PUBLIC_ORGANIZATION: 'publication.organization',
  BRICKLESS_ESCROW_DIR: 'escrow.dir',
  BRICKLESS_ESCROW_RECIPIENTS: 'escrow.recipients',
  BRICKLESS_ESCROW_INTERVAL_HOURS: 'escrow.intervalHours',
  BRICKLESS_AUDIT_CHECKPOINT_MINUTES: 'audit.checkpointIntervalMinutes',
  BRICKLESS_SESSION_IDLE_MINUTES: 'sessions.idleMinutes',
  BRICKLESS_SESSION_ABSOLUTE_HOURS: 'sessions.absoluteHours',
  BRICKLESS_MAIL_SMTP_URL: 'mail.smtpUrl',
  BRICKLESS_MAIL_FROM: 'mail.from',
  BRICKLESS_MAIL_ALLOW_UNVERIFIED_TLS: 'mail.allowUnverifiedTls',
  BRICKLESS_WEBHOOKS_ALLOW_PRIVATE_TARGETS: 'webhooks.allowPrivateTargets',
  BRICKLESS_PROXY_TRUSTED: 'proxy.trusted',
  BRICKLESS_OWNER_END_OF_SUPPORT_LEAD_DAYS: 'owners.endOfSupportLeadDays',
  BRICKLESS_NODE_ID: 'cluster.nodeId',
  BRICKLESS_CLUSTER_HEARTBEAT_MS: 'cluster.heartbeatMs',
  BRICKLESS_CLUSTER_EXPIRY_MS: 'cluster.expiryMs',
  BRICKLESS_BUS_URL: 'bus.url',
  BRICKLESS_BUS_CLUSTER: 'bus.cluster',
  BRICKLESS_BUS_CREDS_FILE: 'bus.credsFile',
  BRICKLESS_BUS_TLS_CA_FILE: 'bus.tlsCaFile',
  BRICKLESS_BUS_TLS_CERT_FILE: 'bus.tlsCertFile',
  BRICKLESS_BUS_TLS_KEY_FILE: 'bus.tlsKeyFile',
};

const numericKeys = new Set([
  'http.port',
  'http.bodyLimit',
  'mqtt.port',
  'mqtt.plainPort',
  'mqtt.connectsPerSecond',
  'mqtt.connectBurst',
  'mqtt.unauthenticatedPerAddress',
  'mqtt.unauthenticatedTotal',
  'updates.maxArtifactBytes',
  'telemetry.retentionDays',
  'vulnerabilities.syncIntervalMinutes',
  'escrow.intervalHours',
  'audit.checkpointIntervalMinutes',
  'sessions.idleMinutes',
  'sessions.absoluteHours',
  'cluster.heartbeatMs',
  'cluster.expiryMs',
]);
const booleanKeys = new Set(['http.tls', 'mail.allowUnverifiedTls', 'webhooks.allowPrivateTargets']);
const listKeys = new Set(['tls.hostnames', 'vulnerabilities.feeds', 'escrow.recipients', 'proxy.trusted']);
const numberListKeys = new Set(['owners.endOfSupportLeadDays']);

function set(target: Layer, dotted: string, value: unknown): void {
  const parts = dotted.split('.');
  let node = target;
  for (const part of parts.slice(0, -1)) {
    node[part] = typeof node[part] === 'object' && node[part] !== null ? node[part] : {};
    node = node[part] as Layer;
  }
  node[parts.at(-1) as string] = value;
}

/** Text from an environment variable or flag, turned into the key's type; bad text stays text so validation names it. */
function parseText(key: string, text: string): unknown {
  if (numericKeys.has(key)) return /^\d+$/.test(text) ? Number(text) : text;
  if (booleanKeys.has(key))
    return text === 'true' || text === '1' ? true : text === 'false' || text === '0' ? false : text;
  if (numberListKeys.has(key))
    return text
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean)
      .map((s) => (/^\d+$/.test(s) ? Number(s) : s));
  if (listKeys.has(key))
    return text
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean);
  return text;
}

function merge(base: Layer, over: Layer): Layer {
  const out: Layer = { ...base };
  for (const [key, value] of Object.entries(over)) {
    if (value === undefined) continue;
    const current = out[key];
    out[key] =
      value && typeof value === 'object' && !Array.isArray(value) && current && typeof current === 'object'
        ? merge(current as Layer, value as Layer)
        : value;
  }
  return out;
}

export interface ConfigSources {
  /** Values from CLI flags, keyed by dotted config key. */
  flags?: Record<string, string | number | boolean | undefined>;
  env?: NodeJS.ProcessEnv;
  /** A JSON config file (`--config`, `BRICKLESS_CONFIG`). */
  file?: string | undefined;
}

let validator: ReturnType<Ajv2020['compile']> | undefined;
const validate = (config: unknown) => {
  // `validateSchema: false`: ConfigSchema is ours and fixed, and config.test.ts checks it against
  // the JSON Schema 2020-12 meta-schema; checking it again on every start meant compiling that
  // meta-schema first, the largest single cost of a start after module loading (issue 15).
  // The configuration itself is validated exactly as before.
  validator ??= new Ajv2020({ allErrors: false, strict: false, validateSchema: false }).compile(ConfigSchema);
  return validator(config);
};

/**
 * Loads the configuration: defaults, then the file, then BRICKLESS_* variables, then flags.
 * Validated once; a bad value stops the start with one line naming the key and where it came from.
 */
export function loadConfig(sources: ConfigSources = {}): Config {
  const env = sources.env ?? process.env;
  const origin = new Map<string, string>();
  let layer: Layer = {};

  const fileName = sources.file ?? env.BRICKLESS_CONFIG;
  if (fileName) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(readFileSync(fileName, 'utf8'));
    } catch (error) {
      throw new DomainError('validation-failed', `config file ${fileName}: ${(error as Error).message}`);
    }
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
      throw new DomainError('validation-failed', `config file ${fileName}: must be a JSON object`);
    }
    layer = merge(layer, parsed as Layer);
  }
  for (const [variable, key] of Object.entries(envKeys)) {
    const text = env[variable];
    if (text === undefined || text === '') continue;
    set(layer, key, parseText(key, text));
    origin.set(key, variable);
  }
  for (const [key, value] of Object.entries(sources.flags ?? {})) {
    if (value === undefined) continue;
    set(layer, key, typeof value === 'string' ? parseText(key, value) : value);
    // `serve --bus` sets bus.url; every other flag is named after its key.
    const flag =
      key === 'bus.url' ? 'bus' : key.replace(/\./g, '-').replace(/([A-Z])/g, (c) => `-${c.toLowerCase()}`);
    origin.set(key, `--${flag}`);
  }

  const dataDir = resolve(String((layer.dataDir as string | undefined) ?? './data'));
  const defaults: Layer = {
    dataDir,
    database: join(dataDir, 'brickless.db'),
    http: { host: '0.0.0.0', port: 8443, tls: true, bodyLimit: 1024 * 1024 },
    tls: { hostnames: [] },
    mqtt: {
      host: '0.0.0.0',
      port: 8883,
      connectsPerSecond: 50,
      connectBurst: 500,
      unauthenticatedPerAddress: 64,
      unauthenticatedTotal: 64,
    },
    secrets: { masterKeyFile: join(dataDir, 'master.key') },
    telemetry: { retentionDays: 365 },
    updates: { artifactDir: join(dataDir, 'artifacts'), maxArtifactBytes: 2 * 1024 ** 3 },
    artifacts: { store: 'auto', s3: {} },
    vulnerabilities: { feeds: [], syncIntervalMinutes: 360 },
    escrow: { recipients: [], intervalHours: 0 },
    audit: { checkpointIntervalMinutes: 60 },
    sessions: { idleMinutes: 30, absoluteHours: 12 },
    publication: {},
    mail: { allowUnverifiedTls: false },
    owners: { endOfSupportLeadDays: [180, 30] },
    webhooks: { allowPrivateTargets: false },
    cluster: { heartbeatMs: 2_000, expiryMs: 10_000 },
    proxy: { trusted: [] },
    bus: { cluster: 'default' },
    log: { level: 'info' },
  };
  const config = merge(defaults, { ...layer, dataDir });
  if (!validate(config)) {
    const error = validator?.errors?.[0];
    const path = (error?.instancePath ?? '').slice(1).replace(/\//g, '.');
    const key =
      error?.keyword === 'additionalProperties'
        ? [path, String(error.params.additionalProperty)].filter(Boolean).join('.')
        : path;
    const from = origin.get(key) ?? (fileName ? `config file ${fileName}` : 'defaults');
    const why =
      error?.keyword === 'additionalProperties'
        ? 'is not a known setting'
        : (error?.message ?? 'is not valid');
    throw new DomainError('validation-failed', `config: ${key || '(root)'} ${why} (from ${from})`);
  }
  const { mqtt, proxy, artifacts } = config as unknown as Config;
  const badProxy = invalidTrustedEntry(proxy.trusted);
  if (badProxy) {
    const from = origin.get('proxy.trusted') ?? (fileName ? `config file ${fileName}` : 'defaults');
    throw new DomainError('validation-failed', `config: proxy.trusted: ${badProxy} (from ${from})`);
  }
  if (artifacts.store === 's3') {
    // Decision 0030: no default bucket, region or credentials; a node must not guess where firmware goes.
    const missing = (['endpoint', 'bucket', 'region', 'accessKeyId', 'secretAccessKey'] as const).filter(
      (key) => !artifacts.s3[key],
    );
    if (missing.length > 0)
      throw new DomainError(
        'validation-failed',
        `config: artifacts.store is s3 but ${missing.map((key) => `artifacts.s3.${key}`).join(', ')} ${missing.length === 1 ? 'is' : 'are'} not set (BRICKLESS_ARTIFACTS_S3_* or the config file)`,
      );
  }
  if (mqtt.unauthenticatedPerAddress > mqtt.unauthenticatedTotal) {
    const from = (key: string) => origin.get(key) ?? (fileName ? `config file ${fileName}` : 'defaults');
    throw new DomainError(
      'validation-failed',
      `config: mqtt.unauthenticatedPerAddress (${mqtt.unauthenticatedPerAddress}, from ${from('mqtt.unauthenticatedPerAddress')}) must not be over mqtt.unauthenticatedTotal (${mqtt.unauthenticatedTotal}, from ${from('mqtt.unauthenticatedTotal')}): one address could hold every pending place`,
    );
  }
  const { cluster } = config as unknown as Config;
  if (cluster.expiryMs < 3 * cluster.heartbeatMs) {
    const from = (key: string) => origin.get(key) ?? (fileName ? `config file ${fileName}` : 'defaults');
    throw new DomainError(
      'validation-failed',
      `config: cluster.expiryMs (${cluster.expiryMs}, from ${from('cluster.expiryMs')}) must be at least three heartbeats (cluster.heartbeatMs ${cluster.heartbeatMs}, from ${from('cluster.heartbeatMs')}): a node must be able to miss two before it counts as dead`,
    );
  }
  const { bus } = config as unknown as Config;
  if (bus.url !== undefined) {
    try {
      parseBusUrl(bus.url);
    } catch (error) {
      const from = origin.get('bus.url') ?? (fileName ? `config file ${fileName}` : 'defaults');
      throw new DomainError('validation-failed', `config: ${(error as Error).message} (from ${from})`);
    }
  }
  return config as unknown as Config;
}
