import type { FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import { authorizeOrg } from '../http/authorize.js';
import {
  Id,
  IsoDate,
  IsoDateTime,
  Name,
  Nullable,
  PageOf,
  PageQuery,
  problemResponses,
  Warning,
} from '../http/schemas.js';
import type { Services } from '../services.js';
import {
  type CreateProduct,
  MAX_PRODUCT_MESSAGE_BYTES,
  MAX_RETENTION_DAYS,
  MIN_PRODUCT_MESSAGE_BYTES,
  type ProductWithWarnings,
  type UpdateProduct,
} from './products.js';

const ProductLimitsSchema = Type.Object(
  {
    maxMessageBytes: Type.Optional(
      Type.Integer({
        minimum: MIN_PRODUCT_MESSAGE_BYTES,
        maximum: MAX_PRODUCT_MESSAGE_BYTES,
        description:
          'Largest payload, in bytes, a device of this product may publish after CONNECT; larger messages get an error reply and are not stored (docs/protocol.md, "Limits"). Absent: the gateway\'s global limit, which also caps this one.',
      }),
    ),
  },
  { additionalProperties: false },
);

const RetentionDays = Nullable(Type.Integer({ minimum: 1, maximum: MAX_RETENTION_DAYS }));
const ProductRetentionSchema = Type.Object(
  {
    telemetryDays: RetentionDays,
    commandDays: RetentionDays,
  },
  {
    additionalProperties: false,
    description:
      "Days this product's data is kept (docs/data-rights.md): telemetryDays for readings and device events (the server-wide telemetry.retentionDays still applies when shorter), commandDays for command history; null keeps it. A daily job deletes what is older.",
  },
);

export const ProductSchema = Type.Object(
  {
    id: Type.String(),
    orgId: Type.String(),
    modelNumber: Type.String(),
    name: Type.String(),
    hardwareRevision: Type.String(),
    placedOnMarket: Nullable(Type.String()),
    supportEnds: Type.String(),
    brandIds: Type.Array(Type.String()),
    capabilities: Type.Ref('CapabilityModel'),
    limits: ProductLimitsSchema,
    retention: ProductRetentionSchema,
    createdAt: IsoDateTime,
    updatedAt: IsoDateTime,
    warnings: Type.Array(Warning, { description: 'e.g. a support period under five years (CRA Art. 13(8))' }),
  },
  { $id: 'Product' },
);

const ProductFields = {
  modelNumber: Type.String({ ...Name, maxLength: 100 }),
  name: Name,
  hardwareRevision: Type.String({ ...Name, maxLength: 100 }),
  placedOnMarket: Type.Optional(Nullable(IsoDate)),
  supportEnds: IsoDate,
  brandIds: Type.Optional(Type.Array(Id('brd'), { maxItems: 1000 })),
  capabilities: Type.Optional(Type.Ref('CapabilityModel')),
  limits: Type.Optional(ProductLimitsSchema),
  retention: Type.Optional(Type.Partial(ProductRetentionSchema, { additionalProperties: false })),
};
const Params = Type.Object({ org: Type.String({ maxLength: 100 }), productId: Id('prd') });
const OrgParams = Type.Object({ org: Type.String({ maxLength: 100 }) });

const withWarnings = ({ product, warnings }: ProductWithWarnings) => ({ ...product, warnings });

export function productRoutes(
  app: FastifyInstance,
  { orgs, products }: Pick<Services, 'orgs' | 'products'>,
): void {
  const tags = ['products'];

  app.post<{ Params: { org: string }; Body: CreateProduct }>(
    '/v1/orgs/:org/products',
    {
      schema: {
        'x-brickless-permission': 'fleet:write',
        tags,
        summary: 'Create a product with its support period and capability model',
        params: OrgParams,
        body: Type.Object(ProductFields, { additionalProperties: false }),
        response: { 201: Type.Ref('Product'), ...problemResponses },
      },
    },
    async (request, reply) => {
      const { orgId, principal } = await authorizeOrg(request, orgs, request.params.org);
      const created = await products.create(principal.actor, orgId, request.body);
      return reply
        .status(201)
        .header('location', `/v1/orgs/${orgId}/products/${created.product.id}`)
        .send(withWarnings(created));
    },
  );

  app.get<{
    Params: { org: string };
    Querystring: { limit?: number; cursor?: string; modelNumber?: string; brandId?: string };
  }>(
    '/v1/orgs/:org/products',
    {
      schema: {
        'x-brickless-permission': 'fleet:read',
        tags,
        summary: 'List products',
        params: OrgParams,
        querystring: Type.Object(
          {
            ...PageQuery,
            modelNumber: Type.Optional(Type.String({ maxLength: 100 })),
            brandId: Type.Optional(Id('brd')),
          },
          { additionalProperties: false },
        ),
        response: { 200: PageOf(Type.Ref('Product')), ...problemResponses },
      },
    },
    async (request) => {
      const { orgId } = await authorizeOrg(request, orgs, request.params.org);
      const { limit = 50, cursor, ...filter } = request.query;
      const page = await products.list(orgId, { limit, cursor }, filter);
      return {
        ...page,
        items: page.items.map((product) => ({ ...product, warnings: products.warnings(product) })),
      };
    },
  );

  app.get<{ Params: { org: string; productId: string } }>(
    '/v1/orgs/:org/products/:productId',
    {
      schema: {
        'x-brickless-permission': 'fleet:read',
        tags,
        summary: 'Get a product',
        params: Params,
        response: { 200: Type.Ref('Product'), ...problemResponses },
      },
    },
    async (request) => {
      const { orgId } = await authorizeOrg(request, orgs, request.params.org);
      return withWarnings(await products.getWithWarnings(orgId, request.params.productId));
    },
  );

  app.patch<{ Params: { org: string; productId: string }; Body: UpdateProduct }>(
    '/v1/orgs/:org/products/:productId',
    {
      schema: {
        'x-brickless-permission': 'fleet:write',
        tags,
        summary: 'Update a product',
        params: Params,
        body: Type.Partial(Type.Object(ProductFields), { additionalProperties: false }),
        response: { 200: Type.Ref('Product'), ...problemResponses },
      },
    },
    async (request) => {
      const { orgId, principal } = await authorizeOrg(request, orgs, request.params.org);
      return withWarnings(
        await products.update(principal.actor, orgId, request.params.productId, request.body),
      );
    },
  );

  app.delete<{ Params: { org: string; productId: string } }>(
    '/v1/orgs/:org/products/:productId',
    {
      schema: {
        'x-brickless-permission': 'fleet:write',
        tags,
        summary: 'Delete a product that has no devices',
        params: Params,
        response: { 204: Type.Null(), ...problemResponses },
      },
    },
    async (request, reply) => {
      const { orgId, principal } = await authorizeOrg(request, orgs, request.params.org);
      await products.delete(principal.actor, orgId, request.params.productId);
      return reply.status(204).send();
    },
  );
}
