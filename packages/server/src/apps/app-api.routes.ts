import type { FastifyInstance, FastifyRequest } from 'fastify';
import { type Static, Type } from 'typebox';
import { MAX_TTL_SECONDS, type SendCommand } from '../commands/service.js';
import { DomainError, notFound } from '../errors.js';
import { requirementOf } from '../http/authorize.js';
import { Id, IsoDateTime, Nullable, problemResponses } from '../http/schemas.js';
import { OwnerNoticePageSchema, OwnerNoticeQuery } from '../owner-notices/routes.js';
import { noticesForOwner } from '../owner-notices/service.js';
import { OwnedDeviceSchema } from '../owners/routes.js';
import { OWNER_SESSION_COOKIE } from '../owners/sign-in.js';
import { SESSION_COOKIE } from '../people/sessions.js';
import type { Services } from '../services.js';
import { type Query, readSeries, SeriesQuery, SeriesSchema } from '../telemetry/routes.js';
import { TwinSchema } from '../twin/routes.js';
import type { StateDocument } from '../twin/service.js';
import { type AppDevices, appDevices } from './app-devices.js';
import { assertDeviceAccess, type DeviceAccess, ownershipStart } from './device-access.js';
import type { AppScope } from './scopes.js';
import { ACCESS_PREFIX, type AppAccess } from './tokens.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** The app and owner an access token speaks for, on app API routes (apps/app-api.routes.ts). */
    appAccess: AppAccess | null;
  }
}

const tags = ['app API'];
/** Each operation's scope is its OpenAPI security requirement: one declaration, enforced and published. */
const needs = (scope: AppScope) => ({
  'x-brickless-permission': 'app' as const,
  security: [{ oauth2: [scope] }],
  tags,
});
const DeviceParams = Type.Object({ deviceId: Id('dev') });
type OwnerNoticeQueryType = Static<typeof OwnerNoticeQuery>;

function scopeOf(request: FastifyRequest): AppScope {
  const security = (request.routeOptions.schema as { security?: { oauth2?: AppScope[] }[] } | undefined)
    ?.security;
  const scope = security?.[0]?.oauth2?.[0];
  if (!scope) throw new DomainError('internal', `${request.routeOptions.url} declares no OAuth scope`);
  return scope;
}

/**
 * Authenticates the app API by an OAuth access token (RFC 6750 §2.1) and checks the operation's
 * scope. A staff token or an owner's session is the wrong kind of credential here (403).
 */
async function authenticateApp(
  request: FastifyRequest,
  reply: { header(name: string, value: string): unknown },
  services: Pick<Services, 'appTokens' | 'tokens' | 'sessions' | 'ownerSignIn'>,
): Promise<void> {
  const needed = requirementOf(request);
  if (needed !== 'app') throw new DomainError('internal', `app API routes declare app, not ${needed}`);
  const scope = scopeOf(request);
  const bearer = /^Bearer ([^\s]+)$/i.exec(request.headers.authorization ?? '')?.[1];
  if (bearer?.startsWith(ACCESS_PREFIX)) {
    const access = await services.appTokens.authenticate(bearer);
    if (!access) {
      reply.header('www-authenticate', 'Bearer error="invalid_token"');
      throw new DomainError('unauthenticated', 'the access token is unknown, expired or revoked: refresh it');
    }
    if (!access.scopes.includes(scope)) {
      reply.header('www-authenticate', `Bearer error="insufficient_scope", scope="${scope}"`);
      throw new DomainError('forbidden', `this needs the scope ${scope}, which the owner did not grant`);
    }
    request.appAccess = access;
    return;
  }
  const staff =
    (bearer ? await services.tokens.authenticate(bearer) : null) ??
    (request.cookies?.[SESSION_COOKIE] && !bearer
      ? (await services.sessions.authenticate(request.cookies[SESSION_COOKIE] as string))?.principal
      : null);
  const ownerCookie = request.cookies?.[OWNER_SESSION_COOKIE];
  const owner = !staff && ownerCookie ? await services.ownerSignIn.authenticate(ownerCookie) : null;
  if (staff || owner)
    throw new DomainError('forbidden', 'the app API takes an OAuth access token an owner granted an app');
  throw new DomainError('unauthenticated', 'send an OAuth access token: Authorization: Bearer bat_…');
}

