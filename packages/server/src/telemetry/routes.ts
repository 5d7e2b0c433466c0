import type { FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import { DomainError } from '../errors.js';
import { authorizeOrg } from '../http/authorize.js';
import { Id, IsoDateTime, Nullable, problemResponses } from '../http/schemas.js';
import type { Services } from '../services.js';

const units: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** `30s`, `5m`, `1h`, `1d` → milliseconds. */
export function parseDuration(text: string): number {
  const match = /^(\d+)(ms|s|m|h|d)$/.exec(text);
  const value = match ? Number(match[1]) * (units[match[2] as string] ?? 0) : 0;
  if (!match || value <= 0) {
    throw new DomainError('validation-failed', '/bucket: a duration such as 30s, 5m, 1h or 1d', [
      { field: '/bucket', message: 'a duration such as 30s, 5m, 1h or 1d' },
    ]);
  }
  return value;
}

/** A telemetry series, raw or aggregated (also the app API's answer, apps/app-api.routes.ts). */
export const SeriesSchema = Type.Object({
  field: Type.String(),
  bucketMs: Nullable(Type.Integer()),
  points: Type.Array(
    Type.Object({
      time: IsoDateTime,
      value: Type.Optional(Type.Union([Type.Number(), Type.Boolean(), Type.String()])),
      min: Type.Optional(Nullable(Type.Number())),
      max: Type.Optional(Nullable(Type.Number())),
      avg: Type.Optional(Nullable(Type.Number())),
      count: Type.Optional(Type.Integer()),
    }),
  ),
});

/** The query of a series (also the app API's). */
export interface Query {
  field: string;
  from?: string;
  to?: string;
  bucket?: string;
  limit?: number;
}

export const SeriesQuery = Type.Object(
  {
    field: Type.String({ minLength: 1, maxLength: 64 }),
    from: Type.Optional(IsoDateTime),
    to: Type.Optional(IsoDateTime),
    bucket: Type.Optional(
      Type.String({ maxLength: 16, description: 'aggregate per bucket: 30s, 5m, 1h, 1d' }),
    ),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 10_000, default: 1000 })),
  },
  { additionalProperties: false },
);

/** One series for the staff API and the app API alike. */
export async function readSeries(
  telemetry: Services['telemetry'],
  orgId: string,
  deviceId: string,
  query: Query,
) {
  const { field, from, to, bucket, limit = 1000 } = query;
  const bucketMs = bucket ? parseDuration(bucket) : undefined;
  const points = await telemetry.series(orgId, deviceId, {
    field,
    limit,
    ...(from ? { from } : {}),
    ...(to ? { to } : {}),
    ...(bucketMs ? { bucketMs } : {}),
  });
  return { field, bucketMs: bucketMs ?? null, points };
}

export function telemetryRoutes(
  app: FastifyInstance,
  { orgs, telemetry }: Pick<Services, 'orgs' | 'telemetry'>,
): void {
  app.get<{ Params: { org: string; deviceId: string }; Querystring: Query }>(
    '/v1/orgs/:org/devices/:deviceId/telemetry',
    {
      schema: {
        'x-brickless-permission': 'fleet:read',
        tags: ['telemetry'],
        summary: "A device's readings of one field over a time range, raw or aggregated per bucket",
        params: Type.Object({ org: Type.String({ maxLength: 100 }), deviceId: Id('dev') }),
        querystring: SeriesQuery,
        response: {
          200: SeriesSchema,
          ...problemResponses,
        },
      },
    },
    async (request) => {
      const { orgId } = await authorizeOrg(request, orgs, request.params.org);
      return readSeries(telemetry, orgId, request.params.deviceId, request.query);
    },
  );
}
