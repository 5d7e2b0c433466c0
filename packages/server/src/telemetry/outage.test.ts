import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import mqtt, { type MqttClient } from 'mqtt';
import pino from 'pino';
import { type App, createApp } from '../app.js';
import { SecretBox } from '../secrets/master-key.js';
import { FaultProxy } from '../store/fault-proxy.js';
import type { PostgresTimeouts } from '../store/pg-pool.js';
import { openSqliteConnection, type SqliteConnection } from '../store/sqlite-driver.js';
import { freshDatabase, type TestDatabase, testDialects } from '../store/test-helper.js';

const run = promisify(execFile);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Short timeouts so that a test sees in seconds what production sees in tens of seconds. */
const timeouts: PostgresTimeouts = {
  connectMs: 1000,
  statementMs: 2000,
  queryMs: 1500,
  idleInTransactionMs: 5000,
  backoffMs: 50,
  maxBackoffMs: 400,
};

async function eventually(condition: () => Promise<boolean> | boolean, timeoutMs = 10_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await sleep(50);
  }
}

/**
 * The database going away, for real: on PostgreSQL a TCP proxy between the server and the
 * database resets every connection and refuses new ones; on SQLite another connection holds the
 * write lock (a CLI or a backup next to the server).
 */
interface Outage {
  cut(): Promise<void>;
  restore(): Promise<void>;
  close(): Promise<void>;
}

