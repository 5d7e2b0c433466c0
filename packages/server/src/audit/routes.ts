import type { FastifyInstance, FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import { invalid } from '../errors.js';
import { authorizeOrg, requirePermission } from '../http/authorize.js';
import { IsoDateTime, Nullable, problemResponses } from '../http/schemas.js';
import type { Services } from '../services.js';
import { PLATFORM_CHAIN } from './service.js';

export const AuditEntrySchema = Type.Object(
  {
    chain: Type.String(),
    seq: Type.Integer(),
    id: Type.String(),
    at: IsoDateTime,
    actor: Type.String(),
    action: Type.String(),
    targetType: Type.String(),
    targetId: Type.String(),
    details: Type.Unknown(),
    prevHash: Type.String(),
    hash: Type.String(),
  },
  { $id: 'AuditEntry' },
);
export const ChainReportSchema = Type.Object(
  {
    chain: Type.String(),
    entries: Type.Integer(),
    head: Nullable(Type.Object({ seq: Type.Integer(), hash: Type.String() })),
    ok: Type.Boolean(),
    problems: Type.Array(Type.Object({ seq: Type.Integer(), problem: Type.String() })),
  },
  { $id: 'ChainReport' },
);

const Query = Type.Object(
  {
    afterSeq: Type.Optional(Type.Integer({ minimum: 0, description: 'entries after this one (order asc)' })),
    beforeSeq: Type.Optional(
      Type.Integer({ minimum: 1, description: 'entries before this one (order desc)' }),
    ),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, default: 100 })),
    order: Type.Optional(
      Type.Union([Type.Literal('asc'), Type.Literal('desc')], {
        default: 'asc',
        description: 'asc: oldest first (the chain order); desc: newest first',
      }),
    ),
    action: Type.Optional(Type.String({ maxLength: 100 })),
    targetId: Type.Optional(Type.String({ maxLength: 100 })),
    actor: Type.Optional(
      Type.String({
        maxLength: 200,
        description: 'as the entries name it, e.g. person:alice@example.com',
      }),
    ),
    since: Type.Optional({ ...IsoDateTime, description: 'entries at or after this instant' }),
    until: Type.Optional({ ...IsoDateTime, description: 'entries before this instant' }),
  },
  { additionalProperties: false },
);
interface QueryT {
  afterSeq?: number;
  beforeSeq?: number;
  limit?: number;
  order?: 'asc' | 'desc';
  action?: string;
  targetId?: string;
  actor?: string;
  since?: string;
  until?: string;
}
const EntriesPage = Type.Object({
  items: Type.Array(Type.Ref('AuditEntry')),
  nextAfterSeq: Nullable(
    Type.Integer({ description: 'pass as afterSeq for the next page (order asc; null otherwise)' }),
  ),
  nextBeforeSeq: Nullable(
    Type.Integer({ description: 'pass as beforeSeq for the next page (order desc; null otherwise)' }),
  ),
});

export function auditRoutes(
  app: FastifyInstance,
  { orgs, audit, store }: Pick<Services, 'orgs' | 'audit' | 'store'>,
): void {
  const tags = ['audit'];
  const page = async (chain: string, request: FastifyRequest<{ Querystring: QueryT }>) => {
    const { limit = 100, ...rest } = request.query;
    if (rest.since && rest.until && Date.parse(rest.since) >= Date.parse(rest.until))
      throw invalid('/until', 'must be after since');
    const items = await audit.list(store.db, chain, { limit, ...rest });
    const next = items.length === limit ? (items.at(-1)?.seq ?? null) : null;
    const newestFirst = rest.order === 'desc';
    return { items, nextAfterSeq: newestFirst ? null : next, nextBeforeSeq: newestFirst ? next : null };
  };

  app.get<{ Params: { org: string }; Querystring: QueryT }>(
    '/v1/orgs/:org/audit',
    {
      schema: {
        'x-brickless-permission': 'audit:read',
        tags,
        summary: "Read the organisation's audit log, oldest first",
        params: Type.Object({ org: Type.String({ maxLength: 100 }) }),
        querystring: Query,
        response: { 200: EntriesPage, ...problemResponses },
      },
    },
    async (request) => {
      const { orgId } = await authorizeOrg(request, orgs, request.params.org);
      return page(orgId, request);
    },
  );

  app.get<{ Params: { org: string } }>(
    '/v1/orgs/:org/audit/verify',
    {
      schema: {
        'x-brickless-permission': 'audit:read',
        tags,
        summary: "Verify the organisation's audit hash chain",
        params: Type.Object({ org: Type.String({ maxLength: 100 }) }),
        response: { 200: Type.Ref('ChainReport'), ...problemResponses },
      },
    },
    async (request) => {
      const { orgId } = await authorizeOrg(request, orgs, request.params.org);
      return audit.verify(store.db, orgId);
    },
  );

  app.get<{ Querystring: QueryT }>(
    '/v1/platform/audit',
    {
      schema: {
        'x-brickless-permission': 'orgs:manage',
        tags,
        summary: 'Read the platform audit log (organisations, platform tokens)',
        querystring: Query,
        response: { 200: EntriesPage, ...problemResponses },
      },
    },
    async (request) => {
      requirePermission(request);
      return page(PLATFORM_CHAIN, request);
    },
  );

  app.get(
    '/v1/platform/audit/verify',
    {
      schema: {
        'x-brickless-permission': 'orgs:manage',
        tags,
        summary: 'Verify the platform audit hash chain',
        response: { 200: Type.Ref('ChainReport'), ...problemResponses },
      },
    },
    async (request) => {
      requirePermission(request);
      return audit.verify(store.db, PLATFORM_CHAIN);
    },
  );
}
