import type { FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import { authorizeOrg } from '../http/authorize.js';
import { Id, problemResponses } from '../http/schemas.js';
import type { Services } from '../services.js';
import { craAnnexI, etsiEn303645 } from './etsi-303-645.js';
import { buildEvidencePack } from './pack.js';

const KeyRotationSchema = Type.Object({
  statement: Type.Object({
    format: Type.String(),
    from: Type.String(),
    to: Type.String(),
    at: Type.String({ format: 'date-time' }),
  }),
  signature: Type.String(),
});

export const OrgKeySchema = Type.Object(
  {
    publicKey: Type.String({
      description: 'Ed25519, base64url of the raw 32 bytes: pass it to `evidence verify --key`',
    }),
    createdAt: Type.String({ format: 'date-time' }),
    history: Type.Array(
      Type.Object({
        publicKey: Type.String(),
        createdAt: Type.String({ format: 'date-time' }),
        retiredAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
      }),
    ),
    rotations: Type.Array(KeyRotationSchema, {
      description:
        'Each rotation signed by the key it replaced, oldest first: a verifier that pinned an old key follows them',
    }),
  },
  { $id: 'OrgSigningKey' },
);

/** The CRA documentation pack of a product (issue 21 §1), as a signed ZIP. */
export function evidenceRoutes(app: FastifyInstance, services: Services): void {
  app.get<{ Params: { org: string } }>(
    '/v1/orgs/:org/evidence/key',
    {
      schema: {
        'x-brickless-permission': 'fleet:read',
        tags: ['evidence'],
        summary:
          "The organisation's evidence signing key: the public half that signs every evidence pack, and its rotations",
        params: Type.Object({ org: Type.String({ maxLength: 100 }) }),
        response: { 200: OrgKeySchema, ...problemResponses },
      },
    },
    async (request) => {
      const { orgId } = await authorizeOrg(request, services.orgs, request.params.org);
      return services.orgKeys.describe(orgId);
    },
  );

  app.post<{ Params: { org: string } }>(
    '/v1/orgs/:org/evidence/key/rotate',
    {
      schema: {
        'x-brickless-permission': 'evidence:manage',
        tags: ['evidence'],
        summary:
          "Replace the organisation's evidence signing key; the old key signs the rotation, so packs verify against either",
        params: Type.Object({ org: Type.String({ maxLength: 100 }) }),
        response: { 200: OrgKeySchema, ...problemResponses },
      },
    },
    async (request) => {
      const { orgId, principal } = await authorizeOrg(request, services.orgs, request.params.org);
      return services.orgKeys.rotate(principal.actor, orgId);
    },
  );

  app.get<{ Params: { org: string; productId: string }; Querystring: { releaseId?: string } }>(
    '/v1/orgs/:org/products/:productId/evidence',
    {
      schema: {
        'x-brickless-permission': 'audit:read',
        tags: ['evidence'],
        summary: "The product's evidence pack: a ZIP with a signed manifest (docs/evidence.md)",
        description:
          'With releaseId, a pack of that one release (its SBOMs, vulnerabilities and audit entries). Product, SBOMs (as uploaded, CycloneDX 1.6 and SPDX 2.3), update mechanism, security update history, disclosure policy and advisories, report cases, audit excerpt, CRA Annex II text, the ETSI EN 303 645 table and an HTML index; manifest.json lists every file with its SHA-256 and is signed with the organisation’s evidence key (GET …/evidence/key). Verify offline with `brickless evidence verify FILE --key KEY`.',
        params: Type.Object({ org: Type.String({ maxLength: 100 }), productId: Id('prd') }),
        querystring: Type.Object(
          {
            // A release of the product: the pack then holds only that release, its SBOMs, vulnerabilities and audit entries.
            releaseId: Type.Optional(Id('rel')),
          },
          { additionalProperties: false },
        ),
        response: {
          200: Type.String({ format: 'binary', description: 'application/zip' }),
          ...problemResponses,
        },
      },
    },
    async (request, reply) => {
      const { orgId } = await authorizeOrg(request, services.orgs, request.params.org);
      // security.txt exactly as this server serves it to the public (public.routes.ts).
      const readSecurityTxt = async (slug: string): Promise<string | null> => {
        const served = await app.inject({
          method: 'GET',
          url: `/public/orgs/${encodeURIComponent(slug)}/security.txt`,
        });
        return served.statusCode === 200 ? served.body : null;
      };
      const { archive, manifest } = await buildEvidencePack(
        services,
        orgId,
        request.params.productId,
        readSecurityTxt,
        { releaseId: request.query.releaseId },
      );
      const safe = (value: string) => value.replace(/[^A-Za-z0-9._-]/g, '_');
      const release = manifest.release ? `-${safe(manifest.release.version)}` : '';
      const name = `evidence-${safe(manifest.product?.modelNumber ?? 'product')}${release}-${manifest.createdAt.slice(0, 10)}.zip`;
      return reply
        .type('application/zip')
        .header('content-disposition', `attachment; filename="${name}"`)
        .send(archive);
    },
  );

  app.get<{ Params: { org: string; productId: string } }>(
    '/v1/orgs/:org/products/:productId/evidence/provisions',
    {
      schema: {
        'x-brickless-permission': 'audit:read',
        tags: ['evidence'],
        summary:
          'ETSI EN 303 645 V2.1.1 and CRA Annex I for the product: who carries each provision, its evidence file in the pack, what the maker provides',
        params: Type.Object({ org: Type.String({ maxLength: 100 }), productId: Id('prd') }),
        response: { 200: Type.Object({}, { additionalProperties: true }), ...problemResponses },
      },
    },
    async (request) => {
      const { orgId } = await authorizeOrg(request, services.orgs, request.params.org);
      const product = await services.products.get(orgId, request.params.productId);
      return {
        productId: product.id,
        standard: 'ETSI EN 303 645 V2.1.1',
        provisions: etsiEn303645,
        craAnnexI,
      };
    },
  );
}
