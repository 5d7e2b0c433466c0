import type { FastifyInstance, FastifyRequest } from 'fastify';
import { type TSchema, Type } from 'typebox';
import { DomainError } from '../errors.js';
import type { DeviceIdentity } from '../gateway/credentials.js';
import type { UpstreamHandler } from '../gateway/upstream.js';
import type { Services } from '../services.js';
import { sendArtifact } from './download.js';

/** What the device API shares with its update routes (device-api/routes.ts). */
export interface DeviceRouteContext {
  upstream: UpstreamHandler;
  device: (request: FastifyRequest) => DeviceIdentity;
  ok: (data: unknown, id?: unknown) => unknown;
  Ok: <T extends TSchema>(data: T) => TSchema;
  errors: Record<number, TSchema>;
  security: { [scheme: string]: string[] }[];
}

const Json = Type.Object({}, { additionalProperties: true });

/**
 * Updates over the device API: the organisation's TUF metadata and the device's own product's
 * images (any TUF client can use these paths as its metadata and targets base URLs), the current
 * offer for devices that poll, and the status a device reports while it updates.
 */
export function deviceUpdateRoutes(
  app: FastifyInstance,
  services: Services,
  context: DeviceRouteContext,
): void {
  const { updateRepository, rolloutEngine, artifacts, store } = services;
  const { device, ok, Ok, errors, security, upstream } = context;
  const tags = ['device'];
  const notFound = (what: string) => new DomainError('not-found', `${what} not found`);

  app.get<{ Params: { file: string } }>(
    '/device/v1/updates/metadata/:file',
    {
      schema: {
        tags,
        summary:
          "The organisation's TUF metadata: N.root.json, timestamp.json, N.snapshot.json, N.targets.json",
        security,
        params: Type.Object({ file: Type.String({ maxLength: 40 }) }),
        response: { ...errors },
      },
    },
    async (request, reply) => {
      const document = await updateRepository.document(device(request).orgId, request.params.file);
      if (!document) throw notFound(`metadata ${request.params.file}`);
      return reply.header('cache-control', 'no-store').type('application/json').send(document);
    },
  );

  app.get<{ Params: { product: string; version: string; file: string } }>(
    '/device/v1/updates/targets/:product/:version/:file',
    {
      schema: {
        tags,
        summary:
          'A firmware image by its consistent-snapshot name <sha256>.<filename> (Range, If-None-Match)',
        security,
        params: Type.Object({
          product: Type.String({ maxLength: 40 }),
          version: Type.String({ maxLength: 64 }),
          file: Type.String({ maxLength: 200 }),
        }),
        response: { ...errors },
      },
    },
    async (request, reply) => {
      const identity = device(request);
      const { product, version, file } = request.params;
      const match = /^([0-9a-f]{64})\.(.+)$/.exec(file);
      // Least privilege: a device gets its own product's images only.
      if (!match || product !== identity.productId) throw notFound('target');
      const release = await store.db
        .selectFrom('releases')
        .select(['artifact_sha256', 'artifact_length', 'filename'])
        .where('org_id', '=', identity.orgId)
        .where('product_id', '=', product)
        .where('version', '=', version)
        .where('status', '=', 'published')
        .executeTakeFirst();
      if (!release || release.artifact_sha256 !== match[1] || release.filename !== match[2])
        throw notFound('target');
      return sendArtifact(request, reply, artifacts, {
        orgId: identity.orgId,
        sha256: release.artifact_sha256,
        length: Number(release.artifact_length),
        filename: release.filename,
      });
    },
  );

  app.get(
    '/device/v1/updates/offer',
    {
      schema: {
        tags,
        summary: 'The update offered to this device now, or null (for devices that poll over HTTP)',
        security,
        response: { 200: Ok(Type.Union([Json, Type.Null()])), ...errors },
      },
    },
    async (request) => ok(await rolloutEngine.currentOffer(device(request).deviceId)),
  );

  app.post<{ Body: { id?: string } }>(
    '/device/v1/updates/status',
    {
      schema: {
        tags,
        summary: 'One step of an update (the MQTT updates/status payload)',
        security,
        body: Json,
        response: { 200: Ok(Type.Object({ step: Type.String() })), ...errors },
      },
    },
    async (request) => {
      const result = await upstream.handle(device(request), 'updates/status', request.body);
      return ok({ step: result.channel === 'updates/status' ? result.step : 'unknown' }, request.body.id);
    },
  );
}
