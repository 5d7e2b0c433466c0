import type { FastifyInstance, FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import { Id, IsoDateTime, Nullable, problemResponses } from '../http/schemas.js';
import type { Services } from '../services.js';
import { ownerNoticeKinds } from './catalogue.js';
import { markAllNoticesRead, markNoticeRead, noticesForOwner } from './service.js';

const tags = ['owners'];
const owner = { 'x-brickless-permission': 'owner' as const, security: [{ ownerSession: [] }], tags };
const Kind = Type.Union(ownerNoticeKinds.map((k) => Type.Literal(k)));

export const OwnerNoticeSchema = Type.Object({
  id: Type.String(),
  kind: Kind,
  productId: Type.String(),
  deviceId: Nullable(Type.String()),
  language: Type.String(),
  title: Type.String(),
  body: Type.String(),
  data: Type.Record(Type.String(), Type.Unknown(), {
    description: 'the facts behind the text: dates, versions, links',
  }),
  createdAt: IsoDateTime,
  readAt: Nullable(IsoDateTime),
  email: Type.String({ description: 'pending, sending, sent, failed, off or muted' }),
});

export const OwnerNoticeQuery = Type.Object(
  {
    unread: Type.Optional(Type.Boolean({ description: 'only the unread ones' })),
    kind: Type.Optional(Kind),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 200, default: 50 })),
    cursor: Type.Optional(Id('onx')),
  },
  { additionalProperties: false },
);

export const OwnerNoticePageSchema = Type.Object({
  items: Type.Array(OwnerNoticeSchema),
  unread: Type.Integer({ minimum: 0, description: 'unread notices in all' }),
  nextCursor: Nullable(Type.String()),
});

/**
 * What owners are told (issue 18 §3; CRA Annex II, ETSI EN 303 645 5.3-13): their notices, newest
 * first, and marking them read. Registered inside the owner scope (owner session and CSRF).
 */
export function ownerNoticeRoutes(
  app: FastifyInstance,
  services: Pick<Services, 'store' | 'clock'>,
  ownerOf: (request: FastifyRequest) => { ownerId: string },
): void {
  const db = services.store.db;
  app.get<{
    Querystring: {
      unread?: boolean;
      kind?: (typeof ownerNoticeKinds)[number];
      limit?: number;
      cursor?: string;
    };
  }>(
    '/v1/owner/notices',
    {
      schema: {
        ...owner,
        summary: 'The owner’s notices, newest first, with the number unread',
        description:
          'Support period, updates available and installed, the end of support ahead, a sunset with local mode and the data export. Each was also sent by e-mail.',
        querystring: OwnerNoticeQuery,
        response: { 200: OwnerNoticePageSchema, ...problemResponses },
      },
    },
    async (request) => {
      const q = request.query;
      return noticesForOwner(db, ownerOf(request).ownerId, {
        ...(q.unread ? { unread: true } : {}),
        ...(q.kind ? { kind: q.kind } : {}),
        ...(q.limit ? { limit: q.limit } : {}),
        ...(q.cursor ? { before: q.cursor } : {}),
      });
    },
  );

  app.post<{ Params: { id: string } }>(
    '/v1/owner/notices/:id/read',
    {
      schema: {
        ...owner,
        summary: 'Mark one notice read (another owner’s is 404)',
        params: Type.Object({ id: Id('onx') }),
        response: { 200: Type.Object({ id: Type.String(), readAt: IsoDateTime }), ...problemResponses },
      },
    },
    async (request) => markNoticeRead(db, services.clock, ownerOf(request).ownerId, request.params.id),
  );

  app.post(
    '/v1/owner/notices/read-all',
    {
      schema: {
        ...owner,
        summary: 'Mark every notice read',
        response: { 200: Type.Object({ read: Type.Integer({ minimum: 0 }) }), ...problemResponses },
      },
    },
    async (request) => markAllNoticesRead(db, services.clock, ownerOf(request).ownerId),
  );
}
