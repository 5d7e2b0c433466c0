import type { FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import { authorizeOrg } from '../http/authorize.js';
import { Id, IsoDateTime, Name, PageOf, PageQuery, problemResponses } from '../http/schemas.js';
import type { Services } from '../services.js';
import type { CreateBrand, UpdateBrand } from './brands.js';

export const BrandSchema = Type.Object(
  {
    id: Type.String(),
    orgId: Type.String(),
    name: Type.String(),
    responsibleParty: Type.String(),
    securityContact: Type.String(),
    createdAt: IsoDateTime,
    updatedAt: IsoDateTime,
  },
  { $id: 'Brand' },
);

const Contact = Type.String({
  minLength: 3,
  maxLength: 300,
  pattern: '^(mailto:|https://|tel:)[^\\s]+$',
  description: 'a URI where vulnerability reports reach the brand: mailto:, https: or tel:',
});
const BrandFields = {
  name: Name,
  responsibleParty: Type.String({
    ...Name,
    description: 'the legal entity responsible for products sold under the brand',
  }),
  securityContact: Contact,
};
const Params = Type.Object({ org: Type.String({ maxLength: 100 }), brandId: Id('brd') });
const OrgParams = Type.Object({ org: Type.String({ maxLength: 100 }) });

export function brandRoutes(app: FastifyInstance, { orgs, brands }: Pick<Services, 'orgs' | 'brands'>): void {
  const tags = ['brands'];

  app.post<{ Params: { org: string }; Body: CreateBrand }>(
    '/v1/orgs/:org/brands',
    {
      schema: {
        'x-brickless-permission': 'fleet:write',
        tags,
        summary: 'Create a brand',
        params: OrgParams,
        body: Type.Object(BrandFields, { additionalProperties: false }),
        response: { 201: Type.Ref('Brand'), ...problemResponses },
      },
    },
    async (request, reply) => {
      const { orgId, principal } = await authorizeOrg(request, orgs, request.params.org);
      const brand = await brands.create(principal.actor, orgId, request.body);
      return reply.status(201).header('location', `/v1/orgs/${orgId}/brands/${brand.id}`).send(brand);
    },
  );

  app.get<{ Params: { org: string }; Querystring: { limit?: number; cursor?: string; name?: string } }>(
    '/v1/orgs/:org/brands',
    {
      schema: {
        'x-brickless-permission': 'fleet:read',
        tags,
        summary: 'List brands',
        params: OrgParams,
        querystring: Type.Object(
          { ...PageQuery, name: Type.Optional(Name) },
          { additionalProperties: false },
        ),
        response: { 200: PageOf(Type.Ref('Brand')), ...problemResponses },
      },
    },
    async (request) => {
      const { orgId } = await authorizeOrg(request, orgs, request.params.org);
      const { limit = 50, cursor, name } = request.query;
      return brands.list(orgId, { limit, cursor }, name ? { name } : {});
    },
  );

  app.get<{ Params: { org: string; brandId: string } }>(
    '/v1/orgs/:org/brands/:brandId',
    {
      schema: {
        'x-brickless-permission': 'fleet:read',
        tags,
        summary: 'Get a brand',
        params: Params,
        response: { 200: Type.Ref('Brand'), ...problemResponses },
      },
    },
    async (request) => {
      const { orgId } = await authorizeOrg(request, orgs, request.params.org);
      return brands.get(orgId, request.params.brandId);
    },
  );

  app.patch<{ Params: { org: string; brandId: string }; Body: UpdateBrand }>(
    '/v1/orgs/:org/brands/:brandId',
    {
      schema: {
        'x-brickless-permission': 'fleet:write',
        tags,
        summary: 'Update a brand',
        params: Params,
        body: Type.Partial(Type.Object(BrandFields), { additionalProperties: false }),
        response: { 200: Type.Ref('Brand'), ...problemResponses },
      },
    },
    async (request) => {
      const { orgId, principal } = await authorizeOrg(request, orgs, request.params.org);
      return brands.update(principal.actor, orgId, request.params.brandId, request.body);
    },
  );

  app.delete<{ Params: { org: string; brandId: string } }>(
    '/v1/orgs/:org/brands/:brandId',
    {
      schema: {
        'x-brickless-permission': 'fleet:write',
        tags,
        summary: 'Delete a brand no product or device uses',
        params: Params,
        response: { 204: Type.Null(), ...problemResponses },
      },
    },
    async (request, reply) => {
      const { orgId, principal } = await authorizeOrg(request, orgs, request.params.org);
      await brands.delete(principal.actor, orgId, request.params.brandId);
      return reply.status(204).send();
    },
  );
}
