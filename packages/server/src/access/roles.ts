/**
 * Roles and what they allow. Least privilege (ETSI EN 303 645 5.1, CRA Annex I(1)(2)(d)):
 * an auditor only reads, an operator runs the fleet, a release manager ships releases, a security
 * officer handles vulnerabilities; only an admin manages people and tokens. A person may hold
 * several roles in several organisations (issue 16 §1); a token holds one role in one.
 * docs/roles.md is generated from `grants` and the permission each route declares.
 */
export const orgRoles = ['admin', 'operator', 'release-manager', 'security', 'auditor'] as const;
export const roles = ['platform-admin', ...orgRoles] as const;
export type OrgRole = (typeof orgRoles)[number];
export type Role = (typeof roles)[number];

export const permissions = [
  'orgs:manage',
  'fleet:read',
  'fleet:write',
  'releases:write',
  'tokens:manage',
  'people:manage',
  'audit:read',
  'security:write',
  'updates:manage',
  'vulnerabilities:import',
  'webhooks:manage',
  'evidence:manage',
  'tokens:read',
  'people:read',
  'updates:read',
  'security:read',
  'apps:manage',
  'apps:read',
] as const;
export type Permission = (typeof permissions)[number];

/** What each permission covers, for docs/roles.md and error messages. */
export const permissionMeaning: Record<Permission, string> = {
  'orgs:manage': 'create and change organisations, platform tokens and the platform audit log',
  'fleet:read':
    'read the fleet: organisation, brands, products, devices, releases, rollouts, vulnerabilities',
  'fleet:write': 'devices, credentials, provisioning, commands, desired state, brands, products, continuity',
  'releases:write': 'releases, SBOMs and rollouts',
  'tokens:manage': "the organisation's API tokens",
  'people:manage': "the organisation's people, invitations, roles and sign-in policy",
  'audit:read': 'the audit log and its verification',
  'security:write': 'triage, report cases, advisories, disclosures, the security contact',
  /** Publish TUF root and targets signatures: the maker's key holders act through this. */
  'updates:manage': 'publish signed TUF metadata (root, targets) and manage update keys',
  /** Write the shared vulnerability database (feeds are public data used by every organisation). */
  'vulnerabilities:import': 'import vulnerability feeds into the shared database',
  /** Webhooks send the organisation's events to a URL the caller chooses: an admin's decision. */
  'webhooks:manage': "the organisation's webhooks, their secrets and deliveries",
  /** The evidence key speaks for the organisation to authorities: replacing it is an admin's act. */
  'evidence:manage': "rotate the organisation's evidence signing key",
  // Read permissions beside the manage ones (issue 16 §1: the auditor "reads everything"): an
  // access review needs to see who holds which token, invitation and sign-in rule, without the
  // power to change any of it.
  'tokens:read': "list the organisation's API tokens (names, roles, expiry, last use; never secrets)",
  'people:read':
    "read the organisation's open invitations and its single sign-on configuration (never the client secret)",
  'updates:read': 'read the public halves of the online TUF keys and their rotation state',
  'security:read': 'read the vulnerability reports researchers sent (the disclosure inbox)',
  /** An app acts for owners on their devices: registering one is an admin's decision (issue 18 §2). */
  'apps:manage': "register the organisation's OAuth apps (the app API), change them, rotate their secrets",
  'apps:read': "list the organisation's OAuth apps (names, redirect URIs, scopes; never secrets)",
};

const grants: Record<Role, readonly Permission[]> = {
  // The platform admin can mint an admin token for any organisation, so withholding direct access
  // would add steps without adding safety; every action it takes is audited under its own name
  // (decision 0004).
  'platform-admin': permissions,
  admin: [
    'fleet:read',
    'fleet:write',
    'releases:write',
    'tokens:manage',
    'people:manage',
    'audit:read',
    'security:write',
    'updates:manage',
    'webhooks:manage',
    'evidence:manage',
    'tokens:read',
    'people:read',
    'updates:read',
    'security:read',
    'apps:manage',
    'apps:read',
  ],
  operator: ['fleet:read', 'fleet:write'],
  'release-manager': ['fleet:read', 'releases:write', 'updates:manage', 'updates:read'],
  security: ['fleet:read', 'audit:read', 'security:write', 'security:read'],
  auditor: [
    'fleet:read',
    'audit:read',
    'tokens:read',
    'people:read',
    'updates:read',
    'security:read',
    'apps:read',
  ],
};

export function allows(role: Role, permission: Permission): boolean {
  return grants[role].includes(permission);
}

/** True when any of the roles grants the permission. */
export function anyAllows(held: readonly Role[], permission: Permission): boolean {
  return held.some((role) => allows(role, permission));
}

export function isRole(value: string): value is Role {
  return (roles as readonly string[]).includes(value);
}

export function isOrgRole(value: string): value is OrgRole {
  return (orgRoles as readonly string[]).includes(value);
}

/** Who is acting: a token's holder, a signed-in person or the local CLI operator. */
export interface Principal {
  /** How the audit log names this actor, e.g. `token:tok_… (ci deploy)`, `person:alice@example.com`. */
  actor: string;
  tokenId: string | null;
  /** The signed-in person, or the person who made the token; null for service tokens and the CLI. */
  personId: string | null;
  /** The platform admin acts in every organisation. */
  platformAdmin: boolean;
  /** The organisations this principal may act in, with its roles there. */
  memberships: ReadonlyMap<string, readonly OrgRole[]>;
  /** The browser session it came with (CSRF and sign-out apply); null for a bearer token. */
  sessionId?: string | null;
  /**
   * Organisations whose sign-in policy this session does not meet (for example a passkey is
   * required and the person signed in with a password), with what would meet it.
   */
  restricted?: ReadonlyMap<string, string>;
}

/** The roles a principal holds in one organisation (none: it may not even see it). */
export function rolesIn(principal: Principal, orgId: string): readonly Role[] {
  if (principal.platformAdmin) return ['platform-admin'];
  return principal.memberships.get(orgId) ?? [];
}

/** The roles a principal holds anywhere, for `whoami` and messages. */
export function rolesOf(principal: Principal): Role[] {
  const held = new Set<Role>(principal.platformAdmin ? ['platform-admin'] : []);
  for (const list of principal.memberships.values()) for (const role of list) held.add(role);
  return [...held];
}

/** A token's principal: one role, in one organisation or (platform-admin) above them all. */
export function tokenPrincipal(input: {
  actor: string;
  tokenId: string | null;
  personId: string | null;
  role: Role;
  orgId: string | null;
}): Principal {
  return {
    actor: input.actor,
    tokenId: input.tokenId,
    personId: input.personId,
    platformAdmin: input.role === 'platform-admin',
    memberships:
      input.role === 'platform-admin' || input.orgId === null
        ? new Map()
        : new Map([[input.orgId, [input.role as OrgRole]]]),
  };
}
