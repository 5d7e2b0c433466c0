import type { FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import { authorizeOrg } from '../../http/authorize.js';
import { Id, IsoDateTime, problemResponses } from '../../http/schemas.js';
import type { Services } from '../../services.js';
import { type ReportStage, reportStages } from '../report-clock.js';

const Any = Type.Object({}, { additionalProperties: true });
const OrgParams = Type.Object({ org: Type.String({ maxLength: 100 }) });
const CaseParams = Type.Object({ org: Type.String({ maxLength: 100 }), caseId: Id('rpc') });
const Lit = (values: readonly string[]) => Type.Union(values.map((v) => Type.Literal(v)));
const Details = {
  memberStates: Type.Optional(Type.Array(Type.String({ pattern: '^[A-Z]{2}$' }), { maxItems: 30 })),
  natureOfExploitation: Type.Optional(Type.String({ maxLength: 5000 })),
  mitigations: Type.Optional(Type.String({ maxLength: 5000 })),
  suspectedMalicious: Type.Optional(Type.Boolean()),
  description: Type.Optional(Type.String({ maxLength: 20_000 })),
};

/** CRA Art. 14 report cases and CSAF advisories: the maker's side (disclosures.routes.ts: reports). */
export function caseRoutes(app: FastifyInstance, services: Services): void {
  const { orgs, reportCases, advisories } = services;
  const tags = ['vulnerabilities'];

  app.get<{
    Params: { org: string };
    Querystring: { status?: 'open' | 'closed'; due?: 'overdue' | 'upcoming'; withinHours?: number };
  }>(
    '/v1/orgs/:org/report-cases',
    {
      schema: {
        'x-brickless-permission': 'fleet:read',
        tags,
        summary: 'CRA Art. 14 report cases with their deadlines; `due=overdue` or `due=upcoming`',
        params: OrgParams,
        querystring: Type.Object(
          {
            status: Type.Optional(Lit(['open', 'closed'])),
            due: Type.Optional(Lit(['overdue', 'upcoming'])),
            withinHours: Type.Optional(Type.Integer({ minimum: 1, maximum: 24 * 60 })),
          },
          { additionalProperties: false },
        ),
        response: { 200: Any, ...problemResponses },
      },
    },
    async (request) => {
      const { orgId } = await authorizeOrg(request, orgs, request.params.org);
      return { items: await reportCases.list(orgId, request.query) };
    },
  );

  app.post<{
    Params: { org: string };
    Body: { productId: string; title: string; awareAt?: string } & Record<string, unknown>;
  }>(
    '/v1/orgs/:org/report-cases',
    {
      schema: {
        'x-brickless-permission': 'security:write',
        tags,
        summary:
          'Open a case for a severe incident having an impact on the security of a product (Art. 14(3))',
        params: OrgParams,
        body: Type.Object(
          {
            productId: Id('prd'),
            title: Type.String({ minLength: 1, maxLength: 500 }),
            awareAt: Type.Optional(IsoDateTime),
            ...Details,
          },
          { additionalProperties: false },
        ),
        response: { 201: Any, ...problemResponses },
      },
    },
    async (request, reply) => {
      const { orgId, principal } = await authorizeOrg(request, orgs, request.params.org);
      const { productId, title, awareAt, ...details } = request.body;
      return reply.status(201).send(
        await reportCases.openIncident(principal.actor, orgId, {
          productId,
          title,
          ...(awareAt ? { awareAt } : {}),
          details,
        }),
      );
    },
  );

  app.get<{ Params: { org: string; caseId: string } }>(
    '/v1/orgs/:org/report-cases/:caseId',
    {
      schema: {
        'x-brickless-permission': 'fleet:read',
        tags,
        summary: 'A report case: clocks per stage and every submission',
        params: CaseParams,
        response: { 200: Any, ...problemResponses },
      },
    },
    async (request) => {
      const { orgId } = await authorizeOrg(request, orgs, request.params.org);
      return reportCases.get(orgId, request.params.caseId);
    },
  );

  app.patch<{
    Params: { org: string; caseId: string };
    Body: { correctiveAvailableAt?: string; status?: 'open' | 'closed' } & Record<string, unknown>;
  }>(
    '/v1/orgs/:org/report-cases/:caseId',
    {
      schema: {
        'x-brickless-permission': 'security:write',
        tags,
        summary:
          'Add details (Member States, nature, mitigations), set when a corrective measure became available, or close',
        params: CaseParams,
        body: Type.Object(
          {
            correctiveAvailableAt: Type.Optional(IsoDateTime),
            status: Type.Optional(Lit(['open', 'closed'])),
            ...Details,
          },
          { additionalProperties: false },
        ),
        response: { 200: Any, ...problemResponses },
      },
    },
    async (request) => {
      const { orgId, principal } = await authorizeOrg(request, orgs, request.params.org);
      const { correctiveAvailableAt, status, ...details } = request.body;
      return reportCases.update(principal.actor, orgId, request.params.caseId, {
        ...(correctiveAvailableAt ? { correctiveAvailableAt } : {}),
        ...(status ? { status } : {}),
        ...(Object.keys(details).length ? { details } : {}),
      });
    },
  );

  app.get<{ Params: { org: string; caseId: string }; Querystring: { stage: ReportStage } }>(
    '/v1/orgs/:org/report-cases/:caseId/draft',
    {
      schema: {
        'x-brickless-permission': 'fleet:read',
        tags,
        summary: 'A draft of the early warning, notification or final report, filled from the fleet',
        params: CaseParams,
        querystring: Type.Object({ stage: Lit(reportStages) }, { additionalProperties: false }),
        response: { 200: Any, ...problemResponses },
      },
    },
    async (request) => {
      const { orgId } = await authorizeOrg(request, orgs, request.params.org);
      return reportCases.draft(orgId, request.params.caseId, request.query.stage);
    },
  );

  app.post<{
    Params: { org: string; caseId: string };
    Body: {
      stage: ReportStage;
      reference?: string;
      document?: Record<string, unknown>;
      submittedAt?: string;
    };
  }>(
    '/v1/orgs/:org/report-cases/:caseId/submissions',
    {
      schema: {
        'x-brickless-permission': 'security:write',
        tags,
        summary: 'Record that a stage was submitted (who and when are taken from the token and the clock)',
        params: CaseParams,
        body: Type.Object(
          {
            stage: Lit(reportStages),
            reference: Type.Optional(Type.String({ maxLength: 500 })),
            document: Type.Optional(Any),
            submittedAt: Type.Optional(IsoDateTime),
          },
          { additionalProperties: false },
        ),
        response: { 201: Any, ...problemResponses },
      },
    },
    async (request, reply) => {
      const { orgId, principal } = await authorizeOrg(request, orgs, request.params.org);
      return reply
        .status(201)
        .send(await reportCases.submit(principal.actor, orgId, request.params.caseId, request.body));
    },
  );

  const AdvParams = Type.Object({ org: Type.String({ maxLength: 100 }), advisoryId: Id('adv') });

  app.post<{
    Params: { org: string };
    Body: { vulnerabilities: string[]; productIds?: string[]; title?: string; trackingId?: string };
  }>(
    '/v1/orgs/:org/advisories',
    {
      schema: {
        'x-brickless-permission': 'security:write',
        tags,
        summary: 'Create a CSAF 2.0 security advisory (draft) from triage and fix data',
        params: OrgParams,
        body: Type.Object(
          {
            vulnerabilities: Type.Array(Type.String({ minLength: 3, maxLength: 200 }), {
              minItems: 1,
              maxItems: 100,
            }),
            productIds: Type.Optional(Type.Array(Id('prd'), { maxItems: 100 })),
            title: Type.Optional(Type.String({ minLength: 1, maxLength: 300 })),
            trackingId: Type.Optional(Type.String({ minLength: 1, maxLength: 100 })),
          },
          { additionalProperties: false },
        ),
        response: { 201: Any, ...problemResponses },
      },
    },
    async (request, reply) => {
      const { orgId, principal } = await authorizeOrg(request, orgs, request.params.org);
      return reply.status(201).send(await advisories.create(principal.actor, orgId, request.body));
    },
  );

  app.get<{ Params: { org: string } }>(
    '/v1/orgs/:org/advisories',
    {
      schema: {
        'x-brickless-permission': 'fleet:read',
        tags,
        summary: 'Advisories, newest first',
        params: OrgParams,
        response: { 200: Any, ...problemResponses },
      },
    },
    async (request) => {
      const { orgId } = await authorizeOrg(request, orgs, request.params.org);
      return { items: await advisories.list(orgId) };
    },
  );

  app.get<{ Params: { org: string; advisoryId: string } }>(
    '/v1/orgs/:org/advisories/:advisoryId',
    {
      schema: {
        'x-brickless-permission': 'fleet:read',
        tags,
        summary: 'An advisory with its CSAF document (a draft is rendered from the current triage)',
        params: AdvParams,
        response: { 200: Any, ...problemResponses },
      },
    },
    async (request) => {
      const { orgId } = await authorizeOrg(request, orgs, request.params.org);
      return advisories.get(orgId, request.params.advisoryId);
    },
  );

  app.post<{ Params: { org: string; advisoryId: string }; Body: { summary?: string } }>(
    '/v1/orgs/:org/advisories/:advisoryId/publish',
    {
      schema: {
        'x-brickless-permission': 'security:write',
        tags,
        summary: 'Validate (BSI csaf-validator-lib) and publish, or republish as a new revision',
        params: AdvParams,
        body: Type.Object(
          { summary: Type.Optional(Type.String({ minLength: 1, maxLength: 1000 })) },
          { additionalProperties: false },
        ),
        response: { 200: Any, ...problemResponses },
      },
    },
    async (request) => {
      const { orgId, principal } = await authorizeOrg(request, orgs, request.params.org);
      return advisories.publish(principal.actor, orgId, request.params.advisoryId, request.body);
    },
  );
}
