import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { ConfigSchema, loadConfig } from './config.js';
import { DomainError } from './errors.js';

describe('configuration schema', () => {
  it('is a valid JSON Schema 2020-12 (a start skips this check: config.ts)', () => {
    const ajv = new Ajv2020({ strict: false });
    assert.equal(ajv.validateSchema(ConfigSchema), true, JSON.stringify(ajv.errors));
  });

  it('still refuses a bad value at load, naming the key', () => {
    assert.throws(
      () => loadConfig({ env: {}, flags: { 'http.port': 70_000 } }),
      (error: unknown) => error instanceof DomainError && /http\.port/.test(error.message),
    );
    assert.equal(loadConfig({ env: {}, flags: { 'http.port': 9000 } }).http.port, 9000);
  });
});

describe('config: the caps on unauthenticated connections (decision 0017)', () => {
  it('defaults to 64 per address and 64 in all, and takes both from the environment', () => {
    const defaults = loadConfig({ env: {} });
    assert.equal(defaults.mqtt.unauthenticatedPerAddress, 64);
    assert.equal(defaults.mqtt.unauthenticatedTotal, 64);
    const set = loadConfig({
      env: { BRICKLESS_MQTT_UNAUTHENTICATED_PER_ADDRESS: '8', BRICKLESS_MQTT_UNAUTHENTICATED_TOTAL: '64' },
    });
    assert.equal(set.mqtt.unauthenticatedPerAddress, 8);
    assert.equal(set.mqtt.unauthenticatedTotal, 64);
  });

  it('refuses a cap that is not a whole number from 1, naming the key and where it came from', () => {
    assert.throws(
      () => loadConfig({ env: { BRICKLESS_MQTT_UNAUTHENTICATED_TOTAL: '0' } }),
      /^DomainError: config: mqtt\.unauthenticatedTotal must be >= 1 \(from BRICKLESS_MQTT_UNAUTHENTICATED_TOTAL\)$/,
    );
    assert.throws(
      () => loadConfig({ env: { BRICKLESS_MQTT_UNAUTHENTICATED_PER_ADDRESS: 'many' } }),
      /config: mqtt\.unauthenticatedPerAddress must be integer \(from BRICKLESS_MQTT_UNAUTHENTICATED_PER_ADDRESS\)/,
    );
  });

  it('refuses a per-address cap over the total, which would let one address hold every place', () => {
    assert.throws(
      () => loadConfig({ env: { BRICKLESS_MQTT_UNAUTHENTICATED_TOTAL: '50' } }),
      /config: mqtt\.unauthenticatedPerAddress \(64, from defaults\) must not be over mqtt\.unauthenticatedTotal \(50, from BRICKLESS_MQTT_UNAUTHENTICATED_TOTAL\)/,
    );
  });
});

describe('config: browser session timeouts (issue 16 §4)', () => {
  it('default to 30 minutes idle and 12 hours in all, and come from the environment', () => {
    assert.deepEqual(loadConfig({ env: {} }).sessions, { idleMinutes: 30, absoluteHours: 12 });
    const set = loadConfig({
      env: { BRICKLESS_SESSION_IDLE_MINUTES: '15', BRICKLESS_SESSION_ABSOLUTE_HOURS: '8' },
    });
    assert.deepEqual(set.sessions, { idleMinutes: 15, absoluteHours: 8 });
    assert.throws(
      () => loadConfig({ env: { BRICKLESS_SESSION_IDLE_MINUTES: '0' } }),
      /sessions\.idleMinutes must be >= 1/,
    );
  });
});

describe('config: trusted load balancers (proxy.trusted, decision 0031)', () => {
  it('is empty by default and takes a comma-separated list from the environment', () => {
    assert.deepEqual(loadConfig({ env: {} }).proxy, { trusted: [] });
    assert.deepEqual(loadConfig({ env: { BRICKLESS_PROXY_TRUSTED: '10.0.0.10/32, fd00::/64' } }).proxy, {
      trusted: ['10.0.0.10/32', 'fd00::/64'],
    });
  });

  it('refuses an entry that is not an address or a network block, naming the entry and where it came from', () => {
    assert.throws(
      () => loadConfig({ env: { BRICKLESS_PROXY_TRUSTED: '10.0.0.10/32,10.0.0.1/8' } }),
      /config: proxy\.trusted: "10\.0\.0\.1\/8" has bits set below its \/8 prefix.*\(from BRICKLESS_PROXY_TRUSTED\)/,
    );
    assert.throws(
      () => loadConfig({ flags: { 'proxy.trusted': 'haproxy.internal' } }),
      /config: proxy\.trusted: "haproxy\.internal" is not an IPv4 or IPv6 address/,
    );
    assert.throws(
      () => loadConfig({ env: { BRICKLESS_PROXY_TRUSTED: '0.0.0.0/0' } }),
      /trusts every address/,
    );
  });
});

describe('config: the bus between nodes (issue 19, decision 0028)', () => {
  it('is in-process without bus.url, and takes the URL and cluster from a flag or the environment', () => {
    assert.deepEqual(loadConfig({ env: {} }).bus, { cluster: 'default' });
    const set = loadConfig({
      env: { BRICKLESS_BUS_CLUSTER: 'plant-7', BRICKLESS_BUS_CREDS_FILE: '/etc/brickless/node.creds' },
      flags: { 'bus.url': 'nats://10.0.0.5:4222,nats://10.0.0.6:4222' },
    });
    assert.deepEqual(set.bus, {
      url: 'nats://10.0.0.5:4222,nats://10.0.0.6:4222',
      cluster: 'plant-7',
      credsFile: '/etc/brickless/node.creds',
    });
  });

  it('refuses a URL that is not NATS and a cluster name that is not one subject token, saying where from', () => {
    assert.throws(
      () => loadConfig({ env: {}, flags: { 'bus.url': 'redis://h:6379' } }),
      /config: bus\.url redis:\/\/h:6379 is not a NATS server URL \(redis:\/\/\): write nats:\/\/host:4222 .* \(from --bus\)/,
    );
    assert.throws(
      () => loadConfig({ env: { BRICKLESS_BUS_CLUSTER: 'a.b' } }),
      /config: bus\.cluster must match pattern/,
    );
  });
});
