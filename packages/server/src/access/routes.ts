import type { FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import { DomainError } from '../errors.js';
import { principalOf } from '../http/auth.js';
import { authorizeOrg, requirePermission } from '../http/authorize.js';
import { Id, IsoDateTime, Name, Nullable, problemResponses } from '../http/schemas.js';
import type { Services } from '../services.js';
import { type OrgRole as OrgRoleName, orgRoles, type Principal, type Role, rolesOf } from './roles.js';
import type { CreateTokenInput } from './tokens.js';

export const TokenSchema = Type.Object(
  {
    id: Type.String(),
    orgId: Nullable(Type.String()),
    role: Type.String(),
    name: Type.String(),
    createdAt: IsoDateTime,
    createdBy: Type.String(),
    expiresAt: Nullable(IsoDateTime),
    lastUsedAt: Nullable(IsoDateTime),
    revokedAt: Nullable(IsoDateTime),
    personId: Nullable(Type.String({ description: 'the person who made it; null for a service token' })),
  },
  { $id: 'ApiToken' },
);
const CreatedToken = Type.Object({
  token: Type.String({ description: 'the secret; shown once, store it now' }),
  record: Type.Ref('ApiToken'),
});
const OrgRole = Type.Union(orgRoles.map((r) => Type.Literal(r)));
const CreateBody = (role: ReturnType<typeof Type.Union>) =>
  Type.Object(
    { name: Name, role, expiresAt: Type.Optional(Nullable(IsoDateTime)) },
    { additionalProperties: false },
  );

/**
 * A token a person makes belongs to them (issue 16 §5): it may hold no role they lack in that
 * organisation, and the audit log names them through it. Service tokens (made by a service token
 * or the local CLI) belong to nobody.
 */
export function tokenFor(
  principal: Principal,
  orgId: string | null,
  body: { name: string; role: Role; expiresAt?: string | null },
): CreateTokenInput {
  if (principal.personId !== null && orgId !== null && !principal.platformAdmin) {
    const held = principal.memberships.get(orgId) ?? [];
    if (!held.includes(body.role as OrgRoleName))
      throw new DomainError(
        'forbidden',
        `you do not hold the role ${body.role} here, so no token of yours can`,
      );
  }
  return { orgId, ...body, personId: principal.personId };
}

export function tokenRoutes(app: FastifyInstance, { orgs, tokens }: Pick<Services, 'orgs' | 'tokens'>): void {
  const tags = ['access'];

  app.get(
    '/v1/whoami',
    {
      schema: {
        'x-brickless-permission': 'authenticated',
        tags,
        summary: 'The caller: role, organisation and how the audit log names it',
        response: {
          200: Type.Object({
            actor: Type.String(),
            role: Type.String({ description: 'the roles, comma-separated (one for a token)' }),
            roles: Type.Array(Type.String()),
            orgId: Nullable(Type.String({ description: 'the one organisation, when there is exactly one' })),
            memberships: Type.Array(Type.Object({ orgId: Type.String(), roles: Type.Array(Type.String()) })),
            platformAdmin: Type.Boolean(),
            tokenId: Nullable(Type.String()),
            personId: Nullable(Type.String()),
          }),
          ...problemResponses,
        },
      },
    },
    async (request) => {
      const principal = principalOf(request);
      const held = rolesOf(principal);
      const memberships = [...principal.memberships].map(([orgId, roles]) => ({ orgId, roles: [...roles] }));
      return {
        actor: principal.actor,
        role: held.join(','),
        roles: held,
        orgId: !principal.platformAdmin && memberships.length === 1 ? (memberships[0]?.orgId ?? null) : null,
        memberships,
        platformAdmin: principal.platformAdmin,
        tokenId: principal.tokenId,
        personId: principal.personId,
      };
    },
  );

  app.post<{ Params: { org: string }; Body: { name: string; role: Role; expiresAt?: string | null } }>(
    '/v1/orgs/:org/tokens',
    {
      schema: {
        'x-brickless-permission': 'tokens:manage',
        tags,
        summary: 'Create an API token for the organisation (the secret is returned once)',
        params: Type.Object({ org: Type.String({ maxLength: 100 }) }),
        body: CreateBody(OrgRole),
        response: { 201: CreatedToken, ...problemResponses },
      },
    },
    async (request, reply) => {
      const { orgId, principal } = await authorizeOrg(request, orgs, request.params.org);
      const created = await tokens.create(principal.actor, tokenFor(principal, orgId, request.body));
      return reply.status(201).header('cache-control', 'no-store').send(created);
    },
  );

  app.get<{ Params: { org: string } }>(
    '/v1/orgs/:org/tokens',
    {
      schema: {
        'x-brickless-permission': 'tokens:read',
        tags,
        summary: "List the organisation's tokens (never their secrets)",
        params: Type.Object({ org: Type.String({ maxLength: 100 }) }),
        response: { 200: Type.Object({ items: Type.Array(Type.Ref('ApiToken')) }), ...problemResponses },
      },
    },
    async (request) => {
      const { orgId } = await authorizeOrg(request, orgs, request.params.org);
      return { items: await tokens.list(orgId) };
    },
  );

  app.delete<{ Params: { org: string; tokenId: string } }>(
    '/v1/orgs/:org/tokens/:tokenId',
    {
      schema: {
        'x-brickless-permission': 'tokens:manage',
        tags,
        summary: 'Revoke a token; it stops working at once',
        params: Type.Object({ org: Type.String({ maxLength: 100 }), tokenId: Id('tok') }),
        response: { 200: Type.Ref('ApiToken'), ...problemResponses },
      },
    },
    async (request) => {
      const { orgId, principal } = await authorizeOrg(request, orgs, request.params.org);
      return tokens.revoke(principal.actor, orgId, request.params.tokenId);
    },
  );

  app.post<{ Body: { name: string; role: Role; expiresAt?: string | null } }>(
    '/v1/platform/tokens',
    {
      schema: {
        'x-brickless-permission': 'orgs:manage',
        tags,
        summary: 'Create a platform-admin token (platform admin)',
        body: CreateBody(Type.Union([Type.Literal('platform-admin')])),
        response: { 201: CreatedToken, ...problemResponses },
      },
    },
    async (request, reply) => {
      const principal = requirePermission(request);
      const created = await tokens.create(principal.actor, tokenFor(principal, null, request.body));
      return reply.status(201).header('cache-control', 'no-store').send(created);
    },
  );

  app.get(
    '/v1/platform/tokens',
    {
      schema: {
        'x-brickless-permission': 'orgs:manage',
        tags,
        summary: 'List platform-admin tokens (platform admin)',
        response: { 200: Type.Object({ items: Type.Array(Type.Ref('ApiToken')) }), ...problemResponses },
      },
    },
    async (request) => {
      requirePermission(request);
      return { items: await tokens.list(null) };
    },
  );

  app.delete<{ Params: { tokenId: string } }>(
    '/v1/platform/tokens/:tokenId',
    {
      schema: {
        'x-brickless-permission': 'orgs:manage',
        tags,
        summary: 'Revoke a platform-admin token (platform admin)',
        params: Type.Object({ tokenId: Id('tok') }),
        response: { 200: Type.Ref('ApiToken'), ...problemResponses },
      },
    },
    async (request) => {
      const principal = requirePermission(request);
      return tokens.revoke(principal.actor, null, request.params.tokenId);
    },
  );
}
