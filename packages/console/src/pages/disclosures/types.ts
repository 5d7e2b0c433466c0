/** What the disclosure API answers (packages/server/src/vulnerabilities/disclosures.ts). */
export const disclosureStatuses = [
  'received',
  'triaging',
  'confirmed',
  'not-reproducible',
  'fixed',
  'closed',
] as const;
export type DisclosureStatus = (typeof disclosureStatuses)[number];

export interface Disclosure {
  id: string;
  productId: string | null;
  title: string;
  description: string;
  contact: string | null;
  status: DisclosureStatus;
  publicNote: string | null;
  vulnerabilityId: string | null;
  createdAt: string;
  updatedAt: string;
}

export interface DisclosureMessage {
  id: string;
  disclosureId: string;
  from: 'researcher' | 'maker';
  actor: string;
  message: string;
  sentAt: string;
}
