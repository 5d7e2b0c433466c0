import type { FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import { permissions } from '../access/roles.js';
import { Id, IsoDateTime, Nullable, problemResponses } from '../http/schemas.js';
import { me } from '../people/self.js';
import type { Services } from '../services.js';
import { PERSON_TYPES } from './inbox.js';
import { languages } from './texts.js';

const tags = ['notifications'];
/** A person's own notices: any signed-in person or their token, as the other /v1/me routes. */
const SELF = {
  'x-brickless-permission': 'person',
  'x-brickless-permission-note':
    'any signed-in person (or their token), on their own notices; no service token',
} as const;

const NotificationSchema = Type.Object({
  id: Type.String(),
  orgId: Type.String(),
  orgSlug: Type.String(),
  eventId: Type.String({ description: 'the outbound event (the same id a webhook delivery carries)' }),
  type: Type.String(),
  title: Type.String(),
  body: Type.String(),
  link: Nullable(Type.String({ description: 'the console page (when the server knows http.publicUrl)' })),
  createdAt: IsoDateTime,
  readAt: Nullable(IsoDateTime),
  email: Type.String({
    description:
      'the e-mail of this notice: pending (retrying), sent, failed, muted (preferences), off (no SMTP server configured)',
  }),
});

const EventTypeName = Type.Union(PERSON_TYPES.map((t) => Type.Literal(t.type)));
const Language = Type.Union(languages.map((l) => Type.Literal(l)));

const PreferencesSchema = Type.Object({
  language: Language,
  types: Type.Array(
    Type.Object({
      type: Type.String(),
      summary: Type.String(),
      audience: Type.Union(
        permissions.map((p) => Type.Literal(p)),
        {
          description: 'the permission whose holders are told (docs/roles.md)',
        },
      ),
      applies: Type.Boolean({
        description: 'whether the person holds that permission anywhere: without it nothing is sent',
      }),
      inbox: Type.Boolean(),
      email: Type.Boolean(),
    }),
  ),
});

/** What a person is told (issue 18 §4, docs/notifications.md): their inbox and preferences. */
export function notificationRoutes(app: FastifyInstance, services: Services): void {
  const { inbox } = services;

  app.get<{ Querystring: { unread?: boolean; limit?: number; cursor?: string } }>(
    '/v1/me/notifications',
    {
      schema: {
        ...SELF,
        tags,
        summary: 'The person’s notices, newest first (of the organisations they belong to now)',
        querystring: Type.Object(
          {
            unread: Type.Optional(Type.Boolean({ description: 'only the unread ones' })),
            limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 200, default: 50 })),
            cursor: Type.Optional(Id('ntf')),
          },
          { additionalProperties: false },
        ),
        response: {
          200: Type.Object({
            items: Type.Array(NotificationSchema),
            unread: Type.Integer({ minimum: 0, description: 'unread notices in all' }),
            nextCursor: Nullable(Type.String()),
          }),
          ...problemResponses,
        },
      },
    },
    async (request) => {
      const { personId } = me(request);
      const q = request.query;
      return inbox.list(personId, {
        ...(q.unread ? { unread: true } : {}),
        ...(q.limit ? { limit: q.limit } : {}),
        ...(q.cursor ? { before: q.cursor } : {}),
      });
    },
  );

  app.post<{ Params: { id: string } }>(
    '/v1/me/notifications/:id/read',
    {
      schema: {
        ...SELF,
        tags,
        summary: 'Mark one notice read',
        params: Type.Object({ id: Id('ntf') }),
        response: { 200: Type.Object({ id: Type.String(), readAt: IsoDateTime }), ...problemResponses },
      },
    },
    async (request) => inbox.read(me(request).personId, request.params.id),
  );

  app.post(
    '/v1/me/notifications/read-all',
    {
      schema: {
        ...SELF,
        tags,
        summary: 'Mark every notice read',
        response: { 200: Type.Object({ read: Type.Integer({ minimum: 0 }) }), ...problemResponses },
      },
    },
    async (request) => inbox.readAll(me(request).personId),
  );

  app.get(
    '/v1/me/notification-preferences',
    {
      schema: {
        ...SELF,
        tags,
        summary: 'What the person is told of, per event type, and in which language',
        description:
          'By default everyone holding the audience permission of a type in an organisation gets its notices in the inbox and by e-mail; preferences only mute.',
        response: { 200: PreferencesSchema, ...problemResponses },
      },
    },
    async (request) => inbox.preferences(me(request).personId),
  );

  app.put<{
    Body: { language?: string; types?: Array<{ type: string; inbox: boolean; email: boolean }> };
  }>(
    '/v1/me/notification-preferences',
    {
      schema: {
        ...SELF,
        tags,
        summary: 'Change the channels of some event types, or the language of notices',
        body: Type.Object(
          {
            language: Type.Optional(Language),
            types: Type.Optional(
              Type.Array(
                Type.Object(
                  { type: EventTypeName, inbox: Type.Boolean(), email: Type.Boolean() },
                  { additionalProperties: false },
                ),
                { maxItems: 50 },
              ),
            ),
          },
          { additionalProperties: false },
        ),
        response: { 200: PreferencesSchema, ...problemResponses },
      },
    },
    async (request) => {
      const { personId, actor } = me(request);
      return inbox.setPreferences(actor, personId, request.body);
    },
  );
}
