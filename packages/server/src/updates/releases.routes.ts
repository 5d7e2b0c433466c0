import type { Readable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import { DomainError, notFound } from '../errors.js';
import { authorizeOrg } from '../http/authorize.js';
import { Id, IsoDateTime, Nullable, PageOf, PageQuery, problemResponses } from '../http/schemas.js';
import type { Services } from '../services.js';
import { ArtifactTooLarge } from './artifact-store.js';
import { sendArtifact } from './download.js';
import { type CreateRelease, type ReleaseKind, releaseKinds, releaseStatuses } from './releases.js';

const Sha256 = Type.String({ pattern: '^[0-9a-f]{64}$' });
const Kind = Type.Union(releaseKinds.map((k) => Type.Literal(k)));

export const ReleaseSchema = Type.Object(
  {
    id: Type.String(),
    productId: Type.String(),
    version: Type.String(),
    kind: Kind,
    securityVersion: Type.Integer(),
    hardware: Type.Array(Type.String()),
    notes: Type.String(),
    filename: Type.String(),
    targetPath: Type.String(),
    sha256: Type.String(),
    length: Type.Integer(),
    sbomSha256: Nullable(Type.String()),
    status: Type.Union(releaseStatuses.map((s) => Type.Literal(s))),
    createdAt: IsoDateTime,
    createdBy: Type.String(),
    publishedAt: Nullable(IsoDateTime),
  },
  { $id: 'Release' },
);

const OrgParams = Type.Object({ org: Type.String({ maxLength: 100 }) });

export function releaseRoutes(app: FastifyInstance, services: Services): void {
  const { orgs, releases, artifacts, store, clock, maxArtifactBytes } = services;
  const tags = ['updates'];

  // Artifacts arrive as a raw body and are streamed to the store, never buffered whole.
  app.addContentTypeParser('application/octet-stream', (_request, payload, done) => done(null, payload));

  app.post<{ Params: { org: string }; Querystring: { mediaType?: string } }>(
    '/v1/orgs/:org/artifacts',
    {
      schema: {
        'x-brickless-permission': 'releases:write',
        tags,
        summary:
          'Upload a firmware image or SBOM (Content-Type: application/octet-stream); content-addressed by SHA-256',
        description: 'Uploading the same bytes again returns the same artifact.',
        params: OrgParams,
        querystring: Type.Object(
          {
            mediaType: Type.Optional(Type.String({ pattern: '^[a-z0-9.+-]+/[a-z0-9.+-]+$', maxLength: 100 })),
          },
          { additionalProperties: false },
        ),
        response: {
          201: Type.Object({ sha256: Type.String(), length: Type.Integer(), mediaType: Type.String() }),
          ...problemResponses,
        },
      },
    },
    async (request, reply) => {
      const { orgId, principal } = await authorizeOrg(request, orgs, request.params.org);
      const body = request.body as Readable | undefined;
      if (!body || typeof (body as Readable).pipe !== 'function')
        throw new DomainError('unsupported-media-type', 'send the artifact as application/octet-stream');
      // An honest client says how much it sends: refuse before reading a byte.
      if (Number(request.headers['content-length'] ?? 0) > maxArtifactBytes)
        throw new DomainError(
          'payload-too-large',
          `the artifact is larger than the limit of ${maxArtifactBytes} bytes`,
        );
      let stored: { sha256: string; length: number };
      try {
        stored = await artifacts.put(orgId, body, maxArtifactBytes);
      } catch (error) {
        if (error instanceof ArtifactTooLarge) throw new DomainError('payload-too-large', error.message);
        throw error;
      }
      if (stored.length === 0) throw new DomainError('validation-failed', 'the artifact is empty');
      const mediaType = request.query.mediaType ?? 'application/octet-stream';
      await store.db
        .insertInto('artifacts')
        .values({
          org_id: orgId,
          sha256: stored.sha256,
          length: stored.length,
          media_type: mediaType,
          created_at: clock.now().toISOString(),
          created_by: principal.actor,
        })
        .onConflict((oc) => oc.columns(['org_id', 'sha256']).doNothing())
        .execute();
      return reply.status(201).send({ ...stored, mediaType });
    },
  );

  app.get<{ Params: { org: string; sha256: string } }>(
    '/v1/orgs/:org/artifacts/:sha256',
    {
      schema: {
        'x-brickless-permission': 'fleet:read',
        tags,
        summary: 'Download an artifact (Range and If-None-Match supported)',
        params: Type.Object({ org: Type.String({ maxLength: 100 }), sha256: Sha256 }),
        response: { ...problemResponses },
      },
    },
    async (request, reply) => {
      const { orgId } = await authorizeOrg(request, orgs, request.params.org);
      const row = await store.db
        .selectFrom('artifacts')
        .select('length')
        .where('org_id', '=', orgId)
        .where('sha256', '=', request.params.sha256)
        .executeTakeFirst();
      if (!row) throw notFound('artifact', request.params.sha256);
      return sendArtifact(request, reply, artifacts, {
        orgId,
        sha256: request.params.sha256,
        length: Number(row.length),
        filename: request.params.sha256,
      });
    },
  );

  app.post<{ Params: { org: string }; Body: CreateRelease }>(
    '/v1/orgs/:org/releases',
    {
      schema: {
        'x-brickless-permission': 'releases:write',
        tags,
        summary:
          'Create a release from an uploaded artifact; it is offered once the targets keys have signed it',
        params: OrgParams,
        body: Type.Object(
          {
            productId: Id('prd'),
            version: Type.String({ minLength: 1, maxLength: 64 }),
            kind: Kind,
            securityVersion: Type.Integer({ minimum: 0, maximum: 2 ** 31 - 1 }),
            hardware: Type.Optional(
              Type.Array(Type.String({ minLength: 1, maxLength: 64 }), { maxItems: 50 }),
            ),
            notes: Type.Optional(Type.String({ maxLength: 20_000 })),
            filename: Type.String({ minLength: 1, maxLength: 128 }),
            sha256: Sha256,
            sbomSha256: Type.Optional(Sha256),
          },
          { additionalProperties: false },
        ),
        response: { 201: Type.Ref('Release'), ...problemResponses },
      },
    },
    async (request, reply) => {
      const { orgId, principal } = await authorizeOrg(request, orgs, request.params.org);
      return reply.status(201).send(await releases.create(principal.actor, orgId, request.body));
    },
  );

  app.get<{
    Params: { org: string };
    Querystring: { limit?: number; cursor?: string; productId?: string; kind?: ReleaseKind };
  }>(
    '/v1/orgs/:org/releases',
    {
      schema: {
        'x-brickless-permission': 'fleet:read',
        tags,
        summary: 'Releases, newest first',
        params: OrgParams,
        querystring: Type.Object(
          { ...PageQuery, productId: Type.Optional(Id('prd')), kind: Type.Optional(Kind) },
          { additionalProperties: false },
        ),
        response: { 200: PageOf(Type.Ref('Release')), ...problemResponses },
      },
    },
    async (request) => {
      const { orgId } = await authorizeOrg(request, orgs, request.params.org);
      const { limit = 50, cursor, productId, kind } = request.query;
      return releases.list(
        orgId,
        { limit, cursor },
        { ...(productId ? { productId } : {}), ...(kind ? { kind } : {}) },
      );
    },
  );

  app.get<{ Params: { org: string; releaseId: string } }>(
    '/v1/orgs/:org/releases/:releaseId',
    {
      schema: {
        'x-brickless-permission': 'fleet:read',
        tags,
        summary: 'A release',
        params: Type.Object({ org: Type.String({ maxLength: 100 }), releaseId: Id('rel') }),
        response: { 200: Type.Ref('Release'), ...problemResponses },
      },
    },
    async (request) => {
      const { orgId } = await authorizeOrg(request, orgs, request.params.org);
      return releases.get(orgId, request.params.releaseId);
    },
  );
}
