import type { FastifyRequest } from 'fastify';
import { DomainError } from '../errors.js';
import { principalOf } from '../http/auth.js';

/** The person acting on their own account (issue 16 §3, §5), by session or by one of their tokens. */
export interface Self {
  personId: string;
  actor: string;
  sessionId: string | null;
}

/** The signed-in person, or the person whose token this is; never a service token or the CLI. */
export function me(request: FastifyRequest): Self {
  const principal = principalOf(request);
  if (!principal.personId)
    throw new DomainError('forbidden', 'this is for people: a service token or the local CLI has no account');
  return { personId: principal.personId, actor: principal.actor, sessionId: principal.sessionId ?? null };
}

/**
 * The person in a browser session, for what changes how the account signs in (password, TOTP,
 * recovery codes, passkeys, sign-out everywhere) or mints tokens: a personal token holds one role
 * in one organisation, and a factor it could set would sign in with all of the person's roles.
 */
export function inSession(request: FastifyRequest): Self & { sessionId: string } {
  const person = me(request);
  if (!person.sessionId)
    throw new DomainError(
      'forbidden',
      'this changes how the account signs in: do it in a signed-in browser session, not with a token',
    );
  return { ...person, sessionId: person.sessionId };
}
