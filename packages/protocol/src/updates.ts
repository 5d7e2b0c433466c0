import type { JsonSchema } from './capabilities.js';

/**
 * `updates/offer` (server → device): a release the device should install. The device verifies
 * everything about it through TUF metadata before it trusts any of this (docs/updates.md).
 */
export interface UpdateOffer {
  rollout: string;
  release: string;
  /** The TUF target path to look up in the signed targets metadata. */
  target: string;
  version: string;
  kind: 'security' | 'feature';
  /** How long the device may put the update off while it is busy, in seconds. */
  maxDeferralSeconds: number;
}

/** Every step a device reports while it updates (the device state machine in docs/updates.md). */
export const updateSteps = [
  'offered',
  'deferred',
  'downloading',
  'verifying',
  'installing',
  'rebooting',
  'succeeded',
  'failed',
  'rolled-back',
] as const;
export type UpdateStep = (typeof updateSteps)[number];
export const finalUpdateSteps: readonly UpdateStep[] = ['succeeded', 'failed', 'rolled-back'];

/** `updates/status` (device → server): one step of an update, with the reason when it failed. */
export interface UpdateStatus {
  id?: string;
  rollout?: string;
  release?: string;
  step: UpdateStep;
  /** Why it failed or rolled back, machine-readable (for example `hash-mismatch`, `health-check`). */
  reason?: string;
  /** Why, for people: shown in the rollout and the device's update history. */
  message?: string;
  /** The firmware the device runs after this step, with its security version. */
  version?: string;
  securityVersion?: number;
  /** Download progress, 0..1. */
  progress?: number;
}

export const updateStatusSchema: JsonSchema = {
  $id: 'urn:brickless:protocol:update-status',
  type: 'object',
  additionalProperties: false,
  required: ['step'],
  properties: {
    id: { type: 'string', maxLength: 64 },
    rollout: { type: 'string', maxLength: 64 },
    release: { type: 'string', maxLength: 64 },
    step: { enum: [...updateSteps] },
    reason: { type: 'string', pattern: '^[a-z0-9-]{1,64}$' },
    // Prose: tab and newline are kept, every other control character is refused (DESIGN.md).
    message: { type: 'string', maxLength: 500, pattern: '^[^\\u0000-\\u0008\\u000b-\\u001f\\u007f]*$' },
    version: { type: 'string', maxLength: 64 },
    securityVersion: { type: 'integer', minimum: 0 },
    progress: { type: 'number', minimum: 0, maximum: 1 },
  },
};
