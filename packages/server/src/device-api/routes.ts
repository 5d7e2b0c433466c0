import type { Reply } from '@brickless/protocol';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import { DomainError } from '../errors.js';
import type { DeviceIdentity } from '../gateway/credentials.js';
import { defaultLimits } from '../gateway/mqtt.js';
import { RateLimiter } from '../gateway/rate-limit.js';
import { CredentialRequestBody, IssuedCredential, toCredentialRequest } from '../gateway/routes.js';
import { MessageRefused, UpstreamHandler } from '../gateway/upstream.js';
import { InputRefused } from '../http/input.js';
import type { Services } from '../services.js';
import { deviceUpdateRoutes } from '../updates/device.routes.js';
import { DeviceAuthError, DeviceAuthenticator } from './auth.js';

declare module 'fastify' {
  interface FastifyRequest {
    device: DeviceIdentity | null;
  }
  interface FastifyContextConfig {
    /** The claim route authenticates with the factory credential itself. */
    factory?: boolean;
  }
}

/** Longest a device may hold a request open waiting for commands. */
export const MAX_WAIT_SECONDS = 30;
/** A device's last-seen time is written at most this often from HTTP requests. */
const LAST_SEEN_EVERY_MS = 30_000;

const security: { [scheme: string]: string[] }[] = [{ deviceBasic: [] }, { deviceCertificate: [] }];
const tags = ['device'];
const Ok = <T extends import('typebox').TSchema>(data: T) =>
  Type.Object({ status: Type.Literal('ok'), id: Type.Optional(Type.String()), data });
const ErrorReply = Type.Object({
  status: Type.Literal('error'),
  id: Type.Optional(Type.String()),
  error: Type.Object({ code: Type.String(), message: Type.String() }),
});
const errors = {
  400: ErrorReply,
  401: ErrorReply,
  404: ErrorReply,
  409: ErrorReply,
  413: ErrorReply,
  429: ErrorReply,
};
const Json = Type.Object({}, { additionalProperties: true });

/** The HTTP status and Reply for an error in a device request. */
function toReply(error: unknown, request: FastifyRequest): { status: number; body: Reply } {
  const body = request.body as { id?: unknown } | undefined;
  const id = typeof body?.id === 'string' ? { id: body.id } : {};
  const reply = (status: number, code: string, message: string) => ({
    status,
    body: { status: 'error' as const, ...id, error: { code, message } },
  });
  if (error instanceof DeviceAuthError)
    return reply(error.code === 'rate-limited' ? 429 : 401, error.code, error.message);
  if (error instanceof MessageRefused) {
    const { code } = error;
    return reply(
      code === 'payload-too-large' ? 413 : code === 'command-closed' ? 409 : 400,
      code,
      error.message,
    );
  }
  if (error instanceof DomainError) return reply(error.status, error.code, error.message);
  // The body parser's input rules (http/input.ts), with the same codes as over MQTT.
  if (error instanceof InputRefused) return reply(400, error.code, error.message);
  const fastify = error as { statusCode?: number; validation?: unknown; message?: string };
  if (fastify.validation) return reply(400, 'invalid-payload', fastify.message ?? 'invalid request');
  if (fastify.statusCode && fastify.statusCode < 500)
    return reply(
      fastify.statusCode,
      fastify.statusCode === 413 ? 'payload-too-large' : 'malformed-payload',
      fastify.message ?? '',
    );
  return reply(500, 'internal', 'internal error; try again later');
}

/**
 * The device HTTP API (docs/protocol.md, "HTTP"): the same operations and payloads as MQTT for
 * devices that cannot keep a connection open. Every answer is the protocol's Reply shape.
 */
