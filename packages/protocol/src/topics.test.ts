import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { deviceSpace, deviceTopic, isUpstream, parseTopic } from './topics.js';

describe('topic map', () => {
  it('round-trips every channel', () => {
    for (const channel of [
      'telemetry',
      'state/reported',
      'commands/result',
      'state/delta',
      'errors',
    ] as const) {
      assert.deepEqual(parseTopic(deviceTopic('dev_1', channel)), { deviceId: 'dev_1', channel });
    }
    assert.equal(deviceSpace('dev_1'), 'brickless/v1/dev_1/#');
  });

  it('refuses topics outside the map', () => {
    for (const topic of [
      '',
      'brickless/v1',
      'brickless/v1/dev_1',
      'brickless/v1/dev_1/secrets',
      'other/v1/dev_1/telemetry',
      'brickless/v1//telemetry',
      'brickless/v2/dev_1/telemetry',
    ]) {
      assert.equal(parseTopic(topic), null, topic);
    }
  });

  it('knows the direction of each channel', () => {
    assert.equal(isUpstream('telemetry'), true);
    assert.equal(isUpstream('commands/request'), false);
  });
});
