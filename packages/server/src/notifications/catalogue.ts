/**
 * Every event brickless tells the outside world about (issue 18 §4, §5; issue 21 §3): its type,
 * who must hear of it by default, and the JSON Schema of its `data`. The e-mail notifier and the
 * webhook dispatcher read the same events; the AsyncAPI and the docs list this catalogue.
 */
import type { Permission } from '../access/roles.js';

export interface EventType {
  type: string;
  /** One sentence for people: the docs, the preferences page and the e-mail subject's lead. */
  summary: string;
  /** Staff holding this permission in the organisation are told by default (preferences can mute). */
  audience: Permission;
  /** JSON Schema (2020-12) of the event's `data`. */
  schema: Record<string, unknown>;
}

const str = { type: 'string' } as const;
const int = { type: 'integer', minimum: 0 } as const;
const obj = (properties: Record<string, unknown>, required = Object.keys(properties)) => ({
  type: 'object',
  properties,
  required,
  additionalProperties: false,
});

export const EVENT_TYPES = [
  {
    type: 'rollout.halted',
    summary: 'A rollout halted: too many devices failed to install the release.',
    audience: 'releases:write',
    schema: obj({ rolloutId: str, rolloutName: str, releaseId: str, version: str, failed: int, reason: str }),
  },
  {
    type: 'exposure.new',
    summary: 'Devices are exposed to a new critical vulnerability or one on the KEV list.',
    audience: 'security:write',
    schema: obj({
      vulnerabilityId: str,
      severity: str,
      kev: { type: 'boolean' },
      devices: int,
      products: { type: 'array', items: str },
    }),
  },
  {
    type: 'report.deadline',
    summary: 'A CRA Art. 14 report clock is about to run out.',
    audience: 'security:write',
    schema: obj({
      reportCaseId: str,
      vulnerabilityId: str,
      stage: str,
      dueAt: { type: 'string', format: 'date-time' },
      hoursLeft: { type: 'number' },
    }),
  },
  {
    type: 'disclosure.received',
    summary: 'A researcher sent a vulnerability disclosure.',
    audience: 'security:write',
    schema: obj({ disclosureId: str, title: str }),
  },
  {
    type: 'escrow.failed',
    summary: 'An escrow deposit or takeover drill failed.',
    audience: 'audit:read',
    schema: obj({ what: { enum: ['deposit', 'drill'] }, reason: str }),
  },
  {
    type: 'signing.expiring',
    summary: 'A TUF role’s signed metadata or online key is about to expire.',
    audience: 'updates:manage',
    schema: obj({
      role: str,
      expiresAt: { type: 'string', format: 'date-time' },
      daysLeft: { type: 'number' },
    }),
  },
  {
    type: 'continuity.warning',
    summary:
      'The takeover readiness report has a warning (deposit too old, drill failed or too old, devices that cannot move).',
    audience: 'audit:read',
    schema: obj({ code: str, message: str }),
  },
  {
    type: 'webhook.test',
    summary: 'A test event sent on request (`brickless webhooks test`).',
    audience: 'webhooks:manage',
    schema: obj({ message: str }),
  },
] as const satisfies readonly EventType[];

export type OutboundEventType = (typeof EVENT_TYPES)[number]['type'];

export const eventType = (type: string): EventType | undefined =>
  (EVENT_TYPES as readonly EventType[]).find((t) => t.type === type);
