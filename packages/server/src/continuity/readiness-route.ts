import type { FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import { authorizeOrg } from '../http/authorize.js';
import { problemResponses } from '../http/schemas.js';
import type { Services } from '../services.js';
import { buildAndRecord, readinessHistory, signReport } from './readiness-record.js';

const Options = Type.Object(
  {
    maxAgeHours: Type.Optional(
      Type.Integer({
        minimum: 1,
        maximum: 24 * 366,
        description: 'the agreed deposit interval; default: config escrow.intervalHours, else 24',
      }),
    ),
    drillMaxAgeDays: Type.Optional(
      Type.Integer({ minimum: 1, maximum: 3660, description: 'how old the last drill may be; default 90' }),
    ),
  },
  { additionalProperties: false },
);
type OptionsQuery = { maxAgeHours?: number; drillMaxAgeDays?: number };
const Params = Type.Object({ org: Type.String({ maxLength: 100 }) });
const options = (q: OptionsQuery) => ({
  ...(q.maxAgeHours !== undefined ? { maxDepositAgeHours: q.maxAgeHours } : {}),
  ...(q.drillMaxAgeDays !== undefined ? { maxDrillAgeDays: q.drillMaxAgeDays } : {}),
});

/**
 * The takeover readiness report (issue 21 §3, docs/evidence.md). `audit:read` like the
 * continuity overview: it reads the platform audit chain's deposits and drills. Each report built
 * is recorded in the organisation's chain (`continuity.readiness`), so reading one writes an audit
 * entry: that entry is the history an insurer reads the trend from.
 */
export function readinessRoutes(app: FastifyInstance, services: Services): void {
  app.get<{ Params: { org: string }; Querystring: OptionsQuery }>(
    '/v1/orgs/:org/continuity/readiness',
    {
      schema: {
        'x-brickless-permission': 'audit:read',
        tags: ['continuity'],
        summary:
          'Takeover readiness report: recovery point, last drill, escrow key in the TUF root, devices that can move, standard and custom parts, what a successor still needs, warnings; recorded for the history',
        params: Params,
        querystring: Options,
        response: { 200: Type.Object({}, { additionalProperties: true }), ...problemResponses },
      },
    },
    async (request) => {
      const { orgId, principal } = await authorizeOrg(request, services.orgs, request.params.org);
      return buildAndRecord(services, orgId, principal.actor, options(request.query));
    },
  );

  app.get<{ Params: { org: string }; Querystring: OptionsQuery }>(
    '/v1/orgs/:org/continuity/readiness/signed',
    {
      schema: {
        'x-brickless-permission': 'audit:read',
        tags: ['continuity'],
        summary:
          'The takeover readiness report as a ZIP with a manifest signed by the deposit key; verify offline with `brickless evidence verify`',
        params: Params,
        querystring: Options,
        response: {
          200: Type.String({ format: 'binary', description: 'application/zip' }),
          ...problemResponses,
        },
      },
    },
    async (request, reply) => {
      const { orgId, principal } = await authorizeOrg(request, services.orgs, request.params.org);
      const report = await buildAndRecord(services, orgId, principal.actor, options(request.query));
      const { archive } = signReport(services, report);
      const name = `readiness-${report.organization.slug}-${report.createdAt.slice(0, 10)}.zip`;
      return reply
        .type('application/zip')
        .header('content-disposition', `attachment; filename="${name}"`)
        .send(archive);
    },
  );

  app.get<{ Params: { org: string }; Querystring: { limit?: number } }>(
    '/v1/orgs/:org/continuity/readiness/history',
    {
      schema: {
        'x-brickless-permission': 'audit:read',
        tags: ['continuity'],
        summary: 'The headline figures of every readiness report built, newest first: the trend',
        params: Params,
        querystring: Type.Object(
          { limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500, default: 50 })) },
          { additionalProperties: false },
        ),
        response: {
          200: Type.Object({ items: Type.Array(Type.Object({}, { additionalProperties: true })) }),
          ...problemResponses,
        },
      },
    },
    async (request) => {
      const { orgId } = await authorizeOrg(request, services.orgs, request.params.org);
      return { items: await readinessHistory(services, orgId, request.query.limit ?? 50) };
    },
  );
}
