import type { AuthenticationResponseJSON, RegistrationResponseJSON } from '@simplewebauthn/server';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import { Id, IsoDateTime, Name, Nullable, problemResponses } from '../http/schemas.js';
import type { Services } from '../services.js';
import { CHALLENGE_ID_PATTERN } from './challenges.js';
import { startSession } from './cookies.js';
import { relyingParty } from './relying-party.js';
import { Email, SignedIn } from './schemas.js';
import { inSession, me } from './self.js';

const tags = ['people'];
const SELF = {
  'x-brickless-permission': 'person',
  'x-brickless-permission-note': 'the signed-in person, on their own account; no service token',
} as const;
const IN_SESSION = {
  'x-brickless-permission': 'person',
  'x-brickless-permission-note': 'the signed-in person in a browser session, on their own account; no token',
} as const;

/** base64url without padding, as WebAuthn's JSON forms carry binary (W3C WebAuthn §5.1.8). */
const B64 = (maxLength: number) => Type.String({ pattern: '^[A-Za-z0-9_-]*$', minLength: 1, maxLength });
/** A credential id is at most 1023 bytes (WebAuthn §4, "Credential ID"). */
const CredentialId = B64(1364);
const Extensions = Type.Object({}, { additionalProperties: true, maxProperties: 16 });
const Attachment = Type.Optional(Type.Union([Type.Literal('platform'), Type.Literal('cross-platform')]));
const Options = Type.Object({}, { additionalProperties: true, description: 'pass to the browser as is' });

export const RegistrationResponse = Type.Object(
  {
    id: CredentialId,
    rawId: CredentialId,
    type: Type.Literal('public-key'),
    response: Type.Object(
      {
        clientDataJSON: B64(8192),
        attestationObject: B64(65536),
        authenticatorData: Type.Optional(B64(65536)),
        publicKey: Type.Optional(B64(4096)),
        publicKeyAlgorithm: Type.Optional(Type.Integer()),
        transports: Type.Optional(Type.Array(Type.String({ maxLength: 20 }), { maxItems: 10 })),
      },
      { additionalProperties: false },
    ),
    clientExtensionResults: Extensions,
    authenticatorAttachment: Attachment,
  },
  {
    additionalProperties: false,
    description: 'PublicKeyCredential.toJSON() of navigator.credentials.create()',
  },
);

export const AuthenticationResponse = Type.Object(
  {
    id: CredentialId,
    rawId: CredentialId,
    type: Type.Literal('public-key'),
    response: Type.Object(
      {
        clientDataJSON: B64(8192),
        authenticatorData: B64(65536),
        signature: B64(1024),
        userHandle: Type.Optional(B64(128)),
      },
      { additionalProperties: false },
    ),
    clientExtensionResults: Extensions,
    authenticatorAttachment: Attachment,
  },
  { additionalProperties: false, description: 'PublicKeyCredential.toJSON() of navigator.credentials.get()' },
);

const Passkey = Type.Object({
  id: Type.String(),
  name: Type.String(),
  rpId: Type.String({ description: 'the domain the passkey is bound to; it works only there' }),
  transports: Type.Array(Type.String()),
  createdAt: IsoDateTime,
  lastUsedAt: Nullable(IsoDateTime),
});

export const Ceremony = Type.Object({
  challengeId: Type.String({ pattern: CHALLENGE_ID_PATTERN }),
  options: Options,
});

const rpOf = (services: Services, request: FastifyRequest) =>
  relyingParty(services.publicUrl, request.headers.host);

