import type { FastifyInstance, FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import { DomainError } from '../errors.js';
import { Id, IsoDateTime, problemResponses } from '../http/schemas.js';
import type { Services } from '../services.js';
import { APP_SCOPES } from './scopes.js';

const owner = {
  'x-brickless-permission': 'owner' as const,
  security: [{ ownerSession: [] }],
  tags: ['owners'],
};

const GrantSchema = Type.Object({
  id: Type.String(),
  app: Type.Object({ id: Type.String(), name: Type.String() }),
  scopes: Type.Array(Type.Union(APP_SCOPES.map((s) => Type.Literal(s)))),
  createdAt: IsoDateTime,
  updatedAt: IsoDateTime,
});

const ownerIdOf = (request: FastifyRequest): string => {
  if (!request.owner) throw new DomainError('unauthenticated', 'sign in as a device owner first');
  return request.owner.ownerId;
};

/** An owner sees the apps they let act for them, and takes that back (issue 18 §2). In the owner scope. */
export function ownerAppRoutes(
  app: FastifyInstance,
  { authorization }: Pick<Services, 'authorization'>,
): void {
  app.get(
    '/v1/owner/apps',
    {
      schema: {
        ...owner,
        summary: 'The apps the owner allowed to act for them, with the scopes granted',
        response: { 200: Type.Object({ items: Type.Array(GrantSchema) }), ...problemResponses },
      },
    },
    async (request) => ({ items: await authorization.grants(ownerIdOf(request)) }),
  );

  app.delete<{ Params: { grantId: string } }>(
    '/v1/owner/apps/:grantId',
    {
      schema: {
        ...owner,
        summary: 'Take an app’s access back: its tokens end now, and it must ask again',
        params: Type.Object({ grantId: Id('grt') }),
        response: { 204: Type.Null(), ...problemResponses },
      },
    },
    async (request, reply) => {
      await authorization.revokeGrant(ownerIdOf(request), request.params.grantId);
      return reply.status(204).send();
    },
  );
}
