import type { FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import { DomainError } from '../errors.js';
import type { Services } from '../services.js';
import { ping } from '../store/db.js';

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
        summary: 'Readiness: the database answers',
        response: {
          200: Type.Object({ status: Type.Literal('ready'), database: Type.String() }),
          503: Type.Ref('Problem'),
        },
      },
    },
    async () => {
      try {
        await ping(store.db);
      } catch (error) {
        throw new DomainError('database-unreachable', `database not reachable: ${(error as Error).message}`);
      }
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
