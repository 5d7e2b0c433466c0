import type { FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import { assertDeviceInOrg } from '../fleet/device-scope.js';
import { authorizeOrg } from '../http/authorize.js';
import { Id, IsoDateTime, Nullable, PageOf, PageQuery, problemResponses, Tag } from '../http/schemas.js';
import type { Services } from '../services.js';
import {
  type CreateRollout,
  type DeviceRolloutState,
  deviceRolloutStates,
  type RolloutStatus,
  rolloutStatuses,
} from './rollouts.js';

const Status = Type.Union(rolloutStatuses.map((s) => Type.Literal(s)));
const DeviceState = Type.Union(deviceRolloutStates.map((s) => Type.Literal(s)));
const Counts = Type.Record(Type.String(), Type.Integer());
const Selector = Type.Object(
  {
    brandIds: Type.Optional(Type.Array(Id('brd'), { minItems: 1, maxItems: 1000 })),
    firmwareVersions: Type.Optional(
      Type.Array(Type.String({ minLength: 1, maxLength: 64 }), { minItems: 1, maxItems: 1000 }),
    ),
    tags: Type.Optional(Type.Array(Tag, { minItems: 1, maxItems: 100 })),
    deviceIds: Type.Optional(Type.Array(Id('dev'), { minItems: 1, maxItems: 10_000 })),
  },
  { additionalProperties: false },
);

export const RolloutSchema = Type.Object(
  {
    id: Type.String(),
    releaseId: Type.String(),
    name: Type.String(),
    kind: Type.Union([Type.Literal('security'), Type.Literal('feature')]),
    selector: Selector,
    waves: Type.Array(Type.Number()),
    successThreshold: Type.Number(),
    failureThreshold: Type.Number(),
    soakSeconds: Type.Integer(),
    pacePerMinute: Nullable(Type.Integer()),
    window: Nullable(Type.String()),
    maxDeferralSeconds: Type.Integer(),
    status: Status,
    statusReason: Nullable(Type.String()),
    currentWave: Type.Integer(),
    waveStartedAt: Nullable(IsoDateTime),
    createdBy: Type.String(),
    createdAt: IsoDateTime,
    updatedAt: IsoDateTime,
    completedAt: Nullable(IsoDateTime),
    deadline: Nullable(IsoDateTime),
    totals: Type.Optional(Counts),
    offline: Type.Optional(
      Type.Integer({
        description:
          'devices still waiting for the offer that are offline: they update when they come back; complete or a deadline ends the rollout without them',
      }),
    ),
    progress: Type.Optional(
      Type.Array(
        Type.Object({
          wave: Type.Integer(),
          percent: Type.Number(),
          devices: Type.Integer(),
          states: Counts,
        }),
      ),
    ),
  },
  { $id: 'Rollout' },
);

const OrgParams = Type.Object({ org: Type.String({ maxLength: 100 }) });
const RolloutParams = Type.Object({ org: Type.String({ maxLength: 100 }), rolloutId: Id('rol') });

export function rolloutRoutes(
  app: FastifyInstance,
  { orgs, rollouts, rolloutEngine, store }: Services,
): void {
  const tags = ['updates'];

  app.post<{ Params: { org: string }; Body: CreateRollout }>(
    '/v1/orgs/:org/rollouts',
    {
      schema: {
        'x-brickless-permission': 'releases:write',
        tags,
        summary: "Roll a signed release out to the product's devices that match, wave by wave",
        description:
          'Waves are cumulative percentages (default 1, 10, 50, 100). The rollout halts by itself when more than failureThreshold of its devices so far failed; a wave advances when successThreshold of its devices succeeded and soakSeconds passed (security releases do not wait).',
        params: OrgParams,
        body: Type.Object(
          {
            releaseId: Id('rel'),
            name: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
            selector: Type.Optional(Selector),
            waves: Type.Optional(
              Type.Array(Type.Number({ exclusiveMinimum: 0, maximum: 100 }), { minItems: 1, maxItems: 20 }),
            ),
            successThreshold: Type.Optional(Type.Number({ minimum: 0, maximum: 1 })),
            failureThreshold: Type.Optional(Type.Number({ minimum: 0, maximum: 1 })),
            soakSeconds: Type.Optional(Type.Integer({ minimum: 0, maximum: 30 * 86400 })),
            pacePerMinute: Type.Optional(Type.Integer({ minimum: 1, maximum: 1_000_000 })),
            window: Type.Optional(Type.String({ minLength: 1, maxLength: 100 })),
            maxDeferralSeconds: Type.Optional(Type.Integer({ minimum: 0, maximum: 30 * 86400 })),
            deadline: Type.Optional(
              Type.String({
                format: 'date-time',
                description:
                  'the rollout completes then; devices not offered the release by then are left out',
              }),
            ),
          },
          { additionalProperties: false },
        ),
        response: { 201: Type.Ref('Rollout'), ...problemResponses },
      },
    },
    async (request, reply) => {
      const { orgId, principal } = await authorizeOrg(request, orgs, request.params.org);
      const rollout = await rollouts.create(principal.actor, orgId, request.body);
      // Enrol now, so the answer shows the waves; the server's engine makes the offers.
      await rolloutEngine.enrol(rollout.id);
      return reply.status(201).send(await rollouts.progress(orgId, rollout.id));
    },
  );

  app.get<{
    Params: { org: string };
    Querystring: { limit?: number; cursor?: string; status?: RolloutStatus };
  }>(
    '/v1/orgs/:org/rollouts',
    {
      schema: {
        'x-brickless-permission': 'fleet:read',
        tags,
        summary: 'Rollouts, newest first',
        params: OrgParams,
        querystring: Type.Object(
          { ...PageQuery, status: Type.Optional(Status) },
          { additionalProperties: false },
        ),
        response: { 200: PageOf(Type.Ref('Rollout')), ...problemResponses },
      },
    },
    async (request) => {
      const { orgId } = await authorizeOrg(request, orgs, request.params.org);
      const { limit = 50, cursor, status } = request.query;
      return rollouts.list(orgId, { limit, cursor }, status);
    },
  );

  app.get<{ Params: { org: string; rolloutId: string } }>(
    '/v1/orgs/:org/rollouts/:rolloutId',
    {
      schema: {
        'x-brickless-permission': 'fleet:read',
        tags,
        summary: 'A rollout with its device counts per state, in total and per wave',
        params: RolloutParams,
        response: { 200: Type.Ref('Rollout'), ...problemResponses },
      },
    },
    async (request) => {
      const { orgId } = await authorizeOrg(request, orgs, request.params.org);
      return rollouts.progress(orgId, request.params.rolloutId);
    },
  );

  app.get<{
    Params: { org: string; rolloutId: string };
    Querystring: { limit?: number; cursor?: string; state?: DeviceRolloutState };
  }>(
    '/v1/orgs/:org/rollouts/:rolloutId/devices',
    {
      schema: {
        'x-brickless-permission': 'fleet:read',
        tags,
        summary: "The rollout's devices with their wave, state and last reason",
        params: RolloutParams,
        querystring: Type.Object(
          { ...PageQuery, state: Type.Optional(DeviceState) },
          { additionalProperties: false },
        ),
        response: {
          200: PageOf(
            Type.Object({
              deviceId: Type.String(),
              wave: Type.Integer(),
              state: DeviceState,
              reason: Nullable(Type.String()),
              /** Why it failed, in the device's words (`updates/status` message). */
              message: Nullable(Type.String()),
              offers: Type.Integer(),
              offeredAt: Nullable(IsoDateTime),
              updatedAt: IsoDateTime,
            }),
          ),
          ...problemResponses,
        },
      },
    },
    async (request) => {
      const { orgId } = await authorizeOrg(request, orgs, request.params.org);
      const { limit = 50, cursor, state } = request.query;
      return rollouts.devices(orgId, request.params.rolloutId, { limit, cursor }, state);
    },
  );

  for (const action of ['pause', 'resume', 'cancel', 'complete'] as const) {
    app.post<{ Params: { org: string; rolloutId: string } }>(
      `/v1/orgs/:org/rollouts/:rolloutId/${action}`,
      {
        schema: {
          'x-brickless-permission': 'releases:write',
          tags,
          summary:
            action === 'pause'
              ? 'Pause: no new offers; devices already updating finish'
              : action === 'resume'
                ? 'Resume a paused or halted rollout (after a halt, only new failures count)'
                : action === 'cancel'
                  ? 'Cancel: devices not yet offered are left alone'
                  : 'Complete now: devices not yet offered (offline ones, typically) are left out; devices already updating finish',
          params: RolloutParams,
          response: { 200: Type.Ref('Rollout'), ...problemResponses },
        },
      },
      async (request) => {
        const { orgId, principal } = await authorizeOrg(request, orgs, request.params.org);
        return rollouts.act(principal.actor, orgId, request.params.rolloutId, action);
      },
    );
  }

  app.get<{ Params: { org: string; deviceId: string }; Querystring: { limit?: number } }>(
    '/v1/orgs/:org/devices/:deviceId/updates',
    {
      schema: {
        'x-brickless-permission': 'fleet:read',
        tags,
        summary: "The device's update history (every step it reported), newest first",
        params: Type.Object({ org: Type.String({ maxLength: 100 }), deviceId: Id('dev') }),
        querystring: Type.Object(
          { limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500, default: 50 })) },
          { additionalProperties: false },
        ),
        response: {
          200: Type.Object({
            items: Type.Array(
              Type.Object({
                id: Type.String(),
                rolloutId: Nullable(Type.String()),
                releaseId: Nullable(Type.String()),
                step: Type.String(),
                reason: Nullable(Type.String()),
                message: Nullable(Type.String()),
                time: IsoDateTime,
              }),
            ),
          }),
          ...problemResponses,
        },
      },
    },
    async (request) => {
      const { orgId } = await authorizeOrg(request, orgs, request.params.org);
      await assertDeviceInOrg(store.db, orgId, request.params.deviceId);
      const rows = await rolloutEngine.history(request.params.deviceId, request.query.limit ?? 50);
      return {
        items: rows.map((r) => ({
          id: r.id,
          rolloutId: r.rollout_id,
          releaseId: r.release_id,
          step: r.step,
          reason: r.reason,
          message: r.message,
          time: r.time,
        })),
      };
    },
  );
}
