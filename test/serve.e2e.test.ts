import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync, statSync } from 'node:fs';
import https from 'node:https';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { freshDatabase, type TestDatabase, testDialects } from '../packages/server/src/store/test-helper.js';
import { needsPart } from '../packages/server/src/test-support/parts.js';
import { assertBuilt, brickless, bricklessJson, type Server, startServer } from './support/cli.js';

/** HTTPS request trusting only the given CA, as a client of a fresh brickless would. */
function request(
  url: string,
  options: { method?: string; ca: string; token?: string; body?: unknown },
): Promise<{ status: number; body: any }> {
  return new Promise((resolve, reject) => {
    const payload = options.body === undefined ? undefined : JSON.stringify(options.body);
    const req = https.request(
      url,
      {
        method: options.method ?? 'GET',
        ca: options.ca,
        headers: {
          ...(options.token ? { authorization: `Bearer ${options.token}` } : {}),
          ...(payload ? { 'content-type': 'application/json' } : {}),
        },
      },
      (res) => {
        let text = '';
        res.on('data', (c: Buffer) => {
          text += c.toString();
        });
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, body: text && text[0] === '{' ? JSON.parse(text) : text }),
        );
      },
    );
    req.on('error', reject);
    req.end(payload);
  });
}

for (const dialect of testDialects) {
  describe(`brickless serve (${dialect})`, () => {
    let db: TestDatabase;
    let server: (Server & { url: string }) | undefined;
    let token: string;
    let ca: string;
    let deviceId = '';

    before(async () => {
      assertBuilt();
      db = await freshDatabase(dialect);
    });
    after(async () => {
      server?.child.kill('SIGKILL');
      await db.drop();
    });

    it('starts with TLS on by default, prints its URLs and, the first time only, an admin token', async () => {
      server = await startServer(['--data-dir', db.dataDir, '--http-port', '0'], {
        BRICKLESS_DATABASE_URL: db.url,
      });
      const out = server.output();
      assert.match(server.url, /^https:\/\/localhost:\d+$/);
      assert.match(out, new RegExp(`database: ${dialect}`));
      assert.match(out, /TLS CA:\s+\S+ca\.crt/);
      const match = /^\s+(bkl_[A-Za-z0-9_-]{43})$/m.exec(out);
      assert.ok(match?.[1], `token printed:\n${out}`);
      token = match[1];
      ca = readFileSync(join(db.dataDir, 'tls', 'ca.crt'), 'utf8');
    });

    it('answers over HTTPS to a client that trusts the generated CA', async () => {
      const ready = await request(`${server?.url}/readyz`, { ca });
      assert.deepEqual(ready, { status: 200, body: { status: 'ready', database: dialect } });
      const org = await request(`${server?.url}/v1/orgs`, {
        ca,
        token,
        method: 'POST',
        body: { slug: 'acme', name: 'Acme' },
      });
      assert.equal(org.status, 201);
      const brand = await request(`${server?.url}/v1/orgs/acme/brands`, {
        ca,
        token,
        method: 'POST',
        body: { name: 'Acme', responsibleParty: 'Acme GmbH', securityContact: 'mailto:psirt@acme.example' },
      });
      assert.equal(brand.status, 201);
      await assert.rejects(
        request(`${server?.url}/healthz`, { ca: '' }).then(() => {
          throw new Error('a client without the CA must not connect');
        }),
        /self-signed|unable to verify|certificate/i,
      );
    });

    it('is driven by the CLI in remote mode with a token', async () => {
      const remote = [
        '--server',
        server?.url as string,
        '--token',
        token,
        '--ca',
        join(db.dataDir, 'tls', 'ca.crt'),
      ];
      const me = await bricklessJson([...remote, 'whoami']);
      assert.equal(me.role, 'platform-admin');
      const product = await bricklessJson([
        ...remote,
        '--org',
        'acme',
        'products',
        'create',
        '--model',
        'R1',
        '--name',
        'Remote',
        '--revision',
        'A',
        '--support-ends',
        '2034-01-01',
        '--capabilities',
        '{"telemetry":{"reading":{"schema":{"type":"number"}}}}',
      ]);
      assert.equal(product.modelNumber, 'R1');
      const operator = await bricklessJson([
        ...remote,
        '--org',
        'acme',
        'admin',
        'token',
        'create',
        '--role',
        'operator',
      ]);
      const asOperator = [
        '--server',
        server?.url as string,
        '--token',
        operator.token,
        '--ca',
        join(db.dataDir, 'tls', 'ca.crt'),
      ];
      const device = await bricklessJson([
        ...asOperator,
        'devices',
        'create',
        '--product',
        product.id,
        '--serial',
        'R-1',
      ]);
      assert.equal(device.serial, 'R-1', 'an org token acts in its own organisation without --org');
      const denied = await brickless([...asOperator, 'audit', 'list']);
      assert.equal(denied.code, 1);
      assert.match(denied.stderr, /^brickless: role operator may not do this/);
      const wrong = await brickless([
        '--server',
        server?.url as string,
        '--token',
        'bkl_wrong',
        '--ca',
        join(db.dataDir, 'tls', 'ca.crt'),
        'whoami',
      ]);
      assert.equal(wrong.code, 1);
      assert.match(wrong.stderr, /^brickless: a valid API token is required/);
      const verify = await bricklessJson([...remote, '--org', 'acme', 'audit', 'verify']);
      assert.equal(verify.ok, true);
      deviceId = device.id;
    });

    it('takes a device on its MQTT/TLS port with its own secret, and stores what it sends', async (t) => {
      if (needsPart(t, 'mosquitto')) return;
      const mqttPort = /MQTT:\s+mqtts:\/\/localhost:(\d+)/.exec(server?.output() ?? '')?.[1];
      assert.ok(mqttPort, 'the banner names the MQTT port');
      const issued = await request(`${server?.url}/v1/orgs/acme/devices/${deviceId}/credentials`, {
        ca,
        token,
        method: 'POST',
        body: {},
      });
      assert.equal(issued.status, 201);
      const payload = JSON.stringify({ readings: [{ values: { reading: 1 } }] });
      const published = await new Promise<number | null>((resolve) => {
        const child = spawn('mosquitto_pub', [
          '-h',
          '127.0.0.1',
          '-p',
          mqttPort,
          '--cafile',
          join(db.dataDir, 'tls', 'ca.crt'),
          '-i',
          deviceId,
          '-u',
          deviceId,
          '-P',
          issued.body.secret,
          '-t',
          `brickless/v1/${deviceId}/telemetry`,
          '-q',
          '1',
          '-m',
          payload,
        ]);
        child.on('close', resolve);
      });
      assert.equal(published, 0, 'connected over TLS and got its PUBACK');
      const stored = await request(
        `${server?.url}/v1/orgs/acme/devices/${deviceId}/telemetry?field=reading`,
        { ca, token },
      );
      assert.equal(stored.body.points.length, 1);
      assert.equal(stored.body.points[0].value, 1);
      const wrong = await new Promise<number | null>((resolve) => {
        const child = spawn('mosquitto_pub', [
          '-h',
          '127.0.0.1',
          '-p',
          mqttPort,
          '--cafile',
          join(db.dataDir, 'tls', 'ca.crt'),
          '-i',
          deviceId,
          '-u',
          deviceId,
          '-P',
          'guess',
          '-t',
          `brickless/v1/${deviceId}/telemetry`,
          '-m',
          payload,
        ]);
        child.on('close', resolve);
      });
      assert.notEqual(wrong, 0, 'a wrong secret is refused');
    });

    it('runs a simulated fleet from a provisioning batch over the real protocol', async () => {
      const mqttPort = /MQTT:\s+mqtts:\/\/localhost:(\d+)/.exec(server?.output() ?? '')?.[1] as string;
      const caFile = join(db.dataDir, 'tls', 'ca.crt');
      const remote = ['--server', server?.url as string, '--token', token, '--ca', caFile, '--org', 'acme'];
      const products = await bricklessJson([...remote, 'products', 'list']);
      const productId = products.items[0].id;
      const batch = join(db.dataDir, 'sim.jsonl');
      await bricklessJson([
        ...remote,
        'devices',
        'provision',
        '--product',
        productId,
        '--serial-prefix',
        'SIM-',
        '--count',
        '20',
        '--out',
        batch,
      ]);
      const stats = await bricklessJson([
        ...remote,
        'simulate',
        '--batch',
        batch,
        '--url',
        `mqtts://127.0.0.1:${mqttPort}`,
        '--interval',
        '300ms',
        '--duration',
        '2s',
      ]);
      assert.equal(stats.devices, 20);
      assert.equal(stats.connected, 20);
      assert.equal(stats.failedToConnect, 0);
      assert.equal(stats.serverErrors, 0);
      assert.ok(stats.readingsSent >= 40, `sent ${stats.readingsSent}`);
      const first = JSON.parse(readFileSync(batch, 'utf8').split('\n')[0] as string);
      const stored = await request(
        `${server?.url}/v1/orgs/acme/devices/${first.deviceId}/telemetry?field=reading`,
        { ca, token },
      );
      assert.ok(stored.body.points.length >= 2, 'the simulated readings are stored');
    });

    it('takes a device with a CLI-issued client certificate (mosquitto_pub, no password) and a certificate batch in the simulator', async (t) => {
      if (needsPart(t, 'mosquitto')) return;
      const mqttPort = /MQTT:\s+mqtts:\/\/localhost:(\d+)/.exec(server?.output() ?? '')?.[1] as string;
      const caFile = join(db.dataDir, 'tls', 'ca.crt');
      const remote = ['--server', server?.url as string, '--token', token, '--ca', caFile, '--org', 'acme'];
      const outDir = join(db.dataDir, 'certs');
      const issued = await bricklessJson([
        ...remote,
        'devices',
        'certificate',
        deviceId,
        '--out-dir',
        outDir,
      ]);
      assert.match(issued.credential.fingerprint, /^[0-9a-f]{64}$/);
      assert.equal(statSync(issued.files.key).mode & 0o777, 0o600);
      const published = await new Promise<number | null>((resolve) => {
        const child = spawn('mosquitto_pub', [
          ...['-h', '127.0.0.1', '-p', mqttPort, '--cafile', caFile],
          ...['--cert', issued.files.certificate, '--key', issued.files.key, '-i', deviceId],
          ...[
            '-t',
            `brickless/v1/${deviceId}/telemetry`,
            '-q',
            '1',
            '-m',
            '{"readings":[{"values":{"reading":2}}]}',
          ],
        ]);
        child.on('close', resolve);
      });
      assert.equal(published, 0, 'connected with mutual TLS and got its PUBACK');
      const ca2 = await brickless([...remote, 'devices', 'ca']);
      assert.equal(ca2.stdout, readFileSync(issued.files.ca, 'utf8'));

      const products = await bricklessJson([...remote, 'products', 'list']);
      const batch = join(db.dataDir, 'sim-cert.jsonl');
      await bricklessJson([
        ...remote,
        ...[
          'devices',
          'provision',
          '--product',
          products.items[0].id,
          '--serial-prefix',
          'CERT-',
          '--count',
          '5',
        ],
        ...['--credential', 'certificate', '--out', batch],
      ]);
      const stats = await bricklessJson([
        ...remote,
        ...[
          'simulate',
          '--batch',
          batch,
          '--url',
          `mqtts://127.0.0.1:${mqttPort}`,
          '--interval',
          '300ms',
          '--duration',
          '1s',
        ],
      ]);
      assert.equal(stats.connected, 5);
      assert.equal(stats.failedToConnect, 0);
    });

    it('stops cleanly on SIGTERM and does not print a token again on the next start', async () => {
      server?.child.kill('SIGTERM');
      assert.equal(await server?.exited, 0);
      server = await startServer(['--data-dir', db.dataDir, '--http-port', '0'], {
        BRICKLESS_DATABASE_URL: db.url,
      });
      assert.doesNotMatch(server.output(), /bkl_/);
      const orgs = await request(`${server.url}/v1/orgs`, { ca, token });
      assert.deepEqual(
        orgs.body.items.map((o: { slug: string }) => o.slug),
        ['acme'],
        'data survived the restart',
      );
      server.child.kill('SIGTERM');
      assert.equal(await server.exited, 0);
      server = undefined;
    });
  });
}

