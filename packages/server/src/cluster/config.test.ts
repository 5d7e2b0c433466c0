import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { loadConfig } from '../config.js';
import { defaultNodeId } from './nodes.js';

describe('config: cluster (issue 19; docs/operations.md)', () => {
  it('defaults to a 2 s heartbeat and 10 s expiry, and takes the node id and timings from the environment', () => {
    const defaults = loadConfig({ env: {} });
    assert.deepEqual(defaults.cluster, { heartbeatMs: 2000, expiryMs: 10_000 });
    const set = loadConfig({
      env: {
        BRICKLESS_NODE_ID: 'eu-1',
        BRICKLESS_CLUSTER_HEARTBEAT_MS: '500',
        BRICKLESS_CLUSTER_EXPIRY_MS: '3000',
      },
    });
    assert.deepEqual(set.cluster, { nodeId: 'eu-1', heartbeatMs: 500, expiryMs: 3000 });
  });

  it('refuses an expiry under three heartbeats, naming both keys and where they came from', () => {
    assert.throws(
      () => loadConfig({ env: { BRICKLESS_CLUSTER_EXPIRY_MS: '5000' } }),
      /config: cluster\.expiryMs \(5000, from BRICKLESS_CLUSTER_EXPIRY_MS\) must be at least three heartbeats \(cluster\.heartbeatMs 2000, from defaults\)/,
    );
  });

  it('refuses a node id with spaces or a #, which separates it from the process in lease holders', () => {
    assert.throws(
      () => loadConfig({ env: { BRICKLESS_NODE_ID: 'a b' } }),
      /config: cluster\.nodeId must match/,
    );
    assert.throws(
      () => loadConfig({ env: { BRICKLESS_NODE_ID: 'a#1' } }),
      /config: cluster\.nodeId must match/,
    );
  });

  it('names a node by host and HTTP port by default, with a random suffix for port 0', () => {
    assert.match(defaultNodeId(8443), /:8443$/);
    assert.notEqual(defaultNodeId(0), defaultNodeId(0));
  });
});
