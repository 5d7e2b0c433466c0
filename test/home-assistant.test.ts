import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { discoveryMessages } from '../packages/device/src/continuity/home-assistant.js';
import { plugCapabilities } from '../packages/server/src/test-support/app.js';
import { DISCOVERY_TOPIC, discoverySchemas } from './fixtures/home-assistant-discovery.js';

const thermostat = {
  telemetry: {
    temperature: { schema: { type: 'number' }, unit: '°C', description: 'Room temperature' },
    window: { schema: { type: 'boolean' } },
    status: { schema: { type: 'string' } },
  },
  state: {
    target: { schema: { type: 'number', minimum: 5, maximum: 30 }, writable: true },
    level: { schema: { type: 'integer', minimum: 0, maximum: 5 }, writable: true },
    mode: { schema: { type: 'string', enum: ['eco', 'comfort', 'off'] }, writable: true },
    label: { schema: { type: 'string' }, writable: true },
    firmware: { schema: { type: 'string' }, writable: false },
  },
  commands: {
    identify: { description: 'Blink the display' },
    schedule: { params: { type: 'object' } },
  },
};

describe("Home Assistant MQTT discovery configs against Home Assistant's documented schema", () => {
  const ajv = new Ajv2020({ allErrors: true, strict: false });
  const validators = Object.fromEntries(
    Object.entries(discoverySchemas).map(([c, s]) => [c, ajv.compile(s)]),
  );

  for (const [name, model] of [
    ['smart plug', plugCapabilities],
    ['thermostat', thermostat],
  ] as const) {
    it(`${name}: every config is valid for its component, on a valid discovery topic`, () => {
      const messages = discoveryMessages('dev_0123456789abcdef0123456789ab', model as never, {
        name: `My ${name}`,
        manufacturer: 'Acme',
        model: 'X-1',
        swVersion: '1.2.3',
      });
      assert.ok(messages.length > 0);
      const ids = new Set<string>();
      for (const message of messages) {
        const component = DISCOVERY_TOPIC.exec(message.topic)?.[1];
        assert.ok(component, `bad discovery topic ${message.topic}`);
        const validate = validators[component];
        assert.ok(validate, `no schema for component ${component}`);
        assert.ok(validate(message.payload), `${message.topic}: ${ajv.errorsText(validate.errors)}`);
        // Every entity is unique, shares the device and the availability topic.
        const payload = message.payload as {
          unique_id: string;
          availability_topic: string;
          device: { identifiers: string[] };
        };
        assert.ok(!ids.has(payload.unique_id), `duplicate unique_id ${payload.unique_id}`);
        ids.add(payload.unique_id);
        assert.equal(
          payload.availability_topic,
          'brickless/v1/dev_0123456789abcdef0123456789ab/local/availability',
        );
        assert.deepEqual(payload.device.identifiers, ['dev_0123456789abcdef0123456789ab']);
      }
    });
  }

  it('maps the capability model to the right components', () => {
    const messages = discoveryMessages('dev_x', thermostat as never, { name: 'T' });
    const components = Object.fromEntries(
      messages.map((m) => [m.topic.split('/')[3], m.topic.split('/')[1]]),
    );
    assert.deepEqual(components, {
      temperature: 'sensor',
      window: 'binary_sensor',
      status: 'sensor',
      state_target: 'number',
      state_level: 'number',
      state_mode: 'select',
      state_label: 'text',
      state_firmware: 'sensor',
      command_identify: 'button',
    });
    const select = messages.find((m) => m.topic.includes('state_mode'))?.payload as { options: string[] };
    assert.deepEqual(select.options, ['eco', 'comfort', 'off']);
    const number = messages.find((m) => m.topic.includes('state_target'))?.payload as {
      min: number;
      max: number;
    };
    assert.equal(number.min, 5);
    assert.equal(number.max, 30);
  });

  it('refuses a payload Home Assistant would not accept (the schema really checks)', () => {
    const validate = validators.switch as ReturnType<typeof ajv.compile>;
    assert.equal(validate({ name: 'x', state_topic: 'a/b' }), false, 'command_topic is required');
    assert.equal(validate({ command_topic: 'a/#' }), false, 'no wildcards in topics');
    assert.equal(validate({ command_topic: 'a/b', colour: 'red' }), false, 'unknown keys are refused');
    assert.equal(
      validate({ command_topic: 'a/b', device: { identifiers: ['x'] } }),
      false,
      'a device needs a unique_id',
    );
  });
});
