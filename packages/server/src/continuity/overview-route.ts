import type { FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import { authorizeOrg } from '../http/authorize.js';
import { Nullable, problemResponses } from '../http/schemas.js';
import type { Services } from '../services.js';
import { continuityOverview } from './overview.js';
import { HandoverStatusSchema } from './routes.js';

const Num = Nullable(Type.Number());
const Deposit = Type.Object({
  kind: Type.Union([Type.Literal('deposit'), Type.Literal('refused')]),
  auditId: Type.String(),
  at: Type.String(),
  actor: Type.String(),
  depositId: Type.String(),
  sequence: Num,
  rows: Num,
  artifacts: Num,
  newBytes: Num,
  seconds: Num,
  manifestSha256: Nullable(Type.String()),
  signedBy: Nullable(Type.String()),
  check: Nullable(
    Type.Union([Type.Literal('verified'), Type.Literal('failed'), Type.Literal('unavailable')]),
  ),
  checkDetail: Nullable(Type.String()),
  reason: Nullable(Type.String()),
});
const Drill = Type.Object({
  at: Type.String(),
  actor: Type.String(),
  ok: Type.Boolean(),
  seconds: Num,
  devices: Num,
  source: Nullable(Type.String()),
  target: Nullable(Type.String()),
  depositSeconds: Num,
  rows: Num,
  megabytes: Num,
  restoreSeconds: Num,
  reconnect99Seconds: Num,
  served99FromRestoreSeconds: Num,
  devicesLost: Num,
  rowsLost: Num,
  featuresPassed: Num,
  featuresTotal: Num,
  failed: Type.Array(Type.String()),
});
const Overview = Type.Object({
  scope: Type.Object({ deposits: Type.Literal('platform'), handover: Type.Literal('organization') }),
  schedule: Type.Object({
    intervalHours: Type.Integer(),
    recipients: Type.Integer(),
    configured: Type.Boolean(),
  }),
  depositKey: Nullable(Type.Object({ publicKey: Type.String() })),
  deposits: Type.Array(Deposit),
  lastDrill: Nullable(Drill),
  handover: HandoverStatusSchema,
});

/**
 * The continuity overview (docs/continuity.md, the console's continuity page). `audit:read`, not
 * `fleet:read`: the deposits and drills are read from the platform audit chain and cover every
 * organisation (ids, hashes, the deposit key), evidence of the kind the audit log holds; the
 * handover part alone is also at GET /v1/orgs/{org}/handover under `fleet:read`.
 */
export function continuityOverviewRoutes(app: FastifyInstance, services: Services): void {
  app.get<{ Params: { org: string } }>(
    '/v1/orgs/:org/continuity',
    {
      schema: {
        'x-brickless-permission': 'audit:read',
        tags: ['continuity'],
        summary:
          'Continuity overview: deposit schedule, latest deposits with their check (platform-wide), the last takeover drill, the deposit key and this organisation’s handover state',
        params: Type.Object({ org: Type.String({ maxLength: 100 }) }),
        response: { 200: Overview, ...problemResponses },
      },
    },
    async (request) => {
      const { orgId, principal } = await authorizeOrg(request, services.orgs, request.params.org);
      return continuityOverview(services, orgId, { platformView: principal.platformAdmin });
    },
  );
}
