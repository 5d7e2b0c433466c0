import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Services } from '../services.js';
import type { Person } from './service.js';
import { SESSION_COOKIE, type SignInMethod } from './sessions.js';

/**
 * Opens a session for the person and sets its cookie: `__Host-` (Secure, host-only, path /),
 * HttpOnly (no script reads it), SameSite=Strict (no other site sends it), ending with the
 * session's absolute timeout. The CSRF token goes in the body for the console to keep in memory.
 */
export async function startSession(
  services: Pick<Services, 'sessions' | 'people'>,
  request: FastifyRequest,
  reply: FastifyReply,
  personId: string,
  method: SignInMethod,
): Promise<{ person: Person; csrfToken: string; session: string; expiresAt: string; method: SignInMethod }> {
  const opened = await services.sessions.open(personId, method, {
    ip: request.ip,
    userAgent: typeof request.headers['user-agent'] === 'string' ? request.headers['user-agent'] : null,
  });
  reply.setCookie(SESSION_COOKIE, opened.secret, {
    path: '/',
    secure: true,
    httpOnly: true,
    sameSite: 'strict',
    maxAge: services.sessions.limits.absoluteHours * 3600,
  });
  reply.header('cache-control', 'no-store');
  return {
    person: await services.people.get(personId),
    csrfToken: opened.csrfToken,
    session: opened.handle,
    expiresAt: opened.expiresAt,
    method,
  };
}

export function clearSessionCookie(reply: FastifyReply): void {
  reply.clearCookie(SESSION_COOKIE, { path: '/', secure: true, httpOnly: true, sameSite: 'strict' });
}
