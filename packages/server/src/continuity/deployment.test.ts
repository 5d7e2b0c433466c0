import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { loadConfig } from '../config.js';
import { deploymentFacts } from './deployment.js';

describe('deployment facts for the readiness report', () => {
  it('names the config keys not at their default, never their values; the data dir alone changes nothing', () => {
    const plain = loadConfig({ env: {}, flags: { dataDir: '/srv/brickless' } });
    assert.deepEqual(deploymentFacts(plain), { httpTls: true, mqttPlain: false, customConfig: [] });
    const custom = loadConfig({
      env: {
        BRICKLESS_ESCROW_INTERVAL_HOURS: '24',
        BRICKLESS_HTTP_TLS: 'false',
      },
      flags: {
        dataDir: '/srv/brickless',
        database: 'postgres://brickless:secret@db/brickless',
        'mqtt.plainPort': 1883,
      },
    });
    const facts = deploymentFacts(custom);
    assert.deepEqual(facts.customConfig, ['database', 'escrow.intervalHours', 'http.tls', 'mqtt.plainPort']);
    assert.equal(facts.httpTls, false);
    assert.equal(facts.mqttPlain, true);
    assert.ok(!JSON.stringify(facts).includes('secret'));
  });
});
