import { timingSafeEqual } from 'node:crypto';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { allows, type Permission, type Principal } from '../access/roles.js';
import type { TokenService } from '../access/tokens.js';
import { DomainError, notFound } from '../errors.js';
import type { OrganizationService } from '../fleet/organizations.js';

declare module 'fastify' {
  interface FastifyRequest {
    principal: Principal | null;
  }
}

/** Header by which the in-process CLI (never a network peer) proves it is the local operator. */
export const LOCAL_HEADER = 'x-brickless-local';

export interface AuthOptions {
  tokens: TokenService;
  /** Set only when the app is driven in-process by the CLI: its nonce and the principal it maps to. */
  local?: { nonce: string; principal: Principal };
  onFailure?: (request: FastifyRequest) => void;
}

function sameSecret(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/**
 * Authenticates every request under the plugin's prefix. A missing, malformed, unknown, revoked
 * or expired token gets the same 401 and message, so a caller learns nothing about which part
 * was wrong; failures are counted and logged as security events (ETSI EN 303 645 5.1-5, 5.10).
 */
export function registerAuthentication(app: FastifyInstance, options: AuthOptions): void {
  app.decorateRequest('principal', null);
  app.addHook('onRequest', async (request) => {
    const localNonce = request.headers[LOCAL_HEADER];
    if (options.local && typeof localNonce === 'string' && sameSecret(localNonce, options.local.nonce)) {
      request.principal = options.local.principal;
      return;
    }
    const header = request.headers.authorization;
    const match = typeof header === 'string' ? /^Bearer ([^\s]+)$/i.exec(header) : null;
    const principal = match?.[1] ? await options.tokens.authenticate(match[1]) : null;
    if (!principal) {
      options.onFailure?.(request);
      request.log.warn(
        { event: 'security.auth-failed', ip: request.ip, url: request.url },
        'API authentication failed',
      );
      throw new DomainError('unauthenticated', 'a valid API token is required (Authorization: Bearer …)');
    }
    request.principal = principal;
  });
}

export function principalOf(request: FastifyRequest): Principal {
  if (!request.principal) throw new DomainError('unauthenticated', 'a valid API token is required');
  return request.principal;
}

export function requirePermission(request: FastifyRequest, permission: Permission): Principal {
  const principal = principalOf(request);
  if (!allows(principal.role, permission)) {
    throw new DomainError('forbidden', `role ${principal.role} may not do this (needs ${permission})`);
  }
  return principal;
}

/**
 * Resolves the organisation named in the path and checks that the caller may act in it.
 * Another tenant's organisation is reported as not found, exactly like one that does not exist,
 * so a token cannot even learn which organisations exist.
 */
export async function authorizeOrg(
  request: FastifyRequest,
  orgs: OrganizationService,
  orgParam: string,
  permission: Permission,
): Promise<{ orgId: string; principal: Principal }> {
  const principal = principalOf(request);
  const org = await orgs.find(orgParam);
  if (!org || (principal.orgId !== null && principal.orgId !== org.id))
    throw notFound('organisation', orgParam);
  if (!allows(principal.role, permission)) {
    throw new DomainError('forbidden', `role ${principal.role} may not do this (needs ${permission})`);
  }
  return { orgId: org.id, principal };
}
