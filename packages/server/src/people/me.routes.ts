import type { FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import { anyAllows, isOrgRole, permissions, type Role, rolesIn } from '../access/roles.js';
import { DomainError, notFound } from '../errors.js';
import { principalOf } from '../http/auth.js';
import { Id, IsoDateTime, Name, Nullable, problemResponses } from '../http/schemas.js';
import type { Services } from '../services.js';
import { clearSessionCookie } from './cookies.js';
import { myPasskeyRoutes } from './passkeys.routes.js';
import { Password, SessionSchema } from './schemas.js';
import { inSession, me } from './self.js';

const tags = ['people'];
/** Routes every signed-in person may use on their own account, whatever their roles. */
const SELF = {
  'x-brickless-permission': 'person',
  'x-brickless-permission-note':
    'any signed-in person (or their token), on their own account; no service token',
} as const;
/** What changes how the account signs in, or mints tokens: a browser session only (self.ts). */
const IN_SESSION = {
  'x-brickless-permission': 'person',
  'x-brickless-permission-note': 'the signed-in person in a browser session, on their own account; no token',
} as const;

const RecoveryCodes = Type.Object({
  recoveryCodes: Type.Array(Type.String(), { description: 'shown once: keep them somewhere safe' }),
});

/** A person's own account (issue 16 §3, §4, §5): factors, sessions and personal tokens. */
export function meRoutes(app: FastifyInstance, services: Services): void {
  const { people, sessions, factors, tokens, orgs } = services;
  myPasskeyRoutes(app, services);

  app.get(
    '/v1/me',
    {
      schema: {
        ...SELF,
        tags,
        summary: 'The signed-in person: account, factors, memberships',
        response: {
          200: Type.Object({
            person: Type.Ref('Person'),
            memberships: Type.Array(
              Type.Object({
                orgId: Type.String(),
                slug: Type.String(),
                name: Type.String(),
                roles: Type.Array(Type.String()),
                permissions: Type.Array(Type.String(), {
                  description:
                    'what these roles allow here (docs/roles.md), so a client shows only what will work',
                }),
              }),
            ),
            restricted: Type.Array(Type.Object({ orgId: Type.String(), reason: Type.String() })),
            csrfToken: Type.Optional(
              Type.String({
                description:
                  'in a browser session: the token to send in x-csrf-token (so a reloaded console page can change things); absent for bearer tokens',
              }),
            ),
          }),
          ...problemResponses,
        },
      },
    },
    async (request) => {
      const { personId } = me(request);
      const principal = principalOf(request);
      const memberships = await Promise.all(
        [...principal.memberships].map(async ([orgId, roles]) => {
          const org = await orgs.get(orgId);
          return {
            orgId,
            slug: org.slug,
            name: org.name,
            roles: [...roles],
            permissions: permissions.filter((permission) => anyAllows(rolesIn(principal, orgId), permission)),
          };
        }),
      );
      const restricted = [...(principal.restricted ?? new Map())].map(([orgId, reason]) => ({
        orgId,
        reason,
      }));
      return {
        person: await people.get(personId),
        memberships,
        restricted,
        ...(request.csrfToken ? { csrfToken: request.csrfToken } : {}),
      };
    },
  );

  app.post(
    '/v1/me/sign-out',
    {
      schema: {
        ...SELF,
        tags,
        summary: 'Sign out of this session',
        response: { 204: Type.Null(), ...problemResponses },
      },
    },
    async (request, reply) => {
      const { personId, actor, sessionId } = me(request);
      if (sessionId) await sessions.revoke(actor, personId, sessionId);
      clearSessionCookie(reply);
      return reply.status(204).send();
    },
  );

  app.post(
    '/v1/me/sign-out-everywhere',
    {
      schema: {
        ...IN_SESSION,
        tags,
        summary: 'End every session of the signed-in person, this one included',
        response: { 204: Type.Null(), ...problemResponses },
      },
    },
    async (request, reply) => {
      const { personId, actor } = inSession(request);
      await sessions.revokeAll(actor, personId, 'signed out everywhere');
      clearSessionCookie(reply);
      return reply.status(204).send();
    },
  );

  app.get(
    '/v1/me/sessions',
    {
      schema: {
        ...SELF,
        tags,
        summary: "The person's open sessions",
        response: { 200: Type.Object({ items: Type.Array(SessionSchema) }), ...problemResponses },
      },
    },
    async (request) => {
      const { personId, sessionId } = me(request);
      return { items: await sessions.list(personId, sessionId) };
    },
  );

  app.delete<{ Params: { handle: string } }>(
    '/v1/me/sessions/:handle',
    {
      schema: {
        ...SELF,
        tags,
        summary: 'End one of the person’s sessions',
        params: Type.Object({ handle: Type.String({ pattern: '^ses_[0-9a-f]{16}$' }) }),
        response: { 204: Type.Null(), ...problemResponses },
      },
    },
    async (request, reply) => {
      const { personId, actor } = me(request);
      await sessions.revoke(actor, personId, request.params.handle);
      return reply.status(204).send();
    },
  );

  app.put<{ Body: { current?: string; password: string } }>(
    '/v1/me/password',
    {
      schema: {
        ...IN_SESSION,
        tags,
        summary: 'Set or change the password (the current one is needed to change it); other sessions end',
        body: Type.Object(
          { current: Type.Optional(Password), password: Password },
          { additionalProperties: false },
        ),
        response: { 204: Type.Null(), ...problemResponses },
      },
    },
    async (request, reply) => {
      const { personId, actor, sessionId } = inSession(request);
      const changed = await factors.setPassword(actor, personId, request.body);
      await sessions.revokeOthers(actor, personId, sessionId, changed);
      return reply.status(204).send();
    },
  );

  app.post(
    '/v1/me/totp',
    {
      schema: {
        ...IN_SESSION,
        tags,
        summary:
          'Start TOTP enrolment: the secret and the otpauth:// URI for the authenticator app (shown once)',
        response: {
          200: Type.Object({ secret: Type.String(), otpauthUri: Type.String() }),
          ...problemResponses,
        },
      },
    },
    async (request, reply) => {
      const { personId, actor } = inSession(request);
      reply.header('cache-control', 'no-store');
      return factors.startTotp(actor, personId);
    },
  );

  app.post<{ Body: { code: string } }>(
    '/v1/me/totp/confirm',
    {
      schema: {
        ...IN_SESSION,
        tags,
        summary:
          'Confirm TOTP with a first code; returns ten recovery codes (shown once); other sessions end',
        body: Type.Object({ code: Type.String({ pattern: '^[0-9]{6}$' }) }, { additionalProperties: false }),
        response: { 200: RecoveryCodes, ...problemResponses },
      },
    },
    async (request, reply) => {
      const { personId, actor, sessionId } = inSession(request);
      reply.header('cache-control', 'no-store');
      const confirmed = await factors.confirmTotp(actor, personId, request.body.code);
      await sessions.revokeOthers(actor, personId, sessionId, 'TOTP turned on');
      return confirmed;
    },
  );

  app.delete(
    '/v1/me/totp',
    {
      schema: {
        ...IN_SESSION,
        tags,
        summary: 'Turn TOTP off; other sessions end',
        response: { 204: Type.Null(), ...problemResponses },
      },
    },
    async (request, reply) => {
      const { personId, actor, sessionId } = inSession(request);
      await factors.disableTotp(actor, personId);
      await sessions.revokeOthers(actor, personId, sessionId, 'TOTP turned off');
      return reply.status(204).send();
    },
  );

  app.post(
    '/v1/me/recovery-codes',
    {
      schema: {
        ...IN_SESSION,
        tags,
        summary: 'Replace the recovery codes with ten new ones (shown once); the old ones stop working',
        response: { 200: RecoveryCodes, ...problemResponses },
      },
    },
    async (request, reply) => {
      const { personId, actor } = inSession(request);
      reply.header('cache-control', 'no-store');
      return { recoveryCodes: await factors.regenerateRecoveryCodes(actor, personId) };
    },
  );

  app.get(
    '/v1/me/tokens',
    {
      schema: {
        ...SELF,
        tags,
        summary: 'The API tokens the person made, in every organisation',
        response: { 200: Type.Object({ items: Type.Array(Type.Ref('ApiToken')) }), ...problemResponses },
      },
    },
    async (request) => ({ items: await tokens.listOfPerson(me(request).personId) }),
  );

  app.post<{ Body: { org: string; name: string; role: Role; expiresAt?: string | null } }>(
    '/v1/me/tokens',
    {
      schema: {
        ...IN_SESSION,
        tags,
        summary:
          'Make a personal API token in an organisation, with one of the roles the person holds there (in a browser session)',
        body: Type.Object(
          {
            org: Type.String({ minLength: 1, maxLength: 100, description: 'organisation id or slug' }),
            name: Name,
            role: Type.String({ maxLength: 40 }),
            expiresAt: Type.Optional(Nullable(IsoDateTime)),
          },
          { additionalProperties: false },
        ),
        response: {
          201: Type.Object({ token: Type.String(), record: Type.Ref('ApiToken') }),
          ...problemResponses,
        },
      },
    },
    async (request, reply) => {
      // In a session only: a token minting tokens could outlive its own expiry (issue 16 §5).
      const { personId, actor } = inSession(request);
      const principal = principalOf(request);
      const org = await orgs.find(request.body.org);
      const held = org ? principal.memberships.get(org.id) : undefined;
      if (!org || !held) throw notFound('organisation', request.body.org);
      const { role } = request.body;
      if (!isOrgRole(role) || !held.includes(role))
        throw new DomainError(
          'forbidden',
          `you hold ${held.join(', ')} in ${org.slug}: a token of yours cannot be ${role}`,
        );
      const created = await tokens.create(actor, {
        orgId: org.id,
        role,
        name: request.body.name,
        expiresAt: request.body.expiresAt ?? null,
        personId,
      });
      return reply.status(201).header('cache-control', 'no-store').send(created);
    },
  );

  app.delete<{ Params: { tokenId: string } }>(
    '/v1/me/tokens/:tokenId',
    {
      schema: {
        ...SELF,
        tags,
        summary: 'Revoke one of the person’s tokens',
        params: Type.Object({ tokenId: Id('tok') }),
        response: { 200: Type.Ref('ApiToken'), ...problemResponses },
      },
    },
    async (request) => {
      const { personId, actor } = me(request);
      const own = (await tokens.listOfPerson(personId)).find((t) => t.id === request.params.tokenId);
      if (!own) throw notFound('token', request.params.tokenId);
      return tokens.revoke(actor, own.orgId, own.id);
    },
  );
}
