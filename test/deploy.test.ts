import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { parse } from 'yaml';
import { loadConfig } from '../packages/server/src/config.js';
import { TrustedProxies } from '../packages/server/src/proxy/trusted.js';
import { needsPart } from '../packages/server/src/test-support/parts.js';
import { root } from './support/cli.js';

/**
 * The cluster files under deploy/ (docs/scale-out.md) cannot be started here (no container
 * engine, no systemd), so what can be checked is checked: the compose file parses and has the
 * cluster's shape, its HAProxy configuration passes `haproxy -c`, every node trusts exactly the
 * balancer's address and its settings pass brickless' own config validation, the balancer
 * sends the PROXY protocol to every node port, and the document shows these files as they are.
 */

const read = (file: string) => readFileSync(join(root, file), 'utf8');

interface ComposeService {
  hostname?: string;
  environment?: Record<string, string>;
  volumes?: string[];
  networks?: Record<string, { ipv4_address?: string }> | string[];
  ports?: string[];
}

const compose = parse(read('deploy/compose.yaml'), { merge: true }) as {
  services: Record<string, ComposeService>;
  networks: Record<string, { ipam: { config: { subnet: string }[] } }>;
};
const haproxyCfg = read('deploy/haproxy.cfg');
const nodes = ['node1', 'node2', 'node3'];

/** Compose's `${VAR:?message}` replaced by a value, as `compose up` would with VAR set. */
const interpolate = (env: Record<string, string>) =>
  Object.fromEntries(
    Object.entries(env).map(([k, v]) => [k, String(v).replace(/\$\{[A-Z_]+:\?[^}]*\}/g, 'secret')]),
  );

describe('deploy/: the cluster files docs/scale-out.md shows', () => {
  it('compose runs PostgreSQL, NATS, three nodes and HAProxy', () => {
    assert.deepEqual(Object.keys(compose.services).sort(), [
      'haproxy',
      'nats',
      'node1',
      'node2',
      'node3',
      'postgres',
    ]);
    for (const name of nodes) assert.equal(compose.services[name]?.hostname, name);
  });

  it('every node trusts the balancer’s fixed address, nothing wider, and passes config validation', () => {
    const haproxy = compose.services.haproxy as ComposeService;
    const address = (haproxy.networks as Record<string, { ipv4_address: string }>).backend?.ipv4_address;
    assert.ok(address, 'HAProxy has a fixed address');
    const subnet = compose.networks.backend?.ipam.config[0]?.subnet as string;
    assert.ok(new TrustedProxies([subnet]).has(address), 'inside the backend network');
    for (const name of nodes) {
      const env = interpolate(compose.services[name]?.environment ?? {});
      assert.equal(env.BRICKLESS_PROXY_TRUSTED, `${address}/32`, name);
      assert.equal(env.BRICKLESS_NODE_ID, name);
      assert.match(
        env.BRICKLESS_DATABASE_URL ?? '',
        /^postgres:\/\/brickless:secret@postgres:5432\/brickless$/,
      );
      assert.equal(env.BRICKLESS_BUS_URL, 'nats://nats:4222');
      const config = loadConfig({ env });
      assert.deepEqual(config.proxy.trusted, [`${address}/32`]);
      assert.equal(config.http.port, 8443);
      assert.equal(config.mqtt.port, 8883);
      assert.equal(config.tls.certFile, '/run/secrets/server.crt', 'one certificate for every node');
      assert.equal(config.secrets.masterKeyFile, '/run/secrets/master.key', 'one master key for every node');
    }
  });

  it('the systemd node settings pass config validation and trust only the balancer', () => {
    const env = Object.fromEntries(
      read('deploy/node.env')
        .split('\n')
        .filter((line) => line && !line.startsWith('#'))
        .map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]),
    );
    const config = loadConfig({ env });
    assert.deepEqual(config.proxy.trusted, ['10.0.0.10/32']);
    assert.match(config.database, /^postgres:\/\//);
  });

  it('HAProxy sends the PROXY protocol v2 to each node’s MQTT/TLS and HTTPS port', () => {
    const servers = haproxyCfg.split('\n').filter((line) => /^\s+server /.test(line));
    assert.equal(servers.length, 6);
    for (const name of nodes) {
      for (const port of [8883, 8443]) {
        const line = servers.find((s) => s.includes(` ${name}:${port} `));
        assert.ok(line, `${name}:${port}`);
        assert.match(line, / send-proxy-v2\b/);
      }
    }
    assert.match(haproxyCfg, /^\s+mode tcp$/m);
  });

  it('the compose file’s haproxy.cfg passes haproxy -c', (t) => {
    if (needsPart(t, 'haproxy')) return;
    const mount = compose.services.haproxy?.volumes?.find((v) =>
      v.endsWith(':/usr/local/etc/haproxy/haproxy.cfg:ro'),
    );
    assert.equal(mount?.split(':')[0], './haproxy.cfg');
    const checked = spawnSync(
      process.env.BRICKLESS_HAPROXY ?? 'haproxy',
      ['-c', '-f', join(root, 'deploy', 'haproxy.cfg')],
      {
        encoding: 'utf8',
      },
    );
    assert.equal(checked.status, 0, `${checked.stdout}${checked.stderr}`);
    assert.match(checked.stdout, /Configuration file is valid/);
  });

  it('docs/scale-out.md shows each deploy/ file as it is', () => {
    const doc = read('docs/scale-out.md');
    const files = [
      'deploy/haproxy.cfg',
      'deploy/compose.yaml',
      'deploy/Containerfile',
      'deploy/brickless.service',
      'deploy/node.env',
    ];
    for (const file of files) {
      const marker = `<!-- file: ${file} -->`;
      const at = doc.indexOf(marker);
      assert.ok(at >= 0, `${marker} in docs/scale-out.md`);
      const block = /^```[a-z-]*( no-run)?\n([\s\S]*?)^```$/m.exec(doc.slice(at + marker.length));
      assert.equal(block?.[2], read(file), `${file} as docs/scale-out.md shows it`);
    }
  });
});
