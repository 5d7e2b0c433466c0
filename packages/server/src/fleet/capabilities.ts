import { CAPABILITY_NAME_PATTERN, type CapabilityModel, telemetryTypes } from '@brickless/protocol';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { DomainError, type ErrorField } from '../errors.js';

const MAX_ENTRIES = 256;

// A dedicated validator: `strict` makes unknown keywords and typos in a product's schemas an error
// at definition time instead of a silently ignored constraint at ingest time.
const ajv = new Ajv2020({ strict: true, allErrors: false, validateFormats: false });

/**
 * Checks a capability model beyond its shape: every embedded schema must compile as JSON Schema
 * 2020-12, telemetry must be scalar, and the model must stay a reasonable size.
 */
export function validateCapabilities(model: CapabilityModel): void {
  const fields: ErrorField[] = [];
  const count =
    Object.keys(model.telemetry).length +
    Object.keys(model.state).length +
    Object.keys(model.commands).length +
    Object.keys(model.events ?? {}).length;
  if (count > MAX_ENTRIES)
    fields.push({ field: '/capabilities', message: `at most ${MAX_ENTRIES} entries in all` });
  const namePattern = new RegExp(CAPABILITY_NAME_PATTERN);
  const check = (path: string, schema: unknown) => {
    try {
      ajv.compile(schema as object);
    } catch (error) {
      fields.push({ field: path, message: `not a valid JSON Schema: ${(error as Error).message}` });
    }
  };
  for (const [section, entries] of Object.entries(model) as [string, Record<string, unknown>][]) {
    for (const name of Object.keys(entries)) {
      if (!namePattern.test(name)) {
        fields.push({
          field: `/capabilities/${section}/${name}`,
          message: `name must match ${CAPABILITY_NAME_PATTERN}`,
        });
      }
    }
  }
  for (const [name, field] of Object.entries(model.telemetry)) {
    if (!telemetryTypes.includes(field.schema.type)) {
      fields.push({
        field: `/capabilities/telemetry/${name}/schema/type`,
        message: `telemetry must be one of ${telemetryTypes.join(', ')}`,
      });
    }
    check(`/capabilities/telemetry/${name}/schema`, field.schema);
  }
  for (const [name, prop] of Object.entries(model.state))
    check(`/capabilities/state/${name}/schema`, prop.schema);
  for (const [name, command] of Object.entries(model.commands)) {
    if (command.params) check(`/capabilities/commands/${name}/params`, command.params);
    if (command.result) check(`/capabilities/commands/${name}/result`, command.result);
  }
  for (const [name, event] of Object.entries(model.events ?? {}))
    if (event.data) check(`/capabilities/events/${name}/data`, event.data);
  if (fields.length > 0) {
    throw new DomainError(
      'validation-failed',
      fields.map((f) => `${f.field}: ${f.message}`).join('; '),
      fields,
    );
  }
}
