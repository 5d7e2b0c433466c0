/**
 * Roles and what they allow. Least privilege (ETSI EN 303 645 5.1, CRA Annex I(1)(2)(d)):
 * an auditor only reads, an operator runs the fleet but does not manage tokens or read the audit
 * log, a security officer reads the fleet and (in later issues) handles vulnerabilities.
 */
export const orgRoles = ['admin', 'operator', 'security', 'auditor'] as const;
export const roles = ['platform-admin', ...orgRoles] as const;
export type OrgRole = (typeof orgRoles)[number];
export type Role = (typeof roles)[number];

export type Permission =
  | 'orgs:manage'
  | 'fleet:read'
  | 'fleet:write'
  | 'tokens:manage'
  | 'audit:read'
  | 'security:write'
  /** Publish TUF root and targets signatures: the maker's key holders act through this. */
  | 'updates:manage'
  /** Write the shared vulnerability database (feeds are public data used by every organisation). */
  | 'vulnerabilities:import';

const grants: Record<Role, readonly Permission[]> = {
  // The platform admin can mint an admin token for any organisation, so withholding direct access
  // would add steps without adding safety; every action it takes is audited under its own token
  // (decision 0004).
  'platform-admin': [
    'orgs:manage',
    'fleet:read',
    'fleet:write',
    'tokens:manage',
    'audit:read',
    'security:write',
    'updates:manage',
    'vulnerabilities:import',
  ],
  admin: ['fleet:read', 'fleet:write', 'tokens:manage', 'audit:read', 'security:write', 'updates:manage'],
  operator: ['fleet:read', 'fleet:write'],
  security: ['fleet:read', 'audit:read', 'security:write'],
  auditor: ['fleet:read', 'audit:read'],
};

export function allows(role: Role, permission: Permission): boolean {
  return grants[role].includes(permission);
}

export function isRole(value: string): value is Role {
  return (roles as readonly string[]).includes(value);
}

/** Who is acting: a token's holder or the local CLI operator. */
export interface Principal {
  /** How the audit log names this actor, e.g. `token:tok_… (ci deploy)` or `cli:alice`. */
  actor: string;
  role: Role;
  /** The one organisation the principal belongs to; null for the platform admin. */
  orgId: string | null;
  tokenId: string | null;
}
