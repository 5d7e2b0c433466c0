import { hostname } from 'node:os';
import type { FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import type { Services } from '../services.js';
import { probeWrite } from '../store/db.js';

/**
 * How long /readyz waits for its committed write. Under 2 s so that a probe with a 2 s timeout
 * (a load balancer's, Kubernetes') gets a 503 rather than a timeout while the database is away.
 */
export const READINESS_DEADLINE_MS = 1500;

export function healthRoutes(
  app: FastifyInstance,
  { store, metrics }: Pick<Services, 'store' | 'metrics'>,
): void {
  const tags = ['operations'];
  app.get(
    '/healthz',
    {
      schema: {
        tags,
        security: [],
        summary: 'Liveness: the process answers',
        response: { 200: Type.Object({ status: Type.Literal('ok') }) },
      },
    },
    async () => ({ status: 'ok' as const }),
  );

  app.get(
    '/readyz',
    {
      schema: {
        tags,
        security: [],
        summary: 'Readiness: the database commits a write within 1.5 s',
        response: {
          200: Type.Object({ status: Type.Literal('ready'), database: Type.String() }),
          503: Type.Ref('Problem'),
        },
      },
    },
    async () => {
      // Throws database-unreachable (503, problem+json) when the write fails or is too slow.
      await probeWrite(store, hostname(), READINESS_DEADLINE_MS);
      return { status: 'ready' as const, database: store.dialect };
    },
  );

  app.get(
    '/metrics',
    {
      schema: {
        tags,
        security: [],
        summary: 'Prometheus metrics (no tenant data)',
        produces: ['text/plain'],
      },
    },
    async (_request, reply) => {
      reply.type(metrics.registry.contentType);
      return metrics.registry.metrics();
    },
  );
}
