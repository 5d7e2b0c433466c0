import type { FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import { authorizeOrg } from '../../http/authorize.js';
import { rawJsonOf } from '../../http/raw-json.js';
import { Id, problemResponses } from '../../http/schemas.js';
import type { Services } from '../../services.js';
import { releaseVulnerabilities } from '../exposure.js';
import { exportCycloneDx } from '../sbom/export.js';

const Params = Type.Object({ org: Type.String({ maxLength: 100 }), releaseId: Id('rel') });
const Any = Type.Object({}, { additionalProperties: true });
/** Real SBOMs of device images run to tens of megabytes. */
export const SBOM_BODY_LIMIT = 64 * 1024 * 1024;

export function sbomRoutes(app: FastifyInstance, services: Services): void {
  const { orgs, sboms, releases, exposure, store } = services;
  const tags = ['vulnerabilities'];

  app.put<{ Params: { org: string; releaseId: string }; Body: unknown }>(
    '/v1/orgs/:org/releases/:releaseId/sbom',
    {
      bodyLimit: SBOM_BODY_LIMIT,
      schema: {
        'x-brickless-permission': 'releases:write',
        tags,
        summary:
          "Import the release's SBOM (CycloneDX JSON 1.4–1.6 or SPDX 2.3 JSON); replaces an earlier one",
        description:
          'A document that does not validate is refused with every problem listed in `errors`; nothing is stored.',
        params: Params,
        body: Any,
        response: { 201: Any, ...problemResponses },
      },
    },
    async (request, reply) => {
      const { orgId, principal } = await authorizeOrg(request, orgs, request.params.org);
      return reply
        .status(201)
        .send(
          await sboms.import(
            principal.actor,
            orgId,
            request.params.releaseId,
            request.body,
            rawJsonOf(request),
          ),
        );
    },
  );

  app.get<{ Params: { org: string; releaseId: string } }>(
    '/v1/orgs/:org/releases/:releaseId/sbom',
    {
      schema: {
        'x-brickless-permission': 'fleet:read',
        tags,
        summary: "The release's SBOM: format, counts and the stored document's hash",
        params: Params,
        response: { 200: Any, ...problemResponses },
      },
    },
    async (request) => {
      const { orgId } = await authorizeOrg(request, orgs, request.params.org);
      return sboms.get(orgId, request.params.releaseId);
    },
  );

  app.get<{ Params: { org: string; releaseId: string } }>(
    '/v1/orgs/:org/releases/:releaseId/sbom/components',
    {
      schema: {
        'x-brickless-permission': 'fleet:read',
        tags,
        summary: "The SBOM's components: name, version, purl, CPE, hashes, supplier",
        params: Params,
        response: { 200: Any, ...problemResponses },
      },
    },
    async (request) => {
      const { orgId } = await authorizeOrg(request, orgs, request.params.org);
      const sbom = await sboms.get(orgId, request.params.releaseId);
      return { items: await sboms.components(orgId, sbom.id) };
    },
  );

  app.get<{ Params: { org: string; releaseId: string } }>(
    '/v1/orgs/:org/releases/:releaseId/sbom/cyclonedx',
    {
      schema: {
        'x-brickless-permission': 'fleet:read',
        tags,
        summary: 'The stored SBOM exported as CycloneDX 1.6 JSON',
        params: Params,
        response: { 200: Any, ...problemResponses },
      },
    },
    async (request, reply) => {
      const { orgId } = await authorizeOrg(request, orgs, request.params.org);
      const sbom = await sboms.get(orgId, request.params.releaseId);
      const release = await releases.get(orgId, sbom.releaseId);
      const product = await services.products.get(orgId, release.productId);
      const org = await orgs.get(orgId);
      const doc = exportCycloneDx({
        sbom,
        components: await sboms.components(orgId, sbom.id),
        release,
        product,
        org,
        now: services.clock.now(),
      });
      return reply.type('application/vnd.cyclonedx+json; version=1.6').send(doc);
    },
  );

  app.get<{ Params: { org: string; releaseId: string } }>(
    '/v1/orgs/:org/releases/:releaseId/vulnerabilities',
    {
      schema: {
        'x-brickless-permission': 'fleet:read',
        tags,
        summary: 'Vulnerabilities matched in the release, with their triage status',
        params: Params,
        response: { 200: Any, ...problemResponses },
      },
    },
    async (request) => {
      const { orgId } = await authorizeOrg(request, orgs, request.params.org);
      const release = await releases.get(orgId, request.params.releaseId);
      const items = await releaseVulnerabilities(store.db, exposure, orgId, release);
      return { releaseId: release.id, version: release.version, items };
    },
  );
}
