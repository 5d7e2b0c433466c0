import type { FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import { authorizeOrg } from '../http/authorize.js';
import { Id, Nullable, PageOf, PageQuery, problemResponses } from '../http/schemas.js';
import { EVENT_TYPES } from '../notifications/catalogue.js';
import type { Services } from '../services.js';
import { DELIVERY_STATUSES, type DeliveryStatus } from './service.js';
import { MAX_URL_LENGTH } from './targets.js';

const tags = ['webhooks'];
const permission = 'webhooks:manage';
const OrgParams = Type.Object({ org: Type.String({ maxLength: 100 }) });
const WebhookParams = Type.Object({ org: Type.String({ maxLength: 100 }), webhookId: Id('whk') });
const DeliveryParams = Type.Object({ org: Type.String({ maxLength: 100 }), deliveryId: Id('whd') });

const EventTypeSchema = Type.Union(
  EVENT_TYPES.map((t) => Type.Literal(t.type)),
  { description: 'an event type of the catalogue (docs/webhooks.md)' },
);
const Url = Type.String({
  minLength: 8,
  maxLength: MAX_URL_LENGTH,
  description:
    'https URL of the receiver; loopback and private addresses are refused unless webhooks.allowPrivateTargets is true (which also allows http)',
});
const Events = Type.Array(EventTypeSchema, { minItems: 1, maxItems: EVENT_TYPES.length });

const WebhookSchema = Type.Object({
  id: Type.String(),
  url: Type.String(),
  events: Type.Array(Type.String()),
  enabled: Type.Boolean(),
  createdBy: Type.String(),
  createdAt: Type.String(),
  updatedAt: Type.String(),
});
const WithSecret = Type.Intersect([
  WebhookSchema,
  Type.Object({
    secret: Type.String({
      description: 'the whsec_ signing secret: shown this once, keep it in the receiver',
    }),
  }),
]);
const DeliverySchema = Type.Object({
  id: Type.String(),
  webhookId: Type.String(),
  eventId: Type.String({ description: 'the webhook-id header of every attempt' }),
  eventType: Type.String(),
  status: Type.Union(DELIVERY_STATUSES.map((s) => Type.Literal(s))),
  attempts: Type.Integer(),
  nextAttemptAt: Nullable(Type.String()),
  lastAttemptAt: Nullable(Type.String()),
  lastResponseStatus: Nullable(Type.Integer()),
  lastError: Nullable(Type.String()),
  lastResponseExcerpt: Nullable(Type.String({ description: 'at most 256 characters of the last answer' })),
  createdAt: Type.String(),
  updatedAt: Type.String(),
});

/** An organisation's webhooks (issue 18 §5, docs/webhooks.md); all under `webhooks:manage`. */
export function webhookRoutes(app: FastifyInstance, services: Services): void {
  const { orgs, webhooks } = services;

  app.post<{ Params: { org: string }; Body: { url: string; events: string[]; enabled?: boolean } }>(
    '/v1/orgs/:org/webhooks',
    {
      schema: {
        'x-brickless-permission': permission,
        tags,
        summary: 'Create a webhook; the answer holds its whsec_ secret, shown this once',
        description:
          'The URL is resolved and checked now (https, public addresses only) and again before every delivery.',
        params: OrgParams,
        body: Type.Object(
          { url: Url, events: Events, enabled: Type.Optional(Type.Boolean()) },
          { additionalProperties: false },
        ),
        response: { 201: WithSecret, ...problemResponses },
      },
    },
    async (request, reply) => {
      const { orgId, principal } = await authorizeOrg(request, orgs, request.params.org);
      const made = await webhooks.create(principal.actor, orgId, request.body);
      return reply.status(201).header('location', `/v1/orgs/${orgId}/webhooks/${made.id}`).send(made);
    },
  );

  app.get<{ Params: { org: string } }>(
    '/v1/orgs/:org/webhooks',
    {
      schema: {
        'x-brickless-permission': permission,
        tags,
        summary: "The organisation's webhooks (never their secrets)",
        params: OrgParams,
        response: { 200: Type.Object({ items: Type.Array(WebhookSchema) }), ...problemResponses },
      },
    },
    async (request) => {
      const { orgId } = await authorizeOrg(request, orgs, request.params.org);
      return { items: await webhooks.list(orgId) };
    },
  );

  app.get<{ Params: { org: string; webhookId: string } }>(
    '/v1/orgs/:org/webhooks/:webhookId',
    {
      schema: {
        'x-brickless-permission': permission,
        tags,
        summary: 'One webhook (never its secret)',
        params: WebhookParams,
        response: { 200: WebhookSchema, ...problemResponses },
      },
    },
    async (request) => {
      const { orgId } = await authorizeOrg(request, orgs, request.params.org);
      return webhooks.get(orgId, request.params.webhookId);
    },
  );

  app.patch<{
    Params: { org: string; webhookId: string };
    Body: { url?: string; events?: string[]; enabled?: boolean };
  }>(
    '/v1/orgs/:org/webhooks/:webhookId',
    {
      schema: {
        'x-brickless-permission': permission,
        tags,
        summary: "Change a webhook's URL, event types or whether it is enabled",
        description:
          'A disabled webhook gets no new deliveries; its pending ones wait until it is enabled again.',
        params: WebhookParams,
        body: Type.Object(
          { url: Type.Optional(Url), events: Type.Optional(Events), enabled: Type.Optional(Type.Boolean()) },
          { additionalProperties: false },
        ),
        response: { 200: WebhookSchema, ...problemResponses },
      },
    },
    async (request) => {
      const { orgId, principal } = await authorizeOrg(request, orgs, request.params.org);
      return webhooks.update(principal.actor, orgId, request.params.webhookId, request.body);
    },
  );

  app.delete<{ Params: { org: string; webhookId: string } }>(
    '/v1/orgs/:org/webhooks/:webhookId',
    {
      schema: {
        'x-brickless-permission': permission,
        tags,
        summary: 'Delete a webhook and its delivery log',
        params: WebhookParams,
        response: { 204: Type.Null(), ...problemResponses },
      },
    },
    async (request, reply) => {
      const { orgId, principal } = await authorizeOrg(request, orgs, request.params.org);
      await webhooks.remove(principal.actor, orgId, request.params.webhookId);
      return reply.status(204).send();
    },
  );

  app.post<{ Params: { org: string; webhookId: string } }>(
    '/v1/orgs/:org/webhooks/:webhookId/rotate-secret',
    {
      schema: {
        'x-brickless-permission': permission,
        tags,
        summary: 'Replace the signing secret; the new one is in the answer, shown this once',
        description: 'The old secret stops signing at once: put the new one in the receiver right away.',
        params: WebhookParams,
        response: { 200: WithSecret, ...problemResponses },
      },
    },
    async (request) => {
      const { orgId, principal } = await authorizeOrg(request, orgs, request.params.org);
      return webhooks.rotateSecret(principal.actor, orgId, request.params.webhookId);
    },
  );

  app.post<{ Params: { org: string; webhookId: string } }>(
    '/v1/orgs/:org/webhooks/:webhookId/test',
    {
      schema: {
        'x-brickless-permission': permission,
        tags,
        summary: 'Send a signed webhook.test event to this webhook now; the answer is its delivery',
        description:
          'The event goes to this webhook only. A failed attempt is retried on the schedule like any delivery.',
        params: WebhookParams,
        response: { 200: DeliverySchema, ...problemResponses },
      },
    },
    async (request) => {
      const { orgId, principal } = await authorizeOrg(request, orgs, request.params.org);
      return webhooks.test(principal.actor, orgId, request.params.webhookId);
    },
  );

  app.get<{
    Params: { org: string; webhookId: string };
    Querystring: { status?: DeliveryStatus; limit?: number; cursor?: string };
  }>(
    '/v1/orgs/:org/webhooks/:webhookId/deliveries',
    {
      schema: {
        'x-brickless-permission': permission,
        tags,
        summary: "A webhook's delivery log, newest first; status=dead is the dead-letter list",
        params: WebhookParams,
        querystring: Type.Object({
          status: Type.Optional(Type.Union(DELIVERY_STATUSES.map((s) => Type.Literal(s)))),
          ...PageQuery,
        }),
        response: { 200: PageOf(DeliverySchema), ...problemResponses },
      },
    },
    async (request) => {
      const { orgId } = await authorizeOrg(request, orgs, request.params.org);
      const { status, limit, cursor } = request.query;
      return webhooks.deliveries(orgId, request.params.webhookId, {
        limit: limit ?? 50,
        ...(status ? { status } : {}),
        ...(cursor ? { cursor } : {}),
      });
    },
  );

  app.post<{ Params: { org: string; deliveryId: string } }>(
    '/v1/orgs/:org/webhook-deliveries/:deliveryId/replay',
    {
      schema: {
        'x-brickless-permission': permission,
        tags,
        summary: 'Send a delivery again now (dead or not), with the same webhook-id',
        description: 'A failed replay starts the retry schedule over.',
        params: DeliveryParams,
        response: { 200: DeliverySchema, ...problemResponses },
      },
    },
    async (request) => {
      const { orgId, principal } = await authorizeOrg(request, orgs, request.params.org);
      return webhooks.replay(principal.actor, orgId, request.params.deliveryId);
    },
  );
}
