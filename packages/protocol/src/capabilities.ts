/**
 * A product's capability model: what its devices measure, what state they hold and which
 * commands they accept, each described by a JSON Schema (draft 2020-12). Products differ by this
 * data, not by code, so a successor runs the same release for every product (MISSION.md,
 * "Configuration, not code"). The server validates device payloads against it; the SDK and the
 * Home Assistant discovery derive from it.
 */
export type JsonSchema = { [keyword: string]: unknown };

/** Telemetry values are scalars so that they can be stored, queried and aggregated as series. */
export type TelemetryType = 'number' | 'integer' | 'boolean' | 'string';
export const telemetryTypes: readonly TelemetryType[] = ['number', 'integer', 'boolean', 'string'];

export interface TelemetryField {
  schema: JsonSchema & { type: TelemetryType };
  unit?: string;
  description?: string;
}

export interface StateProperty {
  schema: JsonSchema;
  /** Whether the cloud or owner may set it as desired state; read-only properties are only reported. */
  writable: boolean;
  description?: string;
}

export interface CommandSpec {
  params?: JsonSchema;
  result?: JsonSchema;
  description?: string;
}

export const eventSeverities = ['info', 'warning', 'critical'] as const;
export type EventSeverity = (typeof eventSeverities)[number];

/** Something that happened on the device (a button press, a tamper alarm), as opposed to a measurement. */
export interface EventSpec {
  /** Schema of the event's `data`; an event without it carries no data. */
  data?: JsonSchema;
  /** How much the event matters; `info` when not given. */
  severity?: EventSeverity;
  description?: string;
}

export interface CapabilityModel {
  telemetry: Record<string, TelemetryField>;
  state: Record<string, StateProperty>;
  commands: Record<string, CommandSpec>;
  events: Record<string, EventSpec>;
}

/** Names of fields, properties and commands: they become topic segments and entity ids. */
export const CAPABILITY_NAME_PATTERN = '^[a-zA-Z][a-zA-Z0-9_]{0,63}$';

export const emptyCapabilityModel = (): CapabilityModel => ({
  telemetry: {},
  state: {},
  commands: {},
  events: {},
});
