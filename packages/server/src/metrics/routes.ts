import type { FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import { authorizeOrg } from '../http/authorize.js';
import { Id, problemResponses } from '../http/schemas.js';
import type { Services } from '../services.js';
import type { MetricScope } from './figures.js';
import { MAX_POINTS, type MetricsQuery, securityMetrics } from './metrics.js';

const Day = Type.String({ format: 'date', maxLength: 10, description: 'YYYY-MM-DD (UTC)' });

const Query = Type.Object(
  {
    from: Type.Optional({ ...Day, description: 'First day of the series (default: 90 days before `to`)' }),
    to: Type.Optional({ ...Day, description: 'Last day of the series (default: today)' }),
    bucket: Type.Optional(
      Type.Union([Type.Literal('day'), Type.Literal('week'), Type.Literal('month')], {
        description: `One point per day, week (from Monday) or month; at most ${MAX_POINTS} points`,
      }),
    ),
  },
  { additionalProperties: false },
);

const description =
  'Series over time of the devices on a supported release, on the newest security release and exposed to KEV entries, and time to fix and time to coverage (90 %, 100 %) by severity. Past days come from a daily snapshot, the last point is live. `rules` states how each figure is counted (docs/evidence.md "Patch and support metrics").';

/** Patch and support metrics over time per product and per brand (issue 21 §4). */
export function metricsRoutes(app: FastifyInstance, services: Services): void {
  const answer = async (
    org: string,
    request: Parameters<typeof authorizeOrg>[0],
    scope: MetricScope,
    query: MetricsQuery,
  ) => {
    const { orgId } = await authorizeOrg(request, services.orgs, org);
    return securityMetrics(services, orgId, scope, query);
  };

  app.get<{ Params: { org: string; productId: string }; Querystring: MetricsQuery }>(
    '/v1/orgs/:org/products/:productId/metrics',
    {
      schema: {
        'x-brickless-permission': 'fleet:read',
        tags: ['metrics'],
        summary: 'Patch and support metrics of a product over time',
        description,
        params: Type.Object({ org: Type.String({ maxLength: 100 }), productId: Id('prd') }),
        querystring: Query,
        response: { 200: Type.Object({}, { additionalProperties: true }), ...problemResponses },
      },
    },
    async (request) =>
      answer(request.params.org, request, { kind: 'product', id: request.params.productId }, request.query),
  );

  app.get<{ Params: { org: string; brandId: string }; Querystring: MetricsQuery }>(
    '/v1/orgs/:org/brands/:brandId/metrics',
    {
      schema: {
        'x-brickless-permission': 'fleet:read',
        tags: ['metrics'],
        summary: 'Patch and support metrics of a brand over time, across its products',
        description,
        params: Type.Object({ org: Type.String({ maxLength: 100 }), brandId: Id('brd') }),
        querystring: Query,
        response: { 200: Type.Object({}, { additionalProperties: true }), ...problemResponses },
      },
    },
    async (request) =>
      answer(request.params.org, request, { kind: 'brand', id: request.params.brandId }, request.query),
  );
}