describe('brickless serve refuses to start, with one clear line', () => {
  it('when PostgreSQL is unreachable', async () => {
    const result = await brickless([
      'serve',
      '--database',
      'postgres://u:secret@127.0.0.1:1/x',
      '--http-port',
      '0',
    ]);
    assert.equal(result.code, 1);
    assert.match(
      result.stderr,
      /^brickless: cannot reach PostgreSQL at postgres:\/\/u:\*\*\*@127\.0\.0\.1:1\/x/,
    );
    assert.equal(result.stderr.trim().split('\n').length, 1);
  });

  it('when a setting is invalid, naming the key and where it came from', async () => {
    const result = await brickless(['serve', '--data-dir', '/tmp/never-used'], {
      env: { BRICKLESS_HTTP_PORT: 'eighty' },
    });
    assert.equal(result.code, 1);
    assert.equal(result.stderr, 'brickless: config: http.port must be integer (from BRICKLESS_HTTP_PORT)\n');
  });

  it('when the port is taken', async () => {
    const db = await freshDatabase('sqlite');
    const first = await startServer([
      '--data-dir',
      db.dataDir,
      '--http-port',
      '0',
      '--http-host',
      '127.0.0.1',
    ]);
    const port = new URL(first.url).port;
    const second = await brickless([
      'serve',
      '--data-dir',
      db.dataDir,
      '--http-port',
      port,
      '--http-host',
      '127.0.0.1',
    ]);
    first.child.kill('SIGTERM');
    await first.exited;
    await db.drop();
    assert.equal(second.code, 1);
    assert.match(second.stderr, /^brickless: .*EADDRINUSE/);
  });
});
