import type { FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import { authorizeOrg } from '../http/authorize.js';
import { problemResponses } from '../http/schemas.js';
import type { Services } from '../services.js';
import { startSession } from './cookies.js';
import { linkBase } from './people.routes.js';
import { OrgRoleSchema, SignedIn } from './schemas.js';
import { SSO_BINDING_COOKIE, SSO_CHALLENGE_MINUTES } from './sso-sign-in.js';

const tags = ['people'];
const OrgParams = Type.Object({ org: Type.String({ maxLength: 100 }) });
export const SSO_CALLBACK_PATH = '/v1/auth/sso/callback';

const SsoSettingsSchema = Type.Object({
  issuer: Type.String(),
  clientId: Type.String(),
  groupsClaim: Type.String(),
  groupRoles: Type.Record(Type.String(), Type.Array(Type.String())),
  scopes: Type.Array(Type.String()),
  updatedAt: Type.String(),
  signInUrl: Type.String({ description: 'where people of the organisation start single sign-on' }),
  redirectUri: Type.String({ description: 'register this redirect URI with the identity provider' }),
});

const SsoBody = Type.Object(
  {
    issuer: Type.String({
      minLength: 8,
      maxLength: 500,
      description: 'https URL of the OpenID provider (http only for 127.0.0.1 or localhost)',
    }),
    clientId: Type.String({ minLength: 1, maxLength: 255 }),
    clientSecret: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 1000,
        description: 'kept sealed; left out, the stored one is kept',
      }),
    ),
    groupsClaim: Type.Optional(Type.String({ pattern: '^[A-Za-z0-9_:./-]{1,100}$' })),
    groupRoles: Type.Record(
      Type.String({ minLength: 1, maxLength: 200 }),
      Type.Array(OrgRoleSchema, { minItems: 1, maxItems: 5 }),
      {
        description: 'group name at the provider → roles in this organisation',
      },
    ),
    scopes: Type.Optional(
      Type.Array(Type.String({ minLength: 1, maxLength: 100 }), { minItems: 1, maxItems: 20 }),
    ),
  },
  { additionalProperties: false },
);

/** Single sign-on settings of an organisation (issue 16 §3); people:manage, like its people. */
export function ssoRoutes(app: FastifyInstance, services: Services): void {
  const { orgs, ssoConfig } = services;
  const withLinks = (request: { protocol: string; headers: { host?: string } }, slug: string) => {
    const base = linkBase(services, request);
    return {
      signInUrl: `${base}/v1/auth/sso/${encodeURIComponent(slug)}/start`,
      redirectUri: `${base}${SSO_CALLBACK_PATH}`,
    };
  };

  app.get<{ Params: { org: string } }>(
    '/v1/orgs/:org/sso',
    {
      schema: {
        'x-brickless-permission': 'people:read',
        tags,
        summary:
          "The organisation's single sign-on (OpenID Connect): provider, client and group mapping, never the secret",
        params: OrgParams,
        response: { 200: SsoSettingsSchema, ...problemResponses },
      },
    },
    async (request) => {
      const { orgId } = await authorizeOrg(request, orgs, request.params.org);
      const org = await orgs.get(orgId);
      return { ...(await ssoConfig.get(orgId)), ...withLinks(request, org.slug) };
    },
  );

  app.put<{
    Params: { org: string };
    Body: {
      issuer: string;
      clientId: string;
      clientSecret?: string;
      groupsClaim?: string;
      groupRoles: Record<string, string[]>;
      scopes?: string[];
    };
  }>(
    '/v1/orgs/:org/sso',
    {
      schema: {
        'x-brickless-permission': 'people:manage',
        tags,
        summary: 'Set up single sign-on with an OpenID provider and map its groups to roles',
        description:
          "The provider's discovery document is fetched now: an issuer that does not answer is refused. " +
          'At every sign-in the groups decide the roles of the person in this organisation; a person in no mapped group is refused.',
        params: OrgParams,
        body: SsoBody,
        response: { 200: SsoSettingsSchema, ...problemResponses },
      },
    },
    async (request) => {
      const { orgId, principal } = await authorizeOrg(request, orgs, request.params.org);
      const org = await orgs.get(orgId);
      const { groupRoles, ...rest } = request.body;
      // Group names come from outside: copied into a null-prototype map (DESIGN: input rules).
      const map: Record<string, string[]> = Object.create(null);
      for (const [group, roles] of Object.entries(groupRoles)) map[group] = roles;
      const saved = await ssoConfig.set(principal.actor, orgId, { ...rest, groupRoles: map });
      return { ...saved, ...withLinks(request, org.slug) };
    },
  );

  app.delete<{ Params: { org: string } }>(
    '/v1/orgs/:org/sso',
    {
      schema: {
        'x-brickless-permission': 'people:manage',
        tags,
        summary: 'Turn single sign-on off; people keep their accounts and roles, and sign in otherwise',
        params: OrgParams,
        response: { 200: SsoSettingsSchema, ...problemResponses },
      },
    },
    async (request) => {
      const { orgId, principal } = await authorizeOrg(request, orgs, request.params.org);
      const org = await orgs.get(orgId);
      return { ...(await ssoConfig.remove(principal.actor, orgId)), ...withLinks(request, org.slug) };
    },
  );
}

