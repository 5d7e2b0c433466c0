import type { FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import { anyAllows, rolesIn } from '../access/roles.js';
import { authorizeOrg } from '../http/authorize.js';
import { IsoDateTime, Nullable, problemResponses } from '../http/schemas.js';
import type { Services } from '../services.js';
import { DUE_SOON_HOURS, fleetOverview } from './overview.js';

const Count = Type.Integer({ minimum: 0 });

const OverviewSchema = Type.Object({
  devices: Type.Object({
    total: Count,
    online: Type.Integer({ minimum: 0, description: 'holding a connection to the gateway now' }),
    offline: Count,
    neverSeen: Type.Integer({ minimum: 0, description: 'offline devices that have never connected' }),
  }),
  versions: Type.Object(
    {
      distinct: Type.Integer({ minimum: 0, description: 'distinct (product, firmware version) pairs' }),
      items: Type.Array(
        Type.Object({
          productId: Type.String(),
          productName: Type.String(),
          firmwareVersion: Nullable(Type.String()),
          devices: Count,
          online: Count,
        }),
        { description: 'the 20 most common versions, most devices first' },
      ),
    },
    { description: 'firmware versions in the field' },
  ),
  exposures: Type.Object(
    {
      open: Type.Integer({
        minimum: 0,
        description: 'vulnerabilities with at least one release still in triage or affected',
      }),
      knownExploited: Type.Integer({ minimum: 0, description: 'of those, listed in CISA KEV' }),
      bySeverity: Type.Object({
        critical: Count,
        high: Count,
        medium: Count,
        low: Count,
        unknown: Count,
      }),
      devicesExposed: Type.Integer({
        minimum: 0,
        description: 'devices running a release with at least one open exposure',
      }),
    },
    { description: 'open exposures (triage closes them: not_affected, fixed, false_positive)' },
  ),
  rollouts: Type.Object({
    inProgress: Type.Integer({ minimum: 0, description: 'running, paused or halted' }),
    items: Type.Array(
      Type.Object({
        id: Type.String(),
        name: Type.String(),
        status: Type.String(),
        releaseId: Type.String(),
        devices: Count,
        done: Type.Integer({ minimum: 0, description: 'succeeded' }),
        failed: Type.Integer({ minimum: 0, description: 'failed or rolled back' }),
      }),
      { description: 'the five newest rollouts in progress' },
    ),
  }),
  reports: Type.Object(
    {
      open: Count,
      overdue: Type.Integer({ minimum: 0, description: 'open cases with a deadline passed' }),
      dueSoon: Type.Integer({
        minimum: 0,
        description: `open cases whose next deadline falls within ${DUE_SOON_HOURS} hours`,
      }),
      items: Type.Array(
        Type.Object({
          id: Type.String(),
          title: Type.String(),
          vulnerabilityId: Nullable(Type.String()),
          stage: Nullable(Type.String({ description: 'the next report due' })),
          dueAt: Nullable(IsoDateTime),
          state: Nullable(Type.String({ description: 'due or overdue' })),
        }),
        { description: 'the five open cases due soonest' },
      ),
    },
    { description: 'CRA Art. 14 report cases and their clocks' },
  ),
  continuity: Type.Union(
    [
      Type.Object(
        {
          lastDeposit: Type.Union([Type.Object({ id: Type.String(), at: IsoDateTime }), Type.Null()], {
            description:
              'the last escrow deposit of this installation (it covers every organisation); null if none',
          }),
          lastRefusedDeposit: Type.Union([Type.Object({ at: IsoDateTime }), Type.Null()], {
            description:
              'a deposit refused after the last good one (the audit log was behind); null otherwise',
          }),
          lastDrill: Type.Union([Type.Object({ at: IsoDateTime, ok: Type.Boolean() }), Type.Null()], {
            description:
              'the last `brickless escrow drill` recorded in the platform audit chain (escrow.drill; figures at GET …/continuity); null if none',
          }),
        },
        { description: 'escrow deposits and drills' },
      ),
      Type.Null(),
    ],
    {
      description:
        "escrow deposits and drills (the platform's, like the audit log): null without audit:read; details at GET …/continuity",
    },
  ),
});

export function overviewRoutes(app: FastifyInstance, services: Services): void {
  app.get<{ Params: { org: string } }>(
    '/v1/orgs/:org/overview',
    {
      schema: {
        'x-brickless-permission': 'fleet:read',
        tags: ['devices'],
        summary:
          'The fleet at a glance: devices online, versions in the field, open exposures, rollouts, report clocks, escrow',
        params: Type.Object({ org: Type.String({ maxLength: 100 }) }),
        response: { 200: OverviewSchema, ...problemResponses },
      },
    },
    async (request) => {
      const { orgId, principal } = await authorizeOrg(request, services.orgs, request.params.org);
      const withContinuity = anyAllows(rolesIn(principal, orgId), 'audit:read');
      return fleetOverview(
        {
          db: services.store.db,
          clock: services.clock,
          rollouts: services.rollouts,
          reportCases: services.reportCases,
        },
        orgId,
        { withContinuity },
      );
    },
  );
}
