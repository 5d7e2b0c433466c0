import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { type UpstreamChannel, upstreamChannels } from '@brickless/protocol';
import fc from 'fast-check';
import { testDialects } from '../store/test-helper.js';
import { plugCapabilities, type TestApp, testApp } from '../test-support/app.js';
import type { DeviceIdentity } from './credentials.js';
import { MessageRefused, UpstreamHandler } from './upstream.js';

/**
 * Property-based tests of every device payload schema (issue 14): whatever a device sends on any
 * upstream channel, the one handler MQTT and device HTTP share either stores it or refuses it with
 * a MessageRefused (an error reply with a code): never another error, never a crash, and what it
 * stored is valid. Inputs are random JSON, random bytes, and valid payloads with one slot
 * replaced by something hostile (1e309, control characters, `__proto__`, `toString`, wrong types).
 */

/** JSON text fragments that a careless parser or lookup would trip on. */
const hostileValue = fc.oneof(
  fc.constantFrom(
    '1e309',
    '-1e309',
    '1e-400',
    '"a\\u0000b"',
    '"\\u001b[31m"',
    '"\\u0085"',
    '"\\u202e override"',
    '"\\ud800"',
    'null',
    'true',
    '{}',
    '[]',
    '{"__proto__": {"polluted": true}}',
    '{"constructor": {"prototype": {"polluted": true}}}',
    '{"toString": 1}',
    '"2026-03-01T11:00:00Z"',
    '-1',
    '9007199254740993',
    '""',
    '"x"',
  ),
  fc.double().map((d) => (Number.isFinite(d) ? JSON.stringify(d) : '0')),
  fc.string({ maxLength: 20 }).map((s) => JSON.stringify(s)),
  fc.jsonValue({ maxDepth: 2 }).map((v) => JSON.stringify(v)),
);

const hostileKey = fc.oneof(
  fc.constantFrom(
    '__proto__',
    'constructor',
    'toString',
    'hasOwnProperty',
    'valueOf',
    'power',
    'on',
    'a\u0000b',
  ),
  fc.string({ maxLength: 12 }),
);

const key = (k: string) => JSON.stringify(k);

/** A slot that is mostly valid, so that valid payloads are stored too and their storage is checked. */
const mostly = <T>(valid: fc.Arbitrary<T>, hostile: fc.Arbitrary<T>) =>
  fc.oneof({ weight: 2, arbitrary: valid }, { weight: 1, arbitrary: hostile });

/** A payload template per channel: valid with the generated slots filled by valid values. */
function channelPayload(channel: UpstreamChannel, ids: { command: string }): fc.Arbitrary<string> {
  switch (channel) {
    case 'telemetry':
      return fc
        .record({
          k: mostly(fc.constant('power'), hostileKey),
          v: mostly(
            fc.double({ min: 0, max: 1e6, noNaN: true }).map((d) => JSON.stringify(d)),
            hostileValue,
          ),
          time: fc.option(hostileValue, { nil: undefined, freq: 3 }),
        })
        .map(
          ({ k, v, time }) =>
            `{"readings":[{${time ? `"time":${time},` : ''}"values":{${key(k)}:${v}}},{"values":{"power":1}}]}`,
        );
    case 'events':
      return fc
        .record({ name: hostileKey, data: hostileValue, time: fc.option(hostileValue, { nil: undefined }) })
        .map(
          ({ name, data, time }) =>
            `{"events":[{"name":${key(name)},${time ? `"time":${time},` : ''}"data":${data}}]}`,
        );
    case 'state/reported':
      return fc
        .record({
          k: mostly(fc.constantFrom('on', 'firmware'), hostileKey),
          v: mostly(fc.constantFrom('true', '"1.0.0"', 'null'), hostileValue),
        })
        .map(({ k, v }) => `{"state":{${key(k)}:${v}}}`);
    case 'commands/result':
      return fc
        .record({
          id: fc.oneof(fc.constant(ids.command), fc.string({ maxLength: 10 })),
          status: fc.oneof(fc.constantFrom('ok', 'error'), fc.string({ maxLength: 5 })),
          data: hostileValue,
        })
        .map(({ id, status, data }) => `{"id":${key(id)},"status":${key(status)},"data":${data}}`);
    case 'updates/status':
      return fc
        .record({
          step: fc.oneof(fc.constantFrom('offered', 'failed', 'succeeded'), hostileKey),
          v: hostileValue,
        })
        .map(
          ({ step, v }) => `{"rollout":"rol_x","release":"rel_x","step":${key(step)},"securityVersion":${v}}`,
        );
    case 'endpoint/status':
      return fc
        .record({
          version: hostileValue,
          status: fc.constantFrom('moving', 'arrived', 'local', 'refused', 'x'),
        })
        .map(({ version, status }) => `{"version":${version},"status":${key(status)}}`);
    case 'presence':
      return hostileValue.map((v) => `{"online":${v}}`);
  }
}

