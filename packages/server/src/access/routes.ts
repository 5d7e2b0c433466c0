import type { FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import { authorizeOrg, principalOf, requirePermission } from '../http/auth.js';
import { Id, IsoDateTime, Name, Nullable, problemResponses } from '../http/schemas.js';
import type { Services } from '../services.js';
import { orgRoles, type Role } from './roles.js';

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

export function tokenRoutes(app: FastifyInstance, { orgs, tokens }: Pick<Services, 'orgs' | 'tokens'>): void {
  const tags = ['access'];

  app.get(
    '/v1/whoami',
    {
      schema: {
        tags,
        summary: 'The caller: role, organisation and how the audit log names it',
        response: {
          200: Type.Object({
            actor: Type.String(),
            role: Type.String(),
            orgId: Nullable(Type.String()),
            tokenId: Nullable(Type.String()),
          }),
          ...problemResponses,
        },
      },
    },
    async (request) => principalOf(request),
  );

  app.post<{ Params: { org: string }; Body: { name: string; role: Role; expiresAt?: string | null } }>(
    '/v1/orgs/:org/tokens',
    {
      schema: {
        tags,
        summary: 'Create an API token for the organisation (the secret is returned once)',
        params: Type.Object({ org: Type.String({ maxLength: 100 }) }),
        body: CreateBody(OrgRole),
        response: { 201: CreatedToken, ...problemResponses },
      },
    },
    async (request, reply) => {
      const { orgId, principal } = await authorizeOrg(request, orgs, request.params.org, 'tokens:manage');
      const created = await tokens.create(principal.actor, { orgId, ...request.body });
      return reply.status(201).header('cache-control', 'no-store').send(created);
    },
  );

  app.get<{ Params: { org: string } }>(
    '/v1/orgs/:org/tokens',
    {
      schema: {
        tags,
        summary: "List the organisation's tokens (never their secrets)",
        params: Type.Object({ org: Type.String({ maxLength: 100 }) }),
        response: { 200: Type.Object({ items: Type.Array(Type.Ref('ApiToken')) }), ...problemResponses },
      },
    },
    async (request) => {
      const { orgId } = await authorizeOrg(request, orgs, request.params.org, 'tokens:manage');
      return { items: await tokens.list(orgId) };
    },
  );

  app.delete<{ Params: { org: string; tokenId: string } }>(
    '/v1/orgs/:org/tokens/:tokenId',
    {
      schema: {
        tags,
        summary: 'Revoke a token; it stops working at once',
        params: Type.Object({ org: Type.String({ maxLength: 100 }), tokenId: Id('tok') }),
        response: { 200: Type.Ref('ApiToken'), ...problemResponses },
      },
    },
    async (request) => {
      const { orgId, principal } = await authorizeOrg(request, orgs, request.params.org, 'tokens:manage');
      return tokens.revoke(principal.actor, orgId, request.params.tokenId);
    },
  );

  app.post<{ Body: { name: string; role: Role; expiresAt?: string | null } }>(
    '/v1/platform/tokens',
    {
      schema: {
        tags,
        summary: 'Create a platform-admin token (platform admin)',
        body: CreateBody(Type.Union([Type.Literal('platform-admin')])),
        response: { 201: CreatedToken, ...problemResponses },
      },
    },
    async (request, reply) => {
      const principal = requirePermission(request, 'orgs:manage');
      const created = await tokens.create(principal.actor, { orgId: null, ...request.body });
      return reply.status(201).header('cache-control', 'no-store').send(created);
    },
  );

  app.get(
    '/v1/platform/tokens',
    {
      schema: {
        tags,
        summary: 'List platform-admin tokens (platform admin)',
        response: { 200: Type.Object({ items: Type.Array(Type.Ref('ApiToken')) }), ...problemResponses },
      },
    },
    async (request) => {
      requirePermission(request, 'orgs:manage');
      return { items: await tokens.list(null) };
    },
  );

  app.delete<{ Params: { tokenId: string } }>(
    '/v1/platform/tokens/:tokenId',
    {
      schema: {
        tags,
        summary: 'Revoke a platform-admin token (platform admin)',
        params: Type.Object({ tokenId: Id('tok') }),
        response: { 200: Type.Ref('ApiToken'), ...problemResponses },
      },
    },
    async (request) => {
      const principal = requirePermission(request, 'orgs:manage');
      return tokens.revoke(principal.actor, null, request.params.tokenId);
    },
  );
}
