import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import { type AddressInfo, connect, createServer, type Socket } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import tls from 'node:tls';
import mqtt, { type MqttClient } from 'mqtt';
import { freshDatabase, type TestDatabase, testDialects } from '../packages/server/src/store/test-helper.js';
import { needsPart } from '../packages/server/src/test-support/parts.js';
import { v2Header } from '../packages/server/src/test-support/proxy-header.js';
import { assertBuilt, root, type Server, startServer } from './support/cli.js';

/**
 * A real HAProxy (Debian's `haproxy`, TCP mode, `send-proxy-v2`) in front of a real `brickless
 * serve`, with deploy/haproxy.cfg (the file docs/scale-out.md shows) and only its addresses
 * replaced (decision 0031). Clients reach HAProxy from their own loopback addresses (127.0.0.2,
 * 127.0.0.3, 127.0.0.4); HAProxy reaches the node from 127.0.0.1, the one address the node trusts.
 * What the node sees, counts and records must be each client's address, never HAProxy's; and a
 * header from anyone but HAProxy is never believed.
 */

const HAPROXY = process.env.BRICKLESS_HAPROXY ?? 'haproxy';
const DEVICE = '127.0.0.2';
const PERSON = '127.0.0.3';
const FLOOD = '127.0.0.4';
const STRANGER = '127.0.0.5';

/** A free port on 127.0.0.1 for HAProxy to bind (it has no port 0 that it reports back). */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as AddressInfo;
      probe.close(() => resolve(port));
    });
  });
}

/**
 * deploy/haproxy.cfg with the test's addresses (the frontends on free ports, every node the test's
 * node) and a maxconn that fits this machine's file limit (HAProxy wants two descriptors each).
 */
export function testConfig(
  text: string,
  ports: { mqtt: number; https: number; nodeMqtt: number; nodeHttps: number },
) {
  const replaced = text
    .replace(/^(\s+maxconn) 100000$/m, '$1 2000')
    .replace(/^(\s+bind) :8883$/m, `$1 127.0.0.1:${ports.mqtt}`)
    .replace(/^(\s+bind) :443$/m, `$1 127.0.0.1:${ports.https}`)
    .replace(/ node\d:8883 /g, ` 127.0.0.1:${ports.nodeMqtt} `)
    .replace(/ node\d:8443 /g, ` 127.0.0.1:${ports.nodeHttps} `);
  for (const gone of ['maxconn 100000', ':8883\n', ':443\n', 'node1:', 'node2:', 'node3:'])
    assert.ok(!replaced.includes(gone), `deploy/haproxy.cfg changed shape: ${gone.trim()} left`);
  return replaced;
}

interface Reply {
  status: number;
  body: any;
}

/** HTTPS from a given local address, trusting the node's CA, with `localhost` as the name checked. */
function request(
  port: number,
  path: string,
  options: { from: string; ca: string; method?: string; token?: string; body?: unknown; basic?: string },
): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const payload = options.body === undefined ? undefined : JSON.stringify(options.body);
    const req = https.request(
      {
        host: '127.0.0.1',
        port,
        path,
        method: options.method ?? 'GET',
        localAddress: options.from,
        ca: options.ca,
        servername: 'localhost',
        agent: false,
        headers: {
          host: 'localhost',
          ...(options.token ? { authorization: `Bearer ${options.token}` } : {}),
          ...(options.basic
            ? { authorization: `Basic ${Buffer.from(options.basic).toString('base64')}` }
            : {}),
          ...(payload ? { 'content-type': 'application/json' } : {}),
        },
      },
      (res) => {
        let text = '';
        res.on('data', (c: Buffer) => {
          text += c.toString();
        });
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, body: text.startsWith('{') ? JSON.parse(text) : text }),
        );
      },
    );
    req.on('error', reject);
    req.end(payload);
  });
}

/** A TCP connection from `from`, resolved once open. */
function tcp(port: number, from: string): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect({ port, host: '127.0.0.1', localAddress: from }, () => resolve(socket));
    socket.once('error', reject);
  });
}

