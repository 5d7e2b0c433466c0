import { timingSafeEqual } from 'node:crypto';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Principal } from '../access/roles.js';
import type { TokenService } from '../access/tokens.js';
import { DomainError } from '../errors.js';
import { CSRF_HEADER, SESSION_COOKIE, SessionService } from '../people/sessions.js';

declare module 'fastify' {
  interface FastifyRequest {
    principal: Principal | null;
    /** The browser session's CSRF token, when a session cookie authenticated the request. */
    csrfToken: string | null;
  }
}

/** Header by which the in-process CLI (never a network peer) proves it is the local operator. */
export const LOCAL_HEADER = 'x-brickless-local';

export interface AuthOptions {
  tokens: TokenService;
  /** Browser sessions of signed-in people (cookie), beside bearer tokens. */
  sessions?: SessionService;
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
  app.decorateRequest('csrfToken', null);
  app.addHook('onRequest', async (request) => {
    const localNonce = request.headers[LOCAL_HEADER];
    if (options.local && typeof localNonce === 'string' && sameSecret(localNonce, options.local.nonce)) {
      request.principal = options.local.principal;
      return;
    }
    const header = request.headers.authorization;
    const cookie = request.cookies?.[SESSION_COOKIE];
    if (header === undefined && cookie && options.sessions) {
      await authenticateSession(request, cookie, options);
      return;
    }
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

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * A browser session: the cookie names the person; a state-changing request must also carry the
 * session's CSRF token in a header (synchronizer token, OWASP CSRF cheat sheet) and, when the
 * browser names an Origin, come from this server's own origin. A bearer token needs neither: a
 * browser never attaches one by itself.
 */
async function authenticateSession(
  request: FastifyRequest,
  cookie: string,
  options: AuthOptions,
): Promise<void> {
  const session = await options.sessions?.authenticate(cookie);
  if (!session) {
    options.onFailure?.(request);
    throw new DomainError('unauthenticated', 'the session has ended: sign in again');
  }
  if (!SAFE_METHODS.has(request.method)) {
    const origin = request.headers.origin;
    if (origin !== undefined && !sameOrigin(origin, request)) {
      request.log.warn({ event: 'security.csrf', origin, url: request.url }, 'cross-origin request refused');
      throw new DomainError('forbidden', 'a request from another site was refused (Origin does not match)');
    }
    const presented = request.headers[CSRF_HEADER];
    if (
      !SessionService.csrfMatches(session.csrfToken, typeof presented === 'string' ? presented : undefined)
    ) {
      request.log.warn({ event: 'security.csrf', url: request.url }, 'missing or wrong CSRF token');
      throw new DomainError('forbidden', `send the session's CSRF token in the ${CSRF_HEADER} header`);
    }
  }
  request.principal = session.principal;
  request.csrfToken = session.csrfToken;
}

/** The Origin header names this server (scheme, host and port as the request reached it). */
function sameOrigin(origin: string, request: FastifyRequest): boolean {
  try {
    return new URL(origin).host === request.headers.host;
  } catch {
    return false;
  }
}

export function principalOf(request: FastifyRequest): Principal {
  if (!request.principal) throw new DomainError('unauthenticated', 'a valid API token is required');
  return request.principal;
}
