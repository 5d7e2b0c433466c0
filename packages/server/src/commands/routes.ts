import type { FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import { authorizeOrg } from '../http/authorize.js';
import { Id, IsoDateTime, Nullable, PageOf, PageQuery, problemResponses } from '../http/schemas.js';
import type { Services } from '../services.js';
import { type CommandStatus, commandStatuses, MAX_TTL_SECONDS, type SendCommand } from './service.js';

const Status = Type.Union(commandStatuses.map((s) => Type.Literal(s)));
const CommandSchema = Type.Object(
  {
    id: Type.String(),
    deviceId: Type.String(),
    name: Type.String(),
    params: Type.Unknown(),
    status: Status,
    idempotencyKey: Nullable(Type.String()),
    createdBy: Type.String(),
    createdAt: IsoDateTime,
    expiresAt: IsoDateTime,
    deliveredAt: Nullable(IsoDateTime),
    completedAt: Nullable(IsoDateTime),
    result: Type.Unknown(),
  },
  { $id: 'Command' },
);

export { CommandSchema };

const DeviceParams = Type.Object({ org: Type.String({ maxLength: 100 }), deviceId: Id('dev') });

export function commandRoutes(
  app: FastifyInstance,
  { orgs, commands }: Pick<Services, 'orgs' | 'commands'>,
): void {
  const tags = ['commands'];

  app.post<{ Params: { org: string; deviceId: string }; Body: SendCommand }>(
    '/v1/orgs/:org/devices/:deviceId/commands',
    {
      schema: {
        'x-brickless-permission': 'fleet:write',
        tags,
        summary: 'Send the device a command; queued until it is connected, at most ttlSeconds',
        description:
          'With an idempotencyKey, repeating the request returns the first command (200) instead of sending another.',
        params: DeviceParams,
        body: Type.Object(
          {
            name: Type.String({ minLength: 1, maxLength: 64 }),
            params: Type.Optional(Type.Unknown()),
            ttlSeconds: Type.Optional(Type.Integer({ minimum: 1, maximum: MAX_TTL_SECONDS, default: 3600 })),
            idempotencyKey: Type.Optional(Type.String({ minLength: 1, maxLength: 128 })),
          },
          { additionalProperties: false },
        ),
        response: { 200: Type.Ref('Command'), 201: Type.Ref('Command'), ...problemResponses },
      },
    },
    async (request, reply) => {
      const { orgId, principal } = await authorizeOrg(request, orgs, request.params.org);
      const { command, created } = await commands.send(
        principal.actor,
        orgId,
        request.params.deviceId,
        request.body,
      );
      return reply.status(created ? 201 : 200).send(command);
    },
  );

  app.get<{
    Params: { org: string; deviceId: string };
    Querystring: { limit?: number; cursor?: string; status?: CommandStatus; order?: 'asc' | 'desc' };
  }>(
    '/v1/orgs/:org/devices/:deviceId/commands',
    {
      schema: {
        'x-brickless-permission': 'fleet:read',
        tags,
        summary: "The device's commands, oldest first (order=desc: newest first)",
        params: DeviceParams,
        querystring: Type.Object(
          {
            ...PageQuery,
            status: Type.Optional(Status),
            order: Type.Optional(
              Type.Union([Type.Literal('asc'), Type.Literal('desc')], {
                description: 'asc (default): oldest first; desc: newest first',
              }),
            ),
          },
          { additionalProperties: false },
        ),
        response: { 200: PageOf(Type.Ref('Command')), ...problemResponses },
      },
    },
    async (request) => {
      const { orgId } = await authorizeOrg(request, orgs, request.params.org);
      const { limit = 50, cursor, status, order } = request.query;
      return commands.list(orgId, request.params.deviceId, { limit, cursor }, status, order);
    },
  );

  app.get<{ Params: { org: string; deviceId: string; commandId: string } }>(
    '/v1/orgs/:org/devices/:deviceId/commands/:commandId',
    {
      schema: {
        'x-brickless-permission': 'fleet:read',
        tags,
        summary: 'A command with its status and result',
        params: Type.Object({
          org: Type.String({ maxLength: 100 }),
          deviceId: Id('dev'),
          commandId: Id('cmd'),
        }),
        response: { 200: Type.Ref('Command'), ...problemResponses },
      },
    },
    async (request) => {
      const { orgId } = await authorizeOrg(request, orgs, request.params.org);
      return commands.get(orgId, request.params.deviceId, request.params.commandId);
    },
  );
}
