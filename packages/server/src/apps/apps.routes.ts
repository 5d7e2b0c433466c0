import type { FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import { authorizeOrg } from '../http/authorize.js';
import { Id, IsoDateTime, Name, Nullable, problemResponses } from '../http/schemas.js';
import type { Services } from '../services.js';
import { type AppInput, CLIENT_TYPES, MAX_REDIRECT_URIS } from './registry.js';
import { APP_SCOPES } from './scopes.js';

const tags = ['apps'];
const Scope = Type.Union(APP_SCOPES.map((s) => Type.Literal(s)));
const RedirectUris = Type.Array(Type.String({ minLength: 1, maxLength: 2000 }), {
  minItems: 1,
  maxItems: MAX_REDIRECT_URIS,
  description:
    'exact match; https, http only to 127.0.0.1 or [::1] (native apps, any port), or a reverse-domain scheme (com.example.app:/cb)',
});
const Scopes = Type.Array(Scope, { minItems: 1, maxItems: APP_SCOPES.length });

export const AppSchema = Type.Object({
  id: Type.String(),
  clientId: Type.String({ description: 'the OAuth client_id (the app’s id)' }),
  name: Type.String(),
  clientType: Type.Union(CLIENT_TYPES.map((c) => Type.Literal(c))),
  redirectUris: Type.Array(Type.String()),
  scopes: Type.Array(Scope),
  createdBy: Type.String(),
  createdAt: IsoDateTime,
  updatedAt: IsoDateTime,
  secretRotatedAt: Nullable(IsoDateTime),
});
const WithSecret = Type.Object({
  app: AppSchema,
  clientSecret: Nullable(Type.String({ description: 'confidential apps: shown once, stored as a hash' })),
});
const OrgParams = Type.Object({ org: Type.String({ maxLength: 100 }) });
const AppParams = Type.Object({ org: Type.String({ maxLength: 100 }), appId: Id('app') });

/** The maker registers the apps (OAuth clients) that may act for owners (issue 18 §2). */
export function appRoutes(app: FastifyInstance, { orgs, apps }: Pick<Services, 'orgs' | 'apps'>): void {
  app.post<{ Params: { org: string }; Body: AppInput }>(
    '/v1/orgs/:org/apps',
    {
      schema: {
        'x-brickless-permission': 'apps:manage',
        tags,
        summary: 'Register an app (an OAuth client); a confidential app’s secret is shown once',
        params: OrgParams,
        body: Type.Object(
          {
            name: Name,
            clientType: Type.Union(
              CLIENT_TYPES.map((c) => Type.Literal(c)),
              {
                description:
                  'public: mobile or single-page app, PKCE only; confidential: a web server with a secret',
              },
            ),
            redirectUris: RedirectUris,
            scopes: Scopes,
          },
          { additionalProperties: false },
        ),
        response: { 201: WithSecret, ...problemResponses },
      },
    },
    async (request, reply) => {
      const { orgId, principal } = await authorizeOrg(request, orgs, request.params.org);
      const created = await apps.create(principal.actor, orgId, request.body);
      return reply.status(201).send(created);
    },
  );

  app.get<{ Params: { org: string } }>(
    '/v1/orgs/:org/apps',
    {
      schema: {
        'x-brickless-permission': 'apps:read',
        tags,
        summary: 'The organisation’s apps (never their secrets)',
        params: OrgParams,
        response: { 200: Type.Object({ items: Type.Array(AppSchema) }), ...problemResponses },
      },
    },
    async (request) => {
      const { orgId } = await authorizeOrg(request, orgs, request.params.org);
      return { items: await apps.list(orgId) };
    },
  );

  app.get<{ Params: { org: string; appId: string } }>(
    '/v1/orgs/:org/apps/:appId',
    {
      schema: {
        'x-brickless-permission': 'apps:read',
        tags,
        summary: 'One app',
        params: AppParams,
        response: { 200: AppSchema, ...problemResponses },
      },
    },
    async (request) => {
      const { orgId } = await authorizeOrg(request, orgs, request.params.org);
      return apps.get(orgId, request.params.appId);
    },
  );

  app.patch<{
    Params: { org: string; appId: string };
    Body: { name?: string; redirectUris?: string[]; scopes?: string[] };
  }>(
    '/v1/orgs/:org/apps/:appId',
    {
      schema: {
        'x-brickless-permission': 'apps:manage',
        tags,
        summary:
          'Change an app’s name, redirect URIs or scopes (fewer scopes narrow what owners granted, tokens included)',
        params: AppParams,
        body: Type.Object(
          {
            name: Type.Optional(Name),
            redirectUris: Type.Optional(RedirectUris),
            scopes: Type.Optional(Scopes),
          },
          { additionalProperties: false },
        ),
        response: { 200: AppSchema, ...problemResponses },
      },
    },
    async (request) => {
      const { orgId, principal } = await authorizeOrg(request, orgs, request.params.org);
      return apps.update(principal.actor, orgId, request.params.appId, request.body);
    },
  );

  app.delete<{ Params: { org: string; appId: string } }>(
    '/v1/orgs/:org/apps/:appId',
    {
      schema: {
        'x-brickless-permission': 'apps:manage',
        tags,
        summary: 'Delete an app: every grant and token of it ends',
        params: AppParams,
        response: { 204: Type.Null(), ...problemResponses },
      },
    },
    async (request, reply) => {
      const { orgId, principal } = await authorizeOrg(request, orgs, request.params.org);
      await apps.delete(principal.actor, orgId, request.params.appId);
      return reply.status(204).send();
    },
  );

  app.post<{ Params: { org: string; appId: string } }>(
    '/v1/orgs/:org/apps/:appId/rotate-secret',
    {
      schema: {
        'x-brickless-permission': 'apps:manage',
        tags,
        summary: 'A new client secret for a confidential app (shown once); the old one stops working',
        params: AppParams,
        response: { 200: WithSecret, ...problemResponses },
      },
    },
    async (request, reply) => {
      const { orgId, principal } = await authorizeOrg(request, orgs, request.params.org);
      return reply
        .header('cache-control', 'no-store')
        .send(await apps.rotateSecret(principal.actor, orgId, request.params.appId));
    },
  );
}