const accessOf = (request: FastifyRequest): AppAccess => {
  if (!request.appAccess) throw new DomainError('unauthenticated', 'send an OAuth access token');
  return request.appAccess;
};

/**
 * The app API (issue 18 §2): what a maker's app does for an owner who granted it access. Every
 * request reaches only devices of the app's organisation that this owner may see
 * (apps/device-access.ts); any other device answers 404, whether it exists or not.
 */
export function appApiRoutes(app: FastifyInstance, services: Services): void {
  app.decorateRequest('appAccess', null);
  app.addHook('onRequest', async (request, reply) => authenticateApp(request, reply, services));
  app.addHook('onSend', async (_request, reply) => {
    reply.header('cache-control', 'no-store');
    // Bearer tokens, never cookies: any origin may call (a single-page app on the maker's site).
    reply.header('access-control-allow-origin', '*');
  });
  const devices: AppDevices = appDevices(services.store.db);
  const { db } = services.store;
  /** The device, if this owner may do `need` with it through this app; 404 otherwise. */
  const device = async (request: FastifyRequest, deviceId: string, need: DeviceAccess) => {
    const access = accessOf(request);
    await assertDeviceAccess(db, access.ownerId, access.orgId, deviceId, need);
    return access;
  };
  /** How the audit log names an app acting for an owner. */
  const actor = (access: AppAccess) => `owner:${access.ownerId} via app:${access.appId}`;

  app.get(
    '/v1/app/devices',
    {
      schema: {
        ...needs('devices:read'),
        summary: 'The owner’s devices of the app’s organisation',
        response: { 200: Type.Object({ items: Type.Array(OwnedDeviceSchema) }), ...problemResponses },
      },
    },
    async (request) => {
      const access = accessOf(request);
      return { items: await devices.list(access.ownerId, access.orgId) };
    },
  );

  app.get<{ Params: { deviceId: string } }>(
    '/v1/app/devices/:deviceId',
    {
      schema: {
        ...needs('devices:read'),
        summary: 'One of the owner’s devices (any other is 404)',
        params: DeviceParams,
        response: { 200: OwnedDeviceSchema, ...problemResponses },
      },
    },
    async (request) => {
      const access = await device(request, request.params.deviceId, 'read');
      const found = await devices.get(access.ownerId, access.orgId, request.params.deviceId);
      if (!found) throw notFound('device', request.params.deviceId);
      return found;
    },
  );

  app.get<{ Params: { deviceId: string } }>(
    '/v1/app/devices/:deviceId/state',
    {
      schema: {
        ...needs('devices:read'),
        summary: 'The device’s desired and reported state and the delta still to apply',
        params: DeviceParams,
        response: { 200: TwinSchema, ...problemResponses },
      },
    },
    async (request) => {
      const access = await device(request, request.params.deviceId, 'read');
      return services.twins.get(access.orgId, request.params.deviceId);
    },
  );

  app.patch<{ Params: { deviceId: string }; Body: { version: number; desired: StateDocument } }>(
    '/v1/app/devices/:deviceId/state',
    {
      schema: {
        ...needs('devices:control'),
        summary:
          'Change desired state (null removes a key); 409 when version is not the current desiredVersion',
        params: DeviceParams,
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
      const access = await device(request, request.params.deviceId, 'control');
      return services.twins.setDesired(
        actor(access),
        access.orgId,
        request.params.deviceId,
        request.body.version,
        request.body.desired,
      );
    },
  );

  app.post<{ Params: { deviceId: string }; Body: SendCommand }>(
    '/v1/app/devices/:deviceId/commands',
    {
      schema: {
        ...needs('devices:control'),
        summary: 'Send the device one of its product’s commands; queued until it is connected',
        description: 'With an idempotencyKey, repeating the request returns the first command (200).',
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
      const access = await device(request, request.params.deviceId, 'control');
      const { command, created } = await services.commands.send(
        actor(access),
        access.orgId,
        request.params.deviceId,
        request.body,
      );
      return reply.status(created ? 201 : 200).send(command);
    },
  );

  app.get<{ Params: { deviceId: string; commandId: string } }>(
    '/v1/app/devices/:deviceId/commands/:commandId',
    {
      schema: {
        ...needs('devices:control'),
        summary: 'A command the owner sent through an app, with its status and result',
        description: 'Commands the maker’s staff sent are not shown (404).',
        params: Type.Object({ deviceId: Id('dev'), commandId: Id('cmd') }),
        response: { 200: Type.Ref('Command'), ...problemResponses },
      },
    },
    async (request) => {
      const access = await device(request, request.params.deviceId, 'control');
      const command = await services.commands.get(
        access.orgId,
        request.params.deviceId,
        request.params.commandId,
      );
      // The owner's own commands only: a staff member's name in createdBy is not the owner's business.
      if (!command.createdBy.startsWith(`owner:${access.ownerId} `))
        throw notFound('command', request.params.commandId);
      return command;
    },
  );

  app.get<{ Params: { deviceId: string }; Querystring: Query }>(
    '/v1/app/devices/:deviceId/telemetry',
    {
      schema: {
        ...needs('devices:read'),
        summary: 'The device’s readings of one field over a time range, raw or aggregated per bucket',
        params: DeviceParams,
        querystring: SeriesQuery,
        response: { 200: SeriesSchema, ...problemResponses },
      },
    },
    async (request) => {
      const access = await device(request, request.params.deviceId, 'read');
      // An owner sees readings from the device's current ownership on, never a previous owner's
      // (a device bought second-hand; docs/owners.md, "Transfer on resale").
      const since = await ownershipStart(services.store.db, request.params.deviceId);
      const asked = request.query.from;
      const from = !since || (asked && Date.parse(asked) > Date.parse(since)) ? asked : since;
      return readSeries(services.telemetry, access.orgId, request.params.deviceId, {
        ...request.query,
        ...(from ? { from } : {}),
      });
    },
  );

  app.get<{ Querystring: OwnerNoticeQueryType }>(
    '/v1/app/notices',
    {
      schema: {
        ...needs('devices:read'),
        summary:
          'What the owner was told about devices of this maker: support period, updates, end of support, sunset',
        description:
          'The notices of `/v1/owner/notices` (docs/owner-notices.md) about products of the app’s organisation, newest first.',
        querystring: OwnerNoticeQuery,
        response: { 200: OwnerNoticePageSchema, ...problemResponses },
      },
    },
    async (request) => {
      const access = request.appAccess;
      if (!access) throw new DomainError('unauthenticated', 'send an OAuth access token');
      return noticesForOwner(services.store.db, access.ownerId, {
        orgId: access.orgId,
        ...(request.query.unread !== undefined ? { unread: request.query.unread } : {}),
        ...(request.query.kind ? { kind: request.query.kind } : {}),
        ...(request.query.cursor ? { before: request.query.cursor } : {}),
        ...(request.query.limit ? { limit: request.query.limit } : {}),
      });
    },
  );

  app.get<{ Params: { deviceId: string } }>(
    '/v1/app/devices/:deviceId/updates',
    {
      schema: {
        ...needs('devices:read'),
        summary: 'The device’s firmware version and its latest update steps, newest first',
        params: DeviceParams,
        response: {
          200: Type.Object({
            firmwareVersion: Nullable(Type.String()),
            supportEnds: Type.String(),
            steps: Type.Array(
              Type.Object({
                releaseId: Nullable(Type.String()),
                step: Type.String(),
                reason: Nullable(Type.String()),
                time: IsoDateTime,
              }),
            ),
          }),
          ...problemResponses,
        },
      },
    },
    async (request) => {
      const access = await device(request, request.params.deviceId, 'read');
      const found = await devices.get(access.ownerId, access.orgId, request.params.deviceId);
      if (!found) throw notFound('device', request.params.deviceId);
      const steps = await services.rolloutEngine.history(request.params.deviceId, 20);
      return {
        firmwareVersion: found.firmwareVersion,
        supportEnds: found.supportEnds,
        steps: steps.map((s) => ({ releaseId: s.release_id, step: s.step, reason: s.reason, time: s.time })),
      };
    },
  );
}
