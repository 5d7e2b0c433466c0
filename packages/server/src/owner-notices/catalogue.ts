/**
 * What owners must be told (issue 18 §3), as outbox events. The triggering change records the
 * event in its own transaction (notifications/outbox.ts); the notifier's fan-out turns it into a
 * notice for each person who holds one of the devices at that moment (owner-notices/fan-out.ts).
 * These events are not in the maker's webhook catalogue: they speak to owners, not to staff.
 *
 * - `support-period`: CRA Annex II (8): the end date of the support period; ETSI EN 303 645
 *   provision 5.3-13 (the defined support period is published in an accessible way).
 * - `update-available`, `update-installed`: CRA Annex II (9)(b) and Annex I part II (8): how
 *   security updates reach the user, and that they did; ETSI 5.3-13 (clarity about updates).
 * - `end-of-support-ahead`: CRA Annex II (8) and ETSI 5.3-13: the end of support is known ahead.
 * - `sunset`: CRA Art. 13(23) and Annex II (8): the maker stops; ETSI 5.11 (the user can take
 *   their data out, and delete it, before the service is gone): the notice links the export.
 */
export const ownerNoticeKinds = [
  'support-period',
  'update-available',
  'update-installed',
  'end-of-support-ahead',
  'sunset',
] as const;
export type OwnerNoticeKind = (typeof ownerNoticeKinds)[number];

/** The outbox event type of each kind. */
export const ownerEventType = (kind: OwnerNoticeKind) => `owner.${kind}` as const;
export type OwnerEventType = ReturnType<typeof ownerEventType>;

export const isOwnerEventType = (type: string): type is OwnerEventType =>
  type.startsWith('owner.') && (ownerNoticeKinds as readonly string[]).includes(type.slice(6));

/** The days before a product's support ends at which its devices' holders are told (configurable). */
export const DEFAULT_END_OF_SUPPORT_LEADS = [180, 30] as const;

/** Where an owner exports their data (the data-rights route; ETSI EN 303 645 5.11). */
export const EXPORT_PATH = '/v1/owner/export';

/** What each event carries. Never an owner id or e-mail: the outbox is the maker's too. */
export interface OwnerEventData {
  'owner.support-period': {
    productId: string;
    supportEnds: string;
    previous: string | null;
    /** A claim tells the claimer only (their devices); a change tells every holder of the product. */
    deviceIds: string[] | null;
  };
  'owner.update-available': {
    productId: string;
    releaseId: string;
    version: string;
    security: boolean;
    deviceIds: string[];
  };
  'owner.update-installed': { productId: string; deviceId: string; version: string };
  'owner.end-of-support-ahead': {
    productId: string;
    deviceId: string;
    supportEnds: string;
    /** The lead (threshold) this notice answers: 180 or 30 by default. */
    leadDays: number;
    daysLeft: number;
  };
  'owner.sunset': {
    productId: string;
    orgSlug: string;
    recordVersion: number;
    publishedAt: string;
    message: string;
  };
}
