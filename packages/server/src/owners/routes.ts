import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import { DomainError } from '../errors.js';
import { authorizeOrg, requirementOf } from '../http/authorize.js';
import { Id, IsoDateTime, Nullable, problemResponses } from '../http/schemas.js';
import { ownerNoticeRoutes } from '../owner-notices/routes.js';
import { pickLanguage } from '../people/invitation-page.js';
import { Email, SecretToken } from '../people/schemas.js';
import { CSRF_HEADER, SESSION_COOKIE } from '../people/sessions.js';
import { dataRightsRoutes } from '../rights/routes.js';
import type { Services } from '../services.js';
import { deviceRoles } from './claims.js';
import { sharingRoutes } from './sharing-routes.js';
import {
  LINK_MINUTES,
  OWNER_SESSION_COOKIE,
  type OwnerLanguage,
  type OwnerSession,
  OwnerSignInService,
  ownerLanguages,
} from './sign-in.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** The signed-in device owner, on owner routes (owners/routes.ts). */
    owner: OwnerSession | null;
  }
}

const tags = ['owners'];
export const owner = { 'x-brickless-permission': 'owner' as const, security: [{ ownerSession: [] }], tags };
export const publicRoute = { 'x-brickless-permission': 'public' as const, security: [], tags };

export const OwnedDeviceSchema = Type.Object({
  id: Type.String(),
  role: Type.Union(
    deviceRoles.map((r) => Type.Literal(r)),
    {
      description: 'owner; or a household member: user (sees and controls) or guest (sees only)',
    },
  ),
  productName: Type.String(),
  modelNumber: Type.String(),
  serial: Type.String(),
  online: Type.Boolean(),
  firmwareVersion: Nullable(Type.String()),
  supportEnds: Type.String({
    description: 'the last day the maker supports the product with security updates',
  }),
  claimedAt: IsoDateTime,
});
const OwnerLanguageSchema = Type.Union(
  ownerLanguages.map((l) => Type.Literal(l)),
  { description: 'the language of the owner’s notices and e-mails' },
);
export const OwnerSchema = Type.Object({
  id: Type.String(),
  email: Type.String(),
  createdAt: IsoDateTime,
  language: OwnerLanguageSchema,
});
export const DeviceParams = Type.Object({ deviceId: Id('dev') });
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

export function sameOrigin(origin: string | undefined, host: string | undefined): boolean {
  if (origin === undefined) return true;
  try {
    return new URL(origin).host === host;
  } catch {
    return false;
  }
}

/**
 * Authenticates owner routes by the owner's own session cookie (never a staff token or session):
 * a valid staff credential here gets 403, no credential or a dead one 401. A state-changing
 * request also carries the session's CSRF token and, when the browser names one, this origin.
 */
async function authenticateOwner(request: FastifyRequest, services: Services): Promise<void> {
  const needed = requirementOf(request);
  if (needed === 'public') return;
  if (needed !== 'owner')
    throw new DomainError('internal', `owner routes declare owner or public, not ${needed}`);
  const cookie = request.cookies?.[OWNER_SESSION_COOKIE];
  if (cookie) {
    const session = await services.ownerSignIn.authenticate(cookie);
    if (!session)
      throw new DomainError('unauthenticated', 'the owner session has ended: ask for a new sign-in link');
    if (!SAFE_METHODS.has(request.method)) {
      if (!sameOrigin(request.headers.origin, request.headers.host))
        throw new DomainError('forbidden', 'a request from another site was refused (Origin does not match)');
      const presented = request.headers[CSRF_HEADER];
      if (
        !OwnerSignInService.csrfMatches(
          session.csrfToken,
          typeof presented === 'string' ? presented : undefined,
        )
      )
        throw new DomainError('forbidden', `send the session's CSRF token in the ${CSRF_HEADER} header`);
    }
    request.owner = session;
    return;
  }
  // A staff credential that is valid elsewhere is refused as the wrong kind of account, not as none.
  const bearer = /^Bearer ([^\s]+)$/i.exec(request.headers.authorization ?? '')?.[1];
  const staffCookie = request.cookies?.[SESSION_COOKIE];
  const staff =
    (bearer ? await services.tokens.authenticate(bearer) : null) ??
    (staffCookie && !bearer ? (await services.sessions.authenticate(staffCookie))?.principal : null);
  if (staff)
    throw new DomainError('forbidden', "this is for device owners: sign in with an owner's e-mail link");
  throw new DomainError('unauthenticated', 'sign in as a device owner first (POST /v1/owner/sign-in)');
}

