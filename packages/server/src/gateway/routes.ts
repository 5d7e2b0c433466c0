import type { FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import { authorizeOrg } from '../http/auth.js';
import { Id, IsoDateTime, Nullable, problemResponses } from '../http/schemas.js';
import type { Services } from '../services.js';

const Credential = Type.Object({
  id: Type.String(),
  deviceId: Type.String(),
  kind: Type.Literal('secret'),
  createdAt: IsoDateTime,
  revokedAt: Nullable(IsoDateTime),
});
const Params = Type.Object({ org: Type.String({ maxLength: 100 }), deviceId: Id('dev') });

export function credentialRoutes(
  app: FastifyInstance,
  { orgs, credentials }: Pick<Services, 'orgs' | 'credentials'>,
): void {
  const tags = ['devices'];

  app.post<{ Params: { org: string; deviceId: string } }>(
    '/v1/orgs/:org/devices/:deviceId/credentials',
    {
      schema: {
        tags,
        summary:
          'Issue the device a new secret (shown once); any previous one is revoked and its connection closed',
        params: Params,
        response: {
          201: Type.Object({
            secret: Type.String({
              description: 'the MQTT password and HTTP credential of the device; shown once',
            }),
            credential: Credential,
          }),
          ...problemResponses,
        },
      },
    },
    async (request, reply) => {
      const { orgId, principal } = await authorizeOrg(request, orgs, request.params.org, 'fleet:write');
      const issued = await credentials.issueSecret(principal.actor, orgId, request.params.deviceId);
      return reply.status(201).header('cache-control', 'no-store').send(issued);
    },
  );

  app.get<{ Params: { org: string; deviceId: string } }>(
    '/v1/orgs/:org/devices/:deviceId/credentials',
    {
      schema: {
        tags,
        summary: "List the device's credentials (never the secrets)",
        params: Params,
        response: { 200: Type.Object({ items: Type.Array(Credential) }), ...problemResponses },
      },
    },
    async (request) => {
      const { orgId } = await authorizeOrg(request, orgs, request.params.org, 'fleet:read');
      return { items: await credentials.list(orgId, request.params.deviceId) };
    },
  );

  app.delete<{ Params: { org: string; deviceId: string } }>(
    '/v1/orgs/:org/devices/:deviceId/credentials',
    {
      schema: {
        tags,
        summary: 'Revoke every credential of the device and disconnect it at once',
        params: Params,
        response: { 200: Type.Object({ revoked: Type.Integer() }), ...problemResponses },
      },
    },
    async (request) => {
      const { orgId, principal } = await authorizeOrg(request, orgs, request.params.org, 'fleet:write');
      return { revoked: await credentials.revokeAll(principal.actor, orgId, request.params.deviceId) };
    },
  );
}
