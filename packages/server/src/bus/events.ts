import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import { type Static, type TSchema, Type } from 'typebox';

/**
 * The events one node tells every node (issue 19 §1, decision 0028). Each payload carries ids
 * only: the facts (the command, the desired state, the offer, the record) are in the database, and
 * a node that hears an event reads them from there. So a message on the bus can only make a node
 * look again, never tell a device something the database does not say.
 *
 * `change` is the id of the audit entry that recorded the change, when there is one: the same
 * change also reaches other nodes through the database (store/change-notifier.ts), and a node
 * applies it once, whichever path brings it first.
 */
const id = (prefix: string) => Type.String({ pattern: `^${prefix}_[0-9a-f]{28}$` });
const DeviceId = id('dev');
const Change = Type.Optional(id('aud'));
/** Devices per `rollout.offer` message; the engine sends larger batches in several messages. */
export const OFFER_BATCH = 1000;

const strict = { additionalProperties: false } as const;

export const busEventSchemas = {
  /** A device's credential was revoked or rotated, or the device disabled or deleted: its connection ends. */
  'device.revoked': Type.Object({ deviceId: DeviceId, change: Change }, strict),
  /** A command was queued for the device. */
  'command.queued': Type.Object({ deviceId: DeviceId, change: Change }, strict),
  /** The device's desired state changed. */
  'twin.desired': Type.Object({ deviceId: DeviceId, change: Change }, strict),
  /** An API token was revoked: MQTT integration sessions opened with it end. */
  'token.revoked': Type.Object({ tokenId: id('tok'), change: Change }, strict),
  /** An organisation published an endpoint record (handover, sunset). */
  'endpoint.published': Type.Object({ orgId: id('org'), change: Change }, strict),
  /** One device got a record of its own (an owner's local mode). */
  'endpoint.device': Type.Object({ deviceId: DeviceId, change: Change }, strict),
  /** The rollout engine offered the rollout's release to these devices (not audited: bus only). */
  'rollout.offer': Type.Object(
    {
      rolloutId: id('rol'),
      deviceIds: Type.Array(DeviceId, { minItems: 1, maxItems: OFFER_BATCH }),
    },
    strict,
  ),
  /** A rollout changed status (halted, completed, …): live progress streams read it again. */
  'rollout.changed': Type.Object(
    { rolloutId: id('rol'), status: Type.String({ pattern: '^[a-z-]{1,32}$' }) },
    strict,
  ),
  /** A device reported a step of a rollout. */
  'rollout.reported': Type.Object({ rolloutId: id('rol'), deviceId: DeviceId }, strict),
} satisfies Record<string, TSchema>;

export type BusEvents = { [E in keyof typeof busEventSchemas]: Static<(typeof busEventSchemas)[E]> };
export type BusEvent = keyof BusEvents;
export const BUS_EVENTS = Object.keys(busEventSchemas) as BusEvent[];

export function isBusEvent(name: string): name is BusEvent {
  return Object.hasOwn(busEventSchemas, name);
}

let validators: Map<string, ValidateFunction> | undefined;

/** Whether `data` is a valid payload of `event` (a message from the bus is untrusted input). */
export function validPayload<E extends BusEvent>(event: E, data: unknown): data is BusEvents[E] {
  if (!validators) {
    const ajv = new Ajv2020({ allErrors: false, strict: false });
    validators = new Map(BUS_EVENTS.map((e) => [e, ajv.compile(busEventSchemas[e])]));
  }
  return validators.get(event)?.(data) === true;
}
