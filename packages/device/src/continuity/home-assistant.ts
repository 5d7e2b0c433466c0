import { type CapabilityModel, deviceTopic, TOPIC_ROOT } from '@brickless/protocol';

/** The device as Home Assistant's device registry shows it. */
export interface DeviceInfo {
  name: string;
  manufacturer?: string;
  model?: string;
  swVersion?: string;
}

export interface DiscoveryMessage {
  /** `<prefix>/<component>/<node_id>/<object_id>/config`, published retained. */
  topic: string;
  payload: Record<string, unknown>;
}

/** Topics of local mode on the owner's broker (docs/continuity.md, "Local mode"). */
export const localTopics = (deviceId: string) => ({
  /** Retained `online`/`offline`, the last will: Home Assistant's availability topic. */
  availability: `${TOPIC_ROOT}/${deviceId}/local/availability`,
  /** Retained JSON of the latest telemetry and reported state: every entity's state topic. */
  state: `${TOPIC_ROOT}/${deviceId}/local/state`,
  /** Home Assistant writes one state property here: `…/local/set/<property>` with the value as JSON. */
  set: (property: string) => `${TOPIC_ROOT}/${deviceId}/local/set/${property}`,
  /** Home Assistant presses a parameterless command here. */
  press: (command: string) => `${TOPIC_ROOT}/${deviceId}/local/press/${command}`,
  /** The cloud protocol's own topics work on the LAN too. */
  commandRequest: deviceTopic(deviceId, 'commands/request'),
  commandResult: deviceTopic(deviceId, 'commands/result'),
  desired: deviceTopic(deviceId, 'state/desired'),
});

const objectId = (name: string) => name.replace(/[^a-zA-Z0-9_-]/g, '_');
/** Home Assistant's template for one key of the state JSON; `| default(None)` leaves it unknown until seen. */
const templateFor = (key: string) => `{{ value_json[${JSON.stringify(key)}] | default(None) }}`;

/**
 * Home Assistant MQTT discovery configs derived from the product's capability model: numeric and
 * text telemetry become `sensor`, boolean telemetry `binary_sensor`; writable state becomes
 * `switch` (boolean), `number` (number/integer), `select` (string enum) or `text` (string), and
 * read-only state a sensor; commands without parameters become `button`. Every entity shares the
 * availability topic and one device entry. The keys are Home Assistant's documented discovery
 * variables (home-assistant.io/integrations/<component>.mqtt), checked by a test.
 */
export function discoveryMessages(
  deviceId: string,
  model: CapabilityModel,
  info: DeviceInfo,
  prefix = 'homeassistant',
): DiscoveryMessage[] {
  const topics = localTopics(deviceId);
  const node = objectId(deviceId);
  const common = (key: string, name: string) => ({
    name,
    unique_id: `${node}_${objectId(key)}`,
    availability_topic: topics.availability,
    payload_available: 'online',
    payload_not_available: 'offline',
    device: {
      identifiers: [deviceId],
      name: info.name,
      ...(info.manufacturer ? { manufacturer: info.manufacturer } : {}),
      ...(info.model ? { model: info.model } : {}),
      ...(info.swVersion ? { sw_version: info.swVersion } : {}),
    },
    origin: { name: 'brickless' },
  });
  const messages: DiscoveryMessage[] = [];
  const add = (component: string, key: string, payload: Record<string, unknown>) =>
    messages.push({ topic: `${prefix}/${component}/${node}/${objectId(key)}/config`, payload });

  for (const [field, spec] of Object.entries(model.telemetry ?? {})) {
    const name = spec.description ?? field;
    if (spec.schema.type === 'boolean')
      add('binary_sensor', field, {
        ...common(field, name),
        state_topic: topics.state,
        value_template: `{{ ('ON' if value_json[${JSON.stringify(field)}] else 'OFF') if ${JSON.stringify(field)} in value_json else None }}`,
        payload_on: 'ON',
        payload_off: 'OFF',
      });
    else
      add('sensor', field, {
        ...common(field, name),
        state_topic: topics.state,
        value_template: templateFor(field),
        ...(spec.unit ? { unit_of_measurement: spec.unit } : {}),
        ...(spec.schema.type === 'string' ? {} : { state_class: 'measurement' }),
      });
  }
  for (const [property, spec] of Object.entries(model.state ?? {})) {
    const name = spec.description ?? property;
    const schema = spec.schema as { type?: string; enum?: unknown[]; minimum?: number; maximum?: number };
    const key = `state_${property}`;
    if (!spec.writable) {
      add('sensor', key, {
        ...common(key, name),
        state_topic: topics.state,
        value_template: templateFor(property),
      });
      continue;
    }
    const writable = { ...common(key, name), state_topic: topics.state, command_topic: topics.set(property) };
    if (schema.type === 'boolean')
      add('switch', key, {
        ...writable,
        value_template: `{{ ('ON' if value_json[${JSON.stringify(property)}] else 'OFF') if ${JSON.stringify(property)} in value_json else None }}`,
        payload_on: 'true',
        payload_off: 'false',
        state_on: 'ON',
        state_off: 'OFF',
      });
    else if (schema.type === 'number' || schema.type === 'integer')
      add('number', key, {
        ...writable,
        value_template: templateFor(property),
        ...(typeof schema.minimum === 'number' ? { min: schema.minimum } : {}),
        ...(typeof schema.maximum === 'number' ? { max: schema.maximum } : {}),
        step: schema.type === 'integer' ? 1 : 0.1,
      });
    else if (schema.type === 'string' && Array.isArray(schema.enum))
      add('select', key, {
        ...writable,
        value_template: templateFor(property),
        options: schema.enum.map(String),
        command_template: '{{ value | tojson }}',
      });
    else if (schema.type === 'string')
      add('text', key, {
        ...writable,
        value_template: templateFor(property),
        command_template: '{{ value | tojson }}',
      });
  }
  for (const [command, spec] of Object.entries(model.commands ?? {})) {
    if (spec.params) continue; // a command with parameters has no one-press form; it stays on commands/request
    const key = `command_${command}`;
    add('button', key, {
      ...common(key, spec.description ?? command),
      command_topic: topics.press(command),
      payload_press: 'PRESS',
    });
  }
  return messages;
}
