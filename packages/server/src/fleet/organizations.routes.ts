import type { FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import { principalOf } from '../http/auth.js';
import { authorizeOrg, requirePermission } from '../http/authorize.js';
import { IsoDateTime, Name, Nullable, PageOf, PageQuery, problemResponses, Slug } from '../http/schemas.js';
import type { Services } from '../services.js';

export const OrganizationSchema = Type.Object(
  {
    id: Type.String(),
    slug: Type.String(),
    name: Type.String(),
    securityContact: Nullable(Type.String()),
    securityPolicy: Nullable(Type.String()),
    createdAt: IsoDateTime,
    updatedAt: IsoDateTime,
  },
  { $id: 'Organization' },
);
const OrgParams = Type.Object({
  org: Type.String({ maxLength: 100, description: 'organisation id or slug' }),
});

export function organizationRoutes(app: FastifyInstance, { orgs }: Pick<Services, 'orgs'>): void {
  const tags = ['organisations'];

  app.post<{ Body: { slug: string; name: string } }>(
    '/v1/orgs',
    {
      schema: {
        'x-brickless-permission': 'orgs:manage',
        tags,
        summary: 'Create an organisation (platform admin)',
        body: Type.Object({ slug: Slug, name: Name }, { additionalProperties: false }),
        response: { 201: Type.Ref('Organization'), ...problemResponses },
      },
    },
    async (request, reply) => {
      const principal = requirePermission(request);
      const org = await orgs.create(principal.actor, request.body);
      return reply.status(201).header('location', `/v1/orgs/${org.id}`).send(org);
    },
  );

  app.get<{ Querystring: { limit?: number; cursor?: string } }>(
    '/v1/orgs',
    {
      schema: {
        'x-brickless-permission': 'authenticated',
        tags,
        summary: 'List organisations (a platform admin sees all, anyone else their own)',
        querystring: Type.Object(PageQuery, { additionalProperties: false }),
        response: { 200: PageOf(Type.Ref('Organization')), ...problemResponses },
      },
    },
    async (request) => {
      const principal = principalOf(request);
      if (!principal.platformAdmin) {
        const own = await Promise.all([...principal.memberships.keys()].sort().map((id) => orgs.get(id)));
        return { items: own, nextCursor: null };
      }
      return orgs.list({ limit: request.query.limit ?? 50, cursor: request.query.cursor });
    },
  );

  app.get<{ Params: { org: string } }>(
    '/v1/orgs/:org',
    {
      schema: {
        'x-brickless-permission': 'fleet:read',
        tags,
        summary: 'Get an organisation',
        params: OrgParams,
        response: { 200: Type.Ref('Organization'), ...problemResponses },
      },
    },
    async (request) => {
      const { orgId } = await authorizeOrg(request, orgs, request.params.org);
      return orgs.get(orgId);
    },
  );

  app.patch<{ Params: { org: string }; Body: { name?: string } }>(
    '/v1/orgs/:org',
    {
      schema: {
        'x-brickless-permission': 'orgs:manage',
        tags,
        summary: 'Rename an organisation (platform admin)',
        params: OrgParams,
        body: Type.Object({ name: Type.Optional(Name) }, { additionalProperties: false }),
        response: { 200: Type.Ref('Organization'), ...problemResponses },
      },
    },
    async (request) => {
      const { orgId, principal } = await authorizeOrg(request, orgs, request.params.org);
      return orgs.update(principal.actor, orgId, request.body);
    },
  );

  app.put<{
    Params: { org: string };
    Body: { securityContact: string | null; securityPolicy: string | null };
  }>(
    '/v1/orgs/:org/security-contact',
    {
      schema: {
        'x-brickless-permission': 'security:write',
        tags,
        summary:
          'Set where security reports go and the disclosure policy (published in security.txt and CSAF)',
        params: OrgParams,
        body: Type.Object(
          {
            securityContact: Nullable(Type.String({ pattern: '^(mailto:|https://|tel:)', maxLength: 500 })),
            securityPolicy: Nullable(Type.String({ pattern: '^https://', maxLength: 500 })),
          },
          { additionalProperties: false },
        ),
        response: { 200: Type.Ref('Organization'), ...problemResponses },
      },
    },
    async (request) => {
      const { orgId, principal } = await authorizeOrg(request, orgs, request.params.org);
      return orgs.setSecurityContact(principal.actor, orgId, request.body);
    },
  );

  app.delete<{ Params: { org: string } }>(
    '/v1/orgs/:org',
    {
      schema: {
        'x-brickless-permission': 'orgs:manage',
        tags,
        summary: 'Delete an empty organisation (platform admin)',
        params: OrgParams,
        response: { 204: Type.Null(), ...problemResponses },
      },
    },
    async (request, reply) => {
      const { orgId, principal } = await authorizeOrg(request, orgs, request.params.org);
      await orgs.delete(principal.actor, orgId);
      return reply.status(204).send();
    },
  );
}