const anyPayload = (channel: UpstreamChannel, ids: { command: string }): fc.Arbitrary<Buffer> =>
  fc.oneof(
    { weight: 3, arbitrary: channelPayload(channel, ids).map((text) => Buffer.from(text)) },
    {
      weight: 1,
      arbitrary: fc.jsonValue({ maxDepth: 3 }).map((v) => Buffer.from(JSON.stringify(v) ?? 'null')),
    },
    { weight: 1, arbitrary: fc.uint8Array({ maxLength: 64 }).map((b) => Buffer.from(b)) },
  );

// biome-ignore lint/suspicious/noControlCharactersInRegex: the property is that none were stored
const CONTROL = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f]/;

for (const dialect of testDialects) {
  describe(`every device payload schema, random and hostile input (${dialect})`, () => {
    let t: TestApp;
    let identity: DeviceIdentity;
    let upstream: UpstreamHandler;
    const ids = { command: 'cmd_none' };

    before(async () => {
      t = await testApp(dialect);
      await t.org('acme');
      const product = await t.call('POST', '/v1/orgs/acme/products', {
        body: {
          modelNumber: 'PLUG',
          name: 'Plug',
          hardwareRevision: 'A',
          supportEnds: '2035-01-01',
          capabilities: plugCapabilities,
        },
      });
      const device = await t.call('POST', '/v1/orgs/acme/devices', {
        body: { productId: product.body.id, serial: 'P1' },
      });
      identity = { deviceId: device.body.id, orgId: device.body.orgId, productId: product.body.id };
      const command = await t.call('POST', `/v1/orgs/acme/devices/${device.body.id}/commands`, {
        body: { name: 'reboot' },
      });
      assert.equal(command.status, 201, command.raw);
      ids.command = command.body.id;
      const services = t.app.services;
      upstream = new UpstreamHandler({ ...services, rollouts: services.rolloutEngine });
    });
    after(() => t.close());

    for (const channel of upstreamChannels) {
      it(`${channel}: stored or refused with a code, never another error`, async () => {
        await fc.assert(
          fc.asyncProperty(anyPayload(channel, ids), async (payload) => {
            try {
              await upstream.handle(identity, channel, payload);
            } catch (error) {
              if (!(error instanceof MessageRefused)) throw error;
              assert.match(error.code, /^[a-z][a-z-]+$/);
              assert.ok(error.message.length > 0);
            }
          }),
          { numRuns: 50, interruptAfterTimeLimit: 3000 },
        );
      });
    }

    it('stored nothing invalid: finite numbers, declared fields and state, no control characters', async () => {
      await t.app.services.telemetry.drain();
      const db = t.app.services.store.db;
      const rows = await db
        .selectFrom('telemetry')
        .selectAll()
        .where('device_id', '=', identity.deviceId)
        .execute();
      assert.ok(rows.length > 0, 'some random payloads were valid and stored');
      for (const row of rows) {
        assert.ok(['power', 'relayOn'].includes(row.field), `declared field, not ${row.field}`);
        if (row.num_value !== null) assert.ok(Number.isFinite(Number(row.num_value)));
        if (row.text_value !== null) assert.doesNotMatch(row.text_value, CONTROL);
      }
      const twin = await t.app.services.twins.forDevice(identity.deviceId);
      for (const [name, value] of Object.entries(twin.reported)) {
        assert.ok(['on', 'firmware'].includes(name), `declared state, not ${name}`);
        if (typeof value === 'string') assert.doesNotMatch(value, CONTROL);
      }
      assert.equal(({} as { polluted?: boolean }).polluted, undefined, 'no prototype was polluted');
      // A query never fails because of what was stored.
      for (const field of ['power', 'relayOn']) {
        const series = await t.call(
          'GET',
          `/v1/orgs/acme/devices/${identity.deviceId}/telemetry?field=${field}`,
        );
        assert.equal(series.status, 200, series.raw);
      }
      const events = await t.call('GET', `/v1/orgs/acme/devices/${identity.deviceId}/events`);
      assert.equal(events.status, 200, events.raw);
      const state = await t.call('GET', `/v1/orgs/acme/devices/${identity.deviceId}/state`);
      assert.equal(state.status, 200, state.raw);
    });
  });
}