/** Resolves with true when the peer closes within `ms`, false when it is still open then. */
function closesWithin(socket: Socket, ms: number): Promise<boolean> {
  return new Promise((resolve) => {
    if (socket.destroyed) {
      resolve(true);
      return;
    }
    const timer = setTimeout(() => resolve(false), ms);
    socket.resume();
    socket.once('error', () => {});
    socket.once('close', () => {
      clearTimeout(timer);
      resolve(true);
    });
  });
}

/** A TLS handshake over a socket: resolves true when it completes, false when the peer ends it. */
function handshake(socket: Socket, ca: string): Promise<boolean> {
  return new Promise((resolve) => {
    const secure = tls.connect({ socket, ca, servername: 'localhost' }, () => {
      secure.destroy();
      resolve(true);
    });
    secure.once('error', () => resolve(false));
    secure.once('close', () => resolve(false));
  });
}

async function until<T>(what: string, probe: () => Promise<T | undefined>, ms = 30_000): Promise<T> {
  const end = Date.now() + ms;
  let last: unknown;
  while (Date.now() < end) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (error) {
      last = error;
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  throw new Error(`${what} within ${ms} ms${last ? `: ${String(last)}` : ''}`);
}

for (const dialect of testDialects) {
  describe(`HAProxy with the PROXY protocol in front of a node (${dialect})`, () => {
    let db: TestDatabase;
    let server: (Server & { url: string }) | undefined;
    let haproxy: ChildProcess | undefined;
    let haproxyOutput = '';
    let ca = '';
    let token = '';
    let setupToken = '';
    let node = { mqtt: 0, https: 0 };
    let front = { mqtt: 0, https: 0 };
    const clients: MqttClient[] = [];
    const sockets: Socket[] = [];

    before(async () => {
      assertBuilt();
      db = await freshDatabase(dialect);
    });
    after(async () => {
      for (const client of clients) client.end(true);
      for (const socket of sockets) socket.destroy();
      haproxy?.kill('SIGTERM');
      server?.child.kill('SIGKILL');
      await db.drop();
    });

    it('starts a node that trusts only 127.0.0.1, and HAProxy in front of it with deploy/haproxy.cfg', async (t) => {
      if (needsPart(t, 'haproxy')) return;
      server = await startServer(['--data-dir', db.dataDir, '--http-host', '127.0.0.1'], {
        BRICKLESS_DATABASE_URL: db.url,
        BRICKLESS_MQTT_HOST: '127.0.0.1',
        BRICKLESS_PROXY_TRUSTED: '127.0.0.1/32',
        // Request logs (remoteAddress) are at info.
        BRICKLESS_LOG_LEVEL: 'info',
        // Two pending connections per address: HAProxy's single address would lock everyone out
        // at once if the node counted it instead of the clients.
        BRICKLESS_MQTT_UNAUTHENTICATED_PER_ADDRESS: '2',
      });
      const out = server.output();
      assert.match(out, /Proxies:\s+PROXY protocol required from 127\.0\.0\.1\/32/);
      node = {
        https: Number(/^https:\/\/[^:]+:(\d+)$/.exec(server.url)?.[1]),
        mqtt: Number(/MQTT:\s+mqtts:\/\/[^:]+:(\d+)/.exec(out)?.[1]),
      };
      token = /^\s+(bkl_[A-Za-z0-9_-]{43})$/m.exec(out)?.[1] as string;
      setupToken = /\/invitation#([A-Za-z0-9_-]{43})$/m.exec(out)?.[1] ?? '';
      assert.ok(token && setupToken, `token and setup link printed:\n${out}`);
      ca = readFileSync(join(db.dataDir, 'tls', 'ca.crt'), 'utf8');

      front = { mqtt: await freePort(), https: await freePort() };
      const config = testConfig(readFileSync(join(root, 'deploy', 'haproxy.cfg'), 'utf8'), {
        mqtt: front.mqtt,
        https: front.https,
        nodeMqtt: node.mqtt,
        nodeHttps: node.https,
      });
      const file = join(db.dataDir, 'haproxy.cfg');
      writeFileSync(file, config);
      haproxy = spawn(HAPROXY, ['-db', '-f', file], { stdio: ['ignore', 'pipe', 'pipe'] });
      haproxy.on('exit', (code) => {
        haproxyOutput += `exited with ${code}`;
      });
      haproxy.on('error', (error) => {
        haproxyOutput += `spawn failed: ${error.message}`;
      });
      haproxy.stdout?.on('data', (c: Buffer) => {
        haproxyOutput += c.toString();
      });
      haproxy.stderr?.on('data', (c: Buffer) => {
        haproxyOutput += c.toString();
      });
      // Up once its health checks (GET /readyz over TLS, with a LOCAL header) passed twice.
      await until('HAProxy forwards GET /readyz', async () => {
        const ready = await request(front.https, '/readyz', { from: DEVICE, ca });
        return ready.status === 200 ? ready : undefined;
      }).catch((error: Error) => {
        throw new Error(`${error.message}\nHAProxy said:\n${haproxyOutput}`);
      });
    });

    it('an HTTPS API call through HAProxy is audited with the client’s address', async (t) => {
      if (needsPart(t, 'haproxy')) return;
      const accepted = await request(front.https, `/v1/auth/invitations/${setupToken}/accept`, {
        from: PERSON,
        ca,
        method: 'POST',
        body: { email: 'root@example.com', displayName: 'Root', password: 'a long and unusual passphrase 7' },
      });
      assert.equal(accepted.status, 200, JSON.stringify(accepted.body));
      const audit = await request(front.https, '/v1/platform/audit?action=person.sign-in', {
        from: DEVICE,
        ca,
        token,
      });
      assert.equal(audit.status, 200, JSON.stringify(audit.body));
      const entry = (audit.body.items as { action: string; details?: { ip?: string } }[]).find(
        (e) => e.action === 'person.sign-in',
      );
      assert.equal(entry?.details?.ip, PERSON, JSON.stringify(audit.body));
      // The request log names the client too (Fastify's remoteAddress is request.ip); the
      // acceptance itself logs at warn only (its path holds a secret), the audit read at info.
      assert.match(
        server?.output() ?? '',
        /"url":"\/v1\/platform\/audit[^"]*","host":"localhost","remoteAddress":"127\.0\.0\.2"/,
      );
    });

    it('the device API’s failed-attempt limit is kept per client address, not per balancer', async (t) => {
      if (needsPart(t, 'haproxy')) return;
      let status = 0;
      let attempts = 0;
      // 20 failures a burst per address (device-api/auth.ts), then 429.
      while (status !== 429 && attempts < 40) {
        attempts++;
        status = (
          await request(front.https, '/device/v1/state', { from: FLOOD, ca, basic: 'dev_nobody:wrong' })
        ).status;
      }
      assert.equal(status, 429, `rate-limited after ${attempts} attempts`);
      const other = await request(front.https, '/device/v1/state', {
        from: DEVICE,
        ca,
        basic: 'dev_nobody:wrong',
      });
      assert.equal(other.status, 401, 'another client behind the same balancer is not limited');
      assert.match(server?.output() ?? '', /"event":"security\.auth-failed","ip":"127\.0\.0\.4"/);
    });

    it('a device connects over MQTT/TLS and MQTT over WebSocket through HAProxy while another address fills its own pending cap', async (t) => {
      if (needsPart(t, 'haproxy')) return;
      const api = (method: string, path: string, body?: unknown) =>
        request(front.https, path, { from: PERSON, ca, token, method, body });
      assert.equal((await api('POST', '/v1/orgs', { slug: 'acme', name: 'Acme' })).status, 201);
      const product = await api('POST', '/v1/orgs/acme/products', {
        modelNumber: 'PLUG',
        name: 'Plug',
        hardwareRevision: 'A',
        supportEnds: '2035-01-01',
        capabilities: { telemetry: { power: { schema: { type: 'number' } } } },
      });
      const device = await api('POST', '/v1/orgs/acme/devices', { productId: product.body.id, serial: 'S' });
      const deviceId: string = device.body.id;
      const secret = (await api('POST', `/v1/orgs/acme/devices/${deviceId}/credentials`)).body
        .secret as string;

      // Two silent connections from one address hold its two pending places on the node...
      for (let i = 0; i < 2; i++) sockets.push(await tcp(front.mqtt, FLOOD));
      await new Promise((resolve) => setTimeout(resolve, 300));
      // ...so its third is closed at once, before any handshake,
      const third = await tcp(front.mqtt, FLOOD);
      sockets.push(third);
      assert.equal(
        await closesWithin(third, 3_000),
        true,
        'a third pending connection from 127.0.0.4 is refused',
      );
      assert.equal(await closesWithin(sockets[0] as Socket, 200), false, 'its first two are still held');
      // ...while the device, from its own address, connects through the same balancer.
      const client = mqtt.connect(`mqtts://127.0.0.1:${front.mqtt}`, {
        clientId: deviceId,
        username: deviceId,
        password: secret,
        ca,
        servername: 'localhost',
        localAddress: DEVICE,
        reconnectPeriod: 0,
        connectTimeout: 10_000,
      } as mqtt.IClientOptions);
      clients.push(client);
      await new Promise<void>((resolve, reject) => {
        client.once('connect', () => resolve());
        client.once('error', reject);
        client.once('close', () => reject(new Error(`closed before CONNACK\n${server?.output()}`)));
      });
      // QoS 1: the PUBACK means stored (docs/protocol.md); a closed connection fails the test.
      const acknowledged = await new Promise<Error | undefined>((resolve) => {
        client.once('close', () => resolve(new Error('closed before PUBACK')));
        client.publish(
          `brickless/v1/${deviceId}/telemetry`,
          JSON.stringify({ readings: [{ values: { power: 3 } }] }),
          { qos: 1 },
          (error) => resolve(error ?? undefined),
        );
      });
      assert.equal(acknowledged, undefined);
      // MQTT over WebSocket shares the HTTPS port and its PROXY protocol handling (decision 0031).
      const overWs = mqtt.connect(`wss://127.0.0.1:${front.https}/mqtt`, {
        clientId: deviceId,
        username: deviceId,
        password: secret,
        reconnectPeriod: 0,
        connectTimeout: 10_000,
        wsOptions: { ca, servername: 'localhost', localAddress: DEVICE, headers: { host: 'localhost' } },
      } as mqtt.IClientOptions);
      clients.push(overWs);
      await new Promise<void>((resolve, reject) => {
        overWs.once('connect', () => resolve());
        overWs.once('error', reject);
        overWs.once('close', () => reject(new Error('WebSocket closed before CONNACK')));
      });
      const online = await until('the device shows online', async () => {
        const got = await api('GET', `/v1/orgs/acme/devices/${deviceId}`);
        return got.body.online ? got.body : undefined;
      });
      assert.equal(online.online, true);
    });

    it('a forged header from an untrusted address is refused; a connection from the trusted one without a header is dropped', async (t) => {
      if (needsPart(t, 'haproxy')) return;
      const forged = v2Header({ source: { address: '203.0.113.66', port: 1234 } });
      for (const port of [node.mqtt, node.https]) {
        // Straight to the node from 127.0.0.5: the header is not read, its bytes fail the handshake.
        const stranger = await tcp(port, STRANGER);
        stranger.write(forged);
        assert.equal(await handshake(stranger, ca), false, `port ${port}: a forged header must fail TLS`);
        // The same stranger without a header is an ordinary client.
        assert.equal(
          await handshake(await tcp(port, STRANGER), ca),
          true,
          `port ${port}: plain TLS from 127.0.0.5`,
        );
        // From 127.0.0.1 (the balancer's address) a bare TLS handshake has no header: dropped.
        assert.equal(
          await handshake(await tcp(port, '127.0.0.1'), ca),
          false,
          `port ${port}: no header from the proxy`,
        );
      }
      const metrics = await request(front.https, '/metrics', { from: DEVICE, ca });
      assert.match(String(metrics.body), /brickless_proxy_headers_refused_total\{reason="invalid"\} [1-9]/);
      assert.doesNotMatch(server?.output() ?? '', /203\.0\.113\.66/, 'the forged address appears nowhere');
    });
  });
}
