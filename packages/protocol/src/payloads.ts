/**
 * Payloads of the device protocol: JSON, UTF-8. Each has a TypeScript type and a JSON Schema
 * (2020-12) so that any implementation can validate them (docs/asyncapi.yaml carries the same).
 */
import type { JsonSchema } from './capabilities.js';

/** One reading: a time and values of the product's telemetry fields. */
export interface TelemetryReading {
  /** RFC 3339 time or milliseconds since the epoch; the server's receive time when absent. */
  time?: string | number;
  values: Record<string, number | boolean | string>;
}

/** `telemetry`: a batch of readings, oldest first. */
export interface TelemetryBatch {
  /** Optional message id, echoed in an error reply. */
  id?: string;
  readings: TelemetryReading[];
}

export const MAX_READINGS_PER_BATCH = 1000;

export const telemetryBatchSchema: JsonSchema = {
  $id: 'urn:brickless:protocol:telemetry-batch',
  type: 'object',
  additionalProperties: false,
  required: ['readings'],
  properties: {
    id: { type: 'string', maxLength: 64 },
    readings: {
      type: 'array',
      minItems: 1,
      maxItems: MAX_READINGS_PER_BATCH,
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['values'],
        properties: {
          time: {
            oneOf: [
              { type: 'string', format: 'date-time' },
              { type: 'integer', minimum: 0 },
            ],
          },
          values: {
            type: 'object',
            minProperties: 1,
            additionalProperties: { type: ['number', 'boolean', 'string'] },
          },
        },
      },
    },
  },
};

/** One event: a name the product's capability model declares, a time, and its data. */
export interface DeviceEvent {
  name: string;
  /** RFC 3339 time or milliseconds since the epoch; the server's receive time when absent. */
  time?: string | number;
  data?: unknown;
}

/** `events`: a batch of events, oldest first. */
export interface EventBatch {
  id?: string;
  events: DeviceEvent[];
}

export const MAX_EVENTS_PER_BATCH = 100;

export const eventBatchSchema: JsonSchema = {
  $id: 'urn:brickless:protocol:event-batch',
  type: 'object',
  additionalProperties: false,
  required: ['events'],
  properties: {
    id: { type: 'string', maxLength: 64 },
    events: {
      type: 'array',
      minItems: 1,
      maxItems: MAX_EVENTS_PER_BATCH,
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['name'],
        properties: {
          name: { type: 'string', pattern: '^[a-zA-Z][a-zA-Z0-9_]{0,63}$' },
          time: {
            oneOf: [
              { type: 'string', format: 'date-time' },
              { type: 'integer', minimum: 0 },
            ],
          },
          data: {},
        },
      },
    },
  },
};

/** The one reply shape for every request/response and error over MQTT. */
export type Reply<T = unknown> =
  | { status: 'ok'; id?: string; data?: T }
  | { status: 'error'; id?: string; error: { code: string; message: string; topic?: string } };

/** `presence`: the device's last will is `{ "online": false }`; it publishes `{ "online": true }`. */
export interface Presence {
  online: boolean;
}

export const presenceSchema: JsonSchema = {
  $id: 'urn:brickless:protocol:presence',
  type: 'object',
  additionalProperties: false,
  required: ['online'],
  properties: { online: { type: 'boolean' } },
};

/**
 * A command name the protocol reserves (issue 18 §1): sent when an owner transfers the device on
 * resale. The SDK hands it to the firmware's factory-reset handler, never to a product command.
 */
export const FACTORY_RESET_COMMAND = 'factory-reset';

/** `commands/request`: a command for the device. */
export interface CommandRequestPayload {
  id: string;
  name: string;
  params: unknown;
  expiresAt: string;
}
