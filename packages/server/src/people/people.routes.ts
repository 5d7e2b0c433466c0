import type { FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import { authorizeOrg, requirePermission } from '../http/authorize.js';
import { Id, problemResponses } from '../http/schemas.js';
import type { Services } from '../services.js';
import { invitationUrl } from './invitations.js';
import { CreatedInvitation, CreateInvitation, Email, MemberSchema, PolicySchema, Roles } from './schemas.js';

const tags = ['people'];
const OrgParams = Type.Object({ org: Type.String({ maxLength: 100 }) });
const PersonParams = Type.Object({
  org: Type.String({ maxLength: 100 }),
  person: Type.String({ minLength: 1, maxLength: 254, description: 'person id or e-mail address' }),
});

/** The base of links people open: the public address, else the address this request reached. */
export function linkBase(
  services: Pick<Services, 'publicUrl'>,
  request: { protocol: string; headers: { host?: string } },
): string {
  return services.publicUrl ?? `${request.protocol}://${request.headers.host ?? 'localhost'}`;
}

/** People of an organisation and their roles, invitations and the sign-in policy (issue 16 §1, §2). */
export function peopleRoutes(app: FastifyInstance, services: Services): void {
  const { orgs, people, invitations, signInPolicies } = services;

  app.get<{ Params: { org: string } }>(
    '/v1/orgs/:org/people',
    {
      schema: {
        'x-brickless-permission': 'fleet:read',
        tags,
        summary: 'People of the organisation and their roles',
        params: OrgParams,
        response: { 200: Type.Object({ items: Type.Array(MemberSchema) }), ...problemResponses },
      },
    },
    async (request) => {
      const { orgId } = await authorizeOrg(request, orgs, request.params.org);
      return { items: await people.listMembers(orgId) };
    },
  );

  app.put<{ Params: { org: string; person: string }; Body: { roles: string[] } }>(
    '/v1/orgs/:org/people/:person/roles',
    {
      schema: {
        'x-brickless-permission': 'people:manage',
        tags,
        summary: "Replace a person's roles in the organisation (an organisation keeps at least one admin)",
        params: PersonParams,
        body: Type.Object({ roles: Roles }, { additionalProperties: false }),
        response: { 200: MemberSchema, ...problemResponses },
      },
    },
    async (request) => {
      const { orgId, principal } = await authorizeOrg(request, orgs, request.params.org);
      return people.setRoles(principal.actor, orgId, request.params.person, request.body.roles);
    },
  );

  app.delete<{ Params: { org: string; person: string } }>(
    '/v1/orgs/:org/people/:person',
    {
      schema: {
        'x-brickless-permission': 'people:manage',
        tags,
        summary: 'Remove a person from the organisation; their tokens there stop working at once',
        params: PersonParams,
        response: { 200: MemberSchema, ...problemResponses },
      },
    },
    async (request) => {
      const { orgId, principal } = await authorizeOrg(request, orgs, request.params.org);
      return people.remove(principal.actor, orgId, request.params.person);
    },
  );

  app.post<{ Params: { org: string }; Body: { email: string; roles: string[]; expiresInDays?: number } }>(
    '/v1/orgs/:org/invitations',
    {
      schema: {
        'x-brickless-permission': 'people:manage',
        tags,
        summary: 'Invite a person by e-mail with roles: a one-time link, valid 7 days unless said otherwise',
        params: OrgParams,
        body: CreateInvitation,
        response: { 201: CreatedInvitation, ...problemResponses },
      },
    },
    async (request, reply) => {
      const { orgId, principal } = await authorizeOrg(request, orgs, request.params.org);
      const { token, invitation } = await invitations.create(principal.actor, {
        orgId,
        email: request.body.email,
        roles: request.body.roles,
        ...(request.body.expiresInDays ? { expiresInDays: request.body.expiresInDays } : {}),
      });
      return reply
        .status(201)
        .header('cache-control', 'no-store')
        .send({ url: invitationUrl(linkBase(services, request), token), token, invitation });
    },
  );

  app.get<{ Params: { org: string } }>(
    '/v1/orgs/:org/invitations',
    {
      schema: {
        'x-brickless-permission': 'people:read',
        tags,
        summary: "The organisation's invitations (never their links)",
        params: OrgParams,
        response: { 200: Type.Object({ items: Type.Array(Type.Ref('Invitation')) }), ...problemResponses },
      },
    },
    async (request) => {
      const { orgId } = await authorizeOrg(request, orgs, request.params.org);
      return { items: await invitations.list(orgId) };
    },
  );

  app.delete<{ Params: { org: string; invitationId: string } }>(
    '/v1/orgs/:org/invitations/:invitationId',
    {
      schema: {
        'x-brickless-permission': 'people:manage',
        tags,
        summary: 'Revoke an invitation that was not used yet',
        params: Type.Object({ org: Type.String({ maxLength: 100 }), invitationId: Id('inv') }),
        response: { 200: Type.Ref('Invitation'), ...problemResponses },
      },
    },
    async (request) => {
      const { orgId, principal } = await authorizeOrg(request, orgs, request.params.org);
      return invitations.revoke(principal.actor, orgId, request.params.invitationId);
    },
  );

  app.get<{ Params: { org: string } }>(
    '/v1/orgs/:org/sign-in-policy',
    {
      schema: {
        'x-brickless-permission': 'fleet:read',
        tags,
        summary: 'What the organisation requires of a sign-in: any, second-factor or passkey',
        params: OrgParams,
        response: { 200: PolicySchema, ...problemResponses },
      },
    },
    async (request) => {
      const { orgId } = await authorizeOrg(request, orgs, request.params.org);
      return signInPolicies.get(orgId);
    },
  );

  app.put<{ Params: { org: string }; Body: { require: string } }>(
    '/v1/orgs/:org/sign-in-policy',
    {
      schema: {
        'x-brickless-permission': 'people:manage',
        tags,
        summary: 'Require a second factor or a passkey of everyone acting in the organisation',
        description:
          'Sessions that do not meet it lose the organisation at once (403 saying what to do); tokens are not affected.',
        params: OrgParams,
        body: PolicySchema,
        response: { 200: PolicySchema, ...problemResponses },
      },
    },
    async (request) => {
      const { orgId, principal } = await authorizeOrg(request, orgs, request.params.org);
      return signInPolicies.set(principal.actor, orgId, request.body.require);
    },
  );

  app.get(
    '/v1/platform/people',
    {
      schema: {
        'x-brickless-permission': 'orgs:manage',
        tags,
        summary: 'Every person on the platform (platform admin)',
        response: { 200: Type.Object({ items: Type.Array(Type.Ref('Person')) }), ...problemResponses },
      },
    },
    async (request) => {
      requirePermission(request);
      return { items: await people.listAll() };
    },
  );

  app.post<{ Body: { email: string; expiresInDays?: number } }>(
    '/v1/platform/invitations',
    {
      schema: {
        'x-brickless-permission': 'orgs:manage',
        tags,
        summary: 'Invite another platform admin (platform admin)',
        body: Type.Object(
          { email: Email, expiresInDays: Type.Optional(Type.Integer({ minimum: 1, maximum: 30 })) },
          { additionalProperties: false },
        ),
        response: { 201: CreatedInvitation, ...problemResponses },
      },
    },
    async (request, reply) => {
      const principal = requirePermission(request);
      const { token, invitation } = await invitations.create(principal.actor, {
        orgId: null,
        email: request.body.email,
        roles: [],
        platformAdmin: true,
        ...(request.body.expiresInDays ? { expiresInDays: request.body.expiresInDays } : {}),
      });
      return reply
        .status(201)
        .header('cache-control', 'no-store')
        .send({ url: invitationUrl(linkBase(services, request), token), token, invitation });
    },
  );
}
