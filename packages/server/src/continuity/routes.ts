import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import { notFound } from '../errors.js';
import { authorizeOrg } from '../http/authorize.js';
import { Nullable, problemResponses } from '../http/schemas.js';
import type { Services } from '../services.js';
import { escapeHtml, PAGE_CSP, page } from '../vulnerabilities/routes/html.js';

const OrgParams = Type.Object({ org: Type.String({ maxLength: 100 }) });
const Json = Type.Object({}, { additionalProperties: true });
const Published = Type.Object({
  version: Type.Integer(),
  mode: Type.Union([Type.Literal('cloud'), Type.Literal('local')]),
  products: Nullable(Type.Array(Type.String())),
  notice: Nullable(Type.Object({ message: Type.String() })),
  record: Json,
  createdAt: Type.String(),
  createdBy: Type.String(),
});
/** The handover state of an organisation (also part of the continuity overview). */
export const HandoverStatusSchema = Type.Object({
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
export function endpointRoutes(app: FastifyInstance, { orgs, endpoints, publicUrl }: Services): void {
  const tags = ['continuity'];

  app.post<{ Params: { org: string }; Body: Record<string, unknown> }>(
    '/v1/orgs/:org/endpoint-records',
    {
      schema: {
        'x-brickless-permission': 'updates:manage',
        tags,
        summary:
          'Publish a signed endpoint record (handover or sunset): checked against the current TUF root, pushed to connected devices',
        params: OrgParams,
        body: Json,
        response: { 201: Published, ...problemResponses },
      },
    },
    async (request, reply) => {
      const { orgId, principal } = await authorizeOrg(request, orgs, request.params.org);
      return reply.status(201).send(await endpoints.publish(principal.actor, orgId, request.body));
    },
  );

  app.post<{
    Params: { org: string; productId: string };
    Body: { record: Record<string, unknown>; message: string };
  }>(
    '/v1/orgs/:org/products/:productId/sunset',
    {
      schema: {
        'x-brickless-permission': 'updates:manage',
        tags,
        summary:
          'Sunset a product: a signed local-mode record for its devices and the end-of-support notice (CRA Art. 13(23)), published together',
        params: Type.Object({
          org: Type.String({ maxLength: 100 }),
          productId: Type.String({ maxLength: 100 }),
        }),
        body: Type.Object(
          { record: Json, message: Type.String({ minLength: 1, maxLength: 20_000 }) },
          { additionalProperties: false },
        ),
        response: {
          201: Type.Object({ published: Published, noticeUrl: Type.String() }),
          ...problemResponses,
        },
      },
    },
    async (request, reply) => {
      const { orgId, principal } = await authorizeOrg(request, orgs, request.params.org);
      const org = await orgs.get(orgId);
      const published = await endpoints.sunset(
        principal.actor,
        orgId,
        request.params.productId,
        request.body.record,
        request.body.message,
      );
      return reply.status(201).send({
        published,
        noticeUrl: `${publicUrl ?? `${request.protocol}://${request.host}`}/public/orgs/${encodeURIComponent(org.slug)}/products/${encodeURIComponent(request.params.productId)}/end-of-support`,
      });
    },
  );

  app.get<{ Params: { org: string } }>(
    '/v1/orgs/:org/endpoint-records',
    {
      schema: {
        'x-brickless-permission': 'fleet:read',
        tags,
        summary: 'Published endpoint records, newest first',
        params: OrgParams,
        response: { 200: Type.Object({ items: Type.Array(Published) }), ...problemResponses },
      },
    },
    async (request) => {
      const { orgId } = await authorizeOrg(request, orgs, request.params.org);
      return { items: await endpoints.list(orgId) };
    },
  );

  app.get<{ Params: { org: string } }>(
    '/v1/orgs/:org/handover',
    {
      schema: {
        'x-brickless-permission': 'fleet:read',
        tags,
        summary:
          'Migration progress under the current endpoint record: devices arrived, moved away, local, pending',
        params: OrgParams,
        response: { 200: HandoverStatusSchema, ...problemResponses },
      },
    },
    async (request) => {
      const { orgId } = await authorizeOrg(request, orgs, request.params.org);
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

const LOCAL_API_DOC = fileURLToPath(new URL('../../../../docs/local-mode.md', import.meta.url));

/**
 * The end-of-support notice of a sunset product (CRA Art. 13(23): users are told when a maker
 * stops), as JSON or as a page, and the local API documents owners need from then on.
 */
export function publicSunsetRoutes(app: FastifyInstance, { orgs, products, endpoints }: Services): void {
  app.get(
    '/public/docs/local-mode.md',
    { schema: { tags: ['public'], summary: 'The local mode API: topics, payloads, Home Assistant' } },
    async (_request, reply) =>
      reply.type('text/markdown; charset=utf-8').send(readFileSync(LOCAL_API_DOC, 'utf8')),
  );
  app.get<{ Params: { org: string; productId: string } }>(
    '/public/orgs/:org/products/:productId/end-of-support',
    {
      schema: {
        tags: ['public'],
        summary: 'End-of-support notice of a sunset product (CRA Art. 13(23)): JSON, or HTML for browsers',
        params: Type.Object({
          org: Type.String({ maxLength: 100 }),
          productId: Type.String({ maxLength: 100 }),
        }),
      },
    },
    async (request, reply) => {
      const org = await orgs.find(request.params.org);
      if (!org) throw notFound('organisation', request.params.org);
      const product = await products.get(org.id, request.params.productId).catch(() => null);
      const record = product ? await endpoints.forProduct(org.id, product.id) : null;
      if (!product || !record || record.mode !== 'local' || !record.notice)
        throw notFound('end-of-support notice', request.params.productId);
      const base = `${request.protocol}://${request.host}`;
      const notice = {
        organization: { name: org.name, slug: org.slug },
        product: {
          id: product.id,
          name: product.name,
          modelNumber: product.modelNumber,
          hardwareRevision: product.hardwareRevision,
          supportEnds: product.supportEnds,
        },
        effective: record.record.signed.issued,
        message: record.notice.message,
        localMode: {
          recordVersion: record.version,
          documentation: `${base}/public/docs/local-mode.md`,
          record: `${base}/public/orgs/${encodeURIComponent(org.slug)}/endpoint.json?product=${encodeURIComponent(product.id)}`,
        },
      };
      if (!(request.headers.accept ?? '').includes('text/html')) return notice;
      const title = `End of support: ${product.name} (${product.modelNumber})`;
      return reply
        .type('text/html; charset=utf-8')
        .header('content-security-policy', PAGE_CSP)
        .send(
          page(
            title,
            `<h1>${escapeHtml(title)}</h1>
<p class="muted">${escapeHtml(org.name)} · hardware revision ${escapeHtml(product.hardwareRevision)} · effective ${escapeHtml(notice.effective.slice(0, 10))}</p>
<p style="white-space:pre-wrap">${escapeHtml(notice.message)}</p>
<h2>What your device does now</h2>
<p>It has switched to local mode: it no longer depends on any cloud service. It keeps working on your own network,
connects to your MQTT broker with your own credentials, and Home Assistant finds it by itself (MQTT discovery).
Security updates from ${escapeHtml(org.name)} end with this notice.</p>
<p><a href="${escapeHtml(notice.localMode.documentation)}">Local mode API</a> ·
<a href="${escapeHtml(notice.localMode.record)}">signed endpoint record</a></p>`,
          ),
        );
    },
  );
}
