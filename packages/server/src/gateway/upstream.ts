import {
  type Presence,
  presenceSchema,
  type UpdateStatus,
  type UpstreamChannel,
  updateStatusSchema,
} from '@brickless/protocol';
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import { CommandResultRejected, type CommandService } from '../commands/service.js';
import type { EndpointService } from '../continuity/endpoints.js';
import { DomainError } from '../errors.js';
import { EventRejected, type EventService } from '../events/service.js';
import { checkInput, InputRefused, parseInput } from '../http/input.js';
import type { Metrics } from '../http/metrics.js';
import { TelemetryRejected, type TelemetryService } from '../telemetry/service.js';
import { StateRejected, type Twin, type TwinService } from '../twin/service.js';
import type { RolloutEngine } from '../updates/rollout-engine.js';
import type { DeviceIdentity } from './credentials.js';

/** A device message refused for its content: the device gets `code` and `message` back. */
export class MessageRefused extends Error {
  readonly code: string;
  constructor(code: string, message: string) {
    super(message);
    this.code = code;
  }
}

export type UpstreamResult =
  | { channel: 'telemetry'; stored: number }
  | { channel: 'events'; stored: number }
  | { channel: 'state/reported'; twin: Twin }
  | { channel: 'commands/result'; status: string }
  | { channel: 'updates/status'; step: string }
  | { channel: 'endpoint/status'; status: string }
  | { channel: 'ignored' };

const rejections = [TelemetryRejected, EventRejected, StateRejected, CommandResultRejected];

/** The payload as JSON, leniently (for echoing a refused message's id); null when it is not an object. */
export function parseJson(payload: Buffer): Record<string, unknown> | null {
  try {
    const value: unknown = JSON.parse(payload.toString('utf8'));
    return value && typeof value === 'object' ? (value as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

/**
 * What a device sends, whichever way it arrives (MQTT publish or the device HTTP API): one place
 * that validates and stores it, so both transports have exactly the same semantics. Throws
 * MessageRefused for content the device must fix; any other error is a server failure (over MQTT
 * no PUBACK, so a QoS 1 message is sent again).
 */
export interface UpstreamDeps {
  telemetry: TelemetryService;
  events: EventService;
  twins: TwinService;
  commands: CommandService;
  rollouts: RolloutEngine;
  endpoints: EndpointService;
  metrics: Metrics;
}

// Compiled on the first message that needs them, not at import: compiling (and Ajv's meta-schema
// with it) at import cost every start of the server and of every CLI command (issue 15).
let updateStatusValidator: ValidateFunction<UpdateStatus> | undefined;
const validateUpdateStatus = () =>
  (updateStatusValidator ??= new Ajv2020({ strict: false, allErrors: false }).compile<UpdateStatus>(
    updateStatusSchema,
  ));

let presenceValidator: ValidateFunction<Presence> | undefined;
const validatePresence = () =>
  (presenceValidator ??= new Ajv2020({ strict: false }).compile<Presence>(presenceSchema));

/** A device message as a JSON object that passed the input rules (http/input.ts), from either transport. */
function inputObject(payload: Buffer | object): Record<string, unknown> {
  let value: unknown = payload;
  if (Buffer.isBuffer(payload)) {
    if (payload.length === 0)
      throw new MessageRefused('malformed-payload', 'payload is empty; a JSON object is expected');
    value = parseInput(payload.toString('utf8'));
  } else checkInput(payload);
  if (!value || typeof value !== 'object' || Array.isArray(value))
    throw new MessageRefused('malformed-payload', 'payload is not a JSON object');
  return value as Record<string, unknown>;
}

export class UpstreamHandler {
  readonly #deps: UpstreamDeps;

  constructor(deps: UpstreamDeps) {
    this.#deps = deps;
  }

  async handle(
    identity: DeviceIdentity,
    channel: UpstreamChannel,
    payload: Buffer | object,
  ): Promise<UpstreamResult> {
    try {
      return await this.#dispatch(identity, channel, inputObject(payload));
    } catch (error) {
      for (const kind of rejections)
        if (error instanceof kind) throw new MessageRefused((error as { code: string }).code, error.message);
      if (error instanceof InputRefused) throw new MessageRefused(error.code, error.message);
      // A domain refusal (a bad endpoint status, an unknown device) is the device's to fix: it gets
      // the error reply, never a dropped connection. Server failures (5xx) stay errors: no PUBACK.
      if (error instanceof DomainError && error.status < 500)
        throw new MessageRefused(error.code, error.message);
      throw error;
    }
  }

  async #dispatch(
    identity: DeviceIdentity,
    channel: UpstreamChannel,
    body: Record<string, unknown>,
  ): Promise<UpstreamResult> {
    switch (channel) {
      case 'telemetry': {
        const stored = await this.#deps.telemetry.ingest(identity, body);
        this.#deps.metrics.telemetryReadings.inc(stored);
        return { channel, stored };
      }
      case 'events':
        return { channel, stored: (await this.#deps.events.ingest(identity, body)).length };
      case 'state/reported':
        return {
          channel,
          twin: await this.#deps.twins.report(identity.orgId, identity.deviceId, body.state),
        };
      case 'commands/result':
        return { channel, status: (await this.#deps.commands.complete(identity.deviceId, body)).status };
      case 'updates/status': {
        const status = body;
        const validate = validateUpdateStatus();
        if (!validate(status)) {
          const first = validate.errors?.[0];
          throw new MessageRefused(
            'invalid-payload',
            `update status ${first?.instancePath || '/'} ${first?.message ?? 'is not valid'} (docs/updates.md)`,
          );
        }
        await this.#deps.rollouts.report(identity.orgId, identity.deviceId, status);
        return { channel, step: status.step };
      }
      case 'endpoint/status':
        return {
          channel,
          status: (await this.#deps.endpoints.report(identity.orgId, identity.deviceId, body)).status,
        };
      case 'presence':
        // Presence comes from the connection itself; the message still reaches integrations
        // (and may be retained), so it must be what docs/protocol.md says it is.
        if (!validatePresence()(body))
          throw new MessageRefused('invalid-payload', 'presence must be {"online": true|false}');
        return { channel: 'ignored' };
      default:
        return { channel: 'ignored' };
    }
  }
}