for (const dialect of testDialects) {
  describe(`the database fails, the service does not (${dialect})`, () => {
    let database: TestDatabase;
    let proxy: FaultProxy | null = null;
    let app: App;
    let token: string;
    const logLines: { msg?: string; level?: number; kind?: string; downForMs?: unknown }[] = [];
    let mqttPort: number;
    let outage: Outage;
    const device = { id: '', secret: '' };
    const clients: MqttClient[] = [];

    const call = async (method: 'GET' | 'POST', url: string, body?: unknown) => {
      const response = await app.http.inject({
        method,
        url,
        headers: {
          authorization: `Bearer ${token}`,
          ...(body ? { 'content-type': 'application/json' } : {}),
        },
        ...(body ? { payload: JSON.stringify(body) } : {}),
      });
      return { status: response.statusCode, body: response.body ? JSON.parse(response.body) : null };
    };
    const stored = async (): Promise<number> => {
      const row = await app.services.store.db
        .selectFrom('telemetry')
        .select((eb) => eb.fn.countAll().as('n'))
        .where('device_id', '=', device.id)
        .executeTakeFirstOrThrow();
      return Number(row.n);
    };
    const counter = async (name: string, labels = ''): Promise<number> => {
      const text = await app.services.metrics.registry.metrics();
      const line = text.split('\n').find((l) => l.startsWith(`${name}${labels} `));
      return line ? Number(line.split(' ')[1]) : 0;
    };
    const connect = (options: mqtt.IClientOptions = {}): Promise<MqttClient> => {
      const client = mqtt.connect(`mqtt://127.0.0.1:${mqttPort}`, {
        clientId: device.id,
        username: device.id,
        password: device.secret,
        reconnectPeriod: 0,
        connectTimeout: 5000,
        ...options,
      });
      clients.push(client);
      return new Promise((resolve, reject) => {
        client.once('connect', () => resolve(client));
        client.once('error', reject);
      });
    };
    const topic = () => `brickless/v1/${device.id}/telemetry`;
    const message = (id: string, values: number[]) =>
      JSON.stringify({
        id,
        readings: values.map((power, i) => ({ time: Date.now() - 60_000 + i, values: { power } })),
      });

    before(async () => {
      database = await freshDatabase(dialect);
      let url = database.url;
      if (dialect === 'postgres') {
        proxy = await FaultProxy.start({ host: '127.0.0.1', port: 5432 });
        const viaProxy = new URL(database.url);
        viaProxy.host = `127.0.0.1:${proxy.port}`;
        url = viaProxy.toString();
        const p = proxy;
        outage = {
          cut: async () => p.refuse(),
          restore: async () => p.pass(),
          close: async () => p.close(),
        };
      } else {
        let holder: SqliteConnection | null = null;
        outage = {
          cut: async () => {
            holder = openSqliteConnection(database.url);
            holder.exec('PRAGMA busy_timeout = 5000'); // the server may be writing right now
            holder.exec('BEGIN IMMEDIATE'); // the write lock, held until restore
          },
          restore: async () => {
            holder?.exec('ROLLBACK');
            holder?.database.close();
            holder = null;
          },
          close: async () => {},
        };
      }
      app = await createApp({
        database: url,
        databaseTimeouts: timeouts,
        // The server's own log, captured: an outage must be one error line and one recovery line.
        logger: pino({ level: 'info' }, { write: (line: string) => void logLines.push(JSON.parse(line)) }),
        secrets: SecretBox.random(),
        artifacts: join(database.dataDir, 'artifacts'),
      });
      token = (
        await app.services.tokens.create('test', { orgId: null, role: 'platform-admin', name: 'root' })
      ).token;
      assert.equal((await call('POST', '/v1/orgs', { slug: 'acme', name: 'Acme' })).status, 201);
      const product = await call('POST', '/v1/orgs/acme/products', {
        modelNumber: 'PLUG',
        name: 'Plug',
        hardwareRevision: 'A',
        supportEnds: '2035-01-01',
        capabilities: { telemetry: { power: { schema: { type: 'number' } } } },
      });
      const created = await call('POST', '/v1/orgs/acme/devices', {
        productId: product.body.id,
        serial: 'S1',
      });
      const issued = await call('POST', `/v1/orgs/acme/devices/${created.body.id}/credentials`);
      device.id = created.body.id;
      device.secret = issued.body.secret;
      mqttPort = (await app.gateway.start({ plain: { port: 0, host: '127.0.0.1' } })).plainPort as number;
    });
    after(async () => {
      for (const c of clients) c.end(true);
      await outage.restore();
      await app.close();
      await outage.close();
      await database.drop();
    });

    it('/readyz commits a write: 200, then 503 within 2 s of the outage, then 200 when it is over', async () => {
      logLines.length = 0;
      assert.equal((await app.http.inject({ method: 'GET', url: '/readyz' })).statusCode, 200);
      await outage.cut();
      try {
        const started = Date.now();
        const down = await app.http.inject({ method: 'GET', url: '/readyz' });
        const elapsed = Date.now() - started;
        assert.equal(down.statusCode, 503, down.body);
        assert.equal(JSON.parse(down.body).code, 'database-unreachable');
        assert.ok(elapsed < 2000, `503 after ${elapsed} ms`);
        // Liveness is not readiness: the process answers.
        assert.equal((await app.http.inject({ method: 'GET', url: '/healthz' })).statusCode, 200);
        assert.ok((await counter('brickless_database_errors_total', '{kind="probe"}')) >= 1);
        assert.equal(await counter('brickless_database_up'), 0);
      } finally {
        await outage.restore();
      }
      await eventually(
        async () => (await app.http.inject({ method: 'GET', url: '/readyz' })).statusCode === 200,
      );
      assert.equal(await counter('brickless_database_up'), 1);
      // Logged at error level when it started and at info level when it was over (pino: 50, 30).
      const failure = logLines.find((l) => l.msg === 'database failure');
      assert.ok(failure, JSON.stringify(logLines.map((l) => l.msg)));
      assert.equal(failure.level, 50);
      // What saw it first: the probe, or (PostgreSQL) the pool losing its connections.
      assert.match(String(failure.kind), /^(probe|connection-lost|connect)$/);
      const back = logLines.find((l) => l.msg === 'database answers again');
      assert.ok(back, JSON.stringify(logLines.map((l) => l.msg)));
      assert.equal(back.level, 30);
      assert.equal(typeof back.downForMs, 'number');
    });

    if (dialect === 'postgres') {
      it('/readyz answers 503 within 2 s when the route to PostgreSQL goes silent (no RST, no answer)', async () => {
        assert.equal((await app.http.inject({ method: 'GET', url: '/readyz' })).statusCode, 200);
        proxy?.blackhole();
        try {
          const started = Date.now();
          const down = await app.http.inject({ method: 'GET', url: '/readyz' });
          assert.equal(down.statusCode, 503, down.body);
          assert.ok(Date.now() - started < 2000, `503 after ${Date.now() - started} ms`);
        } finally {
          proxy?.pass();
        }
        // The silent connections hit the query timeout, are destroyed, and fresh ones work.
        await eventually(
          async () => (await app.http.inject({ method: 'GET', url: '/readyz' })).statusCode === 200,
          15_000,
        );
      });
    }

    it('QoS 1 telemetry sent while the database is away gets no PUBACK, the connection stays, and the resend is stored once', async () => {
      const client = await connect({ reconnectPeriod: 200, keepalive: 2 });
      let closed = 0;
      client.on('close', () => {
        closed += 1;
      });
      // Warm up: a message stored as usual.
      await client.publishAsync(topic(), message('warm-up', [1]), { qos: 1 });
      const before = await stored();
      const unacknowledgedBefore = await counter(
        'brickless_device_messages_unacknowledged_total',
        '{reason="storage"}',
      );
      await outage.cut();
      let acknowledged = false;
      const sent = client
        .publishAsync(topic(), message('during-outage', [10, 11, 12]), { qos: 1 })
        .then(() => {
          acknowledged = true;
        });
      // Longer than the batch writer's backoff and the keepalive: no PUBACK, and no disconnect.
      await sleep(4500);
      assert.equal(acknowledged, false, 'no acknowledgement for what is not stored');
      assert.equal(closed, 0, 'the device stays connected (keepalive answered)');
      assert.equal(client.connected, true);
      assert.ok(
        (await counter('brickless_device_messages_unacknowledged_total', '{reason="storage"}')) >
          unacknowledgedBefore,
      );
      await outage.restore();
      await eventually(
        async () => (await app.http.inject({ method: 'GET', url: '/readyz' })).statusCode === 200,
      );
      // The device's own PUBACK timeout: it reconnects, and mqtt.js sends the unacknowledged
      // message again (MQTT 3.1.1 §4.4, DUP set).
      client.stream.destroy();
      await sent;
      assert.equal(acknowledged, true);
      assert.equal(await stored(), before + 3, 'stored after the database came back');
      // The same message once more (a device that lost the PUBACK resends with a new packet id,
      // as a restarted mosquitto_pub does): acknowledged, not stored twice.
      const duplicatesBefore = await counter('brickless_telemetry_duplicates_total');
      await client.publishAsync(topic(), message('during-outage', [10, 11, 12]), { qos: 1 });
      assert.equal(await stored(), before + 3, 'exactly once');
      assert.equal(await counter('brickless_telemetry_duplicates_total'), duplicatesBefore + 1);
      client.end(true);
    });

    it('mosquitto_pub: unacknowledged while the database is away, stored exactly once when run again after it is back', async () => {
      const payload = message('mosquitto-1', [20, 21]);
      const args = [
        ...['-h', '127.0.0.1', '-p', String(mqttPort), '-i', device.id, '-u', device.id, '-P', device.secret],
        ...['-t', topic(), '-q', '1', '-m', payload],
      ];
      const before = await stored();
      await outage.cut();
      try {
        // No PUBACK: mosquitto_pub waits for it until it is stopped (on PostgreSQL the CONNECT
        // itself is refused, "server unavailable": credentials are read from the database).
        await assert.rejects(run('mosquitto_pub', args, { timeout: 2500 }));
      } finally {
        await outage.restore();
      }
      await eventually(
        async () => (await app.http.inject({ method: 'GET', url: '/readyz' })).statusCode === 200,
      );
      assert.equal(await stored(), before, 'nothing stored while the database was away');
      await run('mosquitto_pub', args, { timeout: 10_000 });
      await run('mosquitto_pub', args, { timeout: 10_000 });
      assert.equal(await stored(), before + 2, 'stored once though sent twice');
    });
  });
}
