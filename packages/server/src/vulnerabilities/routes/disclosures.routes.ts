import type { FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import { authorizeOrg } from '../../http/authorize.js';
import { Id, IsoDateTime, PageQuery, problemResponses } from '../../http/schemas.js';
import type { Services } from '../../services.js';
import { MESSAGE_LIMITS } from '../disclosure-thread.js';
import { type DisclosureStatus, disclosureStatuses } from '../disclosures.js';

const Any = Type.Object({}, { additionalProperties: true });
const OrgParams = Type.Object({ org: Type.String({ maxLength: 100 }) });
const DisclosureParams = Type.Object({ org: Type.String({ maxLength: 100 }), disclosureId: Id('dsc') });
const Lit = (values: readonly string[]) => Type.Union(values.map((v) => Type.Literal(v)));

const DisclosureMessage = Type.Object(
  {
    id: Id('dsm'),
    disclosureId: Id('dsc'),
    from: Lit(['researcher', 'maker']),
    actor: Type.String({ description: 'who wrote it, as the audit log names them' }),
    message: Type.String(),
    sentAt: IsoDateTime,
  },
  { additionalProperties: false },
);

/** Disclosure reports from the public intake, and the exchange with each researcher: the maker's side. */
export function disclosureRoutes(app: FastifyInstance, services: Services): void {
  const { orgs, disclosures, disclosureThread } = services;
  const tags = ['vulnerabilities'];

  app.get<{
    Params: { org: string };
    Querystring: { status?: DisclosureStatus; limit?: number; cursor?: string };
  }>(
    '/v1/orgs/:org/disclosures',
    {
      schema: {
        'x-brickless-permission': 'security:write',
        tags,
        summary:
          'Vulnerability reports received through the public intake, newest first; paged when `limit` or `cursor` is given',
        params: OrgParams,
        querystring: Type.Object(
          {
            status: Type.Optional(Lit(disclosureStatuses)),
            ...PageQuery,
            limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500 })),
          },
          { additionalProperties: false },
        ),
        response: { 200: Any, ...problemResponses },
      },
    },
    async (request) => {
      const { orgId } = await authorizeOrg(request, orgs, request.params.org);
      const { status, limit, cursor } = request.query;
      if (limit === undefined && cursor === undefined)
        return { items: await disclosures.list(orgId, status), nextCursor: null };
      return disclosures.page(orgId, status, { limit: limit ?? 50, cursor });
    },
  );

  app.get<{ Params: { org: string; disclosureId: string } }>(
    '/v1/orgs/:org/disclosures/:disclosureId',
    {
      schema: {
        'x-brickless-permission': 'security:read',
        tags,
        summary: 'One vulnerability report: what the researcher sent, its status and public note',
        params: DisclosureParams,
        response: { 200: Any, ...problemResponses },
      },
    },
    async (request) => {
      const { orgId } = await authorizeOrg(request, orgs, request.params.org);
      return disclosures.get(orgId, request.params.disclosureId);
    },
  );

  app.patch<{
    Params: { org: string; disclosureId: string };
    Body: { status?: DisclosureStatus; publicNote?: string | null; vulnerabilityId?: string | null };
  }>(
    '/v1/orgs/:org/disclosures/:disclosureId',
    {
      schema: {
        'x-brickless-permission': 'security:write',
        tags,
        summary: "Move a report on; the status and public note are what the researcher's tracking link shows",
        params: DisclosureParams,
        body: Type.Object(
          {
            status: Type.Optional(Lit(disclosureStatuses)),
            publicNote: Type.Optional(Type.Union([Type.String({ maxLength: 5000 }), Type.Null()])),
            vulnerabilityId: Type.Optional(Type.Union([Type.String({ maxLength: 200 }), Type.Null()])),
          },
          { additionalProperties: false },
        ),
        response: { 200: Any, ...problemResponses },
      },
    },
    async (request) => {
      const { orgId, principal } = await authorizeOrg(request, orgs, request.params.org);
      return disclosures.update(principal.actor, orgId, request.params.disclosureId, request.body);
    },
  );

  // Issue 16 §6: those who read the audit log (security, auditor, admin) may read the exchange,
  // which the audit log records anyway; only the security role (security:write) writes in it.
  app.get<{ Params: { org: string; disclosureId: string } }>(
    '/v1/orgs/:org/disclosures/:disclosureId/messages',
    {
      schema: {
        'x-brickless-permission': 'audit:read',
        tags,
        summary: 'The messages exchanged with the researcher about a report, oldest first',
        params: DisclosureParams,
        response: {
          200: Type.Object({ items: Type.Array(DisclosureMessage) }, { additionalProperties: false }),
          ...problemResponses,
        },
      },
    },
    async (request) => {
      const { orgId } = await authorizeOrg(request, orgs, request.params.org);
      return { items: await disclosureThread.thread(orgId, request.params.disclosureId) };
    },
  );

  app.post<{ Params: { org: string; disclosureId: string }; Body: { message: string } }>(
    '/v1/orgs/:org/disclosures/:disclosureId/messages',
    {
      schema: {
        'x-brickless-permission': 'security:write',
        tags,
        summary: 'Write to the researcher: shown on their tracking link, kept with the report, audited',
        params: DisclosureParams,
        body: Type.Object(
          {
            message: Type.String({
              minLength: 1,
              description: `prose, at most ${MESSAGE_LIMITS.characters} characters`,
            }),
          },
          { additionalProperties: false },
        ),
        response: { 201: DisclosureMessage, ...problemResponses },
      },
    },
    async (request, reply) => {
      const { orgId, principal } = await authorizeOrg(request, orgs, request.params.org);
      const message = await disclosureThread.reply(
        principal.actor,
        orgId,
        request.params.disclosureId,
        request.body.message,
      );
      return reply.status(201).send(message);
    },
  );
}
