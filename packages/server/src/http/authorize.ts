import type { FastifyInstance, FastifyRequest } from 'fastify';
import { anyAllows, type Permission, type Principal, permissions, rolesIn } from '../access/roles.js';
import { DomainError, notFound } from '../errors.js';
import type { OrganizationService } from '../fleet/organizations.js';
import { principalOf } from './auth.js';
import { checkInput } from './input.js';

/**
 * Every authenticated route declares what its caller must hold in its schema, under this OpenAPI
 * extension: the declaration is the one source of truth, enforced here, published in
 * /openapi.json and tabulated in docs/roles.md (issue 16 §1).
 */
export const PERMISSION_KEY = 'x-brickless-permission';

/**
 * A permission of access/roles.ts; `authenticated`: any principal at all (whoami, own orgs);
 * `public`: no principal needed (for sign-in routes that live under /v1); `person`: a signed-in
 * person (or a person's token) on their own account, never a service token; `owner`: a device
 * owner's session (owners/routes.ts), never a staff token or session (issue 18 §1); `app`: an OAuth
 * access token an owner granted a maker's app (apps/app-api.routes.ts, issue 18 §2), its scope
 * declared in the operation's `security` (`oauth2: [scope]`).
 */
export type Requirement = Permission | 'authenticated' | 'public' | 'person' | 'owner' | 'app';

/** Why a route needs what it declares, or a further check it makes: shown in docs/roles.md. */
export const NOTE_KEY = 'x-brickless-permission-note';

declare module 'fastify' {
  interface FastifySchema {
    /** What the caller must hold (see http/authorize.ts); required on every route under /v1. */
    'x-brickless-permission'?: Requirement;
    'x-brickless-permission-note'?: string;
  }
}

export function isRequirement(value: unknown): value is Requirement {
  return (
    value === 'authenticated' ||
    value === 'public' ||
    value === 'person' ||
    value === 'owner' ||
    value === 'app' ||
    (permissions as readonly unknown[]).includes(value)
  );
}

/** The route's declared requirement; a route that declares none (or garbage) is refused outright. */
export function requirementOf(request: FastifyRequest): Requirement {
  const declared = (request.routeOptions.schema as Record<string, unknown> | undefined)?.[PERMISSION_KEY];
  if (isRequirement(declared)) return declared;
  // Fail closed: a route someone forgot to declare must not run for whoever holds a token.
  request.log.error(
    { event: 'security.undeclared-permission', route: request.routeOptions.url, method: request.method },
    'route declares no permission; refused',
  );
  throw new DomainError(
    'internal',
    `${request.method} ${request.routeOptions.url ?? request.url} declares no ${PERMISSION_KEY}`,
  );
}

export interface OrgAccess {
  orgId: string;
  principal: Principal;
}

// The hook has already authorised the request when the handler asks again: no second lookup.
const checked = new WeakMap<FastifyRequest, { orgParam: string; access: OrgAccess }>();

/** For routes above the organisations (platform): only the platform admin's role counts. */
export function requirePermission(request: FastifyRequest): Principal {
  const principal = principalOf(request);
  const needed = requirementOf(request);
  if (needed === 'authenticated' || needed === 'public') return principal;
  // Owner routes live in their own scope with their own session (owners/routes.ts); staff never pass.
  if (needed === 'owner')
    throw new DomainError('forbidden', "this is for device owners: sign in with an owner's e-mail link");
  if (needed === 'app')
    throw new DomainError('forbidden', 'this is for apps acting for an owner: use an OAuth access token');
  if (needed === 'person') {
    if (principal.personId === null)
      throw new DomainError(
        'forbidden',
        'this is for people: a service token or the local CLI has no account',
      );
    return principal;
  }
  if (!(principal.platformAdmin && anyAllows(['platform-admin'], needed))) {
    throw new DomainError('forbidden', `only a platform admin may do this (needs ${needed})`);
  }
  return principal;
}

/**
 * Resolves the organisation named in the path and checks that the caller holds the route's
 * declared permission in it. Another tenant's organisation is reported as not found, exactly like
 * one that does not exist, so a caller cannot even learn which organisations exist.
 */
export async function authorizeOrg(
  request: FastifyRequest,
  orgs: OrganizationService,
  orgParam: string,
): Promise<OrgAccess> {
  const done = checked.get(request);
  if (done && done.orgParam === orgParam) return done.access;
  const principal = principalOf(request);
  const needed = requirementOf(request);
  // This runs before validation (onRequest), so the parameter gets the input rules here.
  checkInput(orgParam, ['org'], 'params');
  const org = orgParam.length <= 100 ? await orgs.find(orgParam) : undefined;
  const held = org ? rolesIn(principal, org.id) : [];
  // A session that does not meet the organisation's sign-in policy is told what would (issue 16 §3).
  const restriction = org ? principal.restricted?.get(org.id) : undefined;
  if (restriction) throw new DomainError('forbidden', restriction);
  if (!org || held.length === 0) throw notFound('organisation', orgParam);
  if (needed === 'owner' || needed === 'app')
    throw new DomainError('forbidden', "this is for device owners: sign in with an owner's e-mail link");
  if (needed !== 'authenticated' && needed !== 'public' && needed !== 'person' && !anyAllows(held, needed)) {
    throw new DomainError('forbidden', `role ${held.join(', ')} may not do this (needs ${needed})`);
  }
  const access = { orgId: org.id, principal };
  checked.set(request, { orgParam, access });
  return access;
}

/**
 * Enforces each route's declaration before anything else of the request is read (onRequest, after
 * authentication): a role without the permission gets 403 even with a malformed or huge body, and
 * an undeclared route gets 500 for everyone. Routes under `/v1/orgs/:org` are checked in that
 * organisation; all others against the platform role.
 */
export function registerAuthorization(app: FastifyInstance, { orgs }: { orgs: OrganizationService }): void {
  app.addHook('onRequest', async (request) => {
    const needed = requirementOf(request);
    if (needed === 'public') return;
    principalOf(request);
    if (needed === 'authenticated') return;
    const org = (request.params as Record<string, unknown> | undefined)?.org;
    if (typeof org === 'string') await authorizeOrg(request, orgs, org);
    else requirePermission(request);
  });
}