export const ownerOf = (request: FastifyRequest): OwnerSession => {
  if (!request.owner) throw new DomainError('unauthenticated', 'sign in as a device owner first');
  return request.owner;
};

/**
 * What a device owner does (issue 18 §1): sign in by e-mail link, claim a device with its code,
 * see their devices, release one. Separate from the staff API: its own cookie, its own scope.
 */
export function ownerRoutes(app: FastifyInstance, services: Services): void {
  app.decorateRequest('owner', null);
  app.addHook('onRequest', async (request) => authenticateOwner(request, services));
  app.addHook('onSend', async (_request, reply) => {
    reply.header('cache-control', 'no-store');
    reply.header('referrer-policy', 'no-referrer');
  });

  app.post<{ Body: { email: string } }>(
    '/v1/owner/sign-in',
    {
      schema: {
        ...publicRoute,
        summary:
          'Send a one-time sign-in link to an owner’s e-mail address (the account is made on first use)',
        description:
          `The link is valid for ${LINK_MINUTES} minutes and once; its secret follows \`#\`, so it never reaches a server log. ` +
          'The answer is the same whether an account exists or not. At most 10 links an hour per address and 5 per e-mail address.',
        body: Type.Object({ email: Email }, { additionalProperties: false }),
        response: {
          202: Type.Object({ sent: Type.Literal(true), expiresAt: IsoDateTime }),
          ...problemResponses,
        },
      },
    },
    async (request, reply) => {
      const { expiresAt } = await services.ownerSignIn.requestLink(request.body.email, request.ip);
      return reply.status(202).send({ sent: true, expiresAt });
    },
  );

  app.post<{ Body: { token: string } }>(
    '/v1/owner/sign-in/complete',
    {
      schema: {
        ...publicRoute,
        summary: 'Use a sign-in link: sets the owner session cookie and returns the CSRF token',
        description:
          'The token is the part of the link after `#`. Unknown, used and expired links alike get 401.',
        body: Type.Object({ token: SecretToken }, { additionalProperties: false }),
        response: {
          200: Type.Object({ owner: OwnerSchema, csrfToken: Type.String(), expiresAt: IsoDateTime }),
          ...problemResponses,
        },
      },
    },
    async (request, reply) => {
      if (!sameOrigin(request.headers.origin, request.headers.host))
        throw new DomainError('forbidden', 'a sign-in from another site was refused (Origin does not match)');
      // A new account reads its notices in the browser's language (Accept-Language), else English.
      const done = await services.ownerSignIn.complete(
        request.body.token,
        pickLanguage(request.headers['accept-language']),
      );
      setOwnerCookie(reply, done.secret, services.ownerSignIn.limits.absoluteHours);
      return { owner: done.owner, csrfToken: done.csrfToken, expiresAt: done.expiresAt };
    },
  );

  app.post(
    '/v1/owner/sign-out',
    {
      schema: {
        ...owner,
        summary: 'End this owner session',
        response: { 204: Type.Null(), ...problemResponses },
      },
    },
    async (request, reply) => {
      await services.ownerSignIn.signOut(ownerOf(request).handle);
      reply.clearCookie(OWNER_SESSION_COOKIE, {
        path: '/',
        secure: true,
        httpOnly: true,
        sameSite: 'strict',
      });
      return reply.status(204).send();
    },
  );

  app.get(
    '/v1/owner/me',
    {
      schema: {
        ...owner,
        summary: 'The signed-in owner, and the session’s CSRF token (so a reloaded page can change things)',
        response: {
          200: Type.Object({
            ...OwnerSchema.properties,
            csrfToken: Type.String({ description: 'send it in x-csrf-token' }),
          }),
          ...problemResponses,
        },
      },
    },
    async (request) => ({
      ...(await services.ownerSignIn.get(ownerOf(request).ownerId)),
      csrfToken: ownerOf(request).csrfToken,
    }),
  );

  app.patch<{ Body: { language: OwnerLanguage } }>(
    '/v1/owner/me',
    {
      schema: {
        ...owner,
        summary: 'Change the owner’s settings: the language of their notices and e-mails',
        body: Type.Object({ language: OwnerLanguageSchema }, { additionalProperties: false }),
        response: { 200: OwnerSchema, ...problemResponses },
      },
    },
    async (request) => services.ownerSignIn.setLanguage(ownerOf(request).ownerId, request.body.language),
  );

  app.post<{ Body: { code: string } }>(
    '/v1/owner/claims',
    {
      schema: {
        ...owner,
        summary: 'Claim a device with the code on its label: it becomes the owner’s',
        description:
          'A code that claims nothing (unknown, used, replaced) gets one answer; after 10 such codes in an hour per owner or per address, 429. ' +
          'A device that has an owner already answers 409 until they release it.',
        body: Type.Object(
          {
            code: Type.String({
              minLength: 1,
              maxLength: 64,
              description: 'XXXX-XXXX-XXXX-XXXX; case, spaces and hyphens do not matter',
            }),
          },
          { additionalProperties: false },
        ),
        response: { 201: OwnedDeviceSchema, ...problemResponses },
      },
    },
    async (request, reply) =>
      reply
        .status(201)
        .send(await services.claims.claim(ownerOf(request).ownerId, request.ip, request.body.code)),
  );

  app.get(
    '/v1/owner/devices',
    {
      schema: {
        ...owner,
        summary: 'The devices the owner holds and those shared with them, each with their role',
        response: { 200: Type.Object({ items: Type.Array(OwnedDeviceSchema) }), ...problemResponses },
      },
    },
    async (request) => ({ items: await services.claims.list(ownerOf(request).ownerId) }),
  );

  app.get<{ Params: { deviceId: string } }>(
    '/v1/owner/devices/:deviceId',
    {
      schema: {
        ...owner,
        summary: 'One of the owner’s devices (another owner’s is 404)',
        params: DeviceParams,
        response: { 200: OwnedDeviceSchema, ...problemResponses },
      },
    },
    async (request) => services.claims.get(ownerOf(request).ownerId, request.params.deviceId),
  );

  app.delete<{ Params: { deviceId: string } }>(
    '/v1/owner/devices/:deviceId',
    {
      schema: {
        ...owner,
        summary: 'Release a device: it is no longer the owner’s (the maker can issue a new claim code)',
        description:
          'Shares and open invitations end with it. Only the owner releases (a household member gets 403 and leaves with DELETE …/shares/{their id}).',
        params: DeviceParams,
        response: { 204: Type.Null(), ...problemResponses },
      },
    },
    async (request, reply) => {
      await services.claims.release(ownerOf(request).ownerId, request.params.deviceId);
      return reply.status(204).send();
    },
  );

  ownerNoticeRoutes(app, services, ownerOf);
  dataRightsRoutes(app, services, ownerOf);
  sharingRoutes(app, services);
}

