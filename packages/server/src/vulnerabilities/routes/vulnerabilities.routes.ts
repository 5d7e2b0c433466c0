import type { FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import { DomainError } from '../../errors.js';
import { principalOf } from '../../http/auth.js';
import { authorizeOrg, requirePermission } from '../../http/authorize.js';
import { Id, IsoDateTime, PageQuery, problemResponses } from '../../http/schemas.js';
import type { Services } from '../../services.js';
import { decodeCursor, toPage } from '../../store/pagination.js';
import { deviceVulnerabilities } from '../exposure.js';
import { vulnerabilityOverview } from '../overview.js';
import { filterOverview, type OverviewFilter, pageOverview, severityRatings } from '../overview-filter.js';
import { collectStatements } from '../publication/statements.js';
import { csafVex, cycloneDxVex, openVex, type VexFormat, vexFormats } from '../publication/vex.js';
import type { DecisionInput } from '../triage.js';
import { triageStatuses, vexJustifications } from '../triage-status.js';

const Any = Type.Object({}, { additionalProperties: true });
const VulnId = Type.String({ minLength: 3, maxLength: 200, pattern: '^[A-Za-z0-9][A-Za-z0-9._:/#+-]*$' });
const OrgParams = Type.Object({ org: Type.String({ maxLength: 100 }) });
const VulnParams = Type.Object({ org: Type.String({ maxLength: 100 }), vulnerabilityId: VulnId });
const Lit = (values: readonly string[]) => Type.Union(values.map((v) => Type.Literal(v)));
/** Feed batches from `vulns import`: the KEV catalog alone is over a megabyte. */
const IMPORT_BODY_LIMIT = 256 * 1024 * 1024;

export function vulnerabilityRoutes(app: FastifyInstance, services: Services): void {
  const { orgs, vulnerabilities, exposure, triage, reportCases, remediation, store, clock } = services;
  const tags = ['vulnerabilities'];

  app.post<{ Body: { documents: Array<{ name: string; content: unknown }> } }>(
    '/v1/platform/vulnerabilities/import',
    {
      bodyLimit: IMPORT_BODY_LIMIT,
      schema: {
        'x-brickless-permission': 'vulnerabilities:import',
        tags,
        summary:
          'Import OSV, NVD CVE 2.0, CISA KEV and CSAF 2.0 documents (platform admin); the newer `modified` wins',
        body: Type.Object(
          {
            documents: Type.Array(
              Type.Object(
                { name: Type.String({ maxLength: 1000 }), content: Type.Unknown() },
                { additionalProperties: false },
              ),
              { maxItems: 100_000 },
            ),
          },
          { additionalProperties: false },
        ),
        response: { 200: Any, ...problemResponses },
      },
    },
    async (request) => {
      const principal = requirePermission(request);
      return vulnerabilities.import(principal.actor, request.body.documents);
    },
  );

  app.post(
    '/v1/platform/vulnerabilities/sync',
    {
      schema: {
        'x-brickless-permission': 'vulnerabilities:import',
        tags,
        summary: 'Fetch and import the configured feeds (config vulnerabilities.feeds)',
        body: Type.Optional(Type.Object({}, { additionalProperties: false })),
        response: { 200: Any, ...problemResponses },
      },
    },
    async (request) => {
      const principal = requirePermission(request);
      if (services.vulnerabilityFeeds.length === 0)
        throw new DomainError('conflict', 'no feeds are configured (vulnerabilities.feeds)');
      return vulnerabilities.sync(principal.actor, services.vulnerabilityFeeds);
    },
  );

  app.post(
    '/v1/platform/vulnerabilities/rematch',
    {
      schema: {
        'x-brickless-permission': 'vulnerabilities:import',
        tags,
        summary: 'Match every record against every SBOM again (full rescan)',
        body: Type.Optional(Type.Object({}, { additionalProperties: false })),
        response: { 200: Any, ...problemResponses },
      },
    },
    async (request) => {
      const principal = requirePermission(request);
      return vulnerabilities.rematch(principal.actor);
    },
  );

  app.get<{ Params: { vulnerabilityId: string } }>(
    '/v1/vulnerabilities/:vulnerabilityId',
    {
      schema: {
        'x-brickless-permission': 'authenticated',
        tags,
        summary: 'A vulnerability by any of its ids: records, aliases, severity, KEV status',
        params: Type.Object({ vulnerabilityId: VulnId }),
        response: { 200: Any, ...problemResponses },
      },
    },
    async (request) => {
      principalOf(request);
      return exposure.summary(request.params.vulnerabilityId);
    },
  );

  app.get<{
    Params: { org: string };
    Querystring: OverviewFilter & { limit?: number; cursor?: string };
  }>(
    '/v1/orgs/:org/vulnerabilities',
    {
      schema: {
        'x-brickless-permission': 'fleet:read',
        tags,
        summary:
          "The organisation's matched vulnerabilities with devices exposed, most urgent first; paged when `limit` or `cursor` is given",
        params: OrgParams,
        querystring: Type.Object(
          {
            status: Type.Optional(Lit(['open', 'all'])),
            severity: Type.Optional(Lit(severityRatings)),
            kev: Type.Optional(Type.Boolean({ description: 'true: only those in the KEV catalog' })),
            triage: Type.Optional(Lit(triageStatuses)),
            ...PageQuery,
            limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500 })),
          },
          { additionalProperties: false },
        ),
        response: { 200: Any, ...problemResponses },
      },
    },
    async (request) => {
      const { orgId } = await authorizeOrg(request, orgs, request.params.org);
      const { limit, cursor, ...filter } = request.query;
      const all = await vulnerabilityOverview(store.db, orgId);
      return pageOverview(filterOverview(all, filter), limit, cursor);
    },
  );

  app.get<{ Params: { org: string; vulnerabilityId: string } }>(
    '/v1/orgs/:org/vulnerabilities/:vulnerabilityId/exposure',
    {
      schema: {
        'x-brickless-permission': 'fleet:read',
        tags,
        summary: 'Which products, releases, brands and how many devices are exposed',
        params: VulnParams,
        response: { 200: Any, ...problemResponses },
      },
    },
    async (request) => {
      const { orgId } = await authorizeOrg(request, orgs, request.params.org);
      return exposure.exposure(orgId, request.params.vulnerabilityId);
    },
  );

  app.get<{
    Params: { org: string; vulnerabilityId: string };
    Querystring: { limit?: number; cursor?: string };
  }>(
    '/v1/orgs/:org/vulnerabilities/:vulnerabilityId/devices',
    {
      schema: {
        'x-brickless-permission': 'fleet:read',
        tags,
        summary: 'The exposed devices, one by one, by device id; paged when `limit` or `cursor` is given',
        params: VulnParams,
        querystring: Type.Object(
          { ...PageQuery, limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500 })) },
          { additionalProperties: false },
        ),
        response: { 200: Any, ...problemResponses },
      },
    },
    async (request) => {
      const { orgId } = await authorizeOrg(request, orgs, request.params.org);
      const items = await exposure.exposedDevices(orgId, request.params.vulnerabilityId);
      const { limit, cursor } = request.query;
      if (limit === undefined && cursor === undefined) return { items, nextCursor: null };
      // Keyset on the device id, as every other paged list: a page never repeats or skips a device.
      const after = decodeCursor(cursor);
      const sorted = items
        .filter((d) => after === undefined || d.deviceId > after)
        .sort((a, b) => (a.deviceId < b.deviceId ? -1 : 1));
      return toPage(
        sorted.map((d) => ({ ...d, id: d.deviceId })),
        limit ?? 50,
        ({ id: _, ...d }) => d,
      );
    },
  );

  app.get<{ Params: { org: string; vulnerabilityId: string } }>(
    '/v1/orgs/:org/vulnerabilities/:vulnerabilityId/decisions',
    {
      schema: {
        'x-brickless-permission': 'fleet:read',
        tags,
        summary: 'Triage decisions, oldest first',
        params: VulnParams,
        response: { 200: Any, ...problemResponses },
      },
    },
    async (request) => {
      const { orgId } = await authorizeOrg(request, orgs, request.params.org);
      const summary = await exposure.summary(request.params.vulnerabilityId);
      return { items: await triage.history(orgId, summary.id) };
    },
  );

  app.post<{ Params: { org: string; vulnerabilityId: string }; Body: DecisionInput }>(
    '/v1/orgs/:org/vulnerabilities/:vulnerabilityId/decisions',
    {
      schema: {
        'x-brickless-permission': 'security:write',
        tags,
        summary: 'Record a triage decision (VEX) for a product or one release',
        params: VulnParams,
        body: Type.Object(
          {
            productId: Id('prd'),
            releaseId: Type.Optional(Id('rel')),
            status: Lit(triageStatuses),
            justification: Type.Optional(Lit(vexJustifications)),
            impactStatement: Type.Optional(Type.String({ maxLength: 5000 })),
            actionStatement: Type.Optional(Type.String({ maxLength: 5000 })),
            fixedReleaseId: Type.Optional(Id('rel')),
          },
          { additionalProperties: false },
        ),
        response: { 201: Any, ...problemResponses },
      },
    },
    async (request, reply) => {
      const { orgId, principal } = await authorizeOrg(request, orgs, request.params.org);
      return reply
        .status(201)
        .send(await triage.decide(principal.actor, orgId, request.params.vulnerabilityId, request.body));
    },
  );

  app.post<{
    Params: { org: string; vulnerabilityId: string };
    Body: {
      productIds?: string[];
      awareAt?: string;
      memberStates?: string[];
      natureOfExploitation?: string;
      mitigations?: string;
    };
  }>(
    '/v1/orgs/:org/vulnerabilities/:vulnerabilityId/exploited',
    {
      schema: {
        'x-brickless-permission': 'security:write',
        tags,
        summary: 'Mark it actively exploited: opens CRA Art. 14 report cases for the affected products',
        params: VulnParams,
        body: Type.Object(
          {
            productIds: Type.Optional(Type.Array(Id('prd'), { maxItems: 100 })),
            awareAt: Type.Optional(IsoDateTime),
            memberStates: Type.Optional(Type.Array(Type.String({ pattern: '^[A-Z]{2}$' }), { maxItems: 30 })),
            natureOfExploitation: Type.Optional(Type.String({ maxLength: 5000 })),
            mitigations: Type.Optional(Type.String({ maxLength: 5000 })),
          },
          { additionalProperties: false },
        ),
        response: { 201: Any, ...problemResponses },
      },
    },
    async (request, reply) => {
      const { orgId, principal } = await authorizeOrg(request, orgs, request.params.org);
      const e = await exposure.exposure(orgId, request.params.vulnerabilityId);
      const own = new Set(e.products.map((p) => p.productId));
      const productIds =
        request.body.productIds ??
        e.products.filter((p) => p.releases.some((r) => r.exposed)).map((p) => p.productId);
      for (const id of productIds) if (!own.has(id)) await services.products.get(orgId, id);
      const { productIds: _, awareAt, ...details } = request.body;
      const cases = await reportCases.markExploited(principal.actor, orgId, e.vulnerability.id, productIds, {
        ...(awareAt ? { awareAt } : {}),
        details,
      });
      return reply.status(201).send({ items: cases });
    },
  );

  app.post<{
    Params: { org: string; vulnerabilityId: string };
    Body: { releaseId?: string; productId?: string; waves?: number[]; name?: string };
  }>(
    '/v1/orgs/:org/vulnerabilities/:vulnerabilityId/remediate',
    {
      schema: {
        'x-brickless-permission': 'releases:write',
        'x-brickless-permission-note':
          'it creates a rollout: the security role decides, whoever ships releases rolls the fix out',
        tags,
        summary: 'Roll the fixing release out to exactly the exposed devices (a security rollout)',
        params: VulnParams,
        body: Type.Object(
          {
            releaseId: Type.Optional(Id('rel')),
            productId: Type.Optional(Id('prd')),
            waves: Type.Optional(
              Type.Array(Type.Number({ exclusiveMinimum: 0, maximum: 100 }), { minItems: 1, maxItems: 10 }),
            ),
            name: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
          },
          { additionalProperties: false },
        ),
        response: { 201: Any, ...problemResponses },
      },
    },
    async (request, reply) => {
      const { orgId, principal } = await authorizeOrg(request, orgs, request.params.org);
      return reply
        .status(201)
        .send(
          await remediation.remediate(principal.actor, orgId, request.params.vulnerabilityId, request.body),
        );
    },
  );

  app.get<{ Params: { org: string; vulnerabilityId: string } }>(
    '/v1/orgs/:org/vulnerabilities/:vulnerabilityId/coverage',
    {
      schema: {
        'x-brickless-permission': 'fleet:read',
        tags,
        summary: 'Patch coverage: share of the exposed devices already fixed, now and over time',
        params: VulnParams,
        response: { 200: Any, ...problemResponses },
      },
    },
    async (request) => {
      const { orgId } = await authorizeOrg(request, orgs, request.params.org);
      return exposure.coverage(orgId, request.params.vulnerabilityId);
    },
  );

  app.get<{ Params: { org: string; deviceId: string } }>(
    '/v1/orgs/:org/devices/:deviceId/vulnerabilities',
    {
      schema: {
        'x-brickless-permission': 'fleet:read',
        tags,
        summary: "The device's open vulnerabilities (its release's matches minus what triage closed)",
        params: Type.Object({ org: Type.String({ maxLength: 100 }), deviceId: Id('dev') }),
        response: { 200: Any, ...problemResponses },
      },
    },
    async (request) => {
      const { orgId } = await authorizeOrg(request, orgs, request.params.org);
      const device = await services.devices.get(orgId, request.params.deviceId);
      return {
        deviceId: device.id,
        ...(await deviceVulnerabilities(store.db, exposure, orgId, {
          productId: device.productId,
          firmwareVersion: device.firmwareVersion,
        })),
      };
    },
  );

  app.get<{
    Params: { org: string };
    Querystring: { format?: VexFormat; vulnerability?: string; productId?: string };
  }>(
    '/v1/orgs/:org/vex',
    {
      schema: {
        'x-brickless-permission': 'fleet:read',
        tags,
        summary: 'Export triage as VEX: OpenVEX (default), CycloneDX 1.6 VEX or CSAF 2.0 csaf_vex',
        params: OrgParams,
        querystring: Type.Object(
          {
            format: Type.Optional(Lit(vexFormats)),
            vulnerability: Type.Optional(VulnId),
            productId: Type.Optional(Id('prd')),
          },
          { additionalProperties: false },
        ),
        response: { 200: Any, ...problemResponses },
      },
    },
    async (request, reply) => {
      const { orgId } = await authorizeOrg(request, orgs, request.params.org);
      const org = await orgs.get(orgId);
      const statements = await collectStatements(store.db, exposure, orgId, {
        ...(request.query.vulnerability ? { vulnerabilities: [request.query.vulnerability] } : {}),
        ...(request.query.productId ? { productIds: [request.query.productId] } : {}),
      });
      const ctx = {
        org: { slug: org.slug, name: org.name, contact: org.securityContact },
        baseUrl: services.advisories.baseUrl(),
        now: clock.now().toISOString(),
      };
      const format = request.query.format ?? 'openvex';
      if (format === 'cyclonedx')
        return reply.type('application/vnd.cyclonedx+json; version=1.6').send(cycloneDxVex(statements, ctx));
      if (format === 'csaf') return reply.type('application/csaf+json').send(csafVex(statements, ctx));
      return reply.type('application/openvex+json').send(openVex(statements, ctx));
    },
  );
}
