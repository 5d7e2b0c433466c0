/** The shapes the console reads, as the server's OpenAPI document (/openapi.json) declares them. */
export interface Person {
  id: string;
  email: string;
  displayName: string;
  platformAdmin: boolean;
  createdAt: string;
  lastSignInAt: string | null;
  factors: { password: boolean; totp: boolean; passkeys: number; recoveryCodesLeft: number };
}

export interface Membership {
  orgId: string;
  slug: string;
  name: string;
  roles: string[];
  permissions: string[];
}

export interface Me {
  person: Person;
  memberships: Membership[];
  restricted: { orgId: string; reason: string }[];
  csrfToken?: string;
}

export interface Organization {
  id: string;
  slug: string;
  name: string;
}

/** The permissions of docs/roles.md. */
export type Permission =
  | 'orgs:manage'
  | 'fleet:read'
  | 'fleet:write'
  | 'releases:write'
  | 'tokens:manage'
  | 'people:manage'
  | 'audit:read'
  | 'security:write'
  | 'updates:manage'
  | 'vulnerabilities:import'
  | 'webhooks:manage'
  | 'evidence:manage'
  | 'tokens:read'
  | 'people:read'
  | 'updates:read'
  | 'security:read'
  | 'apps:manage'
  | 'apps:read';