/** The owner's cookie: `__Host-` (Secure, host-only, path /), HttpOnly, SameSite=Strict. */
export function setOwnerCookie(reply: FastifyReply, secret: string, hours: number): void {
  reply.setCookie(OWNER_SESSION_COOKIE, secret, {
    path: '/',
    secure: true,
    httpOnly: true,
    sameSite: 'strict',
    maxAge: hours * 3600,
  });
}

/** The maker's side: a new claim code for a device (the old one ends). In the staff API scope. */
export function claimCodeRoutes(app: FastifyInstance, services: Pick<Services, 'orgs' | 'claims'>): void {
  app.post<{ Params: { org: string; deviceId: string } }>(
    '/v1/orgs/:org/devices/:deviceId/claim-code',
    {
      schema: {
        'x-brickless-permission': 'fleet:write',
        tags: ['devices'],
        summary: 'Issue a new claim code for a device, ending the old one (shown once)',
        description:
          'For a lost label, or after the owner released the device. While the device has an owner the new code claims nothing until they release it.',
        params: Type.Object({ org: Type.String({ maxLength: 100 }), deviceId: Id('dev') }),
        response: {
          201: Type.Object({ deviceId: Type.String(), claimCode: Type.String() }),
          ...problemResponses,
        },
      },
    },
    async (request, reply) => {
      const { orgId, principal } = await authorizeOrg(request, services.orgs, request.params.org);
      const issued = await services.claims.issueCode(principal.actor, orgId, request.params.deviceId);
      return reply.status(201).header('cache-control', 'no-store').send(issued);
    },
  );
}
