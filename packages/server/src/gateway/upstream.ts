import { type UpdateStatus, type UpstreamChannel, updateStatusSchema } from '@brickless/protocol';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { CommandResultRejected, type CommandService } from '../commands/service.js';
import type { EndpointService } from '../continuity/endpoints.js';
import { EventRejected, type EventService } from '../events/service.js';
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

const validateUpdateStatus = new Ajv2020({ strict: false, allErrors: false }).compile<UpdateStatus>(
  updateStatusSchema,
);

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
      return await this.#dispatch(identity, channel, payload);
    } catch (error) {
      for (const kind of rejections)
        if (error instanceof kind) throw new MessageRefused((error as { code: string }).code, error.message);
      throw error;
    }
  }

  async #dispatch(
    identity: DeviceIdentity,
    channel: UpstreamChannel,
    payload: Buffer | object,
  ): Promise<UpstreamResult> {
    const body = () => {
      const parsed = Buffer.isBuffer(payload) ? parseJson(payload) : (payload as Record<string, unknown>);
      if (!parsed) throw new MessageRefused('malformed-payload', 'payload is not a JSON object');
      return parsed;
    };
    switch (channel) {
      case 'telemetry': {
        const stored = await this.#deps.telemetry.ingest(identity, payload);
        this.#deps.metrics.telemetryReadings.inc(stored);
        return { channel, stored };
      }
      case 'events':
        return { channel, stored: (await this.#deps.events.ingest(identity, body())).length };
      case 'state/reported':
        return {
          channel,
          twin: await this.#deps.twins.report(identity.orgId, identity.deviceId, body().state),
        };
      case 'commands/result':
        return { channel, status: (await this.#deps.commands.complete(identity.deviceId, body())).status };
      case 'updates/status': {
        const status = body();
        if (!validateUpdateStatus(status)) {
          const first = validateUpdateStatus.errors?.[0];
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
          status: (await this.#deps.endpoints.report(identity.orgId, identity.deviceId, body())).status,
        };
      default:
        // presence: accepted; presence comes from the connection itself.
        return { channel: 'ignored' };
    }
  }
}