/** The browser's way through single sign-on: before a person has a session, so public. */
export function ssoSignInRoutes(app: FastifyInstance, services: Services): void {
  app.addHook('onSend', async (_request, reply) => {
    reply.header('cache-control', 'no-store');
    reply.header('referrer-policy', 'no-referrer');
  });

  app.get<{ Params: { org: string } }>(
    '/v1/auth/sso/:org/start',
    {
      schema: {
        tags,
        'x-brickless-permission': 'public',
        security: [],
        summary: "Start single sign-on: redirects (302) to the organisation's identity provider",
        description: `Sets a short-lived cookie binding the sign-in to this browser; the sign-in must end within ${SSO_CHALLENGE_MINUTES} minutes.`,
        params: OrgParams,
        response: { 302: Type.Null({ description: 'to the identity provider' }), ...problemResponses },
      },
    },
    async (request, reply) => {
      const redirectUri = `${linkBase(services, request)}${SSO_CALLBACK_PATH}`;
      const { url, binding } = await services.ssoSignIn.start(request.params.org, redirectUri, request.ip);
      reply.setCookie(SSO_BINDING_COOKIE, binding, {
        path: '/',
        secure: true,
        httpOnly: true,
        sameSite: 'lax',
        maxAge: SSO_CHALLENGE_MINUTES * 60,
      });
      return reply.redirect(url, 302);
    },
  );

  app.get(
    SSO_CALLBACK_PATH,
    {
      schema: {
        tags,
        'x-brickless-permission': 'public',
        security: [],
        summary: 'Where the identity provider sends the browser back: signs the person in',
        description:
          'Checks state (once, 10 minutes, this browser), exchanges the code with the PKCE verifier and verifies the ID token and its nonce. ' +
          'With Accept: application/json the answer is the signed-in session; otherwise a page that opens the console.',
        querystring: Type.Object(
          {
            state: Type.Optional(Type.String({ maxLength: 500 })),
            code: Type.Optional(Type.String({ maxLength: 4000 })),
            iss: Type.Optional(Type.String({ maxLength: 500 })),
            error: Type.Optional(Type.String({ maxLength: 200 })),
            error_description: Type.Optional(Type.String({ maxLength: 1000 })),
          },
          { additionalProperties: Type.String({ maxLength: 1000 }) },
        ),
        response: { 200: SignedIn, ...problemResponses },
      },
    },
    async (request, reply) => {
      const query = request.url.includes('?') ? request.url.slice(request.url.indexOf('?') + 1) : '';
      const binding = request.cookies?.[SSO_BINDING_COOKIE];
      reply.clearCookie(SSO_BINDING_COOKIE, { path: '/', secure: true, httpOnly: true, sameSite: 'lax' });
      const { personId } = await services.ssoSignIn.callback(query, binding, request.ip);
      const signedIn = await startSession(services, request, reply, personId, 'oidc');
      if ((request.headers.accept ?? '').includes('application/json')) return signedIn;
      // A page, not a redirect: the session cookie is SameSite=Strict, and a browser does not send
      // it on a redirect chain that began at another site (the provider); a navigation from this page does.
      return reply
        .type('text/html; charset=utf-8')
        .send(
          '<!doctype html><html lang="en"><head><meta charset="utf-8"><meta http-equiv="refresh" content="0; url=/">' +
            '<title>Signed in</title></head><body><p>Signed in. <a href="/">Open the console</a>.</p></body></html>',
        );
    },
  );
}
