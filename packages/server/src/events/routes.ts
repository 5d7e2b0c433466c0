import type { FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import { authorizeOrg } from '../http/authorize.js';
import { Id, IsoDateTime, PageOf, PageQuery, problemResponses } from '../http/schemas.js';
import type { Services } from '../services.js';

export const StoredEvent = Type.Object({
  id: Type.String(),
  deviceId: Type.String(),
  name: Type.String(),
  severity: Type.Union([Type.Literal('info'), Type.Literal('warning'), Type.Literal('critical')]),
  time: IsoDateTime,
  data: Type.Unknown(),
  receivedAt: IsoDateTime,
});

interface Query {
  limit?: number;
  cursor?: string;
  name?: string;
  severity?: string;
  from?: string;
  to?: string;
}

export function eventRoutes(app: FastifyInstance, { orgs, events }: Pick<Services, 'orgs' | 'events'>): void {
  app.get<{ Params: { org: string; deviceId: string }; Querystring: Query }>(
    '/v1/orgs/:org/devices/:deviceId/events',
    {
      schema: {
        'x-brickless-permission': 'fleet:read',
        tags: ['telemetry'],
        summary: "A device's events, newest first, by name, severity and time range",
        params: Type.Object({ org: Type.String({ maxLength: 100 }), deviceId: Id('dev') }),
        querystring: Type.Object(
          {
            ...PageQuery,
            name: Type.Optional(Type.String({ maxLength: 64 })),
            severity: Type.Optional(
              Type.Union([Type.Literal('info'), Type.Literal('warning'), Type.Literal('critical')]),
            ),
            from: Type.Optional(IsoDateTime),
            to: Type.Optional(IsoDateTime),
          },
          { additionalProperties: false },
        ),
        response: { 200: PageOf(StoredEvent), ...problemResponses },
      },
    },
    async (request) => {
      const { orgId } = await authorizeOrg(request, orgs, request.params.org);
      const { limit = 50, ...rest } = request.query;
      return events.list(orgId, request.params.deviceId, { limit, ...rest });
    },
  );
}
