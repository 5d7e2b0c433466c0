import type { FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import { DomainError } from '../errors.js';
import { Name, problemResponses } from '../http/schemas.js';
import type { Services } from '../services.js';
import { startSession } from './cookies.js';
import { passkeySignInRoutes } from './passkeys.routes.js';
import { Email, Password, SecretToken, SignedIn } from './schemas.js';
import { SESSION_COOKIE } from './sessions.js';

const tags = ['people'];

/** The origin check for requests that open a session: a browser on another site may not. */
function refuseForeignOrigin(origin: string | undefined, host: string | undefined): void {
  if (origin === undefined) return;
  let foreign = true;
  try {
    foreign = new URL(origin).host !== host;
  } catch {}
  if (foreign)
    throw new DomainError('forbidden', 'a sign-in from another site was refused (Origin does not match)');
}

/**
 * Sign-in and invitations: the routes a person uses before they have a session (issue 16 §2, §3).
 * Answers are never cached; the secrets in them are shown once.
 */
export function signInRoutes(app: FastifyInstance, services: Services): void {
  app.addHook('onSend', async (_request, reply) => {
    reply.header('cache-control', 'no-store');
    reply.header('referrer-policy', 'no-referrer');
  });
  passkeySignInRoutes(app, services, refuseForeignOrigin);

  app.post<{ Body: { email: string; password: string; code?: string; recoveryCode?: string } }>(
    '/v1/auth/sign-in',
    {
      schema: {
        tags,
        'x-brickless-permission': 'public',
        security: [],
        summary: 'Sign in with e-mail and password (and the TOTP code or a recovery code when TOTP is on)',
        description:
          'Sets the session cookie and returns the CSRF token. Passkeys sign in through /v1/auth/passkeys. ' +
          'After 5 wrong passwords each further one doubles the wait for the account (up to 15 minutes); passkeys are not affected.',
        body: Type.Object(
          {
            email: Email,
            password: Password,
            code: Type.Optional(Type.String({ pattern: '^[0-9]{6}$' })),
            recoveryCode: Type.Optional(Type.String({ minLength: 8, maxLength: 40 })),
          },
          { additionalProperties: false },
        ),
        response: { 200: SignedIn, ...problemResponses },
      },
    },
    async (request, reply) => {
      refuseForeignOrigin(request.headers.origin, request.headers.host);
      const { personId, method } = await services.passwordSignIn.signIn(request.body, request.ip);
      return startSession(services, request, reply, personId, method);
    },
  );

  // The secret is in these paths: Fastify logs request URLs at info level, so these log at warn.
  const secretRoute = { logLevel: 'warn' as const };
  app.get<{ Params: { token: string } }>(
    '/v1/auth/invitations/:token',
    {
      ...secretRoute,
      schema: {
        tags,
        'x-brickless-permission': 'public',
        security: [],
        summary:
          'What an invitation offers (organisation, roles, e-mail, expiry); unknown, used and expired alike are 404',
        params: Type.Object({ token: SecretToken }),
        response: {
          200: Type.Object({
            email: Type.Union([Type.String(), Type.Null()]),
            orgSlug: Type.Union([Type.String(), Type.Null()]),
            orgName: Type.Union([Type.String(), Type.Null()]),
            roles: Type.Array(Type.String()),
            platformAdmin: Type.Boolean(),
            expiresAt: Type.String(),
          }),
          ...problemResponses,
        },
      },
    },
    async (request) => services.invitations.peek(request.params.token),
  );

  app.post<{ Params: { token: string }; Body: { email?: string; displayName?: string; password?: string } }>(
    '/v1/auth/invitations/:token/accept',
    {
      ...secretRoute,
      schema: {
        tags,
        'x-brickless-permission': 'public',
        security: [],
        summary:
          'Accept an invitation (or the setup link): creates the account, or adds the roles to a signed-in one',
        description:
          'A new person may set a password here, or none and add a passkey in the session that follows. ' +
          'An e-mail address that has an account already must be signed in first.',
        params: Type.Object({ token: SecretToken }),
        body: Type.Object(
          {
            email: Type.Optional(Email),
            displayName: Type.Optional(Name),
            password: Type.Optional(Password),
          },
          { additionalProperties: false },
        ),
        response: { 200: SignedIn, ...problemResponses },
      },
    },
    async (request, reply) => {
      refuseForeignOrigin(request.headers.origin, request.headers.host);
      const cookie = request.cookies?.[SESSION_COOKIE];
      const session = cookie ? await services.sessions.authenticate(cookie) : null;
      const signedIn = session?.principal.personId ? { personId: session.principal.personId } : null;
      const { personId } = await services.invitations.accept(request.params.token, request.body, signedIn);
      return startSession(services, request, reply, personId, 'invitation');
    },
  );
}
