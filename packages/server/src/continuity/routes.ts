import type { FastifyInstance, FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import { notFound } from '../errors.js';
import { authorizeOrg } from '../http/auth.js';
import { Nullable, problemResponses } from '../http/schemas.js';
import type { Services } from '../services.js';

const OrgParams = Type.Object({ org: Type.String({ maxLength: 100 }) });
const Json = Type.Object({}, { additionalProperties: true });
const Published = Type.Object({
  version: Type.Integer(),
  mode: Type.Union([Type.Literal('cloud'), Type.Literal('local')]),
  products: Nullable(Type.Array(Type.String())),
  record: Json,
  createdAt: Type.String(),
  createdBy: Type.String(),
});
const Status = Type.Object({
  current: Nullable(Published),
  devices: Type.Object({
    total: Type.Integer(),
    arrived: Type.Integer(),
    movedAway: Type.Integer(),
    local: Type.Integer(),
    refused: Type.Integer(),
    pending: Type.Integer(),
  }),
  share: Type.Number(),
});

/**
 * Endpoint records over the admin API: publish one (signed offline by the root keys' threshold,
 * which may be the escrow key), list them, and follow the migration (docs/continuity.md).
 */
export function endpointRoutes(app: FastifyInstance, { orgs, endpoints }: Services): void {
  const tags = ['continuity'];

  app.post<{ Params: { org: string }; Body: Record<string, unknown> }>(
    '/v1/orgs/:org/endpoint-records',
    {
      schema: {
        tags,
        summary:
          'Publish a signed endpoint record (handover or sunset): checked against the current TUF root, pushed to connected devices',
        params: OrgParams,
        body: Json,
        response: { 201: Published, ...problemResponses },
      },
    },
    async (request, reply) => {
      const { orgId, principal } = await authorizeOrg(request, orgs, request.params.org, 'updates:manage');
      return reply.status(201).send(await endpoints.publish(principal.actor, orgId, request.body));
    },
  );

  app.get<{ Params: { org: string } }>(
    '/v1/orgs/:org/endpoint-records',
    {
      schema: {
        tags,
        summary: 'Published endpoint records, newest first',
        params: OrgParams,
        response: { 200: Type.Object({ items: Type.Array(Published) }), ...problemResponses },
      },
    },
    async (request) => {
      const { orgId } = await authorizeOrg(request, orgs, request.params.org, 'fleet:read');
      return { items: await endpoints.list(orgId) };
    },
  );

  app.get<{ Params: { org: string } }>(
    '/v1/orgs/:org/handover',
    {
      schema: {
        tags,
        summary:
          'Migration progress under the current endpoint record: devices arrived, moved away, local, pending',
        params: OrgParams,
        response: { 200: Status, ...problemResponses },
      },
    },
    async (request) => {
      const { orgId } = await authorizeOrg(request, orgs, request.params.org, 'fleet:read');
      return endpoints.status(orgId);
    },
  );
}

/**
 * The current endpoint record where a device that was offline finds it without credentials: it is
 * signed, so the transport needs no trust (the device checks the signatures against its TUF root,
 * as TUF clients treat their mirrors). `?product=` picks a product's record.
 */
export function publicEndpointRoutes(
  app: FastifyInstance,
  { orgs, endpoints, publicOrganization }: Services,
): void {
  const schema = (summary: string) => ({
    tags: ['public'],
    summary,
    querystring: Type.Object(
      { product: Type.Optional(Type.String({ maxLength: 100 })) },
      { additionalProperties: false },
    ),
  });
  const send = async (
    slug: string | null,
    request: FastifyRequest<{ Querystring: { product?: string } }>,
  ) => {
    let org = slug ? await orgs.find(slug) : null;
    if (!slug) {
      const list = publicOrganization ? null : await orgs.list({ limit: 2 });
      org = publicOrganization
        ? await orgs.find(publicOrganization)
        : list?.items.length === 1
          ? (list.items[0] ?? null)
          : null;
    }
    if (!org) throw notFound('organisation', slug ?? '(publication.organization)');
    const record = await endpoints.forProduct(org.id, request.query.product ?? null);
    if (!record) throw notFound('endpoint record', org.slug);
    return record.record;
  };
  app.get<{ Querystring: { product?: string } }>(
    '/.well-known/brickless/endpoint.json',
    {
      schema: schema(
        'The current signed endpoint record of publication.organization (or the only organisation)',
      ),
    },
    async (request) => send(null, request),
  );
  app.get<{ Params: { org: string }; Querystring: { product?: string } }>(
    '/public/orgs/:org/endpoint.json',
    { schema: { ...schema("An organisation's current signed endpoint record"), params: OrgParams } },
    async (request) => send(request.params.org, request),
  );
}
