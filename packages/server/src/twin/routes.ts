import type { FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import { authorizeOrg } from '../http/authorize.js';
import { Id, IsoDateTime, Nullable, problemResponses } from '../http/schemas.js';
import type { Services } from '../services.js';
import type { StateDocument } from './service.js';

const Doc = Type.Record(Type.String(), Type.Unknown());
export const TwinSchema = Type.Object({
  deviceId: Type.String(),
  desired: Doc,
  desiredVersion: Type.Integer(),
  reported: Doc,
  reportedVersion: Type.Integer(),
  delta: Doc,
  updatedAt: Nullable(IsoDateTime),
});
const Params = Type.Object({ org: Type.String({ maxLength: 100 }), deviceId: Id('dev') });

export function twinRoutes(app: FastifyInstance, { orgs, twins }: Pick<Services, 'orgs' | 'twins'>): void {
  const tags = ['state'];
  app.get<{ Params: { org: string; deviceId: string } }>(
    '/v1/orgs/:org/devices/:deviceId/state',
    {
      schema: {
        'x-brickless-permission': 'fleet:read',
        tags,
        summary: "The device's desired and reported state, their versions, and the delta still to apply",
        params: Params,
        response: { 200: TwinSchema, ...problemResponses },
      },
    },
    async (request) => {
      const { orgId } = await authorizeOrg(request, orgs, request.params.org);
      return twins.get(orgId, request.params.deviceId);
    },
  );

  app.patch<{ Params: { org: string; deviceId: string }; Body: { version: number; desired: StateDocument } }>(
    '/v1/orgs/:org/devices/:deviceId/state',
    {
      schema: {
        'x-brickless-permission': 'fleet:write',
        tags,
        summary:
          'Change desired state (null removes a key); 409 when version is not the current desiredVersion',
        params: Params,
        body: Type.Object(
          {
            version: Type.Integer({ minimum: 0, description: 'the desiredVersion this change is based on' }),
            desired: Type.Record(Type.String({ maxLength: 64 }), Type.Unknown(), { maxProperties: 256 }),
          },
          { additionalProperties: false },
        ),
        response: { 200: TwinSchema, ...problemResponses },
      },
    },
    async (request) => {
      const { orgId, principal } = await authorizeOrg(request, orgs, request.params.org);
      return twins.setDesired(
        principal.actor,
        orgId,
        request.params.deviceId,
        request.body.version,
        request.body.desired,
      );
    },
  );
}