/** A person's own passkeys (issue 16 §3); registered inside the `/v1` scope with authentication. */
export function myPasskeyRoutes(app: FastifyInstance, services: Services): void {
  const { passkeys } = services;
  app.get(
    '/v1/me/passkeys',
    {
      schema: {
        ...SELF,
        tags,
        summary: "The person's passkeys",
        response: { 200: Type.Object({ items: Type.Array(Passkey) }), ...problemResponses },
      },
    },
    async (request) => ({ items: await passkeys.list(me(request).personId) }),
  );

  app.post(
    '/v1/me/passkeys/options',
    {
      schema: {
        ...IN_SESSION,
        tags,
        summary: 'Start adding a passkey: options for navigator.credentials.create() (valid 5 minutes, once)',
        response: { 200: Ceremony, ...problemResponses },
      },
    },
    async (request) => passkeys.registrationOptions(inSession(request).personId, rpOf(services, request)),
  );

  app.post<{ Body: { name: string; response: RegistrationResponseJSON } }>(
    '/v1/me/passkeys',
    {
      schema: {
        ...IN_SESSION,
        tags,
        summary:
          'Add a passkey: the answer of navigator.credentials.create() to the options; other sessions end',
        description:
          'The passkey is bound to the domain of this server (http.publicUrl, else the Host header) and works only there.',
        body: Type.Object({ name: Name, response: RegistrationResponse }, { additionalProperties: false }),
        response: { 201: Passkey, ...problemResponses },
      },
    },
    async (request, reply) => {
      const { personId, actor, sessionId } = inSession(request);
      const added = await passkeys.register(actor, personId, rpOf(services, request), request.body);
      await services.sessions.revokeOthers(actor, personId, sessionId, 'passkey added');
      return reply.status(201).send(added);
    },
  );

  app.delete<{ Params: { id: string } }>(
    '/v1/me/passkeys/:id',
    {
      schema: {
        ...IN_SESSION,
        tags,
        summary:
          'Remove a passkey (never the last way to sign in of a person without a password); other sessions end',
        params: Type.Object({ id: Id('pky') }),
        response: { 204: Type.Null(), ...problemResponses },
      },
    },
    async (request, reply) => {
      const { personId, actor, sessionId } = inSession(request);
      await passkeys.remove(actor, personId, request.params.id);
      await services.sessions.revokeOthers(actor, personId, sessionId, 'passkey removed');
      return reply.status(204).send();
    },
  );
}

/** Passkey sign-in, before a session exists (issue 16 §3); registered in the sign-in scope. */
export function passkeySignInRoutes(
  app: FastifyInstance,
  services: Services,
  refuseForeignOrigin: (origin: string | undefined, host: string | undefined) => void,
): void {
  app.post<{ Body: { email?: string } }>(
    '/v1/auth/passkeys/options',
    {
      schema: {
        tags,
        'x-brickless-permission': 'public',
        security: [],
        summary: 'Start a passkey sign-in: options for navigator.credentials.get() (valid 5 minutes, once)',
        description:
          'Send `{}` for discoverable passkeys. With an e-mail address the options list that person’s passkeys; without one the browser offers its discoverable passkeys for this domain.',
        body: Type.Object({ email: Type.Optional(Email) }, { additionalProperties: false }),
        response: { 200: Ceremony, ...problemResponses },
      },
    },
    async (request) => {
      refuseForeignOrigin(request.headers.origin, request.headers.host);
      return services.passkeys.signInOptions(rpOf(services, request), request.ip, request.body.email);
    },
  );

  app.post<{ Body: { challengeId: string; response: AuthenticationResponseJSON } }>(
    '/v1/auth/passkeys/verify',
    {
      schema: {
        tags,
        'x-brickless-permission': 'public',
        security: [],
        summary: 'Sign in with a passkey: the answer of navigator.credentials.get() to the options',
        description:
          'Sets the session cookie (method `passkey`) and returns the CSRF token. Not slowed by wrong passwords; failures are limited per address.',
        body: Type.Object(
          { challengeId: Type.String({ pattern: CHALLENGE_ID_PATTERN }), response: AuthenticationResponse },
          { additionalProperties: false },
        ),
        response: { 200: SignedIn, ...problemResponses },
      },
    },
    async (request, reply) => {
      refuseForeignOrigin(request.headers.origin, request.headers.host);
      const personId = await services.passkeys.signIn(rpOf(services, request), request.ip, request.body);
      return startSession(services, request, reply, personId, 'passkey');
    },
  );
}