export function deviceApiRoutes(app: FastifyInstance, services: Services): void {
  const { credentials, twins, commands, metrics, clock, store, bus } = services;
  const upstream = new UpstreamHandler({ ...services, rollouts: services.rolloutEngine });
  const messages = new RateLimiter({ rate: 200, burst: 1000, now: () => clock.now().getTime() });
  const lastSeen = new Map<string, number>();
  const auth = new DeviceAuthenticator({
    credentials,
    now: () => clock.now().getTime(),
    onFailure: (request, reason) => {
      metrics.authFailures.inc({ surface: 'device-http' });
      metrics.securityEvents.inc({ event: 'auth-failed' });
      request.log.warn(
        { event: 'security.auth-failed', ip: request.ip, reason },
        'device authentication failed',
      );
    },
  });

  // The same payload limit as on MQTT (docs/protocol.md): a device gets no more room over HTTP.
  app.addHook('onRoute', (route) => {
    route.bodyLimit ??= defaultLimits.maxPayloadBytes;
  });
  app.decorateRequest('device', null);
  app.setErrorHandler((error, request, reply: FastifyReply) => {
    const { status, body } = toReply(error, request);
    if (status >= 500) request.log.error({ err: error }, 'device request failed');
    if (status === 400 || status === 413)
      metrics.messagesRefused.inc({ reason: body.status === 'error' ? body.error.code : 'x' });
    return reply.status(status).header('cache-control', 'no-store').send(body);
  });
  app.addHook('onRequest', async (request) => {
    if (request.routeOptions.config?.factory) return;
    const identity = await auth.operational(request);
    request.device = identity;
    if (!messages.take(identity.deviceId))
      throw new DeviceAuthError('rate-limited', 'too many messages; slow down');
    const now = clock.now().getTime();
    if (now - (lastSeen.get(identity.deviceId) ?? 0) > LAST_SEEN_EVERY_MS) {
      lastSeen.set(identity.deviceId, now);
      await store.db
        .updateTable('devices')
        .set({ last_seen_at: new Date(now).toISOString() })
        .where('id', '=', identity.deviceId)
        .execute();
    }
  });
  const device = (request: FastifyRequest) => request.device as DeviceIdentity;
  const ok = (data: unknown, id?: unknown) => ({
    status: 'ok',
    ...(typeof id === 'string' ? { id } : {}),
    data,
  });

  app.post<{ Body: { kind?: 'secret' | 'certificate'; csr?: string } }>(
    '/device/v1/claim',
    {
      config: { factory: true },
      schema: {
        tags,
        summary:
          'Exchange the one-time factory secret (Basic deviceId:factorySecret) for the operational credential',
        security: [{ deviceBasic: [] }],
        body: CredentialRequestBody,
        response: { 200: Ok(IssuedCredential), ...errors },
      },
      preValidation: async (request) => {
        request.body ??= {};
      },
    },
    async (request, reply) => {
      const factory = auth.factory(request);
      const issued = await credentials.claim(
        factory.deviceId,
        factory.secret,
        toCredentialRequest(request.body),
      );
      if (!issued) auth.failed(request, 'unknown device, or factory credential wrong or already used');
      return reply.header('cache-control', 'no-store').send(ok(issued));
    },
  );

  app.post<{ Body: { kind?: 'secret' | 'certificate'; csr?: string } }>(
    '/device/v1/credentials',
    {
      schema: {
        tags,
        summary:
          'Rotate: the device gets a new credential (from its CSR, or a secret); the one it used stops working',
        security,
        body: CredentialRequestBody,
        response: { 200: Ok(IssuedCredential), ...errors },
      },
      preValidation: async (request) => {
        request.body ??= {};
      },
    },
    async (request, reply) => {
      const { deviceId, orgId } = device(request);
      const issued = await credentials.issue(
        `device:${deviceId}`,
        orgId,
        deviceId,
        toCredentialRequest(request.body),
      );
      return reply.header('cache-control', 'no-store').send(ok(issued));
    },
  );

  app.post<{ Body: { id?: string } }>(
    '/device/v1/telemetry',
    {
      schema: {
        tags,
        summary: 'Store a telemetry batch (the MQTT telemetry payload)',
        security,
        body: Json,
        response: { 200: Ok(Type.Object({ stored: Type.Integer() })), ...errors },
      },
    },
    async (request) => {
      const result = await upstream.handle(device(request), 'telemetry', request.body);
      return ok({ stored: result.channel === 'telemetry' ? result.stored : 0 }, request.body.id);
    },
  );

  app.post<{ Body: { id?: string } }>(
    '/device/v1/events',
    {
      schema: {
        tags,
        summary: 'Store an event batch (the MQTT events payload)',
        security,
        body: Json,
        response: { 200: Ok(Type.Object({ stored: Type.Integer() })), ...errors },
      },
    },
    async (request) => {
      const result = await upstream.handle(device(request), 'events', request.body);
      return ok({ stored: result.channel === 'events' ? result.stored : 0 }, request.body.id);
    },
  );

  const TwinView = Type.Object({
    desired: Json,
    desiredVersion: Type.Integer(),
    reported: Json,
    reportedVersion: Type.Integer(),
    delta: Json,
  });
  const twinView = (t: {
    desired: object;
    desiredVersion: number;
    reported: object;
    reportedVersion: number;
    delta: object;
  }) => ({
    desired: t.desired,
    desiredVersion: t.desiredVersion,
    reported: t.reported,
    reportedVersion: t.reportedVersion,
    delta: t.delta,
  });

  app.get(
    '/device/v1/state',
    {
      schema: {
        tags,
        summary: 'The device twin: desired, reported and the delta to apply',
        security,
        response: { 200: Ok(TwinView), ...errors },
      },
    },
    async (request) => ok(twinView(await twins.forDevice(device(request).deviceId))),
  );

  app.post<{ Body: { id?: string; state?: unknown } }>(
    '/device/v1/state/reported',
    {
      schema: {
        tags,
        summary: 'Report state (the MQTT state/reported payload); answers with the delta left',
        security,
        body: Json,
        response: { 200: Ok(TwinView), ...errors },
      },
    },
    async (request) => {
      const result = await upstream.handle(device(request), 'state/reported', request.body);
      if (result.channel !== 'state/reported') throw new Error('unexpected upstream result');
      return ok(twinView(result.twin), request.body.id);
    },
  );

  app.get<{ Querystring: { wait?: number } }>(
    '/device/v1/commands',
    {
      schema: {
        tags,
        summary:
          'Commands for the device (marked delivered); with wait, held open until one arrives (long poll)',
        security,
        querystring: Type.Object(
          {
            wait: Type.Optional(
              Type.Integer({ minimum: 0, maximum: MAX_WAIT_SECONDS, description: 'seconds' }),
            ),
          },
          { additionalProperties: false },
        ),
        response: {
          200: Ok(
            Type.Object({
              commands: Type.Array(
                Type.Object({
                  id: Type.String(),
                  name: Type.String(),
                  params: Type.Unknown(),
                  expiresAt: Type.String(),
                }),
              ),
            }),
          ),
          ...errors,
        },
      },
    },
    async (request) => {
      const { deviceId } = device(request);
      let pending = await commands.takeForDelivery(deviceId);
      const wait = request.query.wait ?? 0;
      if (pending.length === 0 && wait > 0) {
        await new Promise<void>((resolve) => {
          const done = () => {
            clearTimeout(timer);
            unsubscribe();
            request.raw.off('close', done);
            resolve();
          };
          const timer = setTimeout(done, wait * 1000);
          // A command queued through any node ends the wait (the bus carries it here).
          const unsubscribe = bus.subscribe('command.queued', (event) => {
            if (event.deviceId === deviceId) done();
          });
          request.raw.once('close', done);
        });
        pending = await commands.takeForDelivery(deviceId);
      }
      return ok({ commands: pending });
    },
  );

  app.post<{ Body: { id?: string } }>(
    '/device/v1/commands/result',
    {
      schema: {
        tags,
        summary: 'The result of a command (the MQTT commands/result payload)',
        security,
        body: Json,
        response: { 200: Ok(Type.Object({ status: Type.String() })), ...errors },
      },
    },
    async (request) => {
      const result = await upstream.handle(device(request), 'commands/result', request.body);
      return ok(
        { status: result.channel === 'commands/result' ? result.status : 'unknown' },
        request.body.id,
      );
    },
  );

  deviceUpdateRoutes(app, services, { upstream, device, ok, Ok, errors, security });
}
