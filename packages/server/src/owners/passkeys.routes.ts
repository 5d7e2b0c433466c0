import type { AuthenticationResponseJSON, RegistrationResponseJSON } from '@simplewebauthn/server';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import { DomainError } from '../errors.js';
import { Id, IsoDateTime, Name, Nullable, problemResponses } from '../http/schemas.js';
import { CHALLENGE_ID_PATTERN } from '../people/challenges.js';
import { AuthenticationResponse, Ceremony, RegistrationResponse } from '../people/passkeys.routes.js';
import { relyingParty } from '../people/relying-party.js';
import type { Services } from '../services.js';
import { OwnerSchema, owner, ownerOf, publicRoute, sameOrigin, setOwnerCookie } from './routes.js';

const OwnerPasskey = Type.Object({
  id: Type.String(),
  name: Type.String(),
  rpId: Type.String({ description: 'the domain the passkey is bound to; it works only there' }),
  transports: Type.Array(Type.String()),
  createdAt: IsoDateTime,
  lastUsedAt: Nullable(IsoDateTime),
});
const PasskeyParams = Type.Object({ id: Id('opk') });

const rpOf = (services: Services, request: FastifyRequest) =>
  relyingParty(services.publicUrl, request.headers.host);

/**
 * Owners' passkeys (issue 18 §1): add, list, rename and remove them when signed in, and sign in
 * with one instead of an e-mail link. Registered in the owner scope (owners/routes.ts), so its
 * hook authenticates the owner's cookie and checks the CSRF token and Origin of state changes.
 */
export function ownerPasskeyRoutes(app: FastifyInstance, services: Services): void {
  const { ownerPasskeys } = services;
  app.get(
    '/v1/owner/passkeys',
    {
      schema: {
        ...owner,
        summary: "The owner's passkeys",
        response: { 200: Type.Object({ items: Type.Array(OwnerPasskey) }), ...problemResponses },
      },
    },
    async (request) => ({ items: await ownerPasskeys.list(ownerOf(request).ownerId) }),
  );

  app.post(
    '/v1/owner/passkeys/options',
    {
      schema: {
        ...owner,
        summary: 'Start adding a passkey: options for navigator.credentials.create() (valid 5 minutes, once)',
        response: { 200: Ceremony, ...problemResponses },
      },
    },
    async (request) => ownerPasskeys.registrationOptions(ownerOf(request).ownerId, rpOf(services, request)),
  );

  app.post<{ Body: { name: string; response: RegistrationResponseJSON } }>(
    '/v1/owner/passkeys',
    {
      schema: {
        ...owner,
        summary: 'Add a passkey: the answer of navigator.credentials.create() to the options',
        description:
          'The passkey is bound to the domain of this server (http.publicUrl, else the Host header) and works only there. Audited as `owner.passkey.add`.',
        body: Type.Object({ name: Name, response: RegistrationResponse }, { additionalProperties: false }),
        response: { 201: OwnerPasskey, ...problemResponses },
      },
    },
    async (request, reply) =>
      reply
        .status(201)
        .send(await ownerPasskeys.register(ownerOf(request).ownerId, rpOf(services, request), request.body)),
  );

  app.patch<{ Params: { id: string }; Body: { name: string } }>(
    '/v1/owner/passkeys/:id',
    {
      schema: {
        ...owner,
        summary: 'Rename a passkey',
        params: PasskeyParams,
        body: Type.Object({ name: Name }, { additionalProperties: false }),
        response: { 200: OwnerPasskey, ...problemResponses },
      },
    },
    async (request) => ownerPasskeys.rename(ownerOf(request).ownerId, request.params.id, request.body.name),
  );

  app.delete<{ Params: { id: string } }>(
    '/v1/owner/passkeys/:id',
    {
      schema: {
        ...owner,
        summary: 'Remove a passkey (the e-mail link always remains)',
        params: PasskeyParams,
        response: { 204: Type.Null(), ...problemResponses },
      },
    },
    async (request, reply) => {
      await ownerPasskeys.remove(ownerOf(request).ownerId, request.params.id);
      return reply.status(204).send();
    },
  );

  const refuseForeignOrigin = (request: FastifyRequest) => {
    if (!sameOrigin(request.headers.origin, request.headers.host))
      throw new DomainError('forbidden', 'a sign-in from another site was refused (Origin does not match)');
  };

  app.post<{ Body: Record<string, never> }>(
    '/v1/owner/sign-in/passkey/options',
    {
      schema: {
        ...publicRoute,
        summary:
          'Start an owner’s passkey sign-in: options for navigator.credentials.get() (valid 5 minutes, once)',
        description:
          'Send `{}`: the browser offers the discoverable passkeys it holds for this domain, so no e-mail address is asked for. At most 30 at once per address, then one a second.',
        body: Type.Object({}, { additionalProperties: false }),
        response: { 200: Ceremony, ...problemResponses },
      },
    },
    async (request) => {
      refuseForeignOrigin(request);
      return ownerPasskeys.signInOptions(rpOf(services, request), request.ip);
    },
  );

  app.post<{ Body: { challengeId: string; response: AuthenticationResponseJSON } }>(
    '/v1/owner/sign-in/passkey/verify',
    {
      schema: {
        ...publicRoute,
        summary:
          'Sign in as an owner with a passkey: the answer of navigator.credentials.get() to the options',
        description:
          'Opens the same session as an e-mail link: sets the owner session cookie and returns the CSRF token. A staff passkey is refused (`401`). Failures are limited per address; audited as `owner.passkey.sign-in` or `owner.passkey.sign-in-failed`.',
        body: Type.Object(
          { challengeId: Type.String({ pattern: CHALLENGE_ID_PATTERN }), response: AuthenticationResponse },
          { additionalProperties: false },
        ),
        response: {
          200: Type.Object({ owner: OwnerSchema, csrfToken: Type.String(), expiresAt: IsoDateTime }),
          ...problemResponses,
        },
      },
    },
    async (request, reply) => {
      refuseForeignOrigin(request);
      const ownerId = await ownerPasskeys.signIn(rpOf(services, request), request.ip, request.body);
      const done = await services.ownerSignIn.openSession(ownerId);
      setOwnerCookie(reply, done.secret, services.ownerSignIn.limits.absoluteHours);
      return { owner: done.owner, csrfToken: done.csrfToken, expiresAt: done.expiresAt };
    },
  );
}
