/**
 * The console's pages and who may open them: the navigation is built from this list, and the
 * server answers every path here with the console (packages/server/src/console/routes.ts, whose
 * CONSOLE_SECTIONS a test compares with this list). Plain data, no DOM: the server's test reads it.
 */
export interface SectionEntry {
  /** The first path segment ('' is the overview at /). */
  segment: string;
  /** The key of its label in i18n/common.ts. */
  label:
    | 'overview'
    | 'devices'
    | 'products'
    | 'brands'
    | 'releases'
    | 'rollouts'
    | 'vulnerabilities'
    | 'disclosures'
    | 'reports'
    | 'advisories'
    | 'continuity'
    | 'audit'
    | 'settings'
    | 'apiDocs'
    | 'account'
    | 'organisations';
  /** The permission a person needs in the organisation to see it in the navigation; null: anyone signed in. */
  permission: string | null;
  /** Shown in the main navigation (the account and sign-in pages are reached otherwise). */
  nav: boolean;
}

export const sections: SectionEntry[] = [
  { segment: '', label: 'overview', permission: 'fleet:read', nav: true },
  { segment: 'devices', label: 'devices', permission: 'fleet:read', nav: true },
  { segment: 'products', label: 'products', permission: 'fleet:read', nav: true },
  { segment: 'brands', label: 'brands', permission: 'fleet:read', nav: true },
  { segment: 'releases', label: 'releases', permission: 'fleet:read', nav: true },
  { segment: 'rollouts', label: 'rollouts', permission: 'fleet:read', nav: true },
  { segment: 'vulnerabilities', label: 'vulnerabilities', permission: 'fleet:read', nav: true },
  { segment: 'disclosures', label: 'disclosures', permission: 'security:read', nav: true },
  { segment: 'reports', label: 'reports', permission: 'fleet:read', nav: true },
  { segment: 'advisories', label: 'advisories', permission: 'fleet:read', nav: true },
  { segment: 'continuity', label: 'continuity', permission: 'fleet:read', nav: true },
  { segment: 'audit', label: 'audit', permission: 'audit:read', nav: true },
  { segment: 'settings', label: 'settings', permission: null, nav: true },
  { segment: 'organisations', label: 'organisations', permission: 'orgs:manage', nav: true },
  { segment: 'docs', label: 'apiDocs', permission: null, nav: true },
  { segment: 'account', label: 'account', permission: null, nav: false },
];

/** Paths outside the navigation that the console also answers. */
export const extraSegments = ['sign-in'];
