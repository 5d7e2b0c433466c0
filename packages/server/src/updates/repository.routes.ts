import type { FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import { notFound } from '../errors.js';
import { authorizeOrg } from '../http/authorize.js';
import { Nullable, problemResponses } from '../http/schemas.js';
import type { Services } from '../services.js';
import { MAX_EXPIRES_DAYS } from './metadata.js';

const OrgParams = Type.Object({ org: Type.String({ maxLength: 100 }) });
const Json = Type.Object({}, { additionalProperties: true });
const PublicKey = Type.Object({
  keytype: Type.String(),
  scheme: Type.String(),
  keyid: Type.String(),
  keyval: Type.Object({ public: Type.String() }),
  name: Type.Optional(Type.String()),
});
const Versioned = Type.Object({ version: Type.Integer(), expires: Type.String() });
const Draft = Type.Object({
  version: Type.Integer(),
  metadata: Json,
  releaseIds: Type.Array(Type.String()),
  signatures: Type.Array(Type.String()),
  threshold: Type.Integer(),
});

/**
 * The maker's side of the update repository: the online keys to put into root, publishing root
 * versions, and the targets draft the offline targets keys sign (docs/updates.md).
 */
export function repositoryRoutes(app: FastifyInstance, { orgs, updateRepository }: Services): void {
  const tags = ['updates'];

  app.get<{ Params: { org: string } }>(
    '/v1/orgs/:org/updates',
    {
      schema: {
        'x-brickless-permission': 'fleet:read',
        tags,
        summary: 'The update repository: root, targets, snapshot and timestamp versions, the draft, warnings',
        params: OrgParams,
        response: {
          200: Type.Object({
            initialized: Type.Boolean(),
            root: Nullable(
              Type.Object({
                version: Type.Integer(),
                expires: Type.String(),
                rootKeyIds: Type.Array(Type.String()),
                rootThreshold: Type.Integer(),
                targetsKeyIds: Type.Array(Type.String()),
                targetsThreshold: Type.Integer(),
                escrowKeyIds: Type.Array(Type.String()),
              }),
            ),
            targets: Nullable(
              Type.Object({
                version: Type.Integer(),
                expires: Type.String(),
                signedByCurrentKeys: Type.Boolean(),
              }),
            ),
            snapshot: Nullable(Versioned),
            timestamp: Nullable(Versioned),
            draft: Nullable(
              Type.Object({
                version: Type.Integer(),
                releaseIds: Type.Array(Type.String()),
                signatures: Type.Integer(),
                threshold: Type.Integer(),
              }),
            ),
            warnings: Type.Array(Type.String()),
          }),
          ...problemResponses,
        },
      },
    },
    async (request) => {
      const { orgId } = await authorizeOrg(request, orgs, request.params.org);
      return updateRepository.status(orgId);
    },
  );

  app.get<{ Params: { org: string } }>(
    '/v1/orgs/:org/updates/online-keys',
    {
      schema: {
        'x-brickless-permission': 'updates:read',
        tags,
        summary: "The server's online snapshot and timestamp public keys (made at the first request)",
        params: OrgParams,
        response: { 200: Type.Object({ snapshot: PublicKey, timestamp: PublicKey }), ...problemResponses },
      },
    },
    async (request) => {
      const { orgId, principal } = await authorizeOrg(request, orgs, request.params.org);
      return updateRepository.onlineKeys(principal.actor, orgId);
    },
  );

  app.post<{ Params: { org: string } }>(
    '/v1/orgs/:org/updates/online-keys/rotate',
    {
      schema: {
        'x-brickless-permission': 'updates:manage',
        tags,
        summary:
          'Begin rotating the online keys: new snapshot and timestamp keys, in use once a root signed offline names them (TUF 5.3.11)',
        params: OrgParams,
        response: { 200: Type.Object({ snapshot: PublicKey, timestamp: PublicKey }), ...problemResponses },
      },
    },
    async (request) => {
      const { orgId, principal } = await authorizeOrg(request, orgs, request.params.org);
      return updateRepository.beginOnlineKeyRotation(principal.actor, orgId);
    },
  );

  app.put<{ Params: { org: string }; Body: Record<string, unknown> }>(
    '/v1/orgs/:org/updates/root',
    {
      schema: {
        'x-brickless-permission': 'updates:manage',
        tags,
        summary: 'Publish the first root or root version N+1, signed offline (TUF 5.3.4 checks)',
        params: OrgParams,
        body: Json,
        response: { 200: Type.Object({ version: Type.Integer() }), ...problemResponses },
      },
    },
    async (request) => {
      const { orgId, principal } = await authorizeOrg(request, orgs, request.params.org);
      return updateRepository.publishRoot(principal.actor, orgId, request.body);
    },
  );

  app.post<{ Params: { org: string }; Body: { expiresInDays?: number } }>(
    '/v1/orgs/:org/updates/targets/draft',
    {
      schema: {
        'x-brickless-permission': 'updates:manage',
        tags,
        summary: 'Build the next targets metadata from the releases, for the targets keys to sign',
        params: OrgParams,
        body: Type.Object(
          {
            expiresInDays: Type.Optional(
              Type.Integer({ minimum: 1, maximum: MAX_EXPIRES_DAYS, default: 365 }),
            ),
          },
          { additionalProperties: false },
        ),
        response: { 200: Draft, ...problemResponses },
      },
      preValidation: async (request) => {
        request.body ??= {};
      },
    },
    async (request) => {
      const { orgId, principal } = await authorizeOrg(request, orgs, request.params.org);
      return updateRepository.prepareTargets(principal.actor, orgId, request.body.expiresInDays ?? 365);
    },
  );

  app.get<{ Params: { org: string } }>(
    '/v1/orgs/:org/updates/targets/draft',
    {
      schema: {
        'x-brickless-permission': 'fleet:read',
        tags,
        summary: 'The targets draft waiting for signatures',
        params: OrgParams,
        response: { 200: Draft, ...problemResponses },
      },
    },
    async (request) => {
      const { orgId } = await authorizeOrg(request, orgs, request.params.org);
      const draft = await updateRepository.draft(orgId);
      if (!draft) throw notFound('targets draft', request.params.org);
      return draft;
    },
  );

  app.post<{
    Params: { org: string };
    Body: { version: number; signatures: { keyid: string; sig: string }[] };
  }>(
    '/v1/orgs/:org/updates/targets/signatures',
    {
      schema: {
        'x-brickless-permission': 'updates:manage',
        tags,
        summary: "Add targets keys' signatures to the draft; published once their threshold is met",
        params: OrgParams,
        body: Type.Object(
          {
            version: Type.Integer({ minimum: 1 }),
            signatures: Type.Array(
              Type.Object(
                {
                  keyid: Type.String({ pattern: '^[0-9a-f]{64}$' }),
                  sig: Type.String({ pattern: '^[0-9a-f]{128}$' }),
                },
                { additionalProperties: false },
              ),
              { minItems: 1, maxItems: 20 },
            ),
          },
          { additionalProperties: false },
        ),
        response: {
          200: Type.Object({
            published: Type.Boolean(),
            version: Type.Integer(),
            signatures: Type.Integer(),
            threshold: Type.Integer(),
            releaseIds: Type.Array(Type.String()),
          }),
          ...problemResponses,
        },
      },
    },
    async (request) => {
      const { orgId, principal } = await authorizeOrg(request, orgs, request.params.org);
      return updateRepository.signTargets(
        principal.actor,
        orgId,
        request.body.version,
        request.body.signatures,
      );
    },
  );

  app.get<{ Params: { org: string; file: string } }>(
    '/v1/orgs/:org/updates/metadata/:file',
    {
      schema: {
        'x-brickless-permission': 'fleet:read',
        tags,
        summary:
          'TUF metadata as devices get it: N.root.json, root.json, timestamp.json, N.snapshot.json, N.targets.json',
        params: Type.Object({ org: Type.String({ maxLength: 100 }), file: Type.String({ maxLength: 40 }) }),
        response: { ...problemResponses },
      },
    },
    async (request, reply) => {
      const { orgId } = await authorizeOrg(request, orgs, request.params.org);
      const document = await updateRepository.document(orgId, request.params.file);
      if (!document) throw notFound('metadata', request.params.file);
      return reply.type('application/json').send(document);
    },
  );
}
